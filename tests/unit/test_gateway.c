/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_gateway: next-hop resolution (user/lib/gateway.c) against the real
 * kernel. Two network namespaces, "lb" (where the resolver runs) and "peer"
 * (the gateways and on-link hosts), joined by two veth pairs:
 *
 *   lb  va  198.18.0.1/24 2001:db8::1/64  ---  vb  peer: 198.18.0.2, .3,
 *                                                 2001:db8::2, fe80::2
 *   lb  va2 198.18.1.1/24                 ---  vb2 peer: 198.18.1.2
 *
 * Every wait is on the resolver's fd with a deadline, never a sleep. Needs
 * root; both namespaces are removed by name at exit, also on a signal.
 */
#include "gateway.h"
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS	3000

static const char *mac_vb = "02:00:00:00:00:02";
static const char *mac_vb2 = "02:00:00:00:01:02";

static char lb[32], peer[32];
static char lb_path[64], peer_path[64];
static int home_ns = -1;

/* ---- namespaces and commands ------------------------------------------- */

/* What `ip netns del` does, and async-signal-safe. */
static void remove_namespaces(void)
{
	if (home_ns >= 0)
		setns(home_ns, CLONE_NEWNET);
	if (lb_path[0]) {
		umount2(lb_path, MNT_DETACH);
		unlink(lb_path);
	}
	if (peer_path[0]) {
		umount2(peer_path, MNT_DETACH);
		unlink(peer_path);
	}
}

static void on_signal(int sig)
{
	remove_namespaces();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Run a shell command; its exit status (diagnosed when not 0). */
static int __attribute__((format(printf, 1, 2))) sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	rc = system(cmd);
	rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
	if (rc)
		diag("command failed (%d): %s", rc, cmd);
	return rc;
}

/* A command's output (first BUFLEN-1 bytes) into BUF. */
static void __attribute__((format(printf, 3, 4)))
sh_out(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[512];
	size_t n = 0;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	buf[0] = '\0';
	fflush(stdout);
	f = popen(cmd, "r");
	if (!f)
		return;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	pclose(f);
}

static void setup(void)
{
	static const struct {
		bool in_peer;
		const char *cmd;	/* run as `ip -n NAMESPACE CMD` */
	} cmds[] = {
		{ 1, "link set vb address 02:00:00:00:00:02" },
		{ 1, "link set vb2 address 02:00:00:00:01:02" },
		{ 0, "link set lo up" },
		{ 0, "link set va up" },
		{ 0, "link set va2 up" },
		{ 1, "link set lo up" },
		{ 1, "link set vb up" },
		{ 1, "link set vb2 up" },
		{ 0, "addr add 198.18.0.1/24 dev va" },
		{ 0, "addr add 2001:db8::1/64 dev va" },
		{ 0, "addr add 198.18.1.1/24 dev va2" },
		{ 1, "addr add 198.18.0.2/24 dev vb" },
		{ 1, "addr add 198.18.0.3/24 dev vb" },
		{ 1, "addr add 2001:db8::2/64 dev vb" },
		{ 1, "addr add fe80::2/64 dev vb" },
		{ 1, "addr add 198.18.1.2/24 dev vb2" },
		{ 0, "route add 198.18.10.0/24 via 198.18.0.2" },
		{ 0, "route add 198.18.11.0/24 nexthop via 198.18.1.2 dev va2 "
		     "nexthop via 198.18.0.2 dev va" },
		{ 0, "route add 198.18.40.0/24 via inet6 fe80::2 dev va" },
		{ 0, "route add blackhole 198.18.20.0/24" },
		{ 0, "route add unreachable 198.18.21.0/24" },
		{ 0, "route add prohibit 198.18.22.0/24" },
		{ 0, "route add 198.18.30.0/24 dev lo" },
		{ 0, "-6 route add 2001:db8:10::/48 via fe80::2 dev va" },
		{ 0, "-6 route add 2001:db8:11::/48 via 2001:db8::2" },
		{ 0, "-6 route add blackhole 2001:db8:20::/48" },
	};
	size_t i;
	int fd;

	if (geteuid() != 0)
		skip_all("needs root: creates network namespaces");
	snprintf(lb, sizeof(lb), "xlbgw-lb-%d", (int)getpid());
	snprintf(peer, sizeof(peer), "xlbgw-peer-%d", (int)getpid());
	home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	atexit(remove_namespaces);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGABRT, on_signal);

	if (sh("ip netns add %s", lb))
		skip_all("cannot create network namespaces (ip netns add)");
	snprintf(lb_path, sizeof(lb_path), "/run/netns/%s", lb);
	if (sh("ip netns add %s", peer))
		bail_out("ip netns add %s", peer);
	snprintf(peer_path, sizeof(peer_path), "/run/netns/%s", peer);

	/* addresses usable at once: no duplicate address detection */
	for (i = 0; i < 2; i++)
		if (sh("ip netns exec %s sysctl -qw net.ipv6.conf.all.accept_dad=0 "
		       "net.ipv6.conf.default.accept_dad=0", i ? peer : lb))
			bail_out("sysctl in %s", i ? peer : lb);
	if (sh("ip link add va netns %s type veth peer name vb netns %s", lb, peer) ||
	    sh("ip link add va2 netns %s type veth peer name vb2 netns %s", lb, peer))
		bail_out("setup: cannot create veth pairs");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (sh("ip -n %s %s", cmds[i].in_peer ? peer : lb, cmds[i].cmd))
			bail_out("setup: ip %s", cmds[i].cmd);

	fd = open(lb_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		bail_out("cannot enter %s: %s", lb, strerror(errno));
	close(fd);
}

