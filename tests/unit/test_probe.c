/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_probe: health probes (user/lib/probe.c, probe_wire.c). First the
 * pure parsers and builders, then the engine against servers started here
 * on the loopback (tests/lib/sstp_responder.c: TLS with certificates made
 * in code, healthy or misbehaving on purpose): every probe type's verdict
 * and reason, certificate checks, bounded timeouts, rise/fall, updates,
 * TLS session resumption and its full-handshake refresh, 200 targets at
 * once, memory. Needs no root.
 */
#include "probe.h"
#include "sstp_responder.h"
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAME		"probe.test"
#define DAY		86400L
#define SLACK_MS	80	/* scheduling slack over a timeout */
#define MANY		200

static struct xlb_prober *pr;
static struct xlb_ip lo4, lo6;
static uint64_t next_key = 1;
static char dir[64], ca_good[96], ca_other[96], ca_expired[96], ca_soon[96];
static X509 *cert_good, *cert_other, *cert_expired, *cert_soon;
static EVP_PKEY *key_good, *key_other, *key_expired, *key_soon;

/* on_change log */
#define MAX_CHANGES	64
struct change {
	uint64_t		key;
	enum xlb_probe_health	h;
	enum xlb_probe_result	why;
	uint32_t		streak;		/* successes or failures then */
};
static struct change changes[MAX_CHANGES];
static int n_changes;
static uint64_t del_on_change;		/* this key deletes itself */

static void on_change(void *arg, uint64_t key, enum xlb_probe_health h,
		      const struct xlb_probe_status *st)
{
	if (n_changes < MAX_CHANGES)
		changes[n_changes++] = (struct change){
			.key = key, .h = h, .why = st->last,
			.streak = h == XLB_HEALTH_UP ? st->successes : st->failures,
		};
	if (key == del_on_change)
		xlb_prober_del(pr, key);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs the engine until DONE(ARG) holds or MS pass; returns DONE(ARG). */
static bool pump(int ms, bool (*done)(const void *), const void *arg)
{
	uint64_t end = mono_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd pfd = { .fd = xlb_prober_fd(pr), .events = POLLIN };
		uint64_t now = mono_ms();

		if (done && done(arg))
			return true;
		if (now >= end)
			return done ? done(arg) : true;
		poll(&pfd, 1, (int)(end - now));
		if (xlb_prober_run(pr) < 0)
			bail_out("xlb_prober_run: %s", strerror(errno));
	}
}

static bool probed(const void *arg)
{
	const struct xlb_probe_status *st = xlb_prober_status(pr, *(const uint64_t *)arg);

	return st && st->probes > 0;
}

static struct xlb_probe_cfg cfg_of(enum xlb_probe_type type)
{
	struct xlb_probe_cfg c;

	xlb_probe_init(&c);
	c.type = type;
	c.interval_ms = 100;
	c.timeout_ms = 1000;
	c.rise = 1;
	c.fall = 1;
	return c;
}

/* One probe of CFG against the loopback PORT; its status. */
static struct xlb_probe_status probe_once(const struct xlb_probe_cfg *cfg, uint16_t port,
					  bool v6)
{
	uint64_t key = next_key++;
	struct xlb_probe_status st = { .last = XLB_PR_NONE };
	int err = xlb_prober_set(pr, key, v6 ? &lo6 : &lo4, port, cfg, XLB_HEALTH_UNKNOWN);

	if (err) {
		diag("xlb_prober_set: %s", strerror(-err));
		return st;
	}
	if (!pump((int)(cfg->interval_ms + cfg->timeout_ms) + 3000, probed, &key))
		diag("no probe finished");
	st = *xlb_prober_status(pr, key);
	xlb_prober_del(pr, key);
	return st;
}

static bool expect(const char *name, const struct xlb_probe_status *st,
		   enum xlb_probe_result want)
{
	bool good = ok(st->last == want, "%s: %s", name, xlb_probe_result_name(want));

	if (!good)
		diag("got %s: %s", xlb_probe_result_name(st->last), st->error);
	return good;
}

static struct sstp_responder *server(enum resp_mode mode, X509 *cert, EVP_PKEY *key)
{
	struct resp_cfg rc = { .mode = mode, .cert = cert, .key = key };
	struct sstp_responder *r = resp_start(&rc);

	if (!r)
		bail_out("cannot start a test server");
	return r;
}

/* A loopback port with nobody listening. */
static uint16_t closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	close(fd);
	return ntohs(sin.sin_port);
}

/* ---- parsers --------------------------------------------------------------- */

static int http(const char *s, int *status, size_t *end)
{
	return xlb_http_reply_parse(s, strlen(s), status, NULL, end);
}

static void test_http_parser(void)
{
	static const char *const good[] = {
		"HTTP/1.1 200 OK\r\nServer: Microsoft-HTTPAPI/2.0\r\nContent-Length: 18446744073709551615\r\n\r\n",
		"HTTP/1.1 200\r\n\r\n",
		"HTTP/1.1 200 \r\n\r\n",
		"HTTP/1.1 200 Connection established\r\ncontent-length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nCoNtEnT-lEnGtH: 18446744073709551615\r\nX-Empty:\r\n\r\n",
		"HTTP/1.1 200 OK\nServer: bare-lf\n\n",
	};
	char big[XLB_HTTP_HDR_MAX + 100];
	const char *full = good[0];
	int status, minor;
	size_t end, n;
	int r;

	/* valid 200s: reason phrases vary, header names in any case */
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		r = http(good[i], &status, &end);
		ok(r == XLB_PARSE_OK && status == 200 && end == strlen(good[i]),
		   "http: valid 200 #%zu (r %d, status %d, end %zu)", i, r, status, end);
	}
	/* the head's end is where the body (or the SSTP stream) starts */
	r = http("HTTP/1.1 200 OK\r\nA: b\r\n\r\n\x10\x01", &status, &end);
	ok(r == XLB_PARSE_OK && end == 25, "http: body after the head is not parsed");
	r = xlb_http_reply_parse("HTTP/1.0 204 No Content\r\n\r\n", 27, &status, &minor, &end);
	ok(r == XLB_PARSE_OK && status == 204 && minor == 0, "http: HTTP/1.0 and its minor");
	r = http("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", &status, &end);
	ok(r == XLB_PARSE_OK && status == 404, "http: 404");
	r = http("HTTP/1.1 500 Internal Server Error\r\n\r\n", &status, &end);
	ok(r == XLB_PARSE_OK && status == 500, "http: 500");

	/* every proper prefix needs more; the status shows once its line is done */
	for (n = 0, r = 0; n < strlen(full); n++) {
		int rr = xlb_http_reply_parse(full, n, &status, NULL, &end);

		if (rr != XLB_PARSE_NEED_MORE || status != (n >= 17 ? 200 : 0))
			r = 1;
	}
	ok(!r, "http: every prefix of a valid head needs more, status from its line");
	r = http("HTTP/1.1 404 Not Found\r\nServ", &status, &end);
	ok(r == XLB_PARSE_NEED_MORE && status == 404, "http: a wrong status is known early");

	/* endless headers end at the cap */
	strcpy(big, "HTTP/1.1 200 OK\r\n");
	while (strlen(big) < XLB_HTTP_HDR_MAX + 10)
		strcat(big, "X-A: b\r\n");
	r = xlb_http_reply_parse(big, strlen(big), &status, NULL, &end);
	ok(r == XLB_PARSE_TOO_LARGE, "http: endless headers: too large (r %d)", r);
	memset(big + 17, 'a', sizeof(big) - 18);	/* one endless header name */
	r = xlb_http_reply_parse(big, sizeof(big) - 1, &status, NULL, &end);
	ok(r == XLB_PARSE_TOO_LARGE, "http: an endless line: too large (r %d)", r);

	/* not HTTP/1.x, or broken */
	static const char *const bad[] = {
		"SSH-2.0-OpenSSH_9.2\r\n",
		"\x16\x03\x01\x00\x2a",
		"HTTP/2 200\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
		"HTTP/1.1 200 OK\r\nName : space before colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\rX: y\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"<html>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = http(bad[i], &status, &end);
		ok(r == XLB_PARSE_MALFORMED, "http: malformed #%zu (r %d)", i, r);
	}
	r = xlb_http_reply_parse("HTTP/1.1 200 OK\r\nA: \0b\r\n\r\n", 25, &status, NULL, &end);
	ok(r == XLB_PARSE_MALFORMED, "http: NUL in a header: malformed");
	r = xlb_http_reply_parse("", 0, &status, NULL, &end);
	ok(r == XLB_PARSE_NEED_MORE && !status, "http: nothing yet: need more");
}

