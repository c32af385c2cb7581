/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /etc/blockjob/volumes: the volumes with a metadata device that 'blockjob
 * activate --all' brings back at boot. One volume a line:
 *
 *   NAME METADATA
 *
 * NAME: the volume's dm name; METADATA: its metadata device's identity
 * (bj-devid.h) or, for an admin's hand edit, an absolute path ("/dev/...").
 * Fields are separated by spaces or tabs; '#' starts a comment line; blank
 * lines are allowed. 'create --metadata' adds a line, 'remove' removes it.
 *
 * Updates take an flock(2) on PATH.lock (beside the file), then write a
 * temporary file, fsync it, rename it over PATH and fsync the directory:
 * a crash leaves the old file or the new one, and comments are kept. The
 * directory (0755) and the file (0644, with a header comment saying what
 * it is) are created when missing. The path is a parameter (the CLI gives
 * BJ_VOLUMES_FILE; tests a file of their own). Nothing here prints.
 */
#ifndef BJ_VOLUMES_H
#define BJ_VOLUMES_H

#include <stddef.h>

#include "bj-dm.h"		/* BJ_DM_NAME_MAX */
#include "bj-record.h"		/* BJ_ID_LEN */

#define BJ_VOLUMES_FILE "/etc/blockjob/volumes"

struct bj_volumes_line {
	unsigned int line;		/* 1-based line number in the file */
	char name[BJ_DM_NAME_MAX + 1];
	char mdev[BJ_ID_LEN];		/* identity or absolute path */
	char problem[160];		/* "" or why the line is malformed (name, mdev then "") */
};

/*
 * Every volume line of @path (comments and blank lines skipped, malformed
 * lines included with their problem set) into *@lines (malloc'ed, free()
 * it; NULL when *@n is 0). -ENOENT (with @err) if the file does not exist;
 * another -errno if it cannot be read.
 */
int bj_volumes_read(const char *path, struct bj_volumes_line **lines, size_t *n, char *err);

/* Add the line "@name @mdev" to @path, replacing @name's line if it has one. */
int bj_volumes_add(const char *path, const char *name, const char *mdev, char *err);

/* Remove @name's line from @path: 0 also when the file or the line is missing. */
int bj_volumes_remove(const char *path, const char *name, char *err);

#endif
