/*
 * The sim's xenstored, store half: a tree of nodes with byte values,
 * permissions, per-domain quotas and transactions, following the Xen 4.17
 * daemon (tools/xenstore/xenstored_core.c, _transaction.c, _domain.c) and
 * the client library's limits (xs.c):
 *
 *  - Permissions (perm_for_conn): dom0 and the node's owner (perms[0]) may
 *    do everything; others get their own entry's bits, else perms[0]'s bits.
 *    A missing or forbidden node answers -ENOENT only if the nearest
 *    existing ancestor grants the wanted access, else -EACCES
 *    (errno_from_parents), so a guest can't probe what it can't see.
 *  - Creation (construct_node): writing or mkdir'ing a missing node creates
 *    its missing ancestors; each inherits its parent's permissions and an
 *    unprivileged creator becomes the owner. mkdir of an existing node is a
 *    no-op; rm of a missing node is fine if its parent exists; rm "/" is
 *    -EINVAL. Only the owner or dom0 may set permissions (-EACCES), a domU
 *    may not change the owner (-EPERM).
 *  - Limits: a write's path + NUL + value over XENSTORE_PAYLOAD_MAX (4096)
 *    is -E2BIG (xs.c); absolute paths over 3072 bytes, relative ones over
 *    2048, or with characters outside [A-Za-z0-9-/_@], "//" or a trailing
 *    "/" are -EINVAL. Quotas bind domUs only and answer -ENOSPC: nodes owned
 *    (1000), permission entries per node (5), record size (2048: the sim
 *    counts 20 bytes of header + 8 per permission + value + child names);
 *    open transactions (10) and watches (128, -E2BIG) are checked before
 *    adding with ">" as xenstored does, so one more slips in.
 *  - Transactions (xenstored_transaction.c): a node is copied into the
 *    transaction at its first access with its generation count; later reads
 *    see that copy, writes stay private. Commit fails with -EAGAIN if any
 *    node the transaction touched (read, written, listed, or looked at as a
 *    parent) has a different generation in the store, i.e. was changed,
 *    created or removed after the transaction first touched it; a change of
 *    a node's children changes its generation. Watches of a transaction's
 *    changes fire at commit.
 *  - Watches live in xs_watch.c; this file only says which node changed
 *    (immediately, or at commit for a transaction's changes).
 * Generation counts start at 1; 0 means "absent".
 */
#include "xs_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XS_PAYLOAD_MAX	4096 /* XENSTORE_PAYLOAD_MAX */
#define XS_ABS_PATH_MAX 3072 /* XENSTORE_ABS_PATH_MAX */
#define XS_RECORD_HDR	20   /* struct xs_tdb_record_hdr, roughly */

/* A node as a transaction sees it. */
struct txn_entry {
	char *path;
	struct txn_entry *hash_next;
	struct txn_entry *next; /* in order of first access */
	unsigned int seq;	/* position in that order */
	uint64_t generation;	/* of the store node at first access; 0 = absent */
	bool exists;
	bool modified;
	char *value;
	size_t len;
	struct hv_xs_perm *perms;
	unsigned int nr_perms;
	char *children; /* NUL-separated names, in order */
	size_t childlen;
};

/* A watch event a transaction will fire at commit. */
struct txn_event {
	struct txn_event *next;
	char *path;
	bool exact;
	struct hv_xs_perm *perms; /* the node's permissions when it changed */
	unsigned int nr_perms;
};

struct owner_delta {
	struct owner_delta *next;
	uint32_t domid;
	int64_t delta;
};

struct sim_txn {
	struct sim_txn *next;
	hv_xs_txn id;
	struct hmap index; /* hash(path) -> chain of txn_entry */
	struct txn_entry *first, *last;
	unsigned int nr_entries;
	struct txn_event *events, *events_tail;
	struct owner_delta *owners;
	bool failed; /* ran out of memory: commit returns -ENOMEM */
};

/* Who is acting, and through which transaction (NULL: directly). */
struct xs_ctx {
	struct hv_sim *sim;
	struct xs_store *xs;
	struct sim_conn *conn; /* NULL: the sim itself, privileged */
	struct sim_txn *txn;
};

/* A node through the eyes of ctx. */
struct view {
	bool exists;
	const char *value;
	size_t len;
	const struct hv_xs_perm *perms;
	unsigned int nr_perms;
	struct xs_node *node;	 /* direct */
	struct txn_entry *entry; /* in a transaction */
};

/* ---- small helpers ------------------------------------------------------- */

static bool privileged(const struct sim_conn *conn)
{
	return !conn || conn->privileged;
}

unsigned int xs_perm_for(const struct sim_conn *conn, const struct hv_xs_perm *perms,
			 unsigned int nr)
{
	unsigned int i;

	if (privileged(conn) || (nr && perms[0].domid == conn->domid))
		return HV_XS_PERM_BOTH | XS_PERM_OWNER;
	for (i = 1; i < nr; i++)
		if (perms[i].domid == conn->domid)
			return perms[i].perm;
	return nr ? perms[0].perm : HV_XS_PERM_NONE;
}

static struct hv_xs_perm *perms_dup(const struct hv_xs_perm *perms, unsigned int nr)
{
	struct hv_xs_perm *copy = malloc((nr ? nr : 1) * sizeof(*copy));

	if (copy && nr)
		memcpy(copy, perms, nr * sizeof(*copy));
	return copy;
}

/* Copy len bytes plus a NUL. */
static char *bytes_dup(const void *bytes, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return NULL;
	if (len)
		memcpy(copy, bytes, len);
	copy[len] = '\0';
	return copy;
}

static const char *basename_of(const char *path)
{
	return strrchr(path, '/') + 1;
}

/* Parent path of an absolute path other than "/"; malloc()ed. */
static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == path)
		return strdup("/");
	return bytes_dup(path, (size_t)(slash - path));
}

static char *child_path(const char *parent, const char *name)
{
	size_t plen = strcmp(parent, "/") ? strlen(parent) : 0;
	size_t nlen = strlen(name);
	char *path = malloc(plen + 1 + nlen + 1);

	if (!path)
		return NULL;
	memcpy(path, parent, plen);
	path[plen] = '/';
	memcpy(path + plen + 1, name, nlen + 1);
	return path;
}

