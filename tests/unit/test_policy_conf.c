/*
 * The config parser (policy_conf.c): a full good file from disk, inheritance
 * from [domain *] wherever it sits, and a table of malformed inputs, each of
 * which must fail with -EINVAL and name the right line and key; and run-time
 * changes of one domain's keys (hotmem_policy_conf_apply), all or nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "hotmem/policy.h"

#define MIB (1ull << 20)

static void test_good_file(void)
{
	struct hotmem_policy_conf *conf = NULL;
	const struct hotmem_policy_domain_params *p;
	char err[HOTMEM_POLICY_CONF_ERR_MAX] = "";
	int r = hotmem_policy_conf_load(HOTMEM_UNIT_DIR "/policy_conf/good.conf", &conf, err,
					sizeof(err));

	CHECK_EQ(r, 0);
	if (r) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ(conf->host.reserve_bytes, 1024 * MIB);
	CHECK_EQ(conf->host.tick_ms, 2000);
	CHECK_EQ(conf->host.max_ops_per_tick, 10);
	CHECK_EQ(conf->host.ack_timeout_ms, 60000);
	CHECK_EQ(conf->host.unfreeze_hold_ms, 20000);
	CHECK_EQ(conf->host.metrics_interval_ms, 30000);
	CHECK(strcmp(conf->host.metrics_path, "/run/hotmem/metrics.prom") == 0);
	CHECK_EQ(conf->host.lend_float_bytes, 32ull << 30);
	CHECK_EQ(conf->nr_domains, 2);
	p = hotmem_policy_conf_lookup(conf, "web");
	CHECK_EQ(p->mode, HOTMEM_POLICY_AUTO); /* from [domain *], given after it */
	CHECK_EQ(p->weight, 400);
	CHECK_EQ(p->max_bytes, 8192 * MIB);
	CHECK_EQ(p->min_bytes, 512 * MIB);
	CHECK_EQ(p->psi_grow, 1250);
	CHECK_EQ(p->psi_calm, 25);
	CHECK_EQ(p->low_pct, 12);
	CHECK_EQ(p->grow_cooldown_ms, 3000);
	p = hotmem_policy_conf_lookup(conf, "db");
	CHECK_EQ(p->mode, HOTMEM_POLICY_MANUAL);
	CHECK_EQ(p->min_bytes, 2048 * MIB);
	p = hotmem_policy_conf_lookup(conf, "other");
	CHECK(p == &conf->defaults);
	CHECK_EQ(p->weight, HOTMEM_POLICY_WEIGHT_DEFAULT);
	hotmem_policy_conf_free(conf);
}

static void test_bad_file(void)
{
	struct hotmem_policy_conf *conf = NULL;
	char err[HOTMEM_POLICY_CONF_ERR_MAX] = "";

	CHECK_EQ(hotmem_policy_conf_load(HOTMEM_UNIT_DIR "/policy_conf/bad_value.conf", &conf, err,
					 sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "bad_value.conf:4: weight: bad value") != NULL);
	CHECK_EQ(hotmem_policy_conf_load(HOTMEM_UNIT_DIR "/policy_conf/missing.conf", &conf, err,
					 sizeof(err)),
		 -ENOENT);
	CHECK(conf == NULL);
}

static const struct {
	const char *text;
	const char *err; /* substring of the message */
} bad[] = {
	{ "[host]\nreserve = lots\n", "t:2: reserve: bad value" },
	{ "[host]\nbogus = 1\n", "t:2: bogus: unknown key in [host]" },
	{ "[hosts]\nreserve = 1g\n", "t:2: [hosts]: unknown section" },
	{ "reserve = 1g\n", "t:1: reserve: key before any section" },
	{ "[host]\nreserve 1g\n", "t:2: syntax error" },
	{ "[host\nreserve = 1g\n", "t:1: syntax error" },
	{ "[host]\ntick = 5x\n", "t:2: tick: bad value" },
	{ "[host]\ntick = 0\n", "[host]: tick" },
	{ "[host]\nmetrics-path = hotmem.prom\n", "t:2: metrics-path: bad value" },
	{ "[host]\nmetrics-interval = often\n", "t:2: metrics-interval: bad value" },
	{ "[host]\nreserve = 1g\nreserve = 2g\n", "t:3: reserve: given twice" },
	{ "[host]\nreserve = 1g\n[domain *]\nmode = auto\n[host]\ntick = 1s\n",
	  "t:6: [host]: section given twice" },
	{ "[domain *]\nmode = sometimes\n", "t:2: mode: bad value, want off, manual or auto" },
	{ "[domain *]\nweight = 0\n", "t:2: weight: bad value" },
	{ "[domain *]\nweight = 10001\n", "t:2: weight: bad value" },
	{ "[domain *]\nlow-watermark = 10\n", "t:2: low-watermark: bad value" },
	{ "[domain *]\nlow-watermark = 101%\n", "t:2: low-watermark: bad value" },
	{ "[domain *]\npsi-grow = 12.345\n", "t:2: psi-grow: bad value" },
	{ "[domain *]\npsi-grow = 100.01\n", "t:2: psi-grow: bad value" },
	{ "[domain *]\nmax-step-blocks = 0\n", "t:2: max-step-blocks: bad value" },
	{ "[domain *]\nlow-watermark = 40%\n", "t:2: [domain *]: high-watermark must be above" },
	{ "[domain a]\nmin = 2g\nmax = 1g\n", "t:2: [domain a]: max must not be below min" },
	{ "[domain *]\npsi-calm = 20\n", "[domain *]: psi-calm must be below psi-grow" },
	{ "[domain ]\nmode = auto\n", "bad domain name" },
	{ "[domain a]\nmode = auto\n[domain b]\nmode = auto\n[domain a]\nweight = 1\n",
	  "t:6: [domain a]: section given twice" },
};

