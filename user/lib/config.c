/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The configuration as text (docs/config.md), with libconfig doing the
 * syntax. Every key is described once, in the tables below; reading,
 * checking, comparing and printing all walk those tables.
 *
 * Parsing is two passes: read (types, unknown and missing keys, the range
 * of each value) and then validate() over the result, which is also what
 * xlb_conf_validate() runs on a conf built in code. While parsing, the
 * libconfig tree stays around so that every message gets its line.
 */
#include "config.h"
#include "maglev.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define MAX_DOC_SIZE		(64u << 20)
#define MS_PER_S		1000
#define MAX_SUGGEST_DIST	2
#define RING_SLOTS_PER_BACKEND	100	/* advice, docs/config.md */
#define MAC_LEN			6

/* ---- the keys ------------------------------------------------------------ */

enum kind {
	K_INT,		/* unsigned field of SIZE bytes, MIN..MAX */
	K_BOOL,
	K_SECONDS,	/* seconds (float) as uint32_t ms, MIN..MAX ms */
	K_ENUM,		/* one of CHOICES, as an int field of SIZE bytes */
	K_PATH,		/* absolute path; F_EMPTY_OK */
	K_HOST,		/* DNS name or "" */
	K_HTTP_PATH,
	K_HOSTPORT,	/* "ADDR:PORT" or "" */
	K_IP,		/* struct xlb_ip of FAMILY (0: either) */
	K_PREFIX,	/* "ADDR/LEN": struct xlb_ip at OFF, uint8_t length at OFF2 */
	K_GATEWAY,	/* "auto" (bool at OFF) or a MAC (uint8_t[6] at OFF2) */
	K_IFACES,	/* interface names at OFF, size_t count at OFF2 */
	K_SERVICE,
	K_PROBE,	/* a group of probe keys */
	K_BACKENDS,	/* a list of backends (the VIP is the base) */
};

enum key_flags {
	F_REQUIRED	= 1u << 0,
	F_EMPTY_OK	= 1u << 1,	/* K_PATH: "" allowed */
	F_UNICAST	= 1u << 2,	/* K_IP: not unspecified or multicast */
	F_INHERITS	= 1u << 3,	/* K_PROBE: only the keys given count */
};

struct choice {
	const char *name;
	int value;
};

struct key {
	const char *name;
	enum kind kind;
	uint16_t off, size, off2;
	uint8_t family;
	uint8_t flags;
	int64_t min, max;
	const struct choice *choices;	/* K_ENUM, NULL-terminated */
	uint32_t bit;			/* probe keys: enum xlb_probe_key */
	const char *hint;		/* how to fix an out-of-range value;
					 * F_REQUIRED: what to write */
};

struct group {
	const char *what;		/* "keys in <what>" */
	const struct key *keys;
	size_t n;
};

#define KEY(st, n, k, f, ...) { .name = n, .kind = k, .off = offsetof(st, f), \
				.size = sizeof(((st *)0)->f), __VA_ARGS__ }
#define GROUP(what, keys) { what, keys, sizeof(keys) / sizeof(keys[0]) }

static const struct choice xdp_modes[] = {
	{ "native", XLB_XDP_NATIVE }, { "generic", XLB_XDP_GENERIC }, { NULL, 0 },
};
static const struct choice log_levels[] = {
	{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
	{ "warning", LOG_WARNING }, { "error", LOG_ERR }, { NULL, 0 },
};
static const struct choice probe_types[] = {
	{ "none", XLB_PROBE_NONE }, { "tcp", XLB_PROBE_TCP }, { "tls", XLB_PROBE_TLS },
	{ "sstp", XLB_PROBE_SSTP }, { "sstp-deep", XLB_PROBE_SSTP_DEEP },
	{ "http", XLB_PROBE_HTTP }, { NULL, 0 },
};
static const struct choice hashes[] = {
	{ "5-tuple", false }, { "source", true }, { NULL, 0 },
};

#define D(...) KEY(struct xlb_daemon_cfg, __VA_ARGS__)
static const struct key daemon_keys[] = {
	D("interfaces", K_IFACES, interfaces, .off2 = offsetof(struct xlb_daemon_cfg, n_interfaces),
	  .flags = F_REQUIRED, .hint = "interfaces = [ \"eth0\" ];"),
	D("xdp_mode", K_ENUM, xdp_mode, .choices = xdp_modes),
	D("pin_dir", K_PATH, pin_dir),
	D("bpf_object", K_PATH, bpf_object, .flags = F_EMPTY_OK),
	D("socket", K_PATH, socket),
	D("state_file", K_PATH, state_file),
	D("metrics", K_HOSTPORT, metrics),
	D("log_level", K_ENUM, log_level, .choices = log_levels),
	D("flow_window", K_INT, flow_window_s, .min = 1, .max = 86400),
};
#undef D

#define P(...) KEY(struct xlb_dataplane_cfg, __VA_ARGS__)
static const struct key dataplane_keys[] = {
	P("mtu", K_INT, mtu, .min = 576, .max = 9000,
	  .hint = "give the path MTU toward the backends, 1500 on plain Ethernet"),
	P("source_v4", K_IP, source_v4, .family = XLB_FAMILY_V4, .flags = F_UNICAST),
	P("source_v6", K_IP, source_v6, .family = XLB_FAMILY_V6, .flags = F_UNICAST),
	P("source_prefix_v4", K_PREFIX, source_prefix_v4, .family = XLB_FAMILY_V4,
	  .off2 = offsetof(struct xlb_dataplane_cfg, source_prefix_v4_len), .min = 8, .max = 32),
	P("source_prefix_v6", K_PREFIX, source_prefix_v6, .family = XLB_FAMILY_V6,
	  .off2 = offsetof(struct xlb_dataplane_cfg, source_prefix_v6_len), .min = 48, .max = 128),
	P("ttl", K_INT, ttl, .min = 1, .max = 255),
	P("hash_seed", K_INT, hash_seed, .min = 0, .max = UINT32_MAX),
	P("flow_table_size", K_INT, flow_table_size, .min = 1024, .max = 67108864),
	P("new_flow_limit", K_INT, new_flow_limit, .min = 0, .max = 100000000,
	  .hint = "0 means no limit"),
	P("syn_rate_per_source", K_INT, syn_rate_per_source, .min = 0, .max = 1000000,
	  .hint = "0 turns the limit off"),
	P("syn_burst_per_source", K_INT, syn_burst_per_source, .min = 0, .max = 1000000,
	  .hint = "0 means the rate"),
	P("icmp_rate", K_INT, icmp_rate, .min = 0, .max = 1000000,
	  .hint = "0 never sends ICMP errors"),
	P("gateway", K_GATEWAY, gateway_auto, .off2 = offsetof(struct xlb_dataplane_cfg, gateway_mac)),
};
#undef P

#define R(name, k, ...) KEY(struct xlb_probe_cfg, name, __VA_ARGS__, .bit = XLB_PROBE_K_##k)
static const struct key probe_keys[] = {
	R("type", TYPE, K_ENUM, type, .choices = probe_types),
	R("interval", INTERVAL, K_SECONDS, interval_ms, .min = 100, .max = 3600000),
	R("timeout", TIMEOUT, K_SECONDS, timeout_ms, .min = 100, .max = 3600000),
	R("rise", RISE, K_INT, rise, .min = 1, .max = 100),
	R("fall", FALL, K_INT, fall, .min = 1, .max = 100),
	R("port", PORT, K_INT, port, .min = 0, .max = 65535, .hint = "0 means the VIP's port"),
	R("host", HOST, K_HOST, host),
	R("verify", VERIFY, K_BOOL, verify),
	R("ca_file", CA_FILE, K_PATH, ca_file, .flags = F_EMPTY_OK),
	R("cert_warn_days", CERT_WARN_DAYS, K_INT, cert_warn_days, .min = 0, .max = 3650),
	R("http_path", HTTP_PATH, K_HTTP_PATH, http_path),
	R("http_status", HTTP_STATUS, K_INT, http_status, .min = 100, .max = 599),
	R("source", SOURCE, K_IP, source, .flags = F_UNICAST),
	R("proxy_v2", PROXY_V2, K_BOOL, proxy_v2),
};
#undef R

#define V(...) KEY(struct xlb_vip_cfg, __VA_ARGS__)
static const struct key vip_keys[] = {
	V("service", K_SERVICE, svc, .flags = F_REQUIRED, .hint = "service = \"ADDR:PORT/tcp\";"),
	V("ring_size", K_INT, ring_size, .min = 1021, .max = XLB_RING_SIZE_MAX),
	V("mss", K_INT, mss, .min = 0, .max = 9000),
	V("hash", K_ENUM, hash_src_only, .choices = hashes),
	V("probe", K_PROBE, probe),
	V("backends", K_BACKENDS, backends),
};
#undef V

#define B(...) KEY(struct xlb_backend_cfg, __VA_ARGS__)
static const struct key backend_keys[] = {
	B("address", K_IP, addr, .flags = F_REQUIRED | F_UNICAST, .hint = "address = \"ADDR\";"),
	B("weight", K_INT, weight, .min = 1, .max = 1000,
	  .hint = "give a weight from 1 to 1000, or drain the backend"),
	B("drain", K_BOOL, drain),
	B("disabled", K_BOOL, disabled),
	B("probe", K_PROBE, probe, .flags = F_INHERITS),
};
#undef B

/* Names only: the sections are read by read_root(). */
static const struct key root_keys[] = {
	KEY(struct xlb_conf, "daemon", K_PROBE, daemon),
	KEY(struct xlb_conf, "dataplane", K_PROBE, dataplane),
	KEY(struct xlb_conf, "vips", K_BACKENDS, vips),
};

static const struct group g_daemon = GROUP("daemon", daemon_keys);
static const struct group g_dataplane = GROUP("dataplane", dataplane_keys);
static const struct group g_probe = GROUP("probe", probe_keys);
static const struct group g_vip = GROUP("a VIP", vip_keys);
static const struct group g_backend = GROUP("a backend", backend_keys);
static const struct group g_root = GROUP("the file", root_keys);
static const struct group g_root_runtime = { "the file", root_keys + 1, 2 };

_Static_assert(sizeof(probe_keys) / sizeof(probe_keys[0]) <= 32, "probe keys fit set");

#define FIELD(base, k)		((char *)(base) + (k)->off)
#define CFIELD(base, k)		((const char *)(base) + (k)->off)
#define FIELD2(base, k)		((char *)(base) + (k)->off2)
#define CFIELD2(base, k)	((const char *)(base) + (k)->off2)

/* ---- messages ------------------------------------------------------------ */

struct ctx {
	const char *file;
	const config_setting_t *root;	/* for line numbers; NULL: none */
	struct xlb_conf_error *err;
	enum xlb_conf_part part;
	const char *last_name;		/* prescan: the key being read */
	size_t last_name_len;
};

/* The line of PATH ("vips[0].backends[2].weight") in the parsed tree, or
 * of its nearest ancestor that is there (a missing key: its group). */
static int line_at(const struct ctx *x, const char *path)
{
	const config_setting_t *s = x->root;
	int line = 0;

	while (s && *path) {
		size_t n = strcspn(path, ".[");

		if (n) {
			char name[XLB_NAME_MAX];

			if (n >= sizeof(name) || !config_setting_is_group(s))
				break;
			memcpy(name, path, n);
			name[n] = '\0';
			s = config_setting_get_member(s, name);
			path += n;
		} else if (*path == '[') {
			char *end;
			unsigned long i = strtoul(path + 1, &end, 10);

			if (*end != ']' || !config_setting_is_aggregate(s))
				break;
			s = config_setting_get_elem(s, (unsigned int)i);
			path = end + 1;
		} else {
			path++;
			continue;
		}
		if (s && config_setting_source_line(s))
			line = (int)config_setting_source_line(s);
	}
	return line;
}

static int vfail_line(struct ctx *x, int line, const char *key, const char *fmt, va_list ap)
{
	struct xlb_conf_error *e = x->err;

	snprintf(e->file, sizeof(e->file), "%s", x->file ? x->file : "");
	e->line = line;
	snprintf(e->key, sizeof(e->key), "%s", key ? key : "");
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return -EINVAL;
}

__attribute__((format(printf, 4, 5)))
static int fail_line(struct ctx *x, int line, const char *key, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail_line(x, line, key, fmt, ap);
	va_end(ap);
	return ret;
}

/* An error about KEY (a path), at its line. */
__attribute__((format(printf, 3, 4)))
static int fail(struct ctx *x, const char *key, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail_line(x, line_at(x, key), key, fmt, ap);
	va_end(ap);
	return ret;
}

const char *xlb_conf_error_str(const struct xlb_conf_error *e, char *buf, size_t len)
{
	char where[sizeof(e->file) + 16] = "";

	if (e->file[0] && e->line > 0)
		snprintf(where, sizeof(where), "%s:%d: ", e->file, e->line);
	else if (e->file[0])
		snprintf(where, sizeof(where), "%s: ", e->file);
	snprintf(buf, len, "%s%s%s%s", where, e->key, e->key[0] ? ": " : "", e->msg);
	return buf;
}

/* A key path into BUF; too long ones are cut (vsnprintf: no truncation
 * warnings for what cannot be long in practice). */
__attribute__((format(printf, 3, 4)))
static const char *pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

/* "PATH.NAME" into BUF. */
static const char *join(char *buf, size_t len, const char *path, const char *name)
{
	return pathf(buf, len, "%s%s%s", path, path[0] ? "." : "", name);
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:  return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:  return "an integer";
	case CONFIG_TYPE_FLOAT:  return "a number with a decimal point";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL:   return "true or false";
	case CONFIG_TYPE_ARRAY:  return "an array [ ... ]";
	case CONFIG_TYPE_LIST:   return "a list ( ... )";
	}
	return "nothing";
}

