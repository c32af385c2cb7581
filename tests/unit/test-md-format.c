// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the metadata device's format (lib/bj-md-format.c) on
 * in-memory images read through the loader's callback: CRC-32C, encode and
 * decode, the choice between copies (superblock and bitmap blocks), torn
 * and bit-flipped copies, foreign blocks, sizes, and the consistency
 * problems bj_md_load() reports.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bj-md-format.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

#define BS BJ_MD_BLOCK_SIZE

struct img {
	uint8_t *data;
	uint64_t blocks;
	int fail_block;			/* -1: none; else reads of it fail with -EIO */
};

static int img_read(void *ctx, uint64_t block, void *buf)
{
	struct img *im = ctx;

	if (block >= im->blocks)
		return -EIO;	/* the loader must never read past the device */
	if ((int64_t)block == im->fail_block)
		return -EIO;
	memcpy(buf, im->data + block * BS, BS);
	return 0;
}

static void img_init(struct img *im, uint64_t blocks)
{
	im->data = calloc(blocks, BS);
	im->blocks = blocks;
	im->fail_block = -1;
	if (!im->data)
		abort();
}

static uint8_t *blk(struct img *im, uint64_t b)
{
	return im->data + b * BS;
}

static const uint8_t UUID[BJ_MD_UUID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t UUID2[BJ_MD_UUID_LEN] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9 };

/* A volume of DATA sectors: 2 bitmap blocks an area at 64 KiB (39990 bits, the last word partial). */
#define DATA_SECTORS (39990ULL * 128 - 100)
#define GRAN 128

/* Superblock with one bitmap "bm" at block 2 (area 0, epoch 1), next_epoch 3. */
static void make_sb(struct bj_md_sb *sb, uint64_t md_blocks)
{
	struct bj_md_entry *e = &sb->bitmaps[0];

	if (bj_md_sb_format(sb, UUID, "vol", DATA_SECTORS, md_blocks, NULL))
		abort();
	sb->next_epoch = 3;
	sb->nr_bitmaps = 1;
	strcpy(e->name, "bm");
	e->granule = GRAN;
	e->nr_bits = bj_md_nr_bits(DATA_SECTORS, GRAN);
	e->nr_blocks = (uint32_t)bj_md_nr_blocks(e->nr_bits);
	e->first_block = 2;
	e->flags = BJ_MD_BM_USED | BJ_MD_BM_ENABLED;
	e->epoch = 1;
	e->area = 0;
}

static void put_sb(struct img *im, int copy, const struct bj_md_sb *sb)
{
	bj_md_sb_encode(sb, blk(im, (uint64_t)copy));
}

/* Write logical block @l of @area, copy @copy, one word pattern. */
static void put_bm(struct img *im, const struct bj_md_entry *e, unsigned int area,
		   unsigned int copy, uint32_t l, uint64_t epoch, uint64_t gen,
		   const uint8_t *uuid, uint64_t word0)
{
	uint64_t words[BJ_MD_WORDS_PER_BLOCK] = { 0 };
	struct bj_md_bhdr h = { .epoch = epoch, .generation = gen, .index = l, .entry = 0 };

	memcpy(h.uuid, uuid, BJ_MD_UUID_LEN);
	words[0] = word0;
	bj_md_bitmap_encode(&h, words, blk(im, bj_md_block_of(e, area, copy, l)));
}

static int load(struct img *im, struct bj_md *md, char *err)
{
	return bj_md_load(img_read, im, im->blocks, md, err);
}

