"""Scenarios of issue #11 (grant integrity) on real Xen: a guest gets exactly
what it was granted, at every step, and cannot wedge or keep a grant.

`greedy-guest`: after `xl mem-set guest 192` (the balloon gives 64 MiB back,
libxl lowers max_pages), the guest's root raises the balloon's target_kb far
above memory/target while a grow is pending, and the grow is refused (the driver is unloaded and its keys are answered from dom0
exactly as a hostile guest could write them: state ready, then ack
"<seq> error 0"). The balloon populates whatever max_pages allows; the engine
raised it only by the heads it populated, so after the rollback Xen's
tot_pages is within the books (max_pages as before the grow; the guest got
none of the 64 MiB back) and `xl-hotmem info` says
the domain is not frozen, nothing granted, nothing outstanding.

`silent-guest`: `xl pause guest`, a grow times out unanswered, `xl-hotmem
abandon guest` takes every frame back (Xen's free pages as before the grow,
to the page), `xl unpause guest`: the domain answers and grows and shrinks
again.

Both run on a fresh boot (`lab.py run NAME`) or on the shared session (they
create the domU and load xen_hotmem.ko if needed, and leave it at its boot
size with the module loaded). Every figure is a HOTMEM line."""

import re
import time

from lab import LabError, check, scenario, show

MIB = 1 << 20
BALLOON = "/sys/devices/system/xen_memory/xen_memory0"


def domid(lab):
    return int(lab.dom0("xl domid guest").out.strip())


def books(lab):
    """Xen's figures: the domain's tot_pages and max_pages, the host's free frames."""
    out = lab.dom0(f"hotmem-lab-mem {domid(lab)} info").out
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out)}


def ready(lab):
    """The domU exists and its driver is loaded and ready."""
    if lab.dom0("xl domid guest", check=False).rc != 0:
        lab.create_domu()
    if lab.domu("test -d /sys/kernel/xen_hotmem", check=False).rc != 0:
        lab.domu("insmod /lib/modules/xen_hotmem.ko")
    lab.dom0("xl-hotmem attach guest >/dev/null")
    wait_key(lab, "hotmem/guest/state", "ready", 60)


def xs(lab, rel):
    res = lab.dom0(f"xenstore-read /local/domain/{domid(lab)}/{rel}", check=False)
    return res.out.strip() if res.rc == 0 else None


def wait_key(lab, rel, want, timeout):
    end = time.monotonic() + timeout
    while True:
        value = xs(lab, rel)
        if value is not None and re.fullmatch(want, value):
            return value
        check(time.monotonic() < end, f"{rel} is {value!r}, not {want!r} after {timeout} s")
        time.sleep(0.5)


def wait_dom0_file(lab, path, pattern, timeout):
    end = time.monotonic() + timeout
    while True:
        out = lab.dom0(f"cat {path} 2>/dev/null; true").out
        if re.search(pattern, out):
            return out
        check(time.monotonic() < end, f"{path} has no {pattern!r} after {timeout} s: {out!r}")
        time.sleep(0.5)


def info(lab):
    import json
    return json.loads(lab.dom0("xl-hotmem --json info guest").out)


