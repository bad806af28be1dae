/*
 * The control layer shared by xl-hotmem and hotmemd: one request type, its
 * JSON wire form (one line per request, docs/toolstack.md section "hotmemd"),
 * and the code that executes a request on an engine and writes the JSON
 * reply. hotmemd runs it for its clients; xl-hotmem runs the very same code
 * in-process when no daemon answers, so both paths print identical output.
 * Library code: no logging; errors are negative errno plus a one-line message
 * for the operator (which names the domain and what was wrong).
 *
 * A backend may add commands of its own (the simulated host of --hv sim:
 * sim-guest, sim-check, ...): ctl parses their common fields, passes their
 * own members on as opaque JSON text (ctl_request.args) and hands them to the
 * backend's hooks (struct ctl_backend_ops), so nothing here depends on it.
 */
#ifndef HOTMEM_CTL_H
#define HOTMEM_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "hotmem/hotmem.h"

#define CTL_DOMAIN_MAX	64   /* a domain name (xl's limit) or a domid */
#define CTL_MESSAGE_MAX 256  /* one error line */
#define CTL_LINE_MAX	4096 /* longest request line hotmemd reads */
#define CTL_ARGS_MAX	512  /* a backend command's own members, as JSON text */

/* Default socket path (the lock: ctl_lock_path()). */
#define CTL_DEFAULT_SOCKET "/run/hotmem/hotmemd.sock"

/* How long a grow/set on a domain it just attached waits for the guest to be ready. */
#define CTL_READY_TIMEOUT_MS 10000

/*
 * Every command: its enum name and its wire name ("cmd"), in one list so the
 * two cannot drift. "backend": answered by the backend (ctl_backend_ops).
 */
#define CTL_COMMANDS(X)                                                                         \
	X(PING, "ping")	      /* is a daemon there, which backend */                            \
	X(LIST, "list")	      /* every domain, attached or not */                               \
	X(INFO, "info")	      /* one domain in detail */                                        \
	X(JOURNAL, "journal") /* the raw journal records */                                     \
	X(ATTACH, "attach")                                                                     \
	X(DETACH, "detach")                                                                     \
	X(GROW, "grow")                                                                         \
	X(SHRINK, "shrink")                                                                     \
	X(SET, "set")                                                                           \
	X(SIM_DESTROY, "sim-destroy") /* backend: xl destroy a simulated domain */              \
	X(SIM_CHECK, "sim-check")     /* backend: the simulated host's invariant checker */     \
	X(POLICY, "policy")	      /* hotmemd only: a domain's policy, shown or set */       \
	X(TOP, "top")		  /* hotmemd only: every domain's memory, stats and decision */ \
	X(SIM_GUEST, "sim-guest") /* backend: a simulated guest's load (stats) */               \
	X(METRICS, "metrics")	  /* every metric as Prometheus text (metrics.h) */             \
	X(ABANDON, "abandon")	  /* take back every unanswered request of a domain */          \
	X(SIM_ECHO, "sim-echo")	  /* backend: a reply of "bytes" bytes (transport tests) */

#define CTL_CMD_ENUM(id, name) CTL_CMD_##id,
enum ctl_cmd { CTL_CMD_NONE = 0, CTL_COMMANDS(CTL_CMD_ENUM) CTL_CMD_COUNT };
#undef CTL_CMD_ENUM

/* `policy DOM key=value...`: pairs in the config file's syntax (policy.h). */
#define CTL_POLICY_SET_MAX   16
#define CTL_POLICY_KEY_MAX   31
#define CTL_POLICY_VALUE_MAX 63

