// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlb-backend: set up a backend of an xlb farm. Loads bpf/xlb_decap.bpf.c,
 * attaches its IP-in-IP decapsulation (XDP) and SYN-ACK MSS clamp (tc
 * egress) to a device, and manages the VIPs they act for:
 *
 *   xlb-backend attach eth0
 *   xlb-backend vip add 198.18.1.1 mss 1440
 *   xlb-backend vip list
 *   xlb-backend stats
 *
 * One table of commands drives dispatch and help.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "cli.h"
#include "backend.h"

struct options opt = { .pin_dir = DEFAULT_PIN_DIR };

struct command {
	const char *verb;		/* one or two words */
	const char *args;
	const char *help;
	int (*run)(int argc, char **argv);
};

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "attach", "DEV [--generic]",
	  "load the programs (maps pinned in the pin directory, reused if there),\n"
	  "attach decapsulation (XDP, native; --generic: skb mode) and the SYN-ACK\n"
	  "MSS clamp (tc egress) to DEV; again on the same DEV: replace them", cmd_attach },
	{ "detach", "DEV",
	  "detach both programs from DEV; the maps (VIPs, counters) stay pinned", cmd_detach },
	{ "vip add", "ADDR [mss N]",
	  "decapsulate for VIP ADDR (IPv4 or IPv6) and lower the MSS its SYN-ACKs\n"
	  "offer to N (0 or absent: leave it alone); again: change N", cmd_vip_add },
	{ "vip del", "ADDR", "stop acting for VIP ADDR", cmd_vip_del },
	{ "vip list", "", "the VIPs, one per line, as 'vip add' takes them", cmd_vip_list },
	{ "stats", "", "the counters of both programs, summed over CPUs", cmd_stats },
	{ "help", "", "this text", cmd_help },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

void fail(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return opt.verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return opt.verbose ? vfprintf(stderr, fmt, ap) : 0;
}

void quiet_libs(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}

bool pin_dir_usable(const char *what)
{
	char parent[4096], *slash;
	const char *dir = opt.pin_dir;
	struct statfs fs;
	struct stat st;

	if (stat(dir, &st) != 0) {
		snprintf(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = 0;
		else if (slash)
			slash[1] = 0;
		dir = parent;
	}
	if (statfs(dir, &fs) == 0 && fs.f_type == BPF_FS_MAGIC)
		return true;
	fail("%s: %s is not on a BPF filesystem (mount one: 'mount -t bpf bpf /sys/fs/bpf'; "
	     "note that 'ip netns exec' mounts a fresh /sys: use 'nsenter --net=/run/netns/NAME' "
	     "to keep the host's, or pass --pin-dir)", what, opt.pin_dir);
	return false;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG_NAME " [-v] [-j] [--pin-dir D] COMMAND [ARGS]\n"
		"\n"
		"The backend half of xlb: undo the load balancer's IP-in-IP for local VIPs\n"
		"(which sit on lo), and keep the MSS of their SYN-ACKs small enough for\n"
		"the encapsulated path.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		fprintf(f, "  %s%s%s\n", commands[i].verb, *commands[i].args ? " " : "",
			commands[i].args);
		xlb_print_indented(f, "      ", commands[i].help);
	}
	fprintf(f,
		"\n"
		"Options (anywhere on the line):\n"
		"  -v, --verbose     show libbpf's and libxdp's messages\n"
		"  -j, --json        machine-readable output for 'vip list' and 'stats'\n"
		"  --pin-dir D       where the maps are pinned (default " DEFAULT_PIN_DIR ")\n"
		"\n"
		"Exit status: 0 done, 1 failed, 2 bad command line.\n");
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return EXIT_OK;
}

/* Pull the global options out of ARGV wherever they are; the rest keeps
 * its order. Returns the new argc, or -1 after reporting a bad option. */
static int take_options(int argc, char **argv)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			opt.verbose = true;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			opt.json = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			argv[n++] = "help";
		} else if (!strncmp(a, "--pin-dir=", 10)) {
			opt.pin_dir = a + 10;
		} else if (!strcmp(a, "--pin-dir")) {
			if (i + 1 >= argc) {
				fail("--pin-dir: missing directory (e.g. --pin-dir " DEFAULT_PIN_DIR ")");
				return -1;
			}
			opt.pin_dir = argv[++i];
		} else {
			argv[n++] = argv[i];
		}
	}
	if (!*opt.pin_dir) {
		fail("--pin-dir: empty directory name");
		return -1;
	}
	return n;
}

int main(int argc, char **argv)
{
	int n;

	argc = take_options(argc - 1, argv + 1);
	argv++;
	if (argc < 0)
		return EXIT_USAGE;
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	quiet_libs();
	for (size_t i = 0; i < N_COMMANDS; i++) {
		n = xlb_words_match(commands[i].verb, argc, argv);
		if (n)
			return commands[i].run(argc - n, argv + n);
	}
	if (!strcmp(argv[0], "vip"))
		fail("vip%s%s: unknown (try 'vip add', 'vip del' or 'vip list'; see '" PROG_NAME
		     " help')", argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	else
		fail("%s: unknown command (see '" PROG_NAME " help')", argv[0]);
	return EXIT_USAGE;
}
