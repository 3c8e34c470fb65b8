/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_decap: the backend's programs (bpf/xlb_decap.bpf.c) run with
 * BPF_PROG_TEST_RUN on hand-built frames.
 *
 *   xlb_decap (XDP): every encapsulation the load balancer makes (IPv4/IPv6
 *   inner x IPv4/IPv6 outer, docs/datapath.md step 11) comes out as Ethernet
 *   + the inner packet byte for byte; what is not ours passes untouched;
 *   what is ours but inconsistent is dropped.
 *   xlb_synack (tc): a SYN-ACK from a local VIP gets its MSS lowered with a
 *   TCP checksum that still verifies; nothing else is touched.
 *
 * One object, nothing pinned; each case checks verdict, bytes out and the
 * counter deltas (xlb_decap_stats).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "xlb.h"
#include "xlb_decap.skel.h"
#include "pkt.h"
#include "bpftest.h"
#include "tap.h"

/* ---- addresses (benchmarking range / documentation prefix only) --------- */

#define CLIENT4		"198.18.0.10"
#define CLIENT6		"2001:db8:c::10"
#define VIP4		"198.18.1.1"
#define VIP6		"2001:db8:1::1"
#define OTHER4		"198.18.2.2"	/* not a VIP here */
#define OTHER6		"2001:db8:2::2"
#define LB4		"198.18.255.1"	/* outer source */
#define LB6		"2001:db8:ff::1"
#define BACKEND4	"198.19.0.1"	/* outer destination: this host */
#define BACKEND6	"2001:db8:b::1"
#define VPORT		443
#define VIP_MSS		1200

/* ---- the loaded object ----------------------------------------------------- */

static struct xlb_decap_bpf *skel;
static int xdp_fd, tc_fd, vips_fd, stats_fd, ncpus;

static void load_programs(void)
{
	int err;

	bpftest_init();
	skel = xlb_decap_bpf__open();
	if (!skel)
		bail_out("xlb_decap_bpf__open: %s", strerror(errno));
	bpftest_unpin(skel->obj);
	err = xlb_decap_bpf__load(skel);
	if (err)
		bail_out("xlb_decap_bpf__load: %s", strerror(-err));
	xdp_fd = bpf_program__fd(skel->progs.xlb_decap);
	tc_fd = bpf_program__fd(skel->progs.xlb_synack);
	vips_fd = bpf_map__fd(skel->maps.xlb_decap_vips);
	stats_fd = bpf_map__fd(skel->maps.xlb_decap_stats);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		bail_out("libbpf_num_possible_cpus: %d", ncpus);
}

/* ---- maps ------------------------------------------------------------------ */

static struct xlb_addr_key addr_key(const char *addr)
{
	struct xlb_addr_key k;
	uint8_t a[16];

	memset(&k, 0, sizeof(k));
	k.family = (uint8_t)pkt_addr(addr, a);
	memcpy(k.addr, a, k.family == 4 ? 4 : 16);
	return k;
}

static void vip_set(const char *addr, uint16_t mss)
{
	struct xlb_addr_key k = addr_key(addr);
	struct xlb_decap_vip v = { .mss = mss };

	if (bpf_map_update_elem(vips_fd, &k, &v, BPF_ANY))
		bail_out("vip_set %s: %s", addr, strerror(errno));
}

static void vips_reset(void)
{
	struct xlb_addr_key k;

	while (bpf_map_get_next_key(vips_fd, NULL, &k) == 0)
		if (bpf_map_delete_elem(vips_fd, &k))
			bail_out("vips_reset: %s", strerror(errno));
	vip_set(VIP4, VIP_MSS);
	vip_set(VIP6, VIP_MSS);
}

static void stats_read(uint64_t out[XLB_DECAP_COUNTER_MAX])
{
	uint64_t v[ncpus];

	for (uint32_t i = 0; i < XLB_DECAP_COUNTER_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(stats_fd, &i, v))
			bail_out("reading xlb_decap_stats: %s", strerror(errno));
		for (int c = 0; c < ncpus; c++)
			out[i] += v[c];
	}
}

static const char *counter_name(int c)
{
#define NAME(name, str, help) str,
	static const char *names[] = { XLB_DECAP_COUNTERS(NAME) };
#undef NAME
	return c >= 0 && c < XLB_DECAP_COUNTER_MAX ? names[c] : "?";
}

