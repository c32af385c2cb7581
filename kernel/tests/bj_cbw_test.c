// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the backup job's copy-before-write decisions and bitmap
 * conversions (kernel/bj-cbw.c): both decision functions over every input
 * combination, and the bitmap <-> chunk conversions on volumes whose size is
 * not a multiple of the granule or the chunk.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/slab.h>

#include "bj-bitmap.h"
#include "bj-cbw.h"

static int bm_res_init(struct kunit_resource *res, void *context)
{
	res->data = context;
	return 0;
}

static void bm_res_free(struct kunit_resource *res)
{
	bj_bitmap_free(res->data);
}

/* A bitmap with the given bits set, freed when the test ends. */
static struct bj_bitmap *bm_new(struct kunit *test, u64 nr_bits, const u64 *set,
				unsigned int nr_set)
{
	struct bj_bitmap *bm = kunit_kzalloc(test, sizeof(*bm), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, bm);
	KUNIT_ASSERT_EQ(test, bj_bitmap_init(bm, nr_bits, GFP_KERNEL), 0);
	if (!kunit_alloc_resource(test, bm_res_init, bm_res_free, GFP_KERNEL, bm)) {
		bj_bitmap_free(bm);
		KUNIT_ASSERT_FAILURE(test, "cannot register the bitmap for cleanup");
	}
	for (i = 0; i < nr_set; i++)
		bj_bitmap_set_range(bm, set[i], 1);
	return bm;
}

/* The set bits of @bm, "0,3,7", for comparisons. */
static const char *bits_str(struct kunit *test, const struct bj_bitmap *bm)
{
	char *buf = kunit_kzalloc(test, 256, GFP_KERNEL);
	int n = 0;
	u64 b;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (b = bj_bitmap_next_set(bm, 0); b < bm->nr_bits; b = bj_bitmap_next_set(bm, b + 1))
		n += scnprintf(buf + n, 256 - n, "%s%llu", n ? "," : "", b);
	return buf;
}

/* Guest writes: every (need, busy, released, waiters, concluded) ------------- */

struct write_case {
	bool need, busy, released, waiters, concluded;
	enum bj_cbw_action action;
};

static const struct write_case write_cases[] = {
	/* need busy released waiters concluded */
	{ false, false, false, false, false, BJ_CBW_PASS },
	{ false, false, false, false, true, BJ_CBW_PASS },
	{ false, false, false, true, false, BJ_CBW_WAIT },
	{ false, false, false, true, true, BJ_CBW_WAIT },
	{ false, false, true, false, false, BJ_CBW_PASS },
	{ false, false, true, false, true, BJ_CBW_PASS },
	{ false, false, true, true, false, BJ_CBW_WAIT },
	{ false, false, true, true, true, BJ_CBW_WAIT },
	{ false, true, false, false, false, BJ_CBW_WAIT },
	{ false, true, false, false, true, BJ_CBW_WAIT },
	{ false, true, false, true, false, BJ_CBW_WAIT },
	{ false, true, false, true, true, BJ_CBW_WAIT },
	{ false, true, true, false, false, BJ_CBW_PASS },
	{ false, true, true, false, true, BJ_CBW_PASS },
	{ false, true, true, true, false, BJ_CBW_WAIT },
	{ false, true, true, true, true, BJ_CBW_WAIT },
	{ true, false, false, false, false, BJ_CBW_COPY },
	{ true, false, false, false, true, BJ_CBW_PASS },
	{ true, false, false, true, false, BJ_CBW_COPY },
	{ true, false, false, true, true, BJ_CBW_WAIT },
	{ true, false, true, false, false, BJ_CBW_PASS },
	{ true, false, true, false, true, BJ_CBW_PASS },
	{ true, false, true, true, false, BJ_CBW_COPY },
	{ true, false, true, true, true, BJ_CBW_WAIT },
	{ true, true, false, false, false, BJ_CBW_WAIT },
	{ true, true, false, false, true, BJ_CBW_WAIT },
	{ true, true, false, true, false, BJ_CBW_WAIT },
	{ true, true, false, true, true, BJ_CBW_WAIT },
	{ true, true, true, false, false, BJ_CBW_PASS },
	{ true, true, true, false, true, BJ_CBW_PASS },
	{ true, true, true, true, false, BJ_CBW_WAIT },
	{ true, true, true, true, true, BJ_CBW_WAIT },
};

