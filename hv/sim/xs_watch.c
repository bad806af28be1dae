/*
 * The sim's xenstored, watch half (xenstored_watch.c and the special nodes
 * of xenstored_domain.c in Xen 4.17): registering and removing watches,
 * deciding who sees an event, and queueing events on a connection behind a
 * real file descriptor.
 *
 *  - A watch fires once on registration (unconditionally, as xenstored's
 *    do_watch() does), then for each change at or below its path; rm fires
 *    for the removed node (non-exact, for watches at or above it) and for
 *    each removed descendant (exact, for watches on it), children first.
 *  - A connection only gets an event if it may read the node or its parent,
 *    or could read the node before a permission change (watch_permitted()).
 *  - @releaseDomain and @introduceDomain fire exactly, to connections their
 *    own permissions let read (dom0 only until dom0 says otherwise).
 *  - Relative watches report paths relative to /local/domain/<id>
 *    (get_watch_path()). Duplicates are -EEXIST, unknown unwatches
 *    -ENOENT, and a domU may hold "more than quota" watches: 128 + 1
 *    (checked before adding, as xenstored does), then -E2BIG.
 *  - Each connection's events sit in a FIFO; an eventfd in semaphore mode
 *    counts them, so the fd is readable exactly while events are queued.
 *    Unwatching also drops that watch's queued events (libxenstore's
 *    xs_unwatch() does the same on the client side).
 */
#include "xs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- firing -------------------------------------------------------------- */

/*
 * The eventfd counts queued events: one up per event queued, one down per
 * event taken off (semaphore mode). Its counter can't overflow or underflow
 * as long as these are the only writers and readers, so results are moot.
 */
static void event_fd_up(struct sim_conn *conn)
{
	uint64_t one = 1;
	ssize_t n = write(conn->event_fd, &one, sizeof(one));

	(void)n;
}

static void event_fd_down(struct sim_conn *conn)
{
	uint64_t one;
	ssize_t n = read(conn->event_fd, &one, sizeof(one));

	(void)n;
}

void sim_conn_queue_event(struct sim_conn *conn, struct xs_watch *watch, const char *path)
{
	struct xs_event *event = calloc(1, sizeof(*event));
	const char *shown = path;

	/* xenstored's get_watch_path(): drop "/local/domain/<id>" and a '/'. */
	if (watch->strip && !strncmp(path, watch->path, watch->strip)) {
		shown = path + watch->strip;
		if (*shown == '/')
			shown++;
	}
	if (!event)
		return;
	event->path = strdup(shown);
	event->token = strdup(watch->token);
	if (!event->path || !event->token) {
		/* xenstored drops events it can't allocate, too. */
		free(event->path);
		free(event->token);
		free(event);
		return;
	}
	event->watch = watch;
	if (conn->events_tail)
		conn->events_tail->next = event;
	else
		conn->events_head = event;
	conn->events_tail = event;
	event_fd_up(conn);
	conn->sim->stats.xs_watch_events++;
}

/* Can conn see an event under any of the permission sets? */
static bool watch_permitted(const struct sim_conn *conn, const struct perm_set *sets,
			    unsigned int nr_sets)
{
	unsigned int i;

	for (i = 0; i < nr_sets; i++)
		if (sets[i].perms && xs_perm_for(conn, sets[i].perms, sets[i].nr) & HV_XS_PERM_READ)
			return true;
	return false;
}

void xs_fire_watches(struct hv_sim *sim, const char *path, bool exact, const struct perm_set *sets,
		     unsigned int nr_sets)
{
	struct sim_conn *conn;
	struct xs_watch *watch;

	for (conn = sim->conns; conn; conn = conn->next) {
		if (conn->dead || !conn->watches || !watch_permitted(conn, sets, nr_sets))
			continue;
		for (watch = conn->watches; watch; watch = watch->next) {
			if (exact ? !strcmp(watch->path, path) : xs_is_child(path, watch->path))
				sim_conn_queue_event(conn, watch, path);
		}
	}
}

/* Fire for a store node that exists now (its and its parent's permissions). */
void xs_fire_node(struct hv_sim *sim, const struct xs_node *node, bool exact,
		  const struct hv_xs_perm *old_perms, unsigned int nr_old)
{
	struct perm_set sets[3] = {
		{ node->perms, node->nr_perms },
		{ node->parent ? node->parent->perms : NULL,
		  node->parent ? node->parent->nr_perms : 0 },
		{ old_perms, nr_old },
	};

	xs_fire_watches(sim, node->path, exact, sets, 3);
}