static void test_crc_and_codec(void)
{
	uint8_t b[BS], b2[BS];
	struct bj_md_sb sb, sb2;
	struct bj_md_bhdr h = { .epoch = 7, .generation = 9, .index = 3, .entry = 2 }, h2;
	uint64_t words[BJ_MD_WORDS_PER_BLOCK], w2[BJ_MD_WORDS_PER_BLOCK];
	unsigned int i;
	char err[BJ_MD_ERRLEN];

	CHECK(bj_crc32c("123456789", 9) == 0xe3069283, "crc32c(\"123456789\") = 0xe3069283");
	CHECK(bj_crc32c("", 0) == 0, "crc32c of nothing = 0");

	make_sb(&sb, 100);
	sb.bitmaps[3].successor_epoch = 0x0102030405060708ULL;
	bj_md_sb_encode(&sb, b);
	CHECK(b[4] == 0x42 && b[5] == 0x4a && b[6] == 0x4d && b[7] == 0x44,
	      "superblock magic on disk reads \"BJMD\" (little-endian)");
	CHECK(b[1024 + 3 * 128 + 104] == 0x08 && b[1024 + 3 * 128 + 111] == 0x01,
	      "entry 3's successor_epoch at byte 1024 + 3 * 128 + 104, little-endian");
	CHECK(b[48] == 100 && b[49] == 0, "md_blocks at byte 48");
	CHECK(bj_md_sb_decode(b, &sb2, err) == 0 && !memcmp(&sb, &sb2, sizeof(sb)),
	      "superblock encode/decode round trip");
	bj_md_sb_encode(&sb2, b2);
	CHECK(!memcmp(b, b2, BS), "superblock re-encodes to the same bytes");

	for (i = 0; i < BJ_MD_WORDS_PER_BLOCK; i++)
		words[i] = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
	memcpy(h.uuid, UUID, BJ_MD_UUID_LEN);
	bj_md_bitmap_encode(&h, words, b);
	CHECK(b[4] == 0x42 && b[5] == 0x4a && b[6] == 0x42 && b[7] == 0x4d,
	      "bitmap magic on disk reads \"BJBM\"");
	CHECK(bj_md_bitmap_decode(b, &h2, w2) == 0 && !memcmp(words, w2, sizeof(words)) &&
	      h2.epoch == 7 && h2.generation == 9 && h2.index == 3 && h2.entry == 2 &&
	      !memcmp(h2.uuid, UUID, BJ_MD_UUID_LEN), "bitmap block encode/decode round trip");
	memcpy(&w2[0], b + 64 + 8, 8);
	CHECK(le64toh(w2[0]) == words[1], "word 1 at byte 72");
	memset(b2, 0, BS);
	CHECK(bj_md_bitmap_decode(b2, &h2, NULL) == -ENODATA, "all-zero bitmap block: -ENODATA");
	b[100] ^= 1;
	CHECK(bj_md_bitmap_decode(b, &h2, NULL) == -EBADMSG, "bitmap block with a flipped bit: -EBADMSG");
}

static void test_sizes(void)
{
	struct bj_md_sb sb;
	char err[BJ_MD_ERRLEN];
	uint64_t tib = 1ULL << 31;	/* sectors */

	CHECK(bj_md_nr_bits(1000, 8) == 125 && bj_md_nr_bits(1001, 8) == 126,
	      "nr_bits rounds up");
	CHECK(bj_md_nr_blocks(32256) == 1 && bj_md_nr_blocks(32257) == 2, "nr_blocks rounds up");
	/* 1 TiB at 64 KiB: 16777216 bits, 521 blocks an area, 4 * 521 + 2 blocks */
	CHECK(bj_md_bitmap_blocks(tib, 128) == 4 * 521, "1 TiB at 64K: 4 * 521 blocks");
	CHECK(bj_md_min_blocks(tib) == 2086 && bj_md_min_bytes(tib) == 2086ULL * 4096,
	      "minimum for 1 TiB: 2086 blocks (%" PRIu64 " bytes)", bj_md_min_bytes(tib));
	CHECK(bj_md_min_blocks(1) == 6, "minimum for one sector: 6 blocks");
	CHECK(bj_md_sb_format(&sb, UUID, "v", tib, 2085, err) == -ENOSPC,
	      "format refuses a device one block short (%s)", err);
	CHECK(bj_md_sb_format(&sb, UUID, "v", tib, 2086, err) == 0 && sb.generation == 1 &&
	      sb.next_epoch == 1 && sb.nr_bitmaps == 0 && sb.md_blocks == 2086 &&
	      !strcmp(sb.volume_name, "v") && !memcmp(sb.uuid, UUID, 16),
	      "format: generation 1, next_epoch 1, no bitmaps, name, uuid");
	CHECK(bj_md_sb_format(&sb, UUID, "", tib, 4000, err) == -EINVAL, "format refuses an empty name");
	CHECK(bj_md_sb_format(&sb, UUID, "v", 0, 4000, err) == -EINVAL, "format refuses a 0-sector volume");
	CHECK(bj_md_name_valid("a.b:c-d_9", 64) && !bj_md_name_valid("a b", 64) &&
	      !bj_md_name_valid("", 64) &&
	      !bj_md_name_valid("0123456789012345678901234567890123456789012345678901234567890123", 64),
	      "bitmap name rule");
}

