// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* vips.c: `vip add|del|list` and `stats`, on the maps pinned by `attach`. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb.h"
#include "backend.h"

/* Linux never sends segments smaller than this (TCP_MIN_MSS). */
#define MSS_MIN		88
#define MSS_MAX		65535

/* Open the pinned map NAME and check it is the one we expect. WHAT names
 * the command for messages. Returns an fd or -1 after reporting. */
static int open_map(const char *what, const char *name, __u32 key_size, __u32 value_size)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		int err = errno;

		if (err == ENOENT && !pin_dir_usable(what))
			return -1;
		if (err == ENOENT)
			fail("%s: no %s in %s (run '" PROG_NAME " attach DEV' first, or pass the "
			     "--pin-dir it used)", what, name, opt.pin_dir);
		else
			fail("%s: %s: %s", what, path, strerror(err));
		return -1;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size != key_size ||
	    info.value_size != value_size) {
		fail("%s: %s is not an " PROG_NAME " map of this version (key %u, value %u bytes; "
		     "want %u, %u): detach, remove the pin directory and attach again",
		     what, path, info.key_size, info.value_size, key_size, value_size);
		close(fd);
		return -1;
	}
	return fd;
}

static int open_vips(const char *what)
{
	return open_map(what, XLB_DECAP_MAP_VIPS, sizeof(struct xlb_addr_key),
			sizeof(struct xlb_decap_vip));
}

/* "198.18.1.1" or "2001:db8::1" into a map key. */
static bool parse_addr(const char *s, struct xlb_addr_key *k)
{
	memset(k, 0, sizeof(*k));
	if (inet_pton(AF_INET, s, k->addr) == 1) {
		k->family = XLB_FAMILY_V4;
		return true;
	}
	if (inet_pton(AF_INET6, s, k->addr) == 1) {
		k->family = XLB_FAMILY_V6;
		return true;
	}
	return false;
}