struct ctl_request {
	enum ctl_cmd cmd;
	char domain[CTL_DOMAIN_MAX + 1]; /* name or id, as typed */
	uint64_t bytes;			 /* grow/shrink/set */
	uint64_t max_bytes;		 /* attach: hotmem maximum, 0 = default */
	/* policy: the pairs to set, in order; none = show */
	unsigned int nr_set;
	char set_keys[CTL_POLICY_SET_MAX][CTL_POLICY_KEY_MAX + 1];
	char set_values[CTL_POLICY_SET_MAX][CTL_POLICY_VALUE_MAX + 1];
	bool openmetrics; /* metrics: OpenMetrics 1.0 instead of Prometheus text */
	/*
	 * A backend command's own members (ctl_cmd_is_backend()), as the text of
	 * one JSON object ("" for none). On the wire they stand in the request
	 * object beside ctl's own; only the backend's exec hook reads them.
	 */
	char args[CTL_ARGS_MAX + 1];
};

/* "grow", "list", ...; NULL for an unknown value. */
const char *ctl_cmd_name(enum ctl_cmd cmd);
/* Whether the command is an operation that runs in the engine's loop. */
bool ctl_cmd_is_op(enum ctl_cmd cmd);
/* Whether only a running hotmemd can answer it (the policy lives there). */
bool ctl_cmd_needs_daemon(enum ctl_cmd cmd);
/* Whether the backend answers it (ctl_backend_ops.exec), not ctl. */
bool ctl_cmd_is_backend(enum ctl_cmd cmd);
/* Whether the request names a domain ("domain"). */
bool ctl_cmd_needs_domain(enum ctl_cmd cmd);

/* One request as one JSON line with '\n'; malloc()ed. -ENOMEM. */
int ctl_request_format(const struct ctl_request *req, char **ret_line);
/* Parse one request line. -EINVAL (message says why). */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *ret_req, char *msg,
		      size_t msg_size);

struct ctl_host;
struct ctl_metrics_ops;

/*
 * What a backend other than Xen adds to ctl (toolstack/sim: the simulated
 * host). Every hook returns 0 or a negative errno.
 */
struct ctl_backend_ops {
	/*
	 * Build the backend from config (the backend's own type) and open a
	 * privileged (dom0) connection to it. *ret_backend goes to the other
	 * hooks as ctl_host.backend_data. Fills msg on failure.
	 */
	int (*open)(const void *config, void **ret_backend, struct hv **ret_hv, char *msg,
		    size_t msg_size);
	/* Free what open built, after the connection is closed (NULL: no-op). */
	void (*close)(void *backend);
	/*
	 * Answer a backend command (ctl_cmd_is_backend()) for domid (0 if the
	 * command names no domain), its reply object into gen; the reply is
	 * written either way.
	 */
	int (*exec)(struct ctl_host *host, const struct ctl_request *req, uint32_t domid,
		    yajl_gen gen);
	/* The backend's own invariants: 0, or -EUCLEAN with one line in why. */
	int (*check)(void *backend, char *why, size_t why_size);
};

/* What a request runs against. */
struct ctl_host {
	struct hv *hv;
	struct hotmem *hm;
	const char *journal_dir;
	const char *backend; /* "xen" or "sim" */
	/* The backend's commands; NULL on Xen, which has none. */
	const struct ctl_backend_ops *backend_ops;
	void *backend_data; /* what backend_ops->open built */
	/* Operations counted for metrics (hotmemd's, metrics.h); NULL: none yet. */
	const struct ctl_metrics_ops *op_stats;
};

/* How ctl_host_open() opens a host. */
struct ctl_host_params {
	const char *backend;		    /* "xen" or "sim": for ping, list and the lock */
	const struct ctl_backend_ops *ops;  /* NULL: Xen, through open_xen */
	const void *backend_config;	    /* what ops->open takes */
	const struct hotmem_config *engine; /* outlives the host (journal_dir) */
	/*
	 * How this program opens Xen (hotmemd: hv_xen_open() linked in;
	 * xl-hotmem: the module it loads only to run the engine itself); NULL:
	 * built without the xen backend. On failure msg says why
	 * (ctl_xen_open_failed()).
	 */
	int (*open_xen)(struct hv **ret_hv, char *msg, size_t msg_size);
};

