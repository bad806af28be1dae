/*
 * The xl-hotmem commands that act on domains: list, info, grow, shrink, set,
 * attach, detach, journal, dtb and the sim-only sim-destroy/sim-check. Each
 * parses its arguments, builds one ctl request, runs it through cli_run()
 * (hotmemd or in-process) and renders the reply: the reply's "result" object
 * as JSON with --json, a few lines for people otherwise; a reply with
 * ok:false prints its one error line and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>

#include "cli.h"
#include "hotmem/units.h"

int cli_domain_arg(const struct cli_command *cmd, const char *text, struct ctl_request *req)
{
	if (!text[0] || strlen(text) > CTL_DOMAIN_MAX)
		return cli_fail(cmd, "invalid domain '%s': expected a name or an id", text);
	strcpy(req->domain, text);
	return 0;
}

static int cmd_size_arg(const struct cli_command *cmd, const char *text, uint64_t *ret_bytes)
{
	int r = hotmem_parse_size(text, ret_bytes);

	if (r == -ERANGE)
		return cli_fail(cmd, "size '%s' is too large", text);
	if (r)
		return cli_fail(cmd,
				"invalid size '%s': expected a number with an optional "
				"b/k/m/g/t suffix (no suffix: MiB)",
				text);
	return 0;
}

/* ---- reading replies (shared with cmd_policy.c through cli.h) ----------- */

yajl_val cli_jget(yajl_val obj, const char *key)
{
	const char *path[] = { key, NULL };

	return obj ? yajl_tree_get(obj, path, yajl_t_any) : NULL;
}

uint64_t cli_ju64(yajl_val obj, const char *key)
{
	yajl_val v = cli_jget(obj, key);

	return YAJL_IS_INTEGER(v) ? (uint64_t)YAJL_GET_INTEGER(v) : 0;
}

const char *cli_jstr(yajl_val obj, const char *key, const char *fallback)
{
	yajl_val v = cli_jget(obj, key);

	return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : fallback;
}

bool cli_jbool(yajl_val obj, const char *key)
{
	return YAJL_IS_TRUE(cli_jget(obj, key));
}

static void json_out(yajl_gen gen, yajl_val v)
{
	if (YAJL_IS_OBJECT(v)) {
		yajl_gen_map_open(gen);
		for (size_t i = 0; i < v->u.object.len; i++) {
			yajl_gen_string(gen, (const unsigned char *)v->u.object.keys[i],
					strlen(v->u.object.keys[i]));
			json_out(gen, v->u.object.values[i]);
		}
		yajl_gen_map_close(gen);
	} else if (YAJL_IS_ARRAY(v)) {
		yajl_gen_array_open(gen);
		for (size_t i = 0; i < v->u.array.len; i++)
			json_out(gen, v->u.array.values[i]);
		yajl_gen_array_close(gen);
	} else if (YAJL_IS_INTEGER(v)) {
		yajl_gen_integer(gen, YAJL_GET_INTEGER(v));
	} else if (YAJL_IS_NUMBER(v)) {
		yajl_gen_number(gen, v->u.number.r, strlen(v->u.number.r));
	} else if (YAJL_IS_STRING(v)) {
		const char *s = v->u.string;

		yajl_gen_string(gen, (const unsigned char *)s, strlen(s));
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		yajl_gen_bool(gen, YAJL_IS_TRUE(v));
	} else {
		yajl_gen_null(gen);
	}
}

/* The reply's result, beautified, on stdout (as xl list -l prints libxl's JSON). */
int cli_print_json(const struct cli_command *cmd, yajl_val result)
{
	yajl_gen gen = yajl_gen_alloc(NULL);
	const unsigned char *text;
	size_t len;
	int r = 0;

	if (!gen)
		return cli_fail(cmd, "out of memory");
	yajl_gen_config(gen, yajl_gen_beautify, 1);
	json_out(gen, result);
	yajl_gen_get_buf(gen, &text, &len);
	if (fwrite(text, 1, len, stdout) != len)
		r = cli_fail(cmd, "cannot write JSON output");
	yajl_gen_free(gen);
	return r;
}

const char *cli_fmt_size(char *buf, size_t size, uint64_t bytes)
{
	hotmem_format_size(buf, size, bytes);
	return buf;
}

/*
 * Run the request and hand the result to render (or print it as JSON).
 * Exit code: 0 when the reply is ok, else 1 after its error line.
 */
