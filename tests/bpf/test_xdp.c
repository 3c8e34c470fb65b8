/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_xdp: the real XDP program (bpf/xlb.bpf.c) run with BPF_PROG_TEST_RUN
 * on hand-built packets, checked against docs/datapath.md: verdict, every
 * byte of what comes out, the flow table and the counters.
 *
 * One object is loaded (nothing pinned, flow table shrunk); each case resets
 * the maps, programs config/VIPs/backends/rings, runs one packet (repeat 1)
 * and compares counter deltas. Rings are built by hand, uniform (every slot
 * names the same backends), so which slot a hash picks does not matter,
 * except in the hashing cases, which use a ring of 7 distinct backends.
 * The process is pinned to one CPU: rate limits are per CPU.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* ---- addresses (benchmarking range / documentation prefix only) --------- */

#define CLIENT4		"198.18.0.10"
#define CLIENT4B	"198.18.0.11"
#define CLIENT6		"2001:db8:c::10"
#define CLIENT6B	"2001:db8:c::11"
#define VIP4		"198.18.1.1"
#define VIP6		"2001:db8:1::1"
#define OTHER4		"198.18.2.2"	/* not a VIP address */
#define OTHER6		"2001:db8:2::2"
#define ROUTER4		"198.18.5.5"
#define ROUTER6		"2001:db8:5::5"
#define LBSRC4		"198.18.255.1"
#define LBSRC6		"2001:db8:ff::1"
#define VPORT		443

#define VIP_TCP_ID	1
#define VIP_UDP_ID	2
#define BE_UDP		9	/* backend id of the UDP VIP */
#define NBE		16	/* backend ids 0..NBE-1 are used and snapshotted */
#define NVIP		4

static const uint8_t GW_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };

/* ---- the loaded program --------------------------------------------------- */

static struct xlb_bpf *skel;
static struct xlb_dp dp;
static int prog_fd;
static struct xlb_config G_cfg;		/* what xlb_config holds now */

static void load_program(void)
{
	skel = bpftest_load_xlb(&prog_fd, &dp);
}

/* ---- case names ----------------------------------------------------------- */

/* An error collector: one TAP point per aspect, every mismatch listed. */
struct chk {
	int n;
	char msg[4096];
	size_t len;
};

