/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_xdp_fuzz: the real XDP program on random and mutated packets. Seeds
 * are valid packets of every kind (VIP and not, v4/v6, VLAN, options,
 * extension headers, fragments, ICMP errors, too big, non-IP); mutations
 * truncate, flip bytes, set odd IHL / lengths / data offsets / next headers,
 * insert tags, or replace everything with garbage. For every packet:
 *   - the test run works and the verdict is DROP, PASS or TX;
 *   - PASS leaves the frame byte for byte as it was;
 *   - TX is either a well-formed IP-in-IP frame to a configured backend whose
 *     inner packet is the input (MSS aside), well formed and to a VIP, or a
 *     well-formed ICMP too-big reply from a VIP address quoting the input;
 *   - unmutated seeds: non-VIP ones pass untouched, VIP ones are sent.
 * Findings are aggregated into a few TAP points; the first failures of each
 * are hex-dumped. Env: XLB_FUZZ_SEED (reproduce a run), XLB_FUZZ_ITERS.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "dataplane.h"
#include "xlb.skel.h"
#include "pkt.h"
#include "bpftest.h"
#include "tap.h"

#define VIP4		"198.18.1.1"
#define VIP6		"2001:db8:1::1"
#define LBSRC4		"198.18.255.1"
#define LBSRC6		"2001:db8:ff::1"
#define MTU		1500
#define BE_PER_VIP	4	/* VIP i owns backends 4i+1 .. 4i+4 */
#define NBACKENDS	(BE_PER_VIP * (int)NVIPS)	/* odd ids IPv4, even IPv6 */
#ifndef MAX_SHOWN
#define MAX_SHOWN	3	/* hex dumps per kind of failure */
#endif

static const uint8_t GW_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };

static struct xlb_bpf *skel;
static struct xlb_dp dp;
static int prog_fd;
static struct xlb_config cfg;

/* ---- random numbers (xorshift64*), reproducible from the seed ---------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t rn(uint32_t n)		/* 0 .. n-1 */
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static bool chance(unsigned pct)
{
	return rn(100) < pct;
}

/* ---- loading and configuration ------------------------------------------ */

static void load_program(void)
{
	skel = bpftest_load_xlb(&prog_fd, &dp);
}

static void must(int err, const char *what)
{
	if (err < 0)
		bail_out("%s: %s", what, strerror(-err));
}

struct vipdef {
	const char *addr;
	uint16_t port;
	uint8_t proto;
	uint16_t mss;
	uint16_t flags;
};

static const struct vipdef vips[] = {
	{ VIP4, 443, IPPROTO_TCP, 0, 0 },
	{ VIP4, 443, IPPROTO_UDP, 0, 0 },
	{ VIP4, 8443, IPPROTO_TCP, 1000, XLB_VIP_F_HASH_SRC_ONLY },
	{ VIP6, 443, IPPROTO_TCP, 0, 0 },
	{ VIP6, 443, IPPROTO_UDP, 0, 0 },
	{ VIP6, 8443, IPPROTO_TCP, 1200, 0 },
};
#define NVIPS (sizeof(vips) / sizeof(vips[0]))

static uint8_t vip_addr4[16], vip_addr6[16];

static void be_addr(uint32_t id, uint8_t out[16], int *family)
{
	char s[64];

	*family = id & 1 ? 4 : 6;
	if (*family == 4)
		snprintf(s, sizeof(s), "198.19.0.%u", id);
	else
		snprintf(s, sizeof(s), "2001:db8:b::%x", id);
	pkt_addr(s, out);
}

static void configure(void)
{
	uint8_t a[16];
	uint32_t i, j;

	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.gw_mac, GW_MAC, 6);
	cfg.mtu = MTU;
	pkt_addr(LBSRC4, a);
	memcpy(&cfg.src_v4, a, 4);
	pkt_addr(LBSRC6, a);
	memcpy(cfg.src_v6, a, 16);
	cfg.hash_seed = 0xf00dface;
	cfg.icmp_rate = 1000000000;	/* every too-big answer is sent */
	must(xlb_dp_config_set(&dp, &cfg), "xlb_dp_config_set");

	for (i = 1; i <= (uint32_t)NBACKENDS; i++) {
		struct xlb_backend b;
		int fam;

		memset(&b, 0, sizeof(b));
		be_addr(i, a, &fam);
		memcpy(b.addr, a, 16);
		b.family = (uint8_t)fam;
		b.state = XLB_BACKEND_ACTIVE;
		b.vip_id = (i - 1) / BE_PER_VIP + 1;
		must(xlb_dp_backend_set(&dp, i, &b), "xlb_dp_backend_set");
	}
	for (i = 0; i < NVIPS; i++) {
		struct xlb_vip_key k;
		struct xlb_vip v = { .vip_id = i + 1, .mss = vips[i].mss, .flags = vips[i].flags };
		struct xlb_ring_slot slots[7];

		memset(&k, 0, sizeof(k));
		k.family = (uint8_t)pkt_addr(vips[i].addr, a);
		memcpy(k.addr, a, 16);
		k.port = htons(vips[i].port);
		k.proto = vips[i].proto;
		must(xlb_dp_vip_set(&dp, &k, &v), "xlb_dp_vip_set");
		/* every slot a different mix: all four encapsulations happen */
		for (j = 0; j < 7; j++) {
			slots[j].new_backend = i * BE_PER_VIP + j % BE_PER_VIP + 1;
			slots[j].est_backend = i * BE_PER_VIP + (j + 1) % BE_PER_VIP + 1;
		}
		must(xlb_dp_ring_install(&dp, &k, slots, 7), "xlb_dp_ring_install");
	}
	pkt_addr(VIP4, vip_addr4);
	pkt_addr(VIP6, vip_addr6);
}

