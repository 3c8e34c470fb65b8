/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* test_config.c: the desired-state model (user/lib/model.c) and its text
 * form (user/lib/config.c, docs/config.md): addresses, the docs example,
 * defaults, round trips, every validation rule with its message, syntax
 * errors, config vs state file, atomic writes, diffs. */
#include "config.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define RANDOM_CONFS	300
#define RANDOM_SEED	0x5eed

/* Two outer sources, so backends of both families are allowed. */
#define DP	"dataplane = { source_v4 = \"198.18.20.2\"; source_v6 = \"2001:db8:20::2\"; };\n"
#define DAEMON	"daemon = { interfaces = [ \"eth0\" ]; };\n"

static char tmpdir[] = "/tmp/test_config.XXXXXX";

static bool has(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle);
}

/* The docs/config.md example, extracted from the document itself. */
static char *docs_example(void)
{
	FILE *f = fopen("docs/config.md", "r");
	char line[512], *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	bool in = false;

	if (!f || !out)
		bail_out("cannot read docs/config.md (run from the repository root)");
	while (fgets(line, sizeof(line), f)) {
		if (!strcmp(line, "```\n")) {
			if (in)
				break;
			in = true;
			continue;
		}
		if (in)
			fputs(line, out);
	}
	fclose(f);
	fclose(out);
	return buf;
}

/* ---- strict comparison, field by field, order included ----------------- */

#define DIFF(cond, ...) do { if (cond) { snprintf(why, whylen, __VA_ARGS__); return false; } } while (0)

static bool probe_same(const struct xlb_probe_cfg *a, const struct xlb_probe_cfg *b,
		       const char *at, char *why, size_t whylen)
{
	DIFF(a->set != b->set, "%s.set %#x != %#x", at, a->set, b->set);
	DIFF(a->type != b->type, "%s.type", at);
	DIFF(a->interval_ms != b->interval_ms, "%s.interval %u != %u", at, a->interval_ms,
	     b->interval_ms);
	DIFF(a->timeout_ms != b->timeout_ms, "%s.timeout %u != %u", at, a->timeout_ms,
	     b->timeout_ms);
	DIFF(a->rise != b->rise || a->fall != b->fall, "%s.rise/fall", at);
	DIFF(a->port != b->port, "%s.port", at);
	DIFF(a->http_status != b->http_status, "%s.http_status", at);
	DIFF(strcmp(a->http_path, b->http_path), "%s.http_path", at);
	DIFF(strcmp(a->host, b->host), "%s.host", at);
	DIFF(strcmp(a->ca_file, b->ca_file), "%s.ca_file", at);
	DIFF(a->verify != b->verify, "%s.verify", at);
	DIFF(a->cert_warn_days != b->cert_warn_days, "%s.cert_warn_days", at);
	DIFF(!xlb_ip_equal(&a->source, &b->source), "%s.source", at);
	DIFF(a->proxy_v2 != b->proxy_v2, "%s.proxy_v2", at);
	return true;
}

/* A backend's probe: only the keys it gives count. */
static bool override_same(const struct xlb_probe_cfg *a, const struct xlb_probe_cfg *b,
			  const char *at, char *why, size_t whylen)
{
	struct xlb_vip_cfg va, vb;
	struct xlb_backend_cfg ba = { .probe = *a }, bb = { .probe = *b };
	struct xlb_probe_cfg ea, eb;

	DIFF(a->set != b->set, "%s.set %#x != %#x", at, a->set, b->set);
	/* the same overrides on the same VIP probe give the same probe */
	xlb_vip_init(&va);
	xlb_vip_init(&vb);
	xlb_probe_effective(&va, &ba, &ea);
	xlb_probe_effective(&vb, &bb, &eb);
	return probe_same(&ea, &eb, at, why, whylen);
}

static bool conf_same(const struct xlb_conf *a, const struct xlb_conf *b, bool daemon,
		      char *why, size_t whylen)
{
	const struct xlb_daemon_cfg *da = &a->daemon, *db = &b->daemon;
	const struct xlb_dataplane_cfg *pa = &a->dataplane, *pb = &b->dataplane;
	char at[64];

	if (daemon) {
		DIFF(da->n_interfaces != db->n_interfaces, "daemon.n_interfaces");
		for (size_t i = 0; i < da->n_interfaces; i++)
			DIFF(strcmp(da->interfaces[i], db->interfaces[i]), "daemon.interfaces[%zu]", i);
		DIFF(da->xdp_mode != db->xdp_mode, "daemon.xdp_mode");
		DIFF(strcmp(da->pin_dir, db->pin_dir), "daemon.pin_dir");
		DIFF(strcmp(da->bpf_object, db->bpf_object), "daemon.bpf_object");
		DIFF(strcmp(da->socket, db->socket), "daemon.socket");
		DIFF(strcmp(da->state_file, db->state_file), "daemon.state_file");
		DIFF(strcmp(da->metrics, db->metrics), "daemon.metrics");
		DIFF(da->log_level != db->log_level, "daemon.log_level");
		DIFF(da->flow_window_s != db->flow_window_s, "daemon.flow_window");
	}
	DIFF(pa->mtu != pb->mtu, "dataplane.mtu");
	DIFF(!xlb_ip_equal(&pa->source_v4, &pb->source_v4), "dataplane.source_v4");
	DIFF(!xlb_ip_equal(&pa->source_v6, &pb->source_v6), "dataplane.source_v6");
	DIFF(!xlb_ip_equal(&pa->source_prefix_v4, &pb->source_prefix_v4) ||
	     pa->source_prefix_v4_len != pb->source_prefix_v4_len, "dataplane.source_prefix_v4");
	DIFF(!xlb_ip_equal(&pa->source_prefix_v6, &pb->source_prefix_v6) ||
	     pa->source_prefix_v6_len != pb->source_prefix_v6_len, "dataplane.source_prefix_v6");
	DIFF(pa->ttl != pb->ttl, "dataplane.ttl");
	DIFF(pa->hash_seed != pb->hash_seed, "dataplane.hash_seed %u != %u", pa->hash_seed,
	     pb->hash_seed);
	DIFF(pa->flow_table_size != pb->flow_table_size, "dataplane.flow_table_size");
	DIFF(pa->new_flow_limit != pb->new_flow_limit, "dataplane.new_flow_limit");
	DIFF(pa->syn_rate_per_source != pb->syn_rate_per_source, "dataplane.syn_rate");
	DIFF(pa->syn_burst_per_source != pb->syn_burst_per_source, "dataplane.syn_burst");
	DIFF(pa->icmp_rate != pb->icmp_rate, "dataplane.icmp_rate");
	DIFF(pa->gateway_auto != pb->gateway_auto, "dataplane.gateway auto");
	DIFF(!pa->gateway_auto && memcmp(pa->gateway_mac, pb->gateway_mac, 6),
	     "dataplane.gateway mac");
	DIFF(a->n_vips != b->n_vips, "n_vips %zu != %zu", a->n_vips, b->n_vips);
	for (size_t i = 0; i < a->n_vips; i++) {
		const struct xlb_vip_cfg *va = &a->vips[i], *vb = &b->vips[i];

		DIFF(!xlb_service_equal(&va->svc, &vb->svc), "vips[%zu].service", i);
		DIFF(va->ring_size != vb->ring_size, "vips[%zu].ring_size", i);
		DIFF(va->mss != vb->mss, "vips[%zu].mss", i);
		DIFF(va->hash_src_only != vb->hash_src_only, "vips[%zu].hash", i);
		snprintf(at, sizeof(at), "vips[%zu].probe", i);
		if (!probe_same(&va->probe, &vb->probe, at, why, whylen))
			return false;
		DIFF(va->n_backends != vb->n_backends, "vips[%zu].n_backends", i);
		for (size_t j = 0; j < va->n_backends; j++) {
			const struct xlb_backend_cfg *ba = &va->backends[j], *bb = &vb->backends[j];

			DIFF(!xlb_ip_equal(&ba->addr, &bb->addr), "vips[%zu].backends[%zu].address",
			     i, j);
			DIFF(ba->weight != bb->weight, "vips[%zu].backends[%zu].weight", i, j);
			DIFF(ba->drain != bb->drain || ba->disabled != bb->disabled,
			     "vips[%zu].backends[%zu].drain/disabled", i, j);
			snprintf(at, sizeof(at), "vips[%zu].backends[%zu].probe", i, j);
			if (!override_same(&ba->probe, &bb->probe, at, why, whylen))
				return false;
		}
	}
	return true;
}

/* ---- addresses ------------------------------------------------------------ */

