/*
 * Protocol v1 between the dom0 toolstack and the guest driver: the xenstore
 * keys under /local/domain/<domid>/hotmem, the exact text each one holds, and
 * the parsers and formatters for that text. This header and proto.c are
 * freestanding (they build into xen_hotmem.ko and into host programs alike),
 * never log, never allocate and keep no state: the caller owns every buffer.
 * Every value has exactly one spelling; each parser rejects every other
 * spelling, so format(parse(text)) gives back text byte for byte, and each
 * formatter refuses values its parser would reject. docs/protocol.md is the
 * prose specification; this header is its binding.
 *
 * Conventions for every function below: parsers read at most len bytes of a
 * buffer that is not NUL-terminated and may contain NULs; output parameters
 * named ret_* are written only on success; formatters write a NUL-terminated
 * string into buf (never more than size bytes) and return its length without
 * the NUL; on -ENOSPC they leave an empty string in buf (if size > 0), on
 * -EINVAL they do not touch buf.
 */
#ifndef HOTMEM_PROTO_H
#define HOTMEM_PROTO_H

#include "hotmem/types.h"

/* The only protocol version so far; H/version and H/guest/version carry it. */
#define HOTMEM_PROTO_VERSION 1

/*
 * Blocks per window. 4096 blocks of the smallest arm64 block size (128 MiB
 * with 4 KiB pages) is 512 GiB, more than any guest we plan for, and keeps a
 * block bitmap at 512 bytes, small enough for a kernel stack frame.
 */
#define HOTMEM_MAX_BLOCKS 4096u

/* u64 words in a block bitmap (bit i of word i / 64 is block i). */
#define HOTMEM_BLOCKS_WORDS (HOTMEM_MAX_BLOCKS / 64)

/* Longest value xenstore carries (XENSTORE_PAYLOAD_MAX); parsers reject more. */
#define HOTMEM_XS_VALUE_MAX 4096u

/*
 * Buffer size (NUL included) that fits the output of every formatter except
 * hotmem_format_blocks(), whose output needs up to HOTMEM_XS_VALUE_MAX + 1.
 * The longest such value is stats: five decimals (3 x 20 + 2 x 5 digits) and
 * four spaces, 74 bytes.
 */
#define HOTMEM_SHORT_VALUE_SIZE 128u

/* Block sizes a guest may report: a power of two in [1 MiB, 16 GiB]. */
#define HOTMEM_BLOCK_SIZE_MIN (1ull << 20)
#define HOTMEM_BLOCK_SIZE_MAX (1ull << 34)
/* H/guest/memmap-bytes is a whole number of these (the smallest page size). */
#define HOTMEM_MEMMAP_GRANULE (1ull << 12)

/* H/stats-interval-ms: 0 turns stats off; otherwise 100 ms to one hour. */
#define HOTMEM_STATS_INTERVAL_MIN_MS 100u
#define HOTMEM_STATS_INTERVAL_MAX_MS 3600000u

/* PSI averages are published in hundredths of a percent: 10000 = 100%. */
#define HOTMEM_PSI_MAX 10000u

/*
 * Largest swapped_kib a guest may publish (2^54 KiB, 16 EiB): its byte count
 * cannot overflow a uint64_t.
 */
#define HOTMEM_SWAPPED_KIB_MAX (1ull << 54)

/* Feature lists: at most 16 tokens of at most 31 bytes each. */
#define HOTMEM_FEATURE_TOKENS_MAX    16u
#define HOTMEM_FEATURE_TOKEN_LEN_MAX 31u

/* Highest domid a path can name; Xen reserves 0x7ff0 and up (DOMID_FIRST_RESERVED). */
#define HOTMEM_DOMID_MAX 0x7fefu

/*
 * Keys, relative to /local/domain/<domid>. The guest driver passes them to
 * xenbus as they are (xenbus paths without a leading '/' are relative to the
 * guest's own domain directory); the toolstack turns them into absolute paths
 * with hotmem_path().
 */