/* Is child equal to or below parent? (xenstored's is_child) */
bool xs_is_child(const char *child, const char *parent)
{
	size_t len = strlen(parent);

	if (!strcmp(parent, "/"))
		return child[0] == '/';
	if (strncmp(child, parent, len))
		return false;
	return child[len] == '/' || child[len] == '\0';
}

static unsigned int path_depth(const char *path)
{
	unsigned int depth = 0;

	for (; *path; path++)
		depth += *path == '/';
	return depth;
}

void xs_domain_path(uint32_t domid, char *buf, size_t size)
{
	snprintf(buf, size, "/local/domain/%" PRIu32, domid);
}

static bool valid_path(const char *path)
{
	size_t len = strlen(path);
	const char *p;

	if (path[0] != '/' || len > XS_ABS_PATH_MAX)
		return false;
	if (len > 1 && path[len - 1] == '/')
		return false;
	for (p = path; *p; p++) {
		if (p[0] == '/' && p[1] == '/')
			return false;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-/_@", *p)))
			return false;
	}
	return true;
}

/* Absolute, validated path for conn: relative ones hang off its domain path. */
int xs_canonicalize(const struct sim_conn *conn, const char *path, char **ret_path)
{
	char prefix[32], *full;

	if (!path)
		return -EINVAL;
	if (path[0] == '/') {
		full = strdup(path);
	} else {
		if (strlen(path) > XS_REL_PATH_MAX || !path[0])
			return -EINVAL;
		xs_domain_path(conn ? conn->domid : 0, prefix, sizeof(prefix));
		full = child_path(prefix, path);
	}
	if (!full)
		return -ENOMEM;
	if (!valid_path(full)) {
		free(full);
		return -EINVAL;
	}
	*ret_path = full;
	return 0;
}

/* ---- the store ----------------------------------------------------------- */

static struct xs_node *node_lookup(const struct xs_store *xs, const char *path)
{
	struct xs_node *node = hmap_get(&xs->index, hmap_hash_str(path));

	while (node && strcmp(node->path, path))
		node = node->hash_next;
	return node;
}

static uint64_t owner_count(const struct xs_store *xs, uint32_t domid)
{
	return (uintptr_t)hmap_get(&xs->owner_counts, (uint64_t)domid + 1);
}

/* Counts only move by one, so the map can't need to grow when a count
 * drops; growth when a count appears is reserved by the callers. */
static void owner_add(struct xs_store *xs, uint32_t domid, int delta)
{
	uint64_t count = owner_count(xs, domid) + (uint64_t)(int64_t)delta;

	if (count)
		hmap_put(&xs->owner_counts, (uint64_t)domid + 1, (void *)(uintptr_t)count);
	else
		hmap_del(&xs->owner_counts, (uint64_t)domid + 1);
}

static void node_touch(struct xs_store *xs, struct xs_node *node)
{
	node->generation = xs->generation++;
}

static void node_free(struct xs_node *node)
{
	if (!node)
		return;
	free(node->path);
	free(node->value);
	free(node->perms);
	free(node);
}

/* Create path (its parent exists) with a copy of value and perms. */
static struct xs_node *node_new(struct xs_store *xs, struct xs_node *parent, const char *path,
				const void *value, size_t len, const struct hv_xs_perm *perms,
				unsigned int nr_perms)
{
	struct xs_node *node = calloc(1, sizeof(*node));
	uint64_t hash = hmap_hash_str(path);

	if (!node)
		return NULL;
	node->path = strdup(path);
	node->value = bytes_dup(value, len);
	node->perms = perms_dup(perms, nr_perms);
	if (!node->path || !node->value || !node->perms || hmap_reserve(&xs->index, 1) < 0 ||
	    hmap_reserve(&xs->owner_counts, 1) < 0) {
		node_free(node);
		return NULL;
	}
	node->len = len;
	node->nr_perms = nr_perms;
	node->hash_next = hmap_get(&xs->index, hash);
	hmap_put(&xs->index, hash, node);
	node->parent = parent;
	if (parent) {
		node->prev_sibling = parent->last_child;
		if (parent->last_child)
			parent->last_child->next_sibling = node;
		else
			parent->first_child = node;
		parent->last_child = node;
		parent->nr_children++;
		node_touch(xs, parent);
	}
	node_touch(xs, node);
	owner_add(xs, perms[0].domid, 1);
	xs->nr_nodes++;
	return node;
}

/* Remove a node without children from the tree and free it. */
static void node_unlink(struct xs_store *xs, struct xs_node *node)
{
	uint64_t hash = hmap_hash_str(node->path);
	struct xs_node **link;
	struct xs_node *parent = node->parent;

	if (parent) {
		if (node->prev_sibling)
			node->prev_sibling->next_sibling = node->next_sibling;
		else
			parent->first_child = node->next_sibling;
		if (node->next_sibling)
			node->next_sibling->prev_sibling = node->prev_sibling;
		else
			parent->last_child = node->prev_sibling;
		parent->nr_children--;
		node_touch(xs, parent);
	}
	/* Unchain from the hash index. */
	if (hmap_get(&xs->index, hash) == node) {
		if (node->hash_next)
			hmap_put(&xs->index, hash, node->hash_next);
		else
			hmap_del(&xs->index, hash);
	} else {
		for (link = &((struct xs_node *)hmap_get(&xs->index, hash))->hash_next;
		     *link != node; link = &(*link)->hash_next)
			;
		*link = node->hash_next;
	}
	owner_add(xs, node->perms[0].domid, -1);
	xs->nr_nodes--;
	node_free(node);
}

static int node_set_value(struct xs_store *xs, struct xs_node *node, const void *value, size_t len)
{
	char *copy = bytes_dup(value, len);

	if (!copy)
		return -ENOMEM;
	free(node->value);
	node->value = copy;
	node->len = len;
	node_touch(xs, node);
	return 0;
}

static int node_set_perms(struct xs_store *xs, struct xs_node *node, const struct hv_xs_perm *perms,
			  unsigned int nr)
{
	struct hv_xs_perm *copy = perms_dup(perms, nr);

	if (!copy || hmap_reserve(&xs->owner_counts, 1) < 0) {
		free(copy);
		return -ENOMEM;
	}
	owner_add(xs, node->perms[0].domid, -1);
	owner_add(xs, copy[0].domid, 1);
	free(node->perms);
	node->perms = copy;
	node->nr_perms = nr;
	node_touch(xs, node);
	return 0;
}

