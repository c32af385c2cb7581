// SPDX-License-Identifier: GPL-2.0
/*
 * Background copier (see bj-copier.h).
 */
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "bj-copier.h"

struct bj_copy {
	struct list_head list;		/* in failed_runs */
	struct bj_copier *c;
	u64 region;			/* first region of the run */
	u64 count;			/* regions in the run */
	bool urgent;
};

static void copy_done(int read_err, unsigned long write_err, void *context)
{
	struct bj_copy *cp = context;
	struct bj_copier *c = cp->c;
	u64 region = cp->region, i;
	u64 count = cp->count;
	bool urgent = cp->urgent;
	bool idle;
	unsigned long flags;

	if ((read_err || write_err) && count > 1) {
		/*
		 * Which region failed? Copy each alone, from the copier's
		 * work (this runs on the copy I/O's workqueue).
		 * The run stays in flight meanwhile.
		 */
		spin_lock_irqsave(&c->lock, flags);
		list_add_tail(&cp->list, &c->failed_runs);
		spin_unlock_irqrestore(&c->lock, flags);
		bj_copier_kick(c);
		return;
	}
	kfree(cp);
	for (i = 0; i < count; i++)
		c->ops->done(c, region + i, urgent, read_err, write_err);

	/*
	 * @completing keeps bj_copier_drain() (and so the destructor) waiting
	 * until the kick below has been queued on a live workqueue.
	 */
	spin_lock_irqsave(&c->lock, flags);
	if (urgent)
		c->urgent_inflight--;
	else
		c->inflight--;
	if (read_err || write_err) {
		c->backoff = c->backoff ? min(c->backoff * 2, (unsigned long)BJ_COPIER_BACKOFF_MAX)
					: BJ_COPIER_BACKOFF_MIN;
		c->retry_at = jiffies + c->backoff;
	} else {
		c->backoff = 0;
	}
	c->completing++;
	spin_unlock_irqrestore(&c->lock, flags);
	if (!urgent)
		bj_copier_kick(c);
	spin_lock_irqsave(&c->lock, flags);
	c->completing--;
	idle = !c->inflight && !c->urgent_inflight && !c->completing;
	spin_unlock_irqrestore(&c->lock, flags);
	if (idle)
		wake_up_all(&c->idle_wait);
}

static void copy_read(void *context)
{
	struct bj_copy *cp = context;

	cp->c->ops->read_done(cp->c, cp->region);
}

static void issue(struct bj_copier *c, u64 region, u64 count, bool urgent)
{
	struct bj_copy *cp;
	sector_t start = bj_region_start(c, region), len;

	cp = kmalloc(sizeof(*cp), GFP_NOIO | __GFP_NOFAIL);
	cp->c = c;
	cp->region = region;
	cp->count = count;
	cp->urgent = urgent;

	/* Only the volume's last region can be short, and it ends a run. */
	len = (count - 1) * c->granule + bj_region_len(c, region + count - 1);
	/* Background copies are bounded by max_inflight: they may keep buffers. */
	bj_copyio_copy(&c->io, c->src, c->src_offset + start, c->dst, c->dst_offset + start, len,
		       !urgent, copy_done, urgent && c->ops->read_done ? copy_read : NULL, cp);
}

/* Copy the regions of failed runs one by one (paused or not: in flight). */
static void split_failed_runs(struct bj_copier *c)
{
	struct bj_copy *cp, *tmp;
	unsigned long flags;
	LIST_HEAD(runs);
	u64 i;

	spin_lock_irqsave(&c->lock, flags);
	list_splice_init(&c->failed_runs, &runs);
	list_for_each_entry(cp, &runs, list)
		c->inflight += cp->count - 1;
	spin_unlock_irqrestore(&c->lock, flags);
	list_for_each_entry_safe(cp, tmp, &runs, list) {
		for (i = 0; i < cp->count; i++)
			issue(c, cp->region + i, 1, false);
		list_del(&cp->list);
		kfree(cp);
	}
}

