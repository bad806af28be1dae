/*
 * How xl-hotmem reaches the engine. hotmemd owns the journal: when its unix
 * socket answers, the request goes there as one JSON line and the replies
 * (progress events, then the result) come back one per line. When nothing
 * answers, xl-hotmem takes the same exclusive lock the daemon holds and runs
 * the engine in-process (open, reconcile, the request), the way xl runs
 * libxl in-process; the lock is what keeps two engines off one journal. Both
 * paths produce the same reply object, so the commands render one thing.
 * policy and top have no in-process path: the policy exists only in hotmemd.
 * The Xen backend is a module loaded only for the in-process path, so a
 * command hotmemd answers never loads libxenctrl and libxenstore.
 */
#ifdef HOTMEM_HV_XEN_MODULE
#include <dlfcn.h>
#endif
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "hotmem/policy.h"
#include "sim_ctl.h"
#include "sim_options.h"
#include "hotmem/units.h"

struct cli_global cli_global = { .hv = "xen" };

/* How often the in-process wait for a just-attached guest looks again. */
#define CLI_READY_POLL_MS 50

/* One block event as a line; what is its wire name (ctl_progress_name()). */
static void cli_print_progress(uint32_t domid, const char *op, const char *what, uint64_t block,
			       uint64_t gpa, uint64_t bytes)
{
	char size[32];

	/* Two wire names read better with a word more on a terminal. */
	if (!strcmp(what, "refused"))
		what = "refused by the guest";
	else if (!strcmp(what, "rolled-back"))
		what = "rolled back";
	hotmem_format_size(size, sizeof(size), bytes);
	printf("d%u %s: block %llu [%#llx-%#llx] %s %s\n", domid, op, (unsigned long long)block,
	       (unsigned long long)gpa, (unsigned long long)(gpa + bytes - 1), size, what);
	fflush(stdout);
}

static void cli_progress_cb(void *opaque, const struct hotmem_progress *p)
{
	bool *enabled = opaque;

	if (*enabled)
		cli_print_progress(p->domid, ctl_kind_name(p->kind), ctl_progress_name(p->event),
				   p->block, p->gpa, p->bytes);
}

static int cli_socket_path(char *buf, size_t size)
{
	const char *env = getenv("HOTMEM_SOCKET");

	if (cli_global.socket)
		return snprintf(buf, size, "%s", cli_global.socket) < (int)size ? 0 : -ENAMETOOLONG;
	if (env && env[0])
		return snprintf(buf, size, "%s", env) < (int)size ? 0 : -ENAMETOOLONG;
	if (!strcmp(cli_global.hv, "sim"))
		return sim_options_default_socket(buf, size);
	return snprintf(buf, size, "%s", CTL_DEFAULT_SOCKET) < (int)size ? 0 : -ENAMETOOLONG;
}

/* A connected socket, or a negative errno (-ENOENT/-ECONNREFUSED: no daemon). */
static int cli_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int cli_run_remote(const struct cli_command *cmd, int fd, const struct ctl_request *req,
			  bool progress, yajl_val *ret_reply)
{
	const char *event_path[] = { "event", NULL };
	char *line = NULL, err[128];
	size_t cap = 0;
	FILE *in = NULL;
	int r;

	r = ctl_request_format(req, &line);
	if (r < 0)
		goto out;
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line)) {
		r = cli_fail(cmd, "cannot send the request to hotmemd: %s", strerror(errno));
		goto out;
	}
	free(line);
	line = NULL; /* getline() allocates its own buffer */
	in = fdopen(fd, "r");
	if (!in) {
		r = cli_fail(cmd, "out of memory");
		goto out;
	}
	fd = -1;
	for (;;) {
		ssize_t len = getline(&line, &cap, in);
		yajl_val reply;

		if (len <= 0) {
			r = cli_fail(cmd, "hotmemd closed the connection without a reply");
			goto out;
		}
		reply = yajl_tree_parse(line, err, sizeof(err));
		if (!reply || !YAJL_IS_OBJECT(reply)) {
			yajl_tree_free(reply);
			r = cli_fail(cmd, "hotmemd sent a reply that is not JSON: %s", err);
			goto out;
		}
		if (!yajl_tree_get(reply, event_path, yajl_t_string)) {
			*ret_reply = reply;
			r = 0;
			goto out;
		}
		if (progress) {
			const char *k[][2] = {
				{ "domid", NULL }, { "op", NULL },  { "what", NULL },
				{ "block", NULL }, { "gpa", NULL }, { "bytes", NULL }
			};
			yajl_val v[6];

			for (int i = 0; i < 6; i++)
				v[i] = yajl_tree_get(reply, k[i], yajl_t_any);
			if (YAJL_IS_INTEGER(v[0]) && YAJL_IS_STRING(v[1]) && YAJL_IS_STRING(v[2]) &&
			    YAJL_IS_INTEGER(v[3]) && YAJL_IS_INTEGER(v[4]) && YAJL_IS_INTEGER(v[5]))
				cli_print_progress(YAJL_GET_INTEGER(v[0]), YAJL_GET_STRING(v[1]),
						   YAJL_GET_STRING(v[2]), YAJL_GET_INTEGER(v[3]),
						   YAJL_GET_INTEGER(v[4]), YAJL_GET_INTEGER(v[5]));
		}
		yajl_tree_free(reply);
	}
