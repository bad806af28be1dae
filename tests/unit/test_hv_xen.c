/*
 * Tests of the real Xen backend (hv/xen). On every host: the pure
 * translations of hv/xen/xen-map.c as tables (errno mapping, xenstore
 * permission bits, domid and extent checks, reading a memory op's count), and,
 * where Xen is absent, that hv_xen_open() fails with a negative errno, leaves
 * *ret_hv untouched and writes nothing to stderr (LeakSanitizer, in sanitizer
 * builds, adds "and leaks nothing"). In a dom0 (a privcmd device exists) it
 * instead opens the backend and reads physinfo, dom0's info and the domain
 * list through libxenctrl only, so a missing xenstored cannot hang it; it
 * exits 77 (skipped) there if it lacks the privilege to open.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hotmem/hv.h>

#include "check.h"
#include "xen-map.h"

/*
 * libxenstore's permission bits (XS_PERM_* in xenstore_lib.h, a fixed part of
 * its ABI), written out so this test needs no Xen header: the backend's
 * headers are private to it, and a cross build must not pick up the host's.
 */
#define XS_PERM_NONE	  0x00
#define XS_PERM_READ	  0x01
#define XS_PERM_WRITE	  0x02
#define XS_PERM_ENOENT_OK 0x04
#define XS_PERM_OWNER	  0x08
#define XS_PERM_IGNORE	  0x10

/* First domid Xen reserves (DOMID_FIRST_RESERVED in xen/xen.h). */
#define TEST_DOMID_FIRST_RESERVED 0x7FF0U

/* An ordinary domid no lab configuration ever reaches. */
#define TEST_DOMID_ABSENT 0x7FEFU

