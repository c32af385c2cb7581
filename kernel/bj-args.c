// SPDX-License-Identifier: GPL-2.0
/*
 * Parsing of blockjob table lines and messages (see bj-args.h and
 * Documentation/dm-blockjob.rst). No device access and no allocation: the
 * results point into argv, which dm keeps alive for the table's lifetime.
 */
#include <linux/ctype.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/string.h>

#include "bj-args.h"
#include "bj-md-format.h"

static const char *const mode_names[] = {
	[BJ_MODE_PASSTHROUGH] = "passthrough",
	[BJ_MODE_MIRROR] = "mirror",
	[BJ_MODE_BACKUP] = "backup",
	[BJ_MODE_VIEW] = "view",
};

static const char *const policy_names[] = {
	[BJ_POLICY_REPORT] = "report",
	[BJ_POLICY_STOP] = "stop",
	[BJ_POLICY_IGNORE] = "ignore",
};

static const char *const copy_mode_names[] = {
	[BJ_COPY_BACKGROUND] = "background",
	[BJ_COPY_WRITE_BLOCKING] = "write_blocking",
};

static const char *const sync_names[] = {
	[BJ_SYNC_FULL] = "full",
	[BJ_SYNC_NONE] = "none",
	[BJ_SYNC_INCREMENTAL] = "incremental",
	[BJ_SYNC_TOP] = "top",
};

static const char *const bitmap_mode_names[] = {
	[BJ_BITMAP_ON_SUCCESS] = "on-success",
	[BJ_BITMAP_ALWAYS] = "always",
	[BJ_BITMAP_NEVER] = "never",
};

static const char *const cbw_names[] = {
	[BJ_CBW_BREAK_SNAPSHOT] = "break-snapshot",
	[BJ_CBW_BREAK_GUEST_WRITE] = "break-guest-write",
};

static int lookup(const char *word, const char *const *names, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(word, names[i]))
			return i;
	return -EINVAL;
}

const char *bj_mode_name(enum bj_mode m)
{
	return mode_names[m];
}

const char *bj_policy_name(enum bj_policy p)
{
	return policy_names[p];
}

const char *bj_copy_mode_name(enum bj_copy_mode m)
{
	return copy_mode_names[m];
}

const char *bj_sync_name(enum bj_sync s)
{
	return sync_names[s];
}

const char *bj_bitmap_mode_name(enum bj_bitmap_mode m)
{
	return bitmap_mode_names[m];
}

const char *bj_cbw_name(enum bj_cbw_policy p)
{
	return cbw_names[p];
}

/* A plain decimal u64: no sign, no suffix, no trailing junk. */
static int parse_u64(const char *s, u64 *v)
{
	if (!s || !isdigit(*s))
		return -EINVAL;
	return kstrtoull(s, 10, v);
}

bool bj_valid_name(const char *name)
{
	size_t len = strnlen(name, BJ_NAME_MAX);
	size_t i;

	if (!len || len >= BJ_NAME_MAX)
		return false;
	/* isalnum() also takes Latin-1 letters: ASCII only. */
	for (i = 0; i < len; i++)
		if (!isascii(name[i]) || (!isalnum(name[i]) && !strchr("_.:-", name[i])))
			return false;
	return true;
}

static int parse_granule(const char *word, sector_t *granule, char **error)
{
	u64 v;

	if (parse_u64(word, &v)) {
		*error = "Invalid region/chunk size: expected a number of 512-byte sectors";
		return -EINVAL;
	}
	if (v < BJ_GRANULE_MIN || v > BJ_GRANULE_MAX || !is_power_of_2(v)) {
		*error =
			"Invalid region/chunk size: need a power of two, 8 to 131072 sectors";
		return -EINVAL;
	}
	*granule = v;
	return 0;
}

static int parse_offset(const char *word, sector_t *offset, char **error, char *msg)
{
	u64 v;

	if (parse_u64(word, &v)) {
		*error = msg;
		return -EINVAL;
	}
	*offset = v;
	return 0;
}

