#!/usr/bin/env python3
"""End-to-end tests of xl-hotmem and hotmemd on a simulated host (label sim).

Usage: test_cli.py XL_HOTMEM HOTMEMD

Starts `hotmemd -F --hv sim` on a socket in a temporary directory and drives
it with xl-hotmem: argument errors (one line on stderr, exit 1), list, info,
grow, shrink, set, journal and dtb with --json parsed and asserted, the engine
lock (a second engine is refused while the daemon holds it), domain death
(the daemon releases the books and logs it), an in-process run of the CLI
when no daemon answers, a guest that never loads its driver (the CLI gives
up with one line instead of waiting forever), and SIGTERM in the middle of a grow (the operation
ends, the daemon exits 0 and the sim's invariant checker, run at exit, passes).
Every wait is on an output or an event with a timeout, never a bare sleep.
Exit 0 pass, 1 fail (nothing is skipped).
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (clicheck)
from clicheck import check, exit_code, one_line_failure

MIB = 1 << 20
TIMEOUT = 30.0


class Daemon:
    """hotmemd -F --hv sim, with its stderr log read line by line."""

    def __init__(self, binary, sock, extra):
        self.lines = []
        self.partial = b""
        self.proc = subprocess.Popen(
            [binary, "-F", "--hv", "sim", "--socket", sock] + extra,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _read(self, timeout):
        """Read what the daemon logged (raw fd: no buffer hides lines from select)."""
        fd = self.proc.stderr.fileno()
        ready, _, _ = select.select([fd], [], [], max(timeout, 0))
        if not ready:
            return False
        data = os.read(fd, 65536)
        if not data:
            return False
        self.partial += data
        *done, self.partial = self.partial.split(b"\n")
        self.lines.extend(l.decode(errors="replace") for l in done)
        return True

    def wait_log(self, needle, timeout=TIMEOUT):
        """Read the log until a line contains needle; return it or None."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if needle in line:
                    return line
            if time.monotonic() >= deadline or not self._read(deadline - time.monotonic()):
                return None

    def wait_exit(self, timeout=TIMEOUT):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        while self._read(0):
            pass
        if self.partial:
            self.lines.append(self.partial.decode(errors="replace"))
            self.partial = b""
        return rc