/* ---- running ----------------------------------------------------------------- */

struct result {
	int err;
	uint32_t retval;
	uint8_t out[PKT_MAX + 256];
	uint32_t out_len;
	uint64_t delta[XLB_DECAP_COUNTER_MAX];
};
static struct result R;

static void run(int prog_fd, const uint8_t *in, size_t len)
{
	uint64_t before[XLB_DECAP_COUNTER_MAX], after[XLB_DECAP_COUNTER_MAX];
	uint8_t copy[PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o);

	memcpy(copy, in, len);		/* the kernel must not see our buffer change */
	stats_read(before);
	memset(R.out, 0, sizeof(R.out));
	o.data_in = copy;
	o.data_size_in = (uint32_t)len;
	o.data_out = R.out;
	o.data_size_out = sizeof(R.out);
	o.repeat = 1;
	R.err = bpf_prog_test_run_opts(prog_fd, &o) ? -errno : 0;
	R.retval = o.retval;
	R.out_len = o.data_size_out;
	stats_read(after);
	for (int i = 0; i < XLB_DECAP_COUNTER_MAX; i++)
		R.delta[i] = after[i] - before[i];
	if (R.err)
		diag("%s: bpf_prog_test_run_opts: %s", case_name, strerror(-R.err));
}

static const char *xdp_name(uint32_t v)
{
	static const char *n[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT" };

	return v < 5 ? n[v] : "?";
}

static void check_verdict_xdp(uint32_t want)
{
	if (!ok(R.err == 0 && R.retval == want, "%s: %s", case_name, xdp_name(want)))
		diag("  got %s (%u)", xdp_name(R.retval), R.retval);
}

static void check_out(const uint8_t *want, size_t len)
{
	if (R.out_len != len) {
		ok(false, "%s: output bytes", case_name);
		diag("  output is %u bytes, want %zu", R.out_len, len);
		return;
	}
	is_mem(R.out, want, len, "%s: output bytes", case_name);
}

#define C(counter)	(1u << (counter))
#define NONE		0u

/* Exactly the counters in MASK moved, each by one. */
static void check_counters(uint32_t mask)
{
	bool good = true;
	char names[256] = "none";
	size_t len = 0;

	for (int i = 0; i < XLB_DECAP_COUNTER_MAX; i++) {
		uint64_t want = !!(mask & C(i));

		if (want && len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						len ? " " : "", counter_name(i));

		if (R.delta[i] != want) {
			if (good)
				ok(false, "%s: counters", case_name);
			good = false;
			diag("  %s moved by %llu, want %llu", counter_name(i),
			     (unsigned long long)R.delta[i], (unsigned long long)want);
		}
	}
	if (good)
		ok(true, "%s: counters (%s)", case_name, names);
}

/* Verdict, output and counter for an XDP case (WANT NULL: output = input). */
static void expect_xdp(const uint8_t *in, size_t in_len, uint32_t verdict,
		       const uint8_t *want, size_t want_len, uint32_t counters)
{
	run(xdp_fd, in, in_len);
	check_verdict_xdp(verdict);
	if (verdict != XDP_DROP) {
		if (want)
			check_out(want, want_len);
		else
			check_out(in, in_len);
	}
	check_counters(counters);
}

/* ---- frames ------------------------------------------------------------------ */

static uint8_t payload[256];

static const char *vip_of(int f) { return f == 4 ? VIP4 : VIP6; }
static const char *other_of(int f) { return f == 4 ? OTHER4 : OTHER6; }
static const char *client_of(int f) { return f == 4 ? CLIENT4 : CLIENT6; }

static const char *combo(int inner, int outer)
{
	static const char *n[2][2] = { { "v4in4", "v4in6" }, { "v6in4", "v6in6" } };

	return n[inner == 6][outer == 6];
}

/* A client's TCP segment to DST as an IP packet (no Ethernet). */
static size_t inner_packet(int family, const char *dst, uint8_t tos, uint8_t *out)
{
	struct pkt_spec s = pkt_spec_tcp(client_of(family), 40000, dst, VPORT);
	struct pkt p;

	s.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
	s.tos = tos;
	s.payload = payload;
	s.payload_len = 100;
	if (pkt_build(&s, &p))
		bail_out("inner_packet: does not fit");
	memcpy(out, p.buf + p.l3_off, p.ip_len);
	return p.ip_len;
}

/* The load balancer's output: Ethernet (+ tag), outer header, inner packet. */
struct frame {
	struct pkt p;		/* p.l3_off: outer header; p.l4_off: inner packet */
	uint8_t inner[PKT_MAX];
	size_t inner_len;
	int inner_family, outer_family;
};

struct encap_opts {
	uint16_t vlan_tci;	/* 0: untagged */
	uint8_t outer_tos;
	uint8_t ip_opts_len;	/* IPv4 outer options (multiple of 4) */
	size_t pad_to;
};

static void encap(struct frame *f, int outer, const uint8_t *inner, size_t inner_len,
		  int inner_family, const struct encap_opts *o)
{
	struct pkt_spec s = pkt_spec_udp(outer == 4 ? LB4 : LB6, 0,
					 outer == 4 ? BACKEND4 : BACKEND6, 0);

	s.proto = inner_family == 4 ? PKT_IPPROTO_IPIP : PKT_IPPROTO_IPV6;
	s.payload = inner;
	s.payload_len = inner_len;
	s.tos = o ? o->outer_tos : 0;
	if (o && o->vlan_tci) {
		s.vlan_tpid[0] = PKT_ETH_P_8021Q;
		s.vlan_tci[0] = o->vlan_tci;
	}
	if (o && o->ip_opts_len) {
		memset(s.ip_opts, PKT_TCPOPT_NOP, o->ip_opts_len);	/* IPOPT_NOP is 1 too */
		s.ip_opts_len = o->ip_opts_len;
	}
	if (o)
		s.pad_to = o->pad_to;
	if (pkt_build(&s, &f->p))
		bail_out("encap: does not fit");
	memcpy(f->inner, inner, inner_len);
	f->inner_len = inner_len;
	f->inner_family = inner_family;
	f->outer_family = outer;
}

/* Client -> DST, encapsulated toward this backend. */
static void frame_to(struct frame *f, int inner_family, int outer, const char *dst,
		     const struct encap_opts *o)
{
	uint8_t in[PKT_MAX];
	size_t n = inner_packet(inner_family, dst, 0, in);

	encap(f, outer, in, n, inner_family, o);
}

/* What decapsulation must give: the frame's Ethernet header (and tag) with
 * the inner EtherType, then the inner packet (then any trailer). */
static size_t decapsulated(const struct frame *f, uint8_t *out)
{
	size_t l2 = f->p.l3_off, trailer = f->p.len - (f->p.l3_off + f->p.ip_len);

	memcpy(out, f->p.buf, l2);
	pkt_put16(out + l2 - 2, f->inner_family == 4 ? PKT_ETH_P_IP : PKT_ETH_P_IPV6);
	memcpy(out + l2, f->inner, f->inner_len);
	memcpy(out + l2 + f->inner_len, f->p.buf + f->p.l3_off + f->p.ip_len, trailer);
	return l2 + f->inner_len + trailer;
}

static void fix_ip4_csum(uint8_t *ip)
{
	size_t hlen = (size_t)(ip[0] & 0xf) * 4;

	ip[10] = ip[11] = 0;
	pkt_put16(ip + 10, pkt_csum(ip, hlen < 20 ? 20 : hlen));
}

static uint8_t *outer_hdr(struct frame *f) { return f->p.buf + f->p.l3_off; }
static uint8_t *inner_hdr(struct frame *f) { return f->p.buf + f->p.l4_off; }

/* ---- XDP: decapsulation ----------------------------------------------------- */

/* Each combination the load balancer makes comes out as Ethernet + the
 * inner packet, unchanged, with the inner family's EtherType. */
static void test_decap_combo(int inner, int outer)
{
	uint8_t want[PKT_MAX];
	struct frame f;
	size_t n;

	vips_reset();
	T("%s: to a local VIP", combo(inner, outer));
	frame_to(&f, inner, outer, vip_of(inner), NULL);
	n = decapsulated(&f, want);
	expect_xdp(f.p.buf, f.p.len, XDP_PASS, want, n, C(XLB_DECAP_DECAPSULATED));
}

/* An 802.1Q tag stays, in front of the inner packet. */
static void test_decap_vlan(int inner, int outer)
{
	struct encap_opts o = { .vlan_tci = 100 };
	uint8_t want[PKT_MAX];
	struct frame f;
	size_t n;

	vips_reset();
	T("%s: VLAN tag kept", combo(inner, outer));
	frame_to(&f, inner, outer, vip_of(inner), &o);
	n = decapsulated(&f, want);
	expect_xdp(f.p.buf, f.p.len, XDP_PASS, want, n, C(XLB_DECAP_DECAPSULATED));
}

/* An outer IPv4 header with options is stripped whole. */
static void test_decap_outer_options(int inner)
{
	struct encap_opts o = { .ip_opts_len = 8 };
	uint8_t want[PKT_MAX];
	struct frame f;
	size_t n;

	vips_reset();
	T("%s: outer IPv4 options stripped", combo(inner, 4));
	frame_to(&f, inner, 4, vip_of(inner), &o);
	n = decapsulated(&f, want);
	expect_xdp(f.p.buf, f.p.len, XDP_PASS, want, n, C(XLB_DECAP_DECAPSULATED));
}

/* Ethernet padding after the outer packet is left for the stack to trim
 * (it trims to the inner length). */
static void test_decap_padding(int inner, int outer)
{
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct pkt_spec s = pkt_spec_tcp(client_of(inner), 40000, vip_of(inner), VPORT);
	struct encap_opts o;
	struct frame f;
	struct pkt p;
	size_t n;

	vips_reset();
	T("%s: small packet, Ethernet padding", combo(inner, outer));
	s.tcp_flags = PKT_TCP_ACK;
	if (pkt_build(&s, &p))
		bail_out("padding: build");
	memcpy(in, p.buf + p.l3_off, p.ip_len);
	memset(&o, 0, sizeof(o));
	o.pad_to = 14 + (outer == 4 ? 20 : 40) + p.ip_len + 6;
	if (o.pad_to < 60)
		o.pad_to = 60;
	encap(&f, outer, in, p.ip_len, inner, &o);
	n = decapsulated(&f, want);
	expect_xdp(f.p.buf, f.p.len, XDP_PASS, want, n, C(XLB_DECAP_DECAPSULATED));
}

/* RFC 6040: a CE mark the outer header picked up on the way is copied into
 * an ECN-capable inner packet (IPv4 checksum updated); CE over a packet
 * that was never ECN-capable is dropped, as the kernel's tunnels do. */
static void test_decap_ecn(int inner, int outer)
{
	struct encap_opts o = { .outer_tos = 0x03 };	/* CE */
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct frame f;
	size_t n;

	vips_reset();
	T("%s: outer CE copied into an ECT(0) inner packet", combo(inner, outer));
	n = inner_packet(inner, vip_of(inner), 0x02, in);		/* ECT(0) */
	encap(&f, outer, in, n, inner, &o);
	/* the expected inner: the same packet built with CE */
	f.inner_len = inner_packet(inner, vip_of(inner), 0x03, f.inner);
	n = decapsulated(&f, want);
	expect_xdp(f.p.buf, f.p.len, XDP_PASS, want, n,
		   C(XLB_DECAP_DECAPSULATED) | C(XLB_DECAP_ECN_CE));
	if (inner == 4)
		ok(pkt_ip4_csum_ok(R.out + 14, 20), "%s: inner IPv4 checksum valid", case_name);

	T("%s: outer CE over a not-ECT inner packet", combo(inner, outer));
	n = inner_packet(inner, vip_of(inner), 0x00, in);
	encap(&f, outer, in, n, inner, &o);
	expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));
}

