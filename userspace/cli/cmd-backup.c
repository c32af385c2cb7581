// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob backup: the point-in-time backup job (copy-before-write), with
 * an optional read-only view of the point-in-time image.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <blockjob/blockjob.h>

#include "commands.h"

void usage_backup(FILE *f)
{
	fprintf(f,
		"Usage: blockjob backup NAME TARGET [--sync full|none|incremental|top] [--bitmap BM]\n"
		"                       [--bitmap-mode on-success|always|never] [--chunk-size SIZE]\n"
		"                       [--speed RATE] [--on-cbw-error break-snapshot|break-guest-write]\n"
		"                       [--view VIEWNAME] [--max-copies N] [--reuse] [--wait]\n\n"
		"Copy volume NAME as it is now (the point in time is the start) to the block\n"
		"device TARGET while NAME stays in use: a write to data not yet copied first\n"
		"saves the old data to TARGET. The job ends by itself when everything is\n"
		"copied ('blockjob wait NAME', or --wait); 'blockjob cancel NAME' stops it.\n\n"
		"  --sync full          copy the whole volume (default without --bitmap)\n"
		"  --sync none          copy only the old data of chunks written during the job\n"
		"                       (with --view: a cheap snapshot); runs until cancelled\n"
		"  --sync incremental   copy the chunks dirty in bitmap BM (default with --bitmap)\n"
		"  --sync top           copy only what the top image of the qcow2 chain NAME\n"
		"                       is attached from allocates (QEMU's sync=top)\n"
		"  --bitmap BM          the dirty bitmap of an incremental backup\n"
		"  --bitmap-mode MODE   on-success (default): clear BM if the backup succeeds;\n"
		"                       always: clear what was copied even on failure; never\n"
		"  --chunk-size SIZE    copy unit, a power of two from 4K to 64M (default 64K,\n"
		"                       or BM's granularity)\n"
		"  --speed RATE         background copy rate limit, e.g. 100M (default none)\n"
		"  --on-cbw-error P     when saving old data fails: break-snapshot (default: the\n"
		"                       write goes ahead, the job fails) or break-guest-write\n"
		"                       (the write fails with EIO, the backup stays intact)\n"
		"  --view VIEWNAME      also create /dev/mapper/VIEWNAME, a read-only view of the\n"
		"                       point-in-time image (sync full or none)\n"
		"  --max-copies N       chunks copied at once in the background (default 16)\n"
		"  --wait               wait for the end, switch NAME back to passthrough, and\n"
		"                       exit 1 unless the backup completed\n"
		"  --reuse              TARGET is a qcow2 image that exists already\n\n"
		"TARGET may be a qcow2 image (a name ending in .qcow2, or a qcow2 file): it is\n"
		"created preallocated (qemu-img) unless --reuse and attached as NAME-qcow2[-N];\n"
		"with --wait it is detached at the end, else run 'blockjob qcow2 detach NAME\n"
		"--unused' once the job is over.\n");
}

