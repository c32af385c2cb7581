// SPDX-License-Identifier: GPL-2.0
/*
 * The metadata device store: persistent dirty bitmaps. See bj-md.h for the
 * rule and the locking, include/uapi/linux/dm-blockjob-md.h for the format.
 */
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/dm-bufio.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "bj-bitmap.h"
#include "bj-md-format.h"
#include "bj-md.h"
#include "bj-target.h"
#include "bj-volume.h"

struct bj_md {
	struct bj_volume *vol;
	struct block_device *bdev;
	struct dm_bufio_client *bufio;
	struct workqueue_struct *wq;
	struct work_struct commit_work;

	struct mutex io_lock;		/* protects everything below */
	struct bj_md_sb sb;		/* the committed superblock */
	struct bj_md_sb next;		/* the one being committed (scratch) */
	u32 sb_copy;			/* the copy holding @sb */
	bool failed;			/* a metadata write failed (also under vol->lock) */
	/*
	 * The mirror's out-of-sync map (BJ_MD_BM_SYNC) while a mirror table
	 * holds it, and that table: from its constructor to its destructor.
	 */
	struct bj_named_bitmap *sync;
	struct bj_target *sync_owner;
	/* Statistics, read without the lock (the metadata message must not wait on I/O). */
	u64 commits;			/* superblock and bitmap-block commits */
	u64 bios;			/* writes held for a commit */
	u64 blocks;			/* bitmap blocks written */
};

#define MD_FMODE	(FMODE_READ | FMODE_WRITE)

/* Record a metadata write failure: writes needing new bits fail from now on. */
static int md_fail(struct bj_md *md, int r)
{
	if (!md->failed)
		DMERR("%s: metadata device write failed (%d): writes to clean granules fail",
		      dm_device_name(md->vol->md), r);
	spin_lock_irq(&md->vol->lock);
	md->failed = true;
	spin_unlock_irq(&md->vol->lock);
	return r;
}

/* Areas ----------------------------------------------------------------- */

static void area_reset(struct bj_md_area *a, u32 nr_blocks)
{
	memset(a->copy, BJ_MD_NO_COPY, nr_blocks);
	memset(a->gen, 0, nr_blocks * sizeof(*a->gen));
}

static void area_free(struct bj_md_area *a)
{
	kvfree(a->gen);
	kvfree(a->copy);
	bitmap_free(a->touched);
	memset(a, 0, sizeof(*a));
}

static int area_alloc(struct bj_md_area *a, u32 nr_blocks, u32 index, u64 epoch)
{
	a->gen = kvcalloc(nr_blocks, sizeof(*a->gen), GFP_KERNEL);
	a->copy = kvmalloc(nr_blocks, GFP_KERNEL);
	a->touched = bitmap_zalloc(nr_blocks, GFP_KERNEL);
	if (!a->gen || !a->copy || !a->touched) {
		area_free(a);
		return -ENOMEM;
	}
	area_reset(a, nr_blocks);
	a->index = index;
	a->epoch = epoch;
	return 0;
}

static const struct bj_md_entry *entry_of(struct bj_md *md, struct bj_named_bitmap *b)
{
	return &md->sb.bitmaps[b->entry];
}

/* Device block the next write of logical block @l of @a goes to. */
static u64 next_addr(struct bj_md *md, struct bj_named_bitmap *b, struct bj_md_area *a, u32 l)
{
	u32 copy = a->copy[l] == BJ_MD_NO_COPY ? 0 : a->copy[l] ^ 1;

	return bj_md_block_addr(entry_of(md, b), a->index, copy, l);
}

/* Drop the blocks a commit wrote from the cache (it may sleep: no spinlock). */
static void area_forget(struct bj_md *md, struct bj_named_bitmap *b, struct bj_md_area *a)
{
	u32 l, nr = entry_of(md, b)->nr_blocks;

	for_each_set_bit(l, a->touched, nr)
		dm_bufio_forget(md->bufio, next_addr(md, b, a, l));
}

/*
 * After a commit wrote the touched blocks of @a: they are the newest
 * copies. vol->lock held (the map path reads @a's bits, not its blocks).
 */
static void area_written(struct bj_md *md, struct bj_named_bitmap *b, struct bj_md_area *a)
{
	u32 l, nr = entry_of(md, b)->nr_blocks;

	for_each_set_bit(l, a->touched, nr) {
		a->copy[l] = a->copy[l] == BJ_MD_NO_COPY ? 0 : a->copy[l] ^ 1;
		a->gen[l]++;
	}
	bitmap_zero(a->touched, nr);
}

/*
 * Start the write of logical block @l of area @a: the durable @bits of that
 * block plus what @add sets, in the copy not holding the newest version.
 */
static int write_block_at(struct bj_md *md, u64 addr, struct bj_named_bitmap *b,
			  struct bj_md_area *a, const struct bj_bitmap *bits, u32 l,
			  void (*add)(void *block, u32 l, void *ctx), void *ctx)
{
	struct dm_buffer *buf;
	void *data;

	data = dm_bufio_new(md->bufio, addr, &buf);
	if (IS_ERR(data))
		return PTR_ERR(data);
	bj_md_block_encode(data, md->sb.uuid, a->epoch, a->gen[l] + 1, l, b->entry,
			   bits->bits, bits->nr_bits);
	add(data, l, ctx);
	bj_md_block_seal(data);
	dm_bufio_mark_buffer_dirty(buf);
	dm_bufio_release(buf);
	WRITE_ONCE(md->blocks, md->blocks + 1);
	return 0;
}

static int write_block(struct bj_md *md, struct bj_named_bitmap *b, struct bj_md_area *a,
		       const struct bj_bitmap *bits, u32 l,
		       void (*add)(void *block, u32 l, void *ctx), void *ctx)
{
	return write_block_at(md, next_addr(md, b, a, l), b, a, bits, l, add, ctx);
}