/* Addresses and services parse strictly and print back canonically. */
static void test_addresses(void)
{
	static const char *const bad_ip[] = {
		"1.2.3", "300.1.1.1", "1.2.3.4 ", "01.2.3.4", "", "1::2::3", "fe80::1%eth0",
		"[2001:db8::1]", "example.org",
	};
	static const char *const bad_svc[] = {
		"198.18.0.10/tcp", "198.18.0.10:0/tcp", "198.18.0.10:65536/tcp",
		"198.18.0.10:443/sctp", "198.18.0.10:443", "198.18.0.10:443/TCP",
		"2001:db8::10:443/tcp", "[198.18.0.10]:443/tcp", "[2001:db8::10]443/tcp",
		"1.2.3:443/tcp", "198.18.0.10:+443/tcp", "198.18.0.10: 443/tcp",
		":443/tcp", "[]:443/tcp",
	};
	struct xlb_service svc, svc2;
	struct xlb_ip ip, ip2;
	char buf[XLB_SERVICE_STRLEN];

	ok(!xlb_ip_parse("198.18.0.10", &ip) && ip.family == XLB_FAMILY_V4 &&
	   ip.a[0] == 198 && ip.a[3] == 10 && !ip.a[4],
	   "IPv4 parses into a[0..3], rest zero");
	ok(!strcmp(xlb_ip_str(&ip, buf, sizeof(buf)), "198.18.0.10"), "IPv4 prints back");
	ok(!xlb_ip_parse("2001:DB8:0::10", &ip2) && ip2.family == XLB_FAMILY_V6 &&
	   !strcmp(xlb_ip_str(&ip2, buf, sizeof(buf)), "2001:db8::10"),
	   "IPv6 parses and prints canonically");
	ok(xlb_ip_cmp(&ip, &ip2) < 0 && !xlb_ip_equal(&ip, &ip2), "IPv4 sorts before IPv6");
	for (size_t i = 0; i < ARRAY_SIZE(bad_ip); i++)
		is_u64(xlb_ip_parse(bad_ip[i], &ip), -EINVAL, "address \"%s\" refused", bad_ip[i]);

	ok(!xlb_service_parse("198.18.0.10:443/tcp", &svc) && svc.port == 443 &&
	   svc.proto == IPPROTO_TCP && svc.addr.family == XLB_FAMILY_V4, "IPv4 service parses");
	ok(!strcmp(xlb_service_str(&svc, buf, sizeof(buf)), "198.18.0.10:443/tcp"),
	   "IPv4 service prints back");
	ok(!xlb_service_parse("[2001:DB8::10]:1701/udp", &svc2) && svc2.proto == IPPROTO_UDP &&
	   !strcmp(xlb_service_str(&svc2, buf, sizeof(buf)), "[2001:db8::10]:1701/udp"),
	   "IPv6 service parses and prints bracketed");
	ok(!xlb_service_equal(&svc, &svc2), "different services differ");
	for (size_t i = 0; i < ARRAY_SIZE(bad_svc); i++)
		is_u64(xlb_service_parse(bad_svc[i], &svc), -EINVAL, "service \"%s\" refused",
		       bad_svc[i]);
}

/* ---- the docs example and defaults ---------------------------------------- */

static int parse(const char *text, enum xlb_conf_part part, struct xlb_conf *c,
		 struct xlb_conf_error *e)
{
	return xlb_conf_parse_string(text, "t.conf", part, c, e);
}

/* The example in docs/config.md parses to what its comments say. */
static void test_docs_example(void)
{
	struct xlb_conf c;
	struct xlb_conf_error e;
	char *text = docs_example(), buf[512];
	const struct xlb_vip_cfg *v;
	struct xlb_ip ip;
	int ret;

	xlb_conf_init(&c);
	ret = parse(text, XLB_CONF_FULL, &c, &e);
	if (!ok(ret == 0, "docs example parses"))
		diag("%s", xlb_conf_error_str(&e, buf, sizeof(buf)));
	ok(c.daemon.n_interfaces == 1 && !strcmp(c.daemon.interfaces[0], "eth0") &&
	   c.daemon.xdp_mode == XLB_XDP_NATIVE && !strcmp(c.daemon.pin_dir, "/sys/fs/bpf/xlb") &&
	   !strcmp(c.daemon.bpf_object, "") &&
	   !strcmp(c.daemon.socket, "/run/xlb/xlbd.sock") &&
	   !strcmp(c.daemon.state_file, "/var/lib/xlb/state.conf") &&
	   !strcmp(c.daemon.metrics, "127.0.0.1:9642") && c.daemon.log_level == LOG_INFO &&
	   c.daemon.flow_window_s == 180, "example: daemon section");
	xlb_ip_parse("198.18.20.2", &ip);
	ok(c.dataplane.mtu == 1500 && xlb_ip_equal(&c.dataplane.source_v4, &ip) &&
	   c.dataplane.source_v6.family == XLB_FAMILY_V6 &&
	   c.dataplane.source_prefix_v4_len == 24 && c.dataplane.source_prefix_v4.a[2] == 128 &&
	   c.dataplane.source_prefix_v6_len == 64 && c.dataplane.ttl == 64 &&
	   c.dataplane.hash_seed == 1 && c.dataplane.flow_table_size == 1572864 &&
	   c.dataplane.new_flow_limit == 200000 && c.dataplane.syn_rate_per_source == 0 &&
	   c.dataplane.syn_burst_per_source == 0 && c.dataplane.icmp_rate == 100 &&
	   c.dataplane.gateway_auto, "example: dataplane section");
	if (!ok(c.n_vips == 1 && c.vips[0].n_backends == 4, "example: 1 VIP, 4 backends"))
		goto out;
	v = &c.vips[0];
	ok(!strcmp(xlb_service_str(&v->svc, buf, sizeof(buf)), "198.18.0.10:443/tcp") &&
	   v->ring_size == 65537 && v->mss == 0 && !v->hash_src_only, "example: VIP keys");
	ok(v->probe.type == XLB_PROBE_SSTP && v->probe.interval_ms == 2000 &&
	   v->probe.timeout_ms == 1000 && v->probe.rise == 2 && v->probe.fall == 3 &&
	   v->probe.port == 0 && !strcmp(v->probe.host, "vpn.example.org") && v->probe.verify &&
	   !strcmp(v->probe.ca_file, "/etc/xlb/ca.pem") && v->probe.cert_warn_days == 14 &&
	   !strcmp(v->probe.http_path, "/health") && v->probe.http_status == 200 &&
	   xlb_ip_equal(&v->probe.source, &ip) && !v->probe.proxy_v2 && v->probe.set == 0,
	   "example: VIP probe");
	ok(v->backends[0].weight == 1 && !v->backends[0].drain && !v->backends[0].disabled &&
	   v->backends[0].probe.set == 0, "example: backend 0 all defaults");
	ok(v->backends[1].weight == 2, "example: backend 1 weight 2");
	ok(v->backends[2].drain && !v->backends[2].disabled, "example: backend 2 drains");
	ok(v->backends[3].disabled && v->backends[3].probe.set == XLB_PROBE_K_TYPE &&
	   v->backends[3].probe.type == XLB_PROBE_TCP, "example: backend 3 disabled, own type");
	ok(!strcmp(xlb_ip_str(&v->backends[3].addr, buf, sizeof(buf)), "198.18.34.2"),
	   "example: backend 3 address");
out:
	xlb_conf_free(&c);
	free(text);
}

/* Absent keys take the defaults of docs/config.md's table. */
static void test_defaults(void)
{
	struct xlb_conf c;
	struct xlb_conf_error e;
	const struct xlb_vip_cfg *v;
	const struct xlb_backend_cfg *b;
	struct xlb_probe_cfg eff;

	xlb_conf_init(&c);
	ok(!parse(DAEMON DP "vips = ( { service = \"198.18.0.10:443/tcp\"; "
		  "backends = ( { address = \"198.18.31.2\"; } ); } );\n",
		  XLB_CONF_FULL, &c, &e), "minimal config parses");
	ok(c.daemon.xdp_mode == XLB_XDP_NATIVE && !strcmp(c.daemon.pin_dir, "/sys/fs/bpf/xlb") &&
	   !strcmp(c.daemon.socket, "/run/xlb/xlbd.sock") && c.daemon.metrics[0] == '\0' &&
	   c.daemon.log_level == LOG_INFO && c.daemon.flow_window_s == 180,
	   "daemon defaults: native, pin dir, socket, metrics off, info, 180 s");
	ok(c.dataplane.mtu == 1500 && c.dataplane.ttl == 64 && c.dataplane.hash_seed == 1 &&
	   c.dataplane.flow_table_size == 1572864 && c.dataplane.new_flow_limit == 200000 &&
	   c.dataplane.syn_rate_per_source == 0 && c.dataplane.syn_burst_per_source == 0 &&
	   c.dataplane.icmp_rate == 100 && c.dataplane.gateway_auto &&
	   !c.dataplane.source_prefix_v4.family && !c.dataplane.source_prefix_v6.family,
	   "dataplane defaults");
	v = &c.vips[0];
	b = &v->backends[0];
	ok(v->ring_size == 65537 && v->mss == 0 && !v->hash_src_only, "VIP defaults");
	ok(v->probe.type == XLB_PROBE_NONE && v->probe.interval_ms == 2000 &&
	   v->probe.timeout_ms == 1000 && v->probe.rise == 2 && v->probe.fall == 3 &&
	   !v->probe.port && !v->probe.host[0] && !v->probe.verify && !v->probe.ca_file[0] &&
	   v->probe.cert_warn_days == 14 && !strcmp(v->probe.http_path, "/") &&
	   v->probe.http_status == 200 && !v->probe.source.family && !v->probe.proxy_v2,
	   "probe defaults");
	ok(b->weight == 1 && !b->drain && !b->disabled && !b->probe.set, "backend defaults");
	xlb_probe_effective(v, b, &eff);
	ok(eff.type == XLB_PROBE_NONE && eff.interval_ms == 2000, "no override: the VIP's probe");
	xlb_conf_free(&c);

	xlb_conf_init(&c);
	ok(!parse("", XLB_CONF_RUNTIME, &c, &e) && c.n_vips == 0 && c.dataplane.mtu == 1500,
	   "an empty state file is valid: defaults, no VIPs");
	xlb_conf_free(&c);
}