static void put_ack(uint8_t *b, uint8_t bitmask)
{
	static const uint8_t hdr[16] = {
		0x10, 0x01, 0x00, 0x30, 0x00, 0x02, 0x00, 0x01,
		0x00, 0x04, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00,
	};

	memcpy(b, hdr, sizeof(hdr));
	b[15] = bitmask;
	for (int i = 0; i < 32; i++)
		b[16 + i] = (uint8_t)(0xa0 + i);
}

static void test_sstp_parser(void)
{
	uint8_t ack[XLB_SSTP_ACK_LEN + 8], b[64];
	static const uint8_t nak[20] = {
		0x10, 0x01, 0x00, 0x14, 0x00, 0x03, 0x00, 0x01,
		0x00, 0x02, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04,
	};
	struct xlb_sstp_msg m;
	int r, bad;

	/* a valid Call Connect Ack, SHA256 */
	put_ack(ack, 2);
	r = xlb_sstp_parse(ack, XLB_SSTP_ACK_LEN, &m);
	ok(r == XLB_PARSE_OK && m.len == 48 && m.control && m.type == XLB_SSTP_CALL_CONNECT_ACK &&
	   m.n_attrs == 1 && m.has_binding_req && m.hash_bitmask == 2 && m.nonce[0] == 0xa0 &&
	   m.nonce[31] == 0xbf && m.attr[0].id == 4 && m.attr[0].len == 36,
	   "sstp: valid ack parsed");
	ok(xlb_sstp_is_valid_ack(&m), "sstp: valid ack accepted");
	put_ack(ack, 8);
	xlb_sstp_parse(ack, XLB_SSTP_ACK_LEN, &m);
	ok(!xlb_sstp_is_valid_ack(&m), "sstp: ack with an unknown hash bit refused");
	put_ack(ack, 3);

	/* the next packet follows the first */
	memcpy(ack + 48, xlb_sstp_disconnect, 8);
	r = xlb_sstp_parse(ack, sizeof(ack), &m);
	ok(r == XLB_PARSE_OK && m.len == 48, "sstp: two packets: the first is 48 bytes");

	/* short: every prefix needs more */
	bad = 0;
	for (size_t n = 0; n < XLB_SSTP_ACK_LEN; n++)
		bad += xlb_sstp_parse(ack, n, &m) != XLB_PARSE_NEED_MORE;
	ok(!bad, "sstp: every prefix of an ack needs more");

	/* bad version, reserved bits, lengths */
	memcpy(b, ack, 48);
	b[0] = 0x11;
	ok(xlb_sstp_parse(b, 48, &m) == XLB_PARSE_MALFORMED, "sstp: version 0x11: malformed");
	ok(xlb_sstp_parse(b, 1, &m) == XLB_PARSE_MALFORMED, "sstp: bad version seen in 1 byte");
	memcpy(b, ack, 48);
	b[1] = 0x03;
	ok(xlb_sstp_parse(b, 48, &m) == XLB_PARSE_MALFORMED, "sstp: reserved bit: malformed");
	memcpy(b, ack, 48);
	b[3] = 0x03;
	ok(xlb_sstp_parse(b, 48, &m) == XLB_PARSE_MALFORMED, "sstp: length 3: malformed");
	memcpy(b, ack, 48);
	b[3] = 0x2c;	/* 44: the attribute overruns the packet */
	ok(xlb_sstp_parse(b, 48, &m) == XLB_PARSE_MALFORMED, "sstp: attribute overruns: malformed");
	memcpy(b, ack, 48);
	b[7] = 2;	/* announces two attributes, has one */
	ok(xlb_sstp_parse(b, 48, &m) == XLB_PARSE_MALFORMED, "sstp: attribute count: malformed");
	memcpy(b, ack, 48);
	b[11] = 0x03;	/* attribute length below its header */
	ok(xlb_sstp_parse(b, 48, &m) == XLB_PARSE_MALFORMED, "sstp: attribute length 3: malformed");
	memcpy(b, ack, 48);
	b[2] = 0x10;	/* a length beyond 12 bits */
	ok(xlb_sstp_parse(b, 48, &m) == XLB_PARSE_MALFORMED, "sstp: 13-bit length: malformed");
	b[2] = 0x0f;
	b[3] = 0xff;	/* 4095 bytes announced, 48 here */
	ok(xlb_sstp_parse(b, 48, &m) == XLB_PARSE_NEED_MORE, "sstp: huge length: needs more (<= 4095)");

	/* a Nak with its Status Info */
	r = xlb_sstp_parse(nak, sizeof(nak), &m);
	ok(r == XLB_PARSE_OK && m.type == XLB_SSTP_CALL_CONNECT_NAK && m.has_status &&
	   m.status_attr == 1 && m.status == 4 && !xlb_sstp_is_valid_ack(&m), "sstp: nak parsed");

	/* garbage, HTTP where SSTP was due */
	ok(xlb_sstp_parse((const uint8_t *)"HTTP/1.1 200", 12, &m) == XLB_PARSE_MALFORMED,
	   "sstp: garbage: malformed");

	/* a data packet, and our own requests */
	r = xlb_sstp_parse((const uint8_t *)"\x10\x00\x00\x06\xff\x03", 6, &m);
	ok(r == XLB_PARSE_OK && !m.control && m.len == 6, "sstp: data packet");
	r = xlb_sstp_parse(xlb_sstp_connect_req, sizeof(xlb_sstp_connect_req), &m);
	ok(r == XLB_PARSE_OK && m.type == XLB_SSTP_CALL_CONNECT_REQUEST && m.n_attrs == 1 &&
	   m.attr[0].id == XLB_SSTP_ATTR_ENCAP_PROTO && m.attr[0].len == 2,
	   "sstp: our Call Connect Request parses");
	r = xlb_sstp_parse(xlb_sstp_disconnect, sizeof(xlb_sstp_disconnect), &m);
	ok(r == XLB_PARSE_OK && m.type == XLB_SSTP_CALL_DISCONNECT && !m.n_attrs,
	   "sstp: our Call Disconnect parses");
}