/*
 * Write what was started and wait for it; dm_bufio_write_dirty_buffers()
 * then flushes the device itself, so that it returns with them durable.
 */
static int write_out(struct bj_md *md)
{
	int r = dm_bufio_write_dirty_buffers(md->bufio);

	return r ? md_fail(md, r) : 0;
}

/* Commit md->next as the superblock. io_lock held. */
static int commit_sb(struct bj_md *md)
{
	struct dm_buffer *buf;
	void *data;
	int r;

	if (md->failed)
		return -EIO;
	md->next.generation = md->sb.generation + 1;
	data = dm_bufio_new(md->bufio, md->sb_copy ^ 1, &buf);
	if (IS_ERR(data))
		return md_fail(md, PTR_ERR(data));
	bj_md_sb_encode(&md->next, data);
	dm_bufio_mark_buffer_dirty(buf);
	dm_bufio_release(buf);
	r = write_out(md);
	if (r)
		return r;
	md->sb = md->next;
	md->sb_copy ^= 1;
	WRITE_ONCE(md->commits, md->commits + 1);
	return 0;
}

/* Loading --------------------------------------------------------------- */

/*
 * Read area @a of bitmap @b into @bits (zeroed, of the bitmap's size); count
 * in *@torn_blocks the blocks with a torn copy, taken as all dirty.
 */
static int load_area(struct bj_md *md, struct bj_named_bitmap *b, struct bj_md_area *a,
		     struct bj_bitmap *bits, unsigned int *torn_blocks)
{
	const struct bj_md_entry *e = entry_of(md, b);
	u64 start = bj_md_block_addr(e, a->index, 0, 0);
	struct dm_buffer *buf;
	bool valid[2], torn;
	u64 gen[2], first;
	void *data;
	u32 l, c;

	dm_bufio_prefetch(md->bufio, start, 2ULL * e->nr_blocks);
	for (l = 0; l < e->nr_blocks; l++) {
		torn = false;
		for (c = 0; c < 2; c++) {
			data = dm_bufio_read(md->bufio, bj_md_block_addr(e, a->index, c, l), &buf);
			if (IS_ERR(data))
				return PTR_ERR(data);
			valid[c] = bj_md_block_valid(data, md->sb.uuid, a->epoch, l, b->entry,
						     &gen[c]);
			torn |= bj_md_block_torn(data, md->sb.uuid, a->epoch);
			dm_bufio_release(buf);
		}
		c = bj_md_block_pick(valid[0], gen[0], valid[1], gen[1]);
		a->copy[l] = c;
		if (c != BJ_MD_NO_COPY)
			a->gen[l] = gen[c];
		if (torn) {
			/*
			 * In core only: the torn copy stays until this block's
			 * next write, which goes to it and carries these bits.
			 */
			first = (u64)l * BJ_MD_BITS_PER_BLOCK;
			bitmap_set(bits->bits, first,
				   min_t(u64, BJ_MD_BITS_PER_BLOCK, bits->nr_bits - first));
			(*torn_blocks)++;
			continue;
		}
		if (c == BJ_MD_NO_COPY)
			continue;
		data = dm_bufio_read(md->bufio, bj_md_block_addr(e, a->index, c, l), &buf);
		if (IS_ERR(data))
			return PTR_ERR(data);
		bj_md_block_decode(data, l, bits->bits, bits->nr_bits);
		dm_bufio_release(buf);
	}
	dm_bufio_forget_buffers(md->bufio, start, 2ULL * e->nr_blocks);
	bj_bitmap_recount(bits);
	return 0;
}

static struct bj_named_bitmap *bitmap_new(const struct bj_md_entry *e, u32 entry)
{
	struct bj_named_bitmap *b = kzalloc(sizeof(*b), GFP_KERNEL);

	if (!b)
		return NULL;
	if (bj_bitmap_init(&b->bm, e->nr_bits, GFP_KERNEL))
		goto bad;
	if (area_alloc(&b->area, e->nr_blocks, e->area, e->epoch))
		goto bad_bm;
	strscpy(b->name, e->name, sizeof(b->name));
	b->granule = e->granule;
	b->enabled = e->flags & BJ_MD_BM_ENABLED;
	b->persistent = true;
	b->entry = entry;
	return b;
bad_bm:
	bj_bitmap_free(&b->bm);
bad:
	kfree(b);
	return NULL;
}

void bj_md_bitmap_free(struct bj_named_bitmap *b)
{
	area_free(&b->area);
	area_free(&b->succ_area);
	bj_bitmap_free(&b->succ);
}

/* A persistent bitmap that never made it to the volume's list, or left it. */
static void bitmap_destroy(struct bj_named_bitmap *b)
{
	bj_md_bitmap_free(b);
	bj_bitmap_free(&b->bm);
	kfree(b);
}

/*
 * A persistent bitmap or sync map, entry @i of the committed superblock, as
 * on disk: its area read, torn blocks taken as all set (counted in
 * *@torn). An ERR_PTR when it cannot be allocated (-ENOMEM) or read.
 */
static struct bj_named_bitmap *bitmap_load(struct bj_md *md, u32 i, unsigned int *torn)
{
	struct bj_named_bitmap *b = bitmap_new(&md->sb.bitmaps[i], i);
	int r;

	if (!b)
		return ERR_PTR(-ENOMEM);
	r = load_area(md, b, &b->area, &b->bm, torn);
	if (r) {
		bitmap_destroy(b);
		return ERR_PTR(r);
	}
	return b;
}

