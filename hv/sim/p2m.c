/*
 * The sim's P2M: which GFNs of a domain are mapped, the order of the extent
 * that mapped each, and how many stage-2 page tables that takes from the
 * domain's P2M pool.
 *
 * Layout. Two sparse hash maps: 2 MiB chunks (a 512-bit bitmap of mapped
 * pages plus the extent order of each page, stored once while all pages of
 * the chunk share it) and 1 GiB regions (a count of non-empty chunks). A
 * guest of N GiB costs about 100 bytes per 2 MiB, nothing for holes, and
 * every query is one or two hash lookups; a sorted extent tree would be
 * smaller for huge blocks but needs splitting logic for every partial
 * decrease, which the bitmap gets for free. Host frames are not tracked one
 * by one at all: the sim only counts them (sim->host_free).
 *
 * Page-table model (Arm 4 KiB granule, 4 levels, documented simplification
 * of xen/arch/arm/p2m.c in 4.17): the root and L1 tables are not charged to
 * the pool. A region is mapped either by one L1 block entry (an extent of
 * order >= 18 covering it: no table) or through an L2 table of its own; a
 * chunk is mapped either by one L2 block entry (extent order >= 9: no table)
 * or through an L3 table. So a 1 GiB extent costs 0 pool pages, a 2 MiB one
 * 1 L2 per 1 GiB region touched, 4 KiB pages 1 L2 per region and 1 L3 per
 * 2 MiB chunk touched. A table is counted once and given back to the pool
 * when its region or chunk becomes empty (Xen 4.17 keeps empty tables until
 * the domain dies; the sim is kinder there). Removing one page from a block
 * shatters it first, as p2m_split_superpage() does: a 2 MiB block needs one
 * L3, a 1 GiB block an L2 and an L3, and with no free pool page the removal
 * fails with -ENOMEM, even when the whole block is on its way out.
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* From a chunk index to the index of its region. */
#define CHUNK_TO_REGION (P2M_REGION_ORDER - P2M_CHUNK_ORDER)

static bool bit_test(const uint64_t *map, unsigned int bit)
{
	return map[bit / 64] >> (bit % 64) & 1;
}

static void bit_clear(uint64_t *map, unsigned int bit)
{
	map[bit / 64] &= ~(1ULL << (bit % 64));
}

/* Set bits [lo, hi). */
static void bits_set(uint64_t *map, unsigned int lo, unsigned int hi)
{
	unsigned int bit;

	for (bit = lo; bit < hi; bit++)
		map[bit / 64] |= 1ULL << (bit % 64);
}

/* Any of bits [lo, hi) set? */
static bool bits_any(const uint64_t *map, unsigned int lo, unsigned int hi)
{
	unsigned int bit;

	for (bit = lo; bit < hi; bit++) {
		if (bit % 64 == 0 && bit + 64 <= hi) {
			if (map[bit / 64])
				return true;
			bit += 63;
			continue;
		}
		if (bit_test(map, bit))
			return true;
	}
	return false;
}

static unsigned int bits_count(const uint64_t *map)
{
	unsigned int i, n = 0;

	for (i = 0; i < P2M_CHUNK_PAGES / 64; i++)
		n += (unsigned int)__builtin_popcountll(map[i]);
	return n;
}

static struct p2m_chunk *chunk_get(const struct p2m *p2m, uint64_t index)
{
	return hmap_get(&p2m->chunks, index);
}

static struct p2m_region *region_get(const struct p2m *p2m, uint64_t index)
{
	return hmap_get(&p2m->regions, index);
}

static void chunk_free(struct p2m_chunk *chunk)
{
	if (chunk)
		free(chunk->orders);
	free(chunk);
}

