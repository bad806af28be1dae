/*
 * Protocol v1 text: parsers and formatters for every hotmem xenstore value,
 * plus the small checks both ends run on parsed values. Builds unchanged in
 * the Linux module and on the host, so it uses no libc: the number, token and
 * field helpers at the top stand in for strtoul, strcmp and snprintf. Every
 * parser accepts exactly one spelling per value (the one its formatter
 * writes), which is what lets the toolstack compare values byte for byte and
 * the fuzzers check format(parse(text)) == text.
 */
#include "hotmem/proto.h"

#define U32_ALL_ONES ((uint32_t)~0u)
#define U64_ALL_ONES ((uint64_t)~0ull)

/* Longest canonical numbers: 2^64 - 1 has 20 decimal and 16 hex digits. */
#define DEC_DIGITS_MAX 20
#define HEX_DIGITS_MAX 16

/* xenstore limits a relative path to 2048 bytes (XENSTORE_REL_PATH_MAX). */
#define REL_PATH_MAX 2048

static const char *const feature_tokens[HOTMEM_FEATURE_COUNT] = {
	"memmap-on-memory", "online-movable", "populated-blocks", "reboot-notice",
	"shrink",	    "stats",	      "stats-swap",	  "target-blocks",
};

static const char *const shutdown_tokens[HOTMEM_SHUTDOWN_COUNT] = {
	[HOTMEM_SHUTDOWN_REBOOT] = "reboot",
	[HOTMEM_SHUTDOWN_POWEROFF] = "poweroff",
	[HOTMEM_SHUTDOWN_HALT] = "halt",
};

static const char *const state_tokens[HOTMEM_STATE_COUNT] = {
	[HOTMEM_STATE_INIT] = "init",	  [HOTMEM_STATE_READY] = "ready",
	[HOTMEM_STATE_BUSY] = "busy",	  [HOTMEM_STATE_BROKEN] = "broken",
	[HOTMEM_STATE_CLOSED] = "closed",
};

static const char *const status_tokens[HOTMEM_STATUS_COUNT] = {
	[HOTMEM_STATUS_OK] = "ok",	 [HOTMEM_STATUS_PARTIAL] = "partial",
	[HOTMEM_STATUS_BUSY] = "busy",	 [HOTMEM_STATUS_NOMEM] = "nomem",
	[HOTMEM_STATUS_INVAL] = "inval", [HOTMEM_STATUS_UNSUPPORTED] = "unsupported",
	[HOTMEM_STATUS_ERROR] = "error",
};

/* A borrowed run of bytes inside a value; never NUL-terminated. */
struct span {
	const char *bytes;
	size_t len;
};

/*
 * Walks a value field by field. Fields are separated by exactly one space;
 * `pos` is where the next separator (or the end) is expected, so leading,
 * trailing and doubled spaces all show up as an empty field.
 */
struct field_cursor {
	const char *buf;
	size_t len;
	size_t pos;
	bool started; /* a field was taken, so the next one needs a separator */
};

/* Collects formatter output; counts what would not fit so we can report -ENOSPC. */
struct text_out {
	char *buf;
	size_t size;
	size_t len; /* bytes produced, including any that did not fit */
};

static bool span_is_token(struct span field, const char *token)
{
	size_t i;

	/* Stop at the token's NUL so a longer field never reads past it. */
	for (i = 0; i < field.len; i++) {
		if (token[i] == '\0' || token[i] != field.bytes[i])
			return false;
	}
	return token[field.len] == '\0';
}

/* Index of the token equal to field in a table of count tokens, or -EINVAL. */
static int span_token_index(struct span field, const char *const *tokens, int count)
{
	int i;

	for (i = 0; i < count; i++) {
		if (span_is_token(field, tokens[i]))
			return i;
	}
	return -EINVAL;
}

/* Canonical decimal: digits only, no leading zero unless the value is 0. */
static int span_to_u64_dec(struct span field, uint64_t *ret_value)
{
	uint64_t value = 0;
	size_t i;

	if (field.len == 0 || field.len > DEC_DIGITS_MAX)
		return -EINVAL;
	if (field.bytes[0] == '0' && field.len > 1)
		return -EINVAL;
	for (i = 0; i < field.len; i++) {
		char c = field.bytes[i];
		unsigned int digit;

		if (c < '0' || c > '9')
			return -EINVAL;
		digit = (unsigned int)(c - '0');
		if (value > (U64_ALL_ONES - digit) / 10)
			return -EINVAL;
		value = value * 10 + digit;
	}
	*ret_value = value;
	return 0;
}