/* ---- XDP: not ours ------------------------------------------------------------ */

/* Plain traffic, even to a VIP address, is the kernel's business. */
static void test_not_encapsulated(int family)
{
	struct pkt_spec s = pkt_spec_tcp(client_of(family), 40000, vip_of(family), VPORT);
	struct pkt p;

	vips_reset();
	T("IPv%d TCP to a VIP, not encapsulated", family);
	s.tcp_flags = PKT_TCP_SYN;
	pkt_build(&s, &p);
	expect_xdp(p.buf, p.len, XDP_PASS, NULL, 0, C(XLB_DECAP_PASS_OTHER));

	T("IPv%d UDP, not encapsulated", family);
	s = pkt_spec_udp(client_of(family), 5353, other_of(family), 53);
	pkt_build(&s, &p);
	expect_xdp(p.buf, p.len, XDP_PASS, NULL, 0, C(XLB_DECAP_PASS_OTHER));

	T("IPv%d GRE (protocol 47), not IP-in-IP", family);
	s = pkt_spec_udp(family == 4 ? LB4 : LB6, 0, family == 4 ? BACKEND4 : BACKEND6, 0);
	s.proto = PKT_IPPROTO_GRE;
	s.payload = payload;
	s.payload_len = 64;
	pkt_build(&s, &p);
	expect_xdp(p.buf, p.len, XDP_PASS, NULL, 0, C(XLB_DECAP_PASS_OTHER));
}

