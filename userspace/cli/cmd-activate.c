// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob activate: bring a volume with a metadata device back after a
 * reboot or a crash, on the device that has every write (its volume
 * record, lib/bj-record.h), one named or all those of /etc/blockjob/volumes;
 * and what 'create --metadata' shares with it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blockjob/blockjob.h>

#include "commands.h"

void usage_activate(FILE *f)
{
	fprintf(f, "Usage: blockjob activate NAME --metadata MDEV\n"
		   "       blockjob activate --all\n\n"
		   "Bring volume NAME back after a reboot or a crash, from its metadata device\n"
		   "MDEV (made by 'blockjob create NAME DEVICE --metadata MDEV'): MDEV's volume\n"
		   "record says which device NAME lives on (the mirror's destination once a\n"
		   "mirror pivoted); that device is found by its stable identity, wherever it\n"
		   "is now, and NAME is created on it in passthrough mode. A mirror the\n"
		   "reboot interrupted resumes where it stood (only the regions its map on\n"
		   "MDEV holds are copied again); another job, or a mirror that cannot\n"
		   "resume, is said and not restarted. Nothing is created if the device is\n"
		   "not present. NAME already active on MDEV: said, exit 0.\n\n"
		   "  --all   every volume of %s (NAME METADATA lines,\n"
		   "          METADATA an identity or an absolute path), one line per volume\n"
		   "          that fails; exit 1 if any failed. No file: nothing to do.\n",
		   BJ_VOLUMES_FILE);
}

const char *bj_volumes_path(void)
{
	const char *p = getenv("BLOCKJOB_VOLUMES");

	return p && *p ? p : BJ_VOLUMES_FILE;
}

int bj_cli_identity(const char *path, unsigned int major, unsigned int minor, char *id)
{
	char err[BJ_ERRLEN];

	if (!bj_devid_of(major, minor, id, BJ_ID_LEN, err))
		return 0;
	bj_err("%s: %s: give it a DM UUID or use a device that has a WWID or serial; a volume with a metadata device must be found again after a reboot",
	       path, err);
	return 1;
}

int bj_cli_add_volume(const char *name, const char *mdev_id)
{
	char err[BJ_ERRLEN];

	if (!bj_volumes_add(bj_volumes_path(), name, mdev_id, err))
		return 0;
	bj_err("%s; %s is active, but 'blockjob activate --all' will not bring it back", err, name);
	return 1;
}

/*
 * The home recorded in the loaded metadata @md of @mdev for volume @name
 * (its name already checked): 0 with *@rec filled and *@id, *@off its
 * home; -EINVAL with @err saying why not.
 */
static int home_of(const char *name, const char *mdev, const struct bj_md *md,
		   struct bj_record *rec, const char **id, uint64_t *off, char *err)
{
	char e[BJ_ERRLEN];

	if (!md->record[0]) {
		bj_seterr(err, "%s records no home device for %s: create it with 'blockjob create %s DEV --metadata %s'",
			  mdev, name, name, mdev);
		return -EINVAL;
	}
	if (bj_record_parse(md->record, rec, e) ||
	    bj_record_home(rec, md->flags & BJ_MD_SB_PIVOTED, id, off, e)) {
		bj_seterr(err, "%s: %s", mdev, e);
		return -EINVAL;
	}
	return 0;
}

/*
 * Where volume @name lives according to the loaded metadata @md of @mdev:
 * 0 with *@rec filled and *@id, *@off its home; 1 after an error line.
 */
static int recorded_home(const char *name, const char *mdev, const struct bj_md *md,
			 struct bj_record *rec, const char **id, uint64_t *off)
{
	char err[BJ_ERRLEN];

	if (strcmp(md->volume_name, name)) {
		bj_err("%s holds the metadata of volume %s, not %s", mdev, md->volume_name, name);
		return 1;
	}
	if (md->nr_problems) {
		bj_err("%s: the metadata of volume %s is inconsistent (%s%s); 'blockjob metadata check %s' for details",
		       mdev, name, md->problems[0], md->nr_problems > 1 ? ", ..." : "", mdev);
		return 1;
	}
	if (home_of(name, mdev, md, rec, id, off, err)) {
		bj_err("%s", err);
		return 1;
	}
	return 0;
}