#define HOTMEM_KEY_DIR		      "hotmem"
#define HOTMEM_KEY_VERSION	      "hotmem/version"
#define HOTMEM_KEY_FEATURES	      "hotmem/features"
#define HOTMEM_KEY_WINDOW	      "hotmem/window"
#define HOTMEM_KEY_REQUEST	      "hotmem/request"
#define HOTMEM_KEY_STATS_INTERVAL     "hotmem/stats-interval-ms"
#define HOTMEM_KEY_SHUTDOWN_ACK	      "hotmem/shutdown-ack"
#define HOTMEM_KEY_GUEST_DIR	      "hotmem/guest"
#define HOTMEM_KEY_GUEST_VERSION      "hotmem/guest/version"
#define HOTMEM_KEY_GUEST_FEATURES     "hotmem/guest/features"
#define HOTMEM_KEY_GUEST_BLOCK_SIZE   "hotmem/guest/block-size"
#define HOTMEM_KEY_GUEST_MEMMAP_BYTES "hotmem/guest/memmap-bytes"
#define HOTMEM_KEY_GUEST_STATE	      "hotmem/guest/state"
#define HOTMEM_KEY_GUEST_ACK	      "hotmem/guest/ack"
#define HOTMEM_KEY_GUEST_BLOCKS	      "hotmem/guest/blocks"
#define HOTMEM_KEY_GUEST_STATS	      "hotmem/guest/stats"
#define HOTMEM_KEY_GUEST_SHUTDOWN     "hotmem/guest/shutdown"

/*
 * Feature bits. The bit order is the lexical order of the tokens, so a mask
 * formats in the one order the parser accepts.
 */
enum hotmem_feature {
	/* The guest places the memmap of a hot-added block inside that block. */
	HOTMEM_FEATURE_MEMMAP_ON_MEMORY = 1u << 0,
	/* The guest onlines hot-added blocks to ZONE_MOVABLE, so shrink can succeed. */
	HOTMEM_FEATURE_ONLINE_MOVABLE = 1u << 1,
	/*
	 * dom0 populates every frame of a block (largest extents) before the
	 * request, and the guest hands the usable pages to its page allocator
	 * itself: its balloon never populates or holds a hotmem page. Only in
	 * use together with target-blocks (memory/target moves by whole blocks).
	 */
	HOTMEM_FEATURE_POPULATED_BLOCKS = 1u << 2,
	/*
	 * The guest announces that it is going down (H/guest/shutdown) before it
	 * asks Xen to shut it down, and waits a bounded time for the toolstack
	 * to answer (H/shutdown-ack) once memory/target and static-max hold the
	 * configured size again, so that xl rebuilds a rebooted guest from that.
	 */
	HOTMEM_FEATURE_REBOOT_NOTICE = 1u << 3,
	/* The guest carries out shrink requests. */
	HOTMEM_FEATURE_SHRINK = 1u << 4,
	/* The guest publishes H/guest/stats every H/stats-interval-ms. */
	HOTMEM_FEATURE_STATS = 1u << 5,
	/*
	 * H/guest/stats carries a sixth figure whenever the guest knows it: the
	 * swap in use that is not also in RAM (swapped_kib). An older toolstack
	 * does not offer it and reads five figures; an older guest sends five.
	 */
	HOTMEM_FEATURE_STATS_SWAP = 1u << 6,
	/*
	 * memory/target moves by whole blocks: the guest's balloon counts each
	 * block's memmap head (populated by dom0) as populated. Without it
	 * memory/target moves by the usable bytes of a block only.
	 */
	HOTMEM_FEATURE_TARGET_BLOCKS = 1u << 7,
};

/* Number of known features and the mask of all of them. */
#define HOTMEM_FEATURE_COUNT  8
#define HOTMEM_FEATURES_KNOWN ((1u << HOTMEM_FEATURE_COUNT) - 1)

/* What a request asks for. */
enum hotmem_op {
	HOTMEM_OP_GROW = 1,   /* plug blocks [first, first + count) of the window */
	HOTMEM_OP_SHRINK = 2, /* unplug count blocks of the guest's choice */
};

