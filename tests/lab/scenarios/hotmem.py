"""Scenarios of issues #4 (guest driver) and #5 (toolstack), run in order on
one shared lab session (ctest fixture lab-session, see tests/lab/CMakeLists.txt
and `lab.py session`): `hotmem-setup` creates the 256 MiB domU, loads
xen_hotmem.ko and records the baseline (Xen's free pages, the domain's
tot_pages and stage-2 mappings, MemTotal, zoneinfo, free memory outside
ZONE_MOVABLE) in lab.state; then `grow` (xl-hotmem grow guest 1g: MemTotal
+8 x 126 MiB, ZONE_MOVABLE present - managed +8 x 512 pages, Xen's tot_pages,
max_pages and stage-2 mappings +1 GiB, its free pages -1 GiB - the P2M pool's
growth), `stress-shrink` (hotmem-memload
fills half the added memory with checksummed data, a shrink migrates it off
the removed blocks, every checksum verifies), `shrink` (back to 256 MiB, Xen's
free frames as before to the page), `notifiers` (MEM_GOING_ONLINE -> MEM_ONLINE
and MEM_GOING_OFFLINE -> MEM_OFFLINE in order per block, from the driver's
sysfs), `xl` (plain xl mem-set down and up after a grow), `crash` (hotmemd
SIGKILLed mid-grow, once while it populates the heads and once while the ack
is awaited, and restarted: fully grown or as before, every frame Xen lost
accounted for by the domain or its P2M pool) and `grow-under-pressure` (a
second domU squeezed to 2 MiB above its min watermark grows by 1 GiB without
OOM kills, the kernel-zone memory the grow takes stays below half of that,
and a shrink gives back every movable block; a classic-memmap domU must do
worse). Waits poll on the machine's own clock with a
deadline; helpers stop leftover workloads by pid (busybox has no pkill). Each scenario puts
the guest back at its boot size when it can, checks its own claims and fails
on its own; every figure is a HOTMEM line. Figures are the guest kernel's
(/proc/meminfo, /proc/zoneinfo, /sys/devices/system/memory) and Xen's own
(debug keys 'q' and 'm', xl list), read through counters.py; what the
driver's sysfs or xl-hotmem say is only ever compared against them."""

import json
import re
import time

from lab import LabError, check, scenario, show
from scenarios import counters

GIB = 1 << 30
MIB = 1 << 20
BALLOON = "/sys/devices/system/xen_memory/xen_memory0"
SYSFS = "/sys/kernel/xen_hotmem"


# ---------------------------------------------------------------- helpers

def domid(lab, name="guest"):
    return int(lab.dom0(f"xl domid {name}").out.strip())


def xen_books(lab, name="guest"):
    """Xen's own view of domain NAME (debug keys 'q' and 'm', counters.py):
    tot_pages, max_pages, its stage-2 mappings (p2m_2m, p2m_4k, p2m_pages),
    the host's free_pages; and xl list's MiB."""
    books = counters.xen_books(lab, domid(lab, name))
    books["xl_mib"] = lab.xl_list()[name]["mem"]
    return books


def check_p2m_growth(lab, name, grew, want, what):
    """Xen's stage-2 mapped pages of domain NAME moved by GREW pages, WANT
    expected (a shrink passes both as positive drops). Exact when the last
    grow's window had not been used before in this session; on a reused one
    Xen 4.17 leaves a superpage uncounted when it replaces a table an earlier
    shrink emptied (counters.xen_domains), and its removal then moves no
    count either, so the figure may fall short by whole 2M (512-page)
    mappings, never more than WANT, never over (measured on main's 1G
    populate: +0 pages on a second grow of the same GiB, -0 on its shrink)."""
    reused = name in lab.state.get("window_used_before", set())
    short = want - grew
    if reused:
        check(0 <= short <= abs(want) and short % 512 == 0,
              f"{what}: Xen's stage-2 maps {grew:+d} pages, expected {want:+d} (short only by uncounted "
              f"superpages on a reused window)")
    else:
        check(grew == want, f"{what}: Xen's stage-2 maps {grew:+d} pages, expected exactly {want:+d}")
    return int(reused)


def hot_blocks(lab, name="guest"):
    """The kernel's hot-plugged memory: indices of the memory blocks online
    in ZONE_MOVABLE (boot memory is never there), from
    /sys/devices/system/memory, not from the driver."""
    return {i for i, b in counters.memory_blocks(lab, name).items()
            if b["state"] == "online" and b["zones"] == ["Movable"]}


def guest_mem(lab):
    """MemTotal/MemFree (kB), free kB outside ZONE_MOVABLE, the balloon's books."""
    out = lab.domu("grep -E '^(MemTotal|MemFree|MemAvailable):' /proc/meminfo; "
                   "awk '/^Node/ { z = $4 } /^  pages free/ { f[z] += $3 } "
                   "END { for (z in f) print \"zone_free_\" z \": \" f[z] * 4 }' /proc/zoneinfo; "
                   f"echo \"balloon_current: $(cat {BALLOON}/info/current_kb)\"; "
                   f"echo \"balloon_target: $(cat {BALLOON}/target_kb)\"").out
    mem = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+)", out, re.M)}
    mem["outside_free_kb"] = sum(v for k, v in mem.items()
                                 if k.startswith("zone_free_") and k != "zone_free_Movable")
    return mem


def blocks(lab):
    """The driver's per-block lines: {index: dict(range, start, end, state,
    zone, memmap, notes, order)}."""
    out = lab.domu(f"cat {SYSFS}/blocks").out
    res = {}
    for m in re.finditer(r"^(\d+) (0x[0-9a-f]+)-(0x[0-9a-f]+) (\S+) (\S+) (\d+) (\S+) (ok|bad)$", out, re.M):
        res[int(m.group(1))] = dict(start=int(m.group(2), 16), end=int(m.group(3), 16), state=m.group(4),
                                    zone=m.group(5), memmap=int(m.group(6)), notes=m.group(7).split(","),
                                    order=m.group(8))
    return res


def plugged(lab):
    """The driver's own view: its blocks in state plugged (scenarios count
    hot-plugged memory with hot_blocks(), the kernel's view)."""
    return {i: b for i, b in blocks(lab).items() if b["state"] == "plugged"}


def xl_hotmem(lab, args, timeout=300, check=True):
    """Run xl-hotmem ARGS in dom0; (Result, seconds). A grow or set marks
    the domain's hot-add window as used (check_p2m_growth)."""
    words = args.split()
    if len(words) >= 2 and words[0] in ("grow", "set"):
        lab.state.setdefault("window_used", set()).add(words[1])
    t = time.monotonic()
    res = lab.dom0(f"xl-hotmem {args}", timeout=timeout, check=check)
    return res, time.monotonic() - t


