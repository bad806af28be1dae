/*
 * The policy simulator (psim.h). Each guest has a class (nominal size, min,
 * max, weight), a trace giving its working set over time, a life (when it
 * boots and shuts down) and the memory it holds: boot + hot-added blocks, a
 * balloon target and the frames it actually holds, which follow the target
 * at balloon speed. What arm64 Xen imposes, and hence what the policies are
 * compared on (docs/policy.md, "The model", gives the sources):
 *
 * - boot memory is fully populated at creation (no populate-on-demand):
 *   a guest is created only if its whole boot size fits in the free memory
 *   above the reserve, and a guest meant to balloon up to its max boots at
 *   its max;
 * - a guest never holds more than boot + hot-added (a balloon cannot go
 *   past its boot size);
 * - struct pages cost 64 bytes per 4 KiB page of boot size, ballooned or
 *   not; a hot-added block carries its own on the block (memmap_on_memory)
 *   and gives it back when removed;
 * - a balloon gives back only frames the guest can free: it stops where
 *   the working set and kernel (and the memmap) are left, as a Linux balloon
 *   without swap does, for every policy; the oracle, too, never takes frames
 *   a working set holds;
 * - a grow takes GROW_MS_PER_BLOCK per block, each block the guest's as it
 *   comes online (one after another, as the driver plugs them), a shrink
 *   SHRINK_MS_PER_BLOCK,
 *   and a shrink is refused `nomem` when the working set would not fit in
 *   what stays, or `busy` (an interrupted offline) at SHRINK_BUSY_PCT
 *   (struct psim_timing overrides the three for a sensitivity run).
 *
 * MemAvailable is MemTotal minus the working set and the kernel's own use;
 * PSI rises as MemAvailable falls toward zero and is smoothed like the
 * kernel's avg10. Policies see only what hotmemd would see: stats published
 * once a second, host free memory, engine records.
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
#define GIB	   (1ull << 30)
#define BLOCK	   (128 * MIB)
#define MAX_TRACES 16
#define MAX_POINTS 64
/* Kernel text, page tables and slab the guest uses besides its working set. */
#define KERNEL_USED (48 * MIB)
/* Balloon speed, both ways: the lab's balloon populated 126 MiB in
 * 0.23-0.40 s (docs/guest-driver.md, Measurements). */
#define BALLOON_RATE (400 * MIB)
/* lab.grow: 2.0-2.2 s per GiB end to end, balloon fill included (docs/lab.md). */
#define GROW_MS_PER_BLOCK 260
/* lab.shrink: 4.4-4.8 s for 5 blocks, 7.28 s per GiB (docs/lab.md). */
#define SHRINK_MS_PER_BLOCK 900
/* Refusals (docs/guest-driver.md, Measurements): `nomem` is acked in 0.06 s,
 * `busy` after the driver's retries in 0.55-0.62 s. The lab measured the
 * conditions, not a rate: busy came from an offline interrupted while pages
 * migrated. One shrink in ten is refused busy here (pessimistic). */
#define SHRINK_NOMEM_MS 60
#define SHRINK_BUSY_MS	600
#define SHRINK_BUSY_PCT 10

const struct psim_timing PSIM_LAB_TIMING = {
	.grow_ms_per_block = GROW_MS_PER_BLOCK,
	.shrink_ms_per_block = SHRINK_MS_PER_BLOCK,
	.shrink_busy_pct = SHRINK_BUSY_PCT,
};
/* A creation that does not fit is retried every second this long (xl create
 * would fail; a toolstack like xapi waits for squeezed to make room). */
#define BOOT_WAIT_S 60
/* A guest that boots during the run reaches its trace's working set in this
 * long (services starting, caches filling). */
#define BOOT_RAMP_S 60
/* How often the squeezed baseline recomputes its targets. */
#define SQUEEZED_PERIOD_S 10
/* What the oracle knows ahead. */
#define ORACLE_HORIZON_S 60
/* The oracle's moves smaller than this are not counted as operations. */
#define ORACLE_OP_MIN (32 * MIB)
#define PSI_BUCKETS   10001

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
	uint32_t arrive_s, depart_s; /* alive in [arrive, depart) */
	bool booted, failed;	     /* created; creation refused (boot did not fit) */
	uint32_t boot_wait_s;	     /* seconds a creation has waited for room */
	uint64_t boot, granted, target, actual;
	uint64_t ws;
	double psi; /* 1/100 % */
	struct hotmem_stats stats;
	uint64_t stats_at_ms;
	bool has_stats;
	/* operation */
	bool op;
	int op_kind;   /* 1 grow, 2 shrink */
	int op_result; /* 0 ok, 1 busy, 2 nomem */
	uint32_t op_blocks;
	uint32_t op_blocks_done, op_ms_per_block;
	uint64_t op_started_ms, op_done_ms;
	/* unresponsive window */
	uint32_t dead_from, dead_to;
	/* for the checks */
	uint64_t last_grow_ms, last_reclaim_ms;
	bool grown, reclaimed;
	uint64_t oracle_last;
};

struct sim {
	const struct psim_config *cfg;
	enum psim_policy policy;
	struct trace traces[MAX_TRACES];
	uint32_t nr_traces;
	struct guest *g;
	uint64_t host, reserve, free;
	uint64_t rng;
	uint64_t *psi_hist;
	uint64_t psi_samples;
};

static uint64_t rng_next(uint64_t *state)
{
	/* xorshift64*: tiny, deterministic, good enough to spread guests. */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ull;
}