void p2m_destroy(struct p2m *p2m)
{
	size_t i;

	for (i = 0; i < p2m->chunks.cap; i++)
		chunk_free(p2m->chunks.slots[i].val);
	for (i = 0; i < p2m->regions.cap; i++)
		free(p2m->regions.slots[i].val);
	hmap_free(&p2m->chunks);
	hmap_free(&p2m->regions);
	memset(p2m, 0, sizeof(*p2m));
}

int p2m_range_free(const struct p2m *p2m, uint64_t gfn, unsigned int order)
{
	uint64_t end = gfn + (1ULL << order);
	uint64_t index;

	for (index = gfn >> P2M_CHUNK_ORDER; index <= (end - 1) >> P2M_CHUNK_ORDER; index++) {
		const struct p2m_chunk *chunk = chunk_get(p2m, index);
		uint64_t base = index << P2M_CHUNK_ORDER;
		unsigned int lo, hi;

		if (!chunk)
			continue;
		lo = gfn > base ? (unsigned int)(gfn - base) : 0;
		hi = end < base + P2M_CHUNK_PAGES ? (unsigned int)(end - base) : P2M_CHUNK_PAGES;
		if (bits_any(chunk->bitmap, lo, hi))
			return -EEXIST;
	}
	return 0;
}

uint64_t p2m_tables_to_map(const struct p2m *p2m, uint64_t gfn, unsigned int order)
{
	uint64_t tables = 0;

	if (order >= P2M_REGION_ORDER)
		return 0; /* L1 block entries */
	if (!region_get(p2m, gfn >> P2M_REGION_ORDER))
		tables++; /* the L2 table of this region */
	if (order < P2M_CHUNK_ORDER && !chunk_get(p2m, gfn >> P2M_CHUNK_ORDER))
		tables++; /* the L3 table of this chunk */
	return tables;
}

/*
 * Extent of order >= 18: whole regions become L1 blocks. All structures are
 * allocated and the maps reserved before anything is inserted, so -ENOMEM
 * leaves the P2M as it was (the same holds for the two helpers below).
 */
static int map_regions(struct p2m *p2m, uint64_t gfn, unsigned int order)
{
	size_t nr_regions = (size_t)1 << (order - P2M_REGION_ORDER);
	size_t nr_chunks = nr_regions * P2M_CHUNKS_PER_REGION;
	struct p2m_region **regions = calloc(nr_regions, sizeof(*regions));
	struct p2m_chunk **chunks = calloc(nr_chunks, sizeof(*chunks));
	size_t i;
	int r = -ENOMEM;

	if (!regions || !chunks)
		goto out;
	for (i = 0; i < nr_regions; i++) {
		regions[i] = calloc(1, sizeof(*regions[i]));
		if (!regions[i])
			goto out;
	}
	for (i = 0; i < nr_chunks; i++) {
		chunks[i] = calloc(1, sizeof(*chunks[i]));
		if (!chunks[i])
			goto out;
	}
	if (hmap_reserve(&p2m->regions, nr_regions) < 0 ||
	    hmap_reserve(&p2m->chunks, nr_chunks) < 0)
		goto out;

	for (i = 0; i < nr_regions; i++) {
		regions[i]->index = (gfn >> P2M_REGION_ORDER) + i;
		regions[i]->nr_chunks = P2M_CHUNKS_PER_REGION;
		regions[i]->kind = P2M_MAP_BLOCK;
		hmap_put(&p2m->regions, regions[i]->index, regions[i]);
		regions[i] = NULL;
	}
	for (i = 0; i < nr_chunks; i++) {
		chunks[i]->index = (gfn >> P2M_CHUNK_ORDER) + i;
		memset(chunks[i]->bitmap, 0xff, sizeof(chunks[i]->bitmap));
		chunks[i]->nr_populated = P2M_CHUNK_PAGES;
		chunks[i]->kind = P2M_MAP_BLOCK;
		chunks[i]->uniform_order = (uint8_t)order;
		hmap_put(&p2m->chunks, chunks[i]->index, chunks[i]);
		chunks[i] = NULL;
	}
	p2m->populated += 1ULL << order;
	r = 0;
out:
	for (i = 0; regions && i < nr_regions; i++)
		free(regions[i]);
	for (i = 0; chunks && i < nr_chunks; i++)
		chunk_free(chunks[i]);
	free(regions);
	free(chunks);
	return r;
}

