/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "pkt.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- addresses and specs ------------------------------------------------ */

int pkt_addr(const char *str, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, str, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, str, out) == 1)
		return 6;
	fprintf(stderr, "pkt_addr: bad address literal '%s'\n", str);
	abort();
}

const char *pkt_addr_str(int family, const uint8_t addr[16], char *buf)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, 46))
		strcpy(buf, "?");
	return buf;
}

static const uint8_t default_dst_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t default_src_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };

static struct pkt_spec spec_base(const char *src, const char *dst, uint8_t proto)
{
	struct pkt_spec s;
	int f1, f2;

	memset(&s, 0, sizeof(s));
	memcpy(s.eth_dst, default_dst_mac, 6);
	memcpy(s.eth_src, default_src_mac, 6);
	f1 = pkt_addr(src, s.src);
	f2 = pkt_addr(dst, s.dst);
	if (f1 != f2) {
		fprintf(stderr, "pkt_spec: %s and %s are of different families\n", src, dst);
		abort();
	}
	s.family = f1;
	s.ttl = 64;
	s.ip_id = 0x1234;
	s.ip_frag = PKT_IP_DF;
	s.proto = proto;
	return s;
}

struct pkt_spec pkt_spec_tcp(const char *src, uint16_t sport, const char *dst,
			     uint16_t dport)
{
	struct pkt_spec s = spec_base(src, dst, PKT_IPPROTO_TCP);

	s.sport = sport;
	s.dport = dport;
	s.seq = 0x01020304;
	s.ack = 0x0a0b0c0d;
	s.tcp_flags = PKT_TCP_ACK;
	s.window = 64240;
	return s;
}

struct pkt_spec pkt_spec_udp(const char *src, uint16_t sport, const char *dst,
			     uint16_t dport)
{
	struct pkt_spec s = spec_base(src, dst, PKT_IPPROTO_UDP);

	s.sport = sport;
	s.dport = dport;
	return s;
}

struct pkt_spec pkt_spec_icmp(const char *src, const char *dst, uint8_t type,
			      uint8_t code)
{
	struct pkt_spec s = spec_base(src, dst, PKT_IPPROTO_ICMP);

	if (s.family == 6)
		s.proto = PKT_IPPROTO_ICMPV6;
	s.icmp_type = type;
	s.icmp_code = code;
	return s;
}

void pkt_opt_raw(struct pkt_spec *s, const void *bytes, size_t len)
{
	if (s->tcp_opts_len + len > 40) {
		fprintf(stderr, "pkt_opt_raw: TCP options over 40 bytes\n");
		abort();
	}
	memcpy(s->tcp_opts + s->tcp_opts_len, bytes, len);
	s->tcp_opts_len += len;
}

void pkt_opt_mss(struct pkt_spec *s, uint16_t mss)
{
	uint8_t o[4] = { PKT_TCPOPT_MSS, 4, mss >> 8, mss & 0xff };

	pkt_opt_raw(s, o, sizeof(o));
}

void pkt_opt_nop(struct pkt_spec *s)
{
	uint8_t o = PKT_TCPOPT_NOP;

	pkt_opt_raw(s, &o, 1);
}

void pkt_opt_wscale(struct pkt_spec *s, uint8_t shift)
{
	uint8_t o[3] = { PKT_TCPOPT_WSCALE, 3, shift };

	pkt_opt_raw(s, o, sizeof(o));
}

void pkt_opt_sack_perm(struct pkt_spec *s)
{
	uint8_t o[2] = { PKT_TCPOPT_SACK_PERM, 2 };

	pkt_opt_raw(s, o, sizeof(o));
}

void pkt_opt_ts(struct pkt_spec *s, uint32_t val, uint32_t ecr)
{
	uint8_t o[10] = { PKT_TCPOPT_TS, 10 };

	pkt_put32(o + 2, val);
	pkt_put32(o + 6, ecr);
	pkt_opt_raw(s, o, sizeof(o));
}

/* ---- checksums ---------------------------------------------------------- */

uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

/* Returns the checksum in host order; callers store it with pkt_put16. */
uint16_t pkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t pkt_csum(const void *data, size_t len)
{
	return pkt_csum_fold(pkt_csum_add(0, data, len));
}