/* ---- resolver helpers --------------------------------------------------- */

static struct xlb_ip ip(const char *s)
{
	struct xlb_ip r = { 0 };

	if (inet_pton(AF_INET, s, r.a) == 1)
		r.family = XLB_FAMILY_V4;
	else if (inet_pton(AF_INET6, s, r.a) == 1)
		r.family = XLB_FAMILY_V6;
	else
		bail_out("bad address in test: %s", s);
	return r;
}

static bool ip_is(const struct xlb_ip *got, const char *want)
{
	struct xlb_ip w = ip(want);

	return got->family == w.family && !memcmp(got->a, w.a, sizeof(w.a));
}

static bool mac_is(const uint8_t *got, const char *want)
{
	unsigned int m[6], i;

	if (sscanf(want, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3],
		   &m[4], &m[5]) != 6)
		bail_out("bad MAC in test: %s", want);
	for (i = 0; i < 6; i++)
		if (got[i] != m[i])
			return false;
	return true;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct xlb_gw_result resolve(struct xlb_gw *gw, const char *dst)
{
	struct xlb_gw_result r;
	struct xlb_ip d = ip(dst);
	int err = xlb_gw_resolve(gw, &d, &r);

	if (err)
		diag("resolve %s: %s (%s)", dst, strerror(-err), r.why);
	return r;
}

/* Wait up to MS for a notification that may change answers; true if one
 * came. */
static bool wait_change(struct xlb_gw *gw, long ms)
{
	struct pollfd p = { .fd = xlb_gw_fd(gw), .events = POLLIN };
	long deadline = now_ms() + ms;
	bool changed;

	for (;;) {
		long left = deadline - now_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		if (xlb_gw_process_events(gw, &changed))
			return false;
		if (changed)
			return true;
	}
}

/* Forget notifications already queued. */
static void drain(struct xlb_gw *gw)
{
	struct pollfd p = { .fd = xlb_gw_fd(gw), .events = POLLIN };
	bool changed;

	while (poll(&p, 1, 0) > 0)
		if (xlb_gw_process_events(gw, &changed))
			break;
}

/* Resolve DST again after each change notification (and every RETRY_MS,
 * if not 0) until the answer is in STATE (and via VIA, and MAC MAC, when
 * given), or TIMEOUT_MS passed. The last answer is returned either way. */
