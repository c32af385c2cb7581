// SPDX-License-Identifier: GPL-2.0
/*
 * dm-watch: wait until a dm device's status matches a pattern and print the
 * time it did, for timing a job from outside without polling in a shell.
 *
 *   dm-watch [-t SECONDS] NAME DONE_REGEX [FAIL_REGEX]
 *
 * The status is matched as `dmsetup status` prints it for a one-target
 * table ("<start> <length> <target> <params>"), against POSIX extended
 * regular expressions (glibc's back-references work: "([0-9]+)/\1 " matches
 * "N/N "). Between checks it sleeps in DM_DEV_WAIT until the device raises
 * an event (a job that finishes raises one), re-checking every 200 ms in
 * any case. The device may exist without a table when it starts (create it
 * with `dmsetup create --notable`, start dm-watch, then load and resume):
 * one process waiting in the kernel times a copy more closely than a shell
 * loop that starts a dmsetup per check, which under TCG takes tens of
 * milliseconds and competes with the copy for the CPU.
 *
 * On a match prints "<CLOCK_REALTIME microseconds> <status>" and exits 0;
 * exits 2 with the status when FAIL_REGEX matches first; 3 with the status
 * when -t SECONDS (a decimal) pass without either; 1 on errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>

#define BUF_BYTES 16384

static union {
	struct dm_ioctl io;
	char bytes[BUF_BYTES];
} buf;

static void on_alarm(int sig)
{
	(void)sig;	/* only interrupts DM_DEV_WAIT */
}

/*
 * Run @cmd (DM_TABLE_STATUS or DM_DEV_WAIT: both return the status) on
 * @name and put the first target's line in @line. Returns 0, or -1 with
 * errno (EINTR when the re-check timer interrupted a wait).
 */
static int dm_status(int ctl, unsigned long cmd, const char *name, uint32_t event_nr,
		     char *line, size_t size, uint32_t *event_out)
{
	struct dm_target_spec *spec;

	memset(&buf, 0, sizeof(struct dm_ioctl));
	buf.io.version[0] = DM_VERSION_MAJOR;
	buf.io.version[1] = 0;
	buf.io.version[2] = 0;
	buf.io.data_size = sizeof(buf);
	buf.io.data_start = sizeof(struct dm_ioctl);
	buf.io.event_nr = event_nr;
	snprintf(buf.io.name, sizeof(buf.io.name), "%s", name);
	if (ioctl(ctl, cmd, &buf) < 0)
		return -1;
	*event_out = buf.io.event_nr;
	line[0] = '\0';
	if (buf.io.flags & DM_BUFFER_FULL_FLAG) {
		errno = ENOSPC;
		return -1;
	}
	if (buf.io.target_count) {
		spec = (struct dm_target_spec *)(buf.bytes + buf.io.data_start);
		snprintf(line, size, "%llu %llu %s %s", (unsigned long long)spec->sector_start,
			 (unsigned long long)spec->length, spec->target_type,
			 (char *)(spec + 1));
	}
	return 0;
}

static void compile(regex_t *re, const char *pattern)
{
	int r = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
	char msg[256];

	if (r) {
		regerror(r, re, msg, sizeof(msg));
		fprintf(stderr, "dm-watch: bad pattern '%s': %s\n", pattern, msg);
		exit(1);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct itimerval every = { { 0, 200000 }, { 0, 200000 } };
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	regex_t done, fail;
	char line[BUF_BYTES];
	uint32_t event_nr = 0;
	double deadline = 0;
	struct timespec ts;
	char *end;
	int ctl;

	if (argc > 2 && !strcmp(argv[1], "-t")) {
		deadline = strtod(argv[2], &end);
		if (*end || deadline <= 0) {
			fprintf(stderr, "dm-watch: -t wants seconds > 0, not '%s'\n", argv[2]);
			return 1;
		}
		deadline += now_s();
		argc -= 2;
		argv += 2;
	}
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: dm-watch [-t SECONDS] NAME DONE_REGEX [FAIL_REGEX]\n");
		return 1;
	}
	compile(&done, argv[2]);
	if (argc == 4)
		compile(&fail, argv[3]);
	ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		perror("dm-watch: /dev/mapper/control");
		return 1;
	}
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every, NULL);
	if (dm_status(ctl, DM_TABLE_STATUS, argv[1], 0, line, sizeof(line), &event_nr)) {
		fprintf(stderr, "dm-watch: status of %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (;;) {
		if (!regexec(&done, line, 0, NULL, 0)) {
			clock_gettime(CLOCK_REALTIME, &ts);
			printf("%lld %s\n", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, line);
			return 0;
		}
		if (argc == 4 && !regexec(&fail, line, 0, NULL, 0)) {
			printf("failed: %s\n", line);
			return 2;
		}
		if (deadline && now_s() >= deadline) {
			printf("timeout: %s\n", line);
			return 3;
		}
		/* Returns at once if an event came since event_nr was read. */
		if (!dm_status(ctl, DM_DEV_WAIT, argv[1], event_nr, line, sizeof(line), &event_nr))
			continue;
		if (errno != EINTR) {
			fprintf(stderr, "dm-watch: wait on %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		if (dm_status(ctl, DM_TABLE_STATUS, argv[1], 0, line, sizeof(line), &event_nr)) {
			fprintf(stderr, "dm-watch: status of %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
	}
}
