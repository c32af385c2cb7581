// SPDX-License-Identifier: GPL-2.0
/*
 * Mirror mode: copy a volume in use to a destination, keep the copy in step
 * with new writes, then pivot to it (complete) or stop (cancel).
 *
 * Regions
 *   The volume is cut into regions of args.granule sectors. @dirty holds
 *   the regions whose destination copy is stale. A region with guest writes
 *   or a copy in flight has an entry in @active (struct mirror_region);
 *   idle regions have none, so the hash stays as small as the I/O depth.
 *
 * Ordering (no copy ever puts older data over a newer guest write)
 *   - The copier only picks a dirty region with no write in flight, marks
 *     it copying and clears its dirty bit before reading the source.
 *   - A write to a region being copied: in write_blocking mode it waits
 *     for the copy, then goes to both devices; in background mode it goes
 *     to the source only and marks the region "redirty", so the copy's
 *     completion leaves the region dirty and it is copied again.
 *   - A write to a clean region goes to both devices (write duplication)
 *     and completes when both are done. A write to a dirty region goes to
 *     the source only (background) or to both (write_blocking); either way
 *     the region stays dirty, unless write_blocking wrote all of it.
 *   - In write_blocking mode a dirty region that the copier finds busy with
 *     writes is marked copy_wanted: new writes to it wait until it has been
 *     copied, so a steady writer cannot starve the copy. The mark stays
 *     (its entry is kept) while the region is dirty and the copier runs;
 *     a pause, a cancel, a failure or a suspend drops every mark and lets
 *     the writes held for it go, so nothing waits for a copier that stopped.
 *   - Writes that overlap a write in flight on the same region wait for it,
 *     so both devices apply overlapping writes in the same order.
 *   - A destination write failure never fails the guest's write: the region
 *     becomes dirty again and the job's on_target_error policy applies.
 *
 * Writes are split at region boundaries (dm_accept_partial_bio), so a bio
 * touches one region. Flushes go to both devices (num_flush_bios = 2).
 *
 * With a metadata device the regions that may differ are also durable in
 * the volume's sync map (bj_md_sync_*(), BJ_MD_BM_SYNC in
 * include/uapi/linux/dm-blockjob-md.h), so that a mirror interrupted by a
 * crash continues (table feature "resume") instead of starting over:
 *   - @marked is the in-core image of the durable map, never more: a bit
 *     is set after the commit that wrote it and cleared before the commit
 *     that clears it. Every region in @dirty is marked.
 *   - A write (also after a cancel, also to a dirty region) is routed only
 *     into a marked region; otherwise it waits on @mark_wait while
 *     sync_work() makes the region's bit durable, then is mapped again.
 *   - A clear pass (clear_work, at most one a second) unmarks the regions
 *     that are clean, idle and were not written since the last pass, flushes
 *     both devices, then commits the map without them; if it kept regions
 *     only because they were written, it queues the next. It runs only while
 *     writes are duplicated: after a cancel or a failure every region
 *     written stays marked, as the destination did not take the write.
 *
 * Cancel stops write duplication at once: after ready the destination keeps
 * the volume as of the cancel (flushed at the next suspend); before ready it
 * is flagged dest_invalid.
 *
 * States: running until every region is clean; then the destination is
 * flushed and the job is ready (from then on every write reaches both
 * devices before it completes). "complete" marks the job completing; the
 * suspend that precedes the pivot reload drains I/O, then postsuspend
 * re-checks that no region is dirty and flushes the destination before the
 * job concludes as completed. Only then does userspace resume the
 * passthrough table on the destination. That conclusion holds only for the
 * table that replaces this one: if this table is resumed instead (the
 * suspend was not the pivot's, or the pivot was abandoned), nothing was
 * pivoted and the job is ready again, tracking every write as before.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/hashtable.h>
#include <linux/mempool.h>
#include <linux/slab.h>

#include "bj-bitmap.h"
#include "bj-copier.h"
#include "bj-md.h"
#include "bj-target.h"
#include "bj-volume.h"

#define MIRROR_HASH_BITS	8
#define MIRROR_MIN_REGIONS	64

struct mirror_region {
	struct hlist_node node;		/* in bj_mirror.active */
	u64 nr;
	unsigned int writes;		/* guest writes in flight */
	bool copying;			/* a background or urgent copy is in flight */
	bool redirty;			/* written while copying: copy it again */
	bool copy_wanted;		/* write_blocking: the copier waits for it */
	struct list_head inflight;	/* struct mirror_io of writes in flight */
	struct bio_list waiting;	/* writes waiting for this region */
};

/* Per-bio data. */
struct mirror_io {
	struct list_head list;		/* in mirror_region.inflight */
	struct mirror_region *region;	/* NULL: not tracked */
	sector_t start, len;		/* target-relative sectors */
	blk_status_t dst_status;	/* status of the destination clone */
	bool duplicated;
};

struct bj_mirror {
	struct bj_target *bt;

	/*
	 * @lock protects @dirty, @active and every mirror_region, @deferred
	 * and the flags below. Taken from map (process context) and from bio
	 * completion (softirq), hence the irqsave variants.
	 */
	spinlock_t lock;
	struct bj_bitmap dirty;
	DECLARE_HASHTABLE(active, MIRROR_HASH_BITS);
	u64 cursor;			/* where the copier looks next */
	struct bio_list deferred;	/* writes to map again from @work */
	enum bj_copy_mode copy_mode;
	bool mirroring;			/* duplicate writes to the destination */
	bool completing;		/* "complete" received: pivot at postsuspend */
	bool sync_pending;		/* @work must try to become ready */
	bool suspended;
	unsigned int copying;		/* regions with a copy in flight */
	u64 dst_errors;			/* destination errors since the last ready */

	/*
	 * The durable sync map (see the top of this file), with a metadata
	 * device only. Under @lock: @marked, @mark_pending (regions writes
	 * wait for), @written (since the last clear pass), @mark_wait,
	 * @sync_failed. @want, @committing and @clearing are sync_commit()'s,
	 * under @sync_mutex, which serializes the commits.
	 */
	bool persistent;
	bool sync_failed;		/* a map commit failed: unmarked writes fail */
	struct bj_bitmap marked, mark_pending, written;
	struct bio_list mark_wait;
	struct mutex sync_mutex;	/* one sync_commit() at a time */
	struct bj_bitmap want, committing, clearing;
	struct work_struct sync_work;
	struct delayed_work clear_work;

	mempool_t region_pool;
	struct bio_set bs;		/* destination clones */
	struct bj_copier copier;
	struct workqueue_struct *wq;
	struct work_struct work;	/* deferred writes, readiness */
};

static struct kmem_cache *mirror_region_cache;

static struct bj_mirror *to_mirror(struct bj_target *bt)
{
	return bt->mode;
}

