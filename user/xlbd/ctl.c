// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ctl.c: the control socket (docs/protocol.md) and its commands.
 *
 * Every change follows one path: copy the desired state, change the copy,
 * check it, make the maps follow (sync.c), save it. A refused request
 * changes nothing; one the data plane cannot take is rolled back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "probe.h"
#include "proto.h"
#include "xlbd.h"

#define MAX_CLIENTS	64
#define ERR_LEN		768
/* flows listed in one answer: the answer stays well under a line's most */
#define FLOWS_LIMIT_MAX	50000
#define CLIENT_IDLE_MS	(10 * 60 * 1000)	/* no request for this long: closed */
#define CLIENT_STALL_MS	(30 * 1000)		/* an answer not read for this long */

/* A control connection. Its answer goes out as fast as the client reads
 * it: what the socket does not take waits in OUT, and the client's next
 * request is not read before the answer is out. */
struct client {
	int fd;
	struct xlb_line_buf lb;
	char *out;			/* the answer still to send, or NULL */
	size_t out_len, out_off;
	uint64_t active_ms;		/* last request or progress of OUT */
};

static int listen_fd = -1;
static struct client clients[MAX_CLIENTS];
static char socket_path[XLB_PATH_MAX];

/* ---- helpers ---------------------------------------------------------------- */

struct req {
	struct xlbd *d;
	struct json_object *args;
	char err[ERR_LEN];
	struct json_object *data;	/* the answer's "data" */
};

static const char *svc_str(const struct xlb_service *s)
{
	static char buf[4][80];
	static int n;

	n = (n + 1) % 4;
	return xlb_service_str(s, buf[n], sizeof(buf[n]));
}

static const char *ip_str(const struct xlb_ip *ip)
{
	static char buf[4][64];
	static int n;

	n = (n + 1) % 4;
	return xlb_ip_str(ip, buf[n], sizeof(buf[n]));
}

