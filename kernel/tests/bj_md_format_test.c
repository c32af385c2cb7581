// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the metadata device's on-disk format (kernel/bj-md-format.c):
 * the checksum, superblock and bitmap-block round trips, the choice of the
 * committed copy (torn and stale copies), every kind of corruption the
 * decoder must refuse, and the allocation of bitmap areas.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/crc32c.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bj-bitmap.h"
#include "bj-md-format.h"

static const u8 test_uuid[BJ_MD_UUID_LEN] = {
	0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

static const u8 other_uuid[BJ_MD_UUID_LEN] = { 1 };

static void *block_new(struct kunit *test)
{
	void *b = kunit_kzalloc(test, BJ_MD_BLOCK_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, b);
	return b;
}

/* A superblock of a 1 GiB volume with two bitmaps placed by bj_md_alloc(). */
static struct bj_md_sb *sb_new(struct kunit *test)
{
	struct bj_md_sb *sb = kunit_kzalloc(test, sizeof(*sb), GFP_KERNEL);
	struct bj_md_entry *e;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, sb);
	sb->generation = 7;
	memcpy(sb->uuid, test_uuid, sizeof(sb->uuid));
	sb->data_sectors = 2 * 1024 * 1024;
	sb->md_blocks = 1024;
	sb->next_epoch = 5;
	strscpy(sb->volume_name, "vol", sizeof(sb->volume_name));
	strscpy(sb->record, "home=virtio-bj-d1,home_off=0,job=mirror,dest=wwn-0x5000",
		sizeof(sb->record));
	sb->flags = BJ_MD_SB_PIVOTED;
	for (i = 0; i < 2; i++) {
		e = &sb->bitmaps[i * 3];	/* entries 0 and 3: a gap between */
		snprintf(e->name, sizeof(e->name), "bm%u", i);
		e->granule = i ? 8 : 128;
		e->nr_bits = bj_regions_for(sb->data_sectors, e->granule);
		e->nr_blocks = bj_md_blocks_for(e->nr_bits);
		e->first_block = bj_md_alloc(sb, bj_md_bitmap_footprint(e->nr_bits));
		KUNIT_ASSERT_NE(test, e->first_block, 0ULL);
		e->flags = BJ_MD_BM_USED | BJ_MD_BM_ENABLED;
		e->epoch = 1 + i;
		e->area = i;
	}
	return sb;
}

static void bj_md_csum_test(struct kunit *test)
{
	u8 *b = block_new(test);
	u32 c;

	/* The standard CRC-32C check value, over "123456789" at bytes 4..12. */
	memcpy(b + 4, "123456789", 9);
	KUNIT_EXPECT_EQ(test, ~crc32c(~0U, b + 4, 9), 0xe3069283U);
	c = bj_md_csum(b);
	b[BJ_MD_BLOCK_SIZE - 1] ^= 1;
	KUNIT_EXPECT_NE(test, bj_md_csum(b), c);
	b[BJ_MD_BLOCK_SIZE - 1] ^= 1;
	/* Bytes 0..3 (the checksum field) are not covered. */
	b[0] = 0xff;
	KUNIT_EXPECT_EQ(test, bj_md_csum(b), c);
}

static void bj_md_sb_roundtrip_test(struct kunit *test)
{
	struct bj_md_sb *sb = sb_new(test), *out = kunit_kzalloc(test, sizeof(*out), GFP_KERNEL);
	void *b = block_new(test);
	const char *why = NULL;

	KUNIT_ASSERT_NOT_NULL(test, out);
	bj_md_sb_encode(sb, b);
	KUNIT_ASSERT_EQ_MSG(test, bj_md_sb_decode(b, out, &why), 0, "%s", why);
	KUNIT_EXPECT_EQ(test, memcmp(sb, out, sizeof(*sb)), 0);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(((struct bj_md_superblock *)b)->nr_bitmaps), 2U);
}

/*
 * The volume record and the superblock flags as they are on disk, resealed:
 * an empty record and a full one (511 bytes) decode; a record with a byte
 * outside 0x21..0x7e, one not NUL-padded, and an unknown flag are refused.
 */