/* A backend's probe keys override the VIP's one by one; the rest follow it. */
static void test_probe_inheritance(void)
{
	struct xlb_conf c;
	struct xlb_conf_error e;
	struct xlb_probe_cfg eff;

	xlb_conf_init(&c);
	if (!ok(!parse(DP "vips = ( { service = \"198.18.0.10:443/tcp\";\n"
		       "probe = { type = \"sstp\"; interval = 5.0; timeout = 2.5; rise = 4; };\n"
		       "backends = ( { address = \"198.18.31.2\"; probe = { type = \"tcp\"; "
		       "timeout = 4.0; port = 8443; }; } ); } );\n",
		       XLB_CONF_RUNTIME, &c, &e), "override config parses"))
		return;
	ok(c.vips[0].backends[0].probe.set ==
	   (XLB_PROBE_K_TYPE | XLB_PROBE_K_TIMEOUT | XLB_PROBE_K_PORT), "the given keys are marked");
	xlb_probe_effective(&c.vips[0], &c.vips[0].backends[0], &eff);
	ok(eff.type == XLB_PROBE_TCP && eff.timeout_ms == 4000 && eff.port == 8443,
	   "given keys come from the backend");
	ok(eff.interval_ms == 5000 && eff.rise == 4 && eff.fall == 3 && eff.set == 0,
	   "the others come from the VIP");
	c.vips[0].probe.interval_ms = 3000;
	xlb_probe_effective(&c.vips[0], &c.vips[0].backends[0], &eff);
	ok(eff.interval_ms == 3000, "a later change of the VIP's probe reaches the backend");
	xlb_conf_free(&c);
}

/* ---- round trips ------------------------------------------------------------ */

/* format -> parse gives the same conf (field by field, in order), and
 * formatting that gives the same text. */
static void check_round_trip(const struct xlb_conf *c, enum xlb_conf_part part,
			     unsigned flags, const char *what)
{
	struct xlb_conf back;
	struct xlb_conf_error e;
	char *text = xlb_conf_format(c, part, flags), *again = NULL, why[256] = "", buf[600];
	bool good = false;

	xlb_conf_init(&back);
	if (!text) {
		snprintf(why, sizeof(why), "format failed");
	} else if (parse(text, part, &back, &e)) {
		snprintf(why, sizeof(why), "%s", xlb_conf_error_str(&e, buf, sizeof(buf)));
	} else if (conf_same(c, &back, part == XLB_CONF_FULL, why, sizeof(why)) &&
		   xlb_conf_equal(c, &back, part)) {
		again = xlb_conf_format(&back, part, flags);
		good = again && !strcmp(text, again);
		if (!good)
			snprintf(why, sizeof(why), "second format differs");
	}
	if (!ok(good, "%s: round trip (%s%s)", what, part == XLB_CONF_FULL ? "full" : "runtime",
		flags ? ", with defaults" : "")) {
		diag("%s", why);
		diag("%s", text ? text : "");
	}
	free(text);
	free(again);
	xlb_conf_free(&back);
}

/* The docs example survives format and parse, with and without defaults. */
static void test_round_trip_example(void)
{
	struct xlb_conf c;
	struct xlb_conf_error e;
	char *text = docs_example(), *out;

	xlb_conf_init(&c);
	if (parse(text, XLB_CONF_FULL, &c, &e))
		bail_out("docs example does not parse");
	check_round_trip(&c, XLB_CONF_FULL, 0, "docs example");
	check_round_trip(&c, XLB_CONF_FULL, XLB_CONF_FMT_DEFAULTS, "docs example");
	check_round_trip(&c, XLB_CONF_RUNTIME, 0, "docs example");
	out = xlb_conf_format(&c, XLB_CONF_RUNTIME, 0);
	ok(!has(out, "daemon") && has(out, "dataplane = {") && has(out, "vips = (") &&
	   has(out, "{ address = \"198.18.32.2\"; weight = 2; },") &&
	   has(out, "probe = { type = \"tcp\"; }") && !has(out, "ring_size"),
	   "runtime format: no daemon, one backend a line, defaults left out");
	free(out);
	xlb_conf_free(&c);
	free(text);
}

static uint32_t rnd(uint32_t n)
{
	return (uint32_t)random() % n;
}

static void rnd_ip(struct xlb_ip *ip, uint8_t family, uint32_t n)
{
	*ip = (struct xlb_ip){ .family = family };
	if (family == XLB_FAMILY_V4) {
		ip->a[0] = 10;
		ip->a[1] = (uint8_t)(n >> 16);
		ip->a[2] = (uint8_t)(n >> 8);
		ip->a[3] = (uint8_t)n;
	} else {
		ip->a[0] = 0x20;
		ip->a[1] = 0x01;
		ip->a[2] = 0x0d;
		ip->a[3] = 0xb8;
		ip->a[13] = (uint8_t)(n >> 16);
		ip->a[14] = (uint8_t)(n >> 8);
		ip->a[15] = (uint8_t)n;
	}
}

static uint32_t rnd_ms(void)
{
	return 100 + rnd(3600000 - 100 + 1);
}

static const char *const rnd_paths[] = {
	"/etc/xlb/ca.pem", "/tmp/we\"ird\\path", "/a b/c", "/x",
};

/* Random values for the keys in MASK (a VIP probe: all). */
static void rnd_probe(struct xlb_probe_cfg *p, uint32_t mask, uint8_t source_family)
{
	static const char *const hosts[] = { "", "vpn.example.org", "a-b.c", "x" };

	xlb_probe_init(p);
	p->set = mask;
	if (mask & XLB_PROBE_K_TYPE)
		p->type = (enum xlb_probe_type)rnd(XLB_PROBE_HTTP + 1);
	if (mask & XLB_PROBE_K_INTERVAL)
		p->interval_ms = rnd_ms();
	if (mask & XLB_PROBE_K_TIMEOUT)
		p->timeout_ms = 100 + rnd((mask & XLB_PROBE_K_INTERVAL ? p->interval_ms : 1000) - 99);
	if (mask & XLB_PROBE_K_RISE)
		p->rise = (uint16_t)(1 + rnd(100));
	if (mask & XLB_PROBE_K_FALL)
		p->fall = (uint16_t)(1 + rnd(100));
	if (mask & XLB_PROBE_K_PORT)
		p->port = (uint16_t)rnd(65536);
	if (mask & XLB_PROBE_K_HOST)
		strcpy(p->host, hosts[rnd(ARRAY_SIZE(hosts))]);
	if (mask & XLB_PROBE_K_VERIFY)
		p->verify = rnd(2);
	if (mask & XLB_PROBE_K_CA_FILE)
		strcpy(p->ca_file, rnd(3) ? rnd_paths[rnd(ARRAY_SIZE(rnd_paths))] : "");
	if (mask & XLB_PROBE_K_CERT_WARN_DAYS)
		p->cert_warn_days = (uint16_t)rnd(3651);
	if (mask & XLB_PROBE_K_HTTP_PATH)
		snprintf(p->http_path, sizeof(p->http_path), "/h%u?a=%u", rnd(100), rnd(10));
	if (mask & XLB_PROBE_K_HTTP_STATUS)
		p->http_status = (uint16_t)(100 + rnd(500));
	if ((mask & XLB_PROBE_K_SOURCE) && source_family && rnd(2))
		rnd_ip(&p->source, source_family, 0xff0000 | rnd(1000));
	if (mask & XLB_PROBE_K_PROXY_V2)
		p->proxy_v2 = rnd(2);
}

