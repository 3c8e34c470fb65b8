/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_proto.c: the control protocol's shared half (user/lib/proto.c):
 * request parsing, the typed argument validators and their messages,
 * xlb_args_only, line framing over a socketpair, responses, and the client
 * call against a fake xlbd on a temporary socket. No daemon needed.
 */
#include "proto.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ERRLEN	512

static char err[ERRLEN];

/* An args object from JSON text (a test's own input: must parse). */
static struct json_object *obj(const char *json)
{
	struct json_object *o = json_tokener_parse(json);

	if (!o || !json_object_is_type(o, json_type_object))
		bail_out("test input is not a JSON object: %s", json);
	return o;
}

static bool has(const char *s, const char *needle)
{
	return s && strstr(s, needle);
}

/* ERR names NAME (in double quotes when QUOTED) and quotes VALUE. */
static bool names(const char *name, const char *value, bool quoted)
{
	char qname[128];

	snprintf(qname, sizeof(qname), quoted ? "\"%s\"" : "%s", name);
	return has(err, qname) && has(err, value);
}

/* ---- requests ---------------------------------------------------------------- */

static void test_req_parse(void)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "", "not JSON" },
		{ "not json", "not JSON" },
		{ "{\"cmd\":", "not JSON" },
		{ "[]", "object with a string \"cmd\"" },
		{ "5", "object with a string \"cmd\"" },
		{ "\"ping\"", "object with a string \"cmd\"" },
		/* JSON, but not an object: not "not JSON (success)" */
		{ "null", "object with a string \"cmd\"" },
		{ "{}", "object with a string \"cmd\"" },
		{ "{\"args\":{}}", "object with a string \"cmd\"" },
		{ "{\"cmd\":5}", "object with a string \"cmd\"" },
		{ "{\"cmd\":null}", "object with a string \"cmd\"" },
		{ "{\"cmd\":[\"ping\"]}", "object with a string \"cmd\"" },
		{ "{\"cmd\":\"ping\",\"args\":[]}", "\"args\" must be an object" },
		{ "{\"cmd\":\"ping\",\"args\":\"x\"}", "\"args\" must be an object" },
		{ "{\"cmd\":\"ping\",\"args\":null}", "\"args\" must be an object" },
		{ "{\"cmd\":\"ping\",\"args\":5}", "\"args\" must be an object" },
	};
	struct json_object *root, *args, *v;
	const char *cmd;

	/* a request with arguments: cmd and args borrow from the root */
	root = xlb_req_parse("{\"cmd\":\"backend.drain\",\"args\":{\"service\":\"198.18.0.10:443/tcp\","
			     "\"address\":\"198.18.31.2\"}}", &cmd, &args, err, sizeof(err));
	ok(root && !strcmp(cmd, "backend.drain"), "req_parse: cmd of a full request");
	ok(root && json_object_is_type(args, json_type_object) &&
	   json_object_object_length(args) == 2 && json_object_object_get_ex(args, "address", &v) &&
	   !strcmp(json_object_get_string(v), "198.18.31.2"), "req_parse: its args object");
	json_object_put(root);

	/* no args: an empty object, so validators can run on it */
	root = xlb_req_parse("{\"cmd\":\"ping\"}", &cmd, &args, err, sizeof(err));
	ok(root && !strcmp(cmd, "ping") && json_object_is_type(args, json_type_object) &&
	   json_object_object_length(args) == 0, "req_parse: absent args become an empty object");
	json_object_put(root);

	/* whitespace around and inside, and a CR from a telnet-ish client */
	root = xlb_req_parse("  { \"args\" : { } , \"cmd\" : \"vip.list\" }\r", &cmd, &args, err,
			     sizeof(err));
	ok(root && !strcmp(cmd, "vip.list"), "req_parse: whitespace, key order and a CR are fine");
	json_object_put(root);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		cmd = "untouched";
		root = xlb_req_parse(bad[i].line, &cmd, &args, err, sizeof(err));
		ok(!root && has(err, bad[i].why) && !strcmp(cmd, "untouched"),
		   "req_parse: '%s' refused: %s", bad[i].line, err);
		json_object_put(root);
	}

	/* A line is one request. json-c stops after the first complete value;
	 * what follows must not be silently dropped (the second request of
	 * '{"cmd":"ping"}{"cmd":"vip.del",...}' would vanish unanswered). */
	root = xlb_req_parse("{\"cmd\":\"ping\"}{\"cmd\":\"vip.list\"}", &cmd, &args, err,
			     sizeof(err));
	ok(!root, "req_parse: two objects on one line refused (got %s)", root ? "cmd ping" : err);
	json_object_put(root);
	root = xlb_req_parse("{\"cmd\":\"ping\"} trailing", &cmd, &args, err, sizeof(err));
	ok(!root, "req_parse: trailing garbage after the request refused (got %s)",
	   root ? "cmd ping" : err);
	json_object_put(root);

	/* deep nesting must not crash (json-c limits the depth) */
	{
		char deep[4096 + 64];
		size_t n = 0;

		n += sprintf(deep, "{\"cmd\":\"ping\",\"args\":{\"x\":");
		for (int i = 0; i < 2000; i++)
			deep[n++] = '[';
		deep[n] = 0;
		root = xlb_req_parse(deep, &cmd, &args, err, sizeof(err));
		ok(!root && has(err, "not JSON"), "req_parse: 2000 nested arrays refused: %s", err);
		json_object_put(root);
	}
}