static struct xlb_gw_result wait_retry(struct xlb_gw *gw, const char *dst,
				       enum xlb_gw_state state, const char *via,
				       const char *mac, long retry_ms)
{
	long deadline = now_ms() + TIMEOUT_MS, left;
	struct xlb_gw_result r;

	for (;;) {
		r = resolve(gw, dst);
		if (r.state == state && (!via || ip_is(&r.via, via)) &&
		    (!mac || mac_is(r.mac, mac)))
			return r;
		left = deadline - now_ms();
		if (left <= 0) {
			diag("%s: gave up waiting; last answer: %s: %s", dst,
			     xlb_gw_state_str(r.state), r.why);
			return r;
		}
		if (!wait_change(gw, retry_ms && retry_ms < left ? retry_ms : left) &&
		    !retry_ms) {
			diag("%s: no change event; last answer: %s: %s", dst,
			     xlb_gw_state_str(r.state), r.why);
			return r;
		}
	}
}

static struct xlb_gw_result wait_for(struct xlb_gw *gw, const char *dst,
				     enum xlb_gw_state state, const char *via,
				     const char *mac)
{
	return wait_retry(gw, dst, state, via, mac, 0);
}

static bool why_has(const struct xlb_gw_result *r, const char *word)
{
	if (strstr(r->why, word))
		return true;
	diag("why: \"%s\" lacks \"%s\"", r->why, word);
	return false;
}

/* ---- tests --------------------------------------------------------------- */

/* A fresh neighbour: the first answer starts ARP, an event brings the MAC,
 * and the entry is left managed so the kernel keeps it fresh. */
static void test_v4_gateway(struct xlb_gw *gw)
{
	struct xlb_gw_result r = resolve(gw, "198.18.10.1");
	char out[512];

	is_u64(r.state, XLB_GW_NO_NEIGH, "v4 gateway, unknown MAC: resolution started");
	ok(why_has(&r, "ARP"), "v4: why mentions ARP");
	ok(ip_is(&r.via, "198.18.0.2") && !r.onlink, "v4: via the gateway 198.18.0.2");
	ok(r.ifindex == (int)if_nametoindex("va") && !strcmp(r.ifname, "va"),
	   "v4: on va (ifindex and name)");
	is_u64(r.n_paths, 1, "v4: one path");

	r = wait_for(gw, "198.18.10.1", XLB_GW_OK, "198.18.0.2", mac_vb);
	ok(r.state == XLB_GW_OK && r.mac_known && mac_is(r.mac, mac_vb),
	   "v4: peer answered, event seen, MAC resolved");
	sh_out(out, sizeof(out), "ip -n %s neigh show 198.18.0.2 dev va", lb);
	ok(strstr(out, "managed") != NULL, "v4: neighbour entry is managed");
}

/* IPv6 gateways, a link-local one (scoped by the ifindex) and a global one. */
static void test_v6_gateways(struct xlb_gw *gw)
{
	struct xlb_gw_result r = resolve(gw, "2001:db8:10::1");

	is_u64(r.state, XLB_GW_NO_NEIGH, "v6 link-local gateway: resolution started");
	ok(why_has(&r, "neighbour discovery"), "v6: why mentions neighbour discovery");
	r = wait_for(gw, "2001:db8:10::1", XLB_GW_OK, "fe80::2", mac_vb);
	ok(r.state == XLB_GW_OK && mac_is(r.mac, mac_vb) &&
	   r.ifindex == (int)if_nametoindex("va"),
	   "v6: via fe80::2 dev va, MAC resolved");

	r = wait_for(gw, "2001:db8:11::1", XLB_GW_OK, "2001:db8::2", mac_vb);
	ok(r.state == XLB_GW_OK && mac_is(r.mac, mac_vb),
	   "v6: via global gateway 2001:db8::2, MAC resolved");

	/* RFC 5549: an IPv4 route with an IPv6 gateway */
	r = resolve(gw, "198.18.40.1");
	ok(r.via.family == XLB_FAMILY_V6 && ip_is(&r.via, "fe80::2") &&
	   r.state == XLB_GW_OK && mac_is(r.mac, mac_vb),
	   "v4 route via inet6 fe80::2: IPv6 next hop, known MAC");
}

