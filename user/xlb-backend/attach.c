// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * attach.c: `attach DEV` and `detach DEV`.
 *
 * XDP goes through libxdp. Where the kernel refuses libxdp's multi-program
 * dispatcher (as ours does), libxdp falls back to attaching xlb_decap as
 * the device's only XDP program; we say which of the two happened. A
 * second `attach` on the same device replaces our programs: atomically for
 * a lone program (XDP_FLAGS_REPLACE), by detach + attach inside a
 * dispatcher. The SYN-ACK clamp is a direct-action cls_bpf filter on the
 * device's clsact egress hook, under a handle of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "xlb.h"
#include "xlb_decap.skel.h"
#include "backend.h"

#define XDP_PROG_NAME	"xlb_decap"
#define TC_PROG_NAME	"xlb_synack"
/* Our filter on the egress hook: priority 1 so SYN-ACKs reach it before a
 * filter that ends classification (it returns "unclassified" itself, so
 * later filters still run); a handle of its own ("XL") so a re-attach
 * replaces only ours. */
#define TC_HANDLE	0x584c
#define TC_PRIORITY	1

#define LOG_HINT	" (run with -v for libbpf's and libxdp's log)"

static const char *mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	case XDP_MODE_HW:
		return "offloaded";
	default:
		return "unknown mode";
	}
}

/* What DEV's XDP hook holds now. */
struct xdp_state {
	struct xdp_multiprog *mp;	/* NULL: nothing attached */
	bool legacy;			/* a lone program, no dispatcher */
	struct xdp_program *ours;	/* an xlb_decap (owned by mp) */
	struct xdp_program *foreign;	/* the lone program, if not ours */
	enum xdp_attach_mode mode;
};

static int xdp_state_get(int ifindex, struct xdp_state *s)
{
	struct xdp_program *p = NULL;
	long err;

	memset(s, 0, sizeof(*s));
	s->mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(s->mp);
	if (err || !s->mp) {
		s->mp = NULL;
		return err == -ENOENT || err == 0 ? 0 : (int)err;
	}
	s->legacy = xdp_multiprog__is_legacy(s->mp);
	s->mode = xdp_multiprog__attach_mode(s->mp);
	if (s->legacy) {
		p = xdp_multiprog__main_prog(s->mp);
		if (p && !strcmp(xdp_program__name(p), XDP_PROG_NAME))
			s->ours = p;
		else
			s->foreign = p;
		return 0;
	}
	while ((p = xdp_multiprog__next_prog(p, s->mp)))
		if (!strcmp(xdp_program__name(p), XDP_PROG_NAME))
			s->ours = p;
	return 0;
}

static void xdp_state_put(struct xdp_state *s)
{
	xdp_multiprog__close(s->mp);
	s->mp = NULL;
}

/* The name of the program with ID (empty if it can't be read). */
static void prog_name(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	buf[0] = 0;
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(buf, len, "%s", info.name);
	close(fd);
}

/* Our filter's id on DEV's egress hook: 0 none, -1 someone else's is there
 * (reported), else the id. */
static long tc_ours(const char *what, const char *dev, const struct bpf_tc_hook *hook)
{
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	char name[32];

	if (bpf_tc_query(hook, &q))
		return 0;
	prog_name(q.prog_id, name, sizeof(name));
	if (strcmp(name, TC_PROG_NAME)) {
		fail("%s: %s's egress filter handle 0x%x priority %d belongs to program '%s' "
		     "(id %u), not " TC_PROG_NAME ": leaving it alone; remove it with "
		     "'tc filter del dev %s egress handle 0x%x prio %d bpf'", what, dev, TC_HANDLE,
		     TC_PRIORITY, name, q.prog_id, dev, TC_HANDLE, TC_PRIORITY);
		return -1;
	}
	return q.prog_id;
}

static int tc_attach(const char *what, const char *dev, int ifindex, int prog_fd, __u32 *id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = TC_HANDLE, .priority = TC_PRIORITY,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		fail("%s: creating the clsact qdisc on %s: %s" LOG_HINT, what, dev, strerror(-err));
		return err;
	}
	if (tc_ours(what, dev, &hook) < 0)
		return -EEXIST;
	err = bpf_tc_attach(&hook, &o);
	if (err) {
		fail("%s: attaching " TC_PROG_NAME " to %s's egress: %s" LOG_HINT, what, dev,
		     strerror(-err));
		return err;
	}
	*id = o.prog_id;
	return 0;
}