/* ---- typed arguments ------------------------------------------------------------ */

static void test_arg_string(void)
{
	struct json_object *a = obj("{\"name\":\"be1\",\"n\":5,\"b\":true,\"o\":{\"k\":1},"
				    "\"z\":null,\"e\":\"\"}");
	const char *s;

	s = NULL;
	ok(!xlb_arg_string(a, "name", true, &s, err, sizeof(err)) && s && !strcmp(s, "be1"),
	   "arg_string: a string");
	s = NULL;
	ok(!xlb_arg_string(a, "e", true, &s, err, sizeof(err)) && s && !*s,
	   "arg_string: the empty string is a string");
	s = "untouched";
	ok(!xlb_arg_string(a, "absent", false, &s, err, sizeof(err)) && !strcmp(s, "untouched"),
	   "arg_string: optional and absent: 0, *out untouched");
	s = "untouched";
	ok(!xlb_arg_string(a, "z", false, &s, err, sizeof(err)) && !strcmp(s, "untouched"),
	   "arg_string: null counts as absent");
	ok(xlb_arg_string(a, "absent", true, &s, err, sizeof(err)) == -EINVAL &&
	   has(err, "missing argument \"absent\""), "arg_string: required and absent: %s", err);
	ok(xlb_arg_string(a, "z", true, &s, err, sizeof(err)) == -EINVAL &&
	   has(err, "missing argument \"z\""), "arg_string: required and null: %s", err);
	ok(xlb_arg_string(a, "n", true, &s, err, sizeof(err)) == -EINVAL && names("n", " 5", true) &&
	   has(err, "string"), "arg_string: a number refused: %s", err);
	ok(xlb_arg_string(a, "b", false, &s, err, sizeof(err)) == -EINVAL &&
	   names("b", "true", true), "arg_string: a boolean refused: %s", err);
	ok(xlb_arg_string(a, "o", false, &s, err, sizeof(err)) == -EINVAL &&
	   names("o", "\"k\"", true), "arg_string: an object refused, quoted: %s", err);
	json_object_put(a);
}

static void test_arg_bool(void)
{
	struct json_object *a = obj("{\"t\":true,\"f\":false,\"s\":\"yes\",\"n\":1,\"z\":null}");
	bool v;

	v = false;
	ok(!xlb_arg_bool(a, "t", &v, err, sizeof(err)) && v, "arg_bool: true");
	v = true;
	ok(!xlb_arg_bool(a, "f", &v, err, sizeof(err)) && !v, "arg_bool: false");
	v = true;
	ok(!xlb_arg_bool(a, "absent", &v, err, sizeof(err)) && v,
	   "arg_bool: absent: 0, *out untouched");
	v = true;
	ok(!xlb_arg_bool(a, "z", &v, err, sizeof(err)) && v, "arg_bool: null counts as absent");
	ok(xlb_arg_bool(a, "s", &v, err, sizeof(err)) == -EINVAL && names("s", "\"yes\"", true) &&
	   has(err, "true or false"), "arg_bool: \"yes\" refused: %s", err);
	ok(xlb_arg_bool(a, "n", &v, err, sizeof(err)) == -EINVAL && names("n", "1", true),
	   "arg_bool: 1 refused: %s", err);
	json_object_put(a);
}

