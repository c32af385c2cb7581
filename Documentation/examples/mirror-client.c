// SPDX-License-Identifier: GPL-2.0
/*
 * mirror-client: move a dm-blockjob volume onto another device with
 * libblockjob, as a storage agent would: start a mirror, wait for
 * BLOCK_JOB_READY on the job events, pivot. What 'blockjob mirror NAME
 * TARGET --wait; blockjob complete NAME' does, through the public API only.
 *
 *	cc -o mirror-client mirror-client.c $(pkg-config --cflags --libs libblockjob)
 *	mirror-client NAME TARGET
 *
 * Exit status 0 once NAME lives on TARGET; 1 with one line on stderr.
 * Documentation/libblockjob.rst.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <blockjob/blockjob.h>

/* A volume's table is switched only under its lock (bj-lock.h). */
static int lock(const char *name, struct bj_lock *lk, char *err)
{
	return bj_volume_lock(name, true, lk, NULL, err);
}

/* Start a mirror of volume @name onto @target, 64 KiB regions, defaults otherwise. */
static int start_mirror(const char *name, const char *target, char *err)
{
	char head[128], params[BJ_TABLE_MAX], dest[32];
	unsigned int major, minor;
	struct bj_vtable vt;
	struct bj_lock lk;
	int r;

	r = lock(name, &lk, err);
	if (r)
		return r;
	r = bj_vtable_get(name, &vt, err);
	if (!r)
		r = bj_job_check_target(name, &vt, target, &major, &minor, err);
	if (r)
		goto out;
	snprintf(head, sizeof(head), "mirror %s %" PRIu64 " %u:%u 0 128", vt.src, vt.src_off,
		 major, minor);
	r = bj_table_params(params, sizeof(params), head, NULL, &vt);
	if (r) {
		snprintf(err, BJ_ERRLEN, "%s: the mirror table is too long", name);
		goto out;
	}
	/* a volume with a metadata device records its job first (a no-op without) */
	snprintf(dest, sizeof(dest), "%u:%u", major, minor);
	r = bj_volume_record(name, BJ_RECORD_MIRROR, dest, 0, err);
	if (!r)
		r = bj_job_start(name, params, err);
out:
	bj_volume_unlock(&lk);
	return r;
}

/*
 * Wait on @ev (subscribed before the job started: no event can be missed)
 * until the mirror on @name is ready. Events of other volumes are skipped;
 * if the socket overran, the state is read from the volume instead.
 */
static int wait_ready(struct bj_events *ev, const char *name, char *err)
{
	struct bj_status st;
	struct bj_event e;
	int r;

	for (;;) {
		r = bj_events_next(ev, &e, -1, NULL, err);
		if (r == -ENOBUFS) {
			r = bj_dm_status(name, &st, err);
			if (r)
				return r;
			if (!strcmp(st.state, "ready"))
				return 0;
			if (!strcmp(st.state, "concluded")) {
				snprintf(err, BJ_ERRLEN, "%s: the mirror %s before it was ready",
					 name, st.result);
				return -ECANCELED;
			}
			continue;
		}
		if (r == -EBADMSG)
			continue;
		if (r < 0)
			return r;
		if (strcmp(e.device, name))
			continue;
		if (e.event == DM_BLOCKJOB_EVENT_READY)
			return 0;
		if (e.state == DM_BLOCKJOB_STATE_CONCLUDED) {
			snprintf(err, BJ_ERRLEN, "%s: the mirror concluded before it was ready (%s)",
				 name, e.error ? strerror(-e.error) : bj_event_name(e.event));
			return -ECANCELED;
		}
	}
}

/* The pivot goes through only if the suspended mirror concluded completed. */
static int completed(const char *name, const struct bj_status *st, char *err)
{
	if (!strcmp(st->state, "concluded") && !strcmp(st->result, "completed"))
		return 0;
	snprintf(err, BJ_ERRLEN, "%s: pivot aborted: the mirror is %s", name, st->state);
	return -EAGAIN;
}

/* Pivot: the volume goes on on the mirror's destination, in passthrough. */
static int pivot(const char *name, char *err)
{
	char params[BJ_TABLE_MAX];
	struct bj_vtable vt;
	struct bj_lock lk;
	int r;

	r = lock(name, &lk, err);
	if (r)
		return r;
	r = bj_vtable_get(name, &vt, err);
	if (!r)
		r = bj_dm_message(name, "complete", NULL, err);
	if (!r && bj_passthrough_params(params, sizeof(params), &vt, vt.dst, vt.dst_off)) {
		snprintf(err, BJ_ERRLEN, "%s: the passthrough table is too long", name);
		r = -ENAMETOOLONG;
	}
	if (!r)
		r = bj_volume_switch(name, params, completed, err);
	if (!r)
		r = bj_volume_record(name, BJ_RECORD_NO_JOB, NULL, 0, err);
	bj_volume_unlock(&lk);
	return r;
}

int main(int argc, char **argv)
{
	struct bj_events *ev;
	char err[BJ_ERRLEN];
	const char *name;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: mirror-client NAME TARGET\n");
		return 2;
	}
	r = bj_dm_name(argv[1], &name, err);
	if (!r)
		r = bj_events_open(&ev, err);
	if (r) {
		fprintf(stderr, "mirror-client: %s\n", err);
		return 1;
	}
	r = start_mirror(name, argv[2], err);
	if (!r) {
		r = wait_ready(ev, name, err);
		if (!r)
			printf("%s: ready\n", name);
	}
	bj_events_close(ev);
	if (!r)
		r = pivot(name, err);
	if (r) {
		fprintf(stderr, "mirror-client: %s\n", err);
		return 1;
	}
	printf("%s: pivoted onto %s\n", name, argv[2]);
	return 0;
}
