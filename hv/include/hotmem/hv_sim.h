/*
 * The simulated hypervisor ("sim" backend): an in-process model of Xen 4.17 on
 * arm64 plus xenstored, precise where the toolstack and the guest driver can
 * tell the difference (max_pages, the P2M pool, double populates, xenstore
 * permissions, quotas, transactions and watches) and deliberately simple
 * elsewhere. Every test of libhotmem and the fake guest runs against it.
 *
 * A struct hv_sim holds the whole world (host frames, domains, their P2Ms,
 * the xenstore tree); hv_sim_open() hands out struct hv connections whose ops
 * are the sim's, as dom0 (privileged) or as a domU (restricted like a guest).
 * Tests also get direct levers: create/destroy domains, set flags, arm
 * deterministic faults, read counters and run an invariant checker.
 *
 * Conventions as in hv.h: 0 or a negative errno, ret_* untouched on failure,
 * malloc()ed results owned by the caller. All functions, including the ops
 * of connections, are serialised by one mutex per sim, so a fake guest may
 * run in another thread. The sim logs to stderr only for the two events a
 * real Xen would turn into silent damage: a double populate and frames
 * orphaned by an exhausted P2M pool (see struct hv_sim_config.quiet).
 *
 * Where the sim differs from Xen 4.17 on purpose it says so next to the
 * declaration (look for "Xen:").
 */
#ifndef HOTMEM_HV_SIM_H
#define HOTMEM_HV_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotmem/hv.h"

/* Guest memory map of Xen arm64 guests (public arch-arm.h), in 4 KiB GFNs. */
#define HV_SIM_RAM0_GFN	  0x40000ULL	  /* GUEST_RAM0_BASE 0x40000000 */
#define HV_SIM_RAM0_PAGES 0xc0000ULL	  /* GUEST_RAM0_SIZE 3 GiB */
#define HV_SIM_RAM1_GFN	  0x200000ULL	  /* GUEST_RAM1_BASE 0x200000000 */
#define HV_SIM_RAM1_PAGES (1016ULL << 18) /* GUEST_RAM1_SIZE 1016 GiB */
#define HV_SIM_IPA_BITS	  40		  /* populate beyond 2^40 bytes: -EINVAL */

/* Domain ids: 0 is dom0; guests get 1..HV_SIM_DOMID_LAST (DOMID_FIRST_RESERVED - 1). */
#define HV_SIM_DOMID_LAST 0x7fefU

/* libxl's LIBXL_MAXMEM_CONSTANT: the slack xl adds to max_pages at creation. */
#define HV_SIM_LIBXL_MAXMEM_SLACK_KIB 1024

/* Match calls from any connection (struct hv_sim_fault.caller). */
#define HV_SIM_ANY_CALLER UINT32_MAX

struct hv_sim;

struct hv_sim_config {
	uint64_t host_pages;	       /* frames Xen manages; default 24 GiB */
	uint64_t dom0_pages;	       /* dom0's RAM, taken from the host; default 768 MiB */
	uint64_t dom0_pool_pages;      /* dom0's P2M pool; 0 = libxl's formula, as for guests */
	unsigned int max_extent_order; /* largest populate/decrease order from dom0; default 18 */
	unsigned int domu_max_extent_order; /* same for a domU on itself; default 9 (Xen's
					     * CONFIG_DOMU_MAX_ORDER) */
	unsigned int xs_quota_nodes;	    /* nodes a domU may own; default 1000 */
	unsigned int xs_quota_watches;	    /* watches per domU connection; default 128 */
	unsigned int xs_quota_txns;	    /* open transactions per domU connection; default 10 */
	unsigned int xs_quota_perms;	    /* permission entries a domU may set; default 5 */
	unsigned int xs_quota_entry_bytes;  /* node record size a domU may write; default 2048 */
	bool quiet;			    /* don't print double populates / orphans to stderr */
};

/* Fill cfg with the defaults above. */
void hv_sim_config_defaults(struct hv_sim_config *cfg);

/*
 * Create a simulated host (cfg NULL: defaults; a zero field also means its
 * default, so "{ .host_pages = X }" works). Creates dom0 (domid 0, name
 * "Domain-0", dom0_pages of boot RAM) and xenstore's /, /tool/xenstored,
 * /local/domain and /local/domain/0/{name,domid}. -EINVAL if dom0 does not fit the host.
 */
int hv_sim_new(const struct hv_sim_config *cfg, struct hv_sim **ret_sim);

/* Destroy the sim. Open connections are closed and their handles freed:
 * do not hv_close() them afterwards. NULL is a no-op. */
void hv_sim_free(struct hv_sim *sim);

/*
 * Open a connection acting as as_domid. As dom0 (0) it is privileged: all
 * hypercalls, all of xenstore. As a domU it may only populate/decrease its
 * own memory (every other op returns -EPERM) and xenstore applies the domU's
 * permissions, quotas and relative paths (against /local/domain/<id>).
 * -ESRCH: no such domain. Close with hv_close().
 */
