/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fuzz_probe_sstp: xlb_sstp_parse() over a stream of SSTP packets, as the
 * sstp-deep probe walks what follows the 200 head. The input sits in a
 * buffer of its exact size (ASan sees any over-read). Checks: a known
 * result, packet lengths within the input and 12 bits, attribute records
 * inside their packet, progress on every packet.
 */
#include "probe.h"

#include <stdlib.h>
#include <string.h>

#define check(c)	do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	size_t off = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	while (off < size) {
		struct xlb_sstp_msg m;
		int r = xlb_sstp_parse(buf + off, size - off, &m);

		check(r == XLB_PARSE_OK || r == XLB_PARSE_NEED_MORE || r == XLB_PARSE_MALFORMED);
		if (r != XLB_PARSE_OK)
			break;
		check(m.len >= 4 && m.len <= XLB_SSTP_PKT_MAX && m.len <= size - off);
		if (m.control) {
			check(m.len >= 8);
			for (unsigned i = 0; i < m.n_attrs && i < XLB_SSTP_MAX_ATTRS; i++)
				check(m.attr[i].off >= 12 && m.attr[i].off + m.attr[i].len <= m.len);
			if (xlb_sstp_is_valid_ack(&m))
				check(m.len == XLB_SSTP_ACK_LEN && m.has_binding_req);
		}
		off += m.len;
	}
	free(buf);
	return 0;
}
