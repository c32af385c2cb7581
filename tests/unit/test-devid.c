// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of stable device identities (lib/bj-devid.c) against a fake
 * sysfs and /dev built in a temporary directory: a dm device with a UUID,
 * one without, a disk with a WWID (spaces), a virtio disk with a serial and
 * its partition, an NVMe-like disk with device/serial, a loop device, a
 * device with no identity, a partition of such a device, and two devices
 * with one identity. The device nodes need mknod (root); without it the
 * lookups are skipped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bj-devid.h"

static int failed;
static char root[256];

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd)) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(1);
	}
}

/* A device NAME, M:m, its sysfs directory at devices/PARENT/NAME ("" parent: devices/NAME). */
static void dev(const char *name, unsigned int ma, unsigned int mi, const char *parent)
{
	char d[512];

	snprintf(d, sizeof(d), "%s/sys/devices/%s%s%s", root, parent, *parent ? "/" : "", name);
	sh("mkdir -p '%s' && echo %u:%u >'%s/dev'", d, ma, mi, d);
	sh("ln -s '%s' '%s/sys/class/block/%s'", d, root, name);
	sh("ln -s '%s' '%s/sys/dev/block/%u:%u'", d, root, ma, mi);
}

/* Attribute FILE of device PATH (under devices/) with CONTENT. */
static void attr(const char *path, const char *file, const char *content)
{
	sh("mkdir -p \"$(dirname '%s/sys/devices/%s/%s')\" && printf '%%s\\n' '%s' >'%s/sys/devices/%s/%s'",
	   root, path, file, content, root, path, file);
}

static bool have_nodes;

static void node(const char *path, unsigned int ma, unsigned int mi)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/dev/%s", root, path);
	sh("mkdir -p \"$(dirname '%s')\"", p);
	if (mknod(p, S_IFBLK | 0600, makedev(ma, mi)))
		have_nodes = false;
}

static void build(void)
{
	char *t;

	snprintf(root, sizeof(root), "/tmp/test-devid.XXXXXX");
	t = mkdtemp(root);
	if (!t)
		exit(1);
	sh("mkdir -p %s/sys/class/block %s/sys/dev/block %s/dev/mapper", root, root, root);
	have_nodes = true;

	dev("dm-3", 252, 3, "virtual");			/* dm with a UUID */
	attr("virtual/dm-3", "dm/uuid", "LVM-abcdef");
	attr("virtual/dm-3", "dm/name", "vg-lv");
	node("mapper/vg-lv", 252, 3);
	dev("dm-4", 252, 4, "virtual");			/* dm without: no identity */
	attr("virtual/dm-4", "dm/uuid", "");
	attr("virtual/dm-4", "dm/name", "plain");
	node("mapper/plain", 252, 4);
	dev("sda", 8, 0, "pci");			/* SCSI: device/wwid with spaces */
	attr("pci/sda", "device/wwid", "t10.ATA     QEMU HARDDISK   QM00001   ");
	node("sda", 8, 0);
	dev("vdb", 254, 16, "pci");			/* virtio: serial */
	attr("pci/vdb", "serial", "bj-vdb");
	node("vdb", 254, 16);
	dev("vdb1", 254, 17, "pci/vdb");		/* its partition 1 */
	attr("pci/vdb/vdb1", "partition", "1");
	node("vdb1", 254, 17);
	dev("nvme0n1", 259, 0, "pci");			/* device/serial */
	attr("pci/nvme0n1", "device/serial", "S4EW NX0R 1234");
	node("nvme0n1", 259, 0);
	dev("loop3", 7, 3, "virtual");			/* a loop device */
	attr("virtual/loop3", "loop/backing_file", "/srv/images/a disk.img");
	attr("virtual/loop3", "loop/offset", "1048576");
	node("loop3", 7, 3);
	dev("zram0", 253, 0, "virtual");		/* nothing */
	node("zram0", 253, 0);
	dev("sdb", 8, 16, "pci");			/* no identity ... */
	node("sdb", 8, 16);
	dev("sdb1", 8, 17, "pci/sdb");			/* ... nor its partition */
	attr("pci/sdb/sdb1", "partition", "1");
	node("sdb1", 8, 17);
	dev("vdc", 254, 32, "pci");			/* no node in /dev */
	attr("pci/vdc", "serial", "bj-vdc");
}