/* How a request ended, as the guest reports it in H/guest/ack. */
enum hotmem_status {
	HOTMEM_STATUS_OK = 0,	   /* all count blocks done */
	HOTMEM_STATUS_PARTIAL,	   /* stopped early, 0 < done < count */
	HOTMEM_STATUS_BUSY,	   /* transient refusal (e.g. pages not movable now) */
	HOTMEM_STATUS_NOMEM,	   /* the guest ran out of memory for memmap or page tables */
	HOTMEM_STATUS_INVAL,	   /* the request broke a rule (outside window, already plugged) */
	HOTMEM_STATUS_UNSUPPORTED, /* op needs a feature that was not negotiated */
	HOTMEM_STATUS_ERROR,	   /* anything else */
	HOTMEM_STATUS_COUNT
};

/* What the guest driver is doing, as it reports it in H/guest/state. */
enum hotmem_state {
	HOTMEM_STATE_INIT = 0, /* driver loaded, handshake not finished */
	HOTMEM_STATE_READY,    /* idle, accepts requests */
	HOTMEM_STATE_BUSY,     /* working on the request named by H/request */
	HOTMEM_STATE_BROKEN,   /* gave up; no request will be served until reload */
	HOTMEM_STATE_CLOSED,   /* driver gone; H/guest/blocks is final */
	HOTMEM_STATE_COUNT
};

/* Why a guest goes down, as it announces it in H/guest/shutdown (and the
 * toolstack echoes it in H/shutdown-ack); Linux's SYS_RESTART, SYS_POWER_OFF
 * and SYS_HALT. */
enum hotmem_shutdown {
	HOTMEM_SHUTDOWN_REBOOT = 0,
	HOTMEM_SHUTDOWN_POWEROFF,
	HOTMEM_SHUTDOWN_HALT,
	HOTMEM_SHUTDOWN_COUNT
};

/* H/window: the guest-physical range the toolstack may populate. */
struct hotmem_window {
	uint64_t base; /* bytes, guest-physical */
	uint64_t size; /* bytes, > 0, base + size does not overflow */
};

/* H/request. */
struct hotmem_request {
	uint32_t seq; /* 1..2^32-1, strictly increasing per domain */
	enum hotmem_op op;
	uint32_t first; /* first block of a grow; 0 for a shrink */
	uint32_t count; /* blocks, >= 1 */
};

/* H/guest/ack. */
struct hotmem_ack {
	uint32_t seq; /* seq of the request this answers */
	enum hotmem_status status;
	uint32_t done; /* blocks plugged (grow) or unplugged (shrink) */
};

/* H/guest/stats. */
struct hotmem_stats {
	uint64_t counter;	 /* bumped by one on every publication */
	uint64_t memtotal_kib;	 /* MemTotal */
	uint64_t memavail_kib;	 /* MemAvailable, <= memtotal_kib */
	uint32_t psi_some_avg10; /* memory PSI "some" avg10, 1/100 % (0..10000) */
	uint32_t psi_full_avg10; /* memory PSI "full" avg10, 1/100 % (0..10000) */
	/*
	 * With has_swapped: SwapTotal - SwapFree - SwapCached, the memory the
	 * guest's kernel has pushed out to swap and not read back, at most
	 * HOTMEM_SWAPPED_KIB_MAX. Without: the guest did not say (no swap
	 * figure known, or stats-swap not negotiated), and the text has five
	 * figures.
	 */
	uint64_t swapped_kib;
	bool has_swapped;
};

/**
 * hotmem_path - build the absolute xenstore path of a key
 * @buf: output buffer
 * @size: bytes available at buf
 * @domid: domain whose key it is, 0..HOTMEM_DOMID_MAX
 * @rel: NUL-terminated relative key such as HOTMEM_KEY_GUEST_ACK: non-empty,
 *	 made of [A-Za-z0-9_@/-], no leading, trailing or doubled '/', at most
 *	 2048 bytes
 *
 * Writes "/local/domain/<domid>/<rel>".
 *
 * returns:
 *	length of the path (>= 0), on success
 *	-EINVAL, buf or rel is NULL, domid is reserved, or rel is malformed
 *	-ENOSPC, the path and its NUL do not fit in size bytes
 */
int hotmem_path(char *buf, size_t size, uint32_t domid, const char *rel);

/**
 * hotmem_parse_version - parse H/version or H/guest/version
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_version: where to store the version
 *
 * Accepts canonical decimal 1..4294967295 (no sign, no leading zero).
 * Versions above HOTMEM_PROTO_VERSION parse fine: the peer may be newer.
 *
 * returns:
 *	0, on success
 *	-EINVAL, malformed, 0, over 32 bits, or NULL arguments
 */
