#!/usr/bin/env bash
# fetch.sh: download everything the lab boots (Xen 4.17 arm64, its toolstack and
# runtime libraries, busybox, Debian's newest Linux 6.12 arm64 kernel and its
# headers) from the Debian archive with `apt-get download`, and unpack it with
# `dpkg -x` into one tree under the lab cache. Nothing is ever installed into the
# host root. The cache is $HOTMEM_CACHE, or <repo>/.cache/lab (git-ignored):
#   debs/           the .deb files, one per package version
#   root/           every package unpacked into one tree (arm64 files + the
#                   amd64 kbuild host tools); rebuilt only when a version changes
#   manifest        "pkg:arch=version" lines of what root/ holds
#   arm64.shlibs    the shlibs control files of the arm64 packages, one file:
#                   dpkg-shlibdeps -L reads it when debian/rules cross-builds
#                   the arm64 hotmem .deb against root/ (no arm64 package is
#                   installed on the host, so dpkg cannot tell it)
#   lab.env         shell variables (KERNEL_ABI, LAB_ROOT, ...) for the other scripts
# The newest 6.12 ABI is resolved at run time with apt-cache; set
# HOTMEM_KERNEL_ABI=6.12.N+deb12 to pin one. A second run with nothing new only
# asks apt-cache and compares the manifest. After unpacking, the kernel headers
# are made usable in place (their Makefile includes the common headers by
# absolute path) and a trivial module is built to prove it (--no-module-check
# skips that). Exits non-zero with a message naming the package that failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${HOTMEM_CACHE:-$REPO/.cache/lab}
DEBS=$CACHE/debs
ROOT=$CACHE/root
MANIFEST=$CACHE/manifest
CROSS=${CROSS_COMPILE:-aarch64-linux-gnu-}
MODULE_CHECK=1

# arm64 user space for dom0 and for cross-building the toolstack.
ARM64_PKGS=(
	xen-hypervisor-4.17-arm64 xen-utils-4.17 libxen-dev
	libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenmisc4.17
	libxenstore4 libxentoollog1 libxentoolcore1 libxendevicemodel1 libxenhypfs1
	libyajl2 libyajl-dev libfdt1 libfdt-dev libinih1 libinih-dev
	libc6 libgcc-s1 libncurses6 libtinfo6 libext2fs2 libuuid1 zlib1g libcom-err2
	libblkid1
	xenstore-utils busybox-static
	# hotmemd's libsystemd (the arm64 hotmem .deb is built against it) and
	# what libsystemd0 needs at run time.
	libsystemd0 libsystemd-dev libcap2 libgcrypt20 libgpg-error0 liblzma5 libzstd1 liblz4-1
	# setpriv: dom0 starts hotmemd with exactly the unit's capabilities.
	util-linux libcap-ng0
)

log() { printf 'fetch: %s\n' "$*" >&2; }
die() {
	printf 'fetch: error: %s\n' "$*" >&2
	exit 1
}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
	echo "usage: $0 [--no-module-check] [--print-env]"
}

# policy_table NAME...: one apt-cache call (each costs about a second);
# prints "name candidate" lines, name as asked (with its :arch if given).
policy_table() {
	apt-cache policy "$@" 2>/dev/null | awk '
		/^[^ ].*:$/ { name = substr($0, 1, length($0) - 1) }
		/^  Candidate:/ && $2 != "(none)" { print name, $2 }'
}

# lookup TABLE NAME: the candidate of NAME in a policy_table output, or "".
# apt prints native-architecture and arch:all names without ":arch".
lookup() {
	awk -v n="$2" -v n2="${2%:*}" '$1 == n || $1 == n2 { print $2; exit }' <<<"$1"
}

