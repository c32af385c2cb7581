// SPDX-License-Identifier: GPL-2.0
/*
 * The NBD keeper: a detached process that keeps the NBD device of a
 * mirror connected (bj_nbd_keep(): a dropped connection is reconnected,
 * one attempt a second, within a bound) and, after a reconnect, resumes
 * the volume's job if a target error stopped it meanwhile (policy stop).
 *
 * 'blockjob mirror NAME nbd://...' starts it once its job runs: a double
 * fork (setsid, standard streams on /dev/null) and an exec of the hidden
 * command
 *
 *   blockjob nbd-keeper --watch-fd N --ready-fd M NAME /dev/nbdN
 *
 * which adopts the mirror's watch (opened before the connect, so that no
 * notification is missed), writes its pid to
 * $BLOCKJOB_RUN_DIR/nbd-keeper/nbdN.pid (/run/blockjob/nbd-keeper by
 * default) and says "OK" (or "E <why>") on the ready pipe. It ends when the
 * device is disconnected (cancel, dismiss, remove: bj_cli_nbd_release()),
 * gives up after the bound, or on SIGTERM, SIGINT or SIGHUP; it removes
 * its pid file then. Its messages go to syslog (ident "blockjob",
 * LOG_DAEMON), never to a terminal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <blockjob/blockjob.h>

#include "commands.h"

#define KEEPER_RUN_DIR		"/run/blockjob"
#define KEEPER_SUBDIR		"nbd-keeper"
/* how long mirror waits for the keeper to say it runs */
#define KEEPER_START_MS		10000
/*
 * After a reconnect: how long a target-error stop is taken as the dropped
 * connection's (the errors of requests the kernel failed before it
 * reached the job a moment later), and how many resumes that allows.
 */
#define RESUME_WINDOW_MS	3000
#define RESUME_MAX		3

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* $BLOCKJOB_RUN_DIR/nbd-keeper, or /run/blockjob/nbd-keeper; @top gets the first. */
static void keeper_dir(char *top, size_t tlen, char *dir, size_t dlen)
{
	const char *e = getenv("BLOCKJOB_RUN_DIR");

	snprintf(top, tlen, "%s", e && *e ? e : KEEPER_RUN_DIR);
	snprintf(dir, dlen, "%s/%s", top, KEEPER_SUBDIR);
}

/* Starting it (in the mirror command) ----------------------------------------- */

/* Every descriptor above stderr close-on-exec, the slow way (a kernel before 5.11). */
static void cloexec_all(void)
{
	struct dirent *de;
	DIR *d;
	int fd;

	d = opendir("/proc/self/fd");
	if (!d)
		return;
	while ((de = readdir(d))) {
		fd = atoi(de->d_name);
		if (fd > STDERR_FILENO && fd != dirfd(d))
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	closedir(d);
}

/* In the keeper's child, before the exec: nothing of ours may reach a terminal. */
static void __attribute__((noreturn)) exec_keeper(const char *name, const char *dev, int wfd,
						  int rfd)
{
	char wbuf[16], rbuf[16];
	int null;

	if (chdir("/"))
		dprintf(rfd, "E cannot change to /: %s\n", strerror(errno));
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
	    dup2(null, STDERR_FILENO) < 0) {
		dprintf(rfd, "E cannot open /dev/null: %s\n", strerror(errno));
		_exit(1);
	}
	if (null > STDERR_FILENO)
		close(null);
	/*
	 * Nothing else of the command survives the exec (libdevmapper's
	 * control device, for one, is not opened close-on-exec); the two it
	 * needs do.
	 */
	if (close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC))
		cloexec_all();
	if (fcntl(wfd, F_SETFD, 0) || fcntl(rfd, F_SETFD, 0)) {
		dprintf(rfd, "E fcntl: %s\n", strerror(errno));
		_exit(1);
	}
	snprintf(wbuf, sizeof(wbuf), "%d", wfd);
	snprintf(rbuf, sizeof(rbuf), "%d", rfd);
	execl("/proc/self/exe", "blockjob", BJ_NBD_KEEPER_CMD, "--watch-fd", wbuf, "--ready-fd",
	      rbuf, name, dev, (char *)NULL);
	dprintf(rfd, "E cannot run /proc/self/exe: %s\n", strerror(errno));
	_exit(127);
}