/* Remove a whole subtree without firing anything (transaction commit). */
static void node_remove_tree(struct xs_store *xs, struct xs_node *node)
{
	while (node->last_child)
		node_remove_tree(xs, node->last_child);
	node_unlink(xs, node);
}

int xs_store_init(struct xs_store *xs)
{
	static const struct hv_xs_perm dom0_none = { 0, HV_XS_PERM_NONE };

	memset(xs, 0, sizeof(*xs));
	xs->generation = 1;
	xs->next_txn_id = 1;
	xs->release_perms = perms_dup(&dom0_none, 1);
	xs->introduce_perms = perms_dup(&dom0_none, 1);
	xs->nr_release_perms = xs->nr_introduce_perms = 1;
	xs->root = node_new(xs, NULL, "/", NULL, 0, &dom0_none, 1);
	if (!xs->release_perms || !xs->introduce_perms || !xs->root) {
		xs_store_destroy(xs);
		return -ENOMEM;
	}
	return 0;
}

void xs_store_destroy(struct xs_store *xs)
{
	if (xs->root)
		node_remove_tree(xs, xs->root);
	hmap_free(&xs->index);
	hmap_free(&xs->owner_counts);
	free(xs->release_perms);
	free(xs->introduce_perms);
	memset(xs, 0, sizeof(*xs));
}

/* ---- transactions: entries and views ------------------------------------- */

static struct sim_txn *txn_find(struct sim_conn *conn, hv_xs_txn id)
{
	struct sim_txn *txn;

	for (txn = conn->txns; txn; txn = txn->next)
		if (txn->id == id)
			return txn;
	return NULL;
}

static struct txn_entry *txn_lookup(const struct sim_txn *txn, const char *path)
{
	struct txn_entry *entry = hmap_get(&txn->index, hmap_hash_str(path));

	while (entry && strcmp(entry->path, path))
		entry = entry->hash_next;
	return entry;
}

static void entry_free(struct txn_entry *entry)
{
	free(entry->path);
	free(entry->value);
	free(entry->perms);
	free(entry->children);
	free(entry);
}

/* Copy the store's node (or its absence) into the transaction. */
static struct txn_entry *txn_snapshot(struct xs_ctx *ctx, const char *path)
{
	const struct xs_node *node = node_lookup(ctx->xs, path);
	struct txn_entry *entry = calloc(1, sizeof(*entry));
	const struct xs_node *child;
	uint64_t hash = hmap_hash_str(path);
	size_t off = 0;

	if (!entry)
		return NULL;
	entry->path = strdup(path);
	if (!entry->path)
		goto fail;
	if (node) {
		entry->generation = node->generation;
		entry->exists = true;
		entry->value = bytes_dup(node->value, node->len);
		entry->len = node->len;
		entry->perms = perms_dup(node->perms, node->nr_perms);
		entry->nr_perms = node->nr_perms;
		for (child = node->first_child; child; child = child->next_sibling)
			entry->childlen += strlen(basename_of(child->path)) + 1;
		entry->children = malloc(entry->childlen ? entry->childlen : 1);
		if (!entry->value || !entry->perms || !entry->children)
			goto fail;
		for (child = node->first_child; child; child = child->next_sibling) {
			size_t n = strlen(basename_of(child->path)) + 1;

			memcpy(entry->children + off, basename_of(child->path), n);
			off += n;
		}
	}
	if (hmap_reserve(&ctx->txn->index, 1) < 0)
		goto fail;
	entry->hash_next = hmap_get(&ctx->txn->index, hash);
	hmap_put(&ctx->txn->index, hash, entry);
	entry->seq = ctx->txn->nr_entries++;
	if (ctx->txn->last)
		ctx->txn->last->next = entry;
	else
		ctx->txn->first = entry;
	ctx->txn->last = entry;
	return entry;
fail:
	entry_free(entry);
	return NULL;
}

static void view_fill_node(struct view *v, struct xs_node *node)
{
	memset(v, 0, sizeof(*v));
	v->node = node;
	if (!node)
		return;
	v->exists = true;
	v->value = node->value;
	v->len = node->len;
	v->perms = node->perms;
	v->nr_perms = node->nr_perms;
}

static void view_fill_entry(struct view *v, struct txn_entry *entry)
{
	memset(v, 0, sizeof(*v));
	v->entry = entry;
	if (!entry->exists)
		return;
	v->exists = true;
	v->value = entry->value;
	v->len = entry->len;
	v->perms = entry->perms;
	v->nr_perms = entry->nr_perms;
}

/* Look path up as ctx sees it; inside a transaction this records the access. */
static int view_get(struct xs_ctx *ctx, const char *path, struct view *v)
{
	struct txn_entry *entry;

	if (!ctx->txn) {
		view_fill_node(v, node_lookup(ctx->xs, path));
		return 0;
	}
	entry = txn_lookup(ctx->txn, path);
	if (!entry)
		entry = txn_snapshot(ctx, path);
	if (!entry) {
		ctx->txn->failed = true;
		return -ENOMEM;
	}
	view_fill_entry(v, entry);
	return 0;
}

static int64_t *txn_owner_delta(struct sim_txn *txn, uint32_t domid)
{
	struct owner_delta *d;

	for (d = txn->owners; d; d = d->next)
		if (d->domid == domid)
			return &d->delta;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->domid = domid;
	d->next = txn->owners;
	txn->owners = d;
	return &d->delta;
}

/* Nodes domid owns as ctx sees it. */
static uint64_t view_owner_count(struct xs_ctx *ctx, uint32_t domid)
{
	int64_t count = (int64_t)owner_count(ctx->xs, domid);
	struct owner_delta *d;

	for (d = ctx->txn ? ctx->txn->owners : NULL; d; d = d->next)
		if (d->domid == domid)
			count += d->delta;
	return count > 0 ? (uint64_t)count : 0;
}

static int txn_owner_add(struct xs_ctx *ctx, uint32_t domid, int delta)
{
	int64_t *d = txn_owner_delta(ctx->txn, domid);

	if (!d) {
		ctx->txn->failed = true;
		return -ENOMEM;
	}
	*d += delta;
	return 0;
}