int hv_sim_open(struct hv_sim *sim, uint32_t as_domid, struct hv **ret_hv);

/* Domains. */
struct hv_sim_domain_params {
	const char *name;	/* required, unique, <= 64 bytes */
	uint64_t boot_pages;	/* RAM populated at creation (bank 0 then bank 1) */
	unsigned int vcpus;	/* only sizes the default pool; 0 = 1 */
	uint64_t pool_pages;	/* P2M pool; 0 = libxl's default:
				 * 4 * (256 * vcpus + 2 * boot MiB) KiB */
	uint64_t max_slack_kib; /* max_pages = boot_pages + slack; xl uses
				 * HV_SIM_LIBXL_MAXMEM_SLACK_KIB, default 0 */
	uint32_t domid;		/* 0: the next free id, as Xen; else this id if free
				 * (tests: a domid reused after a destroy) */
	const uint8_t *handle;	/* 16 bytes: this handle (xl rebuilding a rebooted
				 * domain keeps its UUID); NULL: a new one */
};

/*
 * Create a domain the way xl create leaves it: max_pages set, P2M pool
 * sized, boot RAM populated at HV_SIM_RAM0_GFN with the largest extents that
 * fit (1 GiB, 2 MiB, 4 KiB, like libxc's arm meminit), and the xenstore nodes
 * libxl writes (listed in domain.c above write_domain_nodes()). Fires
 * @introduceDomain. Ids grow like Xen's (next unused after the last given).
 * -EINVAL bad params, -EEXIST name taken, -ENOMEM host or pool too small,
 * -ENOSPC no free domid. On failure nothing is left behind.
 */
int hv_sim_domain_create(struct hv_sim *sim, const struct hv_sim_domain_params *params,
			 uint32_t *ret_domid);

/*
 * Destroy a domain as xl destroy does: rm /local/domain/<id> (watches fire),
 * return every frame and the whole pool to the host, fire @releaseDomain,
 * close the xenstore side of the domain's own connections (their later ops
 * return -ENOTCONN). -ESRCH unknown, -EPERM for dom0.
 */
int hv_sim_domain_destroy(struct hv_sim *sim, uint32_t domid);

/* Set the flags domain_info reports. Setting either flag fires @releaseDomain
 * (xenstored does on shutdown and on death). A dying domain can't be
 * populated or decreased (-ESRCH). -ESRCH unknown, -EPERM for dom0. */
int hv_sim_domain_set_dying(struct hv_sim *sim, uint32_t domid, bool dying);
int hv_sim_domain_set_shutdown(struct hv_sim *sim, uint32_t domid, bool shutdown);
/* Shut down with a reason (HV_SHUTDOWN_*: xl reboot, a guest's sysrq-b, a crash). */
int hv_sim_domain_shutdown(struct hv_sim *sim, uint32_t domid, unsigned int reason);

int hv_sim_domain_by_name(struct hv_sim *sim, const char *name, uint32_t *ret_domid);

struct hv_sim_domain_stats {
	uint64_t tot_pages; /* frames owned (populated + orphaned) */
	uint64_t max_pages;
	uint64_t populated_pages; /* frames mapped in the P2M */
	uint64_t orphan_pages;	  /* owned but unmapped (pool ran out mid-populate) */
	uint64_t pool_pages;	  /* P2M pool size */
	uint64_t pool_used_pages; /* page tables in use: l2_tables + l3_tables */
	uint64_t l2_tables;	  /* one per 1 GiB region mapped below block level */
	uint64_t l3_tables;	  /* one per 2 MiB region mapped with 4 KiB pages */
};
int hv_sim_domain_stats(struct hv_sim *sim, uint32_t domid, struct hv_sim_domain_stats *ret_stats);

/* Is gfn mapped in domid's P2M? 1 yes (*ret_order = order of the extent that
 * populated it; ret_order may be NULL), 0 no, -ESRCH unknown domain. */
int hv_sim_gfn_populated(struct hv_sim *sim, uint32_t domid, uint64_t gfn, unsigned int *ret_order);

/*
 * Fragmentation knob: host allocations of order > max_order fail with
 * -ENOMEM (populate of big extents, to exercise fallback 1 GiB -> 2 MiB ->
 * 4 KiB). UINT_MAX (the default) = unfragmented.
 */
void hv_sim_set_max_free_order(struct hv_sim *sim, unsigned int max_order);