int hotmem_parse_version(const char *buf, size_t len, uint32_t *ret_version);

/**
 * hotmem_format_version - format a version
 * @buf: output buffer
 * @size: bytes available at buf
 * @version: 1..4294967295
 *
 * returns:
 *	length written (>= 0), on success
 *	-EINVAL, version is 0 or buf is NULL
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_version(char *buf, size_t size, uint32_t version);

/**
 * hotmem_version_negotiate - version the guest writes to H/guest/version
 * @offered: H/version as written by the toolstack
 * @supported: highest version the caller speaks (HOTMEM_PROTO_VERSION)
 * @ret_version: min(offered, supported)
 *
 * returns:
 *	0, on success
 *	-EINVAL, either version is 0 or ret_version is NULL
 */
int hotmem_version_negotiate(uint32_t offered, uint32_t supported, uint32_t *ret_version);

/**
 * hotmem_version_accept - toolstack check of the version a guest answered
 * @offered: H/version as the toolstack wrote it
 * @guest_version: H/guest/version as parsed
 *
 * The guest must answer a version no higher than offered; the negotiated
 * version is then guest_version itself.
 *
 * returns:
 *	0, guest_version is usable
 *	-EINVAL, either version is 0
 *	-EPROTO, guest_version > offered (a protocol violation)
 */
int hotmem_version_accept(uint32_t offered, uint32_t guest_version);

/**
 * hotmem_parse_features - parse H/features or H/guest/features
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_features: mask of the known features listed (enum hotmem_feature)
 *
 * Accepts "" or up to HOTMEM_FEATURE_TOKENS_MAX tokens separated by single
 * spaces, each [a-z][a-z0-9-]{0,30}, in strictly ascending byte order (which
 * also rules out duplicates). Unknown tokens are valid and ignored: that is
 * how a newer peer's features are skipped. Only inputs without unknown tokens
 * round-trip through hotmem_format_features() byte for byte.
 *
 * returns:
 *	0, on success
 *	-EINVAL, malformed, too many or too long tokens, out of order, duplicate,
 *		 or NULL arguments
 */
int hotmem_parse_features(const char *buf, size_t len, uint32_t *ret_features);

/**
 * hotmem_format_features - format a feature mask
 * @buf: output buffer
 * @size: bytes available at buf
 * @features: mask of enum hotmem_feature bits
 *
 * returns:
 *	length written (>= 0; 0 for an empty mask), on success
 *	-EINVAL, features has bits outside HOTMEM_FEATURES_KNOWN, or buf is NULL
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_features(char *buf, size_t size, uint32_t features);

/**
 * hotmem_feature_token - the token of one feature
 * @feature: exactly one enum hotmem_feature bit
 *
 * returns:
 *	the NUL-terminated token, on success
 *	NULL, feature is not exactly one known bit
 */
const char *hotmem_feature_token(uint32_t feature);

/**
 * hotmem_parse_window - parse H/window
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_window: where to store base and size
 *
 * Accepts "<base> <size>", each "0x" and lowercase hex without leading zeros
 * ("0x0" for zero), at most 64 bits; size > 0 and base + size <= 2^64 - 1.
 *
 * returns:
 *	0, on success
 *	-EINVAL, malformed, size 0, base + size overflows, or NULL arguments
 */
int hotmem_parse_window(const char *buf, size_t len, struct hotmem_window *ret_window);

/**
 * hotmem_format_window - format H/window
 * @buf: output buffer
 * @size: bytes available at buf
 * @window: window to format
 *
 * returns:
 *	length written (>= 0), on success
 *	-EINVAL, the window breaks a rule of hotmem_parse_window(), or NULL arguments
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_window(char *buf, size_t size, const struct hotmem_window *window);

/**
 * hotmem_window_check - check a window against the guest's block size
 * @window: window as parsed
 * @block_size: guest block size as parsed (see hotmem_block_size_valid())
 * @ret_nr_blocks: number of blocks in the window
 *
 * returns:
 *	0, base and size are multiples of block_size and the window holds at
 *	   most HOTMEM_MAX_BLOCKS blocks
 *	-EINVAL, block_size is not valid, base or size is not a multiple of it,
 *		 size is 0, base + size overflows, or NULL arguments
 *	-ERANGE, the window holds more than HOTMEM_MAX_BLOCKS blocks
 */
