/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* cli.h: small pieces the command-line tools share. */
#ifndef XLB_CLI_H
#define XLB_CLI_H

#include <stdio.h>

/* Print TEXT (lines separated by '\n') to F, each line after INDENT. */
void xlb_print_indented(FILE *f, const char *indent, const char *text);

/* How many leading words of ARGV spell WORDS ("backend add"): all of them,
 * or 0 if ARGV does not start with them. */
int xlb_words_match(const char *words, int argc, char **argv);

#endif