static void write_desc(const struct write_case *c, char *desc)
{
	static const char *const names[] = {
		[BJ_CBW_PASS] = "pass", [BJ_CBW_WAIT] = "wait", [BJ_CBW_COPY] = "copy",
	};

	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s %s %s %s %s -> %s",
		 c->need ? "need" : "saved", c->busy ? "busy" : "idle",
		 c->released ? "released" : "held", c->waiters ? "waiters" : "no-waiters",
		 c->concluded ? "concluded" : "live", names[c->action]);
}

KUNIT_ARRAY_PARAM(write, write_cases, write_desc);

static void bj_cbw_write_action_test(struct kunit *test)
{
	const struct write_case *c = test->param_value;

	enum bj_cbw_action act = bj_cbw_write_action(c->need, c->busy, c->released,
						     c->waiters, c->concluded);

	KUNIT_EXPECT_EQ(test, act, c->action);
}

/* View reads: every (need, released, concluded, failed, suspended) ----------- */

struct view_case {
	bool need, released, concluded, failed, suspended;
	enum bj_view_action action;
};

static const struct view_case view_cases[] = {
	/* need released concluded failed suspended */
	{ false, false, false, false, false, BJ_VIEW_DST },
	{ false, false, false, false, true, BJ_VIEW_DST },
	{ false, false, false, true, false, BJ_VIEW_EIO },
	{ false, false, false, true, true, BJ_VIEW_EIO },
	{ false, false, true, false, false, BJ_VIEW_DST },
	{ false, false, true, false, true, BJ_VIEW_DST },
	{ false, false, true, true, false, BJ_VIEW_EIO },
	{ false, false, true, true, true, BJ_VIEW_EIO },
	{ false, true, false, false, false, BJ_VIEW_DST },
	{ false, true, false, false, true, BJ_VIEW_DST },
	{ false, true, false, true, false, BJ_VIEW_EIO },
	{ false, true, false, true, true, BJ_VIEW_EIO },
	{ false, true, true, false, false, BJ_VIEW_DST },
	{ false, true, true, false, true, BJ_VIEW_DST },
	{ false, true, true, true, false, BJ_VIEW_EIO },
	{ false, true, true, true, true, BJ_VIEW_EIO },
	{ true, false, false, false, false, BJ_VIEW_SRC },
	{ true, false, false, false, true, BJ_VIEW_DEFER },
	{ true, false, false, true, false, BJ_VIEW_EIO },
	{ true, false, false, true, true, BJ_VIEW_EIO },
	{ true, false, true, false, false, BJ_VIEW_EIO },
	{ true, false, true, false, true, BJ_VIEW_EIO },
	{ true, false, true, true, false, BJ_VIEW_EIO },
	{ true, false, true, true, true, BJ_VIEW_EIO },
	{ true, true, false, false, false, BJ_VIEW_WAIT },
	{ true, true, false, false, true, BJ_VIEW_WAIT },
	{ true, true, false, true, false, BJ_VIEW_EIO },
	{ true, true, false, true, true, BJ_VIEW_EIO },
	{ true, true, true, false, false, BJ_VIEW_EIO },
	{ true, true, true, false, true, BJ_VIEW_EIO },
	{ true, true, true, true, false, BJ_VIEW_EIO },
	{ true, true, true, true, true, BJ_VIEW_EIO },
};

