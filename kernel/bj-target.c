// SPDX-License-Identifier: GPL-2.0
/*
 * dm-blockjob: live block jobs (mirror, backup) as a device-mapper target.
 *
 * This file holds what every mode shares: the constructor and destructor,
 * device checks, status, message dispatch, and module registration. The
 * modes live in bj-passthrough.c, bj-mirror.c and bj-backup.c.
 *
 * See Documentation/dm-blockjob.rst for the table syntax, status fields and
 * messages.
 */
#include <linux/blkdev.h>
#include <linux/module.h>
#include <uapi/linux/dm-blockjob.h>

#include "bj-copyio.h"
#include "bj-md.h"
#include "bj-netlink.h"
#include "bj-target.h"
#include "bj-volume.h"

static const struct bj_mode_ops *const bj_modes[] = {
	[BJ_MODE_PASSTHROUGH] = &bj_passthrough_ops,
	[BJ_MODE_MIRROR] = &bj_mirror_ops,
	[BJ_MODE_BACKUP] = &bj_backup_ops,
	[BJ_MODE_VIEW] = &bj_view_ops,
};

/* What a constructor says when one of its devices does not fit. */
struct bj_dev_errors {
	char *lookup;
	char *offset;
	char *size;
};

static const struct bj_dev_errors src_errors = {
	.lookup = "Source device not found or busy: give a block device path or major:minor",
	.offset = "Source offset is beyond the end of the source device",
	.size = "Source device too small: offset + target length exceeds its size",
};

static const struct bj_dev_errors dst_errors = {
	.lookup = "Destination device not found or busy: give a block device path or major:minor",
	.offset = "Destination offset is beyond the end of the destination device",
	.size = "Destination device too small: offset + target length exceeds its size",
};

/*
 * Open @path for @ti and check that [@offset, @offset + ti->len) lies
 * within it.
 */
static int bj_get_dev(struct dm_target *ti, const char *path, sector_t offset,
		      fmode_t mode, struct dm_dev **dev, const struct bj_dev_errors *errs)
{
	sector_t size;
	int r;

	r = dm_get_device(ti, path, mode, dev);
	if (r) {
		ti->error = errs->lookup;
		return r;
	}
	size = bdev_nr_sectors((*dev)->bdev);
	if (offset >= size) {
		ti->error = errs->offset;
		goto bad;
	}
	if (ti->len > size - offset) {
		ti->error = errs->size;
		goto bad;
	}
	return 0;
bad:
	dm_put_device(ti, *dev);
	*dev = NULL;
	return -EINVAL;
}

/* True when the two mapped ranges share sectors of one device. */
static bool ranges_overlap(struct bj_target *bt)
{
	sector_t len = bt->ti->len;

	if (bt->src->bdev != bt->dst->bdev)
		return false;
	return bt->args.src_offset < bt->args.dst_offset + len &&
	       bt->args.dst_offset < bt->args.src_offset + len;
}

/* Keep "<#features> <feature>*" for the TABLE status (argv dies after ctr). */
static int copy_features(struct bj_target *bt)
{
	size_t len = 16;
	unsigned int i;
	int n;

	if (!bt->args.nr_feature_args)
		return 0;
	for (i = 0; i < bt->args.nr_feature_args; i++)
		len += strlen(bt->args.feature_args[i]) + 1;
	bt->features = kmalloc(len, GFP_KERNEL);
	if (!bt->features)
		return -ENOMEM;
	n = scnprintf(bt->features, len, "%u", bt->args.nr_feature_args);
	for (i = 0; i < bt->args.nr_feature_args; i++)
		n += scnprintf(bt->features + n, len - n, " %s", bt->args.feature_args[i]);
	/* Do not keep pointers into argv. */
	memset(bt->args.feature_args, 0, sizeof(bt->args.feature_args));
	return 0;
}

/*
 * Construct a blockjob target; see bj-args.h for the table line.
 */
