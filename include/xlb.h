/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xlb.h: the one contract between the XDP programs (bpf/) and user space
 * (user/, tests/): every map key and value, every enum, every pinned name.
 *
 * Rules: fixed-width types, network byte order spelled in the type (__be*),
 * explicit padding, no bitfields, sizes pinned by _Static_assert. Change a
 * layout here and both sides change together; there is no second copy.
 */
#ifndef XLB_H
#define XLB_H

#include <linux/types.h>

/* ---- limits and defaults --------------------------------------------- */

#define XLB_MAX_VIPS		512
#define XLB_MAX_RINGS		(2 * XLB_MAX_VIPS)	/* VIP v: 2v (2v + 1: older builds) */
#define XLB_MAX_BACKENDS	65536		/* (VIP, backend) pairs */
/* Flow table capacity: 1M concurrent flows plus half again, so the LRU
 * never has to evict a live flow at 1M, and the kernel's bucket count
 * (the next power of two, 2M) keeps hash chains short. About 200 MB. */
#define XLB_FLOW_TABLE_DEFAULT	((1u << 20) + (1u << 19))
#define XLB_SYN_SRC_TABLE	65536		/* sources tracked by the SYN limit */
#define XLB_RING_SIZE_DEFAULT	65537		/* Maglev M, prime */
#define XLB_RING_SIZE_MAX	1048573		/* largest prime below 2^20 */
#define XLB_MTU_DEFAULT		1500
#define XLB_NO_BACKEND		0xffffffffu	/* ring slot with nobody to pick */

#define XLB_FAMILY_V4		4
#define XLB_FAMILY_V6		6

/* Pinned map names (bpffs: <pin dir>/<name>). */
#define XLB_MAP_CONFIG		"xlb_config"
#define XLB_MAP_VIPS		"xlb_vips"
#define XLB_MAP_VIP_ADDRS	"xlb_vip_addrs"
#define XLB_MAP_RINGS		"xlb_rings"
#define XLB_MAP_BACKENDS	"xlb_backends"
#define XLB_MAP_FLOWS		"xlb_flows"
#define XLB_MAP_REASONS		"xlb_reasons"
#define XLB_MAP_VIP_STATS	"xlb_vip_stats"
#define XLB_MAP_BACKEND_STATS	"xlb_backend_stats"
#define XLB_MAP_SYN_SRC		"xlb_syn_src"
#define XLB_MAP_CPU_STATE	"xlb_cpu_state"

/* ---- global configuration (array map, one entry, key 0) -------------- */

enum xlb_config_flags {
	/* outer source = src_prefix_* with the host bits taken from the flow
	 * hash, so the backend's NIC spreads flows over its RX queues (RSS) */
	XLB_CFG_F_SRC_FROM_PREFIX	= 1u << 0,
};

struct xlb_config {
	__u8	gw_mac[6];		/* next hop toward the backends */
	__u16	mtu;			/* path MTU toward backends, outer */
	__u32	flags;			/* enum xlb_config_flags */
	__be32	src_v4;			/* outer source, IPv4 outer header */
	__be32	src_v6[4];		/* outer source, IPv6 outer header */
	__be32	src_prefix_v4;
	__be32	src_prefix_v6[4];
	__u8	src_prefix_v4_len;
	__u8	src_prefix_v6_len;
	__u8	ttl;			/* outer TTL / hop limit; 0 means 64 */
	__u8	pad0;
	__u32	hash_seed;		/* seeds the 5-tuple hash */
	__u32	new_flow_limit;		/* new flows per second per CPU before
					 * the flow table stops being written;
					 * 0 = no limit */
	__u32	syn_src_rate;		/* SYNs per second per source; 0 = off */
	__u32	syn_src_burst;		/* bucket depth for syn_src_rate */
	__u32	icmp_rate;		/* ICMP errors sent per second per CPU */
	__u32	pad1;
};
_Static_assert(sizeof(struct xlb_config) == 80, "xlb_config layout");

/* ---- VIPs ------------------------------------------------------------ */

/* A service: address, port, protocol. IPv4 lives in addr[0], rest zero. */
struct xlb_vip_key {
	__be32	addr[4];
	__be16	port;
	__u8	proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	__u8	family;			/* XLB_FAMILY_V4 or XLB_FAMILY_V6 */
};
_Static_assert(sizeof(struct xlb_vip_key) == 20, "xlb_vip_key layout");

