/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What lib/bj-nbd.c shares with lib/bj-nbd-keep.c (the library's own:
 * not exported, libblockjob.map).
 */
#ifndef BJ_NBD_INT_H
#define BJ_NBD_INT_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t bj_nbd_now_ms(void);

/*
 * /sys/block/nbd@index/@attr into @buf (@len bytes), its trailing newline
 * dropped: its length, or -errno (-ENAMETOOLONG if it does not fit).
 */
int bj_nbd_read_sys(unsigned int index, const char *attr, char *buf, size_t len);

/*
 * The index of NBD device @dev ("/dev/nbdN" or "nbdN"): 0, or -EINVAL (no
 * NBD device name) or -ENODEV (no such device) with a line.
 */
int bj_nbd_dev_arg(const char *dev, unsigned int *index, char *err);

#endif