static void view_desc(const struct view_case *c, char *desc)
{
	static const char *const names[] = {
		[BJ_VIEW_DST] = "destination", [BJ_VIEW_SRC] = "source",
		[BJ_VIEW_DEFER] = "defer", [BJ_VIEW_EIO] = "EIO", [BJ_VIEW_WAIT] = "wait",
	};

	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s %s %s %s %s -> %s",
		 c->need ? "need" : "saved", c->released ? "released" : "held",
		 c->concluded ? "concluded" : "live", c->failed ? "failed" : "ok",
		 c->suspended ? "suspended" : "active",
		 names[c->action]);
}

KUNIT_ARRAY_PARAM(view, view_cases, view_desc);

static void bj_cbw_view_action_test(struct kunit *test)
{
	const struct view_case *c = test->param_value;

	enum bj_view_action act = bj_cbw_view_action(c->need, c->released, c->concluded,
						     c->failed, c->suspended);

	KUNIT_EXPECT_EQ(test, act, c->action);
}

/* Dirty bitmap -> chunks ------------------------------------------------------ */

#define MAX_SET 8

struct conv_case {
	const char *name;
	sector_t len, granule, chunk;
	u64 bm_bits;		/* 0: bj_regions_for(len, granule) */
	u64 set[MAX_SET];	/* bits set in the dirty bitmap */
	unsigned int nr_set;
	u64 pre[MAX_SET];	/* chunks already set */
	unsigned int nr_pre;
	const char *chunks;	/* chunks set afterwards */
	u64 newly;		/* return value */
};

static const struct conv_case conv_cases[] = {
	{ "same granularity", 1024, 64, 64, 0, { 0, 5, 15 }, 3, {}, 0, "0,5,15", 3 },
	{ "empty bitmap", 1024, 64, 64, 0, {}, 0, {}, 0, "", 0 },
	{ "finer bitmap: many bits, one chunk", 1024, 8, 128, 0,
	  { 0, 1, 15 }, 3, {}, 0, "0", 1 },
	{ "finer bitmap: bit 16 is chunk 1", 1024, 8, 128, 0, { 15, 16 }, 2, {}, 0, "0,1", 2 },
	{ "coarser bitmap: one bit, many chunks", 1024, 256, 64, 0,
	  { 1 }, 1, {}, 0, "4,5,6,7", 4 },
	{ "run of bits across chunks", 1024, 8, 64, 0,
	  { 7, 8, 9, 10, 11, 12, 13, 14 }, 8, {}, 0, "0,1", 2 },
	{ "short last granule and chunk", 1000, 128, 64, 0, { 7 }, 1, {}, 0, "14,15", 2 },
	{ "short last chunk only", 1000, 8, 64, 0, { 124 }, 1, {}, 0, "15", 1 },
	{ "bits past the end of the volume", 100, 8, 64, 20, { 12, 13, 19 }, 3, {}, 0, "1", 1 },
	{ "chunks already set do not count", 1024, 64, 64, 0,
	  { 1, 2, 3 }, 3, { 2, 9 }, 2, "1,2,3,9", 2 },
	{ "first and last chunk", 1 << 20, 128, 8192, 0,
	  { 0, 8191 }, 2, {}, 0, "0,127", 2 },
};

