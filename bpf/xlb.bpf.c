// SPDX-License-Identifier: GPL-2.0-only
/* xlb.bpf.c: the load balancer's XDP program. Attach it with
 *   ip link set dev IF xdp obj xlb.bpf.o sec xdp
 * or let xlbd attach it; docs/datapath.md tells what it does. */
#include "process.h"

SEC("xdp")
int xlb_main(struct xdp_md *ctx)
{
	return xlb_process(ctx);
}

char LICENSE[] SEC("license") = "GPL";
