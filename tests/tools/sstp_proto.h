/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sstp_proto.h: the SSTP wire format ([MS-SSTP] 2.2) and its HTTP opening,
 * as pure functions over byte buffers: parse what a client sends, build
 * what a server answers. No I/O, so a fuzz harness can drive it.
 *
 * An SSTP packet (all fields network byte order):
 *
 *   10 01 00 0e | 00 01 00 01 | 00 01 00 06 00 01
 *   ver C  len  | type  nattr | rsv id  len   value     <- Call Connect Request
 *
 * byte 0 version 0x10, byte 1 bit 0 = control, bytes 2-3 the packet's
 * length in the low 12 bits. A control packet continues with a message type
 * and an attribute count; each attribute is reserved u8, id u8, 12-bit
 * length (header included), value. A data packet carries one PPP frame. */
#ifndef XLB_SSTP_PROTO_H
#define XLB_SSTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define SSTP_VERSION		0x10
#define SSTP_FLAG_CONTROL	0x01
#define SSTP_LEN_MASK		0x0fff
#define SSTP_HDR_LEN		4
#define SSTP_CTRL_HDR_LEN	8
#define SSTP_ATTR_HDR_LEN	4
#define SSTP_MAX_PACKET		SSTP_LEN_MASK
#define SSTP_MAX_ATTRS		8

enum sstp_msg {
	SSTP_MSG_CALL_CONNECT_REQUEST	= 0x0001,
	SSTP_MSG_CALL_CONNECT_ACK	= 0x0002,
	SSTP_MSG_CALL_CONNECT_NAK	= 0x0003,
	SSTP_MSG_CALL_CONNECTED		= 0x0004,
	SSTP_MSG_CALL_ABORT		= 0x0005,
	SSTP_MSG_CALL_DISCONNECT	= 0x0006,
	SSTP_MSG_CALL_DISCONNECT_ACK	= 0x0007,
	SSTP_MSG_ECHO_REQUEST		= 0x0008,
	SSTP_MSG_ECHO_RESPONSE		= 0x0009,
};

enum sstp_attr_id {
	SSTP_ATTR_NO_ERROR		= 0,
	SSTP_ATTR_ENCAPSULATED_PROTOCOL	= 1,
	SSTP_ATTR_STATUS_INFO		= 2,
	SSTP_ATTR_CRYPTO_BINDING	= 3,
	SSTP_ATTR_CRYPTO_BINDING_REQ	= 4,
};

/* Status Info attribute's status ([MS-SSTP] 2.2.8) */
enum sstp_status {
	SSTP_STATUS_NO_ERROR		= 0x00,
	SSTP_STATUS_VALUE_NOT_SUPPORTED	= 0x04,
	SSTP_STATUS_INVALID_FRAME	= 0x07,
	SSTP_STATUS_NEGOTIATION_TIMEOUT	= 0x08,
};

#define SSTP_ENCAP_PPP			1
#define SSTP_HASH_SHA1			0x01	/* hash protocol bitmask */
#define SSTP_HASH_SHA256		0x02
#define SSTP_NONCE_LEN			32
#define SSTP_CERT_HASH_LEN		32	/* SHA-1 hashes are zero-padded */
#define SSTP_MAC_LEN			32
/* Crypto Binding Request value: 3 reserved, bitmask, nonce */
#define SSTP_BINDING_REQ_VALUE_LEN	(4 + SSTP_NONCE_LEN)
/* Crypto Binding value: 3 reserved, hash protocol, nonce, cert hash, MAC */
#define SSTP_BINDING_VALUE_LEN		(4 + SSTP_NONCE_LEN + SSTP_CERT_HASH_LEN + SSTP_MAC_LEN)
#define SSTP_CONNECT_ACK_LEN		(SSTP_CTRL_HDR_LEN + SSTP_ATTR_HDR_LEN + SSTP_BINDING_REQ_VALUE_LEN)
#define SSTP_CONNECTED_LEN		(SSTP_CTRL_HDR_LEN + SSTP_ATTR_HDR_LEN + SSTP_BINDING_VALUE_LEN)
_Static_assert(SSTP_CONNECT_ACK_LEN == 48, "Call Connect Ack is 48 bytes");
_Static_assert(SSTP_CONNECTED_LEN == 112, "Call Connected is 112 bytes");

