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

int xlb_words_match(const char *words, int argc, char **argv)
{
	char buf[64], *w, *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", words);
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save), n++)
		if (n >= argc || strcmp(argv[n], w))
			return 0;
	return n;
}