/* ARP and a runt frame pass untouched. */
static void test_not_ip(void)
{
	struct pkt_spec s;
	struct pkt p;

	vips_reset();
	T("ARP");
	memset(&s, 0, sizeof(s));
	s.eth_proto = PKT_ETH_P_ARP;
	s.payload = payload;
	s.payload_len = 28;
	s.pad_to = 60;
	pkt_build(&s, &p);
	expect_xdp(p.buf, p.len, XDP_PASS, NULL, 0, C(XLB_DECAP_PASS_OTHER));

	T("runt: 14-byte IPv4 frame");
	s.eth_proto = PKT_ETH_P_IP;
	s.payload_len = 0;
	s.pad_to = 0;
	pkt_build(&s, &p);
	expect_xdp(p.buf, p.len, XDP_PASS, NULL, 0, C(XLB_DECAP_PASS_OTHER));
}

/* Encapsulated, but the inner destination is not a local VIP: possibly
 * someone else's tunnel, left to the kernel untouched. */
static void test_not_local_vip(int inner, int outer)
{
	struct frame f;

	vips_reset();
	T("%s: inner destination not a local VIP", combo(inner, outer));
	frame_to(&f, inner, outer, other_of(inner), NULL);
	expect_xdp(f.p.buf, f.p.len, XDP_PASS, NULL, 0, C(XLB_DECAP_NOT_LOCAL_VIP));

	/* and then whether the outer header is sound is not ours to judge */
	if (outer == 4) {
		T("%s: bad outer checksum, not a local VIP", combo(inner, outer));
		outer_hdr(&f)[10] ^= 0x55;
		expect_xdp(f.p.buf, f.p.len, XDP_PASS, NULL, 0, C(XLB_DECAP_NOT_LOCAL_VIP));
	}
}