static void chk_fail(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void chk_fail(struct chk *c, const char *fmt, ...)
{
	va_list ap;

	c->n++;
	if (c->len >= sizeof(c->msg) - 2)
		return;
	va_start(ap, fmt);
	c->len += (size_t)vsnprintf(c->msg + c->len, sizeof(c->msg) - c->len, fmt, ap);
	va_end(ap);
	if (c->len < sizeof(c->msg) - 1)
		c->msg[c->len++] = '\n', c->msg[c->len] = 0;
	else
		c->len = sizeof(c->msg) - 1;
}

static bool chk_done(struct chk *c, const char *what)
{
	char *line, *save = NULL;

	if (ok(c->n == 0, "%s: %s", case_name, what))
		return true;
	for (line = strtok_r(c->msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		diag("  %s", line);
	return false;
}

/* ---- map helpers ---------------------------------------------------------- */

static void must(int err, const char *what)
{
	if (err < 0)
		bail_out("%s: %s", what, strerror(-err));
}

static void config_set(const struct xlb_config *cfg)
{
	G_cfg = *cfg;
	must(xlb_dp_config_set(&dp, cfg), "xlb_dp_config_set");
}

static void config_default(void)
{
	struct xlb_config c;
	uint8_t a[16];

	memset(&c, 0, sizeof(c));
	memcpy(c.gw_mac, GW_MAC, 6);
	c.mtu = 1500;
	pkt_addr(LBSRC4, a);
	memcpy(&c.src_v4, a, 4);
	pkt_addr(LBSRC6, a);
	memcpy(c.src_v6, a, 16);
	c.ttl = 0;
	c.hash_seed = 0x5eed1234;
	c.icmp_rate = 1000;
	config_set(&c);
}

static struct xlb_vip_key vip_key(const char *addr, uint16_t port, uint8_t proto)
{
	struct xlb_vip_key k;
	uint8_t a[16];

	memset(&k, 0, sizeof(k));
	k.family = (uint8_t)pkt_addr(addr, a);
	memcpy(k.addr, a, 16);
	k.port = htons(port);
	k.proto = proto;
	return k;
}

static void vip_add(const struct xlb_vip_key *k, uint32_t vip_id, uint16_t mss, uint16_t flags)
{
	struct xlb_vip v = { .vip_id = vip_id, .mss = mss, .flags = flags };

	must(xlb_dp_vip_set(&dp, k, &v), "xlb_dp_vip_set");
}

static void be_addr(int family, uint32_t id, uint8_t out[16])
{
	char s[64];

	if (family == 4)
		snprintf(s, sizeof(s), "198.19.0.%u", id);
	else
		snprintf(s, sizeof(s), "2001:db8:b::%x", id);
	pkt_addr(s, out);
}

static void backend_add(uint32_t id, int family, uint8_t state, uint32_t vip_id)
{
	struct xlb_backend b;
	uint8_t a[16];

	memset(&b, 0, sizeof(b));
	be_addr(family, id, a);
	memcpy(b.addr, a, 16);
	b.family = (uint8_t)family;
	b.state = state;
	b.vip_id = vip_id;
	must(xlb_dp_backend_set(&dp, id, &b), "xlb_dp_backend_set");
}

static void backend_state(uint32_t id, uint8_t state)
{
	struct xlb_backend b;

	must(xlb_dp_backend_get(&dp, id, &b), "xlb_dp_backend_get");
	b.state = state;
	must(xlb_dp_backend_set(&dp, id, &b), "xlb_dp_backend_set");
}

static void ring_uniform(const struct xlb_vip_key *k, uint32_t new_be, uint32_t est_be)
{
	struct xlb_ring_slot slots[13];
	int i;

	for (i = 0; i < 13; i++) {
		slots[i].new_backend = new_be;
		slots[i].est_backend = est_be;
	}
	must(xlb_dp_ring_install(&dp, k, slots, 13), "xlb_dp_ring_install");
}

/* Ring of 7 slots, slot i -> backend i+1 (new and est). */
static void ring_seven(const struct xlb_vip_key *k)
{
	struct xlb_ring_slot slots[7];
	int i;

	for (i = 0; i < 7; i++)
		slots[i].new_backend = slots[i].est_backend = (uint32_t)i + 1;
	must(xlb_dp_ring_install(&dp, k, slots, 7), "xlb_dp_ring_install");
}

static void percpu_zero(int fd, uint32_t key, size_t value_size)
{
	size_t sz = ((value_size + 7) & ~(size_t)7) * (size_t)dp.ncpus;
	void *z = calloc(1, sz);

	if (bpf_map_update_elem(fd, &key, z, BPF_ANY))
		bail_out("zeroing a per-CPU map: %s", strerror(errno));
	free(z);
}

static void map_clear(int fd, size_t key_size)
{
	uint8_t key[64], next[64];

	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

/* Everything back to empty (counters are compared as deltas instead). */
static void reset(void)
{
	struct xlb_vip_key keys[64], k, next;
	struct xlb_backend zero;
	int n = 0, i;
	void *prev = NULL;

	while (n < 64 && bpf_map_get_next_key(dp.vips, prev, &next) == 0) {
		keys[n++] = next;
		k = next;
		prev = &k;
	}
	for (i = 0; i < n; i++)
		must(xlb_dp_vip_del(&dp, &keys[i]), "xlb_dp_vip_del");
	map_clear(dp.vip_addrs, sizeof(struct xlb_addr_key));
	memset(&zero, 0, sizeof(zero));
	for (i = 0; i < NBE; i++) {
		uint32_t id = (uint32_t)i;

		bpf_map_update_elem(dp.backends, &id, &zero, BPF_ANY);
	}
	xlb_dp_flows_flush(&dp, XLB_NO_BACKEND);
	map_clear(dp.syn_src, sizeof(struct xlb_addr_key));
	percpu_zero(dp.cpu_state, 0, sizeof(struct xlb_cpu_state));
	memset(&G_cfg, 0, sizeof(G_cfg));
	must(xlb_dp_config_set(&dp, &G_cfg), "xlb_dp_config_set");
}

/* ---- the standard setup: one address, TCP and UDP VIPs -------------------- */

struct env {
	int vf, bf;			/* VIP (inner) and backend (outer) family */
	const char *vip, *client, *client2, *other, *router;
	uint8_t vip_a[16], client_a[16];
	struct xlb_vip_key tcp, udp;
};
static struct env E;

static const char *combo(int vf, int bf)
{
	static const char *n[2][2] = { { "v4in4", "v4in6" }, { "v6in4", "v6in6" } };

	return n[vf == 6][bf == 6];
}

/* TCP VIP (id 1) -> backends 1 and 2, ring: all slots new = est = 1.
 * UDP VIP (id 2) -> backend 9, ring: all slots 9. */
static void setup(int vf, int bf)
{
	reset();
	config_default();
	memset(&E, 0, sizeof(E));
	E.vf = vf;
	E.bf = bf;
	E.vip = vf == 4 ? VIP4 : VIP6;
	E.client = vf == 4 ? CLIENT4 : CLIENT6;
	E.client2 = vf == 4 ? CLIENT4B : CLIENT6B;
	E.other = vf == 4 ? OTHER4 : OTHER6;
	E.router = vf == 4 ? ROUTER4 : ROUTER6;
	pkt_addr(E.vip, E.vip_a);
	pkt_addr(E.client, E.client_a);
	E.tcp = vip_key(E.vip, VPORT, IPPROTO_TCP);
	E.udp = vip_key(E.vip, VPORT, IPPROTO_UDP);
	vip_add(&E.tcp, VIP_TCP_ID, 0, 0);
	vip_add(&E.udp, VIP_UDP_ID, 0, 0);
	backend_add(1, bf, XLB_BACKEND_ACTIVE, VIP_TCP_ID);
	backend_add(2, bf, XLB_BACKEND_ACTIVE, VIP_TCP_ID);
	backend_add(BE_UDP, bf, XLB_BACKEND_ACTIVE, VIP_UDP_ID);
	ring_uniform(&E.tcp, 1, 1);
	ring_uniform(&E.udp, BE_UDP, BE_UDP);
}

static uint8_t payload_buf[4096];

static struct pkt_spec tcp_to(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			      uint8_t flags, size_t payload)
{
	struct pkt_spec s = pkt_spec_tcp(src, sport, dst, dport);

	s.tcp_flags = flags;
	s.payload = payload_buf;
	s.payload_len = payload;
	return s;
}

static struct pkt_spec tcp_vip(uint16_t sport, uint8_t flags, size_t payload)
{
	return tcp_to(E.client, sport, E.vip, VPORT, flags, payload);
}

static struct pkt_spec udp_vip(uint16_t sport, size_t payload)
{
	struct pkt_spec s = pkt_spec_udp(E.client, sport, E.vip, VPORT);

	s.payload = payload_buf;
	s.payload_len = payload;
	return s;
}

static struct pkt build(const struct pkt_spec *s)
{
	struct pkt p;

	if (pkt_build(s, &p))
		bail_out("%s: packet does not fit", case_name);
	return p;
}

/* ---- running -------------------------------------------------------------- */

struct result {
	int err;
	uint32_t verdict;
	uint8_t out[PKT_MAX + 512];
	uint32_t out_len;
	uint64_t reasons[XLB_R_MAX];		/* deltas */
	struct xlb_vip_stats vip[NVIP];
	struct xlb_backend_stats be[NBE];
};
static struct result R;
static const struct pkt *R_in;

static void snapshot(uint64_t reasons[XLB_R_MAX], struct xlb_vip_stats vip[NVIP],
		     struct xlb_backend_stats be[NBE])
{
	uint32_t i;

	must(xlb_dp_reasons_read(&dp, reasons), "xlb_dp_reasons_read");
	for (i = 0; i < NVIP; i++)
		must(xlb_dp_vip_stats_read(&dp, i, &vip[i]), "xlb_dp_vip_stats_read");
	for (i = 0; i < NBE; i++)
		must(xlb_dp_backend_stats_read(&dp, i, &be[i]), "xlb_dp_backend_stats_read");
}

static const char *verdict_name(uint32_t v)
{
	static const char *n[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

	return v < 5 ? n[v] : "?";
}

static void run(const struct pkt *p)
{
	uint64_t r0[XLB_R_MAX], r1[XLB_R_MAX];
	static struct xlb_vip_stats v0[NVIP], v1[NVIP];
	static struct xlb_backend_stats b0[NBE], b1[NBE];
	LIBBPF_OPTS(bpf_test_run_opts, o);
	int i;

	snapshot(r0, v0, b0);
	memset(R.out, 0, sizeof(R.out));
	o.data_in = p->buf;
	o.data_size_in = (uint32_t)p->len;
	o.data_out = R.out;
	o.data_size_out = sizeof(R.out);
	o.repeat = 1;
	R.err = bpf_prog_test_run_opts(prog_fd, &o);
	R.verdict = o.retval;
	R.out_len = o.data_size_out;
	R_in = p;
	snapshot(r1, v1, b1);
	for (i = 0; i < XLB_R_MAX; i++)
		R.reasons[i] = r1[i] - r0[i];
	for (i = 0; i < NVIP; i++) {
		R.vip[i].packets = v1[i].packets - v0[i].packets;
		R.vip[i].bytes = v1[i].bytes - v0[i].bytes;
		R.vip[i].new_flows = v1[i].new_flows - v0[i].new_flows;
		R.vip[i].drops = v1[i].drops - v0[i].drops;
	}
	for (i = 0; i < NBE; i++) {
		R.be[i].packets = b1[i].packets - b0[i].packets;
		R.be[i].bytes = b1[i].bytes - b0[i].bytes;
		R.be[i].new_flows = b1[i].new_flows - b0[i].new_flows;
	}
	if (R.err)
		diag("%s: bpf_prog_test_run_opts: %s", case_name, strerror(errno));
}

/* ---- checks --------------------------------------------------------------- */

static bool check_verdict(uint32_t want)
{
	if (ok(R.err == 0 && R.verdict == want, "%s: verdict %s", case_name, verdict_name(want)))
		return true;
	diag("  got %s (%u), test run %s", verdict_name(R.verdict), R.verdict,
	     R.err ? strerror(errno) : "ok");
	return false;
}

#define END_REASONS (-1)
#define IGN(r) (1ull << (r))
#define IGN_FLOW (IGN(XLB_R_EV_FLOW_HIT) | IGN(XLB_R_EV_FLOW_MISS) | IGN(XLB_R_EV_FLOW_DOWN))

/* check_reasons(ignore, R1, n1, R2, n2, ..., END_REASONS): exactly these
 * reasons moved, by exactly these amounts; reasons in IGNORE may move. */
static bool check_reasons(uint64_t ignore, ...)
{
	uint64_t want[XLB_R_MAX] = { 0 };
	struct chk c = { 0 };
	va_list ap;
	int r, i;

	va_start(ap, ignore);
	while ((r = va_arg(ap, int)) != END_REASONS)
		want[r] += (uint64_t)va_arg(ap, int);
	va_end(ap);
	for (i = 0; i < XLB_R_MAX; i++) {
		if (R.reasons[i] == want[i] || (ignore & IGN(i)))
			continue;
		chk_fail(&c, "%s: moved by %llu, want %llu", xlb_reason_name((enum xlb_reason)i),
			 (unsigned long long)R.reasons[i], (unsigned long long)want[i]);
	}
	return chk_done(&c, "counters (xlb_reasons)");
}

#define ANY UINT64_MAX			/* a counter that may move by any amount */
#define EQ(got, want) ((want) == ANY || (got) == (want))

/* VIP stats deltas: packets, bytes, new_flows, drops. */
static bool check_vip_stats(uint32_t vip_id, uint64_t pk, uint64_t by, uint64_t nf, uint64_t dr)
{
	struct chk c = { 0 };
	const struct xlb_vip_stats *s = &R.vip[vip_id];
	uint32_t i;

	if (!EQ(s->packets, pk) || !EQ(s->bytes, by) || !EQ(s->new_flows, nf) || !EQ(s->drops, dr))
		chk_fail(&c, "vip %u: +%llu packets +%llu bytes +%llu new_flows +%llu drops, "
			 "want +%llu +%llu +%llu +%llu", vip_id,
			 (unsigned long long)s->packets, (unsigned long long)s->bytes,
			 (unsigned long long)s->new_flows, (unsigned long long)s->drops,
			 (unsigned long long)pk, (unsigned long long)by,
			 (unsigned long long)nf, (unsigned long long)dr);
	for (i = 0; i < NVIP; i++) {
		const struct xlb_vip_stats *o = &R.vip[i];

		if (i != vip_id && (o->packets || o->bytes || (o->new_flows && nf != ANY) || o->drops))
			chk_fail(&c, "vip %u moved too", i);
	}
	return chk_done(&c, "VIP stats");
}

/* Backend stats deltas (BE_ID = XLB_NO_BACKEND: none may move). */
static bool check_be_stats(uint32_t be_id, uint64_t pk, uint64_t by, uint64_t nf)
{
	struct chk c = { 0 };
	uint32_t i;

	for (i = 0; i < NBE; i++) {
		const struct xlb_backend_stats *s = &R.be[i];
		uint64_t wp = i == be_id ? pk : 0, wb = i == be_id ? by : 0, wn = i == be_id ? nf : 0;

		if (s->packets != wp || s->bytes != wb || !EQ(s->new_flows, nf == ANY ? ANY : wn))
			chk_fail(&c, "backend %u: +%llu packets +%llu bytes +%llu new_flows, "
				 "want +%llu +%llu +%llu", i,
				 (unsigned long long)s->packets, (unsigned long long)s->bytes,
				 (unsigned long long)s->new_flows, (unsigned long long)wp,
				 (unsigned long long)wb, (unsigned long long)wn);
	}
	return chk_done(&c, "backend stats");
}

static bool no_stats_moved(void)
{
	struct chk c = { 0 };
	int i;

	for (i = 0; i < NVIP; i++)
		if (R.vip[i].packets || R.vip[i].bytes || R.vip[i].new_flows || R.vip[i].drops)
			chk_fail(&c, "vip %d stats moved", i);
	for (i = 0; i < NBE; i++)
		if (R.be[i].packets || R.be[i].bytes || R.be[i].new_flows)
			chk_fail(&c, "backend %d stats moved", i);
	return chk_done(&c, "no VIP/backend stats moved");
}

/* XDP_PASS with the frame untouched, counted under REASON. */
static bool expect_pass(const struct pkt *p, enum xlb_reason reason)
{
	bool good = true;

	run(p);
	good &= check_verdict(XDP_PASS);
	if (R.out_len != p->len || memcmp(R.out, p->buf, p->len)) {
		ok(0, "%s: frame unchanged", case_name);
		diag("  out %u bytes, in %zu bytes", R.out_len, p->len);
		pkt_hexdump("in", p->buf, p->len, 128);
		pkt_hexdump("out", R.out, R.out_len, 128);
		good = false;
	} else {
		ok(1, "%s: frame unchanged", case_name);
	}
	good &= check_reasons(0, reason, 1, END_REASONS);
	good &= no_stats_moved();
	return good;
}

/* XDP_DROP counted under REASON; VIP_ID's drops +1 (or no VIP stats move
 * with VIP_ID < 0). LATE: dropped after the backend choice (steps 9-11),
 * so a flow entry may have been recorded (new_flows may move). */
static bool expect_drop_x(const struct pkt *p, enum xlb_reason reason, int vip_id,
			  uint64_t ignore, bool late)
{
	bool good = true;

	run(p);
	good &= check_verdict(XDP_DROP);
	good &= check_reasons(ignore, reason, 1, END_REASONS);
	if (vip_id >= 0) {
		good &= check_vip_stats((uint32_t)vip_id, 0, 0, late ? ANY : 0, 1);
		good &= check_be_stats(XLB_NO_BACKEND, 0, 0, late ? ANY : 0);
	} else {
		good &= no_stats_moved();
	}
	return good;
}

static bool expect_drop(const struct pkt *p, enum xlb_reason reason, int vip_id, uint64_t ignore)
{
	return expect_drop_x(p, reason, vip_id, ignore, false);
}

/* The checksum fields of an IP packet that pkt_parse_ip accepted. */
static void check_inner_csums(struct chk *c, const uint8_t *ip, size_t len)
{
	struct pkt_ip pi;
	const char *err = pkt_parse_ip(ip, len, true, &pi);

	if (err) {
		chk_fail(c, "inner packet malformed: %s", err);
		return;
	}
	if (pi.is_fragment)
		return;
	if (pi.proto == IPPROTO_UDP)	/* covers the UDP length, may be < IP payload */
		pi.l4_len = pkt_get16(pi.l4 + 4);
	if ((pi.proto == IPPROTO_TCP || pi.proto == IPPROTO_UDP || pi.proto == IPPROTO_ICMP ||
	     pi.proto == IPPROTO_ICMPV6) &&
	    !pkt_l4_csum_ok(pi.family, pi.src, pi.dst, pi.proto, pi.l4, pi.l4_len))
		chk_fail(c, "inner L4 checksum (proto %u) does not verify", pi.proto);
}

struct fwd {
	uint32_t be_id;			/* backend it must reach */
	int be_family;
	const uint8_t *inner;		/* expected inner packet (NULL: input, trimmed) */
	size_t inner_len;
	int skip_off;			/* inner offset of a 2-byte field to skip (-1) */
	bool src_prefix;		/* outer source from the configured prefix */
};

static struct pkt_encap last_encap;
static uint32_t last_label;		/* outer IPv6 flow label of the last TX */
static uint8_t last_outer_src[16];

/* XDP_TX, and the output is IN encapsulated to F->be_id: Ethernet, every
 * outer header byte, inner bytes and checksums. Counters are checked by the
 * caller. */
static bool expect_fwd(const struct pkt *in, const struct fwd *f)
{
	const uint8_t *in_ip = in->buf + in->l3_off;
	const uint8_t *want_inner = f->inner ? f->inner : in_ip;
	size_t want_len = f->inner ? f->inner_len : in->ip_len;
	struct pkt_l2 l2in;
	struct pkt_encap e;
	struct chk c = { 0 };
	uint8_t be[16], h[40], src[16] = { 0 };
	int in_family = in_ip[0] >> 4;
	uint8_t tos;
	bool df, good = true;
	uint8_t ttl = G_cfg.ttl ? G_cfg.ttl : 64;
	const char *err;
	size_t i;

	run(in);
	if (!check_verdict(XDP_TX)) {
		pkt_hexdump("in", in->buf, in->len, 96);
		return false;
	}
	err = pkt_parse_encap(R.out, R.out_len, &e);
	if (!ok(!err, "%s: output is an IP-in-IP frame", case_name)) {
		diag("  %s", err);
		pkt_hexdump("out", R.out, R.out_len, 128);
		return false;
	}
	last_encap = e;
	pkt_parse_l2(in->buf, in->len, &l2in);

	/* Ethernet: to the gateway, from this interface, same tag */
	if (memcmp(e.l2.dst, G_cfg.gw_mac, 6))
		chk_fail(&c, "eth dst is not gw_mac");
	if (memcmp(e.l2.src, l2in.dst, 6))
		chk_fail(&c, "eth src is not the frame's old destination");
	if (e.l2.n_vlan != l2in.n_vlan ||
	    (l2in.n_vlan && (e.l2.vlan_tpid[0] != l2in.vlan_tpid[0] ||
			     e.l2.vlan_tci[0] != l2in.vlan_tci[0])))
		chk_fail(&c, "VLAN tag not kept (got %d tags, tpid %04x tci %04x; want %d, %04x %04x)",
			 e.l2.n_vlan, e.l2.vlan_tpid[0], e.l2.vlan_tci[0], l2in.n_vlan,
			 l2in.vlan_tpid[0], l2in.vlan_tci[0]);
	if (e.l2.proto != (f->be_family == 4 ? PKT_ETH_P_IP : PKT_ETH_P_IPV6))
		chk_fail(&c, "EtherType %04x does not match the backend family", e.l2.proto);
	good &= chk_done(&c, "Ethernet header");

	/* outer header, byte by byte */
	memset(&c, 0, sizeof(c));
	be_addr(f->be_family, f->be_id, be);
	if (in_family == 4) {
		tos = in_ip[1];
		df = pkt_get16(in_ip + 6) & PKT_IP_DF;
	} else {
		tos = (uint8_t)(pkt_get32(in_ip) >> 20);
		df = true;
	}
	const uint8_t *o = R.out + e.l2.hlen;
	if (e.outer.family != f->be_family) {
		chk_fail(&c, "outer family %d, backend's is %d", e.outer.family, f->be_family);
	} else if (f->be_family == 4) {
		memset(h, 0, 20);
		h[0] = 0x45;
		h[1] = tos;
		pkt_put16(h + 2, (uint16_t)(20 + want_len));
		pkt_put16(h + 6, df ? PKT_IP_DF : 0);
		h[8] = ttl;
		h[9] = in_family == 4 ? PKT_IPPROTO_IPIP : PKT_IPPROTO_IPV6;
		memcpy(h + 12, f->src_prefix ? o + 12 : (const uint8_t *)&G_cfg.src_v4, 4);
		memcpy(h + 16, be, 4);
		pkt_put16(h + 10, pkt_csum(h, 20));
		static const char *names[20] = { "version/IHL", "TOS", "total length", "total length",
			"ID", "ID", "flags/fragment", "flags/fragment", "TTL", "protocol", "checksum",
			"checksum", "source", "source", "source", "source", "destination",
			"destination", "destination", "destination" };
		for (i = 0; i < 20; i++)
			if (o[i] != h[i])
				chk_fail(&c, "outer IPv4 byte %zu (%s): got 0x%02x, want 0x%02x", i,
					 names[i], o[i], h[i]);
		memcpy(src, o + 12, 4);
	} else {
		uint32_t w0 = pkt_get32(o);

		memset(h, 0, 40);
		pkt_put32(h, 6u << 28 | (uint32_t)tos << 20 | (w0 & 0xfffff));
		pkt_put16(h + 4, (uint16_t)want_len);
		h[6] = in_family == 4 ? PKT_IPPROTO_IPIP : PKT_IPPROTO_IPV6;
		h[7] = ttl;
		memcpy(h + 8, f->src_prefix ? o + 8 : (const uint8_t *)G_cfg.src_v6, 16);
		memcpy(h + 24, be, 16);
		static const char *names6[] = { "version/class", "class/label", "label", "label",
			"payload length", "payload length", "next header", "hop limit" };
		for (i = 0; i < 40; i++)
			if (o[i] != h[i])
				chk_fail(&c, "outer IPv6 byte %zu (%s): got 0x%02x, want 0x%02x", i,
					 i < 8 ? names6[i] : i < 24 ? "source" : "destination",
					 o[i], h[i]);
		last_label = w0 & 0xfffff;
		memcpy(src, o + 8, 16);
	}
	memcpy(last_outer_src, src, 16);
	if (R.out_len != e.l2.hlen + (f->be_family == 4 ? 20 : 40) + want_len)
		chk_fail(&c, "frame length %u, want %zu (outer + inner, no padding)", R.out_len,
			 e.l2.hlen + (f->be_family == 4 ? 20 : 40) + want_len);
	good &= chk_done(&c, "outer IP header");

	/* inner: the input packet, padding trimmed, only the allowed change */
	memset(&c, 0, sizeof(c));
	if (e.inner_len != want_len) {
		chk_fail(&c, "inner length %zu, want %zu", e.inner_len, want_len);
	} else {
		for (i = 0; i < want_len; i++) {
			if (f->skip_off >= 0 && (i == (size_t)f->skip_off || i == (size_t)f->skip_off + 1))
				continue;
			if (e.inner[i] != want_inner[i]) {
				chk_fail(&c, "inner byte %zu: got 0x%02x, want 0x%02x", i, e.inner[i],
					 want_inner[i]);
				break;
			}
		}
	}
	check_inner_csums(&c, e.inner, e.inner_len);
	good &= chk_done(&c, "inner packet");
	return good;
}

/* Forward to backend BE of the setup's family, inner = input. */
static bool expect_fwd_to(const struct pkt *in, uint32_t be)
{
	struct fwd f = { .be_id = be, .be_family = E.bf, .skip_off = -1 };

	return expect_fwd(in, &f);
}

/* ---- flow table ----------------------------------------------------------- */

static struct xlb_flow_key flow_key(const struct pkt_spec *s)
{
	struct xlb_flow_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.src, s->src, 16);
	memcpy(k.dst, s->dst, 16);
	k.sport = htons(s->sport);
	k.dport = htons(s->dport);
	k.proto = s->proto;
	k.family = (uint8_t)s->family;
	return k;
}

/* Backend id of S's flow entry, or XLB_NO_BACKEND without one. */
static uint32_t flow_backend(const struct pkt_spec *s, struct xlb_flow *out)
{
	struct xlb_flow_key k = flow_key(s);
	struct xlb_flow f;

	if (bpf_map_lookup_elem(dp.flows, &k, &f))
		return XLB_NO_BACKEND;
	if (out)
		*out = f;
	return f.backend_id;
}

/* Record S's flow -> backend BE as the data path would: under the
 * backend's current generation. */
static void flow_put(const struct pkt_spec *s, uint32_t be, uint64_t last_seen)
{
	struct xlb_flow_key k = flow_key(s);
	struct xlb_flow f = { .backend_id = be, .last_seen = last_seen };
	struct xlb_backend b;

	if (xlb_dp_backend_get(&dp, be, &b) == 0)
		f.backend_gen = b.gen;

	if (bpf_map_update_elem(dp.flows, &k, &f, BPF_ANY))
		bail_out("writing a flow entry: %s", strerror(errno));
}

static uint64_t flow_count(void)
{
	struct xlb_flow_key k, next;
	uint64_t n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(dp.flows, prev, &next) == 0) {
		n++;
		k = next;
		prev = &k;
	}
	return n;
}

/* The kernel's jiffies (what bpf_jiffies64() returns), from
 * /proc/timer_list; 0 if it cannot be read. */
static uint64_t jiffies_now(void)
{
	char line[256];
	uint64_t j = 0;
	FILE *f = fopen("/proc/timer_list", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "jiffies: %llu", (unsigned long long *)&j) == 1)
			break;
	fclose(f);
	return j;
}


static bool check_flow(const struct pkt_spec *s, uint32_t want)
{
	struct xlb_flow f;
	uint32_t got = flow_backend(s, &f);

	if (want == XLB_NO_BACKEND) {
		if (ok(got == XLB_NO_BACKEND, "%s: no flow entry", case_name))
			return true;
		diag("  entry -> backend %u", got);
		return false;
	}
	if (!ok(got == want, "%s: flow entry -> backend %u", case_name, want)) {
		if (got == XLB_NO_BACKEND)
			diag("  no entry");
		else
			diag("  entry -> backend %u", got);
		return false;
	}
	return true;
}

/* ======================================================================== */
/* 1-5: what is not ours passes untouched, malformed drops                   */
/* ======================================================================== */

static void test_not_ours(int vf)
{
	struct pkt_spec s;
	struct pkt p;
	uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };

	setup(vf, vf);

	/* 1: ARP and other non-IP EtherTypes pass */
	T("v%d arp", vf);
	memset(&s, 0, sizeof(s));
	memset(s.eth_dst, 0xff, 6);
	s.eth_src[0] = 2;
	s.eth_proto = PKT_ETH_P_ARP;
	s.payload = arp;
	s.payload_len = sizeof(arp);
	s.pad_to = 60;
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_NON_IP);

	/* 1: an ARP behind a VLAN tag passes too */
	T("v%d vlan arp", vf);
	s.vlan_tpid[0] = PKT_ETH_P_8021Q;
	s.vlan_tci[0] = 7;
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_NON_IP);

	/* 5: TCP to an address with no VIP */
	T("v%d tcp to non-VIP address", vf);
	s = tcp_to(E.client, 40000, E.other, VPORT, PKT_TCP_SYN, 0);
	pkt_opt_mss(&s, 1460);
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_NOT_VIP);

	/* 5: the VIP address, a port with no VIP */
	T("v%d tcp to VIP address, other port", vf);
	s = tcp_to(E.client, 40000, E.vip, 80, PKT_TCP_ACK, 10);
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_NOT_VIP);

	/* 5: UDP to a port that only has a TCP VIP */
	T("v%d udp to a TCP-only VIP port", vf);
	reset();
	config_default();
	vip_add(&E.tcp, VIP_TCP_ID, 0, 0);
	backend_add(1, vf, XLB_BACKEND_ACTIVE, VIP_TCP_ID);
	ring_uniform(&E.tcp, 1, 1);
	s = pkt_spec_udp(E.client, 40000, E.vip, VPORT);
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_NOT_VIP);
	setup(vf, vf);

	/* 5: UDP to a non-VIP address, padded frame: untouched, padding kept */
	T("v%d udp to non-VIP, padded", vf);
	s = pkt_spec_udp(E.client, 5353, E.other, 5353);
	s.pad_to = 100;
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_NOT_VIP);

	/* 4: other protocol (GRE) not to a VIP address passes */
	T("v%d gre to non-VIP", vf);
	s = tcp_to(E.client, 0, E.other, 0, 0, 24);
	s.proto = PKT_IPPROTO_GRE;
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_OTHER_PROTO);

	/* ICMP echo to the VIP address: the host answers, not us */
	T("v%d icmp echo to VIP address", vf);
	s = pkt_spec_icmp(E.client, E.vip, vf == 4 ? 8 : 128, 0);
	s.icmp_rest = 0x00010001;
	s.payload = payload_buf;
	s.payload_len = 56;
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_ICMP);

	/* ICMP error to an address that has no VIP */
	T("v%d icmp error to non-VIP address", vf);
	s = pkt_spec_icmp(E.router, E.other, vf == 4 ? 3 : 1, vf == 4 ? 1 : 3);
	s.payload = payload_buf;
	s.payload_len = vf == 4 ? 28 : 48;
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_ICMP);

	if (vf == 6) {
		/* neighbour solicitation for the VIP address: the host's business */
		T("v6 neighbour solicitation for the VIP");
		s = pkt_spec_icmp(CLIENT6, "ff02::1:ff00:1", 135, 0);
		s.ttl = 255;
		s.payload = E.vip_a;
		s.payload_len = 16;
		p = build(&s);
		expect_pass(&p, XLB_R_PASS_ICMP);
	}

	/* 5: TCP to a non-VIP address too short to read the ports: pass */
	T("v%d truncated tcp to non-VIP", vf);
	s = tcp_to(E.client, 1, E.other, 2, 0, 0);
	{
		struct pkt_spec r = s;
		uint8_t two[2] = { 0x9c, 0x40 };

		r.proto = 250;		/* build a 2-byte L4 and relabel it TCP */
		r.payload = two;
		r.payload_len = 2;
		p = build(&r);
		p.buf[p.l3_off + (vf == 4 ? 9 : 6)] = IPPROTO_TCP;
		p.proto = IPPROTO_TCP;
		pkt_fix_csums(&p);
	}
	expect_pass(&p, XLB_R_PASS_NOT_VIP);

	/* 4/5: a removed VIP is not a VIP, whatever the flow table still
	 * holds (an entry left over from before the removal) */
	T("v%d removed VIP with a leftover flow entry", vf);
	setup(vf, vf);
	s = tcp_vip(40100, PKT_TCP_ACK, 10);
	must(xlb_dp_vip_del(&dp, &E.tcp), "xlb_dp_vip_del");
	flow_put(&s, 1, jiffies_now());
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_NOT_VIP);

	/* no configuration at all: foreign traffic still passes */
	T("v%d non-VIP with no config", vf);
	reset();
	s = tcp_to(E.client, 40000, E.other, 22, PKT_TCP_ACK, 0);
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_NOT_VIP);
}

