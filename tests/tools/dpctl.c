// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * dpctl: a low-level test and debug tool over the load balancer's pinned
 * maps (include/xlb.h), a thin shell around libxlb's dataplane.h and
 * maglev.h. The control plane proper (xlbd, xlbctl) replaces it in tests
 * once it exists.
 *
 *   dpctl -d /sys/fs/bpf/lab/lb config gw 02:00:00:00:00:01 src4 198.18.2.2 mtu 1500
 *   dpctl -d /sys/fs/bpf/lab/lb vip add 198.18.0.10 80 tcp 0
 *   dpctl -d /sys/fs/bpf/lab/lb backend set 0 0 198.18.101.2 active
 *   dpctl -d /sys/fs/bpf/lab/lb ring 198.18.0.10 80 tcp
 *   dpctl -d /sys/fs/bpf/lab/lb stats
 *   dpctl xdp-pass veth0
 *
 * One table of commands drives dispatch and help.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/vfs.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "xlb.h"
#include "dataplane.h"
#include "maglev.h"

#define PROG			"dpctl"
#define DEFAULT_PIN_DIR		"/sys/fs/bpf/xlb"
#define PASS_PROG_NAME		"xlb_lab_pass"

#define EXIT_OK			0
#define EXIT_FAIL		1
#define EXIT_USAGE		2

static struct {
	const char *pin_dir;
	bool verbose;
	bool all;
} opt = { .pin_dir = DEFAULT_PIN_DIR };

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return opt.verbose ? vfprintf(stderr, fmt, ap) : 0;
}

/* ---- parsing ------------------------------------------------------------- */

/* An unsigned decimal in [min, max]. */
static bool parse_u32(const char *s, unsigned long min, unsigned long max, __u32 *out)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (__u32)v;
	return true;
}

/* "198.18.0.10" or "2001:db8::10": address (network order) and family. */
static bool parse_addr(const char *s, __be32 addr[4], __u8 *family)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = XLB_FAMILY_V4;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = XLB_FAMILY_V6;
		return true;
	}
	return false;
}

