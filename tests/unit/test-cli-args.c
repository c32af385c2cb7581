// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of what the CLI takes and makes: bj_dm_name() (NAME or
 * /dev/mapper/NAME, refusals of paths, empty and over-long names),
 * bj_qcow2_lower_name() (NAME-qcow2[-N] never truncated: refused when it
 * would not fit in a dm name or in its dm UUID), bj_parse_seconds() (wait
 * --timeout: 30 days and more without int overflow), bj_bitmap_name_valid().
 */
#include <errno.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <string.h>

#include "bj-backup.h"
#include "bj-dm.h"
#include "bj-util.h"
#include "qcow2-table.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

/* @n bytes of 'v' into @buf */
static char *vname(char *buf, size_t n)
{
	memset(buf, 'v', n);
	buf[n] = 0;
	return buf;
}

/* bj_dm_name(@arg) refused with @errno_want, one line in err mentioning @frag */
static void refused(const char *arg, int errno_want, const char *frag)
{
	char err[BJ_ERRLEN] = "";
	const char *name = NULL;
	int r;

	r = bj_dm_name(arg, &name, err);
	CHECK(r == errno_want && !name && strstr(err, frag) && !strchr(err, '\n'),
	      "bj_dm_name('%.20s%s') = %d (want %d): %s", arg, strlen(arg) > 20 ? "..." : "", r,
	      errno_want, err);
}