static void test_arg_uint(void)
{
	struct json_object *a = obj("{\"lo\":1021,\"hi\":1048573,\"in\":65537,\"below\":1020,"
				    "\"above\":1048574,\"neg\":-1,\"f\":1.5,\"s\":\"5\",\"b\":false,"
				    "\"zero\":0,\"i64max\":9223372036854775807,"
				    "\"big\":9223372036854775808,\"u64max\":18446744073709551615}");
	uint64_t v;
	int ret;

	v = 0;
	ok(!xlb_arg_uint(a, "in", true, 1021, 1048573, &v, err, sizeof(err)) && v == 65537,
	   "arg_uint: a value in range");
	ok(!xlb_arg_uint(a, "lo", true, 1021, 1048573, &v, err, sizeof(err)) && v == 1021,
	   "arg_uint: the minimum is allowed");
	ok(!xlb_arg_uint(a, "hi", true, 1021, 1048573, &v, err, sizeof(err)) && v == 1048573,
	   "arg_uint: the maximum is allowed");
	ok(!xlb_arg_uint(a, "zero", true, 0, 10, &v, err, sizeof(err)) && v == 0,
	   "arg_uint: 0 when the minimum is 0");
	v = 42;
	ok(!xlb_arg_uint(a, "absent", false, 1, 2, &v, err, sizeof(err)) && v == 42,
	   "arg_uint: optional and absent: *out untouched");
	ok(xlb_arg_uint(a, "absent", true, 1, 2, &v, err, sizeof(err)) == -EINVAL &&
	   has(err, "missing argument \"absent\""), "arg_uint: required and absent: %s", err);

	v = 42;
	ok(xlb_arg_uint(a, "below", true, 1021, 1048573, &v, err, sizeof(err)) == -EINVAL &&
	   names("below", "1020", true) && has(err, "1021") && has(err, "1048573") && v == 42,
	   "arg_uint: below the range, with the range: %s", err);
	ok(xlb_arg_uint(a, "above", true, 1021, 1048573, &v, err, sizeof(err)) == -EINVAL &&
	   names("above", "1048574", true) && v == 42, "arg_uint: above the range: %s", err);
	ok(xlb_arg_uint(a, "neg", true, 0, 100, &v, err, sizeof(err)) == -EINVAL &&
	   names("neg", "-1", true) && v == 42, "arg_uint: negative: %s", err);
	ok(xlb_arg_uint(a, "f", true, 0, 100, &v, err, sizeof(err)) == -EINVAL &&
	   names("f", "1.5", true) && has(err, "whole number"), "arg_uint: a fraction: %s", err);
	ok(xlb_arg_uint(a, "s", true, 0, 100, &v, err, sizeof(err)) == -EINVAL &&
	   names("s", "\"5\"", true), "arg_uint: a string of digits: %s", err);
	ok(xlb_arg_uint(a, "b", true, 0, 100, &v, err, sizeof(err)) == -EINVAL &&
	   names("b", "false", true), "arg_uint: a boolean: %s", err);
	ok(!xlb_arg_uint(a, "i64max", true, 0, UINT64_MAX, &v, err, sizeof(err)) &&
	   v == 9223372036854775807ull, "arg_uint: 2^63-1 with no upper limit");

	/* json-c keeps 2^63..2^64-1 as unsigned; reading them as int64 clamps
	 * to 2^63-1: a range error must quote what the client sent, and a
	 * value must never come back changed */
	ok(xlb_arg_uint(a, "u64max", true, 0, 1000, &v, err, sizeof(err)) == -EINVAL &&
	   names("u64max", "18446744073709551615", true),
	   "arg_uint: 2^64-1 out of range quoted as sent: %s", err);
	v = 42;
	ret = xlb_arg_uint(a, "big", true, 0, UINT64_MAX, &v, err, sizeof(err));
	ok(ret ? ret == -EINVAL : v == 9223372036854775808ull,
	   "arg_uint: 2^63 with no upper limit is 2^63 or refused (got %s %llu)",
	   ret ? "error" : "value", (unsigned long long)v);
	json_object_put(a);
}

