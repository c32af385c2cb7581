// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob mirror / blockjob complete: the live mirror job and its pivot.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <blockjob/blockjob.h>

#include "progress.h"
#include "commands.h"

void usage_mirror(FILE *f)
{
	fprintf(f,
		"Usage: blockjob mirror NAME TARGET [--granularity SIZE] [--speed RATE]\n"
		"                       [--mode background|write-blocking] [--sync full|none|top]\n"
		"                       [--on-source-error report|stop|ignore]\n"
		"                       [--on-target-error report|stop|ignore]\n"
		"                       [--max-copies N] [--reuse] [--nbd-timeout SECONDS]\n"
		"                       [--wait]\n\n"
		"Start copying volume NAME to the block device TARGET while it stays in use.\n"
		"New writes are kept in step. When every region is copied the job is ready:\n"
		"'blockjob complete NAME' then switches NAME over to TARGET, 'blockjob cancel\n"
		"NAME' stops and keeps NAME on its device.\n\n"
		"  --granularity SIZE   region size, a power of two from 4K to 64M (default 64K)\n"
		"  --speed RATE         copy rate limit, e.g. 100M (per second; default none)\n"
		"  --mode MODE          background (default): writes to regions not yet copied\n"
		"                       go to the source only; write-blocking: every write goes\n"
		"                       to both devices, so the job always converges\n"
		"  --sync full|none     copy everything (default) or only new writes\n"
		"  --sync top           copy what the top image of NAME allocates (NAME attached\n"
		"                       with 'blockjob qcow2 attach'), and new writes\n"
		"  --on-source-error P, --on-target-error P\n"
		"                       report (fail the job, default), stop (pause it), ignore\n"
		"                       (retry the region later)\n"
		"  --max-copies N       regions copied at once (default 16)\n"
		"  --wait               wait until the job is ready\n"
		"  --reuse              TARGET is a qcow2 image that exists already\n\n"
		"TARGET may be a qcow2 image (a name ending in .qcow2, or a qcow2 file): it is\n"
		"created preallocated (qemu-img) unless --reuse, and attached as NAME-qcow2[-N].\n\n"
		"TARGET may be an NBD export on another host, nbd://HOST[:PORT]/EXPORT (port\n"
		"10809 by default; 'blockjob export' serves one): the kernel's NBD client is\n"
		"connected to it (modprobe nbd) and the mirror copies into /dev/nbdN. After\n"
		"'complete' the volume lives on the remote export; 'cancel' after ready leaves\n"
		"the export equal to the volume as of the cancel (a hand-over) and\n"
		"disconnects. The NBD device is disconnected when no table uses it any more.\n"
		"A keeper process reconnects a dropped connection (for the larger of twice\n"
		"--nbd-timeout and 30 s; it logs to syslog) and then resumes a job that\n"
		"--on-target-error stop paused. No TLS: use a trusted or tunnelled network.\n"
		"  --nbd-timeout S      seconds the NBD client waits for a request, and for a\n"
		"                       dead connection to come back, before failing I/O\n"
		"                       (default 60)\n");
}

static int check_policy(const char *v)
{
	return strcmp(v, "report") && strcmp(v, "stop") && strcmp(v, "ignore");
}

/* Wait (event-driven, with a progress bar on a terminal) until the job is ready. */
static int wait_ready(struct bj_events *ev, const char *name)
{
	struct bj_progress *p = bj_progress_new("mirror");
	char err[BJ_ERRLEN];
	struct bj_status st;
	int r;

	r = bj_wait_job(ev, name, BJ_WAIT_READY, -1, NULL, bj_progress_cb, p, &st, err);
	bj_progress_done(p);
	if (r) {
		bj_err("%s", err);
		return 1;
	}
	return 0;
}

