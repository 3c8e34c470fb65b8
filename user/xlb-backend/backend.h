/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* backend.h: what the pieces of xlb-backend share: options, messages and
 * the commands main.c dispatches to. */
#ifndef XLB_BACKEND_H
#define XLB_BACKEND_H

#include <stdbool.h>

#define PROG_NAME		"xlb-backend"
#define DEFAULT_PIN_DIR		"/sys/fs/bpf/xlb-backend"

/* Exit codes. */
#define EXIT_OK			0
#define EXIT_FAIL		1	/* the command could not be done */
#define EXIT_USAGE		2	/* the command line is wrong */

struct options {
	bool verbose;			/* -v: libbpf/libxdp chatter too */
	bool json;			/* -j: machine form of list/stats */
	const char *pin_dir;		/* --pin-dir D */
};
extern struct options opt;

/* "xlb-backend: " + message + newline, on stderr. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Route libbpf/libxdp messages: shown only with -v. */
void quiet_libs(void);

/* Is the pin directory (or its parent, if it does not exist yet) on a BPF
 * filesystem? Reports the problem and the fix for WHAT if not. */
bool pin_dir_usable(const char *what);

int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_vip_add(int argc, char **argv);
int cmd_vip_del(int argc, char **argv);
int cmd_vip_list(int argc, char **argv);
int cmd_stats(int argc, char **argv);

#endif
