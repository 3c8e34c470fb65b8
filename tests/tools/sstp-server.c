// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sstp-server: a small but real SSTP server ([MS-SSTP]) for tests and
 * benchmarks: the backend behind the load balancer. TLS (1.2, 1.3) on
 * OpenSSL, the SSTP_DUPLEX_POST opening answered as Windows RRAS does, the
 * SSTP call (Connect Request, Ack with a crypto binding request, Connected,
 * Echo, Disconnect) and just enough PPP LCP to keep a peer's link alive.
 * Switches make it misbehave in the ways health probes must survive.
 *
 *   sstp-server --listen 198.18.0.10:443 --listen [2001:db8::10]:443 \
 *       --cert be1.pem --key be1.key --name be1 --pidfile be1.pid --log be1.log
 *
 * One thread per connection (a few thousand at once are fine); the main
 * thread accepts and handles signals: SIGTERM/SIGINT stop it cleanly,
 * SIGUSR1 logs the counters (also logged at exit):
 *
 *   stats connections=12 active=1 tls=11 tls_failed=1 http_200=10 ...
 *
 * It deviates from a Windows server on purpose, for sstpc --nolaunchpppd
 * without a pppd (plugin), which never sends Call Connected (see
 * tests/e2e/test_sstp_server.sh): it answers Echo Requests and sends its
 * own once the call is acked, not only once Call Connected arrived, and it
 * never aborts a call for want of Call Connected. The negotiation timeout
 * (--timeout) covers TLS, HTTP and the Call Connect Request only.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sstp_ppp.h"
#include "sstp_proto.h"

#define PROG			"sstp-server"
#define MAX_LISTEN		16
#define THREAD_STACK		(512 * 1024)
#define WRITE_TIMEOUT_MS	10000
#define STOP_GRACE_MS		3000
#define ECHO_MISSES_MAX		3	/* unanswered echoes before we give up */
#define NAKS_MAX		3	/* [MS-SSTP]: a client may retry */
#define RX_BUF			(2 * SSTP_HTTP_MAX)

#define EXIT_OK			0
#define EXIT_FAIL		1
#define EXIT_USAGE		2

enum oversize_mode { OVERSIZE_OFF, OVERSIZE_HTTP, OVERSIZE_SSTP };
enum log_level { LOG_QUIET, LOG_EVENTS, LOG_VERBOSE };

static struct {
	const char *listen[MAX_LISTEN];
	unsigned nlisten;
	const char *cert, *key, *name, *pidfile, *log;
	enum log_level level;
	unsigned echo_interval;	/* s, 0 = never */
	unsigned timeout;	/* s, TLS + HTTP + Call Connect Request */
	unsigned max_conns;
	unsigned handshake_delay_ms;
	/* misbehaviours */
	bool refuse_tls, hang, nak, garbage, close_after_http;
	unsigned http_status;
	enum oversize_mode oversize;
	unsigned drip_ms;
} opt = {
	.log = "-",
	.level = LOG_EVENTS,
	.echo_interval = 60,	/* [MS-SSTP] Hello timer */
	.timeout = 60,		/* [MS-SSTP] Negotiation timer */
	.max_conns = 10000,
	.http_status = 200,
};

/* Counters; SIGUSR1 and exit log them as "stats name=value ...". */
#define COUNTERS(X) \
	X(connections) X(active) X(busy_refused) X(tls) X(tls_failed) X(tls_refused) \
	X(http_requests) X(http_200) X(http_errors) X(call_connects) X(call_acks) \
	X(call_naks) X(call_connected) X(echo_requests) X(echo_responses) \
	X(echo_requests_sent) X(echo_responses_received) X(disconnects) X(aborts) \
	X(data_packets) X(ppp_replies) X(bad_packets)

static struct {
#define X(n) uint64_t n;
	COUNTERS(X)
#undef X
} stats;

#define COUNT(field)	__atomic_add_fetch(&stats.field, 1, __ATOMIC_RELAXED)

static struct {
	SSL_CTX *ctx;
	FILE *log;
	pthread_mutex_t log_lock;
	char name[64];
	int stop_fd;		/* eventfd: readable once we stop */
	uint8_t cert_sha1[SSTP_CERT_HASH_LEN];	/* zero-padded */
	uint8_t cert_sha256[SSTP_CERT_HASH_LEN];
	uint64_t next_id;
} g = { .log_lock = PTHREAD_MUTEX_INITIALIZER, .stop_fd = -1 };

/* ---- logging --------------------------------------------------------------- */

static void logf_at(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_at(enum log_level level, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	if (level > opt.level || !g.log)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&g.log_lock);
	fprintf(g.log, "%s.%03ld %s ", when, ts.tv_nsec / 1000000, g.name);
	va_start(ap, fmt);
	vfprintf(g.log, fmt, ap);
	va_end(ap);
	fputc('\n', g.log);
	fflush(g.log);
	pthread_mutex_unlock(&g.log_lock);
}

#define log_always(...)		logf_at(LOG_QUIET, __VA_ARGS__)
#define log_event(...)		logf_at(LOG_EVENTS, __VA_ARGS__)
#define log_verbose(...)	logf_at(LOG_VERBOSE, __VA_ARGS__)

