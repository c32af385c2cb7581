// SPDX-License-Identifier: GPL-2.0
/*
 * Opening the files a qcow2 image names, refusing what an untrusted image
 * must not reach (see qcow2-open.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2-open.h"

#define RULE "backing and data files must be regular files outside /proc, /sys and /dev"

static const char *kind(mode_t m)
{
	static const struct {
		mode_t type;
		const char *name;
	} kinds[] = {
		{ S_IFDIR, "a directory" }, { S_IFCHR, "a character device" },
		{ S_IFBLK, "a block device" }, { S_IFIFO, "a FIFO" },
		{ S_IFSOCK, "a socket" }, { S_IFLNK, "a symbolic link" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if ((m & S_IFMT) == kinds[i].type)
			return kinds[i].name;
	return "not a regular file";
}

int bj_qcow2_check_regular(const struct stat *st, char *why, size_t whylen)
{
	if (S_ISREG(st->st_mode))
		return 0;
	snprintf(why, whylen, "it is %s: " RULE, kind(st->st_mode));
	return -EINVAL;
}

/* Is @real (absolute, resolved) @dir or below it? */
static bool under(const char *real, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(real, dir, n) && (real[n] == '/' || !real[n]);
}

/* "it is" or "it resolves to REAL," */
static void subject(const char *path, const char *real, char *buf, size_t len)
{
	if (strcmp(path, real))
		snprintf(buf, len, "it resolves to %s,", real);
	else
		snprintf(buf, len, "it is");
}

int bj_qcow2_open_named(const char *path, char *why, size_t whylen)
{
	static const char *const banned[] = { "/proc", "/sys", "/dev" };
	char real[PATH_MAX], it[PATH_MAX + 32];
	struct stat st, fst;
	unsigned int i;
	int fd, r;

	why[0] = 0;
	if (!realpath(path, real))
		return -errno;
	subject(path, real, it, sizeof(it));
	if (stat(real, &st))
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s %s: " RULE, it, kind(st.st_mode));
		return -EINVAL;
	}
	for (i = 0; i < sizeof(banned) / sizeof(banned[0]); i++) {
		if (under(real, banned[i])) {
			snprintf(why, whylen, "%s under %s: " RULE, it, banned[i]);
			return -EPERM;
		}
	}
	/* O_NONBLOCK: a FIFO swapped in must not block the open */
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (errno == ELOOP) {
			snprintf(why, whylen, "it (%s) was replaced by a symbolic link while being opened",
				 real);
			return -EPERM;
		}
		return r;
	}
	if (fstat(fd, &fst) || !S_ISREG(fst.st_mode) || fst.st_dev != st.st_dev ||
	    fst.st_ino != st.st_ino) {
		close(fd);
		snprintf(why, whylen, "it (%s) was replaced while being opened (the file opened is not the file checked)",
			 real);
		return -EPERM;
	}
	if (fcntl(fd, F_SETFL, 0)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

bool bj_qcow2_same_file(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}
