// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sync.c: make the maps say what the desired state says, writing only what
 * differs.
 *
 * Ids: a VIP's id and each (VIP, backend)'s id are read back from the maps
 * at start, so a restarted xlbd keeps them, and with them every flow entry.
 * Order within a VIP: backends that are joining or changing are written
 * first, then the ring is swapped, and only then are backends taken down or
 * freed, so no packet is ever sent to a backend the maps do not describe.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "config.h"
#include "xlbd.h"

struct rt_vip *xlbd_rt_vip(struct xlbd *d, const struct xlb_service *svc)
{
	for (size_t i = 0; i < d->n_vips; i++)
		if (xlb_service_equal(&d->vips[i].svc, svc))
			return &d->vips[i];
	return NULL;
}

/* A VIP's backends are kept sorted by address: lookups are binary searches
 * (a VIP may have thousands, and each sync looks every one up). */
static size_t rt_backend_pos(const struct rt_vip *v, const struct xlb_ip *ip, bool *found)
{
	size_t lo = 0, hi = v->n_bes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = xlb_ip_cmp(&v->bes[mid].addr, ip);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

struct rt_backend *xlbd_rt_backend(struct rt_vip *v, const struct xlb_ip *ip)
{
	bool found;
	size_t i = rt_backend_pos(v, ip, &found);

	return found ? &v->bes[i] : NULL;
}

uint8_t xlbd_backend_state(const struct rt_vip *rv, const struct xlb_backend_cfg *b,
			   const struct rt_backend *rb)
{
	/* held: as it was when the last backend went down (the last ring) */
	bool sick = rb && (rv && rv->ring_held ? rb->held_down : rb->health == XLBD_HEALTH_DOWN);

	if (b->disabled || b->weight == 0 || sick)
		return XLB_BACKEND_DOWN;
	return b->drain ? XLB_BACKEND_DRAINING : XLB_BACKEND_ACTIVE;
}

static void to_bpf_addr(const struct xlb_ip *ip, __be32 out[4])
{
	memset(out, 0, 16);
	memcpy(out, ip->a, ip->family == XLB_FAMILY_V4 ? 4 : 16);
}

static void from_bpf_addr(const __be32 in[4], uint8_t family, struct xlb_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	memcpy(ip->a, in, family == XLB_FAMILY_V4 ? 4 : 16);
}

static void vip_key_of(const struct xlb_service *svc, struct xlb_vip_key *k)
{
	memset(k, 0, sizeof(*k));
	to_bpf_addr(&svc->addr, k->addr);
	k->port = htons(svc->port);
	k->proto = svc->proto;
	k->family = svc->addr.family;
}

/* ---- ids ------------------------------------------------------------------ */

static bool id_used(const struct xlbd *d, uint32_t id)
{
	return d->id_used[id / 64] & (1ull << (id % 64));
}

static void id_mark(struct xlbd *d, uint32_t id, bool used)
{
	if (used)
		d->id_used[id / 64] |= 1ull << (id % 64);
	else
		d->id_used[id / 64] &= ~(1ull << (id % 64));
}

static int alloc_backend_id(struct xlbd *d, uint32_t *id)
{
	static uint32_t next;

	/* round robin, so a freed id rests before it is reused */
	for (uint32_t n = 0; n < XLB_MAX_BACKENDS; n++) {
		uint32_t cand = (next + n) % XLB_MAX_BACKENDS;

		if (!id_used(d, cand)) {
			*id = cand;
			next = cand + 1;
			return 0;
		}
	}
	return -ENOSPC;
}

static int alloc_vip_id(const struct xlbd *d, uint32_t *id)
{
	for (uint32_t cand = 0; cand < XLB_MAX_VIPS; cand++) {
		size_t i;

		for (i = 0; i < d->n_vips && d->vips[i].vip_id != cand; i++)
			;
		if (i == d->n_vips) {
			*id = cand;
			return 0;
		}
	}
	return -ENOSPC;
}

static struct rt_vip *rt_vip_add(struct xlbd *d, const struct xlb_service *svc, uint32_t id)
{
	struct rt_vip *grown = realloc(d->vips, (d->n_vips + 1) * sizeof(*grown));

	if (!grown)
		return NULL;
	d->vips = grown;
	memset(&d->vips[d->n_vips], 0, sizeof(d->vips[0]));
	d->vips[d->n_vips].svc = *svc;
	d->vips[d->n_vips].vip_id = id;
	return &d->vips[d->n_vips++];
}

static struct rt_backend *rt_backend_add(struct xlbd *d, struct rt_vip *v,
					 const struct xlb_ip *ip, uint32_t id)
{
	struct rt_backend *grown = realloc(v->bes, (v->n_bes + 1) * sizeof(*grown));
	bool found;
	size_t i;

	if (!grown)
		return NULL;
	id_mark(d, id, true);
	v->bes = grown;
	i = rt_backend_pos(v, ip, &found);
	memmove(&v->bes[i + 1], &v->bes[i], (v->n_bes - i) * sizeof(v->bes[0]));
	v->n_bes++;
	memset(&v->bes[i], 0, sizeof(v->bes[0]));
	v->bes[i].addr = *ip;
	v->bes[i].id = id;
	return &v->bes[i];
}

/* Learn the ids a previous xlbd (or this one) gave, from the maps. */
static int load_ids(struct xlbd *d)
{
	struct xlb_vip_key key, next;
	struct xlb_backend be;
	void *prev = NULL;
	struct xlb_vip vip;
	int err;

	while (!bpf_map_get_next_key(d->dp.vips, prev, &next)) {
		struct xlb_service svc = {};

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(d->dp.vips, &key, &vip))
			continue;
		from_bpf_addr(key.addr, key.family, &svc.addr);
		svc.port = ntohs(key.port);
		svc.proto = key.proto;
		if (!rt_vip_add(d, &svc, vip.vip_id))
			return -ENOMEM;
	}
	err = xlb_dp_vip_addrs_rebuild(&d->dp);
	if (err)
		log_err("recounting the VIP addresses: %s", strerror(-err));
	for (uint32_t id = 0; id < XLB_MAX_BACKENDS; id++) {
		struct rt_backend *rb;
		size_t owner = d->n_vips;
		struct xlb_ip ip;

		if (xlb_dp_backend_get(&d->dp, id, &be) || be.state == XLB_BACKEND_UNUSED)
			continue;
		for (size_t i = 0; i < d->n_vips; i++)
			if (d->vips[i].vip_id == be.vip_id)
				owner = i;
		if (owner == d->n_vips) {
			/* left over by a VIP removal cut short (a crash between the
			 * VIP and its backends): free it, so that its id is reused
			 * under a new gen and no old flow entry matches it */
			struct xlb_backend unused = be;

			unused.state = XLB_BACKEND_UNUSED;
			log_notice("backend id %u: its VIP %u is gone; freeing it", id, be.vip_id);
			if (xlb_dp_backend_set(&d->dp, id, &unused))
				id_mark(d, id, true);	/* not reusable, then */
			continue;
		}
		from_bpf_addr(be.addr, be.family, &ip);
		rb = rt_backend_add(d, &d->vips[owner], &ip, id);
		if (!rb)
			return -ENOMEM;
		rb->state = be.state;
		/* a probed backend the last xlbd had down stays down until its
		 * probe says otherwise (xlbd_health_sync forgets this for those
		 * without a probe); the others keep their traffic */
		rb->health = be.state == XLB_BACKEND_DOWN ? XLBD_HEALTH_DOWN : XLBD_HEALTH_UNKNOWN;
	}
	return 0;
}

