#!/bin/bash
# The Debian packages end to end (label pkg): copy the tree out of the
# source and build directories, `dpkg-buildpackage -us -uc -b`, lintian with
# no errors, unpack every .deb into a throwaway root (dpkg -x) and check the
# file lists, the conffile, the unit (systemd-analyze verify), the DKMS
# source and its version, then run the packaged hotmemd with the packaged
# hotmem.conf on a simulated host and ask it through the packaged xl-hotmem.
#
# Usage: test_pkg.sh SOURCE_DIR WORK_DIR
# Needs: dpkg-dev debhelper dh-dkms lintian fakeroot systemd (systemd-analyze)
# plus the build dependencies in debian/control. A missing tool fails.
set -u
src=$1
work=$2
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() { # check "what" command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
	echo "$failures failure(s)"
	[ "$failures" -eq 0 ]
	exit $?
}

for tool in dpkg-buildpackage dpkg-deb lintian dh dh_dkms systemd-analyze; do
	command -v "$tool" > /dev/null || fail "$tool found (apt-get install dpkg-dev debhelper dh-dkms lintian systemd)"
done
[ "$failures" -eq 0 ] || finish

version=$(sed -n 's/^project(hotmem VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
rm -rf "$work"
mkdir -p "$work/src" "$work/root"
# The tree as committed plus what is not ignored; no build directory, no lab cache.
if git -C "$src" rev-parse --git-dir > /dev/null 2>&1; then
	git -C "$src" ls-files -co --exclude-standard -z | grep -zv '^build/' |
		tar -C "$src" --null -T - -cf - | tar -C "$work/src" -xf -
else
	tar -C "$src" --exclude=./build --exclude=./.cache -cf - . | tar -C "$work/src" -xf -
fi

if (cd "$work/src" && dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	tail -40 "$work/build.log"
	fail "dpkg-buildpackage -us -uc -b (log: $work/build.log)"
	finish
fi
hotmem_deb=$work/hotmem_${version}_$(dpkg --print-architecture).deb
dkms_deb=$work/xen-hotmem-dkms_${version}_all.deb
check "hotmem $version built: $hotmem_deb" test -f "$hotmem_deb"
check "xen-hotmem-dkms $version built" test -f "$dkms_deb"
[ "$failures" -eq 0 ] || finish

lintian --fail-on error --tag-display-limit 0 "$work"/hotmem_"${version}"_*.changes > "$work/lintian.log" 2>&1
rc=$?
grep -E '^[EW]:' "$work/lintian.log"
check "lintian: no errors (rc $rc)" test "$rc" -eq 0 -a -z "$(grep '^E:' "$work/lintian.log")"

root=$work/root
dpkg -x "$hotmem_deb" "$root"
dpkg -x "$dkms_deb" "$root"
for f in usr/sbin/xl-hotmem usr/sbin/hotmemd lib/systemd/system/hotmemd.service \
	usr/share/man/man1/xl-hotmem.1.gz usr/share/man/man8/hotmemd.8.gz \
	usr/share/bash-completion/completions/xl-hotmem etc/hotmem/hotmem.conf \
	usr/share/doc/hotmem/copyright etc/modules-load.d/xen-hotmem.conf \
	usr/share/doc/xen-hotmem-dkms/README.Debian \
	usr/src/xen_hotmem-"$version"/dkms.conf usr/src/xen_hotmem-"$version"/Kbuild \
	usr/src/xen_hotmem-"$version"/Makefile usr/src/xen_hotmem-"$version"/xen_hotmem_main.c \
	usr/src/xen_hotmem-"$version"/core/hotmem_core.c \
	usr/src/xen_hotmem-"$version"/shared/proto.c \
	usr/src/xen_hotmem-"$version"/shared/include/hotmem/proto.h; do
	check "installed: /$f" test -f "$root/$f"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
check "installed: the xen backend module" test -f "$root/usr/lib/$multiarch/hotmem/hv-xen.so"
check "the module exports hv_xen_open" bash -c "nm -D --defined-only '$root/usr/lib/$multiarch/hotmem/hv-xen.so' | grep -qw hv_xen_open"
# xl-hotmem loads libxenctrl and libxenstore (through the module) only to run
# the engine itself: a command hotmemd answers never pays for them.
check "xl-hotmem does not link libxenctrl or libxenstore" bash -c "! readelf -d '$root/usr/sbin/xl-hotmem' | grep -E 'NEEDED.*libxen(ctrl|store)'"
check "no file outside the expected trees" test -z "$( (dpkg -c "$hotmem_deb"; dpkg -c "$dkms_deb") |
	awk '{print $6}' | grep -v -E '^\./($|etc/($|hotmem/|modules-load\.d/)|lib/($|systemd/)|usr/($|lib/($|'"$multiarch"'/($|hotmem/($|hv-xen\.so$)))|sbin/|share/|src/($|xen_hotmem-'"$version"'/)))')"
check "no placeholder version left" test -z "$(find "$root/usr/src" -name '*#*')"
check "dkms.conf says $version" grep -q "^PACKAGE_VERSION=\"$version\"" "$root/usr/src/xen_hotmem-$version/dkms.conf"
check "modules-load.d loads xen_hotmem" grep -qx xen_hotmem "$root/etc/modules-load.d/xen-hotmem.conf"
check "README.Debian says memmap_on_memory=1" grep -q 'memory_hotplug.memmap_on_memory=1' "$root/usr/share/doc/xen-hotmem-dkms/README.Debian"

dpkg-deb -e "$hotmem_deb" "$work/hotmem.control"
dpkg-deb -e "$dkms_deb" "$work/dkms.control"
check "conffile /etc/hotmem/hotmem.conf" grep -qx /etc/hotmem/hotmem.conf "$work/hotmem.control/conffiles"
check "the conffile is hotmem.conf.example" cmp -s "$root/etc/hotmem/hotmem.conf" "$src/toolstack/daemon/hotmem.conf.example"
check "package version is the CMake version $version" test "$(dpkg-deb -f "$hotmem_deb" Version)" = "$version" -a "$(dpkg-deb -f "$dkms_deb" Version)" = "$version"
check "the dkms package registers with dkms" grep -q 'dkms' "$work/dkms.control/postinst"
check "the unit is enabled by postinst" grep -q 'deb-systemd-helper.*hotmemd.service' "$work/hotmem.control/postinst"
check "the packaged unit is the source unit" cmp -s "$root/lib/systemd/system/hotmemd.service" "$src/toolstack/daemon/hotmemd.service"

# systemd-analyze verify checks ExecStart exists: point it at the packaged
# binary; proc-xen.mount comes from xen-utils-common, not installed here.
mkdir -p "$work/units"
sed "s|/usr/sbin/hotmemd|$root/usr/sbin/hotmemd|" "$root/lib/systemd/system/hotmemd.service" > "$work/units/hotmemd.service"
printf '[Unit]\nDescription=stand-in\n[Mount]\nWhat=xenfs\nWhere=/proc/xen\nType=xenfs\n' > "$work/units/proc-xen.mount"
out=$(SYSTEMD_UNIT_PATH="$work/units:" systemd-analyze verify --man=no "$work/units/hotmemd.service" 2>&1)
rc=$?
check "systemd-analyze verify on the packaged unit (rc $rc) $out" test "$rc" -eq 0 -a -z "$out"

# The packaged programs, the packaged config (its metrics-path moved into the
# work directory, never the host's node_exporter directory), a simulated host.
sock=$work/hotmemd.sock
conf=$work/hotmem.conf
sed "s|^metrics-path = .*|metrics-path = $work/hotmem.prom|; s|^metrics-interval = .*|metrics-interval = 200ms|" \
	"$root/etc/hotmem/hotmem.conf" > "$conf"
check "the packaged conf names metrics-path and metrics-interval once each, now moved" \
	test "$(diff "$root/etc/hotmem/hotmem.conf" "$conf" | grep -c '^[<>]')" -eq 4
"$root/usr/sbin/hotmemd" -F --hv sim --socket "$sock" --config "$conf" \
	--sim-domain web:512m 2> "$work/hotmemd.log" &
pid=$!
for _ in $(seq 100); do
	grep -q "serving on" "$work/hotmemd.log" && break
	sleep 0.1
done
check "packaged hotmemd reads the packaged hotmem.conf and serves" grep -q "policy from $conf" "$work/hotmemd.log"
check "packaged xl-hotmem grows through it" "$root/usr/sbin/xl-hotmem" --hv sim --socket "$sock" grow web 128m
check "packaged xl-hotmem metrics shows the grow" bash -c "'$root/usr/sbin/xl-hotmem' --hv sim --socket '$sock' metrics | grep -q 'hotmem_operations_total{kind=\"grow\",result=\"ok\"} 1'"
for _ in $(seq 50); do
	grep -q 'result="ok"} 1' "$work/hotmem.prom" 2> /dev/null && break
	sleep 0.1
done
check "packaged hotmemd wrote the metrics file with the grow" grep -q 'hotmem_operations_total{kind="grow",result="ok"} 1' "$work/hotmem.prom"
kill -TERM "$pid"
wait "$pid"
check "packaged hotmemd exit 0" test $? -eq 0
finish