static int read_sb(struct bj_md *md, char **error)
{
	struct bj_md_sb *copies = &md->next;	/* scratch for copy 1 */
	const char *why[2];
	struct dm_buffer *buf;
	int r[2], pick;
	void *data;
	u32 c;

	for (c = 0; c < 2; c++) {
		data = dm_bufio_read(md->bufio, c, &buf);
		if (IS_ERR(data)) {
			*error = "Cannot read the metadata device's superblock";
			return PTR_ERR(data);
		}
		r[c] = bj_md_sb_decode(data, c ? copies : &md->sb, &why[c]);
		dm_bufio_release(buf);
	}
	if (r[0] == -ENODATA && r[1] == -ENODATA) {
		*error =
			"Metadata device not formatted: blockjob create --metadata formats it";
		return -EINVAL;
	}
	for (c = 0; c < 2; c++) {
		if (r[c] == -EINVAL) {
			DMERR("metadata superblock copy %u is inconsistent: %s", c, why[c]);
			*error =
				"Metadata superblock inconsistent: see blockjob metadata check";
			return -EINVAL;
		}
	}
	pick = bj_md_sb_pick(r[0], r[0] ? 0 : md->sb.generation, r[1],
			     r[1] ? 0 : copies->generation);
	if (pick < 0) {
		DMERR("metadata superblock: copy 0 %s, copy 1 %s", why[0], why[1]);
		*error =
			"No valid metadata superblock: see blockjob metadata check";
		return -EINVAL;
	}
	if (pick == 1)
		md->sb = *copies;
	md->sb_copy = pick;
	if (r[pick ^ 1] && r[pick ^ 1] != -ENODATA)
		DMWARN("metadata superblock copy %u: %s (commit cut short?); using gen %llu",
		       pick ^ 1, why[pick ^ 1], md->sb.generation);
	return 0;
}

static int load_bitmaps(struct bj_md *md, struct bj_volume *vol, char **error)
{
	struct bj_named_bitmap *b;
	unsigned int torn;
	u32 i;
	int r;

	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++) {
		struct bj_md_entry *e = &md->sb.bitmaps[i];

		torn = 0;

		if (!(e->flags & BJ_MD_BM_USED) || (e->flags & BJ_MD_BM_SYNC))
			continue;	/* the sync map is the mirror table's: bj_md_sync_open() */
		/*
		 * A successor on disk is a backup that did not give its bitmap
		 * back (crash, power loss): the bitmap still has every write
		 * since the previous backup; the successor is dropped (the
		 * next commit records it).
		 */
		e->flags &= ~BJ_MD_BM_SUCCESSOR;
		e->successor_epoch = 0;
		b = bitmap_load(md, i, &torn);
		if (IS_ERR(b)) {
			r = PTR_ERR(b);
			*error = r == -ENOMEM ? "Cannot allocate the persistent bitmaps" :
				 "Cannot read a persistent bitmap from the metadata device";
			return r;
		}
		if (torn)
			DMWARN("%s: bitmap %s: %u blocks with a torn copy: taken as all dirty",
			       dm_device_name(vol->md), b->name, torn);
		list_add_tail(&b->list, &vol->bitmaps);
		vol->nr_bitmaps++;
	}
	return 0;
}

/* Holding writes -------------------------------------------------------- */

/* The bits bio @bio of @bt needs in a bitmap of @granule sectors per bit. */
static void bio_bits(struct bj_target *bt, struct bio *bio, sector_t granule,
		     u64 *first, u64 *count)
{
	sector_t off = dm_target_offset(bt->ti, bio->bi_iter.bi_sector);
	u64 last = div64_u64(off + bio_sectors(bio) - 1, granule);

	*first = div64_u64(off, granule);
	*count = last - *first + 1;
}

/* Every bit @bio needs is durable. vol->lock held. */
static bool durable(struct bj_volume *vol, struct bj_target *bt, struct bio *bio)
{
	struct bj_named_bitmap *b;
	u64 first, count;

	list_for_each_entry(b, &vol->bitmaps, list) {
		if (!b->persistent || !b->enabled)
			continue;
		bio_bits(bt, bio, b->granule, &first, &count);
		if (!bj_bitmap_all_set(&b->bm, first, count))
			return false;
		if (b->succ_active && !bj_bitmap_all_set(&b->succ, first, count))
			return false;
	}
	return true;
}

int bj_md_hold(struct bj_volume *vol, struct bj_target *bt, struct bio *bio)
{
	unsigned long flags;
	int r = 0;

	spin_lock_irqsave(&vol->lock, flags);
	if (!durable(vol, bt, bio)) {
		if (vol->store->failed) {
			r = -EIO;
		} else {
			if (list_empty(&bt->held_node))
				list_add_tail(&bt->held_node, &vol->held_targets);
			bio_list_add(&bt->held, bio);
			r = 1;
		}
	}
	spin_unlock_irqrestore(&vol->lock, flags);
	if (r == 1)
		queue_work(vol->store->wq, &vol->store->commit_work);
	return r;
}

/* The writes of one commit: the tables they came through, with their bios. */
struct held_batch {
	struct list_head targets;	/* bj_target.commit_node */
	sector_t granule;		/* of the bitmap being written */
};

static void add_held_bits(void *block, u32 l, void *ctx)
{
	struct held_batch *hb = ctx;
	struct bj_target *bt;
	struct bio *bio;
	u64 first, count;

	list_for_each_entry(bt, &hb->targets, commit_node)
		bio_list_for_each(bio, &bt->committing) {
			bio_bits(bt, bio, hb->granule, &first, &count);
			bj_md_block_set_bits(block, l, first, count);
		}
}

/* Write the blocks of area @a (bits @bits) that the batch's bios need. */
static int write_held_area(struct bj_md *md, struct bj_named_bitmap *b, struct bj_md_area *a,
			   const struct bj_bitmap *bits, struct held_batch *hb)
{
	u32 l, nr = entry_of(md, b)->nr_blocks;
	struct bj_target *bt;
	struct bio *bio;
	u64 first, count;
	int r;

	hb->granule = b->granule;
	list_for_each_entry(bt, &hb->targets, commit_node)
		bio_list_for_each(bio, &bt->committing) {
			bio_bits(bt, bio, b->granule, &first, &count);
			if (bj_bitmap_all_set(bits, first, count))
				continue;
			bitmap_set(a->touched, div_u64(first, BJ_MD_BITS_PER_BLOCK),
				   div_u64(first + count - 1, BJ_MD_BITS_PER_BLOCK) -
				   div_u64(first, BJ_MD_BITS_PER_BLOCK) + 1);
		}
	for_each_set_bit(l, a->touched, nr) {
		r = write_block(md, b, a, bits, l, add_held_bits, hb);
		if (r)
			return md_fail(md, r);
	}
	return 0;
}

