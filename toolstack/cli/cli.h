/*
 * Internal interface of the xl-hotmem CLI: the command table entry every
 * subcommand provides, the global options (backend, socket, simulated host),
 * and the helpers they share: one-line errors, and cli_run(), which sends a
 * request to hotmemd or, when no daemon answers, takes the engine lock and
 * runs it in-process. Exit codes follow xl: 0 success, 1 any failure.
 */
#ifndef HOTMEM_CLI_H
#define HOTMEM_CLI_H

#include <stdbool.h>

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
};

extern struct cli_global cli_global;

/* Print "xl-hotmem CMD: message" on stderr and return the failure exit code. */
int cli_fail(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

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

int cmd_plan(const struct cli_command *cmd, int argc, char **argv);
int cmd_list(const struct cli_command *cmd, int argc, char **argv);
int cmd_info(const struct cli_command *cmd, int argc, char **argv);
int cmd_op(const struct cli_command *cmd, int argc, char **argv); /* grow, shrink, set */
int cmd_attach(const struct cli_command *cmd, int argc, char **argv);
int cmd_detach(const struct cli_command *cmd, int argc, char **argv);
int cmd_journal(const struct cli_command *cmd, int argc, char **argv);
int cmd_dtb(const struct cli_command *cmd, int argc, char **argv);
int cmd_sim(const struct cli_command *cmd, int argc, char **argv); /* sim-destroy, sim-check */

#endif /* HOTMEM_CLI_H */
