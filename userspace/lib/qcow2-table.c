// SPDX-License-Identifier: GPL-2.0
/*
 * Device-mapper tables from qcow2 extents: linear and zero segments onto
 * the chain's files, whether writes would land in place, and what the top
 * image allocates (sync top). Pure logic: no devices (qcow2-attach.c does
 * those). See qcow2-table.h and Documentation/qcow2.rst ("Tables and jobs").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bj-err.h"
#include "qcow2-table.h"

/* --- plans ------------------------------------------------------------- */

void bj_qplan_init(struct bj_qplan *p, uint64_t bytes)
{
	memset(p, 0, sizeof(*p));
	p->sectors = bytes >> 9;
}

void bj_qplan_free(struct bj_qplan *p)
{
	free(p->segs);
	p->segs = NULL;
	p->nsegs = p->cap = 0;
}

static int plan_file(struct bj_qplan *p, const struct bj_qcow2_extent *e, char *err)
{
	struct stat st;
	unsigned int i;

	for (i = 0; i < p->nfiles; i++)
		if (p->files[i].fd == e->fd)
			return i;
	if (p->nfiles == BJ_QPLAN_MAX_FILES) {
		bj_seterr(err, "too many files in the chain");
		return -E2BIG;
	}
	if (e->fd < 0 || fstat(e->fd, &st)) {
		bj_seterr(err, "%s: cannot stat: %s", e->file ? e->file : "?",
		       strerror(e->fd < 0 ? EBADF : errno));
		return -EBADF;
	}
	p->files[i].fd = e->fd;
	p->files[i].path = e->file;
	p->files[i].depth = e->depth;
	p->files[i].size = st.st_size;
	p->nfiles++;
	return i;
}

/* Append sectors [start, start + len) mapped to @file at @offset (-1: zeroes). */
static int plan_push(struct bj_qplan *p, uint64_t start, uint64_t len, int file, uint64_t offset,
		     char *err)
{
	struct bj_qseg *s = p->nsegs ? &p->segs[p->nsegs - 1] : NULL;

	if (s && s->file == file && s->start + s->len == start &&
	    (file < 0 || s->offset + s->len == offset)) {
		s->len += len;
		return 0;
	}
	if (p->nsegs == BJ_QCOW2_MAX_SEGMENTS) {
		bj_seterr(err, "the table would have more than %u segments (the image is too fragmented); convert it with 'qemu-img convert -O qcow2' first",
		       BJ_QCOW2_MAX_SEGMENTS);
		return -E2BIG;
	}
	if (p->nsegs == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct bj_qseg *n = realloc(p->segs, cap * sizeof(*n));

		if (!n) {
			bj_seterr(err, "out of memory for the table");
			return -ENOMEM;
		}
		p->segs = n;
		p->cap = cap;
	}
	s = &p->segs[p->nsegs++];
	s->start = start;
	s->len = len;
	s->file = file;
	s->offset = file < 0 ? 0 : offset;
	return 0;
}

int bj_qplan_add(struct bj_qplan *p, const struct bj_qcow2_extent *e, char *err)
{
	uint64_t start = e->start >> 9, len = e->length >> 9, fsec, avail;
	int f;

	if (e->compressed) {
		if (!p->compressed++)
			p->first_compressed = e->start;
		return 0;
	}
	if ((e->start | e->length) & 511 || (e->has_offset && (e->offset & 511))) {
		f = e->has_offset ? plan_file(p, e, err) : -1;
		if (f >= 0 && (p->files[f].size & 511)) {
			bj_seterr(err, "%s: its size (%" PRIu64 " bytes) is not a multiple of 512: its last sector cannot be mapped",
			       p->files[f].path, p->files[f].size);
			return -EINVAL;
		}
		bj_seterr(err, "range %" PRIu64 "+%" PRIu64 " is not aligned to 512 bytes",
		       e->start, e->length);
		return -EINVAL;
	}
	if (!(e->depth == 0 && e->present && e->data && e->has_offset)) {
		if (e->depth == 0 && e->present)
			p->zero_clusters++;
		else
			p->unallocated++;
	}
	if (!(e->data && e->has_offset)) {
		if (!e->zero) {
			bj_seterr(err, "range %" PRIu64 "+%" PRIu64 " has neither data nor zeroes",
			       e->start, e->length);
			return -EINVAL;
		}
		return plan_push(p, start, len, -1, 0, err);
	}
	f = plan_file(p, e, err);
	if (f < 0)
		return f;
	/* A loop device has the file's size rounded down to whole sectors. */
	fsec = p->files[f].size >> 9;
	avail = fsec > (e->offset >> 9) ? fsec - (e->offset >> 9) : 0;
	if (avail < len) {
		if (!e->zero) {
			if (p->files[f].size & 511)
				bj_seterr(err, "%s: its size (%" PRIu64 " bytes) is not a multiple of 512: its last sector cannot be mapped",
				       p->files[f].path, p->files[f].size);
			else
				bj_seterr(err, "%s is shorter than the data mapped into it (offset %" PRIu64 "); truncated image?",
				       p->files[f].path, e->offset + e->length);
			return -EINVAL;
		}
		/* Reads as zeroes past the end of the file: a zero segment. */
		p->beyond_eof++;
	}
	if (avail) {
		int r = plan_push(p, start, avail < len ? avail : len, f, e->offset >> 9, err);

		if (r)
			return r;
	}
	if (avail < len)
		return plan_push(p, start + avail, len - avail, -1, 0, err);
	return 0;
}