/* On-link destinations: the next hop is the destination itself. */
static void test_onlink(struct xlb_gw *gw)
{
	struct xlb_gw_result r = wait_for(gw, "198.18.0.2", XLB_GW_OK, NULL, NULL);

	ok(r.onlink && ip_is(&r.via, "198.18.0.2") && mac_is(r.mac, mac_vb),
	   "v4 on-link: via is the destination, its MAC");
	ok(why_has(&r, "on-link"), "v4 on-link: why says on-link");
	r = wait_for(gw, "2001:db8::2", XLB_GW_OK, NULL, NULL);
	ok(r.onlink && ip_is(&r.via, "2001:db8::2") && mac_is(r.mac, mac_vb),
	   "v6 on-link: via is the destination, its MAC");
}

/* Every way of having no usable route says so, and why. */
static void test_no_route(struct xlb_gw *gw)
{
	static const struct {
		const char *dst, *word, *name;
	} cases[] = {
		{ "198.19.0.1",		"no route to 198.19.0.1", "v4, no route" },
		{ "2001:db8:ffff::1",	"no route to",	"v6, no route" },
		{ "198.18.20.1",	"blackhole",	"v4 blackhole" },
		{ "2001:db8:20::1",	"blackhole",	"v6 blackhole" },
		{ "198.18.21.1",	"unreachable",	"v4 unreachable" },
		{ "198.18.22.1",	"prohibit",	"v4 prohibit" },
		{ "198.18.0.1",		"this host",	"v4 local address" },
		{ "2001:db8::1",	"this host",	"v6 local address" },
		{ "198.18.30.1",	"lo, which has no MAC", "route via lo (not Ethernet)" },
	};
	struct xlb_gw_result r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = resolve(gw, cases[i].dst);
		ok(r.state == XLB_GW_NO_ROUTE && !r.mac_known &&
		   why_has(&r, cases[i].word) && why_has(&r, "no route"),
		   "%s: NO_ROUTE, why says so", cases[i].name);
	}
}

/* Multipath: the first usable nexthop, said so; a dead one is skipped. */
static void test_multipath(struct xlb_gw *gw)
{
	struct xlb_gw_result r;

	r = wait_for(gw, "198.18.11.1", XLB_GW_OK, NULL, mac_vb2);
	ok(ip_is(&r.via, "198.18.1.2") && !strcmp(r.ifname, "va2"),
	   "multipath: first nexthop (198.18.1.2 dev va2)");
	is_u64(r.n_paths, 2, "multipath: two paths counted");
	ok(why_has(&r, "multipath"), "multipath: why says multipath");

	drain(gw);
	sh("ip -n %s link set va2 down", lb);
	r = wait_for(gw, "198.18.11.1", XLB_GW_OK, "198.18.0.2", mac_vb);
	ok(r.state == XLB_GW_OK && !strcmp(r.ifname, "va"),
	   "multipath, first link down: the next usable nexthop (198.18.0.2 dev va)");
	sh("ip -n %s link set va2 up", lb);
	r = wait_for(gw, "198.18.11.1", XLB_GW_OK, "198.18.1.2", mac_vb2);
	ok(ip_is(&r.via, "198.18.1.2"), "multipath, link up again: first nexthop again");

	/* the peer goes away: no carrier, the nexthop is marked linkdown */
	sh("ip -n %s link set vb2 down", peer);
	r = wait_for(gw, "198.18.11.1", XLB_GW_OK, "198.18.0.2", mac_vb);
	ok(ip_is(&r.via, "198.18.0.2"), "multipath, first link without carrier: skipped");
	sh("ip -n %s link set vb2 up", peer);
}

