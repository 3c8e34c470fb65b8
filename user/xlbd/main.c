// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlbd: the xlb control plane. Owns the desired state, is the only writer of
 * the data plane's maps, answers xlbctl, serves metrics.
 *
 *   xlbd [-c /etc/xlb/xlb.conf] [-f] [-v] [--check]
 *
 * Stopping xlbd (even kill -9) leaves the XDP program attached and its maps
 * pinned: traffic goes on. Starting it again adopts them.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "gateway.h"
#include "xlbd.h"

#define MAX_WATCH	96
#define TICK_MS		1000

/* ---- the loop ------------------------------------------------------------- */

static struct pollfd pfds[MAX_WATCH];
static xlbd_fd_fn fns[MAX_WATCH];
static size_t n_watch;

int xlbd_watch(int fd, short events, xlbd_fd_fn fn)
{
	if (n_watch == MAX_WATCH)
		return -ENOSPC;
	pfds[n_watch] = (struct pollfd){ .fd = fd, .events = events };
	fns[n_watch++] = fn;
	return 0;
}

void xlbd_watch_events(int fd, short events)
{
	for (size_t i = 0; i < n_watch; i++)
		if (pfds[i].fd == fd)
			pfds[i].events = events;
}

void xlbd_unwatch(int fd)
{
	for (size_t i = 0; i < n_watch; i++)
		if (pfds[i].fd == fd) {
			pfds[i] = pfds[--n_watch];
			fns[i] = fns[n_watch];
			return;
		}
}

uint64_t xlbd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the next hop ----------------------------------------------------------- */

static bool attached_here(const struct xlbd *d, const char *ifname)
{
	for (size_t i = 0; i < d->n_attached; i++)
		if (!strcmp(d->attached[i].ifname, ifname))
			return true;
	return false;
}

/* The XDP program sends everything to one MAC: the next hop toward the
 * backends. Ask the kernel (route, then neighbour) for each backend; they
 * should agree. */
static void resolve_gateway(struct xlbd *d)
{
	struct xlb_gw_result first = {}, res;
	const struct xlb_ip *first_ip = NULL;
	char a[64], b[64], msg[sizeof(d->gw_desc)];
	bool known = false;

	if (!d->conf.dataplane.gateway_auto || !d->gw)
		return;
	msg[0] = 0;
	for (size_t i = 0; i < d->conf.n_vips; i++) {
		for (size_t j = 0; j < d->conf.vips[i].n_backends; j++) {
			const struct xlb_ip *ip = &d->conf.vips[i].backends[j].addr;

			if (xlb_gw_resolve(d->gw, ip, &res))
				continue;
			if (res.state != XLB_GW_OK) {
				snprintf(msg, sizeof(msg), "backend %s: %s", xlb_ip_str(ip, a,
					 sizeof(a)), res.why);
				continue;
			}
			if (!first_ip) {
				first = res;
				first_ip = ip;
				known = true;
			} else if (memcmp(res.mac, first.mac, 6)) {
				log_warn("backends %s and %s are reached through different next hops "
					 "(%s, %s); xlb sends every backend's packets to the first: "
					 "route them through one router", xlb_ip_str(first_ip, a,
					 sizeof(a)), xlb_ip_str(ip, b, sizeof(b)), first.why, res.why);
			}
		}
	}
	if (!known) {
		if (d->gw_known || strcmp(d->gw_desc, msg))
			log_warn("gateway: cannot resolve the next hop toward the backends%s%s; VIP "
				 "traffic is dropped until it is known (check 'ip route get BACKEND' "
				 "and 'ip neigh' on this host, or set dataplane.gateway to a MAC)",
				 msg[0] ? ": " : "", msg);
		snprintf(d->gw_desc, sizeof(d->gw_desc), "%s", msg[0] ? msg : "no backends");
		if (d->gw_known) {
			d->gw_known = false;
			d->gw_lost = true;
			xlbd_sync_config_map(d);
		}
		return;
	}
	if (!attached_here(d, first.ifname))
		log_warn("gateway: backends are routed through %s, but XDP runs on other "
			 "interfaces: encapsulated packets leave where they came in", first.ifname);
	snprintf(d->gw_desc, sizeof(d->gw_desc), "%s", first.why);
	if (d->gw_known && !memcmp(d->gw_mac, first.mac, 6))
		return;
	memcpy(d->gw_mac, first.mac, 6);
	d->gw_known = true;
	log_notice("gateway: %02x:%02x:%02x:%02x:%02x:%02x (%s)", first.mac[0], first.mac[1],
		   first.mac[2], first.mac[3], first.mac[4], first.mac[5], first.why);
	xlbd_sync_config_map(d);
}

