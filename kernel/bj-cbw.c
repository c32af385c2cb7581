// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-before-write decisions and bitmap conversions (see bj-cbw.h).
 */
#include <linux/bitmap.h>
#include <linux/blk_types.h>
#include <linux/kernel.h>
#include <linux/math64.h>

#include "bj-cbw.h"

enum bj_cbw_action bj_cbw_write_action(bool need, bool busy, bool released, bool waiters,
				       bool concluded)
{
	/*
	 * The old data is in the copy's buffer: the source is free (view
	 * reads of the source, never started once released, would hold it).
	 */
	if (released && !waiters)
		return BJ_CBW_PASS;
	/* Old data still to save and no copy under way: save it first. */
	if (need && !concluded && !busy)
		return BJ_CBW_COPY;
	/*
	 * A copy in flight reads the source: the write must not overtake it,
	 * even once the job ended (the view reads saved chunks). Readers of
	 * the source through the view and earlier queued writes hold it too.
	 */
	if (busy || waiters)
		return BJ_CBW_WAIT;
	return BJ_CBW_PASS;
}

enum bj_view_action bj_cbw_view_action(bool need, bool released, bool concluded, bool failed,
				       bool suspended)
{
	if (failed)
		return BJ_VIEW_EIO;
	if (!need)
		return BJ_VIEW_DST;
	if (concluded)
		return BJ_VIEW_EIO;
	/*
	 * The source may hold new data already; the destination will hold
	 * the old once the copy's write ends (suspended or not).
	 */
	if (released)
		return BJ_VIEW_WAIT;
	/*
	 * Suspended: the table may be being replaced, and writes through the
	 * new table would not wait for this read.
	 */
	if (suspended)
		return BJ_VIEW_DEFER;
	return BJ_VIEW_SRC;
}

/* Chunks [*first, *last] covering bits [bit, end) of @granule sectors. */
static bool bits_to_chunks(u64 bit, u64 end, sector_t granule, sector_t chunk,
			   sector_t len, u64 *first, u64 *last)
{
	u64 start = bit * granule, stop = min_t(u64, end * granule, len);

	if (start >= stop)
		return false;
	*first = div64_u64(start, chunk);
	*last = div64_u64(stop - 1, chunk);
	return true;
}

u64 bj_cbw_bitmap_to_chunks(const struct bj_bitmap *bm, sector_t granule,
			    struct bj_bitmap *chunks, sector_t chunk, sector_t len)
{
	u64 bit = bj_bitmap_next_set(bm, 0), end, first, last, n = 0;

	while (bit < bm->nr_bits) {
		end = bj_bitmap_next_clear(bm, bit);
		if (bits_to_chunks(bit, end, granule, chunk, len, &first, &last))
			n += bj_bitmap_set_range(chunks, first, last - first + 1);
		bit = bj_bitmap_next_set(bm, end);
	}
	return n;
}

void bj_cbw_keep_unsaved(struct bj_bitmap *bm, sector_t granule,
			 const struct bj_bitmap *need, sector_t chunk, sector_t len)
{
	u64 bit = bj_bitmap_next_set(bm, 0), first, last;

	while (bit < bm->nr_bits) {
		if (!bits_to_chunks(bit, bit + 1, granule, chunk, len, &first, &last) ||
		    bj_bitmap_next_set(need, first) > last)
			bj_bitmap_clear_range(bm, bit, 1);
		bit = bj_bitmap_next_set(bm, bit + 1);
	}
}

u64 bj_cbw_join_set(struct bj_bitmap *member, struct bj_bitmap *need, u64 first, u64 count)
{
	u64 end = min(first + count, member->nr_bits), c, run_end, n = 0;

	for (c = bj_bitmap_next_clear(member, first); c < end;
	     c = bj_bitmap_next_clear(member, run_end)) {
		run_end = min(bj_bitmap_next_set(member, c), end);
		bj_bitmap_set_range(need, c, run_end - c);
		n += bj_bitmap_set_range(member, c, run_end - c);
	}
	return n;
}

u64 bj_cbw_chunk_bytes(const struct bj_bitmap *chunks, sector_t chunk, sector_t len)
{
	u64 bytes = chunks->nr_set * ((u64)chunk << SECTOR_SHIFT);
	u64 last;

	if (!chunks->nr_bits)
		return 0;
	last = chunks->nr_bits - 1;
	if (bj_bitmap_test(chunks, last))
		bytes -= (u64)(chunk - (len - last * chunk)) << SECTOR_SHIFT;
	return bytes;
}