/* One value per struct hv_ops member, in the same order. */
enum hv_sim_op {
	HV_SIM_OP_CLOSE,
	HV_SIM_OP_PHYSINFO,
	HV_SIM_OP_DOMAIN_INFO,
	HV_SIM_OP_DOMAIN_LIST,
	HV_SIM_OP_SET_MAX_MEM,
	HV_SIM_OP_GET_P2M_POOL,
	HV_SIM_OP_SET_P2M_POOL,
	HV_SIM_OP_POPULATE,
	HV_SIM_OP_DECREASE,
	HV_SIM_OP_XS_TXN_START,
	HV_SIM_OP_XS_TXN_END,
	HV_SIM_OP_XS_READ,
	HV_SIM_OP_XS_WRITE,
	HV_SIM_OP_XS_MKDIR,
	HV_SIM_OP_XS_RM,
	HV_SIM_OP_XS_DIRECTORY,
	HV_SIM_OP_XS_GET_PERMS,
	HV_SIM_OP_XS_SET_PERMS,
	HV_SIM_OP_XS_DOMAIN_PATH,
	HV_SIM_OP_XS_WATCH,
	HV_SIM_OP_XS_UNWATCH,
	HV_SIM_OP_XS_WATCH_FD,
	HV_SIM_OP_XS_READ_WATCH,
	HV_SIM_OP_ANY, /* faults: any op but close; counters: all calls but close */
	HV_SIM_OP_COUNT
};

/* "populate", "xs_read", ...; "any" for HV_SIM_OP_ANY; "?" if out of range. */
const char *hv_sim_op_name(enum hv_sim_op op);

/* Calls of op made through any connection since hv_sim_new (failed calls
 * and injected faults included). */
uint64_t hv_sim_op_calls(struct hv_sim *sim, enum hv_sim_op op);

/*
 * Deterministic fault injection. A fault counts the calls that match it
 * (op, or every op but close for HV_SIM_OP_ANY; from connections of domid
 * caller, or any) from the moment it is armed, and fails the nth one with
 * error. Every fault is one-shot.
 *
 * For populate and decrease, after_extents > 0 makes the failure partial:
 * the call does its first after_extents extents for real, then fails with
 * *ret_done = after_extents (if the call has no more than after_extents
 * extents it runs normally and the fault is spent as MISSED; so is a fault
 * whose call fails by itself first). Other ops ignore after_extents and fail
 * before doing anything. An injected xs_txn_end failure ends the transaction
 * like a real conflict does (it is gone). If several faults hit the same
 * call, the first armed fires and the others are spent as MISSED.
 */
struct hv_sim_fault {
	enum hv_sim_op op;
	unsigned int nth;     /* 1-based */
	int error;	      /* negative errno */
	size_t after_extents; /* populate/decrease only */
	uint32_t caller;      /* domid of the calling connection, or HV_SIM_ANY_CALLER */
};

enum hv_sim_fault_state {
	HV_SIM_FAULT_ARMED,
	HV_SIM_FAULT_FIRED,
	HV_SIM_FAULT_MISSED,
	HV_SIM_FAULT_DISARMED,
};

/* -EINVAL: op out of range or close, nth 0, error not negative. */
int hv_sim_fault_arm(struct hv_sim *sim, const struct hv_sim_fault *fault, unsigned int *ret_id);
/* -ENOENT: no such fault; disarming a spent fault is fine. */
int hv_sim_fault_disarm(struct hv_sim *sim, unsigned int id);
int hv_sim_fault_state(struct hv_sim *sim, unsigned int id, enum hv_sim_fault_state *ret_state);
/* Forget every fault (ids are not reused). */
void hv_sim_fault_clear(struct hv_sim *sim);

struct hv_sim_stats {
	uint64_t op_calls[HV_SIM_OP_COUNT];
	uint64_t faults_fired;
	uint64_t double_populate;  /* populate of an already populated GFN (alarm) */
	uint64_t orphaned_pages;   /* frames orphaned by pool exhaustion (alarm) */
	uint64_t pool_pages;	   /* sum of all domains' P2M pools */
	uint64_t pool_used_pages;  /* sum of page tables in use */
	uint64_t domains;	   /* including dom0 */
	uint64_t xs_nodes;	   /* xenstore nodes, root included */
	uint64_t xs_watch_events;  /* events queued to connections */
	uint64_t xs_txn_conflicts; /* commits that returned -EAGAIN (not injected) */
};
void hv_sim_get_stats(struct hv_sim *sim, struct hv_sim_stats *ret_stats);

/* Zero the two alarm counters (double_populate, orphaned_pages) after a test
 * provoked them on purpose, so hv_sim_check() passes again. */
void hv_sim_clear_alarms(struct hv_sim *sim);

/*
 * Invariant checker. Returns 0, or -EUCLEAN with a one-line explanation in
 * why (may be NULL) when: host total != free + sum(tot_pages) + sum(pools);
 * a domain's tot_pages != its mapped + orphaned pages; a P2M's bitmaps,
 * counters, block/table kinds or table count disagree; pool use exceeds a
 * pool; xenstore's tree, hash index or per-domain node counts disagree;
 * or an alarm counter is non-zero (double populate, orphaned frames): those
 * are bugs of the caller that real Xen would turn into leaked frames.
 */
int hv_sim_check(struct hv_sim *sim, char *why, size_t why_size);

#endif /* HOTMEM_HV_SIM_H */
