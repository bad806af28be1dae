/*
 * Internal interface of the xl-hotmem CLI: the command table entry every
 * subcommand provides, the global options (backend, socket, simulated host),
 * and the helpers they share: one-line errors, reading and printing replies,
 * and cli_run(), which sends a request to hotmemd or, when no daemon answers,
 * takes the engine lock and runs it in-process (except policy and top, which
 * only the daemon answers). Exit codes follow xl: 0 success, 1 any failure.
 */
#ifndef HOTMEM_CLI_H
#define HOTMEM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "ctl.h"
#include "sim_host.h"

struct cli_command {
	const char *name;
	int (*handler)(const struct cli_command *cmd, int argc, char **argv);
	const char *usage;   /* arguments after the command name */
	const char *summary; /* one line for `xl-hotmem help` */
	const char *options; /* option help, one per line, or NULL */
};

/* Options given before the command. */
struct cli_global {
	const char *hv;		    /* "xen" (default) or "sim" */
	const char *socket;	    /* --socket, else $HOTMEM_SOCKET, else the backend's default */
	struct sim_host_config sim; /* --hv sim run in-process */
	bool progress;		    /* --progress: block events even when stdout is no TTY */
	const char *config;	    /* --config: hotmemd's config (its [host] reserve) */
};

extern struct cli_global cli_global;

/* Print "xl-hotmem CMD: message" on stderr and return the failure exit code. */
int cli_fail(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct option;
/**
 * cli_bad_option - the error line for an option getopt_long() did not take
 * @cmd: the command, NULL for the global options
 * @opt: what getopt_long() returned: '?' (unknown, or a value where none is
 *	 allowed), ':' (value missing: every optstring starts with ':' after
 *	 any '+'), or the value of a known option this command does not take
 * @long_options: the table getopt_long() was given
 *
 * Names the option as the user typed it. argv[optind - 1] is not always it:
 * glibc leaves optind on a cluster like "-5m" and has permuted operands
 * before it, so "grow web -5m" would otherwise blame "web".
 * returns the failure exit code
 */
int cli_bad_option(const struct cli_command *cmd, int opt, char **argv,
		   const struct option *long_options);

/*
 * A command's options, read with getopt_long(): what every command shares is
 * handled here (-h/--help prints the usage, --json sets json, an option the
 * table does not know prints the error line), the command's own options are
 * handed back one by one:
 *
 *	cli_opts_start(&o, cmd, argc, argv, ":h", long_options);
 *	while ((opt = cli_opts_next(&o)) > 0)
 *		switch (opt) { case 'x': ...; break; default: return cli_opts_bad(&o, opt); }
 *	if (opt < 0)
 *		return o.exit;	(-h: 0, o.help set; a bad option: the failure code)
 *
 * Then optind is the first operand.
 */
/* The end of every command's option table: --json, --help and the terminator. */
/* clang-format off */
#define CLI_OPTIONS_END                         \
	{ "json", no_argument, NULL, 'j' },     \
	{ "help", no_argument, NULL, 'h' },     \
	{ NULL, 0, NULL, 0 }
/* clang-format on */

struct cli_opts {
	const struct cli_command *cmd;
	int argc;
	char **argv;
	const char *optstring; /* starts with ':' (and "h"): see cli_bad_option() */
	const struct option *long_options;
	bool json; /* --json was given */
	bool help; /* -h was given (the usage is printed) */
	int exit;  /* the exit code once cli_opts_next() returned -1 */
};

void cli_opts_start(struct cli_opts *o, const struct cli_command *cmd, int argc, char **argv,
		    const char *optstring, const struct option *long_options);
/* The next option of the command's own (> 0), 0 after the last, -1: stop (o->exit). */
int cli_opts_next(struct cli_opts *o);
/* An option this command does not take: its error line; returns (and sets) o->exit. */
int cli_opts_bad(struct cli_opts *o, int opt);

/* What cli_parse_args() found. */
struct cli_args {
	bool json;
	uint64_t max_bytes; /* attach --max */
	const char *pos[2]; /* the operands, when nr_pos > 0 */
	int nr_pos;
};

/*
 * cli_parse_args - the options most commands take: -h, --json and (with
 * allow_max) --max SIZE, then exactly nr_pos operands, or at least -nr_pos
 * when nr_pos < 0 (they start at optind). Returns 0 or the exit code after
 * the error line; *ret_help: -h was given (the usage is printed, return 0).
 */
int cli_parse_args(const struct cli_command *cmd, int argc, char **argv, int nr_pos, bool allow_max,
		   struct cli_args *args, bool *ret_help);

/* Print the command's usage block on stdout (for -h) or stderr (misuse). */
void cli_usage(const struct cli_command *cmd, bool to_stderr);

/*
 * cli_run - execute a request through hotmemd or in-process
 * @progress: print a line per block event (a TTY and not --json)
 * @ret_reply: the reply object ({"ok":...}); free with yajl_tree_free()
 *
 * returns 0 with a reply (which may say ok:false), or the exit code after
 * printing the one error line (no daemon and no lock, backend failed).
 */
int cli_run(const struct cli_command *cmd, const struct ctl_request *req, bool progress,
	    yajl_val *ret_reply);

/* Members of a reply object (0, fallback or false when absent or mistyped). */
yajl_val cli_jget(yajl_val obj, const char *key);
uint64_t cli_ju64(yajl_val obj, const char *key);
const char *cli_jstr(yajl_val obj, const char *key, const char *fallback);
bool cli_jbool(yajl_val obj, const char *key);
/* A reply's result, beautified, on stdout. 0 or the failure exit code. */
int cli_print_json(const struct cli_command *cmd, yajl_val result);
/* DOM (a name or an id, as xl takes it) into req->domain; 0 or the exit code. */
int cli_domain_arg(const struct cli_command *cmd, const char *text, struct ctl_request *req);
/* "1.5 GiB": hotmem_format_size() into buf, returned. */
const char *cli_fmt_size(char *buf, size_t size, uint64_t bytes);
/*
 * Run req and print its result: JSON with json, else through render (may be
 * NULL). 0 when the reply is ok, else 1 after its error line.
 */
int cli_cmd_run(const struct cli_command *cmd, const struct ctl_request *req, bool json,
		void (*render)(yajl_val result));

int cmd_plan(const struct cli_command *cmd, int argc, char **argv);
int cmd_list(const struct cli_command *cmd, int argc, char **argv);
int cmd_info(const struct cli_command *cmd, int argc, char **argv);
int cmd_op(const struct cli_command *cmd, int argc, char **argv); /* grow, shrink, set */
int cmd_attach(const struct cli_command *cmd, int argc, char **argv);
int cmd_detach(const struct cli_command *cmd, int argc, char **argv);
int cmd_abandon(const struct cli_command *cmd, int argc, char **argv);
int cmd_journal(const struct cli_command *cmd, int argc, char **argv);
int cmd_dtb(const struct cli_command *cmd, int argc, char **argv);
int cmd_sim(const struct cli_command *cmd, int argc, char **argv); /* sim-destroy, sim-check */
int cmd_policy(const struct cli_command *cmd, int argc, char **argv);
int cmd_top(const struct cli_command *cmd, int argc, char **argv);
int cmd_sim_guest(const struct cli_command *cmd, int argc, char **argv);
int cmd_metrics(const struct cli_command *cmd, int argc, char **argv);

#endif /* HOTMEM_CLI_H */