/* Make the bits of every write in @hb durable. io_lock held. */
static int commit_held(struct bj_md *md, struct held_batch *hb)
{
	struct bj_volume *vol = md->vol;
	struct bj_named_bitmap *b;
	struct bj_target *bt;
	struct bio *bio;
	u64 first, count;
	int r;

	/* The bitmap list and flags change only under io_lock: stable here. */
	list_for_each_entry(b, &vol->bitmaps, list) {
		if (!b->persistent || !b->enabled)
			continue;
		r = write_held_area(md, b, &b->area, &b->bm, hb);
		if (!r && b->succ_active)
			r = write_held_area(md, b, &b->succ_area, &b->succ, hb);
		if (r)
			return r;
	}
	r = write_out(md);
	if (r)
		return r;
	WRITE_ONCE(md->commits, md->commits + 1);
	list_for_each_entry(b, &vol->bitmaps, list) {
		if (!b->persistent || !b->enabled)
			continue;
		area_forget(md, b, &b->area);
		if (b->succ_active)
			area_forget(md, b, &b->succ_area);
	}
	/* Durable: now the in-core bits. */
	spin_lock_irq(&vol->lock);
	list_for_each_entry(b, &vol->bitmaps, list) {
		if (!b->persistent || !b->enabled)
			continue;
		area_written(md, b, &b->area);
		if (b->succ_active)
			area_written(md, b, &b->succ_area);
		list_for_each_entry(bt, &hb->targets, commit_node)
			bio_list_for_each(bio, &bt->committing) {
				bio_bits(bt, bio, b->granule, &first, &count);
				bj_bitmap_set_range(&b->bm, first, count);
				if (b->succ_active)
					bj_bitmap_set_range(&b->succ, first, count);
			}
	}
	spin_unlock_irq(&vol->lock);
	return 0;
}

/* Map a held write through its table's mode, as dm would have. */
static void release_bio(struct bj_target *bt, struct bio *bio, int err)
{
	if (err) {
		bio->bi_status = errno_to_blk_status(err);
		bio_endio(bio);
		return;
	}
	switch (bt->ops->map(bt, bio)) {
	case DM_MAPIO_REMAPPED:
		dm_submit_bio_remap(bio, NULL);
		break;
	case DM_MAPIO_KILL:
		bio_io_error(bio);
		break;
	case DM_MAPIO_REQUEUE:
		bio->bi_status = BLK_STS_DM_REQUEUE;
		bio_endio(bio);
		break;
	default:	/* DM_MAPIO_SUBMITTED: the mode has it */
		break;
	}
}

static void commit_work(struct work_struct *work)
{
	struct bj_md *md = container_of(work, struct bj_md, commit_work);
	struct bj_volume *vol = md->vol;
	struct held_batch hb = { .targets = LIST_HEAD_INIT(hb.targets) };
	struct bj_target *bt, *tmp;
	struct bio_list bios;
	struct bio *bio;
	int r;

	mutex_lock(&md->io_lock);
	spin_lock_irq(&vol->lock);
	list_for_each_entry_safe(bt, tmp, &vol->held_targets, held_node) {
		list_del_init(&bt->held_node);
		bt->committing = bt->held;
		bio_list_init(&bt->held);
		list_add_tail(&bt->commit_node, &hb.targets);
		WRITE_ONCE(md->bios, md->bios + bio_list_size(&bt->committing));
	}
	spin_unlock_irq(&vol->lock);
	r = md->failed ? -EIO : 0;
	if (!r && !list_empty(&hb.targets))
		r = commit_held(md, &hb);
	mutex_unlock(&md->io_lock);

	/* Once its last write is released, a table may go away: let go first. */
	list_for_each_entry_safe(bt, tmp, &hb.targets, commit_node) {
		bios = bt->committing;
		bio_list_init(&bt->committing);
		list_del(&bt->commit_node);
		while ((bio = bio_list_pop(&bios)))
			release_bio(bt, bio, r);
	}
}

/* Open and close -------------------------------------------------------- */

int bj_md_open(struct bj_volume *vol, dev_t dev, char **error)
{
	struct bj_md *md;
	int r;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md) {
		*error = "Cannot allocate the metadata store";
		return -ENOMEM;
	}
	md->vol = vol;
	mutex_init(&md->io_lock);
	INIT_WORK(&md->commit_work, commit_work);
	md->bdev = blkdev_get_by_dev(dev, MD_FMODE, NULL);
	if (IS_ERR(md->bdev)) {
		r = PTR_ERR(md->bdev);
		*error = "Cannot open the metadata device";
		goto bad_free;
	}
	if (bdev_nr_sectors(md->bdev) < BJ_MD_FIRST_DATA_BLOCK * BJ_MD_SECTORS_PER_BLOCK) {
		*error = "Metadata device too small: it cannot hold the superblock";
		r = -EINVAL;
		goto bad_put;
	}
	md->bufio = dm_bufio_client_create(md->bdev, BJ_MD_BLOCK_SIZE, 1, 0, NULL, NULL, 0);
	if (IS_ERR(md->bufio)) {
		r = PTR_ERR(md->bufio);
		*error = "Cannot create the metadata block cache";
		goto bad_put;
	}
	md->wq = alloc_workqueue("bj-md-%s", WQ_MEM_RECLAIM, 1, dm_device_name(vol->md));
	if (!md->wq) {
		r = -ENOMEM;
		*error = "Cannot allocate the metadata workqueue";
		goto bad_bufio;
	}
	r = read_sb(md, error);
	if (r)
		goto bad_wq;
	if (md->sb.data_sectors != vol->len) {
		DMERR("metadata device is for a volume of %llu sectors, this table has %llu",
		      md->sb.data_sectors, (unsigned long long)vol->len);
		*error = "Metadata device belongs to a volume of another size: give this volume's";
		r = -EINVAL;
		goto bad_wq;
	}
	if (md->sb.md_blocks > bdev_nr_sectors(md->bdev) / BJ_MD_SECTORS_PER_BLOCK) {
		*error = "Metadata device is smaller than its superblock says (truncated?)";
		r = -EINVAL;
		goto bad_wq;
	}
	r = load_bitmaps(md, vol, error);
	if (r)
		goto bad_bitmaps;
	vol->store = md;
	vol->md_dev = dev;
	return 0;

