// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* dataplane.c: typed access to the XDP program's maps (see dataplane.h). */
#include "dataplane.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* Each map by its name, with the layout this build reads and writes it
 * with (include/xlb.h): maps of another layout (an older or newer build's
 * pins) are refused, never read as if they were ours. */
struct map_slot {
	const char *name;
	size_t offset;
	__u32 type, key_size, value_size;
};

#define SLOT(field, pin, t, k, v) { pin, offsetof(struct xlb_dp, field), t, sizeof(k), sizeof(v) }
static const struct map_slot map_slots[] = {
	SLOT(config, XLB_MAP_CONFIG, BPF_MAP_TYPE_ARRAY, __u32, struct xlb_config),
	SLOT(vips, XLB_MAP_VIPS, BPF_MAP_TYPE_HASH, struct xlb_vip_key, struct xlb_vip),
	SLOT(vip_addrs, XLB_MAP_VIP_ADDRS, BPF_MAP_TYPE_HASH, struct xlb_addr_key, __u32),
	SLOT(rings, XLB_MAP_RINGS, BPF_MAP_TYPE_ARRAY_OF_MAPS, __u32, __u32),
	SLOT(backends, XLB_MAP_BACKENDS, BPF_MAP_TYPE_ARRAY, __u32, struct xlb_backend),
	SLOT(flows, XLB_MAP_FLOWS, BPF_MAP_TYPE_LRU_HASH, struct xlb_flow_key, struct xlb_flow),
	SLOT(reasons, XLB_MAP_REASONS, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, __u64),
	SLOT(vip_stats, XLB_MAP_VIP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, __u32,
	     struct xlb_vip_stats),
	SLOT(backend_stats, XLB_MAP_BACKEND_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, __u32,
	     struct xlb_backend_stats),
	SLOT(syn_src, XLB_MAP_SYN_SRC, BPF_MAP_TYPE_LRU_HASH, struct xlb_addr_key,
	     struct xlb_syn_bucket),
	SLOT(cpu_state, XLB_MAP_CPU_STATE, BPF_MAP_TYPE_PERCPU_ARRAY, __u32,
	     struct xlb_cpu_state),
};
#undef SLOT

#define N_SLOTS (sizeof(map_slots) / sizeof(map_slots[0]))

static int *slot_fd(struct xlb_dp *dp, size_t i)
{
	return (int *)((char *)dp + map_slots[i].offset);
}

/* -EPROTO if FD is not a map of slot I's type and layout. */
static int layout_check(int fd, size_t i)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != map_slots[i].type || info.key_size != map_slots[i].key_size ||
	    info.value_size != map_slots[i].value_size)
		return -EPROTO;
	return 0;
}

static int layouts_check(struct xlb_dp *dp)
{
	for (size_t i = 0; i < N_SLOTS; i++) {
		int err = layout_check(*slot_fd(dp, i), i);

		if (err)
			return err;
	}
	return 0;
}

static int init_cpus(struct xlb_dp *dp)
{
	dp->ncpus = libbpf_num_possible_cpus();
	return dp->ncpus > 0 ? 0 : (dp->ncpus ? dp->ncpus : -EINVAL);
}

int xlb_dp_from_object(struct xlb_dp *dp, struct bpf_object *obj)
{
	const struct bpf_map *map;
	size_t i;

	for (i = 0; i < N_SLOTS; i++) {
		map = bpf_object__find_map_by_name(obj, map_slots[i].name);
		if (!map || bpf_map__fd(map) < 0)
			return -ENOENT;
		*slot_fd(dp, i) = bpf_map__fd(map);
	}
	return init_cpus(dp);
}