/* Build an L4 of LEN raw bytes with protocol PROTO (no header made by pkt). */
static struct pkt raw_l4(const char *src, const char *dst, uint8_t proto, const uint8_t *l4,
			 size_t len)
{
	struct pkt_spec s = pkt_spec_udp(src, 0, dst, 0);
	struct pkt p;

	s.proto = 253;				/* experimental: no header built */
	s.payload = l4;
	s.payload_len = len;
	p = build(&s);
	p.buf[p.l3_off + (s.family == 4 ? 9 : 6)] = proto;
	p.proto = proto;
	if (s.family == 4)
		pkt_fix_csums(&p);
	return p;
}

static void test_l2(void)
{
	struct pkt_spec s;
	struct pkt p;

	setup(4, 4);

	/* 1: 802.1Q-tagged VIP traffic is forwarded with the tag kept */
	T("vlan 802.1Q tcp to VIP");
	s = tcp_vip(40001, PKT_TCP_ACK, 100);
	s.vlan_tpid[0] = PKT_ETH_P_8021Q;
	s.vlan_tci[0] = 0x2064;			/* PCP 1, VID 100 */
	p = build(&s);
	expect_fwd_to(&p, 1);

	/* 1: an 802.1ad (QinQ outer TPID) single tag works the same */
	T("vlan 802.1ad tcp to VIP");
	s.vlan_tpid[0] = PKT_ETH_P_8021AD;
	s.vlan_tci[0] = 0x0123;
	p = build(&s);
	expect_fwd_to(&p, 1);

	/* 1: two tags: left to the kernel (QinQ devices), untouched */
	T("vlan nested to VIP");
	s.vlan_tpid[0] = PKT_ETH_P_8021AD;
	s.vlan_tpid[1] = PKT_ETH_P_8021Q;
	s.vlan_tci[1] = 5;
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_VLAN_NESTED);
	T("vlan nested to non-VIP");
	s = tcp_to(E.client, 1, E.other, 2, PKT_TCP_ACK, 0);
	s.vlan_tpid[0] = PKT_ETH_P_8021Q;
	s.vlan_tpid[1] = PKT_ETH_P_8021Q;
	p = build(&s);
	expect_pass(&p, XLB_R_PASS_VLAN_NESTED);

	/* 1: a tag cut short (frame ends inside the tag's EtherType) */
	T("vlan truncated");
	memset(&s, 0, sizeof(s));
	s.eth_dst[0] = 2;
	s.eth_src[0] = 2;
	s.eth_proto = PKT_ETH_P_8021Q;		/* then 2 bytes of TCI and nothing */
	{
		uint8_t tci[2] = { 0, 5 };

		s.payload = tci;
		s.payload_len = 2;
		p = build(&s);
	}
	expect_drop(&p, XLB_R_DROP_ETH_TRUNC, -1, 0);
}


static void test_ip_malformed(int vf)
{
	struct pkt_spec s;
	struct pkt p;
	int pass;

	setup(vf, vf);
	for (pass = 0; pass < 2; pass++) {
		const char *dst = pass == 0 ? E.vip : E.other;
		const char *who = pass == 0 ? "VIP" : "non-VIP";
		size_t l3;

		s = tcp_to(E.client, 40000, dst, VPORT, PKT_TCP_ACK, 40);

		/* 2: IP header cut short */
		T("v%d ip truncated, to %s", vf, who);
		p = build(&s);
		p.len = p.l3_off + (vf == 4 ? 12 : 30);
		expect_drop(&p, XLB_R_DROP_IP_TRUNC, -1, 0);

		/* 2: IP version that does not match the EtherType */
		T("v%d ip version mismatch, to %s", vf, who);
		p = build(&s);
		pkt_put16(p.buf + p.l3_off - 2, vf == 4 ? PKT_ETH_P_IPV6 : PKT_ETH_P_IP);
		expect_drop(&p, XLB_R_DROP_IP_VERSION, -1, 0);

		/* 2: a version that is neither */
		T("v%d ip version 5, to %s", vf, who);
		p = build(&s);
		p.buf[p.l3_off] = (uint8_t)(0x50 | (p.buf[p.l3_off] & 0xf));
		expect_drop(&p, XLB_R_DROP_IP_VERSION, -1, 0);

		if (vf == 4) {
			l3 = p.l3_off;
			/* 2: IHL below 5 */
			T("v4 ihl 4, to %s", who);
			p = build(&s);
			p.buf[l3] = 0x44;
			pkt_put16(p.buf + l3 + 10, 0);
			pkt_put16(p.buf + l3 + 10, pkt_csum(p.buf + l3, 16));
			expect_drop(&p, XLB_R_DROP_IP_HDR_LEN, -1, 0);

			/* 2: IHL beyond the frame (60-byte header, 20 bytes of IP) */
			T("v4 ihl 15 beyond the frame, to %s", who);
			{
				struct pkt_spec u = s;

				u.proto = 253;
				u.payload_len = 0;
				p = build(&u);
			}
			p.buf[l3] = 0x4f;
			expect_drop(&p, XLB_R_DROP_IP_HDR_LEN, -1, 0);

			/* 2: total length below the header length */
			T("v4 total length 16, to %s", who);
			p = build(&s);
			pkt_put16(p.buf + l3 + 2, 16);
			pkt_fix_csums(&p);
			expect_drop(&p, XLB_R_DROP_IP_LEN, -1, 0);

			/* 2: total length beyond the frame */
			T("v4 total length beyond the frame, to %s", who);
			p = build(&s);
			pkt_put16(p.buf + l3 + 2, (uint16_t)(p.ip_len + 1));
			pkt_fix_csums(&p);
			expect_drop(&p, XLB_R_DROP_IP_LEN, -1, 0);
		} else {
			l3 = p.l3_off;
			/* 2: payload length beyond the frame */
			T("v6 payload length beyond the frame, to %s", who);
			p = build(&s);
			pkt_put16(p.buf + l3 + 4, (uint16_t)(p.ip_len - 40 + 1));
			expect_drop(&p, XLB_R_DROP_IP_LEN, -1, 0);

			/* 2: five extension headers: more than the 4 walked */
			T("v6 five extension headers, to %s", who);
			{
				struct pkt_spec u = s;
				uint8_t t[5] = { PKT_IPPROTO_HOPOPTS, PKT_IPPROTO_DSTOPTS,
						 PKT_IPPROTO_ROUTING, PKT_IPPROTO_DSTOPTS,
						 PKT_IPPROTO_DSTOPTS };
				int i;

				for (i = 0; i < 5; i++)
					u.ext[i].type = t[i];
				u.n_ext = 5;
				p = build(&u);
			}
			expect_drop(&p, XLB_R_DROP_IP6_EXT, -1, 0);

			/* 2: an extension header running past the packet */
			T("v6 extension header truncated, to %s", who);
			{
				struct pkt_spec u = s;

				u.ext[0].type = PKT_IPPROTO_HOPOPTS;
				u.n_ext = 1;
				u.payload_len = 0;
				p = build(&u);
				p.buf[l3 + 41] = 20;	/* 168 bytes; the packet has 68 */
			}
			expect_drop(&p, XLB_R_DROP_IP6_EXT, -1, 0);
		}
	}
}