static int blockjob_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	fmode_t mode = dm_table_get_mode(ti->table);
	struct bj_target *bt;
	int r;

	bt = kzalloc(sizeof(*bt), GFP_KERNEL);
	if (!bt) {
		ti->error = "Cannot allocate target context";
		return -ENOMEM;
	}
	bt->ti = ti;
	ti->private = bt;

	r = bj_parse_table(argc, argv, &bt->args, &ti->error);
	if (r)
		goto bad_free;
	if (bt->args.mode >= ARRAY_SIZE(bj_modes) || !bj_modes[bt->args.mode]) {
		ti->error = "Mode not supported by this build of dm-blockjob";
		r = -EINVAL;
		goto bad_free;
	}
	bt->ops = bj_modes[bt->args.mode];
	r = copy_features(bt);
	if (r) {
		ti->error = "Cannot allocate target context";
		goto bad_free;
	}

	r = bj_get_dev(ti, bt->args.src_path, bt->args.src_offset, mode, &bt->src, &src_errors);
	if (r)
		goto bad_free;
	if (bt->args.dst_path) {
		r = bj_get_dev(ti, bt->args.dst_path, bt->args.dst_offset,
			       FMODE_READ | FMODE_WRITE, &bt->dst, &dst_errors);
		if (r)
			goto bad_src;
		if (ranges_overlap(bt)) {
			ti->error =
				"Destination overlaps the source: give another device or offset";
			r = -EINVAL;
			goto bad_dst;
		}
	}

	if (bt->args.md_path) {
		r = dm_get_device(ti, bt->args.md_path, FMODE_READ | FMODE_WRITE, &bt->meta);
		if (r) {
			ti->error =
				"Metadata device not found or busy: give a device or major:minor";
			goto bad_dst;
		}
		if (bt->meta->bdev == bt->src->bdev ||
		    (bt->dst && bt->meta->bdev == bt->dst->bdev)) {
			ti->error =
				"Metadata device is a data device of this table";
			r = -EINVAL;
			goto bad_meta;
		}
	}

	bt->vol = bj_volume_get(dm_table_get_md(ti->table), ti->begin, ti->len,
				bt->meta ? bt->meta->bdev->bd_dev : 0, &ti->error);
	if (IS_ERR(bt->vol)) {
		r = PTR_ERR(bt->vol);
		bt->vol = NULL;
		goto bad_meta;
	}
	bio_list_init(&bt->held);
	INIT_LIST_HEAD(&bt->held_node);
	bio_list_init(&bt->committing);
	INIT_LIST_HEAD(&bt->commit_node);

	bj_job_init(bt, (u64)ti->len << SECTOR_SHIFT, bt->args.speed);
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = bt->ops->per_bio_data_size;

	if (bt->ops->ctr) {
		r = bt->ops->ctr(bt, &ti->error);
		if (r)
			goto bad_vol;
	}
	return 0;

bad_vol:
	bj_job_stop_events(bt);
	bj_volume_put(bt->vol);
bad_meta:
	if (bt->meta)
		dm_put_device(ti, bt->meta);
bad_dst:
	if (bt->dst)
		dm_put_device(ti, bt->dst);
bad_src:
	dm_put_device(ti, bt->src);
bad_free:
	kfree(bt->features);
	kfree(bt);
	ti->private = NULL;
	return r;
}

static void blockjob_dtr(struct dm_target *ti)
{
	struct bj_target *bt = ti->private;

	if (bt->ops->dtr)
		bt->ops->dtr(bt);
	bj_job_stop_events(bt);
	bj_volume_put(bt->vol);
	if (bt->meta)
		dm_put_device(ti, bt->meta);
	if (bt->dst)
		dm_put_device(ti, bt->dst);
	dm_put_device(ti, bt->src);
	kfree(bt->features);
	kfree(bt);
}

/*
 * With persistent bitmaps a write may be held until its bits are durable;
 * the metadata store then maps it through the mode outside dm's map, where
 * dm_accept_partial_bio() is not allowed: so it is cut here first where the
 * mode would cut it (at its region or chunk boundary).
 */
static int hold_for_metadata(struct bj_target *bt, struct bio *bio)
{
	sector_t offset, unit = bt->args.granule;
	sector_t left;

	if (bt->args.mode == BJ_MODE_MIRROR || bt->args.mode == BJ_MODE_BACKUP) {
		offset = dm_target_offset(bt->ti, bio->bi_iter.bi_sector);
		left = unit - (offset & (unit - 1));
		if (bio_sectors(bio) > left)
			dm_accept_partial_bio(bio, left);
	}
	return bj_volume_hold(bt->vol, bt, bio);
}

static int blockjob_map(struct dm_target *ti, struct bio *bio)
{
	struct bj_target *bt = ti->private;
	int r;

	if (bt->vol->store && op_is_write(bio_op(bio)) && bio_sectors(bio)) {
		r = hold_for_metadata(bt, bio);
		if (r >= 0)
			return r;
	}
	return bt->ops->map(bt, bio);
}

static int blockjob_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct bj_target *bt = ti->private;

	if (bt->ops->end_io)
		return bt->ops->end_io(bt, bio, error);
	return DM_ENDIO_DONE;
}

static void blockjob_presuspend(struct dm_target *ti)
{
	struct bj_target *bt = ti->private;

	if (bt->ops->presuspend)
		bt->ops->presuspend(bt);
}

static void blockjob_presuspend_undo(struct dm_target *ti)
{
	struct bj_target *bt = ti->private;

	if (bt->ops->presuspend_undo)
		bt->ops->presuspend_undo(bt);
}

