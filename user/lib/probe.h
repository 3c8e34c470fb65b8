/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * probe.h: backend health probes (tcp, tls, sstp, sstp-deep, http) run by
 * one event-driven engine in the caller's thread, and the pure parsers and
 * builders of what goes over the wire (probe_wire.c).
 *
 * The engine is one epoll fd: the caller polls xlb_prober_fd() for POLLIN
 * and calls xlb_prober_run(), which does every ready piece of work without
 * blocking (connects, TLS steps, reads, timers) and reports health changes
 * through the on_change callback. Every probe has one deadline (the
 * probe's timeout) and reads a bounded number of bytes, so a hostile
 * backend costs at most its timeout and XLB_PROBE_BUF bytes.
 *
 * Health follows rise/fall: UNKNOWN or DOWN -> UP after `rise` consecutive
 * successes; UNKNOWN or UP -> DOWN after `fall` consecutive failures.
 *
 * TLS probes resume the target's last session (TLS 1.2 ticket or id, TLS
 * 1.3 ticket) and so skip the certificate's decoding and verification,
 * but a resumed handshake shows no certificate: a target does a full
 * handshake, with the certificate read and (verify on) checked again, at
 * least every xlb_prober_set_tls_refresh() seconds, and always after a
 * failure, a change of its settings or a reload of its CA file. Only a
 * session whose probe succeeded (verify on: whose certificate passed) is
 * kept for resuming.
 */
#ifndef XLB_PROBE_H
#define XLB_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model.h"

enum xlb_probe_health {
	XLB_HEALTH_UNKNOWN,		/* not enough results yet */
	XLB_HEALTH_UP,
	XLB_HEALTH_DOWN,
};

/* What one probe ended with. Names (xlb_probe_result_name()) are stable:
 * logs, metrics labels and xlbctl show them. */
enum xlb_probe_result {
	XLB_PR_NONE,			/* "none": no probe has finished yet */
	XLB_PR_OK,			/* "ok" */
	XLB_PR_CONNECT_REFUSED,		/* "connect_refused": RST to the SYN */
	XLB_PR_CONNECT_TIMEOUT,		/* "connect_timeout": no SYN-ACK by the deadline */
	XLB_PR_UNREACHABLE,		/* "unreachable": no route, ICMP unreachable */
	XLB_PR_CONNECT_ERROR,		/* "connect_error": any other connect() error */
	XLB_PR_SOURCE_BIND,		/* "source_bind": the probe's source address */
	XLB_PR_TIMEOUT,			/* "timeout": connected, no verdict by the deadline */
	XLB_PR_CLOSED,			/* "closed": the peer closed before the verdict */
	XLB_PR_RESET,			/* "reset": the peer reset the connection */
	XLB_PR_TLS_ALERT,		/* "tls_alert": the peer sent a fatal alert */
	XLB_PR_TLS_ERROR,		/* "tls_error": handshake or record failure */
	XLB_PR_CERT_INVALID,		/* "cert_invalid": chain or name (verify on) */
	XLB_PR_CERT_EXPIRED,		/* "cert_expired": past notAfter (verify on) */
	XLB_PR_CA_FILE,			/* "ca_file": the CA file cannot be loaded */
	XLB_PR_HTTP_STATUS,		/* "http_status": not the expected status */
	XLB_PR_HTTP_MALFORMED,		/* "http_malformed": not an HTTP/1.x reply */
	XLB_PR_SSTP_NAK,		/* "sstp_nak": Call Connect Nak */
	XLB_PR_SSTP_ABORT,		/* "sstp_abort": Call Abort/Disconnect instead of Ack */
	XLB_PR_SSTP_MALFORMED,		/* "sstp_malformed": not a valid SSTP reply */
	XLB_PR_TOO_LARGE,		/* "too_large": the reply exceeded its bound */
	XLB_PR_LOCAL_ERROR,		/* "local_error": our side (socket(), memory) */
	XLB_PR__COUNT
};

/* "ok", "connect_refused", ...; "?" for an unknown value. */
const char *xlb_probe_result_name(enum xlb_probe_result r);
/* "unknown", "up", "down". */
const char *xlb_probe_health_name(enum xlb_probe_health h);

