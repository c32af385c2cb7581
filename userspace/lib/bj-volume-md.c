// SPDX-License-Identifier: GPL-2.0
/*
 * Volumes with a metadata device: creation and the volume record (see
 * bj-volume-md.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bj-devid.h"
#include "bj-dm.h"
#include "bj-job.h"
#include "bj-volume-md.h"

_Static_assert(BJ_MD_UUID_LEN == BJ_DM_ID_LEN, "a volume's DM UUID is its metadata uuid");

/* The identity of the device "major:minor" @dev. */
static int id_of(const char *dev, char *id, char *err)
{
	unsigned int ma, mi;

	if (sscanf(dev, "%u:%u", &ma, &mi) != 2) {
		bj_seterr(err, "'%s' is not a device number", dev);
		return -EINVAL;
	}
	return bj_devid_of(ma, mi, id, BJ_ID_LEN, err);
}

/* The record text for @name's live table, with @job to @dest. */
static int record_text(const char *name, enum bj_record_job job, const char *dest,
		       uint64_t dest_off, const char *opts, char *text, char *err)
{
	struct bj_record rec = { .job = job };
	char e[BJ_ERRLEN];
	struct bj_vtable vt;
	int r;

	r = bj_vtable_get(name, &vt, err);
	if (r)
		return r;
	if (!vt.metadata[0])
		return 1;
	r = id_of(vt.src, rec.home, e);
	if (r) {
		bj_seterr(err, "the volume record of %s: %s", name, e);
		return r;
	}
	rec.home_off = vt.src_off;
	if (job != BJ_RECORD_NO_JOB && dest) {
		r = id_of(dest, rec.dest, e);
		if (r && job == BJ_RECORD_MIRROR) {
			bj_seterr(err, "the mirror's destination: %s", e);
			return r;
		}
		if (r)
			rec.dest[0] = 0;	/* a backup to a device without identity */
		else
			rec.dest_off = dest_off;
	}
	if (job != BJ_RECORD_NO_JOB && opts)
		snprintf(rec.opts, sizeof(rec.opts), "%s", opts);
	r = bj_record_format(text, BJ_MD_RECORD_LEN, &rec, e);
	if (r == -ENAMETOOLONG && rec.opts[0]) {
		/* long identities: a resume then takes the default options */
		rec.opts[0] = 0;
		r = bj_record_format(text, BJ_MD_RECORD_LEN, &rec, e);
	}
	if (r)
		bj_seterr(err, "%s: %s", name, e);
	return r;
}

static int record_send(const char *name, const char *text, char *err)
{
	char msg[BJ_MD_RECORD_LEN + 32], e[BJ_ERRLEN];
	int r;

	snprintf(msg, sizeof(msg), "metadata record %s", text);
	r = bj_dm_message(name, msg, NULL, e);
	if (r)
		bj_seterr(err, "%s: writing the volume record (%s) to its metadata device: %s", name,
			  text, e);
	return r;
}

int bj_volume_record(const char *name, enum bj_record_job job, const char *dest,
		     uint64_t dest_off, char *err)
{
	return bj_volume_record_job(name, job, dest, dest_off, NULL, err);
}

int bj_volume_record_job(const char *name, enum bj_record_job job, const char *dest,
			 uint64_t dest_off, const char *opts, char *err)
{
	char text[BJ_MD_RECORD_LEN];
	int r;

	r = record_text(name, job, dest, dest_off, opts, text, err);
	if (r)
		return r > 0 ? 0 : r;
	return record_send(name, text, err);
}

int bj_volume_create(const char *name, const char *dev, uint64_t off, uint64_t sectors,
		     const char *mdev, const uint8_t *md_uuid, const char *committed, char *err)
{
	struct bj_vtable vt = { .metadata = "" };
	char params[BJ_TABLE_MAX], e[BJ_ERRLEN], text[BJ_MD_RECORD_LEN], uuid[64];
	int r;

	if (mdev)
		snprintf(vt.metadata, sizeof(vt.metadata), "%s", mdev);
	/* the one table builder: it adds "metadata <dev>" and counts it */
	r = bj_passthrough_params(params, sizeof(params), &vt, dev, off);
	if (r) {
		bj_seterr(err, "the table line of %s does not fit", name);
		return r;
	}
	/* the volume's identity: its metadata's uuid, the same after every activation */
	r = bj_dm_new_uuid(BJ_DM_UUID_VOLUME, md_uuid, uuid, sizeof(uuid), err);
	if (r)
		return r;
	r = bj_dm_create(name, uuid, 0, params, sectors, err);
	if (r || !vt.metadata[0])
		return r;
	/* A reopen where the record already says so commits nothing. */
	r = record_text(name, BJ_RECORD_NO_JOB, NULL, 0, NULL, text, e);
	if (!r && !(committed && !strcmp(text, committed)))
		r = record_send(name, text, e);
	if (r > 0)
		r = 0;
	if (r) {
		char e2[BJ_ERRLEN];

		if (bj_dm_remove(name, e2))
			bj_seterr(err, "%s; removing %s again failed too: %s", e, name, e2);
		else
			bj_seterr(err, "%s; %s removed again (its metadata stays valid)", e, name);
	}
	return r;
}