/* Regions ------------------------------------------------------------- */

static u64 region_of(struct bj_mirror *m, sector_t offset)
{
	return div64_u64(offset, m->bt->args.granule);
}

/* m->lock held. */
static struct mirror_region *find_region(struct bj_mirror *m, u64 nr)
{
	struct mirror_region *r;

	hash_for_each_possible(m->active, r, node, nr)
		if (r->nr == nr)
			return r;
	return NULL;
}

/*
 * m->lock held. A new entry is *@spare if the caller allocated one (it is
 * then consumed), else GFP_ATOMIC from the mempool, which keeps a reserve.
 */
static struct mirror_region *get_region(struct bj_mirror *m, u64 nr,
					struct mirror_region **spare)
{
	struct mirror_region *r = find_region(m, nr);

	if (r)
		return r;
	if (spare && *spare) {
		r = *spare;
		*spare = NULL;
	} else {
		r = mempool_alloc(&m->region_pool, GFP_ATOMIC);
	}
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->nr = nr;
	INIT_LIST_HEAD(&r->inflight);
	bio_list_init(&r->waiting);
	hash_add(m->active, &r->node, nr);
	return r;
}

/* m->lock held: free an entry nobody uses any more. */
static void put_region(struct bj_mirror *m, struct mirror_region *r)
{
	if (r->writes || r->copying || r->copy_wanted || !bio_list_empty(&r->waiting))
		return;
	hash_del(&r->node);
	mempool_free(r, &m->region_pool);
}

/* m->lock held: move the waiting writes of @r to the deferred list. */
static bool release_waiting(struct bj_mirror *m, struct mirror_region *r)
{
	return bj_move_bios(&m->deferred, &r->waiting);
}

/*
 * m->lock held: does region @r (number @nr) hold new writes back for the
 * copier? Only while it is wanted, still dirty, and the copier runs; a
 * stale mark is dropped here.
 */
static bool held_for_copy(struct bj_mirror *m, struct mirror_region *r, u64 nr)
{
	if (!r->copy_wanted)
		return false;
	if (m->copy_mode == BJ_COPY_WRITE_BLOCKING && !m->suspended &&
	    READ_ONCE(m->bt->job.state) == DM_BLOCKJOB_STATE_RUNNING &&
	    bj_bitmap_test(&m->dirty, nr))
		return true;
	r->copy_wanted = false;
	return false;
}

/*
 * The copier stops (pause, cancel, failure, suspend): drop every copy_wanted
 * mark and let the writes held for it be mapped again. Those waiting for a
 * copy in flight stay: its completion releases them.
 */
static void release_wanted(struct bj_mirror *m)
{
	struct mirror_region *r;
	struct hlist_node *tmp;
	unsigned long flags;
	bool kick = false;
	int bkt;

	spin_lock_irqsave(&m->lock, flags);
	hash_for_each_safe(m->active, bkt, tmp, r, node) {
		if (!r->copy_wanted)
			continue;
		r->copy_wanted = false;
		if (!r->copying)
			kick |= release_waiting(m, r);
		put_region(m, r);
	}
	spin_unlock_irqrestore(&m->lock, flags);
	if (kick)
		queue_work(m->wq, &m->work);
}

/* m->lock held: mark @nr dirty again; leaves ready if it was. */
static void redirty_locked(struct bj_mirror *m, u64 nr)
{
	struct bj_target *bt = m->bt;

	if (bj_bitmap_set_range(&m->dirty, nr, 1)) {
		spin_lock(&bt->job.lock);
		if (bt->job.done >= (u64)bj_region_len(&m->copier, nr) << SECTOR_SHIFT)
			bt->job.done -= (u64)bj_region_len(&m->copier, nr) << SECTOR_SHIFT;
		if (bt->job.state == DM_BLOCKJOB_STATE_READY ||
		    bt->job.state == DM_BLOCKJOB_STATE_STANDBY)
			bj_job_apply_locked(bt, BJ_EV_UNSYNCED);
		spin_unlock(&bt->job.lock);
	}
}

/*
 * Does the copier run in job state @state? In running it copies the dirty
 * regions; in ready it idles, but must already be running when a region
 * becomes dirty again (a failed write to either device), because that
 * moves the job back to running from end_io, where nothing else would
 * start it. Paused, standby and concluded jobs copy nothing.
 */
static bool copier_wanted(enum dm_blockjob_state state)
{
	return state == DM_BLOCKJOB_STATE_RUNNING || state == DM_BLOCKJOB_STATE_READY;
}

#define MIRROR_CLEAR_DELAY	HZ	/* a clear pass at most once a second */

/* A region changed its state: have a clear pass in a while. Any context. */
static void clear_later(struct bj_mirror *m)
{
	if (m->persistent)
		queue_delayed_work(m->wq, &m->clear_work, MIRROR_CLEAR_DELAY);
}

/* Errors and policies --------------------------------------------------- */

/*
 * Apply an error policy after an error of kind @where. Called without
 * m->lock, in process context or softirq.
 */
static void apply_policy(struct bj_mirror *m, enum bj_policy policy, int err, const char *where)
{
	struct bj_target *bt = m->bt;
	unsigned long flags;

	bj_job_error(bt, err, where);
	switch (policy) {
	case BJ_POLICY_REPORT:
		spin_lock_irqsave(&m->lock, flags);
		spin_lock(&bt->job.lock);
		if (!bj_job_apply_locked(bt, BJ_EV_FAIL)) {
			bt->job.dest_invalid = true;
			m->mirroring = false;
		}
		spin_unlock(&bt->job.lock);
		spin_unlock_irqrestore(&m->lock, flags);
		bj_copier_pause(&m->copier);
		release_wanted(m);
		break;
	case BJ_POLICY_STOP:
		spin_lock_irqsave(&bt->job.lock, flags);
		if (!bj_job_apply_locked(bt, BJ_EV_PAUSE))
			bt->job.io_error_pending = true;
		spin_unlock_irqrestore(&bt->job.lock, flags);
		bj_copier_pause(&m->copier);
		release_wanted(m);
		break;
	case BJ_POLICY_IGNORE:
		break;
	}
}

/*
 * The destination failed a duplicated write or a flush. After a cancel
 * (after ready) it was to be a copy as of the cancel: it no longer is.
 * Any context.
 */
static void dest_write_failed(struct bj_mirror *m)
{
	struct bj_target *bt = m->bt;
	unsigned long flags;

	spin_lock_irqsave(&bt->job.lock, flags);
	if (bt->job.state == DM_BLOCKJOB_STATE_CONCLUDED)
		bt->job.dest_invalid = true;
	spin_unlock_irqrestore(&bt->job.lock, flags);
}

/* Guest writes ----------------------------------------------------------- */

