// SPDX-License-Identifier: GPL-2.0
/*
 * Backup mode (copy-before-write) and the point-in-time view.
 *
 * backup: the destination receives the volume's image as of the table's
 * first resume (the point in time: the old table's suspend drained every
 * write acknowledged before it; no write reaches the backup table before its
 * resume). The background copier saves the chunks of the backup set (all of
 * them for sync full, the chunks dirty in a named bitmap for sync
 * incremental, the chunks given by set-dirty for sync top, none for sync
 * none); a guest write, discard or write-zeroes
 * that touches a chunk of the set not yet saved is queued on that chunk
 * while an urgent copy (bj_copier_copy_now) saves its old data, then sent
 * on: once the destination has it, or under break-snapshot as soon as the
 * copy has read it (the chunk is "released": view reads of it then wait
 * for the copy's write and read the destination). Reads go to the source
 * untouched.
 *
 * sync top: the job starts paused with an empty, open set; set-dirty
 * messages add chunks (those the top image of a qcow2 chain allocates)
 * and the first resume message closes it. While the set is open a guest
 * write joins its chunk to the set, so its old data is saved first: the
 * image stays that of the point in time whatever chunks come later (a
 * chunk outside the top costs one extra copy of the data it had then).
 *
 * With a metadata device (sync full and incremental) the volume's sync map
 * holds the chunks not durably saved, so that a crash leaves a backup that
 * can be resumed with the same point in time ("resume"): a chunk's bit is
 * cleared on disk only after its copy is on the destination and the
 * destination was flushed (a commit, batched: at most one a second for the
 * background copy, at once when a guest write waits), and a guest write to a
 * chunk whose bit is set on disk waits for that commit. The source therefore
 * holds the point in time's data of every chunk the map names. A chunk is
 * never released early then (break-snapshot's shortcut): its writes wait
 * for the destination and the commit. When the job ends unfinished
 * (cancelled, failed) the map is dropped before a write to an unsaved chunk
 * goes on; a metadata device that cannot take a commit fails such writes
 * with EIO (as for persistent bitmaps) and the job.
 *
 * view: a second dm device ("view <volume>") that reads the image: saved
 * chunks from the destination, the others from the source while holding off
 * guest writes to that chunk (a reader never sees new data). It finds the
 * backup through a small registry keyed by the volume's dev_t (struct
 * bj_link); when the backup table goes away, view reads fail with EIO.
 *
 * Context: map runs in the submitter's context and never blocks: every bio
 * that must wait is put on a list and handled by the job's workqueue, which
 * allocates the per-chunk wait entry (GFP_NOIO mempool), starts the copy
 * and finally resubmits the bio. Copy completions come from the copy I/O's
 * workqueue (process context); view read completions may come in interrupt
 * context.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/hashtable.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "bj-cbw.h"
#include "bj-copier.h"
#include "bj-md.h"
#include "bj-runs.h"
#include "bj-target.h"
#include "bj-volume.h"

#define BJ_CHUNK_HASH_BITS	8
#define BJ_CHUNK_POOL		64

/*
 * A chunk with waiters: view reads of the source, or queued guest writes
 * (which include the write whose copy-before-write is in flight), or view
 * reads waiting for a released chunk's copy.
 */
struct bj_chunk_wait {
	struct hlist_node node;
	u64 chunk;
	unsigned int readers;		/* view reads of the source in flight */
	bool copying;			/* a copy-before-write of the chunk is in flight */
	bool released;			/* ... which has read the source (bj-cbw.h) */
	struct bio_list writes;		/* guest writes held until released */
	struct bio_list views;		/* view reads held until the copy ends */
};

struct bj_link;

struct bj_backup {
	struct bj_target *bt;
	struct bj_copier copier;
	sector_t chunk;			/* sectors per chunk */
	u64 nr_chunks;
	enum bj_sync sync;
	struct workqueue_struct *wq;
	struct work_struct work;	/* handles @deferred and @view_retry */
	struct work_struct finish_work;	/* flush the destination, complete */
	mempool_t *pool;		/* struct bj_chunk_wait */
	wait_queue_head_t view_wait;	/* @view_inflight, @view_src_inflight */

	/*
	 * @lock protects everything below. Taken in map (process context),
	 * in view read completion (any context: irqsave there), in copy
	 * completion and the work items. Lock order: bj_link.lock, then this
	 * lock, then bj_job.lock; bj_volume.lock is never taken under it.
	 */
	spinlock_t lock;
	struct bj_bitmap need;		/* chunks of the set not saved yet */
	struct bj_runs runs;		/* background copies in flight */
	u64 cursor;			/* where the background copy looks next */
	DECLARE_HASHTABLE(waits, BJ_CHUNK_HASH_BITS);	/* struct bj_chunk_wait */
	struct bio_list deferred;	/* guest writes to (re)decide */
	struct bio_list view_retry;	/* view reads that found no wait entry */
	struct bio_list view_held;	/* view reads held while suspended */
	u64 total;			/* chunks in the backup set */
	u64 copied;			/* chunks saved */
	u64 cbw_waits;			/* guest writes that had to wait */
	unsigned int view_inflight;	/* view bios using this backup */
	unsigned int view_src_inflight;	/* of which reading the source */
	bool live;			/* resumed once: the point in time is set */
	bool suspended;
	bool detached;			/* views detached (dtr): route no more view reads */
	bool concluded;
	bool failed;			/* the job failed, or a released chunk lost its old data */
	bool finishing;			/* finish_work queued */

	/* Conclusion (complete, cancel, fail) happens once, under this mutex. */
	struct mutex conclude_lock;

	/* sync top: chunks in the set so far, saved or not; writes join it. */
	struct bj_bitmap member;
	bool set_open;			/* until the first resume message */

	/*
	 * With a metadata device (see the top): @durable is the sync map as
	 * committed (chunks not durably saved), @commit_wait the guest writes
	 * waiting for a commit; @persist, @map_gone (dropped, or yielded to
	 * another table), @map_failed (a commit failed), @completed are under
	 * @lock too. @want is commit_map()'s snapshot of @need, under
	 * @commit_lock, which serializes commits (taken outside @lock).
	 */
	bool persist;
	bool resumed;			/* "resume": continues an interrupted backup */
	bool map_gone;
	bool map_failed;
	bool completed;
	struct bj_bitmap durable;
	struct bj_bitmap want;
	struct bio_list commit_wait;
	struct delayed_work commit_work;
	struct mutex commit_lock;	/* one commit at a time, see above */

	/* Incremental: the named bitmap taken at the point in time. */
	struct bj_bitmap taken;
	sector_t bm_granule;
	bool bm_reserved;		/* reserved by the constructor, not released */
	bool bm_taken;			/* bits taken at the point in time */

	struct bj_link *link;
	u64 gen;			/* identifies this job to views */
};

/* View state. */
struct bj_view {
	struct bj_link *link;
	u64 gen;			/* the backup job this view shows */
	atomic64_t reads_src, reads_dst, reads_eio;
};

