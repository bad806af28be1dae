/*
 * Table-driven tests of the memmap-on-memory layout math against the values
 * Linux 6.12 computes: the arm64 4K case hotmem relies on (2 MiB of each
 * 128 MiB block holds its memmap), the arm64 16K/64K cases the kernel refuses,
 * x86_64, forced mode, odd struct page sizes, and every kind of bad input.
 */
#include "check.h"
#include "hotmem/layout.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

struct layout_case {
	const char *name;
	struct hotmem_mm_geometry geo;
	enum hotmem_memmap_mode mode;
	uint64_t memmap_bytes;
	uint64_t memmap_pages;
	uint64_t usable_pages;
	uint64_t outside_bytes;
	uint32_t refusals;
};

#define GEO(block, page, sp, pbo, pmd)                                                \
	{                                                                             \
		.block_size = (block), .page_size = (page), .struct_page_size = (sp), \
		.pageblock_pages_log2 = (pbo), .pmd_size = (pmd)                      \
	}

static const struct layout_case layout_cases[] = {
	{ "arm64 4K on", GEO(128 * MiB, 4 * KiB, 64, 9, 2 * MiB), HOTMEM_MEMMAP_ON, 2 * MiB, 512,
	  32256, 0, 0 },
	{ "arm64 4K force", GEO(128 * MiB, 4 * KiB, 64, 9, 2 * MiB), HOTMEM_MEMMAP_FORCE, 2 * MiB,
	  512, 32256, 0, 0 },
	{ "arm64 4K off", GEO(128 * MiB, 4 * KiB, 64, 9, 2 * MiB), HOTMEM_MEMMAP_OFF, 2 * MiB, 0,
	  32768, 2 * MiB, HOTMEM_REFUSE_DISABLED },
	{ "arm64 16K on", GEO(128 * MiB, 16 * KiB, 64, 11, 32 * MiB), HOTMEM_MEMMAP_ON, 512 * KiB,
	  0, 8192, 512 * KiB, HOTMEM_REFUSE_NOT_PAGEBLOCK | HOTMEM_REFUSE_NOT_PMD_ALIGNED },
	/* Forcing pads the memmap to a pageblock, but the arch PMD check still fails. */
	{ "arm64 16K force", GEO(128 * MiB, 16 * KiB, 64, 11, 32 * MiB), HOTMEM_MEMMAP_FORCE,
	  512 * KiB, 0, 8192, 512 * KiB, HOTMEM_REFUSE_NOT_PMD_ALIGNED },
	{ "arm64 64K on", GEO(512 * MiB, 64 * KiB, 64, 13, 512 * MiB), HOTMEM_MEMMAP_ON, 512 * KiB,
	  0, 8192, 512 * KiB, HOTMEM_REFUSE_NOT_PAGEBLOCK | HOTMEM_REFUSE_NOT_PMD_ALIGNED },
	/* Forced on 64K the padded memmap would eat the whole 512 MiB block. */
	{ "arm64 64K force", GEO(512 * MiB, 64 * KiB, 64, 13, 512 * MiB), HOTMEM_MEMMAP_FORCE,
	  512 * KiB, 0, 8192, 512 * KiB,
	  HOTMEM_REFUSE_FILLS_BLOCK | HOTMEM_REFUSE_NOT_PMD_ALIGNED },
	{ "x86_64 4K 128M", GEO(128 * MiB, 4 * KiB, 64, 9, 2 * MiB), HOTMEM_MEMMAP_ON, 2 * MiB, 512,
	  32256, 0, 0 },
	{ "x86_64 4K 2G", GEO(2 * GiB, 4 * KiB, 64, 9, 2 * MiB), HOTMEM_MEMMAP_ON, 32 * MiB, 8192,
	  516096, 0, 0 },
	/* A 56-byte struct page: whole pages (448) but not whole pageblocks, not PMDs. */
	{ "struct page 56", GEO(128 * MiB, 4 * KiB, 56, 9, 2 * MiB), HOTMEM_MEMMAP_ON, 1835008, 0,
	  32768, 1835008, HOTMEM_REFUSE_NOT_PAGEBLOCK | HOTMEM_REFUSE_NOT_PMD_ALIGNED },
	{ "struct page 56 force", GEO(128 * MiB, 4 * KiB, 56, 9, 2 * MiB), HOTMEM_MEMMAP_FORCE,
	  1835008, 0, 32768, 1835008, HOTMEM_REFUSE_NOT_PMD_ALIGNED },
	/* A memmap that is not whole pages (synthetic, 1600 bytes for 16 pages). */
	{ "memmap not page aligned", GEO(64 * KiB, 4 * KiB, 100, 0, 4 * KiB), HOTMEM_MEMMAP_ON,
	  1600, 0, 16, 4 * KiB, HOTMEM_REFUSE_NOT_PAGE_ALIGNED | HOTMEM_REFUSE_NOT_PMD_ALIGNED },
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(layout_cases) / sizeof(layout_cases[0]); i++) {
		const struct layout_case *c = &layout_cases[i];
		struct hotmem_block_layout got;
		int rc = hotmem_layout_block(&c->geo, c->mode, &got);

		fprintf(stderr, "case: %s\n", c->name);
		CHECK_EQ(rc, 0);
		if (rc)
			continue;
		CHECK_EQ(got.block_pages, c->geo.block_size / c->geo.page_size);
		CHECK_EQ(got.memmap_bytes, c->memmap_bytes);
		CHECK_EQ(got.memmap_pages, c->memmap_pages);
		CHECK_EQ(got.usable_pages, c->usable_pages);
		CHECK_EQ(got.outside_bytes, c->outside_bytes);
		CHECK_EQ(got.refusals, c->refusals);
		/* Invariant: every page is either memmap or usable. */
		CHECK_EQ(got.memmap_pages + got.usable_pages, got.block_pages);
	}
}