static int fail_type(struct ctx *x, const char *path, const config_setting_t *s,
		     const char *want)
{
	int got = config_setting_type(s);
	const char *fix = "";

	if (got == CONFIG_TYPE_STRING && (!strcmp(want, "an integer") ||
					  !strcmp(want, "a number") ||
					  !strcmp(want, "true or false")))
		fix = "; drop the quotes";
	else if (!strcmp(want, "a string") && config_setting_is_scalar(s))
		fix = "; put the value in quotes";
	else if (!strcmp(want, "an integer") && got == CONFIG_TYPE_FLOAT)
		fix = "; give a whole number";
	return fail(x, path, "expected %s, got %s%s", want, type_name(got), fix);
}

/* Edit distance, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[XLB_NAME_MAX + 1];

	if (la > XLB_NAME_MAX || lb > XLB_NAME_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static int fail_unknown(struct ctx *x, const char *path, const char *name,
			const struct group *g)
{
	char list[256] = "", guess[XLB_NAME_MAX + 32] = "";
	size_t best = MAX_SUGGEST_DIST + 1, used = 0;

	for (size_t i = 0; i < g->n; i++) {
		size_t d = distance(name, g->keys[i].name);

		if (d < best && d < strlen(name)) {
			best = d;
			snprintf(guess, sizeof(guess), "did you mean '%s'? ", g->keys[i].name);
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
					 i ? ", " : "", g->keys[i].name);
		if (used >= sizeof(list))
			break;
	}
	return fail(x, path, "unknown key; %svalid keys in %s: %s", guess, g->what, list);
}

static const char *choice_list(const struct choice *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; c[i].name && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s\"%s\"",
					 i ? ", " : "", c[i].name);
	return buf;
}

static const struct choice *choice_by_value(const struct choice *c, int v)
{
	for (; c->name; c++)
		if (c->value == v)
			return c;
	return NULL;
}

const char *xlb_probe_type_name(enum xlb_probe_type t)
{
	const struct choice *c = choice_by_value(probe_types, (int)t);

	return c ? c->name : NULL;
}

/* ---- field access -------------------------------------------------------- */

static uint64_t get_uint(const void *p, size_t size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const uint16_t *)p;
	case 4: return *(const uint32_t *)p;
	}
	return *(const uint64_t *)p;
}

static void put_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: *(uint16_t *)p = (uint16_t)v; break;
	case 4: *(uint32_t *)p = (uint32_t)v; break;
	default: *(uint64_t *)p = v; break;
	}
}

/* An enum or bool field of SIZE bytes (enums are int-sized). */
static int get_choice(const void *p, size_t size)
{
	return size == sizeof(int) ? *(const int *)p : (int)get_uint(p, size);
}

static void put_choice(void *p, size_t size, int v)
{
	if (size == sizeof(int))
		*(int *)p = v;
	else
		put_uint(p, size, (uint64_t)v);
}