out:
	free(line);
	if (in)
		fclose(in);
	if (fd >= 0)
		close(fd);
	return r;
}

#ifdef HOTMEM_HV_XEN_MODULE
/*
 * Open Xen through the backend module (HOTMEM_HV_XEN_MODULE, hv-xen.so):
 * libxenctrl, libxenstore and the eight libraries they need are loaded
 * here, for the engine this process runs, and never when hotmemd answers
 * (under emulation loading them is a third of the process's start). On
 * success the module stays loaded for good: the hv's ops are its code.
 */
static int cli_open_xen(struct hv **ret_hv, char *msg, size_t msg_size)
{
	int (*open_fn)(struct hv * *ret_hv);
	void *module;
	int r;

	module = dlopen(HOTMEM_HV_XEN_MODULE, RTLD_NOW | RTLD_LOCAL);
	if (!module) {
		snprintf(msg, msg_size, "cannot load the xen backend: %s", dlerror());
		return -ELIBACC;
	}
	/* POSIX's way from the object pointer dlsym() returns to a function's. */
	*(void **)&open_fn = dlsym(module, "hv_xen_open");
	if (!open_fn) {
		snprintf(msg, msg_size, "%s has no hv_xen_open", HOTMEM_HV_XEN_MODULE);
		dlclose(module);
		return -ELIBBAD;
	}
	r = open_fn(ret_hv);
	if (r < 0) {
		ctl_xen_open_failed(r, msg, msg_size);
		dlclose(module);
	}
	return r;
}
#endif

/*
 * Wait for the guest of a just-attached domain, dispatching the engine
 * meanwhile. -EAGAIN means "still waiting" only while op->error is unset: a
 * guest that never got ready ends the wait with op->error = -EAGAIN.
 */
static int cli_wait_ready(struct ctl_host *host, struct ctl_op *op)
{
	int r = -EAGAIN;

	while (r == -EAGAIN && !op->error) {
		struct pollfd pfd = { .fd = hotmem_fd(host->hm), .events = POLLIN };
		int timeout = hotmem_timeout_ms(host->hm);

		if (timeout < 0 || timeout > CLI_READY_POLL_MS)
			timeout = CLI_READY_POLL_MS;
		if (pfd.fd < 0 || (poll(&pfd, 1, timeout) < 0 && errno != EINTR))
			return -errno;
		hotmem_dispatch(host->hm);
		r = ctl_op_step(host, op, ctl_now_ms());
	}
	return r;
}

static int cli_exec(const struct cli_command *cmd, struct ctl_host *host,
		    const struct ctl_request *req, uint32_t open_ms, yajl_gen gen)
{
	struct ctl_op op;
	int r;

	if (!ctl_cmd_is_op(req->cmd))
		return ctl_exec_now(host, req, gen);
	r = ctl_op_begin(host, req, ctl_now_ms(), &op);
	op.open_ms = open_ms;
	if (r == -EAGAIN && !op.error)
		r = cli_wait_ready(host, &op);
	if (r == 0 && !hotmem_op_done(op.op)) {
		r = hotmem_op_wait(host->hm, op.op, -1);
		if (r < 0) {
			ctl_op_release(&op);
			return cli_fail(cmd, "waiting for the operation failed: %s", strerror(-r));
		}
	}
	ctl_op_reply(host, &op, gen);
	ctl_op_release(&op);
	return 0;
}