enum xlb_vip_flags {
	/* hash the client address only: a client's connections all land on
	 * the same backend (like HAProxy's 'balance source') */
	XLB_VIP_F_HASH_SRC_ONLY		= 1u << 0,
};

struct xlb_vip {
	__u32	vip_id;			/* index into xlb_vip_stats */
	__u32	ring_id;		/* index into xlb_rings: the ring, whose
					 * size is its array's max_entries */
	__u32	reserved;		/* 0 */
	__u16	mss;			/* SYN MSS clamp; 0 = from config mtu */
	__u16	flags;			/* enum xlb_vip_flags */
};
_Static_assert(sizeof(struct xlb_vip) == 16, "xlb_vip layout");

/* Key of xlb_vip_addrs: every address that has at least one VIP. Lets the
 * data plane tell "fragment / odd protocol to a VIP address" (drop) from
 * traffic that is simply not ours (pass). Value: number of VIPs (__u32). */
struct xlb_addr_key {
	__be32	addr[4];
	__u8	family;
	__u8	pad[3];
};
_Static_assert(sizeof(struct xlb_addr_key) == 20, "xlb_addr_key layout");

/* ---- Maglev ring ----------------------------------------------------- */

/* One lookup yields both answers: the backend for a new flow (SYN) and the
 * backend for an established flow whose flow-table entry is gone. They
 * differ only while a backend drains: it keeps its est slots and loses its
 * new slots. XLB_NO_BACKEND when nobody qualifies. */
struct xlb_ring_slot {
	__u32	new_backend;
	__u32	est_backend;
};
_Static_assert(sizeof(struct xlb_ring_slot) == 8, "xlb_ring_slot layout");

/* ---- backends -------------------------------------------------------- */

enum xlb_backend_state {
	XLB_BACKEND_UNUSED	= 0,	/* free slot in xlb_backends */
	XLB_BACKEND_ACTIVE	= 1,
	XLB_BACKEND_DRAINING	= 2,	/* established flows only */
	XLB_BACKEND_DOWN	= 3,	/* nothing */
};

/* xlb_backends is indexed by backend id; one entry per (VIP, backend).
 * gen changes whenever the id is given to a new (VIP, backend): a flow
 * entry recorded under another gen is stale and ignored. */
struct xlb_backend {
	__be32	addr[4];
	__u8	family;
	__u8	state;			/* enum xlb_backend_state */
	__u16	gen;
	__u32	vip_id;			/* owning VIP */
};
_Static_assert(sizeof(struct xlb_backend) == 24, "xlb_backend layout");

/* ---- flow table (LRU hash) ------------------------------------------- */

/* Client -> VIP direction, as seen on the wire. */
struct xlb_flow_key {
	__be32	src[4];
	__be32	dst[4];
	__be16	sport;
	__be16	dport;
	__u8	proto;
	__u8	family;
	__u8	pad[2];
};
_Static_assert(sizeof(struct xlb_flow_key) == 40, "xlb_flow_key layout");

struct xlb_flow {
	__u32	backend_id;
	__u16	backend_gen;		/* xlb_backend.gen when recorded */
	__u16	pad;
	__u64	last_seen;		/* kernel jiffies of the last packet, to
					 * the tick (bpf_jiffies64(): reading a
					 * nanosecond clock per packet costs more
					 * than the rest of the lookup) */
};
_Static_assert(sizeof(struct xlb_flow) == 16, "xlb_flow layout");

/* Context of the xlb_clock syscall program (bpf/xlb_clock.bpf.c). */
struct xlb_clock_ctx {
	__u64	jiffies;
	__u32	hz;			/* CONFIG_HZ, 0 if the kernel config is unreadable */
	__u32	pad;
};
_Static_assert(sizeof(struct xlb_clock_ctx) == 16, "xlb_clock_ctx layout");

/* ---- counters (per-CPU arrays; user space sums over CPUs) ------------- */

struct xlb_vip_stats {
	__u64	packets;		/* forwarded to a backend */
	__u64	bytes;			/* inner bytes forwarded */
	__u64	new_flows;		/* flow entries written (a connection is
					 * written by its SYN or its first ACK) */
	__u64	drops;			/* dropped for any reason */
};
_Static_assert(sizeof(struct xlb_vip_stats) == 32, "xlb_vip_stats layout");