static size_t view_childlen(const struct view *v)
{
	const struct xs_node *child;
	size_t len = 0;

	if (v->entry)
		return v->entry->childlen;
	for (child = v->node ? v->node->first_child : NULL; child; child = child->next_sibling)
		len += strlen(basename_of(child->path)) + 1;
	return len;
}

/* Child names as one malloc()ed block: the pointer array, then the strings. */
static int view_children(const struct view *v, char ***ret_names, unsigned int *ret_count)
{
	const struct xs_node *child;
	size_t childlen = view_childlen(v), off;
	unsigned int count = 0, i;
	const char *p;
	char **names, *strings;

	if (v->entry) {
		for (off = 0; off < childlen; off += strlen(v->entry->children + off) + 1)
			count++;
	} else {
		count = v->node ? v->node->nr_children : 0;
	}
	names = malloc((count + 1) * sizeof(char *) + childlen + 1);
	if (!names)
		return -ENOMEM;
	strings = (char *)(names + count + 1);
	if (v->entry) {
		if (childlen)
			memcpy(strings, v->entry->children, childlen);
	} else {
		off = 0;
		for (child = v->node ? v->node->first_child : NULL; child;
		     child = child->next_sibling) {
			size_t n = strlen(basename_of(child->path)) + 1;

			memcpy(strings + off, basename_of(child->path), n);
			off += n;
		}
	}
	for (i = 0, p = strings; i < count; i++, p += strlen(p) + 1)
		names[i] = (char *)p;
	names[count] = NULL;
	*ret_names = names;
	*ret_count = count;
	return 0;
}

/* ---- events, direct or queued in the transaction ------------------------- */

static void emit(struct xs_ctx *ctx, const char *path, bool exact, const struct view *v,
		 const struct hv_xs_perm *old_perms, unsigned int nr_old)
{
	struct txn_event *event;

	if (!ctx->txn) {
		if (v->node)
			xs_fire_node(ctx->sim, v->node, exact, old_perms, nr_old);
		return;
	}
	event = calloc(1, sizeof(*event));
	if (!event) {
		ctx->txn->failed = true;
		return;
	}
	event->path = strdup(path);
	event->exact = exact;
	/* Remember who could see the node before the change, too. */
	if (old_perms) {
		event->perms = perms_dup(old_perms, nr_old);
		event->nr_perms = nr_old;
	} else if (v->perms) {
		event->perms = perms_dup(v->perms, v->nr_perms);
		event->nr_perms = v->nr_perms;
	}
	if (!event->path || ((old_perms || v->perms) && !event->perms)) {
		free(event->path);
		free(event->perms);
		free(event);
		ctx->txn->failed = true;
		return;
	}
	if (ctx->txn->events_tail)
		ctx->txn->events_tail->next = event;
	else
		ctx->txn->events = event;
	ctx->txn->events_tail = event;
}

/* ---- operations on views ------------------------------------------------- */

/*
 * Look path up for an operation needing access want: 0 (found and allowed),
 * -ENOENT (missing, and the nearest existing ancestor grants some of want)
 * or -EACCES.
 */
static int view_get_checked(struct xs_ctx *ctx, const char *path, unsigned int want, struct view *v)
{
	struct view anc;
	char *cur, *up;
	int r;

	r = view_get(ctx, path, v);
	if (r < 0)
		return r;
	if (v->exists)
		return (xs_perm_for(ctx->conn, v->perms, v->nr_perms) & want) == want ? 0 : -EACCES;
	r = -ENOENT;
	/* errno_from_parents(): what does the nearest existing ancestor say? */
	cur = strdup(path);
	while (cur && strcmp(cur, "/")) {
		up = parent_of(cur);
		free(cur);
		cur = up;
		if (!cur || view_get(ctx, cur, &anc) < 0) {
			free(cur);
			return -ENOMEM;
		}
		if (anc.exists) {
			if (!(xs_perm_for(ctx->conn, anc.perms, anc.nr_perms) & want))
				r = -EACCES;
			break;
		}
	}
	free(cur);
	return r;
}

static int check_entry_quota(struct xs_ctx *ctx, size_t len, unsigned int nr_perms, size_t childlen)
{
	size_t size = XS_RECORD_HDR + 8 * (size_t)nr_perms + len + childlen;

	if (!privileged(ctx->conn) && size >= ctx->sim->cfg.xs_quota_entry_bytes)
		return -ENOSPC;
	return 0;
}

static int view_set_value(struct xs_ctx *ctx, struct view *v, const void *value, size_t len)
{
	char *copy;
	int r;

	r = check_entry_quota(ctx, len, v->nr_perms, view_childlen(v));
	if (r < 0)
		return r;
	if (!ctx->txn) {
		r = node_set_value(ctx->xs, v->node, value, len);
		if (!r)
			view_fill_node(v, v->node);
		return r;
	}
	copy = bytes_dup(value, len);
	if (!copy) {
		ctx->txn->failed = true;
		return -ENOMEM;
	}
	free(v->entry->value);
	v->entry->value = copy;
	v->entry->len = len;
	v->entry->modified = true;
	view_fill_entry(v, v->entry);
	return 0;
}

static int entry_add_child(struct txn_entry *parent, const char *name)
{
	size_t n = strlen(name) + 1;
	char *children = realloc(parent->children, parent->childlen + n);

	if (!children)
		return -ENOMEM;
	memcpy(children + parent->childlen, name, n);
	parent->children = children;
	parent->childlen += n;
	parent->modified = true;
	return 0;
}

static void entry_del_child(struct txn_entry *parent, const char *name)
{
	size_t off, n;

	for (off = 0; off < parent->childlen; off += n) {
		n = strlen(parent->children + off) + 1;
		if (!strcmp(parent->children + off, name)) {
			memmove(parent->children + off, parent->children + off + n,
				parent->childlen - off - n);
			parent->childlen -= n;
			parent->modified = true;
			return;
		}
	}
}

/* Create path under the existing parent view pv. */
static int view_create_one(struct xs_ctx *ctx, struct view *pv, const char *path, const void *value,
			   size_t len, const struct hv_xs_perm *perms, unsigned int nr_perms,
			   struct view *v)
{
	struct txn_entry *entry;
	int r;