/* A VIP of the other family with the same bytes is not a match. */
static void test_family_in_key(void)
{
	struct frame f;
	struct xlb_addr_key k = addr_key(VIP4);

	vips_reset();
	T("v4in4: the inner destination's bytes match only an IPv6 VIP");
	bpf_map_delete_elem(vips_fd, &k);
	k.family = 6;				/* same address bytes, family 6 */
	bpf_map_update_elem(vips_fd, &k, &(struct xlb_decap_vip){ .mss = 0 }, BPF_ANY);
	frame_to(&f, 4, 4, VIP4, NULL);
	expect_xdp(f.p.buf, f.p.len, XDP_PASS, NULL, 0, C(XLB_DECAP_NOT_LOCAL_VIP));
}

/* ---- XDP: ours, but inconsistent ----------------------------------------------- */

static void test_malformed(int inner, int outer)
{
	struct frame f;
	uint8_t *o, *i;

	vips_reset();
	if (outer == 4) {
		T("%s: outer IHL 4", combo(inner, outer));
		frame_to(&f, inner, outer, vip_of(inner), NULL);
		o = outer_hdr(&f);
		o[0] = 0x44;
		fix_ip4_csum(o);
		expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));

		T("%s: outer IHL 15, beyond the frame's header", combo(inner, outer));
		frame_to(&f, inner, outer, vip_of(inner), NULL);
		f.p.len = f.p.l3_off + 60 + 10;		/* the inner header is cut */
		o = outer_hdr(&f);
		o[0] = 0x4f;
		expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));

		T("%s: outer total length beyond the frame", combo(inner, outer));
		frame_to(&f, inner, outer, vip_of(inner), NULL);
		o = outer_hdr(&f);
		pkt_put16(o + 2, (uint16_t)(pkt_get16(o + 2) + 1));
		fix_ip4_csum(o);
		expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));

		T("%s: outer total length shorter than the inner packet", combo(inner, outer));
		frame_to(&f, inner, outer, vip_of(inner), NULL);
		o = outer_hdr(&f);
		pkt_put16(o + 2, (uint16_t)(pkt_get16(o + 2) - 1));
		fix_ip4_csum(o);
		expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));

		T("%s: outer checksum wrong", combo(inner, outer));
		frame_to(&f, inner, outer, vip_of(inner), NULL);
		outer_hdr(&f)[10] ^= 0x55;
		expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));

		/* XDP sees fragments before reassembly: a first fragment can't be
		 * decapsulated alone; later ones carry no inner header at all */
		T("%s: outer first fragment (MF)", combo(inner, outer));
		frame_to(&f, inner, outer, vip_of(inner), NULL);
		o = outer_hdr(&f);
		pkt_put16(o + 6, PKT_IP_MF);
		fix_ip4_csum(o);
		expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_FRAGMENT));

		T("%s: outer later fragment (offset 185)", combo(inner, outer));
		frame_to(&f, inner, outer, vip_of(inner), NULL);
		o = outer_hdr(&f);
		pkt_put16(o + 6, 185);
		fix_ip4_csum(o);
		expect_xdp(f.p.buf, f.p.len, XDP_PASS, NULL, 0, C(XLB_DECAP_PASS_OTHER));
	} else {
		T("%s: outer payload length beyond the frame", combo(inner, outer));
		frame_to(&f, inner, outer, vip_of(inner), NULL);
		o = outer_hdr(&f);
		pkt_put16(o + 4, (uint16_t)(pkt_get16(o + 4) + 1));
		expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));

		T("%s: outer payload length shorter than the inner packet", combo(inner, outer));
		frame_to(&f, inner, outer, vip_of(inner), NULL);
		o = outer_hdr(&f);
		pkt_put16(o + 4, (uint16_t)(pkt_get16(o + 4) - 1));
		expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));
	}

	T("%s: inner version does not match the outer protocol", combo(inner, outer));
	frame_to(&f, inner, outer, vip_of(inner), NULL);
	i = inner_hdr(&f);
	i[0] = (uint8_t)((inner == 4 ? 0x60 : 0x40) | (i[0] & 0x0f));
	expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));

	T("%s: inner length beyond the outer payload", combo(inner, outer));
	frame_to(&f, inner, outer, vip_of(inner), NULL);
	i = inner_hdr(&f);
	if (inner == 4) {
		pkt_put16(i + 2, (uint16_t)(pkt_get16(i + 2) + 1));
		fix_ip4_csum(i);
	} else {
		pkt_put16(i + 4, (uint16_t)(pkt_get16(i + 4) + 1));
	}
	expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));

	if (inner == 4) {
		T("%s: inner IHL 4", combo(inner, outer));
		frame_to(&f, inner, outer, vip_of(inner), NULL);
		i = inner_hdr(&f);
		i[0] = 0x44;
		expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));
	}

	T("%s: frame ends inside the inner header", combo(inner, outer));
	frame_to(&f, inner, outer, vip_of(inner), NULL);
	f.p.len = f.p.l4_off + 12;
	expect_xdp(f.p.buf, f.p.len, XDP_DROP, NULL, 0, C(XLB_DECAP_DROP_MALFORMED));
}