/* A string field holds a NUL within its size. */
static bool str_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* ---- checking one value -------------------------------------------------- */

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool dns_name_ok(const char *s)
{
	size_t label = 0;

	if (!*s)
		return true;
	for (const char *p = s; ; p++) {
		if (*p == '.' || !*p) {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (!*p)
				return true;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return false;
		if (label == 0 && *p == '-')
			return false;
		label++;
	}
}

/* Linux's dev_valid_name(). */
static bool ifname_ok(const char *s)
{
	size_t n = strnlen(s, IF_NAMESIZE);

	if (n == 0 || n >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) ||
		    (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool ip_unicast(const struct xlb_ip *ip)
{
	static const uint8_t zero[16];

	if (ip->family == XLB_FAMILY_V4)
		return memcmp(ip->a, zero, 4) && ip->a[0] < 224;	/* not 0, multicast, 255 */
	return memcmp(ip->a, zero, 16) && ip->a[0] != 0xff;
}

static const char *family_name(uint8_t family)
{
	return family == XLB_FAMILY_V4 ? "IPv4" : "IPv6";
}

static bool host_bits_zero(const struct xlb_ip *ip, unsigned len)
{
	unsigned bits = ip->family == XLB_FAMILY_V4 ? 32 : 128;

	for (unsigned b = len; b < bits; b++)
		if (ip->a[b / 8] & (0x80 >> (b % 8)))
			return false;
	return true;
}

static int check_range(struct ctx *x, const struct key *k, const char *path, int64_t v)
{
	if (v >= k->min && v <= k->max)
		return 0;
	return fail(x, path, "%lld is out of range (%lld..%lld)%s%s", (long long)v,
		    (long long)k->min, (long long)k->max, k->hint ? "; " : "",
		    k->hint ? k->hint : "");
}

static void fmt_seconds(char *buf, size_t len, uint32_t ms)
{
	unsigned frac = ms % MS_PER_S;
	int digits = 3;

	while (digits > 1 && frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, len, "%u.%0*u", ms / MS_PER_S, digits, frac);
}

/* The rules of one key on its value in BASE, as docs/config.md's table. */
static int check_key(struct ctx *x, const struct key *k, const void *base, const char *path)
{
	const char *f = CFIELD(base, k);
	char a[INET6_ADDRSTRLEN], list[128];

	switch (k->kind) {
	case K_INT:
		return check_range(x, k, path, (int64_t)get_uint(f, k->size));
	case K_SECONDS: {
		uint32_t ms = *(const uint32_t *)f;
		char s[32];

		if (ms >= k->min && ms <= k->max)
			return 0;
		fmt_seconds(s, sizeof(s), ms);
		return fail(x, path, "%s s is out of range (0.1..3600 seconds)", s);
	}
	case K_BOOL:
		return 0;
	case K_ENUM:
		if (choice_by_value(k->choices, get_choice(f, k->size)))
			return 0;
		return fail(x, path, "unknown value %d; use one of %s", get_choice(f, k->size),
			    choice_list(k->choices, list, sizeof(list)));
	case K_PATH:
		if (!str_ok(f, k->size))
			return fail(x, path, "longer than %u characters", k->size - 1);
		if (!f[0] && (k->flags & F_EMPTY_OK))
			return 0;
		if (f[0] != '/' || has_ctl(f))
			return fail(x, path, "\"%s\" is not an absolute path; give one starting "
				    "with '/'", f);
		return 0;
	case K_HOST:
		if (!str_ok(f, k->size) || !dns_name_ok(f))
			return fail(x, path, "\"%.*s\" is not a DNS name (letters, digits, '-' and "
				    "'.', at most %u characters); give one, or \"\" for the "
				    "address", k->size - 1, f, k->size - 1);
		return 0;
	case K_HTTP_PATH:
		if (!str_ok(f, k->size))
			return fail(x, path, "longer than %u characters", k->size - 1);
		for (const char *p = f; *p; p++)
			if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
				return fail(x, path, "\"%s\" has a space or control character; "
					    "percent-encode it", f);
		if (f[0] != '/')
			return fail(x, path, "\"%s\" does not start with '/'", f);
		return 0;
	case K_HOSTPORT: {
		struct xlb_ip ip;
		uint16_t port;

		if (!str_ok(f, k->size))
			return fail(x, path, "longer than %u characters", k->size - 1);
		if (f[0] && xlb_hostport_parse(f, strlen(f), &ip, &port))
			return fail(x, path, "\"%s\" is not ADDR:PORT; write e.g. "
				    "\"127.0.0.1:9642\" or \"[::1]:9642\", or \"\" for off", f);
		return 0;
	}
	case K_IP: {
		const struct xlb_ip *ip = (const void *)f;

		if (!ip->family)
			return 0;	/* missing required keys are found on reading */
		if (ip->family != XLB_FAMILY_V4 && ip->family != XLB_FAMILY_V6)
			return fail(x, path, "unknown address family %u", ip->family);
		xlb_ip_str(ip, a, sizeof(a));
		if (k->family && ip->family != k->family)
			return fail(x, path, "%s is an %s address; %s takes an %s address", a,
				    family_name(ip->family), k->name, family_name(k->family));
		if ((k->flags & F_UNICAST) && !ip_unicast(ip))
			return fail(x, path, "%s is not a unicast address", a);
		return 0;
	}
	case K_PREFIX: {
		const struct xlb_ip *ip = (const void *)f;
		unsigned len = *(const uint8_t *)CFIELD2(base, k);

		if (!ip->family)
			return 0;
		xlb_ip_str(ip, a, sizeof(a));
		if (ip->family != k->family)
			return fail(x, path, "%s is an %s prefix; %s takes an %s prefix", a,
				    family_name(ip->family), k->name, family_name(k->family));
		if (len < k->min || len > k->max)
			return fail(x, path, "prefix length %u is out of range (%lld..%lld)", len,
				    (long long)k->min, (long long)k->max);
		if (!host_bits_zero(ip, len)) {
			struct xlb_ip net = *ip;

			for (unsigned b = len; b < 128; b++)
				net.a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
			return fail(x, path, "%s/%u has host bits set; did you mean %s/%u?", a,
				    len, xlb_ip_str(&net, list, sizeof(list)), len);
		}
		return 0;
	}
	case K_GATEWAY: {
		const uint8_t *mac = (const uint8_t *)CFIELD2(base, k);
		static const uint8_t zero[MAC_LEN];

		if (*(const bool *)f)
			return 0;
		if (mac[0] & 1 || !memcmp(mac, zero, MAC_LEN))
			return fail(x, path, "%02x:%02x:%02x:%02x:%02x:%02x is not a unicast MAC "
				    "address; give the next hop's, or \"auto\"",
				    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return 0;
	}
	case K_IFACES: {
		const char (*ifs)[IF_NAMESIZE] = (const void *)f;
		size_t n = *(const size_t *)CFIELD2(base, k);

		if (n == 0)
			return fail(x, path, "empty; name the interfaces XDP runs on, e.g. "
				    "[ \"eth0\" ]");
		if (n > XLB_MAX_INTERFACES)
			return fail(x, path, "%zu interfaces; at most %d", n, XLB_MAX_INTERFACES);
		for (size_t i = 0; i < n; i++) {
			char ip[sizeof(x->err->key)];

			pathf(ip, sizeof(ip), "%s[%zu]", path, i);
			if (!str_ok(ifs[i], IF_NAMESIZE) || !ifname_ok(ifs[i]))
				return fail(x, ip, "\"%.*s\" is not an interface name (1..%d "
					    "characters, no '/', ':' or spaces)", IF_NAMESIZE - 1,
					    ifs[i], IF_NAMESIZE - 1);
			for (size_t j = 0; j < i; j++)
				if (!strcmp(ifs[i], ifs[j]))
					return fail(x, ip, "\"%s\" is listed twice; remove one",
						    ifs[i]);
		}
		return 0;
	}
	case K_SERVICE: {
		const struct xlb_service *svc = (const void *)f;

		if (!svc->addr.family)
			return 0;
		xlb_service_str(svc, list, sizeof(list));
		if ((svc->addr.family != XLB_FAMILY_V4 && svc->addr.family != XLB_FAMILY_V6) ||
		    !svc->port || (svc->proto != IPPROTO_TCP && svc->proto != IPPROTO_UDP))
			return fail(x, path, "%s is not a service; write ADDR:PORT/tcp or "
				    "ADDR:PORT/udp", list);
		if (!ip_unicast(&svc->addr))
			return fail(x, path, "%s: the address is not a unicast address", list);
		return 0;
	}
	case K_PROBE:
	case K_BACKENDS:
		break;
	}
	return 0;
}

/* Every key of group G in BASE; with MASK (inheriting probes) only those. */
static int check_group(struct ctx *x, const struct group *g, const void *base,
		       const char *path, const uint32_t *mask)
{
	char kp[sizeof(x->err->key)];

	for (size_t i = 0; i < g->n; i++) {
		const struct key *k = &g->keys[i];
		int ret;

		if (mask && !(*mask & k->bit))
			continue;
		ret = check_key(x, k, base, join(kp, sizeof(kp), path, k->name));
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------- */

static int get_int(struct ctx *x, const config_setting_t *s, const char *path, int64_t *v)
{
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		*v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		*v = config_setting_get_int64(s);
	else
		return fail_type(x, path, s, "an integer");
	return 0;
}

static int get_string(struct ctx *x, const config_setting_t *s, const char *path,
		      const char **v)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_type(x, path, s, "a string");
	*v = config_setting_get_string(s);
	return 0;
}

static int copy_string(struct ctx *x, const char *path, char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return fail(x, path, "\"%.40s...\" is longer than %zu characters", v, size - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int parse_mac(const char *s, uint8_t *mac)
{
	for (int i = 0; i < MAC_LEN; i++, s += 3) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    s[2] != (i == MAC_LEN - 1 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = (uint8_t)strtoul((char[]){ s[0], s[1], '\0' }, NULL, 16);
	}
	return 0;
}

/* "ADDR/LEN" */
static int parse_prefix(const char *s, struct xlb_ip *ip, uint8_t *len)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned long n;
	char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(addr) || !isdigit((unsigned char)slash[1]))
		return -EINVAL;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (*end || errno || n > 128 || xlb_ip_parse(addr, ip))
		return -EINVAL;
	*len = (uint8_t)n;
	return 0;
}

static int read_probe(struct ctx *x, const config_setting_t *s, struct xlb_probe_cfg *p,
		      const char *path);
static int read_backends(struct ctx *x, const config_setting_t *s, struct xlb_vip_cfg *v,
			 const char *path);

static int read_key(struct ctx *x, const struct key *k, const config_setting_t *s,
		    void *base, const char *path)
{
	char *f = FIELD(base, k), list[128];
	const char *str = NULL;
	int64_t v = 0;
	int ret = 0;

	switch (k->kind) {
	case K_INT:
		ret = get_int(x, s, path, &v);
		if (!ret)
			ret = check_range(x, k, path, v);
		if (!ret)
			put_uint(f, k->size, (uint64_t)v);
		return ret;
	case K_SECONDS: {
		double d;

		if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
			d = config_setting_get_float(s);
		else if (config_setting_is_number(s))
			d = (double)config_setting_get_int64(s);
		else
			return fail_type(x, path, s, "a number");
		/* to the millisecond, rounding half up (no libm for llround) */
		if (!isfinite(d) || d < 0 || d * MS_PER_S + 0.5 >= k->max + 1 ||
		    (int64_t)(d * MS_PER_S + 0.5) < k->min)
			return fail(x, path, "%g s is out of range (0.1..3600 seconds)", d);
		*(uint32_t *)f = (uint32_t)(d * MS_PER_S + 0.5);
		return 0;
	}
	case K_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail_type(x, path, s, "true or false");
		*(bool *)f = config_setting_get_bool(s);
		return 0;
	case K_ENUM:
		ret = get_string(x, s, path, &str);
		if (ret)
			return ret;
		for (const struct choice *c = k->choices; c->name; c++)
			if (!strcmp(c->name, str)) {
				put_choice(f, k->size, c->value);
				return 0;
			}
		return fail(x, path, "\"%s\" is not one of %s", str,
			    choice_list(k->choices, list, sizeof(list)));
	case K_PATH:
	case K_HOST:
	case K_HTTP_PATH:
	case K_HOSTPORT:
		ret = get_string(x, s, path, &str);
		if (!ret)
			ret = copy_string(x, path, f, k->size, str);
		return ret;
	case K_IP:
		ret = get_string(x, s, path, &str);
		if (ret)
			return ret;
		if (!str[0] && !(k->flags & F_REQUIRED)) {
			memset(f, 0, sizeof(struct xlb_ip));
			return 0;
		}
		if (xlb_ip_parse(str, (struct xlb_ip *)f))
			return fail(x, path, "\"%s\" is not an %s address", str,
				    k->family ? family_name(k->family) : "IPv4 or IPv6");
		return 0;
	case K_PREFIX:
		ret = get_string(x, s, path, &str);
		if (ret)
			return ret;
		if (!str[0]) {
			memset(f, 0, sizeof(struct xlb_ip));
			*(uint8_t *)FIELD2(base, k) = 0;
			return 0;
		}
		if (parse_prefix(str, (struct xlb_ip *)f, (uint8_t *)FIELD2(base, k)))
			return fail(x, path, "\"%s\" is not ADDR/LEN; write e.g. \"%s\"", str,
				    k->family == XLB_FAMILY_V4 ? "198.19.128.0/24" :
				    "2001:db8:ff::/64");
		return 0;
	case K_GATEWAY:
		ret = get_string(x, s, path, &str);
		if (ret)
			return ret;
		*(bool *)f = !strcmp(str, "auto");
		memset(FIELD2(base, k), 0, MAC_LEN);
		if (!*(bool *)f && parse_mac(str, (uint8_t *)FIELD2(base, k)))
			return fail(x, path, "\"%s\" is neither \"auto\" nor a MAC address "
				    "(xx:xx:xx:xx:xx:xx)", str);
		return 0;
	case K_IFACES: {
		char (*ifs)[IF_NAMESIZE] = (void *)f;
		size_t *n = (size_t *)FIELD2(base, k);
		int len;

		if (!config_setting_is_array(s) && !config_setting_is_list(s))
			return fail_type(x, path, s, "an array of names, e.g. [ \"eth0\" ]");
		len = config_setting_length(s);
		if (len > XLB_MAX_INTERFACES)
			return fail(x, path, "%d interfaces; at most %d", len, XLB_MAX_INTERFACES);
		for (int i = 0; i < len; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
			char ep[sizeof(x->err->key)];

			pathf(ep, sizeof(ep), "%s[%d]", path, i);
			ret = get_string(x, e, ep, &str);
			if (!ret)
				ret = copy_string(x, ep, ifs[i], IF_NAMESIZE, str);
			if (ret)
				return ret;
		}
		*n = (size_t)len;
		return 0;
	}
	case K_SERVICE:
		ret = get_string(x, s, path, &str);
		if (ret)
			return ret;
		if (xlb_service_parse(str, (struct xlb_service *)f))
			return fail(x, path, "\"%s\" is not a service; write ADDR:PORT/tcp or "
				    "ADDR:PORT/udp, IPv6 as [ADDR]:PORT/tcp, port 1..65535", str);
		return 0;
	case K_PROBE:
		ret = read_probe(x, s, (struct xlb_probe_cfg *)f, path);
		if (!(k->flags & F_INHERITS))
			((struct xlb_probe_cfg *)f)->set = 0;
		return ret;
	case K_BACKENDS:
		return read_backends(x, s, base, path);
	}
	return 0;
}

/* The members of group S into BASE: known keys only, each once, required
 * ones present. *SEEN gets bit i for keys[i]. */
static int read_group(struct ctx *x, const config_setting_t *s, const struct group *g,
		      void *base, const char *path, uint32_t *seen)
{
	char kp[sizeof(x->err->key)];
	int n, ret;

	*seen = 0;
	if (!config_setting_is_group(s))
		return fail_type(x, path, s, "a group { ... }");
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned int)i);
		const char *name = config_setting_name(m);
		size_t j;

		join(kp, sizeof(kp), path, name);
		for (j = 0; j < g->n && strcmp(g->keys[j].name, name); j++)
			;
		if (j == g->n)
			return fail_unknown(x, kp, name, g);
		*seen |= 1u << j;
		ret = read_key(x, &g->keys[j], m, base, kp);
		if (!ret)
			ret = check_key(x, &g->keys[j], base, kp);
		if (ret)
			return ret;
	}
	for (size_t j = 0; j < g->n; j++)
		if ((g->keys[j].flags & F_REQUIRED) && !(*seen & (1u << j)))
			return fail(x, join(kp, sizeof(kp), path, g->keys[j].name),
				    "missing; %s needs %s", g->what, g->keys[j].hint);
	return 0;
}

static int read_probe(struct ctx *x, const config_setting_t *s, struct xlb_probe_cfg *p,
		      const char *path)
{
	uint32_t seen;
	int ret = read_group(x, s, &g_probe, p, path, &seen);

	p->set = 0;
	for (size_t i = 0; i < g_probe.n; i++)
		if (seen & (1u << i))
			p->set |= probe_keys[i].bit;
	return ret;
}

/* A list ( { ... }, ... ), or an empty one of any kind. */
static int get_list(struct ctx *x, const config_setting_t *s, const char *path,
		    const char *what, int *n)
{
	if (!config_setting_is_list(s) &&
	    !(config_setting_is_array(s) && config_setting_length(s) == 0))
		return fail(x, path, "expected a list ( { ... }, { ... } ) of %s, got %s", what,
			    type_name(config_setting_type(s)));
	*n = config_setting_length(s);
	return 0;
}

static int read_backends(struct ctx *x, const config_setting_t *s, struct xlb_vip_cfg *v,
			 const char *path)
{
	char ep[sizeof(x->err->key)];
	uint32_t seen;
	int n, ret = get_list(x, s, path, "backends", &n);

	if (ret)
		return ret;
	free(v->backends);
	v->backends = NULL;
	v->n_backends = 0;
	if (n > XLB_MAX_BACKENDS)
		return fail(x, path, "%d backends; at most %d in all", n, XLB_MAX_BACKENDS);
	if (!n)
		return 0;
	v->backends = calloc((size_t)n, sizeof(*v->backends));
	if (!v->backends)
		return fail(x, path, "out of memory");
	for (int i = 0; i < n; i++) {
		struct xlb_backend_cfg *b = &v->backends[i];

		xlb_backend_init(b);
		v->n_backends = (size_t)i + 1;
		pathf(ep, sizeof(ep), "%s[%d]", path, i);
		ret = read_group(x, config_setting_get_elem(s, (unsigned int)i), &g_backend, b,
				 ep, &seen);
		if (ret)
			return ret;
	}
	return 0;
}

static int read_vips(struct ctx *x, const config_setting_t *s, struct xlb_conf *c)
{
	char ep[sizeof(x->err->key)];
	uint32_t seen;
	int n, ret = get_list(x, s, "vips", "VIPs", &n);

	if (ret)
		return ret;
	if (n > XLB_MAX_VIPS)
		return fail(x, "vips", "%d VIPs; at most %d", n, XLB_MAX_VIPS);
	if (!n)
		return 0;
	c->vips = calloc((size_t)n, sizeof(*c->vips));
	if (!c->vips)
		return fail(x, "vips", "out of memory");
	for (int i = 0; i < n; i++) {
		struct xlb_vip_cfg *v = &c->vips[i];

		xlb_vip_init(v);
		c->n_vips = (size_t)i + 1;
		snprintf(ep, sizeof(ep), "vips[%d]", i);
		ret = read_group(x, config_setting_get_elem(s, (unsigned int)i), &g_vip, v, ep,
				 &seen);
		if (ret)
			return ret;
	}
	return 0;
}

static int read_root(struct ctx *x, const config_setting_t *root, struct xlb_conf *c)
{
	bool have_daemon = false;
	uint32_t seen;
	int n = config_setting_length(root), ret = 0;

	for (int i = 0; i < n && !ret; i++) {
		const config_setting_t *m = config_setting_get_elem(root, (unsigned int)i);
		const char *name = config_setting_name(m);

		if (!strcmp(name, "daemon")) {
			if (x->part == XLB_CONF_RUNTIME)
				return fail(x, name, "not allowed here; this document holds only "
					    "dataplane and vips (the daemon section belongs in "
					    "the config file)");
			have_daemon = true;
			ret = read_group(x, m, &g_daemon, &c->daemon, name, &seen);
		} else if (!strcmp(name, "dataplane")) {
			ret = read_group(x, m, &g_dataplane, &c->dataplane, name, &seen);
		} else if (!strcmp(name, "vips")) {
			ret = read_vips(x, m, c);
		} else {
			return fail_unknown(x, name, name, x->part == XLB_CONF_RUNTIME ?
					    &g_root_runtime : &g_root);
		}
	}
	if (!ret && x->part == XLB_CONF_FULL && !have_daemon)
		ret = fail(x, "daemon", "missing; a config file needs at least "
			   "daemon = { interfaces = [ \"eth0\" ]; };");
	return ret;
}

/* ---- rules across keys ----------------------------------------------------- */

typedef int (*cmp_fn)(const void *a, const void *b);

static int cmp_service(const void *a, const void *b)
{
	const struct xlb_service *x = a, *y = b;
	int r = xlb_ip_cmp(&x->addr, &y->addr);

	if (r)
		return r;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

static int cmp_ip(const void *a, const void *b)
{
	return xlb_ip_cmp(a, b);
}

struct sort_ctx {
	const char *base;
	size_t stride;
	cmp_fn cmp;
};

static int cmp_index(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *s = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int r = s->cmp(s->base + i * s->stride, s->base + j * s->stride);

	return r ? r : (i < j ? -1 : i > j);
}

/* Indices 0..n-1 of the N items at BASE (STRIDE apart) ordered by CMP, ties
 * by index. NULL on ENOMEM (n > 0). */
static size_t *sorted_index(const void *base, size_t n, size_t stride, cmp_fn cmp)
{
	struct sort_ctx s = { base, stride, cmp };
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_index, &s);
	return idx;
}

/* The first pair (in document order of the second) of items equal by CMP:
 * 0 with *FIRST < *SECOND, -ENOENT if none, -ENOMEM. */
static int find_duplicate(const void *base, size_t n, size_t stride, cmp_fn cmp,
			  size_t *first, size_t *second)
{
	size_t *idx = sorted_index(base, n, stride, cmp);
	const char *b = base;
	bool found = false;

	*first = *second = 0;
	if (!idx)
		return -ENOMEM;
	for (size_t i = 1; i < n; i++) {
		size_t p = idx[i - 1], q = idx[i];

		if (cmp(b + p * stride, b + q * stride))
			continue;
		/* equal runs are in index order, so p < q */
		if (!found || q < *second) {
			*first = p;
			*second = q;
			found = true;
		}
	}
	free(idx);
	return found ? 0 : -ENOENT;
}

/* Timeout at most the interval, for the probe P at PATH. */
static int check_probe_times(struct ctx *x, const struct xlb_probe_cfg *p, const char *path,
			     bool inherited)
{
	char kp[sizeof(x->err->key)], t[16], i[16];

	if (p->timeout_ms <= p->interval_ms)
		return 0;
	fmt_seconds(t, sizeof(t), p->timeout_ms);
	fmt_seconds(i, sizeof(i), p->interval_ms);
	return fail(x, join(kp, sizeof(kp), path, "timeout"), "%s s is longer than the "
		    "interval (%s s%s); make the timeout at most the interval", t, i,
		    inherited ? ", with the VIP's probe" : "");
}

static int validate_backend(struct ctx *x, const struct xlb_conf *c,
			    const struct xlb_vip_cfg *v, const struct xlb_backend_cfg *b,
			    const char *path)
{
	const struct xlb_dataplane_cfg *dp = &c->dataplane;
	char kp[sizeof(x->err->key)], a[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN];
	struct xlb_probe_cfg eff;
	int ret;

	ret = check_group(x, &g_backend, b, path, NULL);
	if (!ret)
		ret = check_group(x, &g_probe, &b->probe, join(kp, sizeof(kp), path, "probe"),
				  &b->probe.set);
	if (ret)
		return ret;
	if (!b->addr.family)
		return fail(x, join(kp, sizeof(kp), path, "address"), "missing; %s needs %s",
			    g_backend.what, backend_keys[0].hint);
	xlb_ip_str(&b->addr, a, sizeof(a));
	if (!xlb_dataplane_has_source(dp, b->addr.family))
		return fail(x, join(kp, sizeof(kp), path, "address"), "%s is %s but the "
			    "dataplane has no %s outer source; set dataplane.source_%s (or "
			    "source_prefix_%s)", a, family_name(b->addr.family),
			    family_name(b->addr.family),
			    b->addr.family == XLB_FAMILY_V4 ? "v4" : "v6",
			    b->addr.family == XLB_FAMILY_V4 ? "v4" : "v6");
	xlb_probe_effective(v, b, &eff);
	if (b->probe.set & (XLB_PROBE_K_TIMEOUT | XLB_PROBE_K_INTERVAL)) {
		ret = check_probe_times(x, &eff, join(kp, sizeof(kp), path, "probe"),
					(b->probe.set & (XLB_PROBE_K_TIMEOUT | XLB_PROBE_K_INTERVAL)) !=
					(XLB_PROBE_K_TIMEOUT | XLB_PROBE_K_INTERVAL));
		if (ret)
			return ret;
	}
	if (eff.source.family && eff.source.family != b->addr.family)
		return fail(x, join(kp, sizeof(kp), path, (b->probe.set & XLB_PROBE_K_SOURCE) ?
				    "probe.source" : "address"),
			    "the probe source %s is %s but the backend %s is %s; give the "
			    "backend its own probe = { source = \"...\"; }",
			    xlb_ip_str(&eff.source, s, sizeof(s)), family_name(eff.source.family),
			    a, family_name(b->addr.family));
	return 0;
}

static uint32_t prime_below(uint32_t m)
{
	while (m > 2 && !xlb_is_prime(m))
		m--;
	return m;
}

static uint32_t prime_above(uint32_t m)
{
	while (m < UINT32_MAX && !xlb_is_prime(m))
		m++;
	return m;
}

static int validate_vip(struct ctx *x, const struct xlb_conf *c, size_t vi)
{
	const struct xlb_vip_cfg *v = &c->vips[vi];
	char path[32], kp[sizeof(x->err->key)], a[INET6_ADDRSTRLEN], where[32] = "";
	size_t first, second;
	int ret;

	snprintf(path, sizeof(path), "vips[%zu]", vi);
	ret = check_group(x, &g_vip, v, path, NULL);
	if (!ret)
		ret = check_group(x, &g_probe, &v->probe, join(kp, sizeof(kp), path, "probe"),
				  NULL);
	if (ret)
		return ret;
	if (!v->svc.addr.family)
		return fail(x, join(kp, sizeof(kp), path, "service"), "missing; %s needs %s",
			    g_vip.what, vip_keys[0].hint);
	if (!xlb_is_prime(v->ring_size)) {
		uint32_t lo = prime_below(v->ring_size), hi = prime_above(v->ring_size);

		if (lo < 1021)
			return fail(x, join(kp, sizeof(kp), path, "ring_size"), "%u is not a "
				    "prime; use %u", v->ring_size, hi);
		if (hi > XLB_RING_SIZE_MAX)
			return fail(x, join(kp, sizeof(kp), path, "ring_size"), "%u is not a "
				    "prime; use %u", v->ring_size, lo);
		return fail(x, join(kp, sizeof(kp), path, "ring_size"), "%u is not a prime; "
			    "use %u or %u", v->ring_size, lo, hi);
	}
	if (v->n_backends > v->ring_size)
		return fail(x, join(kp, sizeof(kp), path, "ring_size"), "%u slots for %zu "
			    "backends; give a prime of at least %zu (%u recommended)",
			    v->ring_size, v->n_backends, v->n_backends,
			    prime_above((uint32_t)v->n_backends * RING_SLOTS_PER_BACKEND));
	if (v->mss && v->mss < 536)
		return fail(x, join(kp, sizeof(kp), path, "mss"), "%u is out of range; use 0 "
			    "(from the MTU) or 536..9000", v->mss);
	ret = check_probe_times(x, &v->probe, join(kp, sizeof(kp), path, "probe"), false);
	if (ret)
		return ret;
	for (size_t i = 0; i < v->n_backends; i++) {
		pathf(kp, sizeof(kp), "%s.backends[%zu]", path, i);
		ret = validate_backend(x, c, v, &v->backends[i], kp);
		if (ret)
			return ret;
	}
	if (v->n_backends < 2)
		return 0;
	ret = find_duplicate(v->backends, v->n_backends, sizeof(*v->backends), cmp_ip,
			     &first, &second);
	if (ret == -ENOMEM)
		return fail(x, path, "out of memory");
	if (ret)
		return 0;
	pathf(kp, sizeof(kp), "%s.backends[%zu]", path, first);
	if (x->root)
		snprintf(where, sizeof(where), ", line %d", line_at(x, kp));
	pathf(kp, sizeof(kp), "%s.backends[%zu].address", path, second);
	return fail(x, kp, "%s is listed twice in this VIP (also backends[%zu]%s); remove "
		    "one", xlb_ip_str(&v->backends[second].addr, a, sizeof(a)), first, where);
}

static int validate(struct ctx *x, const struct xlb_conf *c)
{
	char kp[sizeof(x->err->key)], s[XLB_SERVICE_STRLEN], where[32] = "";
	size_t total = 0, first, second;
	int ret;

	if (x->part == XLB_CONF_FULL) {
		ret = check_group(x, &g_daemon, &c->daemon, "daemon", NULL);
		if (ret)
			return ret;
	}
	ret = check_group(x, &g_dataplane, &c->dataplane, "dataplane", NULL);
	if (ret)
		return ret;
	if (c->n_vips > XLB_MAX_VIPS)
		return fail(x, "vips", "%zu VIPs; at most %d", c->n_vips, XLB_MAX_VIPS);
	for (size_t i = 0; i < c->n_vips; i++) {
		total += c->vips[i].n_backends;
		if (total > XLB_MAX_BACKENDS) {
			snprintf(kp, sizeof(kp), "vips[%zu].backends", i);
			return fail(x, kp, "%zu backends in all so far; at most %d (VIP, "
				    "backend) pairs", total, XLB_MAX_BACKENDS);
		}
		ret = validate_vip(x, c, i);
		if (ret)
			return ret;
	}
	if (c->n_vips < 2)
		return 0;
	ret = find_duplicate(&c->vips->svc, c->n_vips, sizeof(*c->vips), cmp_service,
			     &first, &second);
	if (ret == -ENOMEM)
		return fail(x, "vips", "out of memory");
	if (ret)
		return 0;
	snprintf(kp, sizeof(kp), "vips[%zu]", first);
	if (x->root)
		snprintf(where, sizeof(where), ", line %d", line_at(x, kp));
	snprintf(kp, sizeof(kp), "vips[%zu].service", second);
	return fail(x, kp, "%s is already a VIP (vips[%zu]%s); merge the two or remove one",
		    xlb_service_str(&c->vips[second].svc, s, sizeof(s)), first, where);
}

int xlb_conf_validate(const struct xlb_conf *c, enum xlb_conf_part part,
		      struct xlb_conf_error *err)
{
	struct xlb_conf_error dummy;
	struct ctx x = { .file = "", .err = err ? err : &dummy, .part = part };

	memset(x.err, 0, sizeof(*x.err));
	return validate(&x, c);
}

int xlb_conf_warnings(const struct xlb_conf *c, enum xlb_conf_part part,
		      void (*warn)(void *arg, const char *key, const char *msg), void *arg)
{
	char key[64], msg[256];
	int n = 0;

	if (part == XLB_CONF_FULL && c->daemon.xdp_mode == XLB_XDP_GENERIC) {
		warn(arg, "daemon.xdp_mode", "generic XDP runs after the kernel has built an "
		     "skb: several times slower than native; use it only where the driver "
		     "has no XDP support");
		n++;
	}
	for (size_t i = 0; i < c->n_vips; i++) {
		const struct xlb_vip_cfg *v = &c->vips[i];
		uint64_t want = (uint64_t)v->n_backends * RING_SLOTS_PER_BACKEND;

		if (v->ring_size >= want)
			continue;
		snprintf(key, sizeof(key), "vips[%zu].ring_size", i);
		snprintf(msg, sizeof(msg), "%u slots for %zu backends is fewer than %d per "
			 "backend: shares will be uneven; %u would do", v->ring_size,
			 v->n_backends, RING_SLOTS_PER_BACKEND,
			 want > XLB_RING_SIZE_MAX ? XLB_RING_SIZE_MAX : prime_above((uint32_t)want));
		warn(arg, key, msg);
		n++;
	}
	return n;
}

/* ---- libconfig 1.5 ---------------------------------------------------------- */

static bool name_start(int c)
{
	return isalpha(c) || c == '*';
}

static bool name_char(int c)
{
	return isalnum(c) || c == '*' || c == '-' || c == '_';
}

/* [-+]?[0-9] or [-+]?.[0-9] */
static bool number_start(const char *p)
{
	p += *p == '-' || *p == '+';
	return isdigit((unsigned char)p[0]) || (p[0] == '.' && isdigit((unsigned char)p[1]));
}

/*
 * libconfig 1.5 reads an integer literal without an 'L' into an int,
 * wrapping: "hash_seed = 4294967295" would be -1 and 4294968320 would be
 * 1024. So TEXT is copied with such literals given their 'L', and literals
 * beyond 64 bits and @include are refused. The scan follows libconfig's
 * scanner (lib/scanner.l): strings, comments, names, numbers.
 */
static int prescan(struct ctx *x, const char *text, char **out)
{
	const char *p = text, *end = text + strlen(text);
	char *buf = NULL;
	size_t blen;
	FILE *f = open_memstream(&buf, &blen);
	int line = 1, ret = 0;

	if (!f)
		return fail_line(x, 0, "", "out of memory");
	while (p < end && !ret) {
		const char *q = p;

		if (*p == '\n') {
			line++;
			q++;
		} else if (*p == '"') {
			for (q++; q < end && *q != '"'; q++) {
				if (*q == '\\' && q + 1 < end)
					q++;
				line += *q == '\n';
			}
			q += q < end;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			q = p + strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			const char *close = strstr(p + 2, "*/");

			q = close ? close + 2 : end;
			for (const char *c = p; c < q; c++)
				line += *c == '\n';
		} else if (!strncmp(p, "@include", 8)) {
			ret = fail_line(x, line, "", "@include is not supported; put everything in "
					"one file");
		} else if (name_start((unsigned char)*p)) {
			while (q < end && name_char((unsigned char)*q))
				q++;
			x->last_name = p;
			x->last_name_len = (size_t)(q - p);
		} else if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
			   isxdigit((unsigned char)p[2])) {
			unsigned long long v;

			for (q = p + 2; isxdigit((unsigned char)*q); q++)
				;
			errno = 0;
			v = strtoull(p + 2, NULL, 16);
			if (errno || v > INT64_MAX)
				ret = fail_line(x, line, "", "%.*s: %.*s is too large", (int)x->last_name_len,
						x->last_name, (int)(q - p), p);
			if (*q == 'L') {
				q += 1 + (q[1] == 'L');
			} else if (v > INT32_MAX) {
				fwrite(p, 1, (size_t)(q - p), f);
				fputc('L', f);
				p = q;
			}
		} else if (number_start(p)) {
			bool is_float = false;
			long long v;

			for (q = p + (*p == '-' || *p == '+'); isdigit((unsigned char)*q); q++)
				;
			if (*q == '.') {
				is_float = true;
				for (q++; isdigit((unsigned char)*q); q++)
					;
			}
			if (*q == 'e' || *q == 'E') {
				const char *e = q + 1 + (q[1] == '-' || q[1] == '+');

				if (isdigit((unsigned char)*e)) {
					is_float = true;
					for (q = e; isdigit((unsigned char)*q); q++)
						;
				}
			}
			if (!is_float) {
				errno = 0;
				v = strtoll(p, NULL, 10);
				if (errno)
					ret = fail_line(x, line, "", "%.*s: %.*s is too large",
							(int)x->last_name_len, x->last_name,
							(int)(q - p), p);
				if (*q == 'L') {
					q += 1 + (q[1] == 'L');
				} else if (v < INT32_MIN || v > INT32_MAX) {
					fwrite(p, 1, (size_t)(q - p), f);
					fputc('L', f);
					p = q;
				}
			}
		} else {
			q++;
		}
		fwrite(p, 1, (size_t)(q - p), f);
		p = q;
	}
	if (fclose(f) && !ret)
		ret = fail_line(x, 0, "", "out of memory");
	if (ret)
		free(buf);
	else
		*out = buf;
	return ret;
}

static int fail_syntax(struct ctx *x, const config_t *cfg)
{
	const char *text = config_error_text(cfg) ? config_error_text(cfg) : "error";
	const char *fix = "";

	if (!strcmp(text, "syntax error"))
		fix = "; look for a missing ';', '=', quote or bracket on this line or the "
		      "one before";
	else if (!strcmp(text, "duplicate setting name"))
		fix = "; a key is given twice in one group: keep one";
	else if (!strcmp(text, "mismatched element type in array"))
		fix = "; an array [ ... ] holds values of one type: fix the odd one, or use "
		      "a list ( ... )";
	return fail_line(x, config_error_line(cfg), "", "%s%s", text, fix);
}

int xlb_conf_parse_string(const char *text, const char *name, enum xlb_conf_part part,
			  struct xlb_conf *out, struct xlb_conf_error *err)
{
	struct xlb_conf_error dummy;
	struct ctx x = {
		.file = name ? name : "(config)",
		.err = err ? err : &dummy,
		.part = part,
		.last_name = "",
	};
	struct xlb_conf c;
	char *fixed = NULL;
	config_t cfg;
	int ret;

	memset(x.err, 0, sizeof(*x.err));
	ret = prescan(&x, text, &fixed);
	if (ret)
		return ret;
	config_init(&cfg);
	xlb_conf_init(&c);
	if (part == XLB_CONF_RUNTIME)
		c.daemon = out->daemon;
	if (!config_read_string(&cfg, fixed)) {
		ret = fail_syntax(&x, &cfg);
	} else {
		x.root = config_root_setting(&cfg);
		ret = read_root(&x, x.root, &c);
		if (!ret)
			ret = validate(&x, &c);
	}
	config_destroy(&cfg);
	free(fixed);
	if (ret) {
		xlb_conf_free(&c);
		return ret;
	}
	xlb_conf_free(out);
	*out = c;
	return 0;
}

int xlb_conf_parse_file(const char *path, enum xlb_conf_part part,
			struct xlb_conf *out, struct xlb_conf_error *err)
{
	struct xlb_conf_error dummy;
	struct ctx x = { .file = path, .err = err ? err : &dummy };
	char *text = NULL;
	size_t len;
	FILE *f;
	int ret = 0;

	memset(x.err, 0, sizeof(*x.err));
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		fail_line(&x, 0, "", "cannot open: %s", strerror(-ret));
		return ret;
	}
	text = malloc(MAX_DOC_SIZE + 1);
	errno = 0;
	len = text ? fread(text, 1, MAX_DOC_SIZE + 1, f) : 0;
	if (!text) {
		ret = -ENOMEM;
		fail_line(&x, 0, "", "out of memory");
	} else if (ferror(f)) {
		ret = errno ? -errno : -EIO;
		fail_line(&x, 0, "", "cannot read: %s", strerror(-ret));
	} else if (len > MAX_DOC_SIZE) {
		ret = fail_line(&x, 0, "", "larger than %u MB", MAX_DOC_SIZE >> 20);
	} else if (memchr(text, '\0', len)) {
		ret = fail_line(&x, 0, "", "holds a NUL byte: not a text file");
	}
	fclose(f);
	if (!ret) {
		text[len] = '\0';
		ret = xlb_conf_parse_string(text, path, part, out, x.err);
	}
	free(text);
	return ret;
}