	if (!ctx->txn) {
		struct xs_node *node =
			node_new(ctx->xs, pv->node, path, value, len, perms, nr_perms);

		if (!node)
			return -ENOMEM;
		view_fill_node(pv, pv->node);
		view_fill_node(v, node);
		return 0;
	}
	r = view_get(ctx, path, v);
	if (r < 0)
		return r;
	entry = v->entry;
	free(entry->value);
	free(entry->perms);
	free(entry->children);
	entry->children = NULL;
	entry->childlen = 0;
	entry->value = bytes_dup(value, len);
	entry->len = len;
	entry->perms = perms_dup(perms, nr_perms);
	entry->nr_perms = nr_perms;
	if (!entry->value || !entry->perms || entry_add_child(pv->entry, basename_of(path)) < 0 ||
	    txn_owner_add(ctx, perms[0].domid, 1) < 0) {
		entry->exists = false;
		ctx->txn->failed = true;
		return -ENOMEM;
	}
	entry->exists = true;
	entry->modified = true;
	view_fill_entry(v, entry);
	return 0;
}

/*
 * construct_node()/create_node(): create path and its missing ancestors,
 * each inheriting the permissions of the nearest existing ancestor, owned
 * by the creator when it is unprivileged. Quotas are checked up front, so
 * -ENOSPC creates nothing.
 */
static int view_create(struct xs_ctx *ctx, const char *path, const void *value, size_t len,
		       struct view *v)
{
	char **missing = NULL, *cur = NULL;
	struct hv_xs_perm *perms = NULL;
	unsigned int nr_missing = 0, nr_perms, i;
	struct view pv;
	int r;

	cur = strdup(path);
	if (!cur)
		return -ENOMEM;
	for (;;) {
		char **grown = realloc(missing, (nr_missing + 1) * sizeof(*missing));
		char *up;

		if (!grown) {
			r = -ENOMEM;
			goto out;
		}
		missing = grown;
		missing[nr_missing++] = cur;
		up = parent_of(cur);
		cur = up;
		if (!cur) {
			r = -ENOMEM;
			goto out;
		}
		r = view_get(ctx, cur, &pv);
		if (r < 0)
			goto out;
		if (pv.exists)
			break;
	}
	free(cur);
	cur = NULL;

	nr_perms = pv.nr_perms;
	perms = perms_dup(pv.perms, nr_perms);
	if (!perms) {
		r = -ENOMEM;
		goto out;
	}
	if (!privileged(ctx->conn)) {
		perms[0].domid = ctx->conn->domid;
		if (view_owner_count(ctx, ctx->conn->domid) + nr_missing >
		    ctx->sim->cfg.xs_quota_nodes) {
			r = -ENOSPC;
			goto out;
		}
	}
	r = check_entry_quota(ctx, len, nr_perms, 0);
	if (r < 0)
		goto out;

	/* missing[] runs from path up to the highest missing ancestor. */
	for (i = nr_missing; i-- > 0;) {
		bool last = i == 0;

		r = view_create_one(ctx, &pv, missing[i], last ? value : NULL, last ? len : 0,
				    perms, nr_perms, v);
		if (r < 0)
			goto out;
		pv = *v;
	}
out:
	for (i = 0; i < nr_missing; i++)
		free(missing[i]);
	free(missing);
	free(cur);
	free(perms);
	return r;
}

static int view_set_perms(struct xs_ctx *ctx, struct view *v, const struct hv_xs_perm *perms,
			  unsigned int nr)
{
	struct hv_xs_perm *copy;
	int r;

	if (!ctx->txn) {
		r = node_set_perms(ctx->xs, v->node, perms, nr);
		if (!r)
			view_fill_node(v, v->node);
		return r;
	}
	copy = perms_dup(perms, nr);
	if (!copy || txn_owner_add(ctx, v->entry->perms[0].domid, -1) < 0 ||
	    txn_owner_add(ctx, perms[0].domid, 1) < 0) {
		free(copy);
		ctx->txn->failed = true;
		return -ENOMEM;
	}
	free(v->entry->perms);
	v->entry->perms = copy;
	v->entry->nr_perms = nr;
	v->entry->modified = true;
	view_fill_entry(v, v->entry);
	return 0;
}

/* rm: children first, an event for each node (exact below the root). */
static int view_remove(struct xs_ctx *ctx, const char *path, struct view *v, bool is_root)
{
	char **names = NULL, *cpath, *ppath;
	unsigned int count = 0, i;
	struct view cv, pv;
	int r;

	if (!ctx->txn) {
		struct xs_node *node = v->node;

		while (node->first_child) {
			view_fill_node(&cv, node->first_child);
			view_remove(ctx, cv.node->path, &cv, false);
		}
		xs_fire_node(ctx->sim, node, !is_root, NULL, 0);
		node_unlink(ctx->xs, node);
		return 0;
	}

	r = view_children(v, &names, &count);
	if (r < 0)
		goto nomem;
	for (i = 0; i < count; i++) {
		cpath = child_path(path, names[i]);
		if (!cpath)
			goto nomem;
		r = view_get(ctx, cpath, &cv);
		if (!r && cv.exists)
			r = view_remove(ctx, cpath, &cv, false);
		free(cpath);
		if (r < 0)
			goto nomem;
	}
	free(names);
	names = NULL;

	emit(ctx, path, !is_root, v, NULL, 0);
	if (txn_owner_add(ctx, v->entry->perms[0].domid, -1) < 0)
		goto nomem;
	v->entry->exists = false;
	v->entry->modified = true;
	ppath = parent_of(path);
	if (!ppath || view_get(ctx, ppath, &pv) < 0) {
		free(ppath);
		goto nomem;
	}
	free(ppath);
	if (pv.exists)
		entry_del_child(pv.entry, basename_of(path));
	view_fill_entry(v, v->entry);
	return 0;
nomem:
	free(names);
	ctx->txn->failed = true;
	return -ENOMEM;
}

/* ---- entry points -------------------------------------------------------- */

/* Set up ctx for conn and transaction id txn_id (0: none). */
static int ctx_init(struct xs_ctx *ctx, struct hv_sim *sim, struct sim_conn *conn, hv_xs_txn txn_id)
{
	ctx->sim = sim;
	ctx->xs = &sim->xs;
	ctx->conn = conn;
	ctx->txn = NULL;
	if (txn_id == HV_XS_NO_TXN)
		return 0;
	ctx->txn = conn ? txn_find(conn, txn_id) : NULL;
	return ctx->txn ? 0 : -ENOENT;
}

