/*
 * hotmem-lab-mem: the few dom0 memory operations the lab's driver scenario
 * needs before the toolstack's own grow/shrink exists, done through the real
 * Xen backend (hotmem_hv_xen): show a domain's frame counts, raise its
 * maximum, populate or give back a guest-physical range in extents of a
 * given order. One line on stderr and exit 1 on failure, xl style.
 *
 *   hotmem-lab-mem DOMID info                    tot_pages=N max_pages=M free_pages=F
 *                                                (F: Xen's free host frames)
 *   hotmem-lab-mem DOMID maxmem KIB              xc_domain_setmaxmem
 *   hotmem-lab-mem DOMID p2m BYTES               raise the Arm P2M pool to BYTES
 *                                                (never lowers it; prints p2m_bytes=)
 *   hotmem-lab-mem DOMID populate GPA BYTES ORDER
 *   hotmem-lab-mem DOMID decrease GPA BYTES ORDER
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotmem/hv.h"

static int parse_u64(const char *text, uint64_t *ret_value)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(text, &end, 0);
	if (errno || end == text || *end || text[0] == '-')
		return -EINVAL;
	*ret_value = value;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* populate or decrease [gpa, gpa + bytes) in extents of 2^order 4 KiB pages. */
static int memop(struct hv *hv, uint32_t domid, bool populate, uint64_t gpa, uint64_t bytes,
		 unsigned int order)
{
	const uint64_t extent_bytes = HV_PAGE_SIZE << order;
	size_t nr = bytes / extent_bytes, done = 0, i;
	uint64_t *gfns;
	double t0;
	int rc;

	if (order > 18 || !nr || gpa % extent_bytes || bytes % extent_bytes) {
		fprintf(stderr,
			"hotmem-lab-mem: range %#" PRIx64 "+%#" PRIx64
			" is not made of order-%u extents\n",
			gpa, bytes, order);
		return -EINVAL;
	}
	gfns = calloc(nr, sizeof(*gfns));
	if (!gfns)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		gfns[i] = (gpa >> HV_PAGE_SHIFT) + (i << order);
	t0 = now_ms();
	if (populate)
		rc = hv->ops->populate(hv, domid, order, gfns, nr, &done);
	else
		rc = hv->ops->decrease(hv, domid, order, gfns, nr, &done);
	if (rc)
		fprintf(stderr, "hotmem-lab-mem: %s d%u: %zu of %zu extents done: %s\n",
			populate ? "populate" : "decrease", domid, done, nr, strerror(-rc));
	else
		printf("%s %zu extents of order %u (%" PRIu64 " KiB) in %.1f ms\n",
		       populate ? "populated" : "decreased", nr, order, bytes >> 10, now_ms() - t0);
	free(gfns);
	return rc;
}

int main(int argc, char **argv)
{
	struct hv_domain_info info;
	struct hv_physinfo phys;
	uint64_t pool;
	uint64_t domid, a = 0, b = 0, order = 0;
	struct hv *hv = NULL;
	const char *cmd;
	int rc;

	if (argc < 3 || parse_u64(argv[1], &domid) || domid > 0x7fef) {
		fprintf(stderr, "usage: hotmem-lab-mem DOMID info|maxmem KIB|p2m BYTES|populate "
				"GPA BYTES ORDER|"
				"decrease GPA BYTES ORDER\n");
		return 2;
	}
	cmd = argv[2];
	if (((!strcmp(cmd, "maxmem") || !strcmp(cmd, "p2m")) &&
	     (argc != 4 || parse_u64(argv[3], &a))) ||
	    ((!strcmp(cmd, "populate") || !strcmp(cmd, "decrease")) &&
	     (argc != 6 || parse_u64(argv[3], &a) || parse_u64(argv[4], &b) ||
	      parse_u64(argv[5], &order))) ||
	    (!strcmp(cmd, "info") && argc != 3)) {
		fprintf(stderr, "hotmem-lab-mem: bad arguments for %s\n", cmd);
		return 2;
	}
	rc = hv_xen_open(&hv);
	if (rc) {
		fprintf(stderr, "hotmem-lab-mem: cannot open Xen: %s\n", strerror(-rc));
		return 1;
	}
	if (!strcmp(cmd, "info")) {
		rc = hv->ops->domain_info(hv, (uint32_t)domid, &info);
		if (!rc)
			rc = hv->ops->physinfo(hv, &phys);
		if (!rc)
			printf("tot_pages=%" PRIu64 " max_pages=%" PRIu64 " free_pages=%" PRIu64
			       "\n",
			       info.tot_pages, info.max_pages, phys.free_pages);
	} else if (!strcmp(cmd, "p2m")) {
		rc = hv->ops->get_p2m_pool(hv, (uint32_t)domid, &pool);
		if (!rc && pool < a) {
			rc = hv->ops->set_p2m_pool(hv, (uint32_t)domid, a);
			pool = a;
		}
		if (!rc)
			printf("p2m_bytes=%" PRIu64 "\n", pool);
	} else if (!strcmp(cmd, "maxmem")) {
		rc = hv->ops->set_max_mem(hv, (uint32_t)domid, a);
	} else if (!strcmp(cmd, "populate") || !strcmp(cmd, "decrease")) {
		rc = memop(hv, (uint32_t)domid, !strcmp(cmd, "populate"), a, b,
			   (unsigned int)order);
	} else {
		fprintf(stderr, "hotmem-lab-mem: unknown command %s\n", cmd);
		rc = -EINVAL;
	}
	if (rc && strcmp(cmd, "populate") && strcmp(cmd, "decrease"))
		fprintf(stderr, "hotmem-lab-mem: %s d%" PRIu64 ": %s\n", cmd, domid, strerror(-rc));
	hv_close(hv);
	return rc ? 1 : 0;
}