/* Per-bio data of view reads. */
struct bj_view_io {
	struct bj_backup *b;
	u64 chunk;
	bool src;			/* reading the source: a reader of @chunk */
};

/*
 * The registry of backups by volume, for views. bj_links_lock (a mutex)
 * protects the list and every link's @refs; a link's @lock (a spinlock,
 * taken in the view's map path) protects @backup and @gen.
 */
struct bj_link {
	struct list_head list;
	dev_t dev;			/* the volume's dm device */
	unsigned int refs;
	spinlock_t lock;		/* protects @backup and @gen */
	struct bj_backup *backup;	/* the live backup job, or NULL */
	u64 gen;
};

static DEFINE_MUTEX(bj_links_lock);
static LIST_HEAD(bj_links);
static atomic64_t bj_backup_gen = ATOMIC64_INIT(0);

static struct bj_link *link_get(dev_t dev)
{
	struct bj_link *l;

	mutex_lock(&bj_links_lock);
	list_for_each_entry(l, &bj_links, list) {
		if (l->dev == dev) {
			l->refs++;
			goto out;
		}
	}
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (l) {
		l->dev = dev;
		l->refs = 1;
		spin_lock_init(&l->lock);
		list_add(&l->list, &bj_links);
	}
out:
	mutex_unlock(&bj_links_lock);
	return l;
}

static void link_put(struct bj_link *l)
{
	mutex_lock(&bj_links_lock);
	if (!--l->refs) {
		list_del(&l->list);
		kfree(l);
	}
	mutex_unlock(&bj_links_lock);
}

static inline u64 bio_chunk(struct bj_backup *b, struct bio *bio)
{
	return div64_u64(dm_target_offset(b->bt->ti, bio->bi_iter.bi_sector), b->chunk);
}

/* Sectors of @bio up to the end of its chunk. */
static unsigned int to_chunk_end(struct bj_backup *b, sector_t offset)
{
	sector_t end = (div64_u64(offset, b->chunk) + 1) * b->chunk;

	return min_t(sector_t, end, b->bt->ti->len) - offset;
}

/* b->lock held. */
static struct bj_chunk_wait *find_wait(struct bj_backup *b, u64 chunk)
{
	struct bj_chunk_wait *w;

	hash_for_each_possible(b->waits, w, node, chunk)
		if (w->chunk == chunk)
			return w;
	return NULL;
}

/* b->lock held: make @w, a free entry, @chunk's wait entry (no waiters yet). */
static struct bj_chunk_wait *add_wait(struct bj_backup *b, struct bj_chunk_wait *w, u64 chunk)
{
	w->chunk = chunk;
	w->readers = 0;
	w->copying = false;
	w->released = false;
	bio_list_init(&w->writes);
	bio_list_init(&w->views);
	hash_add(b->waits, &w->node, chunk);
	return w;
}

/* b->lock held. */
static bool has_waiters(struct bj_chunk_wait *w)
{
	return w && (w->readers || !bio_list_empty(&w->writes));
}

/*
 * With the sync map: must a write to @chunk wait for a commit of the map
 * (1: the chunk is saved, or will never be, but the map on disk still names
 * it), fail (-EIO: the map cannot be committed), or neither (0)? A chunk
 * still needed by a running job takes the copy-before-write path first.
 * b->lock held.
 */
static int map_hold(struct bj_backup *b, u64 chunk)
{
	if (!b->persist || b->map_gone || !bj_bitmap_test(&b->durable, chunk))
		return 0;
	if (b->map_failed)
		return -EIO;
	if (bj_bitmap_test(&b->need, chunk) && !b->concluded)
		return 0;
	return 1;
}

/*
 * Is a copy of @chunk in flight: a background run or a copy-before-write?
 * @w is the chunk's wait entry or NULL. Only a chunk not saved yet can have
 * a copy in flight (a copy clears @need when it ends), so a saved chunk
 * never pays for the run table's walk. b->lock held.
 */
static bool chunk_busy(struct bj_backup *b, u64 chunk, struct bj_chunk_wait *w)
{
	if (w && w->copying)
		return true;
	return bj_bitmap_test(&b->need, chunk) && bj_runs_test(&b->runs, chunk);
}

/*
 * Release the bios queued on @w once it has no readers left and its chunk
 * no copy in flight: writes go back to @deferred, view reads to @view_retry,
 * to be decided again. Frees @w when nothing waits on it any more. b->lock
 * held. Returns true if the work must run.
 */
static bool release_wait(struct bj_backup *b, struct bj_chunk_wait *w)
{
	bool kick;

	if (w->readers || chunk_busy(b, w->chunk, w))
		return false;
	kick = bj_move_bios(&b->deferred, &w->writes);
	kick |= bj_move_bios(&b->view_retry, &w->views);
	hash_del(&w->node);
	mempool_free(w, b->pool);
	return kick;
}

static void remap_src(struct bj_target *bt, struct bio *bio)
{
	bio_set_dev(bio, bt->src->bdev);
	if (bio_sectors(bio))
		bio->bi_iter.bi_sector = bj_src_sector(bt, bio->bi_iter.bi_sector);
}

/* Bitmap ---------------------------------------------------------------- */

/*
 * Give the named bitmap back at the end of an incremental job. On success
 * it keeps only the writes made during the job (mode on-success, always);
 * otherwise (and always for mode never) the bits taken at the start are
 * merged back, all of them (on-success, never) or those of chunks not saved
 * (always). Process context.
 */
static void release_bitmap(struct bj_backup *b, bool success)
{
	struct bj_target *bt = b->bt;
	const struct bj_bitmap *restore = NULL;

	if (!b->bm_reserved)
		return;
	if (b->bm_taken) {
		if (bt->args.bitmap_mode == BJ_BITMAP_NEVER)
			restore = &b->taken;
		else if (!success && bt->args.bitmap_mode == BJ_BITMAP_ON_SUCCESS)
			restore = &b->taken;
		if (!success && bt->args.bitmap_mode == BJ_BITMAP_ALWAYS) {
			spin_lock_irq(&b->lock);
			bj_cbw_keep_unsaved(&b->taken, b->bm_granule, &b->need, b->chunk,
					    bt->ti->len);
			spin_unlock_irq(&b->lock);
			restore = &b->taken;
		}
	}
	bj_volume_bitmap_release(bt->vol, bt->args.bitmap, restore);
	b->bm_reserved = false;
}

/* Conclusion ------------------------------------------------------------ */

/*
 * End the job with @ev (BJ_EV_COMPLETE, BJ_EV_CANCEL, BJ_EV_FAIL) unless it
 * ended already or the state does not allow it (complete while paused).
 * Process context. Returns 0 or -EINVAL.
 */
