// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * health.c: backends' health from the probe engine (user/lib/probe.h).
 *
 * Each (VIP, backend) is one target, keyed by its backend id, probed with
 * its effective settings (the VIP's probe, the backend's own keys over it)
 * on the VIP's port unless the probe names another. Health changes found
 * in one round of the engine's work are applied to the maps in one sync.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "probe.h"
#include "xlbd.h"

static uint64_t probed[XLB_MAX_BACKENDS / 64];	/* ids that are targets */
static bool dirty;

static struct rt_backend *by_id(struct xlbd *d, uint32_t id, struct rt_vip **rvp)
{
	for (size_t i = 0; i < d->n_vips; i++)
		for (size_t j = 0; j < d->vips[i].n_bes; j++)
			if (d->vips[i].bes[j].id == id) {
				*rvp = &d->vips[i];
				return &d->vips[i].bes[j];
			}
	return NULL;
}

static void on_change(void *arg, uint64_t key, enum xlb_probe_health h,
		      const struct xlb_probe_status *st)
{
	struct xlbd *d = arg;
	struct rt_vip *rv;
	struct rt_backend *rb = by_id(d, (uint32_t)key, &rv);
	char name[80], addr[64];
	enum xlbd_health was;

	if (!rb)
		return;
	was = rb->health;
	rb->health = h == XLB_HEALTH_UP ? XLBD_HEALTH_UP :
		     h == XLB_HEALTH_DOWN ? XLBD_HEALTH_DOWN : XLBD_HEALTH_UNKNOWN;
	if (h == XLB_HEALTH_DOWN)
		log_warn("backend %s of %s: DOWN after %u failed probes: %s (%s)",
			 xlb_ip_str(&rb->addr, addr, sizeof(addr)),
			 xlb_service_str(&rv->svc, name, sizeof(name)), st->failures,
			 xlb_probe_result_name(st->last), st->error);
	else if (was == XLBD_HEALTH_UNKNOWN)	/* adopted at a restart, or setconf */
		log_info("backend %s of %s: its probes confirm it is up",
			 xlb_ip_str(&rb->addr, addr, sizeof(addr)),
			 xlb_service_str(&rv->svc, name, sizeof(name)));
	else
		log_notice("backend %s of %s: %s after %u good probes",
			   xlb_ip_str(&rb->addr, addr, sizeof(addr)),
			   xlb_service_str(&rv->svc, name, sizeof(name)),
			   xlb_probe_health_name(h), st->successes);
	dirty = true;
}

static int prober_event(struct xlbd *d, int fd, short revents)
{
	(void)fd;
	(void)revents;
	dirty = false;
	xlb_prober_run(d->prober);
	if (dirty)
		xlbd_sync(d);
	return 0;
}

int xlbd_health_open(struct xlbd *d)
{
	d->prober = xlb_prober_new(on_change, d);
	if (!d->prober) {
		log_err("starting the health probes: %s", strerror(errno));
		return -errno;
	}
	return xlbd_watch(xlb_prober_fd(d->prober), POLLIN, prober_event);
}

void xlbd_health_close(struct xlbd *d)
{
	xlb_prober_free(d->prober);
	d->prober = NULL;
}

static enum xlb_probe_health to_probe_health(enum xlbd_health h)
{
	return h == XLBD_HEALTH_UP ? XLB_HEALTH_UP :
	       h == XLBD_HEALTH_DOWN ? XLB_HEALTH_DOWN : XLB_HEALTH_UNKNOWN;
}

/* Make the targets match the desired state: one per backend with a probe. */
void xlbd_health_sync(struct xlbd *d)
{
	uint64_t want[XLB_MAX_BACKENDS / 64] = {};
	char name[80], addr[64];

	if (!d->prober)
		return;
	for (size_t i = 0; i < d->conf.n_vips; i++) {
		const struct xlb_vip_cfg *vc = &d->conf.vips[i];
		struct rt_vip *rv = xlbd_rt_vip(d, &vc->svc);

		for (size_t j = 0; rv && j < vc->n_backends; j++) {
			const struct xlb_backend_cfg *b = &vc->backends[j];
			struct rt_backend *rb = xlbd_rt_backend(rv, &b->addr);
			struct xlb_probe_cfg pc;
			int err;

			if (!rb)
				continue;
			xlb_probe_effective(vc, b, &pc);
			if (pc.type == XLB_PROBE_NONE || b->disabled)
				continue;
			err = xlb_prober_set(d->prober, rb->id, &b->addr, vc->svc.port, &pc,
					     to_probe_health(rb->health));
			if (err) {
				log_err("backend %s of %s: cannot probe it: %s",
					xlb_ip_str(&b->addr, addr, sizeof(addr)),
					xlb_service_str(&vc->svc, name, sizeof(name)),
					strerror(-err));
				continue;
			}
			want[rb->id / 64] |= 1ull << (rb->id % 64);
		}
	}
	for (uint32_t w = 0; w < XLB_MAX_BACKENDS / 64; w++) {
		uint64_t gone = probed[w] & ~want[w];

		for (uint32_t bit = 0; gone; bit++, gone >>= 1)
			if (gone & 1)
				xlb_prober_del(d->prober, w * 64 + bit);
		probed[w] = want[w];
	}
}

void xlbd_health_forget_unprobed(struct xlbd *d)
{
	for (size_t i = 0; i < d->conf.n_vips; i++) {
		const struct xlb_vip_cfg *vc = &d->conf.vips[i];
		struct rt_vip *rv = xlbd_rt_vip(d, &vc->svc);

		for (size_t j = 0; rv && j < vc->n_backends; j++) {
			struct rt_backend *rb = xlbd_rt_backend(rv, &vc->backends[j].addr);
			struct xlb_probe_cfg pc;

			xlb_probe_effective(vc, &vc->backends[j], &pc);
			if (rb && rb->health == XLBD_HEALTH_DOWN && pc.type == XLB_PROBE_NONE)
				rb->health = XLBD_HEALTH_UNKNOWN;
		}
	}
}

/* The probe's view of a backend, for show and metrics; NULL if none. */
const struct xlb_probe_status *xlbd_health_status(struct xlbd *d, uint32_t id)
{
	if (!d->prober || !(probed[id / 64] & (1ull << (id % 64))))
		return NULL;
	return xlb_prober_status(d->prober, id);
}
