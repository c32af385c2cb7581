// SPDX-License-Identifier: GPL-2.0
/*
 * Volume registry and named dirty bitmaps (see bj-volume.h for the locking).
 */
#include <linux/device-mapper.h>
#include <linux/err.h>
#include <linux/math64.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bj-args.h"
#include "bj-md.h"
#include "bj-target.h"
#include "bj-volume.h"

static DEFINE_MUTEX(bj_registry_lock);	/* protects bj_registry and bj_volume.refs */
static LIST_HEAD(bj_registry);

/* May a table naming metadata device @md_dev join @vol? Registry mutex held. */
static int check_md_dev(struct bj_volume *vol, dev_t md_dev, char **error)
{
	if (vol->md_dev == md_dev)
		return 0;
	if (!md_dev)
		*error =
			"This volume has a metadata device: keep \"metadata <dev>\" on the table";
	else if (!vol->md_dev)
		*error =
			"No metadata device can be added to a live volume: create it with one";
	else
		*error =
			"Metadata device differs from the volume's: give the one it has";
	return -EINVAL;
}

struct bj_volume *bj_volume_get(struct mapped_device *md, sector_t begin, sector_t len,
				dev_t md_dev, char **error)
{
	struct bj_volume *vol;
	int r;

	mutex_lock(&bj_registry_lock);
	list_for_each_entry(vol, &bj_registry, list) {
		if (vol->md != md || vol->begin != begin) {
			if (md_dev && vol->md_dev == md_dev) {
				*error = "Metadata device in use by another volume";
				r = -EBUSY;
				goto bad;
			}
			continue;
		}
		if (vol->len != len && vol->nr_bitmaps) {
			*error =
				"Volume size change with dirty bitmaps: remove them first";
			r = -EINVAL;
			goto bad;
		}
		/* Its metadata records the size: persistent bitmaps are sized to it. */
		if (vol->len != len && vol->store) {
			*error = "Volume size change with a metadata device: not supported";
			r = -EINVAL;
			goto bad;
		}
		r = check_md_dev(vol, md_dev, error);
		if (r)
			goto bad;
		vol->len = len;
		vol->refs++;
		mutex_unlock(&bj_registry_lock);
		return vol;
	}
	vol = kzalloc(sizeof(*vol), GFP_KERNEL);
	if (!vol) {
		*error = "Cannot allocate volume state";
		r = -ENOMEM;
		goto bad;
	}
	vol->md = md;
	vol->begin = begin;
	vol->len = len;
	vol->refs = 1;
	spin_lock_init(&vol->lock);
	mutex_init(&vol->msg_lock);
	INIT_LIST_HEAD(&vol->bitmaps);
	INIT_LIST_HEAD(&vol->held_targets);
	if (md_dev) {
		r = bj_md_open(vol, md_dev, error);
		if (r) {
			kfree(vol);
			goto bad;
		}
	}
	list_add(&vol->list, &bj_registry);
	mutex_unlock(&bj_registry_lock);
	return vol;
bad:
	mutex_unlock(&bj_registry_lock);
	return ERR_PTR(r);
}

static void free_bitmap(struct bj_named_bitmap *b)
{
	if (b->persistent)
		bj_md_bitmap_free(b);
	bj_bitmap_free(&b->bm);
	kfree(b);
}

void bj_volume_put(struct bj_volume *vol)
{
	struct bj_named_bitmap *b, *tmp;

	mutex_lock(&bj_registry_lock);
	if (--vol->refs) {
		mutex_unlock(&bj_registry_lock);
		return;
	}
	list_del(&vol->list);
	mutex_unlock(&bj_registry_lock);
	bj_md_close(vol);
	list_for_each_entry_safe(b, tmp, &vol->bitmaps, list)
		free_bitmap(b);
	kfree(vol);
}

void bj_volume_set_mirror(struct bj_volume *vol, struct bj_target *bt)
{
	mutex_lock(&bj_registry_lock);
	vol->mirror = bt;
	mutex_unlock(&bj_registry_lock);
}

void bj_volume_unset_mirror(struct bj_volume *vol, struct bj_target *bt)
{
	mutex_lock(&bj_registry_lock);
	if (vol->mirror == bt)
		vol->mirror = NULL;
	mutex_unlock(&bj_registry_lock);
}

int bj_volume_may_take_over(struct bj_volume *vol, dev_t dev, bool loading, char **error)
{
	int r = 0;

	/* The mutex keeps the mirror's table from going away meanwhile. */
	mutex_lock(&bj_registry_lock);
	if (vol->mirror && vol->mirror->dst->bdev->bd_dev == dev &&
	    !bj_mirror_may_pivot(vol->mirror, loading)) {
		*error =
			"Destination of an unfinished mirror: pivot with 'blockjob complete'";
		r = -EBUSY;
	}
	mutex_unlock(&bj_registry_lock);
	return r;
}

