// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob events: the stream of job events (lib/bj-events.h), as readable
 * lines or as QEMU-shaped JSON objects, one per line.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <blockjob/blockjob.h>

#include "commands.h"
#include "event-text.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

void usage_events(FILE *f)
{
	fprintf(f, "Usage: blockjob events [NAME] [--json]\n\n"
		   "Print job events as they happen, for every volume or only NAME (or\n"
		   "/dev/mapper/NAME), until interrupted (SIGINT, SIGTERM). Needs\n"
		   "CAP_SYS_ADMIN.\n\n"
		   "Events (QEMU's names): JOB_STATUS_CHANGE, BLOCK_JOB_READY,\n"
		   "BLOCK_JOB_COMPLETED, BLOCK_JOB_CANCELLED, BLOCK_JOB_ERROR, and\n"
		   "BLOCK_JOB_PROGRESS (at most once a second while a job copies).\n\n"
		   "  --json   one JSON object per line, QEMU's event shape:\n"
		   "           {\"event\": ..., \"timestamp\": {\"seconds\": S, \"microseconds\": US},\n"
		   "            \"data\": {\"device\": ..., ...}}\n");
}

/* BLOCK_JOB_ERROR's action: the volume's error policy, if its table still says. */
static const char *error_action(const struct bj_event *e)
{
	char err[BJ_ERRLEN];
	struct bj_vtable t;

	if (e->event != DM_BLOCKJOB_EVENT_ERROR)
		return NULL;
	if (bj_vtable_get(e->device, &t, err) || !strcmp(t.mode, "passthrough"))
		return bj_event_action(e, NULL);
	return bj_event_action(e, t.features);
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct bj_events *ev = NULL;
	const char *name = NULL;
	char err[BJ_ERRLEN];
	sigset_t block, waitmask;
	struct bj_event e;
	bool json = false;
	int c, r, ret = 1;

	while ((c = getopt_long(argc, argv, ":j", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else
			return bj_option_error("events", c, argv);
	}
	if (argc - optind > 1)
		return bj_usage_error("events", "expected at most one NAME");
	/* events carry the kernel's name: filter on it, not on /dev/mapper/NAME */
	if (argc - optind == 1) {
		r = bj_volume_arg("events", argv[optind], &name);
		if (r)
			return r;
	}

	/* SIGINT/SIGTERM are blocked but inside the wait, so none is lost between checks. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);

	if (bj_events_open(&ev, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (name && !bj_dm_exists(name)) {
		bj_err("no volume named %s; see 'dmsetup ls' or 'blockjob create'", name);
		goto out;
	}
	while (!got_signal) {
		r = bj_events_next(ev, &e, -1, &waitmask, err);
		if (r == -EINTR || r == 0)
			continue;
		if (r == -ENOBUFS || r == -EBADMSG) {
			bj_err("%s%s", r == -EBADMSG ? "ignored a malformed event: " : "", err);
			continue;
		}
		if (r < 0) {
			bj_err("%s", err);
			goto out;
		}
		if (name && strcmp(e.device, name))
			continue;
		if (json) {
			if (bj_print_json(bj_event_json(&e, error_action(&e)), BJ_JSON_QEMU))
				goto out;
			continue;
		}
		bj_event_print_text(stdout, &e, error_action(&e));
		if (fflush(stdout) || ferror(stdout)) {
			bj_err("cannot write the events: %s", strerror(errno));
			goto out;
		}
	}
	ret = 0;
out:
	bj_events_close(ev);
	return ret;
}