/* ---- tc: SYN-ACK MSS clamp ----------------------------------------------------- */

static const char *tc_name(uint32_t v)
{
	return v == (uint32_t)TC_ACT_UNSPEC ? "TC_ACT_UNSPEC" : v == TC_ACT_OK ? "TC_ACT_OK"
	       : v == TC_ACT_SHOT ? "TC_ACT_SHOT" : "?";
}

/* A SYN-ACK from SRC (a VIP or not) to the client, with OPTS. */
static void synack(struct pkt *p, int family, const char *src, uint8_t flags,
		   const uint8_t *opts, size_t opts_len, uint16_t vlan)
{
	struct pkt_spec s = pkt_spec_tcp(src, VPORT, client_of(family), 40000);

	s.tcp_flags = flags;
	if (opts_len)
		pkt_opt_raw(&s, opts, opts_len);
	if (vlan) {
		s.vlan_tpid[0] = PKT_ETH_P_8021Q;
		s.vlan_tci[0] = vlan;
	}
	if (pkt_build(&s, p))
		bail_out("synack: does not fit");
}

static bool tcp_csum_ok(const uint8_t *frame, const struct pkt *p)
{
	const uint8_t *ip = frame + p->l3_off;
	uint8_t src[16] = { 0 }, dst[16] = { 0 };

	if (p->family == 4) {
		memcpy(src, ip + 12, 4);
		memcpy(dst, ip + 16, 4);
	} else {
		memcpy(src, ip + 8, 16);
		memcpy(dst, ip + 24, 16);
	}
	return pkt_l4_csum_ok(p->family, src, dst, PKT_IPPROTO_TCP, frame + p->l4_off,
			      p->l3_off + p->ip_len - p->l4_off);
}

