"""Scenarios of issue #12 ("own the pages"), on the shared lab session after
the grow/shrink scenarios of hotmem.py: with feature populated-blocks dom0
populates whole blocks in the largest extents Xen accepts and the guest hands
their pages to its allocator itself, so the balloon never populates a hotmem
page.

`stage2`: after `xl-hotmem grow guest 1g`, Xen's own stage-2 statistics (debug
key 'q', "p2m mappings for domain N", read back with `xl dmesg`) show at least
99 % of the hot-added MiB in 2M-or-larger mappings; after a shrink and a
second grow still so; the shrink gives every frame back (Xen's free pages to
the page).

`sysfs-cycle`: a grown guest's hotmem blocks are offlined and onlined through
sysfs by someone else than the driver (echo offline, then online_kernel,
online_movable, online; and the kernel's memory-hotplug selftest
mem-on-off-test.sh run as-is under busybox). The driver refuses every such
offline with one log line naming `xl-hotmem shrink`; MemTotal, the balloon's
current/target and Xen's tot_pages do not move; then `xl-hotmem set guest 0`
returns every frame.

Every figure comes from the kernel (/proc/meminfo, sysfs, dmesg) or Xen (`xl
dmesg`, hotmem-lab-mem's domain info from the hypervisor); each is a HOTMEM
line."""

import base64
import os
import re
import subprocess
import tarfile
import time
from pathlib import Path

from lab import LabError, check, scenario, show
from scenarios.integrity import settled_free_pages
from scenarios.hotmem import (BALLOON, GIB, MIB, back_to_boot_size, domid, guest_mem, need, plugged,
                              wait_balloon, xen_books, xl_hotmem)

MEMORY = "/sys/devices/system/memory"
REFUSAL = re.compile(r"xen_hotmem: offline of \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] refused: .*xl-hotmem shrink")
SELFTEST = "tools/testing/selftests/memory-hotplug/mem-on-off-test.sh"


def p2m_of(books):
    """Xen's stage-2 mappings by size, {"1g", "2m", "4k"}, from a snapshot
    of xen_books (one fresh 'q' dump, counters.xen_domains)."""
    return {size: books["p2m_" + size] for size in ("1g", "2m", "4k")}


def large_mib(p):
    """MiB mapped with 2M-or-larger stage-2 entries."""
    return p["1g"] * 1024 + p["2m"] * 2


def grow_and_count(lab, what, reused=False):
    """xl-hotmem grow guest 1g; the p2m statistics before and after, the share
    of the hot-added MiB mapped 2M-or-larger, the CLI's seconds.

    REUSED: the GiB was mapped before and given back. Xen 4.17 leaves the
    emptied stage-2 tables of a shattered range in place, and its statistics
    do not count a block entry written over such a table (lab: after a
    shrink, a second grow of the same GiB moved none of the 1G/2M/4K counts
    while tot_pages grew by the GiB). There the check is that no 4K (or 2M)
    mapping of the GiB is counted and Xen's tot_pages grew by exactly the
    GiB: the frames are mapped, and not with 4K entries."""
    x0 = xen_books(lab)
    p0 = p2m_of(x0)
    res, grow_s = xl_hotmem(lab, "grow guest 1g")
    show(f"xl-hotmem grow guest 1g ({what})", res.out)
    wait_balloon(lab)
    x1 = xen_books(lab)
    p1 = p2m_of(x1)
    delta = {k: p1[k] - p0[k] for k in p0}
    share = (large_mib(p1) - large_mib(p0)) / 1024
    tot = x1["tot_pages"] - x0["tot_pages"]
    lab.report(scenario="stage2", step=what, grow_s=grow_s, p2m_1g_before=p0["1g"], p2m_2m_before=p0["2m"],
               p2m_4k_before=p0["4k"], p2m_1g_after=p1["1g"], p2m_2m_after=p1["2m"], p2m_4k_after=p1["4k"],
               large_share_pct=round(share * 100, 2), tot_pages_grew=tot, reused_range=int(reused))
    check(tot == GIB >> 12, f"{what}: Xen's tot_pages grew by {tot}, expected {GIB >> 12}")
    check(delta["4k"] <= 0.01 * (GIB >> 12), f"{what}: {delta['4k']} more 4K stage-2 mappings")
    if reused and share < 0.99:
        check(delta["4k"] <= 0 and delta["2m"] >= 0 and delta["1g"] >= 0,
              f"{what}: the reused GiB's mappings moved Xen's counts: {delta}")
    else:
        check(share >= 0.99, f"{what}: only {share:.1%} of the hot-added 1024 MiB is mapped 2M-or-larger "
                             f"(p2m before {p0}, after {p1}, delta {delta})")
    return p1


