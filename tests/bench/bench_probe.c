/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_probe.c: the probe engine at scale. N targets, all `sstp` probes
 * every second against one local TLS+SSTP responder (tests/lib/
 * sstp_responder.c) in a child process, so this process is the prober
 * alone: its CPU time and heap are the engine's. With two CPUs or more the
 * prober is pinned to one (-c) and the responder to the others, so "one
 * core" is what the prober really has. Probes come from 250 loopback
 * sources (the `source` option) to spread the 4-tuples. After a warm-up
 * (two intervals unless -w), one window of SECS seconds is measured. One
 * line per N:
 *
 *   probe_sstp n=1000 interval_ms=1000 secs=10 wanted_per_s=1000.0
 *     done_per_s=999.8 ok_pct=100.00 up=1000 late=0 lateness_max_ms=3.1
 *     cpu_pct=21.5 cpu_us_per_probe=215 max_in_flight=9
 *     rest_bytes_per_target=1321 inflight_bytes_per_probe=46120
 *     responder_cpu_pct=38.0 tls_refresh_s=60 resumed_pct=98.3 latency_ms=0.9
 *
 * rest_bytes_per_target is the heap per target after the window with at
 * most one probe in flight (what a target keeps between probes: its TLS
 * session too, and its share of the engine's pools); inflight_bytes_per_probe
 * the heap above that at the most probes in flight, per probe;
 * resumed_pct the share of handshakes in the window that resumed a
 * session; latency_ms the mean over targets of their last probe's latency.
 *
 * Every target's first handshake is full, and its sessions then live
 * between TLS_REFRESH_S/2 and TLS_REFRESH_S: a window that should include
 * the refreshing full handshakes of the steady state starts after a
 * warm-up of TLS_REFRESH_S/2 or more (-w).
 *
 * Usage: bench_probe [-s SECS] [-w WARMUP_S] [-t RESPONDER_THREADS]
 *                    [-c PROBER_CPU] [-r TLS_REFRESH_S] [N...]
 * (default 10 s, 2 s, nproc - 1 threads, CPU 0, the engine's refresh, N =
 * 1000 2000 3000). -r 0: no resumption, every handshake full.
 */
#include "probe.h"
#include "sstp_responder.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define INTERVAL_MS	1000
#define TIMEOUT_MS	1000
#define SOURCES		250		/* 127.0.1.0 .. 127.0.1.249 */

static const int default_ns[] = { 1000, 2000, 3000 };
static int prober_cpu = -1;		/* pinned here; -1 not pinned */
static int tls_refresh_s = -1;		/* -1: the engine's default */
static double warmup_s = 2.0 * INTERVAL_MS / 1000;

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Runs PR for SECS seconds; tracks the heap at the most probes in flight. */
static void run_for(struct xlb_prober *pr, double secs, size_t *peak_heap, uint32_t *peak_flight)
{
	double end = mono_s() + secs;

	for (;;) {
		struct pollfd pfd = { .fd = xlb_prober_fd(pr), .events = POLLIN };
		struct xlb_prober_stats s;
		double left = end - mono_s();

		if (left <= 0)
			return;
		poll(&pfd, 1, (int)(left * 1000) + 1);
		if (xlb_prober_run(pr) < 0) {
			perror("xlb_prober_run");
			exit(1);
		}
		xlb_prober_stats(pr, &s);
		if (peak_heap && s.in_flight > *peak_flight) {
			*peak_flight = s.in_flight;
			*peak_heap = mallinfo2().uordblks;
		}
	}
}

/* The responder on every CPU but the prober's (its threads inherit the
 * mask from the fork), then the prober back on its own. */
static int spawn_pinned(const struct resp_cfg *rc, uint16_t *port)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	int pid;

	if (prober_cpu < 0)
		return resp_spawn(rc, port);
	CPU_ZERO(&set);
	for (long i = 0; i < cpus; i++)
		if (i != prober_cpu)
			CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
	pid = resp_spawn(rc, port);
	CPU_ZERO(&set);
	CPU_SET(prober_cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("bench_probe: sched_setaffinity");
	return pid;
}

/* The heap with (almost) every target at rest: one probe at a time until
 * at most one is in flight (a second at most), which is under 50 bytes per
 * target of error at N >= 1000. */
static size_t heap_at_rest(struct xlb_prober *pr)
{
	double end = mono_s() + 1;
	struct xlb_prober_stats s;
	size_t m;

	xlb_prober_set_max_in_flight(pr, 1);
	for (;;) {
		struct pollfd pfd = { .fd = xlb_prober_fd(pr), .events = POLLIN };

		xlb_prober_stats(pr, &s);
		if (s.in_flight <= 1 || mono_s() > end)
			break;
		poll(&pfd, 1, 10);
		xlb_prober_run(pr);
	}
	m = mallinfo2().uordblks;
	xlb_prober_set_max_in_flight(pr, XLB_PROBE_MAX_IN_FLIGHT);
	return m;
}

static int bench(int n, double secs, int threads, X509 *cert, EVP_PKEY *key)
{
	struct resp_cfg rc = { .mode = RESP_SSTP, .cert = cert, .key = key, .threads = threads };
	struct xlb_prober_stats s0, s1;
	struct xlb_probe_cfg c;
	struct xlb_prober *pr;
	struct xlb_ip lo;
	struct rusage ru;
	size_t m0, m_rest, m_peak = 0, m_idle;
	uint32_t peak_flight = 0;
	uint64_t lat_sum = 0;
	uint64_t ok0 = 0, ok1 = 0, fin0, fin1;
	double t0, c0, t1, c1;
	uint16_t port;
	int pid, up = 0;

	pid = spawn_pinned(&rc, &port);
	if (pid < 0) {
		fprintf(stderr, "bench_probe: cannot start the responder\n");
		return -1;
	}
	xlb_ip_parse("127.0.0.1", &lo);
	xlb_probe_init(&c);
	c.type = XLB_PROBE_SSTP;
	c.interval_ms = INTERVAL_MS;
	c.timeout_ms = TIMEOUT_MS;
	pr = xlb_prober_new(NULL, NULL);
	if (!pr) {
		perror("xlb_prober_new");
		return -1;
	}
	if (tls_refresh_s >= 0)
		xlb_prober_set_tls_refresh(pr, (unsigned)tls_refresh_s);
	m0 = mallinfo2().uordblks;
	for (int i = 0; i < n; i++) {
		/* sources 127.0.1.0/24: one destination port alone would run out
		 * of ephemeral ports (the responder's TIME_WAITs are ours too) */
		c.source = lo;
		c.source.a[2] = 1;
		c.source.a[3] = (uint8_t)(i % SOURCES);
		if (xlb_prober_set(pr, (uint64_t)i, &lo, port, &c, XLB_HEALTH_UNKNOWN)) {
			fprintf(stderr, "bench_probe: xlb_prober_set failed\n");
			return -1;
		}
	}
	m_rest = mallinfo2().uordblks;

	run_for(pr, warmup_s, NULL, NULL);
	xlb_prober_stats(pr, &s0);
	for (int i = 0; i < n; i++)
		ok0 += xlb_prober_status(pr, (uint64_t)i)->count[XLB_PR_OK];
	fin0 = s0.finished;
	t0 = mono_s();
	c0 = cpu_s(RUSAGE_SELF);
	run_for(pr, secs, &m_peak, &peak_flight);
	t1 = mono_s();
	c1 = cpu_s(RUSAGE_SELF);
	xlb_prober_stats(pr, &s1);
	fin1 = s1.finished;
	for (int i = 0; i < n; i++) {
		const struct xlb_probe_status *st = xlb_prober_status(pr, (uint64_t)i);

		ok1 += st->count[XLB_PR_OK];
		up += st->health == XLB_HEALTH_UP;
		lat_sum += st->latency_us;
	}
	m_idle = heap_at_rest(pr);

	kill(pid, SIGTERM);
	wait4(pid, NULL, 0, &ru);
	/* failures by reason, over the whole run */
	for (int r = XLB_PR_OK + 1; r < XLB_PR__COUNT; r++) {
		uint64_t k = 0;

		for (int i = 0; i < n; i++)
			k += xlb_prober_status(pr, (uint64_t)i)->count[r];
		if (k)
			fprintf(stderr, "  n=%d %s: %lu\n", n, xlb_probe_result_name(r),
				(unsigned long)k);
	}
	for (int i = 0; i < n; i++) {
		const struct xlb_probe_status *st = xlb_prober_status(pr, (uint64_t)i);

		if (st->last != XLB_PR_OK) {
			fprintf(stderr, "  n=%d e.g. %s\n", n, st->error);
			break;
		}
	}

	printf("probe_sstp n=%d interval_ms=%d secs=%.0f wanted_per_s=%.1f done_per_s=%.1f "
	       "ok_pct=%.2f up=%d late=%lu lateness_max_ms=%.1f cpu_pct=%.1f "
	       "cpu_us_per_probe=%.0f max_in_flight=%u rest_bytes_per_target=%zu "
	       "inflight_bytes_per_probe=%zu responder_cpu_pct=%.1f tls_refresh_s=%d "
	       "resumed_pct=%.1f latency_ms=%.2f\n",
	       n, INTERVAL_MS, secs, n * 1000.0 / INTERVAL_MS, (fin1 - fin0) / (t1 - t0),
	       fin1 > fin0 ? 100.0 * (double)(ok1 - ok0) / (double)(fin1 - fin0) : 0.0, up,
	       (unsigned long)(s1.late - s0.late), s1.lateness_max_us / 1000.0,
	       100.0 * (c1 - c0) / (t1 - t0),
	       fin1 > fin0 ? 1e6 * (c1 - c0) / (double)(fin1 - fin0) : 0.0,
	       s1.max_in_flight, (m_idle > m0 ? m_idle - m0 : m_rest - m0) / (size_t)n,
	       peak_flight && m_peak > m_idle ? (m_peak - m_idle) / peak_flight : 0,
	       100.0 * ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6) /
		       (secs + warmup_s),
	       tls_refresh_s >= 0 ? tls_refresh_s : XLB_PROBE_TLS_REFRESH_S,
	       100.0 * (double)(s1.tls_resumed - s0.tls_resumed) /
		       (double)(s1.tls_resumed - s0.tls_resumed + s1.tls_full - s0.tls_full + 1e-9),
	       (double)lat_sum / n / 1000.0);
	fflush(stdout);
	xlb_prober_free(pr);
	return 0;
}

int main(int argc, char **argv)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int threads = cpus > 1 ? (int)cpus - 1 : 1, opt, rc = 0;

	prober_cpu = cpus > 1 ? 0 : -1;
	double secs = 10;
	X509 *cert;
	EVP_PKEY *key;

	while ((opt = getopt(argc, argv, "s:w:t:c:r:")) != -1) {
		switch (opt) {
		case 's':
			secs = atof(optarg);
			break;
		case 'w':
			warmup_s = atof(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'c':
			prober_cpu = atoi(optarg);
			break;
		case 'r':
			tls_refresh_s = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-s SECS] [-w WARMUP_S] [-t RESPONDER_THREADS] "
				"[-c PROBER_CPU] [-r TLS_REFRESH_S] [N...]\n", argv[0]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (resp_make_cert("bench.test", -86400, 365 * 86400, &cert, &key)) {
		fprintf(stderr, "bench_probe: cannot make a certificate\n");
		return 1;
	}
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			rc |= bench(atoi(argv[i]), secs, threads, cert, key);
	} else {
		for (size_t i = 0; i < sizeof(default_ns) / sizeof(default_ns[0]); i++)
			rc |= bench(default_ns[i], secs, threads, cert, key);
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc ? 1 : 0;
}
