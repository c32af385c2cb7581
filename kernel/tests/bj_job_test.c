// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the job state machine (kernel/bj-job.c): the full table
 * of (state, event) -> next state and result, or -EINVAL, for every state
 * and every event; a separate case checks that the table is exhaustive.
 */
#include <kunit/test.h>
#include <linux/kernel.h>

#include "bj-job.h"

#define NR_STATES	(DM_BLOCKJOB_STATE_CONCLUDED + 1)

#define IDLE		DM_BLOCKJOB_STATE_IDLE
#define RUNNING		DM_BLOCKJOB_STATE_RUNNING
#define PAUSED		DM_BLOCKJOB_STATE_PAUSED
#define READY		DM_BLOCKJOB_STATE_READY
#define STANDBY		DM_BLOCKJOB_STATE_STANDBY
#define CONCLUDED	DM_BLOCKJOB_STATE_CONCLUDED

struct transition {
	enum dm_blockjob_state cur;
	enum bj_job_event ev;
	int ret;
	enum dm_blockjob_state next;
	enum bj_job_result result;
};

/* Allowed: next state and result. Refused: -EINVAL. */
#define OK(s, e, n)		{ s, e, 0, n, BJ_RESULT_NONE }
#define END(s, e, r)		{ s, e, 0, CONCLUDED, r }
#define NO(s, e)		{ s, e, -EINVAL }

static const struct transition transitions[] = {
	/* idle: no job, nothing to act on */
	NO(IDLE, BJ_EV_PAUSE),
	NO(IDLE, BJ_EV_RESUME),
	NO(IDLE, BJ_EV_SYNCED),
	NO(IDLE, BJ_EV_UNSYNCED),
	NO(IDLE, BJ_EV_COMPLETE),
	NO(IDLE, BJ_EV_CANCEL),
	NO(IDLE, BJ_EV_FAIL),
	NO(IDLE, BJ_EV_REOPEN),

	OK(RUNNING, BJ_EV_PAUSE, PAUSED),
	NO(RUNNING, BJ_EV_RESUME),
	OK(RUNNING, BJ_EV_SYNCED, READY),
	NO(RUNNING, BJ_EV_UNSYNCED),
	END(RUNNING, BJ_EV_COMPLETE, BJ_RESULT_COMPLETED),
	END(RUNNING, BJ_EV_CANCEL, BJ_RESULT_CANCELLED),
	END(RUNNING, BJ_EV_FAIL, BJ_RESULT_FAILED),
	NO(RUNNING, BJ_EV_REOPEN),

	NO(PAUSED, BJ_EV_PAUSE),
	OK(PAUSED, BJ_EV_RESUME, RUNNING),
	NO(PAUSED, BJ_EV_SYNCED),
	NO(PAUSED, BJ_EV_UNSYNCED),
	NO(PAUSED, BJ_EV_COMPLETE),
	END(PAUSED, BJ_EV_CANCEL, BJ_RESULT_CANCELLED),
	END(PAUSED, BJ_EV_FAIL, BJ_RESULT_FAILED),
	NO(PAUSED, BJ_EV_REOPEN),

	OK(READY, BJ_EV_PAUSE, STANDBY),
	NO(READY, BJ_EV_RESUME),
	NO(READY, BJ_EV_SYNCED),
	OK(READY, BJ_EV_UNSYNCED, RUNNING),
	END(READY, BJ_EV_COMPLETE, BJ_RESULT_COMPLETED),
	END(READY, BJ_EV_CANCEL, BJ_RESULT_CANCELLED),
	END(READY, BJ_EV_FAIL, BJ_RESULT_FAILED),
	NO(READY, BJ_EV_REOPEN),

	NO(STANDBY, BJ_EV_PAUSE),
	OK(STANDBY, BJ_EV_RESUME, READY),
	NO(STANDBY, BJ_EV_SYNCED),
	OK(STANDBY, BJ_EV_UNSYNCED, PAUSED),
	NO(STANDBY, BJ_EV_COMPLETE),
	END(STANDBY, BJ_EV_CANCEL, BJ_RESULT_CANCELLED),
	END(STANDBY, BJ_EV_FAIL, BJ_RESULT_FAILED),
	NO(STANDBY, BJ_EV_REOPEN),

	/* concluded: final, but for a pivot's conclusion undone by a resume */
	NO(CONCLUDED, BJ_EV_PAUSE),
	NO(CONCLUDED, BJ_EV_RESUME),
	NO(CONCLUDED, BJ_EV_SYNCED),
	NO(CONCLUDED, BJ_EV_UNSYNCED),
	NO(CONCLUDED, BJ_EV_COMPLETE),
	NO(CONCLUDED, BJ_EV_CANCEL),
	NO(CONCLUDED, BJ_EV_FAIL),
	OK(CONCLUDED, BJ_EV_REOPEN, READY),
};