int cmd_mirror(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "granularity", required_argument, NULL, 'g' },
		{ "speed", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "sync", required_argument, NULL, 'y' },
		{ "on-source-error", required_argument, NULL, 'S' },
		{ "on-target-error", required_argument, NULL, 'T' },
		{ "max-copies", required_argument, NULL, 'n' },
		{ "wait", no_argument, NULL, 'w' },
		{ "reuse", no_argument, NULL, 'r' },	/* qcow2 */
		{ "nbd-timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct bj_qtop top = { 0 };	/* qcow2: regions of sync top */
	struct bj_nbd_url url;
	bool reuse = false;
	const char *mode = "background", *sync = "full", *on_src = "report", *on_tgt = "report";
	uint64_t granularity = 64 << 10, speed = 0, max_copies = 16, nbd_timeout = 0;
	unsigned int tmaj, tmin;
	char err[BJ_ERRLEN], head[128], feat[384], params[BJ_TABLE_MAX], dest[32];
	char tid[BJ_ID_LEN];
	struct bj_events *ev = NULL;
	struct bj_vtable vt;
	const char *name, *target;
	struct bj_lock lk;
	bool wait = false, nbd;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			if (bj_parse_size(optarg, false, &granularity) || granularity < 4096 ||
			    granularity > (64 << 20) || (granularity & (granularity - 1)))
				return bj_usage_error("mirror", "--granularity must be a power of two from 4K to 64M");
			break;
		case 's':
			if (bj_parse_size(optarg, true, &speed))
				return bj_usage_error("mirror", "--speed takes a rate such as 50M");
			break;
		case 'm':
			if (!strcmp(optarg, "background"))
				mode = "background";
			else if (!strcmp(optarg, "write-blocking") || !strcmp(optarg, "write_blocking"))
				mode = "write_blocking";
			else
				return bj_usage_error("mirror", "--mode is background or write-blocking");
			break;
		case 'y':
			if (strcmp(optarg, "full") && strcmp(optarg, "none") && strcmp(optarg, "top"))
				return bj_usage_error("mirror", "--sync is full, none or top");
			sync = optarg;
			break;
		case 'S':
		case 'T':
			if (check_policy(optarg))
				return bj_usage_error("mirror", "error policies are report, stop or ignore");
			if (c == 'S')
				on_src = optarg;
			else
				on_tgt = optarg;
			break;
		case 'n':
			max_copies = strtoull(optarg, &end, 10);
			if (*end || !max_copies || max_copies > 256)
				return bj_usage_error("mirror", "--max-copies takes 1 to 256");
			break;
		case 'w':
			wait = true;
			break;
		case 'r':
			reuse = true;
			break;
		case 't':
			nbd_timeout = strtoull(optarg, &end, 10);
			if (*end || !nbd_timeout || nbd_timeout > 86400)
				return bj_usage_error("mirror", "--nbd-timeout takes 1 to 86400 seconds");
			break;
		default:
			return bj_option_error("mirror", c, argv);
		}
	}
	if (argc - optind != 2)
		return bj_usage_error("mirror", "expected NAME TARGET");
	r = bj_volume_arg("mirror", argv[optind], &name);
	if (r)
		return r;
	target = argv[optind + 1];
	nbd = bj_nbd_is_url(target);
	if (nbd && bj_nbd_parse_url(target, &url, err))
		return bj_usage_error("mirror", "%s", err);
	if (nbd && reuse)
		return bj_usage_error("mirror", "--reuse goes with a qcow2 TARGET, not an NBD export");

	/* Held from the checks to the started job: no other command interleaves. */
	if (bj_cli_lock(name, &lk, true))
		return 1;
	if (bj_vtable_get(name, &vt, err)) {
		bj_err("%s", err);
		goto fail;
	}
	if (bj_auto_dismiss(name, &vt))
		goto fail;
	/* NBD devices an earlier job of this volume left connected */
	bj_cli_nbd_release(name);
	/*
	 * qcow2: the regions of sync top; a qcow2 TARGET is attached as a dm
	 * device; an NBD TARGET connected
	 */
	if ((!strcmp(sync, "top") && bj_qcow2_top_prepare(vt.src, granularity, &top, err)) ||
	    (!nbd && bj_qcow2_is_target(target) &&
	     bj_cli_qcow2_target(name, &target, vt.sectors * 512, reuse, err)) ||
	    (nbd &&
	     bj_cli_nbd_target(name, &target, vt.sectors * 512, nbd_timeout, err))) {
		bj_err("%s", err);
		goto fail;
	}
	if (bj_job_check_target(name, &vt, target, &tmaj, &tmin, err)) {
		bj_err("%s", err);
		goto fail;
	}
	/* with a metadata device the volume may come to live on TARGET: it must be found again */
	if (vt.metadata[0] && bj_cli_identity(target, tmaj, tmin, tid))
		goto fail;
	snprintf(head, sizeof(head), "mirror %s %" PRIu64 " %u:%u 0 %" PRIu64, vt.src,
		 vt.src_off, tmaj, tmin, granularity / 512);
	snprintf(feat, sizeof(feat),
		 "copy_mode %s sync %s speed %" PRIu64
		 " on_source_error %s on_target_error %s max_copies %" PRIu64 "%s",
		 mode, sync, speed, on_src, on_tgt, max_copies, top.granule ? " start_paused" : "");
	/* the volume's metadata device, if any, goes along */
	if (bj_table_params(params, sizeof(params), head, feat, &vt)) {
		bj_qcow2_top_free(&top);
		bj_err("the mirror table of %s would be longer than %d bytes", name,
		       BJ_TABLE_MAX - 1);
		goto fail;
	}
	/* Subscribe before the job starts, so that no event is missed. */
	if (wait && bj_events_open(&ev, err)) {
		bj_err("%s", err);
		goto fail;
	}
	/* with a metadata device: the record names the job and its destination first */
	snprintf(dest, sizeof(dest), "%u:%u", tmaj, tmin);
	if (bj_volume_record_job(name, BJ_RECORD_MIRROR, dest, 0, feat, err)) {
		bj_err("%s", err);
		goto fail;
	}
	r = bj_job_start(name, params, err);
	if (r) {
		bj_err("%s", err);
		bj_volume_record(name, BJ_RECORD_NO_JOB, NULL, 0, err);
		goto fail;
	}
	/* qcow2 sync top: the job starts paused; hand it the regions, resume it */
	r = top.granule ? bj_qcow2_top_start(name, &top, err) : 0;
	bj_qcow2_top_free(&top);
	if (r) {
		bj_err("%s; cancelling the mirror", err);
		bj_dm_message(name, "cancel", NULL, err);
		bj_job_finish(name, err);
		goto fail;
	}
	bj_cli_qcow2_target_keep();
	bj_cli_nbd_target_keep();
	bj_volume_unlock(&lk);
	/* an NBD target's keeper: reconnects a dropped connection */
	bj_cli_nbd_target_started(name);
	if (wait) {
		r = wait_ready(ev, name);
		bj_events_close(ev);
		return r;
	}
	return 0;