int xlb_dp_from_prog(struct xlb_dp *dp, int prog_fd)
{
	struct bpf_prog_info pinfo = {};
	__u32 len = sizeof(pinfo), ids[64], i;
	size_t s;
	int fd, err;

	for (s = 0; s < N_SLOTS; s++)
		*slot_fd(dp, s) = -1;
	pinfo.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	pinfo.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &pinfo, &len))
		return -errno;
	for (i = 0; i < pinfo.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct bpf_map_info minfo = {};
		__u32 mlen = sizeof(minfo);

		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &minfo, &mlen))
			minfo.name[0] = 0;
		/* the kernel keeps 15 characters of a map's name */
		for (s = 0; s < N_SLOTS; s++)
			if (!strncmp(minfo.name, map_slots[s].name, BPF_OBJ_NAME_LEN - 1) &&
			    *slot_fd(dp, s) < 0)
				break;
		if (s < N_SLOTS)
			*slot_fd(dp, s) = fd;
		else
			close(fd);
	}
	for (s = 0; s < N_SLOTS; s++)
		if (*slot_fd(dp, s) < 0) {
			xlb_dp_close(dp);
			return -ENOENT;
		}
	err = layouts_check(dp) ?: init_cpus(dp);
	if (err)
		xlb_dp_close(dp);
	return err;
}

int xlb_dp_open_pinned(struct xlb_dp *dp, const char *dir)
{
	char path[PATH_MAX];
	size_t i, j;
	int err;

	for (i = 0; i < N_SLOTS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, map_slots[i].name);
		*slot_fd(dp, i) = bpf_obj_get(path);
		if (*slot_fd(dp, i) < 0) {
			err = -errno;
			for (j = 0; j < i; j++)
				close(*slot_fd(dp, j));
			return err;
		}
	}
	err = layouts_check(dp) ?: init_cpus(dp);
	if (err)
		xlb_dp_close(dp);
	return err;
}

void xlb_dp_close(struct xlb_dp *dp)
{
	for (size_t i = 0; i < N_SLOTS; i++) {
		if (*slot_fd(dp, i) >= 0)
			close(*slot_fd(dp, i));
		*slot_fd(dp, i) = -1;
	}
}

static int ret_errno(int ret)
{
	return ret < 0 ? -errno : 0;
}

int xlb_dp_config_get(const struct xlb_dp *dp, struct xlb_config *cfg)
{
	__u32 zero = 0;

	return ret_errno(bpf_map_lookup_elem(dp->config, &zero, cfg));
}

int xlb_dp_config_set(const struct xlb_dp *dp, const struct xlb_config *cfg)
{
	__u32 zero = 0;

	return ret_errno(bpf_map_update_elem(dp->config, &zero, cfg, BPF_ANY));
}

/* Write zeros to every CPU's copy of a per-CPU array entry. */
static int percpu_zero(const struct xlb_dp *dp, int fd, __u32 key, size_t value_size)
{
	size_t stride = (value_size + 7) & ~(size_t)7;
	void *zeros = calloc(dp->ncpus, stride);
	int err;

	if (!zeros)
		return -ENOMEM;
	err = ret_errno(bpf_map_update_elem(fd, &key, zeros, BPF_ANY));
	free(zeros);
	return err;
}

static void addr_key_of(const struct xlb_vip_key *key, struct xlb_addr_key *ak)
{
	memset(ak, 0, sizeof(*ak));
	memcpy(ak->addr, key->addr, sizeof(ak->addr));
	ak->family = key->family;
}

/* Count one more (DELTA = 1) or one fewer (-1) VIP on an address. */
static int vip_addr_count(const struct xlb_dp *dp, const struct xlb_vip_key *key, int delta)
{
	struct xlb_addr_key ak;
	__u32 n = 0;

	addr_key_of(key, &ak);
	if (bpf_map_lookup_elem(dp->vip_addrs, &ak, &n) && errno != ENOENT)
		return -errno;
	if (delta < 0 && n <= 1)
		return bpf_map_delete_elem(dp->vip_addrs, &ak) && errno != ENOENT ? -errno : 0;
	n += delta;
	return ret_errno(bpf_map_update_elem(dp->vip_addrs, &ak, &n, BPF_ANY));
}