static int plan_cb(const struct bj_qcow2_extent *e, void *opaque)
{
	void **a = opaque;
	char *err = a[1];

	return bj_qplan_add(a[0], e, err) ? -EINVAL : 0;
}

int bj_qplan_build(struct bj_qcow2_chain *c, struct bj_qplan *p, char *err)
{
	char e2[BJ_ERRLEN] = "";
	struct bj_qcow2_image_info info;
	void *a[2] = { p, e2 };
	int r;

	bj_qplan_init(p, bj_qcow2_chain_size(c));
	if (!p->sectors) {
		bj_seterr(err, "the disk is empty (virtual size 0)");
		return -EINVAL;
	}
	if (!bj_qcow2_image_info(c, 0, &info)) {
		p->snapshots = info.nb_snapshots;
		p->data_file = info.data_file;
	}
	r = bj_qcow2_map(c, plan_cb, a, err);
	if (r) {
		if (e2[0])
			bj_seterr(err, "%s", e2);
		bj_qplan_free(p);
		return r < 0 ? r : -EINVAL;
	}
	if (p->compressed) {
		bj_seterr(err, "%lu range%s compressed (the first at guest offset %" PRIu64 "): a dm table cannot map compressed clusters; decompress with 'qemu-img convert -O qcow2'",
		       p->compressed, p->compressed > 1 ? "s are" : " is", p->first_compressed);
		bj_qplan_free(p);
		return -EMEDIUMTYPE;
	}
	return 0;
}

bool bj_qplan_writable(const struct bj_qplan *p)
{
	return !p->unallocated && !p->zero_clusters && !p->beyond_eof && !p->snapshots &&
	       !p->compressed && (!p->data_file || p->allow_data_file);
}

void bj_qplan_why_ro(const struct bj_qplan *p, const char *image, char *buf, size_t len)
{
	char more[160] = "";

	buf[0] = 0;
	if (bj_qplan_writable(p))
		return;
	if (p->snapshots) {
		snprintf(buf, len, "%s has %u internal snapshot%s (writes in place would change %s)",
			 image, p->snapshots, p->snapshots > 1 ? "s" : "",
			 p->snapshots > 1 ? "them" : "it");
		return;
	}
	if (!p->unallocated && !p->zero_clusters && !p->beyond_eof) {
		/* the only reason left: say it last, the others make it read-only anyway */
		snprintf(buf, len, "%s names an external data file, %s (writes would go there; pass --allow-data-file if you trust the image)",
			 image, p->data_file);
		return;
	}
	if (p->unallocated && p->zero_clusters)
		snprintf(more, sizeof(more), " and %lu %s", p->zero_clusters,
			 p->zero_clusters > 1 ? "are zero clusters" : "is a zero cluster");
	if (p->unallocated)
		snprintf(buf, len, "%lu range%s of %s %s not allocated in the top image%s (writes would need qcow2 allocation)",
			 p->unallocated, p->unallocated > 1 ? "s" : "", image,
			 p->unallocated > 1 ? "are" : "is", more);
	else if (p->zero_clusters)
		snprintf(buf, len, "%lu range%s of %s %s (writes would need qcow2 allocation)",
			 p->zero_clusters, p->zero_clusters > 1 ? "s" : "", image,
			 p->zero_clusters > 1 ? "are zero clusters" : "is a zero cluster");
	else
		snprintf(buf, len, "%lu range%s of %s lie%s beyond the end of the file (writes would need qcow2 allocation)",
			 p->beyond_eof, p->beyond_eof > 1 ? "s" : "", image,
			 p->beyond_eof > 1 ? "" : "s");
}

struct top_acc {
	struct bj_qrange *r;
	size_t n, cap;
};

static int top_cb(const struct bj_qcow2_extent *e, void *opaque)
{
	struct top_acc *a = opaque;

	if (!(e->present && e->depth == 0))
		return 0;
	if (a->n && a->r[a->n - 1].start + a->r[a->n - 1].len == e->start) {
		a->r[a->n - 1].len += e->length;
		return 0;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct bj_qrange *n = realloc(a->r, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		a->r = n;
		a->cap = cap;
	}
	a->r[a->n].start = e->start;
	a->r[a->n].len = e->length;
	a->n++;
	return 0;
}

int bj_qcow2_top_ranges(struct bj_qcow2_chain *c, struct bj_qrange **r, size_t *n, char *err)
{
	struct top_acc a = { 0 };
	int ret;

	ret = bj_qcow2_map(c, top_cb, &a, err);
	if (ret == -ENOMEM)
		bj_seterr(err, "out of memory");
	if (ret) {
		free(a.r);
		return ret;
	}
	*r = a.r;
	*n = a.n;
	return 0;
}