static void transition_desc(const struct transition *t, char *desc)
{
	if (t->ret)
		snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s + %s refused",
			 bj_state_name(t->cur), bj_event_name(t->ev));
	else
		snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s + %s -> %s (%s)",
			 bj_state_name(t->cur), bj_event_name(t->ev),
			 bj_state_name(t->next), bj_result_name(t->result));
}

KUNIT_ARRAY_PARAM(transition, transitions, transition_desc);

/* Sentinels: a refused event must leave the caller's variables alone. */
#define NEXT_UNSET	((enum dm_blockjob_state)0x5a5a)
#define RESULT_UNSET	((enum bj_job_result)0x5a5a)

static void bj_job_transition_test(struct kunit *test)
{
	const struct transition *t = test->param_value;
	enum dm_blockjob_state next = NEXT_UNSET;
	enum bj_job_result result = RESULT_UNSET;

	KUNIT_ASSERT_EQ(test, bj_job_next_state(t->cur, t->ev, &next, &result), t->ret);
	if (t->ret) {
		KUNIT_EXPECT_EQ(test, next, NEXT_UNSET);
		KUNIT_EXPECT_EQ(test, result, RESULT_UNSET);
	} else {
		KUNIT_EXPECT_EQ(test, next, t->next);
		KUNIT_EXPECT_EQ(test, result, t->result);
		/* Only the conclusion carries a result. */
		KUNIT_EXPECT_EQ(test, result != BJ_RESULT_NONE, next == CONCLUDED);
	}

	/* The result pointer is optional. */
	next = NEXT_UNSET;
	KUNIT_EXPECT_EQ(test, bj_job_next_state(t->cur, t->ev, &next, NULL), t->ret);
	KUNIT_EXPECT_EQ(test, next, t->ret ? NEXT_UNSET : t->next);
}

/* The table above has every (state, event) pair exactly once. */
static void bj_job_table_exhaustive_test(struct kunit *test)
{
	unsigned int seen[NR_STATES][BJ_EV_NR] = {};
	unsigned int i, s, e;

	KUNIT_EXPECT_EQ(test, ARRAY_SIZE(transitions), (size_t)NR_STATES * BJ_EV_NR);
	for (i = 0; i < ARRAY_SIZE(transitions); i++) {
		KUNIT_ASSERT_LT(test, (unsigned int)transitions[i].cur, NR_STATES);
		KUNIT_ASSERT_LT(test, (unsigned int)transitions[i].ev, BJ_EV_NR);
		seen[transitions[i].cur][transitions[i].ev]++;
	}
	for (s = 0; s < NR_STATES; s++)
		for (e = 0; e < BJ_EV_NR; e++)
			KUNIT_EXPECT_EQ_MSG(test, seen[s][e], 1U, "%s + %s",
					    bj_state_name(s), bj_event_name(e));
}

/* Events outside the enum are refused in every live state. */
static void bj_job_bad_event_test(struct kunit *test)
{
	static const enum bj_job_event bad[] = {
		BJ_EV_NR, BJ_EV_NR + 1, (enum bj_job_event)-1,
	};
	enum dm_blockjob_state next;
	enum bj_job_result result;
	unsigned int s, i;

	for (s = 0; s < NR_STATES; s++) {
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			next = NEXT_UNSET;
			KUNIT_EXPECT_EQ_MSG(test, bj_job_next_state(s, bad[i], &next, &result),
					    -EINVAL, "state %s, event %d", bj_state_name(s),
					    (int)bad[i]);
			KUNIT_EXPECT_EQ(test, next, NEXT_UNSET);
		}
	}
}