static void clone_endio(struct bio *clone)
{
	struct bio *bio = clone->bi_private;
	struct mirror_io *io = dm_per_bio_data(bio, sizeof(struct mirror_io));

	io->dst_status = clone->bi_status;
	bio_put(clone);
	bio_endio(bio);
}

/* Send a copy of @bio to the destination; @bio completes after both. */
static void duplicate(struct bj_mirror *m, struct bio *bio, sector_t offset)
{
	struct bj_target *bt = m->bt;
	struct bio *clone;

	clone = bio_alloc_clone(bt->dst->bdev, bio, GFP_NOIO, &m->bs);
	clone->bi_iter.bi_sector = bt->args.dst_offset + offset;
	clone->bi_end_io = clone_endio;
	clone->bi_private = bio;
	bio_inc_remaining(bio);
	submit_bio_noacct(clone);
}

static bool overlaps_inflight(struct mirror_region *r, sector_t start, sector_t len)
{
	struct mirror_io *o;

	list_for_each_entry(o, &r->inflight, list)
		if (start < o->start + o->len && o->start < start + len)
			return true;
	return false;
}

enum write_route {
	ROUTE_SOURCE,		/* source only */
	ROUTE_BOTH,		/* source and destination */
	ROUTE_WAIT,		/* queued on the region; mapped again later */
	ROUTE_RETRY,		/* no memory: requeue */
	ROUTE_MARK,		/* queued until its region is durably marked */
	ROUTE_FAIL,		/* the sync map cannot be written: fail it */
};

/*
 * Decide where a write of [@offset, @offset + @len) goes and track it.
 * m->lock held.
 */
static enum write_route route_write(struct bj_mirror *m, struct bio *bio,
				    struct mirror_io *io, sector_t offset, sector_t len,
				    struct mirror_region **spare)
{
	u64 nr = region_of(m, offset);
	struct mirror_region *r;
	bool dirty;

	io->region = NULL;
	io->duplicated = false;
	if (m->persistent) {
		if (!bj_bitmap_test(&m->marked, nr)) {
			if (m->sync_failed)
				return ROUTE_FAIL;
			bj_bitmap_set_range(&m->mark_pending, nr, 1);
			bio_list_add(&m->mark_wait, bio);
			return ROUTE_MARK;
		}
		bj_bitmap_set_range(&m->written, nr, 1);
	}
	if (!m->mirroring)
		return ROUTE_SOURCE;

	r = get_region(m, nr, spare);
	if (!r)
		return ROUTE_RETRY;
	if ((r->copying && m->copy_mode == BJ_COPY_WRITE_BLOCKING) ||
	    held_for_copy(m, r, nr) || overlaps_inflight(r, offset, len)) {
		bio_list_add(&r->waiting, bio);
		return ROUTE_WAIT;
	}
	if (r->copying)
		r->redirty = true;	/* background: copy again afterwards */

	r->writes++;
	io->region = r;
	io->start = offset;
	io->len = len;
	list_add_tail(&io->list, &r->inflight);

	dirty = r->copying || bj_bitmap_test(&m->dirty, nr);
	if (dirty && m->copy_mode == BJ_COPY_BACKGROUND)
		return ROUTE_SOURCE;
	io->duplicated = true;
	return ROUTE_BOTH;
}

/* Map a write (or discard, write-zeroes) of one region. */
static int mirror_write(struct bj_mirror *m, struct bio *bio, bool from_map)
{
	struct bj_target *bt = m->bt;
	struct mirror_io *io = dm_per_bio_data(bio, sizeof(struct mirror_io));
	sector_t offset = dm_target_offset(bt->ti, bio->bi_iter.bi_sector);
	struct mirror_region *spare = NULL;
	enum write_route route;
	unsigned long flags;

	/*
	 * From the work item, which may sleep: an entry from the mempool's
	 * reserve (waiting for one if need be), so that a write mapped again
	 * never finds the pool empty and loops.
	 */
	if (!from_map)
		spare = mempool_alloc(&m->region_pool, GFP_NOIO);
	spin_lock_irqsave(&m->lock, flags);
	route = route_write(m, bio, io, offset, bio_sectors(bio), &spare);
	spin_unlock_irqrestore(&m->lock, flags);
	if (spare)
		mempool_free(spare, &m->region_pool);

	switch (route) {
	case ROUTE_WAIT:
		return DM_MAPIO_SUBMITTED;
	case ROUTE_MARK:
		queue_work(m->wq, &m->sync_work);
		return DM_MAPIO_SUBMITTED;
	case ROUTE_FAIL:
		if (from_map)
			return DM_MAPIO_KILL;
		bio_io_error(bio);
		return DM_MAPIO_SUBMITTED;
	case ROUTE_RETRY:
		/* The region pool is empty: map it again from the work item. */
		spin_lock_irqsave(&m->lock, flags);
		bio_list_add(&m->deferred, bio);
		spin_unlock_irqrestore(&m->lock, flags);
		queue_work(m->wq, &m->work);
		return DM_MAPIO_SUBMITTED;
	case ROUTE_BOTH:
		duplicate(m, bio, offset);
		break;
	case ROUTE_SOURCE:
		break;
	}
	bio_set_dev(bio, bt->src->bdev);
	bio->bi_iter.bi_sector = bt->args.src_offset + offset;
	if (from_map)
		return DM_MAPIO_REMAPPED;
	dm_submit_bio_remap(bio, NULL);
	return DM_MAPIO_SUBMITTED;
}

static int mirror_map(struct bj_target *bt, struct bio *bio)
{
	struct bj_mirror *m = to_mirror(bt);
	struct mirror_io *io = dm_per_bio_data(bio, sizeof(struct mirror_io));
	sector_t offset, granule = bt->args.granule, left;

	io->region = NULL;
	io->duplicated = false;
	io->dst_status = BLK_STS_OK;

	if (bio->bi_opf & REQ_PREFLUSH) {
		/* Empty flush: bio 0 to the source, bio 1 to the destination. */
		if (dm_bio_get_target_bio_nr(bio) == 0) {
			bio_set_dev(bio, bt->src->bdev);
			return DM_MAPIO_REMAPPED;
		}
		/*
		 * Once writes are no longer duplicated (cancel, a failure
		 * under "report"), the destination holds nothing this flush
		 * must make durable, and a dead destination (the usual reason
		 * to cancel) must not hold up the guest's flush.
		 */
		if (!READ_ONCE(m->mirroring)) {
			bio_endio(bio);
			return DM_MAPIO_SUBMITTED;
		}
		bio_set_dev(bio, bt->dst->bdev);
		return DM_MAPIO_REMAPPED;
	}

	offset = dm_target_offset(bt->ti, bio->bi_iter.bi_sector);
	if (!op_is_write(bio_op(bio)) || !bio_sectors(bio)) {
		bio_set_dev(bio, bt->src->bdev);
		bio->bi_iter.bi_sector = bt->args.src_offset + offset;
		return DM_MAPIO_REMAPPED;
	}

	left = granule - (offset & (granule - 1));
	if (bio_sectors(bio) > left)
		dm_accept_partial_bio(bio, left);
	bj_volume_mark(bt->vol, offset, bio_sectors(bio));
	return mirror_write(m, bio, true);
}

