"""The kernel's and Xen's own counters, for scenarios that check hotmem's
claims against them instead of against hotmem's own reports (the driver's
sysfs, xl-hotmem's output, the hv backend behind hotmem-lab-mem). Every
figure here is printed by Linux (/proc/zoneinfo, /proc/vmstat, /proc/meminfo,
/sys/devices/system/memory) or by Xen itself (debug keys 'q' and 'm' read back
with `xl dmesg`, `xl info`, xentop); nothing of hotmem runs to produce them.

Import from a scenario file: `from scenarios.counters import
zone_present_managed` (lab.py's folder is on sys.path; scenarios/ is a
namespace package). Registers no scenario.

Xen's debug keys print into Xen's console ring (and on the serial console,
where lab.py ignores "(XEN)" lines); a dump is found again in `xl dmesg` by
the header line Xen prints when the key is handled, and only the newest dump
is parsed, so older ones left in the ring never count."""

import re
import time

PAGE_KB = 4  # the lab's guests and Xen on arm64 use 4 KiB pages


# ---------------------------------------------------------------- Linux

def zone_present_managed(lab, name="guest"):
    """The guest's /proc/zoneinfo per zone, summed over nodes:
    {zone: {"present", "managed", "spanned", "free"}} in pages. For a block
    hot-added with its memmap inside (MHP_MEMMAP_ON_MEMORY) the memmap pages
    are present but never managed; a classic hot-add's memmap comes from
    other memory, so present - managed does not move."""
    out = lab.domu("awk '/^Node/ { z = $4 } "
                   "/^  pages free/ { f[z] += $3 } "
                   "$1 == \"spanned\" { s[z] += $2 } $1 == \"present\" { p[z] += $2 } "
                   "$1 == \"managed\" { m[z] += $2 } "
                   "END { for (z in p) print \"ZONE\", z, p[z], m[z], s[z], f[z] + 0 }' /proc/zoneinfo",
                   name=name).out
    zones = {}
    for m in re.finditer(r"^ZONE (\S+) (\d+) (\d+) (\d+) (\d+)$", out, re.M):
        zones[m.group(1)] = dict(present=int(m.group(2)), managed=int(m.group(3)),
                                 spanned=int(m.group(4)), free=int(m.group(5)))
    if not zones:
        raise AssertionError(f"{name}: no zones parsed from /proc/zoneinfo: {out.strip()[:300]}")
    return zones


def zone_delta(before, after):
    """{zone: {"present", "managed", "unmanaged"}} differences after - before
    of two zone_present_managed() results (unmanaged = present - managed);
    zones that did not change are left out."""
    delta = {}
    for zone in sorted(set(before) | set(after)):
        b = before.get(zone, dict(present=0, managed=0))
        a = after.get(zone, dict(present=0, managed=0))
        d = dict(present=a["present"] - b["present"], managed=a["managed"] - b["managed"])
        d["unmanaged"] = d["present"] - d["managed"]
        if d["present"] or d["managed"]:
            delta[zone] = d
    return delta


def vmstat(lab, keys, name="guest"):
    """Selected /proc/vmstat counters of guest NAME: {key: int}; a key the
    kernel does not have is missing from the result. nr_memmap_pages (6.11+)
    counts the memmap pages allocated after boot, hot-added blocks' among
    them, wherever they were taken from."""
    pattern = "|".join(keys)
    out = lab.domu(f"grep -E '^({pattern}) ' /proc/vmstat; true", name=name).out
    return {k: int(v) for k, v in re.findall(r"^(\w+) (\d+)$", out, re.M)}


