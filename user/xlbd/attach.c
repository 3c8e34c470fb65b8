// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * attach.c: the XDP program and its maps.
 *
 * At start xlbd adopts an xlb_main already running on a configured
 * interface (attached by a previous xlbd, `ip link ... xdp obj` or
 * xdp-loader): its maps are found through the program itself, so traffic
 * and the flow table carry on untouched. If the object xlbd carries is a
 * different build, it replaces the program atomically (XDP_FLAGS_REPLACE)
 * with the same maps. Otherwise it loads the object with its maps pinned in
 * daemon.pin_dir (reusing pinned ones) and attaches through libxdp.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "xlb.skel.h"
#include "xlb_clock.skel.h"
#include "xlbd.h"

#define PROG_NAME	"xlb_main"
#define IPROUTE2_PINS	"/sys/fs/bpf/tc/globals"

/* While libxdp probes its dispatcher, the failures it expects would read
 * as warnings: everything libbpf says then is debug detail. */
static bool quiet_libbpf;

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	/* libbpf's lines already start with "libbpf: " */
	xlbd_log(level == LIBBPF_WARN && !quiet_libbpf ? 4 : 7, "%s", line);
	return 0;
}

static int libxdp_log(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	xlbd_log(7, "libxdp: %s", line);
	return 0;
}

/* Id of the XDP program on IFINDEX (either mode), 0 if none. */
static __u32 attached_prog_id(int ifindex, bool *generic)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	*generic = false;
	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	*generic = q.attach_mode == XDP_ATTACHED_SKB;
	return q.prog_id;
}

static int prog_info(int fd, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Is the map pinned at DIR/NAME the one behind FD? */
static bool pinned_here(const char *dir, const char *name, int fd)
{
	char path[XLB_PATH_MAX + 32];
	int pfd;
	bool same;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	pfd = bpf_obj_get(path);
	if (pfd < 0)
		return false;
	same = map_id(pfd) == map_id(fd);
	close(pfd);
	return same;
}

/* Where the adopted program's maps are pinned: our pin dir, iproute2's, or
 * (pinned nowhere) ours, pinning them now so an upgrade can reuse them. */
static int find_or_pin_maps(struct xlbd *d)
{
	static const char *const names[] = {
		XLB_MAP_CONFIG, XLB_MAP_VIPS, XLB_MAP_VIP_ADDRS, XLB_MAP_RINGS,
		XLB_MAP_BACKENDS, XLB_MAP_FLOWS, XLB_MAP_REASONS, XLB_MAP_VIP_STATS,
		XLB_MAP_BACKEND_STATS, XLB_MAP_SYN_SRC, XLB_MAP_CPU_STATE,
	};
	const int fds[] = {
		d->dp.config, d->dp.vips, d->dp.vip_addrs, d->dp.rings, d->dp.backends,
		d->dp.flows, d->dp.reasons, d->dp.vip_stats, d->dp.backend_stats,
		d->dp.syn_src, d->dp.cpu_state,
	};
	const char *dirs[] = { d->conf.daemon.pin_dir, IPROUTE2_PINS };
	char path[XLB_PATH_MAX + 32];
	size_t i;

	for (size_t k = 0; k < 2; k++) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!pinned_here(dirs[k], names[i], fds[i]))
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			snprintf(d->pin_dir, sizeof(d->pin_dir), "%s", dirs[k]);
			return 0;
		}
	}
	snprintf(d->pin_dir, sizeof(d->pin_dir), "%s", d->conf.daemon.pin_dir);
	if (mkdir(d->pin_dir, 0700) && errno != EEXIST)
		return -errno;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", d->pin_dir, names[i]);
		unlink(path);
		if (bpf_obj_pin(fds[i], path))
			return -errno;
	}
	log_notice("maps of the adopted program were not pinned: pinned them in %s", d->pin_dir);
	return 0;
}

