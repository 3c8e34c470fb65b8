// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "cli.h"

#include <string.h>

void xlb_print_indented(FILE *f, const char *indent, const char *text)
{
	const char *nl;

	while (*text) {
		nl = strchr(text, '\n');
		if (!nl)
			nl = text + strlen(text);
		fprintf(f, "%s%.*s\n", indent, (int)(nl - text), text);
		text = *nl ? nl + 1 : nl;
	}
}