/* A random valid conf: every key at a random valid value or its default. */
static void rnd_conf(struct xlb_conf *c)
{
	static const uint32_t primes[] = { 1021, 2053, 65521, 65537, 1048573 };
	static const char *const ifnames[] = { "eth0", "ens1f0np0", "bond0.100", "x" };
	struct xlb_dataplane_cfg *dp = &c->dataplane;

	xlb_conf_init(c);
	c->daemon.n_interfaces = 1 + rnd(XLB_MAX_INTERFACES);
	for (size_t i = 0; i < c->daemon.n_interfaces; i++)
		snprintf(c->daemon.interfaces[i], IF_NAMESIZE, "%.9s%c",
			 ifnames[rnd(ARRAY_SIZE(ifnames))], (char)('0' + i));
	c->daemon.xdp_mode = rnd(2) ? XLB_XDP_GENERIC : XLB_XDP_NATIVE;
	if (rnd(2))
		strcpy(c->daemon.pin_dir, rnd_paths[rnd(ARRAY_SIZE(rnd_paths))]);
	if (rnd(2))
		strcpy(c->daemon.metrics, rnd(2) ? "127.0.0.1:9642" : "[::1]:1");
	c->daemon.log_level = (int[]){ LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR }[rnd(5)];
	c->daemon.flow_window_s = 1 + rnd(86400);

	dp->mtu = (uint16_t)(576 + rnd(9000 - 576 + 1));
	rnd_ip(&dp->source_v4, XLB_FAMILY_V4, 0xfe0001);
	rnd_ip(&dp->source_v6, XLB_FAMILY_V6, 0xfe0001);
	if (rnd(2)) {
		rnd_ip(&dp->source_prefix_v4, XLB_FAMILY_V4, 0x800000);
		dp->source_prefix_v4_len = 16;
		rnd_ip(&dp->source_prefix_v6, XLB_FAMILY_V6, 0);
		dp->source_prefix_v6_len = (uint8_t)(48 + rnd(57));
	}
	dp->ttl = (uint8_t)(1 + rnd(255));
	dp->hash_seed = (uint32_t)random() * 2u + rnd(2);	/* all 32 bits */
	dp->flow_table_size = 1024 + rnd(67108864 - 1024 + 1);
	dp->new_flow_limit = rnd(100000001);
	dp->syn_rate_per_source = rnd(1000001);
	dp->syn_burst_per_source = rnd(1000001);
	dp->icmp_rate = rnd(1000001);
	dp->gateway_auto = rnd(2);
	if (!dp->gateway_auto)
		memcpy(dp->gateway_mac, (uint8_t[]){ 0x02, 0, 0, 0xaa, 0xbb, (uint8_t)rnd(256) }, 6);

	c->n_vips = rnd(8);
	c->vips = calloc(c->n_vips + 1, sizeof(*c->vips));
	for (size_t i = 0; i < c->n_vips; i++) {
		struct xlb_vip_cfg *v = &c->vips[i];
		uint8_t only = rnd(3) == 0 ? XLB_FAMILY_V4 : 0;	/* all backends IPv4? */

		xlb_vip_init(v);
		rnd_ip(&v->svc.addr, rnd(2) ? XLB_FAMILY_V4 : XLB_FAMILY_V6, 0x100000 | (uint32_t)i);
		v->svc.port = (uint16_t)(1 + rnd(65535));
		v->svc.proto = rnd(2) ? IPPROTO_TCP : IPPROTO_UDP;
		v->ring_size = primes[rnd(ARRAY_SIZE(primes))];
		v->mss = rnd(2) ? 0 : (uint16_t)(536 + rnd(9000 - 536 + 1));
		v->hash_src_only = rnd(2);
		rnd_probe(&v->probe, rnd(2) ? ~0u : 0, only);
		v->probe.set = 0;
		v->n_backends = rnd(21);
		v->backends = calloc(v->n_backends + 1, sizeof(*v->backends));
		for (size_t j = 0; j < v->n_backends; j++) {
			struct xlb_backend_cfg *b = &v->backends[j];
			uint32_t mask = rnd(3) ? 0 : (uint32_t)random() & 0x3fff;

			xlb_backend_init(b);
			rnd_ip(&b->addr, only ? only : rnd(2) ? XLB_FAMILY_V4 : XLB_FAMILY_V6,
			       (uint32_t)j + 1);
			b->weight = 1 + rnd(1000);
			b->drain = rnd(4) == 0;
			b->disabled = rnd(4) == 0;
			/* keep the effective timeout within the effective interval */
			if (mask & XLB_PROBE_K_INTERVAL)
				mask |= XLB_PROBE_K_TIMEOUT;
			if ((mask & XLB_PROBE_K_TIMEOUT) && !(mask & XLB_PROBE_K_INTERVAL) &&
			    v->probe.interval_ms < 1000)
				mask &= ~XLB_PROBE_K_TIMEOUT;
			rnd_probe(&b->probe, mask, b->addr.family);
		}
	}
}

/* Random confs built in code validate, and survive format and parse. */
static void test_round_trip_random(void)
{
	struct xlb_conf_error e;
	char buf[600];
	int bad_valid = 0, bad_trip = 0;

	srandom(RANDOM_SEED);
	for (int n = 0; n < RANDOM_CONFS; n++) {
		enum xlb_conf_part part = n % 2 ? XLB_CONF_RUNTIME : XLB_CONF_FULL;
		unsigned flags = n % 3 == 0 ? XLB_CONF_FMT_DEFAULTS : 0;
		struct xlb_conf c, back;
		char *text, why[256];

		rnd_conf(&c);
		if (xlb_conf_validate(&c, part, &e)) {
			if (bad_valid++ < 3)
				diag("random conf %d invalid: %s", n,
				     xlb_conf_error_str(&e, buf, sizeof(buf)));
			xlb_conf_free(&c);
			continue;
		}
		text = xlb_conf_format(&c, part, flags);
		xlb_conf_init(&back);
		if (!text || parse(text, part, &back, &e)) {
			if (bad_trip++ < 3)
				diag("random conf %d: %s\n%s", n,
				     xlb_conf_error_str(&e, buf, sizeof(buf)), text);
		} else if (!conf_same(&c, &back, part == XLB_CONF_FULL, why, sizeof(why)) ||
			   !xlb_conf_equal(&c, &back, part)) {
			if (bad_trip++ < 3)
				diag("random conf %d differs at %s\n%s", n, why, text);
		}
		free(text);
		xlb_conf_free(&back);
		xlb_conf_free(&c);
	}
	is_u64(bad_valid, 0, "%d random confs are valid", RANDOM_CONFS);
	is_u64(bad_trip, 0, "%d random confs: format, parse, equal field by field", RANDOM_CONFS);
}

/* Integers beyond 32 bits keep their value (libconfig 1.5 would wrap them). */
static void test_big_integers(void)
{
	struct xlb_conf c;
	struct xlb_conf_error e;
	char buf[600];

	xlb_conf_init(&c);
	ok(!parse("dataplane = { hash_seed = 4294967295; };", XLB_CONF_RUNTIME, &c, &e) &&
	   c.dataplane.hash_seed == 4294967295u, "hash_seed 4294967295 without L");
	ok(!parse("dataplane = { hash_seed = 0xdeadbeef; };", XLB_CONF_RUNTIME, &c, &e) &&
	   c.dataplane.hash_seed == 0xdeadbeefu, "hash_seed in hex above 2^31");
	ok(!parse("dataplane = { hash_seed = 3000000000L; };", XLB_CONF_RUNTIME, &c, &e) &&
	   c.dataplane.hash_seed == 3000000000u, "hash_seed with an explicit L");
	ok(parse("dataplane = { flow_table_size = 4294968320; };", XLB_CONF_RUNTIME, &c, &e) &&
	   has(xlb_conf_error_str(&e, buf, sizeof(buf)), "4294968320 is out of range"),
	   "2^32 + 1024 is refused, not wrapped to 1024");
	ok(parse("dataplane = {\n ttl = 99999999999999999999; };", XLB_CONF_RUNTIME, &c, &e) &&
	   has(xlb_conf_error_str(&e, buf, sizeof(buf)), "t.conf:2: ttl: 99999999999999999999 is "
	       "too large"), "beyond 64 bits: refused with line and key");
	ok(!parse("dataplane = { hash_seed = 1; }; # 4294967295\nvips = ( ); /* 0xffffffffff */",
		  XLB_CONF_RUNTIME, &c, &e) && c.dataplane.hash_seed == 1,
	   "numbers in comments are left alone");
	ok(parse("dataplane = { hash_seed = \"4294967296\"; };", XLB_CONF_RUNTIME, &c, &e) &&
	   has(e.msg, "got a string; drop the quotes"), "numbers in strings are left alone");
	xlb_conf_free(&c);
}

/* ---- validation ---------------------------------------------------------- */

struct bad {
	const char *name;
	enum xlb_conf_part part;
	const char *text;
	const char *want[3];	/* substrings of "file:line: key: msg" */
};