void bj_volume_mark(struct bj_volume *vol, sector_t offset, sector_t nr)
{
	struct bj_named_bitmap *b;
	unsigned long flags;
	u64 first, last;

	if (!nr || list_empty_careful(&vol->bitmaps))
		return;
	spin_lock_irqsave(&vol->lock, flags);
	list_for_each_entry(b, &vol->bitmaps, list) {
		/* A persistent bitmap's bits are set by its commits (bj_md_hold()). */
		if (!b->enabled || b->persistent)
			continue;
		first = div64_u64(offset, b->granule);
		last = div64_u64(offset + nr - 1, b->granule);
		bj_bitmap_set_range(&b->bm, first, last - first + 1);
	}
	spin_unlock_irqrestore(&vol->lock, flags);
}

int bj_volume_hold(struct bj_volume *vol, struct bj_target *bt, struct bio *bio)
{
	int r = bj_md_hold(vol, bt, bio);

	if (r < 0)
		return DM_MAPIO_KILL;
	return r ? DM_MAPIO_SUBMITTED : -1;
}

/* vol->lock held. */
static struct bj_named_bitmap *find_bitmap(struct bj_volume *vol, const char *name)
{
	struct bj_named_bitmap *b;

	list_for_each_entry(b, &vol->bitmaps, list)
		if (!strcmp(b->name, name))
			return b;
	return NULL;
}

static int bitmap_add(struct bj_volume *vol, const char *name, sector_t granule,
		      const char **error)
{
	struct bj_named_bitmap *b;
	int r;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	r = bj_bitmap_init(&b->bm, bj_regions_for(vol->len, granule), GFP_KERNEL);
	if (r) {
		kfree(b);
		*error = r == -EINVAL ? "bitmap add: granularity too small for this volume" :
			 "bitmap add: out of memory";
		return r;
	}
	strscpy(b->name, name, sizeof(b->name));
	b->granule = granule;
	b->enabled = true;

	spin_lock_irq(&vol->lock);
	if (find_bitmap(vol, name)) {
		spin_unlock_irq(&vol->lock);
		free_bitmap(b);
		*error = "bitmap add: a bitmap of that name exists";
		return -EEXIST;
	}
	list_add_tail(&b->list, &vol->bitmaps);
	vol->nr_bitmaps++;
	spin_unlock_irq(&vol->lock);
	return 0;
}

/* Emit the dirty ranges of @b as "<start bytes> <length bytes>" lines. vol->lock held. */
static void dump_bitmap(struct bj_named_bitmap *b, sector_t len, char *result,
			unsigned int maxlen, unsigned int *szp)
{
	u64 bit = bj_bitmap_next_set(&b->bm, 0), end;
	u64 total = (u64)len << SECTOR_SHIFT;
	u64 gran = (u64)b->granule << SECTOR_SHIFT;
	unsigned int sz = *szp;

	while (bit < b->bm.nr_bits) {
		u64 start, bytes;

		end = bj_bitmap_next_clear(&b->bm, bit);
		start = bit * gran;
		bytes = min(end * gran, total) - start;
		DMEMIT("%llu %llu\n", start, bytes);
		/* Full: dm reports it and userspace asks again with more room. */
		if (sz >= maxlen - 1)
			break;
		bit = bj_bitmap_next_set(&b->bm, end);
	}
	*szp = sz;
}

/* The source bitmap @name of a merge into @b, or an ERR_PTR. vol->lock held. */
static struct bj_named_bitmap *merge_source(struct bj_volume *vol, struct bj_named_bitmap *b,
					    const char *name, const char **error)
{
	struct bj_named_bitmap *src = find_bitmap(vol, name);

	if (!src) {
		*error = "bitmap merge: no source bitmap of that name";
		return ERR_PTR(-ENOENT);
	}
	if (src->granule != b->granule) {
		*error = "bitmap merge: the bitmaps have different granularities";
		return ERR_PTR(-EINVAL);
	}
	return src;
}

/* The in-memory part of a bitmap message on @b (vol->lock held). */
static int message_in_memory(struct bj_volume *vol, struct bj_named_bitmap *b,
			     struct bj_msg *m, const char **error)
{
	struct bj_named_bitmap *src;

	switch (m->type) {
	case BJ_MSG_BITMAP_CLEAR:
		bj_bitmap_clear_all(&b->bm);
		return 0;
	case BJ_MSG_BITMAP_ENABLE:
	case BJ_MSG_BITMAP_DISABLE:
		b->enabled = m->type == BJ_MSG_BITMAP_ENABLE;
		return 0;
	case BJ_MSG_BITMAP_MERGE:
		src = merge_source(vol, b, m->src, error);
		if (IS_ERR(src))
			return PTR_ERR(src);
		return bj_bitmap_or(&b->bm, &src->bm);
	default:
		return -EINVAL;
	}
}

