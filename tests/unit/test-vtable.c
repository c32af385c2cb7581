// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of lib/bj-job's table lines: bj_vtable_parse() (what 'dmsetup
 * table' shows of a volume, with the metadata feature found among the
 * feature arguments) and bj_table_params() / bj_passthrough_params() (new
 * tables carry the live table's metadata device, with the right count).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bj-job.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

static void test_parse(void)
{
	static const char *const bad[] = {
		"",
		"passthrough",
		"passthrough 253:1",
		"passthrough 253:1 x",
		"passthrough 253:1 0x",
		"view 253:0",
		"mirror 253:1 0 253:5 0",
		"passthrough 253:1 0 1 metadata 253:2",		/* count too small */
		"passthrough 253:1 0 3 metadata 253:2",		/* count too large */
		"passthrough 253:1 0 2 metadata",		/* value missing */
		"passthrough 253:1 0 x metadata 253:2",
		"passthrough 253:1 0 2x metadata 253:2",
		"backup 253:1 0 253:5 0 128 3 sync full start_paused x",
	};
	struct bj_vtable t;
	char longdev[BJ_MD_DEV_MAX + 2], line[512];
	size_t i;

	memset(&t, 0x55, sizeof(t));
	CHECK(!bj_vtable_parse("passthrough 253:1 0", &t) && !strcmp(t.mode, "passthrough") &&
	      !strcmp(t.src, "253:1") && !t.src_off && !t.dst[0] && !t.features[0] &&
	      !t.metadata[0] && !t.granule && !t.sectors,
	      "parse: passthrough without features (the rest cleared)");
	CHECK(!bj_vtable_parse("passthrough 253:1 8 2 metadata 253:2", &t) &&
	      !strcmp(t.src, "253:1") && t.src_off == 8 && !strcmp(t.metadata, "253:2") &&
	      !strcmp(t.features, "2 metadata 253:2"), "parse: passthrough with metadata");
	CHECK(!bj_vtable_parse("mirror 253:1 0 253:5 0 128 4 speed 0 metadata 253:2", &t) &&
	      !strcmp(t.mode, "mirror") && !strcmp(t.dst, "253:5") && t.granule == 128 &&
	      !strcmp(t.metadata, "253:2"), "parse: mirror with metadata last");
	CHECK(!bj_vtable_parse("mirror 253:1 0 253:5 0 128 14 metadata 8:16 copy_mode background "
			       "sync full speed 0 on_source_error report on_target_error report "
			       "max_copies 16", &t) && !strcmp(t.metadata, "8:16"),
	      "parse: metadata first among mirror features");
	CHECK(!bj_vtable_parse("backup 253:1 0 253:5 0 128 5 start_paused metadata /dev/vdc sync "
			       "top", &t) && !strcmp(t.metadata, "/dev/vdc"),
	      "parse: after a feature without value, a path as given");
	CHECK(!bj_vtable_parse("backup 253:1 0 253:5 0 128 8 sync incremental bitmap metadata "
			       "on_cbw_error break-snapshot max_copies 16", &t) && !t.metadata[0],
	      "parse: a bitmap named metadata is not the feature");
	CHECK(!bj_vtable_parse("backup 253:1 0 253:5 0 128 6 bitmap metadata metadata 253:9 sync "
			       "incremental", &t) && !strcmp(t.metadata, "253:9"),
	      "parse: a bitmap named metadata and the feature");
	CHECK(!bj_vtable_parse("mirror 253:1 0 253:5 0 128 12 copy_mode background sync full speed 0 "
			       "on_source_error report on_target_error report max_copies 16",
			       &t) && !t.metadata[0] && !strcmp(t.features, "12 copy_mode background "
			       "sync full speed 0 on_source_error report on_target_error report "
			       "max_copies 16"), "parse: mirror without metadata");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(bj_vtable_parse(bad[i], &t) == -EPROTO, "parse: \"%s\" is refused", bad[i]);

	memset(longdev, 'd', sizeof(longdev) - 1);
	longdev[sizeof(longdev) - 1] = 0;
	snprintf(line, sizeof(line), "passthrough 253:1 0 2 metadata %s", longdev);
	CHECK(bj_vtable_parse(line, &t) == -EPROTO, "parse: a metadata device over %d bytes",
	      BJ_MD_DEV_MAX);
	longdev[BJ_MD_DEV_MAX] = 0;
	snprintf(line, sizeof(line), "passthrough 253:1 0 2 metadata %s", longdev);
	CHECK(!bj_vtable_parse(line, &t) && strlen(t.metadata) == BJ_MD_DEV_MAX,
	      "parse: a metadata device of %d bytes", BJ_MD_DEV_MAX);
}

static void test_build(void)
{
	struct bj_vtable none, md;
	char buf[BJ_TABLE_MAX], small[32];

	bj_vtable_parse("passthrough 253:1 0", &none);
	bj_vtable_parse("mirror 253:1 0 253:5 0 128 4 speed 0 metadata 253:2", &md);

	CHECK(!bj_passthrough_params(buf, sizeof(buf), &none, "253:5", 0) &&
	      !strcmp(buf, "passthrough 253:5 0"),
	      "build: passthrough without metadata has no feature count: %s", buf);
	CHECK(!bj_passthrough_params(buf, sizeof(buf), &md, "253:5", 16) &&
	      !strcmp(buf, "passthrough 253:5 16 2 metadata 253:2"),
	      "build: the pivot keeps the metadata device: %s", buf);
	CHECK(!bj_table_params(buf, sizeof(buf), "mirror 253:1 0 253:5 0 128",
			       "copy_mode background sync full speed 0", &none) &&
	      !strcmp(buf, "mirror 253:1 0 253:5 0 128 6 copy_mode background sync full speed 0"),
	      "build: mirror features counted: %s", buf);
	CHECK(!bj_table_params(buf, sizeof(buf), "mirror 253:1 0 253:5 0 128",
			       "copy_mode background sync full speed 0 start_paused", &md) &&
	      !strcmp(buf, "mirror 253:1 0 253:5 0 128 9 copy_mode background sync full speed 0 "
			   "start_paused metadata 253:2"),
	      "build: mirror features plus metadata counted: %s", buf);
	CHECK(!bj_table_params(buf, sizeof(buf), "backup 253:1 0 253:5 0 128",
			       " sync  full  on_cbw_error break-snapshot ", &md) &&
	      !strcmp(buf, "backup 253:1 0 253:5 0 128 6 sync full on_cbw_error break-snapshot "
			   "metadata 253:2"),
	      "build: words one space apart whatever the spacing: %s", buf);
	CHECK(!bj_table_params(buf, sizeof(buf), "passthrough 253:1 0", "", &md) &&
	      !strcmp(buf, "passthrough 253:1 0 2 metadata 253:2") &&
	      !bj_table_params(buf, sizeof(buf), "passthrough 253:1 0", NULL, &none) &&
	      !strcmp(buf, "passthrough 253:1 0"), "build: no words, NULL words");
	CHECK(bj_table_params(small, sizeof(small), "passthrough 253:1 0", NULL, &md) ==
	      -ENAMETOOLONG, "build: a line that does not fit is refused");
	CHECK(bj_table_params(small, 19, "passthrough 253:1 0", NULL, &none) == -ENAMETOOLONG &&
	      !bj_table_params(small, 20, "passthrough 253:1 0", NULL, &none),
	      "build: the NUL counts");

	/* what is built parses back to the same metadata device */
	bj_table_params(buf, sizeof(buf), "backup 253:1 0 253:5 0 128",
			"sync incremental bitmap metadata", &md);
	CHECK(!bj_vtable_parse(buf, &none) && !strcmp(none.metadata, "253:2"),
	      "build: round trip with a bitmap named metadata: %s", buf);
}

int main(void)
{
	test_parse();
	test_build();
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed ? 1 : 0;
}
