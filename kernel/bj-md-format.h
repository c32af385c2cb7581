/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The metadata device's on-disk format (include/uapi/linux/dm-blockjob-md.h)
 * in and out of its in-core form. Pure logic: no I/O, no locking; the store
 * (bj-md.c) reads and writes the blocks.
 */
#ifndef DM_BLOCKJOB_MD_FORMAT_H
#define DM_BLOCKJOB_MD_FORMAT_H

#include <linux/types.h>
#include <uapi/linux/dm-blockjob-md.h>

#include "bj-args.h"

/* One bitmap entry of the superblock, decoded. */
struct bj_md_entry {
	char name[BJ_NAME_MAX];
	sector_t granule;		/* sectors per bit */
	u64 nr_bits;
	u64 first_block;
	u32 nr_blocks;			/* logical blocks per area */
	u32 flags;			/* BJ_MD_BM_* */
	u64 epoch;			/* of @area */
	u64 successor_epoch;		/* of 1 - @area, with BJ_MD_BM_SUCCESSOR */
	u32 area;
};

/* The superblock, decoded. */
struct bj_md_sb {
	u64 generation;
	u8 uuid[BJ_MD_UUID_LEN];
	u64 data_sectors;
	u64 md_blocks;
	u64 next_epoch;
	u32 flags;			/* BJ_MD_SB_* */
	char volume_name[BJ_MD_VOLUME_NAME_LEN];
	char record[BJ_MD_RECORD_LEN];	/* the volume record: userspace's text */
	struct bj_md_entry bitmaps[BJ_MD_MAX_BITMAPS];	/* unused: !(flags & USED) */
};

/*
 * Is @text a valid volume record: 1 .. BJ_MD_RECORD_LEN - 1 bytes of
 * printable ASCII without spaces (0x21 .. 0x7e)?
 */
bool bj_md_record_valid(const char *text);

/* No valid copy of a logical block (it reads as zeroes). */
#define BJ_MD_NO_COPY		2

/* CRC-32C of bytes 4 .. BJ_MD_BLOCK_SIZE - 1 of @block. */
u32 bj_md_csum(const void *block);

/*
 * Check one superblock copy: -ENODATA when it is all zeroes, -EILSEQ when
 * its magic, version, block size or checksum is wrong (torn or foreign),
 * -EINVAL when it is well-formed but impossible (*@why says what); 0 and
 * @sb filled otherwise.
 */
int bj_md_sb_decode(const void *block, struct bj_md_sb *sb, const char **why);
void bj_md_sb_encode(const struct bj_md_sb *sb, void *block);

/*
 * Which superblock copy is the committed state, given each copy's decode
 * result and generation: the valid one with the higher generation; -1 if
 * neither is valid.
 */
int bj_md_sb_pick(int r0, u64 gen0, int r1, u64 gen1);

/* Logical blocks an area of @nr_bits bits has. */
u32 bj_md_blocks_for(u64 nr_bits);
/* Blocks a bitmap of @nr_bits bits owns on the device (two areas, two copies). */
u64 bj_md_bitmap_footprint(u64 nr_bits);
/* Device block of (@area, @copy, logical block @index) of @e. */
u64 bj_md_block_addr(const struct bj_md_entry *e, u32 area, u32 copy, u32 index);

/*
 * First fit for a bitmap of @blocks device blocks among the entries of @sb.
 * Returns the first block, or 0 when the device has no such room.
 */
u64 bj_md_alloc(const struct bj_md_sb *sb, u64 blocks);

/*
 * A bitmap block copy: is it valid for (@uuid, @epoch, @index, @entry)?
 * On true *@gen is its generation.
 */
bool bj_md_block_valid(const void *block, const u8 *uuid, u64 epoch, u32 index,
		       u32 entry, u64 *gen);
/*
 * A copy of the area's epoch @epoch that looks like this volume's bitmap
 * block (its magic or uuid) but fails its checksum: a write cut short, or
 * damage. Its block may have held bits the other copy lacks, so the loader
 * takes every bit of the block as set (a superset is safe; a lost bit is
 * not). A torn copy of an older epoch is forgotten with its epoch.
 */
bool bj_md_block_torn(const void *block, const u8 *uuid, u64 epoch);
/*
 * Which copy of a logical block holds its content: the valid one with the
 * higher generation, or BJ_MD_NO_COPY.
 */
u32 bj_md_block_pick(bool valid0, u64 gen0, bool valid1, u64 gen1);

/*
 * Encode logical block @index of a bitmap: the header and the bits
 * [index * BJ_MD_BITS_PER_BLOCK, +BJ_MD_BITS_PER_BLOCK) of @bits (of
 * @nr_bits bits; bits past the end are written as zero). Then add bits
 * with bj_md_block_set_bits() and seal it (checksum) before writing.
 */
void bj_md_block_encode(void *block, const u8 *uuid, u64 epoch, u64 gen, u32 index,
			u32 entry, const unsigned long *bits, u64 nr_bits);
/* Set bits [@start, @start + @count) of the bitmap that fall in block @index. */
void bj_md_block_set_bits(void *block, u32 index, u64 start, u64 count);
void bj_md_block_seal(void *block);
/* OR the bits of a valid block copy into @bits (of @nr_bits bits). */
void bj_md_block_decode(const void *block, u32 index, unsigned long *bits, u64 nr_bits);

#endif
