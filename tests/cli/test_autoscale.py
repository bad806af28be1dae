#!/usr/bin/env python3
"""hotmemd's autoscaler end to end on a simulated host (label sim).

Usage: test_autoscale.py XL_HOTMEM HOTMEMD

Starts `hotmemd -F --hv sim --config FILE` with five simulated guests and
drives their stats with `xl-hotmem sim-guest` (working set, PSI, stats
stopped): a pressured guest in mode auto is grown and never past its max;
an idle one is reclaimed through its balloon (target down to its min, no
block removed first); a grown guest whose load goes away is not reclaimed
inside its shrink cooldown, is ballooned down and then has its blocks
removed (long-term release, its target raised by the blocks first so it
keeps its size); a guest whose stats
stop is frozen and not grown until it has been responsive for
unfreeze-hold; a domain in mode off is never attached nor touched; a
domain in mode manual is watched but never resized, until `xl-hotmem
policy DOM mode=auto` hands it over. Also `policy` get and set (good and
malformed settings), `top --json -n 1` and a plain `top`, a config that
does not parse or does not exist (hotmemd refuses to start), and policy/top
without a daemon; SIGHUP re-reading the file (new [host] tick and reserve,
the engine admitting by the new reserve, a domain's new section, what
`xl-hotmem policy` set kept, a file that does not parse or is gone changing
nothing). Every wait is on a log line or a reply with a timeout,
never a bare sleep; decision times are when the daemon logged them.
Exit 0 pass, 1 fail.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (clicheck)
from clicheck import check, exit_code, one_line_failure

MIB = 1 << 20
RINGS = 4 * 4096  # the pages libxl (and the simulated host) gives a domain besides its RAM
TIMEOUT = 30.0

# Short timers so the whole run takes seconds; the cooldowns stay long
# against the tick (200 ms) so timing checks have a wide margin.
CONFIG = """\
# test_autoscale.py
[host]
reserve = 256m
tick = 200ms
stale-stats = 3s
unfreeze-hold = 2s

[domain *]
mode = off
grow-cooldown = 500ms
shrink-cooldown = 3s
surplus-hold = 1s
release-hold = 2s
psi-hold = 600ms

[domain web]
mode = auto
max = 1g

[domain db]
mode = auto
min = 512m

[domain stale]
mode = auto

[domain man]
mode = manual
"""

DOMAINS = ["web:512m", "db:1g", "stale:512m", "man:256m", "idle:256m"]
COOLDOWN_S = 3.0     # shrink-cooldown of every domain
UNFREEZE_S = 2.0     # unfreeze-hold
SLACK_S = 0.25       # log lines are timestamped when read, not when written


class Daemon:
    """hotmemd with its stderr read by a thread; every line has the time it was read."""

    def __init__(self, argv, env_extra=None):
        self.lines = []  # (monotonic seconds, text)
        self.cond = threading.Condition()
        env = dict(os.environ)
        env.update(env_extra or {})
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            with self.cond:
                self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip("\n")))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_log(self, needle, since=0, timeout=TIMEOUT):
        """The first (time, line) from index since on that contains needle, or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, line in self.lines[since:]:
                    if needle in line:
                        return t, line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    return None
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.lines)

    def grep(self, needle, since=0):
        with self.cond:
            return [(t, l) for t, l in self.lines[since:] if needle in l]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.reader.join(5)
        return rc