static void test_fragments(int vf)
{
	struct pkt_spec s;
	struct pkt p;
	int pass;

	setup(vf, vf);
	for (pass = 0; pass < 2; pass++) {
		const char *dst = pass == 0 ? E.vip : E.other;
		enum xlb_reason want = pass == 0 ? XLB_R_DROP_FRAGMENT : XLB_R_PASS_FRAGMENT;
		const char *who = pass == 0 ? "VIP address" : "non-VIP address";

		s = tcp_to(E.client, 40000, dst, VPORT, PKT_TCP_ACK, 200);
		if (vf == 4) {
			/* 3: first fragment (MF), ports readable */
			T("v4 first fragment to %s", who);
			s.ip_frag = PKT_IP_MF;
			p = build(&s);
			if (pass == 0)
				expect_drop(&p, want, -1, 0);
			else
				expect_pass(&p, want);

			/* 3: a later fragment (offset, no L4 header) */
			T("v4 last fragment to %s", who);
			s.ip_frag = 185;		/* offset 1480 */
			p = build(&s);
			if (pass == 0)
				expect_drop(&p, want, -1, 0);
			else
				expect_pass(&p, want);
		} else {
			/* 3: first fragment */
			T("v6 first fragment to %s", who);
			s.ext[0].type = PKT_IPPROTO_FRAGMENT;
			s.ext[0].more = true;
			s.ext[0].id = 0xabcdef;
			s.n_ext = 1;
			p = build(&s);
			if (pass == 0)
				expect_drop(&p, want, -1, 0);
			else
				expect_pass(&p, want);

			/* 3: an atomic fragment (offset 0, no M) is a fragment header too */
			T("v6 atomic fragment to %s", who);
			s.ext[0].more = false;
			p = build(&s);
			if (pass == 0)
				expect_drop(&p, want, -1, 0);
			else
				expect_pass(&p, want);

			/* 3: a later fragment behind a hop-by-hop header */
			T("v6 later fragment behind hop-by-hop to %s", who);
			s.ext[0].type = PKT_IPPROTO_HOPOPTS;
			s.ext[1].type = PKT_IPPROTO_FRAGMENT;
			s.ext[1].frag_off = 100;
			s.n_ext = 2;
			p = build(&s);
			if (pass == 0)
				expect_drop(&p, want, -1, 0);
			else
				expect_pass(&p, want);
		}
	}

	/* 3: a fragment to the VIP address on a port that is no VIP: the
	 * address decides, not the port */
	T("v%d fragment to VIP address, other port", vf);
	s = tcp_to(E.client, 40000, E.vip, 8080, PKT_TCP_ACK, 200);
	if (vf == 4) {
		s.ip_frag = PKT_IP_MF;
	} else {
		s.ext[0].type = PKT_IPPROTO_FRAGMENT;
		s.ext[0].more = true;
		s.n_ext = 1;
	}
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_FRAGMENT, -1, 0);
}

static void test_protocols(int vf)
{
	struct pkt_spec s;
	struct pkt p;
	uint8_t l4[40] = { 0 };

	setup(vf, vf);

	/* 4: GRE to a VIP address */
	T("v%d gre to VIP address", vf);
	s = tcp_to(E.client, 0, E.vip, 0, 0, 24);
	s.proto = PKT_IPPROTO_GRE;
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_VIP_PROTO, -1, 0);

	/* 4: SCTP to a VIP address */
	T("v%d sctp to VIP address", vf);
	s.proto = 132;
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_VIP_PROTO, -1, 0);

	/* 4: ICMP of the other family is just another protocol */
	T("v%d %s to VIP address", vf, vf == 4 ? "icmpv6" : "icmp");
	s = tcp_to(E.client, 0, E.vip, 0, 0, 24);
	s.proto = vf == 4 ? 58 : 1;
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_VIP_PROTO, -1, 0);

	if (vf == 6) {
		/* 4: "no next header" to a VIP address */
		T("v6 no-next-header to VIP address");
		s.proto = PKT_IPPROTO_NONE;
		s.payload_len = 0;
		p = build(&s);
		expect_drop(&p, XLB_R_DROP_VIP_PROTO, -1, 0);
	}

	/* 2/4: the walked extension headers are hop-by-hop, routing, dst
	 * options and fragment; TCP behind an AH is protocol 51 */
	if (vf == 6) {
		T("v6 tcp behind an AH to VIP address");
		s = tcp_vip(40000, PKT_TCP_ACK, 10);
		s.ext[0].type = PKT_IPPROTO_DSTOPTS;	/* 8 bytes, relabelled AH: */
		s.n_ext = 1;				/* (len 0 + 2) * 4 = 8 */
		p = build(&s);
		p.buf[p.l3_off + 6] = 51;
		expect_drop(&p, XLB_R_DROP_VIP_PROTO, -1, 0);
	}

	/* 5: TCP to a VIP address with 2 bytes of header: ports unreadable */
	T("v%d tcp 2 bytes to VIP address", vf);	/* no VIP known yet */
	l4[0] = 0x9c;
	l4[1] = 0x40;
	p = raw_l4(E.client, E.vip, IPPROTO_TCP, l4, 2);
	expect_drop(&p, XLB_R_DROP_L4_TRUNC, -1, 0);

	/* 5: UDP to the VIP port with 6 bytes of header: the ports read
	 * (the VIP is known and counts the drop), the header is short */
	T("v%d udp 6 bytes to VIP port", vf);
	l4[2] = VPORT >> 8;
	l4[3] = VPORT & 0xff;
	p = raw_l4(E.client, E.vip, IPPROTO_UDP, l4, 6);
	expect_drop(&p, XLB_R_DROP_L4_TRUNC, VIP_UDP_ID, 0);

	/* 5/6: TCP to the VIP port with a 12-byte header: the ports read,
	 * the header is incomplete. Either reason is a fair name for it. */
	T("v%d tcp 12 bytes to VIP port", vf);
	l4[12] = 0x50;
	p = raw_l4(E.client, E.vip, IPPROTO_TCP, l4, 12);
	run(&p);
	check_verdict(XDP_DROP);
	ok((R.reasons[XLB_R_DROP_L4_TRUNC] == 1) != (R.reasons[XLB_R_DROP_TCP_DOFF] == 1),
	   "%s: counted once as drop_l4_trunc or drop_tcp_doff", case_name);

	if (vf == 4) {
		/* 6: a VIP packet with a wrong IPv4 header checksum */
		T("v4 bad ip checksum to VIP");
		s = tcp_vip(40000, PKT_TCP_ACK, 20);
		p = build(&s);
		p.buf[p.l3_off + 10] ^= 0x40;
		expect_drop(&p, XLB_R_DROP_IP_CSUM, VIP_TCP_ID, 0);

		/* not ours: the kernel judges it */
		T("v4 bad ip checksum to non-VIP");
		s = tcp_to(E.client, 40000, E.other, VPORT, PKT_TCP_ACK, 20);
		p = build(&s);
		p.buf[p.l3_off + 10] ^= 0x40;
		expect_pass(&p, XLB_R_PASS_NOT_VIP);
	}

	/* 6: TCP data offset below 5 */
	T("v%d tcp doff 4", vf);
	s = tcp_vip(40000, PKT_TCP_ACK, 20);
	p = build(&s);
	p.buf[p.l4_off + 12] = 0x40;
	pkt_fix_csums(&p);
	expect_drop(&p, XLB_R_DROP_TCP_DOFF, VIP_TCP_ID, 0);

	/* 6: TCP data offset beyond the IP payload (60 bytes claimed, 20+4) */
	T("v%d tcp doff 15 beyond payload", vf);
	s = tcp_vip(40000, PKT_TCP_ACK, 4);
	p = build(&s);
	p.buf[p.l4_off + 12] = 0xf0;
	pkt_fix_csums(&p);
	expect_drop(&p, XLB_R_DROP_TCP_DOFF, VIP_TCP_ID, 0);

	/* 6: TCP data offset reaching into Ethernet padding, not the IP payload */
	T("v%d tcp doff into padding", vf);
	s = tcp_vip(40000, PKT_TCP_ACK, 0);
	s.pad_to = 200;
	p = build(&s);
	p.buf[p.l4_off + 12] = 0x80;		/* 32 bytes; IP payload has 20 */
	pkt_fix_csums(&p);
	expect_drop(&p, XLB_R_DROP_TCP_DOFF, VIP_TCP_ID, 0);

	/* 6: UDP length below 8 */
	T("v%d udp length 7", vf);
	s = udp_vip(5000, 20);
	p = build(&s);
	pkt_put16(p.buf + p.l4_off + 4, 7);
	pkt_fix_csums(&p);
	expect_drop(&p, XLB_R_DROP_UDP_LEN, VIP_UDP_ID, 0);

	/* 6: UDP length beyond the IP payload */
	T("v%d udp length beyond IP payload", vf);
	p = build(&s);
	pkt_put16(p.buf + p.l4_off + 4, 8 + 21);
	pkt_fix_csums(&p);
	expect_drop(&p, XLB_R_DROP_UDP_LEN, VIP_UDP_ID, 0);

	/* 6: UDP length shorter than the IP payload is allowed: forwarded as is */
	T("v%d udp length below IP payload", vf);
	p = build(&s);
	pkt_put16(p.buf + p.l4_off + 4, 8 + 10);
	{
		uint8_t *ip = p.buf + p.l3_off;
		uint8_t a[16] = { 0 }, b[16] = { 0 };

		memcpy(a, ip + (vf == 4 ? 12 : 8), vf == 4 ? 4 : 16);
		memcpy(b, ip + (vf == 4 ? 16 : 24), vf == 4 ? 4 : 16);
		pkt_l4_csum_set(vf, a, b, IPPROTO_UDP, p.buf + p.l4_off, 18);
	}
	if (expect_fwd_to(&p, BE_UDP))
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);
}

/* The four encapsulations: SYN, ACK (miss then hit), UDP, DF and TOS. */
static void test_forward(int vf, int bf)
{
	const char *c = combo(vf, bf);
	struct pkt_spec s;
	struct pkt p;
	struct xlb_flow fl = { 0 };
	uint32_t label;
	uint8_t src[16];
	uint64_t t;

	setup(vf, bf);

	/* 8/11: a SYN goes to new_backend and is encapsulated; with the slot's
	 * two backends equal and no older entry it writes nothing: its first
	 * non-SYN packet will (a SYN flood never writes the flow table) */
	T("%s syn", c);
	s = tcp_vip(40000, PKT_TCP_SYN, 0);
	pkt_opt_mss(&s, 536);
	pkt_opt_sack_perm(&s);
	s.tos = 0x10;
	p = build(&s);
	if (expect_fwd_to(&p, 1)) {
		check_reasons(0, XLB_R_EV_MSS_SMALLER, 1, END_REASONS);
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 0, 0);
		check_be_stats(1, 1, p.ip_len, 0);
	}
	check_flow(&s, XLB_NO_BACKEND);

	/* 8: that connection's first ACK misses and writes the entry, now */
	T("%s syn, first ack", c);
	s = tcp_vip(40000, PKT_TCP_ACK, 0);
	p = build(&s);
	t = jiffies_now();
	if (expect_fwd_to(&p, 1)) {
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 1, 0);
		check_be_stats(1, 1, p.ip_len, 1);
	}
	if (check_flow(&s, 1)) {
		flow_backend(&s, &fl);
		ok(fl.last_seen >= t && fl.last_seen <= jiffies_now(),
		   "%s: flow last_seen is now (jiffies)", case_name);
	}

	/* 8: a SYN reusing the ports of an old flow whose entry names another
	 * backend rewrites the entry, or its ACK would follow the old one */
	T("%s syn over a stale entry", c);
	s = tcp_vip(40010, PKT_TCP_SYN, 0);
	flow_put(&s, 2, jiffies_now());
	p = build(&s);
	if (expect_fwd_to(&p, 1)) {
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 1, 0);
		check_be_stats(1, 1, p.ip_len, 1);
	}
	check_flow(&s, 1);

	/* 8: a non-SYN without an entry: est_backend, flow_miss, recorded */
	T("%s ack miss", c);
	s = tcp_vip(40001, PKT_TCP_ACK | PKT_TCP_PSH, 300);
	s.tos = 0xb9;				/* DSCP 46, ECT(1) */
	p = build(&s);
	if (expect_fwd_to(&p, 1)) {
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 1, 0);
		check_be_stats(1, 1, p.ip_len, 1);
	}
	check_flow(&s, 1);
	label = last_label;
	memcpy(src, last_outer_src, 16);

	/* 8: the same flow again: flow_hit, nothing new, same outer header */
	T("%s ack hit", c);
	if (expect_fwd_to(&p, 1)) {
		check_reasons(0, XLB_R_EV_FLOW_HIT, 1, END_REASONS);
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 0, 0);
		check_be_stats(1, 1, p.ip_len, 0);
		if (bf == 6)
			is_u64(last_label, label, "%s: same flow, same flow label", case_name);
	}

	/* 11: without DF, the outer IPv4 header has no DF either */
	if (vf == 4) {
		T("%s ack without DF", c);
		s.ip_frag = 0;
		s.ip_id = 0x7777;
		p = build(&s);
		if (expect_fwd_to(&p, 1))
			check_reasons(0, XLB_R_EV_FLOW_HIT, 1, END_REASONS);
	}

	/* 8: UDP: no SYN; a miss takes est_backend and is recorded */
	T("%s udp miss", c);
	s = udp_vip(5000, 120);
	s.tos = 0x03;				/* CE */
	p = build(&s);
	if (expect_fwd_to(&p, BE_UDP)) {
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);
		check_vip_stats(VIP_UDP_ID, 1, p.ip_len, 1, 0);
		check_be_stats(BE_UDP, 1, p.ip_len, 1);
	}
	check_flow(&s, BE_UDP);

	T("%s udp hit", c);
	if (expect_fwd_to(&p, BE_UDP)) {
		check_reasons(0, XLB_R_EV_FLOW_HIT, 1, END_REASONS);
		check_vip_stats(VIP_UDP_ID, 1, p.ip_len, 0, 0);
	}

	/* 11: outer TTL / hop limit from the config */
	T("%s ttl 17", c);
	G_cfg.ttl = 17;
	config_set(&G_cfg);
	s = tcp_vip(40001, PKT_TCP_ACK, 10);
	p = build(&s);
	expect_fwd_to(&p, 1);

	/* 11: Ethernet padding is trimmed; bytes count the IP packet */
	T("%s padded small packet", c);
	s = tcp_vip(40002, PKT_TCP_ACK, 0);
	s.pad_to = vf == 4 ? 60 : 90;
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 1, 0);

	/* 11: a zero-payload UDP datagram, padded */
	T("%s padded empty udp", c);
	s = udp_vip(5001, 0);
	s.pad_to = 64 + (vf == 6 ? 20 : 0);
	p = build(&s);
	expect_fwd_to(&p, BE_UDP);
}

