/*
 * Memory-block layout math for memmap-on-memory hot-add, shared by the dom0
 * toolstack (to plan grants) and the guest module (to check what the running
 * kernel will do). It mirrors mhp_supports_memmap_on_memory() and
 * memory_block_memmap_on_memory_pages() of Linux 6.12 mm/memory_hotplug.c: for
 * a given memory block size, page size, sizeof(struct page), pageblock order
 * and PMD size it says how many pages at the start of each block hold the
 * block's own struct pages (the vmem_altmap), how many reach the buddy
 * allocator, and whether Linux would honour MHP_MEMMAP_ON_MEMORY at all, and
 * if not, every reason why. Freestanding: builds in the kernel and on the host.
 *
 * Every function returns 0 or -EINVAL and leaves ret_* untouched on failure.
 */
#ifndef HOTMEM_LAYOUT_H
#define HOTMEM_LAYOUT_H

#include "hotmem/types.h"

/* The guest kernel's memory_hotplug.memmap_on_memory mode (boot-time, 0444). */
enum hotmem_memmap_mode {
	HOTMEM_MEMMAP_OFF = 0, /* "0"/"n": memmap comes from existing memory */
	HOTMEM_MEMMAP_ON,      /* "1"/"y": self-hosted only when naturally aligned */
	HOTMEM_MEMMAP_FORCE,   /* "force": pad the memmap to whole pageblocks */
};

/* What the guest kernel is built and booted with; every field is a run-time fact. */
struct hotmem_mm_geometry {
	uint64_t block_size;	   /* memory_block_size_bytes(), power of two */
	uint64_t page_size;	   /* PAGE_SIZE, power of two, 4 KiB .. 1 MiB */
	uint32_t struct_page_size; /* sizeof(struct page), 1 .. 1024 */
	/* the kernel's pageblock_order (a pageblock is 2^this pages); the name
	 * differs because the kernel defines pageblock_order as a macro */
	uint32_t pageblock_pages_log2; /* pageblock must fit in a block */
	uint64_t pmd_size;	       /* PMD_SIZE, power of two, >= page_size */
};

/* Why Linux refuses MHP_MEMMAP_ON_MEMORY for a block; a bitmask of all that apply,
 * listed in the order mhp_supports_memmap_on_memory() tests them. */
enum hotmem_memmap_refusal {
	HOTMEM_REFUSE_DISABLED = 1u << 0,	  /* memmap_on_memory is off */
	HOTMEM_REFUSE_NOT_PAGE_ALIGNED = 1u << 1, /* memmap is not a whole number of pages */
	HOTMEM_REFUSE_NOT_PAGEBLOCK = 1u << 2,	  /* memmap pages are not whole pageblocks */
	HOTMEM_REFUSE_FILLS_BLOCK = 1u << 3,	  /* memmap would leave nothing usable */
	HOTMEM_REFUSE_NOT_PMD_ALIGNED = 1u << 4,  /* arch: memmap does not span whole PMDs */
};
#define HOTMEM_REFUSE_ALL 0x1fu

/*
 * hotmem_layout_refusal_name - a stable token for one refusal bit
 * ("disabled", "not-page-aligned", "not-pageblock-aligned", "fills-block",
 * "not-pmd-aligned"), for logs and JSON. Returns NULL for anything that is not
 * exactly one known bit.
 */
const char *hotmem_layout_refusal_name(uint32_t refusal_bit);

/* The layout of one memory block as the 6.12 kernel would lay it out. */
struct hotmem_block_layout {
	uint64_t block_pages;	/* pages per block */
	uint64_t memmap_bytes;	/* struct pages describing the block (memory_block_memmap_size) */
	uint64_t memmap_pages;	/* pages at the block's start that hold its memmap; 0 if refused */
	uint64_t usable_pages;	/* pages of the block handed to the buddy allocator */
	uint64_t outside_bytes; /* existing memory the memmap takes when refused (else 0) */
	uint32_t refusals;	/* 0 when MHP_MEMMAP_ON_MEMORY is honoured */
};

/* Geometry presets of the kernels hotmem knows; block sizes are the 6.12 defaults. */
enum hotmem_geometry_preset {
	HOTMEM_GEO_ARM64_4K = 0, /* 128 MiB blocks, pageblock order 9, 2 MiB PMD */
	HOTMEM_GEO_ARM64_16K,	 /* 128 MiB blocks, pageblock order 11, 32 MiB PMD */
	HOTMEM_GEO_ARM64_64K,	 /* 512 MiB blocks, pageblock order 13, 512 MiB PMD */
	HOTMEM_GEO_X86_64_4K,	 /* 128 MiB blocks, pageblock order 9, 2 MiB PMD */
	HOTMEM_GEO_PRESET_COUNT,
};

/*
 * hotmem_layout_preset - fill *ret_geo with a preset.
 * Returns 0, or -EINVAL for an unknown preset.
 */
int hotmem_layout_preset(enum hotmem_geometry_preset preset, struct hotmem_mm_geometry *ret_geo);

/*
 * hotmem_layout_check - validate a geometry (powers of two, ranges, no overflow
 * in any product the layout computes).
 * Returns 0, or -EINVAL naming nothing (the caller knows which input it gave).
 */
int hotmem_layout_check(const struct hotmem_mm_geometry *geo);

/*
 * hotmem_layout_block - lay out one memory block.
 * @geo:  the guest kernel's geometry (validated here)
 * @mode: its memory_hotplug.memmap_on_memory mode
 * Returns 0 with *ret filled, or -EINVAL for an invalid geometry or mode.
 */
int hotmem_layout_block(const struct hotmem_mm_geometry *geo, enum hotmem_memmap_mode mode,
			struct hotmem_block_layout *ret);

/* A grant of nr_blocks whole blocks, summed up. */
struct hotmem_grant_layout {
	uint64_t nr_blocks;
	uint64_t granted_bytes; /* nr_blocks * block_size: frames dom0 gives */
	uint64_t memmap_bytes;	/* of those, holding struct pages (self-hosted) */
	uint64_t usable_bytes;	/* of those, reaching the guest's buddy allocator */
	uint64_t outside_bytes; /* existing guest memory the memmap takes when refused */
	uint32_t refusals;	/* as in struct hotmem_block_layout */
};

/*
 * hotmem_layout_grant - lay out a grant of nr_blocks blocks.
 * Returns 0, or -EINVAL for an invalid geometry/mode, nr_blocks == 0, or a
 * byte total that does not fit in 64 bits.
 */
int hotmem_layout_grant(const struct hotmem_mm_geometry *geo, enum hotmem_memmap_mode mode,
			uint64_t nr_blocks, struct hotmem_grant_layout *ret);

/*
 * hotmem_layout_blocks_for - the number of whole blocks that cover bytes
 * (rounded up: a grant is made of whole blocks).
 * Returns 0 with *ret_nr_blocks >= 1, or -EINVAL for bytes == 0, an invalid
 * block size, or a round-up that overflows.
 */
int hotmem_layout_blocks_for(uint64_t block_size, uint64_t bytes, uint64_t *ret_nr_blocks);

#endif /* HOTMEM_LAYOUT_H */