static void test_presets(void)
{
	struct hotmem_mm_geometry geo;
	struct hotmem_block_layout layout;

	CHECK_EQ(hotmem_layout_preset(HOTMEM_GEO_ARM64_4K, &geo), 0);
	CHECK_EQ(hotmem_layout_block(&geo, HOTMEM_MEMMAP_ON, &layout), 0);
	CHECK_EQ(layout.memmap_pages, 512);
	CHECK_EQ(layout.usable_pages * geo.page_size, 126 * MiB);
	CHECK_EQ(layout.refusals, 0);

	CHECK_EQ(hotmem_layout_preset(HOTMEM_GEO_ARM64_64K, &geo), 0);
	CHECK_EQ(geo.block_size, 512 * MiB);
	CHECK_EQ(hotmem_layout_block(&geo, HOTMEM_MEMMAP_ON, &layout), 0);
	CHECK(layout.refusals & HOTMEM_REFUSE_NOT_PMD_ALIGNED);

	for (int p = 0; p < HOTMEM_GEO_PRESET_COUNT; p++) {
		CHECK_EQ(hotmem_layout_preset(p, &geo), 0);
		CHECK_EQ(hotmem_layout_check(&geo), 0);
	}
	geo.block_size = 12345;
	CHECK_EQ(hotmem_layout_preset(HOTMEM_GEO_PRESET_COUNT, &geo), -EINVAL);
	CHECK_EQ(geo.block_size, 12345); /* untouched on failure */
	CHECK_EQ(hotmem_layout_preset(-1, &geo), -EINVAL);
}