static void test_arg_service(void)
{
	static const char *const badv[] = {
		"198.18.0.10:0/tcp", "198.18.0.10:65536/tcp", "198.18.0.10:80/sctp",
		"198.18.0.10:80", "198.18.0.300:80/tcp", "198.18.0.10/tcp", "2001:db8::10:80/tcp",
		"[2001:db8::10:80/tcp", "[198.18.0.10]:80/tcp", ":80/tcp", "", "198.18.0.10:-1/tcp",
		"198.18.0.10: 80/tcp", "198.18.0.10:80/TCP",
	};
	struct xlb_service s, keep;
	struct json_object *a;
	char buf[XLB_SERVICE_STRLEN];

	a = obj("{\"service\":\"198.18.0.10:443/tcp\",\"v6\":\"[2001:db8::10]:53/udp\"}");
	ok(!xlb_arg_service(a, "service", true, &s, err, sizeof(err)) &&
	   !strcmp(xlb_service_str(&s, buf, sizeof(buf)), "198.18.0.10:443/tcp") &&
	   s.port == 443 && s.proto == IPPROTO_TCP, "arg_service: IPv4 TCP");
	ok(!xlb_arg_service(a, "v6", true, &s, err, sizeof(err)) &&
	   !strcmp(xlb_service_str(&s, buf, sizeof(buf)), "[2001:db8::10]:53/udp") &&
	   s.addr.family == XLB_FAMILY_V6 && s.proto == IPPROTO_UDP, "arg_service: IPv6 UDP");
	keep = s;
	ok(!xlb_arg_service(a, "absent", false, &s, err, sizeof(err)) &&
	   !memcmp(&s, &keep, sizeof(s)), "arg_service: optional and absent: untouched");
	ok(xlb_arg_service(a, "absent", true, &s, err, sizeof(err)) == -EINVAL &&
	   has(err, "missing argument \"absent\""), "arg_service: required and absent: %s", err);
	json_object_put(a);

	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		struct json_object *b = json_object_new_object();
		char q[96];

		json_object_object_add(b, "service", json_object_new_string(badv[i]));
		snprintf(q, sizeof(q), "\"%s\"", badv[i]);
		s = keep;
		ok(xlb_arg_service(b, "service", true, &s, err, sizeof(err)) == -EINVAL &&
		   names("service", q, false) && has(err, "198.18.0.10:443/tcp") &&
		   !memcmp(&s, &keep, sizeof(s)),
		   "arg_service: '%s' refused, quoted, with an example: %s", badv[i], err);
		json_object_put(b);
	}
	a = obj("{\"service\":443}");
	ok(xlb_arg_service(a, "service", true, &s, err, sizeof(err)) == -EINVAL &&
	   names("service", "443", true), "arg_service: a number refused: %s", err);
	json_object_put(a);
}

