/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gateway.c: next-hop resolution over rtnetlink (see gateway.h for the
 * contract and for why neighbours are marked managed).
 */
#include "gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#define GW_BUF_SIZE	(64 * 1024)
#define GW_EV_RCVBUF	(4 * 1024 * 1024)	/* a routing daemon's table
						 * reload is many messages */
#define GW_MAX_WATCH	4096			/* next hops tracked for
						 * neighbour events */
#define GW_MAX_GROUP	64			/* nexthop group members read */

/* States with a usable link-layer address (the kernel's, not in the UAPI). */
#define NUD_VALID	(NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | \
			 NUD_PROBE | NUD_STALE | NUD_DELAY)

/* What a neighbour entry says about a next hop's MAC. */
enum nclass {
	NC_PENDING,		/* no entry, NONE, INCOMPLETE */
	NC_OK,			/* valid, with an address */
	NC_FAILED,		/* nobody answered */
};

/* A next hop this resolver answered about, and what it answered. */
struct watch {
	int		ifindex;
	struct xlb_ip	addr;
	enum nclass	cls;
	uint8_t		mac[6];
};

struct xlb_gw {
	struct mnl_socket *rq;		/* requests, blocking, one at a time */
	struct mnl_socket *ev;		/* notifications, non-blocking */
	uint32_t	seq;
	char		ext_msg[96];	/* kernel's text for the last error */
	struct watch	*watch;
	size_t		n_watch;
	bool		watch_full;	/* too many next hops: every
					 * neighbour event counts */
	uint8_t		*buf;
};

/* One path of a route. */
struct path {
	int		oif;
	struct xlb_ip	gw;		/* family 0: on-link */
	uint32_t	flags;		/* RTNH_F_* */
};

struct route {
	uint8_t		type;		/* RTN_* */
	uint32_t	nh_id;		/* nexthop object, 0 if none */
	bool		multipath;	/* RTA_MULTIPATH or a group */
	unsigned int	n_paths;
	bool		have_usable;
	struct path	usable;		/* first path that is not down */
	struct path	single;		/* RTA_OIF / RTA_GATEWAY, if any */
};

/* ---- small helpers ------------------------------------------------------ */

static int af_of(uint8_t family)
{
	return family == XLB_FAMILY_V4 ? AF_INET : AF_INET6;
}

static size_t alen_of(uint8_t family)
{
	return family == XLB_FAMILY_V4 ? 4 : 16;
}

/* An address attribute of address family AF into *ip; false if malformed. */
static bool ip_from(struct xlb_ip *ip, int af, const void *p, size_t len)
{
	memset(ip, 0, sizeof(*ip));
	if (af == AF_INET && len >= 4) {
		ip->family = XLB_FAMILY_V4;
		memcpy(ip->a, p, 4);
		return true;
	}
	if (af == AF_INET6 && len >= 16) {
		ip->family = XLB_FAMILY_V6;
		memcpy(ip->a, p, 16);
		return true;
	}
	return false;
}

static bool ip_eq(const struct xlb_ip *a, const struct xlb_ip *b)
{
	return a->family == b->family &&
	       !memcmp(a->a, b->a, alen_of(a->family));
}