static void bj_md_sb_record_test(struct kunit *test)
{
	struct bj_md_sb *sb = sb_new(test), *out = kunit_kzalloc(test, sizeof(*out), GFP_KERNEL);
	struct bj_md_superblock *d = block_new(test);
	const char *why = NULL;

	KUNIT_ASSERT_NOT_NULL(test, out);
	sb->record[0] = 0;
	bj_md_sb_encode(sb, d);
	KUNIT_EXPECT_EQ(test, bj_md_sb_decode(d, out, &why), 0);
	KUNIT_EXPECT_STREQ(test, out->record, "");
	KUNIT_EXPECT_EQ(test, out->flags, BJ_MD_SB_PIVOTED);

	memset(sb->record, 'r', BJ_MD_RECORD_LEN - 1);
	bj_md_sb_encode(sb, d);
	KUNIT_EXPECT_EQ(test, bj_md_sb_decode(d, out, &why), 0);
	KUNIT_EXPECT_EQ(test, strlen(out->record), (size_t)BJ_MD_RECORD_LEN - 1);

	d->record[3] = ' ';
	d->csum = cpu_to_le32(bj_md_csum(d));
	KUNIT_EXPECT_EQ(test, bj_md_sb_decode(d, out, &why), -EINVAL);
	KUNIT_EXPECT_STREQ(test, why, "the volume record is not printable text");

	bj_md_sb_encode(sb, d);
	d->record[BJ_MD_RECORD_LEN - 1] = 'r';	/* no NUL */
	d->csum = cpu_to_le32(bj_md_csum(d));
	KUNIT_EXPECT_EQ(test, bj_md_sb_decode(d, out, &why), -EINVAL);

	bj_md_sb_encode(sb, d);
	d->record[10] = 0;
	d->record[20] = 'x';			/* text after the NUL */
	d->csum = cpu_to_le32(bj_md_csum(d));
	KUNIT_EXPECT_EQ(test, bj_md_sb_decode(d, out, &why), -EINVAL);

	bj_md_sb_encode(sb, d);
	d->flags = cpu_to_le32(BJ_MD_SB_PIVOTED | 2);
	d->csum = cpu_to_le32(bj_md_csum(d));
	KUNIT_EXPECT_EQ(test, bj_md_sb_decode(d, out, &why), -EINVAL);
	KUNIT_EXPECT_STREQ(test, why, "unknown superblock flags");

	KUNIT_EXPECT_FALSE(test, bj_md_record_valid(""));
	KUNIT_EXPECT_TRUE(test, bj_md_record_valid("~!"));
	KUNIT_EXPECT_FALSE(test, bj_md_record_valid("a\x7f"));
}

/* Flip a bit of every byte of a superblock in turn: each one is refused. */
static void bj_md_sb_bitflip_test(struct kunit *test)
{
	struct bj_md_sb *sb = sb_new(test), *out = kunit_kzalloc(test, sizeof(*out), GFP_KERNEL);
	u8 *b = block_new(test);
	const char *why;
	unsigned int i, refused = 0;

	KUNIT_ASSERT_NOT_NULL(test, out);
	bj_md_sb_encode(sb, b);
	for (i = 0; i < BJ_MD_BLOCK_SIZE; i++) {
		b[i] ^= 1 << (i % 8);
		refused += bj_md_sb_decode(b, out, &why) != 0;
		b[i] ^= 1 << (i % 8);
	}
	KUNIT_EXPECT_EQ(test, refused, (unsigned int)BJ_MD_BLOCK_SIZE);
	KUNIT_EXPECT_EQ(test, bj_md_sb_decode(b, out, &why), 0);
}