/* ---- config map ----------------------------------------------------------- */

static void build_config(const struct xlbd *d, struct xlb_config *c)
{
	const struct xlb_dataplane_cfg *dp = &d->conf.dataplane;

	memset(c, 0, sizeof(*c));
	if (dp->gateway_auto) {
		if (d->gw_known)
			memcpy(c->gw_mac, d->gw_mac, 6);
	} else {
		memcpy(c->gw_mac, dp->gateway_mac, 6);
	}
	c->mtu = dp->mtu;
	if (dp->source_prefix_v4.family || dp->source_prefix_v6.family)
		c->flags |= XLB_CFG_F_SRC_FROM_PREFIX;
	if (dp->source_v4.family)
		memcpy(&c->src_v4, dp->source_v4.a, 4);
	if (dp->source_v6.family)
		memcpy(c->src_v6, dp->source_v6.a, 16);
	if (dp->source_prefix_v4.family)
		memcpy(&c->src_prefix_v4, dp->source_prefix_v4.a, 4);
	if (dp->source_prefix_v6.family)
		memcpy(c->src_prefix_v6, dp->source_prefix_v6.a, 16);
	c->src_prefix_v4_len = dp->source_prefix_v4_len;
	c->src_prefix_v6_len = dp->source_prefix_v6_len;
	c->ttl = dp->ttl;
	c->hash_seed = dp->hash_seed;
	c->new_flow_limit = dp->new_flow_limit;
	c->syn_src_rate = dp->syn_rate_per_source;
	c->syn_src_burst = dp->syn_burst_per_source;
	c->icmp_rate = dp->icmp_rate;
}