bad_bitmaps:
	while (!list_empty(&vol->bitmaps)) {
		struct bj_named_bitmap *b = list_first_entry(&vol->bitmaps,
							     struct bj_named_bitmap, list);

		list_del(&b->list);
		bitmap_destroy(b);
	}
	vol->nr_bitmaps = 0;
bad_wq:
	destroy_workqueue(md->wq);
bad_bufio:
	dm_bufio_client_destroy(md->bufio);
bad_put:
	blkdev_put(md->bdev, MD_FMODE);
bad_free:
	kfree(md);
	return r;
}

void bj_md_close(struct bj_volume *vol)
{
	struct bj_md *md = vol->store;

	if (!md)
		return;
	/* No table is left, so no write is held: the worker is idle. */
	WARN_ON(md->sync);
	destroy_workqueue(md->wq);
	dm_bufio_client_destroy(md->bufio);
	blkdev_put(md->bdev, MD_FMODE);
	kfree(md);
	vol->store = NULL;
}

/* Bitmap operations ------------------------------------------------------ */

int bj_md_bitmap_add(struct bj_volume *vol, const char *name, sector_t granule,
		     const char **error)
{
	struct bj_md *md = vol->store;
	struct bj_named_bitmap *b;
	struct bj_md_entry *e;
	u64 nr_bits = bj_regions_for(vol->len, granule);
	u32 i;
	int r;

	if (nr_bits > BJ_BITMAP_MAX_BITS) {
		*error = "bitmap add: granularity too small for this volume";
		return -EINVAL;
	}
	mutex_lock(&md->io_lock);
	md->next = md->sb;
	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++)
		if (!(md->next.bitmaps[i].flags & BJ_MD_BM_USED))
			break;
	if (i == BJ_MD_MAX_BITMAPS) {
		*error = "bitmap add: the metadata device holds 16 bitmaps already";
		r = -ENOSPC;
		goto out;
	}
	e = &md->next.bitmaps[i];
	memset(e, 0, sizeof(*e));
	strscpy(e->name, name, sizeof(e->name));
	e->granule = granule;
	e->nr_bits = nr_bits;
	e->nr_blocks = bj_md_blocks_for(nr_bits);
	e->first_block = bj_md_alloc(&md->next, bj_md_bitmap_footprint(nr_bits));
	if (!e->first_block) {
		DMERR("%s: bitmap add: %llu metadata blocks of 4 KiB needed, no such room",
		      dm_device_name(vol->md), bj_md_bitmap_footprint(nr_bits));
		*error =
			"bitmap add: no room on the metadata device (try a larger granularity)";
		r = -ENOSPC;
		goto out;
	}
	e->flags = BJ_MD_BM_USED | BJ_MD_BM_ENABLED;
	e->epoch = md->next.next_epoch++;
	b = bitmap_new(e, i);
	if (!b) {
		*error = "bitmap add: out of memory";
		r = -ENOMEM;
		goto out;
	}
	r = commit_sb(md);
	if (r) {
		*error = "bitmap add: metadata device write failed";
		bitmap_destroy(b);
		goto out;
	}
	spin_lock_irq(&vol->lock);
	list_add_tail(&b->list, &vol->bitmaps);
	vol->nr_bitmaps++;
	spin_unlock_irq(&vol->lock);
out:
	mutex_unlock(&md->io_lock);
	return r;
}

int bj_md_bitmap_remove(struct bj_volume *vol, struct bj_named_bitmap *b, const char **error)
{
	struct bj_md *md = vol->store;
	int r;

	mutex_lock(&md->io_lock);
	md->next = md->sb;
	memset(&md->next.bitmaps[b->entry], 0, sizeof(md->next.bitmaps[0]));
	r = commit_sb(md);
	if (r) {
		*error = "bitmap remove: metadata device write failed";
	} else {
		spin_lock_irq(&vol->lock);
		list_del(&b->list);
		vol->nr_bitmaps--;
		spin_unlock_irq(&vol->lock);
	}
	mutex_unlock(&md->io_lock);
	return r;
}

int bj_md_bitmap_clear(struct bj_volume *vol, struct bj_named_bitmap *b, const char **error)
{
	struct bj_md *md = vol->store;
	int r;

	mutex_lock(&md->io_lock);
	md->next = md->sb;
	/* A fresh epoch: every block of the area reads as zeroes at once. */
	md->next.bitmaps[b->entry].epoch = md->next.next_epoch++;
	r = commit_sb(md);
	if (r) {
		*error = "bitmap clear: metadata device write failed";
	} else {
		spin_lock_irq(&vol->lock);
		b->area.epoch = md->sb.bitmaps[b->entry].epoch;
		area_reset(&b->area, entry_of(md, b)->nr_blocks);
		bj_bitmap_clear_all(&b->bm);
		spin_unlock_irq(&vol->lock);
	}
	mutex_unlock(&md->io_lock);
	return r;
}

