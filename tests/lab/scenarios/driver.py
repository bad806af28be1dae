"""Scenario "driver" (ctest lab.driver): xen_hotmem.ko in a real Xen 4.17
arm64 guest, with dom0 playing the toolstack by hand (xenstore-write/chmod and
the hotmem-lab-mem helper), so the guest driver is proven on its own:

1. handshake: dom0 attaches hotmem (keys, permissions), the guest loads the
   module, dom0 reads back version/features/block-size/memmap-bytes/state;
2. grow one block: dom0 raises maxmem and static-max by one block and
   populates only the block's memmap head; request "1 grow 0 1"; the block
   must come online movable with its memmap inside (sysfs, /proc/iomem,
   notifier order), the balloon holding its usable pages; dom0 raises
   memory/target and the balloon populates them: MemTotal grows by the usable
   size, `xl list` by the block, and the books agree;
3. a plain `xl mem-set` down and back up still works;
4. shrink: request "2 shrink 1"; the block goes offline and away, dom0 gives
   the whole block back and lowers target/static-max/maxmem; everything is as
   before the grow;
5. stats: with stats-interval-ms set, H/guest/stats appears and counts up,
   with five figures (this toolstack does not offer stats-swap, though the
   agent feeds the driver its swap lines),
   with PSI from the sysfs file a guest agent feeds;
6. reload: rmmod leaves state "closed", insmod again finds its last ack;
   with auto_online_blocks=offline the driver onlines the next block itself;
   a block whose usable pages the balloon still holds (memory/target not
   raised yet) refuses to go (acked busy after the retries) and goes once the
   balloon populated it;
7. with 100 MB of tmpfs on the block, a 10 ms offline_timeout_ms interrupts
   the offline attempt (acked busy with retry_limit=0, block kept), the
   default one lets the data migrate and the block go; with 250 MB of tmpfs that has nowhere else
   to go, the shrink is refused before offlining (acked nomem): trying would
   drive the guest out of memory.

Scenario "driver-usable" runs steps 1-4 with the module's
memmap_in_target=0, the accounting in which memory/target moves by the
usable size only, and reports what a plain `xl mem-set` then does (it comes
up short: the memmap heads dom0 populated are not in memory/target, and
libxl sets maxmem from memory/target). docs/guest-driver.md compares both.

Every figure is printed as a HOTMEM line (timings, MemTotal, balloon books,
tot_pages) for docs/guest-driver.md."""

import re
import time

from lab import LabError, check, scenario, show
from scenarios import counters

WINDOW_BASE = 0x50000000  # right after the 256 MiB guest's RAM in bank 0
WINDOW_SIZE = 0x40000000  # 8 blocks of 128 MiB
# A v1 toolstack before populated-blocks: the driver keeps the head-only way
# (dom0 populates the memmap head, the balloon the rest), which this
# scenario plays by hand.
TOOLSTACK_FEATURES = "memmap-on-memory online-movable shrink stats target-blocks"
# What the module lists: target-blocks and populated-blocks only with
# memmap_in_target=1; reboot-notice with the default reboot_notice_ms.
GUEST_FEATURES = {True: "memmap-on-memory online-movable populated-blocks reboot-notice shrink stats "
                        "stats-swap target-blocks",
                  False: "memmap-on-memory online-movable reboot-notice shrink stats stats-swap"}


def xs_wait(lab, path, want, timeout=120):
    """Poll a xenstore key in dom0 until it equals WANT; return (value, seconds).

    For an ack ("<seq> <status> <done>") it also stops at any other answer to
    the same request, so a wrong status fails at once with the value it had
    instead of running into the timeout. The deadline is on dom0's clock, not
    a count of polls, which under a loaded host take longer than 50 ms each."""
    seq = want.split(" ", 1)[0] + " " if path.endswith("/ack") and " " in want else ""
    other = f" || {{ [ -n \"{seq}\" ] && [ \"${{v#{seq}}}\" != \"$v\" ]; }}" if seq else ""
    script = (f"t0=$(cut -d' ' -f1 /proc/uptime); end=${{t0%.*}}; end=$((end + {timeout})); v=; "
              f"while :; do v=$(xenstore-read {path} 2>/dev/null); "
              f"{{ [ \"$v\" = \"{want}\" ]{other}; }} && break; "
              f"now=$(cut -d' ' -f1 /proc/uptime); [ ${{now%.*}} -ge $end ] && break; usleep 50000; done; "
              f"t1=$(cut -d' ' -f1 /proc/uptime); echo \"$v\"; echo \"$t0 $t1\"")
    out = lab.dom0(script, timeout=timeout + 60).out.strip().splitlines()
    t0, t1 = (float(x) for x in out[-1].split())
    return out[0] if len(out) > 1 else "", t1 - t0