/* A target's state as xlb_prober_status() gives it. */
struct xlb_probe_status {
	enum xlb_probe_health	health;
	enum xlb_probe_result	last;		/* the last finished probe */
	uint32_t	latency_us;		/* the last probe: start to verdict */
	uint32_t	successes;		/* consecutive, up to now */
	uint32_t	failures;		/* consecutive, up to now */
	uint64_t	probes;			/* finished since the target was added */
	uint64_t	count[XLB_PR__COUNT];	/* finished probes by result */
	time_t		changed;		/* last health change (wall clock), 0 never */

	/* from the last TLS handshake that completed (tls, sstp, sstp-deep);
	 * a resumed one reports the certificate of its full handshake */
	char		tls_version[16];	/* "TLSv1.3" */
	char		tls_cipher[64];		/* "TLS_AES_256_GCM_SHA384" */
	time_t		cert_not_after;		/* the leaf's notAfter; 0 none */
	int32_t		cert_days_left;		/* whole days; negative: expired */
	bool		cert_warn;		/* expires within cert_warn_days */
	bool		tls_resumed;		/* that handshake resumed a session */
	time_t		cert_checked;		/* last full handshake (wall clock),
						 * where the certificate was read
						 * and checked; 0 never */

	uint16_t	http_status;		/* last status line seen; 0 none */
	uint8_t		sstp_hash;		/* last Ack's hash bitmask (1 SHA1, 2 SHA256) */

	/* the last failure, as a sentence: "198.18.31.2:443: no SYN-ACK
	 * within 1000 ms". Kept after successes; "" before any failure. */
	char		error[192];
};

struct xlb_prober;

/* Called on every health transition (never by set()/del()); ST->last is
 * the reason and ST->error the detail when it went down. It may call
 * xlb_prober_status(), xlb_prober_set() and xlb_prober_del() (any key),
 * but not xlb_prober_free(). */
typedef void (*xlb_probe_change_fn)(void *arg, uint64_t key, enum xlb_probe_health h,
				    const struct xlb_probe_status *st);

/* A new engine; NULL with errno set on failure. */
struct xlb_prober *xlb_prober_new(xlb_probe_change_fn on_change, void *arg);
/* Closes every connection and frees everything. NULL is fine. */
void xlb_prober_free(struct xlb_prober *pr);

/*
 * Add or update the target KEY (any value the caller likes, e.g. VIP id <<
 * 32 | backend address hash): probe ADDR with CFG, on CFG->port or, when
 * that is 0, PORT. CFG is copied.
 *
 * New target: health INITIAL (e.g. what the state file said), first probe
 * at a random point within one interval.
 * Same address, port and settings: nothing changes (state and schedule).
 * Anything changed: a probe in flight is dropped unrecorded, the
 * consecutive counts restart from 0, health stays, the next probe comes at
 * a random point within the (new) interval. INITIAL is ignored.
 * Type none: nothing is probed and health is UP at once (read it back with
 * xlb_prober_status(); on_change is not called).
 *
 * Returns 0, -EINVAL (no address, interval or timeout 0, unknown type,
 * port 0 for a probe that connects) or -ENOMEM.
 */
int xlb_prober_set(struct xlb_prober *pr, uint64_t key, const struct xlb_ip *addr,
		   uint16_t port, const struct xlb_probe_cfg *cfg,
		   enum xlb_probe_health initial);
/* Forget KEY; a probe in flight is closed. Unknown keys are ignored. */
void xlb_prober_del(struct xlb_prober *pr, uint64_t key);

/* The fd to poll for POLLIN (an epoll fd; the engine's timer is inside). */
int xlb_prober_fd(const struct xlb_prober *pr);
/* Do all ready work without blocking. Returns the number of events and
 * timers handled (0: spurious wake-up) or -errno from epoll_wait(). */
int xlb_prober_run(struct xlb_prober *pr);

/* KEY's status; NULL if unknown. Valid until the next call into the
 * engine. */