/* Wait (on events) until the job concludes; then remove views, go back to passthrough. */
static int wait_concluded(const char *name)
{
	char err[BJ_ERRLEN];
	struct bj_status st;
	struct bj_lock lk;
	int r;

	if (bj_wait_job(NULL, name, BJ_WAIT_CONCLUDED, -1, NULL, NULL, NULL, &st, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (bj_cli_lock(name, &lk, true))
		return 1;
	r = bj_view_remove_all(name, err);
	if (r < 0)
		bj_err("%s", err);
	r = bj_job_finish(name, err);
	bj_volume_unlock(&lk);
	if (r) {
		bj_err("%s", err);
		return 1;
	}
	if (strcmp(st.result, "completed")) {
		bj_err("%s: the backup %s (last error %s); TARGET is not a usable backup",
		       name, st.result, st.last_error);
		return 1;
	}
	return 0;
}

/* Setting up a started backup failed with @err: say so, cancel it, go back to passthrough. */
static int cancel_started(const char *name, const char *err)
{
	char err2[BJ_ERRLEN];

	bj_err("%s; cancelling the backup", err);
	bj_dm_message(name, "cancel", NULL, err2);
	if (bj_job_finish(name, err2))
		bj_err("%s", err2);
	return 1;
}

int cmd_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sync", required_argument, NULL, 'y' },
		{ "bitmap", required_argument, NULL, 'b' },
		{ "bitmap-mode", required_argument, NULL, 'B' },
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "speed", required_argument, NULL, 's' },
		{ "on-cbw-error", required_argument, NULL, 'e' },
		{ "view", required_argument, NULL, 'v' },
		{ "max-copies", required_argument, NULL, 'n' },
		{ "wait", no_argument, NULL, 'w' },
		{ "reuse", no_argument, NULL, 'r' },	/* qcow2 */
		{ NULL, 0, NULL, 0 },
	};
	bool reuse = false;
	const char *sync = NULL, *bitmap = NULL, *bitmap_mode = NULL, *view = NULL;
	const char *cbw = "break-snapshot", *name, *target;
	uint64_t chunk = 0, speed = 0, max_copies = 16;
	unsigned int tmaj, tmin;
	char err[BJ_ERRLEN], head[128], feat[512], params[BJ_TABLE_MAX], dest[32];
	struct bj_bitmap_info bm;
	struct bj_qtop top = { 0 };
	struct bj_vtable vt;
	struct bj_lock lk;
	bool wait = false;
	int c, r;
	size_t fl = 0;
	char *end;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'y':
			if (strcmp(optarg, "full") && strcmp(optarg, "none") &&
			    strcmp(optarg, "incremental") && strcmp(optarg, "top"))
				return bj_usage_error("backup",
						      "--sync is full, none, incremental or top");
			sync = optarg;
			break;
		case 'b':
			if (!bj_bitmap_name_valid(optarg))
				return bj_usage_error("backup", "invalid bitmap name '%s': %s", optarg,
						      BJ_BITMAP_NAME_RULE);
			bitmap = optarg;
			break;
		case 'B':
			if (strcmp(optarg, "on-success") && strcmp(optarg, "always") &&
			    strcmp(optarg, "never"))
				return bj_usage_error("backup",
						      "--bitmap-mode is on-success, always or never");
			bitmap_mode = optarg;
			break;
		case 'c':
			if (bj_parse_size(optarg, false, &chunk) || chunk < 4096 ||
			    chunk > (64 << 20) || (chunk & (chunk - 1)))
				return bj_usage_error("backup", "--chunk-size %s: must be a power of two from 4K to 64M",
						      optarg);
			break;
		case 's':
			if (bj_parse_size(optarg, true, &speed))
				return bj_usage_error("backup", "--speed takes a rate such as 50M");
			break;
		case 'e':
			if (strcmp(optarg, "break-snapshot") && strcmp(optarg, "break-guest-write"))
				return bj_usage_error("backup",
						      "--on-cbw-error is break-snapshot or break-guest-write");
			cbw = optarg;
			break;
		case 'v':
			r = bj_volume_arg("backup", optarg, &view);
			if (r)
				return r;
			break;
		case 'n':
			max_copies = strtoull(optarg, &end, 10);
			if (*end || !max_copies || max_copies > 256)
				return bj_usage_error("backup", "--max-copies takes 1 to 256");
			break;
		case 'w':
			wait = true;
			break;
		case 'r':
			reuse = true;
			break;
		default:
			return bj_option_error("backup", c, argv);
		}
	}
	if (argc - optind != 2)
		return bj_usage_error("backup", "expected NAME TARGET");
	r = bj_volume_arg("backup", argv[optind], &name);
	if (r)
		return r;
	target = argv[optind + 1];

	if (!sync)
		sync = bitmap ? "incremental" : "full";
	if (bitmap && strcmp(sync, "incremental"))
		return bj_usage_error("backup", "--bitmap goes only with --sync incremental (sync %s copies no bitmap)",
				      sync);
	if (!bitmap && !strcmp(sync, "incremental"))
		return bj_usage_error("backup", "--sync incremental needs --bitmap BM (list them with 'blockjob bitmap list %s')",
				      name);
	if (bitmap_mode && !bitmap)
		return bj_usage_error("backup", "--bitmap-mode goes only with --bitmap");
	if (view && (bitmap || !strcmp(sync, "top")))
		return bj_usage_error("backup", "--view shows a whole image: use it with --sync full or none");

	/* Held from the checks to the started job: no other command interleaves. */
	if (bj_cli_lock(name, &lk, true))
		return 1;
	if (bj_vtable_get(name, &vt, err)) {
		bj_err("%s", err);
		goto fail;
	}
	if (bj_auto_dismiss(name, &vt))
		goto fail;
	/* a qcow2 TARGET is attached as a dm device (detached at exit if --wait) */
	if (bj_qcow2_is_target(target) &&
	    bj_cli_qcow2_target(name, &target, vt.sectors * 512, reuse, err)) {
		bj_err("%s", err);
		goto fail;
	}
	if (bj_job_check_target(name, &vt, target, &tmaj, &tmin, err)) {
		bj_err("%s", err);
		goto fail;
	}
	if (bitmap) {
		r = bj_bitmap_find(name, bitmap, &bm, err);
		if (r) {
			bj_err("%s", err);
			goto fail;
		}
		if (bm.busy) {
			bj_err("bitmap %s of %s is in use by another job", bitmap, name);
			goto fail;
		}
		if (!chunk)
			chunk = bm.granularity;
	}
	if (!chunk)
		chunk = 64 << 10;
	/* qcow2 sync top: the chunks the top image allocates, handed over paused */
	if (!strcmp(sync, "top") && bj_qcow2_top_prepare(vt.src, chunk, &top, err)) {
		bj_err("%s", err);
		goto fail;
	}
	if (view && bj_dm_exists(view)) {
		bj_err("a device named %s exists already; pick another --view name", view);
		goto fail;
	}

