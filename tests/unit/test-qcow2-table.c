// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the dm table builder (lib/qcow2-table.c) on synthetic
 * extents: merging of contiguous linear and zero ranges, the writable
 * decision and its one-line reasons, zero ranges past the end of a file,
 * refusals (compressed, unaligned, too short, odd-sized raw files).
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qcow2-table.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

static int mkfile(const char *name, off_t size)
{
	int fd = memfd_create(name, 0);

	if (fd < 0 || ftruncate(fd, size))
		return -1;
	return fd;
}

static struct bj_qcow2_extent ext(uint64_t start, uint64_t len, unsigned int depth, bool present,
			       bool zero, bool data, int fd, uint64_t off)
{
	struct bj_qcow2_extent e = {
		.start = start, .length = len, .depth = depth, .present = present,
		.zero = zero, .data = data, .has_offset = fd >= 0, .offset = off,
		.file = fd >= 0 ? "f" : NULL, .fd = fd,
	};
	return e;
}

int main(void)
{
	int top = mkfile("top", 1 << 20), base = mkfile("base", 1 << 20);
	int odd = mkfile("odd", 1000);
	struct bj_qcow2_extent e;
	char err[BJ_ERRLEN], why[512];
	struct bj_qplan p;
	int r;

	/* fully allocated in the top image, contiguous: one writable segment */
	bj_qplan_init(&p, 128 << 10);
	e = ext(0, 64 << 10, 0, true, false, true, top, 4096);
	r = bj_qplan_add(&p, &e, err);
	e = ext(64 << 10, 64 << 10, 0, true, false, true, top, 4096 + (64 << 10));
	r |= bj_qplan_add(&p, &e, err);
	CHECK(!r && p.nsegs == 1 && p.segs[0].len == 256 && p.segs[0].offset == 8,
	      "contiguous linear extents merge into one segment");
	CHECK(bj_qplan_writable(&p), "fully allocated: writable");
	bj_qplan_why_ro(&p, "img", why, sizeof(why));
	CHECK(!why[0], "writable: no reason");
	bj_qplan_free(&p);

	/* not contiguous on the host, a backing range, zero ranges */
	bj_qplan_init(&p, 5 * 4096);
	e = ext(0, 4096, 0, true, false, true, top, 8192);
	bj_qplan_add(&p, &e, err);
	e = ext(4096, 4096, 0, true, false, true, top, 0);
	bj_qplan_add(&p, &e, err);
	e = ext(8192, 4096, 1, true, false, true, base, 8192);
	bj_qplan_add(&p, &e, err);
	e = ext(12288, 4096, 0, true, true, false, -1, 0);	/* zero cluster */
	bj_qplan_add(&p, &e, err);
	e = ext(16384, 4096, 1, false, true, false, -1, 0);	/* unallocated */
	r = bj_qplan_add(&p, &e, err);
	CHECK(!r && p.nsegs == 4, "segments: %zu (want 4: two top, base, one zero)", p.nsegs);
	CHECK(p.segs[3].file < 0 && p.segs[3].start == 24 && p.segs[3].len == 16,
	      "adjacent zero ranges merge");
	CHECK(p.nfiles == 2, "two files");
	CHECK(!bj_qplan_writable(&p), "backing and zero ranges: read-only");
	bj_qplan_why_ro(&p, "img", why, sizeof(why));
	CHECK(!strcmp(why, "2 ranges of img are not allocated in the top image and 1 is a zero cluster (writes would need qcow2 allocation)"),
	      "reason: %s", why);
	bj_qplan_free(&p);

	/* zero range past the end of its file (metadata preallocation heuristic) */
	bj_qplan_init(&p, 2 << 20);
	e = ext(0, 2 << 20, 0, true, true, true, top, 0);
	r = bj_qplan_add(&p, &e, err);
	CHECK(!r && p.nsegs == 2 && p.segs[0].file == 0 && p.segs[0].len == 2048 &&
	      p.segs[1].file < 0, "zero data past EOF: linear then zero");
	CHECK(!bj_qplan_writable(&p) && p.beyond_eof == 1, "past EOF: read-only");
	bj_qplan_free(&p);

	/* refusals */
	bj_qplan_init(&p, 2 << 20);
	e = ext(0, 2 << 20, 0, true, false, true, top, 0);
	r = bj_qplan_add(&p, &e, err);
	CHECK(r && strstr(err, "shorter"), "data past EOF refused: %s", err);
	bj_qplan_free(&p);

	bj_qplan_init(&p, 1024);
	e = ext(0, 1000, 1, true, false, true, odd, 0);
	r = bj_qplan_add(&p, &e, err);
	CHECK(r && strstr(err, "not a multiple of 512"), "odd-sized raw file refused: %s", err);
	bj_qplan_free(&p);

	bj_qplan_init(&p, 8192);
	e = ext(0, 4096, 0, true, false, true, -1, 0);
	e.compressed = true;
	r = bj_qplan_add(&p, &e, err);
	CHECK(!r && p.compressed == 1 && !bj_qplan_writable(&p), "compressed ranges counted");
	bj_qplan_free(&p);

	/* snapshots make it read-only */
	bj_qplan_init(&p, 4096);
	e = ext(0, 4096, 0, true, false, true, top, 0);
	bj_qplan_add(&p, &e, err);
	p.snapshots = 2;
	bj_qplan_why_ro(&p, "img", why, sizeof(why));
	CHECK(!bj_qplan_writable(&p) && strstr(why, "2 internal snapshots"), "snapshots: %s", why);
	bj_qplan_free(&p);

	close(top);
	close(base);
	close(odd);
	return failed ? 1 : 0;
}
