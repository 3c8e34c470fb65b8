// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_xdp: times the XDP load balancer in live-frames mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES): every run starts from the original packet
 * and XDP_TX really transmits, through a veth whose peer drops in XDP.
 * Each case is timed beside a bare program with the same verdict, in
 * alternating rounds of the same run; we report medians and the ratio.
 *
 *   bench_xdp DEV PEER [--packets N] [--rounds K] [--cpu C]
 *
 * --case NAME runs one case only, e.g. under perf.
 *
 * DEV and PEER are a veth pair in the current network namespace (see
 * tests/bench/run.sh); nothing else is touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "bare.skel.h"
#include "dataplane.h"
#include "maglev.h"
#include "pkt.h"
#include "xlb_bench.skel.h"

#define VIP		"198.18.0.10"
#define VIP_PORT	443
#define CLIENT		"198.18.100.1"
#define NOT_VIP		"198.18.0.99"
#define LB_SRC		"198.18.0.2"
#define N_BACKENDS	3
#define MAX_FRAME	256
#define BENCH_MIN_FRAME	64	/* BENCH_HDR in bench.h */

struct opts {
	int ifindex;
	int peer_ifindex;
	long packets;
	int rounds;
	int cpu;
	const char *only;	/* run just this case (for profiling) */
};