static int xdp_flags(enum xdp_attach_mode mode)
{
	return mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

static void xdp_attach_error(const char *what, const char *dev, int err, bool generic)
{
	if (err == -EOPNOTSUPP && !generic)
		fail("%s: %s's driver has no native XDP: use --generic (slower, skb mode)",
		     what, dev);
	else if (err == -EEXIST || err == -EBUSY)
		fail("%s: %s already has an XDP program in the other mode, or one libxdp "
		     "can't join: see 'xdp-loader status %s'; detach it first", what, dev, dev);
	else
		fail("%s: attaching " XDP_PROG_NAME " to %s: %s" LOG_HINT, what, dev,
		     strerror(-err));
}

static int parse_dev(const char *verb, int argc, char **argv, bool *generic,
		     const char **dev, int *ifindex)
{
	*dev = NULL;
	for (int i = 0; i < argc; i++) {
		if (generic && !strcmp(argv[i], "--generic")) {
			*generic = true;
		} else if (!*dev && argv[i][0] != '-') {
			*dev = argv[i];
		} else {
			fail("%s: unexpected '%s' (see '" PROG_NAME " help')", verb, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!*dev) {
		fail("%s: missing DEV (usage: " PROG_NAME " %s DEV%s)", verb, verb,
		     generic ? " [--generic]" : "");
		return EXIT_USAGE;
	}
	*ifindex = (int)if_nametoindex(*dev);
	if (!*ifindex) {
		fail("%s %s: no such device (see 'ip link')", verb, *dev);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_attach(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct xdp_program *prog = NULL;
	struct xlb_decap_bpf *skel = NULL;
	struct xdp_state st = { 0 }, now = { 0 };
	enum xdp_attach_mode mode;
	bool generic = false, replaced = false;
	__u32 xdp_id = 0, tc_id = 0;
	const char *dev;
	char what[64];
	int ifindex, err, rc = EXIT_FAIL;

	rc = parse_dev("attach", argc, argv, &generic, &dev, &ifindex);
	if (rc != EXIT_OK)
		return rc;
	rc = EXIT_FAIL;
	snprintf(what, sizeof(what), "attach %s", dev);
	mode = generic ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	if (!pin_dir_usable(what))
		return EXIT_FAIL;

	oo.pin_root_path = opt.pin_dir;
	skel = xlb_decap_bpf__open_opts(&oo);
	if (!skel) {
		fail("%s: opening the BPF object: %s" LOG_HINT, what, strerror(errno));
		return EXIT_FAIL;
	}
	err = xdp_state_get(ifindex, &st);
	if (err) {
		fail("%s: reading %s's XDP state: %s" LOG_HINT, what, dev, strerror(-err));
		goto out;
	}
	if (st.foreign) {
		fail("%s: %s already runs XDP program '%s' (id %u) on its own, without libxdp's "
		     "dispatcher: detach it first ('xdp-loader unload %s --all' or "
		     "'ip link set dev %s xdp off')", what, dev, xdp_program__name(st.foreign),
		     xdp_program__id(st.foreign), dev, dev);
		goto out;
	}

	if (st.ours && st.mode != mode) {
		fail("%s: %s runs " XDP_PROG_NAME " in %s mode: to switch to %s, detach it first "
		     "('" PROG_NAME " detach %s')", what, dev, mode_name(st.mode), mode_name(mode),
		     dev);
		goto out;
	}
	if (st.ours && st.legacy) {
		/* ours alone on the hook: swap the program in one step */
		LIBBPF_OPTS(bpf_xdp_attach_opts, xo, .old_prog_fd = xdp_program__fd(st.ours));

		err = xlb_decap_bpf__load(skel);
		if (err) {
			fail("%s: loading the programs: %s (pinned maps of another version in %s? "
			     "then detach, remove it, and attach again)" LOG_HINT, what,
			     strerror(-err), opt.pin_dir);
			goto out;
		}
		err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.xlb_decap),
				     xdp_flags(mode) | XDP_FLAGS_REPLACE, &xo);
		if (err) {
			xdp_attach_error(what, dev, err, generic);
			goto out;
		}
		replaced = true;
	} else {
		if (st.ours) {
			/* inside a dispatcher: out with the old, in with the new */
			err = xdp_program__detach(st.ours, ifindex, st.mode, 0);
			if (err) {
				fail("%s: detaching the old " XDP_PROG_NAME ": %s" LOG_HINT, what,
				     strerror(-err));
				goto out;
			}
			replaced = true;
		}
		prog = xdp_program__from_bpf_obj(skel->obj, "xdp");
		err = libxdp_get_error(prog);
		if (err || !prog) {
			prog = NULL;
			fail("%s: %s" LOG_HINT, what, strerror(err ? -err : ENOENT));
			goto out;
		}
		/* loads the whole object: maps pinned or reused, tc program too */
		err = xdp_program__attach(prog, ifindex, mode, 0);
		if (err) {
			if (err == -EINVAL || err == -ENOENT)
				fail("%s: loading the programs: %s (pinned maps of another version "
				     "in %s? then remove it and attach again)" LOG_HINT, what,
				     strerror(-err), opt.pin_dir);
			else
				xdp_attach_error(what, dev, err, generic);
			goto out;
		}
	}

	err = tc_attach(what, dev, ifindex, bpf_program__fd(skel->progs.xlb_synack), &tc_id);
	if (err) {
		if (prog && !replaced && xdp_program__detach(prog, ifindex, mode, 0) == 0)
			fail("%s: " XDP_PROG_NAME " detached again: %s is as it was", what, dev);
		goto out;
	}

	xdp_state_get(ifindex, &now);
	if (now.ours)
		xdp_id = xdp_program__id(now.ours);
	printf("%s: xdp %s id %u, %s, %s%s\n", dev, XDP_PROG_NAME, xdp_id, mode_name(mode),
	       now.legacy ? "the only XDP program (libxdp's dispatcher is not usable here)"
			  : "in libxdp's dispatcher",
	       replaced ? ", replaced the previous one" : "");
	printf("%s: tc egress %s id %u, handle 0x%x priority %d\n", dev, TC_PROG_NAME, tc_id,
	       TC_HANDLE, TC_PRIORITY);
	printf("maps: %s/{%s,%s}\n", opt.pin_dir, XLB_DECAP_MAP_VIPS, XLB_DECAP_MAP_STATS);
	xdp_state_put(&now);
	rc = EXIT_OK;
out:
	xdp_state_put(&st);
	xdp_program__close(prog);
	xlb_decap_bpf__destroy(skel);
	return rc;
}

int cmd_detach(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	struct xdp_state st;
	bool did = false;
	const char *dev;
	char what[64];
	long tc_id;
	int ifindex, err, rc;

	rc = parse_dev("detach", argc, argv, NULL, &dev, &ifindex);
	if (rc != EXIT_OK)
		return rc;
	rc = EXIT_OK;
	snprintf(what, sizeof(what), "detach %s", dev);

	err = xdp_state_get(ifindex, &st);
	if (err) {
		fail("%s: reading %s's XDP state: %s" LOG_HINT, what, dev, strerror(-err));
		rc = EXIT_FAIL;
	} else if (st.ours) {
		if (st.legacy)
			err = xdp_multiprog__detach(st.mp);
		else
			err = xdp_program__detach(st.ours, ifindex, st.mode, 0);
		if (err) {
			fail("%s: detaching " XDP_PROG_NAME ": %s" LOG_HINT, what, strerror(-err));
			rc = EXIT_FAIL;
		} else {
			printf("%s: xdp %s detached\n", dev, XDP_PROG_NAME);
			did = true;
		}
	}
	xdp_state_put(&st);

	hook.ifindex = ifindex;
	tc_id = tc_ours(what, dev, &hook);
	if (tc_id < 0) {
		rc = EXIT_FAIL;
	} else if (tc_id > 0) {
		err = bpf_tc_detach(&hook, &o);
		if (err) {
			fail("%s: removing the egress filter: %s" LOG_HINT, what, strerror(-err));
			rc = EXIT_FAIL;
		} else {
			printf("%s: tc egress %s detached\n", dev, TC_PROG_NAME);
			did = true;
		}
	}
	if (!did && rc == EXIT_OK)
		printf("%s: no " PROG_NAME " programs attached\n", dev);
	return rc;
}