static int do_write(struct xs_ctx *ctx, const char *given, const void *value, size_t len)
{
	struct view v;
	char *path;
	int r;

	if (!given || (!value && len))
		return -EINVAL;
	if (strlen(given) + 1 + len > XS_PAYLOAD_MAX)
		return -E2BIG;
	r = xs_canonicalize(ctx->conn, given, &path);
	if (r < 0)
		return r;
	r = view_get_checked(ctx, path, HV_XS_PERM_WRITE, &v);
	if (!r)
		r = view_set_value(ctx, &v, value, len);
	else if (r == -ENOENT)
		r = view_create(ctx, path, value, len, &v);
	if (!r)
		emit(ctx, path, false, &v, NULL, 0);
	free(path);
	return r;
}

static int do_mkdir(struct xs_ctx *ctx, const char *given)
{
	struct view v;
	char *path;
	int r;

	r = xs_canonicalize(ctx->conn, given, &path);
	if (r < 0)
		return r;
	r = view_get_checked(ctx, path, HV_XS_PERM_WRITE, &v);
	if (r == -ENOENT) {
		r = view_create(ctx, path, NULL, 0, &v);
		if (!r)
			emit(ctx, path, false, &v, NULL, 0);
	}
	free(path);
	return r;
}

static int do_rm(struct xs_ctx *ctx, const char *given)
{
	struct view v, pv;
	char *path, *ppath;
	int r;

	r = xs_canonicalize(ctx->conn, given, &path);
	if (r < 0)
		return r;
	r = view_get_checked(ctx, path, HV_XS_PERM_WRITE, &v);
	if (!r) {
		if (!strcmp(path, "/"))
			r = -EINVAL;
		else
			r = view_remove(ctx, path, &v, true);
	} else if (r == -ENOENT) {
		/* Didn't exist already? Fine, if the parent does. */
		ppath = parent_of(path);
		if (!ppath)
			r = -ENOMEM;
		else if (!view_get(ctx, ppath, &pv) && pv.exists)
			r = 0;
		free(ppath);
	}
	free(path);
	return r;
}

static int do_set_perms(struct xs_ctx *ctx, const char *given, const struct hv_xs_perm *perms,
			unsigned int nr)
{
	struct hv_xs_perm *old = NULL, *copy;
	unsigned int nr_old, i, *nr_special;
	struct hv_xs_perm **special;
	struct view v;
	char *path;
	int r;

	if (!given || !perms || !nr)
		return -EINVAL;
	for (i = 0; i < nr; i++)
		if ((unsigned int)perms[i].perm > HV_XS_PERM_BOTH)
			return -EINVAL;
	if (!privileged(ctx->conn) && nr > ctx->sim->cfg.xs_quota_perms)
		return -ENOSPC;

	if (given[0] == '@') {
		special = xs_special_perms(ctx->xs, given, &nr_special);
		if (!special)
			return -EINVAL;
		if ((xs_perm_for(ctx->conn, *special, *nr_special) &
		     (HV_XS_PERM_WRITE | XS_PERM_OWNER)) != (HV_XS_PERM_WRITE | XS_PERM_OWNER))
			return -EACCES;
		copy = perms_dup(perms, nr);
		if (!copy)
			return -ENOMEM;
		free(*special);
		*special = copy;
		*nr_special = nr;
		return 0;
	}

	r = xs_canonicalize(ctx->conn, given, &path);
	if (r < 0)
		return r;
	r = view_get_checked(ctx, path, HV_XS_PERM_WRITE | XS_PERM_OWNER, &v);
	if (r < 0)
		goto out;
	if (!privileged(ctx->conn) && perms[0].domid != v.perms[0].domid) {
		r = -EPERM;
		goto out;
	}
	nr_old = v.nr_perms;
	old = perms_dup(v.perms, nr_old);
	if (!old) {
		r = -ENOMEM;
		goto out;
	}
	r = view_set_perms(ctx, &v, perms, nr);
	if (!r)
		emit(ctx, path, false, &v, old, nr_old);
out:
	free(old);
	free(path);
	return r;
}

int xs_sys_write(struct hv_sim *sim, const char *path, const char *value)
{
	struct xs_ctx ctx;

	ctx_init(&ctx, sim, NULL, HV_XS_NO_TXN);
	return do_write(&ctx, path, value, strlen(value));
}

int xs_sys_mkdir_perms(struct hv_sim *sim, const char *path, const struct hv_xs_perm *perms,
		       unsigned int nr_perms)
{
	struct xs_ctx ctx;
	int r;

	ctx_init(&ctx, sim, NULL, HV_XS_NO_TXN);
	r = do_mkdir(&ctx, path);
	if (!r)
		r = do_set_perms(&ctx, path, perms, nr_perms);
	return r;
}

int xs_sys_rm(struct hv_sim *sim, const char *path)
{
	struct xs_ctx ctx;

	ctx_init(&ctx, sim, NULL, HV_XS_NO_TXN);
	return do_rm(&ctx, path);
}

int xs_op_read(struct sim_conn *conn, hv_xs_txn txn, const char *given, char **ret_value,
	       size_t *ret_len)
{
	struct xs_ctx ctx;
	struct view v;
	char *path, *copy;
	int r;

	r = ctx_init(&ctx, conn->sim, conn, txn);
	if (!r)
		r = xs_canonicalize(conn, given, &path);
	if (r < 0)
		return r;
	r = view_get_checked(&ctx, path, HV_XS_PERM_READ, &v);
	free(path);
	if (r < 0)
		return r;
	copy = bytes_dup(v.value, v.len);
	if (!copy)
		return -ENOMEM;
	if (ret_value)
		*ret_value = copy;
	else
		free(copy);
	if (ret_len)
		*ret_len = v.len;
	return 0;
}

int xs_op_write(struct sim_conn *conn, hv_xs_txn txn, const char *path, const void *value,
		size_t len)
{
	struct xs_ctx ctx;
	int r = ctx_init(&ctx, conn->sim, conn, txn);

	return r ? r : do_write(&ctx, path, value, len);
}

int xs_op_mkdir(struct sim_conn *conn, hv_xs_txn txn, const char *path)
{
	struct xs_ctx ctx;
	int r = ctx_init(&ctx, conn->sim, conn, txn);

	return r ? r : do_mkdir(&ctx, path);
}

