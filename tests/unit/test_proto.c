/*
 * Unit tests of protocol v1 (hv/abi/src/proto.c). For every xenstore key a table
 * of valid values, each of which must survive parse-then-format byte for byte,
 * and of malformed values, each of which must be refused without touching the
 * output. Every parser reads from a heap copy of exactly len bytes, so under
 * ASan any read past len fails the run; formatters write into heap buffers of
 * exactly the size they are given, for the same reason.
 */
#include <stdlib.h>

#include "check.h"
#include "hotmem/proto.h"

/* Fill byte for output parameters, to see whether a failed parse wrote them. */
#define SENTINEL 0xa5

/* Returned by a round-trip adapter when a failed parse touched its output. */
#define RC_TOUCHED (-100000)

/* Returned when the parser accepted a value that its own formatter refuses. */
#define RC_FORMAT_REFUSED (-100001)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct text_case {
	const char *text;
	size_t len;
	int want_rc; /* 0: valid, must round-trip; else the parser's result */
};

/* Built from string literals so embedded NULs count towards len. */
#define OK(s)                       \
	{                           \
		s, sizeof(s) - 1, 0 \
	}
#define BAD(s)                            \
	{                                 \
		s, sizeof(s) - 1, -EINVAL \
	}

typedef uint64_t blocks_bitmap[HOTMEM_BLOCKS_WORDS];

/* Parse in[0..len), then format the result into out; see DEFINE_ROUNDTRIP. */
typedef int (*roundtrip_fn)(const char *in, size_t len, char *out, size_t out_size);

static char *heap_copy(const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		abort();
	memcpy(copy, text, len);
	return copy;
}

static bool all_sentinel(const void *mem, size_t size)
{
	const unsigned char *bytes = mem;
	size_t i;

	for (i = 0; i < size; i++) {
		if (bytes[i] != SENTINEL)
			return false;
	}
	return true;
}

/*
 * One adapter per key: parse into a sentinel-filled value, report RC_TOUCHED
 * if a failure wrote it, else format what was parsed (RC_FORMAT_REFUSED if the
 * formatter calls it invalid, so a parser that is too lenient cannot hide
 * behind a strict formatter). ARG is how the value is passed to the parser
 * (&value for scalars and structs, value for a bitmap).
 */
#define DEFINE_ROUNDTRIP(name, type, parse, ARG, format_call)                               \
	static int roundtrip_##name(const char *in, size_t len, char *out, size_t out_size) \
	{                                                                                   \
		type value;                                                                 \
		int rc;                                                                     \
                                                                                            \
		memset(&value, SENTINEL, sizeof(value));                                    \
		rc = parse(in, len, ARG);                                                   \
		if (rc)                                                                     \
			return all_sentinel(&value, sizeof(value)) ? rc : RC_TOUCHED;       \
		rc = format_call;                                                           \
		return rc == -EINVAL ? RC_FORMAT_REFUSED : rc;                              \
	}

DEFINE_ROUNDTRIP(version, uint32_t, hotmem_parse_version, &value,
		 hotmem_format_version(out, out_size, value))
DEFINE_ROUNDTRIP(features, uint32_t, hotmem_parse_features, &value,
		 hotmem_format_features(out, out_size, value))
DEFINE_ROUNDTRIP(window, struct hotmem_window, hotmem_parse_window, &value,
		 hotmem_format_window(out, out_size, &value))
DEFINE_ROUNDTRIP(block_size, uint64_t, hotmem_parse_block_size, &value,
		 hotmem_format_block_size(out, out_size, value))
DEFINE_ROUNDTRIP(memmap_bytes, uint64_t, hotmem_parse_memmap_bytes, &value,
		 hotmem_format_memmap_bytes(out, out_size, value))
DEFINE_ROUNDTRIP(request, struct hotmem_request, hotmem_parse_request, &value,
		 hotmem_format_request(out, out_size, &value))
DEFINE_ROUNDTRIP(stats_interval, uint32_t, hotmem_parse_stats_interval, &value,
		 hotmem_format_stats_interval(out, out_size, value))
DEFINE_ROUNDTRIP(state, enum hotmem_state, hotmem_parse_state, &value,
		 hotmem_format_state(out, out_size, value))
DEFINE_ROUNDTRIP(ack, struct hotmem_ack, hotmem_parse_ack, &value,
		 hotmem_format_ack(out, out_size, &value))
DEFINE_ROUNDTRIP(blocks, blocks_bitmap, hotmem_parse_blocks, value,
		 hotmem_format_blocks(out, out_size, value))
DEFINE_ROUNDTRIP(stats, struct hotmem_stats, hotmem_parse_stats, &value,
		 hotmem_format_stats(out, out_size, &value))
DEFINE_ROUNDTRIP(shutdown, enum hotmem_shutdown, hotmem_parse_shutdown, &value,
		 hotmem_format_shutdown(out, out_size, value))

struct key_under_test {
	const char *name;
	roundtrip_fn roundtrip;
	bool empty_is_valid;
};

static const struct key_under_test keys[] = {
	{ "version", roundtrip_version, false },
	{ "features", roundtrip_features, true },
	{ "window", roundtrip_window, false },
	{ "block-size", roundtrip_block_size, false },
	{ "memmap-bytes", roundtrip_memmap_bytes, false },
	{ "request", roundtrip_request, false },
	{ "stats-interval-ms", roundtrip_stats_interval, false },
	{ "state", roundtrip_state, false },
	{ "ack", roundtrip_ack, false },
	{ "blocks", roundtrip_blocks, true },
	{ "stats", roundtrip_stats, false },
	{ "shutdown", roundtrip_shutdown, false },
};

