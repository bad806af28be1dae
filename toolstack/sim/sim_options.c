/*
 * Parsing of the simulated-host options and config file (see ctl_sim.h).
 * Every error names the option or the file line that was wrong.
 */
#include "sim_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotmem/units.h"

static int parse_bytes(const char *text, uint64_t *ret_bytes)
{
	uint64_t bytes;
	int r = hotmem_parse_size(text, &bytes);

	if (r < 0)
		return r;
	if (!bytes || bytes % 4096)
		return -EINVAL;
	*ret_bytes = bytes;
	return 0;
}

/* flag: NULL, or "nodriver" (a guest that never loads xen_hotmem.ko). */
static int add_domain(struct sim_host_config *cfg, const char *name, const char *size,
		      const char *flag, char *msg, size_t msg_size)
{
	uint64_t bytes;
	int r = parse_bytes(size, &bytes);

	if (r < 0) {
		snprintf(msg, msg_size, "sim domain '%s': invalid size '%s'", name, size);
		return -EINVAL;
	}
	if (flag && strcmp(flag, "nodriver") != 0) {
		snprintf(msg, msg_size, "sim domain '%s': unknown flag '%s' (nodriver)", name,
			 flag);
		return -EINVAL;
	}
	r = sim_host_config_add(cfg, name, bytes);
	if (r < 0)
		snprintf(msg, msg_size, "sim domain '%s': %s", name,
			 r == -EEXIST	? "name given twice"
			 : r == -ENOSPC ? "too many domains"
					: "invalid name");
	else
		cfg->domains[cfg->nr_domains - 1].no_driver = flag != NULL;
	return r;
}

int sim_options_add_domain(struct sim_host_config *cfg, const char *spec, char *msg,
			   size_t msg_size)
{
	char name[SIM_HOST_NAME_MAX + 2], rest[64], *flag;
	const char *colon = strchr(spec, ':');

	if (!colon || colon == spec || (size_t)(colon - spec) > SIM_HOST_NAME_MAX) {
		snprintf(msg, msg_size, "invalid --sim-domain '%s': expected NAME:SIZE[:nodriver]",
			 spec);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(colon - spec), spec);
	if (strlen(colon + 1) >= sizeof(rest)) {
		snprintf(msg, msg_size, "sim domain '%s': invalid size '%s'", name, colon + 1);
		return -EINVAL;
	}
	strcpy(rest, colon + 1);
	/* SIZE[:FLAG] */
	flag = strchr(rest, ':');
	if (flag)
		*flag++ = '\0';
	return add_domain(cfg, name, rest, flag, msg, msg_size);
}

int sim_options_set_host(struct sim_host_config *cfg, const char *size, char *msg, size_t msg_size)
{
	if (parse_bytes(size, &cfg->host_bytes) < 0) {
		snprintf(msg, msg_size, "invalid sim host size '%s'", size);
		return -EINVAL;
	}
	return 0;
}

int sim_options_load(struct sim_host_config *cfg, const char *path, char *msg, size_t msg_size)
{
	char line[256], what[32], a[128], b[128], c[32];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f) {
		r = -errno;
		snprintf(msg, msg_size, "cannot open sim config %s: %s", path, strerror(errno));
		return r;
	}
	while (r == 0 && fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');
		bool known;
		int n;

		lineno++;
		if (hash)
			*hash = '\0';
		n = sscanf(line, "%31s %127s %127s %31s", what, a, b, c);
		if (n <= 0)
			continue;
		known = (!strcmp(what, "host") && n == 2) ||
			(!strcmp(what, "domain") && (n == 3 || n == 4));
		if (!known)
			r = -EINVAL;
		else if (!strcmp(what, "host"))
			r = sim_options_set_host(cfg, a, msg, msg_size);
		else
			r = add_domain(cfg, a, b, n == 4 ? c : NULL, msg, msg_size);
		if (r < 0) {
			char inner[128];

			snprintf(inner, sizeof(inner), "%s", msg);
			snprintf(msg, msg_size, "%s:%u: %s", path, lineno,
				 known ? inner
				       : "expected 'host SIZE' or 'domain NAME SIZE [nodriver]'");
		}
	}
	fclose(f);
	return r;
}

int sim_options_parse(struct sim_host_config *cfg, int opt, const char *arg, char *msg,
		      size_t msg_size)
{
	if (opt == SIM_OPTION_CONFIG)
		return sim_options_load(cfg, arg, msg, msg_size);
	if (opt == SIM_OPTION_HOST)
		return sim_options_set_host(cfg, arg, msg, msg_size);
	return sim_options_add_domain(cfg, arg, msg, msg_size);
}

void sim_options_finish(struct sim_host_config *cfg)
{
	char msg[128];

	if (cfg->nr_domains)
		return;
	sim_options_add_domain(cfg, "guest1:512m", msg, sizeof(msg));
	sim_options_add_domain(cfg, "guest2:512m", msg, sizeof(msg));
}

int sim_options_default_socket(char *buf, size_t size)
{
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	int n;

	if (runtime && runtime[0] == '/')
		n = snprintf(buf, size, "%s/hotmem-sim.sock", runtime);
	else
		n = snprintf(buf, size, "/tmp/hotmem-sim-%u.sock", (unsigned int)getuid());
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