/* The message for hv_xen_open()'s error r. */
void ctl_xen_open_failed(int r, char *msg, size_t msg_size);

/*
 * ctl_host_open - open the backend, the engine on it, and reconcile the
 * journal (hotmem_reconcile(): what a previous engine left is settled before
 * anything else runs). The caller holds the engine lock (ctl_lock()).
 * @ret_report: what reconcile did, may be NULL
 * @ret_reconcile_err: reconcile's own result (0, or a negative errno: the
 *	engine runs anyway and retries what failed), may be NULL
 * Fills every field of host but op_stats, which stays as the caller set it.
 * returns 0, or a negative errno with msg saying what could not be opened
 * (and nothing left open). Close with ctl_host_close().
 */
int ctl_host_open(struct ctl_host *host, const struct ctl_host_params *params,
		  struct hotmem_reconcile_report *ret_report, int *ret_reconcile_err, char *msg,
		  size_t msg_size);
/* Close the engine, the connection and the backend (each only if open). */
void ctl_host_close(struct ctl_host *host);

/*
 * ctl_resolve_domain - a domain by name or id, as xl takes it: all digits is a
 * domid that must exist; anything else is matched against every
 * /local/domain/<id>/name. Fills msg on failure.
 * returns 0; -ESRCH unknown; -ENOTUNIQ ambiguous name; -EINVAL dom0 or bad
 * text; other negative errno from xenstore.
 */
int ctl_resolve_domain(struct ctl_host *host, const char *text, uint32_t *ret_domid, char *msg,
		       size_t msg_size);

/* "Domain-0", "web", ...: the domain's xenstore name into buf ("" if none). */
void ctl_domain_name(struct ctl_host *host, uint32_t domid, char *buf, size_t size);

/*
 * ctl_exec_now - run a request that finishes at once (everything but the
 * operations) and write its reply object into gen. Returns 0 or a negative
 * errno; the reply is written either way ({"ok":false,...} on failure).
 * policy and top need the daemon's policy: here they fail with -EOPNOTSUPP
 * (hotmemd answers them itself).
 */
int ctl_exec_now(struct ctl_host *host, const struct ctl_request *req, yajl_gen gen);

/* One operation (grow/shrink/set) from request to reply, in any loop. */
struct ctl_op {
	struct ctl_request req;
	uint32_t domid;
	char name[CTL_DOMAIN_MAX + 1];
	bool attached_now;	    /* this request attached the domain implicitly */
	uint64_t ready_deadline_ms; /* when waiting for the guest gives up */
	struct hotmem_operation *op;
	uint32_t resolve_ms;	   /* ctl_op_begin() finding the domain */
	uint32_t open_ms;	   /* in-process: opening the engine for it (hotmemd: 0) */
	int error;		   /* final error when done and no result */
	char msg[CTL_MESSAGE_MAX]; /* its message */
};

/*
 * ctl_op_begin - resolve the domain and start the operation.
 * returns 0, started (or finished at once); -EAGAIN with op->error still 0,
 * the guest of a domain this call attached is not ready yet: call
 * ctl_op_step() after the next dispatch; any other negative errno, or -EAGAIN
 * with op->error set (the guest is not ready and this call did not attach
 * it, or it did not get ready in CTL_READY_TIMEOUT_MS): refused (op->error/msg
 * set, nothing changed except, maybe, an implicit attach, which stays).
 */
int ctl_op_begin(struct ctl_host *host, const struct ctl_request *req, uint64_t now_ms,
		 struct ctl_op *op);
/* Retry a begin that is waiting: 0 started, -EAGAIN with op->error 0 still waiting, or a
 * final error (op->error set, possibly -EAGAIN). */
