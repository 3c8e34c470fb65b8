/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maglev ring builder (Eisenbud et al., NSDI 2016, section 3.4) with the
 * weighted fill of Envoy's MaglevTable.
 */
#include "maglev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define V4_ADDR_LEN	4

/* Seed of the skip hash: the offset hash's seed with about half its bits
 * flipped (2^64 / golden ratio), so the two hashes are different functions
 * of the address and offset and skip are independent. */
#define SKIP_SEED_FLIP	0x9e3779b97f4a7c15ull

struct xlb_mg_entry {
	uint8_t  family;
	uint8_t  addr[16];
	uint8_t  state;
	uint32_t id;
	uint32_t weight;
	uint32_t offset;	/* first slot of this backend's permutation */
	uint32_t skip;		/* step through it; M prime makes it visit
				 * every slot */
	uint32_t pos;		/* next slot to try */
	uint64_t target;	/* takes its next turn once
				 * iteration * weight reaches this */
};

enum mg_ring {
	MG_RING_EST,
	MG_RING_NEW,
};

bool xlb_is_prime(uint32_t m)
{
	if (m < 2)
		return false;
	if (m % 2 == 0)
		return m == 2;
	for (uint64_t d = 3; d * d <= m; d += 2)
		if (m % d == 0)
			return false;
	return true;
}

/* murmur3's 64-bit finalizer: a bijection in which every input bit flips
 * every output bit with probability close to 1/2. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Byte by byte, so that LB nodes of either endianness agree. */
static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (size_t i = 0; i < sizeof(v); i++)
		v = v << 8 | p[i];
	return v;
}

/* Seeded hash of the 17 bytes (family, address). */
static uint64_t addr_hash(const struct xlb_mg_entry *e, uint64_t seed)
{
	uint64_t h = mix64(seed ^ e->family);

	h = mix64(h ^ load_be64(e->addr));
	return mix64(h ^ load_be64(e->addr + sizeof(uint64_t)));
}

static bool valid_backend(const struct xlb_mg_backend *b)
{
	static const uint8_t zero[sizeof(b->addr) - V4_ADDR_LEN];

	switch (b->family) {
	case XLB_FAMILY_V4:
		if (memcmp(b->addr + V4_ADDR_LEN, zero, sizeof(zero)))
			return false;
		break;
	case XLB_FAMILY_V6:
		break;
	default:
		return false;
	}
	return b->state <= XLB_BACKEND_DOWN && b->id != XLB_NO_BACKEND;
}

static int reserve(struct xlb_maglev *mg, size_t n)
{
	struct xlb_mg_entry *ent;
	struct xlb_mg_entry **turn;

	if (n <= mg->cap)
		return 0;
	ent = reallocarray(mg->ent, n, sizeof(*ent));
	if (!ent)
		return -ENOMEM;
	mg->ent = ent;
	turn = reallocarray(mg->turn, n, sizeof(*turn));
	if (!turn)
		return -ENOMEM;
	mg->turn = turn;
	mg->cap = n;
	return 0;
}

/* Copies the entries that are not UNUSED into ent[]; their count, or
 * -EINVAL. */
static long collect(struct xlb_mg_entry *ent, const struct xlb_mg_backend *b,
		    size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (b[i].state == XLB_BACKEND_UNUSED)
			continue;
		if (!valid_backend(&b[i]))
			return -EINVAL;
		ent[k] = (struct xlb_mg_entry){
			.family = b[i].family,
			.state = b[i].state,
			.id = b[i].id,
			.weight = b[i].weight,
		};
		memcpy(ent[k].addr, b[i].addr, sizeof(ent[k].addr));
		k++;
	}
	return k;
}