/*
 * The same on a persistent bitmap: a metadata commit first (msg_lock held,
 * vol->lock not). A merge's source is copied so that it can be written out
 * without the spinlock.
 */
static int message_persistent(struct bj_volume *vol, struct bj_named_bitmap *b,
			      struct bj_msg *m, const char **error)
{
	struct bj_named_bitmap *src;
	struct bj_bitmap copy;
	int r;

	switch (m->type) {
	case BJ_MSG_BITMAP_CLEAR:
		return bj_md_bitmap_clear(vol, b, error);
	case BJ_MSG_BITMAP_ENABLE:
	case BJ_MSG_BITMAP_DISABLE:
		return bj_md_bitmap_enable(vol, b, m->type == BJ_MSG_BITMAP_ENABLE, error);
	case BJ_MSG_BITMAP_MERGE:
		r = bj_bitmap_init(&copy, b->bm.nr_bits, GFP_KERNEL);
		if (r) {
			*error = "bitmap merge: out of memory";
			return r;
		}
		spin_lock_irq(&vol->lock);
		src = merge_source(vol, b, m->src, error);
		r = IS_ERR(src) ? PTR_ERR(src) : bj_bitmap_copy(&copy, &src->bm);
		spin_unlock_irq(&vol->lock);
		if (!r)
			r = bj_md_bitmap_or(vol, b, &copy, error);
		bj_bitmap_free(&copy);
		return r;
	default:
		return -EINVAL;
	}
}

static void list_bitmaps(struct bj_volume *vol, char *result, unsigned int maxlen)
{
	struct bj_named_bitmap *b;
	unsigned int sz = 0;

	spin_lock_irq(&vol->lock);
	list_for_each_entry(b, &vol->bitmaps, list)
		DMEMIT("%s %llu %llu %s%s%s\n", b->name,
		       (unsigned long long)b->granule << SECTOR_SHIFT,
		       min_t(u64, b->bm.nr_set * ((u64)b->granule << SECTOR_SHIFT),
			     (u64)vol->len << SECTOR_SHIFT),
		       b->enabled ? "enabled" : "disabled", b->busy ? " busy" : "",
		       b->persistent ? " persistent" : "");
	spin_unlock_irq(&vol->lock);
}

/* Bitmap messages, with vol->msg_lock held. */
static int message_locked(struct bj_volume *vol, struct bj_msg *m, char *result,
			  unsigned int maxlen, const char **error)
{
	struct bj_named_bitmap *b;
	unsigned int sz = 0;
	int r = 0;

	switch (m->type) {
	case BJ_MSG_BITMAP_ADD:
		if (!m->persistent)
			return bitmap_add(vol, m->name, m->granule, error);
		if (!vol->store) {
			*error =
				"bitmap add: persistent needs a metadata device";
			return -EINVAL;
		}
		spin_lock_irq(&vol->lock);
		b = find_bitmap(vol, m->name);
		spin_unlock_irq(&vol->lock);
		if (b) {
			*error = "bitmap add: a bitmap of that name exists";
			return -EEXIST;
		}
		return bj_md_bitmap_add(vol, m->name, m->granule, error);
	case BJ_MSG_BITMAP_LIST:
		list_bitmaps(vol, result, maxlen);
		return 0;
	case BJ_MSG_METADATA:
		if (!vol->store) {
			*error = "metadata: this volume has no metadata device";
			return -EINVAL;
		}
		bj_md_stats(vol, result, maxlen);
		return 0;
	case BJ_MSG_METADATA_RECORD:
		if (!vol->store) {
			*error = "metadata: this volume has no metadata device";
			return -EINVAL;
		}
		return bj_md_set_record(vol, m->name, error);
	default:
		break;
	}

	/* Bitmaps are added and removed only under msg_lock: @b stays valid. */
	spin_lock_irq(&vol->lock);
	b = find_bitmap(vol, m->name);
	if (!b) {
		*error = "bitmap: no bitmap of that name on this volume";
		r = -ENOENT;
	} else if (b->busy && (m->type == BJ_MSG_BITMAP_REMOVE ||
			       m->type == BJ_MSG_BITMAP_CLEAR ||
			       m->type == BJ_MSG_BITMAP_MERGE)) {
		*error = "bitmap: in use by a backup job";
		r = -EBUSY;
	} else if (m->type == BJ_MSG_BITMAP_DUMP) {
		dump_bitmap(b, vol->len, result, maxlen, &sz);
	} else if (m->type == BJ_MSG_BITMAP_REMOVE && !b->persistent) {
		list_del(&b->list);
		vol->nr_bitmaps--;
		spin_unlock_irq(&vol->lock);
		free_bitmap(b);
		return 0;
	} else if (!b->persistent) {
		r = message_in_memory(vol, b, m, error);
	} else {
		spin_unlock_irq(&vol->lock);
		if (m->type == BJ_MSG_BITMAP_REMOVE) {
			r = bj_md_bitmap_remove(vol, b, error);
			if (!r)
				free_bitmap(b);
			return r;
		}
		return message_persistent(vol, b, m, error);
	}
	spin_unlock_irq(&vol->lock);
	return r;
}

