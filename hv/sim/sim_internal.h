/*
 * Private state of the simulated hypervisor, shared by its files:
 *   sim.c       lifecycle, connections, the hv_ops table, stats, checker
 *   domain.c    domains, host frames, max_pages, P2M pool, hypercall bodies
 *   p2m.c       the sparse P2M and its page-table (pool) accounting
 *   xenstore.c  xenstored: tree, permissions, quotas, transactions
 *   xs_watch.c  xenstored: watches, events, the special @ nodes
 *   hmap.c      the hash map behind P2M chunks/regions and xenstore paths
 *   faults.c    deterministic fault injection and per-op call counters
 * Everything lives in struct hv_sim (no globals); every entry point takes
 * sim->lock once and the internal functions below never take it.
 */
#ifndef HOTMEM_SIM_INTERNAL_H
#define HOTMEM_SIM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotmem/hv.h"
#include "hotmem/hv_sim.h"
#include "hmap.h"

/* ---- P2M (p2m.c) --------------------------------------------------------- */

#define P2M_CHUNK_ORDER	      9 /* 2 MiB: what one L3 table (or one L2 block entry) maps */
#define P2M_CHUNK_PAGES	      (1U << P2M_CHUNK_ORDER)
#define P2M_REGION_ORDER      18 /* 1 GiB: what one L2 table (or one L1 block entry) maps */
#define P2M_CHUNKS_PER_REGION (1U << (P2M_REGION_ORDER - P2M_CHUNK_ORDER))

/* How a 2 MiB chunk or a 1 GiB region is mapped by the stage-2 tables. */
enum p2m_map_kind {
	P2M_MAP_TABLE, /* through a page table of its own (L3 for a chunk, L2 for a region) */
	P2M_MAP_BLOCK, /* by one block entry one level up (no table of its own) */
};

struct p2m_chunk {
	uint64_t index;			       /* gfn >> P2M_CHUNK_ORDER */
	uint64_t bitmap[P2M_CHUNK_PAGES / 64]; /* populated pages */
	uint16_t nr_populated;
	uint8_t kind;	       /* enum p2m_map_kind; BLOCK implies full */
	uint8_t uniform_order; /* extent order of all pages when !orders */
	uint8_t *orders;       /* per-page extent order, once they differ */
};

struct p2m_region {
	uint64_t index;	    /* gfn >> P2M_REGION_ORDER */
	uint32_t nr_chunks; /* non-empty chunks */
	uint8_t kind;	    /* enum p2m_map_kind; BLOCK implies all chunks full */
};

struct p2m {
	struct hmap chunks;  /* index -> struct p2m_chunk */
	struct hmap regions; /* index -> struct p2m_region */
	uint64_t populated;  /* pages mapped */
	uint64_t l2_tables;  /* regions of kind TABLE */
	uint64_t l3_tables;  /* chunks of kind TABLE */
};

void p2m_destroy(struct p2m *p2m);
/* Pages of [gfn, gfn + 2^order) already mapped? -EEXIST at the first, else 0. */
int p2m_range_free(const struct p2m *p2m, uint64_t gfn, unsigned int order);
/* Page tables mapping a free, aligned extent would add. */
uint64_t p2m_tables_to_map(const struct p2m *p2m, uint64_t gfn, unsigned int order);
/* Map a free, aligned extent (tables already budgeted). -ENOMEM (malloc) leaves
 * the P2M unchanged. */
int p2m_map(struct p2m *p2m, uint64_t gfn, unsigned int order);
/*
 * Unmap up to count pages from gfn, one 4 KiB page at a time in ascending
 * order as Xen's decrease_reservation does, shattering block mappings on the
 * way (a table comes from the pool: pool_pages minus the tables in use).
 * Stops at the first page it cannot remove: -ENOENT not mapped, -ENOMEM no
 * pool page to shatter. *ret_removed = pages removed (count on success).
 */
int p2m_unmap(struct p2m *p2m, uint64_t gfn, uint64_t count, uint64_t pool_pages,
	      uint64_t *ret_removed);
bool p2m_lookup(const struct p2m *p2m, uint64_t gfn, unsigned int *ret_order);
static inline uint64_t p2m_tables(const struct p2m *p2m)
{
	return p2m->l2_tables + p2m->l3_tables;
}
int p2m_check(const struct p2m *p2m, char *why, size_t why_size);