/* A route change is an event, and the new gateway is resolved. */
static void test_route_change(struct xlb_gw *gw)
{
	struct xlb_gw_result r;

	drain(gw);
	sh("ip -n %s route replace 198.18.10.0/24 via 198.18.0.3", lb);
	ok(wait_change(gw, TIMEOUT_MS), "route replaced: change event");
	r = wait_for(gw, "198.18.10.1", XLB_GW_OK, "198.18.0.3", mac_vb);
	ok(r.state == XLB_GW_OK && ip_is(&r.via, "198.18.0.3"),
	   "route replaced: new gateway 198.18.0.3 resolved");
}

/* Neighbour events that cannot change an answer do not wake the daemon. */
static void test_quiet_events(struct xlb_gw *gw)
{
	struct pollfd p = { .fd = xlb_gw_fd(gw), .events = POLLIN };
	struct xlb_gw_result r;
	bool changed = true;
	char out[512];

	drain(gw);
	sh("ip -n %s neigh add 198.18.0.77 lladdr 02:00:00:00:00:77 dev va", lb);
	ok(poll(&p, 1, TIMEOUT_MS) == 1 && !xlb_gw_process_events(gw, &changed) &&
	   !changed, "neighbour we never answered about: not a change");

	/* same MAC, state REACHABLE -> STALE (also drops 'managed') */
	drain(gw);
	sh("ip -n %s neigh replace 198.18.0.3 lladdr %s dev va nud stale", lb, mac_vb);
	changed = true;
	ok(poll(&p, 1, TIMEOUT_MS) == 1 && !xlb_gw_process_events(gw, &changed) &&
	   !changed, "next hop STALE with the same MAC: not a change");
	r = resolve(gw, "198.18.10.1");
	sh_out(out, sizeof(out), "ip -n %s neigh show 198.18.0.3 dev va", lb);
	ok(r.state == XLB_GW_OK && strstr(out, "managed"),
	   "resolve marks the entry managed again");

	/* a static entry is used as is and left alone */
	sh("ip -n %s neigh replace 198.18.0.50 lladdr 02:00:00:00:00:50 dev va "
	   "nud permanent", lb);
	r = resolve(gw, "198.18.0.50");
	sh_out(out, sizeof(out), "ip -n %s neigh show 198.18.0.50 dev va", lb);
	ok(r.state == XLB_GW_OK && mac_is(r.mac, "02:00:00:00:00:50") &&
	   strstr(out, "PERMANENT") && !strstr(out, "managed"),
	   "permanent neighbour: its MAC, entry untouched");
}

/* The gateway's MAC changes: announced (gratuitous ARP, unsolicited NA),
 * or not announced and the entry flushed. */
static void test_mac_change(struct xlb_gw *gw)
{
	struct xlb_gw_result r;

	sh("ip netns exec %s sysctl -qw net.ipv4.conf.vb.arp_notify=1 "
	   "net.ipv6.conf.vb.ndisc_notify=1", peer);
	drain(gw);
	sh("ip -n %s link set dev vb address 02:00:00:00:00:22", peer);
	r = wait_for(gw, "198.18.10.1", XLB_GW_OK, NULL, "02:00:00:00:00:22");
	ok(mac_is(r.mac, "02:00:00:00:00:22"), "v4: announced MAC change noticed");
	r = wait_for(gw, "2001:db8:10::1", XLB_GW_OK, NULL, "02:00:00:00:00:22");
	ok(mac_is(r.mac, "02:00:00:00:00:22"), "v6: announced MAC change noticed");

	sh("ip netns exec %s sysctl -qw net.ipv4.conf.vb.arp_notify=0 "
	   "net.ipv6.conf.vb.ndisc_notify=0", peer);
	sh("ip -n %s link set dev vb address 02:00:00:00:00:33", peer);
	r = resolve(gw, "198.18.10.1");
	ok(mac_is(r.mac, "02:00:00:00:00:22"),
	   "silent MAC change: the kernel still has the old MAC");
	drain(gw);
	sh("ip -n %s neigh flush dev va", lb);
	r = wait_for(gw, "198.18.10.1", XLB_GW_OK, NULL, "02:00:00:00:00:33");
	ok(mac_is(r.mac, "02:00:00:00:00:33"),
	   "silent MAC change, entry flushed: new MAC resolved through events");
}