/* 2: IPv4 options, IPv6 extension headers: forwarded byte for byte. */
static void test_ip_headers(void)
{
	struct pkt_spec s;
	struct pkt p;
	int i;

	setup(4, 4);
	T("v4 options ack");
	s = tcp_vip(40000, PKT_TCP_ACK, 50);
	s.ip_opts[0] = 7;			/* record route, 2 slots */
	s.ip_opts[1] = 11;
	s.ip_opts[2] = 4;
	s.ip_opts[11] = 1;			/* NOP */
	s.ip_opts_len = 12;
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);
	check_flow(&s, 1);

	T("v4 options 40 bytes udp, to v6 backend");
	setup(4, 6);
	s = udp_vip(4000, 33);
	memset(s.ip_opts, 1, 39);
	s.ip_opts_len = 40;
	p = build(&s);
	expect_fwd_to(&p, BE_UDP);

	setup(6, 6);
	T("v6 four extension headers tcp");
	s = tcp_vip(40000, PKT_TCP_ACK, 50);
	{
		uint8_t t[4] = { PKT_IPPROTO_HOPOPTS, PKT_IPPROTO_DSTOPTS, PKT_IPPROTO_ROUTING,
				 PKT_IPPROTO_DSTOPTS };

		for (i = 0; i < 4; i++) {
			s.ext[i].type = t[i];
			s.ext[i].len8 = (uint8_t)i;
		}
		s.n_ext = 4;
	}
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);
	check_flow(&s, 1);

	T("v6 hop-by-hop udp to v4 backend");
	setup(6, 4);
	s = udp_vip(4000, 10);
	s.ext[0].type = PKT_IPPROTO_HOPOPTS;
	s.n_ext = 1;
	p = build(&s);
	expect_fwd_to(&p, BE_UDP);
}

/* 8: SYN -> new_backend; others -> entry, else est_backend. */
static void test_backend_choice(int vf)
{
	struct pkt_spec a, b, syn;
	struct pkt p;

	setup(vf, vf);
	ring_uniform(&E.tcp, 1, 2);

	T("v%d choice: syn takes new_backend", vf);
	syn = tcp_vip(41000, PKT_TCP_SYN, 0);
	p = build(&syn);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_MSS_NO_OPTION, 1, END_REASONS);
	check_flow(&syn, 1);

	T("v%d choice: ack follows the entry", vf);
	a = tcp_vip(41000, PKT_TCP_ACK, 0);
	p = build(&a);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_HIT, 1, END_REASONS);

	T("v%d choice: ack without entry takes est_backend", vf);
	b = tcp_vip(41001, PKT_TCP_ACK, 0);
	p = build(&b);
	if (expect_fwd_to(&p, 2)) {
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 1, 0);
		check_be_stats(2, 1, p.ip_len, 1);
	}
	check_flow(&b, 2);

	/* 8: a SYN reusing the ports of a recorded flow: new_backend wins and
	 * the entry is rewritten; a SYN never counts as hit or miss */
	T("v%d choice: syn over an existing entry", vf);
	syn = tcp_vip(41001, PKT_TCP_SYN, 0);
	p = build(&syn);
	if (expect_fwd_to(&p, 1)) {
		check_reasons(0, XLB_R_EV_MSS_NO_OPTION, 1, END_REASONS);
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 1, 0);
	}
	check_flow(&syn, 1);

	/* 7/8: SYN-ACK is not a SYN (SYN set, ACK clear) */
	T("v%d choice: syn-ack is not a syn", vf);
	syn = tcp_vip(41002, PKT_TCP_SYN | PKT_TCP_ACK, 0);
	p = build(&syn);
	if (expect_fwd_to(&p, 2))
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);

	/* 8: FIN and RST follow the entry like any non-SYN */
	T("v%d choice: rst follows the entry", vf);
	a = tcp_vip(41000, PKT_TCP_RST, 0);
	p = build(&a);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_HIT, 1, END_REASONS);

	/* 8: an entry pointing at a DOWN backend: re-picked from est_backend,
	 * counted flow_backend_down, the entry rewritten */
	T("v%d choice: entry to a down backend", vf);
	a = tcp_vip(41000, PKT_TCP_ACK, 5);
	backend_state(1, XLB_BACKEND_DOWN);
	p = build(&a);
	if (expect_fwd_to(&p, 2)) {
		check_reasons(0, XLB_R_EV_FLOW_DOWN, 1, END_REASONS);
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 1, 0);
		check_be_stats(2, 1, p.ip_len, 1);
	}
	check_flow(&a, 2);

	/* 8: an entry recorded under an older generation of its backend id
	 * (the id was given to another (VIP, backend) since) is stale: the
	 * ring decides and the entry is rewritten */
	T("v%d choice: entry of an older backend generation", vf);
	backend_state(1, XLB_BACKEND_ACTIVE);
	{
		struct xlb_backend be1;
		struct xlb_flow fl = { 0 };

		must(xlb_dp_backend_get(&dp, 1, &be1), "xlb_dp_backend_get");
		{
			struct xlb_flow_key k = flow_key(&a);
			struct xlb_flow f = { .backend_id = 1, .backend_gen = (uint16_t)(be1.gen - 1),
					      .last_seen = jiffies_now() };

			bpf_map_update_elem(dp.flows, &k, &f, BPF_ANY);
		}
		p = build(&a);
		if (expect_fwd_to(&p, 2))
			check_reasons(IGN_FLOW, END_REASONS);
		check_flow(&a, 2);
		flow_backend(&a, &fl);
		must(xlb_dp_backend_get(&dp, 2, &be1), "xlb_dp_backend_get");
		is_u64(fl.backend_gen, be1.gen, "%s: rewritten under backend 2's generation", case_name);
	}

	/* 8: an entry pointing at a DRAINING backend is still followed */
	T("v%d choice: entry to a draining backend", vf);
	backend_state(1, XLB_BACKEND_DRAINING);
	flow_put(&a, 1, jiffies_now());
	p = build(&a);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_HIT, 1, END_REASONS);
	check_flow(&a, 1);
	backend_state(1, XLB_BACKEND_ACTIVE);

	/* drain section: UDP has no SYN: a miss takes est_backend, not new */
	T("v%d choice: udp miss takes est_backend", vf);
	backend_add(10, vf, XLB_BACKEND_ACTIVE, VIP_UDP_ID);
	ring_uniform(&E.udp, BE_UDP, 10);
	b = udp_vip(7000, 10);
	p = build(&b);
	if (expect_fwd_to(&p, 10))
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);
	check_flow(&b, 10);

	/* 8: last_seen refreshed when older than a tick... */
	T("v%d choice: stale last_seen refreshed", vf);
	{
		struct xlb_flow f = { 0 };
		uint64_t j0 = jiffies_now(), j1;
		int tries;

		flow_put(&a, 1, j0 - 1000);
		p = build(&a);
		expect_fwd_to(&p, 1);
		flow_backend(&a, &f);
		ok(f.last_seen >= j0 && f.last_seen <= jiffies_now(),
		   "%s: last_seen moved to now", case_name);

		/* ...and left alone within the tick it was set in (retried until
		 * the packet ran inside one tick) */
		T("v%d choice: last_seen of this tick kept", vf);
		for (tries = 0; tries < 20; tries++) {
			j0 = jiffies_now();
			flow_put(&a, 1, j0);
			run(&p);
			j1 = jiffies_now();
			if (j1 == j0)
				break;
		}
		flow_backend(&a, &f);
		if (j1 == j0)
			is_u64(f.last_seen, j0, "%s: last_seen untouched", case_name);
		else
			skip("%s: could not run a packet within one tick", case_name);
	}
}

/* Which backend (1..15) the last output went to, by outer destination. */
static int out_backend(int bf)
{
	const uint8_t *o = R.out + last_encap.l2.hlen;
	uint8_t a[16];
	uint32_t i;

	if (R.verdict != XDP_TX)
		return -1;
	for (i = 1; i < NBE; i++) {
		be_addr(bf, i, a);
		if (!memcmp(bf == 4 ? o + 16 : o + 24, a, bf == 4 ? 4 : 16))
			return (int)i;
	}
	return -1;
}

/* Run P and return the backend it went to (-1: not forwarded). */
static int send_to(const struct pkt *p)
{
	struct pkt_encap e;

	run(p);
	if (R.verdict != XDP_TX || pkt_parse_encap(R.out, R.out_len, &e))
		return -1;
	last_encap = e;
	return out_backend(E.bf);
}

/* An ICMP error about S's flow from ROUTER: quotes the reply VIP -> client
 * (first QLEN bytes of a packet of QFULL payload bytes). */
static struct pkt icmp_error_for(const struct pkt_spec *s, uint8_t type, uint8_t code,
				 uint32_t rest, size_t qlen)
{
	struct pkt_spec r = *s, ic;
	struct pkt q;
	char vip[64];

	/* the backend's reply, as it left with source = VIP */
	memcpy(r.src, s->dst, 16);
	memcpy(r.dst, s->src, 16);
	r.sport = s->dport;
	r.dport = s->sport;
	r.tcp_flags = PKT_TCP_ACK;
	r.ip_opts_len = 0;
	r.n_ext = 0;
	r.payload = payload_buf;
	r.payload_len = 1200;
	q = build(&r);
	pkt_addr_str(s->family, s->dst, vip);
	ic = pkt_spec_icmp(s->family == 4 ? ROUTER4 : ROUTER6, vip, type, code);
	ic.icmp_rest = rest;
	ic.payload = q.buf + q.l3_off;
	ic.payload_len = qlen;
	return build(&ic);
}

/* 8: the seeded hash: stable per flow, source-only with the VIP flag, and
 * the ICMP error about a flow reaches the same ring slot. */
static void test_hash(int vf)
{
	struct pkt_spec s;
	struct pkt p;
	int b[16], i, distinct, same;
	uint16_t port;

	setup(vf, vf);
	for (i = 1; i <= 7; i++)
		backend_add((uint32_t)i, vf, XLB_BACKEND_ACTIVE, VIP_TCP_ID);
	ring_seven(&E.tcp);

	/* without entries, a flow lands on the same slot every time */
	T("v%d hash: stable", vf);
	same = 1;
	distinct = 0;
	for (i = 0; i < 16; i++) {
		int again;

		port = (uint16_t)(30000 + i * 7);
		s = tcp_vip(port, PKT_TCP_ACK, 0);
		p = build(&s);
		b[i] = send_to(&p);
		xlb_dp_flows_flush(&dp, XLB_NO_BACKEND);
		again = send_to(&p);
		xlb_dp_flows_flush(&dp, XLB_NO_BACKEND);
		same &= b[i] > 0 && again == b[i];
	}
	ok(same, "%s: every flow reaches the same backend twice", case_name);
	for (i = 1; i < 16; i++)
		distinct += b[i] != b[0];
	ok(distinct > 0, "%s: 16 flows spread over more than one backend", case_name);

	/* the ICMP error about a flow goes where the flow's packets go */
	T("v%d hash: icmp error follows its flow's slot", vf);
	same = 1;
	for (i = 0; i < 16; i++) {
		int got;

		port = (uint16_t)(30000 + i * 7);
		s = tcp_vip(port, PKT_TCP_ACK, 0);
		p = icmp_error_for(&s, vf == 4 ? 3 : 2, vf == 4 ? 4 : 0, vf == 4 ? 1400 : 1280, 200);
		got = send_to(&p);
		if (got != b[i]) {
			diag("  flow from port %u: flow -> %d, its ICMP error -> %d", port, b[i], got);
			same = 0;
		}
	}
	ok(same, "%s: same backend for 16 flows", case_name);
	is_u64(flow_count(), 0, "%s: ICMP errors record no flow", case_name);

	/* a different seed moves some flows */
	T("v%d hash: seed matters", vf);
	G_cfg.hash_seed ^= 0x9e3779b9;
	config_set(&G_cfg);
	distinct = 0;
	for (i = 0; i < 16; i++) {
		s = tcp_vip((uint16_t)(30000 + i * 7), PKT_TCP_ACK, 0);
		p = build(&s);
		distinct += send_to(&p) != b[i];
		xlb_dp_flows_flush(&dp, XLB_NO_BACKEND);
	}
	ok(distinct > 0, "%s: another hash_seed moves some of 16 flows", case_name);

	/* XLB_VIP_F_HASH_SRC_ONLY: every port of a client, one backend */
	T("v%d hash: source only", vf);
	vip_add(&E.tcp, VIP_TCP_ID, 0, XLB_VIP_F_HASH_SRC_ONLY);
	same = 1;
	for (i = 0; i < 16; i++) {
		s = tcp_vip((uint16_t)(20000 + i * 13), PKT_TCP_SYN, 0);
		p = build(&s);
		b[i] = send_to(&p);
		same &= b[i] > 0 && b[i] == b[0];
	}
	ok(same, "%s: 16 connections of one client on one backend", case_name);
	distinct = 0;
	for (i = 0; i < 16; i++) {
		char c[64];
		int got;

		snprintf(c, sizeof(c), vf == 4 ? "198.18.0.%d" : "2001:db8:c::%x", 100 + i);
		s = tcp_to(c, 20000, E.vip, VPORT, PKT_TCP_SYN, 0);
		p = build(&s);
		got = send_to(&p);
		distinct += got != b[0];
	}
	ok(distinct > 0, "%s: 16 clients spread over more than one backend", case_name);

	/* ...and the ICMP errors about those connections follow the client */
	T("v%d hash: source only, icmp errors", vf);
	xlb_dp_flows_flush(&dp, XLB_NO_BACKEND);
	same = 1;
	for (i = 0; i < 4; i++) {
		s = tcp_vip((uint16_t)(20000 + i * 13), PKT_TCP_ACK, 0);
		p = icmp_error_for(&s, vf == 4 ? 3 : 2, vf == 4 ? 4 : 0, vf == 4 ? 1400 : 1280, 100);
		same &= send_to(&p) == b[0];
	}
	ok(same, "%s: same backend as the client's connections", case_name);
}

