// SPDX-License-Identifier: GPL-2.0-only
/* xlb_clock.bpf.c: tells user space the kernel's jiffies and HZ, the clock
 * flow entries are stamped with (xlb_flow.last_seen). Run it with
 * BPF_PROG_TEST_RUN; it fills the context it is given. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xlb.h"

extern unsigned int CONFIG_HZ __kconfig __weak;

SEC("syscall")
int xlb_clock(struct xlb_clock_ctx *ctx)
{
	ctx->jiffies = bpf_jiffies64();
	ctx->hz = CONFIG_HZ;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