struct hv_xs_perm **xs_special_perms(struct xs_store *xs, const char *name, unsigned int **ret_nr)
{
	if (!strcmp(name, "@releaseDomain")) {
		*ret_nr = &xs->nr_release_perms;
		return &xs->release_perms;
	}
	if (!strcmp(name, "@introduceDomain")) {
		*ret_nr = &xs->nr_introduce_perms;
		return &xs->introduce_perms;
	}
	return NULL;
}

void xs_fire_special(struct hv_sim *sim, const char *name)
{
	unsigned int *nr;
	struct hv_xs_perm **perms = xs_special_perms(&sim->xs, name, &nr);
	struct perm_set set;

	if (!perms)
		return;
	set.perms = *perms;
	set.nr = *nr;
	xs_fire_watches(sim, name, true, &set, 1);
}

/* ---- watch registration and delivery ------------------------------------- */

/* The canonical form of a watch path, and how much a relative one strips. */
static int watch_path(const struct sim_conn *conn, const char *given, char **ret_path,
		      size_t *ret_strip)
{
	char prefix[32];
	int r;

	if (!given)
		return -EINVAL;
	if (given[0] == '@') {
		if (strlen(given) > XS_REL_PATH_MAX)
			return -EINVAL;
		*ret_path = strdup(given);
		*ret_strip = 0;
		return *ret_path ? 0 : -ENOMEM;
	}
	r = xs_canonicalize(conn, given, ret_path);
	if (r < 0)
		return r;
	xs_domain_path(conn->domid, prefix, sizeof(prefix));
	*ret_strip = given[0] == '/' ? 0 : strlen(prefix);
	return 0;
}

int xs_op_watch(struct sim_conn *conn, const char *given, const char *token)
{
	struct xs_watch *watch, **tail;
	char *path;
	size_t strip;
	int r;

	if (!token)
		return -EINVAL;
	r = watch_path(conn, given, &path, &strip);
	if (r < 0)
		return r;
	for (tail = &conn->watches; *tail; tail = &(*tail)->next) {
		if (!strcmp((*tail)->path, path) && !strcmp((*tail)->token, token)) {
			free(path);
			return -EEXIST;
		}
	}
	if (!conn->privileged && conn->nr_watches > conn->sim->cfg.xs_quota_watches) {
		free(path);
		return -E2BIG;
	}
	watch = calloc(1, sizeof(*watch));
	if (!watch || !(watch->token = strdup(token))) {
		free(watch);
		free(path);
		return -ENOMEM;
	}
	watch->path = path;
	watch->strip = strip;
	*tail = watch;
	conn->nr_watches++;
	/* We fire once up front: simplifies clients and restart. */
	sim_conn_queue_event(conn, watch, watch->path);
	return 0;
}

static void drop_events_of(struct sim_conn *conn, const struct xs_watch *watch)
{
	struct xs_event **link = &conn->events_head, *event;

	conn->events_tail = NULL;
	while ((event = *link)) {
		if (event->watch != watch) {
			conn->events_tail = event;
			link = &event->next;
			continue;
		}
		*link = event->next;
		free(event->path);
		free(event->token);
		free(event);
		event_fd_down(conn);
	}
}

int xs_op_unwatch(struct sim_conn *conn, const char *given, const char *token)
{
	struct xs_watch **link, *watch;
	char *path;
	size_t strip;
	int r;

	if (!token)
		return -EINVAL;
	r = watch_path(conn, given, &path, &strip);
	if (r < 0)
		return r;
	for (link = &conn->watches; (watch = *link); link = &watch->next) {
		if (!strcmp(watch->path, path) && !strcmp(watch->token, token)) {
			*link = watch->next;
			conn->nr_watches--;
			drop_events_of(conn, watch);
			free(watch->path);
			free(watch->token);
			free(watch);
			free(path);
			return 0;
		}
	}
	free(path);
	return -ENOENT;
}

int xs_op_read_watch(struct sim_conn *conn, char **ret_path, char **ret_token)
{
	struct xs_event *event = conn->events_head;

	if (!ret_path || !ret_token)
		return -EINVAL;
	if (!event)
		return -EAGAIN;
	conn->events_head = event->next;
	if (!conn->events_head)
		conn->events_tail = NULL;
	event_fd_down(conn);
	*ret_path = event->path;
	*ret_token = event->token;
	free(event);
	return 0;
}

void xs_watches_release(struct sim_conn *conn)
{
	struct xs_watch *watch;

	while ((watch = conn->watches)) {
		conn->watches = watch->next;
		drop_events_of(conn, watch);
		free(watch->path);
		free(watch->token);
		free(watch);
	}
	conn->nr_watches = 0;
}