int cli_cmd_run(const struct cli_command *cmd, const struct ctl_request *req, bool json,
		void (*render)(yajl_val result))
{
	yajl_val reply = NULL, result;
	bool ok;
	int r;

	r = cli_run(cmd, req, !json && (cli_global.progress || isatty(STDOUT_FILENO)), &reply);
	if (r)
		return r;
	ok = cli_jbool(reply, "ok");
	result = cli_jget(reply, "result");
	if (result && json)
		r = cli_print_json(cmd, result);
	else if (result && render)
		render(result);
	if (!ok)
		r = cli_fail(cmd, "%s", cli_jstr(reply, "error", "failed (no reason given)"));
	yajl_tree_free(reply);
	return r;
}

/* ---- renderers ---------------------------------------------------------- */

/* A rebuilt domain's state after a reboot while grown, or NULL. */
static const char *reboot_state(yajl_val d)
{
	if (cli_jbool(d, "ballooned_back"))
		return "ballooned-back";
	return cli_jbool(d, "rebooted_grown") ? "rebooted-grown" : NULL;
}

static void render_list(yajl_val result)
{
	yajl_val domains = cli_jget(result, "domains");

	printf("%-24s %5s %10s %11s %10s %-8s\n", "Name", "ID", "Mem(MiB)", "Hotmem(MiB)",
	       "Max(MiB)", "Guest");
	for (size_t i = 0; YAJL_IS_ARRAY(domains) && i < domains->u.array.len; i++) {
		yajl_val d = domains->u.array.values[i];
		yajl_val guest = cli_jget(d, "guest");

		if (cli_jbool(d, "attached"))
			printf("%-24s %5" PRIu64 " %10" PRIu64 " %11" PRIu64 " %10" PRIu64
			       " %-8s\n",
			       cli_jstr(d, "name", "-"), cli_ju64(d, "domid"),
			       cli_ju64(d, "tot_bytes") >> 20, cli_ju64(d, "granted_bytes") >> 20,
			       cli_ju64(d, "max_bytes") >> 20,
			       reboot_state(d) ? reboot_state(d) : cli_jstr(guest, "state", "-"));
		else if (reboot_state(d))
			printf("%-24s %5" PRIu64 " %10" PRIu64 " %11s %10s %-8s\n",
			       cli_jstr(d, "name", "-"), cli_ju64(d, "domid"),
			       cli_ju64(d, "tot_bytes") >> 20, "-", "-", reboot_state(d));
		else
			printf("%-24s %5" PRIu64 " %10" PRIu64 " %11s %10s %-8s\n",
			       cli_jstr(d, "name", "-"), cli_ju64(d, "domid"),
			       cli_ju64(d, "tot_bytes") >> 20, "-", "-", "detached");
	}
}

static void render_info(yajl_val d)
{
	yajl_val window = cli_jget(d, "window"), guest = cli_jget(d, "guest");
	char a[32], b[32];

	printf("domain:        %s (d%" PRIu64 ")\n", cli_jstr(d, "name", "?"),
	       cli_ju64(d, "domid"));
	printf("memory:        %s owned, max %s\n",
	       cli_fmt_size(a, sizeof(a), cli_ju64(d, "tot_bytes")),
	       cli_fmt_size(b, sizeof(b), cli_ju64(d, "max_mem_bytes")));
	if (!cli_jbool(d, "attached")) {
		printf("hotmem:        not attached\n");
		return;
	}
	printf("granted:       %s in %" PRIu64 " blocks (maximum %s)\n",
	       cli_fmt_size(a, sizeof(a), cli_ju64(d, "granted_bytes")),
	       cli_ju64(d, "granted_blocks"), cli_fmt_size(b, sizeof(b), cli_ju64(d, "max_bytes")));
	if (window)
		printf("window:        %#" PRIx64 "-%#" PRIx64 " (%" PRIu64 " blocks of %s)\n",
		       cli_ju64(window, "base"),
		       cli_ju64(window, "base") + cli_ju64(window, "size") - 1,
		       cli_ju64(d, "window_blocks"),
		       cli_fmt_size(a, sizeof(a), cli_ju64(d, "block_size")));
	else
		printf("window:        not yet (the guest has not published its block size)\n");
	if (cli_jget(d, "memmap_bytes"))
		printf("memmap head:   %s per block\n",
		       cli_fmt_size(a, sizeof(a), cli_ju64(d, "memmap_bytes")));
	printf("guest:         %s%s\n", cli_jstr(guest, "state", "no driver"),
	       cli_jbool(guest, "ready") ? " (ready)" : "");
	if (cli_ju64(d, "pending_blocks"))
		printf("superseded:    %" PRIu64 " block(s) of unanswered requests, settled by the "
		       "guest's next ack (xl-hotmem abandon takes them back)\n",
		       cli_ju64(d, "pending_blocks"));
	if (cli_jbool(d, "frozen"))
		printf("frozen:        after request %" PRIu64 " the guest held %s above its grant "
		       "(protocol violation): no more grows; detach to clear\n",
		       cli_ju64(d, "frozen_seq"),
		       cli_fmt_size(a, sizeof(a), cli_ju64(d, "frozen_bytes")));
	printf("engine:        %s%s%s%s\n", cli_jbool(d, "busy") ? "busy " : "",
	       cli_jbool(d, "outstanding") ? "outstanding-request " : "",
	       cli_jbool(d, "recovering") ? "recovering " : "",
	       cli_jbool(d, "violation") ? "protocol-violation" : "idle");
}

