/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "sstp_responder.h"

#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define IN_MAX		8192
#define DRIP_MS		50

static const char sstp_line[] =
	"SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n";
static const char head_200[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Length: 18446744073709551615\r\n"
	"Server: Microsoft-HTTPAPI/2.0\r\n"
	"Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
	"\r\n";
static const char head_404[] =
	"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char garbage[] = "\x16\x03\x01\x00\xffSSH-2.0-not-http\r\n\x00\x01\x02";
static const char endless[] =
	"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";

/* Call Connect Ack: one Crypto Binding Request, SHA1 | SHA256, a nonce */
static const uint8_t sstp_ack[XLB_SSTP_ACK_LEN] = {
	0x10, 0x01, 0x00, 0x30, 0x00, 0x02, 0x00, 0x01,
	0x00, 0x04, 0x00, 0x28, 0x00, 0x00, 0x00, 0x03,
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};
/* the same, cut to 44 bytes: the attribute overruns the packet */
static const uint8_t sstp_bad_ack[44] = {
	0x10, 0x01, 0x00, 0x2c, 0x00, 0x02, 0x00, 0x01,
	0x00, 0x04, 0x00, 0x28, 0x00, 0x00, 0x00, 0x03,
};
/* Call Connect Nak: Status Info about attribute 1, ATTRIB_STATUS_VALUE_NOT_SUPPORTED */
static const uint8_t sstp_nak[20] = {
	0x10, 0x01, 0x00, 0x14, 0x00, 0x03, 0x00, 0x01,
	0x00, 0x02, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04,
};
static const uint8_t sstp_disc_ack[8] = { 0x10, 0x01, 0x00, 0x08, 0x00, 0x07, 0x00, 0x00 };

enum conn_state {
	C_PROXY,		/* reading the PROXY v2 header */
	C_TLS,
	C_HEAD,			/* reading the request head */
	C_SSTP,			/* reading SSTP packets */
	C_HOLD,			/* reading and discarding */
	C_DRIP,
	C_ENDLESS,
};

struct conn {
	struct conn	*prev, *next;
	int		fd;
	SSL		*ssl;
	enum conn_state	st;
	enum resp_mode	mode;		/* as it was at accept */
	uint64_t	next_drip_ms;
	size_t		drip_off;
	size_t		in_len;
	uint8_t		in[IN_MAX];
};

struct worker {
	struct sstp_responder *r;
	pthread_t	th;
	int		lfd, epfd, stopfd;
	struct conn	*conns;
	unsigned	n_drip;		/* conns in C_DRIP */
};

#define MAX_CTXS	8

struct sstp_responder {
	struct resp_cfg	cfg;
	SSL_CTX		*ctx;		/* new connections' (atomic) */
	SSL_CTX		*ctxs[MAX_CTXS];	/* every one made, freed at stop */
	int		n_ctxs;
	int		mode;		/* enum resp_mode, atomic */
	uint16_t	port;
	int		n_workers;
	struct worker	*w;
	struct resp_stats stats;	/* atomic adds */
};

#define STAT(r, f)	__atomic_add_fetch(&(r)->stats.f, 1, __ATOMIC_RELAXED)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- connections -------------------------------------------------------------- */

static void conn_close(struct worker *w, struct conn *c)
{
	if (c->ssl) {
		if (!w->r->cfg.no_close_notify)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->st == C_DRIP)
		w->n_drip--;
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

/* >0 bytes, 0 EOF (close_notify counted), -1 again, -2 error */
static int conn_read(struct worker *w, struct conn *c, void *buf, size_t len)
{
	if (c->ssl) {
		int n = SSL_read(c->ssl, buf, (int)len), e;

		if (n > 0)
			return n;
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return -1;
		if (e == SSL_ERROR_ZERO_RETURN) {
			STAT(w->r, close_notifies);
			return 0;
		}
		ERR_clear_error();
		return e == SSL_ERROR_SYSCALL && !errno ? 0 : -2;
	} else {
		ssize_t n = read(c->fd, buf, len);

		if (n >= 0)
			return (int)n;
		return errno == EAGAIN ? -1 : -2;
	}
}

/* Small writes: all of it, waiting a little for room if need be; for
 * RESP_ENDLESS (ONCE) just one try. 1 written, 0 would block, -1 error. */
static int conn_write(struct conn *c, const void *buf, size_t len, bool once)
{
	for (int tries = 0; tries < 50; tries++) {
		int e;

		if (c->ssl) {
			int n = SSL_write(c->ssl, buf, (int)len);

			if (n > 0)
				return 1;
			e = SSL_get_error(c->ssl, n);
			if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
				ERR_clear_error();
				return -1;
			}
		} else {
			ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

			if (n > 0) {
				buf = (const char *)buf + n;
				len -= (size_t)n;
				if (!len)
					return 1;
				continue;
			}
			if (n < 0 && errno != EAGAIN)
				return -1;
		}
		if (once)
			return 0;
		poll(&(struct pollfd){ .fd = c->fd, .events = POLLOUT }, 1, 20);
	}
	return -1;
}

static void set_events(struct worker *w, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &e);
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* A complete request head is in c->in: answer by mode. False: closed. */
static bool answer_head(struct worker *w, struct conn *c, size_t head_len)
{
	const char *head = w->r->cfg.head ? w->r->cfg.head : head_200;
	bool sstp = !strncmp((char *)c->in, sstp_line, sizeof(sstp_line) - 1);
	char buf[160];

	STAT(w->r, requests);
	consume(c, head_len);
	switch (c->mode) {
	case RESP_SSTP:
	case RESP_NAK:
	case RESP_BAD_ACK:
		if (!sstp) {
			conn_write(c, head_404, strlen(head_404), false);
			break;
		}
		if (conn_write(c, head, strlen(head), false) < 0)
			break;
		c->st = C_SSTP;
		return true;
	case RESP_STATUS:
		snprintf(buf, sizeof(buf), "HTTP/1.1 %d Whatever\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n", w->r->cfg.status);
		conn_write(c, buf, strlen(buf), false);
		break;
	case RESP_GARBAGE:
		conn_write(c, garbage, sizeof(garbage) - 1, false);
		c->st = C_HOLD;
		return true;
	case RESP_DRIP:
		c->st = C_DRIP;
		w->n_drip++;
		c->next_drip_ms = now_ms();
		return true;
	case RESP_ENDLESS:
		conn_write(c, "HTTP/1.1 200 OK\r\n", 17, false);
		c->st = C_ENDLESS;
		set_events(w, c, EPOLLIN | EPOLLOUT);
		return true;
	case RESP_HANG:
		c->st = C_HOLD;
		return true;
	default:
		break;
	}
	conn_close(w, c);
	return false;
}

/* SSTP packets in c->in. False: closed. */
static bool answer_sstp(struct worker *w, struct conn *c)
{
	struct xlb_sstp_msg m;

	while (xlb_sstp_parse(c->in, c->in_len, &m) == XLB_PARSE_OK) {
		consume(c, m.len);
		if (!m.control)
			continue;
		if (m.type == XLB_SSTP_CALL_CONNECT_REQUEST) {
			if (c->mode == RESP_NAK) {
				conn_write(c, sstp_nak, sizeof(sstp_nak), false);
			} else if (c->mode == RESP_BAD_ACK) {
				conn_write(c, sstp_bad_ack, sizeof(sstp_bad_ack), false);
			} else {
				conn_write(c, sstp_ack, sizeof(sstp_ack), false);
				STAT(w->r, acks);
			}
		} else if (m.type == XLB_SSTP_CALL_DISCONNECT) {
			STAT(w->r, disconnects);
			conn_write(c, sstp_disc_ack, sizeof(sstp_disc_ack), false);
			conn_close(w, c);
			return false;
		}
	}
	return true;
}

/* Reads what fits into c->in: > 0 bytes, 0 EOF, -1 again, -2 error (or
 * no room left). */
static int read_in(struct worker *w, struct conn *c)
{
	int n;

	if (c->in_len == IN_MAX)
		return -2;
	n = conn_read(w, c, c->in + c->in_len, IN_MAX - c->in_len);
	if (n > 0)
		c->in_len += (size_t)n;
	return n;
}

static void *find_head_end(const uint8_t *b, size_t n)
{
	return memmem(b, n, "\r\n\r\n", 4);
}

static void conn_event(struct worker *w, struct conn *c, uint32_t events)
{
	for (;;) {
		int n;

		switch (c->st) {
		case C_PROXY:
			n = (int)read(c->fd, c->in + c->in_len, XLB_PROXY_V2_LOCAL_LEN - c->in_len);
			if (n < 0 && errno == EAGAIN)
				return;
			if (n <= 0)
				goto close;
			c->in_len += (size_t)n;
			if (c->in_len < XLB_PROXY_V2_LOCAL_LEN)
				return;
			if (memcmp(c->in, xlb_proxy_v2_local, XLB_PROXY_V2_LOCAL_LEN))
				goto close;
			STAT(w->r, proxy_headers);
			c->in_len = 0;
			c->st = c->ssl ? C_TLS : C_HEAD;
			break;
		case C_TLS:
			n = SSL_accept(c->ssl);
			if (n != 1) {
				int e = SSL_get_error(c->ssl, n);

				ERR_clear_error();
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				goto close;
			}
			STAT(w->r, handshakes);
			if (SSL_session_reused(c->ssl))
				STAT(w->r, resumed);
			c->st = c->mode == RESP_HANG ? C_HOLD : C_HEAD;
			break;
		case C_HEAD: {
			uint8_t *e;

			n = read_in(w, c);
			if (n == -1)
				return;
			if (n <= 0)
				goto close;
			e = find_head_end(c->in, c->in_len);
			if (!e)
				break;
			if (c->mode == RESP_CLOSE_AFTER_TLS)
				goto close;
			if (!answer_head(w, c, (size_t)(e + 4 - c->in)))
				return;
			if (c->st == C_SSTP && !answer_sstp(w, c))
				return;
			break;
		}
		case C_SSTP:
			n = read_in(w, c);
			if (n == -1)
				return;
			if (n <= 0)
				goto close;
			if (!answer_sstp(w, c))
				return;
			break;
		case C_ENDLESS:
			if (events & EPOLLOUT) {
				int r;

				while ((r = conn_write(c, endless, sizeof(endless) - 1, true)) > 0)
					;
				if (r < 0)
					goto close;
			}
			/* and read what comes */
			__attribute__((fallthrough));
		case C_HOLD:
		case C_DRIP: {
			uint8_t sink[512];

			n = conn_read(w, c, sink, sizeof(sink));
			if (n == -1)
				return;
			if (n <= 0)
				goto close;
			break;
		}
		}
	}
close:
	conn_close(w, c);
}

static void accept_all(struct worker *w)
{
	struct sstp_responder *r = w->r;

	for (;;) {
		int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;

		if (fd < 0)
			return;
		STAT(r, accepted);
		/* as servers do (sstp-server too): the 200 after the session
		 * tickets does not wait for their ACK (Nagle) */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->mode = (enum resp_mode)__atomic_load_n(&r->mode, __ATOMIC_RELAXED);
		if (c->mode == RESP_CLOSE) {
			close(fd);
			free(c);
			continue;
		}
		if (!r->cfg.plain && c->mode != RESP_HANG_TCP) {
			c->ssl = SSL_new(__atomic_load_n(&r->ctx, __ATOMIC_ACQUIRE));
			SSL_set_fd(c->ssl, fd);
			SSL_set_accept_state(c->ssl);
		}
		c->st = r->cfg.expect_proxy_v2 ? C_PROXY : c->ssl ? C_TLS : C_HEAD;
		if (c->mode == RESP_HANG_TCP)
			c->st = C_HOLD;
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		ev.data.ptr = c;
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
		conn_event(w, c, EPOLLIN);
	}
}

/* One byte of the 200 head per drip_ms to every dripping connection. */
static void drip(struct worker *w)
{
	unsigned every = w->r->cfg.drip_ms ? w->r->cfg.drip_ms : DRIP_MS;
	uint64_t now = now_ms();
	struct conn *c, *next;

	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->st != C_DRIP || c->next_drip_ms > now)
			continue;
		c->next_drip_ms = now + every;
		if (conn_write(c, head_200 + c->drip_off % (sizeof(head_200) - 1), 1, false) < 0)
			conn_close(w, c);
		else
			c->drip_off++;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned every = w->r->cfg.drip_ms ? w->r->cfg.drip_ms : DRIP_MS;

	for (;;) {
		struct epoll_event evs[64];
		int n;

		n = epoll_wait(w->epfd, evs, 64, w->n_drip ? (int)every : -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == w)
				return NULL;
			if (evs[i].data.ptr == NULL)
				accept_all(w);
			else
				conn_event(w, evs[i].data.ptr, evs[i].events);
		}
		if (w->n_drip)
			drip(w);
	}
}

