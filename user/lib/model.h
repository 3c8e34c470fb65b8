/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * model.h: the desired state of a load balancer, as the operator states it
 * (config file, state file, xlbctl): daemon settings, data-plane settings,
 * VIPs and their backends. xlbd turns it into map contents (dataplane.h);
 * config.c reads and writes it as text (docs/config.md).
 */
#ifndef XLB_MODEL_H
#define XLB_MODEL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xlb.h"

#define XLB_MAX_INTERFACES	8
#define XLB_PATH_MAX		256
#define XLB_NAME_MAX		64

/* An IPv4 or IPv6 address; IPv4 in a[0..3], the rest zero. */
struct xlb_ip {
	uint8_t	family;			/* XLB_FAMILY_V4 / XLB_FAMILY_V6; 0 = none */
	uint8_t	a[16];
};

/* Room for any xlb_service_str(). */
#define XLB_SERVICE_STRLEN	64

/* "198.18.0.10" / "2001:db8::10" -> *ip. Returns 0 or -EINVAL. */
int xlb_ip_parse(const char *s, struct xlb_ip *ip);
/* Into BUF (room for INET6_ADDRSTRLEN); returns BUF. */
const char *xlb_ip_str(const struct xlb_ip *ip, char *buf, size_t len);
bool xlb_ip_equal(const struct xlb_ip *a, const struct xlb_ip *b);
int xlb_ip_cmp(const struct xlb_ip *a, const struct xlb_ip *b);

/* A service: "198.18.0.10:443/tcp", "[2001:db8::10]:443/tcp". */
struct xlb_service {
	struct xlb_ip	addr;
	uint16_t	port;
	uint8_t		proto;		/* IPPROTO_TCP / IPPROTO_UDP */
};

/* Parses and prints the form above. Returns 0 or -EINVAL. */
int xlb_service_parse(const char *s, struct xlb_service *svc);
const char *xlb_service_str(const struct xlb_service *svc, char *buf, size_t len);
bool xlb_service_equal(const struct xlb_service *a, const struct xlb_service *b);
/* The first N bytes of S as "ADDR:PORT" or "[ADDR6]:PORT", port 1..65535. */
int xlb_hostport_parse(const char *s, size_t n, struct xlb_ip *ip, uint16_t *port);

/* ---- health probes (issue: SSTP-aware probes; settings only here) ---- */

/* One bit per probe key, in struct xlb_probe_cfg.set: which keys a backend's
 * probe gives itself; the others come from its VIP's probe
 * (xlb_probe_effective() in config.h). */
enum xlb_probe_key {
	XLB_PROBE_K_TYPE		= 1u << 0,
	XLB_PROBE_K_INTERVAL		= 1u << 1,
	XLB_PROBE_K_TIMEOUT		= 1u << 2,
	XLB_PROBE_K_RISE		= 1u << 3,
	XLB_PROBE_K_FALL		= 1u << 4,
	XLB_PROBE_K_PORT		= 1u << 5,
	XLB_PROBE_K_HOST		= 1u << 6,
	XLB_PROBE_K_VERIFY		= 1u << 7,
	XLB_PROBE_K_CA_FILE		= 1u << 8,
	XLB_PROBE_K_CERT_WARN_DAYS	= 1u << 9,
	XLB_PROBE_K_HTTP_PATH		= 1u << 10,
	XLB_PROBE_K_HTTP_STATUS		= 1u << 11,
	XLB_PROBE_K_SOURCE		= 1u << 12,
	XLB_PROBE_K_PROXY_V2		= 1u << 13,
};

enum xlb_probe_type {
	XLB_PROBE_NONE,			/* no probe: the backend is always up */
	XLB_PROBE_TCP,
	XLB_PROBE_TLS,
	XLB_PROBE_SSTP,
	XLB_PROBE_SSTP_DEEP,
	XLB_PROBE_HTTP,
};

struct xlb_probe_cfg {
	enum xlb_probe_type type;
	uint32_t	interval_ms;
	uint32_t	timeout_ms;
	uint16_t	rise;
	uint16_t	fall;
	uint16_t	port;		/* 0: the VIP's port */
	uint16_t	http_status;	/* http: expected status */
	char		http_path[XLB_PATH_MAX];
	char		host[XLB_NAME_MAX];	/* SNI and Host; "" = the address */
	char		ca_file[XLB_PATH_MAX];	/* "" = no verification file */
	bool		verify;		/* verify the certificate chain and name */
	uint16_t	cert_warn_days;
	struct xlb_ip	source;		/* probe from this address; none = any */
	bool		proxy_v2;	/* send a PROXY v2 LOCAL header first */
	uint32_t	set;		/* backends: enum xlb_probe_key given
					 * explicitly, the rest inherited;
					 * 0 = all inherited. VIPs: always 0 */
};

