/*
 * libFuzzer target for the journal's record parser (jr_load, journal.c):
 * the engine's persisted books, read back at every start to recover from a
 * crash. The input is the record's keys in their journal order (params,
 * window, block-size, memmap-bytes, seq, granted, op, op-blocks, base,
 * pending, refused, frozen, handle, restored; see
 * fuzz_split.h), written to J/1 of a simulated host. Promises checked
 * (journal.c's own): a record is loaded, or refused with -EUCLEAN (-ENOENT
 * without params), never guessed at; a loaded record stores back
 * (jr_store) with the very bytes it was read from, key by key (one canonical
 * spelling), and loads again to the same books.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_engine.h"
#include "fuzz_split.h"

static const char *const keys[] = { "params",  "window", "block-size", "memmap-bytes", "seq",
				    "granted", "op",	 "op-blocks",  "base",	       "pending",
				    "refused", "frozen", "handle",     "restored" };
#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

#define LOADED_DOMID 1
#define STORED_DOMID 2

static void write_record(struct hotmem *hm, uint32_t domid, const struct fuzz_chunk *chunks)
{
	char path[HM_PATH_MAX];

	if (hm_journal_path(hm, path, sizeof(path), domid, NULL))
		abort();
	hm->hv->ops->xs_rm(hm->hv, HV_XS_NO_TXN, path);
	for (size_t i = 0; chunks && i < NR_KEYS; i++) {
		if (!chunks[i].data)
			continue;
		if (hm_journal_path(hm, path, sizeof(path), domid, keys[i]) ||
		    hm->hv->ops->xs_write(hm->hv, HV_XS_NO_TXN, path, chunks[i].data,
					  chunks[i].len))
			abort();
	}
}

/* The stored key holds exactly the bytes it was loaded from. */
static void check_canonical(struct hotmem *hm, const struct fuzz_chunk *chunk, const char *key)
{
	char path[HM_PATH_MAX];
	char *value = NULL;
	size_t len = 0;

	if (hm_journal_path(hm, path, sizeof(path), STORED_DOMID, key) ||
	    hm->hv->ops->xs_read(hm->hv, HV_XS_NO_TXN, path, &value, &len))
		abort();
	if (len != chunk->len || memcmp(value, chunk->data, len) != 0)
		abort();
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hotmem *hm = fuzz_engine()->hm;
	struct fuzz_chunk chunks[NR_KEYS];
	static struct hm_record book, again;
	int rc;

	fuzz_split((const char *)data, size, chunks, NR_KEYS);
	write_record(hm, LOADED_DOMID, chunks);
	write_record(hm, STORED_DOMID, NULL);
	memset(&book, 0, sizeof(book));
	rc = jr_load(hm, HV_XS_NO_TXN, LOADED_DOMID, &book);
	if (rc == -ENOENT && !chunks[0].data)
		return 0;
	if (rc == -EUCLEAN)
		return 0;
	if (rc)
		abort();
	if (jr_store(hm, HV_XS_NO_TXN, STORED_DOMID, &book))
		abort();
	for (size_t i = 0; i < NR_KEYS; i++)
		if (chunks[i].data)
			check_canonical(hm, &chunks[i], keys[i]);
	memset(&again, 0, sizeof(again));
	if (jr_load(hm, HV_XS_NO_TXN, STORED_DOMID, &again) || memcmp(&book, &again, sizeof(book)))
		abort();
	return 0;
}
