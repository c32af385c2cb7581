/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libblockjob's event layer: job events from the "dm-blockjob" generic
 * netlink family (include/uapi/linux/dm-blockjob.h), multicast group
 * "events". Joining the group needs CAP_SYS_ADMIN.
 *
 * Subscribe with bj_events_open(), then take events one at a time with
 * bj_events_next() (waits) or bj_events_read() (does not), or poll
 * bj_events_fd() yourself. Every message is validated strictly before it is
 * handed out (bj_event_parse()): a malformed one is reported as -EBADMSG and
 * skipped, never half-read.
 *
 * Functions returning int give 0 (or a count) or a negative errno and, on
 * failure, leave one line in the caller's @err buffer (BJ_ERRLEN).
 */
#ifndef BJ_EVENTS_H
#define BJ_EVENTS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>

#include "uapi/linux/dm-blockjob.h"

#define BJ_EVENT_DEVICE_MAX	128	/* bytes, with the NUL (kernel policy) */
#define BJ_EVENT_ERRMSG_MAX	64

/* One job event, as the kernel sent it. */
struct bj_event {
	uint32_t event;			/* enum dm_blockjob_event */
	char device[BJ_EVENT_DEVICE_MAX];	/* dm device name */
	uint32_t dev;			/* dm device number, new_encode_dev() */
	uint32_t type;			/* enum dm_blockjob_type */
	uint32_t state;			/* enum dm_blockjob_state, after the event */
	uint64_t len;			/* bytes the job must process */
	uint64_t offset;		/* bytes processed */
	uint64_t speed;			/* bytes/s limit, 0 = none */
	int32_t error;			/* negative errno, 0 = none */
	char error_msg[BJ_EVENT_ERRMSG_MAX];	/* where it happened, "" = none */
	struct timeval ts;		/* when it was received (CLOCK_REALTIME) */
};

struct bj_events;

/*
 * Resolve the family and its group and join it. Errors: -ENOENT the module
 * is not loaded, -EPERM no CAP_SYS_ADMIN, others from the socket layer.
 */
int bj_events_open(struct bj_events **evp, char *err);
void bj_events_close(struct bj_events *ev);
/* The socket, for poll(); readable when bj_events_read() has something. */
int bj_events_fd(const struct bj_events *ev);
/* The family's numeric id (what nlmsg_type of its messages holds). */
int bj_events_family(const struct bj_events *ev);

/*
 * Take the next event without waiting. Returns 1 (stored in *@e), 0 when
 * none is pending, -ENOBUFS when the socket overran and events were lost
 * (re-read the state you care about), -EBADMSG for a message that failed
 * validation (skipped; @err says why), or another negative errno.
 */
int bj_events_read(struct bj_events *ev, struct bj_event *e, char *err);

/*
 * As bj_events_read(), waiting up to @timeout_ms (-1: no limit) for an
 * event. With @sigmask, the wait is a ppoll() with that signal mask (so a
 * signal blocked outside the wait interrupts it): returns -EINTR then.
 * Returns 0 on timeout.
 */
int bj_events_next(struct bj_events *ev, struct bj_event *e, int timeout_ms,
		   const sigset_t *sigmask, char *err);

/*
 * Validate and decode one netlink message (@len bytes at @buf, starting with
 * its struct nlmsghdr) of family @family. Strict: the header must be
 * complete and the command DM_BLOCKJOB_CMD_EVENT; each known attribute must
 * have exactly its type's size (strings NUL-terminated within the kernel's
 * limit), none may appear twice, and EVENT, DEVICE, TYPE and STATE must be
 * there. Attributes newer than this library are ignored. @e->ts is not set.
 * Returns 0 or -EBADMSG (@err says why; may be NULL).
 */
int bj_event_parse(const void *buf, size_t len, int family, struct bj_event *e, char *err);

/* QEMU's name of an event: "BLOCK_JOB_READY", ...; "BLOCK_JOB_PROGRESS" for progress. */
const char *bj_event_name(uint32_t event);
/* "mirror", "backup", "none". */
const char *bj_event_type_name(uint32_t type);
/* "idle", "running", "paused", "ready", "standby", "concluded". */
const char *bj_event_state_name(uint32_t state);
/* True for events that change the job's state (all but progress). */
bool bj_event_is_state_change(const struct bj_event *e);
/* QEMU's BLOCK_JOB_ERROR "operation": "read" or "write", from the error location. */
const char *bj_event_operation(const struct bj_event *e);
/*
 * QEMU's BLOCK_JOB_ERROR "action" ("report", "ignore", "stop"): the error
 * policy for the failing side from the table's feature words @features
 * ("on_source_error stop ...", may be NULL), else judged from the state.
 */
const char *bj_event_action(const struct bj_event *e, const char *features);

struct json_object;
/*
 * One event as a JSON object (json-c; NULL if out of memory), QEMU's event
 * shape: {"event": NAME, "timestamp": {"seconds": S, "microseconds": US},
 * "data": {...}}; bj_json_text() gives its text. @action is
 * BLOCK_JOB_ERROR's "action" (NULL: judged from the state).
 */
struct json_object *bj_event_json(const struct bj_event *e, const char *action);

/* Waiting for a job ------------------------------------------------------ */

struct bj_status;

/* Told how far a job is: @done of @total bytes. */
typedef void (*bj_progress_fn)(void *opaque, uint64_t done, uint64_t total);

enum bj_wait_for {
	BJ_WAIT_READY,		/* ready or standby (a mirror in sync) */
	BJ_WAIT_CONCLUDED,	/* over, whatever the result */
};

/*
 * Wait until the job on volume @name is ready or concluded; event-driven.
 * @ev is a subscription opened before whatever should bring that state
 * (a message, a table load), or NULL to open one here. The status is read
 * once subscribed (so an event fired before is not missed), again on each
 * event of @name, and every 2 s as a safety net. @timeout_ms -1: no limit
 * (64 bits: days of milliseconds do not fit in an int).
 * @sigmask: as for bj_events_next(). @progress (may be NULL) is called with
 * @opaque and the job's progress at each status read and progress event.
 *
 * On return *@st holds the last status seen (st->result says how a
 * concluded job ended; if the volume went back to passthrough meanwhile,
 * the state and result come from the events). Returns 0 when reached,
 * -ETIMEDOUT, -EINTR, -ESRCH (no job on the volume), -ECANCELED (concluded
 * without becoming ready), -EINVAL (a backup never becomes ready), or
 * another negative errno; @err says it in one line.
 */
int bj_wait_job(struct bj_events *ev, const char *name, enum bj_wait_for what,
		int64_t timeout_ms, const sigset_t *sigmask, bj_progress_fn progress,
		void *opaque, struct bj_status *st, char *err);

#endif
