/*
 * The hypervisor boundary: everything the dom0 toolstack asks of Xen and of
 * xenstore goes through one small ops table, so libhotmem runs unchanged on
 * real Xen (libxenctrl + libxenstore) and on the in-process simulator used by
 * the tests. Host-only (not part of the freestanding guest ABI).
 *
 * Conventions: every call returns 0 or a negative errno and never logs; output
 * parameters named ret_* are untouched on failure; memory returned through
 * ret_* pointers is malloc()ed and owned by the caller (free()). Frame numbers
 * are guest frame numbers (GFNs) of 4 KiB Xen pages; extent_order is log2 of
 * the number of 4 KiB pages per extent (0 = 4 KiB, 9 = 2 MiB, 18 = 1 GiB).
 */
#ifndef HOTMEM_HV_H
#define HOTMEM_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_PAGE_SHIFT 12
#define HV_PAGE_SIZE  (1ULL << HV_PAGE_SHIFT)

/* Opaque handle; one per connection (the toolstack opens one as dom0). */
struct hv;

/* Opaque xenstore transaction id; HV_XS_NO_TXN means "outside a transaction". */
typedef uint32_t hv_xs_txn;
#define HV_XS_NO_TXN ((hv_xs_txn)0)

struct hv_physinfo {
	uint64_t total_pages; /* host frames Xen manages */
	uint64_t free_pages;  /* host frames free for allocation right now */
};

/* Why a domain shut down (public/sched.h SHUTDOWN_*). */
#define HV_SHUTDOWN_POWEROFF 0
#define HV_SHUTDOWN_REBOOT   1
#define HV_SHUTDOWN_SUSPEND  2
#define HV_SHUTDOWN_CRASH    3
#define HV_SHUTDOWN_WATCHDOG 4

struct hv_domain_info {
	uint32_t domid;
	uint64_t tot_pages;	 /* frames the domain owns now */
	uint64_t max_pages;	 /* ceiling Xen enforces on tot_pages */
	bool dying;		 /* being destroyed: its books may be released */
	bool shutdown;		 /* shut down (crashed, powered off), not yet destroyed */
	uint8_t shutdown_reason; /* with shutdown: HV_SHUTDOWN_*, Xen's SHUTDOWN_ codes */
	uint8_t handle[16];	 /* the toolstack's handle (xl: the domain's UUID): a domid
				  * that comes back with another handle is another domain */
};

/* Xenstore permission of one domain on one node, as in xs_permissions. */
enum hv_xs_perm_kind {
	HV_XS_PERM_NONE = 0,
	HV_XS_PERM_READ = 1,
	HV_XS_PERM_WRITE = 2,
	HV_XS_PERM_BOTH = 3,
};

struct hv_xs_perm {
	uint32_t domid;
	enum hv_xs_perm_kind perm;
};

/*
 * The ops table. A backend fills every member; there are no optional ops.
 * Partial progress is part of the contract where Xen itself makes partial
 * progress: populate and decrease report how many extents were done.
 */
struct hv_ops {
	const char *name; /* "xen" or "sim" */
	void (*close)(struct hv *hv);

	/* Host and domain state. */
	int (*physinfo)(struct hv *hv, struct hv_physinfo *ret_info);
	int (*domain_info)(struct hv *hv, uint32_t domid, struct hv_domain_info *ret_info);
	/* Fills up to max_domids ids in ascending order; *ret_count is the number written. */
	int (*domain_list)(struct hv *hv, uint32_t *ret_domids, size_t max_domids,
			   size_t *ret_count);

	/* Memory controls. max_kib is in KiB as in xc_domain_setmaxmem(). */
	int (*set_max_mem)(struct hv *hv, uint32_t domid, uint64_t max_kib);
	int (*get_p2m_pool)(struct hv *hv, uint32_t domid, uint64_t *ret_bytes);
	int (*set_p2m_pool)(struct hv *hv, uint32_t domid, uint64_t bytes);

	/*
	 * Populate nr_extents extents of 2^extent_order pages at the given GFNs
	 * (each aligned to the extent). Returns 0 when all were populated; else a
	 * negative errno with *ret_done = the number of leading extents that were
	 * populated (Xen stops at the first failure and keeps what it did).
	 */
	int (*populate)(struct hv *hv, uint32_t domid, unsigned int extent_order,
			const uint64_t *gfns, size_t nr_extents, size_t *ret_done);
	/* Give extents back to Xen; same partial-progress contract as populate. */
	int (*decrease)(struct hv *hv, uint32_t domid, unsigned int extent_order,
			const uint64_t *gfns, size_t nr_extents, size_t *ret_done);

	/* Xenstore. Values are byte strings (not NUL-terminated on the wire);
	 * xs_read returns a NUL-terminated copy and its length (ret_len may be
	 * NULL: callers that want a C string need no length). */
	int (*xs_txn_start)(struct hv *hv, hv_xs_txn *ret_txn);
	/* Commit (abort=false) or abort a transaction; -EAGAIN: conflict, retry. */
	int (*xs_txn_end)(struct hv *hv, hv_xs_txn txn, bool abort);
	int (*xs_read)(struct hv *hv, hv_xs_txn txn, const char *path, char **ret_value,
		       size_t *ret_len);
	int (*xs_write)(struct hv *hv, hv_xs_txn txn, const char *path, const void *value,
			size_t len);
	int (*xs_mkdir)(struct hv *hv, hv_xs_txn txn, const char *path);
	int (*xs_rm)(struct hv *hv, hv_xs_txn txn, const char *path);
	/* Children names of path; *ret_names is one malloc()ed block (free it once). */
	int (*xs_directory)(struct hv *hv, hv_xs_txn txn, const char *path, char ***ret_names,
			    unsigned int *ret_count);
	int (*xs_get_perms)(struct hv *hv, hv_xs_txn txn, const char *path,
			    struct hv_xs_perm **ret_perms, unsigned int *ret_count);
	/* perms[0] is the owner (and everyone's default), as in xenstore. */
	int (*xs_set_perms)(struct hv *hv, hv_xs_txn txn, const char *path,
			    const struct hv_xs_perm *perms, unsigned int nr_perms);
	/* Path of /local/domain/<domid>, as xs_get_domain_path(). */
	int (*xs_domain_path)(struct hv *hv, uint32_t domid, char **ret_path);

	/* Watches: fire once on registration and on every change below path. */
	int (*xs_watch)(struct hv *hv, const char *path, const char *token);
	int (*xs_unwatch)(struct hv *hv, const char *path, const char *token);
	/* A file descriptor that becomes readable when a watch event is queued. */
	int (*xs_watch_fd)(struct hv *hv);
	/* Dequeue one event without blocking; -EAGAIN when none is queued. */
	int (*xs_read_watch)(struct hv *hv, char **ret_path, char **ret_token);
};

struct hv {
	const struct hv_ops *ops;
};

/* Open the real Xen backend (libxenctrl + libxenstore); -errno on failure. */
int hv_xen_open(struct hv **ret_hv);

/* Close any backend's handle (NULL is a no-op). */
static inline void hv_close(struct hv *hv)
{
	if (hv)
		hv->ops->close(hv);
}

#endif /* HOTMEM_HV_H */
