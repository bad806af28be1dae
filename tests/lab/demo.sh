#!/usr/bin/env bash
# demo.sh: the lab demo, start to finish, on a Debian 12 host (as root or with
# sudo). Installs the host packages it needs (host-deps.sh), downloads Xen 4.17
# arm64, Linux 6.12 arm64 and busybox from Debian into the lab cache (fetch.sh),
# cross-builds hotmem's dom0 programs and the guest module and builds the boot
# images (mkimages.sh --toolstack=on: a program or module that does not build
# stops the demo), then boots Xen + dom0 under QEMU, creates a 256 MiB guest
# and shows `xl list` and the guest's memory, grows the guest by 1 GiB with
# xl-hotmem and shrinks it back (lab.py run demo, scenarios/demo.py), powers
# off and prints a summary with timings.
# Everything after the first run comes from the cache. Exit 0 only when the
# guest grew and shrank and every figure of the summary was measured; else
# non-zero with one last line "demo: FAIL: <step>: <why>".
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=host-deps.sh
source "$HERE/host-deps.sh"

step() { printf '\n==== %s\n' "$*"; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# fail STEP WHY: the demo's last line, and exit 1.
fail() {
	printf '\ndemo: FAIL: %s: %s\n' "$1" "$2" >&2
	exit 1
}

# why: the line of the last step's output ($out) that says why it failed:
# the last "error:" or "FAIL" line, else its last line.
why() {
	local line
	line=$(grep -E 'error:|FAIL' "$out" | tail -n 1 || true)
	[[ -n $line ]] || line=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1 || true)
	echo "${line:-no output}"
}

# run STEP CMD...: run CMD with its output shown and kept in $out; a failure
# ends the demo naming STEP and the reason.
run() {
	local name=$1 rc=0
	shift
	"$@" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
	((rc == 0)) || fail "$name" "$(why) (exit $rc)"
}

t_all=$SECONDS
step "host packages"
t=$SECONDS
rc=0
ensure_host_deps || rc=$?
((rc == 0)) || fail "host packages" "the host is not ready for the lab (see above)"
t_deps=$((SECONDS - t))

step "Debian packages (cache: ${HOTMEM_CACHE:-$(cd "$HERE/../.." && pwd)/.cache/lab})"
t=$SECONDS
run "download" "$HERE/fetch.sh"
t_fetch=$((SECONDS - t))

step "cross build + boot images"
t=$SECONDS
run "cross build + images" "$HERE/mkimages.sh" --toolstack=on
t_images=$((SECONDS - t))

step "the lab: Xen 4.17 + Linux 6.12 dom0 + a 256 MiB guest under QEMU"
t=$SECONDS
run "lab" python3 "$HERE/lab.py" run demo
t_lab=$((SECONDS - t))

# value KEY: the KEY=value of the lab's final "HOTMEM scenario=demo status=..." line.
value() { grep '^HOTMEM scenario=demo status=' "$out" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# gs KEY: the KEY=value of the grow/shrink line.
gs() { grep '^HOTMEM scenario=demo step=grow_shrink' "$out" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

[[ $(value status) == pass ]] || fail "lab" "the demo scenario did not pass: $(why)"
declare -A fig=(
	[boot_s]=$(value boot_s) [create_guest_s]=$(value create_guest_s)
	[memtotal_before_kb]=$(gs memtotal_before_kb) [memtotal_grown_kb]=$(gs memtotal_grown_kb)
	[memtotal_after_kb]=$(gs memtotal_after_kb) [grow_s]=$(gs grow_s) [shrink_s]=$(gs shrink_s)
)
missing=()
for k in boot_s create_guest_s memtotal_before_kb memtotal_grown_kb memtotal_after_kb grow_s shrink_s; do
	[[ ${fig[$k]} =~ ^[0-9]+(\.[0-9]+)?$ ]] || missing+=("$k")
done
((${#missing[@]} == 0)) || fail "summary" "the lab run reported no figure for: ${missing[*]}"

step "summary"
printf '  %-28s %s\n' \
	"result" "pass" \
	"host packages" "${t_deps} s" \
	"download + unpack" "${t_fetch} s" \
	"cross build + images" "${t_images} s" \
	"QEMU start -> dom0 ready" "${fig[boot_s]} s" \
	"xl create -> guest ready" "${fig[create_guest_s]} s" \
	"guest MemTotal before" "${fig[memtotal_before_kb]} kB" \
	"after xl-hotmem grow 1g" "${fig[memtotal_grown_kb]} kB in ${fig[grow_s]} s" \
	"after xl-hotmem set 0" "${fig[memtotal_after_kb]} kB in ${fig[shrink_s]} s" \
	"whole lab run (to power-off)" "${t_lab} s" \
	"demo total" "$((SECONDS - t_all)) s"
