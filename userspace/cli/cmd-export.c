// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob export: serve a block device over NBD on the destination host of
 * a migration, with an existing NBD server (qemu-nbd), and stop it again.
 *
 *   blockjob export DEVICE --listen ADDR:PORT [--name EXPORT]
 *   blockjob export --stop ADDR:PORT
 *
 * The server runs detached; its pid is kept in BJ_EXPORT_RUN_DIR under the
 * address it listens on, which is what --stop names. Nothing here is
 * needed by a migration: any NBD server serving the device writable works.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <blockjob/blockjob.h>

#include "commands.h"

#define BJ_EXPORT_RUN_DIR "/run/blockjob/nbd-export"
/* how long --stop waits for the server to exit after SIGTERM */
#define BJ_EXPORT_STOP_SECONDS 10

void usage_export(FILE *f)
{
	fprintf(f,
		"Usage: blockjob export DEVICE --listen ADDR:PORT [--name EXPORT]\n"
		"       blockjob export --stop ADDR:PORT\n\n"
		"On the destination host of a live migration: serve block device DEVICE over\n"
		"NBD, writable, to one client at a time, until stopped. The server is qemu-nbd\n"
		"(qemu-utils) running in the background (O_DIRECT, native AIO); it keeps\n"
		"serving when a client disconnects, so that a client can reconnect. On the\n"
		"source host, 'blockjob mirror NAME nbd://ADDR:PORT/EXPORT' then mirrors a\n"
		"volume into it. Optional: any NBD server exporting the device writable works.\n"
		"The kernel's NBD client has no TLS: use a trusted or tunnelled network.\n\n"
		"  --listen ADDR:PORT   the address and TCP port to listen on ([ADDR]:PORT for\n"
		"                       IPv6); one export per address and port\n"
		"  --name EXPORT        the export's name (default: DEVICE's file name, e.g.\n"
		"                       sdc for /dev/sdc)\n"
		"  --stop ADDR:PORT     stop the export listening there (SIGTERM; the server\n"
		"                       flushes and exits)\n\n"
		"Prints the export's URL (nbd://ADDR:PORT/EXPORT). The server's pid is kept in\n"
		BJ_EXPORT_RUN_DIR "/ADDR:PORT.pid.\n");
}

/*
 * ADDR:PORT or [ADDR]:PORT into @addr (without brackets) and @port: 0, or 2
 * after a usage error line.
 */
static int parse_listen(const char *arg, char *addr, size_t len, unsigned int *port)
{
	const char *colon, *a = arg;
	size_t alen;
	char *end;
	unsigned long p;

	if (*a == '[') {
		colon = strstr(a, "]:");
		if (!colon)
			goto bad;
		a++;
		alen = colon - a;
		colon++;
	} else {
		colon = strrchr(a, ':');
		if (!colon || strchr(a, ':') != colon)
			goto bad;
		alen = colon - a;
	}
	if (!alen || alen >= len)
		goto bad;
	memcpy(addr, a, alen);
	addr[alen] = 0;
	if (strspn(addr, "0123456789abcdefABCDEF.:") != alen)
		goto bad;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || !p || p > 65535)
		goto bad;
	*port = p;
	return 0;
bad:
	return bj_usage_error("export",
			      "--listen and --stop take an IP address and a port, ADDR:PORT or [ADDR]:PORT (e.g. 192.0.2.2:10809), not '%s'",
			      arg);
}

static void pid_path(char *path, size_t len, const char *addr, unsigned int port)
{
	snprintf(path, len, "%s/%s:%u.pid", BJ_EXPORT_RUN_DIR, addr, port);
}

/* The pid in @path if it names a running qemu-nbd, else 0 (stale or none). */
static pid_t running_server(const char *path)
{
	char buf[64], comm[64];
	FILE *f;
	long pid = 0;

	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 1)
		return 0;
	snprintf(buf, sizeof(buf), "/proc/%ld/comm", pid);
	f = fopen(buf, "r");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return strncmp(comm, "qemu-nbd", 8) ? 0 : (pid_t)pid;
}

static int stop_export(const char *addr, unsigned int port)
{
	char path[PATH_MAX];
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	pid_t pid;
	int i;

	pid_path(path, sizeof(path), addr, port);
	pid = running_server(path);
	if (!pid) {
		unlink(path);
		bj_err("no export of blockjob listens on %s:%u (no running server in %s)", addr,
		       port, path);
		return 1;
	}
	if (kill(pid, SIGTERM) && errno != ESRCH) {
		bj_err("cannot stop the NBD server (pid %d): %s", (int)pid, strerror(errno));
		return 1;
	}
	for (i = 0; i < BJ_EXPORT_STOP_SECONDS * 20; i++) {
		if (kill(pid, 0) && errno == ESRCH)
			break;
		nanosleep(&ts, NULL);
	}
	if (i == BJ_EXPORT_STOP_SECONDS * 20) {
		bj_err("the NBD server (pid %d) did not exit within %d s of SIGTERM; it may still be flushing: check it, then kill it",
		       (int)pid, BJ_EXPORT_STOP_SECONDS);
		return 1;
	}
	unlink(path);
	return 0;
}

