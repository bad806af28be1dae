#!/usr/bin/env bash
# setup.sh: everything a lab run needs before QEMU starts, in order: host
# packages (host-deps.sh), the Debian downloads (fetch.sh), hotmem's arm64
# cross build and the boot images (mkimages.sh). Every step skips what is
# already done, so a second run takes a few seconds. This is the ctest fixture
# lab.setup and the first half of demo.sh. Options are passed to mkimages.sh
# (e.g. --toolstack=on). Prints "HOTMEM setup ..." with the time of each step.
# Exit: 0 ready, 77 QEMU missing and not installable (the lab tests skip), 1 error.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=host-deps.sh
source "$HERE/host-deps.sh"

t=$SECONDS
deps_rc=0
ensure_host_deps || deps_rc=$?
((deps_rc == 0 || deps_rc == 77)) || exit 1
t_deps=$((SECONDS - t))

t=$SECONDS
"$HERE/fetch.sh"
t_fetch=$((SECONDS - t))

t=$SECONDS
"$HERE/mkimages.sh" "$@"
t_images=$((SECONDS - t))

echo "HOTMEM setup host_deps_s=$t_deps fetch_s=$t_fetch images_s=$t_images"
exit "$deps_rc"