const struct xlb_probe_status *xlb_prober_status(const struct xlb_prober *pr, uint64_t key);

/* The engine as a whole (metrics, benchmarks). */
struct xlb_prober_stats {
	uint32_t	targets;		/* with a probe type other than none */
	uint32_t	in_flight;		/* connections open now */
	uint32_t	max_in_flight;		/* since xlb_prober_new() */
	uint32_t	ssl_ctxs;		/* one per (verify, CA file) in use */
	uint64_t	started;		/* probes started */
	uint64_t	finished;		/* probes with a verdict */
	uint64_t	late;			/* started > XLB_PROBE_LATE_US after due */
	uint64_t	lateness_max_us;	/* worst start - due */
	uint64_t	lateness_sum_us;	/* over all started probes */
	uint64_t	tls_full;		/* handshakes done in full */
	uint64_t	tls_resumed;		/* handshakes that resumed a session */
};
#define XLB_PROBE_LATE_US	50000

void xlb_prober_stats(const struct xlb_prober *pr, struct xlb_prober_stats *out);

/* At most N probes in flight at once (0: no limit; default
 * XLB_PROBE_MAX_IN_FLIGHT): due probes beyond it wait, counted as late,
 * rather than all starting and all missing their deadlines when the CPU
 * cannot keep up. Each probe in flight holds one fd. */
#define XLB_PROBE_MAX_IN_FLIGHT	512
void xlb_prober_set_max_in_flight(struct xlb_prober *pr, unsigned n);

/* A full TLS handshake at least every SECS seconds per target (at a
 * random point between SECS/2 and SECS after the last one, so that targets
 * added together do not all refresh in the same second); between them,
 * probes resume the target's session. Default XLB_PROBE_TLS_REFRESH_S; 0:
 * never resume, every handshake is full (as before resumption); at most
 * XLB_PROBE_TLS_REFRESH_MAX_S. A new value applies from each target's next
 * probe. */
#define XLB_PROBE_TLS_REFRESH_S		60
#define XLB_PROBE_TLS_REFRESH_MAX_S	86400
void xlb_prober_set_tls_refresh(struct xlb_prober *pr, unsigned secs);

/* Bytes the engine allocates for one target at rest, and for a probe in
 * flight besides its OpenSSL objects (sizes of its own structures). A TLS
 * target at rest also holds its session: OpenSSL's, ~6 KB with one ECDSA
 * P-256 certificate, more with RSA keys and chains. */
size_t xlb_prober_target_size(void);
size_t xlb_prober_probe_size(void);

/* ---- wire formats (probe_wire.c): pure functions, fuzzed ---------------- */

/* Reply bounds: an HTTP status line and headers, and one SSTP packet
 * (12-bit length). A probe reads at most XLB_PROBE_BUF bytes. */
#define XLB_HTTP_HDR_MAX	8192
#define XLB_SSTP_PKT_MAX	4095
#define XLB_PROBE_BUF		XLB_HTTP_HDR_MAX

enum xlb_parse {
	XLB_PARSE_OK		= 0,
	XLB_PARSE_NEED_MORE	= 1,
	XLB_PARSE_MALFORMED	= -1,
	XLB_PARSE_TOO_LARGE	= -2,
};

/*
 * An HTTP/1.x reply head in BUF[0..LEN): "HTTP/1.1 200 OK\r\n", header
 * lines ("Name: value", names in any case, bare LF line ends accepted),
 * an empty line.
 * OK: complete; *STATUS the code, *HDR_END the offset just past the empty
 * line (where a body or, after SSTP_DUPLEX_POST, SSTP packets start).
 * NEED_MORE: incomplete so far; *STATUS is set (else 0) once the status
 * line is complete, so a wrong status can be judged early.
 * MALFORMED: not HTTP/1.x, a bad status line or header line, a NUL.
 * TOO_LARGE: no end of headers within XLB_HTTP_HDR_MAX bytes.
 * *MINOR (may be NULL) gets the x of HTTP/1.x.
 */
int xlb_http_reply_parse(const char *buf, size_t len, int *status, int *minor,
			 size_t *hdr_end);

