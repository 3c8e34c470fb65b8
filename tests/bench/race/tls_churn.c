// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tls_churn: new TCP+TLS connections per second through an address, as an
 * SSTP farm sees them: each connection connects, does a full TLS handshake
 * (no session resumption, no tickets), sends one request, reads the answer
 * to the end and closes. CONC connections are kept in flight, spread over
 * WORKERS processes, each an epoll loop.
 *
 *   tls_churn ADDR[,ADDR...] PORT [-c CONC] [-t SECONDS] [-w WORKERS] [-T TIMEOUT] [--ca FILE]
 *
 * Several addresses are used in turn (a client of the backends themselves,
 * for a baseline without a load balancer). The request is "GET / HTTP/1.0"; the answer's last line names the backend
 * (tests/bench/race.sh's backends answer "beN"), so the spread is counted.
 * One line on stdout, KEY=VALUE:
 *
 *   ok=41230 fail=0 secs=10.00 rate=4123.0 p50_ms=6.1 p99_ms=19.8 cpu_s=8.12
 *   fail_connect=0 fail_tls=0 fail_io=0 fail_timeout=0 be1=13744 be2=13740 be3=13746
 *
 * rate counts connections completed (answer read to the end) within the
 * window; the ones still in flight at its end are dropped, not counted as
 * failures. cpu_s is the client's own CPU time (user + system, all workers).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_WORKERS	16
#define MAX_BACKENDS	32		/* names be1..be31 are counted */
#define LAT_BUCKETS	20000		/* 0.1 ms each: up to 2 s, then the last */
#define REQUEST		"GET / HTTP/1.0\r\nHost: vip\r\n\r\n"

#define MAX_ADDRS	16

struct opts {
	struct sockaddr_storage dst[MAX_ADDRS];	/* used in turn */
	socklen_t dst_len[MAX_ADDRS];
	int ndst;
	int conc;
	double secs;
	int workers;
	double timeout;
	const char *ca;
};

/* what one worker found; the parent adds them up (shared memory) */
struct result {
	uint64_t ok, fail_connect, fail_tls, fail_io, fail_timeout;
	uint64_t backend[MAX_BACKENDS];
	uint32_t lat[LAT_BUCKETS];
};

enum state { S_FREE, S_CONNECT, S_HANDSHAKE, S_WRITE, S_READ };

struct conn {
	int fd;
	enum state st;
	SSL *ssl;
	double start;
	char tail[16];		/* the last bytes of the answer */
	size_t got;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
	fprintf(stderr, "tls_churn: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static void conn_close(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	*c = (struct conn){ .fd = -1, .st = S_FREE };
}

static void conn_fail(struct conn *c, uint64_t *counter)
{
	(*counter)++;
	conn_close(c);
}

static void conn_done(struct conn *c, struct result *r)
{
	size_t n = c->got < sizeof(c->tail) ? c->got : sizeof(c->tail);
	double ms = (now() - c->start) * 1e3;
	int b = (int)(ms * 10);
	char last[sizeof(c->tail) + 1];
	char *p;

	memcpy(last, c->tail + sizeof(c->tail) - n, n);
	last[n] = 0;
	/* the answer ends with "beN\n" */
	while (n > 0 && (last[n - 1] == '\n' || last[n - 1] == '\r'))
		last[--n] = 0;
	p = strrchr(last, '\n');
	p = p ? p + 1 : last;
	if (!strncmp(p, "be", 2)) {
		int i = atoi(p + 2);

		if (i > 0 && i < MAX_BACKENDS)
			r->backend[i]++;
	}
	r->ok++;
	r->lat[b < LAT_BUCKETS ? b : LAT_BUCKETS - 1]++;
	conn_close(c);
}

static void want(int ep, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev))
		die("epoll_ctl");
}

static void conn_open(int ep, struct conn *c, const struct opts *o, struct result *r)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	static int next;
	int d = next++ % o->ndst;

	c->fd = socket(o->dst[d].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	c->start = now();
	c->got = 0;
	c->ssl = NULL;
	if (connect(c->fd, (struct sockaddr *)&o->dst[d], o->dst_len[d]) && errno != EINPROGRESS) {
		conn_fail(c, &r->fail_connect);
		return;
	}
	c->st = S_CONNECT;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
		die("epoll_ctl");
}