static void log_stats(const char *why)
{
	char line[2048];
	size_t off = 0;

#define X(n) if (off < sizeof(line)) \
	off += (size_t)snprintf(line + off, sizeof(line) - off, " %s=%llu", #n, \
		(unsigned long long)__atomic_load_n(&stats.n, __ATOMIC_RELAXED));
	COUNTERS(X)
#undef X
	log_always("stats%s (%s)", line, why);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(EXIT_FAIL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool stopping(void)
{
	struct pollfd p = { g.stop_fd, POLLIN, 0 };

	return poll(&p, 1, 0) > 0;
}

/* ---- a connection ------------------------------------------------------------ */

enum conn_state {
	ST_TLS,
	ST_HTTP,
	ST_CONNECT_PENDING,	/* [MS-SSTP] Server_Connect_Request_Pending */
	ST_CONNECTED_PENDING,	/* Server_Call_Connected_Pending: acked */
	ST_CONNECTED,		/* Server_Call_Connected */
};

static const char *const state_names[] = {
	[ST_TLS] = "tls", [ST_HTTP] = "http", [ST_CONNECT_PENDING] = "connect-pending",
	[ST_CONNECTED_PENDING] = "connected-pending", [ST_CONNECTED] = "connected",
};

struct conn {
	uint64_t id;
	int fd;
	SSL *ssl;
	char peer[INET6_ADDRSTRLEN + 8];
	char local[INET6_ADDRSTRLEN + 8];
	enum conn_state state;
	uint64_t start, last_rx, last_echo_tx;
	unsigned echo_misses, naks;
	unsigned http_status;
	uint8_t nonce[SSTP_NONCE_LEN];
	struct ppp_lcp lcp;
	struct {
		unsigned echo_rx, echo_tx, data_rx, ppp_tx;
	} n;
	const char *end;	/* why it ended */
	size_t rx_len;
	uint8_t rx[RX_BUF];
	uint8_t tx[SSTP_MAX_PACKET + 1];
};

enum io_result {
	IO_OK = 1,
	IO_EOF = 0,
	IO_ERROR = -1,
	IO_TIMEOUT = -2,
	IO_STOP = -3,
	HTTP_MALFORMED = -10,	/* http_read only */
	HTTP_TOO_LONG = -11,
};

static const char *io_str(int r)
{
	switch (r) {
	case IO_EOF:		return "peer-closed";
	case IO_TIMEOUT:	return "timeout";
	case IO_STOP:		return "server-stopping";
	default:		return "io-error";
	}
}

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

/* Wait until fd is ready for events, timeout_ms passes (-1: never) or,
 * with watch_stop, the server stops. */
static int wait_fd(struct conn *c, short events, int timeout_ms, bool watch_stop)
{
	struct pollfd p[2] = { { c->fd, events, 0 }, { g.stop_fd, POLLIN, 0 } };
	int r;

	do
		r = poll(p, watch_stop ? 2 : 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return IO_ERROR;
	if (watch_stop && p[1].revents)
		return IO_STOP;
	return r == 0 ? IO_TIMEOUT : IO_OK;
}

/* Sleep ms, or less if the server stops. */
static int nap(unsigned ms)
{
	struct pollfd p = { g.stop_fd, POLLIN, 0 };

	return poll(&p, 1, (int)ms) > 0 ? IO_STOP : IO_OK;
}

/* Map SSL_get_error to a wait, or to a result. */
static int ssl_retry(struct conn *c, int ret, int timeout_ms, bool watch_stop)
{
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(c, POLLIN, timeout_ms, watch_stop);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(c, POLLOUT, timeout_ms, watch_stop);
	case SSL_ERROR_ZERO_RETURN:
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		return ERR_peek_error() == 0 && errno == 0 ? IO_EOF : IO_ERROR;
	default:
		return IO_ERROR;
	}
}

static int tls_accept(struct conn *c, int timeout_ms)
{
	int r, w;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_accept(c->ssl);
		if (r == 1)
			return IO_OK;
		w = ssl_retry(c, r, timeout_ms, true);
		if (w != IO_OK)
			return w == IO_EOF ? IO_ERROR : w;
	}
}

/* Read what is there, waiting up to timeout_ms (-1: no limit) for it. */
static int tls_read(struct conn *c, void *buf, size_t len, int timeout_ms)
{
	int r, w;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read(c->ssl, buf, (int)len);
		if (r > 0)
			return r;
		w = ssl_retry(c, r, timeout_ms, true);
		if (w != IO_OK)
			return w;
	}
}

static int tls_write_raw(struct conn *c, const void *buf, size_t len)
{
	int r, w;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_write(c->ssl, buf, (int)len);
		if (r > 0)
			return IO_OK;
		w = ssl_retry(c, r, WRITE_TIMEOUT_MS, false);
		if (w != IO_OK)
			return w;
	}
}

/* Write all of buf; with --drip, one byte (one TLS record) at a time. */
static int tls_write(struct conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;
	int r;

	if (!opt.drip_ms)
		return tls_write_raw(c, buf, len);
	for (i = 0; i < len; i++) {
		r = tls_write_raw(c, p + i, 1);
		if (r != IO_OK)
			return r;
		if (i + 1 < len && nap(opt.drip_ms) != IO_OK)
			return IO_STOP;
	}
	return IO_OK;
}

/* Read and drop whatever comes until the peer goes or we stop. */
static int drain(struct conn *c)
{
	int r;

	do
		r = tls_read(c, c->rx, sizeof(c->rx), -1);
	while (r > 0);
	return r;
}

/* --refuse-tls: read the ClientHello, answer a fatal handshake_failure
 * alert in a plain TLS record, close. */
static void refuse_tls(struct conn *c)
{
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };
	uint8_t hello[4096];

	if (wait_fd(c, POLLIN, (int)opt.timeout * 1000, true) == IO_OK &&
	    recv(c->fd, hello, sizeof(hello), 0) > 0)
		send(c->fd, alert, sizeof(alert), MSG_NOSIGNAL);
	COUNT(tls_refused);
	c->end = "tls-refused";
}

