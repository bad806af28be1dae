/*
 * /etc/hotmem/hotmem.conf: the policy's parameters in INI, read with Debian's
 * libinih. inih does the syntax (sections, key = value, comments); this file
 * maps keys to struct fields through one table, parses each value strictly
 * (sizes with hotmem_parse_size(), durations, percentages, PSI with two
 * decimals), resolves [domain NAME] sections over [domain *] wherever that
 * section is, and validates the result. The first error stops the load and
 * is reported as "file:line: key: what is wrong"; lines are counted by our
 * own reader so a value error names its exact line.
 */
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotmem/policy.h"
#include "hotmem/units.h"

enum conf_type {
	CONF_SIZE,     /* uint64_t bytes, hotmem_parse_size() */
	CONF_DURATION, /* uint32_t ms: "250ms", "30s", "5m", "1h", bare = ms */
	CONF_UINT,     /* uint32_t in [lo, hi] */
	CONF_PCT,      /* uint32_t 0..100, written "10%" */
	CONF_PSI,      /* uint32_t hundredths of a percent: "10", "2.5", "0.25" */
	CONF_MODE,     /* enum hotmem_policy_mode */
	CONF_PATH,     /* char[HOTMEM_POLICY_PATH_MAX + 1], an absolute path */
};

struct conf_key {
	const char *name;
	bool host; /* [host] key, else a domain key */
	enum conf_type type;
	size_t offset;
	uint32_t lo, hi; /* CONF_UINT bounds */
};

#define HOST_KEY(n, t, f, l, h)                                                 \
	{                                                                       \
		n, true, t, offsetof(struct hotmem_policy_host_params, f), l, h \
	}
#define DOM_KEY(n, t, f, l, h)                                                     \
	{                                                                          \
		n, false, t, offsetof(struct hotmem_policy_domain_params, f), l, h \
	}

/* Every key; a domain key's index is its bit in the per-section "set" mask. */
static const struct conf_key conf_keys[] = {
	DOM_KEY("mode", CONF_MODE, mode, 0, 0),
	DOM_KEY("min", CONF_SIZE, min_bytes, 0, 0),
	DOM_KEY("max", CONF_SIZE, max_bytes, 0, 0),
	DOM_KEY("weight", CONF_UINT, weight, HOTMEM_POLICY_WEIGHT_MIN, HOTMEM_POLICY_WEIGHT_MAX),
	DOM_KEY("low-watermark", CONF_PCT, low_pct, 0, 0),
	DOM_KEY("low-watermark-min", CONF_SIZE, low_bytes, 0, 0),
	DOM_KEY("high-watermark", CONF_PCT, high_pct, 0, 0),
	DOM_KEY("high-watermark-min", CONF_SIZE, high_bytes, 0, 0),
	DOM_KEY("psi-grow", CONF_PSI, psi_grow, 0, 0),
	DOM_KEY("psi-calm", CONF_PSI, psi_calm, 0, 0),
	DOM_KEY("psi-hold", CONF_DURATION, psi_hold_ms, 0, 0),
	DOM_KEY("grow-cooldown", CONF_DURATION, grow_cooldown_ms, 0, 0),
	DOM_KEY("shrink-cooldown", CONF_DURATION, shrink_cooldown_ms, 0, 0),
	DOM_KEY("surplus-hold", CONF_DURATION, surplus_hold_ms, 0, 0),
	DOM_KEY("release-hold", CONF_DURATION, release_hold_ms, 0, 0),
	DOM_KEY("max-step-blocks", CONF_UINT, max_step_blocks, 1, HOTMEM_MAX_BLOCKS),
	HOST_KEY("reserve", CONF_SIZE, reserve_bytes, 0, 0),
	HOST_KEY("tick", CONF_DURATION, tick_ms, 0, 0),
	HOST_KEY("max-ops-per-tick", CONF_UINT, max_ops_per_tick, 1, 100000),
	HOST_KEY("max-grow-per-tick", CONF_SIZE, max_grow_bytes_per_tick, 0, 0),
	HOST_KEY("stale-stats", CONF_DURATION, stale_stats_ms, 0, 0),
	HOST_KEY("ack-timeout", CONF_DURATION, ack_timeout_ms, 0, 0),
	HOST_KEY("unfreeze-hold", CONF_DURATION, unfreeze_hold_ms, 0, 0),
	HOST_KEY("metrics-interval", CONF_DURATION, metrics_interval_ms, 0, 0),
	HOST_KEY("metrics-path", CONF_PATH, metrics_path, 0, 0),
	HOST_KEY("abandon-after", CONF_DURATION, abandon_after_ms, 0, 0),
	HOST_KEY("lend-float", CONF_SIZE, lend_float_bytes, 0, 0),
};
#define NR_CONF_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* One domain section while parsing: the keys it set, over nothing yet. */
struct conf_section {
	struct hotmem_policy_domain_params params;
	uint32_t set;	   /* bit i: conf_keys[i] given */
	unsigned int line; /* first key, for validation errors */
};

