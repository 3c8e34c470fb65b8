/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * probe_conn.c: one probe's connection, a state machine over a
 * non-blocking socket (edge-triggered in the engine's epoll set) and, for
 * the TLS types, a non-blocking OpenSSL object that lives as long as the
 * probe:
 *
 *   connect -> [PROXY v2 header] -> [TLS handshake, certificate check]
 *           -> [request -> reply head] -> [Call Connect Request -> Ack]
 *           -> verdict -> polite close (Call Disconnect, close_notify)
 *
 * A verdict is recorded as soon as it is known; the polite close that
 * follows a success shares the probe's deadline, failures close with a RST.
 * Also the SSL_CTX cache: one per (verify, CA file).
 *
 * What a TLS probe costs is mostly OpenSSL's, so it is kept to what a
 * probe needs:
 *  - resumption (probe.h): the target's last session is offered unless a
 *    full handshake is due; the certificate's decoding and verification,
 *    most of a full handshake's client CPU, happen on full ones only;
 *  - SSL objects are reused (SSL_clear, with their socket BIO) from a pool
 *    per SSL_CTX, every per-connection setting (SNI, name or address to
 *    verify, session) set again on each use;
 *  - read-ahead: a flight of records in one read(), not two per record;
 *  - no middlebox-compatibility ChangeCipherSpec (one record and one
 *    segment less), X25519 first of a short group list, no renegotiation.
 */
#include "probe_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define CA_RETRY_US		1000000ull	/* a CA file that failed to load */
#define CA_RECHECK_US		10000000ull	/* stat() a loaded CA file */
#define DRAIN_MAX		65536		/* bytes read while closing */
#define SECS_PER_DAY		86400
/* key share X25519; the others for servers without it */
#define GROUPS			"X25519:P-256:P-384:P-521"
/* OpenSSL's three, the mandatory one first: its SHA-256 has hardware help
 * where SHA-384 rarely has, and the key schedule is mostly hashing */
#define TLS13_SUITES		"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
				"TLS_CHACHA20_POLY1305_SHA256"

/* ---- SSL contexts ----------------------------------------------------------- */

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct probe *p = SSL_get_app_data(ssl);

	/* fatal alerts from the peer; "F" is their level's short name */
	if (p && (where & SSL_CB_READ_ALERT) && !strcmp(SSL_alert_type_string(ret), "F"))
		snprintf(p->alert, sizeof(p->alert), "%s", SSL_alert_desc_string_long(ret));
}

static void ssl_err_str(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, len, "%s%s%s", what, r ? ": " : "", r ? r : "");
}

/* verify off: the chain is not built at all (the leaf is still read) */
static int no_chain_check(X509_STORE_CTX *sctx, void *arg)
{
	return 1;
}

/* ---- SSL objects, reused -------------------------------------------------------- */

static void pool_drain(struct ssl_ent *e)
{
	while (e->n_pool)
		SSL_free(e->pool[--e->n_pool]);
}

/* An SSL object of E->ctx on FD, as new: from the pool or made. */
static SSL *pool_get(struct ssl_ent *e, int fd)
{
	SSL *ssl;

	if (!e->n_pool) {
		ssl = SSL_new(e->ctx);
		if (ssl && !SSL_set_fd(ssl, fd)) {
			SSL_free(ssl);
			return NULL;
		}
		return ssl;
	}
	ssl = e->pool[--e->n_pool];
	BIO_set_fd(SSL_get_rbio(ssl), fd, BIO_NOCLOSE);
	return ssl;
}

/* SSL back to E's pool, cleared of its connection, or freed. What a
 * connection set on it (SNI, names to verify, session, verify result) is
 * set again by start_tls() before each use. */
static void pool_put(struct ssl_ent *e, SSL *ssl)
{
	SSL_set_app_data(ssl, NULL);
	if (e->n_pool == SSL_POOL_MAX || SSL_get_SSL_CTX(ssl) != e->ctx || !SSL_clear(ssl)) {
		SSL_free(ssl);
		return;
	}
	SSL_set_session(ssl, NULL);	/* SSL_clear() keeps a good one */
	SSL_free_buffers(ssl);		/* ~17 KB each, at rest */
	BIO_set_fd(SSL_get_rbio(ssl), -1, BIO_NOCLOSE);
	e->pool[e->n_pool++] = ssl;
}

/* (Re)build E's SSL_CTX: now if never tried, then at most every
 * CA_RETRY_US while it fails, and when the CA file changes on disk. */