int bj_cli_recorded_home(const char *name, const char *mdev, char *id, uint64_t *off)
{
	char err[BJ_ERRLEN];
	struct bj_record rec;
	struct bj_md md;
	const char *h;
	int r = 0;

	if (bj_md_read(mdev, &md, err))
		return 0;
	if (!strcmp(md.volume_name, name) && !home_of(name, mdev, &md, &rec, &h, off, err)) {
		snprintf(id, BJ_ID_LEN, "%s", h);
		r = 1;
	}
	bj_md_free(&md);
	return r;
}

/* NAME exists: 0 (said) if it is the blockjob volume on @mdev, else 1 after an error line. */
static int already_active(const char *name, const char *mdev)
{
	unsigned int ma, mi, tma, tmi;
	char err[BJ_ERRLEN];
	struct bj_vtable vt;
	uint64_t bytes;

	if (!bj_vtable_get(name, &vt, err) && vt.metadata[0] &&
	    !bj_blockdev_info(mdev, &bytes, &ma, &mi, err) &&
	    sscanf(vt.metadata, "%u:%u", &tma, &tmi) == 2 && tma == ma && tmi == mi) {
		printf("%s is already active\n", name);
		return 0;
	}
	bj_err("a device named %s exists already and is not volume %s on metadata device %s; remove it first",
	       name, name, mdev);
	return 1;
}

/* What a job in the record that did not pivot became: one line. */
static void interrupted_job(const char *name, const struct bj_record *rec, const char *home)
{
	if (rec->job == BJ_RECORD_MIRROR)
		printf("%s: the mirror to %s was interrupted; %s is on its source %s; start it again with 'blockjob mirror'\n",
		       name, rec->dest, name, home);
	else if (rec->job == BJ_RECORD_BACKUP)
		printf("%s: the backup%s%s was interrupted and ended as failed; its bitmaps keep every write since the last backup\n",
		       name, rec->dest[0] ? " to " : "", rec->dest);
}

/* The sync map an interrupted mirror left on the loaded metadata @md, or NULL. */
static const struct bj_md_bitmap *sync_map(const struct bj_md *md)
{
	unsigned int i;

	for (i = 0; i < md->nr_bitmaps; i++)
		if (md->bitmaps[i].sync && md->bitmaps[i].bits)
			return &md->bitmaps[i];
	return NULL;
}

