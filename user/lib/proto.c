// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* proto.c: the xlbd control protocol (see proto.h, docs/protocol.md). */
#include "proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int xlb_line_read(int fd, struct xlb_line_buf *lb, char **line)
{
	char *nl, *grown;
	ssize_t n;

	for (;;) {
		nl = lb->len ? memchr(lb->buf, '\n', lb->len) : NULL;
		if (nl) {
			*nl = '\0';
			*line = lb->buf;
			lb->line_len = nl - lb->buf + 1;
			return 1;
		}
		if (lb->len >= XLB_PROTO_MAX_LINE)
			return -EMSGSIZE;
		if (lb->cap - lb->len < 4096) {
			size_t cap = lb->cap ? 2 * lb->cap : 8192;

			grown = realloc(lb->buf, cap + 1);
			if (!grown)
				return -ENOMEM;
			lb->buf = grown;
			lb->cap = cap;
		}
		n = read(fd, lb->buf + lb->len, lb->cap - lb->len);
		if (n == 0)
			return -EPIPE;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		lb->len += n;
	}
}

void xlb_line_consume(struct xlb_line_buf *lb)
{
	size_t used = lb->line_len;

	/* by length, not by searching the NUL: a line may carry its own */
	memmove(lb->buf, lb->buf + used, lb->len - used);
	lb->len -= used;
	lb->line_len = 0;
}

void xlb_line_free(struct xlb_line_buf *lb)
{
	free(lb->buf);
	*lb = (struct xlb_line_buf){};
}

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int xlb_write_line(int fd, const char *s)
{
	int err = write_all(fd, s, strlen(s));

	return err ?: write_all(fd, "\n", 1);
}

struct json_object *xlb_req_parse(const char *line, const char **cmd,
				  struct json_object **args, char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error jerr;
	struct json_object *root, *c, *a;
	size_t len = strlen(line), end;

	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* the terminating NUL tells the tokener the input ends here ("5") */
	root = json_tokener_parse_ex(tok, line, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		snprintf(err, errlen, "request is not JSON (%s)", json_tokener_error_desc(jerr));
		json_object_put(root);
		return NULL;
	}
	/* one request per line: nothing but blanks may follow it */
	while (end < len && (line[end] == ' ' || line[end] == '\t' || line[end] == '\r'))
		end++;
	if (end < len) {
		snprintf(err, errlen, "request line has more after the JSON object");
		json_object_put(root);
		return NULL;
	}
	if (!root) {
		snprintf(err, errlen, "request must be an object with a string \"cmd\"");
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "cmd", &c) ||
	    !json_object_is_type(c, json_type_string)) {
		snprintf(err, errlen, "request must be an object with a string \"cmd\"");
		goto bad;
	}
	if (json_object_object_get_ex(root, "args", &a)) {
		if (!json_object_is_type(a, json_type_object)) {
			snprintf(err, errlen, "request \"args\" must be an object");
			goto bad;
		}
	} else {
		a = json_object_new_object();
		json_object_object_add(root, "args", a);
	}
	*cmd = json_object_get_string(c);
	*args = a;
	return root;
bad:
	json_object_put(root);
	return NULL;
}

/* The argument NAME, or NULL (with ERR when REQUIRED). */
static struct json_object *arg_get(struct json_object *args, const char *name, bool required,
				   int *ret, char *err, size_t errlen)
{
	struct json_object *v;

	*ret = 0;
	if (json_object_object_get_ex(args, name, &v) && !json_object_is_type(v, json_type_null))
		return v;
	if (required) {
		snprintf(err, errlen, "missing argument \"%s\"", name);
		*ret = -EINVAL;
	}
	return NULL;
}

int xlb_arg_string(struct json_object *args, const char *name, bool required,
		   const char **out, char *err, size_t errlen)
{
	struct json_object *v;
	int ret;

	v = arg_get(args, name, required, &ret, err, errlen);
	if (!v)
		return ret;
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "argument \"%s\" must be a string, not %s", name,
			 json_object_to_json_string(v));
		return -EINVAL;
	}
	*out = json_object_get_string(v);
	return 0;
}

