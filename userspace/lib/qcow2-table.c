// SPDX-License-Identifier: GPL-2.0
/*
 * Device-mapper tables from qcow2 extents (linear and zero segments onto
 * loop devices), attach/detach of qcow2 chains as blockjob volumes, and
 * the qcow2 parts of jobs: sync top regions, qcow2 destinations.
 * See qcow2-table.h and Documentation/qcow2.rst ("Tables and jobs").
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <linux/dm-ioctl.h>
#include <limits.h>
#include <linux/loop.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bj-dm.h"
#include "bj-job.h"
#include "qcow2-table.h"

extern char **environ;

static void seterr(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

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

static int plan_file(struct bj_qplan *p, const struct qcow2_extent *e, char *err, size_t errlen)
{
	struct stat st;
	unsigned int i;

	for (i = 0; i < p->nfiles; i++)
		if (p->files[i].fd == e->fd)
			return i;
	if (p->nfiles == BJ_QPLAN_MAX_FILES) {
		seterr(err, errlen, "too many files in the chain");
		return -E2BIG;
	}
	if (e->fd < 0 || fstat(e->fd, &st)) {
		seterr(err, errlen, "%s: cannot stat: %s", e->file ? e->file : "?",
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
		     char *err, size_t errlen)
{
	struct bj_qseg *s = p->nsegs ? &p->segs[p->nsegs - 1] : NULL;

	if (s && s->file == file && s->start + s->len == start &&
	    (file < 0 || s->offset + s->len == offset)) {
		s->len += len;
		return 0;
	}
	if (p->nsegs == BJ_QCOW2_MAX_SEGMENTS) {
		seterr(err, errlen, "the table would have more than %u segments (the image is too fragmented); convert it with 'qemu-img convert -O qcow2' first",
		       BJ_QCOW2_MAX_SEGMENTS);
		return -E2BIG;
	}
	if (p->nsegs == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct bj_qseg *n = realloc(p->segs, cap * sizeof(*n));

		if (!n) {
			seterr(err, errlen, "out of memory for the table");
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

int bj_qplan_add(struct bj_qplan *p, const struct qcow2_extent *e, char *err, size_t errlen)
{
	uint64_t start = e->start >> 9, len = e->length >> 9, fsec, avail;
	int f;

	if (e->compressed) {
		if (!p->compressed++)
			p->first_compressed = e->start;
		return 0;
	}
	if ((e->start | e->length) & 511 || (e->has_offset && (e->offset & 511))) {
		f = e->has_offset ? plan_file(p, e, err, errlen) : -1;
		if (f >= 0 && (p->files[f].size & 511)) {
			seterr(err, errlen, "%s: its size (%" PRIu64 " bytes) is not a multiple of 512: its last sector cannot be mapped",
			       p->files[f].path, p->files[f].size);
			return -EINVAL;
		}
		seterr(err, errlen, "range %" PRIu64 "+%" PRIu64 " is not aligned to 512 bytes",
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
			seterr(err, errlen, "range %" PRIu64 "+%" PRIu64 " has neither data nor zeroes",
			       e->start, e->length);
			return -EINVAL;
		}
		return plan_push(p, start, len, -1, 0, err, errlen);
	}
	f = plan_file(p, e, err, errlen);
	if (f < 0)
		return f;
	/* A loop device has the file's size rounded down to whole sectors. */
	fsec = p->files[f].size >> 9;
	avail = fsec > (e->offset >> 9) ? fsec - (e->offset >> 9) : 0;
	if (avail < len) {
		if (!e->zero) {
			if (p->files[f].size & 511)
				seterr(err, errlen, "%s: its size (%" PRIu64 " bytes) is not a multiple of 512: its last sector cannot be mapped",
				       p->files[f].path, p->files[f].size);
			else
				seterr(err, errlen, "%s is shorter than the data mapped into it (offset %" PRIu64 "); truncated image?",
				       p->files[f].path, e->offset + e->length);
			return -EINVAL;
		}
		/* Reads as zeroes past the end of the file: a zero segment. */
		p->beyond_eof++;
	}
	if (avail) {
		int r = plan_push(p, start, avail < len ? avail : len, f, e->offset >> 9, err, errlen);

		if (r)
			return r;
	}
	if (avail < len)
		return plan_push(p, start + avail, len - avail, -1, 0, err, errlen);
	return 0;
}

static int plan_cb(const struct qcow2_extent *e, void *opaque)
{
	void **a = opaque;
	char *err = a[1];

	return bj_qplan_add(a[0], e, err, BJ_ERRLEN) ? -EINVAL : 0;
}