static int conclude(struct bj_backup *b, enum bj_job_event ev)
{
	struct bj_target *bt = b->bt;
	int r = -EINVAL;

	mutex_lock(&b->conclude_lock);
	if (b->concluded)
		goto out;
	if (ev == BJ_EV_FAIL) {
		spin_lock_irq(&bt->job.lock);
		bt->job.dest_invalid = true;
		spin_unlock_irq(&bt->job.lock);
	}
	r = bj_job_apply(bt, ev);
	if (r)
		goto out;
	spin_lock_irq(&b->lock);
	b->concluded = true;
	b->completed = ev == BJ_EV_COMPLETE;
	b->failed = ev == BJ_EV_FAIL;
	spin_unlock_irq(&b->lock);
	bj_copier_pause(&b->copier);
	release_bitmap(b, ev == BJ_EV_COMPLETE);
	/* Unfinished: the map goes before writes to unsaved chunks do. */
	if (b->persist && ev != BJ_EV_COMPLETE)
		mod_delayed_work(b->wq, &b->commit_work, 0);
	/* Writes queued for copies that will not happen now can go. */
	queue_work(b->wq, &b->work);
out:
	mutex_unlock(&b->conclude_lock);
	return r;
}

static void fail_job(struct bj_backup *b, int err, const char *where)
{
	bj_job_error(b->bt, err, where);
	conclude(b, BJ_EV_FAIL);
}

/* The sync map ---------------------------------------------------------- */

/*
 * Make the map on disk follow the job: the chunks saved since the last
 * commit leave it (destination flushed first, then the map's blocks and a
 * flush of the metadata device), or, once the job ended unfinished, the map
 * is dropped. Then the writes that waited are decided again. A failed
 * destination flush or metadata write fails the job. Process context.
 * Returns 0 or the error.
 */
static int commit_map(struct bj_backup *b)
{
	struct bj_target *bt = b->bt;
	bool drop, kick, flush_failed = false;
	int r = 0;

	mutex_lock(&b->commit_lock);
	spin_lock_irq(&b->lock);
	if (!b->persist || b->map_gone || b->map_failed) {
		r = b->map_failed ? -EIO : 0;
		goto out_unlock;
	}
	drop = b->concluded && !b->completed;
	/* @need only shrinks: same count, same map (nothing to clear). */
	if (!drop && b->need.nr_set == b->durable.nr_set)
		goto out_unlock;
	if (!drop)
		bj_bitmap_copy(&b->want, &b->need);
	spin_unlock_irq(&b->lock);

	if (drop) {
		r = bj_md_sync_drop(bt->vol, bt);
	} else {
		r = blkdev_issue_flush(bt->dst->bdev);
		flush_failed = r != 0;
		if (!r)
			r = bj_md_sync_write(bt->vol, &b->want);
	}

	spin_lock_irq(&b->lock);
	if (r && !flush_failed)
		b->map_failed = true;
	else if (!r && drop)
		b->map_gone = true;
	else if (!r)
		bj_bitmap_copy(&b->durable, &b->want);
out_unlock:
	kick = bj_move_bios(&b->deferred, &b->commit_wait);
	spin_unlock_irq(&b->lock);
	mutex_unlock(&b->commit_lock);
	if (kick)
		queue_work(b->wq, &b->work);
	if (r)
		fail_job(b, r, flush_failed ? "target-flush" : "metadata-write");
	return r;
}

static void commit_work(struct work_struct *ws)
{
	commit_map(container_of(to_delayed_work(ws), struct bj_backup, commit_work));
}

/* Every chunk is saved: flush the destination, then complete. */
static void finish_work(struct work_struct *ws)
{
	struct bj_backup *b = container_of(ws, struct bj_backup, finish_work);
	int r;

	spin_lock_irq(&b->lock);
	b->finishing = false;
	if (b->concluded || b->need.nr_set) {
		spin_unlock_irq(&b->lock);
		return;
	}
	spin_unlock_irq(&b->lock);

	/*
	 * With the map, its commit flushes the destination, then writes the
	 * map empty (or an earlier commit flushed it after the last copy and
	 * emptied it): a crash from now on finds nothing to resume.
	 */
	r = b->persist ? commit_map(b) : blkdev_issue_flush(b->bt->dst->bdev);
	if (r) {
		if (!b->persist)
			fail_job(b, r, "target-flush");
		return;
	}
	/* -EINVAL while paused: resume queues this work again. */
	conclude(b, BJ_EV_COMPLETE);
}

/* b->lock held. */
static void maybe_finish(struct bj_backup *b)
{
	if (!b->need.nr_set && b->live && !b->set_open && !b->concluded && !b->finishing) {
		b->finishing = true;
		queue_work(b->wq, &b->finish_work);
	}
}

/* Copier hooks ----------------------------------------------------------- */

/* b->lock held: is @chunk needed and free for a background copy? */
static bool can_take(struct bj_backup *b, u64 chunk)
{
	return bj_bitmap_test(&b->need, chunk) && !chunk_busy(b, chunk, find_wait(b, chunk));
}

/*
 * The next run of needed chunks with no copy in flight, from @cursor on
 * (then from the start again: copy-before-write may have left holes).
 */
static u64 backup_next(struct bj_copier *c, u64 *region, u64 max)
{
	struct bj_backup *b = c->owner;
	u64 chunk, count = 0;
	bool wrapped = false;

	if (b->sync == BJ_SYNC_NONE)
		return 0;
	spin_lock_irq(&b->lock);
	/*
	 * Suspended: a "resume" message may start the copier, but nothing is
	 * copied until the table is resumed (it may be swapped out instead).
	 */
	if (b->concluded || b->suspended || !bj_runs_room(&b->runs))
		goto out;
	max = min_t(u64, max, BJ_RUN_MAX_CHUNKS);
	chunk = bj_bitmap_next_set(&b->need, b->cursor);
	for (;;) {
		if (chunk >= b->need.nr_bits) {
			if (wrapped || !b->cursor)
				goto out;
			wrapped = true;
			chunk = bj_bitmap_next_set(&b->need, 0);
			continue;
		}
		if (wrapped && chunk >= b->cursor)
			goto out;
		if (!chunk_busy(b, chunk, find_wait(b, chunk)))
			break;
		chunk = bj_bitmap_next_set(&b->need, chunk + 1);
	}
	count = 1;
	while (count < max && chunk + count < b->need.nr_bits && can_take(b, chunk + count))
		count++;
	if (bj_runs_add(&b->runs, chunk, count)) {
		count = 0;	/* cannot happen: room checked, count in range */
		goto out;
	}
	*region = chunk;
	b->cursor = chunk + count;
out:
	spin_unlock_irq(&b->lock);
	return count;
}

