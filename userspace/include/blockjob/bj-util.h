/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by libblockjob and the CLI: size and rate parsing,
 * sizes for people (JSON: bj-json.h).
 */
#ifndef BJ_UTIL_H
#define BJ_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Parse "4096", "64K", "1M", "2G", "1T" (binary multiples, optional trailing
 * "B" or "iB", optional "/s" when @rate is true). Returns 0 or -EINVAL/-ERANGE.
 */
int bj_parse_size(const char *s, bool rate, uint64_t *out);

/*
 * Parse a number of seconds, fractions allowed ("30", "0.5", "1e3"), from 0
 * to @max_s, into milliseconds rounded up (64 bits: a month of them does
 * not fit in an int). Returns 0, -EINVAL (not a number, negative) or -ERANGE.
 */
int bj_parse_seconds(const char *s, unsigned int max_s, int64_t *ms);

/* Print @bytes as "64 KiB", "1.5 GiB" into @buf. */
const char *bj_human_size(uint64_t bytes, char *buf, size_t len);

/* True if this process has CAP_SYS_ADMIN in its effective set (dm ioctls, events). */
bool bj_have_cap_sys_admin(void);

#endif