def guest_books(lab):
    """The guest's balloon books and MemTotal (kB)."""
    out = lab.domu("cd /sys/devices/system/xen_memory/xen_memory0 && "
                   "echo current_kb=$(cat info/current_kb) target_kb=$(cat target_kb) "
                   "low_kb=$(cat info/low_kb) && grep -E '^(MemTotal|MemFree|MemAvailable):' /proc/meminfo").out
    books = {k: int(v) for k, v in re.findall(r"(\w+_kb)=(\d+)", out)}
    for key, value in re.findall(r"^(\w+):\s+(\d+) kB", out, re.M):
        books[key] = int(value)
    return books


def dom0_books(lab, domid):
    """Xen's own counters (counters.xen_books: tot_pages, max_pages, stage-2
    mappings, the host's free pages), xl list's MiB and the memory keys (kB)."""
    books = counters.xen_books(lab, domid)
    out = lab.dom0(f"echo target=$(xenstore-read /local/domain/{domid}/memory/target) "
                   f"static_max=$(xenstore-read /local/domain/{domid}/memory/static-max)").out
    books.update({k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out)})
    books["xl_mib"] = lab.xl_list()["guest"]["mem"]
    return books


def wait_balloon(lab, target_kb, timeout=180):
    """Wait in the guest until the balloon's target is TARGET_KB and it got
    there; return (seconds, current_kb). A balloon that stops short (Xen
    refused frames) times out and is returned as it is."""
    script = ("d=/sys/devices/system/xen_memory/xen_memory0; t0=$(cut -d' ' -f1 /proc/uptime); i=0; "
              f"while [ $i -lt {timeout * 10} ]; do [ $(cat $d/target_kb) = {target_kb} ] && "
              "[ $(cat $d/info/current_kb) = $(cat $d/target_kb) ] && break; "
              "usleep 100000; i=$((i+1)); done; t1=$(cut -d' ' -f1 /proc/uptime); "
              "echo $t0 $t1 $(cat $d/info/current_kb) $(cat $d/target_kb)")
    t0, t1, cur, tgt = lab.domu(script, timeout=timeout + 30).out.split()[-4:]
    return float(t1) - float(t0), int(cur)



def attach(lab, domid):
    """What the toolstack writes in one transaction when it attaches hotmem."""
    h = f"/local/domain/{domid}/hotmem"
    lab.dom0(f"xenstore-write {h}/guest '' && xenstore-chmod {h}/guest n{domid} && "
             f"xenstore-write {h}/version 1 {h}/features '{TOOLSTACK_FEATURES}' "
             f"{h}/window '{WINDOW_BASE:#x} {WINDOW_SIZE:#x}' {h}/stats-interval-ms 0 && "
             f"for k in '' /version /features /window /stats-interval-ms; do "
             f"xenstore-chmod {h}$k n0 r{domid} || exit 1; done")


def grow_block(lab, domid, index, seq, block_size, memmap):
    """dom0's part of a grow (max memory, static-max, the memmap head), then
    the request; returns (ack, populate seconds, request-to-ack seconds)."""
    dom = f"/local/domain/{domid}"
    d = dom0_books(lab, domid)
    start = WINDOW_BASE + index * block_size
    t = time.monotonic()
    lab.dom0(f"xenstore-write {dom}/memory/static-max {d['static_max'] + (block_size >> 10)} && "
             f"hotmem-lab-mem {domid} maxmem {d['max_pages'] * 4 + (block_size >> 10)} && "
             f"hotmem-lab-mem {domid} populate {start:#x} {memmap:#x} 9")
    populate_s = time.monotonic() - t
    lab.dom0(f"xenstore-write {dom}/hotmem/request '{seq} grow {index} 1'")
    ack, ack_s = xs_wait(lab, f"{dom}/hotmem/guest/ack", f"{seq} ok 1")
    return ack, populate_s, ack_s


