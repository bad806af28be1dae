/*
 * The policy simulator (psim.h). Each guest has a class (nominal size, min,
 * max, weight), a trace giving its working set over time, and the memory it
 * holds: boot + granted blocks, a balloon target and the frames it actually
 * holds, which follow the target at balloon speed. Grows and shrinks take a
 * block-proportional time to complete. MemAvailable is usable memory minus
 * the working set; PSI rises as MemAvailable falls toward zero and is
 * smoothed like the kernel's avg10. Policies see only what hotmemd would see:
 * stats published once a second, host free memory, engine books.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotmem/policy.h"
#include "psim.h"

#define MIB	   (1ull << 20)
#define BLOCK	   (128 * MIB)
#define MAX_TRACES 16
#define MAX_POINTS 64
/* Kernel, page tables and slab the guest uses besides its working set. */
#define KERNEL_USED (48 * MIB)
/* Balloon speed, bytes per second, both ways. */
#define BALLOON_RATE (512 * MIB)
/* A grow takes this long per block (populate, hot-add, online, ack). */
#define GROW_MS_PER_BLOCK   500
#define SHRINK_MS_PER_BLOCK 2000
/* How often the squeezed baseline recomputes its targets. */
#define SQUEEZED_PERIOD_S 10

struct trace {
	uint32_t n;
	uint32_t t[MAX_POINTS];	  /* seconds */
	uint32_t pct[MAX_POINTS]; /* working set, % of nominal */
};

struct guest_class {
	uint64_t nominal, min, max;
	uint32_t weight;
};

/* small 50 %, medium 35 %, large 15 % */
static const struct guest_class classes[3] = {
	{ 1024 * MIB, 512 * MIB, 3072 * MIB, 100 },
	{ 2048 * MIB, 1024 * MIB, 5120 * MIB, 200 },
	{ 4096 * MIB, 2048 * MIB, 8192 * MIB, 400 },
};

struct guest {
	const struct guest_class *cls;
	const struct trace *trace;
	uint32_t offset_s;
	double scale;
	uint64_t boot, granted, target, actual;
	uint64_t ws;
	double psi; /* 1/100 % */
	struct hotmem_stats stats;
	uint64_t stats_at_ms;
	bool has_stats;
	/* operation */
	bool op;
	int op_kind; /* 1 grow, 2 shrink */
	uint32_t op_blocks;
	uint64_t op_started_ms, op_done_ms, op_target_after;
	/* unresponsive window */
	uint32_t dead_from, dead_to;
	/* for the checks */
	uint64_t last_grow_ms, last_reclaim_ms;
	bool grown, reclaimed;
};

struct sim {
	const struct psim_config *cfg;
	enum psim_policy policy;
	struct trace traces[MAX_TRACES];
	uint32_t nr_traces;
	struct guest *g;
	uint64_t host, reserve, free;
	uint64_t rng;
};