class Cli:
    def __init__(self, xl, sock):
        self.xl, self.sock = xl, sock

    def run(self, *args):
        env = dict(os.environ)
        env.pop("HOTMEM_SOCKET", None)
        p = subprocess.run([self.xl, "--hv", "sim", "--socket", self.sock] + list(args),
                           capture_output=True, text=True, timeout=60, env=env)
        return p.returncode, p.stdout, p.stderr

    def json(self, *args):
        rc, out, err = self.run(*args, "--json")
        try:
            return rc, json.loads(out), err
        except ValueError:
            return rc, None, err

    def load(self, dom, *settings):
        rc, _, err = self.run("sim-guest", dom, *settings)
        check(rc == 0, "sim-guest %s %s (%s)" % (dom, " ".join(settings), err.strip()))

    def top(self):
        rc, doc, err = self.json("top", "-n", "1")
        if rc != 0 or not doc:
            return {}
        return {d["name"]: d for d in doc["domains"]}

    def wait_top(self, name, cond, what, timeout=TIMEOUT):
        """Poll top until cond(domain) holds; the domain or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = self.top().get(name)
            if d is not None and cond(d):
                return d
            # One tick of the daemon: the next reply can only differ after it.
            time.sleep(0.2)
        print("     (timed out waiting for %s: %r)" % (what, self.top().get(name)))
        return None


def test_refusals(xl, hotmemd, tmp):
    """Configs that must stop the start, and the CLI without a daemon."""
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("[host]\ntick = 1s\n[domain *]\nweight = 0\n")
    sock = os.path.join(tmp, "refuse.sock")
    p = subprocess.run([hotmemd, "-F", "--hv", "sim", "--socket", sock, "--config", bad],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and (bad + ":4: weight:") in p.stderr,
          "a bad config stops hotmemd with file:line: key (%r)" % p.stderr.strip())
    check(not os.path.exists(sock), "... before it listens")
    missing = os.path.join(tmp, "nosuch.conf")
    p = subprocess.run([hotmemd, "-F", "--hv", "sim", "--socket", sock, "--config", missing],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and missing in p.stderr,
          "an explicit --config that does not exist stops hotmemd (%r)" % p.stderr.strip())
    cli = Cli(xl, sock)
    for args in (["policy", "web"], ["top", "-n", "1"]):
        rc, _, err = cli.run(*args)
        check(one_line_failure(rc, err) and "needs the daemon" in err,
              "%s without hotmemd: one clear line (%r)" % (args[0], err))
    rc, _, err = cli.run("top", "-n", "0")
    check(one_line_failure(rc, err) and "invalid -n" in err, "top -n 0 refused (%r)" % err)


def test_policy_off(xl, hotmemd, tmp):
    """No config file: nothing automatic, and policy/top say why. The
    default path is pointed at a file that does not exist ($HOTMEM_CONFIG),
    so the host's own /etc/hotmem/hotmem.conf plays no part."""
    sock = os.path.join(tmp, "off.sock")
    absent = os.path.join(tmp, "absent.conf")
    d = Daemon([hotmemd, "-F", "--hv", "sim", "--socket", sock, "--sim-domain", "solo:256m"],
               env_extra={"HOTMEM_CONFIG": absent})
    try:
        check(d.wait_log("serving on") is not None, "hotmemd starts without a config")
        check(d.wait_log("no autoscaling policy") is not None, "... and says the policy is off")
        rc, _, err = Cli(xl, sock).run("policy", "solo")
        check(one_line_failure(rc, err) and "policy is off" in err,
              "policy on a daemon without a config: one clear line (%r)" % err)
    finally:
        d.stop()


RELOAD_CONFIG = """\
[host]
reserve = %s
tick = %s

[domain *]
mode = off
weight = %d

[domain solo]
mode = manual
weight = %d
"""


