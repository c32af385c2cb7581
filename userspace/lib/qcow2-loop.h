/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loop devices for the files of an attached qcow2 chain (qcow2-attach.c).
 */
#ifndef BJ_QCOW2_LOOP_H
#define BJ_QCOW2_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bj-err.h"

/*
 * Bind a free loop device to the file open as @fd (reopened with the
 * wanted mode through /proc/self/fd), LO_FLAGS_AUTOCLEAR, read-only unless
 * @rw; @path names it. Returns the loop's fd (keep it open until the table
 * holds the loop: autoclear unbinds at the last close) with its device
 * number in *@dev, or -errno with one line in @err (BJ_ERRLEN).
 */
int bj_qloop_attach(int fd, const char *path, bool rw, dev_t *dev, char *err);
/* Wait (up to 2 s) until autoclear has unbound the loop devices in @devs. */
void bj_qloop_wait(const dev_t *devs, size_t n);

#endif
