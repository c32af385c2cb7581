// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the volume record's grammar (lib/bj-record.c): round trips
 * with odd bytes, escapes, the length limit, malformed records, unknown
 * and duplicate keys.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bj-record.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

static bool same(const struct bj_record *a, const struct bj_record *b)
{
	return !strcmp(a->home, b->home) && a->home_off == b->home_off && a->job == b->job &&
	       !strcmp(a->dest, b->dest) && a->dest_off == b->dest_off && !strcmp(a->opts, b->opts);
}

static void test_format(void)
{
	struct bj_record rec = { .home = "wwn-0x5000c500a1b2c3d4" }, back;
	char buf[BJ_MD_RECORD_LEN], err[BJ_ERRLEN];
	int r;

	r = bj_record_format(buf, sizeof(buf), &rec, err);
	CHECK(!r && !strcmp(buf, "home=wwn-0x5000c500a1b2c3d4,home_off=0"), "no job: %s", buf);
	rec.job = BJ_RECORD_MIRROR;
	strcpy(rec.dest, "dm-uuid-LVM-abc");
	rec.home_off = 2048;
	rec.dest_off = 18446744073709551615ULL;
	r = bj_record_format(buf, sizeof(buf), &rec, err);
	CHECK(!r && !strcmp(buf, "home=wwn-0x5000c500a1b2c3d4,home_off=2048,job=mirror,dest=dm-uuid-LVM-abc,dest_off=18446744073709551615"),
	      "mirror: %s", buf);
	CHECK(!bj_record_parse(buf, &back, err) && same(&rec, &back), "mirror: round trip");
	rec.job = BJ_RECORD_BACKUP;
	rec.dest[0] = 0;
	rec.dest_off = 0;
	r = bj_record_format(buf, sizeof(buf), &rec, err);
	CHECK(!r && !strcmp(buf, "home=wwn-0x5000c500a1b2c3d4,home_off=2048,job=backup"),
	      "backup without dest: %s", buf);
	CHECK(!bj_record_parse(buf, &back, err) && same(&rec, &back), "backup: round trip");

	/* odd bytes: escaped, uppercase, and back */
	memset(&rec, 0, sizeof(rec));
	strcpy(rec.home, "loop-/srv/my disk,1=%\x7f\x01\xff@0");
	rec.job = BJ_RECORD_MIRROR;
	strcpy(rec.dest, "serial-a\tb~");
	r = bj_record_format(buf, sizeof(buf), &rec, err);
	CHECK(!r && !strcmp(buf, "home=loop-/srv/my%20disk%2C1%3D%25%7F%01%FF@0,home_off=0,job=mirror,dest=serial-a%09b~,dest_off=0"),
	      "escapes: %s", buf);
	CHECK(!bj_record_parse(buf, &back, err) && same(&rec, &back),
	      "escapes: round trip of every odd byte");
	CHECK(!bj_record_parse("home=a%2cb%3d", &back, err) && !strcmp(back.home, "a,b="),
	      "lowercase hex is read too");

	/* refusals */
	memset(&rec, 0, sizeof(rec));
	CHECK(bj_record_format(buf, sizeof(buf), &rec, err) == -EINVAL && strstr(err, "home"),
	      "no home: refused (%s)", err);
	strcpy(rec.home, "x");
	rec.job = BJ_RECORD_MIRROR;
	CHECK(bj_record_format(buf, sizeof(buf), &rec, err) == -EINVAL &&
	      strstr(err, "destination"), "a mirror without dest: refused (%s)", err);
	rec.job = BJ_RECORD_NO_JOB;
	strcpy(rec.dest, "y");
	CHECK(bj_record_format(buf, sizeof(buf), &rec, err) == -EINVAL, "a dest without a job: refused (%s)",
	      err);

	/* the length limit */
	memset(&rec, 0, sizeof(rec));
	memset(rec.home, 'h', 511 - strlen("home=,home_off=0"));
	r = bj_record_format(buf, sizeof(buf), &rec, err);
	CHECK(!r && strlen(buf) == 511, "a record of exactly 511 bytes fits");
	rec.home[strlen(rec.home)] = 'h';
	r = bj_record_format(buf, sizeof(buf), &rec, err);
	CHECK(r == -ENAMETOOLONG && !buf[0] && strstr(err, "512 bytes; at most 511"),
	      "512 bytes: refused (%s)", err);
	memset(&rec, 0, sizeof(rec));
	memset(rec.home, ' ', 200);	/* 600 bytes escaped */
	r = bj_record_format(buf, sizeof(buf), &rec, err);
	CHECK(r == -ENAMETOOLONG, "escapes count: 200 spaces are 600 bytes (%s)", err);
	memset(&rec, 0, sizeof(rec));
	strcpy(rec.home, "abc");
	r = bj_record_format(buf, 10, &rec, err);
	CHECK(r == -ENAMETOOLONG && !buf[0], "a short buffer: refused, left empty");
}

