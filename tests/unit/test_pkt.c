/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* test_pkt: the test packet library (tests/lib/pkt.c) against checksum
 * vectors computed independently, and its builder against its parsers. */
#include <string.h>

#include "pkt.h"
#include "tap.h"

/* RFC 1071 section 3 example: the one's-complement sum of these bytes is
 * 0xddf2, so the checksum is 0x220d. */
static void test_rfc1071(void)
{
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	is_u64(pkt_csum(b, sizeof(b)), 0x220d, "RFC 1071 example");
	/* odd length: the last byte is padded with zero on the right */
	is_u64(pkt_csum(b, 7), pkt_csum_fold(0x0001 + 0xf203 + 0xf4f5 + 0xf600),
	       "odd-length buffer");
}

/* An IPv4 header, checksum computed by an independent implementation. */
static void test_ip4_vector(void)
{
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06,
			   0x00, 0x00, 198, 18, 0, 1, 198, 18, 1, 1 };

	is_u64(pkt_csum(ip, 20), 0x914f, "IPv4 header checksum vector");
	pkt_put16(ip + 10, 0x914f);
	ok(pkt_ip4_csum_ok(ip, 20), "IPv4 header with its checksum verifies");
	ip[8]--;
	ok(!pkt_ip4_csum_ok(ip, 20), "a changed TTL no longer verifies");
}

/* Built packets carry the checksums of the independent implementation. */
static void test_build_vectors(void)
{
	struct pkt_spec s;
	struct pkt p;
	uint8_t ping[4] = { 'p', 'i', 'n', 'g' }, abc[3] = { 'a', 'b', 'c' };

	s = pkt_spec_tcp("198.18.0.1", 40000, "198.18.1.1", 443);
	s.seq = 1;
	s.ack = 0;
	s.tcp_flags = PKT_TCP_SYN;
	s.window = 64240;
	s.ip_id = 0x1c46;
	pkt_opt_mss(&s, 1460);
	ok(pkt_build(&s, &p) == 0, "build TCP SYN");
	is_u64(p.len, 14 + 20 + 24, "TCP SYN frame length");
	is_u64(p.ip_len, 44, "TCP SYN IP length");
	is_u64(pkt_get16(p.buf + p.l4_off + 16), 0x7212, "TCP/IPv4 checksum vector");
	is_u64(pkt_tcp_mss(p.buf + p.l4_off, 24, NULL), 1460, "MSS option read back");
	ok(pkt_ip4_csum_ok(p.buf + p.l3_off, 20), "built IPv4 header checksum verifies");

	s = pkt_spec_udp("2001:db8::1", 5000, "2001:db8::2", 53);
	s.payload = abc;
	s.payload_len = 3;
	pkt_build(&s, &p);
	is_u64(pkt_get16(p.buf + p.l4_off + 6), 0xcc43, "UDP/IPv6 checksum vector");
	is_u64(pkt_get16(p.buf + p.l3_off + 4), 11, "IPv6 payload length");

	s = pkt_spec_icmp("2001:db8::1", "2001:db8::2", 128, 0);
	s.icmp_rest = 0x00770001;
	s.payload = ping;
	s.payload_len = 4;
	pkt_build(&s, &p);
	is_u64(p.buf[p.l3_off + 6], PKT_IPPROTO_ICMPV6, "ICMPv6 next header");
	is_u64(pkt_get16(p.buf + p.l4_off + 2), 0x44fb, "ICMPv6 checksum vector (pseudo header)");

	s = pkt_spec_icmp("198.18.0.1", "198.18.1.1", 8, 0);
	s.icmp_rest = 0x00770001;
	s.payload = ping;
	s.payload_len = 4;
	pkt_build(&s, &p);
	is_u64(pkt_get16(p.buf + p.l4_off + 2), 0x18b7, "ICMPv4 checksum vector (no pseudo header)");
}

