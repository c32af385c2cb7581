// SPDX-License-Identifier: GPL-2.0
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/time64.h>

#include "bj-throttle.h"

void bj_throttle_init(struct bj_throttle *t, u64 rate)
{
	t->rate = rate;
	t->slice_start = 0;
	t->slice_bytes = 0;
}

void bj_throttle_set_rate(struct bj_throttle *t, u64 rate)
{
	t->rate = rate;
	t->slice_bytes = 0;
}

u64 bj_throttle_delay(struct bj_throttle *t, u64 now_ns, u64 bytes)
{
	u64 quota;

	if (!t->rate)
		return 0;
	if (now_ns < t->slice_start || now_ns - t->slice_start >= BJ_THROTTLE_SLICE_NS) {
		t->slice_start = now_ns;
		t->slice_bytes = 0;
	}
	quota = mul_u64_u64_div_u64(t->rate, BJ_THROTTLE_SLICE_NS, NSEC_PER_SEC);
	if (!quota)
		quota = 1;
	if (t->slice_bytes >= quota)
		return t->slice_start + BJ_THROTTLE_SLICE_NS - now_ns;
	t->slice_bytes += bytes;
	return 0;
}

void bj_throttle_refund(struct bj_throttle *t, u64 bytes)
{
	t->slice_bytes -= min(t->slice_bytes, bytes);
}
