/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_maglev.c: time of one Maglev ring build (both rings), over repeated
 * builds with reused scratch, as a control plane rebuilding a VIP would.
 * One line per case:
 *   maglev_build n=1000 m=65537 weights=equal median_ms=2.801 min_ms=2.750
 */
#include "maglev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS		50
#define SEED		0x5eedull
#define V4_FARM		0x0a000000u	/* 10.0.0.0/8 */
#define HEAVY_WEIGHT	1000

enum weights {
	EQUAL,
	ONE_HEAVY,	/* one backend HEAVY_WEIGHT, the rest 1: the fill's
			 * worst case, O(M * max weight / mean weight) */
};

static const char *const weights_name[] = {
	[EQUAL] = "equal",
	[ONE_HEAVY] = "one_heavy",
};

struct bench_case {
	uint32_t n;
	uint32_t m;
	enum weights weights;
};

static const struct bench_case cases[] = {
	{ 10,   XLB_RING_SIZE_DEFAULT, EQUAL },
	{ 100,  XLB_RING_SIZE_DEFAULT, EQUAL },
	{ 1000, XLB_RING_SIZE_DEFAULT, EQUAL },
	{ 1000, XLB_RING_SIZE_MAX,     EQUAL },
	{ 1000, XLB_RING_SIZE_DEFAULT, ONE_HEAVY },
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* n active IPv4 backends 10.0.0.1, 10.0.0.2, ... */
static void make_farm(struct xlb_mg_backend *b, uint32_t n, enum weights w)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t a = V4_FARM | (i + 1);

		b[i] = (struct xlb_mg_backend){
			.id = i,
			.family = XLB_FAMILY_V4,
			.state = XLB_BACKEND_ACTIVE,
			.addr = { a >> 24, a >> 16, a >> 8, a },
			.weight = w == ONE_HEAVY && i == 0 ? HEAVY_WEIGHT : 1,
		};
	}
}

static int run_case(struct xlb_maglev *mg, const struct bench_case *c)
{
	struct xlb_mg_backend *b = calloc(c->n, sizeof(*b));
	struct xlb_ring_slot *ring = calloc(c->m, sizeof(*ring));
	double ms[RUNS];
	int err = -ENOMEM;

	if (!b || !ring)
		goto out;
	make_farm(b, c->n, c->weights);
	for (int i = 0; i < RUNS; i++) {
		double t0 = now_ms();

		err = xlb_maglev_build(mg, b, c->n, c->m, SEED, ring);
		ms[i] = now_ms() - t0;
		if (err)
			goto out;
	}
	qsort(ms, RUNS, sizeof(ms[0]), cmp_double);
	printf("maglev_build n=%u m=%u weights=%s median_ms=%.3f min_ms=%.3f\n",
	       c->n, c->m, weights_name[c->weights], ms[RUNS / 2], ms[0]);
out:
	if (err)
		fprintf(stderr, "maglev_build n=%u m=%u: %s\n", c->n, c->m,
			strerror(-err));
	free(b);
	free(ring);
	return err;
}

int main(void)
{
	struct xlb_maglev mg = { 0 };
	int err = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) && !err; i++)
		err = run_case(&mg, &cases[i]);
	xlb_maglev_release(&mg);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