def run(xl, sock, *args, env_extra=None, timeout=120):
    env = dict(os.environ)
    env.pop("HOTMEM_SOCKET", None)
    if env_extra:
        env.update(env_extra)
    p = subprocess.run([xl, "--hv", "sim", "--socket", sock] + list(args), capture_output=True,
                       text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def run_json(xl, sock, *args):
    rc, out, err = run(xl, sock, *args, "--json")
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    return rc, doc, err


def test_arg_errors(xl, sock):
    cases = [
        (["grow", "web", "12x"], "invalid size"),
        (["grow", "web", "0"], "greater than zero"),
        (["grow", "web"], "expected"),
        (["shrink"], "expected"),
        (["info", "web", "extra"], "expected"),
        (["frobnicate"], "unknown command"),
        (["s"], "ambiguous command"),
        (["grow", "--bogus", "web", "1g"], "unknown option '--bogus'"),
        # glibc leaves optind on "-5m" with "web" permuted before it: the
        # error must name the option, not the operand.
        (["grow", "web", "-5m"], "unknown option '-5'"),
        (["grow", "--json", "-5m", "web"], "unknown option '-5'"),
        (["grow", "--json=yes", "web", "1g"], "unknown option '--json', or a value"),
        (["grow", "--max", "1g", "web", "1g"], "option '--max' is not for this command"),
        (["attach", "web", "--max"], "option '--max' needs a value"),
        (["top", "-d"], "option '-d' needs a value"),
        (["plan", "--page"], "option '--page-size' needs a value"),
        (["--bogus", "list"], "unknown option '--bogus'"),
        (["grow", "nosuchdomain", "1g"], "no such domain"),
        (["info", "4242"], "no such domain"),
        (["grow", "0", "1g"], "dom0"),
        (["attach", "--max", "abc", "web"], "invalid --max"),
        (["--sim-domain", "x:256m:bogus", "list"], "unknown flag 'bogus'"),
    ]
    for args, needle in cases:
        rc, _, err = run(xl, sock, *args)
        check(one_line_failure(rc, err) and needle in err,
              "xl-hotmem %s -> exit 1, one line with '%s' (got %d: %r)" % (
                  " ".join(args), needle, rc, err))
    p = subprocess.run([xl, "--hv", "kvm", "list"], capture_output=True, text=True)
    check(one_line_failure(p.returncode, p.stderr) and "invalid --hv" in p.stderr,
          "--hv kvm -> exit 1, one line")
    rc, out, err = run(xl, sock, "grow", "-h")
    check(rc == 0 and "Usage: xl-hotmem grow" in out, "grow -h prints usage, exit 0")


def test_reads_and_ops(xl, sock, tmp):
    rc, doc, err = run_json(xl, sock, "list")
    check(rc == 0 and doc and [d["name"] for d in doc["domains"]] == ["web", "db", "big"],
          "list --json names the three sim domains (%r)" % (doc,))
    check(doc and not any(d["attached"] for d in doc["domains"]), "nothing attached at start")

    rc, doc, err = run_json(xl, sock, "grow", "web", "512m")
    check(rc == 0 and doc and doc["blocks_done"] == 4 and doc["granted_bytes"] == 512 * MIB
          and doc["attached_now"] and doc["error"] == 0 and doc["fill_complete"],
          "grow web 512m: 4 blocks, attached implicitly (%r %r)" % (doc, err))
    # Where the grow's time went: every phase of hotmem_result.phases, the
    # populate steps it took (2 MiB heads on 128 MiB blocks: one per block
    # at most) and the wait for the ack, on the engine's clock.
    phases = doc.get("phases_ms", {}) if doc else {}
    check(set(phases) >= {"resolve", "start", "pool", "populate", "populate_hv", "request", "ack_wait",
                          "finish", "reclaim_hv", "fill"}
          and all(isinstance(v, int) and v >= 0 for v in phases.values())
          and phases["populate_hv"] <= phases["populate"] and 1 <= doc.get("populate_steps", 0) <= 4
          and isinstance(doc.get("ack_reads"), int),
          "grow web 512m: phases_ms names every phase (%r)" % (doc,))

    rc, doc, err = run_json(xl, sock, "info", "1")
    check(rc == 0 and doc and doc["name"] == "web" and doc["attached"]
          and doc["granted_bytes"] == 512 * MIB and doc["granted"] == [0, 1, 2, 3]
          and doc["guest"]["state"] == "ready" and doc["window"]["size"] > 0,
          "info 1 --json: web's books (%r)" % (doc,))
    window = doc["window"] if doc else None

    rc, doc, err = run_json(xl, sock, "shrink", "web", "256")
    check(rc == 0 and doc and doc["blocks_done"] == 2 and doc["granted_bytes"] == 256 * MIB,
          "shrink web 256 (MiB, no suffix): 2 blocks back (%r)" % (doc,))

    rc, doc, err = run_json(xl, sock, "set", "web", "1g")
    check(rc == 0 and doc and doc["done_as"] == "grow" and doc["granted_bytes"] == 1024 * MIB,
          "set web 1g grows to 1 GiB (%r)" % (doc,))
    rc, doc, err = run_json(xl, sock, "set", "web", "1g")
    check(rc == 0 and doc and doc["blocks_requested"] == 0 and doc["granted_bytes"] == 1024 * MIB,
          "set web 1g again: nothing to do")

    rc, doc, err = run_json(xl, sock, "shrink", "web", "2g")
    check(one_line_failure(rc, err) and doc is None and "more than" in err,
          "shrink beyond the grant is refused with one line (%r)" % (err,))

    rc, doc, err = run_json(xl, sock, "journal")
    recs = {d["domid"]: d["records"] for d in doc["domains"]} if doc else {}
    check(rc == 0 and 1 in recs and "granted" in recs[1] and "window" in recs[1],
          "journal --json holds web's record (%r)" % (recs,))

    dtb = os.path.join(tmp, "web.dtb")
    rc, out, err = run(xl, sock, "dtb", "web", dtb)
    check(rc == 0 and os.path.getsize(dtb) > 0, "dtb web FILE writes a blob")
    # fdtdump (device-tree-compiler, installed by tests/all.sh) is required:
    # without it the fragment would go unchecked.
    fdtdump = shutil.which("fdtdump")
    check(fdtdump is not None, "fdtdump is installed (device-tree-compiler)")
    check(window is not None, "info gave web's window to compare the fragment with")
    if fdtdump and window:
        text = subprocess.run([fdtdump, dtb], capture_output=True, text=True).stdout
        check('compatible = "hotmem,window-v1"' in text
              and ("hotmem@%x" % window["base"]) in text,
              "the fragment names the window (fdtdump)")

    rc, doc, err = run_json(xl, sock, "set", "web", "0")
    check(rc == 0 and doc and doc["granted_bytes"] == 0, "set web 0 takes everything back")

    # --json and --progress as global options (before the command).
    rc, out, err = run(xl, sock, "--json", "info", "web")
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    check(rc == 0 and doc and doc["name"] == "web", "xl-hotmem --json info web prints the JSON (%r)" % err)
    rc, out, err = run(xl, sock, "--progress", "grow", "web", "256m")
    lines = out.splitlines()
    check(rc == 0 and len([l for l in lines if l.endswith(" populated")]) == 2
          and len([l for l in lines if l.endswith(" online")]) == 2,
          "--progress grow through a pipe: a line per head populated and per block online (%r)" % out)
    rc, out, err = run(xl, sock, "grow", "web", "256m")
    check(rc == 0 and "populated" not in out, "without --progress a pipe gets only the summary (%r)" % out)
    rc, doc, err = run_json(xl, sock, "set", "web", "0")
    check(rc == 0 and doc and doc["granted_bytes"] == 0, "set web 0 again")

    rc, out, err = run(xl, sock, "list")
    check(rc == 0 and "web" in out and "Hotmem(MiB)" in out, "list prints a table")


def test_lock(xl, hotmemd, sock, tmp):
    # The daemon holds one lock per journal, in $HOTMEM_LOCK_DIR (default
    # /run/lock/hotmem), never next to the socket (systemd removes the
    # socket's RuntimeDirectory when the unit stops). For the sim the socket
    # (minus .sock) is part of the key: a CLI whose socket does not answer
    # but maps to the same lock must refuse to run a second engine.
    locks = os.listdir(os.environ["HOTMEM_LOCK_DIR"])
    check(len(locks) == 1 and locks[0].startswith("sim_2flocal_2fdomain_2f0_2fhotmem_2fjournal")
          and locks[0].endswith(".lock") and not [f for f in os.listdir(tmp) if f.endswith(".lock")],
          "the engine lock is in $HOTMEM_LOCK_DIR, keyed on the journal (%r)" % locks)
    base = sock[:-len(".sock")]
    rc, _, err = run(xl, base, "list")
    check(one_line_failure(rc, err) and "another hotmem engine holds" in err,
          "second engine (in-process CLI) refused while hotmemd holds the lock (%r)" % err)
    p = subprocess.run([hotmemd, "-F", "--hv", "sim", "--socket", sock], capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 1 and "another engine holds" in p.stderr,
          "second hotmemd on the same socket refused")


def test_slow_reader(xl, sock, daemon):
    # A reply far bigger than the socket buffer, to a client that reads
    # slowly: it arrives whole (queued in the daemon, flushed on POLLOUT),
    # and the daemon serves others meanwhile.
    size = 1200000
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(sock)
    c.sendall(b'{"cmd":"sim-echo","bytes":%d}\n' % size)
    time.sleep(0.5)
    rc, out, err = run(xl, sock, "list")
    check(rc == 0 and "web" in out, "the daemon serves others while a reply waits (%r)" % err)
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
        time.sleep(0.02)
    c.close()
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    check(doc and doc.get("ok") and len(doc["result"]["data"]) == size and data.endswith(b"\n"),
          "a %d-byte reply to a slow reader arrives whole (%d bytes read)" % (size, len(data)))
    # A client that never reads is dropped after 2 s; the daemon goes on.
    mark = len(daemon.lines)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(sock)
    c.sendall(b'{"cmd":"sim-echo","bytes":%d}\n' % size)
    line = daemon.wait_log("dropped a client that read nothing", timeout=10)
    check(line is not None and daemon.lines.index(line) >= mark,
          "a client that reads nothing is dropped (%r)" % line)
    c.close()
    rc, _, err = run(xl, sock, "list")
    check(rc == 0, "and the daemon still answers (%r)" % err)


def test_abandon(xl, sock):
    # Nothing unanswered: one line, non-zero, nothing changes.
    rc, _, err = run(xl, sock, "abandon", "web")
    check(one_line_failure(rc, err) and "'web'" in err and "nothing unanswered" in err,
          "abandon without an unanswered request is refused with one line (%r)" % err)
    rc, doc, err = run_json(xl, sock, "info", "web")
    check(rc == 0 and doc and doc.get("pending_blocks") == 0 and doc.get("frozen") is False,
          "info shows superseded blocks and frozen (%r)" % (doc,))


def test_domain_death(xl, sock, daemon):
    rc, doc, err = run_json(xl, sock, "grow", "db", "256m")
    check(rc == 0 and doc and doc["blocks_done"] == 2, "grow db 256m")
    rc, _, err = run(xl, sock, "sim-destroy", "db")
    check(rc == 0, "sim-destroy db (%r)" % err)
    line = daemon.wait_log("d2: released")
    check(line is not None, "hotmemd logs the release of d2's books")
    rc, doc, err = run_json(xl, sock, "journal")
    check(rc == 0 and doc and all(d["domid"] != 2 for d in doc["domains"]),
          "d2's journal record is gone")
    rc, _, err = run(xl, sock, "info", "db")
    check(one_line_failure(rc, err) and "no such domain" in err, "info db: no such domain")
    rc, _, err = run(xl, sock, "sim-check")
    check(rc == 0, "sim invariants hold after the death (%r)" % err)


def test_in_process(xl, tmp):
    sock = os.path.join(tmp, "nobody.sock")
    rc, doc, err = run_json(xl, sock, "--sim-domain", "solo:256m", "grow", "solo", "256m")
    check(rc == 0 and doc and doc["blocks_done"] == 2,
          "in-process --hv sim grow when no daemon answers (%r)" % (err,))
    check(not os.path.exists(sock), "the in-process run created no socket")
    # The in-process engine honours the daemon's [host] reserve.
    conf = os.path.join(tmp, "reserve.conf")
    with open(conf, "w") as f:
        f.write("[host]\nreserve = 24g\n")
    rc, _, err = run(xl, sock, "--config", conf, "--sim-domain", "solo:256m", "grow", "solo",
                     "256m")
    check(one_line_failure(rc, err) and "'solo'" in err,
          "in-process grow refused inside the configured host reserve (%r)" % (err,))
    with open(conf, "w") as f:
        f.write("[host]\nreserve = lots\n")
    rc, _, err = run(xl, sock, "--config", conf, "--sim-domain", "solo:256m", "grow", "solo",
                     "256m")
    check(one_line_failure(rc, err) and "reserve" in err,
          "a config that does not parse stops an in-process run with one line (%r)" % (err,))


def test_guest_never_ready(xl, tmp):
    """A guest without the driver: the implicit attach waits for it (10 s),
    then the CLI fails with one line; it must never wait forever."""
    sock = os.path.join(tmp, "nobody.sock")
    t = time.monotonic()
    try:
        rc, _, err = run(xl, sock, "--sim-domain", "mute:256m:nodriver", "grow", "mute", "256m",
                         timeout=60)
    except subprocess.TimeoutExpired:
        rc, err = None, "(still running after 60 s)"
    check(one_line_failure(rc, err) and "not ready" in err,
          "grow of a guest without the driver fails with one line after the ready wait "
          "(%r %r, %.1f s)" % (rc, err, time.monotonic() - t))


def test_sigterm_mid_grow(sock, daemon):
    """Start a big grow over the socket, SIGTERM at its first progress event."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(TIMEOUT)
    conn.connect(sock)
    conn.sendall(b'{"cmd":"grow","domain":"big","bytes":%d}\n' % (4096 * MIB))
    stream = conn.makefile("r")
    first = json.loads(stream.readline())
    check(first.get("event") == "progress", "progress events are streamed (%r)" % first)
    daemon.proc.send_signal(signal.SIGTERM)
    reply = None
    events = 1
    for line in stream:
        msg = json.loads(line)
        if "event" in msg:
            events += 1
            continue
        reply = msg
        break
    conn.close()
    check(reply is not None and "result" in reply,
          "the grow in flight still gets its reply after SIGTERM (%r)" % (reply,))
    if reply and reply.get("ok"):
        check(reply["result"]["blocks_done"] == 32, "... and it finished: 32 blocks")
    rc = daemon.wait_exit()
    check(rc == 0, "hotmemd exits 0 after SIGTERM (rc %d)" % rc)
    check(any("sim check at exit: ok" in l for l in daemon.lines),
          "books == hypervisor at exit (sim invariant checker)")
    check(not os.path.exists(sock), "the socket is removed")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 1
    xl, hotmemd = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="hotmem-cli-")
    # No autoscaling policy: hotmemd reads this absent file, never the host's
    # /etc/hotmem/hotmem.conf, so no decision of its own moves the figures.
    os.environ["HOTMEM_CONFIG"] = os.path.join(tmp, "absent.conf")
    sock = os.path.join(tmp, "hotmemd.sock")
    os.environ["HOTMEM_LOCK_DIR"] = os.path.join(tmp, "locks")
    daemon = Daemon(hotmemd, sock, ["--sim-domain", "web:512m", "--sim-domain", "db:1g",
                                    "--sim-domain", "big:256m", "--sim-host", "16g"])
    try:
        if not daemon.wait_log("serving on"):
            print("hotmemd did not start: %r" % daemon.lines)
            return 1
        test_arg_errors(xl, sock)
        test_reads_and_ops(xl, sock, tmp)
        test_lock(xl, hotmemd, sock, tmp)
        test_abandon(xl, sock)
        test_slow_reader(xl, sock, daemon)
        test_domain_death(xl, sock, daemon)
        test_in_process(xl, tmp)
        test_guest_never_ready(xl, tmp)
        test_sigterm_mid_grow(sock, daemon)
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join("  log: " + l for l in daemon.lines))
    return exit_code()


if __name__ == "__main__":
    sys.exit(main())