/* Walks a mirror and a backup through their typical lives. */
static void bj_job_lifecycle_test(struct kunit *test)
{
	static const struct {
		enum bj_job_event ev;
		enum dm_blockjob_state next;
	} mirror[] = {
		{ BJ_EV_PAUSE, PAUSED },
		{ BJ_EV_RESUME, RUNNING },
		{ BJ_EV_SYNCED, READY },
		{ BJ_EV_UNSYNCED, RUNNING },
		{ BJ_EV_SYNCED, READY },
		{ BJ_EV_PAUSE, STANDBY },
		{ BJ_EV_UNSYNCED, PAUSED },
		{ BJ_EV_RESUME, RUNNING },
		{ BJ_EV_SYNCED, READY },
		{ BJ_EV_PAUSE, STANDBY },
		{ BJ_EV_RESUME, READY },
		{ BJ_EV_COMPLETE, CONCLUDED },
	};
	enum dm_blockjob_state s = RUNNING;
	enum bj_job_result result = RESULT_UNSET;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mirror); i++) {
		KUNIT_ASSERT_EQ_MSG(test, bj_job_next_state(s, mirror[i].ev, &s, &result), 0,
				    "step %u: %s", i, bj_event_name(mirror[i].ev));
		KUNIT_ASSERT_EQ_MSG(test, s, mirror[i].next, "step %u", i);
	}
	KUNIT_EXPECT_EQ(test, result, BJ_RESULT_COMPLETED);
	KUNIT_EXPECT_EQ(test, bj_job_next_state(s, BJ_EV_CANCEL, &s, &result), -EINVAL);
	KUNIT_EXPECT_EQ(test, s, CONCLUDED);
	KUNIT_EXPECT_EQ(test, result, BJ_RESULT_COMPLETED);

	/* A backup: paused, resumed, then fails under policy "report". */
	s = RUNNING;
	KUNIT_ASSERT_EQ(test, bj_job_next_state(s, BJ_EV_PAUSE, &s, &result), 0);
	KUNIT_ASSERT_EQ(test, bj_job_next_state(s, BJ_EV_RESUME, &s, &result), 0);
	KUNIT_ASSERT_EQ(test, bj_job_next_state(s, BJ_EV_FAIL, &s, &result), 0);
	KUNIT_EXPECT_EQ(test, s, CONCLUDED);
	KUNIT_EXPECT_EQ(test, result, BJ_RESULT_FAILED);
}

static void bj_job_names_test(struct kunit *test)
{
	KUNIT_EXPECT_STREQ(test, bj_state_name(IDLE), "idle");
	KUNIT_EXPECT_STREQ(test, bj_state_name(RUNNING), "running");
	KUNIT_EXPECT_STREQ(test, bj_state_name(PAUSED), "paused");
	KUNIT_EXPECT_STREQ(test, bj_state_name(READY), "ready");
	KUNIT_EXPECT_STREQ(test, bj_state_name(STANDBY), "standby");
	KUNIT_EXPECT_STREQ(test, bj_state_name(CONCLUDED), "concluded");
	KUNIT_EXPECT_STREQ(test, bj_state_name(NR_STATES), "unknown");
	KUNIT_EXPECT_STREQ(test, bj_state_name((enum dm_blockjob_state)-1), "unknown");

	KUNIT_EXPECT_STREQ(test, bj_event_name(BJ_EV_PAUSE), "pause");
	KUNIT_EXPECT_STREQ(test, bj_event_name(BJ_EV_RESUME), "resume");
	KUNIT_EXPECT_STREQ(test, bj_event_name(BJ_EV_SYNCED), "synced");
	KUNIT_EXPECT_STREQ(test, bj_event_name(BJ_EV_UNSYNCED), "unsynced");
	KUNIT_EXPECT_STREQ(test, bj_event_name(BJ_EV_COMPLETE), "complete");
	KUNIT_EXPECT_STREQ(test, bj_event_name(BJ_EV_CANCEL), "cancel");
	KUNIT_EXPECT_STREQ(test, bj_event_name(BJ_EV_FAIL), "fail");
	KUNIT_EXPECT_STREQ(test, bj_event_name(BJ_EV_NR), "unknown");

	KUNIT_EXPECT_STREQ(test, bj_result_name(BJ_RESULT_NONE), "-");
	KUNIT_EXPECT_STREQ(test, bj_result_name(BJ_RESULT_COMPLETED), "completed");
	KUNIT_EXPECT_STREQ(test, bj_result_name(BJ_RESULT_CANCELLED), "cancelled");
	KUNIT_EXPECT_STREQ(test, bj_result_name(BJ_RESULT_FAILED), "failed");
}

static struct kunit_case bj_job_test_cases[] = {
	KUNIT_CASE_PARAM(bj_job_transition_test, transition_gen_params),
	KUNIT_CASE(bj_job_table_exhaustive_test),
	KUNIT_CASE(bj_job_bad_event_test),
	KUNIT_CASE(bj_job_lifecycle_test),
	KUNIT_CASE(bj_job_names_test),
	{}
};

static struct kunit_suite bj_job_test_suite = {
	.name = "bj_job",
	.test_cases = bj_job_test_cases,
};

kunit_test_suites(&bj_job_test_suite);
