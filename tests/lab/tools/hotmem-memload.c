/*
 * hotmem-memload: the lab guest's memory workload (static arm64, shipped in
 * the domU image by tests/lab/mkimages.sh). It fills anonymous memory with
 * pseudo-random data, keeps one 64-bit checksum per page in a separate table,
 * and stays resident so that the scenarios can shrink the guest under it (the
 * kernel has to migrate the pages off the movable blocks); SIGUSR1 makes it
 * verify every page against its checksum and against the generator, SIGTERM
 * verifies and exits. Results go to a status file, one "key=value" line per
 * event, so the harness can wait for them.
 *
 *   hotmem-memload fill MIB STATUS     fill MIB MiB, then wait for signals
 *   hotmem-memload squeeze KIB STATUS  allocate (and touch) until MemFree is
 *                                      below KIB kB, settle the free pages
 *                                      with the per-cpu lists' within 512 kB
 *                                      below KIB (64 KiB chunks added or given
 *                                      back for 3 s), then wait for signals
 *   hotmem-memload ramp MIB STATUS RATE
 *                                      fill MIB MiB at RATE MiB/s (a working
 *                                      set that grows, for an autoscaler to
 *                                      follow), then wait for signals
 *   hotmem-memload outside MS STATUS   every MS ms, read the free pages of the
 *                                      zones other than Movable from
 *                                      /proc/zoneinfo, with those on their
 *                                      per-cpu lists (the memory outside a
 *                                      hotmem window); SIGUSR1 starts a
 *                                      measurement there, SIGTERM ends it with
 *                                      "outside base_kb=N min_kb=N
 *                                      peak_used_kb=N samples=N" and exits
 *   hotmem-memload watch KIB STATUS    the same sampling, from the start until
 *                                      MemTotal reaches KIB kB (a grow is in)
 *                                      or 120 s passed; then "watch base_kb=N
 *                                      min_kb=N peak_used_kb=N oom_kills=N
 *                                      memtotal_kb=N released_alive=0|1": the
 *                                      OOM kills from /proc/vmstat over that
 *                                      time, and whether the process named by
 *                                      $RELEASE_PID (a squeeze) was still
 *                                      alive, which it then ends with SIGTERM
 *                                      before anyone forks again
 *   hotmem-memload thrash MIB STATUS   fill MIB MiB of compressible pages, then
 *                                      touch them in a cycle until SIGTERM: with
 *                                      more than fits and a (zram) swap, every
 *                                      pass swaps them in and out again, so the
 *                                      guest stalls on memory (PSI) and does
 *                                      not OOM; each touch checks the page
 *
 * STATUS lines: "ramp mib=N ms=N" (every 64 MiB), "filled mib=N pages=N ms=N",
 * "squeezed mib=N memfree_kb=N", "pass n=N ms=N t=S" (thrash, a pass a second at most;
 * t: CLOCK_MONOTONIC at its end, the guest's uptime),
 * "verify ok|bad pages=N bad=N ms=N". Exit 0
 * if the last verify was good, 1 on a bad page or an error, 2 on bad
 * arguments. The memory goes back to the kernel when the process exits
 * (SIGTERM: verify, then exit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE  4096UL
#define WORDS (PAGE / sizeof(uint64_t))
#define CHUNK (4UL << 20) /* squeeze allocates 4 MiB at a time, then 64 KiB */