static void test_builders(void)
{
	static const uint8_t connect_req[] = {
		0x10, 0x01, 0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x01,
	};
	static const uint8_t proxy[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x20, 0x00, 0x00, 0x00,
	};
	uint8_t guid[16];
	char buf[512];
	const char *want =
		"SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n"
		"Host: vpn.example.org\r\n"
		"Content-Length: 18446744073709551615\r\n"
		"SSTPCORRELATIONID: {00112233-4455-6677-8899-AABBCCDDEEFF}\r\n"
		"\r\n";
	size_t n;

	for (int i = 0; i < 16; i++)
		guid[i] = (uint8_t)(i * 0x11);
	n = xlb_sstp_request(buf, sizeof(buf), "vpn.example.org", guid);
	ok(n == strlen(want) && !strcmp(buf, want), "request: SSTP_DUPLEX_POST as specified");
	ok(xlb_sstp_request(buf, 10, "vpn.example.org", guid) == strlen(want),
	   "request: too small a buffer: the length needed");
	n = xlb_http_get_request(buf, sizeof(buf), "198.18.31.2:8080", "/health");
	ok(n == strlen(buf) && !strncmp(buf, "GET /health HTTP/1.1\r\nHost: 198.18.31.2:8080\r\n", 46) &&
	   strstr(buf, "\r\nConnection: close\r\n\r\n"), "request: GET");
	is_mem(xlb_sstp_connect_req, connect_req, sizeof(connect_req), "Call Connect Request bytes");
	is_mem(xlb_proxy_v2_local, proxy, sizeof(proxy), "PROXY v2 LOCAL header bytes");
}

/* ---- the engine against local servers ------------------------------------- */

static void test_sstp_ok(void)
{
	struct sstp_responder *r = server(RESP_SSTP, cert_good, key_good);
	struct xlb_probe_cfg c = cfg_of(XLB_PROBE_SSTP);
	struct xlb_probe_status st;
	struct resp_stats rs;
	time_t now = time(NULL);

	/* sstp: handshake, SSTP_DUPLEX_POST -> 200, close_notify */
	st = probe_once(&c, resp_port(r), false);
	expect("sstp against a healthy server", &st, XLB_PR_OK);
	ok(!strncmp(st.tls_version, "TLSv1.", 6) && st.tls_cipher[0],
	   "sstp: TLS version and cipher reported (%s, %s)", st.tls_version, st.tls_cipher);
	ok(st.cert_not_after > now + 364 * DAY && st.cert_not_after <= now + 366 * DAY &&
	   (st.cert_days_left == 364 || st.cert_days_left == 365) && !st.cert_warn,
	   "sstp: certificate expiry reported (%d days)", st.cert_days_left);
	ok(st.http_status == 200 && st.latency_us > 0 && st.latency_us < 1000000,
	   "sstp: status 200, latency %u us", st.latency_us);

	/* sstp-deep: also Call Connect Request -> Ack, then Call Disconnect */
	c.type = XLB_PROBE_SSTP_DEEP;
	st = probe_once(&c, resp_port(r), false);
	expect("sstp-deep against a healthy server", &st, XLB_PR_OK);
	ok(st.sstp_hash == 3, "sstp-deep: the Ack's hash bitmask reported (%u)", st.sstp_hash);

	/* tls: the handshake alone */
	c.type = XLB_PROBE_TLS;
	st = probe_once(&c, resp_port(r), false);
	expect("tls against a healthy server", &st, XLB_PR_OK);
	ok(st.tls_version[0] && st.cert_not_after, "tls: version and expiry reported");

	/* tcp: connect alone */
	c.type = XLB_PROBE_TCP;
	st = probe_once(&c, resp_port(r), false);
	expect("tcp against a listening port", &st, XLB_PR_OK);

	/* the server saw a polite client (it closes a moment after our close) */
	usleep(100 * 1000);
	resp_get_stats(r, &rs);
	ok(rs.requests == 2 && rs.acks == 1 && rs.disconnects == 1,
	   "server saw 2 requests, 1 Call Connect, 1 Call Disconnect (%lu, %lu, %lu)",
	   (unsigned long)rs.requests, (unsigned long)rs.acks, (unsigned long)rs.disconnects);
	ok(rs.close_notifies >= 2, "server got close_notify from sstp and tls (%lu)",
	   (unsigned long)rs.close_notifies);
	resp_stop(r);
}

static void test_head_variants(void)
{
	static const char *const heads[] = {
		"HTTP/1.1 200\r\ncontent-length: 18446744073709551615\r\n\r\n",
		"HTTP/1.1 200 Connection Established\r\nSERVER: x\r\n\r\n",
	};

	/* reason phrases and header case are the server's business */
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct resp_cfg rc = { .mode = RESP_SSTP, .cert = cert_good, .key = key_good,
				       .head = heads[i] };
		struct sstp_responder *r = resp_start(&rc);
		struct xlb_probe_cfg c = cfg_of(XLB_PROBE_SSTP_DEEP);
		struct xlb_probe_status st = probe_once(&c, resp_port(r), false);
		char name[64];

		snprintf(name, sizeof(name), "sstp-deep, 200 head variant #%zu", i);
		expect(name, &st, XLB_PR_OK);
		resp_stop(r);
	}
}