static void test_bitmap_select(void)
{
	struct img im;
	struct bj_md_sb sb;
	const struct bj_md_entry *e = &sb.bitmaps[0];
	unsigned int torn;
	uint8_t *c0, *c1;

	img_init(&im, 64);
	make_sb(&sb, 64);
	c0 = blk(&im, bj_md_block_of(e, 0, 0, 0));
	c1 = blk(&im, bj_md_block_of(e, 0, 1, 0));
	CHECK(bj_md_bitmap_select(c0, c1, UUID, 1, 0, &torn) == -1 && torn == 0,
	      "both copies zero: none (the block is zeroes), nothing torn");
	put_bm(&im, e, 0, 0, 0, 1, 1, UUID, 1);
	put_bm(&im, e, 0, 1, 0, 1, 2, UUID, 3);
	CHECK(bj_md_bitmap_select(c0, c1, UUID, 1, 0, &torn) == 1 && torn == 0,
	      "the newer generation (copy 1) wins");
	put_bm(&im, e, 0, 0, 0, 1, 3, UUID, 7);
	CHECK(bj_md_bitmap_select(c0, c1, UUID, 1, 0, &torn) == 0, "then copy 0 with generation 3");
	/* a torn write of copy 0: its second half still the old bytes */
	memset(c0 + BS / 2, 0xa5, BS / 2);
	CHECK(bj_md_bitmap_select(c0, c1, UUID, 1, 0, &torn) == 1 && torn == 1,
	      "torn newer copy: the older copy is used, one torn copy counted");
	memset(c1 + 512, 0xff, 512);
	CHECK(bj_md_bitmap_select(c0, c1, UUID, 1, 0, &torn) == -1 && torn == 2,
	      "both copies bad: none, two torn");
	put_bm(&im, e, 0, 0, 0, 1, 1, UUID, 1);
	put_bm(&im, e, 0, 1, 0, 2, 5, UUID, 3);
	CHECK(bj_md_bitmap_select(c0, c1, UUID, 1, 0, &torn) == 0 && torn == 0,
	      "a copy of another epoch is ignored, whatever its generation");
	CHECK(bj_md_bitmap_select(c0, c1, UUID, 2, 0, &torn) == 1,
	      "... and is the one for its own epoch");
	put_bm(&im, e, 0, 1, 0, 1, 5, UUID2, 3);
	CHECK(bj_md_bitmap_select(c0, c1, UUID, 1, 0, &torn) == 0 && torn == 0,
	      "a copy of another volume (uuid) is ignored, not counted torn");
	put_bm(&im, e, 0, 1, 1, 1, 5, UUID, 3);	/* index 1 written at index 0's place */
	memcpy(c1, blk(&im, bj_md_block_of(e, 0, 1, 1)), BS);
	CHECK(bj_md_bitmap_select(c0, c1, UUID, 1, 0, &torn) == 0 && torn == 0,
	      "a copy with another index is ignored");
	free(im.data);
}

/* A clean image: sb copy 0 generation 1, copy 1 generation 2 (with bitmap). */
static void make_image(struct img *im, struct bj_md_sb *sb)
{
	img_init(im, 64);
	make_sb(sb, 64);
	sb->generation = 2;
	put_sb(im, 1, sb);
	{
		struct bj_md_sb old = *sb;

		old.generation = 1;
		memset(&old.bitmaps[0], 0, sizeof(old.bitmaps[0]));
		old.nr_bitmaps = 0;
		put_sb(im, 0, &old);
	}
	/* logical block 0: gen 1 in copy 0 (word 0x1), gen 2 in copy 1 (word 0x3) */
	put_bm(im, &sb->bitmaps[0], 0, 0, 0, 1, 1, UUID, 0x1);
	put_bm(im, &sb->bitmaps[0], 0, 1, 0, 1, 2, UUID, 0x3);
	/* logical block 1: one copy, word 0 = bit 32256 + 5 */
	put_bm(im, &sb->bitmaps[0], 0, 0, 1, 1, 1, UUID, 1ULL << 5);
}

