#!/usr/bin/env bash
# The one command that runs every hotmem test on a Debian 12 machine, fresh or
# not: installs what is missing with apt-get (as root, or through sudo),
# configures an ASan+UBSan, -Werror build with clang (which also builds the
# libFuzzer targets), builds it, and runs ctest over the unit, sim, fuzz, pkg and
# lab labels. Before the tests it also builds the tree with gcc and -Werror, no
# sanitizers, twice: as the README's plain `cmake --build` does (Debug) and
# optimised (Release, where gcc's flow analysis warns about other things; the
# figures in docs/ come from a Release build). .ci/run calls exactly this.
#
# A skipped test is not a pass: after ctest, every test ctest did not run
# (exit code 77, a skip regex, disabled) is named and the script exits
# non-zero, unless HOTMEM_ALLOW_SKIP=1 says the skips were asked for.
#
# Knobs (environment): HOTMEM_BUILD_DIR (default build/test),
# HOTMEM_GCC_BUILD_DIR (default build/gcc), HOTMEM_GCC_RELEASE_BUILD_DIR
# (default build/gcc-release), HOTMEM_LAB=0 to leave out the lab (it boots Xen
# under QEMU; the lab's tests are then not registered at all, so not skipped),
# HOTMEM_ALLOW_SKIP=1 to tolerate skipped tests (they are still named),
# HOTMEM_FUZZ_SECONDS (default 40 per fuzz target; 0 only replays the checked-in
# corpora), HOTMEM_JOBS (default: number of CPUs).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${HOTMEM_BUILD_DIR:-$repo/build/test}
gcc_build_dir=${HOTMEM_GCC_BUILD_DIR:-$repo/build/gcc}
gcc_release_build_dir=${HOTMEM_GCC_RELEASE_BUILD_DIR:-$repo/build/gcc-release}
with_lab=${HOTMEM_LAB:-1}
allow_skip=${HOTMEM_ALLOW_SKIP:-0}
fuzz_seconds=${HOTMEM_FUZZ_SECONDS:-40}
jobs=${HOTMEM_JOBS:-$(nproc)}

# device-tree-compiler: tests/cli checks the CLI's device-tree fragment with fdtdump.
# prometheus (promtool) and python3-prometheus-client: tests/obs validate the
# metrics and the alert rules; libsystemd-dev, systemd, util-linux: hotmemd's
# notify/journal support and its tests; dpkg-dev debhelper dh-dkms lintian
# fakeroot: the Debian packages (label pkg).
host_packages=(cmake make gcc clang pkg-config libxen-dev libfdt-dev libyajl-dev libinih-dev binutils
	       python3 go-md2man gnuplot-nox device-tree-compiler
	       prometheus python3-prometheus-client libsystemd-dev systemd util-linux
	       dpkg-dev debhelper dh-dkms lintian fakeroot)
# dwarves (pahole): the lab builds the guest module as DKMS does, BTF included.
lab_packages=(qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio
	      xz-utils zstd bc flex bison kmod dwarves)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
	local missing=() pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "tests/all.sh: installing ${missing[*]}"
	as_root apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
}

install_missing "${host_packages[@]}"
if [ "$with_lab" = 1 ]; then
	install_missing "${lab_packages[@]}"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		as_root dpkg --add-architecture arm64
		as_root apt-get update -q
	fi
fi

lab_flag=OFF
[ "$with_lab" = 1 ] && lab_flag=ON
cmake -S "$repo" -B "$build_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	-DHOTMEM_SANITIZE=ON -DHOTMEM_WERROR=ON -DHOTMEM_FUZZ=ON \
	-DHOTMEM_FUZZ_SECONDS="$fuzz_seconds" -DHOTMEM_LAB="$lab_flag"
cmake --build "$build_dir" -j "$jobs"
cmake -S "$repo" -B "$gcc_build_dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug \
	-DHOTMEM_WERROR=ON -DHOTMEM_LAB=OFF
cmake --build "$gcc_build_dir" -j "$jobs"
cmake -S "$repo" -B "$gcc_release_build_dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release \
	-DHOTMEM_WERROR=ON -DHOTMEM_LAB=OFF
cmake --build "$gcc_release_build_dir" -j "$jobs"

# ctest's own output is left as it is (its summary is the last thing it
# prints); the JUnit file is read afterwards for the tests it did not run.
cd "$build_dir"
junit="$build_dir/Testing/all-sh-junit.xml"
rm -f "$junit"
ctest_rc=0
ctest --output-on-failure -j "$jobs" --output-junit "$junit" || ctest_rc=$?

# One line per test that did not run: "name: why" (status notrun or disabled).
skipped=$(python3 - "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET

for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    if case.get("status") in ("notrun", "disabled"):
        why = case.find("skipped")
        reason = why.get("message") if why is not None else case.get("status")
        print(f"{case.get('name')}: {reason}")
PY
) || {
	echo "tests/all.sh: ctest (exit $ctest_rc) left no readable report $junit" >&2
	exit 1
}

if [ -n "$skipped" ]; then
	count=$(printf '%s\n' "$skipped" | wc -l)
	verdict="FAIL (set HOTMEM_ALLOW_SKIP=1 to accept skips)"
	[ "$allow_skip" = 1 ] && verdict="tolerated (HOTMEM_ALLOW_SKIP=1)"
	echo "tests/all.sh: $count test(s) skipped, $verdict:" >&2
	printf '%s\n' "$skipped" | sed 's/^/  skipped: /' >&2
	[ "$allow_skip" = 1 ] || exit 1
fi
if [ "$ctest_rc" -ne 0 ]; then
	echo "tests/all.sh: ctest failed (exit $ctest_rc)" >&2
	exit "$ctest_rc"
fi