static int gw_event(struct xlbd *d, int fd, short revents)
{
	bool changed = false;

	(void)fd;
	(void)revents;
	xlb_gw_process_events(d->gw, &changed);
	if (changed)
		resolve_gateway(d);
	return 0;
}

/* ---- timers and signals -------------------------------------------------------- */

static int tick_event(struct xlbd *d, int fd, short revents)
{
	static unsigned int ticks;
	uint64_t n;

	(void)revents;
	if (read(fd, &n, sizeof(n)) < 0)
		return 0;
	/* unresolved next hop: keep asking; resolved: a slow safety net */
	if (!d->gw_known || ++ticks % 30 == 0)
		resolve_gateway(d);
	xlbd_ctl_tick(d);
	return 0;
}

static int signal_event(struct xlbd *d, int fd, short revents)
{
	struct signalfd_siginfo si;

	(void)revents;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP) {
		log_notice("SIGHUP: to apply %s, run 'xlbctl syncconf %s'", d->conf_path,
			   d->conf_path);
		return 0;
	}
	log_notice("signal %d: stopping; the XDP program stays attached and traffic flows "
		   "on", si.ssi_signo);
	d->stop = 1;
	return 0;
}

static int open_timers_and_signals(void)
{
	struct itimerspec it = { .it_interval = { .tv_sec = TICK_MS / 1000 },
				 .it_value = { .tv_sec = TICK_MS / 1000 } };
	sigset_t set;
	int tfd, sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &it, NULL))
		return -errno;
	if (xlbd_watch(sfd, POLLIN, signal_event) || xlbd_watch(tfd, POLLIN, tick_event))
		return -ENOSPC;
	return 0;
}

/* ---- configuration at start ---------------------------------------------------- */

static int read_config(struct xlbd *d)
{
	struct xlb_conf_error err = {};
	struct xlb_conf state;
	struct stat st;
	char *a, *b;

	xlb_conf_init(&d->conf);
	char msg[600];

	if (xlb_conf_parse_file(d->conf_path, XLB_CONF_FULL, &d->conf, &err)) {
		fprintf(stderr, "xlbd: %s\n", xlb_conf_error_str(&err, msg, sizeof(msg)));
		return -EINVAL;
	}
	if (stat(d->conf.daemon.state_file, &st))
		return 0;		/* first start: the config file is the state */

	xlb_conf_init(&state);
	state.daemon = d->conf.daemon;
	if (xlb_conf_parse_file(d->conf.daemon.state_file, XLB_CONF_RUNTIME, &state, &err)) {
		fprintf(stderr, "xlbd: the saved state is unreadable: %s\nxlbd: refusing to start "
			"rather than lose the changes it holds; move it away to start from %s "
			"alone\n", xlb_conf_error_str(&err, msg, sizeof(msg)), d->conf_path);
		xlb_conf_free(&state);
		return -EINVAL;
	}
	a = xlb_conf_format(&d->conf, XLB_CONF_RUNTIME, 0);
	b = xlb_conf_format(&state, XLB_CONF_RUNTIME, 0);
	if (a && b && strcmp(a, b))
		fprintf(stderr, "xlbd: restoring the saved state %s, which differs from %s (changes "
			"made with xlbctl); to apply the file, run 'xlbctl syncconf %s'\n",
			d->conf.daemon.state_file, d->conf_path, d->conf_path);
	free(a);
	free(b);
	state.daemon = d->conf.daemon;
	xlb_conf_free(&d->conf);
	d->conf = state;
	return 0;
}

static void warn_to_log(void *arg, const char *key, const char *msg)
{
	(void)arg;
	log_warn("%s: %s", key, msg);
}

static void warn_to_stderr(void *arg, const char *key, const char *msg)
{
	fprintf(stderr, "%s: warning: %s: %s\n", (const char *)arg, key, msg);
}

/* Advice that does not refuse a configuration (docs/config.md). */
void xlbd_conf_warnings(struct xlbd *d)
{
	xlb_conf_warnings(&d->conf, XLB_CONF_FULL, warn_to_log, NULL);
}

