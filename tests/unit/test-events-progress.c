// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of lib/bj-progress: silent when disabled (not a terminal),
 * a bar with figures when enabled, a final newline only if drawn, NULL-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

static char *run(bool enabled, int updates, bool clear)
{
	struct bj_progress *p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i;

	if (!f)
		abort();
	p = bj_progress_new_on("vol0: mirror", f, enabled);
	for (i = 1; i <= updates; i++)
		bj_progress_update(p, (uint64_t)i << 20, (uint64_t)updates << 20);
	if (clear)
		bj_progress_clear(p);
	bj_progress_done(p);
	fclose(f);
	return buf;
}

int main(void)
{
	char *s;

	s = run(false, 4, false);
	CHECK(!strcmp(s, ""), "disabled: prints nothing");
	free(s);

	s = run(true, 4, false);
	CHECK(!strncmp(s, "\rvol0: mirror [", 15), "enabled: starts with the label and a bar");
	CHECK(strstr(s, " 25.0%") && strstr(s, "100.0%  4.0 MiB/4.0 MiB"), "first and last figures");
	CHECK(s[strlen(s) - 1] == '\n', "done ends the line");
	free(s);

	s = run(true, 0, false);
	CHECK(!strcmp(s, ""), "enabled but never updated: nothing");
	free(s);

	s = run(true, 1, true);
	CHECK(strstr(s, "\r\033[K") && s[strlen(s) - 1] != '\n', "clear erases; done adds no line");
	free(s);

	bj_progress_update(NULL, 1, 2);
	bj_progress_clear(NULL);
	bj_progress_done(NULL);
	CHECK(1, "NULL is accepted");

	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed ? 1 : 0;
}
