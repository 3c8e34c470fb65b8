/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fuzz_config.c: libFuzzer target for the config parser (user/lib/config.c).
 * Any bytes, as a config file and as a state file: refused with a message
 * and the output untouched, or accepted; what is accepted must validate,
 * format and parse back to an equal conf, and format to the same text again.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT	(64u << 10)

static void die(const char *what, const char *text, const struct xlb_conf_error *e)
{
	char msg[1024] = "";

	if (e)
		xlb_conf_error_str(e, msg, sizeof(msg));
	fprintf(stderr, "fuzz_config: %s\n%s\n---- text ----\n%s\n", what, msg, text ? text : "");
	abort();
}

static void round_trip(const struct xlb_conf *c, enum xlb_conf_part part, unsigned flags)
{
	struct xlb_conf_error err;
	struct xlb_conf back;
	char *text, *again;

	text = xlb_conf_format(c, part, flags);
	if (!text)
		die("format failed", NULL, NULL);
	xlb_conf_init(&back);
	if (xlb_conf_parse_string(text, "formatted", part, &back, &err))
		die("formatted text does not parse", text, &err);
	if (!xlb_conf_equal(c, &back, part))
		die("formatted text parses to another conf", text, NULL);
	again = xlb_conf_format(&back, part, flags);
	if (!again || strcmp(text, again))
		die("formatting is not stable", again, NULL);
	free(again);
	free(text);
	xlb_conf_free(&back);
}

static void one(const char *text, enum xlb_conf_part part)
{
	struct xlb_conf_error err;
	struct xlb_conf c, fresh;

	xlb_conf_init(&c);
	xlb_conf_init(&fresh);
	if (xlb_conf_parse_string(text, "fuzz", part, &c, &err)) {
		if (!err.msg[0] || !memchr(err.file, '\0', sizeof(err.file)) ||
		    !memchr(err.key, '\0', sizeof(err.key)) || err.line < 0)
			die("refused without a proper message", text, &err);
		if (c.n_vips || !xlb_conf_equal(&c, &fresh, XLB_CONF_FULL))
			die("a refused document changed the output", text, &err);
		return;
	}
	if (xlb_conf_validate(&c, part, &err))
		die("a parsed conf does not validate", text, &err);
	round_trip(&c, part, 0);
	round_trip(&c, part, XLB_CONF_FMT_DEFAULTS);
	xlb_conf_free(&c);
}

/* libconfig 1.5 loses the string tokens it holds when a syntax error
 * follows them (e.g. 'a = "x"; "y";' or '"" ""' before an error): a few
 * bytes per refused document, in its scanner. Its bug, not ours: every
 * allocation of ours is outside libconfig's frames. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size > MAX_INPUT)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	one(text, XLB_CONF_FULL);
	one(text, XLB_CONF_RUNTIME);
	free(text);
	return 0;
}
