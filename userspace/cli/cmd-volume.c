// SPDX-License-Identifier: GPL-2.0
/*
 * Volume commands: create, remove, status.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blockjob/blockjob.h>

#include "commands.h"

void usage_create(FILE *f)
{
	fprintf(f, "Usage: blockjob create NAME DEVICE [--metadata MDEV [--format]]\n\n"
		   "Create /dev/mapper/NAME over the whole of DEVICE in passthrough mode (no\n"
		   "job runs). Jobs, bitmaps and pivots then act on NAME without stopping I/O.\n"
		   "NAME: up to 127 bytes, no '/'; every command also takes /dev/mapper/NAME.\n\n"
		   "  --metadata MDEV  keep the volume's metadata (persistent bitmaps, where the\n"
		   "                   volume lives) on block device MDEV. An MDEV whose first\n"
		   "                   8 KiB are all zeroes is formatted for NAME; one holding\n"
		   "                   NAME's metadata (same name, same size) is opened as it\n"
		   "                   is; if its record says NAME lives on another device\n"
		   "                   (a mirror pivoted), it is refused: 'blockjob activate'\n"
		   "                   brings NAME back. Anything else is refused and not\n"
		   "                   written. It needs 8 KiB plus 16 KiB per started 1.97 GiB\n"
		   "                   of volume: about 8 MiB per TiB (an error says how much).\n"
		   "                   DEVICE and MDEV need a stable identity (a DM UUID, a\n"
		   "                   WWID, a serial, or a partition of such a disk); the\n"
		   "                   volume is added to " BJ_VOLUMES_FILE " for\n"
		   "                   'blockjob activate --all'.\n"
		   "  --format         format MDEV whatever it holds (its bitmaps are lost)\n\n"
		   "DEVICE may be an NBD export, nbd://HOST[:PORT]/EXPORT (e.g. where a volume\n"
		   "lives after a migration to another host): the kernel's NBD client is\n"
		   "connected to it (modprobe nbd) and NAME created over /dev/nbdN; 'blockjob\n"
		   "remove NAME' disconnects it. Not with --metadata (an NBD device has no\n"
		   "stable identity).\n");
}

/* create --metadata: MDEV (@mdev_path, @mdevnum) for volume @name over @device (@dev, @bytes). */
static int create_md(const char *name, const char *device, const char *dev, uint64_t bytes,
		     const char *mdev, unsigned int mmajor, unsigned int mminor, bool format)
{
	char err[BJ_ERRLEN], dev_id[BJ_ID_LEN], mdev_id[BJ_ID_LEN], home[BJ_ID_LEN], mdevnum[32];
	unsigned int major, minor;
	enum bj_md_prepared what;
	struct bj_lock lk;
	struct bj_md md;
	uint64_t off;
	int r, ret = 1;

	/* both must be found again after a reboot: refused before anything is written */
	if (sscanf(dev, "%u:%u", &major, &minor) != 2 ||
	    bj_cli_identity(device, major, minor, dev_id) ||
	    bj_cli_identity(mdev, mmajor, mminor, mdev_id))
		return 1;
	if (bj_cli_lock(name, &lk, false))
		return 1;
	/* NAME's metadata with a record: the volume lives where it says */
	if (!format && bj_cli_recorded_home(name, mdev, home, &off)) {
		if (strcmp(home, dev_id) || off)
			bj_err("%s lives on %s according to %s; 'blockjob activate %s --metadata %s' brings it back there",
			       name, home, mdev, name, mdev);
		else
			ret = bj_activate(name, mdev, true);
		goto out;
	}
	if (bj_md_prepare(mdev, name, bytes / 512, format, &what, err)) {
		bj_err("%s", err);
		goto out;
	}
	if (what != BJ_MD_OPENED)
		fprintf(stderr, "%s: formatted %s for volume %s\n", bj_progname, mdev, name);
	snprintf(mdevnum, sizeof(mdevnum), "%u:%u", mmajor, mminor);
	/* its uuid is the volume's DM UUID */
	if (bj_md_read(mdev, &md, err)) {
		bj_err("%s", err);
		goto out;
	}
	/* the table, then the record (home = DEVICE, no job) */
	r = bj_volume_create(name, dev, 0, bytes / 512, mdevnum, md.uuid, NULL, err);
	bj_md_free(&md);
	if (r) {
		bj_err("%s%s", err, r == -EBUSY ? " (is the device in use?)" : "");
		goto out;
	}
	ret = bj_cli_add_volume(name, mdev_id);
out:
	bj_volume_unlock(&lk);
	return ret;
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "metadata", required_argument, NULL, 'm' },
		{ "format", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	char err[BJ_ERRLEN], dev[32];
	const char *name, *device, *mdev = NULL;
	unsigned int major, minor, mmajor, mminor;
	uint64_t bytes, mbytes;
	bool format = false;
	int c, r;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c == 'm')
			mdev = optarg;
		else if (c == 'f')
			format = true;
		else
			return bj_option_error("create", c, argv);
	}
	if (argc - optind != 2)
		return bj_usage_error("create", "expected NAME DEVICE");
	if (format && !mdev)
		return bj_usage_error("create", "--format goes only with --metadata MDEV");
	r = bj_volume_arg("create", argv[optind], &name);
	if (r)
		return r;
	device = argv[optind + 1];
	if (bj_nbd_is_url(device)) {
		struct bj_nbd_url url;

		if (bj_nbd_parse_url(device, &url, err))
			return bj_usage_error("create", "%s", err);
		if (mdev)
			return bj_usage_error("create",
					      "--metadata needs a DEVICE with a stable identity; an NBD export has none");
	}
	if (bj_dm_exists(name)) {
		bj_err("a device named %s exists already; pick another NAME", name);
		return 1;
	}
	/* an NBD DEVICE: connected now, disconnected at exit unless NAME is created */
	if (bj_nbd_is_url(device) && bj_cli_nbd_target(name, &device, 512, 0, err)) {
		bj_err("%s", err);
		return 1;
	}
	r = bj_blockdev_info(device, &bytes, &major, &minor, err);
	if (r) {
		bj_err("%s", err);
		return 1;
	}
	if (bytes < 512 || bytes % 512) {
		bj_err("%s: size %" PRIu64 " is not a whole number of 512-byte sectors", device, bytes);
		return 1;
	}
	snprintf(dev, sizeof(dev), "%u:%u", major, minor);
	if (mdev) {
		r = bj_blockdev_info(mdev, &mbytes, &mmajor, &mminor, err);
		if (r) {
			bj_err("--metadata: %s", err);
			return 1;
		}
		if (mmajor == major && mminor == minor) {
			bj_err("--metadata %s is DEVICE %s itself; give a device of its own", mdev,
			       device);
			return 1;
		}
		return create_md(name, device, dev, bytes, mdev, mmajor, mminor, format);
	}
	r = bj_volume_create(name, dev, 0, bytes / 512, NULL, NULL, NULL, err);
	if (r) {
		bj_err("%s%s", err, r == -EBUSY ? " (is the device in use?)" : "");
		return 1;
	}
	bj_cli_nbd_target_keep();
	/* a volume on an NBD export: its keeper reconnects a dropped connection */
	bj_cli_nbd_target_started(name);
	return 0;
}

