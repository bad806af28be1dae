// SPDX-License-Identifier: GPL-2.0
/*
 * The memory mechanism of xen_hotmem.ko: hot-adding one window block with
 * add_memory_driver_managed() into a static memory group with its memmap in
 * its own head (MHP_MEMMAP_ON_MEMORY), bringing it online in the zone the
 * module parameter asks for, taking it out again with
 * offline_and_remove_memory() under a timeout, and keeping the Xen balloon's
 * books (balloon_stats) in step with blocks that come and go. A memory
 * notifier records, per block, the order of MEM_* events and refuses an
 * automatic onlining into the wrong zone while we add the block, so that the
 * block can be onlined where we want it (the balloon would otherwise take
 * its pages at once and pin it in that zone).
 *
 * Why the balloon matters (docs/guest-driver.md): with
 * CONFIG_XEN_BALLOON_MEMORY_HOTPLUG the balloon owns the online-page
 * callback, so every page of a block we online goes onto its list of
 * ballooned pages, unpopulated in its view. With feature populated-blocks
 * dom0 has populated the whole block, and the notifier takes those pages
 * back from the balloon at MEM_ONLINE (xen_alloc_ballooned_pages(), under the
 * balloon's own mutex) and frees them to the page allocator. Without it
 * (an older toolstack) dom0 populates only the block's memmap head and the
 * balloon populates the rest when memory/target rises.
 *
 * Offlining a window block is refused unless the driver itself does it: an
 * offline by anyone else would leave dom0's frames charged and unusable, and
 * the online after it could land the block in a kernel zone.
 *
 * Every function here runs in the worker (xhm.lock held) unless it says so.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/ioport.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <xen/balloon.h>

#include "xen_hotmem.h"

static const char *const note_names[XHM_NOTE_COUNT] = {
	[XHM_NOTE_NONE] = "-",
	[XHM_NOTE_PREPARE_ONLINE] = "prepare-online",
	[XHM_NOTE_GOING_ONLINE] = "going-online",
	[XHM_NOTE_ONLINE] = "online",
	[XHM_NOTE_CANCEL_ONLINE] = "cancel-online",
	[XHM_NOTE_GOING_OFFLINE] = "going-offline",
	[XHM_NOTE_OFFLINE] = "offline",
	[XHM_NOTE_CANCEL_OFFLINE] = "cancel-offline",
	[XHM_NOTE_FINISH_OFFLINE] = "finish-offline",
	[XHM_NOTE_VETO] = "veto",
};

const char *xhm_note_name(enum xhm_note note)
{
	return (unsigned int)note < XHM_NOTE_COUNT ? note_names[note] : "?";
}

const char *xhm_zone_idx_name(unsigned int zone_idx)
{
	switch (zone_idx) {
#ifdef CONFIG_ZONE_DMA
	case ZONE_DMA:
		return "DMA";
#endif
#ifdef CONFIG_ZONE_DMA32
	case ZONE_DMA32:
		return "DMA32";
#endif
	case ZONE_NORMAL:
		return "Normal";
	case ZONE_MOVABLE:
		return "Movable";
	default:
		return "?";
	}
}

/* The online-page callback we try to install, only to learn whether we can. */
static void xhm_probe_online_page(struct page *page, unsigned int order)
{
	generic_online_page(page, order);
}

/*
 * xhm_balloon_owns_callback - whether the Xen balloon holds the online-page
 * callback (it takes every onlined page as ballooned-out). We learn it by
 * trying to install our own: that only works while the generic one is in
 * place, and ours behaves exactly like it for the moment it is installed.
 */
static bool xhm_balloon_owns_callback(void)
{
	if (!IS_ENABLED(CONFIG_XEN_BALLOON_MEMORY_HOTPLUG))
		return false;
	if (set_online_page_callback(xhm_probe_online_page))
		return true;
	restore_online_page_callback(xhm_probe_online_page);
	return false;
}