#define FEAT(...) do { \
		fl += snprintf(feat + fl, sizeof(feat) - fl, " " __VA_ARGS__); \
	} while (0)
	FEAT("sync %s", sync);
	if (bitmap)
		FEAT("bitmap %s", bitmap);
	if (bitmap_mode)
		FEAT("bitmap_mode %s", bitmap_mode);
	if (speed)
		FEAT("speed %" PRIu64, speed);
	FEAT("on_cbw_error %s max_copies %" PRIu64, cbw, max_copies);
	if (top.granule)
		FEAT("start_paused");
#undef FEAT
	snprintf(head, sizeof(head), "backup %s %" PRIu64 " %u:%u 0 %" PRIu64, vt.src,
		 vt.src_off, tmaj, tmin, chunk / 512);
	/* the volume's metadata device, if any, goes along */
	if (bj_table_params(params, sizeof(params), head, feat, &vt)) {
		bj_qcow2_top_free(&top);
		bj_err("the backup table of %s would be longer than %d bytes", name,
		       BJ_TABLE_MAX - 1);
		goto fail;
	}
	/*
	 * with a metadata device: the record names the job, its destination and
	 * its features (what 'activate' resumes it with) first
	 */
	snprintf(dest, sizeof(dest), "%u:%u", tmaj, tmin);
	if (bj_volume_record_job(name, BJ_RECORD_BACKUP, dest, 0, feat + 1, err)) {
		bj_qcow2_top_free(&top);
		bj_err("%s", err);
		goto fail;
	}
	r = bj_job_start(name, params, err);
	if (r) {
		bj_qcow2_top_free(&top);
		bj_err("%s", err);
		bj_volume_record(name, BJ_RECORD_NO_JOB, NULL, 0, err);
		goto fail;
	}
	r = top.granule ? bj_qcow2_top_start(name, &top, err) : 0;
	bj_qcow2_top_free(&top);
	if (r) {
		cancel_started(name, err);
		goto fail;
	}
	if (view) {
		r = bj_view_create(view, name, err);
		if (r) {
			cancel_started(name, err);
			goto fail;
		}
	}
	bj_volume_unlock(&lk);
	if (wait)
		return wait_concluded(name);
	bj_cli_qcow2_target_keep();
	return 0;
fail:
	bj_qcow2_top_free(&top);
	bj_volume_unlock(&lk);
	return 1;
}