/* Canonical decimal in [min, max]. */
static int span_to_u32_dec(struct span field, uint32_t min, uint32_t max, uint32_t *ret_value)
{
	uint64_t value;
	int rc;

	rc = span_to_u64_dec(field, &value);
	if (rc)
		return rc;
	if (value < min || value > max)
		return -EINVAL;
	*ret_value = (uint32_t)value;
	return 0;
}

/* Canonical hex: "0x", lowercase digits, no leading zero unless the value is 0. */
static int span_to_u64_hex(struct span field, uint64_t *ret_value)
{
	uint64_t value = 0;
	size_t nr_digits;
	size_t i;

	if (field.len < 3 || field.bytes[0] != '0' || field.bytes[1] != 'x')
		return -EINVAL;
	nr_digits = field.len - 2;
	if (nr_digits > HEX_DIGITS_MAX)
		return -EINVAL;
	if (field.bytes[2] == '0' && nr_digits > 1)
		return -EINVAL;
	for (i = 2; i < field.len; i++) {
		char c = field.bytes[i];
		unsigned int digit;

		if (c >= '0' && c <= '9')
			digit = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			digit = (unsigned int)(c - 'a' + 10);
		else
			return -EINVAL;
		/* At most 16 digits, so this never shifts out a set bit. */
		value = (value << 4) | digit;
	}
	*ret_value = value;
	return 0;
}

/*
 * Common entry check of every parser: arguments present and the value no
 * longer than xenstore can carry. A NULL buf is fine only when len is 0.
 */
static bool value_ok(const char *buf, size_t len, const void *ret)
{
	if (!ret || len > HOTMEM_XS_VALUE_MAX)
		return false;
	return buf || len == 0;
}

static void cursor_init(struct field_cursor *cursor, const char *buf, size_t len)
{
	cursor->buf = buf;
	cursor->len = len;
	cursor->pos = 0;
	cursor->started = false;
}

static int cursor_next(struct field_cursor *cursor, struct span *ret_field)
{
	size_t start = cursor->pos;
	size_t end;

	if (cursor->started) {
		if (start >= cursor->len || cursor->buf[start] != ' ')
			return -EINVAL;
		start++;
	}
	end = start;
	while (end < cursor->len && cursor->buf[end] != ' ')
		end++;
	if (end == start)
		return -EINVAL;
	ret_field->bytes = cursor->buf + start;
	ret_field->len = end - start;
	cursor->pos = end;
	cursor->started = true;
	return 0;
}

static bool cursor_at_end(const struct field_cursor *cursor)
{
	return cursor->pos == cursor->len;
}

static void out_init(struct text_out *out, char *buf, size_t size)
{
	out->buf = buf;
	out->size = size;
	out->len = 0;
}

static void out_char(struct text_out *out, char c)
{
	/* Keep the last byte of buf for the NUL. */
	if (out->len + 1 < out->size)
		out->buf[out->len] = c;
	out->len++;
}

static void out_str(struct text_out *out, const char *str)
{
	while (*str)
		out_char(out, *str++);
}