/* Did this write cover its whole region? */
static bool covers_region(struct bj_mirror *m, struct mirror_io *io)
{
	u64 nr = region_of(m, io->start);

	return io->start == bj_region_start(&m->copier, nr) &&
	       io->len == bj_region_len(&m->copier, nr);
}

static int mirror_end_io(struct bj_target *bt, struct bio *bio, blk_status_t *error)
{
	struct bj_mirror *m = to_mirror(bt);
	struct mirror_io *io = dm_per_bio_data(bio, sizeof(struct mirror_io));
	struct mirror_region *r = io->region;
	bool kick = false, dst_failed = false, wake = false;
	unsigned long flags;

	if ((bio->bi_opf & REQ_PREFLUSH) && dm_bio_get_target_bio_nr(bio) == 1) {
		/* A destination flush failure is the job's problem, not the guest's. */
		if (*error) {
			int err = blk_status_to_errno(*error);

			*error = BLK_STS_OK;
			dest_write_failed(m);
			apply_policy(m, bt->args.on_target_error, err, "target-flush");
		}
		return DM_ENDIO_DONE;
	}
	if (!r)
		return DM_ENDIO_DONE;

	spin_lock_irqsave(&m->lock, flags);
	list_del(&io->list);
	r->writes--;
	if (*error) {
		/* The source did not take it: the copy may now differ. */
		redirty_locked(m, r->nr);
		kick = true;
	} else if (io->duplicated && io->dst_status) {
		redirty_locked(m, r->nr);
		m->dst_errors++;
		dst_failed = true;
		kick = true;
	} else if (io->duplicated && !r->copying && covers_region(m, io) &&
		   bj_bitmap_clear_range(&m->dirty, r->nr, 1)) {
		/* write_blocking wrote the whole region to both devices. */
		bj_job_progress(bt, (u64)io->len << SECTOR_SHIFT);
		kick = true;
	}
	if (!r->writes && bj_bitmap_test(&m->dirty, r->nr))
		kick = true;	/* the copier may now take this region */
	wake = release_waiting(m, r);
	put_region(m, r);
	if (!m->dirty.nr_set)
		m->sync_pending = true;
	spin_unlock_irqrestore(&m->lock, flags);

	if (dst_failed) {
		dest_write_failed(m);
		apply_policy(m, bt->args.on_target_error, blk_status_to_errno(io->dst_status),
			     "target-write");
	}
	if (wake || m->sync_pending)
		queue_work(m->wq, &m->work);
	if (kick)
		bj_copier_kick(&m->copier);
	clear_later(m);
	return DM_ENDIO_DONE;
}

/* The copier -------------------------------------------------------------- */

/* m->lock held: can the copier take dirty region @nr now? Marks it copying. */
static bool take_region(struct bj_mirror *m, u64 nr)
{
	struct mirror_region *r = find_region(m, nr);

	if (r && (r->writes || r->copying))
		return false;
	r = get_region(m, nr, NULL);
	if (!r)
		return false;
	r->copying = true;
	r->redirty = false;
	r->copy_wanted = false;
	m->copying++;
	bj_bitmap_clear_range(&m->dirty, nr, 1);
	return true;
}

static u64 mirror_next(struct bj_copier *c, u64 *region, u64 max)
{
	struct bj_mirror *m = c->owner;
	struct mirror_region *r;
	bool wrapped = false;
	unsigned long flags;
	u64 nr, start, count = 0;

	spin_lock_irqsave(&m->lock, flags);
	if (!m->mirroring || m->suspended)
		goto out;
	start = m->cursor;
	nr = bj_bitmap_next_set(&m->dirty, start);
	for (;;) {
		if (nr >= m->dirty.nr_bits) {
			if (wrapped || !start)
				break;
			wrapped = true;
			nr = bj_bitmap_next_set(&m->dirty, 0);
			continue;
		}
		if (wrapped && nr >= start)
			break;
		r = find_region(m, nr);
		if (r && r->writes && !r->copying && m->copy_mode == BJ_COPY_WRITE_BLOCKING) {
			/*
			 * Writes keep this region busy: hold new ones back until
			 * it is copied, or a steady writer could starve the copy.
			 */
			r->copy_wanted = true;
		}
		if (take_region(m, nr)) {
			/* Extend the run over the dirty, idle regions that follow. */
			*region = nr;
			count = 1;
			while (count < max && nr + count < m->dirty.nr_bits &&
			       bj_bitmap_test(&m->dirty, nr + count) &&
			       take_region(m, nr + count))
				count++;
			m->cursor = nr + count;
			break;
		}
		nr = bj_bitmap_next_set(&m->dirty, nr + 1);
	}
out:
	spin_unlock_irqrestore(&m->lock, flags);
	return count;
}

static void mirror_copied(struct bj_copier *c, u64 nr, bool urgent, int read_err,
			  unsigned long write_err)
{
	struct bj_mirror *m = c->owner;
	struct bj_target *bt = m->bt;
	struct mirror_region *r;
	unsigned long flags;
	bool ok = !read_err && !write_err;
	bool kick = !ok;

	spin_lock_irqsave(&m->lock, flags);
	r = find_region(m, nr);
	if (r) {
		r->copying = false;
		m->copying--;
		if (!ok || r->redirty)
			bj_bitmap_set_range(&m->dirty, nr, 1);
		r->redirty = false;
		kick |= release_waiting(m, r);
		put_region(m, r);
	}
	if (!m->dirty.nr_set) {
		m->sync_pending = true;
		kick = true;
	}
	spin_unlock_irqrestore(&m->lock, flags);

	if (ok)
		bj_job_progress(bt, (u64)bj_region_len(c, nr) << SECTOR_SHIFT);
	else if (read_err)
		apply_policy(m, bt->args.on_source_error, -EIO, "source-read");
	else
		apply_policy(m, bt->args.on_target_error, -EIO, "target-write");
	/*
	 * The work resubmits the writes released above and checks for ready;
	 * with neither to do, waking it per region would cost a bulk copy a
	 * work item per 64 KiB.
	 */
	if (kick)
		queue_work(m->wq, &m->work);
	clear_later(m);
}