def memory_layout(lab, name="guest"):
    """What guest NAME's kernel says about hot-plugged memory:
    block_bytes (/sys/devices/system/memory/block_size_bytes),
    memmap_on_memory (the memory_hotplug parameter: "Y"/"N"/"force"),
    page_kb (from the kernel's own KernelPageSize of a mapping),
    pageblock_pages (Hugepagesize / page size: pageblock_order is the
    PMD order on arm64 with 4 KiB pages)."""
    out = lab.domu("echo block=$(cat /sys/devices/system/memory/block_size_bytes); "
                   "echo mom=$(cat /sys/module/memory_hotplug/parameters/memmap_on_memory); "
                   "awk '/^KernelPageSize:/ { print \"page=\" $2; exit }' /proc/self/smaps; "
                   "awk '/^Hugepagesize:/ { print \"huge=\" $2 }' /proc/meminfo", name=name).out
    kv = dict(re.findall(r"^(\w+)=(\S+)$", out, re.M))
    page_kb = int(kv.get("page", PAGE_KB))
    return dict(block_bytes=int(kv["block"], 16), memmap_on_memory=kv.get("mom", "?"), page_kb=page_kb,
                pageblock_pages=int(kv["huge"]) // page_kb if "huge" in kv else 0)


# sizeof(struct page) on 64-bit Linux without debug options (arm64 6.12 here):
# a 128 MiB block of 4 KiB pages needs 32768 * 64 B = 2 MiB of memmap.
STRUCT_PAGE_BYTES = 64


def memmap_on_memory_pages(layout):
    """Pages of memmap a hot-added block carries inside itself with
    memmap_on_memory, from the guest kernel's numbers (memory_layout(): block
    size, page size, pageblock size): its struct pages, rounded up to whole
    pageblocks (memory_block_memmap_on_memory_pages(), mm/memory_hotplug.c).
    512 for 128 MiB blocks of 4 KiB pages."""
    page_bytes = layout["page_kb"] * 1024
    pages = -(-(layout["block_bytes"] // page_bytes) * STRUCT_PAGE_BYTES // page_bytes)
    align = layout["pageblock_pages"] or 1
    return -(-pages // align) * align


def memory_blocks(lab, name="guest"):
    """/sys/devices/system/memory/memory*: {block index: {"state", "zones"}}
    (valid_zones of an online block names the zone it is in)."""
    out = lab.domu("cd /sys/devices/system/memory && for b in memory*; do "
                   "echo \"BLOCK ${b#memory} $(cat $b/state) $(cat $b/valid_zones)\"; done", name=name).out
    return {int(m.group(1)): dict(state=m.group(2), zones=m.group(3).split())
            for m in re.finditer(r"^BLOCK (\d+) (\S+) ?(.*)$", out, re.M)}


# ---------------------------------------------------------------- Xen

# Xen 4.17's 'q' handler walks every vCPU's inflight-IRQ list without the
# vGIC lock (gic_dump_info). A vCPU that retires an IRQ on another pCPU while
# the walk stands on that entry leaves the walker on an entry that points to
# itself: Xen prints "Inflight irq=N" until N is injected again. When the vCPU
# is dom0's second one and N its call-function IPI (SGI 1), only dom0's first
# vCPU, the one stuck in the walk, could inject it, and Xen never comes back
# (CI run of 2026-12-06, lab.driver: 120 s of "Inflight irq=1 lr=255"). Seen
# before with a domU's timer (44588 "Inflight irq=27" lines). So nothing may
# run while 'q' walks: every running domU is paused and dom0's other CPUs are
# taken offline (PSCI CPU_OFF: an offline vCPU's list does not move), and the
# same dom0 command undoes both whatever the key did. The handler runs inside
# the sysctl, so the dump is complete when `xl debug-keys` returns.
QUIET_KEY = r"""
paused=""
for d in $(xl list | awk 'NR > 1 && $2 != 0 && $5 !~ /p/ { print $2 }'); do
    xl pause "$d" 2>/dev/null && paused="$paused $d"
done
cpus=""
for c in /sys/devices/system/cpu/cpu[1-9]*; do
    [ "$(cat "$c/online" 2>/dev/null)" = 1 ] && echo 0 > "$c/online" && cpus="$cpus $c"
done
xl debug-keys KEY; rc=$?
for c in $cpus; do echo 1 > "$c/online"; done
for d in $paused; do xl unpause "$d"; done
exit $rc
"""


def press_key_quietly(lab, key):
    """Press Xen debug key KEY with every other vCPU still (see QUIET_KEY)."""
    lab.dom0(QUIET_KEY.replace("KEY", key), timeout=120)


def _xen_dump(lab, key, header, tries=3):
    """Press Xen debug key KEY and return the text of the newest dump in
    `xl dmesg`, from the last HEADER line on, "(XEN) " prefixes stripped.
    'q' is pressed with every other vCPU still (QUIET_KEY). Where HEADER has
    a group (the 'q' dump's "now =" stamp), only a dump whose stamp differs
    from the newest one before the press counts: an older dump left in the
    ring never does. Pressed again when the ring lost the header."""
    def newest(out):
        lines = [re.sub(r"^\(XEN\) ?", "", l) for l in out.splitlines()]
        starts = [(i, m) for i, l in enumerate(lines) for m in [re.search(header, l)] if m]
        return (lines, starts[-1]) if starts else (lines, None)

    stamp = None
    if re.compile(header).groups:  # only a stamped header needs the dump before
        _, old = newest(lab.dom0("xl dmesg", timeout=120).out)
        stamp = old[1].groups() if old else None
    for _ in range(tries):
        if key == "q":
            press_key_quietly(lab, key)
        else:
            lab.dom0(f"xl debug-keys {key}", timeout=120)
        for _ in range(10):
            lines, last = newest(lab.dom0("xl dmesg", timeout=120).out)
            if last and (stamp is None or last[1].groups() != stamp):
                return "\n".join(lines[last[0]:])
            time.sleep(0.2)
    raise AssertionError(f"xl dmesg has no new {header!r} after `xl debug-keys {key}` ({tries} tries)")


def xen_domains(lab):
    """Xen's 'q' dump per domain: {domid: {"nr_pages", "max_pages", "p2m_1g",
    "p2m_2m", "p2m_4k"}}. nr_pages is Xen's tot_pages (frames the domain
    owns), max_pages its limit; p2m_* are the domain's stage-2 mappings by
    size (Arm's p2m statistics, which may go negative).

    Caveat on the p2m counts, measured on Xen 4.17: a 2M (or 1G) mapping
    written where an earlier removal left an emptied page table is not
    counted (__p2m_set_entry counts a mapping only over an invalid entry),
    yet a later removal shatters and uncounts it; so on a GFN range mapped,
    unmapped and mapped again, the 2M count drifts low (and may go below 0).
    The 4K count is exact."""
    text = _xen_dump(lab, "q", r"'q' pressed -> dumping domain info \(now = (-?\d+)\)")
    doms = {}
    cur = None
    for line in text.splitlines():
        m = re.search(r"General information for domain (\d+):", line)
        if m:
            cur = doms.setdefault(int(m.group(1)), {})
            continue
        m = re.search(r"p2m mappings for domain (\d+)", line)
        if m:
            cur = doms.setdefault(int(m.group(1)), {})
            continue
        if cur is None:
            continue
        for key in ("nr_pages", "max_pages"):
            m = re.search(rf"\b{key}=(\d+)", line)
            if m:
                cur[key] = int(m.group(1))
        m = re.search(r"^\s*(1G|2M|4K) mappings:\s+(-?\d+)", line)
        if m:
            cur[f"p2m_{m.group(1).lower()}"] = int(m.group(2))
    return doms


def xen_domain_pages(lab, domid):
    """Xen's tot_pages and max_pages of DOMID, from xentop (libxenstat: MEM(k)
    and MAXMEM(k) are the pages times 4 KiB, exact), not from the 'q' dump."""
    names = {int(m.group(2)): m.group(1) for m in
             re.finditer(r"^(\S+)\s+(\d+)\s+\d+\s+\d+\s", lab.dom0("xl list").out, re.M)}
    if domid not in names:
        raise AssertionError(f"xl list has no domain {domid}")
    out = lab.dom0("xentop -b -i 1 -f").out
    m = re.search(rf"^\s*{re.escape(names[domid])}\s+\S+\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)\s", out, re.M)
    if not m:
        raise AssertionError(f"xentop has no line for {names[domid]} (d{domid}): {out[:300]}")
    return dict(tot_pages=int(m.group(1)) // PAGE_KB, max_pages=int(m.group(2)) // PAGE_KB)


def xen_free_pages(lab):
    """Xen's free host pages: the domain heap's free kB of the 'm' dump
    ("Dom heap: N kB free"), cross-checked against `xl info`'s free_memory
    (MiB, rounded down by xl)."""
    text = _xen_dump(lab, "m", r"Physical memory information")
    m = re.search(r"Dom heap: (\d+)kB free", text)
    if not m:
        raise AssertionError(f"Xen's 'm' dump has no 'Dom heap: N kB free': {text[:300]}")
    pages = int(m.group(1)) // PAGE_KB
    info_mib = int(re.search(r"^free_memory\s*:\s*(\d+)", lab.dom0("xl info").out, re.M).group(1))
    if info_mib != pages * PAGE_KB // 1024:
        raise AssertionError(f"Xen's 'm' dump says {pages} free pages, xl info says {info_mib} MiB free")
    return pages


def xen_books(lab, domid):
    """One snapshot of Xen's numbers for DOMID: tot_pages, max_pages (xentop;
    the 'q' dump's nr_pages must agree), p2m mappings (p2m_1g/p2m_2m/p2m_4k/
    p2m_pages) and the host's free_pages."""
    d = xen_domains(lab).get(domid, {})
    if "nr_pages" not in d or "p2m_4k" not in d:
        raise AssertionError(f"Xen's 'q' dump lacks domain {domid}: {d}")
    books = xen_domain_pages(lab, domid)
    if books["tot_pages"] != d["nr_pages"]:
        raise AssertionError(f"d{domid}: xentop says {books['tot_pages']} pages, Xen's 'q' dump {d['nr_pages']}")
    books.update(p2m_1g=d.get("p2m_1g", 0), p2m_2m=d.get("p2m_2m", 0), p2m_4k=d["p2m_4k"])
    books["p2m_pages"] = books["p2m_1g"] * 262144 + books["p2m_2m"] * 512 + books["p2m_4k"]
    books["free_pages"] = xen_free_pages(lab)
    return books
