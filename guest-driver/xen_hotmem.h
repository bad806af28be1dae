/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private header of xen_hotmem.ko, shared by its three files:
 * xen_hotmem_main.c (module life cycle, xenstore watches, the worker, the
 * platform ops the protocol core calls), xen_hotmem_mem.c (the memory
 * mechanism: add/online/offline-and-remove of blocks, the memory notifier,
 * the balloon's books) and xen_hotmem_sysfs.c (/sys/kernel/xen_hotmem/).
 * The protocol itself lives in core/ (plain C, unit-tested on the host).
 */
#ifndef XEN_HOTMEM_H
#define XEN_HOTMEM_H

#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/types.h>
#include <linux/wait.h>

#include "hotmem_core.h"

/* Notifier events recorded per block (4 bits each in xhm_block.history). */
enum xhm_note {
	XHM_NOTE_NONE = 0,
	XHM_NOTE_PREPARE_ONLINE,
	XHM_NOTE_GOING_ONLINE,
	XHM_NOTE_ONLINE,
	XHM_NOTE_CANCEL_ONLINE,
	XHM_NOTE_GOING_OFFLINE,
	XHM_NOTE_OFFLINE,
	XHM_NOTE_CANCEL_OFFLINE,
	XHM_NOTE_FINISH_OFFLINE,
	XHM_NOTE_VETO, /* we refused a MEM_GOING_ONLINE into the wrong zone */
	XHM_NOTE_COUNT
};

/* What the memory notifier saw of one window block. Guarded by xhm.note_lock. */
struct xhm_block {
	u32 history;	/* last 8 notes, newest in the low nibble */
	u8 nr_notes;	/* notes recorded, saturating at 255 */
	u8 last;	/* enum xhm_note of the newest note */
	bool online;	/* MEM_ONLINE seen, no MEM_OFFLINE since */
	bool order_bad; /* an ONLINE/OFFLINE/CANCEL came without its GOING_ */
	bool vetoed;	/* the kernel tried to online it into the wrong zone */
	u8 zone_idx;	/* zone_idx() at MEM_ONLINE */
	u32 nr_offline_failures;
	/* populated-blocks: usable pages handed to the page allocator at the
	 * last MEM_ONLINE (of nr_online_pages), and the error if not all. */
	u32 pages_taken;
	u32 nr_online_pages;
	int take_err;
	u32 nr_offline_refused; /* offlines by others we refused */
};

/* The driver: one instance. */
struct xhm {
	struct hotmem_core *core; /* guarded by lock */
	struct mutex lock;	  /* serialises the core, the memory ops and sysfs readers */
	struct kthread_worker *worker;
	struct kthread_delayed_work work;
	struct kthread_work close_work;
	bool stopping; /* guarded by inbox_lock */
	spinlock_t inbox_lock;
	struct hotmem_inbox inbox; /* guarded by inbox_lock */
	bool watches_registered;
	bool xenstore_notifier_registered;
	bool reboot_notifier_registered;
	/* The reboot notifier waits here for dom0's answer (H/shutdown-ack). */
	wait_queue_head_t shutdown_wq;
	bool shutdown_kick; /* the answer's watch fired since the last look */

	/* Memory side (xen_hotmem_mem.c). */
	enum hotmem_zone online_zone;
	int mgid;	      /* static memory group, -1 until the first add */
	const char *res_name; /* "System RAM (xen_hotmem)", leaked while blocks remain */
	u64 window_base;      /* copies for the notifier, set before the first add */
	u64 window_size;
	u64 block_size;
	spinlock_t note_lock;
	struct xhm_block *blocks; /* HOTMEM_MAX_BLOCKS entries */
	int expect_block;	  /* block being added: the notifier vetoes wrong zones; -1 none */
	bool expect_movable;	  /* the zone expect_block must come online in */
	int expect_offline;	  /* block the driver offlines: others' offlines are refused; -1 */
	/* populated-blocks in use (set at the handshake): the notifier hands the
	 * usable pages of each block coming online to the page allocator. */
	bool own_pages;
	struct page **take_batch;    /* XHM_TAKE_BATCH pages from the balloon */
	struct page **take_foreign;  /* its pages that were not ours, kept aside */
	struct resource *window_res; /* "Xen hotmem window" in /proc/iomem, or NULL */
	atomic_t nr_order_violations;
	struct timer_list offline_timer;
	struct task_struct *offline_task;
	bool balloon_captures;
	unsigned long books_stable_since; /* jiffies since current_pages last moved (retries) */
	unsigned long books_seen_current;

	/* Stats fed by the guest agent through sysfs "psi". */
	spinlock_t psi_lock;
	u32 psi_some, psi_full;
	unsigned long psi_stamp; /* jiffies of the last write, 0 = never */
	/* Fed by the agent through sysfs "swap" (its /proc/meminfo), under psi_lock. */
	u64 swapped_kib;
	unsigned long swap_stamp; /* jiffies of the last write, 0 = never */

	struct kobject *kobj;
};

extern struct xhm xhm;

/* Module parameters shared between files. */
extern unsigned int xhm_offline_timeout_ms;
extern unsigned int xhm_psi_max_age_ms;
extern unsigned int xhm_balloon_settle_ms;
extern unsigned int xhm_shrink_reserve_mb;

/* xen_hotmem_mem.c */
int xhm_mem_init(struct xhm *x);
void xhm_mem_exit(struct xhm *x, bool blocks_remain);
int xhm_mm_info(void *ctx, struct hotmem_guest_mm *ret_mm);
bool xhm_range_pluggable(void *ctx, u64 start, u64 size);
int xhm_probe_block(void *ctx, u64 start, u64 size, enum hotmem_probe *ret_probe);
int xhm_add_block(void *ctx, u64 start, u64 size, bool memmap_on_memory, enum hotmem_zone zone);
int xhm_kernel_headroom(void *ctx, u64 *ret_bytes);
int xhm_online_block(void *ctx, u64 start, u64 size, enum hotmem_zone zone);
int xhm_offline_and_remove_block(void *ctx, u64 start, u64 size);
int xhm_balloon_account(void *ctx, const struct hotmem_balloon_delta *delta, bool force);
void xhm_set_window(struct xhm *x, u64 base, u64 size);
void xhm_reserve_window(struct xhm *x, u64 base, u64 size);
void xhm_release_window(struct xhm *x);
const char *xhm_note_name(enum xhm_note note);
const char *xhm_zone_idx_name(unsigned int zone_idx);

/* xen_hotmem_sysfs.c */
int xhm_sysfs_init(struct xhm *x);
void xhm_sysfs_exit(struct xhm *x);

#endif /* XEN_HOTMEM_H */
