/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maglev.h: builds a VIP's Maglev ring, struct xlb_ring_slot[M], from its
 * backends. est_backend is the ring over ACTIVE and DRAINING backends,
 * new_backend the ring over ACTIVE ones only (docs/datapath.md, "Drain").
 *
 * A backend's place in the ring follows from a seeded hash of its (family,
 * address) and the backends are filled in (family, address) order, so every
 * LB node given the same backends and seed builds the same ring, whatever the
 * input order and whatever the ids. Slot counts are proportional to weight
 * (Envoy's weighted Maglev); with equal weights it is classic Maglev.
 */
#ifndef XLB_MAGLEV_H
#define XLB_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xlb.h"

struct xlb_mg_backend {
	uint32_t id;		/* written into the slots; not XLB_NO_BACKEND */
	uint8_t  family;	/* XLB_FAMILY_V4 or XLB_FAMILY_V6 */
	uint8_t  state;		/* enum xlb_backend_state */
	uint16_t pad;
	uint8_t  addr[16];	/* network order; IPv4 in the first 4 bytes,
				 * the rest zero */
	uint32_t weight;	/* relative share of slots; 0 keeps the
				 * backend out of both rings */
};

struct xlb_mg_entry;

/* Scratch memory for builds, reused so that a rebuild allocates nothing
 * unless it has more backends than any build before. Zero it before the
 * first build; xlb_maglev_release() frees it. */
struct xlb_maglev {
	struct xlb_mg_entry *ent;
	struct xlb_mg_entry **turn;
	size_t cap;
};

/*
 * Fill out[0..m-1] from the n backends b[]. seed must be the same on every
 * LB node that should agree on the ring.
 *
 * UNUSED entries (free slots) are skipped unchecked. DOWN and weight-0 are in
 * neither ring but still checked. A ring with nobody eligible is all
 * XLB_NO_BACKEND, which is not an error (n may be 0).
 *
 * Returns 0, -ENOMEM, or -EINVAL when m is not a prime, m is above
 * XLB_RING_SIZE_MAX, m is below the number of backends in the est ring, two
 * entries share a (family, address), or an entry has an unknown family or
 * state, an IPv4 address with non-zero trailing bytes, or the id
 * XLB_NO_BACKEND. On error out[] is untouched.
 */
int xlb_maglev_build(struct xlb_maglev *mg, const struct xlb_mg_backend *b,
		     size_t n, uint32_t m, uint64_t seed,
		     struct xlb_ring_slot *out);

void xlb_maglev_release(struct xlb_maglev *mg);

bool xlb_is_prime(uint32_t m);

#endif /* XLB_MAGLEV_H */
