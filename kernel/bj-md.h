/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A volume's metadata device: persistent dirty bitmaps that survive crashes
 * and reboots (table feature "metadata <dev>"; on-disk format in
 * include/uapi/linux/dm-blockjob-md.h).
 *
 * The rule: a write to a granule whose bit is clear in an enabled
 * persistent bitmap is held (bj_md_hold()) until that bit is durable on the
 * metadata device; every write held at one time shares one commit (the
 * bitmap blocks they need, then a flush), done by the store's worker, which
 * then maps the writes through their table's mode. A persistent bitmap's
 * in-core bits are its durable bits: set only after the commit that wrote
 * them. Writes to granules already durable take no metadata I/O.
 *
 * Locking: bj_md.io_lock (a mutex) serializes metadata I/O and guards the
 * committed superblock; bitmap messages take the volume's msg_lock first,
 * and bj_volume.lock (the spinlock of the bits) is taken inside io_lock.
 * Order: bj_volume.msg_lock -> bj_md.io_lock -> bj_volume.lock.
 */
#ifndef DM_BLOCKJOB_MD_H
#define DM_BLOCKJOB_MD_H

#include <linux/types.h>

struct bio;
struct bj_bitmap;
struct bj_named_bitmap;
struct bj_target;
struct bj_volume;

/*
 * Open the metadata device @dev of @vol (vol->len sectors): read and check
 * its superblock, load its bitmaps into vol->bitmaps. Returns 0, or a
 * negative errno with *@error set for ti->error. Process context.
 */
int bj_md_open(struct bj_volume *vol, dev_t dev, char **error);
/* Close it (the volume frees the bitmaps). No write is held any more. */
void bj_md_close(struct bj_volume *vol);

/*
 * Map path, for a write (or discard, write-zeroes) of @bt's table: 0 when
 * every bit it needs is durable (map it now), 1 when it is held (the
 * store maps it once committed: return DM_MAPIO_SUBMITTED), -EIO when the
 * metadata device failed and its bits cannot be made durable.
 */
int bj_md_hold(struct bj_volume *vol, struct bj_target *bt, struct bio *bio);

/*
 * Bitmap operations on the metadata device, each one commit. Called with
 * bj_volume.msg_lock held; return 0 or a negative errno with *@error set.
 */
int bj_md_bitmap_add(struct bj_volume *vol, const char *name, sector_t granule,
		     const char **error);
int bj_md_bitmap_remove(struct bj_volume *vol, struct bj_named_bitmap *b, const char **error);
int bj_md_bitmap_clear(struct bj_volume *vol, struct bj_named_bitmap *b, const char **error);
int bj_md_bitmap_enable(struct bj_volume *vol, struct bj_named_bitmap *b, bool enable,
			const char **error);
/* @b |= @src, durably. */
int bj_md_bitmap_or(struct bj_volume *vol, struct bj_named_bitmap *b,
		    const struct bj_bitmap *src, const char **error);

/*
 * A backup's use of persistent bitmap @b (bj_volume_bitmap_reserve/take/
 * release): reserve a successor (an epoch and its bits; msg_lock held);
 * at the point in time activate it (any context, vol->lock held): from then
 * on writes are made durable in the bitmap and in its successor, and the
 * bitmap is not cleared; release: the successor, with @restore ORed in,
 * becomes the bitmap in one commit, or (metadata failure) is dropped and
 * the bitmap keeps every write. msg_lock held.
 */
int bj_md_successor_reserve(struct bj_volume *vol, struct bj_named_bitmap *b);
void bj_md_successor_activate(struct bj_named_bitmap *b);
void bj_md_successor_release(struct bj_volume *vol, struct bj_named_bitmap *b,
			     const struct bj_bitmap *restore);

/*
 * The volume record (one commit each): set its text, which also clears
 * BJ_MD_SB_PIVOTED (msg_lock held); set or clear BJ_MD_SB_PIVOTED, a
 * commit only if it changes (a mirror's postsuspend and preresume; any
 * process context without msg_lock). 0 or a negative errno.
 */
int bj_md_set_record(struct bj_volume *vol, const char *text, const char **error);
int bj_md_set_pivoted(struct bj_volume *vol, bool pivoted);

/*
 * A job's sync map (BJ_MD_BM_SYNC in dm-blockjob-md.h): a mirror's
 * out-of-sync regions (the rules of its use are at the top of bj-mirror.c),
 * a backup's chunks not durably saved (bj-backup.c). bj_md_sync_open(): job
 * table @bt takes it in its constructor (one table at a time: -EBUSY
 * otherwise). With @resume it loads the map an interrupted job of region
 * size @granule left into @bits; else it makes a new map equal to @bits,
 * durable (blocks, then the superblock entry) before it returns. 0 or a
 * negative errno with *@error set for ti->error.
 * bj_md_sync_write(): make the map on disk equal to @bits (the blocks that
 * differ, then a flush); the caller answers for the bits it clears. 0 or a
 * negative errno (the metadata device failed).
 * bj_md_sync_drop(): table @bt, which holds the map, removes it from the
 * metadata device now (a superblock commit; a backup that ends unfinished:
 * its map must never be resumed); later writes of it fail. 0 or a negative
 * errno.
 * bj_md_sync_close(): the destructor lets go; the map stays on disk until a
 * record commit (bj_md_set_record()) drops it, which is refused (-EBUSY)
 * while a table holds it. Process context, none of the volume's locks held.
 */
int bj_md_sync_open(struct bj_volume *vol, struct bj_target *bt, sector_t granule, bool resume,
		    struct bj_bitmap *bits, char **error);
int bj_md_sync_write(struct bj_volume *vol, const struct bj_bitmap *bits);
int bj_md_sync_drop(struct bj_volume *vol, struct bj_target *bt);
/*
 * Table @bt of the volume is about to resume (preresume, writes drained):
 * if another table, a backup that has not saved every chunk, holds the sync
 * map, drop the map now: writes through @bt would go to chunks it still
 * needs, and a resume of it after a crash would then copy data from after
 * its point in time. A failed commit (the metadata device failed) is
 * logged and @bt resumes anyway: a volume left suspended would hang its
 * writes. bj_md_sync_held(): does @bt still hold a map on the metadata
 * device? (A backup table resumed again after that drop does not: it goes
 * on in memory only.)
 */
void bj_md_sync_yield(struct bj_volume *vol, struct bj_target *bt);
bool bj_md_sync_held(struct bj_volume *vol, struct bj_target *bt);
void bj_md_sync_close(struct bj_volume *vol, struct bj_target *bt);

/* Free a persistent bitmap's in-core state (not its bits). */
void bj_md_bitmap_free(struct bj_named_bitmap *b);

/* Statistics for the "metadata" message: "<commits> <writes held> <blocks written> <ok|failed>". */
void bj_md_stats(struct bj_volume *vol, char *result, unsigned int maxlen);

#endif
