// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlbctl: talks to xlbd over its control socket (docs/protocol.md).
 *
 *   xlbctl [-s SOCKET] [-j|--json] COMMAND [ARGS...]
 *
 * Verbs and objects, like ip and wg; one table below drives parsing and
 * help. Plain output is for people; --json prints xlbd's answer as is.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "proto.h"

#define EXIT_FAIL	1
#define EXIT_USAGE	2

static const char *sock = XLB_SOCKET_DEFAULT;
static bool json;

/* ---- printing helpers ------------------------------------------------------ */

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("xlbctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static const char *get_str(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : dflt;
}

/* 1234567 -> "1.2M" */
static const char *human(double v, const char *unit, char *buf, size_t len)
{
	static const char *const sfx[] = { "", "k", "M", "G", "T", "P" };
	int i = 0;

	while (fabs(v) >= 1000 && i < 5) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, i ? "%.1f%s%s" : "%.0f%s%s", v, sfx[i], unit);
	return buf;
}

/* ---- talking to xlbd --------------------------------------------------------- */

/* Send CMD with ARGS (taken); on success return the answer's data (owned by
 * *ROOT, which the caller puts); on failure print the error and exit. */
static struct json_object *call(const char *cmd, struct json_object *args,
				struct json_object **root)
{
	struct json_object *resp, *ok, *data = NULL;
	char err[512];

	resp = xlb_call(sock, cmd, args, err, sizeof(err));
	if (!resp) {
		fprintf(stderr, "xlbctl: %s\n", err);
		exit(EXIT_FAIL);
	}
	if (!json_object_object_get_ex(resp, "ok", &ok) || !json_object_get_boolean(ok)) {
		fprintf(stderr, "xlbctl: %s\n", get_str(resp, "error", "xlbd refused the request"));
		json_object_put(resp);
		exit(EXIT_FAIL);
	}
	json_object_object_get_ex(resp, "data", &data);
	*root = resp;
	return data;
}

static void print_json(struct json_object *data)
{
	puts(data ? json_object_to_json_string_ext(data, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE) : "null");
}

/* Commands that only change something: "ok" as data, silence for people. */
static int run_quiet(const char *cmd, struct json_object *args)
{
	struct json_object *root, *data = call(cmd, args, &root);

	if (json)
		print_json(data);
	json_object_put(root);
	return 0;
}

/* ---- argument parsing ------------------------------------------------------- */

struct cmd;
typedef int (*cmd_fn)(const struct cmd *c, int argc, char **argv);

struct cmd {
	const char *words;	/* "backend drain" */
	const char *usage;	/* "VIP ADDRESS" */
	const char *help;
	cmd_fn fn;
	const char *rpc;	/* the protocol command */
};

static void add_str(struct json_object *a, const char *k, const char *v)
{
	json_object_object_add(a, k, json_object_new_string(v));
}

static void add_uint(struct json_object *a, const char *k, const char *v, const char *what)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || !*v || v[0] == '-')
		die_usage("%s: \"%s\" is not a whole number", what, v);
	json_object_object_add(a, k, json_object_new_uint64(n));
}

/* KEY VALUE options after the positional arguments, e.g. "weight 3 drain". */
struct opt {
	const char *word;	/* on the command line */
	const char *key;	/* in the request */
	enum { O_UINT, O_STR, O_FLAG, O_ONOFF } type;
};