int xhm_mm_info(void *ctx, struct hotmem_guest_mm *ret_mm)
{
	struct xhm *x = ctx;
	struct hotmem_guest_mm mm = {
		.geo = {
			.block_size = memory_block_size_bytes(),
			.page_size = PAGE_SIZE,
			.struct_page_size = sizeof(struct page),
			.pageblock_pages_log2 = pageblock_order,
			.pmd_size = PMD_SIZE,
		},
		.memmap_on_memory = mhp_supports_memmap_on_memory(),
		.balloon_captures = x->balloon_captures,
		.hotremove = IS_ENABLED(CONFIG_MEMORY_HOTREMOVE),
	};

	*ret_mm = mm;
	return 0;
}

bool xhm_range_pluggable(void *ctx, u64 start, u64 size)
{
	struct range pluggable = mhp_get_pluggable_range(true);

	return size && start >= pluggable.start && start + size - 1 <= pluggable.end &&
	       start + size - 1 >= start;
}

void xhm_set_window(struct xhm *x, u64 base, u64 size)
{
	spin_lock_irq(&x->note_lock);
	x->window_base = base;
	x->window_size = size;
	spin_unlock_irq(&x->note_lock);
}

/* Window index of a physical address, or -1 (note_lock held). */
static long xhm_block_index(struct xhm *x, u64 phys)
{
	if (!x->block_size || phys < x->window_base || phys - x->window_base >= x->window_size)
		return -1;
	return (long)((phys - x->window_base) / x->block_size);
}

/* The block record of a range the core names; sets the window copies first. */
static struct xhm_block *xhm_block_of(struct xhm *x, u64 start, long *ret_index)
{
	long index;

	xhm_set_window(x, x->core->window.base, x->core->window.size);
	index = xhm_block_index(x, start);
	if (index < 0 || index >= HOTMEM_MAX_BLOCKS)
		return NULL;
	*ret_index = index;
	return &x->blocks[index];
}

static void xhm_note(struct xhm_block *blk, enum xhm_note note)
{
	static const u8 needs[XHM_NOTE_COUNT] = {
		[XHM_NOTE_ONLINE] = XHM_NOTE_GOING_ONLINE,
		[XHM_NOTE_CANCEL_ONLINE] = XHM_NOTE_GOING_ONLINE,
		[XHM_NOTE_OFFLINE] = XHM_NOTE_GOING_OFFLINE,
		[XHM_NOTE_CANCEL_OFFLINE] = XHM_NOTE_GOING_OFFLINE,
	};

	if (needs[note] && blk->last != needs[note] &&
	    !((note == XHM_NOTE_CANCEL_ONLINE || note == XHM_NOTE_CANCEL_OFFLINE) &&
	      blk->last == XHM_NOTE_VETO)) {
		blk->order_bad = true;
		atomic_inc(&xhm.nr_order_violations);
	}
	blk->history = (blk->history << 4) | note;
	if (blk->nr_notes < 255)
		blk->nr_notes++;
	blk->last = note;
}

/* Pages moved per xen_alloc_ballooned_pages() call, and foreign pages kept aside. */
#define XHM_TAKE_BATCH 512

/*
 * xhm_take_pages - hand the usable pages [pfn, pfn + nr) of a block that just
 * came online to the page allocator, when the balloon's online callback put
 * them on its list (populated-blocks: dom0 populated them already). Called
 * by the notifier at MEM_ONLINE, with mem_hotplug_lock held as around the
 * balloon's callback itself (the lock order is hotplug lock, then
 * balloon_mutex, in both). The pages the callback just queued are at the
 * head of the balloon's list, so xen_alloc_ballooned_pages() (which takes
 * them from there under balloon_mutex, and never hot-adds while the list
 * holds enough) returns them; each is checked to lie in the range, anything
 * else is kept aside and given back with xen_free_ballooned_pages() at the
 * end. Our pages go to the allocator with free_reserved_page(), as the
 * balloon itself does after populating one. Both calls move
 * balloon_stats.target_unpopulated by their count; for our pages it is
 * given back with xen_free_ballooned_pages() over a NULL array (which puts
 * nothing on the list), so the balloon's books end as they began.
 * Returns the number of pages handed over; *ret_err is 0 when that is nr.
 */
