// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2 reader: headers, extensions, L1/L2 (normal and extended), refcounts,
 * backing chains; block status with qemu-img map's semantics. See qcow2.h
 * and Documentation/qcow2.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qcow2.h"
#include "qcow2-open.h"

#define QCOW2_MAGIC		0x514649fbu	/* "QFI\xfb" */
#define MIN_CLUSTER_BITS	9
#define MAX_CLUSTER_BITS	21
#define V2_HEADER_LEN		72
#define V3_HEADER_LEN		104
#define MAX_BACKING_NAME	1023
#define MAX_SNAPSHOTS		65536

#define INCOMPAT_DIRTY		(1ull << 0)
#define INCOMPAT_CORRUPT	(1ull << 1)
#define INCOMPAT_DATA_FILE	(1ull << 2)
#define INCOMPAT_COMPRESSION	(1ull << 3)
#define INCOMPAT_EXTL2		(1ull << 4)
#define INCOMPAT_KNOWN		0x1full
#define AUTOCLEAR_DATA_FILE_RAW	(1ull << 1)

#define EXT_END			0x00000000u
#define EXT_BACKING_FORMAT	0xe2792acau
#define EXT_FEATURE_TABLE	0x6803f857u
#define EXT_DATA_FILE		0x44415441u

#define OFLAG_COPIED		(1ull << 63)
#define OFLAG_COMPRESSED	(1ull << 62)
#define OFLAG_ZERO		(1ull << 0)
#define L1E_OFFSET_MASK		0x00fffffffffffe00ull
#define L2E_OFFSET_MASK		0x00fffffffffffe00ull
#define REFT_OFFSET_MASK	0xfffffffffffffe00ull
#define L1E_RESERVED		0x7f000000000001ffull

/* Budget of refcount block bytes scanned per image (metadata preallocation check). */
#define REFSCAN_BUDGET		(1ull << 30)
#define L2_CACHE		2

/* block status flags, as qemu's BDRV_BLOCK_* */
#define ST_DATA		0x01
#define ST_ZERO		0x02
#define ST_OFFSET	0x04
#define ST_ALLOC	0x10
#define ST_EOF		0x20
#define ST_RECURSE	0x40
#define ST_COMPRESSED	0x80

enum sc_type {
	SC_NORMAL, SC_COMPRESSED, SC_ZERO_PLAIN, SC_ZERO_ALLOC,
	SC_UNALLOC_PLAIN, SC_UNALLOC_ALLOC, SC_INVALID,
};

struct qfile {
	int fd;
	char *path;
	uint64_t size;		/* bytes */
	uint64_t allocated;	/* st_blocks * 512 */
};

struct l2_slot {
	uint64_t offset;	/* 0: empty */
	unsigned long stamp;
	uint64_t *table;	/* raw big-endian entries */
};

struct image {
	bool raw;
	struct qfile file;
	struct qfile dfile;	/* external data file */
	struct qfile *data;	/* &file or &dfile */
	uint64_t size;		/* guest-visible */
	unsigned int depth;

	/* qcow2 */
	unsigned int version, cluster_bits, sc_bits, refcount_order;
	uint64_t cluster_size, incompat, compat, autoclear;
	bool extl2, has_data_file;
	unsigned int l2_bits;	/* log2 entries per L2 table */
	unsigned int nb_snapshots;
	uint32_t l1_size;
	uint64_t *l1;		/* host endian */
	uint64_t reftable_entries;
	uint64_t *reftable;	/* host endian */
	int meta_prealloc;	/* -1 unknown */
	unsigned long l2_clock;
	struct l2_slot l2[L2_CACHE];
	char *backing_name, *backing_fmt, *data_file_name;
};

