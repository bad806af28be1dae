#!/usr/bin/env python3
"""bench/lab_grow.py (make bench-lab): grow and shrink a real Xen 4.17 arm64
guest (tests/lab, QEMU TCG) by 1 GiB, RUNS times (default 5), and print for
each figure min/median/max over the runs whose operation succeeded (a failed
grow or shrink, or one that left the books wrong, gives no figure):

- grow 1 GiB end to end: `xl-hotmem grow guest 1g` on dom0's clock (the
  driver acks once every page is in the allocator; MemTotal is then checked
  to show the 1008 usable MiB);
- the floor of that grow: dom0 populating the same guest-physical GiB at the
  same extent order (hotmem-lab-mem, order 18 if Xen takes it, else 9; timed
  in dom0), plus the guest kernel's own time to add the 8 blocks and bring
  them online (the driver's dmesg timestamps of absent -> added -> online in
  that grow); the ratio grow / floor (goal <= 1.5x); and where the grow's
  time went: the guest's request from the driver seeing it to its ack
  (kernel add, kernel online, the driver's own steps, from its dmesg
  timestamps) and dom0's time around it (the rest of the end-to-end time),
  phase by phase from the phases_ms of `xl-hotmem --json grow`'s reply
  (engine open, lookup, admission, pool, populate, request, the wait for the
  ack and what in it was not the guest's, finish, fill) and the process
  around them (exec, dynamic linking, exit);
- after those runs, RUNS grows and shrinks through hotmemd as the package
  runs it (mode manual: the policy moves nothing), against the median
  floor and Xen decrease of the runs before;
- shrink 1 GiB end to end (`xl-hotmem set guest 0`, dom0's clock) and Xen's own decrease of
  the same range at the same order (hotmem-lab-mem, after populating it
  again); the ratio (goal <= 1.25x);
- the peak guest memory used outside the window during the grow
  (hotmem-memload outside: the free pages of every zone but Movable, from
  /proc/zoneinfo every 10 ms).

The summary opens with the headline: the grow and shrink ratios as the
package runs `xl-hotmem` (hotmemd answers), then with no hotmemd running
(the CLI opens the engine itself: Xen's libraries, the journal claim and
reconcile in its own process, about 0.1 s more under emulation).

A benchmark, not a test: exit 0 unless the lab itself fails. Needs
tests/lab/setup.sh once. Every figure is also a "HOTMEM bench=lab-grow ..."
line. Usage: bench/lab_grow.py [CACHE] [RUNS]."""

import json
import re
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "lab"))
sys.dont_write_bytecode = True
import lab as labmod  # noqa: E402
from scenarios import unit  # noqa: E402

GIB = 1 << 30
MEMTOTAL_GROWTH_KB = 8 * 126 * 1024  # 8 blocks of 128 MiB, 2 MiB memmap each


def meminfo_kb(lab, key):
    return int(re.search(rf"^{key}:\s+(\d+)", lab.domu("cat /proc/meminfo").out, re.M).group(1))


def books(lab, domid):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lab.dom0(f"hotmem-lab-mem {domid} info").out)}


def guest_add_online_s(lab, since):
    """Kernel time the driver spent adding and onlining blocks after SINCE
    (guest uptime): each block's absent -> added and added -> online, from
    the previous line of the same request."""
    out = lab.domu("dmesg | grep -E 'xen_hotmem: (block |request )'", check=False).out
    lines = [(float(m.group(1)), m.group(2)) for m in re.finditer(r"^\[\s*([\d.]+)\] xen_hotmem: (.*)$", out, re.M)
             if float(m.group(1)) >= since]
    total, prev = 0.0, None
    for t, text in lines:
        if prev is not None and re.search(r": (absent -> added|added -> online)$", text):
            total += t - prev
        prev = t
    return total