/* Open the object xlbd carries (or daemon.bpf_object), its maps pinned in
 * (or reused from) PIN_DIR, the flow table sized FLOWS. */
static int load_object(struct xlbd *d, const char *pin_dir, __u32 flows, struct bpf_object **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_dir);
	struct xlb_bpf *skel = NULL;
	struct bpf_object *obj;
	struct bpf_map *m;
	int err;

	if (d->conf.daemon.bpf_object[0]) {
		obj = bpf_object__open_file(d->conf.daemon.bpf_object, &oo);
	} else {
		skel = xlb_bpf__open_opts(&oo);
		obj = skel ? skel->obj : NULL;
	}
	if (!obj) {
		err = -errno;
		log_err("opening the XDP object %s: %s", d->conf.daemon.bpf_object[0] ?
			d->conf.daemon.bpf_object : "(built in)", strerror(-err));
		return err;
	}
	m = bpf_object__find_map_by_name(obj, XLB_MAP_FLOWS);
	if (m)
		bpf_map__set_max_entries(m, flows);
	err = bpf_object__load(obj);
	if (err) {
		log_err("loading the XDP object: %s (maps pinned in %s by an incompatible version? "
			"see 'bpftool map show'; remove the pins to start afresh, which loses the "
			"flow table)", strerror(-err), pin_dir);
		if (skel)
			xlb_bpf__destroy(skel);
		else
			bpf_object__close(obj);
		return err;
	}
	/* the skeleton wrapper is not needed past loading; keep its object */
	if (skel) {
		skel->obj = NULL;
		xlb_bpf__destroy(skel);
	}
	*out = obj;
	return 0;
}

/* Max entries of the pinned flow table in DIR, 0 if there is none. */
static __u32 pinned_flows_size(const char *dir)
{
	char path[XLB_PATH_MAX + 32];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, XLB_MAP_FLOWS);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

static __u32 flows_size(struct xlbd *d, const char *dir)
{
	__u32 pinned = pinned_flows_size(dir);

	if (pinned && pinned != d->conf.dataplane.flow_table_size)
		log_warn("dataplane.flow_table_size is %u but the running flow table holds %u: "
			 "keeping the running one (resizing would lose every flow; to resize, stop "
			 "xlbd, detach, remove %s/%s, start)", d->conf.dataplane.flow_table_size,
			 pinned, dir, XLB_MAP_FLOWS);
	return pinned ?: d->conf.dataplane.flow_table_size;
}

static int prog_fd_of(struct bpf_object *obj)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, PROG_NAME);

	return p ? bpf_program__fd(p) : -ENOENT;
}

/* Adopt the xlb_main with id ID: its maps become ours; a different build
 * is replaced by ours on every interface it runs on. */
