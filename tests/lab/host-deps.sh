#!/usr/bin/env bash
# host-deps.sh: make sure this Debian 12 host has what the lab needs: QEMU for
# arm64, the aarch64 cross compiler and C library, cpio, dtc, python3, xz and
# make, and apt indexes for arm64 (dpkg --add-architecture arm64 + apt-get
# update) so fetch.sh can `apt-get download` arm64 packages. Installs what is
# missing with apt-get, as root or through `sudo -n`. Nothing arm64 is installed
# here. Sourced, it defines ensure_host_deps; run, it calls it. ensure_host_deps
# returns 0 when all is there, 77 when only QEMU is missing and cannot be
# installed (the lab tests then skip), 1 otherwise.

# dpkg-dev debhelper dh-dkms fakeroot cmake go-md2man: mkimages.sh builds the
# arm64 hotmem .deb and the xen-hotmem-dkms .deb the lab's dom0 and guest take
# their programs and module from (host-architecture tools only). dwarves:
# pahole, which linux-kbuild (the amd64 half of the kernel headers) depends
# on; the guest module is built as DKMS builds it, without Kbuild overrides.
HOST_PACKAGES=(qemu-system-arm gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
	libc6-dev-arm64-cross cpio device-tree-compiler python3 xz-utils gzip make pkg-config
	dpkg-dev debhelper dh-dkms fakeroot cmake go-md2man dwarves)

_hd_log() { printf 'host-deps: %s\n' "$*" >&2; }

# _hd_root CMD...: run CMD as root (directly, or with sudo -n), or fail.
_hd_root() {
	if [[ $(id -u) == 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		_hd_log "need root to run: $* (run as root, or set up sudo)"
		return 1
	fi
}

_hd_missing() {
	local p
	for p in "${HOST_PACKAGES[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || echo "$p"
	done
}

ensure_host_deps() {
	if ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then
		_hd_log "the lab needs a Debian (12) host with dpkg and apt-get"
		return 1
	fi
	local missing updated=0 pkgs=()
	missing=$(_hd_missing | tr '\n' ' ')
	if [[ -n ${missing// /} ]]; then
		_hd_log "installing: $missing"
		read -ra pkgs <<<"$missing"
		if _hd_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
			_hd_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
				"${pkgs[@]}" >/dev/null; then
			updated=1
		else
			_hd_log "apt-get install failed"
		fi
		missing=$(_hd_missing | tr '\n' ' ')
	fi
	if [[ " $(dpkg --print-foreign-architectures | tr '\n' ' ') " != *" arm64 "* ]]; then
		_hd_log "adding the arm64 architecture to dpkg (downloads only; nothing arm64 gets installed)"
		_hd_root dpkg --add-architecture arm64 || return 1
		updated=0
	fi
	if [[ -z $(apt-cache policy busybox-static:arm64 2>/dev/null | awk '/Candidate:/ && $2 != "(none)"') ]]; then
		if ((!updated)); then
			_hd_log "apt-get update (for the arm64 package lists)"
			_hd_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || return 1
		fi
		[[ -n $(apt-cache policy busybox-static:arm64 2>/dev/null | awk '/Candidate:/ && $2 != "(none)"') ]] || {
			_hd_log "apt knows no arm64 packages even after apt-get update"
			return 1
		}
	fi
	missing=${missing// /}
	if [[ -n $missing ]]; then
		if [[ $missing == qemu-system-arm ]]; then
			_hd_log "qemu-system-arm is missing and could not be installed: lab tests will skip"
			return 77
		fi
		_hd_log "still missing: $(_hd_missing | tr '\n' ' ')"
		return 1
	fi
	return 0
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	rc=0
	ensure_host_deps || rc=$?
	exit "$rc"
fi