/* ---- HTTP ------------------------------------------------------------------- */

static const char *reason_phrase(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Status";
	}
}

/* The response head. A 200 is what Windows RRAS sends (and SoftEther
 * copies): Content-Length 2^64-1, Server: Microsoft-HTTPAPI/2.0, Date;
 * plus X-Xlb-Backend so tests can tell backends apart. */
static int http_respond(struct conn *c, unsigned status)
{
	char date[64], head[512];
	struct tm tm;
	time_t t = time(NULL);
	int n;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (status == 200)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 200 OK\r\n"
			     "Content-Length: " SSTP_CONTENT_LENGTH "\r\n"
			     "Server: Microsoft-HTTPAPI/2.0\r\n"
			     "Date: %s\r\n"
			     "X-Xlb-Backend: %s\r\n\r\n", date, g.name);
	else
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %u %s\r\n"
			     "Content-Length: 0\r\n"
			     "Server: Microsoft-HTTPAPI/2.0\r\n"
			     "Date: %s\r\n"
			     "X-Xlb-Backend: %s\r\n"
			     "Connection: close\r\n\r\n", status, reason_phrase(status), date, g.name);
	c->http_status = status;
	if (status == 200)
		COUNT(http_200);
	else
		COUNT(http_errors);
	return tls_write(c, head, (size_t)n);
}

/* --oversize=http: a 200 whose head never ends. */
static int http_oversize(struct conn *c)
{
	static const char status[] = "HTTP/1.1 200 OK\r\nContent-Length: " SSTP_CONTENT_LENGTH "\r\n";
	char line[256];
	unsigned long i;
	int r, n;

	c->http_status = 200;
	r = tls_write(c, status, sizeof(status) - 1);
	for (i = 0; r == IO_OK; i++) {
		n = snprintf(line, sizeof(line), "X-Filler-%lu: %0200lu\r\n", i, i);
		r = stopping() ? IO_STOP : tls_write(c, line, (size_t)n);
	}
	return r;
}

/* --garbage: random bytes right after the handshake, then more every
 * 100 ms (never an HTTP status line) until the peer goes. */
static int send_garbage(struct conn *c)
{
	uint8_t junk[1024];
	int r;

	do {
		RAND_bytes(junk, sizeof(junk));
		if (junk[0] == 'H')
			junk[0] = 0;
		r = tls_write(c, junk, sizeof(junk));
		if (r == IO_OK)
			r = nap(100);
	} while (r == IO_OK);
	return r;
}

/* Read the request head into c->rx and parse it into *req: IO_OK with
 * its length in *head, HTTP_MALFORMED, HTTP_TOO_LONG or an io_result.
 * Bytes after the head stay in c->rx (a client may send its Call Connect
 * Request right behind). */
static int http_read(struct conn *c, struct sstp_http_req *req, uint64_t deadline, size_t *head)
{
	int n, r;

	for (;;) {
		n = sstp_http_parse((const char *)c->rx, c->rx_len, req);
		if (n > 0) {
			*head = (size_t)n;
			return IO_OK;
		}
		if (n < 0)
			return n == -1 ? HTTP_MALFORMED : HTTP_TOO_LONG;
		if (now_ms() >= deadline)
			return IO_TIMEOUT;
		r = tls_read(c, c->rx + c->rx_len, sizeof(c->rx) - c->rx_len,
			     (int)(deadline - now_ms()));
		if (r <= 0)
			return r;
		c->rx_len += (size_t)r;
	}
}

/* ---- SSTP -------------------------------------------------------------------- */

static int sstp_send(struct conn *c, size_t len, const char *what)
{
	log_verbose("conn %llu: send %s (%zu bytes)", (unsigned long long)c->id, what, len);
	return tls_write(c, c->tx, len);
}

static int on_connect_request(struct conn *c, const struct sstp_ctrl *m)
{
	const struct sstp_attr *a = sstp_find_attr(m, SSTP_ATTR_ENCAPSULATED_PROTOCOL);
	uint8_t bad[2] = { 0, 0 };
	size_t len;
	int r;

	COUNT(call_connects);
	if (c->state != ST_CONNECT_PENDING) {
		log_event("conn %llu: call connect request in state %s: abort",
			  (unsigned long long)c->id, state_names[c->state]);
		COUNT(aborts);
		c->end = "abort-unexpected-connect";
		len = sstp_build_status(c->tx, SSTP_MSG_CALL_ABORT, SSTP_ATTR_STATUS_INFO,
					SSTP_STATUS_INVALID_FRAME, NULL, 0);
		sstp_send(c, len, "call abort");
		return IO_EOF;
	}
	if (opt.nak || !a || a->len != 2 || sstp_get16(a->value) != SSTP_ENCAP_PPP) {
		if (a && a->len == 2)
			memcpy(bad, a->value, 2);
		COUNT(call_naks);
		log_event("conn %llu: call connect nak (%s)", (unsigned long long)c->id,
			  opt.nak ? "--nak" : "protocol is not PPP");
		len = sstp_build_status(c->tx, SSTP_MSG_CALL_CONNECT_NAK,
					SSTP_ATTR_ENCAPSULATED_PROTOCOL,
					SSTP_STATUS_VALUE_NOT_SUPPORTED, bad, sizeof(bad));
		if (++c->naks > NAKS_MAX) {
			c->end = "too-many-naks";
			sstp_send(c, len, "call connect nak");
			return IO_EOF;
		}
		return sstp_send(c, len, "call connect nak");
	}
	RAND_bytes(c->nonce, sizeof(c->nonce));
	if (opt.oversize == OVERSIZE_SSTP) {
		/* a length field claiming the most, then never enough bytes
		 * to make sense of: endless filler */
		memset(c->tx, 0xee, SSTP_MAX_PACKET);
		len = sstp_build_connect_ack(c->tx, SSTP_HASH_SHA1 | SSTP_HASH_SHA256, c->nonce);
		sstp_put16(c->tx + 2, SSTP_MAX_PACKET);
		c->state = ST_CONNECTED_PENDING;
		COUNT(call_acks);
		log_event("conn %llu: call connect ack (--oversize=sstp)", (unsigned long long)c->id);
		r = tls_write(c, c->tx, len);
		while (r == IO_OK)
			r = stopping() ? IO_STOP : tls_write(c, c->tx + len, 1024);
		return r;
	}
	len = sstp_build_connect_ack(c->tx, SSTP_HASH_SHA1 | SSTP_HASH_SHA256, c->nonce);
	c->state = ST_CONNECTED_PENDING;
	c->last_echo_tx = now_ms();
	COUNT(call_acks);
	log_event("conn %llu: call connect ack", (unsigned long long)c->id);
	return sstp_send(c, len, "call connect ack");
}