/* ---- probes -------------------------------------------------------------- */

void xlb_probe_effective(const struct xlb_vip_cfg *v, const struct xlb_backend_cfg *b,
			 struct xlb_probe_cfg *out)
{
	*out = v->probe;
	for (size_t i = 0; i < g_probe.n; i++) {
		const struct key *k = &probe_keys[i];

		if (b->probe.set & k->bit)
			memcpy(FIELD(out, k), CFIELD(&b->probe, k), k->size);
	}
	out->set = 0;
}

/* ---- comparing ----------------------------------------------------------- */

static bool key_equal(const struct key *k, const void *a, const void *b)
{
	const char *fa = CFIELD(a, k), *fb = CFIELD(b, k);

	switch (k->kind) {
	case K_PATH:
	case K_HOST:
	case K_HTTP_PATH:
	case K_HOSTPORT:
		return !strncmp(fa, fb, k->size);
	case K_IP:
		return xlb_ip_equal((const void *)fa, (const void *)fb);
	case K_PREFIX:
		return xlb_ip_equal((const void *)fa, (const void *)fb) &&
		       *(const uint8_t *)CFIELD2(a, k) == *(const uint8_t *)CFIELD2(b, k);
	case K_GATEWAY:
		return *(const bool *)fa == *(const bool *)fb &&
		       (*(const bool *)fa || !memcmp(CFIELD2(a, k), CFIELD2(b, k), MAC_LEN));
	case K_IFACES: {
		size_t n = *(const size_t *)CFIELD2(a, k);

		if (n != *(const size_t *)CFIELD2(b, k))
			return false;
		for (size_t i = 0; i < n && i < XLB_MAX_INTERFACES; i++)
			if (strncmp(fa + i * IF_NAMESIZE, fb + i * IF_NAMESIZE, IF_NAMESIZE))
				return false;
		return true;
	}
	case K_SERVICE:
		return xlb_service_equal((const void *)fa, (const void *)fb);
	case K_INT:
	case K_BOOL:
	case K_SECONDS:
	case K_ENUM:
		return !memcmp(fa, fb, k->size);
	case K_PROBE:
	case K_BACKENDS:
		break;
	}
	return true;
}