static void ssl_ent_refresh(struct ssl_ent *e, uint64_t now)
{
	struct stat sb = { 0 };
	SSL_CTX *ctx;

	if (e->tried && now - e->checked_us < (e->ctx ? CA_RECHECK_US : CA_RETRY_US))
		return;
	if (e->ctx && (!e->verify || !e->ca_file[0]))
		return;			/* nothing on disk to follow */
	e->checked_us = now;
	if (e->verify && e->ca_file[0]) {
		if (stat(e->ca_file, &sb) < 0) {
			if (!e->ctx)
				snprintf(e->err, sizeof(e->err), "cannot load CA file %s: %s",
					 e->ca_file, strerror(errno));
			e->tried = true;
			return;		/* keep a loaded one meanwhile */
		}
		if (e->ctx && sb.st_mtim.tv_sec == e->mtime.tv_sec &&
		    sb.st_mtim.tv_nsec == e->mtime.tv_nsec && sb.st_size == e->size)
			return;
	}
	e->tried = true;
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		ssl_err_str(e->err, sizeof(e->err), "SSL_CTX_new failed");
		return;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_clear_options(ctx, SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
	/* sessions are the targets' (SSL_get1_session() after a success),
	 * not a cache's */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set1_groups_list(ctx, GROUPS);
	SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES);
	/* never abort the handshake on verification: the probe reads the
	 * result and the certificate afterwards, and sends nothing first */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_info_callback(ctx, info_cb);
	if (!e->verify)
		SSL_CTX_set_cert_verify_callback(ctx, no_chain_check, NULL);
	if (e->verify) {
		int ok = e->ca_file[0] ? SSL_CTX_load_verify_locations(ctx, e->ca_file, NULL)
				       : SSL_CTX_set_default_verify_paths(ctx);

		if (ok != 1) {
			char what[XLB_PATH_MAX + 32];

			snprintf(what, sizeof(what), "cannot load CA file %s",
				 e->ca_file[0] ? e->ca_file : "(system default)");
			ssl_err_str(e->err, sizeof(e->err), what);
			SSL_CTX_free(ctx);
			return;
		}
	}
	pool_drain(e);
	SSL_CTX_free(e->ctx);		/* SSL objects in flight hold their own ref */
	e->ctx = ctx;
	e->gen++;
	e->mtime = sb.st_mtim;
	e->size = sb.st_size;
	e->err[0] = 0;
}

struct ssl_ent *xlbp_ssl_get(struct xlb_prober *pr, bool verify, const char *ca_file)
{
	const char *ca = verify ? ca_file : "";
	struct ssl_ent *e;

	for (e = pr->ssl_ents; e; e = e->next)
		if (e->verify == verify && !strcmp(e->ca_file, ca)) {
			e->refs++;
			return e;
		}
	e = calloc(1, sizeof(*e) + strlen(ca) + 1);
	if (!e)
		return NULL;
	strcpy(e->ca_file, ca);
	e->verify = verify;
	e->refs = 1;
	e->next = pr->ssl_ents;
	pr->ssl_ents = e;
	pr->stats.ssl_ctxs++;
	return e;
}

void xlbp_ssl_put(struct xlb_prober *pr, struct ssl_ent *e)
{
	struct ssl_ent **pp;

	if (!e || --e->refs)
		return;
	for (pp = &pr->ssl_ents; *pp != e; pp = &(*pp)->next)
		;
	*pp = e->next;
	pool_drain(e);
	SSL_CTX_free(e->ctx);
	free(e);
	pr->stats.ssl_ctxs--;
}

void xlbp_forget_session(struct target *t)
{
	SSL_SESSION_free(t->sess);
	t->sess = NULL;
}

/* After P's verdict: a success keeps the connection's newest session (a
 * TLS 1.3 ticket that came after the handshake, or the resumed one again),
 * made under the ctx the target uses now; any failure, at any step, drops
 * the target's. A success is a completed and checked handshake, and an
 * unclean close after it does not forbid resuming since TLS 1.1 (RFC 5246
 * 7.2.1): a peer that closes without close_notify (as sstp-server does)
 * leaves the SSL in error, not the session. A fatal alert does (7.2.2). */
static void keep_session(struct xlb_prober *pr, struct probe *p)
{
	struct target *t = p->t;
	SSL_SESSION *s;

	if (!p->verdict || !t->ssl)
		return;			/* dropped: set() or del() decide */
	if (!p->ok || !p->ssl || p->alert[0] || !pr->tls_refresh_us ||
	    SSL_get_SSL_CTX(p->ssl) != t->ssl->ctx) {
		xlbp_forget_session(t);
		return;
	}
	s = SSL_get1_session(p->ssl);
	if (s && !SSL_SESSION_is_resumable(s)) {
		SSL_SESSION_free(s);
		s = NULL;
	}
	if (!s && p->resumed)
		return;			/* no newer one: the same again */
	xlbp_forget_session(t);
	t->sess = s;
	t->sess_gen = t->ssl->gen;
	if (!p->resumed) {
		t->full_us = p->start_us;
		t->sess_cut = (uint16_t)xlbp_rnd(pr);
	}
}

