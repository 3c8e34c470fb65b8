/* SPDX-License-Identifier: GPL-2.0-only */
/* common.h: includes and small helpers every xlb BPF program shares. */
#ifndef XLB_BPF_COMMON_H
#define XLB_BPF_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xlb.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD	0x88A8
#endif
#define IP_MF		0x2000
#define IP_DF		0x4000
#define IP_OFFSET	0x1FFF

#define NSEC_PER_SEC	1000000000ull

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

struct vlan_hdr {
	__be16	tci;
	__be16	proto;
};

static __always_inline bool addr_is_zero(const __be32 a[4])
{
	return (a[0] | a[1] | a[2] | a[3]) == 0;
}

static __always_inline bool addr_equal(const __be32 a[4], const __be32 b[4])
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}

static __always_inline bool mac_is_zero(const __u8 m[ETH_ALEN])
{
	return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0;
}

#endif
