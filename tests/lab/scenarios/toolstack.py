"""Scenario "toolstack": hotmem's own dom0 programs, cross-built with
tests/lab/aarch64-toolchain.cmake and copied into dom0 by mkimages.sh, run on
the arm64 dom0 (their shared libraries resolve, the CLI answers). Fails when
the image carries none (the cross build failed or was turned off): a lab
image without hotmem proves nothing."""

from lab import LabError, check, scenario


@scenario("toolstack", "the cross-built xl-hotmem runs in dom0")
def toolstack(lab):
    if lab.dom0("command -v xl-hotmem", check=False).rc != 0:
        raise LabError("dom0 image has no xl-hotmem (see <cache>/build-aarch64.log)")
    arch = lab.dom0("uname -m").out.strip()
    check(arch == "aarch64", f"dom0 runs on {arch}")
    res = lab.dom0("xl-hotmem plan --json 128m")
    check(res.out.lstrip().startswith("{"), f"xl-hotmem plan --json printed: {res.out!r}")
    bad = lab.dom0("xl-hotmem plan 12q", check=False)
    check(bad.rc != 0, "xl-hotmem plan 12q did not fail")
    lab.report(scenario="toolstack", xl_hotmem="ok", plan_bytes=len(res.out))