int bj_volume_message(struct bj_volume *vol, struct bj_msg *m, char *result,
		      unsigned int maxlen, const char **error)
{
	int r;

	mutex_lock(&vol->msg_lock);
	r = message_locked(vol, m, result, maxlen, error);
	mutex_unlock(&vol->msg_lock);
	return r;
}

void bj_volume_stats(struct bj_volume *vol, unsigned int *nr, size_t *bytes)
{
	struct bj_named_bitmap *b;
	size_t total = 0;

	spin_lock_irq(&vol->lock);
	list_for_each_entry(b, &vol->bitmaps, list)
		total += sizeof(*b) + bj_bitmap_bytes(&b->bm);
	*nr = vol->nr_bitmaps;
	spin_unlock_irq(&vol->lock);
	*bytes = total;
}

int bj_volume_bitmap_reserve(struct bj_volume *vol, const char *name,
			     struct bj_bitmap *copy, sector_t *granule)
{
	struct bj_named_bitmap *b;
	u64 nr_bits;
	int r;

	mutex_lock(&vol->msg_lock);
	spin_lock_irq(&vol->lock);
	b = find_bitmap(vol, name);
	if (!b || b->busy) {
		spin_unlock_irq(&vol->lock);
		mutex_unlock(&vol->msg_lock);
		return b ? -EBUSY : -ENOENT;
	}
	nr_bits = b->bm.nr_bits;
	*granule = b->granule;
	b->busy = true;
	spin_unlock_irq(&vol->lock);

	/* A busy bitmap cannot be removed: @b stays valid. */
	r = bj_bitmap_init(copy, nr_bits, GFP_KERNEL);
	if (!r && b->persistent) {
		r = bj_md_successor_reserve(vol, b);
		if (r)
			bj_bitmap_free(copy);
	}
	if (r) {
		spin_lock_irq(&vol->lock);
		b->busy = false;
		spin_unlock_irq(&vol->lock);
	}
	mutex_unlock(&vol->msg_lock);
	return r;
}

int bj_volume_bitmap_take(struct bj_volume *vol, const char *name,
			  struct bj_bitmap *copy, bool clear)
{
	struct bj_named_bitmap *b;
	unsigned long flags;
	int r = -ENOENT;

	spin_lock_irqsave(&vol->lock, flags);
	b = find_bitmap(vol, name);
	if (b) {
		r = bj_bitmap_copy(copy, &b->bm);
		/*
		 * A persistent bitmap is not cleared: its successor records
		 * the writes from now on, and becomes the bitmap when the job
		 * gives it back; until then a crash leaves every write in it.
		 */
		if (!r && clear && b->persistent)
			bj_md_successor_activate(b);
		else if (!r && clear)
			bj_bitmap_clear_all(&b->bm);
	}
	spin_unlock_irqrestore(&vol->lock, flags);
	return r;
}

int bj_volume_bitmap_claim(struct bj_volume *vol, const char *name,
			   struct bj_bitmap *copy, sector_t *granule, bool clear)
{
	int r;

	r = bj_volume_bitmap_reserve(vol, name, copy, granule);
	if (r)
		return r;
	r = bj_volume_bitmap_take(vol, name, copy, clear);
	if (r) {
		bj_volume_bitmap_release(vol, name, NULL);
		bj_bitmap_free(copy);
	}
	return r;
}

void bj_volume_bitmap_release(struct bj_volume *vol, const char *name,
			      const struct bj_bitmap *restore)
{
	struct bj_named_bitmap *b;

	mutex_lock(&vol->msg_lock);
	spin_lock_irq(&vol->lock);
	b = find_bitmap(vol, name);
	if (b && b->persistent) {
		spin_unlock_irq(&vol->lock);
		bj_md_successor_release(vol, b, restore);
		spin_lock_irq(&vol->lock);
	} else if (b && restore) {
		bj_bitmap_or(&b->bm, restore);
	}
	if (b)
		b->busy = false;
	spin_unlock_irq(&vol->lock);
	mutex_unlock(&vol->msg_lock);
}