def info_json(lab):
    """`xl-hotmem --json info guest`, parsed."""
    return json.loads(lab.dom0("xl-hotmem --json info guest").out)


def flat(obj, prefix=""):
    """A JSON value as {dotted.key: leaf}."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(flat(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(flat(v, f"{prefix}{i}."))
        return out
    return {prefix.rstrip("."): obj}


def granted_bytes(info):
    """The hotmem size the toolstack has booked for the domain, from its
    `info --json` (key granted_bytes, at any depth)."""
    for key, value in flat(info).items():
        if key.split(".")[-1] == "granted_bytes":
            return value
    raise AssertionError(f"xl-hotmem info --json has no granted_bytes: {info}")


def wait_guest(lab, cond, what, timeout=180, name="guest"):
    """Poll a shell condition in guest NAME until true (deadline on the
    guest's clock); seconds it took."""
    script = (f"ok() {{ {cond} ; }} >/dev/null 2>&1; t0=$(cut -d' ' -f1 /proc/uptime); "
              f"end=$((${{t0%.*}} + {timeout})); rc=1; while :; do ok && rc=0 && break; "
              f"[ $(cut -d' ' -f1 /proc/uptime | cut -d. -f1) -ge $end ] && break; usleep 100000; done; "
              f"echo \"WAITED $(cut -d' ' -f1 /proc/uptime) $t0\"; exit $rc")
    res = lab.domu(script, name=name, timeout=timeout + 30, check=False)
    m = re.search(r"^WAITED (\S+) (\S+)$", res.out, re.M)
    check(res.rc == 0 and m, f"{name}: {what} not reached in {timeout} s: {res.out.strip()[-300:]}")
    return float(m.group(1)) - float(m.group(2))


def wait_balloon(lab, timeout=120, name="guest"):
    """The balloon of guest NAME took memory/target as dom0 has it now (its
    watch fired) and reached it; seconds it took."""
    target_kb = int(lab.dom0(f"xenstore-read /local/domain/{domid(lab, name)}/memory/target").out)
    return wait_guest(lab, f"[ $(cat {BALLOON}/target_kb) = {target_kb} ] && "
                           f"[ $(cat {BALLOON}/info/current_kb) = {target_kb} ]",
                      f"balloon current == target == {target_kb} kB", timeout, name)


def stop_workloads(lab, name="guest", timeout=120):
    """SIGTERM every hotmem-memload in guest NAME (each verifies, then exits)
    and wait until they are gone and their memory is back."""
    ps = "ps | awk '/[h]otmem-memload/ { print $1 }'"
    lab.domu(f"for p in $({ps}); do kill $p; done; true", name=name)
    wait_guest(lab, f"[ -z \"$({ps})\" ]", "no hotmem-memload left", timeout, name)


def need(lab):
    if "baseline" not in lab.state:
        raise LabError("no baseline: the session's hotmem-setup did not run (lab.session-start)")
    return lab.state["baseline"]


def back_to_boot_size(lab):
    """Shrink the guest's hotmem to 0 if anything is plugged (best effort)."""
    if hot_blocks(lab):
        xl_hotmem(lab, "set guest 0", check=False)


# ---------------------------------------------------------------- setup

@scenario("hotmem-setup", "session setup: domU + xen_hotmem.ko + baseline books")
def hotmem_setup(lab):
    if lab.dom0("command -v xl-hotmem && command -v hotmem-lab-mem", check=False).rc != 0:
        raise LabError("dom0 image lacks xl-hotmem (<cache>/pkg.log) or hotmem-lab-mem (<cache>/build-aarch64.log)")
    lab.create_domu()
    if lab.domu("test -f /lib/modules/xen_hotmem.ko && test -x /usr/local/bin/hotmem-memload", check=False).rc:
        raise LabError("guest image lacks xen_hotmem.ko or hotmem-memload (see <cache>/pkg/dkms-build.log)")
    lab.domu("insmod /lib/modules/xen_hotmem.ko")
    base = dict(xen=xen_books(lab), guest=guest_mem(lab), zones=counters.zone_present_managed(lab))
    lab.state["baseline"] = base
    show("baseline", f"xen {base['xen']}\nguest {base['guest']}")
    lab.report(scenario="hotmem-setup", tot_pages=base["xen"]["tot_pages"], free_pages=base["xen"]["free_pages"],
               xl_mib=base["xen"]["xl_mib"], memtotal_kb=base["guest"]["MemTotal"])


# ---------------------------------------------------------------- grow

def p2m_pool_pages(lab, d):
    """DOMID D's Arm P2M pool in pages (XEN_DOMCTL_get_paging_mempool_size
    through hotmem-lab-mem; `p2m 0` never changes it). Xen prints it nowhere
    else; every frame the pool takes leaves Xen's free pages."""
    out = lab.dom0(f"hotmem-lab-mem {d} p2m 0").out
    return int(re.search(r"p2m_bytes=(\d+)", out).group(1)) >> 12


@scenario("grow", "xl-hotmem grow guest 1g: MemTotal, zoneinfo and Xen's counters move by exactly the blocks")
def grow(lab):
    """A 1 GiB grow, checked against the guest kernel and Xen, never against
    hotmem's own reports: MemTotal grows by the blocks minus the memmap each
    carries inside (8 x 126 MiB for 128 MiB blocks), ZONE_MOVABLE's present
    pages by the blocks and present - managed by exactly that memmap (a
    memmap allocated outside the blocks, the classic layout, leaves it
    unmoved and MemTotal 8 x 2 MiB higher); the memory blocks are online in
    ZONE_MOVABLE; Xen's tot_pages, max_pages and stage-2 mappings grow by
    the 1 GiB granted and its free pages fall by that plus what the P2M pool
    took."""
    base = need(lab)
    d = domid(lab)
    layout = counters.memory_layout(lab)
    check(layout["memmap_on_memory"] in ("Y", "force"),
          f"guest kernel has memory_hotplug.memmap_on_memory={layout['memmap_on_memory']}")
    page_bytes = layout["page_kb"] * 1024
    nblocks = GIB // layout["block_bytes"]
    block_pages = layout["block_bytes"] // page_bytes
    memmap = counters.memmap_on_memory_pages(layout)
    g0, z0, x0 = guest_mem(lab), counters.zone_present_managed(lab), xen_books(lab)
    pool0, hot0 = p2m_pool_pages(lab, d), hot_blocks(lab)
    lab.state["window_used_before"] = set(lab.state.get("window_used", set()))
    v0 = counters.vmstat(lab, ["nr_memmap_pages"])
    res, grow_s = xl_hotmem(lab, "grow guest 1g")
    show("xl-hotmem grow guest 1g", res.out)
    fill_s = wait_balloon(lab)
    g1, z1, x1 = guest_mem(lab), counters.zone_present_managed(lab), xen_books(lab)
    pool1, hot1 = p2m_pool_pages(lab, d), hot_blocks(lab)
    v1 = counters.vmstat(lab, ["nr_memmap_pages"])
    zd = counters.zone_delta(z0, z1)
    show("guest after the grow", lab.domu("grep -i xen_hotmem /proc/iomem; grep -E "
                                          "'^Node|present|managed' /proc/zoneinfo").out +
         f"zone deltas {zd}\nXen before {x0}\nXen after  {x1}\nP2M pool {pool0} -> {pool1} pages")
    new = sorted(hot1 - hot0)
    grew_kb = g1["MemTotal"] - g0["MemTotal"]
    mov = zd.get("Movable", dict(present=0, managed=0, unmanaged=0))
    moved = {k: x1[k] - x0[k] for k in ("tot_pages", "max_pages", "p2m_pages", "p2m_2m", "p2m_4k", "free_pages")}
    info = info_json(lab)
    show("xl-hotmem --json info guest", json.dumps(info, indent=1))
    lab.state["grown"] = dict(g0=g0, g1=g1, x0=x0, x1=x1)
    lab.report(scenario="grow", grow_s=grow_s, fill_after_cli_s=fill_s, s_per_gib=grow_s + fill_s,
               block_bytes=layout["block_bytes"], blocks=len(new), memmap_pages_per_block=memmap,
               memtotal_before_kb=g0["MemTotal"], memtotal_after_kb=g1["MemTotal"], memtotal_grew_kb=grew_kb,
               movable_present_delta=mov["present"], movable_managed_delta=mov["managed"],
               movable_unmanaged_delta=mov["unmanaged"],
               nr_memmap_pages_delta=v1.get("nr_memmap_pages", -1) - v0.get("nr_memmap_pages", 0),
               other_zones_delta=",".join(f"{z}:{v['present']}/{v['managed']}" for z, v in zd.items()
                                          if z != "Movable") or "none",
               xl_mib=x1["xl_mib"], tot_pages_before=x0["tot_pages"], tot_pages_after=x1["tot_pages"],
               max_pages_delta=moved["max_pages"], p2m_pages_delta=moved["p2m_pages"],
               p2m_1g_delta=x1["p2m_1g"] - x0["p2m_1g"], p2m_2m_delta=moved["p2m_2m"], p2m_4k_delta=moved["p2m_4k"],
               window_reused=int("guest" in lab.state.get("window_used_before", set())),
               free_pages_before=x0["free_pages"], free_pages_after=x1["free_pages"],
               xen_free_used_pages=-moved["free_pages"], p2m_pool_delta_pages=pool1 - pool0,
               outside_window_consumed_kb_per_gib=g0["outside_free_kb"] - g1["outside_free_kb"],
               granted_bytes=granted_bytes(info))
    # The guest kernel's books.
    check(len(new) == nblocks, f"{len(new)} memory blocks came online in ZONE_MOVABLE, expected {nblocks}: {new}")
    check(mov["present"] == nblocks * block_pages,
          f"ZONE_MOVABLE present grew by {mov['present']} pages, expected {nblocks} x {block_pages}")
    check(mov["unmanaged"] == nblocks * memmap,
          f"ZONE_MOVABLE present - managed grew by {mov['unmanaged']} pages, expected {nblocks} x {memmap} "
          f"(the memmap inside each block; 0 means it went outside: the classic layout)")
    memmap_delta = v1.get("nr_memmap_pages", -1) - v0.get("nr_memmap_pages", 0)
    check(memmap_delta == nblocks * memmap, f"the kernel's nr_memmap_pages grew by {memmap_delta}, expected "
          f"{nblocks} x {memmap} ({counters.STRUCT_PAGE_BYTES} B struct pages, whole pageblocks)")
    check(all(v["present"] == 0 and v["managed"] == 0 for z, v in zd.items() if z != "Movable"),
          f"zones other than Movable changed: {zd}")
    want_kb = nblocks * (block_pages - memmap) * layout["page_kb"]
    check(grew_kb == want_kb, f"MemTotal grew by {grew_kb} kB, expected exactly {want_kb} kB "
          f"({nblocks} x {(block_pages - memmap) * layout['page_kb'] >> 10} MiB)")
    out = lab.domu("grep -i 'System RAM (xen_hotmem)' /proc/iomem").out
    for idx in new:
        start = idx * layout["block_bytes"]
        check(re.search(rf"^\s*0*{start:x}-0*{start + layout['block_bytes'] - 1:x} : System RAM \(xen_hotmem\)",
                        out, re.M), f"/proc/iomem has no System RAM (xen_hotmem) for memory{idx}")
    # Xen's books: exactly the 1 GiB granted, nothing else.
    granted = GIB // page_bytes
    check(moved["tot_pages"] == granted, f"Xen's tot_pages grew by {moved['tot_pages']}, expected {granted}")
    check(moved["max_pages"] == granted, f"Xen's max_pages grew by {moved['max_pages']}, expected {granted}")
    # Stage 2: every granted page mapped, whatever the extent sizes.
    check_p2m_growth(lab, "guest", moved["p2m_pages"], granted, "grow")
    check(-moved["free_pages"] == granted + pool1 - pool0,
          f"Xen's free pages fell by {-moved['free_pages']}, expected {granted} granted + {pool1 - pool0} P2M pool")
    check(x1["xl_mib"] == base["xen"]["xl_mib"] + 1024, f"xl list {x1['xl_mib']} MiB, expected "
          f"{base['xen']['xl_mib'] + 1024}")
    check(granted_bytes(info) == GIB, f"xl-hotmem info says {granted_bytes(info)} bytes granted, expected 1 GiB")


# ---------------------------------------------------------------- stress-shrink

@scenario("stress-shrink", "half the added memory holds checksummed data; a shrink migrates it, all verify")
def stress_shrink(lab):
    need(lab)
    if len(hot_blocks(lab)) < 8:
        log_out = xl_hotmem(lab, "set guest 1g")[0].out
        show("xl-hotmem set guest 1g (grow did not leave 8 blocks)", log_out)
        wait_balloon(lab)
    p0 = hot_blocks(lab)
    check(len(p0) == 8, f"{len(p0)} blocks plugged before the fill, expected 8")
    stop_workloads(lab)
    ooms0 = oom_kills(lab)
    g0 = guest_mem(lab)
    status = "/tmp/memload.status"
    lab.domu(f"rm -f {status}; hotmem-memload fill 512 {status} >/tmp/memload.log 2>&1 & echo $! > /tmp/memload.pid")
    fill_s = wait_guest(lab, f"grep -q '^filled' {status}", "hotmem-memload filled 512 MiB", timeout=300)
    g1 = guest_mem(lab)
    movable_used_kb = g0.get("zone_free_Movable", 0) - g1.get("zone_free_Movable", 0)
    show("after the fill", lab.domu(f"cat {status}; grep -E '^(MemFree|AnonPages):' /proc/meminfo").out)
    # Three blocks go: ~378 MiB of the data must move (ZONE_MOVABLE is filled first).
    res, shrink_s = xl_hotmem(lab, "shrink guest 384m", timeout=600)
    show("xl-hotmem shrink guest 384m", res.out)
    p1 = hot_blocks(lab)
    lab.domu(f"kill -USR1 $(cat /tmp/memload.pid)")
    wait_guest(lab, f"grep -q '^verify' {status}", "hotmem-memload verify", timeout=300)
    out = lab.domu(f"cat {status}").out
    ooms = oom_kills(lab) - ooms0
    stop_workloads(lab)
    show("verify after the shrink", out)
    m = re.search(r"^verify (ok|bad) pages=(\d+) bad=(\d+)", out, re.M)
    lab.report(scenario="stress-shrink", fill_mib=512, fill_s=fill_s, movable_used_kb=movable_used_kb,
               shrink_s=shrink_s, blocks_before=len(p0), blocks_after=len(p1),
               verify=m.group(1) if m else "none", bad_pages=m.group(3) if m else -1,
               pages=m.group(2) if m else 0, oom_kills=ooms)
    check(movable_used_kb > 400 * 1024, f"only {movable_used_kb} kB of the data went to ZONE_MOVABLE")
    check(len(p0) - len(p1) == 3, f"the shrink removed {len(p0) - len(p1)} blocks, expected 3")
    check(m is not None, "hotmem-memload printed no verify line")
    check(m.group(1) == "ok" and m.group(3) == "0", f"checksums after the shrink: {m.group(0)}")
    check(ooms == 0, f"{ooms} OOM kills during the fill and the shrink")


# ---------------------------------------------------------------- shrink

@scenario("shrink", "back to 256 MiB; Xen's free frames return to the page; the guest still runs")
def shrink(lab):
    base = need(lab)
    x0 = xen_books(lab)
    g0 = guest_mem(lab)
    granted = len(hot_blocks(lab))
    if not granted:
        xl_hotmem(lab, "grow guest 1g")
        wait_balloon(lab)
        granted = len(hot_blocks(lab))
        x0, g0 = xen_books(lab), guest_mem(lab)
    stop_workloads(lab)
    res, shrink_s = xl_hotmem(lab, "set guest 0", timeout=600)
    show("xl-hotmem set guest 0", res.out)
    wait_balloon(lab, timeout=60)
    x1 = xen_books(lab)
    g1 = guest_mem(lab)
    zd = counters.zone_delta(base["zones"], counters.zone_present_managed(lab))
    left = hot_blocks(lab)
    alive = lab.domu("echo still-here; uname -r", check=False)
    b = base["xen"]
    lab.report(scenario="shrink", blocks=granted, shrink_s=shrink_s,
               s_per_gib=shrink_s * GIB / max(granted * 128 * MIB, 1),
               memtotal_before_kb=g0["MemTotal"], memtotal_after_kb=g1["MemTotal"],
               memtotal_boot_kb=base["guest"]["MemTotal"], xl_mib=x1["xl_mib"],
               tot_pages_boot=b["tot_pages"], tot_pages_after=x1["tot_pages"],
               free_pages_boot=b["free_pages"], free_pages_after=x1["free_pages"],
               free_pages_diff=x1["free_pages"] - b["free_pages"], p2m_pages_diff=x1["p2m_pages"] - b["p2m_pages"],
               max_pages_diff=x1["max_pages"] - b["max_pages"], zones_diff=zd or "none")
    check(not left, f"memory blocks still online in ZONE_MOVABLE: {sorted(left)}")
    check(not zd, f"zoneinfo present/managed differ from boot: {zd}")
    # Stage 2 against just before the shrink, not boot (a plain xl mem-set,
    # scenario xl, shatters boot memory's 2M mappings; the total stays).
    # Every page the grow mapped is unmapped; on a reused window Xen's count
    # may miss the same uncounted superpages (check_p2m_growth).
    layout = counters.memory_layout(lab)
    block_pages = layout["block_bytes"] // (layout["page_kb"] * 1024)
    check_p2m_growth(lab, "guest", x0["p2m_pages"] - x1["p2m_pages"], granted * block_pages, "shrink (pages unmapped)")
    check(x1["max_pages"] == b["max_pages"], f"Xen's max_pages {x1['max_pages']}, at boot {b['max_pages']}")
    check(x1["xl_mib"] == b["xl_mib"], f"xl list {x1['xl_mib']} MiB, at boot {b['xl_mib']}")
    check(x1["tot_pages"] == b["tot_pages"], f"tot_pages {x1['tot_pages']}, at boot {b['tot_pages']}")
    check(x1["free_pages"] == b["free_pages"],
          f"Xen free frames {x1['free_pages']}, before the grow {b['free_pages']} "
          f"({x1['free_pages'] - b['free_pages']:+d} pages)")
    check(g1["MemTotal"] == base["guest"]["MemTotal"], f"MemTotal {g1['MemTotal']}, at boot {base['guest']['MemTotal']}")
    check(alive.rc == 0 and "still-here" in alive.out, "the guest does not answer after the shrink")


# ---------------------------------------------------------------- notifiers

ONLINE = ["going-online", "online"]
OFFLINE = ["going-offline", "offline"]


def in_order(notes, seq):
    """SEQ occurs in NOTES as a subsequence, in order."""
    it = iter(notes)
    return all(any(n == s for n in it) for s in seq)


@scenario("notifiers", "MEM_GOING_ONLINE -> MEM_ONLINE and MEM_GOING_OFFLINE -> MEM_OFFLINE per block")
def notifiers(lab):
    need(lab)
    seen = {i: b for i, b in blocks(lab).items() if in_order(b["notes"], ONLINE + OFFLINE)}
    if not seen:  # grow/shrink did not leave a full cycle: make one
        xl_hotmem(lab, "grow guest 256m")
        wait_balloon(lab)
        xl_hotmem(lab, "set guest 0")
        seen = {i: b for i, b in blocks(lab).items() if in_order(b["notes"], ONLINE + OFFLINE)}
    allb = blocks(lab)
    status = lab.domu(f"grep notifier_order_violations {SYSFS}/status").out
    show("driver notifier history", "\n".join(f"{i} {b['state']} {','.join(b['notes'])} {b['order']}"
                                              for i, b in sorted(allb.items())) + "\n" + status)
    violations = int(re.search(r"(\d+)", status).group(1))
    lab.report(scenario="notifiers", blocks_with_cycle=len(seen), blocks_listed=len(allb),
               order_violations=violations)
    check(len(seen) >= 2, f"only {len(seen)} blocks show a full online/offline notifier cycle")
    for i, b in allb.items():
        check(b["order"] == "ok", f"block {i}: notifier order bad: {b['notes']}")
        if b["state"] == "plugged":
            check(b["notes"][-2:] == ONLINE, f"plugged block {i} ends with {b['notes']}")
        # Every online (offline) note is directly preceded by its going-* note.
        for k, n in enumerate(b["notes"]):
            if n in ("online", "offline"):
                check(k > 0 and b["notes"][k - 1] == f"going-{n}", f"block {i}: {n} without going-{n}: {b['notes']}")
    check(violations == 0, f"driver counted {violations} notifier order violations")


# ---------------------------------------------------------------- xl

@scenario("xl", "after xl-hotmem grow, plain xl mem-set down and up and xl list stay coherent")
def xl(lab):
    base = need(lab)
    back_to_boot_size(lab)
    xl_hotmem(lab, "grow guest 512m")
    wait_balloon(lab)
    x0 = xen_books(lab)
    top = x0["xl_mib"]
    check(top == base["xen"]["xl_mib"] + 512, f"xl list {top} MiB after grow 512m")
    lab.dom0(f"xl mem-set guest {top - 64}m")
    down_s = wait_balloon(lab, timeout=120)
    x1 = xen_books(lab)
    lab.dom0(f"xl mem-set guest {top}m")
    up_s = wait_balloon(lab, timeout=120)
    x2 = xen_books(lab)
    g2 = guest_mem(lab)
    over = int(lab.dom0("xl dmesg | grep -ci 'over-allocation'; true").out.strip() or 0)
    show("xl list after mem-set -64m / +64m", lab.dom0("xl list").out)
    res, _ = xl_hotmem(lab, "set guest 0", check=False)
    wait_balloon(lab, timeout=60)
    x3 = xen_books(lab)
    lab.report(scenario="xl", xl_mib_grown=top, xl_mib_down=x1["xl_mib"], xl_mib_up=x2["xl_mib"],
               tot_pages_grown=x0["tot_pages"], tot_pages_down=x1["tot_pages"], tot_pages_up=x2["tot_pages"],
               down_s=down_s, up_s=up_s, balloon_short_kb=g2["balloon_target"] - g2["balloon_current"],
               over_allocation_lines=over, shrink_rc=res.rc, xl_mib_after_shrink=x3["xl_mib"],
               tot_pages_after_shrink=x3["tot_pages"], free_pages_diff=x3["free_pages"] - base["xen"]["free_pages"])
    check(x1["xl_mib"] == top - 64, f"xl list {x1['xl_mib']} MiB after mem-set {top - 64}m")
    check(x0["tot_pages"] - x1["tot_pages"] == (64 * MIB) >> 12,
          f"tot_pages fell by {x0['tot_pages'] - x1['tot_pages']} for 64 MiB")
    check(x2["xl_mib"] == top and x2["tot_pages"] == x0["tot_pages"],
          f"after mem-set back up: {x2['xl_mib']} MiB, tot_pages {x2['tot_pages']} (grown: {x0['tot_pages']})")
    check(g2["balloon_current"] == g2["balloon_target"], f"balloon short after mem-set: {g2}")
    check(res.rc == 0 and x3["xl_mib"] == base["xen"]["xl_mib"], f"xl-hotmem set 0 after mem-set: rc {res.rc}, "
          f"{x3['xl_mib']} MiB\n{res.out}")
    check(x3["tot_pages"] == base["xen"]["tot_pages"] and x3["free_pages"] == base["xen"]["free_pages"],
          f"after the round trip: tot_pages {x3['tot_pages']} (boot {base['xen']['tot_pages']}), Xen free "
          f"{x3['free_pages']} (before the grows {base['xen']['free_pages']})")


# ---------------------------------------------------------------- crash

JOURNAL = "/local/domain/0/hotmem/journal"


# The crash rounds' daemon waits this long for an ack: a 1 GiB shrink takes
# 20-30 s in the lab when the test suite shares the 2 CPUs with it (TCG),
# against the 30 s default meant for hardware; the scenario checks recovery
# from a kill, not speed.
CRASH_ACK_TIMEOUT_MS = 120000


def start_hotmemd(lab, log):
    """hotmemd -F in dom0's background; returns once it answers xl-hotmem.
    Waits for its socket before asking anything: an xl-hotmem that finds no
    socket runs the engine in-process and takes the engine lock, which would
    make the starting daemon refuse to run. A socket left by a SIGKILLed
    daemon is removed first, or it would count as the new one's."""
    lab.dom0(f"rm -f /run/hotmem/hotmemd.sock; (hotmemd -F --ack-timeout-ms {CRASH_ACK_TIMEOUT_MS} >{log} 2>&1 & echo $! >/run/hotmemd.pid); t0=$(cut -d. -f1 /proc/uptime); "
             "until [ -S /run/hotmem/hotmemd.sock ]; do kill -0 $(cat /run/hotmemd.pid) || { cat " + log + "; exit 1; }; "
             "[ $(cut -d. -f1 /proc/uptime) -ge $((t0 + 60)) ] && { cat " + log + "; exit 1; }; usleep 100000; done; "
             "xl-hotmem list >/dev/null", timeout=90)


def crash_round(lab, base, where):
    """One SIGKILL of hotmemd in a 1 GiB grow, WHERE: "populate" (while it
    populates the heads: the restart must roll back) or "ack" (request
    written, the guest paused so that no ack can come: the restarted daemon
    finds it outstanding, and books the ack once the guest runs again).
    Checks the books against Xen, then shrinks back through the daemon."""
    d = domid(lab)
    x0, pool0 = xen_books(lab), p2m_pool_pages(lab, d)
    start_hotmemd(lab, f"/var/log/hotmemd-{where}.log")
    if where == "ack":
        lab.dom0("xl pause guest")
    # One dom0 script starts the grow in the background (its client sees the
    # daemon die) and polls the journal from then on: at the first record
    # that shows the grow at WHERE it SIGKILLs hotmemd.
    want = ("prepare) [ \"${7:-0}\" -ge 1 ] && break;; requested|acked) break;;" if where == "populate"
            else "requested) break;; acked) break;;")
    res = lab.dom0("(xl-hotmem grow guest 1g >/var/log/grow.log 2>&1; echo rc=$? >>/var/log/grow.log) & "
                   f"t0=$(cut -d. -f1 /proc/uptime); while :; do v=$(xenstore-read {JOURNAL}/{d}/op 2>/dev/null); "
                   f"set -- $v; case \"$1\" in {want} esac; "
                   "[ $(cut -d. -f1 /proc/uptime) -ge $((t0 + 60)) ] && { echo never; exit 1; }; done; "
                   "kill -9 $(cat /run/hotmemd.pid); echo \"killed_in=$1 progress=$7\"; "
                   f"hotmem-lab-mem {d} info", timeout=120)
    killed = res.out.strip()
    grow_log = lab.dom0("t0=$(cut -d. -f1 /proc/uptime); until grep -q '^rc=' /var/log/grow.log; do "
                        "[ $(cut -d. -f1 /proc/uptime) -ge $((t0 + 60)) ] && break; usleep 100000; done; "
                        "cat /var/log/grow.log", timeout=90).out
    t = time.monotonic()
    start_hotmemd(lab, f"/var/log/hotmemd-{where}-restarted.log")
    if where == "ack":
        lab.dom0("xl unpause guest")
    # Settled: the restarted engine finished or rolled back what the journal
    # said (no record left), and a grow's blocks were filled.
    settle = lab.dom0(f"t0=$(cut -d. -f1 /proc/uptime); while xenstore-read {JOURNAL}/{d}/op >/dev/null 2>&1; do "
                      "[ $(cut -d. -f1 /proc/uptime) -ge $((t0 + 300)) ] && break; usleep 200000; done; "
                      "xl-hotmem --json info guest", timeout=330).out
    settle_s = time.monotonic() - t
    info = json.loads(settle)
    n = len(hot_blocks(lab))
    if n:
        wait_balloon(lab)
    x1, pool1 = xen_books(lab), p2m_pool_pages(lab, d)
    logs = lab.dom0(f"tail -n 15 /var/log/hotmemd-{where}.log /var/log/hotmemd-{where}-restarted.log",
                    check=False).out
    show(f"hotmemd killed mid-grow ({where}), restarted", f"{killed}\ngrow client: {grow_log}\n{logs}")
    grown = x1["tot_pages"] - x0["tot_pages"]
    # Books == hypervisor: every frame Xen lost went to the domain or its pool.
    unaccounted = (x0["free_pages"] - x1["free_pages"]) - grown - (pool1 - pool0)
    lab.report(scenario="crash", where=where, killed=killed.splitlines()[0], settle_s=settle_s, blocks_after=n,
               granted_bytes=info.get("granted_bytes"), tot_pages_before=x0["tot_pages"],
               tot_pages_after=x1["tot_pages"], free_pages_before=x0["free_pages"],
               free_pages_after=x1["free_pages"], pool_pages_before=pool0, pool_pages_after=pool1,
               unaccounted_pages=unaccounted, outcome="grown" if n == 8 else "as-before" if n == 0 else "partial")
    check("killed_in=" in killed, f"the grow was not caught at {where}: {killed}")
    check(n in (0, 8), f"{n} blocks plugged after the restart: neither before nor fully grown")
    if where == "ack":
        check(n == 8, f"killed while the ack was awaited: {n} blocks, expected the grow to finish")
    block = counters.memory_layout(lab)["block_bytes"]
    check(info.get("granted_bytes") == n * block, f"xl-hotmem records {info.get('granted_bytes')} bytes, guest has {n} blocks")
    check(not info.get("busy") and not info.get("outstanding"), f"engine still busy after the restart: {info}")
    check(grown == n * (block >> 12), f"tot_pages moved by {grown} with {n} blocks plugged")
    check(x1["max_pages"] - x0["max_pages"] == n * (block >> 12),
          f"max_pages moved by {x1['max_pages'] - x0['max_pages']} with {n} blocks plugged")
    check(n or pool1 == pool0, f"rolled back but the P2M pool is {pool1} pages, {pool0} before")
    check(unaccounted == 0, f"{unaccounted} Xen frames neither free nor the domain's nor its pool's")
    # Stage 2: the window was used by earlier scenarios (the grow's rule).
    lab.state["window_used_before"] = {"guest"}
    check_p2m_growth(lab, "guest", x1["p2m_pages"] - x0["p2m_pages"], grown, f"crash ({where})")
    # Back to the boot size, through the restarted daemon; then stop it.
    res = lab.dom0("xl-hotmem set guest 0", timeout=300, check=False)
    if res.rc:
        # What the engine saw: the guest's hotmem keys, the journal, the
        # daemon's log and the driver's last lines.
        show("after the refused set", lab.dom0(
            f"xenstore-ls /local/domain/{d}/hotmem; xenstore-ls {JOURNAL}/{d}; "
            f"tail -n 20 /var/log/hotmemd-{where}-restarted.log", check=False).out)
        show("guest driver", lab.domu("dmesg | grep xen_hotmem | tail -n 25", check=False).out)
    lab.dom0("kill $(cat /run/hotmemd.pid); t0=$(cut -d. -f1 /proc/uptime); "
             "while [ -S /run/hotmem/hotmemd.sock ]; do [ $(cut -d. -f1 /proc/uptime) -ge $((t0 + 60)) ] && exit 1; "
             "usleep 100000; done", timeout=90)
    wait_balloon(lab)
    x2 = xen_books(lab)
    check(res.rc == 0 and x2["xl_mib"] == base["xen"]["xl_mib"], f"set guest 0 after the crash: {res.out}")
    check(x2["free_pages"] == x0["free_pages"] and x2["tot_pages"] == x0["tot_pages"],
          f"after shrinking back: Xen free {x2['free_pages']} (before {x0['free_pages']}), "
          f"tot_pages {x2['tot_pages']} (before {x0['tot_pages']})")


@scenario("crash", "hotmemd SIGKILLed mid-grow and restarted: fully grown or as before, frames conserved")
def crash(lab):
    base = need(lab)
    if lab.dom0("command -v hotmemd", check=False).rc:
        raise LabError("dom0 image has no hotmemd (the arm64 hotmem .deb: <cache>/pkg.log)")
    back_to_boot_size(lab)
    wait_balloon(lab)
    try:
        crash_round(lab, base, "populate")
        crash_round(lab, base, "ack")
    finally:
        lab.dom0("xl unpause guest 2>/dev/null; [ -f /run/hotmemd.pid ] && kill $(cat /run/hotmemd.pid) 2>/dev/null; "
                 "rm -f /run/hotmemd.pid; true", check=False)


# ---------------------------------------------------------------- grow under pressure

def oom_kills(lab, name="guest"):
    return int(lab.domu("dmesg | grep -c 'invoked oom-killer'; true", name=name).out.split()[-1])


# How far above the min watermark grow-under-pressure squeezes: issue 12's
# 2 MiB. The grow's own kernel-zone needs (the linear map's page tables, 4 KiB
# PTEs under Debian's rodata=full: 256 KiB per 128 MiB block) no longer fit
# there, so the driver onlines the grow's first block to a kernel zone and the
# rest's page tables come from it (docs/guest-driver.md, "Growing a squeezed
# guest"). The squeeze lands up to about 1 MiB below what it asks for, and
# once (CI, 840e623) 60 kB above: it asks for PRESSURE_SQUEEZE_SLACK_KB less,
# so that it lands inside the bound the scenario checks.
PRESSURE_ABOVE_MIN_KB = 2048
PRESSURE_SQUEEZE_SLACK_KB = 512


def squeeze_and_grow(lab, name, above_min_kb=PRESSURE_ABOVE_MIN_KB):
    """Squeeze guest NAME to ABOVE_MIN_KB above its min watermark, grow it by
    1 GiB; what happened, measured in the guest without a fork during the
    grow: `hotmem-memload watch` samples, every 10 ms from just before the
    grow until MemTotal shows the 1008 usable MiB, the free pages of every
    zone but Movable (/proc/zoneinfo: the peak memory the grow used outside
    the window) and the OOM kills (/proc/vmstat oom_kill), and then ends the
    squeeze itself. That release matters: hot-added memory is Movable, so
    after the grow the kernel zones are as squeezed as before, and the
    harness's next shell (a fork: kernel stack, page tables) would OOM-kill
    the squeeze; that is the harness, not the grow.

    Watermark boosting is off in the guest meanwhile: after the allocator
    steals a pageblock it raises the min watermark by up to 4 MiB for a while,
    which this close to it makes any allocation (the harness's own shell) OOM
    before the grow even starts. The squeeze then measures the grow, not that
    heuristic."""
    status, watch = "/tmp/squeeze.status", "/tmp/watch.status"
    boost = lab.domu("cat /proc/sys/vm/watermark_boost_factor", name=name).out.strip()
    lab.domu("echo 0 > /proc/sys/vm/watermark_boost_factor", name=name)
    m0 = lab.domu("grep -E '^MemTotal:' /proc/meminfo; "
                  "awk '$1 == \"min\" {s += $2} END {print \"min_watermark_kb=\" s * 4}' /proc/zoneinfo",
                  name=name).out
    min0 = int(re.search(r"min_watermark_kb=(\d+)", m0).group(1))
    memtotal0 = int(re.search(r"MemTotal:\s+(\d+)", m0).group(1))
    ooms0 = oom_kills(lab, name)
    try:
        lab.domu(f"rm -f {status} {watch}; hotmem-memload squeeze {min0 + above_min_kb - PRESSURE_SQUEEZE_SLACK_KB} {status} >/dev/null 2>&1 & "
                 "echo $! >/tmp/squeeze.pid", name=name)
        wait_guest(lab, f"grep -q '^squeezed\\|^error' {status}", "the squeeze", 300, name)
        sq = lab.domu(f"cat {status}; grep -E '^(MemFree|MemAvailable):' /proc/meminfo; "
                      "awk '$1 == \"min\" {s += $2} END {print \"min_watermark_kb=\" s * 4}' /proc/zoneinfo; "
                      f"RELEASE_PID=$(cat /tmp/squeeze.pid) hotmem-memload watch {memtotal0 + 8 * 126 * 1024} "
                      f"{watch} >/dev/null 2>&1 &", name=name).out
        free_kb = int(re.search(r"MemFree:\s+(\d+)", sq).group(1))
        min_kb = int(re.search(r"min_watermark_kb=(\d+)", sq).group(1))
        ooms_squeeze = oom_kills(lab, name) - ooms0
        res, grow_s = xl_hotmem(lab, f"grow {name} 1g", timeout=600, check=False)
        wait_guest(lab, f"grep -q '^watch ' {watch}", "the grow watcher's result", 180, name)
        if res.rc == 0:
            wait_balloon(lab, name=name)
        out = lab.domu(f"grep -E '^MemTotal:' /proc/meminfo; cat {watch}; dmesg | grep -i xen_hotmem | tail -n 5",
                       name=name, check=False).out
        m = re.search(r"peak_used_kb=(-?\d+) oom_kills=(-?\d+) memtotal_kb=\d+ released_alive=(\d)", out)
        ooms_dmesg = oom_kills(lab, name) - ooms0 - ooms_squeeze
    finally:
        lab.domu(f"echo {boost or 15000} > /proc/sys/vm/watermark_boost_factor", name=name, check=False)
    return dict(rc=res.rc, grow_s=grow_s, free_kb=free_kb, min_kb=min_kb, ooms_squeeze=ooms_squeeze,
                ooms=int(m.group(2)) if m else -1, ooms_after_release=ooms_dmesg - (int(m.group(2)) if m else 0),
                alive=bool(m and m.group(3) == "1"), squeezed=sq.splitlines()[0] if sq else "",
                peak_outside_kb=int(m.group(1)) if m else -1, memtotal0=memtotal0,
                memtotal=int(re.search(r"MemTotal:\s+(\d+)", out).group(1)) if "MemTotal" in out else 0,
                cli=res.out.strip().splitlines()[-1:] or [""], log=out)


@scenario("grow-under-pressure", "a guest <= 2 MiB above its min watermark grows by 1 GiB without OOM kills; "
                                 "the classic memmap differs")
def grow_under_pressure(lab):
    """On a domU of its own ("pressure", created from guest.cfg and
    destroyed at the end, so the scenario can run again in the same session
    and a block left in a kernel zone never reaches the next scenario):
    squeeze it to PRESSURE_ABOVE_MIN_KB above its min watermark and grow it
    by 1 GiB. No OOM kill, MemTotal +1008 MiB, and the peak kernel-zone
    memory the grow took (free pages and per-cpu lists of every zone but
    Movable, sampled every 10 ms) below half of the margin: adding 8 blocks
    all movable takes 8 x 65 page-table pages (2080 kB) from the kernel zones
    alone, which at this margin gets through only by the luck of what the
    per-cpu lists hold. Then `xl-hotmem set pressure 0`: every movable
    block leaves, only blocks the driver put in a kernel zone may stay
    (kernel allocations land there), and Xen's tot_pages is the boot size
    plus exactly those blocks."""
    need(lab)
    back_to_boot_size(lab)
    r, sh = None, {}
    try:
        lab.dom0("sed -e 's/^name = .*/name = \"pressure\"/' /etc/xen/guest.cfg > /etc/xen/pressure.cfg")
        lab.create_domu("/etc/xen/pressure.cfg", name="pressure")
        lab.domu("insmod /lib/modules/xen_hotmem.ko", name="pressure")
        boot_tot = xen_books(lab, "pressure")["tot_pages"]
        boot_blocks = set(counters.memory_blocks(lab, "pressure"))
        r = squeeze_and_grow(lab, "pressure")
        show("memmap on memory, squeezed", f"{r['log']}\nxl-hotmem: {r['cli']}")
        st = lab.domu(f"cat {SYSFS}/status", name="pressure").out
        m = re.search(r"^kernel_blocks (\d+)", st, re.M)
        kernel_blocks = int(m.group(1)) if m else 0  # a driver that never picks a kernel zone
        zones = {i: b["zones"] for i, b in counters.memory_blocks(lab, "pressure").items()
                 if i not in boot_blocks and b["state"] == "online"}
        stop_workloads(lab, "pressure")
        res, shrink_s = xl_hotmem(lab, "set pressure 0", timeout=600, check=False)
        left = {i: b["zones"] for i, b in counters.memory_blocks(lab, "pressure").items()
                if i not in boot_blocks}
        sh = dict(rc=res.rc, s=shrink_s, cli=res.out.strip().splitlines()[-1:] or [""], left=left,
                  tot_pages=xen_books(lab, "pressure")["tot_pages"], boot_tot=boot_tot,
                  kernel_blocks=kernel_blocks, zones_after_grow=zones)
    finally:
        lab.dom0("xl destroy pressure; true", timeout=120, check=False)
    grew_kb = r["memtotal"] - r["memtotal0"]
    normal = sorted(i for i, z in sh["zones_after_grow"].items() if z != ["Movable"])
    lab.report(scenario="grow-under-pressure", mode="memmap-on-memory", squeezed=r["squeezed"],
               free_before_grow_kb=r["free_kb"], min_watermark_kb=r["min_kb"],
               above_min_kb=r["free_kb"] - r["min_kb"], grow_rc=r["rc"], grow_s=r["grow_s"],
               peak_outside_window_kb=r["peak_outside_kb"], oom_kills=r["ooms"],
               oom_kills_after_release=r["ooms_after_release"],
               oom_kills_squeeze=r["ooms_squeeze"], workload_alive=int(r["alive"]),
               memtotal_before_kb=r["memtotal0"], memtotal_after_kb=r["memtotal"], memtotal_grew_kb=grew_kb,
               kernel_blocks=sh["kernel_blocks"], blocks_not_movable=len(normal),
               shrink_rc=sh["rc"], shrink_s=sh["s"], blocks_left=len(sh["left"]),
               tot_pages_over_boot=sh["tot_pages"] - sh["boot_tot"], shrink_cli=sh["cli"][0])
    check(r["ooms_squeeze"] == 0, f"the squeeze itself caused {r['ooms_squeeze']} OOM kills")
    check(r["free_kb"] - r["min_kb"] <= PRESSURE_ABOVE_MIN_KB,
          f"the squeeze left {r['free_kb']} kB free, {r['free_kb'] - r['min_kb']} kB above the min watermark")
    check(r["rc"] == 0, f"xl-hotmem grow under pressure failed: {r['cli']}")
    check(r["ooms"] == 0, f"{r['ooms']} OOM kills during the grow")
    check(r["alive"], "the squeezing workload did not survive the grow")
    check(r["ooms_after_release"] == 0, f"{r['ooms_after_release']} OOM kills after the grow")
    check(r["peak_outside_kb"] >= 0, f"no peak from the outside-window sampler: {r['log']}")
    check(grew_kb >= 1008 * 1024 * 0.99, f"MemTotal grew by {grew_kb} kB under pressure, expected >= 1008 MiB - 1 %")
    check(r["peak_outside_kb"] < PRESSURE_ABOVE_MIN_KB // 2,
          f"the grow took {r['peak_outside_kb']} kB of kernel-zone memory at its peak, more than half of the "
          f"{PRESSURE_ABOVE_MIN_KB} kB margin")
    check(len(normal) <= sh["kernel_blocks"],
          f"{len(normal)} hot-added blocks outside ZONE_MOVABLE, the driver chose {sh['kernel_blocks']}")
    check(all(z != ["Movable"] for z in sh["left"].values()),
          f"blocks left in ZONE_MOVABLE after set pressure 0: {sh['left']}")
    check(len(sh["left"]) <= sh["kernel_blocks"],
          f"{len(sh['left'])} blocks left after set pressure 0, only {sh['kernel_blocks']} in a kernel zone")
    check(sh["tot_pages"] - sh["boot_tot"] == len(sh["left"]) * 32768,
          f"Xen's tot_pages {sh['tot_pages']} after set pressure 0: boot {sh['boot_tot']} + "
          f"{len(sh['left'])} blocks left expected")

    # The classic memmap: a second guest booted without memmap_on_memory,
    # the module loaded with allow_classic=1, squeezed the same way. Its
    # memmap (2 MiB per block) comes from the memory outside the window, so
    # it must fail, OOM-kill, or take at least 8 MiB more outside than above.
    # kernel_block_when_short=0 there, so the comparison is the memmap's
    # place alone: with it the classic grow also gets through, its first
    # block's memmap and page tables taken from the squeezed zones and the
    # rest from that block (lab: peak 2124 kB against 484 kB).
    c = None
    try:
        lab.dom0("sed -e 's/^name = .*/name = \"classic\"/' -e 's/ memory_hotplug.memmap_on_memory=1//' "
                 "/etc/xen/guest.cfg > /etc/xen/classic.cfg")
        lab.create_domu("/etc/xen/classic.cfg", name="classic")
        lab.domu("insmod /lib/modules/xen_hotmem.ko allow_classic=1 kernel_block_when_short=0", name="classic")
        c = squeeze_and_grow(lab, "classic")
        show("classic memmap, squeezed", f"{c['log']}\nxl-hotmem: {c['cli']}")
        lab.report(scenario="grow-under-pressure", mode="classic", squeezed=c["squeezed"],
                   free_before_grow_kb=c["free_kb"], min_watermark_kb=c["min_kb"],
                   above_min_kb=c["free_kb"] - c["min_kb"], grow_rc=c["rc"], grow_s=c["grow_s"],
                   peak_outside_window_kb=c["peak_outside_kb"], oom_kills=c["ooms"],
                   oom_kills_squeeze=c["ooms_squeeze"], workload_alive=int(c["alive"]),
                   memtotal_before_kb=c["memtotal0"], memtotal_after_kb=c["memtotal"], cli=c["cli"][0])
    except (LabError, AssertionError) as e:
        lab.report(scenario="grow-under-pressure", mode="classic", error=str(e).splitlines()[0])
        c = dict(error=str(e).splitlines()[0])
    finally:
        lab.dom0("xl destroy classic; true", timeout=120, check=False)
    differs = ("error" in c or c["rc"] != 0 or c["ooms"] > 0 or not c["alive"] or
               c["memtotal"] - c["memtotal0"] < 1008 * 1024 * 0.99 or
               c["peak_outside_kb"] >= r["peak_outside_kb"] + 8192)
    check(differs, f"the classic run did as well as memmap-on-memory: {c} vs {r}")


