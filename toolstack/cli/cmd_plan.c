/*
 * `xl-hotmem plan SIZE`: how a grant of SIZE splits into memory blocks, how
 * much of it holds the blocks' own memmap (memmap-on-memory) and how much the
 * guest can use, for a chosen guest page size, from the layout math the guest
 * module also uses. It asks nothing of Xen, so it runs anywhere.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "cli.h"
#include "hotmem/layout.h"
#include "hotmem/units.h"

static const struct {
	const char *name;
	enum hotmem_geometry_preset preset;
} plan_page_sizes[] = {
	{ "4k", HOTMEM_GEO_ARM64_4K },
	{ "16k", HOTMEM_GEO_ARM64_16K },
	{ "64k", HOTMEM_GEO_ARM64_64K },
};

static const char *const plan_mode_names[] = {
	[HOTMEM_MEMMAP_OFF] = "off",
	[HOTMEM_MEMMAP_ON] = "on",
	[HOTMEM_MEMMAP_FORCE] = "force",
};

struct plan_request {
	uint64_t requested_bytes;
	const char *page_size_name;
	enum hotmem_memmap_mode mode;
	struct hotmem_mm_geometry geo;
	struct hotmem_block_layout block;
	struct hotmem_grant_layout grant;
};

/* Why the kernel refuses, in words, for the human output. */
static void plan_print_refusals(const struct plan_request *plan)
{
	char memmap[32], pageblock[32], pmd[32];
	const char *sep = "";

	hotmem_format_size(memmap, sizeof(memmap), plan->block.memmap_bytes);
	hotmem_format_size(pageblock, sizeof(pageblock),
			   plan->geo.page_size << plan->geo.pageblock_pages_log2);
	hotmem_format_size(pmd, sizeof(pmd), plan->geo.pmd_size);
	printf("unsupported: ");
	if (plan->grant.refusals & HOTMEM_REFUSE_DISABLED) {
		printf("%sthe guest booted with memory_hotplug.memmap_on_memory off", sep);
		sep = "; ";
	}
	if (plan->grant.refusals & HOTMEM_REFUSE_NOT_PAGE_ALIGNED) {
		printf("%sa block's memmap (%s) is not a whole number of pages", sep, memmap);
		sep = "; ";
	}
	if (plan->grant.refusals & HOTMEM_REFUSE_NOT_PAGEBLOCK) {
		printf("%sa block's memmap (%s) is not a whole number of pageblocks (%s)", sep,
		       memmap, pageblock);
		sep = "; ";
	}
	if (plan->grant.refusals & HOTMEM_REFUSE_FILLS_BLOCK) {
		printf("%sthe pageblock-padded memmap would fill the whole block", sep);
		sep = "; ";
	}
	if (plan->grant.refusals & HOTMEM_REFUSE_NOT_PMD_ALIGNED)
		printf("%sa block's memmap (%s) does not span whole PMDs (%s)", sep, memmap, pmd);
	printf("\n");
}

static void plan_print_human(const struct plan_request *plan)
{
	char requested[32], block[32], granted[32], memmap[32], usable[32], outside[32];
	char page[32];

	hotmem_format_size(requested, sizeof(requested), plan->requested_bytes);
	hotmem_format_size(block, sizeof(block), plan->geo.block_size);
	hotmem_format_size(granted, sizeof(granted), plan->grant.granted_bytes);
	hotmem_format_size(memmap, sizeof(memmap), plan->grant.memmap_bytes);
	hotmem_format_size(usable, sizeof(usable), plan->grant.usable_bytes);
	hotmem_format_size(outside, sizeof(outside), plan->grant.outside_bytes);
	hotmem_format_size(page, sizeof(page), plan->geo.page_size);

	printf("Plan for %s, arm64 guest with %s pages, memmap_on_memory=%s\n", requested, page,
	       plan_mode_names[plan->mode]);
	printf("  blocks:           %llu x %s = %s granted\n",
	       (unsigned long long)plan->grant.nr_blocks, block, granted);
	if (plan->grant.granted_bytes != plan->requested_bytes)
		printf("  note:             %s rounded up to whole blocks\n", requested);
	printf("  memmap-on-memory: ");
	if (plan->grant.refusals)
		plan_print_refusals(plan);
	else
		printf("supported\n");
	if (plan->grant.refusals)
		printf("  memmap:           %s taken from the guest's existing memory\n", outside);
	else
		printf("  memmap:           %s inside the blocks (%llu pages at the start of "
		       "each block)\n",
		       memmap, (unsigned long long)plan->block.memmap_pages);
	printf("  usable:           %s\n", usable);
}

