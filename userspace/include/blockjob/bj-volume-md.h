/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Volumes with a metadata device: creating one (its passthrough table and
 * its volume record), and keeping the record (bj-record.h) in step with the
 * live table: where the volume lives, which job it runs. Every place that
 * changes a volume's table to passthrough or starts a job sends the record
 * through bj_volume_record(), so that 'blockjob activate' finds the volume
 * where it is after a reboot or a crash.
 *
 * Functions return 0 or a negative errno with one line in @err (BJ_ERRLEN).
 */
#ifndef BJ_VOLUME_MD_H
#define BJ_VOLUME_MD_H

#include <stdint.h>

#include "bj-err.h"
#include "bj-record.h"

/*
 * Send volume @name's record (message "metadata record <text>", which also
 * clears the superblock's PIVOTED flag): home = the identity of its live
 * table's source device ("src", the passthrough device) and its offset;
 * @job, and for a job its destination @dest ("major:minor", NULL for none)
 * at @dest_off. A mirror's destination must have an identity (-ENOENT); a
 * backup's is left out if it has none. A no-op (0) on a volume without a
 * metadata device.
 */
int bj_volume_record(const char *name, enum bj_record_job job, const char *dest,
		     uint64_t dest_off, char *err);
/* The same with the job's table features @opts (NULL: none), for a resume. */
int bj_volume_record_job(const char *name, enum bj_record_job job, const char *dest,
			 uint64_t dest_off, const char *opts, char *err);

/*
 * Create volume @name of @sectors in passthrough on @dev ("major:minor")
 * at @off sectors, with its metadata on @mdev ("major:minor"; "" or NULL
 * for none) whose superblock uuid is @md_uuid (BJ_MD_UUID_LEN bytes; the
 * volume's DM UUID is then BLOCKJOB-VOL-<its hex>, the same at every
 * activation; NULL: a random one); with a metadata device, then send its record (home = @dev),
 * unless @committed (the record the metadata device holds, not pivoted;
 * NULL if unknown) already says exactly that: reopening a volume where it
 * lives commits nothing. If the record cannot be sent the volume is removed
 * again (the metadata stays valid) and @err says so.
 */
int bj_volume_create(const char *name, const char *dev, uint64_t off, uint64_t sectors,
		     const char *mdev, const uint8_t *md_uuid, const char *committed, char *err);

#endif
