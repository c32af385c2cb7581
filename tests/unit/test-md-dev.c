// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the metadata device plumbing (lib/bj-md.c) on image files:
 * what 'blockjob create --metadata' does to MDEV (format an all-zero
 * header, open this volume's metadata, refuse another volume's, another
 * size, garbage, a corrupt superblock, a too-small device, all without
 * writing; --format over anything), and the table line it builds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bj-dm.h"
#include "bj-md.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

#define BS BJ_MD_BLOCK_SIZE
#define VOL_SECTORS (1ULL << 21)	/* 1 GiB: 16384 bits at 64K, 2 + 4 * 1 blocks of metadata */

static char path[64];
static uint8_t *before;
static size_t before_len;

static void mkimage(size_t bytes)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/test-md-dev.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)bytes))
		abort();
	close(fd);
}

static uint8_t *slurp(size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		abort();
	b = malloc((size_t)n + 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void put(uint64_t off, const void *buf, size_t len)
{
	FILE *f = fopen(path, "r+b");

	if (!f || fseek(f, (long)off, SEEK_SET) || fwrite(buf, 1, len, f) != len)
		abort();
	fclose(f);
}

static void snap(void)
{
	free(before);
	before = slurp(&before_len);
}

static bool unchanged(void)
{
	size_t len;
	uint8_t *now = slurp(&len);
	bool same = len == before_len && !memcmp(now, before, len);

	free(now);
	return same;
}

static int load(struct bj_md *md, char *err)
{
	struct bj_md_dev d;
	int r = bj_md_dev_open(path, BJ_MD_READ, &d, err);

	if (r)
		return r;
	r = bj_md_dev_load(&d, md, err);
	bj_md_dev_close(&d);
	return r;
}

int main(void)
{
	enum bj_md_prepared what = -1;
	uint64_t need = bj_md_min_bytes(VOL_SECTORS);
	char err[BJ_ERRLEN], want[64];
	uint8_t b[BS];
	struct bj_md md;
	int r;

	CHECK(need == (2 + 4 * 1) * BS, "1 GiB needs %" PRIu64 " bytes of metadata", need);

	/* all zeroes: formatted */
	mkimage(1 << 20);
	r = bj_md_prepare(path, "vol", VOL_SECTORS, false, &what, err);
	CHECK(r == 0 && what == BJ_MD_FORMATTED, "zero header: formatted (%s)", r ? err : "");
	r = load(&md, err);
	CHECK(r == 0 && !strcmp(md.volume_name, "vol") && md.data_sectors == VOL_SECTORS &&
	      md.generation == 1 && md.next_epoch == 1 && md.md_blocks == 256 && md.sb_copy == 0 &&
	      !md.other_sb_valid && md.nr_bitmaps == 0 && md.nr_problems == 0,
	      "formatted: volume name, size, generation 1, next_epoch 1, all 256 blocks, copy 1 zero");
	if (!r)
		bj_md_free(&md);

	/* this volume's metadata: opened, not written */
	snap();
	r = bj_md_prepare(path, "vol", VOL_SECTORS, false, &what, err);
	CHECK(r == 0 && what == BJ_MD_OPENED && unchanged(), "same volume, same size: opened, not written");

	r = bj_md_prepare(path, "other", VOL_SECTORS, false, &what, err);
	CHECK(r == -EEXIST && strstr(err, "holds the metadata of volume 'vol' (not 'other')") &&
	      strstr(err, "--format") && unchanged(), "another volume's: refused, not written (%s)", err);
	r = bj_md_prepare(path, "vol", VOL_SECTORS * 2, false, &what, err);
	CHECK(r == -EEXIST && strstr(err, "1.0 GiB") && unchanged(),
	      "another size: refused, not written (%s)", err);

	/* a torn copy 0 (the only one): refused, not written */
	put(2048, "\xff\xff\xff\xff", 4);
	snap();
	r = bj_md_prepare(path, "vol", VOL_SECTORS, false, &what, err);
	CHECK(r == -EINVAL && strstr(err, "metadata check") && unchanged(),
	      "no valid superblock: refused, not written (%s)", err);

	/* both copies with a bad checksum */
	memcpy(b, before, BS);
	put(BS, b, BS);
	snap();
	r = bj_md_prepare(path, "vol", VOL_SECTORS, false, &what, err);
	CHECK(r == -EINVAL && strstr(err, "superblock checksum mismatch in both copies") &&
	      strstr(err, "not touched") && unchanged(), "both copies bad: refused, not written (%s)", err);

	/* --format over it */
	r = bj_md_prepare(path, "vol2", VOL_SECTORS, true, &what, err);
	CHECK(r == 0 && what == BJ_MD_REFORMATTED, "--format: reformatted (%s)", r ? err : "");
	r = load(&md, err);
	CHECK(r == 0 && !strcmp(md.volume_name, "vol2") && md.generation == 1 && md.sb_copy == 0 &&
	      !md.other_sb_valid, "reformatted: the new name, copy 1 zeroed (%s)", r ? err : "");
	if (!r)
		bj_md_free(&md);

	/* a newer copy 1 of another format must not outlive --format */
	{
		struct bj_md_sb sb;
		uint8_t uuid[16] = { 7 };

		bj_md_sb_format(&sb, uuid, "old", VOL_SECTORS, 256, NULL);
		sb.generation = 100;
		bj_md_sb_encode(&sb, b);
		put(BS, b, BS);
		r = bj_md_prepare(path, "vol3", VOL_SECTORS, true, &what, err);
		r = r ? r : load(&md, err);
		CHECK(r == 0 && !strcmp(md.volume_name, "vol3") && md.generation == 1,
		      "--format over a copy 1 of generation 100: the new format wins (%s)", r ? err : "");
		if (!r)
			bj_md_free(&md);
	}

	/* inconsistent metadata of this volume: refused */
	{
		struct bj_md_sb sb;
		uint8_t uuid[16] = { 7 };

		bj_md_sb_format(&sb, uuid, "vol", VOL_SECTORS, 256, NULL);
		sb.nr_bitmaps = 3;
		bj_md_sb_encode(&sb, b);
		put(0, b, BS);
		snap();
		r = bj_md_prepare(path, "vol", VOL_SECTORS, false, &what, err);
		CHECK(r == -EINVAL && strstr(err, "inconsistent") && strstr(err, "nr_bitmaps") &&
		      unchanged(), "a problem in this volume's metadata: refused, not written (%s)", err);
	}

	/* garbage: refused; --format formats it */
	memset(b, 0, BS);
	memcpy(b, "\xeb\x3c\x90MSDOS5.0", 11);
	put(0, b, BS);
	snap();
	r = bj_md_prepare(path, "vol", VOL_SECTORS, false, &what, err);
	CHECK(r == -EINVAL && strstr(err, "not dm-blockjob metadata (unknown magic") &&
	      strstr(err, "--format") && unchanged(), "garbage: refused, not written (%s)", err);
	r = bj_md_prepare(path, "vol", VOL_SECTORS, true, &what, err);
	CHECK(r == 0 && what == BJ_MD_REFORMATTED, "garbage with --format: formatted");
	unlink(path);

	/* too small, even all zeroes */
	mkimage(need - BS);
	snap();
	r = bj_md_prepare(path, "vol", VOL_SECTORS, false, &what, err);
	snprintf(want, sizeof(want), "needs at least %" PRIu64 " bytes", need);
	CHECK(r == -ENOSPC && strstr(err, want) && strstr(err, "is 20480 bytes") && unchanged(),
	      "too small: refused with the size needed, not written (%s)", err);
	r = bj_md_prepare(path, "vol", VOL_SECTORS, true, &what, err);
	CHECK(r == -ENOSPC && unchanged(), "too small with --format: refused too");
	unlink(path);

	/* exactly the minimum */
	mkimage(need);
	r = bj_md_prepare(path, "vol", VOL_SECTORS, false, &what, err);
	CHECK(r == 0 && what == BJ_MD_FORMATTED, "exactly the minimum: formatted (%s)", r ? err : "");
	unlink(path);

	r = bj_md_prepare("/nonexistent/md", "vol", VOL_SECTORS, false, &what, err);
	CHECK(r == -ENOENT && strstr(err, "/nonexistent/md"), "a missing MDEV: -ENOENT (%s)", err);


	free(before);
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed != 0;
}
