/*
 * Size parsing and printing for the CLI and the config file (see
 * hotmem/units.h). Stricter than xl's parse_mem_size_kb(): xl silently accepts
 * "-1", "12abc" truncation and overflow; here each is an error.
 */
#include "hotmem/units.h"

#include <errno.h>
#include <stdio.h>

int hotmem_parse_size(const char *text, uint64_t *ret_bytes)
{
	uint64_t value = 0;
	unsigned int shift;
	const char *cursor = text;

	if (!text || !ret_bytes)
		return -EINVAL;
	if (*cursor < '0' || *cursor > '9')
		return -EINVAL;
	for (; *cursor >= '0' && *cursor <= '9'; cursor++) {
		if (__builtin_mul_overflow(value, 10, &value) ||
		    __builtin_add_overflow(value, (uint64_t)(*cursor - '0'), &value))
			return -ERANGE;
	}
	switch (*cursor) {
	case 'b':
	case 'B':
		shift = 0;
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case '\0':
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*cursor && cursor[1])
		return -EINVAL;
	if (shift && value > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret_bytes = value << shift;
	return 0;
}

int hotmem_format_size(char *buf, size_t size, uint64_t bytes)
{
	static const char *const unit_names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int unit = 0;
	int len;

	while (bytes && unit + 1 < sizeof(unit_names) / sizeof(unit_names[0]) && !(bytes & 1023)) {
		bytes >>= 10;
		unit++;
	}
	len = snprintf(buf, size, "%llu %s", (unsigned long long)bytes, unit_names[unit]);
	if (len < 0 || (size_t)len >= size)
		return -ENOSPC;
	return len;
}