static void test_load(void)
{
	char err[BJ_MD_ERRLEN];
	struct bj_md_sb sb;
	struct bj_md md;
	struct img im;
	uint64_t s, e;
	int r;

	make_image(&im, &sb);
	r = load(&im, &md, err);
	CHECK(r == 0 && md.sb_copy == 1 && md.generation == 2 && md.other_sb_valid &&
	      md.nr_bitmaps == 1 && md.nr_problems == 0 && md.data_sectors == DATA_SECTORS &&
	      !strcmp(md.volume_name, "vol") && !memcmp(md.uuid, UUID, 16),
	      "clean image: copy 1 (generation 2) in use, copy 0 valid, one bitmap, no problem");
	if (r)
		return;
	CHECK(!strcmp(md.bitmaps[0].name, "bm") && md.bitmaps[0].granule == 65536 &&
	      md.bitmaps[0].nr_bits == 39990 && md.bitmaps[0].enabled &&
	      !md.bitmaps[0].has_successor && !md.bitmaps[0].successor_bits &&
	      md.bitmaps[0].torn_copies == 0, "bitmap fields (granule in bytes)");
	CHECK(md.bitmaps[0].bits[0] == 0x3 && md.bitmaps[0].bits[504] == 1ULL << 5,
	      "bits: the newer copy of block 0, block 1's only copy");
	CHECK(bj_md_next_run(md.bitmaps[0].bits, 39990, 0, &s, &e) && s == 0 && e == 2 &&
	      bj_md_next_run(md.bitmaps[0].bits, 39990, e, &s, &e) && s == 32261 && e == 32262 &&
	      !bj_md_next_run(md.bitmaps[0].bits, 39990, e, &s, &e), "dirty runs: [0,2) [32261,32262)");
	bj_md_free(&md);

	/* torn newer bitmap copy -> the whole block taken as dirty, counted */
	memset(blk(&im, bj_md_block_of(&sb.bitmaps[0], 0, 1, 0)) + 2048, 0x5a, 2048);
	r = load(&im, &md, err);
	CHECK(r == 0 && md.bitmaps[0].bits[0] == ~0ULL && md.bitmaps[0].bits[503] == ~0ULL &&
	      md.bitmaps[0].bits[504] == 1ULL << 5 && md.bitmaps[0].torn_copies == 1 &&
	      md.nr_problems == 0,
	      "torn newer bitmap copy: its whole block dirty, the next block as it was, 1 torn copy, not a problem");
	if (!r)
		bj_md_free(&md);

	/* a read error is an error, not a zero */
	im.fail_block = (int)bj_md_block_of(&sb.bitmaps[0], 0, 1, 1);
	r = load(&im, &md, err);
	CHECK(r == -EIO && strstr(err, "block"), "a read error fails the load (%s)", err);
	if (!r)
		bj_md_free(&md);
	im.fail_block = -1;
	free(im.data);
}

static void test_successor(void)
{
	char err[BJ_MD_ERRLEN];
	struct bj_md_sb sb;
	struct bj_md md;
	struct img im;
	int r;

	make_image(&im, &sb);
	sb.bitmaps[0].flags |= BJ_MD_BM_SUCCESSOR;
	sb.bitmaps[0].area = 1;
	sb.bitmaps[0].epoch = 2;
	sb.bitmaps[0].successor_epoch = 1;	/* area 0 holds the successor now */
	sb.generation = 3;
	put_sb(&im, 0, &sb);
	put_bm(&im, &sb.bitmaps[0], 1, 1, 0, 2, 1, UUID, 0xf0);
	r = load(&im, &md, err);
	CHECK(r == 0 && md.sb_copy == 0 && md.bitmaps[0].has_successor &&
	      md.bitmaps[0].bits[0] == 0xf0 && md.bitmaps[0].successor_bits &&
	      md.bitmaps[0].successor_bits[0] == 0x3 && md.nr_problems == 0,
	      "successor: the bitmap from area 1 (epoch 2), its successor from area 0 (epoch 1)");
	if (!r)
		bj_md_free(&md);
	free(im.data);
}