static void parse_opts(const struct cmd *c, int argc, char **argv, const struct opt *opts,
		       struct json_object *args)
{
	for (int i = 0; i < argc; i++) {
		const struct opt *o;

		for (o = opts; o->word && strcmp(o->word, argv[i]); o++)
			;
		if (!o->word)
			die_usage("%s: unknown option \"%s\" (usage: xlbctl %s %s)", c->words,
				  argv[i], c->words, c->usage);
		if (o->type == O_FLAG) {
			json_object_object_add(args, o->key, json_object_new_boolean(1));
			continue;
		}
		if (i + 1 >= argc)
			die_usage("%s: \"%s\" needs a value (usage: xlbctl %s %s)", c->words,
				  o->word, c->words, c->usage);
		i++;
		if (o->type == O_UINT) {
			add_uint(args, o->key, argv[i], o->word);
		} else if (o->type == O_ONOFF) {
			if (strcmp(argv[i], "on") && strcmp(argv[i], "off"))
				die_usage("%s: \"%s\" takes on or off, not \"%s\"", c->words,
					  o->word, argv[i]);
			json_object_object_add(args, o->key,
					       json_object_new_boolean(!strcmp(argv[i], "on")));
		} else {
			add_str(args, o->key, argv[i]);
		}
	}
}

static void need(const struct cmd *c, int argc, int n)
{
	if (argc < n)
		die_usage("%s: missing arguments (usage: xlbctl %s %s)", c->words, c->words,
			  c->usage);
}

static void at_most(const struct cmd *c, int argc, int n)
{
	if (argc > n)
		die_usage("%s: too many arguments (usage: xlbctl %s %s)", c->words, c->words,
			  c->usage);
}

/* ---- show --------------------------------------------------------------------- */

/* "sstp ok 12.3ms", "sstp timeout", "-" */
static const char *probe_word(struct json_object *be, char *buf, size_t len)
{
	struct json_object *p, *lat;

	if (!json_object_object_get_ex(be, "probe", &p))
		return "-";
	if (json_object_object_get_ex(p, "latency_ms", &lat) &&
	    !strcmp(get_str(p, "last", ""), "ok"))
		snprintf(buf, len, "%s ok %.1fms", get_str(p, "type", "?"),
			 json_object_get_double(lat));
	else
		snprintf(buf, len, "%s %s", get_str(p, "type", "?"), get_str(p, "last", "pending"));
	return buf;
}

static void print_backends(struct json_object *bes)
{
	char p[16], b[16], pr[48];

	printf("    %-26s %6s %-9s %-8s %-9s %7s %7s %9s %9s  %s\n", "BACKEND", "WEIGHT", "ADMIN",
	       "HEALTH", "STATE", "ACTIVE", "FLOWS", "PACKETS", "BYTES", "PROBE");
	for (size_t i = 0; i < json_object_array_length(bes); i++) {
		struct json_object *be = json_object_array_get_idx(bes, i), *probe, *x;

		printf("    %-26s %6llu %-9s %-8s %-9s %7llu %7llu %9s %9s  %s\n",
		       get_str(be, "address", "?"), (unsigned long long)get_u64(be, "weight"),
		       get_str(be, "admin", "?"), get_str(be, "health", "-"),
		       get_str(be, "state", "-"), (unsigned long long)get_u64(be, "flows_active"),
		       (unsigned long long)get_u64(be, "flows"),
		       human(get_u64(be, "packets"), "", p, sizeof(p)),
		       human(get_u64(be, "bytes"), "B", b, sizeof(b)), probe_word(be, pr, sizeof(pr)));
		if (!json_object_object_get_ex(be, "probe", &probe))
			continue;
		if (strcmp(get_str(probe, "last", "ok"), "ok") && json_object_object_get_ex(probe, "error", &x))
			printf("      last failure: %s\n", json_object_get_string(x));
		if (json_object_object_get_ex(probe, "cert_warn", &x) && json_object_get_boolean(x)) {
			json_object_object_get_ex(probe, "cert_days_left", &x);
			printf("      !! its certificate expires in %d days\n", json_object_get_int(x));
		}
	}
}

