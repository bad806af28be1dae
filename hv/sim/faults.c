/*
 * Deterministic fault injection and the per-op call counters. Every op of
 * every connection passes through sim_op_enter() exactly once, which counts
 * the call and asks each armed fault, in arming order, whether this is the
 * nth call it matches; the first that says yes decides the call's fate.
 * Nothing is random: a test that arms "fail the 3rd populate with -ENOMEM
 * after 2 extents" gets exactly that, every run.
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[HV_SIM_OP_COUNT] = {
	[HV_SIM_OP_CLOSE] = "close",
	[HV_SIM_OP_PHYSINFO] = "physinfo",
	[HV_SIM_OP_DOMAIN_INFO] = "domain_info",
	[HV_SIM_OP_DOMAIN_LIST] = "domain_list",
	[HV_SIM_OP_SET_MAX_MEM] = "set_max_mem",
	[HV_SIM_OP_GET_P2M_POOL] = "get_p2m_pool",
	[HV_SIM_OP_SET_P2M_POOL] = "set_p2m_pool",
	[HV_SIM_OP_POPULATE] = "populate",
	[HV_SIM_OP_DECREASE] = "decrease",
	[HV_SIM_OP_XS_TXN_START] = "xs_txn_start",
	[HV_SIM_OP_XS_TXN_END] = "xs_txn_end",
	[HV_SIM_OP_XS_READ] = "xs_read",
	[HV_SIM_OP_XS_WRITE] = "xs_write",
	[HV_SIM_OP_XS_MKDIR] = "xs_mkdir",
	[HV_SIM_OP_XS_RM] = "xs_rm",
	[HV_SIM_OP_XS_DIRECTORY] = "xs_directory",
	[HV_SIM_OP_XS_GET_PERMS] = "xs_get_perms",
	[HV_SIM_OP_XS_SET_PERMS] = "xs_set_perms",
	[HV_SIM_OP_XS_DOMAIN_PATH] = "xs_domain_path",
	[HV_SIM_OP_XS_WATCH] = "xs_watch",
	[HV_SIM_OP_XS_UNWATCH] = "xs_unwatch",
	[HV_SIM_OP_XS_WATCH_FD] = "xs_watch_fd",
	[HV_SIM_OP_XS_READ_WATCH] = "xs_read_watch",
	[HV_SIM_OP_ANY] = "any",
};

const char *hv_sim_op_name(enum hv_sim_op op)
{
	if ((unsigned int)op >= HV_SIM_OP_COUNT)
		return "?";
	return op_names[op];
}

static bool fault_matches(const struct sim_fault *fault, const struct sim_conn *conn,
			  enum hv_sim_op op)
{
	if (fault->state != HV_SIM_FAULT_ARMED)
		return false;
	if (fault->spec.op == HV_SIM_OP_ANY ? op == HV_SIM_OP_CLOSE : fault->spec.op != op)
		return false;
	if (fault->spec.caller != HV_SIM_ANY_CALLER && conn->domid != fault->spec.caller)
		return false;
	return true;
}

void sim_op_enter(struct hv_sim *sim, const struct sim_conn *conn, enum hv_sim_op op,
		  struct sim_fault_hit *hit)
{
	struct sim_fault *chosen = NULL;
	size_t i;

	memset(hit, 0, sizeof(*hit));
	sim->stats.op_calls[op]++;
	if (op != HV_SIM_OP_CLOSE)
		sim->stats.op_calls[HV_SIM_OP_ANY]++;

	for (i = 0; i < sim->nr_faults; i++) {
		struct sim_fault *fault = &sim->faults[i];

		if (!fault_matches(fault, conn, op) || ++fault->seen != fault->spec.nth)
			continue;
		if (chosen)
			fault->state = HV_SIM_FAULT_MISSED; /* the first armed one won */
		else
			chosen = fault;
	}
	if (!chosen)
		return;

	hit->error = chosen->spec.error;
	if ((op == HV_SIM_OP_POPULATE || op == HV_SIM_OP_DECREASE) && chosen->spec.after_extents) {
		/* Decided by the op once it knows how far it got. */
		hit->partial = true;
		hit->after_extents = chosen->spec.after_extents;
		hit->fault = chosen;
		return;
	}
	chosen->state = HV_SIM_FAULT_FIRED;
	sim->stats.faults_fired++;
}