struct conf_parse {
	const char *origin;
	/* our line reader: a FILE or a string */
	FILE *file;
	const char *text;
	size_t pos;
	unsigned int line;
	/* sections */
	char current[HOTMEM_POLICY_NAME_MAX + 16];
	bool have_current;
	bool host_seen, star_seen;
	uint32_t host_set;
	unsigned int host_line;
	struct conf_section star;
	struct conf_section *sections; /* parallel to conf->domains */
	struct hotmem_policy_conf *conf;
	size_t cap;
	/* first error */
	int err;
	unsigned int err_line;
	char msg[HOTMEM_POLICY_CONF_ERR_MAX];
};

/* inih's reader callback (fgets-like), counting lines for our messages. */
static char *conf_read_line(char *buf, int size, void *stream)
{
	struct conf_parse *cp = stream;

	if (cp->file) {
		if (!fgets(buf, size, cp->file))
			return NULL;
	} else {
		size_t n = 0;

		if (!cp->text[cp->pos])
			return NULL;
		while (cp->text[cp->pos] && n + 1 < (size_t)size) {
			char c = cp->text[cp->pos++];

			buf[n++] = c;
			if (c == '\n')
				break;
		}
		buf[n] = '\0';
	}
	cp->line++;
	return buf;
}

static void conf_fail(struct conf_parse *cp, int err, const char *fmt, const char *a, const char *b)
{
	if (cp->err)
		return;
	cp->err = err;
	cp->err_line = cp->line;
	snprintf(cp->msg, sizeof(cp->msg), fmt, a, b);
}

static int parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

/* "250ms", "30s", "5m", "1h"; a bare number is milliseconds. */
static int parse_duration(const char *s, uint32_t *ret_ms)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	char digits[24];
	size_t n = strspn(s, "0123456789");
	uint64_t v, mult = 1;
	bool found = !s[n];
	int r;

	if (!n || n >= sizeof(digits))
		return n ? -ERANGE : -EINVAL;
	for (size_t i = 0; !found && i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + n, units[i].suffix) == 0) {
			mult = units[i].ms;
			found = true;
		}
	}
	if (!found)
		return -EINVAL;
	memcpy(digits, s, n);
	digits[n] = '\0';
	r = parse_u64(digits, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX / mult)
		return -ERANGE;
	*ret_ms = (uint32_t)(v * mult);
	return 0;
}

/* "10", "2.5", "0.25" percent -> hundredths (0..10000); pct: "10%" -> 10. */
static int parse_psi(const char *s, uint32_t *ret)
{
	size_t n = strspn(s, "0123456789"), f = 0;
	uint32_t whole = 0, frac = 0;

	if (!n || n > 3)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		whole = whole * 10 + (uint32_t)(s[i] - '0');
	if (s[n] == '.') {
		f = strspn(s + n + 1, "0123456789");
		if (f < 1 || f > 2)
			return -EINVAL;
		frac = (uint32_t)(s[n + 1] - '0') * 10;
		if (f == 2)
			frac += (uint32_t)(s[n + 2] - '0');
		n += 1 + f;
	}
	if (s[n] || whole * 100 + frac > 10000)
		return -EINVAL;
	*ret = whole * 100 + frac;
	return 0;
}