static int trace_load(const char *path, struct trace *tr)
{
	FILE *f = fopen(path, "re");
	char line[256];
	int r = 0;

	if (!f)
		return -errno;
	tr->n = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned int t, pct;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%u %u", &t, &pct) != 2 || tr->n == MAX_POINTS ||
		    (tr->n && t <= tr->t[tr->n - 1]) || pct > 400) {
			r = -EINVAL;
			break;
		}
		tr->t[tr->n] = t;
		tr->pct[tr->n] = pct;
		tr->n++;
	}
	fclose(f);
	if (!r && (tr->n < 2 || tr->t[0] != 0))
		r = -EINVAL;
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every *.trace of dir in name order (directory order is not deterministic). */
static int traces_load(struct sim *s, const char *dirname)
{
	DIR *dir = opendir(dirname);
	char *names[MAX_TRACES];
	struct dirent *de;
	uint32_t n = 0;
	int r = 0;

	if (!dir)
		return -errno;
	while ((de = readdir(dir)) && n < MAX_TRACES) {
		size_t len = strlen(de->d_name);

		if (len > 6 && strcmp(de->d_name + len - 6, ".trace") == 0) {
			names[n] = strdup(de->d_name);
			if (!names[n]) {
				r = -ENOMEM;
				break;
			}
			n++;
		}
	}
	closedir(dir);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (uint32_t i = 0; i < n; i++) {
		char path[4096];

		if (!r && (size_t)snprintf(path, sizeof(path), "%s/%s", dirname, names[i]) >=
				  sizeof(path))
			r = -ENAMETOOLONG;
		if (!r)
			r = trace_load(path, &s->traces[i]);
		free(names[i]);
	}
	s->nr_traces = n;
	return r ? r : (n ? 0 : -ENOENT);
}

/* Working set, % of nominal, at trace time t (0 <= t <= period). */
static double trace_pct(const struct trace *tr, uint32_t t)
{
	uint32_t i = 1;

	while (tr->t[i] < t)
		i++;
	return tr->pct[i - 1] + ((double)tr->pct[i] - (double)tr->pct[i - 1]) * (t - tr->t[i - 1]) /
					(tr->t[i] - tr->t[i - 1]);
}

static uint64_t pct_bytes(const struct guest *g, double pct)
{
	return (uint64_t)(pct / 100.0 * g->scale * (double)g->cls->nominal);
}

static uint64_t trace_ws(const struct guest *g, uint32_t now_s)
{
	const struct trace *tr = g->trace;
	uint64_t ws = pct_bytes(g, trace_pct(tr, (now_s + g->offset_s) % tr->t[tr->n - 1]));

	/* A guest booted during the run fills its working set over its first
	 * BOOT_RAMP_S (those there from the start are past that). */
	if (g->arrive_s && now_s - g->arrive_s < BOOT_RAMP_S)
		ws = ws / BOOT_RAMP_S * (now_s - g->arrive_s + 1);
	return ws;
}

/* Largest working set in [now, now + horizon]: the trace is linear between
 * its points, so the ends and the points inside are enough. */
static uint64_t trace_ws_peak(const struct guest *g, uint32_t now_s, uint32_t horizon_s)
{
	const struct trace *tr = g->trace;
	uint32_t period = tr->t[tr->n - 1];
	uint32_t u = (now_s + g->offset_s) % period;
	double best = trace_pct(tr, u);

	if (horizon_s >= period) {
		for (uint32_t k = 0; k < tr->n; k++)
			best = fmax(best, tr->pct[k]);
		return pct_bytes(g, best);
	}
	best = fmax(best, trace_pct(tr, (u + horizon_s) % period));
	for (uint32_t k = 0; k < tr->n; k++) {
		if ((tr->t[k] + period - u) % period <= horizon_s)
			best = fmax(best, tr->pct[k]);
	}
	return pct_bytes(g, best);
}

/* struct pages of the boot size (ballooned or not) and of the hot-added
 * blocks (on the blocks themselves): 64 bytes per 4 KiB page. */
static uint64_t memmap_of(const struct guest *g)
{
	return (g->boot + g->granted) / 64;
}

/* MemTotal: the frames held, minus the memmap. */
static uint64_t usable(const struct guest *g)
{
	uint64_t mm = memmap_of(g);

	return g->actual > mm ? g->actual - mm : 0;
}

static uint64_t avail_of(const struct guest *g)
{
	uint64_t total = usable(g), used = g->ws + KERNEL_USED;

	return used >= total ? 0 : total - used;
}

/* The default low watermark, the same yardstick for every policy. */
static uint64_t low_wm(const struct guest *g)
{
	uint64_t pct = usable(g) / 100 * 10;

	return pct > 64 * MIB ? pct : 64 * MIB;
}

/* The floor no policy takes a guest under: its class's min, or --min. */
static uint64_t min_of(const struct sim *s, const struct guest *g)
{
	uint64_t m = s->cfg->min_mib ? (uint64_t)s->cfg->min_mib * MIB : g->cls->min;

	return m < g->cls->max ? m : g->cls->max;
}

static bool dead(const struct guest *g, uint32_t now_s)
{
	return now_s >= g->dead_from && now_s < g->dead_to;
}

static bool alive(const struct guest *g, uint32_t now_s)
{
	return now_s >= g->arrive_s && now_s < g->depart_s;
}

/* Frames a guest holds for a working set (the oracle: memmap of what it
 * holds), with room for the low watermark when asked. */
static uint64_t held_for(const struct guest *g, uint64_t ws, bool margin)
{
	uint64_t need = (ws + KERNEL_USED) / 63 * 64 + MIB;

	if (margin)
		need += need / 7 > 80 * MIB ? need / 7 : 80 * MIB;

	return need < g->cls->max ? need : g->cls->max;
}

/* What a policy boots a guest at, and the target it starts from. */
static void boot_sizes(enum psim_policy policy, const struct guest_class *cls, uint64_t *ret_boot,
		       uint64_t *ret_target)
{
	switch (policy) {
	case PSIM_HOTMEM:
	case PSIM_ORACLE:
	case PSIM_ORACLE_MIN:
		*ret_boot = *ret_target = cls->min;
		break;
	case PSIM_STATIC:
		*ret_boot = *ret_target = cls->nominal;
		break;
	case PSIM_BALLOON_ONLY:
		/* No PoD: to balloon up to max later it is created at max. */
		*ret_boot = cls->max;
		*ret_target = cls->min;
		break;
	default: /* squeezed */
		*ret_boot = cls->max;
		*ret_target = cls->nominal;
		break;
	}
}

