// SPDX-License-Identifier: GPL-2.0
/*
 * /etc/blockjob/volumes (see bj-volumes.h): read it, add and remove lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bj-volumes.h"

static const char header[] =
	"# dm-blockjob volumes with a metadata device, one a line: NAME METADATA\n"
	"# (METADATA: the metadata device's stable identity, as 'blockjob create\n"
	"# NAME DEVICE --metadata MDEV' wrote it, or an absolute path such as\n"
	"# /dev/vg/md0). 'blockjob activate --all' reads this file to bring the\n"
	"# volumes back after a reboot; 'blockjob create --metadata' adds a line,\n"
	"# 'blockjob remove' removes it. Lines starting with '#' are comments.\n";

/* Identities start with one of these (bj-devid.h). */
static const char *const id_prefixes[] = {
	"dm-uuid-", "wwn-", "virtio-", "serial-", "loop-", NULL,
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Split @s into at most 3 words (pointers into @s, NUL-terminated in place):
 * the number of words found, 3 meaning 3 or more; 0 for a blank or comment line.
 */
static int words(char *s, char *w[3])
{
	int n = 0;

	while (n < 3) {
		while (blank(*s))
			s++;
		if (!*s || (!n && *s == '#'))
			break;
		w[n++] = s;
		while (*s && !blank(*s))
			s++;
		if (*s)
			*s++ = 0;
	}
	return n;
}

/* Parse one line (modified in place) into @l: false for a blank or comment line. */
static bool parse_line(char *s, struct bj_volumes_line *l)
{
	unsigned int line = l->line;
	char *w[3];
	size_t k;
	int n;

	memset(l, 0, sizeof(*l));
	l->line = line;
	n = words(s, w);
	if (!n)
		return false;
	if (n != 2) {
		snprintf(l->problem, sizeof(l->problem), "%s (want NAME METADATA)",
			 n == 1 ? "one field" : "more than two fields");
		return true;
	}
	if (strlen(w[0]) > BJ_DM_NAME_MAX || strchr(w[0], '/') || !strcmp(w[0], ".") ||
	    !strcmp(w[0], "..")) {
		snprintf(l->problem, sizeof(l->problem),
			 "'%.60s' is not a volume name (1 to %d bytes, no '/')", w[0], BJ_DM_NAME_MAX);
		return true;
	}
	if (strlen(w[1]) >= sizeof(l->mdev)) {
		snprintf(l->problem, sizeof(l->problem), "metadata device of %zu bytes (at most %zu)",
			 strlen(w[1]), sizeof(l->mdev) - 1);
		return true;
	}
	for (k = 0; id_prefixes[k]; k++)
		if (!strncmp(w[1], id_prefixes[k], strlen(id_prefixes[k])) &&
		    w[1][strlen(id_prefixes[k])])
			break;
	if (w[1][0] != '/' && !id_prefixes[k]) {
		snprintf(l->problem, sizeof(l->problem),
			 "'%.60s' is neither a device identity (dm-uuid-, wwn-, virtio-, serial-, loop-) nor an absolute path",
			 w[1]);
		return true;
	}
	snprintf(l->name, sizeof(l->name), "%s", w[0]);
	snprintf(l->mdev, sizeof(l->mdev), "%s", w[1]);
	return true;
}

int bj_volumes_read(const char *path, struct bj_volumes_line **lines, size_t *n, char *err)
{
	struct bj_volumes_line *v = NULL, *nv, l;
	size_t cap = 0, i;
	unsigned int no = 0;
	char *buf = NULL;
	size_t bl = 0;
	int r = 0;
	FILE *f;

	*lines = NULL;
	*n = 0;
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		bj_seterr(err, "%s: %s", path, strerror(errno));
		return r;
	}
	while (getline(&buf, &bl, f) >= 0) {
		l.line = ++no;
		if (!parse_line(buf, &l))
			continue;
		for (i = 0; i < *n && !l.problem[0]; i++)
			if (!v[i].problem[0] && !strcmp(v[i].name, l.name))
				snprintf(l.problem, sizeof(l.problem), "volume %.60s is on line %u already",
					 l.name, v[i].line);
		if (l.problem[0])
			l.name[0] = l.mdev[0] = 0;
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
				bj_seterr(err, "out of memory reading %s", path);
				break;
			}
			v = nv;
		}
		v[(*n)++] = l;
	}
	if (!r && ferror(f)) {
		r = -EIO;
		bj_seterr(err, "%s: read error", path);
	}
	free(buf);
	fclose(f);
	if (r) {
		free(v);
		*n = 0;
		return r;
	}
	*lines = v;
	return 0;
}

