// SPDX-License-Identifier: GPL-2.0
/*
 * Job layer of libblockjob: starting a job is loading a mirror or backup
 * table over the volume's passthrough table; ending it is loading a
 * passthrough table again, on the destination after a completed mirror
 * (the pivot) and on the source otherwise. Each switch is load, suspend
 * (which drains every write in flight), check, resume.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bj-backup.h"
#include "bj-job.h"
#include "bj-util.h"
#include "bj-volume-md.h"

/* Feature arguments that take no value (the kernel's feature_defs). */
static bool feature_is_flag(const char *word, size_t n)
{
	return (n == strlen("start_paused") && !strncmp(word, "start_paused", n)) ||
	       (n == strlen("resume") && !strncmp(word, "resume", n));
}

/*
 * Walk the feature arguments @f ("<#features> <feature>*", or ""): check
 * the count, and copy the value of "metadata" into @t. Values are skipped
 * as values, so a bitmap named "metadata" is not taken for the feature.
 */
static int parse_features(const char *f, struct bj_vtable *t)
{
	unsigned long long count, words = 0;
	const char *w, *key = NULL;
	size_t n, keylen = 0;
	char *end;

	if (!*f)
		return 0;
	if (*f < '0' || *f > '9')
		return -EPROTO;
	errno = 0;
	count = strtoull(f, &end, 10);
	if (errno || (*end && *end != ' '))
		return -EPROTO;
	for (w = end;; w += n) {
		w += strspn(w, " ");
		n = strcspn(w, " ");
		if (!n)
			break;
		words++;
		if (key) {
			/* @w is the value of @key */
			if (keylen == strlen("metadata") && !strncmp(key, "metadata", keylen)) {
				if (n > BJ_MD_DEV_MAX)
					return -EPROTO;
				memcpy(t->metadata, w, n);
				t->metadata[n] = 0;
			}
			key = NULL;
		} else if (!feature_is_flag(w, n)) {
			key = w;
			keylen = n;
		}
	}
	return words == count && !key ? 0 : -EPROTO;
}

int bj_vtable_parse(const char *params, struct bj_vtable *t)
{
	int n = 0;

	memset(t, 0, sizeof(*t));
	if (sscanf(params, "%15s", t->mode) != 1)
		return -EPROTO;
	if (!strcmp(t->mode, "passthrough")) {
		if (sscanf(params, "%*s %31s %" SCNu64 "%n", t->src, &t->src_off, &n) != 2)
			return -EPROTO;
	} else if (!strcmp(t->mode, "mirror") || !strcmp(t->mode, "backup")) {
		if (sscanf(params, "%*s %31s %" SCNu64 " %31s %" SCNu64 " %" SCNu64 "%n",
			   t->src, &t->src_off, t->dst, &t->dst_off, &t->granule, &n) != 5)
			return -EPROTO;
	} else {
		return -EPROTO;
	}
	if (params[n] && params[n] != ' ')
		return -EPROTO;
	while (params[n] == ' ')
		n++;
	if (strlen(params + n) >= sizeof(t->features))
		return -EPROTO;
	snprintf(t->features, sizeof(t->features), "%s", params + n);
	return parse_features(t->features, t);
}

int bj_vtable_get(const char *name, struct bj_vtable *t, char *err)
{
	struct bj_table tab;
	int r;

	memset(t, 0, sizeof(*t));
	r = bj_dm_table(name, &tab, err);
	if (r)
		return r;
	if (strcmp(tab.type, BJ_TARGET)) {
		snprintf(err, BJ_ERRLEN, "%s is a %s device, not a blockjob volume; make one with 'blockjob create'",
			 name, tab.type);
		bj_dm_table_free(&tab);
		return -ENOTTY;
	}
	r = bj_vtable_parse(tab.params, t);
	t->sectors = tab.len;
	if (r)
		snprintf(err, BJ_ERRLEN, "cannot parse the table of %s: \"%s\"", name, tab.params);
	bj_dm_table_free(&tab);
	return r;
}

int bj_table_params(char *buf, size_t len, const char *head, const char *features,
		    const struct bj_vtable *vt)
{
	unsigned int count = 0;
	const char *w;
	size_t n, l;
	int c;

	for (w = features ? features : "";; w += n) {
		w += strspn(w, " ");
		n = strcspn(w, " ");
		if (!n)
			break;
		count++;
	}
	if (vt->metadata[0])
		count += 2;
	c = snprintf(buf, len, "%s", head);
	if (count && c >= 0 && (size_t)c < len)
		c += snprintf(buf + c, len - c, " %u", count);
	/* the words one space apart, then the volume's own */
	for (w = features ? features : ""; c >= 0 && (size_t)c < len; w += n) {
		w += strspn(w, " ");
		n = strcspn(w, " ");
		if (!n)
			break;
		c += snprintf(buf + c, len - c, " %.*s", (int)n, w);
	}
	if (vt->metadata[0] && c >= 0 && (size_t)c < len)
		c += snprintf(buf + c, len - c, " metadata %s", vt->metadata);
	l = c < 0 ? len : (size_t)c;
	return l >= len ? -ENAMETOOLONG : 0;
}