static int parse_pct(const char *s, uint32_t *ret)
{
	size_t n = strspn(s, "0123456789");
	uint32_t v = 0;

	if (!n || n > 3 || strcmp(s + n, "%") != 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint32_t)(s[i] - '0');
	if (v > 100)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Parse value into the field of key at base; the message says what is expected. */
static int parse_value(const struct conf_key *key, const char *value, void *base,
		       const char **ret_expect)
{
	void *field = (char *)base + key->offset;
	uint64_t u64 = 0;
	uint32_t u32 = 0;
	enum hotmem_policy_mode mode;
	int r = -EINVAL;

	switch (key->type) {
	case CONF_SIZE:
		*ret_expect = "a size such as 512m or 2g";
		r = hotmem_parse_size(value, &u64);
		if (r == 0)
			memcpy(field, &u64, sizeof(u64));
		return r;
	case CONF_DURATION:
		*ret_expect = "a duration such as 500ms, 30s or 5m";
		r = parse_duration(value, &u32);
		break;
	case CONF_UINT:
		*ret_expect = "an integer in range";
		r = parse_u64(value, &u64);
		if (r == 0 && (u64 < key->lo || u64 > key->hi))
			r = -ERANGE;
		u32 = (uint32_t)u64;
		break;
	case CONF_PCT:
		*ret_expect = "a percentage such as 10%";
		r = parse_pct(value, &u32);
		break;
	case CONF_PSI:
		*ret_expect = "a percentage 0..100 with up to two decimals";
		r = parse_psi(value, &u32);
		break;
	case CONF_PATH:
		*ret_expect = "an absolute path";
		if (value[0] != '/')
			return -EINVAL;
		if (strlen(value) > HOTMEM_POLICY_PATH_MAX)
			return -ERANGE;
		strcpy(field, value);
		return 0;
	case CONF_MODE:
		*ret_expect = "off, manual or auto";
		r = hotmem_policy_parse_mode(value, &mode);
		if (r == 0)
			memcpy(field, &mode, sizeof(mode));
		return r;
	}
	if (r == 0)
		memcpy(field, &u32, sizeof(u32));
	return r;
}

/* Copy the fields whose bits are set in mask from src to dst. */
static void overlay(struct hotmem_policy_domain_params *dst,
		    const struct hotmem_policy_domain_params *src, uint32_t mask)
{
	for (size_t i = 0; i < NR_CONF_KEYS; i++) {
		const struct conf_key *key = &conf_keys[i];
		size_t size = key->type == CONF_SIZE   ? sizeof(uint64_t)
			      : key->type == CONF_MODE ? sizeof(enum hotmem_policy_mode)
						       : sizeof(uint32_t);

		if (!key->host && (mask & (1u << i)))
			memcpy((char *)dst + key->offset, (const char *)src + key->offset, size);
	}
}

/* Find or add the section of domain name. */
static struct conf_section *conf_domain(struct conf_parse *cp, const char *name, bool *ret_new)
{
	struct hotmem_policy_conf *conf = cp->conf;

	*ret_new = false;
	for (size_t i = 0; i < conf->nr_domains; i++) {
		if (strcmp(conf->domains[i].name, name) == 0)
			return &cp->sections[i];
	}
	if (conf->nr_domains == cp->cap) {
		size_t cap = cp->cap ? cp->cap * 2 : 8;
		struct hotmem_policy_conf_domain *doms =
			realloc(conf->domains, cap * sizeof(*doms));

		if (!doms)
			return NULL;
		conf->domains = doms;
		struct conf_section *secs = realloc(cp->sections, cap * sizeof(*secs));
		if (!secs)
			return NULL;
		cp->sections = secs;
		cp->cap = cap;
	}
	struct hotmem_policy_conf_domain *dom = &conf->domains[conf->nr_domains];
	struct conf_section *sec = &cp->sections[conf->nr_domains];
	memset(dom, 0, sizeof(*dom));
	memset(sec, 0, sizeof(*sec));
	snprintf(dom->name, sizeof(dom->name), "%s", name);
	conf->nr_domains++;
	*ret_new = true;
	return sec;
}

/* A domain name as xl accepts it: printable, no spaces, 1..63 bytes. */
static bool domain_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= HOTMEM_POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	}
	return true;
}