/* Extent of order 9..17: its chunks become L2 blocks in one region's L2 table. */
static int map_chunks(struct p2m *p2m, uint64_t gfn, unsigned int order)
{
	size_t nr_chunks = (size_t)1 << (order - P2M_CHUNK_ORDER);
	struct p2m_region *region = region_get(p2m, gfn >> P2M_REGION_ORDER);
	struct p2m_region *new_region = NULL;
	struct p2m_chunk **chunks = calloc(nr_chunks, sizeof(*chunks));
	size_t i;
	int r = -ENOMEM;

	if (!chunks)
		goto out;
	if (!region) {
		new_region = calloc(1, sizeof(*new_region));
		if (!new_region || hmap_reserve(&p2m->regions, 1) < 0)
			goto out;
	}
	for (i = 0; i < nr_chunks; i++) {
		chunks[i] = calloc(1, sizeof(*chunks[i]));
		if (!chunks[i])
			goto out;
	}
	if (hmap_reserve(&p2m->chunks, nr_chunks) < 0)
		goto out;

	if (new_region) {
		new_region->index = gfn >> P2M_REGION_ORDER;
		new_region->kind = P2M_MAP_TABLE;
		hmap_put(&p2m->regions, new_region->index, new_region);
		p2m->l2_tables++;
		region = new_region;
		new_region = NULL;
	}
	for (i = 0; i < nr_chunks; i++) {
		chunks[i]->index = (gfn >> P2M_CHUNK_ORDER) + i;
		memset(chunks[i]->bitmap, 0xff, sizeof(chunks[i]->bitmap));
		chunks[i]->nr_populated = P2M_CHUNK_PAGES;
		chunks[i]->kind = P2M_MAP_BLOCK;
		chunks[i]->uniform_order = (uint8_t)order;
		hmap_put(&p2m->chunks, chunks[i]->index, chunks[i]);
		chunks[i] = NULL;
	}
	region->nr_chunks += (uint32_t)nr_chunks;
	p2m->populated += 1ULL << order;
	r = 0;
out:
	free(new_region);
	for (i = 0; chunks && i < nr_chunks; i++)
		chunk_free(chunks[i]);
	free(chunks);
	return r;
}

/* Extent of order 0..8: pages in one chunk's L3 table. */
static int map_pages(struct p2m *p2m, uint64_t gfn, unsigned int order)
{
	struct p2m_region *region = region_get(p2m, gfn >> P2M_REGION_ORDER);
	struct p2m_chunk *chunk = chunk_get(p2m, gfn >> P2M_CHUNK_ORDER);
	struct p2m_region *new_region = NULL;
	struct p2m_chunk *new_chunk = NULL;
	uint8_t *orders = NULL;
	unsigned int lo = (unsigned int)(gfn & (P2M_CHUNK_PAGES - 1));
	unsigned int hi = lo + (1U << order);

	if (!region) {
		new_region = calloc(1, sizeof(*new_region));
		if (!new_region || hmap_reserve(&p2m->regions, 1) < 0)
			goto nomem;
	}
	if (!chunk) {
		new_chunk = calloc(1, sizeof(*new_chunk));
		if (!new_chunk || hmap_reserve(&p2m->chunks, 1) < 0)
			goto nomem;
	} else if (!chunk->orders && chunk->uniform_order != order) {
		orders = malloc(P2M_CHUNK_PAGES);
		if (!orders)
			goto nomem;
	}

	if (new_region) {
		new_region->index = gfn >> P2M_REGION_ORDER;
		new_region->kind = P2M_MAP_TABLE;
		hmap_put(&p2m->regions, new_region->index, new_region);
		p2m->l2_tables++;
		region = new_region;
	}
	if (new_chunk) {
		new_chunk->index = gfn >> P2M_CHUNK_ORDER;
		new_chunk->kind = P2M_MAP_TABLE;
		new_chunk->uniform_order = (uint8_t)order;
		hmap_put(&p2m->chunks, new_chunk->index, new_chunk);
		p2m->l3_tables++;
		region->nr_chunks++;
		chunk = new_chunk;
	}
	if (orders) {
		memset(orders, chunk->uniform_order, P2M_CHUNK_PAGES);
		chunk->orders = orders;
	}
	if (chunk->orders)
		memset(chunk->orders + lo, (int)order, hi - lo);
	bits_set(chunk->bitmap, lo, hi);
	chunk->nr_populated += (uint16_t)(hi - lo);
	p2m->populated += hi - lo;
	return 0;

nomem:
	free(new_region);
	free(new_chunk);
	free(orders);
	return -ENOMEM;
}