/* After read_config: interfaces changed with xlbctl attach/detach win. */
static void restore_interfaces(struct xlbd *d)
{
	if (xlbd_interfaces_restore(d) > 0)
		log_info("attaching to the interfaces saved by xlbctl attach/detach (%zu), not "
			 "daemon.interfaces", d->conf.daemon.n_interfaces);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xlbd [-c FILE] [-f] [-v] [--check]\n"
		"  -c, --config FILE   configuration (docs/config.md; default /etc/xlb/xlb.conf)\n"
		"  -f, --foreground    stay in the foreground (for systemd); logs on stderr\n"
		"  -v, --verbose       log at debug level\n"
		"      --check         check the configuration and exit\n"
		"  -h, --help          this text\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static struct xlbd d = { .lock = PTHREAD_MUTEX_INITIALIZER };
	bool foreground = false, verbose = false, check = false;
	char err[256];
	int c, ret;

	snprintf(d.conf_path, sizeof(d.conf_path), "/etc/xlb/xlb.conf");
	while ((c = getopt_long(argc, argv, "c:fvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(d.conf_path, sizeof(d.conf_path), "%s", optarg);
			break;
		case 'f':
			foreground = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'C':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (read_config(&d))
		return 1;
	if (check) {
		xlb_conf_warnings(&d.conf, XLB_CONF_FULL, warn_to_stderr, d.conf_path);
		printf("%s: configuration OK\n", d.conf_path);
		return 0;
	}
	if (!foreground && daemon(0, 0)) {
		perror("xlbd: daemon");
		return 1;
	}
	xlbd_log_init(verbose ? LOG_DEBUG : d.conf.daemon.log_level, !foreground);
	d.started_ms = xlbd_now_ms();
	log_info("xlbd %s starting with %s", XLB_VERSION, d.conf_path);
	xlbd_conf_warnings(&d);

	/* before anything touches the data plane: one xlbd at a time */
	if (xlbd_claim(&d))
		return 1;
	restore_interfaces(&d);
	if (open_timers_and_signals())
		return 1;
	ret = xlbd_dataplane_open(&d);
	if (ret) {
		log_err("no data plane: %s", strerror(-ret));
		return 1;
	}
	d.gw = xlb_gw_open();
	if (!d.gw)
		log_err("gateway: cannot open netlink: %s; set dataplane.gateway to a MAC",
			strerror(errno));
	else if (xlbd_watch(xlb_gw_fd(d.gw), POLLIN, gw_event))
		return 1;
	resolve_gateway(&d);
	if (xlbd_health_open(&d))
		return 1;
	ret = xlbd_sync(&d);
	if (ret)
		log_err("the data plane does not fully match the configuration yet: %s",
			strerror(-ret));
	xlbd_state_save(&d);
	if (xlbd_ctl_open(&d))
		return 1;
	if (d.conf.daemon.metrics[0]) {
		d.metrics = xlbd_metrics_start(&d, d.conf.daemon.metrics, err, sizeof(err));
		if (!d.metrics)
			log_err("metrics: %s", err);
	}
	log_notice("xlbd ready: %zu VIPs on %zu interfaces, control socket %s",
		   d.conf.n_vips, d.n_attached, d.conf.daemon.socket);

	while (!d.stop) {
		ret = poll(pfds, n_watch, -1);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&d.lock);
		/* callbacks may add or remove watches: walk a snapshot */
		{
			struct pollfd snap[MAX_WATCH];
			xlbd_fd_fn snapfn[MAX_WATCH];
			size_t n = n_watch;

			memcpy(snap, pfds, n * sizeof(snap[0]));
			memcpy(snapfn, fns, n * sizeof(snapfn[0]));
			for (size_t i = 0; i < n && !d.stop; i++)
				if (snap[i].revents)
					snapfn[i](&d, snap[i].fd, snap[i].revents);
		}
		pthread_mutex_unlock(&d.lock);
	}

	xlbd_metrics_stop(d.metrics);
	xlbd_ctl_close();
	xlbd_health_close(&d);
	xlb_gw_close(d.gw);
	xlbd_dataplane_close(&d);
	xlb_maglev_release(&d.mg);
	log_info("stopped");
	return 0;
}
