// SPDX-License-Identifier: GPL-2.0
/*
 * The metadata device of a volume: reading, formatting, verifying (see
 * bj-md.h). The format itself is in bj-md-format.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bj-dm.h"
#include "bj-md.h"
#include "bj-util.h"

_Static_assert(BJ_MD_ERRLEN == BJ_ERRLEN, "one size of error buffers");

int bj_md_dev_open(const char *path, enum bj_md_open_mode mode, struct bj_md_dev *d, char *err)
{
	int flags = (mode == BJ_MD_WRITE ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	struct stat st;
	int r;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->path = path;
	if (stat(path, &st)) {
		r = -errno;
		bj_seterr(err, "%s: %s", path, strerror(errno));
		return r;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		bj_seterr(err, "%s is not a block device", path);
		return -ENOTBLK;
	}
	/* O_EXCL: refused while a dm table (a live volume) or a mount holds it */
	if (S_ISBLK(st.st_mode))
		flags |= O_DIRECT | (mode == BJ_MD_READ ? 0 : O_EXCL);
	d->fd = open(path, flags);
	if (d->fd < 0) {
		r = -errno;
		bj_seterr(err, "cannot open %s: %s%s", path, strerror(errno),
		       errno == EBUSY ? " (in use: by a live volume's table? remove that volume first)" : "");
		return r;
	}
	d->direct = S_ISBLK(st.st_mode);
	if (d->direct) {
		if (ioctl(d->fd, BLKGETSIZE64, &d->bytes)) {
			r = -errno;
			bj_seterr(err, "cannot read the size of %s: %s", path, strerror(errno));
			goto fail;
		}
	} else {
		d->bytes = (uint64_t)st.st_size;
	}
	d->blocks = d->bytes / BJ_MD_BLOCK_SIZE;
	if (posix_memalign(&d->buf, BJ_MD_BLOCK_SIZE, BJ_MD_BLOCK_SIZE)) {
		r = -ENOMEM;
		bj_seterr(err, "out of memory");
		goto fail;
	}
	return 0;
fail:
	bj_md_dev_close(d);
	return r;
}

void bj_md_dev_close(struct bj_md_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	free(d->buf);
	d->buf = NULL;
}

int bj_md_dev_read(void *ctx, uint64_t block, void *buf)
{
	struct bj_md_dev *d = ctx;
	ssize_t n;

	if (block >= d->blocks)
		return -EIO;
	n = pread(d->fd, d->buf, BJ_MD_BLOCK_SIZE, (off_t)(block * BJ_MD_BLOCK_SIZE));
	if (n < 0)
		return -errno;
	if (n != BJ_MD_BLOCK_SIZE)
		return -EIO;
	memcpy(buf, d->buf, BJ_MD_BLOCK_SIZE);
	return 0;
}

static int write_block(struct bj_md_dev *d, uint64_t block, const void *buf, char *err)
{
	ssize_t n;

	memcpy(d->buf, buf, BJ_MD_BLOCK_SIZE);
	n = pwrite(d->fd, d->buf, BJ_MD_BLOCK_SIZE, (off_t)(block * BJ_MD_BLOCK_SIZE));
	if (n != BJ_MD_BLOCK_SIZE) {
		int r = n < 0 ? -errno : -EIO;

		bj_seterr(err, "%s: writing block %" PRIu64 ": %s", d->path, block, strerror(-r));
		return r;
	}
	if (fdatasync(d->fd)) {
		int r = -errno;

		bj_seterr(err, "%s: flushing block %" PRIu64 ": %s", d->path, block, strerror(-r));
		return r;
	}
	return 0;
}

int bj_md_dev_header_zero(struct bj_md_dev *d, bool *zero, char *err)
{
	uint8_t b[BJ_MD_BLOCK_SIZE];
	uint64_t i;
	int r;

	*zero = true;
	for (i = 0; i < BJ_MD_SB_COPIES && i < d->blocks; i++) {
		r = bj_md_dev_read(d, i, b);
		if (r) {
			bj_seterr(err, "%s: reading block %" PRIu64 ": %s", d->path, i, strerror(-r));
			return r;
		}
		if (!bj_md_block_zero(b))
			*zero = false;
	}
	return 0;
}

int bj_md_dev_load(struct bj_md_dev *d, struct bj_md *md, char *err)
{
	char e[BJ_ERRLEN];
	int r;

	r = bj_md_load(bj_md_dev_read, d, d->blocks, md, e);
	if (r)
		bj_seterr(err, "%s: %s", d->path, e);
	return r;
}

int bj_md_read(const char *path, struct bj_md *md, char *err)
{
	struct bj_md_dev d;
	int r;

	r = bj_md_dev_open(path, BJ_MD_READ, &d, err);
	if (r)
		return r;
	r = bj_md_dev_load(&d, md, err);
	bj_md_dev_close(&d);
	if (r == -ENODATA)
		bj_seterr(err, "%s: not formatted (blocks 0 and 1 are all zeroes)", path);
	return r;
}