/* Resealed but impossible superblocks: -EINVAL with a reason, never accepted. */
static void bj_md_sb_inconsistent_test(struct kunit *test)
{
	struct bj_md_sb *sb = sb_new(test), *bad = kunit_kzalloc(test, sizeof(*bad), GFP_KERNEL);
	struct bj_md_sb *out = kunit_kzalloc(test, sizeof(*out), GFP_KERNEL);
	void *b = block_new(test);
	const char *why;
	unsigned int i;
	static const char *const cases[] = {
		"granule", "nr_bits", "nr_blocks", "outside", "overlap", "epoch",
		"epoch-future", "area", "name", "same-name", "flags", "successor",
		"sync-name", "two-sync", "sync-successor",
	};

	KUNIT_ASSERT_NOT_NULL(test, bad);
	KUNIT_ASSERT_NOT_NULL(test, out);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bj_md_entry *e = &bad->bitmaps[0], *f = &bad->bitmaps[3];

		*bad = *sb;
		switch (i) {
		case 0:
			e->granule = 96;
			break;
		case 1:
			e->nr_bits++;
			break;
		case 2:
			e->nr_blocks++;
			break;
		case 3:
			e->first_block = bad->md_blocks - 1;
			break;
		case 4:
			f->first_block = e->first_block + 1;
			break;
		case 5:
			e->epoch = 0;
			break;
		case 6:
			e->epoch = bad->next_epoch;
			break;
		case 7:
			e->area = 2;
			break;
		case 8:
			strscpy(e->name, "bad name", sizeof(e->name));
			break;
		case 9:
			strscpy(f->name, e->name, sizeof(f->name));
			break;
		case 10:
			e->flags |= BIT(7);
			break;
		case 11:
			e->flags |= BJ_MD_BM_SUCCESSOR;
			e->successor_epoch = e->epoch;
			break;
		case 12:	/* a mirror's sync map has its own name */
			e->flags |= BJ_MD_BM_SYNC;
			break;
		case 13:	/* and there is one at most */
			strscpy(e->name, BJ_MD_SYNC_NAME, sizeof(e->name));
			strscpy(f->name, BJ_MD_SYNC_NAME, sizeof(f->name));
			e->flags |= BJ_MD_BM_SYNC;
			f->flags |= BJ_MD_BM_SYNC;
			break;
		case 14:
			strscpy(e->name, BJ_MD_SYNC_NAME, sizeof(e->name));
			e->flags |= BJ_MD_BM_SYNC | BJ_MD_BM_SUCCESSOR;
			e->successor_epoch = e->epoch + 1;
			break;
		}
		bj_md_sb_encode(bad, b);
		why = NULL;
		KUNIT_EXPECT_EQ_MSG(test, bj_md_sb_decode(b, out, &why), -EINVAL, "%s", cases[i]);
		KUNIT_EXPECT_NOT_NULL_MSG(test, why, "%s", cases[i]);
	}
	/* A sync map named as a bitmap is: both decode. */
	*bad = *sb;
	strscpy(bad->bitmaps[0].name, BJ_MD_SYNC_NAME, sizeof(bad->bitmaps[0].name));
	strscpy(bad->bitmaps[3].name, BJ_MD_SYNC_NAME, sizeof(bad->bitmaps[3].name));
	bad->bitmaps[3].flags |= BJ_MD_BM_SYNC;
	bj_md_sb_encode(bad, b);
	KUNIT_EXPECT_EQ(test, bj_md_sb_decode(b, out, &why), 0);
	KUNIT_EXPECT_EQ(test, out->bitmaps[3].flags,
			BJ_MD_BM_USED | BJ_MD_BM_ENABLED | BJ_MD_BM_SYNC);
	/* All zeroes: not formatted; another magic: foreign. */
	memset(b, 0, BJ_MD_BLOCK_SIZE);
	KUNIT_EXPECT_EQ(test, bj_md_sb_decode(b, out, &why), -ENODATA);
	memset(b, 0xa5, BJ_MD_BLOCK_SIZE);
	KUNIT_EXPECT_EQ(test, bj_md_sb_decode(b, out, &why), -EILSEQ);
}

static void bj_md_sb_pick_test(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, bj_md_sb_pick(0, 5, 0, 6), 1);
	KUNIT_EXPECT_EQ(test, bj_md_sb_pick(0, 6, 0, 5), 0);
	/* The newer copy torn: the previous commit. */
	KUNIT_EXPECT_EQ(test, bj_md_sb_pick(0, 5, -EILSEQ, 0), 0);
	KUNIT_EXPECT_EQ(test, bj_md_sb_pick(-EILSEQ, 0, 0, 5), 1);
	/* Just formatted: copy 1 all zeroes. */
	KUNIT_EXPECT_EQ(test, bj_md_sb_pick(0, 1, -ENODATA, 0), 0);
	KUNIT_EXPECT_EQ(test, bj_md_sb_pick(-EILSEQ, 0, -EILSEQ, 0), -1);
	KUNIT_EXPECT_EQ(test, bj_md_sb_pick(-ENODATA, 0, -ENODATA, 0), -1);
}

