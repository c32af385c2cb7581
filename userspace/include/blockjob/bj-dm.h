/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libblockjob's device-mapper layer (libdevmapper): create and remove
 * volumes, load tables, suspend/resume, send messages, read status.
 *
 * Every function returns 0 or a negative errno and, on failure, leaves one
 * line saying what went wrong in the caller's @err buffer (BJ_ERRLEN).
 */
#ifndef BJ_DM_H
#define BJ_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bj-err.h"

#define BJ_TARGET "blockjob"
/* The longest dm device name, in bytes without the NUL (DM_NAME_LEN - 1). */
#define BJ_DM_NAME_MAX 127

struct bj_table {
	uint64_t start, len;		/* sectors */
	char type[32];			/* target type */
	char *params;			/* malloc'ed */
};

/* The fields of a blockjob INFO status line (Documentation/dm-blockjob.rst). */
struct bj_status {
	char mode[16];			/* passthrough, mirror, backup */
	char state[16];			/* idle, running, paused, ready, standby, concluded */
	char result[16];		/* -, completed, cancelled, failed */
	uint64_t done, len;		/* bytes */
	uint64_t dirty;			/* regions still to copy */
	uint64_t speed;			/* bytes/s, 0 = unlimited */
	uint64_t errors;
	char last_error[64];		/* "-" or "where:errno" */
	unsigned int nr_bitmaps;
	char extra[256];		/* mode fields, verbatim */
	uint64_t sectors;		/* target length */
};

/*
 * The dm name of a volume as a user gave it: NAME or /dev/mapper/NAME.
 * 0 with *@name pointing into @arg; -EINVAL (empty, ".", "..", another path
 * or a '/' in it) or -ENAMETOOLONG (more than BJ_DM_NAME_MAX bytes) with one
 * line in @err saying what to give instead.
 */
int bj_dm_name(const char *arg, const char **name, char *err);

/* bj_dm_create() and bj_dm_create_table() flags */
#define BJ_DM_READ_ONLY		0x1
/*
 * A private device (a backup's view): udev's disk and other rules skip it,
 * so that it gets no /dev/disk/by-uuid, by-label or by-id link and never
 * takes over those of the volume whose file system it shows.
 */
#define BJ_DM_PRIVATE		0x2

/*
 * Every device the project creates has a DM UUID with this prefix:
 * BLOCKJOB-VOL-<uuid> (volumes: their metadata device's uuid, as 'blockjob
 * metadata dump' shows it, else a random one), BLOCKJOB-VIEW-<uuid> (views,
 * random), BLOCKJOB-QCOW2-<name> (qcow2-table.h).
 */
#define BJ_DM_UUID_PREFIX	"BLOCKJOB-"
#define BJ_DM_UUID_VOLUME	"VOL"
#define BJ_DM_UUID_VIEW		"VIEW"
#define BJ_DM_ID_LEN		16
/* the longest parameter string of one target */
#define BJ_DM_PARAMS_MAX	1024

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" of @id, into @buf. */
#define BJ_UUID_STR_LEN		37
const char *bj_uuid_str(const uint8_t id[BJ_DM_ID_LEN], char buf[BJ_UUID_STR_LEN]);
/*
 * A DM UUID "BLOCKJOB-<kind>-<bj_uuid_str(@id)>" into @uuid (@len bytes);
 * @id NULL: random bytes.
 */
int bj_dm_new_uuid(const char *kind, const uint8_t id[BJ_DM_ID_LEN], char *uuid, size_t len,
		   char *err);

/*
 * Create @name, one blockjob target of @sectors with @params, DM UUID
 * @uuid (NULL: none), @flags BJ_DM_*. Like every create, remove and resume
 * here, it returns once udev has made (or removed) the nodes and links,
 * where udev runs; elsewhere libdevmapper makes the nodes itself.
 */
int bj_dm_create(const char *name, const char *uuid, unsigned int flags, const char *params,
		 uint64_t sectors, char *err);
