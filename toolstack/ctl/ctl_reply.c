/*
 * Replies (see ctl.h): the JSON members every reply is built from, the
 * envelope ({"ok":true,"result":{...}} or {"ok":false,"errno":N,"error":"..."};
 * an ended operation that failed carries both its result and its error),
 * progress events, and the operator's text for each errno a domain command or
 * an operation can end with.
 */
#include "ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *ctl_kind_name(enum hotmem_op_kind kind)
{
	static const char *const kinds[] = {
		[HOTMEM_OP_KIND_GROW] = "grow",
		[HOTMEM_OP_KIND_SHRINK] = "shrink",
		[HOTMEM_OP_KIND_SET] = "set",
	};

	if ((unsigned int)kind >= sizeof(kinds) / sizeof(kinds[0]) || !kinds[kind])
		return "?";
	return kinds[kind];
}

void ctl_gen_key(yajl_gen gen, const char *key)
{
	yajl_gen_string(gen, (const unsigned char *)key, strlen(key));
}

void ctl_gen_str(yajl_gen gen, const char *key, const char *value)
{
	ctl_gen_key(gen, key);
	if (value)
		yajl_gen_string(gen, (const unsigned char *)value, strlen(value));
	else
		yajl_gen_null(gen);
}

/* JSON numbers are doubles for most readers: sizes stay exact up to 2^53. */
void ctl_gen_u64(yajl_gen gen, const char *key, uint64_t value)
{
	ctl_gen_key(gen, key);
	yajl_gen_integer(gen, (long long)value);
}

void ctl_gen_bool(yajl_gen gen, const char *key, bool value)
{
	ctl_gen_key(gen, key);
	yajl_gen_bool(gen, value);
}

void ctl_gen_reply_begin(yajl_gen gen, int err, const char *msg)
{
	yajl_gen_map_open(gen);
	ctl_gen_bool(gen, "ok", err == 0);
	if (err) {
		ctl_gen_u64(gen, "errno", (uint64_t)-err);
		ctl_gen_str(gen, "error", msg);
	}
	ctl_gen_key(gen, "result");
	yajl_gen_map_open(gen);
}

void ctl_gen_reply_end(yajl_gen gen)
{
	yajl_gen_map_close(gen); /* result */
	yajl_gen_map_close(gen); /* the reply */
}

void ctl_gen_error(yajl_gen gen, int err, const char *msg)
{
	yajl_gen_map_open(gen);
	ctl_gen_bool(gen, "ok", false);
	ctl_gen_u64(gen, "errno", (uint64_t)-err);
	ctl_gen_str(gen, "error", msg);
	yajl_gen_map_close(gen);
}

const char *ctl_attach_strerror(int err)
{
	switch (err) {
	case -EEXIST:
		return "already attached";
	case -ESRCH:
		return "the domain is dying or gone";
	case -ENOSPC:
		return "the window does not fit above the domain's boot memory in RAM bank 1";
	case -EBUSY:
		return "blocks are granted or an operation is in flight (shrink to 0 first)";
	case -ENOENT:
		return "not attached";
	case -EINVAL:
		return "invalid parameter";
	}
	return strerror(-err);
}

/*
 * abandon: take back every unanswered request; the reply says what came
 * back (Xen's tot_pages before and after) and what the guest kept.
 */

void ctl_gen_domain_error(yajl_gen gen, const struct ctl_request *req, uint32_t domid, int err)
{
	char msg[CTL_MESSAGE_MAX];

	snprintf(msg, sizeof(msg), "domain '%s' (d%" PRIu32 "): cannot %s: %s", req->domain, domid,
		 ctl_cmd_name(req->cmd), ctl_attach_strerror(err));
	ctl_gen_error(gen, err, msg);
}

const char *ctl_op_strerror(enum ctl_cmd cmd, int err)
{
	switch (err) {
	case -ENOENT:
		return "the domain is not attached (xl-hotmem attach DOM)";
	case -ESRCH:
		return "the domain is dying or gone (its books were released)";
	case -EBUSY:
		return "another operation is running on it, or a request still waits for the "
		       "guest's ack";
	case -EAGAIN:
		/* The engine's -EAGAIN has two causes it does not tell apart. */
		return "the guest driver is not ready (is xen_hotmem loaded in the guest?), "
		       "or xenstore conflicted on every try (try again)";
	case -EPROTO:
		return cmd == CTL_CMD_NONE ? "the guest's answer broke the protocol; the "
					     "request stays outstanding"
					   : "the guest's hotmem keys break the protocol";
	case -EOPNOTSUPP:
		return "the guest did not negotiate shrink";
	case -EDQUOT:
		return "it would pass the domain's hotmem maximum (xl-hotmem attach --max)";
	case -ENOSPC:
		return "no run of that many free blocks in the domain's window";
	case -ENOMEM:
		return "the host lacks the memory (above its reserve)";
	case -ERANGE:
		return "that is more than the domain was granted";
	case -EOVERFLOW:
		return "request sequence numbers are exhausted (detach and attach again)";
	case -EREMOTEIO:
		return "the guest did only part of it; the rest was given back";
	case -ETIMEDOUT:
		return "the guest did not answer in time; the request stays outstanding and "
		       "finishes when it answers";
	case -ENOLINK:
		return "the guest driver broke or closed without answering; the request stays "
		       "outstanding";
	case -EUCLEAN:
		return "the domain's journal record does not parse (see xl-hotmem journal)";
	case -ECANCELED:
		return "hotmemd is stopping";
	}
	return strerror(-err);
}

const char *ctl_progress_name(enum hotmem_progress_event event)
{
	static const char *const events[] = {
		[HOTMEM_PROGRESS_POPULATED] = "populated",
		[HOTMEM_PROGRESS_ONLINE] = "online",
		[HOTMEM_PROGRESS_REFUSED] = "refused",
		[HOTMEM_PROGRESS_ROLLED_BACK] = "rolled-back",
		[HOTMEM_PROGRESS_RECLAIMED] = "reclaimed",
	};

	return (unsigned int)event <= HOTMEM_PROGRESS_RECLAIMED ? events[event] : "?";
}

void ctl_gen_progress(yajl_gen gen, const struct hotmem_progress *p)
{
	yajl_gen_map_open(gen);
	ctl_gen_str(gen, "event", "progress");
	ctl_gen_u64(gen, "domid", p->domid);
	ctl_gen_u64(gen, "seq", p->seq);
	ctl_gen_str(gen, "op", ctl_kind_name(p->kind));
	ctl_gen_str(gen, "what", ctl_progress_name(p->event));
	ctl_gen_u64(gen, "block", p->block);
	ctl_gen_u64(gen, "gpa", p->gpa);
	ctl_gen_u64(gen, "bytes", p->bytes);
	yajl_gen_map_close(gen);
}