/* Drain section: est_backend keeps a draining backend's established flows. */
static void test_drain(int vf)
{
	struct pkt_spec s;
	struct pkt p;

	setup(vf, vf);
	/* backend 1 drains: new slots went to 2, est slots stay on 1 */
	backend_state(1, XLB_BACKEND_DRAINING);
	ring_uniform(&E.tcp, 2, 1);

	T("v%d drain: new connection avoids the draining backend", vf);
	s = tcp_vip(42000, PKT_TCP_SYN, 0);
	p = build(&s);
	expect_fwd_to(&p, 2);
	check_flow(&s, 2);

	T("v%d drain: established flow, entry kept", vf);
	s = tcp_vip(42001, PKT_TCP_ACK, 0);
	flow_put(&s, 1, jiffies_now());
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_HIT, 1, END_REASONS);

	T("v%d drain: established flow, entry lost", vf);
	s = tcp_vip(42002, PKT_TCP_ACK, 0);
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);

	/* a flow that started during the drain, then lost its entry, is sent
	 * to the draining backend (documented limitation) */
	T("v%d drain: new flow, entry lost", vf);
	s = tcp_vip(42000, PKT_TCP_ACK, 0);
	xlb_dp_flows_flush(&dp, XLB_NO_BACKEND);
	p = build(&s);
	expect_fwd_to(&p, 1);

	/* every backend draining: no new connections, established ones live */
	T("v%d drain: all draining, syn", vf);
	backend_state(2, XLB_BACKEND_DRAINING);
	ring_uniform(&E.tcp, XLB_NO_BACKEND, 1);
	s = tcp_vip(42003, PKT_TCP_SYN, 0);
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_NO_BACKEND, VIP_TCP_ID, IGN_FLOW);
	check_flow(&s, XLB_NO_BACKEND);
	T("v%d drain: all draining, ack", vf);
	s = tcp_vip(42004, PKT_TCP_ACK, 0);
	p = build(&s);
	expect_fwd_to(&p, 1);

	/* the drained backend goes down: its flows move to est_backend */
	T("v%d drain: then down", vf);
	backend_state(1, XLB_BACKEND_DOWN);
	backend_state(2, XLB_BACKEND_ACTIVE);
	ring_uniform(&E.tcp, 2, 2);
	s = tcp_vip(42001, PKT_TCP_ACK, 0);
	flow_put(&s, 1, jiffies_now());
	p = build(&s);
	if (expect_fwd_to(&p, 2))
		check_reasons(0, XLB_R_EV_FLOW_DOWN, 1, END_REASONS);
	check_flow(&s, 2);
}

static void test_no_backend(int vf)
{
	struct pkt_spec s;
	struct pkt p;

	/* 8: a VIP without a ring */
	setup(vf, vf);
	T("v%d no ring", vf);
	{
		struct xlb_vip_key k = vip_key(E.vip, 8443, IPPROTO_TCP);

		vip_add(&k, 3, 0, 0);
		s = tcp_to(E.client, 40000, E.vip, 8443, PKT_TCP_SYN, 0);
		p = build(&s);
		expect_drop(&p, XLB_R_DROP_NO_RING, 3, IGN_FLOW);
		T("v%d no ring, ack", vf);
		s.tcp_flags = PKT_TCP_ACK;
		p = build(&s);
		expect_drop(&p, XLB_R_DROP_NO_RING, 3, IGN_FLOW);
	}

	/* 8: a ring with nobody in it */
	T("v%d ring of no backend, syn", vf);
	ring_uniform(&E.tcp, XLB_NO_BACKEND, XLB_NO_BACKEND);
	s = tcp_vip(40000, PKT_TCP_SYN, 0);
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_NO_BACKEND, VIP_TCP_ID, IGN_FLOW);
	T("v%d ring of no backend, ack", vf);
	s = tcp_vip(40000, PKT_TCP_ACK, 0);
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_NO_BACKEND, VIP_TCP_ID, IGN_FLOW);
	check_flow(&s, XLB_NO_BACKEND);
	T("v%d ring of no backend, udp", vf);
	ring_uniform(&E.udp, XLB_NO_BACKEND, XLB_NO_BACKEND);
	s = udp_vip(40000, 0);
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_NO_BACKEND, VIP_UDP_ID, IGN_FLOW);

	/* 8: a ring naming an unused backend entry, or one out of range */
	T("v%d ring to unused backend", vf);
	ring_uniform(&E.tcp, 5, 5);
	s = tcp_vip(40000, PKT_TCP_SYN, 0);
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_BAD_BACKEND, VIP_TCP_ID, IGN_FLOW);
	T("v%d ring to backend id beyond the table", vf);
	ring_uniform(&E.tcp, XLB_MAX_BACKENDS + 5, XLB_MAX_BACKENDS + 5);
	s = tcp_vip(40000, PKT_TCP_ACK, 0);
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_BAD_BACKEND, VIP_TCP_ID, IGN_FLOW);
}

/* 10: MSS clamp. */
static void test_mss(int vf, int bf)
{
	const char *c = combo(vf, bf);
	uint16_t clamp = (uint16_t)(1500 - (bf == 4 ? 20 : 40) - (vf == 4 ? 20 : 40) - 20);
	struct pkt_spec s;
	struct pkt p, want;
	struct fwd f = { .be_id = 1, .be_family = bf };

	setup(vf, bf);

	/* above the derived clamp: lowered, checksum fixed */
	T("%s mss 1460 clamped to %u", c, clamp);
	s = tcp_vip(43000, PKT_TCP_SYN, 0);
	pkt_opt_mss(&s, 1460);
	pkt_opt_sack_perm(&s);
	pkt_opt_ts(&s, 1, 0);
	pkt_opt_nop(&s);
	pkt_opt_wscale(&s, 7);
	p = build(&s);
	want = p;
	pkt_put16(want.buf + want.l4_off + 22, clamp);
	f.inner = want.buf + want.l3_off;
	f.inner_len = want.ip_len;
	f.skip_off = (int)(p.l4_off - p.l3_off + 16);
	if (expect_fwd(&p, &f)) {
		check_reasons(0, XLB_R_EV_MSS_CLAMPED, 1, END_REASONS);
		is_u64(pkt_tcp_mss(last_encap.inner + (p.l4_off - p.l3_off), 40, NULL), clamp,
		       "%s: MSS on the wire", case_name);
	}

	/* exactly at the clamp: untouched */
	T("%s mss at the clamp", c);
	s = tcp_vip(43001, PKT_TCP_SYN, 0);
	pkt_opt_mss(&s, clamp);
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_MSS_SMALLER, 1, END_REASONS);

	/* one above: lowered by one */
	T("%s mss clamp+1", c);
	s = tcp_vip(43002, PKT_TCP_SYN, 0);
	pkt_opt_mss(&s, (uint16_t)(clamp + 1));
	p = build(&s);
	want = p;
	pkt_put16(want.buf + want.l4_off + 22, clamp);
	f.inner = want.buf + want.l3_off;
	f.inner_len = want.ip_len;
	f.skip_off = (int)(p.l4_off - p.l3_off + 16);
	if (expect_fwd(&p, &f))
		check_reasons(0, XLB_R_EV_MSS_CLAMPED, 1, END_REASONS);
}

/* 10: where the option sits, per-VIP values, non-SYNs, other MTUs. */
static void test_mss_options(int vf)
{
	struct pkt_spec s;
	struct pkt p, want;
	struct fwd f = { .be_id = 1, .be_family = vf };
	size_t off;
	int i;
	struct {
		const char *name;
		int layout;
	} lay[] = {
		{ "mss first", 0 }, { "mss after nop (odd offset)", 1 },
		{ "mss after sack-perm", 2 }, { "mss last after ts and ws", 3 },
		{ "mss after three nops (odd)", 4 },
	};

	setup(vf, vf);
	vip_add(&E.tcp, VIP_TCP_ID, 1200, 0);

	for (i = 0; i < (int)(sizeof(lay) / sizeof(lay[0])); i++) {
		T("v%d %s, vip mss 1200", vf, lay[i].name);
		s = tcp_vip((uint16_t)(44000 + i), PKT_TCP_SYN, 0);
		switch (lay[i].layout) {
		case 1:
			pkt_opt_nop(&s);
			break;
		case 2:
			pkt_opt_sack_perm(&s);
			break;
		case 3:
			pkt_opt_nop(&s);
			pkt_opt_wscale(&s, 9);
			pkt_opt_nop(&s);
			pkt_opt_nop(&s);
			pkt_opt_ts(&s, 0x11223344, 0);
			break;
		case 4:
			pkt_opt_nop(&s);
			pkt_opt_nop(&s);
			pkt_opt_nop(&s);
			break;
		}
		pkt_opt_mss(&s, 8960);
		p = build(&s);
		pkt_tcp_mss(p.buf + p.l4_off, 60, &off);
		want = p;
		pkt_put16(want.buf + want.l4_off + off, 1200);
		f.inner = want.buf + want.l3_off;
		f.inner_len = want.ip_len;
		f.skip_off = (int)(p.l4_off - p.l3_off + 16);
		if (expect_fwd(&p, &f))
			check_reasons(0, XLB_R_EV_MSS_CLAMPED, 1, END_REASONS);
	}

	T("v%d mss below the vip mss", vf);
	s = tcp_vip(44100, PKT_TCP_SYN, 0);
	pkt_opt_mss(&s, 1100);
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_MSS_SMALLER, 1, END_REASONS);

	T("v%d syn without options", vf);
	s = tcp_vip(44101, PKT_TCP_SYN, 0);
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_MSS_NO_OPTION, 1, END_REASONS);

	T("v%d syn with options but no mss", vf);
	s = tcp_vip(44102, PKT_TCP_SYN, 0);
	pkt_opt_sack_perm(&s);
	pkt_opt_ts(&s, 5, 0);
	pkt_opt_nop(&s);
	pkt_opt_wscale(&s, 7);
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_MSS_NO_OPTION, 1, END_REASONS);

	T("v%d syn with eol before an mss", vf);
	s = tcp_vip(44103, PKT_TCP_SYN, 0);
	{
		uint8_t eol[4] = { 0, 2, 4, 0x05 };	/* EOL, then bytes that look like MSS */

		pkt_opt_raw(&s, eol, 4);
		pkt_opt_raw(&s, (uint8_t[]){ 0xb4, 1, 1, 1 }, 4);
	}
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_MSS_NO_OPTION, 1, END_REASONS);

	/* only SYNs are clamped: an ACK carrying an MSS option is left alone */
	T("v%d ack with an mss option", vf);
	s = tcp_vip(44104, PKT_TCP_ACK, 0);
	pkt_opt_mss(&s, 9000);
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);

	/* SYN-ACK (not a SYN by 7's definition) is not clamped either */
	T("v%d syn-ack with an mss option", vf);
	s = tcp_vip(44105, PKT_TCP_SYN | PKT_TCP_ACK, 0);
	pkt_opt_mss(&s, 9000);
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);

	/* the TCP header found behind IPv4 options / IPv6 extension headers */
	T("v%d syn behind %s, vip mss 1200", vf, vf == 4 ? "ip options" : "ext headers");
	s = tcp_vip(44106, PKT_TCP_SYN, 0);
	if (vf == 4) {
		memset(s.ip_opts, 1, 8);
		s.ip_opts_len = 8;
	} else {
		s.ext[0].type = PKT_IPPROTO_HOPOPTS;
		s.ext[1].type = PKT_IPPROTO_DSTOPTS;
		s.ext[1].len8 = 2;
		s.n_ext = 2;
	}
	pkt_opt_mss(&s, 1460);
	p = build(&s);
	want = p;
	pkt_put16(want.buf + want.l4_off + 22, 1200);
	f.inner = want.buf + want.l3_off;
	f.inner_len = want.ip_len;
	f.skip_off = (int)(p.l4_off - p.l3_off + 16);
	if (expect_fwd(&p, &f))
		check_reasons(0, XLB_R_EV_MSS_CLAMPED, 1, END_REASONS);

	/* derived from another MTU */
	T("v%d mss from mtu 1400", vf);
	vip_add(&E.tcp, VIP_TCP_ID, 0, 0);
	G_cfg.mtu = 1400;
	config_set(&G_cfg);
	s = tcp_vip(44107, PKT_TCP_SYN, 0);
	pkt_opt_mss(&s, 1460);
	p = build(&s);
	want = p;
	pkt_put16(want.buf + want.l4_off + 22, (uint16_t)(vf == 4 ? 1400 - 60 : 1400 - 100));
	f.inner = want.buf + want.l3_off;
	f.inner_len = want.ip_len;
	f.skip_off = (int)(p.l4_off - p.l3_off + 16);
	if (expect_fwd(&p, &f))
		check_reasons(0, XLB_R_EV_MSS_CLAMPED, 1, END_REASONS);
}