int xlbd_sync_config_map(struct xlbd *d)
{
	struct xlb_config want, have;
	int err;

	build_config(d, &want);
	err = xlb_dp_config_get(&d->dp, &have);
	/* Not resolved yet since this xlbd started: the next hop the last
	 * xlbd wrote keeps traffic going (a restart must not stop it); only a
	 * next hop lost while running stops VIP traffic. */
	if (!err && d->conf.dataplane.gateway_auto && !d->gw_known && !d->gw_lost &&
	    memcmp(have.gw_mac, want.gw_mac, 6)) {
		static bool said;

		memcpy(want.gw_mac, have.gw_mac, 6);
		if (!said)
			log_notice("gateway: not resolved yet; keeping the next hop already in "
				   "the data plane (%02x:%02x:%02x:%02x:%02x:%02x) meanwhile",
				   have.gw_mac[0], have.gw_mac[1], have.gw_mac[2], have.gw_mac[3],
				   have.gw_mac[4], have.gw_mac[5]);
		said = true;
	}
	if (!err && !memcmp(&want, &have, sizeof(want)))
		return 0;
	err = xlb_dp_config_set(&d->dp, &want);
	if (err)
		log_err("writing the data plane config: %s", strerror(-err));
	return err;
}

/* ---- rings ---------------------------------------------------------------- */