static void backup_done(struct bj_copier *c, u64 chunk, bool urgent, int read_err,
			unsigned long write_err)
{
	struct bj_backup *b = c->owner;
	struct bj_target *bt = b->bt;
	bool ok = !read_err && !write_err;
	bool guest_eio = false, kick = false, saved = false;
	struct bio_list failed = BIO_EMPTY_LIST;
	struct bj_chunk_wait *w;
	struct bio *bio;

	spin_lock_irq(&b->lock);
	w = find_wait(b, chunk);
	if (urgent) {
		/* always: @w lives while copying is set */
		if (w) {
			/*
			 * The source took writes already: the old data is
			 * lost with this copy. Fail views before they are
			 * let go (the job itself fails below).
			 */
			if (!ok && w->released)
				b->failed = true;
			w->copying = false;
			w->released = false;
		}
	} else {
		bj_runs_done(&b->runs, chunk);
	}
	/*
	 * After the conclusion nothing counts as saved any more: the bitmap
	 * was given back according to the chunks saved by then.
	 */
	if (ok && !b->concluded && bj_bitmap_clear_range(&b->need, chunk, 1)) {
		b->copied++;
		saved = true;
	}
	/*
	 * break-guest-write: a failed copy-before-write fails the writes that
	 * waited for it; the chunk stays unsaved, the backup intact.
	 */
	guest_eio = !ok && urgent && !b->concluded &&
		    bt->args.on_cbw_error == BJ_CBW_BREAK_GUEST_WRITE;
	if (w && guest_eio && !w->readers)
		bj_move_bios(&failed, &w->writes);
	if (w)
		kick = release_wait(b, w);
	if (ok)
		maybe_finish(b);
	spin_unlock_irq(&b->lock);

	while ((bio = bio_list_pop(&failed)))
		bio_io_error(bio);
	if (kick)
		queue_work(b->wq, &b->work);
	if (saved)
		bj_job_progress(bt, (u64)bj_region_len(c, chunk) << SECTOR_SHIFT);
	/* Lazily: a write waiting on a saved chunk asks for the commit at once. */
	if (saved && b->persist)
		queue_delayed_work(b->wq, &b->commit_work, HZ);
	if (ok)
		return;

	if (guest_eio) {
		bj_job_error(bt, -EIO, read_err ? "cbw-source-read" : "cbw-target-write");
		return;
	}
	/*
	 * A background copy failed, or a copy-before-write under
	 * break-snapshot: the job fails and the guest writes go ahead (they
	 * were requeued above and now pass).
	 */
	fail_job(b, -EIO, read_err ? (urgent ? "cbw-source-read" : "source-read") :
		 (urgent ? "cbw-target-write" : "target-write"));
}

/*
 * A copy-before-write has read its chunk (any context). Under break-snapshot
 * the chunk's writes need not wait for the destination's write: a failure
 * there fails the job whatever the writes did. They go now, and view reads
 * of the chunk wait for the copy instead of reading the source. Not with
 * view reads of the source in flight (they hold the writes as before), nor
 * under break-guest-write (a failed copy must fail the writes instead).
 */
static void backup_read_done(struct bj_copier *c, u64 chunk)
{
	struct bj_backup *b = c->owner;
	struct bj_chunk_wait *w;
	unsigned long flags;
	bool kick = false;

	/* With the sync map the writes wait for the map's commit anyway. */
	if (b->bt->args.on_cbw_error != BJ_CBW_BREAK_SNAPSHOT || b->persist)
		return;
	spin_lock_irqsave(&b->lock, flags);
	w = find_wait(b, chunk);
	if (w && w->copying && !w->readers && !b->concluded) {
		w->released = true;
		kick = bj_move_bios(&b->deferred, &w->writes);
	}
	spin_unlock_irqrestore(&b->lock, flags);
	if (kick)
		queue_work(b->wq, &b->work);
}

static const struct bj_copier_ops backup_copier_ops = {
	.next = backup_next,
	.done = backup_done,
	.read_done = backup_read_done,
};

/* Guest writes ----------------------------------------------------------- */

/*
 * Decide a guest write (confined to one chunk) again, from the work item:
 * queue it on its chunk (starting a copy-before-write if needed) or send it.
 */
static void handle_write(struct bj_backup *b, struct bio *bio)
{
	struct bj_chunk_wait *w, *spare = NULL;
	u64 chunk = bio_chunk(b, bio);
	enum bj_cbw_action act;
	int hold;

again:
	spin_lock_irq(&b->lock);
	hold = map_hold(b, chunk);
	if (hold) {
		if (hold > 0)
			bio_list_add(&b->commit_wait, bio);
		spin_unlock_irq(&b->lock);
		if (spare)
			mempool_free(spare, b->pool);
		if (hold < 0)
			bio_io_error(bio);
		else
			mod_delayed_work(b->wq, &b->commit_work, 0);
		return;
	}
	w = find_wait(b, chunk);
	act = bj_cbw_write_action(bj_bitmap_test(&b->need, chunk),
				  chunk_busy(b, chunk, w), w && w->released,
				  has_waiters(w), b->concluded);
	if (act == BJ_CBW_PASS) {
		spin_unlock_irq(&b->lock);
		if (spare)
			mempool_free(spare, b->pool);
		remap_src(b->bt, bio);
		dm_submit_bio_remap(bio, NULL);
		return;
	}
	if (!w) {
		if (!spare) {
			spin_unlock_irq(&b->lock);
			spare = mempool_alloc(b->pool, GFP_NOIO);
			goto again;
		}
		w = add_wait(b, spare, chunk);
		spare = NULL;
	}
	bio_list_add(&w->writes, bio);
	if (act == BJ_CBW_COPY)
		w->copying = true;
	spin_unlock_irq(&b->lock);
	if (spare)
		mempool_free(spare, b->pool);
	if (act == BJ_CBW_COPY)
		bj_copier_copy_now(&b->copier, chunk);
}

static void handle_view_retry(struct bj_backup *b, struct bio *bio);

static void backup_work(struct work_struct *ws)
{
	struct bj_backup *b = container_of(ws, struct bj_backup, work);
	struct bio_list writes, views;
	struct bio *bio;

	bio_list_init(&writes);
	bio_list_init(&views);
	spin_lock_irq(&b->lock);
	bj_move_bios(&writes, &b->deferred);
	bj_move_bios(&views, &b->view_retry);
	spin_unlock_irq(&b->lock);

	while ((bio = bio_list_pop(&writes)))
		handle_write(b, bio);
	while ((bio = bio_list_pop(&views)))
		handle_view_retry(b, bio);
}

/*
 * Add chunks to the open set of a sync top job; the job's length follows
 * the set. b->lock held (bj_job.lock nests inside it).
 */
static void join_set(struct bj_backup *b, u64 first, u64 count)
{
	struct bj_target *bt = b->bt;
	u64 bytes;

	b->total += bj_cbw_join_set(&b->member, &b->need, first, count);
	bytes = bj_cbw_chunk_bytes(&b->member, b->chunk, bt->ti->len);
	spin_lock(&bt->job.lock);
	bt->job.len = bytes;
	spin_unlock(&bt->job.lock);
}

