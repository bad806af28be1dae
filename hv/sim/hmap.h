/*
 * A small open-addressing hash map from 64-bit keys to non-NULL pointers, the
 * one index structure of the sim: P2M chunks and regions by frame index, and
 * xenstore nodes by path hash. Linear probing with backward-shift deletion
 * (no tombstones), load kept under 1/2, so lookups stay a probe or two even
 * with millions of entries. Not thread-safe; the sim's lock covers it.
 */
#ifndef HOTMEM_SIM_HMAP_H
#define HOTMEM_SIM_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
	uint64_t key;
	void *val; /* NULL: slot empty */
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t len;
};

/* An empty map needs no allocation: zero-initialise it. */
void hmap_free(struct hmap *map);
void *hmap_get(const struct hmap *map, uint64_t key);
/* Make room for extra more keys so the next extra hmap_put() calls can't fail. */
int hmap_reserve(struct hmap *map, size_t extra);
/* Insert or replace; -ENOMEM if the table could not grow. val must not be NULL. */
int hmap_put(struct hmap *map, uint64_t key, void *val);
/* Remove key; returns its value or NULL if absent. */
void *hmap_del(struct hmap *map, uint64_t key);

/* Iterate: for (i = 0; i < map->cap; i++) if (map->slots[i].val) ... (no changes meanwhile). */

/* 64-bit FNV-1a of a NUL-terminated string. */
uint64_t hmap_hash_str(const char *s);

#endif /* HOTMEM_SIM_HMAP_H */
