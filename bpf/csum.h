/* SPDX-License-Identifier: GPL-2.0-only */
/* csum.h: Internet checksums: IPv4 header sums and RFC 1624 updates. */
#ifndef XLB_BPF_CSUM_H
#define XLB_BPF_CSUM_H

#include "common.h"

/* One's complement sum of up to 2^32 16/32-bit words, folded to 16 bits. */
static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Checksum for a 20-byte IPv4 header whose check field is zero. */
static __always_inline __u16 ipv4_hdr_csum(const struct iphdr *iph)
{
	const __u32 *w = (const __u32 *)iph;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 4); i++)
		sum += w[i];
	return csum_fold(sum);
}

/* Is the IPv4 header checksum (options included) right? The caller has
 * checked the first 20 bytes are in the packet. */
static __always_inline bool ipv4_hdr_csum_ok(const struct iphdr *iph, void *data_end)
{
	const __u32 *w = (const __u32 *)iph;
	__u32 words = iph->ihl;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < 5; i++)
		sum += w[i];
#pragma unroll
	for (int i = 5; i < 15; i++) {
		if (i < (int)words) {
			if ((void *)(w + i + 1) > data_end)
				return false;
			sum += w[i];
		}
	}
	return csum_fold(sum) == 0;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word m -> m'. */
static __always_inline void csum_replace2(__sum16 *sum, __be16 old, __be16 new)
{
	__u64 s = (__u16)~*sum;

	s += (__u16)~old;
	s += new;
	*sum = csum_fold(s);
}

#endif