static void print_escaped(const char *text, size_t len)
{
	size_t i;

	fputc('"', stderr);
	for (i = 0; i < len && i < 80; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fprintf(stderr, "%s\" (len %zu)", i < len ? "..." : "", len);
}

/*
 * A valid value must format back to itself with exactly len + 1 bytes of
 * room, and give -ENOSPC and an empty string with any less.
 */
static void check_roundtrip(const char *key, roundtrip_fn roundtrip, const char *text, size_t len)
{
	char *in = heap_copy(text, len);
	size_t out_size;
	int rc;

	for (out_size = 0; out_size <= len + 1; out_size++) {
		char *out = malloc(out_size ? out_size : 1);
		int want_rc = out_size == len + 1 ? (int)len : -ENOSPC;

		if (!out)
			abort();
		rc = roundtrip(in, len, out_size ? out : NULL, out_size);
		if (out_size == 0) {
			/* A NULL buffer is a caller bug, whatever the size. */
			if (rc != RC_FORMAT_REFUSED) {
				fprintf(stderr, "%s: format(NULL) of ", key);
				print_escaped(text, len);
				fprintf(stderr, "\n");
			}
			CHECK_EQ(rc, RC_FORMAT_REFUSED);
			rc = roundtrip(in, len, out, 0);
		}
		if (rc != want_rc) {
			fprintf(stderr, "%s: round trip of ", key);
			print_escaped(text, len);
			fprintf(stderr, " into %zu bytes\n", out_size);
		}
		CHECK_EQ(rc, want_rc);
		if (rc == (int)len && out_size == len + 1) {
			CHECK(memcmp(out, text, len) == 0);
			CHECK(out[len] == '\0');
		} else if (out_size > 0) {
			CHECK(out[0] == '\0');
		}
		free(out);
		/* Sizes 1..len-1 behave alike; stepping through long values is slow. */
		if (len > 64 && out_size == 2)
			out_size = len - 1;
	}
	free(in);
}

static void check_refused(const char *key, roundtrip_fn roundtrip, const char *text, size_t len,
			  int want_rc)
{
	char *in = heap_copy(text, len);
	char out[HOTMEM_XS_VALUE_MAX + 1];
	int rc;

	rc = roundtrip(in, len, out, sizeof(out));
	if (rc != want_rc) {
		fprintf(stderr, "%s: parse of ", key);
		print_escaped(text, len);
		fprintf(stderr, " should fail\n");
	}
	CHECK_EQ(rc, want_rc);
	free(in);
}

static void run_cases(const char *key, roundtrip_fn roundtrip, const struct text_case *cases,
		      size_t nr_cases)
{
	size_t i;

	for (i = 0; i < nr_cases; i++) {
		if (cases[i].want_rc == 0)
			check_roundtrip(key, roundtrip, cases[i].text, cases[i].len);
		else
			check_refused(key, roundtrip, cases[i].text, cases[i].len,
				      cases[i].want_rc);
	}
}

/* Malformed for every key: whitespace, signs, control bytes, stray text. */
static const struct text_case common_bad[] = {
	BAD(" "),	    BAD("  "),	 BAD("\n"),    BAD("\t"),     BAD("\r\n"),
	BAD("\0"),	    BAD("\0\0"), BAD("+1"),    BAD("-1"),     BAD("1 "),
	BAD(" 1"),	    BAD("1\n"),	 BAD("1\0"),   BAD("\0001"),  BAD("1.0"),
	BAD("0x1 "),	    BAD(" 0x1"), BAD("ok\n"),  BAD("ready "), BAD("Ready"),
	BAD("1 2 3 4 5 6"), BAD("\xff"), BAD("1-2\n"), BAD("a\tb"),   BAD("#"),
};

static void test_common_malformed(void)
{
	char *long_digits = malloc(HOTMEM_XS_VALUE_MAX + 1);
	char *long_spaces = malloc(HOTMEM_XS_VALUE_MAX + 1);
	size_t k;
	size_t i;

	if (!long_digits || !long_spaces)
		abort();
	long_digits[0] = '1';
	memset(long_digits + 1, '0', HOTMEM_XS_VALUE_MAX);
	memset(long_spaces, ' ', HOTMEM_XS_VALUE_MAX + 1);
	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		for (i = 0; i < ARRAY_SIZE(common_bad); i++)
			check_refused(keys[k].name, keys[k].roundtrip, common_bad[i].text,
				      common_bad[i].len, -EINVAL);
		check_refused(keys[k].name, keys[k].roundtrip, long_digits, HOTMEM_XS_VALUE_MAX + 1,
			      -EINVAL);
		check_refused(keys[k].name, keys[k].roundtrip, long_spaces, HOTMEM_XS_VALUE_MAX + 1,
			      -EINVAL);
		if (keys[k].empty_is_valid)
			check_roundtrip(keys[k].name, keys[k].roundtrip, "", 0);
		else
			check_refused(keys[k].name, keys[k].roundtrip, "", 0, -EINVAL);
	}
	free(long_digits);
	free(long_spaces);
}

static const struct text_case version_cases[] = {
	OK("1"),
	OK("2"),
	OK("10"),
	OK("4294967295"),
	BAD("0"),
	BAD("00"),
	BAD("01"),
	BAD("4294967296"),
	BAD("18446744073709551616"),
	BAD("99999999999999999999999"),
	BAD("0x1"),
	BAD("1 1"),
	BAD("1e3"),
	BAD("v1"),
};

static const struct text_case features_cases[] = {
	OK("stats"),
	OK("shrink"),
	OK("online-movable"),
	OK("memmap-on-memory"),
	OK("shrink stats"),
	OK("memmap-on-memory online-movable shrink stats"),
	OK("target-blocks"),
	OK("stats target-blocks"),
	OK("memmap-on-memory online-movable shrink stats target-blocks"),
	OK("populated-blocks"),
	OK("online-movable populated-blocks shrink"),
	OK("memmap-on-memory online-movable populated-blocks shrink stats target-blocks"),
	OK("reboot-notice"),
	OK("populated-blocks reboot-notice shrink"),
	OK("memmap-on-memory online-movable populated-blocks reboot-notice shrink stats "
	   "target-blocks"),
	OK("stats stats-swap"),
	OK("stats-swap target-blocks"),
	BAD("stats-swap stats"),
	BAD("target-blocks stats-swap"),
	BAD("shrink reboot-notice"),
	BAD("target-blocks stats"),
	BAD("shrink populated-blocks"),
	BAD("populated-blocks populated-blocks"),
	BAD("stats shrink"),
	BAD("stats stats"),
	BAD("shrink  stats"),
	BAD(" stats"),
	BAD("stats "),
	BAD("Stats"),
	BAD("STATS"),
	BAD("stats\n"),
	BAD("stats\0"),
	BAD("shrink\0stats"),
	BAD("1stats"),
	BAD("-stats"),
	BAD("st_ats"),
	BAD("st.ats"),
	BAD("shrink,stats"),
	BAD("shrink\tstats"),
	/* 32 bytes: one over the token limit. */
	BAD("abcdefghijklmnopqrstuvwxyzabcdef"),
	/* 17 tokens. */
	BAD("a b c d e f g h i j k l m n o p q"),
};

static const struct text_case window_cases[] = {
	OK("0x0 0x1"),
	OK("0x40000000 0x40000000"),
	OK("0x880000000 0x2000000000"),
	OK("0xfffffffffffffffe 0x1"),
	OK("0x0 0xffffffffffffffff"),
	OK("0xabcdef 0x123"),
	BAD("0x0 0x0"),
	BAD("0x1 0xffffffffffffffff"),
	BAD("0xffffffffffffffff 0x1"),
	BAD("0x00 0x1"),
	BAD("0x01 0x1"),
	BAD("0x1 0x01"),
	BAD("0X1 0x1"),
	BAD("0xA 0x1"),
	BAD("0x1 0xAbc"),
	BAD("1 0x1"),
	BAD("0x1 1"),
	BAD("x1 0x1"),
	BAD("0x 0x1"),
	BAD("0x1 0x"),
	BAD("0x1"),
	BAD("0x1 0x1 0x1"),
	BAD("0x1  0x1"),
	BAD("0x1 0x1\n"),
	BAD("0x1\t0x1"),
	BAD("0x10000000000000000 0x1"),
	BAD("0x0000000000000001 0x1"),
	BAD("0x-1 0x1"),
	BAD("0x+1 0x1"),
	BAD("0x1g 0x1"),
	BAD("0x1 0x1\0"),
	BAD("-0x1 0x1"),
};

static const struct text_case block_size_cases[] = {
	OK("0x100000"),	   OK("0x8000000"),    OK("0x40000000"),	   OK("0x400000000"),
	BAD("0x80000"),	   BAD("0x800000000"), BAD("0x8000001"),	   BAD("0xc000000"),
	BAD("0x0"),	   BAD("0x08000000"),  BAD("0X8000000"),	   BAD("134217728"),
	BAD("0x8000000 "), BAD("0x8000000\0"), BAD("0x8000000 0x8000000"),
};

