/*
 * The real hypervisor backend behind struct hv_ops: domain and host state,
 * max memory, the P2M pool and populate/decrease through libxenctrl, and the
 * xenstore calls (nodes, permissions, transactions, watches) through
 * libxenstore, for a toolstack running in dom0. It keeps no state of its own
 * beyond the library handles, so it is as thread-safe as they are
 * (libxenctrl is opened without XC_OPENFLAG_NON_REENTRANT; libxenstore
 * serialises the requests on a handle itself). xenstore gets two
 * connections: one for watches and one for everything else (see struct
 * hv_xen). It never logs: libxenctrl and
 * the libraries it opens (xencall, foreignmemory, devicemodel) get a logger
 * that drops everything, and every failure comes back as a negative errno,
 * mapped by xen-map.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>
#include <xenstore.h>

#include <hotmem/hv.h>

#include "xen-map.h"

/*
 * Extents per populate/decrease hypercall. Bounds the bounce buffer libxc
 * allocates (32 KiB here) and stays far below the (UINT_MAX >> 6) extents
 * above which Xen silently does nothing, since it could not encode a
 * continuation. Xen preempts and continues long batches by itself.
 */
#define XEN_MEMOP_BATCH 4096

/* Domains fetched per XEN_SYSCTL_getdomaininfolist call by domain_list. */
#define XEN_DOMINFO_BATCH 64

/*
 * The shortest permission entry xenstore can carry is "n0" plus its NUL: a
 * request with more entries than this allows cannot fit in one message.
 * Checking it first also keeps libxenstore's on-stack iovec array small.
 */
#define XEN_XS_PERM_MIN_WIRE_BYTES 3

/* libxc takes extents as xen_pfn_t; hv.h hands us 64-bit GFNs. */
_Static_assert(sizeof(xen_pfn_t) == sizeof(uint64_t), "xen_pfn_t must be 64 bits");
/* Transaction ids go to libxenstore unchanged; 0 means "none" in both. */
_Static_assert(HV_XS_NO_TXN == XBT_NULL, "HV_XS_NO_TXN must be XBT_NULL");

/*
 * Two xenstore connections. The first xs_watch() on a libxenstore handle
 * starts a reader thread that owns the socket from then on: every later
 * request on that handle waits for its reply to come back through that
 * thread (a condition variable, two thread switches). Under load, or on a
 * dom0 whose vCPUs sleep, each request then costs milliseconds instead of a
 * round trip, and an operation makes dozens. So watches live on xsh_watch
 * (its reader thread feeds the pipe xs_fileno() returns) and the requests,
 * transactions included, on xsh, which never watches and so never gets a
 * reader thread. Nothing depends on the two sharing a connection: a watch
 * fires for a write on any connection, and every watcher re-reads the node
 * it was told about (hv.h).
 */
struct hv_xen {
	struct hv hv; /* first: the ops get &hv and cast back (to_xen) */
	xc_interface *xch;
	struct xs_handle *xsh;	     /* requests and transactions; never a watch */
	struct xs_handle *xsh_watch; /* watches and their events only */
};

static struct hv_xen *to_xen(struct hv *hv)
{
	return (struct hv_xen *)hv;
}

/*
 * The quiet logger. With a NULL logger libxenctrl would create one writing to
 * stderr (and hand it to xencall, which reports a missing privcmd there); a
 * library must not write to its caller's stderr, so every message is dropped.
 * It has no state, so one instance serves all handles; libxenctrl only
 * destroys loggers it created itself.
 */
static void quiet_vmessage(struct xentoollog_logger *logger, xentoollog_level level, int errnoval,
			   const char *context, const char *format, va_list al)
{
}

static void quiet_progress(struct xentoollog_logger *logger, const char *context,
			   const char *doing_what, int percent, unsigned long done,
			   unsigned long total)
{
}

static void quiet_destroy(struct xentoollog_logger *logger)
{
}

static struct xentoollog_logger quiet_logger = {
	.vmessage = quiet_vmessage,
	.progress = quiet_progress,
	.destroy = quiet_destroy,
};

