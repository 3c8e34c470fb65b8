/* SPDX-License-Identifier: GPL-2.0-only */
/* maps.h: the load balancer's maps; layouts and meaning in include/xlb.h and
 * docs/datapath.md. Pinned by name so a restarted xlbd, or a second
 * `ip link ... xdp obj` of a newer object, finds and keeps them. */
#ifndef XLB_BPF_MAPS_H
#define XLB_BPF_MAPS_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_config SEC(".maps");

/* An update links a new element: a packet never reads a half-written
 * VIP. The old element is freed at once, though (since Linux 6.1, without
 * preallocation as with it), so a packet still reading it while user space
 * updates another VIP could read that VIP's value: a window of a
 * packet's lookup-to-read time spanning two update syscalls (docs/
 * datapath.md, Known limits). Ring changes do not update this map. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_VIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xlb_vip_key);
	__type(value, struct xlb_vip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_VIPS);
	__type(key, struct xlb_addr_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vip_addrs SEC(".maps");

/* Inner rings are created by user space with their own size
 * (BPF_F_INNER_MAP), and filled through mmap (BPF_F_MMAPABLE): one memcpy
 * instead of a syscall's worth of work per slot. Sizes, not types: clang 14
 * emits only a forward declaration for a value type named here, which
 * libbpf rejects. */
struct xlb_ring_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct xlb_ring_slot));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XLB_MAX_RINGS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct xlb_ring_map);
} xlb_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_backends SEC(".maps");

/* One common LRU: with per-CPU LRU lists (BPF_F_NO_COMMON_LRU) each CPU
 * could hold only max_entries / ncpus flows, so a single busy RX queue
 * would see a fraction of the table. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_FLOW_TABLE_DEFAULT);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct xlb_vip_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_backend_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_SYN_SRC_TABLE);
	__type(key, struct xlb_addr_key);
	__type(value, struct xlb_syn_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_syn_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_cpu_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_cpu_state SEC(".maps");

#endif
