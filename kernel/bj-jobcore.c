// SPDX-License-Identifier: GPL-2.0
/*
 * Job bookkeeping shared by the mirror and backup modes: state transitions,
 * error accounting and event delivery. Transitions happen in any context
 * (bio completions run in softirq), so events are queued under job.lock and
 * sent from a work item, which may sleep for netlink and dm_table_event().
 */
#include <linux/dm-ioctl.h>
#include <linux/jiffies.h>
#include <linux/kdev_t.h>
#include <linux/slab.h>

#include "bj-netlink.h"
#include "bj-target.h"

struct bj_event {
	struct list_head list;
	struct bj_event_info info;
};

static void bj_notify_work(struct work_struct *ws)
{
	struct bj_job *job = container_of(ws, struct bj_job, notify_work);
	struct bj_target *bt = container_of(job, struct bj_target, job);
	struct mapped_device *md = dm_table_get_md(bt->ti->table);
	struct bj_event *ev, *tmp;
	unsigned long flags;
	bool state_change = false;
	char name[DM_NAME_LEN];
	LIST_HEAD(list);

	spin_lock_irqsave(&job->lock, flags);
	list_splice_init(&job->events, &list);
	spin_unlock_irqrestore(&job->lock, flags);

	/*
	 * The device's dm name ("vol0"), as userspace knows it; dm_device_name()
	 * is the "major:minor" string of kernel messages.
	 */
	if (!list_empty(&list) && dm_copy_name_and_uuid(md, name, NULL))
		strscpy(name, dm_device_name(md), sizeof(name));

	list_for_each_entry_safe(ev, tmp, &list, list) {
		ev->info.device = name;
		ev->info.dev = new_encode_dev(disk_devt(dm_disk(md)));
		bj_netlink_send(&ev->info);
		if (ev->info.event != DM_BLOCKJOB_EVENT_PROGRESS)
			state_change = true;
		list_del(&ev->list);
		kfree(ev);
	}
	if (state_change)
		dm_table_event(bt->ti->table);
}

void bj_job_init(struct bj_target *bt, u64 len, u64 speed)
{
	struct bj_job *job = &bt->job;

	spin_lock_init(&job->lock);
	INIT_LIST_HEAD(&job->events);
	INIT_WORK(&job->notify_work, bj_notify_work);
	job->state = bt->ops->type == DM_BLOCKJOB_TYPE_NONE ?
		DM_BLOCKJOB_STATE_IDLE : DM_BLOCKJOB_STATE_RUNNING;
	job->result = BJ_RESULT_NONE;
	job->len = bt->ops->type == DM_BLOCKJOB_TYPE_NONE ? 0 : len;
	job->speed = speed;
	job->last_progress = jiffies;
}

/* Called from the destructor: no event is queued after this returns. */
void bj_job_stop_events(struct bj_target *bt)
{
	struct bj_job *job = &bt->job;
	struct bj_event *ev, *tmp;
	unsigned long flags;

	flush_work(&job->notify_work);
	spin_lock_irqsave(&job->lock, flags);
	job->dead = true;
	list_for_each_entry_safe(ev, tmp, &job->events, list) {
		list_del(&ev->list);
		kfree(ev);
	}
	spin_unlock_irqrestore(&job->lock, flags);
	cancel_work_sync(&job->notify_work);
}

/*
 * Errors and progress not sent yet are coalesced: an error or progress
 * event that follows one of the same type still queued replaces it, so a
 * region failing again and again (policy "ignore") or a slow listener does
 * not grow the queue. State changes are never merged.
 */
static struct bj_event *mergeable(struct bj_job *job, enum dm_blockjob_event type)
{
	struct bj_event *last;

	if (type != DM_BLOCKJOB_EVENT_ERROR && type != DM_BLOCKJOB_EVENT_PROGRESS)
		return NULL;
	if (list_empty(&job->events))
		return NULL;
	last = list_last_entry(&job->events, struct bj_event, list);
	return last->info.event == type ? last : NULL;
}

void bj_job_queue_event_locked(struct bj_target *bt, enum dm_blockjob_event type)
{
	struct bj_job *job = &bt->job;
	struct bj_event *ev;

	lockdep_assert_held(&job->lock);
	if (job->dead)
		return;
	ev = mergeable(job, type);
	if (ev) {
		list_del(&ev->list);
		memset(ev, 0, sizeof(*ev));
	} else {
		ev = kzalloc(sizeof(*ev), GFP_ATOMIC);
	}
	if (!ev)
		return;
	ev->info.event = type;
	ev->info.type = bt->ops->type;
	ev->info.state = job->state;
	ev->info.len = job->len;
	ev->info.offset = job->done;
	ev->info.speed = job->speed;
	if (type == DM_BLOCKJOB_EVENT_ERROR ||
	    (type == DM_BLOCKJOB_EVENT_COMPLETED && job->result == BJ_RESULT_FAILED)) {
		ev->info.error = job->last_error;
		ev->info.error_msg = job->last_error_where;
	}
	list_add_tail(&ev->list, &job->events);
	schedule_work(&job->notify_work);
}

int bj_job_apply_locked(struct bj_target *bt, enum bj_job_event ev)
{
	struct bj_job *job = &bt->job;
	enum dm_blockjob_state next;
	enum bj_job_result result;
	int r;

	lockdep_assert_held(&job->lock);
	r = bj_job_next_state(job->state, ev, &next, &result);
	if (r)
		return r;
	if (next == job->state)
		return 0;
	job->state = next;
	job->result = result;	/* none unless concluded */
	bj_job_queue_event_locked(bt, DM_BLOCKJOB_EVENT_STATUS_CHANGE);
	if (ev == BJ_EV_SYNCED || ev == BJ_EV_REOPEN)
		bj_job_queue_event_locked(bt, DM_BLOCKJOB_EVENT_READY);
	if (next == DM_BLOCKJOB_STATE_CONCLUDED)
		bj_job_queue_event_locked(bt, result == BJ_RESULT_CANCELLED ?
					  DM_BLOCKJOB_EVENT_CANCELLED :
					  DM_BLOCKJOB_EVENT_COMPLETED);
	return 0;
}

int bj_job_apply(struct bj_target *bt, enum bj_job_event ev)
{
	unsigned long flags;
	int r;

	spin_lock_irqsave(&bt->job.lock, flags);
	r = bj_job_apply_locked(bt, ev);
	spin_unlock_irqrestore(&bt->job.lock, flags);
	return r;
}

void bj_job_error(struct bj_target *bt, int err, const char *where)
{
	struct bj_job *job = &bt->job;
	unsigned long flags;

	spin_lock_irqsave(&job->lock, flags);
	job->nr_errors++;
	job->last_error = err;
	job->last_error_where = where;
	bj_job_queue_event_locked(bt, DM_BLOCKJOB_EVENT_ERROR);
	spin_unlock_irqrestore(&job->lock, flags);
	DMERR_LIMIT("%s: %s error %d", dm_device_name(dm_table_get_md(bt->ti->table)),
		    where, err);
}

void bj_job_progress(struct bj_target *bt, u64 bytes)
{
	struct bj_job *job = &bt->job;
	unsigned long flags;

	spin_lock_irqsave(&job->lock, flags);
	job->done = min(job->done + bytes, job->len);
	if (time_after(jiffies, job->last_progress + HZ)) {
		job->last_progress = jiffies;
		bj_job_queue_event_locked(bt, DM_BLOCKJOB_EVENT_PROGRESS);
	}
	spin_unlock_irqrestore(&job->lock, flags);
}
