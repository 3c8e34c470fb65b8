/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fuzz_proto.c: libFuzzer target for the control protocol's parsing half
 * (user/lib/proto.c), what xlbd runs on every line a client writes:
 *
 *  1. the bytes go through the line reader (a socketpair, as xlbd reads its
 *     clients), which must hand back exactly the input's lines, byte for
 *     byte (a NUL inside a line must not shift the framing);
 *  2. each line through xlb_req_parse, and every typed validator runs on
 *     every argument the request carries (and a few it does not), required
 *     and optional: each returns 0 or -EINVAL, an error is a terminated
 *     sentence, an absent optional argument leaves the output alone;
 *  3. each error becomes a response line, which must be one line of JSON.
 *
 * Never a crash, a leak or undefined behaviour (built with ASan and UBSan).
 */
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_INPUT	(64u << 10)	/* fits a socketpair's buffer */
#define ERRLEN		768

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_proto: %s: %s\n", what, detail ? detail : "");
	abort();
}

/* A validator's error: -EINVAL and a terminated, non-empty sentence. */
static void check_err(int ret, const char *err, const char *who)
{
	if (ret != 0 && ret != -EINVAL)
		die("validator returned neither 0 nor -EINVAL", who);
	if (ret && (!memchr(err, '\0', ERRLEN) || !err[0]))
		die("validator failed without a message", who);
}

/* An error response must be one line of JSON saying ok false. */
static void check_resp(const char *err)
{
	struct json_object *r, *v;
	char *line = xlb_resp_error("%s", err);

	if (!line)
		return;		/* out of memory */
	if (strchr(line, '\n'))
		die("response spans lines", line);
	r = json_tokener_parse(line);
	if (!r || !json_object_object_get_ex(r, "ok", &v) || json_object_get_boolean(v))
		die("error response is not {\"ok\":false,...}", line);
	json_object_put(r);
	free(line);
}

static const char *const names[] = {
	"service", "address", "weight", "ring_size", "mss", "hash", "force", "drain",
	"disabled", "limit", "text", "name", "interface", "generic", "", NULL
};

static const char *const known[] = { "service", "address", "weight", "drain", "disabled", NULL };

/* Every validator on argument NAME, required and optional. */
static void validate(struct json_object *args, const char *name)
{
	char err[ERRLEN];
	struct xlb_service svc, svc0;
	struct xlb_ip ip, ip0;
	const char *s;
	uint64_t u;
	bool b;
	int ret;

	for (int req = 0; req < 2; req++) {
		s = "untouched";
		err[0] = 0;
		ret = xlb_arg_string(args, name, req, &s, err, sizeof(err));
		check_err(ret, err, "arg_string");
		if (!ret && !s)
			die("arg_string gave no string", name);
		if (ret)
			check_resp(err);

		u = 12345;
		err[0] = 0;
		ret = xlb_arg_uint(args, name, req, req ? 1 : 0, req ? 1000 : UINT64_MAX, &u, err,
				   sizeof(err));
		check_err(ret, err, "arg_uint");
		if (!ret && req && (u < 1 || u > 1000))
			die("arg_uint accepted a value out of range", name);
		if (ret)
			check_resp(err);

		memset(&svc, 0xa5, sizeof(svc));
		svc0 = svc;
		err[0] = 0;
		ret = xlb_arg_service(args, name, req, &svc, err, sizeof(err));
		check_err(ret, err, "arg_service");
		if (ret && memcmp(&svc, &svc0, sizeof(svc)))
			die("arg_service changed its output on an error", name);
		if (!ret && json_object_object_get_ex(args, name, NULL) && !svc.port &&
		    memcmp(&svc, &svc0, sizeof(svc)))
			die("arg_service accepted port 0", name);
		if (ret)
			check_resp(err);

		memset(&ip, 0xa5, sizeof(ip));
		ip0 = ip;
		err[0] = 0;
		ret = xlb_arg_ip(args, name, req, &ip, err, sizeof(err));
		check_err(ret, err, "arg_ip");
		if (ret && memcmp(&ip, &ip0, sizeof(ip)))
			die("arg_ip changed its output on an error", name);
		if (ret)
			check_resp(err);
	}
	b = true;
	err[0] = 0;
	ret = xlb_arg_bool(args, name, &b, err, sizeof(err));
	check_err(ret, err, "arg_bool");
	if (ret)
		check_resp(err);
}

static void one_request(const char *line)
{
	char err[ERRLEN];
	struct json_object *root, *args;
	const char *cmd = NULL;
	int ret;

	err[0] = 0;
	root = xlb_req_parse(line, &cmd, &args, err, sizeof(err));
	if (!root) {
		if (!err[0] || !memchr(err, '\0', sizeof(err)))
			die("request refused without a message", line);
		check_resp(err);
		return;
	}
	if (!cmd || !args || !json_object_is_type(args, json_type_object))
		die("parsed request without cmd or args object", line);
	json_object_object_foreach(args, key, val) {
		(void)val;
		validate(args, key);
	}
	for (const char *const *n = names; *n; n++)
		validate(args, *n);
	err[0] = 0;
	ret = xlb_args_only(args, known, err, sizeof(err));
	check_err(ret, err, "args_only");
	if (ret)
		check_resp(err);
	/* a successful answer carrying the arguments back, as show/flows do */
	{
		char *ok = xlb_resp_ok(json_object_get(args));

		if (ok && strchr(ok, '\n'))
			die("ok response spans lines", ok);
		free(ok);
	}
	json_object_put(root);
}

/* The input through the line reader; each line as a request. */
static void frame(const uint8_t *data, size_t size)
{
	struct xlb_line_buf lb = {};
	const uint8_t *p = data, *end = data + size;
	char *line;
	int sp[2], ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		return;
	if (size && write(sp[1], data, size) != (ssize_t)size) {
		close(sp[0]);
		close(sp[1]);
		return;
	}
	close(sp[1]);
	while ((ret = xlb_line_read(sp[0], &lb, &line)) == 1) {
		const uint8_t *nl = memchr(p, '\n', end - p);

		if (!nl)
			die("a line without a newline in the input", line);
		/* byte for byte the input's line, NULs in it and all, and
		 * terminated where its newline was */
		if (memcmp(line, p, nl - p) || line[nl - p])
			die("the line reader returned another line than the input's", line);
		p = nl + 1;
		one_request(line);
		xlb_line_consume(&lb);
	}
	if (ret != -EPIPE)
		die("the line reader ended without EOF", strerror(-ret));
	if (memchr(p, '\n', end - p))
		die("the line reader stopped before the last line", NULL);
	xlb_line_free(&lb);
	close(sp[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size > MAX_INPUT)
		return 0;
	frame(data, size);
	/* the whole input as one line too, newlines and all */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	one_request(text);
	free(text);
	return 0;
}