@scenario("stage2", "grow 1g: >= 99 % of the hot-added MiB in 2M-or-larger stage-2 mappings, again after shrink")
def stage2(lab):
    base = need(lab)
    back_to_boot_size(lab)
    wait_balloon(lab, timeout=60)
    d = domid(lab)
    # Exact only on a window this session has not used yet (ctest runs stage2
    # first in the session for that); after other scenarios' grows the
    # reused-window rule applies.
    grow_and_count(lab, "first grow", reused="guest" in lab.state.get("window_used", set()))
    # The domain is attached now (a fresh session attaches at the first grow).
    features = {k: lab.dom0(f"xenstore-read /local/domain/{d}/hotmem/{k}").out.split()
                for k in ("features", "guest/features")}
    show("features", str(features))
    check(all("populated-blocks" in v for v in features.values()),
          f"populated-blocks is not offered and listed: {features}")
    res, shrink_s = xl_hotmem(lab, "set guest 0", timeout=600)
    show("xl-hotmem set guest 0", res.out)
    wait_balloon(lab, timeout=60)
    x = xen_books(lab)
    lab.report(scenario="stage2", step="shrink", shrink_s=shrink_s, free_pages_diff=x["free_pages"] -
               base["xen"]["free_pages"], tot_pages_diff=x["tot_pages"] - base["xen"]["tot_pages"])
    check(x["free_pages"] == base["xen"]["free_pages"] and x["tot_pages"] == base["xen"]["tot_pages"],
          f"after the shrink: Xen free {x['free_pages']} (boot {base['xen']['free_pages']}), tot_pages "
          f"{x['tot_pages']} (boot {base['xen']['tot_pages']})")
    grow_and_count(lab, "second grow", reused=True)
    xl_hotmem(lab, "set guest 0", timeout=600)
    wait_balloon(lab, timeout=60)


# ---------------------------------------------------------------- sysfs cycle

def selftest_text(lab):
    """mem-on-off-test.sh of the kernel's selftests, as Debian ships it in
    linux-source-6.12: kept in <cache>/selftests/, downloaded once with
    apt-get download (only that one file is taken out of the tarball)."""
    dest = lab.cache / "selftests" / "mem-on-off-test.sh"
    if dest.is_file():
        return dest.read_bytes()
    dest.parent.mkdir(parents=True, exist_ok=True)
    debs = sorted(dest.parent.glob("linux-source-6.12_*_all.deb"))
    if not debs:
        subprocess.run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", "linux-source-6.12"],
                       cwd=dest.parent, check=True, capture_output=True, timeout=600)
        debs = sorted(dest.parent.glob("linux-source-6.12_*_all.deb"))
    check(debs, f"apt-get download linux-source-6.12 left no .deb in {dest.parent}")
    deb = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(debs[-1])], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=deb.stdout, mode="r|") as outer:
        for member in outer:
            if member.name.endswith(".tar.xz"):
                with tarfile.open(fileobj=outer.extractfile(member), mode="r|xz") as src:
                    for m in src:
                        if m.name.endswith(SELFTEST):
                            dest.write_bytes(src.extractfile(m).read())
                            break
                break
    deb.stdout.close()
    deb.wait()
    check(dest.is_file(), f"{SELFTEST} not found in {debs[-1]}")
    for extra in debs:
        extra.unlink()
    return dest.read_bytes()


def snapshot(lab):
    g = guest_mem(lab)
    x = xen_books(lab)
    return dict(memtotal=g["MemTotal"], balloon_current=g["balloon_current"], balloon_target=g["balloon_target"],
                tot_pages=x["tot_pages"], free_pages=x["free_pages"])


def block_states(lab, indexes):
    out = lab.domu("; ".join(f"echo {i} $(cat {MEMORY}/memory{i}/state) $(cat {MEMORY}/memory{i}/valid_zones)"
                             for i in indexes)).out
    return {int(m.group(1)): (m.group(2), m.group(3)) for m in re.finditer(r"^(\d+) (\S+) (\S+)", out, re.M)}


def refusals(lab):
    return len(REFUSAL.findall(lab.domu("dmesg").out))


