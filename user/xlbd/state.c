// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* state.c: the running state, saved after every change so it survives a
 * restart; written atomically (temporary file, fsync, rename). */
#include <errno.h>
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