static const char *ip_s(const struct xlb_ip *ip, char *buf, size_t len)
{
	if (!ip->family || !inet_ntop(af_of(ip->family), ip->a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

static const char *mac_s(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static const char *nud_s(uint16_t state)
{
	switch (state) {
	case NUD_NONE:		return "NONE";
	case NUD_INCOMPLETE:	return "INCOMPLETE";
	case NUD_REACHABLE:	return "REACHABLE";
	case NUD_STALE:		return "STALE";
	case NUD_DELAY:		return "DELAY";
	case NUD_PROBE:		return "PROBE";
	case NUD_FAILED:	return "FAILED";
	case NUD_NOARP:		return "NOARP";
	case NUD_PERMANENT:	return "PERMANENT";
	}
	return "?";
}

const char *xlb_gw_state_str(enum xlb_gw_state s)
{
	switch (s) {
	case XLB_GW_OK:			return "ok";
	case XLB_GW_NO_ROUTE:		return "no-route";
	case XLB_GW_NO_NEIGH:		return "no-neigh";
	case XLB_GW_NEIGH_FAILED:	return "neigh-failed";
	}
	return "?";
}

/* out->why: one sentence, cut at its size if it must be. */
static void __attribute__((format(printf, 2, 3)))
say(struct xlb_gw_result *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

/* ---- request / answer ---------------------------------------------------- */

/* NLMSG_ERROR: the error code, and the kernel's extended-ack text if any. */
static int nl_error(struct xlb_gw *gw, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return -EBADMSG;
	if (e->error && (nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		off = MNL_ALIGN(off);
		mnl_attr_for_each(a, nlh, off) {
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
			    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
				snprintf(gw->ext_msg, sizeof(gw->ext_msg), "%s",
					 mnl_attr_get_str(a));
		}
	}
	return e->error;
}

/* Start a request of TYPE in BUF (the nlmsghdr); returns its zeroed family
 * header of HDR_LEN bytes. */
static void *nl_req(void *buf, uint16_t type, size_t hdr_len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	return mnl_nlmsg_put_extra_header(nlh, hdr_len);
}

/*
 * Send REQ and read until its ACK or error; CB sees every data message of
 * the answer. Returns 0 or the kernel's negative errno (text, if the kernel
 * gave one, in gw->ext_msg).
 */
static int nl_talk(struct xlb_gw *gw, struct nlmsghdr *req, mnl_cb_t cb,
		   void *data)
{
	const struct nlmsghdr *nlh;
	ssize_t n;
	int len;

	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nlmsg_seq = ++gw->seq;
	gw->ext_msg[0] = '\0';
	if (mnl_socket_sendto(gw->rq, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(gw->rq, gw->buf, GW_BUF_SIZE);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		len = (int)n;
		for (nlh = (const struct nlmsghdr *)gw->buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != gw->seq)
				continue;	/* late answer to an earlier request */
			if (nlh->nlmsg_type == NLMSG_ERROR)
				return nl_error(gw, nlh);
			if (nlh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (cb && cb(nlh, data) == MNL_CB_ERROR)
				return -EBADMSG;
		}
	}
}

/* ---- routes --------------------------------------------------------------- */

static void route_add_path(struct route *r, const struct path *p)
{
	r->n_paths++;
	if (!r->have_usable && !(p->flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN))) {
		r->usable = *p;
		r->have_usable = true;
	}
}

/* RTA_GATEWAY (address of the route's family) or RTA_VIA (any family). */
static void path_gateway(struct path *p, const struct nlattr *a, int route_af)
{
	const struct rtvia *via;

	if (mnl_attr_get_type(a) == RTA_GATEWAY) {
		ip_from(&p->gw, route_af, mnl_attr_get_payload(a),
			mnl_attr_get_payload_len(a));
	} else if (mnl_attr_get_payload_len(a) >= sizeof(*via)) {
		via = mnl_attr_get_payload(a);
		ip_from(&p->gw, via->rtvia_family, via->rtvia_addr,
			mnl_attr_get_payload_len(a) - sizeof(*via));
	}
}

static void route_multipath(struct route *r, const struct nlattr *mp, int af)
{
	const struct rtnexthop *nh = mnl_attr_get_payload(mp);
	int left = mnl_attr_get_payload_len(mp);
	const struct nlattr *a;

	r->multipath = true;
	while (left >= (int)sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) &&
	       nh->rtnh_len <= left) {
		struct path p = {
			.oif = nh->rtnh_ifindex,
			.flags = nh->rtnh_flags,
		};
		int alen = nh->rtnh_len - RTNH_LENGTH(0);

		for (a = (const void *)RTNH_DATA(nh); mnl_attr_ok(a, alen);
		     alen -= MNL_ALIGN(a->nla_len), a = mnl_attr_next(a)) {
			if (mnl_attr_get_type(a) == RTA_GATEWAY ||
			    mnl_attr_get_type(a) == RTA_VIA)
				path_gateway(&p, a, af);
		}
		route_add_path(r, &p);
		left -= RTNH_ALIGN(nh->rtnh_len);
		nh = RTNH_NEXT(nh);
	}
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route *r = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
		return MNL_CB_OK;
	r->type = rtm->rtm_type;
	r->single.flags = rtm->rtm_flags;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(a)) {
		case RTA_OIF:
			if (!mnl_attr_validate(a, MNL_TYPE_U32))
				r->single.oif = (int)mnl_attr_get_u32(a);
			break;
		case RTA_GATEWAY:
		case RTA_VIA:
			path_gateway(&r->single, a, rtm->rtm_family);
			break;
		case RTA_MULTIPATH:
			route_multipath(r, a, rtm->rtm_family);
			break;
		case RTA_NH_ID:
			if (!mnl_attr_validate(a, MNL_TYPE_U32))
				r->nh_id = mnl_attr_get_u32(a);
			break;
		}
	}
	if (!r->multipath && r->single.oif)
		route_add_path(r, &r->single);
	return MNL_CB_OK;
}

/* `ip route get fibmatch DST`: the route entry that matches, with all its
 * nexthops (a plain lookup would show only the one the flow hash picks). */
static int route_get(struct xlb_gw *gw, const struct xlb_ip *dst,
		     struct route *r)
{
	uint8_t buf[256] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct rtmsg *rtm = nl_req(buf, RTM_GETROUTE, sizeof(*rtm));

	rtm->rtm_family = af_of(dst->family);
	rtm->rtm_dst_len = alen_of(dst->family) * 8;
	rtm->rtm_flags = RTM_F_FIB_MATCH;
	mnl_attr_put(nlh, RTA_DST, alen_of(dst->family), dst->a);
	memset(r, 0, sizeof(*r));
	return nl_talk(gw, nlh, route_cb, r);
}

/* ---- nexthop objects (only when the route does not list its paths:
 * net.ipv4.nexthop_compat_mode = 0) -------------------------------------- */

struct nh_answer {
	bool		blackhole;
	bool		group;
	uint32_t	members[GW_MAX_GROUP];
	unsigned int	n_members;
	unsigned int	n_total;
	struct path	p;
};

static int nexthop_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nhmsg *nhm = mnl_nlmsg_get_payload(nlh);
	struct nh_answer *ans = data;
	const struct nexthop_grp *g;
	const struct nlattr *a;
	unsigned int i, n;

	if (nlh->nlmsg_type != RTM_NEWNEXTHOP ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*nhm)))
		return MNL_CB_OK;
	ans->p.flags = nhm->nh_flags;
	mnl_attr_for_each(a, nlh, sizeof(*nhm)) {
		switch (mnl_attr_get_type(a)) {
		case NHA_BLACKHOLE:
			ans->blackhole = true;
			break;
		case NHA_OIF:
			if (!mnl_attr_validate(a, MNL_TYPE_U32))
				ans->p.oif = (int)mnl_attr_get_u32(a);
			break;
		case NHA_GATEWAY:
			ip_from(&ans->p.gw, nhm->nh_family, mnl_attr_get_payload(a),
				mnl_attr_get_payload_len(a));
			break;
		case NHA_GROUP:
			g = mnl_attr_get_payload(a);
			n = mnl_attr_get_payload_len(a) / sizeof(*g);
			ans->group = true;
			ans->n_total = n;
			for (i = 0; i < n && i < GW_MAX_GROUP; i++)
				ans->members[ans->n_members++] = g[i].id;
			break;
		}
	}
	return MNL_CB_OK;
}

