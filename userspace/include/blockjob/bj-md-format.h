/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The on-disk format of a volume's metadata device
 * (include/uapi/linux/dm-blockjob-md.h), as pure logic: checksums, encoding
 * and decoding of the superblock and of bitmap blocks, the choice between
 * their two copies, sizes, formatting a new superblock, and loading the
 * committed state through a block-read callback. No I/O, no libdevmapper:
 * the CLI (lib/bj-md.c), the unit tests and the dm-log-writes replay checker
 * link this file with lib/bj-err.c (the error line) alone.
 *
 * Functions returning int give 0 (or a copy number) or a negative errno;
 * those taking @err (BJ_MD_ERRLEN bytes, may be NULL) leave one line there
 * on failure. Nothing here prints or exits.
 */
#ifndef BJ_MD_FORMAT_H
#define BJ_MD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uapi/linux/dm-blockjob-md.h"

#include "bj-err.h"

/* The size of @err buffers. */
#define BJ_MD_ERRLEN BJ_ERRLEN

/* Granularity limits of a bitmap, in sectors (4 KiB .. 64 MiB). */
#define BJ_MD_MIN_GRANULE	8
#define BJ_MD_MAX_GRANULE	131072
/* The granularity the minimum size is computed for: 64 KiB. */
#define BJ_MD_DEFAULT_GRANULE	128

/* CRC-32C (Castagnoli, reflected, init ~0, final xor ~0) of @len bytes. */
uint32_t bj_crc32c(const void *buf, size_t len);
/* The checksum of a metadata block: CRC-32C of bytes 4 .. BJ_MD_BLOCK_SIZE - 1. */
uint32_t bj_md_block_csum(const void *block);
/* True if the BJ_MD_BLOCK_SIZE bytes at @block are all zero. */
bool bj_md_block_zero(const void *block);

/* Host-order views of the on-disk structures. */
struct bj_md_entry {
	char name[BJ_MD_NAME_LEN];	/* as on disk: may lack its NUL if corrupt */
	uint64_t granule;		/* sectors per bit */
	uint64_t nr_bits;
	uint64_t first_block;
	uint32_t nr_blocks;
	uint32_t flags;			/* BJ_MD_BM_* */
	uint64_t epoch;
	uint64_t successor_epoch;
	uint32_t area;
};

struct bj_md_sb {
	uint32_t magic, version, block_size;
	uint64_t generation;
	uint8_t uuid[BJ_MD_UUID_LEN];
	uint64_t data_sectors;
	uint64_t md_blocks;
	uint64_t next_epoch;
	uint32_t flags;			/* BJ_MD_SB_* */
	uint32_t nr_bitmaps;
	char volume_name[BJ_MD_VOLUME_NAME_LEN];	/* as on disk */
	char record[BJ_MD_RECORD_LEN];	/* the volume record, as on disk */
	struct bj_md_entry bitmaps[BJ_MD_MAX_BITMAPS];
};

struct bj_md_bhdr {
	uint32_t magic;
	uint8_t uuid[BJ_MD_UUID_LEN];
	uint64_t epoch;
	uint64_t generation;
	uint32_t index;
	uint32_t entry;
};

/* Superblock ------------------------------------------------------------- */

/* Encode @sb into the BJ_MD_BLOCK_SIZE bytes at @block, reserved bytes zero, checksum set. */
void bj_md_sb_encode(const struct bj_md_sb *sb, void *block);

/*
 * Decode and validate one superblock copy (magic, version, block size,
 * checksum). 0: valid; -ENODATA: all zeroes; -EINVAL: not a dm-blockjob
 * superblock (another magic); -EBADMSG: checksum mismatch; -EPROTONOSUPPORT:
 * another version or block size. @sb is filled whenever the block is not all
 * zeroes (what it says, valid or not); @err says what was found.
 */
int bj_md_sb_decode(const void *block, struct bj_md_sb *sb, char *err);