/*
 * Fetch the info of exactly domid. getdomaininfolist (like getdomaininfo)
 * answers with the first domain whose id is >= the one asked, so a missing
 * domain shows up as another one, or as none: both are -ESRCH. It is one
 * sysctl returning Xen's own record (pages, not KiB), and unlike
 * xc_domain_getinfo() it survives in Xen 4.18+, which replaced the latter
 * with xc_domain_getinfo_single().
 */
static int xen_getinfo_exact(struct hv_xen *xen, uint32_t domid, xc_domaininfo_t *ret_raw)
{
	xc_domaininfo_t raw = { 0 };
	int nr;

	errno = 0;
	nr = xc_domain_getinfolist(xen->xch, domid, 1, &raw);
	if (nr < 0)
		return hv_xen_errno(errno);
	if (nr == 0 || raw.domain != domid)
		return -ESRCH;

	*ret_raw = raw;
	return 0;
}

/*
 * After Xen stopped a memory op early without saying why: was it because the
 * domain is gone or being destroyed? Best effort; any doubt answers false.
 */
static bool xen_domain_gone(struct hv_xen *xen, uint32_t domid)
{
	/* Zeroed: gcc -O2 cannot see that a 0 from xen_getinfo_exact() filled it. */
	xc_domaininfo_t raw = { 0 };
	int rc;

	rc = xen_getinfo_exact(xen, domid, &raw);
	if (rc == -ESRCH)
		return true;
	return rc == 0 && (raw.flags & XEN_DOMINF_dying);
}

static void xen_close(struct hv *hv)
{
	struct hv_xen *xen = to_xen(hv);

	/* All accept NULL, so this also unwinds a half-done hv_xen_open(). */
	xs_close(xen->xsh_watch);
	xs_close(xen->xsh);
	xc_interface_close(xen->xch);
	free(xen);
}

static int xen_physinfo(struct hv *hv, struct hv_physinfo *ret_info)
{
	struct hv_xen *xen = to_xen(hv);
	xc_physinfo_t raw = { 0 };

	errno = 0;
	if (xc_physinfo(xen->xch, &raw) < 0)
		return hv_xen_errno(errno);

	ret_info->total_pages = raw.total_pages;
	ret_info->free_pages = raw.free_pages;
	return 0;
}

