#!/usr/bin/env python3
"""hotmemd's structured journal records (label sim).

Usage: test_journal.py XL_HOTMEM HOTMEMD

systemd's journal takes native records on /run/systemd/journal/socket. The
test re-runs itself in a private mount namespace (`unshare --mount`, as
root) with a tmpfs on /run, binds that socket itself, and starts hotmemd -F
--hv sim with stderr a file whose device:inode it puts in $JOURNAL_STREAM,
as systemd does for a service whose stderr is the journal. Then a grow, a
refused shrink, and checks: the grow's end is one record with MESSAGE=,
PRIORITY=6, SYSLOG_IDENTIFIER=hotmemd, DOMID=1, DOMAIN=web, OP=grow,
SEQ=1; the refusal names DOMID=2, DOMAIN=db, OP=shrink at PRIORITY=4; a
line about no domain carries no DOMID=; and nothing went to stderr. Without
$JOURNAL_STREAM matching stderr the same daemon writes stderr and sends
nothing. Exit 0 pass, 1 fail.
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from clicheck import check, exit_code  # noqa: E402

INSIDE = "HOTMEM_TEST_JOURNAL_NS"
SOCKET = "/run/systemd/journal/socket"


def parse_record(data):
    """Fields of one native journal datagram (KEY=VALUE lines or binary-sized values)."""
    fields = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            fields[k.decode()] = v.decode()
            i = nl + 1
        else:
            size = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            fields[line.decode()] = data[nl + 9:nl + 9 + size].decode()
            i = nl + 9 + size + 1
    return fields


def run_daemon(xl, hotmemd, tmp, journal):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(SOCKET)
    srv.settimeout(0.1)
    sock = os.path.join(tmp, "hotmemd.sock")
    conf = os.path.join(tmp, "hotmem.conf")
    with open(conf, "w") as f:  # never the host's node_exporter directory
        f.write("[host]\nmetrics-path = %s\n" % os.path.join(tmp, "hotmem.prom"))
    err_path = os.path.join(tmp, "stderr-%s" % journal)
    err = open(err_path, "w+")
    env = dict(os.environ)
    env.pop("HOTMEM_SOCKET", None)
    env.pop("JOURNAL_STREAM", None)
    if journal:
        st = os.fstat(err.fileno())
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    d = subprocess.Popen([hotmemd, "-F", "--hv", "sim", "--socket", sock, "--config", conf,
                          "--sim-domain", "web:512m", "--sim-domain", "db:512m"],
                         stdout=subprocess.DEVNULL, stderr=err, env=env)
    records = []

    def drain(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                records.append(parse_record(srv.recv(65536)))
            except socket.timeout:
                pass

    def xl_run(*args):
        return subprocess.run([xl, "--hv", "sim", "--socket", sock] + list(args),
                              capture_output=True, text=True, timeout=30, env=env)
    try:
        # the socket appears once hotmemd serves (an xl-hotmem before that
        # would run its own engine in-process)
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        check(xl_run("grow", "web", "128m").returncode == 0, "grow web 128m")
        check(xl_run("shrink", "db", "128m").returncode == 1, "shrink db refused")
        drain(0.5)
    finally:
        d.terminate()
        d.wait(timeout=30)
        drain(0.3)
        srv.close()
        os.unlink(SOCKET)
    err.seek(0)
    return records, err.read(), d.returncode


def inside(xl, hotmemd):
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    os.makedirs(os.path.dirname(SOCKET))
    tmp = tempfile.mkdtemp(prefix="hotmem-journal-")

    records, err, rc = run_daemon(xl, hotmemd, tmp, True)
    check(rc == 0, "hotmemd exit 0 (%s)" % [r.get("MESSAGE") for r in records])
    check(err == "", "nothing on stderr when it is the journal: %r" % err[:200])
    check(all(r.get("SYSLOG_IDENTIFIER") == "hotmemd" for r in records) and len(records) > 3,
          "%d records, all SYSLOG_IDENTIFIER=hotmemd" % len(records))
    done = [r for r in records if "grow by 128 MiB done" in r.get("MESSAGE", "")]
    want = {"DOMID": "1", "DOMAIN": "web", "OP": "grow", "SEQ": "1", "PRIORITY": "6"}
    check(len(done) == 1 and all(done[0].get(k) == v for k, v in want.items()),
          "the grow's end: %s" % (done[0] if done else None))
    refused = [r for r in records if "cannot shrink" in r.get("MESSAGE", "")]
    want = {"DOMID": "2", "DOMAIN": "db", "OP": "shrink", "PRIORITY": "4"}
    check(len(refused) == 1 and all(refused[0].get(k) == v for k, v in want.items())
          and "SEQ" not in refused[0], "the refusal: %s" % (refused[0] if refused else None))
    serving = [r for r in records if r.get("MESSAGE", "").startswith("serving on")]
    check(len(serving) == 1 and "DOMID" not in serving[0] and "OP" not in serving[0],
          "a line about no domain has no DOMID/OP: %s" % (serving[0] if serving else None))

    records, err, rc = run_daemon(xl, hotmemd, tmp, False)
    check(rc == 0 and not records and "grow by 128 MiB done" in err,
          "without $JOURNAL_STREAM: stderr, no records (%d)" % len(records))
    return exit_code()


def main():
    xl, hotmemd = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if os.environ.get(INSIDE):
        return inside(xl, hotmemd)
    if os.geteuid() != 0:
        check(False, "runs as root (it needs a private mount namespace for the journal socket)")
        return exit_code()
    env = dict(os.environ, **{INSIDE: "1"})
    return subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                           os.path.abspath(__file__), xl, hotmemd], env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