/* Keys of G equal in A and B (groups and lists aside); with MASK only those. */
static bool group_equal(const struct group *g, const void *a, const void *b,
			const uint32_t *mask)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct key *k = &g->keys[i];

		if (mask && !(*mask & k->bit))
			continue;
		if (!key_equal(k, a, b))
			return false;
	}
	return true;
}

static bool probe_equal(const struct xlb_probe_cfg *a, const struct xlb_probe_cfg *b,
			bool inherits)
{
	if (!inherits)
		return group_equal(&g_probe, a, b, NULL);
	return a->set == b->set && group_equal(&g_probe, a, b, &a->set);
}

static unsigned vip_what(const struct xlb_vip_cfg *a, const struct xlb_vip_cfg *b)
{
	return (a->ring_size != b->ring_size ? XLB_DIFF_RING_SIZE : 0) |
	       (a->mss != b->mss ? XLB_DIFF_MSS : 0) |
	       (a->hash_src_only != b->hash_src_only ? XLB_DIFF_HASH : 0) |
	       (!probe_equal(&a->probe, &b->probe, false) ? XLB_DIFF_PROBE : 0);
}

static unsigned backend_what(const struct xlb_backend_cfg *a, const struct xlb_backend_cfg *b)
{
	return (a->weight != b->weight ? XLB_DIFF_WEIGHT : 0) |
	       (a->drain != b->drain ? XLB_DIFF_DRAIN : 0) |
	       (a->disabled != b->disabled ? XLB_DIFF_DISABLED : 0) |
	       (!probe_equal(&a->probe, &b->probe, true) ? XLB_DIFF_PROBE : 0);
}

