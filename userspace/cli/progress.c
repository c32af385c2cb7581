// SPDX-License-Identifier: GPL-2.0
/*
 * Progress bar: "label [#########.........]  45.2%  115 MiB/256 MiB  12 MiB/s  ETA 0:12",
 * redrawn in place with a carriage return, sized to the terminal.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <blockjob/blockjob.h>

#include "progress.h"

#define BJ_PROGRESS_INTERVAL_NS	100000000LL	/* 10 redraws a second at most */

struct bj_progress {
	FILE *f;
	bool enabled;
	bool drawn;			/* a line is on screen */
	char label[64];
	uint64_t done, total;
	int64_t start_ns, last_ns;
	int64_t rate_ns;		/* time of the rate sample */
	uint64_t rate_done;		/* bytes at that sample */
	double rate;			/* bytes/s, smoothed */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int term_width(FILE *f)
{
	struct winsize ws;

	if (!ioctl(fileno(f), TIOCGWINSZ, &ws) && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

struct bj_progress *bj_progress_new_on(const char *label, FILE *f, bool enabled)
{
	struct bj_progress *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->f = f;
	p->enabled = enabled;
	snprintf(p->label, sizeof(p->label), "%s", label ? label : "");
	p->start_ns = p->rate_ns = now_ns();
	p->last_ns = 0;
	return p;
}

struct bj_progress *bj_progress_new(const char *label)
{
	const char *term = getenv("TERM");
	bool tty = isatty(STDERR_FILENO) && !(term && !strcmp(term, "dumb"));

	return bj_progress_new_on(label, stderr, tty);
}

static void draw(struct bj_progress *p)
{
	char line[512], fig[128], a[32], b[32], c[32];
	double frac = p->total ? (double)p->done / (double)p->total : 0;
	int width = term_width(p->f), bar, fill, n, i;

	if (frac > 1)
		frac = 1;
	n = snprintf(fig, sizeof(fig), " %5.1f%%  %s/%s", frac * 100,
		     bj_human_size(p->done, a, sizeof(a)), bj_human_size(p->total, b, sizeof(b)));
	if (p->rate > 0) {
		n += snprintf(fig + n, sizeof(fig) - n, "  %s/s", bj_human_size((uint64_t)p->rate, c, sizeof(c)));
		if (p->done < p->total) {
			uint64_t eta = (uint64_t)((double)(p->total - p->done) / p->rate);

			snprintf(fig + n, sizeof(fig) - n, "  ETA %" PRIu64 ":%02u",
				 eta / 60, (unsigned int)(eta % 60));
		}
	}
	bar = width - 1 - (int)strlen(p->label) - 3 - (int)strlen(fig);
	if (bar > 50)
		bar = 50;
	n = snprintf(line, sizeof(line), "%s", p->label);
	if (bar >= 10) {
		fill = (int)(frac * bar);
		n += snprintf(line + n, sizeof(line) - n, " [");
		for (i = 0; i < bar && n < (int)sizeof(line) - 2; i++)
			line[n++] = i < fill ? '#' : '.';
		line[n++] = ']';
		line[n] = 0;
	}
	snprintf(line + n, sizeof(line) - n, "%s", fig);
	/* \r, the line, erase to the end of the line */
	fprintf(p->f, "\r%s\033[K", line);
	fflush(p->f);
	p->drawn = true;
}

void bj_progress_update(struct bj_progress *p, uint64_t done, uint64_t total)
{
	int64_t now;
	double dt;

	if (!p)
		return;
	p->done = done;
	p->total = total;
	now = now_ns();
	dt = (double)(now - p->rate_ns) / 1e9;
	if (dt >= 1.0) {
		double r = done >= p->rate_done ? (double)(done - p->rate_done) / dt : 0;

		p->rate = p->rate > 0 ? 0.7 * p->rate + 0.3 * r : r;
		p->rate_ns = now;
		p->rate_done = done;
	}
	if (!p->enabled)
		return;
	if (p->drawn && now - p->last_ns < BJ_PROGRESS_INTERVAL_NS && done < total)
		return;
	p->last_ns = now;
	draw(p);
}

void bj_progress_cb(void *opaque, uint64_t done, uint64_t total)
{
	bj_progress_update(opaque, done, total);
}

void bj_progress_clear(struct bj_progress *p)
{
	if (!p || !p->enabled || !p->drawn)
		return;
	fprintf(p->f, "\r\033[K");
	fflush(p->f);
	p->drawn = false;
}

void bj_progress_done(struct bj_progress *p)
{
	if (!p)
		return;
	if (p->enabled && p->drawn) {
		draw(p);
		fputc('\n', p->f);
		fflush(p->f);
	}
	free(p);
}
