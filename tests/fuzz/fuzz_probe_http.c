/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fuzz_probe_http: xlb_http_reply_parse() on whatever a backend may send
 * back to SSTP_DUPLEX_POST or GET. The input sits in a buffer of its exact
 * size, so any read past LEN is an ASan report. Checks what the engine
 * relies on: a known result, a head end within the input and the cap, a
 * three-digit status, and the same verdict for the head cut at its end.
 */
#include "probe.h"

#include <stdlib.h>
#include <string.h>

#define check(c)	do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	int status, minor, s2;
	size_t end, e2;
	int r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	r = xlb_http_reply_parse(buf, size, &status, &minor, &end);
	check(r == XLB_PARSE_OK || r == XLB_PARSE_NEED_MORE || r == XLB_PARSE_MALFORMED ||
	      r == XLB_PARSE_TOO_LARGE);
	check(status == 0 || (status >= 100 && status <= 999));
	check(minor >= 0 && minor <= 9);
	if (r == XLB_PARSE_TOO_LARGE)
		check(size >= XLB_HTTP_HDR_MAX);
	if (r == XLB_PARSE_NEED_MORE)
		check(size < XLB_HTTP_HDR_MAX);
	if (r == XLB_PARSE_OK) {
		check(status && end > 0 && end <= size && end <= XLB_HTTP_HDR_MAX);
		check(buf[end - 1] == '\n');
		/* what follows the head does not change it */
		check(xlb_http_reply_parse(buf, end, &s2, NULL, &e2) == XLB_PARSE_OK);
		check(s2 == status && e2 == end);
	}
	free(buf);
	return 0;
}
