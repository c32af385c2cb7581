// SPDX-License-Identifier: GPL-2.0
/*
 * A qcow2 image as the TARGET of mirror or backup: attached as a dm device
 * (bj_qcow2_target_attach()) for the job, and detached again when the
 * command exits without a job running on it. The CLI owns that cleanup:
 * libblockjob registers nothing at exit.
 */
#include <stdlib.h>

#include <blockjob/blockjob.h>

#include "commands.h"

/* The device attached for this command's job; "" once the job holds it. */
static char job_target[192];

static void job_target_cleanup(void)
{
	char err[BJ_ERRLEN];

	if (job_target[0] && bj_qcow2_target_detach(job_target, err))
		bj_err("%s", err);
}

int bj_cli_qcow2_target(const char *name, const char **target, uint64_t bytes, bool reuse,
			char *err)
{
	static bool registered;
	int r;

	r = bj_qcow2_target_attach(name, *target, bytes, reuse, job_target, sizeof(job_target),
				   err);
	if (r) {
		job_target[0] = 0;
		return r;
	}
	if (!registered)
		atexit(job_target_cleanup);
	registered = true;
	*target = job_target;
	return 0;
}

void bj_cli_qcow2_target_keep(void)
{
	job_target[0] = 0;
}