static void print_vip(struct json_object *v)
{
	struct json_object *bes;
	char p[16], b[16];
	uint64_t mss = get_u64(v, "mss");

	char mssbuf[16];

	snprintf(mssbuf, sizeof(mssbuf), "%llu", (unsigned long long)mss);
	printf("VIP %s  ring %llu  hash %s  mss %s\n", get_str(v, "service", "?"),
	       (unsigned long long)get_u64(v, "ring_size"), get_str(v, "hash", "?"),
	       mss ? mssbuf : "auto");
	if (json_object_object_get_ex(v, "ring_held", &bes) && json_object_get_boolean(bes))
		printf("  !! every backend fails its health check: the last ring is kept\n");
	printf("  %s packets  %s  %llu new flows  %llu drops\n",
	       human(get_u64(v, "packets"), "", p, sizeof(p)),
	       human(get_u64(v, "bytes"), "B", b, sizeof(b)),
	       (unsigned long long)get_u64(v, "new_flows"), (unsigned long long)get_u64(v, "drops"));
	if (json_object_object_get_ex(v, "backends", &bes) && json_object_array_length(bes))
		print_backends(bes);
	else
		printf("    (no backends: 'xlbctl backend add %s ADDRESS')\n",
		       get_str(v, "service", "VIP"));
}

static int cmd_show(const struct cmd *c, int argc, char **argv)
{
	struct json_object *args = json_object_new_object(), *root, *data, *x;

	at_most(c, argc, 1);
	if (argc)
		add_str(args, "service", argv[0]);
	data = call("show", args, &root);
	if (json) {
		print_json(data);
		json_object_put(root);
		return 0;
	}
	if (json_object_object_get_ex(data, "interfaces", &x)) {
		printf("interfaces:");
		for (size_t i = 0; i < json_object_array_length(x); i++) {
			struct json_object *a = json_object_array_get_idx(x, i);

			printf(" %s (%s, prog %llu)", get_str(a, "name", "?"), get_str(a, "mode", "?"),
			       (unsigned long long)get_u64(a, "prog_id"));
		}
		printf("%s\n", json_object_array_length(x) ? "" : " none ('xlbctl attach IF')");
	}
	if (json_object_object_get_ex(data, "gateway", &x))
		printf("gateway: %s (%s)\n", get_str(x, "mac", "UNKNOWN, VIP traffic is dropped"),
		       get_str(x, "detail", ""));
	printf("flow table: %llu entries of %llu; active = seen in the last %llu s\n\n",
	       (unsigned long long)get_u64(data, "flow_entries"),
	       (unsigned long long)get_u64(data, "flow_table_size"),
	       (unsigned long long)get_u64(data, "flow_window"));
	if (json_object_object_get_ex(data, "vips", &x)) {
		for (size_t i = 0; i < json_object_array_length(x); i++) {
			print_vip(json_object_array_get_idx(x, i));
			putchar('\n');
		}
		if (!json_object_array_length(x))
			printf("no VIPs yet: 'xlbctl vip add 198.18.0.10:443/tcp'\n");
	}
	json_object_put(root);
	return 0;
}

/* ---- stats ---------------------------------------------------------------------- */

static void print_reasons(struct json_object *now, struct json_object *before, double secs)
{
	bool any = false;

	json_object_object_foreach(now, name, val) {
		struct json_object *b;
		uint64_t n = json_object_get_uint64(val), p = 0;

		if (before && json_object_object_get_ex(before, name, &b))
			p = json_object_get_uint64(b);
		if (n == p)
			continue;
		if (!any)
			printf("  %-22s %14s%s\n", "REASON", before ? "PER SECOND" : "TOTAL", "");
		any = true;
		if (before)
			printf("  %-22s %14.1f\n", name, (n - p) / secs);
		else
			printf("  %-22s %14llu\n", name, (unsigned long long)n);
	}
	if (!any)
		printf("  (no drops, passes or events%s)\n", before ? " in this interval" : "");
}