static void expect_id(unsigned int ma, unsigned int mi, const char *want)
{
	char id[BJ_ID_LEN], err[BJ_ERRLEN], sys[300];
	int r;

	snprintf(sys, sizeof(sys), "%s/sys", root);
	r = bj_devid_of_at(sys, ma, mi, id, sizeof(id), err);
	CHECK(!r && !strcmp(id, want), "%u:%u is %s (%s)", ma, mi, want, r ? err : id);
}

static void expect_none(unsigned int ma, unsigned int mi, const char *want)
{
	char id[BJ_ID_LEN], err[BJ_ERRLEN] = "", sys[300];
	int r;

	snprintf(sys, sizeof(sys), "%s/sys", root);
	r = bj_devid_of_at(sys, ma, mi, id, sizeof(id), err);
	CHECK(r == -ENOENT && !strcmp(err, want), "%u:%u: %s", ma, mi, err);
}

static void expect_find(const char *id, int want_r, const char *want)
{
	char path[512], err[BJ_ERRLEN] = "", sys[300], devroot[300], w[600];
	int r;

	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(devroot, sizeof(devroot), "%s/dev", root);
	r = bj_devid_find_at(sys, devroot, id, path, sizeof(path), err);
	if (want_r) {
		CHECK(r == want_r && strstr(err, want), "find %s: %s", id, err);
	} else {
		snprintf(w, sizeof(w), "%s/dev/%s", root, want);
		CHECK(!r && !strcmp(path, w), "find %s: %s (%s)", id, want, r ? err : path);
	}
}

int main(void)
{
	char id[8], err[BJ_ERRLEN], sys[300];

	build();
	expect_id(252, 3, "dm-uuid-LVM-abcdef");
	expect_none(252, 4, "252:4 (dm-4) has no stable identity (no DM UUID, WWID, serial, or partition of such a disk)");
	expect_id(8, 0, "wwn-t10.ATA_QEMU_HARDDISK_QM00001");
	expect_id(254, 16, "virtio-bj-vdb");
	expect_id(254, 17, "virtio-bj-vdb-part1");
	expect_id(259, 0, "serial-S4EW_NX0R_1234");
	expect_id(7, 3, "loop-/srv/images/a_disk.img@1048576");
	expect_none(253, 0, "253:0 (zram0) has no stable identity (no DM UUID, WWID, serial, or partition of such a disk)");
	expect_none(8, 17, "8:17 (sdb1) has no stable identity (no DM UUID, WWID, serial, or partition of such a disk)");
	snprintf(sys, sizeof(sys), "%s/sys", root);
	CHECK(bj_devid_of_at(sys, 9, 9, id, sizeof(id), err) == -ENOENT && strstr(err, "9:9"),
	      "an absent device: %s", err);
	CHECK(bj_devid_of_at(sys, 254, 16, id, sizeof(id), err) == -ENAMETOOLONG,
	      "an identity longer than the buffer: %s", err);

	if (!have_nodes) {
		printf("ok - # SKIP lookups: mknod needs root\n");
	} else {
		expect_find("dm-uuid-LVM-abcdef", 0, "mapper/vg-lv");
		expect_find("virtio-bj-vdb", 0, "vdb");
		expect_find("virtio-bj-vdb-part1", 0, "vdb1");
		expect_find("wwn-t10.ATA_QEMU_HARDDISK_QM00001", 0, "sda");
		expect_find("loop-/srv/images/a_disk.img@1048576", 0, "loop3");
		expect_find("serial-S4EW_NX0R_1234", 0, "nvme0n1");
		expect_find("virtio-nothere", -ENOENT, "no device with identity virtio-nothere is present");
		expect_find("virtio-bj-vdc", -ENODEV, "vdc (254:32) has no device node");
		/* a second device with vdb's serial: refused, both named */
		dev("vdd", 254, 48, "pci");
		attr("pci/vdd", "serial", "bj-vdb");
		node("vdd", 254, 48);
		expect_find("virtio-bj-vdb", -EEXIST, "two devices have identity virtio-bj-vdb");
		/* a node that is another device */
		sh("rm '%s/dev/vdd'", root);
		node("vdd", 254, 49);
		expect_find("virtio-bj-vdb", -ENODEV, "vdd (254:48) has no device node");
	}
	sh("rm -rf '%s'", root);
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed != 0;
}