struct walk {
	int (*cb)(void *arg, const struct xlb_conf_change *ch);
	void *arg;
	int count;
};

static int emit(struct walk *w, enum xlb_change_kind kind, unsigned what,
		const struct xlb_vip_cfg *ov, const struct xlb_vip_cfg *nv,
		const struct xlb_backend_cfg *ob, const struct xlb_backend_cfg *nb)
{
	struct xlb_conf_change ch = { kind, what, ov, nv, ob, nb };
	int ret = w->cb ? w->cb(w->arg, &ch) : 0;

	w->count++;
	return ret;
}

/* Backends of a VIP in both: match by address through sorted indices. */
static int diff_backends(struct walk *w, const struct xlb_vip_cfg *ov,
			 const struct xlb_vip_cfg *nv)
{
	size_t *oi = sorted_index(ov->backends, ov->n_backends, sizeof(*ov->backends), cmp_ip);
	size_t *ni = sorted_index(nv->backends, nv->n_backends, sizeof(*nv->backends), cmp_ip);
	ssize_t *match_o = calloc(ov->n_backends + 1, sizeof(*match_o));
	ssize_t *match_n = calloc(nv->n_backends + 1, sizeof(*match_n));
	size_t i = 0, j = 0;
	int ret = 0;

	if (!oi || !ni || !match_o || !match_n) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < ov->n_backends; k++)
		match_o[k] = -1;
	for (size_t k = 0; k < nv->n_backends; k++)
		match_n[k] = -1;
	while (i < ov->n_backends && j < nv->n_backends) {
		int r = xlb_ip_cmp(&ov->backends[oi[i]].addr, &nv->backends[ni[j]].addr);

		if (r < 0) {
			i++;
		} else if (r > 0) {
			j++;
		} else {
			match_o[oi[i]] = (ssize_t)ni[j];
			match_n[ni[j]] = (ssize_t)oi[i];
			i++;
			j++;
		}
	}
	for (size_t k = 0; k < ov->n_backends && !ret; k++)
		if (match_o[k] < 0)
			ret = emit(w, XLB_CHG_BACKEND_DEL, 0, ov, nv, &ov->backends[k], NULL);
	for (size_t k = 0; k < nv->n_backends && !ret; k++)
		if (match_n[k] < 0)
			ret = emit(w, XLB_CHG_BACKEND_ADD, 0, ov, nv, NULL, &nv->backends[k]);
	for (size_t k = 0; k < nv->n_backends && !ret; k++) {
		const struct xlb_backend_cfg *ob, *nb = &nv->backends[k];
		unsigned what;

		if (match_n[k] < 0)
			continue;
		ob = &ov->backends[match_n[k]];
		what = backend_what(ob, nb);
		if (what)
			ret = emit(w, XLB_CHG_BACKEND_SET, what, ov, nv, ob, nb);
	}