static int nexthop_get(struct xlb_gw *gw, uint32_t id, struct nh_answer *ans)
{
	uint8_t buf[128] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

	nl_req(buf, RTM_GETNEXTHOP, sizeof(struct nhmsg));
	mnl_attr_put_u32(nlh, NHA_ID, id);
	memset(ans, 0, sizeof(*ans));
	return nl_talk(gw, nlh, nexthop_cb, ans);
}

/* Fill r's paths from nexthop object r->nh_id (a nexthop or a group). */
static int route_from_nexthop(struct xlb_gw *gw, struct route *r)
{
	struct nh_answer top, m;
	unsigned int i;
	int err;

	err = nexthop_get(gw, r->nh_id, &top);
	if (err)
		return err;
	if (top.blackhole) {
		r->type = RTN_BLACKHOLE;
		return 0;
	}
	if (!top.group) {
		route_add_path(r, &top.p);
		return 0;
	}
	r->multipath = true;
	for (i = 0; i < top.n_members; i++) {
		err = nexthop_get(gw, top.members[i], &m);
		if (err)
			return err;
		if (!m.blackhole && m.p.oif)
			route_add_path(r, &m.p);
	}
	r->n_paths = top.n_total;
	return 0;
}

/* ---- links ------------------------------------------------------------- */

