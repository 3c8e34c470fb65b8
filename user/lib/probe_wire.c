/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * probe_wire.c: what health probes send and parse: the HTTP reply head,
 * SSTP packets (MS-SSTP 2.2), the SSTP_DUPLEX_POST and GET requests, the
 * PROXY v2 LOCAL header. Pure functions over caller buffers; the fuzz
 * harnesses in tests/fuzz/ call them directly.
 */
#include "probe.h"

#include <stdio.h>
#include <string.h>

/* ---- HTTP/1.x reply head ------------------------------------------------ */

static const char http_prefix[] = "HTTP/1.";

/* RFC 9110 tchar */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* Field values and reason phrases: HTAB, SP, VCHAR, obs-text. */
static bool is_text(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The end of the line starting at P: the offset of its '\n' (a '\r' before
 * it belongs to the ending), or N if the line is not complete yet. *BAD:
 * a character not allowed in the line (checked up to where it ends). */
static size_t line_end(const char *b, size_t p, size_t n, bool header, bool *bad)
{
	size_t i = p;

	*bad = false;
	for (; i < n; i++) {
		unsigned char c = b[i];

		if (c == '\n')
			return i;
		if (c == '\r') {
			if (i + 1 < n && b[i + 1] != '\n')
				*bad = true;
			continue;
		}
		if (header && i == p && (c == ' ' || c == '\t'))
			*bad = true;		/* obs-fold: refused */
		if (!is_text(c))
			*bad = true;
		if (*bad)
			return i;
	}
	return n;
}

static bool header_line_ok(const char *b, size_t p, size_t end)
{
	size_t i = p;

	while (i < end && is_tchar(b[i]))
		i++;
	/* a name, then ':' right after it */
	return i > p && i < end && b[i] == ':';
}

int xlb_http_reply_parse(const char *buf, size_t len, int *status, int *minor,
			 size_t *hdr_end)
{
	size_t n = len < XLB_HTTP_HDR_MAX ? len : XLB_HTTP_HDR_MAX;
	size_t pre = sizeof(http_prefix) - 1, p, e;
	bool bad;

	*status = 0;
	*hdr_end = 0;
	if (minor)
		*minor = 0;
	/* "HTTP/1.x SSS" then SP reason or the line end */
	if (memcmp(buf, http_prefix, n < pre ? n : pre))
		return XLB_PARSE_MALFORMED;
	if (n > pre && !is_digit(buf[pre]))
		return XLB_PARSE_MALFORMED;
	if (n > pre + 1 && buf[pre + 1] != ' ')
		return XLB_PARSE_MALFORMED;
	for (size_t i = pre + 2; i < pre + 5 && i < n; i++)
		if (!is_digit(buf[i]))
			return XLB_PARSE_MALFORMED;
	if (n > pre + 5 && !strchr(" \r\n", buf[pre + 5]))
		return XLB_PARSE_MALFORMED;
	if (n <= pre + 5)
		return XLB_PARSE_NEED_MORE;
	if (buf[pre + 2] == '0')
		return XLB_PARSE_MALFORMED;	/* status 000..099 */
	e = line_end(buf, pre + 5, n, false, &bad);
	if (bad)
		return XLB_PARSE_MALFORMED;
	if (e == n)
		return len >= XLB_HTTP_HDR_MAX ? XLB_PARSE_TOO_LARGE : XLB_PARSE_NEED_MORE;
	*status = (buf[pre + 2] - '0') * 100 + (buf[pre + 3] - '0') * 10 + (buf[pre + 4] - '0');
	if (minor)
		*minor = buf[pre] - '0';

	/* header lines up to an empty one */
	for (p = e + 1; p < n; p = e + 1) {
		size_t content;

		e = line_end(buf, p, n, true, &bad);
		if (bad)
			return XLB_PARSE_MALFORMED;
		if (e == n) {
			/* partial line: a name so far, or a name and ':' */
			size_t i = p;

			while (i < n && is_tchar(buf[i]))
				i++;
			if (i < n && buf[i] != ':' && buf[i] != '\r')
				return XLB_PARSE_MALFORMED;
			break;
		}
		content = e > p && buf[e - 1] == '\r' ? e - 1 : e;
		if (content == p) {
			*hdr_end = e + 1;
			return XLB_PARSE_OK;
		}
		if (!header_line_ok(buf, p, content))
			return XLB_PARSE_MALFORMED;
	}
	return len >= XLB_HTTP_HDR_MAX ? XLB_PARSE_TOO_LARGE : XLB_PARSE_NEED_MORE;
}

/* ---- SSTP packets ------------------------------------------------------ */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define SSTP_HDR	4	/* version, C bit, 12-bit length */
#define SSTP_CTRL_HDR	8	/* + message type, attribute count */
#define SSTP_ATTR_HDR	4	/* reserved, id, 12-bit length */
#define SSTP_BINDING_REQ_LEN	36	/* value: 3 reserved, bitmask, nonce */
#define SSTP_STATUS_MIN_LEN	8	/* value: 3 reserved, attribute id, status */

static int sstp_attr(const uint8_t *pkt, struct xlb_sstp_msg *m, size_t off, size_t alen,
		     uint8_t id)
{
	const uint8_t *v = pkt + off;

	if (m->n_attrs < XLB_SSTP_MAX_ATTRS)
		m->attr[m->n_attrs] = (struct xlb_sstp_attr){
			.id = id, .len = (uint16_t)alen, .off = (uint16_t)off,
		};
	switch (id) {
	case XLB_SSTP_ATTR_CRYPTO_BINDING_REQ:
		if (alen != SSTP_BINDING_REQ_LEN)
			return XLB_PARSE_MALFORMED;
		m->has_binding_req = true;
		m->hash_bitmask = v[3];
		memcpy(m->nonce, v + 4, sizeof(m->nonce));
		break;
	case XLB_SSTP_ATTR_STATUS_INFO:
		if (alen < SSTP_STATUS_MIN_LEN)
			return XLB_PARSE_MALFORMED;
		if (!m->has_status) {
			m->has_status = true;
			m->status_attr = v[3];
			m->status = be32(v + 4);
		}
		break;
	}
	return XLB_PARSE_OK;
}

int xlb_sstp_parse(const uint8_t *buf, size_t len, struct xlb_sstp_msg *out)
{
	size_t plen, off, want;

	memset(out, 0, sizeof(*out));
	if (len >= 1 && buf[0] != XLB_SSTP_VERSION)
		return XLB_PARSE_MALFORMED;
	if (len >= 2 && (buf[1] & 0xfe))
		return XLB_PARSE_MALFORMED;
	if (len >= 3 && (buf[2] & 0xf0))
		return XLB_PARSE_MALFORMED;
	if (len < SSTP_HDR)
		return XLB_PARSE_NEED_MORE;
	plen = be16(buf + 2) & 0x0fff;
	out->control = buf[1] & 1;
	if (plen < (out->control ? SSTP_CTRL_HDR : SSTP_HDR))
		return XLB_PARSE_MALFORMED;
	if (len < plen)
		return XLB_PARSE_NEED_MORE;
	out->len = (uint16_t)plen;
	if (!out->control)
		return XLB_PARSE_OK;

	out->type = be16(buf + 4);
	want = be16(buf + 6);
	for (off = SSTP_CTRL_HDR; off < plen; ) {
		size_t alen;
		int err;

		if (plen - off < SSTP_ATTR_HDR || (buf[off + 2] & 0xf0))
			return XLB_PARSE_MALFORMED;
		alen = be16(buf + off + 2) & 0x0fff;
		if (alen < SSTP_ATTR_HDR || alen > plen - off)
			return XLB_PARSE_MALFORMED;
		err = sstp_attr(buf, out, off + SSTP_ATTR_HDR, alen - SSTP_ATTR_HDR, buf[off + 1]);
		if (err)
			return err;
		out->n_attrs++;
		off += alen;
	}
	if (out->n_attrs != want)
		return XLB_PARSE_MALFORMED;
	return XLB_PARSE_OK;
}

bool xlb_sstp_is_valid_ack(const struct xlb_sstp_msg *m)
{
	return m->control && m->type == XLB_SSTP_CALL_CONNECT_ACK &&
	       m->len == XLB_SSTP_ACK_LEN && m->n_attrs == 1 && m->has_binding_req &&
	       (m->hash_bitmask & 3) && !(m->hash_bitmask & ~3);
}

/* ---- requests ------------------------------------------------------------ */

size_t xlb_sstp_request(char *buf, size_t len, const char *host, const uint8_t g[16])
{
	int n = snprintf(buf, len,
		"SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n"
		"Host: %s\r\n"
		"Content-Length: 18446744073709551615\r\n"
		"SSTPCORRELATIONID: {%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
		"%02X%02X%02X%02X%02X%02X}\r\n"
		"\r\n",
		host, g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9],
		g[10], g[11], g[12], g[13], g[14], g[15]);

	return n < 0 ? 0 : (size_t)n;
}

