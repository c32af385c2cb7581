// SPDX-License-Identifier: GPL-2.0
/*
 * Dropped NBD connections (bj-nbd.h): the watch, a socket joined to the
 * kernel NBD client's multicast group ("nbd_mc_group" of the "nbd" generic
 * netlink family, where it sends NBD_CMD_LINK_DEAD with the device's index
 * when it finds a connection dead), and bj_nbd_keep(), which waits for that
 * notification and reconnects within a bound.
 *
 * The watch receives with a plain recvmsg() on a non-blocking socket; it
 * sends nothing on it (commands go on a socket of their own, lib/bj-nbd.c),
 * so everything it reads is a notification. Everything read is checked
 * (bj_nbd_parse_link_dead()) before an index is believed.
 *
 * The kernel side (linux/drivers/block/nbd.c): a request that times out
 * (the request timeout), or a socket that fails, marks the connection dead
 * and notifies once; requests then wait for a new connection up to the
 * dead-connection timeout and fail after it, and every later one fails at
 * once until NBD_CMD_RECONFIGURE brings a connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/nbd-netlink.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "bj-nbd-int.h"
#include "bj-nbd-proto.h"

#define DEFAULT_TIMEOUT		60	/* s, when the device's cannot be read */
#define CHECK_MS		1000	/* is the device still ours: at least this often */
#define RETRY_MS		1000	/* one attempt a second */
#define DEV_LEN			sizeof("/dev/nbd1048575")

struct bj_nbd_watch {
	int fd;
	int family;
	char buf[8192];
	size_t len, off;		/* what is left of the last datagram */
};

/* The watch ---------------------------------------------------------------- */

/* The "nbd" family's id and its group's, from the kernel's controller. */
static int resolve(int *family, int *group, char *err)
{
	struct nl_sock *sk;
	int r;

	sk = nl_socket_alloc();
	if (!sk) {
		bj_seterr(err, "out of memory");
		return -ENOMEM;
	}
	r = genl_connect(sk);
	if (r < 0) {
		nl_socket_free(sk);
		bj_seterr(err, "cannot open a generic netlink socket: %s", nl_geterror(r));
		return -EIO;
	}
	*family = genl_ctrl_resolve(sk, NBD_GENL_FAMILY_NAME);
	*group = *family < 0 ? *family :
		 genl_ctrl_resolve_grp(sk, NBD_GENL_FAMILY_NAME, NBD_GENL_MCAST_GROUP_NAME);
	nl_socket_free(sk);
	if (*family == -NLE_OBJ_NOTFOUND) {
		bj_seterr(err, "the kernel's NBD client is not loaded: no \"%s\" generic netlink family (modprobe nbd)",
			  NBD_GENL_FAMILY_NAME);
		return -ENOENT;
	}
	if (*family < 0) {
		bj_seterr(err, "cannot look up the \"%s\" generic netlink family: %s",
			  NBD_GENL_FAMILY_NAME, nl_geterror(*family));
		return -EIO;
	}
	if (*group < 0) {
		bj_seterr(err, "the \"%s\" generic netlink family has no group \"%s\": %s",
			  NBD_GENL_FAMILY_NAME, NBD_GENL_MCAST_GROUP_NAME, nl_geterror(*group));
		return -ENOENT;
	}
	return 0;
}

/* Join @fd to the group, make it ours: 0 with *@w, or -errno with a line (@fd closed). */
static int watch_make(int fd, struct bj_nbd_watch **w, char *err)
{
	struct bj_nbd_watch *n;
	int family, group, r;

	r = resolve(&family, &group, err);
	if (r)
		goto fail;
	/* joining again is a no-op: an adopted socket keeps what it holds */
	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group))) {
		r = -errno;
		bj_seterr(err, "cannot join the \"%s\" group of the NBD client: %s",
			  NBD_GENL_MCAST_GROUP_NAME, strerror(-r));
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC)) {
		r = -errno;
		bj_seterr(err, "fcntl: %s", strerror(-r));
		goto fail;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		r = -ENOMEM;
		bj_seterr(err, "out of memory");
		goto fail;
	}
	n->fd = fd;
	n->family = family;
	*w = n;
	return 0;