static int adopt(struct xlbd *d, __u32 id)
{
	struct bpf_prog_info old_info, new_info;
	__u32 flags[XLB_MAX_INTERFACES];
	int done[XLB_MAX_INTERFACES];
	struct bpf_object *obj = NULL;
	int fd, new_fd, err;
	size_t n_done = 0;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	err = xlb_dp_from_prog(&d->dp, fd);
	if (err == -EPROTO)
		log_err("program %u's maps have another layout than this build's (an older or "
			"newer xlb): nothing was touched; run the matching xlbd, or detach the "
			"program and remove the pins in %s (this drops the flow table) and start "
			"again", id, d->conf.daemon.pin_dir);
	else if (err)
		log_err("program %u is called %s but its maps are not xlb's: %s", id, PROG_NAME,
			strerror(-err));
	if (err) {
		close(fd);
		return err;
	}
	d->dp_open = true;
	err = find_or_pin_maps(d);
	if (err) {
		log_err("pinning the adopted maps in %s: %s", d->conf.daemon.pin_dir, strerror(-err));
		close(fd);
		return err;
	}
	d->prog_fd = fd;
	log_info("adopted XDP program %u and its maps (pinned in %s): traffic and flows carry on",
		 id, d->pin_dir);

	/* is ours the same build? then nothing to do */
	if (load_object(d, d->pin_dir, flows_size(d, d->pin_dir), &obj))
		return 0;	/* keep running what runs */
	new_fd = prog_fd_of(obj);
	if (new_fd < 0 || prog_info(fd, &old_info) || prog_info(new_fd, &new_info) ||
	    !memcmp(old_info.tag, new_info.tag, sizeof(old_info.tag))) {
		bpf_object__close(obj);
		return 0;
	}
	for (size_t i = 0; i < d->conf.daemon.n_interfaces && n_done < XLB_MAX_INTERFACES; i++) {
		const char *ifname = d->conf.daemon.interfaces[i];
		LIBBPF_OPTS(bpf_xdp_attach_opts, xo, .old_prog_fd = fd);
		int ifindex = if_nametoindex(ifname);
		bool generic;

		if (!ifindex || attached_prog_id(ifindex, &generic) != id)
			continue;
		flags[n_done] = XDP_FLAGS_REPLACE | (generic ? XDP_FLAGS_SKB_MODE
							     : XDP_FLAGS_DRV_MODE);
		err = bpf_xdp_attach(ifindex, new_fd, flags[n_done], &xo);
		if (err) {
			log_err("%s: replacing XDP program %u with the new build: %s; the old one "
				"keeps running everywhere", ifname, id, strerror(-err));
			/* one build on every interface: back where it was upgraded */
			while (n_done--) {
				LIBBPF_OPTS(bpf_xdp_attach_opts, back, .old_prog_fd = new_fd);

				if (bpf_xdp_attach(done[n_done], fd, flags[n_done], &back))
					log_err("interface %d: putting XDP program %u back failed; "
						"it runs the new build", done[n_done], id);
			}
			bpf_object__close(obj);
			return 0;
		}
		done[n_done++] = ifindex;
		log_notice("%s: XDP program upgraded in place (same maps, no packet lost)", ifname);
	}
	close(fd);
	d->prog_fd = new_fd;
	d->obj = obj;
	return 0;
}

static int load_fresh(struct xlbd *d)
{
	int err;

	snprintf(d->pin_dir, sizeof(d->pin_dir), "%s", d->conf.daemon.pin_dir);
	if (mkdir(d->pin_dir, 0700) && errno != EEXIST) {
		log_err("creating %s: %s (is bpffs mounted on /sys/fs/bpf?)", d->pin_dir,
			strerror(errno));
		return -errno;
	}
	err = load_object(d, d->pin_dir, flows_size(d, d->pin_dir), &d->obj);
	if (err)
		return err;
	d->prog_fd = prog_fd_of(d->obj);
	err = xlb_dp_from_object(&d->dp, d->obj);
	if (err || d->prog_fd < 0) {
		log_err("the XDP object has no %s program or misses maps", PROG_NAME);
		return err ?: d->prog_fd;
	}
	return 0;
}

static int clock_open(struct xlbd *d)
{
	struct xlb_clock_bpf *skel = xlb_clock_bpf__open_and_load();
	uint64_t j0, j1;
	struct timespec t0, t1;
	double secs;

	if (!skel) {
		log_err("loading the clock program: %s", strerror(errno));
		return -errno;
	}
	d->clock_fd = bpf_program__fd(skel->progs.xlb_clock);
	d->clock_obj = skel->obj;
	skel->obj = NULL;
	xlb_clock_bpf__destroy(skel);
	{
		struct xlb_clock_ctx c = {};
		LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = &c, .ctx_size_in = sizeof(c));

		if (bpf_prog_test_run_opts(d->clock_fd, &t))
			return -errno;
		d->hz = c.hz;
	}
	if (d->hz)
		return 0;
	/* no kernel config to read: measure the tick */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	xlbd_clock_now(d, &j0);
	usleep(200000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	xlbd_clock_now(d, &j1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	d->hz = (uint32_t)((j1 - j0) / secs + 0.5);
	for (uint32_t hz = 100; hz <= 1000; hz += 50)	/* 100, 250, 300, 1000 */
		if (d->hz > hz * 9 / 10 && d->hz < hz * 11 / 10)
			d->hz = hz;
	log_info("kernel HZ measured as %u", d->hz);
	return 0;
}

int xlbd_clock_now(struct xlbd *d, uint64_t *jiffies)
{
	struct xlb_clock_ctx c = {};
	LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = &c, .ctx_size_in = sizeof(c));

	if (bpf_prog_test_run_opts(d->clock_fd, &t))
		return -errno;
	*jiffies = c.jiffies;
	return 0;
}