struct frame {
	unsigned char b[MAX_FRAME];
	size_t len;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Run PROG over FRAME N times in live-frames mode; ns per packet. */
static double run_live(int prog_fd, const struct opts *o, const struct frame *f, long n)
{
	struct xdp_md ctx = { .data_end = f->len, .ingress_ifindex = o->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, t,
		.data_in = f->b,
		.data_size_in = f->len,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		.batch_size = 64,
	);
	double start, total = 0;
	long left = n;

	/* repeat is an int; long runs go in chunks */
	while (left > 0) {
		t.repeat = left > 100000000 ? 100000000 : left;
		start = now_ns();
		if (bpf_prog_test_run_opts(prog_fd, &t)) {
			fprintf(stderr, "bench_xdp: test run failed: %s\n", strerror(errno));
			exit(1);
		}
		total += now_ns() - start;
		left -= t.repeat;
	}
	return total / n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The benchmark is only worth its figures if every live packet took the
 * path the case is about: count N live runs in the program's counters. */
static void expect_live_path(const char *name, struct bpf_object *obj, int prog_fd,
			     const struct opts *o, const struct frame *f, bool forwarded)
{
	uint64_t r0[XLB_R_MAX], r1[XLB_R_MAX];
	struct xlb_vip_stats v0, v1;
	struct xlb_dp dp;
	const long n = 100000;
	uint64_t got;

	if (xlb_dp_from_object(&dp, obj) || xlb_dp_vip_stats_read(&dp, 0, &v0) ||
	    xlb_dp_reasons_read(&dp, r0))
		exit(1);
	run_live(prog_fd, o, f, n);
	if (xlb_dp_vip_stats_read(&dp, 0, &v1) || xlb_dp_reasons_read(&dp, r1))
		exit(1);
	got = forwarded ? v1.packets - v0.packets
			: r1[XLB_R_PASS_NOT_VIP] - r0[XLB_R_PASS_NOT_VIP];
	if (forwarded)
		printf("# %s: flow table hits %.1f%%, misses %.1f%% of %ld checked packets\n", name,
		       100.0 * (r1[XLB_R_EV_FLOW_HIT] - r0[XLB_R_EV_FLOW_HIT]) / n,
		       100.0 * (r1[XLB_R_EV_FLOW_MISS] - r0[XLB_R_EV_FLOW_MISS]) / n, n);
	if (got == (uint64_t)n || getenv("BENCH_NO_CHECK"))
		return;
	fprintf(stderr, "bench_xdp: %s: %llu of %ld live packets took the %s path\n", name,
		(unsigned long long)got, n, forwarded ? "forwarding" : "not-a-VIP");
	for (int i = 0; i < XLB_R_MAX; i++)
		if (r1[i] != r0[i])
			fprintf(stderr, "  %-20s %llu\n", xlb_reason_name(i),
				(unsigned long long)(r1[i] - r0[i]));
	exit(1);
}

/* Time SUBJECT against BASELINE in alternating rounds and print one line. */
static void bench_case(const char *name, int subject_fd, const char *base_name,
		       int base_fd, const struct opts *o, const struct frame *f)
{
	double s[64], b[64], sm, bm;
	int k = o->rounds;

	if (o->only && strcmp(o->only, name))
		return;

	for (int i = 0; i < k; i++) {
		b[i] = run_live(base_fd, o, f, o->packets);
		s[i] = run_live(subject_fd, o, f, o->packets);
	}
	sm = median(s, k);
	bm = median(b, k);
	printf("%-14s xlb %7.1f ns/pkt %6.2f Mpps | %-13s %7.1f ns/pkt %6.2f Mpps | ratio %.2f\n",
	       name, sm, 1e3 / sm, base_name, bm, 1e3 / bm, sm / bm);
	fflush(stdout);
}

static void addr4(const char *s, __be32 *out)
{
	if (inet_pton(AF_INET, s, out) != 1) {
		fprintf(stderr, "bench_xdp: bad address %s\n", s);
		exit(1);
	}
}

/* The VIP, three backends and a Maglev ring, as an operator would set them. */
static void configure(struct bpf_object *obj)
{
	struct xlb_vip_key key = { .port = htons(VIP_PORT), .proto = IPPROTO_TCP,
				   .family = XLB_FAMILY_V4 };
	struct xlb_config cfg = { .mtu = 1500, .icmp_rate = 1000, .hash_seed = 0x5eed };
	struct xlb_mg_backend mb[N_BACKENDS] = {};
	struct xlb_vip vip = { .vip_id = 0 };
	static struct xlb_ring_slot ring[XLB_RING_SIZE_DEFAULT];
	struct xlb_maglev mg = {};
	struct xlb_dp dp;
	char addr[32];

	if (xlb_dp_from_object(&dp, obj)) {
		fprintf(stderr, "bench_xdp: maps not found\n");
		exit(1);
	}
	memcpy(cfg.gw_mac, "\x02\x00\x00\x00\x00\x01", 6);
	addr4(LB_SRC, &cfg.src_v4);
	addr4(VIP, &key.addr[0]);
	for (int i = 0; i < N_BACKENDS; i++) {
		struct xlb_backend be = { .family = XLB_FAMILY_V4,
					  .state = XLB_BACKEND_ACTIVE, .vip_id = 0 };

		snprintf(addr, sizeof(addr), "198.18.1.%d", i + 1);
		addr4(addr, &be.addr[0]);
		mb[i] = (struct xlb_mg_backend){ .id = i, .family = XLB_FAMILY_V4,
						 .state = XLB_BACKEND_ACTIVE, .weight = 1 };
		memcpy(mb[i].addr, be.addr, 4);
		if (xlb_dp_backend_set(&dp, i, &be))
			goto fail;
	}
	if (xlb_dp_config_set(&dp, &cfg) || xlb_dp_vip_set(&dp, &key, &vip) ||
	    xlb_maglev_build(&mg, mb, N_BACKENDS, XLB_RING_SIZE_DEFAULT, 1, ring) ||
	    xlb_dp_ring_install(&dp, &key, ring, XLB_RING_SIZE_DEFAULT))
		goto fail;
	xlb_maglev_release(&mg);
	return;
fail:
	fprintf(stderr, "bench_xdp: configuring maps failed: %s\n", strerror(errno));
	exit(1);
}

/* A TCP segment from the client, as the LB sees it on the wire. */
static void tcp_frame(struct frame *f, const char *dst, uint8_t flags, bool mss)
{
	struct pkt_spec spec = pkt_spec_tcp(CLIENT, 40000, dst, VIP_PORT);
	static struct pkt p;

	/* what Linux sends: timestamps always, MSS and friends on a SYN */
	spec.tcp_flags = flags;
	if (mss) {
		pkt_opt_mss(&spec, 1460);
		pkt_opt_sack_perm(&spec);
	}
	pkt_opt_nop(&spec);
	pkt_opt_nop(&spec);
	pkt_opt_ts(&spec, 1, 0);
	if (pkt_build(&spec, &p) || p.len > sizeof(f->b) || p.len < BENCH_MIN_FRAME) {
		fprintf(stderr, "bench_xdp: building the packet failed\n");
		exit(1);
	}
	memcpy(f->b, p.buf, p.len);
	f->len = p.len;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_xdp DEV PEER [--packets N] [--rounds K] [--cpu C] [--case NAME]\n"
			"cases: established syn not-vip first-ack syn-flood flows=1 flows=10000 flows=1000000\n");
	exit(2);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "packets", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'k' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "case", required_argument, NULL, 'o' },
		{}
	};
	int c;

	*o = (struct opts){ .packets = 2000000, .rounds = 5, .cpu = 0 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o->packets = atol(optarg); break;
		case 'k': o->rounds = atoi(optarg); break;
		case 'c': o->cpu = atoi(optarg); break;
		case 'o': o->only = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || o->rounds < 1 || o->rounds > 64 || o->packets < 1)
		usage();
	o->ifindex = if_nametoindex(argv[optind]);
	o->peer_ifindex = if_nametoindex(argv[optind + 1]);
	if (!o->ifindex || !o->peer_ifindex) {
		fprintf(stderr, "bench_xdp: no such device %s or %s\n", argv[optind], argv[optind + 1]);
		exit(1);
	}
}

