// SPDX-License-Identifier: GPL-2.0
/*
 * Attach and detach qcow2 chains as blockjob volumes: loop devices for the
 * files (qcow2-loop.c), the linear/zero table (qcow2-table.c) as
 * NAME-qcow2 and the passthrough volume over it, through the one
 * device-mapper wrapper (bj-dm.c); records of attachments for sync top.
 * See qcow2-table.h and Documentation/qcow2.rst ("Tables and jobs").
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bj-dm.h"
#include "bj-job.h"
#include "qcow2-attach.h"
#include "qcow2-loop.h"

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
		bj_seterr(err, "cannot create %s: %s", dir, strerror(-r));
		return r;
	}
	if (fstat(fd, &st)) {
		bj_seterr(err, "%s: %s", image, strerror(errno));
		return -errno;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		r = -errno;
		bj_seterr(err, "cannot write %s: %s", tmp, strerror(errno));
		return r;
	}
	fprintf(f, "volume %s\ndev %" PRIu64 "\nino %" PRIu64 "\nimage %s\n", volume,
		(uint64_t)st.st_dev, (uint64_t)st.st_ino, image);
	/* given at attach (--backing-format): sync top reopens the chain with it */
	if (backing_format)
		fprintf(f, "backing_format %s\n", backing_format);
	if (fclose(f) || rename(tmp, path)) {
		r = -errno;
		bj_seterr(err, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return r;
	}
	return 0;
}

