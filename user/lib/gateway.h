/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gateway.h: finds the next hop (interface, gateway address, MAC) toward a
 * backend the way the kernel would, so xlbd can fill xlb_config.gw_mac and
 * keep it right as routes, neighbours and links change.
 *
 * A resolve is `ip route get fibmatch DST` followed by `ip neigh get VIA dev
 * IF`, over the resolver's own rtnetlink socket. When the MAC is not known
 * (no entry, INCOMPLETE, FAILED), or the entry is valid but nobody keeps it
 * fresh, the resolver marks the entry "managed" (NTF_EXT_MANAGED, kernel
 * 5.16+, plus NTF_USE for older kernels): the kernel then sends the ARP
 * request / neighbour solicitation itself, and keeps re-confirming the entry
 * for as long as it exists, exactly as `ip neigh add VIA dev IF managed`.
 * That matters because XDP_TX traffic bypasses the neighbour subsystem: an
 * entry nobody uses goes STALE and is never probed again, so a gateway that
 * silently changes would go unnoticed. Nothing but ARP/NDP is ever sent.
 * Entries someone else owns (permanent, NOARP, learned by a control plane)
 * are used as they are and left alone. An admin's `ip neigh replace` drops
 * the managed flag; the next resolve sets it again. Managed entries outlive
 * the resolver (harmless: one unicast probe per reachable time each; `ip
 * neigh del` removes one).
 *
 * Usage in an event loop:
 *	gw = xlb_gw_open();
 *	poll xlb_gw_fd(gw) for POLLIN;
 *	on POLLIN: xlb_gw_process_events(gw, &changed);
 *		   if changed, call xlb_gw_resolve() again for every backend.
 * A resolve that answers XLB_GW_NO_NEIGH is answered again (OK or FAILED)
 * through an event, not by polling.
 *
 * Everything works in the network namespace the resolver was opened in. A
 * resolver is not thread-safe; use one per thread.
 */
#ifndef XLB_GATEWAY_H
#define XLB_GATEWAY_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"

enum xlb_gw_state {
	XLB_GW_OK,		/* mac is the next hop's MAC */
	XLB_GW_NO_ROUTE,	/* no usable route: none, blackhole, unreachable,
				 * prohibit, a local address, a device without
				 * MAC addresses, a device that is down */
	XLB_GW_NO_NEIGH,	/* route known, MAC not yet: resolution started,
				 * an event follows when it ends */
	XLB_GW_NEIGH_FAILED,	/* the next hop does not answer ARP/NDP. The
				 * kernel asks again on its own (a managed entry,
				 * every interval_probe_time_ms: 5 s by default)
				 * and an answer shows up as an event; resolving
				 * again asks at once */
};

struct xlb_gw_result {
	enum xlb_gw_state state;
	int		ifindex;		/* route's interface; 0 if NO_ROUTE
						 * before one was known */
	char		ifname[IF_NAMESIZE];
	struct xlb_ip	via;			/* gateway, or the destination
						 * itself when on-link; may be
						 * IPv6 for an IPv4 destination
						 * (RFC 5549 'via inet6');
						 * fe80:: is scoped by ifindex */
	bool		onlink;			/* via is the destination */
	uint8_t		mac[6];
	bool		mac_known;		/* == (state == XLB_GW_OK) */
	unsigned int	n_paths;		/* nexthops in the route, down
						 * ones included; > 1: multipath,
						 * via is the first usable one */
	char		why[160];		/* one sentence for the log */
};

/* A resolver with its own netlink sockets, subscribed to route (IPv4, IPv6,
 * nexthop objects), neighbour and link notifications. NULL with errno set on
 * failure. */
struct xlb_gw *xlb_gw_open(void);
void xlb_gw_close(struct xlb_gw *gw);

/* Non-blocking fd: POLLIN when notifications are waiting. */
int xlb_gw_fd(const struct xlb_gw *gw);

/*
 * Next hop toward DST. Returns 0 with the answer in *out (any state, with
 * out->why saying what was found), or a negative errno when the kernel could
 * not be asked (out->why says so too). May ask the kernel to resolve the
 * next hop's MAC (see above); never blocks on the answer.
 */
int xlb_gw_resolve(struct xlb_gw *gw, const struct xlb_ip *dst,
		   struct xlb_gw_result *out);

/*
 * Drain pending notifications. *changed is set when one may change an earlier
 * answer: any route, nexthop or link change, a lost notification (socket
 * overrun), or a neighbour change that alters the MAC or the state (OK,
 * pending, failed) of a next hop this resolver has answered about. Changes
 * that keep the MAC (REACHABLE -> STALE -> PROBE) do not count, nor does a
 * failed next hop being probed again: only its answer does. Beyond 4096
 * next hops, every neighbour change counts. Returns 0 or a negative errno.
 */
int xlb_gw_process_events(struct xlb_gw *gw, bool *changed);

/* "ok", "no-route", "no-neigh", "neigh-failed". */
const char *xlb_gw_state_str(enum xlb_gw_state s);

#endif