static bool is_vip_addr(int family, const uint8_t a[16])
{
	return family == 4 ? !memcmp(a, vip_addr4, 4) : !memcmp(a, vip_addr6, 16);
}

static bool is_vip(int family, const uint8_t a[16], uint16_t port, uint8_t proto)
{
	size_t i;

	if (!is_vip_addr(family, a))
		return false;
	for (i = 0; i < NVIPS; i++)
		if (vips[i].port == port && vips[i].proto == proto &&
		    (strchr(vips[i].addr, ':') ? 6 : 4) == family)
			return true;
	return false;
}

/* ---- seeds -------------------------------------------------------------- */

enum want { W_ANY, W_PASS, W_TX };

struct seed {
	struct pkt p;
	enum want want;
	const char *what;
};

#define MAX_SEEDS 128
static struct seed seeds[MAX_SEEDS];
static int nseeds;
static uint8_t payload[2048];

static void add(const struct pkt_spec *s, enum want w, const char *what)
{
	if (nseeds == MAX_SEEDS || pkt_build(s, &seeds[nseeds].p))
		bail_out("seed '%s' does not fit", what);
	seeds[nseeds].want = w;
	seeds[nseeds].what = what;
	nseeds++;
}

static void with_vlan(struct pkt_spec *s)
{
	s->vlan_tpid[0] = PKT_ETH_P_8021Q;
	s->vlan_tci[0] = 100;
}