void usage_remove(FILE *f)
{
	fprintf(f, "Usage: blockjob remove NAME\n\n"
		   "Remove the volume NAME. A job still running on it is torn down; the\n"
		   "destination of an unfinished mirror is then not a usable copy. Its line in\n"
		   BJ_VOLUMES_FILE " goes too (its metadata device is not written).\n");
}

int cmd_remove(int argc, char **argv)
{
	struct bj_status st;
	char err[BJ_ERRLEN];
	struct bj_lock lk;
	const char *name;
	int r;

	r = bj_no_options("remove", argc, argv);
	if (r)
		return r;
	if (argc - optind != 1)
		return bj_usage_error("remove", "expected NAME");
	r = bj_volume_arg("remove", argv[optind], &name);
	if (r)
		return r;
	if (bj_dm_status(name, &st, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (bj_cli_lock(name, &lk, false))
		return 1;
	r = bj_dm_remove(name, err);
	if (!r)
		bj_cli_nbd_release(name);	/* the volume lived on an NBD export */
	bj_volume_unlock(&lk);
	if (r) {
		bj_err("%s (still open? close its users first)", err);
		return 1;
	}
	/* activate --all must not bring it back (no file or no line: fine) */
	if (bj_volumes_remove(bj_volumes_path(), name, err)) {
		bj_err("%s removed, but %s", name, err);
		return 1;
	}
	return 0;
}

void usage_status(FILE *f)
{
	fprintf(f, "Usage: blockjob status NAME [--json]\n\n"
		   "Show the job state of volume NAME. --json prints QEMU query-block-jobs\n"
		   "fields: device, type, status, len, offset, speed, ready, paused, busy,\n"
		   "io-status, auto-finalize, auto-dismiss, error (a failed job's), plus\n"
		   "dm-blockjob's own (mode, result, dirty-regions, errors,\n"
		   "last-error, bitmaps, size, extra, memory: the bytes the target holds\n"
		   "for the job's state, its copy buffers and the named bitmaps, or null if\n"
		   "the module does not say, and metadata: the volume's metadata device as\n"
		   "its table names it, or null if it has none).\n");
}

static void print_human(const char *name, const struct bj_status *s, const char *metadata)
{
	char a[32], b[32];

	printf("%s: %s", name, s->mode);
	if (!strcmp(s->mode, "passthrough")) {
		printf(", no job, %s", bj_human_size(s->sectors * 512, a, sizeof(a)));
	} else {
		printf(" %s", s->state);
		if (strcmp(s->result, "-"))
			printf(" (%s)", s->result);
		printf(", %s of %s (%.1f%%), %" PRIu64 " regions to copy",
		       bj_human_size(s->done, a, sizeof(a)), bj_human_size(s->len, b, sizeof(b)),
		       s->len ? 100.0 * (double)s->done / (double)s->len : 100.0, s->dirty);
		if (s->speed)
			printf(", speed limit %s/s", bj_human_size(s->speed, a, sizeof(a)));
		if (s->errors)
			printf(", %" PRIu64 " errors (last %s)", s->errors, s->last_error);
		if (s->extra[0])
			printf(" [%s]", s->extra);
	}
	if (s->nr_bitmaps)
		printf(", %u dirty bitmap%s", s->nr_bitmaps, s->nr_bitmaps > 1 ? "s" : "");
	if (metadata[0])
		printf(", metadata on %s", metadata);
	printf("\n");
}

/* Volume @name's metadata device as its table names it into @metadata (BJ_DEV_LEN; "" for none, and for a view). */
static int table_metadata(const char *name, const struct bj_status *st, char *metadata)
{
	char err[BJ_ERRLEN];
	struct bj_vtable vt;

	metadata[0] = 0;
	/* the table has it (status does not show it); a view has none */
	if (!strcmp(st->mode, "view"))
		return 0;
	if (bj_vtable_get(name, &vt, err)) {
		bj_err("%s", err);
		return 1;
	}
	snprintf(metadata, sizeof(vt.metadata), "%s", vt.metadata);
	return 0;
}

int bj_cli_status_json(const char *name, const struct bj_status *st, struct json_object **o)
{
	char err[BJ_ERRLEN], metadata[sizeof(((struct bj_vtable *)0)->metadata)];
	struct bj_memory mem;

	*o = NULL;
	if (table_metadata(name, st, metadata))
		return 1;
	/* NULL (printed as an error) if out of memory */
	*o = bj_status_json(name, st, bj_dm_memory(name, &mem, err) ? NULL : &mem, metadata);
	if (!*o) {
		bj_err("out of memory building the JSON output");
		return 1;
	}
	return 0;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	char err[BJ_ERRLEN], metadata[sizeof(((struct bj_vtable *)0)->metadata)];
	struct json_object *o;
	struct bj_status st;
	const char *name;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, ":j", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else
			return bj_option_error("status", c, argv);
	}
	if (argc - optind != 1)
		return bj_usage_error("status", "expected NAME");
	r = bj_volume_arg("status", argv[optind], &name);
	if (r)
		return r;
	if (bj_dm_status(name, &st, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (json)
		return bj_cli_status_json(name, &st, &o) ? 1 : bj_print_json(o, BJ_JSON_QEMU);
	if (table_metadata(name, &st, metadata))
		return 1;
	print_human(name, &st, metadata);
	return 0;
}