/* ---- domains (domain.c) -------------------------------------------------- */

struct sim_domain {
	uint32_t domid;
	char *name;
	uint64_t tot_pages;    /* frames owned: p2m.populated + orphan_pages */
	uint64_t max_pages;    /* Xen keeps an unsigned int: clamped to UINT32_MAX */
	uint64_t orphan_pages; /* allocated to the domain but never mapped */
	uint64_t pool_pages;   /* P2M pool size; in use = p2m_tables(&p2m) */
	struct p2m p2m;
	bool dying;
	bool shutdown;
	uint8_t handle[16]; /* unique per creation, like xl's UUID */
	uint8_t shutdown_reason;
};

/* ---- xenstore (xenstore.c) ----------------------------------------------- */

struct xs_node {
	char *path;
	struct xs_node *parent;
	struct xs_node *first_child, *last_child; /* in creation order, as xenstored */
	struct xs_node *prev_sibling, *next_sibling;
	struct xs_node *hash_next; /* same path hash */
	unsigned int nr_children;
	char *value; /* len bytes + a NUL for convenience */
	size_t len;
	struct hv_xs_perm *perms;
	unsigned int nr_perms;
	uint64_t generation;
};

struct xs_store {
	struct xs_node *root;
	struct hmap index; /* hmap_hash_str(path) -> chain of xs_node */
	uint64_t nr_nodes;
	uint64_t generation;		  /* next generation to hand out (0 = "absent") */
	struct hmap owner_counts;	  /* domid + 1 -> (uintptr_t) nodes owned */
	struct hv_xs_perm *release_perms; /* @releaseDomain */
	unsigned int nr_release_perms;
	struct hv_xs_perm *introduce_perms; /* @introduceDomain */
	unsigned int nr_introduce_perms;
	uint32_t next_txn_id;
};

struct sim_conn;
struct sim_txn;

int xs_store_init(struct xs_store *xs);
void xs_store_destroy(struct xs_store *xs);

/* Privileged, transaction-less helpers for the sim itself (as xenstored or
 * libxl in dom0 would act). Watches fire as for any dom0 write. */
int xs_sys_write(struct hv_sim *sim, const char *path, const char *value);
int xs_sys_mkdir_perms(struct hv_sim *sim, const char *path, const struct hv_xs_perm *perms,
		       unsigned int nr_perms);
int xs_sys_rm(struct hv_sim *sim, const char *path);
void xs_fire_special(struct hv_sim *sim, const char *name);
int xs_check(struct hv_sim *sim, char *why, size_t why_size);

/* The xenstore half of the hv_ops (conn is the caller). */
int xs_op_txn_start(struct sim_conn *conn, hv_xs_txn *ret_txn);
int xs_op_txn_end(struct sim_conn *conn, hv_xs_txn txn, bool abort);
int xs_op_read(struct sim_conn *conn, hv_xs_txn txn, const char *path, char **ret_value,
	       size_t *ret_len);
int xs_op_write(struct sim_conn *conn, hv_xs_txn txn, const char *path, const void *value,
		size_t len);
int xs_op_mkdir(struct sim_conn *conn, hv_xs_txn txn, const char *path);
int xs_op_rm(struct sim_conn *conn, hv_xs_txn txn, const char *path);
int xs_op_directory(struct sim_conn *conn, hv_xs_txn txn, const char *path, char ***ret_names,
		    unsigned int *ret_count);
int xs_op_get_perms(struct sim_conn *conn, hv_xs_txn txn, const char *path,
		    struct hv_xs_perm **ret_perms, unsigned int *ret_count);
int xs_op_set_perms(struct sim_conn *conn, hv_xs_txn txn, const char *path,
		    const struct hv_xs_perm *perms, unsigned int nr_perms);
int xs_op_domain_path(struct sim_conn *conn, uint32_t domid, char **ret_path);
int xs_op_watch(struct sim_conn *conn, const char *path, const char *token);
int xs_op_unwatch(struct sim_conn *conn, const char *path, const char *token);
int xs_op_read_watch(struct sim_conn *conn, char **ret_path, char **ret_token);
/* Drop a connection's watches, queued events and transactions. */
void xs_conn_release(struct sim_conn *conn);
/* An injected xs_txn_end failure: the transaction is gone. */
void xs_txn_discard(struct sim_conn *conn, hv_xs_txn txn);