static const char *addr_str(const void *addr, __u8 family, char *buf, size_t len)
{
	if (!inet_ntop(family == XLB_FAMILY_V4 ? AF_INET : AF_INET6, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

static bool parse_proto(const char *s, __u8 *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return false;
	return true;
}

static const char *proto_str(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

/* "198.18.0.10:80/tcp", "[2001:db8::10]:443/tcp" */
static const char *vip_str(const struct xlb_vip_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	addr_str(k->addr, k->family, a, sizeof(a));
	snprintf(buf, len, k->family == XLB_FAMILY_V6 ? "[%s]:%u/%s" : "%s:%u/%s", a,
		 ntohs(k->port), proto_str(k->proto));
	return buf;
}

/* ADDR PORT PROTO, as the vip and ring commands take them. */
static int parse_vip_key(const char *what, char **argv, struct xlb_vip_key *k)
{
	__u32 port;

	memset(k, 0, sizeof(*k));
	if (!parse_addr(argv[0], k->addr, &k->family)) {
		fail("%s: '%s' is not an IPv4 or IPv6 address", what, argv[0]);
		return EXIT_USAGE;
	}
	if (!parse_u32(argv[1], 1, 65535, &port)) {
		fail("%s: port '%s': want a number in 1..65535", what, argv[1]);
		return EXIT_USAGE;
	}
	k->port = htons((__u16)port);
	if (!parse_proto(argv[2], &k->proto)) {
		fail("%s: protocol '%s': want tcp or udp", what, argv[2]);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static const char *const state_names[] = {
	[XLB_BACKEND_UNUSED] = "unused",
	[XLB_BACKEND_ACTIVE] = "active",
	[XLB_BACKEND_DRAINING] = "draining",
	[XLB_BACKEND_DOWN] = "down",
};

static const char *state_str(__u8 s)
{
	return s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

static bool parse_state(const char *s, __u8 *state)
{
	for (__u8 i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (!strcmp(s, state_names[i])) {
			*state = i;
			return true;
		}
	return false;
}

/* ---- the maps -------------------------------------------------------------- */

static bool on_bpffs(const char *dir)
{
	struct statfs fs;

	return statfs(dir, &fs) == 0 && fs.f_type == BPF_FS_MAGIC;
}

static int dp_open(const char *what, struct xlb_dp *dp)
{
	int err = xlb_dp_open_pinned(dp, opt.pin_dir);

	if (!err)
		return 0;
	if (err == -ENOENT && access(opt.pin_dir, F_OK) == 0 && !on_bpffs(opt.pin_dir))
		fail("%s: %s is not on a BPF filesystem ('ip netns exec' mounts a fresh /sys: "
		     "use 'nsenter --net=/run/netns/NAME' to keep the host's)", what, opt.pin_dir);
	else if (err == -ENOENT)
		fail("%s: no xlb maps pinned in %s (attach the XDP program first; "
		     "'ip link set dev IF xdp obj xlb.bpf.o' pins them in /sys/fs/bpf/tc/globals; "
		     "or pass -d DIR)", what, opt.pin_dir);
	else
		fail("%s: opening the maps in %s: %s", what, opt.pin_dir, strerror(-err));
	return -1;
}

struct vip_entry {
	struct xlb_vip_key key;
	struct xlb_vip vip;
};

static int vip_entry_cmp(const void *a, const void *b)
{
	const struct vip_entry *x = a, *y = b;

	return x->vip.vip_id < y->vip.vip_id ? -1 : x->vip.vip_id > y->vip.vip_id;
}

/* Every VIP, in id order; returns the count or -1 after reporting. */
static int vips_read(const char *what, const struct xlb_dp *dp, struct vip_entry *e)
{
	struct xlb_vip_key k, *prev = NULL;
	int n = 0;

	while (n < XLB_MAX_VIPS && bpf_map_get_next_key(dp->vips, prev, &k) == 0) {
		e[n].key = k;
		prev = &e[n].key;
		if (bpf_map_lookup_elem(dp->vips, &k, &e[n].vip) == 0)
			n++;
	}
	if (errno != ENOENT && n < XLB_MAX_VIPS) {
		fail("%s: reading the VIPs: %s", what, strerror(errno));
		return -1;
	}
	qsort(e, n, sizeof(e[0]), vip_entry_cmp);
	return n;
}

static int vip_by_id(const struct vip_entry *e, int n, __u32 id)
{
	for (int i = 0; i < n; i++)
		if (e[i].vip.vip_id == id)
			return i;
	return -1;
}

/* Calls FN for every backend entry not UNUSED, in id order. */
static int backends_walk(const char *what, const struct xlb_dp *dp,
			 void (*fn)(__u32 id, const struct xlb_backend *be, void *ctx), void *ctx)
{
	const __u32 chunk = 4096;
	struct xlb_backend *bes = calloc(chunk, sizeof(*bes));
	__u32 *keys = calloc(chunk, sizeof(*keys));
	__u32 batch = 0, n;
	void *in = NULL;
	int err = 0;

	if (!bes || !keys) {
		fail("%s: out of memory", what);
		err = -ENOMEM;
		goto out;
	}
	do {
		n = chunk;
		if (bpf_map_lookup_batch(dp->backends, in, &batch, keys, bes, &n, NULL) &&
		    errno != ENOENT) {
			err = -errno;
			fail("%s: reading the backends: %s", what, strerror(errno));
			break;
		}
		in = &batch;
		for (__u32 i = 0; i < n; i++)
			if (bes[i].state != XLB_BACKEND_UNUSED)
				fn(keys[i], &bes[i], ctx);
	} while (n == chunk);
out:
	free(bes);
	free(keys);
	return err;
}

/* ---- config ---------------------------------------------------------------- */

static bool parse_mac(const char *s, __u8 mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (__u8)b[i];
	return true;
}

/* "198.18.64.0/18" into ADDR and LEN, for family FAMILY. */
static bool parse_prefix(const char *s, __u8 family, __be32 addr[4], __u8 *len)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	__u8 fam;
	__u32 l;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash = 0;
	if (!parse_addr(buf, addr, &fam) || fam != family ||
	    !parse_u32(slash + 1, 0, family == XLB_FAMILY_V4 ? 32 : 128, &l))
		return false;
	*len = (__u8)l;
	return true;
}

static void config_print(const struct xlb_config *c)
{
	char a[INET6_ADDRSTRLEN];
	const __u8 *m = c->gw_mac;

	printf("gw %02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1], m[2], m[3], m[4], m[5]);
	printf("src4 %s\n", addr_str(&c->src_v4, XLB_FAMILY_V4, a, sizeof(a)));
	printf("src6 %s\n", addr_str(c->src_v6, XLB_FAMILY_V6, a, sizeof(a)));
	printf("src-prefix4 %s/%u\n", addr_str(&c->src_prefix_v4, XLB_FAMILY_V4, a, sizeof(a)),
	       c->src_prefix_v4_len);
	printf("src-prefix6 %s/%u\n", addr_str(c->src_prefix_v6, XLB_FAMILY_V6, a, sizeof(a)),
	       c->src_prefix_v6_len);
	printf("src-from-prefix %s\n", c->flags & XLB_CFG_F_SRC_FROM_PREFIX ? "on" : "off");
	printf("mtu %u\n", c->mtu);
	printf("ttl %u\n", c->ttl);
	printf("seed %u\n", c->hash_seed);
	printf("flow-limit %u\n", c->new_flow_limit);
	printf("syn-rate %u\n", c->syn_src_rate);
	printf("syn-burst %u\n", c->syn_src_burst);
	printf("icmp-rate %u\n", c->icmp_rate);
}

static const char config_keys[] =
	"gw MAC, src4 ADDR, src6 ADDR, src-prefix4 ADDR/LEN, src-prefix6 ADDR/LEN, "
	"src-from-prefix on|off, mtu N, ttl N, seed N, flow-limit N, syn-rate N, "
	"syn-burst N, icmp-rate N";

static int cmd_config(int argc, char **argv)
{
	struct xlb_config c;
	struct xlb_dp dp;
	__u32 v;
	__u8 fam;
	int err;

	if (argc % 2) {
		fail("config %s: missing its value (keys: %s)", argv[argc - 1], config_keys);
		return EXIT_USAGE;
	}
	if (dp_open("config", &dp))
		return EXIT_FAIL;
	err = xlb_dp_config_get(&dp, &c);
	if (err) {
		fail("config: reading %s/" XLB_MAP_CONFIG ": %s", opt.pin_dir, strerror(-err));
		xlb_dp_close(&dp);
		return EXIT_FAIL;
	}
	for (int i = 0; i < argc; i += 2) {
		const char *k = argv[i], *s = argv[i + 1];
		bool good;

		if (!strcmp(k, "gw")) {
			good = parse_mac(s, c.gw_mac);
		} else if (!strcmp(k, "src4")) {
			__be32 a[4];

			good = parse_addr(s, a, &fam) && fam == XLB_FAMILY_V4;
			c.src_v4 = a[0];
		} else if (!strcmp(k, "src6")) {
			good = parse_addr(s, c.src_v6, &fam) && fam == XLB_FAMILY_V6;
		} else if (!strcmp(k, "src-prefix4")) {
			__be32 a[4];

			good = parse_prefix(s, XLB_FAMILY_V4, a, &c.src_prefix_v4_len);
			c.src_prefix_v4 = a[0];
		} else if (!strcmp(k, "src-prefix6")) {
			good = parse_prefix(s, XLB_FAMILY_V6, c.src_prefix_v6, &c.src_prefix_v6_len);
		} else if (!strcmp(k, "src-from-prefix")) {
			good = !strcmp(s, "on") || !strcmp(s, "off");
			if (!strcmp(s, "on"))
				c.flags |= XLB_CFG_F_SRC_FROM_PREFIX;
			else
				c.flags &= ~XLB_CFG_F_SRC_FROM_PREFIX;
		} else if (!strcmp(k, "mtu")) {
			good = parse_u32(s, 576, 65535, &v);
			c.mtu = (__u16)v;
		} else if (!strcmp(k, "ttl")) {
			good = parse_u32(s, 0, 255, &v);
			c.ttl = (__u8)v;
		} else if (!strcmp(k, "seed")) {
			good = parse_u32(s, 0, UINT32_MAX, &c.hash_seed);
		} else if (!strcmp(k, "flow-limit")) {
			good = parse_u32(s, 0, UINT32_MAX, &c.new_flow_limit);
		} else if (!strcmp(k, "syn-rate")) {
			good = parse_u32(s, 0, UINT32_MAX, &c.syn_src_rate);
		} else if (!strcmp(k, "syn-burst")) {
			good = parse_u32(s, 0, UINT32_MAX, &c.syn_src_burst);
		} else if (!strcmp(k, "icmp-rate")) {
			good = parse_u32(s, 0, UINT32_MAX, &c.icmp_rate);
		} else {
			fail("config: unknown key '%s' (keys: %s)", k, config_keys);
			xlb_dp_close(&dp);
			return EXIT_USAGE;
		}
		if (!good) {
			fail("config %s: bad value '%s' (e.g. gw 02:00:00:00:00:01, src4 198.18.2.2, "
			     "src6 2001:db8:2::2, src-prefix4 198.18.64.0/18, mtu 576..65535, "
			     "ttl 0..255)", k, s);
			xlb_dp_close(&dp);
			return EXIT_USAGE;
		}
	}
	if (argc) {
		err = xlb_dp_config_set(&dp, &c);
		if (err) {
			fail("config: writing %s/" XLB_MAP_CONFIG ": %s", opt.pin_dir,
			     strerror(-err));
			xlb_dp_close(&dp);
			return EXIT_FAIL;
		}
	} else {
		config_print(&c);
	}
	xlb_dp_close(&dp);
	return EXIT_OK;
}

/* ---- VIPs ------------------------------------------------------------------ */

static int cmd_vip_add(int argc, char **argv)
{
	struct xlb_vip vip = { 0 };
	struct xlb_vip_key k;
	struct xlb_dp dp;
	char what[160];
	__u32 v;
	int rc, err;

	if (argc < 4) {
		fail("vip add: usage: " PROG " vip add ADDR PORT tcp|udp ID [mss N] [src-hash]");
		return EXIT_USAGE;
	}
	snprintf(what, sizeof(what), "vip add %s %s %s", argv[0], argv[1], argv[2]);
	rc = parse_vip_key(what, argv, &k);
	if (rc)
		return rc;
	if (!parse_u32(argv[3], 0, XLB_MAX_VIPS - 1, &vip.vip_id)) {
		fail("%s: id '%s': want a number in 0..%d", what, argv[3], XLB_MAX_VIPS - 1);
		return EXIT_USAGE;
	}
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "src-hash")) {
			vip.flags |= XLB_VIP_F_HASH_SRC_ONLY;
		} else if (!strcmp(argv[i], "mss") && i + 1 < argc) {
			if (!parse_u32(argv[++i], 0, 65535, &v)) {
				fail("%s: mss '%s': want 0 (from the config's mtu) or a number up "
				     "to 65535", what, argv[i]);
				return EXIT_USAGE;
			}
			vip.mss = (__u16)v;
		} else {
			fail("%s: unexpected '%s' (options: mss N, src-hash)", what, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (dp_open(what, &dp))
		return EXIT_FAIL;
	err = xlb_dp_vip_set(&dp, &k, &vip);
	xlb_dp_close(&dp);
	if (err == -EEXIST) {
		fail("%s: the VIP exists with another id (see '" PROG " vip list')", what);
		return EXIT_FAIL;
	}
	if (err) {
		fail("%s: %s", what, strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int cmd_vip_del(int argc, char **argv)
{
	struct xlb_vip_key k;
	struct xlb_dp dp;
	char what[160];
	int rc, err;

	if (argc != 3) {
		fail("vip del: usage: " PROG " vip del ADDR PORT tcp|udp");
		return EXIT_USAGE;
	}
	snprintf(what, sizeof(what), "vip del %s %s %s", argv[0], argv[1], argv[2]);
	rc = parse_vip_key(what, argv, &k);
	if (rc)
		return rc;
	if (dp_open(what, &dp))
		return EXIT_FAIL;
	err = xlb_dp_vip_del(&dp, &k);
	xlb_dp_close(&dp);
	if (err == -ENOENT) {
		fail("%s: no such VIP (see '" PROG " vip list')", what);
		return EXIT_FAIL;
	}
	if (err) {
		fail("%s: %s", what, strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int cmd_vip_list(int argc, char **argv)
{
	static struct vip_entry e[XLB_MAX_VIPS];
	struct xlb_dp dp;
	char s[80];
	int n;

	if (argc) {
		fail("vip list: unexpected '%s'", argv[0]);
		return EXIT_USAGE;
	}
	if (dp_open("vip list", &dp))
		return EXIT_FAIL;
	n = vips_read("vip list", &dp, e);
	if (n < 0) {
		xlb_dp_close(&dp);
		return EXIT_FAIL;
	}
	for (int i = 0; i < n; i++) {
		uint32_t m = 0;

		xlb_dp_ring_size(&dp, &e[i].vip, &m);
		printf("vip %s id %u ring %u size %u mss %u%s\n", vip_str(&e[i].key, s, sizeof(s)),
		       e[i].vip.vip_id, e[i].vip.ring_id, m, e[i].vip.mss,
		       e[i].vip.flags & XLB_VIP_F_HASH_SRC_ONLY ? " src-hash" : "");
	}
	xlb_dp_close(&dp);
	return EXIT_OK;
}

/* ---- backends -------------------------------------------------------------- */

static int cmd_backend_set(int argc, char **argv)
{
	static struct vip_entry e[XLB_MAX_VIPS];
	struct xlb_backend be = { 0 };
	struct xlb_dp dp;
	char what[160];
	__u32 id;
	int n, err;

	if (argc != 4) {
		fail("backend set: usage: " PROG " backend set ID VIP_ID ADDR "
		     "active|draining|down|unused");
		return EXIT_USAGE;
	}
	snprintf(what, sizeof(what), "backend set %s", argv[0]);
	if (!parse_u32(argv[0], 0, XLB_MAX_BACKENDS - 1, &id)) {
		fail("%s: id '%s': want a number in 0..%d", what, argv[0], XLB_MAX_BACKENDS - 1);
		return EXIT_USAGE;
	}
	if (!parse_u32(argv[1], 0, XLB_MAX_VIPS - 1, &be.vip_id)) {
		fail("%s: VIP id '%s': want a number in 0..%d", what, argv[1], XLB_MAX_VIPS - 1);
		return EXIT_USAGE;
	}
	if (!parse_addr(argv[2], be.addr, &be.family)) {
		fail("%s: '%s' is not an IPv4 or IPv6 address", what, argv[2]);
		return EXIT_USAGE;
	}
	if (!parse_state(argv[3], &be.state)) {
		fail("%s: state '%s': want active, draining, down or unused", what, argv[3]);
		return EXIT_USAGE;
	}
	if (dp_open(what, &dp))
		return EXIT_FAIL;
	n = vips_read(what, &dp, e);
	if (n >= 0 && be.state != XLB_BACKEND_UNUSED && vip_by_id(e, n, be.vip_id) < 0) {
		fail("%s: no VIP with id %u (see '" PROG " vip list')", what, be.vip_id);
		xlb_dp_close(&dp);
		return EXIT_FAIL;
	}
	err = n < 0 ? -EIO : xlb_dp_backend_set(&dp, id, &be);
	xlb_dp_close(&dp);
	if (err) {
		if (n >= 0)
			fail("%s: %s", what, strerror(-err));
		return EXIT_FAIL;
	}
	if (be.state != XLB_BACKEND_ACTIVE && be.state != XLB_BACKEND_UNUSED)
		fprintf(stderr, PROG ": %s: now %s; the ring changes only with '" PROG
			" ring' for its VIP\n", what, state_str(be.state));
	return EXIT_OK;
}

static void backend_print(__u32 id, const struct xlb_backend *be, void *ctx)
{
	char a[INET6_ADDRSTRLEN];

	printf("backend %u vip %u %s %s gen %u\n", id, be->vip_id,
	       addr_str(be->addr, be->family, a, sizeof(a)), state_str(be->state), be->gen);
}

static int cmd_backend_list(int argc, char **argv)
{
	struct xlb_dp dp;
	int err;

	if (argc) {
		fail("backend list: unexpected '%s'", argv[0]);
		return EXIT_USAGE;
	}
	if (dp_open("backend list", &dp))
		return EXIT_FAIL;
	err = backends_walk("backend list", &dp, backend_print, NULL);
	xlb_dp_close(&dp);
	return err ? EXIT_FAIL : EXIT_OK;
}

/* ---- ring ------------------------------------------------------------------ */

struct ring_collect {
	__u32 vip_id;
	struct xlb_mg_backend *b;
	size_t n, cap;
	bool oom;
};

static void ring_collect_one(__u32 id, const struct xlb_backend *be, void *ctx)
{
	struct ring_collect *rc = ctx;
	struct xlb_mg_backend *grown;

	if (be->vip_id != rc->vip_id || rc->oom)
		return;
	if (rc->n == rc->cap) {
		rc->cap = rc->cap ? 2 * rc->cap : 64;
		grown = realloc(rc->b, rc->cap * sizeof(*grown));
		if (!grown) {
			rc->oom = true;
			return;
		}
		rc->b = grown;
	}
	memset(&rc->b[rc->n], 0, sizeof(rc->b[rc->n]));
	rc->b[rc->n].id = id;
	rc->b[rc->n].family = be->family;
	rc->b[rc->n].state = be->state;
	rc->b[rc->n].weight = 1;
	memcpy(rc->b[rc->n].addr, be->addr, sizeof(rc->b[rc->n].addr));
	rc->n++;
}

static int cmd_ring(int argc, char **argv)
{
	struct ring_collect col = { 0 };
	struct xlb_maglev mg = { 0 };
	struct xlb_ring_slot *slots = NULL;
	struct xlb_config cfg;
	struct xlb_vip_key k;
	struct xlb_vip vip;
	struct xlb_dp dp;
	char what[160];
	__u32 m = XLB_RING_SIZE_DEFAULT;
	int rc, err;

	if (argc != 3 && argc != 4) {
		fail("ring: usage: " PROG " ring VIPADDR PORT tcp|udp [M]");
		return EXIT_USAGE;
	}
	snprintf(what, sizeof(what), "ring %s %s %s", argv[0], argv[1], argv[2]);
	rc = parse_vip_key(what, argv, &k);
	if (rc)
		return rc;
	if (argc == 4 && (!parse_u32(argv[3], 2, XLB_RING_SIZE_MAX, &m) || !xlb_is_prime(m))) {
		fail("%s: M '%s': want a prime up to %d (e.g. 65537, 251)", what, argv[3],
		     XLB_RING_SIZE_MAX);
		return EXIT_USAGE;
	}
	if (dp_open(what, &dp))
		return EXIT_FAIL;
	rc = EXIT_FAIL;
	err = xlb_dp_vip_get(&dp, &k, &vip);
	if (err) {
		fail("%s: %s", what, err == -ENOENT ? "no such VIP (see '" PROG " vip list')"
						    : strerror(-err));
		goto out;
	}
	err = xlb_dp_config_get(&dp, &cfg);
	if (err) {
		fail("%s: reading the config (for its seed): %s", what, strerror(-err));
		goto out;
	}
	col.vip_id = vip.vip_id;
	if (backends_walk(what, &dp, ring_collect_one, &col))
		goto out;
	slots = calloc(m, sizeof(*slots));
	if (!slots || col.oom) {
		fail("%s: out of memory", what);
		goto out;
	}
	err = xlb_maglev_build(&mg, col.b, col.n, m, cfg.hash_seed, slots);
	if (err) {
		fail("%s: building the ring of %zu backends, M %u: %s (two backends with one "
		     "address? see '" PROG " backend list')", what, col.n, m, strerror(-err));
		goto out;
	}
	err = xlb_dp_ring_install(&dp, &k, slots, m);
	if (err) {
		fail("%s: installing the ring: %s", what, strerror(-err));
		goto out;
	}
	if (!col.n)
		printf("no backends for VIP id %u: every slot empty, its packets are dropped "
		       "(drop_no_backend)\n", vip.vip_id);
	/* what the new ring gives each backend */
	for (size_t i = 0; i < col.n; i++) {
		char a[INET6_ADDRSTRLEN];
		__u32 nnew = 0, nest = 0;

		for (__u32 s = 0; s < m; s++) {
			nnew += slots[s].new_backend == col.b[i].id;
			nest += slots[s].est_backend == col.b[i].id;
		}
		printf("backend %u %s %s: new %u est %u of %u slots\n", col.b[i].id,
		       addr_str(col.b[i].addr, col.b[i].family, a, sizeof(a)),
		       state_str(col.b[i].state), nnew, nest, m);
	}
	rc = EXIT_OK;
out:
	xlb_maglev_release(&mg);
	free(slots);
	free(col.b);
	xlb_dp_close(&dp);
	return rc;
}

/* ---- flows ----------------------------------------------------------------- */

static int cmd_flows(int argc, char **argv)
{
	struct xlb_flow_key k, cur, *prev = NULL;
	struct xlb_flow f;
	struct xlb_dp dp;
	__u32 backend = XLB_NO_BACKEND;
	const char *verb = argc ? argv[0] : "list";
	unsigned long total = 0;
	struct {
		__u32 id;
		unsigned long n;
	} per[256];
	size_t nper = 0;

	if (strcmp(verb, "list") && strcmp(verb, "count") && strcmp(verb, "flush")) {
		fail("flows %s: unknown (try 'flows', 'flows count' or 'flows flush [BACKEND_ID]')",
		     verb);
		return EXIT_USAGE;
	}
	if (argc > 2 || (argc == 2 && strcmp(verb, "flush"))) {
		fail("flows %s: unexpected '%s'", verb, argv[argc - 1]);
		return EXIT_USAGE;
	}
	if (argc == 2 && !parse_u32(argv[1], 0, XLB_MAX_BACKENDS - 1, &backend)) {
		fail("flows flush: backend id '%s': want a number in 0..%d", argv[1],
		     XLB_MAX_BACKENDS - 1);
		return EXIT_USAGE;
	}
	if (dp_open("flows", &dp))
		return EXIT_FAIL;
	if (!strcmp(verb, "flush")) {
		long n = xlb_dp_flows_flush(&dp, backend);

		xlb_dp_close(&dp);
		if (n < 0) {
			fail("flows flush: %s", strerror((int)-n));
			return EXIT_FAIL;
		}
		printf("flushed %ld flows\n", n);
		return EXIT_OK;
	}
	while (bpf_map_get_next_key(dp.flows, prev, &k) == 0) {
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
		size_t i;

		cur = k;
		prev = &cur;
		if (bpf_map_lookup_elem(dp.flows, &k, &f))
			continue;
		total++;
		if (!strcmp(verb, "list")) {
			addr_str(k.src, k.family, s, sizeof(s));
			addr_str(k.dst, k.family, d, sizeof(d));
			printf("%s %s %u -> %s %u backend %u gen %u\n", proto_str(k.proto), s,
			       ntohs(k.sport), d, ntohs(k.dport), f.backend_id, f.backend_gen);
			continue;
		}
		for (i = 0; i < nper && per[i].id != f.backend_id; i++)
			;
		if (i == nper && nper < sizeof(per) / sizeof(per[0]))
			per[nper++] = (typeof(per[0])){ f.backend_id, 0 };
		if (i < nper)
			per[i].n++;
	}
	xlb_dp_close(&dp);
	if (!strcmp(verb, "count")) {
		printf("flows %lu\n", total);
		for (size_t i = 0; i < nper; i++)
			printf("backend %u flows %lu\n", per[i].id, per[i].n);
	}
	return EXIT_OK;
}

/* ---- stats ----------------------------------------------------------------- */

struct stats_ctx {
	const struct xlb_dp *dp;
	struct xlb_backend_stats sum;
	int err;
};

static void backend_stats_one(__u32 id, const struct xlb_backend *be, void *ctx)
{
	struct stats_ctx *sc = ctx;
	struct xlb_backend_stats s;
	char a[INET6_ADDRSTRLEN];
	int err;

	err = xlb_dp_backend_stats_read(sc->dp, id, &s);
	if (err) {
		sc->err = err;
		return;
	}
	printf("backend %u vip %u %s %s packets %llu bytes %llu new_flows %llu\n", id,
	       be->vip_id, addr_str(be->addr, be->family, a, sizeof(a)), state_str(be->state),
	       (unsigned long long)s.packets, (unsigned long long)s.bytes,
	       (unsigned long long)s.new_flows);
}

static int cmd_stats(int argc, char **argv)
{
	static struct vip_entry e[XLB_MAX_VIPS];
	static const char *const kinds[] = { "pass", "drop", "event" };
	uint64_t r[XLB_R_MAX], kind_sum[3] = { 0 };
	struct xlb_vip_stats vs, vsum = { 0 };
	struct stats_ctx sc = { 0 };
	struct xlb_dp dp;
	char s[80];
	int n, err;

	if (argc) {
		fail("stats: unexpected '%s' (-a shows zero counters too)", argv[0]);
		return EXIT_USAGE;
	}
	if (dp_open("stats", &dp))
		return EXIT_FAIL;
	err = xlb_dp_reasons_read(&dp, r);
	if (err) {
		fail("stats: reading %s/" XLB_MAP_REASONS ": %s", opt.pin_dir, strerror(-err));
		xlb_dp_close(&dp);
		return EXIT_FAIL;
	}
	for (int i = 0; i < XLB_R_MAX; i++) {
		enum xlb_reason_kind kind = xlb_reason_kind(i);

		kind_sum[kind] += r[i];
		if (r[i] || opt.all)
			printf("reason %-18s %-5s %12llu  %s\n", xlb_reason_name(i), kinds[kind],
			       (unsigned long long)r[i], xlb_reason_help(i));
	}
	n = vips_read("stats", &dp, e);
	for (int i = 0; i < n; i++) {
		err = xlb_dp_vip_stats_read(&dp, e[i].vip.vip_id, &vs);
		if (err) {
			fail("stats: reading %s/" XLB_MAP_VIP_STATS ": %s", opt.pin_dir,
			     strerror(-err));
			n = -1;
			break;
		}
		printf("vip %s id %u packets %llu bytes %llu new_flows %llu drops %llu\n",
		       vip_str(&e[i].key, s, sizeof(s)), e[i].vip.vip_id,
		       (unsigned long long)vs.packets, (unsigned long long)vs.bytes,
		       (unsigned long long)vs.new_flows, (unsigned long long)vs.drops);
		vsum.packets += vs.packets;
		vsum.bytes += vs.bytes;
		vsum.new_flows += vs.new_flows;
		vsum.drops += vs.drops;
	}
	sc.dp = &dp;
	if (n >= 0 && !backends_walk("stats", &dp, backend_stats_one, &sc) && sc.err)
		fail("stats: reading %s/" XLB_MAP_BACKEND_STATS ": %s", opt.pin_dir,
		     strerror(-sc.err));
	xlb_dp_close(&dp);
	printf("total forwarded %llu bytes %llu new_flows %llu vip_drops %llu "
	       "dropped %llu passed %llu events %llu\n",
	       (unsigned long long)vsum.packets, (unsigned long long)vsum.bytes,
	       (unsigned long long)vsum.new_flows, (unsigned long long)vsum.drops,
	       (unsigned long long)kind_sum[XLB_KIND_DROP],
	       (unsigned long long)kind_sum[XLB_KIND_PASS],
	       (unsigned long long)kind_sum[XLB_KIND_EVENT]);
	return n < 0 || sc.err ? EXIT_FAIL : EXIT_OK;
}

/* ---- XDP on a device ------------------------------------------------------- */

static int dev_index(const char *what, const char *dev)
{
	int ifindex = (int)if_nametoindex(dev);

	if (!ifindex)
		fail("%s: no such device in this network namespace (see 'ip link'; "
		     "'nsenter --net=/run/netns/NAME' to enter another)", what);
	return ifindex;
}

static void prog_name_of(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(buf, len, "?");
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(buf, len, "%s", info.name);
	close(fd);
}

/*
 * A two-instruction XDP_PASS program. XDP_TX or a redirect into a veth is
 * dropped unless the veth's peer runs an XDP program: this is the least one.
 */
static int cmd_xdp_pass(int argc, char **argv)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char what[64], name[32];
	__u32 id = 0;
	int ifindex, fd, err;

	if (argc != 1) {
		fail("xdp-pass: usage: " PROG " xdp-pass DEV");
		return EXIT_USAGE;
	}
	snprintf(what, sizeof(what), "xdp-pass %s", argv[0]);
	ifindex = dev_index(what, argv[0]);
	if (!ifindex)
		return EXIT_FAIL;
	if (!bpf_xdp_query_id(ifindex, 0, &id) && id) {
		prog_name_of(id, name, sizeof(name));
		if (!strcmp(name, PASS_PROG_NAME)) {
			printf("%s: already runs " PASS_PROG_NAME " (id %u)\n", argv[0], id);
			return EXIT_OK;
		}
		fail("%s: %s already runs XDP program '%s' (id %u): remove it first "
		     "('" PROG " xdp-off %s')", what, argv[0], name, id, argv[0]);
		return EXIT_FAIL;
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, PASS_PROG_NAME, "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd < 0) {
		fail("%s: loading the program: %s", what, strerror(errno));
		return EXIT_FAIL;
	}
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	close(fd);		/* the device holds it now */
	if (err) {
		fail("%s: attaching in native mode: %s%s", what, strerror(-err),
		     err == -EOPNOTSUPP ? " (the driver has no native XDP)" : "");
		return EXIT_FAIL;
	}
	bpf_xdp_query_id(ifindex, 0, &id);
	printf("%s: xdp " PASS_PROG_NAME " id %u, native\n", argv[0], id);
	return EXIT_OK;
}

static int cmd_xdp_off(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char what[64];
	__u32 flags;
	int ifindex, err;

	if (argc != 1) {
		fail("xdp-off: usage: " PROG " xdp-off DEV");
		return EXIT_USAGE;
	}
	snprintf(what, sizeof(what), "xdp-off %s", argv[0]);
	ifindex = dev_index(what, argv[0]);
	if (!ifindex)
		return EXIT_FAIL;
	err = bpf_xdp_query(ifindex, 0, &q);
	if (err) {
		fail("%s: reading the XDP state: %s", what, strerror(-err));
		return EXIT_FAIL;
	}
	switch (q.attach_mode) {
	case XDP_ATTACHED_NONE:
		printf("%s: no XDP program\n", argv[0]);
		return EXIT_OK;
	case XDP_ATTACHED_SKB:
		flags = XDP_FLAGS_SKB_MODE;
		break;
	case XDP_ATTACHED_HW:
		flags = XDP_FLAGS_HW_MODE;
		break;
	case XDP_ATTACHED_DRV:
		flags = XDP_FLAGS_DRV_MODE;
		break;
	default:
		fail("%s: programs in several modes: use 'ip link set dev %s xdp off' and "
		     "'xdpgeneric off'", what, argv[0]);
		return EXIT_FAIL;
	}
	err = bpf_xdp_detach(ifindex, flags, NULL);
	if (err) {
		fail("%s: %s", what, strerror(-err));
		return EXIT_FAIL;
	}
	printf("%s: XDP program removed\n", argv[0]);
	return EXIT_OK;
}

/* ---- dispatch -------------------------------------------------------------- */

struct command {
	const char *verb;		/* one or two words */
	const char *args;
	const char *help;
	int (*run)(int argc, char **argv);
};

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "config", "[KEY VALUE]...",
	  "without arguments: print the global config; else change the given keys and\n"
	  "keep the rest. Keys: gw MAC (next hop toward the backends), src4 ADDR,\n"
	  "src6 ADDR (outer sources), mtu N, seed N, icmp-rate N, ttl N, flow-limit N,\n"
	  "syn-rate N, syn-burst N, src-prefix4 P/L, src-prefix6 P/L, src-from-prefix on|off",
	  cmd_config },
	{ "vip add", "ADDR PORT tcp|udp ID [mss N] [src-hash]",
	  "create (or update) a VIP with stats id ID; mss: SYN MSS clamp (0: from mtu);\n"
	  "src-hash: hash the client address only. It gets no ring until 'ring'", cmd_vip_add },
	{ "vip del", "ADDR PORT tcp|udp", "remove a VIP, its rings and its backends", cmd_vip_del },
	{ "vip list", "", "every VIP with its id, live ring and clamp", cmd_vip_list },
	{ "backend set", "ID VIP_ID ADDR active|draining|down|unused",
	  "set backend entry ID (one per VIP and backend); the VIP's ring is rebuilt\n"
	  "only by 'ring'", cmd_backend_set },
	{ "backend list", "", "every backend entry in use", cmd_backend_list },
	{ "ring", "VIPADDR PORT tcp|udp [M]",
	  "build the VIP's Maglev ring (M slots, a prime, default 65537) from its\n"
	  "backends and the config's seed, install it atomically, print the slot shares",
	  cmd_ring },
	{ "flows", "[list|count|flush [BACKEND_ID]]",
	  "the flow table: list it (default), count it (total and per backend), or\n"
	  "delete every entry (or only those pointing at BACKEND_ID)", cmd_flows },
	{ "stats", "",
	  "non-zero reason counters (-a: all), per-VIP and per-backend counters, and a\n"
	  "total line; summed over CPUs", cmd_stats },
	{ "xdp-pass", "DEV",
	  "attach a minimal XDP_PASS program to DEV (native mode): the veth peer of an\n"
	  "interface that XDP_TXes needs one", cmd_xdp_pass },
	{ "xdp-off", "DEV", "remove DEV's XDP program, whatever it is", cmd_xdp_off },
	{ "help", "", "this text", cmd_help },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-v] [-a] [-d PINDIR] COMMAND [ARGS]\n"
		"\n"
		"Low-level access to the xlb XDP program's pinned maps, for tests and\n"
		"debugging.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		fprintf(f, "  %s%s%s\n", commands[i].verb, *commands[i].args ? " " : "",
			commands[i].args);
		xlb_print_indented(f, "      ", commands[i].help);
	}
	fprintf(f,
		"\n"
		"Options (before the command):\n"
		"  -d, --pin-dir D   where the maps are pinned (default " DEFAULT_PIN_DIR ";\n"
		"                    'ip link ... xdp obj' pins in /sys/fs/bpf/tc/globals)\n"
		"  -a, --all         stats: show zero reason counters too\n"
		"  -v, --verbose     show libbpf's messages\n"
		"\n"
		"Exit status: 0 done, 1 failed, 2 bad command line.\n");
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	int i, n;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-d") || !strcmp(a, "--pin-dir")) {
			if (i + 1 >= argc || !*argv[i + 1]) {
				fail("%s: missing directory (e.g. -d " DEFAULT_PIN_DIR ")", a);
				return EXIT_USAGE;
			}
			opt.pin_dir = argv[++i];
		} else if (!strncmp(a, "--pin-dir=", 10)) {
			opt.pin_dir = a + 10;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			opt.verbose = true;
		} else if (!strcmp(a, "-a") || !strcmp(a, "--all")) {
			opt.all = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else {
			fail("%s: unknown option (see '" PROG " help')", a);
			return EXIT_USAGE;
		}
	}
	argc -= i;
	argv += i;
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	libbpf_set_print(libbpf_print);
	for (size_t c = 0; c < N_COMMANDS; c++) {
		n = xlb_words_match(commands[c].verb, argc, argv);
		if (n)
			return commands[c].run(argc - n, argv + n);
	}
	if (!strcmp(argv[0], "vip") || !strcmp(argv[0], "backend"))
		fail("%s%s%s: unknown (see '" PROG " help')", argv[0], argc > 1 ? " " : "",
		     argc > 1 ? argv[1] : "");
	else
		fail("%s: unknown command (see '" PROG " help')", argv[0]);
	return EXIT_USAGE;
}
