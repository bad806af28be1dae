/*
 * The xen backend's pure translations (see xen-map.h): errno values left by
 * libxenctrl and libxenstore to the negative errno struct hv_ops returns,
 * xenstore permission bits to enum hv_xs_perm_kind and back, and the argument
 * and result checks around the memory hypercalls. Nothing here calls into Xen,
 * so the unit test runs every case on any host.
 */
#include <errno.h>
#include <stdint.h> /* Xen's public headers expect the includer to provide it */

#include <xen/xen.h>
#include <xenstore_lib.h>

#include "xen-map.h"

/* Our enum is defined as xenstore's bit values; the switches below rely on it. */
_Static_assert(HV_XS_PERM_READ == XS_PERM_READ, "HV_XS_PERM_READ must be XS_PERM_READ");
_Static_assert(HV_XS_PERM_WRITE == XS_PERM_WRITE, "HV_XS_PERM_WRITE must be XS_PERM_WRITE");

int hv_xen_errno(int err)
{
	/* A library that failed without setting errno still failed: never -0. */
	if (err <= 0)
		return -EIO;
	return -err;
}

int hv_xen_xs_errno(int err)
{
	/*
	 * libxenstore answers EBADF only once it has closed its own socket (a
	 * short write, a reply of the wrong type, the reader thread hitting
	 * EOF); the handle is dead from then on.
	 */
	if (err == EBADF)
		return -ENOTCONN;
	return hv_xen_errno(err);
}

enum hv_xs_perm_kind hv_xen_perm_from_xs(unsigned int xs_bits)
{
	/* OWNER, IGNORE and ENOENT_OK are xenstored's own bookkeeping, not grants. */
	switch (xs_bits & (XS_PERM_READ | XS_PERM_WRITE)) {
	case XS_PERM_READ:
		return HV_XS_PERM_READ;
	case XS_PERM_WRITE:
		return HV_XS_PERM_WRITE;
	case XS_PERM_READ | XS_PERM_WRITE:
		return HV_XS_PERM_BOTH;
	default:
		return HV_XS_PERM_NONE;
	}
}

int hv_xen_perm_to_xs(enum hv_xs_perm_kind kind, unsigned int *ret_bits)
{
	unsigned int xs_bits;

	switch (kind) {
	case HV_XS_PERM_NONE:
		xs_bits = XS_PERM_NONE;
		break;
	case HV_XS_PERM_READ:
		xs_bits = XS_PERM_READ;
		break;
	case HV_XS_PERM_WRITE:
		xs_bits = XS_PERM_WRITE;
		break;
	case HV_XS_PERM_BOTH:
		xs_bits = XS_PERM_READ | XS_PERM_WRITE;
		break;
	default:
		return -EINVAL;
	}

	*ret_bits = xs_bits;
	return 0;
}

int hv_xen_check_domid(uint32_t domid)
{
	if (domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	return 0;
}

int hv_xen_check_extents(unsigned int extent_order, const uint64_t *gfns, size_t nr_extents)
{
	uint64_t extent_frames;
	size_t i;

	if (extent_order > HV_XEN_MAX_EXTENT_ORDER)
		return -EINVAL;
	if (nr_extents && !gfns)
		return -EINVAL;

	extent_frames = 1ULL << extent_order;
	for (i = 0; i < nr_extents; i++) {
		if (gfns[i] & (extent_frames - 1))
			return -EINVAL;
		/* Written so that it cannot overflow: gfns[i] may be anything. */
		if (gfns[i] >= HV_XEN_GFN_LIMIT || HV_XEN_GFN_LIMIT - gfns[i] < extent_frames)
			return -EINVAL;
	}
	return 0;
}

int hv_xen_memop_result(long rc, size_t asked, int err, int short_errno, size_t *ret_done)
{
	if (rc < 0) {
		*ret_done = 0;
		return hv_xen_errno(err);
	}
	if ((unsigned long)rc > asked) {
		*ret_done = asked;
		return -EIO;
	}

	*ret_done = (size_t)rc;
	if ((size_t)rc < asked)
		return hv_xen_errno(short_errno);
	return 0;
}
