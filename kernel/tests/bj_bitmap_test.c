// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the region bitmap (kernel/bj-bitmap.c): sizing, set/clear
 * with clamping and the nr_set count, find-next, or/copy and huge volumes.
 * Every case also checks the invariant nr_set == number of set bits.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/slab.h>

#include "bj-bitmap.h"

/* A bitmap freed by KUnit when the test ends, even after a failed assertion. */
static int bm_res_init(struct kunit_resource *res, void *context)
{
	res->data = context;
	return 0;
}

static void bm_res_free(struct kunit_resource *res)
{
	bj_bitmap_free(res->data);
}

static struct bj_bitmap *bm_new(struct kunit *test, u64 nr_bits)
{
	struct bj_bitmap *bm = kunit_kzalloc(test, sizeof(*bm), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, bm);
	KUNIT_ASSERT_EQ(test, bj_bitmap_init(bm, nr_bits, GFP_KERNEL), 0);
	if (!kunit_alloc_resource(test, bm_res_init, bm_res_free, GFP_KERNEL, bm)) {
		bj_bitmap_free(bm);
		KUNIT_ASSERT_FAILURE(test, "cannot register the bitmap for cleanup");
	}
	return bm;
}

/* The count the bitmap keeps must match its bits. */
static void expect_weight_ok(struct kunit *test, const struct bj_bitmap *bm)
{
	KUNIT_EXPECT_EQ(test, bm->nr_set, (u64)bitmap_weight(bm->bits, bm->nr_bits));
}

/* bj_regions_for() ------------------------------------------------------- */

struct regions_case {
	const char *name;
	sector_t len;
	sector_t granule;
	u64 regions;
};

static const struct regions_case regions_cases[] = {
	{ "empty volume", 0, 8, 0 },
	{ "one sector", 1, 8, 1 },
	{ "exactly one granule", 8, 8, 1 },
	{ "one sector past a granule", 9, 8, 2 },
	{ "one sector short of two granules", 15, 8, 2 },
	{ "granule larger than the volume", 100, 131072, 1 },
	{ "1 GiB at 64 KiB", 1ULL << 21, 128, 1ULL << 14 },
	{ "1 GiB plus a sector at 64 KiB", (1ULL << 21) + 1, 128, (1ULL << 14) + 1 },
	{ "1 TiB at 4 KiB", 1ULL << 31, 8, 1ULL << 28 },
	{ "1 TiB at 64 MiB", 1ULL << 31, 131072, 1ULL << 14 },
	{ "8 TiB at 4 KiB is the last size that fits", 1ULL << 34, 8, 1ULL << 31 },
	{ "16 TiB at 4 KiB needs 2^32 regions", 1ULL << 35, 8, 1ULL << 32 },
	{ "8 EiB at 64 MiB", 1ULL << 54, 131072, 1ULL << 37 },
};

static void regions_desc(const struct regions_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(regions, regions_cases, regions_desc);

static void bj_bitmap_regions_for_test(struct kunit *test)
{
	const struct regions_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, bj_regions_for(c->len, c->granule), c->regions);
}

/* bj_bitmap_init() bounds --------------------------------------------------- */

static void bj_bitmap_init_bounds_test(struct kunit *test)
{
	struct bj_bitmap bm;

	KUNIT_EXPECT_EQ(test, bj_bitmap_init(&bm, 0, GFP_KERNEL), -EINVAL);
	KUNIT_EXPECT_NULL(test, bm.bits);
	KUNIT_EXPECT_EQ(test, bm.nr_bits, 0ULL);
	/* Rejected before any allocation is tried. */
	KUNIT_EXPECT_EQ(test, bj_bitmap_init(&bm, BJ_BITMAP_MAX_BITS + 1, GFP_KERNEL), -EINVAL);
	KUNIT_EXPECT_NULL(test, bm.bits);
	KUNIT_EXPECT_EQ(test, bj_bitmap_init(&bm, 1ULL << 32, GFP_KERNEL), -EINVAL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_init(&bm, U64_MAX, GFP_KERNEL), -EINVAL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_init(&bm, bj_regions_for(1ULL << 35, 8), GFP_KERNEL),
			-EINVAL);

	KUNIT_ASSERT_EQ(test, bj_bitmap_init(&bm, 1, GFP_KERNEL), 0);
	KUNIT_EXPECT_EQ(test, bm.nr_bits, 1ULL);
	KUNIT_EXPECT_EQ(test, bm.nr_set, 0ULL);
	KUNIT_EXPECT_FALSE(test, bj_bitmap_test(&bm, 0));
	KUNIT_EXPECT_EQ(test, bj_bitmap_bytes(&bm), sizeof(long));
	bj_bitmap_free(&bm);
	KUNIT_EXPECT_EQ(test, bj_bitmap_bytes(&bm), (size_t)0);
	KUNIT_EXPECT_NULL(test, bm.bits);
	KUNIT_EXPECT_EQ(test, bm.nr_bits, 0ULL);
	/* A freed bitmap is empty and can be freed again. */
	KUNIT_EXPECT_FALSE(test, bj_bitmap_test(&bm, 0));
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(&bm, 0), 0ULL);
	bj_bitmap_free(&bm);
}