static void render_op(yajl_val r)
{
	/* One buffer per figure: all are formatted before printf reads any. */
	char requested[32], done[32], granted[32];

	printf("d%" PRIu64 " (%s): %s %s: %" PRIu64 "/%" PRIu64 " blocks%s, %s %s; hotmem now %s\n",
	       cli_ju64(r, "domid"), cli_jstr(r, "name", "?"), cli_jstr(r, "op", "?"),
	       cli_fmt_size(requested, sizeof(requested), cli_ju64(r, "requested_bytes")),
	       cli_ju64(r, "blocks_done"), cli_ju64(r, "blocks_requested"),
	       cli_jbool(r, "attached_now") ? " (attached now)" : "",
	       cli_fmt_size(done, sizeof(done), cli_ju64(r, "bytes_done")),
	       !strcmp(cli_jstr(r, "done_as", ""), "shrink") ? "reclaimed" : "granted",
	       cli_fmt_size(granted, sizeof(granted), cli_ju64(r, "granted_bytes")));
}

static void render_journal(yajl_val result)
{
	yajl_val domains = cli_jget(result, "domains");

	printf("journal %s: %zu record(s)\n", cli_jstr(result, "journal_dir", "?"),
	       YAJL_IS_ARRAY(domains) ? domains->u.array.len : 0);
	for (size_t i = 0; YAJL_IS_ARRAY(domains) && i < domains->u.array.len; i++) {
		yajl_val d = domains->u.array.values[i], rec = cli_jget(d, "records");

		printf("d%" PRIu64 " %s\n", cli_ju64(d, "domid"), cli_jstr(d, "name", ""));
		for (size_t k = 0; YAJL_IS_OBJECT(rec) && k < rec->u.object.len; k++)
			printf("  %-13s %s\n", rec->u.object.keys[k],
			       YAJL_IS_STRING(rec->u.object.values[k])
				       ? YAJL_GET_STRING(rec->u.object.values[k])
				       : "?");
	}
}

static void render_done(yajl_val result)
{
}

/* ---- commands ----------------------------------------------------------- */

/*
 * The commands that take at most one DOM and no option of their own but
 * --json (attach also --max): parse, DOM into the request, run kind, print
 * through render. The sim's commands need --hv sim.
 */
static int cmd_simple(const struct cli_command *cmd, int argc, char **argv, enum ctl_cmd kind,
		      int nr_dom, void (*render)(yajl_val result))
{
	struct ctl_request req = { .cmd = kind };
	struct cli_args args = { 0 };
	bool help = false;
	int r = cli_parse_args(cmd, argc, argv, nr_dom, kind == CTL_CMD_ATTACH, &args, &help);

	if (r || help)
		return r;
	if (ctl_cmd_is_backend(kind) && strcmp(cli_global.hv, "sim"))
		return cli_fail(cmd, "only with --hv sim");
	req.max_bytes = args.max_bytes;
	if (nr_dom)
		r = cli_domain_arg(cmd, args.pos[0], &req);
	return r ? r : cli_cmd_run(cmd, &req, args.json, render);
}

int cmd_list(const struct cli_command *cmd, int argc, char **argv)
{
	return cmd_simple(cmd, argc, argv, CTL_CMD_LIST, 0, render_list);
}

int cmd_journal(const struct cli_command *cmd, int argc, char **argv)
{
	return cmd_simple(cmd, argc, argv, CTL_CMD_JOURNAL, 0, render_journal);
}

int cmd_info(const struct cli_command *cmd, int argc, char **argv)
{
	return cmd_simple(cmd, argc, argv, CTL_CMD_INFO, 1, render_info);
}

int cmd_attach(const struct cli_command *cmd, int argc, char **argv)
{
	return cmd_simple(cmd, argc, argv, CTL_CMD_ATTACH, 1, render_info);
}

int cmd_detach(const struct cli_command *cmd, int argc, char **argv)
{
	return cmd_simple(cmd, argc, argv, CTL_CMD_DETACH, 1, render_done);
}

