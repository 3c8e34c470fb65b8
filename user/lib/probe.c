/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * probe.c: the health probe engine (probe.h): targets by key, their
 * schedule, verdicts and rise/fall, the public API. One epoll set holds a
 * timerfd and every probe's socket; two min-heaps order the targets, those
 * at rest by their next start (interval +- 10%, the first one at a random
 * point of the interval) and those in flight by their deadline. Each
 * probe's connection is probe_conn.c's business.
 *
 * Ended probes are kept for the next ones (up to FREE_PROBES_MAX, with
 * their reply buffer), as probe_conn.c keeps SSL objects: at thousands of
 * probes a second, what is not allocated is not freed either.
 */
#include "probe_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MAX_EVENTS		256
#define JITTER_PCT		10		/* interval +- this */
#define FREE_PROBES_MAX		32

static const char *const result_names[XLB_PR__COUNT] = {
	[XLB_PR_NONE]			= "none",
	[XLB_PR_OK]			= "ok",
	[XLB_PR_CONNECT_REFUSED]	= "connect_refused",
	[XLB_PR_CONNECT_TIMEOUT]	= "connect_timeout",
	[XLB_PR_UNREACHABLE]		= "unreachable",
	[XLB_PR_CONNECT_ERROR]		= "connect_error",
	[XLB_PR_SOURCE_BIND]		= "source_bind",
	[XLB_PR_TIMEOUT]		= "timeout",
	[XLB_PR_CLOSED]			= "closed",
	[XLB_PR_RESET]			= "reset",
	[XLB_PR_TLS_ALERT]		= "tls_alert",
	[XLB_PR_TLS_ERROR]		= "tls_error",
	[XLB_PR_CERT_INVALID]		= "cert_invalid",
	[XLB_PR_CERT_EXPIRED]		= "cert_expired",
	[XLB_PR_CA_FILE]		= "ca_file",
	[XLB_PR_HTTP_STATUS]		= "http_status",
	[XLB_PR_HTTP_MALFORMED]		= "http_malformed",
	[XLB_PR_SSTP_NAK]		= "sstp_nak",
	[XLB_PR_SSTP_ABORT]		= "sstp_abort",
	[XLB_PR_SSTP_MALFORMED]		= "sstp_malformed",
	[XLB_PR_TOO_LARGE]		= "too_large",
	[XLB_PR_LOCAL_ERROR]		= "local_error",
};

const char *xlb_probe_result_name(enum xlb_probe_result r)
{
	return (unsigned)r < XLB_PR__COUNT ? result_names[r] : "?";
}

const char *xlb_probe_health_name(enum xlb_probe_health h)
{
	switch (h) {
	case XLB_HEALTH_UNKNOWN:	return "unknown";
	case XLB_HEALTH_UP:		return "up";
	case XLB_HEALTH_DOWN:		return "down";
	}
	return "?";
}

/* ---- small things ----------------------------------------------------------- */