/* Run the tc program; expect TC_ACT_UNSPEC (later filters still run) and
 * either the MSS lowered to WANT_MSS (everything else the same, checksum
 * valid) or nothing changed. */
static void expect_tc(const struct pkt *p, int want_mss, uint32_t counters)
{
	uint8_t want[PKT_MAX];
	size_t off;
	int mss;

	run(tc_fd, p->buf, p->len);
	if (!ok(R.err == 0 && R.retval == (uint32_t)TC_ACT_UNSPEC, "%s: TC_ACT_UNSPEC", case_name))
		diag("  got %s (%u)", tc_name(R.retval), R.retval);
	memcpy(want, p->buf, p->len);
	if (want_mss >= 0) {
		mss = pkt_tcp_mss(p->buf + p->l4_off, p->pl_off - p->l4_off, &off);
		if (mss < 0)
			bail_out("%s: the test packet has no MSS", case_name);
		pkt_put16(want + p->l4_off + off, (uint16_t)want_mss);
		/* the checksum field is checked by recomputation below */
		memcpy(want + p->l4_off + 16, R.out + p->l4_off + 16, 2);
		ok(R.out_len == p->len && tcp_csum_ok(R.out, p),
		   "%s: TCP checksum valid afterwards", case_name);
	}
	check_out(want, p->len);
	check_counters(counters);
}

static const uint8_t OPTS_LINUX[] = {		/* what Linux sends in a SYN-ACK */
	PKT_TCPOPT_MSS, 4, 0x05, 0xb4,			/* 1460 */
	PKT_TCPOPT_SACK_PERM, 2,
	PKT_TCPOPT_TS, 10, 0, 0, 0, 1, 0, 0, 0, 2,
	PKT_TCPOPT_NOP,
	PKT_TCPOPT_WSCALE, 3, 7,
};
static const uint8_t OPTS_ODD[] = {		/* MSS value at an odd offset */
	PKT_TCPOPT_NOP,
	PKT_TCPOPT_MSS, 4, 0x23, 0x8c,			/* 9100 */
	PKT_TCPOPT_NOP, PKT_TCPOPT_NOP, PKT_TCPOPT_NOP,
};
static const uint8_t OPTS_SMALL[] = { PKT_TCPOPT_MSS, 4, 0x03, 0xe8 };	/* 1000 */
static const uint8_t OPTS_NO_MSS[] = {
	PKT_TCPOPT_SACK_PERM, 2, PKT_TCPOPT_NOP, PKT_TCPOPT_WSCALE, 3, 7,
};

