#!/usr/bin/env python3
"""hotmemd's systemd unit and notify protocol (label unit).

Usage: test_unit.py HOTMEMD UNIT_FILE

- `systemd-analyze verify` on the unit, with ExecStart pointing at the built
  hotmemd (verify checks that the binary exists) and a stand-in
  proc-xen.mount (Debian's xen-utils-common ships the real one);
- `systemd-analyze security --offline=yes`: the exposure score must stay at
  or below MAX_EXPOSURE (docs/operator-guide.md records it);
- hotmemd --hv sim under a fake $NOTIFY_SOCKET and $WATCHDOG_USEC: READY=1
  comes after the reconcile line, WATCHDOG=1 at least every half period,
  STATUS= names the attached domains and, after a grow, that grow; SIGTERM
  sends STOPPING=1.
Missing systemd-analyze is a failure. Exit 0 pass, 1 fail.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from clicheck import check, exit_code  # noqa: E402

MAX_EXPOSURE = 2.0
STUB_MOUNT = "[Unit]\nDescription=stand-in\n[Mount]\nWhat=xenfs\nWhere=/proc/xen\nType=xenfs\n"


def analyze(hotmemd, unit, tmp):
    tool = shutil.which("systemd-analyze")
    if not check(tool is not None, "systemd-analyze found (apt-get install systemd)"):
        return
    text = open(unit).read()
    for key in ("Type=notify", "WatchdogSec=", "ExecReload=", "ProtectSystem=strict",
                "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
                "CapabilityBoundingSet=", "ReadWritePaths="):
        check(re.search("^" + re.escape(key), text, re.M) is not None, "unit has " + key)
    units = os.path.join(tmp, "units")
    os.mkdir(units)
    with open(os.path.join(units, "hotmemd.service"), "w") as f:
        f.write(text.replace("/usr/sbin/hotmemd", os.path.abspath(hotmemd)))
    with open(os.path.join(units, "proc-xen.mount"), "w") as f:
        f.write(STUB_MOUNT)
    env = dict(os.environ, SYSTEMD_UNIT_PATH=units + ":")
    p = subprocess.run([tool, "verify", "--man=no", os.path.join(units, "hotmemd.service")],
                       capture_output=True, text=True, env=env, timeout=60)
    check(p.returncode == 0 and not p.stderr.strip(),
          "systemd-analyze verify (rc %d) %s" % (p.returncode, p.stderr.strip()))
    p = subprocess.run([tool, "security", "--offline=yes", "--no-pager",
                        os.path.join(units, "hotmemd.service")],
                       capture_output=True, text=True, env=env, timeout=60)
    m = re.search(r"Overall exposure level for hotmemd\.service: ([0-9.]+)", p.stdout)
    check(m is not None and float(m.group(1)) <= MAX_EXPOSURE,
          "systemd-analyze security: exposure %s <= %.1f" % (m.group(1) if m else "?",
                                                             MAX_EXPOSURE))


def notify(hotmemd, xl, tmp):
    path = os.path.join(tmp, "notify")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(0.2)
    sock = os.path.join(tmp, "hotmemd.sock")
    conf = os.path.join(tmp, "hotmem.conf")
    with open(conf, "w") as f:  # never the host's node_exporter directory
        f.write("[host]\nmetrics-path = %s\n" % os.path.join(tmp, "hotmem.prom"))
    log = open(os.path.join(tmp, "log"), "w+")
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
    env.pop("HOTMEM_SOCKET", None)
    d = subprocess.Popen([hotmemd, "-F", "--hv", "sim", "--socket", sock, "--config", conf,
                          "--sim-domain", "web:512m"], stdout=subprocess.DEVNULL, stderr=log,
                         env=env)
    msgs = []  # (time, text)

    def drain(until, stop=None):
        while time.monotonic() < until:
            try:
                data = srv.recv(4096).decode()
            except socket.timeout:
                continue
            msgs.append((time.monotonic(), data))
            if stop and stop(data):
                return data
        return None

    try:
        ready = drain(time.monotonic() + 10, lambda m: "READY=1" in m)
        check(ready is not None, "READY=1 sent")
        log.seek(0)
        check("reconcile:" in log.read(), "READY=1 after the reconcile line")
        status = drain(time.monotonic() + 2, lambda m: m.startswith("STATUS="))
        status = status or next((m for _, m in msgs if m.startswith("STATUS=")), None)
        check(status is not None and "0 domains attached" in status,
              "STATUS= names the attached domains: %s" % status)
        p = subprocess.run([xl, "--hv", "sim", "--socket", sock, "grow", "web", "128m"],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, "grow web 128m")
        grown = drain(time.monotonic() + 3, lambda m: "grow d1 (web)" in m)
        check(grown is not None and "1 domain attached" in grown and ": ok" in grown,
              "STATUS= after the grow: %s" % grown)
        drain(time.monotonic() + 1.2)
        pings = [t for t, m in msgs if "WATCHDOG=1" in m]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        check(len(pings) >= 4 and max(gaps) < 0.4,
              "WATCHDOG=1 at least every 400 ms: %d pings, largest gap %.3f s"
              % (len(pings), max(gaps) if gaps else -1))
        d.send_signal(signal.SIGTERM)
        check(drain(time.monotonic() + 5, lambda m: "STOPPING=1" in m) is not None,
              "STOPPING=1 on SIGTERM")
    finally:
        if d.poll() is None:
            d.terminate()
        d.wait(timeout=30)
        srv.close()
    check(d.returncode == 0, "hotmemd exit 0")


def main():
    hotmemd, xl, unit = sys.argv[1], sys.argv[2], sys.argv[3]
    tmp = tempfile.mkdtemp(prefix="hotmem-unit-")
    try:
        analyze(hotmemd, unit, tmp)
        notify(hotmemd, xl, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return exit_code()


if __name__ == "__main__":
    sys.exit(main())
