// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for table-line and message parsing (kernel/bj-args.c).
 *
 * Each case is one line, split on spaces as dm splits a table line. A good
 * line must parse into exactly the expected fields: the parsed struct is
 * rendered as one string (every field, defaults included) and compared
 * with the table's. A bad line must fail with -EINVAL and the exact error.
 */
#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bj-args.h"

#define MAX_WORDS	40
#define RENDER_SIZE	1024

/* Split a copy of @line on single spaces into @argv; "" gives no words. */
static unsigned int split_line(struct kunit *test, const char *line, char **argv)
{
	size_t len = strlen(line) + 1;
	char *copy = kunit_kzalloc(test, len, GFP_KERNEL);
	unsigned int argc = 0;
	char *word;

	KUNIT_ASSERT_NOT_NULL(test, copy);
	memcpy(copy, line, len);
	while ((word = strsep(&copy, " ")) != NULL) {
		if (!*word)
			continue;
		KUNIT_ASSERT_LT(test, argc, MAX_WORDS);
		argv[argc++] = word;
	}
	return argc;
}

static char *render_buf(struct kunit *test)
{
	char *buf = kunit_kzalloc(test, RENDER_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	return buf;
}

/* Table lines ----------------------------------------------------------------- */

static const char *render_args(struct kunit *test, const struct bj_args *a)
{
	char *buf = render_buf(test);
	unsigned int i;
	int n;

	n = scnprintf(buf, RENDER_SIZE,
		      "%s src=%s:%llu dst=%s:%llu granule=%llu copy_mode=%s sync=%s speed=%llu src_err=%s dst_err=%s max_copies=%u bitmap=%s bitmap_mode=%s cbw=%s features=0x%x args=[",
		      bj_mode_name(a->mode), a->src_path ?: "-",
		      (unsigned long long)a->src_offset, a->dst_path ?: "-",
		      (unsigned long long)a->dst_offset, (unsigned long long)a->granule,
		      bj_copy_mode_name(a->copy_mode), bj_sync_name(a->sync),
		      a->speed, bj_policy_name(a->on_source_error),
		      bj_policy_name(a->on_target_error), a->max_copies,
		      a->bitmap[0] ? a->bitmap : "-", bj_bitmap_mode_name(a->bitmap_mode),
		      bj_cbw_name(a->on_cbw_error), a->features);
	for (i = 0; i < a->nr_feature_args; i++)
		n += scnprintf(buf + n, RENDER_SIZE - n, "%s%s", i ? " " : "",
			       a->feature_args[i]);
	scnprintf(buf + n, RENDER_SIZE - n, "]");
	return buf;
}

struct table_case {
	const char *name;
	const char *line;
	const char *error;	/* NULL: the line is good and parses into @want */
	const char *want;
};

#define GOOD(n, l, w)	{ .name = n, .line = l, .want = w }
#define BAD(n, l, e)	{ .name = n, .line = l, .error = e }

/* The parsed feature fields of a line with no features. */
#define DEFAULTS " copy_mode=background sync=full speed=0 src_err=report dst_err=report max_copies=16 bitmap=- bitmap_mode=on-success cbw=break-snapshot features=0x0 args=[]"

#define E_MODE_MISSING	"Missing mode: expected passthrough, mirror or backup"
#define E_MODE_UNKNOWN	"Unknown mode: expected passthrough, mirror or backup"
#define E_FEW_PT	"Not enough arguments: passthrough <dev> <offset>"
#define E_FEW		"Not enough arguments: <mode> <src> <off> <dst> <off> <size>"
#define E_FEW_VIEW	"Not enough arguments: view <volume>"
#define E_VIEW_FEAT	"Too many arguments: view <volume> takes no features"
#define E_SRC_OFF	"Invalid source offset: expected a number of sectors"
#define E_DST_OFF	"Invalid destination offset: expected a number of sectors"
#define E_GRAN_NUM	"Invalid region/chunk size: expected a number of 512-byte sectors"
#define E_GRAN		"Invalid region/chunk size: need a power of two, 8 to 131072 sectors"
#define E_COUNT		"Invalid feature count: must equal the number of words after it"
#define E_TOO_MANY	"Too many feature arguments"
#define E_UNKNOWN	"Unknown feature argument"
#define E_MODE		"Feature argument not valid for this mode"
#define E_DUP		"Duplicate feature argument"
#define E_NOVAL		"Feature argument is missing its value"
#define E_COPY_MODE	"Invalid copy_mode: expected background or write_blocking"
#define E_SYNC_M	"Invalid sync: a mirror takes full, none or top"
#define E_SYNC_B	"Invalid sync: a backup takes full, none, incremental or top"
#define E_SPEED		"Invalid speed: expected bytes per second (0 = unlimited)"
#define E_POLICY	"Invalid error policy: expected report, stop or ignore"
#define E_MAX_COPIES	"Invalid max_copies: expected 1 to 256"
#define E_BM_NAME	"Invalid bitmap name: 1 to 63 characters of A-Z a-z 0-9 _ . : -"
#define E_BM_MODE	"Invalid bitmap_mode: expected on-success, always or never"
#define E_CBW		"Invalid on_cbw_error: use break-snapshot or break-guest-write"
#define E_INCR		"sync incremental needs a bitmap: add \"bitmap <name>\""
#define E_BM_ONLY	"bitmap and bitmap_mode go only with sync incremental"

#define MIRROR		"mirror /dev/a 0 /dev/b 0 128 "
#define BACKUP		"backup /dev/a 0 /dev/b 0 128 "
#define NAME63		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
#define WANT_NAME63	"backup src=/dev/a:0 dst=/dev/b:0 granule=128 copy_mode=background sync=incremental speed=0 src_err=report dst_err=report max_copies=16 bitmap=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ bitmap_mode=never cbw=break-snapshot features=0xc2 args=[bitmap abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ bitmap_mode never sync incremental]"

static const struct table_case table_cases[] = {
	/* Good lines: every mode, bounds, every feature. */
	GOOD("passthrough", "passthrough /dev/a 0",
	     "passthrough src=/dev/a:0 dst=-:0 granule=128" DEFAULTS),
	GOOD("passthrough, zero features", "passthrough 253:1 2048 0",
	     "passthrough src=253:1:2048 dst=-:0 granule=128" DEFAULTS),
	GOOD("passthrough, largest offset", "passthrough /dev/a 18446744073709551615",
	     "passthrough src=/dev/a:18446744073709551615 dst=-:0 granule=128" DEFAULTS),
	GOOD("mirror", "mirror /dev/a 8 /dev/b 16 128",
	     "mirror src=/dev/a:8 dst=/dev/b:16 granule=128" DEFAULTS),
	GOOD("mirror, smallest region", "mirror /dev/a 0 /dev/b 0 8",
	     "mirror src=/dev/a:0 dst=/dev/b:0 granule=8" DEFAULTS),
	GOOD("mirror, largest region", "mirror /dev/a 0 /dev/b 0 131072",
	     "mirror src=/dev/a:0 dst=/dev/b:0 granule=131072" DEFAULTS),
	GOOD("backup", "backup /dev/a 0 /dev/b 0 256",
	     "backup src=/dev/a:0 dst=/dev/b:0 granule=256" DEFAULTS),
	GOOD("view", "view /dev/mapper/vol",
	     "view src=/dev/mapper/vol:0 dst=-:0 granule=128" DEFAULTS),
	{
		.name = "mirror, every mirror feature",
		.line =
			"mirror /dev/a 0 /dev/b 0 128 13 copy_mode write_blocking sync top speed 1048576 on_source_error stop on_target_error ignore max_copies 256 start_paused",
		.want =
			"mirror src=/dev/a:0 dst=/dev/b:0 granule=128 copy_mode=write_blocking sync=top speed=1048576 src_err=stop dst_err=ignore max_copies=256 bitmap=- bitmap_mode=on-success cbw=break-snapshot features=0x23f args=[copy_mode write_blocking sync top speed 1048576 on_source_error stop on_target_error ignore max_copies 256 start_paused]",
	},
	{
		.name = "mirror, sync none, max_copies 1",
		.line = MIRROR "4 sync none max_copies 1",
		.want =
			"mirror src=/dev/a:0 dst=/dev/b:0 granule=128 copy_mode=background sync=none speed=0 src_err=report dst_err=report max_copies=1 bitmap=- bitmap_mode=on-success cbw=break-snapshot features=0x22 args=[sync none max_copies 1]",
	},
	{
		.name = "mirror, explicit defaults",
		.line = MIRROR "6 copy_mode background sync full speed 0",
		.want =
			"mirror src=/dev/a:0 dst=/dev/b:0 granule=128 copy_mode=background sync=full speed=0 src_err=report dst_err=report max_copies=16 bitmap=- bitmap_mode=on-success cbw=break-snapshot features=0x7 args=[copy_mode background sync full speed 0]",
	},
	{
		.name = "backup, incremental with a bitmap",
		.line = BACKUP "4 sync incremental bitmap bm0",
		.want =
			"backup src=/dev/a:0 dst=/dev/b:0 granule=128 copy_mode=background sync=incremental speed=0 src_err=report dst_err=report max_copies=16 bitmap=bm0 bitmap_mode=on-success cbw=break-snapshot features=0x42 args=[sync incremental bitmap bm0]",
	},
	{
		.name = "backup, bitmap before sync, 63-character name",
		.line = BACKUP "6 bitmap " NAME63 " bitmap_mode never sync incremental",
		.want = WANT_NAME63,
	},
	{
		.name = "backup, every backup feature",
		.line =
			"backup /dev/a 0 /dev/b 0 128 13 sync incremental speed 0 max_copies 2 bitmap a.b:c-d_e bitmap_mode always on_cbw_error break-guest-write start_paused",
		.want =
			"backup src=/dev/a:0 dst=/dev/b:0 granule=128 copy_mode=background sync=incremental speed=0 src_err=report dst_err=report max_copies=2 bitmap=a.b:c-d_e bitmap_mode=always cbw=break-guest-write features=0x3e6 args=[sync incremental speed 0 max_copies 2 bitmap a.b:c-d_e bitmap_mode always on_cbw_error break-guest-write start_paused]",
	},
	{
		.name = "backup, sync top, largest speed",
		.line = BACKUP "4 sync top speed 18446744073709551615",
		.want =
			"backup src=/dev/a:0 dst=/dev/b:0 granule=128 copy_mode=background sync=top speed=18446744073709551615 src_err=report dst_err=report max_copies=16 bitmap=- bitmap_mode=on-success cbw=break-snapshot features=0x6 args=[sync top speed 18446744073709551615]",
	},
	{
		.name = "backup, sync none, start_paused",
		.line = BACKUP "3 sync none start_paused",
		.want =
			"backup src=/dev/a:0 dst=/dev/b:0 granule=128 copy_mode=background sync=none speed=0 src_err=report dst_err=report max_copies=16 bitmap=- bitmap_mode=on-success cbw=break-snapshot features=0x202 args=[sync none start_paused]",
	},

	/* Mode and positional arguments. */
	BAD("no words", "", E_MODE_MISSING),
	BAD("unknown mode", "copy /dev/a 0", E_MODE_UNKNOWN),
	BAD("mode is case-sensitive", "Mirror /dev/a 0 /dev/b 0 128", E_MODE_UNKNOWN),
	BAD("passthrough without offset", "passthrough /dev/a", E_FEW_PT),
	BAD("passthrough alone", "passthrough", E_FEW_PT),
	BAD("mirror without region size", "mirror /dev/a 0 /dev/b 0", E_FEW),
	BAD("backup without destination", "backup /dev/a 0", E_FEW),
	BAD("view without volume", "view", E_FEW_VIEW),
	BAD("view with an offset", "view /dev/mapper/vol 0", E_VIEW_FEAT),
	BAD("view with features", "view /dev/mapper/vol 1 start_paused", E_VIEW_FEAT),
	BAD("negative source offset", "passthrough /dev/a -1", E_SRC_OFF),
	BAD("signed source offset", "passthrough /dev/a +1", E_SRC_OFF),
	BAD("hex source offset", "passthrough /dev/a 0x10", E_SRC_OFF),
	BAD("source offset with trailing junk", "passthrough /dev/a 12abc", E_SRC_OFF),
	BAD("source offset with a suffix", "mirror /dev/a 1k /dev/b 0 128", E_SRC_OFF),
	BAD("source offset overflows u64", "passthrough /dev/a 18446744073709551616", E_SRC_OFF),
	BAD("destination offset not a number", "mirror /dev/a 0 /dev/b x 128", E_DST_OFF),
	BAD("negative destination offset", "backup /dev/a 0 /dev/b -8 128", E_DST_OFF),
	BAD("region size not a number", "mirror /dev/a 0 /dev/b 0 big", E_GRAN_NUM),
	BAD("region size with a suffix", "mirror /dev/a 0 /dev/b 0 64k", E_GRAN_NUM),
	BAD("region size zero", "mirror /dev/a 0 /dev/b 0 0", E_GRAN),
	BAD("region size below 4 KiB", "mirror /dev/a 0 /dev/b 0 4", E_GRAN),
	BAD("region size not a power of two", "mirror /dev/a 0 /dev/b 0 24", E_GRAN),
	BAD("region size above 64 MiB", "mirror /dev/a 0 /dev/b 0 262144", E_GRAN),
	BAD("region size just above the maximum", "mirror /dev/a 0 /dev/b 0 131073", E_GRAN),
	BAD("chunk size not a power of two", "backup /dev/a 0 /dev/b 0 129", E_GRAN),

	/* Feature counts and trailing words. */
	BAD("trailing junk after the positionals", MIRROR "junk", E_COUNT),
	BAD("words after a zero count", MIRROR "0 junk", E_COUNT),
	BAD("count larger than the words", MIRROR "2 start_paused", E_COUNT),
	BAD("count smaller than the words", MIRROR "1 start_paused junk", E_COUNT),
	BAD("negative count", MIRROR "-1", E_COUNT),
	BAD("trailing junk after passthrough", "passthrough /dev/a 0 junk", E_COUNT),
	BAD("17 feature words",
	    MIRROR "17 a b c d e f g h i j k l m n o p q", E_TOO_MANY),

	/* Feature names and modes. */
	BAD("unknown feature", MIRROR "1 fast", E_UNKNOWN),
	BAD("feature names are case-sensitive", MIRROR "1 Start_paused", E_UNKNOWN),
	BAD("value word taken as a feature", MIRROR "3 speed 10 20", E_UNKNOWN),
	BAD("passthrough takes no features", "passthrough /dev/a 0 1 start_paused", E_MODE),
	BAD("mirror with bitmap", MIRROR "2 bitmap bm0", E_MODE),
	BAD("mirror with bitmap_mode", MIRROR "2 bitmap_mode always", E_MODE),
	BAD("mirror with on_cbw_error", MIRROR "2 on_cbw_error break-snapshot", E_MODE),
	BAD("backup with copy_mode", BACKUP "2 copy_mode background", E_MODE),
	BAD("backup with on_source_error", BACKUP "2 on_source_error stop", E_MODE),
	BAD("backup with on_target_error", BACKUP "2 on_target_error stop", E_MODE),
	BAD("duplicate start_paused", MIRROR "2 start_paused start_paused", E_DUP),
	BAD("duplicate speed", MIRROR "4 speed 1 speed 2", E_DUP),
	BAD("duplicate sync", BACKUP "4 sync full sync top", E_DUP),
	BAD("value missing at the end", MIRROR "1 speed", E_NOVAL),
	BAD("value missing after start_paused", MIRROR "2 start_paused sync", E_NOVAL),

	/* Feature values. */
	BAD("bad copy_mode", MIRROR "2 copy_mode write-blocking", E_COPY_MODE),
	BAD("bad mirror sync", MIRROR "2 sync all", E_SYNC_M),
	BAD("mirror sync incremental", MIRROR "2 sync incremental", E_SYNC_M),
	BAD("bad backup sync", BACKUP "2 sync Full", E_SYNC_B),
	BAD("negative speed", MIRROR "2 speed -1", E_SPEED),
	BAD("speed with a suffix", MIRROR "2 speed 10M", E_SPEED),
	BAD("speed overflows u64", MIRROR "2 speed 18446744073709551616", E_SPEED),
	BAD("bad on_source_error", MIRROR "2 on_source_error Stop", E_POLICY),
	BAD("bad on_target_error", MIRROR "2 on_target_error retry", E_POLICY),
	BAD("max_copies 0", MIRROR "2 max_copies 0", E_MAX_COPIES),
	BAD("max_copies 257", MIRROR "2 max_copies 257", E_MAX_COPIES),
	BAD("max_copies not a number", BACKUP "2 max_copies many", E_MAX_COPIES),
	BAD("bitmap name with a slash", BACKUP "4 sync incremental bitmap a/b", E_BM_NAME),
	BAD("bitmap name of 64 characters",
	    BACKUP "4 sync incremental bitmap " NAME63 "x", E_BM_NAME),
	BAD("bitmap name with a non-ASCII byte",
	    BACKUP "4 sync incremental bitmap caf\xe9", E_BM_NAME),
	BAD("bad bitmap_mode", BACKUP "4 sync incremental bitmap_mode sometimes", E_BM_MODE),
	BAD("bad on_cbw_error", BACKUP "2 on_cbw_error break", E_CBW),

	/* Cross-feature rules of the backup mode. */
	BAD("incremental without bitmap", BACKUP "2 sync incremental", E_INCR),
	BAD("incremental with bitmap_mode but no bitmap",
	    BACKUP "4 sync incremental bitmap_mode always", E_INCR),
	BAD("bitmap with the default sync full", BACKUP "2 bitmap bm0", E_BM_ONLY),
	BAD("bitmap with sync full", BACKUP "4 sync full bitmap bm0", E_BM_ONLY),
	BAD("bitmap with sync top", BACKUP "4 bitmap bm0 sync top", E_BM_ONLY),
	BAD("bitmap_mode with sync none", BACKUP "4 sync none bitmap_mode never", E_BM_ONLY),
};

static void table_desc(const struct table_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(table, table_cases, table_desc);

static void bj_args_table_test(struct kunit *test)
{
	const struct table_case *c = test->param_value;
	char *argv[MAX_WORDS];
	unsigned int argc = split_line(test, c->line, argv);
	struct bj_args *a = kunit_kzalloc(test, sizeof(*a), GFP_KERNEL);
	char *error = NULL;
	int r;

	KUNIT_ASSERT_NOT_NULL(test, a);
	r = bj_parse_table(argc, argv, a, &error);
	if (c->error) {
		KUNIT_EXPECT_EQ(test, r, -EINVAL);
		KUNIT_ASSERT_NOT_NULL(test, error);
		KUNIT_EXPECT_STREQ(test, error, c->error);
	} else {
		KUNIT_ASSERT_EQ_MSG(test, r, 0, "error: %s", error ?: "(none)");
		KUNIT_EXPECT_STREQ(test, render_args(test, a), c->want);
	}
}

/* Parsed words point into argv; no copies are made. */
static void bj_args_table_points_into_argv_test(struct kunit *test)
{
	char *argv[MAX_WORDS];
	unsigned int argc = split_line(test, BACKUP "4 sync incremental bitmap b", argv);
	struct bj_args *a = kunit_kzalloc(test, sizeof(*a), GFP_KERNEL);
	char *error = NULL;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_EQ(test, bj_parse_table(argc, argv, a, &error), 0);
	KUNIT_EXPECT_PTR_EQ(test, a->src_path, (const char *)argv[1]);
	KUNIT_EXPECT_PTR_EQ(test, a->dst_path, (const char *)argv[3]);
	KUNIT_ASSERT_EQ(test, a->nr_feature_args, 4U);
	for (i = 0; i < a->nr_feature_args; i++)
		KUNIT_EXPECT_PTR_EQ(test, a->feature_args[i], (const char *)argv[7 + i]);
}

/* bj_valid_name() ---------------------------------------------------------------- */

struct name_case {
	const char *name;
	bool valid;
};

static const struct name_case name_cases[] = {
	{ "a", true },
	{ "Z", true },
	{ "0", true },
	{ "bm-1_a.b:c", true },
	{ "-", true },
	{ NAME63, true },
	{ "", false },
	{ NAME63 "x", false },
	{ "a b", false },
	{ "a/b", false },
	{ "a,b", false },
	{ "a\tb", false },
	{ "a\nb", false },
	{ "caf\xc3\xa9", false },
	{ "\xe9", false },
	{ "\xc3", false },
};

static void name_desc(const struct name_case *c, char *desc)
{
	int i, n = 0;

	for (i = 0; c->name[i] && n < KUNIT_PARAM_DESC_SIZE - 8; i++) {
		unsigned char ch = c->name[i];

		if (ch > ' ' && ch < 0x7f && ch != '#')
			desc[n++] = ch;
		else
			n += scnprintf(desc + n, KUNIT_PARAM_DESC_SIZE - n, "\\x%02x", ch);
	}
	scnprintf(desc + n, KUNIT_PARAM_DESC_SIZE - n, "%s%s", n ? " " : "(empty) ",
		  c->valid ? "valid" : "invalid");
}

KUNIT_ARRAY_PARAM(name, name_cases, name_desc);

static void bj_args_valid_name_test(struct kunit *test)
{
	const struct name_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, bj_valid_name(c->name), c->valid);
}

/* Messages ------------------------------------------------------------------- */

static const char *const msg_type_names[] = {
	[BJ_MSG_PAUSE] = "pause",
	[BJ_MSG_RESUME] = "resume",
	[BJ_MSG_CANCEL] = "cancel",
	[BJ_MSG_COMPLETE] = "complete",
	[BJ_MSG_SET_SPEED] = "set-speed",
	[BJ_MSG_COPY_MODE] = "copy-mode",
	[BJ_MSG_SET_DIRTY] = "set-dirty",
	[BJ_MSG_BITMAP_ADD] = "bitmap-add",
	[BJ_MSG_BITMAP_REMOVE] = "bitmap-remove",
	[BJ_MSG_BITMAP_CLEAR] = "bitmap-clear",
	[BJ_MSG_BITMAP_ENABLE] = "bitmap-enable",
	[BJ_MSG_BITMAP_DISABLE] = "bitmap-disable",
	[BJ_MSG_BITMAP_MERGE] = "bitmap-merge",
	[BJ_MSG_BITMAP_LIST] = "bitmap-list",
	[BJ_MSG_BITMAP_DUMP] = "bitmap-dump",
	[BJ_MSG_MEMORY] = "memory",
	[BJ_MSG_METADATA] = "metadata",
	[BJ_MSG_METADATA_RECORD] = "metadata-record",
};

static const char *render_msg(struct kunit *test, const struct bj_msg *m)
{
	char *buf = render_buf(test);

	scnprintf(buf, RENDER_SIZE,
		  "%s value=%llu count=%llu granule=%llu %s name=%s src=%s",
		  (unsigned int)m->type < ARRAY_SIZE(msg_type_names) ?
		  msg_type_names[m->type] : "?",
		  m->value, m->count, (unsigned long long)m->granule,
		  bj_copy_mode_name(m->copy_mode), m->name ?: "-", m->src ?: "-");
	return buf;
}

#define M_NONE		" value=0 count=0 granule=0 background name=- src=-"
#define M_NAME(n)	" value=0 count=0 granule=0 background name=" n " src=-"

#define E_EMPTY		"empty message"
#define E_MD_MSG	"metadata: expected no argument, or record <text>"
#define E_MD_RECORD	"metadata record: 1 to 511 printable characters without spaces"
#define REC64		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define REC511		REC64 REC64 REC64 REC64 REC64 REC64 REC64 \
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define E_MSG_UNKNOWN	"unknown message; see Documentation/dm-blockjob.rst"
#define E_MSG_ARGS	"wrong number of message arguments"
#define E_CANCEL	"cancel: the only option is force"
#define E_SET_SPEED	"set-speed: expected bytes per second (0 = unlimited)"
#define E_COPY_MODE_MSG	"copy-mode: expected background or write_blocking"
#define E_SET_DIRTY	"set-dirty: expected <first region> <number of regions>"
#define E_BM_OP_MISSING	"bitmap: missing operation (add, remove, clear, ..., dump)"
#define E_BM_OP		"bitmap: unknown operation"
#define E_BM_ARGS	"bitmap: wrong number of arguments"
#define E_BM_MSG_NAME	"bitmap: invalid name (1 to 63 characters of A-Z a-z 0-9 _ . : -)"
#define E_BM_GRAN	"bitmap add: granularity: a power of two, 8 to 131072 sectors"
#define E_BM_SRC	"bitmap merge: invalid source name"

static const struct table_case msg_cases[] = {
	GOOD("pause", "pause", "pause" M_NONE),
	GOOD("resume", "resume", "resume" M_NONE),
	GOOD("cancel", "cancel", "cancel" M_NONE),
	GOOD("cancel force", "cancel force",
	     "cancel value=1 count=0 granule=0 background name=- src=-"),
	GOOD("complete", "complete", "complete" M_NONE),
	GOOD("set-speed 0", "set-speed 0", "set-speed" M_NONE),
	GOOD("set-speed largest", "set-speed 18446744073709551615",
	     "set-speed value=18446744073709551615 count=0 granule=0 background name=- src=-"),
	GOOD("copy-mode write_blocking", "copy-mode write_blocking",
	     "copy-mode value=0 count=0 granule=0 write_blocking name=- src=-"),
	GOOD("copy-mode background", "copy-mode background", "copy-mode" M_NONE),
	GOOD("set-dirty first region", "set-dirty 0 1",
	     "set-dirty value=0 count=1 granule=0 background name=- src=-"),
	GOOD("set-dirty large", "set-dirty 4294967296 9999999999",
	     "set-dirty value=4294967296 count=9999999999 granule=0 background name=- src=-"),
	GOOD("bitmap add", "bitmap add bm0 128",
	     "bitmap-add value=0 count=0 granule=128 background name=bm0 src=-"),
	GOOD("bitmap add smallest granule", "bitmap add b 8",
	     "bitmap-add value=0 count=0 granule=8 background name=b src=-"),
	GOOD("bitmap add largest granule", "bitmap add " NAME63 " 131072",
	     "bitmap-add value=0 count=0 granule=131072 background name=" NAME63 " src=-"),
	GOOD("bitmap remove", "bitmap remove bm0", "bitmap-remove" M_NAME("bm0")),
	GOOD("bitmap clear", "bitmap clear a.b", "bitmap-clear" M_NAME("a.b")),
	GOOD("bitmap enable", "bitmap enable a:b", "bitmap-enable" M_NAME("a:b")),
	GOOD("bitmap disable", "bitmap disable a-b", "bitmap-disable" M_NAME("a-b")),
	GOOD("bitmap dump", "bitmap dump a_b", "bitmap-dump" M_NAME("a_b")),
	GOOD("bitmap merge", "bitmap merge dst src",
	     "bitmap-merge value=0 count=0 granule=0 background name=dst src=src"),
	GOOD("bitmap list", "bitmap list", "bitmap-list" M_NONE),
	GOOD("memory", "memory", "memory" M_NONE),
	GOOD("metadata", "metadata", "metadata" M_NONE),
	GOOD("metadata record", "metadata record home=virtio-bj-d1,home_off=0",
	     "metadata-record" M_NAME("home=virtio-bj-d1,home_off=0")),
	GOOD("metadata record of one byte", "metadata record x", "metadata-record" M_NAME("x")),
	GOOD("metadata record of 511 bytes", "metadata record " REC511,
	     "metadata-record" M_NAME(REC511)),

	BAD("empty message", "", E_EMPTY),
	BAD("unknown message", "stop", E_MSG_UNKNOWN),
	BAD("messages are case-sensitive", "Pause", E_MSG_UNKNOWN),
	BAD("set_speed with an underscore", "set_speed 1", E_MSG_UNKNOWN),
	BAD("pause with an argument", "pause now", E_MSG_ARGS),
	BAD("cancel with another word", "cancel now", E_CANCEL),
	BAD("cancel force with more", "cancel force now", E_MSG_ARGS),
	BAD("cancel force twice", "cancel force force", E_MSG_ARGS),
	BAD("memory with an argument", "memory all", E_MSG_ARGS),
	BAD("set-speed without value", "set-speed", E_MSG_ARGS),
	BAD("set-speed with two values", "set-speed 1 2", E_MSG_ARGS),
	BAD("set-speed negative", "set-speed -1", E_SET_SPEED),
	BAD("set-speed with a suffix", "set-speed 10M", E_SET_SPEED),
	BAD("set-speed overflows u64", "set-speed 18446744073709551616", E_SET_SPEED),
	BAD("copy-mode unknown", "copy-mode fast", E_COPY_MODE_MSG),
	BAD("copy-mode without value", "copy-mode", E_MSG_ARGS),
	BAD("set-dirty count 0", "set-dirty 0 0", E_SET_DIRTY),
	BAD("set-dirty start not a number", "set-dirty x 1", E_SET_DIRTY),
	BAD("set-dirty count negative", "set-dirty 1 -1", E_SET_DIRTY),
	BAD("set-dirty with one argument", "set-dirty 1", E_MSG_ARGS),
	BAD("set-dirty with three arguments", "set-dirty 1 2 3", E_MSG_ARGS),
	BAD("bitmap without operation", "bitmap", E_BM_OP_MISSING),
	BAD("bitmap unknown operation", "bitmap rename a b", E_BM_OP),
	BAD("bitmap add without granule", "bitmap add bm0", E_BM_ARGS),
	BAD("bitmap remove without name", "bitmap remove", E_BM_ARGS),
	BAD("bitmap list with a name", "bitmap list bm0", E_BM_ARGS),
	BAD("bitmap merge with one name", "bitmap merge a", E_BM_ARGS),
	BAD("bitmap dump with two names", "bitmap dump a b", E_BM_ARGS),
	BAD("bitmap add granule not a power of two", "bitmap add bm0 12", E_BM_GRAN),
	BAD("bitmap add granule too small", "bitmap add bm0 4", E_BM_GRAN),
	BAD("bitmap add granule too large", "bitmap add bm0 262144", E_BM_GRAN),
	BAD("bitmap add granule not a number", "bitmap add bm0 64k", E_BM_GRAN),
	BAD("bitmap add bad name", "bitmap add b/m 128", E_BM_MSG_NAME),
	BAD("bitmap remove name of 64 characters", "bitmap remove " NAME63 "x", E_BM_MSG_NAME),
	BAD("bitmap merge bad destination", "bitmap merge a/b c", E_BM_MSG_NAME),
	BAD("bitmap merge bad source", "bitmap merge a b/c", E_BM_SRC),
	BAD("metadata with another word", "metadata show", E_MD_MSG),
	BAD("metadata record without text", "metadata record", E_MD_MSG),
	BAD("metadata record of two words", "metadata record a b", E_MD_MSG),
	BAD("metadata record of 512 bytes", "metadata record " REC511 "x", E_MD_RECORD),
	BAD("metadata record with a tab", "metadata record a\tb", E_MD_RECORD),
	BAD("metadata record with a control byte", "metadata record a\x01", E_MD_RECORD),
	BAD("metadata record with a high byte", "metadata record a\xc3\xa9", E_MD_RECORD),
};

KUNIT_ARRAY_PARAM(msg, msg_cases, table_desc);

static void bj_args_message_test(struct kunit *test)
{
	const struct table_case *c = test->param_value;
	char *argv[MAX_WORDS];
	unsigned int argc = split_line(test, c->line, argv);
	struct bj_msg m;
	const char *error = NULL;
	int r;

	r = bj_parse_message(argc, argv, &m, &error);
	if (c->error) {
		KUNIT_EXPECT_EQ(test, r, -EINVAL);
		KUNIT_ASSERT_NOT_NULL(test, error);
		KUNIT_EXPECT_STREQ(test, error, c->error);
	} else {
		KUNIT_ASSERT_EQ_MSG(test, r, 0, "error: %s", error ?: "(none)");
		KUNIT_EXPECT_STREQ(test, render_msg(test, &m), c->want);
	}
}

static struct kunit_case bj_args_test_cases[] = {
	KUNIT_CASE_PARAM(bj_args_table_test, table_gen_params),
	KUNIT_CASE(bj_args_table_points_into_argv_test),
	KUNIT_CASE_PARAM(bj_args_valid_name_test, name_gen_params),
	KUNIT_CASE_PARAM(bj_args_message_test, msg_gen_params),
	{}
};

static struct kunit_suite bj_args_test_suite = {
	.name = "bj_args",
	.test_cases = bj_args_test_cases,
};

kunit_test_suites(&bj_args_test_suite);