static void test_superblock(void)
{
	char err[BJ_MD_ERRLEN];
	struct bj_md_sb sb;
	struct bj_md md;
	struct img im;
	int r;

	make_image(&im, &sb);
	/* torn newer superblock (copy 1): the previous commit (copy 0, no bitmaps) */
	memset(blk(&im, 1) + 1536, 0xff, 512);
	r = load(&im, &md, err);
	CHECK(r == 0 && md.sb_copy == 0 && md.generation == 1 && !md.other_sb_valid &&
	      md.nr_bitmaps == 0 && md.nr_problems == 0,
	      "torn newer superblock: the previous commit (generation 1)");
	if (!r)
		bj_md_free(&md);
	/* both copies bad */
	blk(&im, 0)[300] ^= 0x10;
	r = load(&im, &md, err);
	CHECK(r == -EINVAL && strstr(err, "checksum mismatch in both copies"),
	      "both superblock copies bad: -EINVAL (%s)", r ? err : "loaded");
	if (!r)
		bj_md_free(&md);
	/* all zeroes */
	memset(blk(&im, 0), 0, 2 * BS);
	r = load(&im, &md, err);
	CHECK(r == -ENODATA, "header all zeroes: -ENODATA");
	/* foreign data */
	memcpy(blk(&im, 0), "\x7f" "ELF", 4);
	memcpy(blk(&im, 0) + 4, "XFSB", 4);
	r = load(&im, &md, err);
	CHECK(r == -EINVAL && strstr(err, "not dm-blockjob metadata (unknown magic 0x42534658)"),
	      "another magic: -EINVAL, says the magic (%s)", err);
	/* a zeroed newer superblock: the older one */
	make_sb(&sb, 64);
	put_sb(&im, 0, &sb);
	memset(blk(&im, 1), 0, BS);
	r = load(&im, &md, err);
	CHECK(r == 0 && md.sb_copy == 0 && !md.other_sb_valid, "copy 1 zeroed: copy 0 used");
	if (!r)
		bj_md_free(&md);
	/* version 2 */
	sb.version = 2;
	put_sb(&im, 0, &sb);
	r = load(&im, &md, err);
	CHECK(r == -EINVAL && strstr(err, "version 2"), "another version: -EINVAL (%s)", err);
	/* impossible superblock */
	make_sb(&sb, 64);
	sb.data_sectors = 0;
	put_sb(&im, 0, &sb);
	r = load(&im, &md, err);
	CHECK(r == -EINVAL && strstr(err, "impossible"), "data_sectors 0: -EINVAL (%s)", err);
	/* too small a device */
	r = bj_md_load(img_read, &im, 1, &md, err);
	CHECK(r == -EINVAL && strstr(err, "too small"), "a one-block device: -EINVAL (%s)", err);
	free(im.data);
}

/*
 * Flip bits all over each block type's newest copy: always detected; the
 * previous superblock is used, a bitmap block is taken as all dirty.
 */
static void test_bit_flips(void)
{
	unsigned int pos, missed_sb = 0, missed_bm = 0, n = 0;
	char err[BJ_MD_ERRLEN];
	struct bj_md_sb sb;
	struct bj_md md;
	struct img im;
	uint8_t *b;
	int r;

	make_image(&im, &sb);
	for (pos = 0; pos < BS * 8; pos += 8 * 37 + 3, n++) {
		b = blk(&im, 1);
		b[pos / 8] ^= (uint8_t)(1 << (pos % 8));
		r = load(&im, &md, err);
		if (r || md.sb_copy != 0 || md.generation != 1)
			missed_sb++;
		if (!r)
			bj_md_free(&md);
		b[pos / 8] ^= (uint8_t)(1 << (pos % 8));

		b = blk(&im, bj_md_block_of(&sb.bitmaps[0], 0, 1, 0));
		b[pos / 8] ^= (uint8_t)(1 << (pos % 8));
		r = load(&im, &md, err);
		if (r || md.bitmaps[0].bits[0] != ~0ULL || md.bitmaps[0].bits[503] != ~0ULL ||
		    md.bitmaps[0].torn_copies != 1 || md.nr_problems)
			missed_bm++;
		if (!r)
			bj_md_free(&md);
		b[pos / 8] ^= (uint8_t)(1 << (pos % 8));
	}
	CHECK(!missed_sb, "superblock: %u flipped bits (csum, magic, fields, reserved), each -> previous commit (%u missed)",
	      n, missed_sb);
	CHECK(!missed_bm, "bitmap block: %u flipped bits, each -> block all dirty, counted torn (%u missed)",
	      n, missed_bm);
	r = load(&im, &md, err);
	CHECK(r == 0 && md.generation == 2 && md.bitmaps[0].bits[0] == 0x3 &&
	      md.bitmaps[0].torn_copies == 0, "flips undone: the newest state again");
	if (!r)
		bj_md_free(&md);
	free(im.data);
}

