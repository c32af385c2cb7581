// SPDX-License-Identifier: GPL-2.0
/*
 * The status of a volume's job as a JSON object (see bj-status-json.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bj-json.h"
#include "bj-status-json.h"

/* QEMU's job "type" for a mode. */
static const char *job_type(const struct bj_status *s)
{
	if (!strcmp(s->mode, "passthrough"))
		return "none";
	return s->mode;
}

const char *bj_status_error(const struct bj_status *s, char *buf, size_t len)
{
	const char *colon = strrchr(s->last_error, ':');
	int e;

	if (strcmp(s->result, "failed"))
		return NULL;
	/* last error "<where>:<-errno>" */
	if (colon && sscanf(colon + 1, "%d", &e) == 1 && e < 0)
		snprintf(buf, len, "%s", strerror(-e));
	else
		snprintf(buf, len, "the job failed");
	return buf;
}

static struct json_object *memory_json(const struct bj_memory *m)
{
	struct json_object *o = json_object_new_object();

	if (o && bj_json_add_u64(o, "state", m->state) && bj_json_add_u64(o, "copies", m->copies) &&
	    bj_json_add_u64(o, "bitmaps", m->bitmaps))
		return o;
	json_object_put(o);
	return NULL;
}

struct json_object *bj_status_json(const char *name, const struct bj_status *s,
				   const struct bj_memory *m, const char *metadata)
{
	bool paused = !strcmp(s->state, "paused") || !strcmp(s->state, "standby");
	bool ready = !strcmp(s->state, "ready") || !strcmp(s->state, "standby");
	bool busy = !strcmp(s->state, "running") || !strcmp(s->state, "ready");
	struct json_object *o = json_object_new_object(), *mem = NULL;
	const char *error;
	char ebuf[64];
	bool ok;

	if (!o)
		return NULL;
	error = bj_status_error(s, ebuf, sizeof(ebuf));
	ok = bj_json_add_str(o, "device", name) && bj_json_add_str(o, "type", job_type(s)) &&
	     bj_json_add_str(o, "status", s->state) && bj_json_add_u64(o, "len", s->len) &&
	     bj_json_add_u64(o, "offset", s->done) && bj_json_add_u64(o, "speed", s->speed) &&
	     bj_json_add_bool(o, "ready", ready) && bj_json_add_bool(o, "paused", paused) &&
	     bj_json_add_bool(o, "busy", busy) &&
	     bj_json_add_str(o, "io-status",
			     strcmp(s->last_error, "-") && paused ? "failed" : "ok") &&
	     bj_json_add_bool(o, "auto-finalize", true) &&
	     bj_json_add_bool(o, "auto-dismiss", false) &&
	     (!error || bj_json_add_str(o, "error", error)) &&
	     bj_json_add_str(o, "mode", s->mode) && bj_json_add_str(o, "result", s->result) &&
	     bj_json_add_u64(o, "dirty-regions", s->dirty) &&
	     bj_json_add_u64(o, "errors", s->errors) &&
	     bj_json_add_str(o, "last-error", s->last_error) &&
	     bj_json_add_u64(o, "bitmaps", s->nr_bitmaps) &&
	     bj_json_add_u64(o, "size", s->sectors * 512) && bj_json_add_str(o, "extra", s->extra);
	if (ok && m) {
		mem = memory_json(m);
		ok = mem && bj_json_add(o, "memory", mem);
	} else if (ok) {
		ok = bj_json_add(o, "memory", NULL);
	}
	if (ok)
		ok = metadata && metadata[0] ? bj_json_add_str(o, "metadata", metadata) :
					       bj_json_add(o, "metadata", NULL);
	if (ok)
		return o;
	json_object_put(o);
	return NULL;
}