int xlb_dp_vip_addrs_rebuild(const struct xlb_dp *dp)
{
	struct xlb_addr_key want[XLB_MAX_VIPS], ak, next;
	__u32 count[XLB_MAX_VIPS], n_want = 0, n;
	struct xlb_vip_key vk, vnext;
	void *prev = NULL;
	__u32 i;

	while (!bpf_map_get_next_key(dp->vips, prev, &vnext)) {
		vk = vnext;
		prev = &vk;
		addr_key_of(&vk, &ak);
		for (i = 0; i < n_want && memcmp(&want[i], &ak, sizeof(ak)); i++)
			;
		if (i == n_want) {
			if (n_want == XLB_MAX_VIPS)
				return -E2BIG;
			want[n_want] = ak;
			count[n_want++] = 0;
		}
		count[i]++;
	}
	/* entries no VIP stands behind go; then every count as it should be */
	prev = NULL;
	while (!bpf_map_get_next_key(dp->vip_addrs, prev, &next)) {
		ak = next;
		for (i = 0; i < n_want && memcmp(&want[i], &ak, sizeof(ak)); i++)
			;
		if (i == n_want) {
			if (bpf_map_delete_elem(dp->vip_addrs, &ak) && errno != ENOENT)
				return -errno;
			prev = NULL;		/* the walk starts over without it */
			continue;
		}
		prev = &ak;
	}
	for (i = 0; i < n_want; i++)
		if (bpf_map_lookup_elem(dp->vip_addrs, &want[i], &n) || n != count[i])
			if (bpf_map_update_elem(dp->vip_addrs, &want[i], &count[i], BPF_ANY))
				return -errno;
	return 0;
}

int xlb_dp_vip_get(const struct xlb_dp *dp, const struct xlb_vip_key *key,
		   struct xlb_vip *vip)
{
	return ret_errno(bpf_map_lookup_elem(dp->vips, key, vip));
}

int xlb_dp_vip_set(const struct xlb_dp *dp, const struct xlb_vip_key *key,
		   const struct xlb_vip *vip)
{
	struct xlb_vip cur, next = *vip;
	int err;

	if (vip->vip_id >= XLB_MAX_VIPS)
		return -EINVAL;
	if (!xlb_dp_vip_get(dp, key, &cur)) {
		if (cur.vip_id != vip->vip_id)
			return -EEXIST;
		next.ring_id = cur.ring_id;
		next.reserved = 0;
		return ret_errno(bpf_map_update_elem(dp->vips, key, &next, BPF_EXIST));
	}
	if (errno != ENOENT)
		return -errno;

	next.ring_id = 2 * vip->vip_id;
	next.reserved = 0;
	err = percpu_zero(dp, dp->vip_stats, vip->vip_id, sizeof(struct xlb_vip_stats));
	if (err)
		return err;
	err = vip_addr_count(dp, key, 1);
	if (err)
		return err;
	if (bpf_map_update_elem(dp->vips, key, &next, BPF_NOEXIST)) {
		err = -errno;
		vip_addr_count(dp, key, -1);
	}
	return err;
}

/* Free every backend entry of VIP_ID. The data plane trusts a flow entry
 * whose backend is in use without looking the VIP up, so a VIP's backends
 * must go with it. */