static int xen_domain_info(struct hv *hv, uint32_t domid, struct hv_domain_info *ret_info)
{
	struct hv_xen *xen = to_xen(hv);
	xc_domaininfo_t raw = { 0 }; /* zeroed for gcc -O2, as in xen_domain_gone() */
	int rc;

	rc = hv_xen_check_domid(domid);
	if (rc)
		return rc;
	rc = xen_getinfo_exact(xen, domid, &raw);
	if (rc)
		return rc;

	ret_info->domid = raw.domain;
	ret_info->tot_pages = raw.tot_pages;
	ret_info->max_pages = raw.max_pages;
	ret_info->dying = raw.flags & XEN_DOMINF_dying;
	ret_info->shutdown = raw.flags & XEN_DOMINF_shutdown;
	ret_info->shutdown_reason =
		(uint8_t)((raw.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask);
	memcpy(ret_info->handle, raw.handle, sizeof(ret_info->handle));
	return 0;
}

/*
 * Xen keeps its domain list sorted by id and getdomaininfolist walks it from
 * first_domain up, so batches come in ascending order; the ids are collected
 * in a private array so ret_domids stays untouched if a later batch fails.
 */
static int xen_domain_list(struct hv *hv, uint32_t *ret_domids, size_t max_domids,
			   size_t *ret_count)
{
	struct hv_xen *xen = to_xen(hv);
	xc_domaininfo_t *batch = NULL;
	uint32_t *domids = NULL;
	uint32_t next_domid = 0; /* lowest id not yet looked at */
	size_t capacity, count = 0;
	int rc = 0;

	if (max_domids && !ret_domids) {
		rc = -EINVAL;
		goto out;
	}
	/* No more ordinary domains than ids below DOMID_FIRST_RESERVED. */
	capacity = max_domids < DOMID_FIRST_RESERVED ? max_domids : DOMID_FIRST_RESERVED;
	if (capacity == 0) {
		*ret_count = 0;
		goto out;
	}

	batch = calloc(XEN_DOMINFO_BATCH, sizeof(*batch));
	domids = calloc(capacity, sizeof(*domids));
	if (!batch || !domids) {
		rc = -ENOMEM;
		goto out;
	}

	while (count < capacity && next_domid < DOMID_FIRST_RESERVED) {
		size_t left = capacity - count;
		unsigned int want =
			(unsigned int)(left < XEN_DOMINFO_BATCH ? left : XEN_DOMINFO_BATCH);
		int nr, i;

		errno = 0;
		nr = xc_domain_getinfolist(xen->xch, next_domid, want, batch);
		if (nr < 0) {
			rc = hv_xen_errno(errno);
			goto out;
		}
		if ((unsigned int)nr > want) {
			rc = -EIO;
			goto out;
		}
		for (i = 0; i < nr; i++) {
			/* Anything but ascending ids would loop forever or repeat. */
			if (batch[i].domain < next_domid) {
				rc = -EIO;
				goto out;
			}
			domids[count++] = batch[i].domain;
			next_domid = batch[i].domain + 1U;
		}
		if ((unsigned int)nr < want)
			break;
	}

	memcpy(ret_domids, domids, count * sizeof(*domids));
	*ret_count = count;
out:
	free(domids);
	free(batch);
	return rc;
}

static int xen_set_max_mem(struct hv *hv, uint32_t domid, uint64_t max_kib)
{
	struct hv_xen *xen = to_xen(hv);
	int rc;

	rc = hv_xen_check_domid(domid);
	if (rc)
		return rc;

	errno = 0;
	if (xc_domain_setmaxmem(xen->xch, domid, max_kib) < 0)
		return hv_xen_errno(errno);
	return 0;
}

static int xen_get_p2m_pool(struct hv *hv, uint32_t domid, uint64_t *ret_bytes)
{
	struct hv_xen *xen = to_xen(hv);
	uint64_t bytes = 0;
	int rc;

	rc = hv_xen_check_domid(domid);
	if (rc)
		return rc;

	errno = 0;
	if (xc_get_paging_mempool_size(xen->xch, domid, &bytes) < 0)
		return hv_xen_errno(errno);

	*ret_bytes = bytes;
	return 0;
}

static int xen_set_p2m_pool(struct hv *hv, uint32_t domid, uint64_t bytes)
{
	struct hv_xen *xen = to_xen(hv);
	int rc;

	rc = hv_xen_check_domid(domid);
	if (rc)
		return rc;

	errno = 0;
	if (xc_set_paging_mempool_size(xen->xch, domid, bytes) < 0)
		return hv_xen_errno(errno);
	return 0;
}

/* One of the two memory ops, seen through the same signature. */
struct xen_memop {
	int (*call)(xc_interface *xch, uint32_t domid, unsigned long nr_extents,
		    unsigned int extent_order, xen_pfn_t *frames);
	/*
	 * Xen stops early without an error code; this is what that most likely
	 * means when the domain is still alive (see the two users).
	 */
	int short_errno;
};

static int xen_call_populate(xc_interface *xch, uint32_t domid, unsigned long nr_extents,
			     unsigned int extent_order, xen_pfn_t *frames)
{
	/* Not _exact: it would turn a short count into -1, losing the count. */
	return xc_domain_populate_physmap(xch, domid, nr_extents, extent_order, 0, frames);
}

static int xen_call_decrease(xc_interface *xch, uint32_t domid, unsigned long nr_extents,
			     unsigned int extent_order, xen_pfn_t *frames)
{
	return xc_domain_decrease_reservation(xch, domid, nr_extents, extent_order, frames);
}

/*
 * A populate that stops early ran out of memory: the host has no free frame
 * of that order, or the domain reached max_pages (Xen also stops silently for
 * an order above its memop-max-order limit).
 */
static const struct xen_memop xen_populate_op = {
	.call = xen_call_populate,
	.short_errno = ENOMEM,
};

/* A decrease that stops early met a GFN the domain has no frame at. */
static const struct xen_memop xen_decrease_op = {
	.call = xen_call_decrease,
	.short_errno = EINVAL,
};

/*
 * Run op over all extents in batches of XEN_MEMOP_BATCH, stopping at the
 * first batch Xen did not finish. The GFNs are copied because libxc hands the
 * array to Xen for reading and writing and ours is const. Arguments are
 * checked before the first hypercall, so a malformed request does nothing.
 * *ret_done is always set, as hv.h asks.
 */
static int xen_memop(struct hv_xen *xen, const struct xen_memop *op, uint32_t domid,
		     unsigned int extent_order, const uint64_t *gfns, size_t nr_extents,
		     size_t *ret_done)
{
	xen_pfn_t *frames = NULL;
	size_t done = 0;
	bool stopped_short = false;
	int rc;

	rc = hv_xen_check_domid(domid);
	if (!rc)
		rc = hv_xen_check_extents(extent_order, gfns, nr_extents);
	if (rc || nr_extents == 0)
		goto out;

	frames = malloc((nr_extents < XEN_MEMOP_BATCH ? nr_extents : XEN_MEMOP_BATCH) *
			sizeof(*frames));
	if (!frames) {
		rc = -ENOMEM;
		goto out;
	}

	while (done < nr_extents) {
		size_t left = nr_extents - done;
		size_t batch = left < XEN_MEMOP_BATCH ? left : XEN_MEMOP_BATCH;
		size_t batch_done, i;
		long xc_rc;

		for (i = 0; i < batch; i++)
			frames[i] = gfns[done + i];

		errno = 0;
		xc_rc = op->call(xen->xch, domid, batch, extent_order, frames);
		rc = hv_xen_memop_result(xc_rc, batch, errno, op->short_errno, &batch_done);
		done += batch_done;
		if (rc) {
			stopped_short = xc_rc >= 0 && batch_done < batch;
			break;
		}
	}

	/* A domain destroyed under us also stops Xen silently: say so. */
	if (stopped_short && xen_domain_gone(xen, domid))
		rc = -ESRCH;
out:
	free(frames);
	*ret_done = done;
	return rc;
}

static int xen_populate(struct hv *hv, uint32_t domid, unsigned int extent_order,
			const uint64_t *gfns, size_t nr_extents, size_t *ret_done)
{
	return xen_memop(to_xen(hv), &xen_populate_op, domid, extent_order, gfns, nr_extents,
			 ret_done);
}

static int xen_decrease(struct hv *hv, uint32_t domid, unsigned int extent_order,
			const uint64_t *gfns, size_t nr_extents, size_t *ret_done)
{
	return xen_memop(to_xen(hv), &xen_decrease_op, domid, extent_order, gfns, nr_extents,
			 ret_done);
}

static int xen_xs_txn_start(struct hv *hv, hv_xs_txn *ret_txn)
{
	struct hv_xen *xen = to_xen(hv);
	xs_transaction_t txn;

	errno = 0;
	txn = xs_transaction_start(xen->xsh);
	if (txn == XBT_NULL)
		return hv_xen_xs_errno(errno);

	*ret_txn = txn;
	return 0;
}

static int xen_xs_txn_end(struct hv *hv, hv_xs_txn txn, bool abort)
{
	struct hv_xen *xen = to_xen(hv);

	/* xenstored answers a conflicting commit with EAGAIN: passed through. */
	errno = 0;
	if (!xs_transaction_end(xen->xsh, txn, abort))
		return hv_xen_xs_errno(errno);
	return 0;
}

static int xen_xs_read(struct hv *hv, hv_xs_txn txn, const char *path, char **ret_value,
		       size_t *ret_len)
{
	struct hv_xen *xen = to_xen(hv);
	unsigned int len = 0;
	char *value;

	/* libxenstore already returns a malloc()ed, NUL-terminated copy. */
	errno = 0;
	value = xs_read(xen->xsh, txn, path, &len);
	if (!value)
		return hv_xen_xs_errno(errno);

	*ret_value = value;
	if (ret_len) /* optional (hv.h) */
		*ret_len = len;
	return 0;
}

static int xen_xs_write(struct hv *hv, hv_xs_txn txn, const char *path, const void *value,
			size_t len)
{
	struct hv_xen *xen = to_xen(hv);

	/* libxenstore takes an unsigned int and itself refuses > 4096 bytes. */
	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;

	errno = 0;
	if (!xs_write(xen->xsh, txn, path, value, (unsigned int)len))
		return hv_xen_xs_errno(errno);
	return 0;
}

static int xen_xs_mkdir(struct hv *hv, hv_xs_txn txn, const char *path)
{
	struct hv_xen *xen = to_xen(hv);

	errno = 0;
	if (!xs_mkdir(xen->xsh, txn, path))
		return hv_xen_xs_errno(errno);
	return 0;
}

static int xen_xs_rm(struct hv *hv, hv_xs_txn txn, const char *path)
{
	struct hv_xen *xen = to_xen(hv);

	errno = 0;
	if (!xs_rm(xen->xsh, txn, path))
		return hv_xen_xs_errno(errno);
	return 0;
}

static int xen_xs_directory(struct hv *hv, hv_xs_txn txn, const char *path, char ***ret_names,
			    unsigned int *ret_count)
{
	struct hv_xen *xen = to_xen(hv);
	unsigned int count = 0;
	char **names;

	/*
	 * libxenstore already builds the contract's layout: one malloc()ed
	 * block holding the pointer array followed by the strings it points
	 * into, freed with a single free().
	 */
	errno = 0;
	names = xs_directory(xen->xsh, txn, path, &count);
	if (!names)
		return hv_xen_xs_errno(errno);

	*ret_names = names;
	*ret_count = count;
	return 0;
}

static int xen_xs_get_perms(struct hv *hv, hv_xs_txn txn, const char *path,
			    struct hv_xs_perm **ret_perms, unsigned int *ret_count)
{
	struct hv_xen *xen = to_xen(hv);
	struct xs_permissions *xs_perms = NULL;
	struct hv_xs_perm *perms = NULL;
	unsigned int count = 0, i;
	int rc;

	errno = 0;
	xs_perms = xs_get_permissions(xen->xsh, txn, path, &count);
	if (!xs_perms) {
		rc = hv_xen_xs_errno(errno);
		goto out;
	}

	/* Never 0 entries in practice (there is always an owner); stay safe. */
	perms = calloc(count ? count : 1, sizeof(*perms));
	if (!perms) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < count; i++) {
		perms[i].domid = xs_perms[i].id;
		perms[i].perm = hv_xen_perm_from_xs(xs_perms[i].perms);
	}

	*ret_perms = perms;
	*ret_count = count;
	perms = NULL;
	rc = 0;
out:
	free(perms);
	free(xs_perms);
	return rc;
}

