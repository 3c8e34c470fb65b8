/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_probe.c: the probe engine at scale. N targets, all `sstp` probes
 * every second against one local TLS+SSTP responder (tests/lib/
 * sstp_responder.c) in a child process, so this process is the prober
 * alone: its CPU time and heap are the engine's. Probes come from 250
 * loopback sources (the `source` option) to spread the 4-tuples. After a warm-up of two
 * intervals, one window of SECS seconds is measured. One line per N:
 *
 *   probe_sstp n=1000 interval_ms=1000 secs=10 wanted_per_s=1000.0
 *     done_per_s=999.8 ok_pct=100.00 up=1000 late=0 lateness_max_ms=3.1
 *     cpu_pct=21.5 cpu_us_per_probe=215 max_in_flight=9
 *     rest_bytes_per_target=1321 inflight_bytes_per_probe=46120
 *     responder_cpu_pct=38.0
 *
 * Usage: bench_probe [-s SECS] [-t RESPONDER_THREADS] [N...]
 * (default 10 s, nproc - 1 threads, N = 500 1000 2000 4000).
 */
#include "probe.h"
#include "sstp_responder.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
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
#define WARMUP_MS	(2 * INTERVAL_MS)
#define SOURCES		250		/* 127.0.1.0 .. 127.0.1.249 */

static const int default_ns[] = { 500, 1000, 2000, 4000 };

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

static int bench(int n, double secs, int threads, X509 *cert, EVP_PKEY *key)
{
	struct resp_cfg rc = { .mode = RESP_SSTP, .cert = cert, .key = key, .threads = threads };
	struct xlb_prober_stats s0, s1;
	struct xlb_probe_cfg c;
	struct xlb_prober *pr;
	struct xlb_ip lo;
	struct rusage ru;
	size_t m0, m_rest, m_peak = 0;
	uint32_t peak_flight = 0;
	uint64_t ok0 = 0, ok1 = 0, fin0, fin1;
	double t0, c0, t1, c1;
	uint16_t port;
	int pid, up = 0;

	pid = resp_spawn(&rc, &port);
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

	run_for(pr, WARMUP_MS / 1000.0, NULL, NULL);
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
	}

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
	       "inflight_bytes_per_probe=%zu responder_cpu_pct=%.1f\n",
	       n, INTERVAL_MS, secs, n * 1000.0 / INTERVAL_MS, (fin1 - fin0) / (t1 - t0),
	       fin1 > fin0 ? 100.0 * (double)(ok1 - ok0) / (double)(fin1 - fin0) : 0.0, up,
	       (unsigned long)(s1.late - s0.late), s1.lateness_max_us / 1000.0,
	       100.0 * (c1 - c0) / (t1 - t0),
	       fin1 > fin0 ? 1e6 * (c1 - c0) / (double)(fin1 - fin0) : 0.0,
	       s1.max_in_flight, (m_rest - m0) / (size_t)n,
	       peak_flight ? (m_peak - m_rest) / peak_flight : 0,
	       100.0 * ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6) /
		       (secs + WARMUP_MS / 1000.0));
	fflush(stdout);
	xlb_prober_free(pr);
	return 0;
}

int main(int argc, char **argv)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int threads = cpus > 1 ? (int)cpus - 1 : 1, opt, rc = 0;
	double secs = 10;
	X509 *cert;
	EVP_PKEY *key;

	while ((opt = getopt(argc, argv, "s:t:")) != -1) {
		switch (opt) {
		case 's':
			secs = atof(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-s SECS] [-t RESPONDER_THREADS] [N...]\n", argv[0]);
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