static void test_synack(int family)
{
	const char *vip = vip_of(family);
	struct pkt p;

	vips_reset();
	T("IPv%d SYN-ACK from a VIP, MSS 1460 -> %d", family, VIP_MSS);
	synack(&p, family, vip, PKT_TCP_SYN | PKT_TCP_ACK, OPTS_LINUX, sizeof(OPTS_LINUX), 0);
	expect_tc(&p, VIP_MSS, C(XLB_DECAP_SYNACK_CLAMPED));

	T("IPv%d SYN-ACK from a VIP, MSS at an odd offset", family);
	synack(&p, family, vip, PKT_TCP_SYN | PKT_TCP_ACK, OPTS_ODD, sizeof(OPTS_ODD), 0);
	expect_tc(&p, VIP_MSS, C(XLB_DECAP_SYNACK_CLAMPED));

	T("IPv%d SYN-ACK from a VIP, VLAN tagged", family);
	synack(&p, family, vip, PKT_TCP_SYN | PKT_TCP_ACK, OPTS_LINUX, sizeof(OPTS_LINUX), 7);
	expect_tc(&p, VIP_MSS, C(XLB_DECAP_SYNACK_CLAMPED));

	T("IPv%d SYN-ACK from a VIP with its own, smaller MSS", family);
	vip_set(vip, 1000);
	synack(&p, family, vip, PKT_TCP_SYN | PKT_TCP_ACK, OPTS_ODD, sizeof(OPTS_ODD), 0);
	expect_tc(&p, 1000, C(XLB_DECAP_SYNACK_CLAMPED));
	vips_reset();

	T("IPv%d SYN-ACK from a non-VIP address", family);
	synack(&p, family, other_of(family), PKT_TCP_SYN | PKT_TCP_ACK, OPTS_LINUX,
	       sizeof(OPTS_LINUX), 0);
	expect_tc(&p, -1, NONE);

	T("IPv%d SYN-ACK from a VIP, MSS already small", family);
	synack(&p, family, vip, PKT_TCP_SYN | PKT_TCP_ACK, OPTS_SMALL, sizeof(OPTS_SMALL), 0);
	expect_tc(&p, -1, C(XLB_DECAP_SYNACK_UNCHANGED));

	T("IPv%d SYN-ACK from a VIP, no MSS option", family);
	synack(&p, family, vip, PKT_TCP_SYN | PKT_TCP_ACK, OPTS_NO_MSS, sizeof(OPTS_NO_MSS), 0);
	expect_tc(&p, -1, C(XLB_DECAP_SYNACK_UNCHANGED));

	T("IPv%d SYN-ACK from a VIP, no options at all", family);
	synack(&p, family, vip, PKT_TCP_SYN | PKT_TCP_ACK, NULL, 0, 0);
	expect_tc(&p, -1, C(XLB_DECAP_SYNACK_UNCHANGED));

	T("IPv%d SYN-ACK from a VIP whose mss is 0 (leave alone)", family);
	vip_set(vip, 0);
	synack(&p, family, vip, PKT_TCP_SYN | PKT_TCP_ACK, OPTS_LINUX, sizeof(OPTS_LINUX), 0);
	expect_tc(&p, -1, NONE);
	vips_reset();

	T("IPv%d SYN (no ACK) from a VIP address", family);
	synack(&p, family, vip, PKT_TCP_SYN, OPTS_LINUX, sizeof(OPTS_LINUX), 0);
	expect_tc(&p, -1, NONE);

	T("IPv%d ACK (no SYN) from a VIP", family);
	synack(&p, family, vip, PKT_TCP_ACK, OPTS_LINUX, sizeof(OPTS_LINUX), 0);
	expect_tc(&p, -1, NONE);
}

/* Locally generated packets may carry CHECKSUM_PARTIAL: the checksum field
 * holds only the pseudo-header sum and the device adds the rest. The test
 * run can't make such an skb; what we can show is that on a full checksum
 * the field is updated incrementally (not recomputed): a deliberately wrong
 * checksum stays exactly as wrong. */
static void test_synack_incremental(void)
{
	struct pkt p;
	uint16_t before, after, want;
	uint32_t sum;

	vips_reset();
	T("IPv4 SYN-ACK with a wrong checksum stays wrong by the same amount");
	synack(&p, 4, VIP4, PKT_TCP_SYN | PKT_TCP_ACK, OPTS_LINUX, sizeof(OPTS_LINUX), 0);
	before = pkt_get16(p.buf + p.l4_off + 16);
	pkt_put16(p.buf + p.l4_off + 16, (uint16_t)(before ^ 0x0101));
	run(tc_fd, p.buf, p.len);
	after = pkt_get16(R.out + p.l4_off + 16);
	/* RFC 1624: HC' = ~(~HC + ~m + m') with m = 1460, m' = 1200 */
	sum = (uint16_t)~(before ^ 0x0101);
	sum += (uint16_t)~1460u;
	sum += VIP_MSS;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	want = (uint16_t)~sum;
	is_u64(after, want, "%s", case_name);
}

int main(void)
{
	static const int fam[2] = { 4, 6 };

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 29 + 3);
	load_programs();

	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			test_decap_combo(fam[i], fam[j]);
			test_decap_vlan(fam[i], fam[j]);
			test_decap_padding(fam[i], fam[j]);
			test_decap_ecn(fam[i], fam[j]);
			test_not_local_vip(fam[i], fam[j]);
			test_malformed(fam[i], fam[j]);
		}
		test_decap_outer_options(fam[i]);
		test_not_encapsulated(fam[i]);
		test_synack(fam[i]);
	}
	test_not_ip();
	test_family_in_key();
	test_synack_incremental();

	xlb_decap_bpf__destroy(skel);
	return tap_done();
}