int bj_cli_nbd_keeper_start(const char *name, const char *dev, struct bj_nbd_watch *w)
{
	char msg[BJ_ERRLEN] = "";
	struct pollfd pfd;
	int fds[2], status;
	int64_t end;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		snprintf(msg, sizeof(msg), "pipe: %s", strerror(errno));
		goto fail;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(msg, sizeof(msg), "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto fail;
	}
	if (!pid) {
		/* a session of its own, and no session leader: no controlling terminal ever */
		close(fds[0]);
		if (setsid() < 0) {
			dprintf(fds[1], "E setsid: %s\n", strerror(errno));
			_exit(1);
		}
		pid = fork();
		if (pid < 0)
			dprintf(fds[1], "E fork: %s\n", strerror(errno));
		if (pid)
			_exit(pid < 0);
		exec_keeper(name, dev, bj_nbd_watch_fd(w), fds[1]);
	}
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* the keeper's first line: "OK", or "E <why>"; EOF if it died first */
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	end = mono_ms() + KEEPER_START_MS;
	while (got < sizeof(msg) - 1 && !memchr(msg, '\n', got)) {
		int64_t left = end - mono_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			snprintf(msg, sizeof(msg), "E it did not say it runs within %d s",
				 KEEPER_START_MS / 1000);
			got = strlen(msg);
			break;
		}
		n = read(fds[0], msg + got, sizeof(msg) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		msg[got] = 0;
	}
	close(fds[0]);
	msg[got] = 0;
	msg[strcspn(msg, "\n")] = 0;
	if (!strcmp(msg, "OK"))
		return 0;
	if (!strncmp(msg, "E ", 2))
		memmove(msg, msg + 2, strlen(msg + 2) + 1);
	else
		snprintf(msg, sizeof(msg), "it exited before it ran");
fail:
	fprintf(stderr, "%s: note: %s: no keeper for %s (%s): a dropped connection will not be reconnected\n",
		bj_progname, name, dev, msg);
	return 1;
}

/* The keeper --------------------------------------------------------------- */

struct keeper {
	const char *name;		/* the volume */
	const char *dev;		/* /dev/nbdN */
	const char *short_dev;		/* nbdN */
	char devnum[32];		/* "major:minor", as the volume's table names it */
	int sfd;			/* signalfd: SIGTERM, SIGINT, SIGHUP */
	char last_failure[BJ_ERRLEN];
	int64_t dead_since;		/* ms, 0: alive */
};