static void out_dec(struct text_out *out, uint64_t value)
{
	char digits[DEC_DIGITS_MAX];
	int nr_digits = 0;

	do {
		digits[nr_digits++] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	while (nr_digits)
		out_char(out, digits[--nr_digits]);
}

static void out_hex(struct text_out *out, uint64_t value)
{
	int shift = 60;

	out_str(out, "0x");
	/* Skip leading zero nibbles but always print the last one. */
	while (shift > 0 && ((value >> shift) & 0xf) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		out_char(out, "0123456789abcdef"[(value >> shift) & 0xf]);
}

static int out_finish(struct text_out *out)
{
	if (out->len >= out->size) {
		if (out->size)
			out->buf[0] = '\0';
		return -ENOSPC;
	}
	out->buf[out->len] = '\0';
	return (int)out->len;
}

/* Formatter entry check: a NULL buf is a caller bug whatever the size. */
static int out_start(struct text_out *out, char *buf, size_t size)
{
	if (!buf)
		return -EINVAL;
	out_init(out, buf, size);
	return 0;
}

int hotmem_path(char *buf, size_t size, uint32_t domid, const char *rel)
{
	struct text_out out;
	size_t rel_len;
	size_t i;

	if (!buf || !rel || domid > HOTMEM_DOMID_MAX)
		return -EINVAL;
	for (rel_len = 0; rel_len <= REL_PATH_MAX && rel[rel_len]; rel_len++) {
		char c = rel[rel_len];
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '@';

		if (!plain && c != '/')
			return -EINVAL;
	}
	if (rel_len == 0 || rel_len > REL_PATH_MAX)
		return -EINVAL;
	if (rel[0] == '/' || rel[rel_len - 1] == '/')
		return -EINVAL;
	for (i = 1; i < rel_len; i++) {
		if (rel[i] == '/' && rel[i - 1] == '/')
			return -EINVAL;
	}

	out_init(&out, buf, size);
	out_str(&out, "/local/domain/");
	out_dec(&out, domid);
	out_char(&out, '/');
	out_str(&out, rel);
	return out_finish(&out);
}

/* A whole value that is one canonical decimal u32 in [min, max]. */
static int parse_single_u32(const char *buf, size_t len, uint32_t min, uint32_t max,
			    uint32_t *ret_value)
{
	struct span field = { buf, len };

	if (!value_ok(buf, len, ret_value))
		return -EINVAL;
	return span_to_u32_dec(field, min, max, ret_value);
}

static int format_single_u64(char *buf, size_t size, uint64_t value)
{
	struct text_out out;

	if (out_start(&out, buf, size))
		return -EINVAL;
	out_dec(&out, value);
	return out_finish(&out);
}

int hotmem_parse_version(const char *buf, size_t len, uint32_t *ret_version)
{
	return parse_single_u32(buf, len, 1, U32_ALL_ONES, ret_version);
}

int hotmem_format_version(char *buf, size_t size, uint32_t version)
{
	if (version == 0)
		return -EINVAL;
	return format_single_u64(buf, size, version);
}

int hotmem_version_negotiate(uint32_t offered, uint32_t supported, uint32_t *ret_version)
{
	if (offered == 0 || supported == 0 || !ret_version)
		return -EINVAL;
	*ret_version = offered < supported ? offered : supported;
	return 0;
}

int hotmem_version_accept(uint32_t offered, uint32_t guest_version)
{
	if (offered == 0 || guest_version == 0)
		return -EINVAL;
	if (guest_version > offered)
		return -EPROTO;
	return 0;
}

/* [a-z][a-z0-9-]{0,30} */
static bool feature_token_ok(struct span token)
{
	size_t i;

	if (token.len == 0 || token.len > HOTMEM_FEATURE_TOKEN_LEN_MAX)
		return false;
	if (token.bytes[0] < 'a' || token.bytes[0] > 'z')
		return false;
	for (i = 1; i < token.len; i++) {
		char c = token.bytes[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* Byte-wise order; a proper prefix sorts first. True iff a < b strictly. */
static bool span_less(struct span a, struct span b)
{
	size_t common = a.len < b.len ? a.len : b.len;
	size_t i;

	for (i = 0; i < common; i++) {
		if (a.bytes[i] != b.bytes[i])
			return (unsigned char)a.bytes[i] < (unsigned char)b.bytes[i];
	}
	return a.len < b.len;
}

int hotmem_parse_features(const char *buf, size_t len, uint32_t *ret_features)
{
	struct field_cursor cursor;
	struct span previous = { NULL, 0 };
	struct span token;
	uint32_t features = 0;
	unsigned int nr_tokens = 0;
	int index;

	if (!value_ok(buf, len, ret_features))
		return -EINVAL;
	cursor_init(&cursor, buf, len);
	while (!cursor_at_end(&cursor)) {
		if (cursor_next(&cursor, &token))
			return -EINVAL;
		if (!feature_token_ok(token) || ++nr_tokens > HOTMEM_FEATURE_TOKENS_MAX)
			return -EINVAL;
		/* One order only, so the list has one spelling and no duplicates. */
		if (previous.bytes && !span_less(previous, token))
			return -EINVAL;
		previous = token;
		index = span_token_index(token, feature_tokens, HOTMEM_FEATURE_COUNT);
		if (index >= 0)
			features |= 1u << index;
	}
	*ret_features = features;
	return 0;
}

int hotmem_format_features(char *buf, size_t size, uint32_t features)
{
	struct text_out out;
	bool first = true;
	int bit;

	if (features & ~HOTMEM_FEATURES_KNOWN)
		return -EINVAL;
	if (out_start(&out, buf, size))
		return -EINVAL;
	/* Bit order is token order, see enum hotmem_feature. */
	for (bit = 0; bit < HOTMEM_FEATURE_COUNT; bit++) {
		if (!(features & (1u << bit)))
			continue;
		if (!first)
			out_char(&out, ' ');
		out_str(&out, feature_tokens[bit]);
		first = false;
	}
	return out_finish(&out);
}

const char *hotmem_feature_token(uint32_t feature)
{
	int bit;

	for (bit = 0; bit < HOTMEM_FEATURE_COUNT; bit++) {
		if (feature == 1u << bit)
			return feature_tokens[bit];
	}
	return NULL;
}

static bool window_ok(const struct hotmem_window *window)
{
	return window->size != 0 && window->base <= U64_ALL_ONES - window->size;
}

int hotmem_parse_window(const char *buf, size_t len, struct hotmem_window *ret_window)
{
	struct field_cursor cursor;
	struct span field;
	struct hotmem_window window;

	if (!value_ok(buf, len, ret_window))
		return -EINVAL;
	cursor_init(&cursor, buf, len);
	if (cursor_next(&cursor, &field) || span_to_u64_hex(field, &window.base))
		return -EINVAL;
	if (cursor_next(&cursor, &field) || span_to_u64_hex(field, &window.size))
		return -EINVAL;
	if (!cursor_at_end(&cursor) || !window_ok(&window))
		return -EINVAL;
	*ret_window = window;
	return 0;
}

int hotmem_format_window(char *buf, size_t size, const struct hotmem_window *window)
{
	struct text_out out;

	if (!window || !window_ok(window))
		return -EINVAL;
	if (out_start(&out, buf, size))
		return -EINVAL;
	out_hex(&out, window->base);
	out_char(&out, ' ');
	out_hex(&out, window->size);
	return out_finish(&out);
}

bool hotmem_block_size_valid(uint64_t block_size)
{
	if (block_size < HOTMEM_BLOCK_SIZE_MIN || block_size > HOTMEM_BLOCK_SIZE_MAX)
		return false;
	return (block_size & (block_size - 1)) == 0;
}

int hotmem_window_check(const struct hotmem_window *window, uint64_t block_size,
			uint32_t *ret_nr_blocks)
{
	uint64_t mask = block_size - 1;
	uint64_t nr_blocks;
	unsigned int shift = 0;

	if (!window || !ret_nr_blocks || !hotmem_block_size_valid(block_size))
		return -EINVAL;
	if (!window_ok(window) || (window->base & mask) || (window->size & mask))
		return -EINVAL;
	/* block_size is a power of two: shift instead of a 64-bit division. */
	while (shift < 63 && (1ull << shift) != block_size)
		shift++;
	nr_blocks = window->size >> shift;
	if (nr_blocks > HOTMEM_MAX_BLOCKS)
		return -ERANGE;
	*ret_nr_blocks = (uint32_t)nr_blocks;
	return 0;
}

int hotmem_parse_block_size(const char *buf, size_t len, uint64_t *ret_block_size)
{
	struct span field = { buf, len };
	uint64_t block_size;

	if (!value_ok(buf, len, ret_block_size))
		return -EINVAL;
	if (span_to_u64_hex(field, &block_size) || !hotmem_block_size_valid(block_size))
		return -EINVAL;
	*ret_block_size = block_size;
	return 0;
}

int hotmem_format_block_size(char *buf, size_t size, uint64_t block_size)
{
	struct text_out out;

	if (!hotmem_block_size_valid(block_size))
		return -EINVAL;
	if (out_start(&out, buf, size))
		return -EINVAL;
	out_hex(&out, block_size);
	return out_finish(&out);
}

/*
 * A memmap is whole 4 KiB pages (the smallest page size a guest may run) and
 * always leaves part of a block usable, so it stays below the largest block.
 */
static bool memmap_bytes_ok(uint64_t bytes)
{
	return (bytes & (HOTMEM_MEMMAP_GRANULE - 1)) == 0 && bytes < HOTMEM_BLOCK_SIZE_MAX;
}

int hotmem_parse_memmap_bytes(const char *buf, size_t len, uint64_t *ret_bytes)
{
	struct span field = { buf, len };
	uint64_t bytes;

	if (!value_ok(buf, len, ret_bytes))
		return -EINVAL;
	if (span_to_u64_hex(field, &bytes) || !memmap_bytes_ok(bytes))
		return -EINVAL;
	*ret_bytes = bytes;
	return 0;
}

int hotmem_format_memmap_bytes(char *buf, size_t size, uint64_t bytes)
{
	struct text_out out;

	if (!memmap_bytes_ok(bytes))
		return -EINVAL;
	if (out_start(&out, buf, size))
		return -EINVAL;
	out_hex(&out, bytes);
	return out_finish(&out);
}

int hotmem_memmap_bytes_check(uint64_t memmap_bytes, uint64_t block_size)
{
	if (!hotmem_block_size_valid(block_size) || !memmap_bytes_ok(memmap_bytes) ||
	    memmap_bytes >= block_size)
		return -EINVAL;
	return 0;
}

/* The rules of hotmem_parse_request(), on a value. */
static bool request_ok(const struct hotmem_request *request)
{
	if (request->seq == 0 || request->count == 0 || request->count > HOTMEM_MAX_BLOCKS)
		return false;
	switch (request->op) {
	case HOTMEM_OP_GROW:
		return request->first <= HOTMEM_MAX_BLOCKS - request->count;
	case HOTMEM_OP_SHRINK:
		return request->first == 0;
	}
	return false;
}

int hotmem_parse_request(const char *buf, size_t len, struct hotmem_request *ret_request)
{
	struct field_cursor cursor;
	struct span field;
	struct hotmem_request request = { 0 };

	if (!value_ok(buf, len, ret_request))
		return -EINVAL;
	cursor_init(&cursor, buf, len);
	if (cursor_next(&cursor, &field) || span_to_u32_dec(field, 1, U32_ALL_ONES, &request.seq))
		return -EINVAL;
	if (cursor_next(&cursor, &field))
		return -EINVAL;
	if (span_is_token(field, "grow")) {
		request.op = HOTMEM_OP_GROW;
		if (cursor_next(&cursor, &field) ||
		    span_to_u32_dec(field, 0, HOTMEM_MAX_BLOCKS - 1, &request.first))
			return -EINVAL;
	} else if (span_is_token(field, "shrink")) {
		request.op = HOTMEM_OP_SHRINK;
	} else {
		return -EINVAL;
	}
	if (cursor_next(&cursor, &field) ||
	    span_to_u32_dec(field, 1, HOTMEM_MAX_BLOCKS, &request.count))
		return -EINVAL;
	if (!cursor_at_end(&cursor) || !request_ok(&request))
		return -EINVAL;
	*ret_request = request;
	return 0;
}

int hotmem_format_request(char *buf, size_t size, const struct hotmem_request *request)
{
	struct text_out out;

	if (!request || !request_ok(request))
		return -EINVAL;
	if (out_start(&out, buf, size))
		return -EINVAL;
	out_dec(&out, request->seq);
	if (request->op == HOTMEM_OP_GROW) {
		out_str(&out, " grow ");
		out_dec(&out, request->first);
	} else {
		out_str(&out, " shrink");
	}
	out_char(&out, ' ');
	out_dec(&out, request->count);
	return out_finish(&out);
}

int hotmem_seq_next(uint32_t last_seq, uint32_t *ret_seq)
{
	if (!ret_seq)
		return -EINVAL;
	if (last_seq == U32_ALL_ONES)
		return -EOVERFLOW;
	*ret_seq = last_seq + 1;
	return 0;
}

int hotmem_request_check(const struct hotmem_request *request, uint32_t last_seq,
			 uint32_t nr_window_blocks, const uint64_t *plugged)
{
	int nr_plugged;

	if (!request || !plugged || !request_ok(request) || nr_window_blocks > HOTMEM_MAX_BLOCKS)
		return -EINVAL;
	if (request->seq <= last_seq)
		return -EALREADY;
	if (request->op == HOTMEM_OP_SHRINK)
		return request->count <= nr_window_blocks ? 0 : -ERANGE;
	if (request->first + request->count > nr_window_blocks)
		return -ERANGE;
	nr_plugged = hotmem_blocks_weight(plugged, request->first, request->count);
	if (nr_plugged < 0)
		return nr_plugged;
	return nr_plugged ? -EEXIST : 0;
}

int hotmem_parse_stats_interval(const char *buf, size_t len, uint32_t *ret_interval_ms)
{
	uint32_t interval_ms;
	int rc;

	rc = parse_single_u32(buf, len, 0, HOTMEM_STATS_INTERVAL_MAX_MS, &interval_ms);
	if (rc)
		return rc;
	if (interval_ms != 0 && interval_ms < HOTMEM_STATS_INTERVAL_MIN_MS)
		return -EINVAL;
	*ret_interval_ms = interval_ms;
	return 0;
}

int hotmem_format_stats_interval(char *buf, size_t size, uint32_t interval_ms)
{
	if (interval_ms != 0 && (interval_ms < HOTMEM_STATS_INTERVAL_MIN_MS ||
				 interval_ms > HOTMEM_STATS_INTERVAL_MAX_MS))
		return -EINVAL;
	return format_single_u64(buf, size, interval_ms);
}

/*
 * The single-token values (state, shutdown, status): one word from TOKENS,
 * parsed to its index and formatted from it, the same way for each.
 */
static int parse_one_token(const char *buf, size_t len, const char *const *tokens, int count,
			   int *ret_index)
{
	struct span field = { buf, len };
	int index;

	if (!value_ok(buf, len, ret_index))
		return -EINVAL;
	index = span_token_index(field, tokens, count);
	if (index < 0)
		return -EINVAL;
	*ret_index = index;
	return 0;
}

static int format_one_token(char *buf, size_t size, const char *token)
{
	struct text_out out;

	if (!token)
		return -EINVAL;
	if (out_start(&out, buf, size))
		return -EINVAL;
	out_str(&out, token);
	return out_finish(&out);
}

/*
 * The token of a single-token value and its parser, for each enum whose
 * value is one word from its table: <name>_tokens[<COUNT>].
 */
#define HOTMEM_TOKEN_VALUE(name, type, count)                                  \
	const char *hotmem_##name##_token(type value)                          \
	{                                                                      \
		if ((unsigned int)value >= (count))                            \
			return NULL;                                           \
		return name##_tokens[value];                                   \
	}                                                                      \
                                                                               \
	int hotmem_parse_##name(const char *buf, size_t len, type *ret_value)  \
	{                                                                      \
		int index, r;                                                  \
                                                                               \
		if (!ret_value)                                                \
			return -EINVAL;                                        \
		r = parse_one_token(buf, len, name##_tokens, (count), &index); \
		if (r < 0)                                                     \
			return r;                                              \
		*ret_value = (type)index;                                      \
		return 0;                                                      \
	}

HOTMEM_TOKEN_VALUE(state, enum hotmem_state, HOTMEM_STATE_COUNT)
HOTMEM_TOKEN_VALUE(shutdown, enum hotmem_shutdown, HOTMEM_SHUTDOWN_COUNT)
HOTMEM_TOKEN_VALUE(status, enum hotmem_status, HOTMEM_STATUS_COUNT)

int hotmem_format_state(char *buf, size_t size, enum hotmem_state state)
{
	return format_one_token(buf, size, hotmem_state_token(state));
}

int hotmem_format_shutdown(char *buf, size_t size, enum hotmem_shutdown how)
{
	return format_one_token(buf, size, hotmem_shutdown_token(how));
}

enum hotmem_status hotmem_status_from_errno(int err)
{
	switch (err) {
	case 0:
		return HOTMEM_STATUS_OK;
	case -EBUSY:
	case -EAGAIN:
		return HOTMEM_STATUS_BUSY;
	case -ENOMEM:
		return HOTMEM_STATUS_NOMEM;
	case -EINVAL:
	case -ERANGE:
	case -EEXIST:
		return HOTMEM_STATUS_INVAL;
	case -EOPNOTSUPP:
		return HOTMEM_STATUS_UNSUPPORTED;
	default:
		return HOTMEM_STATUS_ERROR;
	}
}

static bool ack_ok(const struct hotmem_ack *ack)
{
	return ack->seq != 0 && (unsigned int)ack->status < HOTMEM_STATUS_COUNT &&
	       ack->done <= HOTMEM_MAX_BLOCKS;
}

int hotmem_parse_ack(const char *buf, size_t len, struct hotmem_ack *ret_ack)
{
	struct field_cursor cursor;
	struct span field;
	struct hotmem_ack ack;

	if (!value_ok(buf, len, ret_ack))
		return -EINVAL;
	cursor_init(&cursor, buf, len);
	if (cursor_next(&cursor, &field) || span_to_u32_dec(field, 1, U32_ALL_ONES, &ack.seq))
		return -EINVAL;
	if (cursor_next(&cursor, &field) ||
	    hotmem_parse_status(field.bytes, field.len, &ack.status))
		return -EINVAL;
	if (cursor_next(&cursor, &field) || span_to_u32_dec(field, 0, HOTMEM_MAX_BLOCKS, &ack.done))
		return -EINVAL;
	if (!cursor_at_end(&cursor))
		return -EINVAL;
	*ret_ack = ack;
	return 0;
}

int hotmem_format_ack(char *buf, size_t size, const struct hotmem_ack *ack)
{
	struct text_out out;

	if (!ack || !ack_ok(ack))
		return -EINVAL;
	if (out_start(&out, buf, size))
		return -EINVAL;
	out_dec(&out, ack->seq);
	out_char(&out, ' ');
	out_str(&out, status_tokens[ack->status]);
	out_char(&out, ' ');
	out_dec(&out, ack->done);
	return out_finish(&out);
}

int hotmem_ack_check(const struct hotmem_request *request, const struct hotmem_ack *ack)
{
	if (!request || !ack || !request_ok(request) || !ack_ok(ack))
		return -EINVAL;
	if (ack->seq < request->seq)
		return -EAGAIN;
	if (ack->seq > request->seq || ack->done > request->count)
		return -EPROTO;
	switch (ack->status) {
	case HOTMEM_STATUS_OK:
		return ack->done == request->count ? 0 : -EPROTO;
	case HOTMEM_STATUS_PARTIAL:
		return ack->done > 0 && ack->done < request->count ? 0 : -EPROTO;
	default:
		return ack->done < request->count ? 0 : -EPROTO;
	}
}

/*
 * One pass over an H/guest/blocks value. With bitmap NULL it only validates,
 * so hotmem_parse_blocks() can leave the caller's bitmap alone on failure
 * without a 512-byte copy on the (kernel) stack.
 */
static int walk_blocks(const char *buf, size_t len, uint64_t *bitmap)
{
	struct field_cursor cursor;
	struct span field;
	/* One past the last block of the previous range; the next must start above it. */
	uint32_t previous_end = 0;
	bool have_previous = false;

	cursor_init(&cursor, buf, len);
	while (!cursor_at_end(&cursor)) {
		struct span first_part;
		struct span last_part;
		uint32_t first;
		uint32_t last;
		size_t dash = 0;

		if (cursor_next(&cursor, &field))
			return -EINVAL;
		while (dash < field.len && field.bytes[dash] != '-')
			dash++;
		first_part.bytes = field.bytes;
		first_part.len = dash;
		if (span_to_u32_dec(first_part, 0, HOTMEM_MAX_BLOCKS - 1, &first))
			return -EINVAL;
		last = first;
		if (dash < field.len) {
			last_part.bytes = field.bytes + dash + 1;
			last_part.len = field.len - dash - 1;
			/* "a-a" is spelled "a", so a range needs last > first. */
			if (span_to_u32_dec(last_part, 0, HOTMEM_MAX_BLOCKS - 1, &last) ||
			    last <= first)
				return -EINVAL;
		}
		/* Ranges ascend and leave at least one absent block between them. */
		if (have_previous && first <= previous_end)
			return -EINVAL;
		if (bitmap)
			hotmem_blocks_set(bitmap, first, last - first + 1);
		previous_end = last + 1;
		have_previous = true;
	}
	return 0;
}

int hotmem_parse_blocks(const char *buf, size_t len, uint64_t *ret_bitmap)
{
	if (!value_ok(buf, len, ret_bitmap))
		return -EINVAL;
	if (walk_blocks(buf, len, NULL))
		return -EINVAL;
	hotmem_blocks_zero(ret_bitmap);
	/* Cannot fail: the same bytes were just validated. */
	walk_blocks(buf, len, ret_bitmap);
	return 0;
}

int hotmem_format_blocks(char *buf, size_t size, const uint64_t *bitmap)
{
	struct text_out out;
	uint32_t block = 0;
	bool first_range = true;

	if (!bitmap || out_start(&out, buf, size))
		return -EINVAL;
	while (block < HOTMEM_MAX_BLOCKS) {
		uint32_t run_end;

		if (!hotmem_blocks_test(bitmap, block)) {
			block++;
			continue;
		}
		run_end = block;
		while (run_end + 1 < HOTMEM_MAX_BLOCKS && hotmem_blocks_test(bitmap, run_end + 1))
			run_end++;
		if (!first_range)
			out_char(&out, ' ');
		out_dec(&out, block);
		if (run_end != block) {
			out_char(&out, '-');
			out_dec(&out, run_end);
		}
		first_range = false;
		block = run_end + 1;
	}
	return out_finish(&out);
}

void hotmem_blocks_zero(uint64_t *bitmap)
{
	unsigned int word;

	for (word = 0; word < HOTMEM_BLOCKS_WORDS; word++)
		bitmap[word] = 0;
}

bool hotmem_blocks_test(const uint64_t *bitmap, uint32_t block)
{
	if (block >= HOTMEM_MAX_BLOCKS)
		return false;
	return (bitmap[block / 64] >> (block % 64)) & 1;
}

static bool range_ok(uint32_t first, uint32_t count)
{
	return count <= HOTMEM_MAX_BLOCKS && first <= HOTMEM_MAX_BLOCKS - count;
}

int hotmem_blocks_set(uint64_t *bitmap, uint32_t first, uint32_t count)
{
	uint32_t block;

	if (!bitmap || count == 0 || !range_ok(first, count))
		return -EINVAL;
	for (block = first; block < first + count; block++)
		bitmap[block / 64] |= 1ull << (block % 64);
	return 0;
}

int hotmem_blocks_clear(uint64_t *bitmap, uint32_t first, uint32_t count)
{
	uint32_t block;

	if (!bitmap || count == 0 || !range_ok(first, count))
		return -EINVAL;
	for (block = first; block < first + count; block++)
		bitmap[block / 64] &= ~(1ull << (block % 64));
	return 0;
}

int hotmem_blocks_weight(const uint64_t *bitmap, uint32_t first, uint32_t count)
{
	uint32_t block;
	int weight = 0;

	if (!bitmap || !range_ok(first, count))
		return -EINVAL;
	for (block = first; block < first + count; block++)
		weight += hotmem_blocks_test(bitmap, block);
	return weight;
}

void hotmem_blocks_andnot(uint64_t *dst, const uint64_t *a, const uint64_t *b)
{
	unsigned int word;

	for (word = 0; word < HOTMEM_BLOCKS_WORDS; word++)
		dst[word] = a[word] & ~b[word];
}

static bool stats_ok(const struct hotmem_stats *stats)
{
	return stats->memavail_kib <= stats->memtotal_kib &&
	       stats->psi_some_avg10 <= HOTMEM_PSI_MAX && stats->psi_full_avg10 <= HOTMEM_PSI_MAX &&
	       (!stats->has_swapped || stats->swapped_kib <= HOTMEM_SWAPPED_KIB_MAX);
}

int hotmem_parse_stats(const char *buf, size_t len, struct hotmem_stats *ret_stats)
{
	struct field_cursor cursor;
	struct span field;
	struct hotmem_stats stats;

	if (!value_ok(buf, len, ret_stats))
		return -EINVAL;
	cursor_init(&cursor, buf, len);
	if (cursor_next(&cursor, &field) || span_to_u64_dec(field, &stats.counter))
		return -EINVAL;
	if (cursor_next(&cursor, &field) || span_to_u64_dec(field, &stats.memtotal_kib))
		return -EINVAL;
	if (cursor_next(&cursor, &field) || span_to_u64_dec(field, &stats.memavail_kib))
		return -EINVAL;
	if (cursor_next(&cursor, &field) ||
	    span_to_u32_dec(field, 0, HOTMEM_PSI_MAX, &stats.psi_some_avg10))
		return -EINVAL;
	if (cursor_next(&cursor, &field) ||
	    span_to_u32_dec(field, 0, HOTMEM_PSI_MAX, &stats.psi_full_avg10))
		return -EINVAL;
	stats.swapped_kib = 0;
	stats.has_swapped = !cursor_at_end(&cursor);
	if (stats.has_swapped &&
	    (cursor_next(&cursor, &field) || span_to_u64_dec(field, &stats.swapped_kib)))
		return -EINVAL;
	if (!cursor_at_end(&cursor) || !stats_ok(&stats))
		return -EINVAL;
	*ret_stats = stats;
	return 0;
}

int hotmem_format_stats(char *buf, size_t size, const struct hotmem_stats *stats)
{
	struct text_out out;

	if (!stats || !stats_ok(stats))
		return -EINVAL;
	if (out_start(&out, buf, size))
		return -EINVAL;
	out_dec(&out, stats->counter);
	out_char(&out, ' ');
	out_dec(&out, stats->memtotal_kib);
	out_char(&out, ' ');
	out_dec(&out, stats->memavail_kib);
	out_char(&out, ' ');
	out_dec(&out, stats->psi_some_avg10);
	out_char(&out, ' ');
	out_dec(&out, stats->psi_full_avg10);
	if (stats->has_swapped) {
		out_char(&out, ' ');
		out_dec(&out, stats->swapped_kib);
	}
	return out_finish(&out);
}
