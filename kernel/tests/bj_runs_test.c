// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the table of background copy runs in flight
 * (kernel/bj-runs.c): bad input, run edges, chunks done out of order (a
 * failed run is copied again chunk by chunk), slot reuse, and a long random
 * sequence checked against a plain bitmap model.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/slab.h>

#include "bj-runs.h"

static int runs_res_init(struct kunit_resource *res, void *context)
{
	res->data = context;
	return 0;
}

static void runs_res_free(struct kunit_resource *res)
{
	bj_runs_free(res->data);
}

/* A run table with @slots slots, freed when the test ends. */
static struct bj_runs *runs_new(struct kunit *test, unsigned int slots)
{
	struct bj_runs *rt = kunit_kzalloc(test, sizeof(*rt), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, rt);
	KUNIT_ASSERT_EQ(test, bj_runs_init(rt, slots, GFP_KERNEL), 0);
	if (!kunit_alloc_resource(test, runs_res_init, runs_res_free, GFP_KERNEL, rt)) {
		bj_runs_free(rt);
		KUNIT_ASSERT_FAILURE(test, "cannot register the run table for cleanup");
	}
	return rt;
}

static void bj_runs_bad_input_test(struct kunit *test)
{
	struct bj_runs *rt = runs_new(test, 2);

	KUNIT_EXPECT_EQ(test, bj_runs_add(rt, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, bj_runs_add(rt, 0, BJ_RUN_MAX_CHUNKS + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, rt->used, 0U);
	KUNIT_EXPECT_TRUE(test, bj_runs_room(rt));
	KUNIT_EXPECT_EQ(test, bj_runs_add(rt, 0, BJ_RUN_MAX_CHUNKS), 0);
	KUNIT_EXPECT_EQ(test, bj_runs_add(rt, 1000, 1), 0);
	KUNIT_EXPECT_FALSE(test, bj_runs_room(rt));
	KUNIT_EXPECT_EQ(test, bj_runs_add(rt, 2000, 1), -ENOSPC);
	KUNIT_EXPECT_FALSE(test, bj_runs_test(rt, 2000));
	/* Done for a chunk not in flight changes nothing. */
	KUNIT_EXPECT_FALSE(test, bj_runs_done(rt, 999));
	KUNIT_EXPECT_FALSE(test, bj_runs_done(rt, BJ_RUN_MAX_CHUNKS));
	KUNIT_EXPECT_EQ(test, rt->used, 2U);
	KUNIT_EXPECT_EQ(test, bj_runs_mem_bytes(rt), 2 * sizeof(struct bj_run));
}

static void bj_runs_edges_test(struct kunit *test)
{
	struct bj_runs *rt = runs_new(test, 4);
	static const u64 order[] = {
		13, 10, 25, 11, 24, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
	};
	unsigned int i;
	u64 c;

	KUNIT_ASSERT_EQ(test, bj_runs_add(rt, 10, 16), 0);	/* chunks 10..25 */
	KUNIT_ASSERT_EQ(test, bj_runs_add(rt, 26, 1), 0);	/* right after it */
	KUNIT_ASSERT_EQ(test, bj_runs_add(rt, U64_MAX - 3, 3), 0);	/* the last chunks */
	for (c = 0; c < 40; c++)
		KUNIT_EXPECT_EQ_MSG(test, bj_runs_test(rt, c), c >= 10 && c <= 26, "chunk %llu", c);
	KUNIT_EXPECT_FALSE(test, bj_runs_test(rt, U64_MAX - 4));
	KUNIT_EXPECT_TRUE(test, bj_runs_test(rt, U64_MAX - 3));
	KUNIT_EXPECT_TRUE(test, bj_runs_test(rt, U64_MAX - 1));
	KUNIT_EXPECT_FALSE(test, bj_runs_test(rt, U64_MAX));

	/* Out of order, as when a failed run is copied again chunk by chunk. */
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		KUNIT_EXPECT_TRUE_MSG(test, bj_runs_done(rt, order[i]), "done %llu", order[i]);
		KUNIT_EXPECT_FALSE_MSG(test, bj_runs_test(rt, order[i]), "after %llu", order[i]);
		KUNIT_EXPECT_FALSE_MSG(test, bj_runs_done(rt, order[i]), "twice %llu", order[i]);
		KUNIT_EXPECT_EQ(test, rt->used, i + 1 < ARRAY_SIZE(order) ? 3U : 2U);
	}
	KUNIT_EXPECT_TRUE(test, bj_runs_test(rt, 26));
	/* The freed slot takes a new run over the same chunks. */
	KUNIT_EXPECT_EQ(test, bj_runs_add(rt, 10, 3), 0);
	KUNIT_EXPECT_EQ(test, bj_runs_add(rt, 100, 2), 0);
	KUNIT_EXPECT_FALSE(test, bj_runs_room(rt));
	KUNIT_EXPECT_TRUE(test, bj_runs_test(rt, 12));
	KUNIT_EXPECT_FALSE(test, bj_runs_test(rt, 13));
	KUNIT_EXPECT_TRUE(test, bj_runs_done(rt, 26));
	KUNIT_EXPECT_TRUE(test, bj_runs_room(rt));
}

/* A small deterministic generator (the model test must be repeatable). */
static u32 next_rand(u32 *s)
{
	*s = *s * 1664525 + 1013904223;
	return *s >> 8;
}

#define MODEL_CHUNKS	1024
#define MODEL_SLOTS	8

/*
 * Random adds of free stretches and dones of in-flight chunks, checked
 * against a bitmap of the chunks in flight after every step.
 */
static void bj_runs_model_test(struct kunit *test)
{
	struct bj_runs *rt = runs_new(test, MODEL_SLOTS);
	unsigned long *model = kunit_kcalloc(test, BITS_TO_LONGS(MODEL_CHUNKS),
					     sizeof(long), GFP_KERNEL);
	unsigned int step, runs = 0, full = 0, c, n, i, fails = 0;
	u32 seed = 42;

	KUNIT_ASSERT_NOT_NULL(test, model);
	for (step = 0; step < 1500 && !fails; step++) {
		full += !bj_runs_room(rt);
		if (next_rand(&seed) % 2 && bj_runs_room(rt)) {
			c = next_rand(&seed) % MODEL_CHUNKS;
			/* Mostly short runs (so that many end), some of the largest size. */
			n = next_rand(&seed) % 32 ? 1 + next_rand(&seed) % 8 : BJ_RUN_MAX_CHUNKS;
			n = min(n, MODEL_CHUNKS - c);
			/* Only chunks not in flight: shorten at the first busy one. */
			for (i = 0; i < n && !test_bit(c + i, model); i++)
				;
			if (!i)
				continue;
			KUNIT_ASSERT_EQ(test, bj_runs_add(rt, c, i), 0);
			bitmap_set(model, c, i);
			runs++;
		} else if (!bitmap_empty(model, MODEL_CHUNKS)) {
			/* Done for a random chunk in flight. */
			c = next_rand(&seed) % MODEL_CHUNKS;
			c = find_next_bit(model, MODEL_CHUNKS, c);
			if (c >= MODEL_CHUNKS)
				c = find_first_bit(model, MODEL_CHUNKS);
			KUNIT_EXPECT_TRUE(test, bj_runs_done(rt, c));
			clear_bit(c, model);
		}
		for (c = 0; c < MODEL_CHUNKS; c++)
			if (bj_runs_test(rt, c) != test_bit(c, model))
				fails++;
		KUNIT_EXPECT_EQ_MSG(test, fails, 0U, "step %u", step);
		KUNIT_EXPECT_LE(test, rt->used, (unsigned int)MODEL_SLOTS);
	}
	/* The sequence must have exercised a full table and many runs. */
	kunit_info(test, "%u runs, table full at %u of %u steps", runs, full, step);
	KUNIT_EXPECT_GT(test, runs, 100U);
	KUNIT_EXPECT_GT(test, full, 0U);
	/* Drain: every slot comes back. */
	for_each_set_bit(c, model, MODEL_CHUNKS)
		KUNIT_EXPECT_TRUE(test, bj_runs_done(rt, c));
	KUNIT_EXPECT_EQ(test, rt->used, 0U);
}

static struct kunit_case bj_runs_test_cases[] = {
	KUNIT_CASE(bj_runs_bad_input_test),
	KUNIT_CASE(bj_runs_edges_test),
	KUNIT_CASE(bj_runs_model_test),
	{}
};

static struct kunit_suite bj_runs_test_suite = {
	.name = "bj_runs",
	.test_cases = bj_runs_test_cases,
};

kunit_test_suites(&bj_runs_test_suite);