int hotmem_window_check(const struct hotmem_window *window, uint64_t block_size,
			uint32_t *ret_nr_blocks);

/**
 * hotmem_block_size_valid - whether a block size is allowed
 * @block_size: bytes
 *
 * returns:
 *	true, block_size is a power of two in [HOTMEM_BLOCK_SIZE_MIN, HOTMEM_BLOCK_SIZE_MAX]
 *	false, otherwise
 */
bool hotmem_block_size_valid(uint64_t block_size);

/**
 * hotmem_parse_block_size - parse H/guest/block-size
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_block_size: bytes
 *
 * Accepts canonical hex as in H/window whose value is a valid block size.
 *
 * returns:
 *	0, on success
 *	-EINVAL, malformed, not a valid block size, or NULL arguments
 */
int hotmem_parse_block_size(const char *buf, size_t len, uint64_t *ret_block_size);

/**
 * hotmem_format_block_size - format H/guest/block-size
 * @buf: output buffer
 * @size: bytes available at buf
 * @block_size: a valid block size
 *
 * returns:
 *	length written (>= 0), on success
 *	-EINVAL, block_size is not valid, or buf is NULL
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_block_size(char *buf, size_t size, uint64_t block_size);

/**
 * hotmem_parse_memmap_bytes - parse H/guest/memmap-bytes
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_bytes: bytes at the head of each block that hold its own memmap
 *
 * Accepts canonical hex as in H/window ("0x0" when the guest adds blocks
 * without memmap-on-memory) that is a whole number of 4 KiB pages and smaller
 * than HOTMEM_BLOCK_SIZE_MAX. Whether it fits the guest's block size is
 * hotmem_memmap_bytes_check()'s question, asked once both are known.
 *
 * returns:
 *	0, on success
 *	-EINVAL, malformed, out of range, or NULL arguments
 */
int hotmem_parse_memmap_bytes(const char *buf, size_t len, uint64_t *ret_bytes);

/**
 * hotmem_format_memmap_bytes - format H/guest/memmap-bytes
 * @buf: output buffer
 * @size: bytes available at buf
 * @bytes: a value hotmem_parse_memmap_bytes() would accept
 *
 * returns:
 *	length written (>= 0), on success
 *	-EINVAL, bytes out of range, or buf is NULL
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_memmap_bytes(char *buf, size_t size, uint64_t bytes);

/**
 * hotmem_memmap_bytes_check - whether a memmap size fits a block size
 * @memmap_bytes: value of H/guest/memmap-bytes
 * @block_size: value of H/guest/block-size
 *
 * returns:
 *	0, memmap_bytes is a whole number of 4 KiB pages below a valid block_size
 *	-EINVAL, otherwise
 */
int hotmem_memmap_bytes_check(uint64_t memmap_bytes, uint64_t block_size);

/**
 * hotmem_parse_request - parse H/request
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_request: where to store the request (first is 0 for a shrink)
 *
 * Accepts "<seq> grow <first> <count>" and "<seq> shrink <count>", all
 * canonical decimal, seq >= 1, count >= 1, first + count <= HOTMEM_MAX_BLOCKS.
 *
 * returns:
 *	0, on success
 *	-EINVAL, malformed, unknown op, out of range, or NULL arguments
 */
int hotmem_parse_request(const char *buf, size_t len, struct hotmem_request *ret_request);

/**
 * hotmem_format_request - format H/request
 * @buf: output buffer
 * @size: bytes available at buf
 * @request: request to format
 *
 * returns:
 *	length written (>= 0), on success
 *	-EINVAL, the request breaks a rule of hotmem_parse_request() (a shrink
 *		 must have first == 0), or NULL arguments
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_request(char *buf, size_t size, const struct hotmem_request *request);

/**
 * hotmem_seq_next - sequence number of the toolstack's next request
 * @last_seq: seq of the last request written, 0 if none yet
 * @ret_seq: last_seq + 1
 *
 * Sequence numbers never wrap: a request only supersedes one with a lower seq.
 *
 * returns:
 *	0, on success
 *	-EINVAL, ret_seq is NULL
 *	-EOVERFLOW, last_seq is already 2^32 - 1
 */