/* SSTP (MS-SSTP 2.2) */
#define XLB_SSTP_VERSION		0x10
#define XLB_SSTP_CALL_CONNECT_REQUEST	0x0001
#define XLB_SSTP_CALL_CONNECT_ACK	0x0002
#define XLB_SSTP_CALL_CONNECT_NAK	0x0003
#define XLB_SSTP_CALL_CONNECTED		0x0004
#define XLB_SSTP_CALL_ABORT		0x0005
#define XLB_SSTP_CALL_DISCONNECT	0x0006
#define XLB_SSTP_CALL_DISCONNECT_ACK	0x0007
#define XLB_SSTP_ECHO_REQUEST		0x0008
#define XLB_SSTP_ECHO_RESPONSE		0x0009
#define XLB_SSTP_ATTR_ENCAP_PROTO	1
#define XLB_SSTP_ATTR_STATUS_INFO	2
#define XLB_SSTP_ATTR_CRYPTO_BINDING	3
#define XLB_SSTP_ATTR_CRYPTO_BINDING_REQ 4
#define XLB_SSTP_ACK_LEN		48	/* Call Connect Ack, whole packet */
#define XLB_SSTP_MAX_ATTRS		8	/* kept in struct xlb_sstp_msg */

struct xlb_sstp_attr {
	uint8_t		id;
	uint16_t	len;			/* value length (header excluded) */
	uint16_t	off;			/* value offset in the packet */
};

struct xlb_sstp_msg {
	uint16_t	len;			/* whole packet */
	bool		control;
	/* control packets */
	uint16_t	type;
	uint16_t	n_attrs;		/* as announced and present */
	struct xlb_sstp_attr attr[XLB_SSTP_MAX_ATTRS];	/* the first ones */
	/* decoded when present */
	bool		has_binding_req;	/* Crypto Binding Request (Ack) */
	uint8_t		hash_bitmask;		/* its hash protocols */
	uint8_t		nonce[32];
	bool		has_status;		/* Status Info (Nak, Abort, ...) */
	uint8_t		status_attr;		/* attribute it is about */
	uint32_t	status;			/* its status code */
};

/*
 * One SSTP packet at the start of BUF[0..LEN).
 * OK: *OUT filled; the packet is OUT->len bytes (the next one follows).
 * NEED_MORE: fewer than 4 bytes, or than the packet's length.
 * MALFORMED: version not 0x10, length < 4 (8 for control), reserved
 * bits set, attribute lengths that do not add up to the packet, a
 * Crypto Binding Request or Status Info of the wrong size.
 */
int xlb_sstp_parse(const uint8_t *buf, size_t len, struct xlb_sstp_msg *out);

/* Call Connect Ack as a healthy server sends it: 48 bytes, one Crypto
 * Binding Request with a known hash bit (1 SHA1, 2 SHA256). */
bool xlb_sstp_is_valid_ack(const struct xlb_sstp_msg *m);

/* "SSTP_DUPLEX_POST /sra_{BA195980-...}/ HTTP/1.1\r\nHost: HOST\r\n..." with
 * correlation id GUID; "GET PATH HTTP/1.1\r\nHost: HOST\r\n..." for http.
 * Return the length written (without the NUL), or the length needed if it
 * is >= LEN (like snprintf). */
size_t xlb_sstp_request(char *buf, size_t len, const char *host, const uint8_t guid[16]);
size_t xlb_http_get_request(char *buf, size_t len, const char *host, const char *path);

/* Fixed packets. */
#define XLB_SSTP_CONNECT_REQ_LEN	14
#define XLB_SSTP_DISCONNECT_LEN		8
#define XLB_PROXY_V2_LOCAL_LEN		16
extern const uint8_t xlb_sstp_connect_req[XLB_SSTP_CONNECT_REQ_LEN];	/* PPP */
extern const uint8_t xlb_sstp_disconnect[XLB_SSTP_DISCONNECT_LEN];	/* no attribute */
extern const uint8_t xlb_proxy_v2_local[XLB_PROXY_V2_LOCAL_LEN];

#endif /* XLB_PROBE_H */