/* The ICMP too-big reply to IN: Ethernet swapped, from the VIP, MTU, quote. */
static bool check_ptb(const struct pkt *in, uint32_t mtu_value)
{
	struct chk c = { 0 };
	struct pkt_l2 l2in, l2;
	struct pkt_ip ip, inip;
	const uint8_t *in_ip = in->buf + in->l3_off;
	const char *err;
	size_t qlen;

	pkt_parse_l2(in->buf, in->len, &l2in);
	pkt_parse_ip(in_ip, in->ip_len, true, &inip);
	qlen = inip.family == 4 ? 68 : 128;
	err = pkt_parse_l2(R.out, R.out_len, &l2);
	if (err) {
		chk_fail(&c, "%s", err);
		return chk_done(&c, "ICMP too-big reply");
	}
	if (memcmp(l2.dst, l2in.src, 6) || memcmp(l2.src, l2in.dst, 6))
		chk_fail(&c, "Ethernet addresses not swapped");
	if (l2.n_vlan != l2in.n_vlan || (l2.n_vlan && l2.vlan_tci[0] != l2in.vlan_tci[0]))
		chk_fail(&c, "VLAN tag not kept");
	err = pkt_parse_ip(R.out + l2.hlen, R.out_len - l2.hlen, true, &ip);
	if (err) {
		chk_fail(&c, "reply IP: %s", err);
		pkt_hexdump("reply", R.out, R.out_len, 200);
		return chk_done(&c, "ICMP too-big reply");
	}
	if (ip.family != inip.family)
		chk_fail(&c, "reply family %d", ip.family);
	if (memcmp(ip.src, inip.dst, 16) || memcmp(ip.dst, inip.src, 16))
		chk_fail(&c, "reply is not VIP -> client");
	if (ip.ttl == 0)
		chk_fail(&c, "reply TTL 0");
	if (ip.is_fragment || ip.n_ext)
		chk_fail(&c, "reply is a fragment / has extension headers");
	if (ip.family == 4) {
		if (ip.hlen != 20)
			chk_fail(&c, "reply IPv4 header has options");
		if (ip.proto != IPPROTO_ICMP)
			chk_fail(&c, "reply protocol %u", ip.proto);
		if (ip.tot_len != 20 + 8 + qlen)
			chk_fail(&c, "reply length %zu, want %zu", ip.tot_len, 20 + 8 + qlen);
	} else {
		if (ip.proto != IPPROTO_ICMPV6)
			chk_fail(&c, "reply next header %u", ip.proto);
		if (ip.tot_len != 40 + 8 + qlen)
			chk_fail(&c, "reply length %zu, want %zu", ip.tot_len, 40 + 8 + qlen);
	}
	if (l2.proto != (ip.family == 4 ? PKT_ETH_P_IP : PKT_ETH_P_IPV6))
		chk_fail(&c, "reply EtherType %04x", l2.proto);
	if (R.out_len != l2.hlen + ip.tot_len)
		chk_fail(&c, "frame %u bytes, IP says %zu", R.out_len, l2.hlen + ip.tot_len);
	if (ip.l4_len >= 8) {
		const uint8_t *m = ip.l4;

		if (ip.family == 4) {
			if (m[0] != 3 || m[1] != 4)
				chk_fail(&c, "ICMP type/code %u/%u, want 3/4", m[0], m[1]);
			if (pkt_get16(m + 4) != 0)
				chk_fail(&c, "ICMP unused field %04x", pkt_get16(m + 4));
			if (pkt_get16(m + 6) != mtu_value)
				chk_fail(&c, "next-hop MTU %u, want %u", pkt_get16(m + 6), mtu_value);
		} else {
			if (m[0] != 2 || m[1] != 0)
				chk_fail(&c, "ICMPv6 type/code %u/%u, want 2/0", m[0], m[1]);
			if (pkt_get32(m + 4) != mtu_value)
				chk_fail(&c, "MTU %u, want %u", pkt_get32(m + 4), mtu_value);
		}
		if (ip.l4_len != 8 + qlen || memcmp(m + 8, in_ip, qlen))
			chk_fail(&c, "quote is not the first %zu bytes of the packet", qlen);
		if (!pkt_l4_csum_ok(ip.family, ip.src, ip.dst, ip.proto, m, ip.l4_len))
			chk_fail(&c, "ICMP checksum does not verify");
	} else {
		chk_fail(&c, "no ICMP header");
	}
	return chk_done(&c, "ICMP too-big reply");
}

/* 9: path MTU: fits exactly, one byte over, DF or not, rate limit. */
static void test_ptb(int vf, int bf)
{
	const char *c = combo(vf, bf);
	size_t oh = bf == 4 ? 20 : 40, ih = vf == 4 ? 40 : 60;
	struct pkt_spec s;
	struct pkt p;

	setup(vf, bf);

	/* exactly the MTU after encapsulation: forwarded */
	T("%s ptb: exact fit", c);
	s = tcp_vip(45000, PKT_TCP_ACK, 1500 - oh - ih);
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);

	/* one byte more: too big (IPv4 DF / IPv6) */
	T("%s ptb: one byte over", c);
	s = tcp_vip(45001, PKT_TCP_ACK, 1500 - oh - ih + 1);
	p = build(&s);
	run(&p);
	if (check_verdict(XDP_TX))
		check_ptb(&p, (uint32_t)(1500 - oh));
	check_reasons(IGN_FLOW, XLB_R_TX_ICMP_TOO_BIG, 1, END_REASONS);
	check_vip_stats(VIP_TCP_ID, 0, 0, ANY, 0);
	check_be_stats(XLB_NO_BACKEND, 0, 0, ANY);

	/* a VLAN tag stays on the reply */
	T("%s ptb: vlan", c);
	s.vlan_tpid[0] = PKT_ETH_P_8021Q;
	s.vlan_tci[0] = 42;
	s.sport = 45002;
	p = build(&s);
	run(&p);
	if (check_verdict(XDP_TX))
		check_ptb(&p, (uint32_t)(1500 - oh));

	/* UDP too */
	T("%s ptb: udp", c);
	s = udp_vip(45003, 1500 - oh - (vf == 4 ? 28 : 48) + 1);
	p = build(&s);
	run(&p);
	if (check_verdict(XDP_TX))
		check_ptb(&p, (uint32_t)(1500 - oh));
	check_reasons(IGN_FLOW, XLB_R_TX_ICMP_TOO_BIG, 1, END_REASONS);

	/* a smaller MTU */
	T("%s ptb: mtu 1400", c);
	G_cfg.mtu = 1400;
	config_set(&G_cfg);
	s = tcp_vip(45004, PKT_TCP_ACK, 1400 - oh - ih + 1);
	p = build(&s);
	run(&p);
	if (check_verdict(XDP_TX))
		check_ptb(&p, (uint32_t)(1400 - oh));
	G_cfg.mtu = 1500;
	config_set(&G_cfg);

	if (vf == 4) {
		/* IPv4 without DF: cannot fragment in XDP, dropped */
		T("%s too big without DF", c);
		s = tcp_vip(45005, PKT_TCP_ACK, 1500 - oh - ih + 1);
		s.ip_frag = 0;
		p = build(&s);
		expect_drop_x(&p, XLB_R_DROP_TOO_BIG, VIP_TCP_ID, IGN_FLOW, true);
	}

	/* icmp_rate 1: the second answer within the second is not sent */
	T("%s ptb: rate limited, first", c);
	percpu_zero(dp.cpu_state, 0, sizeof(struct xlb_cpu_state));
	G_cfg.icmp_rate = 1;
	config_set(&G_cfg);
	s = tcp_vip(45006, PKT_TCP_ACK, 1500 - oh - ih + 100);
	p = build(&s);
	run(&p);
	if (check_verdict(XDP_TX))
		check_ptb(&p, (uint32_t)(1500 - oh));
	T("%s ptb: rate limited, second", c);
	expect_drop_x(&p, XLB_R_DROP_ICMP_RATE, VIP_TCP_ID, IGN_FLOW, true);
	T("%s ptb: rate limited, third", c);
	expect_drop_x(&p, XLB_R_DROP_ICMP_RATE, VIP_TCP_ID, IGN_FLOW, true);
}

/* ICMP errors about VIP flows reach the flow's backend. */
static void test_icmp_errors(int vf, int bf)
{
	const char *c = combo(vf, bf);
	uint8_t t_unreach = vf == 4 ? 3 : 1, t_big = vf == 4 ? 3 : 2;
	uint8_t c_big = vf == 4 ? 4 : 0, t_time = vf == 4 ? 11 : 3, t_param = vf == 4 ? 12 : 4;
	uint32_t r_big = vf == 4 ? 1400 : 1280;
	struct pkt_spec a, b, u;
	struct pkt p;

	setup(vf, bf);
	ring_uniform(&E.tcp, 1, 2);
	a = tcp_vip(46000, PKT_TCP_ACK, 0);
	flow_put(&a, 1, jiffies_now());
	b = tcp_vip(46001, PKT_TCP_ACK, 0);

	/* frag-needed / packet-too-big about a recorded flow: its backend */
	T("%s icmp too-big, recorded flow", c);
	p = icmp_error_for(&a, t_big, c_big, r_big, vf == 4 ? 28 : 200);
	if (expect_fwd_to(&p, 1)) {
		check_reasons(IGN_FLOW, XLB_R_EV_ICMP_FORWARDED, 1, END_REASONS);
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 0, 0);
		check_be_stats(1, 1, p.ip_len, 0);
	}

	/* about a flow without an entry: est_backend, and nothing recorded */
	T("%s icmp too-big, unrecorded flow", c);
	p = icmp_error_for(&b, t_big, c_big, r_big, vf == 4 ? 576 - 28 : 1232);
	if (expect_fwd_to(&p, 2))
		check_reasons(IGN_FLOW, XLB_R_EV_ICMP_FORWARDED, 1, END_REASONS);
	check_flow(&b, XLB_NO_BACKEND);

	if (bf == 6) {
		/* same hash as the flow: same flow label */
		uint32_t lbl;

		T("%s icmp flow label matches the flow's", c);
		p = build(&b);
		expect_fwd_to(&p, 2);
		lbl = last_label;
		xlb_dp_flows_flush(&dp, XLB_NO_BACKEND);
		flow_put(&a, 1, jiffies_now());
		p = icmp_error_for(&b, t_big, c_big, r_big, 100);
		if (expect_fwd_to(&p, 2))
			is_u64(last_label, lbl, "%s: outer flow label", case_name);
	}

	T("%s icmp unreachable", c);
	p = icmp_error_for(&a, t_unreach, vf == 4 ? 1 : 3, 0, 60);
	if (expect_fwd_to(&p, 1))
		check_reasons(IGN_FLOW, XLB_R_EV_ICMP_FORWARDED, 1, END_REASONS);

	T("%s icmp time exceeded", c);
	p = icmp_error_for(&a, t_time, 0, 0, 60);
	if (expect_fwd_to(&p, 1))
		check_reasons(IGN_FLOW, XLB_R_EV_ICMP_FORWARDED, 1, END_REASONS);

	T("%s icmp parameter problem", c);
	p = icmp_error_for(&a, t_param, 0, vf == 4 ? 0x14000000 : 40, 60);
	if (expect_fwd_to(&p, 1))
		check_reasons(IGN_FLOW, XLB_R_EV_ICMP_FORWARDED, 1, END_REASONS);

	/* UDP flows too */
	T("%s icmp port unreachable about udp", c);
	u = udp_vip(46002, 0);
	p = icmp_error_for(&u, t_unreach, vf == 4 ? 3 : 4, 0, 60);
	if (expect_fwd_to(&p, BE_UDP))
		check_reasons(IGN_FLOW, XLB_R_EV_ICMP_FORWARDED, 1, END_REASONS);
	check_flow(&u, XLB_NO_BACKEND);

	/* the ICMP packet itself behind a VLAN tag */
	T("%s icmp error with vlan", c);
	p = icmp_error_for(&a, t_big, c_big, r_big, 100);
	memmove(p.buf + 16, p.buf + 12, p.len - 12);
	pkt_put16(p.buf + 12, PKT_ETH_P_8021Q);
	pkt_put16(p.buf + 14, 77);
	p.len += 4;
	p.l3_off += 4;
	p.l4_off += 4;
	p.pl_off += 4;
	expect_fwd_to(&p, 1);

	if (vf == 4) {
		/* the quote read with its IP options */
		T("%s icmp quote with ip options", c);
		{
			struct pkt_spec r = a, ic;
			struct pkt q;

			memcpy(r.src, a.dst, 16);
			memcpy(r.dst, a.src, 16);
			r.sport = a.dport;
			r.dport = a.sport;
			memset(r.ip_opts, 1, 12);
			r.ip_opts_len = 12;
			q = build(&r);
			ic = pkt_spec_icmp(ROUTER4, VIP4, 3, 4);
			ic.icmp_rest = 1000;
			ic.payload = q.buf + q.l3_off;
			ic.payload_len = 32 + 8;
			p = build(&ic);
		}
		if (expect_fwd_to(&p, 1))
			check_reasons(IGN_FLOW, XLB_R_EV_ICMP_FORWARDED, 1, END_REASONS);
	}

	if (vf == 4) {
		/* 6: an ICMP error to a VIP address with a broken IPv4 header is
		 * not forwarded as a VIP flow's packet (the backend would drop it) */
		T("%s icmp error with a bad ip checksum", c);
		p = icmp_error_for(&a, t_big, c_big, r_big, 60);
		p.buf[p.l3_off + 10] ^= 0x11;
		run(&p);
		check_verdict(XDP_DROP);
		check_reasons(IGN_FLOW, XLB_R_DROP_IP_CSUM, 1, END_REASONS);
	}

	/* unusable quotes to a VIP address */
	T("%s icmp quote without ports", c);
	p = icmp_error_for(&a, t_big, c_big, r_big, vf == 4 ? 20 : 40);
	expect_drop(&p, XLB_R_DROP_ICMP_BAD, -1, 0);

	T("%s icmp quote of 10 bytes", c);
	p = icmp_error_for(&a, t_big, c_big, r_big, 10);
	expect_drop(&p, XLB_R_DROP_ICMP_BAD, -1, 0);

	if (vf == 4) {
		/* its "ports" would be payload bytes: any tuple at all */
		T("%s icmp quote of a non-first fragment", c);
		p = icmp_error_for(&a, t_big, c_big, r_big, 60);
		p.buf[p.pl_off + 6] = 0x00;		/* offset 185 x 8 bytes */
		p.buf[p.pl_off + 7] = 0xb9;
		pkt_fix_csums(&p);
		expect_drop(&p, XLB_R_DROP_ICMP_BAD, -1, 0);
	}

	T("%s icmp quote of the wrong IP version", c);
	p = icmp_error_for(&a, t_big, c_big, r_big, 60);
	p.buf[p.pl_off] = (uint8_t)((vf == 4 ? 0x60 : 0x40) | (p.buf[p.pl_off] & 0xf));
	pkt_fix_csums(&p);
	expect_drop(&p, XLB_R_DROP_ICMP_BAD, -1, 0);

	/* a well-formed quote of something that is no VIP flow: not ours */
	T("%s icmp about a non-VIP flow", c);
	{
		struct pkt_spec o = tcp_vip(46003, PKT_TCP_ACK, 0);

		o.dport = 22;		/* quoted: VIP:22 -> client */
		p = icmp_error_for(&o, t_unreach, vf == 4 ? 1 : 3, 0, 60);
	}
	expect_pass(&p, XLB_R_PASS_ICMP);
}

