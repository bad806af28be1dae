/*
 * What the two halves of the sim's xenstored share: xenstore.c (tree,
 * permissions, quotas, transactions) and xs_watch.c (watches, events,
 * @releaseDomain/@introduceDomain). Private to hv/sim.
 */
#ifndef HOTMEM_SIM_XS_INTERNAL_H
#define HOTMEM_SIM_XS_INTERNAL_H

#include "sim_internal.h"

#define XS_REL_PATH_MAX 2048 /* XENSTORE_REL_PATH_MAX */
#define XS_PERM_OWNER	8    /* internal perm bit: owner or privileged */

/* A set of permissions under which a watcher may see an event. */
struct perm_set {
	const struct hv_xs_perm *perms;
	unsigned int nr;
};

/* xenstored's perm_for_conn(): dom0 (conn NULL or privileged) and the owner
 * get READ | WRITE | OWNER, others their entry or perms[0]'s bits. */
unsigned int xs_perm_for(const struct sim_conn *conn, const struct hv_xs_perm *perms,
			 unsigned int nr);
/* Is child equal to or below parent? */
bool xs_is_child(const char *child, const char *parent);
/* "/local/domain/<domid>" into buf. */
void xs_domain_path(uint32_t domid, char *buf, size_t size);
/* Absolute, validated, malloc()ed path; relative ones hang off conn's domain. */
int xs_canonicalize(const struct sim_conn *conn, const char *path, char **ret_path);

/* Queue events for every watch matching path whose connection may see it
 * under one of the permission sets. */
void xs_fire_watches(struct hv_sim *sim, const char *path, bool exact, const struct perm_set *sets,
		     unsigned int nr_sets);
/* The same for a node that exists now (its, its parent's and old perms). */
void xs_fire_node(struct hv_sim *sim, const struct xs_node *node, bool exact,
		  const struct hv_xs_perm *old_perms, unsigned int nr_old);
/* The permissions of @releaseDomain / @introduceDomain, or NULL. */
struct hv_xs_perm **xs_special_perms(struct xs_store *xs, const char *name, unsigned int **ret_nr);
/* Drop all of conn's watches and queued events. */
void xs_watches_release(struct sim_conn *conn);

#endif /* HOTMEM_SIM_XS_INTERNAL_H */
