/*
 * The device-tree fragment for xl's device_tree= option: libxl copies the
 * /passthrough node of a partial FDT into the guest's device tree, so a
 * guest can learn its hotmem window at boot, before xenstore is up. The tree
 * is built with libfdt's sequential-write API by small make_*() helpers;
 * every libfdt call goes through one wrapper that restarts the whole build
 * in a buffer twice as big on -FDT_ERR_NOSPACE (as libxl's FDT() does: a
 * half-written tree cannot be resumed). The result is packed and copied into
 * the caller's buffer.
 */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#define FDT_FIRST_SIZE 512
#define FDT_MAX_SIZE   (64 * 1024)

/* Cells of /passthrough: 64-bit addresses and sizes, as libxl's root. */
#define PASSTHROUGH_ADDRESS_CELLS 2
#define PASSTHROUGH_SIZE_CELLS	  2

static int make_window_node(void *fdt, const struct hotmem_window *window, uint64_t block_size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(window->base), cpu_to_fdt64(window->size) };
	char name[40];
	int r;

	snprintf(name, sizeof(name), "hotmem@%" PRIx64, window->base);
	r = fdt_begin_node(fdt, name);
	if (!r)
		r = fdt_property_string(fdt, "compatible", "hotmem,window-v1");
	if (!r)
		r = fdt_property(fdt, "reg", reg, sizeof(reg));
	if (!r)
		r = fdt_property_u64(fdt, "block-size", block_size);
	if (!r)
		r = fdt_end_node(fdt);
	return r;
}

static int make_passthrough_node(void *fdt, const struct hotmem_window *window, uint64_t block_size)
{
	int r;

	r = fdt_begin_node(fdt, "passthrough");
	if (!r)
		r = fdt_property_string(fdt, "compatible", "simple-bus");
	if (!r)
		r = fdt_property(fdt, "ranges", NULL, 0);
	if (!r)
		r = fdt_property_cell(fdt, "#address-cells", PASSTHROUGH_ADDRESS_CELLS);
	if (!r)
		r = fdt_property_cell(fdt, "#size-cells", PASSTHROUGH_SIZE_CELLS);
	if (!r)
		r = make_window_node(fdt, window, block_size);
	if (!r)
		r = fdt_end_node(fdt);
	return r;
}

/* The whole tree into fdt of fdt_size bytes; a libfdt error code. */
static int make_tree(void *fdt, int fdt_size, const struct hotmem_window *window,
		     uint64_t block_size)
{
	int r;

	r = fdt_create(fdt, fdt_size);
	if (!r)
		r = fdt_finish_reservemap(fdt);
	if (!r)
		r = fdt_begin_node(fdt, "");
	if (!r)
		r = fdt_property_cell(fdt, "#address-cells", PASSTHROUGH_ADDRESS_CELLS);
	if (!r)
		r = fdt_property_cell(fdt, "#size-cells", PASSTHROUGH_SIZE_CELLS);
	if (!r)
		r = make_passthrough_node(fdt, window, block_size);
	if (!r)
		r = fdt_end_node(fdt);
	if (!r)
		r = fdt_finish(fdt);
	if (!r)
		r = fdt_open_into(fdt, fdt, fdt_size);
	if (!r)
		r = fdt_pack(fdt);
	return r;
}

/* The one wrapper: rebuild from scratch, doubling the buffer on NOSPACE. */
static int build_fdt(const struct hotmem_window *window, uint64_t block_size, void **ret_fdt)
{
	int size = FDT_FIRST_SIZE;
	void *fdt = NULL;
	int r;

	for (;;) {
		void *bigger = realloc(fdt, (size_t)size);

		if (!bigger) {
			r = -ENOMEM;
			goto out;
		}
		fdt = bigger;
		r = make_tree(fdt, size, window, block_size);
		if (r != -FDT_ERR_NOSPACE)
			break;
		if (size >= FDT_MAX_SIZE) {
			r = -ENOSPC;
			goto out;
		}
		size *= 2;
	}
	if (r < 0) {
		r = -EIO;
		goto out;
	}
	*ret_fdt = fdt;
	fdt = NULL;
out:
	free(fdt);
	return r;
}

int hotmem_dt_fragment(const struct hotmem_window *window, uint64_t block_size, void *buf,
		       size_t size)
{
	void *fdt = NULL;
	uint32_t total;
	uint32_t nr_blocks;
	int r;

	if (!window || (size && !buf) || hotmem_window_check(window, block_size, &nr_blocks) < 0)
		return -EINVAL;
	r = build_fdt(window, block_size, &fdt);
	if (r < 0)
		goto out;
	total = fdt_totalsize(fdt);
	if (size && size < total) {
		r = -ENOSPC;
		goto out;
	}
	if (size)
		memcpy(buf, fdt, total);
	r = (int)total;
out:
	free(fdt);
	return r;
}