static int fail(struct req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Put WHAT (the object) in front of the message already in r->err. */
static int fail_about(struct req *r, const char *what)
{
	char msg[ERR_LEN];

	snprintf(msg, sizeof(msg), "%s", r->err);
	snprintf(r->err, sizeof(r->err), "%.160s: %.600s", what, msg);
	return -EINVAL;
}
static int fail(struct req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Arguments every command names the VIP with. */
static int arg_vip(struct req *r, struct xlb_conf *c, struct xlb_vip_cfg **out)
{
	struct xlb_service svc;
	int err = xlb_arg_service(r->args, "service", true, &svc, r->err, sizeof(r->err));

	if (err)
		return err;
	*out = xlb_conf_find_vip(c, &svc);
	if (!*out)
		return fail(r, "VIP %s: no such VIP (see 'xlbctl vip list')", svc_str(&svc));
	return 0;
}

static int arg_backend(struct req *r, struct xlb_vip_cfg *v, struct xlb_backend_cfg **out)
{
	struct xlb_ip ip;
	int err = xlb_arg_ip(r->args, "address", true, &ip, r->err, sizeof(r->err));

	if (err)
		return err;
	*out = xlb_vip_find_backend(v, &ip);
	if (!*out)
		return fail(r, "backend %s: no such backend of %s (see 'xlbctl backend list %s')",
			    ip_str(&ip), svc_str(&v->svc), svc_str(&v->svc));
	return 0;
}

static bool is_prime(uint64_t n)
{
	return xlb_is_prime((uint32_t)n);
}

/* Primes around N, for a helpful message. */
static void near_primes(uint64_t n, uint32_t *below, uint32_t *above)
{
	uint32_t b = n > 2 ? (uint32_t)n - 1 : 2, a = (uint32_t)n + 1;

	while (b > 2 && !xlb_is_prime(b))
		b--;
	while (!xlb_is_prime(a))
		a++;
	*below = b;
	*above = a;
}

/* Optional VIP settings shared by vip.add and vip.set. */
static const char *vip_what(const struct xlb_service *svc)
{
	static char buf[96];

	snprintf(buf, sizeof(buf), "VIP %s", svc_str(svc));
	return buf;
}

static int vip_options(struct req *r, struct xlb_vip_cfg *v)
{
	const char *hash = NULL;
	uint64_t n;
	int err;

	n = v->ring_size;
	err = xlb_arg_uint(r->args, "ring_size", false, 1021, XLB_RING_SIZE_MAX, &n, r->err,
			   sizeof(r->err));
	if (err)
		return fail_about(r, vip_what(&v->svc));
	if (!is_prime(n)) {
		uint32_t b, a;

		near_primes(n, &b, &a);
		return fail(r, "VIP %s: ring size %llu is not a prime; use %u or %u",
			    svc_str(&v->svc), (unsigned long long)n, b, a);
	}
	v->ring_size = (uint32_t)n;
	n = v->mss;
	err = xlb_arg_uint(r->args, "mss", false, 0, 9000, &n, r->err, sizeof(r->err));
	if (err)
		return fail_about(r, vip_what(&v->svc));
	if (n && n < 536)
		return fail(r, "VIP %s: mss %llu is below 536; give 536..9000, or 0 for the "
			    "default", svc_str(&v->svc), (unsigned long long)n);
	v->mss = (uint16_t)n;
	err = xlb_arg_string(r->args, "hash", false, &hash, r->err, sizeof(r->err));
	if (err)
		return err;
	if (hash) {
		if (strcmp(hash, "5-tuple") && strcmp(hash, "source"))
			return fail(r, "VIP %s: hash \"%s\" is unknown; use \"5-tuple\" or "
				    "\"source\"", svc_str(&v->svc), hash);
		v->hash_src_only = !strcmp(hash, "source");
	}
	return 0;
}

static int backend_options(struct req *r, const struct xlb_vip_cfg *v, struct xlb_backend_cfg *b)
{
	uint64_t w = b->weight;
	int err;

	err = xlb_arg_uint(r->args, "weight", false, 1, 1000, &w, r->err, sizeof(r->err));
	if (err) {
		char what[160];

		snprintf(what, sizeof(what), "backend %s of %s", ip_str(&b->addr), svc_str(&v->svc));
		return fail_about(r, what);
	}
	b->weight = (uint32_t)w;
	err = xlb_arg_bool(r->args, "disabled", &b->disabled, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_bool(r->args, "drain", &b->drain, r->err, sizeof(r->err));
	return err;
}

static size_t total_backends(const struct xlb_conf *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_vips; i++)
		n += c->vips[i].n_backends;
	return n;
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e3 + (b->tv_nsec - a->tv_nsec) / 1e6;
}

/* Make NEXT the running state: maps, then the state file. On a data-plane
 * error the previous state is restored. NEXT is consumed. */
static int commit(struct req *r, struct xlb_conf *next)
{
	struct xlbd *d = r->d;
	struct xlb_conf prev = d->conf;
	struct xlb_conf_error cerr = {};
	struct timespec t0, t1, t2;
	char msg[600];
	size_t ids;
	int err;

	if (xlb_conf_validate(next, XLB_CONF_RUNTIME, &cerr)) {
		xlb_conf_free(next);
		return fail(r, "%s (nothing was changed)",
			    xlb_conf_error_str(&cerr, msg, sizeof(msg)));
	}
	ids = xlbd_sync_ids_needed(d, next);
	if (ids > XLB_MAX_BACKENDS) {
		xlb_conf_free(next);
		return fail(r, "this change replaces backends while %zu are in use: for a moment "
			    "old and new need %zu backend entries, more than the %d xlb holds; "
			    "remove the old backends in one change, then add the new ones "
			    "(nothing was changed)", total_backends(&d->conf), ids,
			    XLB_MAX_BACKENDS);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	d->conf = *next;
	err = xlbd_sync(d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (err) {
		d->conf = prev;
		if (xlbd_sync(d)) {
			xlb_conf_free(next);
			return fail(r, "the data plane refused the change (%s), and restoring the "
				    "previous state failed too: the maps may be partly changed; see "
				    "xlbd's log, and 'xlbctl show'", strerror(-err));
		}
		xlb_conf_free(next);
		return fail(r, "the data plane refused the change (%s); the previous state is "
			    "restored, see xlbd's log", strerror(-err));
	}
	xlb_conf_free(&prev);
	xlbd_conf_warnings(d);
	err = xlbd_state_save(d);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (err)
		return fail(r, "applied, but saving the state to %s failed: %s; the change "
			    "will not survive a restart", d->conf.daemon.state_file, strerror(-err));
	/* how long the maps took to follow, and the state file */
	r->data = json_object_new_object();
	json_object_object_add(r->data, "applied_ms", json_object_new_double(ms_between(&t0, &t1)));
	json_object_object_add(r->data, "saved_ms", json_object_new_double(ms_between(&t1, &t2)));
	return 0;
}

static int copy_conf(struct req *r, struct xlb_conf *next)
{
	if (xlb_conf_copy(next, &r->d->conf))
		return fail(r, "out of memory");
	return 0;
}

/* ---- reports ------------------------------------------------------------------ */

static const char *health_word(enum xlbd_health h)
{
	return h == XLBD_HEALTH_UP ? "up" : h == XLBD_HEALTH_DOWN ? "down" : "unknown";
}

static const char *state_word(uint8_t s)
{
	static const char *const w[] = { "unused", "active", "draining", "down" };

	return s < 4 ? w[s] : "?";
}

static struct json_object *jstr(const char *s)
{
	return json_object_new_string(s);
}

static struct json_object *ju64(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* The probe's view of a backend: settings in short, last result, TLS. */
static void probe_json(struct xlbd *d, const struct xlb_vip_cfg *v,
		       const struct xlb_backend_cfg *b, const struct rt_backend *rb,
		       struct json_object *o)
{
	const struct xlb_probe_status *st = xlbd_health_status(d, rb->id);
	struct json_object *p, *fails;
	struct xlb_probe_cfg pc;

	xlb_probe_effective(v, b, &pc);
	if (pc.type == XLB_PROBE_NONE)
		return;
	p = json_object_new_object();
	json_object_object_add(p, "type", jstr(xlb_probe_type_name(pc.type)));
	json_object_object_add(p, "interval_ms", ju64(pc.interval_ms));
	if (st) {
		json_object_object_add(p, "last", jstr(xlb_probe_result_name(st->last)));
		json_object_object_add(p, "latency_ms", json_object_new_double(st->latency_us / 1e3));
		json_object_object_add(p, "probes", ju64(st->probes));
		json_object_object_add(p, "successes", ju64(st->successes));
		json_object_object_add(p, "failures", ju64(st->failures));
		fails = json_object_new_object();
		for (int i = XLB_PR_CONNECT_REFUSED; i < XLB_PR__COUNT; i++)
			if (st->count[i])
				json_object_object_add(fails, xlb_probe_result_name(i),
						       ju64(st->count[i]));
		json_object_object_add(p, "failures_by_reason", fails);
		if (st->tls_version[0]) {
			json_object_object_add(p, "tls_version", jstr(st->tls_version));
			json_object_object_add(p, "tls_cipher", jstr(st->tls_cipher));
			json_object_object_add(p, "tls_resumed", json_object_new_boolean(st->tls_resumed));
		}
		if (st->cert_not_after) {
			json_object_object_add(p, "cert_days_left",
					       json_object_new_int(st->cert_days_left));
			json_object_object_add(p, "cert_warn", json_object_new_boolean(st->cert_warn));
		}
		if (st->error[0])
			json_object_object_add(p, "error", jstr(st->error));
	}
	json_object_object_add(o, "probe", p);
}

static struct json_object *backend_json(struct xlbd *d, const struct xlb_vip_cfg *v,
					const struct xlb_backend_cfg *b,
					const struct xlbd_flow_counts *fc)
{
	struct rt_vip *rv = xlbd_rt_vip(d, &v->svc);
	struct rt_backend *rb = rv ? xlbd_rt_backend(rv, &b->addr) : NULL;
	struct json_object *o = json_object_new_object();
	struct xlb_backend_stats st = {};

	json_object_object_add(o, "address", jstr(ip_str(&b->addr)));
	json_object_object_add(o, "weight", ju64(b->weight));
	json_object_object_add(o, "admin", jstr(b->disabled ? "disabled" :
						 b->drain ? "draining" : "active"));
	if (!rb)
		return o;
	json_object_object_add(o, "id", ju64(rb->id));
	json_object_object_add(o, "health", jstr(health_word(rb->health)));
	json_object_object_add(o, "state", jstr(state_word(rb->state)));
	if (fc && fc->active) {
		json_object_object_add(o, "flows_active", ju64(fc->active[rb->id]));
		json_object_object_add(o, "flows", ju64(fc->total[rb->id]));
	}
	if (!xlb_dp_backend_stats_read(&d->dp, rb->id, &st)) {
		json_object_object_add(o, "packets", ju64(st.packets));
		json_object_object_add(o, "bytes", ju64(st.bytes));
		json_object_object_add(o, "new_flows", ju64(st.new_flows));
	}
	probe_json(d, v, b, rb, o);
	return o;
}

static struct json_object *vip_json(struct xlbd *d, const struct xlb_vip_cfg *v,
				    const struct xlbd_flow_counts *fc)
{
	struct rt_vip *rv = xlbd_rt_vip(d, &v->svc);
	struct json_object *o = json_object_new_object(), *bes = json_object_new_array();
	struct xlb_vip_stats st = {};

	json_object_object_add(o, "service", jstr(svc_str(&v->svc)));
	json_object_object_add(o, "ring_size", ju64(v->ring_size));
	json_object_object_add(o, "mss", ju64(v->mss));
	json_object_object_add(o, "hash", jstr(v->hash_src_only ? "source" : "5-tuple"));
	if (rv) {
		json_object_object_add(o, "id", ju64(rv->vip_id));
		json_object_object_add(o, "ring_held", json_object_new_boolean(rv->ring_held));
		if (!xlb_dp_vip_stats_read(&d->dp, rv->vip_id, &st)) {
			json_object_object_add(o, "packets", ju64(st.packets));
			json_object_object_add(o, "bytes", ju64(st.bytes));
			json_object_object_add(o, "new_flows", ju64(st.new_flows));
			json_object_object_add(o, "drops", ju64(st.drops));
		}
	}
	for (size_t i = 0; i < v->n_backends; i++)
		json_object_array_add(bes, backend_json(d, v, &v->backends[i], fc));
	json_object_object_add(o, "backends", bes);
	return o;
}

static int cmd_show(struct req *r)
{
	static const char *const known[] = { "service", NULL };
	struct xlbd *d = r->d;
	struct json_object *o = json_object_new_object(), *vips = json_object_new_array();
	struct json_object *ifs = json_object_new_array(), *gw = json_object_new_object();
	struct xlbd_flow_counts fc = {};
	struct xlb_vip_cfg *only = NULL;
	char mac[24];
	int err;

	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (!err && json_object_object_get_ex(r->args, "service", NULL))
		err = arg_vip(r, &d->conf, &only);
	if (err) {
		json_object_put(o);
		json_object_put(vips);
		json_object_put(ifs);
		json_object_put(gw);
		return err;
	}
	if (xlbd_count_flows(d, &fc))
		log_warn("counting flows failed");
	for (size_t i = 0; i < d->n_attached; i++) {
		struct json_object *a = json_object_new_object();

		json_object_object_add(a, "name", jstr(d->attached[i].ifname));
		json_object_object_add(a, "mode", jstr(d->attached[i].generic ? "generic" : "native"));
		json_object_object_add(a, "prog_id", ju64(d->attached[i].prog_id));
		json_object_array_add(ifs, a);
	}
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", d->gw_mac[0], d->gw_mac[1],
		 d->gw_mac[2], d->gw_mac[3], d->gw_mac[4], d->gw_mac[5]);
	json_object_object_add(gw, "known", json_object_new_boolean(d->gw_known));
	if (d->gw_known)
		json_object_object_add(gw, "mac", jstr(mac));
	json_object_object_add(gw, "detail", jstr(d->gw_desc));
	for (size_t i = 0; i < d->conf.n_vips; i++)
		if (!only || only == &d->conf.vips[i])
			json_object_array_add(vips, vip_json(d, &d->conf.vips[i], &fc));
	json_object_object_add(o, "interfaces", ifs);
	json_object_object_add(o, "gateway", gw);
	json_object_object_add(o, "flow_entries", ju64(fc.entries));
	json_object_object_add(o, "flow_table_size", ju64(d->conf.dataplane.flow_table_size));
	json_object_object_add(o, "flow_window", ju64(d->conf.daemon.flow_window_s));
	json_object_object_add(o, "vips", vips);
	xlbd_flow_counts_free(&fc);
	r->data = o;
	return 0;
}

static int cmd_vip_list(struct req *r)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < r->d->conf.n_vips; i++)
		json_object_array_add(a, jstr(svc_str(&r->d->conf.vips[i].svc)));
	r->data = a;
	return xlb_args_only(r->args, (const char *const[]){ NULL }, r->err, sizeof(r->err));
}

static int cmd_vip_show(struct req *r)
{
	struct xlbd_flow_counts fc = {};
	struct xlb_vip_cfg *v;
	int err = xlb_args_only(r->args, (const char *const[]){ "service", NULL }, r->err,
				sizeof(r->err));

	if (!err)
		err = arg_vip(r, &r->d->conf, &v);
	if (err)
		return err;
	xlbd_count_flows(r->d, &fc);
	r->data = vip_json(r->d, v, &fc);
	xlbd_flow_counts_free(&fc);
	return 0;
}

static int cmd_vip_add(struct req *r)
{
	static const char *const known[] = { "service", "ring_size", "mss", "hash", NULL };
	struct xlb_vip_cfg *grown, v;
	struct xlb_conf next;
	int err;

	xlb_vip_init(&v);
	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_service(r->args, "service", true, &v.svc, r->err, sizeof(r->err));
	if (!err)
		err = vip_options(r, &v);
	if (err)
		return err;
	if (xlb_conf_find_vip(&r->d->conf, &v.svc))
		return fail(r, "VIP %s already exists (change it with 'xlbctl vip set')",
			    svc_str(&v.svc));
	if (r->d->conf.n_vips >= XLB_MAX_VIPS)
		return fail(r, "VIP %s: there are already %d VIPs, the most xlb holds",
			    svc_str(&v.svc), XLB_MAX_VIPS);
	if (copy_conf(r, &next))
		return -ENOMEM;
	grown = realloc(next.vips, (next.n_vips + 1) * sizeof(*grown));
	if (!grown) {
		xlb_conf_free(&next);
		return fail(r, "out of memory");
	}
	next.vips = grown;
	next.vips[next.n_vips++] = v;
	return commit(r, &next);
}

static int cmd_vip_set(struct req *r)
{
	static const char *const known[] = { "service", "ring_size", "mss", "hash", NULL };
	struct xlb_conf next;
	struct xlb_vip_cfg *v;
	int err;

	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (err || copy_conf(r, &next))
		return err ?: -ENOMEM;
	err = arg_vip(r, &next, &v);
	if (!err)
		err = vip_options(r, v);
	if (err) {
		xlb_conf_free(&next);
		return err;
	}
	return commit(r, &next);
}

/* Active flows on the backends of V (or just B) into *N, for refusals.
 * Flows that cannot be counted are refused, unless FORCE. */
static int active_flows(struct req *r, const struct xlb_vip_cfg *v,
			const struct xlb_backend_cfg *only, bool force, uint64_t *n)
{
	struct rt_vip *rv = xlbd_rt_vip(r->d, &v->svc);
	struct xlbd_flow_counts fc;
	int err;

	*n = 0;
	if (!rv || force)
		return 0;
	err = xlbd_count_flows(r->d, &fc);
	if (err)
		return fail(r, "%s: its active flows cannot be counted (%s); delete anyway with "
			    "--force", svc_str(&v->svc), strerror(-err));
	for (size_t i = 0; i < rv->n_bes; i++)
		if (!only || xlb_ip_equal(&rv->bes[i].addr, &only->addr))
			*n += fc.active[rv->bes[i].id];
	xlbd_flow_counts_free(&fc);
	return 0;
}

static int cmd_vip_del(struct req *r)
{
	static const char *const known[] = { "service", "force", NULL };
	struct xlb_conf next;
	struct xlb_vip_cfg *v;
	bool force = false;
	uint64_t n;
	size_t i;
	int err;

	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_bool(r->args, "force", &force, r->err, sizeof(r->err));
	if (!err)
		err = arg_vip(r, &r->d->conf, &v);
	if (!err)
		err = active_flows(r, v, NULL, force, &n);
	if (err)
		return err;
	if (n)
		return fail(r, "VIP %s still has %llu active flows; drain its backends and wait, "
			    "or delete it anyway with --force", svc_str(&v->svc),
			    (unsigned long long)n);
	if (copy_conf(r, &next))
		return -ENOMEM;
	v = xlb_conf_find_vip(&next, &v->svc);
	i = v - next.vips;
	free(v->backends);
	memmove(&next.vips[i], &next.vips[i + 1], (next.n_vips - i - 1) * sizeof(*v));
	next.n_vips--;
	return commit(r, &next);
}

static int cmd_backend_list(struct req *r)
{
	struct xlbd_flow_counts fc = {};
	struct json_object *a;
	struct xlb_vip_cfg *v;
	int err = xlb_args_only(r->args, (const char *const[]){ "service", NULL }, r->err,
				sizeof(r->err));

	if (!err)
		err = arg_vip(r, &r->d->conf, &v);
	if (err)
		return err;
	xlbd_count_flows(r->d, &fc);
	a = json_object_new_array();
	for (size_t i = 0; i < v->n_backends; i++)
		json_object_array_add(a, backend_json(r->d, v, &v->backends[i], &fc));
	xlbd_flow_counts_free(&fc);
	r->data = a;
	return 0;
}

static int cmd_backend_add(struct req *r)
{
	static const char *const known[] = { "service", "address", "weight", "drain",
					     "disabled", NULL };
	struct xlb_backend_cfg b, *grown;
	struct xlb_vip_cfg *v;
	struct xlb_conf next;
	int err;

	xlb_backend_init(&b);
	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (err || copy_conf(r, &next))
		return err ?: -ENOMEM;
	err = arg_vip(r, &next, &v);
	if (!err)
		err = xlb_arg_ip(r->args, "address", true, &b.addr, r->err, sizeof(r->err));
	if (!err)
		err = backend_options(r, v, &b);
	if (!err && xlb_vip_find_backend(v, &b.addr))
		err = fail(r, "backend %s of %s already exists (change it with 'xlbctl backend "
			   "set')", ip_str(&b.addr), svc_str(&v->svc));
	if (!err && total_backends(&next) >= XLB_MAX_BACKENDS)
		err = fail(r, "backend %s: there are already %d backends, the most xlb holds",
			   ip_str(&b.addr), XLB_MAX_BACKENDS);
	if (!err && v->n_backends >= v->ring_size)
		err = fail(r, "backend %s: %s's ring (%u slots) cannot hold more backends; "
			   "raise it with 'xlbctl vip set %s ring-size N'", ip_str(&b.addr),
			   svc_str(&v->svc), v->ring_size, svc_str(&v->svc));
	if (!err && !xlb_dataplane_has_source(&r->d->conf.dataplane, b.addr.family))
		err = fail(r, "backend %s: no outer source address for IPv%d backends; set "
			   "dataplane.source_v%d (or source_prefix_v%d) in the config file first",
			   ip_str(&b.addr), b.addr.family, b.addr.family, b.addr.family);
	if (!err) {
		grown = realloc(v->backends, (v->n_backends + 1) * sizeof(*grown));
		if (!grown)
			err = fail(r, "out of memory");
		else {
			v->backends = grown;
			v->backends[v->n_backends++] = b;
		}
	}
	if (err) {
		xlb_conf_free(&next);
		return err;
	}
	return commit(r, &next);
}

/* backend.set, .drain, .undrain: change one backend's admin settings. */
static int change_backend(struct req *r, int drain)
{
	static const char *const known_set[] = { "service", "address", "weight", "drain",
						 "disabled", NULL };
	static const char *const known_drain[] = { "service", "address", NULL };
	struct xlb_backend_cfg *b;
	struct xlb_vip_cfg *v;
	struct xlb_conf next;
	int err;

	err = xlb_args_only(r->args, drain < 0 ? known_set : known_drain, r->err, sizeof(r->err));
	if (err || copy_conf(r, &next))
		return err ?: -ENOMEM;
	err = arg_vip(r, &next, &v);
	if (!err)
		err = arg_backend(r, v, &b);
	if (!err && drain < 0)
		err = backend_options(r, v, b);
	if (!err && drain >= 0)
		b->drain = drain;
	if (err) {
		xlb_conf_free(&next);
		return err;
	}
	return commit(r, &next);
}

static int cmd_backend_set(struct req *r)
{
	return change_backend(r, -1);
}

static int cmd_backend_drain(struct req *r)
{
	return change_backend(r, 1);
}

static int cmd_backend_undrain(struct req *r)
{
	return change_backend(r, 0);
}

static int cmd_backend_del(struct req *r)
{
	static const char *const known[] = { "service", "address", "force", NULL };
	struct xlb_backend_cfg *b;
	struct xlb_vip_cfg *v;
	struct xlb_conf next;
	bool force = false;
	uint64_t n;
	size_t i;
	int err;

	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_bool(r->args, "force", &force, r->err, sizeof(r->err));
	if (!err)
		err = arg_vip(r, &r->d->conf, &v);
	if (!err)
		err = arg_backend(r, v, &b);
	if (!err)
		err = active_flows(r, v, b, force, &n);
	if (err)
		return err;
	if (n)
		return fail(r, "backend %s of %s still has %llu active flows; drain it "
			    "('xlbctl backend drain %s %s') and wait for them to end, or delete "
			    "it anyway with --force", ip_str(&b->addr), svc_str(&v->svc),
			    (unsigned long long)n, svc_str(&v->svc), ip_str(&b->addr));
	if (copy_conf(r, &next))
		return -ENOMEM;
	v = xlb_conf_find_vip(&next, &v->svc);
	b = xlb_vip_find_backend(v, &b->addr);
	i = b - v->backends;
	memmove(&v->backends[i], &v->backends[i + 1], (v->n_backends - i - 1) * sizeof(*b));
	v->n_backends--;
	return commit(r, &next);
}

static int cmd_stats(struct req *r)
{
	struct json_object *o, *reasons, *vips;
	uint64_t counts[XLB_R_MAX];
	int err;

	err = xlb_args_only(r->args, (const char *const[]){ NULL }, r->err, sizeof(r->err));
	if (err)
		return err;
	err = xlb_dp_reasons_read(&r->d->dp, counts);
	if (err)
		return fail(r, "reading counters: %s", strerror(-err));
	o = json_object_new_object();
	reasons = json_object_new_object();
	vips = json_object_new_array();
	for (int i = 0; i < XLB_R_MAX; i++)
		json_object_object_add(reasons, xlb_reason_name(i), ju64(counts[i]));
	for (size_t i = 0; i < r->d->conf.n_vips; i++)
		json_object_array_add(vips, vip_json(r->d, &r->d->conf.vips[i], NULL));
	json_object_object_add(o, "reasons", reasons);
	json_object_object_add(o, "vips", vips);
	r->data = o;
	return 0;
}

/* ---- flows ------------------------------------------------------------------------ */

struct flows_ctx {
	struct xlbd *d;
	const struct rt_vip *rv;	/* only this VIP's backends */
	const struct rt_backend *rb;	/* only this backend */
	uint64_t now, window, limit, n;
	bool all;			/* idle ones too */
	struct json_object *out;
};

static int flow_one(const struct xlb_flow_key *k, const struct xlb_flow *f, void *arg)
{
	struct flows_ctx *c = arg;
	struct json_object *o;
	struct xlb_ip src = {}, dst = {};
	char buf[160];
	bool ok = !c->rv;

	if (!c->all && c->now - f->last_seen > c->window)
		return 0;
	for (size_t i = 0; c->rv && i < c->rv->n_bes && !ok; i++)
		ok = c->rv->bes[i].id == f->backend_id;
	if (!ok || (c->rb && c->rb->id != f->backend_id))
		return 0;
	if (++c->n > c->limit)
		return 0;
	src.family = dst.family = k->family;
	memcpy(src.a, k->src, k->family == XLB_FAMILY_V4 ? 4 : 16);
	memcpy(dst.a, k->dst, k->family == XLB_FAMILY_V4 ? 4 : 16);
	o = json_object_new_object();
	snprintf(buf, sizeof(buf), k->family == XLB_FAMILY_V4 ? "%s:%u" : "[%s]:%u",
		 ip_str(&src), ntohs(k->sport));
	json_object_object_add(o, "client", jstr(buf));
	snprintf(buf, sizeof(buf), k->family == XLB_FAMILY_V4 ? "%s:%u/%s" : "[%s]:%u/%s",
		 ip_str(&dst), ntohs(k->dport), k->proto == IPPROTO_TCP ? "tcp" : "udp");
	json_object_object_add(o, "service", jstr(buf));
	json_object_object_add(o, "backend_id", ju64(f->backend_id));
	for (size_t i = 0; i < c->d->n_vips; i++)
		for (size_t j = 0; j < c->d->vips[i].n_bes; j++)
			if (c->d->vips[i].bes[j].id == f->backend_id)
				json_object_object_add(o, "backend",
						       jstr(ip_str(&c->d->vips[i].bes[j].addr)));
	json_object_object_add(o, "idle_ms", ju64((c->now - f->last_seen) * 1000 / c->d->hz));
	json_object_array_add(c->out, o);
	return 0;
}

static int flows_filter(struct req *r, struct flows_ctx *c)
{
	struct xlb_backend_cfg *b;
	struct xlb_vip_cfg *v;
	int err;

	if (!json_object_object_get_ex(r->args, "service", NULL))
		return 0;
	err = arg_vip(r, &r->d->conf, &v);
	if (err)
		return err;
	c->rv = xlbd_rt_vip(r->d, &v->svc);
	if (!json_object_object_get_ex(r->args, "address", NULL))
		return 0;
	err = arg_backend(r, v, &b);
	if (err)
		return err;
	c->rb = c->rv ? xlbd_rt_backend((struct rt_vip *)c->rv, &b->addr) : NULL;
	return 0;
}

static int cmd_flows(struct req *r)
{
	static const char *const known[] = { "service", "address", "limit", "all", NULL };
	struct flows_ctx c = { .d = r->d, .limit = 1000 };
	int err;

	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_bool(r->args, "all", &c.all, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_uint(r->args, "limit", false, 1, FLOWS_LIMIT_MAX, &c.limit, r->err,
				   sizeof(r->err));
	if (!err)
		err = flows_filter(r, &c);
	if (err)
		return err;
	if (xlbd_clock_now(r->d, &c.now))
		return fail(r, "reading the kernel clock failed");
	c.window = (uint64_t)r->d->conf.daemon.flow_window_s * r->d->hz;
	c.out = json_object_new_array();
	err = xlb_dp_flows_walk(&r->d->dp, flow_one, &c);
	if (err) {
		json_object_put(c.out);
		return fail(r, "reading the flow table: %s", strerror(-err));
	}
	r->data = json_object_new_object();
	json_object_object_add(r->data, "flows", c.out);
	json_object_object_add(r->data, "matched", ju64(c.n));
	json_object_object_add(r->data, "window_s", ju64(r->d->conf.daemon.flow_window_s));
	return 0;
}

static int cmd_flows_flush(struct req *r)
{
	static const char *const known[] = { "service", "address", NULL };
	struct flows_ctx c = { .d = r->d };
	long n = 0, got;
	int err;

	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (!err)
		err = flows_filter(r, &c);
	if (err)
		return err;
	if (!c.rv) {
		n = xlb_dp_flows_flush(&r->d->dp, XLB_NO_BACKEND);
	} else {
		for (size_t i = 0; i < c.rv->n_bes && n >= 0; i++) {
			if (c.rb && c.rb != &c.rv->bes[i])
				continue;
			got = xlb_dp_flows_flush(&r->d->dp, c.rv->bes[i].id);
			n = got < 0 ? got : n + got;
		}
	}
	if (n < 0)
		return fail(r, "flushing flows: %s", strerror((int)-n));
	log_notice("flow table flushed: %ld entries", n);
	r->data = json_object_new_object();
	json_object_object_add(r->data, "flushed", ju64(n));
	return 0;
}

/* ---- whole configurations ------------------------------------------------------ */

static int cmd_showconf(struct req *r)
{
	int err = xlb_args_only(r->args, (const char *const[]){ NULL }, r->err, sizeof(r->err));
	char *text;

	if (err)
		return err;
	text = xlb_conf_format(&r->d->conf, XLB_CONF_RUNTIME, 0);
	if (!text)
		return fail(r, "out of memory");
	r->data = jstr(text);
	free(text);
	return 0;
}

/* Backends NEXT would remove (with their VIP or alone) that still carry
 * active flows: refused without force, as vip del and backend del are. */
static int check_removals(struct req *r, const struct xlb_conf *next)
{
	struct xlbd *d = r->d;
	struct xlbd_flow_counts fc;
	char list[400] = "";
	uint64_t total = 0;
	size_t cut = 0;
	int err = xlbd_count_flows(d, &fc);

	if (err)
		return fail(r, "the active flows cannot be counted (%s), so removals cannot be "
			    "checked; apply it anyway with --force (nothing was changed)",
			    strerror(-err));
	for (size_t i = 0; i < d->conf.n_vips; i++) {
		const struct xlb_vip_cfg *v = &d->conf.vips[i];
		const struct xlb_vip_cfg *nv = xlb_conf_find_vip(next, &v->svc);
		struct rt_vip *rv = xlbd_rt_vip(d, &v->svc);

		for (size_t j = 0; rv && j < v->n_backends; j++) {
			struct rt_backend *rb = xlbd_rt_backend(rv, &v->backends[j].addr);
			uint32_t n = rb ? fc.active[rb->id] : 0;
			size_t len = strlen(list);

			if (!n || (nv && xlb_vip_find_backend(nv, &v->backends[j].addr)))
				continue;
			total += n;
			if (cut++ < 4)
				snprintf(list + len, sizeof(list) - len, "%sbackend %s of %s (%u)",
					 len ? ", " : "", ip_str(&v->backends[j].addr),
					 svc_str(&v->svc), n);
		}
	}
	xlbd_flow_counts_free(&fc);
	if (!total)
		return 0;
	return fail(r, "this would remove %zu backend%s with %llu active flows: %s%s; drain "
		    "them and wait, or apply it anyway with --force (nothing was changed)", cut,
		    cut == 1 ? "" : "s", (unsigned long long)total, list, cut > 4 ? ", ..." : "");
}

/* setconf and syncconf (one command, two names, as in wg): only what
 * differs is written to the maps, and backends that stay keep their
 * health. */
static int cmd_setconf(struct req *r)
{
	static const char *const known[] = { "text", "name", "force", NULL };
	const char *text = NULL, *name = "config";
	struct xlb_conf_error cerr = {};
	struct xlb_conf next;
	bool force = false;
	int err;

	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_string(r->args, "text", true, &text, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_string(r->args, "name", false, &name, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_bool(r->args, "force", &force, r->err, sizeof(r->err));
	if (err)
		return err;
	if (copy_conf(r, &next))
		return -ENOMEM;
	/* the file carries dataplane and vips; a whole config file (with a
	 * daemon section, as systemctl reload sends) is fine too: its daemon
	 * section needs a restart and is left out */
	err = xlb_conf_parse_string(text, name, XLB_CONF_RUNTIME, &next, &cerr);
	if (err && !strcmp(cerr.key, "daemon")) {
		memset(&cerr, 0, sizeof(cerr));
		err = xlb_conf_parse_string(text, name, XLB_CONF_FULL, &next, &cerr);
		if (!err && memcmp(&next.daemon, &r->d->conf.daemon, sizeof(next.daemon)))
			log_notice("%s: its daemon section differs from the running one; that "
				   "takes a restart of xlbd (dataplane and vips were applied)", name);
	}
	if (err) {
		char msg[600];

		xlb_conf_free(&next);
		return fail(r, "%s (nothing was changed)",
			    xlb_conf_error_str(&cerr, msg, sizeof(msg)));
	}
	next.daemon = r->d->conf.daemon;
	if (!force) {
		err = check_removals(r, &next);
		if (err) {
			xlb_conf_free(&next);
			return err;
		}
	}
	/* health is what the probes saw of a backend, not configuration: a
	 * backend that stays keeps it, also through setconf */
	return commit(r, &next);
}


/* attach/detach survive a restart: the interface list is saved. */
static int remember_interface(struct req *r, const char *ifname, bool add)
{
	struct xlb_daemon_cfg *dc = &r->d->conf.daemon;
	size_t i;

	for (i = 0; i < dc->n_interfaces && strcmp(dc->interfaces[i], ifname); i++)
		;
	if (add && i == dc->n_interfaces) {
		if (dc->n_interfaces == XLB_MAX_INTERFACES)
			return fail(r, "interface %s: attached, but xlbd remembers at most %d "
				    "interfaces: it will not be attached again after a restart",
				    ifname, XLB_MAX_INTERFACES);
		snprintf(dc->interfaces[dc->n_interfaces++], IF_NAMESIZE, "%s", ifname);
	} else if (!add && i < dc->n_interfaces) {
		memmove(&dc->interfaces[i], &dc->interfaces[i + 1],
			(dc->n_interfaces - i - 1) * sizeof(dc->interfaces[0]));
		dc->n_interfaces--;
	}
	if (xlbd_interfaces_save(r->d))
		return fail(r, "interface %s: done, but saving the interface list failed; it will "
			    "not survive a restart (see xlbd's log)", ifname);
	return 0;
}

static int cmd_attach(struct req *r)
{
	static const char *const known[] = { "interface", "generic", NULL };
	const char *ifname = NULL;
	bool generic = r->d->conf.daemon.xdp_mode == XLB_XDP_GENERIC;
	int err;

	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_string(r->args, "interface", true, &ifname, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_bool(r->args, "generic", &generic, r->err, sizeof(r->err));
	if (!err)
		err = xlbd_attach(r->d, ifname, generic, r->err, sizeof(r->err));
	if (!err)
		err = remember_interface(r, ifname, true);
	return err;
}

static int cmd_detach(struct req *r)
{
	static const char *const known[] = { "interface", NULL };
	const char *ifname = NULL;
	int err;

	err = xlb_args_only(r->args, known, r->err, sizeof(r->err));
	if (!err)
		err = xlb_arg_string(r->args, "interface", true, &ifname, r->err, sizeof(r->err));
	if (!err)
		err = xlbd_detach(r->d, ifname, r->err, sizeof(r->err));
	if (!err)
		err = remember_interface(r, ifname, false);
	return err;
}

static int cmd_ping(struct req *r)
{
	int err = xlb_args_only(r->args, (const char *const[]){ NULL }, r->err, sizeof(r->err));

	if (err)
		return err;
	r->data = json_object_new_object();
	json_object_object_add(r->data, "version", jstr(XLB_VERSION));
	json_object_object_add(r->data, "uptime_s",
			       ju64((xlbd_now_ms() - r->d->started_ms) / 1000));
	return 0;
}

static const struct command {
	const char *name;
	int (*fn)(struct req *r);
} commands[] = {
	{ "ping", cmd_ping },
	{ "show", cmd_show },
	{ "stats", cmd_stats },
	{ "vip.list", cmd_vip_list },
	{ "vip.show", cmd_vip_show },
	{ "vip.add", cmd_vip_add },
	{ "vip.set", cmd_vip_set },
	{ "vip.del", cmd_vip_del },
	{ "backend.list", cmd_backend_list },
	{ "backend.add", cmd_backend_add },
	{ "backend.set", cmd_backend_set },
	{ "backend.drain", cmd_backend_drain },
	{ "backend.undrain", cmd_backend_undrain },
	{ "backend.del", cmd_backend_del },
	{ "flows", cmd_flows },
	{ "flows.flush", cmd_flows_flush },
	{ "showconf", cmd_showconf },
	{ "setconf", cmd_setconf },
	{ "syncconf", cmd_setconf },
	{ "attach", cmd_attach },
	{ "detach", cmd_detach },
};

char *xlbd_ctl_run(struct xlbd *d, const char *line)
{
	struct req r = { .d = d };
	struct json_object *root;
	const char *cmd;
	size_t i;
	int err;

	root = xlb_req_parse(line, &cmd, &r.args, r.err, sizeof(r.err));
	if (!root)
		return xlb_resp_error("%s", r.err);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, cmd))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		json_object_put(root);
		return xlb_resp_error("unknown command \"%.64s\" (see 'xlbctl help')", cmd);
	}
	err = commands[i].fn(&r);
	json_object_put(root);
	if (err) {
		json_object_put(r.data);
		return xlb_resp_error("%s", r.err[0] ? r.err : strerror(-err));
	}
	return xlb_resp_ok(r.data);
}

/* ---- the socket ------------------------------------------------------------------ */

static void client_close(struct client *c)
{
	xlbd_unwatch(c->fd);
	close(c->fd);
	xlb_line_free(&c->lb);
	free(c->out);
	*c = (struct client){ .fd = -1 };
}

/* Send what the socket takes of C's answer: 0 when all of it is out, 1
 * while some waits, or -errno (the client is gone). */
static int client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -errno;
		}
		c->out_off += n;
		c->active_ms = xlbd_now_ms();
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

/* Queue RESP (consumed) as C's answer line and send what goes. */
static int client_answer(struct client *c, char *resp)
{
	size_t len;

	if (!resp)
		return -ENOMEM;
	len = strlen(resp);
	c->out = realloc(resp, len + 1);
	if (!c->out) {
		free(resp);
		return -ENOMEM;
	}
	c->out[len] = '\n';
	c->out_len = len + 1;
	c->out_off = 0;
	return client_flush(c);
}

static int client_event(struct xlbd *d, int fd, short revents)
{
	struct client *c = NULL;
	char *line;
	int ret;

	(void)revents;
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd == fd)
			c = &clients[i];
	if (!c)
		return 0;
	if (c->out) {
		ret = client_flush(c);
		if (ret < 0)
			client_close(c);
		if (ret)
			return 0;
		xlbd_watch_events(fd, POLLIN);
	}
	for (;;) {
		ret = xlb_line_read(fd, &c->lb, &line);
		if (ret == 0)
			return 0;
		if (ret < 0) {
			if (ret == -EMSGSIZE) {
				char *resp = xlb_resp_error("request longer than %u bytes",
							    XLB_PROTO_MAX_LINE);

				if (resp)
					xlb_write_line(fd, resp);
				free(resp);
			}
			client_close(c);
			return 0;
		}
		c->active_ms = xlbd_now_ms();
		/* JSON text has no NUL: one would hide what follows it */
		ret = client_answer(c, strlen(line) + 1 == c->lb.line_len
				       ? xlbd_ctl_run(d, line)
				       : xlb_resp_error("request contains a NUL byte"));
		xlb_line_consume(&c->lb);
		/* a client that vanished mid-answer costs nothing but itself */
		if (ret < 0) {
			client_close(c);
			return 0;
		}
		if (ret) {		/* the rest when the client reads */
			xlbd_watch_events(fd, POLLOUT);
			return 0;
		}
	}
}

void xlbd_ctl_tick(struct xlbd *d)
{
	uint64_t now = xlbd_now_ms();

	(void)d;
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd >= 0 && now - c->active_ms > (c->out ? CLIENT_STALL_MS : CLIENT_IDLE_MS))
			client_close(c);
	}
}

