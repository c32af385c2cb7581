/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bytes-per-second speed limiter applied in time slices (QEMU's "speed"):
 * a job may send rate * slice worth of bytes per slice; the request that
 * crosses the quota still goes (so a job always progresses), later ones wait
 * for the next slice. Pure logic: the caller passes the time and holds the
 * lock that protects the struct.
 */
#ifndef DM_BLOCKJOB_THROTTLE_H
#define DM_BLOCKJOB_THROTTLE_H

#include <linux/types.h>

#define BJ_THROTTLE_SLICE_NS	(100ULL * 1000 * 1000)	/* 100 ms */

struct bj_throttle {
	u64 rate;		/* bytes per second, 0 = unlimited */
	u64 slice_start;	/* ns */
	u64 slice_bytes;	/* bytes dispatched in the current slice */
};

void bj_throttle_init(struct bj_throttle *t, u64 rate);
void bj_throttle_set_rate(struct bj_throttle *t, u64 rate);
/*
 * Account @bytes at time @now_ns if they may go now and return 0; otherwise
 * return how many ns to wait before asking again (nothing is accounted).
 */
u64 bj_throttle_delay(struct bj_throttle *t, u64 now_ns, u64 bytes);
/* Give back @bytes accounted by bj_throttle_delay() but not sent after all. */
void bj_throttle_refund(struct bj_throttle *t, u64 bytes);
/* Account @bytes more, sent along with those bj_throttle_delay() allowed. */
void bj_throttle_charge(struct bj_throttle *t, u64 bytes);
/* Bytes left in the current slice's quota; U64_MAX when unlimited. */
u64 bj_throttle_left(const struct bj_throttle *t);

#endif