static const char *addr_str(const struct xlb_addr_key *k, char *buf, size_t len)
{
	if (!inet_ntop(k->family == XLB_FAMILY_V4 ? AF_INET : AF_INET6, k->addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

static int bad_addr(const char *verb, const char *s)
{
	if (strchr(s, '/'))
		fail("vip %s %s: give the address alone, without a prefix length", verb, s);
	else
		fail("vip %s %s: not an IPv4 or IPv6 address", verb, s);
	return EXIT_USAGE;
}

int cmd_vip_add(int argc, char **argv)
{
	struct xlb_decap_vip v = { 0 };
	struct xlb_addr_key k;
	unsigned long mss;
	char what[128], *end;
	int fd, err;

	if (argc < 1) {
		fail("vip add: missing ADDR (usage: " PROG_NAME " vip add ADDR [mss N])");
		return EXIT_USAGE;
	}
	if (!parse_addr(argv[0], &k))
		return bad_addr("add", argv[0]);
	snprintf(what, sizeof(what), "vip add %s", argv[0]);
	if (argc >= 2 && strcmp(argv[1], "mss")) {
		fail("%s: unexpected '%s' (usage: " PROG_NAME " vip add ADDR [mss N])", what, argv[1]);
		return EXIT_USAGE;
	}
	if (argc == 2) {
		fail("%s: mss: missing N, the largest MSS its SYN-ACKs may offer", what);
		return EXIT_USAGE;
	}
	if (argc > 3) {
		fail("%s: unexpected '%s' after mss %s", what, argv[3], argv[2]);
		return EXIT_USAGE;
	}
	if (argc == 3) {
		errno = 0;
		mss = strtoul(argv[2], &end, 10);
		if (errno || end == argv[2] || *end || argv[2][0] == '-' ||
		    (mss != 0 && (mss < MSS_MIN || mss > MSS_MAX))) {
			fail("%s: mss %s: not 0 (leave alone) or a number in %d..%d",
			     what, argv[2], MSS_MIN, MSS_MAX);
			return EXIT_USAGE;
		}
		v.mss = (__u16)mss;
	}
	fd = open_vips(what);
	if (fd < 0)
		return EXIT_FAIL;
	err = bpf_map_update_elem(fd, &k, &v, BPF_ANY) ? -errno : 0;
	close(fd);
	if (err == -E2BIG) {
		fail("%s: the VIP table is full (%d VIPs; see '" PROG_NAME " vip list')", what,
		     XLB_DECAP_MAX_VIPS);
		return EXIT_FAIL;
	}
	if (err) {
		fail("%s: %s", what, strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_vip_del(int argc, char **argv)
{
	struct xlb_addr_key k;
	char what[128];
	int fd, err;

	if (argc < 1) {
		fail("vip del: missing ADDR (usage: " PROG_NAME " vip del ADDR)");
		return EXIT_USAGE;
	}
	if (argc > 1) {
		fail("vip del %s: unexpected '%s' (usage: " PROG_NAME " vip del ADDR)",
		     argv[0], argv[1]);
		return EXIT_USAGE;
	}
	if (!parse_addr(argv[0], &k))
		return bad_addr("del", argv[0]);
	snprintf(what, sizeof(what), "vip del %s", argv[0]);
	fd = open_vips(what);
	if (fd < 0)
		return EXIT_FAIL;
	err = bpf_map_delete_elem(fd, &k) ? -errno : 0;
	close(fd);
	if (err == -ENOENT) {
		fail("%s: no such VIP (see '" PROG_NAME " vip list')", what);
		return EXIT_FAIL;
	}
	if (err) {
		fail("%s: %s", what, strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

struct vip_entry {
	struct xlb_addr_key key;
	struct xlb_decap_vip val;
};

static int vip_cmp(const void *a, const void *b)
{
	const struct vip_entry *x = a, *y = b;

	if (x->key.family != y->key.family)
		return x->key.family < y->key.family ? -1 : 1;
	return memcmp(x->key.addr, y->key.addr, sizeof(x->key.addr));
}

int cmd_vip_list(int argc, char **argv)
{
	static struct vip_entry e[XLB_DECAP_MAX_VIPS];
	struct xlb_addr_key k, *prev = NULL;
	char buf[INET6_ADDRSTRLEN];
	size_t n = 0;
	int fd;

	if (argc) {
		fail("vip list: unexpected '%s'", argv[0]);
		return EXIT_USAGE;
	}
	fd = open_vips("vip list");
	if (fd < 0)
		return EXIT_FAIL;
	while (n < XLB_DECAP_MAX_VIPS && bpf_map_get_next_key(fd, prev, &k) == 0) {
		e[n].key = k;
		prev = &e[n].key;
		if (bpf_map_lookup_elem(fd, &k, &e[n].val) == 0)
			n++;
	}
	close(fd);
	qsort(e, n, sizeof(e[0]), vip_cmp);
	if (opt.json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		addr_str(&e[i].key, buf, sizeof(buf));
		if (opt.json)
			printf("%s{\"addr\":\"%s\",\"family\":%u,\"mss\":%u}", i ? "," : "",
			       buf, e[i].key.family, e[i].val.mss);
		else if (e[i].val.mss)
			printf("%s mss %u\n", buf, e[i].val.mss);
		else
			printf("%s\n", buf);
	}
	if (opt.json)
		printf("]\n");
	return EXIT_OK;
}

#define COUNTER_ROW(name, str, help) { str, help },
static const struct {
	const char *name;
	const char *help;
} counters[] = { XLB_DECAP_COUNTERS(COUNTER_ROW) };
#undef COUNTER_ROW

int cmd_stats(int argc, char **argv)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *v, sum[XLB_DECAP_COUNTER_MAX];
	int fd;

	if (argc) {
		fail("stats: unexpected '%s'", argv[0]);
		return EXIT_USAGE;
	}
	if (ncpus <= 0) {
		fail("stats: cannot count the possible CPUs: %s", strerror(-ncpus));
		return EXIT_FAIL;
	}
	fd = open_map("stats", XLB_DECAP_MAP_STATS, sizeof(__u32), sizeof(__u64));
	if (fd < 0)
		return EXIT_FAIL;
	v = calloc((size_t)ncpus, sizeof(*v));
	if (!v) {
		close(fd);
		fail("stats: out of memory");
		return EXIT_FAIL;
	}
	for (__u32 i = 0; i < XLB_DECAP_COUNTER_MAX; i++) {
		sum[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, v)) {
			fail("stats: reading %s/%s: %s", opt.pin_dir, XLB_DECAP_MAP_STATS,
			     strerror(errno));
			free(v);
			close(fd);
			return EXIT_FAIL;
		}
		for (int c = 0; c < ncpus; c++)
			sum[i] += v[c];
	}
	free(v);
	close(fd);
	if (opt.json)
		printf("{");
	for (int i = 0; i < XLB_DECAP_COUNTER_MAX; i++) {
		if (opt.json)
			printf("%s\"%s\":%llu", i ? "," : "", counters[i].name,
			       (unsigned long long)sum[i]);
		else
			printf("%-22s %12llu  %s\n", counters[i].name,
			       (unsigned long long)sum[i], counters[i].help);
	}
	if (opt.json)
		printf("}\n");
	return EXIT_OK;
}