int bj_qcow2_record_read(const char *lower, char *image, size_t len, char bfmt[8], char *err)
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
		bj_seterr(err, "no record of the image attached as %s (%s: %s)", lower, path,
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
		bj_seterr(err, "the image attached as %s (%s) was moved or replaced", lower,
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

/* --- dm devices ---------------------------------------------------------- */

struct plan_devs {
	const struct bj_qplan *p;
	const dev_t *devs;		/* loop device of each file of the plan */
};

static int plan_target(void *opaque, size_t i, uint64_t *start, uint64_t *len,
		       const char **type, char *params, size_t plen)
{
	const struct plan_devs *pd = opaque;
	const struct bj_qseg *s = &pd->p->segs[i];

	*start = s->start;
	*len = s->len;
	if (s->file < 0) {
		*type = "zero";
		params[0] = 0;
		return 0;
	}
	*type = "linear";
	snprintf(params, plen, "%u:%u %" PRIu64, major(pd->devs[s->file]),
		 minor(pd->devs[s->file]), s->offset);
	return 0;
}

/* Create @name from @p's segments, files mapped to loop device numbers @devs. */
static int create_plan(const char *name, const struct bj_qplan *p, const dev_t *devs, bool ro,
		       char *err)
{
	struct plan_devs pd = { p, devs };
	char uuid[160];

	snprintf(uuid, sizeof(uuid), BJ_QCOW2_UUID_PREFIX "%s", name);
	return bj_dm_create_table(name, uuid, ro ? BJ_DM_READ_ONLY : 0, p->nsegs, plan_target, &pd,
				  err);
}

/* The blockjob passthrough volume @name over @major:@minor. */
static int create_volume(const char *name, unsigned int major, unsigned int minor,
			 uint64_t sectors, bool ro, char *err)
{
	char params[64], uuid[64];
	int r;

	r = bj_dm_new_uuid(BJ_DM_UUID_VOLUME, NULL, uuid, sizeof(uuid), err);
	if (r)
		return r;
	snprintf(params, sizeof(params), "passthrough %u:%u 0", major, minor);
	return bj_dm_create(name, uuid, ro ? BJ_DM_READ_ONLY : 0, params, sectors, err);
}

bool bj_qcow2_is_ours(const struct bj_dm_info *d)
{
	return d->exists && !strncmp(d->uuid, BJ_QCOW2_UUID_PREFIX, strlen(BJ_QCOW2_UUID_PREFIX));
}

/* --- attach ------------------------------------------------------------ */

/*
 * Create the lower device @lower for @c. @rw: try writable; on return
 * a->writable says what was done.
 */
static int attach_lower(struct bj_qcow2_chain *c, const char *image, const char *lower,
			bool rw, bool allow_data_file, struct bj_qattach *a, char *err)
{
	int lfds[BJ_QPLAN_MAX_FILES];
	dev_t devs[BJ_QPLAN_MAX_FILES];
	char e2[BJ_ERRLEN];
	struct bj_qplan p;
	unsigned int i, nl = 0;
	int r, fd;

	r = bj_qplan_build(c, &p, e2);
	if (r) {
		bj_seterr(err, "%s: %s", image, e2);
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

		fd = bj_qloop_attach(p.files[i].fd, p.files[i].path, frw, &devs[i], e2);
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
			bj_seterr(err, "%s", e2);
			r = fd;
			goto out;
		}
		lfds[nl++] = fd;
	}
	r = create_plan(lower, &p, devs, !rw, err);
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
static struct bj_qcow2_chain *open_abs(const char *image, const char *backing_format, char *abs,
				    size_t len, char *err)
{
	struct bj_qcow2_open_opts oo = { .backing_format = backing_format };
	struct bj_qcow2_chain *c;
	char e2[BJ_ERRLEN];

	if (!realpath(image, abs)) {
		bj_seterr(err, "%s: %s", image, strerror(errno));
		return NULL;
	}
	(void)len;
	if (bj_qcow2_open_chain(abs, &oo, &c, e2))
		bj_seterr(err, "%s: %s", image, e2);
	return c;
}

static int top_fd_path(const char *abs, int *fd)
{
	*fd = open(abs, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

int bj_qcow2_attach_common(const char *volume, const char *lower, const char *image,
			 const struct bj_qattach_opts *o, struct bj_qattach *a, char *err)
{
	char abs[PATH_MAX];
	struct bj_qcow2_chain *c;
	int r, fd;

	memset(a, 0, sizeof(*a));
	if (bj_dm_exists(lower)) {
		bj_seterr(err, "a device named %s exists already", lower);
		return -EEXIST;
	}
	c = open_abs(image, o->backing_format, abs, sizeof(abs), err);
	if (!c)
		return -EINVAL;
	r = top_fd_path(abs, &fd);
	if (r) {
		bj_seterr(err, "%s: %s", abs, strerror(-r));
		bj_qcow2_close_chain(c);
		return r;
	}
	r = attach_lower(c, image, lower, !o->force_ro, o->allow_data_file, a, err);
	if (!r) {
		/* the absolute path and the file's identity, for sync top */
		r = record_write(lower, volume, abs, fd, o->backing_format, err);
		if (r) {
			char e2[BJ_ERRLEN];

			bj_dm_remove(lower, e2);
		}
	}
	close(fd);
	bj_qcow2_close_chain(c);
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
		bj_seterr(err, "the volume name (%zu bytes) is too long for its qcow2 device NAME%s: that name has at most %zu bytes (its dm UUID, %sNAME%s, at most %d); use a volume NAME of at most %zu bytes",
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
	struct bj_dm_info d;
	int r;

	r = bj_qcow2_lower_name(name, 0, lower, sizeof(lower), err);
	if (r)
		return r;
	if (bj_dm_exists(name)) {
		bj_seterr(err, "a device named %s exists already; pick another NAME", name);
		return -EEXIST;
	}
	r = bj_qcow2_attach_common(name, lower, image, o ? o : &defaults, a, err);
	if (r)
		return r;
	r = bj_dm_info(lower, 0, 0, &d);
	if (!r)
		r = create_volume(name, d.major, d.minor, a->bytes >> 9, !a->writable, err);
	else
		bj_seterr(err, "%s vanished", lower);
	if (r) {
		bj_dm_remove(lower, e2);
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

int bj_qcow2_remove_lower(const char *lower, char *err)
{
	char path[192];
	dev_t *devs;
	size_t n;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", bj_dm_dir(), lower);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	if (bj_dm_linear_devs(lower, &devs, &n))
		n = 0;
	r = bj_dm_remove(lower, err);
	if (!r) {
		record_remove(lower);
		bj_qloop_wait(devs, n);
	}
	free(devs);
	return r;
}

int bj_qcow2_detach(const char *name, bool unused_only, unsigned int *removed, char *note,
		    size_t notelen, char *err)
{
	char (*lowers)[BJ_DM_NAME_MAX + 1] = NULL;
	size_t nlow = 0, nall, i;
	struct bj_dm_info d, v;
	int r = 0;

	*removed = 0;
	note[0] = 0;
	/* every dm device, kept when it is one of @name's qcow2 devices */
	r = bj_dm_list(&lowers, &nall, err);
	if (r)
		goto out;
	for (i = 0; i < nall; i++) {
		if (!owned_by(lowers[i], name) || bj_dm_info(lowers[i], 0, 0, &d) ||
		    !bj_qcow2_is_ours(&d))
			continue;
		if (nlow != i)
			memcpy(lowers[nlow], lowers[i], sizeof(*lowers));
		nlow++;
	}

	if (!unused_only && !bj_dm_info(name, 0, 0, &v)) {
		struct bj_vtable vt;
		unsigned int ma, mi;
		bool on_qcow2 = false;

		r = bj_vtable_get(name, &vt, err);
		if (r)
			goto out;
		if (strcmp(vt.mode, "passthrough")) {
			bj_seterr(err, "a %s job runs on %s; cancel it or wait for it to end first",
			       vt.mode, name);
			r = -EBUSY;
			goto out;
		}
		if (sscanf(vt.src, "%u:%u", &ma, &mi) == 2)
			for (i = 0; i < nlow; i++)
				if (!bj_dm_info(lowers[i], 0, 0, &d) && d.major == ma &&
				    d.minor == mi)
					on_qcow2 = true;
		if (on_qcow2) {
			if (v.open_count) {
				bj_seterr(err, "%s is open (%d users); close it first", name,
				       v.open_count);
				r = -EBUSY;
				goto out;
			}
			r = bj_dm_remove(name, err);
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
			bj_seterr(err, "no qcow2 image is attached as %s", name);
			r = -ENOENT;
		}
		goto out;
	}
	for (i = 0; i < nlow; i++) {
		if (bj_dm_info(lowers[i], 0, 0, &d))
			continue;
		if (d.open_count) {
			if (!unused_only && !note[0])
				snprintf(note, notelen, "%s is in use: kept", lowers[i]);
			continue;
		}
		r = bj_qcow2_remove_lower(lowers[i], err);
		if (r)
			goto out;
		(*removed)++;
	}
out:
	free(lowers);
	return r;
}