/* Sequences of set/clear: changed counts, nr_set, first set/clear bit ----- */

enum bm_op_kind { OP_END, OP_SET, OP_CLEAR, OP_SET_ALL, OP_CLEAR_ALL };

struct bm_op {
	enum bm_op_kind op;
	u64 start, count;
	u64 changed;		/* expected return of set/clear_range */
};

struct ops_case {
	const char *name;
	u64 nr_bits;
	struct bm_op ops[5];
	u64 nr_set;		/* after all ops */
	u64 first_set;		/* bj_bitmap_next_set(0) */
	u64 first_clear;	/* bj_bitmap_next_clear(0) */
};

#define SET(s, c, ch)	{ OP_SET, s, c, ch }
#define CLR(s, c, ch)	{ OP_CLEAR, s, c, ch }
#define SET_ALL		{ OP_SET_ALL }
#define CLR_ALL		{ OP_CLEAR_ALL }

static const struct ops_case ops_cases[] = {
	{ "first region of a one-region map", 1, { SET(0, 1, 1) }, 1, 0, 1 },
	{ "clear the only region", 1, { SET(0, 1, 1), CLR(0, 1, 1) }, 0, 1, 0 },
	{ "first region", 100, { SET(0, 1, 1) }, 1, 0, 1 },
	{ "last region", 100, { SET(99, 1, 1) }, 1, 99, 0 },
	{ "last region of a 64-bit map", 64, { SET(63, 1, 1) }, 1, 63, 0 },
	{ "last region of a 65-bit map", 65, { SET(64, 1, 1) }, 1, 64, 0 },
	{ "word boundary 63..64", 130, { SET(63, 2, 2) }, 2, 63, 0 },
	{ "start past the end", 65, { SET(65, 1, 0), SET(1000, 5, 0) }, 0, 65, 0 },
	{ "start U64_MAX", 65, { SET(U64_MAX, 1, 0), CLR(U64_MAX, U64_MAX, 0) }, 0, 65, 0 },
	{ "zero count", 65, { SET(3, 0, 0), CLR(3, 0, 0) }, 0, 65, 0 },
	{ "count clamped at the end", 65, { SET(60, 100, 5) }, 5, 60, 0 },
	{ "count U64_MAX clamped", 65, { SET(3, U64_MAX, 62) }, 62, 3, 0 },
	{ "whole map by range", 129, { SET(0, 129, 129) }, 129, 0, 129 },
	{ "set twice counts once", 100, { SET(10, 10, 10), SET(10, 10, 0) }, 10, 10, 0 },
	{ "overlapping sets", 100, { SET(10, 10, 10), SET(15, 10, 5) }, 15, 10, 0 },
	{ "set covering an earlier set", 200,
	  { SET(60, 10, 10), SET(0, 200, 190) }, 200, 0, 200 },
	{ "clear of clear regions", 100, { CLR(0, 100, 0) }, 0, 100, 0 },
	{ "clear overlapping the set part", 100,
	  { SET(10, 10, 10), CLR(5, 10, 5) }, 5, 15, 0 },
	{ "hole punched in the middle", 128,
	  { SET(0, 128, 128), CLR(60, 8, 8) }, 120, 0, 60 },
	{ "clear clamped at the end", 70,
	  { SET(0, 70, 70), CLR(68, U64_MAX, 2) }, 68, 0, 68 },
	{ "set, clear, set again", 300,
	  { SET(0, 300, 300), CLR(1, 298, 298), SET(100, 50, 50), CLR(0, 1, 1) },
	  51, 100, 0 },
	{ "set_all, clear the last, set it again", 1000,
	  { SET_ALL, CLR(999, 1, 1), SET(998, 10, 1) }, 1000, 0, 1000 },
	{ "clear_all then set", 77,
	  { SET(0, 77, 77), CLR_ALL, SET(76, 1, 1) }, 1, 76, 0 },
	{ "set_all on a partly set map", 65, { SET(0, 30, 30), SET_ALL }, 65, 0, 65 },
};

