"""Scenario "demo" (run by tests/lab/demo.sh): shows the lab to a human. Boots
Xen and dom0, shows `xl info` and `xl list`, creates the 256 MiB domU, and shows
the guest's /proc/meminfo and memory blocks, then grows the guest by 1 GiB with
xl-hotmem, shows its memory again, shrinks it back and prints a summary
(grow_shrink). Anything that keeps it from growing and shrinking the guest
(xl-hotmem or xen_hotmem.ko missing from the images, a balloon that never
reaches its target, MemTotal not back at its boot size) fails the scenario
with one line saying why: the demo never reports a pass it did not show."""

import time

from lab import LabError, check, scenario, show


def grow_shrink(lab):
    """Load xen_hotmem.ko, grow the guest by 1 GiB with xl-hotmem, show its
    memory before and after, shrink it back and print a short summary."""
    if lab.dom0("xl-hotmem -h 2>&1 | grep -qw grow", check=False).rc:
        raise LabError("dom0 image has no xl-hotmem (the arm64 hotmem .deb: <cache>/pkg.log)")
    if lab.domu("test -f /lib/modules/xen_hotmem.ko", check=False).rc:
        raise LabError("guest image has no xen_hotmem.ko (HOTMEM_GUEST_MODULE, <cache>/pkg/dkms-build.log)")
    meminfo = "grep -E '^(MemTotal|MemFree):' /proc/meminfo"
    lab.domu("insmod /lib/modules/xen_hotmem.ko")
    before = lab.meminfo("guest")["MemTotal"]
    show("guest memory before", lab.domu(meminfo).out + lab.dom0("xl list guest").out)
    t = time.monotonic()
    show("xl-hotmem grow guest 1g", lab.dom0("xl-hotmem grow guest 1g", timeout=600).out)
    # The balloon fills the blocks once its target rose: done when it got there.
    res = lab.domu("d=/sys/devices/system/xen_memory/xen_memory0; i=0; while [ $i -lt 1800 ] && "
                   "[ $(cat $d/info/current_kb) != $(cat $d/target_kb) ]; do usleep 100000; i=$((i+1)); done; "
                   "[ $(cat $d/info/current_kb) = $(cat $d/target_kb) ]", timeout=240, check=False)
    grow_s = time.monotonic() - t
    check(res.rc == 0, "the guest's balloon did not reach its target within 180 s of the grow")
    after = lab.meminfo("guest")["MemTotal"]
    check(after > before, f"MemTotal did not grow: {before} kB -> {after} kB")
    show("guest memory after", lab.domu(meminfo).out + lab.dom0("xl list guest").out +
         lab.domu("grep xen_hotmem /proc/iomem | head -n 3; echo ...").out)
    t = time.monotonic()
    show("xl-hotmem set guest 0", lab.dom0("xl-hotmem set guest 0", timeout=600).out)
    shrink_s = time.monotonic() - t
    back = lab.meminfo("guest")["MemTotal"]
    check(back == before, f"MemTotal after the shrink is {back} kB, {before} kB before the grow")
    show("summary", f"MemTotal {before} kB -> {after} kB (+{(after - before) >> 10} MiB) in {grow_s:.1f} s; "
         f"back to {back} kB in {shrink_s:.1f} s")
    lab.report(scenario="demo", step="grow_shrink", memtotal_before_kb=before, memtotal_grown_kb=after,
               memtotal_after_kb=back, grow_s=grow_s, shrink_s=shrink_s)


@scenario("demo", "show the lab, grow the guest by 1 GiB with xl-hotmem, shrink it back")
def demo(lab):
    info = lab.dom0("xl info | grep -E '^(xen_version|total_memory|free_memory|nr_cpus)'").out
    show("xl info", info)
    show("xl list (before)", lab.dom0("xl list").out)
    lab.create_domu()
    show("xl list (with the guest)", lab.dom0("xl list").out)
    show("guest /proc/meminfo", lab.domu("head -n 5 /proc/meminfo").out)
    show("guest memory blocks", lab.domu(
        "cd /sys/devices/system/memory && echo block_size_bytes=0x$(cat block_size_bytes) "
        "memmap_on_memory=$(cat /sys/module/memory_hotplug/parameters/memmap_on_memory) && "
        "for b in memory*; do echo \"$b $(cat $b/state) zones=$(cat $b/valid_zones)\"; done").out)
    if lab.dom0("command -v xl-hotmem", check=False).rc == 0:
        show("xl-hotmem plan 256m (cross-built, running in dom0)", lab.dom0("xl-hotmem plan 256m").out)
    grow_shrink(lab)
    mem = lab.meminfo("guest")
    lab.report(scenario="demo", domu_memtotal_kb=mem["MemTotal"], domu_memfree_kb=mem["MemFree"])
