/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libblockjob: drive dm-blockjob live block jobs (mirror, backup) on
 * device-mapper volumes. The one header a client includes:
 *
 *	#include <blockjob/blockjob.h>
 *	cc ... $(pkg-config --cflags --libs libblockjob)
 *
 * Documentation/libblockjob.rst: the API, the error convention (a failing
 * call returns a negative errno and leaves one line in the caller's @err
 * buffer of BJ_ERRLEN bytes), the threading rules and the ABI policy.
 */
#ifndef BLOCKJOB_BLOCKJOB_H
#define BLOCKJOB_BLOCKJOB_H

#include "bj-err.h"		/* the error convention: BJ_ERRLEN */
#include "bj-util.h"		/* sizes, rates, seconds */
#include "bj-dm.h"		/* device-mapper: volumes, tables, status, messages */
#include "bj-job.h"		/* jobs: start, finish, dismiss, recover, switch */
#include "bj-events.h"		/* job events (generic netlink), waiting for a job */
#include "bj-backup.h"		/* backup views, dirty bitmaps */
#include "bj-lock.h"		/* the per-volume lock */
#include "bj-md-format.h"	/* the metadata device's format (pure) */
#include "bj-md.h"		/* metadata devices: read, format, prepare */
#include "bj-record.h"		/* the volume record */
#include "bj-devid.h"		/* stable device identities */
#include "bj-volume-md.h"	/* volumes with a metadata device */
#include "bj-volumes.h"		/* /etc/blockjob/volumes */
#include "bj-json.h"		/* JSON documents (json-c), UTF-8 strings */
#include "bj-status-json.h"	/* a job as QEMU's query-block-jobs shows it */
#include "qcow2.h"		/* the qcow2 reader */
#include "qcow2-table.h"	/* qcow2 attach/detach, qcow2 job destinations */
#include "bj-nbd.h"		/* NBD destinations: the kernel's NBD client */

#endif