static bool has_problem(const struct bj_md *md, const char *what)
{
	unsigned int i;

	for (i = 0; i < md->nr_problems && i < BJ_MD_MAX_PROBLEMS; i++)
		if (strstr(md->problems[i], what))
			return true;
	return false;
}

/* Load @sb (copy 1 of a clean image) and expect a problem containing @what. */
static void expect_problem(const struct bj_md_sb *sb, uint64_t dev_blocks, const char *what,
			   const char *desc)
{
	char err[BJ_MD_ERRLEN];
	struct bj_md_sb base;
	struct bj_md md;
	struct img im;
	int r;

	make_image(&im, &base);
	put_sb(&im, 1, sb);
	r = bj_md_load(img_read, &im, dev_blocks, &md, err);
	CHECK(r == 0 && md.nr_problems > 0 && has_problem(&md, what), "%s: \"%s\"", desc,
	      r ? err : md.nr_problems ? md.problems[0] : "no problem found");
	if (!r)
		bj_md_free(&md);
	free(im.data);
}

static void test_problems(void)
{
	struct bj_md_sb sb, s;
	struct bj_md_entry *e;
	struct bj_md md;
	char err[BJ_MD_ERRLEN];
	struct img im;
	int r;

	make_image(&im, &sb);
	e = &sb.bitmaps[0];

	s = sb; s.bitmaps[0].granule = 96;
	expect_problem(&s, 64, "granularity", "granule not a power of two");
	s = sb; s.bitmaps[0].granule = 4;
	expect_problem(&s, 64, "granularity", "granule below 8 sectors");
	s = sb; s.bitmaps[0].nr_bits++;
	expect_problem(&s, 64, "bits; a volume", "nr_bits not ceil(data / granule)");
	s = sb; s.bitmaps[0].nr_blocks = 3;
	expect_problem(&s, 64, "blocks an area", "nr_blocks wrong");
	s = sb; strcpy(s.bitmaps[0].name, "a b");
	expect_problem(&s, 64, "invalid bitmap name", "bad name");
	s = sb; s.bitmaps[0].epoch = 3;
	expect_problem(&s, 64, "epoch 3", "epoch >= next_epoch");
	s = sb; s.bitmaps[0].epoch = 0;
	expect_problem(&s, 64, "epoch 0", "epoch 0");
	s = sb; s.bitmaps[0].area = 2;
	expect_problem(&s, 64, "area 2", "area 2");
	s = sb; s.bitmaps[0].flags |= 1U << 7;
	expect_problem(&s, 64, "unknown flags", "unknown entry flag");
	s = sb; s.nr_bitmaps = 2;
	expect_problem(&s, 64, "nr_bitmaps 2", "nr_bitmaps != used entries");
	s = sb; s.bitmaps[0].first_block = 1;
	expect_problem(&s, 64, "over the superblocks", "area over the superblocks");
	s = sb; s.bitmaps[0].first_block = 60;
	expect_problem(&s, 64, "past the metadata", "area past md_blocks");
	s = sb; s.md_blocks = 100;
	expect_problem(&s, 64, "the device has 64", "md_blocks > device");
	s = sb; s.flags = 4;
	expect_problem(&s, 64, "superblock flags", "unknown superblock flags");
	s = sb; s.bitmaps[1] = s.bitmaps[0]; s.nr_bitmaps = 2;
	strcpy(s.bitmaps[1].name, "bm2"); s.bitmaps[1].first_block = 5; s.bitmaps[1].epoch = 2;
	expect_problem(&s, 64, "overlap", "two bitmaps' areas overlap");
	s.bitmaps[1].first_block = 10; s.bitmaps[1].epoch = 1;
	expect_problem(&s, 64, "both use epoch 1", "two bitmaps with one epoch");
	s.bitmaps[1].epoch = 2; strcpy(s.bitmaps[1].name, "bm");
	expect_problem(&s, 64, "both named", "two bitmaps with one name");
	s.bitmaps[1].first_block = 10; strcpy(s.bitmaps[1].name, "bm2");
	{
		/* the same, now consistent: no problem (the checks above are not always on) */
		free(im.data);
		make_image(&im, &sb);
		put_sb(&im, 1, &s);
		r = load(&im, &md, err);
		CHECK(r == 0 && md.nr_bitmaps == 2 && md.nr_problems == 0,
		      "two well-placed bitmaps: no problem (%s)", md.nr_problems ? md.problems[0] : "");
		if (!r)
			bj_md_free(&md);
		free(im.data);
	}
	/* bits past the end in the last block */
	make_image(&im, &sb);
	{
		uint64_t words[BJ_MD_WORDS_PER_BLOCK] = { 0 };
		struct bj_md_bhdr h = { .epoch = 1, .generation = 1, .index = 1 };

		memcpy(h.uuid, UUID, 16);
		words[(39990 - 32256) / 64] = 1ULL << 63;	/* bit 40063 of word 624, past 39990 */
		bj_md_bitmap_encode(&h, words, blk(&im, bj_md_block_of(e, 0, 0, 1)));
		r = load(&im, &md, err);
		CHECK(r == 0 && has_problem(&md, "past its end") &&
		      !(md.bitmaps[0].bits[624] >> 63),
		      "a bit past nr_bits: a problem, and not in bits (%s)",
		      md.nr_problems ? md.problems[0] : err);
		if (!r)
			bj_md_free(&md);
	}
	free(im.data);
	/* many problems: counted beyond the 8 kept */
	make_image(&im, &sb);
	s = sb;
	s.flags = 2;
	s.nr_bitmaps = 9;
	s.bitmaps[0].granule = 3;
	s.bitmaps[0].nr_blocks = 0;
	s.bitmaps[0].epoch = 0;
	s.bitmaps[0].area = 5;
	s.bitmaps[0].first_block = 0;
	s.bitmaps[0].flags |= 0x100;
	strcpy(s.bitmaps[0].name, "!");
	put_sb(&im, 1, &s);
	r = bj_md_load(img_read, &im, 32, &md, err);
	CHECK(r == 0 && md.nr_problems > BJ_MD_MAX_PROBLEMS && md.bitmaps[0].bits == NULL,
	      "%u problems counted, the first 8 kept; a broken entry is not read", md.nr_problems);
	if (!r)
		bj_md_free(&md);
	free(im.data);
}

