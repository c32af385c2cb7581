// SPDX-License-Identifier: GPL-2.0
/*
 * The metadata device's on-disk format: encode, decode, checks, choices.
 * See include/uapi/linux/dm-blockjob-md.h for the layout and the rules.
 */
#include <linux/bitmap.h>
#include <linux/build_bug.h>
#include <linux/crc32c.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/string.h>

#include "bj-bitmap.h"
#include "bj-md-format.h"

static_assert(sizeof(struct bj_md_superblock) == BJ_MD_BLOCK_SIZE);
static_assert(offsetof(struct bj_md_superblock, bitmaps) == 1024);
static_assert(sizeof(struct bj_md_bitmap_entry) == 128);
static_assert(sizeof(struct bj_md_bitmap_header) == BJ_MD_BITMAP_HEADER);
static_assert(BJ_MD_NAME_LEN == BJ_NAME_MAX);

#define BJ_MD_KNOWN_FLAGS	(BJ_MD_BM_USED | BJ_MD_BM_ENABLED | BJ_MD_BM_SUCCESSOR | \
				 BJ_MD_BM_SYNC)
#define BJ_MD_SB_KNOWN_FLAGS	BJ_MD_SB_PIVOTED

u32 bj_md_csum(const void *block)
{
	/* The standard CRC-32C: initial ~0, final xor ~0. */
	return ~crc32c(~0U, (const u8 *)block + 4, BJ_MD_BLOCK_SIZE - 4);
}

static bool all_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

u32 bj_md_blocks_for(u64 nr_bits)
{
	return DIV_ROUND_UP_ULL(nr_bits, BJ_MD_BITS_PER_BLOCK);
}

u64 bj_md_bitmap_footprint(u64 nr_bits)
{
	return 4ULL * bj_md_blocks_for(nr_bits);
}

u64 bj_md_block_addr(const struct bj_md_entry *e, u32 area, u32 copy, u32 index)
{
	return e->first_block + (2ULL * area + copy) * e->nr_blocks + index;
}

/* A NUL-terminated string of at most @len - 1 bytes in @buf, padded with NULs. */
static bool padded_string(const char *buf, size_t len)
{
	size_t n = strnlen(buf, len);

	return n < len && all_zero(buf + n, len - n);
}

/* Check the bitmap entry @e of @sb (its fields already decoded). */
static const char *check_entry(const struct bj_md_sb *sb, const struct bj_md_entry *e)
{
	if (e->flags & ~BJ_MD_KNOWN_FLAGS)
		return "a bitmap entry has unknown flags";
	if (!bj_valid_name(e->name))
		return "a bitmap entry has an invalid name";
	if ((e->flags & BJ_MD_BM_SYNC) &&
	    (strcmp(e->name, BJ_MD_SYNC_NAME) || (e->flags & BJ_MD_BM_SUCCESSOR)))
		return "the mirror's sync map entry is malformed";
	if (!is_power_of_2(e->granule) || e->granule < BJ_GRANULE_MIN ||
	    e->granule > BJ_GRANULE_MAX)
		return "a bitmap entry has an invalid granularity";
	if (e->nr_bits != bj_regions_for(sb->data_sectors, e->granule))
		return "a bitmap entry's size does not match the volume's";
	if (e->nr_blocks != bj_md_blocks_for(e->nr_bits))
		return "a bitmap entry's block count does not match its size";
	if (e->first_block < BJ_MD_FIRST_DATA_BLOCK || e->first_block > sb->md_blocks ||
	    bj_md_bitmap_footprint(e->nr_bits) > sb->md_blocks - e->first_block)
		return "a bitmap entry's blocks lie outside the metadata device";
	if (e->area > 1)
		return "a bitmap entry has an invalid area";
	if (!e->epoch || e->epoch >= sb->next_epoch)
		return "a bitmap entry has an invalid epoch";
	if ((e->flags & BJ_MD_BM_SUCCESSOR) &&
	    (!e->successor_epoch || e->successor_epoch >= sb->next_epoch ||
	     e->successor_epoch == e->epoch))
		return "a bitmap entry has an invalid successor epoch";
	return NULL;
}