@scenario("greedy-guest", "a guest that ballooned up into a pending grow and refused it keeps nothing")
def greedy_guest(lab):
    ready(lab)
    d = domid(lab)
    # xl mem-set down: the balloon gives back 64 MiB and libxl lowers
    # max_pages with the target. Those are frames the guest gave up: it may
    # take them again only where a limit lets it.
    lab.dom0("xl mem-set guest 192")
    lab.domu(f"t=0; while [ $(cat {BALLOON}/info/current_kb) -gt {192 * 1024} ] && "
             f"[ $t -lt 600 ]; do usleep 100000; t=$((t+1)); done")
    b0 = books(lab)
    target_kb = int(xs(lab, "memory/target"))
    # A guest whose driver is gone but whose keys say ready (dom0 writes
    # them as the guest could): the engine sends it a grow nobody handles.
    lab.domu("rmmod xen_hotmem")
    lab.dom0(f"xenstore-write /local/domain/{d}/hotmem/guest/state ready")
    seq0 = int((xs(lab, "hotmem/request") or "0 ").split()[0])
    lab.dom0("(xl-hotmem grow guest 512m > /tmp/greedy.out 2>&1; echo rc=$? >> /tmp/greedy.out) &")
    request = wait_key(lab, "hotmem/request", rf"{seq0 + 1} grow \d+ \d+", 60)
    pending = books(lab)
    # Guest root: the balloon's target far above memory/target.
    lab.domu(f"echo {target_kb + 1024 * 1024} > {BALLOON}/target_kb")
    time.sleep(5)
    greedy = books(lab)
    # The guest refuses: the ack it could write.
    lab.dom0(f"xenstore-write /local/domain/{d}/hotmem/guest/ack '{seq0 + 1} error 0'")
    out = wait_dom0_file(lab, "/tmp/greedy.out", r"rc=\d+", 120)
    show("xl-hotmem grow guest 512m (refused)", out)
    # An in-process grow that timed out before the ack left the request
    # outstanding: the next engine (this info's reconcile) settles it.
    inf = info(lab)
    after = books(lab)
    show("xl-hotmem info guest", lab.dom0("xl-hotmem info guest").out)
    lab.report(scenario="greedy-guest", request=request.replace(" ", "_"),
               max_boot=b0["max_pages"], tot_boot=b0["tot_pages"],
               max_pending=pending["max_pages"], tot_pending=pending["tot_pages"],
               max_greedy=greedy["max_pages"], tot_greedy=greedy["tot_pages"],
               max_after=after["max_pages"], tot_after=after["tot_pages"],
               headroom_pending=pending["max_pages"] - b0["max_pages"],
               frozen=inf.get("frozen"), granted_bytes=inf.get("granted_bytes"))
    check("rc=1" in out, f"the refused grow did not fail: {out!r}")
    # Before the ack the limit covers only the heads dom0 populated.
    check(greedy["tot_pages"] <= greedy["max_pages"] and greedy["max_pages"] == pending["max_pages"],
          f"max_pages moved while the grow was pending: {pending} -> {greedy}")
    check(after["max_pages"] == b0["max_pages"],
          f"max_pages {after['max_pages']} after the rollback, before the grow {b0['max_pages']}")
    check(greedy["tot_pages"] - pending["tot_pages"] <= pending["max_pages"] - pending["tot_pages"],
          f"the balloon took more than the room: {pending} -> {greedy}")
    check(after["tot_pages"] <= after["max_pages"],
          f"tot_pages {after['tot_pages']} above the books ({after['max_pages']}) after the rollback")
    check(not inf.get("frozen") and inf.get("granted_bytes") == 0 and not inf.get("outstanding"),
          f"xl-hotmem info after the rollback: {inf}")
    # Back to normal: the balloon at memory/target, the driver loaded.
    lab.domu("insmod /lib/modules/xen_hotmem.ko")
    lab.dom0("xl mem-set guest 256")
    lab.domu(f"echo {256 * 1024} > {BALLOON}/target_kb")
    wait_key(lab, "hotmem/guest/state", "ready", 60)


@scenario("silent-guest", "an unanswered grow is abandoned: every frame back to the page, the guest works")
def silent_guest(lab):
    ready(lab)
    b0 = books(lab)
    lab.dom0("xl pause guest")
    res = lab.dom0("xl-hotmem grow guest 256m", timeout=120, check=False)
    show("xl-hotmem grow guest 256m (paused guest)", res.out)
    mid = books(lab)
    inf_mid = info(lab)
    ab = lab.dom0("xl-hotmem abandon guest", timeout=120, check=False)
    show("xl-hotmem abandon guest", ab.out)
    after = books(lab)
    inf = info(lab)
    lab.dom0("xl unpause guest")
    alive = lab.domu("echo still-here", check=False)
    grow = lab.dom0("xl-hotmem grow guest 256m", timeout=300, check=False)
    show("xl-hotmem grow guest 256m (after abandon)", grow.out)
    back = lab.dom0("xl-hotmem set guest 0", timeout=300, check=False)
    lab.report(scenario="silent-guest", grow_rc=res.rc, abandon_rc=ab.rc,
               free_boot=b0["free_pages"], free_pending=mid["free_pages"],
               free_after=after["free_pages"], free_diff=after["free_pages"] - b0["free_pages"],
               max_boot=b0["max_pages"], max_pending=mid["max_pages"], max_after=after["max_pages"],
               tot_boot=b0["tot_pages"], tot_after=after["tot_pages"],
               regrow_rc=grow.rc, shrink_rc=back.rc)
    check(res.rc != 0 and inf_mid.get("outstanding"), f"the grow of a paused guest did not stay outstanding: {inf_mid}")
    check(ab.rc == 0, f"abandon failed: {ab.out!r}")
    check(after["free_pages"] == b0["free_pages"],
          f"Xen free pages {after['free_pages']} after abandon, {b0['free_pages']} before the grow "
          f"({after['free_pages'] - b0['free_pages']:+d})")
    check(after["max_pages"] == b0["max_pages"] and after["tot_pages"] == b0["tot_pages"],
          f"books after abandon {after}, before {b0}")
    check(not inf.get("outstanding") and not inf.get("pending_blocks") and not inf.get("frozen"),
          f"xl-hotmem info after abandon: {inf}")
    check(alive.rc == 0 and "still-here" in alive.out, "the guest does not answer after unpause")
    check(grow.rc == 0 and back.rc == 0, f"grow/shrink after abandon: {grow.out!r} {back.out!r}")