struct bj_qcow2_chain {
	unsigned int n;
	struct image *img[BJ_QCOW2_MAX_DEPTH];
	struct bj_qcow2_open_opts opts;
	uint64_t mem;		/* table bytes reserved by the images (chain cap) */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Prefix messages about images below the top with the image's name. */
static void imgerr(const struct image *im, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void imgerr(const struct image *im, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (im->depth)
		seterr(err, errlen, "backing file %s (depth %u): %s", im->file.path,
		       im->depth, msg);
	else
		seterr(err, errlen, "%s", msg);
}

/* Read exactly @len bytes at @off; reading past the end of the file is an error. */
static int qread(const struct qfile *f, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (off > f->size || len > f->size - off)
		return -ENODATA;
	while (done < len) {
		ssize_t r = pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ENODATA;
		done += (size_t)r;
	}
	return 0;
}

static int qfile_init(struct qfile *f, int fd, const char *path)
{
	struct stat st;
	off_t end;

	f->fd = fd;
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return -errno;
	f->size = (uint64_t)end;
	f->allocated = (uint64_t)st.st_blocks * 512;
	/*
	 * No readahead: it would pull zero pages of unwritten extents into the
	 * page cache, and ext4 then reports them as data to SEEK_HOLE, which
	 * changes the answer of the next hole probe (ours or qemu's).
	 */
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	return 0;
}

static void qfile_close(struct qfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->path);
	f->path = NULL;
}

static void image_free(struct image *im)
{
	unsigned int i;

	if (!im)
		return;
	qfile_close(&im->file);
	qfile_close(&im->dfile);
	free(im->l1);
	free(im->reftable);
	for (i = 0; i < L2_CACHE; i++)
		free(im->l2[i].table);
	free(im->backing_name);
	free(im->backing_fmt);
	free(im->data_file_name);
	free(im);
}

/*
 * Resolve @name relative to the directory of @base, as qemu's path_combine():
 * absolute names stay, relative ones are put beside @base.
 */
static char *path_combine(const char *base, const char *name)
{
	const char *slash;
	size_t dirlen;
	char *out;

	if (name[0] == '/')
		return strdup(name);
	slash = strrchr(base, '/');
	if (!slash)
		return strdup(name);
	dirlen = (size_t)(slash - base) + 1;
	out = malloc(dirlen + strlen(name) + 1);
	if (!out)
		return NULL;
	memcpy(out, base, dirlen);
	strcpy(out + dirlen, name);
	return out;
}

/*
 * Open a file an image names (untrusted: qcow2-open.h). -errno, with @why
 * set when the file was refused (else say strerror).
 */
static int open_path(const struct bj_qcow2_chain *c, const char *path, char *why, size_t whylen)
{
	struct stat st;
	int fd, r;

	why[0] = 0;
	if (!c->opts.open_file)
		return bj_qcow2_open_named(path, why, whylen);
	fd = c->opts.open_file(c->opts.opaque, path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		r = -errno;
		close(fd);
		return r;
	}
	r = bj_qcow2_check_regular(&st, why, whylen);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/*
 * Is the file open as @fd in the chain already (an image or an external
 * data file, other than @self)? 1 and @where says which, else 0.
 */
static int chain_find(const struct bj_qcow2_chain *c, int fd, const struct qfile *self,
		      char *where, size_t len)
{
	struct stat st, st2;
	unsigned int i;

	if (fstat(fd, &st))
		return 0;
	for (i = 0; i < c->n; i++) {
		const struct image *im = c->img[i];

		if (&im->file != self && im->file.fd >= 0 && !fstat(im->file.fd, &st2) &&
		    bj_qcow2_same_file(&st, &st2)) {
			snprintf(where, len, "already in the chain at depth %u", i);
			return 1;
		}
		if (&im->dfile != self && im->dfile.fd >= 0 && !fstat(im->dfile.fd, &st2) &&
		    bj_qcow2_same_file(&st, &st2)) {
			snprintf(where, len, "already in the chain as the external data file of depth %u",
				 i);
			return 1;
		}
	}
	return 0;
}

/*
 * Count @bytes of tables of @im against the chain's cap. -ENOMEM with a
 * message when the chain would exceed it.
 */
static int chain_reserve(struct bj_qcow2_chain *c, const struct image *im, uint64_t bytes,
			 char *err, size_t errlen)
{
	uint64_t max = c->opts.max_chain_bytes ? c->opts.max_chain_bytes : BJ_QCOW2_MAX_CHAIN_BYTES;

	if (bytes > max || c->mem > max - bytes) {
		imgerr(im, err, errlen, "the chain's tables would take more than %llu %s of memory (L1, refcount and cached L2 tables of every image; %llu bytes before this image, %llu more for it)",
		       (unsigned long long)(max >= 1 << 20 ? max >> 20 : max),
		       max >= 1 << 20 ? "MiB" : "bytes", (unsigned long long)c->mem,
		       (unsigned long long)bytes);
		return -E2BIG;
	}
	c->mem += bytes;
	return 0;
}

static bool is_aligned(const struct image *im, uint64_t off)
{
	return (off & (im->cluster_size - 1)) == 0;
}

/* Check that a table of @len bytes at @off is cluster-aligned and inside the file. */
static int check_table(const struct image *im, const char *what, uint64_t off, uint64_t len,
		       char *err, size_t errlen)
{
	if (!is_aligned(im, off)) {
		imgerr(im, err, errlen, "%s offset %#llx is not aligned to the cluster size",
		       what, (unsigned long long)off);
		return -EINVAL;
	}
	if (off > im->file.size || len > im->file.size - off) {
		imgerr(im, err, errlen, "%s at %#llx (%llu bytes) is beyond the end of the file (%llu bytes)",
		       what, (unsigned long long)off, (unsigned long long)len,
		       (unsigned long long)im->file.size);
		return -EINVAL;
	}
	return 0;
}

static void feature_names(const unsigned char *table, uint32_t tlen, uint64_t bits,
			  char *out, size_t outlen)
{
	size_t used = 0;
	unsigned int b;

	out[0] = 0;
	for (b = 0; b < 64; b++) {
		const char *name = NULL;
		char nbuf[47];
		uint32_t i;

		if (!(bits & (1ull << b)))
			continue;
		for (i = 0; table && i + 48 <= tlen; i += 48) {
			if (table[i] == 0 && table[i + 1] == b) {
				memcpy(nbuf, table + i + 2, 46);
				nbuf[46] = 0;
				for (char *p = nbuf; *p; p++)
					if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
						*p = '?';
				name = nbuf;
				break;
			}
		}
		if (used < outlen)
			used += (size_t)snprintf(out + used, outlen - used, "%s%s%s(bit %u)",
						 used ? ", " : "", name ? name : "",
						 name ? " " : "", b);
	}
}

static int parse_extensions(struct image *im, const unsigned char *hdr, uint64_t start,
			    uint64_t end, unsigned char **ftable, uint32_t *ftlen,
			    char *err, size_t errlen)
{
	uint64_t off = start;

	while (off < end) {
		uint32_t type, len;

		if (end - off < 8) {
			imgerr(im, err, errlen, "header extension at %#llx is truncated",
			       (unsigned long long)off);
			return -EINVAL;
		}
		type = be32(hdr + off);
		len = be32(hdr + off + 4);
		off += 8;
		if (len > end - off) {
			imgerr(im, err, errlen, "header extension %#x at %#llx is too large (%u bytes)",
			       type, (unsigned long long)off - 8, len);
			return -EINVAL;
		}
		switch (type) {
		case EXT_END:
			return 0;
		case EXT_BACKING_FORMAT:
			if (len >= 16) {
				imgerr(im, err, errlen, "backing format extension too long (%u bytes)", len);
				return -EINVAL;
			}
			free(im->backing_fmt);
			im->backing_fmt = strndup((const char *)hdr + off, len);
			if (!im->backing_fmt)
				return -ENOMEM;
			break;
		case EXT_FEATURE_TABLE:
			*ftable = (unsigned char *)hdr + off;
			*ftlen = len;
			break;
		case EXT_DATA_FILE:
			if (len > 4096 || !len) {
				imgerr(im, err, errlen, "external data file name has a bad length (%u bytes)", len);
				return -EINVAL;
			}
			free(im->data_file_name);
			im->data_file_name = strndup((const char *)hdr + off, len);
			if (!im->data_file_name)
				return -ENOMEM;
			if (strlen(im->data_file_name) != len) {
				imgerr(im, err, errlen, "external data file name contains a NUL byte");
				return -EINVAL;
			}
			break;
		default:
			break;	/* unknown extensions are skipped */
		}
		off += ((uint64_t)len + 7) & ~7ull;
	}
	return 0;
}

static int load_be64_table(const struct qfile *f, uint64_t off,
			   uint64_t n, uint64_t **out)
{
	uint64_t *t;
	uint64_t i;
	int r;

	*out = NULL;
	if (!n)
		return 0;
	t = malloc(n * 8);
	if (!t)
		return -ENOMEM;
	r = qread(f, t, n * 8, off);
	if (r) {
		free(t);
		return r;
	}
	for (i = 0; i < n; i++)
		t[i] = be64((unsigned char *)&t[i]);
	*out = t;
	return 0;
}

static int open_qcow2(struct bj_qcow2_chain *c, struct image *im, char *err, size_t errlen)
{
	unsigned char *hdr = NULL, *ftable = NULL;
	uint32_t ftlen = 0, hdrlen, backing_len, crypt, comp = 0;
	uint64_t backing_off, l1_off, rt_off, snap_off, l2_span, need_l1, ext_end;
	uint32_t rt_clusters;
	size_t first;
	int r = -EINVAL;

	if (im->file.size < V2_HEADER_LEN) {
		imgerr(im, err, errlen, "file too short for a qcow2 header (%llu bytes)",
		       (unsigned long long)im->file.size);
		return -EINVAL;
	}
	hdr = calloc(1, 1u << MAX_CLUSTER_BITS);
	if (!hdr)
		return -ENOMEM;
	first = im->file.size < (1u << MAX_CLUSTER_BITS) ? (size_t)im->file.size : 1u << MAX_CLUSTER_BITS;
	r = qread(&im->file, hdr, first, 0);
	if (r) {
		imgerr(im, err, errlen, "cannot read the header: %s", strerror(-r));
		goto out;
	}
	r = -EINVAL;
	if (be32(hdr) != QCOW2_MAGIC) {
		imgerr(im, err, errlen, "not a qcow2 image (bad magic)");
		goto out;
	}
	im->version = be32(hdr + 4);
	if (im->version != 2 && im->version != 3) {
		imgerr(im, err, errlen, "unsupported qcow2 version %u", im->version);
		goto out;
	}
	backing_off = be64(hdr + 8);
	backing_len = be32(hdr + 16);
	im->cluster_bits = be32(hdr + 20);
	im->size = be64(hdr + 24) & ~511ull;
	crypt = be32(hdr + 32);
	im->l1_size = be32(hdr + 36);
	l1_off = be64(hdr + 40);
	rt_off = be64(hdr + 48);
	rt_clusters = be32(hdr + 56);
	im->nb_snapshots = be32(hdr + 60);
	snap_off = be64(hdr + 64);
	if (im->cluster_bits < MIN_CLUSTER_BITS || im->cluster_bits > MAX_CLUSTER_BITS) {
		imgerr(im, err, errlen, "unsupported cluster size 2^%u (must be 512 B to 2 MiB)",
		       im->cluster_bits);
		goto out;
	}
	im->cluster_size = 1ull << im->cluster_bits;
	if (im->version == 2) {
		hdrlen = V2_HEADER_LEN;
		im->refcount_order = 4;
	} else {
		if (im->file.size < V3_HEADER_LEN) {
			imgerr(im, err, errlen, "file too short for a qcow2 v3 header (%llu bytes)",
			       (unsigned long long)im->file.size);
			goto out;
		}
		im->incompat = be64(hdr + 72);
		im->compat = be64(hdr + 80);
		im->autoclear = be64(hdr + 88);
		im->refcount_order = be32(hdr + 96);
		hdrlen = be32(hdr + 100);
		if (hdrlen < V3_HEADER_LEN) {
			imgerr(im, err, errlen, "qcow2 v3 header too short (%u bytes)", hdrlen);
			goto out;
		}
		if (hdrlen > im->cluster_size || hdrlen > im->file.size) {
			imgerr(im, err, errlen, "header length %u exceeds the cluster size or the file", hdrlen);
			goto out;
		}
		if (hdrlen > V3_HEADER_LEN) {
			comp = hdr[104];
			if (comp > 1) {
				imgerr(im, err, errlen, "unknown compression type %u", comp);
				goto out;
			}
		}
		if (!!comp != !!(im->incompat & INCOMPAT_COMPRESSION)) {
			imgerr(im, err, errlen, "compression type %u does not match the compression type feature bit", comp);
			goto out;
		}
	}
	if (im->refcount_order > 6) {
		imgerr(im, err, errlen, "refcount order %u too large (at most 6: 64-bit refcounts)",
		       im->refcount_order);
		goto out;
	}

	/* extensions live in the first cluster, before the backing file name */
	ext_end = backing_off ? backing_off : im->cluster_size;
	if (backing_off > im->cluster_size) {
		imgerr(im, err, errlen, "backing file name offset %#llx is outside the first cluster",
		       (unsigned long long)backing_off);
		goto out;
	}
	if (ext_end > first)
		ext_end = first;
	if (ext_end > hdrlen) {
		r = parse_extensions(im, hdr, hdrlen, ext_end, &ftable, &ftlen, err, errlen);
		if (r)
			goto out;
		r = -EINVAL;
	}

	if (im->incompat & ~INCOMPAT_KNOWN) {
		char names[256];

		feature_names(ftable, ftlen, im->incompat & ~INCOMPAT_KNOWN, names, sizeof(names));
		imgerr(im, err, errlen, "unsupported incompatible feature(s): %s", names);
		goto out;
	}
	if (im->incompat & INCOMPAT_CORRUPT) {
		imgerr(im, err, errlen, "image is marked corrupt; run 'qemu-img check -r all' on it");
		goto out;
	}
	if (im->incompat & INCOMPAT_DIRTY) {
		imgerr(im, err, errlen, "image is dirty (not closed cleanly, lazy refcounts); run 'qemu-img check -r all' on it");
		goto out;
	}
	if (crypt) {
		imgerr(im, err, errlen, "encrypted images are not supported (encryption method %u)", crypt);
		goto out;
	}
	im->extl2 = !!(im->incompat & INCOMPAT_EXTL2);
	im->has_data_file = !!(im->incompat & INCOMPAT_DATA_FILE);
	if (im->extl2 && im->cluster_bits < 14) {
		imgerr(im, err, errlen, "extended L2 entries need clusters of at least 16 KiB");
		goto out;
	}
	im->l2_bits = im->cluster_bits - 3 - (im->extl2 ? 1 : 0);
	im->sc_bits = im->cluster_bits - (im->extl2 ? 5 : 0);

	/* backing file name */
	if (backing_off) {
		if (backing_len > MAX_BACKING_NAME || !backing_len ||
		    backing_off + backing_len > im->cluster_size || backing_off + backing_len > first) {
			imgerr(im, err, errlen, "bad backing file name (offset %#llx, %u bytes)",
			       (unsigned long long)backing_off, backing_len);
			goto out;
		}
		im->backing_name = strndup((const char *)hdr + backing_off, backing_len);
		if (!im->backing_name) {
			r = -ENOMEM;
			goto out;
		}
		if (strlen(im->backing_name) != backing_len) {
			imgerr(im, err, errlen, "backing file name contains a NUL byte");
			goto out;
		}
	}

	/* L1 table */
	if (im->l1_size > BJ_QCOW2_MAX_L1_BYTES / 8) {
		imgerr(im, err, errlen, "L1 table too large (%u entries, at most %u)",
		       im->l1_size, BJ_QCOW2_MAX_L1_BYTES / 8);
		goto out;
	}
	l2_span = 1ull << (im->cluster_bits + im->l2_bits);
	need_l1 = im->size / l2_span + !!(im->size % l2_span);
	if (need_l1 > im->l1_size) {
		imgerr(im, err, errlen, "L1 table too small (%u entries) for the virtual size %llu",
		       im->l1_size, (unsigned long long)im->size);
		goto out;
	}
	r = chain_reserve(c, im, (uint64_t)im->l1_size * 8 + L2_CACHE * im->cluster_size, err,
			  errlen);
	if (r)
		goto out;
	if (im->l1_size) {
		r = check_table(im, "L1 table", l1_off, (uint64_t)im->l1_size * 8, err, errlen);
		if (r)
			goto out;
		r = load_be64_table(&im->file, l1_off, im->l1_size, &im->l1);
		if (r) {
			imgerr(im, err, errlen, "cannot read the L1 table: %s", strerror(-r));
			goto out;
		}
	}

	/* refcount table */
	if ((uint64_t)rt_clusters << im->cluster_bits > BJ_QCOW2_MAX_REFTABLE_BYTES) {
		imgerr(im, err, errlen, "refcount table too large (%u clusters, at most %u bytes)",
		       rt_clusters, BJ_QCOW2_MAX_REFTABLE_BYTES);
		r = -EINVAL;
		goto out;
	}
	if (!rt_clusters) {
		imgerr(im, err, errlen, "image has no refcount table");
		r = -EINVAL;
		goto out;
	}
	im->reftable_entries = ((uint64_t)rt_clusters << im->cluster_bits) / 8;
	r = check_table(im, "refcount table", rt_off, im->reftable_entries * 8, err, errlen);
	if (r)
		goto out;
	r = chain_reserve(c, im, im->reftable_entries * 8, err, errlen);
	if (r)
		goto out;
	r = load_be64_table(&im->file, rt_off, im->reftable_entries, &im->reftable);
	if (r) {
		imgerr(im, err, errlen, "cannot read the refcount table: %s", strerror(-r));
		goto out;
	}
	im->meta_prealloc = -1;

	/* snapshot table: only located, not read */
	r = -EINVAL;
	if (im->nb_snapshots > MAX_SNAPSHOTS) {
		imgerr(im, err, errlen, "too many internal snapshots (%u)", im->nb_snapshots);
		goto out;
	}
	if (im->nb_snapshots) {
		r = check_table(im, "snapshot table", snap_off, 40, err, errlen);
		if (r)
			goto out;
	}

	/* external data file */
	if (im->has_data_file) {
		char *p, why[PATH_MAX + 160];
		int fd;

		if (!im->data_file_name) {
			imgerr(im, err, errlen, "image needs an external data file but names none");
			r = -EINVAL;
			goto out;
		}
		p = path_combine(im->file.path, im->data_file_name);
		if (!p) {
			r = -ENOMEM;
			goto out;
		}
		fd = open_path(c, p, why, sizeof(why));
		if (fd < 0) {
			if (why[0])
				imgerr(im, err, errlen, "external data file %s refused: %s", p, why);
			else
				imgerr(im, err, errlen, "cannot open external data file %s: %s", p,
				       strerror(-fd));
			free(p);
			r = fd;
			goto out;
		}
		r = qfile_init(&im->dfile, fd, p);
		free(p);
		if (r) {
			imgerr(im, err, errlen, "external data file %s: %s", im->dfile.path, strerror(-r));
			goto out;
		}
		if (chain_find(c, im->dfile.fd, &im->dfile, why, sizeof(why))) {
			imgerr(im, err, errlen, "backing chain loop: external data file %s is %s",
			       im->dfile.path, why);
			r = -ELOOP;
			goto out;
		}
		im->data = &im->dfile;
	} else {
		im->data = &im->file;
	}
	r = 0;
out:
	free(hdr);
	return r;
}

static int probe_raw(const struct qfile *f)
{
	unsigned char m[4];

	if (qread(f, m, 4, 0))
		return 1;
	return be32(m) != QCOW2_MAGIC;
}

static int chain_add(struct bj_qcow2_chain *c, int fd, const char *path, const char *fmt,
		     char *err, size_t errlen)
{
	struct image *im;
	char where[96];
	int r;

	im = calloc(1, sizeof(*im));
	if (!im) {
		close(fd);
		return -ENOMEM;
	}
	im->dfile.fd = -1;
	im->depth = c->n;
	c->img[c->n++] = im;
	r = qfile_init(&im->file, fd, path);
	if (r) {
		imgerr(im, err, errlen, "%s", strerror(-r));
		return r;
	}
	/* backing loop: the same file twice in the chain (images and data files) */
	if (c->n > 1 && chain_find(c, fd, &im->file, where, sizeof(where))) {
		imgerr(c->img[c->n - 2], err, errlen, "backing chain loop: backing file %s is %s",
		       path, where);
		return -ELOOP;
	}
	if (fmt && !strcmp(fmt, "raw"))
		im->raw = true;
	else if (fmt && strcmp(fmt, "qcow2")) {
		imgerr(c->img[c->n - 2], err, errlen, "unsupported backing file format '%s' (only qcow2 and raw)", fmt);
		return -ENOTSUP;
	} else if (!fmt && c->n > 1 && probe_raw(&im->file)) {
		/* qemu's rule for untrusted images: never probe a backing file as raw */
		if (c->n == 2)
			imgerr(c->img[0], err, errlen, "backing file %s has no backing format in the image and is not qcow2: not probed as raw; pass --backing-format raw if you trust it",
			       path);
		else
			imgerr(c->img[c->n - 2], err, errlen, "backing file %s has no backing format in the image and is not qcow2: not probed as raw; record it with 'qemu-img rebase -u -F raw -b NAME IMAGE' if you trust it",
			       path);
		return -EMEDIUMTYPE;
	}
	if (im->raw) {
		/* qemu rounds the size of raw files up to whole sectors */
		im->size = (im->file.size + 511) & ~511ull;
		im->data = &im->file;
		return 0;
	}
	return open_qcow2(c, im, err, errlen);
}

int bj_qcow2_open_chain_fd(int fd, const char *path, const struct bj_qcow2_open_opts *opts,
			   struct bj_qcow2_chain **cp, char *err)
{
	const size_t errlen = BJ_ERRLEN;
	struct bj_qcow2_chain *c;
	unsigned int max;
	int r;

	*cp = NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (opts)
		c->opts = *opts;
	max = c->opts.max_depth;
	if (!max || max > BJ_QCOW2_MAX_DEPTH)
		max = BJ_QCOW2_MAX_DEPTH;
	r = chain_add(c, fd, path, "qcow2", err, errlen);
	while (!r) {
		struct image *im = c->img[c->n - 1];
		char *p, why[PATH_MAX + 160];
		const char *fmt;
		int bfd;

		if (im->raw || !im->backing_name)
			break;
		if (c->n >= max) {
			seterr(err, errlen, "backing chain deeper than %u images", max);
			r = -ELOOP;
			break;
		}
		if (!strncmp(im->backing_name, "json:", 5)) {
			imgerr(im, err, errlen, "json: backing file names are not supported");
			r = -ENOTSUP;
			break;
		}
		p = path_combine(im->file.path, im->backing_name);
		if (!p) {
			r = -ENOMEM;
			break;
		}
		bfd = open_path(c, p, why, sizeof(why));
		if (bfd < 0) {
			if (why[0])
				imgerr(im, err, errlen, "backing file %s refused: %s", p, why);
			else
				imgerr(im, err, errlen, "cannot open backing file %s: %s", p,
				       strerror(-bfd));
			free(p);
			r = bfd;
			break;
		}
		fmt = im->backing_fmt;
		if (!fmt && c->n == 1)
			fmt = c->opts.backing_format;
		r = chain_add(c, bfd, p, fmt, err, errlen);
		free(p);
	}
	if (r) {
		if (r == -ENOMEM)
			seterr(err, errlen, "out of memory");
		bj_qcow2_close_chain(c);
		return r;
	}
	*cp = c;
	return 0;
}

int bj_qcow2_open_chain(const char *path, const struct bj_qcow2_open_opts *opts,
			struct bj_qcow2_chain **cp, char *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e = errno;

	if (fd < 0) {
		*cp = NULL;
		seterr(err, BJ_ERRLEN, "cannot open: %s", strerror(e));
		return -e;
	}
	return bj_qcow2_open_chain_fd(fd, path, opts, cp, err);
}

void bj_qcow2_close_chain(struct bj_qcow2_chain *c)
{
	unsigned int i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		image_free(c->img[i]);
	free(c);
}

uint64_t bj_qcow2_chain_size(const struct bj_qcow2_chain *c)
{
	return c->img[0]->size;
}

unsigned int bj_qcow2_chain_length(const struct bj_qcow2_chain *c)
{
	return c->n;
}

int bj_qcow2_image_info(const struct bj_qcow2_chain *c, unsigned int depth,
		     struct bj_qcow2_image_info *info)
{
	const struct image *im;

	if (depth >= c->n)
		return -ERANGE;
	im = c->img[depth];
	memset(info, 0, sizeof(*info));
	info->path = im->file.path;
	info->format = im->raw ? "raw" : "qcow2";
	info->size = im->size;
	if (im->raw)
		return 0;
	info->version = im->version;
	info->cluster_size = (uint32_t)im->cluster_size;
	info->refcount_bits = 1u << im->refcount_order;
	info->extended_l2 = im->extl2;
	info->backing_name = im->backing_name;
	info->backing_format = im->backing_fmt;
	info->data_file = im->has_data_file ? im->dfile.path : NULL;
	info->data_file_raw = im->has_data_file && (im->autoclear & AUTOCLEAR_DATA_FILE_RAW);
	info->nb_snapshots = im->nb_snapshots;
	return 0;
}

/* ---- L2 and refcount lookups ---- */

static int l2_get(struct image *im, uint64_t l2_off, const uint64_t **table,
		  char *err, size_t errlen)
{
	struct l2_slot *victim = &im->l2[0];
	unsigned int i;
	int r;

	for (i = 0; i < L2_CACHE; i++) {
		if (im->l2[i].table && im->l2[i].offset == l2_off) {
			im->l2[i].stamp = ++im->l2_clock;
			*table = im->l2[i].table;
			return 0;
		}
		if (!im->l2[i].table || im->l2[i].stamp < victim->stamp)
			victim = &im->l2[i];
	}
	r = check_table(im, "L2 table", l2_off, im->cluster_size, err, errlen);
	if (r)
		return r;
	if (!victim->table) {
		victim->table = malloc(im->cluster_size);
		if (!victim->table) {
			seterr(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	victim->offset = 0;
	r = qread(&im->file, victim->table, im->cluster_size, l2_off);
	if (r) {
		imgerr(im, err, errlen, "cannot read L2 table at %#llx: %s",
		       (unsigned long long)l2_off, strerror(-r));
		return r;
	}
	victim->offset = l2_off;
	victim->stamp = ++im->l2_clock;
	*table = victim->table;
	return 0;
}

static enum sc_type subcluster_type(const struct image *im, uint64_t entry, uint64_t bitmap,
				    unsigned int sc)
{
	bool alloc;

	if (entry & OFLAG_COMPRESSED)
		return SC_COMPRESSED;
	alloc = (entry & L2E_OFFSET_MASK) || (im->has_data_file && (entry & OFLAG_COPIED));
	if (!im->extl2) {
		if (entry & OFLAG_ZERO)
			return (entry & L2E_OFFSET_MASK) ? SC_ZERO_ALLOC : SC_ZERO_PLAIN;
		return alloc ? SC_NORMAL : SC_UNALLOC_PLAIN;
	}
	if (alloc) {
		if ((bitmap >> 32) & bitmap)
			return SC_INVALID;
		if (bitmap & (1ull << (sc + 32)))
			return SC_ZERO_ALLOC;
		if (bitmap & (1ull << sc))
			return SC_NORMAL;
		return SC_UNALLOC_ALLOC;
	}
	if (bitmap & 0xffffffffull)
		return SC_INVALID;
	if (bitmap & (1ull << (sc + 32)))
		return SC_ZERO_PLAIN;
	return SC_UNALLOC_PLAIN;
}

static bool sc_has_host(enum sc_type t)
{
	return t == SC_NORMAL || t == SC_ZERO_ALLOC || t == SC_UNALLOC_ALLOC;
}

/*
 * qcow2 layer: type of the subcluster holding @offset and how many bytes
 * from @offset (at most @bytes) share it (contiguous on the host too).
 */
static int get_host_offset(struct image *im, uint64_t offset, uint64_t *bytes,
			   uint64_t *host, enum sc_type *type, char *err, size_t errlen)
{
	uint64_t l1_index = offset >> (im->cluster_bits + im->l2_bits);
	uint64_t l2_entries = 1ull << im->l2_bits;
	uint64_t l2_index = (offset >> im->cluster_bits) & (l2_entries - 1);
	uint64_t in_cluster = offset & (im->cluster_size - 1);
	uint64_t sc_size = 1ull << im->sc_bits;
	unsigned int sc = (unsigned int)(in_cluster >> im->sc_bits);
	unsigned int nsc = 1u << (im->cluster_bits - im->sc_bits);
	uint64_t l2_off, avail, want = *bytes, expect = 0;
	const uint64_t *l2;
	enum sc_type t;
	bool first = true;
	int r;

	*host = 0;
	if (l1_index >= im->l1_size || !(im->l1[l1_index] & L1E_OFFSET_MASK)) {
		/* whole L2 spans unallocated: skip them all at once */
		uint64_t i = l1_index + 1;

		while (i < im->l1_size && !(im->l1[i] & L1E_OFFSET_MASK))
			i++;
		if (l1_index >= im->l1_size || i >= im->l1_size)
			avail = UINT64_MAX;
		else
			avail = ((i - l1_index) << (im->cluster_bits + im->l2_bits)) -
				(offset & ((1ull << (im->cluster_bits + im->l2_bits)) - 1));
		*type = SC_UNALLOC_PLAIN;
		*bytes = avail < want ? avail : want;
		return 0;
	}
	l2_off = im->l1[l1_index] & L1E_OFFSET_MASK;
	if (!is_aligned(im, l2_off)) {
		imgerr(im, err, errlen, "L2 table offset %#llx is not aligned to the cluster size (L1 index %llu)",
		       (unsigned long long)l2_off, (unsigned long long)l1_index);
		return -EINVAL;
	}
	r = l2_get(im, l2_off, &l2, err, errlen);
	if (r)
		return r;

	avail = (uint64_t)sc << im->sc_bits;
	t = SC_INVALID;
	/* walk clusters (and subclusters) of the same type */
	while (l2_index < l2_entries && avail < want + in_cluster) {
		const unsigned char *e = (const unsigned char *)l2 +
					 (l2_index << (im->extl2 ? 4 : 3));
		uint64_t entry = be64(e), bitmap = im->extl2 ? be64(e + 8) : 0;
		uint64_t hoff = entry & L2E_OFFSET_MASK;
		uint64_t guest_cluster = ((l1_index << im->l2_bits) + l2_index) << im->cluster_bits;

		for (; sc < nsc && avail < want + in_cluster; sc++) {
			enum sc_type ct = subcluster_type(im, entry, bitmap, sc);

			if (ct == SC_INVALID) {
				if (first) {
					imgerr(im, err, errlen, "invalid L2 entry %#llx (bitmap %#llx) at L2 table %#llx index %llu",
					       (unsigned long long)entry, (unsigned long long)bitmap,
					       (unsigned long long)l2_off, (unsigned long long)l2_index);
					return -EINVAL;
				}
				goto done;
			}
			if (!first && ct != t)
				goto done;
			if (sc_has_host(ct)) {
				uint64_t h = hoff + ((uint64_t)sc << im->sc_bits);

				if (first) {
					if (!is_aligned(im, hoff)) {
						imgerr(im, err, errlen, "data cluster offset %#llx is not aligned to the cluster size (L2 table %#llx index %llu)",
						       (unsigned long long)hoff, (unsigned long long)l2_off,
						       (unsigned long long)l2_index);
						return -EINVAL;
					}
					if (im->has_data_file && hoff != guest_cluster) {
						imgerr(im, err, errlen, "external data file cluster offset %#llx does not match the guest offset %#llx",
						       (unsigned long long)hoff, (unsigned long long)guest_cluster);
						return -EINVAL;
					}
					if (ct == SC_NORMAL && h >= im->data->size) {
						imgerr(im, err, errlen, "data cluster at %#llx is beyond the end of %s (%llu bytes)",
						       (unsigned long long)hoff, im->data->path,
						       (unsigned long long)im->data->size);
						return -EINVAL;
					}
					*host = h + (in_cluster & (sc_size - 1));
				} else if (h != expect) {
					goto done;
				} else if (!is_aligned(im, hoff)) {
					goto done;
				}
				expect = h + sc_size;
			}
			if (ct == SC_COMPRESSED) {
				if (im->has_data_file) {
					imgerr(im, err, errlen, "compressed cluster in an image with an external data file");
					return -EINVAL;
				}
				/* each compressed cluster is its own extent */
				if (!first)
					goto done;
			}
			if ((ct == SC_ZERO_PLAIN || ct == SC_ZERO_ALLOC) && im->version < 3) {
				imgerr(im, err, errlen, "zero cluster in a qcow2 v2 image (L2 table %#llx index %llu)",
				       (unsigned long long)l2_off, (unsigned long long)l2_index);
				return -EINVAL;
			}
			if (first)
				t = ct;
			first = false;
			if (ct == SC_COMPRESSED) {
				avail += im->cluster_size - ((uint64_t)sc << im->sc_bits);
				sc = nsc;
				break;
			}
			avail += sc_size;
		}
		sc = 0;
		l2_index++;
	}
done:
	*type = t;
	avail -= in_cluster;
	*bytes = avail < want ? avail : want;
	return 0;
}

static uint64_t get_refcount(const unsigned char *block, uint64_t idx, unsigned int order)
{
	switch (order) {
	case 0: case 1: case 2: {
		unsigned int bits = 1u << order, per = 8 / bits;

		return (block[idx / per] >> ((idx % per) * bits)) & ((1u << bits) - 1);
	}
	case 3:
		return block[idx];
	case 4:
		return (uint64_t)block[idx * 2] << 8 | block[idx * 2 + 1];
	case 5:
		return be32(block + idx * 4);
	default:
		return be64(block + idx * 8);
	}
}

/*
 * qemu's metadata preallocation heuristic: more clusters have a refcount
 * than the file really allocates (it is sparse). Then qemu asks the file
 * where its holes are, and data clusters in holes read as zeroes.
 */
static int detect_meta_prealloc(struct image *im, char *err, size_t errlen)
{
	uint64_t real_clusters = im->file.allocated >> im->cluster_bits;
	uint64_t threshold = real_clusters * 10 / 9;
	uint64_t end = (im->file.size + im->cluster_size - 1) >> im->cluster_bits;
	unsigned int ebits = im->cluster_bits + 3 - im->refcount_order;	/* log2 entries per block */
	uint64_t count = 0, scanned = 0, i = 0;
	unsigned char *block;
	int r = 0;

	if (threshold < real_clusters + 2)
		threshold = real_clusters + 2;
	block = malloc(im->cluster_size);
	if (!block)
		return -ENOMEM;
	while (i < end && count < threshold) {
		uint64_t ti = i >> ebits, rb, j, lim;

		if (ti >= im->reftable_entries)
			break;
		rb = im->reftable[ti] & REFT_OFFSET_MASK;
		if (!rb) {
			i = (ti + 1) << ebits;
			continue;
		}
		r = check_table(im, "refcount block", rb, im->cluster_size, err, errlen);
		if (r)
			break;
		scanned += im->cluster_size;
		if (scanned > REFSCAN_BUDGET) {
			imgerr(im, err, errlen, "refcount structures too large to scan");
			r = -EFBIG;
			break;
		}
		r = qread(&im->file, block, im->cluster_size, rb);
		if (r) {
			imgerr(im, err, errlen, "cannot read refcount block at %#llx: %s",
			       (unsigned long long)rb, strerror(-r));
			break;
		}
		lim = (ti + 1) << ebits;
		if (lim > end)
			lim = end;
		for (j = i; j < lim && count < threshold; j++)
			count += !!get_refcount(block, j & ((1ull << ebits) - 1), im->refcount_order);
		i = lim;
	}
	free(block);
	if (r)
		return r;
	im->meta_prealloc = count >= threshold;
	return 0;
}

/* ---- block status ---- */

struct status {
	unsigned int flags;
	uint64_t pnum;
	uint64_t map;
	const struct qfile *file;
};

/* Protocol level (a plain file): holes read as zeroes, like file-posix. */
static void file_status(const struct qfile *f, uint64_t offset, uint64_t bytes, struct status *st)
{
	uint64_t total = (f->size + 511) & ~511ull;
	off_t data, hole;

	st->file = f;
	st->map = offset;
	if (offset >= total) {
		st->flags = ST_EOF;
		st->pnum = 0;
		return;
	}
	if (bytes > total - offset)
		bytes = total - offset;
	st->pnum = bytes;
	data = lseek(f->fd, (off_t)offset, SEEK_DATA);
	if (data < 0) {
		st->flags = errno == ENXIO ? ST_ZERO : ST_DATA;
	} else if ((uint64_t)data < offset) {
		st->flags = ST_DATA;
	} else if ((uint64_t)data > offset) {
		if ((uint64_t)data - offset < bytes)
			st->pnum = (uint64_t)data - offset;
		st->flags = ST_ZERO;
	} else {
		hole = lseek(f->fd, (off_t)offset, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole <= offset) {
			st->flags = ST_DATA;
		} else {
			if ((uint64_t)hole - offset < bytes)
				st->pnum = (uint64_t)hole - offset;
			st->flags = ST_DATA;
		}
	}
	st->flags |= ST_OFFSET | ST_ALLOC;
	if (offset + st->pnum == total)
		st->flags |= ST_EOF;
}

static int layer_status(struct bj_qcow2_chain *c, unsigned int d, uint64_t offset, uint64_t bytes,
			struct status *st, char *err, size_t errlen)
{
	struct image *im = c->img[d];
	enum sc_type t;
	uint64_t host;
	int r;

	if (bytes > im->size - offset)
		bytes = im->size - offset;
	if (im->raw) {
		file_status(&im->file, offset, bytes, st);
		if (!st->pnum) {
			/* cannot happen: offset < size */
			st->pnum = bytes;
			st->flags = ST_ZERO | ST_ALLOC;
		}
		return 0;
	}
	if (im->meta_prealloc < 0) {
		r = detect_meta_prealloc(im, err, errlen);
		if (r)
			return r;
	}
	r = get_host_offset(im, offset, &bytes, &host, &t, err, errlen);
	if (r)
		return r;
	st->pnum = bytes;
	st->flags = 0;
	st->file = NULL;
	st->map = 0;
	if (sc_has_host(t)) {
		st->map = host;
		st->file = im->data;
		st->flags |= ST_OFFSET;
	}
	if (t == SC_ZERO_PLAIN || t == SC_ZERO_ALLOC)
		st->flags |= ST_ZERO;
	else if (t != SC_UNALLOC_PLAIN && t != SC_UNALLOC_ALLOC)
		st->flags |= ST_DATA;
	if (t == SC_COMPRESSED)
		st->flags |= ST_COMPRESSED;
	if (im->meta_prealloc && (st->flags & ST_DATA) && (st->flags & ST_OFFSET))
		st->flags |= ST_RECURSE;

	/* generic layer */
	if (st->flags & (ST_DATA | ST_ZERO)) {
		st->flags |= ST_ALLOC;
	} else if (d + 1 >= c->n) {
		st->flags |= ST_ZERO;
	} else if (offset >= c->img[d + 1]->size) {
		st->flags |= ST_ZERO;
	}
	if ((st->flags & ST_RECURSE) && !(st->flags & ST_ZERO)) {
		struct status fs;

		file_status(st->file, st->map, st->pnum, &fs);
		if ((fs.flags & ST_EOF) && (!fs.pnum || (fs.flags & ST_ZERO))) {
			st->flags |= ST_ZERO;
		} else {
			st->pnum = fs.pnum;
			st->flags |= fs.flags & ST_ZERO;
		}
	}
	return 0;
}

int bj_qcow2_block_status(struct bj_qcow2_chain *c, uint64_t offset, uint64_t bytes,
			  struct bj_qcow2_extent *e, char *err)
{
	const size_t errlen = BJ_ERRLEN;
	unsigned int d;
	struct status st = { 0 };
	int r;

	if (offset >= c->img[0]->size || !bytes) {
		seterr(err, errlen, "offset %llu beyond the end of the disk",
		       (unsigned long long)offset);
		return -EINVAL;
	}
	for (d = 0; d < c->n; d++) {
		r = layer_status(c, d, offset, bytes, &st, err, errlen);
		if (r)
			return r;
		bytes = st.pnum;
		if (st.flags & (ST_ZERO | ST_DATA))
			break;
	}
	if (d == c->n) {
		d = c->n - 1;
		st.flags = 0;
	}
	memset(e, 0, sizeof(*e));
	e->start = offset;
	e->length = bytes;
	e->depth = d;
	e->present = !!(st.flags & ST_ALLOC);
	e->zero = !!(st.flags & ST_ZERO);
	e->data = !!(st.flags & ST_DATA);
	e->compressed = !!(st.flags & ST_COMPRESSED);
	e->has_offset = !!(st.flags & ST_OFFSET);
	e->fd = -1;
	if (e->has_offset) {
		e->offset = st.map;
		e->file = st.file->path;
		e->fd = st.file->fd;
	}
	return 0;
}

static bool mergeable(const struct bj_qcow2_extent *a, const struct bj_qcow2_extent *b)
{
	if (!a->length)
		return false;
	if (a->zero != b->zero || a->data != b->data || a->depth != b->depth ||
	    a->present != b->present || a->compressed != b->compressed)
		return false;
	if (a->has_offset != b->has_offset)
		return false;
	if (a->has_offset && (strcmp(a->file, b->file) || a->offset + a->length != b->offset))
		return false;
	return true;
}

int bj_qcow2_map(struct bj_qcow2_chain *c, bj_qcow2_extent_cb cb, void *opaque, char *err)
{
	uint64_t size = c->img[0]->size;
	struct bj_qcow2_extent cur = { .fd = -1 }, next;
	int r;

	while (cur.start + cur.length < size) {
		uint64_t off = cur.start + cur.length;

		r = bj_qcow2_block_status(c, off, size - off, &next, err);
		if (r)
			return r;
		if (mergeable(&cur, &next)) {
			cur.length += next.length;
			continue;
		}
		if (cur.length) {
			r = cb(&cur, opaque);
			if (r)
				return r;
		}
		cur = next;
	}
	if (cur.length)
		return cb(&cur, opaque);
	return 0;
}