size_t xlb_http_get_request(char *buf, size_t len, const char *host, const char *path)
{
	int n = snprintf(buf, len,
			 "GET %s HTTP/1.1\r\n"
			 "Host: %s\r\n"
			 "User-Agent: xlb-probe\r\n"
			 "Accept: */*\r\n"
			 "Connection: close\r\n"
			 "\r\n",
			 path, host);

	return n < 0 ? 0 : (size_t)n;
}

/* Call Connect Request: one Encapsulated Protocol attribute, PPP (1). */
const uint8_t xlb_sstp_connect_req[XLB_SSTP_CONNECT_REQ_LEN] = {
	XLB_SSTP_VERSION, 0x01, 0x00, XLB_SSTP_CONNECT_REQ_LEN,
	0x00, XLB_SSTP_CALL_CONNECT_REQUEST, 0x00, 0x01,
	0x00, XLB_SSTP_ATTR_ENCAP_PROTO, 0x00, 0x06, 0x00, 0x01,
};

const uint8_t xlb_sstp_disconnect[XLB_SSTP_DISCONNECT_LEN] = {
	XLB_SSTP_VERSION, 0x01, 0x00, XLB_SSTP_DISCONNECT_LEN,
	0x00, XLB_SSTP_CALL_DISCONNECT, 0x00, 0x00,
};

/* The v2 signature, version 2 / command LOCAL, family UNSPEC, length 0. */
const uint8_t xlb_proxy_v2_local[XLB_PROXY_V2_LOCAL_LEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
	0x20, 0x00, 0x00, 0x00,
};