/* Is @s (a line of the file) a volume line for @name? */
static bool line_of(const char *s, const char *name)
{
	char *copy = strdup(s), *w[3];
	bool is;

	if (!copy)
		return false;
	is = words(copy, w) >= 1 && !strcmp(w[0], name);
	free(copy);
	return is;
}

static void dir_of(const char *path, char *dir, size_t len)
{
	char *s;

	snprintf(dir, len, "%s", path);
	s = strrchr(dir, '/');
	if (!s)
		snprintf(dir, len, ".");
	else if (s == dir)
		dir[1] = 0;
	else
		*s = 0;
}

/*
 * Rewrite @path under its lock: the old lines but @name's, and "@name
 * @mdev" in the place of its first line (at the end if it had none) unless
 * @mdev is NULL. With @mdev NULL and no line for @name, nothing is written.
 */
static int update(const char *path, const char *name, const char *mdev, char *err)
{
	char dir[PATH_MAX], lock[PATH_MAX], tmp[PATH_MAX];
	bool placed = false, found = false;
	int lfd = -1, fd = -1, r = 0, dfd;
	FILE *in = NULL, *out = NULL;
	char *buf = NULL;
	size_t bl = 0;

	dir_of(path, dir, sizeof(dir));
	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >= sizeof(lock) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		bj_seterr(err, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	if (mdev && mkdir(dir, 0755) && errno != EEXIST) {
		r = -errno;
		bj_seterr(err, "cannot create %s: %s", dir, strerror(errno));
		return r;
	}
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0) {
		r = -errno;
		if (r == -ENOENT && !mdev)
			return 0;	/* no directory: no line to remove */
		bj_seterr(err, "cannot open %s: %s", lock, strerror(errno));
		return r;
	}
	while (flock(lfd, LOCK_EX)) {
		if (errno != EINTR) {
			r = -errno;
			bj_seterr(err, "cannot lock %s: %s", lock, strerror(errno));
			goto out;
		}
	}
	in = fopen(path, "re");
	if (!in && errno != ENOENT) {
		r = -errno;
		bj_seterr(err, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (!in && !mdev)
		goto out;	/* no file: no line to remove */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fchmod(fd, 0644) || !(out = fdopen(fd, "w"))) {
		r = -errno;
		bj_seterr(err, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (!in)
		fputs(header, out);
	while (in && getline(&buf, &bl, in) >= 0) {
		if (line_of(buf, name)) {
			found = true;
			if (mdev && !placed)
				fprintf(out, "%s %s\n", name, mdev);
			placed = true;
			continue;
		}
		fputs(buf, out);
		if (buf[0] && buf[strlen(buf) - 1] != '\n')
			fputc('\n', out);
	}
	if (in && ferror(in)) {
		r = -EIO;
		bj_seterr(err, "%s: read error", path);
		goto out;
	}
	if (!mdev && !found)
		goto out;	/* nothing to remove: the file stays as it is */
	if (mdev && !placed)
		fprintf(out, "%s %s\n", name, mdev);
	if (fflush(out) || fsync(fileno(out))) {
		r = -errno;
		bj_seterr(err, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(out)) {
		out = NULL;
		r = -errno;
		bj_seterr(err, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	out = NULL;
	if (rename(tmp, path)) {
		r = -errno;
		bj_seterr(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	tmp[0] = 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	if (out)
		fclose(out);
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);	/* not renamed: the file is as it was */
	if (in)
		fclose(in);
	free(buf);
	close(lfd);
	return r;
}

int bj_volumes_add(const char *path, const char *name, const char *mdev, char *err)
{
	char line[BJ_DM_NAME_MAX + BJ_ID_LEN + 2];
	struct bj_volumes_line l;

	/* what is written must read back as this line */
	snprintf(line, sizeof(line), "%s %s", name, mdev);
	l.line = 0;
	if (!parse_line(line, &l) || l.problem[0] || strcmp(l.name, name) ||
	    strcmp(l.mdev, mdev)) {
		bj_seterr(err, "cannot add '%.60s %.100s' to %s: %s", name, mdev, path,
			  l.problem[0] ? l.problem : "not NAME METADATA");
		return -EINVAL;
	}
	return update(path, name, mdev, err);
}

int bj_volumes_remove(const char *path, const char *name, char *err)
{
	return update(path, name, NULL, err);
}
