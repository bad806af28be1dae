// SPDX-License-Identifier: GPL-2.0
/*
 * xen_hotmem.ko: grows and shrinks an arm64 Xen guest at run time, block by
 * block, on requests from the dom0 toolstack (hotmem protocol v1,
 * docs/protocol.md). This file is the module's front: parameters, init/exit,
 * the xenstore watches (which only parse and store into the inbox), the
 * kthread worker that runs the protocol core (core/hotmem_core.c) with the
 * platform ops below, and the log lines the core's events turn into. The
 * memory mechanism is in xen_hotmem_mem.c, sysfs in xen_hotmem_sysfs.c;
 * docs/guest-driver.md has the design and the balloon interplay.
 *
 * Locking: xhm.lock (mutex) serialises the core, the memory ops and sysfs
 * readers; xhm.inbox_lock (spinlock) guards the inbox and the decision to
 * (re)queue the work; xhm.note_lock guards the memory notifier's records.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <xen/xen.h>
#include <xen/xenbus.h>

#include "xen_hotmem.h"

static char *online_type = "movable";
module_param(online_type, charp, 0444);
MODULE_PARM_DESC(online_type, "Zone for hot-added blocks: movable or kernel (default: movable)");

static bool allow_classic;
module_param(allow_classic, bool, 0444);
MODULE_PARM_DESC(
	allow_classic,
	"Grow even without memmap-on-memory, taking the memmap from existing memory (default: N)");

static bool memmap_in_target = true;
module_param(memmap_in_target, bool, 0444);
MODULE_PARM_DESC(memmap_in_target,
		 "Offer feature target-blocks: when the toolstack agrees, count each "
		 "block's memmap head as populated in the balloon, so "
		 "memory/target moves by whole blocks (default: Y)");

static bool own_pages = true;
module_param(own_pages, bool, 0444);
MODULE_PARM_DESC(own_pages,
		 "Offer feature populated-blocks (with memmap_in_target): dom0 populates whole "
		 "blocks and the driver hands their pages to the page allocator itself; the "
		 "balloon never populates or holds them (default: Y)");

static bool kernel_block_when_short = true;
module_param(kernel_block_when_short, bool, 0444);
MODULE_PARM_DESC(kernel_block_when_short,
		 "With online_type=movable: online a grow's block to a kernel zone when the kernel "
		 "zones' free memory above their min watermarks is less than twice what adding "
		 "the request's remaining blocks takes from them (page tables); that block pays "
		 "for the rest and is unplugged last, if at all (default: Y)");

static unsigned int retry_min_ms = 200;
module_param(retry_min_ms, uint, 0444);
MODULE_PARM_DESC(retry_min_ms, "First backoff after a busy/no-memory failure, ms (default: 200)");

static unsigned int retry_max_ms = 10000;
module_param(retry_max_ms, uint, 0444);
MODULE_PARM_DESC(retry_max_ms, "Backoff cap, ms (default: 10000)");

static unsigned int retry_limit = 8;
module_param(retry_limit, uint, 0444);
MODULE_PARM_DESC(retry_limit, "Busy/no-memory failures of one block before a request gives up and "
			      "acks what it did (default: 8)");

static unsigned int reboot_notice_ms = 5000;
module_param(reboot_notice_ms, uint, 0444);
MODULE_PARM_DESC(
	reboot_notice_ms,
	"Offer feature reboot-notice: on reboot, poweroff or halt tell dom0 first and wait "
	"up to this long for it to put the configured memory size back, ms; 0 = never "
	"(default: 5000)");

unsigned int xhm_offline_timeout_ms = 30000;
module_param_named(offline_timeout_ms, xhm_offline_timeout_ms, uint, 0644);
MODULE_PARM_DESC(
	offline_timeout_ms,
	"Interrupt one offline_and_remove_memory() after this many ms, 0 = never (default: 30000)");

static bool remove_on_unload = true;
module_param(remove_on_unload, bool, 0644);
MODULE_PARM_DESC(remove_on_unload,
		 "Try to unplug every block when the module unloads (default: Y)");

unsigned int xhm_shrink_reserve_mb = 64;
module_param_named(shrink_reserve_mb, xhm_shrink_reserve_mb, uint, 0644);
MODULE_PARM_DESC(
	shrink_reserve_mb,
	"Unplug a block only if MemAvailable minus the block stays above this, MiB (default: 64)");

unsigned int xhm_balloon_settle_ms = 5000;
module_param_named(balloon_settle_ms, xhm_balloon_settle_ms, uint, 0644);
MODULE_PARM_DESC(balloon_settle_ms,
		 "Adjust the balloon's books even while it is short of its target once it has not "
		 "moved for this long, ms (default: 5000)");

unsigned int xhm_psi_max_age_ms = 10000;
module_param_named(psi_max_age_ms, xhm_psi_max_age_ms, uint, 0644);
MODULE_PARM_DESC(psi_max_age_ms,
		 "Publish what the agent wrote to sysfs psi and swap only while younger than this, "
		 "ms; else PSI 0 and no swap figure (default: 10000)");

struct xhm xhm;

/* ---- platform ops: xenstore, stats, clock, log ---- */