def guest_phases_s(lab, since, op="grow"):
    """The phases of the first OP request the driver took after SINCE (guest
    uptime), from its dmesg timestamps: request seen to ack written, and
    within it the kernel's add and online of each block (absent -> added,
    added -> online) and the driver's own steps between them (the balloon's
    books, H/guest/blocks per block, state and ack writes)."""
    out = lab.domu("dmesg | grep -E 'xen_hotmem: (block |request |state )'", check=False).out
    lines = [(float(m.group(1)), m.group(2)) for m in re.finditer(r"^\[\s*([\d.]+)\] xen_hotmem: (.*)$", out, re.M)
             if float(m.group(1)) >= since]
    start = next((t for t, text in lines if re.match(rf"request \d+: {op}", text)), None)
    end = next((t for t, text in lines if re.match(r"request \d+ acked", text)), None)
    if start is None or end is None:
        return None
    add = online = 0.0
    prev = start
    for t, text in lines:
        if t < start or t > end:
            continue
        if text.endswith(": absent -> added"):
            add += t - prev
        elif text.endswith(": added -> online"):
            online += t - prev
        prev = t
    return dict(guest_request_s=end - start, guest_add_s=add, guest_online_s=online,
                guest_driver_s=end - start - add - online)


def populate_s(lab, domid, gpa, order):
    """dom0 populates [gpa, gpa + 1 GiB) at ORDER; seconds, or None."""
    res = lab.dom0(f"hotmem-lab-mem {domid} populate {gpa:#x} {GIB:#x} {order}", timeout=600, check=False)
    m = re.search(r"populated .* in ([\d.]+) ms", res.out)
    return float(m.group(1)) / 1e3 if res.rc == 0 and m else None


def decrease_s(lab, domid, gpa, order):
    res = lab.dom0(f"hotmem-lab-mem {domid} decrease {gpa:#x} {GIB:#x} {order}", timeout=600, check=False)
    m = re.search(r"decreased .* in ([\d.]+) ms", res.out)
    return float(m.group(1)) / 1e3 if res.rc == 0 and m else None


def timed_dom0(lab, cmd):
    """Run CMD in dom0, timed on dom0's own clock (no harness round trip;
    the shell's read builtin takes the clock, so no process of the timing
    itself is counted)."""
    res = lab.dom0(f"read t0 _ </proc/uptime; {cmd}; rc=$?; read t1 _ </proc/uptime; echo \"T $t0 $t1\"; "
                   "exit $rc", timeout=600, check=False)
    m = re.search(r"^T (\S+) (\S+)$", res.out, re.M)
    return res, (float(m.group(2)) - float(m.group(1))) if m else float("nan")


def op_reply(res):
    """The JSON of `xl-hotmem --json grow/set` in a timed_dom0() output, or {}."""
    text = res.out.split("\nT ")[0]
    try:
        return json.loads(text[text.index("{"):text.rindex("}") + 1])
    except ValueError:
        return {}


def dom0_phases(reply, e2e, guest_request_s=None):
    """xl-hotmem's own account of an operation (phases_ms of its reply), in
    seconds: the engine's phases, the process around them (exec, dynamic
    linking, reply, exit: e2e minus the rest) and, given the guest's own
    request handling, what the wait for the ack held besides it (both
    xenstore notifications, our reads of the guest's keys)."""
    ph = reply.get("phases_ms")
    if not isinstance(ph, dict):
        return {}
    fig = {f"dom0_{k}_s": v / 1e3 for k, v in ph.items()}
    fig["dom0_process_s"] = e2e - sum(v for k, v in ph.items() if not k.endswith("_hv")) / 1e3
    if guest_request_s is not None and "ack_wait" in ph:
        fig["dom0_ack_overhead_s"] = ph["ack_wait"] / 1e3 - guest_request_s
    for k in ("populate_steps", "ack_reads"):
        if k in reply:
            fig[f"dom0_{k}"] = reply[k]
    return fig


def window_base(info):
    """window.base of `xl-hotmem --json info`, at any depth."""
    if isinstance(info, dict):
        if isinstance(info.get("window"), dict) and "base" in info["window"]:
            return int(info["window"]["base"])
        info = list(info.values())
    if isinstance(info, list):
        for v in info:
            found = window_base(v)
            if found is not None:
                return found
    return None


