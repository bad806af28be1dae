/*
 * Window arithmetic: where in a guest's physical address space hotmem puts
 * the blocks it grants, and how much P2M pool each block costs.
 *
 * Xen arm64 guests have two RAM banks (bank 0: 3 GiB at 1 GiB; bank 1:
 * 1016 GiB at 8 GiB); xl fills bank 0 first, then bank 1 from its bottom.
 * libxl advertises every unused part of both banks as "extended regions",
 * which a Linux guest with XEN_UNPOPULATED_ALLOC hands out first-fit from the
 * bottom for grant and foreign mappings. The window therefore sits at the top
 * of bank 1, as far from those allocations as it can be, block-aligned and
 * never below the boot RAM. The function is pure so that xl create time (the
 * device tree) and attach time compute the same window.
 */
#include "engine.h"

#include <errno.h>

#define RAM0_END (HOTMEM_GUEST_RAM0_BASE + HOTMEM_GUEST_RAM0_SIZE)
#define RAM1_END (HOTMEM_GUEST_RAM1_BASE + HOTMEM_GUEST_RAM1_SIZE)

/* Pages of a 2 MiB L3 table's reach and a 1 GiB L2 table's reach. */
#define L3_REACH_PAGES (1ull << 9)
#define L2_REACH_PAGES (1ull << 18)

static uint64_t round_up(uint64_t value, uint64_t align)
{
	return (value + align - 1) & ~(align - 1);
}

int hotmem_window_plan(uint64_t boot_bytes, uint64_t block_size, uint64_t window_bytes,
		       uint64_t window_base, struct hotmem_window *ret_window)
{
	uint64_t boot0 = boot_bytes < HOTMEM_GUEST_RAM0_SIZE ? boot_bytes : HOTMEM_GUEST_RAM0_SIZE;
	uint64_t boot1 = boot_bytes - boot0;
	uint64_t lowest, bank_end, size, cap;
	struct hotmem_window window;

	if (!ret_window || !hotmem_block_size_valid(block_size) || window_bytes < block_size)
		return -EINVAL;
	if (boot1 > HOTMEM_GUEST_RAM1_SIZE)
		return -ENOSPC;
	cap = (uint64_t)HOTMEM_MAX_BLOCKS * block_size;
	size = window_bytes & ~(block_size - 1);
	if (size > cap)
		size = cap;

	if (!window_base) {
		/* Top of bank 1, above whatever the boot RAM uses of it. */
		lowest = round_up(HOTMEM_GUEST_RAM1_BASE + boot1, block_size);
		if (lowest >= RAM1_END)
			return -ENOSPC;
		if (size > RAM1_END - lowest)
			size = (RAM1_END - lowest) & ~(block_size - 1);
		if (!size)
			return -ENOSPC;
		window.base = RAM1_END - size;
		window.size = size;
		goto done;
	}

	if (window_base & (block_size - 1))
		return -EINVAL;
	if (window_base >= HOTMEM_GUEST_RAM0_BASE && window_base < RAM0_END) {
		lowest = HOTMEM_GUEST_RAM0_BASE + boot0;
		bank_end = RAM0_END;
	} else if (window_base >= HOTMEM_GUEST_RAM1_BASE && window_base < RAM1_END) {
		lowest = HOTMEM_GUEST_RAM1_BASE + boot1;
		bank_end = RAM1_END;
	} else {
		return -EINVAL;
	}
	if (window_base < lowest)
		return -ENOSPC;
	if (size > bank_end - window_base)
		return -EINVAL;
	window.base = window_base;
	window.size = size;
done:
	*ret_window = window;
	return 0;
}

uint64_t hm_pool_pages_per_block(uint64_t block_size)
{
	uint64_t pages = block_size >> HV_PAGE_SHIFT;
	uint64_t l3, l2;

	if (!hotmem_block_size_valid(block_size))
		return 0;
	l3 = (pages + L3_REACH_PAGES - 1) / L3_REACH_PAGES;
	l2 = (pages + L2_REACH_PAGES - 1) / L2_REACH_PAGES;
	return l3 + l2;
}

uint64_t hotmem_pool_bytes_per_block(uint64_t block_size)
{
	return hm_pool_pages_per_block(block_size) << HV_PAGE_SHIFT;
}