static void test_failures(void)
{
	struct xlb_probe_cfg c = cfg_of(XLB_PROBE_SSTP);
	struct xlb_probe_status st;
	struct sstp_responder *r;

	/* nobody listening */
	st = probe_once(&c, closed_port(), false);
	expect("nobody listening", &st, XLB_PR_CONNECT_REFUSED);
	c.type = XLB_PROBE_TCP;
	st = probe_once(&c, closed_port(), false);
	expect("tcp, nobody listening", &st, XLB_PR_CONNECT_REFUSED);
	c.type = XLB_PROBE_SSTP;

	/* accepted, then closed before the handshake */
	r = server(RESP_CLOSE, cert_good, key_good);
	st = probe_once(&c, resp_port(r), false);
	/* a FIN, or a RST when our ClientHello was already in its buffer */
	ok(st.last == XLB_PR_CLOSED || st.last == XLB_PR_RESET,
	   "server closes at once: closed or reset (%s)", xlb_probe_result_name(st.last));
	ok(strstr(st.error, "TLS handshake") != NULL, "closed: the sentence names the phase (%s)",
	   st.error);
	resp_stop(r);

	/* closed after the handshake, on the request */
	r = server(RESP_CLOSE_AFTER_TLS, cert_good, key_good);
	st = probe_once(&c, resp_port(r), false);
	expect("server closes on the request", &st, XLB_PR_CLOSED);
	resp_stop(r);

	/* 404 */
	{
		struct resp_cfg rc = { .mode = RESP_STATUS, .status = 404, .cert = cert_good,
				       .key = key_good };

		r = resp_start(&rc);
		st = probe_once(&c, resp_port(r), false);
		expect("404 to SSTP_DUPLEX_POST", &st, XLB_PR_HTTP_STATUS);
		ok(st.http_status == 404 && strstr(st.error, "404"), "404: code reported (%s)",
		   st.error);
		resp_stop(r);
	}

	/* garbage instead of HTTP */
	r = server(RESP_GARBAGE, cert_good, key_good);
	st = probe_once(&c, resp_port(r), false);
	expect("garbage reply", &st, XLB_PR_HTTP_MALFORMED);
	resp_stop(r);

	/* endless headers */
	r = server(RESP_ENDLESS, cert_good, key_good);
	st = probe_once(&c, resp_port(r), false);
	expect("endless headers", &st, XLB_PR_TOO_LARGE);
	ok(st.latency_us < 500000, "endless headers: cut early (%u us)", st.latency_us);
	resp_stop(r);

	/* Nak, and an Ack of the wrong length: only sstp-deep sees them */
	r = server(RESP_NAK, cert_good, key_good);
	st = probe_once(&c, resp_port(r), false);
	expect("sstp against a Nak-ing server (200 is all it asks)", &st, XLB_PR_OK);
	c.type = XLB_PROBE_SSTP_DEEP;
	st = probe_once(&c, resp_port(r), false);
	expect("sstp-deep against a Nak-ing server", &st, XLB_PR_SSTP_NAK);
	resp_stop(r);
	r = server(RESP_BAD_ACK, cert_good, key_good);
	st = probe_once(&c, resp_port(r), false);
	expect("sstp-deep, Ack of 44 bytes", &st, XLB_PR_SSTP_MALFORMED);
	resp_stop(r);

	/* a TLS probe of a plain server: the server answers the ClientHello
	 * as a bad request */
	{
		struct resp_cfg rc = { .mode = RESP_STATUS, .status = 400, .plain = true };
		char sstp_like[96];

		r = resp_start(&rc);
		c.type = XLB_PROBE_TLS;
		c.timeout_ms = 500;
		st = probe_once(&c, resp_port(r), false);
		snprintf(sstp_like, sizeof(sstp_like), "tls against plain HTTP: %s",
			 xlb_probe_result_name(st.last));
		ok(st.last == XLB_PR_TLS_ERROR || st.last == XLB_PR_TIMEOUT || st.last == XLB_PR_CLOSED,
		   "%s", sstp_like);
		diag("%s", st.error);
		resp_stop(r);
	}
}

static void test_timeouts(void)
{
	struct xlb_probe_cfg c = cfg_of(XLB_PROBE_SSTP);
	struct xlb_probe_status st;
	struct sstp_responder *r;
	uint32_t lo, hi;

	c.timeout_ms = 300;
	c.interval_ms = 1000;
	lo = c.timeout_ms * 1000;
	hi = (c.timeout_ms + SLACK_MS) * 1000;

	/* the handshake never starts */
	r = server(RESP_HANG_TCP, cert_good, key_good);
	st = probe_once(&c, resp_port(r), false);
	expect("silent after accept", &st, XLB_PR_TIMEOUT);
	ok(st.latency_us >= lo && st.latency_us <= hi, "silent: verdict at the deadline (%u us)",
	   st.latency_us);
	resp_stop(r);

	/* handshake, then silence */
	r = server(RESP_HANG, cert_good, key_good);
	st = probe_once(&c, resp_port(r), false);
	expect("silent after the handshake", &st, XLB_PR_TIMEOUT);
	ok(st.latency_us >= lo && st.latency_us <= hi, "hang: verdict at the deadline (%u us)",
	   st.latency_us);
	ok(strstr(st.error, "HTTP reply") != NULL, "hang: the sentence names the phase (%s)",
	   st.error);
	resp_stop(r);

	/* a 200 head one byte every 20 ms */
	{
		struct resp_cfg rc = { .mode = RESP_DRIP, .drip_ms = 20, .cert = cert_good,
				       .key = key_good };

		r = resp_start(&rc);
		st = probe_once(&c, resp_port(r), false);
		expect("slow drip", &st, XLB_PR_TIMEOUT);
		ok(st.latency_us >= lo && st.latency_us <= hi, "drip: verdict at the deadline (%u us)",
		   st.latency_us);
		resp_stop(r);
	}

	/* a full accept queue drops our SYN */
	{
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t sl = sizeof(sin);
		int lfd = socket(AF_INET, SOCK_STREAM, 0), fill[2];

		bind(lfd, (struct sockaddr *)&sin, sizeof(sin));
		listen(lfd, 0);
		getsockname(lfd, (struct sockaddr *)&sin, &sl);
		for (int i = 0; i < 2; i++) {
			fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
		}
		usleep(50 * 1000);
		c.type = XLB_PROBE_TCP;
		st = probe_once(&c, ntohs(sin.sin_port), false);
		expect("SYN dropped (accept queue full)", &st, XLB_PR_CONNECT_TIMEOUT);
		ok(st.latency_us >= lo && st.latency_us <= hi,
		   "connect timeout: verdict at the deadline (%u us)", st.latency_us);
		for (int i = 0; i < 2; i++)
			close(fill[i]);
		close(lfd);
	}
}

