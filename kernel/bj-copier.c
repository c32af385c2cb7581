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
	struct bj_copier *c;
	u64 region;
	bool urgent;
};

static void copy_done(int read_err, unsigned long write_err, void *context)
{
	struct bj_copy *cp = context;
	struct bj_copier *c = cp->c;
	u64 region = cp->region;
	bool urgent = cp->urgent;
	bool idle;
	unsigned long flags;

	kfree(cp);
	c->ops->done(c, region, urgent, read_err, write_err);

	/*
	 * @completing keeps bj_copier_drain() (and so the destructor) waiting
	 * until the kick below has been queued on a live workqueue.
	 */
	spin_lock_irqsave(&c->lock, flags);
	if (urgent)
		c->urgent_inflight--;
	else
		c->inflight--;
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

static void issue(struct bj_copier *c, u64 region, bool urgent)
{
	struct dm_io_region from, to;
	struct bj_copy *cp;

	cp = kmalloc(sizeof(*cp), GFP_NOIO | __GFP_NOFAIL);
	cp->c = c;
	cp->region = region;
	cp->urgent = urgent;

	from.bdev = c->src;
	from.sector = c->src_offset + bj_region_start(c, region);
	from.count = bj_region_len(c, region);
	to.bdev = c->dst;
	to.sector = c->dst_offset + bj_region_start(c, region);
	to.count = from.count;
	dm_kcopyd_copy(c->kc, &from, 1, &to, 0, copy_done, cp);
}

static void copier_work(struct work_struct *ws)
{
	struct bj_copier *c = container_of(to_delayed_work(ws), struct bj_copier, work);
	u64 region, delay;
	unsigned long flags;

	for (;;) {
		spin_lock_irqsave(&c->lock, flags);
		if (!c->running || c->stopping || c->inflight >= c->max_inflight) {
			spin_unlock_irqrestore(&c->lock, flags);
			return;
		}
		delay = bj_throttle_delay(&c->throttle, ktime_get_ns(),
					  (u64)c->granule << SECTOR_SHIFT);
		if (delay) {
			spin_unlock_irqrestore(&c->lock, flags);
			queue_delayed_work(c->wq, &c->work, max(1UL, nsecs_to_jiffies(delay)));
			return;
		}
		c->inflight++;
		spin_unlock_irqrestore(&c->lock, flags);

		if (!c->ops->next(c, &region)) {
			spin_lock_irqsave(&c->lock, flags);
			c->inflight--;
			bj_throttle_refund(&c->throttle, (u64)c->granule << SECTOR_SHIFT);
			spin_unlock_irqrestore(&c->lock, flags);
			wake_up_all(&c->idle_wait);
			return;
		}
		issue(c, region, false);
	}
}

int bj_copier_init(struct bj_copier *c, const struct bj_copier_ops *ops, void *owner,
		   struct block_device *src, sector_t src_offset,
		   struct block_device *dst, sector_t dst_offset,
		   sector_t granule, sector_t len, unsigned int max_inflight, u64 speed,
		   const char *name)
{
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
	init_waitqueue_head(&c->idle_wait);
	bj_throttle_init(&c->throttle, speed);
	INIT_DELAYED_WORK(&c->work, copier_work);

	c->wq = alloc_workqueue("bj-copy-%s", WQ_MEM_RECLAIM | WQ_UNBOUND, 1, name);
	if (!c->wq)
		return -ENOMEM;
	c->kc = dm_kcopyd_client_create(NULL);
	if (IS_ERR(c->kc)) {
		int r = PTR_ERR(c->kc);

		destroy_workqueue(c->wq);
		c->kc = NULL;
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
	dm_kcopyd_client_destroy(c->kc);
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
	issue(c, region, true);
}