static void make_seeds(void)
{
	static const int fams[2] = { 4, 6 };
	int f;
	uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	struct pkt_spec s;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 131 + 17);

	for (f = 0; f < 2; f++) {
		int v = fams[f];
		const char *vip = v == 4 ? VIP4 : VIP6;
		const char *cli = v == 4 ? "198.18.0.10" : "2001:db8:c::10";
		const char *other = v == 4 ? "198.18.2.2" : "2001:db8:2::2";
		const char *router = v == 4 ? "198.18.5.5" : "2001:db8:5::5";
		struct pkt q;
		int ack_seed;

		/* VIP traffic */
		s = pkt_spec_tcp(cli, 40000, vip, 443);
		s.tcp_flags = PKT_TCP_SYN;
		pkt_opt_mss(&s, 1460);
		pkt_opt_sack_perm(&s);
		pkt_opt_ts(&s, 1, 0);
		pkt_opt_nop(&s);
		pkt_opt_wscale(&s, 7);
		add(&s, W_TX, "syn");
		s.dport = 8443;
		add(&s, W_TX, "syn to the mss VIP");
		s = pkt_spec_tcp(cli, 40001, vip, 8443);
		s.tcp_flags = PKT_TCP_SYN;
		pkt_opt_nop(&s);
		pkt_opt_mss(&s, 1460);
		with_vlan(&s);
		add(&s, W_TX, "vlan syn, odd mss offset");
		s = pkt_spec_tcp(cli, 40002, vip, 443);
		s.payload = payload;
		s.payload_len = 100;
		s.tos = 0xb9;
		ack_seed = nseeds;
		add(&s, W_TX, "ack with data");
		s.payload_len = 0;
		s.pad_to = 80;
		add(&s, W_TX, "padded ack");
		s = pkt_spec_tcp(cli, 40003, vip, 443);
		s.payload = payload;
		s.payload_len = MTU - (v == 4 ? 40 : 60) - 20 + 1;
		add(&s, W_TX, "too big for a v4 outer (ptb or fwd)");
		s.payload_len = MTU - (v == 4 ? 40 : 60) - 40 + 1;
		add(&s, W_TX, "too big for a v6 outer (ptb or fwd)");
		s.ip_frag = 0;
		s.payload_len = MTU - (v == 4 ? 40 : 60);
		add(&s, W_ANY, "too big, no DF");
		s = pkt_spec_udp(cli, 5000, vip, 443);
		s.payload = payload;
		s.payload_len = 200;
		add(&s, W_TX, "udp");
		with_vlan(&s);
		s.payload_len = 3;
		s.pad_to = 100;
		add(&s, W_TX, "vlan udp padded");
		if (v == 4) {
			s = pkt_spec_tcp(cli, 40004, vip, 443);
			memset(s.ip_opts, 1, 12);
			s.ip_opts_len = 12;
			s.tcp_flags = PKT_TCP_SYN;
			pkt_opt_mss(&s, 9000);
			add(&s, W_TX, "syn with ip options");
		} else {
			s = pkt_spec_tcp(cli, 40004, vip, 443);
			s.ext[0].type = PKT_IPPROTO_HOPOPTS;
			s.ext[1].type = PKT_IPPROTO_ROUTING;
			s.ext[1].len8 = 2;
			s.ext[2].type = PKT_IPPROTO_DSTOPTS;
			s.n_ext = 3;
			s.tcp_flags = PKT_TCP_SYN;
			pkt_opt_mss(&s, 9000);
			add(&s, W_TX, "syn with ext headers");
		}

		/* ICMP errors about a VIP flow: the reply VIP:443 -> client */
		s = pkt_spec_tcp(vip, 443, cli, 40002);
		s.payload = payload;
		s.payload_len = 1000;
		pkt_build(&s, &q);
		s = pkt_spec_icmp(router, vip, v == 4 ? 3 : 2, v == 4 ? 4 : 0);
		s.icmp_rest = v == 4 ? 1400 : 1280;
		s.payload = q.buf + q.l3_off;
		s.payload_len = v == 4 ? 28 : 200;
		add(&s, W_TX, "icmp too-big about a VIP flow");
		s.icmp_type = v == 4 ? 11 : 3;
		s.icmp_rest = 0;
		s.payload_len = 60;
		add(&s, W_TX, "icmp time exceeded about a VIP flow");
		s.payload_len = 12;
		add(&s, W_ANY, "icmp error with a short quote");

		/* not ours */
		s = pkt_spec_tcp(cli, 40000, other, 443);
		s.tcp_flags = PKT_TCP_SYN;
		pkt_opt_mss(&s, 1460);
		add(&s, W_PASS, "syn to non-VIP");
		s = pkt_spec_tcp(cli, 40000, vip, 22);
		s.payload = payload;
		s.payload_len = 1400;
		add(&s, W_PASS, "tcp to the VIP address, other port");
		s = pkt_spec_udp(cli, 53, other, 53);
		s.payload = payload;
		s.payload_len = 40;
		with_vlan(&s);
		add(&s, W_PASS, "vlan udp to non-VIP");
		s = pkt_spec_icmp(cli, vip, v == 4 ? 8 : 128, 0);
		s.payload = payload;
		s.payload_len = 56;
		add(&s, W_PASS, "echo request to the VIP address");
		s = pkt_spec_tcp(cli, 40000, other, 80);
		s.payload = payload;
		s.payload_len = 300;
		if (v == 4) {
			s.ip_frag = PKT_IP_MF;
		} else {
			s.ext[0].type = PKT_IPPROTO_FRAGMENT;
			s.ext[0].more = true;
			s.n_ext = 1;
		}
		add(&s, W_PASS, "fragment to non-VIP");
		s.dport = 443;
		memcpy(s.dst, v == 4 ? vip_addr4 : vip_addr6, 16);
		add(&s, W_ANY, "fragment to the VIP address");
		s = pkt_spec_tcp(cli, 0, other, 0);
		s.proto = PKT_IPPROTO_GRE;
		s.payload = payload;
		s.payload_len = 40;
		add(&s, W_PASS, "gre to non-VIP");
		memcpy(s.dst, v == 4 ? vip_addr4 : vip_addr6, 16);
		add(&s, W_ANY, "gre to the VIP address");
		/* an IP-in-IP packet like our own output, arriving here */
		s = pkt_spec_tcp("198.18.255.7", 0, "198.19.0.1", 0);
		s.proto = v == 4 ? PKT_IPPROTO_IPIP : PKT_IPPROTO_IPV6;
		s.payload = seeds[ack_seed].p.buf + seeds[ack_seed].p.l3_off;
		s.payload_len = seeds[ack_seed].p.ip_len;
		add(&s, W_PASS, "ip-in-ip to non-VIP");
	}
	memset(&s, 0, sizeof(s));
	memset(s.eth_dst, 0xff, 6);
	s.eth_src[0] = 2;
	s.eth_proto = PKT_ETH_P_ARP;
	s.payload = arp;
	s.payload_len = sizeof(arp);
	s.pad_to = 60;
	add(&s, W_PASS, "arp");
}

/* A fresh valid packet with random fields: to a VIP (TO_VIP) or to a random
 * address that is none. */