struct link {
	char		name[IF_NAMESIZE];
	uint16_t	type;		/* ARPHRD_* */
	uint32_t	flags;		/* IFF_* */
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link *l = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return MNL_CB_OK;
	l->type = ifi->ifi_type;
	l->flags = ifi->ifi_flags;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) == IFLA_IFNAME &&
		    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
	}
	return MNL_CB_OK;
}

static int link_get(struct xlb_gw *gw, int ifindex, struct link *l)
{
	uint8_t buf[128] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct ifinfomsg *ifi = nl_req(buf, RTM_GETLINK, sizeof(*ifi));

	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "if%d", ifindex);
	return nl_talk(gw, nlh, link_cb, l);
}

/* ---- neighbours ---------------------------------------------------------- */

struct neigh {
	bool		found;
	uint16_t	state;		/* NUD_* */
	uint8_t		flags;		/* NTF_* */
	uint32_t	ext_flags;	/* NTF_EXT_* */
	bool		have_mac;
	uint8_t		mac[6];
	struct xlb_ip	dst;
	int		ifindex;
};

static int neigh_parse(const struct nlmsghdr *nlh, struct neigh *n)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ndm)))
		return -EBADMSG;
	memset(n, 0, sizeof(*n));
	n->found = true;
	n->state = ndm->ndm_state;
	n->flags = ndm->ndm_flags;
	n->ifindex = ndm->ndm_ifindex;
	mnl_attr_for_each(a, nlh, sizeof(*ndm)) {
		switch (mnl_attr_get_type(a)) {
		case NDA_DST:
			ip_from(&n->dst, ndm->ndm_family, mnl_attr_get_payload(a),
				mnl_attr_get_payload_len(a));
			break;
		case NDA_LLADDR:
			if (mnl_attr_get_payload_len(a) == 6) {
				memcpy(n->mac, mnl_attr_get_payload(a), 6);
				n->have_mac = true;
			}
			break;
		case NDA_FLAGS_EXT:
			if (!mnl_attr_validate(a, MNL_TYPE_U32))
				n->ext_flags = mnl_attr_get_u32(a);
			break;
		}
	}
	return 0;
}

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWNEIGH && neigh_parse(nlh, data))
		return MNL_CB_ERROR;
	return MNL_CB_OK;
}

static struct nlmsghdr *neigh_msg(uint8_t *buf, uint16_t type, int ifindex,
				  const struct xlb_ip *ip)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct ndmsg *ndm = nl_req(buf, type, sizeof(*ndm));

	ndm->ndm_family = af_of(ip->family);
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, alen_of(ip->family), ip->a);
	return nlh;
}

