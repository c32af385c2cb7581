/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The background copies in flight of a backup job, as runs of chunks: which
 * chunks a copy is reading or writing right now. Pure logic: no locking, no
 * I/O; the caller holds the lock that protects the table (bj-backup.c:
 * bj_backup.lock).
 *
 * Why not one bit per chunk: a run table is sized by the copies in flight
 * (max_copies), not by the volume, so a 1 TiB backup at 64 KiB chunks costs
 * a few hundred bytes here instead of a second 2 MiB bitmap. A copier hands
 * out at most max_copies runs at a time, and a run's slot stays taken until
 * every one of its chunks is done, in any order (a failed run is copied
 * again chunk by chunk).
 */
#ifndef DM_BLOCKJOB_RUNS_H
#define DM_BLOCKJOB_RUNS_H

#include <linux/bitmap.h>
#include <linux/types.h>

/* Most chunks in one run: a 1 MiB copy of 4 KiB chunks. */
#define BJ_RUN_MAX_CHUNKS	256

struct bj_run {
	u64 start;				/* first chunk */
	unsigned int count;			/* chunks in the run; 0: free slot */
	unsigned int left;			/* chunks not done yet */
	DECLARE_BITMAP(pending, BJ_RUN_MAX_CHUNKS);	/* of those, by offset */
};

struct bj_runs {
	struct bj_run *slot;
	unsigned int nr_slots;
	unsigned int used;			/* slots with a run */
};

int bj_runs_init(struct bj_runs *rt, unsigned int nr_slots, gfp_t gfp);
void bj_runs_free(struct bj_runs *rt);
/* Bytes the table takes (for the memory figure). */
size_t bj_runs_mem_bytes(const struct bj_runs *rt);

/* Is there a free slot for one more run? */
bool bj_runs_room(const struct bj_runs *rt);
/*
 * Record chunks [@start, @start + @count) as in flight. @count is 1 to
 * BJ_RUN_MAX_CHUNKS and none of the chunks may be in flight already.
 * Returns -ENOSPC without a free slot, -EINVAL for a bad @count.
 */
int bj_runs_add(struct bj_runs *rt, u64 start, unsigned int count);
/* Is @chunk in flight? */
bool bj_runs_test(const struct bj_runs *rt, u64 chunk);
/*
 * @chunk's copy is done: it is no longer in flight; the run's slot is freed
 * with its last chunk. Returns false if @chunk was not in flight.
 */
bool bj_runs_done(struct bj_runs *rt, u64 chunk);

#endif
