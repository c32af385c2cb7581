// SPDX-License-Identifier: GPL-2.0
/*
 * The error line of libblockjob's functions (see bj-err.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "bj-err.h"

void bj_seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, BJ_ERRLEN, fmt, ap);
	va_end(ap);
}