# resolve_all: pick the kernel ABI (HOTMEM_KERNEL_ABI, else the newest
# 6.12.N+deb12 whose arm64 image and headers, common headers and amd64 kbuild
# are all known to apt) and fill KERNEL_ABI and WANT ("pkg:arch=version" lines).
resolve_all() {
	local abis abi p v
	if [[ -n ${HOTMEM_KERNEL_ABI:-} ]]; then
		abis=$HOTMEM_KERNEL_ABI
	else
		abis=$(apt-cache pkgnames linux-image-6.12. |
			sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb12\)-arm64-unsigned$/\1/p' | sort -rV)
		[[ -n $abis ]] || die "apt-cache knows no linux-image-6.12.*+deb12-arm64-unsigned;" \
			"run: dpkg --add-architecture arm64 && apt-get update"
	fi
	kernel_specs() {
		echo "linux-image-$1-arm64-unsigned:arm64" "linux-headers-$1-arm64:arm64" \
			"linux-headers-$1-common:all" "linux-kbuild-$1:amd64"
	}
	local specs=() query=() spec
	for p in "${ARM64_PKGS[@]}"; do specs+=("$p:arm64"); done
	for abi in $abis; do
		for spec in $(kernel_specs "$abi"); do specs+=("$spec"); done
	done
	for spec in "${specs[@]}"; do query+=("${spec%:all}"); done
	local table
	table=$(policy_table "${query[@]}")

	KERNEL_ABI=
	for abi in $abis; do
		local ok=1
		for spec in $(kernel_specs "$abi"); do
			[[ -n $(lookup "$table" "${spec%:all}") ]] || ok=0
		done
		if ((ok)); then
			KERNEL_ABI=$abi
			break
		fi
	done
	[[ -n $KERNEL_ABI ]] || die "no 6.12 ABI has its image, headers and kbuild all available to apt" \
		"(tried: ${abis//$'\n'/ }); run apt-get update?"

	WANT=()
	for spec in "${ARM64_PKGS[@]/%/:arm64}" $(kernel_specs "$KERNEL_ABI"); do
		v=$(lookup "$table" "${spec%:all}")
		[[ -n $v ]] || die "package $spec is unknown to apt (no candidate version);" \
			"run: dpkg --add-architecture arm64 && apt-get update"
		WANT+=("${spec%:*}:${spec##*:}=$v")
	done
}

# deb_path PKG ARCH VERSION: where apt-get download puts that package.
deb_path() {
	# apt-get download escapes ':' in the version (epochs) as %3a.
	echo "$DEBS/${1}_${3//:/%3a}_${2}.deb"
}

