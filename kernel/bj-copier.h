/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The background copier shared by the mirror and backup modes: copies
 * regions (granules) from the source to the destination (bj-copyio.h),
 * several in flight, under a bytes-per-second limit.
 *
 * The mode decides what to copy: the copier asks it for the next run of
 * adjacent regions with ops->next() (which must mark them busy in the
 * mode's own state, so guest I/O can be ordered against the copy), copies
 * the run with one copy, and reports each region of it with ops->done().
 * Runs let a sequential copy go in large I/Os (one copy per 64 KiB region
 * costs the copy most of its speed) while the bitmaps keep their fine
 * granularity. A failed I/O does not say where it failed, so
 * a run that fails is copied again region by region, and ops->done() hears
 * of an error only for the regions that fail alone. Urgent copies (copy-before-write) go through
 * bj_copier_copy_now(), one region, outside the in-flight limit and the
 * speed limit, and are reported through the same ops->done().
 *
 * Locking: @lock protects the fields marked below; ops->next() and
 * ops->done() are called without it, in process context (the copier's
 * workqueue or the copy I/O's); ops->read_done() without it, in any context.
 */
#ifndef DM_BLOCKJOB_COPIER_H
#define DM_BLOCKJOB_COPIER_H

#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "bj-copyio.h"
#include "bj-throttle.h"

struct dm_dev;
struct bj_copier;

/* Largest background copy: runs of adjacent regions up to this many bytes. */
#define BJ_COPIER_RUN_BYTES	BJ_COPYIO_MAX_BYTES
/*
 * After a failed copy, background copying waits this long before the next
 * one, doubling on each failure in a row up to the maximum, and back to none
 * on a success: a region that keeps failing (policy "ignore") is retried,
 * but not in a busy loop.
 */
#define BJ_COPIER_BACKOFF_MIN	(HZ / 50)
#define BJ_COPIER_BACKOFF_MAX	HZ

struct bj_copier_ops {
	/*
	 * Choose the next regions to copy in the background: a run of 1 to
	 * @max adjacent regions starting at *@region, all marked busy.
	 * Return how many (0 when there is nothing to copy now).
	 */
	u64 (*next)(struct bj_copier *c, u64 *region, u64 max);
	/*
	 * A copy finished. @read_err is non-zero if reading the source
	 * failed, @write_err if writing the destination failed (see
	 * bj_copyio_fn). @urgent tells bj_copier_copy_now() copies apart.
	 */
	void (*done)(struct bj_copier *c, u64 region, bool urgent, int read_err,
		     unsigned long write_err);
	/*
	 * Optional: an urgent copy of @region has read the source (its
	 * buffer holds the old data; the write to the destination is about
	 * to go out). Called before done(), possibly in interrupt context.
	 */
	void (*read_done)(struct bj_copier *c, u64 region);
};

struct bj_copier {
	const struct bj_copier_ops *ops;
	void *owner;			/* the mode's state */
	struct bj_copyio io;
	struct block_device *src, *dst;
	sector_t src_offset, dst_offset;
	sector_t granule;		/* sectors per region */
	sector_t len;			/* sectors covered; the last region may be short */
	u64 nr_regions;

	struct workqueue_struct *wq;
	struct delayed_work work;
	wait_queue_head_t idle_wait;	/* woken when @inflight drops to 0 */

	spinlock_t lock;		/* protects the fields below */
	struct list_head failed_runs;	/* struct bj_copy: split, copy again */
	struct bj_throttle throttle;
	unsigned int max_inflight;	/* background copies at once */
	unsigned int inflight;		/* background copies in flight */
	unsigned int urgent_inflight;	/* bj_copier_copy_now() copies in flight */
	unsigned int completing;	/* copy_done() calls past ops->done() */
	unsigned long backoff;		/* jiffies to wait after a failure, 0: none */
	unsigned long retry_at;		/* no background copy before (if @backoff) */
	bool running;			/* false: background copying is paused */
	bool stopping;			/* destructor: issue nothing more */
};

int bj_copier_init(struct bj_copier *c, const struct bj_copier_ops *ops, void *owner,
		   struct block_device *src, sector_t src_offset,
		   struct block_device *dst, sector_t dst_offset,
		   sector_t granule, sector_t len, unsigned int max_inflight, u64 speed,
		   const char *name);
/* Stop for good: wait for every copy in flight, then free. */
void bj_copier_destroy(struct bj_copier *c);

/* Start or restart background copying (after init, or a pause). */
void bj_copier_start(struct bj_copier *c);
/* Stop issuing background copies; copies in flight finish. */
void bj_copier_pause(struct bj_copier *c);
/* Ask the copier to look for work again (e.g. a region became dirty). */
void bj_copier_kick(struct bj_copier *c);
void bj_copier_set_speed(struct bj_copier *c, u64 bytes_per_sec);
/* Wait until no copy (background or urgent) is in flight. */
void bj_copier_drain(struct bj_copier *c);
/* Copies (background + urgent) in flight now. */
unsigned int bj_copier_busy(struct bj_copier *c);

/* Copy @region now, outside the limits; ops->done() reports it (urgent). */
void bj_copier_copy_now(struct bj_copier *c, u64 region);
/* Bytes the copier's requests and buffers hold now. */
static inline size_t bj_copier_mem_bytes(struct bj_copier *c)
{
	return bj_copyio_mem_bytes(&c->io);
}

/* Sector range of @region on the volume (target-relative). */
static inline sector_t bj_region_start(struct bj_copier *c, u64 region)
{
	return region * c->granule;
}

static inline sector_t bj_region_len(struct bj_copier *c, u64 region)
{
	sector_t start = bj_region_start(c, region);

	return min_t(sector_t, c->granule, c->len - start);
}

#endif