int xs_op_rm(struct sim_conn *conn, hv_xs_txn txn, const char *path)
{
	struct xs_ctx ctx;
	int r = ctx_init(&ctx, conn->sim, conn, txn);

	return r ? r : do_rm(&ctx, path);
}

int xs_op_directory(struct sim_conn *conn, hv_xs_txn txn, const char *given, char ***ret_names,
		    unsigned int *ret_count)
{
	struct xs_ctx ctx;
	struct view v;
	char *path, **names;
	unsigned int count;
	int r;

	if (!ret_names || !ret_count)
		return -EINVAL;
	r = ctx_init(&ctx, conn->sim, conn, txn);
	if (!r)
		r = xs_canonicalize(conn, given, &path);
	if (r < 0)
		return r;
	r = view_get_checked(&ctx, path, HV_XS_PERM_READ, &v);
	free(path);
	if (!r)
		r = view_children(&v, &names, &count);
	if (r < 0)
		return r;
	*ret_names = names;
	*ret_count = count;
	return 0;
}

int xs_op_get_perms(struct sim_conn *conn, hv_xs_txn txn, const char *given,
		    struct hv_xs_perm **ret_perms, unsigned int *ret_count)
{
	struct hv_xs_perm **special, *copy;
	unsigned int *nr_special;
	struct xs_ctx ctx;
	struct view v;
	char *path;
	int r;

	if (!ret_perms || !ret_count || !given)
		return -EINVAL;
	r = ctx_init(&ctx, conn->sim, conn, txn);
	if (r < 0)
		return r;
	if (given[0] == '@') {
		special = xs_special_perms(&conn->sim->xs, given, &nr_special);
		if (!special)
			return -EINVAL;
		copy = perms_dup(*special, *nr_special);
		if (!copy)
			return -ENOMEM;
		*ret_perms = copy;
		*ret_count = *nr_special;
		return 0;
	}
	r = xs_canonicalize(conn, given, &path);
	if (r < 0)
		return r;
	r = view_get_checked(&ctx, path, HV_XS_PERM_READ, &v);
	free(path);
	if (r < 0)
		return r;
	copy = perms_dup(v.perms, v.nr_perms);
	if (!copy)
		return -ENOMEM;
	*ret_perms = copy;
	*ret_count = v.nr_perms;
	return 0;
}

int xs_op_set_perms(struct sim_conn *conn, hv_xs_txn txn, const char *path,
		    const struct hv_xs_perm *perms, unsigned int nr_perms)
{
	struct xs_ctx ctx;
	int r = ctx_init(&ctx, conn->sim, conn, txn);

	return r ? r : do_set_perms(&ctx, path, perms, nr_perms);
}

int xs_op_domain_path(struct sim_conn *conn, uint32_t domid, char **ret_path)
{
	char buf[32], *copy;

	if (!ret_path)
		return -EINVAL;
	xs_domain_path(domid, buf, sizeof(buf));
	copy = strdup(buf);
	if (!copy)
		return -ENOMEM;
	*ret_path = copy;
	return 0;
}

/* ---- transactions: start, commit, abort ---------------------------------- */

static void txn_free(struct sim_txn *txn)
{
	struct txn_entry *entry, *next_entry;
	struct txn_event *event, *next_event;
	struct owner_delta *d, *next_d;

	for (entry = txn->first; entry; entry = next_entry) {
		next_entry = entry->next;
		entry_free(entry);
	}
	for (event = txn->events; event; event = next_event) {
		next_event = event->next;
		free(event->path);
		free(event->perms);
		free(event);
	}
	for (d = txn->owners; d; d = next_d) {
		next_d = d->next;
		free(d);
	}
	hmap_free(&txn->index);
	free(txn);
}

/* Take txn off its connection's list. */
static void txn_unlink(struct sim_conn *conn, struct sim_txn *txn)
{
	struct sim_txn **link;

	for (link = &conn->txns; *link != txn; link = &(*link)->next)
		;
	*link = txn->next;
	conn->nr_txns--;
}

int xs_op_txn_start(struct sim_conn *conn, hv_xs_txn *ret_txn)
{
	struct hv_sim *sim = conn->sim;
	struct sim_txn *txn;

	if (!ret_txn)
		return -EINVAL;
	if (!conn->privileged && conn->nr_txns > sim->cfg.xs_quota_txns)
		return -ENOSPC;
	txn = calloc(1, sizeof(*txn));
	if (!txn)
		return -ENOMEM;
	do {
		txn->id = sim->xs.next_txn_id++;
	} while (txn->id == HV_XS_NO_TXN);
	txn->next = conn->txns;
	conn->txns = txn;
	conn->nr_txns++;
	*ret_txn = txn->id;
	return 0;
}

static int entry_depth_cmp(const void *a, const void *b)
{
	const struct txn_entry *ea = *(const struct txn_entry *const *)a;
	const struct txn_entry *eb = *(const struct txn_entry *const *)b;
	unsigned int da = path_depth(ea->path), db = path_depth(eb->path);

	if (da != db)
		return da < db ? -1 : 1;
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq;
}

/* Write the transaction's changes into the store; generations already match. */
static int txn_apply(struct hv_sim *sim, struct sim_txn *txn)
{
	struct xs_store *xs = &sim->xs;
	struct txn_entry *entry, **writes;
	size_t nr_writes = 0, i;
	struct xs_node *node, *parent;
	char *ppath;
	int r = 0;

	/* Removals first: whole subtrees, without events (queued ones follow). */
	for (entry = txn->first; entry; entry = entry->next) {
		if (entry->modified && !entry->exists) {
			node = node_lookup(xs, entry->path);
			if (node)
				node_remove_tree(xs, node);
		}
		if (entry->modified && entry->exists)
			nr_writes++;
	}
	/* Then creations and updates, parents before children. */
	writes = malloc((nr_writes ? nr_writes : 1) * sizeof(*writes));
	if (!writes)
		return -ENOMEM;
	nr_writes = 0;
	for (entry = txn->first; entry; entry = entry->next)
		if (entry->modified && entry->exists)
			writes[nr_writes++] = entry;
	qsort(writes, nr_writes, sizeof(*writes), entry_depth_cmp);
	for (i = 0; !r && i < nr_writes; i++) {
		entry = writes[i];
		node = node_lookup(xs, entry->path);
		if (!node) {
			ppath = parent_of(entry->path);
			parent = ppath ? node_lookup(xs, ppath) : NULL;
			free(ppath);
			if (!parent || !node_new(xs, parent, entry->path, entry->value, entry->len,
						 entry->perms, entry->nr_perms))
				r = -ENOMEM;
			continue;
		}
		if (node->len != entry->len || memcmp(node->value, entry->value, entry->len))
			r = node_set_value(xs, node, entry->value, entry->len);
		if (!r &&
		    (node->nr_perms != entry->nr_perms ||
		     memcmp(node->perms, entry->perms, entry->nr_perms * sizeof(*node->perms))))
			r = node_set_perms(xs, node, entry->perms, entry->nr_perms);
	}
	free(writes);
	return r;
}

