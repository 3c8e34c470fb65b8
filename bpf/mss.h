/* SPDX-License-Identifier: GPL-2.0-only */
/* mss.h: find and lower the MSS option of a TCP SYN or SYN-ACK. */
#ifndef XLB_BPF_MSS_H
#define XLB_BPF_MSS_H

#include "common.h"
#include "csum.h"

#define TCPOPT_EOL	0
#define TCPOPT_NOP	1
#define TCPOPT_MSS	2
#define TCPOLEN_MSS	4
/* 40 bytes of options: at most 40 one-byte NOPs to step over. */
#define TCP_MAX_OPTS	40

/* TCP options, copied out of the packet so that walking them costs the
 * verifier scalar ranges rather than packet-pointer states. */
struct tcp_opts {
	__u8	b[64];			/* 40 used; 64 so an index & 63 is in bounds */
	__u32	len;
};

/* Offset within OPTS of the MSS option's 2-byte value, or -1 if there is
 * none (or the options are malformed: then we leave them alone). */
static __always_inline int tcp_opts_find_mss(const struct tcp_opts *o)
{
	__u64 off = 0, end = o->len;
	__u8 kind, len;

	/* constant bounds on off, so the verifier's states for it stay few */
	if (end > TCP_MAX_OPTS)
		return -1;
	for (int i = 0; i < TCP_MAX_OPTS; i++) {
		if (off >= TCP_MAX_OPTS - 1 || off + 2 > end)
			return -1;
		kind = o->b[off & 63];
		len = o->b[(off + 1) & 63];
		if (kind == TCPOPT_MSS)
			return len == TCPOLEN_MSS && off + TCPOLEN_MSS <= end ? (int)off + 2 : -1;
		if (kind == TCPOPT_EOL)
			return -1;
		if (kind == TCPOPT_NOP)
			len = 1;
		else if (len < 2)
			return -1;
		off += len;
	}
	return -1;
}

enum mss_result {
	MSS_CLAMPED,
	MSS_ALREADY_SMALL,
	MSS_NO_OPTION,
	MSS_NOT_FIRST,			/* fast path only: walk the options */
};

/* The RFC 1624 update for a 16-bit field at byte offset OFF of the summed
 * data: at an odd offset it straddles two words, as if its bytes swapped. */
static __always_inline void csum_replace_field(__sum16 *sum, __be16 old, __be16 new, __u32 off)
{
	if (off & 1) {
		old = (__be16)(old >> 8 | old << 8);
		new = (__be16)(new >> 8 | new << 8);
	}
	csum_replace2(sum, old, new);
}

#endif