static void test_arg_ip(void)
{
	static const char *const badv[] = {
		"198.18.300.2", "1.2.3", "198.18.1.2/24", "2001:db8::1::2", "[2001:db8::1]",
		"198.18.1.2 ", "", "fe80::1%eth0", "localhost",
	};
	struct json_object *a = obj("{\"address\":\"198.18.31.2\",\"v6\":\"2001:db8::2\","
				    "\"n\":5}");
	struct xlb_ip ip, keep;
	char buf[64];

	ok(!xlb_arg_ip(a, "address", true, &ip, err, sizeof(err)) &&
	   ip.family == XLB_FAMILY_V4 && !strcmp(xlb_ip_str(&ip, buf, sizeof(buf)), "198.18.31.2"),
	   "arg_ip: IPv4");
	ok(!xlb_arg_ip(a, "v6", true, &ip, err, sizeof(err)) && ip.family == XLB_FAMILY_V6 &&
	   !strcmp(xlb_ip_str(&ip, buf, sizeof(buf)), "2001:db8::2"), "arg_ip: IPv6");
	keep = ip;
	ok(!xlb_arg_ip(a, "absent", false, &ip, err, sizeof(err)) &&
	   !memcmp(&ip, &keep, sizeof(ip)), "arg_ip: optional and absent: untouched");
	ok(xlb_arg_ip(a, "n", true, &ip, err, sizeof(err)) == -EINVAL && names("n", "5", true),
	   "arg_ip: a number refused: %s", err);
	json_object_put(a);

	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		struct json_object *b = json_object_new_object();
		char q[96];

		json_object_object_add(b, "address", json_object_new_string(badv[i]));
		snprintf(q, sizeof(q), "\"%s\"", badv[i]);
		ip = keep;
		ok(xlb_arg_ip(b, "address", true, &ip, err, sizeof(err)) == -EINVAL &&
		   names("address", q, false) && !memcmp(&ip, &keep, sizeof(ip)),
		   "arg_ip: '%s' refused and quoted: %s", badv[i], err);
		json_object_put(b);
	}
}

static void test_args_only(void)
{
	static const char *const known[] = { "service", "address", "force", NULL };
	static const char *const none[] = { NULL };
	struct json_object *a;

	a = obj("{\"service\":\"x\",\"force\":true}");
	ok(!xlb_args_only(a, known, err, sizeof(err)), "args_only: known arguments pass");
	json_object_put(a);
	a = obj("{}");
	ok(!xlb_args_only(a, known, err, sizeof(err)) && !xlb_args_only(a, none, err, sizeof(err)),
	   "args_only: no arguments pass");
	json_object_put(a);
	a = obj("{\"service\":\"x\",\"wieght\":3}");
	ok(xlb_args_only(a, known, err, sizeof(err)) == -EINVAL &&
	   has(err, "unknown argument \"wieght\""), "args_only: a typo is refused by name: %s", err);
	json_object_put(a);
	a = obj("{\"service\":\"x\"}");
	ok(xlb_args_only(a, none, err, sizeof(err)) == -EINVAL &&
	   has(err, "unknown argument \"service\""), "args_only: nothing known: %s", err);
	json_object_put(a);
	a = obj("{\"servic\":1,\"servicee\":2}");
	ok(xlb_args_only(a, known, err, sizeof(err)) == -EINVAL && has(err, "\"servic"),
	   "args_only: prefixes and extensions of a known name are not it: %s", err);
	json_object_put(a);
}

/* Error messages never overflow ERR, and stay NUL-terminated. */
static void test_small_err(void)
{
	struct json_object *a = obj("{\"address\":\"0123456789012345678901234567890123456789\"}");
	struct xlb_ip ip;
	char small[16];

	memset(small, 'X', sizeof(small));
	ok(xlb_arg_ip(a, "address", true, &ip, small, sizeof(small)) == -EINVAL &&
	   memchr(small, 0, sizeof(small)) && strlen(small) == sizeof(small) - 1,
	   "a long message is cut to the error buffer and terminated");
	json_object_put(a);
}

/* ---- framing -------------------------------------------------------------------- */

static int sp[2];

static void pair_open(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		bail_out("socketpair: %s", strerror(errno));
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
}

static void pair_close(void)
{
	close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
}

static void put(const void *p, size_t n)
{
	if (write(sp[1], p, n) != (ssize_t)n)
		bail_out("write: %s", strerror(errno));
}

