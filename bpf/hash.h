/* SPDX-License-Identifier: GPL-2.0-only */
/* hash.h: the seeded flow hash (Bob Jenkins' lookup3, as the kernel's jhash). */
#ifndef XLB_BPF_HASH_H
#define XLB_BPF_HASH_H

#include "common.h"
#include "parse.h"

#define JHASH_INITVAL	0xdeadbeef

static __always_inline __u32 rol32(__u32 w, unsigned int s)
{
	return (w << (s & 31)) | (w >> ((32 - s) & 31));
}

#define jhash_mix(a, b, c) do {					\
	a -= c; a ^= rol32(c, 4);  c += b;			\
	b -= a; b ^= rol32(a, 6);  a += c;			\
	c -= b; c ^= rol32(b, 8);  b += a;			\
	a -= c; a ^= rol32(c, 16); c += b;			\
	b -= a; b ^= rol32(a, 19); a += c;			\
	c -= b; c ^= rol32(b, 4);  b += a;			\
} while (0)

#define jhash_final(a, b, c) do {				\
	c ^= b; c -= rol32(b, 14);				\
	a ^= c; a -= rol32(c, 11);				\
	b ^= a; b -= rol32(a, 25);				\
	c ^= b; c -= rol32(b, 16);				\
	a ^= c; a -= rol32(c, 4);				\
	b ^= a; b -= rol32(a, 14);				\
	c ^= b; c -= rol32(b, 24);				\
} while (0)

/* lookup3's hashword() over N 32-bit words, N a compile-time constant. */
static __always_inline __u32 jhash_words(const __u32 *k, const int n, __u32 seed)
{
	__u32 a, b, c;
	int i = 0;

	a = b = c = JHASH_INITVAL + ((__u32)n << 2) + seed;
#pragma unroll
	for (; n - i > 3; i += 3) {
		a += k[i];
		b += k[i + 1];
		c += k[i + 2];
		jhash_mix(a, b, c);
	}
	switch (n - i) {
	case 3:
		c += k[i + 2];
		/* fall through */
	case 2:
		b += k[i + 1];
		/* fall through */
	case 1:
		a += k[i];
		jhash_final(a, b, c);
	}
	return c;
}

/* Hash of the flow, or of its client address only (XLB_VIP_F_HASH_SRC_ONLY).
 * ICMP errors hash the reversed quoted tuple, which is this same key. */
static __always_inline __u32 flow_hash(const struct xlb_flow_key *k, bool src_only,
				       __u32 seed)
{
	__u32 w[9];

	if (k->family == XLB_FAMILY_V4) {
		if (src_only)
			return jhash_words(k->src, 1, seed);
		w[0] = k->src[0];
		w[1] = k->dst[0];
		w[2] = ((__u32)k->sport << 16) | k->dport;
		return jhash_words(w, 3, seed);
	}
	if (src_only)
		return jhash_words(k->src, 4, seed);
	__builtin_memcpy(w, k->src, 16);
	__builtin_memcpy(w + 4, k->dst, 16);
	w[8] = ((__u32)k->sport << 16) | k->dport;
	return jhash_words(w, 9, seed);
}

/* The full 5-tuple hash of the packet, computed at most once. It feeds the
 * ring (unless the VIP hashes the source only), the IPv6 flow label and the
 * outer source from a prefix, so all packets of a flow agree on them. */
static __always_inline __u32 packet_hash(struct packet *p, __u32 seed)
{
	if (!p->hash_ok) {
		p->hash = flow_hash(&p->key, false, seed);
		p->hash_ok = 1;
	}
	return p->hash;
}

#endif
