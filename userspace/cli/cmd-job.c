// SPDX-License-Identifier: GPL-2.0
/*
 * Job verbs: pause, resume, set-speed, cancel, wait. They act on the job
 * running on a volume through dm target messages; cancel and wait follow
 * the job through its netlink events (lib/bj-events.h), not by polling.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blockjob/blockjob.h>

#include "progress.h"
#include "commands.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* Catch SIGINT and SIGTERM; they stay blocked except while waiting (ppoll with *@waitmask). */
static void catch_signals(sigset_t *waitmask)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGTERM);
}

/* The status of @name, which must carry a job. Prints the error and returns 1 if not. */
static int job_status(const char *name, struct bj_status *st)
{
	char err[BJ_ERRLEN];

	if (bj_dm_status(name, st, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (!strcmp(st->mode, "passthrough")) {
		bj_err("%s: no job runs on this volume", name);
		return 1;
	}
	return 0;
}

static const char *last_error(const struct bj_status *st)
{
	return strcmp(st->last_error, "-") ? st->last_error : NULL;
}

/* The kernel refused @verb: say why, from the status now. */
static void explain_refusal(const char *name, const char *verb, const char *err)
{
	char err2[BJ_ERRLEN];
	struct bj_status st;

	if (bj_dm_status(name, &st, err2)) {
		bj_err("%s", err);
		return;
	}
	if (!strcmp(st.mode, "passthrough"))
		bj_err("%s: no job runs on this volume", name);
	else if (!strcmp(st.state, "concluded"))
		bj_err("%s: %s is not valid in state concluded (the %s job %s)", name, verb, st.mode,
		       st.result);
	else
		bj_err("%s: %s is not valid in state %s", name, verb, st.state);
}

/* Send @msg (whose verb is @verb) to the job on @name. */
static int job_message(const char *name, const char *verb, const char *msg)
{
	char err[BJ_ERRLEN];
	struct bj_status st;
	int r;

	if (job_status(name, &st))
		return 1;
	r = bj_dm_message(name, msg, NULL, err);
	if (r == -EINVAL) {
		explain_refusal(name, verb, err);
		return 1;
	}
	if (r) {
		bj_err("%s", err);
		return 1;
	}
	return 0;
}

void usage_pause(FILE *f)
{
	fprintf(f, "Usage: blockjob pause NAME\n\n"
		   "Pause the job on volume NAME: it stops copying (a ready mirror goes to\n"
		   "standby and keeps mirroring guest writes). Resume it with 'blockjob resume'.\n");
}

/* The one argument of pause, resume, dismiss: the volume's name. 0, or 2 (said). */
static int name_only(const char *cmd, int argc, char **argv, const char **name)
{
	int r;

	r = bj_no_options(cmd, argc, argv);
	if (r)
		return r;
	if (argc - optind != 1)
		return bj_usage_error(cmd, "expected NAME");
	return bj_volume_arg(cmd, argv[optind], name);
}

int cmd_pause(int argc, char **argv)
{
	const char *name;
	int r;

	r = name_only("pause", argc, argv, &name);
	if (r)
		return r;
	return job_message(name, "pause", "pause");
}

void usage_resume(FILE *f)
{
	fprintf(f, "Usage: blockjob resume NAME\n\n"
		   "Resume the paused job on volume NAME (also after an error stopped it under\n"
		   "the \"stop\" error policy).\n");
}

int cmd_resume(int argc, char **argv)
{
	const char *name;
	int r;

	r = name_only("resume", argc, argv, &name);
	if (r)
		return r;
	return job_message(name, "resume", "resume");
}

void usage_set_speed(FILE *f)
{
	fprintf(f, "Usage: blockjob set-speed NAME RATE\n\n"
		   "Limit the copy rate of the job on volume NAME to RATE bytes per second\n"
		   "(K, M, G, T suffixes, binary; \"/s\" optional); 0 removes the limit.\n"
		   "Guest I/O is never throttled.\n");
}

int cmd_set_speed(int argc, char **argv)
{
	const char *name;
	char msg[64];
	uint64_t rate;
	int r;

	r = bj_no_options("set-speed", argc, argv);
	if (r)
		return r;
	if (argc - optind != 2)
		return bj_usage_error("set-speed", "expected NAME RATE");
	r = bj_volume_arg("set-speed", argv[optind], &name);
	if (r)
		return r;
	if (bj_parse_size(argv[optind + 1], true, &rate))
		return bj_usage_error("set-speed",
				      "invalid rate '%s': expected bytes per second, e.g. 50M",
				      argv[optind + 1]);
	snprintf(msg, sizeof(msg), "set-speed %" PRIu64, rate);
	return job_message(name, "set-speed", msg);
}

void usage_cancel(FILE *f)
{
	fprintf(f, "Usage: blockjob cancel NAME [--force] [--no-wait]\n\n"
		   "Cancel the job on volume NAME, wait for it to conclude, and put the volume\n"
		   "back in passthrough mode on its source. A mirror cancelled while ready\n"
		   "leaves a consistent copy as of the cancel, flushed when the volume goes\n"
		   "back to passthrough; cancelled earlier, the destination is not a copy of\n"
		   "anything.\n\n"
		   "  --force      give the destination up (it stopped answering): nothing\n"
		   "               waits for it, and a mirror's copy is not kept; also\n"
		   "               after a plain cancel that has not finished\n"
		   "  --no-wait    only send the cancel request; the volume stays in the\n"
		   "               concluded job until 'blockjob cancel NAME' runs again\n");
}

int cmd_cancel(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-wait", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct bj_events *ev = NULL;
	char err[BJ_ERRLEN];
	struct bj_status st;
	bool no_wait = false, force = false;
	const char *msg = "cancel";
	struct bj_lock lk;
	sigset_t waitmask;
	const char *name;
	int c, r, ret = 1;

	while ((c = getopt_long(argc, argv, ":nf", opts, NULL)) != -1) {
		if (c == 'n')
			no_wait = true;
		else if (c == 'f')
			force = true;
		else
			return bj_option_error("cancel", c, argv);
	}
	if (force)
		msg = "cancel force";
	if (argc - optind != 1)
		return bj_usage_error("cancel", "expected NAME");
	r = bj_volume_arg("cancel", argv[optind], &name);
	if (r)
		return r;

	if (job_status(name, &st))
		return 1;
	/* Refuse a half-switched volume before the cancel changes anything. */
	if (bj_cli_lock(name, &lk, true))
		return 1;
	bj_volume_unlock(&lk);
	if (no_wait) {
		if (!strcmp(st.state, "concluded") &&
		    !(force && !strcmp(st.result, "cancelled"))) {
			bj_err("%s: the %s job has already concluded (%s); run 'blockjob cancel %s' to put the volume back in passthrough mode",
			       name, st.mode, st.result, name);
			return 1;
		}
		return job_message(name, "cancel", msg);
	}

	catch_signals(&waitmask);
	/* Subscribe before sending, so the conclusion cannot slip by. */
	if (bj_events_open(&ev, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (strcmp(st.state, "concluded") || (force && !strcmp(st.result, "cancelled"))) {
		r = bj_dm_message(name, msg, NULL, err);
		if (r == -EINVAL) {
			/* Concluded meanwhile? Then there is only the switch back left to do. */
			if (bj_dm_status(name, &st, err) || strcmp(st.state, "concluded")) {
				explain_refusal(name, "cancel", err);
				goto out;
			}
		} else if (r) {
			bj_err("%s", err);
			goto out;
		}
	}
	r = bj_wait_job(ev, name, BJ_WAIT_CONCLUDED, -1, &waitmask, NULL, NULL, &st, err);
	if (r) {
		if (r == -EINTR)
			bj_err("%s: interrupted; the cancel was sent: run 'blockjob cancel %s' again to finish",
			       name, name);
		else
			bj_err("%s", err);
		goto out;
	}
	if (bj_cli_lock(name, &lk, true))
		goto out;
	r = bj_job_finish(name, err);
	if (!r)
		bj_cli_nbd_release(name);	/* a hand-over: the NBD target goes */
	bj_volume_unlock(&lk);
	if (r) {
		bj_err("%s", err);
		goto out;
	}
	if (!strcmp(st.result, "cancelled")) {
		ret = 0;
	} else if (!strcmp(st.result, "completed")) {
		fprintf(stderr, "%s: %s: the %s job had completed before the cancel took effect\n",
			bj_progname, name, st.mode);
		ret = 0;
	} else if (last_error(&st)) {
		bj_err("%s: the %s job had %s before the cancel (last error %s); the volume is back on its source",
		       name, st.mode, st.result, last_error(&st));
	} else {
		bj_err("%s: the %s job had %s before the cancel; the volume is back on its source",
		       name, st.mode, st.result);
	}
out:
	bj_events_close(ev);
	return ret;
}

int bj_auto_dismiss(const char *name, struct bj_vtable *vt)
{
	char err[BJ_ERRLEN];
	struct bj_status st;
	int r;

	if (!strcmp(vt->mode, "passthrough"))
		return 0;
	r = bj_job_dismiss(name, &st, err);
	if (r < 0) {
		if (r == -EBUSY)
			bj_err("%s: a job is on the volume: %s", name, err);
		else
			bj_err("%s", err);
		return 1;
	}
	fprintf(stderr, "%s: %s: dismissed the concluded %s job (%s)\n", bj_progname, name,
		st.mode, st.result);
	bj_cli_nbd_release(name);
	if (bj_vtable_get(name, vt, err)) {
		bj_err("%s", err);
		return 1;
	}
	return 0;
}

void usage_dismiss(FILE *f)
{
	fprintf(f, "Usage: blockjob dismiss NAME\n\n"
		   "The job on volume NAME has concluded (cancelled, failed, or a backup that\n"
		   "completed): remove its views and put the volume back in passthrough mode\n"
		   "on its source. Starting a job does this by itself. A mirror that\n"
		   "completed is finished by 'blockjob complete NAME' instead. Nothing to do\n"
		   "on a volume in passthrough mode.\n");
}

int cmd_dismiss(int argc, char **argv)
{
	char err[BJ_ERRLEN];
	struct bj_lock lk;
	const char *name;
	int r;

	r = name_only("dismiss", argc, argv, &name);
	if (r)
		return r;
	if (bj_cli_lock(name, &lk, true))
		return 1;
	r = bj_job_dismiss(name, NULL, err);
	if (r >= 0)
		bj_cli_nbd_release(name);
	bj_volume_unlock(&lk);
	if (r < 0) {
		bj_err("%s", err);
		return 1;
	}
	return 0;
}

/* The longest --timeout, in seconds. */
#define BJ_WAIT_TIMEOUT_MAX	(365 * 86400)

void usage_wait(FILE *f)
{
	fprintf(f, "Usage: blockjob wait NAME --for ready|concluded [--timeout SECONDS]\n\n"
		   "Wait for the job on volume NAME to become ready (a mirror in sync) or to\n"
		   "conclude. Follows the job's events; needs CAP_SYS_ADMIN.\n\n"
		   "  --for ready       exit 0 once ready; 1 if the job concludes first\n"
		   "  --for concluded   exit 0 if the job completed; 1 if it failed or was\n"
		   "                    cancelled (the result is printed either way)\n"
		   "  --timeout S       give up after S seconds (fractions allowed, up to\n"
		   "                    365 days): exit 124, as timeout(1)\n\n"
		   "On a terminal, a progress bar shows on stderr.\n");
}

int cmd_wait(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	enum bj_wait_for what = BJ_WAIT_READY;
	struct bj_progress *p = NULL;
	bool have_for = false;
	char err[BJ_ERRLEN], label[160];
	struct bj_status st;
	int64_t timeout_ms = -1;
	sigset_t waitmask;
	const char *name;
	int c, r;

	while ((c = getopt_long(argc, argv, ":f:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "ready"))
				what = BJ_WAIT_READY;
			else if (!strcmp(optarg, "concluded"))
				what = BJ_WAIT_CONCLUDED;
			else
				return bj_usage_error("wait", "--for takes ready or concluded, not '%s'",
						      optarg);
			have_for = true;
			break;
		case 't':
			if (bj_parse_seconds(optarg, BJ_WAIT_TIMEOUT_MAX, &timeout_ms))
				return bj_usage_error("wait", "--timeout takes a number of seconds from 0 to %d (365 days), not '%s'",
						      BJ_WAIT_TIMEOUT_MAX, optarg);
			break;
		default:
			return bj_option_error("wait", c, argv);
		}
	}
	if (argc - optind != 1)
		return bj_usage_error("wait", "expected NAME");
	if (!have_for)
		return bj_usage_error("wait", "say what to wait for: --for ready or --for concluded");
	r = bj_volume_arg("wait", argv[optind], &name);
	if (r)
		return r;

	catch_signals(&waitmask);
	snprintf(label, sizeof(label), "%s", name);
	p = bj_progress_new(label);
	r = bj_wait_job(NULL, name, what, timeout_ms, &waitmask, bj_progress_cb, p, &st, err);
	if (r) {
		bj_progress_clear(p);
		bj_progress_done(p);
		if (r == -EINTR) {
			bj_err("%s: interrupted", name);
			return 130;
		}
		bj_err("%s", err);
		return r == -ETIMEDOUT ? BJ_EXIT_TIMEOUT : 1;
	}
	bj_progress_done(p);
	if (what == BJ_WAIT_READY)
		return 0;
	if (!strcmp(st.result, "completed")) {
		printf("%s: %s job completed\n", name, st.mode);
		return 0;
	}
	if (last_error(&st))
		bj_err("%s: %s job %s (last error %s)", name, st.mode, st.result, last_error(&st));
	else
		bj_err("%s: %s job %s", name, st.mode, st.result);
	return 1;
}
