/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One lock per volume, held by every command that changes the volume's
 * table (as lvm2 locks a volume group): an flock(2) on
 * /run/lock/blockjob/NAME, so that two commands cannot interleave their
 * checks and table switches. The kernel drops the lock when its holder
 * exits, however it exits: a volume found suspended or with an inactive
 * table while one holds the lock was left so by a command that did not
 * finish (or by someone else, with dmsetup).
 */
#ifndef BJ_LOCK_H
#define BJ_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

#define BJ_LOCK_DIR "/run/lock/blockjob"

struct bj_lock {
	int fd;				/* -1: not held */
};

/*
 * Take the lock of volume @name. If another process holds it: with @wait
 * block until it is free (-EINTR if a signal interrupts), else return
 * -EWOULDBLOCK with the holder's pid in *@holder (0 if unknown).
 */
int bj_volume_lock(const char *name, bool wait, struct bj_lock *lk, pid_t *holder, char *err);
void bj_volume_unlock(struct bj_lock *lk);

#endif