static void test_bad_strings(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hotmem_policy_conf *conf = NULL;
		char err[HOTMEM_POLICY_CONF_ERR_MAX] = "";
		int r = hotmem_policy_conf_parse(bad[i].text, "t", &conf, err, sizeof(err));

		CHECK_EQ(r, -EINVAL);
		CHECK(conf == NULL);
		if (!strstr(err, bad[i].err)) {
			fprintf(stderr, "case %zu: got \"%s\", want \"%s\"\n", i, err, bad[i].err);
			CHECK(false);
		}
	}
}

static void test_empty(void)
{
	struct hotmem_policy_conf *conf = NULL;
	struct hotmem_policy_domain_params def;

	CHECK_EQ(hotmem_policy_conf_parse("# nothing\n", "t", &conf, NULL, 0), 0);
	hotmem_policy_domain_defaults(&def);
	CHECK(conf != NULL);
	if (!conf)
		return;
	CHECK_EQ(conf->defaults.mode, def.mode);
	CHECK_EQ(conf->defaults.weight, def.weight);
	CHECK_EQ(conf->defaults.low_pct, def.low_pct);
	CHECK_EQ(conf->defaults.release_hold_ms, def.release_hold_ms);
	CHECK_EQ(conf->host.reserve_bytes, 256 << 20);
	hotmem_policy_conf_free(conf);
}

/* Run-time changes (xl-hotmem policy DOM key=value): all or nothing. */
static void test_apply(void)
{
	struct hotmem_policy_domain_params p, before;
	const char *good_k[] = { "mode", "min", "max", "weight", "low-watermark", "psi-grow" };
	const char *good_v[] = { "auto", "1g", "4g", "250", "5%", "12.5" };
	const char *bad_pairs[][2] = {
		{ "reserve", "1g" },	    /* a [host] key */
		{ "nosuch", "1" },	    /* unknown */
		{ "min", "lots" },	    /* not a size */
		{ "weight", "0" },	    /* out of range */
		{ "mode", "Auto" },	    /* case matters */
		{ "low-watermark", "5" },   /* a percentage needs % */
		{ "grow-cooldown", "1y" },  /* bad unit */
		{ "psi-grow", "100.001" },  /* three decimals */
		{ "high-watermark", "1%" }, /* below low: does not validate */
		{ "", "" },
	};
	const char *twice_k[] = { "min", "min" }, *twice_v[] = { "1g", "2g" };
	const char *minmax_k[] = { "min", "max" }, *minmax_v[] = { "2g", "1g" };
	char err[HOTMEM_POLICY_CONF_ERR_MAX];

	hotmem_policy_domain_defaults(&p);
	CHECK_EQ(hotmem_policy_conf_apply(&p, good_k, good_v, 6, err, sizeof(err)), 0);
	CHECK_EQ(p.mode, HOTMEM_POLICY_AUTO);
	CHECK_EQ(p.min_bytes, 1ull << 30);
	CHECK_EQ(p.max_bytes, 4ull << 30);
	CHECK_EQ(p.weight, 250);
	CHECK_EQ(p.low_pct, 5);
	CHECK_EQ(p.psi_grow, 1250);
	before = p;
	for (size_t i = 0; i < sizeof(bad_pairs) / sizeof(bad_pairs[0]); i++) {
		err[0] = '\0';
		CHECK_EQ(hotmem_policy_conf_apply(&p, &bad_pairs[i][0], &bad_pairs[i][1], 1, err,
						  sizeof(err)),
			 -EINVAL);
		CHECK(err[0] != '\0');
		CHECK(memcmp(&p, &before, sizeof(p)) == 0);
	}
	CHECK_EQ(hotmem_policy_conf_apply(&p, twice_k, twice_v, 2, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "twice") != NULL);
	CHECK_EQ(hotmem_policy_conf_apply(&p, minmax_k, minmax_v, 2, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "max must not be below min") != NULL);
	CHECK(memcmp(&p, &before, sizeof(p)) == 0);
	CHECK_EQ(hotmem_policy_conf_apply(NULL, good_k, good_v, 1, NULL, 0), -EINVAL);
	CHECK_EQ(hotmem_policy_conf_apply(&p, NULL, NULL, 1, NULL, 0), -EINVAL);
	CHECK_EQ(hotmem_policy_conf_apply(&p, NULL, NULL, 0, NULL, 0), 0);
}

int main(void)
{
	test_good_file();
	test_bad_file();
	test_bad_strings();
	test_empty();
	test_apply();
	return check_exit("test_policy_conf");
}