static void random_valid(struct pkt *p, bool to_vip)
{
	struct pkt_spec s;
	int v = chance(50) ? 4 : 6, i;
	char src[64], dst[64];
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, PKT_IPPROTO_GRE };
	uint8_t proto = protos[rn(to_vip ? 2 : 4)];
	const struct vipdef *vd = NULL;
	size_t room;

	if (v == 4)
		snprintf(src, sizeof(src), "198.18.%u.%u", 10 + rn(200), 1 + rn(254));
	else
		snprintf(src, sizeof(src), "2001:db8:c::%x:%x", rn(65536), 1 + rn(65535));
	if (to_vip) {
		do
			vd = &vips[rn(NVIPS)];
		while ((strchr(vd->addr, ':') ? 6 : 4) != v);
		snprintf(dst, sizeof(dst), "%s", vd->addr);
		proto = vd->proto;
	} else if (v == 4) {
		snprintf(dst, sizeof(dst), "198.19.%u.%u", 100 + rn(100), 1 + rn(254));
	} else {
		snprintf(dst, sizeof(dst), "2001:db8:2::%x", 1 + rn(65535));
	}
	if (proto == IPPROTO_TCP) {
		s = pkt_spec_tcp(src, (uint16_t)(1024 + rn(64000)), dst,
				 vd ? vd->port : (uint16_t)rn(65536));
		s.tcp_flags = (uint8_t)rn(64);
		if (chance(50))
			pkt_opt_mss(&s, (uint16_t)rn(65536));
		if (chance(50))
			pkt_opt_sack_perm(&s);
		if (chance(50))
			pkt_opt_ts(&s, (uint32_t)rnd(), (uint32_t)rnd());
		if (chance(30))
			pkt_opt_nop(&s);
		if (chance(50))
			pkt_opt_mss(&s, (uint16_t)rn(65536));
	} else if (proto == IPPROTO_UDP) {
		s = pkt_spec_udp(src, (uint16_t)rn(65536), dst, vd ? vd->port : (uint16_t)rn(65536));
	} else if (proto == IPPROTO_ICMP) {
		s = pkt_spec_icmp(src, dst, (uint8_t)rn(256), (uint8_t)rn(16));
		s.icmp_rest = (uint32_t)rnd();
	} else {
		s = pkt_spec_tcp(src, 0, dst, 0);
		s.proto = proto;
	}
	s.tos = (uint8_t)rn(256);
	s.flow_label = rn(1u << 20);
	s.ttl = (uint8_t)(1 + rn(255));
	s.ip_id = (uint16_t)rn(65536);
	if (chance(30))
		with_vlan(&s);
	if (v == 4 && chance(20)) {
		s.ip_opts_len = 4 * (1 + rn(10));
		memset(s.ip_opts, 1, s.ip_opts_len);
	}
	if (v == 6 && chance(30)) {
		static const uint8_t t[] = { PKT_IPPROTO_HOPOPTS, PKT_IPPROTO_DSTOPTS,
					     PKT_IPPROTO_ROUTING, PKT_IPPROTO_FRAGMENT };

		s.n_ext = (int)(1 + rn(4));
		for (i = 0; i < s.n_ext; i++) {
			/* fragments only where they pass */
			s.ext[i].type = t[rn(to_vip ? 3 : 4)];
			s.ext[i].len8 = (uint8_t)rn(3);
		}
	}
	if (v == 4 && !to_vip && chance(10))
		s.ip_frag = (uint16_t)(rn(2) ? PKT_IP_MF : rn(8192));
	/* to a VIP: DF (v4) so that too big means a reply, never a drop */
	if (to_vip)
		s.ip_frag = PKT_IP_DF;
	room = 1600;
	s.payload = payload;
	s.payload_len = rn(chance(80) ? 200 : (uint32_t)room);
	if (chance(20))
		s.pad_to = 60 + rn(100);
	if (pkt_build(&s, p))
		bail_out("random packet does not fit");
}

/* ---- mutations ---------------------------------------------------------- */

/* Best-effort checksum repair after a mutation, so that deeper code paths
 * see the packet (the program drops VIP packets with a bad IPv4 header
 * checksum). Never trusts the fields it reads. */
static void fix_csums(uint8_t *f, size_t len)
{
	struct pkt_l2 l2;
	uint8_t *ip, src[16] = { 0 }, dst[16] = { 0 };
	size_t n, hl, tot, off;
	uint8_t proto;

	if (pkt_parse_l2(f, len, &l2))
		return;
	ip = f + l2.hlen;
	n = len - l2.hlen;
	if (l2.proto == PKT_ETH_P_IP && n >= 20 && (ip[0] >> 4) == 4) {
		hl = (size_t)(ip[0] & 0xf) * 4;
		if (hl < 20 || hl > n)
			return;
		ip[10] = ip[11] = 0;
		pkt_put16(ip + 10, pkt_csum(ip, hl));
		tot = pkt_get16(ip + 2);
		if (tot < hl || tot > n || (pkt_get16(ip + 6) & 0x3fff))
			return;
		memcpy(src, ip + 12, 4);
		memcpy(dst, ip + 16, 4);
		proto = ip[9];
		off = hl;
		pkt_l4_csum_set(4, src, dst, proto, ip + off, tot - off);
	} else if (l2.proto == PKT_ETH_P_IPV6 && n >= 40 && (ip[0] >> 4) == 6) {
		tot = 40 + (size_t)pkt_get16(ip + 4);
		if (tot > n)
			return;
		memcpy(src, ip + 8, 16);
		memcpy(dst, ip + 24, 16);
		proto = ip[6];
		pkt_l4_csum_set(6, src, dst, proto, ip + 40, tot - 40);
	}
}