/* `ip neigh get IP dev IF`; n->found false when there is no entry. */
static int neigh_get(struct xlb_gw *gw, int ifindex, const struct xlb_ip *ip,
		     struct neigh *n)
{
	uint8_t buf[128] __attribute__((aligned(4)));
	int err;

	memset(n, 0, sizeof(*n));
	err = nl_talk(gw, neigh_msg(buf, RTM_GETNEIGH, ifindex, ip), neigh_cb, n);
	return err == -ENOENT ? 0 : err;
}

/*
 * Make the kernel resolve IP on IF now and keep it resolved: create the
 * entry if needed and mark it managed, like `ip neigh add IP dev IF managed`.
 * With NTF_USE/NTF_MANAGED the kernel keeps the entry's state (it only
 * starts a probe: INCOMPLETE -> broadcast request, STALE -> unicast probe),
 * so a valid MAC is never thrown away. NTF_USE alone is what kernels before
 * 5.16 understand (they ignore NDA_FLAGS_EXT): a one-time probe.
 */
static int neigh_manage(struct xlb_gw *gw, int ifindex, const struct xlb_ip *ip)
{
	uint8_t buf[128] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = neigh_msg(buf, RTM_NEWNEIGH, ifindex, ip);
	struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

	nlh->nlmsg_flags = NLM_F_CREATE;
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = NTF_USE;
	mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);
	return nl_talk(gw, nlh, NULL, NULL);
}

/* Entries that someone else owns: static ones and those a control plane
 * learned (EVPN, ...). Touching them would change their flags or state. */
static bool neigh_foreign(const struct neigh *n)
{
	return n->found &&
	       ((n->state & (NUD_PERMANENT | NUD_NOARP)) ||
		(n->flags & NTF_EXT_LEARNED) ||
		(n->ext_flags & ~NTF_EXT_MANAGED));
}

static enum nclass neigh_class(const struct neigh *n)
{
	if (n->found && (n->state & NUD_VALID) && n->have_mac)
		return NC_OK;
	if (n->found && (n->state & NUD_FAILED))
		return NC_FAILED;
	return NC_PENDING;
}

/* ---- watched next hops ------------------------------------------------------ */

static struct watch *watch_find(struct xlb_gw *gw, int ifindex,
				const struct xlb_ip *ip)
{
	size_t i;

	for (i = 0; i < gw->n_watch; i++)
		if (gw->watch[i].ifindex == ifindex && ip_eq(&gw->watch[i].addr, ip))
			return &gw->watch[i];
	return NULL;
}

/*
 * Record what is now known about a next hop; true if that differs from
 * what was known. A failed next hop stays failed while the kernel probes it
 * again (FAILED -> INCOMPLETE -> FAILED every few seconds for a managed
 * entry): only an answer ends the failure, so the daemon is not woken for
 * each retry.
 */
static bool watch_update(struct watch *w, enum nclass *cls, const uint8_t *mac)
{
	if (w->cls == NC_FAILED && *cls == NC_PENDING)
		*cls = NC_FAILED;
	if (w->cls == *cls && (*cls != NC_OK || !memcmp(w->mac, mac, 6)))
		return false;
	w->cls = *cls;
	memcpy(w->mac, mac, 6);
	return true;
}

static struct watch *watch_add(struct xlb_gw *gw, int ifindex,
			       const struct xlb_ip *ip)
{
	struct watch *w = watch_find(gw, ifindex, ip), *bigger;

	if (w)
		return w;
	if (gw->n_watch == GW_MAX_WATCH) {
		gw->watch_full = true;
		return NULL;
	}
	bigger = realloc(gw->watch, (gw->n_watch + 1) * sizeof(*w));
	if (!bigger) {
		gw->watch_full = true;
		return NULL;
	}
	gw->watch = bigger;
	w = &gw->watch[gw->n_watch++];
	memset(w, 0, sizeof(*w));
	w->ifindex = ifindex;
	w->addr = *ip;
	w->cls = NC_PENDING;
	return w;
}