static int xhm_xs_read(void *ctx, const char *key, char *buf, size_t size, size_t *ret_len)
{
	unsigned int len;
	char *value;

	value = xenbus_read(XBT_NIL, key, "", &len);
	if (IS_ERR(value))
		return PTR_ERR(value);
	if (len > size - 1) {
		kfree(value);
		return -E2BIG;
	}
	memcpy(buf, value, len);
	buf[len] = '\0';
	*ret_len = len;
	kfree(value);
	return 0;
}

static int xhm_xs_write(void *ctx, const char *key, const char *value, size_t len)
{
	char *copy;
	int rc;

	if (strnlen(value, len + 1) == len)
		return xenbus_write(XBT_NIL, key, "", value);
	copy = kmemdup_nul(value, len, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	rc = xenbus_write(XBT_NIL, key, "", copy);
	kfree(copy);
	return rc;
}

static int xhm_read_stats(void *ctx, struct hotmem_stats *ret_stats)
{
	struct xhm *x = ctx;
	struct hotmem_stats stats = {
		.memtotal_kib = (u64)totalram_pages() << (PAGE_SHIFT - 10),
		.memavail_kib = (u64)si_mem_available() << (PAGE_SHIFT - 10),
	};

	spin_lock_irq(&x->psi_lock);
	if (x->psi_stamp &&
	    time_before(jiffies, x->psi_stamp + msecs_to_jiffies(READ_ONCE(xhm_psi_max_age_ms)))) {
		stats.psi_some_avg10 = x->psi_some;
		stats.psi_full_avg10 = x->psi_full;
	}
	/*
	 * The kernel exports no SwapTotal to modules (total_swap_pages,
	 * si_swapinfo), so the agent writes /proc/meminfo's swap lines too; a
	 * stale figure is not published (five fields: "not known").
	 */
	if (x->swap_stamp &&
	    time_before(jiffies, x->swap_stamp + msecs_to_jiffies(READ_ONCE(xhm_psi_max_age_ms)))) {
		stats.swapped_kib = x->swapped_kib;
		stats.has_swapped = true;
	}
	spin_unlock_irq(&x->psi_lock);
	*ret_stats = stats;
	return 0;
}

static u64 xhm_now_ms(void *ctx)
{
	return ktime_to_ms(ktime_get());
}

/* One log line per event, ranges as %#llx-%#llx; never called on a hot path. */
static void xhm_event(void *ctx, const struct hotmem_event *ev)
{
	struct xhm *x = ctx;
	const struct hotmem_request *req = &ev->request;

	switch (ev->type) {
	case HOTMEM_EVENT_STATE:
		pr_info("state %s -> %s\n", hotmem_state_token(ev->from),
			hotmem_state_token(ev->to));
		break;
	case HOTMEM_EVENT_HANDSHAKE:
		xhm_set_window(x, ev->window.base, ev->window.size);
		WRITE_ONCE(x->own_pages, !!(ev->features & HOTMEM_FEATURE_POPULATED_BLOCKS));
		xhm_reserve_window(x, ev->window.base, ev->window.size);
		pr_info("protocol v%u, features in use %#x, window %#llx-%#llx (%llu blocks of "
			"%#llx), memmap head %#llx bytes per block\n",
			ev->version, ev->features, ev->window.base,
			ev->window.base + ev->window.size - 1,
			div64_u64(ev->window.size, x->block_size), x->block_size, ev->memmap_bytes);
		break;
	case HOTMEM_EVENT_BLOCK:
		if (ev->err)
			pr_info("block %u [mem %#llx-%#llx]: %s -> %s (%d)\n", ev->block, ev->start,
				ev->start + ev->size - 1, hotmem_block_state_name(ev->block_from),
				hotmem_block_state_name(ev->block_to), ev->err);
		else
			pr_info("block %u [mem %#llx-%#llx]: %s -> %s\n", ev->block, ev->start,
				ev->start + ev->size - 1, hotmem_block_state_name(ev->block_from),
				hotmem_block_state_name(ev->block_to));
		break;
	case HOTMEM_EVENT_REQUEST:
		if (req->op == HOTMEM_OP_GROW)
			pr_info("request %u: grow blocks %u-%u\n", req->seq, req->first,
				req->first + req->count - 1);
		else
			pr_info("request %u: shrink by %u blocks\n", req->seq, req->count);
		break;
	case HOTMEM_EVENT_REFUSED:
		pr_warn("request %u (%s, %u blocks) refused: %d\n", req->seq,
			req->op == HOTMEM_OP_GROW ? "grow" : "shrink", req->count, ev->err);
		break;
	case HOTMEM_EVENT_ACK:
		pr_info("request %u acked: %s, %u of %u blocks%s\n", ev->ack.seq,
			hotmem_status_token(ev->ack.status), ev->ack.done, req->count,
			ev->err ? " (stopped early)" : "");
		break;
	case HOTMEM_EVENT_VIOLATION:
		pr_warn_ratelimited("toolstack value %s is unusable (%d): ignored\n", ev->what,
				    ev->err);
		break;
	case HOTMEM_EVENT_REFUSED_BLOCK:
		pr_warn("block %u [mem %#llx-%#llx] is online but was never granted to us: not "
			"adopted\n",
			ev->block, ev->start, ev->start + ev->size - 1);
		break;
	case HOTMEM_EVENT_KERNEL_BLOCK:
		pr_info("block %u [mem %#llx-%#llx] goes to a kernel zone: the kernel zones have "
			"%llu kB above their min watermarks, adding the request's remaining blocks "
			"takes up to %llu kB of them; it comes out last at a shrink, if at all\n",
			ev->block, ev->start, ev->start + ev->size - 1, ev->headroom >> 10,
			ev->need >> 10);
		break;
	case HOTMEM_EVENT_SHUTDOWN:
		if (ev->err)
			pr_warn("%s: dom0 did not answer the notice in %llu ms (%d): going down "
				"anyway; xl may rebuild this domain with its grown size\n",
				hotmem_shutdown_token(ev->shutdown), ev->elapsed_ms, ev->err);
		else
			pr_info("%s: dom0 put the configured memory size back in %llu ms\n",
				hotmem_shutdown_token(ev->shutdown), ev->elapsed_ms);
		break;
	case HOTMEM_EVENT_BROKEN:
		pr_err("giving up while %s (%d); reload the module to recover\n", ev->what,
		       ev->err);
		break;
	default:
		break;
	}
}

static const struct hotmem_platform_ops xhm_ops = {
	.xs_read = xhm_xs_read,
	.xs_write = xhm_xs_write,
	.mm_info = xhm_mm_info,
	.range_pluggable = xhm_range_pluggable,
	.probe_block = xhm_probe_block,
	.add_block = xhm_add_block,
	.online_block = xhm_online_block,
	.offline_and_remove_block = xhm_offline_and_remove_block,
	.balloon_account = xhm_balloon_account,
	.kernel_headroom = xhm_kernel_headroom,
	.read_stats = xhm_read_stats,
	.now_ms = xhm_now_ms,
	.event = xhm_event,
};

/* ---- the worker ---- */

/* Queue the work to run now (inbox_lock held). */
static void xhm_kick_locked(struct xhm *x)
{
	if (!x->stopping)
		kthread_mod_delayed_work(x->worker, &x->work, 0);
}

/*
 * xhm_work_fn - drain the inbox into the core and step it until it asks to
 * wait; then requeue for that delay, or at once if the watches delivered
 * something meanwhile (decided under inbox_lock, which the watches take to
 * kick us, so no delivery is left waiting behind a long delay).
 */
static void xhm_work_fn(struct kthread_work *work)
{
	struct xhm *x = &xhm;
	struct hotmem_inbox inbox;
	u32 delay;

	spin_lock_irq(&x->inbox_lock);
	inbox = x->inbox;
	x->inbox = (struct hotmem_inbox){ 0 };
	spin_unlock_irq(&x->inbox_lock);

	mutex_lock(&x->lock);
	hotmem_core_deliver(x->core, &inbox);
	do {
		delay = hotmem_core_step(x->core);
		cond_resched();
	} while (!delay && !READ_ONCE(x->stopping));
	mutex_unlock(&x->lock);

	spin_lock_irq(&x->inbox_lock);
	if (x->inbox.events)
		xhm_kick_locked(x);
	else if (delay && delay != HOTMEM_STEP_IDLE && !x->stopping)
		kthread_mod_delayed_work(x->worker, &x->work, msecs_to_jiffies(delay));
	spin_unlock_irq(&x->inbox_lock);
}

static unsigned int xhm_blocks_left;

static void xhm_close_fn(struct kthread_work *work)
{
	struct xhm *x = &xhm;

	mutex_lock(&x->lock);
	hotmem_core_close(x->core, READ_ONCE(remove_on_unload));
	xhm_blocks_left = HOTMEM_MAX_BLOCKS - x->core->nr_in_state[HOTMEM_BLOCK_ABSENT];
	mutex_unlock(&x->lock);
}

/* ---- xenstore watches: read, parse, store, kick; nothing else ---- */

static void xhm_request_changed(struct xenbus_watch *watch, const char *path, const char *token)
{
	struct xhm *x = &xhm;
	unsigned int len;
	char *value;

	value = xenbus_read(XBT_NIL, HOTMEM_KEY_REQUEST, "", &len);
	if (IS_ERR(value))
		return; /* absent (the watch also fires on registration) */
	spin_lock_irq(&x->inbox_lock);
	hotmem_inbox_parse_request(&x->inbox, value, len);
	xhm_kick_locked(x);
	spin_unlock_irq(&x->inbox_lock);
	kfree(value);
}

static void xhm_stats_interval_changed(struct xenbus_watch *watch, const char *path,
				       const char *token)
{
	struct xhm *x = &xhm;
	unsigned int len;
	char *value;

	value = xenbus_read(XBT_NIL, HOTMEM_KEY_STATS_INTERVAL, "", &len);
	if (IS_ERR(value))
		return;
	spin_lock_irq(&x->inbox_lock);
	hotmem_inbox_parse_stats_interval(&x->inbox, value, len);
	xhm_kick_locked(x);
	spin_unlock_irq(&x->inbox_lock);
	kfree(value);
}

/* H/version or H/window appeared or changed: the handshake may go on. */
static void xhm_toolstack_changed(struct xenbus_watch *watch, const char *path, const char *token)
{
	struct xhm *x = &xhm;

	spin_lock_irq(&x->inbox_lock);
	hotmem_inbox_toolstack_changed(&x->inbox);
	xhm_kick_locked(x);
	spin_unlock_irq(&x->inbox_lock);
}

/* dom0 answered a shutdown notice (or the key appeared or went). */
static void xhm_shutdown_ack_changed(struct xenbus_watch *watch, const char *path,
				     const char *token)
{
	struct xhm *x = &xhm;

	WRITE_ONCE(x->shutdown_kick, true);
	wake_up(&x->shutdown_wq);
}

static struct xenbus_watch xhm_watches[] = {
	{ .node = HOTMEM_KEY_VERSION, .callback = xhm_toolstack_changed },
	{ .node = HOTMEM_KEY_SHUTDOWN_ACK, .callback = xhm_shutdown_ack_changed },
	{ .node = HOTMEM_KEY_WINDOW, .callback = xhm_toolstack_changed },
	{ .node = HOTMEM_KEY_REQUEST, .callback = xhm_request_changed },
	{ .node = HOTMEM_KEY_STATS_INTERVAL, .callback = xhm_stats_interval_changed },
};

static void xhm_unregister_watches(struct xhm *x)
{
	unsigned int i;

	if (!x->watches_registered)
		return;
	for (i = 0; i < ARRAY_SIZE(xhm_watches); i++)
		unregister_xenbus_watch(&xhm_watches[i]);
	x->watches_registered = false;
}

/* Called once xenstore is up (at once when it already is). */
static int xhm_xenstore_ready(struct notifier_block *nb, unsigned long event, void *data)
{
	struct xhm *x = &xhm;
	unsigned int i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(xhm_watches); i++) {
		rc = register_xenbus_watch(&xhm_watches[i]);
		if (rc) {
			pr_err("cannot watch %s: %d\n", xhm_watches[i].node, rc);
			while (i--)
				unregister_xenbus_watch(&xhm_watches[i]);
			return NOTIFY_DONE;
		}
	}
	x->watches_registered = true;
	return NOTIFY_DONE;
}

