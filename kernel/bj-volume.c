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
#include "bj-target.h"
#include "bj-volume.h"

static DEFINE_MUTEX(bj_registry_lock);	/* protects bj_registry and bj_volume.refs */
static LIST_HEAD(bj_registry);

struct bj_volume *bj_volume_get(struct mapped_device *md, sector_t begin, sector_t len,
				char **error)
{
	struct bj_volume *vol;

	mutex_lock(&bj_registry_lock);
	list_for_each_entry(vol, &bj_registry, list) {
		if (vol->md != md || vol->begin != begin)
			continue;
		if (vol->len != len && vol->nr_bitmaps) {
			mutex_unlock(&bj_registry_lock);
			*error =
				"Volume size change with dirty bitmaps: remove them first";
			return ERR_PTR(-EINVAL);
		}
		vol->len = len;
		vol->refs++;
		mutex_unlock(&bj_registry_lock);
		return vol;
	}
	vol = kzalloc(sizeof(*vol), GFP_KERNEL);
	if (!vol) {
		mutex_unlock(&bj_registry_lock);
		*error = "Cannot allocate volume state";
		return ERR_PTR(-ENOMEM);
	}
	vol->md = md;
	vol->begin = begin;
	vol->len = len;
	vol->refs = 1;
	spin_lock_init(&vol->lock);
	INIT_LIST_HEAD(&vol->bitmaps);
	list_add(&vol->list, &bj_registry);
	mutex_unlock(&bj_registry_lock);
	return vol;
}

static void free_bitmap(struct bj_named_bitmap *b)
{
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
		if (!b->enabled)
			continue;
		first = div64_u64(offset, b->granule);
		last = div64_u64(offset + nr - 1, b->granule);
		bj_bitmap_set_range(&b->bm, first, last - first + 1);
	}
	spin_unlock_irqrestore(&vol->lock, flags);
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

int bj_volume_message(struct bj_volume *vol, struct bj_msg *m, char *result,
		      unsigned int maxlen, const char **error)
{
	struct bj_named_bitmap *b, *src;
	unsigned int sz = 0;
	int r = 0;

	if (m->type == BJ_MSG_BITMAP_ADD)
		return bitmap_add(vol, m->name, m->granule, error);

	spin_lock_irq(&vol->lock);
	if (m->type == BJ_MSG_BITMAP_LIST) {
		list_for_each_entry(b, &vol->bitmaps, list)
			DMEMIT("%s %llu %llu %s%s\n", b->name,
			       (unsigned long long)b->granule << SECTOR_SHIFT,
			       min_t(u64, b->bm.nr_set * ((u64)b->granule << SECTOR_SHIFT),
				     (u64)vol->len << SECTOR_SHIFT),
			       b->enabled ? "enabled" : "disabled", b->busy ? " busy" : "");
		goto out;
	}
	b = find_bitmap(vol, m->name);
	if (!b) {
		*error = "bitmap: no bitmap of that name on this volume";
		r = -ENOENT;
		goto out;
	}
	switch (m->type) {
	case BJ_MSG_BITMAP_REMOVE:
	case BJ_MSG_BITMAP_CLEAR:
	case BJ_MSG_BITMAP_MERGE:
		if (b->busy) {
			*error = "bitmap: in use by a backup job";
			r = -EBUSY;
			goto out;
		}
		break;
	default:
		break;
	}
	switch (m->type) {
	case BJ_MSG_BITMAP_REMOVE:
		list_del(&b->list);
		vol->nr_bitmaps--;
		spin_unlock_irq(&vol->lock);
		free_bitmap(b);
		return 0;
	case BJ_MSG_BITMAP_CLEAR:
		bj_bitmap_clear_all(&b->bm);
		break;
	case BJ_MSG_BITMAP_ENABLE:
		b->enabled = true;
		break;
	case BJ_MSG_BITMAP_DISABLE:
		b->enabled = false;
		break;
	case BJ_MSG_BITMAP_MERGE:
		src = find_bitmap(vol, m->src);
		if (!src) {
			*error = "bitmap merge: no source bitmap of that name";
			r = -ENOENT;
		} else if (src->granule != b->granule) {
			*error = "bitmap merge: the bitmaps have different granularities";
			r = -EINVAL;
		} else {
			r = bj_bitmap_or(&b->bm, &src->bm);
		}
		break;
	case BJ_MSG_BITMAP_DUMP:
		dump_bitmap(b, vol->len, result, maxlen, &sz);
		break;
	default:
		r = -EINVAL;
		break;
	}
out:
	spin_unlock_irq(&vol->lock);
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

	spin_lock_irq(&vol->lock);
	b = find_bitmap(vol, name);
	if (!b || b->busy) {
		spin_unlock_irq(&vol->lock);
		return b ? -EBUSY : -ENOENT;
	}
	nr_bits = b->bm.nr_bits;
	*granule = b->granule;
	b->busy = true;
	spin_unlock_irq(&vol->lock);

	/* A busy bitmap cannot be removed: @b stays valid. */
	r = bj_bitmap_init(copy, nr_bits, GFP_KERNEL);
	if (r) {
		spin_lock_irq(&vol->lock);
		b->busy = false;
		spin_unlock_irq(&vol->lock);
	}
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
		if (!r && clear)
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

	spin_lock_irq(&vol->lock);
	b = find_bitmap(vol, name);
	if (b) {
		if (restore)
			bj_bitmap_or(&b->bm, restore);
		b->busy = false;
	}
	spin_unlock_irq(&vol->lock);
}
