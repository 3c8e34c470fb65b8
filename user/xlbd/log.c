// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* log.c: one line per event: on stderr in the foreground (under systemd,
 * with JOURNAL_STREAM set, each line starts with "<N>", which journald reads
 * as its priority); to syslog once daemonized. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "xlbd.h"

static int max_level = LOG_INFO;
static bool journald, use_syslog;

static const char *const names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void xlbd_log_init(int level, bool to_syslog)
{
	max_level = level;
	journald = getenv("JOURNAL_STREAM") != NULL;
	use_syslog = to_syslog;
	if (use_syslog)
		openlog("xlbd", LOG_PID, LOG_DAEMON);
}

int xlbd_log_level_parse(const char *s)
{
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

const char *xlbd_log_level_name(int level)
{
	return level >= 0 && level <= LOG_DEBUG ? names[level] : "?";
}

void xlbd_log(int level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (use_syslog) {
		syslog(level, "%s", line);
		return;
	}
	if (journald) {
		fprintf(stderr, "<%d>%s\n", level, line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld xlbd %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, names[level], line);
}
