#!/bin/bash
# The example Prometheus rules of docs/fleet.md: `promtool check rules` and
# `promtool test rules` (the unmet-demand alert pages the right hosts, only
# after its 15 minutes). promtool missing (Debian package prometheus) fails.
# Usage: test_rules.sh SOURCE_DIR
set -u
src=$1
if ! command -v promtool > /dev/null; then
	echo "FAIL promtool found (apt-get install prometheus)"
	exit 1
fi
promtool check rules "$src/docs/examples/hotmem.rules.yml" || exit 1
cd "$src/tests/obs" && promtool test rules hotmem.rules.test.yml