static size_t l3_offset(const uint8_t *f, size_t len)
{
	struct pkt_l2 l2;

	if (pkt_parse_l2(f, len, &l2))
		return 14;
	return l2.hlen;
}

/* Mutate F (LEN bytes, room for PKT_MAX) in place; returns the new length
 * and names the mutation. */
static size_t mutate(uint8_t *f, size_t len, const char **what)
{
	size_t l3 = l3_offset(f, len), n, i;
	uint8_t *ip = f + l3;
	int k = (int)rn(12);

	switch (k) {
	case 0:		/* truncate */
		*what = "truncate";
		n = 14 + rn((uint32_t)(len - 14 + 1));
		return n;
	case 1:		/* flip bytes in the headers */
	case 2:
		*what = "flip header bytes";
		n = 1 + rn(6);
		for (i = 0; i < n; i++)
			f[rn((uint32_t)(len < 120 ? len : 120))] ^= (uint8_t)(1 + rn(255));
		if (chance(70))
			fix_csums(f, len);
		return len;
	case 3:		/* flip anywhere */
		*what = "flip any bytes";
		n = 1 + rn(10);
		for (i = 0; i < n; i++)
			f[rn((uint32_t)len)] ^= (uint8_t)(1 + rn(255));
		return len;
	case 4:		/* odd IHL / version byte */
		*what = "ihl/version";
		if (l3 < len)
			ip[0] = (uint8_t)rn(256);
		if (chance(70))
			fix_csums(f, len);
		return len;
	case 5:		/* IP length fields */
		*what = "ip length";
		if (l3 + 6 <= len) {
			if ((ip[0] >> 4) == 4)
				pkt_put16(ip + 2, (uint16_t)(chance(50) ? rn(65536) : len - l3 + rn(9) - 4));
			else
				pkt_put16(ip + 4, (uint16_t)(chance(50) ? rn(65536) : len - l3 - 40 + rn(9) - 4));
		}
		if (chance(80))
			fix_csums(f, len);
		return len;
	case 6: {	/* TCP data offset / UDP length at the usual places */
		size_t l4 = l3 + ((ip[0] >> 4) == 4 ? (size_t)(ip[0] & 0xf) * 4 : 40);

		*what = "l4 header";
		if (l4 + 14 <= len) {
			if (chance(50))
				f[l4 + 12] = (uint8_t)(rn(16) << 4);
			else
				pkt_put16(f + l4 + 4, (uint16_t)rn(len + 16));
			if (chance(30))
				f[l4 + 13] = (uint8_t)rn(256);	/* TCP flags */
		}
		if (chance(60))
			fix_csums(f, len);
		return len;
	}
	case 7:		/* protocol / next header */
		*what = "protocol";
		if (l3 + 10 <= len) {
			static const uint8_t p[] = { 0, 1, 4, 6, 17, 41, 43, 44, 47, 58, 59, 60, 132, 255 };
			uint8_t v = p[rn(sizeof(p))];

			if ((ip[0] >> 4) == 4)
				ip[9] = v;
			else
				ip[6] = v;
		}
		if (chance(70))
			fix_csums(f, len);
		return len;
	case 8:		/* insert a VLAN tag (maybe a second one) */
		*what = "insert vlan tag";
		if (len + 4 > PKT_MAX)
			return len;
		memmove(f + 16, f + 12, len - 12);
		pkt_put16(f + 12, chance(50) ? PKT_ETH_P_8021Q : PKT_ETH_P_8021AD);
		pkt_put16(f + 14, (uint16_t)rn(4096));
		return len + 4;
	case 9:		/* append trailing bytes */
		*what = "append bytes";
		n = rn(64);
		if (len + n > PKT_MAX)
			return len;
		for (i = 0; i < n; i++)
			f[len + i] = (uint8_t)rnd();
		return len + n;
	case 10:	/* EtherType swap */
		*what = "ethertype";
		{
			static const uint16_t t[] = { PKT_ETH_P_IP, PKT_ETH_P_IPV6, PKT_ETH_P_ARP,
						      PKT_ETH_P_8021Q, PKT_ETH_P_8021AD, 0x88cc };

			pkt_put16(f + l3 - 2, t[rn(sizeof(t) / sizeof(t[0]))]);
		}
		return len;
	default:	/* garbage after a plausible Ethernet header */
		*what = "garbage";
		n = 14 + rn(200);
		for (i = 12; i < n; i++)
			f[i] = (uint8_t)rnd();
		pkt_put16(f + 12, chance(50) ? PKT_ETH_P_IP : PKT_ETH_P_IPV6);
		if (chance(50))
			f[14] = chance(50) ? 0x45 : 0x60;
		if (chance(50))
			fix_csums(f, n);
		return n;
	}
}

