// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/xen_hotmem/: what the driver is doing, for humans and the lab.
 *   state     protocol state (init/ready/busy/broken/closed)
 *   blocks    one line per window block that is not absent or has notifier
 *             history: index, range, state, zone, memmap pages, the last
 *             MEM_* notes in order, whether their order was right
 *   status    counters (requests, retries, violations, last error, blocks
 *             per state, notifier order violations, blocks put in a kernel
 *             zone for want of headroom, the kernel-zone bytes one add takes
 *             at most) and the balloon's books
 *   psi       write: the text of /proc/pressure/memory (a tiny guest agent
 *             does `cat /proc/pressure/memory > psi` every second, since the
 *             kernel does not export psi_system); read: the values and age
 *   swap      write: /proc/meminfo's text, or its SwapCached, SwapTotal and
 *             SwapFree lines (the same agent, since modules get no SwapTotal);
 *             read: swap in use not also in RAM, and its age
 * Readers take xhm.lock, so a read waits for the step in progress.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <xen/balloon.h>

#include "xen_hotmem.h"

static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct xhm *x = &xhm;
	ssize_t len;

	mutex_lock(&x->lock);
	len = sysfs_emit(buf, "%s\n", hotmem_state_token(x->core->state));
	mutex_unlock(&x->lock);
	return len;
}

/* Print the notes of a block oldest first ("going-online,online"). */
static int xhm_emit_notes(char *buf, int at, const struct xhm_block *blk)
{
	int n = min_t(int, blk->nr_notes, 8), i;

	if (!n)
		return sysfs_emit_at(buf, at, "-");
	for (i = n - 1; i >= 0; i--)
		at += sysfs_emit_at(buf, at, "%s%s", xhm_note_name((blk->history >> (4 * i)) & 0xf),
				    i ? "," : "");
	return at;
}

static ssize_t blocks_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct xhm *x = &xhm;
	struct hotmem_core *core = x->core;
	struct xhm_block blk;
	u32 block, state;
	u64 start;
	int len = 0;

	mutex_lock(&x->lock);
	len += sysfs_emit_at(buf, len, "# block range state zone memmap_pages notes order\n");
	for (block = 0; block < core->nr_blocks; block++) {
		state = core->block_state[block];
		spin_lock_irq(&x->note_lock);
		blk = x->blocks[block];
		spin_unlock_irq(&x->note_lock);
		if (state == HOTMEM_BLOCK_ABSENT && !blk.nr_notes)
			continue;
		if (len > PAGE_SIZE - 256) {
			len += sysfs_emit_at(buf, len, "...\n");
			break;
		}
		hotmem_core_block_range(core, block, &start);
		len += sysfs_emit_at(
			buf, len, "%u %#llx-%#llx %s %s %llu ", block, start,
			start + core->mm.geo.block_size - 1, hotmem_block_state_name(state),
			blk.online ? xhm_zone_idx_name(blk.zone_idx) : "-",
			state == HOTMEM_BLOCK_ABSENT ? 0ULL : core->layout.memmap_pages);
		len = xhm_emit_notes(buf, len, &blk);
		len += sysfs_emit_at(buf, len, " %s\n", blk.order_bad ? "bad" : "ok");
	}
	mutex_unlock(&x->lock);
	return len;
}

static ssize_t status_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct xhm *x = &xhm;
	struct hotmem_core *core = x->core;
	int len = 0, i;

	mutex_lock(&x->lock);
	len += sysfs_emit_at(buf, len, "state %s\nlast_seq %u\nrequests %llu\nretries %llu\n",
			     hotmem_state_token(core->state), core->last_seq, core->nr_requests,
			     core->nr_retries);
	len += sysfs_emit_at(buf, len, "violations %llu\nlast_err %d\nfeatures_in_use %#x\n",
			     core->nr_violations, core->last_err, core->features);
	len += sysfs_emit_at(buf, len,
			     "memmap_bytes %#llx\nmemmap_on_memory %d\nballoon_captures %d\n",
			     core->memmap_bytes, core->mm.memmap_on_memory, x->balloon_captures);
	for (i = 0; i < HOTMEM_BLOCK_COUNT; i++)
		len += sysfs_emit_at(buf, len, "blocks_%s %u\n", hotmem_block_state_name(i),
				     i == HOTMEM_BLOCK_ABSENT
					     ? core->nr_in_state[i] -
						       (HOTMEM_MAX_BLOCKS - core->nr_blocks)
					     : core->nr_in_state[i]);
	len += sysfs_emit_at(buf, len, "notifier_order_violations %d\n",
			     atomic_read(&x->nr_order_violations));
	len += sysfs_emit_at(buf, len, "kernel_blocks %u\nadd_kernel_bytes %llu\n",
			     core->nr_kernel_blocks, core->add_kernel_bytes);
	mutex_unlock(&x->lock);
	len += sysfs_emit_at(
		buf, len,
		"balloon_current_pages %lu\nballoon_target_pages %lu\nballoon_total_pages %lu\n"
		"balloon_low %lu\nballoon_high %lu\n",
		READ_ONCE(balloon_stats.current_pages), READ_ONCE(balloon_stats.target_pages),
		READ_ONCE(balloon_stats.total_pages), READ_ONCE(balloon_stats.balloon_low),
		READ_ONCE(balloon_stats.balloon_high));
	return len;
}