static void conv_desc(const struct conv_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(conv, conv_cases, conv_desc);

static void bj_cbw_bitmap_to_chunks_test(struct kunit *test)
{
	const struct conv_case *c = test->param_value;
	u64 bm_bits = c->bm_bits ?: bj_regions_for(c->len, c->granule);
	struct bj_bitmap *bm = bm_new(test, bm_bits, c->set, c->nr_set);
	struct bj_bitmap *chunks = bm_new(test, bj_regions_for(c->len, c->chunk),
					  c->pre, c->nr_pre);

	KUNIT_EXPECT_EQ(test, bj_cbw_bitmap_to_chunks(bm, c->granule, chunks, c->chunk, c->len),
			c->newly);
	KUNIT_EXPECT_STREQ(test, bits_str(test, chunks), c->chunks);
	/* The source bitmap is not changed. */
	KUNIT_EXPECT_EQ(test, bm->nr_set, (u64)c->nr_set);
}

/* Keep the bits of the bitmap whose chunks were not saved --------------------- */

struct keep_case {
	const char *name;
	sector_t len, granule, chunk;
	u64 bm_bits;
	u64 set[MAX_SET];
	unsigned int nr_set;
	u64 need[MAX_SET];	/* chunks not saved */
	unsigned int nr_need;
	const char *kept;
};

static const struct keep_case keep_cases[] = {
	{ "everything saved", 1024, 64, 64, 0, { 0, 5 }, 2, {}, 0, "" },
	{ "nothing saved", 1024, 64, 64, 0, { 0, 5 }, 2, { 0, 5 }, 2, "0,5" },
	{ "coarser bitmap: one unsaved chunk keeps the bit", 1000, 128, 64, 0,
	  { 0, 3, 7 }, 3, { 1, 15 }, 2, "0,7" },
	{ "finer bitmap: all bits of an unsaved chunk", 1024, 8, 64, 0,
	  { 0, 7, 8, 20 }, 4, { 0 }, 1, "0,7" },
	{ "bits past the end of the volume are dropped", 100, 8, 64, 20,
	  { 12, 13, 19 }, 3, { 0, 1 }, 2, "12" },
};

static void keep_desc(const struct keep_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(keep, keep_cases, keep_desc);

static void bj_cbw_keep_unsaved_test(struct kunit *test)
{
	const struct keep_case *c = test->param_value;
	u64 bm_bits = c->bm_bits ?: bj_regions_for(c->len, c->granule);
	struct bj_bitmap *bm = bm_new(test, bm_bits, c->set, c->nr_set);
	struct bj_bitmap *need = bm_new(test, bj_regions_for(c->len, c->chunk),
					c->need, c->nr_need);

	bj_cbw_keep_unsaved(bm, c->granule, need, c->chunk, c->len);
	KUNIT_EXPECT_STREQ(test, bits_str(test, bm), c->kept);
	KUNIT_EXPECT_EQ(test, bm->nr_set, (u64)bitmap_weight(bm->bits, bm->nr_bits));
	KUNIT_EXPECT_EQ(test, need->nr_set, (u64)c->nr_need);
}

/* Bytes of the set chunks ------------------------------------------------------ */

static void bj_cbw_chunk_bytes_test(struct kunit *test)
{
	static const u64 first_last[] = { 0, 15 };
	static const u64 last[] = { 15 };
	struct bj_bitmap *c;
	struct bj_bitmap empty = {};

	/* 1000 sectors in chunks of 64: 15 full chunks and one of 40 sectors. */
	c = bm_new(test, bj_regions_for(1000, 64), NULL, 0);
	KUNIT_EXPECT_EQ(test, bj_cbw_chunk_bytes(c, 64, 1000), 0ULL);
	bj_bitmap_set_range(c, 0, 1);
	KUNIT_EXPECT_EQ(test, bj_cbw_chunk_bytes(c, 64, 1000), 64ULL * 512);
	c = bm_new(test, 16, first_last, 2);
	KUNIT_EXPECT_EQ(test, bj_cbw_chunk_bytes(c, 64, 1000), (64ULL + 40) * 512);
	c = bm_new(test, 16, last, 1);
	KUNIT_EXPECT_EQ(test, bj_cbw_chunk_bytes(c, 64, 1000), 40ULL * 512);
	bj_bitmap_set_all(c);
	KUNIT_EXPECT_EQ(test, bj_cbw_chunk_bytes(c, 64, 1000), 1000ULL * 512);

	/* A volume that is a multiple of the chunk. */
	c = bm_new(test, 16, last, 1);
	KUNIT_EXPECT_EQ(test, bj_cbw_chunk_bytes(c, 64, 1024), 64ULL * 512);
	/* One chunk larger than the volume. */
	c = bm_new(test, 1, last, 0);
	bj_bitmap_set_all(c);
	KUNIT_EXPECT_EQ(test, bj_cbw_chunk_bytes(c, 131072, 8), 8ULL * 512);
	/* 1 TiB in 64 MiB chunks, all set. */
	c = bm_new(test, bj_regions_for(1ULL << 31, 131072), NULL, 0);
	bj_bitmap_set_all(c);
	KUNIT_EXPECT_EQ(test, bj_cbw_chunk_bytes(c, 131072, 1ULL << 31), 1ULL << 40);
	/* An empty (freed) bitmap. */
	KUNIT_EXPECT_EQ(test, bj_cbw_chunk_bytes(&empty, 64, 1000), 0ULL);
}

/* Joining an open backup set (sync top) ---------------------------------------- */

static void bj_cbw_join_set_test(struct kunit *test)
{
	static const u64 saved[] = { 3, 4, 9 };	/* members whose copy is done */
	struct bj_bitmap *member, *need;
	u64 i;

	member = bm_new(test, 12, saved, 3);
	need = bm_new(test, 12, NULL, 0);
	/* 2..10 joins except the members 3, 4 and 9, which are not needed again. */
	KUNIT_EXPECT_EQ(test, bj_cbw_join_set(member, need, 2, 9), 6ULL);
	for (i = 0; i < 12; i++) {
		bool in = i >= 2 && i <= 10;

		KUNIT_EXPECT_EQ_MSG(test, bj_bitmap_test(member, i), in || i == 3 || i == 4 ||
				    i == 9, "member %llu", i);
		KUNIT_EXPECT_EQ_MSG(test, bj_bitmap_test(need, i),
				    in && i != 3 && i != 4 && i != 9, "need %llu", i);
	}
	KUNIT_EXPECT_EQ(test, member->nr_set, 9ULL);
	KUNIT_EXPECT_EQ(test, need->nr_set, 6ULL);
	/* Again: nothing new. */
	KUNIT_EXPECT_EQ(test, bj_cbw_join_set(member, need, 0, 12), 3ULL);
	KUNIT_EXPECT_EQ(test, need->nr_set, 9ULL);
	KUNIT_EXPECT_EQ(test, bj_cbw_join_set(member, need, 0, 12), 0ULL);
	/* The last chunk alone, a zero count, and a range clamped at the end. */
	member = bm_new(test, 12, NULL, 0);
	need = bm_new(test, 12, NULL, 0);
	KUNIT_EXPECT_EQ(test, bj_cbw_join_set(member, need, 11, 1), 1ULL);
	KUNIT_EXPECT_EQ(test, bj_cbw_join_set(member, need, 5, 0), 0ULL);
	KUNIT_EXPECT_EQ(test, bj_cbw_join_set(member, need, 10, 100), 1ULL);
	KUNIT_EXPECT_EQ(test, need->nr_set, 2ULL);
	KUNIT_EXPECT_TRUE(test, bj_bitmap_test(need, 10) && bj_bitmap_test(need, 11));
}

static struct kunit_case bj_cbw_test_cases[] = {
	KUNIT_CASE_PARAM(bj_cbw_write_action_test, write_gen_params),
	KUNIT_CASE_PARAM(bj_cbw_view_action_test, view_gen_params),
	KUNIT_CASE_PARAM(bj_cbw_bitmap_to_chunks_test, conv_gen_params),
	KUNIT_CASE_PARAM(bj_cbw_keep_unsaved_test, keep_gen_params),
	KUNIT_CASE(bj_cbw_chunk_bytes_test),
	KUNIT_CASE(bj_cbw_join_set_test),
	{}
};

static struct kunit_suite bj_cbw_test_suite = {
	.name = "bj_cbw",
	.test_cases = bj_cbw_test_cases,
};

kunit_test_suites(&bj_cbw_test_suite);
