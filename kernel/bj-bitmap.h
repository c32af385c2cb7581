/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A bitmap of fixed-size regions (granules) over a volume, with a count of
 * set bits kept up to date. Pure logic: no locking, no I/O. Callers hold
 * whatever lock protects the bitmap (documented where they embed it).
 *
 * Memory: one bit per region plus the struct: a 1 TiB volume at 64 KiB
 * granularity has 16 Mi regions, so 2 MiB of bits.
 */
#ifndef DM_BLOCKJOB_BITMAP_H
#define DM_BLOCKJOB_BITMAP_H

#include <linux/bits.h>
#include <linux/types.h>

/* Largest number of regions one bitmap can hold (the kernel's bitmap API takes unsigned int). */
#define BJ_BITMAP_MAX_BITS	BIT_ULL(31)
/*
 * Bits a message handler sets under a spinlock at a time (set-dirty), so
 * that interrupts are never off for millions of bits.
 */
#define BJ_BITMAP_SLICE		BIT_ULL(20)

struct bj_bitmap {
	unsigned long *bits;
	u64 nr_bits;		/* regions covered */
	u64 nr_set;		/* regions currently set */
};

int bj_bitmap_init(struct bj_bitmap *bm, u64 nr_bits, gfp_t gfp);
void bj_bitmap_free(struct bj_bitmap *bm);
/* Bytes of bits @bm holds (0 when empty or freed). */
size_t bj_bitmap_bytes(const struct bj_bitmap *bm);

/* Number of regions of @granule sectors needed to cover @len sectors. */
u64 bj_regions_for(sector_t len, sector_t granule);

bool bj_bitmap_test(const struct bj_bitmap *bm, u64 bit);
/* Set/clear [@start, @start + @count) clamped to the bitmap; return how many bits changed. */
u64 bj_bitmap_set_range(struct bj_bitmap *bm, u64 start, u64 count);
u64 bj_bitmap_clear_range(struct bj_bitmap *bm, u64 start, u64 count);
/* Are all bits of [@start, @start + @count) set (clamped; true when empty)? */
bool bj_bitmap_all_set(const struct bj_bitmap *bm, u64 start, u64 count);
/* Recompute nr_set after the bits were changed directly. */
void bj_bitmap_recount(struct bj_bitmap *bm);
void bj_bitmap_set_all(struct bj_bitmap *bm);
void bj_bitmap_clear_all(struct bj_bitmap *bm);
/* First set bit at or after @from, or bm->nr_bits when there is none. */
u64 bj_bitmap_next_set(const struct bj_bitmap *bm, u64 from);
/* First clear bit at or after @from, or bm->nr_bits when there is none. */
u64 bj_bitmap_next_clear(const struct bj_bitmap *bm, u64 from);
/* @dst |= @src; both must have the same size. Returns -EINVAL otherwise. */
int bj_bitmap_or(struct bj_bitmap *dst, const struct bj_bitmap *src);
/* Copy @src into @dst of the same size. */
int bj_bitmap_copy(struct bj_bitmap *dst, const struct bj_bitmap *src);

#endif
