// SPDX-License-Identifier: GPL-2.0
/*
 * Backup helpers of libblockjob (see bj-backup.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bj-backup.h"
#include "bj-md-format.h"

bool bj_bitmap_name_valid(const char *name)
{
	/* One rule for bitmap names, the kernel's bj_valid_name(): the format's. */
	return bj_md_name_valid(name, BJ_MD_NAME_LEN);
}

int bj_view_create(const char *view, const char *volume, char *err)
{
	char params[64], uuid[64], e[BJ_ERRLEN];
	unsigned int major, minor;
	struct bj_table t;
	int r;

	if (bj_dm_exists(view)) {
		snprintf(err, BJ_ERRLEN, "a device named %s exists already; pick another view name",
			 view);
		return -EEXIST;
	}
	r = bj_dm_devnum(volume, &major, &minor, err);
	if (r)
		return r;
	r = bj_dm_new_uuid(BJ_DM_UUID_VIEW, NULL, uuid, sizeof(uuid), err);
	if (r)
		return r;
	r = bj_dm_table(volume, &t, err);
	if (r)
		return r;
	snprintf(params, sizeof(params), "view %u:%u", major, minor);
	r = bj_dm_create(view, uuid, BJ_DM_READ_ONLY | BJ_DM_PRIVATE, params, t.len, e);
	if (r == -EPERM || r == -ENOMEM)
		snprintf(err, BJ_ERRLEN, "%s", e);
	else if (r)
		snprintf(err, BJ_ERRLEN, "cannot create the view %s of %s: %s (the kernel log says why)",
			 view, volume, strerror(-r));
	bj_dm_table_free(&t);
	return r;
}

int bj_view_remove_all(const char *volume, char *err)
{
	char (*names)[BJ_DM_NAME_MAX + 1], want[64];
	unsigned int major, minor;
	int r, removed = 0;
	size_t n, i;

	r = bj_dm_devnum(volume, &major, &minor, err);
	if (r)
		return r;
	snprintf(want, sizeof(want), "view %u:%u", major, minor);
	r = bj_dm_list(&names, &n, err);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		struct bj_table t;

		if (bj_dm_table(names[i], &t, NULL))
			continue;
		if (!strcmp(t.type, BJ_TARGET) && !strcmp(t.params, want)) {
			int e = bj_dm_remove(names[i], err);

			if (e)
				r = e;
			else
				removed++;
		}
		bj_dm_table_free(&t);
	}
	free(names);
	return r ? r : removed;
}

int bj_parse_bitmap_line(const char *line, struct bj_bitmap_info *b)
{
	char state[16];
	const char *w;
	size_t n;
	int npos = 0, pos = 0;

	memset(b, 0, sizeof(*b));
	/* each word whole: the name and the state end at a space or the end */
	if (sscanf(line, "%63s%n %" SCNu64 " %" SCNu64 " %15s%n", b->name, &npos,
		   &b->granularity, &b->dirty, state, &pos) != 4 || line[npos] != ' ' ||
	    (line[pos] && line[pos] != ' '))
		return -EPROTO;
	if (!strcmp(state, "enabled"))
		b->enabled = true;
	else if (strcmp(state, "disabled"))
		return -EPROTO;
	for (w = line + pos;; w += n) {
		w += strspn(w, " ");
		n = strcspn(w, " ");
		if (!n)
			break;
		if (n == 4 && !strncmp(w, "busy", n))
			b->busy = true;
		else if (n == 10 && !strncmp(w, "persistent", n))
			b->persistent = true;
	}
	return 0;
}

int bj_bitmap_list(const char *volume, struct bj_bitmap_info **list, int *n, char *err)
{
	struct bj_bitmap_info *l = NULL, *tmp;
	char *reply, *line, *save = NULL;
	int r, cnt = 0;

	*list = NULL;
	*n = 0;
	r = bj_dm_message(volume, "bitmap list", &reply, err);
	if (r)
		return r;
	for (line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		tmp = realloc(l, (cnt + 1) * sizeof(*l));
		if (!tmp) {
			r = -ENOMEM;
			break;
		}
		l = tmp;
		if (bj_parse_bitmap_line(line, &l[cnt])) {
			snprintf(err, BJ_ERRLEN, "cannot parse the bitmap list of %s: \"%s\"",
				 volume, line);
			r = -EPROTO;
			break;
		}
		cnt++;
	}
	free(reply);
	if (r) {
		free(l);
		return r;
	}
	*list = l;
	*n = cnt;
	return 0;
}

int bj_bitmap_find(const char *volume, const char *name, struct bj_bitmap_info *info,
		   char *err)
{
	struct bj_bitmap_info *l;
	int n, i, r;

	r = bj_bitmap_list(volume, &l, &n, err);
	if (r)
		return r;
	r = -ENOENT;
	for (i = 0; i < n; i++) {
		if (!strcmp(l[i].name, name)) {
			*info = l[i];
			r = 0;
		}
	}
	free(l);
	if (r)
		snprintf(err, BJ_ERRLEN, "%s has no dirty bitmap named %s; see 'blockjob bitmap list %s'",
			 volume, name, volume);
	return r;
}

int bj_bitmap_dump(const char *volume, const char *name, struct bj_range **ranges, int *n,
		   char *err)
{
	struct bj_range *l = NULL, *tmp;
	char msg[128], *reply, *line, *save = NULL;
	int r, cnt = 0;

	*ranges = NULL;
	*n = 0;
	snprintf(msg, sizeof(msg), "bitmap dump %s", name);
	r = bj_dm_message(volume, msg, &reply, err);
	if (r)
		return r;
	for (line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		tmp = realloc(l, (cnt + 1) * sizeof(*l));
		if (!tmp) {
			r = -ENOMEM;
			break;
		}
		l = tmp;
		if (sscanf(line, "%" SCNu64 " %" SCNu64, &l[cnt].start, &l[cnt].len) != 2) {
			snprintf(err, BJ_ERRLEN, "cannot parse the dump of %s: \"%s\"", name, line);
			r = -EPROTO;
			break;
		}
		cnt++;
	}
	free(reply);
	if (r) {
		free(l);
		return r;
	}
	*ranges = l;
	*n = cnt;
	return 0;
}