/*
 * Discards and write-zeroes of one region at a time, split by the block
 * layer before dm sees them (as dm-clone does), rather than cut per region
 * in map by dm_accept_partial_bio(), which dm supports for them only while
 * one bio per target is sent. The cut in map stays for pieces the block
 * layer could not align (a region-unaligned target start, write-zeroes).
 */
static void mirror_io_hints(struct bj_target *bt, struct queue_limits *limits)
{
	unsigned int granule = bt->args.granule;

	if (limits->max_discard_sectors) {
		limits->max_discard_sectors = min(limits->max_discard_sectors, granule);
		limits->max_hw_discard_sectors = min(limits->max_hw_discard_sectors, granule);
		if (limits->discard_granularity < granule << SECTOR_SHIFT)
			limits->discard_granularity = granule << SECTOR_SHIFT;
	}
	if (limits->max_write_zeroes_sectors)
		limits->max_write_zeroes_sectors = min(limits->max_write_zeroes_sectors, granule);
}

static const struct bj_copier_ops mirror_copier_ops = {
	.next = mirror_next,
	.done = mirror_copied,
};

/* The durable sync map ------------------------------------------------- */

/*
 * m->lock held: unmark (in core) the regions that are marked, clean, idle
 * and not written since the last pass; they go to @clearing. *@later: some
 * marked clean regions were kept only because they were written since the
 * last pass (the next pass may take them). Word by word: the maps are large
 * and this runs with interrupts off.
 */
static u64 unmark_idle(struct bj_mirror *m, bool *later)
{
	unsigned long *mk = m->marked.bits, c;
	u64 w, words = BITS_TO_LONGS(m->marked.nr_bits), n = 0, nr;
	unsigned int bit;

	bj_bitmap_clear_all(&m->clearing);
	for (w = 0; w < words; w++) {
		if (mk[w] & ~m->dirty.bits[w] & m->written.bits[w])
			*later = true;
		c = mk[w] & ~m->dirty.bits[w] & ~m->written.bits[w];
		if (!c)
			continue;
		for_each_set_bit(bit, &c, BITS_PER_LONG) {
			nr = w * BITS_PER_LONG + bit;
			if (find_region(m, nr))
				c &= ~BIT(bit);		/* writes or a copy in flight */
		}
		mk[w] &= ~c;
		m->clearing.bits[w] = c;
		n += hweight_long(c);
	}
	bj_bitmap_clear_all(&m->written);
	if (n) {
		bj_bitmap_recount(&m->marked);
		bj_bitmap_recount(&m->clearing);
	}
	return n;
}

/*
 * Make the map on disk what @marked plus the waiting marks say, then map
 * the writes that waited. With @clear, first a clear pass: the regions it
 * unmarks are flushed on both devices (their last writes completed before
 * the pass) before the commit leaves them out. Process context.
 */
static void sync_commit(struct bj_mirror *m, bool clear)
{
	struct bj_target *bt = m->bt;
	unsigned long flags;
	bool kick, later = false;
	u64 unmarked = 0;
	int r = 0;

	mutex_lock(&m->sync_mutex);
	spin_lock_irqsave(&m->lock, flags);
	if (clear && m->mirroring && !m->suspended && !m->sync_failed)
		unmarked = unmark_idle(m, &later);
	bj_bitmap_copy(&m->committing, &m->mark_pending);
	bj_bitmap_clear_all(&m->mark_pending);
	bj_bitmap_copy(&m->want, &m->marked);
	spin_unlock_irqrestore(&m->lock, flags);
	bj_bitmap_or(&m->want, &m->committing);

	if (unmarked) {
		r = blkdev_issue_flush(bt->src->bdev);
		if (!r)
			r = blkdev_issue_flush(bt->dst->bdev);
		/* Not flushed: they stay marked on disk (marked in core again later). */
		if (r)
			bj_bitmap_or(&m->want, &m->clearing);
	}
	if (unmarked || m->committing.nr_set)
		r = bj_md_sync_write(bt->vol, &m->want);

	spin_lock_irqsave(&m->lock, flags);
	if (r && m->committing.nr_set) {
		if (!m->sync_failed)
			DMERR("%s: mirror: sync map write failed (%d): unmarked writes fail",
			      dm_device_name(bt->vol->md), r);
		m->sync_failed = true;
	} else if (!r) {
		bj_bitmap_or(&m->marked, &m->committing);
	}
	kick = bj_move_bios(&m->deferred, &m->mark_wait);
	spin_unlock_irqrestore(&m->lock, flags);
	mutex_unlock(&m->sync_mutex);
	if (kick)
		queue_work(m->wq, &m->work);
	/*
	 * Regions written in the last second stayed marked. Without another
	 * pass they would stay so until the next write anywhere: an idle
	 * mirror's map would never empty, and a crash would copy them again.
	 */
	if (later)
		clear_later(m);
}

static void sync_work(struct work_struct *ws)
{
	sync_commit(container_of(ws, struct bj_mirror, sync_work), false);
}

static void clear_work(struct work_struct *ws)
{
	sync_commit(container_of(to_delayed_work(ws), struct bj_mirror, clear_work), true);
}

/* The maps of a mirror with a metadata device. */
static int sync_alloc(struct bj_mirror *m, u64 nr_regions)
{
	struct bj_bitmap *maps[] = { &m->marked, &m->mark_pending, &m->written, &m->want,
				     &m->committing, &m->clearing };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(maps); i++)
		if (bj_bitmap_init(maps[i], nr_regions, GFP_KERNEL))
			return -ENOMEM;
	return 0;
}

static void sync_free(struct bj_mirror *m)
{
	bj_bitmap_free(&m->marked);
	bj_bitmap_free(&m->mark_pending);
	bj_bitmap_free(&m->written);
	bj_bitmap_free(&m->want);
	bj_bitmap_free(&m->committing);
	bj_bitmap_free(&m->clearing);
}

/*
 * Constructor, with a metadata device: take the volume's sync map. A new
 * mirror writes @m->dirty as the map (all set for a full copy); "resume"
 * loads the map of the mirror a crash interrupted into @m->dirty: its
 * regions are the ones to copy.
 */
static int sync_open(struct bj_mirror *m, u64 nr_regions, char **error)
{
	struct bj_target *bt = m->bt;
	int r;

	m->persistent = true;
	mutex_init(&m->sync_mutex);
	bio_list_init(&m->mark_wait);
	INIT_WORK(&m->sync_work, sync_work);
	INIT_DELAYED_WORK(&m->clear_work, clear_work);
	r = sync_alloc(m, nr_regions);
	if (r) {
		*error = "Cannot allocate the sync map";
		goto bad;
	}
	r = bj_md_sync_open(bt->vol, bt, bt->args.granule, bt->args.features & BJ_F_RESUME,
			    &m->dirty, error);
	if (r)
		goto bad;
	bj_bitmap_copy(&m->marked, &m->dirty);
	return 0;
bad:
	sync_free(m);
	return r;
}

