/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libblockjob's metadata device plumbing: read, format and verify the
 * metadata device of a volume (table feature "metadata <dev>"), on top of
 * the pure format code of bj-md-format.h. Block devices are read and
 * written with O_DIRECT (the page cache does not see the target's writes),
 * and opened O_EXCL to be written (not while a table or a mount holds
 * them); regular files (images, tests) are accepted too.
 *
 * Every function returns 0 or a negative errno and, on failure, leaves one
 * line in the caller's @err buffer (BJ_ERRLEN) naming the device.
 */
#ifndef BJ_MD_H
#define BJ_MD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bj-md-format.h"

struct bj_md_dev {
	int fd;
	const char *path;		/* the caller's string */
	uint64_t bytes;			/* its size */
	uint64_t blocks;		/* bytes / BJ_MD_BLOCK_SIZE */
	bool direct;			/* opened O_DIRECT */
	void *buf;			/* an aligned block for O_DIRECT */
};

enum bj_md_open_mode {
	BJ_MD_READ,			/* read, shared: dump and check of any device */
	BJ_MD_READ_EXCL,		/* read, O_EXCL on a block device */
	BJ_MD_WRITE,			/* read and write, O_EXCL on a block device */
};

/* Open @path (a block device or a regular file). */
int bj_md_dev_open(const char *path, enum bj_md_open_mode mode, struct bj_md_dev *d, char *err);
void bj_md_dev_close(struct bj_md_dev *d);
/* A bj_md_read_fn: @ctx is a struct bj_md_dev. */
int bj_md_dev_read(void *ctx, uint64_t block, void *buf);
/* Are blocks 0 and 1 (the superblocks) all zeroes? */
int bj_md_dev_header_zero(struct bj_md_dev *d, bool *zero, char *err);
/* bj_md_load() on the device; @err names it. */
int bj_md_dev_load(struct bj_md_dev *d, struct bj_md *md, char *err);
/*
 * Open @path read-only (shared), load its committed state into @md (free
 * it with bj_md_free()) and close it. -ENODATA: "PATH: not formatted
 * (blocks 0 and 1 are all zeroes)"; other errors as bj_md_dev_load().
 */
int bj_md_read(const char *path, struct bj_md *md, char *err);
/*
 * Format the device for volume @volume of @data_sectors, using all of it:
 * a random uuid; copy 1 of the superblock zeroed and synced first, then
 * copy 0 written and synced (so no older superblock can outlive a format).
 * -ENOSPC if it is smaller than bj_md_min_bytes().
 */
int bj_md_dev_format(struct bj_md_dev *d, const char *volume, uint64_t data_sectors, char *err);

enum bj_md_prepared {
	BJ_MD_OPENED,			/* this volume's metadata, left as it was */
	BJ_MD_FORMATTED,		/* the header was all zeroes: formatted */
	BJ_MD_REFORMATTED,		/* @format: formatted whatever it held */
};

/*
 * What 'blockjob create NAME DEVICE --metadata MDEV [--format]' does to
 * MDEV (@path) before the table is loaded, for volume @volume of
 * @data_sectors: with @format, format it; else format it if its header is
 * all zeroes; else it must hold this volume's consistent metadata (same
 * name, same size), and is not written. Refusals (MDEV not written): too
 * small (-ENOSPC, the size needed said), another volume's or another size
 * (-EEXIST), not dm-blockjob metadata, no valid superblock or problems
 * found (-EINVAL). *@what says what was done.
 */
int bj_md_prepare(const char *path, const char *volume, uint64_t data_sectors, bool format,
		  enum bj_md_prepared *what, char *err);

#endif
