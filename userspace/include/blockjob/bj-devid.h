/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stable device identities: a name for a block device that survives a
 * reboot, a re-plug or a renumbering, unlike major:minor or sdX. A volume
 * with a metadata device records its devices by identity (bj-record.h) and
 * /etc/blockjob/volumes names the metadata device by identity
 * (bj-volumes.h), so that 'blockjob activate' finds them again.
 *
 * The identity of a device, from sysfs, the first of:
 *
 *   dm-uuid-<uuid>        a device-mapper device with a DM UUID (dm/uuid)
 *   wwn-<wwid>            a WWID (wwid, or device/wwid: SCSI, NVMe)
 *   virtio-<serial>       a virtio-blk disk's serial (serial)
 *   serial-<serial>       another disk's serial (device/serial)
 *   <disk's identity>-part<N>   partition N of a disk that has one
 *   loop-<file>@<offset>  a loop device's backing file and offset in bytes
 *
 * Each run of bytes outside 0x21..0x7e in what sysfs says (spaces in a
 * WWID or a serial, say) becomes one '_', leading and trailing ones are
 * dropped: an identity is printable ASCII without spaces.
 *
 * Functions return 0 or a negative errno and leave one line in @err
 * (BJ_ERRLEN). Nothing here prints.
 */
#ifndef BJ_DEVID_H
#define BJ_DEVID_H

#include <stddef.h>

#include "bj-err.h"
#include "bj-record.h"		/* BJ_ID_LEN */

/*
 * The identity of block device @major:@minor into @id (@len bytes,
 * BJ_ID_LEN is enough). -ENOENT if it has none ("252:3 (dm-3) has no
 * stable identity (...)"), -ENAMETOOLONG if it does not fit.
 */
int bj_devid_of(unsigned int major, unsigned int minor, char *id, size_t len, char *err);

/*
 * The device node of the one block device present whose identity is @id:
 * /dev/mapper/<name> for a dm device, /dev/<kernel name> else (it must
 * exist and be that block device). -ENOENT if none has it ("no device
 * with identity X is present"), -EEXIST if two have it (both named: no
 * guess is made), -ENODEV if the one that has it has no device node.
 */
int bj_devid_find(const char *id, char *path, size_t len, char *err);

/* The same with sysfs at @sys and device nodes under @dev (for tests). */
int bj_devid_of_at(const char *sys, unsigned int major, unsigned int minor, char *id,
		   size_t len, char *err);
int bj_devid_find_at(const char *sys, const char *dev, const char *id, char *path, size_t len,
		     char *err);

#endif