static int cli_run_local(const struct cli_command *cmd, const char *socket_path,
			 const struct ctl_request *req, bool progress, yajl_val *ret_reply)
{
	struct hotmem_config cfg;
	struct ctl_host_params params = { .backend = cli_global.hv, .engine = &cfg };
	struct ctl_host host = { 0 };
	char lock_path[4096], err[128], msg[CTL_MESSAGE_MAX];
	const unsigned char *text;
	yajl_gen gen = NULL;
	uint64_t began = ctl_now_ms();
	size_t len;
	int lock_fd, r;

	hotmem_config_defaults(&cfg);
	/*
	 * The host reserve is never granted, by the daemon or by an engine run
	 * here: read it from the daemon's config (absent default file: the
	 * library's default; a file that does not parse: refuse, as hotmemd).
	 */
	{
		const char *path = cli_global.config ? cli_global.config : HOTMEM_POLICY_CONF_PATH;
		struct hotmem_policy_conf *conf = NULL;
		char conf_err[HOTMEM_POLICY_CONF_ERR_MAX];

		r = hotmem_policy_conf_load(path, &conf, conf_err, sizeof(conf_err));
		if (r == 0)
			cfg.host_reserve_bytes = conf->host.reserve_bytes;
		hotmem_policy_conf_free(conf);
		if (r < 0 && (r != -ENOENT || cli_global.config))
			return cli_fail(cmd, "%s", conf_err);
	}
	if (ctl_lock_path(cli_global.hv, cfg.journal_dir, socket_path, lock_path,
			  sizeof(lock_path)) < 0)
		return cli_fail(cmd, "socket path too long: %s", socket_path);
	lock_fd = ctl_lock(lock_path);
	if (lock_fd == -EWOULDBLOCK)
		return cli_fail(cmd,
				"another hotmem engine holds %s but no hotmemd answers on %s: "
				"refusing to run a second engine on the journal",
				lock_path, socket_path);
	if (lock_fd < 0)
		return cli_fail(cmd, "cannot take the engine lock %s: %s (are you root?)",
				lock_path, strerror(-lock_fd));

	cfg.progress = cli_progress_cb;
	cfg.progress_opaque = &progress;
#ifdef HOTMEM_HV_XEN_MODULE
	params.open_xen = cli_open_xen;
#endif
	if (!strcmp(cli_global.hv, "sim")) {
		sim_options_finish(&cli_global.sim);
		params.ops = &sim_ctl_ops;
		params.backend_config = &cli_global.sim;
	}
	r = ctl_host_open(&host, &params, NULL, NULL, msg, sizeof(msg));
	if (r < 0) {
		r = cli_fail(cmd, "%s", msg);
		goto out;
	}
	gen = yajl_gen_alloc(NULL);
	if (!gen) {
		r = cli_fail(cmd, "out of memory");
		goto out;
	}
	/* What opening the engine here cost (the config, the lock, reconcile). */
	r = cli_exec(cmd, &host, req, (uint32_t)(ctl_now_ms() - began), gen);
	if (r)
		goto out;
	yajl_gen_get_buf(gen, &text, &len);
	*ret_reply = yajl_tree_parse((const char *)text, err, sizeof(err));
	r = *ret_reply ? 0 : cli_fail(cmd, "internal error: bad reply: %s", err);
out:
	if (gen)
		yajl_gen_free(gen);
	/*
	 * With Xen this process prints the reply and exits next, and exit
	 * closes both xenstore connections (xenstored drops their watches)
	 * and the engine lock. Closing them here first costs a round trip per
	 * watch and the join of libxenstore's reader thread: about 15 ms
	 * under emulation, a fifteenth of the 230 ms an in-process grow
	 * spends outside Xen and the guest (docs/lab.md), so an engine that
	 * opened on Xen is left to the exit.
	 * Other backends are closed (the sim keeps its state at close).
	 */
	if (host.hm && !host.backend_ops)
		return 0;
	ctl_host_close(&host);
	close(lock_fd);
	return r;
}

int cli_run(const struct cli_command *cmd, const struct ctl_request *req, bool progress,
	    yajl_val *ret_reply)
{
	char path[4096];
	int fd;

	if (cli_socket_path(path, sizeof(path)) < 0)
		return cli_fail(cmd, "socket path too long");
	fd = cli_connect(path);
	if (fd >= 0)
		return cli_run_remote(cmd, fd, req, progress, ret_reply);
	if (fd != -ENOENT && fd != -ECONNREFUSED)
		return cli_fail(cmd, "cannot connect to hotmemd at %s: %s", path, strerror(-fd));
	if (ctl_cmd_needs_daemon(req->cmd))
		return cli_fail(cmd,
				"no hotmemd answers on %s: %s needs the daemon, the autoscaling "
				"policy lives there (systemctl start hotmemd)",
				path, cmd->name);
	return cli_run_local(cmd, path, req, progress, ret_reply);
}