static unsigned long xhm_take_pages(struct xhm *x, unsigned long pfn, unsigned long nr,
				    int *ret_err)
{
	struct page **batch = x->take_batch, **foreign = x->take_foreign;
	unsigned long taken = 0, nr_foreign = 0;
	int rc = 0;

	while (taken < nr && !rc) {
		unsigned long listed = READ_ONCE(balloon_stats.balloon_low) +
				       READ_ONCE(balloon_stats.balloon_high);
		unsigned int want = min_t(unsigned long, nr - taken, XHM_TAKE_BATCH);
		unsigned int i, ours = 0;

		/* Never ask for more than the list holds: the balloon would take it
		 * from Xen (decrease_reservation) to make up the difference. */
		if (listed < want) {
			rc = -ENOENT;
			break;
		}
		rc = xen_alloc_ballooned_pages(want, batch);
		if (rc)
			break;
		for (i = 0; i < want; i++) {
			unsigned long page_pfn = page_to_pfn(batch[i]);

			if (page_pfn >= pfn && page_pfn - pfn < nr) {
				free_reserved_page(batch[i]);
				ours++;
			} else if (nr_foreign < XHM_TAKE_BATCH) {
				foreign[nr_foreign++] = batch[i];
			} else {
				/* The list is not what the callback left: stop. */
				xen_free_ballooned_pages(1, &batch[i]);
				rc = -EBUSY;
			}
			batch[i] = NULL;
		}
		/* target_unpopulated back by the pages that left the balloon. */
		if (ours)
			xen_free_ballooned_pages(ours, batch);
		taken += ours;
	}
	if (nr_foreign)
		xen_free_ballooned_pages(nr_foreign, foreign);
	*ret_err = rc;
	return taken;
}

/*
 * xhm_memory_notifier - called by the memory hotplug core for every block of
 * the system (with mem_hotplug_lock held; may run in the worker, inside our
 * own add/online/offline calls). Records notes for window blocks and refuses
 * MEM_GOING_ONLINE of the block being added when the kernel picked another
 * zone than ours (auto-onlining): the worker then onlines it into ours.
 */
static int xhm_memory_notifier(struct notifier_block *nb, unsigned long action, void *data)
{
	const struct memory_notify *arg = data;
	struct xhm *x = &xhm;
	static const u8 notes[] = {
		[MEM_PREPARE_ONLINE] = XHM_NOTE_PREPARE_ONLINE,
		[MEM_GOING_ONLINE] = XHM_NOTE_GOING_ONLINE,
		[MEM_ONLINE] = XHM_NOTE_ONLINE,
		[MEM_CANCEL_ONLINE] = XHM_NOTE_CANCEL_ONLINE,
		[MEM_GOING_OFFLINE] = XHM_NOTE_GOING_OFFLINE,
		[MEM_OFFLINE] = XHM_NOTE_OFFLINE,
		[MEM_CANCEL_OFFLINE] = XHM_NOTE_CANCEL_OFFLINE,
		[MEM_FINISH_OFFLINE] = XHM_NOTE_FINISH_OFFLINE,
	};
	int rc = NOTIFY_OK, take_err = 0;
	bool refused = false, take = false;
	struct xhm_block *blk = NULL;
	unsigned int zone_idx;
	unsigned long taken;
	long index;

	if (action >= ARRAY_SIZE(notes) || !notes[action])
		return NOTIFY_OK;
	spin_lock_irq(&x->note_lock);
	index = xhm_block_index(x, PFN_PHYS(arg->start_pfn));
	if (index < 0 || index >= HOTMEM_MAX_BLOCKS)
		goto out;
	blk = &x->blocks[index];
	/* The struct pages know their zone from MEM_GOING_ONLINE until MEM_OFFLINE. */
	zone_idx = ZONE_NORMAL;
	if (action == MEM_GOING_ONLINE || action == MEM_ONLINE)
		zone_idx = zone_idx(page_zone(pfn_to_page(arg->start_pfn)));
	if (action == MEM_GOING_ONLINE && index == x->expect_block &&
	    (zone_idx == ZONE_MOVABLE) != x->expect_movable) {
		xhm_note(blk, XHM_NOTE_GOING_ONLINE);
		xhm_note(blk, XHM_NOTE_VETO);
		blk->vetoed = true;
		blk->zone_idx = zone_idx;
		rc = notifier_from_errno(-EBUSY);
		goto out;
	}
	/* Only the driver gives a window block back (xl-hotmem shrink in dom0). */
	if (action == MEM_GOING_OFFLINE && index != x->expect_offline) {
		xhm_note(blk, XHM_NOTE_GOING_OFFLINE);
		xhm_note(blk, XHM_NOTE_VETO);
		blk->nr_offline_refused++;
		refused = true;
		rc = notifier_from_errno(-EBUSY);
		goto out;
	}
	xhm_note(blk, notes[action]);
	if (action == MEM_ONLINE) {
		blk->online = true;
		blk->zone_idx = zone_idx;
		blk->nr_online_pages = arg->nr_pages;
		blk->pages_taken = 0;
		blk->take_err = 0;
		take = READ_ONCE(x->own_pages) && x->balloon_captures;
	} else if (action == MEM_OFFLINE) {
		blk->online = false;
	}
out:
	spin_unlock_irq(&x->note_lock);
	if (refused)
		pr_warn_ratelimited("offline of [mem %#llx-%#llx] refused: hotmem memory is given "
				    "back from dom0 with `xl-hotmem shrink` (or `xl-hotmem set`)\n",
				    PFN_PHYS(arg->start_pfn),
				    PFN_PHYS(arg->start_pfn + arg->nr_pages) - 1);
	if (take) {
		taken = xhm_take_pages(x, arg->start_pfn, arg->nr_pages, &take_err);
		spin_lock_irq(&x->note_lock);
		blk->pages_taken = taken;
		blk->take_err = take_err;
		spin_unlock_irq(&x->note_lock);
		if (take_err)
			pr_err("[mem %#llx-%#llx] online: only %lu of %lu pages taken back from "
			       "the "
			       "balloon (%d)\n",
			       PFN_PHYS(arg->start_pfn),
			       PFN_PHYS(arg->start_pfn + arg->nr_pages) - 1, taken, arg->nr_pages,
			       take_err);
	}
	return rc;
}