/* ---- resolve ------------------------------------------------------------------ */

/* NO_ROUTE, with why: "no route to DST" or "no route to DST: REASON". */
static void __attribute__((format(printf, 3, 4)))
no_route(struct xlb_gw_result *out, const char *dst, const char *fmt, ...)
{
	char reason[96] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
	}
	out->state = XLB_GW_NO_ROUTE;
	say(out, "no route to %s%s%s", dst, *reason ? ": " : "", reason);
}

/* Errors of a route lookup that mean "no usable route"; NULL for others. */
static const char *route_error_reason(int err)
{
	switch (err) {
	case -ENETUNREACH:
	case -EAGAIN:		/* throw route, nothing in later tables */
		return "";
	case -EHOSTUNREACH:	return "an unreachable route covers it";
	case -EACCES:		return "a prohibit route covers it";
	case -EINVAL:		return "a blackhole route covers it";
	}
	return NULL;
}

/* Route types that cannot lead to a backend; NULL for unicast. */
static const char *route_type_reason(uint8_t type)
{
	switch (type) {
	case RTN_UNICAST:	return NULL;
	case RTN_LOCAL:		return "it is an address of this host";
	case RTN_ANYCAST:	return "it is an anycast address of this host";
	case RTN_BROADCAST:	return "it is a broadcast address";
	case RTN_MULTICAST:	return "it is a multicast address";
	case RTN_BLACKHOLE:	return "a blackhole route covers it";
	case RTN_UNREACHABLE:	return "an unreachable route covers it";
	case RTN_PROHIBIT:	return "a prohibit route covers it";
	}
	return "the route is not a unicast route";
}

/* The route part: out->ifindex, ifname, via, onlink, n_paths. Returns 1
 * for a usable path, 0 for NO_ROUTE, or a negative errno. */
static int resolve_route(struct xlb_gw *gw, const struct xlb_ip *dst,
			 const char *dst_s, struct xlb_gw_result *out)
{
	const char *reason;
	struct route r;
	struct link l;
	int err;

	err = route_get(gw, dst, &r);
	if (err) {
		reason = route_error_reason(err);
		if (!reason) {
			say(out, "route lookup for %s failed: %s%s%s", dst_s,
			    strerror(-err), gw->ext_msg[0] ? ": " : "",
			    gw->ext_msg);
			return err;
		}
		no_route(out, dst_s, "%s", reason);
		return 0;
	}
	if (r.type == RTN_UNICAST && !r.n_paths && r.nh_id) {
		err = route_from_nexthop(gw, &r);
		if (err) {
			say(out, "%s: reading nexthop object %u failed: %s",
			    dst_s, r.nh_id, strerror(-err));
			return err;
		}
	}
	reason = route_type_reason(r.type);
	if (reason) {
		no_route(out, dst_s, "%s", reason);
		return 0;
	}
	out->n_paths = r.n_paths;
	if (!r.n_paths) {
		no_route(out, dst_s, "the route has no nexthop");
		return 0;
	}
	if (!r.have_usable) {
		no_route(out, dst_s, "%s of the route %s down",
			 r.n_paths > 1 ? "all nexthops" : "the nexthop",
			 r.n_paths > 1 ? "are" : "is");
		return 0;
	}

	out->ifindex = r.usable.oif;
	err = link_get(gw, out->ifindex, &l);
	if (err) {
		say(out, "%s: route via ifindex %d, which cannot be read: %s",
		    dst_s, out->ifindex, strerror(-err));
		return err;
	}
	snprintf(out->ifname, sizeof(out->ifname), "%s", l.name);
	if (l.type != ARPHRD_ETHER) {
		no_route(out, dst_s, "it leaves via %s, which has no MAC "
			 "addresses (not Ethernet)", l.name);
		return 0;
	}
	if (!(l.flags & IFF_UP)) {
		no_route(out, dst_s, "it leaves via %s, which is down", l.name);
		return 0;
	}
	out->onlink = !r.usable.gw.family;
	out->via = out->onlink ? *dst : r.usable.gw;
	return 1;
}