/* "MDEV is B bytes; volume V of S needs at least N bytes of metadata" */
static int too_small(const struct bj_md_dev *d, const char *volume, uint64_t data_sectors,
		     char *err)
{
	char a[32], b[32];
	uint64_t need = bj_md_min_bytes(data_sectors);

	bj_seterr(err, "%s is %" PRIu64 " bytes; volume %s of %s needs at least %" PRIu64 " bytes (%s) of metadata",
	       d->path, d->bytes, volume, bj_human_size(data_sectors * 512, a, sizeof(a)), need,
	       bj_human_size(need, b, sizeof(b)));
	return -ENOSPC;
}

int bj_md_dev_format(struct bj_md_dev *d, const char *volume, uint64_t data_sectors, char *err)
{
	uint8_t uuid[BJ_MD_UUID_LEN], b[BJ_MD_BLOCK_SIZE];
	char e[BJ_ERRLEN];
	struct bj_md_sb sb;
	size_t got = 0;
	ssize_t n;
	int r;

	if (d->bytes < bj_md_min_bytes(data_sectors))
		return too_small(d, volume, data_sectors, err);
	while (got < sizeof(uuid)) {
		n = getrandom(uuid + got, sizeof(uuid) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			bj_seterr(err, "no random uuid: getrandom: %s", strerror(errno));
			return r;
		}
		got += (size_t)n;
	}
	r = bj_md_sb_format(&sb, uuid, volume, data_sectors, d->blocks, e);
	if (r) {
		bj_seterr(err, "%s: %s", d->path, e);
		return r;
	}
	/* copy 1 first: no older superblock may survive with a higher generation */
	memset(b, 0, sizeof(b));
	r = write_block(d, 1, b, err);
	if (r)
		return r;
	bj_md_sb_encode(&sb, b);
	return write_block(d, 0, b, err);
}

int bj_md_prepare(const char *path, const char *volume, uint64_t data_sectors, bool format,
		  enum bj_md_prepared *what, char *err)
{
	char a[32], b[32];
	struct bj_md_dev d;
	struct bj_md md;
	bool zero = false;
	int r;

	r = bj_md_dev_open(path, BJ_MD_READ_EXCL, &d, err);
	if (r)
		return r;
	if (d.bytes < bj_md_min_bytes(data_sectors)) {
		r = too_small(&d, volume, data_sectors, err);
		goto out;
	}
	if (!format) {
		r = bj_md_dev_header_zero(&d, &zero, err);
		if (r)
			goto out;
	}
	if (format || zero) {
		bj_md_dev_close(&d);
		r = bj_md_dev_open(path, BJ_MD_WRITE, &d, err);
		if (r)
			return r;
		r = bj_md_dev_format(&d, volume, data_sectors, err);
		*what = format ? BJ_MD_REFORMATTED : BJ_MD_FORMATTED;
		goto out;
	}
	r = bj_md_load(bj_md_dev_read, &d, d.blocks, &md, err);
	if (r == -EINVAL) {
		char e[BJ_ERRLEN];

		snprintf(e, sizeof(e), "%s", err);
		if (!strncmp(e, "not dm-blockjob metadata", 24))
			bj_seterr(err, "%s: %s: not touched; --format formats it, losing what it holds",
			       path, e);
		else
			bj_seterr(err, "%s: %s: not touched; 'blockjob metadata check %s' for details",
			       path, e, path);
		goto out;
	}
	if (r) {
		char e[BJ_ERRLEN];

		snprintf(e, sizeof(e), "%s", err);
		bj_seterr(err, "%s: %s", path, e);
		goto out;
	}
	if (strcmp(md.volume_name, volume)) {
		bj_seterr(err, "%s holds the metadata of volume '%s' (not '%s'): pick the right device or use --format to start over, losing its bitmaps",
		       path, md.volume_name, volume);
		r = -EEXIST;
	} else if (md.data_sectors != data_sectors) {
		bj_seterr(err, "%s holds the metadata of volume %s of %s (%" PRIu64 " sectors), not %s (%" PRIu64 "): pick the right device or use --format to start over, losing its bitmaps",
		       path, volume, bj_human_size(md.data_sectors * 512, a, sizeof(a)),
		       md.data_sectors, bj_human_size(data_sectors * 512, b, sizeof(b)),
		       data_sectors);
		r = -EEXIST;
	} else if (md.nr_problems) {
		bj_seterr(err, "%s: the metadata of volume %s is inconsistent (%s%s): not touched; 'blockjob metadata check %s' for details",
		       path, volume, md.problems[0], md.nr_problems > 1 ? ", ..." : "", path);
		r = -EINVAL;
	} else {
		*what = BJ_MD_OPENED;
	}
	bj_md_free(&md);
out:
	bj_md_dev_close(&d);
	return r;
}