/* ---- start and stop ------------------------------------------------------------ */

static int listen_on(const struct resp_cfg *cfg, uint16_t port)
{
	int fd = socket(cfg->v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if ((cfg->v6 ? bind(fd, (struct sockaddr *)&sin6, sizeof(sin6))
		     : bind(fd, (struct sockaddr *)&sin, sizeof(sin))) < 0 ||
	    listen(fd, 4096) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	getsockname(fd, (struct sockaddr *)&ss, &sl);
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

/* A server SSL_CTX for CERT and KEY, kept in r->ctxs; NULL on failure. */
static SSL_CTX *make_ctx(struct sstp_responder *r, X509 *cert, EVP_PKEY *key)
{
	SSL_CTX *ctx;

	if (r->n_ctxs == MAX_CTXS)
		return NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return NULL;
	r->ctxs[r->n_ctxs++] = ctx;
	if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
		return NULL;
	SSL_CTX_set_read_ahead(ctx, 1);
	if (r->cfg.tls12)
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	if (r->cfg.no_tickets || r->cfg.no_resume) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
	}
	if (r->cfg.no_resume)
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

struct sstp_responder *resp_start(const struct resp_cfg *cfg)
{
	struct sstp_responder *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cfg = *cfg;
	r->mode = cfg->mode;
	r->n_workers = cfg->threads > 0 ? cfg->threads : 1;
	if (!cfg->plain) {
		r->ctx = make_ctx(r, cfg->cert, cfg->key);
		if (!r->ctx)
			goto fail;
	}
	r->w = calloc((size_t)r->n_workers, sizeof(*r->w));
	if (!r->w)
		goto fail;
	for (int i = 0; i < r->n_workers; i++) {
		struct worker *w = &r->w[i];
		struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
		struct epoll_event sev = { .events = EPOLLIN, .data.ptr = w };

		w->r = r;
		w->lfd = listen_on(cfg, r->port);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->lfd < 0 || w->epfd < 0 || w->stopfd < 0)
			goto fail;
		if (!i)
			r->port = port_of(w->lfd);
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd, &lev);
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->stopfd, &sev);
		if (pthread_create(&w->th, NULL, worker_main, w)) {
			w->th = 0;
			goto fail;
		}
	}
	return r;
fail:
	resp_stop(r);
	return NULL;
}