uint32_t pkt_pseudo_sum(int family, const uint8_t src[16], const uint8_t dst[16],
			uint8_t proto, uint32_t l4_len)
{
	uint8_t ph[40];

	if (family == 4) {
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[8] = 0;
		ph[9] = proto;
		pkt_put16(ph + 10, (uint16_t)l4_len);
		return pkt_csum_add(0, ph, 12);
	}
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	pkt_put32(ph + 32, l4_len);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = proto;
	return pkt_csum_add(0, ph, 40);
}

bool pkt_csum_ok(const void *data, size_t len)
{
	return pkt_csum(data, len) == 0;
}

bool pkt_ip4_csum_ok(const uint8_t *ip, size_t hlen)
{
	return pkt_csum_ok(ip, hlen);
}

static int l4_csum_off(uint8_t proto)
{
	switch (proto) {
	case PKT_IPPROTO_TCP:
		return 16;
	case PKT_IPPROTO_UDP:
		return 6;
	case PKT_IPPROTO_ICMP:
	case PKT_IPPROTO_ICMPV6:
		return 2;
	}
	return -1;
}

static uint32_t l4_sum(int family, const uint8_t src[16], const uint8_t dst[16],
		       uint8_t proto, const uint8_t *l4, size_t l4_len)
{
	uint32_t sum = 0;

	if (proto != PKT_IPPROTO_ICMP)
		sum = pkt_pseudo_sum(family, src, dst, proto, (uint32_t)l4_len);
	return pkt_csum_add(sum, l4, l4_len);
}

bool pkt_l4_csum_ok(int family, const uint8_t src[16], const uint8_t dst[16],
		    uint8_t proto, const uint8_t *l4, size_t l4_len)
{
	if (proto == PKT_IPPROTO_UDP && family == 4 && l4_len >= 8 &&
	    pkt_get16(l4 + 6) == 0)
		return true;
	return pkt_csum_fold(l4_sum(family, src, dst, proto, l4, l4_len)) == 0;
}

void pkt_l4_csum_set(int family, const uint8_t src[16], const uint8_t dst[16],
		     uint8_t proto, uint8_t *l4, size_t l4_len)
{
	int off = l4_csum_off(proto);
	uint16_t c;

	if (off < 0 || l4_len < (size_t)off + 2)
		return;
	l4[off] = l4[off + 1] = 0;
	c = pkt_csum_fold(l4_sum(family, src, dst, proto, l4, l4_len));
	if (proto == PKT_IPPROTO_UDP && c == 0)
		c = 0xffff;
	pkt_put16(l4 + off, c);
}

/* ---- building ----------------------------------------------------------- */

static bool is_ext6(uint8_t t)
{
	return t == PKT_IPPROTO_HOPOPTS || t == PKT_IPPROTO_ROUTING ||
	       t == PKT_IPPROTO_DSTOPTS || t == PKT_IPPROTO_FRAGMENT;
}

void pkt_fix_csums(struct pkt *p)
{
	uint8_t *ip = p->buf + p->l3_off;
	uint8_t src[16] = { 0 }, dst[16] = { 0 };
	size_t l4_len = p->l3_off + p->ip_len - p->l4_off;

	if (p->family == 4) {
		size_t hlen = (size_t)(ip[0] & 0xf) * 4;

		ip[10] = ip[11] = 0;
		pkt_put16(ip + 10, pkt_csum(ip, hlen));
		memcpy(src, ip + 12, 4);
		memcpy(dst, ip + 16, 4);
	} else if (p->family == 6) {
		memcpy(src, ip + 8, 16);
		memcpy(dst, ip + 24, 16);
	} else {
		return;
	}
	pkt_l4_csum_set(p->family, src, dst, p->proto, p->buf + p->l4_off, l4_len);
}