/* Which features each mode accepts. */
#define MIRROR_FEATURES (BJ_F_COPY_MODE | BJ_F_SYNC | BJ_F_SPEED | BJ_F_ON_SOURCE_ERROR | \
			 BJ_F_ON_TARGET_ERROR | BJ_F_MAX_COPIES | BJ_F_START_PAUSED | \
			 BJ_F_METADATA | BJ_F_RESUME)
#define BACKUP_FEATURES (BJ_F_SYNC | BJ_F_SPEED | BJ_F_MAX_COPIES | BJ_F_BITMAP | \
			 BJ_F_BITMAP_MODE | BJ_F_ON_CBW_ERROR | BJ_F_START_PAUSED | \
			 BJ_F_METADATA | BJ_F_RESUME)
#define PASSTHROUGH_FEATURES BJ_F_METADATA

struct feature_def {
	const char *name;
	unsigned int flag;
	bool has_value;
};

static const struct feature_def feature_defs[] = {
	{ "copy_mode", BJ_F_COPY_MODE, true },
	{ "sync", BJ_F_SYNC, true },
	{ "speed", BJ_F_SPEED, true },
	{ "on_source_error", BJ_F_ON_SOURCE_ERROR, true },
	{ "on_target_error", BJ_F_ON_TARGET_ERROR, true },
	{ "max_copies", BJ_F_MAX_COPIES, true },
	{ "bitmap", BJ_F_BITMAP, true },
	{ "bitmap_mode", BJ_F_BITMAP_MODE, true },
	{ "on_cbw_error", BJ_F_ON_CBW_ERROR, true },
	{ "start_paused", BJ_F_START_PAUSED, false },
	{ "metadata", BJ_F_METADATA, true },
	{ "resume", BJ_F_RESUME, false },
};

/* Parse one feature (name and value) into @a. */
static int parse_feature(struct bj_args *a, const struct feature_def *f,
			 const char *val, char **error)
{
	int r = 0;
	u64 v;

	switch (f->flag) {
	case BJ_F_COPY_MODE:
		r = lookup(val, copy_mode_names, ARRAY_SIZE(copy_mode_names));
		if (r < 0) {
			*error = "Invalid copy_mode: expected background or write_blocking";
			return -EINVAL;
		}
		a->copy_mode = r;
		break;
	case BJ_F_SYNC:
		r = lookup(val, sync_names, ARRAY_SIZE(sync_names));
		if (r < 0 || (a->mode == BJ_MODE_MIRROR && r == BJ_SYNC_INCREMENTAL)) {
			*error = a->mode == BJ_MODE_MIRROR ?
				"Invalid sync: a mirror takes full, none or top" :
				"Invalid sync: a backup takes full, none, incremental or top";
			return -EINVAL;
		}
		a->sync = r;
		break;
	case BJ_F_SPEED:
		if (parse_u64(val, &v)) {
			*error = "Invalid speed: expected bytes per second (0 = unlimited)";
			return -EINVAL;
		}
		a->speed = v;
		break;
	case BJ_F_ON_SOURCE_ERROR:
	case BJ_F_ON_TARGET_ERROR:
		r = lookup(val, policy_names, ARRAY_SIZE(policy_names));
		if (r < 0) {
			*error = "Invalid error policy: expected report, stop or ignore";
			return -EINVAL;
		}
		if (f->flag == BJ_F_ON_SOURCE_ERROR)
			a->on_source_error = r;
		else
			a->on_target_error = r;
		break;
	case BJ_F_MAX_COPIES:
		if (parse_u64(val, &v) || !v || v > BJ_MAX_COPIES_MAX) {
			*error = "Invalid max_copies: expected 1 to 256";
			return -EINVAL;
		}
		a->max_copies = v;
		break;
	case BJ_F_BITMAP:
		if (!bj_valid_name(val)) {
			*error = "Invalid bitmap name: 1 to 63 characters of A-Z a-z 0-9 _ . : -";
			return -EINVAL;
		}
		strscpy(a->bitmap, val, sizeof(a->bitmap));
		break;
	case BJ_F_BITMAP_MODE:
		r = lookup(val, bitmap_mode_names, ARRAY_SIZE(bitmap_mode_names));
		if (r < 0) {
			*error = "Invalid bitmap_mode: expected on-success, always or never";
			return -EINVAL;
		}
		a->bitmap_mode = r;
		break;
	case BJ_F_ON_CBW_ERROR:
		r = lookup(val, cbw_names, ARRAY_SIZE(cbw_names));
		if (r < 0) {
			*error =
				"Invalid on_cbw_error: use break-snapshot or break-guest-write";
			return -EINVAL;
		}
		a->on_cbw_error = r;
		break;
	case BJ_F_METADATA:
		a->md_path = val;
		break;
	}
	return 0;
}