/* A mirror's sync map: its flag, its name, at most one, its name free for a bitmap. */
static void test_sync_map(void)
{
	struct bj_md_sb sb, s;
	struct bj_md_entry *e;
	char err[BJ_MD_ERRLEN];
	struct bj_md md;
	struct img im;
	int r;

	make_image(&im, &sb);
	s = sb;
	e = &s.bitmaps[1];
	*e = s.bitmaps[0];
	strcpy(e->name, BJ_MD_SYNC_NAME);
	e->flags = BJ_MD_BM_USED | BJ_MD_BM_SYNC;
	e->first_block = 2 + 4 * (uint64_t)e->nr_blocks;
	e->epoch = 2;
	s.nr_bitmaps = 2;
	put_sb(&im, 1, &s);
	r = bj_md_load(img_read, &im, 64, &md, err);
	CHECK(r == 0 && !md.nr_problems && md.nr_bitmaps == 2 && md.bitmaps[1].sync &&
	      !md.bitmaps[0].sync && md.bitmaps[1].bits,
	      "a sync map loads, marked sync (%s)", r ? err : md.nr_problems ? md.problems[0] : "");
	if (!r)
		bj_md_free(&md);
	strcpy(s.bitmaps[0].name, BJ_MD_SYNC_NAME);
	put_sb(&im, 1, &s);
	r = bj_md_load(img_read, &im, 64, &md, err);
	CHECK(r == 0 && !md.nr_problems, "a bitmap may be named as the sync map (%s)",
	      r ? err : md.nr_problems ? md.problems[0] : "");
	if (!r)
		bj_md_free(&md);
	free(im.data);
	s.bitmaps[0].flags |= BJ_MD_BM_SYNC;
	expect_problem(&s, 64, "two mirror sync maps", "two sync maps");
	strcpy(s.bitmaps[0].name, "bm");
	expect_problem(&s, 64, "must be named", "a sync map of another name");
}