static int xen_xs_set_perms(struct hv *hv, hv_xs_txn txn, const char *path,
			    const struct hv_xs_perm *perms, unsigned int nr_perms)
{
	struct hv_xen *xen = to_xen(hv);
	struct xs_permissions *xs_perms = NULL;
	unsigned int i;
	int rc;

	/* xenstore needs at least the owner entry. */
	if (nr_perms == 0 || !perms) {
		rc = -EINVAL;
		goto out;
	}
	if (nr_perms > XENSTORE_PAYLOAD_MAX / XEN_XS_PERM_MIN_WIRE_BYTES) {
		rc = -E2BIG;
		goto out;
	}

	xs_perms = calloc(nr_perms, sizeof(*xs_perms));
	if (!xs_perms) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr_perms; i++) {
		rc = hv_xen_perm_to_xs(perms[i].perm, &xs_perms[i].perms);
		if (rc)
			goto out;
		xs_perms[i].id = perms[i].domid;
	}

	errno = 0;
	if (!xs_set_permissions(xen->xsh, txn, path, xs_perms, nr_perms)) {
		rc = hv_xen_xs_errno(errno);
		goto out;
	}
	rc = 0;
out:
	free(xs_perms);
	return rc;
}

static int xen_xs_domain_path(struct hv *hv, uint32_t domid, char **ret_path)
{
	struct hv_xen *xen = to_xen(hv);
	char *path;

	errno = 0;
	path = xs_get_domain_path(xen->xsh, domid);
	if (!path)
		return hv_xen_xs_errno(errno);

	*ret_path = path;
	return 0;
}

