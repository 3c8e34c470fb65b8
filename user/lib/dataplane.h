/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * dataplane.h: typed access to the XDP program's maps (include/xlb.h) for
 * whoever programs them: xlbd, the tests, the benchmarks. Every function
 * returns 0 or a negative errno and leaves the maps as they were on error,
 * except where noted.
 */
#ifndef XLB_DATAPLANE_H
#define XLB_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xlb.h"

struct bpf_object;

struct xlb_dp {
	int config;
	int vips;
	int vip_addrs;
	int rings;
	int backends;
	int flows;
	int reasons;
	int vip_stats;
	int backend_stats;
	int syn_src;
	int cpu_state;
	int ncpus;		/* possible CPUs, for per-CPU values */
};

/* Map fds from a loaded object (e.g. a skeleton's obj). The fds stay owned
 * by the object; xlb_dp_close() must not be called on the result. */
int xlb_dp_from_object(struct xlb_dp *dp, struct bpf_object *obj);

/* Open the maps a loaded XDP program uses (by their ids in its info), so
 * a program attached by anyone (ip link, xdp-loader, another xlbd) can be
 * adopted. Owns the fds: release with xlb_dp_close(). */
int xlb_dp_from_prog(struct xlb_dp *dp, int prog_fd);

/* Open the maps pinned in DIR (e.g. /sys/fs/bpf/xlb, or
 * /sys/fs/bpf/tc/globals after `ip link set dev IF xdp obj xlb.bpf.o`).
 * Fails with -ENOENT naming nothing if any map is missing; on failure no
 * fd is left open. */
int xlb_dp_open_pinned(struct xlb_dp *dp, const char *dir);
/* Both refuse maps whose type, key or value size is not this build's
 * (-EPROTO): another build's maps are never read as ours. */
void xlb_dp_close(struct xlb_dp *dp);

int xlb_dp_config_get(const struct xlb_dp *dp, struct xlb_config *cfg);
int xlb_dp_config_set(const struct xlb_dp *dp, const struct xlb_config *cfg);

/* Create or update a VIP. On create, the VIP's address is counted in
 * xlb_vip_addrs. ring_id/ring_size in *vip are ignored for an existing VIP
 * (its live ring is kept); for a new VIP they are set to "no ring". */
int xlb_dp_vip_set(const struct xlb_dp *dp, const struct xlb_vip_key *key,
		   const struct xlb_vip *vip);
int xlb_dp_vip_get(const struct xlb_dp *dp, const struct xlb_vip_key *key,
		   struct xlb_vip *vip);
/* Remove a VIP, its rings, its backends (marked UNUSED: their flow
 * entries stop being honoured at once) and its address count. */
int xlb_dp_vip_del(const struct xlb_dp *dp, const struct xlb_vip_key *key);
/* Make xlb_vip_addrs count exactly the VIPs of xlb_vips per address (after
 * a crash between the two, say). 0 or -errno. */
int xlb_dp_vip_addrs_rebuild(const struct xlb_dp *dp);

/* Install SLOTS (M entries) as the VIP's ring, atomically: build a new inner
 * array of M entries and put it in the VIP's place in xlb_rings in one
 * update; the old array goes when no packet can be reading it. */
int xlb_dp_ring_install(const struct xlb_dp *dp, const struct xlb_vip_key *key,
			const struct xlb_ring_slot *slots, uint32_t m);

/* The same for N VIPs at once. Every update of a map of maps waits for an
 * RCU grace period (milliseconds); this pays one for all N. Returns 0 or
 * -errno (then no VIP has switched, unless the batch update itself failed
 * part way: those done stay done). */
struct xlb_ring_update {
	struct xlb_vip_key key;
	const struct xlb_ring_slot *slots;
	uint32_t m;
};
int xlb_dp_rings_install(const struct xlb_dp *dp, const struct xlb_ring_update *u, size_t n);
/* The size of VIP's live ring in *M, 0 if it has none. 0 or -errno. */
int xlb_dp_ring_size(const struct xlb_dp *dp, const struct xlb_vip *vip, uint32_t *m);
/* Read the live ring of a VIP into SLOTS (room for *m entries; *m is set);
 * -ENOENT if it has none. */
int xlb_dp_ring_read(const struct xlb_dp *dp, const struct xlb_vip_key *key,
		     struct xlb_ring_slot *slots, uint32_t *m);

/* Set backend ID. be->gen is ignored: it is advanced whenever an UNUSED id
 * comes into use (and its counters are zeroed), kept otherwise. */
int xlb_dp_backend_set(const struct xlb_dp *dp, uint32_t id,
		       const struct xlb_backend *be);
int xlb_dp_backend_get(const struct xlb_dp *dp, uint32_t id, struct xlb_backend *be);

/* Delete every flow entry; with BACKEND_ID != XLB_NO_BACKEND only those
 * pointing at it. Returns the number deleted or a negative errno. */
long xlb_dp_flows_flush(const struct xlb_dp *dp, uint32_t backend_id);

/* Call FN on every flow entry, read in batches (a consistent snapshot per
 * batch, not of the whole table). FN returns nonzero to stop; that value
 * is returned. Otherwise 0 or -errno. */
typedef int (*xlb_flow_fn)(const struct xlb_flow_key *key, const struct xlb_flow *flow,
			   void *arg);
int xlb_dp_flows_walk(const struct xlb_dp *dp, xlb_flow_fn fn, void *arg);

/* Counters, summed over CPUs. */
int xlb_dp_reasons_read(const struct xlb_dp *dp, uint64_t out[XLB_R_MAX]);
int xlb_dp_vip_stats_read(const struct xlb_dp *dp, uint32_t vip_id,
			  struct xlb_vip_stats *sum);
int xlb_dp_backend_stats_read(const struct xlb_dp *dp, uint32_t backend_id,
			      struct xlb_backend_stats *sum);

/* Name, kind and help text of a reason (from XLB_REASONS in xlb.h). */
const char *xlb_reason_name(enum xlb_reason r);
const char *xlb_reason_help(enum xlb_reason r);
enum xlb_reason_kind xlb_reason_kind(enum xlb_reason r);

#endif