fail:
	close(fd);
	return r;
}

int bj_nbd_watch_open(struct bj_nbd_watch **w, char *err)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, r;

	*w = NULL;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_GENERIC);
	if (fd < 0) {
		r = -errno;
		bj_seterr(err, "cannot open a generic netlink socket: %s", strerror(-r));
		return r;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		close(fd);
		bj_seterr(err, "cannot bind a generic netlink socket: %s", strerror(-r));
		return r;
	}
	return watch_make(fd, w, err);
}

int bj_nbd_watch_adopt(int fd, struct bj_nbd_watch **w, char *err)
{
	int domain = 0, proto = 0;
	socklen_t len = sizeof(int);

	*w = NULL;
	if (fd < 0) {
		bj_seterr(err, "no file descriptor to adopt");
		return -EBADF;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) || domain != AF_NETLINK ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) || proto != NETLINK_GENERIC) {
		close(fd);
		bj_seterr(err, "file descriptor %d is not a generic netlink socket (a watch's)", fd);
		return -EBADF;
	}
	return watch_make(fd, w, err);
}

int bj_nbd_watch_fd(const struct bj_nbd_watch *w)
{
	return w->fd;
}

void bj_nbd_watch_close(struct bj_nbd_watch *w)
{
	if (!w)
		return;
	close(w->fd);
	free(w);
}

/*
 * The next NBD_CMD_LINK_DEAD, without waiting: 1 with *@index, 0 when none
 * is pending, -ENOBUFS when the socket overran (notifications lost), or
 * -errno with a line. Malformed and foreign messages are skipped.
 */
