/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * config.h: the desired state (model.h) as text, in libconfig syntax
 * (docs/config.md): parse and validate, format back, write a file
 * atomically, compare two states for `syncconf`.
 *
 * Two kinds of document share the syntax:
 *   XLB_CONF_FULL     the config file (xlbd -c): daemon (required),
 *                     dataplane, vips
 *   XLB_CONF_RUNTIME  the state file, `xlbctl showconf`/`setconf`/`syncconf`:
 *                     dataplane and vips only; a daemon section is an error
 */
#ifndef XLB_CONFIG_H
#define XLB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

enum xlb_conf_part {
	XLB_CONF_FULL,
	XLB_CONF_RUNTIME,
};

/* Where and what. Empty file, line 0 or empty key when not applicable; msg
 * says what is wrong and how to fix it. */
struct xlb_conf_error {
	char	file[256];
	int	line;
	char	key[128];	/* e.g. "vips[0].backends[2].weight" */
	char	msg[384];
};

/* "xlb.conf:23: vips[0].backends[2].weight: 0 is out of range (1..1000);
 * give a weight from 1 to 1000, or drain the backend". Returns BUF. */
const char *xlb_conf_error_str(const struct xlb_conf_error *e, char *buf, size_t len);

/*
 * Parse TEXT (NAME is the file name used in messages; NULL: "(config)").
 * On success *OUT is freed (it must hold a valid conf, e.g. from
 * xlb_conf_init()) and replaced by the complete, validated result with the
 * defaults applied. On failure returns -EINVAL (-ENOMEM), fills *ERR and
 * leaves *OUT untouched.
 *
 * @include is refused: a document is one file. Integers beyond 32 bits need
 * no 'L' suffix (libconfig 1.5 would silently truncate them).
 */
int xlb_conf_parse_string(const char *text, const char *name, enum xlb_conf_part part,
			  struct xlb_conf *out, struct xlb_conf_error *err);
/* The same for a file; -errno (e.g. -ENOENT) when it cannot be read. */
int xlb_conf_parse_file(const char *path, enum xlb_conf_part part,
			struct xlb_conf *out, struct xlb_conf_error *err);

/* Every rule of docs/config.md on a conf built in code (e.g. the running
 * state after an xlbctl change): 0 or -EINVAL with *ERR (no file or line).
 * Parsing applies the same rules. */
int xlb_conf_validate(const struct xlb_conf *c, enum xlb_conf_part part,
		      struct xlb_conf_error *err);

/* Advice that does not stop a conf (e.g. a ring smaller than 100 slots per
 * backend, generic XDP). Calls WARN for each; returns how many. */
int xlb_conf_warnings(const struct xlb_conf *c, enum xlb_conf_part part,
		      void (*warn)(void *arg, const char *key, const char *msg), void *arg);

enum xlb_conf_format_flags {
	/* also print keys that are at their default (a backend's probe still
	 * prints only the keys it gives itself) */
	XLB_CONF_FMT_DEFAULTS	= 1u << 0,
};

/* C as text (malloc'd; NULL on ENOMEM) that parses back to an equal conf:
 * sections daemon (FULL only), dataplane, vips in that order, keys in the
 * order of docs/config.md, one backend per line. Without flags only what
 * differs from the defaults is printed, like `wg showconf`. */
char *xlb_conf_format(const struct xlb_conf *c, enum xlb_conf_part part, unsigned flags);

/* Replace PATH with TEXT: a temporary file in the same directory, written,
 * fsync'd, mode 0600, renamed over PATH, directory fsync'd. 0 or -errno.
 * On failure no temporary file is left and PATH is as it was, except when
 * only the final fsync of the directory fails (PATH is new, maybe not yet
 * durable). */
int xlb_conf_write_file_atomic(const char *path, const char *text);

/* ---- comparing two states (syncconf) --------------------------------------- */

enum xlb_change_kind {
	XLB_CHG_DAEMON,		/* daemon section differs (FULL only) */
	XLB_CHG_DATAPLANE,	/* some dataplane key differs */
	XLB_CHG_VIP_DEL,	/* old_vip only */
	XLB_CHG_VIP_ADD,	/* new_vip only; its backends come with it */
	XLB_CHG_VIP_SET,	/* VIP-level keys differ (what) */
	XLB_CHG_BACKEND_DEL,	/* old_be only, in a VIP present in both */
	XLB_CHG_BACKEND_ADD,	/* new_be only */
	XLB_CHG_BACKEND_SET,	/* both; what */
};

enum xlb_change_what {
	XLB_DIFF_RING_SIZE	= 1u << 0,	/* VIP */
	XLB_DIFF_MSS		= 1u << 1,	/* VIP */
	XLB_DIFF_HASH		= 1u << 2,	/* VIP */
	XLB_DIFF_PROBE		= 1u << 3,	/* VIP or backend: the probe as
						 * stated (a VIP's probe change
						 * reaches backends that inherit) */
	XLB_DIFF_WEIGHT		= 1u << 4,	/* backend */
	XLB_DIFF_DRAIN		= 1u << 5,	/* backend */
	XLB_DIFF_DISABLED	= 1u << 6,	/* backend */
};

struct xlb_conf_change {
	enum xlb_change_kind kind;
	unsigned what;				/* enum xlb_change_what, *_SET */
	const struct xlb_vip_cfg *old_vip, *new_vip;	/* the VIP concerned */
	const struct xlb_backend_cfg *old_be, *new_be;	/* backend events */
};

/*
 * Calls CB for every difference from OLD to NEW, matching VIPs by service
 * and backends by address (order does not matter), in an order a reconciler
 * can follow as is: daemon, dataplane, removed VIPs, then for each VIP kept
 * (in NEW's order) its VIP_SET, removed, added and changed backends, then
 * added VIPs. PART FULL also compares the daemon sections. CB may be NULL.
 * CB returns 0 to go on; anything else stops the walk and is returned (use
 * a negative errno, to tell it from a count). Otherwise returns the number
 * of changes, or -ENOMEM.
 */
int xlb_conf_diff(const struct xlb_conf *old, const struct xlb_conf *new,
		  enum xlb_conf_part part,
		  int (*cb)(void *arg, const struct xlb_conf_change *ch), void *arg);

/* Same desired state (xlb_conf_diff finds nothing). False on ENOMEM. */
bool xlb_conf_equal(const struct xlb_conf *a, const struct xlb_conf *b,
		    enum xlb_conf_part part);

/* ---- probes -------------------------------------------------------------- */

/* The probe backend B of VIP V runs: V's probe, with the keys B gives
 * itself (B->probe.set) taken from B's. */
void xlb_probe_effective(const struct xlb_vip_cfg *v, const struct xlb_backend_cfg *b,
			 struct xlb_probe_cfg *out);

/* "none", "tcp", ..., "http"; NULL for an unknown value. */
const char *xlb_probe_type_name(enum xlb_probe_type t);

#endif /* XLB_CONFIG_H */