static int cmd_stats(const struct cmd *c, int argc, char **argv)
{
	struct json_object *root = NULL, *prev_root = NULL, *data, *prev = NULL, *x, *px;
	unsigned long interval = 0;
	char p[16], b[16];

	if (argc && !strcmp(argv[0], "--watch")) {
		char *end = NULL;

		interval = 1;
		if (argc > 1) {
			interval = strtoul(argv[1], &end, 10);
			if (*end || !interval || argv[1][0] == '-')
				die_usage("stats: --watch takes a number of seconds, e.g. --watch 2, "
					  "not \"%s\"", argv[1]);
		}
		argc -= argc > 1 ? 2 : 1;
		argv += 2;
	}
	at_most(c, argc, 0);
	for (;;) {
		data = call("stats", NULL, &root);
		if (json) {
			print_json(data);
		} else {
			if (interval)
				printf("\033[H\033[J");	/* a fresh screen each interval */
			json_object_object_get_ex(data, "vips", &x);
			if (prev)
				json_object_object_get_ex(prev, "vips", &px);
			printf("%-34s %12s %12s %12s %10s\n", "VIP", prev ? "PKTS/S" : "PACKETS",
			       prev ? "BITS/S" : "BYTES", prev ? "FLOWS/S" : "NEW FLOWS",
			       prev ? "DROPS/S" : "DROPS");
			for (size_t i = 0; x && i < json_object_array_length(x); i++) {
				struct json_object *v = json_object_array_get_idx(x, i), *pv = NULL;
				double dp, db, dn, dd;

				if (prev && px && i < json_object_array_length(px))
					pv = json_object_array_get_idx(px, i);
				dp = get_u64(v, "packets") - (pv ? get_u64(pv, "packets") : 0);
				db = get_u64(v, "bytes") - (pv ? get_u64(pv, "bytes") : 0);
				dn = get_u64(v, "new_flows") - (pv ? get_u64(pv, "new_flows") : 0);
				dd = get_u64(v, "drops") - (pv ? get_u64(pv, "drops") : 0);
				if (pv) {
					dp /= interval;
					db = db * 8 / interval;
					dn /= interval;
					dd /= interval;
				}
				printf("%-34s %12s %12s %12.0f %10.0f\n", get_str(v, "service", "?"),
				       human(dp, "", p, sizeof(p)), human(db, pv ? "b" : "B", b,
				       sizeof(b)), dn, dd);
			}
			putchar('\n');
			json_object_object_get_ex(data, "reasons", &x);
			if (prev)
				json_object_object_get_ex(prev, "reasons", &px);
			print_reasons(x, prev ? px : NULL, interval);
		}
		fflush(stdout);
		if (!interval) {
			json_object_put(root);
			return 0;
		}
		json_object_put(prev_root);
		prev_root = root;
		prev = data;
		sleep(interval);
	}
}

/* ---- VIPs and backends --------------------------------------------------------- */

static const struct opt vip_opts[] = {
	{ "ring-size", "ring_size", O_UINT },
	{ "mss", "mss", O_UINT },
	{ "hash", "hash", O_STR },
	{}
};

static const struct opt force_opts[] = {
	{ "--force", "force", O_FLAG },
	{}
};

static int cmd_vip_list(const struct cmd *c, int argc, char **argv)
{
	struct json_object *root, *data;

	at_most(c, argc, 0);
	data = call("vip.list", NULL, &root);
	if (json)
		print_json(data);
	else
		for (size_t i = 0; i < json_object_array_length(data); i++)
			puts(json_object_get_string(json_object_array_get_idx(data, i)));
	json_object_put(root);
	return 0;
}

static int cmd_vip_show(const struct cmd *c, int argc, char **argv)
{
	struct json_object *args = json_object_new_object(), *root, *data;

	need(c, argc, 1);
	at_most(c, argc, 1);
	add_str(args, "service", argv[0]);
	data = call("vip.show", args, &root);
	if (json)
		print_json(data);
	else
		print_vip(data);
	json_object_put(root);
	return 0;
}

/* "vip add|set|del VIP [options]": VIP first, then options. */
static int cmd_vip_change(const struct cmd *c, int argc, char **argv)
{
	struct json_object *args = json_object_new_object();

	need(c, argc, 1);
	add_str(args, "service", argv[0]);
	parse_opts(c, argc - 1, argv + 1, !strcmp(c->rpc, "vip.del") ? force_opts : vip_opts,
		   args);
	return run_quiet(c->rpc, args);
}

