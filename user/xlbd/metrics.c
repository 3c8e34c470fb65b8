// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * metrics.c: Prometheus text exposition on daemon.metrics (off by default),
 * served by libmicrohttpd on its own thread; each scrape takes the daemon's
 * lock, so it sees one consistent state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "probe.h"
#include "xlbd.h"

struct xlb_metrics {
	struct MHD_Daemon *mhd;
	struct xlbd *d;
};

/* A growing text buffer. */
struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->buf ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0 || o->oom)
			return;
		if (o->buf && o->len + n < o->cap) {
			o->len += n;
			return;
		}
		size_t cap = (o->cap + n + 1) * 2;
		char *grown = realloc(o->buf, cap);

		if (!grown) {
			o->oom = true;
			return;
		}
		o->buf = grown;
		o->cap = cap;
	}
}

static void help(struct out *o, const char *name, const char *type, const char *text)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static const char *state_word(uint8_t s)
{
	static const char *const w[] = { "unused", "active", "draining", "down" };

	return s < 4 ? w[s] : "unknown";
}

static void probe_metrics(struct xlbd *d, struct out *o, const char *vip, const char *be,
			  uint32_t id)
{
	const struct xlb_probe_status *st = xlbd_health_status(d, id);

	if (!st || !st->probes)
		return;
	put(o, "xlb_backend_probe_ok{vip=\"%s\",backend=\"%s\"} %d\n", vip, be,
	    st->last == XLB_PR_OK);
	put(o, "xlb_backend_probe_latency_seconds{vip=\"%s\",backend=\"%s\"} %.6f\n", vip, be,
	    st->latency_us / 1e6);
	for (int i = XLB_PR_OK; i < XLB_PR__COUNT; i++)
		if (st->count[i])
			put(o, "xlb_backend_probe_results_total{vip=\"%s\",backend=\"%s\","
			    "result=\"%s\"} %llu\n", vip, be, xlb_probe_result_name(i),
			    (unsigned long long)st->count[i]);
	if (st->cert_not_after)
		put(o, "xlb_backend_cert_expiry_days{vip=\"%s\",backend=\"%s\"} %d\n", vip, be,
		    st->cert_days_left);
}