/*
 * Create a guest: its whole boot size must fit in the free memory above the
 * reserve. A guest created at its max and meant to start lower is ballooned
 * down as it boots (the frames go back before the next guest is created).
 */
static void guest_create(struct sim *s, struct guest *g, uint32_t now_s)
{
	uint64_t boot, target;

	boot_sizes(s->policy, g->cls, &boot, &target);
	if (s->policy == PSIM_ORACLE || s->policy == PSIM_ORACLE_MIN) {
		/* It knew the guest was coming and makes room at once: the
		 * oracle's next allocation, this same second, gives it frames. */
		g->booted = true;
		g->boot = 0;
		g->granted = g->target = g->actual = 0;
		g->ws = trace_ws(g, now_s);
		g->oracle_last = 0;
		return;
	}
	if (s->free < s->reserve || s->free - s->reserve < boot) {
		if (++g->boot_wait_s > BOOT_WAIT_S)
			g->failed = true;
		return;
	}
	g->booted = true;
	g->boot = boot;
	g->granted = 0;
	g->target = g->actual = target;
	s->free -= target;
	g->ws = trace_ws(g, now_s);
	g->psi = 0;
	g->has_stats = false;
	g->op = false;
	g->oracle_last = target;
}

static void guest_destroy(struct sim *s, struct guest *g)
{
	s->free += g->actual;
	g->actual = g->target = 0;
	g->booted = false;
	g->op = false;
}

/* Per-second guest physics: balloon, operations, stats, PSI. */
static void guest_step(struct sim *s, struct guest *g, uint32_t now_s, struct psim_result *res)
{
	uint64_t now_ms = (uint64_t)now_s * 1000;

	g->ws = trace_ws(g, now_s);
	/* Balloon: the held frames follow the target, never past boot + granted;
	 * deflation needs free frames; inflation stops at the working set (the
	 * balloon gets only pages the guest can free: no swap). */
	uint64_t target = g->target < g->boot + g->granted ? g->target : g->boot + g->granted;
	uint64_t pinned = g->ws + KERNEL_USED + memmap_of(g);
	if (g->actual > target && g->actual > pinned) {
		uint64_t d = g->actual - (target > pinned ? target : pinned);

		d = d < BALLOON_RATE ? d : BALLOON_RATE;
		g->actual -= d;
		s->free += d;
	} else if (g->actual < target && !dead(g, now_s)) {
		uint64_t d = target - g->actual;

		d = d < BALLOON_RATE ? d : BALLOON_RATE;
		d = d < s->free ? d : s->free;
		g->actual += d;
		s->free -= d;
	}
	/* A grow's blocks come online one by one (the driver's core_grow_step):
	 * each is the guest's when its share of the grow time has passed, the
	 * last at op_done_ms. The policy counted them as inflight until then;
	 * their frames leave the host as each lands (the populate, simplified
	 * to each block's end). Xen refusing a block's frames fails it. */
	while (g->op && g->op_kind == 1 && !dead(g, now_s) && g->op_blocks_done < g->op_blocks &&
	       now_ms >=
		       g->op_started_ms + (uint64_t)(g->op_blocks_done + 1) * g->op_ms_per_block) {
		if (s->free >= BLOCK) {
			s->free -= BLOCK;
			g->granted += BLOCK;
			g->target += BLOCK;
			g->actual += BLOCK;
		} else {
			res->grow_nomem++;
		}
		g->op_blocks_done++;
	}
	if (g->op && !dead(g, now_s) && now_ms >= g->op_done_ms) {
		uint64_t bytes = (uint64_t)g->op_blocks * BLOCK;

		/* A grow's blocks all landed above. */
		if (g->op_kind == 2 && g->op_result == 0) {
			/* The blocks' frames go back; the target the daemon writes
			 * afterwards is the size the guest had (balloon released). */
			g->granted -= bytes;
			uint64_t hot_max = g->boot + g->granted;
			if (g->actual > hot_max) {
				s->free += g->actual - hot_max;
				g->actual = hot_max;
			}
			if (g->target > hot_max)
				g->target = hot_max;
		}
		g->op = false;
	}
	/* PSI: stalls start when MemAvailable is under 3 % of MemTotal; full
	 * stall when the working set does not fit; avg10 is an EMA over 10 s. */
	uint64_t total = usable(g), av = avail_of(g), edge = total / 100 * 3;
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
		/*
		 * Every simulated guest swaps what of its working set does not
		 * fit (as lab.autoscale's autoa does to zram) and, its working
		 * set being hot, reads back at once what fits: swap in use is
		 * its shortfall of the second, what stats-swap publishes.
		 */
		g->stats.has_swapped = !s->cfg->no_swap;
		g->stats.swapped_kib = 0;
		if (g->stats.has_swapped && g->ws + KERNEL_USED > total)
			g->stats.swapped_kib = (g->ws + KERNEL_USED - total) >> 10;
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

/* At MemAvailable 0 a need is reckoned at the estimated shortfall plus
 * MemTotal / this (policy.c's SHORT_SIZE_DIV). */
#define SHORT_SIZE_DIV 4

/* One guest in the order the policy serves whole needs while they do not fit. */
struct needs_rank {
	uint32_t guest;
	bool at_zero; /* MemAvailable 0: ranked after those above 0 */
	uint64_t key; /* what it lacks of its need, or at 0 short_bytes + MemTotal / 4 */
	uint32_t weight;
	uint64_t floor; /* what it held of its need, at least its min */
	uint64_t need, share;
};

static int cmp_rank(const void *a, const void *b)
{
	const struct needs_rank *x = a, *y = b;

	if (x->at_zero != y->at_zero)
		return x->at_zero ? 1 : -1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return (x->guest > y->guest) - (x->guest < y->guest);
}

/*
 * While the needs do not fit, whole needs go cheapest first: those whose
 * MemAvailable is above 0 by what they lack, then those at 0 by their
 * estimated shortfall (the policy's status says it) plus a quarter of
 * MemTotal (higher weight first among equals). Once one guest is served
 * less than its need, every guest after it in that order keeps its floor.
 */
static void check_cheapest_first(struct sim *s, struct hotmem_policy *pol, const uint64_t *cur,
				 struct needs_rank *rank, struct psim_result *res)
{
	struct hotmem_policy_domain_status st;
	uint32_t n = 0;
	bool short_seen = false;

	for (uint32_t i = 0; i < s->cfg->guests; i++) {
		struct guest *g = &s->g[i];

		if (!g->booted || g->op || !g->has_stats ||
		    hotmem_policy_domain_status(pol, i + 1, &st) || st.frozen)
			continue;
		uint64_t held_need = cur[i] < st.need_bytes ? cur[i] : st.need_bytes;
		uint64_t floor = held_need > min_of(s, g) ? held_need : min_of(s, g);
		bool at_zero = !g->stats.memavail_kib;

		rank[n++] = (struct needs_rank){
			.guest = i,
			.at_zero = at_zero,
			.key = at_zero ? st.short_bytes +
						 (g->stats.memtotal_kib << 10) / SHORT_SIZE_DIV
				       : (st.need_bytes > floor ? st.need_bytes - floor : 0),
			.weight = g->cls->weight,
			.floor = floor,
			.need = st.need_bytes,
			.share = st.share_bytes,
		};
	}
	qsort(rank, n, sizeof(*rank), cmp_rank);
	for (uint32_t k = 0; k < n; k++) {
		res->fairness_checks++;
		if (short_seen && rank[k].share != rank[k].floor)
			res->fairness_violations++;
		if (rank[k].share < rank[k].need)
			short_seen = true;
	}
}

/*
 * Invariant checks of the hotmem policy after one tick: every guest between
 * min and max; under contention, while the needs do not all fit, whole
 * needs cheapest first (check_cheapest_first), else the shares of the
 * domains held under what they asked for sit at one weighted level above
 * their need (water-filling).
 */
static void check_tick(struct sim *s, struct hotmem_policy *pol, bool contention,
		       const uint64_t *cur, struct needs_rank *rank, struct psim_result *res)
{
	const struct psim_config *cfg = s->cfg;
	struct hotmem_policy_domain_status st;
	bool needs_short = false;
	double level = -1;

	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];

		if (!g->booted)
			continue;
		if (g->target < min_of(s, g) || g->target > g->cls->max)
			res->min_max_violations++;
		if (contention && !g->op && !hotmem_policy_domain_status(pol, i + 1, &st) &&
		    !st.frozen && st.share_bytes < st.need_bytes)
			needs_short = true;
	}
	if (!contention)
		return;
	if (needs_short) {
		check_cheapest_first(s, pol, cur, rank, res);
		return;
	}
	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];

		if (!g->booted || g->op || hotmem_policy_domain_status(pol, i + 1, &st) ||
		    st.frozen)
			continue;
		uint64_t cap = st.demand_bytes, floor = st.need_bytes;

		if (st.share_bytes >= cap)
			continue;
		double l = ((double)st.share_bytes - (double)floor) / g->cls->weight;
		res->fairness_checks++;
		if (level < 0)
			level = l;
		else if (fabs(l - level) * g->cls->weight > (double)MIB)
			res->fairness_violations++;
	}
}