static void ops_desc(const struct ops_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ops, ops_cases, ops_desc);

static void bj_bitmap_ops_test(struct kunit *test)
{
	const struct ops_case *c = test->param_value;
	struct bj_bitmap *bm = bm_new(test, c->nr_bits);
	const struct bm_op *op;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c->ops) && c->ops[i].op != OP_END; i++) {
		op = &c->ops[i];
		switch (op->op) {
		case OP_SET:
			KUNIT_EXPECT_EQ_MSG(test, bj_bitmap_set_range(bm, op->start, op->count),
					    op->changed, "op %u: set %llu+%llu", i,
					    op->start, op->count);
			break;
		case OP_CLEAR:
			KUNIT_EXPECT_EQ_MSG(test, bj_bitmap_clear_range(bm, op->start, op->count),
					    op->changed, "op %u: clear %llu+%llu", i,
					    op->start, op->count);
			break;
		case OP_SET_ALL:
			bj_bitmap_set_all(bm);
			break;
		case OP_CLEAR_ALL:
			bj_bitmap_clear_all(bm);
			break;
		default:
			break;
		}
		expect_weight_ok(test, bm);
	}
	KUNIT_EXPECT_EQ(test, bm->nr_set, c->nr_set);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(bm, 0), c->first_set);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_clear(bm, 0), c->first_clear);
	/* Nothing is ever set beyond nr_bits. */
	KUNIT_EXPECT_FALSE(test, bj_bitmap_test(bm, c->nr_bits));
	if (c->nr_bits % BITS_PER_LONG)
		KUNIT_EXPECT_EQ(test, bm->bits[c->nr_bits / BITS_PER_LONG] &
				~BITMAP_LAST_WORD_MASK(c->nr_bits), 0UL);
}

/* find-next from every position ------------------------------------------- */

static void bj_bitmap_find_next_test(struct kunit *test)
{
	static const u64 set[] = { 0, 1, 63, 64, 100, 127, 128, 129 };
	const u64 nr = 130;
	struct bj_bitmap *bm = bm_new(test, nr);
	u64 from, b, want_set, want_clear;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(set); i++)
		KUNIT_ASSERT_EQ(test, bj_bitmap_set_range(bm, set[i], 1), 1ULL);
	KUNIT_EXPECT_EQ(test, bm->nr_set, (u64)ARRAY_SIZE(set));

	for (from = 0; from <= nr + 1; from++) {
		want_set = nr;
		want_clear = nr;
		for (b = from; b < nr; b++) {
			bool is_set = false;

			for (i = 0; i < ARRAY_SIZE(set); i++)
				is_set |= set[i] == b;
			if (is_set && want_set == nr)
				want_set = b;
			if (!is_set && want_clear == nr)
				want_clear = b;
		}
		KUNIT_EXPECT_EQ_MSG(test, bj_bitmap_next_set(bm, from), want_set,
				    "from %llu", from);
		KUNIT_EXPECT_EQ_MSG(test, bj_bitmap_next_clear(bm, from), want_clear,
				    "from %llu", from);
	}
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(bm, U64_MAX), nr);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_clear(bm, U64_MAX), nr);
	KUNIT_EXPECT_FALSE(test, bj_bitmap_test(bm, U64_MAX));
}

/*
 * Random set/clear ranges against a bool-per-region model, on sizes around
 * word boundaries: return values, nr_set, test() and find-next everywhere.
 */
static const u64 model_sizes[] = { 1, 2, 63, 64, 65, 127, 128, 129, 191, 1000 };

static void model_desc(const u64 *size, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%llu regions", *size);
}

KUNIT_ARRAY_PARAM(model, model_sizes, model_desc);

static u32 lcg_next(u32 *state)
{
	*state = *state * 1664525 + 1013904223;
	return *state >> 8;
}

