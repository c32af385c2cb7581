/* SPDX-License-Identifier: GPL-2.0 */
/* The dm-blockjob generic netlink family: job events, multicast. */
#ifndef DM_BLOCKJOB_NETLINK_H
#define DM_BLOCKJOB_NETLINK_H

#include <linux/types.h>

struct bj_event_info {
	u32 event;		/* enum dm_blockjob_event */
	const char *device;	/* dm device name */
	u32 dev;		/* new_encode_dev() of the dm device */
	u32 type;		/* enum dm_blockjob_type */
	u32 state;		/* enum dm_blockjob_state */
	u64 len;
	u64 offset;
	u64 speed;
	s32 error;		/* 0 = none */
	const char *error_msg;	/* NULL = none */
};

int bj_netlink_init(void);
void bj_netlink_exit(void);
/* Multicast one event; may sleep (GFP_KERNEL). Silently dropped with no listener. */
void bj_netlink_send(const struct bj_event_info *e);

#endif