uint16_t resp_port(const struct sstp_responder *r)
{
	return r->port;
}

void resp_set_mode(struct sstp_responder *r, enum resp_mode mode)
{
	__atomic_store_n(&r->mode, (int)mode, __ATOMIC_RELAXED);
}

void resp_get_stats(struct sstp_responder *r, struct resp_stats *out)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*out = r->stats;
}

void resp_new_ticket_key(struct sstp_responder *r)
{
	unsigned char keys[80];	/* name, HMAC and AES keys (SSL_CTX_set_tlsext_ticket_keys) */

	if (!r->ctx || RAND_bytes(keys, sizeof(keys)) != 1)
		return;
	SSL_CTX_set_tlsext_ticket_keys(r->ctx, keys, sizeof(keys));
	SSL_CTX_flush_sessions(r->ctx, 0);
}

int resp_set_cert(struct sstp_responder *r, X509 *cert, EVP_PKEY *key)
{
	unsigned char keys[80];
	SSL_CTX *ctx;

	if (!r->ctx || SSL_CTX_get_tlsext_ticket_keys(r->ctx, keys, sizeof(keys)) != 1)
		return -1;
	ctx = make_ctx(r, cert, key);
	if (!ctx || SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof(keys)) != 1)
		return -1;
	__atomic_store_n(&r->ctx, ctx, __ATOMIC_RELEASE);
	return 0;
}

