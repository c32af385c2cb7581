// SPDX-License-Identifier: GPL-2.0
/*
 * Passthrough mode: the state a volume is in when no job runs. Every bio is
 * remapped to the one device at its offset; writes are recorded in the
 * volume's named dirty bitmaps.
 */
#include <linux/bio.h>

#include "bj-target.h"
#include "bj-volume.h"

static int passthrough_map(struct bj_target *bt, struct bio *bio)
{
	bio_set_dev(bio, bt->src->bdev);
	if (bio_sectors(bio)) {
		if (op_is_write(bio_op(bio)))
			bj_volume_mark(bt->vol, dm_target_offset(bt->ti, bio->bi_iter.bi_sector),
				       bio_sectors(bio));
		bio->bi_iter.bi_sector = bj_src_sector(bt, bio->bi_iter.bi_sector);
	}
	return DM_MAPIO_REMAPPED;
}

/*
 * A passthrough table on the destination of the volume's mirror is the
 * pivot: it must not serve the volume unless the mirror completed, or a
 * write the destination lacks would be lost. Checked when the table is
 * loaded (a clear error for a manual reload) and again before it goes
 * live, when the old table's suspend has decided (a refusal then leaves
 * the device suspended: load the source's table and resume).
 */
static int passthrough_ctr(struct bj_target *bt, char **error)
{
	return bj_volume_may_take_over(bt->vol, bt->src->bdev->bd_dev, true, error);
}

static int passthrough_preresume(struct bj_target *bt)
{
	char *error;
	int r;

	r = bj_volume_may_take_over(bt->vol, bt->src->bdev->bd_dev, false, &error);
	if (r) {
		DMERR("%s: refusing to resume: %s",
		      dm_device_name(dm_table_get_md(bt->ti->table)), error);
		bt->refused = true;
	}
	/* Once refused, always: the mirror may be gone by the next resume. */
	return bt->refused ? -EBUSY : 0;
}

const struct bj_mode_ops bj_passthrough_ops = {
	.type = DM_BLOCKJOB_TYPE_NONE,
	.ctr = passthrough_ctr,
	.map = passthrough_map,
	.preresume = passthrough_preresume,
};