static uint64_t mix64(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

/* What a ring is built from; equal signatures, equal rings. */
static uint64_t ring_signature(const struct xlbd *d, const struct xlb_vip_cfg *vc,
			       const struct rt_vip *rv)
{
	uint64_t h = mix64(vc->ring_size, d->conf.dataplane.hash_seed);

	for (size_t i = 0; i < vc->n_backends; i++) {
		const struct xlb_backend_cfg *b = &vc->backends[i];
		const struct rt_backend *rb = xlbd_rt_backend((struct rt_vip *)rv, &b->addr);
		uint64_t a = 0;

		for (size_t k = 0; k < 16; k++)
			a = mix64(a, b->addr.a[k]);
		h ^= mix64(mix64(a, b->addr.family), mix64(b->weight, (uint64_t)rb->id << 8 |
			   xlbd_backend_state(rv, b, rb)));	/* order independent */
	}
	return h | 1;			/* never 0: 0 means "unknown" */
}

static int build_ring(struct xlbd *d, const struct xlb_vip_cfg *vc, struct rt_vip *rv)
{
	struct xlb_mg_backend *mb = calloc(vc->n_backends ?: 1, sizeof(*mb));
	int err;

	if (!mb)
		return -ENOMEM;
	for (size_t i = 0; i < vc->n_backends; i++) {
		const struct xlb_backend_cfg *b = &vc->backends[i];
		const struct rt_backend *rb = xlbd_rt_backend(rv, &b->addr);

		mb[i].id = rb->id;
		mb[i].family = b->addr.family;
		mb[i].state = xlbd_backend_state(rv, b, rb);
		memcpy(mb[i].addr, b->addr.a, 16);
		mb[i].weight = b->weight;
	}
	err = xlb_maglev_build(&d->mg, mb, vc->n_backends, vc->ring_size,
			       d->conf.dataplane.hash_seed, d->ring_buf);
	free(mb);
	return err;
}

static bool ring_installed_equal(struct xlbd *d, const struct xlb_vip_key *key, uint32_t m)
{
	struct xlb_ring_slot *have = malloc(sizeof(*have) * XLB_RING_SIZE_MAX);
	uint32_t n = XLB_RING_SIZE_MAX;
	bool same;

	if (!have)
		return false;
	same = !xlb_dp_ring_read(&d->dp, key, have, &n) && n == m &&
	       !memcmp(have, d->ring_buf, sizeof(*have) * m);
	free(have);
	return same;
}

/* Every backend that could carry traffic is down by health alone. Then the
 * VIP keeps running as it did before (its last ring, its backends' states):
 * a probe can be wrong, black-holing the VIP is sure harm. A backend not
 * seen by a sync yet counts as it will start: down if it has a probe. */
static bool all_down_by_health(const struct xlb_vip_cfg *vc, const struct rt_vip *rv)
{
	size_t eligible = 0;

	for (size_t i = 0; i < vc->n_backends; i++) {
		const struct xlb_backend_cfg *b = &vc->backends[i];
		const struct rt_backend *rb = xlbd_rt_backend((struct rt_vip *)rv, &b->addr);
		struct xlb_probe_cfg pc;

		if (b->disabled || b->weight == 0)
			continue;
		eligible++;
		if (rb) {
			if (rb->health != XLBD_HEALTH_DOWN)
				return false;
			continue;
		}
		xlb_probe_effective(vc, b, &pc);
		if (pc.type == XLB_PROBE_NONE)
			return false;
	}
	return eligible > 0;
}

/* Does the ring built in d->ring_buf send anything anywhere? */
static bool ring_carries(const struct xlbd *d, uint32_t m)
{
	for (uint32_t i = 0; i < m; i++)
		if (d->ring_buf[i].est_backend != XLB_NO_BACKEND)
			return true;
	return false;
}

static void set_hold(const struct xlb_vip_cfg *vc, struct rt_vip *rv, bool has_ring,
		     const char *name)
{
	bool held;

	rv->ring_held = false;	/* judge by health itself */
	/* only a VIP whose last ring carried traffic has one worth keeping: a
	 * new VIP whose backends have not passed a probe yet has not */
	held = has_ring && rv->ring_live && all_down_by_health(vc, rv);
	if (held && !rv->was_held) {
		log_err("VIP %s: EVERY backend is failing its health check; keeping the last ring "
			"so traffic still flows where it can (check the backends and 'xlbctl show "
			"%s')", name, name);
		/* freeze each backend as the maps have it now */
		for (size_t i = 0; i < rv->n_bes; i++)
			rv->bes[i].held_down = rv->bes[i].state == XLB_BACKEND_DOWN;
	}
	if (!held && rv->was_held)
		log_notice("VIP %s: a backend is healthy again; the ring follows health again",
			   name);
	rv->ring_held = rv->was_held = held;
}

/* A ring to install, built in phase one of a sync, installed with the
 * others in phase two. */
struct pending_ring {
	struct xlb_service svc;
	uint64_t sig;
	uint32_t m;
	struct xlb_ring_slot *slots;
};

struct pending {
	struct pending_ring *r;
	size_t n;
};

static void pending_free(struct pending *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->r[i].slots);
	free(p->r);
	*p = (struct pending){};
}

/* Build the VIP's ring if what it is built from changed; queue it in P. */
static int ring_prepare(struct xlbd *d, const struct xlb_vip_cfg *vc, struct rt_vip *rv,
			struct pending *p)
{
	uint64_t sig = ring_signature(d, vc, rv);
	struct pending_ring *grown, *r;
	struct xlb_vip_key key;
	char name[80];
	int err;