/* Move C on as far as it goes without blocking. */
static void conn_step(int ep, struct conn *c, SSL_CTX *ctx, struct result *r)
{
	char buf[4096];
	int n, err;

	switch (c->st) {
	case S_CONNECT: {
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			conn_fail(c, &r->fail_connect);
			return;
		}
		c->ssl = SSL_new(ctx);
		if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
			conn_fail(c, &r->fail_tls);
			return;
		}
		SSL_set_connect_state(c->ssl);
		c->st = S_HANDSHAKE;
	}
	/* fall through */
	case S_HANDSHAKE:
		n = SSL_do_handshake(c->ssl);
		if (n != 1) {
			err = SSL_get_error(c->ssl, n);
			if (err == SSL_ERROR_WANT_READ)
				want(ep, c, EPOLLIN);
			else if (err == SSL_ERROR_WANT_WRITE)
				want(ep, c, EPOLLOUT);
			else
				conn_fail(c, &r->fail_tls);
			return;
		}
		c->st = S_WRITE;
	/* fall through */
	case S_WRITE:
		n = SSL_write(c->ssl, REQUEST, sizeof(REQUEST) - 1);
		if (n <= 0) {
			err = SSL_get_error(c->ssl, n);
			if (err == SSL_ERROR_WANT_READ)
				want(ep, c, EPOLLIN);
			else if (err == SSL_ERROR_WANT_WRITE)
				want(ep, c, EPOLLOUT);
			else
				conn_fail(c, &r->fail_io);
			return;
		}
		c->st = S_READ;
		want(ep, c, EPOLLIN);
	/* fall through */
	case S_READ:
		for (;;) {
			n = SSL_read(c->ssl, buf, sizeof(buf));
			if (n > 0) {
				size_t k = (size_t)n < sizeof(c->tail) ? (size_t)n : sizeof(c->tail);

				memmove(c->tail, c->tail + k, sizeof(c->tail) - k);
				memcpy(c->tail + sizeof(c->tail) - k, buf + n - k, k);
				c->got += n;
				continue;
			}
			err = SSL_get_error(c->ssl, n);
			if (err == SSL_ERROR_WANT_READ)
				return;
			/* the server closes after the answer, with or without close_notify */
			if ((err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL ||
			     err == SSL_ERROR_SSL) && c->got > 0)
				conn_done(c, r);
			else
				conn_fail(c, &r->fail_io);
			ERR_clear_error();
			return;
		}
	case S_FREE:
		return;
	}
}

static void worker(const struct opts *o, int conc, double end, struct result *r)
{
	struct epoll_event evs[256];
	struct conn *conns = calloc(conc, sizeof(*conns));
	double next_scan = 0;
	SSL_CTX *ctx;
	int ep;

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !conns)
		die("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (o->ca) {
		if (!SSL_CTX_load_verify_locations(ctx, o->ca, NULL)) {
			fprintf(stderr, "tls_churn: cannot load CA file %s\n", o->ca);
			exit(1);
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	for (int i = 0; i < conc; i++) {
		conns[i] = (struct conn){ .fd = -1, .st = S_FREE };
		conn_open(ep, &conns[i], o, r);
	}
	for (;;) {
		double t = now();
		int n;

		if (t >= end)
			break;
		n = epoll_wait(ep, evs, 256, 50);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++)
			conn_step(ep, evs[i].data.ptr, ctx, r);
		t = now();
		if (t >= end)
			break;
		/* refill, and time out the stuck ones now and then */
		for (int i = 0; i < conc; i++) {
			struct conn *c = &conns[i];

			if (c->st != S_FREE && t >= next_scan && t - c->start > o->timeout)
				conn_fail(c, &r->fail_timeout);
			if (c->st == S_FREE)
				conn_open(ep, c, o, r);
		}
		if (t >= next_scan)
			next_scan = t + 0.1;
	}
	/* in flight at the end: neither counted nor failed */
	for (int i = 0; i < conc; i++)
		if (conns[i].st != S_FREE)
			conn_close(&conns[i]);
	SSL_CTX_free(ctx);
	free(conns);
}