static struct notifier_block xhm_memory_nb = {
	.notifier_call = xhm_memory_notifier,
	/* Before the balloon's notifier (0): a veto then reaches nobody else. */
	.priority = 10,
};

int xhm_probe_block(void *ctx, u64 start, u64 size, enum hotmem_probe *ret_probe)
{
	struct xhm *x = ctx;
	unsigned long last_pfn = PHYS_PFN(start + size - 1);
	struct xhm_block *blk;
	struct page *page;
	long index;

	blk = xhm_block_of(x, start, &index);
	if (!blk)
		return -ERANGE;
	page = pfn_to_online_page(last_pfn);
	if (page) {
		spin_lock_irq(&x->note_lock);
		blk->online = true;
		blk->zone_idx = zone_idx(page_zone(page));
		spin_unlock_irq(&x->note_lock);
		*ret_probe = zone_idx(page_zone(page)) == ZONE_MOVABLE ? HOTMEM_PROBE_ONLINE
								       : HOTMEM_PROBE_ONLINE_KERNEL;
	} else if (region_intersects(start, size, IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) !=
		   REGION_DISJOINT) {
		*ret_probe = HOTMEM_PROBE_OFFLINE;
	} else {
		*ret_probe = HOTMEM_PROBE_ABSENT;
	}
	return 0;
}

/*
 * xhm_balloon_would_populate - whether the balloon wants pages now (its
 * target above current). It would then populate, one frame at a time, the
 * pages its online callback queues, over the frames dom0 already populated
 * (Xen maps the new frame and the old one stays charged, unmapped). With
 * populated-blocks no block is added or onlined until it settles.
 */
static bool xhm_balloon_would_populate(void)
{
	return IS_ENABLED(CONFIG_XEN_BALLOON) && READ_ONCE(xhm.balloon_captures) &&
	       (long)READ_ONCE(balloon_stats.target_pages) -
			       (long)READ_ONCE(balloon_stats.current_pages) >
		       0;
}

/*
 * xhm_kernel_headroom - free bytes of every populated zone but ZONE_MOVABLE
 * above its min watermark (what GFP_KERNEL can still take without reclaim;
 * the per-cpu lists are left out), summed over the online nodes. Adding a
 * block takes its linear-map page tables from there.
 */