/* inih's handler: one key = value in a section. Returns 0 to mark the line bad. */
static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_parse *cp = user;
	struct conf_section *sec = NULL;
	bool host = false, is_new = false;
	const char *expect = "";
	size_t i;

	if (cp->err)
		return 1; /* only the first error is reported */
	if (!*section) {
		conf_fail(cp, -EINVAL, "%s: key before any section%s", name, "");
		return 0;
	}
	if (strcmp(section, "host") == 0) {
		host = true;
	} else if (strncmp(section, "domain ", 7) == 0) {
		const char *dname = section + 7 + strspn(section + 7, " ");

		if (strcmp(dname, "*") == 0) {
			sec = &cp->star;
			is_new = !cp->star_seen;
			cp->star_seen = true;
		} else if (domain_name_ok(dname)) {
			sec = conf_domain(cp, dname, &is_new);
			if (!sec) {
				conf_fail(cp, -ENOMEM, "out of memory%s%s", "", "");
				return 0;
			}
		} else {
			conf_fail(cp, -EINVAL, "[%s]: bad domain name%s", section, "");
			return 0;
		}
	} else {
		conf_fail(cp, -EINVAL, "[%s]: unknown section (host, domain *, domain NAME)%s",
			  section, "");
		return 0;
	}
	/* A section that comes back after another one is a mistake, not a merge. */
	if (!cp->have_current || strcmp(cp->current, section) != 0) {
		bool seen = host ? cp->host_seen : !is_new;

		if (seen) {
			conf_fail(cp, -EINVAL, "[%s]: section given twice%s", section, "");
			return 0;
		}
		if (host)
			cp->host_seen = true;
		snprintf(cp->current, sizeof(cp->current), "%s", section);
		cp->have_current = true;
	}
	for (i = 0; i < NR_CONF_KEYS; i++) {
		if (conf_keys[i].host == host && strcmp(conf_keys[i].name, name) == 0)
			break;
	}
	if (i == NR_CONF_KEYS) {
		conf_fail(cp, -EINVAL, "%s: unknown key in [%s]", name, section);
		return 0;
	}
	uint32_t *set = host ? &cp->host_set : &sec->set;
	if (*set & (1u << i)) {
		conf_fail(cp, -EINVAL, "%s: given twice in [%s]", name, section);
		return 0;
	}
	if (parse_value(&conf_keys[i], value, host ? (void *)&cp->conf->host : (void *)&sec->params,
			&expect) < 0) {
		conf_fail(cp, -EINVAL, "%s: bad value, want %s", name, expect);
		return 0;
	}
	if (!*set) {
		if (host)
			cp->host_line = cp->line;
		else
			sec->line = cp->line;
	}
	*set |= 1u << i;
	return 1;
}

/* Why resolved domain parameters do not validate, or NULL. */
static const char *domain_problem(const struct hotmem_policy_domain_params *p)
{
	if (p->high_pct <= p->low_pct)
		return "high-watermark must be above low-watermark";
	if (p->high_bytes < p->low_bytes)
		return "high-watermark-min must not be below low-watermark-min";
	if (p->psi_calm >= p->psi_grow)
		return "psi-calm must be below psi-grow";
	if (p->max_bytes && p->max_bytes < p->min_bytes)
		return "max must not be below min";
	if (hotmem_policy_domain_params_valid(p))
		return "invalid combination";
	return NULL;
}

static void conf_fail_at(struct conf_parse *cp, unsigned int line, const char *section,
			 const char *what)
{
	cp->err = -EINVAL;
	cp->err_line = line;
	snprintf(cp->msg, sizeof(cp->msg), "[%s]: %s", section, what);
}

/* Resolve every section over [domain *] and validate. */
static void conf_resolve(struct conf_parse *cp)
{
	struct hotmem_policy_conf *conf = cp->conf;
	const char *problem;

	hotmem_policy_domain_defaults(&conf->defaults);
	overlay(&conf->defaults, &cp->star.params, cp->star.set);
	if (hotmem_policy_host_params_valid(&conf->host)) {
		conf_fail_at(cp, cp->host_line, "host",
			     "tick, max-grow-per-tick, stale-stats and ack-timeout must not be 0");
		return;
	}
	problem = domain_problem(&conf->defaults);
	if (problem) {
		conf_fail_at(cp, cp->star.line, "domain *", problem);
		return;
	}
	for (size_t i = 0; i < conf->nr_domains; i++) {
		struct hotmem_policy_conf_domain *dom = &conf->domains[i];
		char section[HOTMEM_POLICY_NAME_MAX + 8];

		dom->params = conf->defaults;
		overlay(&dom->params, &cp->sections[i].params, cp->sections[i].set);
		problem = domain_problem(&dom->params);
		if (problem) {
			snprintf(section, sizeof(section), "domain %s", dom->name);
			conf_fail_at(cp, cp->sections[i].line, section, problem);
			return;
		}
	}
}