static ssize_t psi_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct xhm *x = &xhm;
	u32 some, full;
	unsigned long stamp;

	spin_lock_irq(&x->psi_lock);
	some = x->psi_some;
	full = x->psi_full;
	stamp = x->psi_stamp;
	spin_unlock_irq(&x->psi_lock);
	if (!stamp)
		return sysfs_emit(buf, "some %u full %u age_ms -1\n", some, full);
	return sysfs_emit(buf, "some %u full %u age_ms %u\n", some, full,
			  jiffies_to_msecs(jiffies - stamp));
}

static ssize_t psi_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf,
			 size_t count)
{
	struct xhm *x = &xhm;
	u32 some, full;
	int rc;

	rc = hotmem_parse_psi_memory(buf, count, &some, &full);
	if (rc)
		return rc;
	spin_lock_irq(&x->psi_lock);
	x->psi_some = some;
	x->psi_full = full;
	x->psi_stamp = jiffies ? jiffies : 1;
	spin_unlock_irq(&x->psi_lock);
	return count;
}

static ssize_t swap_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct xhm *x = &xhm;
	unsigned long stamp;
	u64 swapped_kib;

	spin_lock_irq(&x->psi_lock);
	swapped_kib = x->swapped_kib;
	stamp = x->swap_stamp;
	spin_unlock_irq(&x->psi_lock);
	if (!stamp)
		return sysfs_emit(buf, "swapped_kib %llu age_ms -1\n", swapped_kib);
	return sysfs_emit(buf, "swapped_kib %llu age_ms %u\n", swapped_kib,
			  jiffies_to_msecs(jiffies - stamp));
}

static ssize_t swap_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf,
			  size_t count)
{
	struct xhm *x = &xhm;
	u64 swapped_kib;
	int rc;

	rc = hotmem_parse_meminfo_swap(buf, count, &swapped_kib);
	if (rc)
		return rc;
	spin_lock_irq(&x->psi_lock);
	x->swapped_kib = swapped_kib;
	x->swap_stamp = jiffies ? jiffies : 1;
	spin_unlock_irq(&x->psi_lock);
	return count;
}

static struct kobj_attribute state_attr = __ATTR_RO(state);
static struct kobj_attribute blocks_attr = __ATTR_RO(blocks);
static struct kobj_attribute status_attr = __ATTR_RO(status);
static struct kobj_attribute psi_attr = __ATTR(psi, 0644, psi_show, psi_store);
static struct kobj_attribute swap_attr = __ATTR(swap, 0644, swap_show, swap_store);

static struct attribute *xhm_attrs[] = {
	&state_attr.attr, &blocks_attr.attr, &status_attr.attr,
	&psi_attr.attr,	  &swap_attr.attr,   NULL,
};

static const struct attribute_group xhm_attr_group = {
	.attrs = xhm_attrs,
};

int xhm_sysfs_init(struct xhm *x)
{
	int rc;

	x->kobj = kobject_create_and_add("xen_hotmem", kernel_kobj);
	if (!x->kobj)
		return -ENOMEM;
	rc = sysfs_create_group(x->kobj, &xhm_attr_group);
	if (rc) {
		kobject_put(x->kobj);
		x->kobj = NULL;
	}
	return rc;
}

void xhm_sysfs_exit(struct xhm *x)
{
	sysfs_remove_group(x->kobj, &xhm_attr_group);
	kobject_put(x->kobj);
	x->kobj = NULL;
}
