/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The desired-state model: addresses, services, defaults, copies, look-ups.
 * The text form (parsing, validation, formatting) is config.c.
 */
#include "model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define V4_LEN	4

/* ---- addresses ----------------------------------------------------------- */

int xlb_ip_parse(const char *s, struct xlb_ip *ip)
{
	struct xlb_ip r = { 0 };

	if (!s)
		return -EINVAL;
	/* inet_pton is strict already: no "1.2.3", no "300.1.1.1", no
	 * leading zeros, no zone ids, no surrounding space */
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, r.a) != 1)
			return -EINVAL;
		r.family = XLB_FAMILY_V6;
	} else {
		if (inet_pton(AF_INET, s, r.a) != 1)
			return -EINVAL;
		r.family = XLB_FAMILY_V4;
	}
	*ip = r;
	return 0;
}

const char *xlb_ip_str(const struct xlb_ip *ip, char *buf, size_t len)
{
	const char *s = NULL;

	if (ip->family == XLB_FAMILY_V4)
		s = inet_ntop(AF_INET, ip->a, buf, len);
	else if (ip->family == XLB_FAMILY_V6)
		s = inet_ntop(AF_INET6, ip->a, buf, len);
	if (!s && len)
		snprintf(buf, len, "%s", ip->family ? "?" : "none");
	return buf;
}

static size_t ip_len(uint8_t family)
{
	return family == XLB_FAMILY_V4 ? V4_LEN : sizeof(((struct xlb_ip *)0)->a);
}

int xlb_ip_cmp(const struct xlb_ip *a, const struct xlb_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (!a->family)
		return 0;
	return memcmp(a->a, b->a, ip_len(a->family));
}

bool xlb_ip_equal(const struct xlb_ip *a, const struct xlb_ip *b)
{
	return xlb_ip_cmp(a, b) == 0;
}

/* ---- services ------------------------------------------------------------ */

/* "1".."65535", digits only. */
static int port_parse(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > UINT16_MAX)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* ADDR:PORT or [ADDR6]:PORT, the address of the family its form says. */
int xlb_hostport_parse(const char *s, size_t n, struct xlb_ip *ip, uint16_t *port)
{
	char addr[INET6_ADDRSTRLEN];
	const char *colon, *a = s;
	size_t alen;

	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || close + 1 >= s + n || close[1] != ':')
			return -EINVAL;
		a = s + 1;
		alen = (size_t)(close - a);
		colon = close + 1;
	} else {
		colon = memchr(s, ':', n);
		if (!colon || memchr(colon + 1, ':', (size_t)(s + n - colon - 1)))
			return -EINVAL;	/* IPv6 must be bracketed */
		alen = (size_t)(colon - s);
	}
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	if (xlb_ip_parse(addr, ip))
		return -EINVAL;
	if ((a != s) != (ip->family == XLB_FAMILY_V6))
		return -EINVAL;	/* "[1.2.3.4]:80" */
	return port_parse(colon + 1, (size_t)(s + n - colon - 1), port);
}

int xlb_service_parse(const char *s, struct xlb_service *svc)
{
	struct xlb_service r = { 0 };
	const char *slash;

	if (!s)
		return -EINVAL;
	slash = strrchr(s, '/');
	if (!slash)
		return -EINVAL;
	if (!strcmp(slash + 1, "tcp"))
		r.proto = IPPROTO_TCP;
	else if (!strcmp(slash + 1, "udp"))
		r.proto = IPPROTO_UDP;
	else
		return -EINVAL;
	if (xlb_hostport_parse(s, (size_t)(slash - s), &r.addr, &r.port))
		return -EINVAL;
	*svc = r;
	return 0;
}

const char *xlb_service_str(const struct xlb_service *svc, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	const char *proto = svc->proto == IPPROTO_TCP ? "tcp" :
			    svc->proto == IPPROTO_UDP ? "udp" : "?";
	bool v6 = svc->addr.family == XLB_FAMILY_V6;

	xlb_ip_str(&svc->addr, ip, sizeof(ip));
	snprintf(buf, len, "%s%s%s:%u/%s", v6 ? "[" : "", ip, v6 ? "]" : "",
		 svc->port, proto);
	return buf;
}

