/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* bpftest.h: what every BPF_PROG_TEST_RUN test program does first: need
 * root, stay on one CPU (per-CPU counters and rate limits), keep libbpf
 * quiet unless XLB_TEST_VERBOSE is set, never pin maps; and case names. */
#ifndef XLB_BPFTEST_H
#define XLB_BPFTEST_H

struct bpf_object;

/* Skip the whole program unless root; pin to the current CPU; quiet libbpf. */
void bpftest_init(void);

/* Drop every map's pin path before load, so tests never touch bpffs. */
void bpftest_unpin(struct bpf_object *obj);

struct xlb_bpf;
struct xlb_dp;

/* bpftest_init(), then the load balancer with a small (65536) flow table,
 * unpinned: its skeleton, the XDP program's fd, and typed map access. */
struct xlb_bpf *bpftest_load_xlb(int *prog_fd, struct xlb_dp *dp);

/* The current case's name, set by T("v%d syn", vf), used in TAP lines. */
extern char case_name[160];
void T(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
