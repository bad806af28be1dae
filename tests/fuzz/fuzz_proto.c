/*
 * libFuzzer harness for the protocol v1 parsers. One source builds one binary
 * per parser: -DHOTMEM_FUZZ_TARGET=<name> picks which fuzz_<name>() the entry
 * point calls. Each target checks the two promises proto.h makes about every
 * input: a refused value returns -EINVAL and leaves ret_* untouched, and an
 * accepted value formats back to exactly the same bytes (for features, the
 * same bytes minus unknown tokens), with -ENOSPC and no overflow when the
 * buffer is one byte short. Any broken promise abort()s, which libFuzzer
 * reports as a crash; reads past len are caught by ASan because libFuzzer
 * hands over an exact-size heap copy of each input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotmem/proto.h"

#ifndef HOTMEM_FUZZ_TARGET
#error "define HOTMEM_FUZZ_TARGET to the parser to fuzz, e.g. -DHOTMEM_FUZZ_TARGET=request"
#endif

#define SENTINEL 0xa5

#define CONCAT2(a, b) a##b
#define CONCAT(a, b)  CONCAT2(a, b)

typedef uint64_t blocks_bitmap[HOTMEM_BLOCKS_WORDS];

static void check_refused(int rc, const void *value, size_t size)
{
	const unsigned char *bytes = value;
	size_t i;

	if (rc != -EINVAL)
		abort();
	for (i = 0; i < size; i++) {
		if (bytes[i] != SENTINEL)
			abort();
	}
}

/* The canonical text of an accepted value is the input itself... */
static size_t canonical_same(const char *in, size_t len, char *want)
{
	memcpy(want, in, len);
	return len;
}

static bool is_known_feature(const char *token, size_t len)
{
	uint32_t bit;

	for (bit = 1; bit <= HOTMEM_FEATURES_KNOWN; bit <<= 1) {
		const char *known = hotmem_feature_token(bit);

		if (strlen(known) == len && memcmp(known, token, len) == 0)
			return true;
	}
	return false;
}

/* ...except that a feature list loses its unknown tokens. */
static size_t canonical_features(const char *in, size_t len, char *want)
{
	size_t want_len = 0;
	size_t start = 0;

	while (start < len) {
		size_t end = start;

		while (end < len && in[end] != ' ')
			end++;
		if (is_known_feature(in + start, end - start)) {
			if (want_len)
				want[want_len++] = ' ';
			memcpy(want + want_len, in + start, end - start);
			want_len += end - start;
		}
		start = end + 1;
	}
	return want_len;
}

/* Statuses have no key of their own; format them the way an ack does. */
static int format_status(char *buf, size_t size, enum hotmem_status status)
{
	const char *token = hotmem_status_token(status);
	size_t len;

	if (!token)
		abort();
	len = strlen(token);
	if (len + 1 > size) {
		if (size)
			buf[0] = '\0';
		return -ENOSPC;
	}
	memcpy(buf, token, len + 1);
	return (int)len;
}

/*
 * FORMAT is an expression formatting `value` into `out` of `out_size` bytes;
 * it runs twice, with room for the canonical text and with one byte less.
 * ARG is how the value is passed to the parser.
 */
#define DEFINE_TARGET(name, type, parse, ARG, canonical, FORMAT)                    \
	static void __attribute__((unused)) fuzz_##name(const char *in, size_t len) \
	{                                                                           \
		static char want[HOTMEM_XS_VALUE_MAX + 1];                          \
		size_t want_len;                                                    \
		size_t out_size;                                                    \
		char *out;                                                          \
		type value;                                                         \
		int rc;                                                             \
                                                                                    \
		memset(&value, SENTINEL, sizeof(value));                            \
		rc = parse(in, len, ARG);                                           \
		if (rc) {                                                           \
			check_refused(rc, &value, sizeof(value));                   \
			return;                                                     \
		}                                                                   \
		want_len = canonical(in, len, want);                                \
		out_size = want_len + 1;                                            \
		out = malloc(out_size);                                             \
		if (!out)                                                           \
			abort();                                                    \
		rc = FORMAT;                                                        \
		if (rc != (int)want_len || memcmp(out, want, want_len) != 0 ||      \
		    out[want_len] != '\0')                                          \
			abort();                                                    \
		free(out);                                                          \
		out_size = want_len;                                                \
		out = malloc(out_size ? out_size : 1);                              \
		if (!out)                                                           \
			abort();                                                    \
		rc = FORMAT;                                                        \
		if (rc != -ENOSPC || (out_size && out[0] != '\0'))                  \
			abort();                                                    \
		free(out);                                                          \
	}

DEFINE_TARGET(version, uint32_t, hotmem_parse_version, &value, canonical_same,
	      hotmem_format_version(out, out_size, value))
DEFINE_TARGET(features, uint32_t, hotmem_parse_features, &value, canonical_features,
	      hotmem_format_features(out, out_size, value))
DEFINE_TARGET(window, struct hotmem_window, hotmem_parse_window, &value, canonical_same,
	      hotmem_format_window(out, out_size, &value))
DEFINE_TARGET(block_size, uint64_t, hotmem_parse_block_size, &value, canonical_same,
	      hotmem_format_block_size(out, out_size, value))
DEFINE_TARGET(memmap_bytes, uint64_t, hotmem_parse_memmap_bytes, &value, canonical_same,
	      hotmem_format_memmap_bytes(out, out_size, value))
DEFINE_TARGET(request, struct hotmem_request, hotmem_parse_request, &value, canonical_same,
	      hotmem_format_request(out, out_size, &value))
DEFINE_TARGET(stats_interval, uint32_t, hotmem_parse_stats_interval, &value, canonical_same,
	      hotmem_format_stats_interval(out, out_size, value))
DEFINE_TARGET(state, enum hotmem_state, hotmem_parse_state, &value, canonical_same,
	      hotmem_format_state(out, out_size, value))
DEFINE_TARGET(status, enum hotmem_status, hotmem_parse_status, &value, canonical_same,
	      format_status(out, out_size, value))
DEFINE_TARGET(ack, struct hotmem_ack, hotmem_parse_ack, &value, canonical_same,
	      hotmem_format_ack(out, out_size, &value))
DEFINE_TARGET(blocks, blocks_bitmap, hotmem_parse_blocks, value, canonical_same,
	      hotmem_format_blocks(out, out_size, value))
DEFINE_TARGET(stats, struct hotmem_stats, hotmem_parse_stats, &value, canonical_same,
	      hotmem_format_stats(out, out_size, &value))
DEFINE_TARGET(shutdown, enum hotmem_shutdown, hotmem_parse_shutdown, &value, canonical_same,
	      hotmem_format_shutdown(out, out_size, value))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CONCAT(fuzz_, HOTMEM_FUZZ_TARGET)((const char *)data, size);
	return 0;
}
