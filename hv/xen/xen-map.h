/*
 * Pure translations between what libxenctrl and libxenstore report and what
 * struct hv_ops promises: errno values, xenstore permission bits, argument
 * checks that keep a 32-bit domid or a bad extent from being silently
 * truncated by the 16-bit hypercall fields, and the reading of a memory op's
 * "extents done" count. Private to the xen backend; kept apart from xen.c and
 * free of any libxc/libxs call so tests/unit/test_hv_xen.c can check every
 * case as a table on a host without Xen.
 */
#ifndef HOTMEM_HV_XEN_MAP_H
#define HOTMEM_HV_XEN_MAP_H

#include <stddef.h>
#include <stdint.h>

#include <hotmem/hv.h>

/*
 * The largest extent order hv_xen_check_extents() accepts: an extent must
 * still be addressable in 64 bits (2^52 frames of 4 KiB). Xen enforces its
 * own, much smaller, per-domain limit (memop-max-order) on top of this.
 */
#define HV_XEN_MAX_EXTENT_ORDER (64 - HV_PAGE_SHIFT - 1)

/* Frames beyond this cannot be expressed as a 64-bit guest physical address. */
#define HV_XEN_GFN_LIMIT (1ULL << (64 - HV_PAGE_SHIFT))

/* Negative errno for an errno libxc/libxs left behind; -EIO if they left 0. */
int hv_xen_errno(int err);

/*
 * Same for a libxenstore failure, except that EBADF (libxenstore closed its
 * connection after a transport or protocol error; every later request fails)
 * becomes -ENOTCONN, so callers can tell "reopen the handle" from a bug.
 */
int hv_xen_xs_errno(int err);

/* XS_PERM_* bits to our permission kind; bits other than READ/WRITE are dropped. */
enum hv_xs_perm_kind hv_xen_perm_from_xs(unsigned int xs_bits);

/* Our permission kind to XS_PERM_* bits; -EINVAL for a value outside the enum. */
int hv_xen_perm_to_xs(enum hv_xs_perm_kind kind, unsigned int *ret_bits);

/*
 * 0 if domid can name an ordinary domain; -EINVAL for DOMID_FIRST_RESERVED
 * and above, which libxc would otherwise truncate to 16 bits or send as one
 * of the special ids (DOMID_SELF, DOMID_IO, ...).
 */
int hv_xen_check_domid(uint32_t domid);

/*
 * 0 if nr_extents extents of 2^extent_order frames at gfns are well formed:
 * order at most HV_XEN_MAX_EXTENT_ORDER, every GFN aligned to its extent and
 * the whole extent below HV_XEN_GFN_LIMIT; -EINVAL otherwise (also for a NULL
 * gfns with nr_extents != 0). nr_extents == 0 is well formed.
 */
int hv_xen_check_extents(unsigned int extent_order, const uint64_t *gfns, size_t nr_extents);

/*
 * Read the result of xc_domain_populate_physmap()/_decrease_reservation()
 * for a batch of `asked` extents: rc < 0 is a failed call (errno in err),
 * else rc is the number of leading extents Xen did. Returns 0 when all were
 * done, -short_errno when Xen stopped early (it does not say why), the call's
 * negative errno when it failed, -EIO when Xen claims more than was asked.
 * *ret_done is always set: the extents Xen reports done, 0 for a failed call,
 * `asked` when it claims more (everything asked was then done at least).
 */
int hv_xen_memop_result(long rc, size_t asked, int err, int short_errno, size_t *ret_done);

#endif /* HOTMEM_HV_XEN_MAP_H */