static void test_certs(void)
{
	struct xlb_probe_cfg c = cfg_of(XLB_PROBE_TLS);
	struct xlb_probe_status st;
	struct sstp_responder *r;

	/* verify on: the right CA and name */
	r = server(RESP_SSTP, cert_good, key_good);
	c.verify = true;
	strcpy(c.ca_file, ca_good);
	strcpy(c.host, NAME);
	st = probe_once(&c, resp_port(r), false);
	expect("verify: trusted CA, right name", &st, XLB_PR_OK);
	c.type = XLB_PROBE_SSTP_DEEP;
	st = probe_once(&c, resp_port(r), false);
	expect("verify: sstp-deep, trusted CA, right name", &st, XLB_PR_OK);
	c.type = XLB_PROBE_TLS;

	/* no name: the address is checked (the cert has IP:127.0.0.1) */
	c.host[0] = 0;
	st = probe_once(&c, resp_port(r), false);
	expect("verify: no name, the address matches", &st, XLB_PR_OK);

	strcpy(c.host, "other.test");
	st = probe_once(&c, resp_port(r), false);
	expect("verify: wrong name", &st, XLB_PR_CERT_INVALID);
	ok(strstr(st.error, "mismatch") != NULL, "wrong name: says so (%s)", st.error);
	strcpy(c.host, NAME);

	strcpy(c.ca_file, ca_other);
	st = probe_once(&c, resp_port(r), false);
	expect("verify: untrusted CA", &st, XLB_PR_CERT_INVALID);

	strcpy(c.ca_file, "/nonexistent/ca.pem");
	st = probe_once(&c, resp_port(r), false);
	expect("verify: CA file missing", &st, XLB_PR_CA_FILE);
	ok(strstr(st.error, "/nonexistent/ca.pem") != NULL, "CA file: named (%s)", st.error);

	/* verify off: an untrusted certificate is fine */
	c.verify = false;
	st = probe_once(&c, resp_port(r), false);
	expect("no verify: untrusted is fine", &st, XLB_PR_OK);
	resp_stop(r);

	/* expired */
	r = server(RESP_SSTP, cert_expired, key_expired);
	c.verify = true;
	strcpy(c.ca_file, ca_expired);
	st = probe_once(&c, resp_port(r), false);
	expect("verify: expired certificate", &st, XLB_PR_CERT_EXPIRED);
	ok(st.cert_days_left < 0 && st.cert_warn, "expired: days left %d, warned",
	   st.cert_days_left);
	c.verify = false;
	c.type = XLB_PROBE_SSTP;
	st = probe_once(&c, resp_port(r), false);
	expect("no verify: expired still probes fine", &st, XLB_PR_OK);
	ok(st.cert_days_left < 0 && st.cert_warn, "no verify: expiry still reported (%d days)",
	   st.cert_days_left);
	resp_stop(r);

	/* expiring in 5 days, warn at 14: success with a warning */
	r = server(RESP_SSTP, cert_soon, key_soon);
	c.type = XLB_PROBE_TLS;
	c.verify = true;
	strcpy(c.ca_file, ca_soon);
	st = probe_once(&c, resp_port(r), false);
	expect("verify: expiring soon", &st, XLB_PR_OK);
	ok(st.cert_warn && (st.cert_days_left == 4 || st.cert_days_left == 5),
	   "expiring soon: warned, %d days left", st.cert_days_left);
	c.cert_warn_days = 3;
	st = probe_once(&c, resp_port(r), false);
	ok(st.last == XLB_PR_OK && !st.cert_warn, "expiring in 5 days, warn at 3: no warning");
	resp_stop(r);
}

static void test_http_probe(void)
{
	struct resp_cfg rc = { .mode = RESP_STATUS, .status = 200, .plain = true };
	struct xlb_probe_cfg c = cfg_of(XLB_PROBE_HTTP);
	struct sstp_responder *r = resp_start(&rc);
	struct xlb_probe_status st;
	struct resp_stats rs;

	strcpy(c.http_path, "/health");
	st = probe_once(&c, resp_port(r), false);
	expect("http 200 as expected", &st, XLB_PR_OK);
	ok(!st.tls_version[0], "http: no TLS");
	c.http_status = 204;
	st = probe_once(&c, resp_port(r), false);
	expect("http 200, 204 expected", &st, XLB_PR_HTTP_STATUS);
	resp_get_stats(r, &rs);
	ok(rs.requests == 2, "http: two GETs served");
	resp_stop(r);

	strcpy(c.http_path, "/a b");
	ok(xlb_prober_set(pr, 999, &lo4, 80, &c, XLB_HEALTH_UNKNOWN) == -EINVAL,
	   "http: a path with a space is refused");
}

static void test_options(void)
{
	struct xlb_probe_cfg c = cfg_of(XLB_PROBE_SSTP);
	struct xlb_probe_status st;
	struct sstp_responder *r;
	struct resp_stats rs;

	/* PROXY v2 LOCAL header first, for a backend that wants one */
	{
		struct resp_cfg rc = { .mode = RESP_SSTP, .cert = cert_good, .key = key_good,
				       .expect_proxy_v2 = true };

		r = resp_start(&rc);
		st = probe_once(&c, resp_port(r), false);
		ok(st.last == XLB_PR_CLOSED || st.last == XLB_PR_RESET,
		   "proxy: without the header the backend hangs up (%s)",
		   xlb_probe_result_name(st.last));
		c.proxy_v2 = true;
		st = probe_once(&c, resp_port(r), false);
		expect("proxy: with the header", &st, XLB_PR_OK);
		c.type = XLB_PROBE_TCP;
		st = probe_once(&c, resp_port(r), false);
		expect("proxy: tcp with the header", &st, XLB_PR_OK);
		usleep(50 * 1000);
		resp_get_stats(r, &rs);
		ok(rs.proxy_headers == 2, "proxy: the server saw 2 headers (%lu)",
		   (unsigned long)rs.proxy_headers);
		resp_stop(r);
		c.proxy_v2 = false;
		c.type = XLB_PROBE_SSTP;
	}

	/* source address */
	r = server(RESP_SSTP, cert_good, key_good);
	c.source = lo4;
	st = probe_once(&c, resp_port(r), false);
	expect("source 127.0.0.1", &st, XLB_PR_OK);
	xlb_ip_parse("192.0.2.55", &c.source);
	st = probe_once(&c, resp_port(r), false);
	expect("source not ours", &st, XLB_PR_SOURCE_BIND);
	c.source = lo6;
	st = probe_once(&c, resp_port(r), false);
	expect("source of the other family", &st, XLB_PR_SOURCE_BIND);
	memset(&c.source, 0, sizeof(c.source));
	resp_stop(r);

	/* IPv6 */
	{
		struct resp_cfg rc = { .mode = RESP_SSTP, .cert = cert_good, .key = key_good,
				       .v6 = true };

		r = resp_start(&rc);
		if (!r) {
			skip("no IPv6 loopback");
		} else {
			c.type = XLB_PROBE_SSTP_DEEP;
			st = probe_once(&c, resp_port(r), true);
			expect("sstp-deep over IPv6", &st, XLB_PR_OK);
			resp_stop(r);
		}
	}

	/* type none: up without probing */
	c.type = XLB_PROBE_NONE;
	ok(xlb_prober_set(pr, 777, NULL, 0, &c, XLB_HEALTH_DOWN) == 0 &&
	   xlb_prober_status(pr, 777)->health == XLB_HEALTH_UP, "type none: up at once");
	ok(xlb_prober_set(pr, 777, NULL, 0, &c, XLB_HEALTH_DOWN) == 0,
	   "type none again, no address: fine");
	xlb_prober_del(pr, 777);
	ok(!xlb_prober_status(pr, 777), "deleted: no status");
	c.type = XLB_PROBE_SSTP;
	ok(xlb_prober_set(pr, 778, &lo4, 0, &c, XLB_HEALTH_UNKNOWN) == -EINVAL,
	   "port 0 and no probe port: refused");
}