int bj_passthrough_params(char *buf, size_t len, const struct bj_vtable *vt, const char *dev,
			  uint64_t off)
{
	char head[96];

	snprintf(head, sizeof(head), "passthrough %s %" PRIu64, dev, off);
	return bj_table_params(buf, len, head, NULL, vt);
}

/*
 * Block every signal that can be blocked, keeping the old mask in @old:
 * around a table switch, so that nothing but SIGKILL stops it half-way
 * (bj_volume_recover() is for that). Delivered once the mask is restored.
 */
static void block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, old);
}

int bj_volume_switch(const char *name, const char *params,
		     int (*check)(const char *name, const struct bj_status *st, char *err),
		     char *err)
{
	char err2[BJ_ERRLEN];
	struct bj_status st;
	struct bj_table tab;
	sigset_t old;
	uint64_t sectors;
	int r;

	r = bj_dm_table(name, &tab, err);
	if (r)
		return r;
	sectors = tab.len;
	bj_dm_table_free(&tab);

	block_signals(&old);
	r = bj_dm_load(name, params, sectors, err);
	if (r)
		goto out;
	r = bj_dm_suspend(name, false, err);
	if (r)
		goto abort;
	if (check) {
		r = bj_dm_status(name, &st, err);
		if (!r)
			r = check(name, &st, err);
		if (r)
			goto abort;
	}
	r = bj_dm_resume(name, err);
	if (!r)
		goto out;
abort:
	/* Keep the old table: drop the new one and let I/O flow again. */
	bj_dm_clear(name, err2);
	bj_dm_resume(name, err2);
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

int bj_job_start(const char *name, const char *params, char *err)
{
	struct bj_vtable t;
	int r;

	r = bj_vtable_get(name, &t, err);
	if (r)
		return r;
	if (strcmp(t.mode, "passthrough")) {
		snprintf(err, BJ_ERRLEN, "a %s job is already on %s; cancel it or wait for it to end",
			 t.mode, name);
		return -EBUSY;
	}
	return bj_volume_switch(name, params, NULL, err);
}

/*
 * The job on @name, which must have concluded: 1 with its table in @t and
 * status in @st; 0 on a volume in passthrough mode; -EBUSY (why in @err)
 * while the job runs.
 */
static int concluded_job(const char *name, struct bj_vtable *t, struct bj_status *st, char *err)
{
	int r;

	r = bj_vtable_get(name, t, err);
	if (r)
		return r;
	if (!strcmp(t->mode, "passthrough"))
		return 0;
	r = bj_dm_status(name, st, err);
	if (r)
		return r;
	if (strcmp(st->state, "concluded")) {
		snprintf(err, BJ_ERRLEN, "the %s job on %s is %s; cancel it first ('blockjob cancel %s')",
			 t->mode, name, st->state, name);
		return -EBUSY;
	}
	return 1;
}

int bj_job_finish(const char *name, char *err)
{
	char params[BJ_TABLE_MAX];
	struct bj_status st;
	struct bj_vtable t;
	bool pivot;
	int r;

	r = concluded_job(name, &t, &st, err);
	if (r <= 0)
		return r;
	pivot = !strcmp(t.mode, "mirror") && !strcmp(st.result, "completed");
	r = bj_passthrough_params(params, sizeof(params), &t, pivot ? t.dst : t.src,
				  pivot ? t.dst_off : t.src_off);
	if (r) {
		snprintf(err, BJ_ERRLEN, "the passthrough table of %s would be longer than %d bytes",
			 name, BJ_TABLE_MAX - 1);
		return r;
	}
	/* Point-in-time views of a backup end with it; they hold the volume open. */
	r = bj_view_remove_all(name, err);
	if (r < 0)
		return r;
	r = bj_volume_switch(name, params, NULL, err);
	if (r)
		return r;
	/* where the volume lives now, no job (clears PIVOTED after a pivot) */
	return bj_volume_record(name, BJ_RECORD_NO_JOB, NULL, 0, err);
}

int bj_job_dismiss(const char *name, struct bj_status *stp, char *err)
{
	struct bj_status st;
	struct bj_vtable t;
	int r;

	r = concluded_job(name, &t, &st, err);
	if (r <= 0)
		return r;
	if (!strcmp(t.mode, "mirror") && !strcmp(st.result, "completed")) {
		snprintf(err, BJ_ERRLEN,
			 "the mirror on %s completed: 'blockjob complete %s' switches it to the destination",
			 name, name);
		return -EBUSY;
	}
	r = bj_job_finish(name, err);
	if (r)
		return r;
	if (stp)
		*stp = st;
	return 1;
}

int bj_volume_check_left(const char *name, char *err)
{
	bool suspended, inactive;
	int r;

	r = bj_dm_state(name, &suspended, &inactive, err);
	if (r)
		return r;
	if (!suspended && !inactive)
		return 0;
	snprintf(err, BJ_ERRLEN,
		 "%s %s (a blockjob command was interrupted, or someone else is reloading it); 'blockjob recover %s' brings it back",
		 name, !inactive ? "is suspended" :
		 suspended ? "is suspended and has a table loaded but not active" :
		 "has a table loaded but not active", name);
	return -EBUSY;
}

/*
 * Is the inactive table of @name the pivot of its live mirror, which the
 * suspend concluded completed (so resuming it is the pivot, as
 * 'blockjob complete' would have done)?
 */
static bool pivot_left(const char *name, char *err)
{
	char want[BJ_TABLE_MAX];
	struct bj_status st;
	struct bj_vtable t;
	struct bj_table tab;
	bool pivot;

	if (bj_vtable_get(name, &t, err) || strcmp(t.mode, "mirror") ||
	    bj_dm_status(name, &st, err) || strcmp(st.state, "concluded") ||
	    strcmp(st.result, "completed"))
		return false;
	if (bj_dm_inactive_table(name, &tab, err))
		return false;
	/* the pivot's table carries the volume's metadata device as the mirror's does */
	pivot = !bj_passthrough_params(want, sizeof(want), &t, t.dst, t.dst_off) &&
		!strcmp(tab.type, BJ_TARGET) && tab.len == t.sectors && !strcmp(tab.params, want);
	bj_dm_table_free(&tab);
	return pivot;
}

int bj_volume_recover(const char *name, const char **what, char *err)
{
	char err2[BJ_ERRLEN];
	bool suspended, inactive;
	struct bj_vtable t;
	sigset_t old;
	int r;

	r = bj_dm_state(name, &suspended, &inactive, err);
	if (r)
		return r;
	*what = "nothing to recover";
	if (!suspended && !inactive)
		return 0;
	block_signals(&old);
	if (inactive && suspended && pivot_left(name, err2)) {
		r = bj_dm_resume(name, err);
		*what = "finished the pivot: the volume is on the mirror's destination";
		/* its new home in the volume record (clears PIVOTED) */
		if (!r)
			r = bj_volume_record(name, BJ_RECORD_NO_JOB, NULL, 0, err);
		goto out;
	}
	if (inactive) {
		r = bj_dm_clear(name, err);
		if (r)
			goto out;
		*what = "dropped the table that was loaded but not active";
	}
	if (suspended) {
		r = bj_dm_resume(name, err);
		*what = inactive ? "dropped the table that was loaded but not active and resumed the volume"
				 : "resumed the volume";
	}
	/* a job start undone: the volume record says again that no job runs */
	if (!r && !bj_vtable_get(name, &t, err2) && !strcmp(t.mode, "passthrough"))
		r = bj_volume_record(name, BJ_RECORD_NO_JOB, NULL, 0, err);
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

int bj_job_check_target(const char *name, const struct bj_vtable *vt, const char *target,
			unsigned int *tmaj, unsigned int *tmin, char *err)
{
	unsigned int smaj, smin, vmaj, vmin;
	char a[32], b[32];
	uint64_t tbytes;
	int r;

	r = bj_blockdev_info(target, &tbytes, tmaj, tmin, err);
	if (r)
		return r;
	if (sscanf(vt->src, "%u:%u", &smaj, &smin) != 2 || bj_dm_devnum(name, &vmaj, &vmin, err)) {
		snprintf(err, BJ_ERRLEN, "cannot read the devices of %s", name);
		return -EPROTO;
	}
	if ((smaj == *tmaj && smin == *tmin) || (vmaj == *tmaj && vmin == *tmin)) {
		snprintf(err, BJ_ERRLEN, "%s is %s itself or the device it uses; give another TARGET",
			 target, name);
		return -EINVAL;
	}
	if (tbytes < vt->sectors * 512) {
		snprintf(err, BJ_ERRLEN, "%s (%s) is smaller than %s (%s); give a TARGET at least as large",
			 target, bj_human_size(tbytes, a, sizeof(a)), name,
			 bj_human_size(vt->sectors * 512, b, sizeof(b)));
		return -ENOSPC;
	}
	if (bj_blockdev_in_use(*tmaj, *tmin)) {
		snprintf(err, BJ_ERRLEN,
			 "%s is in use (mounted, open exclusively or held by another device); free it first",
			 target);
		return -EBUSY;
	}
	return 0;
}