/* The SSTP opening: a client's request line is
 *   SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1 */
#define SSTP_HTTP_METHOD	"SSTP_DUPLEX_POST"
#define SSTP_HTTP_URI		"/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/"
#define SSTP_HTTP_MAX		8192	/* request head limit */
#define SSTP_CONTENT_LENGTH	"18446744073709551615"

static inline uint16_t sstp_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void sstp_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void sstp_put32(uint8_t *p, uint32_t v)
{
	sstp_put16(p, v >> 16);
	sstp_put16(p + 2, v & 0xffff);
}

/* The length of the packet at the front of buf: > 0 once all of it is
 * there, 0 while more bytes are needed, -1 if it cannot be an SSTP packet
 * (wrong version or a length below the header's own). */
static inline int sstp_packet_len(const uint8_t *buf, size_t avail)
{
	unsigned len;

	if (avail < 1)
		return 0;
	if (buf[0] != SSTP_VERSION)
		return -1;
	if (avail < SSTP_HDR_LEN)
		return 0;
	len = sstp_get16(buf + 2) & SSTP_LEN_MASK;
	if (len < SSTP_HDR_LEN)
		return -1;
	return avail >= len ? (int)len : 0;
}

static inline bool sstp_is_control(const uint8_t *pkt)
{
	return pkt[1] & SSTP_FLAG_CONTROL;
}

struct sstp_attr {
	uint8_t id;
	uint16_t len;		/* of the value */
	const uint8_t *value;
};

struct sstp_ctrl {
	uint16_t type;
	uint16_t nattrs;	/* as the header says */
	unsigned n;		/* as parsed, at most SSTP_MAX_ATTRS */
	struct sstp_attr attrs[SSTP_MAX_ATTRS];
};

/* Parse one whole control packet (as delimited by sstp_packet_len). 0 on
 * success, -1 if malformed: too short, an attribute running past the end,
 * fewer attributes than announced or bytes left over after them. */
static inline int sstp_parse_ctrl(const uint8_t *pkt, size_t len, struct sstp_ctrl *c)
{
	size_t off = SSTP_CTRL_HDR_LEN;
	unsigned i;

	if (len < SSTP_CTRL_HDR_LEN || !sstp_is_control(pkt))
		return -1;
	c->type = sstp_get16(pkt + 4);
	c->nattrs = sstp_get16(pkt + 6);
	c->n = 0;
	for (i = 0; i < c->nattrs; i++) {
		unsigned alen;

		if (len - off < SSTP_ATTR_HDR_LEN)
			return -1;
		alen = sstp_get16(pkt + off + 2) & SSTP_LEN_MASK;
		if (alen < SSTP_ATTR_HDR_LEN || alen > len - off)
			return -1;
		if (c->n < SSTP_MAX_ATTRS) {
			c->attrs[c->n].id = pkt[off + 1];
			c->attrs[c->n].len = alen - SSTP_ATTR_HDR_LEN;
			c->attrs[c->n].value = pkt + off + SSTP_ATTR_HDR_LEN;
			c->n++;
		}
		off += alen;
	}
	return off == len ? 0 : -1;
}

static inline const struct sstp_attr *sstp_find_attr(const struct sstp_ctrl *c, uint8_t id)
{
	unsigned i;

	for (i = 0; i < c->n; i++)
		if (c->attrs[i].id == id)
			return &c->attrs[i];
	return NULL;
}

/* A Crypto Binding attribute of a Call Connected message, taken apart. */
struct sstp_binding {
	uint8_t hash_protocol;
	const uint8_t *nonce;		/* SSTP_NONCE_LEN bytes */
	const uint8_t *cert_hash;	/* SSTP_CERT_HASH_LEN bytes */
	const uint8_t *mac;		/* SSTP_MAC_LEN bytes */
};

