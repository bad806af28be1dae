/*
 * Xenstore plumbing for the engine: transactions retried on conflict (the
 * libxl retry_transaction pattern, bounded), absolute paths of protocol and
 * journal keys, reads and writes of whole values, and the strict decimal and
 * hex field parsers the journal and memory/target need. Nothing here knows
 * what the values mean.
 */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hm_txn(struct hotmem *hm, hm_txn_fn fn, void *ctx)
{
	const struct hv_ops *ops = hm->hv->ops;
	unsigned int attempt;
	hv_xs_txn txn;
	int r = -EAGAIN;

	for (attempt = 0; attempt <= hm->cfg.txn_retries; attempt++) {
		r = ops->xs_txn_start(hm->hv, &txn);
		if (r < 0)
			goto out;
		r = fn(hm, txn, ctx);
		if (r < 0) {
			ops->xs_txn_end(hm->hv, txn, true);
			goto out;
		}
		r = ops->xs_txn_end(hm->hv, txn, false);
		if (r != -EAGAIN)
			goto out;
		hm->counters.txn_conflicts++;
	}
out:
	return r;
}

int hm_dom_path(char *buf, size_t size, uint32_t domid, const char *rel)
{
	int n = hotmem_path(buf, size, domid, rel);

	return n < 0 ? n : 0;
}

int hm_journal_path(const struct hotmem *hm, char *buf, size_t size, uint32_t domid,
		    const char *key)
{
	int n;

	if (key)
		n = snprintf(buf, size, "%s/%" PRIu32 "/%s", hm->journal_dir, domid, key);
	else
		n = snprintf(buf, size, "%s/%" PRIu32, hm->journal_dir, domid);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int hm_xs_read(struct hotmem *hm, hv_xs_txn txn, const char *path, char **ret_value,
	       size_t *ret_len)
{
	hm->counters.xs_reads++;
	return hm->hv->ops->xs_read(hm->hv, txn, path, ret_value, ret_len);
}

int hm_xs_write(struct hotmem *hm, hv_xs_txn txn, const char *path, const char *value)
{
	return hm->hv->ops->xs_write(hm->hv, txn, path, value, strlen(value));
}

int hm_parse_dec(const char *buf, size_t len, uint64_t *ret_value)
{
	uint64_t value = 0;
	size_t i;

	if (!buf || !len || len > 20 || (buf[0] == '0' && len > 1))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EINVAL;
		if (__builtin_mul_overflow(value, 10, &value) ||
		    __builtin_add_overflow(value, (uint64_t)(buf[i] - '0'), &value))
			return -EINVAL;
	}
	*ret_value = value;
	return 0;
}

int hm_parse_hex(const char *buf, size_t len, uint64_t *ret_value)
{
	uint64_t value = 0;
	size_t i;

	if (!buf || len < 3 || len > 18 || buf[0] != '0' || buf[1] != 'x' ||
	    (buf[2] == '0' && len > 3))
		return -EINVAL;
	for (i = 2; i < len; i++) {
		char c = buf[i];

		if (c >= '0' && c <= '9')
			value = value << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			value = value << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -EINVAL;
	}
	*ret_value = value;
	return 0;
}

int hm_xs_read_dec(struct hotmem *hm, hv_xs_txn txn, const char *path, uint64_t *ret_value)
{
	char *value = NULL;
	size_t len = 0;
	uint64_t parsed;
	int r;

	r = hm_xs_read(hm, txn, path, &value, &len);
	if (r < 0)
		goto out;
	r = hm_parse_dec(value, len, &parsed);
	if (r < 0)
		goto out;
	*ret_value = parsed;
out:
	free(value);
	return r;
}

int hm_xs_write_dec(struct hotmem *hm, hv_xs_txn txn, const char *path, uint64_t value)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRIu64, value);
	return hm_xs_write(hm, txn, path, text);
}
