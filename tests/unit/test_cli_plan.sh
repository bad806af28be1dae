#!/usr/bin/env bash
# Runs the real xl-hotmem binary and checks what `plan` prints for the cases an
# operator meets: the arm64 4K grant hotmem is built for, a 64K guest where the
# kernel refuses memmap-on-memory (and why), JSON, and bad sizes that must
# fail with one line on stderr and exit code 1.
set -u
cli=$1
failures=0
passes=0

expect() { # expect DESCRIPTION COMMAND... : the command must succeed
	local what=$1
	shift
	if "$@"; then passes=$((passes + 1)); else
		failures=$((failures + 1))
		echo "FAIL: $what" >&2
	fi
}

out=$("$cli" plan 1g)
expect "plan 1g exits 0" test $? -eq 0
expect "8 blocks" grep -q "8 x 128 MiB = 1 GiB granted" <<<"$out"
expect "16 MiB memmap" grep -q "16 MiB inside the blocks (512 pages" <<<"$out"
expect "1008 MiB usable" grep -q "usable: *1008 MiB" <<<"$out"
expect "supported" grep -q "memmap-on-memory: supported" <<<"$out"

out=$("$cli" plan --page-size 64k 1g)
expect "64k exits 0" test $? -eq 0
expect "64k unsupported" grep -q "memmap-on-memory: unsupported" <<<"$out"
expect "64k says why (PMD)" grep -q "does not span whole PMDs (512 MiB)" <<<"$out"
expect "64k memmap outside" grep -q "taken from the guest's existing memory" <<<"$out"

out=$("$cli" plan --json 1g)
expect "json exits 0" test $? -eq 0
expect "json nr_blocks" grep -q '"nr_blocks": 8' <<<"$out"
expect "json memmap_bytes" grep -q '"memmap_bytes": 16777216' <<<"$out"
expect "json usable" grep -q '"usable_bytes": 1056964608' <<<"$out"
expect "json supported" grep -q '"memmap_on_memory": true' <<<"$out"
out=$("$cli" plan --json --page-size 16k 1g)
expect "json refusals" grep -q '"not-pmd-aligned"' <<<"$out"

out=$("$cli" pl 200m)
expect "prefix + rounding" grep -q "200 MiB rounded up to whole blocks" <<<"$out"

for bad in 12x 0 1.5g 99999999999t "" "1 g"; do
	err=$("$cli" plan "$bad" 2>&1 >/dev/null)
	rc=$?
	expect "plan '$bad' exits 1" test $rc -eq 1
	expect "plan '$bad' one line on stderr" test "$(wc -l <<<"$err")" -eq 1
	expect "plan '$bad' names the command" grep -q "^xl-hotmem plan: " <<<"$err"
done
"$cli" plan --page-size 8k 1g 2>/dev/null
expect "bad page size exits 1" test $? -eq 1
"$cli" plan --memmap maybe 1g 2>/dev/null
expect "bad memmap mode exits 1" test $? -eq 1
"$cli" plan --block-size 96m 1g 2>/dev/null
expect "non-power-of-two block exits 1" test $? -eq 1
"$cli" nosuchcommand 2>/dev/null
expect "unknown command exits 1" test $? -eq 1
"$cli" plan -h >/dev/null
expect "-h exits 0" test $? -eq 0

echo "test_cli_plan: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