static void blockjob_postsuspend(struct dm_target *ti)
{
	struct bj_target *bt = ti->private;

	if (bt->ops->postsuspend)
		bt->ops->postsuspend(bt);
}

static int blockjob_preresume(struct dm_target *ti)
{
	struct bj_target *bt = ti->private;

	/* An unfinished backup's map must not outlive its table (bj-md.h). */
	if (bt->vol && bt->vol->store)
		bj_md_sync_yield(bt->vol, bt);
	if (bt->ops->preresume)
		return bt->ops->preresume(bt);
	return 0;
}

static void blockjob_resume(struct dm_target *ti)
{
	struct bj_target *bt = ti->private;

	if (bt->ops->resume)
		bt->ops->resume(bt);
}

/*
 * Status.
 *
 * INFO (see Documentation/dm-blockjob.rst):
 *   <mode> <state> <result> <bytes done>/<bytes total> <dirty regions>
 *   <speed> <#errors> <last error> <#bitmaps> [<mode field>*]
 *
 * Passthrough shows "passthrough idle - 0/0 0 0 0 - <#bitmaps>".
 *
 * TABLE: the table line, devices as major:minor, features as given.
 */
static void blockjob_status(struct dm_target *ti, status_type_t type,
			    unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct bj_target *bt = ti->private;
	struct bj_job *job = &bt->job;
	unsigned int sz = 0, nr_bitmaps;
	struct bj_job snap;
	unsigned long flags;
	size_t bm_bytes;

	switch (type) {
	case STATUSTYPE_INFO:
		spin_lock_irqsave(&job->lock, flags);
		snap.state = job->state;
		snap.result = job->result;
		snap.done = job->done;
		snap.len = job->len;
		snap.speed = job->speed;
		snap.nr_errors = job->nr_errors;
		snap.last_error = job->last_error;
		snap.last_error_where = job->last_error_where;
		spin_unlock_irqrestore(&job->lock, flags);
		bj_volume_stats(bt->vol, &nr_bitmaps, &bm_bytes);

		DMEMIT("%s %s %s %llu/%llu %llu %llu %llu ", bj_mode_name(bt->args.mode),
		       bj_state_name(snap.state), bj_result_name(snap.result),
		       snap.done, snap.len,
		       bt->ops->dirty_regions ? bt->ops->dirty_regions(bt) : 0ULL,
		       snap.speed, snap.nr_errors);
		if (snap.last_error)
			DMEMIT("%s:%d", snap.last_error_where, snap.last_error);
		else
			DMEMIT("-");
		DMEMIT(" %u", nr_bitmaps);
		if (bt->ops->status)
			bt->ops->status(bt, result, maxlen, &sz);
		break;

	case STATUSTYPE_TABLE:
		if (bt->args.mode == BJ_MODE_VIEW) {
			DMEMIT("%s %s", bj_mode_name(bt->args.mode), bt->src->name);
			break;
		}
		DMEMIT("%s %s %llu", bj_mode_name(bt->args.mode), bt->src->name,
		       (unsigned long long)bt->args.src_offset);
		if (bt->dst)
			DMEMIT(" %s %llu %llu", bt->dst->name,
			       (unsigned long long)bt->args.dst_offset,
			       (unsigned long long)bt->args.granule);
		if (bt->features)
			DMEMIT(" %s", bt->features);
		break;

	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",mode=%s,state=%s;", bj_mode_name(bt->args.mode),
		       bj_state_name(bt->job.state));
		break;
	}
}

/*
 * Reply to "memory": "<state bytes> <copy bytes> <bitmap bytes>\n", what the
 * job's state, its copy requests and buffers, and the volume's named dirty
 * bitmaps hold now (see Documentation/dm-blockjob.rst).
 */
static void memory_reply(struct bj_target *bt, char *result, unsigned int maxlen)
{
	size_t state = 0, copies = 0, bitmaps = 0;
	unsigned int sz = 0, nr_bitmaps;

	if (bt->ops->mem_bytes)
		bt->ops->mem_bytes(bt, &state, &copies);
	bj_volume_stats(bt->vol, &nr_bitmaps, &bitmaps);
	DMEMIT("%zu %zu %zu\n", state, copies, bitmaps);
}