static const char *check_sb(const struct bj_md_sb *sb, u32 nr_used)
{
	unsigned int i, j, n = 0, nr_sync = 0;
	const char *why;

	if (!sb->data_sectors)
		return "the volume size is zero";
	if (sb->md_blocks < BJ_MD_FIRST_DATA_BLOCK)
		return "the metadata size is too small";
	if (!sb->next_epoch)
		return "the next epoch is zero";
	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++) {
		const struct bj_md_entry *a = &sb->bitmaps[i];

		if (!(a->flags & BJ_MD_BM_USED))
			continue;
		n++;
		nr_sync += !!(a->flags & BJ_MD_BM_SYNC);
		why = check_entry(sb, a);
		if (why)
			return why;
		for (j = 0; j < i; j++) {
			const struct bj_md_entry *b = &sb->bitmaps[j];

			if (!(b->flags & BJ_MD_BM_USED))
				continue;
			/* The sync map is no named bitmap: its name is free. */
			if (!((a->flags | b->flags) & BJ_MD_BM_SYNC) && !strcmp(a->name, b->name))
				return "two bitmap entries have the same name";
			if (a->first_block < b->first_block + bj_md_bitmap_footprint(b->nr_bits) &&
			    b->first_block < a->first_block + bj_md_bitmap_footprint(a->nr_bits))
				return "two bitmap entries overlap";
		}
	}
	if (n != nr_used)
		return "the bitmap count does not match the entries";
	if (nr_sync > 1)
		return "more than one mirror sync map";
	return NULL;
}

bool bj_md_record_valid(const char *text)
{
	size_t i, len = strnlen(text, BJ_MD_RECORD_LEN);

	if (!len || len == BJ_MD_RECORD_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (text[i] < 0x21 || text[i] > 0x7e)
			return false;
	return true;
}

int bj_md_sb_decode(const void *block, struct bj_md_sb *sb, const char **why)
{
	const struct bj_md_superblock *d = block;
	unsigned int i;
	u32 flags;

	if (all_zero(block, BJ_MD_BLOCK_SIZE)) {
		*why = "all zeroes";
		return -ENODATA;
	}
	if (le32_to_cpu(d->magic) != BJ_MD_SB_MAGIC) {
		*why = "unknown magic";
		return -EILSEQ;
	}
	if (le32_to_cpu(d->csum) != bj_md_csum(block)) {
		*why = "checksum mismatch";
		return -EILSEQ;
	}
	if (le32_to_cpu(d->version) != BJ_MD_VERSION ||
	    le32_to_cpu(d->block_size) != BJ_MD_BLOCK_SIZE) {
		*why = "unsupported version or block size";
		return -EILSEQ;
	}
	memset(sb, 0, sizeof(*sb));
	sb->generation = le64_to_cpu(d->generation);
	memcpy(sb->uuid, d->uuid, sizeof(sb->uuid));
	sb->data_sectors = le64_to_cpu(d->data_sectors);
	sb->md_blocks = le64_to_cpu(d->md_blocks);
	sb->next_epoch = le64_to_cpu(d->next_epoch);
	sb->flags = le32_to_cpu(d->flags);
	if (sb->flags & ~BJ_MD_SB_KNOWN_FLAGS) {
		*why = "unknown superblock flags";
		return -EINVAL;
	}
	if (!padded_string(d->volume_name, sizeof(d->volume_name))) {
		*why = "the volume name is not a string";
		return -EINVAL;
	}
	memcpy(sb->volume_name, d->volume_name, sizeof(sb->volume_name));
	/* An empty record is a volume formatted before records existed. */
	if (!padded_string(d->record, sizeof(d->record)) ||
	    (d->record[0] && !bj_md_record_valid(d->record))) {
		*why = "the volume record is not printable text";
		return -EINVAL;
	}
	memcpy(sb->record, d->record, sizeof(sb->record));
	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++) {
		const struct bj_md_bitmap_entry *de = &d->bitmaps[i];
		struct bj_md_entry *e = &sb->bitmaps[i];

		flags = le32_to_cpu(de->flags);
		if (!(flags & BJ_MD_BM_USED)) {
			if (!all_zero(de, sizeof(*de))) {
				*why = "an unused bitmap entry is not zero";
				return -EINVAL;
			}
			continue;
		}
		if (!padded_string(de->name, sizeof(de->name))) {
			*why = "a bitmap entry's name is not a string";
			return -EINVAL;
		}
		memcpy(e->name, de->name, sizeof(e->name));
		e->granule = le64_to_cpu(de->granule);
		e->nr_bits = le64_to_cpu(de->nr_bits);
		e->first_block = le64_to_cpu(de->first_block);
		e->nr_blocks = le32_to_cpu(de->nr_blocks);
		e->flags = flags;
		e->epoch = le64_to_cpu(de->epoch);
		e->successor_epoch = le64_to_cpu(de->successor_epoch);
		e->area = le32_to_cpu(de->area);
	}
	*why = check_sb(sb, le32_to_cpu(d->nr_bitmaps));
	return *why ? -EINVAL : 0;
}