static int parse_features(struct bj_args *a, unsigned int argc, char **argv, char **error)
{
	unsigned int allowed = 0, n, i, j;
	u64 count;

	if (!argc)
		return 0;
	if (parse_u64(argv[0], &count) || count != argc - 1) {
		*error =
			"Invalid feature count: must equal the number of words after it";
		return -EINVAL;
	}
	n = count;
	if (n > BJ_MAX_FEATURES) {
		*error = "Too many feature arguments";
		return -EINVAL;
	}
	if (a->mode == BJ_MODE_PASSTHROUGH)
		allowed = PASSTHROUGH_FEATURES;
	else if (a->mode == BJ_MODE_MIRROR)
		allowed = MIRROR_FEATURES;
	else if (a->mode == BJ_MODE_BACKUP)
		allowed = BACKUP_FEATURES;

	for (i = 1; i <= n; i++) {
		const struct feature_def *f = NULL;

		a->feature_args[a->nr_feature_args++] = argv[i];
		for (j = 0; j < ARRAY_SIZE(feature_defs); j++)
			if (!strcmp(argv[i], feature_defs[j].name))
				f = &feature_defs[j];
		if (!f) {
			*error = "Unknown feature argument";
			return -EINVAL;
		}
		if (!(allowed & f->flag)) {
			*error = "Feature argument not valid for this mode";
			return -EINVAL;
		}
		if (a->features & f->flag) {
			*error = "Duplicate feature argument";
			return -EINVAL;
		}
		a->features |= f->flag;
		if (!f->has_value)
			continue;
		if (i == n) {
			*error = "Feature argument is missing its value";
			return -EINVAL;
		}
		i++;
		a->feature_args[a->nr_feature_args++] = argv[i];
		if (parse_feature(a, f, argv[i], error))
			return -EINVAL;
	}
	return 0;
}

static void set_defaults(struct bj_args *a)
{
	memset(a, 0, sizeof(*a));
	a->granule = BJ_GRANULE_DEFAULT;
	a->copy_mode = BJ_COPY_BACKGROUND;
	a->sync = BJ_SYNC_FULL;
	a->on_source_error = BJ_POLICY_REPORT;
	a->on_target_error = BJ_POLICY_REPORT;
	a->max_copies = BJ_MAX_COPIES_DEFAULT;
	a->bitmap_mode = BJ_BITMAP_ON_SUCCESS;
	a->on_cbw_error = BJ_CBW_BREAK_SNAPSHOT;
}