/* ---- connections (sim.c) ------------------------------------------------- */

struct xs_watch {
	struct xs_watch *next;
	char *path; /* canonical absolute path, or "@..." */
	char *token;
	size_t strip; /* relative watch: bytes of "/local/domain/<id>/" to strip */
};

struct xs_event {
	struct xs_event *next;
	char *path;
	char *token;
	struct xs_watch *watch; /* for unwatch to drop queued events */
};

struct sim_conn {
	struct hv hv; /* first: struct hv * <-> struct sim_conn * */
	struct hv_sim *sim;
	struct sim_conn *next;
	uint32_t domid;
	bool privileged; /* dom0 */
	bool dead;	 /* its domain was destroyed: everything but close fails */
	int event_fd;	 /* eventfd (semaphore): readable while events queued */
	struct xs_watch *watches;
	unsigned int nr_watches;
	struct xs_event *events_head, *events_tail;
	struct sim_txn *txns;
	unsigned int nr_txns;
};

/* Queue a watch event on conn and signal its fd (xenstore.c). */
void sim_conn_queue_event(struct sim_conn *conn, struct xs_watch *watch, const char *path);

/* ---- faults (faults.c) --------------------------------------------------- */

struct sim_fault {
	struct hv_sim_fault spec;
	unsigned int id;
	unsigned int seen; /* matching calls since armed */
	enum hv_sim_fault_state state;
};

/* What sim_op_enter decided for one call. */
struct sim_fault_hit {
	int error;    /* 0: run normally */
	bool partial; /* populate/decrease: fail after after_extents */
	size_t after_extents;
	struct sim_fault *fault; /* partial: set to FIRED or MISSED by the op */
};

/* Count one call of op from conn and decide whether a fault hits it. */
void sim_op_enter(struct hv_sim *sim, const struct sim_conn *conn, enum hv_sim_op op,
		  struct sim_fault_hit *hit);
/* A partial fault's call is over: fired (failed at after_extents) or missed. */
void sim_fault_settle(struct hv_sim *sim, struct sim_fault_hit *hit, bool fired);
void sim_faults_free(struct hv_sim *sim);

/* ---- the sim ------------------------------------------------------------- */

struct hv_sim {
	pthread_mutex_t lock;
	struct hv_sim_config cfg;

	uint64_t host_free; /* frames free; no per-frame state is kept */
	unsigned int max_free_order;

	struct sim_domain **domains; /* indexed by domid, HV_SIM_DOMID_LAST + 1 slots */
	uint32_t nr_domains;
	uint32_t domid_rover;  /* last domid handed out */
	uint64_t domains_made; /* every creation, for the domains' handles */

	struct xs_store xs;
	struct sim_conn *conns;

	struct sim_fault *faults;
	size_t nr_faults, cap_faults;
	unsigned int next_fault_id;

	struct hv_sim_stats stats; /* op_calls, alarms, xenstore counters */
};

/* domain.c: the hypercall half of the hv_ops, and the sim's domain API bodies. */
struct sim_domain *sim_domain_get(struct hv_sim *sim, uint32_t domid);
int sim_domain_create(struct hv_sim *sim, const struct hv_sim_domain_params *params,
		      uint32_t forced_domid, uint32_t *ret_domid);
int sim_domain_destroy(struct hv_sim *sim, uint32_t domid);
void sim_domain_free(struct hv_sim *sim, struct sim_domain *dom);
int sim_populate(struct hv_sim *sim, uint32_t domid, unsigned int order, unsigned int max_order,
		 const uint64_t *gfns, size_t nr, struct sim_fault_hit *hit, size_t *ret_done);
int sim_decrease(struct hv_sim *sim, uint32_t domid, unsigned int order, unsigned int max_order,
		 const uint64_t *gfns, size_t nr, struct sim_fault_hit *hit, size_t *ret_done);
int sim_set_max_mem(struct hv_sim *sim, uint32_t domid, uint64_t max_kib);
int sim_set_p2m_pool(struct hv_sim *sim, uint32_t domid, uint64_t bytes);

/* Mark the connections of a destroyed domain dead. */
void sim_conns_domain_gone(struct hv_sim *sim, uint32_t domid);

/* Build a "why" message (no-op when why is NULL); returns -EUCLEAN. */
int sim_why(char *why, size_t why_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* HOTMEM_SIM_INTERNAL_H */