int xhm_kernel_headroom(void *ctx, u64 *ret_bytes)
{
	unsigned long pages = 0;
	int nid, i;

	for_each_online_node(nid)
	{
		for (i = 0; i < MAX_NR_ZONES; i++) {
			struct zone *zone = &NODE_DATA(nid)->node_zones[i];
			unsigned long free, min;

			if (i == ZONE_MOVABLE || !populated_zone(zone))
				continue;
			free = zone_page_state(zone, NR_FREE_PAGES);
			min = min_wmark_pages(zone);
			if (free > min)
				pages += free - min;
		}
	}
	*ret_bytes = (u64)pages << PAGE_SHIFT;
	return 0;
}

/*
 * xhm_add_block - add one block (plug order step 1), to be onlined in zone.
 * Registers the static memory group on first use. The notifier is armed for
 * the block while add_memory_driver_managed() may auto-online it. On failure
 * nothing is added.
 */
int xhm_add_block(void *ctx, u64 start, u64 size, bool memmap_on_memory, enum hotmem_zone zone)
{
	struct xhm *x = ctx;
	mhp_t flags = MHP_NID_IS_MGID;
	struct xhm_block *blk;
	long index;
	int rc;

	blk = xhm_block_of(x, start, &index);
	if (!blk)
		return -ERANGE;
	if (READ_ONCE(x->own_pages) && xhm_balloon_would_populate()) {
		pr_info_ratelimited("balloon %ld pages below its target: adding [mem %#llx-%#llx] "
				    "waits\n",
				    (long)balloon_stats.target_pages -
					    (long)balloon_stats.current_pages,
				    start, start + size - 1);
		return -EBUSY;
	}
	if (x->mgid < 0) {
		int nid = memory_add_physaddr_to_nid(x->core->window.base);

		rc = memory_group_register_static(nid, PHYS_PFN(x->core->window.size));
		if (rc < 0)
			return rc;
		x->mgid = rc;
	}
	if (memmap_on_memory)
		flags |= MHP_MEMMAP_ON_MEMORY;

	spin_lock_irq(&x->note_lock);
	*blk = (struct xhm_block){ 0 };
	x->expect_block = (int)index;
	x->expect_movable = zone == HOTMEM_ZONE_MOVABLE;
	spin_unlock_irq(&x->note_lock);

	rc = add_memory_driver_managed(x->mgid, start, size, x->res_name, flags);

	/*
	 * The veto stays armed until our own online completed (or the block
	 * is removed again): a udev rule onlining in between must not land the
	 * block in the wrong zone either.
	 */
	if (rc) {
		spin_lock_irq(&x->note_lock);
		x->expect_block = -1;
		spin_unlock_irq(&x->note_lock);
	}
	if (!rc && blk->vetoed)
		pr_info("kernel auto-onlined [mem %#llx-%#llx] into %s: refused, onlining it %s "
			"instead\n",
			start, start + size - 1, xhm_zone_idx_name(blk->zone_idx),
			hotmem_zone_name(zone));
	return rc;
}

/* Write "online_movable"/"online_kernel" to the block's sysfs state, as udev would. */
static int xhm_write_block_state(u64 start, const char *state)
{
	char path[64];
	struct file *file;
	loff_t pos = 0;
	ssize_t written;

	snprintf(path, sizeof(path), "/sys/devices/system/memory/memory%llu/state",
		 div64_u64(start, memory_block_size_bytes()));
	file = filp_open(path, O_WRONLY, 0);
	if (IS_ERR(file))
		return PTR_ERR(file);
	written = kernel_write(file, state, strlen(state), &pos);
	filp_close(file, NULL);
	if (written == -ERESTARTNOINTR) {
		/* device_hotplug_lock was busy: sysfs asks for a syscall restart. */
		flush_signals(current);
		return -EAGAIN;
	}
	if (written < 0)
		return (int)written;
	return written == strlen(state) ? 0 : -EIO;
}

/*
 * xhm_pages_owned - with populated-blocks and a balloon that captures onlined
 * pages, whether the notifier handed all usable pages of the block's last
 * online to the page allocator. Always true otherwise.
 */
static bool xhm_pages_owned(struct xhm *x, struct xhm_block *blk)
{
	bool owned;

	if (!READ_ONCE(x->own_pages) || !x->balloon_captures)
		return true;
	spin_lock_irq(&x->note_lock);
	owned = !blk->take_err && blk->pages_taken == blk->nr_online_pages;
	spin_unlock_irq(&x->note_lock);
	return owned;
}

