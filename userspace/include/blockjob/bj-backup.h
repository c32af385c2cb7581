/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libblockjob's backup helpers: the point-in-time view devices of a backup
 * job, and the volume's named dirty bitmaps (list and dump parsing).
 */
#ifndef BJ_BACKUP_H
#define BJ_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "bj-dm.h"

/*
 * Create the read-only view device /dev/mapper/@view ("view MAJ:MIN") of
 * the backup job running on volume @volume.
 */
int bj_view_create(const char *view, const char *volume, char *err);

/*
 * Remove every view device of volume @volume. Call before switching the
 * volume back to passthrough (bj_job_finish) so no reader is left with a
 * view that only answers EIO. Returns the number removed or a negative errno.
 */
int bj_view_remove_all(const char *volume, char *err);

struct bj_bitmap_info {
	char name[64];
	uint64_t granularity;		/* bytes */
	uint64_t dirty;			/* bytes (whole granules, clamped to the volume) */
	bool enabled;
	bool busy;			/* claimed by a backup job */
	bool persistent;		/* kept on the volume's metadata device */
};

/* What bj_bitmap_name_valid() takes, for messages. */
#define BJ_BITMAP_NAME_RULE	"1 to 63 characters of A-Z a-z 0-9 _ . : -"
/* True if the kernel takes @name as a bitmap name (BJ_BITMAP_NAME_RULE). */
bool bj_bitmap_name_valid(const char *name);

/*
 * One line of the "bitmap list" reply: "NAME GRAN_BYTES DIRTY_BYTES
 * enabled|disabled[ busy][ persistent]". Words after the state are flags
 * in any order; unknown ones are skipped (a newer kernel's), and a kernel
 * that knows no persistent bitmaps gives none. 0, or -EPROTO.
 */
int bj_parse_bitmap_line(const char *line, struct bj_bitmap_info *b);

/* The bitmaps of @volume; *@list is malloc'ed (free it), *@n its length. */
int bj_bitmap_list(const char *volume, struct bj_bitmap_info **list, int *n, char *err);
/* Find bitmap @name: 0 and *@info filled, -ENOENT, or another error. */
int bj_bitmap_find(const char *volume, const char *name, struct bj_bitmap_info *info,
		   char *err);

struct bj_range {
	uint64_t start, len;		/* bytes */
};

/* The dirty ranges of bitmap @name; *@ranges malloc'ed. */
int bj_bitmap_dump(const char *volume, const char *name, struct bj_range **ranges, int *n,
		   char *err);

#endif