static volatile sig_atomic_t got_usr1, got_term;
static const char *status_path;
static uint8_t **chunks;
static size_t *chunk_pages;
static size_t nr_chunks;
static uint64_t *sums; /* one per page, all chunks in order */
static size_t nr_pages;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void status(const char *fmt, ...)
{
	FILE *f = fopen(status_path, "a");
	va_list ap;

	if (!f) {
		perror(status_path);
		exit(1);
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

/* splitmix64: the data of word w of page p is a pure function of (p, w). */
static uint64_t gen(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t page_sum(const uint64_t *w)
{
	uint64_t s = 0;

	for (size_t i = 0; i < WORDS; i++)
		s = (s ^ w[i]) * 0x100000001b3ULL;
	return s;
}

static void fill_page(uint64_t *w, size_t page)
{
	for (size_t i = 0; i < WORDS; i++)
		w[i] = gen(((uint64_t)page << 9) ^ i);
}

static int add_chunk(size_t bytes)
{
	uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t pages = bytes / PAGE;
	uint8_t **new_chunks;
	size_t *new_chunk_pages = NULL;
	uint64_t *new_sums = NULL;

	if (p == MAP_FAILED)
		return -errno;
	/*
	 * Grow each table on its own: one that fails leaves the old tables (and
	 * the chunks already written) as they were, and the new mapping is given
	 * back, so a fill that runs out of memory still verifies what it wrote.
	 */
	new_chunks = realloc(chunks, (nr_chunks + 1) * sizeof(*chunks));
	if (new_chunks) {
		chunks = new_chunks;
		new_chunk_pages = realloc(chunk_pages, (nr_chunks + 1) * sizeof(*chunk_pages));
	}
	if (new_chunk_pages) {
		chunk_pages = new_chunk_pages;
		new_sums = realloc(sums, (nr_pages + pages) * sizeof(*sums));
	}
	if (!new_sums) {
		munmap(p, bytes);
		return -ENOMEM;
	}
	sums = new_sums;
	for (size_t i = 0; i < pages; i++) {
		fill_page((uint64_t *)(p + i * PAGE), nr_pages + i);
		sums[nr_pages + i] = page_sum((uint64_t *)(p + i * PAGE));
	}
	chunks[nr_chunks] = p;
	chunk_pages[nr_chunks++] = pages;
	nr_pages += pages;
	return 0;
}

/* Give the newest chunk back (the squeeze settling above its goal). */
static void pop_chunk(void)
{
	if (!nr_chunks)
		return;
	nr_chunks--;
	nr_pages -= chunk_pages[nr_chunks];
	munmap(chunks[nr_chunks], chunk_pages[nr_chunks] * PAGE);
}

/* Check every page against its stored checksum and its generator. */
static size_t verify(void)
{
	uint64_t want[WORDS];
	size_t page = 0, bad = 0;
	double t0 = now_ms();

	for (size_t c = 0; c < nr_chunks; c++) {
		for (size_t i = 0; i < chunk_pages[c]; i++, page++) {
			const uint64_t *w = (const uint64_t *)(chunks[c] + i * PAGE);

			fill_page(want, page);
			if (page_sum(w) != sums[page] || memcmp(w, want, PAGE))
				bad++;
		}
	}
	status("verify %s pages=%zu bad=%zu ms=%.0f", bad ? "bad" : "ok", nr_pages, bad,
	       now_ms() - t0);
	return bad;
}

static long memfree_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static long memtotal_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Free kB the allocator can hand out at once: the zones' free pages plus the
 * pages waiting on the per-cpu lists (/proc/zoneinfo "count:"), which
 * MemFree leaves out and which move in batches of hundreds of kB.
 */
static long free_with_pcp_kb(void)
{
	char line[256];
	long pages = 0, v;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "  pages free %ld", &v) == 1 ||
		    sscanf(line, " count: %ld", &v) == 1)
			pages += v;
	fclose(f);
	return pages * (long)(PAGE >> 10);
}

static int usage(void)
{
	fprintf(stderr, "usage: hotmem-memload fill MIB STATUS | squeeze KIB STATUS | "
			"ramp MIB STATUS MIB_PER_S | outside MS STATUS | watch KIB STATUS | "
			"thrash MIB STATUS\n");
	return 2;
}

/*
 * Free kB of every zone but Movable, from /proc/zoneinfo, read with one
 * open file and a static buffer: no allocation while memory is short. The
 * pages on the zones' per-cpu lists count too: the allocator serves a
 * kernel allocation from them first, and they hold up to a few MiB that
 * "pages free" leaves out, so without them what a grow takes from these
 * zones shows only in part (its page tables came from the lists).
 */
static long outside_free_kb(FILE *f)
{
	static char buf[1 << 16];
	size_t len;
	long pages = 0, v;
	int movable = 0;
	char *line, *next;

	rewind(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncmp(line, "Node ", 5))
			movable = strstr(line, "zone  Movable") || strstr(line, "zone Movable");
		else if (!movable && (sscanf(line, "  pages free %ld", &v) == 1 ||
				      sscanf(line, " count: %ld", &v) == 1))
			pages += v;
	}
	return pages * (long)(PAGE >> 10);
}