/*
 * xhm_online_block - plug order step 2: the block online in zone.
 * If auto-onlining already put it there, nothing to do. Returns 0 only once
 * the notifier saw MEM_ONLINE in the right zone; on failure it is offline.
 */
static int xhm_online_armed(struct xhm *x, struct xhm_block *blk, u64 start, u64 size,
			    enum hotmem_zone zone);

int xhm_online_block(void *ctx, u64 start, u64 size, enum hotmem_zone zone)
{
	struct xhm *x = ctx;
	struct xhm_block *blk;
	long index;
	int rc;

	blk = xhm_block_of(x, start, &index);
	if (!blk)
		return -ERANGE;
	rc = xhm_online_armed(x, blk, start, size, zone);
	/* Our online is over: nobody else's online of this block is vetoed now. */
	spin_lock_irq(&x->note_lock);
	if (x->expect_block == (int)index)
		x->expect_block = -1;
	spin_unlock_irq(&x->note_lock);
	return rc;
}

/* xhm_online_block() with the zone veto armed for blk. */
static int xhm_online_armed(struct xhm *x, struct xhm_block *blk, u64 start, u64 size,
			    enum hotmem_zone zone)
{
	bool online, zone_ok;
	int rc;

	spin_lock_irq(&x->note_lock);
	online = blk->online;
	zone_ok = (blk->zone_idx == ZONE_MOVABLE) == (zone == HOTMEM_ZONE_MOVABLE);
	spin_unlock_irq(&x->note_lock);
	if (online)
		return !zone_ok ? -EINVAL : xhm_pages_owned(x, blk) ? 0 : -EIO;

	if (READ_ONCE(x->own_pages) && xhm_balloon_would_populate())
		return -EBUSY;
	rc = xhm_write_block_state(start, zone == HOTMEM_ZONE_MOVABLE ? "online_movable"
								      : "online_kernel");
	if (rc)
		return rc;
	spin_lock_irq(&x->note_lock);
	online = blk->online;
	zone_ok = (blk->zone_idx == ZONE_MOVABLE) == (zone == HOTMEM_ZONE_MOVABLE);
	spin_unlock_irq(&x->note_lock);
	return online && zone_ok && xhm_pages_owned(x, blk) ? 0 : -EIO;
}

static void xhm_offline_timeout(struct timer_list *timer)
{
	struct xhm *x = from_timer(x, timer, offline_timer);

	/* offline_pages() gives up with -EINTR once it sees a pending signal. */
	send_sig(SIGUSR1, x->offline_task, 1);
}

/*
 * xhm_offline_and_remove_block - unplug order step 1 (and the rollback of an
 * added block that would not come online). offline_and_remove_memory() keeps
 * migrating as long as pages move, so it runs under a timer that interrupts
 * it with a signal after offline_timeout_ms; that and any busy page come back
 * as -EBUSY, with the block as it was; -ENOMEM when the rest of memory could
 * not take the block's data. Runs in the worker thread only (the signal must
 * reach the thread doing the offlining).
 */
int xhm_offline_and_remove_block(void *ctx, u64 start, u64 size)
{
	struct xhm *x = ctx;
	unsigned int timeout_ms = READ_ONCE(xhm_offline_timeout_ms);
	struct xhm_block *blk;
	long index;
	int rc;

	blk = xhm_block_of(x, start, &index);
	if (!blk)
		return -ERANGE;
	/*
	 * Offlining isolates the block's free pages and migrates its used ones
	 * into the rest of memory; if that cannot hold them, the migration eats
	 * every free page and the OOM killer finds nothing to free (seen in the
	 * lab with tmpfs: "System is deadlocked on memory"). So an online block
	 * goes only while MemAvailable still exceeds its usable size by
	 * shrink_reserve_mb.
	 */
	if (blk->online) {
		long after = si_mem_available() - (long)x->core->layout.usable_pages;

		if (after < (long)READ_ONCE(xhm_shrink_reserve_mb) << (20 - PAGE_SHIFT))
			return -ENOMEM;
	}
	spin_lock_irq(&x->note_lock);
	x->expect_offline = (int)index;
	spin_unlock_irq(&x->note_lock);
	allow_signal(SIGUSR1);
	x->offline_task = current;
	if (timeout_ms)
		mod_timer(&x->offline_timer, jiffies + msecs_to_jiffies(timeout_ms));
	rc = offline_and_remove_memory(start, size);
	timer_delete_sync(&x->offline_timer);
	flush_signals(current);
	disallow_signal(SIGUSR1);
	if (rc == -EINTR)
		rc = -EBUSY;
	spin_lock_irq(&x->note_lock);
	x->expect_offline = -1;
	if (x->expect_block == (int)index)
		x->expect_block = -1;
	if (rc)
		blk->nr_offline_failures++;
	else
		blk->online = false;
	spin_unlock_irq(&x->note_lock);
	return rc;
}