int pkt_build(const struct pkt_spec *s, struct pkt *p)
{
	uint8_t *b = p->buf;
	size_t off = 0, ip_off, l4_off, l4_hlen = 0, tcp_opts;
	uint16_t ethertype = s->eth_proto;
	int i;

	memset(p, 0, sizeof(*p));
	b = p->buf;
	p->family = s->family;
	p->proto = s->proto;

	/* Ethernet */
	memcpy(b, s->eth_dst, 6);
	memcpy(b + 6, s->eth_src, 6);
	off = 12;
	for (i = 0; i < 2 && s->vlan_tpid[i]; i++) {
		pkt_put16(b + off, s->vlan_tpid[i]);
		pkt_put16(b + off + 2, s->vlan_tci[i]);
		off += 4;
	}
	if (!ethertype)
		ethertype = s->family == 6 ? PKT_ETH_P_IPV6 : PKT_ETH_P_IP;
	pkt_put16(b + off, ethertype);
	off += 2;
	ip_off = off;
	p->l3_off = ip_off;

	if (s->family == 0) {
		/* raw payload after the Ethernet header */
		if (off + s->payload_len > PKT_MAX)
			return -1;
		memcpy(b + off, s->payload, s->payload_len);
		off += s->payload_len;
		p->l4_off = p->pl_off = ip_off;
		p->ip_len = s->payload_len;
		goto pad;
	}

	/* IP header (lengths filled in below) */
	if (s->family == 4) {
		size_t hlen = 20 + s->ip_opts_len;

		b[off] = 0x40 | (uint8_t)(hlen / 4);
		b[off + 1] = s->tos;
		pkt_put16(b + off + 4, s->ip_id);
		pkt_put16(b + off + 6, s->ip_frag);
		b[off + 8] = s->ttl ? s->ttl : 64;
		b[off + 9] = s->proto;
		memcpy(b + off + 12, s->src, 4);
		memcpy(b + off + 16, s->dst, 4);
		memcpy(b + off + 20, s->ip_opts, s->ip_opts_len);
		off += hlen;
	} else {
		uint8_t nh;

		pkt_put32(b + off, 6u << 28 | (uint32_t)s->tos << 20 |
				   (s->flow_label & 0xfffff));
		nh = s->n_ext ? s->ext[0].type : s->proto;
		b[off + 6] = nh;
		b[off + 7] = s->ttl ? s->ttl : 64;
		memcpy(b + off + 8, s->src, 16);
		memcpy(b + off + 24, s->dst, 16);
		off += 40;
		for (i = 0; i < s->n_ext; i++) {
			const struct pkt_ext *e = &s->ext[i];
			size_t sz = e->type == PKT_IPPROTO_FRAGMENT ? 8 : 8 * ((size_t)e->len8 + 1);

			if (off + sz > PKT_MAX)
				return -1;
			memset(b + off, 0, sz);
			b[off] = i + 1 < s->n_ext ? s->ext[i + 1].type : s->proto;
			if (e->type == PKT_IPPROTO_FRAGMENT) {
				pkt_put16(b + off + 2, (uint16_t)(e->frag_off << 3 | (e->more ? 1 : 0)));
				pkt_put32(b + off + 4, e->id);
			} else {
				b[off + 1] = e->len8;
			}
			off += sz;
		}
	}
	l4_off = off;
	p->l4_off = l4_off;

	/* L4 header */
	switch (s->proto) {
	case PKT_IPPROTO_TCP:
		tcp_opts = (s->tcp_opts_len + 3) & ~(size_t)3;
		l4_hlen = 20 + tcp_opts;
		pkt_put16(b + off, s->sport);
		pkt_put16(b + off + 2, s->dport);
		pkt_put32(b + off + 4, s->seq);
		pkt_put32(b + off + 8, s->ack);
		b[off + 12] = (uint8_t)(l4_hlen / 4) << 4;
		b[off + 13] = s->tcp_flags;
		pkt_put16(b + off + 14, s->window);
		memcpy(b + off + 20, s->tcp_opts, s->tcp_opts_len);
		memset(b + off + 20 + s->tcp_opts_len, PKT_TCPOPT_NOP,
		       tcp_opts - s->tcp_opts_len);
		break;
	case PKT_IPPROTO_UDP:
		l4_hlen = 8;
		pkt_put16(b + off, s->sport);
		pkt_put16(b + off + 2, s->dport);
		pkt_put16(b + off + 4, (uint16_t)(8 + s->payload_len));
		break;
	case PKT_IPPROTO_ICMP:
	case PKT_IPPROTO_ICMPV6:
		l4_hlen = 8;
		b[off] = s->icmp_type;
		b[off + 1] = s->icmp_code;
		pkt_put32(b + off + 4, s->icmp_rest);
		break;
	default:
		break;
	}
	off += l4_hlen;
	p->pl_off = off;
	if (off + s->payload_len > PKT_MAX)
		return -1;
	if (s->payload_len)
		memcpy(b + off, s->payload, s->payload_len);
	off += s->payload_len;

	/* lengths and checksums */
	p->ip_len = off - ip_off;
	if (s->family == 4)
		pkt_put16(b + ip_off + 2, (uint16_t)p->ip_len);
	else
		pkt_put16(b + ip_off + 4, (uint16_t)(p->ip_len - 40));
	pkt_fix_csums(p);

pad:
	p->len = off;
	if (s->pad_to > off) {
		if (s->pad_to > PKT_MAX)
			return -1;
		memset(b + off, 0, s->pad_to - off);
		p->len = s->pad_to;
	}
	return 0;
}