void bj_md_sb_encode(const struct bj_md_sb *sb, void *block)
{
	struct bj_md_superblock *d = block;
	unsigned int i, n = 0;

	memset(block, 0, BJ_MD_BLOCK_SIZE);
	d->magic = cpu_to_le32(BJ_MD_SB_MAGIC);
	d->version = cpu_to_le32(BJ_MD_VERSION);
	d->block_size = cpu_to_le32(BJ_MD_BLOCK_SIZE);
	d->generation = cpu_to_le64(sb->generation);
	memcpy(d->uuid, sb->uuid, sizeof(d->uuid));
	d->data_sectors = cpu_to_le64(sb->data_sectors);
	d->md_blocks = cpu_to_le64(sb->md_blocks);
	d->next_epoch = cpu_to_le64(sb->next_epoch);
	d->flags = cpu_to_le32(sb->flags);
	strscpy_pad(d->volume_name, sb->volume_name, sizeof(d->volume_name));
	strscpy_pad(d->record, sb->record, sizeof(d->record));
	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++) {
		const struct bj_md_entry *e = &sb->bitmaps[i];
		struct bj_md_bitmap_entry *de = &d->bitmaps[i];

		if (!(e->flags & BJ_MD_BM_USED))
			continue;
		n++;
		strscpy_pad(de->name, e->name, sizeof(de->name));
		de->granule = cpu_to_le64(e->granule);
		de->nr_bits = cpu_to_le64(e->nr_bits);
		de->first_block = cpu_to_le64(e->first_block);
		de->nr_blocks = cpu_to_le32(e->nr_blocks);
		de->flags = cpu_to_le32(e->flags);
		de->epoch = cpu_to_le64(e->epoch);
		if (e->flags & BJ_MD_BM_SUCCESSOR)
			de->successor_epoch = cpu_to_le64(e->successor_epoch);
		de->area = cpu_to_le32(e->area);
	}
	d->nr_bitmaps = cpu_to_le32(n);
	d->csum = cpu_to_le32(bj_md_csum(block));
}

int bj_md_sb_pick(int r0, u64 gen0, int r1, u64 gen1)
{
	if (r0 && r1)
		return -1;
	if (r0)
		return 1;
	if (r1)
		return 0;
	return gen1 > gen0 ? 1 : 0;
}

u64 bj_md_alloc(const struct bj_md_sb *sb, u64 blocks)
{
	u64 start = BJ_MD_FIRST_DATA_BLOCK;
	bool moved;
	unsigned int i;

	/* Lowest start that overlaps no entry: move past each one in the way. */
	do {
		moved = false;
		for (i = 0; i < BJ_MD_MAX_BITMAPS; i++) {
			const struct bj_md_entry *e = &sb->bitmaps[i];
			u64 end;

			if (!(e->flags & BJ_MD_BM_USED))
				continue;
			end = e->first_block + bj_md_bitmap_footprint(e->nr_bits);
			if (start < end && e->first_block < start + blocks) {
				start = end;
				moved = true;
			}
		}
	} while (moved);
	if (start > sb->md_blocks || blocks > sb->md_blocks - start)
		return 0;
	return start;
}