struct wait_health {
	uint64_t key;
	enum xlb_probe_health h;
};

static bool health_is(const void *arg)
{
	const struct wait_health *w = arg;
	const struct xlb_probe_status *st = xlb_prober_status(pr, w->key);

	return st && st->health == w->h;
}

static void test_rise_fall(void)
{
	struct sstp_responder *r = server(RESP_SSTP, cert_good, key_good);
	struct xlb_probe_cfg c = cfg_of(XLB_PROBE_SSTP);
	const struct xlb_probe_status *st;
	struct wait_health w = { .key = 4242, .h = XLB_HEALTH_UP };
	uint64_t probes;
	bool up;

	c.rise = 2;
	c.fall = 3;
	c.timeout_ms = 500;
	n_changes = 0;
	xlb_prober_set(pr, w.key, &lo4, resp_port(r), &c, XLB_HEALTH_UNKNOWN);

	/* UNKNOWN -> UP after 2 successes */
	up = pump(2000, health_is, &w);
	ok(up && n_changes == 1 && changes[0].key == w.key && changes[0].h == XLB_HEALTH_UP &&
	   changes[0].why == XLB_PR_OK && changes[0].streak == 2,
	   "unknown -> up after rise=2 successes, on_change once with ok");

	/* UP -> DOWN after 3 failures, with the reason */
	resp_set_mode(r, RESP_CLOSE_AFTER_TLS);
	w.h = XLB_HEALTH_DOWN;
	ok(pump(2000, health_is, &w) && n_changes == 2 && changes[1].h == XLB_HEALTH_DOWN &&
	   changes[1].why == XLB_PR_CLOSED && changes[1].streak == 3,
	   "up -> down after fall=3 failures, reason closed");
	st = xlb_prober_status(pr, w.key);
	/* (a probe in flight at the switch may still have met the old mode) */
	ok(st->count[XLB_PR_CLOSED] == 3 && st->count[XLB_PR_OK] >= 2 &&
	   st->probes == st->count[XLB_PR_OK] + 3 && st->changed,
	   "per-reason counts: 3 closed, %lu ok", (unsigned long)st->count[XLB_PR_OK]);

	/* DOWN -> UP after 2 successes */
	resp_set_mode(r, RESP_SSTP);
	w.h = XLB_HEALTH_UP;
	ok(pump(2000, health_is, &w) && n_changes == 3 && changes[2].h == XLB_HEALTH_UP &&
	   changes[2].streak == 2, "down -> up after rise=2 successes");

	/* the same settings again: nothing changes */
	st = xlb_prober_status(pr, w.key);
	probes = st->probes;
	{
		uint32_t s = st->successes;

		xlb_prober_set(pr, w.key, &lo4, resp_port(r), &c, XLB_HEALTH_DOWN);
		st = xlb_prober_status(pr, w.key);
		ok(st->successes == s && st->probes == probes && st->health == XLB_HEALTH_UP,
		   "unchanged update keeps state (and ignores initial)");
	}

	/* changed settings: counters restart, health stays */
	c.rise = 3;
	xlb_prober_set(pr, w.key, &lo4, resp_port(r), &c, XLB_HEALTH_DOWN);
	st = xlb_prober_status(pr, w.key);
	ok(st->successes == 0 && st->failures == 0 && st->health == XLB_HEALTH_UP &&
	   st->probes == probes, "changed update: counters restart, health kept");

	/* a target that deletes itself from on_change */
	resp_set_mode(r, RESP_CLOSE);
	del_on_change = w.key;
	w.h = XLB_HEALTH_DOWN;
	pump(2000, NULL, NULL);
	ok(!xlb_prober_status(pr, w.key) && changes[n_changes - 1].h == XLB_HEALTH_DOWN,
	   "on_change may delete its own target");
	del_on_change = 0;
	resp_stop(r);
}

struct wait_count {
	uint64_t key;
	uint64_t probes;
};

static bool count_reached(const void *arg)
{
	const struct wait_count *w = arg;
	const struct xlb_probe_status *st = xlb_prober_status(pr, w->key);

	return st && st->probes >= w->probes;
}

/* KEY's status after its next finished probe. */
static struct xlb_probe_status next_probe(uint64_t key)
{
	struct wait_count w = { .key = key, .probes = xlb_prober_status(pr, key)->probes + 1 };

	if (!pump(3000, count_reached, &w))
		diag("no probe of %lu finished", (unsigned long)key);
	return *xlb_prober_status(pr, key);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* This thread's CPU (the engine's: the servers have their own threads) per
 * probe of KEY over its next N probes, in microseconds. */
static double cpu_us_per_probe(uint64_t key, int n)
{
	struct wait_count w = { .key = key, .probes = xlb_prober_status(pr, key)->probes + 1 };
	uint64_t c0;

	pump(3000, count_reached, &w);		/* from a verdict on */
	c0 = thread_cpu_ns();
	w.probes += (uint64_t)n;
	pump(10000, count_reached, &w);
	return (double)(thread_cpu_ns() - c0) / 1000.0 / n;
}

