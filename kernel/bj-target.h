/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-blockjob: the state shared by every mode of the "blockjob" target.
 *
 * One struct bj_target per table. The mode (passthrough, mirror, backup) is
 * chosen by the table line and implemented behind struct bj_mode_ops; the
 * per-volume state that outlives table reloads (named dirty bitmaps) lives
 * in struct bj_volume (bj-volume.h).
 */
#ifndef DM_BLOCKJOB_TARGET_H
#define DM_BLOCKJOB_TARGET_H

#include <linux/device-mapper.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "bj-args.h"
#include "bj-job.h"

#define DM_MSG_PREFIX "blockjob"

struct bj_target;
struct bj_volume;
struct bj_msg;

/* Mode hooks; NULL hooks are skipped. All run in process context. */
struct bj_mode_ops {
	enum dm_blockjob_type type;
	/* Allocate mode state; set *error (ti->error) on failure. */
	int (*ctr)(struct bj_target *bt, char **error);
	void (*dtr)(struct bj_target *bt);
	int (*map)(struct bj_target *bt, struct bio *bio);
	int (*end_io)(struct bj_target *bt, struct bio *bio, blk_status_t *error);
	void (*presuspend)(struct bj_target *bt);
	/* The suspend was abandoned after presuspend (postsuspend never runs). */
	void (*presuspend_undo)(struct bj_target *bt);
	void (*postsuspend)(struct bj_target *bt);
	int (*preresume)(struct bj_target *bt);
	void (*resume)(struct bj_target *bt);
	/* Queue limits beyond the region-sized io_opt every job sets. */
	void (*io_hints)(struct bj_target *bt, struct queue_limits *limits);
	/* Job messages (pause, resume, cancel, ...); -EINVAL if not valid now. */
	int (*message)(struct bj_target *bt, struct bj_msg *m, char *result, unsigned int maxlen);
	/* Regions (mirror) or chunks (backup) still to copy, for status. */
	u64 (*dirty_regions)(struct bj_target *bt);
	/* Mode fields appended to the INFO status line, each with a leading space. */
	void (*status)(struct bj_target *bt, char *result, unsigned int maxlen, unsigned int *sz);
	/*
	 * Bytes of memory the mode holds now: its state (bitmaps, runs) in
	 * *@state, copy requests and buffers in *@copies (the "memory" message).
	 */
	void (*mem_bytes)(struct bj_target *bt, size_t *state, size_t *copies);
	size_t per_bio_data_size;
};

/*
 * Job bookkeeping common to every job type. Protected by @lock (a spinlock:
 * bio completion paths update counters); events raised under it are queued
 * and sent by @notify_work, which also calls dm_table_event() (it sleeps).
 */
struct bj_job {
	spinlock_t lock;	/* protects everything below */
	enum dm_blockjob_state state;
	enum bj_job_result result;
	u64 len;		/* bytes the job must process */
	u64 done;		/* bytes processed */
	u64 speed;		/* bytes/s limit, 0 = none */
	u64 nr_errors;
	int last_error;		/* negative errno, 0 = none */
	const char *last_error_where;	/* static string: "source-read", ... */
	bool dest_invalid;	/* destination holds no usable copy */
	bool io_error_pending;	/* io-status "failed" until resumed */

	struct list_head events;	/* struct bj_event, protected by @lock */
	struct work_struct notify_work;
	unsigned long last_progress;	/* jiffies of the last progress event */
	bool dead;		/* dtr started: queue no more events */
};

struct bj_target {
	struct dm_target *ti;
	struct bj_args args;
	struct dm_dev *src;	/* passthrough: the device */
	struct dm_dev *dst;	/* mirror/backup destination */
	struct dm_dev *meta;	/* the volume's metadata device, or NULL */
	struct bj_volume *vol;
	const struct bj_mode_ops *ops;
	void *mode;		/* the mode's private state */
	struct bj_job job;
	/*
	 * The feature words for the TABLE status, copied at construction:
	 * dm frees the argv strings once the constructor returns.
	 */
	char *features;
	bool refused;		/* passthrough: refused to take over a mirror */
	/*
	 * Writes held for a metadata commit (bj-md.c): @held and @held_node
	 * (in bj_volume.held_targets while @held is not empty) under the
	 * volume's lock; @committing and @commit_node belong to the commit
	 * worker.
	 */
	struct bio_list held;
	struct list_head held_node;
	struct bio_list committing;
	struct list_head commit_node;
};

extern const struct bj_mode_ops bj_passthrough_ops;
extern const struct bj_mode_ops bj_mirror_ops;
extern const struct bj_mode_ops bj_backup_ops;
extern const struct bj_mode_ops bj_view_ops;

/* Mode-wide set-up at module load (slab caches). */
int bj_mirror_init(void);
void bj_mirror_exit(void);

/*
 * May a passthrough table on the destination of mirror @bt replace it? Yes
 * once the job concluded completed; while @loading also when it is ready
 * and "complete" was asked (the suspend that follows concludes it).
 */
bool bj_mirror_may_pivot(struct bj_target *bt, bool loading);

/* bj-jobcore.c: state changes and events. */
void bj_job_init(struct bj_target *bt, u64 len, u64 speed);
void bj_job_stop_events(struct bj_target *bt);
/*
 * Apply @ev under job.lock (the caller must not hold it); queues the events
 * that go with the transition. Returns 0 or -EINVAL if not allowed now.
 */
int bj_job_apply(struct bj_target *bt, enum bj_job_event ev);
/* As bj_job_apply(), with job.lock held by the caller. */
int bj_job_apply_locked(struct bj_target *bt, enum bj_job_event ev);
/* Record an error (job.lock not held) and send BLOCK_JOB_ERROR. */
void bj_job_error(struct bj_target *bt, int err, const char *where);
/* Add progress; sends a progress event at most once a second. */
void bj_job_progress(struct bj_target *bt, u64 bytes);
/* Queue an event of @type with the job's current figures (job.lock held). */
void bj_job_queue_event_locked(struct bj_target *bt, enum dm_blockjob_event type);

static inline sector_t bj_src_sector(struct bj_target *bt, sector_t sector)
{
	return bt->args.src_offset + dm_target_offset(bt->ti, sector);
}

static inline sector_t bj_dst_sector(struct bj_target *bt, sector_t sector)
{
	return bt->args.dst_offset + dm_target_offset(bt->ti, sector);
}

/*
 * Move every bio of @src to the tail of @dst, leaving @src empty. Returns
 * true if any moved (the caller then kicks whatever works through @dst).
 * The caller holds the lock that protects both lists.
 */
static inline bool bj_move_bios(struct bio_list *dst, struct bio_list *src)
{
	if (bio_list_empty(src))
		return false;
	bio_list_merge(dst, src);
	bio_list_init(src);
	return true;
}

#endif