/*
 * xhm_balloon_quiet - whether the balloon thread will not touch current_pages
 * now: it only does while target != current and it has pages to move
 * (ballooned pages to populate, or credit to give back). balloon_mutex is
 * static, so this is the best we can see from outside; the window left is a
 * memory/target write landing between this check and our update.
 */
static bool xhm_balloon_quiet(void)
{
	long credit = (long)READ_ONCE(balloon_stats.target_pages) -
		      (long)READ_ONCE(balloon_stats.current_pages);

	if (!credit)
		return true;
	return credit > 0 && !READ_ONCE(balloon_stats.balloon_low) &&
	       !READ_ONCE(balloon_stats.balloon_high);
}

/*
 * xhm_balloon_stuck - whether a balloon that is not quiet has nevertheless
 * not moved current_pages for balloon_settle_ms: it then waits for Xen (which
 * refused frames) or for its hour-long timeout after giving up, and would keep
 * us waiting forever. Called on each retry; the first call starts the clock.
 */
static bool xhm_balloon_stuck(struct xhm *x)
{
	unsigned long current_pages = READ_ONCE(balloon_stats.current_pages);

	if (!x->books_stable_since || current_pages != x->books_seen_current) {
		x->books_seen_current = current_pages;
		x->books_stable_since = jiffies ? jiffies : 1;
		return false;
	}
	if (time_before(jiffies,
			x->books_stable_since + msecs_to_jiffies(READ_ONCE(xhm_balloon_settle_ms))))
		return false;
	pr_info("balloon stuck %lu pages short of its target for %u ms: adjusting its books "
		"anyway\n",
		READ_ONCE(balloon_stats.target_pages) - current_pages,
		jiffies_to_msecs(jiffies - x->books_stable_since));
	return true;
}

static int xhm_books_add(unsigned long *field, s64 delta)
{
	unsigned long old = READ_ONCE(*field);

	if (delta < 0 && old < (unsigned long)-delta)
		return -ERANGE;
	WRITE_ONCE(*field, old + delta);
	return 0;
}

/*
 * xhm_balloon_account - plug order step 3 / unplug order step 2: move the
 * balloon's books by delta. The order keeps the balloon's credit (target -
 * current) from ever going positive in between, so a balloon that wakes up
 * halfway gives memory back at worst and never populates frames we did not
 * plan. -EBUSY while the balloon is moving pages (unless forced); -ERANGE if
 * the books would go below zero (nothing changed then).
 */
int xhm_balloon_account(void *ctx, const struct hotmem_balloon_delta *delta, bool force)
{
	struct xhm *x = ctx;

	if (!IS_ENABLED(CONFIG_XEN_BALLOON))
		return -EOPNOTSUPP;
	if (!force && !xhm_balloon_quiet() && !xhm_balloon_stuck(x))
		return -EBUSY;
	x->books_stable_since = 0;
	if ((delta->total_pages < 0 && balloon_stats.total_pages < -delta->total_pages) ||
	    (delta->current_pages < 0 && balloon_stats.current_pages < -delta->current_pages) ||
	    (delta->target_pages < 0 && balloon_stats.target_pages < -delta->target_pages))
		return -ERANGE;
	if (delta->current_pages >= 0) {
		xhm_books_add(&balloon_stats.current_pages, delta->current_pages);
		xhm_books_add(&balloon_stats.target_pages, delta->target_pages);
	} else {
		xhm_books_add(&balloon_stats.target_pages, delta->target_pages);
		xhm_books_add(&balloon_stats.current_pages, delta->current_pages);
	}
	xhm_books_add(&balloon_stats.total_pages, delta->total_pages);
	return 0;
}

