/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening the files a qcow2 image names (backing files, external data
 * files). An image may come from an untrusted party and name any host
 * file; the reader runs as root. So a named file must be a regular file,
 * not under /proc, /sys or /dev once symlinks are resolved, and the file
 * opened must be the file checked (a swap in between is caught).
 * Documentation/qcow2.rst, "Untrusted images".
 */
#ifndef BJ_QCOW2_OPEN_H
#define BJ_QCOW2_OPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/*
 * Open @path read-only: realpath, refuse anything under /proc, /sys or
 * /dev, stat (a regular file only), open the resolved path with
 * O_NOFOLLOW and compare its fstat with what was checked. Returns the fd,
 * or -errno: with @why set to one line ("it resolves to /dev/zero, a
 * character device, ...") for a refusal, empty when @path simply cannot be
 * opened (ENOENT, EACCES: say strerror).
 */
int bj_qcow2_open_named(const char *path, char *why, size_t whylen);

/*
 * One line into @why when @st is not a regular file ("it is a directory,
 * not a regular file"); -EINVAL then, else 0. For descriptors handed over
 * by a caller's open hook.
 */
int bj_qcow2_check_regular(const struct stat *st, char *why, size_t whylen);

/* The same file: the same block device (st_rdev), else device and inode. */
bool bj_qcow2_same_file(const struct stat *a, const struct stat *b);

#endif
