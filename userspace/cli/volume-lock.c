// SPDX-License-Identifier: GPL-2.0
/*
 * The per-volume lock as commands take it (see lib/bj-lock.h), and the
 * "recover" command that undoes what an interrupted command left.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <blockjob/blockjob.h>

#include "commands.h"

int bj_cli_lock(const char *name, struct bj_lock *lk, bool check_left)
{
	char err[BJ_ERRLEN];
	pid_t holder;
	int r;

	r = bj_volume_lock(name, false, lk, &holder, err);
	if (r == -EWOULDBLOCK) {
		if (holder)
			fprintf(stderr, "%s: %s: waiting for another blockjob command (pid %ld) to finish with it\n",
				bj_progname, name, (long)holder);
		else
			fprintf(stderr, "%s: %s: waiting for another blockjob command to finish with it\n",
				bj_progname, name);
		r = bj_volume_lock(name, true, lk, NULL, err);
	}
	if (r) {
		bj_err("%s", err);
		return 1;
	}
	if (check_left) {
		r = bj_volume_check_left(name, err);
		if (r) {
			bj_volume_unlock(lk);
			bj_err("%s", err);
			return 1;
		}
	}
	return 0;
}

void usage_recover(FILE *f)
{
	fprintf(f, "Usage: blockjob recover NAME\n\n"
		   "Bring volume NAME back to a consistent, running state after a blockjob\n"
		   "command was interrupted (killed) half-way through a table switch, which\n"
		   "can leave it suspended (all I/O waits) or with a new table loaded but not\n"
		   "active. A pivot whose suspend had concluded the mirror is finished (the\n"
		   "volume goes on on the destination, which holds every write); anything\n"
		   "else is undone: the loaded table is dropped and the volume resumed on its\n"
		   "table (a mirror whose pivot was abandoned is ready again). Says what it\n"
		   "did; exit 0, also when there was nothing to do.\n");
}

int cmd_recover(int argc, char **argv)
{
	const char *what, *name;
	char err[BJ_ERRLEN];
	struct bj_lock lk;
	int r;

	r = bj_no_options("recover", argc, argv);
	if (r)
		return r;
	if (argc - optind != 1)
		return bj_usage_error("recover", "expected NAME");
	r = bj_volume_arg("recover", argv[optind], &name);
	if (r)
		return r;

	if (bj_cli_lock(name, &lk, false))
		return 1;
	r = bj_volume_recover(name, &what, err);
	bj_volume_unlock(&lk);
	if (r) {
		bj_err("%s", err);
		return 1;
	}
	printf("%s: %s\n", name, what);
	return 0;
}
