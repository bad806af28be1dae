"""Scenario "boot" (ctest lab.boot): the lab itself works. Boots Xen and dom0,
checks `xl info` and `xl list` against the configuration (3 GiB machine, dom0
768 MiB with 2 vCPUs, Xen 4.17), creates the 256 MiB, 1-vCPU domU from
/etc/xen/guest.cfg and checks that Xen, xl and the guest's own /proc/meminfo
agree on its size."""

from lab import check, scenario

DOM0_MIB = 768
DOMU_MIB = 256
MACHINE_MIB = 3072


@scenario("boot", "boot Xen + dom0, create the 256 MiB domU, check xl info/xl list/meminfo")
def boot(lab):
    info = lab.xl_info()
    version = f"{info.get('xen_major')}.{info.get('xen_minor')}"
    check(version == "4.17", f"xl info says Xen {version}, expected 4.17")
    total = int(info["total_memory"])
    free_before = int(info["free_memory"])
    check(MACHINE_MIB - 64 <= total <= MACHINE_MIB, f"total_memory {total} MiB, expected about {MACHINE_MIB}")
    check(total - DOM0_MIB - 128 <= free_before <= total - DOM0_MIB,
          f"free_memory {free_before} MiB with only dom0 ({DOM0_MIB} MiB) running, total {total}")
    check(int(info["nr_cpus"]) == 2, f"nr_cpus {info['nr_cpus']}, expected 2")

    doms = lab.xl_list()
    d0 = doms.get("Domain-0")
    check(d0 is not None, "xl list has no Domain-0")
    check(DOM0_MIB - 8 <= d0["mem"] <= DOM0_MIB and d0["vcpus"] == 2, f"Domain-0 is {d0}, expected ~{DOM0_MIB} MiB, 2 vCPUs")

    lab.create_domu()
    doms = lab.xl_list()
    g = doms.get("guest")
    check(g is not None, f"xl list has no guest after xl create: {doms}")
    check(g["mem"] == DOMU_MIB and g["vcpus"] == 1, f"guest is {g}, expected {DOMU_MIB} MiB, 1 vCPU")
    free_after = int(lab.xl_info()["free_memory"])
    used = free_before - free_after
    check(DOMU_MIB <= used <= DOMU_MIB + 16, f"creating the guest took {used} MiB from Xen's free memory")

    mem = lab.meminfo("guest")
    memtotal = mem["MemTotal"]
    # The guest sees its 256 MiB minus the kernel image and reserved memory.
    check(DOMU_MIB * 1024 * 3 // 4 <= memtotal <= DOMU_MIB * 1024,
          f"guest MemTotal {memtotal} kB, expected 75-100% of {DOMU_MIB} MiB")
    ncpu = lab.domu("grep -c ^processor /proc/cpuinfo").out.strip()
    check(ncpu == "1", f"guest sees {ncpu} CPUs, expected 1")

    lab.report(scenario="boot", xen_version=info.get("xen_version"), total_mib=total,
               free_mib_before=free_before, free_mib_after=free_after, dom0_mib=d0["mem"],
               dom0_vcpus=d0["vcpus"], domu_mib=g["mem"], domu_vcpus=g["vcpus"],
               domu_memtotal_kb=memtotal, domu_memfree_kb=mem["MemFree"])
