/*
 * Memory-block layout math (see hotmem/layout.h): a re-statement, in
 * freestanding C over explicit inputs, of how Linux 6.12 decides whether a
 * hot-added block can carry its own memmap and how many of its pages that
 * memmap takes. All sizes are powers of two except sizeof(struct page), so
 * the math uses shifts and masks and never a 64-bit division (which a 32-bit
 * kernel build could not link).
 */
#include "hotmem/layout.h"

#define LAYOUT_MAX_BLOCK_SIZE  (1ULL << 44) /* 16 TiB: far above any real block */
#define LAYOUT_MIN_PAGE_SIZE   (1ULL << 12)
#define LAYOUT_MAX_PAGE_SIZE   (1ULL << 20)
#define LAYOUT_MAX_STRUCT_PAGE 1024u
#define LAYOUT_MAX_BLOCKS      (1ULL << 32) /* a grant larger than 2^32 blocks is nonsense */

static const struct hotmem_mm_geometry layout_presets[HOTMEM_GEO_PRESET_COUNT] = {
	/* arm64 4K: SECTION_SIZE_BITS 27, pageblock_order = HUGETLB_PAGE_ORDER 9. */
	[HOTMEM_GEO_ARM64_4K] = { .block_size = 128ULL << 20,
				  .page_size = 4ULL << 10,
				  .struct_page_size = 64,
				  .pageblock_pages_log2 = 9,
				  .pmd_size = 2ULL << 20 },
	/* arm64 16K: SECTION_SIZE_BITS 27, PMD 32 MiB, pageblock order 11. */
	[HOTMEM_GEO_ARM64_16K] = { .block_size = 128ULL << 20,
				   .page_size = 16ULL << 10,
				   .struct_page_size = 64,
				   .pageblock_pages_log2 = 11,
				   .pmd_size = 32ULL << 20 },
	/* arm64 64K: SECTION_SIZE_BITS 29, PMD 512 MiB, pageblock order 13. */
	[HOTMEM_GEO_ARM64_64K] = { .block_size = 512ULL << 20,
				   .page_size = 64ULL << 10,
				   .struct_page_size = 64,
				   .pageblock_pages_log2 = 13,
				   .pmd_size = 512ULL << 20 },
	/* x86_64 4K with the minimum 128 MiB block (large machines use up to 2 GiB). */
	[HOTMEM_GEO_X86_64_4K] = { .block_size = 128ULL << 20,
				   .page_size = 4ULL << 10,
				   .struct_page_size = 64,
				   .pageblock_pages_log2 = 9,
				   .pmd_size = 2ULL << 20 },
};

static bool layout_is_pow2(uint64_t value)
{
	return value && !(value & (value - 1));
}

static unsigned int layout_log2(uint64_t pow2)
{
	unsigned int shift = 0;

	while (pow2 > 1) {
		pow2 >>= 1;
		shift++;
	}
	return shift;
}

const char *hotmem_layout_refusal_name(uint32_t refusal_bit)
{
	switch (refusal_bit) {
	case HOTMEM_REFUSE_DISABLED:
		return "disabled";
	case HOTMEM_REFUSE_NOT_PAGE_ALIGNED:
		return "not-page-aligned";
	case HOTMEM_REFUSE_NOT_PAGEBLOCK:
		return "not-pageblock-aligned";
	case HOTMEM_REFUSE_FILLS_BLOCK:
		return "fills-block";
	case HOTMEM_REFUSE_NOT_PMD_ALIGNED:
		return "not-pmd-aligned";
	default:
		return NULL;
	}
}

int hotmem_layout_preset(enum hotmem_geometry_preset preset, struct hotmem_mm_geometry *ret_geo)
{
	if ((unsigned int)preset >= HOTMEM_GEO_PRESET_COUNT)
		return -EINVAL;
	*ret_geo = layout_presets[preset];
	return 0;
}

int hotmem_layout_check(const struct hotmem_mm_geometry *geo)
{
	uint64_t memmap_bytes;

	if (!geo)
		return -EINVAL;
	if (!layout_is_pow2(geo->page_size) || geo->page_size < LAYOUT_MIN_PAGE_SIZE ||
	    geo->page_size > LAYOUT_MAX_PAGE_SIZE)
		return -EINVAL;
	if (!layout_is_pow2(geo->block_size) || geo->block_size < geo->page_size ||
	    geo->block_size > LAYOUT_MAX_BLOCK_SIZE)
		return -EINVAL;
	if (!geo->struct_page_size || geo->struct_page_size > LAYOUT_MAX_STRUCT_PAGE)
		return -EINVAL;
	if (!layout_is_pow2(geo->pmd_size) || geo->pmd_size < geo->page_size)
		return -EINVAL;
	/* A pageblock larger than a block cannot exist: sections hold whole pageblocks. */
	if (geo->pageblock_pages_log2 >= 64 - layout_log2(geo->page_size) ||
	    (geo->page_size << geo->pageblock_pages_log2) > geo->block_size)
		return -EINVAL;
	if (__builtin_mul_overflow(geo->block_size >> layout_log2(geo->page_size),
				   (uint64_t)geo->struct_page_size, &memmap_bytes))
		return -EINVAL;
	return 0;
}