static int backup_map(struct bj_target *bt, struct bio *bio)
{
	struct bj_backup *b = bt->mode;
	struct bj_chunk_wait *w;
	sector_t offset;
	unsigned int n;
	u64 chunk;
	bool defer;

	if (!op_is_write(bio_op(bio)) || !bio_sectors(bio)) {
		/* Reads and empty flushes go to the source. */
		remap_src(bt, bio);
		return DM_MAPIO_REMAPPED;
	}
	offset = dm_target_offset(bt->ti, bio->bi_iter.bi_sector);
	n = to_chunk_end(b, offset);
	if (bio_sectors(bio) > n)
		dm_accept_partial_bio(bio, n);
	bj_volume_mark(bt->vol, offset, bio_sectors(bio));

	chunk = div64_u64(offset, b->chunk);
	spin_lock_irq(&b->lock);
	if (b->set_open && !b->concluded && !bj_bitmap_test(&b->member, chunk))
		join_set(b, chunk, 1);
	w = find_wait(b, chunk);
	defer = map_hold(b, chunk) ||
		bj_cbw_write_action(bj_bitmap_test(&b->need, chunk), chunk_busy(b, chunk, w),
				    w && w->released, has_waiters(w),
				    b->concluded) != BJ_CBW_PASS;
	if (defer) {
		b->cbw_waits++;
		bio_list_add(&b->deferred, bio);
	}
	spin_unlock_irq(&b->lock);
	if (defer) {
		queue_work(b->wq, &b->work);
		return DM_MAPIO_SUBMITTED;
	}
	remap_src(bt, bio);
	return DM_MAPIO_REMAPPED;
}

/* Constructor, destructor, suspend, resume ------------------------------- */

/*
 * Take the volume's sync map (a metadata device, sync full or incremental).
 * A new backup writes it all set: until the point in time, when an
 * incremental job writes its set (preresume), every chunk may be needed.
 * "resume" loads the map an interrupted backup left: its chunks are the
 * ones to copy, the point in time the interrupted job's (the source held
 * its data for them: their writes waited for the map).
 */
static int map_open(struct bj_backup *b, char **error)
{
	struct bj_target *bt = b->bt;
	bool resume = bt->args.features & BJ_F_RESUME;
	u64 bytes;
	int r = -ENOMEM;

	*error = "Cannot allocate the chunk bitmaps (chunk size too small?)";
	if (bj_bitmap_init(&b->durable, b->nr_chunks, GFP_KERNEL))
		return r;
	if (bj_bitmap_init(&b->want, b->nr_chunks, GFP_KERNEL))
		goto bad_durable;
	bj_bitmap_set_all(&b->durable);
	r = bj_md_sync_open(bt->vol, bt, b->chunk, resume, &b->durable, error);
	if (r)
		goto bad_want;
	b->persist = true;
	b->resumed = resume;
	if (!resume)
		return 0;
	bj_bitmap_copy(&b->need, &b->durable);
	bytes = bj_cbw_chunk_bytes(&b->need, b->chunk, bt->ti->len);
	if (b->sync == BJ_SYNC_INCREMENTAL) {
		b->total = b->need.nr_set;
		bt->job.len = bytes;
	} else {
		b->copied = b->total - b->need.nr_set;
		bt->job.done = bt->job.len - min(bt->job.len, bytes);
	}
	return 0;

bad_want:
	bj_bitmap_free(&b->want);
bad_durable:
	bj_bitmap_free(&b->durable);
	return r;
}

static int backup_ctr(struct bj_target *bt, char **error)
{
	struct mapped_device *md = dm_table_get_md(bt->ti->table);
	struct dm_target *ti = bt->ti;
	struct bj_backup *b;
	int r;

	if (bt->dst->bdev->bd_dev == disk_devt(dm_disk(md)) ||
	    bt->src->bdev->bd_dev == disk_devt(dm_disk(md))) {
		*error = "A backup cannot read from or write to its own volume";
		return -EINVAL;
	}
	if (bt->args.sync == BJ_SYNC_TOP && !(bt->args.features & BJ_F_START_PAUSED)) {
		*error = "sync top needs start_paused: the chunks to copy come by set-dirty";
		return -EINVAL;
	}
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b) {
		*error = "Cannot allocate backup state";
		return -ENOMEM;
	}
	b->bt = bt;
	b->chunk = bt->args.granule;
	b->sync = bt->args.sync;
	b->nr_chunks = bj_regions_for(ti->len, b->chunk);
	spin_lock_init(&b->lock);
	mutex_init(&b->conclude_lock);
	hash_init(b->waits);
	bio_list_init(&b->deferred);
	bio_list_init(&b->view_retry);
	bio_list_init(&b->view_held);
	init_waitqueue_head(&b->view_wait);
	INIT_WORK(&b->work, backup_work);
	INIT_WORK(&b->finish_work, finish_work);
	b->gen = atomic64_inc_return(&bj_backup_gen);
	bio_list_init(&b->commit_wait);
	INIT_DELAYED_WORK(&b->commit_work, commit_work);
	mutex_init(&b->commit_lock);

	if (bt->args.features & BJ_F_RESUME) {
		r = -EINVAL;
		if (!bt->vol->store) {
			*error = "resume: this volume has no metadata device";
			goto bad_free;
		}
		if (b->sync != BJ_SYNC_FULL && b->sync != BJ_SYNC_INCREMENTAL) {
			*error = "resume continues a full or incremental backup, not none or top";
			goto bad_free;
		}
	}

	r = -ENOMEM;
	*error = "Cannot allocate the chunk bitmaps (chunk size too small?)";
	if (bj_bitmap_init(&b->need, b->nr_chunks, GFP_KERNEL))
		goto bad_free;
	*error = "Cannot allocate backup state";
	if (bj_runs_init(&b->runs, bt->args.max_copies, GFP_KERNEL))
		goto bad_need;
	b->pool = mempool_create_kmalloc_pool(BJ_CHUNK_POOL, sizeof(struct bj_chunk_wait));
	if (!b->pool)
		goto bad_runs;
	b->wq = alloc_workqueue("bj-backup-%s", WQ_MEM_RECLAIM, 0, dm_device_name(md));
	if (!b->wq)
		goto bad_pool;
	b->link = link_get(disk_devt(dm_disk(md)));
	if (!b->link)
		goto bad_wq;

	if (b->sync == BJ_SYNC_INCREMENTAL) {
		r = bj_volume_bitmap_reserve(bt->vol, bt->args.bitmap, &b->taken,
					     &b->bm_granule);
		/*
		 * A resumed job copies its map's chunks and never takes the
		 * bitmap: an in-memory one the crash took is not needed.
		 */
		if (r == -ENOENT && (bt->args.features & BJ_F_RESUME))
			r = 0;
		else if (!r)
			b->bm_reserved = true;
		if (r) {
			*error = r == -ENOENT ? "No dirty bitmap of that name on this volume" :
				 r == -EBUSY ? "The dirty bitmap is in use by another job" :
				 "Cannot allocate a copy of the dirty bitmap";
			goto bad_link;
		}
	} else if (b->sync == BJ_SYNC_TOP) {
		*error = "Cannot allocate the chunk bitmaps (chunk size too small?)";
		if (bj_bitmap_init(&b->member, b->nr_chunks, GFP_KERNEL))
			goto bad_link;
		b->set_open = true;
		bt->job.len = 0;	/* grows with the set */
	} else {
		bj_bitmap_set_all(&b->need);
		b->total = b->nr_chunks;
	}

	r = bj_copier_init(&b->copier, &backup_copier_ops, b, bt->src->bdev,
			   bt->args.src_offset, bt->dst->bdev, bt->args.dst_offset,
			   b->chunk, ti->len, bt->args.max_copies, bt->args.speed,
			   dm_device_name(md));
	if (r) {
		*error = "Cannot start the copier: out of memory";
		goto bad_bitmap;
	}
	if (bt->vol->store && (b->sync == BJ_SYNC_FULL || b->sync == BJ_SYNC_INCREMENTAL)) {
		r = map_open(b, error);
		if (r)
			goto bad_copier;
	}
	bt->mode = b;
	return 0;

