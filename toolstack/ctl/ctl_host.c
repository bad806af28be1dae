/*
 * Opening what a request runs against (see ctl.h, struct ctl_host): the
 * backend (Xen through the program's open_xen, or another through its
 * ctl_backend_ops), the engine on it, and the reconcile that settles what a
 * previous engine left before anything else runs. hotmemd and the
 * in-process xl-hotmem both start this way; the engine lock is the caller's
 * (its path depends on the socket), and is taken before this runs.
 */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int ctl_host_open(struct ctl_host *host, const struct ctl_host_params *params,
		  struct hotmem_reconcile_report *ret_report, int *ret_reconcile_err, char *msg,
		  size_t msg_size)
{
	int r;

	/* op_stats is the caller's (hotmemd counts operations from before this). */
	host->hv = NULL;
	host->hm = NULL;
	host->backend_ops = NULL;
	host->backend_data = NULL;
	host->backend = params->backend;
	host->journal_dir = params->engine->journal_dir;
	if (params->ops) {
		r = params->ops->open(params->backend_config, &host->backend_data, &host->hv, msg,
				      msg_size);
		if (r < 0)
			return r;
		host->backend_ops = params->ops;
	} else if (params->open_xen) {
		r = params->open_xen(&host->hv, msg, msg_size);
		if (r < 0)
			return r;
	} else {
		snprintf(msg, msg_size,
			 "built without the xen backend (HOTMEM_XEN=OFF): use --hv sim");
		return -EOPNOTSUPP;
	}
	r = hotmem_open(host->hv, params->engine, &host->hm);
	if (r < 0) {
		snprintf(msg, msg_size, "cannot start the engine: %s", strerror(-r));
		ctl_host_close(host);
		return r;
	}
	/* Whatever a crashed engine left is settled before anything else runs. */
	r = hotmem_reconcile(host->hm, ret_report);
	if (ret_reconcile_err)
		*ret_reconcile_err = r;
	return 0;
}

void ctl_xen_open_failed(int r, char *msg, size_t msg_size)
{
	snprintf(msg, msg_size,
		 "cannot open Xen (libxenctrl/xenstore): %s (is this dom0, as root, with xenstored "
		 "running?)",
		 strerror(-r));
}

void ctl_host_close(struct ctl_host *host)
{
	hotmem_close(host->hm);
	host->hm = NULL;
	hv_close(host->hv);
	host->hv = NULL;
	if (host->backend_ops)
		host->backend_ops->close(host->backend_data);
	host->backend_ops = NULL;
	host->backend_data = NULL;
}