def test_reload(xl, hotmemd, tmp):
    """SIGHUP: the file again; parameters set at run time stay; a bad file changes nothing."""
    conf = os.path.join(tmp, "reload.conf")
    with open(conf, "w") as f:
        f.write(RELOAD_CONFIG % ("1800m", "200ms", 100, 100))
    sock = os.path.join(tmp, "reload.sock")
    d = Daemon([hotmemd, "-F", "--hv", "sim", "--socket", sock, "--config", conf,
                "--sim-host", "2g", "--sim-domain", "solo:256m", "--sim-domain", "other:256m"])
    cli = Cli(xl, sock)

    def params(name):
        rc, doc, err = cli.json("policy", name)
        return (doc["source"], doc["params"]) if rc == 0 and doc else (None, {"error": err})

    def hup_and_wait(needle):
        mark = d.mark()
        d.proc.send_signal(signal.SIGHUP)
        return d.wait_log(needle, mark)

    try:
        if not check(d.wait_log("serving on") is not None, "reload: hotmemd starts"):
            return
        # The reserve leaves less than a block: the engine refuses a grow.
        rc, _, err = cli.run("grow", "solo", "128m")
        check(one_line_failure(rc, err), "reserve 1800m of 2g: grow refused (%r)" % err)
        rc, _, err = cli.run("policy", "other", "mode=manual", "weight=700")
        check(rc == 0, "other set at run time (%r)" % err)

        with open(conf, "w") as f:
            f.write(RELOAD_CONFIG % ("256m", "300ms", 50, 300))
        hit = hup_and_wait("SIGHUP: policy reloaded")
        check(hit is not None and "tick 300 ms, reserve 256 MiB" in hit[1],
              "SIGHUP reloads the file: new tick and reserve logged (%r)" % (hit,))
        source, p = params("solo")
        check(source == "[domain solo]" and p.get("weight") == 300 and p.get("mode") == "manual",
              "solo takes its new section (%r %r)" % (source, p))
        source, p = params("other")
        check(source == "xl-hotmem policy" and p.get("weight") == 700,
              "other keeps what xl-hotmem policy set, not [domain *] (%r %r)" % (source, p))
        rc, doc, err = cli.json("top", "-n", "1")
        check(rc == 0 and doc and doc["tick_ms"] == 300
              and doc["host"]["reserve_bytes"] == 256 * MIB,
              "top shows the new tick and reserve (%r)"
              % ((doc and (doc["tick_ms"], doc["host"])),))
        rc, _, err = cli.run("grow", "solo", "128m")
        check(rc == 0, "the engine admits with the new reserve (%r)" % err)

        with open(conf, "w") as f:
            f.write((RELOAD_CONFIG % ("256m", "1s", 50, 300)).replace("weight = 50", "weight = 0"))
        hit = hup_and_wait("SIGHUP: ")
        check(hit is not None and (conf + ":7: weight:") in hit[1]
              and "the policy stays as it was" in hit[1],
              "a file that does not parse: file:line, nothing changed (%r)" % (hit,))
        source, p = params("solo")
        check(p.get("weight") == 300, "... solo's parameters stay (%r)" % (p,))
        rc, doc, _ = cli.json("top", "-n", "1")
        check(rc == 0 and doc and doc["tick_ms"] == 300, "... and the tick (%r)"
              % (doc and doc["tick_ms"]))

        os.unlink(conf)
        hit = hup_and_wait("SIGHUP: ")
        check(hit is not None and conf in hit[1] and "the policy stays as it was" in hit[1],
              "a file that is gone: named, nothing changed (%r)" % (hit,))
        rc, _, err = cli.run("set", "solo", "0")
        check(rc == 0, "hotmemd still serves after the failed reloads (%r)" % err)
    finally:
        rc = d.stop()
        check(rc == 0 and d.grep("sim check at exit: ok"),
              "reload: hotmemd exits 0, the books match the simulated host (rc %d)" % rc)


def grows_of(daemon, name, since=0):
    return daemon.grep("(%s): grow by" % name, since)