static uint64_t rng_next(struct sim *s)
{
	/* xorshift64*: tiny, deterministic, good enough to spread guests. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ull;
}

static int trace_load(const char *path, struct trace *tr)
{
	FILE *f = fopen(path, "re");
	char line[256];

	if (!f)
		return -errno;
	tr->n = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned int t, pct;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%u %u", &t, &pct) != 2 || tr->n == MAX_POINTS ||
		    (tr->n && t <= tr->t[tr->n - 1]) || pct > 400) {
			fclose(f);
			return -EINVAL;
		}
		tr->t[tr->n] = t;
		tr->pct[tr->n] = pct;
		tr->n++;
	}
	fclose(f);
	return tr->n >= 2 && tr->t[0] == 0 ? 0 : -EINVAL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every *.trace in name order (directory order is not deterministic). */
static int traces_load(struct sim *s)
{
	DIR *dir = opendir(s->cfg->trace_dir);
	char *names[MAX_TRACES];
	struct dirent *de;
	uint32_t n = 0;
	int r = 0;

	if (!dir)
		return -errno;
	while ((de = readdir(dir)) && n < MAX_TRACES) {
		size_t len = strlen(de->d_name);

		if (len > 6 && strcmp(de->d_name + len - 6, ".trace") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(dir);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (uint32_t i = 0; i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", s->cfg->trace_dir, names[i]);
		if (!r)
			r = trace_load(path, &s->traces[i]);
		free(names[i]);
	}
	s->nr_traces = n;
	return r ? r : (n ? 0 : -ENOENT);
}

static uint64_t trace_ws(const struct guest *g, uint32_t now_s)
{
	const struct trace *tr = g->trace;
	uint32_t period = tr->t[tr->n - 1];
	uint32_t t = (now_s + g->offset_s) % period;
	uint32_t i = 1;
	double pct;

	while (tr->t[i] < t)
		i++;
	pct = tr->pct[i - 1] + ((double)tr->pct[i] - (double)tr->pct[i - 1]) * (t - tr->t[i - 1]) /
				       (tr->t[i] - tr->t[i - 1]);
	return (uint64_t)(pct / 100.0 * g->scale * (double)g->cls->nominal);
}

static uint64_t usable(uint64_t held)
{
	/* MemTotal: what is left after the kernel's reserved memory and memmap (~2 %). */
	return held - held / 50;
}

static uint64_t avail_of(const struct guest *g)
{
	uint64_t total = usable(g->actual), used = g->ws + KERNEL_USED;

	return used >= total ? 0 : total - used;
}

/* The default low watermark, the same yardstick for every policy. */
static uint64_t low_wm(const struct guest *g)
{
	uint64_t total = usable(g->actual), pct = total / 100 * 10;

	return pct > 64 * MIB ? pct : 64 * MIB;
}

static bool dead(const struct guest *g, uint32_t now_s)
{
	return now_s >= g->dead_from && now_s < g->dead_to;
}

/* Per-second guest physics: balloon, operations, stats, PSI. */
static void guest_step(struct sim *s, struct guest *g, uint32_t now_s)
{
	uint64_t now_ms = (uint64_t)now_s * 1000;

	g->ws = trace_ws(g, now_s);
	/* Balloon: the held frames follow the target; deflation needs free frames. */
	if (g->actual > g->target) {
		uint64_t d = g->actual - g->target;

		d = d < BALLOON_RATE ? d : BALLOON_RATE;
		g->actual -= d;
		s->free += d;
	} else if (g->actual < g->target && !dead(g, now_s)) {
		uint64_t d = g->target - g->actual;

		d = d < BALLOON_RATE ? d : BALLOON_RATE;
		d = d < s->free ? d : s->free;
		g->actual += d;
		s->free -= d;
	}
	if (g->op && !dead(g, now_s) && now_ms >= g->op_done_ms) {
		uint64_t bytes = (uint64_t)g->op_blocks * BLOCK;

		if (g->op_kind == 1) {
			/* The policy counted the frames as inflight while the grow ran;
			 * they leave the host now (the populate, simplified to the end). */
			s->free = s->free > bytes ? s->free - bytes : 0;
			g->granted += bytes;
			g->target += bytes;
			g->actual += bytes;
		} else {
			g->granted -= bytes;
			/* The engine lowered the target by the blocks; the daemon writes the
			 * decision's target back, so the balloon they replace is released. */
			g->target = g->op_target_after;
		}
		g->op = false;
	}
	/* PSI: stalls start when MemAvailable is under 3 % of MemTotal; full
	 * stall when the working set does not fit; avg10 is an EMA over 10 s. */
	uint64_t total = usable(g->actual), av = avail_of(g), edge = total / 100 * 3;
	double inst = 0;
	if (g->ws + KERNEL_USED >= total)
		inst = 1;
	else if (av < edge)
		inst = (double)(edge - av) / (double)edge;
	g->psi += (inst * 10000 - g->psi) * 0.0952;
	if (!dead(g, now_s)) {
		g->stats.counter++;
		g->stats.memtotal_kib = total >> 10;
		g->stats.memavail_kib = av >> 10;
		g->stats.psi_some_avg10 = (uint32_t)g->psi;
		g->stats.psi_full_avg10 = (uint32_t)(g->psi / 2);
		g->stats_at_ms = now_ms;
		g->has_stats = true;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Invariant checks of the hotmem policy after one tick. */
static void check_tick(struct sim *s, struct hotmem_policy *pol,
		       const struct hotmem_policy_domain_params *params, bool contention,
		       struct psim_result *res)
{
	const struct psim_config *cfg = s->cfg;
	double level = -1;

	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];
		struct hotmem_policy_domain_status st;

		if (g->target < g->cls->min || g->target > g->cls->max)
			res->min_max_violations++;
		if (!contention || hotmem_policy_domain_status(pol, i + 1, &st) || st.frozen ||
		    st.demand_bytes <= st.share_bytes || g->op)
			continue;
		/* Every domain held under its demand sits at the same weighted level
		 * above its min (water-filling), within one MiB of rounding. */
		double l = (double)(st.share_bytes - g->cls->min) / g->cls->weight;
		res->fairness_checks++;
		if (level < 0)
			level = l;
		else if (fabs(l - level) * g->cls->weight > (double)MIB)
			res->fairness_violations++;
	}
	(void)params;
}

static int run_hotmem_tick(struct sim *s, struct hotmem_policy *pol, uint32_t now_s,
			   struct hotmem_policy_domain_input *in,
			   struct hotmem_policy_decision *dec, uint64_t *tick_ns,
			   struct psim_result *res)
{
	const struct psim_config *cfg = s->cfg;
	uint64_t now_ms = (uint64_t)now_s * 1000;
	struct hotmem_policy_host_input host = { .free_bytes = s->free };
	size_t n;
	int r;

	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];

		in[i] = (struct hotmem_policy_domain_input){
			.domid = i + 1,
			.boot_bytes = g->boot,
			.block_size = BLOCK,
			.granted_bytes = g->granted,
			.target_bytes = g->target,
			.actual_bytes = g->actual,
			.inflight_bytes =
				g->op && g->op_kind == 1 ? (uint64_t)g->op_blocks * BLOCK : 0,
			.have_stats = g->has_stats,
			.stats = g->stats,
			.stats_age_ms = now_ms - g->stats_at_ms,
			.op_busy = g->op,
			.op_age_ms = g->op ? now_ms - g->op_started_ms : 0,
		};
	}
	uint64_t t0 = now_ns();
	r = hotmem_policy_tick(pol, now_ms, &host, in, cfg->guests, dec, 2 * cfg->guests, &n);
	*tick_ns = now_ns() - t0;
	if (r < 0)
		return r;
	bool contention = false;
	for (size_t k = 0; k < n; k++) {
		struct guest *g = &s->g[dec[k].domid - 1];
		struct hotmem_policy_domain_status st;
		bool raise = false;

		hotmem_policy_domain_status(pol, dec[k].domid, &st);
		switch (dec[k].action) {
		case HOTMEM_POLICY_GROW:
			res->grows++;
			raise = true;
			g->op = true;
			g->op_kind = 1;
			g->op_blocks = dec[k].blocks;
			g->op_started_ms = now_ms;
			g->op_done_ms = now_ms + (uint64_t)dec[k].blocks * GROW_MS_PER_BLOCK;
			break;
		case HOTMEM_POLICY_SHRINK:
			res->shrinks++;
			g->op = true;
			g->op_kind = 2;
			g->op_blocks = dec[k].blocks;
			g->op_target_after = dec[k].target_bytes;
			g->op_started_ms = now_ms;
			g->op_done_ms = now_ms + (uint64_t)dec[k].blocks * SHRINK_MS_PER_BLOCK;
			break;
		case HOTMEM_POLICY_SET_TARGET:
			res->targets++;
			raise = dec[k].target_bytes > g->target;
			if (!raise && strstr(dec[k].reason, "contention"))
				contention = true;
			g->target = dec[k].target_bytes;
			break;
		case HOTMEM_POLICY_FREEZE:
			res->freezes++;
			break;
		default:
			break;
		}
		if (!cfg->check || dec[k].action == HOTMEM_POLICY_FREEZE ||
		    dec[k].action == HOTMEM_POLICY_UNFREEZE)
			continue;
		if (raise && st.frozen)
			res->frozen_grows++;
		/* No flip inside a cooldown: a reclaim needs shrink_cooldown after a
		 * grow, a grow needs grow_cooldown after a reclaim. */
		if (raise) {
			if (g->reclaimed &&
			    now_ms - g->last_reclaim_ms < st.params.grow_cooldown_ms)
				res->flip_violations++;
			g->grown = true;
			g->last_grow_ms = now_ms;
		} else {
			if (g->grown && now_ms - g->last_grow_ms < st.params.shrink_cooldown_ms)
				res->flip_violations++;
			g->reclaimed = true;
			g->last_reclaim_ms = now_ms;
		}
	}
	if (cfg->check)
		check_tick(s, pol, NULL, contention, res);
	return 0;
}

static void run_squeezed(struct sim *s, uint32_t now_s, struct psim_result *res)
{
	const struct psim_config *cfg = s->cfg;
	uint64_t budget = s->host - s->reserve, sum_min = 0, sum_range = 0, fixed = 0;

	if (now_s % SQUEEZED_PERIOD_S)
		return;
	/* squeezed: inactive (unresponsive) domains keep their size; the others get
	 * min + f * (max - min) with one f for all, as large as the host allows. */
	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];

		if (dead(g, now_s) || (uint64_t)now_s * 1000 - g->stats_at_ms > 10000) {
			fixed += g->target;
			continue;
		}
		sum_min += g->cls->min;
		sum_range += g->cls->max - g->cls->min;
	}
	double f = budget <= fixed + sum_min ? 0 : (double)(budget - fixed - sum_min) / sum_range;
	f = f > 1 ? 1 : f;
	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];

		if (dead(g, now_s) || (uint64_t)now_s * 1000 - g->stats_at_ms > 10000)
			continue;
		uint64_t t = g->cls->min + (uint64_t)(f * (double)(g->cls->max - g->cls->min));
		t &= ~(MIB - 1);
		if (t != g->target) {
			/* squeezed ignores moves under 1 MiB; this one is bigger */
			g->target = t;
			res->targets++;
			res->ops++;
		}
	}
}