/*
 * The reaction check: a guest the policy sees under pressure and gives more
 * memory (share above its target), not frozen, without an operation, below
 * its max, that got nothing this tick although the free memory above the
 * reserve (minus what is promised) held a block; not one that holds its
 * need and is less than a balloon step short of its share (the policy's
 * churn limit: its working set fits, it waits for no memory).
 */
static void check_reaction(struct sim *s, struct hotmem_policy *pol, int64_t pool,
			   const bool *acted, struct psim_result *res)
{
	for (uint32_t i = 0; i < s->cfg->guests; i++) {
		struct guest *g = &s->g[i];
		struct hotmem_policy_domain_status st;

		if (!g->booted || g->op || acted[i] || pool < (int64_t)BLOCK ||
		    g->target + BLOCK > g->cls->max ||
		    hotmem_policy_domain_status(pol, i + 1, &st) || st.frozen || !st.pressure ||
		    st.share_bytes <= g->target)
			continue;
		/* holding its need, less than a balloon step (32 MiB) short of its
		 * share: its working set fits, it waits for no memory */
		if (g->target >= st.need_bytes && st.share_bytes - g->target < 32 * MIB)
			continue;
		/* a host-wide rate limit is not a reaction gap, but it is counted */
		if (strstr(st.why, "rate limit"))
			res->rate_limited++;
		else
			res->slow_reactions++;
	}
}

struct hotmem_run {
	struct hotmem_policy *pol;
	struct hotmem_policy_domain_input *in;
	struct hotmem_policy_decision *dec;
	uint32_t *domid_guest; /* input index -> guest index */
	bool *acted;
	uint64_t *cur;		 /* memory/target at the start of the tick, by guest */
	struct needs_rank *rank; /* check_cheapest_first's scratch */
	uint64_t *tick_ns;
};

