/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A volume's job as QEMU's query-block-jobs shows one (BlockJobInfo), plus
 * dm-blockjob's own fields: the object 'blockjob status --json' prints and
 * 'blockjob list --json' lists. Built with json-c; nothing printed here
 * (bj_json_text() gives the text).
 */
#ifndef BJ_STATUS_JSON_H
#define BJ_STATUS_JSON_H

#include <json-c/json.h>

#include "bj-dm.h"

/*
 * The object for volume @name in status @s: QEMU's device, type, status,
 * len, offset, speed, ready, paused, busy, io-status, auto-finalize (true:
 * a job concludes without waiting), auto-dismiss (false: a concluded job
 * stays until dismissed) and error (only for a failed job: the text of its
 * last errno), then mode, result, dirty-regions, errors, last-error,
 * bitmaps, size, extra, memory (@m, or null) and metadata (@metadata, null
 * if "" or NULL). NULL if out of memory.
 */
struct json_object *bj_status_json(const char *name, const struct bj_status *s,
				   const struct bj_memory *m, const char *metadata);

/* The "error" of status @s: NULL unless its job failed; else its text in @buf. */
const char *bj_status_error(const struct bj_status *s, char *buf, size_t len);

#endif
