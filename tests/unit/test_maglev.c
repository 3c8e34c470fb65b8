/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* test_maglev.c: the Maglev ring builder (user/lib/maglev.c): balance,
 * disruption, weights, determinism, drain, bad input, address families. */
#include "maglev.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define M		XLB_RING_SIZE_DEFAULT
#define SEED		0x5eedull
#define MAX_N		1000
#define V4_FARM		0x0a000000u	/* 10.0.0.0/8 */
#define SHUFFLES	5

/* Share of the ring that may change hands between backends that stay when
 * one comes or goes: Maglev's disruption is small, not zero. */
#define MAX_DISRUPTION	0.01

enum ring { RING_NEW, RING_EST };

static const uint8_t v6_farm[16] = { 0x20, 0x01, 0x0d, 0xb8 };	/* 2001:db8::/32 */

static struct xlb_maglev mg;
static struct xlb_mg_backend be[MAX_N + 1], ref[MAX_N + 1];
static struct xlb_ring_slot ring_a[M], ring_b[M];

static const char *ring_name(enum ring r)
{
	return r == RING_NEW ? "new" : "est";
}

static uint32_t owner(const struct xlb_ring_slot *s, enum ring r)
{
	return r == RING_NEW ? s->new_backend : s->est_backend;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* An active backend of weight 1: 10.0.0.0 + host, or 2001:db8:: + host. */
static struct xlb_mg_backend backend(uint32_t id, uint8_t family, uint32_t host)
{
	struct xlb_mg_backend b = {
		.id = id,
		.family = family,
		.state = XLB_BACKEND_ACTIVE,
		.weight = 1,
	};

	if (family == XLB_FAMILY_V4) {
		put_be32(b.addr, V4_FARM | host);
	} else {
		memcpy(b.addr, v6_farm, sizeof(b.addr));
		put_be32(b.addr + sizeof(b.addr) - sizeof(uint32_t), host);
	}
	return b;
}

/* be[0..n-1]: backend i has id i and host i + 1, IPv4, or every other one
 * IPv6 when mixed. */
static void make_farm(size_t n, bool mixed)
{
	for (size_t i = 0; i < n; i++)
		be[i] = backend(i, mixed && i % 2 ? XLB_FAMILY_V6 : XLB_FAMILY_V4,
				i + 1);
}

static int build(size_t n, struct xlb_ring_slot *out)
{
	return xlb_maglev_build(&mg, be, n, M, SEED, out);
}

/* Every slot belongs to one of ids 0..n-1, each with floor or ceil of M/n. */
static void check_balance(const struct xlb_ring_slot *r, enum ring which,
			  size_t n, const char *what)
{
	static uint32_t cnt[MAX_N + 1];
	uint32_t lo = UINT32_MAX, hi = 0, stray = 0;

	memset(cnt, 0, sizeof(cnt));
	for (uint32_t s = 0; s < M; s++) {
		uint32_t id = owner(&r[s], which);

		if (id < n)
			cnt[id]++;
		else
			stray++;
	}
	for (size_t i = 0; i < n; i++) {
		lo = cnt[i] < lo ? cnt[i] : lo;
		hi = cnt[i] > hi ? cnt[i] : hi;
	}
	ok(stray == 0 && lo >= M / n && hi <= (M + n - 1) / n,
	   "%s, %s ring, N=%zu: %u..%u slots each (M/N %.1f), %u stray",
	   what, ring_name(which), n, lo, hi, (double)M / n, stray);
}

/* Equal weights: classic Maglev gives each backend floor or ceil of M/N
 * slots; the est ring counts one extra, draining, backend. */
static void test_equal_weights(void)
{
	static const size_t sizes[] = { 3, 10, 100, MAX_N };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];

		make_farm(n + 1, false);
		be[n].state = XLB_BACKEND_DRAINING;
		is_u64(build(n + 1, ring_a), 0, "build N=%zu + 1 draining", n);
		check_balance(ring_a, RING_NEW, n, "equal weights");
		check_balance(ring_a, RING_EST, n + 1, "equal weights");
	}
}