static int run_hotmem_tick(struct sim *s, struct hotmem_run *hr, uint32_t now_s,
			   struct psim_result *res)
{
	const struct psim_config *cfg = s->cfg;
	const struct psim_timing *timing = cfg->timing ? cfg->timing : &PSIM_LAB_TIMING;
	uint64_t now_ms = (uint64_t)now_s * 1000;
	struct hotmem_policy_host_input host = { .free_bytes = s->free };
	uint64_t pending = 0;
	size_t n, nr_in = 0;
	int r;

	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];

		hr->acted[i] = false;
		hr->cur[i] = g->target;
		if (!g->booted)
			continue;
		hr->in[nr_in++] = (struct hotmem_policy_domain_input){
			.domid = i + 1,
			.boot_bytes = g->boot,
			/* balloon-only: no window, the policy can only balloon */
			.block_size = s->policy == PSIM_HOTMEM ? BLOCK : 0,
			.granted_bytes = g->granted,
			.target_bytes = g->target,
			.actual_bytes = g->actual,
			.inflight_bytes =
				g->op && g->op_kind == 1
					? (uint64_t)(g->op_blocks - g->op_blocks_done) * BLOCK
					: 0,
			.have_stats = g->has_stats,
			.stats = g->stats,
			.stats_age_ms = g->has_stats ? now_ms - g->stats_at_ms : 0,
			.op_busy = g->op,
			.op_age_ms = g->op ? now_ms - g->op_started_ms : 0,
		};
		if (g->target > g->actual)
			pending += g->target - g->actual;
		if (g->op && g->op_kind == 1)
			pending += (uint64_t)(g->op_blocks - g->op_blocks_done) * BLOCK;
	}
	int64_t pool = (int64_t)s->free - (int64_t)s->reserve - (int64_t)pending;
	uint64_t t0 = now_ns();
	r = hotmem_policy_tick(hr->pol, now_ms, &host, hr->in, nr_in, hr->dec, 2 * nr_in, &n);
	hr->tick_ns[now_s] = now_ns() - t0;
	if (r < 0)
		return r;
	bool contention = false;
	for (size_t k = 0; k < n; k++) {
		const struct hotmem_policy_decision *d = &hr->dec[k];
		struct guest *g = &s->g[d->domid - 1];
		struct hotmem_policy_domain_status st;
		bool raise = false;

		hotmem_policy_domain_status(hr->pol, d->domid, &st);
		switch (d->action) {
		case HOTMEM_POLICY_GROW:
			res->grows++;
			raise = true;
			pool -= (int64_t)d->bytes;
			g->op = true;
			g->op_kind = 1;
			g->op_result = 0;
			g->op_blocks = d->blocks;
			g->op_blocks_done = 0;
			g->op_ms_per_block = timing->grow_ms_per_block;
			g->op_started_ms = now_ms;
			g->op_done_ms = now_ms + (uint64_t)d->blocks * timing->grow_ms_per_block;
			break;
		case HOTMEM_POLICY_SHRINK: {
			/* The driver refuses what would not fit (its reserve check):
			 * nomem; an interrupted offline: busy. */
			uint64_t bytes = (uint64_t)d->blocks * BLOCK;
			uint64_t mm_left = (g->boot + g->granted - bytes) / 64;
			uint64_t room = g->actual > mm_left ? g->actual - mm_left : 0;

			res->shrinks++;
			g->op = true;
			g->op_kind = 2;
			g->op_blocks = d->blocks;
			g->op_started_ms = now_ms;
			if (g->ws + KERNEL_USED + 64 * MIB > room) {
				/* the blocks' pages move into the boot RAM the balloon
				 * gives back; the working set does not fit there */
				g->op_result = 2;
				g->op_done_ms = now_ms + SHRINK_NOMEM_MS;
				res->shrink_nomem++;
			} else if (rng_next(&s->rng) % 100 < timing->shrink_busy_pct) {
				g->op_result = 1;
				g->op_done_ms = now_ms + SHRINK_BUSY_MS;
				res->shrink_busy++;
			} else {
				g->op_result = 0;
				g->op_done_ms =
					now_ms + (uint64_t)d->blocks * timing->shrink_ms_per_block;
			}
			break;
		}
		case HOTMEM_POLICY_SET_TARGET:
			res->targets++;
			raise = d->target_bytes > g->target;
			if (raise)
				pool -= (int64_t)(d->target_bytes - g->target);
			if (!raise && strstr(d->reason, "contention"))
				contention = true;
			g->target = d->target_bytes;
			break;
		case HOTMEM_POLICY_FREEZE:
			res->freezes++;
			break;
		default:
			break;
		}
		if (d->action == HOTMEM_POLICY_FREEZE || d->action == HOTMEM_POLICY_UNFREEZE)
			continue;
		hr->acted[d->domid - 1] = true;
		if (!cfg->check)
			continue;
		if (raise && st.frozen)
			res->frozen_grows++;
		/* No flip inside a cooldown: a reclaim needs shrink_cooldown after a
		 * grow the guest asked for (headroom lent on an idle host, "headroom,
		 * host idle", is no such grow), except an idle guest's surplus under
		 * contention and headroom above its need while others wait; a grow
		 * right after a reclaim only when the host is not contended (memory
		 * is free: the reclaim was not what paid for it) or the guest holds
		 * less than its need (its working set grew: a new need). */
		if (raise) {
			if (g->reclaimed &&
			    now_ms - g->last_reclaim_ms < st.params.grow_cooldown_ms &&
			    contention && hr->cur[d->domid - 1] >= st.need_bytes)
				res->flip_violations++;
			if (!strstr(d->reason, "headroom, host idle")) {
				g->grown = true;
				g->last_grow_ms = now_ms;
			}
		} else {
			if (g->grown && now_ms - g->last_grow_ms < st.params.shrink_cooldown_ms &&
			    !(d->action == HOTMEM_POLICY_SET_TARGET &&
			      strstr(d->reason, "contention, idle")) &&
			    !(d->action == HOTMEM_POLICY_SET_TARGET &&
			      strstr(d->reason, "contention, headroom") &&
			      d->target_bytes >= st.need_bytes))
				res->flip_violations++;
			g->reclaimed = true;
			g->last_reclaim_ms = now_ms;
		}
	}
	if (cfg->check) {
		check_tick(s, hr->pol, contention, hr->cur, hr->rank, res);
		if (now_s >= cfg->warmup_s)
			check_reaction(s, hr->pol, pool, hr->acted, res);
	}
	return 0;
}