/* Nobody answers: FAILED after the kernel's probes; an answer later ends it. */
static void test_failed(struct xlb_gw *gw)
{
	struct xlb_gw_result r;

	sh("ip netns exec %s sysctl -qw net.ipv4.neigh.va.mcast_solicit=1 "
	   "net.ipv4.neigh.va.retrans_time_ms=200", lb);
	r = resolve(gw, "198.18.0.9");
	is_u64(r.state, XLB_GW_NO_NEIGH, "silent host: resolution started");
	r = wait_for(gw, "198.18.0.9", XLB_GW_NEIGH_FAILED, NULL, NULL);
	ok(r.state == XLB_GW_NEIGH_FAILED && why_has(&r, "does not answer"),
	   "silent host: NEIGH_FAILED, why says it does not answer");

	/* The kernel probes a failed managed entry again on its own every
	 * interval_probe_time_ms (5 s, a global setting); a resolve probes at
	 * once, so a daemon with a retry timer recovers sooner. This is that
	 * timer, at 300 ms. */
	sh("ip -n %s addr add 198.18.0.9/24 dev vb", peer);
	r = wait_retry(gw, "198.18.0.9", XLB_GW_OK, NULL, "02:00:00:00:00:33", 300);
	ok(r.state == XLB_GW_OK, "host answers later: a resolve probes again, OK");
	sh("ip netns exec %s sysctl -qw net.ipv4.neigh.va.mcast_solicit=3 "
	   "net.ipv4.neigh.va.retrans_time_ms=1000", lb);
}

/* Routes through nexthop objects, with and without the kernel expanding
 * them into the route (net.ipv4.nexthop_compat_mode). */
static void test_nexthop_objects(struct xlb_gw *gw)
{
	struct xlb_gw_result r;
	int mode;

	if (sh("ip -n %1$s nexthop add id 10 via 198.18.0.2 dev va && "
	       "ip -n %1$s nexthop add id 11 via 198.18.0.3 dev va && "
	       "ip -n %1$s nexthop add id 12 group 10/11 && "
	       "ip -n %1$s route add 198.18.50.0/24 nhid 10 && "
	       "ip -n %1$s route add 198.18.51.0/24 nhid 12", lb)) {
		skip("nexthop objects not available");
		return;
	}
	for (mode = 1; mode >= 0; mode--) {
		if (sh("ip netns exec %s sysctl -qw net.ipv4.nexthop_compat_mode=%d",
		       lb, mode)) {
			skip("net.ipv4.nexthop_compat_mode=%d not settable", mode);
			continue;
		}
		r = resolve(gw, "198.18.50.1");
		ok(r.state != XLB_GW_NO_ROUTE && ip_is(&r.via, "198.18.0.2") &&
		   r.n_paths == 1, "nexthop object (compat mode %d): via 198.18.0.2",
		   mode);
		r = resolve(gw, "198.18.51.1");
		ok(r.state != XLB_GW_NO_ROUTE && ip_is(&r.via, "198.18.0.2") &&
		   r.n_paths == 2 && why_has(&r, "multipath"),
		   "nexthop group (compat mode %d): first member, multipath", mode);
	}
	sh("ip netns exec %s sysctl -qw net.ipv4.nexthop_compat_mode=1", lb);
}

int main(void)
{
	struct xlb_gw *gw;

	setup();
	gw = xlb_gw_open();
	if (!gw)
		bail_out("xlb_gw_open: %s", strerror(errno));

	test_v4_gateway(gw);
	test_v6_gateways(gw);
	test_onlink(gw);
	test_no_route(gw);
	test_multipath(gw);
	test_route_change(gw);
	test_quiet_events(gw);
	test_mac_change(gw);
	test_failed(gw);
	test_nexthop_objects(gw);

	xlb_gw_close(gw);
	return tap_done();
}