@scenario("sysfs-cycle", "offline/online of hotmem blocks through sysfs by others is refused, nothing is lost")
def sysfs_cycle(lab):
    base = need(lab)
    back_to_boot_size(lab)
    # Free pages from here, settled: domains created and destroyed earlier in
    # the session (grow-under-pressure's own guests) can move Xen's free pages
    # by a page or so after the session's baseline; tot_pages stays the boot one.
    free_start = settled_free_pages(lab)
    xl_hotmem(lab, "grow guest 512m")
    wait_balloon(lab)
    block_size = int(lab.domu(f"cat {MEMORY}/block_size_bytes").out.strip(), 16)
    mem_index = sorted(b["start"] // block_size for b in plugged(lab).values())
    check(len(mem_index) == 4, f"{len(mem_index)} plugged blocks after grow 512m")
    s0 = snapshot(lab)
    r0 = refusals(lab)

    # Offline, then each online variant, on every hotmem block.
    results = []
    for variant in ("online_kernel", "online_movable", "online"):
        for i in mem_index:
            out = lab.domu(f"echo offline > {MEMORY}/memory{i}/state; echo rc_off=$?; "
                           f"echo {variant} > {MEMORY}/memory{i}/state; echo rc_on=$?", check=False).out
            rc_off = int(re.search(r"rc_off=(\d+)", out).group(1))
            rc_on = int(re.search(r"rc_on=(\d+)", out).group(1))
            results.append((variant, i, rc_off, rc_on))
    states = block_states(lab, mem_index)
    r1 = refusals(lab)
    s1 = snapshot(lab)
    show("offline + online_* by hand", "\n".join(f"{v} memory{i}: offline rc {a}, {v} rc {b}" for v, i, a, b in results)
         + f"\nstates {states}\nrefusal lines {r1 - r0}\nbefore {s0}\nafter {s1}")

    # The kernel's own selftest, as shipped, under busybox ($UID is bash's).
    script = selftest_text(lab)
    b64 = base64.b64encode(script).decode()
    body = "\n".join(b64[k:k + 76] for k in range(0, len(b64), 76))
    lab.domu(f"base64 -d > /tmp/mem-on-off-test.sh <<'EOF'\n{body}\nEOF\nchmod +x /tmp/mem-on-off-test.sh")
    st = lab.domu("cd /tmp && UID=0 sh ./mem-on-off-test.sh 2>&1; echo selftest_rc=$?", timeout=600,
                  check=False)
    st_rc = int(re.search(r"selftest_rc=(\d+)", st.out).group(1)) if "selftest_rc=" in st.out else -1
    r2 = refusals(lab)
    s2 = snapshot(lab)
    states2 = block_states(lab, mem_index)
    show("mem-on-off-test.sh", st.out[-3000:])

    res, _ = xl_hotmem(lab, "set guest 0", timeout=600, check=False)
    wait_balloon(lab, timeout=60)
    x = xen_books(lab)
    x["free_pages"] = settled_free_pages(lab)
    lab.report(scenario="sysfs-cycle", blocks=len(mem_index), attempts=len(results),
               offlines_refused=sum(1 for r in results if r[2] != 0), refusal_lines=r1 - r0,
               selftest_rc=st_rc, selftest_refusal_lines=r2 - r1,
               memtotal_before_kb=s0["memtotal"], memtotal_after_kb=s2["memtotal"],
               balloon_current_before_kb=s0["balloon_current"], balloon_current_after_kb=s2["balloon_current"],
               tot_pages_before=s0["tot_pages"], tot_pages_after=s2["tot_pages"],
               set0_rc=res.rc, free_pages_diff=x["free_pages"] - free_start,
               free_pages_boot_diff=x["free_pages"] - base["xen"]["free_pages"],
               tot_pages_diff=x["tot_pages"] - base["xen"]["tot_pages"])
    for v, i, rc_off, rc_on in results:
        check(rc_off != 0, f"{v}: offline of hotmem memory{i} by hand was not refused")
    check(r1 - r0 >= 1, "no refusal log line naming xl-hotmem shrink in the guest's dmesg")
    for i, (state, zones) in {**states, **states2}.items():
        check(state == "online" and zones == "Movable", f"memory{i} is {state} in {zones} after the cycles")
    for k in ("memtotal", "balloon_current", "balloon_target", "tot_pages"):
        check(s1[k] == s0[k] and s2[k] == s0[k], f"{k}: {s0[k]} before, {s1[k]} after the online variants, "
                                                 f"{s2[k]} after the selftest")
    # The selftest offlines a share of the "removable" blocks in glob order:
    # every hotmem block it tried must have been refused (and logged).
    tried = [int(i) for i in re.findall(r"^online->offline memory(\d+)", st.out, re.M) if int(i) in mem_index]
    lab.report(scenario="sysfs-cycle", selftest_hotmem_blocks_tried=len(tried))
    check(not tried or r2 - r1 >= 1, f"the selftest tried hotmem blocks {tried}, no refusal line")
    check(res.rc == 0, f"xl-hotmem set guest 0 after the cycles failed:\n{res.out}")
    check(x["free_pages"] == free_start and x["tot_pages"] == base["xen"]["tot_pages"],
          f"after set 0: Xen free {x['free_pages']} (before the grow {free_start}), tot_pages "
          f"{x['tot_pages']} (boot {base['xen']['tot_pages']})")