static void render(struct xlbd *d, struct out *o)
{
	struct xlbd_flow_counts fc = {};
	uint64_t reasons[XLB_R_MAX] = {};
	char vip[80], be[64];

	xlbd_count_flows(d, &fc);
	help(o, "xlb_up", "gauge", "1 while xlbd runs");
	put(o, "xlb_up 1\n");
	help(o, "xlb_gateway_known", "gauge", "1 if the next hop's MAC is known");
	put(o, "xlb_gateway_known %d\n", d->gw_known);
	help(o, "xlb_flow_table_entries", "gauge", "entries in the flow table");
	put(o, "xlb_flow_table_entries %llu\n", (unsigned long long)fc.entries);
	help(o, "xlb_flow_table_size", "gauge", "capacity of the flow table");
	put(o, "xlb_flow_table_size %u\n", d->conf.dataplane.flow_table_size);

	if (!xlb_dp_reasons_read(&d->dp, reasons)) {
		help(o, "xlb_packets_total", "counter",
		     "packets passed, dropped or noted by the XDP program, by reason");
		for (int i = 0; i < XLB_R_MAX; i++)
			put(o, "xlb_packets_total{reason=\"%s\",kind=\"%s\"} %llu\n",
			    xlb_reason_name(i), xlb_reason_kind(i) == XLB_KIND_DROP ? "drop" :
			    xlb_reason_kind(i) == XLB_KIND_PASS ? "pass" : "event",
			    (unsigned long long)reasons[i]);
	}

	help(o, "xlb_vip_packets_total", "counter", "packets forwarded for the VIP");
	help(o, "xlb_vip_bytes_total", "counter", "bytes forwarded for the VIP (inner)");
	help(o, "xlb_vip_new_flows_total", "counter", "flow entries written for the VIP");
	help(o, "xlb_vip_drops_total", "counter", "packets to the VIP dropped");
	help(o, "xlb_vip_ring_held", "gauge",
	     "1 while every backend fails its health check and the last ring is kept");
	for (size_t i = 0; i < d->n_vips; i++) {
		struct rt_vip *rv = &d->vips[i];
		struct xlb_vip_stats st;

		xlb_service_str(&rv->svc, vip, sizeof(vip));
		if (xlb_dp_vip_stats_read(&d->dp, rv->vip_id, &st))
			continue;
		put(o, "xlb_vip_packets_total{vip=\"%s\"} %llu\n", vip,
		    (unsigned long long)st.packets);
		put(o, "xlb_vip_bytes_total{vip=\"%s\"} %llu\n", vip, (unsigned long long)st.bytes);
		put(o, "xlb_vip_new_flows_total{vip=\"%s\"} %llu\n", vip,
		    (unsigned long long)st.new_flows);
		put(o, "xlb_vip_drops_total{vip=\"%s\"} %llu\n", vip, (unsigned long long)st.drops);
		put(o, "xlb_vip_ring_held{vip=\"%s\"} %d\n", vip, rv->ring_held);
	}

	help(o, "xlb_backend_packets_total", "counter", "packets sent to the backend");
	help(o, "xlb_backend_bytes_total", "counter", "bytes sent to the backend (inner)");
	help(o, "xlb_backend_new_flows_total", "counter", "flow entries written for the backend");
	help(o, "xlb_backend_flows_active", "gauge",
	     "flow entries seen within daemon.flow_window seconds");
	help(o, "xlb_backend_flows", "gauge", "flow entries, active or not");
	help(o, "xlb_backend_up", "gauge", "health: 1 up, 0 down, -1 unknown (no result yet)");
	help(o, "xlb_backend_state", "gauge", "data-plane state of the backend (1 for the current)");
	help(o, "xlb_backend_probe_ok", "gauge", "1 if the last health probe succeeded");
	help(o, "xlb_backend_probe_latency_seconds", "gauge", "duration of the last health probe");
	help(o, "xlb_backend_probe_results_total", "counter", "finished health probes by result");
	help(o, "xlb_backend_cert_expiry_days", "gauge",
	     "days until the backend's TLS certificate expires (negative: expired)");
	for (size_t i = 0; i < d->n_vips; i++) {
		struct rt_vip *rv = &d->vips[i];

		xlb_service_str(&rv->svc, vip, sizeof(vip));
		for (size_t j = 0; j < rv->n_bes; j++) {
			struct rt_backend *rb = &rv->bes[j];
			struct xlb_backend_stats st = {};

			xlb_ip_str(&rb->addr, be, sizeof(be));
			if (!xlb_dp_backend_stats_read(&d->dp, rb->id, &st)) {
				put(o, "xlb_backend_packets_total{vip=\"%s\",backend=\"%s\"} %llu\n",
				    vip, be, (unsigned long long)st.packets);
				put(o, "xlb_backend_bytes_total{vip=\"%s\",backend=\"%s\"} %llu\n",
				    vip, be, (unsigned long long)st.bytes);
				put(o, "xlb_backend_new_flows_total{vip=\"%s\",backend=\"%s\"} %llu\n",
				    vip, be, (unsigned long long)st.new_flows);
			}
			if (fc.active) {
				put(o, "xlb_backend_flows_active{vip=\"%s\",backend=\"%s\"} %u\n",
				    vip, be, fc.active[rb->id]);
				put(o, "xlb_backend_flows{vip=\"%s\",backend=\"%s\"} %u\n", vip, be,
				    fc.total[rb->id]);
			}
			put(o, "xlb_backend_up{vip=\"%s\",backend=\"%s\"} %d\n", vip, be,
			    rb->health == XLBD_HEALTH_UP ? 1 : rb->health == XLBD_HEALTH_DOWN ? 0 : -1);
			put(o, "xlb_backend_state{vip=\"%s\",backend=\"%s\",state=\"%s\"} 1\n", vip,
			    be, state_word(rb->state));
			probe_metrics(d, o, vip, be, rb->id);
		}
	}
	xlbd_flow_counts_free(&fc);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct xlb_metrics *m = cls;
	struct MHD_Response *resp;
	struct out o = {};
	enum MHD_Result ret;
	unsigned int code = MHD_HTTP_OK;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		put(&o, "only GET\n");
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics")) {
		put(&o, "xlbd serves /metrics\n");
		code = MHD_HTTP_NOT_FOUND;
	} else {
		pthread_mutex_lock(&m->d->lock);
		render(m->d, &o);
		pthread_mutex_unlock(&m->d->lock);
	}
	if (o.oom || !o.buf)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(o.len, o.buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(o.buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* "127.0.0.1:9642" or "[::1]:9642" into SA. */
static int parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *len)
{
	char host[64];
	const char *colon;
	unsigned long port;
	char *end;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, rb - s - 1);
		host[rb - s - 1] = 0;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, colon - s);
		host[colon - s] = 0;
	}
	port = strtoul(colon + 1, &end, 10);
	if (*end || !port || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)sa)->sin_addr) == 1) {
		((struct sockaddr_in *)sa)->sin_family = AF_INET;
		((struct sockaddr_in *)sa)->sin_port = htons(port);
		*len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)sa)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)sa)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
		*len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

struct xlb_metrics *xlbd_metrics_start(struct xlbd *d, const char *listen, char *err,
				       size_t errlen)
{
	struct sockaddr_storage sa;
	struct xlb_metrics *m;
	socklen_t len;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;

	if (parse_listen(listen, &sa, &len)) {
		snprintf(err, errlen, "daemon.metrics \"%s\" is not ADDRESS:PORT", listen);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->d = d;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->mhd = MHD_start_daemon(flags, 0, NULL, NULL, answer, m,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				  MHD_OPTION_CONNECTION_LIMIT, 16,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10,
				  MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(err, errlen, "cannot listen on %s (address in use, or not local?)", listen);
		free(m);
		return NULL;
	}
	log_info("metrics on http://%s/metrics", listen);
	return m;
}

void xlbd_metrics_stop(struct xlb_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	free(m);
}
