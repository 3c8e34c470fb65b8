/* SPDX-License-Identifier: GPL-2.0-only */
/* flow.h: which backend gets a packet: flow table first, Maglev ring after. */
#ifndef XLB_BPF_FLOW_H
#define XLB_BPF_FLOW_H

#include "maps.h"
#include "parse.h"
#include "stats.h"

struct choice {
	struct xlb_backend *be;
	__u32	id;
	bool	new_flow;		/* decided by the ring, not the table */
};

static __always_inline struct xlb_ring_slot *ring_slot(const struct xlb_vip *vip,
							__u32 hash)
{
	__u32 ring_id = vip->ring_id;
	__u32 idx;
	void *ring;

	if (!vip->ring_size)
		return NULL;
	ring = bpf_map_lookup_elem(&xlb_rings, &ring_id);
	if (!ring)
		return NULL;
	idx = hash % vip->ring_size;
	return bpf_map_lookup_elem(ring, &idx);
}

/* The ring's answer for a new flow (SYN) or an established one. */
static __always_inline int ring_backend(const struct packet *p, const struct xlb_vip *vip,
					bool new_flow, struct choice *c)
{
	struct xlb_ring_slot *slot = ring_slot(vip, p->hash);

	if (!slot)
		return verdict(XDP_DROP, XLB_R_DROP_NO_RING);
	c->id = new_flow ? slot->new_backend : slot->est_backend;
	if (c->id == XLB_NO_BACKEND)
		return verdict(XDP_DROP, XLB_R_DROP_NO_BACKEND);
	c->be = bpf_map_lookup_elem(&xlb_backends, &c->id);
	if (!c->be || c->be->state == XLB_BACKEND_UNUSED)
		return verdict(XDP_DROP, XLB_R_DROP_BAD_BACKEND);
	return CONTINUE;
}

/* Below the configured new-flow rate of this CPU? While above it (a SYN
 * flood), flows are forwarded by the ring alone and the table is spared. */
static __always_inline bool flow_table_writable(const struct xlb_config *cfg, __u64 now)
{
	struct xlb_cpu_state *st;
	__u32 zero = 0;

	if (!cfg->new_flow_limit)
		return true;
	st = bpf_map_lookup_elem(&xlb_cpu_state, &zero);
	if (!st)
		return true;
	if (now - st->flow_window_ns >= NSEC_PER_SEC) {
		st->flow_window_ns = now;
		st->flow_window_count = 0;
	}
	if (st->flow_window_count >= cfg->new_flow_limit) {
		count(XLB_R_EV_OVERLOAD);
		return false;
	}
	st->flow_window_count++;
	return true;
}

static __always_inline void flow_record(const struct packet *p, __u32 backend_id,
					const struct xlb_config *cfg, __u64 now)
{
	struct xlb_flow f = { .backend_id = backend_id, .last_seen_ns = now };

	if (flow_table_writable(cfg, now))
		bpf_map_update_elem(&xlb_flows, &p->key, &f, BPF_ANY);
}

/* The flow entry's backend, if it may still carry this flow: it exists,
 * belongs to this VIP (ids are reused) and is not down. */
static __always_inline struct xlb_backend *flow_backend(struct xlb_flow *f,
							 const struct xlb_vip *vip)
{
	__u32 id = f->backend_id;
	struct xlb_backend *be = bpf_map_lookup_elem(&xlb_backends, &id);

	if (!be || be->vip_id != vip->vip_id ||
	    (be->state != XLB_BACKEND_ACTIVE && be->state != XLB_BACKEND_DRAINING))
		return NULL;
	return be;
}

/* A TCP SYN always asks the ring for a new-flow backend (client ports are
 * reused, an old entry may be stale); everything else keeps its flow entry
 * or asks the ring for the established-flow backend. */
static __always_inline int choose_backend(struct packet *p, const struct xlb_vip *vip,
					  const struct xlb_config *cfg, __u64 now,
					  struct choice *c)
{
	bool syn = is_syn(p);
	struct xlb_flow *f;
	int act;

	if (!syn) {
		f = bpf_map_lookup_elem(&xlb_flows, &p->key);
		if (f) {
			c->be = flow_backend(f, vip);
			if (c->be) {
				c->id = f->backend_id;
				if (now - f->last_seen_ns >= XLB_FLOW_TOUCH_NS)
					f->last_seen_ns = now;
				count(XLB_R_EV_FLOW_HIT);
				return CONTINUE;
			}
			count(XLB_R_EV_FLOW_DOWN);
		} else {
			count(XLB_R_EV_FLOW_MISS);
		}
	}

	act = ring_backend(p, vip, syn, c);
	if (act != CONTINUE)
		return act;
	c->new_flow = true;
	flow_record(p, c->id, cfg, now);
	return CONTINUE;
}

/* The backend owning the flow an ICMP error is about, without recording. */
static __always_inline int icmp_backend(struct packet *p, const struct xlb_vip *vip,
					struct choice *c)
{
	struct xlb_flow *f = bpf_map_lookup_elem(&xlb_flows, &p->key);

	if (f) {
		c->be = flow_backend(f, vip);
		if (c->be) {
			c->id = f->backend_id;
			return CONTINUE;
		}
	}
	return ring_backend(p, vip, false, c);
}

#endif