def start_hotmemd(lab, log):
    """hotmemd -F in dom0's background (it must be running to see the
    reboot); returns once it answers."""
    lab.dom0(f"rm -f /run/hotmem/hotmemd.sock; (hotmemd -F >{log} 2>&1 & echo $! >/run/hotmemd.pid); "
             "t0=$(cut -d. -f1 /proc/uptime); until [ -S /run/hotmem/hotmemd.sock ]; do "
             f"kill -0 $(cat /run/hotmemd.pid) || {{ cat {log}; exit 1; }}; "
             f"[ $(cut -d. -f1 /proc/uptime) -ge $((t0 + 60)) ] && {{ cat {log}; exit 1; }}; usleep 100000; done; "
             "xl-hotmem list >/dev/null", timeout=90)


@scenario("reboot", "a grown guest reboots itself: back at its configured size, or reported rebooted-grown")
def reboot(lab):
    ready(lab)
    log = "/tmp/hotmemd-reboot.log"
    start_hotmemd(lab, log)
    b0 = books(lab)
    old = domid(lab)
    mib0 = lab.xl_list()["guest"]["mem"]
    res = lab.dom0("xl-hotmem grow guest 256m", timeout=300)
    show("xl-hotmem grow guest 256m", res.out)
    grown = lab.xl_list()["guest"]["mem"]
    # The guest reboots itself (busybox init ignores xl reboot's request).
    try:
        lab.domu("echo 1 > /proc/sys/kernel/sysrq; (sleep 1; echo b > /proc/sysrq-trigger) "
                 ">/dev/null 2>&1 </dev/null &", timeout=20, check=False)
    except LabError:
        pass  # the guest went down under the command
    end = time.monotonic() + 120
    while True:
        r = lab.dom0("xl domid guest", check=False)
        if r.rc == 0 and int(r.out.strip()) != old:
            break
        check(time.monotonic() < end, "xl did not rebuild the rebooted guest in 120 s")
        time.sleep(1)
    lab.dom0("hotmem-guest wait guest HOTMEM-DOMU-READY 180", timeout=210, check=False)
    new = domid(lab)
    mib1 = lab.xl_list()["guest"]["mem"]
    listing = lab.dom0("xl-hotmem list").out
    show("xl-hotmem list after the reboot", listing)
    journal = lab.dom0("xl-hotmem journal").out
    show("xl-hotmem journal", journal)
    daemon_log = lab.dom0(f"cat {log}; kill $(cat /run/hotmemd.pid); true").out
    show("hotmemd log", daemon_log)
    b1 = books(lab)
    row = [l for l in listing.splitlines() if l.split()[:1] == ["guest"]]
    grown_back = bool(row) and "rebooted-grown" in row[0]
    lab.report(scenario="reboot", old_domid=old, new_domid=new, mib_boot=mib0, mib_grown=grown,
               mib_after=mib1, rebooted_grown=grown_back, free_boot=b0["free_pages"],
               free_after=b1["free_pages"], free_diff=b1["free_pages"] - b0["free_pages"])
    check(not re.search(rf"^d{old}\b", journal, re.M),
          f"the old domain's journal record is still there: {journal!r}")
    check(mib1 == mib0 or grown_back,
          f"the rebooted guest has {mib1} MiB (configured {mib0}) and xl-hotmem list does not say "
          f"rebooted-grown: {row}")
    check(grown_back == (mib1 != mib0),
          f"xl-hotmem list says rebooted-grown={grown_back} for a guest of {mib1} MiB (configured {mib0})")
    # xl reads memory/target and static-max on the same @releaseDomain event
    # hotmemd restores them on, so which comes first is a race (issue 11 stays
    # open for it; docs/toolstack.md). When hotmem wins, the old grant is back
    # in the pool to the page; when xl wins, the guest's boot RAM is the grown
    # size and the listing says so (checked above), and this run reports it.
    if mib1 == mib0:
        check(b1["free_pages"] == b0["free_pages"],
              f"Xen free pages {b1['free_pages']} after the reboot, {b0['free_pages']} before the grow")
    else:
        lab.report(scenario="reboot", race="lost", note="xl rebuilt the guest from the grown size")
