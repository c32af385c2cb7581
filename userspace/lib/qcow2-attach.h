/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What qcow2-attach.c shares with qcow2-job.c (job destinations and sync
 * top): library-internal. The public API is qcow2-table.h.
 */
#ifndef BJ_QCOW2_ATTACH_H
#define BJ_QCOW2_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "bj-dm.h"
#include "qcow2-table.h"

/* Is @d one of our qcow2 devices (dm UUID BJ_QCOW2_UUID_PREFIX...)? */
bool bj_qcow2_is_ours(const struct bj_dm_info *d);
/*
 * Attach @image as the lower device @lower (no volume on top) as @o says,
 * and record it for @volume. 0, or -errno with one line in @err.
 */
int bj_qcow2_attach_common(const char *volume, const char *lower, const char *image,
			   const struct bj_qattach_opts *o, struct bj_qattach *a, char *err);
/* Flush @lower so the loop files hold every write, remove it, wait for its loops. */
int bj_qcow2_remove_lower(const char *lower, char *err);
/*
 * The image recorded for @lower, checked to be the same file still, and
 * the backing format given at attach into @bfmt ("" if none).
 */
int bj_qcow2_record_read(const char *lower, char *image, size_t len, char bfmt[8], char *err);

#endif