/* Every layer the builder makes is parsed back with the same fields. */
static void test_roundtrip(void)
{
	struct pkt_spec s;
	struct pkt p;
	struct pkt_ip ip;
	struct pkt_l2 l2;
	const char *err;
	uint8_t data[100];
	size_t off;

	memset(data, 0x5a, sizeof(data));

	/* VLAN + IPv4 options + TCP options with MSS not first + padding */
	s = pkt_spec_tcp("198.18.0.1", 1234, "198.18.1.1", 443);
	s.vlan_tpid[0] = PKT_ETH_P_8021Q;
	s.vlan_tci[0] = 0x0064;
	s.ip_opts[0] = 1;			/* NOP NOP NOP EOL */
	s.ip_opts[1] = 1;
	s.ip_opts[2] = 1;
	s.ip_opts_len = 4;
	s.tos = 0xb9;
	s.tcp_flags = PKT_TCP_SYN;
	pkt_opt_nop(&s);
	pkt_opt_wscale(&s, 7);
	pkt_opt_mss(&s, 1400);
	pkt_opt_sack_perm(&s);
	s.pad_to = 120;
	ok(pkt_build(&s, &p) == 0, "build VLAN/options/padded");
	err = pkt_parse_l2(p.buf, p.len, &l2);
	ok(!err && l2.n_vlan == 1 && l2.vlan_tci[0] == 0x64 && l2.proto == PKT_ETH_P_IP &&
	   l2.hlen == 18, "L2 parse: one tag, IPv4 (%s)", err ? err : "ok");
	err = pkt_parse_ip(p.buf + 18, p.len - 18, false, &ip);
	ok(!err, "IP parse with padding (%s)", err ? err : "ok");
	ok(ip.hlen == 24 && ip.tos == 0xb9 && ip.proto == PKT_IPPROTO_TCP && ip.sport == 1234 &&
	   ip.dport == 443 && ip.tcp_flags == PKT_TCP_SYN && ip.l4_hlen == 32,
	   "IP fields read back");
	{
		struct pkt_ip ip2;

		ok(pkt_parse_ip(p.buf + 18, p.len - 18, true, &ip2) != NULL,
		   "exact parse refuses the Ethernet padding");
	}
	is_u64(pkt_tcp_mss(ip.l4, ip.l4_hlen, &off), 1400, "MSS after NOP + WS");
	is_u64(off, 20 + 1 + 3 + 2, "MSS value offset (odd)");
	ok(pkt_l4_csum_ok(4, ip.src, ip.dst, ip.proto, ip.l4, ip.l4_len), "TCP checksum verifies");

	/* IPv6 with 3 extension headers including a fragment header */
	s = pkt_spec_udp("2001:db8::1", 1, "2001:db8::2", 2);
	s.ext[0].type = PKT_IPPROTO_HOPOPTS;
	s.ext[1].type = PKT_IPPROTO_DSTOPTS;
	s.ext[1].len8 = 1;
	s.ext[2].type = PKT_IPPROTO_FRAGMENT;
	s.n_ext = 3;
	s.flow_label = 0xabcde;
	s.tos = 0x2e;
	s.payload = data;
	s.payload_len = sizeof(data);
	pkt_build(&s, &p);
	err = pkt_parse_ip(p.buf + 14, p.len - 14, true, &ip);
	ok(!err && ip.n_ext == 3 && ip.is_fragment && ip.hlen == 40 + 8 + 16 + 8 &&
	   ip.proto == PKT_IPPROTO_UDP && ip.flow_label == 0xabcde && ip.tos == 0x2e &&
	   ip.l4_len == 8 + sizeof(data), "IPv6 ext headers walked (%s)", err ? err : "ok");
	ok(pkt_l4_csum_ok(6, ip.src, ip.dst, ip.proto, ip.l4, ip.l4_len), "UDP/IPv6 checksum verifies");
	p.buf[p.len - 1] ^= 1;
	ok(!pkt_l4_csum_ok(6, ip.src, ip.dst, ip.proto, ip.l4, ip.l4_len),
	   "a flipped payload bit breaks it");

	/* parser rejections */
	s = pkt_spec_tcp("198.18.0.1", 1, "198.18.1.1", 2);
	pkt_build(&s, &p);
	p.buf[14] = 0x44;
	ok(pkt_parse_ip(p.buf + 14, p.len - 14, false, &ip) != NULL, "IHL 4 refused");
	pkt_build(&s, &p);
	p.buf[14 + 20 + 12] = 0x40;
	pkt_fix_csums(&p);
	ok(pkt_parse_ip(p.buf + 14, p.len - 14, false, &ip) != NULL, "TCP doff 4 refused");
	pkt_build(&s, &p);
	p.buf[14 + 3]++;
	pkt_fix_csums(&p);
	ok(pkt_parse_ip(p.buf + 14, p.len - 14, false, &ip) != NULL,
	   "total length beyond the frame refused");
}

/* An encapsulated frame is taken apart into outer fields and inner packet. */
static void test_encap_parse(void)
{
	struct pkt_spec in = pkt_spec_tcp("2001:db8::1", 1000, "2001:db8::2", 443);
	struct pkt inner, outer;
	struct pkt_spec os;
	struct pkt_encap e;
	const char *err;

	pkt_build(&in, &inner);
	os = pkt_spec_tcp("198.18.2.1", 0, "198.18.3.1", 0);
	os.proto = PKT_IPPROTO_IPV6;
	os.payload = inner.buf + inner.l3_off;
	os.payload_len = inner.ip_len;
	os.ip_id = 0;
	pkt_build(&os, &outer);
	err = pkt_parse_encap(outer.buf, outer.len, &e);
	ok(!err, "6in4 frame parses (%s)", err ? err : "ok");
	ok(e.inner_family == 6 && e.inner_len == inner.ip_len &&
	   memcmp(e.inner, inner.buf + inner.l3_off, inner.ip_len) == 0, "inner packet found");
	outer.buf[14 + 9] = PKT_IPPROTO_IPIP;
	pkt_fix_csums(&outer);
	ok(pkt_parse_encap(outer.buf, outer.len, &e) != NULL,
	   "protocol 4 with an IPv6 inner is refused");
}

int main(void)
{
	test_rfc1071();
	test_ip4_vector();
	test_build_vectors();
	test_roundtrip();
	test_encap_parse();
	return tap_done();
}