static double lat_pct(const uint64_t *h, uint64_t total, double pct)
{
	uint64_t want = (uint64_t)(total * pct / 100.0), seen = 0;

	for (int i = 0; i < LAT_BUCKETS; i++) {
		seen += h[i];
		if (seen > want)
			return (i + 0.5) / 10.0;
	}
	return LAT_BUCKETS / 10.0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tls_churn ADDR[,ADDR...] PORT [-c CONC] [-t SECONDS] [-w WORKERS] "
			"[-T TIMEOUT] [--ca FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ca", required_argument, NULL, 'a' },
		{}
	};
	struct opts o = { .conc = 32, .secs = 10, .workers = 2, .timeout = 5 };
	struct result *res, tot = {};
	uint64_t lat[LAT_BUCKETS] = {};
	struct rusage ru;
	double start, end;
	int c, port;

	while ((c = getopt_long(argc, argv, "c:t:w:T:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o.conc = atoi(optarg); break;
		case 't': o.secs = atof(optarg); break;
		case 'w': o.workers = atoi(optarg); break;
		case 'T': o.timeout = atof(optarg); break;
		case 'a': o.ca = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || o.conc < 1 || o.workers < 1 || o.workers > MAX_WORKERS ||
	    o.conc < o.workers || o.secs <= 0 || o.timeout <= 0)
		usage();
	port = atoi(argv[optind + 1]);
	if (port < 1 || port > 65535)
		usage();
	for (char *save, *a = strtok_r(argv[optind], ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&o.dst[o.ndst];
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&o.dst[o.ndst];

		if (o.ndst == MAX_ADDRS)
			usage();
		if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			o.dst_len[o.ndst++] = sizeof(*s4);
		} else if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			o.dst_len[o.ndst++] = sizeof(*s6);
		} else {
			fprintf(stderr, "tls_churn: '%s' is not an IPv4 or IPv6 address\n", a);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);

	res = mmap(NULL, sizeof(*res) * o.workers, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		die("mmap");
	memset(res, 0, sizeof(*res) * o.workers);
	start = now();
	end = start + o.secs;
	for (int w = 0; w < o.workers; w++) {
		int share = o.conc / o.workers + (w < o.conc % o.workers);
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			worker(&o, share, end, &res[w]);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	getrusage(RUSAGE_CHILDREN, &ru);

	for (int w = 0; w < o.workers; w++) {
		tot.ok += res[w].ok;
		tot.fail_connect += res[w].fail_connect;
		tot.fail_tls += res[w].fail_tls;
		tot.fail_io += res[w].fail_io;
		tot.fail_timeout += res[w].fail_timeout;
		for (int i = 0; i < MAX_BACKENDS; i++)
			tot.backend[i] += res[w].backend[i];
		for (int i = 0; i < LAT_BUCKETS; i++)
			lat[i] += res[w].lat[i];
	}
	printf("ok=%llu fail=%llu secs=%.2f rate=%.1f p50_ms=%.1f p99_ms=%.1f cpu_s=%.2f "
	       "fail_connect=%llu fail_tls=%llu fail_io=%llu fail_timeout=%llu",
	       (unsigned long long)tot.ok,
	       (unsigned long long)(tot.fail_connect + tot.fail_tls + tot.fail_io + tot.fail_timeout),
	       o.secs, tot.ok / o.secs, lat_pct(lat, tot.ok, 50), lat_pct(lat, tot.ok, 99),
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6,
	       (unsigned long long)tot.fail_connect, (unsigned long long)tot.fail_tls,
	       (unsigned long long)tot.fail_io, (unsigned long long)tot.fail_timeout);
	for (int i = 1; i < MAX_BACKENDS; i++)
		if (tot.backend[i])
			printf(" be%d=%llu", i, (unsigned long long)tot.backend[i]);
	printf("\n");
	return 0;
}
