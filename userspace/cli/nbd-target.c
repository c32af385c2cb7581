// SPDX-License-Identifier: GPL-2.0
/*
 * An NBD export (nbd://HOST[:PORT]/EXPORT) as the TARGET of mirror: the
 * kernel's NBD client is connected to it (bj_nbd_connect()) for the job and
 * disconnected again when the command exits without a job running on it.
 * Later, once no table uses the device any more (after cancel, dismiss, a
 * pivot away from it, remove), bj_cli_nbd_release() disconnects it. The CLI
 * owns this cleanup: libblockjob registers nothing at exit.
 *
 * A watch of the NBD client's notifications is opened before the connect;
 * once the job runs, the keeper (cli/nbd-keeper.c) takes it over and keeps
 * the device connected until it is disconnected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <blockjob/blockjob.h>

#include "commands.h"

/* The device connected for this command's job; "" once the job holds it. */
static char job_nbd[64];
/* The device the job runs on, for its keeper; "" until then. */
static char kept_nbd[64];
/* Opened before the connect, handed to the keeper. */
static struct bj_nbd_watch *watch;

static void job_nbd_cleanup(void)
{
	char err[BJ_ERRLEN];

	if (job_nbd[0] && bj_nbd_disconnect(job_nbd, err))
		bj_err("%s", err);
	bj_nbd_watch_close(watch);
	watch = NULL;
}

int bj_cli_nbd_target(const char *name, const char **target, uint64_t bytes,
		      unsigned int timeout, char *err)
{
	struct bj_nbd_opts o = { .timeout = timeout };
	static bool registered;
	char url[BJ_ERRLEN / 2];
	uint64_t size;
	int r;

	/* before the connect: the keeper misses no notification of the connection's death */
	if (!watch) {
		r = bj_nbd_watch_open(&watch, err);
		if (r)
			return r;
	}
	if (!registered)
		atexit(job_nbd_cleanup);
	registered = true;
	r = bj_nbd_connect(name, *target, &o, job_nbd, sizeof(job_nbd), &size, err);
	if (r) {
		job_nbd[0] = 0;
		return r;
	}
	if (size < bytes) {
		snprintf(url, sizeof(url), "%s", *target);
		bj_seterr(err,
			  "the export %s has %" PRIu64 " bytes, fewer than volume %s (%" PRIu64 " bytes); export a device at least as large",
			  url, size, name, bytes);
		return -ENOSPC;
	}
	*target = job_nbd;
	return 0;
}

void bj_cli_nbd_target_keep(void)
{
	snprintf(kept_nbd, sizeof(kept_nbd), "%s", job_nbd);
	job_nbd[0] = 0;
}

void bj_cli_nbd_target_started(const char *name)
{
	if (!kept_nbd[0] || !watch)
		return;
	bj_cli_nbd_keeper_start(name, kept_nbd, watch);
	bj_nbd_watch_close(watch);
	watch = NULL;
}

void bj_cli_nbd_release(const char *name)
{
	char err[BJ_ERRLEN];
	unsigned int n;

	if (bj_nbd_release_unused(name, &n, err))
		fprintf(stderr, "%s: note: %s: %s\n", bj_progname, name, err);
}
