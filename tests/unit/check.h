/*
 * The tiny assertion kit every host test program uses: CHECK() records a
 * failure with file and line and keeps going, so one run shows every broken
 * case; check_exit() turns the tally into the exit-code contract ctest reads
 * (0 pass, 1 fail, 77 skipped).
 */
#ifndef HOTMEM_TEST_CHECK_H
#define HOTMEM_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned int check_failures;
static unsigned int check_passes;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (cond) {                                                                      \
			check_passes++;                                                          \
		} else {                                                                         \
			check_failures++;                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

/* Compare two integers and print both values when they differ. */
#define CHECK_EQ(got, want)                                                               \
	do {                                                                              \
		long long check_got_ = (long long)(got);                                  \
		long long check_want_ = (long long)(want);                                \
		if (check_got_ == check_want_) {                                          \
			check_passes++;                                                   \
		} else {                                                                  \
			check_failures++;                                                 \
			fprintf(stderr, "%s:%d: %s == %lld, want %s == %lld\n", __FILE__, \
				__LINE__, #got, check_got_, #want, check_want_);          \
		}                                                                         \
	} while (0)

#define CHECK_STREQ(got, want)                                                                    \
	do {                                                                                      \
		const char *check_got_ = (got);                                                   \
		const char *check_want_ = (want);                                                 \
		if (check_got_ && check_want_ && strcmp(check_got_, check_want_) == 0) {          \
			check_passes++;                                                           \
		} else {                                                                          \
			check_failures++;                                                         \
			fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
				#got, check_got_ ? check_got_ : "(null)",                         \
				check_want_ ? check_want_ : "(null)");                            \
		}                                                                                 \
	} while (0)

static inline int check_exit(const char *name)
{
	printf("%s: %u checks passed, %u failed\n", name, check_passes, check_failures);
	return check_failures ? 1 : 0;
}

#endif /* HOTMEM_TEST_CHECK_H */
