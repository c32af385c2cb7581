// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the speed limiter (kernel/bj-throttle.c): scripted
 * sequences of requests, rate changes and refunds with the exact delays
 * expected, and simulated copies that check the long-run rate.
 */
#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/math64.h>
#include <linux/sizes.h>
#include <linux/time64.h>

#include "bj-throttle.h"

#define MS		NSEC_PER_MSEC
#define SLICE		BJ_THROTTLE_SLICE_NS

enum step_kind { S_END, S_DELAY, S_RATE, S_REFUND, S_BYTES };

struct step {
	enum step_kind kind;
	u64 a;		/* delay: now (ns); rate: new rate; refund: bytes */
	u64 b;		/* delay: bytes */
	u64 expect;	/* delay: ns to wait; bytes: slice_bytes */
};

struct script {
	const char *name;
	u64 rate;
	struct step steps[10];
};

#define D(now, bytes, wait)	{ S_DELAY, now, bytes, wait }
#define RATE(r)			{ S_RATE, r }
#define REFUND(n)		{ S_REFUND, n }
#define BYTES(n)		{ S_BYTES, 0, 0, n }

static const struct script scripts[] = {
	{ "rate 0 never waits", 0,
	  { D(0, SZ_1G, 0), D(0, SZ_1G, 0), D(1, U64_MAX, 0), D(U64_MAX, 1, 0), BYTES(0) } },
	/* 1 MiB at 1000 B/s: the next request waits the 1048.5 s it costs. */
	{ "first request goes even above the quota", 1000,
	  { D(1000 * MS, SZ_1M, 0), BYTES(SZ_1M), D(1000 * MS, 1, 1048500 * MS),
	    D(1099 * MS, 1, 1048401 * MS), D(1100 * MS, SZ_1M, 1048400 * MS),
	    D(1100 * MS, 1, 1048400 * MS) } },
	{ "a request above the quota is paid off in later slices", 1000,
	  { D(0, 1000, 0), D(0, 1, 1000 * MS), D(500 * MS, 1, 500 * MS), D(1000 * MS, 1, 0),
	    BYTES(1), D(1000 * MS, 1, 0) } },
	{ "debt and idle time", 1000,
	  { D(0, 250, 0), D(150 * MS, 1, 50 * MS), D(200 * MS, 1, 0), BYTES(51),
	    D(700 * MS, 1, 0), BYTES(1) } },
	{ "quota 1 MiB per slice at 10 MiB/s", 10 * SZ_1M,
	  { D(0, SZ_256K, 0), D(0, SZ_256K, 0), D(0, SZ_256K, 0), D(0, SZ_256K, 0),
	    BYTES(SZ_1M), D(0, SZ_256K, 100 * MS), D(40 * MS, SZ_256K, 60 * MS),
	    D(100 * MS, SZ_256K, 0), BYTES(SZ_256K) } },
	{ "the request crossing the quota goes", 10 * SZ_1M,
	  { D(0, SZ_1M - 1, 0), D(0, SZ_1M, 0), BYTES(2 * SZ_1M - 1),
	    D(0, 1, 100 * MS) } },
	{ "a waiting request does not count", 10 * SZ_1M,
	  { D(0, SZ_1M, 0), D(10 * MS, SZ_1M, 90 * MS), D(20 * MS, SZ_1M, 80 * MS),
	    BYTES(SZ_1M) } },
	{ "slice boundary", 1000,
	  { D(0, 100, 0), D(SLICE - 1, 1, 1), D(SLICE, 1, 0), D(2 * SLICE - 1, 99, 0),
	    D(2 * SLICE - 1, 1, 1), D(2 * SLICE, 1, 0) } },
	{ "clock going back starts a new slice", 1000,
	  { D(500 * MS, 100, 0), D(500 * MS, 1, 100 * MS), D(400 * MS, 1, 0),
	    BYTES(1), D(400 * MS, 99, 0), D(450 * MS, 1, 50 * MS) } },
	{ "a long idle time starts a new slice", 1000,
	  { D(0, 100, 0), D(3600ULL * NSEC_PER_SEC, 100, 0),
	    D(3600ULL * NSEC_PER_SEC, 1, 100 * MS) } },
	{ "rate 1: the quota is at least one byte", 1,
	  { D(0, 1, 0), D(0, 1, 100 * MS), D(100 * MS, SZ_4K, 0),
	    D(150 * MS, 1, 409550 * MS) } },
	{ "rate 9: the quota rounds to one byte", 9,
	  { D(0, 1, 0), D(0, 1, 100 * MS) } },
	{ "rate 10: one byte per slice", 10,
	  { D(0, 1, 0), D(0, 1, 100 * MS) } },
	{ "rate 20: two bytes per slice", 20,
	  { D(0, 1, 0), D(0, 1, 0), D(0, 1, 100 * MS) } },
	{ "rate change resets the slice's bytes", 1000,
	  { D(0, 100, 0), D(0, 1, 100 * MS), RATE(2000), BYTES(0), D(0, 1, 0),
	    D(0, 199, 0), D(0, 1, 100 * MS) } },
	{ "lower rate applies at once", 10 * SZ_1M,
	  { D(0, SZ_512K, 0), RATE(1000), D(0, 100, 0), D(0, 1, 100 * MS) } },
	{ "rate change to 0 lifts the limit", 1000,
	  { D(0, 100, 0), D(0, 1, 100 * MS), RATE(0), D(0, SZ_1G, 0), D(0, SZ_1G, 0) } },
	{ "rate change from 0 keeps the slice start", 0,
	  { D(0, SZ_1G, 0), RATE(1000), D(50 * MS, 100, 0), D(50 * MS, 1, 50 * MS) } },
	{ "refund lets the next request go", 1000,
	  { D(0, 100, 0), D(0, 1, 100 * MS), REFUND(50), BYTES(50), D(0, 1, 0),
	    BYTES(51) } },
	{ "refund of everything", 10 * SZ_1M,
	  { D(0, SZ_1M, 0), REFUND(SZ_1M), BYTES(0), D(0, SZ_1M, 0),
	    D(0, 1, 100 * MS) } },
	{ "refund above the count clamps at zero", 1000,
	  { D(0, 100, 0), REFUND(1000), BYTES(0), D(0, 100, 0), D(0, 1, 100 * MS),
	    REFUND(U64_MAX), BYTES(0) } },
	{ "largest rate", U64_MAX,
	  { D(0, 1ULL << 40, 0), D(0, 1ULL << 40, 0), D(1, 1ULL << 50, 0),
	    BYTES((1ULL << 41) + (1ULL << 50)) } },
};