static inline int sstp_parse_binding(const struct sstp_attr *a, struct sstp_binding *b)
{
	if (!a || a->id != SSTP_ATTR_CRYPTO_BINDING || a->len != SSTP_BINDING_VALUE_LEN)
		return -1;
	b->hash_protocol = a->value[3];
	b->nonce = a->value + 4;
	b->cert_hash = b->nonce + SSTP_NONCE_LEN;
	b->mac = b->cert_hash + SSTP_CERT_HASH_LEN;
	return 0;
}

/* ---- building -------------------------------------------------------------- */

/* A packet under construction in a caller's buffer of at least
 * SSTP_MAX_PACKET bytes; sstp_end() writes the length and returns it. */
struct sstp_pkt {
	uint8_t *buf;
	size_t len;
};

static inline void sstp_begin_ctrl(struct sstp_pkt *p, uint8_t *buf, uint16_t type)
{
	p->buf = buf;
	buf[0] = SSTP_VERSION;
	buf[1] = SSTP_FLAG_CONTROL;
	sstp_put16(buf + 4, type);
	sstp_put16(buf + 6, 0);
	p->len = SSTP_CTRL_HDR_LEN;
}

static inline void sstp_begin_data(struct sstp_pkt *p, uint8_t *buf)
{
	p->buf = buf;
	buf[0] = SSTP_VERSION;
	buf[1] = 0;
	p->len = SSTP_HDR_LEN;
}

static inline bool sstp_put(struct sstp_pkt *p, const void *data, size_t len)
{
	if (len > SSTP_MAX_PACKET - p->len)
		return false;
	memcpy(p->buf + p->len, data, len);
	p->len += len;
	return true;
}

/* Append an attribute whose value is pieces a (alen bytes) then b. */
static inline bool sstp_put_attr(struct sstp_pkt *p, uint8_t id, const void *a, size_t alen,
				 const void *b, size_t blen)
{
	size_t total = SSTP_ATTR_HDR_LEN + alen + blen;
	uint8_t hdr[SSTP_ATTR_HDR_LEN] = { 0, id, (uint8_t)(total >> 8), (uint8_t)total };

	if (total > SSTP_MAX_PACKET - p->len)
		return false;
	sstp_put(p, hdr, sizeof(hdr));
	sstp_put(p, a, alen);
	sstp_put(p, b, blen);
	sstp_put16(p->buf + 6, sstp_get16(p->buf + 6) + 1);
	return true;
}

static inline size_t sstp_end(struct sstp_pkt *p)
{
	sstp_put16(p->buf + 2, p->len & SSTP_LEN_MASK);
	return p->len;
}

/* Call Connect Ack: one Crypto Binding Request (bitmask, nonce). */
static inline size_t sstp_build_connect_ack(uint8_t *buf, uint8_t hash_bitmask,
					    const uint8_t nonce[SSTP_NONCE_LEN])
{
	uint8_t head[4] = { 0, 0, 0, hash_bitmask };
	struct sstp_pkt p;

	sstp_begin_ctrl(&p, buf, SSTP_MSG_CALL_CONNECT_ACK);
	sstp_put_attr(&p, SSTP_ATTR_CRYPTO_BINDING_REQ, head, sizeof(head), nonce, SSTP_NONCE_LEN);
	return sstp_end(&p);
}

/* A message with one Status Info attribute naming the attribute at fault
 * (attr_id), a status, and the refused value (may be empty): Call Connect
 * Nak, Call Abort, Call Disconnect. */
static inline size_t sstp_build_status(uint8_t *buf, uint16_t type, uint8_t attr_id,
				       uint32_t status, const void *value, size_t vlen)
{
	uint8_t head[8] = { 0, 0, 0, attr_id };
	struct sstp_pkt p;

	sstp_put32(head + 4, status);
	if (vlen > 64)		/* [MS-SSTP] 2.2.8: at most 64 bytes of it */
		vlen = 64;
	sstp_begin_ctrl(&p, buf, type);
	sstp_put_attr(&p, SSTP_ATTR_STATUS_INFO, head, sizeof(head), value, vlen);
	return sstp_end(&p);
}

/* A control message without attributes: Echo Request/Response, Call
 * Disconnect Ack. */
static inline size_t sstp_build_plain(uint8_t *buf, uint16_t type)
{
	struct sstp_pkt p;

	sstp_begin_ctrl(&p, buf, type);
	return sstp_end(&p);
}

