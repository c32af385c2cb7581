// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob list [--json]: every blockjob volume on the host with its mode,
 * job status and progress; --json as QEMU's query-block-jobs list.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blockjob/blockjob.h>

#include "commands.h"

void usage_list(FILE *f)
{
	fprintf(f, "Usage: blockjob list [--json]\n\n"
		   "List every blockjob volume on this host (every dm device whose table is\n"
		   "one blockjob target, views of backups left out), sorted by name: its\n"
		   "mode, job status (with the result of a concluded job) and progress.\n"
		   "--json prints one array, QEMU's query-block-jobs list: for each volume\n"
		   "the object 'blockjob status NAME --json' prints; a volume without a job\n"
		   "is there too, with \"type\": \"none\" and \"status\": \"idle\" (QEMU lists only\n"
		   "jobs: skip those to get its list).\n");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The progress column: done of len as a percentage, "-" without a job. */
static void progress(const struct bj_status *s, char *buf, size_t len)
{
	if (!strcmp(s->mode, "passthrough"))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f%%",
			 s->len ? 100.0 * (double)s->done / (double)s->len : 100.0);
}

struct row {
	const char *name;
	struct bj_status st;
};

static void print_rows(const struct row *rows, size_t n)
{
	char state[40], prog[16];
	int w = 4;
	size_t i;

	for (i = 0; i < n; i++)
		if ((int)strlen(rows[i].name) > w)
			w = (int)strlen(rows[i].name);
	printf("%-*s  %-11s  %-22s  %s\n", w, "NAME", "MODE", "STATUS", "PROGRESS");
	for (i = 0; i < n; i++) {
		const struct bj_status *s = &rows[i].st;

		if (strcmp(s->result, "-"))
			snprintf(state, sizeof(state), "%s (%s)", s->state, s->result);
		else
			snprintf(state, sizeof(state), "%s", s->state);
		progress(s, prog, sizeof(prog));
		printf("%-*s  %-11s  %-22s  %s\n", w, rows[i].name, s->mode, state, prog);
	}
}

static int print_json_list(const struct row *rows, size_t n)
{
	struct json_object *a = json_object_new_array(), *o;
	size_t i;

	if (!a)
		return bj_print_json(NULL, BJ_JSON_QEMU);
	for (i = 0; i < n; i++) {
		if (bj_cli_status_json(rows[i].name, &rows[i].st, &o)) {
			json_object_put(a);
			return 1;
		}
		if (json_object_array_add(a, o)) {
			json_object_put(o);
			json_object_put(a);
			return bj_print_json(NULL, BJ_JSON_QEMU);
		}
	}
	return bj_print_json(a, BJ_JSON_QEMU);
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	char (*names)[BJ_DM_NAME_MAX + 1], err[BJ_ERRLEN];
	struct row *rows;
	size_t n, i, nr = 0;
	bool json = false;
	int c, r, ret;

	while ((c = getopt_long(argc, argv, ":j", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else
			return bj_option_error("list", c, argv);
	}
	if (argc != optind)
		return bj_usage_error("list", "it takes no arguments");
	if (bj_dm_list(&names, &n, err)) {
		bj_err("%s", err);
		return 1;
	}
	qsort(names, n, sizeof(*names), by_name);
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		free(names);
		bj_err("out of memory");
		return 1;
	}
	for (i = 0; i < n; i++) {
		/* not blockjob (-ENOTTY), gone meanwhile (-ENODEV, -ENXIO): not listed */
		r = bj_dm_status(names[i], &rows[nr].st, err);
		if (r == -ENOTTY || r == -ENODEV || r == -ENXIO)
			continue;
		if (r) {
			bj_err("%s", err);
			ret = 1;
			goto out;
		}
		if (!strcmp(rows[nr].st.mode, "view"))
			continue;
		rows[nr++].name = names[i];
	}
	if (json) {
		ret = print_json_list(rows, nr);
	} else {
		print_rows(rows, nr);
		ret = fflush(stdout) ? 1 : 0;
	}
out:
	free(rows);
	free(names);
	return ret;
}
