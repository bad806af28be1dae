#!/usr/bin/env bash
# The layout and protocol code must link into the Linux module, where there is
# no libc: compiled freestanding, its objects may need nothing from outside but
# the four memory primitives the kernel also provides (compilers emit calls to
# them for struct copies).
set -u
status=0
for obj in "$@"; do
	undefined=$(nm -u "$obj" | awk '{print $2}' | grep -vxE 'memcpy|memset|memmove|memcmp')
	if [ -n "$undefined" ]; then
		echo "FAIL: $obj needs symbols the kernel does not provide: $undefined" >&2
		status=1
	fi
done
[ $# -gt 0 ] || { echo "FAIL: no objects given" >&2; status=1; }
echo "check_freestanding: $# objects, $([ $status -eq 0 ] && echo 1 passed, 0 failed || echo 0 passed, 1 failed)"
exit $status