# download_missing: apt-get download every wanted .deb not in debs/ yet, in one
# apt call (it fetches in parallel). Whatever did arrive is kept; a failure
# names the packages still missing and shows apt's first errors.
download_missing() {
	local missing=() w pkg arch ver
	for w in "${WANT[@]}"; do
		pkg=${w%%:*} arch=${w#*:} arch=${arch%%=*} ver=${w#*=}
		[[ -s $(deb_path "$pkg" "$arch" "$ver") ]] || missing+=("$w")
	done
	((${#missing[@]})) || return 0
	log "downloading ${#missing[@]} packages into $DEBS"
	local tmp query=() rc=0
	for w in "${missing[@]}"; do query+=("${w/:all=/=}"); done
	tmp=$(mktemp -d "$DEBS/.dl.XXXXXX")
	(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "${query[@]}") \
		>"$tmp.log" 2>&1 || rc=$?
	mv "$tmp"/*.deb "$DEBS/" 2>/dev/null || true
	local still=()
	for w in "${missing[@]}"; do
		pkg=${w%%:*} arch=${w#*:} arch=${arch%%=*} ver=${w#*=}
		[[ -s $(deb_path "$pkg" "$arch" "$ver") ]] || still+=("$w")
	done
	if ((rc != 0 || ${#still[@]})); then
		grep '^E:' "$tmp.log" | head -n 3 >&2 || tail -n 3 "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		die "could not download from the Debian archive (network down? run apt-get update?):" \
			"${still[*]:-(apt-get download exited $rc)}"
	fi
	rm -rf "$tmp" "$tmp.log"
}

# extract_tree: (re)build root/ from the wanted .debs when the manifest changed.
# The tree is built beside the old one and renamed into place, so a killed run
# never leaves a half-built root/ behind a valid manifest.
extract_tree() {
	local want_manifest
	want_manifest=$(printf '%s\n' "${WANT[@]}" | sort)
	if [[ -d $ROOT && -f $MANIFEST && $(cat "$MANIFEST") == "$want_manifest" ]]; then
		return 0
	fi
	log "unpacking ${#WANT[@]} packages into $ROOT"
	local new=$CACHE/.root.new w pkg arch ver
	rm -rf "$new" "$CACHE/.root.old"
	mkdir -p "$new"
	for w in "${WANT[@]}"; do
		pkg=${w%%:*} arch=${w#*:} arch=${arch%%=*} ver=${w#*=}
		dpkg -x "$(deb_path "$pkg" "$arch" "$ver")" "$new" || die "dpkg -x failed on $w"
	done
	fix_headers "$new"
	write_shlibs "$CACHE/arm64.shlibs.new"
	rm -f "$MANIFEST"
	mv "$CACHE/arm64.shlibs.new" "$CACHE/arm64.shlibs"
	[[ -d $ROOT ]] && mv "$ROOT" "$CACHE/.root.old"
	mv "$new" "$ROOT"
	rm -rf "$CACHE/.root.old"
	echo "$want_manifest" >"$MANIFEST"
	# Drop .debs no longer wanted (superseded versions).
	local f keep
	for f in "$DEBS"/*.deb; do
		keep=0
		for w in "${WANT[@]}"; do
			pkg=${w%%:*} arch=${w#*:} arch=${arch%%=*} ver=${w#*=}
			[[ $f == "$(deb_path "$pkg" "$arch" "$ver")" ]] && keep=1 && break
		done
		((keep)) || rm -f "$f"
	done
}

# write_shlibs OUT: every wanted arm64 package's shlibs control file, joined.
write_shlibs() {
	local w pkg arch ver
	: >"$1"
	for w in "${WANT[@]}"; do
		pkg=${w%%:*} arch=${w#*:} arch=${arch%%=*} ver=${w#*=}
		[[ $arch == arm64 ]] || continue
		dpkg-deb -I "$(deb_path "$pkg" "$arch" "$ver")" shlibs >>"$1" 2>/dev/null || true
	done
	[[ -s $1 ]] || die "no shlibs control file in any arm64 package"
}

# fix_headers TREE: the arm64 flavour headers include the common ones by the
# absolute path /usr/src/linux-headers-ABI-common; point that at TREE instead.
# Symlinks into /usr/lib/linux-kbuild-* are relative and resolve inside TREE.
fix_headers() {
	local tree=$1 mk
	for mk in "$tree"/usr/src/linux-headers-*-arm64/Makefile; do
		[[ -f $mk ]] || die "no arm64 kernel headers in $tree/usr/src"
		sed -i "s|/usr/src/linux-headers-|$ROOT/usr/src/linux-headers-|g" "$mk"
	done
}

# check_libs: every shared library the dom0 programs need must be in root/.
# readelf's NEEDED list is the ldd of a foreign tree.
check_libs() {
	local readelf=${CROSS}readelf libdirs=("$ROOT/lib/aarch64-linux-gnu" "$ROOT/usr/lib/aarch64-linux-gnu")
	command -v "$readelf" >/dev/null || die "$readelf not found (apt-get install binutils-aarch64-linux-gnu)"
	local todo=() seen=" " missing=() f lib d found
	todo=("$ROOT"/usr/lib/xen-4.17/bin/* "$ROOT"/usr/bin/xenstore* "$ROOT"/usr/lib/aarch64-linux-gnu/libxen*.so.*)
	while ((${#todo[@]})); do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		[[ -f $f && ! -L $f ]] || [[ -L $f && -e $f ]] || continue
		head -c4 "$f" | grep -q ELF || continue
		for lib in $("$readelf" -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[[ $seen == *" $lib "* ]] && continue
			seen+="$lib "
			found=
			for d in "${libdirs[@]}"; do
				[[ -e $d/$lib ]] && found=$d/$lib && break
			done
			if [[ -n $found ]]; then
				todo+=("$found")
			else
				missing+=("$lib (needed by ${f#"$ROOT"})")
			fi
		done
	done
	if ((${#missing[@]})); then
		printf 'fetch: missing library: %s\n' "${missing[@]}" >&2
		die "add the arm64 packages providing them to ARM64_PKGS in $0"
	fi
}

# check_module_build: prove the unpacked headers build an out-of-tree module
# (a hello module in a temporary folder, never in the repo).
check_module_build() {
	local headers=$1 tmp
	tmp=$(mktemp -d)
	cat >"$tmp/hello.c" <<-'EOF'
		#include <linux/module.h>
		static int __init hello_init(void) { pr_info("hello\n"); return 0; }
		static void __exit hello_exit(void) { }
		module_init(hello_init);
		module_exit(hello_exit);
		MODULE_LICENSE("GPL");
	EOF
	echo 'obj-m := hello.o' >"$tmp/Kbuild"
	if ! make -C "$headers" M="$tmp" ARCH=arm64 CROSS_COMPILE="$CROSS" \
		CONFIG_DEBUG_INFO_BTF_MODULES= modules >"$tmp/build.log" 2>&1 || [[ ! -f $tmp/hello.ko ]]; then
		tail -n 30 "$tmp/build.log" >&2
		rm -rf "$tmp"
		die "building a trivial module against $headers failed"
	fi
	local vermagic
	vermagic=$("${CROSS}readelf" -p .modinfo "$tmp/hello.ko" | sed -n 's/.*vermagic=//p')
	log "module build ok against $headers (vermagic: $vermagic)"
	rm -rf "$tmp"
}

write_env() {
	local abi=$1
	local envf=$CACHE/lab.env
	cat >"$envf.new" <<-EOF
		# Written by tests/lab/fetch.sh; sourced by mkimages.sh and friends.
		KERNEL_ABI=$abi
		KERNEL_RELEASE=$abi-arm64
		LAB_CACHE=$CACHE
		LAB_ROOT=$ROOT
		LAB_XEN=$ROOT/boot/xen-4.17-arm64
		LAB_KERNEL=$ROOT/boot/vmlinuz-$abi-arm64
		LAB_MODULES=$ROOT/lib/modules/$abi-arm64
		LAB_HEADERS=$ROOT/usr/src/linux-headers-$abi-arm64
	EOF
	mv "$envf.new" "$envf"
}

main() {
	local print_env=0
	while (($#)); do
		case $1 in
		--no-module-check) MODULE_CHECK=0 ;;
		--print-env) print_env=1 ;;
		-h | --help)
			usage
			return 0
			;;
		*) die "unknown option $1 (try --help)" ;;
		esac
		shift
	done
	command -v apt-get >/dev/null || die "apt-get not found: the lab needs a Debian host"
	command -v dpkg >/dev/null || die "dpkg not found"
	mkdir -p "$DEBS"

	resolve_all
	local abi=$KERNEL_ABI
	download_missing
	local changed=0
	[[ -f $MANIFEST && $(cat "$MANIFEST") == "$(printf '%s\n' "${WANT[@]}" | sort)" && -d $ROOT ]] || changed=1
	extract_tree
	local headers=$ROOT/usr/src/linux-headers-$abi-arm64
	[[ -f $ROOT/boot/xen-4.17-arm64 ]] || die "xen-hypervisor-4.17-arm64 gave no /boot/xen-4.17-arm64"
	[[ -f $ROOT/boot/vmlinuz-$abi-arm64 ]] || die "linux-image-$abi-arm64-unsigned gave no kernel"
	# The checks are slow-ish: run them once per unpacked tree.
	((changed)) && rm -f "$CACHE"/.ok-*
	if [[ ! -f $CACHE/.ok-libs ]]; then
		check_libs
		touch "$CACHE/.ok-libs"
	fi
	write_env "$abi"
	if ((MODULE_CHECK)) && [[ ! -f $CACHE/.ok-module ]]; then
		check_module_build "$headers"
		touch "$CACHE/.ok-module"
	fi
	log "ready: kernel $abi, Xen $(grep -o '^xen-hypervisor-4.17-arm64:arm64=.*' "$MANIFEST" | cut -d= -f2)"
	if ((print_env)); then cat "$CACHE/lab.env"; fi
}

main "$@"