/* One counter of /proc/vmstat, read without allocating; -1 if absent. */
static long vmstat_read(FILE *f, const char *key)
{
	static char buf[1 << 14];
	size_t len, klen = strlen(key);
	char *p;

	rewind(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return strtol(p + klen + 1, NULL, 10);
	return -1;
}

/* The watch mode: see the head comment. */
static int watch(long until_kb)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 10 * 1000000 };
	FILE *zi = fopen("/proc/zoneinfo", "r"), *vm = fopen("/proc/vmstat", "r");
	const char *pid_text = getenv("RELEASE_PID");
	long base, min, kb, oom0, total = 0;
	double t0 = now_ms();
	int alive = 0;
	pid_t pid = pid_text ? (pid_t)strtol(pid_text, NULL, 10) : 0;

	if (!zi || !vm) {
		status("error watch: %s", strerror(errno));
		return 1;
	}
	setvbuf(zi, NULL, _IONBF, 0);
	setvbuf(vm, NULL, _IONBF, 0);
	mlockall(MCL_CURRENT | MCL_FUTURE);
	base = min = outside_free_kb(zi);
	oom0 = vmstat_read(vm, "oom_kill");
	while (now_ms() - t0 < 120e3) {
		kb = outside_free_kb(zi);
		if (kb < min)
			min = kb;
		total = memtotal_kb();
		if (total >= until_kb)
			break;
		nanosleep(&ts, NULL);
	}
	if (pid > 0) {
		alive = kill(pid, 0) == 0;
		if (alive)
			kill(pid, SIGTERM);
	}
	status("watch base_kb=%ld min_kb=%ld peak_used_kb=%ld oom_kills=%ld memtotal_kb=%ld "
	       "released_alive=%d ms=%.0f",
	       base, min, base - min, vmstat_read(vm, "oom_kill") - oom0, total, alive,
	       now_ms() - t0);
	fclose(zi);
	fclose(vm);
	return 0;
}

/* The outside mode: sample until SIGTERM, measuring from each SIGUSR1. */
static int outside(long interval_ms, const sigset_t *unblocked)
{
	struct timespec ts = { .tv_sec = interval_ms / 1000,
			       .tv_nsec = (interval_ms % 1000) * 1000000 };
	FILE *f = fopen("/proc/zoneinfo", "r");
	long base = -1, min = -1, kb;
	unsigned long samples = 0;

	if (!f) {
		status("error outside: %s", strerror(errno));
		return 1;
	}
	setvbuf(f, NULL, _IONBF, 0);
	mlockall(MCL_CURRENT | MCL_FUTURE);
	sigprocmask(SIG_SETMASK, unblocked, NULL);
	status("outside ready free_kb=%ld", outside_free_kb(f));
	while (!got_term) {
		kb = outside_free_kb(f);
		if (got_usr1) {
			got_usr1 = 0;
			base = min = kb;
			samples = 0;
		}
		if (base >= 0) {
			samples++;
			if (kb < min)
				min = kb;
		}
		nanosleep(&ts, NULL);
	}
	status("outside base_kb=%ld min_kb=%ld peak_used_kb=%ld samples=%lu", base, min,
	       base >= 0 ? base - min : -1, samples);
	fclose(f);
	return 0;
}

/*
 * thrash: pages that compress well but are not same-filled (zram stores a
 * same-filled page as nothing, which would relieve no memory pressure): word 0
 * is the generator's, word 1 the page number, word 2 the pass that last wrote
 * it, the rest zero. Each pass reads and checks every page and writes word 2,
 * so a swapped-out page is swapped in and dirtied again.
 */
static int thrash(long mib, const sigset_t *unblocked)
{
	size_t pages = ((size_t)mib << 20) / PAGE, bad = 0;
	uint64_t *mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0 = now_ms(), last_status = 0;
	uint64_t pass;

	if (mem == MAP_FAILED) {
		status("error thrash: %s", strerror(errno));
		return 1;
	}
	for (size_t p = 0; p < pages; p++) {
		mem[p * WORDS] = gen(p);
		mem[p * WORDS + 1] = p;
		mem[p * WORDS + 2] = 0;
	}
	status("filled mib=%ld pages=%zu ms=%.0f t=%.1f", mib, pages, now_ms() - t0,
	       now_ms() / 1e3);
	/* SIGTERM ends the loop at the next page; no sigsuspend() here. */
	sigprocmask(SIG_SETMASK, unblocked, NULL);
	for (pass = 1; !got_term; pass++) {
		size_t p;

		t0 = now_ms();
		for (p = 0; p < pages && !got_term; p++) {
			uint64_t *w = mem + p * WORDS;

			if (w[0] != gen(p) || w[1] != p || w[2] != pass - 1)
				bad++;
			w[2] = pass;
		}
		if (p == pages && now_ms() - last_status >= 1000) { /* at most one a second */
			last_status = now_ms();
			status("pass n=%llu ms=%.0f t=%.1f", (unsigned long long)pass,
			       last_status - t0, last_status / 1e3);
		} else if (p < pages) {
			pass--; /* the interrupted pass wrote only pages [0, p) */
		}
	}
	/* Pages [0, p) of the last pass hold pass, the others pass - 1: checked above. */
	status("verify %s pages=%zu bad=%zu ms=0", bad ? "bad" : "ok", pages, bad);
	return bad ? 1 : 0;
}

