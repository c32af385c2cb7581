/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Table-line and message parsing for the blockjob target. Pure logic: it
 * turns words into a struct and an error string; opening devices and size
 * checks against them happen in the constructor.
 *
 * Table lines (sizes and offsets in 512-byte sectors; every mode but view
 * takes the feature "metadata <dev>", the volume's metadata device):
 *   passthrough <dev> <offset> [<#feature args> <feature arg>*]
 *   mirror <src> <src offset> <dst> <dst offset> <region size>
 *          [<#feature args> <feature arg>*]
 *   backup <src> <src offset> <dst> <dst offset> <chunk size>
 *          [<#feature args> <feature arg>*]
 *   view <volume>
 *        (read-only point-in-time view of the backup job running on the
 *        blockjob volume <volume>, a dm device; no features)
 */
#ifndef DM_BLOCKJOB_ARGS_H
#define DM_BLOCKJOB_ARGS_H

#include <linux/bits.h>
#include <linux/types.h>

enum bj_mode {
	BJ_MODE_PASSTHROUGH,
	BJ_MODE_MIRROR,
	BJ_MODE_BACKUP,
	BJ_MODE_VIEW,
};

enum bj_policy {
	BJ_POLICY_REPORT,
	BJ_POLICY_STOP,
	BJ_POLICY_IGNORE,
};

enum bj_copy_mode {
	BJ_COPY_BACKGROUND,
	BJ_COPY_WRITE_BLOCKING,
};

enum bj_sync {
	BJ_SYNC_FULL,
	BJ_SYNC_NONE,
	BJ_SYNC_INCREMENTAL,
	BJ_SYNC_TOP,
};

enum bj_bitmap_mode {
	BJ_BITMAP_ON_SUCCESS,
	BJ_BITMAP_ALWAYS,
	BJ_BITMAP_NEVER,
};

enum bj_cbw_policy {
	BJ_CBW_BREAK_SNAPSHOT,
	BJ_CBW_BREAK_GUEST_WRITE,
};

/* Granularity bounds, in sectors: 4 KiB .. 64 MiB, a power of two. */
#define BJ_GRANULE_MIN		8
#define BJ_GRANULE_MAX		(128 * 1024)
#define BJ_GRANULE_DEFAULT	128
#define BJ_MAX_COPIES_DEFAULT	16
#define BJ_MAX_COPIES_MAX	256
#define BJ_NAME_MAX		64	/* bitmap names, including the NUL */
#define BJ_MAX_FEATURES		16	/* feature words in one table line */

/* Feature flags: which features a table line gave explicitly. */
#define BJ_F_COPY_MODE		BIT(0)
#define BJ_F_SYNC		BIT(1)
#define BJ_F_SPEED		BIT(2)
#define BJ_F_ON_SOURCE_ERROR	BIT(3)
#define BJ_F_ON_TARGET_ERROR	BIT(4)
#define BJ_F_MAX_COPIES		BIT(5)
#define BJ_F_BITMAP		BIT(6)
#define BJ_F_BITMAP_MODE	BIT(7)
#define BJ_F_ON_CBW_ERROR	BIT(8)
#define BJ_F_START_PAUSED	BIT(9)
#define BJ_F_METADATA		BIT(10)
#define BJ_F_RESUME		BIT(11)

struct bj_args {
	enum bj_mode mode;
	const char *src_path;		/* points into argv; view: the volume */
	sector_t src_offset;
	const char *dst_path;		/* mirror/backup only, NULL otherwise */
	sector_t dst_offset;
	sector_t granule;		/* region (mirror) or chunk (backup) size */

	unsigned int features;		/* BJ_F_* given */
	enum bj_copy_mode copy_mode;
	enum bj_sync sync;
	u64 speed;			/* bytes/s, 0 = unlimited */
	enum bj_policy on_source_error;
	enum bj_policy on_target_error;
	unsigned int max_copies;
	char bitmap[BJ_NAME_MAX];
	enum bj_bitmap_mode bitmap_mode;
	enum bj_cbw_policy on_cbw_error;
	const char *md_path;		/* metadata device, NULL = none; points into argv */

	/* The feature words as given, for the table line ("dmsetup table"). */
	unsigned int nr_feature_args;
	const char *feature_args[BJ_MAX_FEATURES];	/* point into argv */
};

/*
 * Parse a table line. On error returns -EINVAL and points *@error at a
 * message for ti->error; @a is then undefined.
 */
int bj_parse_table(unsigned int argc, char **argv, struct bj_args *a, char **error);

/* A bitmap name: 1..63 characters of [A-Za-z0-9_.:-]. */
bool bj_valid_name(const char *name);

enum bj_msg_type {
	BJ_MSG_PAUSE,
	BJ_MSG_RESUME,
	BJ_MSG_CANCEL,
	BJ_MSG_COMPLETE,
	BJ_MSG_SET_SPEED,	/* u64 */
	BJ_MSG_COPY_MODE,	/* copy_mode: only background -> write_blocking */
	BJ_MSG_SET_DIRTY,	/* start, count (in regions): mark regions to copy */
	BJ_MSG_BITMAP_ADD,	/* name, granule */
	BJ_MSG_BITMAP_REMOVE,	/* name */
	BJ_MSG_BITMAP_CLEAR,	/* name */
	BJ_MSG_BITMAP_ENABLE,	/* name */
	BJ_MSG_BITMAP_DISABLE,	/* name */
	BJ_MSG_BITMAP_MERGE,	/* name (dst), src */
	BJ_MSG_BITMAP_LIST,	/* (result in the message's reply) */
	BJ_MSG_BITMAP_DUMP,	/* name */
	BJ_MSG_MEMORY,		/* (result in the message's reply) */
	BJ_MSG_METADATA,	/* metadata store statistics (in the reply) */
	BJ_MSG_METADATA_RECORD,	/* name: the volume record's new text */
};

struct bj_msg {
	enum bj_msg_type type;
	u64 value;		/* speed, start; cancel: 1 = force */
	u64 count;		/* set-dirty count */
	sector_t granule;	/* bitmap add */
	bool persistent;	/* bitmap add: on the metadata device */
	enum bj_copy_mode copy_mode;
	const char *name;	/* points into argv; metadata record: the text */
	const char *src;	/* merge source, points into argv */
};

/*
 * Parse a target message. On error returns -EINVAL and points *@error at a
 * message for the kernel log.
 */
int bj_parse_message(unsigned int argc, char **argv, struct bj_msg *m, const char **error);

const char *bj_mode_name(enum bj_mode m);
const char *bj_policy_name(enum bj_policy p);
const char *bj_copy_mode_name(enum bj_copy_mode m);
const char *bj_sync_name(enum bj_sync s);
const char *bj_bitmap_mode_name(enum bj_bitmap_mode m);
const char *bj_cbw_name(enum bj_cbw_policy p);

#endif
