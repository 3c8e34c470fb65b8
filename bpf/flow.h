/* SPDX-License-Identifier: GPL-2.0-only */
/* flow.h: which backend gets a packet: flow table first, Maglev ring after. */
#ifndef XLB_BPF_FLOW_H
#define XLB_BPF_FLOW_H

#include "hash.h"
#include "maps.h"
#include "parse.h"
#include "stats.h"

struct choice {
	struct xlb_backend *be;
	__u32	id;
	bool	new_flow;		/* decided by the ring, not the table */
};

/* The kernel's own record of a map, read through BTF (CO-RE): a ring's
 * size is its array's max_entries. */
struct bpf_map___xlb {
	__u32 max_entries;
} __attribute__((preserve_access_index));

/* The VIP's ring slot for HASH. The ring is one inner array that user space
 * replaces whole (one pointer swap in xlb_rings); its size comes from the
 * same array, so a packet never pairs a ring with another ring's size. */
static __always_inline struct xlb_ring_slot *ring_slot(const struct xlb_vip *vip,
							__u32 hash)
{
	__u32 ring_id = vip->ring_id;
	__u32 idx, size;
	void *ring;

	ring = bpf_map_lookup_elem(&xlb_rings, &ring_id);
	if (!ring)
		return NULL;
	size = ((struct bpf_map___xlb *)ring)->max_entries;	/* never 0 */
	idx = hash % size;
	return bpf_map_lookup_elem(ring, &idx);
}

/* The ring's answer for a new flow (SYN) or an established one; *SLOTP
 * is the slot it came from. */
static __always_inline int ring_backend(struct packet *p, const struct xlb_vip *vip,
					const struct xlb_config *cfg, bool new_flow,
					struct choice *c, struct xlb_ring_slot **slotp)
{
	__u32 hash = vip->flags & XLB_VIP_F_HASH_SRC_ONLY
		     ? flow_hash(&p->key, true, cfg->hash_seed)
		     : packet_hash(p, cfg->hash_seed);
	struct xlb_ring_slot *slot = ring_slot(vip, hash);

	*slotp = slot;
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
static __always_inline bool flow_table_writable(const struct xlb_config *cfg)
{
	struct xlb_cpu_state *st;
	__u32 zero = 0;
	__u64 now;

	if (!cfg->new_flow_limit)
		return true;
	now = bpf_ktime_get_coarse_ns();
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

/* Write the flow entry; true if it was written. An entry the flow cannot
 * do without (MUST: a SYN on a draining slot, or one that overrides an old
 * entry of its tuple) is written also under overload: without it the
 * connection's next packet would go elsewhere. Only those SYNs, a share
 * of a drain's slots, pass the limit; a flood elsewhere writes nothing. */
static __always_inline bool flow_record(const struct packet *p, const struct choice *c,
					const struct xlb_config *cfg, __u64 jiffies, bool must)
{
	struct xlb_flow f = {
		.backend_id = c->id,
		.backend_gen = c->be->gen,
		.last_seen = jiffies,
	};

	return (must || flow_table_writable(cfg)) &&
	       bpf_map_update_elem(&xlb_flows, &p->key, &f, BPF_ANY) == 0;
}

/* The flow entry's backend, if it may still carry the flow: the same
 * incarnation of the id (gen) and not down. Only VIP flows are recorded and
 * a VIP's backends go away with it, so a usable entry also vouches for the
 * VIP: the established path needs no VIP lookup. */
static __always_inline struct xlb_backend *flow_backend(const struct xlb_flow *f)
{
	__u32 id = f->backend_id;
	struct xlb_backend *be = bpf_map_lookup_elem(&xlb_backends, &id);

	if (!be || be->gen != f->backend_gen ||
	    (be->state != XLB_BACKEND_ACTIVE && be->state != XLB_BACKEND_DRAINING))
		return NULL;
	return be;
}

enum flow_state {
	FLOW_HIT,			/* C is set */
	FLOW_MISS,			/* no entry */
	FLOW_STALE,			/* an entry whose backend is down or gone */
};

/* An established flow's backend from the flow table, into C. Counted by
 * the caller, once it knows the packet is for a VIP. */
static __always_inline enum flow_state flow_lookup(struct packet *p, __u64 jiffies,
						   struct choice *c)
{
	struct xlb_flow *f = bpf_map_lookup_elem(&xlb_flows, &p->key);

	if (!f)
		return FLOW_MISS;
	c->be = flow_backend(f);
	if (!c->be)
		return FLOW_STALE;
	c->id = f->backend_id;
	if (f->last_seen != jiffies)
		f->last_seen = jiffies;
	return FLOW_HIT;
}

/* Does this SYN need a flow entry? Only if the entry would say something
 * the ring alone would not: the slot's backends differ (a drain is under
 * way), or an entry from an earlier use of the client port says otherwise.
 * Everything else is recorded by its first non-SYN packet, so a SYN flood
 * never writes the flow table. */
static __always_inline bool syn_needs_entry(const struct packet *p,
					    const struct xlb_ring_slot *slot,
					    const struct choice *c)
{
	struct xlb_flow *f;

	if (slot->new_backend != slot->est_backend)
		return true;
	f = bpf_map_lookup_elem(&xlb_flows, &p->key);
	return f && (f->backend_id != c->id || f->backend_gen != c->be->gen);
}

/* The ring decides: a TCP SYN always asks for a new-flow backend (client
 * ports are reused, an old entry may be stale); anything else that reached
 * here lost its flow entry and asks for the established-flow backend. */
static __always_inline int ring_decide(struct packet *p, const struct xlb_vip *vip,
				       const struct xlb_config *cfg, __u64 jiffies,
				       struct choice *c)
{
	struct xlb_ring_slot *slot;
	bool syn = is_syn(p);
	int act;

	act = ring_backend(p, vip, cfg, syn, c, &slot);
	if (act != CONTINUE)
		return act;
	if (!syn)
		c->new_flow = flow_record(p, c, cfg, jiffies, false);
	else if (syn_needs_entry(p, slot, c))
		c->new_flow = flow_record(p, c, cfg, jiffies, true);
	return CONTINUE;
}

/* The backend owning the flow an ICMP error is about, without recording. */
static __always_inline int icmp_backend(struct packet *p, const struct xlb_vip *vip,
					const struct xlb_config *cfg, struct choice *c)
{
	struct xlb_flow *f = bpf_map_lookup_elem(&xlb_flows, &p->key);
	struct xlb_ring_slot *slot;

	if (f) {
		c->be = flow_backend(f);
		if (c->be) {
			c->id = f->backend_id;
			return CONTINUE;
		}
	}
	return ring_backend(p, vip, cfg, false, c, &slot);
}

#endif