int hotmem_layout_block(const struct hotmem_mm_geometry *geo, enum hotmem_memmap_mode mode,
			struct hotmem_block_layout *ret)
{
	struct hotmem_block_layout layout = { 0 };
	unsigned int page_shift;
	uint64_t pageblock_pages, memmap_pages;

	if (hotmem_layout_check(geo) || (unsigned int)mode > HOTMEM_MEMMAP_FORCE || !ret)
		return -EINVAL;

	page_shift = layout_log2(geo->page_size);
	pageblock_pages = 1ULL << geo->pageblock_pages_log2;
	layout.block_pages = geo->block_size >> page_shift;
	layout.memmap_bytes = layout.block_pages * geo->struct_page_size;

	/* memory_block_memmap_on_memory_pages(): PFN_UP, then pageblock-padded when forced. */
	memmap_pages = (layout.memmap_bytes + geo->page_size - 1) >> page_shift;
	if (mode == HOTMEM_MEMMAP_FORCE)
		memmap_pages = (memmap_pages + pageblock_pages - 1) & ~(pageblock_pages - 1);

	/* The checks of mhp_supports_memmap_on_memory(), every failing one recorded. */
	if (mode == HOTMEM_MEMMAP_OFF)
		layout.refusals |= HOTMEM_REFUSE_DISABLED;
	if (layout.memmap_bytes & (geo->page_size - 1))
		layout.refusals |= HOTMEM_REFUSE_NOT_PAGE_ALIGNED;
	if (memmap_pages & (pageblock_pages - 1))
		layout.refusals |= HOTMEM_REFUSE_NOT_PAGEBLOCK;
	if (memmap_pages >= layout.block_pages)
		layout.refusals |= HOTMEM_REFUSE_FILLS_BLOCK;
	/* The generic arch_supports_memmap_on_memory() that arm64 and x86 use. */
	if (layout.memmap_bytes & (geo->pmd_size - 1))
		layout.refusals |= HOTMEM_REFUSE_NOT_PMD_ALIGNED;

	if (layout.refusals) {
		/* Refused: the kernel silently takes the memmap from existing memory. */
		layout.memmap_pages = 0;
		layout.usable_pages = layout.block_pages;
		layout.outside_bytes = ((layout.memmap_bytes + geo->page_size - 1) >> page_shift)
				       << page_shift;
	} else {
		layout.memmap_pages = memmap_pages;
		layout.usable_pages = layout.block_pages - memmap_pages;
		layout.outside_bytes = 0;
	}
	*ret = layout;
	return 0;
}

int hotmem_layout_grant(const struct hotmem_mm_geometry *geo, enum hotmem_memmap_mode mode,
			uint64_t nr_blocks, struct hotmem_grant_layout *ret)
{
	struct hotmem_block_layout block;
	struct hotmem_grant_layout grant = { 0 };
	unsigned int page_shift;
	int rc;

	if (!nr_blocks || nr_blocks > LAYOUT_MAX_BLOCKS || !ret)
		return -EINVAL;
	rc = hotmem_layout_block(geo, mode, &block);
	if (rc)
		return rc;
	page_shift = layout_log2(geo->page_size);
	grant.nr_blocks = nr_blocks;
	if (__builtin_mul_overflow(nr_blocks, geo->block_size, &grant.granted_bytes) ||
	    __builtin_mul_overflow(nr_blocks, block.memmap_pages << page_shift,
				   &grant.memmap_bytes) ||
	    __builtin_mul_overflow(nr_blocks, block.usable_pages << page_shift,
				   &grant.usable_bytes) ||
	    __builtin_mul_overflow(nr_blocks, block.outside_bytes, &grant.outside_bytes))
		return -EINVAL;
	grant.refusals = block.refusals;
	*ret = grant;
	return 0;
}

int hotmem_layout_blocks_for(uint64_t block_size, uint64_t bytes, uint64_t *ret_nr_blocks)
{
	uint64_t rounded;

	if (!layout_is_pow2(block_size) || !bytes || !ret_nr_blocks)
		return -EINVAL;
	if (__builtin_add_overflow(bytes, block_size - 1, &rounded))
		return -EINVAL;
	*ret_nr_blocks = rounded >> layout_log2(block_size);
	return 0;
}