/*
 * Choose between the two superblock copies @b0 and @b1: the valid one with
 * the higher generation (copy 0 on a tie). Returns the copy (0 or 1) with
 * @sb filled and *@other_valid (may be NULL) set if the other copy is valid
 * too; -ENODATA if both are all zeroes; -EINVAL if neither is valid (@err
 * says what was found: "superblock checksum mismatch in both copies", "not
 * dm-blockjob metadata (unknown magic 0x...)", ...).
 */
int bj_md_sb_select(const void *b0, const void *b1, struct bj_md_sb *sb, bool *other_valid,
		    char *err);

/*
 * A new superblock: generation 1, next_epoch 1, no bitmaps, @uuid (random,
 * from the caller), @volume_name (1 .. BJ_MD_VOLUME_NAME_LEN - 1 bytes),
 * @data_sectors, @md_blocks. -EINVAL (bad name, zero size) or
 * -ENOSPC (@md_blocks below bj_md_min_blocks()).
 */
int bj_md_sb_format(struct bj_md_sb *sb, const uint8_t uuid[BJ_MD_UUID_LEN],
		    const char *volume_name, uint64_t data_sectors, uint64_t md_blocks, char *err);

/* Bitmap blocks ---------------------------------------------------------- */

/*
 * Encode a bitmap block: header @h (its magic ignored: BJ_MD_BITMAP_MAGIC is
 * written) and BJ_MD_WORDS_PER_BLOCK host-order words @words.
 */
void bj_md_bitmap_encode(const struct bj_md_bhdr *h, const uint64_t *words, void *block);

/*
 * Decode one bitmap block copy: 0 (checksum and magic right), -ENODATA (all
 * zeroes), -EINVAL (another magic), -EBADMSG (checksum mismatch). @h and
 * @words (BJ_MD_WORDS_PER_BLOCK, may be NULL) are filled in every case.
 */
int bj_md_bitmap_decode(const void *block, struct bj_md_bhdr *h, uint64_t *words);

/*
 * Is the copy at @block valid for logical block @index of an area with
 * epoch @epoch of volume @uuid (checksum, magic, uuid, index, epoch)? 0 with
 * *@h filled, else the reason as for bj_md_bitmap_decode(), or -ESTALE
 * (right checksum but another uuid, index or epoch). *@torn (may be NULL)
 * is set when the copy looks like a torn or damaged write of this volume's
 * block: not all zeroes, bad checksum, and its magic or its uuid right.
 */
int bj_md_bitmap_copy_valid(const void *block, const uint8_t uuid[BJ_MD_UUID_LEN],
			    uint64_t epoch, uint32_t index, struct bj_md_bhdr *h, bool *torn);

/*
 * Choose the copy holding logical block @index's content: the valid one
 * with the higher generation (copy 0 on a tie). Returns 0 or 1, or -1 when
 * neither is valid (the block is all zeroes). *@torn (may be NULL) gets the
 * number of copies that look torn (see bj_md_bitmap_copy_valid()).
 */
int bj_md_bitmap_select(const void *c0, const void *c1, const uint8_t uuid[BJ_MD_UUID_LEN],
			uint64_t epoch, uint32_t index, unsigned int *torn);

/*
 * The content of logical block @index of an area of epoch @epoch from its
 * two copies, by the kernel's rule: the chosen copy's words, all zeroes
 * when neither is valid, and all ones when a copy is torn (it may have held
 * bits the other lacks; a superset is safe). Returns the number of torn
 * copies. Words past the bitmap's end are the caller's to mask.
 */
unsigned int bj_md_block_content(const void *c0, const void *c1,
				 const uint8_t uuid[BJ_MD_UUID_LEN], uint64_t epoch,
				 uint32_t index, uint64_t words[BJ_MD_WORDS_PER_BLOCK]);

/* Sizes and layout ------------------------------------------------------- */

/* Bits of a bitmap of @granule sectors per bit over @data_sectors: ceil(data / granule). */
uint64_t bj_md_nr_bits(uint64_t data_sectors, uint64_t granule);
/* Logical blocks per area for @nr_bits bits: ceil(nr_bits / BJ_MD_BITS_PER_BLOCK). */
uint64_t bj_md_nr_blocks(uint64_t nr_bits);
/* Blocks a bitmap of @granule sectors over @data_sectors owns: 4 * nr_blocks. */
uint64_t bj_md_bitmap_blocks(uint64_t data_sectors, uint64_t granule);
/* Block of (area @area, copy @copy, logical block @l) of the bitmap of entry @e. */
uint64_t bj_md_block_of(const struct bj_md_entry *e, unsigned int area, unsigned int copy,
			uint64_t l);