int p2m_map(struct p2m *p2m, uint64_t gfn, unsigned int order)
{
	if (order >= P2M_REGION_ORDER)
		return map_regions(p2m, gfn, order);
	if (order >= P2M_CHUNK_ORDER)
		return map_chunks(p2m, gfn, order);
	return map_pages(p2m, gfn, order);
}

/* An emptied chunk gives its L3 back; an emptied region its L2. */
static void chunk_release(struct p2m *p2m, struct p2m_chunk *chunk)
{
	struct p2m_region *region = region_get(p2m, chunk->index >> CHUNK_TO_REGION);

	if (chunk->kind == P2M_MAP_TABLE)
		p2m->l3_tables--;
	hmap_del(&p2m->chunks, chunk->index);
	chunk_free(chunk);
	if (--region->nr_chunks == 0) {
		if (region->kind == P2M_MAP_TABLE)
			p2m->l2_tables--;
		hmap_del(&p2m->regions, region->index);
		free(region);
	}
}

int p2m_unmap(struct p2m *p2m, uint64_t gfn, uint64_t count, uint64_t pool_pages,
	      uint64_t *ret_removed)
{
	uint64_t removed = 0;
	int r = 0;

	while (removed < count) {
		uint64_t page = gfn + removed;
		struct p2m_chunk *chunk = chunk_get(p2m, page >> P2M_CHUNK_ORDER);
		unsigned int bit = (unsigned int)(page & (P2M_CHUNK_PAGES - 1));

		if (!chunk || !bit_test(chunk->bitmap, bit)) {
			r = -ENOENT;
			break;
		}
		if (chunk->kind == P2M_MAP_BLOCK) {
			struct p2m_region *region = region_get(p2m, page >> P2M_REGION_ORDER);
			uint64_t need = region->kind == P2M_MAP_BLOCK ? 2 : 1;

			if (pool_pages < p2m_tables(p2m) + need) {
				r = -ENOMEM;
				break;
			}
			if (region->kind == P2M_MAP_BLOCK) {
				region->kind = P2M_MAP_TABLE;
				p2m->l2_tables++;
			}
			chunk->kind = P2M_MAP_TABLE;
			p2m->l3_tables++;
		}
		while (removed < count && bit < P2M_CHUNK_PAGES && bit_test(chunk->bitmap, bit)) {
			bit_clear(chunk->bitmap, bit);
			chunk->nr_populated--;
			p2m->populated--;
			removed++;
			bit++;
		}
		if (!chunk->nr_populated)
			chunk_release(p2m, chunk);
	}
	*ret_removed = removed;
	return r;
}

bool p2m_lookup(const struct p2m *p2m, uint64_t gfn, unsigned int *ret_order)
{
	const struct p2m_chunk *chunk = chunk_get(p2m, gfn >> P2M_CHUNK_ORDER);
	unsigned int bit = (unsigned int)(gfn & (P2M_CHUNK_PAGES - 1));

	if (!chunk || !bit_test(chunk->bitmap, bit))
		return false;
	if (ret_order)
		*ret_order = chunk->orders ? chunk->orders[bit] : chunk->uniform_order;
	return true;
}

