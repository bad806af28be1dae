#!/usr/bin/env bash
# demo.sh: the lab demo, start to finish, on a Debian 12 host (as root or with
# sudo). Installs the host packages it needs (host-deps.sh), downloads Xen 4.17
# arm64, Linux 6.12 arm64 and busybox from Debian into the lab cache (fetch.sh),
# cross-builds hotmem's dom0 programs and builds the boot images (mkimages.sh),
# then boots Xen + dom0 under QEMU, creates a 256 MiB guest and shows `xl list`
# and the guest's memory, grows the guest by 1 GiB with xl-hotmem and shrinks
# it back (lab.py run demo, scenarios/demo.py), powers off and prints a summary
# with timings.
# Everything after the first run comes from the cache. Exit 0 on success.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=host-deps.sh
source "$HERE/host-deps.sh"

step() { printf '\n==== %s\n' "$*"; }

t_all=$SECONDS
step "host packages"
t=$SECONDS
rc=0
ensure_host_deps || rc=$?
if ((rc != 0)); then
	echo "demo: the host is not ready for the lab (see above)" >&2
	exit 1
fi
t_deps=$((SECONDS - t))

step "Debian packages (cache: ${HOTMEM_CACHE:-$(cd "$HERE/../.." && pwd)/.cache/lab})"
t=$SECONDS
"$HERE/fetch.sh"
t_fetch=$((SECONDS - t))

step "boot images"
t=$SECONDS
"$HERE/mkimages.sh"
t_images=$((SECONDS - t))

step "the lab: Xen 4.17 + Linux 6.12 dom0 + a 256 MiB guest under QEMU"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
t=$SECONDS
rc=0
python3 "$HERE/lab.py" run demo | tee "$out" || rc=${PIPESTATUS[0]}
t_lab=$((SECONDS - t))

# value KEY: the KEY=value of the lab's final "HOTMEM scenario=demo status=..." line.
value() { grep '^HOTMEM scenario=demo status=' "$out" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# gs KEY: the KEY=value of the grow/shrink line.
gs() { grep '^HOTMEM scenario=demo step=grow_shrink' "$out" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

step "summary"
printf '  %-28s %s\n' \
	"result" "$( ((rc == 0)) && echo pass || echo "FAIL (exit $rc)")" \
	"host packages" "${t_deps} s" \
	"download + unpack" "${t_fetch} s" \
	"cross build + images" "${t_images} s" \
	"QEMU start -> dom0 ready" "$(value boot_s) s" \
	"xl create -> guest ready" "$(value create_guest_s) s" \
	"guest MemTotal before" "$(gs memtotal_before_kb) kB" \
	"after xl-hotmem grow 1g" "$(gs memtotal_grown_kb) kB in $(gs grow_s) s" \
	"after xl-hotmem set 0" "$(gs memtotal_after_kb) kB in $(gs shrink_s) s" \
	"whole lab run (to power-off)" "${t_lab} s" \
	"demo total" "$((SECONDS - t_all)) s"
exit "$rc"
