/*
 * Size parsing and printing as operators use them: every xl suffix, the MiB
 * default, and the malformed inputs xl itself lets through (signs, junk,
 * overflow) that hotmem must refuse.
 */
#include <errno.h>

#include "check.h"
#include "hotmem/units.h"

static void test_parse_valid(void)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} cases[] = {
		{ "0b", 0 },
		{ "1b", 1 },
		{ "4096B", 4096 },
		{ "64k", 64ULL << 10 },
		{ "64K", 64ULL << 10 },
		{ "512", 512ULL << 20 },
		{ "512m", 512ULL << 20 },
		{ "2g", 2ULL << 30 },
		{ "2G", 2ULL << 30 },
		{ "1t", 1ULL << 40 },
		{ "007m", 7ULL << 20 },
		{ "16777215t", 16777215ULL << 40 },
		{ "18446744073709551615b", UINT64_MAX },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t bytes = 1;

		CHECK_EQ(hotmem_parse_size(cases[i].text, &bytes), 0);
		CHECK(bytes == cases[i].bytes);
	}
}

static void test_parse_invalid(void)
{
	static const struct {
		const char *text;
		int rc;
	} cases[] = {
		{ "", -EINVAL },
		{ " 1g", -EINVAL },
		{ "1g ", -EINVAL },
		{ "-1", -EINVAL },
		{ "+1", -EINVAL },
		{ "g", -EINVAL },
		{ "1x", -EINVAL },
		{ "1gb", -EINVAL },
		{ "1.5g", -EINVAL },
		{ "0x10", -EINVAL },
		{ "1 g", -EINVAL },
		{ "16777216t", -ERANGE },
		{ "18446744073709551616b", -ERANGE },
		{ "99999999999999999999999", -ERANGE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t bytes = 42;

		CHECK_EQ(hotmem_parse_size(cases[i].text, &bytes), cases[i].rc);
		CHECK_EQ(bytes, 42);
	}
	CHECK_EQ(hotmem_parse_size(NULL, NULL), -EINVAL);
}

static void test_format(void)
{
	char buf[32];

	CHECK_EQ(hotmem_format_size(buf, sizeof(buf), 1ULL << 30), 5);
	CHECK_STREQ(buf, "1 GiB");
	hotmem_format_size(buf, sizeof(buf), 1008ULL << 20);
	CHECK_STREQ(buf, "1008 MiB");
	hotmem_format_size(buf, sizeof(buf), 1536ULL << 10);
	CHECK_STREQ(buf, "1536 KiB");
	hotmem_format_size(buf, sizeof(buf), 12345);
	CHECK_STREQ(buf, "12345 B");
	hotmem_format_size(buf, sizeof(buf), 0);
	CHECK_STREQ(buf, "0 B");
	hotmem_format_size(buf, sizeof(buf), 1ULL << 63);
	CHECK_STREQ(buf, "8 EiB");
	CHECK_EQ(hotmem_format_size(buf, 5, 1ULL << 30), -ENOSPC);
}

int main(void)
{
	test_parse_valid();
	test_parse_invalid();
	test_format();
	return check_exit("test_units");
}