fail:
	bj_qcow2_top_free(&top);
	bj_volume_unlock(&lk);
	bj_events_close(ev);
	return 1;
}

void usage_complete(FILE *f)
{
	fprintf(f, "Usage: blockjob complete NAME\n\n"
		   "Pivot: switch volume NAME over to its mirror destination. The mirror must\n"
		   "be ready. I/O is paused for the switch (a suspend drains writes in flight,\n"
		   "the kernel re-checks that every region is in sync and flushes the\n"
		   "destination) and then goes on against the destination; the old device is\n"
		   "released. Waits until done.\n");
}

static int check_completed(const char *name, const struct bj_status *st, char *err)
{
	if (!strcmp(st->state, "concluded") && !strcmp(st->result, "completed"))
		return 0;
	snprintf(err, BJ_ERRLEN,
		 "pivot of %s aborted: the mirror is %s with %" PRIu64 " regions out of sync (last error %s); the job goes on",
		 name, st->state, st->dirty, st->last_error);
	return -EAGAIN;
}

int cmd_complete(int argc, char **argv)
{
	char err[BJ_ERRLEN], params[BJ_TABLE_MAX];
	struct bj_status st;
	struct bj_vtable vt;
	struct bj_lock lk;
	const char *name;
	int r, ret = 1;

	r = bj_no_options("complete", argc, argv);
	if (r)
		return r;
	if (argc - optind != 1)
		return bj_usage_error("complete", "expected NAME");
	r = bj_volume_arg("complete", argv[optind], &name);
	if (r)
		return r;

	if (bj_cli_lock(name, &lk, true))
		return 1;
	if (bj_vtable_get(name, &vt, err) || bj_dm_status(name, &st, err)) {
		bj_err("%s", err);
		goto out;
	}
	if (strcmp(vt.mode, "mirror")) {
		bj_err("%s has no mirror job (it is in %s mode)", name, vt.mode);
		goto out;
	}
	if (strcmp(st.state, "concluded")) {
		if (strcmp(st.state, "ready")) {
			bj_err("the mirror on %s is %s, not ready (%" PRIu64 " regions to copy); wait with 'blockjob wait %s --for ready'",
			       name, st.state, st.dirty, name);
			goto out;
		}
		if (bj_dm_message(name, "complete", NULL, err)) {
			bj_err("%s", err);
			goto out;
		}
	} else if (strcmp(st.result, "completed")) {
		bj_err("the mirror on %s was %s; nothing to complete (run 'blockjob cancel %s' to finish it)",
		       name, st.result, name);
		goto out;
	}
	if (bj_passthrough_params(params, sizeof(params), &vt, vt.dst, vt.dst_off)) {
		bj_err("the passthrough table of %s would be longer than %d bytes", name,
		       BJ_TABLE_MAX - 1);
		goto out;
	}
	if (bj_volume_switch(name, params, check_completed, err)) {
		bj_err("%s", err);
		goto out;
	}
	/* the volume left an NBD device it had migrated onto before */
	bj_cli_nbd_release(name);
	/* the volume lives on the destination now: its record says so (clears PIVOTED) */
	if (bj_volume_record(name, BJ_RECORD_NO_JOB, NULL, 0, err)) {
		bj_err("%s (the pivot is done: %s is on the destination)", err, name);
		goto out;
	}
	ret = 0;
out:
	bj_volume_unlock(&lk);
	return ret;
}
