#!/usr/bin/env bash
# mkimages.sh: build the lab's boot images from the tree fetch.sh unpacked:
#   dom0.cpio.gz  dom0's initramfs: static busybox, the Xen tools
#                 (/usr/lib/xen-4.17/bin, xenstore-*), the arm64 libraries they
#                 need (found by walking ELF NEEDED entries) and ld-linux, the Xen
#                 kernel modules (decompressed, in dependency order), xl.conf,
#                 the domU config, kernel and initramfs under /boot/guest, the
#                 harness helpers (hotmem-agent, hotmem-guest, hotmem-unit-start),
#                 the arm64 hotmem .deb unpacked as dpkg would install it
#                 (/usr/sbin/hotmemd, /usr/sbin/xl-hotmem, the unit in
#                 /lib/systemd/system, /etc/hotmem/hotmem.conf), util-linux's
#                 setpriv (hotmem-unit-start runs hotmemd with the unit's
#                 capabilities through it), hotmem-lab-mem cross-built from
#                 tests/lab/tools, and /init (rootfs/dom0-init).
#   domU.cpio.gz  the guest's initramfs: busybox, /init (rootfs/domu-init),
#                 hotmem-agent, and the payload slots: /lib/modules/xen_hotmem.ko
#                 ($HOTMEM_GUEST_MODULE, default the module built from the
#                 xen-hotmem-dkms .deb as DKMS builds it, see dkms_module) and
#                 /usr/local/bin/* (hotmem-memload, the memory
#                 workload cross-built from tools/hotmem-memload.c, plus
#                 $HOTMEM_GUEST_WORKLOAD: files).
#                 zram.ko and its dependencies in /lib/modules (listed in load
#                 order in /etc/hotmem/modules; not loaded at boot).
#   images.env    paths of Xen, the kernel Image and both initramfs for lab.py.
#   pkg/          the Debian packages built from this tree for the lab
#                 (hotmem_VERSION_arm64.deb, xen-hotmem-dkms_VERSION_all.deb,
#                 build.log), by `dpkg-buildpackage -aarm64` on a copy of the
#                 tree against the cache's arm64 tree (debian/rules); rebuilt
#                 when a file of the tree changed. pkg/dkms-build/ is where the
#                 guest module was built from the dkms package's source.
# The lab tools for dom0 (TOOLSTACK_PROGRAMS) come from a cross build of this
# repo with aarch64-toolchain.cmake in <cache>/build-aarch64. --toolstack=auto
# tries both builds and goes on without their output if the tree does not
# build yet; =on makes a failed build, any missing dom0 program or a missing
# guest module fatal, naming what is missing; =off skips them. --build-dir=DIR
# cross-builds in DIR and packages in DIR-pkg instead; --cross-only stops
# after the builds (no images: tests/lab/cross-isolated.sh). Images are rebuilt only when an input changed
# (a hash of all inputs is kept in images/inputs.sha256); --force rebuilds anyway.
# HOTMEM_LAB_WERROR=OFF cross-builds without -Werror (gcc warns more than clang).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${HOTMEM_CACHE:-$REPO/.cache/lab}
OUT=$CACHE/images
CROSS=${CROSS_COMPILE:-aarch64-linux-gnu-}
ROOTFS=$HERE/rootfs
XEN_MODULES=(xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc)
# Kernel modules the domU image carries (not loaded at boot): zram, the swap
# lab.autoscale gives a guest so that it stalls on memory (PSI) instead of
# OOMing; it has no disk.
GUEST_KMODULES=(zram)
# Lab tools to ship in dom0 if the cross build made them (build-dir paths).
# hotmemd and xl-hotmem come from the arm64 hotmem .deb (package_build).
TOOLSTACK_PROGRAMS=(tests/lab/tools/hotmem-lab-mem)
# What dom0 runs from the hotmem package (checked after dpkg -x).
PACKAGE_PROGRAMS=(usr/sbin/hotmemd usr/sbin/xl-hotmem)
# ... and the Xen backend xl-hotmem loads when no hotmemd answers.
PACKAGE_FILES=(usr/lib/aarch64-linux-gnu/hotmem/hv-xen.so)

