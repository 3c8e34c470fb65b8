// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* state.c: the running state, saved after every change so it survives a
 * restart; written atomically (temporary file, fsync, rename). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "xlbd.h"

int xlbd_state_save(struct xlbd *d)
{
	char *text = xlb_conf_format(&d->conf, XLB_CONF_RUNTIME, 0);
	int err;

	if (!text)
		return -ENOMEM;
	err = xlb_conf_write_file_atomic(d->conf.daemon.state_file, text);
	free(text);
	if (err)
		log_err("saving the state to %s: %s (changes will not survive a restart)",
			d->conf.daemon.state_file, strerror(-err));
	return err;
}

/*
 * The interfaces XDP runs on, when xlbctl attach/detach changed them: one
 * name per line in <state_file>.interfaces, which then wins over
 * daemon.interfaces at start (like the state file over the config's VIPs).
 */
static void interfaces_path(const struct xlbd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s.interfaces", d->conf.daemon.state_file);
}

int xlbd_interfaces_save(struct xlbd *d)
{
	char path[XLB_PATH_MAX + 16], text[XLB_MAX_INTERFACES * (IF_NAMESIZE + 1) + 1] = "";
	int err;

	for (size_t i = 0; i < d->conf.daemon.n_interfaces; i++) {
		strcat(text, d->conf.daemon.interfaces[i]);
		strcat(text, "\n");
	}
	interfaces_path(d, path, sizeof(path));
	err = xlb_conf_write_file_atomic(path, text);
	if (err)
		log_err("saving the attached interfaces to %s: %s", path, strerror(-err));
	return err;
}

int xlbd_interfaces_restore(struct xlbd *d)
{
	char path[XLB_PATH_MAX + 16], line[64];
	size_t n = 0;
	FILE *f;

	interfaces_path(d, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f) && n < XLB_MAX_INTERFACES) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || strlen(line) >= IF_NAMESIZE)
			continue;
		snprintf(d->conf.daemon.interfaces[n++], IF_NAMESIZE, "%s", line);
	}
	fclose(f);
	d->conf.daemon.n_interfaces = n;
	return 1;
}