static void bad(const char *text, const char *what)
{
	char err[BJ_ERRLEN] = "";
	struct bj_record rec;
	int r;

	r = bj_record_parse(text, &rec, err);
	CHECK(r == -EINVAL && strstr(err, what), "'%s' refused: %s", text, err);
}

static void test_parse(void)
{
	char err[BJ_ERRLEN], big[600];
	struct bj_record rec;

	CHECK(!bj_record_parse("home=a", &rec, err) && !strcmp(rec.home, "a") && !rec.home_off &&
	      rec.job == BJ_RECORD_NO_JOB && !rec.dest[0], "home alone: home_off 0, no job");
	CHECK(!bj_record_parse("future=1%2C2,home=a,x.y=z,home_off=7", &rec, err) &&
	      !strcmp(rec.home, "a") && rec.home_off == 7, "unknown keys skipped");
	CHECK(!bj_record_parse("job=mirror,dest=d,dest_off=9,home=h", &rec, err) &&
	      rec.job == BJ_RECORD_MIRROR && !strcmp(rec.dest, "d") && rec.dest_off == 9,
	      "any order");
	bad("", "empty");
	bad("home", "not key=value");
	bad("=x,home=a", "not key=value");
	bad("home=a,", "not key=value");
	bad("home=a,,job=backup", "not key=value");
	bad("home=a,home=b", "home given twice");
	bad("home=a,job=backup,job=backup", "job given twice");
	bad("home=a=b", "byte 0x3d");
	bad("home=a b", "byte 0x20");
	bad("home=a%2", "two hex digits");
	bad("home=a%zz", "two hex digits");
	bad("home=a%00b", "other than 0");
	bad("home_off=1", "without a home");
	bad("home=,home_off=1", "without a home");
	bad("home=a,home_off=-1", "not a number");
	bad("home=a,home_off=1x", "not a number");
	bad("home=a,home_off=", "empty");
	bad("home=a,home_off=18446744073709551616", "not a number");
	bad("home=a,job=stream", "unknown job 'stream'");
	bad("home=a,job=mirror", "without its destination");
	bad("home=a,dest=b", "without a job");
	bad("home=a,job=backup,dest_off=3", "dest_off without dest");
	bad("home=a,x=b c", "byte 0x20");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "home=", 5);
	bad(big, "at most 511");
}

/* A mirror's table features, for a resume: written escaped, read back whole. */
static void test_opts(void)
{
	struct bj_record rec = { .home = "h", .job = BJ_RECORD_MIRROR, .dest = "d",
				 .opts = "copy_mode background sync full speed 2097152" }, back;
	char buf[BJ_MD_RECORD_LEN], err[BJ_ERRLEN];

	CHECK(!bj_record_format(buf, sizeof(buf), &rec, err) &&
	      !strcmp(buf, "home=h,home_off=0,job=mirror,dest=d,dest_off=0,opts=copy_mode%20background%20sync%20full%20speed%202097152"),
	      "opts written with its spaces escaped: %s", buf);
	CHECK(!bj_record_parse(buf, &back, err) && same(&rec, &back), "opts read back");
	rec.job = BJ_RECORD_NO_JOB;
	rec.dest[0] = 0;
	CHECK(bj_record_format(buf, sizeof(buf), &rec, err) == -EINVAL && strstr(err, "without a job"),
	      "opts without a job: refused (%s)", err);
	bad("home=a,opts=x", "opts) without a job");
	bad("home=a,job=backup,opts=x,opts=y", "opts given twice");
}

static void test_home(void)
{
	struct bj_record rec;
	char err[BJ_ERRLEN];
	const char *id;
	uint64_t off;

	bj_record_parse("home=a,home_off=8,job=mirror,dest=b,dest_off=16", &rec, err);
	CHECK(!bj_record_home(&rec, false, &id, &off, err) && !strcmp(id, "a") && off == 8,
	      "not pivoted: home");
	CHECK(!bj_record_home(&rec, true, &id, &off, err) && !strcmp(id, "b") && off == 16,
	      "pivoted: the mirror's destination");
	bj_record_parse("home=a,job=backup,dest=b", &rec, err);
	CHECK(bj_record_home(&rec, true, &id, &off, err) == -EINVAL && strstr(err, "damaged"),
	      "pivoted with a backup: damaged (%s)", err);
	bj_record_parse("home=a", &rec, err);
	CHECK(bj_record_home(&rec, true, &id, &off, err) == -EINVAL, "pivoted without a job: damaged");
}

int main(void)
{
	test_format();
	test_parse();
	test_opts();
	test_home();
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed != 0;
}