/* Call Connected: parse the crypto binding and say how it compares, but
 * accept it whatever it holds (the compound MAC needs the PPP keys, which
 * a test server does not have). */
static int on_connected(struct conn *c, const struct sstp_ctrl *m)
{
	const char *hash = "unknown", *cert = "no-match";
	struct sstp_binding b;

	if (c->state != ST_CONNECTED_PENDING) {
		log_event("conn %llu: call connected in state %s: ignored",
			  (unsigned long long)c->id, state_names[c->state]);
		return IO_OK;
	}
	if (sstp_parse_binding(sstp_find_attr(m, SSTP_ATTR_CRYPTO_BINDING), &b) < 0) {
		COUNT(bad_packets);
		log_event("conn %llu: call connected without a valid crypto binding: accepted anyway",
			  (unsigned long long)c->id);
	} else {
		if (b.hash_protocol == SSTP_HASH_SHA256) {
			hash = "sha256";
			if (!memcmp(b.cert_hash, g.cert_sha256, SSTP_CERT_HASH_LEN))
				cert = "match";
		} else if (b.hash_protocol == SSTP_HASH_SHA1) {
			hash = "sha1";
			if (!memcmp(b.cert_hash, g.cert_sha1, SSTP_CERT_HASH_LEN))
				cert = "match";
		}
		log_event("conn %llu: call connected: hash=%s nonce=%s cert-hash=%s mac=unchecked",
			  (unsigned long long)c->id, hash,
			  memcmp(b.nonce, c->nonce, SSTP_NONCE_LEN) ? "no-match" : "match", cert);
	}
	COUNT(call_connected);
	c->state = ST_CONNECTED;
	return IO_OK;
}

static int on_control(struct conn *c, const uint8_t *pkt, size_t len)
{
	struct sstp_ctrl m;
	size_t n;

	if (sstp_parse_ctrl(pkt, len, &m) < 0) {
		COUNT(bad_packets);
		COUNT(aborts);
		log_event("conn %llu: malformed control packet (%zu bytes): abort",
			  (unsigned long long)c->id, len);
		c->end = "abort-malformed";
		n = sstp_build_status(c->tx, SSTP_MSG_CALL_ABORT, SSTP_ATTR_STATUS_INFO,
				      SSTP_STATUS_INVALID_FRAME, NULL, 0);
		sstp_send(c, n, "call abort");
		return IO_EOF;
	}
	log_verbose("conn %llu: recv control type %u, %u attributes",
		    (unsigned long long)c->id, m.type, m.nattrs);

	switch (m.type) {
	case SSTP_MSG_CALL_CONNECT_REQUEST:
		return on_connect_request(c, &m);
	case SSTP_MSG_CALL_CONNECTED:
		return on_connected(c, &m);
	case SSTP_MSG_CALL_DISCONNECT:
		COUNT(disconnects);
		log_event("conn %llu: call disconnect: ack", (unsigned long long)c->id);
		n = sstp_build_plain(c->tx, SSTP_MSG_CALL_DISCONNECT_ACK);
		sstp_send(c, n, "call disconnect ack");
		c->end = "disconnected";
		return IO_EOF;
	case SSTP_MSG_CALL_DISCONNECT_ACK:
		c->end = "disconnect-acked";
		return IO_EOF;
	case SSTP_MSG_CALL_ABORT:
		COUNT(aborts);
		log_event("conn %llu: call abort from the client", (unsigned long long)c->id);
		n = sstp_build_status(c->tx, SSTP_MSG_CALL_ABORT, SSTP_ATTR_STATUS_INFO,
				      SSTP_STATUS_NO_ERROR, NULL, 0);
		sstp_send(c, n, "call abort");
		c->end = "aborted-by-client";
		return IO_EOF;
	case SSTP_MSG_ECHO_REQUEST:
		if (c->state < ST_CONNECTED_PENDING) {
			log_event("conn %llu: echo request before the call: ignored",
				  (unsigned long long)c->id);
			return IO_OK;
		}
		COUNT(echo_requests);
		COUNT(echo_responses);
		c->n.echo_rx++;
		n = sstp_build_plain(c->tx, SSTP_MSG_ECHO_RESPONSE);
		return sstp_send(c, n, "echo response");
	case SSTP_MSG_ECHO_RESPONSE:
		COUNT(echo_responses_received);
		return IO_OK;
	default:
		log_event("conn %llu: control message type %u ignored",
			  (unsigned long long)c->id, m.type);
		return IO_OK;
	}
}

