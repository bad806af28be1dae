#!/usr/bin/env bash
# The one command that runs every hotmem test on a Debian 12 machine, fresh or
# not: installs what is missing with apt-get (as root, or through sudo),
# configures an ASan+UBSan, -Werror build with clang (which also builds the
# libFuzzer targets), builds it, and runs ctest over the unit, sim, fuzz and lab
# labels. Before the tests it also builds the tree as the README's plain
# `cmake --build` does (gcc, -Werror, no sanitizers), since gcc warns where
# clang does not. .ci/run calls exactly this.
#
# Knobs (environment): HOTMEM_BUILD_DIR (default build/test),
# HOTMEM_GCC_BUILD_DIR (default build/gcc), HOTMEM_LAB=0 to
# leave out the lab (it boots Xen under QEMU), HOTMEM_FUZZ_SECONDS (default 60
# per parser), HOTMEM_JOBS (default: number of CPUs).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${HOTMEM_BUILD_DIR:-$repo/build/test}
gcc_build_dir=${HOTMEM_GCC_BUILD_DIR:-$repo/build/gcc}
with_lab=${HOTMEM_LAB:-1}
fuzz_seconds=${HOTMEM_FUZZ_SECONDS:-60}
jobs=${HOTMEM_JOBS:-$(nproc)}

host_packages=(cmake make gcc clang pkg-config libxen-dev libfdt-dev libyajl-dev libinih-dev binutils
	       python3 go-md2man gnuplot-nox)
lab_packages=(qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio
	      device-tree-compiler xz-utils zstd bc flex bison kmod)

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
cmake -S "$repo" -B "$gcc_build_dir" -DCMAKE_C_COMPILER=gcc -DHOTMEM_WERROR=ON -DHOTMEM_LAB=OFF
cmake --build "$gcc_build_dir" -j "$jobs"
cd "$build_dir"
ctest --output-on-failure -j "$jobs"