static int listen_event(struct xlbd *d, int fd, short revents)
{
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	size_t i;

	(void)d;
	if (cfd < 0)
		return 0;
	for (i = 0; i < MAX_CLIENTS && clients[i].fd >= 0; i++)
		;
	if (i == MAX_CLIENTS) {
		char *resp = xlb_resp_error("too many control connections; try again");

		xlb_write_line(cfd, resp);
		free(resp);
		close(cfd);
		return 0;
	}
	clients[i] = (struct client){ .fd = cfd, .active_ms = xlbd_now_ms() };
	return xlbd_watch(cfd, POLLIN, client_event);
}

/* Is another xlbd answering on PATH? */
static bool socket_alive(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	alive = fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (fd >= 0)
		close(fd);
	return alive;
}

static int mkdir_parent(const char *path)
{
	char dir[XLB_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Make sure no other xlbd runs on this state: nobody answers on the
 * socket, and the state file's lock is ours (held until exit). */
int xlbd_claim(struct xlbd *d)
{
	char path[XLB_PATH_MAX + 8];
	int fd;

	if (socket_alive(d->conf.daemon.socket)) {
		log_err("another xlbd answers on %s: stop it first (nothing was touched)",
			d->conf.daemon.socket);
		return -EADDRINUSE;
	}
	if (mkdir_parent(d->conf.daemon.state_file)) {
		log_err("cannot create the directory of %s: %s", d->conf.daemon.state_file,
			strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s.lock", d->conf.daemon.state_file);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
		log_err("another xlbd holds %s (%s): stop it first (nothing was touched)", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EBUSY;
	}
	return 0;		/* the fd stays open: the lock lives as long as we do */
}

int xlbd_ctl_open(struct xlbd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = d->conf.daemon.socket;
	mode_t old;
	int err;

	for (size_t i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("daemon.socket %s is too long for a Unix socket", path);
		return -ENAMETOOLONG;
	}
	if (socket_alive(path)) {
		log_err("another xlbd answers on %s: stop it first", path);
		return -EADDRINUSE;
	}
	err = mkdir_parent(path);
	if (err) {
		log_err("creating the directory of %s: %s", path, strerror(-err));
		return err;
	}
	unlink(path);
	strcpy(sa.sun_path, path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		return -errno;
	old = umask(0177);		/* root only, from birth */
	err = bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (!err && listen(listen_fd, 16))
		err = -errno;
	if (err) {
		log_err("listening on %s: %s", path, strerror(-err));
		close(listen_fd);
		listen_fd = -1;
		return err;
	}
	chmod(path, 0600);
	snprintf(socket_path, sizeof(socket_path), "%s", path);
	return xlbd_watch(listen_fd, POLLIN, listen_event);
}

void xlbd_ctl_close(void)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	if (listen_fd >= 0) {
		xlbd_unwatch(listen_fd);
		close(listen_fd);
		unlink(socket_path);
	}
	listen_fd = -1;
}