static struct notifier_block xhm_xenstore_nb = {
	.notifier_call = xhm_xenstore_ready,
};

/*
 * xhm_reboot_notify - the kernel is going down (kernel_restart(),
 * kernel_power_off(), kernel_halt(): xl reboot/shutdown through orderly_*,
 * or reboot(2) from the guest's init), before the domain's SCHEDOP_shutdown.
 * Tell dom0 so that it puts memory/target and static-max back to the
 * configured size before xl reads them to rebuild the domain, and wait for
 * its answer; every wait is bounded by reboot_notice_ms in all, so a reboot
 * never hangs on dom0 (or on our own worker stuck in a long offline). An
 * emergency restart (sysrq-b, panic) runs no notifier: dom0 handles that
 * without notice (docs/protocol.md).
 */
static int xhm_reboot_notify(struct notifier_block *nb, unsigned long code, void *unused)
{
	struct xhm *x = &xhm;
	unsigned long deadline = jiffies + msecs_to_jiffies(reboot_notice_ms);
	enum hotmem_shutdown how;
	int rc;

	if (code == SYS_RESTART)
		how = HOTMEM_SHUTDOWN_REBOOT;
	else if (code == SYS_POWER_OFF)
		how = HOTMEM_SHUTDOWN_POWEROFF;
	else if (code == SYS_HALT)
		how = HOTMEM_SHUTDOWN_HALT;
	else
		return NOTIFY_DONE;
	spin_lock_irq(&x->inbox_lock);
	x->stopping = true; /* no more work queued: the core takes no request now */
	spin_unlock_irq(&x->inbox_lock);
	/* The worker holds the lock for one step at most; don't wait past the deadline. */
	while (!mutex_trylock(&x->lock)) {
		if (time_after(jiffies, deadline)) {
			pr_warn("%s: worker busy for %u ms, going down without notice\n",
				hotmem_shutdown_token(how), reboot_notice_ms);
			return NOTIFY_DONE;
		}
		msleep(20);
	}
	WRITE_ONCE(x->shutdown_kick, false);
	rc = hotmem_core_shutdown_begin(x->core, how);
	while (rc > 0) {
		rc = hotmem_core_shutdown_poll(x->core);
		if (rc <= 0)
			break;
		wait_event_timeout(x->shutdown_wq, READ_ONCE(x->shutdown_kick),
				   msecs_to_jiffies(rc));
		WRITE_ONCE(x->shutdown_kick, false);
	}
	mutex_unlock(&x->lock);
	return NOTIFY_DONE;
}

