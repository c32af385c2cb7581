/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libblockjob's job layer: start jobs by table reload, and switch a volume
 * back to passthrough when its job concludes (on the destination after a
 * completed mirror, on the source otherwise).
 */
#ifndef BJ_JOB_H
#define BJ_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "bj-dm.h"

/* The longest metadata device the table may name, in bytes without the NUL. */
#define BJ_MD_DEV_MAX 127
/* Room for any table line the job layer and the CLI build, with the NUL. */
#define BJ_TABLE_MAX 1024

/* The live table of a blockjob volume, parsed. */
struct bj_vtable {
	char mode[16];			/* passthrough, mirror, backup */
	char src[32];			/* major:minor */
	uint64_t src_off;		/* sectors */
	char dst[32];			/* major:minor, "" in passthrough */
	uint64_t dst_off;
	uint64_t granule;		/* sectors, 0 in passthrough */
	char features[512];		/* "<#features> <features>*" or "" */
	/*
	 * The volume's metadata device (feature "metadata <dev>", as the
	 * table gives it: "253:2"), "" if it has none. Every table loaded
	 * for the volume must carry it: bj_table_params() does.
	 */
	char metadata[BJ_MD_DEV_MAX + 1];
	uint64_t sectors;		/* target length */
};

int bj_vtable_get(const char *name, struct bj_vtable *t, char *err);

/*
 * Parse the parameters of a blockjob table line (what 'dmsetup table'
 * shows after the target type: "passthrough 253:1 0 2 metadata 253:2")
 * into @t (sectors, which the table line does not give, is left 0). 0,
 * or -EPROTO if it is not one.
 */
int bj_vtable_parse(const char *params, struct bj_vtable *t);

/*
 * The parameters of a new table for the volume whose live table is @vt:
 * @head (mode and positional arguments: "mirror 253:1 0 253:5 0 128"),
 * then the feature arguments @features (words without their count; "" or
 * NULL for none) followed by those every table of the volume carries
 * (metadata <dev>), with their count; no count when there is no feature.
 * 0, or -ENAMETOOLONG if the line does not fit in @len bytes.
 */
int bj_table_params(char *buf, size_t len, const char *head, const char *features,
		    const struct bj_vtable *vt);

/*
 * The job-layer calls below change a volume's table: callers hold the
 * volume's lock (bj-lock.h) across their checks and the switch, and first
 * call bj_volume_check_left() so that they do not build on a volume an
 * interrupted command left half-switched.
 */

/*
 * Replace the volume's table with @params (a blockjob table line, same
 * length) atomically with respect to I/O: load, suspend (flushing), run
 * @check on the suspended old table's status (may be NULL; a non-zero
 * return aborts: the new table is dropped and the old one resumed), resume.
 * Signals are blocked throughout (delivered after), so that Ctrl-C or
 * SIGTERM cannot leave the volume suspended or with a table loaded.
 */
int bj_volume_switch(const char *name, const char *params,
		     int (*check)(const char *name, const struct bj_status *st, char *err),
		     char *err);

/*
 * Start a job: @params is a mirror or backup table line. Refuses unless
 * the volume is in passthrough mode.
 */
int bj_job_start(const char *name, const char *params, char *err);

/*
 * Once the job is concluded, put the volume back in passthrough mode on
 * the right device. A no-op (returns 0) on a passthrough volume.
 */
int bj_job_finish(const char *name, char *err);

/*
 * Dismiss the concluded job on @name (QEMU's job-dismiss): its views are
 * removed and the volume goes back to passthrough on its source. Returns
 * 0 on a passthrough volume, 1 if a job was dismissed (its result in
 * @result, BJ_FIELD bytes, if not NULL); -EBUSY (with why in @err) if the
 * job has not concluded, or is a mirror that concluded completed, which
 * only 'complete' finishes (it is never put back on the source silently).
 */
int bj_job_dismiss(const char *name, struct bj_status *st, char *err);

/*
 * Check that block device @target can receive a job of volume @name (table
 * @vt): not the volume or its device, at least as large, not in use. Sets
 * *@tmaj:*@tmin to its device number.
 */
int bj_job_check_target(const char *name, const struct bj_vtable *vt, const char *target,
			unsigned int *tmaj, unsigned int *tmin, char *err);

/*
 * -EBUSY with a one-line explanation (naming 'blockjob recover') if volume
 * @name is suspended or has an inactive table: left so by an interrupted
 * command or by someone else; 0 if neither.
 */
int bj_volume_check_left(const char *name, char *err);

/*
 * Bring volume @name back to a consistent, running state after an
 * interrupted command: a pivot whose suspend concluded the mirror
 * (inactive table = passthrough on its destination, mirror concluded
 * completed) is finished; any other inactive table is dropped and the
 * volume resumed on its live table (a mirror whose pivot was abandoned is
 * ready again). Never switches onto a destination that lacks a write.
 * *@what says what was done ("nothing to recover" if nothing).
 */
int bj_volume_recover(const char *name, const char **what, char *err);

/*
 * Passthrough table line for device @dev ("major:minor") at @off sectors,
 * for the volume whose live table is @vt (bj_table_params()).
 */
int bj_passthrough_params(char *buf, size_t len, const struct bj_vtable *vt, const char *dev,
			  uint64_t off);

#endif