struct xlb_backend_stats {
	__u64	packets;
	__u64	bytes;
	__u64	new_flows;
	__u64	pad;
};
_Static_assert(sizeof(struct xlb_backend_stats) == 32, "xlb_backend_stats layout");

/* Per-CPU rate state (xlb_cpu_state, one entry). */
struct xlb_cpu_state {
	__u64	flow_window_ns;		/* start of the current 1 s window */
	__u64	flow_window_count;	/* new flows recorded in it */
	__u64	icmp_tokens_ns;		/* token bucket for generated ICMP,
					 * kept as "time credit" */
	__u64	pad;
};
_Static_assert(sizeof(struct xlb_cpu_state) == 32, "xlb_cpu_state layout");

/* Per-source SYN token bucket (xlb_syn_src, LRU hash keyed by
 * struct xlb_addr_key). */
struct xlb_syn_bucket {
	__u64	last_ns;
	__u64	tokens_milli;		/* tokens x 1000 */
};
_Static_assert(sizeof(struct xlb_syn_bucket) == 16, "xlb_syn_bucket layout");

/*
 * Every verdict that is not "forwarded to a backend" has a reason, and some
 * noteworthy events on the forward path too. One list feeds the enum, the
 * per-CPU counters (xlb_reasons, indexed by the enum), the metrics and the
 * CLI text. X(NAME, "metric_name", kind, "what it means")
 */
#define XLB_REASONS(X)								\
	X(PASS_NON_IP,		"pass_non_ip",		PASS,  "not IPv4/IPv6 (ARP, LLDP, ...)")	\
	X(PASS_NOT_VIP,		"pass_not_vip",		PASS,  "not addressed to a VIP")		\
	X(PASS_OTHER_PROTO,	"pass_other_proto",	PASS,  "not TCP/UDP/ICMP, not to a VIP address") \
	X(PASS_ICMP,		"pass_icmp",		PASS,  "ICMP not about a VIP flow")		\
	X(PASS_FRAGMENT,	"pass_fragment",	PASS,  "fragment not to a VIP address")	\
	X(PASS_VLAN_NESTED,	"pass_vlan_nested",	PASS,  "more than one VLAN tag: left to the kernel") \
	X(DROP_ETH_TRUNC,	"drop_eth_trunc",	DROP,  "truncated Ethernet/VLAN header")	\
	X(DROP_IP_TRUNC,	"drop_ip_trunc",	DROP,  "truncated IP header")			\
	X(DROP_IP_VERSION,	"drop_ip_version",	DROP,  "IP version does not match EtherType") \
	X(DROP_IP_HDR_LEN,	"drop_ip_hdr_len",	DROP,  "IPv4 IHL below 5 or beyond the packet") \
	X(DROP_IP_LEN,		"drop_ip_len",		DROP,  "IP length field inconsistent with the frame") \
	X(DROP_IP_CSUM,		"drop_ip_csum",		DROP,  "IPv4 header checksum wrong (to a VIP)") \
	X(DROP_IP6_EXT,		"drop_ip6_ext",		DROP,  "IPv6 extension headers truncated or too many") \
	X(DROP_FRAGMENT,	"drop_fragment",	DROP,  "fragment to a VIP address")		\
	X(DROP_VIP_PROTO,	"drop_vip_proto",	DROP,  "unsupported protocol to a VIP address") \
	X(DROP_L4_TRUNC,	"drop_l4_trunc",	DROP,  "truncated TCP/UDP header to a VIP address") \
	X(DROP_TCP_DOFF,	"drop_tcp_doff",	DROP,  "TCP data offset below 5 or beyond the packet") \
	X(DROP_UDP_LEN,		"drop_udp_len",		DROP,  "UDP length inconsistent with IP length") \
	X(DROP_ICMP_BAD,	"drop_icmp_bad",	DROP,  "ICMP error to a VIP address with an unusable quote") \
	X(DROP_NO_CONFIG,	"drop_no_config",	DROP,  "no gateway MAC / outer source configured") \
	X(DROP_NO_RING,		"drop_no_ring",		DROP,  "VIP has no ring installed")		\
	X(DROP_NO_BACKEND,	"drop_no_backend",	DROP,  "VIP has no backend for this flow")	\
	X(DROP_BAD_BACKEND,	"drop_bad_backend",	DROP,  "ring points at an unusable backend entry") \
	X(DROP_TOO_BIG,		"drop_too_big",		DROP,  "too big after encapsulation and fragmentation allowed") \
	X(DROP_ICMP_RATE,	"drop_icmp_rate",	DROP,  "too big, ICMP answer rate-limited")	\
	X(DROP_SYN_SRC_RATE,	"drop_syn_src_rate",	DROP,  "SYN over the per-source rate limit")	\
	X(DROP_ADJUST,		"drop_adjust",		DROP,  "no headroom to encapsulate")		\
	X(TX_ICMP_TOO_BIG,	"tx_icmp_too_big",	EVENT, "answered frag-needed / packet-too-big") \
	X(EV_ICMP_FORWARDED,	"icmp_forwarded",	EVENT, "ICMP error forwarded to the flow's backend") \
	X(EV_MSS_CLAMPED,	"mss_clamped",		EVENT, "SYN MSS lowered")			\
	X(EV_MSS_SMALLER,	"mss_already_small",	EVENT, "SYN MSS already at or below the clamp") \
	X(EV_MSS_NO_OPTION,	"mss_no_option",	EVENT, "SYN without an MSS option")		\
	X(EV_FLOW_HIT,		"flow_hit",		EVENT, "flow table hit")			\
	X(EV_FLOW_MISS,		"flow_miss",		EVENT, "non-SYN without a flow entry: ring (established)") \
	X(EV_FLOW_DOWN,		"flow_backend_down",	EVENT, "flow entry pointed at a down backend: re-picked") \
	X(EV_OVERLOAD,		"flow_overload",	EVENT, "new-flow rate over limit: forwarded by ring, not recorded")

