/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dm-blockjob: the contract between the "blockjob" device-mapper target and
 * userspace.
 *
 * Jobs are driven with dmsetup-style table loads and target messages; their
 * events (state changes, ready, completed, cancelled, error, progress) are
 * multicast on the generic netlink family DM_BLOCKJOB_GENL_NAME, group
 * DM_BLOCKJOB_GENL_MCGRP. Joining the group needs CAP_SYS_ADMIN.
 */
#ifndef _UAPI_LINUX_DM_BLOCKJOB_H
#define _UAPI_LINUX_DM_BLOCKJOB_H

#define DM_BLOCKJOB_GENL_NAME		"dm-blockjob"
#define DM_BLOCKJOB_GENL_VERSION	1
#define DM_BLOCKJOB_GENL_MCGRP		"events"

/* Target version, as reported by "dmsetup targets". */
#define DM_BLOCKJOB_VERSION_MAJOR	1
#define DM_BLOCKJOB_VERSION_MINOR	6
#define DM_BLOCKJOB_VERSION_PATCH	0

enum dm_blockjob_cmd {
	DM_BLOCKJOB_CMD_UNSPEC,
	DM_BLOCKJOB_CMD_EVENT,		/* kernel -> userspace, multicast */
	__DM_BLOCKJOB_CMD_MAX,
};

#define DM_BLOCKJOB_CMD_MAX (__DM_BLOCKJOB_CMD_MAX - 1)

enum dm_blockjob_attr {
	DM_BLOCKJOB_ATTR_UNSPEC,
	DM_BLOCKJOB_ATTR_EVENT,		/* u32, enum dm_blockjob_event */
	DM_BLOCKJOB_ATTR_DEVICE,	/* string, dm device name */
	DM_BLOCKJOB_ATTR_DEV,		/* u32, dm device number (new_encode_dev) */
	DM_BLOCKJOB_ATTR_TYPE,		/* u32, enum dm_blockjob_type */
	DM_BLOCKJOB_ATTR_STATE,		/* u32, enum dm_blockjob_state (after the event) */
	DM_BLOCKJOB_ATTR_LEN,		/* u64, bytes the job must process */
	DM_BLOCKJOB_ATTR_OFFSET,	/* u64, bytes processed so far */
	DM_BLOCKJOB_ATTR_SPEED,		/* u64, speed limit in bytes/s, 0 = none */
	DM_BLOCKJOB_ATTR_ERROR,		/* s32, negative errno of the last error */
	DM_BLOCKJOB_ATTR_ERROR_MSG,	/* string, where the error happened */
	DM_BLOCKJOB_ATTR_PAD,
	__DM_BLOCKJOB_ATTR_MAX,
};

#define DM_BLOCKJOB_ATTR_MAX (__DM_BLOCKJOB_ATTR_MAX - 1)

enum dm_blockjob_event {
	DM_BLOCKJOB_EVENT_STATUS_CHANGE = 1,	/* JOB_STATUS_CHANGE */
	DM_BLOCKJOB_EVENT_READY,		/* BLOCK_JOB_READY */
	DM_BLOCKJOB_EVENT_COMPLETED,		/* BLOCK_JOB_COMPLETED */
	DM_BLOCKJOB_EVENT_CANCELLED,		/* BLOCK_JOB_CANCELLED */
	DM_BLOCKJOB_EVENT_ERROR,		/* BLOCK_JOB_ERROR */
	DM_BLOCKJOB_EVENT_PROGRESS,		/* periodic progress */
};

enum dm_blockjob_type {
	DM_BLOCKJOB_TYPE_NONE = 0,	/* passthrough: no job */
	DM_BLOCKJOB_TYPE_MIRROR,
	DM_BLOCKJOB_TYPE_BACKUP,
};

/* Job states, QEMU's job model. */
enum dm_blockjob_state {
	DM_BLOCKJOB_STATE_IDLE = 0,	/* no job (passthrough) */
	DM_BLOCKJOB_STATE_RUNNING,
	DM_BLOCKJOB_STATE_PAUSED,
	DM_BLOCKJOB_STATE_READY,
	DM_BLOCKJOB_STATE_STANDBY,	/* paused while ready */
	DM_BLOCKJOB_STATE_CONCLUDED,
};

#endif /* _UAPI_LINUX_DM_BLOCKJOB_H */