static void test_resume(void)
{
	struct sstp_responder *r = server(RESP_SSTP, cert_good, key_good);
	struct xlb_probe_cfg c = cfg_of(XLB_PROBE_SSTP);
	struct xlb_probe_status st, st0;
	struct xlb_prober_stats s0, s1;
	struct resp_stats rs;
	uint64_t key = next_key++, t0;
	double full_us, resumed_us;
	int n;

	/* verify on: the first handshake is full and checked; the next ones
	 * resume its session and report its certificate */
	c.verify = true;
	strcpy(c.ca_file, ca_good);
	strcpy(c.host, NAME);
	xlb_prober_stats(pr, &s0);
	xlb_prober_set(pr, key, &lo4, resp_port(r), &c, XLB_HEALTH_UNKNOWN);
	st0 = next_probe(key);
	ok(st0.last == XLB_PR_OK && !st0.tls_resumed && st0.cert_checked && st0.cert_not_after,
	   "resume: the first handshake is full, its certificate checked");
	st = next_probe(key);
	ok(st.last == XLB_PR_OK && st.tls_resumed, "resume: the next probe resumes (verify on)");
	ok(st.cert_not_after == st0.cert_not_after && st.cert_days_left == st0.cert_days_left &&
	   st.cert_checked == st0.cert_checked && !strcmp(st.tls_version, "TLSv1.3"),
	   "resumed: expiry still reported, from the full handshake (%s)", st.tls_version);
	xlb_prober_stats(pr, &s1);
	resp_get_stats(r, &rs);
	ok(s1.tls_full - s0.tls_full == 1 && s1.tls_resumed - s0.tls_resumed == 1 &&
	   rs.resumed == 1, "resume: engine and server count 1 full, 1 resumed (server %lu)",
	   (unsigned long)rs.resumed);

	/* cheaper: no certificate to decode and verify. Blocks of each kind
	 * in turn, the cheapest block of each compared: other processes on
	 * the machine only ever add. */
	c.interval_ms = 20;
	xlb_prober_set(pr, key, &lo4, resp_port(r), &c, XLB_HEALTH_UNKNOWN);
	resumed_us = full_us = 1e9;
	for (n = 0; n < 4; n++) {
		double us;

		xlb_prober_set_tls_refresh(pr, XLB_PROBE_TLS_REFRESH_S);
		next_probe(key);	/* the full one that follows refresh 0 */
		us = cpu_us_per_probe(key, 10);
		resumed_us = us < resumed_us ? us : resumed_us;
		xlb_prober_set_tls_refresh(pr, 0);
		us = cpu_us_per_probe(key, 10);
		full_us = us < full_us ? us : full_us;
		st = *xlb_prober_status(pr, key);
		if (st.tls_resumed || st.last != XLB_PR_OK)
			break;
	}
	ok(!st.tls_resumed && st.last == XLB_PR_OK, "refresh 0: never resumed");
	ok(resumed_us < full_us, "resumed probes cost less: %.0f us of CPU, full ones %.0f us",
	   resumed_us, full_us);
	xlb_prober_set_tls_refresh(pr, XLB_PROBE_TLS_REFRESH_S);
	c.interval_ms = 100;
	xlb_prober_set(pr, key, &lo4, resp_port(r), &c, XLB_HEALTH_UNKNOWN);
	st = next_probe(key);
	ok(st.last == XLB_PR_OK && !st.tls_resumed, "changed settings: a full handshake");
	st = next_probe(key);
	ok(st.last == XLB_PR_OK && st.tls_resumed, "then resumed again");

	/* a failure drops the session */
	resp_set_mode(r, RESP_CLOSE_AFTER_TLS);
	st = next_probe(key);
	ok(st.last == XLB_PR_CLOSED, "a failing probe (%s)", xlb_probe_result_name(st.last));
	resp_set_mode(r, RESP_SSTP);
	st = next_probe(key);
	ok(st.last == XLB_PR_OK && !st.tls_resumed, "after a failure: a full handshake");

	/* the server's ticket keys change (a restart): a full handshake */
	st = next_probe(key);
	ok(st.tls_resumed, "resumed before the server's new ticket key");
	resp_new_ticket_key(r);
	st = next_probe(key);
	ok(st.last == XLB_PR_OK && !st.tls_resumed, "new ticket key: falls back to a full handshake");
	st = next_probe(key);
	ok(st.last == XLB_PR_OK && st.tls_resumed, "and resumes the new session after");

	/* the certificate is read and checked again within the refresh
	 * interval: the server now shows an untrusted one, which resumed
	 * handshakes do not see */
	xlb_prober_set_tls_refresh(pr, 1);
	st0 = next_probe(key);
	if (resp_set_cert(r, cert_other, key_other))
		bail_out("resp_set_cert failed");
	t0 = mono_ms();
	st = next_probe(key);
	ok(st.last == XLB_PR_OK && st.tls_resumed,
	   "new certificate, session still resumed: ok until the refresh");
	for (n = 0; n < 30 && st.last == XLB_PR_OK; n++)
		st = next_probe(key);
	ok(st.last == XLB_PR_CERT_INVALID && !st.tls_resumed,
	   "refresh: the full handshake catches the untrusted certificate (%s, after %lu ms)",
	   xlb_probe_result_name(st.last), (unsigned long)(mono_ms() - t0));
	ok(mono_ms() - t0 <= 1000 + 2 * 110 + SLACK_MS, "within the refresh interval and a probe");
	ok(st.cert_checked >= st0.cert_checked, "cert_checked moves with the full handshake");
	st = next_probe(key);
	ok(st.last == XLB_PR_CERT_INVALID && !st.tls_resumed,
	   "verify failures are not resumed: full again, still caught");
	resp_set_cert(r, cert_good, key_good);
	st = next_probe(key);
	ok(st.last == XLB_PR_OK && !st.tls_resumed, "trusted certificate back: ok, full");
	xlb_prober_set_tls_refresh(pr, XLB_PROBE_TLS_REFRESH_S);
	xlb_prober_del(pr, key);
	resp_stop(r);

	/* TLS 1.2: tickets, or session ids alone */
	for (int ids = 0; ids < 2; ids++) {
		struct resp_cfg rc = { .mode = RESP_SSTP, .cert = cert_good, .key = key_good,
				       .tls12 = true, .no_tickets = ids };

		r = resp_start(&rc);
		key = next_key++;
		xlb_prober_set(pr, key, &lo4, resp_port(r), &c, XLB_HEALTH_UNKNOWN);
		st0 = next_probe(key);
		st = next_probe(key);
		ok(st0.last == XLB_PR_OK && !st0.tls_resumed && st.last == XLB_PR_OK &&
		   st.tls_resumed && !strcmp(st.tls_version, "TLSv1.2"),
		   "TLS 1.2 with %s: resumed (%s)", ids ? "session ids" : "tickets", st.tls_version);
		xlb_prober_del(pr, key);
		resp_stop(r);
	}

	/* a server that answers our close_notify by closing, without its own
	 * (sstp-server): the SSL ends in error, the session is still good */
	{
		struct resp_cfg rc = { .mode = RESP_SSTP, .cert = cert_good, .key = key_good,
				       .no_close_notify = true };

		r = resp_start(&rc);
		for (int type = XLB_PROBE_TLS; type <= XLB_PROBE_SSTP_DEEP; type++) {
			c.type = (enum xlb_probe_type)type;
			key = next_key++;
			xlb_prober_set(pr, key, &lo4, resp_port(r), &c, XLB_HEALTH_UNKNOWN);
			st0 = next_probe(key);
			st = next_probe(key);
			ok(st0.last == XLB_PR_OK && st.last == XLB_PR_OK && st.tls_resumed,
			   "no close_notify from the server: %s still resumes",
			   type == XLB_PROBE_TLS ? "tls" : type == XLB_PROBE_SSTP ? "sstp" : "sstp-deep");
			xlb_prober_del(pr, key);
		}
		c.type = XLB_PROBE_SSTP;
		resp_stop(r);
	}

	/* a server that resumes nothing: full handshakes, all fine */
	{
		struct resp_cfg rc = { .mode = RESP_SSTP, .cert = cert_good, .key = key_good,
				       .no_resume = true };

		r = resp_start(&rc);
		key = next_key++;
		xlb_prober_set(pr, key, &lo4, resp_port(r), &c, XLB_HEALTH_UNKNOWN);
		for (n = 0; n < 3; n++) {
			st = next_probe(key);
			if (st.last != XLB_PR_OK || st.tls_resumed)
				break;
		}
		ok(n == 3, "server without resumption: 3 full handshakes, ok");
		xlb_prober_del(pr, key);
		resp_stop(r);
	}
}

