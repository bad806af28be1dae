#!/usr/bin/env bash
# cross-isolated.sh: prove that the arm64 cross build of hotmem's dom0 programs
# (mkimages.sh, aarch64-toolchain.cmake, the project's find logic) takes every
# header and library from the arm64 packages fetch.sh unpacked into the lab
# cache, never from the build host. In a private mount namespace it hides the
# host's yajl, libfdt, inih, Xen and libsystemd headers, libraries and
# pkg-config files (an empty tmpfs over each folder, /dev/null over each
# file), checks that they are gone, and cross-builds every dom0 program from
# scratch in a temporary folder with `mkimages.sh --toolstack=on --cross-only`:
# the lab tools in build/, the arm64 hotmem .deb (dpkg-buildpackage -aarm64,
# debian/rules) in build-pkg/; no compiled file of either may name a host header. A header or library
# found on the host side would have been read as empty: the build fails.
# Needs root (unshare -m) and a cache fetch.sh filled (HOTMEM_CACHE). Runs as
# the ctest lab.cross-isolated. Exit 0 when the isolated build passed, 1
# otherwise (never 77: nothing here is optional).
#   cross-isolated.sh [COMMAND ARGS...]   run COMMAND instead, on a host made to
#   look as if libyajl-dev, libfdt-dev, libinih-dev and libxen-dev were not
#   installed (their headers, unversioned .so links, .a and .pc files hidden;
#   the runtime libraries stay: the host's QEMU needs libfdt.so.1), e.g.
#   tests/lab/mkimages.sh --toolstack=on --force, or tests/lab/demo.sh; exits
#   with its status.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() {
	printf 'cross-isolated: error: %s\n' "$*" >&2
	exit 1
}

# hidden_paths MODE: what a host libyajl-dev, libfdt-dev, libinih-dev and
# libxen-dev (MODE all: and their runtime packages) put in /usr/include, the
# library folders and pkg-config's folders, as far as they exist on this host.
hidden_paths() {
	local libdir
	shopt -s nullglob
	printf '%s\n' /usr/include/yajl /usr/include/xen /usr/include/xenstore-compat \
		/usr/include/libfdt*.h /usr/include/fdt.h /usr/include/ini.h /usr/include/INIReader.h \
		/usr/include/xen*.h /usr/include/xs.h /usr/include/xs_lib.h /usr/include/libxl*.h \
		/usr/include/_libxl*.h /usr/include/libxenvchan.h /usr/include/systemd
	for libdir in /usr/lib /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /lib/x86_64-linux-gnu \
		/lib/aarch64-linux-gnu /usr/local/lib; do
		printf '%s\n' "$libdir"/lib{yajl,fdt,inih,INIReader,xen}*.a
		# The -dev packages' .so are links to the runtime library (which the
		# host's QEMU needs): hidden only in mode all.
		[[ $1 == all ]] && printf '%s\n' "$libdir"/lib{yajl,fdt,inih,INIReader,xen}*.so{,.*}
		printf '%s\n' "$libdir"/pkgconfig/{yajl,inih,xen,libsystemd}*.pc
		# libsystemd-dev's link only: the host's own programs need libsystemd.so.0.
		printf '%s\n' "$libdir"/libsystemd.so
	done
	printf '%s\n' /usr/share/pkgconfig/{yajl,inih,xen,libsystemd}*.pc
}

inner() {
	local p n=0 tmp mode=all
	(($#)) && mode=dev
	while read -r p; do
		[[ -e $p ]] || continue
		if [[ -d $p && ! -L $p ]]; then
			mount -t tmpfs -o size=64k,mode=0755 hotmem-hidden "$p"
		else
			mount --bind /dev/null "$(readlink -f "$p")"
		fi
		n=$((n + 1))
	done < <(hidden_paths "$mode")
	# The hiding itself must have worked, or the proof proves nothing.
	for p in /usr/include/yajl/yajl_gen.h /usr/include/libfdt.h /usr/include/ini.h /usr/include/xenctrl.h \
		/usr/include/systemd/sd-daemon.h; do
		[[ ! -s $p ]] || die "$p is still readable in the namespace"
	done
	echo "cross-isolated: $n host paths hidden (yajl, libfdt, inih, Xen, libsystemd headers, $mode libraries, .pc files)"
	(($#)) && exec "$@"
	tmp=$(mktemp -d /tmp/hotmem-cross-isolated.XXXXXX)
	rc=0
	"$HERE/mkimages.sh" --toolstack=on --cross-only --build-dir="$tmp/build" || rc=$?
	if ((rc == 0)); then
		# Every header the build read: none may be a host one.
		local host
		host=$(find "$tmp" -type f -name '*.d' -exec grep -ohE '(^| )/usr/(local/)?include/[^ \\]*' {} + |
			sort -u || true)
		[[ -z $host ]] || {
			printf 'cross-isolated: host header read:%s\n' "$host" >&2
			rc=1
		}
	else
		tail -n 20 "$tmp/build.log" >&2 || true
	fi
	rm -rf "$tmp"
	((rc == 0)) || die "the arm64 cross build needs something of the build host (see above)"
	echo "cross-isolated: the arm64 cross build and package passed with the host's yajl/fdt/inih/xen/libsystemd hidden"
}

if [[ ${1-} == --inner ]]; then
	shift
	inner "$@"
	exit 0
fi
[[ $(id -u) == 0 ]] || die "needs root: it hides host files in a private mount namespace (unshare -m)"
command -v unshare >/dev/null || die "unshare not found (util-linux)"
exec unshare -m --propagation private bash "${BASH_SOURCE[0]}" --inner "$@"
