/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The readable form of a job event (blockjob events without --json): the
 * CLI's, not libblockjob's, which never prints.
 */
#ifndef BJ_CLI_EVENT_TEXT_H
#define BJ_CLI_EVENT_TEXT_H

#include <stdio.h>

#include <blockjob/blockjob.h>

/*
 * One event as one readable line on @f. @action is BLOCK_JOB_ERROR's
 * "action" (NULL: judged from the state, bj_event_action()).
 */
void bj_event_print_text(FILE *f, const struct bj_event *e, const char *action);

#endif