static void test_framing(void)
{
	struct xlb_line_buf lb = {};
	char *line = NULL;
	int ret;

	/* a line in pieces: nothing until the newline */
	pair_open();
	put("{\"cmd\":", 7);
	ret = xlb_line_read(sp[0], &lb, &line);
	is_u64(ret, 0, "framing: half a line: 0 (more needed)");
	put("\"ping\"}", 7);
	ret = xlb_line_read(sp[0], &lb, &line);
	is_u64(ret, 0, "framing: still no newline: 0");
	put("\n", 1);
	ret = xlb_line_read(sp[0], &lb, &line);
	ok(ret == 1 && !strcmp(line, "{\"cmd\":\"ping\"}"), "framing: the line, once complete");
	xlb_line_consume(&lb);
	ret = xlb_line_read(sp[0], &lb, &line);
	ok(ret == 0 && lb.len == 0, "framing: consumed: buffer empty, 0");

	/* several lines in one read, and an empty one */
	put("a\nbb\n\nccc\nddd", 13);
	{
		const char *want[] = { "a", "bb", "", "ccc" };
		bool good = true;

		for (int i = 0; i < 4; i++) {
			ret = xlb_line_read(sp[0], &lb, &line);
			if (ret != 1 || strcmp(line, want[i])) {
				diag("line %d: ret %d, \"%s\", want \"%s\"", i, ret,
				     ret == 1 ? line : "", want[i]);
				good = false;
			}
			xlb_line_consume(&lb);
		}
		ok(good, "framing: four lines from one read, in order, the empty one too");
	}
	ret = xlb_line_read(sp[0], &lb, &line);
	ok(ret == 0 && lb.len == 3, "framing: the unterminated tail is kept (ret %d, %zu bytes)",
	   ret, lb.len);
	put("\n", 1);
	ret = xlb_line_read(sp[0], &lb, &line);
	ok(ret == 1 && !strcmp(line, "ddd"), "framing: ...and completed by the next read");
	xlb_line_consume(&lb);

	/* EOF, with and without a partial line */
	put("partial", 7);
	close(sp[1]);
	sp[1] = -1;
	ret = xlb_line_read(sp[0], &lb, &line);
	is_u64(ret, -EPIPE, "framing: EOF after a partial line: -EPIPE");
	ret = xlb_line_read(sp[0], &lb, &line);
	is_u64(ret, -EPIPE, "framing: EOF again: -EPIPE");
	xlb_line_free(&lb);
	ok(!lb.buf && !lb.len && !lb.cap, "framing: line_free empties the buffer");
	pair_close();

	/* A NUL inside a line must not shift the framing: every '\n' ends one
	 * request, so the request after it is read whole. Otherwise a client
	 * that sends a stray NUL has its next request answered with an error
	 * for a fragment and its real request left unanswered. */
	pair_open();
	put("ab\0cd\n{\"cmd\":\"ping\"}\n", 21);
	ret = xlb_line_read(sp[0], &lb, &line);
	ok(ret == 1, "framing: a line with a NUL in it is returned");
	xlb_line_consume(&lb);
	ret = xlb_line_read(sp[0], &lb, &line);
	ok(ret == 1 && !strcmp(line, "{\"cmd\":\"ping\"}"),
	   "framing: the line after a NUL-bearing line is the next request (got %d \"%s\")", ret,
	   ret == 1 ? line : "");
	xlb_line_free(&lb);
	pair_close();

	/* xlb_write_line: the text and one newline */
	pair_open();
	ok(!xlb_write_line(sp[1], "{\"ok\":true}"), "write_line: 0");
	ret = xlb_line_read(sp[0], &lb, &line);
	ok(ret == 1 && !strcmp(line, "{\"ok\":true}"), "write_line: read back as one line");
	xlb_line_consume(&lb);
	ok(xlb_line_read(sp[0], &lb, &line) == 0, "write_line: nothing more");
	xlb_line_free(&lb);
	close(sp[0]);
	sp[0] = -1;
	signal(SIGPIPE, SIG_IGN);
	ok(xlb_write_line(sp[1], "x") == -EPIPE, "write_line: to a closed peer: -EPIPE");
	close(sp[1]);
}

struct feeder {
	int fd;
	size_t n;		/* bytes of 'x' before the newline */
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	static char chunk[1 << 16];
	size_t left = f->n;
	ssize_t w;

	memset(chunk, 'x', sizeof(chunk));
	while (left) {
		w = send(f->fd, chunk, left < sizeof(chunk) ? left : sizeof(chunk), MSG_NOSIGNAL);
		if (w <= 0)
			return NULL;	/* the reader gave up: fine */
		left -= w;
	}
	send(f->fd, "\n", 1, MSG_NOSIGNAL);
	return NULL;
}

