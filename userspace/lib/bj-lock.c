// SPDX-License-Identifier: GPL-2.0
/*
 * Per-volume command lock (see bj-lock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bj-dm.h"
#include "bj-lock.h"

static int make_dirs(char *err)
{
	if ((mkdir("/run/lock", 0755) && errno != EEXIST) ||
	    (mkdir(BJ_LOCK_DIR, 0700) && errno != EEXIST)) {
		int e = errno;

		snprintf(err, BJ_ERRLEN, "cannot create %s: %s", BJ_LOCK_DIR, strerror(e));
		return -e;
	}
	return 0;
}

/* The pid the holder wrote into the lock file, 0 if none. */
static pid_t read_holder(int fd)
{
	char buf[24] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

int bj_volume_lock(const char *name, bool wait, struct bj_lock *lk, pid_t *holder, char *err)
{
	char path[sizeof(BJ_LOCK_DIR) + BJ_DM_NAME_MAX + 1], pid[24];
	const char *dm_name;
	int fd, r, n;

	lk->fd = -1;
	if (holder)
		*holder = 0;
	/* The volume naming rule; also one lock file for NAME and /dev/mapper/NAME. */
	r = bj_dm_name(name, &dm_name, err);
	if (r)
		return r;
	name = dm_name;
	r = make_dirs(err);
	if (r)
		return r;
	snprintf(path, sizeof(path), "%s/%s", BJ_LOCK_DIR, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, BJ_ERRLEN, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK) {
			r = -errno;
			snprintf(err, BJ_ERRLEN, "cannot lock %s: %s", path, strerror(-r));
			goto bad;
		}
		if (holder)
			*holder = read_holder(fd);
		if (!wait) {
			snprintf(err, BJ_ERRLEN, "another blockjob command is changing %s", name);
			r = -EWOULDBLOCK;
			goto bad;
		}
		if (flock(fd, LOCK_EX)) {
			r = -errno;
			snprintf(err, BJ_ERRLEN, "%s while waiting for the lock of %s",
				 r == -EINTR ? "interrupted" : strerror(-r), name);
			goto bad;
		}
	}
	/* Who holds it, for a waiter to name (best effort: a lost pid only means a vaguer note). */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (!ftruncate(fd, 0) && pwrite(fd, pid, n, 0) != n)
		r = 0;
	lk->fd = fd;
	return 0;
bad:
	close(fd);
	return r;
}

void bj_volume_unlock(struct bj_lock *lk)
{
	if (lk->fd < 0)
		return;
	/* The file stays: removing it would race with a waiter's open. */
	close(lk->fd);
	lk->fd = -1;
}