static int watch_read(struct bj_nbd_watch *w, unsigned int *index, char *err)
{
	const struct nlmsghdr *nlh;
	struct sockaddr_nl sa;
	struct iovec iov = { w->buf, sizeof(w->buf) };
	struct msghdr mh = {
		.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t n;
	size_t rem;
	int r;

	for (;;) {
		if (w->off >= w->len) {
			w->off = w->len = 0;
			mh.msg_namelen = sizeof(sa);
			n = recvmsg(w->fd, &mh, MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (n < 0 && errno == ENOBUFS) {
				bj_seterr(err, "NBD link notifications were lost: the receive buffer overran");
				return -ENOBUFS;
			}
			if (n < 0) {
				r = -errno;
				bj_seterr(err, "cannot receive NBD link notifications: %s",
					  strerror(-r));
				return r;
			}
			/* the kernel's, whole, or nothing of ours */
			if ((mh.msg_flags & MSG_TRUNC) || mh.msg_namelen != sizeof(sa) ||
			    sa.nl_pid != 0)
				continue;
			w->len = (size_t)n;
		}
		nlh = (const struct nlmsghdr *)(w->buf + w->off);
		rem = w->len - w->off;
		if (!NLMSG_OK(nlh, (int)rem)) {
			w->off = w->len;
			continue;
		}
		w->off += NLMSG_ALIGN(nlh->nlmsg_len);
		if (bj_nbd_parse_link_dead(nlh, nlh->nlmsg_len, w->family, index) == 1)
			return 1;
	}
}

/* Keeping a device connected ---------------------------------------------- */

struct keep {
	struct bj_nbd_watch *w;
	unsigned int index;
	char dev[DEV_LEN];
	char id[BJ_NBD_ID_MAX + 2];
	char pid[32];			/* sysfs "pid": who connected it */
	const char *url;		/* in @id */
	unsigned int retry_for, connect_timeout;
	int cancel_fd;
	bj_nbd_keep_fn fn;
	void *opaque;
	bool lost;			/* notifications were lost */
};

/* Still the device we keep: the same backend identifier, connected by the same pid. */
static bool still_ours(const struct keep *k)
{
	char id[BJ_NBD_ID_MAX + 2], pid[32];

	return bj_nbd_read_sys(k->index, "backend", id, sizeof(id)) > 0 && !strcmp(id, k->id) &&
	       bj_nbd_read_sys(k->index, "pid", pid, sizeof(pid)) > 0 && !strcmp(pid, k->pid);
}

static int tell(struct keep *k, enum bj_nbd_keep_event what, unsigned int attempt,
		const char *msg, char *err)
{
	int r;

	if (!k->fn)
		return 0;
	r = k->fn(k->opaque, what, attempt, msg);
	if (r > 0)
		r = -EINVAL;
	if (r)
		bj_seterr(err, "stopped keeping %s connected: %s", k->dev, strerror(-r));
	return r;
}

/*
 * Wait until @until (ms, CLOCK_MONOTONIC) for a notification: 1 when one
 * names our device, 0 at @until, -ECANCELED (cancel_fd), -ENOBUFS (lost:
 * k->lost is set), or -errno with a line. Notifications for other devices
 * are read and dropped.
 */
static int wait_dead(struct keep *k, int64_t until, char *err)
{
	struct pollfd pfd[2] = {
		{ .fd = k->w->fd, .events = POLLIN }, { .fd = k->cancel_fd, .events = POLLIN },
	};
	unsigned int index;
	int64_t left;
	int r;

	for (;;) {
		r = watch_read(k->w, &index, err);
		if (r == -ENOBUFS)
			k->lost = true;
		if (r < 0)
			return r;
		if (r == 1 && index == k->index)
			return 1;
		if (r == 1)
			continue;
		left = until - bj_nbd_now_ms();
		if (left <= 0)
			return 0;
		r = poll(pfd, k->cancel_fd >= 0 ? 2 : 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno != EINTR) {
			r = -errno;
			bj_seterr(err, "poll: %s", strerror(-r));
			return r;
		}
		if (r > 0 && k->cancel_fd >= 0 && pfd[1].revents) {
			bj_seterr(err, "cancelled");
			return -ECANCELED;
		}
	}
}

/*
 * The device's connection died (or, with @probe, may have: notifications
 * were lost): reconnect it, one attempt a second until k->retry_for
 * seconds have passed (@probe: one attempt). 0 when the device is
 * connected again (or had no dead connection), 1 when it is gone, or
 * -errno with a line (-ETIMEDOUT: gave up).
 */
static int episode(struct keep *k, bool probe, char *err)
{
	int64_t start = bj_nbd_now_ms(), deadline, next;
	char e[BJ_ERRLEN], msg[160];
	unsigned int attempt = 0, ct;
	int64_t left;
	int r;

	deadline = start + (int64_t)k->retry_for * 1000;
	if (probe) {
		r = tell(k, BJ_NBD_KEEP_LOST, 0, "NBD link notifications were lost (the watch overran): one reconnect attempt tells whether this device needs one",
			 err);
	} else {
		snprintf(msg, sizeof(msg), "the connection is dead; reconnecting, once a second for up to %u s",
			 k->retry_for);
		r = tell(k, BJ_NBD_KEEP_DEAD, 0, msg, err);
	}
	if (r)
		return r;
	for (;;) {
		if (!still_ours(k))
			return 1;
		attempt++;
		left = (deadline - bj_nbd_now_ms() + 999) / 1000;
		ct = k->connect_timeout;
		if (left < ct)
			ct = left > 0 ? (unsigned int)left : 1;
		next = bj_nbd_now_ms() + RETRY_MS;
		r = bj_nbd_reconnect(k->dev, ct, k->cancel_fd, e);
		if (!r)
			return tell(k, BJ_NBD_KEEP_RECONNECTED, attempt, NULL, err);
		if (r == -EALREADY)
			return tell(k, BJ_NBD_KEEP_ALIVE, attempt, e, err);
		/* disconnected meanwhile (-ENOENT may also be the server's "no such export") */
		if (!still_ours(k))
			return 1;
		if (r == -ECANCELED || r == -EMEDIUMTYPE || r == -EINVAL || r == -EPERM) {
			bj_seterr(err, "%s", e);
			return r;
		}
		r = tell(k, BJ_NBD_KEEP_FAILED, attempt, e, err);
		if (r)
			return r;
		/* a lost notification may have been another device's: go on as before */
		if (probe)
			return 0;
		if (bj_nbd_now_ms() >= deadline) {
			bj_seterr(err, "gave up reconnecting %s to %s: %u attempt%s in %u s; the last: %s",
				  k->dev, k->url, attempt, attempt == 1 ? "" : "s",
				  (unsigned int)((bj_nbd_now_ms() - start + 500) / 1000), e);
			return -ETIMEDOUT;
		}
		if (next > deadline)
			next = deadline;
		/* until the next attempt: further notifications of this death are old news */
		while (bj_nbd_now_ms() < next) {
			r = wait_dead(k, next, err);
			if (r == -ENOBUFS)
				continue;
			if (r < 0)
				return r;
		}
	}
}

/* The device's request timeout in seconds (sysfs queue/io_timeout, ms). */
static unsigned int request_timeout(unsigned int index)
{
	char buf[32];
	unsigned long ms;

	if (bj_nbd_read_sys(index, "queue/io_timeout", buf, sizeof(buf)) <= 0)
		return DEFAULT_TIMEOUT;
	ms = strtoul(buf, NULL, 10);
	if (!ms || ms / 1000 > UINT_MAX)
		return DEFAULT_TIMEOUT;
	return (unsigned int)((ms + 999) / 1000);
}

int bj_nbd_keep(struct bj_nbd_watch *w, const char *dev, const struct bj_nbd_keep_opts *o,
		int cancel_fd, bj_nbd_keep_fn fn, void *opaque, char *err)
{
	struct keep k = { .w = w, .cancel_fd = cancel_fd, .fn = fn, .opaque = opaque };
	char q[80];
	int r;

	if (!w) {
		bj_seterr(err, "no watch: open one with bj_nbd_watch_open() before the connect");
		return -EINVAL;
	}
	r = bj_nbd_dev_arg(dev, &k.index, err);
	if (r)
		return r;
	snprintf(k.dev, sizeof(k.dev), "/dev/nbd%u", k.index);
	if (bj_nbd_read_sys(k.index, "backend", k.id, sizeof(k.id)) <= 0 ||
	    bj_nbd_read_sys(k.index, "pid", k.pid, sizeof(k.pid)) <= 0) {
		bj_seterr(err, "%s is not connected", k.dev);
		return -ENOENT;
	}
	k.url = bj_nbd_id_url(k.id, NULL);
	if (!k.url) {
		bj_seterr(err, "%s was not connected by blockjob (backend '%s')", k.dev,
			  bj_nbd_sanitize((const uint8_t *)k.id, strlen(k.id), q, sizeof(q)));
		return -EINVAL;
	}
	k.retry_for = o && o->retry_for ? o->retry_for :
		      bj_nbd_retry_bound(request_timeout(k.index));
	k.connect_timeout = o && o->connect_timeout ? o->connect_timeout : 10;
	for (;;) {
		if (!still_ours(&k))
			return 0;
		r = wait_dead(&k, bj_nbd_now_ms() + CHECK_MS, err);
		if (r == -ENOBUFS) {
			/* drain what is left, then find out with one attempt */
			continue;
		}
		if (r < 0)
			return r;
		if (!r && !k.lost)
			continue;
		r = episode(&k, !r, err);
		k.lost = false;
		if (r == 1)
			return 0;
		if (r)
			return r;
	}
}