/* Deferred work: writes to map again, and becoming ready. */
static void try_become_ready(struct bj_mirror *m)
{
	struct bj_target *bt = m->bt;
	unsigned long flags;
	int r;

	spin_lock_irqsave(&m->lock, flags);
	if (!m->sync_pending || m->dirty.nr_set || m->copying || !m->mirroring || m->suspended) {
		m->sync_pending = false;
		spin_unlock_irqrestore(&m->lock, flags);
		return;
	}
	m->sync_pending = false;
	spin_unlock_irqrestore(&m->lock, flags);

	if (READ_ONCE(bt->job.state) != DM_BLOCKJOB_STATE_RUNNING)
		return;
	/* Everything is copied: make it durable before calling it ready. */
	r = blkdev_issue_flush(bt->dst->bdev);
	if (r) {
		apply_policy(m, bt->args.on_target_error, r, "target-flush");
		return;
	}
	spin_lock_irqsave(&m->lock, flags);
	spin_lock(&bt->job.lock);
	if (!m->dirty.nr_set && !m->copying && bt->job.state == DM_BLOCKJOB_STATE_RUNNING) {
		bt->job.done = bt->job.len;
		m->dst_errors = 0;
		bj_job_apply_locked(bt, BJ_EV_SYNCED);
	}
	spin_unlock(&bt->job.lock);
	spin_unlock_irqrestore(&m->lock, flags);
}

static void mirror_work(struct work_struct *ws)
{
	struct bj_mirror *m = container_of(ws, struct bj_mirror, work);
	struct bio_list bios;
	unsigned long flags;
	struct bio *bio;

	bio_list_init(&bios);
	spin_lock_irqsave(&m->lock, flags);
	bj_move_bios(&bios, &m->deferred);
	spin_unlock_irqrestore(&m->lock, flags);

	while ((bio = bio_list_pop(&bios))) {
		mirror_write(m, bio, false);
		cond_resched();
	}
	try_become_ready(m);
}

/* Construction ------------------------------------------------------------- */

static int mirror_ctr(struct bj_target *bt, char **error)
{
	struct dm_target *ti = bt->ti;
	struct bj_mirror *m;
	u64 nr_regions;
	int r;

	if (bt->args.sync == BJ_SYNC_TOP && !(bt->args.features & BJ_F_START_PAUSED)) {
		*error = "sync top needs start_paused: the regions to copy come by set-dirty";
		return -EINVAL;
	}
	nr_regions = bj_regions_for(ti->len, bt->args.granule);
	if (nr_regions > BJ_BITMAP_MAX_BITS) {
		*error = "Too many regions: use a larger region size";
		return -EINVAL;
	}
	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m) {
		*error = "Cannot allocate mirror state";
		return -ENOMEM;
	}
	m->bt = bt;
	spin_lock_init(&m->lock);
	hash_init(m->active);
	bio_list_init(&m->deferred);
	m->copy_mode = bt->args.copy_mode;
	m->mirroring = true;
	m->suspended = true;	/* until the first resume */
	INIT_WORK(&m->work, mirror_work);

	r = bj_bitmap_init(&m->dirty, nr_regions, GFP_KERNEL);
	if (r) {
		*error = "Cannot allocate the region bitmap";
		goto bad_free;
	}
	if (bt->args.sync == BJ_SYNC_FULL)
		bj_bitmap_set_all(&m->dirty);
	if (bt->vol->store) {
		r = sync_open(m, nr_regions, error);
		if (r)
			goto bad_bitmap;
	} else if (bt->args.features & BJ_F_RESUME) {
		*error = "resume: this volume has no metadata device";
		r = -EINVAL;
		goto bad_bitmap;
	}

	r = mempool_init_slab_pool(&m->region_pool, MIRROR_MIN_REGIONS, mirror_region_cache);
	if (r) {
		*error = "Cannot allocate the region pool";
		goto bad_sync;
	}
	r = bioset_init(&m->bs, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS);
	if (r) {
		*error = "Cannot allocate the bio set";
		goto bad_pool;
	}
	m->wq = alloc_workqueue("bj-mirror", WQ_MEM_RECLAIM, 0);
	if (!m->wq) {
		*error = "Cannot allocate the workqueue";
		r = -ENOMEM;
		goto bad_bs;
	}
	r = bj_copier_init(&m->copier, &mirror_copier_ops, m, bt->src->bdev, bt->args.src_offset,
			   bt->dst->bdev, bt->args.dst_offset, bt->args.granule, ti->len,
			   bt->args.max_copies, bt->args.speed, "mirror");
	if (r) {
		*error = "Cannot start the copier: out of memory";
		goto bad_wq;
	}

	bt->mode = m;
	bt->job.len = (u64)ti->len << SECTOR_SHIFT;
	if (bt->args.features & BJ_F_RESUME)
		bt->job.done = bt->job.len - min(bt->job.len, m->dirty.nr_set *
						 ((u64)bt->args.granule << SECTOR_SHIFT));
	else if (bt->args.sync != BJ_SYNC_FULL)
		bt->job.done = bt->job.len;
	if (bt->args.features & BJ_F_START_PAUSED)
		bt->job.state = DM_BLOCKJOB_STATE_PAUSED;
	ti->num_flush_bios = 2;
	return 0;

bad_wq:
	destroy_workqueue(m->wq);
bad_bs:
	bioset_exit(&m->bs);
bad_pool:
	mempool_exit(&m->region_pool);
bad_sync:
	if (m->persistent) {
		bj_md_sync_close(bt->vol, bt);
		sync_free(m);
	}
bad_bitmap:
	bj_bitmap_free(&m->dirty);
bad_free:
	kfree(m);
	return r;
}

static void mirror_dtr(struct bj_target *bt)
{
	struct bj_mirror *m = to_mirror(bt);
	struct mirror_region *r;
	struct hlist_node *tmp;
	int bkt;

	bj_volume_unset_mirror(bt->vol, bt);
	bj_copier_destroy(&m->copier);
	if (m->persistent)
		cancel_delayed_work_sync(&m->clear_work);
	flush_workqueue(m->wq);
	destroy_workqueue(m->wq);
	if (m->persistent) {
		bj_md_sync_close(bt->vol, bt);
		sync_free(m);
	}
	/* dm drained all I/O before the destructor: entries left are idle. */
	hash_for_each_safe(m->active, bkt, tmp, r, node) {
		hash_del(&r->node);
		mempool_free(r, &m->region_pool);
	}
	bioset_exit(&m->bs);
	mempool_exit(&m->region_pool);
	bj_bitmap_free(&m->dirty);
	kfree(m);
}

/* Suspend, resume, messages --------------------------------------------- */