/* ---- checking one output ------------------------------------------------ */

enum finding {
	F_RUN_ERR,
	F_VERDICT,
	F_PASS_CHANGED,
	F_TX_MALFORMED,
	F_SEED_PASS,
	F_SEED_TX,
	F_MAX
};

static const char *finding_name[F_MAX] = {
	"BPF_PROG_TEST_RUN works on every packet",
	"verdict is always DROP, PASS or TX",
	"PASS leaves the frame byte for byte unchanged",
	"TX is a well-formed encapsulation to a VIP or a well-formed ICMP too-big reply",
	"valid non-VIP packets pass unchanged",
	"valid VIP packets are sent (TX)",
};

static uint64_t found[F_MAX];

static void report(enum finding f, const char *why, const uint8_t *in, size_t in_len,
		   const uint8_t *out, size_t out_len, const char *origin)
{
	if (found[f]++ >= MAX_SHOWN)
		return;
	diag("%s: %s (%s)", finding_name[f], why, origin);
	pkt_hexdump("in", in, in_len, 160);
	if (out)
		pkt_hexdump("out", out, out_len, 160);
}

/* An encapsulation: NULL if well formed, else why not. */
static const char *check_encap(const uint8_t *in, size_t in_len, const uint8_t *out,
			       size_t out_len)
{
	struct pkt_encap e;
	struct pkt_l2 l2in;
	struct pkt_ip inner, in_ip;
	const char *err;
	uint8_t be[16];
	int fam, i;
	bool known = false;
	size_t j;
	const uint8_t *src_cfg;

	err = pkt_parse_encap(out, out_len, &e);
	if (err)
		return err;
	if (pkt_parse_l2(in, in_len, &l2in))
		return "input has no Ethernet header but was sent";
	if (memcmp(e.l2.dst, GW_MAC, 6) || memcmp(e.l2.src, l2in.dst, 6))
		return "Ethernet addresses are not gw_mac / old destination";
	if (e.l2.n_vlan != l2in.n_vlan || (e.l2.n_vlan && e.l2.vlan_tci[0] != l2in.vlan_tci[0]))
		return "VLAN tag not kept";
	if (e.outer.tot_len > MTU)
		return "outer packet larger than the MTU";
	for (i = 1; i <= NBACKENDS; i++) {
		be_addr((uint32_t)i, be, &fam);
		if (fam == e.outer.family && !memcmp(be, e.outer.dst, fam == 4 ? 4 : 16))
			known = true;
	}
	if (!known)
		return "outer destination is not a configured backend";
	src_cfg = e.outer.family == 4 ? (const uint8_t *)&cfg.src_v4 : (const uint8_t *)cfg.src_v6;
	if (memcmp(e.outer.src, src_cfg, e.outer.family == 4 ? 4 : 16))
		return "outer source is not the configured one";
	if (e.outer.ttl != 64)
		return "outer TTL / hop limit is not 64";

	err = pkt_parse_ip(e.inner, e.inner_len, true, &inner);
	if (err)
		return err;
	if (inner.is_fragment)
		return "inner packet is a fragment";
	if (inner.proto == IPPROTO_TCP || inner.proto == IPPROTO_UDP) {
		if (!is_vip(inner.family, inner.dst, inner.dport, inner.proto))
			return "inner packet is not to a VIP";
	} else if (inner.proto == IPPROTO_ICMP || inner.proto == IPPROTO_ICMPV6) {
		uint8_t t = inner.l4[0];

		if (!is_vip_addr(inner.family, inner.dst))
			return "inner ICMP is not to a VIP address";
		if (inner.family == 4 ? !(t == 3 || t == 11 || t == 12) : !(t >= 1 && t <= 4))
			return "inner ICMP is not an error";
	} else {
		return "inner protocol is not TCP/UDP/ICMP";
	}

	/* the inner packet is the input's IP packet, MSS and checksum aside */
	if (pkt_parse_ip(in + l2in.hlen, in_len - l2in.hlen, false, &in_ip))
		return "input IP packet malformed but forwarded";
	if (in_ip.tot_len != e.inner_len)
		return "inner length differs from the input's IP length";
	for (j = 0; j < e.inner_len; j++) {
		const uint8_t *a = in + l2in.hlen;

		if (a[j] == e.inner[j])
			continue;
		if (inner.proto == IPPROTO_TCP && (inner.tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) ==
		    PKT_TCP_SYN) {
			size_t tcp = inner.hlen, off;
			int mss_in = pkt_tcp_mss(in_ip.l4, in_ip.l4_hlen, &off);

			if (j == tcp + 16 || j == tcp + 17)
				continue;
			if (mss_in >= 0 && (j == tcp + off || j == tcp + off + 1) &&
			    pkt_get16(e.inner + tcp + off) < mss_in)
				continue;
		}
		return "inner packet differs from the input beyond the MSS clamp";
	}
	if (inner.proto == IPPROTO_TCP || inner.proto == IPPROTO_UDP) {
		size_t l4len = inner.proto == IPPROTO_UDP ? pkt_get16(inner.l4 + 4) : inner.l4_len;
		bool in_ok = pkt_l4_csum_ok(in_ip.family, in_ip.src, in_ip.dst, in_ip.proto,
					    in_ip.l4, l4len);
		bool out_ok = pkt_l4_csum_ok(inner.family, inner.src, inner.dst, inner.proto,
					     inner.l4, l4len);

		if (in_ok && !out_ok)
			return "a valid L4 checksum became invalid";
	}
	return NULL;
}

