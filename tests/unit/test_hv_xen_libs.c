/*
 * The real Xen backend (hv/xen/xen.c) driven through fake libxenctrl and
 * libxenstore entry points: this program defines xc_interface_open,
 * xs_open, xs_read, xc_domain_populate_physmap and the few others it needs,
 * so the linker binds xen.c to them instead of the real libraries, and the
 * backend runs on any host. It checks what only running xen.c shows: the
 * optional out-parameters hv.h allows (xs_read's ret_len may be NULL, as
 * the control layer and the engine pass it; the backend once wrote through
 * it and every xl-hotmem domain command segfaulted in a real dom0), the
 * errno a failed read returns, a populate Xen stops short (partial count
 * kept, -ENOMEM while the domain lives, -ESRCH once it is dying), and that
 * requests never go to the xenstore handle that watches.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>
#include <xenstore.h>

#include <hotmem/hv.h>

#include "check.h"

/* What the fakes answer; set per test. */
static struct {
	const char *value;	   /* xs_read: value, NULL = fail with read_errno */
	int read_errno;		   /* xs_read's errno when value is NULL */
	unsigned long populate_ok; /* extents populate accepts per call */
	bool dying;		   /* getinfolist reports the domain dying */
	unsigned int reads, populates;
} fake;

/* Any non-NULL address serves as a handle: the fakes never look inside. */
static char fake_xc_handle, fake_xs_handles[2];
static unsigned int xs_opened;
/* Which handle the last read went to; which one was ever given a watch. */
static struct xs_handle *last_read_handle, *watched_handle;

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
				unsigned open_flags)
{
	return (xc_interface *)&fake_xc_handle;
}

int xc_interface_close(xc_interface *xch)
{
	return 0;
}

struct xs_handle *xs_open(unsigned long flags)
{
	return (struct xs_handle *)&fake_xs_handles[xs_opened++ % 2];
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	watched_handle = h;
	return true;
}

void xs_close(struct xs_handle *xsh)
{
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
	char *copy;

	fake.reads++;
	last_read_handle = h;
	if (!fake.value) {
		errno = fake.read_errno;
		return NULL;
	}
	copy = strdup(fake.value);
	if (copy && len)
		*len = (unsigned int)strlen(fake.value);
	return copy;
}

int xc_domain_populate_physmap(xc_interface *xch, uint32_t domid, unsigned long nr_extents,
			       unsigned int extent_order, unsigned int mem_flags,
			       xen_pfn_t *extent_start)
{
	fake.populates++;
	return (int)(nr_extents < fake.populate_ok ? nr_extents : fake.populate_ok);
}

int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains,
			  xc_domaininfo_t *info)
{
	memset(info, 0, sizeof(*info));
	info->domain = (domid_t)first_domain;
	info->flags = fake.dying ? XEN_DOMINF_dying : 0;
	return 1;
}

static void test_xs_read(struct hv *hv)
{
	char *value = NULL;
	size_t len = 99;

	/* With a length, as the engine's guest reads want it. */
	fake.value = "0x8000000";
	CHECK_EQ(hv->ops->xs_read(hv, HV_XS_NO_TXN, "/local/domain/1/name", &value, &len), 0);
	CHECK(value && !strcmp(value, "0x8000000"));
	CHECK_EQ(len, 9);
	free(value);

	/* Without: ctl_domain_name() and the engine's journal reads pass NULL. */
	value = NULL;
	fake.value = "guest";
	CHECK_EQ(hv->ops->xs_read(hv, HV_XS_NO_TXN, "/local/domain/1/name", &value, NULL), 0);
	CHECK(value && !strcmp(value, "guest"));
	free(value);

	/* A missing node: -ENOENT, *ret_value untouched. */
	value = NULL;
	fake.value = NULL;
	fake.read_errno = ENOENT;
	CHECK_EQ(hv->ops->xs_read(hv, HV_XS_NO_TXN, "/nope", &value, NULL), -ENOENT);
	CHECK(value == NULL);
	CHECK_EQ(fake.reads, 3);
}

/*
 * libxenstore gives a handle a reader thread at its first watch, and every
 * later request on it then waits for that thread: requests must go to a
 * handle that never watched.
 */
static void test_requests_not_on_the_watch_handle(struct hv *hv)
{
	char *value = NULL;

	CHECK_EQ(hv->ops->xs_watch(hv, "/local/domain/1/hotmem/guest", "hotmem:1"), 0);
	fake.value = "x";
	CHECK_EQ(hv->ops->xs_read(hv, HV_XS_NO_TXN, "/local/domain/1/name", &value, NULL), 0);
	free(value);
	CHECK(watched_handle != NULL && last_read_handle != NULL);
	CHECK(last_read_handle != watched_handle);
}

static void test_populate_short(struct hv *hv)
{
	uint64_t gfns[8];
	size_t done = 99;

	for (unsigned int i = 0; i < 8; i++)
		gfns[i] = 0x50000 + i * 512;
	/* Xen stops after 3 extents of a live domain: out of memory, 3 kept. */
	fake.populate_ok = 3;
	fake.dying = false;
	CHECK_EQ(hv->ops->populate(hv, 1, 9, gfns, 8, &done), -ENOMEM);
	CHECK_EQ(done, 3);
	/* The same stop for a dying domain says so. */
	fake.dying = true;
	CHECK_EQ(hv->ops->populate(hv, 1, 9, gfns, 8, &done), -ESRCH);
	CHECK_EQ(done, 3);
	/* All of it. */
	fake.populate_ok = 8;
	fake.dying = false;
	CHECK_EQ(hv->ops->populate(hv, 1, 9, gfns, 8, &done), 0);
	CHECK_EQ(done, 8);
}

int main(void)
{
	struct hv *hv = NULL;

	CHECK_EQ(hv_xen_open(&hv), 0);
	if (!hv)
		return check_exit("test_hv_xen_libs");
	test_xs_read(hv);
	test_requests_not_on_the_watch_handle(hv);
	test_populate_short(hv);
	hv_close(hv);
	return check_exit("test_hv_xen_libs");
}