static void copier_work(struct work_struct *ws)
{
	struct bj_copier *c = container_of(to_delayed_work(ws), struct bj_copier, work);
	u64 region_bytes = (u64)c->granule << SECTOR_SHIFT;
	u64 region, count, max, delay;
	unsigned long flags;

	split_failed_runs(c);
	for (;;) {
		spin_lock_irqsave(&c->lock, flags);
		if (!c->running || c->stopping || c->inflight >= c->max_inflight) {
			spin_unlock_irqrestore(&c->lock, flags);
			return;
		}
		if (c->backoff && time_before(jiffies, c->retry_at)) {
			delay = c->retry_at - jiffies;
			spin_unlock_irqrestore(&c->lock, flags);
			queue_delayed_work(c->wq, &c->work, delay);
			return;
		}
		/* The run's first region is accounted here, the rest below. */
		delay = bj_throttle_delay(&c->throttle, ktime_get_ns(), region_bytes);
		if (delay) {
			spin_unlock_irqrestore(&c->lock, flags);
			queue_delayed_work(c->wq, &c->work, max(1UL, nsecs_to_jiffies(delay)));
			return;
		}
		max = max_t(u64, 1, BJ_COPIER_RUN_BYTES / region_bytes);
		max = min(max, 1 + div64_u64(bj_throttle_left(&c->throttle), region_bytes));
		c->inflight++;
		spin_unlock_irqrestore(&c->lock, flags);

		count = c->ops->next(c, &region, max);
		if (!count) {
			spin_lock_irqsave(&c->lock, flags);
			c->inflight--;
			bj_throttle_refund(&c->throttle, region_bytes);
			spin_unlock_irqrestore(&c->lock, flags);
			wake_up_all(&c->idle_wait);
			return;
		}
		if (count > 1) {
			spin_lock_irqsave(&c->lock, flags);
			bj_throttle_charge(&c->throttle, (count - 1) * region_bytes);
			spin_unlock_irqrestore(&c->lock, flags);
		}
		issue(c, region, count, false);
	}
}

int bj_copier_init(struct bj_copier *c, const struct bj_copier_ops *ops, void *owner,
		   struct block_device *src, sector_t src_offset,
		   struct block_device *dst, sector_t dst_offset,
		   sector_t granule, sector_t len, unsigned int max_inflight, u64 speed,
		   const char *name)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->owner = owner;
	c->src = src;
	c->src_offset = src_offset;
	c->dst = dst;
	c->dst_offset = dst_offset;
	c->granule = granule;
	c->len = len;
	c->nr_regions = div64_u64(len + granule - 1, granule);
	c->max_inflight = max_inflight;
	spin_lock_init(&c->lock);
	INIT_LIST_HEAD(&c->failed_runs);
	init_waitqueue_head(&c->idle_wait);
	bj_throttle_init(&c->throttle, speed);
	INIT_DELAYED_WORK(&c->work, copier_work);

	c->wq = alloc_workqueue("bj-copy-%s", WQ_MEM_RECLAIM | WQ_UNBOUND, 1, name);
	if (!c->wq)
		return -ENOMEM;
	r = bj_copyio_init(&c->io, name, max_inflight);
	if (r) {
		destroy_workqueue(c->wq);
		c->wq = NULL;
		return r;
	}
	return 0;
}

void bj_copier_drain(struct bj_copier *c)
{
	wait_event(c->idle_wait, !bj_copier_busy(c));
}

unsigned int bj_copier_busy(struct bj_copier *c)
{
	unsigned int n;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	n = c->inflight + c->urgent_inflight + c->completing;
	spin_unlock_irqrestore(&c->lock, flags);
	return n;
}

void bj_copier_destroy(struct bj_copier *c)
{
	unsigned long flags;

	if (!c->wq)
		return;
	spin_lock_irqsave(&c->lock, flags);
	c->stopping = true;
	c->running = false;
	spin_unlock_irqrestore(&c->lock, flags);
	cancel_delayed_work_sync(&c->work);
	bj_copier_drain(c);
	bj_copyio_exit(&c->io);
	destroy_workqueue(c->wq);
	c->wq = NULL;
}

void bj_copier_start(struct bj_copier *c)
{
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	c->running = !c->stopping;
	spin_unlock_irqrestore(&c->lock, flags);
	bj_copier_kick(c);
}

void bj_copier_pause(struct bj_copier *c)
{
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	c->running = false;
	spin_unlock_irqrestore(&c->lock, flags);
}

void bj_copier_kick(struct bj_copier *c)
{
	mod_delayed_work(c->wq, &c->work, 0);
}

void bj_copier_set_speed(struct bj_copier *c, u64 bytes_per_sec)
{
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	bj_throttle_set_rate(&c->throttle, bytes_per_sec);
	spin_unlock_irqrestore(&c->lock, flags);
	bj_copier_kick(c);
}

void bj_copier_copy_now(struct bj_copier *c, u64 region)
{
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	c->urgent_inflight++;
	spin_unlock_irqrestore(&c->lock, flags);
	issue(c, region, 1, true);
}