static int xen_xs_watch(struct hv *hv, const char *path, const char *token)
{
	struct hv_xen *xen = to_xen(hv);

	errno = 0;
	if (!xs_watch(xen->xsh_watch, path, token))
		return hv_xen_xs_errno(errno);
	return 0;
}

static int xen_xs_unwatch(struct hv *hv, const char *path, const char *token)
{
	struct hv_xen *xen = to_xen(hv);

	errno = 0;
	if (!xs_unwatch(xen->xsh_watch, path, token))
		return hv_xen_xs_errno(errno);
	return 0;
}

static int xen_xs_watch_fd(struct hv *hv)
{
	struct hv_xen *xen = to_xen(hv);
	int fd;

	/* The fd (a pipe libxenstore creates on first use) stays the handle's. */
	errno = 0;
	fd = xs_fileno(xen->xsh_watch);
	if (fd < 0)
		return hv_xen_xs_errno(errno);
	return fd;
}

static int xen_xs_read_watch(struct hv *hv, char **ret_path, char **ret_token)
{
	struct hv_xen *xen = to_xen(hv);
	char **event = NULL;
	char *path = NULL, *token = NULL;
	int rc;

	errno = 0;
	event = xs_check_watch(xen->xsh_watch);
	if (!event) {
		/*
		 * EAGAIN: nothing queued. EINVAL: the queue is empty and
		 * libxenstore's reader thread has closed the connection, so no
		 * event will ever come: report that, not a bad argument.
		 */
		rc = errno == EINVAL ? -ENOTCONN : hv_xen_xs_errno(errno);
		goto out;
	}

	/* One block from libxenstore; the contract wants two strings. */
	path = strdup(event[XS_WATCH_PATH]);
	token = strdup(event[XS_WATCH_TOKEN]);
	if (!path || !token) {
		/* The event is lost; watchers re-read the node, as on registration. */
		rc = -ENOMEM;
		goto out;
	}

	*ret_path = path;
	*ret_token = token;
	path = NULL;
	token = NULL;
	rc = 0;
out:
	free(token);
	free(path);
	free(event);
	return rc;
}