/* The first line of @buf without its newline, for an error message. */
static const char *first_line(char *buf)
{
	char *nl = strchr(buf, '\n');

	if (nl)
		*nl = 0;
	return buf[0] ? buf : "(no message)";
}

/*
 * Run qemu-nbd --fork: it returns once it listens (or failed); its error
 * output comes back through a pipe for the one line we print.
 */
static int start_server(const char *dev, const char *addr, unsigned int port,
			const char *export, const char *pidfile)
{
	char portstr[16], out[1024];
	int fds[2], status;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	snprintf(portstr, sizeof(portstr), "%u", port);
	if (pipe2(fds, O_CLOEXEC)) {
		bj_err("pipe: %s", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		bj_err("fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return 1;
	}
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		dup2(fds[1], STDERR_FILENO);
		execlp("qemu-nbd", "qemu-nbd", "--fork", "--persistent", "--shared=1",
		       "--format=raw", "--cache=none", "--aio=native", "--bind", addr, "--port",
		       portstr, "--export-name", export, "--pid-file", pidfile, dev,
		       (char *)NULL);
		fprintf(stderr, "cannot run qemu-nbd: %s (apt-get install qemu-utils)\n",
			strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	/* qemu-nbd's daemon keeps the write end until it closes its stderr */
	while (got < sizeof(out) - 1) {
		n = read(fds[0], out + got, sizeof(out) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		if (memchr(out, '\n', got))
			break;
	}
	out[got] = 0;
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	bj_err("the NBD server did not start on %s:%u: %s", addr, port, first_line(out));
	return 1;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "stop", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = NULL, *stop = NULL, *export = NULL, *dev;
	char addr[64], path[PATH_MAX];
	unsigned int port;
	struct stat sb;
	int c, r, fd;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'n':
			export = optarg;
			break;
		case 's':
			stop = optarg;
			break;
		default:
			return bj_option_error("export", c, argv);
		}
	}
	if (stop) {
		if (listen || export || argc != optind)
			return bj_usage_error("export", "--stop ADDR:PORT takes no DEVICE and no other option");
		r = parse_listen(stop, addr, sizeof(addr), &port);
		return r ? r : stop_export(addr, port);
	}
	if (argc - optind != 1 || !listen)
		return bj_usage_error("export", "expected DEVICE --listen ADDR:PORT");
	dev = argv[optind];
	r = parse_listen(listen, addr, sizeof(addr), &port);
	if (r)
		return r;
	if (!export) {
		export = strrchr(dev, '/');
		export = export ? export + 1 : dev;
	}
	if (!*export || strlen(export) > 4096 || strpbrk(export, "\n\r\t "))
		return bj_usage_error("export", "--name wants 1 to 4096 characters without blanks");

	if (stat(dev, &sb) || !S_ISBLK(sb.st_mode)) {
		bj_err("%s is not a block device; export a disk, partition or volume", dev);
		return 1;
	}
	/* A mounted device, or one a device-mapper device holds, is not exported. */
	fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EBUSY)
			bj_err("%s is in use (mounted, or held by another device); export a device nothing else uses",
			       dev);
		else
			bj_err("cannot open %s: %s", dev, strerror(errno));
		return 1;
	}
	close(fd);
	if (mkdir("/run/blockjob", 0755) && errno != EEXIST) {
		bj_err("cannot create /run/blockjob: %s", strerror(errno));
		return 1;
	}
	if (mkdir(BJ_EXPORT_RUN_DIR, 0755) && errno != EEXIST) {
		bj_err("cannot create %s: %s", BJ_EXPORT_RUN_DIR, strerror(errno));
		return 1;
	}
	pid_path(path, sizeof(path), addr, port);
	if (running_server(path)) {
		bj_err("an export already listens on %s:%u; stop it first: blockjob export --stop %s",
		       addr, port, listen);
		return 1;
	}
	unlink(path);
	if (start_server(dev, addr, port, export, path))
		return 1;
	if (strchr(addr, ':'))
		printf("nbd://[%s]:%u/%s\n", addr, port, export);
	else
		printf("nbd://%s:%u/%s\n", addr, port, export);
	return 0;
}