static bool squeezed_inactive(const struct guest *g, uint32_t now_s)
{
	return dead(g, now_s) || (uint64_t)now_s * 1000 - g->stats_at_ms > 10000;
}

static void run_squeezed(struct sim *s, uint32_t now_s, struct psim_result *res)
{
	const struct psim_config *cfg = s->cfg;
	uint64_t budget = s->host - s->reserve, sum_min = 0, sum_range = 0, fixed = 0;
	bool starting = false;

	/* squeezed: inactive (unresponsive) domains keep their size; the others get
	 * min + f * (max - min) with one f for all, as large as the host allows
	 * once the memory of domains being created is set aside: it makes room
	 * for them at once. */
	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];

		if (!g->booted && !g->failed && alive(g, now_s)) {
			starting = true;
			fixed += g->cls->max;
			continue;
		}
		if (!g->booted)
			continue;
		if (squeezed_inactive(g, now_s)) {
			fixed += g->target;
			continue;
		}
		sum_min += min_of(s, g);
		sum_range += g->cls->max - min_of(s, g);
	}
	if (now_s % SQUEEZED_PERIOD_S && !starting)
		return;
	double f = budget <= fixed + sum_min || !sum_range
			   ? 0
			   : (double)(budget - fixed - sum_min) / (double)sum_range;
	f = f > 1 ? 1 : f;
	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];

		if (!g->booted || squeezed_inactive(g, now_s))
			continue;
		uint64_t t = min_of(s, g) + (uint64_t)(f * (double)(g->cls->max - min_of(s, g)));
		t &= ~(MIB - 1);
		if (t != g->target) {
			g->target = t;
			res->targets++;
		}
	}
}

/*
 * Whether the oracle can move a guest's frames at now_s: not while it does
 * not answer, except in the second it is created (the toolstack populates
 * its boot memory, answering or not).
 */
static bool oracle_movable(const struct guest *g, uint32_t now_s)
{
	return !dead(g, now_s) || g->arrive_s == now_s;
}

/*
 * How far ahead the oracle provides for a guest at now_s: the next minute,
 * and when the guest stops answering within it, up to the last second of
 * that silence: it knows, and nobody (the oracle included) can move the
 * guest's frames until it answers again, so what it holds when it goes
 * quiet is what it has for the whole silence. Without this a policy that
 * happened to hold more when a guest went quiet beat the oracle.
 */
static uint32_t oracle_horizon(const struct guest *g, uint32_t now_s)
{
	uint32_t quiet_from = g->dead_from > now_s ? g->dead_from : now_s + 1;

	if (g->dead_to > now_s + 1 && quiet_from - now_s <= ORACLE_HORIZON_S &&
	    g->dead_to - 1 - now_s > ORACLE_HORIZON_S)
		return g->dead_to - 1 - now_s;
	return ORACLE_HORIZON_S;
}

struct oracle_pick {
	uint32_t guest;
	uint64_t extra; /* above the floor, to cover this second */
};

static int cmp_pick(const void *a, const void *b)
{
	const struct oracle_pick *x = a, *y = b;

	if (x->extra != y->extra)
		return x->extra < y->extra ? -1 : 1;
	return (x->guest > y->guest) - (x->guest < y->guest);
}

/*
 * The oracle: every live guest gets the frames that hold its largest working
 * set of the next minute, at once; when they do not all fit, every guest
 * keeps what covers this second's need up to what it holds (at least its
 * min: nobody takes frames a working set uses), and the rest covers this
 * second's need of as many guests as it can, smallest first. Unresponsive
 * guests cannot be moved, by the oracle either; it knows when a guest will
 * go quiet and provides for the whole silence before (oracle_horizon).
 * What is left stays free (for the guests it knows will boot). It is a
 * greedy allocator, a bound on the scenarios test_policy_sim checks, not a
 * proven optimum where memory is scarce. The oracle takes a guest below its
 * min when its working set is smaller; at_min (oracle-min) holds it to the
 * min every other policy keeps, the bound for the same configuration.
 */
static void run_oracle(struct sim *s, uint32_t now_s, bool at_min, struct oracle_pick *picks,
		       uint64_t *alloc, struct psim_result *res)
{
	const struct psim_config *cfg = s->cfg;
	uint64_t budget = s->host - s->reserve, sum_peak = 0, fixed = 0;
	uint32_t n = 0;

	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];

		if (!g->booted)
			continue;
		if (!oracle_movable(g, now_s)) {
			fixed += g->actual;
			continue;
		}
		alloc[i] = held_for(g, trace_ws_peak(g, now_s, oracle_horizon(g, now_s)), true);
		if (at_min && alloc[i] < min_of(s, g))
			alloc[i] = min_of(s, g);
		sum_peak += alloc[i];
	}
	budget = budget > fixed ? budget - fixed : 0;
	if (sum_peak > budget) {
		uint64_t left = budget;

		for (uint32_t i = 0; i < cfg->guests; i++) {
			struct guest *g = &s->g[i];

			if (!g->booted || !oracle_movable(g, now_s))
				continue;
			/* this second's need; a guest that goes quiet next second
			 * needs now what its working set will reach before it
			 * answers again */
			uint64_t ws = dead(g, now_s + 1)
					      ? trace_ws_peak(g, now_s, oracle_horizon(g, now_s))
					      : trace_ws(g, now_s);
			uint64_t now_need = held_for(g, ws, false);

			if (at_min && now_need < min_of(s, g))
				now_need = min_of(s, g);
			/* what the guest holds of it stays: nobody, the oracle
			 * included, takes frames a working set uses */
			uint64_t keep = g->actual > min_of(s, g) ? g->actual : min_of(s, g);
			uint64_t floor = now_need < keep ? now_need : keep;

			alloc[i] = floor < left ? floor : left;
			left -= alloc[i];
			picks[n++] = (struct oracle_pick){ i, now_need - alloc[i] };
		}
		qsort(picks, n, sizeof(*picks), cmp_pick);
		for (uint32_t k = 0; k < n && left; k++) {
			uint64_t give = picks[k].extra < left ? picks[k].extra : left;

			alloc[picks[k].guest] += give;
			left -= give;
		}
	}
	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];

		if (!g->booted || !oracle_movable(g, now_s))
			continue;
		uint64_t a = alloc[i];
		a = a < g->cls->max ? a : g->cls->max;
		/* the frames move at once: the guest holds what the oracle gives */
		s->free += g->actual;
		g->actual = g->target = a;
		g->granted = a; /* boot 0: the memmap of what it holds, no more */
		s->free -= a;
		uint64_t moved = a > g->oracle_last ? a - g->oracle_last : g->oracle_last - a;
		if (moved >= ORACLE_OP_MIN) {
			res->ops++;
			g->oracle_last = a;
		}
	}
}