static const struct {
	const char *name;
	struct hotmem_mm_geometry geo;
} bad_geometries[] = {
	{ "all zero", GEO(0, 0, 0, 0, 0) },
	{ "zero block", GEO(0, 4 * KiB, 64, 9, 2 * MiB) },
	{ "zero page", GEO(128 * MiB, 0, 64, 9, 2 * MiB) },
	{ "zero struct page", GEO(128 * MiB, 4 * KiB, 0, 9, 2 * MiB) },
	{ "zero pmd", GEO(128 * MiB, 4 * KiB, 64, 9, 0) },
	{ "block not pow2", GEO(96 * MiB, 4 * KiB, 64, 9, 2 * MiB) },
	{ "page not pow2", GEO(128 * MiB, 12 * KiB, 64, 9, 2 * MiB) },
	{ "pmd not pow2", GEO(128 * MiB, 4 * KiB, 64, 9, 3 * MiB) },
	{ "page too small", GEO(128 * MiB, 2 * KiB, 64, 9, 2 * MiB) },
	{ "page too large", GEO(128 * MiB, 2 * MiB, 64, 0, 2 * MiB) },
	{ "block below page", GEO(4 * KiB, 64 * KiB, 64, 0, 512 * MiB) },
	{ "pmd below page", GEO(128 * MiB, 64 * KiB, 64, 0, 4 * KiB) },
	{ "struct page huge", GEO(128 * MiB, 4 * KiB, 4096, 9, 2 * MiB) },
	{ "pageblock beyond block", GEO(128 * MiB, 4 * KiB, 64, 16, 2 * MiB) },
	{ "pageblock order 64", GEO(128 * MiB, 4 * KiB, 64, 64, 2 * MiB) },
	{ "pageblock order ~0", GEO(128 * MiB, 4 * KiB, 64, 0xffffffffu, 2 * MiB) },
	{ "block beyond 16 TiB", GEO(1ULL << 45, 4 * KiB, 64, 9, 2 * MiB) },
	{ "block 2^63", GEO(1ULL << 63, 4 * KiB, 64, 9, 2 * MiB) },
};

static void test_bad_input(void)
{
	struct hotmem_mm_geometry good = GEO(128 * MiB, 4 * KiB, 64, 9, 2 * MiB);
	struct hotmem_block_layout sentinel, layout;
	struct hotmem_grant_layout grant, grant_sentinel;
	uint64_t nr = 777;

	memset(&sentinel, 0xa5, sizeof(sentinel));
	for (size_t i = 0; i < sizeof(bad_geometries) / sizeof(bad_geometries[0]); i++) {
		fprintf(stderr, "bad: %s\n", bad_geometries[i].name);
		layout = sentinel;
		CHECK_EQ(hotmem_layout_check(&bad_geometries[i].geo), -EINVAL);
		CHECK_EQ(hotmem_layout_block(&bad_geometries[i].geo, HOTMEM_MEMMAP_ON, &layout),
			 -EINVAL);
		CHECK(memcmp(&layout, &sentinel, sizeof(layout)) == 0);
	}
	CHECK_EQ(hotmem_layout_check(NULL), -EINVAL);
	CHECK_EQ(hotmem_layout_block(NULL, HOTMEM_MEMMAP_ON, &layout), -EINVAL);
	CHECK_EQ(hotmem_layout_block(&good, HOTMEM_MEMMAP_ON, NULL), -EINVAL);
	CHECK_EQ(hotmem_layout_block(&good, (enum hotmem_memmap_mode)3, &layout), -EINVAL);
	CHECK_EQ(hotmem_layout_block(&good, (enum hotmem_memmap_mode) - 1, &layout), -EINVAL);

	memset(&grant_sentinel, 0x5a, sizeof(grant_sentinel));
	grant = grant_sentinel;
	CHECK_EQ(hotmem_layout_grant(&good, HOTMEM_MEMMAP_ON, 0, &grant), -EINVAL);
	CHECK_EQ(hotmem_layout_grant(&good, HOTMEM_MEMMAP_ON, (1ULL << 32) + 1, &grant), -EINVAL);
	CHECK_EQ(hotmem_layout_grant(&bad_geometries[0].geo, HOTMEM_MEMMAP_ON, 1, &grant), -EINVAL);
	CHECK(memcmp(&grant, &grant_sentinel, sizeof(grant)) == 0);
	/* 2^32 blocks of 16 TiB overflow 64 bits. */
	good.block_size = 1ULL << 44;
	CHECK_EQ(hotmem_layout_grant(&good, HOTMEM_MEMMAP_ON, 1ULL << 32, &grant), -EINVAL);
	CHECK(memcmp(&grant, &grant_sentinel, sizeof(grant)) == 0);

	CHECK_EQ(hotmem_layout_blocks_for(0, 1, &nr), -EINVAL);
	CHECK_EQ(hotmem_layout_blocks_for(3 * MiB, 1, &nr), -EINVAL);
	CHECK_EQ(hotmem_layout_blocks_for(128 * MiB, 0, &nr), -EINVAL);
	CHECK_EQ(hotmem_layout_blocks_for(128 * MiB, UINT64_MAX, &nr), -EINVAL);
	CHECK_EQ(hotmem_layout_blocks_for(128 * MiB, 1, NULL), -EINVAL);
	CHECK_EQ(nr, 777);
}

