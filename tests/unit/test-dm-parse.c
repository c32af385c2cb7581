// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of lib/bj-dm's parsers of what the target says: the INFO
 * status line and the reply to the "memory" message; and of a line of the
 * "bitmap list" reply (lib/bj-backup).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bj-backup.h"
#include "bj-dm.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

static void test_memory(void)
{
	static const char *const bad[] = {
		"", "1 2", "1 2 x", "1 2 3 4", "-1 2 3x", "a b c", "1 2 3 junk",
	};
	struct bj_memory m;
	size_t i;

	CHECK(!bj_parse_memory("2100672 2101920 0\n", &m) && m.state == 2100672 &&
	      m.copies == 2101920 && m.bitmaps == 0, "memory: the kernel's reply");
	CHECK(!bj_parse_memory("0 0 0", &m) && !m.state && !m.copies && !m.bitmaps,
	      "memory: passthrough, no newline");
	CHECK(!bj_parse_memory("18446744073709551615 1 2\n", &m) && m.state == UINT64_MAX &&
	      m.copies == 1 && m.bitmaps == 2, "memory: the largest value");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(bj_parse_memory(bad[i], &m) == -EINVAL, "memory: \"%s\" is refused", bad[i]);
}

static void test_status(void)
{
	struct bj_status s;

	CHECK(!bj_parse_status("passthrough idle - 0/0 0 0 0 - 2", &s) &&
	      !strcmp(s.mode, "passthrough") && !strcmp(s.state, "idle") && s.nr_bitmaps == 2 &&
	      !s.extra[0], "status: passthrough");
	CHECK(!bj_parse_status("mirror ready - 33554432/33554432 0 0 0 - 0 background 65536 -",
			       &s) && !strcmp(s.state, "ready") && s.done == 33554432 &&
	      s.len == 33554432 && !strcmp(s.extra, "background 65536 -"),
	      "status: a ready mirror, mode fields kept verbatim");
	CHECK(!bj_parse_status("backup running - 1/2 3 4 5 source-read:-5 0", &s) &&
	      s.dirty == 3 && s.speed == 4 && s.errors == 5 &&
	      !strcmp(s.last_error, "source-read:-5"), "status: counters and the last error");
	CHECK(bj_parse_status("mirror ready - 1 2 3", &s) == -EINVAL, "status: a short line is refused");
}

static void test_bitmap_line(void)
{
	static const char *const bad[] = {
		"", "b1", "b1 65536", "b1 65536 0", "b1 x 0 enabled", "b1 65536 0 on",
		"b1 65536 0 enabledx", "b1 65536 0 enabled-busy",
		/* a name longer than 63 bytes is not cut into the next field */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa5 0 0 enabled",
	};
	struct bj_bitmap_info b;
	size_t i;

	CHECK(!bj_parse_bitmap_line("b1 65536 131072 enabled", &b) && !strcmp(b.name, "b1") &&
	      b.granularity == 65536 && b.dirty == 131072 && b.enabled && !b.busy &&
	      !b.persistent, "bitmap list: an in-memory bitmap (or an old kernel)");
	CHECK(!bj_parse_bitmap_line("b1 65536 0 disabled busy", &b) && !b.enabled && b.busy &&
	      !b.persistent, "bitmap list: busy");
	CHECK(!bj_parse_bitmap_line("daily 4096 8192 enabled persistent", &b) && b.enabled &&
	      !b.busy && b.persistent && b.dirty == 8192, "bitmap list: persistent");
	CHECK(!bj_parse_bitmap_line("daily 4096 0 enabled busy persistent", &b) && b.busy &&
	      b.persistent, "bitmap list: busy and persistent");
	CHECK(!bj_parse_bitmap_line("daily 4096 0 disabled persistent busy", &b) && b.busy &&
	      b.persistent && !b.enabled, "bitmap list: flags in any order");
	CHECK(!bj_parse_bitmap_line("daily 4096 0 enabled future persistent", &b) &&
	      b.persistent && !b.busy, "bitmap list: an unknown flag is skipped");
	CHECK(!bj_parse_bitmap_line("busy 4096 0 enabled", &b) && !strcmp(b.name, "busy") &&
	      !b.busy, "bitmap list: a bitmap named busy");
	CHECK(!bj_parse_bitmap_line("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
				    "512 0 enabled", &b) && strlen(b.name) == 63,
	      "bitmap list: a name of 63 bytes");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(bj_parse_bitmap_line(bad[i], &b) == -EPROTO, "bitmap list: \"%s\" is refused",
		      bad[i]);
}

int main(void)
{
	test_memory();
	test_status();
	test_bitmap_line();
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed ? 1 : 0;
}