/*
 * xhm_reserve_window - claim the window in /proc/iomem as "Xen hotmem
 * window", exclusive (no /dev/mem access), like virtio-mem's device range:
 * nothing else (a grant mapping of Xen's unpopulated-alloc, another driver)
 * can take part of it, and our blocks' "System RAM (xen_hotmem)" resources
 * nest inside it (insert_resource() also adopts those a previous instance
 * left). Not busy, so add_memory_driver_managed() can request inside it. A
 * window that cannot be claimed is logged once and used anyway. Worker only.
 */
void xhm_reserve_window(struct xhm *x, u64 base, u64 size)
{
	struct resource *res;
	int rc;

	if (x->window_res && x->window_res->start == base && x->window_res->end == base + size - 1)
		return;
	xhm_release_window(x);
	res = kzalloc(sizeof(*res), GFP_KERNEL);
	if (!res)
		return;
	res->name = "Xen hotmem window";
	res->start = base;
	res->end = base + size - 1;
	res->flags = IORESOURCE_MEM | IORESOURCE_EXCLUSIVE;
	rc = insert_resource(&iomem_resource, res);
	if (rc) {
		pr_warn("cannot reserve the window [mem %#llx-%#llx] in /proc/iomem (%d): it "
			"overlaps another resource\n",
			base, base + size - 1, rc);
		kfree(res);
		return;
	}
	x->window_res = res;
}

/* Give the window's resource back; the blocks still added stay, moved up. */
void xhm_release_window(struct xhm *x)
{
	if (!x->window_res)
		return;
	remove_resource(x->window_res);
	kfree(x->window_res);
	x->window_res = NULL;
}

/*
 * xhm_mem_init - per-block records, the resource name, the notifier.
 * Undone by xhm_mem_exit(). On failure nothing is left registered.
 */
int xhm_mem_init(struct xhm *x)
{
	int rc;

	spin_lock_init(&x->note_lock);
	x->mgid = -1;
	x->expect_block = -1;
	x->expect_offline = -1;
	x->block_size = memory_block_size_bytes();
	timer_setup(&x->offline_timer, xhm_offline_timeout, 0);
	x->balloon_captures = xhm_balloon_owns_callback();
	x->blocks = kvcalloc(HOTMEM_MAX_BLOCKS, sizeof(*x->blocks), GFP_KERNEL);
	if (!x->blocks)
		return -ENOMEM;
	/* Allocated now: a grow must not depend on allocating while memory is short. */
	x->take_batch = kcalloc(XHM_TAKE_BATCH, sizeof(*x->take_batch), GFP_KERNEL);
	x->take_foreign = kcalloc(XHM_TAKE_BATCH, sizeof(*x->take_foreign), GFP_KERNEL);
	if (!x->take_batch || !x->take_foreign) {
		rc = -ENOMEM;
		goto err_name;
	}
	/* Must outlive the module if a block stays added (it names the resource). */
	x->res_name = kstrdup("System RAM (xen_hotmem)", GFP_KERNEL);
	if (!x->res_name) {
		rc = -ENOMEM;
		goto err_name;
	}
	rc = register_memory_notifier(&xhm_memory_nb);
	if (rc)
		goto err_notifier;
	return 0;

err_notifier:
	kfree(x->res_name);
err_name:
	kfree(x->take_foreign);
	kfree(x->take_batch);
	kvfree(x->blocks);
	return rc;
}

void xhm_mem_exit(struct xhm *x, bool blocks_remain)
{
	unregister_memory_notifier(&xhm_memory_nb);
	xhm_release_window(x);
	timer_delete_sync(&x->offline_timer);
	if (blocks_remain) {
		pr_warn("blocks stay added after unload; their resource name and memory group stay "
			"too\n");
	} else {
		if (x->mgid >= 0)
			memory_group_unregister(x->mgid);
		kfree(x->res_name);
	}
	kfree(x->take_foreign);
	kfree(x->take_batch);
	kvfree(x->blocks);
}
