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
 * The bitmap store is in memory; a persistent store would sit beneath
 * bj_volume_bitmap_*() (load on first get, commit before acknowledging
 * FLUSH/FUA), leaving the callers unchanged.
 */
#ifndef DM_BLOCKJOB_VOLUME_H
#define DM_BLOCKJOB_VOLUME_H

#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>

#include "bj-args.h"
#include "bj-bitmap.h"

struct mapped_device;

struct bj_named_bitmap {
	struct list_head list;		/* in bj_volume.bitmaps */
	char name[BJ_NAME_MAX];
	sector_t granule;		/* sectors per bit */
	bool enabled;			/* records writes */
	bool busy;			/* in use by a job: no remove/merge/clear */
	struct bj_bitmap bm;
};

/*
 * Locking: bj_volume.lock (a spinlock, taken in the map path for every
 * write) protects the bitmap list and every named bitmap's fields and bits.
 * Allocation happens outside it. The registry list and each volume's
 * refcount are protected by the registry mutex in bj-volume.c.
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
	/*
	 * The mirror table that last became live on this volume, until its
	 * destructor (registry mutex). A passthrough table on its destination
	 * may replace it only once the mirror allows (bj_mirror_may_pivot()).
	 */
	struct bj_target *mirror;
};

/*
 * Find or create the volume of @md at @begin for a table of @len sectors.
 * Returns an ERR_PTR: -EINVAL with *@error set when bitmaps exist for
 * another length. Process context.
 */
struct bj_volume *bj_volume_get(struct mapped_device *md, sector_t begin, sector_t len,
				char **error);
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