static void test_grant(void)
{
	struct hotmem_mm_geometry geo;
	struct hotmem_grant_layout grant;
	uint64_t nr;

	CHECK_EQ(hotmem_layout_preset(HOTMEM_GEO_ARM64_4K, &geo), 0);
	CHECK_EQ(hotmem_layout_blocks_for(geo.block_size, 1 * GiB, &nr), 0);
	CHECK_EQ(nr, 8);
	CHECK_EQ(hotmem_layout_grant(&geo, HOTMEM_MEMMAP_ON, nr, &grant), 0);
	CHECK_EQ(grant.nr_blocks, 8);
	CHECK_EQ(grant.granted_bytes, 1 * GiB);
	CHECK_EQ(grant.memmap_bytes, 16 * MiB);
	CHECK_EQ(grant.usable_bytes, 1008 * MiB);
	CHECK_EQ(grant.outside_bytes, 0);
	CHECK_EQ(grant.refusals, 0);

	/* Refused: the whole grant is usable, the memmap comes out of existing memory. */
	CHECK_EQ(hotmem_layout_grant(&geo, HOTMEM_MEMMAP_OFF, 8, &grant), 0);
	CHECK_EQ(grant.usable_bytes, 1 * GiB);
	CHECK_EQ(grant.memmap_bytes, 0);
	CHECK_EQ(grant.outside_bytes, 16 * MiB);

	CHECK_EQ(hotmem_layout_blocks_for(128 * MiB, 1, &nr), 0);
	CHECK_EQ(nr, 1);
	CHECK_EQ(hotmem_layout_blocks_for(128 * MiB, 128 * MiB, &nr), 0);
	CHECK_EQ(nr, 1);
	CHECK_EQ(hotmem_layout_blocks_for(128 * MiB, 128 * MiB + 1, &nr), 0);
	CHECK_EQ(nr, 2);
	CHECK_EQ(hotmem_layout_blocks_for(128 * MiB, UINT64_MAX - 128 * MiB + 1, &nr), 0);
	CHECK_EQ(nr, (1ULL << 37) - 1);
}

static void test_refusal_names(void)
{
	CHECK_STREQ(hotmem_layout_refusal_name(HOTMEM_REFUSE_DISABLED), "disabled");
	CHECK_STREQ(hotmem_layout_refusal_name(HOTMEM_REFUSE_NOT_PMD_ALIGNED), "not-pmd-aligned");
	for (uint32_t bit = 1; bit & HOTMEM_REFUSE_ALL; bit <<= 1)
		CHECK(hotmem_layout_refusal_name(bit) != NULL);
	CHECK(hotmem_layout_refusal_name(0) == NULL);
	CHECK(hotmem_layout_refusal_name(HOTMEM_REFUSE_ALL + 1) == NULL);
	CHECK(hotmem_layout_refusal_name(HOTMEM_REFUSE_DISABLED | HOTMEM_REFUSE_FILLS_BLOCK) ==
	      NULL);
}

int main(void)
{
	test_refusal_names();
	test_cases();
	test_presets();
	test_bad_input();
	test_grant();
	return check_exit("test_layout");
}