/* Lives, offsets, scales, unresponsive windows: the same for every policy. */
static void guests_setup(struct sim *s)
{
	const struct psim_config *cfg = s->cfg;
	uint64_t rng = cfg->seed | 1;

	for (uint32_t i = 0; i < cfg->guests; i++) {
		struct guest *g = &s->g[i];
		uint32_t c = i % 20 < 10 ? 0 : i % 20 < 17 ? 1 : 2;

		g->cls = &classes[c];
		g->trace = &s->traces[rng_next(&rng) % s->nr_traces];
		g->offset_s = (uint32_t)(rng_next(&rng) % 3600);
		g->scale = 0.8 + (double)(rng_next(&rng) % 401) / 1000.0;
		if (cfg->scenario == PSIM_CORRELATED)
			g->offset_s = 0;
		else if (cfg->scenario == PSIM_DIURNAL)
			g->offset_s = (uint32_t)(rng_next(&rng) % 1200); /* +-10 min */
		g->arrive_s = 0;
		g->depart_s = UINT32_MAX;
		if (cfg->scenario == PSIM_CHURN && rng_next(&rng) % 2) {
			/* half the guests come and go: a boot in the first 60 % of
			 * the run, a life of 20-60 % of it */
			uint32_t span = cfg->seconds / 5 * 3 + 1;

			g->arrive_s = (uint32_t)(rng_next(&rng) % span);
			g->depart_s = g->arrive_s + cfg->seconds / 5 +
				      (uint32_t)(rng_next(&rng) % (cfg->seconds / 5 * 2 + 1));
		}
		g->dead_from = g->dead_to = UINT32_MAX;
		if (cfg->unresponsive_every && i % cfg->unresponsive_every == 3) {
			g->dead_from = cfg->seconds / 3 + (uint32_t)(rng_next(&rng) % 60);
			g->dead_to = g->dead_from + cfg->seconds / 4;
		}
	}
}

