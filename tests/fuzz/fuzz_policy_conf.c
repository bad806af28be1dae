/*
 * libFuzzer target for hotmem.conf (hotmem_policy_conf_parse, policy_conf.c
 * on libinih): an operator's file, persisted, and reloaded by hotmemd on
 * SIGHUP while it runs. Promises checked: -EINVAL comes with a message that
 * names the origin; 0 gives host, default and per-domain parameters that
 * each validate on their own (the policy would otherwise act on nonsense);
 * nothing but 0, -EINVAL and -ENOMEM is returned. ASan catches any read past
 * the text and any leak of the parsed config.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotmem/policy.h"

#define ORIGIN "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hotmem_policy_conf *conf = NULL;
	char err[HOTMEM_POLICY_CONF_ERR_MAX];
	char *text;
	size_t i;
	int rc;

	/* The parser takes C text, as read from a file: stop at the first NUL. */
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	rc = hotmem_policy_conf_parse(text, ORIGIN, &conf, err, sizeof(err));
	if (rc == 0) {
		if (!conf || hotmem_policy_host_params_valid(&conf->host) ||
		    hotmem_policy_domain_params_valid(&conf->defaults))
			abort();
		for (i = 0; i < conf->nr_domains; i++)
			if (hotmem_policy_domain_params_valid(&conf->domains[i].params))
				abort();
		hotmem_policy_conf_free(conf);
	} else if (rc == -EINVAL) {
		if (conf || strncmp(err, ORIGIN, strlen(ORIGIN)) != 0)
			abort();
	} else if (rc != -ENOMEM) {
		abort();
	}
	free(text);
	return 0;
}