def hotmemd_grow_shrink(lab, domid, base, fig):
    """The same grow and shrink through a running hotmemd: its engine is
    open and its journal records loaded before the request comes, which the
    in-process xl-hotmem pays for in every command. False if the books went
    wrong."""
    uptime = float(lab.domu("cut -d' ' -f1 /proc/uptime").out)
    res, e2e = timed_dom0(lab, "xl-hotmem --json grow guest 1g")
    after = books(lab, domid)
    if (res.rc == 0 and meminfo_kb(lab, "MemTotal") == base["memtotal"] + MEMTOTAL_GROWTH_KB
            and after["tot_pages"] == base["tot_pages"] + (GIB >> 12)):
        fig["grow_hotmemd_1gib_s"] = e2e
        phases = guest_phases_s(lab, uptime)
        fig.update({f"hgrow_{k}": v for k, v in
                    dom0_phases(op_reply(res), e2e, phases and phases["guest_request_s"]).items()})
    else:
        labmod.log(f"hotmemd grow failed or books wrong (rc {res.rc}): no figure\n{res.out[-500:]}")
    res, shrink = timed_dom0(lab, "xl-hotmem --json set guest 0")
    after = books(lab, domid)
    if res.rc != 0 or after["tot_pages"] != base["tot_pages"] or after["free_pages"] != base["free_pages"]:
        labmod.log(f"hotmemd shrink failed or frames missing (rc {res.rc}, {after} vs {base})")
        return False
    if "grow_hotmemd_1gib_s" in fig:
        fig["shrink_hotmemd_1gib_s"] = shrink
        fig.update({f"hshrink_{k}": v for k, v in dom0_phases(op_reply(res), shrink).items()})
    return True


def hotmemd_runs(lab, domid, base, runs, per):
    """RUNS grows and shrinks through hotmemd as the package runs it
    (hotmem-unit-start, the unit's ExecStart= and conffile: every domain in
    mode manual, so the policy moves nothing by itself), after every
    in-process run: it asks the guest for stats every second from then on,
    which the in-process runs must not see. Against the median floor and
    Xen decrease of the in-process runs (the floor populates the window
    behind the engine's back, which a running hotmemd must not see)."""
    base = dict(base, **{k: v for k, v in books(lab, domid).items() if k in ("tot_pages", "free_pages")})
    unit.start(lab, "/var/log/hotmemd-bench.log")
    try:
        for n in range(1, runs + 1):
            fig = {}
            ok = hotmemd_grow_shrink(lab, domid, base, fig)
            if "grow_hotmemd_1gib_s" in fig and per.get("floor_s"):
                fig["grow_hotmemd_over_floor"] = fig["grow_hotmemd_1gib_s"] / statistics.median(per["floor_s"])
            if "shrink_hotmemd_1gib_s" in fig and per.get("xen_decrease_1gib_s"):
                fig["shrink_hotmemd_over_xen_decrease"] = (fig["shrink_hotmemd_1gib_s"] /
                                                           statistics.median(per["xen_decrease_1gib_s"]))
            lab.report(bench="lab-grow", hotmemd_run=n, **fig)
            for k, v in fig.items():
                per.setdefault(k, []).append(v)
            if not ok:
                break
    finally:
        lab.dom0("kill $(cat /run/hotmemd.pid); read t0 _ </proc/uptime; t0=${t0%.*}; "
                 "while [ -S " + unit.SOCKET + " ]; do read t _ </proc/uptime; [ ${t%.*} -ge $((t0 + 60)) ] && exit 1; "
                 "usleep 100000; done", timeout=90)