/* Slots that went from one backend to another, neither of them churned. */
static uint32_t moved_between_others(const struct xlb_ring_slot *before,
				     const struct xlb_ring_slot *after,
				     enum ring which, uint32_t churned)
{
	uint32_t moved = 0;

	for (uint32_t s = 0; s < M; s++) {
		uint32_t was = owner(&before[s], which), is = owner(&after[s], which);

		moved += was != churned && is != churned && was != is;
	}
	return moved;
}

/* Removing or adding one backend moves at most MAX_DISRUPTION of the ring
 * between the backends that stay. */
static void test_disruption(void)
{
	static const size_t sizes[] = { 10, 100, MAX_N };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		const uint32_t gone[] = { 0, n / 2, n - 1 };
		uint32_t worst = 0, moved;

		make_farm(n + 1, false);
		build(n, ring_a);
		for (size_t g = 0; g < sizeof(gone) / sizeof(gone[0]); g++) {
			be[gone[g]].state = XLB_BACKEND_DOWN;
			build(n, ring_b);
			be[gone[g]].state = XLB_BACKEND_ACTIVE;
			moved = moved_between_others(ring_a, ring_b, RING_NEW, gone[g]);
			diag("N=%zu M=%u remove id %u: %u slots (%.3f%%) moved between others",
			     n, M, gone[g], moved, 100.0 * moved / M);
			worst = moved > worst ? moved : worst;
		}
		build(n + 1, ring_b);
		moved = moved_between_others(ring_a, ring_b, RING_NEW, n);
		diag("N=%zu M=%u add one: %u slots (%.3f%%) moved between others",
		     n, M, moved, 100.0 * moved / M);
		worst = moved > worst ? moved : worst;
		ok(worst <= MAX_DISRUPTION * M,
		   "N=%zu: one backend in or out moves at most %.0f%% between the others (worst %.3f%%)",
		   n, 100 * MAX_DISRUPTION, 100.0 * worst / M);
	}
}

/*
 * How far a weighted fill may stray from exact shares. After I full
 * iterations a backend of weight w has had floor(I*w/max)+1 turns and the
 * last, partial, iteration gives it at most one more, so its count is
 * c = I*w/max + d with 0 < d <= 2. Summing over the N backends,
 * M = I*W/max + sum(d), hence c - M*w/W = d - (w/W)*sum(d), which lies in
 * (-2*N*w/W, 2].
 */
static void check_weights(size_t n, const char *what)
{
	static uint32_t cnt[MAX_N];
	uint64_t total = 0;
	bool within = true;
	double worst = 0;

	memset(cnt, 0, sizeof(cnt));
	for (uint32_t s = 0; s < M; s++)
		if (ring_a[s].new_backend < n)
			cnt[ring_a[s].new_backend]++;
	for (size_t i = 0; i < n; i++)
		total += be[i].weight;
	for (size_t i = 0; i < n; i++) {
		double share = (double)be[i].weight / total;
		double err = cnt[i] - share * M;

		within = within && err <= 2 && err > -2.0 * n * share;
		worst = err * err > worst * worst ? err : worst;
	}
	ok(within, "%s: slot counts within the fill's rounding of M*w/W (worst %+.2f slots)",
	   what, worst);
}

/* Slot counts follow the weights: 1,2,3,4 take 10/20/30/40%; a farm of
 * mixed server sizes likewise. */
static void test_weights(void)
{
	static const uint32_t small[] = { 1, 2, 3, 4 };
	static const uint32_t sizes[] = { 100, 150, 200, 400 };
	const size_t big = MAX_N / 10;

	make_farm(sizeof(small) / sizeof(small[0]), false);
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		be[i].weight = small[i];
	build(sizeof(small) / sizeof(small[0]), ring_a);
	check_weights(sizeof(small) / sizeof(small[0]), "weights 1,2,3,4");

	make_farm(big, false);
	for (size_t i = 0; i < big; i++)
		be[i].weight = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
	build(big, ring_a);
	check_weights(big, "100 backends of weights 100,150,200,400");
}

