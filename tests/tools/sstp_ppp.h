/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sstp_ppp.h: just enough of PPP's LCP (RFC 1661) for a test SSTP server to
 * keep a peer's PPP link from stalling: every Configure-Request is acked as
 * sent, the server asks for no options of its own, Echo-Requests are
 * answered, Terminate-Requests acked, any other protocol is rejected with a
 * Protocol-Reject. No authentication, no IPCP: a link never carries IP.
 *
 * Frames are as SSTP data packets carry them ([MS-SSTP] 2.2.2): no HDLC
 * flags, escapes or FCS; an optional FF 03 address/control prefix; the
 * protocol in 2 bytes, or 1 if compressed. Replies copy the peer's prefix. */
#ifndef XLB_SSTP_PPP_H
#define XLB_SSTP_PPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PPP_LCP			0xc021
#define PPP_MAX_FRAME		1508	/* 1500-byte MRU, prefix, protocol */

enum lcp_code {
	LCP_CONF_REQ	= 1,
	LCP_CONF_ACK	= 2,
	LCP_CONF_NAK	= 3,
	LCP_CONF_REJ	= 4,
	LCP_TERM_REQ	= 5,
	LCP_TERM_ACK	= 6,
	LCP_PROTO_REJ	= 8,
	LCP_ECHO_REQ	= 9,
	LCP_ECHO_REP	= 10,
};

struct ppp_lcp {
	bool req_sent;		/* our (empty) Configure-Request */
	bool peer_acked;	/* ... and the peer's Configure-Ack of it */
	bool we_acked;		/* we acked the peer's request */
	uint8_t next_id;
	unsigned frames_in;
	unsigned frames_out;
};

struct ppp_out {
	unsigned n;
	size_t len[2];
	uint8_t frame[2][PPP_MAX_FRAME];
};

static inline bool ppp_lcp_opened(const struct ppp_lcp *l)
{
	return l->peer_acked && l->we_acked;
}

/* Append to out one LCP packet (code, id, data) framed as the peer frames. */
static inline void ppp_out_lcp(struct ppp_out *out, bool acfc_prefix, uint8_t code, uint8_t id,
			       const uint8_t *d1, size_t n1, const uint8_t *d2, size_t n2)
{
	uint8_t *f;
	size_t off = 0, room;

	if (out->n >= 2)
		return;
	f = out->frame[out->n];
	if (acfc_prefix) {
		f[off++] = 0xff;
		f[off++] = 0x03;
	}
	f[off++] = PPP_LCP >> 8;
	f[off++] = PPP_LCP & 0xff;
	room = PPP_MAX_FRAME - off - 4;
	if (n1 > room)
		n1 = room;
	if (n2 > room - n1)
		n2 = room - n1;
	f[off] = code;
	f[off + 1] = id;
	f[off + 2] = (uint8_t)((4 + n1 + n2) >> 8);
	f[off + 3] = (uint8_t)(4 + n1 + n2);
	off += 4;
	if (n1)
		memcpy(f + off, d1, n1);
	if (n2)
		memcpy(f + off + n1, d2, n2);
	out->len[out->n++] = off + n1 + n2;
}

/* Take one frame from the peer; the replies, if any, in out. */
static inline void ppp_input(struct ppp_lcp *l, const uint8_t *frame, size_t len, struct ppp_out *out)
{
	static const uint8_t no_magic[4];	/* Magic-Number was not negotiated */
	bool prefix = false;
	uint16_t proto;
	const uint8_t *p;
	size_t plen, lcp_len;

	out->n = 0;
	l->frames_in++;
	if (len >= 2 && frame[0] == 0xff && frame[1] == 0x03) {
		prefix = true;
		frame += 2;
		len -= 2;
	}
	if (len < 1)
		return;
	if (frame[0] & 1) {		/* protocol field compressed */
		proto = frame[0];
		p = frame + 1;
		plen = len - 1;
	} else {
		if (len < 2)
			return;
		proto = (uint16_t)(frame[0] << 8 | frame[1]);
		p = frame + 2;
		plen = len - 2;
	}

	if (proto != PPP_LCP) {
		uint8_t rejected[2] = { (uint8_t)(proto >> 8), (uint8_t)proto };

		ppp_out_lcp(out, prefix, LCP_PROTO_REJ, l->next_id++, rejected, 2, p, plen);
		goto done;
	}
	if (plen < 4)
		return;
	lcp_len = (size_t)(p[2] << 8 | p[3]);
	if (lcp_len < 4 || lcp_len > plen)
		return;

	switch (p[0]) {
	case LCP_CONF_REQ:
		ppp_out_lcp(out, prefix, LCP_CONF_ACK, p[1], p + 4, lcp_len - 4, NULL, 0);
		l->we_acked = true;
		if (!l->req_sent) {
			ppp_out_lcp(out, prefix, LCP_CONF_REQ, l->next_id++, NULL, 0, NULL, 0);
			l->req_sent = true;
		}
		break;
	case LCP_CONF_ACK:
		l->peer_acked = true;
		break;
	case LCP_ECHO_REQ:
		if (lcp_len >= 8)
			ppp_out_lcp(out, prefix, LCP_ECHO_REP, p[1], no_magic, 4, p + 8, lcp_len - 8);
		break;
	case LCP_TERM_REQ:
		ppp_out_lcp(out, prefix, LCP_TERM_ACK, p[1], NULL, 0, NULL, 0);
		l->peer_acked = l->we_acked = l->req_sent = false;
		break;
	default:	/* Nak/Reject of an empty request, replies, Discard-Request */
		break;
	}
done:
	l->frames_out += out->n;
}

#endif
