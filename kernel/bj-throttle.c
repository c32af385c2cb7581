// SPDX-License-Identifier: GPL-2.0
#include <linux/limits.h>
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

static u64 quota_of(const struct bj_throttle *t)
{
	return max_t(u64, 1, mul_u64_u64_div_u64(t->rate, BJ_THROTTLE_SLICE_NS, NSEC_PER_SEC));
}

/*
 * Move to the slice holding @now_ns. What the past slices sent beyond their
 * quota is carried over as a debt, so a request larger than the quota (one
 * region at a low rate) delays the next ones as long as it should.
 */
static void roll(struct bj_throttle *t, u64 now_ns, u64 quota)
{
	u64 n;

	if (now_ns < t->slice_start) {
		t->slice_start = now_ns;
		t->slice_bytes = 0;
		return;
	}
	n = div64_u64(now_ns - t->slice_start, BJ_THROTTLE_SLICE_NS);
	if (!n)
		return;
	if (n > div64_u64(t->slice_bytes, quota))
		t->slice_bytes = 0;
	else
		t->slice_bytes -= n * quota;
	t->slice_start += n * BJ_THROTTLE_SLICE_NS;
}

u64 bj_throttle_delay(struct bj_throttle *t, u64 now_ns, u64 bytes)
{
	u64 quota;

	if (!t->rate)
		return 0;
	quota = quota_of(t);
	roll(t, now_ns, quota);
	if (t->slice_bytes >= quota)
		/* The first slice at whose start the debt is below the quota. */
		return t->slice_start + div64_u64(t->slice_bytes, quota) *
		       BJ_THROTTLE_SLICE_NS - now_ns;
	t->slice_bytes += bytes;
	return 0;
}

void bj_throttle_refund(struct bj_throttle *t, u64 bytes)
{
	t->slice_bytes -= min(t->slice_bytes, bytes);
}

void bj_throttle_charge(struct bj_throttle *t, u64 bytes)
{
	if (t->rate)
		t->slice_bytes += bytes;
}

u64 bj_throttle_left(const struct bj_throttle *t)
{
	u64 quota;

	if (!t->rate)
		return U64_MAX;
	quota = quota_of(t);
	return t->slice_bytes < quota ? quota - t->slice_bytes : 0;
}
