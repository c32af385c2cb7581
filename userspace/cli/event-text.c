// SPDX-License-Identifier: GPL-2.0
/*
 * A job event as one readable line (blockjob events without --json).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <blockjob/blockjob.h>

#include "event-text.h"

void bj_event_print_text(FILE *f, const struct bj_event *e, const char *action)
{
	char when[32], a[32], b[32];
	time_t t = e->ts.tv_sec;
	struct tm tm;

	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	else
		snprintf(when, sizeof(when), "%lld", (long long)t);
	fprintf(f, "%s.%06ld %s %s: %s %s", when, (long)e->ts.tv_usec, e->device,
		bj_event_name(e->event), bj_event_type_name(e->type), bj_event_state_name(e->state));
	switch (e->event) {
	case DM_BLOCKJOB_EVENT_STATUS_CHANGE:
		break;
	case DM_BLOCKJOB_EVENT_ERROR:
		fprintf(f, ", %s error", bj_event_operation(e));
		if (e->error_msg[0])
			fprintf(f, " (%s)", e->error_msg);
		fprintf(f, ", action %s", action ? action : bj_event_action(e, NULL));
		break;
	default:
		fprintf(f, ", %s of %s (%.1f%%)", bj_human_size(e->offset, a, sizeof(a)),
			bj_human_size(e->len, b, sizeof(b)),
			e->len ? 100.0 * (double)e->offset / (double)e->len : 100.0);
		if (e->speed)
			fprintf(f, ", speed limit %s/s", bj_human_size(e->speed, a, sizeof(a)));
		break;
	}
	if (e->error)
		fprintf(f, ": %s", strerror(-e->error));
	fputc('\n', f);
}