int p2m_check(const struct p2m *p2m, char *why, size_t why_size)
{
	uint64_t populated = 0, l2 = 0, l3 = 0, chunks_in_regions = 0;
	size_t i;

	for (i = 0; i < p2m->chunks.cap; i++) {
		const struct p2m_chunk *chunk = p2m->chunks.slots[i].val;
		const struct p2m_region *region;

		if (!chunk)
			continue;
		if (bits_count(chunk->bitmap) != chunk->nr_populated)
			return sim_why(why, why_size, "chunk %#llx: bitmap has %u pages, count %u",
				       (unsigned long long)chunk->index << P2M_CHUNK_ORDER,
				       bits_count(chunk->bitmap), chunk->nr_populated);
		if (!chunk->nr_populated)
			return sim_why(why, why_size, "chunk %#llx is empty but kept",
				       (unsigned long long)chunk->index << P2M_CHUNK_ORDER);
		if (chunk->kind == P2M_MAP_BLOCK && chunk->nr_populated != P2M_CHUNK_PAGES)
			return sim_why(why, why_size, "chunk %#llx is a block but not full",
				       (unsigned long long)chunk->index << P2M_CHUNK_ORDER);
		region = region_get(p2m, chunk->index >> CHUNK_TO_REGION);
		if (!region)
			return sim_why(why, why_size, "chunk %#llx has no region",
				       (unsigned long long)chunk->index << P2M_CHUNK_ORDER);
		if (region->kind == P2M_MAP_BLOCK && chunk->kind != P2M_MAP_BLOCK)
			return sim_why(why, why_size, "chunk %#llx: a table inside a 1 GiB block",
				       (unsigned long long)chunk->index << P2M_CHUNK_ORDER);
		if (chunk->kind == P2M_MAP_TABLE)
			l3++;
		populated += chunk->nr_populated;
	}
	for (i = 0; i < p2m->regions.cap; i++) {
		const struct p2m_region *region = p2m->regions.slots[i].val;
		uint64_t index, nr = 0;

		if (!region)
			continue;
		for (index = region->index << CHUNK_TO_REGION;
		     index < (region->index + 1) << CHUNK_TO_REGION; index++)
			nr += chunk_get(p2m, index) != NULL;
		if (nr != region->nr_chunks || !nr)
			return sim_why(why, why_size, "region %#llx: %llu chunks, count %u",
				       (unsigned long long)region->index << P2M_REGION_ORDER,
				       (unsigned long long)nr, region->nr_chunks);
		if (region->kind == P2M_MAP_BLOCK && nr != P2M_CHUNKS_PER_REGION)
			return sim_why(why, why_size, "region %#llx is a block but not full",
				       (unsigned long long)region->index << P2M_REGION_ORDER);
		if (region->kind == P2M_MAP_TABLE)
			l2++;
		chunks_in_regions += nr;
	}
	if (chunks_in_regions != p2m->chunks.len)
		return sim_why(why, why_size, "%zu chunks, %llu inside regions", p2m->chunks.len,
			       (unsigned long long)chunks_in_regions);
	if (populated != p2m->populated)
		return sim_why(why, why_size, "P2M maps %llu pages, count %llu",
			       (unsigned long long)populated, (unsigned long long)p2m->populated);
	if (l2 != p2m->l2_tables || l3 != p2m->l3_tables)
		return sim_why(why, why_size, "tables L2 %llu/L3 %llu, counts %llu/%llu",
			       (unsigned long long)l2, (unsigned long long)l3,
			       (unsigned long long)p2m->l2_tables,
			       (unsigned long long)p2m->l3_tables);
	return 0;
}