/* Set the frame (and flow count) both programs restore before each run. */
static void use_frame(struct xlb_bench_bpf *x, struct bare_bpf *b, const struct frame *f,
		      __u32 nflows)
{
	memcpy(x->bss->bench_frame, f->b, sizeof(x->bss->bench_frame));
	memcpy(b->bss->bench_frame, f->b, sizeof(b->bss->bench_frame));
	x->bss->bench_nflows = nflows;
	b->bss->bench_nflows = nflows;
}

int main(int argc, char **argv)
{
	static const __u32 flow_counts[] = { 1, 10000, 1000000 };
	struct frame ack, syn, other;
	struct xlb_bench_bpf *x;
	struct bare_bpf *b;
	struct bpf_map *m;
	struct xlb_dp dp_x;
	int xfd, err;
	struct opts o;
	cpu_set_t cpus;

	parse_args(argc, argv, &o);
	CPU_ZERO(&cpus);
	CPU_SET(o.cpu, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	x = xlb_bench_bpf__open();
	b = bare_bpf__open_and_load();
	if (!x || !b)
		goto load_fail;
	bpf_object__for_each_map(m, x->obj)
		bpf_map__set_pin_path(m, NULL);
	if (xlb_bench_bpf__load(x))
		goto load_fail;
	configure(x->obj);
	xfd = bpf_program__fd(x->progs.xlb_bench);
	if (xlb_dp_from_object(&dp_x, x->obj))
		goto load_fail;

	/* XDP_TX into a veth is dropped unless the peer runs XDP (LAB.md) */
	err = bpf_xdp_attach(o.peer_ifindex, bpf_program__fd(b->progs.bare_drop),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (err) {
		fprintf(stderr, "bench_xdp: attaching the drop program to the peer: %s\n",
			strerror(-err));
		return 1;
	}

	tcp_frame(&ack, VIP, PKT_TCP_ACK, false);
	tcp_frame(&syn, VIP, PKT_TCP_SYN, true);
	tcp_frame(&other, NOT_VIP, PKT_TCP_ACK, false);
	printf("# live frames, %ld packets x %d rounds per program, CPU %d, medians;\n"
	       "# both sides restore the frame's first %zu bytes each run (bench.h)\n",
	       o.packets, o.rounds, o.cpu, sizeof(x->bss->bench_frame));

	use_frame(x, b, &ack, 1);
	expect_live_path("established", x->obj, xfd, &o, &ack, true);
	bench_case("established", xfd, "bare XDP_TX", bpf_program__fd(b->progs.bare_tx), &o, &ack);
	use_frame(x, b, &syn, 1);
	expect_live_path("syn", x->obj, xfd, &o, &syn, true);
	bench_case("syn", xfd, "bare XDP_TX", bpf_program__fd(b->progs.bare_tx), &o, &syn);
	use_frame(x, b, &other, 1);
	expect_live_path("not-vip", x->obj, xfd, &o, &other, false);
	bench_case("not-vip", xfd, "bare XDP_PASS", bpf_program__fd(b->progs.bare_pass), &o,
		   &other);

	for (size_t i = 0; i < sizeof(flow_counts) / sizeof(flow_counts[0]); i++) {
		__u32 n = flow_counts[i];
		char name[32];

		snprintf(name, sizeof(name), "flows=%u", n);
		if (o.only && strcmp(o.only, name))
			continue;
		use_frame(x, b, &ack, n);
		/* warm up: every flow has its entry before timing */
		run_live(xfd, &o, &ack, 2 * (long)n);
		expect_live_path(name, x->obj, xfd, &o, &ack, true);
		bench_case(name, xfd, "bare XDP_TX", bpf_program__fd(b->progs.bare_tx), &o, &ack);
	}

	/* Last, as they churn the table. The first ACK of each new connection:
	 * a miss, a ring decision and an insert that evicts (more flows than
	 * the table holds, so none hits). */
	if (!o.only || !strcmp(o.only, "first-ack")) {
		use_frame(x, b, &ack, 4000000);
		expect_live_path("first-ack", x->obj, xfd, &o, &ack, true);
		bench_case("first-ack", xfd, "bare XDP_TX", bpf_program__fd(b->progs.bare_tx), &o,
			   &ack);
	}
	/* a SYN flood from 1M sources: the ring answers, the table is only read */
	if (!o.only || !strcmp(o.only, "syn-flood")) {
		xlb_dp_flows_flush(&dp_x, XLB_NO_BACKEND);
		use_frame(x, b, &syn, 1000000);
		expect_live_path("syn-flood", x->obj, xfd, &o, &syn, true);
		bench_case("syn-flood", xfd, "bare XDP_TX", bpf_program__fd(b->progs.bare_tx), &o,
			   &syn);
	}

	bpf_xdp_detach(o.peer_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	xlb_bench_bpf__destroy(x);
	bare_bpf__destroy(b);
	return 0;

load_fail:
	fprintf(stderr, "bench_xdp: loading BPF objects failed: %s\n", strerror(errno));
	return 1;
}