int bj_parse_table(unsigned int argc, char **argv, struct bj_args *a, char **error)
{
	unsigned int positional;
	int r;

	set_defaults(a);
	if (!argc) {
		*error = "Missing mode: expected passthrough, mirror or backup";
		return -EINVAL;
	}
	r = lookup(argv[0], mode_names, ARRAY_SIZE(mode_names));
	if (r < 0) {
		*error = "Unknown mode: expected passthrough, mirror or backup";
		return -EINVAL;
	}
	a->mode = r;
	if (a->mode == BJ_MODE_VIEW) {
		if (argc != 2) {
			*error = argc < 2 ? "Not enough arguments: view <volume>" :
				 "Too many arguments: view <volume> takes no features";
			return -EINVAL;
		}
		a->src_path = argv[1];
		return 0;
	}
	positional = a->mode == BJ_MODE_PASSTHROUGH ? 3 : 6;
	if (argc < positional) {
		if (a->mode == BJ_MODE_PASSTHROUGH)
			*error = "Not enough arguments: passthrough <dev> <offset>";
		else
			*error = "Not enough arguments: <mode> <src> <off> <dst> <off> <size>";
		return -EINVAL;
	}
	a->src_path = argv[1];
	if (parse_offset(argv[2], &a->src_offset, error,
			 "Invalid source offset: expected a number of sectors"))
		return -EINVAL;
	if (a->mode != BJ_MODE_PASSTHROUGH) {
		a->dst_path = argv[3];
		if (parse_offset(argv[4], &a->dst_offset, error,
				 "Invalid destination offset: expected a number of sectors"))
			return -EINVAL;
		if (parse_granule(argv[5], &a->granule, error))
			return -EINVAL;
	}
	if (parse_features(a, argc - positional, argv + positional, error))
		return -EINVAL;

	if ((a->features & BJ_F_RESUME) && !(a->features & BJ_F_METADATA)) {
		*error = "resume continues a job from its metadata device: add metadata <dev>";
		return -EINVAL;
	}
	if (a->mode == BJ_MODE_BACKUP) {
		bool incremental = a->sync == BJ_SYNC_INCREMENTAL;

		if (incremental && !(a->features & BJ_F_BITMAP)) {
			*error = "sync incremental needs a bitmap: add \"bitmap <name>\"";
			return -EINVAL;
		}
		if (!incremental && (a->features & (BJ_F_BITMAP | BJ_F_BITMAP_MODE))) {
			*error = "bitmap and bitmap_mode go only with sync incremental";
			return -EINVAL;
		}
	}
	return 0;
}

/* Messages -------------------------------------------------------------- */

struct msg_def {
	const char *word;
	enum bj_msg_type type;
	unsigned int nargs;	/* words after the verb */
};

static const struct msg_def msg_defs[] = {
	{ "pause", BJ_MSG_PAUSE, 0 },
	{ "resume", BJ_MSG_RESUME, 0 },
	{ "cancel", BJ_MSG_CANCEL, 0 },
	{ "complete", BJ_MSG_COMPLETE, 0 },
	{ "set-speed", BJ_MSG_SET_SPEED, 1 },
	{ "copy-mode", BJ_MSG_COPY_MODE, 1 },
	{ "set-dirty", BJ_MSG_SET_DIRTY, 2 },
	{ "memory", BJ_MSG_MEMORY, 0 },
	{ "metadata", BJ_MSG_METADATA, 0 },
};

static const struct msg_def bitmap_defs[] = {
	{ "add", BJ_MSG_BITMAP_ADD, 2 },
	{ "remove", BJ_MSG_BITMAP_REMOVE, 1 },
	{ "clear", BJ_MSG_BITMAP_CLEAR, 1 },
	{ "enable", BJ_MSG_BITMAP_ENABLE, 1 },
	{ "disable", BJ_MSG_BITMAP_DISABLE, 1 },
	{ "merge", BJ_MSG_BITMAP_MERGE, 2 },
	{ "list", BJ_MSG_BITMAP_LIST, 0 },
	{ "dump", BJ_MSG_BITMAP_DUMP, 1 },
};