static int on_data(struct conn *c, const uint8_t *pkt, size_t len)
{
	struct ppp_out out;
	struct sstp_pkt p;
	unsigned i;
	int r;

	COUNT(data_packets);
	c->n.data_rx++;
	if (c->state < ST_CONNECTED_PENDING || len <= SSTP_HDR_LEN)
		return IO_OK;
	ppp_input(&c->lcp, pkt + SSTP_HDR_LEN, len - SSTP_HDR_LEN, &out);
	for (i = 0; i < out.n; i++) {
		sstp_begin_data(&p, c->tx);
		sstp_put(&p, out.frame[i], out.len[i]);
		COUNT(ppp_replies);
		c->n.ppp_tx++;
		r = sstp_send(c, sstp_end(&p), "ppp frame");
		if (r != IO_OK)
			return r;
	}
	if (out.n)
		log_verbose("conn %llu: ppp: %u replies, lcp %s", (unsigned long long)c->id, out.n,
			    ppp_lcp_opened(&c->lcp) ? "opened" : "negotiating");
	return IO_OK;
}

/* The Hello timer: after echo_interval idle seconds an Echo Request; after
 * ECHO_MISSES_MAX of them unanswered, the peer is gone. */
static int hello_due(struct conn *c, uint64_t now)
{
	uint64_t iv = (uint64_t)opt.echo_interval * 1000;
	size_t n;

	if (!iv || c->state < ST_CONNECTED_PENDING ||
	    now - c->last_rx < iv || now - c->last_echo_tx < iv)
		return IO_OK;
	if (c->echo_misses >= ECHO_MISSES_MAX) {
		log_event("conn %llu: no answer to %u echo requests: abort",
			  (unsigned long long)c->id, c->echo_misses);
		COUNT(aborts);
		c->end = "echo-timeout";
		n = sstp_build_status(c->tx, SSTP_MSG_CALL_ABORT, SSTP_ATTR_STATUS_INFO,
				      SSTP_STATUS_NEGOTIATION_TIMEOUT, NULL, 0);
		sstp_send(c, n, "call abort");
		return IO_EOF;
	}
	c->echo_misses++;
	c->last_echo_tx = now;
	c->n.echo_tx++;
	COUNT(echo_requests_sent);
	n = sstp_build_plain(c->tx, SSTP_MSG_ECHO_REQUEST);
	return sstp_send(c, n, "echo request");
}

/* ms until the next timer: the Hello timer, or before the call the
 * negotiation deadline. */
static int next_timeout(struct conn *c, uint64_t now)
{
	uint64_t iv = (uint64_t)opt.echo_interval * 1000, due;

	if (c->state == ST_CONNECT_PENDING) {
		due = c->start + (uint64_t)opt.timeout * 1000;
		return due > now ? (int)(due - now) : 0;
	}
	if (!iv)
		return -1;
	due = (c->last_rx > c->last_echo_tx ? c->last_rx : c->last_echo_tx) + iv;
	return due > now ? (int)(due - now) : 0;
}

static int sstp_loop(struct conn *c)
{
	uint64_t now;
	int r, len;

	c->last_rx = c->last_echo_tx = now_ms();
	for (;;) {
		/* every whole packet in the buffer */
		while ((len = sstp_packet_len(c->rx, c->rx_len)) > 0) {
			r = sstp_is_control(c->rx) ? on_control(c, c->rx, (size_t)len)
						   : on_data(c, c->rx, (size_t)len);
			if (r != IO_OK)
				return r;
			memmove(c->rx, c->rx + len, c->rx_len - (size_t)len);
			c->rx_len -= (size_t)len;
		}
		if (len < 0) {
			/* [MS-SSTP] 3.1.5.1: cannot delimit, close without a word */
			COUNT(bad_packets);
			log_event("conn %llu: not an SSTP packet (%02x %02x ...): close",
				  (unsigned long long)c->id, c->rx[0], c->rx_len > 1 ? c->rx[1] : 0);
			c->end = "bad-framing";
			return IO_EOF;
		}

		now = now_ms();
		if (c->state == ST_CONNECT_PENDING && now - c->start >= (uint64_t)opt.timeout * 1000) {
			c->end = "no-call-connect-request";
			return IO_TIMEOUT;
		}
		r = hello_due(c, now);
		if (r != IO_OK)
			return r;

		r = tls_read(c, c->rx + c->rx_len, sizeof(c->rx) - c->rx_len, next_timeout(c, now_ms()));
		if (r == IO_TIMEOUT)
			continue;
		if (r <= 0)
			return r;
		c->rx_len += (size_t)r;
		c->last_rx = now_ms();
		c->echo_misses = 0;
	}
}

/* ---- the connection's story ---------------------------------------------------- */

