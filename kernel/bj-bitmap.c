// SPDX-License-Identifier: GPL-2.0
/*
 * Region bitmap: pure logic shared by the mirror job (regions still to
 * copy), the backup job (chunks not yet saved) and the named dirty bitmaps.
 */
#include <linux/bitmap.h>
#include <linux/errno.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "bj-bitmap.h"

int bj_bitmap_init(struct bj_bitmap *bm, u64 nr_bits, gfp_t gfp)
{
	bm->nr_bits = 0;
	bm->nr_set = 0;
	bm->bits = NULL;
	if (!nr_bits || nr_bits > BJ_BITMAP_MAX_BITS)
		return -EINVAL;
	bm->bits = kvcalloc(BITS_TO_LONGS(nr_bits), sizeof(unsigned long), gfp);
	if (!bm->bits)
		return -ENOMEM;
	bm->nr_bits = nr_bits;
	return 0;
}

size_t bj_bitmap_bytes(const struct bj_bitmap *bm)
{
	return BITS_TO_LONGS(bm->nr_bits) * sizeof(unsigned long);
}

void bj_bitmap_free(struct bj_bitmap *bm)
{
	kvfree(bm->bits);
	bm->bits = NULL;
	bm->nr_bits = 0;
	bm->nr_set = 0;
}

u64 bj_regions_for(sector_t len, sector_t granule)
{
	return div64_u64(len + granule - 1, granule);
}

bool bj_bitmap_test(const struct bj_bitmap *bm, u64 bit)
{
	return bit < bm->nr_bits && test_bit(bit, bm->bits);
}

/* Clamp [start, start + count) to the bitmap; false when nothing is left. */
static bool clamp_range(const struct bj_bitmap *bm, u64 *start, u64 *count)
{
	if (*start >= bm->nr_bits || !*count)
		return false;
	if (*count > bm->nr_bits - *start)
		*count = bm->nr_bits - *start;
	return true;
}

/* Number of set bits in [start, end). */
static u64 weight_range(const struct bj_bitmap *bm, u64 start, u64 end)
{
	u64 w = 0, b, z;

	for (b = find_next_bit(bm->bits, end, start); b < end;
	     b = find_next_bit(bm->bits, end, z)) {
		z = find_next_zero_bit(bm->bits, end, b);
		w += z - b;
	}
	return w;
}

u64 bj_bitmap_set_range(struct bj_bitmap *bm, u64 start, u64 count)
{
	u64 before, changed;

	if (!clamp_range(bm, &start, &count))
		return 0;
	before = weight_range(bm, start, start + count);
	bitmap_set(bm->bits, start, count);
	changed = count - before;
	bm->nr_set += changed;
	return changed;
}

u64 bj_bitmap_clear_range(struct bj_bitmap *bm, u64 start, u64 count)
{
	u64 changed;

	if (!clamp_range(bm, &start, &count))
		return 0;
	changed = weight_range(bm, start, start + count);
	bitmap_clear(bm->bits, start, count);
	bm->nr_set -= changed;
	return changed;
}

void bj_bitmap_set_all(struct bj_bitmap *bm)
{
	bitmap_set(bm->bits, 0, bm->nr_bits);
	bm->nr_set = bm->nr_bits;
}

void bj_bitmap_clear_all(struct bj_bitmap *bm)
{
	bitmap_zero(bm->bits, bm->nr_bits);
	bm->nr_set = 0;
}

bool bj_bitmap_all_set(const struct bj_bitmap *bm, u64 start, u64 count)
{
	if (!clamp_range(bm, &start, &count))
		return true;
	return find_next_zero_bit(bm->bits, start + count, start) >= start + count;
}

void bj_bitmap_recount(struct bj_bitmap *bm)
{
	bm->nr_set = bm->nr_bits ? bitmap_weight(bm->bits, bm->nr_bits) : 0;
}

u64 bj_bitmap_next_set(const struct bj_bitmap *bm, u64 from)
{
	if (from >= bm->nr_bits)
		return bm->nr_bits;
	return find_next_bit(bm->bits, bm->nr_bits, from);
}

u64 bj_bitmap_next_clear(const struct bj_bitmap *bm, u64 from)
{
	if (from >= bm->nr_bits)
		return bm->nr_bits;
	return find_next_zero_bit(bm->bits, bm->nr_bits, from);
}

int bj_bitmap_or(struct bj_bitmap *dst, const struct bj_bitmap *src)
{
	if (dst->nr_bits != src->nr_bits)
		return -EINVAL;
	bitmap_or(dst->bits, dst->bits, src->bits, dst->nr_bits);
	dst->nr_set = bitmap_weight(dst->bits, dst->nr_bits);
	return 0;
}

int bj_bitmap_copy(struct bj_bitmap *dst, const struct bj_bitmap *src)
{
	if (dst->nr_bits != src->nr_bits)
		return -EINVAL;
	bitmap_copy(dst->bits, src->bits, dst->nr_bits);
	dst->nr_set = src->nr_set;
	return 0;
}