static void test_errno(void)
{
	static const struct {
		int err;
		int want;
	} cases[] = {
		{ ENOENT, -ENOENT }, /* no privcmd: not in a Xen domain */
		{ EPERM, -EPERM },   /* not privileged */
		{ ESRCH, -ESRCH },   /* no such domain */
		{ EBADF, -EBADF },   /* only libxenstore's EBADF means "disconnected" */
		{ 0, -EIO },	     /* failed without errno: never -0 */
		{ -5, -EIO },	     /* a library that set a negative errno: still failure */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_EQ(hv_xen_errno(cases[i].err), cases[i].want);
}

static void test_xs_errno(void)
{
	static const struct {
		int err;
		int want;
	} cases[] = {
		{ EBADF, -ENOTCONN }, /* libxenstore closed its connection */
		{ EAGAIN, -EAGAIN },  /* transaction conflict */
		{ ENOENT, -ENOENT },  /* no such node */
		{ EACCES, -EACCES },  /* node permissions */
		{ E2BIG, -E2BIG },    /* request over XENSTORE_PAYLOAD_MAX */
		{ 0, -EIO },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_EQ(hv_xen_xs_errno(cases[i].err), cases[i].want);
}

static void test_perms(void)
{
	static const struct {
		unsigned int xs_bits;
		enum hv_xs_perm_kind want;
	} from_xs[] = {
		{ XS_PERM_NONE, HV_XS_PERM_NONE },
		{ XS_PERM_READ, HV_XS_PERM_READ },
		{ XS_PERM_WRITE, HV_XS_PERM_WRITE },
		{ XS_PERM_READ | XS_PERM_WRITE, HV_XS_PERM_BOTH },
		/* xenstored's bookkeeping bits are not grants. */
		{ XS_PERM_OWNER | XS_PERM_READ, HV_XS_PERM_READ },
		{ XS_PERM_IGNORE | XS_PERM_WRITE, HV_XS_PERM_WRITE },
		{ XS_PERM_ENOENT_OK, HV_XS_PERM_NONE },
		{ ~0U, HV_XS_PERM_BOTH },
	};
	static const struct {
		enum hv_xs_perm_kind kind;
		int want_rc;
		unsigned int want_bits;
	} to_xs[] = {
		{ HV_XS_PERM_NONE, 0, XS_PERM_NONE },
		{ HV_XS_PERM_READ, 0, XS_PERM_READ },
		{ HV_XS_PERM_WRITE, 0, XS_PERM_WRITE },
		{ HV_XS_PERM_BOTH, 0, XS_PERM_READ | XS_PERM_WRITE },
		{ (enum hv_xs_perm_kind)4, -EINVAL, 0 },
		{ (enum hv_xs_perm_kind) - 1, -EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(from_xs) / sizeof(from_xs[0]); i++)
		CHECK_EQ(hv_xen_perm_from_xs(from_xs[i].xs_bits), from_xs[i].want);

	for (i = 0; i < sizeof(to_xs) / sizeof(to_xs[0]); i++) {
		unsigned int bits = 0xdead; /* must survive a failure */
		int rc = hv_xen_perm_to_xs(to_xs[i].kind, &bits);

		CHECK_EQ(rc, to_xs[i].want_rc);
		CHECK_EQ(bits, rc ? 0xdeadU : to_xs[i].want_bits);
	}
}

static void test_check_domid(void)
{
	CHECK_EQ(hv_xen_check_domid(0), 0);
	CHECK_EQ(hv_xen_check_domid(1), 0);
	CHECK_EQ(hv_xen_check_domid(TEST_DOMID_FIRST_RESERVED - 1), 0);
	CHECK_EQ(hv_xen_check_domid(TEST_DOMID_FIRST_RESERVED), -EINVAL); /* DOMID_SELF */
	CHECK_EQ(hv_xen_check_domid(0x7FF2), -EINVAL);			  /* DOMID_XEN */
	CHECK_EQ(hv_xen_check_domid(0xFFFF), -EINVAL);
	CHECK_EQ(hv_xen_check_domid(0x10001), -EINVAL); /* libxc would send 1 */
	CHECK_EQ(hv_xen_check_domid(UINT32_MAX), -EINVAL);
}

static void test_check_extents(void)
{
	static const uint64_t order9_ok[] = { 0x50000, 0x50200, 0x200000 };
	static const uint64_t order9_bad_middle[] = { 0x50000, 0x50201, 0x50400 };
	static const struct {
		unsigned int order;
		uint64_t gfn;
		int want;
	} cases[] = {
		{ 0, 0, 0 },
		{ 0, 0x50000, 0 },
		{ 9, 0x50000, 0 },	 /* 2 MiB at 0x50000000, as in the lab */
		{ 9, 0x50001, -EINVAL }, /* not aligned to its extent */
		{ 9, 0x50100, -EINVAL },
		{ 18, 0x40000, 0 }, /* 1 GiB at 1 GiB */
		{ 18, 0x50000, -EINVAL },
		{ 0, HV_XEN_GFN_LIMIT - 1, 0 },
		{ 0, HV_XEN_GFN_LIMIT, -EINVAL },
		{ 0, UINT64_MAX, -EINVAL },
		{ 9, UINT64_MAX & ~511ULL, -EINVAL }, /* end would wrap around */
		{ 9, HV_XEN_GFN_LIMIT - 512, 0 },
		{ HV_XEN_MAX_EXTENT_ORDER, 0, 0 },
		{ HV_XEN_MAX_EXTENT_ORDER, 1ULL << HV_XEN_MAX_EXTENT_ORDER, 0 },
		{ HV_XEN_MAX_EXTENT_ORDER + 1, 0, -EINVAL },
		{ 63, 0, -EINVAL },
		{ 64, 0, -EINVAL }, /* a shift by 64 would be undefined */
		{ UINT32_MAX, 0, -EINVAL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = hv_xen_check_extents(cases[i].order, &cases[i].gfn, 1);

		if (rc != cases[i].want)
			fprintf(stderr, "case %zu: order %u gfn %#llx\n", i, cases[i].order,
				(unsigned long long)cases[i].gfn);
		CHECK_EQ(rc, cases[i].want);
	}

	CHECK_EQ(hv_xen_check_extents(9, order9_ok, 3), 0);
	CHECK_EQ(hv_xen_check_extents(9, order9_bad_middle, 3), -EINVAL);
	CHECK_EQ(hv_xen_check_extents(9, order9_bad_middle, 1), 0); /* only the first looked at */
	CHECK_EQ(hv_xen_check_extents(0, NULL, 0), 0);
	CHECK_EQ(hv_xen_check_extents(0, NULL, 1), -EINVAL);
	CHECK_EQ(hv_xen_check_extents(64, NULL, 0), -EINVAL); /* order checked even when empty */
}

static void test_memop_result(void)
{
	static const struct {
		long rc;
		size_t asked;
		int err;
		int short_errno;
		int want;
		size_t want_done;
	} cases[] = {
		{ 8, 8, 0, ENOMEM, 0, 8 },	     /* all done */
		{ 0, 0, 0, ENOMEM, 0, 0 },	     /* nothing asked */
		{ 3, 8, 0, ENOMEM, -ENOMEM, 3 },     /* populate stopped early */
		{ 0, 8, 0, EINVAL, -EINVAL, 0 },     /* decrease stopped at once */
		{ 7, 8, EPERM, ENOMEM, -ENOMEM, 7 }, /* stale errno ignored on a count */
		{ -1, 8, EPERM, ENOMEM, -EPERM, 0 }, /* the call failed */
		{ -1, 8, EFAULT, ENOMEM, -EFAULT, 0 },
		{ -1, 8, 0, ENOMEM, -EIO, 0 }, /* failed without errno: never -0 */
		{ -22, 8, EINVAL, ENOMEM, -EINVAL, 0 },
		{ 9, 8, 0, ENOMEM, -EIO, 8 }, /* Xen claims more than asked */
		{ 4096, 4096, 0, EINVAL, 0, 4096 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t done = 12345;
		int rc = hv_xen_memop_result(cases[i].rc, cases[i].asked, cases[i].err,
					     cases[i].short_errno, &done);

		if (rc != cases[i].want || done != cases[i].want_done)
			fprintf(stderr, "case %zu: rc %ld asked %zu\n", i, cases[i].rc,
				cases[i].asked);
		CHECK_EQ(rc, cases[i].want);
		CHECK_EQ(done, cases[i].want_done);
	}
}

/*
 * Point fd 2 at a temporary file so the test can see whether the backend
 * wrote anything; returns the saved descriptor, or -1 if it cannot capture.
 */
static int stderr_capture_begin(FILE **ret_tmp)
{
	FILE *tmp;
	int saved_fd;

	fflush(stderr);
	tmp = tmpfile();
	if (!tmp)
		return -1;
	saved_fd = dup(STDERR_FILENO);
	if (saved_fd < 0 || dup2(fileno(tmp), STDERR_FILENO) < 0) {
		if (saved_fd >= 0)
			close(saved_fd);
		fclose(tmp);
		return -1;
	}
	*ret_tmp = tmp;
	return saved_fd;
}

/* Restore fd 2; returns the bytes written meanwhile and echoes them. */
static long stderr_capture_end(FILE *tmp, int saved_fd)
{
	char line[256];
	long written;

	fflush(stderr);
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);

	written = ftell(tmp);
	rewind(tmp);
	while (fgets(line, sizeof(line), tmp))
		fprintf(stderr, "captured stderr: %s", line);
	fclose(tmp);
	return written;
}

static void test_open_without_xen(void)
{
	struct hv *const sentinel = (struct hv *)&check_failures;
	int attempt;

	/* Several times: a leak per attempt is then plain in LeakSanitizer's report. */
	for (attempt = 0; attempt < 3; attempt++) {
		struct hv *hv = sentinel;
		FILE *tmp = NULL;
		int saved_fd, rc;
		long written;

		saved_fd = stderr_capture_begin(&tmp);
		rc = hv_xen_open(&hv);
		if (saved_fd >= 0) {
			written = stderr_capture_end(tmp, saved_fd);
			CHECK_EQ(written, 0); /* libraries do not log */
		}

		if (attempt == 0)
			printf("hv_xen_open without Xen: %d (%s)\n", rc, strerror(-rc));
		CHECK(rc < 0);
		CHECK(rc >= -4095);
		CHECK(hv == sentinel);
		if (rc == 0)
			hv_close(hv);
	}
}

/* In a dom0: 0 when run, 77 when not privileged enough to open. */
static int test_open_on_xen(void)
{
	struct hv_domain_info info = { .domid = 0xdead };
	struct hv_physinfo phys = { 0 };
	uint32_t domids[8];
	size_t nr_domids = 0;
	struct hv *hv = NULL;
	int rc;

	rc = hv_xen_open(&hv);
	if (rc == -EACCES || rc == -EPERM) {
		printf("hv_xen_open: %s: skipped (run as root in dom0)\n", strerror(-rc));
		return 77;
	}
	CHECK_EQ(rc, 0);
	if (rc)
		return 0;
	CHECK_STREQ(hv->ops->name, "xen");

	CHECK_EQ(hv->ops->physinfo(hv, &phys), 0);
	CHECK(phys.total_pages > 0);
	CHECK(phys.free_pages <= phys.total_pages);
	printf("physinfo: %llu pages, %llu free\n", (unsigned long long)phys.total_pages,
	       (unsigned long long)phys.free_pages);

	CHECK_EQ(hv->ops->domain_info(hv, 0, &info), 0);
	CHECK_EQ(info.domid, 0);
	CHECK(info.tot_pages > 0);
	CHECK(!info.dying);
	printf("dom0: %llu pages, max %llu\n", (unsigned long long)info.tot_pages,
	       (unsigned long long)info.max_pages);

	/* Xen would answer with the next domain; the backend must not. */
	info.domid = 0xdead;
	CHECK_EQ(hv->ops->domain_info(hv, TEST_DOMID_ABSENT, &info), -ESRCH);
	CHECK_EQ(info.domid, 0xdead);
	CHECK_EQ(hv->ops->domain_info(hv, TEST_DOMID_FIRST_RESERVED, &info), -EINVAL);
	CHECK_EQ(info.domid, 0xdead);

	CHECK_EQ(hv->ops->domain_list(hv, domids, 8, &nr_domids), 0);
	CHECK(nr_domids >= 1);
	if (nr_domids >= 1)
		CHECK_EQ(domids[0], 0);

	hv_close(hv);
	return 0;
}

int main(void)
{
	int rc = 0;

	test_errno();
	test_xs_errno();
	test_perms();
	test_check_domid();
	test_check_extents();
	test_memop_result();

	/* libxencall tries these two, in this order. */
	if (access("/dev/xen/privcmd", F_OK) == 0 || access("/proc/xen/privcmd", F_OK) == 0)
		rc = test_open_on_xen();
	else
		test_open_without_xen();

	if (rc == 77 && !check_failures)
		return 77;
	return check_exit("test_hv_xen");
}