static void bj_md_alloc_test(struct kunit *test)
{
	struct bj_md_sb *sb = sb_new(test);
	const struct bj_md_entry *e0 = &sb->bitmaps[0], *e3 = &sb->bitmaps[3];
	u64 end3 = e3->first_block + bj_md_bitmap_footprint(e3->nr_bits);

	/* 1 GiB at 64 KiB: 16384 bits, one block per area, four blocks. */
	KUNIT_EXPECT_EQ(test, bj_md_bitmap_footprint(e0->nr_bits), 4ULL);
	KUNIT_EXPECT_EQ(test, e0->first_block, (u64)BJ_MD_FIRST_DATA_BLOCK);
	KUNIT_EXPECT_EQ(test, e3->first_block, 6ULL);
	/* 1 GiB at 4 KiB: 262144 bits in 9 blocks per area. */
	KUNIT_EXPECT_EQ(test, e3->nr_blocks, 9U);
	KUNIT_EXPECT_EQ(test, bj_md_alloc(sb, 10), end3);
	KUNIT_EXPECT_EQ(test, bj_md_alloc(sb, sb->md_blocks - end3), end3);
	KUNIT_EXPECT_EQ(test, bj_md_alloc(sb, sb->md_blocks - end3 + 1), 0ULL);
	/* A hole left by a removed bitmap is reused when it is large enough. */
	sb->bitmaps[0].flags = 0;
	KUNIT_EXPECT_EQ(test, bj_md_alloc(sb, 4), (u64)BJ_MD_FIRST_DATA_BLOCK);
	KUNIT_EXPECT_EQ(test, bj_md_alloc(sb, 5), end3);
	KUNIT_EXPECT_EQ(test, bj_md_block_addr(e3, 1, 1, 2), e3->first_block + 3 * 9 + 2);
}

#define TEST_BITS	(2 * BJ_MD_BITS_PER_BLOCK + 100)