static void bj_bitmap_model_test(struct kunit *test)
{
	const u64 nr = *(const u64 *)test->param_value;
	struct bj_bitmap *bm = bm_new(test, nr);
	bool *model = kunit_kcalloc(test, nr, sizeof(*model), GFP_KERNEL);
	u32 seed = 0x5eed0000 + nr;
	u64 start, count, changed, weight, b, next_set, next_clear;
	unsigned int round;
	bool set;

	KUNIT_ASSERT_NOT_NULL(test, model);
	for (round = 0; round < 200; round++) {
		set = lcg_next(&seed) & 1;
		start = lcg_next(&seed) % (nr + 2);
		count = lcg_next(&seed) % (nr / 2 + 2);
		if (!(round % 17))
			count = U64_MAX;

		changed = 0;
		for (b = start; b < nr && b - start < count; b++) {
			changed += model[b] != set;
			model[b] = set;
		}
		if (set)
			KUNIT_ASSERT_EQ_MSG(test, bj_bitmap_set_range(bm, start, count), changed,
					    "round %u: set %llu+%llu", round, start, count);
		else
			KUNIT_ASSERT_EQ_MSG(test, bj_bitmap_clear_range(bm, start, count),
					    changed, "round %u: clear %llu+%llu", round,
					    start, count);

		weight = 0;
		next_set = nr;
		next_clear = nr;
		for (b = nr; b-- > 0;) {
			weight += model[b];
			if (model[b])
				next_set = b;
			else
				next_clear = b;
			KUNIT_ASSERT_EQ_MSG(test, bj_bitmap_test(bm, b), model[b],
					    "round %u: bit %llu", round, b);
			KUNIT_ASSERT_EQ_MSG(test, bj_bitmap_next_set(bm, b), next_set,
					    "round %u: next set from %llu", round, b);
			KUNIT_ASSERT_EQ_MSG(test, bj_bitmap_next_clear(bm, b), next_clear,
					    "round %u: next clear from %llu", round, b);
		}
		KUNIT_ASSERT_EQ_MSG(test, bm->nr_set, weight, "round %u", round);
		expect_weight_ok(test, bm);
	}
}

/* or / copy ------------------------------------------------------------------ */

static void bj_bitmap_or_test(struct kunit *test)
{
	struct bj_bitmap *a = bm_new(test, 200);
	struct bj_bitmap *b = bm_new(test, 200);
	struct bj_bitmap *small = bm_new(test, 199);
	struct bj_bitmap *big = bm_new(test, 201);

	bj_bitmap_set_range(a, 0, 100);
	bj_bitmap_set_range(b, 50, 100);	/* 50 overlap with a */
	bj_bitmap_set_range(b, 199, 1);
	bj_bitmap_set_range(small, 0, 10);
	bj_bitmap_set_range(big, 200, 1);

	/* Size mismatch in either direction: -EINVAL, nothing changes. */
	KUNIT_EXPECT_EQ(test, bj_bitmap_or(a, small), -EINVAL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_or(a, big), -EINVAL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_or(small, a), -EINVAL);
	KUNIT_EXPECT_EQ(test, a->nr_set, 100ULL);
	KUNIT_EXPECT_EQ(test, small->nr_set, 10ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(a, 100), 200ULL);
	KUNIT_EXPECT_FALSE(test, bj_bitmap_test(small, 10));

	KUNIT_EXPECT_EQ(test, bj_bitmap_or(a, b), 0);
	KUNIT_EXPECT_EQ(test, a->nr_set, 151ULL);
	expect_weight_ok(test, a);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_clear(a, 0), 150ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(a, 150), 199ULL);
	/* The source is untouched. */
	KUNIT_EXPECT_EQ(test, b->nr_set, 101ULL);
	KUNIT_EXPECT_FALSE(test, bj_bitmap_test(b, 0));

	/* Or-ing again changes nothing. */
	KUNIT_EXPECT_EQ(test, bj_bitmap_or(a, b), 0);
	KUNIT_EXPECT_EQ(test, a->nr_set, 151ULL);
	/* Or-ing into itself changes nothing. */
	KUNIT_EXPECT_EQ(test, bj_bitmap_or(a, a), 0);
	KUNIT_EXPECT_EQ(test, a->nr_set, 151ULL);
	expect_weight_ok(test, a);
}

