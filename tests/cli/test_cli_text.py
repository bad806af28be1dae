#!/usr/bin/env python3
"""xl-hotmem's text output says what its --json output says (label sim).

Usage: test_cli_text.py XL_HOTMEM HOTMEMD

Every command that prints figures (grow, shrink, set, list, info, plan, top,
policy) is run twice against one `hotmemd -F --hv sim`: once for its text and
once with --json. The text is parsed back (sizes exactly: the CLI prints
"N UNIT" only when N UNIT is the exact value) and every figure it shows is
compared with the JSON field it was rendered from. A grow, shrink or set
cannot be run twice from the same books at once, so the text run and the JSON
run start from the same grant (set back in between) and must agree on every
figure, and the "hotmem now" of the text must also be what list --json and
info --json report afterwards: a summary that printed the wrong buffer (the
request instead of the grant) fails here.
Exit 0 pass, 1 fail.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (clicheck)
from clicheck import check, exit_code

MIB = 1 << 20
GIB = 1 << 30
TIMEOUT = 30.0
UNITS = {"B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40, "PiB": 50, "EiB": 60}
SIZE = r"(\d+ (?:B|KiB|MiB|GiB|TiB|PiB|EiB))"

CONFIG = """\
# test_cli_text.py: nothing automatic, so only the test moves the figures.
[host]
reserve = 256m
tick = 200ms

[domain *]
mode = off

[domain web]
mode = manual
psi-hold = 600ms
min = 256m
max = 3g
weight = 250