/* A too-big reply: NULL if well formed, else why not. */
static const char *check_ptb(const uint8_t *in, size_t in_len, const uint8_t *out,
			     size_t out_len)
{
	struct pkt_l2 l2in, l2;
	struct pkt_ip ip, in_ip;
	const char *err;
	size_t q;
	uint32_t mtu;

	if (pkt_parse_l2(in, in_len, &l2in) || (err = pkt_parse_l2(out, out_len, &l2)))
		return "reply without Ethernet header";
	if (memcmp(l2.dst, l2in.src, 6) || memcmp(l2.src, l2in.dst, 6))
		return "reply Ethernet addresses not swapped";
	err = pkt_parse_ip(out + l2.hlen, out_len - l2.hlen, true, &ip);
	if (err)
		return err;
	if (pkt_parse_ip(in + l2in.hlen, in_len - l2in.hlen, false, &in_ip))
		return "answered a malformed packet";
	if (!is_vip(in_ip.family, in_ip.dst, in_ip.dport, in_ip.proto))
		return "answered a packet that is not to a VIP";
	if (memcmp(ip.src, in_ip.dst, 16) || memcmp(ip.dst, in_ip.src, 16))
		return "reply is not VIP -> client";
	if (ip.family == 4) {
		if (ip.proto != IPPROTO_ICMP || ip.l4[0] != 3 || ip.l4[1] != 4)
			return "not ICMP frag-needed";
		if (!(pkt_get16(in + l2in.hlen + 6) & PKT_IP_DF))
			return "frag-needed for a packet without DF";
		mtu = pkt_get16(ip.l4 + 6);
		q = 68;
	} else {
		if (ip.proto != IPPROTO_ICMPV6 || ip.l4[0] != 2 || ip.l4[1] != 0)
			return "not ICMPv6 packet-too-big";
		mtu = pkt_get32(ip.l4 + 4);
		q = 128;
	}
	/* the MTU offered is the config's less an outer header of 20 or 40,
	 * and the packet must not fit it */
	if (mtu != MTU - 20 && mtu != MTU - 40)
		return "MTU in the reply is not mtu - outer header";
	if (in_ip.tot_len <= mtu)
		return "too-big reply for a packet that fits";
	if (ip.l4_len != 8 + q || memcmp(ip.l4 + 8, in + l2in.hlen, q))
		return "quote is not the start of the packet";
	if (!pkt_l4_csum_ok(ip.family, ip.src, ip.dst, ip.proto, ip.l4, ip.l4_len))
		return "ICMP checksum wrong";
	return NULL;
}

static uint8_t out_buf[PKT_MAX + 512];
static uint64_t verdicts[8], mutations_run, seeds_run, valid_run;
static uint64_t kind_tx_encap, kind_tx_ptb;

static void one(const uint8_t *in, size_t len, enum want want, const char *origin)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	const char *why;

	memset(out_buf, 0, 64);
	o.data_in = in;
	o.data_size_in = (uint32_t)len;
	o.data_out = out_buf;
	o.data_size_out = sizeof(out_buf);
	o.repeat = 1;
	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		char e[64];

		snprintf(e, sizeof(e), "test run failed: %s", strerror(errno));
		report(F_RUN_ERR, e, in, len, NULL, 0, origin);
		return;
	}
	verdicts[o.retval < 8 ? o.retval : 7]++;
	switch (o.retval) {
	case XDP_DROP:
		break;
	case XDP_PASS:
		if (o.data_size_out != len || memcmp(out_buf, in, len))
			report(F_PASS_CHANGED, "frame changed", in, len, out_buf, o.data_size_out,
			       origin);
		break;
	case XDP_TX: {
		const char *w1 = check_encap(in, len, out_buf, o.data_size_out), *w2;

		if (!w1) {
			kind_tx_encap++;
			break;
		}
		w2 = check_ptb(in, len, out_buf, o.data_size_out);
		if (!w2) {
			kind_tx_ptb++;
			break;
		}
		{
			char e[256];

			snprintf(e, sizeof(e), "as encapsulation: %s; as too-big reply: %s", w1, w2);
			report(F_TX_MALFORMED, e, in, len, out_buf, o.data_size_out, origin);
		}
		break;
	}
	default: {
		char e[64];

		snprintf(e, sizeof(e), "verdict %u", o.retval);
		report(F_VERDICT, e, in, len, NULL, 0, origin);
		return;
	}
	}
	if (want == W_PASS && (o.retval != XDP_PASS || o.data_size_out != len ||
			       memcmp(out_buf, in, len))) {
		why = o.retval == XDP_PASS ? "changed" : o.retval == XDP_DROP ? "dropped" : "sent";
		report(F_SEED_PASS, why, in, len, out_buf, o.data_size_out, origin);
	}
	if (want == W_TX && o.retval != XDP_TX)
		report(F_SEED_TX, o.retval == XDP_PASS ? "passed" : "dropped", in, len, NULL, 0,
		       origin);
}