/* ---- parsing ------------------------------------------------------------ */

static const char *parse_l4(struct pkt_ip *ip)
{
	const uint8_t *l4 = ip->l4;
	size_t n = ip->l4_len;

	switch (ip->proto) {
	case PKT_IPPROTO_TCP:
		if (n < 20)
			return "TCP header truncated";
		ip->l4_hlen = (size_t)(l4[12] >> 4) * 4;
		if (ip->l4_hlen < 20)
			return "TCP data offset below 5";
		if (ip->l4_hlen > n)
			return "TCP data offset beyond the IP payload";
		ip->sport = pkt_get16(l4);
		ip->dport = pkt_get16(l4 + 2);
		ip->tcp_flags = l4[13];
		break;
	case PKT_IPPROTO_UDP:
		if (n < 8)
			return "UDP header truncated";
		if (pkt_get16(l4 + 4) < 8 || pkt_get16(l4 + 4) > n)
			return "UDP length inconsistent with the IP payload";
		ip->l4_hlen = 8;
		ip->sport = pkt_get16(l4);
		ip->dport = pkt_get16(l4 + 2);
		break;
	case PKT_IPPROTO_ICMP:
	case PKT_IPPROTO_ICMPV6:
		if (n < 8)
			return "ICMP header truncated";
		ip->l4_hlen = 8;
		break;
	}
	return NULL;
}

const char *pkt_parse_ip(const uint8_t *p, size_t len, bool exact, struct pkt_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (len < 1)
		return "empty";
	ip->family = p[0] >> 4;
	if (ip->family == 4) {
		if (len < 20)
			return "IPv4 header truncated";
		ip->hlen = (size_t)(p[0] & 0xf) * 4;
		if (ip->hlen < 20)
			return "IPv4 IHL below 5";
		if (ip->hlen > len)
			return "IPv4 IHL beyond the packet";
		ip->tot_len = pkt_get16(p + 2);
		if (ip->tot_len < ip->hlen)
			return "IPv4 total length below the header length";
		if (ip->tot_len > len)
			return "IPv4 total length beyond the packet";
		if (exact && ip->tot_len != len)
			return "IPv4 total length differs from the packet length";
		if (!pkt_ip4_csum_ok(p, ip->hlen))
			return "IPv4 header checksum wrong";
		ip->tos = p[1];
		ip->id = pkt_get16(p + 4);
		ip->frag = pkt_get16(p + 6);
		ip->is_fragment = (ip->frag & (PKT_IP_MF | PKT_IP_OFFMASK)) != 0;
		ip->ttl = p[8];
		ip->proto = p[9];
		memcpy(ip->src, p + 12, 4);
		memcpy(ip->dst, p + 16, 4);
		ip->l4 = p + ip->hlen;
		ip->l4_len = ip->tot_len - ip->hlen;
		if (ip->frag & PKT_IP_OFFMASK)
			return NULL;
		return parse_l4(ip);
	}
	if (ip->family == 6) {
		uint8_t nh;
		size_t off = 40;
		bool later_frag = false;

		if (len < 40)
			return "IPv6 header truncated";
		ip->tot_len = 40 + (size_t)pkt_get16(p + 4);
		if (ip->tot_len > len)
			return "IPv6 payload length beyond the packet";
		if (exact && ip->tot_len != len)
			return "IPv6 payload length differs from the packet length";
		ip->tos = (uint8_t)(pkt_get32(p) >> 20);
		ip->flow_label = pkt_get32(p) & 0xfffff;
		ip->ttl = p[7];
		memcpy(ip->src, p + 8, 16);
		memcpy(ip->dst, p + 24, 16);
		nh = p[6];
		while (is_ext6(nh)) {
			size_t sz;

			if (++ip->n_ext > 8)
				return "more than 8 IPv6 extension headers";
			if (off + 8 > ip->tot_len)
				return "IPv6 extension header truncated";
			if (nh == PKT_IPPROTO_FRAGMENT) {
				ip->is_fragment = true;
				if (pkt_get16(p + off + 2) & 0xfff8)
					later_frag = true;
				sz = 8;
			} else {
				sz = 8 * ((size_t)p[off + 1] + 1);
			}
			if (off + sz > ip->tot_len)
				return "IPv6 extension header truncated";
			nh = p[off];
			off += sz;
		}
		ip->proto = nh;
		ip->hlen = off;
		ip->l4 = p + off;
		ip->l4_len = ip->tot_len - off;
		if (later_frag)
			return NULL;
		return parse_l4(ip);
	}
	return "IP version neither 4 nor 6";
}