static void bj_md_block_test(struct kunit *test)
{
	unsigned long *bits = kunit_kcalloc(test, BITS_TO_LONGS(TEST_BITS), sizeof(long),
					    GFP_KERNEL);
	unsigned long *out = kunit_kcalloc(test, BITS_TO_LONGS(TEST_BITS), sizeof(long),
					   GFP_KERNEL);
	u8 *b = block_new(test);
	u64 gen = 0;
	u32 l;

	KUNIT_ASSERT_NOT_NULL(test, bits);
	KUNIT_ASSERT_NOT_NULL(test, out);
	bitmap_set(bits, 3, 70);
	bitmap_set(bits, BJ_MD_BITS_PER_BLOCK - 1, 2);	/* across blocks 0 and 1 */
	bitmap_set(bits, TEST_BITS - 5, 5);		/* the last bits */
	for (l = 0; l < 3; l++) {
		bj_md_block_encode(b, test_uuid, 9, 40 + l, l, 2, bits, TEST_BITS);
		bj_md_block_seal(b);
		KUNIT_EXPECT_TRUE(test, bj_md_block_valid(b, test_uuid, 9, l, 2, &gen));
		KUNIT_EXPECT_EQ(test, gen, 40ULL + l);
		/* Another epoch, index, entry or volume: not this block. */
		KUNIT_EXPECT_FALSE(test, bj_md_block_valid(b, test_uuid, 8, l, 2, &gen));
		KUNIT_EXPECT_FALSE(test, bj_md_block_valid(b, test_uuid, 9, l + 1, 2, &gen));
		KUNIT_EXPECT_FALSE(test, bj_md_block_valid(b, test_uuid, 9, l, 1, &gen));
		KUNIT_EXPECT_FALSE(test, bj_md_block_valid(b, other_uuid, 9, l, 2, &gen));
		KUNIT_EXPECT_FALSE(test, bj_md_block_torn(b, test_uuid, 9));
		bj_md_block_decode(b, l, out, TEST_BITS);
		/* A torn write: any changed byte fails the checksum. */
		b[BJ_MD_BITMAP_HEADER + 17] ^= 0x40;
		KUNIT_EXPECT_FALSE(test, bj_md_block_valid(b, test_uuid, 9, l, 2, &gen));
		KUNIT_EXPECT_TRUE(test, bj_md_block_torn(b, test_uuid, 9));
		/* Even with its magic hit too: the uuid says it is ours. */
		b[5] ^= 1;
		KUNIT_EXPECT_TRUE(test, bj_md_block_torn(b, test_uuid, 9));
		KUNIT_EXPECT_FALSE(test, bj_md_block_torn(b, other_uuid, 9));
		/* A torn copy of an older epoch: forgotten with its epoch. */
		KUNIT_EXPECT_FALSE(test, bj_md_block_torn(b, test_uuid, 10));
	}
	/* Zeroes and another volume's garbage are not torn copies of ours. */
	memset(b, 0, BJ_MD_BLOCK_SIZE);
	KUNIT_EXPECT_FALSE(test, bj_md_block_torn(b, test_uuid, 9));
	memset(b, 0x5a, BJ_MD_BLOCK_SIZE);
	KUNIT_EXPECT_FALSE(test, bj_md_block_torn(b, test_uuid, 9));
	KUNIT_EXPECT_TRUE(test, bitmap_equal(bits, out, TEST_BITS));

	/* Bits added to an encoded block land in it, clamped to the block. */
	bitmap_zero(out, TEST_BITS);
	bj_md_block_encode(b, test_uuid, 9, 1, 1, 2, bits, TEST_BITS);
	bj_md_block_set_bits(b, 1, BJ_MD_BITS_PER_BLOCK + 500, 3);
	bj_md_block_set_bits(b, 1, 2 * BJ_MD_BITS_PER_BLOCK - 2, 10);
	bj_md_block_seal(b);
	KUNIT_EXPECT_TRUE(test, bj_md_block_valid(b, test_uuid, 9, 1, 2, &gen));
	bj_md_block_decode(b, 1, out, TEST_BITS);
	KUNIT_EXPECT_TRUE(test, test_bit(BJ_MD_BITS_PER_BLOCK, out));
	KUNIT_EXPECT_TRUE(test, test_bit(BJ_MD_BITS_PER_BLOCK + 502, out));
	KUNIT_EXPECT_TRUE(test, test_bit(2 * BJ_MD_BITS_PER_BLOCK - 1, out));
	KUNIT_EXPECT_FALSE(test, test_bit(2 * BJ_MD_BITS_PER_BLOCK, out));
	KUNIT_EXPECT_EQ(test, bitmap_weight(out, TEST_BITS), 1U + 3 + 2);
}

static void bj_md_block_pick_test(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, bj_md_block_pick(false, 0, false, 0), (u32)BJ_MD_NO_COPY);
	KUNIT_EXPECT_EQ(test, bj_md_block_pick(true, 3, false, 9), 0U);
	KUNIT_EXPECT_EQ(test, bj_md_block_pick(false, 3, true, 2), 1U);
	KUNIT_EXPECT_EQ(test, bj_md_block_pick(true, 3, true, 4), 1U);
	KUNIT_EXPECT_EQ(test, bj_md_block_pick(true, 5, true, 4), 0U);
}

static struct kunit_case bj_md_format_test_cases[] = {
	KUNIT_CASE(bj_md_csum_test),
	KUNIT_CASE(bj_md_sb_roundtrip_test),
	KUNIT_CASE(bj_md_sb_record_test),
	KUNIT_CASE(bj_md_sb_bitflip_test),
	KUNIT_CASE(bj_md_sb_inconsistent_test),
	KUNIT_CASE(bj_md_sb_pick_test),
	KUNIT_CASE(bj_md_alloc_test),
	KUNIT_CASE(bj_md_block_test),
	KUNIT_CASE(bj_md_block_pick_test),
	{}
};

static struct kunit_suite bj_md_format_test_suite = {
	.name = "bj_md_format",
	.test_cases = bj_md_format_test_cases,
};

kunit_test_suites(&bj_md_format_test_suite);
