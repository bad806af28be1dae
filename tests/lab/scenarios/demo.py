"""Scenario "demo" (run by tests/lab/demo.sh): shows the lab to a human. Boots
Xen and dom0, shows `xl info` and `xl list`, creates the 256 MiB domU, and shows
the guest's /proc/meminfo and memory blocks. Growing and shrinking the guest is
a hook (grow_shrink) for the issues that bring them."""

from lab import scenario, show


def grow_shrink(lab):
    """HOOK: grow the guest (xl-hotmem + xen_hotmem.ko), check that MemTotal
    grows and a workload can use it, then shrink it back. Not written yet: the
    toolstack and the guest module come from other issues. Replace this body
    (keep the name) when they land."""
    have_cli = lab.dom0("command -v xl-hotmem", check=False).rc == 0
    have_mod = lab.domu("test -f /lib/modules/xen_hotmem.ko", check=False).rc == 0
    show("grow/shrink", "not implemented yet (hook: tests/lab/scenarios/demo.py grow_shrink)\n"
         f"xl-hotmem in dom0: {'yes' if have_cli else 'no'}; "
         f"xen_hotmem.ko in the guest: {'yes' if have_mod else 'no'}")
    lab.report(scenario="demo", step="grow_shrink", status="todo", xl_hotmem=int(have_cli),
               guest_module=int(have_mod))


@scenario("demo", "show xl info/xl list and the guest's memory (grow/shrink: hook)")
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
