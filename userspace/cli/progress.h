/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A one-line progress bar for long commands (mirror, complete, backup
 * --wait, wait): drawn on stderr when stderr is a terminal, silent
 * otherwise, so scripts and logs see only the command's own output.
 *
 *	struct bj_progress *p = bj_progress_new("vol0: mirror");
 *	bj_progress_update(p, done, total);	// as often as you like
 *	bj_progress_done(p);			// ends the line, frees
 *
 * Every function accepts NULL (an allocation failure only costs the bar).
 */
#ifndef BJ_CLI_PROGRESS_H
#define BJ_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct bj_progress;

/* A bar labelled @label on stderr, drawn only if stderr is a terminal. */
struct bj_progress *bj_progress_new(const char *label);
/* The same on @f, drawn if @enabled (tests; or a caller's own choice). */
struct bj_progress *bj_progress_new_on(const char *label, FILE *f, bool enabled);
/* @done of @total bytes. Redraws at most ten times a second (and at 100%). */
void bj_progress_update(struct bj_progress *p, uint64_t done, uint64_t total);
/* bj_progress_update() as a bj_wait_job() progress callback (@opaque: the bar). */
void bj_progress_cb(void *opaque, uint64_t done, uint64_t total);
/* Erase the bar so a message can be printed; the next update redraws it. */
void bj_progress_clear(struct bj_progress *p);
/* If the bar is on screen: draw the last figures, end the line. Free @p. */
void bj_progress_done(struct bj_progress *p);

#endif