struct all_up {
	uint64_t first;
	int n;
};

static bool all_up(const void *arg)
{
	const struct all_up *a = arg;

	for (int i = 0; i < a->n; i++) {
		const struct xlb_probe_status *st = xlb_prober_status(pr, a->first + (uint64_t)i);

		if (!st || st->health != XLB_HEALTH_UP)
			return false;
	}
	return true;
}

static void test_many(void)
{
	struct sstp_responder *r = server(RESP_SSTP, cert_good, key_good);
	struct xlb_probe_cfg c = cfg_of(XLB_PROBE_SSTP);
	struct xlb_prober_stats s0, s1;
	struct all_up a = { .first = 100000, .n = MANY };
	uint64_t t0;
	bool up;

	c.interval_ms = 500;
	c.timeout_ms = 500;
	c.rise = 2;
	xlb_prober_stats(pr, &s0);
	for (int i = 0; i < MANY; i++)
		xlb_prober_set(pr, a.first + (uint64_t)i, &lo4, resp_port(r), &c, XLB_HEALTH_UNKNOWN);
	t0 = mono_ms();
	up = pump(3000, all_up, &a);
	xlb_prober_stats(pr, &s1);
	ok(up, "%d targets up within %lu ms", MANY, (unsigned long)(mono_ms() - t0));
	ok(s1.ssl_ctxs == 1, "%d targets share one SSL_CTX", MANY);
	ok(s1.max_in_flight < MANY, "jitter: at most %u of %d in flight at once",
	   s1.max_in_flight, MANY);
	diag("%lu probes, %lu late, lateness max %lu us, mean %lu us",
	     (unsigned long)(s1.started - s0.started), (unsigned long)(s1.late - s0.late),
	     (unsigned long)s1.lateness_max_us,
	     (unsigned long)((s1.lateness_sum_us - s0.lateness_sum_us) /
			     (s1.started - s0.started + !(s1.started - s0.started))));
	for (int i = 0; i < MANY; i++)
		xlb_prober_del(pr, a.first + (uint64_t)i);
	xlb_prober_stats(pr, &s1);
	ok(s1.targets == 0 && s1.in_flight == 0 && s1.ssl_ctxs == 0,
	   "all deleted: nothing in flight, no SSL_CTX left");
	resp_stop(r);
}

/* Heap bytes per target at rest, and per probe in flight (OpenSSL
 * included) against a server in a child process that never answers. */
static void test_memory(void)
{
	struct resp_cfg rc = { .mode = RESP_HANG, .cert = cert_good, .key = key_good };
	struct xlb_probe_cfg c = cfg_of(XLB_PROBE_SSTP);
	struct xlb_prober_stats s;
	size_t m0, m1, m2;
	uint16_t port;
	int pid, n = 100;

	pid = resp_spawn(&rc, &port);
	if (pid < 0) {
		skip("cannot spawn a server");
		return;
	}
	c.interval_ms = 3600 * 1000;
	c.timeout_ms = 3000;
	m0 = mallinfo2().uordblks;
	for (int i = 0; i < n; i++)
		xlb_prober_set(pr, 200000 + (uint64_t)i, &lo4, port, &c, XLB_HEALTH_UNKNOWN);
	m1 = mallinfo2().uordblks;
	if (m1 == m0)
		skip("mallinfo2() sees no allocation (a sanitizer's allocator?)");
	else
		ok(m1 > m0, "at rest: %zu bytes per target (engine's count: %zu)",
		   (m1 - m0) / (size_t)n, xlb_prober_target_size());

	/* all probes at once: same interval, start now */
	c.interval_ms = 1;
	for (int i = 0; i < n; i++)
		xlb_prober_set(pr, 200000 + (uint64_t)i, &lo4, port, &c, XLB_HEALTH_UNKNOWN);
	pump(500, NULL, NULL);
	m2 = mallinfo2().uordblks;
	xlb_prober_stats(pr, &s);
	ok(s.in_flight == (uint32_t)n, "%u probes in flight, %zu bytes each (OpenSSL included)",
	   s.in_flight, (m2 - m1) / (s.in_flight ? s.in_flight : 1));
	for (int i = 0; i < n; i++)
		xlb_prober_del(pr, 200000 + (uint64_t)i);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static void make_certs(void)
{
	strcpy(dir, "/tmp/xlb-test-probe.XXXXXX");
	if (!mkdtemp(dir))
		bail_out("mkdtemp: %s", strerror(errno));
	snprintf(ca_good, sizeof(ca_good), "%s/good.pem", dir);
	snprintf(ca_other, sizeof(ca_other), "%s/other.pem", dir);
	snprintf(ca_expired, sizeof(ca_expired), "%s/expired.pem", dir);
	snprintf(ca_soon, sizeof(ca_soon), "%s/soon.pem", dir);
	if (resp_make_cert(NAME, -DAY, 365 * DAY, &cert_good, &key_good) ||
	    resp_make_cert("other.test", -DAY, 365 * DAY, &cert_other, &key_other) ||
	    resp_make_cert(NAME, -30 * DAY, -2 * DAY, &cert_expired, &key_expired) ||
	    resp_make_cert(NAME, -DAY, 5 * DAY - 3600, &cert_soon, &key_soon) ||
	    resp_write_pem(ca_good, cert_good) || resp_write_pem(ca_other, cert_other) ||
	    resp_write_pem(ca_expired, cert_expired) || resp_write_pem(ca_soon, cert_soon))
		bail_out("cannot make test certificates");
}

static void cleanup(void)
{
	unlink(ca_good);
	unlink(ca_other);
	unlink(ca_expired);
	unlink(ca_soon);
	rmdir(dir);
	X509_free(cert_good);
	X509_free(cert_other);
	X509_free(cert_expired);
	X509_free(cert_soon);
	EVP_PKEY_free(key_good);
	EVP_PKEY_free(key_other);
	EVP_PKEY_free(key_expired);
	EVP_PKEY_free(key_soon);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	xlb_ip_parse("127.0.0.1", &lo4);
	xlb_ip_parse("::1", &lo6);

	test_http_parser();
	test_sstp_parser();
	test_builders();

	make_certs();
	pr = xlb_prober_new(on_change, NULL);
	if (!pr)
		bail_out("xlb_prober_new: %s", strerror(errno));
	test_memory();		/* first: it forks */
	test_sstp_ok();
	test_head_variants();
	test_failures();
	test_timeouts();
	test_certs();
	test_http_probe();
	test_options();
	test_rise_fall();
	test_resume();
	test_many();
	xlb_prober_free(pr);
	cleanup();
	return tap_done();
}