int xlb_gw_resolve(struct xlb_gw *gw, const struct xlb_ip *dst,
		   struct xlb_gw_result *out)
{
	char dst_s[INET6_ADDRSTRLEN], via_s[INET6_ADDRSTRLEN], mac[18];
	char hop[2 * INET6_ADDRSTRLEN + IF_NAMESIZE + 16], note[64] = "";
	const char *proto;
	enum nclass cls;
	struct watch *w;
	struct neigh n;
	int err, merr = 0;

	memset(out, 0, sizeof(*out));
	out->state = XLB_GW_NO_ROUTE;
	if (!dst || (dst->family != XLB_FAMILY_V4 && dst->family != XLB_FAMILY_V6)) {
		say(out, "not an IPv4 or IPv6 address");
		return -EINVAL;
	}
	ip_s(dst, dst_s, sizeof(dst_s));

	err = resolve_route(gw, dst, dst_s, out);
	if (err <= 0)
		return err;

	ip_s(&out->via, via_s, sizeof(via_s));
	if (out->onlink)
		snprintf(hop, sizeof(hop), "%s on-link dev %s", dst_s, out->ifname);
	else
		snprintf(hop, sizeof(hop), "%s via %s dev %s", dst_s, via_s,
			 out->ifname);
	if (out->n_paths > 1)
		snprintf(note, sizeof(note), "; multipath, first usable of %u "
			 "nexthops", out->n_paths);
	proto = out->via.family == XLB_FAMILY_V4 ? "ARP" : "neighbour discovery";

	err = neigh_get(gw, out->ifindex, &out->via, &n);
	if (err) {
		say(out, "%s: reading the neighbour entry failed: %s", hop,
		    strerror(-err));
		return err;
	}
	cls = neigh_class(&n);
	/* Resolve now if the MAC is missing, refresh and keep fresh if nobody
	 * does. A managed entry is kept fresh already (an INCOMPLETE one is
	 * being resolved), but a FAILED one is asked again at once. */
	if (!neigh_foreign(&n) &&
	    (!(n.ext_flags & NTF_EXT_MANAGED) || cls == NC_FAILED))
		merr = neigh_manage(gw, out->ifindex, &out->via);

	w = watch_add(gw, out->ifindex, &out->via);
	if (w)
		watch_update(w, &cls, n.mac);
	if (cls == NC_OK) {
		out->state = XLB_GW_OK;
		out->mac_known = true;
		memcpy(out->mac, n.mac, 6);
		say(out, "%s: %s (%s)%s", hop, mac_s(n.mac, mac, sizeof(mac)),
		    nud_s(n.state), note);
	} else if (neigh_foreign(&n)) {
		out->state = XLB_GW_NEIGH_FAILED;
		say(out, "%s: MAC unknown, and the neighbour entry (%s) is not "
		    "ours to refresh", hop, nud_s(n.state));
	} else if (merr) {
		out->state = XLB_GW_NEIGH_FAILED;
		say(out, "%s: MAC unknown, and %s could not be started: %s%s%s",
		    hop, proto, strerror(-merr), gw->ext_msg[0] ? ": " : "",
		    gw->ext_msg);
	} else if (cls == NC_FAILED) {
		out->state = XLB_GW_NEIGH_FAILED;
		say(out, "%s: %s does not answer %s, the kernel keeps asking%s",
		    hop, via_s, proto, note);
	} else {
		out->state = XLB_GW_NO_NEIGH;
		say(out, "%s: MAC unknown, %s started%s", hop, proto, note);
	}
	return 0;
}

