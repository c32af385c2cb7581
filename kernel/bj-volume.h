/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-volume state that outlives table reloads: the named dirty bitmaps.
 *
 * A volume is a dm device (struct mapped_device) plus the start of the
 * blockjob target in its table. Every table of that device that maps a
 * blockjob target at the same start shares one struct bj_volume, found in a
 * global registry: loading the table that starts or ends a job takes a
 * reference on the volume the old table holds, so a write that goes through
 * either table marks the same bitmaps and nothing is missed across the
 * switch.
 *
 * Bitmaps live in memory, or (persistent bitmaps) on the volume's metadata
 * device when its tables name one: see bj-md.h. Every table of a volume
 * names the same metadata device, or none.
 */
#ifndef DM_BLOCKJOB_VOLUME_H
#define DM_BLOCKJOB_VOLUME_H

#include <linux/bio.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>

#include "bj-args.h"
#include "bj-bitmap.h"

struct mapped_device;
struct bj_md;
struct bj_target;

/* One area of a persistent bitmap on the metadata device (bj-md.c). */
struct bj_md_area {
	u64 epoch;			/* blocks of another epoch read as zeroes */
	u32 index;			/* area 0 or 1 of the bitmap's blocks */
	u64 *gen;			/* per logical block: its newest valid copy's generation */
	u8 *copy;			/* per logical block: that copy, or BJ_MD_NO_COPY */
	unsigned long *touched;		/* logical blocks the running commit writes */
};

struct bj_named_bitmap {
	struct list_head list;		/* in bj_volume.bitmaps */
	char name[BJ_NAME_MAX];
	sector_t granule;		/* sectors per bit */
	bool enabled;			/* records writes */
	bool busy;			/* in use by a job: no remove/merge/clear */
	struct bj_bitmap bm;		/* persistent: the durable bits only */

	/* Persistent bitmaps (bj-md.c); the fields below are unused otherwise. */
	bool persistent;
	u32 entry;			/* its superblock entry */
	struct bj_md_area area;
	/*
	 * A backup's successor: reserved at the job's constructor, active
	 * from its point in time (writes are then made durable in both),
	 * made the bitmap when the job gives the bitmap back.
	 */
	bool succ_reserved;
	bool succ_active;
	struct bj_bitmap succ;
	struct bj_md_area succ_area;
};

/*
 * Locking: bj_volume.lock (a spinlock, taken in the map path for every
 * write) protects the bitmap list and every named bitmap's fields and bits.
 * Allocation happens outside it. The registry list and each volume's
 * refcount are protected by the registry mutex in bj-volume.c. Bitmap
 * messages and a job's reserve/release of a bitmap are serialized by
 * @msg_lock (they may sleep on metadata I/O); see bj-md.h for the order.
 */
struct bj_volume {
	struct list_head list;		/* in the registry */
	struct mapped_device *md;
	sector_t begin;			/* target start within the device */
	sector_t len;			/* sectors covered by the bitmaps */
	unsigned int refs;		/* tables holding it, under the registry mutex */
	spinlock_t lock;
	struct list_head bitmaps;
	unsigned int nr_bitmaps;
	struct mutex msg_lock;		/* serializes bitmap messages, reserve, release */
	dev_t md_dev;			/* the metadata device, 0 = none */
	struct bj_md *store;		/* its store (bj-md.h), NULL = none */
	/* Tables with writes held for a metadata commit (bj_target.held_node), under @lock. */
	struct list_head held_targets;
	/*
	 * The mirror table that last became live on this volume, until its
	 * destructor (registry mutex). A passthrough table on its destination
	 * may replace it only once the mirror allows (bj_mirror_may_pivot()).
	 */
	struct bj_target *mirror;
};

/*
 * Find or create the volume of @md at @begin for a table of @len sectors
 * whose metadata device is @md_dev (0: none). Returns an ERR_PTR with
 * *@error set: -EINVAL when bitmaps exist for another length, when the
 * table names another metadata device than the volume's, or when the
 * metadata device cannot be opened. Process context.
 */
struct bj_volume *bj_volume_get(struct mapped_device *md, sector_t begin, sector_t len,
				dev_t md_dev, char **error);
void bj_volume_put(struct bj_volume *vol);

/* A mirror table becomes live on @vol / goes away. Process context. */
void bj_volume_set_mirror(struct bj_volume *vol, struct bj_target *bt);
void bj_volume_unset_mirror(struct bj_volume *vol, struct bj_target *bt);

/*
 * May a passthrough table on device @dev replace the volume's live mirror?
 * Only if @dev is not the mirror's destination, or the mirror completed
 * (@loading: or is ready and asked to complete, since the pivot's table is
 * loaded before the suspend that concludes it). Otherwise -EBUSY with
 * *@error set. Process context.
 */
int bj_volume_may_take_over(struct bj_volume *vol, dev_t dev, bool loading, char **error);

/* Record a write of @nr sectors at @offset (target-relative). Any context. */
void bj_volume_mark(struct bj_volume *vol, sector_t offset, sector_t nr);

/*
 * Map path, before the mode's map: with persistent bitmaps, hold a write
 * until its bits are durable (see bj_md_hold()). Returns a DM_MAPIO_*
 * value to return from map, or -1 to go on with the mode's map.
 */
int bj_volume_hold(struct bj_volume *vol, struct bj_target *bt, struct bio *bio);

/*
 * Bitmap messages; @result/@maxlen take list and dump output. Process
 * context. Return 0 or a negative errno with *@error set for the log.
 */
struct bj_msg;
int bj_volume_message(struct bj_volume *vol, struct bj_msg *m, char *result,
		      unsigned int maxlen, const char **error);

/* Number of named bitmaps and their memory in bytes, for status. */
void bj_volume_stats(struct bj_volume *vol, unsigned int *nr, size_t *bytes);

/* For jobs: take a consistent copy of bitmap @name and mark it busy. */
int bj_volume_bitmap_claim(struct bj_volume *vol, const char *name,
			   struct bj_bitmap *copy, sector_t *granule, bool clear);
/*
 * The same in two steps, for a job whose point in time comes later than its
 * constructor: bj_volume_bitmap_reserve() marks bitmap @name busy and
 * allocates @copy to its size (process context, may sleep); at the point in
 * time, with the volume's writes drained, bj_volume_bitmap_take() copies the
 * bits into @copy and clears the bitmap when @clear (any context, no
 * allocation). Returns -ENOENT when there is no such bitmap (it cannot be
 * removed while reserved), -EBUSY when another job holds it.
 */
int bj_volume_bitmap_reserve(struct bj_volume *vol, const char *name,
			     struct bj_bitmap *copy, sector_t *granule);
int bj_volume_bitmap_take(struct bj_volume *vol, const char *name,
			  struct bj_bitmap *copy, bool clear);
/* Release a claim; when @restore, OR @copy back into the bitmap first. */
void bj_volume_bitmap_release(struct bj_volume *vol, const char *name,
			      const struct bj_bitmap *restore);

#endif
