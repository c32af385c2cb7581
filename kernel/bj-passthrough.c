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

const struct bj_mode_ops bj_passthrough_ops = {
	.type = DM_BLOCKJOB_TYPE_NONE,
	.map = passthrough_map,
};