static void mirror_presuspend(struct bj_target *bt)
{
	struct bj_mirror *m = to_mirror(bt);
	unsigned long flags;

	spin_lock_irqsave(&m->lock, flags);
	m->suspended = true;
	spin_unlock_irqrestore(&m->lock, flags);
	bj_copier_pause(&m->copier);
	/* dm now waits for every write: none may wait for the copier. */
	release_wanted(m);
}

/* Copying and readiness go on as before a suspend. */
static void mirror_restart(struct bj_mirror *m)
{
	struct bj_target *bt = m->bt;
	unsigned long flags;

	spin_lock_irqsave(&m->lock, flags);
	m->suspended = false;
	m->sync_pending = true;
	spin_unlock_irqrestore(&m->lock, flags);
	if (copier_wanted(READ_ONCE(bt->job.state)))
		bj_copier_start(&m->copier);
	queue_work(m->wq, &m->work);
}

/*
 * The suspend did not happen (a signal while dm waited for I/O, or the
 * filesystem could not be frozen): dm calls this instead of postsuspend.
 */
static void mirror_presuspend_undo(struct bj_target *bt)
{
	mirror_restart(to_mirror(bt));
}

/*
 * Every guest write has completed (dm drained them). If "complete" was
 * asked, this is the pivot point: conclude only if no region is dirty and
 * the destination is flushed.
 */
static void mirror_postsuspend(struct bj_target *bt)
{
	struct bj_mirror *m = to_mirror(bt);
	unsigned long flags;
	bool clean;
	int r;

	bj_copier_drain(&m->copier);
	flush_workqueue(m->wq);
	if (bt->job.result == BJ_RESULT_CANCELLED && !bt->job.dest_invalid) {
		/* Make the point-in-time copy left by a cancel after ready durable. */
		if (blkdev_issue_flush(bt->dst->bdev))
			bj_job_error(bt, -EIO, "target-flush");
		return;
	}
	if (!m->completing)
		return;
	spin_lock_irqsave(&m->lock, flags);
	clean = !m->dirty.nr_set && !m->copying && m->mirroring && !m->dst_errors;
	spin_unlock_irqrestore(&m->lock, flags);
	if (!clean || READ_ONCE(bt->job.state) != DM_BLOCKJOB_STATE_READY)
		return;
	r = blkdev_issue_flush(bt->dst->bdev);
	if (r) {
		/* No pivot: the status says why. */
		bj_job_error(bt, r, "target-flush");
		return;
	}
	/*
	 * The volume's home moves with the pivot: durable before the table
	 * on the destination can take a write (include/uapi/linux/
	 * dm-blockjob-md.h, BJ_MD_SB_PIVOTED). Until then the source has
	 * every write; from then on the flushed destination has.
	 */
	if (bt->vol->store) {
		r = bj_md_set_pivoted(bt->vol, true);
		if (r) {
			bj_job_error(bt, r, "metadata");
			return;
		}
	}
	bj_job_apply(bt, BJ_EV_COMPLETE);
}

/*
 * This table resumes: if a pivot was recorded (this table concluded
 * completed, then was resumed instead of the destination's), the source is
 * the home again, durably before a write can reach the source alone.
 * Without that commit the table does not resume (the device stays
 * suspended; resuming again retries it).
 */
static int mirror_preresume(struct bj_target *bt)
{
	if (!bt->vol->store)
		return 0;
	return bj_md_set_pivoted(bt->vol, false);
}

bool bj_mirror_may_pivot(struct bj_target *bt, bool loading)
{
	struct bj_mirror *m = to_mirror(bt);
	enum dm_blockjob_state state;
	enum bj_job_result result;
	unsigned long flags;
	bool completing;

	spin_lock_irqsave(&m->lock, flags);
	completing = m->completing;
	spin_lock(&bt->job.lock);
	state = bt->job.state;
	result = bt->job.result;
	spin_unlock(&bt->job.lock);
	spin_unlock_irqrestore(&m->lock, flags);
	if (state == DM_BLOCKJOB_STATE_CONCLUDED)
		return result == BJ_RESULT_COMPLETED;
	return loading && state == DM_BLOCKJOB_STATE_READY && completing;
}

/*
 * This table goes on: whatever suspended it was not a pivot (that replaces
 * the table), so a "complete" asked before it is forgotten, and a job the
 * suspend concluded as completed (a mirror completes only there) is ready
 * again. Nothing was written while suspended, so the regions it tracked are
 * still exact.
 */
static void mirror_resume(struct bj_target *bt)
{
	struct bj_mirror *m = to_mirror(bt);
	unsigned long flags;

	spin_lock_irqsave(&m->lock, flags);
	m->completing = false;
	spin_lock(&bt->job.lock);
	if (bt->job.result == BJ_RESULT_COMPLETED)
		bj_job_apply_locked(bt, BJ_EV_REOPEN);
	spin_unlock(&bt->job.lock);
	spin_unlock_irqrestore(&m->lock, flags);
	bj_volume_set_mirror(bt->vol, bt);
	mirror_restart(m);
}

/*
 * Mark @count regions from @first dirty ("set-dirty"), a slice at a time
 * (BJ_BITMAP_SLICE). Process context.
 */
static int set_dirty(struct bj_mirror *m, u64 first, u64 count)
{
	struct bj_target *bt = m->bt;
	unsigned long flags;
	bool failed;
	u64 n;

	while (count) {
		n = min(count, BJ_BITMAP_SLICE);
		spin_lock_irqsave(&m->lock, flags);
		bj_bitmap_set_range(&m->dirty, first, n);
		/* Dirty regions are marked: durably, before this returns. */
		if (m->persistent)
			bj_bitmap_set_range(&m->mark_pending, first, n);
		spin_lock(&bt->job.lock);
		bt->job.done = bt->job.len - min(bt->job.len, m->dirty.nr_set *
				((u64)bt->args.granule << SECTOR_SHIFT));
		spin_unlock(&bt->job.lock);
		spin_unlock_irqrestore(&m->lock, flags);
		first += n;
		count -= n;
		cond_resched();
	}
	if (!m->persistent)
		return 0;
	sync_commit(m, false);
	spin_lock_irqsave(&m->lock, flags);
	failed = m->sync_failed;
	spin_unlock_irqrestore(&m->lock, flags);
	return failed ? -EIO : 0;
}

