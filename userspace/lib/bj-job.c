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
#include <string.h>

#include "bj-backup.h"
#include "bj-job.h"
#include "bj-util.h"

int bj_vtable_get(const char *name, struct bj_vtable *t, char *err)
{
	struct bj_table tab;
	int n = 0, r;

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
	t->sectors = tab.len;
	if (sscanf(tab.params, "%15s", t->mode) != 1)
		goto bad;
	if (!strcmp(t->mode, "passthrough")) {
		if (sscanf(tab.params, "%*s %31s %" SCNu64 "%n", t->src, &t->src_off, &n) != 2)
			goto bad;
	} else {
		if (sscanf(tab.params, "%*s %31s %" SCNu64 " %31s %" SCNu64 " %" SCNu64 "%n",
			   t->src, &t->src_off, t->dst, &t->dst_off, &t->granule, &n) != 5)
			goto bad;
	}
	while (tab.params[n] == ' ')
		n++;
	snprintf(t->features, sizeof(t->features), "%s", tab.params + n);
	bj_dm_table_free(&tab);
	return 0;
bad:
	snprintf(err, BJ_ERRLEN, "cannot parse the table of %s: \"%s\"", name, tab.params);
	bj_dm_table_free(&tab);
	return -EPROTO;
}

void bj_passthrough_params(char *buf, size_t len, const char *dev, uint64_t off)
{
	snprintf(buf, len, "passthrough %s %" PRIu64, dev, off);
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
	char params[128];
	struct bj_status st;
	struct bj_vtable t;
	bool pivot;
	int r;

	r = concluded_job(name, &t, &st, err);
	if (r <= 0)
		return r;
	/* Point-in-time views of a backup end with it; they hold the volume open. */
	r = bj_view_remove_all(name, err);
	if (r < 0)
		return r;
	pivot = !strcmp(t.mode, "mirror") && !strcmp(st.result, "completed");
	bj_passthrough_params(params, sizeof(params), pivot ? t.dst : t.src,
			      pivot ? t.dst_off : t.src_off);
	return bj_volume_switch(name, params, NULL, err);
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
	char want[128], have[160];
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
	bj_passthrough_params(want, sizeof(want), t.dst, t.dst_off);
	snprintf(have, sizeof(have), "%s", tab.params);
	pivot = !strcmp(tab.type, BJ_TARGET) && tab.len == t.sectors && !strcmp(have, want);
	bj_dm_table_free(&tab);
	return pivot;
}

int bj_volume_recover(const char *name, const char **what, char *err)
{
	char err2[BJ_ERRLEN];
	bool suspended, inactive;
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