static int parse_bitmap_message(unsigned int argc, char **argv, struct bj_msg *m,
				const char **error)
{
	const struct msg_def *d = NULL;
	unsigned int i;
	u64 v;

	if (!argc) {
		*error =
			"bitmap: missing operation (add, remove, clear, ..., dump)";
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(bitmap_defs); i++)
		if (!strcmp(argv[0], bitmap_defs[i].word))
			d = &bitmap_defs[i];
	if (!d) {
		*error = "bitmap: unknown operation";
		return -EINVAL;
	}
	/* bitmap add <name> <granule> [persistent] */
	if (d->type == BJ_MSG_BITMAP_ADD && argc == 4) {
		if (strcmp(argv[3], "persistent")) {
			*error = "bitmap add: the optional last word is \"persistent\"";
			return -EINVAL;
		}
		m->persistent = true;
		argc--;
	}
	if (argc - 1 != d->nargs) {
		*error = "bitmap: wrong number of arguments";
		return -EINVAL;
	}
	m->type = d->type;
	if (!d->nargs)
		return 0;
	m->name = argv[1];
	if (!bj_valid_name(m->name)) {
		*error = "bitmap: invalid name (1 to 63 characters of A-Z a-z 0-9 _ . : -)";
		return -EINVAL;
	}
	if (d->type == BJ_MSG_BITMAP_ADD) {
		if (parse_u64(argv[2], &v) || v < BJ_GRANULE_MIN || v > BJ_GRANULE_MAX ||
		    !is_power_of_2(v)) {
			*error =
				"bitmap add: granularity: a power of two, 8 to 131072 sectors";
			return -EINVAL;
		}
		m->granule = v;
	} else if (d->type == BJ_MSG_BITMAP_MERGE) {
		m->src = argv[2];
		if (!bj_valid_name(m->src)) {
			*error = "bitmap merge: invalid source name";
			return -EINVAL;
		}
	}
	return 0;
}

int bj_parse_message(unsigned int argc, char **argv, struct bj_msg *m, const char **error)
{
	const struct msg_def *d = NULL;
	unsigned int i;
	int r;

	memset(m, 0, sizeof(*m));
	if (!argc) {
		*error = "empty message";
		return -EINVAL;
	}
	if (!strcmp(argv[0], "bitmap"))
		return parse_bitmap_message(argc - 1, argv + 1, m, error);
	for (i = 0; i < ARRAY_SIZE(msg_defs); i++)
		if (!strcmp(argv[0], msg_defs[i].word))
			d = &msg_defs[i];
	if (!d) {
		*error =
			"unknown message; see Documentation/dm-blockjob.rst";
		return -EINVAL;
	}
	/* "metadata record <text>": the volume record (include/uapi/linux/dm-blockjob-md.h). */
	if (d->type == BJ_MSG_METADATA && argc > 1) {
		if (strcmp(argv[1], "record") || argc != 3) {
			*error = "metadata: expected no argument, or record <text>";
			return -EINVAL;
		}
		if (!bj_md_record_valid(argv[2])) {
			*error = "metadata record: 1 to 511 printable characters without spaces";
			return -EINVAL;
		}
		m->type = BJ_MSG_METADATA_RECORD;
		m->name = argv[2];
		return 0;
	}
	/* "cancel force" (QEMU's force=true): give the destination up. */
	if (d->type == BJ_MSG_CANCEL && argc == 2) {
		if (strcmp(argv[1], "force")) {
			*error = "cancel: the only option is force";
			return -EINVAL;
		}
		m->type = d->type;
		m->value = 1;
		return 0;
	}
	if (argc - 1 != d->nargs) {
		*error = "wrong number of message arguments";
		return -EINVAL;
	}
	m->type = d->type;
	switch (d->type) {
	case BJ_MSG_SET_SPEED:
		if (parse_u64(argv[1], &m->value)) {
			*error = "set-speed: expected bytes per second (0 = unlimited)";
			return -EINVAL;
		}
		break;
	case BJ_MSG_COPY_MODE:
		r = lookup(argv[1], copy_mode_names, ARRAY_SIZE(copy_mode_names));
		if (r < 0) {
			*error = "copy-mode: expected background or write_blocking";
			return -EINVAL;
		}
		m->copy_mode = r;
		break;
	case BJ_MSG_SET_DIRTY:
		if (parse_u64(argv[1], &m->value) || parse_u64(argv[2], &m->count) || !m->count) {
			*error = "set-dirty: expected <first region> <number of regions>";
			return -EINVAL;
		}
		break;
	default:
		break;
	}
	return 0;
}