int hotmem_seq_next(uint32_t last_seq, uint32_t *ret_seq);

/**
 * hotmem_request_check - guest check of a parsed request before acting on it
 * @request: request as parsed
 * @last_seq: seq of the last request the guest handled, 0 if none
 * @nr_window_blocks: blocks in the window (from hotmem_window_check())
 * @plugged: bitmap (HOTMEM_BLOCKS_WORDS words) of blocks the guest holds in
 *	     any state other than absent
 *
 * returns:
 *	0, the request is new and may be carried out
 *	-EALREADY, seq <= last_seq: already handled or superseded; do not ack again
 *	-ERANGE, a grow reaches past the window, or a shrink asks for more
 *		 blocks than the window has
 *	-EEXIST, a grow names a block that is already plugged
 *	-EINVAL, the request is not one hotmem_parse_request() accepts,
 *		 nr_window_blocks > HOTMEM_MAX_BLOCKS, or NULL arguments
 */
int hotmem_request_check(const struct hotmem_request *request, uint32_t last_seq,
			 uint32_t nr_window_blocks, const uint64_t *plugged);

/**
 * hotmem_parse_stats_interval - parse H/stats-interval-ms
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_interval_ms: 0 (off) or HOTMEM_STATS_INTERVAL_MIN_MS..HOTMEM_STATS_INTERVAL_MAX_MS
 *
 * returns:
 *	0, on success
 *	-EINVAL, malformed, out of range, or NULL arguments
 */
int hotmem_parse_stats_interval(const char *buf, size_t len, uint32_t *ret_interval_ms);

/**
 * hotmem_format_stats_interval - format H/stats-interval-ms
 * @buf: output buffer
 * @size: bytes available at buf
 * @interval_ms: 0 or HOTMEM_STATS_INTERVAL_MIN_MS..HOTMEM_STATS_INTERVAL_MAX_MS
 *
 * returns:
 *	length written (>= 0), on success
 *	-EINVAL, interval_ms out of range, or buf is NULL
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_stats_interval(char *buf, size_t size, uint32_t interval_ms);

/**
 * hotmem_state_token - the token of a guest state
 * @state: enum hotmem_state value
 *
 * returns:
 *	the NUL-terminated token ("init", "ready", ...), on success
 *	NULL, state is not a known state
 */
const char *hotmem_state_token(enum hotmem_state state);

/**
 * hotmem_parse_state - parse H/guest/state
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_state: where to store the state
 *
 * returns:
 *	0, on success
 *	-EINVAL, not exactly one of the state tokens, or NULL arguments
 */
int hotmem_parse_state(const char *buf, size_t len, enum hotmem_state *ret_state);

/**
 * hotmem_format_state - format H/guest/state
 * @buf: output buffer
 * @size: bytes available at buf
 * @state: enum hotmem_state value
 *
 * returns:
 *	length written (>= 0), on success
 *	-EINVAL, state is not a known state, or buf is NULL
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_state(char *buf, size_t size, enum hotmem_state state);

/**
 * hotmem_shutdown_token - the token of a shutdown reason
 * @how: enum hotmem_shutdown value
 *
 * returns:
 *	the NUL-terminated token ("reboot", "poweroff", "halt"), on success
 *	NULL, how is not a known reason
 */
const char *hotmem_shutdown_token(enum hotmem_shutdown how);

/**
 * hotmem_parse_shutdown - parse H/guest/shutdown or H/shutdown-ack
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_how: where to store the reason
 *
 * returns:
 *	0, on success
 *	-EINVAL, not exactly one of the shutdown tokens, or NULL arguments
 */
int hotmem_parse_shutdown(const char *buf, size_t len, enum hotmem_shutdown *ret_how);

/**
 * hotmem_format_shutdown - format H/guest/shutdown or H/shutdown-ack
 * @buf: output buffer
 * @size: bytes available at buf
 * @how: enum hotmem_shutdown value
 *
 * returns:
 *	length written (>= 0), on success
 *	-EINVAL, how is not a known reason, or buf is NULL
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_shutdown(char *buf, size_t size, enum hotmem_shutdown how);

/**
 * hotmem_status_token - the token of an ack status
 * @status: enum hotmem_status value
 *
 * returns:
 *	the NUL-terminated token ("ok", "partial", ...), on success
 *	NULL, status is not a known status
 */