bad_copier:
	bj_copier_destroy(&b->copier);
bad_bitmap:
	release_bitmap(b, false);
	bj_bitmap_free(&b->taken);
	bj_bitmap_free(&b->member);
bad_link:
	link_put(b->link);
bad_wq:
	destroy_workqueue(b->wq);
bad_pool:
	mempool_destroy(b->pool);
bad_runs:
	bj_runs_free(&b->runs);
bad_need:
	bj_bitmap_free(&b->need);
bad_free:
	kfree(b);
	return r;
}

/* Counters read under the lock: the last view_put() may still hold it. */
static bool views_idle(struct bj_backup *b, bool src_only)
{
	bool idle;

	spin_lock_irq(&b->lock);
	idle = src_only ? !b->view_src_inflight : !b->view_inflight;
	spin_unlock_irq(&b->lock);
	return idle;
}

/* Fail view reads held by @b and wait until no view bio uses it. */
static void detach_views(struct bj_backup *b)
{
	struct bio_list held;
	struct bio *bio;

	spin_lock(&b->link->lock);
	if (b->link->backup == b)
		b->link->backup = NULL;
	spin_unlock(&b->link->lock);

	spin_lock_irq(&b->lock);
	/*
	 * backup_work may hold view reads it took off view_retry: from now on
	 * handle_view_retry() fails them instead of holding them again.
	 */
	b->detached = true;
	bio_list_init(&held);
	bj_move_bios(&held, &b->view_held);
	bj_move_bios(&held, &b->view_retry);
	b->view_inflight -= bio_list_size(&held);
	spin_unlock_irq(&b->lock);
	while ((bio = bio_list_pop(&held))) {
		struct bj_view_io *io = dm_per_bio_data(bio, sizeof(struct bj_view_io));

		io->b = NULL;	/* its hold is dropped above */
		bio_io_error(bio);
	}
	wait_event(b->view_wait, views_idle(b, false));
}

static void backup_dtr(struct bj_target *bt)
{
	struct bj_backup *b = bt->mode;
	struct bj_chunk_wait *w;
	struct hlist_node *tmp;
	struct bio *bio;
	unsigned int i;

	detach_views(b);
	bj_copier_destroy(&b->copier);
	cancel_work_sync(&b->finish_work);
	flush_workqueue(b->wq);
	/* A lazy commit: the map on disk is a superset, and stays one. */
	cancel_delayed_work_sync(&b->commit_work);
	flush_workqueue(b->wq);
	/* Suspended before: no guest write is left; be safe anyway. */
	while ((bio = bio_list_pop(&b->deferred)))
		bio_io_error(bio);
	while ((bio = bio_list_pop(&b->commit_wait)))
		bio_io_error(bio);
	if (b->persist) {
		bj_md_sync_close(bt->vol, bt);
		bj_bitmap_free(&b->durable);
		bj_bitmap_free(&b->want);
	}
	hash_for_each_safe(b->waits, i, tmp, w, node) {
		while ((bio = bio_list_pop(&w->writes)))
			bio_io_error(bio);
		/* detach_views() waited for every view read: none can wait here. */
		WARN_ON_ONCE(!bio_list_empty(&w->views));
		hash_del(&w->node);
		mempool_free(w, b->pool);
	}
	/* Torn down before it ended: the bitmap loses nothing. */
	release_bitmap(b, false);
	bj_bitmap_free(&b->taken);
	bj_bitmap_free(&b->member);
	link_put(b->link);
	destroy_workqueue(b->wq);
	mempool_destroy(b->pool);
	bj_runs_free(&b->runs);
	bj_bitmap_free(&b->need);
	kfree(b);
}

/*
 * The point in time: the old table is suspended, its writes drained. Take
 * the named bitmap now (incremental). Never fails: a device left suspended
 * with a half-swapped table is worse than a failed job.
 */
static int backup_preresume(struct bj_target *bt)
{
	struct bj_backup *b = bt->mode;
	bool held;
	u64 bytes;

	/* Resumed again after another table took over the map (bj_md_sync_yield()). */
	if (b->persist) {
		held = bj_md_sync_held(bt->vol, bt);
		spin_lock_irq(&b->lock);
		if (!held && !b->map_gone) {
			b->map_gone = true;
			DMWARN("%s: backup: its sync map was dropped: not resumable after a crash",
			       dm_device_name(dm_table_get_md(bt->ti->table)));
		}
		spin_unlock_irq(&b->lock);
	}
	/* A resumed incremental leaves its bitmap as it is (every write kept). */
	if (b->live || b->sync != BJ_SYNC_INCREMENTAL || b->bm_taken || b->resumed)
		return 0;
	if (bj_volume_bitmap_take(bt->vol, bt->args.bitmap, &b->taken, true))
		return 0;	/* cannot happen: the bitmap is reserved */
	b->bm_taken = true;
	spin_lock_irq(&b->lock);
	bj_cbw_bitmap_to_chunks(&b->taken, b->bm_granule, &b->need, b->chunk, bt->ti->len);
	b->total = b->need.nr_set;
	bytes = bj_cbw_chunk_bytes(&b->need, b->chunk, bt->ti->len);
	spin_unlock_irq(&b->lock);
	spin_lock_irq(&bt->job.lock);
	bt->job.len = bytes;
	spin_unlock_irq(&bt->job.lock);
	/* The exact set on disk before the first write (a failure fails the job). */
	if (b->persist)
		commit_map(b);
	return 0;
}

static bool job_running(struct bj_target *bt)
{
	bool running;

	spin_lock_irq(&bt->job.lock);
	running = bt->job.state == DM_BLOCKJOB_STATE_RUNNING;
	spin_unlock_irq(&bt->job.lock);
	return running;
}