bool bj_md_block_valid(const void *block, const u8 *uuid, u64 epoch, u32 index,
		       u32 entry, u64 *gen)
{
	const struct bj_md_bitmap_header *h = block;

	if (le32_to_cpu(h->magic) != BJ_MD_BITMAP_MAGIC ||
	    le32_to_cpu(h->csum) != bj_md_csum(block) ||
	    memcmp(h->uuid, uuid, BJ_MD_UUID_LEN) ||
	    le64_to_cpu(h->epoch) != epoch || le32_to_cpu(h->index) != index ||
	    le32_to_cpu(h->entry) != entry)
		return false;
	*gen = le64_to_cpu(h->generation);
	return true;
}

bool bj_md_block_torn(const void *block, const u8 *uuid, u64 epoch)
{
	const struct bj_md_bitmap_header *h = block;

	if (all_zero(block, BJ_MD_BLOCK_SIZE) || le32_to_cpu(h->csum) == bj_md_csum(block) ||
	    le64_to_cpu(h->epoch) != epoch)
		return false;
	return le32_to_cpu(h->magic) == BJ_MD_BITMAP_MAGIC ||
	       !memcmp(h->uuid, uuid, BJ_MD_UUID_LEN);
}

u32 bj_md_block_pick(bool valid0, u64 gen0, bool valid1, u64 gen1)
{
	if (!valid0 && !valid1)
		return BJ_MD_NO_COPY;
	if (!valid0)
		return 1;
	if (!valid1)
		return 0;
	return gen1 > gen0 ? 1 : 0;
}

/* Word @w (64 bits) of the in-core bitmap @bits of @nr_bits bits. */
static u64 get_word(const unsigned long *bits, u64 nr_bits, u64 w)
{
	u64 v;

	if (w * 64 >= nr_bits)
		return 0;
#if BITS_PER_LONG == 64
	v = bits[w];
#else
	v = bits[2 * w];
	if (w * 64 + 32 < nr_bits)
		v |= (u64)bits[2 * w + 1] << 32;
#endif
	if (nr_bits - w * 64 < 64)
		v &= (1ULL << (nr_bits - w * 64)) - 1;
	return v;
}

void bj_md_block_encode(void *block, const u8 *uuid, u64 epoch, u64 gen, u32 index,
			u32 entry, const unsigned long *bits, u64 nr_bits)
{
	struct bj_md_bitmap_header *h = block;
	__le64 *words = block + BJ_MD_BITMAP_HEADER;
	u64 first = (u64)index * BJ_MD_WORDS_PER_BLOCK;
	unsigned int i;

	memset(h, 0, sizeof(*h));
	h->magic = cpu_to_le32(BJ_MD_BITMAP_MAGIC);
	memcpy(h->uuid, uuid, BJ_MD_UUID_LEN);
	h->epoch = cpu_to_le64(epoch);
	h->generation = cpu_to_le64(gen);
	h->index = cpu_to_le32(index);
	h->entry = cpu_to_le32(entry);
	for (i = 0; i < BJ_MD_WORDS_PER_BLOCK; i++)
		words[i] = cpu_to_le64(get_word(bits, nr_bits, first + i));
}

void bj_md_block_set_bits(void *block, u32 index, u64 start, u64 count)
{
	__le64 *words = block + BJ_MD_BITMAP_HEADER;
	u64 base = (u64)index * BJ_MD_BITS_PER_BLOCK;
	u64 end = start + count, b;

	start = max(start, base);
	end = min(end, base + BJ_MD_BITS_PER_BLOCK);
	for (b = start; b < end; b++)
		words[(b - base) / 64] |= cpu_to_le64(1ULL << ((b - base) % 64));
}

void bj_md_block_seal(void *block)
{
	struct bj_md_bitmap_header *h = block;

	h->csum = cpu_to_le32(bj_md_csum(block));
}

void bj_md_block_decode(const void *block, u32 index, unsigned long *bits, u64 nr_bits)
{
	const __le64 *words = block + BJ_MD_BITMAP_HEADER;
	u64 base = (u64)index * BJ_MD_BITS_PER_BLOCK;
	unsigned int i, b;

	for (i = 0; i < BJ_MD_WORDS_PER_BLOCK; i++) {
		u64 v = le64_to_cpu(words[i]);

		while (v) {
			b = __ffs64(v);
			v &= v - 1;
			if (base + i * 64 + b < nr_bits)
				__set_bit(base + i * 64 + b, bits);
		}
	}
}