static int backends_free_vip(const struct xlb_dp *dp, __u32 vip_id)
{
	const __u32 chunk = 4096;
	struct xlb_backend *bes = calloc(chunk, sizeof(*bes));
	__u32 *keys = calloc(chunk, sizeof(*keys));
	__u32 batch = 0, n, i;
	bool last = false;
	void *in = NULL;
	int err = 0;

	if (!bes || !keys) {
		err = -ENOMEM;
		goto out;
	}
	while (!err && !last) {
		n = chunk;
		if (bpf_map_lookup_batch(dp->backends, in, &batch, keys, bes, &n, NULL)) {
			if (errno != ENOENT) {
				err = -errno;
				break;
			}
			last = true;
		}
		in = &batch;
		for (i = 0; i < n && !err; i++) {
			if (bes[i].state == XLB_BACKEND_UNUSED || bes[i].vip_id != vip_id)
				continue;
			bes[i].state = XLB_BACKEND_UNUSED;
			err = ret_errno(bpf_map_update_elem(dp->backends, &keys[i], &bes[i],
							    BPF_ANY));
		}
	}
out:
	free(bes);
	free(keys);
	return err;
}

int xlb_dp_vip_del(const struct xlb_dp *dp, const struct xlb_vip_key *key)
{
	struct xlb_vip cur;
	__u32 ring;
	int err;

	err = xlb_dp_vip_get(dp, key, &cur);
	if (err)
		return err;
	/* its backends first: if this is cut short, the VIP is still there
	 * to be removed again, and no backend is left without a VIP */
	err = backends_free_vip(dp, cur.vip_id);
	if (err)
		return err;
	if (bpf_map_delete_elem(dp->vips, key))
		return -errno;
	{
		__u32 rings[2] = { 2 * cur.vip_id, 2 * cur.vip_id + 1 }, n = 2;

		/* one batch, one grace period; a slot may be empty already */
		if (bpf_map_delete_batch(dp->rings, rings, &n, NULL))
			for (ring = 0; ring < 2; ring++)
				bpf_map_delete_elem(dp->rings, &rings[ring]);
	}
	return vip_addr_count(dp, key, -1);
}

/* A new inner ring array holding SLOTS, filled through its mmap before any
 * packet can see it. Returns its fd or -errno. */
static int ring_create(const struct xlb_ring_slot *slots, uint32_t m)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	size_t len = (size_t)m * sizeof(*slots);
	void *mem;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_ring", sizeof(__u32),
			    sizeof(struct xlb_ring_slot), m, &opts);
	if (fd < 0)
		return -errno;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		int err = -errno;

		close(fd);
		return err;
	}
	memcpy(mem, slots, len);
	munmap(mem, len);
	return fd;
}

int xlb_dp_rings_install(const struct xlb_dp *dp, const struct xlb_ring_update *u, size_t n)
{
	__u32 *slot = calloc(n ?: 1, sizeof(*slot));
	int *fds = calloc(n ?: 1, sizeof(*fds));
	__u32 count = n;
	size_t made = 0, i;
	int err = 0;

	if (!slot || !fds) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && !err; i++) {
		struct xlb_vip cur;

		if (u[i].m == 0 || u[i].m > XLB_RING_SIZE_MAX) {
			err = -EINVAL;
			break;
		}
		err = xlb_dp_vip_get(dp, &u[i].key, &cur);
		if (err)
			break;
		slot[i] = cur.ring_id;
		fds[i] = ring_create(u[i].slots, u[i].m);
		if (fds[i] < 0)
			err = fds[i];
		else
			made++;
	}
	/* The switch: each VIP's ring is replaced whole, one pointer in the
	 * outer map, and carries its own size; the VIP's entry is not touched.
	 * One batch: one grace period for every ring. */
	if (!err && n)
		err = ret_errno(bpf_map_update_batch(dp->rings, slot, fds, &count, NULL));
	if (!err && count != n)
		err = -EIO;
out:
	for (i = 0; i < made; i++)
		close(fds[i]);		/* the outer map holds what it took */
	free(slot);
	free(fds);
	return err;
}

int xlb_dp_ring_install(const struct xlb_dp *dp, const struct xlb_vip_key *key,
			const struct xlb_ring_slot *slots, uint32_t m)
{
	struct xlb_ring_update u = { .key = *key, .slots = slots, .m = m };

	return xlb_dp_rings_install(dp, &u, 1);
}

