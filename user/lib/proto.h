/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * proto.h: the xlbd control protocol (docs/protocol.md). A Unix stream
 * socket, root only; each message is one line of JSON:
 *
 *   -> {"cmd":"backend.drain","args":{"service":"198.18.0.10:443/tcp","address":"198.18.31.2"}}
 *   <- {"ok":true,"data":{...}}
 *   <- {"ok":false,"error":"backend 198.18.31.9: no such backend of 198.18.0.10:443/tcp (see 'xlbctl backend list 198.18.0.10:443/tcp')"}
 *
 * Helpers for both ends: framing, and typed, validating access to a
 * request's arguments so a malformed request gets an error, never a crash.
 */
#ifndef XLB_PROTO_H
#define XLB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "model.h"

#define XLB_PROTO_MAX_LINE	(16u << 20)	/* a whole setconf fits */
#define XLB_SOCKET_DEFAULT	"/run/xlb/xlbd.sock"

/* A line reader for a non-blocking or blocking fd. */
struct xlb_line_buf {
	char	*buf;
	size_t	len;
	size_t	cap;
	size_t	line_len;		/* of the line returned last, newline included */
};

/* Read what is available from FD into LB. Returns 1 if a complete line is
 * ready (*line points into LB, NUL-terminated, valid until the next call),
 * 0 if more is needed (EAGAIN), -EPIPE at EOF, -EMSGSIZE past
 * XLB_PROTO_MAX_LINE, or another -errno. */
int xlb_line_read(int fd, struct xlb_line_buf *lb, char **line);
/* Drop the line returned last. */
void xlb_line_consume(struct xlb_line_buf *lb);
void xlb_line_free(struct xlb_line_buf *lb);

/* Write all of S and a newline (blocking). 0 or -errno. */
int xlb_write_line(int fd, const char *s);

/* Parse one request line: *cmd and *args (an object, maybe empty) borrow
 * from the returned root, which the caller puts. NULL and ERR filled when
 * the line is not {"cmd": string, "args"?: object}. */
struct json_object *xlb_req_parse(const char *line, const char **cmd,
				  struct json_object **args, char *err, size_t errlen);

/*
 * Typed arguments. Each returns 0, or -EINVAL with ERR set to a sentence
 * naming the argument, quoting the bad value and saying what is expected.
 * Optional ones leave *out alone when the argument is absent (return 0).
 */
int xlb_arg_string(struct json_object *args, const char *name, bool required,
		   const char **out, char *err, size_t errlen);
int xlb_arg_bool(struct json_object *args, const char *name, bool *out,
		 char *err, size_t errlen);
int xlb_arg_uint(struct json_object *args, const char *name, bool required,
		 uint64_t min, uint64_t max, uint64_t *out, char *err, size_t errlen);
int xlb_arg_service(struct json_object *args, const char *name, bool required,
		    struct xlb_service *out, char *err, size_t errlen);
int xlb_arg_ip(struct json_object *args, const char *name, bool required,
	       struct xlb_ip *out, char *err, size_t errlen);
/* Refuse arguments not in the NULL-terminated list KNOWN. */
int xlb_args_only(struct json_object *args, const char *const *known, char *err, size_t errlen);

/* Responses. The returned string is malloc'd, one line, no newline. */
char *xlb_resp_ok(struct json_object *data);	/* takes DATA (may be NULL) */
char *xlb_resp_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Client side: connect to PATH, send CMD with ARGS (taken), wait for the
 * response. Returns the parsed response (caller puts) or NULL with ERR. */
struct json_object *xlb_call(const char *path, const char *cmd, struct json_object *args,
			     char *err, size_t errlen);

#endif