int main(void)
{
	char err[BJ_ERRLEN], buf[BJ_DM_NAME_MAX + 2], long_arg[300], lower[BJ_DM_NAME_MAX + 1];
	size_t uuid_room = DM_UUID_LEN - 1 - strlen(BJ_QCOW2_UUID_PREFIX);
	const char *name;
	int r;

	CHECK(BJ_DM_NAME_MAX == DM_NAME_LEN - 1, "BJ_DM_NAME_MAX is DM_NAME_LEN - 1 (%d)",
	      BJ_DM_NAME_MAX);

	/* accepted: NAME and /dev/mapper/NAME give the same dm name */
	r = bj_dm_name("vol0", &name, err);
	CHECK(!r && !strcmp(name, "vol0"), "NAME is the dm name");
	r = bj_dm_name("/dev/mapper/vol0", &name, err);
	CHECK(!r && !strcmp(name, "vol0"), "/dev/mapper/NAME gives NAME");
	r = bj_dm_name("-odd.name_1:x", &name, err);
	CHECK(!r && !strcmp(name, "-odd.name_1:x"), "any other bytes are the kernel's business");
	r = bj_dm_name(vname(buf, BJ_DM_NAME_MAX), &name, err);
	CHECK(!r && strlen(name) == BJ_DM_NAME_MAX, "a name of %d bytes is taken", BJ_DM_NAME_MAX);
	snprintf(long_arg, sizeof(long_arg), "/dev/mapper/%s", vname(buf, BJ_DM_NAME_MAX));
	r = bj_dm_name(long_arg, &name, err);
	CHECK(!r && strlen(name) == BJ_DM_NAME_MAX,
	      "/dev/mapper/ plus %d bytes is taken (the prefix does not count)", BJ_DM_NAME_MAX);

	/* refused, with what to give instead */
	refused("", -EINVAL, "give NAME or /dev/mapper/NAME");
	refused("/dev/mapper/", -EINVAL, "give NAME or /dev/mapper/NAME");
	refused("a/b", -EINVAL, "no '/'");
	refused("/dev/vdb", -EINVAL, "no '/'");
	refused("/dev/mapper/a/b", -EINVAL, "no '/'");
	refused("/dev/mapper//vol", -EINVAL, "no '/'");
	refused("dev/mapper/vol", -EINVAL, "no '/'");
	refused(".", -EINVAL, "not a volume name");
	refused("/dev/mapper/..", -EINVAL, "not a volume name");
	refused(vname(buf, BJ_DM_NAME_MAX + 1), -ENAMETOOLONG, "has 128 bytes");
	snprintf(long_arg, sizeof(long_arg), "/dev/mapper/%s", vname(buf, BJ_DM_NAME_MAX + 1));
	refused(long_arg, -ENAMETOOLONG, "at most 127");
	memset(long_arg, 'x', sizeof(long_arg) - 1);
	long_arg[sizeof(long_arg) - 1] = 0;
	refused(long_arg, -ENAMETOOLONG, "give a shorter NAME");

	/* qcow2 device names: the longest that fits, one byte more refused */
	CHECK(uuid_room < BJ_DM_NAME_MAX, "the dm UUID (%zu bytes for the name) is the tighter limit",
	      uuid_room);
	r = bj_qcow2_lower_name("vol", 0, lower, sizeof(lower), err);
	CHECK(!r && !strcmp(lower, "vol-qcow2"), "NAME-qcow2");
	r = bj_qcow2_lower_name("vol", 7, lower, sizeof(lower), err);
	CHECK(!r && !strcmp(lower, "vol-qcow2-7"), "NAME-qcow2-N");
	r = bj_qcow2_lower_name(vname(buf, uuid_room - 6), 0, lower, sizeof(lower), err);
	CHECK(!r && strlen(lower) == uuid_room, "a %zu-byte NAME-qcow2 fits", uuid_room);
	r = bj_qcow2_lower_name(vname(buf, uuid_room - 5), 0, lower, sizeof(lower), err);
	CHECK(r == -ENAMETOOLONG && !lower[0] && strstr(err, "at most 107 bytes"),
	      "one byte more is refused, saying the longest NAME: %s", err);
	r = bj_qcow2_lower_name(vname(buf, uuid_room - 8), 1, lower, sizeof(lower), err);
	CHECK(!r && !strcmp(lower + uuid_room - 8, "-qcow2-1"), "NAME-qcow2-1 of %zu bytes fits",
	      uuid_room);
	r = bj_qcow2_lower_name(vname(buf, uuid_room - 8), 10, lower, sizeof(lower), err);
	CHECK(r == -ENAMETOOLONG && strstr(err, "NAME-qcow2-10") && strstr(err, "at most 104 bytes"),
	      "the same NAME with -qcow2-10 is refused, not truncated: %s", err);
	r = bj_qcow2_lower_name(vname(buf, BJ_DM_NAME_MAX), 999, lower, sizeof(lower), err);
	CHECK(r == -ENAMETOOLONG && !strchr(err, '\n') && strlen(err) < BJ_ERRLEN - 1,
	      "a %d-byte NAME: refused in one whole line", BJ_DM_NAME_MAX);
	r = bj_qcow2_lower_name("vol", 0, lower, 6, err);
	CHECK(r == -ENAMETOOLONG, "a buffer too small is refused, not truncated");

	/* --timeout: seconds with fractions, in 64-bit milliseconds */
	{
		static const struct {
			const char *s;
			int r;
			int64_t ms;
		} t[] = {
			{ "0", 0, 0 }, { "3", 0, 3000 }, { "0.5", 0, 500 }, { "0.0001", 0, 1 },
			{ "1e3", 0, 1000000 }, { "2147483", 0, 2147483000LL },
			{ "2147484", 0, 2147484000LL }, { "2592000", 0, 2592000000LL },
			{ "31536000", 0, 31536000000LL }, { "31536000.5", -ERANGE, 0 },
			{ "1e12", -ERANGE, 0 }, { "inf", -ERANGE, 0 }, { "1e999", -ERANGE, 0 },
			{ "-1", -EINVAL, 0 }, { "-0", -EINVAL, 0 }, { "nan", -EINVAL, 0 },
			{ "", -EINVAL, 0 }, { "abc", -EINVAL, 0 }, { "5s", -EINVAL, 0 },
		};
		size_t i;

		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			int64_t ms = -2;

			r = bj_parse_seconds(t[i].s, 365 * 86400, &ms);
			CHECK(r == t[i].r && (r || ms == t[i].ms),
			      "bj_parse_seconds('%s') = %d, %lld ms (want %d, %lld)", t[i].s, r,
			      (long long)ms, t[i].r, (long long)t[i].ms);
		}
	}

	/* bitmap names, as the kernel takes them */
	CHECK(bj_bitmap_name_valid("b1") && bj_bitmap_name_valid("A-z_0.9:x"), "bitmap names");
	CHECK(bj_bitmap_name_valid(vname(buf, 63)) && !bj_bitmap_name_valid(vname(buf, 64)),
	      "bitmap names: 63 bytes, not 64");
	CHECK(!bj_bitmap_name_valid("") && !bj_bitmap_name_valid("a b") &&
	      !bj_bitmap_name_valid("a/b") && !bj_bitmap_name_valid("\xc3\xa9"),
	      "bitmap names: not empty, no space, '/', non-ASCII");

	if (failed)
		printf("%d failed\n", failed);
	else
		printf("all passed\n");
	return failed ? 1 : 0;
}
