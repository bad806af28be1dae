/*
 * Sizes as operators type them, the xl way: a decimal number with an optional
 * b/k/m/g/t suffix (binary multiples, case-insensitive; no suffix means MiB,
 * as in `xl mem-set`), and sizes printed back for people ("1008 MiB").
 * Part of libhotmem: no logging, negative errno, ret_* untouched on failure.
 */
#ifndef HOTMEM_UNITS_H
#define HOTMEM_UNITS_H

#include <stddef.h>
#include <stdint.h>

/*
 * hotmem_parse_size - parse "512m", "2g", "1048576b", "64k", "3" (MiB).
 * Returns 0 with *ret_bytes set; -EINVAL for an empty string, a sign, a
 * missing number, an unknown or repeated suffix, or trailing characters;
 * -ERANGE when the value does not fit in 64 bits.
 */
int hotmem_parse_size(const char *text, uint64_t *ret_bytes);

/*
 * hotmem_format_size - print bytes with the largest binary unit that divides
 * them exactly ("1 GiB", "1008 MiB", "1536 KiB", "12345 B").
 * Returns the length written (excluding NUL), or -ENOSPC if buf is too small.
 */
int hotmem_format_size(char *buf, size_t size, uint64_t bytes);

#endif /* HOTMEM_UNITS_H */