static const struct text_case memmap_bytes_cases[] = {
	OK("0x0"),
	OK("0x1000"),
	OK("0x200000"),
	OK("0x3ffff000"),
	OK("0x3fffff000"),
	BAD("0x400000000"),
	BAD("0x800000000"),
	BAD("0x1"),
	BAD("0x1001"),
	BAD("0x00"),
	BAD("0x0200000"),
	BAD("0X200000"),
	BAD("2097152"),
	BAD("0x200000 "),
	BAD("0x200000\0"),
	BAD(""),
	BAD("0x"),
	BAD("0xfffffffffffff000"),
	BAD("0x10000000000000000"),
};

static const struct text_case request_cases[] = {
	OK("1 grow 0 1"),
	OK("12 grow 100 28"),
	OK("7 grow 0 4096"),
	OK("4294967295 grow 4095 1"),
	OK("2 shrink 1"),
	OK("3 shrink 4096"),
	BAD("0 grow 0 1"),
	BAD("01 grow 0 1"),
	BAD("4294967296 grow 0 1"),
	BAD("1 grow 0 0"),
	BAD("1 grow 4095 2"),
	BAD("1 grow 4096 1"),
	BAD("1 grow 0 4097"),
	BAD("1 grow 00 1"),
	BAD("1 grow 0 01"),
	BAD("1 grow 0 +1"),
	BAD("1 grow -0 1"),
	BAD("1 grow 1"),
	BAD("1 grow"),
	BAD("1 grow 0 1 "),
	BAD("1 grow 0 1 2"),
	BAD("1 grow  0 1"),
	BAD("1  grow 0 1"),
	BAD("1 GROW 0 1"),
	BAD("1 Grow 0 1"),
	BAD("1 plug 0 1"),
	BAD("1 grown 0 1"),
	BAD("1 gro 0 1"),
	BAD("1 shrink 0"),
	BAD("1 shrink 4097"),
	BAD("1 shrink 1 2"),
	BAD("1 shrink"),
	BAD("1 shrink\0 1"),
	BAD("1"),
	BAD("grow 0 1"),
	BAD("1 grow 0x0 0x1"),
	BAD("1 grow 0 1\n"),
};

static const struct text_case stats_interval_cases[] = {
	OK("0"),	BAD("1"),  BAD("99"),	OK("100"),	   OK("1000"),	 OK("3600000"),
	BAD("3600001"), BAD("00"), BAD("0100"), BAD("4294967296"), BAD("1000 "), BAD("1e3"),
};

static const struct text_case state_cases[] = {
	OK("init"),	OK("ready"),   OK("busy"),	  OK("broken"),	  OK("closed"),
	BAD("read"),	BAD("readyy"), BAD("READY"),	  BAD("ready\0"), BAD("ready\n"),
	BAD("unknown"), BAD("ok"),     BAD("init ready"), BAD("busy "),	  BAD("0"),
};

static const struct text_case shutdown_cases[] = {
	OK("reboot"),	BAD("poweroff "), OK("poweroff"),  OK("halt"),	   BAD("Reboot"),
	BAD("rebootx"), BAD("reboo"),	  BAD("reboot\0"), BAD(""),	   BAD("reboot halt"),
	BAD("ready"),	BAD("0"),	  BAD(" halt"),	   BAD("restart"),
};

static const struct text_case ack_cases[] = {
	OK("1 ok 4"),	  OK("4294967295 partial 4096"),
	OK("3 busy 0"),	  OK("5 nomem 2"),
	OK("6 inval 0"),  OK("7 unsupported 0"),
	OK("8 error 1"),  BAD("0 ok 1"),
	BAD("01 ok 1"),	  BAD("4294967296 ok 1"),
	BAD("1 OK 1"),	  BAD("1 fine 1"),
	BAD("1 o 1"),	  BAD("1 okay 1"),
	BAD("1 ok 4097"), BAD("1 ok 01"),
	BAD("1 ok -1"),	  BAD("1 ok"),
	BAD("1 ok 1 1"),  BAD("1  ok 1"),
	BAD("1 ok  1"),	  BAD("1 ok\0001"),
	BAD("ok 1"),
};

static const struct text_case blocks_cases[] = {
	OK("0"),
	OK("4095"),
	OK("0-4095"),
	OK("0 2"),
	OK("0-1 3-4"),
	OK("1 3 5-7 4095"),
	OK("4094-4095"),
	OK("10-19 100-199 1000-1999"),
	BAD("3-3"),
	BAD("2-1"),
	BAD("1 0"),
	BAD("1 1"),
	BAD("1-2 3"),
	BAD("1 2-3"),
	BAD("1-3 2-5"),
	BAD("1-3 3-5"),
	BAD("1-3 4-5"),
	BAD("4096"),
	BAD("0-4096"),
	BAD("1-"),
	BAD("-1-2"),
	BAD("1--2"),
	BAD("1-2-3"),
	BAD("01"),
	BAD("1-02"),
	BAD("00"),
	BAD("1  3"),
	BAD("1,3"),
	BAD("1\0 3"),
	BAD("1 3\n"),
	BAD("0x1"),
	BAD("1 3 "),
	BAD("99999999999999999999999"),
};

static const struct text_case stats_cases[] = {
	OK("0 0 0 0 0"),
	OK("1 1024 512 1234 10000"),
	OK("42 8388608 8388608 0 0"),
	OK("18446744073709551615 18446744073709551615 18446744073709551615 10000 10000"),
	BAD("1 512 1024 0 0"),
	BAD("1 1 1 10001 0"),
	BAD("1 1 1 0 10001"),
	BAD("18446744073709551616 1 1 0 0"),
	BAD("1 18446744073709551616 1 0 0"),
	BAD("1 1 1 0"),
	OK("1 1 1 0 0 0"),
	OK("7 262144 4096 9000 4500 131072"),
	OK("1 1 1 0 0 18014398509481984"),
	BAD("1 1 1 0 0 18014398509481985"),
	BAD("1 1 1 0 0 18446744073709551616"),
	BAD("1 1 1 0 0 01"),
	BAD("1 1 1 0 0 1 1"),
	BAD("1 1 1 0 0 "),
	BAD("1 1 1 0 0 -1"),
	BAD("01 1 1 0 0"),
	BAD("1 1 1 0.5 0"),
	BAD("1 1 1 12.34 0"),
	BAD("1 1  1 0 0"),
	BAD("1 1 1 0 0\n"),
	BAD("1 1 1 0 -0"),
};