const char *pkt_parse_l2(const uint8_t *f, size_t len, struct pkt_l2 *l2)
{
	size_t off = 12;
	uint16_t t;

	memset(l2, 0, sizeof(*l2));
	if (len < 14)
		return "Ethernet header truncated";
	memcpy(l2->dst, f, 6);
	memcpy(l2->src, f + 6, 6);
	for (;;) {
		if (off + 2 > len)
			return "Ethernet header truncated";
		t = pkt_get16(f + off);
		if (t != PKT_ETH_P_8021Q && t != PKT_ETH_P_8021AD)
			break;
		if (l2->n_vlan == 2)
			return "more than two VLAN tags";
		if (off + 4 > len)
			return "VLAN tag truncated";
		l2->vlan_tpid[l2->n_vlan] = t;
		l2->vlan_tci[l2->n_vlan] = pkt_get16(f + off + 2);
		l2->n_vlan++;
		off += 4;
	}
	l2->proto = t;
	l2->hlen = off + 2;
	return NULL;
}

const char *pkt_parse_encap(const uint8_t *f, size_t len, struct pkt_encap *e)
{
	const char *err;
	const uint8_t *ip;

	memset(e, 0, sizeof(*e));
	err = pkt_parse_l2(f, len, &e->l2);
	if (err)
		return err;
	if (e->l2.proto != PKT_ETH_P_IP && e->l2.proto != PKT_ETH_P_IPV6)
		return "EtherType is not IPv4/IPv6";
	ip = f + e->l2.hlen;
	err = pkt_parse_ip(ip, len - e->l2.hlen, true, &e->outer);
	if (err)
		return err;
	if ((e->l2.proto == PKT_ETH_P_IP) != (e->outer.family == 4))
		return "outer IP version does not match the EtherType";
	if (e->outer.family == 4) {
		if (e->outer.hlen != 20)
			return "outer IPv4 header has options";
		if (e->outer.frag & ~PKT_IP_DF)
			return "outer IPv4 header has MF or a fragment offset";
	} else if (e->outer.n_ext) {
		return "outer IPv6 header has extension headers";
	}
	if (e->outer.proto == PKT_IPPROTO_IPIP)
		e->inner_family = 4;
	else if (e->outer.proto == PKT_IPPROTO_IPV6)
		e->inner_family = 6;
	else
		return "outer protocol is neither 4 (IPIP) nor 41 (IPv6)";
	e->inner = e->outer.l4;
	e->inner_len = e->outer.l4_len;
	if (e->inner_len < 1 || (e->inner[0] >> 4) != e->inner_family)
		return "inner IP version does not match the outer protocol";
	return NULL;
}

int pkt_tcp_mss(const uint8_t *tcp, size_t hlen, size_t *off)
{
	size_t i = 20;

	while (i < hlen) {
		uint8_t kind = tcp[i], olen;

		if (kind == PKT_TCPOPT_EOL)
			return -1;
		if (kind == PKT_TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 2 > hlen)
			return -1;
		olen = tcp[i + 1];
		if (olen < 2 || i + olen > hlen)
			return -1;
		if (kind == PKT_TCPOPT_MSS && olen == 4) {
			if (off)
				*off = i + 2;
			return pkt_get16(tcp + i + 2);
		}
		i += olen;
	}
	return -1;
}

/* ---- misc --------------------------------------------------------------- */

void pkt_hexdump(const char *title, const void *data, size_t len, size_t max)
{
	const uint8_t *p = data;
	size_t n = max && max < len ? max : len, i;

	printf("# %s (%zu bytes%s)\n", title, len, n < len ? ", truncated" : "");
	for (i = 0; i < n; i += 16) {
		size_t j;

		printf("#   %04zx:", i);
		for (j = i; j < i + 16 && j < n; j++)
			printf(" %02x", p[j]);
		putchar('\n');
	}
	fflush(stdout);
}