def run(lab, memmap_in_target):
    """Steps 1-4 (see the module docstring); returns a dict of what it saw."""
    name = "driver" if memmap_in_target else "driver-usable"
    if lab.dom0("command -v hotmem-lab-mem", check=False).rc != 0:
        raise LabError("dom0 image has no hotmem-lab-mem (see <cache>/build-aarch64.log)")
    lab.create_domu()
    if lab.domu("test -f /lib/modules/xen_hotmem.ko", check=False).rc:
        raise LabError("no xen_hotmem.ko in the guest image (see <cache>/pkg/dkms-build.log)")
    domid = int(lab.dom0("xl domid guest").out.strip())
    dom = f"/local/domain/{domid}"
    h = f"{dom}/hotmem"

    # -- 1. attach and load
    attach(lab, domid)
    t = time.monotonic()
    lab.domu(f"insmod /lib/modules/xen_hotmem.ko memmap_in_target={int(memmap_in_target)}")
    state, _ = xs_wait(lab, f"{h}/guest/state", "ready", timeout=60)
    check(state == "ready", f"guest state {state!r} after insmod")
    keys = {k: lab.dom0(f"xenstore-read {h}/guest/{k}").out.strip()
            for k in ("version", "features", "block-size", "memmap-bytes", "blocks", "state")}
    show("handshake (guest keys)", "\n".join(f"{k} = {v!r}" for k, v in keys.items()))
    check(keys["version"] == "1", f"guest/version {keys['version']!r}")
    check(keys["features"] == GUEST_FEATURES[bool(memmap_in_target)],
          f"guest/features {keys['features']!r}")
    check(keys["block-size"] == "0x8000000", f"guest/block-size {keys['block-size']!r}")
    layout = counters.memory_layout(lab)
    memmap_pages = counters.memmap_on_memory_pages(layout)
    check(int(keys["block-size"], 16) == layout["block_bytes"],
          f"guest/block-size {keys['block-size']!r}, the kernel's block_size_bytes {layout['block_bytes']:#x}")
    check(int(keys["memmap-bytes"], 16) == memmap_pages * layout["page_kb"] * 1024,
          f"guest/memmap-bytes {keys['memmap-bytes']!r}, the kernel's numbers give {memmap_pages} pages")
    check(keys["blocks"] == "", f"guest/blocks {keys['blocks']!r}")
    lab.report(scenario=name, step="handshake", insmod_to_ready_s=time.monotonic() - t,
               memmap_bytes=keys["memmap-bytes"], block_size=keys["block-size"])

    block_size = int(keys["block-size"], 16)
    memmap = int(keys["memmap-bytes"], 16)
    usable_kb = (block_size - memmap) >> 10
    block_kb = block_size >> 10
    target_step_kb = block_kb if memmap_in_target else usable_kb
    g0 = guest_books(lab)
    d0 = dom0_books(lab, domid)
    z0 = counters.zone_present_managed(lab)
    show("before the grow", f"guest {g0}\ndom0 {d0}\nzones {z0}")

    # -- 2. grow one block
    ack, populate_s, ack_s = grow_block(lab, domid, 0, 1, block_size, memmap)
    check(ack == "1 ok 1", f"grow ack {ack!r}, guest state {lab.dom0(f'xenstore-read {h}/guest/state').out.strip()}")
    blocks = lab.dom0(f"xenstore-read {h}/guest/blocks").out.strip()
    check(blocks == "0", f"guest/blocks {blocks!r} after the grow")
    mem_id = WINDOW_BASE // block_size
    out = lab.domu(f"cd /sys/devices/system/memory/memory{mem_id} && echo state=$(cat state) "
                   f"zones=$(cat valid_zones) && grep -i xen_hotmem /proc/iomem; "
                   f"cat /sys/kernel/xen_hotmem/blocks; cat /sys/kernel/xen_hotmem/status; "
                   f"dmesg | grep xen_hotmem | tail -n 12").out
    show("guest after the grow ack", out)
    check("state=online" in out, f"memory{mem_id} is not online")
    check("zones=Movable" in out, f"memory{mem_id} is not in ZONE_MOVABLE")
    check(re.search(rf"{WINDOW_BASE:x}-{WINDOW_BASE + block_size - 1:x} : System RAM \(xen_hotmem\)", out),
          "/proc/iomem has no System RAM (xen_hotmem) for the block")
    m = re.search(r"^0 0x\S+ plugged Movable \d+ (\S+) (ok|bad)$", out, re.M)
    check(m is not None, "sysfs blocks has no plugged Movable line for block 0")
    notes, order = m.groups()
    check(order == "ok" and notes.endswith("going-online,online"), f"notifier notes {notes} ({order})")
    # The kernel's view: the block is present in ZONE_MOVABLE, none of it
    # managed yet (the balloon's online callback holds the usable pages).
    zd = counters.zone_delta(z0, counters.zone_present_managed(lab))
    mov = zd.get("Movable", dict(present=0, managed=0))
    check(mov["present"] == block_size >> 12 and mov["managed"] == 0,
          f"zoneinfo at the grow ack: {zd}, expected Movable present +{block_size >> 12}, managed +0")
    g1 = guest_books(lab)
    check(g1["low_kb"] == usable_kb, f"balloon holds {g1['low_kb']} kB, expected the block's {usable_kb} kB")
    check(g1["MemTotal"] == g0["MemTotal"], f"MemTotal moved before the target did: {g0['MemTotal']} -> {g1['MemTotal']}")

    # The toolstack raises memory/target; the balloon populates the usable
    # pages. A poller in the guest times it from the balloon's target moving
    # to its current reaching it.
    want_kb = g0["target_kb"] + target_step_kb
    lab.domu("(d=/sys/devices/system/xen_memory/xen_memory0; rm -f /tmp/balloon.time; "
             f"while [ $(cat $d/target_kb) != {want_kb} ]; do usleep 20000; done; "
             "t0=$(cut -d' ' -f1 /proc/uptime); "
             f"while [ $(cat $d/info/current_kb) != {want_kb} ]; do usleep 20000; done; "
             "echo $t0 $(cut -d' ' -f1 /proc/uptime) > /tmp/balloon.time) >/dev/null 2>&1 &")
    t = time.monotonic()
    lab.dom0(f"xenstore-write {dom}/memory/target {d0['target'] + target_step_kb}")
    wait_balloon(lab, want_kb)
    target_to_full_s = time.monotonic() - t
    t0, t1 = (float(x) for x in lab.domu("sleep 1; cat /tmp/balloon.time").out.split()[-2:])
    balloon_s = t1 - t0
    g2 = guest_books(lab)
    d2 = dom0_books(lab, domid)
    zd = counters.zone_delta(z0, counters.zone_present_managed(lab))
    show("after the balloon populated", f"guest {g2}\ndom0 {d2}\nzones {zd}")
    # Where the memmap went, from the kernel: inside the block, its pages
    # are present in ZONE_MOVABLE but never managed.
    mov = zd.get("Movable", dict(present=0, unmanaged=0))
    check(mov["present"] == block_size >> 12 and mov["unmanaged"] == memmap >> 12,
          f"zoneinfo after the balloon populated: {zd}, expected Movable present +{block_size >> 12}, "
          f"present - managed +{memmap >> 12} (the memmap inside the block)")
    check(g2["MemTotal"] - g0["MemTotal"] == usable_kb,
          f"MemTotal grew by {g2['MemTotal'] - g0['MemTotal']} kB, expected {usable_kb}")
    check(d2["xl_mib"] - d0["xl_mib"] == block_kb >> 10, f"xl list grew {d0['xl_mib']} -> {d2['xl_mib']} MiB")
    check(d2["tot_pages"] - d0["tot_pages"] == block_size >> 12,
          f"tot_pages grew by {d2['tot_pages'] - d0['tot_pages']}, expected {block_size >> 12}")
    check(g2["low_kb"] == 0, f"balloon still holds {g2['low_kb']} kB")
    drift_kb = (d2["tot_pages"] * 4 - d2["target"]) - (d0["tot_pages"] * 4 - d0["target"])
    if memmap_in_target:
        check(g2["current_kb"] == d2["target"], f"balloon current {g2['current_kb']} kB vs memory/target {d2['target']}")
        check(drift_kb == 0, f"tot_pages - memory/target drifted by {drift_kb} kB")
    fill = lab.domu("mkdir -p /mnt && mount -t tmpfs -o size=300m tmpfs /mnt && "
                    "dd if=/dev/zero of=/mnt/fill bs=1M count=250 2>&1 | tail -n 1; "
                    "rc=$?; grep -E 'MemFree|Shmem:' /proc/meminfo; rm -f /mnt/fill; umount /mnt; exit $rc",
                    timeout=180, check=False)
    show("250 MB tmpfs fill", fill.out)
    lab.report(scenario=name, step="grow", populate_memmap_s=populate_s, request_to_ack_s=ack_s,
               balloon_populate_s=balloon_s, target_write_to_full_s=target_to_full_s,
               memtotal_before_kb=g0["MemTotal"], memtotal_after_kb=g2["MemTotal"],
               xl_mib_before=d0["xl_mib"], xl_mib_after=d2["xl_mib"], tot_pages_before=d0["tot_pages"],
               tot_pages_after=d2["tot_pages"], target_kb=d2["target"], balloon_current_kb=g2["current_kb"],
               target_vs_tot_drift_kb=drift_kb, fill_rc=fill.rc)
    check(fill.rc == 0, "a 250 MB tmpfs fill failed after the grow")

    # -- 3. a plain xl mem-set down by 64 MiB and back up
    top_mib = d2["target"] >> 10
    lab.dom0(f"xl mem-set guest {top_mib - 64}m")
    down_s, down_kb = wait_balloon(lab, g2["target_kb"] - 65536, timeout=60)
    lab.dom0(f"xl mem-set guest {top_mib}m")
    up_s, up_kb = wait_balloon(lab, g2["target_kb"], timeout=60)
    g3 = guest_books(lab)
    d3 = dom0_books(lab, domid)
    refused = lab.dom0("xl dmesg | grep -ci 'over-allocation'; true").out.strip()
    show("after xl mem-set -64m / +64m",
         f"guest {g3}\ndom0 {d3}\nXen 'Over-allocation' lines: {refused}")
    short_kb = g3["target_kb"] - g3["current_kb"]
    lab.report(scenario=name, step="mem-set", down_s=down_s, up_s=up_s, balloon_short_kb=short_kb,
               over_allocation_lines=refused, tot_pages=d3["tot_pages"], max_pages=d3["max_pages"])
    result = {"short_kb": short_kb, "over_allocation": int(refused or 0)}
    if memmap_in_target:
        check(short_kb == 0 and g3["current_kb"] == d2["target"], f"balloon books after mem-set: {g3}")
        check(d3["tot_pages"] == d2["tot_pages"], f"tot_pages {d2['tot_pages']} -> {d3['tot_pages']} after mem-set")
        check(result["over_allocation"] == 0, "Xen refused an allocation after xl mem-set")
    else:
        # Put the balloon back where it was so the shrink below starts clean:
        # maxmem as the grow left it, and a nudge of the target (a balloon
        # that gave up sleeps for an hour unless its credit changes).
        lab.dom0(f"hotmem-lab-mem {domid} maxmem {d2['max_pages'] * 4} && "
                 f"xenstore-write {dom}/memory/target {d2['target'] - 4} && sleep 1 && "
                 f"xenstore-write {dom}/memory/target {d2['target']}")
        wait_balloon(lab, g2["target_kb"], timeout=60)

    # -- 4. shrink: the guest unplugs, then dom0 takes the frames back
    t = time.monotonic()
    lab.dom0(f"xenstore-write {h}/request '2 shrink 1'")
    ack, shrink_ack_s = xs_wait(lab, f"{h}/guest/ack", "2 ok 1")
    check(ack == "2 ok 1", f"shrink ack {ack!r}")
    blocks = lab.dom0(f"xenstore-read {h}/guest/blocks").out.strip()
    check(blocks == "", f"guest/blocks {blocks!r} after the shrink")
    out = lab.domu(f"ls /sys/devices/system/memory/ | grep -c memory{mem_id}$; grep -ci xen_hotmem /proc/iomem; "
                   "cat /sys/kernel/xen_hotmem/blocks", check=False).out
    show("guest after the shrink ack", out)
    m = re.search(r"^0 0x\S+ absent - 0 (\S+) (ok|bad)$", out, re.M)
    check(m is not None and m.group(1).endswith("going-offline,offline,finish-offline") and m.group(2) == "ok",
          f"notifier notes after the shrink: {m.group(0) if m else out}")
    check(out.splitlines()[0].strip() == "0", f"memory{mem_id} still exists")
    g4 = guest_books(lab)
    lab.dom0(f"hotmem-lab-mem {domid} decrease {WINDOW_BASE:#x} {block_size:#x} 0 && "
             f"xenstore-write {dom}/memory/target {d0['target']} && "
             f"xenstore-write {dom}/memory/static-max {d0['static_max']} && "
             f"hotmem-lab-mem {domid} maxmem {d0['max_pages'] * 4}")
    shrink_total_s = time.monotonic() - t
    wait_balloon(lab, g0["target_kb"], timeout=30)
    g5 = guest_books(lab)
    d5 = dom0_books(lab, domid)
    show("after the shrink", f"guest {g5}\ndom0 {d5}")
    check(g5["MemTotal"] == g0["MemTotal"], f"MemTotal {g0['MemTotal']} before the grow, {g5['MemTotal']} after the shrink")
    check(g4["current_kb"] == g4["target_kb"] == g0["target_kb"], f"balloon books at the shrink ack: {g4}")
    check(g5["current_kb"] == g5["target_kb"] == g0["target_kb"], f"balloon books after the target went down: {g5}")
    check(d5["tot_pages"] == d0["tot_pages"] and d5["xl_mib"] == d0["xl_mib"],
          f"dom0 books after the shrink {d5}, before the grow {d0}")
    # All mapped pages, not per size: the xl mem-set of step 3 shatters 2M
    # mappings of boot memory into 4K ones (the total stays). Block 0 is
    # mapped for the first time here, so Xen counts its 2M head (counters.py).
    check(d5["free_pages"] == d0["free_pages"] and d5["p2m_pages"] == d0["p2m_pages"],
          f"Xen after the shrink: {d5['free_pages']} free pages, stage-2 maps {d5['p2m_pages']} pages; before "
          f"the grow {d0['free_pages']}, {d0['p2m_pages']}")
    zd = counters.zone_delta(z0, counters.zone_present_managed(lab))
    check(not zd, f"zoneinfo after the shrink differs from before the grow: {zd}")
    lab.report(scenario=name, step="shrink", request_to_ack_s=shrink_ack_s, total_s=shrink_total_s,
               memtotal_kb=g5["MemTotal"], tot_pages=d5["tot_pages"], xl_mib=d5["xl_mib"])
    result.update(domid=domid, block_size=block_size, memmap=memmap, g0=g0, d0=d0)
    return result