int psim_run(const struct psim_config *cfg, enum psim_policy policy, struct psim_result *ret_result)
{
	struct sim s = { .cfg = cfg, .policy = policy, .rng = cfg->seed | 1 };
	struct psim_result res = { .policy = policy };
	struct hotmem_policy *pol = NULL;
	struct hotmem_policy_domain_input *in = NULL;
	struct hotmem_policy_decision *dec = NULL;
	uint64_t *tick_ns = NULL, sum_nominal = 0;
	double util_g = 0, util_u = 0;
	int r;

	r = traces_load(&s);
	if (r < 0)
		return r;
	s.g = calloc(cfg->guests, sizeof(*s.g));
	in = calloc(cfg->guests, sizeof(*in));
	dec = calloc(2 * (size_t)cfg->guests, sizeof(*dec));
	tick_ns = calloc(cfg->seconds, sizeof(*tick_ns));
	if (!s.g || !in || !dec || !tick_ns) {
		r = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s.g[i];
		uint32_t c = i % 20 < 10 ? 0 : i % 20 < 17 ? 1 : 2;

		g->cls = &classes[c];
		g->trace = &s.traces[rng_next(&s) % s.nr_traces];
		g->offset_s = (uint32_t)(rng_next(&s) % 3600);
		g->scale = 0.8 + (double)(rng_next(&s) % 401) / 1000.0;
		g->dead_from = g->dead_to = UINT32_MAX;
		if (cfg->unresponsive_every && i % cfg->unresponsive_every == 3) {
			g->dead_from = cfg->seconds / 3 + (uint32_t)(rng_next(&s) % 60);
			g->dead_to = g->dead_from + cfg->seconds / 4;
		}
		sum_nominal += g->cls->nominal;
	}
	/* The host holds every guest's nominal size plus the reserve: the static
	 * baseline is the best fixed partition, and the sum of the maxima is
	 * 2.7 times the host (overcommit). */
	s.reserve = 4096 * MIB;
	s.host = sum_nominal / 100 * (cfg->host_pct ? cfg->host_pct : 100) + s.reserve;
	s.free = s.host;
	res.host_bytes = s.host;
	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s.g[i];

		g->boot = policy == PSIM_HOTMEM	  ? g->cls->min
			  : policy == PSIM_STATIC ? g->cls->nominal
						  : g->cls->max; /* squeezed: balloon from max */
		g->target = policy == PSIM_SQUEEZED ? g->cls->nominal : g->boot;
		g->actual = g->target;
		s.free -= g->actual;
	}
	if (policy == PSIM_HOTMEM) {
		struct hotmem_policy_host_params hp;
		struct hotmem_policy_domain_params dp;

		hotmem_policy_host_defaults(&hp);
		hp.reserve_bytes = s.reserve;
		r = hotmem_policy_new(&hp, NULL, &pol);
		if (r < 0)
			goto out;
		for (uint32_t i = 0; i < cfg->guests; i++) {
			hotmem_policy_domain_defaults(&dp);
			dp.mode = HOTMEM_POLICY_AUTO;
			dp.min_bytes = s.g[i].cls->min;
			dp.max_bytes = s.g[i].cls->max;
			dp.weight = s.g[i].cls->weight;
			r = hotmem_policy_set_domain(pol, i + 1, &dp);
			if (r < 0)
				goto out;
		}
	}
	for (uint32_t t = 0; t < cfg->seconds; t++) {
		uint64_t held = 0, used = 0;

		for (uint32_t i = 0; i < cfg->guests; i++)
			guest_step(&s, &s.g[i], t);
		if (policy == PSIM_HOTMEM) {
			r = run_hotmem_tick(&s, pol, t, in, dec, &tick_ns[t], &res);
			if (r < 0)
				goto out;
		} else if (policy == PSIM_SQUEEZED) {
			run_squeezed(&s, t, &res);
		}
		for (uint32_t i = 0; i < cfg->guests; i++) {
			struct guest *g = &s.g[i];
			uint64_t u = usable(g->actual), w = g->ws + KERNEL_USED;

			held += g->actual;
			used += w < u ? w : u;
			if (avail_of(g) < low_wm(g))
				res.guest_s_under += 1;
		}
		util_g += (double)held / (double)s.host;
		util_u += (double)used / (double)s.host;
		if (cfg->check && policy == PSIM_HOTMEM && s.free < s.reserve)
			res.reserve_violations++;
	}
	res.util_granted = util_g / cfg->seconds;
	res.util_used = util_u / cfg->seconds;
	res.ops = res.grows + res.shrinks + res.targets;
	if (policy == PSIM_HOTMEM) {
		double sum = 0;

		for (uint32_t t = 0; t < cfg->seconds; t++)
			sum += (double)tick_ns[t];
		res.tick_us_mean = sum / cfg->seconds / 1000.0;
		qsort(tick_ns, cfg->seconds, sizeof(*tick_ns), cmp_u64);
		res.tick_us_p99 = (double)tick_ns[(size_t)cfg->seconds * 99 / 100] / 1000.0;
	}
	*ret_result = res;
	r = 0;
out:
	hotmem_policy_free(pol);
	free(s.g);
	free(in);
	free(dec);
	free(tick_ns);
	return r;
}

const char *psim_policy_name(enum psim_policy policy)
{
	switch (policy) {
	case PSIM_HOTMEM:
		return "hotmem";
	case PSIM_STATIC:
		return "static";
	case PSIM_SQUEEZED:
		return "squeezed";
	default:
		return "?";
	}
}