#define SVC	"vips = ( { service = \"198.18.0.10:443/tcp\"; "
#define BACK	"backends = ( { address = \"198.18.31.2\"; } ); } );\n"
#define RT	XLB_CONF_RUNTIME
#define FULL	XLB_CONF_FULL

static const struct bad bad[] = {
	{ "unknown key, with a guess and the valid ones", RT, "\n\ndataplane = {\n  mtuu = 1500; };",
	  { "t.conf:4: dataplane.mtuu: unknown key; did you mean 'mtu'?",
	    "valid keys in dataplane: mtu, source_v4," } },
	{ "unknown section", RT, "\n\nvip = ( );", { "t.conf:3: vip: unknown key; did you mean "
	  "'vips'?", "valid keys in the file: dataplane, vips" } },
	{ "unknown backend key", RT, DP SVC "backends = (\n { address = \"198.18.31.2\"; "
	  "wieght = 2; } ); } );", { "t.conf:3: vips[0].backends[0].wieght: unknown key; did you "
	  "mean 'weight'?" } },
	{ "unknown probe key", RT, DP SVC "probe = { type = \"tcp\";\n intervall = 2.0; }; } );",
	  { "t.conf:3: vips[0].probe.intervall: unknown key", "valid keys in probe: type," } },
	{ "the brief's example: weight 0", RT, DP SVC "backends = (\n{ address = \"198.18.31.2\"; },"
	  "\n{ address = \"198.18.32.2\"; },\n{ address = \"198.18.33.2\"; weight = 0; } ); } );",
	  { "t.conf:5: vips[0].backends[2].weight: 0 is out of range (1..1000); give a weight "
	    "from 1 to 1000, or drain the backend" } },
	{ "string for an int", RT, "dataplane = {\n mtu = \"1500\"; };",
	  { "t.conf:2: dataplane.mtu: expected an integer, got a string; drop the quotes" } },
	{ "int for a string", RT, DP "vips = ( {\n service = 443; } );",
	  { "t.conf:3: vips[0].service: expected a string, got an integer; put the value in "
	    "quotes" } },
	{ "float for an int", RT, "dataplane = { ttl = 6.4; };",
	  { "dataplane.ttl: expected an integer, got a number with a decimal point; give a "
	    "whole number" } },
	{ "int for a bool", RT, DP SVC "backends = ( { address = \"198.18.31.2\"; drain = 1; } "
	  "); } );", { "vips[0].backends[0].drain: expected true or false, got an integer" } },
	{ "group for a list", RT, "vips = { };", { "t.conf:1: vips: expected a list ( { ... }, "
	  "{ ... } ) of VIPs, got a group" } },
	{ "a VIP that is not a group", RT, "vips = ( 1 );",
	  { "vips[0]: expected a group { ... }, got an integer" } },
	{ "mtu range", RT, "dataplane = { mtu = 100; };",
	  { "dataplane.mtu: 100 is out of range (576..9000); give the path MTU" } },
	{ "negative", RT, "dataplane = { ttl = -1; };", { "dataplane.ttl: -1 is out of range "
	  "(1..255)" } },
	{ "hash_seed beyond 32 bits", RT, "dataplane = { hash_seed = 4294967296; };",
	  { "dataplane.hash_seed: 4294967296 is out of range (0..4294967295)" } },
	{ "ring_size not a prime", RT, DP SVC "\n ring_size = 65536; } );",
	  { "t.conf:3: vips[0].ring_size: 65536 is not a prime; use 65521 or 65537" } },
	{ "ring_size just above the smallest", RT, DP SVC "ring_size = 1022; } );",
	  { "vips[0].ring_size: 1022 is not a prime; use 1021 or 1031" } },
	{ "ring_size below the range", RT, DP SVC "ring_size = 1019; } );",
	  { "vips[0].ring_size: 1019 is out of range (1021..1048573)" } },
	{ "ring_size at the top", RT, DP SVC "ring_size = 1048572; } );",
	  { "1048572 is not a prime; use 1048571 or 1048573" } },
	{ "mss between 0 and 536", RT, DP SVC "mss = 100; } );",
	  { "vips[0].mss: 100 is out of range; use 0 (from the MTU) or 536..9000" } },
	{ "duplicate service", RT, DP "vips = (\n { service = \"198.18.0.10:443/tcp\"; },\n"
	  " { service = \"198.18.0.11:443/tcp\"; },\n { service = \"198.18.0.10:443/tcp\"; } );",
	  { "t.conf:5: vips[2].service: 198.18.0.10:443/tcp is already a VIP (vips[0], line 3); "
	    "merge the two or remove one" } },
	{ "duplicate service, other spelling", RT, DP "vips = ( { service = "
	  "\"[2001:db8::10]:443/tcp\"; },\n { service = \"[2001:DB8:0::10]:443/tcp\"; } );",
	  { "t.conf:3: vips[1].service: [2001:db8::10]:443/tcp is already a VIP (vips[0], "
	    "line 2)" } },
	{ "same address, other port: fine, other proto: fine; this one twice", RT, DP "vips = ( "
	  "{ service = \"198.18.0.10:443/tcp\"; }, { service = \"198.18.0.10:443/udp\"; },\n"
	  "{ service = \"198.18.0.10:444/tcp\"; },\n{ service = \"198.18.0.10:443/udp\"; } );",
	  { "t.conf:4: vips[3].service: 198.18.0.10:443/udp is already a VIP (vips[1], line 2)" } },
	{ "duplicate backend", RT, DP SVC "backends = (\n { address = \"198.18.31.2\"; },\n"
	  " { address = \"198.18.31.3\"; },\n { address = \"198.18.31.2\"; weight = 3; } ); } );",
	  { "t.conf:5: vips[0].backends[2].address: 198.18.31.2 is listed twice in this VIP "
	    "(also backends[0], line 3); remove one" } },
	{ "timeout above the interval", RT, DP SVC "probe = { interval = 1.0;\n timeout = 1.5; }; "
	  "} );", { "t.conf:3: vips[0].probe.timeout: 1.5 s is longer than the interval (1.0 s); "
	  "make the timeout at most the interval" } },
	{ "a backend's timeout above the VIP's interval", RT, DP SVC "backends = (\n { address = "
	  "\"198.18.31.2\"; probe = { timeout = 3.0; }; } ); } );",
	  { "t.conf:3: vips[0].backends[0].probe.timeout: 3.0 s is longer than the interval "
	    "(2.0 s, with the VIP's probe)" } },
	{ "interval too short", RT, DP SVC "probe = { interval = 0.05; }; } );",
	  { "vips[0].probe.interval: 0.05 s is out of range (0.1..3600 seconds)" } },
	{ "missing service", RT, DP "vips = (\n { ring_size = 1021; } );",
	  { "t.conf:3: vips[0].service: missing; a VIP needs service = \"ADDR:PORT/tcp\";" } },
	{ "missing address", RT, DP SVC "backends = (\n { weight = 2; } ); } );",
	  { "t.conf:3: vips[0].backends[0].address: missing; a backend needs address" } },
	{ "missing daemon in a config file", FULL, DP, { "t.conf: daemon: missing; a config file "
	  "needs at least daemon = { interfaces" } },
	{ "missing interfaces", FULL, "daemon = {\n xdp_mode = \"native\"; };",
	  { "t.conf:1: daemon.interfaces: missing; daemon needs interfaces = [ \"eth0\" ];" } },
	{ "no interfaces", FULL, "daemon = { interfaces = [ ]; };",
	  { "daemon.interfaces: empty; name the interfaces XDP runs on" } },
	{ "nine interfaces", FULL, "daemon = { interfaces = [ \"a\", \"b\", \"c\", \"d\", \"e\", "
	  "\"f\", \"g\", \"h\", \"i\" ]; };", { "daemon.interfaces: 9 interfaces; at most 8" } },
	{ "bad interface name", FULL, "daemon = { interfaces = [ \"eth/0\" ]; };",
	  { "daemon.interfaces[0]: \"eth/0\" is not an interface name" } },
	{ "interface name too long", FULL, "daemon = { interfaces = [ \"abcdefghijklmnop\" ]; };",
	  { "daemon.interfaces[0]: \"abcdefghijklmnop...\" is longer than 15 characters" } },
	{ "interface twice", FULL, "daemon = { interfaces = [ \"eth0\", \"eth0\" ]; };",
	  { "daemon.interfaces[1]: \"eth0\" is listed twice" } },
	{ "service without port", RT, "vips = ( { service = \"198.18.0.10/tcp\"; } );",
	  { "vips[0].service: \"198.18.0.10/tcp\" is not a service; write ADDR:PORT/tcp" } },
	{ "service with port 0", RT, "vips = ( { service = \"198.18.0.10:0/tcp\"; } );",
	  { "\"198.18.0.10:0/tcp\" is not a service", "port 1..65535" } },
	{ "service with an unknown protocol", RT, "vips = ( { service = \"198.18.0.10:443/sctp\"; "
	  "} );", { "\"198.18.0.10:443/sctp\" is not a service" } },
	{ "service with a short address", RT, "vips = ( { service = \"1.2.3:443/tcp\"; } );",
	  { "\"1.2.3:443/tcp\" is not a service" } },
	{ "service to a multicast address", RT, "vips = ( { service = \"224.0.0.1:443/tcp\"; } );",
	  { "224.0.0.1:443/tcp: the address is not a unicast address" } },
	{ "bad backend address", RT, DP SVC "backends = ( { address = \"300.1.1.1\"; } ); } );",
	  { "vips[0].backends[0].address: \"300.1.1.1\" is not an IPv4 or IPv6 address" } },
	{ "backend 0.0.0.0", RT, DP SVC "backends = ( { address = \"0.0.0.0\"; } ); } );",
	  { "vips[0].backends[0].address: 0.0.0.0 is not a unicast address" } },
	{ "IPv6 in source_v4", RT, "dataplane = { source_v4 = \"2001:db8::1\"; };",
	  { "dataplane.source_v4: 2001:db8::1 is an IPv6 address; source_v4 takes an IPv4 "
	    "address" } },
	{ "prefix with host bits", RT, "dataplane = { source_prefix_v4 = \"198.19.128.5/24\"; };",
	  { "dataplane.source_prefix_v4: 198.19.128.5/24 has host bits set; did you mean "
	    "198.19.128.0/24?" } },
	{ "prefix too short", RT, "dataplane = { source_prefix_v6 = \"2001:db8::/32\"; };",
	  { "dataplane.source_prefix_v6: prefix length 32 is out of range (48..128)" } },
	{ "prefix without length", RT, "dataplane = { source_prefix_v4 = \"198.19.128.0\"; };",
	  { "dataplane.source_prefix_v4: \"198.19.128.0\" is not ADDR/LEN" } },
	{ "IPv6 backend without an IPv6 source", RT, "dataplane = { source_v4 = \"198.18.20.2\"; "
	  "};\n" SVC "backends = (\n { address = \"2001:db8::5\"; } ); } );",
	  { "t.conf:3: vips[0].backends[0].address: 2001:db8::5 is IPv6 but the dataplane has no "
	    "IPv6 outer source; set dataplane.source_v6 (or source_prefix_v6)" } },
	{ "backend without any source", RT, SVC BACK, { "198.18.31.2 is IPv4 but the dataplane "
	  "has no IPv4 outer source" } },
	{ "probe source of the other family", RT, DP SVC "probe = { source = \"198.18.20.2\"; };\n"
	  "backends = ( { address = \"198.18.31.2\"; },\n { address = \"2001:db8::5\"; } ); } );",
	  { "t.conf:4: vips[0].backends[1].address: the probe source 198.18.20.2 is IPv4 but the "
	    "backend 2001:db8::5 is IPv6" } },
	{ "gateway that is no MAC", RT, "dataplane = { gateway = \"router\"; };",
	  { "dataplane.gateway: \"router\" is neither \"auto\" nor a MAC address" } },
	{ "multicast gateway MAC", RT, "dataplane = { gateway = \"01:00:5e:00:00:01\"; };",
	  { "01:00:5e:00:00:01 is not a unicast MAC address" } },
	{ "metrics without port", FULL, "daemon = { interfaces = [ \"eth0\" ]; metrics = "
	  "\"127.0.0.1\"; };", { "daemon.metrics: \"127.0.0.1\" is not ADDR:PORT" } },
	{ "relative path", FULL, "daemon = { interfaces = [ \"eth0\" ];\n pin_dir = \"xlb\"; };",
	  { "t.conf:2: daemon.pin_dir: \"xlb\" is not an absolute path" } },
	{ "log level", FULL, "daemon = { interfaces = [ \"eth0\" ]; log_level = \"loud\"; };",
	  { "daemon.log_level: \"loud\" is not one of \"debug\", \"info\", \"notice\", "
	    "\"warning\", \"error\"" } },
	{ "xdp mode", FULL, "daemon = { interfaces = [ \"eth0\" ]; xdp_mode = \"skb\"; };",
	  { "daemon.xdp_mode: \"skb\" is not one of \"native\", \"generic\"" } },
	{ "flow_window 0", FULL, "daemon = { interfaces = [ \"eth0\" ]; flow_window = 0; };",
	  { "daemon.flow_window: 0 is out of range (1..86400)" } },
	{ "http path", RT, DP SVC "probe = { http_path = \"health\"; }; } );",
	  { "vips[0].probe.http_path: \"health\" does not start with '/'" } },
	{ "probe host", RT, DP SVC "probe = { host = \"-bad-.example\"; }; } );",
	  { "vips[0].probe.host: \"-bad-.example\" is not a DNS name" } },
	{ "probe type", RT, DP SVC "probe = { type = \"ping\"; }; } );",
	  { "\"ping\" is not one of \"none\", \"tcp\", \"tls\", \"sstp\", \"sstp-deep\", "
	    "\"http\"" } },
	{ "daemon in a state file", RT, DP "daemon = { interfaces = [ \"eth0\" ]; };",
	  { "t.conf:2: daemon: not allowed here; this document holds only dataplane and vips" } },
	{ "@include", RT, "dataplane = { };\n@include \"/etc/passwd\"\n",
	  { "t.conf:2: @include is not supported" } },
	{ "syntax: missing '='", RT, "dataplane = {\n  ttl = 64;\n  mtu 1500;\n};",
	  { "t.conf:3: syntax error; look for a missing ';', '=', quote or bracket" } },
	{ "syntax: unterminated group", RT, "dataplane = {\n  mtu = 1500;\n\n",
	  { "t.conf:", "syntax error" } },
	{ "syntax: key given twice", RT, "dataplane = {\n mtu = 1500;\n mtu = 1400; };",
	  { "t.conf:3: duplicate setting name; a key is given twice in one group" } },
	{ "syntax: mixed array", FULL, "daemon = {\n interfaces = [ \"eth0\", 1 ]; };",
	  { "t.conf:2: mismatched element type in array" } },
	{ "syntax: unterminated string", RT, "dataplane = {\n gateway = \"auto; };\n",
	  { "t.conf:", "syntax error" } },
};

