/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The volume record (superblock bytes 200..711 of a volume's metadata
 * device, include/uapi/linux/dm-blockjob-md.h): where the volume lives and
 * which job it runs, so that 'blockjob activate' can bring it back after a
 * reboot or a crash. The kernel stores the text as it is given; its
 * grammar is userspace's, and this file is it (Documentation/dm-blockjob.rst,
 * "Volume record"):
 *
 *   record = field *("," field)        at most BJ_RECORD_MAX bytes
 *   field  = key "=" value
 *
 * Values are bytes 0x21..0x7e; any other byte, and '%', ',' and '=', is
 * written %XX (two uppercase hex digits; either case is read). Keys:
 *
 *   home      identity (lib/bj-devid.h) of the device the volume lives on; required
 *   home_off  its offset there in 512-byte sectors, decimal (default 0)
 *   job       mirror or backup (absent: no job)
 *   dest      identity of the job's destination (a mirror's is required)
 *   dest_off  its offset in sectors (default 0)
 *   opts      the job's table features, space-separated (a mirror's, so that
 *             'activate' resumes it as it was started); only with a job
 *
 * Unknown keys are skipped (a newer blockjob may add some); a known key
 * given twice is an error. Pure: no I/O.
 */
#ifndef BJ_RECORD_H
#define BJ_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uapi/linux/dm-blockjob-md.h"

#include "bj-err.h"

/* The longest record text, without its NUL: 511 bytes. */
#define BJ_RECORD_MAX	(BJ_MD_RECORD_LEN - 1)
/* Room for a device identity with its NUL (bj-devid.h, the record's values). */
#define BJ_ID_LEN	512

enum bj_record_job {
	BJ_RECORD_NO_JOB,
	BJ_RECORD_MIRROR,
	BJ_RECORD_BACKUP,
};

struct bj_record {
	char home[BJ_ID_LEN];
	uint64_t home_off;		/* sectors */
	enum bj_record_job job;
	char dest[BJ_ID_LEN];		/* "" if none (a backup may have none) */
	uint64_t dest_off;		/* sectors */
	char opts[BJ_ID_LEN];		/* the job's table features, "" if none */
};

/* "mirror", "backup" or "none". */
const char *bj_record_job_name(enum bj_record_job job);

/*
 * Write @rec as record text into @buf (@len bytes): 0, -EINVAL (no home, a
 * mirror without dest, a dest without a job) or -ENAMETOOLONG (longer than
 * BJ_RECORD_MAX bytes, or than @len - 1), with @err saying which.
 */
int bj_record_format(char *buf, size_t len, const struct bj_record *rec, char *err);

/*
 * Parse record text @text into @rec: 0, or -EINVAL with @err naming what is
 * wrong (a field without '=', a bad %XX, a byte outside 0x21..0x7e, a
 * duplicate key, a number that is not one, an unknown job, no home, a
 * mirror without dest, a dest without a job, an empty record).
 */
int bj_record_parse(const char *text, struct bj_record *rec, char *err);

/*
 * Where the volume lives according to record @rec and the superblock's
 * BJ_MD_SB_PIVOTED (@pivoted): on its mirror's destination (dest,
 * dest_off) once a mirror pivoted, else on home (home, home_off). *@id
 * points into @rec. -EINVAL if @pivoted but @rec names no mirror with a
 * destination (a damaged record).
 */
int bj_record_home(const struct bj_record *rec, bool pivoted, const char **id, uint64_t *off,
		   char *err);

#endif