static const struct opt backend_add_opts[] = {
	{ "weight", "weight", O_UINT },
	{ "drain", "drain", O_FLAG },
	{ "disabled", "disabled", O_FLAG },
	{}
};

static const struct opt backend_set_opts[] = {
	{ "weight", "weight", O_UINT },
	{ "disabled", "disabled", O_ONOFF },
	{}
};

static const struct opt no_opts[] = { {} };

static int cmd_backend_list(const struct cmd *c, int argc, char **argv)
{
	struct json_object *args = json_object_new_object(), *root, *data;

	need(c, argc, 1);
	at_most(c, argc, 1);
	add_str(args, "service", argv[0]);
	data = call("backend.list", args, &root);
	if (json)
		print_json(data);
	else
		print_backends(data);
	json_object_put(root);
	return 0;
}

static int cmd_backend_change(const struct cmd *c, int argc, char **argv)
{
	struct json_object *args = json_object_new_object();
	const struct opt *opts = no_opts;

	need(c, argc, 2);
	add_str(args, "service", argv[0]);
	add_str(args, "address", argv[1]);
	if (!strcmp(c->rpc, "backend.add"))
		opts = backend_add_opts;
	else if (!strcmp(c->rpc, "backend.set"))
		opts = backend_set_opts;
	else if (!strcmp(c->rpc, "backend.del"))
		opts = force_opts;
	parse_opts(c, argc - 2, argv + 2, opts, args);
	return run_quiet(c->rpc, args);
}

/* ---- flows ------------------------------------------------------------------------ */

static int cmd_flows(const struct cmd *c, int argc, char **argv)
{
	struct json_object *args = json_object_new_object(), *root, *data, *fl;
	bool all = false;
	int pos = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--all")) {
			json_object_object_add(args, "all", json_object_new_boolean(1));
			all = true;
			continue;
		}
		if (!strcmp(argv[i], "--limit")) {
			if (i + 1 >= argc)
				die_usage("flows: --limit needs a number, e.g. --limit 100");
			add_uint(args, "limit", argv[++i], "--limit");
			continue;
		}
		if (argv[i][0] == '-')
			die_usage("flows: unknown option \"%s\" (usage: xlbctl %s %s)", argv[i],
				  c->words, c->usage);
		else if (pos == 0 && ++pos)
			add_str(args, "service", argv[i]);
		else if (pos == 1 && ++pos)
			add_str(args, "address", argv[i]);
		else
			die_usage("flows: unexpected \"%s\" (usage: xlbctl %s %s)", argv[i],
				  c->words, c->usage);
	}
	data = call("flows", args, &root);
	if (json) {
		print_json(data);
		json_object_put(root);
		return 0;
	}
	json_object_object_get_ex(data, "flows", &fl);
	printf("%-46s %-34s %-26s %8s\n", "CLIENT", "SERVICE", "BACKEND", "IDLE");
	for (size_t i = 0; i < json_object_array_length(fl); i++) {
		struct json_object *f = json_object_array_get_idx(fl, i);

		printf("%-46s %-34s %-26s %7.1fs\n", get_str(f, "client", "?"),
		       get_str(f, "service", "?"), get_str(f, "backend", "?"),
		       get_u64(f, "idle_ms") / 1000.0);
	}
	printf("%llu %s %llu s)%s\n", (unsigned long long)get_u64(data, "matched"),
	       all ? "flows (idle ones too; active = seen in the last" : "active flows (seen in the last",
	       (unsigned long long)get_u64(data, "window_s"),
	       get_u64(data, "matched") > json_object_array_length(fl) ? "; more than shown, "
	       "see --limit" : "");
	json_object_put(root);
	return 0;
}