def one_run(lab, domid, base, window_base, n):
    """One grow, its floor, one shrink, Xen's decrease. {figure: value} of
    what succeeded."""
    fig = {}
    # Xen's books at the start of this run (the floor below may leave the
    # P2M pool bigger, which moves free_pages between runs).
    base = dict(base, **{k: v for k, v in books(lab, domid).items() if k in ("tot_pages", "free_pages")})
    # The peak used outside the window, from a grow of its own: the sampler
    # reads /proc/zoneinfo every 10 ms, which would slow the timed grow's
    # single vCPU.
    lab.domu("rm -f /tmp/outside.status; hotmem-memload outside 10 /tmp/outside.status >/dev/null 2>&1 & "
             "echo $! >/tmp/outside.pid; while ! grep -q '^outside ready' /tmp/outside.status 2>/dev/null; do "
             "usleep 50000; done; kill -USR1 $(cat /tmp/outside.pid)")
    res, _ = timed_dom0(lab, "xl-hotmem grow guest 1g")
    lab.domu("kill $(cat /tmp/outside.pid); while ! grep -q '^outside base' /tmp/outside.status; do usleep 50000; "
             "done")
    peak = re.search(r"peak_used_kb=(\d+)", lab.domu("cat /tmp/outside.status").out) if res.rc == 0 else None
    res, _ = timed_dom0(lab, "xl-hotmem set guest 0")
    if res.rc != 0 or books(lab, domid)["tot_pages"] != base["tot_pages"]:
        labmod.log(f"run {n}: the sampled grow did not shrink back: stopping")
        return fig, False

    uptime = float(lab.domu("cut -d' ' -f1 /proc/uptime").out)
    res, e2e = timed_dom0(lab, "xl-hotmem --json grow guest 1g")
    # The driver acks once every page is in the allocator: MemTotal is
    # there when xl-hotmem returns (checked, not waited for).
    grown = res.rc == 0 and meminfo_kb(lab, "MemTotal") == base["memtotal"] + MEMTOTAL_GROWTH_KB
    after = books(lab, domid)
    grown = grown and after["tot_pages"] == base["tot_pages"] + (GIB >> 12)
    if grown:
        fig["grow_1gib_s"] = e2e
        fig["guest_add_online_s"] = guest_add_online_s(lab, uptime)
        # Where the rest of the end-to-end time went: the guest's request
        # (kernel add, online, the driver's own steps) and dom0 around it
        # (xl-hotmem: attach, maxmem, P2M pool, populate, xenstore, the ack poll).
        phases = guest_phases_s(lab, uptime)
        if phases:
            fig.update(phases)
            fig["dom0_s"] = e2e - phases["guest_request_s"]
        fig.update({f"grow_{k}": v for k, v in
                    dom0_phases(op_reply(res), e2e, phases and phases["guest_request_s"]).items()})
        if peak:
            fig["peak_outside_window_kb"] = int(peak.group(1))
    else:
        labmod.log(f"run {n}: grow failed or books wrong (rc {res.rc}): no grow figure\n{res.out[-500:]}")

    uptime = float(lab.domu("cut -d' ' -f1 /proc/uptime").out)
    res, shrink = timed_dom0(lab, "xl-hotmem --json set guest 0")
    after = books(lab, domid)
    if res.rc == 0 and after["tot_pages"] == base["tot_pages"] and after["free_pages"] == base["free_pages"]:
        if grown:
            fig["shrink_1gib_s"] = shrink
            phases = guest_phases_s(lab, uptime, "shrink")
            if phases:
                fig["shrink_guest_request_s"] = phases["guest_request_s"]
            fig.update({f"shrink_{k}": v for k, v in
                        dom0_phases(op_reply(res), shrink, phases and phases["guest_request_s"]).items()})
    else:
        labmod.log(f"run {n}: shrink failed or frames missing (rc {res.rc}, {after} vs {base}): stopping")
        return fig, False

    # The floor and Xen's own decrease, on the same GiB of the window (hotmem
    # holds none of it now): maxmem and the P2M pool raised for it, put back.
    lab.dom0(f"hotmem-lab-mem {domid} maxmem {after['max_pages'] * 4 + (GIB >> 10)} && "
             f"hotmem-lab-mem {domid} p2m {base['p2m_bytes'] + (16 << 20)}")
    order, pop = 18, populate_s(lab, domid, window_base, 18)
    if pop is None:
        order, pop = 9, populate_s(lab, domid, window_base, 9)
    dec = decrease_s(lab, domid, window_base, order) if pop is not None else None
    lab.dom0(f"hotmem-lab-mem {domid} maxmem {after['max_pages'] * 4} && "
             f"hotmem-lab-mem {domid} p2m {base['p2m_bytes']}", check=False)
    end = books(lab, domid)
    if pop is not None and dec is not None and end["tot_pages"] == base["tot_pages"]:
        fig["populate_order"] = order
        fig["xen_populate_1gib_s"] = pop
        fig["xen_decrease_1gib_s"] = dec
        if grown:
            fig["floor_s"] = pop + fig["guest_add_online_s"]
            fig["grow_over_floor"] = fig["grow_1gib_s"] / fig["floor_s"]
        if "shrink_1gib_s" in fig:
            fig["shrink_over_xen_decrease"] = fig["shrink_1gib_s"] / dec
    return fig, end["tot_pages"] == base["tot_pages"]