int bj_qplan_build(struct qcow2_chain *c, struct bj_qplan *p, char *err, size_t errlen)
{
	char e2[BJ_ERRLEN] = "";
	struct qcow2_image_info info;
	void *a[2] = { p, e2 };
	int r;

	bj_qplan_init(p, qcow2_chain_size(c));
	if (!p->sectors) {
		seterr(err, errlen, "the disk is empty (virtual size 0)");
		return -EINVAL;
	}
	if (!qcow2_image_info(c, 0, &info)) {
		p->snapshots = info.nb_snapshots;
		p->data_file = info.data_file;
	}
	r = qcow2_map(c, plan_cb, a, err, errlen);
	if (r) {
		if (e2[0])
			seterr(err, errlen, "%s", e2);
		bj_qplan_free(p);
		return r < 0 ? r : -EINVAL;
	}
	if (p->compressed) {
		seterr(err, errlen, "%lu range%s compressed (the first at guest offset %" PRIu64 "): a dm table cannot map compressed clusters; decompress with 'qemu-img convert -O qcow2'",
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

static int top_cb(const struct qcow2_extent *e, void *opaque)
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

int bj_qcow2_top_ranges(struct qcow2_chain *c, struct bj_qrange **r, size_t *n,
			char *err, size_t errlen)
{
	struct top_acc a = { 0 };
	int ret;

	ret = qcow2_map(c, top_cb, &a, err, errlen);
	if (ret == -ENOMEM)
		seterr(err, errlen, "out of memory");
	if (ret) {
		free(a.r);
		return ret;
	}
	*r = a.r;
	*n = a.n;
	return 0;
}

/* --- device-mapper ----------------------------------------------------- */

static void quiet_log(int level, const char *file, int line, int dm_errno_or_class,
		      const char *f, ...)
{
}

static struct dm_task *dtask(int type, const char *name)
{
	static bool done;
	struct dm_task *dmt;

	if (!done) {
		done = true;
		if (!getenv("BLOCKJOB_DM_DEBUG"))
			dm_log_with_errno_init(quiet_log);
		dm_udev_set_sync_support(0);
	}
	dmt = dm_task_create(type);
	if (dmt && name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		dmt = NULL;
	}
	return dmt;
}

static int drun(struct dm_task *dmt, const char *what, const char *name, char *err)
{
	int r;

	if (dm_task_run(dmt))
		return 0;
	r = dm_task_get_errno(dmt);
	r = r ? -r : -EIO;
	seterr(err, BJ_ERRLEN, "%s %s: %s%s", what, name, strerror(-r),
	       r == -EPERM || r == -EACCES ? " (device-mapper needs CAP_SYS_ADMIN: run as root)" : "");
	return r;
}

struct dinfo {
	bool exists;
	unsigned int major, minor;
	int open_count;
	char name[128];
	char uuid[160];
};

/* Info by name, or by device number when @name is NULL. */
static int dm_info_get(const char *name, unsigned int major, unsigned int minor, struct dinfo *d)
{
	struct dm_task *dmt = dtask(DM_DEVICE_INFO, name);
	struct dm_info info;
	const char *s;
	int r = -ENODEV;

	memset(d, 0, sizeof(*d));
	if (!dmt)
		return -ENOMEM;
	if (!name && (!dm_task_set_major(dmt, major) || !dm_task_set_minor(dmt, minor)))
		goto out;
	if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &info) || !info.exists)
		goto out;
	d->exists = true;
	d->major = info.major;
	d->minor = info.minor;
	d->open_count = info.open_count;
	s = dm_task_get_name(dmt);
	snprintf(d->name, sizeof(d->name), "%s", s ? s : "");
	s = dm_task_get_uuid(dmt);
	snprintf(d->uuid, sizeof(d->uuid), "%s", s ? s : "");
	r = 0;
out:
	dm_task_destroy(dmt);
	return r;
}

static bool is_ours(const struct dinfo *d)
{
	return d->exists && !strncmp(d->uuid, BJ_QCOW2_UUID_PREFIX, strlen(BJ_QCOW2_UUID_PREFIX));
}

static int dm_remove_retry(const char *name, char *err)
{
	struct dm_task *dmt = dtask(DM_DEVICE_REMOVE, name);
	int r;

	if (!dmt)
		return -ENOMEM;
	dm_task_retry_remove(dmt);
	r = drun(dmt, "cannot remove", name, err);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	return r;
}

/* Create @name from @p's segments, files mapped to loop device numbers @devs. */
static int dm_create_plan(const char *name, const struct bj_qplan *p, const dev_t *devs, bool ro,
			  char *err)
{
	struct dm_task *dmt = dtask(DM_DEVICE_CREATE, name);
	char uuid[160], params[64];
	size_t i;
	int r;

	if (!dmt)
		return -ENOMEM;
	snprintf(uuid, sizeof(uuid), BJ_QCOW2_UUID_PREFIX "%s", name);
	if (strlen(uuid) > DM_UUID_LEN - 1) {
		seterr(err, BJ_ERRLEN, "the name %s is too long for a dm UUID", name);
		r = -ENAMETOOLONG;
		goto out;
	}
	r = -ENOMEM;
	if (!dm_task_set_uuid(dmt, uuid) || (ro && !dm_task_set_ro(dmt)))
		goto nomem;
	for (i = 0; i < p->nsegs; i++) {
		const struct bj_qseg *s = &p->segs[i];

		if (s->file < 0) {
			if (!dm_task_add_target(dmt, s->start, s->len, "zero", ""))
				goto nomem;
			continue;
		}
		snprintf(params, sizeof(params), "%u:%u %" PRIu64, major(devs[s->file]),
			 minor(devs[s->file]), s->offset);
		if (!dm_task_add_target(dmt, s->start, s->len, "linear", params))
			goto nomem;
	}
	r = drun(dmt, "cannot create", name, err);
	if (r == -ENOMEM || r == -E2BIG)
		seterr(err, BJ_ERRLEN, "cannot create %s: the kernel refused a table of %zu segments (%s)",
		       name, p->nsegs, strerror(-r));
	goto out;
nomem:
	seterr(err, BJ_ERRLEN, "cannot build the table of %s (%zu segments): out of memory", name,
	       p->nsegs);
out:
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	return r;
}

static int dm_create_volume(const char *name, unsigned int major, unsigned int minor,
			    uint64_t sectors, bool ro, char *err)
{
	struct dm_task *dmt = dtask(DM_DEVICE_CREATE, name);
	char params[64];
	int r;

	if (!dmt)
		return -ENOMEM;
	snprintf(params, sizeof(params), "passthrough %u:%u 0", major, minor);
	if ((ro && !dm_task_set_ro(dmt)) ||
	    !dm_task_add_target(dmt, 0, sectors, BJ_TARGET, params)) {
		dm_task_destroy(dmt);
		seterr(err, BJ_ERRLEN, "cannot build the table of %s", name);
		return -ENOMEM;
	}
	r = drun(dmt, "cannot create", name, err);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	return r;
}

/* Device numbers of the linear targets' devices of @name (dedup'ed). */
static int dm_table_devs(const char *name, dev_t **devs, size_t *n)
{
	struct dm_task *dmt = dtask(DM_DEVICE_TABLE, name);
	char *type, *params;
	uint64_t start, len;
	void *next = NULL;
	unsigned int ma, mi;
	size_t cap = 0, i;
	int r = 0;

	*devs = NULL;
	*n = 0;
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -ENODEV;
	}
	do {
		type = params = NULL;
		next = dm_get_next_target(dmt, next, &start, &len, &type, &params);
		if (!type || strcmp(type, "linear") || !params ||
		    sscanf(params, "%u:%u", &ma, &mi) != 2)
			continue;
		for (i = 0; i < *n; i++)
			if ((*devs)[i] == makedev(ma, mi))
				break;
		if (i < *n)
			continue;
		if (*n == cap) {
			dev_t *d;

			cap = cap ? cap * 2 : 8;
			d = realloc(*devs, cap * sizeof(*d));
			if (!d) {
				r = -ENOMEM;
				break;
			}
			*devs = d;
		}
		(*devs)[(*n)++] = makedev(ma, mi);
	} while (next);
	dm_task_destroy(dmt);
	return r;
}