static int cmd_flows_flush(const struct cmd *c, int argc, char **argv)
{
	struct json_object *args = json_object_new_object(), *root, *data;

	at_most(c, argc, 2);
	if (argc > 0)
		add_str(args, "service", argv[0]);
	if (argc > 1)
		add_str(args, "address", argv[1]);
	data = call("flows.flush", args, &root);
	if (json)
		print_json(data);
	else
		printf("%llu flow entries removed\n", (unsigned long long)get_u64(data, "flushed"));
	json_object_put(root);
	return 0;
}

/* ---- whole configurations ------------------------------------------------------ */

static int cmd_showconf(const struct cmd *c, int argc, char **argv)
{
	struct json_object *root, *data;

	at_most(c, argc, 0);
	data = call("showconf", NULL, &root);
	if (json)
		print_json(data);
	else
		fputs(json_object_get_string(data), stdout);
	json_object_put(root);
	return 0;
}

static char *read_file(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t len = 0, cap = 65536, n;
	char *buf;

	if (!f) {
		fprintf(stderr, "xlbctl: cannot read %s: %s\n", path, strerror(errno));
		exit(EXIT_FAIL);
	}
	buf = malloc(cap + 1);
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *grown = len < XLB_PROTO_MAX_LINE / 2 ? realloc(buf, 2 * cap + 1) : NULL;

			if (!grown) {
				fprintf(stderr, "xlbctl: %s is too large\n", path);
				exit(EXIT_FAIL);
			}
			buf = grown;
			cap *= 2;
		}
	}
	if (f != stdin)
		fclose(f);
	if (!buf)
		exit(EXIT_FAIL);
	buf[len] = 0;
	return buf;
}

static int cmd_setconf(const struct cmd *c, int argc, char **argv)
{
	struct json_object *args = json_object_new_object();
	char *text;

	need(c, argc, 1);
	if (argc == 2 && !strcmp(argv[1], "--force")) {
		json_object_object_add(args, "force", json_object_new_boolean(1));
		argc--;
	}
	at_most(c, argc, 1);
	text = read_file(argv[0]);
	add_str(args, "text", text);
	add_str(args, "name", argv[0]);
	free(text);
	return run_quiet(c->rpc, args);
}

static int cmd_attach(const struct cmd *c, int argc, char **argv)
{
	struct json_object *args = json_object_new_object();

	need(c, argc, 1);
	add_str(args, "interface", argv[0]);
	if (!strcmp(c->rpc, "attach"))
		parse_opts(c, argc - 1, argv + 1,
			   (const struct opt[]){ { "--generic", "generic", O_FLAG }, {} }, args);
	else
		at_most(c, argc, 1);
	return run_quiet(c->rpc, args);
}

static int cmd_help(const struct cmd *c, int argc, char **argv);

