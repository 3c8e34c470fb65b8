/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tap.h: Test Anything Protocol output for the C test programs; tests/run.sh
 * reads it. A test binary calls ok()/is_*()/skip_all() and ends with
 * tap_done(), whose value is the process exit code. */
#ifndef XLB_TAP_H
#define XLB_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ok(cond, "name %d", ...): one test point. Returns cond. */
bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* is_u64(got, want, "name"): equality with both values shown on failure. */
bool tap_is_u64(uint64_t got, uint64_t want, const char *file, int line,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define is_u64(got, want, ...) \
	tap_is_u64((uint64_t)(got), (uint64_t)(want), __FILE__, __LINE__, __VA_ARGS__)

/* is_mem(got, want, len, "name"): byte equality; shows the first difference. */
bool tap_is_mem(const void *got, const void *want, size_t len, const char *file,
		int line, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define is_mem(got, want, len, ...) \
	tap_is_mem(got, want, len, __FILE__, __LINE__, __VA_ARGS__)

/* A diagnostic line ("# ..."), shown by the runner. */
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Record a skipped test point with its reason. */
void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Skip the whole program (e.g. missing kernel feature, not root); exits 0. */
void skip_all(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Stop the whole program after a failure that makes the rest meaningless. */
void bail_out(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Print the plan and return the exit code: 0 if every point passed. */
int tap_done(void);

#endif