int bj_md_bitmap_enable(struct bj_volume *vol, struct bj_named_bitmap *b, bool enable,
			const char **error)
{
	struct bj_md *md = vol->store;
	int r;

	mutex_lock(&md->io_lock);
	md->next = md->sb;
	if (enable)
		md->next.bitmaps[b->entry].flags |= BJ_MD_BM_ENABLED;
	else
		md->next.bitmaps[b->entry].flags &= ~BJ_MD_BM_ENABLED;
	r = commit_sb(md);
	if (r) {
		*error = "bitmap enable/disable: metadata device write failed";
	} else {
		spin_lock_irq(&vol->lock);
		b->enabled = enable;
		spin_unlock_irq(&vol->lock);
	}
	mutex_unlock(&md->io_lock);
	return r;
}

static void add_src_bits(void *block, u32 l, void *ctx)
{
	const struct bj_bitmap *src = ctx;
	u64 base = (u64)l * BJ_MD_BITS_PER_BLOCK;
	u64 end = min_t(u64, base + BJ_MD_BITS_PER_BLOCK, src->nr_bits);
	u64 s = bj_bitmap_next_set(src, base), z;

	while (s < end) {
		z = min(bj_bitmap_next_clear(src, s), end);
		bj_md_block_set_bits(block, l, s, z - s);
		s = bj_bitmap_next_set(src, z);
	}
}

/* @bits (area @a of @b) |= @src, durably. io_lock held. */
static int or_area(struct bj_md *md, struct bj_named_bitmap *b, struct bj_md_area *a,
		   struct bj_bitmap *bits, const struct bj_bitmap *src)
{
	u32 l, nr = entry_of(md, b)->nr_blocks;
	u64 s, end;
	int r;

	if (src->nr_bits != bits->nr_bits)
		return -EINVAL;
	if (md->failed)
		return -EIO;
	for (l = 0; l < nr; l++) {
		end = min_t(u64, (u64)(l + 1) * BJ_MD_BITS_PER_BLOCK, src->nr_bits);
		for (s = bj_bitmap_next_set(src, (u64)l * BJ_MD_BITS_PER_BLOCK); s < end;
		     s = bj_bitmap_next_set(src, s + 1)) {
			if (!bj_bitmap_test(bits, s)) {
				__set_bit(l, a->touched);
				break;
			}
		}
	}
	for_each_set_bit(l, a->touched, nr) {
		r = write_block(md, b, a, bits, l, add_src_bits, (void *)src);
		if (r)
			return md_fail(md, r);
	}
	r = write_out(md);
	if (r)
		return r;
	WRITE_ONCE(md->commits, md->commits + 1);
	area_forget(md, b, a);
	spin_lock_irq(&md->vol->lock);
	area_written(md, b, a);
	bj_bitmap_or(bits, src);
	spin_unlock_irq(&md->vol->lock);
	return 0;
}

int bj_md_bitmap_or(struct bj_volume *vol, struct bj_named_bitmap *b,
		    const struct bj_bitmap *src, const char **error)
{
	struct bj_md *md = vol->store;
	int r;

	mutex_lock(&md->io_lock);
	r = or_area(md, b, &b->area, &b->bm, src);
	mutex_unlock(&md->io_lock);
	if (r)
		*error = r == -EINVAL ? "bitmap merge: the bitmaps have different sizes" :
			 "bitmap merge: metadata device write failed";
	return r;
}

/* Backups: the successor ------------------------------------------------- */

int bj_md_successor_reserve(struct bj_volume *vol, struct bj_named_bitmap *b)
{
	struct bj_md *md = vol->store;
	const struct bj_md_entry *e;
	struct bj_md_entry *ne;
	int r;

	mutex_lock(&md->io_lock);
	e = entry_of(md, b);
	r = bj_bitmap_init(&b->succ, e->nr_bits, GFP_KERNEL);
	if (r)
		goto out;
	md->next = md->sb;
	ne = &md->next.bitmaps[b->entry];
	/* The epoch is committed before any block carries it: never reused. */
	ne->flags |= BJ_MD_BM_SUCCESSOR;
	ne->successor_epoch = md->next.next_epoch++;
	r = area_alloc(&b->succ_area, e->nr_blocks, e->area ^ 1, ne->successor_epoch);
	if (r)
		goto bad_succ;
	r = commit_sb(md);
	if (r)
		goto bad_area;
	b->succ_reserved = true;
	goto out;
bad_area:
	area_free(&b->succ_area);
bad_succ:
	bj_bitmap_free(&b->succ);
out:
	mutex_unlock(&md->io_lock);
	return r;
}

void bj_md_successor_activate(struct bj_named_bitmap *b)
{
	if (b->succ_reserved)
		b->succ_active = true;
}

void bj_md_successor_release(struct bj_volume *vol, struct bj_named_bitmap *b,
			     const struct bj_bitmap *restore)
{
	struct bj_md *md = vol->store;
	struct bj_md_entry *ne;
	int r = 0;

	if (!b->succ_reserved)
		return;
	mutex_lock(&md->io_lock);
	if (b->succ_active && restore)
		r = or_area(md, b, &b->succ_area, &b->succ, restore);
	md->next = md->sb;
	ne = &md->next.bitmaps[b->entry];
	ne->flags &= ~BJ_MD_BM_SUCCESSOR;
	ne->successor_epoch = 0;
	if (b->succ_active && !r) {
		/* The successor becomes the bitmap: one commit. */
		ne->area = b->succ_area.index;
		ne->epoch = b->succ_area.epoch;
	}
	if (!r)
		r = commit_sb(md);
	spin_lock_irq(&vol->lock);
	if (b->succ_active && !r) {
		swap(b->bm, b->succ);
		swap(b->area, b->succ_area);
	}
	b->succ_active = false;
	b->succ_reserved = false;
	spin_unlock_irq(&vol->lock);
	/* On failure the bitmap (in core and on disk) kept every write. */
	if (r)
		DMERR("%s: bitmap %s: successor not committed (%d): the bitmap keeps every write",
		      dm_device_name(vol->md), b->name, r);
	mutex_unlock(&md->io_lock);
	area_free(&b->succ_area);
	bj_bitmap_free(&b->succ);
}

/* The mirror's out-of-sync map ---------------------------------------- */