	if (sig == rv->ring_sig)
		return 0;
	xlb_service_str(&vc->svc, name, sizeof(name));
	err = build_ring(d, vc, rv);
	if (err) {
		log_err("VIP %s: building the ring: %s", name, strerror(-err));
		return err;
	}
	vip_key_of(&vc->svc, &key);
	rv->ring_live = ring_carries(d, vc->ring_size);
	if (!rv->ring_sig && ring_installed_equal(d, &key, vc->ring_size)) {
		rv->ring_sig = sig;	/* a restart: the running ring is already right */
		return 0;
	}
	grown = realloc(p->r, (p->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	p->r = grown;
	r = &p->r[p->n];
	r->slots = malloc(sizeof(*r->slots) * vc->ring_size);
	if (!r->slots)
		return -ENOMEM;
	memcpy(r->slots, d->ring_buf, sizeof(*r->slots) * vc->ring_size);
	r->svc = vc->svc;
	r->sig = sig;
	r->m = vc->ring_size;
	p->n++;
	return 0;
}

/* Phase two: every queued ring in one go (one RCU grace period). */
static int rings_install(struct xlbd *d, struct pending *p)
{
	struct xlb_ring_update *u;
	int err;

	if (!p->n)
		return 0;
	u = calloc(p->n, sizeof(*u));
	if (!u)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		vip_key_of(&p->r[i].svc, &u[i].key);
		u[i].slots = p->r[i].slots;
		u[i].m = p->r[i].m;
	}
	err = xlb_dp_rings_install(&d->dp, u, p->n);
	free(u);
	if (err) {
		log_err("installing %zu rings: %s", p->n, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct rt_vip *rv = xlbd_rt_vip(d, &p->r[i].svc);

		if (rv)
			rv->ring_sig = p->r[i].sig;
	}
	log_debug("%zu rings installed", p->n);
	return 0;
}

/* ---- backends and VIPs ------------------------------------------------------ */

static int write_backend(struct xlbd *d, const struct rt_vip *rv, struct rt_backend *rb,
			 uint8_t state)
{
	struct xlb_backend be = {
		.family = rb->addr.family,
		.state = state,
		.vip_id = rv->vip_id,
	};
	struct xlb_backend have;
	int err;

	to_bpf_addr(&rb->addr, be.addr);
	if (!xlb_dp_backend_get(&d->dp, rb->id, &have) && have.state == state &&
	    have.family == be.family && have.vip_id == be.vip_id &&
	    !memcmp(have.addr, be.addr, sizeof(be.addr))) {
		rb->state = state;
		return 0;
	}
	err = xlb_dp_backend_set(&d->dp, rb->id, &be);
	if (!err)
		rb->state = state;
	return err;
}

static const char *state_word(uint8_t s)
{
	switch (s) {
	case XLB_BACKEND_ACTIVE:
		return "active";
	case XLB_BACKEND_DRAINING:
		return "draining";
	case XLB_BACKEND_DOWN:
		return "down";
	default:
		return "removed";
	}
}

/* Phase one for a VIP: the VIP itself, its joining and changing backends,
 * and its ring built (queued in P). */
static int vip_join(struct xlbd *d, const struct xlb_vip_cfg *vc, struct pending *p)
{
	struct xlb_vip vip = { .mss = vc->mss,
			       .flags = vc->hash_src_only ? XLB_VIP_F_HASH_SRC_ONLY : 0 };
	struct rt_vip *rv = xlbd_rt_vip(d, &vc->svc);
	char name[80], addr[64];
	struct xlb_vip_key key;
	struct xlb_vip have;
	uint32_t id, ring_m = 0;
	int err;

	xlb_service_str(&vc->svc, name, sizeof(name));
	if (!rv) {
		err = alloc_vip_id(d, &id);
		if (err || !(rv = rt_vip_add(d, &vc->svc, id))) {
			log_err("VIP %s: no free VIP id (at most %d VIPs)", name, XLB_MAX_VIPS);
			return err ?: -ENOMEM;
		}
		log_info("VIP %s: added", name);
	}
	rv->seen = true;
	vip.vip_id = rv->vip_id;
	vip_key_of(&vc->svc, &key);
	if (xlb_dp_vip_get(&d->dp, &key, &have) || have.mss != vip.mss ||
	    have.flags != vip.flags || have.vip_id != vip.vip_id) {
		err = xlb_dp_vip_set(&d->dp, &key, &vip);
		if (err) {
			log_err("VIP %s: writing it: %s", name, strerror(-err));
			return err;
		}
		/* a new VIP's entry names its ring slot */
		if (xlb_dp_vip_get(&d->dp, &key, &have))
			return -ENOENT;
	}
	xlb_dp_ring_size(&d->dp, &have, &ring_m);
	set_hold(vc, rv, ring_m != 0, name);

	/* joining and changing backends, before the ring names them */
	for (size_t i = 0; i < rv->n_bes; i++)
		rv->bes[i].seen = false;
	for (size_t i = 0; i < vc->n_backends; i++) {
		const struct xlb_backend_cfg *b = &vc->backends[i];
		struct rt_backend *rb = xlbd_rt_backend(rv, &b->addr);
		uint8_t state;

		if (!rb) {
			struct xlb_probe_cfg pc;

			err = alloc_backend_id(d, &id);
			if (err || !(rb = rt_backend_add(d, rv, &b->addr, id))) {
				log_err("VIP %s: no free backend id (at most %d backends)", name,
					XLB_MAX_BACKENDS);
				return err ?: -ENOMEM;
			}
			/* a new backend with a probe earns its traffic: `rise`
			 * good probes first (and stays out of a frozen ring) */
			xlb_probe_effective(vc, b, &pc);
			if (pc.type != XLB_PROBE_NONE)
				rb->health = XLBD_HEALTH_DOWN;
			rb->held_down = rv->ring_held && pc.type != XLB_PROBE_NONE;
		}
		rb->seen = true;
		state = xlbd_backend_state(rv, b, rb);
		if (state == XLB_BACKEND_DOWN && rb->state != XLB_BACKEND_UNUSED)
			continue;	/* after the ring */
		if (rb->state != state)
			log_notice("backend %s of %s: %s", xlb_ip_str(&b->addr, addr, sizeof(addr)),
				   name, rb->state == XLB_BACKEND_UNUSED ? "added" : state_word(state));
		err = write_backend(d, rv, rb, state);
		if (err)
			return err;
	}

	return ring_prepare(d, vc, rv, p);
}

/* Phase three for a VIP, once its new ring no longer names them: backends
 * going down, and backends gone from the VIP. */
static int vip_leave(struct xlbd *d, const struct xlb_vip_cfg *vc)
{
	struct rt_vip *rv = xlbd_rt_vip(d, &vc->svc);
	char name[80], addr[64];
	int err;

	if (!rv)
		return 0;
	xlb_service_str(&vc->svc, name, sizeof(name));
	/* leaving: down, or gone from the VIP */
	for (size_t i = 0; i < vc->n_backends; i++) {
		const struct xlb_backend_cfg *b = &vc->backends[i];
		struct rt_backend *rb = xlbd_rt_backend(rv, &b->addr);

		if (xlbd_backend_state(rv, b, rb) != XLB_BACKEND_DOWN || rb->state == XLB_BACKEND_DOWN)
			continue;
		log_notice("backend %s of %s: down", xlb_ip_str(&b->addr, addr, sizeof(addr)), name);
		err = write_backend(d, rv, rb, XLB_BACKEND_DOWN);
		if (err)
			return err;
	}
	for (size_t i = 0; i < rv->n_bes;) {
		struct rt_backend *rb = &rv->bes[i];

		if (rb->seen) {
			i++;
			continue;
		}
		err = write_backend(d, rv, rb, XLB_BACKEND_UNUSED);
		if (err)
			return err;
		log_notice("backend %s of %s: removed", xlb_ip_str(&rb->addr, addr, sizeof(addr)),
			   name);
		id_mark(d, rb->id, false);
		memmove(&rv->bes[i], &rv->bes[i + 1], (--rv->n_bes - i) * sizeof(rv->bes[0]));
	}
	return 0;
}

/* Remove the VIPs not marked seen from the maps and free their ids; the
 * first error, 0 if none. */
static int vips_remove_unseen(struct xlbd *d)
{
	char name[80];
	int err, first = 0;

	for (size_t i = 0; i < d->n_vips;) {
		struct rt_vip *rv = &d->vips[i];
		struct xlb_vip_key key;

		if (rv->seen) {
			i++;
			continue;
		}
		vip_key_of(&rv->svc, &key);
		err = xlb_dp_vip_del(&d->dp, &key);
		if (err && err != -ENOENT) {
			log_err("VIP %s: removing it: %s", xlb_service_str(&rv->svc, name,
				sizeof(name)), strerror(-err));
			if (!first)
				first = err;
			i++;
			continue;
		}
		log_info("VIP %s: removed", xlb_service_str(&rv->svc, name, sizeof(name)));
		for (size_t j = 0; j < rv->n_bes; j++)
			id_mark(d, rv->bes[j].id, false);
		free(rv->bes);
		d->vips[i] = d->vips[--d->n_vips];
	}
	return first;
}

int xlbd_sync(struct xlbd *d)
{
	struct pending pend = {};
	int err, first = 0;

	if (!d->ring_buf) {
		d->ring_buf = malloc(sizeof(*d->ring_buf) * XLB_RING_SIZE_MAX);
		if (!d->ring_buf)
			return -ENOMEM;
		err = load_ids(d);
		if (err)
			return err;
	}
	err = xlbd_sync_config_map(d);
	if (err)
		first = err;
	/* VIPs that go go first: nothing else depends on them, and their ids
	 * are then free for the VIPs and backends that come */
	for (size_t i = 0; i < d->n_vips; i++)
		d->vips[i].seen = xlb_conf_find_vip(&d->conf, &d->vips[i].svc) != NULL;
	err = vips_remove_unseen(d);
	if (err)
		first = err;
	xlbd_health_forget_unprobed(d);
	/* join, swap every changed ring at once, leave: per VIP, no packet is
	 * sent to a backend the maps do not describe */
	for (size_t i = 0; i < d->conf.n_vips; i++) {
		err = vip_join(d, &d->conf.vips[i], &pend);
		if (err && !first)
			first = err;
	}
	err = rings_install(d, &pend);
	pending_free(&pend);
	if (err && !first)
		first = err;
	for (size_t i = 0; i < d->conf.n_vips && !err; i++) {
		err = vip_leave(d, &d->conf.vips[i]);
		if (err && !first)
			first = err;
	}
	xlbd_health_sync(d);
	return first;
}

size_t xlbd_sync_ids_needed(struct xlbd *d, const struct xlb_conf *next)
{
	size_t n = 0;

	for (size_t i = 0; i < next->n_vips; i++) {
		const struct xlb_vip_cfg *vc = &next->vips[i];
		struct rt_vip *rv = xlbd_rt_vip(d, &vc->svc);

		n += vc->n_backends;
		for (size_t j = 0; rv && j < rv->n_bes; j++)
			if (!xlb_vip_find_backend(vc, &rv->bes[j].addr))
				n++;
	}
	return n;
}

void xlbd_set_health(struct xlbd *d, const struct xlb_service *svc, const struct xlb_ip *ip,
		     enum xlbd_health h, const char *why)
{
	struct rt_vip *rv = xlbd_rt_vip(d, svc);
	struct rt_backend *rb = rv ? xlbd_rt_backend(rv, ip) : NULL;
	char name[80], addr[64];

	if (!rb || rb->health == h)
		return;
	rb->health = h;
	log_notice("backend %s of %s: health %s (%s)", xlb_ip_str(ip, addr, sizeof(addr)),
		   xlb_service_str(svc, name, sizeof(name)), h == XLBD_HEALTH_UP ? "up" : "down",
		   why);
	xlbd_sync(d);
}

/* ---- flows -------------------------------------------------------------------- */

struct count_ctx {
	struct xlbd_flow_counts *fc;
	uint64_t now;
	uint64_t window;
};

static int count_one(const struct xlb_flow_key *k, const struct xlb_flow *f, void *arg)
{
	struct count_ctx *c = arg;

	(void)k;
	c->fc->entries++;
	if (f->backend_id >= XLB_MAX_BACKENDS)
		return 0;
	c->fc->total[f->backend_id]++;
	if (c->now - f->last_seen <= c->window)
		c->fc->active[f->backend_id]++;
	return 0;
}

int xlbd_count_flows(struct xlbd *d, struct xlbd_flow_counts *fc)
{
	struct count_ctx c = { .fc = fc };
	int err;

	memset(fc, 0, sizeof(*fc));
	fc->active = calloc(XLB_MAX_BACKENDS, sizeof(*fc->active));
	fc->total = calloc(XLB_MAX_BACKENDS, sizeof(*fc->total));
	if (!fc->active || !fc->total) {
		xlbd_flow_counts_free(fc);
		return -ENOMEM;
	}
	err = xlbd_clock_now(d, &c.now);
	if (!err) {
		c.window = (uint64_t)d->conf.daemon.flow_window_s * d->hz;
		err = xlb_dp_flows_walk(&d->dp, count_one, &c);
	}
	if (err)
		xlbd_flow_counts_free(fc);
	return err;
}

void xlbd_flow_counts_free(struct xlbd_flow_counts *fc)
{
	free(fc->active);
	free(fc->total);
	fc->active = fc->total = NULL;
}