void resp_stop(struct sstp_responder *r)
{
	if (!r)
		return;
	for (int i = 0; r->w && i < r->n_workers; i++) {
		struct worker *w = &r->w[i];
		uint64_t one = 1;

		if (w->th) {
			if (write(w->stopfd, &one, sizeof(one)) < 0)
				perror("resp_stop");
			pthread_join(w->th, NULL);
		}
		while (w->conns)
			conn_close(w, w->conns);
		if (w->lfd > 0)
			close(w->lfd);
		if (w->epfd > 0)
			close(w->epfd);
		if (w->stopfd > 0)
			close(w->stopfd);
	}
	free(r->w);
	for (int i = 0; i < r->n_ctxs; i++)
		SSL_CTX_free(r->ctxs[i]);
	free(r);
}

int resp_spawn(const struct resp_cfg *cfg, uint16_t *port)
{
	int pfd[2];
	pid_t pid;
	ssize_t n;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct sstp_responder *r = resp_start(cfg);
		uint16_t p = r ? resp_port(r) : 0;

		close(pfd[0]);
		if (write(pfd[1], &p, sizeof(p)) != sizeof(p) || !r)
			_exit(1);
		for (;;)
			pause();	/* until SIGTERM */
	}
	close(pfd[1]);
	n = read(pfd[0], port, sizeof(*port));
	close(pfd[0]);
	if (n != sizeof(*port) || !*port) {
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* ---- certificates ---------------------------------------------------------------- */

int resp_make_cert(const char *name, long not_before, long not_after, X509 **cert,
		   EVP_PKEY **key)
{
	static long serial = 1;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	char san[128];
	int ok = 0;

	if (!k || !x)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
	X509_gmtime_adj(X509_getm_notBefore(x), not_before);
	X509_gmtime_adj(X509_getm_notAfter(x), not_after);
	X509_set_pubkey(x, k);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	snprintf(san, sizeof(san), "DNS:%s,IP:127.0.0.1,IP:::1", name);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (!ext)
		goto out;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	if (!ext)
		goto out;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ok = X509_sign(x, k, EVP_sha256()) > 0;
out:
	if (!ok) {
		X509_free(x);
		EVP_PKEY_free(k);
		return -1;
	}
	*cert = x;
	*key = k;
	return 0;
}

int resp_write_pem(const char *path, X509 *cert)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = PEM_write_X509(f, cert);
	return fclose(f) == 0 && ok ? 0 : -1;
}
