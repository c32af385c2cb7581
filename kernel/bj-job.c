// SPDX-License-Identifier: GPL-2.0
/*
 * Job state machine:
 *
 *   pause:    running -> paused; ready -> standby
 *   resume:   paused -> running; standby -> ready
 *   synced:   running -> ready (mirror: every region clean, target flushed)
 *   unsynced: ready -> running; standby -> paused (a region is dirty again)
 *   complete: running or ready -> concluded (backup done; mirror pivoted)
 *   cancel:   any live state -> concluded (cancelled)
 *   fail:     any live state -> concluded (failed)
 *   reopen:   concluded -> ready (mirror: the suspend before a pivot
 *             concluded it completed, then the same table was resumed: no
 *             pivot happened; the caller checks it was that conclusion)
 *
 * idle (no job) takes no events; concluded takes only reopen.
 */
#include <linux/errno.h>
#include <linux/kernel.h>

#include "bj-job.h"

int bj_job_next_state(enum dm_blockjob_state cur, enum bj_job_event ev,
		      enum dm_blockjob_state *next, enum bj_job_result *result)
{
	enum dm_blockjob_state n = cur;
	enum bj_job_result r = BJ_RESULT_NONE;

	if (cur == DM_BLOCKJOB_STATE_IDLE)
		return -EINVAL;
	/* Concluded takes reopen only, and only concluded takes it. */
	if (cur == DM_BLOCKJOB_STATE_CONCLUDED && ev != BJ_EV_REOPEN)
		return -EINVAL;
	if (cur != DM_BLOCKJOB_STATE_CONCLUDED && ev == BJ_EV_REOPEN)
		return -EINVAL;

	switch (ev) {
	case BJ_EV_PAUSE:
		if (cur == DM_BLOCKJOB_STATE_RUNNING)
			n = DM_BLOCKJOB_STATE_PAUSED;
		else if (cur == DM_BLOCKJOB_STATE_READY)
			n = DM_BLOCKJOB_STATE_STANDBY;
		else
			return -EINVAL;
		break;
	case BJ_EV_RESUME:
		if (cur == DM_BLOCKJOB_STATE_PAUSED)
			n = DM_BLOCKJOB_STATE_RUNNING;
		else if (cur == DM_BLOCKJOB_STATE_STANDBY)
			n = DM_BLOCKJOB_STATE_READY;
		else
			return -EINVAL;
		break;
	case BJ_EV_SYNCED:
		if (cur != DM_BLOCKJOB_STATE_RUNNING)
			return -EINVAL;
		n = DM_BLOCKJOB_STATE_READY;
		break;
	case BJ_EV_UNSYNCED:
		if (cur == DM_BLOCKJOB_STATE_READY)
			n = DM_BLOCKJOB_STATE_RUNNING;
		else if (cur == DM_BLOCKJOB_STATE_STANDBY)
			n = DM_BLOCKJOB_STATE_PAUSED;
		else
			return -EINVAL;
		break;
	case BJ_EV_COMPLETE:
		if (cur != DM_BLOCKJOB_STATE_RUNNING && cur != DM_BLOCKJOB_STATE_READY)
			return -EINVAL;
		n = DM_BLOCKJOB_STATE_CONCLUDED;
		r = BJ_RESULT_COMPLETED;
		break;
	case BJ_EV_CANCEL:
		n = DM_BLOCKJOB_STATE_CONCLUDED;
		r = BJ_RESULT_CANCELLED;
		break;
	case BJ_EV_FAIL:
		n = DM_BLOCKJOB_STATE_CONCLUDED;
		r = BJ_RESULT_FAILED;
		break;
	case BJ_EV_REOPEN:
		n = DM_BLOCKJOB_STATE_READY;
		break;
	default:
		return -EINVAL;
	}
	*next = n;
	if (result)
		*result = r;
	return 0;
}

const char *bj_state_name(enum dm_blockjob_state s)
{
	static const char *const names[] = {
		[DM_BLOCKJOB_STATE_IDLE] = "idle",
		[DM_BLOCKJOB_STATE_RUNNING] = "running",
		[DM_BLOCKJOB_STATE_PAUSED] = "paused",
		[DM_BLOCKJOB_STATE_READY] = "ready",
		[DM_BLOCKJOB_STATE_STANDBY] = "standby",
		[DM_BLOCKJOB_STATE_CONCLUDED] = "concluded",
	};

	if ((unsigned int)s >= ARRAY_SIZE(names) || !names[s])
		return "unknown";
	return names[s];
}

const char *bj_result_name(enum bj_job_result r)
{
	switch (r) {
	case BJ_RESULT_COMPLETED:
		return "completed";
	case BJ_RESULT_CANCELLED:
		return "cancelled";
	case BJ_RESULT_FAILED:
		return "failed";
	default:
		return "-";
	}
}

const char *bj_event_name(enum bj_job_event ev)
{
	static const char *const names[] = {
		[BJ_EV_PAUSE] = "pause",
		[BJ_EV_RESUME] = "resume",
		[BJ_EV_SYNCED] = "synced",
		[BJ_EV_UNSYNCED] = "unsynced",
		[BJ_EV_COMPLETE] = "complete",
		[BJ_EV_CANCEL] = "cancel",
		[BJ_EV_FAIL] = "fail",
		[BJ_EV_REOPEN] = "reopen",
	};

	if ((unsigned int)ev >= ARRAY_SIZE(names))
		return "unknown";
	return names[ev];
}
