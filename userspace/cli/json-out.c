// SPDX-License-Identifier: GPL-2.0
/*
 * The CLI's JSON output: a document built with json-c (libblockjob's
 * builders, bj-json.h) written as one line on stdout.
 */
#include <stdio.h>
#include <stdlib.h>

#include <blockjob/blockjob.h>

#include "commands.h"

int bj_print_json(struct json_object *o, int layout)
{
	char *text = o ? bj_json_text(o, layout) : NULL;
	int r = 0;

	json_object_put(o);
	if (!text) {
		bj_err("out of memory building the JSON output");
		return 1;
	}
	if (puts(text) == EOF || fflush(stdout)) {
		bj_err("cannot write the JSON output to stdout");
		r = 1;
	}
	free(text);
	return r;
}
