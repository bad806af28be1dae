/*
 * Requests and their wire form (see ctl.h): the command table, one request
 * as one JSON line (ctl_request_format(), what xl-hotmem sends) and back
 * (ctl_request_parse(), what hotmemd reads from any local client: every
 * field is checked, a refusal says which and leaves the request untouched).
 * A backend command's own members pass through as ctl_request.args.
 */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#define CTL_CMD_NAME(id, name) [CTL_CMD_##id] = name,
static const char *const ctl_cmd_names[CTL_CMD_COUNT] = { CTL_COMMANDS(CTL_CMD_NAME) };
#undef CTL_CMD_NAME

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
	return (unsigned int)cmd < CTL_CMD_COUNT ? ctl_cmd_names[cmd] : NULL;
}

bool ctl_cmd_is_op(enum ctl_cmd cmd)
{
	return cmd == CTL_CMD_GROW || cmd == CTL_CMD_SHRINK || cmd == CTL_CMD_SET;
}

bool ctl_cmd_needs_daemon(enum ctl_cmd cmd)
{
	return cmd == CTL_CMD_POLICY || cmd == CTL_CMD_TOP;
}

bool ctl_cmd_is_backend(enum ctl_cmd cmd)
{
	return cmd == CTL_CMD_SIM_DESTROY || cmd == CTL_CMD_SIM_CHECK || cmd == CTL_CMD_SIM_GUEST ||
	       cmd == CTL_CMD_SIM_ECHO;
}

bool ctl_cmd_needs_domain(enum ctl_cmd cmd)
{
	return cmd != CTL_CMD_PING && cmd != CTL_CMD_LIST && cmd != CTL_CMD_JOURNAL &&
	       cmd != CTL_CMD_SIM_CHECK && cmd != CTL_CMD_TOP && cmd != CTL_CMD_METRICS &&
	       cmd != CTL_CMD_SIM_ECHO;
}

int ctl_request_format(const struct ctl_request *req, char **ret_line)
{
	yajl_gen gen = yajl_gen_alloc(NULL);
	const unsigned char *text;
	const char *args = NULL;
	size_t len, args_len;
	char *line;

	if (!gen)
		return -ENOMEM;
	yajl_gen_map_open(gen);
	ctl_gen_str(gen, "cmd", ctl_cmd_name(req->cmd));
	if (req->domain[0])
		ctl_gen_str(gen, "domain", req->domain);
	if (ctl_cmd_is_op(req->cmd))
		ctl_gen_u64(gen, "bytes", req->bytes);
	if (req->max_bytes)
		ctl_gen_u64(gen, "max_bytes", req->max_bytes);
	if (req->nr_set) {
		ctl_gen_key(gen, "set");
		yajl_gen_map_open(gen);
		for (unsigned int i = 0; i < req->nr_set; i++)
			ctl_gen_str(gen, req->set_keys[i], req->set_values[i]);
		yajl_gen_map_close(gen);
	}
	if (req->openmetrics)
		ctl_gen_bool(gen, "openmetrics", true);
	/* Still open: the backend's members (args without its braces) go in before '}'. */
	yajl_gen_get_buf(gen, &text, &len);
	args_len = req->args[0] ? strlen(req->args) : 0;
	if (args_len > 2) {
		args = req->args + 1;
		args_len -= 2;
	} else {
		args_len = 0;
	}
	line = malloc(len + args_len + 4);
	if (line) {
		memcpy(line, text, len);
		if (args_len) {
			line[len++] = ',';
			memcpy(line + len, args, args_len);
			len += args_len;
		}
		memcpy(line + len, "}\n", 3);
	}
	yajl_gen_free(gen);
	if (!line)
		return -ENOMEM;
	*ret_line = line;
	return 0;
}

int ctl_tree_u64(yajl_val obj, const char *key, uint64_t *ret_value)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_number);

	if (!v)
		return -ENOENT;
	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0)
		return -EINVAL;
	*ret_value = (uint64_t)YAJL_GET_INTEGER(v);
	return 0;
}