/* The volume record (bytes 200..711) and BJ_MD_SB_PIVOTED. */
static void test_record(void)
{
	static const char text[] = "home=wwn-0x5000c500a1b2c3d4,home_off=0,job=mirror,dest=virtio-bj-vdc";
	uint8_t b[BS], b2[BS];
	char err[BJ_MD_ERRLEN];
	struct bj_md_sb sb, s;
	struct bj_md md;
	struct img im;
	size_t bad = 0;
	int r;

	make_sb(&sb, 100);
	memcpy(sb.record, text, sizeof(text));
	sb.flags = BJ_MD_SB_PIVOTED;
	bj_md_sb_encode(&sb, b);
	CHECK(!memcmp(b + 200, text, sizeof(text)) && b[711] == 0 && b[712] == 0,
	      "the record at byte 200, NUL-padded");
	CHECK(b[64] == 1, "PIVOTED in flags (byte 64)");
	CHECK(bj_md_sb_decode(b, &s, err) == 0 && !memcmp(&sb, &s, sizeof(sb)),
	      "superblock with a record and PIVOTED: encode/decode round trip");
	bj_md_sb_encode(&s, b2);
	CHECK(!memcmp(b, b2, BS), "it re-encodes to the same bytes");

	/* loaded: the record as text, PIVOTED not a problem */
	make_image(&im, &sb);
	s = sb;
	memcpy(s.record, text, sizeof(text));
	s.flags = BJ_MD_SB_PIVOTED;
	put_sb(&im, 1, &s);
	r = load(&im, &md, err);
	CHECK(r == 0 && md.nr_problems == 0 && !strcmp(md.record, text) &&
	      md.flags == BJ_MD_SB_PIVOTED, "load: the record and PIVOTED, no problem (%s)",
	      r ? err : md.nr_problems ? md.problems[0] : "");
	if (!r)
		bj_md_free(&md);
	free(im.data);

	/* a record of 511 bytes is the longest */
	memset(s.record, 'x', BJ_MD_RECORD_LEN - 1);
	s.record[BJ_MD_RECORD_LEN - 1] = 0;
	CHECK(bj_md_record_valid(s.record, NULL), "a 511-byte record is well formed");
	memset(s.record, 0, BJ_MD_RECORD_LEN);
	CHECK(bj_md_record_valid(s.record, NULL), "an empty record is well formed");

	s = sb;
	memset(s.record, 'x', BJ_MD_RECORD_LEN);
	CHECK(!bj_md_record_valid(s.record, &bad) && bad == BJ_MD_RECORD_LEN - 1,
	      "512 bytes without a NUL: bad at byte 511");
	expect_problem(&s, 64, "volume record: byte 511", "record without its NUL");
	s = sb;
	strcpy(s.record, "home=a b");
	expect_problem(&s, 64, "volume record: byte 6 is 0x20", "record with a space");
	s = sb;
	strcpy(s.record, "home=a");
	s.record[10] = 'x';
	CHECK(!bj_md_record_valid(s.record, &bad) && bad == 10, "text after the NULs: bad at 10");
	expect_problem(&s, 64, "volume record: byte 10 is 0x78", "text after the padding");
	s = sb;
	s.record[0] = (char)0xc3;
	expect_problem(&s, 64, "byte 0 is 0xc3", "a non-ASCII byte");
	s = sb;
	s.flags = BJ_MD_SB_PIVOTED | 2;
	expect_problem(&s, 64, "superblock flags 0x2 unknown", "PIVOTED and an unknown flag");
}

int main(void)
{
	test_crc_and_codec();
	test_sizes();
	test_bitmap_select();
	test_load();
	test_successor();
	test_superblock();
	test_bit_flips();
	test_problems();
	test_sync_map();
	test_record();
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed != 0;
}