static int blockjob_message(struct dm_target *ti, unsigned int argc, char **argv,
			    char *result, unsigned int maxlen)
{
	struct bj_target *bt = ti->private;
	const char *error = NULL;
	struct bj_msg m;
	int r;

	r = bj_parse_message(argc, argv, &m, &error);
	if (r)
		goto bad;
	switch (m.type) {
	case BJ_MSG_BITMAP_ADD:
	case BJ_MSG_BITMAP_REMOVE:
	case BJ_MSG_BITMAP_CLEAR:
	case BJ_MSG_BITMAP_ENABLE:
	case BJ_MSG_BITMAP_DISABLE:
	case BJ_MSG_BITMAP_MERGE:
	case BJ_MSG_BITMAP_LIST:
	case BJ_MSG_BITMAP_DUMP:
	case BJ_MSG_METADATA:
	case BJ_MSG_METADATA_RECORD:
		if (bt->args.mode == BJ_MODE_VIEW) {
			error = "a view has no dirty bitmaps: send bitmap messages to the volume";
			r = -EINVAL;
			break;
		}
		r = bj_volume_message(bt->vol, &m, result, maxlen, &error);
		break;
	case BJ_MSG_MEMORY:
		memory_reply(bt, result, maxlen);
		break;
	default:
		if (!bt->ops->message) {
			error = "no job runs on this volume (passthrough mode)";
			r = -EINVAL;
			break;
		}
		r = bt->ops->message(bt, &m, result, maxlen);
		if (r && !error)
			error = "not valid in the job's current state";
		break;
	}
	/* dm-ioctl passes @result back to userspace only when we return 1. */
	if (!r)
		return m.type == BJ_MSG_BITMAP_LIST || m.type == BJ_MSG_BITMAP_DUMP ||
		       m.type == BJ_MSG_MEMORY || m.type == BJ_MSG_METADATA;
	if (r == -ENOMEM)
		return r;
bad:
	DMWARN("%s: message \"%s\" rejected: %s",
	       dm_device_name(dm_table_get_md(ti->table)), argc ? argv[0] : "",
	       error ? error : "invalid");
	return -EINVAL;
}

static int blockjob_iterate_devices(struct dm_target *ti, iterate_devices_callout_fn fn,
				    void *data)
{
	struct bj_target *bt = ti->private;
	int r;

	r = fn(ti, bt->src, bt->args.src_offset, ti->len, data);
	if (!r && bt->dst)
		r = fn(ti, bt->dst, bt->args.dst_offset, ti->len, data);
	return r;
}

/*
 * The stacked limits of the devices (from iterate_devices) already hold;
 * a job's region or chunk is the optimal write size on top of them: a
 * write of a whole region needs no copy to make that region clean.
 */
/*
 * A job works in regions: I/O of whole regions is best. An optimal size the
 * devices already give that is a multiple of the region is kept (it is
 * good for both), as dm-cache does with its blocks.
 */
static void blockjob_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct bj_target *bt = ti->private;
	unsigned int region = bt->args.granule << SECTOR_SHIFT;

	if (bt->ops->type == DM_BLOCKJOB_TYPE_NONE)
		return;
	if (limits->io_opt < region || limits->io_opt % region)
		blk_limits_io_opt(limits, region);
	if (bt->ops->io_hints)
		bt->ops->io_hints(bt, limits);
}

static struct target_type blockjob_target = {
	.name = "blockjob",
	.version = { DM_BLOCKJOB_VERSION_MAJOR, DM_BLOCKJOB_VERSION_MINOR,
		     DM_BLOCKJOB_VERSION_PATCH },
	.module = THIS_MODULE,
	.ctr = blockjob_ctr,
	.dtr = blockjob_dtr,
	.map = blockjob_map,
	.end_io = blockjob_end_io,
	.presuspend = blockjob_presuspend,
	.presuspend_undo = blockjob_presuspend_undo,
	.postsuspend = blockjob_postsuspend,
	.preresume = blockjob_preresume,
	.resume = blockjob_resume,
	.status = blockjob_status,
	.message = blockjob_message,
	.iterate_devices = blockjob_iterate_devices,
	.io_hints = blockjob_io_hints,
};

static int __init dm_blockjob_init(void)
{
	int r;

	r = bj_copyio_module_init();
	if (r)
		return r;
	r = bj_mirror_init();
	if (r)
		goto bad_copyio;
	r = bj_netlink_init();
	if (r) {
		DMERR("cannot register the generic netlink family: %d", r);
		goto bad_mirror;
	}
	r = dm_register_target(&blockjob_target);
	if (r) {
		DMERR("cannot register the target: %d", r);
		goto bad_netlink;
	}
	return 0;

bad_netlink:
	bj_netlink_exit();
bad_mirror:
	bj_mirror_exit();
bad_copyio:
	bj_copyio_module_exit();
	return r;
}

static void __exit dm_blockjob_exit(void)
{
	dm_unregister_target(&blockjob_target);
	bj_netlink_exit();
	bj_mirror_exit();
	bj_copyio_module_exit();
}

module_init(dm_blockjob_init);
module_exit(dm_blockjob_exit);

MODULE_DESCRIPTION(DM_NAME " live block jobs: mirror and backup");
MODULE_AUTHOR("dm-blockjob developers");
MODULE_LICENSE("GPL");