/* --- loop devices ------------------------------------------------------ */

static bool loop_bound(dev_t d)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/backing_file", major(d), minor(d));
	return access(path, F_OK) == 0;
}

/*
 * Bind a free loop device to the file open as @fd (reopened with the
 * wanted mode through /proc/self/fd). Returns the loop's fd (keep it open
 * until the table holds the loop: autoclear unbinds at the last close).
 */
static int loop_attach(int fd, const char *path, bool rw, dev_t *dev, char *err)
{
	struct loop_config cfg;
	char proc[64], lpath[32];
	int ctl, lfd = -1, ffd, n, tries, r;
	struct stat st;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ffd = open(proc, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (ffd < 0) {
		r = -errno;
		seterr(err, BJ_ERRLEN, "cannot open %s%s: %s", path, rw ? " for writing" : "",
		       strerror(errno));
		return r;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		r = -errno;
		seterr(err, BJ_ERRLEN, "cannot open /dev/loop-control: %s (is the loop module loaded? 'modprobe loop')",
		       strerror(errno));
		close(ffd);
		return r;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = ffd;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (rw ? 0 : LO_FLAGS_READ_ONLY);
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", path);
	r = -EBUSY;
	for (tries = 0; tries < 16; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			r = -errno;
			break;
		}
		snprintf(lpath, sizeof(lpath), "/dev/loop%d", n);
		lfd = open(lpath, O_RDWR | O_CLOEXEC);
		if (lfd < 0 && errno == ENOENT) {
			/* no devtmpfs node yet: wait for it briefly */
			usleep(50 * 1000);
			lfd = open(lpath, O_RDWR | O_CLOEXEC);
		}
		if (lfd < 0) {
			r = -errno;
			break;
		}
		if (!ioctl(lfd, LOOP_CONFIGURE, &cfg)) {
			r = 0;
			break;
		}
		r = -errno;
		if (errno == EINVAL || errno == ENOTTY) {
			/* before 5.8: LOOP_SET_FD then LOOP_SET_STATUS64 */
			if (!ioctl(lfd, LOOP_SET_FD, ffd)) {
				if (!ioctl(lfd, LOOP_SET_STATUS64, &cfg.info)) {
					r = 0;
					break;
				}
				r = -errno;
				ioctl(lfd, LOOP_CLR_FD, 0);
				break;
			}
			r = -errno;
		}
		close(lfd);
		lfd = -1;
		if (r != -EBUSY)
			break;
	}
	close(ffd);
	close(ctl);
	if (r) {
		if (lfd >= 0)
			close(lfd);
		seterr(err, BJ_ERRLEN, "cannot set up a loop device for %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(lfd, &st)) {
		r = -errno;
		close(lfd);
		return r;
	}
	*dev = st.st_rdev;
	return lfd;
}

/* Wait (up to 2 s) until autoclear has unbound the loop devices in @devs. */
static void loops_wait(const dev_t *devs, size_t n)
{
	size_t i;
	int t;

	for (t = 0; t < 200; t++) {
		for (i = 0; i < n; i++)
			if (major(devs[i]) == 7 && loop_bound(devs[i]))
				break;
		if (i == n)
			return;
		usleep(10 * 1000);
	}
}

/* --- records of attachments ---------------------------------------------- */

static void run_dir(char *buf, size_t len)
{
	const char *e = getenv("BLOCKJOB_RUN_DIR");

	if (e && *e)
		snprintf(buf, len, "%s/qcow2", e);
	else
		snprintf(buf, len, "%s", BJ_QCOW2_RUN_DIR);
}

static int record_path(const char *lower, char *buf, size_t len)
{
	char dir[PATH_MAX - 160];

	run_dir(dir, sizeof(dir));
	return snprintf(buf, len, "%s/%s", dir, lower) >= (int)len ? -ENAMETOOLONG : 0;
}

static int mkdirs(const char *dir)
{
	char tmp[PATH_MAX], *s;

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int record_write(const char *lower, const char *volume, const char *image, int fd,
			const char *backing_format, char *err)
{
	char path[PATH_MAX], dir[PATH_MAX - 160], tmp[PATH_MAX + 8];
	struct stat st;
	FILE *f;
	int r;

	run_dir(dir, sizeof(dir));
	r = mkdirs(dir);
	if (!r)
		r = record_path(lower, path, sizeof(path));
	if (r) {
		seterr(err, BJ_ERRLEN, "cannot create %s: %s", dir, strerror(-r));
		return r;
	}
	if (fstat(fd, &st)) {
		seterr(err, BJ_ERRLEN, "%s: %s", image, strerror(errno));
		return -errno;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		r = -errno;
		seterr(err, BJ_ERRLEN, "cannot write %s: %s", tmp, strerror(errno));
		return r;
	}
	fprintf(f, "volume %s\ndev %" PRIu64 "\nino %" PRIu64 "\nimage %s\n", volume,
		(uint64_t)st.st_dev, (uint64_t)st.st_ino, image);
	/* given at attach (--backing-format): sync top reopens the chain with it */
	if (backing_format)
		fprintf(f, "backing_format %s\n", backing_format);
	if (fclose(f) || rename(tmp, path)) {
		r = -errno;
		seterr(err, BJ_ERRLEN, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return r;
	}
	return 0;
}

/*
 * The image recorded for @lower, checked to be the same file still, and
 * the backing format given at attach into @bfmt ("" if none).
 */
static int record_read(const char *lower, char *image, size_t len, char bfmt[8], char *err)
{
	char path[PATH_MAX], line[PATH_MAX + 16];
	uint64_t dev = 0, ino = 0;
	struct stat st;
	FILE *f;

	image[0] = 0;
	bfmt[0] = 0;
	if (record_path(lower, path, sizeof(path)))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f) {
		seterr(err, BJ_ERRLEN, "no record of the image attached as %s (%s: %s)", lower, path,
		       strerror(errno));
		return -ENOENT;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "image ", 6) && strlen(line + 6) < len)
			memcpy(image, line + 6, strlen(line + 6) + 1);
		sscanf(line, "dev %" SCNu64, &dev);
		sscanf(line, "ino %" SCNu64, &ino);
		if (!strcmp(line, "backing_format raw"))
			strcpy(bfmt, "raw");
		else if (!strcmp(line, "backing_format qcow2"))
			strcpy(bfmt, "qcow2");
	}
	fclose(f);
	if (!image[0] || stat(image, &st) || (uint64_t)st.st_dev != dev ||
	    (uint64_t)st.st_ino != ino) {
		seterr(err, BJ_ERRLEN, "the image attached as %s (%s) was moved or replaced", lower,
		       image[0] ? image : "?");
		return -ESTALE;
	}
	return 0;
}

static void record_remove(const char *lower)
{
	char path[PATH_MAX];

	if (!record_path(lower, path, sizeof(path)))
		unlink(path);
}

/* --- attach ------------------------------------------------------------ */

/*
 * Create the lower device @lower for @c. @rw: try writable; on return
 * a->writable says what was done.
 */
static int attach_lower(struct qcow2_chain *c, const char *image, const char *lower,
			bool rw, bool allow_data_file, struct bj_qattach *a, char *err)
{
	int lfds[BJ_QPLAN_MAX_FILES];
	dev_t devs[BJ_QPLAN_MAX_FILES];
	char e2[BJ_ERRLEN];
	struct bj_qplan p;
	unsigned int i, nl = 0;
	int r, fd;

	r = bj_qplan_build(c, &p, e2, sizeof(e2));
	if (r) {
		seterr(err, BJ_ERRLEN, "%s: %s", image, e2);
		return r;
	}
	p.allow_data_file = allow_data_file;
	a->bytes = p.sectors << 9;
	a->nsegs = p.nsegs;
	a->why_ro[0] = 0;
	if (rw && !bj_qplan_writable(&p)) {
		bj_qplan_why_ro(&p, image, a->why_ro, sizeof(a->why_ro));
		rw = false;
	}
	for (i = 0; i < p.nfiles; i++) {
		bool frw = rw && p.files[i].depth == 0;

		fd = loop_attach(p.files[i].fd, p.files[i].path, frw, &devs[i], e2);
		if (fd < 0 && frw && (fd == -EACCES || fd == -EROFS || fd == -EPERM)) {
			/* cannot write the file: attach read-only, say why */
			snprintf(a->why_ro, sizeof(a->why_ro), "%s cannot be opened for writing (%s)",
				 p.files[i].path, strerror(-fd));
			rw = false;
			while (nl)
				close(lfds[--nl]);
			i = -1u;
			continue;
		}
		if (fd < 0) {
			seterr(err, BJ_ERRLEN, "%s", e2);
			r = fd;
			goto out;
		}
		lfds[nl++] = fd;
	}
	r = dm_create_plan(lower, &p, devs, !rw, err);
	if (r)
		goto out;
	a->writable = rw;
	snprintf(a->lower, sizeof(a->lower), "%s", lower);
out:
	/* the table holds the loops now; autoclear unbinds them when it lets go */
	while (nl)
		close(lfds[--nl]);
	bj_qplan_free(&p);
	return r;
}

/* Open @image and record it by its absolute path. */
static struct qcow2_chain *open_abs(const char *image, const char *backing_format, char *abs,
				    size_t len, char *err)
{
	struct qcow2_open_opts oo = { .backing_format = backing_format };
	struct qcow2_chain *c;
	char e2[640];

	if (!realpath(image, abs)) {
		seterr(err, BJ_ERRLEN, "%s: %s", image, strerror(errno));
		return NULL;
	}
	(void)len;
	c = qcow2_open_chain_opts(abs, &oo, e2, sizeof(e2));
	if (!c)
		seterr(err, BJ_ERRLEN, "%s: %s", image, e2);
	return c;
}

static int top_fd_path(const char *abs, int *fd)
{
	*fd = open(abs, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

static int attach_common(const char *volume, const char *lower, const char *image,
			 const struct bj_qattach_opts *o, struct bj_qattach *a, char *err)
{
	char abs[PATH_MAX];
	struct qcow2_chain *c;
	int r, fd;

	memset(a, 0, sizeof(*a));
	if (bj_dm_exists(lower)) {
		seterr(err, BJ_ERRLEN, "a device named %s exists already", lower);
		return -EEXIST;
	}
	c = open_abs(image, o->backing_format, abs, sizeof(abs), err);
	if (!c)
		return -EINVAL;
	r = top_fd_path(abs, &fd);
	if (r) {
		seterr(err, BJ_ERRLEN, "%s: %s", abs, strerror(-r));
		qcow2_close_chain(c);
		return r;
	}
	r = attach_lower(c, image, lower, !o->force_ro, o->allow_data_file, a, err);
	if (!r) {
		/* the absolute path and the file's identity, for sync top */
		r = record_write(lower, volume, abs, fd, o->backing_format, err);
		if (r) {
			char e2[BJ_ERRLEN];

			dm_remove_retry(lower, e2);
		}
	}
	close(fd);
	qcow2_close_chain(c);
	return r;
}

int bj_qcow2_lower_name(const char *name, unsigned int n, char *buf, size_t len, char *err)
{
	size_t max = DM_UUID_LEN - 1 - strlen(BJ_QCOW2_UUID_PREFIX);
	char suffix[24];
	int w;

	if (max > BJ_DM_NAME_MAX)
		max = BJ_DM_NAME_MAX;
	if (n)
		snprintf(suffix, sizeof(suffix), "-qcow2-%u", n);
	else
		snprintf(suffix, sizeof(suffix), "-qcow2");
	w = snprintf(buf, len, "%s%s", name, suffix);
	if (w < 0 || (size_t)w >= len || (size_t)w > max) {
		if (len)
			buf[0] = 0;
		seterr(err, BJ_ERRLEN, "the volume name (%zu bytes) is too long for its qcow2 device NAME%s: that name has at most %zu bytes (its dm UUID, %sNAME%s, at most %d); use a volume NAME of at most %zu bytes",
		       strlen(name), suffix, max, BJ_QCOW2_UUID_PREFIX, suffix, DM_UUID_LEN - 1,
		       max - strlen(suffix));
		return -ENAMETOOLONG;
	}
	return 0;
}

int bj_qcow2_attach(const char *name, const char *image, const struct bj_qattach_opts *o,
		    struct bj_qattach *a, char *err)
{
	static const struct bj_qattach_opts defaults;
	char lower[128], e2[BJ_ERRLEN];
	struct dinfo d;
	int r;

	r = bj_qcow2_lower_name(name, 0, lower, sizeof(lower), err);
	if (r)
		return r;
	if (bj_dm_exists(name)) {
		seterr(err, BJ_ERRLEN, "a device named %s exists already; pick another NAME", name);
		return -EEXIST;
	}
	r = attach_common(name, lower, image, o ? o : &defaults, a, err);
	if (r)
		return r;
	r = dm_info_get(lower, 0, 0, &d);
	if (!r)
		r = dm_create_volume(name, d.major, d.minor, a->bytes >> 9, !a->writable, err);
	else
		seterr(err, BJ_ERRLEN, "%s vanished", lower);
	if (r) {
		dm_remove_retry(lower, e2);
		record_remove(lower);
	}
	return r;
}

/* --- detach ------------------------------------------------------------ */

/* Does @lower belong to volume @name: "NAME-qcow2" or "NAME-qcow2-<n>". */
static bool owned_by(const char *lower, const char *name)
{
	size_t n = strlen(name);
	const char *s;

	if (strncmp(lower, name, n) || strncmp(lower + n, "-qcow2", 6))
		return false;
	s = lower + n + 6;
	if (!*s)
		return true;
	if (*s++ != '-' || !*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Flush @dev's path so the loop files hold every write, then remove it. */
static int remove_lower(const char *lower, char *err)
{
	char path[192];
	dev_t *devs;
	size_t n;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dm_dir(), lower);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	if (dm_table_devs(lower, &devs, &n))
		n = 0;
	r = dm_remove_retry(lower, err);
	if (!r) {
		record_remove(lower);
		loops_wait(devs, n);
	}
	free(devs);
	return r;
}

int bj_qcow2_detach(const char *name, bool unused_only, unsigned int *removed, char *note,
		    size_t notelen, char *err)
{
	struct dm_task *dmt;
	struct dm_names *nm;
	char (*lowers)[128] = NULL;
	size_t nlow = 0, cap = 0, i;
	unsigned int next;
	struct dinfo d, v;
	int r = 0;

	*removed = 0;
	note[0] = 0;
	dmt = dtask(DM_DEVICE_LIST, NULL);
	if (!dmt)
		return -ENOMEM;
	r = drun(dmt, "cannot list", "device-mapper devices", err);
	if (r) {
		dm_task_destroy(dmt);
		return r;
	}
	nm = dm_task_get_names(dmt);
	if (nm && nm->dev) {
		do {
			next = nm->next;
			if (owned_by(nm->name, name) && !dm_info_get(nm->name, 0, 0, &d) &&
			    is_ours(&d)) {
				if (nlow == cap) {
					void *p;

					cap = cap ? 2 * cap : 8;
					p = realloc(lowers, cap * sizeof(*lowers));
					if (!p) {
						r = -ENOMEM;
						break;
					}
					lowers = p;
				}
				snprintf(lowers[nlow++], sizeof(*lowers), "%s", nm->name);
			}
			nm = (struct dm_names *)((char *)nm + next);
		} while (next);
	}
	dm_task_destroy(dmt);
	if (r)
		goto out;

	if (!unused_only && !dm_info_get(name, 0, 0, &v)) {
		struct bj_vtable vt;
		unsigned int ma, mi;
		bool on_qcow2 = false;

		r = bj_vtable_get(name, &vt, err);
		if (r)
			goto out;
		if (strcmp(vt.mode, "passthrough")) {
			seterr(err, BJ_ERRLEN, "a %s job runs on %s; cancel it or wait for it to end first",
			       vt.mode, name);
			r = -EBUSY;
			goto out;
		}
		if (sscanf(vt.src, "%u:%u", &ma, &mi) == 2)
			for (i = 0; i < nlow; i++)
				if (!dm_info_get(lowers[i], 0, 0, &d) && d.major == ma &&
				    d.minor == mi)
					on_qcow2 = true;
		if (on_qcow2) {
			if (v.open_count) {
				seterr(err, BJ_ERRLEN, "%s is open (%d users); close it first", name,
				       v.open_count);
				r = -EBUSY;
				goto out;
			}
			r = dm_remove_retry(name, err);
			if (r)
				goto out;
			(*removed)++;
		} else {
			snprintf(note, notelen, "%s lives on %s, not on a qcow2 image: kept (remove it with 'blockjob remove %s')",
				 name, vt.src, name);
		}
	}
	if (!nlow && !*removed) {
		if (!note[0]) {
			seterr(err, BJ_ERRLEN, "no qcow2 image is attached as %s", name);
			r = -ENOENT;
		}
		goto out;
	}
	for (i = 0; i < nlow; i++) {
		if (dm_info_get(lowers[i], 0, 0, &d))
			continue;
		if (d.open_count) {
			if (!unused_only && !note[0])
				snprintf(note, notelen, "%s is in use: kept", lowers[i]);
			continue;
		}
		r = remove_lower(lowers[i], err);
		if (r)
			goto out;
		(*removed)++;
	}
out:
	free(lowers);
	return r;
}

/* --- qcow2 job destinations -------------------------------------------- */

bool bj_qcow2_is_target(const char *target)
{
	size_t n = strlen(target);
	unsigned char m[4];
	struct stat st;
	bool q = false;
	int fd;

	if (n > 6 && !strcmp(target + n - 6, ".qcow2"))
		return true;
	if (stat(target, &st) || !S_ISREG(st.st_mode))
		return false;
	fd = open(target, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	q = pread(fd, m, 4, 0) == 4 && !memcmp(m, "QFI\xfb", 4);
	close(fd);
	return q;
}

static int qemu_img_create(const char *image, uint64_t bytes, char *err)
{
	char size[32];
	char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-o", "preallocation=metadata",
			 (char *)image, size, NULL };
	posix_spawn_file_actions_t fa;
	int r, status;
	pid_t pid;

	snprintf(size, sizeof(size), "%" PRIu64, bytes);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, "qemu-img", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r == ENOENT) {
		seterr(err, BJ_ERRLEN, "qemu-img not found: create the image with 'qemu-img create -f qcow2 -o preallocation=metadata %s %" PRIu64 "' and pass --reuse",
		       image, bytes);
		return -ENOENT;
	}
	if (r) {
		seterr(err, BJ_ERRLEN, "cannot run qemu-img: %s", strerror(r));
		return -r;
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		seterr(err, BJ_ERRLEN, "qemu-img create %s failed", image);
		unlink(image);
		return -EIO;
	}
	return 0;
}

int bj_qcow2_target_attach(const char *name, const char *image, uint64_t bytes, bool reuse,
			   char *dev, size_t devlen, char *err)
{
	static const struct bj_qattach_opts dest;	/* writable, no data file */
	char lower[128], e2[BJ_ERRLEN];
	struct bj_qattach a;
	bool created = false;
	unsigned int i;
	int r;

	/* The first free NAME-qcow2[-N], never truncated: checked before anything is made. */
	for (i = 0;; i++) {
		if (i == BJ_QCOW2_MAX_TARGETS) {
			seterr(err, BJ_ERRLEN, "%s has %u qcow2 devices already; detach the unused ones with 'blockjob qcow2 detach %s --unused'",
			       name, i, name);
			return -EMFILE;
		}
		r = bj_qcow2_lower_name(name, i, lower, sizeof(lower), err);
		if (r)
			return r;
		if (!bj_dm_exists(lower))
			break;
	}
	if (!reuse) {
		if (!access(image, F_OK)) {
			seterr(err, BJ_ERRLEN, "%s exists; pass --reuse to write into it, or remove it",
			       image);
			return -EEXIST;
		}
		r = qemu_img_create(image, bytes, err);
		if (r)
			return r;
		created = true;
	}
	r = attach_common(name, lower, image, &dest, &a, err);
	if (r)
		goto fail;
	if (!a.writable) {
		seterr(err, BJ_ERRLEN, "%s cannot be a destination: %s; make it with 'qemu-img create -f qcow2 -o preallocation=metadata'",
		       image, a.why_ro);
		r = -EROFS;
		goto detach;
	}
	if (a.bytes < bytes) {
		seterr(err, BJ_ERRLEN, "%s (%" PRIu64 " bytes) is smaller than %s (%" PRIu64 " bytes)",
		       image, a.bytes, name, bytes);
		r = -ENOSPC;
		goto detach;
	}
	snprintf(dev, devlen, "%s/%s", dm_dir(), lower);
	return 0;
detach:
	remove_lower(lower, e2);
fail:
	if (created)
		unlink(image);
	return r;
}

int bj_qcow2_target_detach(const char *dev, char *err)
{
	const char *lower = strrchr(dev, '/');
	struct dinfo d;

	lower = lower ? lower + 1 : dev;
	if (dm_info_get(lower, 0, 0, &d) || !is_ours(&d)) {
		seterr(err, BJ_ERRLEN, "%s is not an attached qcow2 image", dev);
		return -ENOENT;
	}
	return remove_lower(lower, err);
}

static char job_target[192];

static void job_target_cleanup(void)
{
	char err[BJ_ERRLEN];

	if (job_target[0] && bj_qcow2_target_detach(job_target, err))
		fprintf(stderr, "blockjob: %s\n", err);
}

int bj_qcow2_job_target(const char *name, const char **target, uint64_t bytes, bool reuse,
			char *err)
{
	int r;

	r = bj_qcow2_target_attach(name, *target, bytes, reuse, job_target, sizeof(job_target),
				   err);
	if (r) {
		job_target[0] = 0;
		return r;
	}
	atexit(job_target_cleanup);
	*target = job_target;
	return 0;
}

void bj_qcow2_target_keep(void)
{
	job_target[0] = 0;
}

/* --- sync top ---------------------------------------------------------- */

static uint64_t *pend_first, *pend_count;
static bool pend_registered;

void bj_qcow2_top_free(struct bj_qtop *t)
{
	if (t->first == pend_first)
		pend_first = pend_count = NULL;
	free(t->first);
	free(t->count);
	memset(t, 0, sizeof(*t));
}

/* Callers may exit on an error path before bj_qcow2_top_free(). */
static void top_cleanup(void)
{
	free(pend_first);
	free(pend_count);
	pend_first = pend_count = NULL;
}

int bj_qcow2_top_prepare(const char *src, uint64_t granule, struct bj_qtop *t, char *err)
{
	char image[PATH_MAX], e2[640], bfmt[8];
	struct qcow2_open_opts oo = { 0 };
	struct qcow2_chain *c;
	struct bj_qrange *rg = NULL;
	unsigned int ma, mi;
	struct dinfo d;
	size_t n = 0, i;
	int r;

	memset(t, 0, sizeof(*t));
	t->granule = granule;
	if (sscanf(src, "%u:%u", &ma, &mi) != 2 || dm_info_get(NULL, ma, mi, &d) || !is_ours(&d)) {
		seterr(err, BJ_ERRLEN, "--sync top needs a volume attached from a qcow2 image ('blockjob qcow2 attach'); its device %s is not one",
		       src);
		return -ENOENT;
	}
	r = record_read(d.name, image, sizeof(image), bfmt, err);
	if (r)
		return r;
	if (bfmt[0])
		oo.backing_format = bfmt;
	c = qcow2_open_chain_opts(image, &oo, e2, sizeof(e2));
	if (!c) {
		seterr(err, BJ_ERRLEN, "%s: %s", image, e2);
		return -EINVAL;
	}
	r = bj_qcow2_top_ranges(c, &rg, &n, e2, sizeof(e2));
	qcow2_close_chain(c);
	if (r) {
		seterr(err, BJ_ERRLEN, "%s: %s", image, e2);
		return r;
	}
	t->first = calloc(n ? n : 1, sizeof(*t->first));
	t->count = calloc(n ? n : 1, sizeof(*t->count));
	if (!t->first || !t->count) {
		free(rg);
		bj_qcow2_top_free(t);
		seterr(err, BJ_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		uint64_t a = rg[i].start / granule;
		uint64_t b = (rg[i].start + rg[i].len + granule - 1) / granule;

		if (t->n && t->first[t->n - 1] + t->count[t->n - 1] >= a) {
			uint64_t end = t->first[t->n - 1] + t->count[t->n - 1];

			if (b > end) {
				t->count[t->n - 1] += b - end;
				t->regions += b - end;
			}
			continue;
		}
		t->first[t->n] = a;
		t->count[t->n] = b - a;
		t->regions += b - a;
		t->n++;
	}
	free(rg);
	if (!pend_registered)
		atexit(top_cleanup);
	pend_registered = true;
	pend_first = t->first;
	pend_count = t->count;
	return 0;
}

int bj_qcow2_top_start(const char *name, const struct bj_qtop *t, char *err)
{
	char msg[96];
	size_t i;
	int r;

	for (i = 0; i < t->n; i++) {
		snprintf(msg, sizeof(msg), "set-dirty %" PRIu64 " %" PRIu64, t->first[i], t->count[i]);
		r = bj_dm_message(name, msg, NULL, err);
		if (r)
			return r;
	}
	return bj_dm_message(name, "resume", NULL, err);
}