static int plan_print_json(const struct plan_request *plan)
{
	yajl_gen gen = yajl_gen_alloc(NULL);
	const unsigned char *text;
	size_t len;
	int rc = -1;

#define JSON_KEY(k)    yajl_gen_string(gen, (const unsigned char *)(k), strlen(k))
#define JSON_U64(k, v) (JSON_KEY(k), yajl_gen_integer(gen, (long long)(v)))
	if (!gen)
		return -1;
	yajl_gen_config(gen, yajl_gen_beautify, 1);
	yajl_gen_map_open(gen);
	JSON_U64("requested_bytes", plan->requested_bytes);
	JSON_U64("granted_bytes", plan->grant.granted_bytes);
	JSON_U64("nr_blocks", plan->grant.nr_blocks);
	JSON_U64("block_size", plan->geo.block_size);
	JSON_U64("page_size", plan->geo.page_size);
	JSON_KEY("memmap_mode");
	JSON_KEY(plan_mode_names[plan->mode]);
	JSON_KEY("memmap_on_memory");
	yajl_gen_bool(gen, plan->grant.refusals == 0);
	JSON_U64("memmap_bytes", plan->grant.memmap_bytes);
	JSON_U64("memmap_pages_per_block", plan->block.memmap_pages);
	JSON_U64("usable_bytes", plan->grant.usable_bytes);
	JSON_U64("outside_bytes", plan->grant.outside_bytes);
	JSON_KEY("refusals");
	yajl_gen_array_open(gen);
	for (uint32_t bit = 1; bit & HOTMEM_REFUSE_ALL; bit <<= 1)
		if (plan->grant.refusals & bit)
			JSON_KEY(hotmem_layout_refusal_name(bit));
	yajl_gen_array_close(gen);
	yajl_gen_map_close(gen);
#undef JSON_U64
#undef JSON_KEY
	if (yajl_gen_get_buf(gen, &text, &len) == yajl_gen_status_ok &&
	    fwrite(text, 1, len, stdout) == len)
		rc = 0;
	yajl_gen_free(gen);
	return rc;
}

int cmd_plan(const struct cli_command *cmd, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "page-size", required_argument, NULL, 'p' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "memmap", required_argument, NULL, 'm' },
		CLI_OPTIONS_END,
	};
	struct plan_request plan = { .page_size_name = "4k", .mode = HOTMEM_MEMMAP_ON };
	const char *block_size_text = NULL, *memmap_text = NULL;
	bool json = false, page_size_known = false;
	uint64_t block_size = 0;
	struct cli_opts o;
	int opt, rc;

	cli_opts_start(&o, cmd, argc, argv, ":h", long_options);
	while ((opt = cli_opts_next(&o)) > 0) {
		if (opt == 'p')
			plan.page_size_name = optarg;
		else if (opt == 'b')
			block_size_text = optarg;
		else if (opt == 'm')
			memmap_text = optarg;
		else
			return cli_opts_bad(&o, opt);
	}
	if (opt < 0)
		return o.exit;
	if (memmap_text) {
		for (unsigned int m = 0; m <= HOTMEM_MEMMAP_FORCE; m++)
			if (!strcmp(memmap_text, plan_mode_names[m]))
				plan.mode = m;
		if (strcmp(memmap_text, plan_mode_names[plan.mode]))
			return cli_fail(cmd, "invalid --memmap '%s': expected on, force or off",
					memmap_text);
	}
	json = o.json;
	if (optind != argc - 1)
		return cli_fail(cmd, "expected exactly one SIZE argument (try -h)");

	for (size_t i = 0; i < sizeof(plan_page_sizes) / sizeof(plan_page_sizes[0]); i++) {
		if (!strcmp(plan.page_size_name, plan_page_sizes[i].name)) {
			hotmem_layout_preset(plan_page_sizes[i].preset, &plan.geo);
			page_size_known = true;
		}
	}
	if (!page_size_known)
		return cli_fail(cmd, "invalid --page-size '%s': expected 4k, 16k or 64k",
				plan.page_size_name);
	if (block_size_text) {
		if (hotmem_parse_size(block_size_text, &block_size))
			return cli_fail(cmd,
					"invalid --block-size '%s': expected a number with "
					"an optional b/k/m/g/t suffix",
					block_size_text);
		plan.geo.block_size = block_size;
		if (hotmem_layout_check(&plan.geo))
			return cli_fail(cmd,
					"invalid --block-size '%s': must be a power of two "
					"that holds whole pageblocks",
					block_size_text);
	}

	rc = hotmem_parse_size(argv[optind], &plan.requested_bytes);
	if (rc == -ERANGE)
		return cli_fail(cmd, "size '%s' is too large", argv[optind]);
	if (rc)
		return cli_fail(cmd,
				"invalid size '%s': expected a number with an optional "
				"b/k/m/g/t suffix (no suffix: MiB)",
				argv[optind]);
	if (!plan.requested_bytes)
		return cli_fail(cmd, "size must be greater than zero");
	if (hotmem_layout_blocks_for(plan.geo.block_size, plan.requested_bytes,
				     &plan.grant.nr_blocks) ||
	    hotmem_layout_grant(&plan.geo, plan.mode, plan.grant.nr_blocks, &plan.grant) ||
	    hotmem_layout_block(&plan.geo, plan.mode, &plan.block))
		return cli_fail(cmd, "size '%s' is too large to plan", argv[optind]);

	if (json) {
		if (plan_print_json(&plan))
			return cli_fail(cmd, "cannot write JSON output");
	} else {
		plan_print_human(&plan);
	}
	return 0;
}
