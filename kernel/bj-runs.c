// SPDX-License-Identifier: GPL-2.0
/*
 * Runs of chunks in flight (see bj-runs.h).
 */
#include <linux/errno.h>
#include <linux/slab.h>

#include "bj-runs.h"

int bj_runs_init(struct bj_runs *rt, unsigned int nr_slots, gfp_t gfp)
{
	rt->slot = kcalloc(nr_slots, sizeof(*rt->slot), gfp);
	if (!rt->slot)
		return -ENOMEM;
	rt->nr_slots = nr_slots;
	rt->used = 0;
	return 0;
}

void bj_runs_free(struct bj_runs *rt)
{
	kfree(rt->slot);
	rt->slot = NULL;
	rt->nr_slots = 0;
	rt->used = 0;
}

size_t bj_runs_mem_bytes(const struct bj_runs *rt)
{
	return (size_t)rt->nr_slots * sizeof(*rt->slot);
}

bool bj_runs_room(const struct bj_runs *rt)
{
	return rt->used < rt->nr_slots;
}

int bj_runs_add(struct bj_runs *rt, u64 start, unsigned int count)
{
	struct bj_run *r;
	unsigned int i;

	if (!count || count > BJ_RUN_MAX_CHUNKS)
		return -EINVAL;
	for (i = 0; i < rt->nr_slots; i++) {
		r = &rt->slot[i];
		if (r->count)
			continue;
		r->start = start;
		r->count = count;
		r->left = count;
		bitmap_zero(r->pending, BJ_RUN_MAX_CHUNKS);
		bitmap_set(r->pending, 0, count);
		rt->used++;
		return 0;
	}
	return -ENOSPC;
}

/* The run holding @chunk as pending, or NULL. */
static struct bj_run *find_run(const struct bj_runs *rt, u64 chunk)
{
	struct bj_run *r;
	unsigned int i, seen = 0;

	for (i = 0; i < rt->nr_slots && seen < rt->used; i++) {
		r = &rt->slot[i];
		if (!r->count)
			continue;
		seen++;
		if (chunk >= r->start && chunk - r->start < r->count &&
		    test_bit(chunk - r->start, r->pending))
			return r;
	}
	return NULL;
}

bool bj_runs_test(const struct bj_runs *rt, u64 chunk)
{
	return find_run(rt, chunk);
}

bool bj_runs_done(struct bj_runs *rt, u64 chunk)
{
	struct bj_run *r = find_run(rt, chunk);

	if (!r)
		return false;
	__clear_bit(chunk - r->start, r->pending);
	if (!--r->left) {
		r->count = 0;
		rt->used--;
	}
	return true;
}