void sim_fault_settle(struct hv_sim *sim, struct sim_fault_hit *hit, bool fired)
{
	if (!hit->partial || !hit->fault)
		return;
	hit->fault->state = fired ? HV_SIM_FAULT_FIRED : HV_SIM_FAULT_MISSED;
	if (fired)
		sim->stats.faults_fired++;
	hit->fault = NULL;
}

void sim_faults_free(struct hv_sim *sim)
{
	free(sim->faults);
	sim->faults = NULL;
	sim->nr_faults = 0;
	sim->cap_faults = 0;
}

static struct sim_fault *fault_find(struct hv_sim *sim, unsigned int id)
{
	size_t i;

	for (i = 0; i < sim->nr_faults; i++)
		if (sim->faults[i].id == id)
			return &sim->faults[i];
	return NULL;
}

int hv_sim_fault_arm(struct hv_sim *sim, const struct hv_sim_fault *spec, unsigned int *ret_id)
{
	struct sim_fault *fault;
	int r = 0;

	if (!spec || (unsigned int)spec->op >= HV_SIM_OP_COUNT || spec->op == HV_SIM_OP_CLOSE ||
	    !spec->nth || spec->error >= 0)
		return -EINVAL;

	pthread_mutex_lock(&sim->lock);
	if (sim->nr_faults == sim->cap_faults) {
		size_t cap = sim->cap_faults ? sim->cap_faults * 2 : 8;
		struct sim_fault *grown = realloc(sim->faults, cap * sizeof(*grown));

		if (!grown) {
			r = -ENOMEM;
			goto out;
		}
		sim->faults = grown;
		sim->cap_faults = cap;
	}
	fault = &sim->faults[sim->nr_faults++];
	memset(fault, 0, sizeof(*fault));
	fault->spec = *spec;
	fault->id = ++sim->next_fault_id;
	fault->state = HV_SIM_FAULT_ARMED;
	if (ret_id)
		*ret_id = fault->id;
out:
	pthread_mutex_unlock(&sim->lock);
	return r;
}

int hv_sim_fault_disarm(struct hv_sim *sim, unsigned int id)
{
	struct sim_fault *fault;
	int r = 0;

	pthread_mutex_lock(&sim->lock);
	fault = fault_find(sim, id);
	if (!fault)
		r = -ENOENT;
	else if (fault->state == HV_SIM_FAULT_ARMED)
		fault->state = HV_SIM_FAULT_DISARMED;
	pthread_mutex_unlock(&sim->lock);
	return r;
}

int hv_sim_fault_state(struct hv_sim *sim, unsigned int id, enum hv_sim_fault_state *ret_state)
{
	struct sim_fault *fault;
	int r = 0;

	if (!ret_state)
		return -EINVAL;
	pthread_mutex_lock(&sim->lock);
	fault = fault_find(sim, id);
	if (!fault)
		r = -ENOENT;
	else
		*ret_state = fault->state;
	pthread_mutex_unlock(&sim->lock);
	return r;
}

void hv_sim_fault_clear(struct hv_sim *sim)
{
	pthread_mutex_lock(&sim->lock);
	sim_faults_free(sim);
	pthread_mutex_unlock(&sim->lock);
}

uint64_t hv_sim_op_calls(struct hv_sim *sim, enum hv_sim_op op)
{
	uint64_t calls;

	if ((unsigned int)op >= HV_SIM_OP_COUNT)
		return 0;
	pthread_mutex_lock(&sim->lock);
	calls = sim->stats.op_calls[op];
	pthread_mutex_unlock(&sim->lock);
	return calls;
}