#define RUN_TABLE(key_name, name) \
	run_cases(key_name, roundtrip_##name, name##_cases, ARRAY_SIZE(name##_cases))

static void test_tables(void)
{
	RUN_TABLE("version", version);
	RUN_TABLE("features", features);
	RUN_TABLE("window", window);
	RUN_TABLE("block-size", block_size);
	RUN_TABLE("memmap-bytes", memmap_bytes);
	RUN_TABLE("request", request);
	RUN_TABLE("stats-interval-ms", stats_interval);
	RUN_TABLE("state", state);
	RUN_TABLE("ack", ack);
	RUN_TABLE("blocks", blocks);
	RUN_TABLE("stats", stats);
	RUN_TABLE("shutdown", shutdown);
}

/* Parse a heap copy of exactly len bytes of text. */
#define PARSE_PREFIX(parse, text, len, ret)         \
	({                                          \
		char *copy_ = heap_copy(text, len); \
		int rc_ = parse(copy_, len, ret);   \
		free(copy_);                        \
		rc_;                                \
	})

/* The bytes after len look valid; a parser that reads them gives a wrong value. */
static void test_prefixes(void)
{
	uint32_t u32 = 0;
	uint64_t u64 = 0;
	struct hotmem_window window = { 0 };
	struct hotmem_request request = { 0 };
	struct hotmem_ack ack = { 0 };
	struct hotmem_stats stats = { 0 };
	enum hotmem_state state = HOTMEM_STATE_BROKEN;
	enum hotmem_status status = HOTMEM_STATUS_ERROR;
	blocks_bitmap bitmap;

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_version, "12", 1, &u32), 0);
	CHECK_EQ(u32, 1);
	CHECK_EQ(PARSE_PREFIX(hotmem_parse_version, "10", 1, &u32), 0);
	CHECK_EQ(u32, 1);
	CHECK_EQ(PARSE_PREFIX(hotmem_parse_version, "12", 0, &u32), -EINVAL);

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_features, "stats-x", 5, &u32), 0);
	CHECK_EQ(u32, HOTMEM_FEATURE_STATS);
	CHECK_EQ(PARSE_PREFIX(hotmem_parse_features, "shrink stats", 6, &u32), 0);
	CHECK_EQ(u32, HOTMEM_FEATURE_SHRINK);
	CHECK_EQ(PARSE_PREFIX(hotmem_parse_features, "shrink stats", 7, &u32), -EINVAL);

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_window, "0x1000 0x2000", 10, &window), 0);
	CHECK_EQ(window.base, 0x1000);
	CHECK_EQ(window.size, 0x2);

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_block_size, "0x1000000", 8, &u64), 0);
	CHECK_EQ(u64, 0x100000);

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_request, "7 grow 1 23", 10, &request), 0);
	CHECK_EQ(request.seq, 7);
	CHECK_EQ(request.op, HOTMEM_OP_GROW);
	CHECK_EQ(request.first, 1);
	CHECK_EQ(request.count, 2);
	CHECK_EQ(PARSE_PREFIX(hotmem_parse_request, "7 shrink 12", 10, &request), 0);
	CHECK_EQ(request.op, HOTMEM_OP_SHRINK);
	CHECK_EQ(request.first, 0);
	CHECK_EQ(request.count, 1);

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_stats_interval, "1000", 3, &u32), 0);
	CHECK_EQ(u32, 100);

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_state, "initx", 4, &state), 0);
	CHECK_EQ(state, HOTMEM_STATE_INIT);
	CHECK_EQ(PARSE_PREFIX(hotmem_parse_state, "ready", 4, &state), -EINVAL);
	CHECK_EQ(state, HOTMEM_STATE_INIT);

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_status, "okay", 2, &status), 0);
	CHECK_EQ(status, HOTMEM_STATUS_OK);

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_ack, "5 ok 12", 6, &ack), 0);
	CHECK_EQ(ack.seq, 5);
	CHECK_EQ(ack.status, HOTMEM_STATUS_OK);
	CHECK_EQ(ack.done, 1);

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_blocks, "1-23", 3, bitmap), 0);
	CHECK_EQ(hotmem_blocks_weight(bitmap, 0, HOTMEM_MAX_BLOCKS), 2);
	CHECK(hotmem_blocks_test(bitmap, 1));
	CHECK(hotmem_blocks_test(bitmap, 2));
	CHECK_EQ(PARSE_PREFIX(hotmem_parse_blocks, "1 3", 2, bitmap), -EINVAL);

	CHECK_EQ(PARSE_PREFIX(hotmem_parse_stats, "1 2 1 3 45", 9, &stats), 0);
	CHECK_EQ(stats.counter, 1);
	CHECK_EQ(stats.memtotal_kib, 2);
	CHECK_EQ(stats.memavail_kib, 1);
	CHECK_EQ(stats.psi_some_avg10, 3);
	CHECK_EQ(stats.psi_full_avg10, 4);
}

/* Values a round trip cannot show: what the parsers actually store. */
static void test_parsed_values(void)
{
	uint32_t u32 = 0;
	uint64_t u64 = 0;
	struct hotmem_window window = { 0 };
	struct hotmem_request request = { 0 };
	struct hotmem_ack ack = { 0 };
	struct hotmem_stats stats = { 0 };

	CHECK_EQ(hotmem_parse_version("4294967295", 10, &u32), 0);
	CHECK_EQ(u32, 4294967295u);
	CHECK_EQ(hotmem_parse_window("0x880000000 0x2000000000", 24, &window), 0);
	CHECK(window.base == 0x880000000ull && window.size == 0x2000000000ull);
	CHECK_EQ(hotmem_parse_block_size("0x400000000", 11, &u64), 0);
	CHECK(u64 == HOTMEM_BLOCK_SIZE_MAX);
	CHECK_EQ(hotmem_parse_request("12 grow 100 28", 14, &request), 0);
	CHECK(request.seq == 12 && request.op == HOTMEM_OP_GROW && request.first == 100 &&
	      request.count == 28);
	CHECK_EQ(hotmem_parse_ack("9 unsupported 0", 15, &ack), 0);
	CHECK(ack.seq == 9 && ack.status == HOTMEM_STATUS_UNSUPPORTED && ack.done == 0);
	CHECK_EQ(hotmem_parse_stats("3 1024 512 1234 10000", 21, &stats), 0);
	CHECK(stats.counter == 3 && stats.memtotal_kib == 1024 && stats.memavail_kib == 512 &&
	      stats.psi_some_avg10 == 1234 && stats.psi_full_avg10 == 10000);

	/* NULL output or a NULL buffer with bytes to read. */
	CHECK_EQ(hotmem_parse_version("1", 1, NULL), -EINVAL);
	CHECK_EQ(hotmem_parse_version(NULL, 1, &u32), -EINVAL);
	CHECK_EQ(hotmem_parse_blocks(NULL, 0, NULL), -EINVAL);
	CHECK_EQ(hotmem_parse_features(NULL, 0, &u32), 0);
	CHECK_EQ(u32, 0);
}