static const struct hv_ops xen_ops = {
	.name = "xen",
	.close = xen_close,
	.physinfo = xen_physinfo,
	.domain_info = xen_domain_info,
	.domain_list = xen_domain_list,
	.set_max_mem = xen_set_max_mem,
	.get_p2m_pool = xen_get_p2m_pool,
	.set_p2m_pool = xen_set_p2m_pool,
	.populate = xen_populate,
	.decrease = xen_decrease,
	.xs_txn_start = xen_xs_txn_start,
	.xs_txn_end = xen_xs_txn_end,
	.xs_read = xen_xs_read,
	.xs_write = xen_xs_write,
	.xs_mkdir = xen_xs_mkdir,
	.xs_rm = xen_xs_rm,
	.xs_directory = xen_xs_directory,
	.xs_get_perms = xen_xs_get_perms,
	.xs_set_perms = xen_xs_set_perms,
	.xs_domain_path = xen_xs_domain_path,
	.xs_watch = xen_xs_watch,
	.xs_unwatch = xen_xs_unwatch,
	.xs_watch_fd = xen_xs_watch_fd,
	.xs_read_watch = xen_xs_read_watch,
};

/*
 * Open libxenctrl, then libxenstore's two connections. On a host without Xen (no privcmd
 * device) the first step fails with libxencall's errno, normally -ENOENT.
 * Note that libxenstore falls back to the xenbus device when xenstored's
 * socket is absent, so this succeeds in a dom0 whose xenstored has not
 * started yet; requests then wait for it.
 */
#ifdef HOTMEM_HV_XEN_EXPORT
/* The one symbol the module (hv-xen.so) exports. */
__attribute__((visibility("default")))
#endif
int hv_xen_open(struct hv **ret_hv)
{
	struct hv_xen *xen;
	int rc;

	xen = calloc(1, sizeof(*xen));
	if (!xen)
		return -ENOMEM;
	xen->hv.ops = &xen_ops;

	errno = 0;
	xen->xch = xc_interface_open(&quiet_logger, &quiet_logger, 0);
	if (!xen->xch) {
		rc = hv_xen_errno(errno);
		goto out;
	}

	errno = 0;
	xen->xsh = xs_open(0);
	if (!xen->xsh) {
		rc = hv_xen_xs_errno(errno);
		goto out;
	}

	errno = 0;
	xen->xsh_watch = xs_open(0);
	if (!xen->xsh_watch) {
		rc = hv_xen_xs_errno(errno);
		goto out;
	}

	*ret_hv = &xen->hv;
	xen = NULL;
	rc = 0;
out:
	if (xen)
		xen_close(&xen->hv);
	return rc;
}
