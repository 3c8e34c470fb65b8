/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * probe_int.h: what the probe engine's two halves share: probe.c (targets,
 * schedule, verdicts, the public API) and probe_conn.c (one probe's
 * connection: socket, TLS, request, reply, close). Not for other callers.
 */
#ifndef XLB_PROBE_INT_H
#define XLB_PROBE_INT_H

#include "probe.h"

#include <sys/types.h>

#include <openssl/ssl.h>

/* SSL objects kept for reuse, per SSL_CTX: as many as were in flight at
 * once, up to this. */
#define SSL_POOL_MAX	64

/* One SSL_CTX per (verify, CA file), shared by the targets that use it. */
struct ssl_ent {
	struct ssl_ent	*next;
	SSL_CTX		*ctx;		/* NULL: not loaded (err says why) */
	unsigned	refs;
	uint32_t	gen;		/* ctx loads: sessions of older ones are
					 * not resumed (the CA may differ) */
	unsigned	n_pool;
	SSL		*pool[SSL_POOL_MAX];	/* of ctx, cleared, no fd */
	bool		verify;
	bool		tried;
	uint64_t	checked_us;	/* last load attempt or stat() */
	struct timespec	mtime;		/* of the CA file loaded */
	off_t		size;
	char		err[XLB_PATH_MAX + 96];
	char		ca_file[];	/* "" = system default paths */
};

enum phase {
	PH_CONNECT,
	PH_SEND,		/* p->out, then p->after_send */
	PH_TLS,
	PH_RECV_HTTP,
	PH_RECV_SSTP,
	PH_CLOSE_SSTP,		/* Call Disconnect sent: until its Ack or EOF */
	PH_CLOSE_TLS,		/* close_notify sent: until EOF */
};

/* What comes after a completed send. */
enum next {
	NX_TLS,			/* PROXY header sent: the handshake */
	NX_TCP_DONE,		/* PROXY header sent: tcp probe done */
	NX_HTTP_REPLY,		/* request sent: read the reply head */
	NX_SSTP_ACK,		/* Call Connect Request sent: read the Ack */
	NX_SSTP_CLOSE,		/* Call Disconnect sent */
};

struct target;

/* A probe in flight. */
struct probe {
	struct target	*t;		/* NULL once ended */
	struct probe	*next_dead;
	int		fd;
	SSL		*ssl;
	uint8_t		phase;		/* enum phase */
	uint8_t		after_send;	/* enum next */
	bool		verdict;	/* result recorded: closing */
	bool		ok;		/* ... and it was XLB_PR_OK */
	bool		resumed;	/* the handshake resumed t->sess */
	const uint8_t	*out;
	size_t		out_len, out_off;
	uint8_t		*in;		/* XLB_PROBE_BUF, allocated on first read
					 * and kept with the probe for reuse */
	size_t		in_len;
	size_t		drained;
	uint64_t	start_us;
	char		alert[48];	/* fatal alert received, if any */
	char		req[512];
};

#define NO_HEAP		UINT32_MAX

struct target {
	uint64_t	key;
	struct target	*hnext;
	struct target	*next_dead;
	uint32_t	heap_idx;	/* in pr->idle at rest, pr->busy in flight */
	bool		dead;
	bool		notify;		/* on_change due after this step */
	uint64_t	due_us;		/* heap key: next start, or the deadline */
	uint64_t	next_us;	/* the next start, while in flight */
	struct xlb_ip	addr;
	uint16_t	port;
	struct xlb_probe_cfg cfg;
	struct ssl_ent	*ssl;
	SSL_SESSION	*sess;		/* to resume: from a probe that passed */
	uint32_t	sess_gen;	/* ssl->gen it was verified under */
	uint64_t	full_us;	/* sess's full handshake started */
	uint16_t	sess_cut;	/* its life is refresh * (1 - cut/2^17):
					 * full handshakes spread, not in step */
	struct probe	*run;
	char		where[56];	/* "198.18.31.2:443", "[2001:db8::1]:443" */
	struct xlb_probe_status st;
};

/* A binary min-heap of targets on due_us. */
struct heap {
	struct target	**v;
	size_t		len, cap;
};

struct xlb_prober {
	int		epfd;
	int		tfd;
	uint64_t	armed_us;	/* timerfd's expiry; 0 disarmed */
	xlb_probe_change_fn on_change;
	void		*arg;
	uint64_t	rng;
	unsigned	max_in_flight;	/* 0: no limit */
	uint64_t	tls_refresh_us;	/* full handshakes at least this often */

	struct target	**buckets;	/* by key, chained */
	size_t		n_buckets, n_targets;
	struct heap	idle;		/* targets at rest, by next start */
	struct heap	busy;		/* probes in flight, by deadline */
	struct ssl_ent	*ssl_ents;

	bool		in_run;		/* frees wait for the end of run() */
	struct probe	*free_probes;	/* ended, kept for reuse (next_dead) */
	unsigned	n_free_probes;
	struct probe	*dead_probes;
	struct target	*dead_targets;

	struct xlb_prober_stats stats;
};

/* probe.c */
uint64_t xlbp_now_us(void);
uint64_t xlbp_rnd(struct xlb_prober *pr);
/* The verdict of P: status, rise/fall, on_change after the step. */
void xlbp_record(struct xlb_prober *pr, struct probe *p, enum xlb_probe_result r);
/* The same for a failure, with its sentence ("ADDR:PORT: " is prefixed). */
void xlbp_fail(struct xlb_prober *pr, struct probe *p, enum xlb_probe_result r,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Closes P's connection (RST if RST) and schedules the next probe. */
void xlbp_end(struct xlb_prober *pr, struct probe *p, bool rst);

/* probe_conn.c */
struct ssl_ent *xlbp_ssl_get(struct xlb_prober *pr, bool verify, const char *ca_file);
void xlbp_ssl_put(struct xlb_prober *pr, struct ssl_ent *e);
/* socket, source, connect: P's target is set, its deadline scheduled */
void xlbp_connect(struct xlb_prober *pr, struct probe *p);
/* Runs P until it waits for the socket or ends. */
void xlbp_step(struct xlb_prober *pr, struct probe *p, uint32_t events);
/* P's deadline passed. */
void xlbp_expire(struct xlb_prober *pr, struct probe *p);
/* Ends P's TLS (its session kept for T or dropped by the verdict, the SSL
 * object back to the pool) and closes its socket. */
void xlbp_close(struct xlb_prober *pr, struct probe *p, bool rst);
/* T's session, dropped: the next handshake is full. */
void xlbp_forget_session(struct target *t);

#endif