#define XLB_REASON_ENUM(name, str, kind, help) XLB_R_##name,
enum xlb_reason {
	XLB_REASONS(XLB_REASON_ENUM)
	XLB_R_MAX
};
#undef XLB_REASON_ENUM

enum xlb_reason_kind {
	XLB_KIND_PASS,
	XLB_KIND_DROP,
	XLB_KIND_EVENT,
};

/* ---- backend side (bpf/xlb_decap.bpf.c) ------------------------------- */

#define XLB_DECAP_MAP_VIPS	"xlb_decap_vips"
#define XLB_DECAP_MAP_STATS	"xlb_decap_stats"
#define XLB_DECAP_MAX_VIPS	1024

/* Key of xlb_decap_vips: a VIP address served by this backend (struct
 * xlb_addr_key). Value: */
struct xlb_decap_vip {
	__u16	mss;			/* SYN-ACK MSS clamp; 0 = leave alone */
	__u16	pad;
	__u32	flags;
};
_Static_assert(sizeof(struct xlb_decap_vip) == 8, "xlb_decap_vip layout");

/*
 * Per-CPU counters of both backend programs (xlb_decap_stats, indexed by the
 * enum; user space sums over CPUs). One list feeds the enum, the counters and
 * the text of `xlb-backend stats`. X(NAME, "metric_name", "what it means")
 */
#define XLB_DECAP_COUNTERS(X)							\
	X(PASS_OTHER,		"pass_other",		"not an encapsulated packet")	\
	X(DECAPSULATED,		"decapsulated",		"outer header stripped, inner packet passed to the stack") \
	X(NOT_LOCAL_VIP,	"pass_not_local_vip",	"encapsulated, inner destination not a local VIP") \
	X(DROP_MALFORMED,	"drop_malformed",	"encapsulated for a local VIP but inconsistent") \
	X(SYNACK_CLAMPED,	"synack_mss_clamped",	"tc egress: SYN-ACK MSS lowered")	\
	X(SYNACK_UNCHANGED,	"synack_mss_unchanged",	"tc egress: SYN-ACK MSS already small, or no option") \
	X(DROP_FRAGMENT,	"drop_fragment",	"outer IPv4 fragment for a local VIP (path MTU to this backend too small?)") \
	X(ECN_CE,		"ecn_ce_copied",	"outer ECN CE mark copied to the inner header")

#define XLB_DECAP_COUNTER_ENUM(name, str, help) XLB_DECAP_##name,
enum xlb_decap_counter {
	XLB_DECAP_COUNTERS(XLB_DECAP_COUNTER_ENUM)
	XLB_DECAP_COUNTER_MAX
};
#undef XLB_DECAP_COUNTER_ENUM

#endif /* XLB_H */
