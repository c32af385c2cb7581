// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of lib/bj-dm's parsers of what the target says: the INFO
 * status line and the reply to the "memory" message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

int main(void)
{
	test_memory();
	test_status();
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed ? 1 : 0;
}