int bj_dm_remove(const char *name, char *err);
bool bj_dm_exists(const char *name);
/* True if the device's live table is read-only. */
bool bj_dm_read_only(const char *name);
/* Load @params as the inactive table (one blockjob target over @sectors). */
int bj_dm_load(const char *name, const char *params, uint64_t sectors, char *err);
/* Drop the inactive table. */
int bj_dm_clear(const char *name, char *err);
int bj_dm_suspend(const char *name, bool noflush, char *err);
int bj_dm_resume(const char *name, char *err);
/* Send @msg to sector 0; *@reply (malloc'ed, may be NULL) gets the target's answer. */
int bj_dm_message(const char *name, const char *msg, char **reply, char *err);
/* The single target of the live table. */
int bj_dm_table(const char *name, struct bj_table *t, char *err);
/* The inactive (loaded, not yet resumed) table; -ENODATA if there is none. */
int bj_dm_inactive_table(const char *name, struct bj_table *t, char *err);
/* Is @name suspended, does it have an inactive table? */
int bj_dm_state(const char *name, bool *suspended, bool *inactive, char *err);
void bj_dm_table_free(struct bj_table *t);
/* Parse the live table's status; -ENOTTY if it is not a blockjob target. */
int bj_dm_status(const char *name, struct bj_status *s, char *err);
int bj_parse_status(const char *line, struct bj_status *s);
/* What a blockjob target holds now, in bytes (its "memory" message). */
struct bj_memory {
	uint64_t state;			/* the job's bitmaps and structures */
	uint64_t copies;		/* copy requests and buffers */
	uint64_t bitmaps;		/* the volume's named dirty bitmaps */
};

int bj_dm_memory(const char *name, struct bj_memory *m, char *err);
int bj_parse_memory(const char *reply, struct bj_memory *m);
/* Wait for the device's next dm event after @event_nr; returns the new number. */
int bj_dm_event_nr(const char *name, uint32_t *event_nr, char *err);
/* Major:minor of the dm device @name. */
int bj_dm_devnum(const char *name, unsigned int *major, unsigned int *minor, char *err);

/* What DM_DEVICE_INFO says of a device. */
struct bj_dm_info {
	bool exists;
	unsigned int major, minor;
	int open_count;
	char name[128];
	char uuid[160];
};

/* Info of @name, or of device @major:@minor when @name is NULL; -ENODEV if there is none. */
int bj_dm_info(const char *name, unsigned int major, unsigned int minor, struct bj_dm_info *d);
/*
 * Fill target @i of a table: its sectors, type and parameters (into
 * @params of @plen bytes). 0, or non-zero to give up (out of memory).
 */
typedef int (*bj_dm_target_fn)(void *opaque, size_t i, uint64_t *start, uint64_t *len,
			       const char **type, char *params, size_t plen);
/*
 * Create @name with @n targets from @target, dm UUID @uuid (NULL: none),
 * @flags BJ_DM_*. The kernel's refusal of a large table (ENOMEM, E2BIG)
 * is said with the number of targets.
 */
int bj_dm_create_table(const char *name, const char *uuid, unsigned int flags, size_t n,
		       bj_dm_target_fn target, void *opaque, char *err);
/* The devices the linear targets of @name map onto, each once (*@devs malloc'ed). */
int bj_dm_linear_devs(const char *name, dev_t **devs, size_t *n);
/* The names of all dm devices (*@names malloc'ed). */
int bj_dm_list(char (**names)[BJ_DM_NAME_MAX + 1], size_t *n, char *err);
/* The directory of the dm device nodes (/dev/mapper). */
const char *bj_dm_dir(void);

/* Size in bytes and "major:minor" of a block device path. */
int bj_blockdev_info(const char *path, uint64_t *bytes, unsigned int *major,
		     unsigned int *minor, char *err);
/* True if the block device has holders or is open exclusively elsewhere. */
bool bj_blockdev_in_use(unsigned int major, unsigned int minor);

#endif