static void txn_fire(struct hv_sim *sim, struct sim_txn *txn)
{
	struct txn_event *event;

	for (event = txn->events; event; event = event->next) {
		const struct xs_node *node = node_lookup(&sim->xs, event->path);
		const struct xs_node *parent = NULL;
		char *ppath = strcmp(event->path, "/") ? parent_of(event->path) : NULL;
		struct perm_set sets[3] = { { event->perms, event->nr_perms } };

		if (ppath)
			parent = node_lookup(&sim->xs, ppath);
		free(ppath);
		if (node) {
			sets[1].perms = node->perms;
			sets[1].nr = node->nr_perms;
		}
		if (parent) {
			sets[2].perms = parent->perms;
			sets[2].nr = parent->nr_perms;
		}
		xs_fire_watches(sim, event->path, event->exact, sets, 3);
	}
}

int xs_op_txn_end(struct sim_conn *conn, hv_xs_txn id, bool abort)
{
	struct hv_sim *sim = conn->sim;
	struct sim_txn *txn = txn_find(conn, id);
	struct txn_entry *entry;
	int r = 0;

	if (id == HV_XS_NO_TXN || !txn)
		return -ENOENT;
	txn_unlink(conn, txn);
	if (abort)
		goto out;
	if (txn->failed) {
		r = -ENOMEM;
		goto out;
	}
	for (entry = txn->first; entry; entry = entry->next) {
		const struct xs_node *node = node_lookup(&sim->xs, entry->path);

		if ((node ? node->generation : 0) != entry->generation) {
			sim->stats.xs_txn_conflicts++;
			r = -EAGAIN;
			goto out;
		}
	}
	r = txn_apply(sim, txn);
	if (!r)
		txn_fire(sim, txn);
out:
	txn_free(txn);
	return r;
}

void xs_txn_discard(struct sim_conn *conn, hv_xs_txn id)
{
	struct sim_txn *txn = txn_find(conn, id);

	if (id == HV_XS_NO_TXN || !txn)
		return;
	txn_unlink(conn, txn);
	txn_free(txn);
}

void xs_conn_release(struct sim_conn *conn)
{
	struct sim_txn *txn;

	xs_watches_release(conn);
	while ((txn = conn->txns)) {
		conn->txns = txn->next;
		txn_free(txn);
	}
	conn->nr_txns = 0;
}

/* ---- invariant check ----------------------------------------------------- */

static int check_node(const struct xs_store *xs, const struct xs_node *node, struct hmap *owners,
		      uint64_t *count, char *why, size_t why_size)
{
	const struct xs_node *child, *prev = NULL;
	unsigned int nr = 0;
	int r;

	(*count)++;
	if (node_lookup(xs, node->path) != node)
		return sim_why(why, why_size, "xenstore: %s missing from the index", node->path);
	if (!node->nr_perms)
		return sim_why(why, why_size, "xenstore: %s has no permissions", node->path);
	if (hmap_reserve(owners, 1) < 0)
		return sim_why(why, why_size, "xenstore: out of memory while checking");
	hmap_put(owners, (uint64_t)node->perms[0].domid + 1,
		 (void *)((uintptr_t)hmap_get(owners, (uint64_t)node->perms[0].domid + 1) + 1));
	for (child = node->first_child; child; child = child->next_sibling) {
		char *expect = child_path(node->path, basename_of(child->path));
		bool ok = expect && !strcmp(expect, child->path);

		free(expect);
		if (!ok || child->parent != node || child->prev_sibling != prev)
			return sim_why(why, why_size, "xenstore: bad link %s -> %s", node->path,
				       child->path);
		r = check_node(xs, child, owners, count, why, why_size);
		if (r < 0)
			return r;
		prev = child;
		nr++;
	}
	if (nr != node->nr_children || node->last_child != prev)
		return sim_why(why, why_size, "xenstore: %s has %u children, count %u", node->path,
			       nr, node->nr_children);
	return 0;
}

int xs_check(struct hv_sim *sim, char *why, size_t why_size)
{
	const struct xs_store *xs = &sim->xs;
	struct hmap owners = { 0 };
	uint64_t count = 0, indexed = 0;
	size_t i;
	int r;

	r = check_node(xs, xs->root, &owners, &count, why, why_size);
	if (!r && count != xs->nr_nodes)
		r = sim_why(why, why_size, "xenstore: %llu nodes in the tree, count %llu",
			    (unsigned long long)count, (unsigned long long)xs->nr_nodes);
	for (i = 0; !r && i < xs->index.cap; i++) {
		const struct xs_node *node;

		for (node = xs->index.slots[i].val; node; node = node->hash_next)
			indexed++;
	}
	if (!r && indexed != count)
		r = sim_why(why, why_size, "xenstore: %llu nodes indexed, %llu in the tree",
			    (unsigned long long)indexed, (unsigned long long)count);
	for (i = 0; !r && i < owners.cap; i++) {
		if (owners.slots[i].val &&
		    (uintptr_t)hmap_get(&xs->owner_counts, owners.slots[i].key) !=
			    (uintptr_t)owners.slots[i].val)
			r = sim_why(why, why_size, "xenstore: d%llu owns %llu nodes, count %llu",
				    (unsigned long long)owners.slots[i].key - 1,
				    (unsigned long long)(uintptr_t)owners.slots[i].val,
				    (unsigned long long)(uintptr_t)hmap_get(&xs->owner_counts,
									    owners.slots[i].key));
	}
	if (!r && owners.len != xs->owner_counts.len)
		r = sim_why(why, why_size, "xenstore: owner counts for %zu domains, expected %zu",
			    xs->owner_counts.len, owners.len);
	hmap_free(&owners);
	return r;
}