int xlbd_dataplane_open(struct xlbd *d)
{
	__u32 id, found = 0;
	char err[256];
	bool generic;
	int ret;

	libbpf_set_print(libbpf_log);
	libxdp_set_print(libxdp_log);
	d->prog_fd = -1;
	d->clock_fd = -1;
	for (size_t i = 0; i < d->conf.daemon.n_interfaces; i++) {
		int ifindex = if_nametoindex(d->conf.daemon.interfaces[i]);
		struct bpf_prog_info info;
		int fd;

		if (!ifindex)
			continue;
		id = attached_prog_id(ifindex, &generic);
		fd = id ? bpf_prog_get_fd_by_id(id) : -1;
		if (fd >= 0 && !prog_info(fd, &info) && !strcmp(info.name, PROG_NAME)) {
			if (found && found != id)
				log_warn("%s runs another %s (id %u) than %u: adopting %u only",
					 d->conf.daemon.interfaces[i], PROG_NAME, id, found, found);
			found = found ?: id;
		}
		if (fd >= 0)
			close(fd);
	}
	ret = found ? adopt(d, found) : load_fresh(d);
	if (ret)
		return ret;
	d->dp_open = true;
	ret = clock_open(d);
	if (ret)
		return ret;
	for (size_t i = 0; i < d->conf.daemon.n_interfaces; i++) {
		ret = xlbd_attach(d, d->conf.daemon.interfaces[i],
				  d->conf.daemon.xdp_mode == XLB_XDP_GENERIC, err, sizeof(err));
		if (ret)
			log_err("%s", err);
	}
	return 0;
}

static struct xlbd_attach *find_attached(struct xlbd *d, const char *ifname)
{
	for (size_t i = 0; i < d->n_attached; i++)
		if (!strcmp(d->attached[i].ifname, ifname))
			return &d->attached[i];
	return NULL;
}

/* Is IFNAME among the interfaces xlbd attaches at start? */
static bool configured(const struct xlbd *d, const char *ifname)
{
	for (size_t i = 0; i < d->conf.daemon.n_interfaces; i++)
		if (!strcmp(d->conf.daemon.interfaces[i], ifname))
			return true;
	return false;
}

static void record_attached(struct xlbd *d, const char *ifname, int ifindex, bool generic)
{
	struct xlbd_attach *a = find_attached(d, ifname);
	struct bpf_prog_info info;

	if (!a) {
		if (d->n_attached == XLB_MAX_INTERFACES)
			return;
		a = &d->attached[d->n_attached++];
	}
	snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
	a->ifindex = ifindex;
	a->generic = generic;
	a->prog_id = prog_info(d->prog_fd, &info) ? 0 : info.id;
}

