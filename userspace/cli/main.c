// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob: drive dm-blockjob live block jobs (mirror, backup) on
 * device-mapper volumes.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <blockjob/blockjob.h>

#include "commands.h"

const struct bj_command bj_commands[] = {
	{ "create", "create a volume over a device (passthrough, no job)", cmd_create, usage_create },
	{ "activate", "bring volumes with a metadata device back after a reboot", cmd_activate,
	  usage_activate },
	{ "remove", "remove a volume", cmd_remove, usage_remove },
	{ "status", "show a volume's job state", cmd_status, usage_status },
	{ "list", "list the volumes with their jobs", cmd_list, usage_list },
	{ "mirror", "copy a volume in use to another device (live mirror)", cmd_mirror, usage_mirror },
	{ "complete", "pivot a ready mirror onto its destination", cmd_complete, usage_complete },
	{ "backup", "point-in-time backup of a volume in use (copy-before-write)", cmd_backup,
	  usage_backup },
	{ "bitmap", "named dirty bitmaps of a volume (incremental backups)", cmd_bitmap,
	  usage_bitmap },
	{ "metadata", "dump or check a volume's metadata device", cmd_metadata,
	  usage_metadata },
	{ "pause", "pause the job on a volume", cmd_pause, usage_pause },
	{ "resume", "resume a paused job", cmd_resume, usage_resume },
	{ "set-speed", "change a job's copy rate limit", cmd_set_speed, usage_set_speed },
	{ "cancel", "cancel a job and go back to passthrough", cmd_cancel, usage_cancel },
	{ "dismiss", "put a volume whose job concluded back to passthrough", cmd_dismiss,
	  usage_dismiss },
	{ "recover", "undo what an interrupted command left on a volume", cmd_recover,
	  usage_recover },
	{ "wait", "wait for a job to become ready or conclude", cmd_wait, usage_wait },
	{ "events", "stream job events (QEMU's names, --json)", cmd_events, usage_events },
	{ "qcow2", "inspect and attach qcow2 images", cmd_qcow2, usage_qcow2 },
	{ "export", "serve a device over NBD for a migration (qemu-nbd)", cmd_export,
	  usage_export },
	{ NULL, NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	const struct bj_command *c;

	fprintf(f, "Usage: blockjob COMMAND [ARGS...]\n"
		   "       blockjob COMMAND --help\n"
		   "       blockjob --version\n\n"
		   "Live block jobs on device-mapper volumes (dm-blockjob).\n\n"
		   "Commands:\n");
	for (c = bj_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\nSizes and rates take K, M, G, T suffixes (binary); rates are per second.\n"
		   "A volume NAME may also be given as /dev/mapper/NAME.\n"
		   "Exit status: 0 success, 1 failure, 2 usage error, 124 'wait --timeout'\n"
		   "expired, 130 interrupted.\n");
}

const char *bj_progname = "blockjob";

void bj_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bj_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int bj_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bj_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'blockjob %s --help'\n", cmd);
	return 2;
}

int bj_option_error(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	bool is_long = !strncmp(arg, "--", 2);

	if (c == ':') {
		if (is_long)
			return bj_usage_error(cmd, "option '%.*s' needs a value",
					      (int)strcspn(arg, "="), arg);
		return bj_usage_error(cmd, "option '-%c' needs a value", optopt);
	}
	if (is_long && optopt)	/* a value given to an option that takes none */
		return bj_usage_error(cmd, "option '%.*s' takes no value", (int)strcspn(arg, "="),
				      arg);
	if (is_long || !optopt)
		return bj_usage_error(cmd, "unknown option '%.*s'", (int)strcspn(arg, "="), arg);
	return bj_usage_error(cmd, "unknown option '-%c'", optopt);
}

int bj_no_options(const char *cmd, int argc, char **argv)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	int c;

	c = getopt_long(argc, argv, ":", none, NULL);
	if (c != -1)
		return bj_option_error(cmd, c, argv);
	return 0;
}

int bj_volume_arg(const char *cmd, const char *arg, const char **name)
{
	char err[BJ_ERRLEN];

	if (bj_dm_name(arg, name, err))
		return bj_usage_error(cmd, "%s", err);
	return 0;
}

int bj_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct bj_command *c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("blockjob %s\n", BJ_VERSION);
		return 0;
	}
	/* hidden: the process 'blockjob mirror' starts for an NBD target */
	if (!strcmp(argv[1], BJ_NBD_KEEPER_CMD)) {
		optind = 0;
		opterr = 0;
		return cmd_nbd_keeper(argc - 1, argv + 1);
	}
	for (c = bj_commands; c->name; c++) {
		if (strcmp(c->name, argv[1]))
			continue;
		if (bj_wants_help(argc - 1, argv + 1)) {
			c->usage(stdout);
			return 0;
		}
		optind = 0;
		opterr = 0;
		return c->run(argc - 1, argv + 1);
	}
	bj_err("unknown command '%s'; run 'blockjob --help' for the list", argv[1]);
	return 2;
}