/* Unknown tokens are valid and ignored; only known ones reach the mask. */
static void test_features_negotiation(void)
{
	static const struct {
		const char *text;
		uint32_t want;
	} cases[] = {
		{ "alpha stats zeta", HOTMEM_FEATURE_STATS },
		{ "balloon-v2 memmap-on-memory shrink",
		  HOTMEM_FEATURE_MEMMAP_ON_MEMORY | HOTMEM_FEATURE_SHRINK },
		{ "a b c d e f g h i j k l m n o p", 0 },
		{ "abcdefghijklmnopqrstuvwxyzabcde", 0 },
		{ "shrink shrink-v2 stats", HOTMEM_FEATURE_SHRINK | HOTMEM_FEATURE_STATS },
		{ "a0 a1-", 0 },
	};
	uint32_t features;
	uint32_t bit;
	char text[HOTMEM_SHORT_VALUE_SIZE];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		features = ~0u;
		CHECK_EQ(hotmem_parse_features(cases[i].text, strlen(cases[i].text), &features), 0);
		CHECK_EQ(features, cases[i].want);
	}
	/* Each token names its own bit, and the table is in the order the parser wants. */
	for (bit = 1; bit <= HOTMEM_FEATURES_KNOWN; bit <<= 1) {
		const char *token = hotmem_feature_token(bit);

		CHECK(token != NULL);
		if (!token)
			continue;
		CHECK_EQ(hotmem_parse_features(token, strlen(token), &features), 0);
		CHECK_EQ(features, bit);
	}
	CHECK(hotmem_feature_token(0) == NULL);
	CHECK(hotmem_feature_token(3) == NULL);
	CHECK(hotmem_feature_token(1u << HOTMEM_FEATURE_COUNT) == NULL);
	CHECK_EQ(hotmem_format_features(text, sizeof(text), HOTMEM_FEATURES_KNOWN), 100);
	CHECK_STREQ(text, "memmap-on-memory online-movable populated-blocks reboot-notice shrink "
			  "stats stats-swap target-blocks");
	CHECK_EQ(hotmem_parse_features(text, 100, &features), 0);
	CHECK_EQ(features, HOTMEM_FEATURES_KNOWN);
	CHECK_STREQ(hotmem_feature_token(HOTMEM_FEATURE_POPULATED_BLOCKS), "populated-blocks");
	CHECK_EQ(hotmem_parse_features("populated-blocks", 16, &features), 0);
	CHECK_EQ(features, HOTMEM_FEATURE_POPULATED_BLOCKS);
	CHECK_EQ(hotmem_format_features(text, sizeof(text), 1u << HOTMEM_FEATURE_COUNT), -EINVAL);
	CHECK_EQ(hotmem_format_features(text, sizeof(text), 0), 0);
	CHECK_STREQ(text, "");

	/* Used features are the intersection of both lists. */
	CHECK_EQ((HOTMEM_FEATURE_SHRINK | HOTMEM_FEATURE_STATS) & HOTMEM_FEATURE_STATS,
		 HOTMEM_FEATURE_STATS);
}

static void test_formatters_refuse_invalid(void)
{
	char text[HOTMEM_SHORT_VALUE_SIZE];
	struct hotmem_window window;
	struct hotmem_request request;
	struct hotmem_ack ack;
	struct hotmem_stats stats;

	CHECK_EQ(hotmem_format_version(text, sizeof(text), 0), -EINVAL);
	CHECK_EQ(hotmem_format_version(NULL, 16, 1), -EINVAL);

	window = (struct hotmem_window){ .base = 0, .size = 0 };
	CHECK_EQ(hotmem_format_window(text, sizeof(text), &window), -EINVAL);
	window = (struct hotmem_window){ .base = 2, .size = ~0ull - 1 };
	CHECK_EQ(hotmem_format_window(text, sizeof(text), &window), -EINVAL);
	window = (struct hotmem_window){ .base = 1, .size = ~0ull - 1 };
	CHECK_EQ(hotmem_format_window(text, sizeof(text), &window), 22);
	CHECK_STREQ(text, "0x1 0xfffffffffffffffe");
	CHECK_EQ(hotmem_format_window(text, sizeof(text), NULL), -EINVAL);

	CHECK_EQ(hotmem_format_block_size(text, sizeof(text), 3ull << 20), -EINVAL);
	CHECK_EQ(hotmem_format_block_size(text, sizeof(text), 1ull << 19), -EINVAL);
	CHECK_EQ(hotmem_format_block_size(text, sizeof(text), 1ull << 35), -EINVAL);
	CHECK_EQ(hotmem_format_block_size(text, sizeof(text), 0), -EINVAL);

	request = (struct hotmem_request){ .seq = 0, .op = HOTMEM_OP_GROW, .first = 0, .count = 1 };
	CHECK_EQ(hotmem_format_request(text, sizeof(text), &request), -EINVAL);
	request.seq = 1;
	request.count = 0;
	CHECK_EQ(hotmem_format_request(text, sizeof(text), &request), -EINVAL);
	request.first = HOTMEM_MAX_BLOCKS - 1;
	request.count = 2;
	CHECK_EQ(hotmem_format_request(text, sizeof(text), &request), -EINVAL);
	request.first = ~0u;
	request.count = 2;
	CHECK_EQ(hotmem_format_request(text, sizeof(text), &request), -EINVAL);
	request =
		(struct hotmem_request){ .seq = 1, .op = HOTMEM_OP_SHRINK, .first = 1, .count = 1 };
	CHECK_EQ(hotmem_format_request(text, sizeof(text), &request), -EINVAL);
	request = (struct hotmem_request){ .seq = 1, .op = 0, .first = 0, .count = 1 };
	CHECK_EQ(hotmem_format_request(text, sizeof(text), &request), -EINVAL);
	request = (struct hotmem_request){ .seq = 1, .op = 3, .first = 0, .count = 1 };
	CHECK_EQ(hotmem_format_request(text, sizeof(text), &request), -EINVAL);

	CHECK_EQ(hotmem_format_stats_interval(text, sizeof(text), 1), -EINVAL);
	CHECK_EQ(hotmem_format_stats_interval(text, sizeof(text), 99), -EINVAL);
	CHECK_EQ(hotmem_format_stats_interval(text, sizeof(text), 3600001), -EINVAL);

	CHECK_EQ(hotmem_format_state(text, sizeof(text), HOTMEM_STATE_COUNT), -EINVAL);
	CHECK_EQ(hotmem_format_state(text, sizeof(text), (enum hotmem_state) - 1), -EINVAL);

	ack = (struct hotmem_ack){ .seq = 0, .status = HOTMEM_STATUS_OK, .done = 1 };
	CHECK_EQ(hotmem_format_ack(text, sizeof(text), &ack), -EINVAL);
	ack = (struct hotmem_ack){ .seq = 1, .status = HOTMEM_STATUS_COUNT, .done = 1 };
	CHECK_EQ(hotmem_format_ack(text, sizeof(text), &ack), -EINVAL);
	ack = (struct hotmem_ack){ .seq = 1, .status = HOTMEM_STATUS_OK, .done = 4097 };
	CHECK_EQ(hotmem_format_ack(text, sizeof(text), &ack), -EINVAL);

	stats = (struct hotmem_stats){ .counter = 1, .memtotal_kib = 1, .memavail_kib = 2 };
	CHECK_EQ(hotmem_format_stats(text, sizeof(text), &stats), -EINVAL);
	stats = (struct hotmem_stats){ .memtotal_kib = 2, .psi_some_avg10 = 10001 };
	CHECK_EQ(hotmem_format_stats(text, sizeof(text), &stats), -EINVAL);
	stats = (struct hotmem_stats){ .memtotal_kib = 2, .psi_full_avg10 = 10001 };
	CHECK_EQ(hotmem_format_stats(text, sizeof(text), &stats), -EINVAL);
	stats = (struct hotmem_stats){ .counter = ~0ull,
				       .memtotal_kib = ~0ull,
				       .memavail_kib = ~0ull,
				       .psi_some_avg10 = 10000,
				       .psi_full_avg10 = 10000 };
	CHECK_EQ(hotmem_format_stats(text, sizeof(text), &stats), 74);
	CHECK(74 < HOTMEM_SHORT_VALUE_SIZE);
}