/* Slots whose owners, mapped through canon[] (id -> position in ref[]),
 * differ between a and b. */
static uint32_t ring_diff(const struct xlb_ring_slot *a,
			  const struct xlb_ring_slot *b, const uint32_t *canon,
			  size_t n)
{
	uint32_t diff = 0;

	for (uint32_t s = 0; s < M; s++) {
		uint32_t nb = b[s].new_backend, eb = b[s].est_backend;

		nb = nb < n ? canon[nb] : nb;
		eb = eb < n ? canon[eb] : eb;
		diff += a[s].new_backend != nb || a[s].est_backend != eb;
	}
	return diff;
}

static void shuffle(uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = random() % (i + 1);
		uint32_t t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

/* Any input order and any ids give the same ring of addresses, so LB nodes
 * agree; the seed does change it. */
static void test_order(void)
{
	const size_t n = MAX_N / 10;
	static uint32_t pos[MAX_N], ids[MAX_N], canon[MAX_N];

	make_farm(n, true);
	be[1].state = XLB_BACKEND_DRAINING;
	be[2].state = XLB_BACKEND_DOWN;
	be[3].weight = 3;
	memcpy(ref, be, n * sizeof(be[0]));
	build(n, ring_a);

	srandom(SEED);
	for (int round = 0; round < SHUFFLES; round++) {
		shuffle(pos, n);
		shuffle(ids, n);
		for (size_t i = 0; i < n; i++) {
			be[i] = ref[pos[i]];
			be[i].id = ids[i];
			canon[ids[i]] = pos[i];
		}
		build(n, ring_b);
		is_u64(ring_diff(ring_a, ring_b, canon, n), 0,
		       "shuffle %d: same ring of addresses", round);
	}

	memcpy(be, ref, n * sizeof(be[0]));
	xlb_maglev_build(&mg, be, n, M, SEED + 1, ring_b);
	for (size_t i = 0; i < n; i++)
		canon[i] = i;
	ok(ring_diff(ring_a, ring_b, canon, n) > 0, "another seed, another ring");
}

/* Draining backend x: it keeps exactly its est slots and has no new slots;
 * its new slots go to the others, which lose new slots only to Maglev's
 * disruption, and the new ring is the ring without x. */
static void check_drain(size_t n, uint32_t x)
{
	uint32_t est_changed = 0, x_new = 0, orphaned = 0, lost;

	make_farm(n, false);
	build(n, ring_a);
	be[x].state = XLB_BACKEND_DRAINING;
	build(n, ring_b);
	for (uint32_t s = 0; s < M; s++) {
		est_changed += ring_b[s].est_backend != ring_a[s].est_backend;
		x_new += ring_b[s].new_backend == x;
		orphaned += ring_a[s].new_backend == x &&
			    ring_b[s].new_backend == XLB_NO_BACKEND;
	}
	lost = moved_between_others(ring_a, ring_b, RING_NEW, x);
	is_u64(est_changed, 0, "N=%zu drain: est ring as with all active", n);
	is_u64(x_new, 0, "N=%zu drain: draining backend has no new slots", n);
	is_u64(orphaned, 0, "N=%zu drain: its former new slots all have an owner", n);
	diag("N=%zu M=%u drain: others lost %u new slots (%.3f%%) to each other",
	     n, M, lost, 100.0 * lost / M);
	ok(lost <= MAX_DISRUPTION * M,
	   "N=%zu drain: others' new slots unchanged but for gains and %.0f%% disruption",
	   n, 100 * MAX_DISRUPTION);

	be[x].state = XLB_BACKEND_DOWN;
	build(n, ring_a);
	lost = 0;
	for (uint32_t s = 0; s < M; s++)
		lost += ring_a[s].new_backend != ring_b[s].new_backend;
	is_u64(lost, 0, "N=%zu drain: new ring equals the ring with it down", n);
}

static void test_drain(void)
{
	check_drain(MAX_N / 10, 7);
	check_drain(MAX_N, 500);
}

static uint32_t slots_of(const struct xlb_ring_slot *r, uint32_t m,
			 uint32_t id, enum ring which)
{
	uint32_t c = 0;

	for (uint32_t s = 0; s < m; s++)
		c += owner(&r[s], which) == id;
	return c;
}

/* DOWN and weight-0 backends are in neither ring; nobody eligible (or n=0)
 * gives an all-XLB_NO_BACKEND ring without error. */
static void test_excluded(void)
{
	const size_t n = 10;

	make_farm(n, false);
	be[3].state = XLB_BACKEND_DOWN;
	be[4].weight = 0;
	be[5] = (struct xlb_mg_backend){ .id = 5 };
	be[6] = (struct xlb_mg_backend){ .id = 6 };
	is_u64(build(n, ring_a), 0, "build with down, weight-0, two blank unused");
	is_u64(slots_of(ring_a, M, 3, RING_EST) + slots_of(ring_a, M, 3, RING_NEW),
	       0, "down backend in neither ring");
	is_u64(slots_of(ring_a, M, 4, RING_EST) + slots_of(ring_a, M, 4, RING_NEW),
	       0, "weight-0 backend in neither ring");
	is_u64(slots_of(ring_a, M, 5, RING_EST) + slots_of(ring_a, M, 5, RING_NEW),
	       0, "unused entry in neither ring");

	memset(ring_a, 0, sizeof(ring_a));
	is_u64(xlb_maglev_build(&mg, NULL, 0, M, SEED, ring_a), 0, "n=0 builds");
	is_u64(slots_of(ring_a, M, XLB_NO_BACKEND, RING_EST) +
	       slots_of(ring_a, M, XLB_NO_BACKEND, RING_NEW), 2 * M,
	       "n=0: every slot XLB_NO_BACKEND in both rings");

	make_farm(n, false);
	for (size_t i = 0; i < n; i++)
		be[i].state = i < n / 2 ? XLB_BACKEND_DRAINING : XLB_BACKEND_DOWN;
	build(n, ring_a);
	is_u64(slots_of(ring_a, M, XLB_NO_BACKEND, RING_NEW), M,
	       "only draining: new ring all XLB_NO_BACKEND");
	check_balance(ring_a, RING_EST, n / 2, "only draining");
}

/* Refused: -EINVAL, and out[] left as it was. */
static void refused(size_t n, uint32_t m, struct xlb_ring_slot *out,
		    const char *what)
{
	static struct xlb_ring_slot before[M];
	uint32_t cmp_len = m < M ? m : M;

	memset(out, 0xa5, cmp_len * sizeof(*out));
	memcpy(before, out, cmp_len * sizeof(*out));
	is_u64(xlb_maglev_build(&mg, be, n, m, SEED, out), -EINVAL, "refused: %s", what);
	ok(memcmp(before, out, cmp_len * sizeof(*out)) == 0, "refused: %s: out untouched", what);
}

/* Bad ring sizes and bad backends are refused; the largest ring builds. */
static void test_errors(void)
{
	const size_t n = 10;
	uint32_t over = XLB_RING_SIZE_MAX + 1;
	struct xlb_ring_slot *huge;

	while (!xlb_is_prime(over))
		over++;
	huge = calloc(over, sizeof(*huge));
	if (!huge)
		bail_out("no memory for a %u-slot ring", over);

	make_farm(n, false);
	refused(n, M - 1, ring_a, "M not prime");
	refused(n, 1, ring_a, "M = 1");
	refused(n, 0, ring_a, "M = 0");
	refused(n, over, huge, "M above XLB_RING_SIZE_MAX");
	is_u64(xlb_maglev_build(&mg, be, n, XLB_RING_SIZE_MAX, SEED, huge), 0,
	       "M = XLB_RING_SIZE_MAX builds");

	refused(n, 7, ring_a, "M below the backend count");
	be[7].state = be[8].state = be[9].state = XLB_BACKEND_DOWN;
	is_u64(xlb_maglev_build(&mg, be, n, 7, SEED, ring_a), 0,
	       "M equal to the est-ring backend count builds");

	make_farm(n, false);
	memcpy(be[6].addr, be[2].addr, sizeof(be[2].addr));
	refused(n, M, ring_a, "duplicate address");
	be[6].state = XLB_BACKEND_DOWN;
	refused(n, M, ring_a, "duplicate address, one down");

	make_farm(n, false);
	be[1].family = 0;
	refused(n, M, ring_a, "unknown family");
	make_farm(n, false);
	be[1].addr[15] = 1;
	refused(n, M, ring_a, "IPv4 with trailing bytes");
	make_farm(n, false);
	be[1].state = XLB_BACKEND_DOWN + 1;
	refused(n, M, ring_a, "unknown state");
	make_farm(n, false);
	be[1].id = XLB_NO_BACKEND;
	refused(n, M, ring_a, "id XLB_NO_BACKEND");
	free(huge);
}

/* xlb_is_prime on the edges and on the ring sizes of xlb.h. */
static void test_is_prime(void)
{
	static const uint32_t primes[] = { 2, 3, 5, 7, 13, 251, 65521, 65537,
					   XLB_RING_SIZE_DEFAULT, XLB_RING_SIZE_MAX,
					   4294967291u };
	static const uint32_t composites[] = { 0, 1, 4, 9, 25, 65535, 65536,
					       65539 * 3, 4294967295u };
	bool all = true;

	for (size_t i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		all = all && xlb_is_prime(primes[i]);
	ok(all, "primes are prime");
	all = true;
	for (size_t i = 0; i < sizeof(composites) / sizeof(composites[0]); i++)
		all = all && !xlb_is_prime(composites[i]);
	ok(all, "composites and 0, 1 are not");
}

/* IPv6 and mixed farms balance like IPv4; an IPv4 and an IPv6 backend with
 * the same 16 bytes are two backends, not duplicates, with their own places
 * in the ring. */
static void test_families(void)
{
	const size_t n = MAX_N / 10;

	for (size_t i = 0; i < n; i++)
		be[i] = backend(i, XLB_FAMILY_V6, i + 1);
	is_u64(build(n, ring_a), 0, "IPv6 farm builds");
	check_balance(ring_a, RING_NEW, n, "IPv6");

	make_farm(n, true);
	is_u64(build(n, ring_a), 0, "mixed farm builds");
	check_balance(ring_a, RING_NEW, n, "mixed");
	check_balance(ring_a, RING_EST, n, "mixed");

	be[0] = backend(0, XLB_FAMILY_V4, 1);
	be[1] = backend(1, XLB_FAMILY_V6, 0);
	memcpy(be[1].addr, be[0].addr, sizeof(be[0].addr));
	is_u64(build(2, ring_a), 0, "same bytes, two families: not duplicates");
	check_balance(ring_a, RING_NEW, 2, "same bytes, two families");

	/* same fill order either way, so only the hash can tell them apart */
	be[0] = backend(0, XLB_FAMILY_V4, 1);
	be[1] = backend(1, XLB_FAMILY_V4, 2);
	build(2, ring_a);
	be[1].family = XLB_FAMILY_V6;
	build(2, ring_b);
	ok(memcmp(ring_a, ring_b, sizeof(ring_a)) != 0,
	   "the family is hashed: same bytes as IPv6 take other slots");
}

int main(void)
{
	test_equal_weights();
	test_disruption();
	test_weights();
	test_order();
	test_drain();
	test_excluded();
	test_errors();
	test_is_prime();
	test_families();
	xlb_maglev_release(&mg);
	return tap_done();
}