static void serve(struct conn *c)
{
	struct sstp_http_req req;
	uint64_t deadline = c->start + (uint64_t)opt.timeout * 1000;
	size_t head;
	int r;

	if (opt.handshake_delay_ms && nap(opt.handshake_delay_ms) != IO_OK) {
		c->end = io_str(IO_STOP);
		return;
	}
	if (opt.refuse_tls) {
		refuse_tls(c);
		return;
	}

	c->ssl = SSL_new(g.ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
		c->end = "out-of-memory";
		return;
	}
	r = tls_accept(c, (int)opt.timeout * 1000);
	if (r != IO_OK) {
		unsigned long e = ERR_peek_error();

		COUNT(tls_failed);
		c->end = "tls-failed";
		log_verbose("conn %llu: tls handshake failed: %s", (unsigned long long)c->id,
			    e ? ERR_reason_error_string(e) : io_str(r));
		return;
	}
	COUNT(tls);
	c->state = ST_HTTP;
	log_verbose("conn %llu: %s %s", (unsigned long long)c->id, SSL_get_version(c->ssl),
		    SSL_get_cipher_name(c->ssl));

	if (opt.hang) {
		r = drain(c);
		c->end = io_str(r);
		return;
	}
	if (opt.garbage) {
		r = send_garbage(c);
		c->end = io_str(r);
		return;
	}

	r = http_read(c, &req, deadline, &head);
	if (r == HTTP_MALFORMED || r == HTTP_TOO_LONG) {
		COUNT(http_requests);
		log_event("conn %llu: bad request (%s): 400", (unsigned long long)c->id,
			  r == HTTP_MALFORMED ? "malformed" : "head too long");
		http_respond(c, 400);
		c->end = "bad-request";
		return;
	}
	if (r != IO_OK) {
		c->end = io_str(r);
		return;
	}
	COUNT(http_requests);
	if (!sstp_http_is_sstp(&req)) {
		log_event("conn %llu: %s %s: 404", (unsigned long long)c->id, req.method, req.uri);
		http_respond(c, 404);
		c->end = "not-sstp";
		return;
	}
	log_event("conn %llu: %s host=%s correlation=%s content-length=%s", (unsigned long long)c->id,
		  req.method, req.host[0] ? req.host : "-", req.correlation[0] ? req.correlation : "-",
		  req.content_length[0] ? req.content_length : "-");
	c->rx_len -= head;
	memmove(c->rx, c->rx + head, c->rx_len);

	if (opt.http_status != 200) {
		http_respond(c, opt.http_status);
		c->end = "http-status";
		return;
	}
	if (opt.oversize == OVERSIZE_HTTP) {
		r = http_oversize(c);
		c->end = io_str(r);
		return;
	}
	r = http_respond(c, 200);
	if (r != IO_OK) {
		c->end = io_str(r);
		return;
	}
	if (opt.close_after_http) {
		c->end = "close-after-http";
		return;
	}
	c->state = ST_CONNECT_PENDING;
	r = sstp_loop(c);
	if (!c->end)
		c->end = io_str(r);
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	int flags = fcntl(c->fd, F_GETFL);

	fcntl(c->fd, F_SETFL, flags | O_NONBLOCK);
	serve(c);
	if (c->ssl) {
		/* a close_notify when the peer is still there; never wait */
		if (c->end && strcmp(c->end, "peer-closed") && strcmp(c->end, "io-error") &&
		    strcmp(c->end, "tls-failed"))
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	log_event("conn %llu %s closed: %s after %.2fs state=%s http=%u echo-rx=%u echo-tx=%u data-rx=%u ppp-tx=%u",
		  (unsigned long long)c->id, c->peer, c->end ? c->end : "?",
		  (double)(now_ms() - c->start) / 1000, state_names[c->state], c->http_status,
		  c->n.echo_rx, c->n.echo_tx, c->n.data_rx, c->n.ppp_tx);
	free(c);
	__atomic_sub_fetch(&stats.active, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* Accept one connection and give it a thread; false when none waits. */
static bool accept_one(int lfd, pthread_attr_t *attr)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	struct conn *c;
	pthread_t t;
	int fd, one = 1;

	fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			/* out of descriptors: let connections end, do not spin */
			log_always("accept: %s (see --max-conns)", strerror(errno));
			usleep(10000);
		}
		return errno == ECONNABORTED || errno == EINTR;
	}
	COUNT(connections);
	if (__atomic_load_n(&stats.active, __ATOMIC_RELAXED) >= opt.max_conns ||
	    !(c = calloc(1, sizeof(*c)))) {
		COUNT(busy_refused);
		close(fd);
		return true;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->id = ++g.next_id;
	c->start = now_ms();
	addr_str(&peer, c->peer, sizeof(c->peer));
	getsockname(fd, (struct sockaddr *)&local, &llen);
	addr_str(&local, c->local, sizeof(c->local));
	log_verbose("conn %llu from %s to %s", (unsigned long long)c->id, c->peer, c->local);
	__atomic_add_fetch(&stats.active, 1, __ATOMIC_RELAXED);
	if (pthread_create(&t, attr, conn_thread, c) != 0) {
		__atomic_sub_fetch(&stats.active, 1, __ATOMIC_RELAXED);
		COUNT(busy_refused);
		close(fd);
		free(c);
	}
	return true;
}

/* ---- setup ---------------------------------------------------------------------- */

/* ADDR:PORT, [ADDR6]:PORT or ADDR6:PORT (the last colon splits). */
static int listen_on(const char *spec)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *colon = strrchr(spec, ':'), *h = spec;
	size_t hlen;
	unsigned long port;
	int fd, one = 1;

	if (!colon)
		die("--listen '%s': no port (want ADDR:PORT or [ADDR6]:PORT)", spec);
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		die("--listen '%s': not an address", spec);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || !colon[1] || port > 65535)
		die("--listen '%s': bad port '%s'", spec, colon + 1);

	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
	} else {
		die("--listen '%s': '%s' is not an IPv4 or IPv6 address", spec, host);
	}

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("--listen '%s': socket: %s", spec, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the VIP may be added to lo after we start */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, ss.ss_family == AF_INET6 ? sizeof(*s6) : sizeof(*s4)) < 0)
		die("--listen '%s': bind: %s", spec, strerror(errno));
	if (listen(fd, 4096) < 0)
		die("--listen '%s': listen: %s", spec, strerror(errno));
	return fd;
}