/* The superblock entry of the sync map in @sb, or -1. */
static int find_sync(const struct bj_md_sb *sb)
{
	int i;

	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++)
		if ((sb->bitmaps[i].flags & (BJ_MD_BM_USED | BJ_MD_BM_SYNC)) ==
		    (BJ_MD_BM_USED | BJ_MD_BM_SYNC))
			return i;
	return -1;
}

/* Remove the sync map's entry, if any, from the superblock @sb. */
static void drop_sync_entry(struct bj_md_sb *sb)
{
	int i = find_sync(sb);

	if (i >= 0)
		memset(&sb->bitmaps[i], 0, sizeof(sb->bitmaps[i]));
}

static void add_nothing(void *block, u32 l, void *ctx)
{
}

/* Continue from the map an interrupted mirror left. io_lock held. */
static int sync_load(struct bj_md *md, sector_t granule, struct bj_bitmap *bits, char **error)
{
	struct bj_named_bitmap *b;
	unsigned int torn = 0;
	int i = find_sync(&md->sb), r;

	if (i < 0) {
		*error = "resume: no interrupted job on the metadata device (start a new one)";
		return -EINVAL;
	}
	if (md->sb.bitmaps[i].granule != granule) {
		DMERR("%s: resume: the interrupted job's regions are of %llu sectors, not %llu",
		      dm_device_name(md->vol->md), md->sb.bitmaps[i].granule,
		      (unsigned long long)granule);
		*error = "resume: region size differs from the interrupted job's";
		return -EINVAL;
	}
	b = bitmap_load(md, i, &torn);
	if (IS_ERR(b)) {
		r = PTR_ERR(b);
		*error = r == -ENOMEM ? "Cannot allocate the job's sync map" :
			 "Cannot read the job's sync map from the metadata device";
		return r;
	}
	if (torn)
		DMWARN("%s: sync map: %u blocks with a torn copy: copied again whole",
		       dm_device_name(md->vol->md), torn);
	bj_bitmap_copy(bits, &b->bm);
	md->sync = b;
	return 0;
}

/*
 * A new map holding @bits: its blocks are written (under an epoch no block
 * carries yet) and flushed before the superblock commit that makes the entry
 * valid, so that a crash never leaves a map that says less. io_lock held.
 */
static int sync_create(struct bj_md *md, sector_t granule, const struct bj_bitmap *bits,
		       char **error)
{
	u64 nr_bits = bits->nr_bits, epoch;
	struct bj_named_bitmap *b;
	struct bj_md_entry *e;
	int i, r;
	u32 l;

	if (md->failed) {
		*error = "The metadata device failed: no mirror can keep its map there";
		return -EIO;
	}
	/*
	 * First commit: an older map (no record commit dropped it) goes, and
	 * the new map's epoch is reserved, so that no block written below can
	 * ever pass for a later entry's.
	 */
	md->next = md->sb;
	drop_sync_entry(&md->next);
	epoch = md->next.next_epoch++;
	r = commit_sb(md);
	if (r)
		goto bad_write;
	md->next = md->sb;
	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++)
		if (!(md->next.bitmaps[i].flags & BJ_MD_BM_USED))
			break;
	if (i == BJ_MD_MAX_BITMAPS) {
		*error = "The metadata device holds 16 bitmaps: remove one for the sync map";
		return -ENOSPC;
	}
	e = &md->next.bitmaps[i];
	memset(e, 0, sizeof(*e));
	strscpy(e->name, BJ_MD_SYNC_NAME, sizeof(e->name));
	e->granule = granule;
	e->nr_bits = nr_bits;
	e->nr_blocks = bj_md_blocks_for(nr_bits);
	e->first_block = bj_md_alloc(&md->next, bj_md_bitmap_footprint(nr_bits));
	if (!e->first_block) {
		DMERR("%s: mirror: its sync map needs %llu metadata blocks of 4 KiB: no room",
		      dm_device_name(md->vol->md), bj_md_bitmap_footprint(nr_bits));
		*error = "No room on the metadata device for the mirror's sync map";
		return -ENOSPC;
	}
	e->flags = BJ_MD_BM_USED | BJ_MD_BM_SYNC;
	e->epoch = epoch;
	b = bitmap_new(e, i);
	if (!b) {
		*error = "Cannot allocate the mirror's sync map";
		return -ENOMEM;
	}
	for (l = 0; l < e->nr_blocks; l++) {
		r = write_block_at(md, bj_md_block_addr(e, b->area.index, 0, l), b, &b->area, bits,
				   l, add_nothing, NULL);
		if (r) {
			md_fail(md, r);
			goto bad_b;
		}
	}
	r = write_out(md);
	if (!r)
		r = commit_sb(md);
	if (r)
		goto bad_b;
	bitmap_fill(b->area.touched, e->nr_blocks);
	area_forget(md, b, &b->area);
	area_written(md, b, &b->area);
	bj_bitmap_copy(&b->bm, bits);
	md->sync = b;
	return 0;
bad_b:
	bitmap_destroy(b);
bad_write:
	*error = "Cannot write the mirror's sync map: metadata device write failed";
	return r;
}

int bj_md_sync_open(struct bj_volume *vol, struct bj_target *bt, sector_t granule, bool resume,
		    struct bj_bitmap *bits, char **error)
{
	struct bj_md *md = vol->store;
	int r;

	mutex_lock(&md->io_lock);
	if (md->sync_owner) {
		*error = "Another job's table on this volume holds its sync map";
		r = -EBUSY;
		goto out;
	}
	r = resume ? sync_load(md, granule, bits, error) : sync_create(md, granule, bits, error);
	if (!r)
		md->sync_owner = bt;
out:
	mutex_unlock(&md->io_lock);
	return r;
}