static void bj_bitmap_copy_test(struct kunit *test)
{
	struct bj_bitmap *a = bm_new(test, 130);
	struct bj_bitmap *b = bm_new(test, 130);
	struct bj_bitmap *c = bm_new(test, 129);

	bj_bitmap_set_range(a, 60, 10);
	bj_bitmap_set_range(a, 129, 1);
	bj_bitmap_set_all(b);

	KUNIT_EXPECT_EQ(test, bj_bitmap_copy(c, a), -EINVAL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_copy(a, c), -EINVAL);
	KUNIT_EXPECT_EQ(test, c->nr_set, 0ULL);
	KUNIT_EXPECT_EQ(test, a->nr_set, 11ULL);

	/* Copy over a full map: the destination's old bits are gone. */
	KUNIT_EXPECT_EQ(test, bj_bitmap_copy(b, a), 0);
	KUNIT_EXPECT_EQ(test, b->nr_set, 11ULL);
	expect_weight_ok(test, b);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(b, 0), 60ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_clear(b, 60), 70ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(b, 70), 129ULL);
	/* Independent copies. */
	bj_bitmap_clear_range(a, 0, U64_MAX);
	KUNIT_EXPECT_EQ(test, b->nr_set, 11ULL);
	KUNIT_EXPECT_TRUE(test, bj_bitmap_test(b, 129));
}

/* Huge volumes ---------------------------------------------------------------- */

/* 1 TiB at 4 KiB: 2^28 regions, a 32 MiB bitmap (vmalloc'ed by kvcalloc). */
static void bj_bitmap_huge_test(struct kunit *test)
{
	const u64 nr = bj_regions_for(1ULL << 31, 8);
	const u64 last = nr - 1;
	struct bj_bitmap *bm;

	KUNIT_ASSERT_EQ(test, nr, 1ULL << 28);
	bm = bm_new(test, nr);

	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(bm, 0), nr);
	KUNIT_EXPECT_EQ(test, bj_bitmap_set_range(bm, last, 1), 1ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_set_range(bm, last, U64_MAX), 0ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_set_range(bm, nr, 1), 0ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(bm, 0), last);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_clear(bm, last), nr);
	KUNIT_EXPECT_TRUE(test, bj_bitmap_test(bm, last));
	KUNIT_EXPECT_FALSE(test, bj_bitmap_test(bm, nr));

	KUNIT_EXPECT_EQ(test, bj_bitmap_set_range(bm, 0, 1), 1ULL);
	/* Across a 2^27 boundary, then everything: only new bits count. */
	KUNIT_EXPECT_EQ(test, bj_bitmap_set_range(bm, (1ULL << 27) - 1, 2), 2ULL);
	KUNIT_EXPECT_EQ(test, bm->nr_set, 4ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_set_range(bm, 0, U64_MAX), nr - 4);
	KUNIT_EXPECT_EQ(test, bm->nr_set, nr);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_clear(bm, 0), nr);

	KUNIT_EXPECT_EQ(test, bj_bitmap_clear_range(bm, last, 1), 1ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_clear(bm, 0), last);
	KUNIT_EXPECT_EQ(test, bj_bitmap_clear_range(bm, 1, last - 1), last - 1);
	KUNIT_EXPECT_EQ(test, bm->nr_set, 1ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(bm, 1), nr);
	expect_weight_ok(test, bm);

	bj_bitmap_set_all(bm);
	KUNIT_EXPECT_EQ(test, bm->nr_set, nr);
	expect_weight_ok(test, bm);
	bj_bitmap_clear_all(bm);
	KUNIT_EXPECT_EQ(test, bm->nr_set, 0ULL);
	KUNIT_EXPECT_EQ(test, bj_bitmap_next_set(bm, 0), nr);
}

static struct kunit_case bj_bitmap_test_cases[] = {
	KUNIT_CASE_PARAM(bj_bitmap_regions_for_test, regions_gen_params),
	KUNIT_CASE(bj_bitmap_init_bounds_test),
	KUNIT_CASE_PARAM(bj_bitmap_ops_test, ops_gen_params),
	KUNIT_CASE(bj_bitmap_find_next_test),
	KUNIT_CASE_PARAM(bj_bitmap_model_test, model_gen_params),
	KUNIT_CASE(bj_bitmap_or_test),
	KUNIT_CASE(bj_bitmap_copy_test),
	KUNIT_CASE(bj_bitmap_huge_test),
	{}
};

static struct kunit_suite bj_bitmap_test_suite = {
	.name = "bj_bitmap",
	.test_cases = bj_bitmap_test_cases,
};

kunit_test_suites(&bj_bitmap_test_suite);