log() { printf 'mkimages: %s\n' "$*" >&2; }
die() {
	printf 'mkimages: error: %s\n' "$*" >&2
	exit 1
}

# libdir_of SONAME: the directory of the unpacked tree that holds SONAME.
libdir_of() {
	local d
	for d in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu; do
		[[ -e $LAB_ROOT/$d/$1 ]] && echo "$d" && return 0
	done
	return 1
}

# copy_libs STAGE FILE...: copy into STAGE the shared libraries FILEs need,
# transitively, each at its own path under its soname, plus the dynamic linker.
copy_libs() {
	local stage=$1
	shift
	local todo=("$@") seen=" " f lib d
	todo+=("$LAB_ROOT/lib/aarch64-linux-gnu/libgcc_s.so.1") # dlopened by pthread_cancel
	while ((${#todo[@]})); do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		head -c4 "$f" 2>/dev/null | grep -q ELF || continue
		for lib in $("${CROSS}readelf" -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p') \
			$([[ $f == */libgcc_s.so.1 ]] && echo libgcc_s.so.1); do
			[[ $seen == *" $lib "* ]] && continue
			seen+="$lib "
			d=$(libdir_of "$lib") || die "library $lib (needed by ${f#"$LAB_ROOT"}) is not in $LAB_ROOT; add its package to fetch.sh"
			mkdir -p "$stage/$d"
			cp -L "$LAB_ROOT/$d/$lib" "$stage/$d/$lib"
			todo+=("$LAB_ROOT/$d/$lib")
		done
	done
	cp -L "$LAB_ROOT/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1" "$stage/lib/aarch64-linux-gnu/"
	ln -sfn aarch64-linux-gnu/ld-linux-aarch64.so.1 "$stage/lib/ld-linux-aarch64.so.1"
}

# module_file NAME: path (under the modules dir) of module NAME's .ko.xz.
module_file() {
	local f
	f=$(cd "$LAB_MODULES" && find kernel -name "$1.ko.xz" -o -name "$1.ko" | head -n 1)
	[[ -n $f ]] || die "kernel module $1 not found under $LAB_MODULES"
	echo "$f"
}

# add_module STAGE NAME: decompress module NAME and its dependencies (from its
# .modinfo depends=, since the package ships no modules.dep) into STAGE, and
# append them to STAGE/etc/hotmem/modules, dependencies first.
add_module() {
	local stage=$1 name=$2 f base deps dep
	[[ " $MODS_DONE " == *" $name "* ]] && return 0
	f=$(module_file "$name")
	base=$(basename "${f%.xz}")
	mkdir -p "$stage/lib/modules"
	if [[ $f == *.xz ]]; then
		xz -dc "$LAB_MODULES/$f" >"$stage/lib/modules/$base"
	else
		cp "$LAB_MODULES/$f" "$stage/lib/modules/$base"
	fi
	deps=$("${CROSS}readelf" -p .modinfo "$stage/lib/modules/$base" | sed -n 's/.*depends=//p')
	for dep in ${deps//,/ }; do
		add_module "$stage" "$dep"
	done
	echo "$base" >>"$stage/etc/hotmem/modules"
	MODS_DONE+=" $name"
}

# cpio_gz STAGE OUT: pack STAGE as a gzip'ed newc cpio, owned by root,
# reproducible (sorted, no timestamps in gzip).
cpio_gz() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -n -6 >"$2.new"
	mv "$2.new" "$2"
}

# base_tree STAGE: the directories, busybox and agent both images share.
base_tree() {
	local stage=$1
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib,etc,proc,sys,dev,run,tmp,root,var}
	ln -sfn ../run "$stage/var/run"
	cp "$LAB_ROOT/bin/busybox" "$stage/bin/busybox"
	install -m 0755 "$ROOTFS/hotmem-agent" "$stage/sbin/hotmem-agent"
	echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
	echo "root:x:0:" >"$stage/etc/group"
}

build_domu() {
	local stage=$1
	base_tree "$stage"
	install -m 0755 "$ROOTFS/domu-init" "$stage/init"
	if [[ -n $GUEST_MODULE ]]; then
		mkdir -p "$stage/lib/modules"
		cp "$GUEST_MODULE" "$stage/lib/modules/xen_hotmem.ko"
	fi
	local w m
	MODS_DONE=
	mkdir -p "$stage/etc/hotmem"
	: >"$stage/etc/hotmem/modules"
	for m in "${GUEST_KMODULES[@]}"; do add_module "$stage" "$m"; done
	for w in ${GUEST_WORKLOAD[@]+"${GUEST_WORKLOAD[@]}"}; do
		install -m 0755 "$w" "$stage/usr/local/bin/"
	done
	cpio_gz "$stage" "$OUT/domU.cpio.gz"
}

build_dom0() {
	local stage=$1
	base_tree "$stage"
	install -m 0755 "$ROOTFS/dom0-init" "$stage/init"
	install -m 0755 "$ROOTFS/hotmem-guest" "$stage/sbin/hotmem-guest"
	mkdir -p "$stage/usr/lib/xen-4.17/bin" "$stage/etc/xen" "$stage/etc/hotmem" "$stage/boot/guest"
	local bins=() f
	for f in "$LAB_ROOT"/usr/lib/xen-4.17/bin/* "$LAB_ROOT"/usr/bin/xenstore*; do
		if [[ -L $f ]]; then # e.g. usr/bin/xenstore-control -> /usr/lib/xen-4.17/bin/...
			cp -P "$f" "$stage${f#"$LAB_ROOT"}"
			continue
		fi
		head -c4 "$f" | grep -q ELF || continue # python and shell scripts: no interpreter here
		cp "$f" "$stage${f#"$LAB_ROOT"}"
		bins+=("$f")
	done
	for f in ${TOOLSTACK_FILES[@]+"${TOOLSTACK_FILES[@]}"}; do
		install -m 0755 "$f" "$stage/usr/local/bin/"
		bins+=("$f")
	done
	if [[ -n $HOTMEM_DEB ]]; then
		# As dpkg would install it (no maintainer scripts: there is no
		# systemd to enable the unit for; hotmem-unit-start reads it).
		dpkg -x "$HOTMEM_DEB" "$stage" || die "dpkg -x $HOTMEM_DEB failed"
		for f in "${PACKAGE_PROGRAMS[@]}"; do
			[[ -x $stage/$f ]] || die "${HOTMEM_DEB##*/} has no /$f"
			bins+=("$stage/$f")
		done
		for f in "${PACKAGE_FILES[@]}"; do
			[[ -f $stage/$f ]] || die "${HOTMEM_DEB##*/} has no /$f"
			bins+=("$stage/$f") # its libraries go in too
		done
		install -m 0755 "$ROOTFS/hotmem-unit-start" "$stage/sbin/hotmem-unit-start"
		cp "$LAB_ROOT/usr/bin/setpriv" "$stage/usr/bin/setpriv"
		bins+=("$stage/usr/bin/setpriv")
	fi
	copy_libs "$stage" "${bins[@]}"
	MODS_DONE=
	: >"$stage/etc/hotmem/modules"
	local m
	for m in "${XEN_MODULES[@]}"; do add_module "$stage" "$m"; done
	cp "$ROOTFS/xl.conf" "$stage/etc/xen/xl.conf"
	cp "$ROOTFS/guest.cfg" "$stage/etc/xen/guest.cfg"
	cp "$LAB_KERNEL" "$stage/boot/guest/Image"
	cp "$OUT/domU.cpio.gz" "$stage/boot/guest/domU.cpio.gz"
	cpio_gz "$stage" "$OUT/dom0.cpio.gz"
}

# cross_build MODE: cross-build hotmem's dom0 programs for arm64 into
# CROSS_BUILD_DIR (default <cache>/build-aarch64) and fill TOOLSTACK_FILES with
# them. Only those targets are built (the host-only parts, like the simulator,
# are not needed in dom0), with -Werror like every build of the tree. With
# MODE on every program of TOOLSTACK_PROGRAMS must come out, or it dies naming
# the missing ones; with auto a failed build leaves dom0 without them.
cross_build() {
	local mode=$1 bdir=${CROSS_BUILD_DIR%/} p targets=() missing=()
	local blog=$bdir.log
	TOOLSTACK_FILES=()
	[[ $mode == off ]] && return 0
	log "cross-building hotmem's dom0 programs for arm64 in $bdir"
	# A cache shared by several checkouts (HOTMEM_CACHE) holds the build
	# directory of whichever configured it last; CMake refuses another source.
	local home
	home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$bdir/CMakeCache.txt" 2>/dev/null || true)
	if [[ -n $home && $(realpath -m "$home") != $(realpath -m "$REPO") ]]; then
		log "$bdir was configured for $home: starting it again for $REPO"
		rm -rf "$bdir"
	fi
	if cmake -S "$REPO" -B "$bdir" -DCMAKE_TOOLCHAIN_FILE="$HERE/aarch64-toolchain.cmake" \
		-DHOTMEM_CACHE="$CACHE" -DBUILD_TESTING=OFF -DHOTMEM_SANITIZE=OFF -DHOTMEM_LAB=OFF \
		-DHOTMEM_WERROR="${HOTMEM_LAB_WERROR:-ON}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$blog" 2>&1; then
		local known
		known=$(cmake --build "$bdir" --target help 2>/dev/null || true)
		for p in "${TOOLSTACK_PROGRAMS[@]}"; do
			if grep -qxF "... ${p##*/}" <<<"$known"; then
				targets+=("${p##*/}")
			else
				missing+=("${p##*/} (no such target)")
			fi
		done
		if ((${#targets[@]})) &&
			cmake --build "$bdir" -j "$(nproc)" --target "${targets[@]}" >>"$blog" 2>&1; then
			for p in "${TOOLSTACK_PROGRAMS[@]}"; do
				if [[ -x $bdir/$p ]]; then
					TOOLSTACK_FILES+=("$bdir/$p")
				elif [[ " ${targets[*]} " == *" ${p##*/} "* ]]; then
					missing+=("${p##*/} (built, but no $bdir/$p)")
				fi
			done
			if [[ $mode == on ]] && ((${#missing[@]})); then
				die "--toolstack=on: dom0 program(s) missing: ${missing[*]}"
			fi
			((${#missing[@]})) && log "WARNING: dom0 gets no ${missing[*]}"
			log "hotmem programs for dom0: ${TOOLSTACK_FILES[*]##*/}"
			return 0
		fi
		((${#targets[@]})) || echo "no target among: ${TOOLSTACK_PROGRAMS[*]##*/}" >>"$blog"
	fi
	tail -n 15 "$blog" >&2
	[[ $mode == on ]] && die "--toolstack=on: the arm64 cross build of the dom0 programs failed (full log: $blog)"
	log "WARNING: cross build failed (log: $blog); dom0 gets no hotmem programs"
}

# build_guest_programs: cross-build the guest's own programs (static, no libc
# in the domU image) into <cache>/build-guest and append them to
# GUEST_WORKLOAD. A compile error is fatal: the file is ours and tiny.
build_guest_programs() {
	local bdir=$CACHE/build-guest src=$HERE/tools/hotmem-memload.c
	mkdir -p "$bdir"
	if [[ ! -x $bdir/hotmem-memload || $src -nt $bdir/hotmem-memload ]]; then
		"${CROSS}gcc" -static -O2 -Wall -Wextra -Werror -o "$bdir/hotmem-memload.new" "$src" ||
			die "tools/hotmem-memload.c did not cross-build"
		mv "$bdir/hotmem-memload.new" "$bdir/hotmem-memload"
	fi
	GUEST_WORKLOAD+=("$bdir/hotmem-memload")
}

# tree_files: the files of this tree a package is built from (NUL-separated,
# relative to REPO): what git tracks or would track, minus build trees; from a
# tree without git, every file but build/ and .cache/.
tree_files() {
	local f
	if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$REPO" ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
			[[ $f == build/* || ! -f $REPO/$f ]] || printf '%s\0' "$f"
		done
	else
		(cd "$REPO" && find . -path ./build -prune -o -path ./.cache -prune -o -type f -printf '%P\0')
	fi
}

# package_build MODE: the Debian packages of this tree for the lab, in PKG_DIR:
# `dpkg-buildpackage -aarm64 -Pcross,nocheck -d -us -uc -b` on a copy of the
# tree (debian/rules cross-builds against the cache's arm64 tree because
# HOTMEM_CACHE is set; -d because the arm64 build dependencies are that tree,
# not installed packages). Rebuilt only when a file of the tree changed (a
# hash in PKG_DIR/tree.sha256). Sets HOTMEM_DEB (arm64) and DKMS_DEB (all), or
# leaves them empty (MODE off; auto after a failed build, with a warning).
package_build() {
	local mode=$1 plog=$PKG_DIR.log sum version
	HOTMEM_DEB='' DKMS_DEB=''
	[[ $mode == off ]] && return 0
	version=$(sed -n 's/^project(hotmem VERSION \([0-9.]*\).*/\1/p' "$REPO/CMakeLists.txt")
	[[ -n $version ]] || die "no project(hotmem VERSION ...) in $REPO/CMakeLists.txt"
	sum=$( (cd "$REPO" && tree_files | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)
	local hotmem=$PKG_DIR/hotmem_${version}_arm64.deb dkms=$PKG_DIR/xen-hotmem-dkms_${version}_all.deb
	if [[ -f $PKG_DIR/tree.sha256 && $(cat "$PKG_DIR/tree.sha256") == "$sum" && -f $hotmem && -f $dkms ]]; then
		log "packages up to date in $PKG_DIR"
		HOTMEM_DEB=$hotmem DKMS_DEB=$dkms
		return 0
	fi
	log "building the hotmem $version packages (arm64 + dkms) in $PKG_DIR"
	local t0=$SECONDS
	rm -rf "$PKG_DIR"
	mkdir -p "$PKG_DIR/src"
	(cd "$REPO" && tree_files | tar --null -T - -cf -) | tar -C "$PKG_DIR/src" -xf - ||
		die "could not copy the tree into $PKG_DIR/src"
	if (cd "$PKG_DIR/src" && HOTMEM_CACHE=$CACHE DEB_BUILD_OPTIONS=nocheck \
		dpkg-buildpackage -aarm64 -Pcross,nocheck -d -us -uc -b) >"$plog" 2>&1 &&
		[[ -f $hotmem && -f $dkms ]]; then
		echo "$sum" >"$PKG_DIR/tree.sha256"
		HOTMEM_DEB=$hotmem DKMS_DEB=$dkms
		log "built ${hotmem##*/} and ${dkms##*/} in $((SECONDS - t0)) s"
		return 0
	fi
	tail -n 15 "$plog" >&2
	[[ $mode == on ]] && die "--toolstack=on: the arm64 hotmem packages did not build (full log: $plog)"
	log "WARNING: the hotmem packages did not build (log: $plog); dom0 gets no hotmemd/xl-hotmem," \
		"the guest no xen_hotmem.ko"
}

# dkms_make BUILD SOURCE_TREE: in BUILD, source its dkms.conf with the
# variables dkms gives it, run MAKE[0] (its output on stderr) and print
# BUILT_MODULE_NAME[0]. Variables the file reads look unused to shellcheck.
# shellcheck disable=SC2034
dkms_make() {
	local kernelver=$KERNEL_RELEASE kernel_source_dir=$LAB_HEADERS dkms_tree=$PKG_DIR source_tree=$2 arch=aarch64
	local MAKE=() BUILT_MODULE_NAME=()
	cd "$1" || return 1
	# shellcheck source=/dev/null
	source ./dkms.conf || return 1
	echo "dkms.conf MAKE[0]: ${MAKE[0]}" >&2
	export ARCH=arm64 CROSS_COMPILE=$CROSS
	eval "${MAKE[0]}" >&2 || return 1
	echo "${BUILT_MODULE_NAME[0]}"
}

# dkms_module MODE: build the guest's xen_hotmem.ko the way DKMS builds it from
# the xen-hotmem-dkms package (DKMS_DEB): the package unpacked (dpkg -x), its
# /usr/src/NAME-VERSION copied to a build folder (as dkms copies it to
# /var/lib/dkms/NAME/VERSION/build), its dkms.conf sourced with the variables
# dkms sets (kernelver, kernel_source_dir: the lab's 6.12 arm64 headers) and
# MAKE[0] run there as written; ARCH and CROSS_COMPILE come from the
# environment, as for any cross-built Kbuild module. Sets GUEST_MODULE to
# BUILT_MODULE_NAME[0].ko, or dies (MODE on) / warns (auto).
dkms_module() {
	local mode=$1 mlog=$PKG_DIR/dkms-build.log unpacked=$PKG_DIR/dkms-root build=$PKG_DIR/dkms-build
	GUEST_MODULE=
	[[ -n $DKMS_DEB ]] || return 0
	rm -rf "$unpacked" "$build"
	dpkg -x "$DKMS_DEB" "$unpacked" || die "dpkg -x $DKMS_DEB failed"
	local conf
	conf=$(find "$unpacked/usr/src" -mindepth 2 -maxdepth 2 -name dkms.conf | head -n 1)
	[[ -n $conf ]] || die "${DKMS_DEB##*/} has no /usr/src/*/dkms.conf"
	cp -a "$(dirname "$conf")" "$build"
	log "building xen_hotmem.ko as DKMS would, from ${conf#"$unpacked"}, against $LAB_HEADERS"
	local name
	# dkms.conf is shell: evaluate it in a subshell with dkms's variables, then
	# run its MAKE[0] in the build folder.
	if name=$(dkms_make "$build" "$unpacked/usr/src" 2>"$mlog") && [[ -n $name && -f $build/$name.ko ]]; then
		GUEST_MODULE=$build/$name.ko
		log "guest module: ${GUEST_MODULE#"$CACHE/"} ($(sed -n 's/^dkms.conf MAKE\[0\]: //p' "$mlog"))"
		return 0
	fi
	tail -n 15 "$mlog" >&2
	[[ $mode == on ]] && die "--toolstack=on: xen_hotmem.ko did not build from ${DKMS_DEB##*/} (full log: $mlog)"
	log "WARNING: xen_hotmem.ko did not build from ${DKMS_DEB##*/} (log: $mlog); the guest image gets none"
}

main() {
	local force=0 toolstack=auto cross_only=0
	CROSS_BUILD_DIR=$CACHE/build-aarch64
	PKG_DIR=
	while (($#)); do
		case $1 in
		--force) force=1 ;;
		--toolstack=*) toolstack=${1#*=} ;;
		--build-dir=*) CROSS_BUILD_DIR=${1#*=} PKG_DIR=${1#*=}-pkg ;;
		--cross-only) cross_only=1 ;;
		-h | --help)
			sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
			echo "usage: $0 [--force] [--toolstack=auto|on|off] [--build-dir=DIR] [--cross-only]"
			return 0
			;;
		*) die "unknown option $1 (try --help)" ;;
		esac
		shift
	done
	[[ $toolstack =~ ^(auto|on|off)$ ]] || die "--toolstack must be auto, on or off"
	[[ -f $CACHE/lab.env ]] || die "$CACHE/lab.env missing: run tests/lab/fetch.sh first"
	# shellcheck source=/dev/null
	source "$CACHE/lab.env"
	for f in "$LAB_XEN" "$LAB_KERNEL" "$LAB_ROOT/bin/busybox"; do
		[[ -f $f ]] || die "$f missing: run tests/lab/fetch.sh again"
	done
	command -v "${CROSS}readelf" >/dev/null || die "${CROSS}readelf not found (apt-get install binutils-aarch64-linux-gnu)"
	command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"

	PKG_DIR=${PKG_DIR:-$CACHE/pkg}
	PKG_DIR=${PKG_DIR%/}

	if ((cross_only)); then
		[[ $toolstack != off ]] || die "--cross-only needs --toolstack=auto or on"
		cross_build "$toolstack"
		package_build "$toolstack"
		return 0
	fi

	package_build "$toolstack"
	if [[ -n ${HOTMEM_GUEST_MODULE+set} ]]; then
		GUEST_MODULE=$HOTMEM_GUEST_MODULE
	else
		dkms_module "$toolstack"
	fi
	[[ -z $GUEST_MODULE || -f $GUEST_MODULE ]] || die "HOTMEM_GUEST_MODULE=$GUEST_MODULE: no such file"
	[[ $toolstack != on || -n $GUEST_MODULE ]] ||
		die "--toolstack=on: no xen_hotmem.ko for the guest image (HOTMEM_GUEST_MODULE is empty)"
	GUEST_WORKLOAD=()
	read -ra GUEST_WORKLOAD <<<"${HOTMEM_GUEST_WORKLOAD-}"
	for f in ${GUEST_WORKLOAD[@]+"${GUEST_WORKLOAD[@]}"}; do
		[[ -f $f ]] || die "HOTMEM_GUEST_WORKLOAD: no such file $f"
	done

	build_guest_programs
	cross_build "$toolstack"

	mkdir -p "$OUT"
	local sum
	sum=$({
		cat "$CACHE/manifest" "$CACHE/lab.env"
		sha256sum "${BASH_SOURCE[0]}" "$ROOTFS"/* ${GUEST_MODULE:+"$GUEST_MODULE"} \
			${HOTMEM_DEB:+"$HOTMEM_DEB"} \
			${GUEST_WORKLOAD[@]+"${GUEST_WORKLOAD[@]}"} \
			${TOOLSTACK_FILES[@]+"${TOOLSTACK_FILES[@]}"}
	} | sha256sum | cut -d' ' -f1)
	if ((!force)) && [[ -f $OUT/inputs.sha256 && $(cat "$OUT/inputs.sha256") == "$sum" &&
		-f $OUT/dom0.cpio.gz && -f $OUT/images.env ]]; then
		log "images up to date in $OUT"
		return 0
	fi
	rm -f "$OUT/inputs.sha256"
	local t0=$SECONDS stage
	stage=$(mktemp -d "$CACHE/.stage.XXXXXX")
	STAGE=$stage
	trap 'rm -rf "$STAGE"' EXIT
	build_domu "$stage/domU"
	build_dom0 "$stage/dom0"
	cat >"$OUT/images.env" <<-EOF
		# Written by tests/lab/mkimages.sh; read by lab.py.
		XEN=$LAB_XEN
		KERNEL=$LAB_KERNEL
		KERNEL_RELEASE=$KERNEL_RELEASE
		DOM0_INITRD=$OUT/dom0.cpio.gz
		DOMU_INITRD=$OUT/domU.cpio.gz
		TOOLSTACK=${TOOLSTACK_FILES[*]##*/}${HOTMEM_DEB:+ ${PACKAGE_PROGRAMS[*]##*/}}
		HOTMEM_DEB=$HOTMEM_DEB
		DKMS_DEB=$DKMS_DEB
		GUEST_MODULE=${GUEST_MODULE:+xen_hotmem.ko}
		GUEST_MODULE_FILE=$GUEST_MODULE
	EOF
	echo "$sum" >"$OUT/inputs.sha256"
	log "built $OUT/dom0.cpio.gz ($(du -h "$OUT/dom0.cpio.gz" | cut -f1)) and domU.cpio.gz" \
		"($(du -h "$OUT/domU.cpio.gz" | cut -f1)) in $((SECONDS - t0)) s;" \
		"modules: $(tr '\n' ' ' <"$stage/dom0/etc/hotmem/modules")"
}

main "$@"
