/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* xlbd.h: the daemon's state and the contract between its parts: main.c
 * (event loop), attach.c (the XDP program), sync.c (desired state to maps),
 * ctl.c (control socket), metrics.c (Prometheus), log.c. */
#ifndef XLBD_H
#define XLBD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane.h"
#include "maglev.h"
#include "model.h"

struct xlb_gw;
struct xlb_metrics;
struct xlb_prober;

/* ---- logging ----------------------------------------------------------- */

/* syslog levels; lines go to stderr, with "<N>" prefixes under journald. */
void xlbd_log_init(int level, bool to_syslog);
void xlbd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...)	xlbd_log(3, __VA_ARGS__)
#define log_warn(...)	xlbd_log(4, __VA_ARGS__)
#define log_notice(...)	xlbd_log(5, __VA_ARGS__)
#define log_info(...)	xlbd_log(6, __VA_ARGS__)
#define log_debug(...)	xlbd_log(7, __VA_ARGS__)
int xlbd_log_level_parse(const char *s);
const char *xlbd_log_level_name(int level);

/* ---- what the daemon knows beyond the desired state ---------------------- */

enum xlbd_health {
	XLBD_HEALTH_UNKNOWN,		/* no probe result yet */
	XLBD_HEALTH_UP,
	XLBD_HEALTH_DOWN,
};

/* A backend as programmed: its id in xlb_backends and what it holds. */
struct rt_backend {
	struct xlb_ip	addr;
	uint32_t	id;
	enum xlbd_health health;
	uint8_t		state;		/* enum xlb_backend_state last written */
	bool		held_down;	/* down when its VIP's ring was frozen */
	bool		seen;		/* reconcile mark */
};

struct rt_vip {
	struct xlb_service svc;
	uint32_t	vip_id;
	uint64_t	ring_sig;	/* what the installed ring was built from */
	bool		ring_held;	/* every backend down by health: the
					 * last ring and states are kept */
	bool		was_held;
	bool		ring_live;	/* the last ring built sends somewhere */
	struct rt_backend *bes;
	size_t		n_bes;
	bool		seen;
};

struct xlbd_attach {
	char		ifname[IF_NAMESIZE];
	int		ifindex;
	uint32_t	prog_id;
	bool		generic;
};

struct xlbd {
	pthread_mutex_t	lock;		/* held by the loop; metrics take it */
	char		conf_path[XLB_PATH_MAX];
	struct xlb_conf	conf;		/* the desired state, running */

	/* the data plane */
	struct bpf_object *obj;		/* our loaded object, NULL if adopted */
	int		prog_fd;
	struct xlb_dp	dp;
	bool		dp_open;
	char		pin_dir[XLB_PATH_MAX];	/* where the maps are pinned */
	struct xlbd_attach attached[XLB_MAX_INTERFACES];
	size_t		n_attached;

	/* map ids and rings */
	struct rt_vip	*vips;
	size_t		n_vips;
	uint64_t	id_used[XLB_MAX_BACKENDS / 64];	/* backend ids given out */
	struct xlb_maglev mg;
	struct xlb_ring_slot *ring_buf;

	/* next hop */
	struct xlb_gw	*gw;
	uint8_t		gw_mac[6];
	bool		gw_known;
	bool		gw_lost;	/* known once, then not: VIP traffic waits */
	char		gw_desc[256];

	/* clock of the flow table */
	int		clock_fd;	/* xlb_clock syscall program */
	struct bpf_object *clock_obj;
	uint32_t	hz;

	struct xlb_metrics *metrics;
	struct xlb_prober *prober;
	uint64_t	started_ms;
	volatile int	stop;
};

/* attach.c */
int xlbd_dataplane_open(struct xlbd *d);
int xlbd_attach(struct xlbd *d, const char *ifname, bool generic, char *err, size_t errlen);
int xlbd_detach(struct xlbd *d, const char *ifname, char *err, size_t errlen);
void xlbd_dataplane_close(struct xlbd *d);
int xlbd_clock_now(struct xlbd *d, uint64_t *jiffies);

/* sync.c: make the maps say what d->conf (and health) say. Writes only
 * what differs. Returns 0 or -errno (logged). */
int xlbd_sync(struct xlbd *d);
/* Backend ids a sync to NEXT needs at its peak: a VIP's joining backends
 * get theirs before its leaving ones free theirs (VIPs that go free theirs
 * first). */
size_t xlbd_sync_ids_needed(struct xlbd *d, const struct xlb_conf *next);
int xlbd_sync_config_map(struct xlbd *d);
struct rt_vip *xlbd_rt_vip(struct xlbd *d, const struct xlb_service *svc);
struct rt_backend *xlbd_rt_backend(struct rt_vip *v, const struct xlb_ip *ip);
/* Backends' effective data-plane state from admin state and health. */
uint8_t xlbd_backend_state(const struct rt_vip *rv, const struct xlb_backend_cfg *b,
			   const struct rt_backend *rb);
void xlbd_set_health(struct xlbd *d, const struct xlb_service *svc, const struct xlb_ip *ip,
		     enum xlbd_health h, const char *why);

/* Flows per backend id seen within the activity window. */
struct xlbd_flow_counts {
	uint32_t *active;		/* indexed by backend id, XLB_MAX_BACKENDS */
	uint32_t *total;
	uint64_t entries;
};
int xlbd_count_flows(struct xlbd *d, struct xlbd_flow_counts *fc);
void xlbd_flow_counts_free(struct xlbd_flow_counts *fc);

/* health.c */
struct xlb_probe_status;
int xlbd_health_open(struct xlbd *d);
void xlbd_health_close(struct xlbd *d);
void xlbd_health_sync(struct xlbd *d);
/* Health is what a probe says: a backend without one is not down (after a
 * restart that found it down in the maps, or once its probe is removed). */
void xlbd_health_forget_unprobed(struct xlbd *d);
const struct xlb_probe_status *xlbd_health_status(struct xlbd *d, uint32_t id);

/* state.c */
int xlbd_state_save(struct xlbd *d);
int xlbd_interfaces_save(struct xlbd *d);
/* 1 if a saved list replaced daemon.interfaces, 0 if none, -errno */
int xlbd_interfaces_restore(struct xlbd *d);

/* ctl.c */
int xlbd_claim(struct xlbd *d);
int xlbd_ctl_open(struct xlbd *d);
void xlbd_ctl_close(void);
/* Poll set management for the loop: ctl adds and removes its fds. */
int xlbd_ctl_handle(struct xlbd *d, int fd, short revents);
/* Run one request line; returns the malloc'd response line. */
char *xlbd_ctl_run(struct xlbd *d, const char *line);
/* Once a second: close control connections idle for 10 minutes, or whose
 * answer has not been read for 30 s. */
void xlbd_ctl_tick(struct xlbd *d);

/* metrics.c */
struct xlb_metrics *xlbd_metrics_start(struct xlbd *d, const char *listen, char *err, size_t errlen);
void xlbd_metrics_stop(struct xlb_metrics *m);

/* main.c */
void xlbd_conf_warnings(struct xlbd *d);

/* main.c: the loop's fd registry */
typedef int (*xlbd_fd_fn)(struct xlbd *d, int fd, short revents);
int xlbd_watch(int fd, short events, xlbd_fd_fn fn);
/* CLOCK_MONOTONIC in milliseconds */
uint64_t xlbd_now_ms(void);
/* change what FD is watched for (POLLIN, POLLOUT) */
void xlbd_watch_events(int fd, short events);
void xlbd_unwatch(int fd);

#endif