static void test_tokens(void)
{
	enum hotmem_state state;
	enum hotmem_status status;
	int i;

	for (i = 0; i < HOTMEM_STATE_COUNT; i++) {
		const char *token = hotmem_state_token((enum hotmem_state)i);

		CHECK(token != NULL);
		if (!token)
			continue;
		CHECK_EQ(hotmem_parse_state(token, strlen(token), &state), 0);
		CHECK_EQ(state, i);
	}
	CHECK(hotmem_state_token(HOTMEM_STATE_COUNT) == NULL);

	for (i = 0; i < HOTMEM_SHUTDOWN_COUNT; i++) {
		const char *token = hotmem_shutdown_token((enum hotmem_shutdown)i);
		enum hotmem_shutdown how;

		CHECK(token != NULL);
		if (!token)
			continue;
		CHECK_EQ(hotmem_parse_shutdown(token, strlen(token), &how), 0);
		CHECK_EQ(how, i);
	}
	CHECK(hotmem_shutdown_token(HOTMEM_SHUTDOWN_COUNT) == NULL);
	CHECK_STREQ(hotmem_shutdown_token(HOTMEM_SHUTDOWN_REBOOT), "reboot");
	CHECK_STREQ(hotmem_state_token(HOTMEM_STATE_BROKEN), "broken");

	for (i = 0; i < HOTMEM_STATUS_COUNT; i++) {
		const char *token = hotmem_status_token((enum hotmem_status)i);

		CHECK(token != NULL);
		if (!token)
			continue;
		CHECK_EQ(hotmem_parse_status(token, strlen(token), &status), 0);
		CHECK_EQ(status, i);
	}
	CHECK(hotmem_status_token(HOTMEM_STATUS_COUNT) == NULL);
	CHECK(hotmem_status_token((enum hotmem_status) - 1) == NULL);
	CHECK_STREQ(hotmem_status_token(HOTMEM_STATUS_UNSUPPORTED), "unsupported");
	status = HOTMEM_STATUS_BUSY;
	CHECK_EQ(hotmem_parse_status("", 0, &status), -EINVAL);
	CHECK_EQ(hotmem_parse_status("ok ", 3, &status), -EINVAL);
	CHECK_EQ(status, HOTMEM_STATUS_BUSY);

	CHECK_EQ(hotmem_status_from_errno(0), HOTMEM_STATUS_OK);
	CHECK_EQ(hotmem_status_from_errno(-EBUSY), HOTMEM_STATUS_BUSY);
	CHECK_EQ(hotmem_status_from_errno(-EAGAIN), HOTMEM_STATUS_BUSY);
	CHECK_EQ(hotmem_status_from_errno(-ENOMEM), HOTMEM_STATUS_NOMEM);
	CHECK_EQ(hotmem_status_from_errno(-EINVAL), HOTMEM_STATUS_INVAL);
	CHECK_EQ(hotmem_status_from_errno(-ERANGE), HOTMEM_STATUS_INVAL);
	CHECK_EQ(hotmem_status_from_errno(-EEXIST), HOTMEM_STATUS_INVAL);
	CHECK_EQ(hotmem_status_from_errno(-EOPNOTSUPP), HOTMEM_STATUS_UNSUPPORTED);
	CHECK_EQ(hotmem_status_from_errno(-EIO), HOTMEM_STATUS_ERROR);
	CHECK_EQ(hotmem_status_from_errno(5), HOTMEM_STATUS_ERROR);
}

static void test_path(void)
{
	static const char *const bad_rels[] = {
		"", "/hotmem", "hotmem/", "hotmem//guest", "hot mem", "hotmem\n", "a.b", "a%b",
	};
	char text[64];
	char *exact;
	size_t i;
	int len;

	CHECK_EQ(hotmem_path(text, sizeof(text), 5, HOTMEM_KEY_GUEST_ACK), 32);
	CHECK_STREQ(text, "/local/domain/5/hotmem/guest/ack");
	CHECK_EQ(hotmem_path(text, sizeof(text), 0, HOTMEM_KEY_DIR), 22);
	CHECK_STREQ(text, "/local/domain/0/hotmem");
	CHECK_EQ(hotmem_path(text, sizeof(text), HOTMEM_DOMID_MAX, HOTMEM_KEY_STATS_INTERVAL), 44);
	CHECK_STREQ(text, "/local/domain/32751/hotmem/stats-interval-ms");
	CHECK_EQ(hotmem_path(text, sizeof(text), 1, "device/vif/0_x@y-z"), 34);
	CHECK_EQ(hotmem_path(text, sizeof(text), HOTMEM_DOMID_MAX + 1, HOTMEM_KEY_DIR), -EINVAL);
	CHECK_EQ(hotmem_path(text, sizeof(text), 1, NULL), -EINVAL);
	CHECK_EQ(hotmem_path(NULL, 0, 1, HOTMEM_KEY_DIR), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(bad_rels); i++)
		CHECK_EQ(hotmem_path(text, sizeof(text), 1, bad_rels[i]), -EINVAL);

	/* Exactly enough room, then one byte short. */
	len = hotmem_path(text, sizeof(text), 7, HOTMEM_KEY_GUEST_BLOCKS);
	CHECK_EQ(len, 35);
	exact = malloc((size_t)len + 1);
	if (!exact)
		abort();
	CHECK_EQ(hotmem_path(exact, (size_t)len + 1, 7, HOTMEM_KEY_GUEST_BLOCKS), len);
	CHECK_STREQ(exact, "/local/domain/7/hotmem/guest/blocks");
	CHECK_EQ(hotmem_path(exact, (size_t)len, 7, HOTMEM_KEY_GUEST_BLOCKS), -ENOSPC);
	CHECK_EQ(exact[0], '\0');
	free(exact);
}

static void test_versions(void)
{
	uint32_t version = 77;

	CHECK_EQ(hotmem_version_negotiate(1, HOTMEM_PROTO_VERSION, &version), 0);
	CHECK_EQ(version, 1);
	CHECK_EQ(hotmem_version_negotiate(5, 3, &version), 0);
	CHECK_EQ(version, 3);
	CHECK_EQ(hotmem_version_negotiate(2, 3, &version), 0);
	CHECK_EQ(version, 2);
	version = 77;
	CHECK_EQ(hotmem_version_negotiate(0, 1, &version), -EINVAL);
	CHECK_EQ(hotmem_version_negotiate(1, 0, &version), -EINVAL);
	CHECK_EQ(hotmem_version_negotiate(1, 1, NULL), -EINVAL);
	CHECK_EQ(version, 77);

	CHECK_EQ(hotmem_version_accept(1, 1), 0);
	CHECK_EQ(hotmem_version_accept(3, 2), 0);
	CHECK_EQ(hotmem_version_accept(1, 2), -EPROTO);
	CHECK_EQ(hotmem_version_accept(1, 0), -EINVAL);
	CHECK_EQ(hotmem_version_accept(0, 1), -EINVAL);
}