void bj_md_sync_close(struct bj_volume *vol, struct bj_target *bt)
{
	struct bj_md *md = vol->store;

	mutex_lock(&md->io_lock);
	if (md->sync_owner == bt) {
		if (md->sync)
			bitmap_destroy(md->sync);
		md->sync = NULL;
		md->sync_owner = NULL;
	}
	mutex_unlock(&md->io_lock);
}

/* Commit the superblock without the sync map, then forget it. io_lock held. */
static int sync_remove(struct bj_md *md)
{
	int r;

	md->next = md->sb;
	drop_sync_entry(&md->next);
	r = commit_sb(md);
	if (r)
		return r;
	bitmap_destroy(md->sync);
	md->sync = NULL;
	return 0;
}

int bj_md_sync_drop(struct bj_volume *vol, struct bj_target *bt)
{
	struct bj_md *md = vol->store;
	int r = 0;

	mutex_lock(&md->io_lock);
	if (md->sync_owner == bt && md->sync)
		r = sync_remove(md);
	mutex_unlock(&md->io_lock);
	return r;
}

void bj_md_sync_yield(struct bj_volume *vol, struct bj_target *bt)
{
	struct bj_md *md = vol->store;
	struct bj_target *owner;
	int r;

	mutex_lock(&md->io_lock);
	owner = md->sync_owner;
	if (!owner || owner == bt || owner->ops != &bj_backup_ops || !md->sync ||
	    !md->sync->bm.nr_set)
		goto out;
	r = sync_remove(md);
	if (r)	/* The volume must not stay suspended for it: said, and gone on. */
		DMERR("%s: cannot drop an unfinished backup's sync map (%d): never resume it",
		      dm_device_name(vol->md), r);
	else
		DMINFO("%s: an unfinished backup's table is replaced: it cannot be resumed",
		       dm_device_name(vol->md));
out:
	mutex_unlock(&md->io_lock);
}

bool bj_md_sync_held(struct bj_volume *vol, struct bj_target *bt)
{
	struct bj_md *md = vol->store;
	bool held;

	mutex_lock(&md->io_lock);
	held = md->sync_owner == bt && md->sync;
	mutex_unlock(&md->io_lock);
	return held;
}

/* Does block @l of @a differ from @b? Blocks are whole words of both. */
static bool block_differs(const struct bj_bitmap *a, const struct bj_bitmap *b, u32 l)
{
	u64 first = (u64)l * (BJ_MD_BITS_PER_BLOCK / BITS_PER_LONG);
	u64 end = min_t(u64, first + BJ_MD_BITS_PER_BLOCK / BITS_PER_LONG,
			BITS_TO_LONGS(a->nr_bits));

	return memcmp(a->bits + first, b->bits + first, (end - first) * sizeof(long)) != 0;
}

int bj_md_sync_write(struct bj_volume *vol, const struct bj_bitmap *bits)
{
	struct bj_md *md = vol->store;
	struct bj_named_bitmap *b;
	u32 l, nr;
	int r = 0;

	mutex_lock(&md->io_lock);
	b = md->sync;
	if (md->failed || !b || bits->nr_bits != b->bm.nr_bits) {
		r = -EIO;
		goto out;
	}
	nr = entry_of(md, b)->nr_blocks;
	for (l = 0; l < nr; l++)
		if (block_differs(bits, &b->bm, l))
			__set_bit(l, b->area.touched);
	if (bitmap_empty(b->area.touched, nr))
		goto out;
	for_each_set_bit(l, b->area.touched, nr) {
		r = write_block(md, b, &b->area, bits, l, add_nothing, NULL);
		if (r) {
			md_fail(md, r);
			goto out;
		}
	}
	r = write_out(md);
	if (r)
		goto out;
	WRITE_ONCE(md->commits, md->commits + 1);
	area_forget(md, b, &b->area);
	area_written(md, b, &b->area);
	bj_bitmap_copy(&b->bm, bits);
out:
	mutex_unlock(&md->io_lock);
	return r;
}

int bj_md_set_record(struct bj_volume *vol, const char *text, const char **error)
{
	struct bj_md *md = vol->store;
	int r;

	mutex_lock(&md->io_lock);
	if (md->sync_owner) {
		*error = "metadata record: a job's table holds the volume's sync map";
		r = -EBUSY;
		goto out;
	}
	md->next = md->sb;
	strscpy_pad(md->next.record, text, sizeof(md->next.record));
	/* The record names the volume's home now: a pivot's flag is spent. */
	md->next.flags &= ~BJ_MD_SB_PIVOTED;
	/*
	 * ... and the job it names is another one, or none: the sync map of
	 * the mirror it named before must never be resumed by the next.
	 */
	drop_sync_entry(&md->next);
	r = commit_sb(md);
	if (r)
		*error = "metadata record: metadata device write failed";
out:
	mutex_unlock(&md->io_lock);
	return r;
}

int bj_md_set_pivoted(struct bj_volume *vol, bool pivoted)
{
	struct bj_md *md = vol->store;
	int r = 0;

	mutex_lock(&md->io_lock);
	if (!!(md->sb.flags & BJ_MD_SB_PIVOTED) != pivoted) {
		md->next = md->sb;
		if (pivoted)
			md->next.flags |= BJ_MD_SB_PIVOTED;
		else
			md->next.flags &= ~BJ_MD_SB_PIVOTED;
		r = commit_sb(md);
	}
	mutex_unlock(&md->io_lock);
	if (r)
		DMERR("%s: could not %s the pivot on the metadata device (%d)",
		      dm_device_name(vol->md), pivoted ? "record" : "undo", r);
	return r;
}

void bj_md_stats(struct bj_volume *vol, char *result, unsigned int maxlen)
{
	struct bj_md *md = vol->store;
	unsigned int sz = 0;
	bool failed;

	spin_lock_irq(&vol->lock);
	failed = md->failed;
	spin_unlock_irq(&vol->lock);
	DMEMIT("%llu %llu %llu %s\n", READ_ONCE(md->commits), READ_ONCE(md->bios),
	       READ_ONCE(md->blocks), failed ? "failed" : "ok");
}