def test_autoscale(xl, hotmemd, tmp):
    conf = os.path.join(tmp, "hotmem.conf")
    with open(conf, "w") as f:
        f.write(CONFIG)
    sock = os.path.join(tmp, "hotmemd.sock")
    argv = [hotmemd, "-F", "--hv", "sim", "--socket", sock, "--config", conf, "--sim-host", "4g"]
    for spec in DOMAINS:
        argv += ["--sim-domain", spec]
    d = Daemon(argv)
    cli = Cli(xl, sock)
    try:
        if not check(d.wait_log("serving on") is not None, "hotmemd starts with the config"):
            return d
        check(d.wait_log("policy from %s: tick 200 ms, reserve 256 MiB" % conf) is not None,
              "the policy is on, with the file's tick and reserve")
        for name in ("web", "db", "stale"):
            check(d.wait_log("(%s): attached implicitly (mode auto" % name) is not None,
                  "%s (mode auto) is attached implicitly" % name)

        # --- the idle guest is reclaimed through its balloon, down to its min
        hit = d.wait_log("(db): target 1 GiB -> 512 MiB (balloon -")
        check(hit is not None, "idle db is ballooned down to its min (512 MiB)")
        check(not d.grep("(db): shrink by"), "... by its balloon (it has no blocks)")
        db = cli.wait_top("db", lambda x: x["tot_bytes"] == 512 * MIB + RINGS, "db holds 512 MiB")
        check(db is not None and db["target_bytes"] == 512 * MIB,
              "db's frames follow its target (%r)" % (db,))

        # --- a pressured guest is grown, never past its max
        mark = d.mark()
        cli.load("web", "ws=440m")
        hit = d.wait_log("(web): grow by", mark)
        check(hit is not None and "< low" in hit[1], "web under its low watermark is grown (%r)"
              % (hit,))
        cli.load("web", "ws=2g", "psi=30")
        web = cli.wait_top("web", lambda x: x["target_bytes"] == 1024 * MIB and x["pressure"]
                           and not x["busy"], "web at its max")
        check(web is not None and web["demand_bytes"] == 1024 * MIB,
              "web under heavy pressure asks for its max, no more (%r)"
              % (web and web["demand_bytes"]))
        at_max = d.mark()
        web = cli.wait_top("web", lambda x: x["stats"]["counter"] >= web["stats"]["counter"] + 10,
                           "ten more ticks of web's stats") if web else None
        check(web is not None and web["target_bytes"] == 1024 * MIB
              and web["tot_bytes"] <= 1024 * MIB + RINGS and not grows_of(d, "web", at_max),
              "... and is never grown past it (target %s)" % (web and web["target_bytes"]))
        last_grow = grows_of(d, "web")[-1][0] if grows_of(d, "web") else None
        check(last_grow is not None, "web's grows were logged")

        # --- the load goes while an operator balloons web down (xl mem-set, web
        #     in manual meanwhile): the blocks the balloon stands for are removed
        #     (long-term release), its target raised by them first so it keeps
        #     its size, and not within the shrink cooldown of the last grow
        mark = d.mark()
        rc, _, err = cli.run("policy", "web", "mode=manual")
        check(rc == 0, "policy web mode=manual (%s)" % err.strip())
        cli.load("web", "ws=0", "psi=0", "mem-set=512m")
        web = cli.wait_top("web", lambda x: x["tot_bytes"] == 512 * MIB + RINGS,
                           "web's balloon at 512 MiB")
        check(web is not None and web["granted_bytes"] == 1024 * MIB - 512 * MIB,
              "web's balloon followed xl mem-set, its 4 blocks still granted")
        check(not d.grep("(web): target", mark) and not d.grep("(web): shrink", mark),
              "... and nothing was decided for web in mode manual")
        rc, _, err = cli.run("policy", "web", "mode=auto")
        pre = d.wait_log("(web): target 512 MiB -> 1 GiB before removing 4 block(s)", mark)
        hit = d.wait_log("(web): shrink by 512 MiB started (shrink 4: ballooned", mark)
        check(pre is not None and hit is not None and pre[0] <= hit[0],
              "web's ballooned blocks are removed (release), the target raised first (%r)"
              % (hit,))
        if hit and last_grow:
            gap = hit[0] - last_grow
            check(gap >= COOLDOWN_S - SLACK_S,
                  "no reclaim within the shrink cooldown of the last grow (%.2f s >= %.1f s)"
                  % (gap, COOLDOWN_S))
        web = cli.wait_top("web", lambda x: x["granted_bytes"] == 0 and not x["busy"],
                           "web's blocks all removed")
        check(web is not None and web["target_bytes"] == 512 * MIB
              and web["tot_bytes"] == 512 * MIB + RINGS,
              "web gave back every block and kept its size (%r)"
              % ((web and (web["granted_bytes"], web["target_bytes"], web["tot_bytes"])),))
        check(not d.grep("(web): target back to", mark), "... with no correction needed")
        check(not d.grep("(web): grow by", mark), "... and was not grown again meanwhile")

        # --- a guest whose stats stop is frozen and not grown
        mark = d.mark()
        cli.load("stale", "ws=460m", "stats=off")
        hit = d.wait_log("(stale): frozen at", mark)
        check(hit is not None and "stats stale" in hit[1], "stale is frozen (%r)" % (hit,))
        st = cli.wait_top("stale", lambda x: "frozen: stats stale" in x.get("why", "")
                          and int(x["why"].split()[-1].rstrip("s")) >= 5, "stale 5 s")
        check(st is not None and st["frozen"], "stale stays frozen while its stats are old")
        check(not grows_of(d, "stale", mark), "... and is never grown meanwhile")
        t_on = time.monotonic()
        cli.load("stale", "stats=on")
        hit = d.wait_log("(stale): unfrozen", mark)
        check(hit is not None and hit[0] - t_on >= UNFREEZE_S - SLACK_S,
              "stale is unfrozen only after unfreeze-hold (%.2f s)"
              % ((hit[0] - t_on) if hit else -1))
        grow = d.wait_log("(stale): grow by", mark)
        check(grow is not None and hit is not None and grow[0] >= hit[0],
              "... and only then grown for its pressure")

        # --- stale's load goes: a balloon reclaim of a grown guest removes
        #     whole blocks (a Linux balloon cannot take hot-added memory),
        #     never within the shrink cooldown of its last grow
        last_grow = grows_of(d, "stale", mark)[-1][0] if grows_of(d, "stale", mark) else None
        mark = d.mark()
        cli.load("stale", "ws=0")
        hit = d.wait_log("(stale): shrink by", mark)
        check(hit is not None and "(balloon -" in hit[1]
              and "a balloon cannot take hot-added memory" in hit[1],
              "idle grown stale: its balloon reclaim removes blocks (%r)" % (hit,))
        check(hit is not None and last_grow is not None
              and hit[0] - last_grow >= COOLDOWN_S - SLACK_S,
              "... not within the shrink cooldown of its last grow (%.2f s)"
              % ((hit[0] - last_grow) if hit and last_grow else -1))
        st = cli.wait_top("stale", lambda x: x["granted_bytes"] == 0 and not x["busy"],
                          "stale's blocks removed")
        check(st is not None and st["target_bytes"] == 512 * MIB
              and st["tot_bytes"] == 512 * MIB + RINGS,
              "stale is back at its boot size (%r)" % ((st and st["target_bytes"]),))
        check(not d.grep("(stale): target", mark), "... without its balloon draining boot memory")

        # --- mode off: never attached, never touched
        top = cli.top()
        idle = top.get("idle", {})
        check(idle.get("mode") == "off" and not idle.get("attached")
              and idle.get("tot_bytes") == 256 * MIB + RINGS and "stats" not in idle,
              "idle (mode off) is not attached and untouched (%r)" % idle)
        check(not d.grep("(idle)"), "no log line about idle")

        # --- mode manual: watched once attached, never resized
        mark = d.mark()
        rc, _, err = cli.run("attach", "man")
        check(rc == 0, "attach man (%s)" % err.strip())
        cli.load("man", "ws=220m", "psi=50")
        man = cli.wait_top("man", lambda x: "stats" in x and x["stats"]["psi_some_avg10"] == 5000,
                           "man's stats")
        check(man is not None and man["why"] == "mode manual" and man["target_bytes"] == 256 * MIB,
              "man (mode manual) is watched, not resized (%r)" % (man and man["why"]))
        check(not d.grep("(man): grow", mark) and not d.grep("(man): target", mark),
              "no decision for man")

        # --- policy: show, set at run time, malformed settings
        rc, doc, err = cli.json("policy", "web")
        check(rc == 0 and doc and doc["mode"] == "auto" and doc["source"] == "xl-hotmem policy"
              and doc["params"]["max_bytes"] == 1024 * MIB
              and doc["params"]["shrink_cooldown_ms"] == 3000 and "last" in doc,
              "policy web --json: the file's parameters, set at run time since, and the last "
              "decision (%r)" % (doc,))
        rc, doc, err = cli.json("policy", "db")
        check(rc == 0 and doc and doc["source"] == "[domain db]"
              and doc["params"]["min_bytes"] == 512 * MIB
              and doc["params"]["surplus_hold_ms"] == 1000,
              "policy db --json: its section over [domain *] (%r)" % ((doc or {}).get("params"),))
        rc, out, err = cli.run("policy", "web")
        check(rc == 0 and "mode:        auto (from xl-hotmem policy)" in out and "last:" in out,
              "policy web prints its parameters for people")
        for args, needle in ((["weight=0"], "weight: bad value"),
                             (["nosuch=1"], "unknown domain key"),
                             (["min"], "invalid setting"),
                             (["min=2g", "max=1g"], "max must not be below min"),
                             (["mode=Auto"], "mode: bad value")):
            rc, _, err = cli.run("policy", "web", *args)
            check(one_line_failure(rc, err) and needle in err,
                  "policy web %s -> one line with '%s' (%r)" % (" ".join(args), needle, err))
        rc, doc, err = cli.json("policy", "web")
        check(doc and doc["params"]["weight"] == 100 and doc["params"]["min_bytes"] == 0,
              "... and a refused setting changed nothing")
        mark = d.mark()
        rc, doc, err = cli.json("policy", "man", "mode=auto", "max=512m")
        check(rc == 0 and doc and doc["mode"] == "auto" and doc["source"] == "xl-hotmem policy"
              and doc["params"]["max_bytes"] == 512 * MIB,
              "policy man mode=auto max=512m (%r %r)" % (doc, err))
        check(d.wait_log("(man): set mode=auto max=512m", mark) is not None,
              "the change is logged once")
        man = cli.wait_top("man", lambda x: x["target_bytes"] == 512 * MIB and not x["busy"],
                           "man at its new max")
        check(man is not None and man["demand_bytes"] == 512 * MIB and grows_of(d, "man", mark),
              "man is grown under pressure now, up to its new max (%r)"
              % (man and man["demand_bytes"]))
        mark = d.mark()
        rc, doc, err = cli.json("policy", "man", "mode=off")
        cli.load("man", "ws=0", "psi=0")
        man = cli.wait_top("man", lambda x: x["why"] == "mode off" and x.get("stats", {}).get(
            "psi_some_avg10", 1) == 0, "man idle in mode off")
        check(man is not None, "man set back to mode off")
        # Surplus would be reclaimed after surplus-hold + cooldowns (3 s) in auto.
        t0 = time.monotonic()
        cli.wait_top("man", lambda x: time.monotonic() - t0 > COOLDOWN_S + 1, "4 s in mode off",
                     timeout=10)
        check(not d.grep("(man): target", mark) and not d.grep("(man): shrink", mark),
              "mode off set at run time: nothing is done to man any more")

        # --- top
        rc, doc, err = cli.json("top", "-n", "1")
        names = [x["name"] for x in doc["domains"]] if doc else []
        check(rc == 0 and doc and names == ["web", "db", "stale", "man", "idle"]
              and doc["tick_ms"] == 200 and doc["host"]["reserve_bytes"] == 256 * MIB
              and doc["host"]["free_bytes"] > 0,
              "top --json -n 1: host and every domain (%r)" % names)
        web = next((x for x in doc["domains"] if x["name"] == "web"), {}) if doc else {}
        check(web.get("stats", {}).get("memtotal_bytes", 0) > 0 and "last" in web
              and web.get("mode") == "auto",
              "... with web's stats and last decision (%r)" % web)
        rc, out, err = cli.run("top", "-n", "2", "-d", "0.2")
        check(rc == 0 and out.count("hotmem top:") == 2 and "LAST DECISION" in out
              and "\033[" not in out, "top -n 2 on a pipe: two plain tables")

        rc, _, err = cli.run("sim-check")
        check(rc == 0, "the simulated host's invariants hold, no guest was given a target "
              "its balloon could not fill (%s)" % err.strip())
        bad = (d.grep("cannot move") + d.grep("cannot put") + d.grep("cannot attach")
               + d.grep("tick failed") + d.grep("ignored"))
        check(not bad, "no decision failed to be carried out (%r)" % bad)
    except BaseException:
        d.stop()
        raise
    return d


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 1
    xl, hotmemd = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="hotmem-autoscale-")
    # Every hotmemd started here without --config reads this absent file,
    # never the host's /etc/hotmem/hotmem.conf.
    os.environ["HOTMEM_CONFIG"] = os.path.join(tmp, "absent.conf")
    d = None
    try:
        test_refusals(xl, hotmemd, tmp)
        test_policy_off(xl, hotmemd, tmp)
        test_reload(xl, hotmemd, tmp)
        d = test_autoscale(xl, hotmemd, tmp)
        rc = d.stop()
        check(rc == 0 and d.grep("sim check at exit: ok"),
              "hotmemd exits 0 and the books match the simulated host (rc %d)" % rc)
    finally:
        if d and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if d:
        print("\n".join("  log: " + l for _, l in d.lines))
    return exit_code()


if __name__ == "__main__":
    sys.exit(main())