/* ---- the HTTP opening -------------------------------------------------------- */

struct sstp_http_req {
	char method[32];
	char uri[128];
	char version[16];
	char host[128];		/* headers: empty when absent, cut to fit */
	char correlation[80];
	char content_length[24];
};

/* Copy [s, s+n) into dst (size cap) as a C string, cut to fit. */
static inline void sstp_http_copy(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Take one line [*pos, end) ending in LF, without its CR LF. */
static inline bool sstp_http_line(const char **pos, const char *end, const char **line, size_t *len)
{
	const char *nl = memchr(*pos, '\n', (size_t)(end - *pos));

	if (!nl)
		return false;
	*line = *pos;
	*len = (size_t)(nl - *pos);
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	*pos = nl + 1;
	return true;
}

/* Parse a request head at the front of buf. Returns the head's length
 * (request line, headers, blank line) once all of it is there, 0 while
 * more is needed, -1 if malformed, -2 if no head ends within
 * SSTP_HTTP_MAX bytes. Header names match in any case. */
static inline int sstp_http_parse(const char *buf, size_t len, struct sstp_http_req *r)
{
	const char *end, *pos = buf, *line, *sp1, *sp2, *colon, *v;
	size_t n, vn;

	end = memmem(buf, len, "\r\n\r\n", 4);
	if (end) {
		end += 4;
	} else {
		end = memmem(buf, len, "\n\n", 2);
		if (end)
			end += 2;
	}
	if (!end)
		return len >= SSTP_HTTP_MAX ? -2 : 0;
	if (end - buf > SSTP_HTTP_MAX)
		return -2;

	memset(r, 0, sizeof(*r));
	if (!sstp_http_line(&pos, end, &line, &n) || n == 0)
		return -1;
	sp1 = memchr(line, ' ', n);
	if (!sp1)
		return -1;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(line + n - sp1 - 1));
	if (!sp2 || memchr(sp2 + 1, ' ', (size_t)(line + n - sp2 - 1)))
		return -1;
	if ((size_t)(sp1 - line) >= sizeof(r->method) ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(r->uri) ||
	    (size_t)(line + n - sp2 - 1) >= sizeof(r->version) ||
	    sp1 == line || sp2 == sp1 + 1)
		return -1;
	sstp_http_copy(r->method, sizeof(r->method), line, (size_t)(sp1 - line));
	sstp_http_copy(r->uri, sizeof(r->uri), sp1 + 1, (size_t)(sp2 - sp1 - 1));
	sstp_http_copy(r->version, sizeof(r->version), sp2 + 1, (size_t)(line + n - sp2 - 1));
	if (strncmp(r->version, "HTTP/1.", 7) != 0)
		return -1;

	while (sstp_http_line(&pos, end, &line, &n) && n > 0) {
		colon = memchr(line, ':', n);
		if (!colon || colon == line)
			return -1;
		v = colon + 1;
		while (v < line + n && (*v == ' ' || *v == '\t'))
			v++;
		vn = (size_t)(line + n - v);
		while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
#define SSTP_HDR_IS(name) ((size_t)(colon - line) == sizeof(name) - 1 && \
			   strncasecmp(line, name, sizeof(name) - 1) == 0)
		if (SSTP_HDR_IS("Host"))
			sstp_http_copy(r->host, sizeof(r->host), v, vn);
		else if (SSTP_HDR_IS("SSTPCORRELATIONID"))
			sstp_http_copy(r->correlation, sizeof(r->correlation), v, vn);
		else if (SSTP_HDR_IS("Content-Length"))
			sstp_http_copy(r->content_length, sizeof(r->content_length), v, vn);
#undef SSTP_HDR_IS
	}
	return (int)(end - buf);
}

/* The request opens an SSTP tunnel: the SSTP method on the SSTP URI. */
static inline bool sstp_http_is_sstp(const struct sstp_http_req *r)
{
	return strcasecmp(r->method, SSTP_HTTP_METHOD) == 0 &&
	       strcasecmp(r->uri, SSTP_HTTP_URI) == 0;
}

#endif