static struct notifier_block xhm_reboot_nb = {
	.notifier_call = xhm_reboot_notify,
};

static int xhm_parse_online_type(enum hotmem_zone *ret_zone)
{
	if (sysfs_streq(online_type, "movable"))
		*ret_zone = HOTMEM_ZONE_MOVABLE;
	else if (sysfs_streq(online_type, "kernel"))
		*ret_zone = HOTMEM_ZONE_KERNEL;
	else
		return -EINVAL;
	return 0;
}

static int __init xhm_init(void)
{
	struct xhm *x = &xhm;
	struct hotmem_core_config cfg = {
		.allow_classic = allow_classic,
		.memmap_in_target = memmap_in_target,
		.own_pages = own_pages,
		.kernel_block_when_short = kernel_block_when_short,
		.retry_min_ms = retry_min_ms,
		.retry_max_ms = retry_max_ms,
		.retry_limit = retry_limit,
		.shutdown_notice_ms = reboot_notice_ms,
	};
	int rc;

	if (!xen_domain() || xen_initial_domain())
		return -ENODEV;
	rc = xhm_parse_online_type(&cfg.online_zone);
	if (rc) {
		pr_err("online_type=%s: expected movable or kernel\n", online_type);
		return rc;
	}
	mutex_init(&x->lock);
	spin_lock_init(&x->inbox_lock);
	spin_lock_init(&x->psi_lock);
	init_waitqueue_head(&x->shutdown_wq);
	x->online_zone = cfg.online_zone;
	kthread_init_delayed_work(&x->work, xhm_work_fn);
	kthread_init_work(&x->close_work, xhm_close_fn);

	x->core = kvzalloc(sizeof(*x->core), GFP_KERNEL);
	if (!x->core)
		return -ENOMEM;
	rc = xhm_mem_init(x);
	if (rc)
		goto err_mem;
	rc = hotmem_core_init(x->core, &xhm_ops, x, &cfg);
	if (rc) {
		pr_err("cannot lay out a %#lx-byte block as this kernel does (%d): refusing to "
		       "load\n",
		       memory_block_size_bytes(), rc);
		goto err_core;
	}
	if (!x->core->mm.memmap_on_memory)
		pr_err("memory_hotplug.memmap_on_memory is off (or refused for %#lx-byte blocks): "
		       "%s\n",
		       memory_block_size_bytes(),
		       allow_classic ? "growing anyway, each block's memmap taken from existing "
				       "memory (allow_classic=1)"
				     : "grow requests will be acked unsupported (allow_classic=1 "
				       "grows anyway)");
	if (!x->balloon_captures)
		pr_info("the Xen balloon does not own the online-page callback: hot-added pages go "
			"to the page allocator directly (a toolstack without populated-blocks gets "
			"its grows acked unsupported)\n");
	pr_info("block size %#llx, memmap head %#llx bytes (%llu pages), online into %s, memmap %s "
		"target\n",
		x->core->mm.geo.block_size, x->core->memmap_bytes, x->core->layout.memmap_pages,
		hotmem_zone_name(cfg.online_zone),
		memmap_in_target ? "counted in (if agreed)" : "not in");

	x->worker = kthread_create_worker(0, "xen_hotmem");
	if (IS_ERR(x->worker)) {
		rc = PTR_ERR(x->worker);
		goto err_worker;
	}
	rc = xhm_sysfs_init(x);
	if (rc)
		goto err_sysfs;
	rc = register_xenstore_notifier(&xhm_xenstore_nb);
	if (rc)
		goto err_xenstore;
	x->xenstore_notifier_registered = true;
	rc = register_reboot_notifier(&xhm_reboot_nb);
	if (rc)
		pr_warn("cannot register a reboot notifier (%d): reboots go without notice\n", rc);
	else
		x->reboot_notifier_registered = true;
	/* Try the handshake now too, in case the toolstack attached before us. */
	spin_lock_irq(&x->inbox_lock);
	hotmem_inbox_toolstack_changed(&x->inbox);
	xhm_kick_locked(x);
	spin_unlock_irq(&x->inbox_lock);
	return 0;

err_xenstore:
	xhm_sysfs_exit(x);
err_sysfs:
	kthread_destroy_worker(x->worker);
err_worker:
err_core:
	xhm_mem_exit(x, false);
err_mem:
	kvfree(x->core);
	return rc;
}

static void __exit xhm_exit(void)
{
	struct xhm *x = &xhm;

	if (x->reboot_notifier_registered)
		unregister_reboot_notifier(&xhm_reboot_nb);
	if (x->xenstore_notifier_registered)
		unregister_xenstore_notifier(&xhm_xenstore_nb);
	xhm_unregister_watches(x);
	spin_lock_irq(&x->inbox_lock);
	x->stopping = true;
	spin_unlock_irq(&x->inbox_lock);
	kthread_cancel_delayed_work_sync(&x->work);
	/* Unplugging runs on the worker: the offline timeout signals that thread. */
	kthread_queue_work(x->worker, &x->close_work);
	kthread_flush_work(&x->close_work);
	xhm_sysfs_exit(x);
	kthread_destroy_worker(x->worker);
	xhm_mem_exit(x, xhm_blocks_left != 0);
	kvfree(x->core);
}

module_init(xhm_init);
module_exit(xhm_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("hotmem");
MODULE_DESCRIPTION("Run-time memory hot-add/remove for arm64 Xen guests (hotmem protocol v1)");
