/*
 * libFuzzer target for the guest driver's /proc/pressure/memory parser
 * (hotmem_parse_psi_memory, guest-driver/core) and its /proc/meminfo swap
 * reader (hotmem_parse_meminfo_swap), on the same bytes: the kernel's text is trusted
 * more than xenstore, but a parser that reads past len or returns a figure
 * out of range would publish garbage to the toolstack's autoscaler. Promises
 * checked: 0 gives both figures within 0..HOTMEM_PSI_MAX, -EINVAL leaves
 * both outputs untouched, and nothing else is returned; the swap reader's
 * figure is below 10^19 (19 digits at most) and -EINVAL leaves it
 * untouched.
 */
#include <stdint.h>
#include <stdlib.h>

#include "hotmem_core.h"

#define SENTINEL 0xa5a5a5a5u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t some = SENTINEL, full = SENTINEL;
	int rc = hotmem_parse_psi_memory((const char *)data, size, &some, &full);

	if (rc == 0) {
		if (some > HOTMEM_PSI_MAX || full > HOTMEM_PSI_MAX)
			abort();
	} else if (rc != -EINVAL || some != SENTINEL || full != SENTINEL) {
		abort();
	}

	uint64_t swapped = SENTINEL;

	rc = hotmem_parse_meminfo_swap((const char *)data, size, &swapped);
	if (rc == 0) {
		if (swapped >= 10000000000000000000ull)
			abort();
	} else if (rc != -EINVAL || swapped != SENTINEL) {
		abort();
	}
	return 0;
}