/*
 * The smallest metadata device for a volume of @data_sectors: the two
 * superblocks and one bitmap at 64 KiB granularity. In blocks, and in bytes.
 */
uint64_t bj_md_min_blocks(uint64_t data_sectors);
uint64_t bj_md_min_bytes(uint64_t data_sectors);

/*
 * Is the on-disk volume record @record well formed: 0 to BJ_MD_RECORD_LEN - 1
 * bytes of 0x21..0x7e, then only NULs? If not, *@bad (may be NULL) is the
 * offset of the first byte that breaks the rule.
 */
bool bj_md_record_valid(const char record[BJ_MD_RECORD_LEN], size_t *bad);

/* True if @name is a valid bitmap name: 1..63 characters of [A-Za-z0-9_.:-]. */
bool bj_md_name_valid(const char *name, size_t maxlen);

/*
 * The next run of set bits in @bits (@nr_bits bits) at or after bit @from:
 * true with [*@start, *@end) the run, false when there is none.
 */
bool bj_md_next_run(const uint64_t *bits, uint64_t nr_bits, uint64_t from, uint64_t *start,
		    uint64_t *end);

/* Loading the committed state ------------------------------------------- */

/* Read one BJ_MD_BLOCK_SIZE block @block into @buf: 0 or -errno. */
typedef int (*bj_md_read_fn)(void *ctx, uint64_t block, void *buf);

struct bj_md_bitmap {
	char name[BJ_MD_NAME_LEN];
	uint64_t granule;		/* bytes per bit */
	uint64_t nr_bits;
	bool enabled, has_successor;
	bool sync;			/* the mirror's out-of-sync map, no named bitmap */
	/*
	 * nr_bits bits (bit i: bits[i/64] >> (i%64) & 1), the committed content
	 * of its area. NULL when the entry is too broken to be read (a problem
	 * says why); successor_bits is NULL then too, or without a successor.
	 */
	uint64_t *bits;
	uint64_t *successor_bits;
	unsigned int torn_copies;	/* copies with a bad checksum (recovered from the other copy) */
};

#define BJ_MD_MAX_PROBLEMS	8
#define BJ_MD_PROBLEM_LEN	160

struct bj_md {
	uint8_t uuid[BJ_MD_UUID_LEN];
	uint64_t generation, data_sectors, md_blocks, next_epoch;
	char volume_name[BJ_MD_VOLUME_NAME_LEN];
	uint32_t flags;			/* BJ_MD_SB_* (BJ_MD_SB_PIVOTED) */
	/*
	 * The volume record as text, NUL-terminated ("" if none); a record
	 * that is not well formed is a problem and is left "" here.
	 */
	char record[BJ_MD_RECORD_LEN];
	int sb_copy;			/* 0 or 1: the superblock copy in use */
	bool other_sb_valid;		/* the other copy is valid too (older) */
	unsigned int nr_bitmaps;
	struct bj_md_bitmap bitmaps[BJ_MD_MAX_BITMAPS];
	unsigned int nr_problems;	/* inconsistencies found (metadata check fails if > 0) */
	char problems[BJ_MD_MAX_PROBLEMS][BJ_MD_PROBLEM_LEN];	/* the first ones, one line each */
};

/*
 * Load the committed state from a device of @dev_blocks blocks.
 * -ENODATA: header (blocks 0 and 1) all zeroes (not formatted); -EINVAL: no
 * valid superblock or an impossible one (@err says what was found); another
 * negative errno from @read (@err says which block); 0 otherwise
 * (md->nr_problems may be > 0). On 0, free with bj_md_free(); on an error
 * nothing is left to free.
 */
int bj_md_load(bj_md_read_fn read, void *ctx, uint64_t dev_blocks, struct bj_md *md, char *err);
void bj_md_free(struct bj_md *md);

#endif
