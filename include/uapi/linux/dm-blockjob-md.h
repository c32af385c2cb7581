/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dm-blockjob: the on-disk format of a volume's metadata device (table
 * feature "metadata <dev>"), shared by the target and the userspace tools
 * that format, dump and check it. Documentation/dm-blockjob.rst describes
 * it in prose; this header is the reference.
 *
 * Everything is little-endian, in blocks of BJ_MD_BLOCK_SIZE bytes.
 *
 *   block 0, block 1   two copies of the superblock. A commit writes the
 *                      copy that is not the newest, with generation + 1,
 *                      after the blocks it relies on are durable, and is
 *                      done once a flush after it returns; the valid copy (magic,
 *                      version, checksum) with the higher generation is
 *                      the committed state. A torn commit fails its
 *                      checksum and the previous commit is used.
 *   blocks 2 ..        bitmap areas, each bitmap's where its superblock
 *                      entry says (first_block), never overlapping.
 *
 * A persistent bitmap of nr_bits bits has nr_blocks = DIV_ROUND_UP(nr_bits,
 * BJ_MD_BITS_PER_BLOCK) logical blocks. It owns 4 * nr_blocks blocks from
 * first_block: two areas (the bitmap and, during a backup that takes it,
 * its successor), each with two copies of every logical block:
 *
 *   block of (area a, copy c, logical block l) =
 *           first_block + (2 * a + c) * nr_blocks + l
 *
 * A logical block is written to the copy that does not hold its newest
 * valid version, with the block's generation + 1, then flushed. A copy is
 * valid for area a when its checksum is right, its magic, uuid and index
 * match, and its epoch equals the area's epoch in the superblock. The valid
 * copy with the higher generation is the block's content; when neither copy
 * is valid the block is all zeroes. A copy of the area's epoch that fails
 * its checksum but has this volume's magic or uuid is torn (a write cut
 * short, or damage): as it may have held bits the other lacks, the whole
 * block is then taken as dirty. Giving an area a new epoch (one superblock
 * commit) clears it at once: a fresh epoch is taken from next_epoch, never
 * reused (a successor's epoch is committed before any block carries it).
 *
 * Bits only ever become set by a bitmap block write: a set bit's write is
 * durable (written and flushed) before the guest write it covers is
 * submitted. Bits become clear only by a superblock commit (new epoch).
 *
 * The volume record (superblock bytes 200 .. 711) says where the volume
 * lives and which job it runs, so that "blockjob activate" can bring it back
 * after a reboot or a crash. Its text belongs to userspace (the grammar is in
 * Documentation/dm-blockjob.rst, "Volume record"): printable ASCII without
 * spaces, NUL-padded; the target stores it as it is given (message
 * "metadata record <text>"). The target owns one flag: BJ_MD_SB_PIVOTED,
 * committed when a mirror concludes completed (its destination flushed, no
 * guest write in flight), before the table on the destination can take a
 * write: from that commit on, the volume lives on the record's mirror
 * destination. A record commit clears it (userspace writes the new home);
 * the mirror's table clears it if it is resumed instead (pivot abandoned).
 *
 * Checksums: CRC-32C (Castagnoli; initial value ~0, final xor ~0, the value
 * of "123456789" is 0xe3069283) of bytes 4 .. BJ_MD_BLOCK_SIZE - 1.
 */
#ifndef _UAPI_LINUX_DM_BLOCKJOB_MD_H
#define _UAPI_LINUX_DM_BLOCKJOB_MD_H

#include <linux/types.h>

#define BJ_MD_BLOCK_SIZE	4096
#define BJ_MD_SECTORS_PER_BLOCK	(BJ_MD_BLOCK_SIZE / 512)
#define BJ_MD_SB_MAGIC		0x444d4a42U	/* "BJMD" */
#define BJ_MD_BITMAP_MAGIC	0x4d424a42U	/* "BJBM" */
#define BJ_MD_VERSION		1
#define BJ_MD_SB_COPIES		2		/* blocks 0 and 1 */
#define BJ_MD_FIRST_DATA_BLOCK	BJ_MD_SB_COPIES
#define BJ_MD_MAX_BITMAPS	16
#define BJ_MD_NAME_LEN		64		/* bitmap name, NUL-padded */
#define BJ_MD_VOLUME_NAME_LEN	128		/* volume name, NUL-padded */
#define BJ_MD_UUID_LEN		16
#define BJ_MD_RECORD_LEN	512		/* volume record, NUL-padded */

/* bj_md_superblock.flags */
#define BJ_MD_SB_PIVOTED	(1U << 0)	/* home is the record's mirror destination */

/* Bitmap block: a 64-byte header, then the bits as little-endian u64 words. */
#define BJ_MD_BITMAP_HEADER	64
#define BJ_MD_WORDS_PER_BLOCK	((BJ_MD_BLOCK_SIZE - BJ_MD_BITMAP_HEADER) / 8)	/* 504 */
#define BJ_MD_BITS_PER_BLOCK	(BJ_MD_WORDS_PER_BLOCK * 64)			/* 32256 */

/* bj_md_bitmap_entry.flags */
#define BJ_MD_BM_USED		(1U << 0)	/* the entry holds a bitmap */
#define BJ_MD_BM_ENABLED	(1U << 1)	/* records writes */
#define BJ_MD_BM_SUCCESSOR	(1U << 2)	/* area 1 - area is its successor */
#define BJ_MD_BM_SYNC		(1U << 3)	/* a mirror's out-of-sync map, see below */

/*
 * The entry with BJ_MD_BM_SYNC (at most one, named BJ_MD_SYNC_NAME, never a
 * named bitmap of the volume) is the sync map of the job the volume record
 * names. For a mirror, a set bit is a region whose destination may differ
 * from its source. Its bits are durable before a write that could make the
 * two differ is submitted; unlike a named bitmap's, they are also cleared
 * by a block write, once the region is copied, idle, and both devices have
 * been flushed after its last write. For a backup (sync full, incremental),
 * a set bit is a chunk not durably saved: the source still holds its data
 * of the point in time; a bit is cleared only after the chunk's copy is on
 * the destination and the destination was flushed, and a write to the chunk
 * waits for that clear. The job's table creates it (all set for a full
 * copy) and, with the table feature "resume", continues from it; a record
 * commit drops it (the record then names another job, or none), and so do
 * a backup that ends unfinished and a table that replaces one.
 */
#define BJ_MD_SYNC_NAME		"mirror-sync"

struct bj_md_bitmap_entry {		/* 128 bytes */
	char name[BJ_MD_NAME_LEN];
	__le64 granule;			/* sectors per bit, a power of two */
	__le64 nr_bits;			/* DIV_ROUND_UP(data_sectors, granule) */
	__le64 first_block;		/* start of its 4 * nr_blocks blocks */
	__le32 nr_blocks;		/* logical blocks per area */
	__le32 flags;			/* BJ_MD_BM_* */
	__le64 epoch;			/* epoch of the bitmap's area */
	__le64 successor_epoch;		/* epoch of the other area, with BJ_MD_BM_SUCCESSOR */
	__le32 area;			/* 0 or 1: the area holding the bitmap */
	__u8 reserved[12];
};

struct bj_md_superblock {		/* BJ_MD_BLOCK_SIZE bytes */
	__le32 csum;
	__le32 magic;			/* BJ_MD_SB_MAGIC */
	__le32 version;			/* BJ_MD_VERSION */
	__le32 block_size;		/* BJ_MD_BLOCK_SIZE */
	__le64 generation;		/* commit number: the higher valid copy wins */
	__u8 uuid[BJ_MD_UUID_LEN];	/* the volume's identity, random at format */
	__le64 data_sectors;		/* the volume's length in 512-byte sectors */
	__le64 md_blocks;		/* blocks of the metadata device it may use */
	__le64 next_epoch;		/* the next unused epoch (epochs start at 1) */
	__le32 flags;			/* BJ_MD_SB_*; others must be 0 */
	__le32 nr_bitmaps;		/* entries with BJ_MD_BM_USED */
	char volume_name[BJ_MD_VOLUME_NAME_LEN];	/* dm name at format */
	char record[BJ_MD_RECORD_LEN];	/* the volume record, at byte 200 */
	__u8 reserved1[1024 - 200 - BJ_MD_RECORD_LEN];
	struct bj_md_bitmap_entry bitmaps[BJ_MD_MAX_BITMAPS];	/* at byte 1024 */
	__u8 reserved2[BJ_MD_BLOCK_SIZE - 1024 - BJ_MD_MAX_BITMAPS * 128];
};

struct bj_md_bitmap_header {		/* BJ_MD_BITMAP_HEADER bytes */
	__le32 csum;
	__le32 magic;			/* BJ_MD_BITMAP_MAGIC */
	__u8 uuid[BJ_MD_UUID_LEN];	/* the superblock's */
	__le64 epoch;			/* the area's epoch when written */
	__le64 generation;		/* this logical block's write count */
	__le32 index;			/* logical block number in the area */
	__le32 entry;			/* index of the bitmap's superblock entry */
	__u8 reserved[16];
};

#endif /* _UAPI_LINUX_DM_BLOCKJOB_MD_H */