static void script_desc(const struct script *s, char *desc)
{
	strscpy(desc, s->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(script, scripts, script_desc);

static void bj_throttle_script_test(struct kunit *test)
{
	const struct script *s = test->param_value;
	struct bj_throttle t;
	const struct step *st;
	unsigned int i;

	bj_throttle_init(&t, s->rate);
	KUNIT_EXPECT_EQ(test, t.rate, s->rate);
	KUNIT_EXPECT_EQ(test, t.slice_bytes, 0ULL);

	for (i = 0; i < ARRAY_SIZE(s->steps) && s->steps[i].kind != S_END; i++) {
		st = &s->steps[i];
		switch (st->kind) {
		case S_DELAY:
			KUNIT_EXPECT_EQ_MSG(test, bj_throttle_delay(&t, st->a, st->b), st->expect,
					    "step %u: %llu bytes at %llu ns", i, st->b, st->a);
			break;
		case S_RATE:
			bj_throttle_set_rate(&t, st->a);
			KUNIT_EXPECT_EQ(test, t.rate, st->a);
			break;
		case S_REFUND:
			bj_throttle_refund(&t, st->a);
			break;
		case S_BYTES:
			KUNIT_EXPECT_EQ_MSG(test, t.slice_bytes, st->expect, "step %u", i);
			break;
		default:
			break;
		}
	}
}

/*
 * A copier that asks before each request and sleeps for the delay it gets:
 * over 10 s (100 slices) what goes beyond a slice's quota is carried as a
 * debt, so between 100 quotas and 100 quotas plus one request go, whatever
 * the request size (a request larger than the quota makes the next wait
 * for as many slices as it costs, never more).
 */
struct sim_case {
	u64 rate;
	u64 size;
};

static const struct sim_case sim_cases[] = {
	{ 1000, 512 },
	{ 4096, 4096 },
	{ SZ_1M, SZ_64K },
	{ SZ_1M, 3000 },
	{ 10 * SZ_1M, SZ_1M },
	{ 100 * SZ_1M, SZ_4M },
	{ 100 * SZ_1M + 7, SZ_64K + 512 },
	{ SZ_1G, SZ_64K },
	{ SZ_1M, SZ_16M },
};

static void sim_desc(const struct sim_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%llu B/s in requests of %llu B",
		 c->rate, c->size);
}

KUNIT_ARRAY_PARAM(sim, sim_cases, sim_desc);

static void bj_throttle_rate_test(struct kunit *test)
{
	const struct sim_case *c = test->param_value;
	const u64 duration = 10 * NSEC_PER_SEC;
	const u64 slices = div64_u64(duration, SLICE);
	u64 quota = max_t(u64, div64_u64(c->rate * SLICE, NSEC_PER_SEC), 1);
	u64 now = 0, sent = 0, requests = 0, d;
	struct bj_throttle t;

	bj_throttle_init(&t, c->rate);
	while (now < duration) {
		d = bj_throttle_delay(&t, now, c->size);
		if (!d) {
			sent += c->size;
			KUNIT_ASSERT_LT(test, ++requests, 10000000ULL);
			continue;
		}
		KUNIT_ASSERT_LE(test, d, (div64_u64(c->size, quota) + 1) * SLICE);
		now += d;
	}
	KUNIT_EXPECT_GE(test, sent, slices * quota);
	KUNIT_EXPECT_LT(test, sent, slices * quota + c->size);
}

static struct kunit_case bj_throttle_test_cases[] = {
	KUNIT_CASE_PARAM(bj_throttle_script_test, script_gen_params),
	KUNIT_CASE_PARAM(bj_throttle_rate_test, sim_gen_params),
	{}
};

static struct kunit_suite bj_throttle_test_suite = {
	.name = "bj_throttle",
	.test_cases = bj_throttle_test_cases,
};

kunit_test_suites(&bj_throttle_test_suite);