const char *hotmem_status_token(enum hotmem_status status);

/**
 * hotmem_parse_status - parse a status token (the middle field of an ack)
 * @buf: token bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_status: where to store the status
 *
 * returns:
 *	0, on success
 *	-EINVAL, not exactly one of the status tokens, or NULL arguments
 */
int hotmem_parse_status(const char *buf, size_t len, enum hotmem_status *ret_status);

/**
 * hotmem_status_from_errno - the ack status a guest reports for an errno
 * @err: 0 or a negative errno from carrying out a request
 *
 * Maps 0 to OK; -EBUSY and -EAGAIN to BUSY; -ENOMEM to NOMEM; -EINVAL,
 * -ERANGE and -EEXIST to INVAL; -EOPNOTSUPP to UNSUPPORTED; anything else to
 * ERROR. PARTIAL is never returned: only the caller knows that done > 0.
 *
 * returns:
 *	the status (always a valid enum hotmem_status value)
 */
enum hotmem_status hotmem_status_from_errno(int err);

/**
 * hotmem_parse_ack - parse H/guest/ack
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_ack: where to store the ack
 *
 * Accepts "<seq> <status> <done>": canonical decimal seq >= 1, a status
 * token, canonical decimal done <= HOTMEM_MAX_BLOCKS. Consistency with the
 * request is checked separately by hotmem_ack_check().
 *
 * returns:
 *	0, on success
 *	-EINVAL, malformed, unknown status, out of range, or NULL arguments
 */
int hotmem_parse_ack(const char *buf, size_t len, struct hotmem_ack *ret_ack);

/**
 * hotmem_format_ack - format H/guest/ack
 * @buf: output buffer
 * @size: bytes available at buf
 * @ack: ack to format
 *
 * returns:
 *	length written (>= 0), on success
 *	-EINVAL, the ack breaks a rule of hotmem_parse_ack(), or NULL arguments
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_ack(char *buf, size_t size, const struct hotmem_ack *ack);

/**
 * hotmem_ack_check - toolstack check of an ack against the request it waits on
 * @request: the request the toolstack wrote
 * @ack: H/guest/ack as parsed
 *
 * Rules: the seqs are equal; done <= count; status OK iff done == count;
 * PARTIAL needs 0 < done < count; every other status needs done < count.
 *
 * returns:
 *	0, the ack answers this request and is consistent
 *	-EAGAIN, ack->seq < request->seq: an older ack, keep waiting
 *	-EPROTO, ack->seq > request->seq (nobody asked), or done and status
 *		 break a rule above (a protocol violation)
 *	-EINVAL, request or ack is not one the parsers accept, or NULL arguments
 */
int hotmem_ack_check(const struct hotmem_request *request, const struct hotmem_ack *ack);

/**
 * hotmem_parse_blocks - parse H/guest/blocks into a bitmap
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_bitmap: HOTMEM_BLOCKS_WORDS words, entirely overwritten on success
 *
 * Accepts "" (no blocks) or ranges "a-b" (a < b) and single blocks "a",
 * canonical decimal, each index < HOTMEM_MAX_BLOCKS, separated by single
 * spaces, ascending, with at least one absent block between two ranges
 * (no overlap, no adjacency: "1-2 3" must be "1-3").
 *
 * returns:
 *	0, on success
 *	-EINVAL, malformed, over HOTMEM_XS_VALUE_MAX bytes, not ascending and
 *		 merged, index out of range, or NULL arguments
 */
int hotmem_parse_blocks(const char *buf, size_t len, uint64_t *ret_bitmap);