bool xlb_service_equal(const struct xlb_service *a, const struct xlb_service *b)
{
	return a->port == b->port && a->proto == b->proto &&
	       xlb_ip_equal(&a->addr, &b->addr);
}

/* ---- whole configurations ------------------------------------------------ */

void xlb_probe_init(struct xlb_probe_cfg *p)
{
	*p = (struct xlb_probe_cfg){
		.type = XLB_PROBE_NONE,
		.interval_ms = 2000,
		.timeout_ms = 1000,
		.rise = 2,
		.fall = 3,
		.http_status = 200,
		.http_path = "/",
		.cert_warn_days = 14,
	};
}

void xlb_backend_init(struct xlb_backend_cfg *b)
{
	*b = (struct xlb_backend_cfg){ .weight = 1 };
	xlb_probe_init(&b->probe);
}

bool xlb_dataplane_has_source(const struct xlb_dataplane_cfg *dp, uint8_t family)
{
	return family == XLB_FAMILY_V4 ? dp->source_v4.family || dp->source_prefix_v4.family
				       : dp->source_v6.family || dp->source_prefix_v6.family;
}

void xlb_vip_init(struct xlb_vip_cfg *v)
{
	*v = (struct xlb_vip_cfg){ .ring_size = XLB_RING_SIZE_DEFAULT };
	xlb_probe_init(&v->probe);
}

void xlb_conf_init(struct xlb_conf *c)
{
	*c = (struct xlb_conf){
		.daemon = {
			.xdp_mode = XLB_XDP_NATIVE,
			.pin_dir = "/sys/fs/bpf/xlb",
			.bpf_object = "",	/* the object built into xlbd */
			.socket = "/run/xlb/xlbd.sock",
			.state_file = "/var/lib/xlb/state.conf",
			.log_level = LOG_INFO,
			.flow_window_s = 180,
		},
		.dataplane = {
			.mtu = XLB_MTU_DEFAULT,
			.ttl = 64,
			.hash_seed = 1,
			.flow_table_size = XLB_FLOW_TABLE_DEFAULT,
			.new_flow_limit = 200000,
			.icmp_rate = 100,
			.gateway_auto = true,
		},
	};
}

void xlb_conf_free(struct xlb_conf *c)
{
	for (size_t i = 0; i < c->n_vips; i++)
		free(c->vips[i].backends);
	free(c->vips);
	c->vips = NULL;
	c->n_vips = 0;
}

int xlb_conf_copy(struct xlb_conf *dst, const struct xlb_conf *src)
{
	*dst = *src;
	dst->vips = NULL;
	dst->n_vips = 0;
	if (!src->n_vips)
		return 0;
	dst->vips = calloc(src->n_vips, sizeof(*dst->vips));
	if (!dst->vips)
		return -ENOMEM;
	for (size_t i = 0; i < src->n_vips; i++) {
		const struct xlb_vip_cfg *sv = &src->vips[i];
		struct xlb_vip_cfg *dv = &dst->vips[i];

		*dv = *sv;
		dv->backends = NULL;
		dv->n_backends = 0;
		dst->n_vips = i + 1;
		if (!sv->n_backends)
			continue;
		dv->backends = malloc(sv->n_backends * sizeof(*dv->backends));
		if (!dv->backends) {
			xlb_conf_free(dst);
			return -ENOMEM;
		}
		memcpy(dv->backends, sv->backends, sv->n_backends * sizeof(*dv->backends));
		dv->n_backends = sv->n_backends;
	}
	return 0;
}

struct xlb_vip_cfg *xlb_conf_find_vip(const struct xlb_conf *c, const struct xlb_service *svc)
{
	for (size_t i = 0; i < c->n_vips; i++)
		if (xlb_service_equal(&c->vips[i].svc, svc))
			return &c->vips[i];
	return NULL;
}

struct xlb_backend_cfg *xlb_vip_find_backend(const struct xlb_vip_cfg *v, const struct xlb_ip *ip)
{
	for (size_t i = 0; i < v->n_backends; i++)
		if (xlb_ip_equal(&v->backends[i].addr, ip))
			return &v->backends[i];
	return NULL;
}