/* The inner ring array at RING_ID: its fd (to close) and size, or -ENOENT. */
static int ring_open(const struct xlb_dp *dp, __u32 ring_id, __u32 *size)
{
	struct bpf_map_info info = {};
	__u32 inner_id, len = sizeof(info);
	int fd;

	if (bpf_map_lookup_elem(dp->rings, &ring_id, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -errno;
	}
	*size = info.max_entries;
	return fd;
}

int xlb_dp_ring_size(const struct xlb_dp *dp, const struct xlb_vip *vip, uint32_t *m)
{
	int fd = ring_open(dp, vip->ring_id, m);

	if (fd == -ENOENT) {
		*m = 0;
		return 0;
	}
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int xlb_dp_ring_read(const struct xlb_dp *dp, const struct xlb_vip_key *key,
		     struct xlb_ring_slot *slots, uint32_t *m)
{
	struct xlb_vip vip;
	__u32 size, i;
	void *mem;
	int fd, err;

	err = xlb_dp_vip_get(dp, key, &vip);
	if (err)
		return err;
	fd = ring_open(dp, vip.ring_id, &size);
	if (fd < 0)
		return fd;
	if (size > *m) {
		close(fd);
		return -ENOSPC;
	}
	mem = mmap(NULL, (size_t)size * sizeof(*slots), PROT_READ, MAP_SHARED, fd, 0);
	if (mem != MAP_FAILED) {
		memcpy(slots, mem, (size_t)size * sizeof(*slots));
		munmap(mem, (size_t)size * sizeof(*slots));
	} else {
		/* a ring made before rings were mmapable */
		for (i = 0; i < size && !err; i++)
			err = ret_errno(bpf_map_lookup_elem(fd, &i, &slots[i]));
	}
	close(fd);
	*m = size;
	return err;
}

int xlb_dp_backend_set(const struct xlb_dp *dp, uint32_t id, const struct xlb_backend *be)
{
	struct xlb_backend cur, next = *be;
	int err;

	if (id >= XLB_MAX_BACKENDS)
		return -EINVAL;
	err = xlb_dp_backend_get(dp, id, &cur);
	if (err)
		return err;
	/* the data plane owns gen: a new life for the id invalidates every
	 * flow entry recorded in its old one */
	next.gen = cur.gen;
	if (cur.state == XLB_BACKEND_UNUSED && be->state != XLB_BACKEND_UNUSED) {
		struct xlb_backend unused = next;

		next.gen = cur.gen + 1;
		err = percpu_zero(dp, dp->backend_stats, id, sizeof(struct xlb_backend_stats));
		if (err)
			return err;
		/* The array entry is rewritten in place: a packet reading it
		 * meanwhile may see some new bytes and some old. First the new
		 * gen, still unused, so that no mix of old gen and usable state
		 * ever shows; then the state. */
		unused.gen = next.gen;
		unused.state = XLB_BACKEND_UNUSED;
		err = ret_errno(bpf_map_update_elem(dp->backends, &id, &unused, BPF_ANY));
		if (err)
			return err;
	}
	return ret_errno(bpf_map_update_elem(dp->backends, &id, &next, BPF_ANY));
}

int xlb_dp_backend_get(const struct xlb_dp *dp, uint32_t id, struct xlb_backend *be)
{
	return ret_errno(bpf_map_lookup_elem(dp->backends, &id, be));
}

long xlb_dp_flows_flush(const struct xlb_dp *dp, uint32_t backend_id)
{
	struct xlb_flow_key *keys = NULL, *grown, cur, next;
	size_t n = 0, cap = 0;
	struct xlb_flow f;
	long deleted = 0;
	void *prev = NULL;

	/* collect first: deleting while walking a hash map restarts the walk */
	while (!bpf_map_get_next_key(dp->flows, prev, &next)) {
		cur = next;
		prev = &cur;
		if (backend_id != XLB_NO_BACKEND &&
		    (bpf_map_lookup_elem(dp->flows, &cur, &f) || f.backend_id != backend_id))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			grown = realloc(keys, cap * sizeof(*keys));
			if (!grown) {
				free(keys);
				return -ENOMEM;
			}
			keys = grown;
		}
		keys[n++] = cur;
	}
	for (size_t i = 0; i < n; i++)
		deleted += bpf_map_delete_elem(dp->flows, &keys[i]) == 0;
	free(keys);
	return deleted;
}

int xlb_dp_flows_walk(const struct xlb_dp *dp, xlb_flow_fn fn, void *arg)
{
	const __u32 chunk = 8192;
	struct xlb_flow_key *keys = calloc(chunk, sizeof(*keys));
	struct xlb_flow *vals = calloc(chunk, sizeof(*vals));
	__u32 batch = 0, n, i;
	bool last = false;
	void *in = NULL;
	int ret = 0;

	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	while (!ret && !last) {
		n = chunk;
		if (bpf_map_lookup_batch(dp->flows, in, &batch, keys, vals, &n, NULL)) {
			if (errno != ENOENT) {
				ret = -errno;
				break;
			}
			last = true;	/* the final, possibly partial, batch */
		}
		in = &batch;
		for (i = 0; i < n && !ret; i++)
			ret = fn(&keys[i], &vals[i], arg);
	}
out:
	free(keys);
	free(vals);
	return ret;
}

/* Sum a per-CPU array entry made of u64 fields into SUM (FIELDS u64s). */
static int percpu_sum(const struct xlb_dp *dp, int fd, __u32 key, __u64 *sum, size_t fields)
{
	__u64 *values = calloc(dp->ncpus, fields * sizeof(__u64));

	if (!values)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, values)) {
		int err = -errno;

		free(values);
		return err;
	}
	memset(sum, 0, fields * sizeof(__u64));
	for (int cpu = 0; cpu < dp->ncpus; cpu++)
		for (size_t f = 0; f < fields; f++)
			sum[f] += values[cpu * fields + f];
	free(values);
	return 0;
}