out:
	free(oi);
	free(ni);
	free(match_o);
	free(match_n);
	return ret;
}

int xlb_conf_diff(const struct xlb_conf *old, const struct xlb_conf *new,
		  enum xlb_conf_part part,
		  int (*cb)(void *arg, const struct xlb_conf_change *ch), void *arg)
{
	struct walk w = { cb, arg, 0 };
	int ret = 0;

	if (part == XLB_CONF_FULL && !group_equal(&g_daemon, &old->daemon, &new->daemon, NULL))
		ret = emit(&w, XLB_CHG_DAEMON, 0, NULL, NULL, NULL, NULL);
	if (!ret && !group_equal(&g_dataplane, &old->dataplane, &new->dataplane, NULL))
		ret = emit(&w, XLB_CHG_DATAPLANE, 0, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < old->n_vips && !ret; i++)
		if (!xlb_conf_find_vip(new, &old->vips[i].svc))
			ret = emit(&w, XLB_CHG_VIP_DEL, 0, &old->vips[i], NULL, NULL, NULL);
	for (size_t i = 0; i < new->n_vips && !ret; i++) {
		const struct xlb_vip_cfg *nv = &new->vips[i];
		const struct xlb_vip_cfg *ov = xlb_conf_find_vip(old, &nv->svc);
		unsigned what;

		if (!ov)
			continue;
		what = vip_what(ov, nv);
		if (what)
			ret = emit(&w, XLB_CHG_VIP_SET, what, ov, nv, NULL, NULL);
		if (!ret)
			ret = diff_backends(&w, ov, nv);
	}
	for (size_t i = 0; i < new->n_vips && !ret; i++)
		if (!xlb_conf_find_vip(old, &new->vips[i].svc))
			ret = emit(&w, XLB_CHG_VIP_ADD, 0, NULL, &new->vips[i], NULL, NULL);
	return ret ? ret : w.count;
}