/* "set": {"key": "value", ...} of a policy request, in order. */
static int parse_set(yajl_val tree, struct ctl_request *req, char *msg, size_t msg_size)
{
	const char *path[] = { "set", NULL };
	yajl_val set = yajl_tree_get(tree, path, yajl_t_any);

	if (!set)
		return 0;
	if (!YAJL_IS_OBJECT(set) || req->cmd != CTL_CMD_POLICY) {
		snprintf(msg, msg_size,
			 "\"set\" must be an object of strings, in a policy request");
		return -EINVAL;
	}
	if (set->u.object.len > CTL_POLICY_SET_MAX) {
		snprintf(msg, msg_size, "at most %d settings per policy request",
			 CTL_POLICY_SET_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < set->u.object.len; i++) {
		const char *key = set->u.object.keys[i];
		yajl_val v = set->u.object.values[i];
		const char *value = YAJL_IS_STRING(v) ? v->u.string : NULL;

		if (!value || !key[0] || strlen(key) > CTL_POLICY_KEY_MAX ||
		    strlen(value) > CTL_POLICY_VALUE_MAX) {
			snprintf(msg, msg_size,
				 "setting '%.32s': want a key of at most %d bytes, a string value "
				 "of "
				 "at "
				 "most %d",
				 key, CTL_POLICY_KEY_MAX, CTL_POLICY_VALUE_MAX);
			return -EINVAL;
		}
		strcpy(req->set_keys[i], key);
		strcpy(req->set_values[i], value);
	}
	req->nr_set = (unsigned int)set->u.object.len;
	return 0;
}

/* The members of a request that ctl reads itself; a backend command keeps the others. */
static bool ctl_member(const char *key)
{
	static const char *const keys[] = { "cmd",	 "domain", "bytes",
					    "max_bytes", "set",	   "openmetrics" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

/*
 * A backend command's own members into req->args, as one JSON object in the
 * order given: scalars only (numbers keep their text), at most CTL_ARGS_MAX
 * bytes. What they mean is the backend's business.
 */
static int parse_args(yajl_val tree, struct ctl_request *req, char *msg, size_t msg_size)
{
	yajl_gen gen = yajl_gen_alloc(NULL);
	const unsigned char *text;
	size_t len;
	int r = 0;

	if (!gen)
		return -ENOMEM;
	yajl_gen_map_open(gen);
	for (size_t i = 0; i < tree->u.object.len && !r; i++) {
		const char *key = tree->u.object.keys[i];
		yajl_val v = tree->u.object.values[i];

		if (ctl_member(key))
			continue;
		if (YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v)) {
			snprintf(msg, msg_size, "\"%.32s\": %s takes numbers, strings and booleans",
				 key, ctl_cmd_name(req->cmd));
			r = -EINVAL;
			break;
		}
		ctl_gen_key(gen, key);
		if (YAJL_IS_STRING(v))
			yajl_gen_string(gen, (const unsigned char *)v->u.string,
					strlen(v->u.string));
		else if (YAJL_IS_NUMBER(v))
			yajl_gen_number(gen, v->u.number.r, strlen(v->u.number.r));
		else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
			yajl_gen_bool(gen, YAJL_IS_TRUE(v));
		else
			yajl_gen_null(gen);
	}
	yajl_gen_map_close(gen);
	yajl_gen_get_buf(gen, &text, &len);
	if (!r && len > CTL_ARGS_MAX) {
		snprintf(msg, msg_size, "the members of a %s request exceed %d bytes",
			 ctl_cmd_name(req->cmd), CTL_ARGS_MAX);
		r = -EINVAL;
	}
	if (!r && len > 2) /* "{}": none */
		memcpy(req->args, text, len + 1);
	yajl_gen_free(gen);
	return r;
}

int ctl_request_parse(const char *line, size_t len, struct ctl_request *ret_req, char *msg,
		      size_t msg_size)
{
	const char *cmd_path[] = { "cmd", NULL }, *dom_path[] = { "domain", NULL };
	struct ctl_request req = { 0 };
	char text[CTL_LINE_MAX + 1], err[128];
	const char *str;
	yajl_val tree, v;
	int r = -EINVAL;

	if (len > CTL_LINE_MAX) {
		snprintf(msg, msg_size, "request longer than %d bytes", CTL_LINE_MAX);
		return -EINVAL;
	}
	memcpy(text, line, len);
	text[len] = '\0';
	tree = yajl_tree_parse(text, err, sizeof(err));
	if (!tree || !YAJL_IS_OBJECT(tree)) {
		snprintf(msg, msg_size, "request is not a JSON object");
		goto out;
	}
	v = yajl_tree_get(tree, cmd_path, yajl_t_string);
	str = v ? YAJL_GET_STRING(v) : NULL;
	for (unsigned int c = 1; str && c < CTL_CMD_COUNT; c++)
		if (!strcmp(str, ctl_cmd_names[c]))
			req.cmd = c;
	if (!req.cmd) {
		snprintf(msg, msg_size, "unknown or missing \"cmd\"");
		goto out;
	}
	v = yajl_tree_get(tree, dom_path, yajl_t_string);
	str = v ? YAJL_GET_STRING(v) : NULL;
	if (str && strlen(str) <= CTL_DOMAIN_MAX)
		strcpy(req.domain, str);
	if (ctl_cmd_needs_domain(req.cmd) && !req.domain[0]) {
		snprintf(msg, msg_size, "%s needs a \"domain\" (a name or an id)",
			 ctl_cmd_name(req.cmd));
		goto out;
	}
	if ((ctl_cmd_is_op(req.cmd) || req.cmd == CTL_CMD_SIM_ECHO) &&
	    ctl_tree_u64(tree, "bytes", &req.bytes)) {
		snprintf(msg, msg_size, "%s needs \"bytes\" (a non-negative integer)",
			 ctl_cmd_name(req.cmd));
		goto out;
	}
	if (ctl_tree_u64(tree, "max_bytes", &req.max_bytes) == -EINVAL) {
		snprintf(msg, msg_size, "\"max_bytes\" must be a non-negative integer");
		goto out;
	}
	if (parse_set(tree, &req, msg, msg_size) < 0)
		goto out;
	req.openmetrics = yajl_tree_get(tree, (const char *[]){ "openmetrics", NULL }, yajl_t_true);
	if (ctl_cmd_is_backend(req.cmd)) {
		r = parse_args(tree, &req, msg, msg_size);
		if (r < 0)
			goto out;
		r = -EINVAL;
	}
	*ret_req = req;
	r = 0;
out:
	yajl_tree_free(tree);
	return r;
}