def run(lab, runs):
    lab.create_domu()
    lab.domu("insmod /lib/modules/xen_hotmem.ko")
    domid = int(lab.dom0("xl domid guest").out.strip())
    b = books(lab, domid)
    base = dict(tot_pages=b["tot_pages"], free_pages=b["free_pages"], p2m_bytes=b.get("p2m_bytes", 0),
                memtotal=meminfo_kb(lab, "MemTotal"))
    if not base["p2m_bytes"]:
        base["p2m_bytes"] = int(re.search(r"p2m_bytes=(\d+)", lab.dom0(f"hotmem-lab-mem {domid} p2m 0").out).group(1))
    per = {}
    for n in range(1, runs + 1):
        if "window_base" not in base:
            # A warm-up grow attaches the domain and fixes its window.
            lab.dom0("xl-hotmem grow guest 128m && xl-hotmem set guest 0", timeout=300)
            base["window_base"] = window_base(json.loads(lab.dom0("xl-hotmem --json info guest").out))
        fig, ok = one_run(lab, domid, base, base["window_base"], n)
        lab.report(bench="lab-grow", run=n, **fig)
        for k, v in fig.items():
            per.setdefault(k, []).append(v)
        if not ok:
            break
    else:
        hotmemd_runs(lab, domid, base, runs, per)
    print(f"\n{runs} runs of a 1 GiB grow and shrink (min / median / max over the runs that succeeded):")
    # The headline first: `xl-hotmem grow` as the package runs it (its
    # systemd unit starts hotmemd, and the CLI hands the request to it),
    # then the same command with no hotmemd running (the engine opens in
    # the CLI's own process); the breakdowns follow.
    names = [("headline (details below):", None, ""),
             ("grow 1 GiB, as installed (through hotmemd)", "grow_hotmemd_1gib_s", "s"),
             ("  grow / floor (goal <= 1.5)", "grow_hotmemd_over_floor", "x"),
             ("grow 1 GiB, no hotmemd (engine in xl-hotmem)", "grow_1gib_s", "s"),
             ("  grow / floor (goal <= 1.5)", "grow_over_floor", "x"),
             ("floor: dom0 populate + guest add+online", "floor_s", "s"),
             ("shrink / Xen decrease, as installed (goal <= 1.25)", "shrink_hotmemd_over_xen_decrease", "x"),
             ("shrink / Xen decrease, no hotmemd (goal <= 1.25)", "shrink_over_xen_decrease", "x"),
             ("no hotmemd: the engine runs in xl-hotmem's process", None, ""),
             ("grow 1 GiB end to end", "grow_1gib_s", "s"),
             ("floor: dom0 populate + guest add+online", "floor_s", "s"),
             ("  dom0 populate 1 GiB (same order)", "xen_populate_1gib_s", "s"),
             ("  guest add + online (kernel log)", "guest_add_online_s", "s"),
             ("grow / floor (goal <= 1.5)", "grow_over_floor", "x"),
             ("  guest: request seen to ack", "guest_request_s", "s"),
             ("    kernel add (8 blocks)", "guest_add_s", "s"),
             ("    kernel online (8 blocks, pages taken)", "guest_online_s", "s"),
             ("    driver's own steps", "guest_driver_s", "s"),
             ("  dom0 outside the guest's request", "dom0_s", "s"),
             ("    xl-hotmem process (exec, link, exit)", "grow_dom0_process_s", "s"),
             ("    engine open (config, lock, reconcile)", "grow_dom0_open_s", "s"),
             ("    domain lookup", "grow_dom0_resolve_s", "s"),
             ("    admission + journal record", "grow_dom0_start_s", "s"),
             ("    P2M pool raised", "grow_dom0_pool_s", "s"),
             ("    populate steps (max, populate, journal)", "grow_dom0_populate_s", "s"),
             ("      of which populate hypercalls", "grow_dom0_populate_hv_s", "s"),
             ("      steps", "grow_dom0_populate_steps", ""),
             ("    request written (one transaction)", "grow_dom0_request_s", "s"),
             ("    request written to ack recorded", "grow_dom0_ack_wait_s", "s"),
             ("      of which not the guest's request", "grow_dom0_ack_overhead_s", "s"),
             ("      reads of the guest's keys before it", "grow_dom0_ack_reads", ""),
             ("    finish (max, pool, journal close)", "grow_dom0_finish_s", "s"),
             ("    fill wait (tot_pages)", "grow_dom0_fill_s", "s"),
             ("shrink 1 GiB end to end", "shrink_1gib_s", "s"),
             ("  xl-hotmem process (exec, link, exit)", "shrink_dom0_process_s", "s"),
             ("  engine open (config, lock, reconcile)", "shrink_dom0_open_s", "s"),
             ("  admission + journal record + request", "shrink_dom0_start_s", "s"),
             ("  request written to ack recorded", "shrink_dom0_ack_wait_s", "s"),
             ("    guest: request seen to ack", "shrink_guest_request_s", "s"),
             ("    reads of the guest's keys before it", "shrink_dom0_ack_reads", ""),
             ("  finish: frames given back, journal", "shrink_dom0_finish_s", "s"),
             ("    of which decrease hypercalls", "shrink_dom0_reclaim_hv_s", "s"),
             ("Xen decrease of the same GiB", "xen_decrease_1gib_s", "s"),
             ("shrink / Xen decrease (goal <= 1.25)", "shrink_over_xen_decrease", "x"),
             ("through hotmemd (as installed, mode manual), after them; ratios to their medians:", None, ""),
             ("grow 1 GiB end to end", "grow_hotmemd_1gib_s", "s"),
             ("grow / floor (goal <= 1.5)", "grow_hotmemd_over_floor", "x"),
             ("  xl-hotmem process + socket round trip", "hgrow_dom0_process_s", "s"),
             ("  domain lookup", "hgrow_dom0_resolve_s", "s"),
             ("  admission + journal record", "hgrow_dom0_start_s", "s"),
             ("  P2M pool raised", "hgrow_dom0_pool_s", "s"),
             ("  populate steps (max, populate, journal)", "hgrow_dom0_populate_s", "s"),
             ("  request written (one transaction)", "hgrow_dom0_request_s", "s"),
             ("  request written to ack recorded", "hgrow_dom0_ack_wait_s", "s"),
             ("    of which not the guest's request", "hgrow_dom0_ack_overhead_s", "s"),
             ("  finish (max, pool, journal close)", "hgrow_dom0_finish_s", "s"),
             ("shrink 1 GiB end to end", "shrink_hotmemd_1gib_s", "s"),
             ("  finish: frames given back, journal", "hshrink_dom0_finish_s", "s"),
             ("shrink / Xen decrease (goal <= 1.25)", "shrink_hotmemd_over_xen_decrease", "x"),
             ("peak used outside the window", "peak_outside_window_kb", "kB"),
             ("extent order of the floor", "populate_order", "")]
    summary = {}
    for label, key, suffix in names:
        if key is None:
            print(f"  {label}")
            continue
        v = per.get(key, [])
        if not v:
            print(f"  {label:42} no successful run")
            continue
        lo, med, hi = min(v), statistics.median(v), max(v)
        summary.update({f"{key}_min": lo, f"{key}_median": med, f"{key}_max": hi, f"{key}_n": len(v)})
        fmtv = (lambda x: f"{x:.0f}") if suffix in ("kB", "") else (lambda x: f"{x:.3f}")
        print(f"  {label:42} {fmtv(lo)} / {fmtv(med)} / {fmtv(hi)} {suffix} (n={len(v)})")
    lab.report(bench="lab-grow", step="summary", **summary)


def main():
    labmod.install_cleanup()
    cache = sys.argv[1] if len(sys.argv) > 1 else str(REPO / ".cache" / "lab")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    lab = labmod.Lab(cache, Path(cache) / "runs" / "bench-lab-grow")
    rc = 1
    try:
        lab.boot()
        run(lab, runs)
        rc = 0
    except (labmod.LabError, AssertionError, labmod.Skip) as e:
        labmod.log(f"bench failed: {e}")
        lab.dump(str(e).splitlines()[0] if str(e) else type(e).__name__)
    finally:
        if rc == 0:
            lab.poweroff()
        lab.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