static void tls_setup(void)
{
	X509 *leaf;
	unsigned int len;

	g.ctx = SSL_CTX_new(TLS_server_method());
	if (!g.ctx)
		die("SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(g.ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(g.ctx, TLS1_3_VERSION);
	/* a peer that just closes is a peer that closed, not an error */
	SSL_CTX_set_options(g.ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(g.ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(g.ctx, opt.cert) != 1)
		die("--cert '%s': cannot load a PEM certificate (chain) from it", opt.cert);
	if (SSL_CTX_use_PrivateKey_file(g.ctx, opt.key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			die("--key '%s' does not belong to --cert '%s'", opt.key, opt.cert);
		die("--key '%s': cannot load a PEM private key from it", opt.key);
	}
	if (SSL_CTX_check_private_key(g.ctx) != 1)
		die("--key '%s' does not belong to --cert '%s'", opt.key, opt.cert);

	/* what a client's crypto binding should name ([MS-SSTP] 2.2.7) */
	leaf = SSL_CTX_get0_certificate(g.ctx);
	len = sizeof(g.cert_sha256);
	X509_digest(leaf, EVP_sha256(), g.cert_sha256, &len);
	len = sizeof(g.cert_sha1);
	X509_digest(leaf, EVP_sha1(), g.cert_sha1, &len);
}

static void write_pidfile(void)
{
	FILE *f;

	if (!opt.pidfile)
		return;
	f = fopen(opt.pidfile, "w");
	if (!f)
		die("--pidfile '%s': %s", opt.pidfile, strerror(errno));
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0)
		die("--pidfile '%s': %s", opt.pidfile, strerror(errno));
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " --listen ADDR:PORT [--listen ...] --cert FILE --key FILE [options]\n"
		"\n"
		"A test SSTP server: TLS, the SSTP_DUPLEX_POST opening, the SSTP call\n"
		"(Connect Request/Ack, Connected, Echo, Disconnect) and a minimal PPP LCP.\n"
		"\n"
		"  --listen ADDR:PORT      listen there (repeatable); IPv6 as [ADDR6]:PORT\n"
		"  --cert FILE             PEM certificate (chain), leaf first\n"
		"  --key FILE              its PEM private key\n"
		"  --name NAME             sent as 'X-Xlb-Backend: NAME' and logged (default: hostname)\n"
		"  --pidfile FILE          write the PID there once listening; removed at exit\n"
		"  --log FILE|-            log there; '-' is stdout (default)\n"
		"  --quiet                 log only start, stop, stats and errors\n"
		"  --verbose               log every packet too\n"
		"  --echo-interval S       send an Echo Request after S idle seconds (default 60, 0 never)\n"
		"  --timeout S             limit for TLS, HTTP and the Call Connect Request (default 60)\n"
		"  --max-conns N           close connections beyond N at once (default 10000)\n"
		"  --handshake-delay MS    wait MS ms before answering a ClientHello, as a distant or\n"
		"                          loaded server would (sstpc 1.0.18 needs a few ms: see below)\n"
		"\n"
		"Misbehaviours:\n"
		"  --refuse-tls            answer the ClientHello with a handshake_failure alert, close\n"
		"  --http-status N         answer a good request with status N instead of 200, close\n"
		"  --hang-after-handshake  complete TLS, then never answer\n"
		"  --nak                   answer Call Connect Requests with a Call Connect Nak\n"
		"  --garbage               after TLS, send random bytes until the client goes\n"
		"  --oversize[=http|sstp]  http (default): a 200 whose headers never end;\n"
		"                          sstp: a Call Connect Ack claiming 4095 bytes, then endless filler\n"
		"  --drip MS               send every reply one byte (one TLS record) each MS ms\n"
		"  --close-after-http      close right after the 200\n"
		"\n"
		"Signals: TERM/INT stop (exit 0), USR1 logs the counters.\n"
		"\n"
		"sstpc 1.0.18 loses the race against a server on the same host: when its first\n"
		"SSL_write completes the whole handshake and the HTTP request, it never arms the\n"
		"read for the 200 and waits forever. --handshake-delay 20 avoids that.\n");
}

static unsigned parse_uint(const char *flag, const char *s, unsigned max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > max || s[0] == '-') {
		fprintf(stderr, PROG ": %s '%s': want a number from 0 to %u\n", flag, s, max);
		exit(EXIT_USAGE);
	}
	return (unsigned)v;
}