/* Does the feature list @opts hold the words "@a @b"? */
static bool has_feature(const char *opts, const char *a, const char *b)
{
	char pat[64];
	size_t n;
	const char *p;

	n = (size_t)snprintf(pat, sizeof(pat), "%s %s", a, b);
	for (p = strstr(opts, pat); p; p = strstr(p + 1, pat))
		if ((p == opts || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

/*
 * The record names a job that did not pivot and @md holds its sync map:
 * create @name directly with the job's table and "resume" (on @dev at @off,
 * the home), so that it copies only the regions (a mirror) or chunks (a
 * backup) the map holds. 0 done (said), 1 after an error line, -1 when it
 * cannot be resumed (the kernel refused its table too): the caller
 * activates the volume on its home and says so; -2 the same, said already
 * (a backup whose map is empty completed).
 * Not resumed: a "sync top" mirror (its map is filled after its start),
 * a backup without a map (sync none or top, or ended unfinished) or to a
 * destination without identity.
 */
static int resume_job(const char *name, const char *mdevnum, const struct bj_md *md,
		      const struct bj_record *rec, const char *dev, uint64_t off)
{
	const struct bj_md_bitmap *map = sync_map(md);
	bool backup = rec->job == BJ_RECORD_BACKUP;
	const char *what = backup ? "backup" : "mirror";
	char err[BJ_ERRLEN], dpath[PATH_MAX], head[160], feat[BJ_ID_LEN + 16];
	char params[BJ_TABLE_MAX], a[32], b[32], uuid[64];
	struct bj_vtable vt = { .metadata = "" };
	unsigned int ma, mi;
	uint64_t bytes, todo = 0, i;
	const char *w;
	size_t n, f = 0;

	if (!map || (!backup && has_feature(rec->opts, "sync", "top")))
		return -1;
	for (i = 0; i < map->nr_bits; i++)
		todo += map->bits[i / 64] >> (i % 64) & 1;
	if (backup && !todo) {
		printf("%s: the backup to %s completed before the crash\n", name,
		       rec->dest[0] ? rec->dest : "a device without identity");
		return -2;
	}
	if (backup && !rec->dest[0]) {
		printf("%s: the backup cannot be resumed: its destination has no identity\n", name);
		return -1;
	}
	if (bj_devid_find(rec->dest, dpath, sizeof(dpath), err) ||
	    bj_blockdev_info(dpath, &bytes, &ma, &mi, err)) {
		printf("%s: the %s to %s cannot be resumed: %s\n", name, what, rec->dest, err);
		return -1;
	}
	if (bytes / 512 < rec->dest_off || bytes / 512 - rec->dest_off < md->data_sectors) {
		printf("%s: the %s to %s cannot be resumed: %s has %" PRIu64 " sectors, the volume needs %" PRIu64 " from sector %" PRIu64 "\n",
		       name, what, rec->dest, dpath, bytes / 512, md->data_sectors, rec->dest_off);
		return -1;
	}
	/* its own features, as it was started, without start_paused; then resume */
	for (w = rec->opts;; w += n) {
		w += strspn(w, " ");
		n = strcspn(w, " ");
		if (!n)
			break;
		if (n == strlen("start_paused") && !strncmp(w, "start_paused", n))
			continue;
		f += (size_t)snprintf(feat + f, sizeof(feat) - f, "%.*s ", (int)n, w);
		if (f >= sizeof(feat))
			return -1;
	}
	snprintf(feat + f, sizeof(feat) - f, "resume");
	snprintf(vt.metadata, sizeof(vt.metadata), "%s", mdevnum);
	snprintf(head, sizeof(head), "%s %s %" PRIu64 " %u:%u %" PRIu64 " %" PRIu64, what, dev, off,
		 ma, mi, rec->dest_off, map->granule / 512);
	if (bj_table_params(params, sizeof(params), head, feat, &vt)) {
		bj_err("%s: the %s table would be longer than %d bytes", name, what,
		       BJ_TABLE_MAX - 1);
		return 1;
	}
	/* the volume's DM UUID, as bj_volume_create() gives it: its metadata's uuid */
	if (bj_dm_new_uuid(BJ_DM_UUID_VOLUME, md->uuid, uuid, sizeof(uuid), err)) {
		bj_err("%s: %s", name, err);
		return 1;
	}
	/* the kernel refused the job (say why): the volume comes back on its home */
	if (bj_dm_create(name, uuid, 0, params, md->data_sectors, err)) {
		printf("%s: the %s to %s cannot be resumed: %s\n", name, what, rec->dest, err);
		return -1;
	}
	todo *= map->granule;
	if (todo > md->data_sectors * 512)
		todo = md->data_sectors * 512;
	printf("%s: the %s to %s was interrupted; resumed: %s of %s left to copy\n", name, what,
	       rec->dest, bj_human_size(todo, a, sizeof(a)),
	       bj_human_size(md->data_sectors * 512, b, sizeof(b)));
	return 0;
}

int bj_activate(const char *name, const char *mdev, bool add_line)
{
	char err[BJ_ERRLEN], home[PATH_MAX], dev[32], mdevnum[32], mid[BJ_ID_LEN];
	unsigned int ma, mi, mma, mmi;
	uint64_t bytes, off;
	struct bj_record rec;
	struct bj_md md;
	const char *id;
	int r, ret = 1;

	if (bj_dm_exists(name))
		return already_active(name, mdev);
	if (bj_md_read(mdev, &md, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (recorded_home(name, mdev, &md, &rec, &id, &off))
		goto out;
	r = bj_devid_find(id, home, sizeof(home), err);
	if (r == -ENOENT) {
		bj_err("%s lives on %s (recorded on %s), which is not present: attach it and run 'blockjob activate %s --metadata %s' again",
		       name, id, mdev, name, mdev);
		goto out;
	}
	if (r || bj_blockdev_info(home, &bytes, &ma, &mi, err)) {
		bj_err("%s: %s", name, err);
		goto out;
	}
	if (bytes / 512 < off || bytes / 512 - off < md.data_sectors) {
		bj_err("%s: %s (%s) has %" PRIu64 " sectors; the volume needs %" PRIu64 " from sector %" PRIu64,
		       name, home, id, bytes / 512, md.data_sectors, off);
		goto out;
	}
	if (bj_blockdev_info(mdev, &bytes, &mma, &mmi, err)) {
		bj_err("%s", err);
		goto out;
	}
	snprintf(dev, sizeof(dev), "%u:%u", ma, mi);
	snprintf(mdevnum, sizeof(mdevnum), "%u:%u", mma, mmi);
	r = -1;
	if ((rec.job == BJ_RECORD_MIRROR || rec.job == BJ_RECORD_BACKUP) &&
	    !(md.flags & BJ_MD_SB_PIVOTED))
		r = resume_job(name, mdevnum, &md, &rec, dev, off);
	if (r == 1)
		goto out;
	if (r == 0)
		goto activated;
	/* the passthrough table with its metadata device, then the record: home, no job */
	if (bj_volume_create(name, dev, off, md.data_sectors, mdevnum, md.uuid,
			     md.flags & BJ_MD_SB_PIVOTED ? NULL : md.record, err)) {
		bj_err("%s", err);
		goto out;
	}
	if (!(md.flags & BJ_MD_SB_PIVOTED) && r == -1)
		interrupted_job(name, &rec, id);
activated:
	ret = 0;
	if (add_line) {
		if (!bj_devid_of(mma, mmi, mid, sizeof(mid), err))
			ret = bj_cli_add_volume(name, mid);
		else if (mdev[0] == '/')
			ret = bj_cli_add_volume(name, mdev);
	}
out:
	bj_md_free(&md);
	return ret;
}

/* Every volume of the volumes file. */
static int activate_all(void)
{
	const char *path = bj_volumes_path();
	struct bj_volumes_line *v;
	char err[BJ_ERRLEN], mdev[PATH_MAX];
	struct bj_lock lk;
	size_t n, i;
	int r, failed = 0;

	r = bj_volumes_read(path, &v, &n, err);
	if (r == -ENOENT)
		return 0;
	if (r) {
		bj_err("%s", err);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (v[i].problem[0]) {
			bj_err("%s:%u: %s; line skipped", path, v[i].line, v[i].problem);
			failed++;
			continue;
		}
		if (v[i].mdev[0] == '/') {
			snprintf(mdev, sizeof(mdev), "%s", v[i].mdev);
		} else if (bj_devid_find(v[i].mdev, mdev, sizeof(mdev), err)) {
			bj_err("%s: its metadata device: %s", v[i].name, err);
			failed++;
			continue;
		}
		if (bj_cli_lock(v[i].name, &lk, false)) {
			failed++;
			continue;
		}
		failed += bj_activate(v[i].name, mdev, false) != 0;
		bj_volume_unlock(&lk);
	}
	free(v);
	return failed ? 1 : 0;
}

int cmd_activate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "metadata", required_argument, NULL, 'm' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name, *mdev = NULL;
	struct bj_lock lk;
	bool all = false;
	int c, r;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c == 'm')
			mdev = optarg;
		else if (c == 'a')
			all = true;
		else
			return bj_option_error("activate", c, argv);
	}
	if (all) {
		if (mdev || argc - optind)
			return bj_usage_error("activate", "--all takes no NAME and no --metadata");
		return activate_all();
	}
	if (argc - optind != 1)
		return bj_usage_error("activate", "expected NAME --metadata MDEV, or --all");
	if (!mdev)
		return bj_usage_error("activate", "expected --metadata MDEV");
	r = bj_volume_arg("activate", argv[optind], &name);
	if (r)
		return r;
	if (bj_cli_lock(name, &lk, false))
		return 1;
	r = bj_activate(name, mdev, true);
	bj_volume_unlock(&lk);
	return r;
}