static int cmp_addr(const void *pa, const void *pb)
{
	const struct xlb_mg_entry *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family - b->family;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* Sorted by (family, address): the canonical fill order, and duplicates
 * become neighbours. */
static bool sort_unique(struct xlb_mg_entry *ent, size_t k)
{
	if (k < 2)
		return true;
	qsort(ent, k, sizeof(*ent), cmp_addr);
	for (size_t i = 1; i < k; i++)
		if (cmp_addr(&ent[i - 1], &ent[i]) == 0)
			return false;
	return true;
}

static bool in_ring(const struct xlb_mg_entry *e, enum mg_ring ring)
{
	if (e->weight == 0)
		return false;
	if (ring == MG_RING_NEW)
		return e->state == XLB_BACKEND_ACTIVE;
	return e->state == XLB_BACKEND_ACTIVE ||
	       e->state == XLB_BACKEND_DRAINING;
}

static size_t count_in_ring(const struct xlb_mg_entry *ent, size_t k,
			    enum mg_ring ring)
{
	size_t c = 0;

	for (size_t i = 0; i < k; i++)
		c += in_ring(&ent[i], ring);
	return c;
}

static void place(struct xlb_mg_entry *ent, size_t k, uint32_t m,
		  uint64_t seed)
{
	for (size_t i = 0; i < k; i++) {
		ent[i].offset = addr_hash(&ent[i], seed) % m;
		ent[i].skip = addr_hash(&ent[i], seed ^ SKIP_SEED_FLIP) % (m - 1) + 1;
	}
}

static uint32_t *slot_field(struct xlb_ring_slot *s, enum mg_ring ring)
{
	return ring == MG_RING_NEW ? &s->new_backend : &s->est_backend;
}

/* The backend's turn: it takes the next free slot of its permutation. The
 * caller only calls while a slot is free, and the permutation reaches every
 * slot, so the search ends. */
static void take_slot(struct xlb_mg_entry *e, uint32_t m, enum mg_ring ring,
		      struct xlb_ring_slot *out)
{
	uint32_t *slot;

	do {
		slot = slot_field(&out[e->pos], ring);
		e->pos += e->skip;
		if (e->pos >= m)
			e->pos -= m;
	} while (*slot != XLB_NO_BACKEND);
	*slot = e->id;
}

/* The ring's backends into mg->turn, in fill order, ready for a fill. */
static size_t line_up(struct xlb_maglev *mg, size_t k, enum mg_ring ring,
		      uint32_t *max_weight)
{
	size_t t = 0;

	*max_weight = 0;
	for (size_t i = 0; i < k; i++) {
		struct xlb_mg_entry *e = &mg->ent[i];

		if (!in_ring(e, ring))
			continue;
		e->pos = e->offset;
		e->target = 0;
		if (e->weight > *max_weight)
			*max_weight = e->weight;
		mg->turn[t++] = e;
	}
	return t;
}

/*
 * Envoy's weighted fill: in iteration it a backend of weight w takes a turn
 * when it * w has reached its target, which then grows by the largest
 * weight. The heaviest backend takes a turn every iteration, one of half its
 * weight every other iteration, so slot counts follow the weights; with
 * equal weights every backend takes one turn per iteration, classic Maglev.
 * The heaviest taking a turn every iteration bounds it by M, so it * w
 * stays below 2^52. Each iteration looks at every backend: the checks cost
 * O(M * max weight / mean weight), M with equal weights.
 */
static void fill_ring(struct xlb_maglev *mg, size_t k, uint32_t m,
		      enum mg_ring ring, struct xlb_ring_slot *out)
{
	uint32_t max_weight, filled = 0;
	size_t t = line_up(mg, k, ring, &max_weight);

	if (t == 0)
		return;
	for (uint64_t it = 1; filled < m; it++) {
		for (size_t i = 0; i < t && filled < m; i++) {
			struct xlb_mg_entry *e = mg->turn[i];

			if (it * e->weight < e->target)
				continue;
			e->target += max_weight;
			take_slot(e, m, ring, out);
			filled++;
		}
	}
}

int xlb_maglev_build(struct xlb_maglev *mg, const struct xlb_mg_backend *b,
		     size_t n, uint32_t m, uint64_t seed,
		     struct xlb_ring_slot *out)
{
	long k;
	int err;

	if (m > XLB_RING_SIZE_MAX || !xlb_is_prime(m))
		return -EINVAL;
	err = reserve(mg, n);
	if (err)
		return err;
	k = collect(mg->ent, b, n);
	if (k < 0)
		return k;
	if (!sort_unique(mg->ent, k) || count_in_ring(mg->ent, k, MG_RING_EST) > m)
		return -EINVAL;
	place(mg->ent, k, m, seed);

	for (uint32_t i = 0; i < m; i++)
		out[i] = (struct xlb_ring_slot){
			.new_backend = XLB_NO_BACKEND,
			.est_backend = XLB_NO_BACKEND,
		};
	fill_ring(mg, k, m, MG_RING_EST, out);
	/* the new-flow set is a subset of the established one: the same size
	 * means the same backends, the same ring (no drain, the usual case) */
	if (count_in_ring(mg->ent, k, MG_RING_NEW) == count_in_ring(mg->ent, k, MG_RING_EST)) {
		for (uint32_t i = 0; i < m; i++)
			out[i].new_backend = out[i].est_backend;
		return 0;
	}
	fill_ring(mg, k, m, MG_RING_NEW, out);
	return 0;
}

void xlb_maglev_release(struct xlb_maglev *mg)
{
	free(mg->ent);
	free(mg->turn);
	*mg = (struct xlb_maglev){ 0 };
}