/* Every rule refuses with file, line, key and the fix, and leaves the
 * output alone. */
static void test_validation(void)
{
	struct xlb_conf before, c;
	struct xlb_conf_error e;
	char *example = docs_example(), msg[1024], why[256];

	xlb_conf_init(&before);
	if (parse(example, XLB_CONF_FULL, &before, &e))
		bail_out("docs example does not parse");
	xlb_conf_copy(&c, &before);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct bad *b = &bad[i];
		int ret = parse(b->text, b->part, &c, &e);
		bool good = ret == -EINVAL;

		xlb_conf_error_str(&e, msg, sizeof(msg));
		for (size_t j = 0; j < ARRAY_SIZE(b->want) && b->want[j]; j++)
			good = good && has(msg, b->want[j]);
		good = good && conf_same(&before, &c, true, why, sizeof(why));
		if (!ok(good, "refused: %s", b->name)) {
			diag("ret %d: %s", ret, msg);
			for (size_t j = 0; j < ARRAY_SIZE(b->want) && b->want[j]; j++)
				diag("want: %s", b->want[j]);
		}
	}
	xlb_conf_free(&c);
	xlb_conf_free(&before);
	free(example);
}

/* Limits of include/xlb.h: VIPs, backends in all, backends per ring. */
static void test_limits(void)
{
	struct xlb_conf c;
	struct xlb_conf_error e;
	char *text, msg[1024];
	size_t len;
	FILE *f;

	f = open_memstream(&text, &len);
	fputs(DP "vips = (\n", f);
	for (int i = 0; i <= XLB_MAX_VIPS; i++)
		fprintf(f, "%s{ service = \"198.18.%d.%d:443/tcp\"; }\n", i ? "," : "", i / 256,
			i % 256);
	fputs(");\n", f);
	fclose(f);
	xlb_conf_init(&c);
	ok(parse(text, RT, &c, &e) && has(xlb_conf_error_str(&e, msg, sizeof(msg)),
					  "t.conf:2: vips: 513 VIPs; at most 512"), "513 VIPs refused");
	free(text);

	f = open_memstream(&text, &len);
	fputs(DP "vips = (\n", f);
	for (int v = 0; v < 2; v++) {
		fprintf(f, "%s{ service = \"198.18.0.%d:443/tcp\"; backends = (\n", v ? "," : "", v);
		for (int i = 0; i < XLB_MAX_BACKENDS / 2 + v; i++)
			fprintf(f, "%s{ address = \"10.%d.%d.%d\"; }\n", i ? "," : "", v, i / 256,
				i % 256);
		fputs("); }\n", f);
	}
	fputs(");\n", f);
	fclose(f);
	ok(parse(text, RT, &c, &e) && has(xlb_conf_error_str(&e, msg, sizeof(msg)),
					  "vips[1].backends: 65537 backends in all so far; at most 65536"),
	   "65537 backends in all refused");
	if (!has(msg, "65537"))
		diag("%s", msg);
	free(text);

	f = open_memstream(&text, &len);
	fputs(DP "vips = ( { service = \"198.18.0.1:443/tcp\"; ring_size = 1021;\n"
	      "backends = (\n", f);
	for (int i = 0; i < 1022; i++)
		fprintf(f, "%s{ address = \"10.0.%d.%d\"; }\n", i ? "," : "", i / 256, i % 256);
	fputs("); } );\n", f);
	fclose(f);
	ok(parse(text, RT, &c, &e) && has(xlb_conf_error_str(&e, msg, sizeof(msg)),
					  "t.conf:2: vips[0].ring_size: 1021 slots for 1022 backends; "
					  "give a prime of at least 1022"),
	   "more backends than ring slots refused");
	free(text);
	xlb_conf_free(&c);
}