static int mirror_message(struct bj_target *bt, struct bj_msg *msg, char *result,
			  unsigned int maxlen)
{
	struct bj_mirror *m = to_mirror(bt);
	enum dm_blockjob_state state;
	unsigned long flags;
	int r = 0;

	switch (msg->type) {
	case BJ_MSG_PAUSE:
		r = bj_job_apply(bt, BJ_EV_PAUSE);
		if (!r) {
			bj_copier_pause(&m->copier);
			release_wanted(m);
		}
		return r;
	case BJ_MSG_RESUME:
		spin_lock_irqsave(&bt->job.lock, flags);
		r = bj_job_apply_locked(bt, BJ_EV_RESUME);
		if (!r)
			bt->job.io_error_pending = false;
		state = bt->job.state;
		spin_unlock_irqrestore(&bt->job.lock, flags);
		if (!r && copier_wanted(state)) {
			spin_lock_irqsave(&m->lock, flags);
			m->sync_pending = true;
			spin_unlock_irqrestore(&m->lock, flags);
			bj_copier_start(&m->copier);
			queue_work(m->wq, &m->work);
		}
		return r;
	case BJ_MSG_CANCEL:
		spin_lock_irqsave(&m->lock, flags);
		spin_lock(&bt->job.lock);
		state = bt->job.state;
		r = bj_job_apply_locked(bt, BJ_EV_CANCEL);
		if (!r) {
			/*
			 * Writes mapped from now on reach the source only: after
			 * ready the destination stays a copy as of the cancel;
			 * before ready it is not a copy of anything.
			 */
			m->mirroring = false;
			if (state != DM_BLOCKJOB_STATE_READY && state != DM_BLOCKJOB_STATE_STANDBY)
				bt->job.dest_invalid = true;
		}
		/*
		 * "cancel force" gives the destination up, also after a plain
		 * cancel: nothing waits for it any more (no flush at suspend).
		 */
		if (msg->value && (!r || bt->job.result == BJ_RESULT_CANCELLED)) {
			bt->job.dest_invalid = true;
			r = 0;
		}
		spin_unlock(&bt->job.lock);
		spin_unlock_irqrestore(&m->lock, flags);
		if (!r) {
			bj_copier_pause(&m->copier);
			release_wanted(m);
		}
		return r;
	case BJ_MSG_COMPLETE:
		spin_lock_irqsave(&m->lock, flags);
		if (READ_ONCE(bt->job.state) == DM_BLOCKJOB_STATE_READY)
			m->completing = true;
		else
			r = -EINVAL;
		spin_unlock_irqrestore(&m->lock, flags);
		return r;
	case BJ_MSG_SET_SPEED:
		spin_lock_irqsave(&bt->job.lock, flags);
		bt->job.speed = msg->value;
		spin_unlock_irqrestore(&bt->job.lock, flags);
		bj_copier_set_speed(&m->copier, msg->value);
		return 0;
	case BJ_MSG_COPY_MODE:
		/* As QEMU: background may become write_blocking, not back. */
		if (msg->copy_mode != BJ_COPY_WRITE_BLOCKING)
			return m->copy_mode == BJ_COPY_BACKGROUND ? 0 : -EINVAL;
		spin_lock_irqsave(&m->lock, flags);
		m->copy_mode = BJ_COPY_WRITE_BLOCKING;
		spin_unlock_irqrestore(&m->lock, flags);
		return 0;
	case BJ_MSG_SET_DIRTY:
		if (msg->value >= m->dirty.nr_bits ||
		    msg->count > m->dirty.nr_bits - msg->value ||
		    READ_ONCE(bt->job.state) != DM_BLOCKJOB_STATE_PAUSED)
			return -EINVAL;
		return set_dirty(m, msg->value, msg->count);
	default:
		return -EINVAL;
	}
}

static u64 mirror_dirty_regions(struct bj_target *bt)
{
	struct bj_mirror *m = to_mirror(bt);
	unsigned long flags;
	u64 n;

	spin_lock_irqsave(&m->lock, flags);
	n = m->dirty.nr_set + m->copying;
	spin_unlock_irqrestore(&m->lock, flags);
	return n;
}

/* Mode fields: <copy mode> <region bytes> <flags> */
static void mirror_status(struct bj_target *bt, char *result, unsigned int maxlen,
			  unsigned int *szp)
{
	struct bj_mirror *m = to_mirror(bt);
	unsigned int sz = *szp;
	bool completing, mirroring, dest_invalid, io_error;
	enum bj_copy_mode mode;
	unsigned long flags;

	spin_lock_irqsave(&m->lock, flags);
	completing = m->completing;
	mirroring = m->mirroring;
	mode = m->copy_mode;
	spin_unlock_irqrestore(&m->lock, flags);
	spin_lock_irqsave(&bt->job.lock, flags);
	dest_invalid = bt->job.dest_invalid;
	io_error = bt->job.io_error_pending;
	spin_unlock_irqrestore(&bt->job.lock, flags);

	DMEMIT(" %s %llu ", bj_copy_mode_name(mode),
	       (unsigned long long)bt->args.granule << SECTOR_SHIFT);
	if (!completing && mirroring && !dest_invalid && !io_error) {
		DMEMIT("-");
	} else {
		DMEMIT("%s%s%s%s", completing ? "completing," : "",
		       mirroring ? "" : "not_mirroring,",
		       dest_invalid ? "dest_invalid," : "", io_error ? "io_error," : "");
		sz--;	/* drop the last comma */
		result[sz] = '\0';
	}
	*szp = sz;
}

static void mirror_mem_bytes(struct bj_target *bt, size_t *state, size_t *copies)
{
	struct bj_mirror *m = to_mirror(bt);

	/* bj_bitmap_bytes() is 0 for the sync maps of a mirror without them */
	*state = sizeof(*m) + bj_bitmap_bytes(&m->dirty) + bj_bitmap_bytes(&m->marked) +
		 bj_bitmap_bytes(&m->mark_pending) + bj_bitmap_bytes(&m->written) +
		 bj_bitmap_bytes(&m->want) + bj_bitmap_bytes(&m->committing) +
		 bj_bitmap_bytes(&m->clearing);
	*copies = bj_copier_mem_bytes(&m->copier);
}

const struct bj_mode_ops bj_mirror_ops = {
	.type = DM_BLOCKJOB_TYPE_MIRROR,
	.ctr = mirror_ctr,
	.dtr = mirror_dtr,
	.map = mirror_map,
	.end_io = mirror_end_io,
	.presuspend = mirror_presuspend,
	.presuspend_undo = mirror_presuspend_undo,
	.io_hints = mirror_io_hints,
	.postsuspend = mirror_postsuspend,
	.preresume = mirror_preresume,
	.resume = mirror_resume,
	.message = mirror_message,
	.dirty_regions = mirror_dirty_regions,
	.status = mirror_status,
	.mem_bytes = mirror_mem_bytes,
	.per_bio_data_size = sizeof(struct mirror_io),
};

int bj_mirror_init(void)
{
	mirror_region_cache = KMEM_CACHE(mirror_region, 0);
	return mirror_region_cache ? 0 : -ENOMEM;
}

void bj_mirror_exit(void)
{
	kmem_cache_destroy(mirror_region_cache);
}