static void say(int prio, struct keeper *kp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(int prio, struct keeper *kp, const char *fmt, ...)
{
	char line[BJ_ERRLEN + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	syslog(prio, "%s (volume %s): %s", kp->short_dev, kp->name, line);
}

/* Does word list @flags ("a,b,c" or "-") hold @flag? */
static bool has_flag(const char *flags, const char *flag)
{
	size_t n = strlen(flag);
	const char *p;

	for (p = flags; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, flag, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/*
 * The job of the volume stopped on a target error (policy stop: paused or
 * standby, flag io_error, last error target-*), and its destination is our
 * device: what a dropped connection does, and only that is resumed. An
 * administrator's pause has no io_error flag (the kernel sets it only
 * when the error policy paused the job), and neither has a job that
 * failed or stopped on a source error.
 */
static bool stopped_by_us(struct keeper *kp, char *why, size_t wlen)
{
	char err[BJ_ERRLEN], mode[32], gran[32], flags[128] = "";
	struct bj_status st;
	struct bj_vtable vt;

	if (bj_dm_status(kp->name, &st, err) || strcmp(st.mode, "mirror") ||
	    (strcmp(st.state, "paused") && strcmp(st.state, "standby")))
		return false;
	if (sscanf(st.extra, "%31s %31s %127s", mode, gran, flags) != 3 ||
	    !has_flag(flags, "io_error") || strncmp(st.last_error, "target-", 7))
		return false;
	if (bj_vtable_get(kp->name, &vt, err) || strcmp(vt.dst, kp->devnum))
		return false;
	snprintf(why, wlen, "%s, last error %s", st.state, st.last_error);
	return true;
}

/*
 * After a reconnect: resume the job if the dropped connection stopped it,
 * now or within RESUME_WINDOW_MS (the failed requests' errors reach the
 * job through its work queue; their events wake this up).
 */
static void resume_window(struct keeper *kp)
{
	struct pollfd pfd[2] = { { .fd = -1, .events = POLLIN }, { .fd = kp->sfd, .events = POLLIN } };
	int64_t end = mono_ms() + RESUME_WINDOW_MS, left;
	struct bj_events *ev = NULL;
	char err[BJ_ERRLEN], why[128];
	unsigned int resumes = 0;
	struct bj_event e;
	int r;

	/* subscribed before the first look: no stop is missed between the two */
	if (bj_events_open(&ev, err))
		say(LOG_WARNING, kp, "cannot follow the job's events (%s): looking once", err);
	else
		pfd[0].fd = bj_events_fd(ev);
	for (;;) {
		if (stopped_by_us(kp, why, sizeof(why))) {
			if (resumes == RESUME_MAX) {
				say(LOG_WARNING, kp, "the mirror stopped on a target error again (%s) after %u resumes: left stopped ('blockjob resume %s' or 'blockjob cancel %s')",
				    why, resumes, kp->name, kp->name);
				break;
			}
			if (bj_dm_message(kp->name, "resume", NULL, err)) {
				say(LOG_ERR, kp, "cannot resume the mirror (%s): %s", why, err);
				break;
			}
			resumes++;
			say(LOG_NOTICE, kp, "resumed the mirror, stopped on a target error while the connection was down (%s)",
			    why);
		}
		if (!ev)
			break;
		left = end - mono_ms();
		if (left <= 0)
			break;
		r = poll(pfd, 2, (int)left);
		if (r < 0 && errno != EINTR)
			break;
		/* a signal: the keep loop sees it next */
		if (r > 0 && pfd[1].revents)
			break;
		/* any event (of any volume, or lost ones): look again */
		while (bj_events_read(ev, &e, err) > 0)
			;
	}
	bj_events_close(ev);
}

static int on_keep(void *opaque, enum bj_nbd_keep_event what, unsigned int attempt,
		   const char *msg)
{
	struct keeper *kp = opaque;
	int64_t t;

	switch (what) {
	case BJ_NBD_KEEP_DEAD:
		kp->dead_since = mono_ms();
		kp->last_failure[0] = 0;
		say(LOG_WARNING, kp, "%s", msg);
		break;
	case BJ_NBD_KEEP_LOST:
		kp->dead_since = mono_ms();
		say(LOG_WARNING, kp, "%s", msg);
		break;
	case BJ_NBD_KEEP_FAILED:
		/* the first failure, a new reason, and every tenth */
		if (attempt == 1 || attempt % 10 == 0 || strcmp(msg, kp->last_failure))
			say(LOG_WARNING, kp, "reconnect attempt %u failed: %s", attempt, msg);
		snprintf(kp->last_failure, sizeof(kp->last_failure), "%s", msg);
		break;
	case BJ_NBD_KEEP_RECONNECTED:
		t = mono_ms() - kp->dead_since;
		say(LOG_NOTICE, kp, "reconnected (attempt %u, %lld.%lld s after the connection was found dead)",
		    attempt, (long long)(t / 1000), (long long)(t % 1000 / 100));
		kp->dead_since = 0;
		resume_window(kp);
		break;
	case BJ_NBD_KEEP_ALIVE:
		kp->dead_since = 0;
		say(LOG_INFO, kp, "%s", msg);
		break;
	}
	return 0;
}

/* Write our pid to @path (through a temporary file): 0, or -errno with a line. */
static int write_pid_file(const char *top, const char *dir, const char *path, char *err)
{
	char tmp[PATH_MAX + 32];
	FILE *f;
	int r;

	if ((mkdir(top, 0755) && errno != EEXIST) || (mkdir(dir, 0755) && errno != EEXIST)) {
		r = -errno;
		bj_seterr(err, "cannot create %s: %s", dir, strerror(-r));
		return r;
	}
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) || rename(tmp, path)) {
		r = -errno;
		bj_seterr(err, "cannot write %s: %s", path, strerror(-r));
		if (f)
			unlink(tmp);
		return r;
	}
	return 0;
}

/* Remove @path if it still names us (a later keeper of the same device may have replaced it). */
static void remove_pid_file(const char *path)
{
	long pid = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid == (long)getpid())
		unlink(path);
}

/* SIGTERM, SIGINT, SIGHUP as a signalfd (the keep loop's cancel): the fd, or -errno. */
static int signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	sigset_t set;
	size_t i;
	int fd;

	/* dispositions survive exec: what the mirror command was run with must not stay */
	sigemptyset(&set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		signal(sigs[i], SIG_DFL);
		sigaddset(&set, sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static int parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || end == s || v < 0 || v > INT_MAX ? -1 : (int)v;
}

int cmd_nbd_keeper(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "watch-fd", required_argument, NULL, 'w' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	char err[BJ_ERRLEN], top[PATH_MAX / 2], dir[PATH_MAX / 2 + 16], path[PATH_MAX];
	struct keeper kp = { .sfd = -1 };
	struct bj_nbd_watch *w = NULL;
	int wfd = -1, rfd = -1, c, r;
	struct stat st;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			wfd = parse_fd(optarg);
			break;
		case 'r':
			rfd = parse_fd(optarg);
			break;
		default:
			wfd = -1;
			optind = argc;
			break;
		}
	}
	/* (no --help: an internal command) */
	if (argc - optind != 2 || wfd < 0) {
		bj_err("%s: expected --watch-fd N [--ready-fd N] NAME /dev/nbdN; 'blockjob mirror' starts it, not a user",
		       BJ_NBD_KEEPER_CMD);
		return 2;
	}
	kp.name = argv[optind];
	kp.dev = argv[optind + 1];
	kp.short_dev = strrchr(kp.dev, '/') ? strrchr(kp.dev, '/') + 1 : kp.dev;
	if (rfd >= 0)
		fcntl(rfd, F_SETFD, FD_CLOEXEC);
	if (stat(kp.dev, &st) || !S_ISBLK(st.st_mode)) {
		bj_seterr(err, "%s is not a block device", kp.dev);
		goto fail_start;
	}
	snprintf(kp.devnum, sizeof(kp.devnum), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	if (bj_nbd_watch_adopt(wfd, &w, err))
		goto fail_start;
	kp.sfd = signals();
	if (kp.sfd < 0) {
		bj_seterr(err, "signalfd: %s", strerror(-kp.sfd));
		goto fail_start;
	}
	keeper_dir(top, sizeof(top), dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s.pid", dir, kp.short_dev);
	if (write_pid_file(top, dir, path, err))
		goto fail_start;
	openlog("blockjob", LOG_PID, LOG_DAEMON);
	if (rfd >= 0) {
		dprintf(rfd, "OK\n");
		close(rfd);
	}
	say(LOG_INFO, &kp, "keeping %s connected (nbd-keeper, pid file %s)", kp.dev, path);
	r = bj_nbd_keep(w, kp.dev, NULL, kp.sfd, on_keep, &kp, err);
	if (!r)
		say(LOG_INFO, &kp, "%s was disconnected: the keeper exits", kp.dev);
	else if (r == -ECANCELED)
		say(LOG_INFO, &kp, "stopped by a signal");
	else if (r == -ETIMEDOUT)
		say(LOG_ERR, &kp, "%s; the job follows its --on-target-error policy ('blockjob cancel %s' ends it)",
		    err, kp.name);
	else
		say(LOG_ERR, &kp, "%s", err);
	remove_pid_file(path);
	bj_nbd_watch_close(w);
	close(kp.sfd);
	closelog();
	return r && r != -ECANCELED ? 1 : 0;
fail_start:
	if (rfd >= 0)
		dprintf(rfd, "E %s\n", err);
	bj_nbd_watch_close(w);
	if (kp.sfd >= 0)
		close(kp.sfd);
	return 1;
}