/* ---- events --------------------------------------------------------------- */

static bool neigh_event(struct xlb_gw *gw, const struct nlmsghdr *nlh)
{
	static const uint8_t zero[6];
	enum nclass cls;
	struct watch *w;
	struct neigh n;

	if (neigh_parse(nlh, &n) || (n.flags & NTF_PROXY) || !n.dst.family)
		return false;
	w = watch_find(gw, n.ifindex, &n.dst);
	if (!w)
		return gw->watch_full;
	cls = nlh->nlmsg_type == RTM_DELNEIGH ? NC_PENDING : neigh_class(&n);
	return watch_update(w, &cls, cls == NC_OK ? n.mac : zero);
}

struct event_ctx {
	struct xlb_gw	*gw;
	bool		*changed;
};

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct event_ctx *ctx = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		if (neigh_event(ctx->gw, nlh))
			*ctx->changed = true;
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
	case RTM_NEWLINK:
	case RTM_DELLINK:
	case RTM_NEWNEXTHOP:
	case RTM_DELNEXTHOP:
		*ctx->changed = true;
		break;
	}
	return MNL_CB_OK;
}

int xlb_gw_process_events(struct xlb_gw *gw, bool *changed)
{
	struct event_ctx ctx = { gw, changed };
	ssize_t n;

	*changed = false;
	for (;;) {
		n = mnl_socket_recvfrom(gw->ev, gw->buf, GW_BUF_SIZE);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				*changed = true;	/* lost some: assume anything */
				continue;
			}
			return -errno;
		}
		if (mnl_cb_run(gw->buf, n, 0, 0, event_cb, &ctx) == MNL_CB_ERROR)
			*changed = true;	/* unreadable: assume anything */
	}
}

/* ---- open / close -------------------------------------------------------- */

int xlb_gw_fd(const struct xlb_gw *gw)
{
	return mnl_socket_get_fd(gw->ev);
}

static int open_requests(struct xlb_gw *gw)
{
	struct timeval tv = { .tv_sec = 2 };
	int one = 1;

	gw->rq = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!gw->rq || mnl_socket_bind(gw->rq, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	/* error texts from the kernel, without an echo of the request */
	mnl_socket_setsockopt(gw->rq, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(gw->rq, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(gw->rq), SOL_SOCKET, SO_RCVTIMEO,
		       &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static int open_events(struct xlb_gw *gw)
{
	static const unsigned int groups[] = {
		RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_ROUTE,
		RTNLGRP_IPV6_ROUTE, RTNLGRP_NEXTHOP,
	};
	int fd, size = GW_EV_RCVBUF;
	size_t i;

	gw->ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!gw->ev || mnl_socket_bind(gw->ev, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	fd = mnl_socket_get_fd(gw->ev);
	/* root may exceed rmem_max; others get what they get */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (mnl_socket_setsockopt(gw->ev, NETLINK_ADD_MEMBERSHIP,
					  (void *)&groups[i], sizeof(groups[i])) < 0 &&
		    groups[i] != RTNLGRP_NEXTHOP)	/* before 5.3 */
			return -errno;
	}
	return 0;
}

struct xlb_gw *xlb_gw_open(void)
{
	struct xlb_gw *gw = calloc(1, sizeof(*gw));
	int err = -ENOMEM;

	if (!gw)
		return NULL;
	gw->buf = malloc(GW_BUF_SIZE);
	if (gw->buf)
		err = open_requests(gw);
	if (!err)
		err = open_events(gw);
	if (err) {
		xlb_gw_close(gw);
		errno = -err;
		return NULL;
	}
	return gw;
}

void xlb_gw_close(struct xlb_gw *gw)
{
	if (!gw)
		return;
	if (gw->rq)
		mnl_socket_close(gw->rq);
	if (gw->ev)
		mnl_socket_close(gw->ev);
	free(gw->watch);
	free(gw->buf);
	free(gw);
}