static void render_abandon(yajl_val r)
{
	char a[32], b[32];

	printf("d%" PRIu64 " (%s): abandoned every unanswered request: %s back%s%s\n",
	       cli_ju64(r, "domid"), cli_jstr(r, "name", "?"),
	       cli_fmt_size(a, sizeof(a), cli_ju64(r, "reclaimed_bytes")),
	       cli_ju64(r, "overdrawn_bytes") ? "; the guest holds more than its grant, frozen: "
					      : "",
	       cli_ju64(r, "overdrawn_bytes")
		       ? cli_fmt_size(b, sizeof(b), cli_ju64(r, "overdrawn_bytes"))
		       : "");
}

int cmd_abandon(const struct cli_command *cmd, int argc, char **argv)
{
	return cmd_simple(cmd, argc, argv, CTL_CMD_ABANDON, 1, render_abandon);
}

int cmd_op(const struct cli_command *cmd, int argc, char **argv)
{
	struct ctl_request req = { 0 };
	struct cli_args args = { 0 };
	bool help = false;
	int r = cli_parse_args(cmd, argc, argv, 2, false, &args, &help);

	if (r || help)
		return r;
	req.cmd = !strcmp(cmd->name, "grow")	 ? CTL_CMD_GROW
		  : !strcmp(cmd->name, "shrink") ? CTL_CMD_SHRINK
						 : CTL_CMD_SET;
	r = cli_domain_arg(cmd, args.pos[0], &req);
	if (!r)
		r = cmd_size_arg(cmd, args.pos[1], &req.bytes);
	if (!r && !req.bytes && req.cmd != CTL_CMD_SET)
		r = cli_fail(cmd, "size must be greater than zero");
	return r ? r : cli_cmd_run(cmd, &req, args.json, render_op);
}

int cmd_sim(const struct cli_command *cmd, int argc, char **argv)
{
	bool destroy = !strcmp(cmd->name, "sim-destroy");

	return cmd_simple(cmd, argc, argv, destroy ? CTL_CMD_SIM_DESTROY : CTL_CMD_SIM_CHECK,
			  destroy ? 1 : 0, render_done);
}

/* dtb DOM FILE: the domain's window as a partial device tree for xl's device_tree=. */
int cmd_dtb(const struct cli_command *cmd, int argc, char **argv)
{
	struct ctl_request req = { .cmd = CTL_CMD_INFO };
	struct cli_args args = { 0 };
	struct hotmem_window window;
	yajl_val reply = NULL, d, w;
	uint64_t block_size;
	void *blob = NULL;
	FILE *out = NULL;
	bool help = false;
	int r = cli_parse_args(cmd, argc, argv, 2, false, &args, &help), len;

	if (r || help)
		return r;
	r = cli_domain_arg(cmd, args.pos[0], &req);
	if (!r)
		r = cli_run(cmd, &req, false, &reply);
	if (r)
		return r;
	if (!cli_jbool(reply, "ok")) {
		r = cli_fail(cmd, "%s", cli_jstr(reply, "error", "failed"));
		goto out;
	}
	d = cli_jget(reply, "result");
	w = cli_jget(d, "window");
	if (!cli_jbool(d, "attached") || !w) {
		r = cli_fail(cmd,
			     "domain '%s' has no window yet: attach it and let its guest "
			     "driver publish its block size first",
			     args.pos[0]);
		goto out;
	}
	window.base = cli_ju64(w, "base");
	window.size = cli_ju64(w, "size");
	block_size = cli_ju64(d, "block_size");
	len = hotmem_dt_fragment(&window, block_size, NULL, 0);
	blob = len > 0 ? malloc((size_t)len) : NULL;
	if (len > 0 && blob)
		len = hotmem_dt_fragment(&window, block_size, blob, (size_t)len);
	if (len <= 0 || !blob) {
		r = cli_fail(cmd, "domain '%s': cannot build the device tree fragment: %s",
			     args.pos[0], strerror(len < 0 ? -len : ENOMEM));
		goto out;
	}
	out = fopen(args.pos[1], "we");
	if (!out || fwrite(blob, 1, (size_t)len, out) != (size_t)len || fclose(out)) {
		r = cli_fail(cmd, "cannot write %s: %s", args.pos[1], strerror(errno));
		out = NULL;
		goto out;
	}
	out = NULL;
	if (args.json) {
		printf("{\n    \"domid\": %" PRIu64
		       ",\n    \"file\": \"%s\",\n    \"bytes\": %d\n}\n",
		       cli_ju64(d, "domid"), args.pos[1], len);
	}
out:
	if (out)
		fclose(out);
	free(blob);
	yajl_tree_free(reply);
	return r;
}