int xlb_dp_reasons_read(const struct xlb_dp *dp, uint64_t out[XLB_R_MAX])
{
	int err;

	for (__u32 r = 0; r < XLB_R_MAX; r++) {
		err = percpu_sum(dp, dp->reasons, r, (__u64 *)&out[r], 1);
		if (err)
			return err;
	}
	return 0;
}

int xlb_dp_vip_stats_read(const struct xlb_dp *dp, uint32_t vip_id, struct xlb_vip_stats *sum)
{
	return percpu_sum(dp, dp->vip_stats, vip_id, (__u64 *)sum, sizeof(*sum) / sizeof(__u64));
}

int xlb_dp_backend_stats_read(const struct xlb_dp *dp, uint32_t backend_id,
			      struct xlb_backend_stats *sum)
{
	return percpu_sum(dp, dp->backend_stats, backend_id, (__u64 *)sum,
			  sizeof(*sum) / sizeof(__u64));
}

struct reason_info {
	const char *name;
	const char *help;
	enum xlb_reason_kind kind;
};

#define XLB_REASON_INFO(n, str, k, h) [XLB_R_##n] = { str, h, XLB_KIND_##k },
static const struct reason_info reasons[XLB_R_MAX] = {
	XLB_REASONS(XLB_REASON_INFO)
};
#undef XLB_REASON_INFO

const char *xlb_reason_name(enum xlb_reason r)
{
	return r < XLB_R_MAX ? reasons[r].name : "unknown";
}

const char *xlb_reason_help(enum xlb_reason r)
{
	return r < XLB_R_MAX ? reasons[r].help : "";
}

enum xlb_reason_kind xlb_reason_kind(enum xlb_reason r)
{
	return r < XLB_R_MAX ? reasons[r].kind : XLB_KIND_EVENT;
}
