/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libblockjob's one error convention: a function that fails returns a
 * negative errno and leaves one line saying why in the caller's @err buffer,
 * which is always BJ_ERRLEN bytes (no call takes its size; changing it is an
 * ABI break: Documentation/libblockjob.rst, "Errors"). Pure: no other
 * dependency, so that the pure parts of the library (the metadata format)
 * and the tests built from single files can take it too.
 */
#ifndef BJ_ERR_H
#define BJ_ERR_H

#define BJ_ERRLEN 1024

/* Format one line into @err (BJ_ERRLEN bytes); @err may be NULL. */
void bj_seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