/* A conf built in code gets the same rules, without file or line. */
static void test_validate_in_code(void)
{
	struct xlb_conf c;
	struct xlb_conf_error e;
	char msg[1024];

	xlb_conf_init(&c);
	if (parse(DAEMON DP SVC BACK, FULL, &c, &e))
		bail_out("minimal config does not parse");
	is_u64(xlb_conf_validate(&c, FULL, &e), 0, "a parsed conf validates");
	c.vips[0].backends[0].weight = 0;
	ok(xlb_conf_validate(&c, FULL, &e) == -EINVAL &&
	   !strcmp(xlb_conf_error_str(&e, msg, sizeof(msg)), "vips[0].backends[0].weight: 0 is out "
		   "of range (1..1000); give a weight from 1 to 1000, or drain the backend"),
	   "weight 0 in code: key and fix, no file or line");
	c.vips[0].backends[0].weight = 1;
	c.vips[0].ring_size = 1000;
	ok(xlb_conf_validate(&c, FULL, &e) && has(e.msg, "1000 is out of range"),
	   "ring size in code");
	c.vips[0].ring_size = 65537;
	c.daemon.n_interfaces = 0;
	ok(xlb_conf_validate(&c, FULL, &e) && !xlb_conf_validate(&c, RT, &e),
	   "the daemon section counts only for a full config");
	xlb_conf_free(&c);
}

static void count_warning(void *arg, const char *key, const char *msg)
{
	char *last = arg;

	snprintf(last, 256, "%s: %s", key, msg);
}

/* Advice that does not refuse: small rings, generic XDP. */
static void test_warnings(void)
{
	struct xlb_conf c;
	struct xlb_conf_error e;
	char last[256] = "", *text;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	fputs("daemon = { interfaces = [ \"eth0\" ]; xdp_mode = \"generic\"; };\n" DP
	      "vips = ( { service = \"198.18.0.1:443/tcp\"; ring_size = 1021; backends = (\n", f);
	for (int i = 0; i < 20; i++)
		fprintf(f, "%s{ address = \"10.0.0.%d\"; }\n", i ? "," : "", i + 1);
	fputs("); } );\n", f);
	fclose(f);
	xlb_conf_init(&c);
	ok(!parse(text, FULL, &c, &e), "20 backends on 1021 slots parse");
	is_u64(xlb_conf_warnings(&c, FULL, count_warning, last), 2, "two warnings");
	ok(has(last, "vips[0].ring_size: 1021 slots for 20 backends is fewer than 100 per backend"),
	   "ring size warning names the VIP and a better size");
	is_u64(xlb_conf_warnings(&c, RT, count_warning, last), 1, "runtime: no daemon warning");
	free(text);
	xlb_conf_free(&c);
}

/* ---- files ----------------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	if (f) {
		size_t n = fread(buf, 1, (1 << 16) - 1, f);

		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

/* Files in DIR besides NAME. */
static int stray_files(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, name))
			n++;
	if (d)
		closedir(d);
	return n;
}