/* ---- VIPs and backends ------------------------------------------------- */

struct xlb_backend_cfg {
	struct xlb_ip	addr;
	uint32_t	weight;		/* relative share, 1..1000; default 1 */
	bool		drain;		/* admin: no new flows */
	bool		disabled;	/* admin: down, nothing at all */
	struct xlb_probe_cfg probe;	/* overrides the VIP's if .set */
};

struct xlb_vip_cfg {
	struct xlb_service svc;
	uint32_t	ring_size;	/* Maglev M, prime */
	uint16_t	mss;		/* SYN MSS clamp; 0 = from the MTU */
	bool		hash_src_only;	/* 'hash = "source"' */
	struct xlb_probe_cfg probe;	/* default for its backends */
	struct xlb_backend_cfg *backends;
	size_t		n_backends;
};

/* ---- daemon and data plane settings ----------------------------------- */

enum xlb_xdp_mode {
	XLB_XDP_NATIVE,
	XLB_XDP_GENERIC,		/* works everywhere, slow: warned about */
};

struct xlb_daemon_cfg {
	char		interfaces[XLB_MAX_INTERFACES][IF_NAMESIZE];
	size_t		n_interfaces;
	enum xlb_xdp_mode xdp_mode;
	char		pin_dir[XLB_PATH_MAX];
	char		bpf_object[XLB_PATH_MAX];
	char		socket[XLB_PATH_MAX];
	char		state_file[XLB_PATH_MAX];
	char		metrics[XLB_NAME_MAX];	/* "addr:port"; "" = off */
	int		log_level;		/* syslog LOG_* */
	uint32_t	flow_window_s;		/* "active" flow: seen this recently */
};

struct xlb_dataplane_cfg {
	uint16_t	mtu;
	struct xlb_ip	source_v4;
	struct xlb_ip	source_v6;
	struct xlb_ip	source_prefix_v4;
	uint8_t		source_prefix_v4_len;
	struct xlb_ip	source_prefix_v6;
	uint8_t		source_prefix_v6_len;
	uint8_t		ttl;
	uint32_t	hash_seed;
	uint32_t	flow_table_size;
	uint32_t	new_flow_limit;
	uint32_t	syn_rate_per_source;
	uint32_t	syn_burst_per_source;
	uint32_t	icmp_rate;
	bool		gateway_auto;		/* resolve from the kernel */
	uint8_t		gateway_mac[6];		/* when !gateway_auto */
};

struct xlb_conf {
	struct xlb_daemon_cfg	daemon;
	struct xlb_dataplane_cfg dataplane;
	struct xlb_vip_cfg	*vips;
	size_t			n_vips;
};

/* Defaults for everything (no VIPs). */
void xlb_conf_init(struct xlb_conf *c);
/* Defaults of a VIP (no service, no backends), a backend (no address) and a
 * probe, as docs/config.md gives them. */
void xlb_vip_init(struct xlb_vip_cfg *v);
void xlb_backend_init(struct xlb_backend_cfg *b);
void xlb_probe_init(struct xlb_probe_cfg *p);
/* Free the VIP and backend arrays; *c is left empty (defaults kept). */
void xlb_conf_free(struct xlb_conf *c);
/* Deep copy into DST, which is overwritten as raw memory (free it first if
 * it holds VIPs); 0 or -ENOMEM (DST then empty). */
int xlb_conf_copy(struct xlb_conf *dst, const struct xlb_conf *src);

/* Can the data plane give an outer source address to backends of FAMILY
 * (XLB_FAMILY_V4 or _V6): a fixed address or a prefix? */
bool xlb_dataplane_has_source(const struct xlb_dataplane_cfg *dp, uint8_t family);

struct xlb_vip_cfg *xlb_conf_find_vip(const struct xlb_conf *c, const struct xlb_service *svc);
struct xlb_backend_cfg *xlb_vip_find_backend(const struct xlb_vip_cfg *v, const struct xlb_ip *ip);

#endif