@scenario("driver", "xen_hotmem.ko: handshake, grow, balloon, xl mem-set, shrink, stats, reload")
def driver(lab):
    res = run(lab, memmap_in_target=True)
    domid, block_size, memmap, g0 = res["domid"], res["block_size"], res["memmap"], res["g0"]
    dom = f"/local/domain/{domid}"
    h = f"{dom}/hotmem"

    # -- 5. stats with PSI from the tiny agent
    # The agent feeds the swap lines too, but this toolstack does not offer
    # stats-swap: the stats must stay at five figures (an older toolstack's
    # parser takes no more), though the driver has the figure.
    lab.domu("(while :; do cat /proc/pressure/memory > /sys/kernel/xen_hotmem/psi; "
             "grep ^Swap /proc/meminfo > /sys/kernel/xen_hotmem/swap; sleep 1; done) "
             ">/dev/null 2>&1 &")
    lab.dom0(f"xenstore-write {h}/stats-interval-ms 500")
    time.sleep(3)
    s1 = lab.dom0(f"xenstore-read {h}/guest/stats").out.strip()
    time.sleep(2)
    s2 = lab.dom0(f"xenstore-read {h}/guest/stats").out.strip()
    psi = lab.domu("cat /sys/kernel/xen_hotmem/psi").out.strip()
    swap = lab.domu("cat /sys/kernel/xen_hotmem/swap").out.strip()
    show("guest stats", f"{s1}\n{s2}\nsysfs psi: {psi}\nsysfs swap: {swap}")
    f1, f2 = s1.split(), s2.split()
    check(len(f1) == 5 and len(f2) == 5 and int(f2[0]) > int(f1[0]), f"stats did not count up: {s1!r} -> {s2!r}")
    check(int(f2[1]) == g0["MemTotal"], f"stats MemTotal {f2[1]} vs /proc/meminfo {g0['MemTotal']}")
    check("age_ms -1" not in psi, f"the PSI agent's writes did not arrive: {psi}")
    check(swap.startswith("swapped_kib ") and "age_ms -1" not in swap,
          f"the agent's swap lines did not arrive: {swap!r}")
    lab.report(scenario="driver", step="stats", first=f1[0], second=f2[0], stats=s2)
    lab.dom0(f"xenstore-write {h}/stats-interval-ms 0")

    # -- 6. reload; a block the balloon still holds cannot go
    lab.domu("rmmod xen_hotmem")
    state = lab.dom0(f"xenstore-read {h}/guest/state").out.strip()
    check(state == "closed", f"guest state {state!r} after rmmod")
    lab.domu("insmod /lib/modules/xen_hotmem.ko retry_min_ms=100 retry_max_ms=400 retry_limit=2")
    state, _ = xs_wait(lab, f"{h}/guest/state", "ready", timeout=60)
    ack = lab.dom0(f"xenstore-read {h}/guest/ack").out.strip()
    check(state == "ready" and ack == "2 ok 1", f"after reload: state {state!r}, ack {ack!r}")
    # This time the kernel does not auto-online: the driver onlines the block itself.
    lab.domu("echo offline > /sys/devices/system/memory/auto_online_blocks")
    ack, _, _ = grow_block(lab, domid, 1, 3, block_size, memmap)
    check(ack == "3 ok 1", f"grow after reload: ack {ack!r}")
    line = lab.domu("grep '^1 ' /sys/kernel/xen_hotmem/blocks").out.strip()
    check(re.search(r" plugged Movable \d+ prepare-online,going-online,online ok$", line),
          f"block 1 with auto_online_blocks=offline: {line}")
    kb = counters.memory_blocks(lab).get((WINDOW_BASE + block_size) // block_size, {})
    check(kb.get("state") == "online" and kb.get("zones") == ["Movable"],
          f"the kernel's memory{(WINDOW_BASE + block_size) // block_size} with auto_online_blocks=offline: {kb}")
    t = time.monotonic()
    lab.dom0(f"xenstore-write {h}/request '4 shrink 1'")
    ack, _ = xs_wait(lab, f"{h}/guest/ack", "4 busy 0", timeout=60)
    busy_s = time.monotonic() - t
    status = lab.domu("grep -E '^(retries|last_err|blocks_plugged)' /sys/kernel/xen_hotmem/status; "
                      "grep '^1 ' /sys/kernel/xen_hotmem/blocks").out
    show("shrink while the balloon holds the block", f"ack {ack!r} after {busy_s:.1f} s\n{status}")
    check(ack == "4 busy 0", f"shrink of a block the balloon holds: ack {ack!r}")
    target = int(lab.dom0(f"xenstore-read {dom}/memory/target").out)
    lab.dom0(f"xenstore-write {dom}/memory/target {target + (block_size >> 10)}")
    wait_balloon(lab, g0["target_kb"] + (block_size >> 10))
    lab.dom0(f"xenstore-write {h}/request '5 shrink 1'")
    ack, _ = xs_wait(lab, f"{h}/guest/ack", "5 ok 1")
    check(ack == "5 ok 1", f"shrink once the balloon let go: ack {ack!r}")
    lab.dom0(f"hotmem-lab-mem {domid} decrease {WINDOW_BASE + block_size:#x} {block_size:#x} 0 && "
             f"xenstore-write {dom}/memory/target {target}")
    lab.domu("rmmod xen_hotmem")
    lab.report(scenario="driver", step="reload", busy_ack_s=busy_s, retries=status.split()[1])

    # -- 7. shrink with data on the block: migrated when it fits elsewhere,
    # interrupted by offline_timeout_ms (and acked busy) when it does not
    # retry_limit=0: one attempt per request. The signal that ends an attempt
    # is only seen between migration rounds, and one round moves everything
    # it isolated, so a retry of an interrupted attempt finds the data gone
    # and succeeds: that would make "interrupted" a race with the retry.
    lab.domu("insmod /lib/modules/xen_hotmem.ko offline_timeout_ms=3000 retry_limit=0 "
             "retry_min_ms=100 retry_max_ms=200")
    xs_wait(lab, f"{h}/guest/state", "ready", timeout=60)
    ack, _, _ = grow_block(lab, domid, 2, 6, block_size, memmap)
    check(ack == "6 ok 1", f"grow: ack {ack!r}")
    target = int(lab.dom0(f"xenstore-read {dom}/memory/target").out)
    lab.dom0(f"xenstore-write {dom}/memory/target {target + (block_size >> 10)}")
    wait_balloon(lab, g0["target_kb"] + (block_size >> 10))
    start = WINDOW_BASE + 2 * block_size

    def fill(mb):
        return lab.domu(f"mkdir -p /mnt && (grep -q ' /mnt ' /proc/mounts || mount -t tmpfs -o size=300m tmpfs /mnt) && "
                        f"rm -f /mnt/fill && dd if=/dev/zero of=/mnt/fill bs=1M count={mb} 2>/dev/null; "
                        "grep -E '^(MemFree|Shmem):' /proc/meminfo | tr -s ' ' | tr '\\n' ' '",
                        timeout=120).out.strip()

    # ~100 MB of tmpfs (movable allocations go to ZONE_MOVABLE first). With a
    # 10 ms offline timeout the attempt is interrupted: acked busy.
    params = "/sys/module/xen_hotmem/parameters"
    mem = fill(100)
    lab.domu(f"echo 10 > {params}/offline_timeout_ms")
    lab.dom0(f"xenstore-write {h}/request '7 shrink 1'")
    ack, interrupted_s = xs_wait(lab, f"{h}/guest/ack", "7 busy 0", timeout=120)
    out = lab.domu("grep -E '^(retries|last_err|blocks_plugged)' /sys/kernel/xen_hotmem/status; "
                   "grep '^2 ' /sys/kernel/xen_hotmem/blocks").out
    show("shrink with a 10 ms offline timeout", f"ack {ack!r} after {interrupted_s:.1f} s\n{out}")
    check(ack == "7 busy 0" and " plugged Movable " in out, f"interrupted shrink: ack {ack!r}")
    # With the default timeout the data migrates and the block goes. The
    # interrupted attempt moved the file out of the block already: write it
    # again (the block is the only ZONE_MOVABLE memory, where it goes first).
    mem = fill(100)
    lab.domu(f"echo 30000 > {params}/offline_timeout_ms")
    lab.dom0(f"xenstore-write {h}/request '8 shrink 1'")
    ack, migrate_s = xs_wait(lab, f"{h}/guest/ack", "8 ok 1", timeout=120)
    check(ack == "8 ok 1", f"shrink with 100 MB of tmpfs: ack {ack!r}")
    lab.dom0(f"hotmem-lab-mem {domid} decrease {start:#x} {block_size:#x} 0 && "
             f"xenstore-write {dom}/memory/target {target}")
    lab.report(scenario="driver", step="shrink-migrate", tmpfs_mb=100, interrupted_ack_s=interrupted_s,
               request_to_ack_s=migrate_s, meminfo=mem)

    # 250 MB of tmpfs cannot leave the block: refused before offlining
    # (shrink_reserve_mb), where trying would drive the guest out of memory.
    ack, _, _ = grow_block(lab, domid, 2, 9, block_size, memmap)
    check(ack == "9 ok 1", f"grow: ack {ack!r}")
    lab.dom0(f"xenstore-write {dom}/memory/target {target + (block_size >> 10)}")
    wait_balloon(lab, g0["target_kb"] + (block_size >> 10))
    mem = fill(250)
    lab.dom0(f"xenstore-write {h}/request '10 shrink 1'")
    ack, nomem_s = xs_wait(lab, f"{h}/guest/ack", "10 nomem 0", timeout=120)
    out = lab.domu("grep -E '^(retries|last_err|blocks_plugged)' /sys/kernel/xen_hotmem/status; "
                   "grep '^2 ' /sys/kernel/xen_hotmem/blocks; grep -E '^(MemAvailable|Shmem):' /proc/meminfo").out
    show("shrink while 250 MB of tmpfs sits in the guest", f"ack {ack!r} after {nomem_s:.1f} s\n{out}")
    check(ack == "10 nomem 0", f"shrink of a block that cannot be emptied: ack {ack!r}")
    check(" plugged Movable " in out, "the block did not stay plugged after the refused shrink")
    lab.domu("rm -f /mnt/fill; umount /mnt")
    lab.dom0(f"xenstore-write {h}/request '11 shrink 1'")
    ack, _ = xs_wait(lab, f"{h}/guest/ack", "11 ok 1", timeout=120)
    check(ack == "11 ok 1", f"shrink after the tmpfs went: ack {ack!r}")
    lab.dom0(f"hotmem-lab-mem {domid} decrease {start:#x} {block_size:#x} 0 && "
             f"xenstore-write {dom}/memory/target {target}")
    lab.domu("rmmod xen_hotmem")
    lab.report(scenario="driver", step="shrink-nomem", tmpfs_mb=250, request_to_ack_s=nomem_s, meminfo=mem)


@scenario("driver-usable", "driver steps 1-4 with memmap_in_target=0 (memory/target by usable size)")
def driver_usable(lab):
    res = run(lab, memmap_in_target=False)
    show("memmap_in_target=0", f"balloon short by {res['short_kb']} kB after a plain xl mem-set; "
                               f"{res['over_allocation']} 'Over-allocation' lines from Xen")