/* Files: parse errors name the file, the config and the state file differ. */
static void test_files(void)
{
	struct xlb_conf c;
	struct xlb_conf_error e;
	char path[256], msg[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/xlb.conf", tmpdir);
	f = fopen(path, "w");
	fputs(DAEMON DP SVC "backends = (\n { address = \"198.18.31.2\"; weight = 1001; } ); } );\n",
	      f);
	fclose(f);
	xlb_conf_init(&c);
	ok(xlb_conf_parse_file(path, FULL, &c, &e) == -EINVAL &&
	   has(xlb_conf_error_str(&e, msg, sizeof(msg)), "/xlb.conf:4: vips[0].backends[0].weight: "
	       "1001 is out of range"), "file errors name the file");
	ok(xlb_conf_parse_file(path, RT, &c, &e) == -EINVAL &&
	   has(xlb_conf_error_str(&e, msg, sizeof(msg)), "/xlb.conf:1: daemon: not allowed here"),
	   "the config file is not a state file");

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	ok(xlb_conf_parse_file(path, FULL, &c, &e) == -ENOENT &&
	   has(xlb_conf_error_str(&e, msg, sizeof(msg)), "missing.conf: cannot open: No such file"),
	   "a missing file: -ENOENT and a message");

	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	f = fopen(path, "w");
	fwrite("vips = ( );\0x", 1, 13, f);
	fclose(f);
	ok(xlb_conf_parse_file(path, RT, &c, &e) == -EINVAL && has(e.msg, "NUL byte"),
	   "a NUL byte refuses the file");

	snprintf(path, sizeof(path), "%s/state.conf", tmpdir);
	f = fopen(path, "w");
	fputs(DP SVC BACK, f);
	fclose(f);
	strcpy(c.daemon.pin_dir, "/sys/fs/bpf/other");
	ok(!xlb_conf_parse_file(path, RT, &c, &e) && c.n_vips == 1 &&
	   !strcmp(c.daemon.pin_dir, "/sys/fs/bpf/other"),
	   "a state file replaces dataplane and VIPs, keeps the daemon section");
	ok(xlb_conf_parse_file(path, FULL, &c, &e) == -EINVAL && has(e.msg, "missing"),
	   "a state file is not a config file (no daemon)");
	unlink(path);
	xlb_conf_free(&c);
	snprintf(path, sizeof(path), "%s/xlb.conf", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	unlink(path);
}

/* Atomic writes: the whole new text or the old file, never a mix, never a
 * temporary file left behind. */
static void test_atomic_write(void)
{
	char dir[300], path[320], sub[340], *got;
	struct stat st;
	struct rlimit old, small = { 4096, 4096 };
	char *big = malloc(65536);

	snprintf(dir, sizeof(dir), "%s/w", tmpdir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/state.conf", dir);
	is_u64(xlb_conf_write_file_atomic(path, "vips = ( );\n"), 0, "write a new file");
	got = slurp(path);
	ok(!strcmp(got, "vips = ( );\n"), "it holds the text");
	free(got);
	ok(!stat(path, &st) && (st.st_mode & 0777) == 0600, "mode 0600");
	is_u64(xlb_conf_write_file_atomic(path, "dataplane = { mtu = 9000; };\n"), 0,
	       "replace it");
	got = slurp(path);
	ok(!strcmp(got, "dataplane = { mtu = 9000; };\n") && stray_files(dir, "state.conf") == 0,
	   "new text, no temporary file");
	free(got);

	/* write fails half way (file size limit): the old file stays */
	memset(big, '#', 65535);
	big[65535] = '\0';
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	setrlimit(RLIMIT_FSIZE, &small);
	is_u64(xlb_conf_write_file_atomic(path, big), -EFBIG, "a write that fails: -EFBIG");
	setrlimit(RLIMIT_FSIZE, &old);
	got = slurp(path);
	ok(!strcmp(got, "dataplane = { mtu = 9000; };\n") && stray_files(dir, "state.conf") == 0,
	   "after a failed write: old text, no temporary file");
	free(got);

	/* rename fails (a directory is in the way) */
	snprintf(sub, sizeof(sub), "%s/dir.conf", dir);
	mkdir(sub, 0700);
	ok(xlb_conf_write_file_atomic(sub, "x") == -EISDIR && stray_files(dir, "state.conf") == 1,
	   "rename over a directory fails; nothing left but the two");
	rmdir(sub);

	snprintf(sub, sizeof(sub), "%s/nodir/state.conf", dir);
	is_u64(xlb_conf_write_file_atomic(sub, "x"), -ENOENT, "no such directory: -ENOENT");

	/* a read-only directory stops everything, for all but root */
	if (geteuid() == 0) {
		skip("read-only directory: root writes anyway");
	} else {
		chmod(dir, 0500);
		ok(xlb_conf_write_file_atomic(path, "x") == -EACCES, "read-only directory: -EACCES");
		chmod(dir, 0700);
	}
	got = slurp(path);
	ok(!strcmp(got, "dataplane = { mtu = 9000; };\n") && stray_files(dir, "state.conf") == 0,
	   "the old file is intact after every failure");
	free(got);
	free(big);
	unlink(path);
	rmdir(dir);
}

/* ---- diff ------------------------------------------------------------------ */

static const char *const kind_names[] = {
	[XLB_CHG_DAEMON] = "daemon", [XLB_CHG_DATAPLANE] = "dataplane",
	[XLB_CHG_VIP_DEL] = "vip-del", [XLB_CHG_VIP_ADD] = "vip-add", [XLB_CHG_VIP_SET] = "vip-set",
	[XLB_CHG_BACKEND_DEL] = "be-del", [XLB_CHG_BACKEND_ADD] = "be-add",
	[XLB_CHG_BACKEND_SET] = "be-set",
};

/* Each change as "kind service [address] [what]", space-separated. */
static int log_change(void *arg, const struct xlb_conf_change *ch)
{
	char *log = arg, svc[XLB_SERVICE_STRLEN] = "", ip[64] = "";
	const struct xlb_vip_cfg *v = ch->new_vip ? ch->new_vip : ch->old_vip;
	const struct xlb_backend_cfg *b = ch->new_be ? ch->new_be : ch->old_be;
	size_t n = strlen(log);

	if (v)
		xlb_service_str(&v->svc, svc, sizeof(svc));
	if (b)
		xlb_ip_str(&b->addr, ip, sizeof(ip));
	snprintf(log + n, 1024 - n, "%s%s%s%s%s%s%s%s", n ? " | " : "", kind_names[ch->kind],
		 v ? " " : "", svc, b ? " " : "", ip, ch->what ? " " : "", "");
	n = strlen(log);
	if (ch->what)
		snprintf(log + n, 1024 - n, "%#x", ch->what);
	return 0;
}

static int stop_at_first(void *arg, const struct xlb_conf_change *ch)
{
	return -ECANCELED;
}

/* The diff names exactly what changed, in an order a reconciler can follow. */
static void test_diff(void)
{
	static const char *const base =
		DP "vips = (\n"
		"{ service = \"198.18.0.10:443/tcp\"; backends = ( { address = \"198.18.31.2\"; },\n"
		"  { address = \"198.18.32.2\"; weight = 2; }, { address = \"198.18.33.2\"; } ); },\n"
		"{ service = \"198.18.0.11:443/tcp\"; },\n"
		"{ service = \"198.18.0.12:443/tcp\"; } );\n";
	static const struct {
		const char *name;
		const char *text;
		const char *want;
	} cases[] = {
		{ "the same text", NULL, "" },
		{ "reordered VIPs and backends", DP "vips = (\n"
		  "{ service = \"198.18.0.12:443/tcp\"; }, { service = \"198.18.0.11:443/tcp\"; },\n"
		  "{ service = \"198.18.0.10:443/tcp\"; backends = ( { address = \"198.18.33.2\"; },\n"
		  " { address = \"198.18.31.2\"; }, { address = \"198.18.32.2\"; weight = 2; } ); } );",
		  "" },
		{ "a dataplane key", "dataplane = { source_v4 = \"198.18.20.2\"; source_v6 = "
		  "\"2001:db8:20::2\"; mtu = 9000; };\n" "vips = (\n"
		  "{ service = \"198.18.0.10:443/tcp\"; backends = ( { address = \"198.18.31.2\"; },\n"
		  "  { address = \"198.18.32.2\"; weight = 2; }, { address = \"198.18.33.2\"; } ); },\n"
		  "{ service = \"198.18.0.11:443/tcp\"; }, { service = \"198.18.0.12:443/tcp\"; } );",
		  "dataplane" },
		{ "VIPs removed, added, changed; backends removed, added, changed", DP "vips = (\n"
		  "{ service = \"198.18.0.13:443/tcp\"; },\n"
		  "{ service = \"198.18.0.10:443/tcp\"; ring_size = 1021; backends = (\n"
		  "  { address = \"198.18.34.2\"; }, { address = \"198.18.32.2\"; drain = true; },\n"
		  "  { address = \"198.18.31.2\"; probe = { type = \"tcp\"; }; } ); },\n"
		  "{ service = \"198.18.0.12:443/tcp\"; probe = { rise = 5; }; } );",
		  "vip-del 198.18.0.11:443/tcp | vip-set 198.18.0.10:443/tcp 0x1 | "
		  "be-del 198.18.0.10:443/tcp 198.18.33.2 | be-add 198.18.0.10:443/tcp 198.18.34.2 | "
		  "be-set 198.18.0.10:443/tcp 198.18.32.2 0x30 | "
		  "be-set 198.18.0.10:443/tcp 198.18.31.2 0x8 | "
		  "vip-set 198.18.0.12:443/tcp 0x8 | vip-add 198.18.0.13:443/tcp" },
	};
	struct xlb_conf a, b;
	struct xlb_conf_error e;
	char log[1024];

	xlb_conf_init(&a);
	xlb_conf_init(&b);
	if (parse(base, RT, &a, &e))
		bail_out("diff base does not parse: %s", e.msg);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int n;

		if (parse(cases[i].text ? cases[i].text : base, RT, &b, &e)) {
			ok(false, "diff: %s parses (%s)", cases[i].name, e.msg);
			continue;
		}
		log[0] = '\0';
		n = xlb_conf_diff(&a, &b, RT, log_change, log);
		if (!ok(!strcmp(log, cases[i].want) && n >= 0 &&
			(n == 0) == (cases[i].want[0] == '\0'), "diff: %s", cases[i].name))
			diag("got %d: \"%s\"\nwant: \"%s\"", n, log, cases[i].want);
		ok(xlb_conf_equal(&a, &b, RT) == (cases[i].want[0] == '\0'),
		   "equal agrees: %s", cases[i].name);
	}
	log[0] = '\0';
	xlb_conf_free(&b);
	xlb_conf_copy(&b, &a);
	strcpy(b.daemon.socket, "/run/other.sock");
	xlb_conf_diff(&a, &b, FULL, log_change, log);
	ok(!strcmp(log, "daemon") && xlb_conf_equal(&a, &b, RT) && !xlb_conf_equal(&a, &b, FULL),
	   "the daemon section differs only for a full compare");
	b.vips[0].backends[0].probe.rise = 9;
	ok(xlb_conf_equal(&a, &b, RT), "a backend's probe keys it does not give do not count");
	b.vips[0].backends[0].probe.set = XLB_PROBE_K_RISE;
	ok(!xlb_conf_equal(&a, &b, RT), "once given, they do");
	b.dataplane.ttl = 9;
	is_u64(xlb_conf_diff(&a, &b, FULL, stop_at_first, NULL), -ECANCELED,
	       "a callback's error stops the walk and is returned");
	xlb_conf_free(&a);
	xlb_conf_free(&b);
}

/* Copies are deep; look-ups find by service and address. */
static void test_copy_and_find(void)
{
	struct xlb_conf a, b;
	struct xlb_conf_error e;
	struct xlb_service svc;
	struct xlb_ip ip;
	char why[256];

	xlb_conf_init(&a);
	if (parse(DP SVC BACK, RT, &a, &e))
		bail_out("copy base does not parse");
	is_u64(xlb_conf_copy(&b, &a), 0, "copy");
	ok(conf_same(&a, &b, true, why, sizeof(why)) && b.vips != a.vips &&
	   b.vips[0].backends != a.vips[0].backends, "the copy is equal and deep");
	b.vips[0].backends[0].weight = 7;
	ok(a.vips[0].backends[0].weight == 1, "changing the copy leaves the original");
	xlb_service_parse("198.18.0.10:443/tcp", &svc);
	xlb_ip_parse("198.18.31.2", &ip);
	ok(xlb_conf_find_vip(&a, &svc) == &a.vips[0] &&
	   xlb_vip_find_backend(&a.vips[0], &ip) == &a.vips[0].backends[0], "find VIP and backend");
	svc.proto = IPPROTO_UDP;
	ip.a[3] = 3;
	ok(!xlb_conf_find_vip(&a, &svc) && !xlb_vip_find_backend(&a.vips[0], &ip),
	   "other proto, other address: not found");
	xlb_conf_free(&b);
	ok(b.n_vips == 0 && b.vips == NULL, "free leaves an empty conf");
	xlb_conf_free(&a);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		bail_out("mkdtemp: %s", strerror(errno));
	test_addresses();
	test_docs_example();
	test_defaults();
	test_probe_inheritance();
	test_round_trip_example();
	test_round_trip_random();
	test_big_integers();
	test_validation();
	test_limits();
	test_validate_in_code();
	test_warnings();
	test_files();
	test_atomic_write();
	test_diff();
	test_copy_and_find();
	rmdir(tmpdir);
	return tap_done();
}