static void backup_resume(struct bj_target *bt)
{
	struct bj_backup *b = bt->mode;
	bool first;

	spin_lock_irq(&b->lock);
	first = !b->live;
	b->live = true;
	b->suspended = false;
	bj_move_bios(&b->view_retry, &b->view_held);
	maybe_finish(b);
	spin_unlock_irq(&b->lock);

	if (first) {
		if (bt->args.features & BJ_F_START_PAUSED)
			bj_job_apply(bt, BJ_EV_PAUSE);
		spin_lock(&b->link->lock);
		b->link->backup = b;
		b->link->gen = b->gen;
		spin_unlock(&b->link->lock);
	}
	if (job_running(bt))
		bj_copier_start(&b->copier);
	queue_work(b->wq, &b->work);
}

static void backup_postsuspend(struct bj_target *bt)
{
	struct bj_backup *b = bt->mode;

	spin_lock_irq(&b->lock);
	b->suspended = true;
	spin_unlock_irq(&b->lock);
	bj_copier_pause(&b->copier);
	bj_copier_drain(&b->copier);
	/* The next table will not hold writes off for these: let them end. */
	wait_event(b->view_wait, views_idle(b, true));
}

/* Messages, status ------------------------------------------------------- */

static int backup_message(struct bj_target *bt, struct bj_msg *m, char *result,
			  unsigned int maxlen)
{
	struct bj_backup *b = bt->mode;
	u64 first, count, n;
	int r;

	switch (m->type) {
	case BJ_MSG_PAUSE:
		r = bj_job_apply(bt, BJ_EV_PAUSE);
		if (!r)
			bj_copier_pause(&b->copier);
		return r;
	case BJ_MSG_RESUME:
		r = bj_job_apply(bt, BJ_EV_RESUME);
		if (r)
			return r;
		spin_lock_irq(&b->lock);
		b->set_open = false;	/* sync top: the set is complete */
		maybe_finish(b);
		spin_unlock_irq(&b->lock);
		bj_copier_start(&b->copier);
		return 0;
	case BJ_MSG_CANCEL:
		return conclude(b, BJ_EV_CANCEL);
	case BJ_MSG_SET_DIRTY:
		/*
		 * Only into the open set of sync top (the job is still paused),
		 * a slice at a time (BJ_BITMAP_SLICE).
		 */
		if (m->value >= b->nr_chunks || m->count > b->nr_chunks - m->value)
			return -EINVAL;
		first = m->value;
		count = m->count;
		do {
			n = min_t(u64, count, BJ_BITMAP_SLICE);
			spin_lock_irq(&b->lock);
			r = !b->set_open || b->concluded ? -EINVAL : 0;
			if (!r)
				join_set(b, first, n);
			spin_unlock_irq(&b->lock);
			first += n;
			count -= n;
			cond_resched();
		} while (!r && count);
		return r;
	case BJ_MSG_SET_SPEED:
		spin_lock_irq(&bt->job.lock);
		if (bt->job.state == DM_BLOCKJOB_STATE_CONCLUDED) {
			spin_unlock_irq(&bt->job.lock);
			return -EINVAL;
		}
		bt->job.speed = m->value;
		spin_unlock_irq(&bt->job.lock);
		bj_copier_set_speed(&b->copier, m->value);
		return 0;
	default:
		return -EINVAL;
	}
}

static u64 backup_dirty_regions(struct bj_target *bt)
{
	struct bj_backup *b = bt->mode;
	u64 n;

	spin_lock_irq(&b->lock);
	n = b->need.nr_set;
	spin_unlock_irq(&b->lock);
	return n;
}

/* Mode fields: <sync> <chunks saved>/<chunks in the set> <writes that waited> */
static void backup_status(struct bj_target *bt, char *result, unsigned int maxlen,
			  unsigned int *szp)
{
	struct bj_backup *b = bt->mode;
	unsigned int sz = *szp;
	u64 copied, total, waits;

	spin_lock_irq(&b->lock);
	copied = b->copied;
	total = b->total;
	waits = b->cbw_waits;
	spin_unlock_irq(&b->lock);
	DMEMIT(" %s %llu/%llu %llu", bj_sync_name(b->sync), copied, total, waits);
	*szp = sz;
}

static void backup_mem_bytes(struct bj_target *bt, size_t *state, size_t *copies)
{
	struct bj_backup *b = bt->mode;

	*state = sizeof(*b) + bj_bitmap_bytes(&b->need) + bj_bitmap_bytes(&b->taken) +
		 bj_bitmap_bytes(&b->member) + bj_runs_mem_bytes(&b->runs) +
		 bj_bitmap_bytes(&b->durable) + bj_bitmap_bytes(&b->want);
	*copies = bj_copier_mem_bytes(&b->copier);
}

const struct bj_mode_ops bj_backup_ops = {
	.type = DM_BLOCKJOB_TYPE_BACKUP,
	.ctr = backup_ctr,
	.dtr = backup_dtr,
	.map = backup_map,
	.preresume = backup_preresume,
	.resume = backup_resume,
	.postsuspend = backup_postsuspend,
	.message = backup_message,
	.dirty_regions = backup_dirty_regions,
	.status = backup_status,
	.mem_bytes = backup_mem_bytes,
};

/* The view ---------------------------------------------------------------- */

/* Drop a view bio's hold on @b (and its reader count on the chunk). Any context. */
static void view_put(struct bj_backup *b, struct bj_view_io *io)
{
	struct bj_chunk_wait *w;
	unsigned long flags;
	bool kick = false;

	spin_lock_irqsave(&b->lock, flags);
	if (io->src) {
		w = find_wait(b, io->chunk);
		if (w && !--w->readers)
			kick = release_wait(b, w);
		b->view_src_inflight--;
	}
	b->view_inflight--;
	/* @b stays allocated until the waker below is done (dtr waits on it). */
	if (kick)
		queue_work(b->wq, &b->work);
	wake_up_all(&b->view_wait);
	spin_unlock_irqrestore(&b->lock, flags);
}

/*
 * Route a view read of one chunk; b->lock held and the view's hold on @b
 * (view_inflight) taken. Returns the DM_MAPIO_* code; @spare is a wait
 * entry the caller allocated (consumed when used: *@spare set to NULL).
 */
static int view_route(struct bj_backup *b, struct bio *bio, struct bj_view_io *io,
		      struct bj_chunk_wait **spare)
{
	struct bj_target *bt = b->bt;
	struct bj_chunk_wait *w = find_wait(b, io->chunk);