/* Whether T's session may still be resumed: made under E's current ctx,
 * and its full handshake younger than the refresh interval less a random
 * part of its half. Targets added together do their first full
 * handshakes within one interval; without the random part they would do
 * all the next ones within one interval too, every refresh. */
static bool session_fresh(const struct xlb_prober *pr, const struct target *t,
			  const struct ssl_ent *e, uint64_t now)
{
	uint64_t life = pr->tls_refresh_us - ((pr->tls_refresh_us * t->sess_cut) >> 17);

	return t->sess_gen == e->gen && now - t->full_us < life;
}

void xlbp_close(struct xlb_prober *pr, struct probe *p, bool rst)
{
	keep_session(pr, p);
	if (p->ssl)
		pool_put(p->t->ssl, p->ssl);
	p->ssl = NULL;
	if (p->fd < 0)
		return;
	/* explicitly: a copy of the fd in a forked child would keep it in
	 * the set, and its events would name a freed probe */
	epoll_ctl(pr->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	if (rst) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(p->fd);
	p->fd = -1;
}

/* After a success: what a polite client does to leave. */
static void start_close(struct xlb_prober *pr, struct probe *p);

/* ---- I/O ------------------------------------------------------------------- */

enum io {
	IO_AGAIN = -1,
	IO_EOF = -2,		/* peer closed (cleanly or not) */
	IO_ERR = -3,		/* socket error: errno */
	IO_TLS = -4,		/* TLS error: alert or error queue */
};

static int io_read(struct probe *p, void *buf, size_t len)
{
	ssize_t n;

	if (p->ssl) {
		int r, e;

		ERR_clear_error();
		errno = 0;
		r = SSL_read(p->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
		if (r > 0)
			return r;
		e = SSL_get_error(p->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return IO_AGAIN;
		if (e == SSL_ERROR_ZERO_RETURN)
			return IO_EOF;
		if (e == SSL_ERROR_SYSCALL)
			return errno ? IO_ERR : IO_EOF;
		if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return IO_EOF;
		return IO_TLS;
	}
	n = read(p->fd, buf, len);
	if (n > 0)
		return (int)n;
	if (n == 0)
		return IO_EOF;
	return errno == EAGAIN || errno == EINTR ? IO_AGAIN : IO_ERR;
}

static int io_write(struct probe *p, const void *buf, size_t len)
{
	ssize_t n;

	if (p->ssl) {
		int r, e;

		ERR_clear_error();
		errno = 0;
		r = SSL_write(p->ssl, buf, (int)len);
		if (r > 0)
			return r;
		e = SSL_get_error(p->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return IO_AGAIN;
		if (e == SSL_ERROR_SYSCALL)
			return errno ? IO_ERR : IO_EOF;
		return IO_TLS;
	}
	n = send(p->fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return (int)n;
	return errno == EAGAIN || errno == EINTR ? IO_AGAIN : IO_ERR;
}

/* One SSL_connect() step: 1 done, or an enum io. */
static int tls_connect(struct probe *p)
{
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_connect(p->ssl);
	if (r == 1)
		return 1;
	switch (SSL_get_error(p->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		return errno ? IO_ERR : IO_EOF;
	}
	if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return IO_EOF;
	return IO_TLS;
}

static const char *phase_what(const struct probe *p)
{
	switch (p->phase) {
	case PH_CONNECT:	return "connecting";
	case PH_SEND:		return p->after_send == NX_TLS || p->after_send == NX_TCP_DONE
					? "sending the PROXY header" : "sending the request";
	case PH_TLS:		return "the TLS handshake";
	case PH_RECV_HTTP:	return "reading the HTTP reply";
	case PH_RECV_SSTP:	return "waiting for Call Connect Ack";
	}
	return "closing";
}

/* An I/O failure (IO_EOF, IO_ERR with errno, IO_TLS) before the verdict. */
static void fail_io(struct xlb_prober *pr, struct probe *p, int io)
{
	int err = errno;

	if (io == IO_EOF) {
		xlbp_fail(pr, p, XLB_PR_CLOSED, "closed the connection during %s (%zu bytes received)",
		     phase_what(p), p->in_len);
	} else if (io == IO_ERR) {
		enum xlb_probe_result r = XLB_PR_CONNECT_ERROR;

		if (err == ECONNRESET || err == EPIPE)
			r = XLB_PR_RESET;
		else if (err == EHOSTUNREACH || err == ENETUNREACH)
			r = XLB_PR_UNREACHABLE;
		else if (err == ETIMEDOUT)
			r = XLB_PR_TIMEOUT;
		xlbp_fail(pr, p, r, "%s during %s", strerror(err), phase_what(p));
	} else if (p->alert[0]) {
		xlbp_fail(pr, p, XLB_PR_TLS_ALERT, "TLS alert from the backend during %s: %s",
		     phase_what(p), p->alert);
	} else {
		char what[64], msg[160];

		snprintf(what, sizeof(what), "TLS error during %s", phase_what(p));
		ssl_err_str(msg, sizeof(msg), what);
		xlbp_fail(pr, p, XLB_PR_TLS_ERROR, "%s", msg);
	}
	xlbp_end(pr, p, true);
}

static bool need_in(struct xlb_prober *pr, struct probe *p)
{
	if (p->in)
		return true;
	p->in = malloc(XLB_PROBE_BUF);
	if (p->in)
		return true;
	xlbp_fail(pr, p, XLB_PR_LOCAL_ERROR, "out of memory");
	xlbp_end(pr, p, true);
	return false;
}

/* Reads what fits into p->in: > 0 bytes, or an enum io. */
static int read_in(struct probe *p)
{
	int n = io_read(p, p->in + p->in_len, XLB_PROBE_BUF - p->in_len);

	if (n > 0)
		p->in_len += (size_t)n;
	return n;
}

/* Drops the first N bytes of p->in (a parsed head or packet). */
static void consume(struct probe *p, size_t n)
{
	memmove(p->in, p->in + n, p->in_len - n);
	p->in_len -= n;
}

/* ---- the steps --------------------------------------------------------------- */

static void send_then(struct probe *p, const void *buf, size_t len, enum next nx)
{
	p->phase = PH_SEND;
	p->out = buf;
	p->out_len = len;
	p->out_off = 0;
	p->after_send = nx;
}

static void host_of(const struct target *t, char *buf, size_t len, bool with_port)
{
	char a[INET6_ADDRSTRLEN];
	uint16_t defport = t->cfg.type == XLB_PROBE_HTTP ? 80 : 443;

	if (t->cfg.host[0])
		snprintf(buf, len, "%s", t->cfg.host);
	else if (t->addr.family == XLB_FAMILY_V6)
		snprintf(buf, len, "[%s]", xlb_ip_str(&t->addr, a, sizeof(a)));
	else
		snprintf(buf, len, "%s", xlb_ip_str(&t->addr, a, sizeof(a)));
	if (with_port && t->port != defport) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, ":%u", t->port);
	}
}

/* The HTTP request of P's type (sstp: SSTP_DUPLEX_POST; http: GET). */
static void send_request(struct xlb_prober *pr, struct probe *p)
{
	struct target *t = p->t;
	char host[XLB_NAME_MAX + 16];
	size_t n;

	if (t->cfg.type == XLB_PROBE_HTTP) {
		host_of(t, host, sizeof(host), true);
		n = xlb_http_get_request(p->req, sizeof(p->req), host, t->cfg.http_path);
	} else {
		uint64_t g[2] = { xlbp_rnd(pr), xlbp_rnd(pr) };
		uint8_t guid[16];

		memcpy(guid, g, sizeof(guid));
		host_of(t, host, sizeof(host), false);
		n = xlb_sstp_request(p->req, sizeof(p->req), host, guid);
	}
	if (n >= sizeof(p->req))
		n = sizeof(p->req) - 1;		/* cannot happen: host and path are bounded */
	send_then(p, p->req, n, NX_HTTP_REPLY);
}

static void start_tls(struct xlb_prober *pr, struct probe *p)
{
	struct target *t = p->t;
	struct ssl_ent *e = t->ssl;
	const char *host = t->cfg.host[0] ? t->cfg.host : NULL;

	ssl_ent_refresh(e, xlbp_now_us());
	if (!e->ctx) {
		xlbp_fail(pr, p, XLB_PR_CA_FILE, "%s", e->err);
		xlbp_end(pr, p, true);
		return;
	}
	p->ssl = pool_get(e, p->fd);
	if (!p->ssl) {
		xlbp_fail(pr, p, XLB_PR_LOCAL_ERROR, "cannot create a TLS connection (out of memory?)");
		xlbp_end(pr, p, true);
		return;
	}
	SSL_set_app_data(p->ssl, p);
	SSL_set_connect_state(p->ssl);
	SSL_set_verify_result(p->ssl, X509_V_OK);
	/* a reused object still names its last peer: every field, every time */
	SSL_set_tlsext_host_name(p->ssl, host);
	SSL_set1_host(p->ssl, t->cfg.verify ? host : NULL);
	if (t->cfg.verify && !host)
		X509_VERIFY_PARAM_set1_ip(SSL_get0_param(p->ssl), t->addr.a,
					  t->addr.family == XLB_FAMILY_V6 ? 16 : 4);
	else
		X509_VERIFY_PARAM_set1_ip(SSL_get0_param(p->ssl), NULL, 0);
	if (t->sess && !session_fresh(pr, t, e, p->start_us))
		xlbp_forget_session(t);	/* a full handshake is due */
	if (t->sess && SSL_set_session(p->ssl, t->sess) != 1)
		xlbp_forget_session(t);
	p->phase = PH_TLS;
}

static time_t asn1_time(const ASN1_TIME *a)
{
	struct tm tm;

	if (!a || !ASN1_TIME_to_tm(a, &tm))
		return 0;
	return timegm(&tm);
}

/* After the handshake: record version, cipher, expiry, whether it was
 * resumed; with verify on, judge the chain and name. False when the probe
 * failed. */
static bool check_cert(struct xlb_prober *pr, struct probe *p)
{
	struct target *t = p->t;
	struct xlb_probe_status *st = &t->st;
	X509 *leaf = SSL_get0_peer_certificate(p->ssl);
	time_t now = time(NULL), na;
	long vr;

	p->resumed = SSL_session_reused(p->ssl);
	st->tls_resumed = p->resumed;
	if (p->resumed) {
		pr->stats.tls_resumed++;
	} else {
		pr->stats.tls_full++;
		st->cert_checked = now;
	}
	snprintf(st->tls_version, sizeof(st->tls_version), "%s", SSL_get_version(p->ssl));
	snprintf(st->tls_cipher, sizeof(st->tls_cipher), "%s", SSL_get_cipher_name(p->ssl));
	/* resumed: the leaf and the verify result are the session's, from the
	 * full handshake whose probe passed (keep_session()) */
	if (!leaf) {
		st->cert_not_after = 0;
		st->cert_days_left = 0;
		st->cert_warn = false;
		if (!t->cfg.verify)
			return true;
		xlbp_fail(pr, p, XLB_PR_CERT_INVALID, "the backend sent no certificate");
		return false;
	}
	na = asn1_time(X509_get0_notAfter(leaf));
	st->cert_not_after = na;
	st->cert_days_left = (int32_t)((na - now) / SECS_PER_DAY - (na < now));
	st->cert_warn = na <= now ||
			(na - now) < (time_t)t->cfg.cert_warn_days * SECS_PER_DAY;
	if (!t->cfg.verify)
		return true;
	if (na <= now) {
		char day[16];
		struct tm tm;

		gmtime_r(&na, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		xlbp_fail(pr, p, XLB_PR_CERT_EXPIRED, "certificate expired on %s (%d days ago)", day,
		     -st->cert_days_left - 1);
		return false;
	}
	vr = SSL_get_verify_result(p->ssl);
	if (vr != X509_V_OK) {
		xlbp_fail(pr, p, XLB_PR_CERT_INVALID, "certificate verification failed: %s",
		     X509_verify_cert_error_string(vr));
		return false;
	}
	return true;
}

static void handshake_done(struct xlb_prober *pr, struct probe *p)
{
	if (!check_cert(pr, p)) {
		xlbp_end(pr, p, true);
		return;
	}
	switch (p->t->cfg.type) {
	case XLB_PROBE_TLS:
		xlbp_record(pr, p, XLB_PR_OK);
		start_close(pr, p);
		break;
	default:
		send_request(pr, p);
		break;
	}
}

/* The first bytes of S for a message: printable ASCII as is, the rest '.'. */
static const char *printable(char *buf, size_t len, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < len && i < n; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? (char)s[i] : '.';
	buf[i] = 0;
	return buf;
}

/* The reply head so far: a verdict, or wait for more. */
static void http_reply(struct xlb_prober *pr, struct probe *p)
{
	struct target *t = p->t;
	bool sstp = t->cfg.type != XLB_PROBE_HTTP;
	int want = sstp ? 200 : t->cfg.http_status, status, minor;
	size_t end;
	int r = xlb_http_reply_parse((const char *)p->in, p->in_len, &status, &minor, &end);

	if (status)
		t->st.http_status = (uint16_t)status;
	if (r == XLB_PARSE_MALFORMED) {
		char seen[32];

		xlbp_fail(pr, p, XLB_PR_HTTP_MALFORMED, "not an HTTP/1.x reply (%zu bytes: \"%s%s\")",
		     p->in_len, printable(seen, sizeof(seen), p->in, p->in_len),
		     p->in_len >= sizeof(seen) ? "..." : "");
	} else if (status && status != want) {
		xlbp_fail(pr, p, XLB_PR_HTTP_STATUS, "HTTP status %d (expected %d)", status, want);
	} else if (r == XLB_PARSE_TOO_LARGE) {
		xlbp_fail(pr, p, XLB_PR_TOO_LARGE, "reply head longer than %d bytes", XLB_HTTP_HDR_MAX);
	} else if (r == XLB_PARSE_NEED_MORE) {
		return;
	} else if (sstp && minor != 1) {
		xlbp_fail(pr, p, XLB_PR_HTTP_MALFORMED, "HTTP/1.%d reply to SSTP_DUPLEX_POST "
		     "(expected HTTP/1.1)", minor);
	} else if (t->cfg.type == XLB_PROBE_SSTP_DEEP) {
		/* what follows the head is the SSTP stream */
		consume(p, end);
		send_then(p, xlb_sstp_connect_req, sizeof(xlb_sstp_connect_req), NX_SSTP_ACK);
		return;
	} else {
		xlbp_record(pr, p, XLB_PR_OK);
		start_close(pr, p);
		return;
	}
	xlbp_end(pr, p, true);
}

static const char *sstp_type_name(uint16_t type)
{
	static const char *const names[] = {
		[XLB_SSTP_CALL_CONNECT_REQUEST]	= "Call Connect Request",
		[XLB_SSTP_CALL_CONNECT_ACK]	= "Call Connect Ack",
		[XLB_SSTP_CALL_CONNECT_NAK]	= "Call Connect Nak",
		[XLB_SSTP_CALL_CONNECTED]	= "Call Connected",
		[XLB_SSTP_CALL_ABORT]		= "Call Abort",
		[XLB_SSTP_CALL_DISCONNECT]	= "Call Disconnect",
		[XLB_SSTP_CALL_DISCONNECT_ACK]	= "Call Disconnect Ack",
		[XLB_SSTP_ECHO_REQUEST]		= "Echo Request",
		[XLB_SSTP_ECHO_RESPONSE]	= "Echo Response",
	};

	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type]
								       : "an unknown message";
}

/* The packets so far, waiting for the Ack. */
static void sstp_reply(struct xlb_prober *pr, struct probe *p)
{
	struct xlb_sstp_msg m;
	int r = xlb_sstp_parse(p->in, p->in_len, &m);

	if (r == XLB_PARSE_NEED_MORE)
		return;
	if (r != XLB_PARSE_OK) {
		xlbp_fail(pr, p, XLB_PR_SSTP_MALFORMED, "malformed SSTP packet in reply to "
		     "Call Connect Request (%zu bytes)", p->in_len);
	} else if (!m.control) {
		xlbp_fail(pr, p, XLB_PR_SSTP_MALFORMED, "SSTP data packet before Call Connect Ack");
	} else if (m.type == XLB_SSTP_CALL_CONNECT_ACK) {
		if (xlb_sstp_is_valid_ack(&m)) {
			p->t->st.sstp_hash = m.hash_bitmask;
			xlbp_record(pr, p, XLB_PR_OK);
			consume(p, m.len);
			send_then(p, xlb_sstp_disconnect, sizeof(xlb_sstp_disconnect),
				  NX_SSTP_CLOSE);
			return;
		}
		xlbp_fail(pr, p, XLB_PR_SSTP_MALFORMED, "invalid Call Connect Ack (%u bytes, %u "
		     "attributes, hash bitmask %#x)", m.len, m.n_attrs, m.hash_bitmask);
	} else if (m.type == XLB_SSTP_CALL_CONNECT_NAK) {
		if (m.has_status)
			xlbp_fail(pr, p, XLB_PR_SSTP_NAK, "Call Connect Nak (status %#x about "
			     "attribute %u)", m.status, m.status_attr);
		else
			xlbp_fail(pr, p, XLB_PR_SSTP_NAK, "Call Connect Nak");
	} else if (m.type == XLB_SSTP_CALL_ABORT || m.type == XLB_SSTP_CALL_DISCONNECT) {
		xlbp_fail(pr, p, XLB_PR_SSTP_ABORT, "%s instead of Call Connect Ack (status %#x)",
		     sstp_type_name(m.type), m.status);
	} else {
		xlbp_fail(pr, p, XLB_PR_SSTP_MALFORMED, "%s (type %#x) instead of Call Connect Ack",
		     sstp_type_name(m.type), m.type);
	}
	xlbp_end(pr, p, true);
}

static void start_close(struct xlb_prober *pr, struct probe *p)
{
	if (!p->ssl) {
		xlbp_end(pr, p, true);
		return;
	}
	ERR_clear_error();
	SSL_shutdown(p->ssl);		/* queues and sends close_notify */
	p->phase = PH_CLOSE_TLS;
}

/* Runs P until it waits for the socket or ends. */
void xlbp_step(struct xlb_prober *pr, struct probe *p, uint32_t events)
{
	int n;

	while (p->t) {
		switch (p->phase) {
		case PH_CONNECT: {
			struct sockaddr_storage ss;
			int err = 0;
			socklen_t sl = sizeof(err);

			if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
				return;
			/* writable without an error is connected: no syscall */
			if ((events & (EPOLLOUT | EPOLLERR)) != EPOLLOUT &&
			    getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
				err = errno;
			sl = sizeof(ss);
			if (!err && !(events & EPOLLOUT) &&
			    getpeername(p->fd, (struct sockaddr *)&ss, &sl) < 0 && errno == ENOTCONN)
				return;		/* not yet */
			if (err) {
				errno = err;
				xlbp_fail(pr, p, err == ECONNREFUSED ? XLB_PR_CONNECT_REFUSED :
					    err == EHOSTUNREACH || err == ENETUNREACH ?
					    XLB_PR_UNREACHABLE : err == ETIMEDOUT ?
					    XLB_PR_CONNECT_TIMEOUT : XLB_PR_CONNECT_ERROR,
				     "connect: %s", strerror(err));
				xlbp_end(pr, p, true);
				return;
			}
			if (p->t->cfg.proxy_v2)
				send_then(p, xlb_proxy_v2_local, sizeof(xlb_proxy_v2_local),
					  p->t->cfg.type == XLB_PROBE_TCP ? NX_TCP_DONE : NX_TLS);
			else if (p->t->cfg.type == XLB_PROBE_TCP) {
				xlbp_record(pr, p, XLB_PR_OK);
				xlbp_end(pr, p, true);
			} else if (p->t->cfg.type == XLB_PROBE_HTTP)
				send_request(pr, p);
			else
				start_tls(pr, p);
			break;
		}
		case PH_SEND:
			while (p->out_off < p->out_len) {
				n = io_write(p, p->out + p->out_off, p->out_len - p->out_off);
				if (n == IO_AGAIN)
					return;
				if (n < 0) {
					if (p->verdict)
						xlbp_end(pr, p, true);
					else
						fail_io(pr, p, n);
					return;
				}
				p->out_off += (size_t)n;
			}
			switch (p->after_send) {
			case NX_TCP_DONE:
				xlbp_record(pr, p, XLB_PR_OK);
				xlbp_end(pr, p, true);
				return;
			case NX_TLS:
				if (p->t->cfg.type == XLB_PROBE_HTTP)
					send_request(pr, p);
				else
					start_tls(pr, p);
				break;
			case NX_HTTP_REPLY:
				p->phase = PH_RECV_HTTP;
				break;
			case NX_SSTP_ACK:
				p->phase = PH_RECV_SSTP;
				if (p->in_len)
					sstp_reply(pr, p);	/* sent along with the head */
				break;
			case NX_SSTP_CLOSE:
				p->phase = PH_CLOSE_SSTP;
				break;
			}
			break;
		case PH_TLS:
			n = tls_connect(p);
			if (n == IO_AGAIN)
				return;
			if (n < 0) {
				fail_io(pr, p, n);
				return;
			}
			handshake_done(pr, p);
			break;
		case PH_RECV_HTTP:
		case PH_RECV_SSTP:
			if (!need_in(pr, p))
				return;
			if (p->in_len == XLB_PROBE_BUF) {
				xlbp_fail(pr, p, XLB_PR_TOO_LARGE, "reply longer than %d bytes",
				     XLB_PROBE_BUF);
				xlbp_end(pr, p, true);
				return;
			}
			n = read_in(p);
			if (n == IO_AGAIN)
				return;
			if (n < 0) {
				fail_io(pr, p, n);
				return;
			}
			if (p->phase == PH_RECV_HTTP)
				http_reply(pr, p);
			else
				sstp_reply(pr, p);
			break;
		case PH_CLOSE_SSTP: {
			struct xlb_sstp_msg m;
			int r = xlb_sstp_parse(p->in, p->in_len, &m);

			if (r == XLB_PARSE_OK && m.control &&
			    m.type == XLB_SSTP_CALL_DISCONNECT_ACK) {
				start_close(pr, p);
				break;
			}
			if (r == XLB_PARSE_OK) {	/* something else: skip it */
				consume(p, m.len);
				break;
			}
			if (r != XLB_PARSE_NEED_MORE || p->drained > DRAIN_MAX) {
				xlbp_end(pr, p, true);
				return;
			}
			n = read_in(p);
			if (n == IO_AGAIN)
				return;
			if (n < 0) {
				xlbp_end(pr, p, n != IO_EOF);
				return;
			}
			p->drained += (size_t)n;
			break;
		}
		case PH_CLOSE_TLS: {
			uint8_t sink[256];

			n = io_read(p, sink, sizeof(sink));
			if (n == IO_AGAIN)
				return;
			if (n > 0) {
				p->drained += (size_t)n;
				if (p->drained <= DRAIN_MAX)
					break;
			}
			/* EOF: the peer closed, so the TIME_WAIT is its; else RST */
			xlbp_end(pr, p, n != IO_EOF);
			return;
		}
		}
	}
}

/* The deadline passed. */
void xlbp_expire(struct xlb_prober *pr, struct probe *p)
{
	struct target *t = p->t;

	if (p->verdict) {
		xlbp_end(pr, p, true);		/* closing took all the time left */
		return;
	}
	if (p->phase == PH_CONNECT)
		xlbp_fail(pr, p, XLB_PR_CONNECT_TIMEOUT, "no SYN-ACK within %u ms", t->cfg.timeout_ms);
	else
		xlbp_fail(pr, p, XLB_PR_TIMEOUT, "no verdict within %u ms: stuck in %s (%zu bytes "
		     "received)", t->cfg.timeout_ms, phase_what(p), p->in_len);
	xlbp_end(pr, p, true);
}

static socklen_t make_sa(const struct xlb_ip *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == XLB_FAMILY_V6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip->a, 16);
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip->a, 4);
		return sizeof(*s4);
	}
}

void xlbp_connect(struct xlb_prober *pr, struct probe *p)
{
	struct target *t = p->t;
	struct sockaddr_storage ss;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	int one = 1, af = t->addr.family == XLB_FAMILY_V6 ? AF_INET6 : AF_INET;
	socklen_t sl;

	p->fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		xlbp_fail(pr, p, XLB_PR_LOCAL_ERROR, "socket: %s", strerror(errno));
		xlbp_end(pr, p, false);
		return;
	}
	if (t->cfg.source.family) {
		char a[INET6_ADDRSTRLEN];

		xlb_ip_str(&t->cfg.source, a, sizeof(a));
		if (t->cfg.source.family != t->addr.family) {
			xlbp_fail(pr, p, XLB_PR_SOURCE_BIND, "source %s is not of the backend's "
			     "address family", a);
			xlbp_end(pr, p, false);
			return;
		}
		/* the port comes with connect(): many probes share a source */
		setsockopt(p->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		sl = make_sa(&t->cfg.source, 0, &ss);
		if (bind(p->fd, (struct sockaddr *)&ss, sl) < 0) {
			xlbp_fail(pr, p, XLB_PR_SOURCE_BIND, "cannot bind source %s: %s", a,
			     strerror(errno));
			xlbp_end(pr, p, false);
			return;
		}
	}
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sl = make_sa(&t->addr, t->port, &ss);
	p->phase = PH_CONNECT;
	if (connect(p->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		int err = errno;

		xlbp_fail(pr, p, err == ECONNREFUSED ? XLB_PR_CONNECT_REFUSED :
			    err == EHOSTUNREACH || err == ENETUNREACH ? XLB_PR_UNREACHABLE :
			    err == EADDRNOTAVAIL || err == EAGAIN ? XLB_PR_LOCAL_ERROR :
			    XLB_PR_CONNECT_ERROR, "connect: %s", strerror(err));
		xlbp_end(pr, p, true);
		return;
	}
	/* EPOLLOUT reports the connect (added after it: an unconnected
	 * socket polls as hung up); on loopback it may already be done */
	ev.data.ptr = p;
	if (epoll_ctl(pr->epfd, EPOLL_CTL_ADD, p->fd, &ev) < 0) {
		xlbp_fail(pr, p, XLB_PR_LOCAL_ERROR, "epoll_ctl: %s", strerror(errno));
		xlbp_end(pr, p, true);
	}
}
