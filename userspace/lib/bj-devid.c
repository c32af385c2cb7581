// SPDX-License-Identifier: GPL-2.0
/*
 * Stable device identities from sysfs (see bj-devid.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bj-devid.h"

/* Read sysfs attribute @dir/@name into @buf, trailing whitespace dropped: its length or -errno. */
static int read_attr(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	size_t n;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = 0;
	return (int)n;
}

static bool printable(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e;
}

/* Append @prefix and @value (runs of unprintable bytes as one '_') to @id. */
static int put_id(char *id, size_t len, const char *prefix, const char *value)
{
	size_t n = strlen(id), start;
	bool gap = false;
	int w;

	w = snprintf(id + n, len - n, "%s", prefix);
	if (w < 0 || (size_t)w >= len - n)
		return -ENAMETOOLONG;
	n += (size_t)w;
	start = n;
	for (; *value; value++) {
		if (!printable((unsigned char)*value)) {
			gap = true;
			continue;
		}
		if (gap && n > start) {
			if (n + 1 >= len)
				return -ENAMETOOLONG;
			id[n++] = '_';
		}
		gap = false;
		if (n + 1 >= len)
			return -ENAMETOOLONG;
		id[n++] = *value;
	}
	id[n] = 0;
	return 0;
}

/* The identity of the device whose sysfs directory is @dir (resolved). */
static int id_of_dir(const char *dir, char *id, size_t len, bool partition_ok)
{
	char v[PATH_MAX], off[32], parent[PATH_MAX], *slash;
	int r;

	id[0] = 0;
	if (read_attr(dir, "dm/uuid", v, sizeof(v)) > 0)
		return put_id(id, len, "dm-uuid-", v);
	if (read_attr(dir, "wwid", v, sizeof(v)) > 0 ||
	    read_attr(dir, "device/wwid", v, sizeof(v)) > 0)
		return put_id(id, len, "wwn-", v);
	if (read_attr(dir, "serial", v, sizeof(v)) > 0)
		return put_id(id, len, "virtio-", v);
	if (read_attr(dir, "device/serial", v, sizeof(v)) > 0)
		return put_id(id, len, "serial-", v);
	if (partition_ok && read_attr(dir, "partition", off, sizeof(off)) > 0) {
		snprintf(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		if (!slash || slash == parent)
			return -ENOENT;
		*slash = 0;
		r = id_of_dir(parent, id, len, false);
		if (r)
			return r;
		return put_id(id, len, "-part", off);
	}
	if (read_attr(dir, "loop/backing_file", v, sizeof(v)) > 0) {
		if (read_attr(dir, "loop/offset", off, sizeof(off)) <= 0)
			snprintf(off, sizeof(off), "0");
		r = put_id(id, len, "loop-", v);
		if (!r)
			r = put_id(id, len, "@", off);
		return r;
	}
	return -ENOENT;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int no_id(int r, const char *dev, const char *name, const char *id, char *err)
{
	if (r == -ENAMETOOLONG)
		bj_seterr(err, "%s (%s): its identity is too long (%.40s...)", dev, name, id);
	else
		bj_seterr(err, "%s (%s) has no stable identity (no DM UUID, WWID, serial, or partition of such a disk)",
			  dev, name);
	return r == -ENAMETOOLONG ? r : -ENOENT;
}

int bj_devid_of_at(const char *sys, unsigned int major, unsigned int minor, char *id,
		   size_t len, char *err)
{
	char link[PATH_MAX], dir[PATH_MAX], dev[32];
	int r;

	snprintf(dev, sizeof(dev), "%u:%u", major, minor);
	snprintf(link, sizeof(link), "%s/dev/block/%s", sys, dev);
	if (!realpath(link, dir)) {
		r = -errno;
		bj_seterr(err, "%s: no such block device in %s/dev/block (%s)", dev, sys,
			  strerror(errno));
		return r;
	}
	r = id_of_dir(dir, id, len, true);
	if (r)
		return no_id(r, dev, base(dir), id, err);
	return 0;
}

int bj_devid_of(unsigned int major, unsigned int minor, char *id, size_t len, char *err)
{
	return bj_devid_of_at("/sys", major, minor, id, len, err);
}

/* The device node of class/block entry @name (sysfs directory @dir): 0, or -errno with @err. */
static int node_of(const char *dir, const char *name, const char *devroot, char *path,
		   size_t len, char *err)
{
	char v[256];
	unsigned int ma, mi;
	struct stat st;

	if (read_attr(dir, "dev", v, sizeof(v)) <= 0 || sscanf(v, "%u:%u", &ma, &mi) != 2) {
		bj_seterr(err, "%s: cannot read its device number in sysfs", name);
		return -EIO;
	}
	if (read_attr(dir, "dm/name", v, sizeof(v)) > 0) {
		if ((size_t)snprintf(path, len, "%s/mapper/%s", devroot, v) >= len)
			return -ENAMETOOLONG;
	} else if ((size_t)snprintf(path, len, "%s/%s", devroot, name) >= len) {
		return -ENAMETOOLONG;
	}
	if (stat(path, &st) || !S_ISBLK(st.st_mode) || st.st_rdev != makedev(ma, mi)) {
		bj_seterr(err, "%s (%u:%u) has no device node %s", name, ma, mi, path);
		return -ENODEV;
	}
	return 0;
}

int bj_devid_find_at(const char *sys, const char *devroot, const char *id, char *path,
		     size_t len, char *err)
{
	char cls[PATH_MAX], entry[PATH_MAX], dir[PATH_MAX], got[BJ_ID_LEN];
	char first[PATH_MAX] = "", node[PATH_MAX];
	struct dirent *de;
	int r = 0, found = 0;
	DIR *d;

	snprintf(cls, sizeof(cls), "%s/class/block", sys);
	d = opendir(cls);
	if (!d) {
		r = -errno;
		bj_seterr(err, "cannot list %s: %s", cls, strerror(errno));
		return r;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(entry, sizeof(entry), "%s/%s", cls, de->d_name) >= sizeof(entry) ||
		    !realpath(entry, dir))
			continue;
		if (id_of_dir(dir, got, sizeof(got), true) || strcmp(got, id))
			continue;
		r = node_of(dir, de->d_name, devroot, node, sizeof(node), err);
		if (r)
			break;
		if (found++) {
			bj_seterr(err, "two devices have identity %s: %s and %s; not guessing which (detach one, or give it another identity)",
				  id, first, node);
			r = -EEXIST;
			break;
		}
		snprintf(first, sizeof(first), "%s", node);
	}
	closedir(d);
	if (r)
		return r;
	if (!found) {
		bj_seterr(err, "no device with identity %s is present", id);
		return -ENOENT;
	}
	if ((size_t)snprintf(path, len, "%s", first) >= len) {
		bj_seterr(err, "%s: path too long", first);
		return -ENAMETOOLONG;
	}
	return 0;
}

int bj_devid_find(const char *id, char *path, size_t len, char *err)
{
	return bj_devid_find_at("/sys", "/dev", id, path, len, err);
}