	switch (bj_cbw_view_action(bj_bitmap_test(&b->need, io->chunk), w && w->released,
				   b->concluded, b->failed, b->suspended)) {
	case BJ_VIEW_DST:
		bio_set_dev(bio, bt->dst->bdev);
		bio->bi_iter.bi_sector = bt->args.dst_offset + bio->bi_iter.bi_sector;
		return DM_MAPIO_REMAPPED;
	case BJ_VIEW_DEFER:
		bio_list_add(&b->view_held, bio);
		return DM_MAPIO_SUBMITTED;
	case BJ_VIEW_EIO:
		b->view_inflight--;
		return DM_MAPIO_KILL;
	case BJ_VIEW_WAIT:	/* @w exists: released is set on it */
		bio_list_add(&w->views, bio);
		return DM_MAPIO_SUBMITTED;
	case BJ_VIEW_SRC:
		break;
	}
	if (!w) {
		if (!*spare) {
			bio_list_add(&b->view_retry, bio);
			queue_work(b->wq, &b->work);
			return DM_MAPIO_SUBMITTED;
		}
		w = add_wait(b, *spare, io->chunk);
		*spare = NULL;
	}
	w->readers++;
	io->src = true;
	b->view_src_inflight++;
	bio_set_dev(bio, bt->src->bdev);
	bio->bi_iter.bi_sector = bt->args.src_offset + bio->bi_iter.bi_sector;
	return DM_MAPIO_REMAPPED;
}

/* A view read that found no wait entry in map: route it again, may sleep. */
static void handle_view_retry(struct bj_backup *b, struct bio *bio)
{
	struct bj_view_io *io = dm_per_bio_data(bio, sizeof(struct bj_view_io));
	struct bj_chunk_wait *spare = mempool_alloc(b->pool, GFP_NOIO);
	unsigned long flags;
	int r;

	spin_lock_irqsave(&b->lock, flags);
	if (b->detached) {
		b->view_inflight--;
		r = DM_MAPIO_KILL;
	} else {
		r = view_route(b, bio, io, &spare);
	}
	/* The destructor may be waiting for the hold dropped above. */
	if (r == DM_MAPIO_KILL)
		wake_up_all(&b->view_wait);
	spin_unlock_irqrestore(&b->lock, flags);
	if (spare)
		mempool_free(spare, b->pool);
	if (r == DM_MAPIO_REMAPPED) {
		dm_submit_bio_remap(bio, NULL);
	} else if (r == DM_MAPIO_KILL) {
		io->b = NULL;	/* its hold is dropped above */
		bio_io_error(bio);
	}
}

static int view_ctr(struct bj_target *bt, char **error)
{
	struct bj_view *v;
	struct bj_backup *b;
	int r = -EINVAL;

	bt->ti->num_discard_bios = 0;
	bt->ti->num_write_zeroes_bios = 0;
	v = kzalloc(sizeof(*v), GFP_KERNEL);
	if (!v) {
		*error = "Cannot allocate view state";
		return -ENOMEM;
	}
	v->link = link_get(bt->src->bdev->bd_dev);
	if (!v->link) {
		*error = "Cannot allocate view state";
		r = -ENOMEM;
		goto bad;
	}
	spin_lock(&v->link->lock);
	b = v->link->backup;
	if (!b)
		*error = "No backup job runs on that volume";
	else if (b->sync == BJ_SYNC_INCREMENTAL || b->sync == BJ_SYNC_TOP)
		*error = "A view needs a backup with sync full or none, not incremental or top";
	else if (b->bt->ti->len != bt->ti->len || b->bt->ti->begin)
		*error = "The view's length must equal the volume's";
	else
		v->gen = v->link->gen;
	spin_unlock(&v->link->lock);
	if (!v->gen)
		goto bad_link;
	atomic64_set(&v->reads_src, 0);
	atomic64_set(&v->reads_dst, 0);
	atomic64_set(&v->reads_eio, 0);
	bt->mode = v;
	return 0;

bad_link:
	link_put(v->link);
bad:
	kfree(v);
	return r;
}

static void view_dtr(struct bj_target *bt)
{
	struct bj_view *v = bt->mode;

	link_put(v->link);
	kfree(v);
}

static int view_map(struct bj_target *bt, struct bio *bio)
{
	struct bj_view_io *io = dm_per_bio_data(bio, sizeof(struct bj_view_io));
	struct bj_chunk_wait *spare;
	struct bj_view *v = bt->mode;
	struct bj_backup *b;
	sector_t offset;
	unsigned int n;
	int r;

	io->b = NULL;
	io->src = false;
	if (op_is_write(bio_op(bio))) {
		atomic64_inc(&v->reads_eio);
		return DM_MAPIO_KILL;	/* read-only */
	}
	if (!bio_sectors(bio)) {
		bio_endio(bio);		/* nothing to flush */
		return DM_MAPIO_SUBMITTED;
	}
	offset = dm_target_offset(bt->ti, bio->bi_iter.bi_sector);

	spin_lock(&v->link->lock);
	b = v->link->backup;
	if (!b || v->link->gen != v->gen) {
		spin_unlock(&v->link->lock);
		atomic64_inc(&v->reads_eio);
		return DM_MAPIO_KILL;
	}
	spare = mempool_alloc(b->pool, GFP_NOWAIT);
	spin_lock_irq(&b->lock);
	b->view_inflight++;
	n = to_chunk_end(b, offset);
	if (bio_sectors(bio) > n)
		dm_accept_partial_bio(bio, n);
	io->b = b;
	io->chunk = div64_u64(offset, b->chunk);
	bio->bi_iter.bi_sector = offset;
	r = view_route(b, bio, io, &spare);
	spin_unlock_irq(&b->lock);
	spin_unlock(&v->link->lock);
	if (spare)
		mempool_free(spare, b->pool);
	if (r == DM_MAPIO_KILL) {
		io->b = NULL;
		atomic64_inc(&v->reads_eio);
	} else if (io->src) {
		atomic64_inc(&v->reads_src);
	} else if (r == DM_MAPIO_REMAPPED) {
		atomic64_inc(&v->reads_dst);
	}
	return r;
}

static int view_end_io(struct bj_target *bt, struct bio *bio, blk_status_t *error)
{
	struct bj_view_io *io = dm_per_bio_data(bio, sizeof(struct bj_view_io));

	if (io->b) {
		view_put(io->b, io);
		io->b = NULL;
	}
	return DM_ENDIO_DONE;
}

/* Mode fields: <attached|detached> <reads from source> <from destination> <failed> */
static void view_status(struct bj_target *bt, char *result, unsigned int maxlen,
			unsigned int *szp)
{
	struct bj_view *v = bt->mode;
	unsigned int sz = *szp;
	bool attached;

	spin_lock(&v->link->lock);
	attached = v->link->backup && v->link->gen == v->gen;
	spin_unlock(&v->link->lock);
	DMEMIT(" %s %lld %lld %lld", attached ? "attached" : "detached",
	       (long long)atomic64_read(&v->reads_src), (long long)atomic64_read(&v->reads_dst),
	       (long long)atomic64_read(&v->reads_eio));
	*szp = sz;
}

const struct bj_mode_ops bj_view_ops = {
	.type = DM_BLOCKJOB_TYPE_NONE,
	.ctr = view_ctr,
	.dtr = view_dtr,
	.map = view_map,
	.end_io = view_end_io,
	.status = view_status,
	.per_bio_data_size = sizeof(struct bj_view_io),
};