int ctl_op_step(struct ctl_host *host, struct ctl_op *op, uint64_t now_ms);
/* Whether the operation has ended (refused, or the engine says it is done). */
bool ctl_op_done(const struct ctl_op *op);
/* Write the reply of an ended operation into gen; returns its error (0 = all done). */
int ctl_op_reply(struct ctl_host *host, struct ctl_op *op, yajl_gen gen);
/* Free the engine handle (the operation goes on if it had not ended). */
void ctl_op_release(struct ctl_op *op);

/* "populated", "online", "refused", "rolled-back", "reclaimed" ("?" if unknown). */
const char *ctl_progress_name(enum hotmem_progress_event event);
/* A progress event as one JSON object {"event":"progress",...} into gen. */
void ctl_gen_progress(yajl_gen gen, const struct hotmem_progress *progress);
/*
 * A reply with a result: ctl_gen_reply_begin() writes {"ok":true,"result":{
 * (err 0) or {"ok":false,"errno":-err,"error":msg,"result":{ (an operation
 * that ended in an error still says what it did), the caller writes the
 * result's members, ctl_gen_reply_end() the two closing braces.
 */
void ctl_gen_reply_begin(yajl_gen gen, int err, const char *msg);
void ctl_gen_reply_end(yajl_gen gen);
/* {"ok":false,"errno":N,"error":"message"} into gen. */
void ctl_gen_error(yajl_gen gen, int err, const char *msg);

/* JSON members for code that builds replies ("key": value). */
void ctl_gen_str(yajl_gen gen, const char *key, const char *value);
void ctl_gen_u64(yajl_gen gen, const char *key, uint64_t value);
void ctl_gen_bool(yajl_gen gen, const char *key, bool value);
void ctl_gen_key(yajl_gen gen, const char *key);

/* Operator text for an error of attach, detach or another domain command (never NULL). */
const char *ctl_attach_strerror(int err);

/* "domain 'DOM' (dN): cannot CMD: why" as an error reply (why: ctl_attach_strerror()). */
void ctl_gen_domain_error(yajl_gen gen, const struct ctl_request *req, uint32_t domid, int err);

/* A non-negative integer member of a parsed object: 0, -ENOENT absent, -EINVAL not one. */
int ctl_tree_u64(yajl_val obj, const char *key, uint64_t *ret_value);

/* Operator text for an engine error of an operation (never NULL). */
const char *ctl_op_strerror(enum ctl_cmd cmd, int err);

/* "grow" "shrink" "set" for an engine kind. */
const char *ctl_kind_name(enum hotmem_op_kind kind);

/* Monotonic milliseconds. */
uint64_t ctl_now_ms(void);

/*
 * The engine lock: one per journal. Its directory is CTL_LOCK_DIR (or
 * $HOTMEM_LOCK_DIR), not the socket's: systemd removes a unit's
 * RuntimeDirectory (/run/hotmem) when the unit stops or fails, and a lock
 * file removed while held guards nothing.
 */
#define CTL_LOCK_DIR "/run/lock/hotmem"

/*
 * The lock path of an engine on backend ("xen", "sim") and journal_dir into
 * buf: <dir>/<backend><journal_dir escaped>.lock. The sim's journal lives in
 * the process serving socket_path, so for "sim" the lock is the socket path
 * with ".sock" replaced by ".lock" (or, with $HOTMEM_LOCK_DIR, the socket is
 * part of the name there). -ENAMETOOLONG.
 */
int ctl_lock_path(const char *backend, const char *journal_dir, const char *socket_path, char *buf,
		  size_t size);

/*
 * ctl_lock - take the engine lock (flock LOCK_EX | LOCK_NB on the file,
 * created 0600, directory created 0700 if missing), and check that the file
 * locked is still the one at lock_path (same inode). Returns the fd (keep it
 * open while the engine runs), -EWOULDBLOCK if another engine holds it, or
 * another negative errno.
 */
int ctl_lock(const char *lock_path);

#endif /* HOTMEM_CTL_H */