static int hotmem_setup(struct sim *s, struct hotmem_run *hr)
{
	struct hotmem_policy_host_params hp;
	struct hotmem_policy_domain_params dp;
	int r;

	hotmem_policy_host_defaults(&hp);
	hp.reserve_bytes = s->reserve;
	r = hotmem_policy_new(&hp, NULL, &hr->pol);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < s->cfg->guests; i++) {
		hotmem_policy_domain_defaults(&dp);
		dp.mode = HOTMEM_POLICY_AUTO;
		dp.min_bytes = min_of(s, &s->g[i]);
		dp.max_bytes = s->g[i].cls->max;
		dp.weight = s->g[i].cls->weight;
		r = hotmem_policy_set_domain(hr->pol, i + 1, &dp);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The figures of one second, every guest that should be alive counted. */
static void account(struct sim *s, uint32_t now_s, struct psim_result *res, double *held_sum,
		    double *used_sum, double *peak_need)
{
	uint64_t held = 0, used = 0, need = 0;

	for (uint32_t i = 0; i < s->cfg->guests; i++) {
		struct guest *g = &s->g[i];

		if (!alive(g, now_s))
			continue;
		uint64_t w = trace_ws(g, now_s) + KERNEL_USED;
		need += w;
		if (!g->booted) {
			/* refused at creation: nothing of it runs */
			res->oom_proxy_s += 1;
			res->under_wm_s += 1;
			res->unmet_gib_s += (double)w / GIB;
			s->psi_hist[PSI_BUCKETS - 1]++;
			s->psi_samples++;
			continue;
		}
		uint64_t u = usable(g);
		held += g->actual;
		used += w < u ? w : u;
		if (w > u) {
			res->oom_proxy_s += 1;
			if (dead(g, now_s))
				res->oom_unresponsive_s += 1;
			res->unmet_gib_s += (double)(w - u) / GIB;
		}
		if (avail_of(g) < low_wm(g)) {
			res->under_wm_s += 1;
			if (dead(g, now_s))
				res->under_wm_unresp_s += 1;
		}
		uint32_t p = (uint32_t)g->psi;
		s->psi_hist[p < PSI_BUCKETS ? p : PSI_BUCKETS - 1]++;
		s->psi_samples++;
	}
	*held_sum += (double)held / (double)s->host;
	*used_sum += (double)used / (double)s->host;
	double np = (double)need / (double)(s->host - s->reserve);
	*peak_need = np > *peak_need ? np : *peak_need;
}

int psim_run(const struct psim_config *cfg, enum psim_policy policy, struct psim_result *ret_result)
{
	struct sim s = { .cfg = cfg, .policy = policy };
	struct psim_result res = { .policy = policy };
	struct hotmem_run hr = { 0 };
	struct oracle_pick *picks = NULL;
	uint64_t *alloc = NULL, sum_nominal = 0;
	double held_sum = 0, used_sum = 0, peak_need = 0;
	bool uses_policy = policy == PSIM_HOTMEM || policy == PSIM_BALLOON_ONLY;
	char dir[4000];
	int r;

	if (!cfg->guests || cfg->warmup_s >= cfg->seconds || cfg->scenario >= PSIM_NR_SCENARIOS ||
	    (cfg->timing && cfg->timing->shrink_busy_pct > 100))
		return -EINVAL;
	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", cfg->trace_dir,
			     cfg->scenario == PSIM_DIURNAL ? "/diurnal" : "") >= sizeof(dir))
		return -ENAMETOOLONG;
	r = traces_load(&s, dir);
	if (r < 0)
		return r;
	s.rng = (cfg->seed ^ 0x5eed) | 1;
	s.g = calloc(cfg->guests, sizeof(*s.g));
	s.psi_hist = calloc(PSI_BUCKETS, sizeof(*s.psi_hist));
	hr.in = calloc(cfg->guests, sizeof(*hr.in));
	hr.dec = calloc(2 * (size_t)cfg->guests, sizeof(*hr.dec));
	hr.acted = calloc(cfg->guests, sizeof(*hr.acted));
	hr.cur = calloc(cfg->guests, sizeof(*hr.cur));
	hr.rank = calloc(cfg->guests, sizeof(*hr.rank));
	hr.tick_ns = calloc(cfg->seconds, sizeof(*hr.tick_ns));
	picks = calloc(cfg->guests, sizeof(*picks));
	alloc = calloc(cfg->guests, sizeof(*alloc));
	if (!s.g || !s.psi_hist || !hr.in || !hr.dec || !hr.acted || !hr.cur || !hr.rank ||
	    !hr.tick_ns || !picks || !alloc) {
		r = -ENOMEM;
		goto out;
	}
	guests_setup(&s);
	for (uint32_t i = 0; i < cfg->guests; i++)
		sum_nominal += s.g[i].cls->nominal;
	/* The host: the guests' nominal sizes (host_pct of them) plus the reserve. */
	s.reserve = 4096 * MIB;
	s.host = sum_nominal * (cfg->host_pct ? cfg->host_pct : 100) / 100 + s.reserve;
	s.free = s.host;
	res.host_bytes = s.host;
	if (uses_policy) {
		r = hotmem_setup(&s, &hr);
		if (r < 0)
			goto out;
	}
	for (uint32_t t = 0; t < cfg->seconds; t++) {
		for (uint32_t i = 0; i < cfg->guests; i++) {
			struct guest *g = &s.g[i];

			if (g->booted && !alive(g, t)) {
				guest_destroy(&s, g);
				if (uses_policy)
					hotmem_policy_remove_domain(hr.pol, i + 1);
			} else if (!g->booted && !g->failed && alive(g, t)) {
				guest_create(&s, g, t);
				if (g->failed)
					res.boot_fail++;
			}
			if (g->booted)
				guest_step(&s, g, t, &res);
		}
		if (uses_policy) {
			r = run_hotmem_tick(&s, &hr, t, &res);
			if (r < 0)
				goto out;
		} else if (policy == PSIM_SQUEEZED) {
			run_squeezed(&s, t, &res);
		} else if (policy == PSIM_ORACLE || policy == PSIM_ORACLE_MIN) {
			run_oracle(&s, t, policy == PSIM_ORACLE_MIN, picks, alloc, &res);
		}
		if (cfg->check) {
			uint64_t held = 0;

			for (uint32_t i = 0; i < cfg->guests; i++)
				held += s.g[i].booted ? s.g[i].actual : 0;
			if (held + s.free != s.host)
				res.conservation_violations++;
			if (uses_policy && s.free < s.reserve)
				res.reserve_violations++;
		}
		if (t >= cfg->warmup_s)
			account(&s, t, &res, &held_sum, &used_sum, &peak_need);
	}
	uint32_t counted = cfg->seconds - cfg->warmup_s;
	res.granted_pct = 100 * held_sum / counted;
	res.used_pct = 100 * used_sum / counted;
	res.peak_need_pct = 100 * peak_need;
	if (policy != PSIM_ORACLE && policy != PSIM_ORACLE_MIN)
		res.ops = res.grows + res.shrinks + res.targets;
	uint64_t seen = 0;
	for (uint32_t p = 0; p < PSI_BUCKETS; p++) {
		seen += s.psi_hist[p];
		if (seen * 100 >= s.psi_samples * 99) {
			res.p99_pressure = p / 100.0;
			break;
		}
	}
	if (uses_policy) {
		double sum = 0;

		for (uint32_t t = 0; t < cfg->seconds; t++)
			sum += (double)hr.tick_ns[t];
		res.tick_us_mean = sum / cfg->seconds / 1000.0;
		qsort(hr.tick_ns, cfg->seconds, sizeof(*hr.tick_ns), cmp_u64);
		res.tick_us_p99 = (double)hr.tick_ns[(size_t)cfg->seconds * 99 / 100] / 1000.0;
	}
	*ret_result = res;
	r = 0;
out:
	hotmem_policy_free(hr.pol);
	free(s.g);
	free(s.psi_hist);
	free(hr.in);
	free(hr.dec);
	free(hr.acted);
	free(hr.cur);
	free(hr.rank);
	free(hr.tick_ns);
	free(picks);
	free(alloc);
	return r;
}

const char *psim_policy_name(enum psim_policy policy)
{
	switch (policy) {
	case PSIM_HOTMEM:
		return "hotmem";
	case PSIM_BALLOON_ONLY:
		return "balloon-only";
	case PSIM_SQUEEZED:
		return "squeezed";
	case PSIM_STATIC:
		return "static";
	case PSIM_ORACLE:
		return "oracle";
	case PSIM_ORACLE_MIN:
		return "oracle-min";
	default:
		return "?";
	}
}

const char *psim_scenario_name(enum psim_scenario scenario)
{
	switch (scenario) {
	case PSIM_MIXED:
		return "mixed";
	case PSIM_CORRELATED:
		return "correlated";
	case PSIM_DIURNAL:
		return "diurnal";
	case PSIM_CHURN:
		return "churn";
	default:
		return "?";
	}
}