# Grows once under pressure, then holds still for the rest of the test: its
# last decision is a figure of policy and top.
[domain auto]
mode = auto
max = 1g
psi-hold = 200ms
grow-cooldown = 1h
shrink-cooldown = 1h
surplus-hold = 1h
"""


def msecs(text):
    """'3 s' -> 3000, '600 ms' -> 600 (the CLI's fmt_ms)."""
    number, unit = text.split()
    return int(number) * (1000 if unit == "s" else 1)


def size(text):
    """'640 MiB' -> 671088640; the CLI's sizes are exact, never rounded."""
    number, unit = text.split()
    return int(number) << UNITS[unit]


class Xl:
    def __init__(self, xl, sock):
        self.argv = [xl, "--hv", "sim", "--socket", sock]

    def run(self, *args):
        p = subprocess.run(self.argv + list(args), capture_output=True, text=True,
                           timeout=120)
        return p.returncode, p.stdout, p.stderr

    def text(self, *args):
        rc, out, err = self.run(*args)
        check(rc == 0 and out, "xl-hotmem %s: exit 0 (%r)" % (" ".join(args), err))
        return out

    def json(self, *args):
        rc, out, err = self.run(*args, "--json")
        try:
            doc = json.loads(out)
        except ValueError:
            doc = None
        check(rc == 0 and doc is not None,
              "xl-hotmem %s --json: exit 0, JSON (%r)" % (" ".join(args), err))
        return doc or {}


OP_LINE = re.compile(r"^d(\d+) \((\S+)\): (grow|shrink|set) " + SIZE
                     + r": (\d+)/(\d+) blocks( \(attached now\))?, " + SIZE
                     + r" (granted|reclaimed); hotmem now " + SIZE + r"$")


def parse_op(out):
    m = OP_LINE.match(out.strip())
    if not m:
        return None
    return {
        "domid": int(m[1]), "name": m[2], "op": m[3], "requested_bytes": size(m[4]),
        "blocks_done": int(m[5]), "blocks_requested": int(m[6]),
        "attached_now": m[7] is not None, "bytes_done": size(m[8]),
        "reclaimed": m[9] == "reclaimed", "granted_bytes": size(m[10]),
    }


def granted_now(xl, name):
    """What list --json and info --json say the domain holds now (they must agree)."""
    info = xl.json("info", name)
    listed = [d for d in xl.json("list").get("domains", []) if d.get("name") == name]
    check(len(listed) == 1 and listed[0].get("granted_bytes") == info.get("granted_bytes"),
          "list --json and info --json agree on %s's grant (%r, %r)"
          % (name, listed and listed[0].get("granted_bytes"), info.get("granted_bytes")))
    return info.get("granted_bytes")


def test_op(xl, start, args, what):
    """Run args as text and as --json, each from a grant of `start` bytes."""
    name = args[1]
    xl.json("set", name, "%dm" % (start // MIB))
    text = parse_op(xl.text(*args))
    check(text is not None, "%s: the text summary parses" % what)
    if not text:
        return
    now = granted_now(xl, name)
    check(text["granted_bytes"] == now,
          "%s: text says hotmem now %d MiB, list/info --json say %s MiB"
          % (what, text["granted_bytes"] // MIB, now and now // MIB))
    xl.json("set", name, "%dm" % (start // MIB))
    doc = xl.json(*args)
    doc["reclaimed"] = doc.get("done_as") == "shrink"
    wrong = {k: (v, doc.get(k)) for k, v in text.items() if doc.get(k) != v}
    check(not wrong, "%s: every figure of the text is the --json one (differ: %r)" % (what, wrong))


def test_decision(xl):
    """Pressure on auto until the autoscaler grows it (before anything is compared)."""
    rc, _, err = xl.run("sim-guest", "auto", "ws=600m", "psi=40")
    check(rc == 0, "sim-guest auto: pressure (%r)" % err)
    deadline = time.monotonic() + TIMEOUT
    last = None
    while time.monotonic() < deadline and not last:
        last = xl.json("policy", "auto").get("last")
        time.sleep(0.2)
    check(last and last.get("action") == "grow" and last.get("bytes", 0) > 0,
          "the autoscaler grew auto (%r)" % (last,))
    # Settled: the grow is done and nothing else moves for an hour.
    while time.monotonic() < deadline and xl.json("policy", "auto").get("busy"):
        time.sleep(0.2)


def test_ops(xl):
    # Attached implicitly by the first grow: "(attached now)" is a figure too.
    check(xl.json("info", "web").get("attached") is False, "web starts detached")
    text = parse_op(xl.text("grow", "web", "1g"))
    check(text is not None and text["attached_now"] and text["granted_bytes"] == GIB
          and text["requested_bytes"] == GIB and text["blocks_done"] == 8,
          "grow web 1g attaches and says so (%r)" % (text,))
    test_op(xl, 0, ["grow", "web", "1g"], "grow web 1g from 0")
    test_op(xl, 256 * MIB, ["grow", "web", "300m"], "grow web 300m from 256 MiB")
    # The case: 300m asked, 3 blocks (384 MiB) back, 640 MiB left.
    test_op(xl, GIB, ["shrink", "web", "300m"], "shrink web 300m from 1 GiB")
    test_op(xl, GIB, ["shrink", "web", "1g"], "shrink web 1g from 1 GiB")
    test_op(xl, GIB, ["set", "web", "300m"], "set web 300m from 1 GiB (a shrink)")
    test_op(xl, 256 * MIB, ["set", "web", "1g"], "set web 1g from 256 MiB (a grow)")
    test_op(xl, 512 * MIB, ["set", "web", "512m"], "set web 512m from 512 MiB (nothing)")


def test_list(xl):
    xl.json("set", "web", "640m")
    before, out, after = xl.json("list"), xl.text("list"), xl.json("list")
    lines = out.splitlines()
    check(lines and lines[0].split() == ["Name", "ID", "Mem(MiB)", "Hotmem(MiB)", "Max(MiB)",
                                         "Guest"], "list: header (%r)" % (lines[:1],))
    rows = [l.split() for l in lines[1:]]

    def want(doc):
        out = []
        for d in doc.get("domains", []):
            if d["attached"]:
                out.append([d["name"], str(d["domid"]), str(d["tot_bytes"] >> 20),
                            str(d["granted_bytes"] >> 20), str(d["max_bytes"] >> 20),
                            d["guest"]["state"]])
            else:
                out.append([d["name"], str(d["domid"]), str(d["tot_bytes"] >> 20), "-", "-",
                            "detached"])
        return out
    check(rows in (want(before), want(after)),
          "list: every row is the --json one (%r vs %r)" % (rows, want(after)))
    check(any(r[0] == "web" and r[3] == "640" for r in rows), "list: web's hotmem is 640 MiB")
    check([r[0] for r in rows] == ["web", "db", "auto"], "list: web, db and auto")


INFO_RE = {
    "domain": re.compile(r"^domain: +(\S+) \(d(\d+)\)$"),
    "memory": re.compile(r"^memory: +" + SIZE + r" owned, max " + SIZE + r"$"),
    "granted": re.compile(r"^granted: +" + SIZE + r" in (\d+) blocks \(maximum " + SIZE + r"\)$"),
    "window": re.compile(r"^window: +(0x[0-9a-f]+)-(0x[0-9a-f]+) \((\d+) blocks of " + SIZE
                         + r"\)$"),
    "memmap": re.compile(r"^memmap head: +" + SIZE + r" per block$"),
    "guest": re.compile(r"^guest: +(\S+)( \(ready\))?$"),
}


def info_figures(out):
    got = {}
    for line in out.splitlines():
        for key, regex in INFO_RE.items():
            m = regex.match(line)
            if m:
                got[key] = m.groups()
    return got


def info_want(d):
    w = d.get("window") or {}
    return {
        "domain": (d.get("name"), str(d.get("domid"))),
        "memory": (d.get("tot_bytes"), d.get("max_mem_bytes")),
        "granted": (d.get("granted_bytes"), d.get("granted_blocks"), d.get("max_bytes")),
        "window": (w.get("base"), w.get("base", 0) + w.get("size", 0) - 1,
                   d.get("window_blocks"), d.get("block_size")),
        "memmap": (d.get("memmap_bytes"),),
        "guest": (d.get("guest", {}).get("state"), d.get("guest", {}).get("ready")),
    }


def info_text_values(got):
    conv = {
        "domain": lambda g: (g[0], g[1]),
        "memory": lambda g: (size(g[0]), size(g[1])),
        "granted": lambda g: (size(g[0]), int(g[1]), size(g[2])),
        "window": lambda g: (int(g[0], 16), int(g[1], 16), int(g[2]), size(g[3])),
        "memmap": lambda g: (size(g[0]),),
        "guest": lambda g: (g[0], g[1] is not None),
    }
    return {k: conv[k](v) for k, v in got.items()}


def test_info(xl):
    xl.json("set", "web", "640m")
    before, out, after = xl.json("info", "web"), xl.text("info", "web"), xl.json("info", "web")
    got = info_text_values(info_figures(out))
    check(set(got) == set(INFO_RE), "info: every figure line is there (%r)" % sorted(got))
    check(got in (info_want(before), info_want(after)),
          "info: every figure is the --json one (%r vs %r)" % (got, info_want(after)))
    check(got.get("granted", (0,))[0] == 640 * MIB, "info: web holds 640 MiB")

    # A domain hotmem is not attached to: its memory, and that it is not.
    doc, out = xl.json("info", "db"), xl.text("info", "db")
    got = info_text_values(info_figures(out))
    want = info_want(doc)
    check(doc.get("attached") is False and "hotmem:        not attached" in out
          and set(got) == {"domain", "memory"}
          and got == {k: want[k] for k in ("domain", "memory")},
          "info db (not attached): name, id and memory are the --json ones (%r vs %r)"
          % (got, want))


PLAN_HEAD = re.compile(r"^Plan for " + SIZE + r", arm64 guest with " + SIZE
                       + r" pages, memmap_on_memory=(\S+)$")
PLAN_BLOCKS = re.compile(r"^  blocks: +(\d+) x " + SIZE + r" = " + SIZE + r" granted$")
PLAN_INSIDE = re.compile(r"^  memmap: +" + SIZE
                         + r" inside the blocks \((\d+) pages at the start of each block\)$")
PLAN_OUTSIDE = re.compile(r"^  memmap: +" + SIZE + r" taken from the guest's existing memory$")
PLAN_USABLE = re.compile(r"^  usable: +" + SIZE + r"$")
PLAN_MOM = re.compile(r"^  memmap-on-memory: (supported|unsupported: (.*))$")


def test_plan(xl):
    cases = [["1g"], ["300m"], ["100m", "--memmap", "off"], ["1g", "--page-size", "64k"],
             ["2g", "--page-size", "16k"], ["5g", "--block-size", "256m"],
             ["1g", "--memmap", "force"]]
    for args in cases:
        out, doc = xl.text("plan", *args), xl.json("plan", *args)
        lines = out.splitlines()
        got = {}
        for line in lines:
            for regex, key in ((PLAN_HEAD, "head"), (PLAN_BLOCKS, "blocks"),
                               (PLAN_INSIDE, "inside"), (PLAN_OUTSIDE, "outside"),
                               (PLAN_USABLE, "usable"), (PLAN_MOM, "mom")):
                m = regex.match(line)
                if m:
                    got[key] = m.groups()
        what = "plan %s" % " ".join(args)
        if not check(all(k in got for k in ("head", "blocks", "usable", "mom"))
                     and ("inside" in got) != ("outside" in got),
                     "%s: every figure line parses (%r)" % (what, out)):
            continue
        mom = doc.get("memmap_on_memory")
        figures = {
            "requested": (size(got["head"][0]), doc.get("requested_bytes")),
            "page size": (size(got["head"][1]), doc.get("page_size")),
            "memmap mode": (got["head"][2], doc.get("memmap_mode")),
            "blocks": (int(got["blocks"][0]), doc.get("nr_blocks")),
            "block size": (size(got["blocks"][1]), doc.get("block_size")),
            "granted": (size(got["blocks"][2]), doc.get("granted_bytes")),
            "usable": (size(got["usable"][0]), doc.get("usable_bytes")),
            "memmap on memory": (got["mom"][0] == "supported", mom),
            "memmap inside": (size(got["inside"][0]) if "inside" in got else 0,
                              doc.get("memmap_bytes") if mom else 0),
            "memmap pages per block": (int(got["inside"][1]) if "inside" in got else 0,
                                       doc.get("memmap_pages_per_block") if mom else 0),
            "memmap outside": (size(got["outside"][0]) if "outside" in got else 0,
                               doc.get("outside_bytes")),
            "reasons refused": (len(got["mom"][1].split("; ")) if got["mom"][1] else 0,
                                len(doc.get("refusals", []))),
        }
        wrong = {k: v for k, v in figures.items() if v[0] != v[1]}
        check(not wrong, "%s: text figures are the --json ones (text, json differ: %r)"
              % (what, wrong))
        rounded = any("rounded up to whole blocks" in l for l in lines)
        check(rounded == (doc.get("granted_bytes") != doc.get("requested_bytes")),
              "%s: the rounding note is there exactly when granted != requested" % what)


POLICY_RE = {
    "domain": (r"^domain: +(\S+) \(d(\d+)\)(, not attached)?$",
               lambda g: (g[0], int(g[1]), g[2] is None),
               lambda d: (d["name"], d["domid"], d["attached"])),
    "mode": (r"^mode: +(\S+) \(from (.*)\)$", lambda g: g,
             lambda d: (d["params"]["mode"], d["source"])),
    "size": (r"^size: +min (boot size|" + SIZE + r"), max (no limit|" + SIZE
             + r"), weight (\d+)$",
             lambda g: (0 if g[0] == "boot size" else size(g[0]),
                        0 if g[2] == "no limit" else size(g[2]), int(g[4])),
             lambda d: (d["params"]["min_bytes"], d["params"]["max_bytes"],
                        d["params"]["weight"])),
    "watermarks": (r"^watermarks: +low (\d+)% \(at least " + SIZE + r"\), high (\d+)% "
                   r"\(at least " + SIZE + r"\)$",
                   lambda g: (int(g[0]), size(g[1]), int(g[2]), size(g[3])),
                   lambda d: (d["params"]["low_pct"], d["params"]["low_bytes"],
                              d["params"]["high_pct"], d["params"]["high_bytes"])),
    "psi": (r"^psi: +grow at (\d+)\.(\d\d)% held (\d+ m?s), calm at (\d+)\.(\d\d)%$",
            lambda g: (int(g[0]) * 100 + int(g[1]), msecs(g[2]), int(g[3]) * 100 + int(g[4])),
            lambda d: (d["params"]["psi_grow"], d["params"]["psi_hold_ms"],
                       d["params"]["psi_calm"])),
    "timers": (r"^timers: +grow cooldown (\d+ m?s), shrink cooldown (\d+ m?s), surplus hold "
               r"(\d+ m?s), release hold (\d+ m?s)$",
               lambda g: tuple(msecs(x) for x in g),
               lambda d: tuple(d["params"][k] for k in ("grow_cooldown_ms", "shrink_cooldown_ms",
                                                       "surplus_hold_ms", "release_hold_ms"))),
    "step": (r"^step: +at most (\d+) blocks per grow or shrink$", lambda g: (int(g[0]),),
             lambda d: (d["params"]["max_step_blocks"],)),
    "memory": (r"^memory: +" + SIZE + r" held, target " + SIZE + r", hot-added " + SIZE + r"$",
               lambda g: tuple(size(x) for x in g),
               lambda d: (d["tot_bytes"], d["target_bytes"], d["granted_bytes"])),
    "guest": (r"^guest: +MemTotal " + SIZE + r", MemAvailable " + SIZE
              + r", PSI (\d+)\.(\d\d)%(?:, swapped " + SIZE + r")?, stats \d+ s old$",
              lambda g: (size(g[0]), size(g[1]), int(g[2]) * 100 + int(g[3]),
                         size(g[4]) if g[4] else None),
              lambda d: (d["stats"]["memtotal_bytes"], d["stats"]["memavail_bytes"],
                         d["stats"]["psi_some_avg10"], d["stats"].get("swapped_bytes"))),
    "now": (r"^now: +(.*?)( \(frozen\))?; need " + SIZE + r", demand " + SIZE + r", share " + SIZE
            + r"(?:, short about " + SIZE + r")?$",
            lambda g: (g[0], g[1] is not None, size(g[2]), size(g[3]), size(g[4]),
                       size(g[5]) if g[5] else 0),
            lambda d: (d["why"], d["frozen"], d["need_bytes"], d["demand_bytes"], d["share_bytes"],
                       d["short_bytes"])),
    "last": (r"^last: +(.*)$", lambda g: parse_last(g[0]), lambda d: want_last(d)),
}


LAST_RE = re.compile(r"^(grow|shrink) " + SIZE + r", \d+ s ago: (.*)$")


def parse_last(text):
    """'grow 256 MiB, 3 s ago: reason' -> ('grow', bytes, reason); '-' stays."""
    m = LAST_RE.match(text)
    return (m[1], size(m[2]), m[3]) if m else text


def want_last(d):
    last = d.get("last")
    if not last:
        return "-"
    if last["action"] in ("grow", "shrink"):
        return (last["action"], last["bytes"], last["reason"])
    return "(%s)" % last["action"]  # not a size: never equal to parsed text


def parse_keyed(out, table):
    got = {}
    for line in out.splitlines():
        for key, (regex, conv, _) in table.items():
            m = re.match(regex, line)
            if m:
                got[key] = conv(m.groups())
    return got


def want_keyed(doc, table):
    want = {}
    for key, (_, _, pick) in table.items():
        try:
            want[key] = pick(doc)
        except (KeyError, TypeError):
            pass
    return want


def policy_text_vs_json(xl, name, what):
    """`xl-hotmem policy NAME` as text, parsed, checked against --json run just
    before and just after it (stats may be republished in between: up to five
    tries). Returns the parsed figures and the text."""
    for tries in range(5):
        before, out, after = (xl.json("policy", name), xl.text("policy", name),
                              xl.json("policy", name))
        got = parse_keyed(out, POLICY_RE)
        if got in (want_keyed(before, POLICY_RE), want_keyed(after, POLICY_RE)):
            break
    check(got in (want_keyed(before, POLICY_RE), want_keyed(after, POLICY_RE)),
          "%s: every figure is the --json one (%r vs %r)"
          % (what, got, want_keyed(after, POLICY_RE)))
    return got, out


def test_policy(xl):
    xl.json("set", "web", "640m")
    rc, _, err = xl.run("sim-guest", "web", "ws=300m", "psi=12.34", "psi-full=1.5")
    check(rc == 0, "sim-guest web: a load with pressure (%r)" % err)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:  # until the daemon has read the new stats
        doc = xl.json("policy", "web")
        if doc.get("stats", {}).get("psi_some_avg10") == 1234:
            break
        time.sleep(0.2)
    got, _ = policy_text_vs_json(xl, "web", "policy")
    check(set(got) == set(POLICY_RE), "policy: every figure line is there (%r)" % sorted(got))
    check(got.get("size") == (256 * MIB, 3 * GIB, 250) and got.get("memory", (0, 0, 0))[2]
          == 640 * MIB and got.get("guest", (0, 0, 0, 0))[2] == 1234 and got.get("last") == "-",
          "policy: the config's min/max/weight, the grant, the guest's PSI, no decision (%r)"
          % (got,))

    # The autoscaled domain: its last decision, in words and figures.
    got, _ = policy_text_vs_json(xl, "auto", "policy auto")
    check(isinstance(got.get("last"), tuple) and got["last"][0] == "grow" and got["last"][1] > 0,
          "policy auto: the last decision is a grow with its size (%r)" % (got.get("last"),))


def test_policy_short(xl):
    """A guest that ran out while its use grew: the "short about" figure.

    auto is at its max (1 GiB) or grows to it; its working set rises in
    steps, then jumps past what it can hold: at MemAvailable 0 the shortfall
    is the swap the simulated guest publishes (stats-swap: what of its
    working set does not fit), and policy prints it on the now: line as
    --json has it, and the swap figure on the guest: line.
    """
    for ws in ("700m", "780m", "860m", "940m", "3g"):
        before = xl.json("policy", "auto").get("stats", {}).get("counter")
        rc, _, err = xl.run("sim-guest", "auto", "ws=" + ws)
        check(rc == 0, "sim-guest auto ws=%s (%r)" % (ws, err))
        deadline = time.monotonic() + TIMEOUT
        while (time.monotonic() < deadline
               and xl.json("policy", "auto").get("stats", {}).get("counter") == before):
            time.sleep(0.1)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and not xl.json("policy", "auto").get("short_bytes"):
        time.sleep(0.2)
    got, out = policy_text_vs_json(xl, "auto", "policy auto short")
    now = got.get("now", ())
    check(len(now) == 6 and now[5] > 0 and ", short about " in out,
          "policy auto short: at MemAvailable 0 the now: line says how short (%r)" % (out,))
    guest = got.get("guest", ())
    check(len(guest) == 4 and guest[3] and guest[3] >= now[5] and ", swapped " in out,
          "policy auto short: the guest: line has the swap figure, at least the shortfall (%r)"
          % (out,))


TOP_HEAD = re.compile(r"^hotmem top: host free " + SIZE + r" \(reserve " + SIZE
                      + r"\), policy (\S+), tick (\d+) ms$")


def top_want(doc):
    host = doc.get("host", {})
    rows = []
    for d in doc.get("domains", []):
        st = d.get("stats")
        rows.append([d["name"], str(d["domid"]), d["mode"], str(d["tot_bytes"] >> 20),
                     str(d["target_bytes"] >> 20),
                     str(d["granted_bytes"] >> 20) if d["attached"] else "-",
                     str(st["memtotal_bytes"] >> 20) if st else "-",
                     str(st["memavail_bytes"] >> 20) if st else "-",
                     "%d.%02d" % divmod(st["psi_some_avg10"], 100) if st else "-",
                     d.get("why", "-")[:26].rstrip(), want_last(d)])
    return (host.get("free_bytes"), host.get("reserve_bytes"), doc.get("config"),
            doc.get("tick_ms"), rows)


def top_parse(out):
    lines = out.splitlines()
    m = TOP_HEAD.match(lines[0]) if lines else None
    if not m or len(lines) < 3 or not lines[1].startswith("NAME"):
        return None
    rows = []
    for line in lines[2:]:
        if line.startswith("(sizes in MiB"):
            break
        # Fixed columns up to PSI% (75 wide), two spaces, STATE (26 wide),
        # one space, LAST DECISION.
        head, state, last = line[:75], line[77:103], line[104:]
        rows.append(head.split() + [state.rstrip(), parse_last(last)])
    return (size(m[1]), size(m[2]), m[3], int(m[4]), rows)


def test_top(xl):
    for tries in range(5):
        before, out, after = (xl.json("top", "-n", "1"), xl.text("top", "-n", "1"),
                              xl.json("top", "-n", "1"))
        got = top_parse(out)
        if got in (top_want(before), top_want(after)):
            break
    check(got is not None, "top: header, column titles and rows parse (%r)" % out)
    check(got in (top_want(before), top_want(after)),
          "top: host and every row are the --json ones (%r vs %r)" % (got, top_want(after)))
    check(got and [r[0] for r in got[4]] == ["web", "db", "auto"] and got[4][0][5] == "640"
          and isinstance(got[4][2][10], tuple),
          "top: web, db and auto, web holds 640 MiB, auto's last decision a grow")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 1
    xl_bin, hotmemd = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="hotmem-cli-text-")
    conf = os.path.join(tmp, "hotmem.conf")
    with open(conf, "w") as f:
        f.write(CONFIG)
    sock = os.path.join(tmp, "hotmemd.sock")
    log = open(os.path.join(tmp, "hotmemd.log"), "w+")
    daemon = subprocess.Popen([hotmemd, "-F", "--hv", "sim", "--socket", sock, "--config", conf,
                               "--sim-host", "8g", "--sim-domain", "web:512m",
                               "--sim-domain", "db:1g", "--sim-domain", "auto:512m"],
                              stdout=subprocess.DEVNULL, stderr=log)
    xl = Xl(xl_bin, sock)
    try:
        # Until it logs "serving on": before that a CLI would run its own
        # in-process engine instead of asking this daemon.
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and daemon.poll() is None:
            log.seek(0)
            if "serving on" in log.read():
                break
            time.sleep(0.05)
        log.seek(0)
        if check("serving on" in log.read() and daemon.poll() is None, "hotmemd serves"):
            test_decision(xl)
            test_ops(xl)
            test_list(xl)
            test_info(xl)
            test_plan(xl)
            test_policy(xl)
            test_top(xl)
            test_policy_short(xl)
            rc, _, err = xl.run("sim-check")
            check(rc == 0, "the simulated host's invariants hold (%r)" % err)
    finally:
        daemon.terminate()
        try:
            check(daemon.wait(TIMEOUT) == 0, "hotmemd exits 0 on SIGTERM")
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
            check(False, "hotmemd exits on SIGTERM")
        log.seek(0)
        print("".join("  log: " + l for l in log))
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return exit_code()


if __name__ == "__main__":
    sys.exit(main())
