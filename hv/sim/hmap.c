/*
 * Open-addressing hash map (see hmap.h). Keys are spread with the splitmix64
 * finaliser so that sequential frame indexes don't cluster; deletion shifts
 * the following run back instead of leaving tombstones, so the table never
 * degrades however many populate/decrease cycles a test runs.
 */
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>

static uint64_t hmap_mix(uint64_t key)
{
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ULL;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebULL;
	key ^= key >> 31;
	return key;
}

uint64_t hmap_hash_str(const char *s)
{
	uint64_t hash = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		hash ^= (unsigned char)*s;
		hash *= 0x100000001b3ULL;
	}
	return hash;
}

void hmap_free(struct hmap *map)
{
	free(map->slots);
	map->slots = NULL;
	map->cap = 0;
	map->len = 0;
}

static size_t hmap_find(const struct hmap *map, uint64_t key)
{
	size_t mask = map->cap - 1;
	size_t i = hmap_mix(key) & mask;

	while (map->slots[i].val && map->slots[i].key != key)
		i = (i + 1) & mask;
	return i;
}

void *hmap_get(const struct hmap *map, uint64_t key)
{
	if (!map->cap)
		return NULL;
	return map->slots[hmap_find(map, key)].val;
}

static int hmap_resize(struct hmap *map, size_t new_cap)
{
	struct hmap old = *map;
	size_t i;

	map->slots = calloc(new_cap, sizeof(*map->slots));
	if (!map->slots) {
		*map = old;
		return -ENOMEM;
	}
	map->cap = new_cap;
	map->len = 0;
	for (i = 0; i < old.cap; i++) {
		if (old.slots[i].val) {
			map->slots[hmap_find(map, old.slots[i].key)] = old.slots[i];
			map->len++;
		}
	}
	free(old.slots);
	return 0;
}

int hmap_reserve(struct hmap *map, size_t extra)
{
	size_t cap = map->cap ? map->cap : 16;

	while ((map->len + extra) * 2 > cap)
		cap *= 2;
	if (cap == map->cap)
		return 0;
	return hmap_resize(map, cap);
}

int hmap_put(struct hmap *map, uint64_t key, void *val)
{
	size_t i;
	int r;

	/* Replacing never needs room. */
	if (map->cap) {
		i = hmap_find(map, key);
		if (map->slots[i].val) {
			map->slots[i].val = val;
			return 0;
		}
	}
	r = hmap_reserve(map, 1);
	if (r < 0)
		return r;
	i = hmap_find(map, key);
	map->slots[i].key = key;
	map->slots[i].val = val;
	map->len++;
	return 0;
}

void *hmap_del(struct hmap *map, uint64_t key)
{
	size_t mask, i, j, home;
	void *val;

	if (!map->cap)
		return NULL;
	mask = map->cap - 1;
	i = hmap_find(map, key);
	val = map->slots[i].val;
	if (!val)
		return NULL;

	/* Backward-shift: move later members of the probe run into the hole
	 * unless that would put them before their home slot. */
	j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!map->slots[j].val)
			break;
		home = hmap_mix(map->slots[j].key) & mask;
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			map->slots[i] = map->slots[j];
			i = j;
		}
	}
	map->slots[i].val = NULL;
	map->len--;
	return val;
}