/* Feed N bytes and a newline from a thread; read until a verdict. */
static int read_long(size_t n, size_t *got_len)
{
	struct xlb_line_buf lb = {};
	struct feeder f;
	pthread_t th;
	char *line;
	int ret;

	pair_open();
	f = (struct feeder){ .fd = sp[1], .n = n };
	pthread_create(&th, NULL, feed, &f);
	for (;;) {
		struct pollfd p = { .fd = sp[0], .events = POLLIN };

		ret = xlb_line_read(sp[0], &lb, &line);
		if (ret)
			break;
		poll(&p, 1, 5000);
	}
	*got_len = ret == 1 ? strlen(line) : 0;
	xlb_line_free(&lb);
	close(sp[0]);		/* unblocks the feeder */
	pthread_join(th, NULL);
	close(sp[1]);
	return ret;
}

static void test_long_lines(void)
{
	size_t len;
	int ret;

	ret = read_long(XLB_PROTO_MAX_LINE - 1, &len);
	ok(ret == 1 && len == XLB_PROTO_MAX_LINE - 1,
	   "framing: a line of 16 MiB - 1 bytes is read whole (ret %d, %zu bytes)", ret, len);
	ret = read_long(XLB_PROTO_MAX_LINE + (1u << 20), &len);
	is_u64(ret, -EMSGSIZE, "framing: a line of 17 MiB: -EMSGSIZE");
	ret = read_long(4u * XLB_PROTO_MAX_LINE, &len);
	is_u64(ret, -EMSGSIZE, "framing: a line of 64 MiB: -EMSGSIZE, without reading it all");
}

/* ---- responses -------------------------------------------------------------------- */

static void test_responses(void)
{
	struct json_object *r, *v, *data;
	char *s;

	s = xlb_resp_ok(NULL);
	ok(s && !strcmp(s, "{\"ok\":true}"), "resp_ok(NULL): {\"ok\":true} (%s)", s);
	free(s);

	data = json_object_new_object();
	json_object_object_add(data, "flushed", json_object_new_uint64(12));
	json_object_object_add(data, "text", json_object_new_string("a\nb \"q\""));
	s = xlb_resp_ok(data);
	r = s ? json_tokener_parse(s) : NULL;
	ok(s && !strchr(s, '\n') && r && json_object_object_get_ex(r, "ok", &v) &&
	   json_object_get_boolean(v) && json_object_object_get_ex(r, "data", &data) &&
	   json_object_object_get_ex(data, "flushed", &v) && json_object_get_uint64(v) == 12 &&
	   json_object_object_get_ex(data, "text", &v) &&
	   !strcmp(json_object_get_string(v), "a\nb \"q\""),
	   "resp_ok(data): one line, data round-trips (newline and quotes escaped)");
	json_object_put(r);
	free(s);

	s = xlb_resp_error("backend %s: no such backend of %s", "198.18.31.9",
			   "198.18.0.10:443/tcp");
	r = s ? json_tokener_parse(s) : NULL;
	ok(r && json_object_object_get_ex(r, "ok", &v) && !json_object_get_boolean(v) &&
	   json_object_object_get_ex(r, "error", &v) &&
	   !strcmp(json_object_get_string(v),
		   "backend 198.18.31.9: no such backend of 198.18.0.10:443/tcp") &&
	   !json_object_object_get_ex(r, "data", NULL),
	   "resp_error: ok false and the formatted sentence");
	json_object_put(r);
	free(s);

	{
		char big[3000];

		memset(big, 'e', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		s = xlb_resp_error("\"%s\"\n\t%s", "quoted", big);
		r = s ? json_tokener_parse(s) : NULL;
		ok(s && !strchr(s, '\n') && r && json_object_object_get_ex(r, "error", &v) &&
		   !strncmp(json_object_get_string(v), "\"quoted\"\n\t", 10),
		   "resp_error: a long message with quotes and control characters stays one "
		   "valid line");
		json_object_put(r);
		free(s);
	}
}

/* ---- the client call, against a fake xlbd ------------------------------------------ */

enum fake_mode { FAKE_ANSWER, FAKE_CLOSE, FAKE_GARBAGE, FAKE_ARRAY };

struct fake {
	int lfd;
	enum fake_mode mode;
	char got[256];		/* the request line received */
};

static void *fake_xlbd(void *arg)
{
	struct fake *f = arg;
	struct xlb_line_buf lb = {};
	char *line;
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (xlb_line_read(fd, &lb, &line) == 1)
		snprintf(f->got, sizeof(f->got), "%s", line);
	if (f->mode == FAKE_ANSWER)
		xlb_write_line(fd, "{\"ok\":true,\"data\":{\"version\":\"test\"}}");
	else if (f->mode == FAKE_GARBAGE)
		xlb_write_line(fd, "this is not json");
	else if (f->mode == FAKE_ARRAY)
		xlb_write_line(fd, "[1,2]");
	xlb_line_free(&lb);
	close(fd);
	return NULL;
}

static struct json_object *call_fake(const char *path, enum fake_mode mode, struct fake *f,
				     struct json_object *args)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct json_object *resp;
	pthread_t th;

	*f = (struct fake){ .mode = mode };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(f->lfd, 1))
		bail_out("fake xlbd on %s: %s", path, strerror(errno));
	pthread_create(&th, NULL, fake_xlbd, f);
	err[0] = 0;
	resp = xlb_call(path, "ping", args, err, sizeof(err));
	pthread_join(th, NULL);
	close(f->lfd);
	unlink(path);
	return resp;
}

