// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "bpftest.h"

#include <sched.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "dataplane.h"
#include "tap.h"
#include "xlb.skel.h"

char case_name[160];

void T(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(case_name, sizeof(case_name), fmt, ap);
	va_end(ap);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN || getenv("XLB_TEST_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

void bpftest_init(void)
{
	cpu_set_t cpus;
	int cpu = sched_getcpu();

	if (geteuid() != 0)
		skip_all("needs root for BPF_PROG_TEST_RUN");
	CPU_ZERO(&cpus);
	CPU_SET(cpu >= 0 ? cpu : 0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	libbpf_set_print(libbpf_quiet);
}

void bpftest_unpin(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
}

struct xlb_bpf *bpftest_load_xlb(int *prog_fd, struct xlb_dp *dp)
{
	struct xlb_bpf *skel;
	int err;

	bpftest_init();
	skel = xlb_bpf__open();
	if (!skel)
		bail_out("xlb_bpf__open: %s", strerror(errno));
	bpftest_unpin(skel->obj);
	bpf_map__set_max_entries(skel->maps.xlb_flows, 65536);
	err = xlb_bpf__load(skel);
	if (err)
		bail_out("xlb_bpf__load: %s", strerror(-err));
	*prog_fd = bpf_program__fd(skel->progs.xlb_main);
	err = xlb_dp_from_object(dp, skel->obj);
	if (err)
		bail_out("xlb_dp_from_object: %s", strerror(-err));
	return skel;
}