/* XLB_CFG_F_SRC_FROM_PREFIX: outer source inside the prefix, per flow. */
static void test_src_prefix(int vf, int bf, int plen)
{
	const char *c = combo(vf, bf);
	struct pkt_spec s;
	struct pkt p;
	uint8_t pfx[16], first[16], src1[16];
	struct fwd f = { .be_id = 1, .be_family = bf, .skip_off = -1, .src_prefix = true };
	int i, distinct = 0, inside = 1, stable = 1;

	setup(vf, bf);
	pkt_addr(bf == 4 ? "198.18.128.0" : "2001:db8:ff00::", pfx);
	G_cfg.flags |= XLB_CFG_F_SRC_FROM_PREFIX;
	if (bf == 4) {
		memcpy(&G_cfg.src_prefix_v4, pfx, 4);
		G_cfg.src_prefix_v4_len = (uint8_t)plen;
	} else {
		memcpy(G_cfg.src_prefix_v6, pfx, 16);
		G_cfg.src_prefix_v6_len = (uint8_t)plen;
	}
	config_set(&G_cfg);

	T("%s src from /%d", c, plen);
	for (i = 0; i < 32; i++) {
		int bit;

		s = tcp_vip((uint16_t)(47000 + i), PKT_TCP_ACK, 0);
		p = build(&s);
		if (i == 0) {
			expect_fwd(&p, &f);
		} else {
			run(&p);
			if (R.verdict != XDP_TX ||
			    pkt_parse_encap(R.out, R.out_len, &last_encap))
				continue;
			memset(last_outer_src, 0, 16);
			memcpy(last_outer_src, last_encap.outer.src, bf == 4 ? 4 : 16);
		}
		memcpy(src1, last_outer_src, 16);
		for (bit = 0; bit < plen; bit++)
			if ((src1[bit / 8] ^ pfx[bit / 8]) & (0x80 >> (bit % 8))) {
				char a[64];

				if (inside)
					diag("  flow %d: outer source %s", i,
					     pkt_addr_str(bf, src1, a));
				inside = 0;
				break;
			}
		if (i == 0)
			memcpy(first, src1, 16);
		else
			distinct += memcmp(first, src1, 16) != 0;
		/* the same flow again: the same source */
		run(&p);
		if (R.verdict != XDP_TX || pkt_parse_encap(R.out, R.out_len, &last_encap) ||
		    memcmp(last_encap.outer.src, src1, bf == 4 ? 4 : 16))
			stable = 0;
	}
	ok(inside, "%s: every outer source inside the prefix", case_name);
	ok(stable, "%s: one source per flow", case_name);
	if (plen == (bf == 4 ? 32 : 128))
		ok(distinct == 0, "%s: a full-length prefix is the source", case_name);
	else
		ok(distinct > 0, "%s: 32 flows use more than one source", case_name);
}

/* 7: per-source SYN token bucket. */
static void test_syn_limit(int vf)
{
	struct pkt_spec s;
	struct pkt p;
	int i;

	setup(vf, vf);
	G_cfg.syn_src_rate = 1;
	G_cfg.syn_src_burst = 3;
	config_set(&G_cfg);

	for (i = 0; i < 3; i++) {
		T("v%d syn limit: syn %d of burst 3", vf, i + 1);
		s = tcp_vip((uint16_t)(48000 + i), PKT_TCP_SYN, 0);
		p = build(&s);
		expect_fwd_to(&p, 1);
	}
	T("v%d syn limit: syn 4 dropped", vf);
	s = tcp_vip(48003, PKT_TCP_SYN, 0);
	p = build(&s);
	expect_drop(&p, XLB_R_DROP_SYN_SRC_RATE, VIP_TCP_ID, 0);
	check_flow(&s, XLB_NO_BACKEND);

	T("v%d syn limit: same source, ack passes the limit", vf);
	s = tcp_vip(48000, PKT_TCP_ACK, 10);
	p = build(&s);
	expect_fwd_to(&p, 1);

	T("v%d syn limit: same source, syn-ack is not limited", vf);
	s = tcp_vip(48010, PKT_TCP_SYN | PKT_TCP_ACK, 0);
	p = build(&s);
	expect_fwd_to(&p, 1);

	T("v%d syn limit: same source, udp is not limited", vf);
	s = udp_vip(48011, 10);
	p = build(&s);
	expect_fwd_to(&p, BE_UDP);

	T("v%d syn limit: another source has its own bucket", vf);
	s = tcp_to(E.client2, 48000, E.vip, VPORT, PKT_TCP_SYN, 0);
	p = build(&s);
	expect_fwd_to(&p, 1);

	T("v%d syn limit: off with rate 0", vf);
	G_cfg.syn_src_rate = 0;
	config_set(&G_cfg);
	s = tcp_vip(48004, PKT_TCP_SYN, 0);
	p = build(&s);
	expect_fwd_to(&p, 1);
}

/* 8: new_flow_limit: past it, forwarded by the ring but not recorded. */
static void test_overload(int vf)
{
	struct pkt_spec s;
	struct pkt p;
	int i;

	setup(vf, vf);
	G_cfg.new_flow_limit = 2;
	config_set(&G_cfg);
	percpu_zero(dp.cpu_state, 0, sizeof(struct xlb_cpu_state));

	for (i = 0; i < 5; i++) {
		bool over = i >= 2;

		T("v%d overload: ack miss %d, limit 2", vf, i + 1);
		s = tcp_vip((uint16_t)(49000 + i), PKT_TCP_ACK, 0);
		p = build(&s);
		if (expect_fwd_to(&p, 1)) {
			if (over)
				check_reasons(0, XLB_R_EV_OVERLOAD, 1, XLB_R_EV_FLOW_MISS, 1,
					      END_REASONS);
			else
				check_reasons(0, XLB_R_EV_FLOW_MISS, 1, END_REASONS);
			check_vip_stats(VIP_TCP_ID, 1, p.ip_len, over ? 0 : 1, 0);
			check_be_stats(1, 1, p.ip_len, over ? 0 : 1);
		}
		check_flow(&s, over ? XLB_NO_BACKEND : 1);
	}

	/* a SYN that must be recorded (an old entry of its tuple names
	 * another backend) is recorded also under overload: else its ACK
	 * would follow the old entry */
	T("v%d overload: syn over a stale entry", vf);
	s = tcp_vip(49100, PKT_TCP_SYN, 0);
	flow_put(&s, 2, jiffies_now());
	p = build(&s);
	if (expect_fwd_to(&p, 1)) {
		check_reasons(0, XLB_R_EV_MSS_NO_OPTION, 1, END_REASONS);
		check_vip_stats(VIP_TCP_ID, 1, p.ip_len, 1, 0);
	}
	check_flow(&s, 1);
	T("v%d overload: its ack follows it", vf);
	s.tcp_flags = PKT_TCP_ACK;
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_HIT, 1, END_REASONS);

	T("v%d overload: recorded flows still hit", vf);
	s = tcp_vip(49000, PKT_TCP_ACK, 0);
	p = build(&s);
	if (expect_fwd_to(&p, 1))
		check_reasons(0, XLB_R_EV_FLOW_HIT, 1, END_REASONS);
	is_u64(flow_count(), 3, "%s: three flows in the table", case_name);
}

/* 11: zero gateway MAC / zero source: drop_no_config. */
static void test_no_config(int vf, int bf)
{
	const char *c = combo(vf, bf);
	struct pkt_spec s;
	struct pkt p;
	uint64_t late = IGN_FLOW | IGN(XLB_R_EV_MSS_NO_OPTION) | IGN(XLB_R_EV_MSS_CLAMPED) |
			IGN(XLB_R_EV_MSS_SMALLER) | IGN(XLB_R_EV_OVERLOAD);

	setup(vf, bf);
	T("%s no gateway mac", c);
	memset(G_cfg.gw_mac, 0, 6);
	config_set(&G_cfg);
	s = tcp_vip(50000, PKT_TCP_SYN, 0);
	p = build(&s);
	expect_drop_x(&p, XLB_R_DROP_NO_CONFIG, VIP_TCP_ID, late, true);

	T("%s no source for the backend family", c);
	config_default();
	if (bf == 4)
		G_cfg.src_v4 = 0;
	else
		memset(G_cfg.src_v6, 0, 16);
	config_set(&G_cfg);
	s = tcp_vip(50001, PKT_TCP_ACK, 0);
	p = build(&s);
	expect_drop_x(&p, XLB_R_DROP_NO_CONFIG, VIP_TCP_ID, late, true);

	T("%s only the other family's source missing", c);
	config_default();
	if (bf == 4)
		memset(G_cfg.src_v6, 0, 16);
	else
		G_cfg.src_v4 = 0;
	config_set(&G_cfg);
	expect_fwd_to(&p, 1);

	T("%s config all zero", c);
	memset(&G_cfg, 0, sizeof(G_cfg));
	config_set(&G_cfg);
	s = udp_vip(50002, 0);
	p = build(&s);
	expect_drop_x(&p, XLB_R_DROP_NO_CONFIG, VIP_UDP_ID, late, true);
}

/* Pinned maps of another layout (another build's) are refused, not read as
 * ours: the maps of this object pinned in a scratch bpffs directory open;
 * with xlb_backends replaced by a map of another value size they do not. */
static void test_pinned_layout(void)
{
	static const char *const names[] = { XLB_MAP_CONFIG, XLB_MAP_VIPS, XLB_MAP_VIP_ADDRS,
		XLB_MAP_RINGS, XLB_MAP_BACKENDS, XLB_MAP_FLOWS, XLB_MAP_REASONS,
		XLB_MAP_VIP_STATS, XLB_MAP_BACKEND_STATS, XLB_MAP_SYN_SRC, XLB_MAP_CPU_STATE };
	char dir[64], path[PATH_MAX];
	struct xlb_dp other;
	size_t i;
	int fd, err;

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/xlb-test-layout-%d", (int)getpid());
	if (mkdir(dir, 0700)) {
		skip("pinned layout: cannot create %s: %s", dir, strerror(errno));
		return;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, names[i]);

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (!m || bpf_obj_pin(bpf_map__fd(m), path))
			bail_out("pinning %s: %s", path, strerror(errno));
	}
	err = xlb_dp_open_pinned(&other, dir);
	ok(err == 0, "pinned layout: this build's maps open (%s)", strerror(-err));
	if (!err)
		xlb_dp_close(&other);

	snprintf(path, sizeof(path), "%s/%s", dir, XLB_MAP_BACKENDS);
	unlink(path);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, XLB_MAP_BACKENDS, sizeof(__u32),
			    sizeof(struct xlb_backend) + 8, XLB_MAX_BACKENDS, NULL);
	if (fd < 0 || bpf_obj_pin(fd, path))
		bail_out("pinning a foreign %s: %s", path, strerror(errno));
	close(fd);
	err = xlb_dp_open_pinned(&other, dir);
	ok(err == -EPROTO, "pinned layout: a map of another value size is refused (%s)",
	   strerror(-err));
	if (!err)
		xlb_dp_close(&other);

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	static const int fam[2] = { 4, 6 };
	int i, j;

	memset(payload_buf, 0, sizeof(payload_buf));
	for (i = 0; i < (int)sizeof(payload_buf); i++)
		payload_buf[i] = (uint8_t)(i * 31 + 7);
	load_program();

	test_l2();
	test_ip_headers();
	for (i = 0; i < 2; i++) {
		test_not_ours(fam[i]);
		test_ip_malformed(fam[i]);
		test_fragments(fam[i]);
		test_protocols(fam[i]);
		test_backend_choice(fam[i]);
		test_hash(fam[i]);
		test_drain(fam[i]);
		test_no_backend(fam[i]);
		test_mss_options(fam[i]);
		test_syn_limit(fam[i]);
		test_overload(fam[i]);
		for (j = 0; j < 2; j++) {
			test_forward(fam[i], fam[j]);
			test_mss(fam[i], fam[j]);
			test_ptb(fam[i], fam[j]);
			test_icmp_errors(fam[i], fam[j]);
			test_no_config(fam[i], fam[j]);
		}
	}
	test_src_prefix(4, 4, 24);
	test_src_prefix(4, 4, 32);
	test_src_prefix(4, 6, 64);
	test_src_prefix(6, 6, 64);
	test_src_prefix(6, 6, 112);
	test_src_prefix(6, 4, 20);
	test_pinned_layout();

	reset();
	xlb_bpf__destroy(skel);
	return tap_done();
}