static int conf_run(struct conf_parse *cp, struct hotmem_policy_conf **ret_conf, char *err,
		    size_t err_size)
{
	int line, r;

	cp->conf = calloc(1, sizeof(*cp->conf));
	if (!cp->conf) {
		r = -ENOMEM;
		goto out;
	}
	hotmem_policy_host_defaults(&cp->conf->host);
	line = ini_parse_stream(conf_read_line, cp, conf_handler, cp);
	if (line == -2 || cp->err == -ENOMEM) {
		r = -ENOMEM;
		snprintf(cp->msg, sizeof(cp->msg), "out of memory");
		cp->err_line = 0;
		goto out;
	}
	if (line > 0 && (!cp->err || cp->err_line != (unsigned int)line)) {
		/* inih's own complaint: no '=', an unclosed '[', a key before any section */
		cp->err = -EINVAL;
		cp->err_line = (unsigned int)line;
		snprintf(cp->msg, sizeof(cp->msg), "syntax error (want [section] or key = value)");
	}
	if (!cp->err)
		conf_resolve(cp);
	r = cp->err;
out:
	if (r < 0) {
		if (err && err_size)
			snprintf(err, err_size, "%s:%u: %s", cp->origin, cp->err_line, cp->msg);
		hotmem_policy_conf_free(cp->conf);
	} else {
		*ret_conf = cp->conf;
	}
	free(cp->sections);
	return r;
}

int hotmem_policy_conf_parse(const char *text, const char *origin,
			     struct hotmem_policy_conf **ret_conf, char *err, size_t err_size)
{
	struct conf_parse cp = { 0 };

	if (!text || !ret_conf)
		return -EINVAL;
	cp.origin = origin ? origin : "(string)";
	cp.text = text;
	return conf_run(&cp, ret_conf, err, err_size);
}

int hotmem_policy_conf_load(const char *path, struct hotmem_policy_conf **ret_conf, char *err,
			    size_t err_size)
{
	struct conf_parse cp = { 0 };
	int r;

	if (!path || !ret_conf)
		return -EINVAL;
	cp.origin = path;
	cp.file = fopen(path, "re");
	if (!cp.file) {
		r = -errno;
		if (err && err_size)
			snprintf(err, err_size, "%s: %s", path, strerror(-r));
		return r;
	}
	r = conf_run(&cp, ret_conf, err, err_size);
	fclose(cp.file);
	return r;
}

int hotmem_policy_conf_apply(struct hotmem_policy_domain_params *params, const char *const *keys,
			     const char *const *values, size_t nr, char *err, size_t err_size)
{
	struct hotmem_policy_domain_params next;
	const char *expect = "", *problem;
	uint32_t set = 0;

	if (!params || (nr && (!keys || !values)))
		return -EINVAL;
	next = *params;
	for (size_t k = 0; k < nr; k++) {
		size_t i;

		for (i = 0; i < NR_CONF_KEYS; i++) {
			if (!conf_keys[i].host && keys[k] &&
			    strcmp(conf_keys[i].name, keys[k]) == 0)
				break;
		}
		if (i == NR_CONF_KEYS) {
			if (err && err_size)
				snprintf(err, err_size, "%s: unknown domain key",
					 keys[k] ? keys[k] : "");
			return -EINVAL;
		}
		if (set & (1u << i)) {
			if (err && err_size)
				snprintf(err, err_size, "%s: given twice", keys[k]);
			return -EINVAL;
		}
		set |= 1u << i;
		if (!values[k] || parse_value(&conf_keys[i], values[k], &next, &expect) < 0) {
			if (err && err_size)
				snprintf(err, err_size, "%s: bad value '%s', want %s", keys[k],
					 values[k] ? values[k] : "", expect);
			return -EINVAL;
		}
	}
	problem = domain_problem(&next);
	if (problem) {
		if (err && err_size)
			snprintf(err, err_size, "%s", problem);
		return -EINVAL;
	}
	*params = next;
	return 0;
}

void hotmem_policy_conf_free(struct hotmem_policy_conf *conf)
{
	if (!conf)
		return;
	free(conf->domains);
	free(conf);
}

const struct hotmem_policy_domain_params *
hotmem_policy_conf_lookup(const struct hotmem_policy_conf *conf, const char *name)
{
	for (size_t i = 0; name && i < conf->nr_domains; i++) {
		if (strcmp(conf->domains[i].name, name) == 0)
			return &conf->domains[i].params;
	}
	return &conf->defaults;
}
