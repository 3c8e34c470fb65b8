/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned int tap_count, tap_failed;

static void vline(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
}

bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%s %u - ", cond ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
		fflush(stdout);
	}
	return cond;
}

bool tap_is_u64(uint64_t got, uint64_t want, const char *file, int line,
		const char *fmt, ...)
{
	char name[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (!tap_ok(got == want, file, line, "%s", name)) {
		printf("#   got:  %llu (0x%llx)\n#   want: %llu (0x%llx)\n",
		       (unsigned long long)got, (unsigned long long)got,
		       (unsigned long long)want, (unsigned long long)want);
		return false;
	}
	return true;
}

bool tap_is_mem(const void *got, const void *want, size_t len, const char *file,
		int line, const char *fmt, ...)
{
	const unsigned char *g = got, *w = want;
	char name[512];
	size_t i;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	for (i = 0; i < len && g[i] == w[i]; i++)
		;
	if (!tap_ok(i == len, file, line, "%s", name)) {
		printf("#   first difference at byte %zu of %zu: got 0x%02x, want 0x%02x\n",
		       i, len, g[i], w[i]);
		return false;
	}
	return true;
}

void diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("# ", fmt, ap);
	va_end(ap);
}

void skip(const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("ok %u # SKIP ", tap_count);
	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
}

void skip_all(const char *fmt, ...)
{
	va_list ap;

	fputs("1..0 # SKIP ", stdout);
	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
	exit(0);
}

void bail_out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("Bail out! ", fmt, ap);
	va_end(ap);
	exit(1);
}

int tap_done(void)
{
	printf("1..%u\n", tap_count);
	if (tap_failed)
		printf("# %u of %u failed\n", tap_failed, tap_count);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}