int xlbd_attach(struct xlbd *d, const char *ifname, bool generic, char *err, size_t errlen)
{
	struct bpf_prog_info mine;
	struct xdp_program *xp;
	bool cur_generic = false;
	int ifindex, ret;
	__u32 cur;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		snprintf(err, errlen, "interface %s: no such device (see 'ip link')", ifname);
		return -ENODEV;
	}
	if (!find_attached(d, ifname) && (d->n_attached == XLB_MAX_INTERFACES ||
	    (d->conf.daemon.n_interfaces == XLB_MAX_INTERFACES && !configured(d, ifname)))) {
		snprintf(err, errlen, "interface %s: xlbd already serves %d interfaces, the most "
			 "it holds; detach one first", ifname, XLB_MAX_INTERFACES);
		return -ENOSPC;
	}
	if (prog_info(d->prog_fd, &mine))
		return -errno;
	cur = attached_prog_id(ifindex, &cur_generic);
	if (cur == mine.id) {
		record_attached(d, ifname, ifindex, cur_generic);
		return 0;
	}
	if (cur) {
		snprintf(err, errlen, "interface %s already runs XDP program %u: not replacing "
			 "someone else's program; detach it first ('ip link set dev %s xdp off')",
			 ifname, cur, ifname);
		return -EEXIST;
	}
	xp = xdp_program__from_fd(d->prog_fd);
	ret = libxdp_get_error(xp);
	if (ret) {
		snprintf(err, errlen, "interface %s: libxdp: %s", ifname, strerror(-ret));
		return ret;
	}
	quiet_libbpf = true;
	ret = xdp_program__attach(xp, ifindex, generic ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	quiet_libbpf = false;
	if (ret && !generic) {
		log_err("interface %s: native XDP attach failed (%s); falling back to GENERIC "
			"mode, which is several times slower: fix the driver or set "
			"daemon.xdp_mode = \"generic\" to silence this", ifname, strerror(-ret));
		generic = true;
		ret = xdp_program__attach(xp, ifindex, XDP_MODE_SKB, 0);
	}
	xdp_program__close(xp);
	if (ret) {
		snprintf(err, errlen, "interface %s: attaching the XDP program: %s", ifname,
			 strerror(-ret));
		return ret;
	}
	if (generic)
		log_warn("interface %s: XDP runs in GENERIC (skb) mode: expect a fraction of "
			 "native performance", ifname);
	record_attached(d, ifname, ifindex, generic);
	{
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
		bool alone = !libxdp_get_error(mp) && mp && xdp_multiprog__is_legacy(mp);

		log_notice("interface %s: XDP program attached (%s mode%s)", ifname,
			   generic ? "generic" : "native",
			   alone ? ", as the only program: libxdp's dispatcher is not usable here" : "");
		if (!libxdp_get_error(mp))
			xdp_multiprog__close(mp);
	}
	return 0;
}

int xlbd_detach(struct xlbd *d, const char *ifname, char *err, size_t errlen)
{
	struct xlbd_attach *a = find_attached(d, ifname);
	LIBBPF_OPTS(bpf_xdp_attach_opts, xo, .old_prog_fd = d->prog_fd);
	bool generic = false;
	int ifindex = if_nametoindex(ifname), ret;
	struct bpf_prog_info mine;

	if (!ifindex || !a || prog_info(d->prog_fd, &mine) ||
	    attached_prog_id(ifindex, &generic) != mine.id) {
		snprintf(err, errlen, "interface %s: xlb is not attached there (see 'xlbctl show')",
			 ifname);
		return -ENOENT;
	}
	ret = bpf_xdp_detach(ifindex, generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE, &xo);
	if (ret) {
		snprintf(err, errlen, "interface %s: detaching: %s", ifname, strerror(-ret));
		return ret;
	}
	*a = d->attached[--d->n_attached];
	log_notice("interface %s: XDP program detached", ifname);
	return 0;
}

void xlbd_dataplane_close(struct xlbd *d)
{
	/* the program stays attached and the maps pinned: that is the point */
	if (d->obj)
		bpf_object__close(d->obj);
	else if (d->prog_fd >= 0)
		close(d->prog_fd);
	if (d->dp_open && !d->obj)
		xlb_dp_close(&d->dp);
	if (d->clock_obj)
		bpf_object__close(d->clock_obj);
	d->obj = NULL;
	d->dp_open = false;
}