uint64_t xlbp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* xorshift64*: jitter and correlation ids, not secrets. */
uint64_t xlbp_rnd(struct xlb_prober *pr)
{
	pr->rng ^= pr->rng >> 12;
	pr->rng ^= pr->rng << 25;
	pr->rng ^= pr->rng >> 27;
	return pr->rng * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(struct xlb_prober *pr, uint64_t n)
{
	return n ? xlbp_rnd(pr) % n : 0;
}

/* interval +- JITTER_PCT, in microseconds */
static uint64_t jittered(struct xlb_prober *pr, uint32_t interval_ms)
{
	uint64_t iv = (uint64_t)interval_ms * 1000, span = iv * JITTER_PCT / 100;

	return iv - span + rnd_below(pr, 2 * span + 1);
}

static bool is_tls_type(enum xlb_probe_type t)
{
	return t == XLB_PROBE_TLS || t == XLB_PROBE_SSTP || t == XLB_PROBE_SSTP_DEEP;
}

/* ---- targets by key ------------------------------------------------------- */

static size_t bucket_of(const struct xlb_prober *pr, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return key & (pr->n_buckets - 1);
}

static struct target *find(const struct xlb_prober *pr, uint64_t key)
{
	struct target *t;

	for (t = pr->buckets[bucket_of(pr, key)]; t; t = t->hnext)
		if (t->key == key)
			return t;
	return NULL;
}

static int hash_grow(struct xlb_prober *pr)
{
	size_t old_n = pr->n_buckets, n = old_n * 2;
	struct target **old = pr->buckets, **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	pr->buckets = b;
	pr->n_buckets = n;
	for (size_t i = 0; i < old_n; i++) {
		struct target *t = old[i], *next;

		for (; t; t = next) {
			size_t k = bucket_of(pr, t->key);

			next = t->hnext;
			t->hnext = b[k];
			b[k] = t;
		}
	}
	free(old);
	return 0;
}

static void hash_del(struct xlb_prober *pr, struct target *t)
{
	struct target **pp = &pr->buckets[bucket_of(pr, t->key)];

	while (*pp != t)
		pp = &(*pp)->hnext;
	*pp = t->hnext;
	pr->n_targets--;
}

/* ---- the schedule: two min-heaps on due_us ---------------------------------- */

static void heap_put(struct heap *h, size_t i, struct target *t)
{
	h->v[i] = t;
	t->heap_idx = (uint32_t)i;
}

static void heap_fix(struct heap *h, size_t i)
{
	struct target *t = h->v[i];

	while (i > 0 && h->v[(i - 1) / 2]->due_us > t->due_us) {
		heap_put(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->len)
			break;
		if (c + 1 < h->len && h->v[c + 1]->due_us < h->v[c]->due_us)
			c++;
		if (h->v[c]->due_us >= t->due_us)
			break;
		heap_put(h, i, h->v[c]);
		i = c;
	}
	heap_put(h, i, t);
}

static void heap_remove(struct heap *h, struct target *t)
{
	size_t i = t->heap_idx;
	struct target *last;

	if (i == NO_HEAP)
		return;
	t->heap_idx = NO_HEAP;
	last = h->v[--h->len];
	if (last != t) {
		heap_put(h, i, last);
		heap_fix(h, i);
	}
}

/* Puts T in H (or moves it) at DUE. H has room: xlb_prober_set() grows
 * both heaps to hold every target. */
static void heap_set(struct heap *h, struct target *t, uint64_t due)
{
	t->due_us = due;
	if (t->heap_idx == NO_HEAP) {
		h->v[h->len] = t;
		t->heap_idx = (uint32_t)h->len++;
	}
	heap_fix(h, t->heap_idx);
}

static int heap_reserve(struct heap *h, size_t n)
{
	size_t cap = h->cap ? h->cap : 64;
	struct target **v;

	if (n <= h->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	v = realloc(h->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	h->cap = cap;
	return 0;
}

static bool may_start(const struct xlb_prober *pr)
{
	return !pr->max_in_flight || pr->stats.in_flight < pr->max_in_flight;
}

/* The timerfd follows the earliest deadline and, below the in-flight
 * limit, the earliest start. */
static void arm(struct xlb_prober *pr)
{
	struct itimerspec its = { 0 };
	uint64_t due = pr->busy.len ? pr->busy.v[0]->due_us : 0;

	if (pr->idle.len && may_start(pr) && (!due || pr->idle.v[0]->due_us < due))
		due = pr->idle.v[0]->due_us;
	if (due == pr->armed_us)
		return;
	its.it_value.tv_sec = (time_t)(due / 1000000);
	its.it_value.tv_nsec = (long)(due % 1000000) * 1000;
	if (timerfd_settime(pr->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		pr->armed_us = due;
}

/* ---- verdicts ----------------------------------------------------------------- */

/* Records the probe's result and moves health by rise/fall; on_change runs
 * after the current step (t->notify). */
void xlbp_record(struct xlb_prober *pr, struct probe *p, enum xlb_probe_result r)
{
	struct target *t = p->t;
	struct xlb_probe_status *st = &t->st;
	enum xlb_probe_health h = st->health;
	uint64_t lat = xlbp_now_us() - p->start_us;

	p->verdict = true;
	p->ok = r == XLB_PR_OK;
	pr->stats.finished++;
	st->last = r;
	st->latency_us = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
	st->probes++;
	st->count[r]++;
	if (r == XLB_PR_OK) {
		st->failures = 0;
		if (st->successes < UINT32_MAX)
			st->successes++;
		if (h != XLB_HEALTH_UP && st->successes >= t->cfg.rise)
			h = XLB_HEALTH_UP;
	} else {
		st->successes = 0;
		if (st->failures < UINT32_MAX)
			st->failures++;
		if (h != XLB_HEALTH_DOWN && st->failures >= t->cfg.fall)
			h = XLB_HEALTH_DOWN;
	}
	if (h != st->health) {
		st->health = h;
		st->changed = time(NULL);
		t->notify = true;
	}
}

void xlbp_fail(struct xlb_prober *pr, struct probe *p, enum xlb_probe_result r,
	       const char *fmt, ...)
{
	struct xlb_probe_status *st = &p->t->st;
	size_t n;
	va_list ap;

	n = (size_t)snprintf(st->error, sizeof(st->error), "%s: ", p->t->where);
	if (n < sizeof(st->error)) {
		va_start(ap, fmt);
		vsnprintf(st->error + n, sizeof(st->error) - n, fmt, ap);
		va_end(ap);
	}
	xlbp_record(pr, p, r);
}

/* ---- starting and ending a probe ------------------------------------------- */

/* A zeroed probe, with a reply buffer if a reused one had it. */
static struct probe *new_probe(struct xlb_prober *pr)
{
	struct probe *p = pr->free_probes;
	uint8_t *in;

	if (!p)
		return calloc(1, sizeof(*p));
	pr->free_probes = p->next_dead;
	pr->n_free_probes--;
	in = p->in;
	memset(p, 0, offsetof(struct probe, req));	/* req is written before use */
	p->in = in;
	return p;
}

static void free_probe(struct xlb_prober *pr, struct probe *p)
{
	if (pr->n_free_probes < FREE_PROBES_MAX) {
		p->next_dead = pr->free_probes;
		pr->free_probes = p;
		pr->n_free_probes++;
		return;
	}
	free(p->in);
	free(p);
}

static void start_probe(struct xlb_prober *pr, struct target *t, uint64_t now)
{
	uint64_t late = now > t->due_us ? now - t->due_us : 0;
	struct probe *p = new_probe(pr);

	pr->stats.started++;
	pr->stats.lateness_sum_us += late;
	if (late > pr->stats.lateness_max_us)
		pr->stats.lateness_max_us = late;
	if (late > XLB_PROBE_LATE_US)
		pr->stats.late++;
	t->next_us = now + jittered(pr, t->cfg.interval_ms);
	if (!p) {
		heap_set(&pr->idle, t, t->next_us);
		return;
	}
	p->t = t;
	p->fd = -1;
	p->start_us = now;
	heap_remove(&pr->idle, t);
	t->run = p;
	heap_set(&pr->busy, t, now + (uint64_t)t->cfg.timeout_ms * 1000);
	if (++pr->stats.in_flight > pr->stats.max_in_flight)
		pr->stats.max_in_flight = pr->stats.in_flight;
	xlbp_connect(pr, p);
}

void xlbp_end(struct xlb_prober *pr, struct probe *p, bool rst)
{
	struct target *t = p->t;
	uint64_t now = xlbp_now_us();

	xlbp_close(pr, p, rst);
	pr->stats.in_flight--;
	p->t = NULL;
	heap_remove(&pr->busy, t);
	t->run = NULL;
	if (!t->dead && t->cfg.type != XLB_PROBE_NONE)
		heap_set(&pr->idle, t, t->next_us > now ? t->next_us : now);
	if (pr->in_run) {
		p->next_dead = pr->dead_probes;
		pr->dead_probes = p;
	} else {
		free_probe(pr, p);
	}
}

/* on_change for T if its last step changed health; T is not used after. */
static void notify(struct xlb_prober *pr, struct target *t)
{
	if (!t->notify || t->dead)
		return;
	t->notify = false;
	if (pr->on_change)
		pr->on_change(pr->arg, t->key, t->st.health, &t->st);
}

/* ---- public ---------------------------------------------------------------- */

struct xlb_prober *xlb_prober_new(xlb_probe_change_fn on_change, void *arg)
{
	struct xlb_prober *pr = calloc(1, sizeof(*pr));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int err;

	if (!pr)
		return NULL;
	pr->epfd = epoll_create1(EPOLL_CLOEXEC);
	pr->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	pr->n_buckets = 64;
	pr->buckets = calloc(pr->n_buckets, sizeof(*pr->buckets));
	if (pr->epfd < 0 || pr->tfd < 0 || !pr->buckets ||
	    epoll_ctl(pr->epfd, EPOLL_CTL_ADD, pr->tfd, &ev) < 0)
		goto fail;
	if (getrandom(&pr->rng, sizeof(pr->rng), GRND_NONBLOCK) != sizeof(pr->rng))
		pr->rng = xlbp_now_us() ^ (uint64_t)getpid() << 32;
	pr->rng |= 1;
	pr->on_change = on_change;
	pr->arg = arg;
	pr->max_in_flight = XLB_PROBE_MAX_IN_FLIGHT;
	pr->tls_refresh_us = XLB_PROBE_TLS_REFRESH_S * 1000000ull;
	return pr;
fail:
	err = errno ? errno : ENOMEM;
	xlb_prober_free(pr);
	errno = err;
	return NULL;
}

static void free_dead(struct xlb_prober *pr)
{
	while (pr->dead_probes) {
		struct probe *p = pr->dead_probes;

		pr->dead_probes = p->next_dead;
		free_probe(pr, p);
	}
	while (pr->dead_targets) {
		struct target *t = pr->dead_targets;

		pr->dead_targets = t->next_dead;
		free(t);
	}
}

void xlb_prober_free(struct xlb_prober *pr)
{
	if (!pr)
		return;
	for (size_t i = 0; pr->buckets && i < pr->n_buckets; i++)
		while (pr->buckets[i])
			xlb_prober_del(pr, pr->buckets[i]->key);
	free_dead(pr);
	while (pr->free_probes) {
		struct probe *p = pr->free_probes;

		pr->free_probes = p->next_dead;
		free(p->in);
		free(p);
	}
	if (pr->tfd >= 0)
		close(pr->tfd);
	if (pr->epfd >= 0)
		close(pr->epfd);
	free(pr->buckets);
	free(pr->idle.v);
	free(pr->busy.v);
	free(pr);
}

static bool cfg_equal(const struct xlb_probe_cfg *a, const struct xlb_probe_cfg *b)
{
	return a->type == b->type && a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && a->rise == b->rise && a->fall == b->fall &&
	       a->http_status == b->http_status && a->verify == b->verify &&
	       a->cert_warn_days == b->cert_warn_days && a->proxy_v2 == b->proxy_v2 &&
	       !strcmp(a->http_path, b->http_path) && !strcmp(a->host, b->host) &&
	       !strcmp(a->ca_file, b->ca_file) && xlb_ip_equal(&a->source, &b->source);
}

/* What goes into a request line or header: no spaces, no controls. */
static bool wire_safe(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static void drop_probe(struct xlb_prober *pr, struct target *t)
{
	if (t->run)
		xlbp_end(pr, t->run, true);
}

int xlb_prober_set(struct xlb_prober *pr, uint64_t key, const struct xlb_ip *addr,
		   uint16_t port, const struct xlb_probe_cfg *cfg,
		   enum xlb_probe_health initial)
{
	static const struct xlb_ip none;
	uint16_t eport = cfg->port ? cfg->port : port;
	struct target *t = find(pr, key);
	struct ssl_ent *e = NULL;
	char a[INET6_ADDRSTRLEN];
	bool is_new = !t;

	if (cfg->type > XLB_PROBE_HTTP)
		return -EINVAL;
	if (cfg->type != XLB_PROBE_NONE &&
	    (!addr || (addr->family != XLB_FAMILY_V4 && addr->family != XLB_FAMILY_V6) ||
	     !eport || !cfg->interval_ms || !cfg->timeout_ms ||
	     !wire_safe(cfg->host, sizeof(cfg->host)) ||
	     (cfg->type == XLB_PROBE_HTTP &&
	      (cfg->http_path[0] != '/' || !wire_safe(cfg->http_path, sizeof(cfg->http_path))))))
		return -EINVAL;
	if (!addr)
		addr = &none;
	if (t && xlb_ip_equal(&t->addr, addr) && t->port == eport && cfg_equal(&t->cfg, cfg))
		return 0;

	if (is_tls_type(cfg->type)) {
		e = xlbp_ssl_get(pr, cfg->verify, cfg->ca_file);
		if (!e)
			return -ENOMEM;
	}
	if (is_new) {
		if (heap_reserve(&pr->idle, pr->n_targets + 1) < 0 ||
		    heap_reserve(&pr->busy, pr->n_targets + 1) < 0)
			goto nomem;
		if (pr->n_targets >= pr->n_buckets && hash_grow(pr) < 0)
			goto nomem;
		t = calloc(1, sizeof(*t));
		if (!t)
			goto nomem;
		t->key = key;
		t->heap_idx = NO_HEAP;
		t->st.health = initial;
		t->hnext = pr->buckets[bucket_of(pr, key)];
		pr->buckets[bucket_of(pr, key)] = t;
		pr->n_targets++;
	} else {
		drop_probe(pr, t);
		xlbp_forget_session(t);
		if (t->cfg.type != XLB_PROBE_NONE)
			pr->stats.targets--;
		t->st.successes = 0;
		t->st.failures = 0;
	}
	xlbp_ssl_put(pr, t->ssl);
	t->ssl = e;
	t->cfg = *cfg;
	t->addr = *addr;
	t->port = eport;
	if (addr->family == XLB_FAMILY_V6)
		snprintf(t->where, sizeof(t->where), "[%s]:%u", xlb_ip_str(addr, a, sizeof(a)), eport);
	else if (addr->family == XLB_FAMILY_V4)
		snprintf(t->where, sizeof(t->where), "%s:%u", xlb_ip_str(addr, a, sizeof(a)), eport);

	if (cfg->type == XLB_PROBE_NONE) {
		heap_remove(&pr->idle, t);
		t->st.health = XLB_HEALTH_UP;
	} else {
		pr->stats.targets++;
		heap_set(&pr->idle, t, xlbp_now_us() +
				       rnd_below(pr, (uint64_t)cfg->interval_ms * 1000));
	}
	arm(pr);
	return 0;
nomem:
	xlbp_ssl_put(pr, e);
	return -ENOMEM;
}

void xlb_prober_del(struct xlb_prober *pr, uint64_t key)
{
	struct target *t = find(pr, key);

	if (!t)
		return;
	drop_probe(pr, t);
	hash_del(pr, t);
	heap_remove(&pr->idle, t);
	xlbp_forget_session(t);
	xlbp_ssl_put(pr, t->ssl);
	if (t->cfg.type != XLB_PROBE_NONE)
		pr->stats.targets--;
	t->dead = true;
	if (pr->in_run) {
		t->next_dead = pr->dead_targets;
		pr->dead_targets = t;
	} else {
		free(t);
	}
	arm(pr);
}

int xlb_prober_fd(const struct xlb_prober *pr)
{
	return pr->epfd;
}

int xlb_prober_run(struct xlb_prober *pr)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, done = 0;
	uint64_t exp, now;

	n = epoll_wait(pr->epfd, evs, MAX_EVENTS, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	pr->in_run = true;
	for (int i = 0; i < n; i++) {
		struct probe *p = evs[i].data.ptr;
		struct target *t;

		if (!p || !p->t)
			continue;	/* the timer (below), or ended meanwhile */
		t = p->t;
		xlbp_step(pr, p, evs[i].events);
		notify(pr, t);
		done++;
	}
	if (read(pr->tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		exp = 0;
	now = xlbp_now_us();
	while (pr->busy.len && pr->busy.v[0]->due_us <= now) {
		struct target *t = pr->busy.v[0];

		xlbp_expire(pr, t->run);
		notify(pr, t);
		done++;
	}
	/* the most overdue first; beyond the limit they wait (and are late) */
	while (pr->idle.len && pr->idle.v[0]->due_us <= now && may_start(pr)) {
		struct target *t = pr->idle.v[0];

		start_probe(pr, t, now);
		notify(pr, t);
		done++;
	}
	arm(pr);
	pr->in_run = false;
	free_dead(pr);
	return done;
}

const struct xlb_probe_status *xlb_prober_status(const struct xlb_prober *pr, uint64_t key)
{
	const struct target *t = find(pr, key);

	return t ? &t->st : NULL;
}

void xlb_prober_stats(const struct xlb_prober *pr, struct xlb_prober_stats *out)
{
	*out = pr->stats;
}

void xlb_prober_set_max_in_flight(struct xlb_prober *pr, unsigned n)
{
	pr->max_in_flight = n;
	arm(pr);
}

void xlb_prober_set_tls_refresh(struct xlb_prober *pr, unsigned secs)
{
	if (secs > XLB_PROBE_TLS_REFRESH_MAX_S)
		secs = XLB_PROBE_TLS_REFRESH_MAX_S;
	pr->tls_refresh_us = (uint64_t)secs * 1000000;
}

size_t xlb_prober_target_size(void)
{
	/* the target, its hash bucket share (load <= 1) and two heap slots */
	return sizeof(struct target) + 3 * sizeof(struct target *);
}

size_t xlb_prober_probe_size(void)
{
	return sizeof(struct probe) + XLB_PROBE_BUF;
}