static void parse_args(int argc, char **argv)
{
	enum {
		O_LISTEN = 256, O_CERT, O_KEY, O_NAME, O_PIDFILE, O_LOG, O_QUIET, O_VERBOSE,
		O_ECHO, O_TIMEOUT, O_MAXCONNS, O_REFUSE, O_STATUS, O_HANG, O_NAK, O_GARBAGE,
		O_OVERSIZE, O_DRIP, O_CLOSE, O_HSDELAY,
	};
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "name", required_argument, NULL, O_NAME },
		{ "pidfile", required_argument, NULL, O_PIDFILE },
		{ "log", required_argument, NULL, O_LOG },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "echo-interval", required_argument, NULL, O_ECHO },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "max-conns", required_argument, NULL, O_MAXCONNS },
		{ "handshake-delay", required_argument, NULL, O_HSDELAY },
		{ "refuse-tls", no_argument, NULL, O_REFUSE },
		{ "http-status", required_argument, NULL, O_STATUS },
		{ "hang-after-handshake", no_argument, NULL, O_HANG },
		{ "nak", no_argument, NULL, O_NAK },
		{ "garbage", no_argument, NULL, O_GARBAGE },
		{ "oversize", optional_argument, NULL, O_OVERSIZE },
		{ "drip", required_argument, NULL, O_DRIP },
		{ "close-after-http", no_argument, NULL, O_CLOSE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (o) {
		case O_LISTEN:
			if (opt.nlisten == MAX_LISTEN) {
				fprintf(stderr, PROG ": at most %d --listen\n", MAX_LISTEN);
				exit(EXIT_USAGE);
			}
			opt.listen[opt.nlisten++] = optarg;
			break;
		case O_CERT:	opt.cert = optarg; break;
		case O_KEY:	opt.key = optarg; break;
		case O_NAME:	opt.name = optarg; break;
		case O_PIDFILE:	opt.pidfile = optarg; break;
		case O_LOG:	opt.log = optarg; break;
		case O_QUIET:	opt.level = LOG_QUIET; break;
		case O_VERBOSE:	opt.level = LOG_VERBOSE; break;
		case O_ECHO:	opt.echo_interval = parse_uint("--echo-interval", optarg, 86400); break;
		case O_TIMEOUT:	opt.timeout = parse_uint("--timeout", optarg, 86400); break;
		case O_MAXCONNS: opt.max_conns = parse_uint("--max-conns", optarg, 1000000); break;
		case O_HSDELAY:	opt.handshake_delay_ms = parse_uint("--handshake-delay", optarg, 600000); break;
		case O_REFUSE:	opt.refuse_tls = true; break;
		case O_STATUS:
			opt.http_status = parse_uint("--http-status", optarg, 599);
			if (opt.http_status < 100) {
				fprintf(stderr, PROG ": --http-status '%s': want 100..599\n", optarg);
				exit(EXIT_USAGE);
			}
			break;
		case O_HANG:	opt.hang = true; break;
		case O_NAK:	opt.nak = true; break;
		case O_GARBAGE:	opt.garbage = true; break;
		case O_OVERSIZE:
			if (!optarg || !strcmp(optarg, "http")) {
				opt.oversize = OVERSIZE_HTTP;
			} else if (!strcmp(optarg, "sstp")) {
				opt.oversize = OVERSIZE_SSTP;
			} else {
				fprintf(stderr, PROG ": --oversize='%s': want http or sstp\n", optarg);
				exit(EXIT_USAGE);
			}
			break;
		case O_DRIP:	opt.drip_ms = parse_uint("--drip", optarg, 60000); break;
		case O_CLOSE:	opt.close_after_http = true; break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc || !opt.nlisten || !opt.cert || !opt.key) {
		if (optind < argc)
			fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		else
			fprintf(stderr, PROG ": --listen, --cert and --key are required (see --help)\n");
		exit(EXIT_USAGE);
	}
	if (opt.timeout == 0)
		opt.timeout = 1;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[MAX_LISTEN + 1];
	struct signalfd_siginfo si;
	struct rlimit nofile;
	pthread_attr_t attr;
	sigset_t sigs;
	unsigned i, n = 0;
	uint64_t t0;

	parse_args(argc, argv);

	if (opt.name)
		snprintf(g.name, sizeof(g.name), "%s", opt.name);
	else if (gethostname(g.name, sizeof(g.name) - 1) != 0)
		snprintf(g.name, sizeof(g.name), "%s", PROG);
	if (!strcmp(opt.log, "-")) {
		g.log = stdout;
	} else {
		g.log = fopen(opt.log, "a");
		if (!g.log)
			die("--log '%s': %s", opt.log, strerror(errno));
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);	/* threads inherit it */
	pfd[0].fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	pfd[0].events = POLLIN;
	g.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (pfd[0].fd < 0 || g.stop_fd < 0)
		die("signalfd/eventfd: %s", strerror(errno));

	/* one descriptor per connection, plus a few */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
	    opt.max_conns + 64 > nofile.rlim_cur) {
		opt.max_conns = nofile.rlim_cur > 128 ? (unsigned)nofile.rlim_cur - 64 : 64;
		log_always("--max-conns lowered to %u: the descriptor limit is %llu",
			   opt.max_conns, (unsigned long long)nofile.rlim_cur);
	}

	tls_setup();
	for (i = 0; i < opt.nlisten; i++) {
		pfd[i + 1].fd = listen_on(opt.listen[i]);
		pfd[i + 1].events = POLLIN;
		log_always("listening on %s", opt.listen[i]);
	}
	write_pidfile();
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	log_always("ready (pid %d)", (int)getpid());

	for (;;) {
		if (poll(pfd, opt.nlisten + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (i = 1; i <= opt.nlisten; i++)
			if (pfd[i].revents & POLLIN)
				for (n = 0; n < 64 && accept_one(pfd[i].fd, &attr); n++)
					;
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(pfd[0].fd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGUSR1) {
			log_stats("SIGUSR1");
			continue;
		}
		break;
	}

	log_always("stopping on %s", strsignal((int)si.ssi_signo));
	for (i = 1; i <= opt.nlisten; i++)
		close(pfd[i].fd);
	eventfd_write(g.stop_fd, 1);
	t0 = now_ms();
	while (__atomic_load_n(&stats.active, __ATOMIC_RELAXED) > 0 && now_ms() - t0 < STOP_GRACE_MS)
		usleep(20000);
	log_stats("exit");
	if (opt.pidfile)
		unlink(opt.pidfile);
	fflush(g.log);
	_exit(EXIT_OK);	/* connection threads past the grace period just end */
}