/**
 * hotmem_format_blocks - format a bitmap as H/guest/blocks
 * @buf: output buffer; HOTMEM_XS_VALUE_MAX + 1 bytes fit any set that
 *	 xenstore can carry
 * @size: bytes available at buf
 * @bitmap: HOTMEM_BLOCKS_WORDS words
 *
 * A set of at most 409 ranges always fits in HOTMEM_XS_VALUE_MAX bytes; a
 * more fragmented set may not, and then cannot be published at all (the
 * parser rejects values over HOTMEM_XS_VALUE_MAX bytes).
 *
 * returns:
 *	length written (>= 0; 0 for an empty set), on success
 *	-EINVAL, buf or bitmap is NULL
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_blocks(char *buf, size_t size, const uint64_t *bitmap);

/**
 * hotmem_blocks_zero - clear every bit of a bitmap
 * @bitmap: HOTMEM_BLOCKS_WORDS words
 */
void hotmem_blocks_zero(uint64_t *bitmap);

/**
 * hotmem_blocks_test - whether a block is in a bitmap
 * @bitmap: HOTMEM_BLOCKS_WORDS words
 * @block: block index
 *
 * returns:
 *	true, block < HOTMEM_MAX_BLOCKS and its bit is set
 *	false, otherwise
 */
bool hotmem_blocks_test(const uint64_t *bitmap, uint32_t block);

/**
 * hotmem_blocks_set - set the bits of blocks [first, first + count)
 * @bitmap: HOTMEM_BLOCKS_WORDS words
 * @first: first block
 * @count: number of blocks, >= 1
 *
 * returns:
 *	0, on success
 *	-EINVAL, count is 0, first + count > HOTMEM_MAX_BLOCKS, or bitmap is NULL
 */
int hotmem_blocks_set(uint64_t *bitmap, uint32_t first, uint32_t count);

/**
 * hotmem_blocks_clear - clear the bits of blocks [first, first + count)
 * @bitmap: HOTMEM_BLOCKS_WORDS words
 * @first: first block
 * @count: number of blocks, >= 1
 *
 * returns:
 *	0, on success
 *	-EINVAL, count is 0, first + count > HOTMEM_MAX_BLOCKS, or bitmap is NULL
 */
int hotmem_blocks_clear(uint64_t *bitmap, uint32_t first, uint32_t count);

/**
 * hotmem_blocks_weight - count the set bits of blocks [first, first + count)
 * @bitmap: HOTMEM_BLOCKS_WORDS words
 * @first: first block
 * @count: number of blocks (0 counts nothing)
 *
 * returns:
 *	number of blocks set in the range (>= 0), on success
 *	-EINVAL, first + count > HOTMEM_MAX_BLOCKS, or bitmap is NULL
 */
int hotmem_blocks_weight(const uint64_t *bitmap, uint32_t first, uint32_t count);

/**
 * hotmem_blocks_andnot - dst = a & ~b, word by word
 * @dst: HOTMEM_BLOCKS_WORDS words; may alias a or b
 * @a: HOTMEM_BLOCKS_WORDS words
 * @b: HOTMEM_BLOCKS_WORDS words
 *
 * The toolstack's reclaim set after an ack: granted & ~guest_blocks.
 */
void hotmem_blocks_andnot(uint64_t *dst, const uint64_t *a, const uint64_t *b);

/**
 * hotmem_parse_stats - parse H/guest/stats
 * @buf: value bytes (need not be NUL-terminated)
 * @len: number of bytes in buf
 * @ret_stats: where to store the figures
 *
 * Accepts "<counter> <memtotal_kib> <memavail_kib> <psi_some> <psi_full>",
 * canonical decimal, the first three 64-bit, memavail <= memtotal, both PSI
 * values <= HOTMEM_PSI_MAX, optionally followed by " <swapped_kib>" (<=
 * HOTMEM_SWAPPED_KIB_MAX; has_swapped says whether it was there).
 *
 * returns:
 *	0, on success
 *	-EINVAL, malformed, out of range, or NULL arguments
 */
int hotmem_parse_stats(const char *buf, size_t len, struct hotmem_stats *ret_stats);

/**
 * hotmem_format_stats - format H/guest/stats
 * @buf: output buffer
 * @size: bytes available at buf
 * @stats: figures to format
 *
 * returns:
 *	length written (>= 0), on success
 *	-EINVAL, the figures break a rule of hotmem_parse_stats(), or NULL arguments
 *	-ENOSPC, the text and its NUL do not fit in size bytes
 */
int hotmem_format_stats(char *buf, size_t size, const struct hotmem_stats *stats);

#endif /* HOTMEM_PROTO_H */