int main(void)
{
	const char *env_seed = getenv("XLB_FUZZ_SEED"), *env_iters = getenv("XLB_FUZZ_ITERS");
	uint64_t seed, iters = env_iters ? strtoull(env_iters, NULL, 0) : 500000, i;
	static uint8_t buf[PKT_MAX + 64];
	struct timespec t0, t1;
	uint64_t reasons[XLB_R_MAX];
	double secs;
	int s, f, r;

	if (env_seed) {
		seed = strtoull(env_seed, NULL, 0);
	} else {
		clock_gettime(CLOCK_REALTIME, &t0);
		seed = (uint64_t)t0.tv_sec * 1000003u ^ (uint64_t)t0.tv_nsec ^ (uint64_t)getpid() << 32;
	}
	rng_state = seed ? seed : 1;
	diag("seed %llu (XLB_FUZZ_SEED=%llu reproduces this run), %llu packets",
	     (unsigned long long)seed, (unsigned long long)seed, (unsigned long long)iters);

	load_program();
	configure();
	make_seeds();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* every seed as it is, twice (the second finds its flow entry) */
	for (r = 0; r < 2; r++)
		for (s = 0; s < nseeds; s++, seeds_run++)
			one(seeds[s].p.buf, seeds[s].p.len, seeds[s].want, seeds[s].what);
	for (i = 0; i < iters; i++) {
		const struct seed *sd = &seeds[rn((uint32_t)nseeds)];

		if (rn(10) < 2) {
			static struct pkt fresh;
			bool to_vip = chance(50);
			char origin[64];

			random_valid(&fresh, to_vip);
			snprintf(origin, sizeof(origin), "random valid %s packet, iteration %llu",
				 to_vip ? "VIP" : "non-VIP", (unsigned long long)i);
			one(fresh.buf, fresh.len, to_vip ? W_TX : W_PASS, origin);
			valid_run++;
			continue;
		}
		const char *what = "?", *what2 = NULL;
		char origin[160];
		size_t len = sd->p.len;

		memcpy(buf, sd->p.buf, len);
		len = mutate(buf, len, &what);
		if (chance(30))
			len = mutate(buf, len, &what2);
		snprintf(origin, sizeof(origin), "seed '%s', %s%s%s, iteration %llu", sd->what, what,
			 what2 ? " + " : "", what2 ? what2 : "", (unsigned long long)i);
		one(buf, len, W_ANY, origin);
		mutations_run++;
		if ((i & 0xffff) == 0xffff)
			xlb_dp_flows_flush(&dp, XLB_NO_BACKEND);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	diag("%llu seed runs + %llu random valid + %llu mutated packets in %.1f s: "
	     "%llu DROP, %llu PASS, %llu TX (%llu encapsulated, %llu too-big replies)",
	     (unsigned long long)seeds_run, (unsigned long long)valid_run,
	     (unsigned long long)mutations_run, secs,
	     (unsigned long long)verdicts[XDP_DROP], (unsigned long long)verdicts[XDP_PASS],
	     (unsigned long long)verdicts[XDP_TX], (unsigned long long)kind_tx_encap,
	     (unsigned long long)kind_tx_ptb);
	if (xlb_dp_reasons_read(&dp, reasons) == 0) {
		char line[256];
		size_t n = 0;

		for (r = 0; r < XLB_R_MAX; r++) {
			if (!reasons[r])
				continue;
			n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%llu",
					      xlb_reason_name((enum xlb_reason)r),
					      (unsigned long long)reasons[r]);
			if (n > 180) {
				diag("reasons:%s", line);
				n = 0;
			}
		}
		if (n)
			diag("reasons:%s", line);
	}

	for (f = 0; f < F_MAX; f++)
		if (!ok(found[f] == 0, "%s", finding_name[f]))
			diag("  %llu packets (seed %llu)", (unsigned long long)found[f],
			     (unsigned long long)seed);
	ok(verdicts[XDP_DROP] && verdicts[XDP_PASS] && kind_tx_encap && kind_tx_ptb,
	   "every outcome was reached (drop, pass, encapsulation, too-big reply)");
	ok(secs < 60, "ran in under a minute (%.1f s)", secs);

	xlb_bpf__destroy(skel);
	return tap_done();
}