static void test_window_check(void)
{
	static const struct {
		uint64_t base;
		uint64_t size;
		uint64_t block_size;
		int want_rc;
		uint32_t want_blocks;
	} cases[] = {
		{ 0x80000000, 0x40000000, 0x8000000, 0, 8 },
		{ 0, 4096ull << 20, 1ull << 20, 0, 4096 },
		{ 0, 4097ull << 20, 1ull << 20, -ERANGE, 0 },
		{ 0, 4096ull << 34, 1ull << 34, 0, 4096 },
		{ 0x880000000, 0x8000000, 0x8000000, 0, 1 },
		{ 0x880000000, 0x8000000, 0x10000000, -EINVAL, 0 },
		{ 0x84000000, 0x8000000, 0x8000000, -EINVAL, 0 },
		{ 0x80000000, 0x8100000, 0x8000000, -EINVAL, 0 },
		{ 0x80000000, 0, 0x8000000, -EINVAL, 0 },
		{ 0x80000000, 0x8000000, 0, -EINVAL, 0 },
		{ 0x80000000, 0x8000000, 0x3000000, -EINVAL, 0 },
		{ 0x80000000, 0x8000000, 1ull << 35, -EINVAL, 0 },
		{ 1ull << 63, 1ull << 63, 1ull << 30, -EINVAL, 0 },
	};
	struct hotmem_window window;
	uint32_t nr_blocks;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		window.base = cases[i].base;
		window.size = cases[i].size;
		nr_blocks = 12345;
		CHECK_EQ(hotmem_window_check(&window, cases[i].block_size, &nr_blocks),
			 cases[i].want_rc);
		CHECK_EQ(nr_blocks, cases[i].want_rc ? 12345 : cases[i].want_blocks);
	}
	CHECK_EQ(hotmem_window_check(NULL, 1ull << 20, &nr_blocks), -EINVAL);
	CHECK_EQ(hotmem_window_check(&window, 1ull << 20, NULL), -EINVAL);

	/* memmap-bytes against the block size it describes. */
	CHECK_EQ(hotmem_memmap_bytes_check(0, 1ull << 27), 0);
	CHECK_EQ(hotmem_memmap_bytes_check(2ull << 20, 1ull << 27), 0);
	CHECK_EQ(hotmem_memmap_bytes_check((1ull << 27) - 4096, 1ull << 27), 0);
	CHECK_EQ(hotmem_memmap_bytes_check(1ull << 27, 1ull << 27), -EINVAL);
	CHECK_EQ(hotmem_memmap_bytes_check(2ull << 20, (1ull << 27) + 4096), -EINVAL);
	CHECK_EQ(hotmem_memmap_bytes_check((2ull << 20) + 512, 1ull << 27), -EINVAL);
	CHECK_EQ(hotmem_memmap_bytes_check(0, 0), -EINVAL);
	{
		char text[32];

		CHECK_EQ(hotmem_format_memmap_bytes(NULL, 8, 0), -EINVAL);
		CHECK_EQ(hotmem_format_memmap_bytes(text, sizeof(text), 0x1001), -EINVAL);
		CHECK_EQ(hotmem_format_memmap_bytes(text, sizeof(text), 0x200000), 8);
		CHECK_STREQ(text, "0x200000");
	}
	CHECK(hotmem_block_size_valid(HOTMEM_BLOCK_SIZE_MIN));
	CHECK(hotmem_block_size_valid(HOTMEM_BLOCK_SIZE_MAX));
	CHECK(!hotmem_block_size_valid(HOTMEM_BLOCK_SIZE_MIN >> 1));
	CHECK(!hotmem_block_size_valid(HOTMEM_BLOCK_SIZE_MAX << 1));
	CHECK(!hotmem_block_size_valid((1ull << 27) + (1ull << 20)));
}

static void test_requests(void)
{
	blocks_bitmap plugged;
	struct hotmem_request request;
	uint32_t seq = 0;

	hotmem_blocks_zero(plugged);
	CHECK_EQ(hotmem_blocks_set(plugged, 4, 2), 0);

	request = (struct hotmem_request){ .seq = 5, .op = HOTMEM_OP_GROW, .first = 0, .count = 4 };
	CHECK_EQ(hotmem_request_check(&request, 4, 8, plugged), 0);
	CHECK_EQ(hotmem_request_check(&request, 5, 8, plugged), -EALREADY);
	CHECK_EQ(hotmem_request_check(&request, 6, 8, plugged), -EALREADY);
	request.count = 5;
	CHECK_EQ(hotmem_request_check(&request, 4, 8, plugged), -EEXIST);
	request.first = 6;
	request.count = 2;
	CHECK_EQ(hotmem_request_check(&request, 4, 8, plugged), 0);
	request.count = 3;
	CHECK_EQ(hotmem_request_check(&request, 4, 8, plugged), -ERANGE);
	CHECK_EQ(hotmem_request_check(&request, 4, HOTMEM_MAX_BLOCKS + 1, plugged), -EINVAL);
	CHECK_EQ(hotmem_request_check(&request, 4, 8, NULL), -EINVAL);
	CHECK_EQ(hotmem_request_check(NULL, 4, 8, plugged), -EINVAL);

	request = (struct hotmem_request){ .seq = 9, .op = HOTMEM_OP_SHRINK, .count = 8 };
	CHECK_EQ(hotmem_request_check(&request, 4, 8, plugged), 0);
	request.count = 9;
	CHECK_EQ(hotmem_request_check(&request, 4, 8, plugged), -ERANGE);
	request.first = 1;
	CHECK_EQ(hotmem_request_check(&request, 4, 8, plugged), -EINVAL);

	CHECK_EQ(hotmem_seq_next(0, &seq), 0);
	CHECK_EQ(seq, 1);
	CHECK_EQ(hotmem_seq_next(41, &seq), 0);
	CHECK_EQ(seq, 42);
	CHECK_EQ(hotmem_seq_next(0xffffffffu, &seq), -EOVERFLOW);
	CHECK_EQ(seq, 42);
	CHECK_EQ(hotmem_seq_next(1, NULL), -EINVAL);
}