/* Sleep until t0_ms + ms on the monotonic clock (at once if that passed). */
static void sleep_until(double t0_ms, double ms)
{
	double left = t0_ms + ms - now_ms();
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = (time_t)(left / 1e3);
	ts.tv_nsec = (long)((left - (double)ts.tv_sec * 1e3) * 1e6);
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	size_t bad = 0;
	char *end;
	long n;
	int rc;

	if (argc != 4 && !(argc == 5 && !strcmp(argv[1], "ramp")))
		return usage();
	n = strtol(argv[2], &end, 10);
	if (*end || n <= 0)
		return usage();
	status_path = argv[3];
	sigset_t block, old;

	/* Signals wait until sigsuspend(): none is lost between check and sleep. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!strcmp(argv[1], "outside"))
		return outside(n, &old);
	if (!strcmp(argv[1], "watch"))
		return watch(n);
	if (!strcmp(argv[1], "thrash"))
		return thrash(n, &old);
	if (!strcmp(argv[1], "fill")) {
		double t0 = now_ms();

		for (long mib = 0; mib < n; mib += 4) {
			rc = add_chunk((n - mib < 4 ? (size_t)(n - mib) : 4) << 20);
			if (rc) {
				status("error fill at mib=%ld: %s", mib, strerror(-rc));
				return 1;
			}
		}
		status("filled mib=%ld pages=%zu ms=%.0f", n, nr_pages, now_ms() - t0);
	} else if (!strcmp(argv[1], "ramp")) {
		double t0 = now_ms();
		long rate = strtol(argv[4], &end, 10);

		if (*end || rate <= 0)
			return usage();
		/* 4 MiB at a time, each on its slot of the schedule: MIB / RATE seconds. */
		for (long mib = 0; mib < n; mib += 4) {
			sleep_until(t0, (double)mib * 1e3 / (double)rate);
			rc = add_chunk((n - mib < 4 ? (size_t)(n - mib) : 4) << 20);
			if (rc) {
				status("error ramp at mib=%ld: %s", mib, strerror(-rc));
				return 1;
			}
			if (mib && mib % 64 == 0)
				status("ramp mib=%ld ms=%.0f", mib, now_ms() - t0);
		}
		status("filled mib=%ld pages=%zu ms=%.0f", n, nr_pages, now_ms() - t0);
	} else if (!strcmp(argv[1], "squeeze")) {
		long free_kb;

		/* Big steps while far from the goal, 64 KiB ones near it. */
		while ((free_kb = memfree_kb()) > n) {
			rc = add_chunk(free_kb - n > 16384 ? CHUNK : 64 << 10);
			if (rc) {
				status("error squeeze: %s", strerror(-rc));
				return 1;
			}
		}
		/*
		 * Settle within [KIB - 512, KIB] counting the per-cpu lists, which
		 * drain late: MemFree alone overshot by up to 1 MiB.
		 */
		for (int round = 0; round < 15; round++) {
			struct timespec ts = { .tv_sec = 0, .tv_nsec = 200 * 1000000 };

			nanosleep(&ts, NULL);
			free_kb = free_with_pcp_kb();
			if (free_kb < n - 512 && nr_chunks &&
			    chunk_pages[nr_chunks - 1] * PAGE == 64 << 10)
				pop_chunk();
			else if (free_kb > n && add_chunk(64 << 10))
				break;
		}
		status("squeezed mib=%zu memfree_kb=%ld with_pcp_kb=%ld", nr_pages * PAGE >> 20,
		       memfree_kb(), free_with_pcp_kb());
	} else {
		return usage();
	}
	while (!got_term) {
		sigsuspend(&old);
		if (got_usr1) {
			got_usr1 = 0;
			bad = verify();
		}
	}
	bad = verify();
	return bad ? 1 : 0;
}
