/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copy-before-write decisions of the backup job, pure logic (no locking, no
 * I/O) so KUnit can reach them: what a guest write or a view read of a chunk
 * does given the chunk's state, and the conversions between a named dirty
 * bitmap (its own granularity) and the job's chunks.
 *
 * Chunk states, kept by bj-backup.c under its lock:
 *   need     the chunk belongs to the backup and its old data is not on the
 *            destination yet;
 *   busy     a copy of the chunk is in flight: a background run (bj-runs.h)
 *            or a copy-before-write (flagged on the chunk's wait entry);
 *   released a copy-before-write in flight has read the chunk (under
 *            break-snapshot): its buffer holds the old data, so guest
 *            writes may go to the source while it writes the destination,
 *            and view reads wait for that write instead of reading the
 *            source (always with need and busy);
 *   waiters  view reads of the chunk are reading the source, or guest
 *            writes to it are queued.
 */
#ifndef DM_BLOCKJOB_CBW_H
#define DM_BLOCKJOB_CBW_H

#include <linux/types.h>

#include "bj-bitmap.h"

enum bj_cbw_action {
	BJ_CBW_PASS,	/* send the write to the source now */
	BJ_CBW_WAIT,	/* queue it on the chunk until the chunk is released */
	BJ_CBW_COPY,	/* queue it and start a copy-before-write of the chunk */
};

/*
 * A guest write (or discard, write-zeroes) of one chunk. @concluded: the
 * job ended (no new copies, but copies and view reads in flight are still
 * waited for, so neither can see the new data).
 */
enum bj_cbw_action bj_cbw_write_action(bool need, bool busy, bool released, bool waiters,
				       bool concluded);

enum bj_view_action {
	BJ_VIEW_DST,	/* the chunk is saved: read the destination */
	BJ_VIEW_SRC,	/* not saved yet: read the source, holding guest writes off */
	BJ_VIEW_DEFER,	/* the backup table is suspended: wait for resume or teardown */
	BJ_VIEW_WAIT,	/* the source changed, the old data is being saved: wait for it */
	BJ_VIEW_EIO,	/* the image is gone (job failed, or ended before saving it) */
};

enum bj_view_action bj_cbw_view_action(bool need, bool released, bool concluded, bool failed,
				       bool suspended);

/*
 * Set in @chunks (one bit per @chunk sectors) every chunk that overlaps a
 * set bit of @bm (one bit per @granule sectors) over a volume of @len
 * sectors. Returns the number of chunk bits newly set.
 */
u64 bj_cbw_bitmap_to_chunks(const struct bj_bitmap *bm, sector_t granule,
			    struct bj_bitmap *chunks, sector_t chunk, sector_t len);

/*
 * Keep in @bm (the bitmap taken at the start, @granule sectors a bit) only
 * the bits one of whose chunks is still set in @need: what a job that
 * stopped early did not save ("always" bitmap mode).
 */
void bj_cbw_keep_unsaved(struct bj_bitmap *bm, sector_t granule,
			 const struct bj_bitmap *need, sector_t chunk, sector_t len);

/*
 * Add chunks [@first, @first + @count) (within the bitmaps) to a backup set
 * that is still open (sync top, before the job's first resume): each chunk
 * not yet a @member joins @member and @need; a member stays as it is, so a
 * chunk already saved is never copied again. Returns how many joined.
 */
u64 bj_cbw_join_set(struct bj_bitmap *member, struct bj_bitmap *need, u64 first, u64 count);

/* Bytes in the chunks set in @chunks, the last chunk possibly short. */
u64 bj_cbw_chunk_bytes(const struct bj_bitmap *chunks, sector_t chunk, sector_t len);

#endif