static const struct cmd cmds[] = {
	{ "show", "[VIP]", "everything at a glance: interfaces, gateway, VIPs, backends "
	  "(weight, admin, health, state, active flows, traffic)", cmd_show, "show" },
	{ "stats", "[--watch [SECONDS]]", "traffic per VIP and the XDP program's drop/pass "
	  "reasons; --watch shows rates", cmd_stats, "stats" },
	{ "vip list", "", "the VIPs", cmd_vip_list, "vip.list" },
	{ "vip show", "VIP", "one VIP and its backends", cmd_vip_show, "vip.show" },
	{ "vip add", "VIP [ring-size PRIME] [mss N] [hash 5-tuple|source]",
	  "add a VIP, e.g. 198.18.0.10:443/tcp or [2001:db8::10]:443/tcp", cmd_vip_change,
	  "vip.add" },
	{ "vip set", "VIP [ring-size PRIME] [mss N] [hash 5-tuple|source]",
	  "change a VIP's settings", cmd_vip_change, "vip.set" },
	{ "vip del", "VIP [--force]", "remove a VIP; refused while it has active flows "
	  "unless --force", cmd_vip_change, "vip.del" },
	{ "backend list", "VIP", "a VIP's backends", cmd_backend_list, "backend.list" },
	{ "backend add", "VIP ADDRESS [weight W] [drain] [disabled]",
	  "add a backend (weight 1..1000, default 1)", cmd_backend_change, "backend.add" },
	{ "backend set", "VIP ADDRESS [weight W] [disabled on|off]",
	  "change a backend's weight or take it out entirely", cmd_backend_change, "backend.set" },
	{ "backend drain", "VIP ADDRESS", "no new flows to the backend; every established "
	  "one keeps going", cmd_backend_change, "backend.drain" },
	{ "backend undrain", "VIP ADDRESS", "return a drained backend to service",
	  cmd_backend_change, "backend.undrain" },
	{ "backend del", "VIP ADDRESS [--force]", "remove a backend; refused while it has "
	  "active flows unless --force", cmd_backend_change, "backend.del" },
	{ "flows flush", "[VIP [BACKEND]]", "remove flow entries (established flows find "
	  "their backend from the ring again)", cmd_flows_flush, "flows.flush" },
	{ "flows", "[VIP [BACKEND]] [--all] [--limit N]", "active flows (seen within "
	  "flow_window), from the flow table; --all: idle entries too", cmd_flows, "flows" },
	{ "showconf", "", "the running VIPs and data-plane settings, in config-file syntax",
	  cmd_showconf, "showconf" },
	{ "setconf", "FILE [--force]", "replace the running VIPs and settings with FILE's ('-' "
	  "for stdin); removing backends with active flows needs --force", cmd_setconf,
	  "setconf" },
	{ "syncconf", "FILE [--force]", "change only what differs from FILE, keeping health "
	  "state; removing backends with active flows needs --force", cmd_setconf, "syncconf" },
	{ "attach", "INTERFACE [--generic]", "run the XDP program on one more interface",
	  cmd_attach, "attach" },
	{ "detach", "INTERFACE", "stop the XDP program on an interface", cmd_attach, "detach" },
	{ "help", "[COMMAND]", "this text, or one command's", cmd_help, NULL },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: xlbctl [-s SOCKET] [-j|--json] COMMAND [ARGS...]\n\n");
	for (size_t i = 0; i < N_CMDS; i++)
		fprintf(f, "  %-16s %s\n", cmds[i].words, cmds[i].usage);
	fprintf(f, "\nVIP is ADDRESS:PORT/tcp|udp ([IPv6]:PORT/tcp); -s defaults to %s.\n"
		"'xlbctl help COMMAND' tells more.\n", XLB_SOCKET_DEFAULT);
}

static int cmd_help(const struct cmd *c, int argc, char **argv)
{
	(void)c;
	if (!argc) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < N_CMDS; i++)
		if (xlb_words_match(cmds[i].words, argc, argv) == argc ||
		    (argc == 1 && !strncmp(cmds[i].words, argv[0], strlen(argv[0])) &&
		     cmds[i].words[strlen(argv[0])] == ' '))
			printf("xlbctl %s %s\n    %s\n", cmds[i].words, cmds[i].usage, cmds[i].help);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1, best = -1, best_n = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-s")) {
			if (i + 1 >= argc)
				die_usage("-s needs the socket's path, e.g. -s %s", XLB_SOCKET_DEFAULT);
			sock = argv[++i];
		}
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else
			die_usage("unknown option \"%s\" (see 'xlbctl help')", argv[i]);
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t k = 0; k < N_CMDS; k++) {
		int n = xlb_words_match(cmds[k].words, argc - i, argv + i);

		if (n > best_n) {
			best = (int)k;
			best_n = n;
		}
	}
	if (best < 0)
		die_usage("unknown command \"%s\" (see 'xlbctl help')", argv[i]);
	/* "--json" may also come after the command */
	for (int k = i + best_n; k < argc; k++)
		if (!strcmp(argv[k], "--json") || !strcmp(argv[k], "-j")) {
			json = true;
			memmove(&argv[k], &argv[k + 1], (argc - k - 1) * sizeof(*argv));
			argc--;
			k--;
		}
	return cmds[best].fn(&cmds[best], argc - i - best_n, argv + i + best_n);
}