bool xlb_conf_equal(const struct xlb_conf *a, const struct xlb_conf *b,
		    enum xlb_conf_part part)
{
	return xlb_conf_diff(a, b, part, NULL, NULL) == 0;
}

/* ---- formatting ---------------------------------------------------------- */

/* The first MAX bytes of S at most, quoted for libconfig. */
static void put_strn(FILE *f, const char *s, size_t max)
{
	fputc('"', f);
	for (; max && *s; s++, max--) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_string(FILE *f, const char *s)
{
	put_strn(f, s, SIZE_MAX);
}

static void put_value(FILE *f, const struct key *k, const void *base)
{
	const char *fv = CFIELD(base, k);
	char buf[INET6_ADDRSTRLEN + 8];

	switch (k->kind) {
	case K_INT:
		fprintf(f, "%llu", (unsigned long long)get_uint(fv, k->size));
		return;
	case K_BOOL:
		fputs(*(const bool *)fv ? "true" : "false", f);
		return;
	case K_SECONDS:
		fmt_seconds(buf, sizeof(buf), *(const uint32_t *)fv);
		fputs(buf, f);
		return;
	case K_ENUM: {
		const struct choice *c = choice_by_value(k->choices, get_choice(fv, k->size));

		put_string(f, c ? c->name : "?");
		return;
	}
	case K_PATH:
	case K_HOST:
	case K_HTTP_PATH:
	case K_HOSTPORT:
		put_strn(f, fv, k->size);
		return;
	case K_IP: {
		const struct xlb_ip *ip = (const void *)fv;

		put_string(f, ip->family ? xlb_ip_str(ip, buf, sizeof(buf)) : "");
		return;
	}
	case K_PREFIX: {
		const struct xlb_ip *ip = (const void *)fv;

		if (!ip->family) {
			put_string(f, "");
			return;
		}
		xlb_ip_str(ip, buf, sizeof(buf));
		fprintf(f, "\"%s/%u\"", buf, *(const uint8_t *)CFIELD2(base, k));
		return;
	}
	case K_GATEWAY: {
		const uint8_t *m = (const uint8_t *)CFIELD2(base, k);

		if (*(const bool *)fv)
			fputs("\"auto\"", f);
		else
			fprintf(f, "\"%02x:%02x:%02x:%02x:%02x:%02x\"",
				m[0], m[1], m[2], m[3], m[4], m[5]);
		return;
	}
	case K_IFACES: {
		size_t n = *(const size_t *)CFIELD2(base, k);

		fputs("[ ", f);
		for (size_t i = 0; i < n && i < XLB_MAX_INTERFACES; i++) {
			fputs(i ? ", " : "", f);
			put_strn(f, fv + i * IF_NAMESIZE, IF_NAMESIZE);
		}
		fputs(n ? " ]" : "]", f);
		return;
	}
	case K_SERVICE:
		put_string(f, xlb_service_str((const void *)fv, buf, sizeof(buf)));
		return;
	case K_PROBE:
	case K_BACKENDS:
		break;
	}
}

struct fmt {
	FILE *f;
	unsigned flags;
};

/* Keys of G in BASE that differ from DEF (all with XLB_CONF_FMT_DEFAULTS,
 * the required ones always; with MASK exactly those), each "key = value;"
 * on its own line at INDENT, or all on one line with INDENT < 0. */
static void put_keys(struct fmt *o, const struct group *g, const void *base, const void *def,
		     const uint32_t *mask, int indent)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct key *k = &g->keys[i];

		if (k->kind == K_PROBE || k->kind == K_BACKENDS)
			continue;
		if (mask ? !(*mask & k->bit) :
		    !(k->flags & F_REQUIRED) && !(o->flags & XLB_CONF_FMT_DEFAULTS) &&
		    key_equal(k, base, def))
			continue;
		if (indent >= 0)
			fprintf(o->f, "%*s", indent, "");
		fprintf(o->f, "%s = ", k->name);
		put_value(o->f, k, base);
		fputs(indent >= 0 ? ";\n" : "; ", o->f);
	}
}

static bool probe_empty(const struct fmt *o, const struct xlb_probe_cfg *p)
{
	struct xlb_probe_cfg def;

	xlb_probe_init(&def);
	return !(o->flags & XLB_CONF_FMT_DEFAULTS) && group_equal(&g_probe, p, &def, NULL);
}

static void put_vip(struct fmt *o, const struct xlb_vip_cfg *v)
{
	struct xlb_vip_cfg vdef;
	struct xlb_backend_cfg bdef;

	xlb_vip_init(&vdef);
	xlb_backend_init(&bdef);
	fputs("  {\n", o->f);
	put_keys(o, &g_vip, v, &vdef, NULL, 4);
	if (!probe_empty(o, &v->probe)) {
		fputs("    probe = {\n", o->f);
		put_keys(o, &g_probe, &v->probe, &vdef.probe, NULL, 6);
		fputs("    };\n", o->f);
	}
	if (v->n_backends) {
		fputs("    backends = (\n", o->f);
		for (size_t i = 0; i < v->n_backends; i++) {
			const struct xlb_backend_cfg *b = &v->backends[i];

			fputs("      { ", o->f);
			put_keys(o, &g_backend, b, &bdef, NULL, -1);
			if (b->probe.set) {
				fputs("probe = { ", o->f);
				put_keys(o, &g_probe, &b->probe, NULL, &b->probe.set, -1);
				fputs("}; ", o->f);
			}
			fputs(i + 1 < v->n_backends ? "},\n" : "}\n", o->f);
		}
		fputs("    );\n", o->f);
	}
	fputs("  }", o->f);
}

char *xlb_conf_format(const struct xlb_conf *c, enum xlb_conf_part part, unsigned flags)
{
	struct xlb_conf def;
	struct fmt o = { .flags = flags };
	char *buf = NULL;
	size_t len;

	o.f = open_memstream(&buf, &len);
	if (!o.f)
		return NULL;
	xlb_conf_init(&def);
	if (part == XLB_CONF_FULL) {
		fputs("daemon = {\n", o.f);
		put_keys(&o, &g_daemon, &c->daemon, &def.daemon, NULL, 2);
		fputs("};\n\n", o.f);
	}
	if ((flags & XLB_CONF_FMT_DEFAULTS) ||
	    !group_equal(&g_dataplane, &c->dataplane, &def.dataplane, NULL)) {
		fputs("dataplane = {\n", o.f);
		put_keys(&o, &g_dataplane, &c->dataplane, &def.dataplane, NULL, 2);
		fputs("};\n\n", o.f);
	}
	fputs(c->n_vips ? "vips = (\n" : "vips = ( );\n", o.f);
	for (size_t i = 0; i < c->n_vips; i++) {
		put_vip(&o, &c->vips[i]);
		fputs(i + 1 < c->n_vips ? ",\n" : "\n);\n", o.f);
	}
	if (ferror(o.f)) {
		fclose(o.f);
		free(buf);
		return NULL;
	}
	if (fclose(o.f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- writing ------------------------------------------------------------- */

int xlb_conf_write_file_atomic(const char *path, const char *text)
{
	size_t plen = strlen(path), len = strlen(text), done = 0;
	char *tmp = malloc(plen + sizeof(".tmp.XXXXXX"));
	char *dir = strdup(path), *slash;
	int fd = -1, dfd, ret = 0;

	if (!tmp || !dir) {
		ret = -ENOMEM;
		goto out;
	}
	snprintf(tmp, plen + sizeof(".tmp.XXXXXX"), "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (fchmod(fd, S_IRUSR | S_IWUSR)) {
		ret = -errno;
		goto fail;
	}
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd)) {
		ret = -errno;
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		ret = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path)) {
		ret = -errno;
		goto fail;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd))
			ret = -errno;
		close(dfd);
	}
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(dir);
	return ret;
}