static void test_ack_check(void)
{
	static const struct {
		uint32_t ack_seq;
		enum hotmem_status status;
		uint32_t done;
		int want_rc;
	} cases[] = {
		{ 10, HOTMEM_STATUS_OK, 4, 0 },
		{ 10, HOTMEM_STATUS_OK, 3, -EPROTO },
		{ 10, HOTMEM_STATUS_OK, 5, -EPROTO },
		{ 10, HOTMEM_STATUS_PARTIAL, 1, 0 },
		{ 10, HOTMEM_STATUS_PARTIAL, 3, 0 },
		{ 10, HOTMEM_STATUS_PARTIAL, 0, -EPROTO },
		{ 10, HOTMEM_STATUS_PARTIAL, 4, -EPROTO },
		{ 10, HOTMEM_STATUS_BUSY, 0, 0 },
		{ 10, HOTMEM_STATUS_NOMEM, 2, 0 },
		{ 10, HOTMEM_STATUS_INVAL, 0, 0 },
		{ 10, HOTMEM_STATUS_UNSUPPORTED, 0, 0 },
		{ 10, HOTMEM_STATUS_ERROR, 3, 0 },
		{ 10, HOTMEM_STATUS_ERROR, 4, -EPROTO },
		{ 10, HOTMEM_STATUS_BUSY, 5, -EPROTO },
		{ 9, HOTMEM_STATUS_OK, 4, -EAGAIN },
		{ 1, HOTMEM_STATUS_ERROR, 0, -EAGAIN },
		{ 11, HOTMEM_STATUS_OK, 4, -EPROTO },
		{ 0, HOTMEM_STATUS_OK, 4, -EINVAL },
		{ 10, HOTMEM_STATUS_COUNT, 4, -EINVAL },
		{ 10, HOTMEM_STATUS_ERROR, HOTMEM_MAX_BLOCKS + 1, -EINVAL },
	};
	struct hotmem_request request = { .seq = 10, .op = HOTMEM_OP_GROW, .first = 8, .count = 4 };
	struct hotmem_ack ack;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ack.seq = cases[i].ack_seq;
		ack.status = cases[i].status;
		ack.done = cases[i].done;
		CHECK_EQ(hotmem_ack_check(&request, &ack), cases[i].want_rc);
	}
	request.op = HOTMEM_OP_SHRINK;
	request.first = 0;
	ack = (struct hotmem_ack){ .seq = 10, .status = HOTMEM_STATUS_OK, .done = 4 };
	CHECK_EQ(hotmem_ack_check(&request, &ack), 0);
	request.count = 0;
	CHECK_EQ(hotmem_ack_check(&request, &ack), -EINVAL);
	CHECK_EQ(hotmem_ack_check(NULL, &ack), -EINVAL);
	CHECK_EQ(hotmem_ack_check(&request, NULL), -EINVAL);
}

static void test_bitmap_helpers(void)
{
	blocks_bitmap granted;
	blocks_bitmap online;
	blocks_bitmap reclaim;

	hotmem_blocks_zero(granted);
	hotmem_blocks_zero(online);
	CHECK_EQ(hotmem_blocks_weight(granted, 0, HOTMEM_MAX_BLOCKS), 0);
	CHECK_EQ(hotmem_blocks_set(granted, 60, 10), 0);
	CHECK_EQ(hotmem_blocks_weight(granted, 0, HOTMEM_MAX_BLOCKS), 10);
	CHECK_EQ(hotmem_blocks_weight(granted, 64, 64), 6);
	CHECK_EQ(hotmem_blocks_weight(granted, 0, 0), 0);
	CHECK(!hotmem_blocks_test(granted, 59));
	CHECK(hotmem_blocks_test(granted, 60));
	CHECK(hotmem_blocks_test(granted, 69));
	CHECK(!hotmem_blocks_test(granted, 70));
	CHECK(!hotmem_blocks_test(granted, HOTMEM_MAX_BLOCKS));
	CHECK_EQ(hotmem_blocks_set(granted, HOTMEM_MAX_BLOCKS - 1, 1), 0);
	CHECK(hotmem_blocks_test(granted, HOTMEM_MAX_BLOCKS - 1));
	CHECK_EQ(hotmem_blocks_set(granted, HOTMEM_MAX_BLOCKS, 1), -EINVAL);
	CHECK_EQ(hotmem_blocks_set(granted, 0, 0), -EINVAL);
	CHECK_EQ(hotmem_blocks_set(granted, 1, ~0u), -EINVAL);
	CHECK_EQ(hotmem_blocks_clear(granted, ~0u, 2), -EINVAL);
	CHECK_EQ(hotmem_blocks_weight(granted, 1, HOTMEM_MAX_BLOCKS), -EINVAL);
	CHECK_EQ(hotmem_blocks_set(NULL, 0, 1), -EINVAL);

	/* Reclaim after a shrink: granted, but no longer online. */
	CHECK_EQ(hotmem_blocks_set(online, 60, 10), 0);
	CHECK_EQ(hotmem_blocks_clear(online, 66, 4), 0);
	hotmem_blocks_andnot(reclaim, granted, online);
	CHECK_EQ(hotmem_blocks_weight(reclaim, 0, HOTMEM_MAX_BLOCKS), 5);
	CHECK_EQ(hotmem_blocks_weight(reclaim, 66, 4), 4);
	hotmem_blocks_andnot(granted, granted, online);
	CHECK(memcmp(granted, reclaim, sizeof(granted)) == 0);
}

/* Sets near the xenstore size limit, and a failed parse leaving the bitmap alone. */
static void test_blocks_limits(void)
{
	static char text[3 * HOTMEM_XS_VALUE_MAX];
	blocks_bitmap bitmap;
	blocks_bitmap untouched;
	uint32_t block;
	int nr_ranges;
	int len;

	/* 409 ranges of two 4-digit blocks: 409 * 9 + 408 = 4089 bytes, the worst that fits. */
	hotmem_blocks_zero(bitmap);
	for (nr_ranges = 0, block = 1000; nr_ranges < 409; nr_ranges++, block += 3)
		hotmem_blocks_set(bitmap, block, 2);
	len = hotmem_format_blocks(text, HOTMEM_XS_VALUE_MAX + 1, bitmap);
	CHECK_EQ(len, 4089);
	if (len > 0)
		check_roundtrip("blocks", roundtrip_blocks, text, (size_t)len);

	/* Every other block: far over the limit, cannot be published. */
	hotmem_blocks_zero(bitmap);
	for (block = 0; block < HOTMEM_MAX_BLOCKS; block += 2)
		hotmem_blocks_set(bitmap, block, 1);
	CHECK_EQ(hotmem_format_blocks(text, HOTMEM_XS_VALUE_MAX + 1, bitmap), -ENOSPC);
	CHECK_EQ(text[0], '\0');
	len = hotmem_format_blocks(text, sizeof(text), bitmap);
	CHECK(len > (int)HOTMEM_XS_VALUE_MAX);
	if (len > 0)
		check_refused("blocks", roundtrip_blocks, text, (size_t)len, -EINVAL);

	/* Everything: one range. */
	hotmem_blocks_zero(bitmap);
	hotmem_blocks_set(bitmap, 0, HOTMEM_MAX_BLOCKS);
	CHECK_EQ(hotmem_format_blocks(text, sizeof(text), bitmap), 6);
	CHECK_STREQ(text, "0-4095");
	CHECK_EQ(hotmem_format_blocks(NULL, 16, bitmap), -EINVAL);
	CHECK_EQ(hotmem_format_blocks(text, sizeof(text), NULL), -EINVAL);

	/* A failure late in the value must not leave earlier ranges behind. */
	memset(untouched, SENTINEL, sizeof(untouched));
	memcpy(bitmap, untouched, sizeof(bitmap));
	CHECK_EQ(hotmem_parse_blocks("0-9 20 15", 9, bitmap), -EINVAL);
	CHECK(memcmp(bitmap, untouched, sizeof(bitmap)) == 0);
	CHECK_EQ(hotmem_parse_blocks("0-9 20", 6, bitmap), 0);
	CHECK_EQ(hotmem_blocks_weight(bitmap, 0, HOTMEM_MAX_BLOCKS), 11);
}

int main(void)
{
	test_common_malformed();
	test_tables();
	test_prefixes();
	test_parsed_values();
	test_features_negotiation();
	test_formatters_refuse_invalid();
	test_tokens();
	test_path();
	test_versions();
	test_window_check();
	test_requests();
	test_ack_check();
	test_bitmap_helpers();
	test_blocks_limits();
	return check_exit("test_proto");
}