int xlb_arg_bool(struct json_object *args, const char *name, bool *out, char *err, size_t errlen)
{
	struct json_object *v;
	int ret;

	v = arg_get(args, name, false, &ret, err, errlen);
	if (!v)
		return ret;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errlen, "argument \"%s\" must be true or false, not %s", name,
			 json_object_to_json_string(v));
		return -EINVAL;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

int xlb_arg_uint(struct json_object *args, const char *name, bool required,
		 uint64_t min, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	struct json_object *v;
	uint64_t n;
	int ret;

	v = arg_get(args, name, required, &ret, err, errlen);
	if (!v)
		return ret;
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "argument \"%s\" must be a whole number, not %s", name,
			 json_object_to_json_string(v));
		return -EINVAL;
	}
	/* json-c keeps integers past INT64_MAX as unsigned: read them so */
	n = json_object_get_int64(v) < 0 ? 0 : json_object_get_uint64(v);
	if (json_object_get_int64(v) < 0 || n < min || n > max) {
		snprintf(err, errlen, "argument \"%s\" is %s; it must be from %llu to %llu",
			 name, json_object_to_json_string(v), (unsigned long long)min,
			 (unsigned long long)max);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

int xlb_arg_service(struct json_object *args, const char *name, bool required,
		    struct xlb_service *out, char *err, size_t errlen)
{
	const char *s = NULL;
	int ret = xlb_arg_string(args, name, required, &s, err, errlen);

	if (ret || !s)
		return ret;
	if (xlb_service_parse(s, out)) {
		snprintf(err, errlen, "\"%s\" is not a service; write ADDRESS:PORT/tcp or "
			 "[IPv6]:PORT/udp, e.g. 198.18.0.10:443/tcp", s);
		return -EINVAL;
	}
	return 0;
}

int xlb_arg_ip(struct json_object *args, const char *name, bool required,
	       struct xlb_ip *out, char *err, size_t errlen)
{
	const char *s = NULL;
	int ret = xlb_arg_string(args, name, required, &s, err, errlen);

	if (ret || !s)
		return ret;
	if (xlb_ip_parse(s, out)) {
		snprintf(err, errlen, "\"%s\" is not an IPv4 or IPv6 address", s);
		return -EINVAL;
	}
	return 0;
}

int xlb_args_only(struct json_object *args, const char *const *known, char *err, size_t errlen)
{
	json_object_object_foreach(args, key, val) {
		const char *const *k;

		(void)val;
		for (k = known; *k && strcmp(*k, key); k++)
			;
		if (!*k) {
			snprintf(err, errlen, "unknown argument \"%s\"", key);
			return -EINVAL;
		}
	}
	return 0;
}

static char *dup_json(struct json_object *o)
{
	char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	return s;
}

char *xlb_resp_ok(struct json_object *data)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	if (data)
		json_object_object_add(o, "data", data);
	return dup_json(o);
}

char *xlb_resp_error(const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return dup_json(o);
}

struct json_object *xlb_call(const char *path, const char *cmd, struct json_object *args,
			     char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct json_object *req, *resp = NULL;
	struct xlb_line_buf lb = {};
	char *line;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long", path);
		json_object_put(args);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	json_object_object_add(req, "args", args ? args : json_object_new_object());

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (!strcmp(path, XLB_SOCKET_DEFAULT))
			snprintf(err, errlen, "cannot reach xlbd at %s: %s (is xlbd running? "
				 "'systemctl status xlbd')", path, strerror(errno));
		else
			snprintf(err, errlen, "cannot reach xlbd at %s: %s (is an xlbd running "
				 "with daemon.socket = \"%s\"?)", path, strerror(errno), path);
		goto out;
	}
	ret = xlb_write_line(fd, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	if (!ret)
		ret = xlb_line_read(fd, &lb, &line);
	if (ret != 1) {
		snprintf(err, errlen, "xlbd at %s did not answer: %s", path,
			 ret == -EPIPE ? "connection closed" : strerror(-ret));
		goto out;
	}
	resp = json_tokener_parse(line);
	if (!resp || !json_object_is_type(resp, json_type_object)) {
		snprintf(err, errlen, "xlbd sent a malformed answer");
		json_object_put(resp);
		resp = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	xlb_line_free(&lb);
	json_object_put(req);
	return resp;
}
