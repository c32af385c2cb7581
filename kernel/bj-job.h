/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The job state machine (QEMU's job model), pure logic: which event moves a
 * job from which state to which. No locking here; struct bj_job's users hold
 * bj_job.lock around every transition.
 */
#ifndef DM_BLOCKJOB_JOB_H
#define DM_BLOCKJOB_JOB_H

#include <linux/types.h>
#include <uapi/linux/dm-blockjob.h>

enum bj_job_event {
	BJ_EV_PAUSE,		/* "pause" message, or an error under policy "stop" */
	BJ_EV_RESUME,		/* "resume" message */
	BJ_EV_SYNCED,		/* mirror: every region clean, destination flushed */
	BJ_EV_UNSYNCED,		/* mirror: a region became dirty again while ready */
	BJ_EV_COMPLETE,		/* mirror: pivot done; backup: every chunk saved */
	BJ_EV_CANCEL,		/* "cancel" message */
	BJ_EV_FAIL,		/* an error under policy "report" */
	BJ_EV_REOPEN,		/* mirror: the table a pivot concluded was resumed */
	BJ_EV_NR,
};

/* How a concluded job ended. */
enum bj_job_result {
	BJ_RESULT_NONE,
	BJ_RESULT_COMPLETED,
	BJ_RESULT_CANCELLED,
	BJ_RESULT_FAILED,
};

/*
 * Next state for @ev in @cur, stored in *@next. Returns 0, or -EINVAL when
 * the event is not allowed in that state (the caller reports it; the state
 * does not change). *@result is set when the job concludes.
 */
int bj_job_next_state(enum dm_blockjob_state cur, enum bj_job_event ev,
		      enum dm_blockjob_state *next, enum bj_job_result *result);

const char *bj_state_name(enum dm_blockjob_state s);
const char *bj_result_name(enum bj_job_result r);
const char *bj_event_name(enum bj_job_event ev);

#endif