static void test_call(void)
{
	char dir[] = "/tmp/test_proto.XXXXXX", path[128];
	struct json_object *resp, *v, *args;
	struct fake f;
	char longpath[200];

	if (!mkdtemp(dir))
		bail_out("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/xlbd.sock", dir);

	args = json_object_new_object();
	json_object_object_add(args, "service", json_object_new_string("198.18.0.10:443/tcp"));
	resp = call_fake(path, FAKE_ANSWER, &f, args);
	ok(!strcmp(f.got, "{\"cmd\":\"ping\",\"args\":{\"service\":\"198.18.0.10:443\\/tcp\"}}") ||
	   !strcmp(f.got, "{\"cmd\":\"ping\",\"args\":{\"service\":\"198.18.0.10:443/tcp\"}}"),
	   "call: sends {cmd, args} as one line (%s)", f.got);
	ok(resp && json_object_object_get_ex(resp, "ok", &v) && json_object_get_boolean(v),
	   "call: returns the parsed answer");
	json_object_put(resp);

	resp = call_fake(path, FAKE_ANSWER, &f, NULL);
	ok(!strcmp(f.got, "{\"cmd\":\"ping\",\"args\":{}}"), "call: no args: an empty object (%s)",
	   f.got);
	json_object_put(resp);

	resp = call_fake(path, FAKE_CLOSE, &f, NULL);
	ok(!resp && has(err, path) && has(err, "connection closed"),
	   "call: xlbd closes without answering: %s", err);
	resp = call_fake(path, FAKE_GARBAGE, &f, NULL);
	ok(!resp && has(err, "malformed"), "call: an answer that is not JSON: %s", err);
	resp = call_fake(path, FAKE_ARRAY, &f, NULL);
	ok(!resp && has(err, "malformed"), "call: an answer that is not an object: %s", err);

	err[0] = 0;
	resp = xlb_call(path, "ping", NULL, err, sizeof(err));
	ok(!resp && has(err, path) && has(err, "is an xlbd running with daemon.socket"),
	   "call: nobody listening: names the socket and the likely cause: %s", err);

	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = 0;
	args = json_object_new_object();
	resp = xlb_call(longpath, "ping", args, err, sizeof(err));
	ok(!resp && has(err, "too long"), "call: a socket path too long for sun_path: %.40s...",
	   err);
	rmdir(dir);
}

int main(void)
{
	test_req_parse();
	test_arg_string();
	test_arg_bool();
	test_arg_uint();
	test_arg_service();
	test_arg_ip();
	test_args_only();
	test_small_err();
	test_framing();
	test_long_lines();
	test_responses();
	test_call();
	return tap_done();
}
