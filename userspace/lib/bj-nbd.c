// SPDX-License-Identifier: GPL-2.0
/*
 * NBD destinations, the plumbing (bj-nbd.h): the TCP connection, the
 * handshake's I/O (its bytes are bj-nbd-proto.c's), the kernel's "nbd"
 * generic netlink family (linux/nbd-netlink.h: NBD_CMD_CONNECT answers
 * with NBD_ATTR_INDEX; NBD_CMD_RECONFIGURE reconnects), and sysfs
 * (/sys/block/nbdN/{backend,dev,holders,pid,size}). The watch and the keep
 * loop are lib/bj-nbd-keep.c's.
 *
 * The handshake runs on a non-blocking socket, each read and write waiting
 * in poll() for what is left of one deadline: no SO_RCVTIMEO, which the
 * kernel's client would inherit with the socket.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <linux/nbd-netlink.h>
#include <linux/nbd.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "bj-nbd-int.h"
#include "bj-nbd-proto.h"

#define DEFAULT_TIMEOUT		60	/* s, the kernel's request and dead-link timeouts */
#define DEFAULT_CONNECT_TIMEOUT	10	/* s, TCP connect + handshake */
#define NODE_WAIT_MS		2000	/* for /dev/nbdN after the connect */
#define DEV_LEN			sizeof("/dev/nbd1048575")

int64_t bj_nbd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until @fd is ready for @events, at most until @deadline: 1, 0 (timed
 * out), -ECANCELED (@cancel_fd, if not -1, became readable) or -errno.
 */
static int wait_fd(int fd, short events, int64_t deadline, int cancel_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = events }, { .fd = cancel_fd, .events = POLLIN },
	};
	int64_t left;
	int r;

	for (;;) {
		left = deadline - bj_nbd_now_ms();
		if (left <= 0)
			return 0;
		r = poll(pfd, cancel_fd >= 0 ? 2 : 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0 && cancel_fd >= 0 && pfd[1].revents)
			return -ECANCELED;
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* The handshake ---------------------------------------------------------- */

struct hs {
	int fd;
	int cancel_fd;			/* -1: none */
	int64_t deadline;
	unsigned int timeout_s;		/* for messages */
};

/*
 * Send (@out) or receive exactly @n bytes: 0, or -errno with a line that
 * says what the client was doing (@what).
 */
static int xfer(struct hs *h, bool out, void *buf, size_t n, const char *what, char *err)
{
	uint8_t *p = buf;
	ssize_t k;
	int r;

	while (n) {
		if (out)
			k = send(h->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			k = recv(h->fd, p, n, MSG_DONTWAIT);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (!k && !out) {
			bj_seterr(err, "the server closed the connection during the handshake (%s)", what);
			return -ECONNRESET;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			r = -errno;
			if (r == -ECONNRESET || r == -EPIPE) {
				bj_seterr(err, "the server closed the connection during the handshake (%s: %s)",
					  what, strerror(-r));
				return -ECONNRESET;
			}
			bj_seterr(err, "the handshake failed (%s): %s", what, strerror(-r));
			return r;
		}
		r = wait_fd(h->fd, out ? POLLOUT : POLLIN, h->deadline, h->cancel_fd);
		if (r == -ECANCELED) {
			bj_seterr(err, "cancelled in the NBD handshake (%s)", what);
			return r;
		}
		if (r < 0) {
			bj_seterr(err, "the handshake failed (%s): poll: %s", what, strerror(-r));
			return r;
		}
		if (!r) {
			bj_seterr(err, "timed out after %u s in the NBD handshake (%s): is that an NBD server?",
				  h->timeout_s, what);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* A last word to the server on the way out, if it takes it at once. */
static void say(struct hs *h, const uint8_t *buf, size_t n)
{
	if (n)
		send(h->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int handshake(struct hs *h, const char *name, uint64_t *size, uint16_t *tflags, char *err)
{
	uint8_t greet[BJ_NBD_GREETING_LEN], cflags_buf[BJ_NBD_CLIENT_FLAGS_LEN];
	uint8_t hdr[BJ_NBD_REPLY_HDR_LEN], last[BJ_NBD_REQUEST_LEN];
	uint8_t exp[BJ_NBD_EXPORT_REPLY_LEN + BJ_NBD_ZEROES_LEN];
	struct bj_nbd_go go = { .name = name };
	uint8_t *req = NULL, *data = NULL;
	char q[BJ_NBD_MSG_MAX + 1];
	struct bj_nbd_reply rep;
	uint32_t cflags;
	uint16_t hflags;
	size_t n;
	int r;

	if (strlen(name) > BJ_NBD_NAME_MAX) {
		bj_seterr(err, "the export name is longer than %d bytes", BJ_NBD_NAME_MAX);
		return -EINVAL;
	}
	r = xfer(h, false, greet, sizeof(greet), "waiting for the server's greeting", err);
	if (r)
		return r;
	r = bj_nbd_parse_greeting(greet, &hflags, err);
	if (r)
		return r;
	cflags = bj_nbd_build_client_flags(hflags, cflags_buf);
	r = xfer(h, true, cflags_buf, sizeof(cflags_buf), "sending the client flags", err);
	if (r)
		return r;
	req = malloc(BJ_NBD_OPT_MAX);
	data = malloc(BJ_NBD_REPLY_MAX);
	if (!req || !data) {
		bj_seterr(err, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	n = bj_nbd_build_go(name, req, BJ_NBD_OPT_MAX);
	r = xfer(h, true, req, n, "sending NBD_OPT_GO", err);
	if (r)
		goto out;
	do {
		r = xfer(h, false, hdr, sizeof(hdr), "reading a reply to NBD_OPT_GO", err);
		if (r)
			goto out;
		r = bj_nbd_parse_reply_hdr(hdr, BJ_NBD_OPT_GO, &rep, err);
		if (r)
			goto out;
		r = xfer(h, false, data, rep.len, "reading a reply to NBD_OPT_GO", err);
		if (r)
			goto out;
		r = bj_nbd_go_reply(&go, &rep, data, err);
	} while (r == BJ_NBD_GO_MORE);
	if (r < 0) {
		/* the server refused: still in option haggling, leave politely */
		if (go.abort)
			say(h, last, bj_nbd_build_abort(last, sizeof(last)));
		goto out;
	}
	if (r == BJ_NBD_GO_DONE) {
		*size = go.size;
		*tflags = go.tflags;
	} else {
		/* BJ_NBD_GO_UNSUP: a server from before NBD_OPT_GO */
		n = bj_nbd_build_export_name(name, req, BJ_NBD_OPT_MAX);
		r = xfer(h, true, req, n, "sending NBD_OPT_EXPORT_NAME", err);
		if (r)
			goto out;
		n = BJ_NBD_EXPORT_REPLY_LEN;
		if (!(cflags & BJ_NBD_FLAG_C_NO_ZEROES))
			n += BJ_NBD_ZEROES_LEN;
		r = xfer(h, false, exp, n, "reading the reply to NBD_OPT_EXPORT_NAME", err);
		if (r == -ECONNRESET) {
			/* how such a server says "no such export" (or any refusal) */
			bj_seterr(err, "the server closed the connection when asked for export '%s': it has no such export, or refused it (a server without NBD_OPT_GO gives no reason)",
				  bj_nbd_sanitize((const uint8_t *)name, strlen(name), q,
						  sizeof(q)));
			goto out;
		}
		if (r)
			goto out;
		bj_nbd_parse_export_reply(exp, size, tflags);
	}
	r = bj_nbd_check_export(name, *size, *tflags, go.min_block, err);
	if (r)
		say(h, last, bj_nbd_build_disc(last, sizeof(last)));
out:
	free(req);
	free(data);
	return r;
}

int bj_nbd_handshake(int fd, const char *export_name, unsigned int timeout_s, uint64_t *size,
		     uint16_t *tflags, char *err)
{
	struct hs h = { .fd = fd, .cancel_fd = -1 };
	uint64_t sz = 0;
	uint16_t tf = 0;
	int r;

	if (fd < 0 || !export_name) {
		bj_seterr(err, "no socket or no export name");
		return -EINVAL;
	}
	h.timeout_s = timeout_s ? timeout_s : DEFAULT_CONNECT_TIMEOUT;
	h.deadline = bj_nbd_now_ms() + (int64_t)h.timeout_s * 1000;
	r = handshake(&h, export_name, &sz, &tf, err);
	if (r)
		return r;
	*size = sz;
	*tflags = tf;
	return 0;
}

/* TCP -------------------------------------------------------------------- */

static const char *connect_hint(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return " (is the NBD server running? blockjob export on that host)";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return " (check the address and the network's route to it)";
	default:
		return "";
	}
}

/* The server's address for messages: "host:port", "[v6]:port". */
static void host_port(const struct bj_nbd_url *u, char *buf, size_t len)
{
	if (strchr(u->host, ':'))
		snprintf(buf, len, "[%s]:%u", u->host, u->port);
	else
		snprintf(buf, len, "%s:%u", u->host, u->port);
}

/*
 * Connect to @u's host, each address in turn, until @deadline: the socket
 * or -errno (-ECANCELED when @cancel_fd became readable).
 */
static int tcp_connect(const struct bj_nbd_url *u, const char *where, int64_t deadline,
		       unsigned int timeout_s, int cancel_fd, char *err)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP,
		.ai_flags = AI_NUMERICSERV,
	};
	char port[8], addr[NI_MAXHOST] = "", at[NI_MAXHOST + 320];
	struct addrinfo *res, *ai;
	int fd = -1, e = 0, r, one = 1;
	socklen_t elen;

	snprintf(port, sizeof(port), "%u", u->port);
	r = getaddrinfo(u->host, port, &hints, &res);
	if (r) {
		if (r == EAI_SYSTEM) {
			e = errno;
			bj_seterr(err, "cannot resolve the NBD server's host '%s': %s", u->host,
				  strerror(e));
			return e ? -e : -EIO;
		}
		bj_seterr(err, "cannot resolve the NBD server's host '%s': %s%s", u->host,
			  gai_strerror(r), r == EAI_AGAIN ? " (DNS?)" : "");
		if (r == EAI_NONAME || r == EAI_NODATA || r == EAI_FAMILY)
			return -ENOENT;
		return r == EAI_AGAIN ? -EAGAIN : -EIO;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0,
				NI_NUMERICHOST))
			snprintf(addr, sizeof(addr), "?");
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		e = errno;
		if (e == EINPROGRESS || e == EINTR) {
			r = wait_fd(fd, POLLOUT, deadline, cancel_fd);
			if (r == -ECANCELED) {
				close(fd);
				freeaddrinfo(res);
				bj_seterr(err, "cancelled while connecting to %s", where);
				return r;
			}
			if (r < 0) {
				e = -r;
			} else if (!r) {
				e = ETIMEDOUT;
			} else {
				elen = sizeof(e);
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen))
					e = errno;
			}
			if (!e)
				break;
		}
		close(fd);
		fd = -1;
		if (e == ETIMEDOUT && bj_nbd_now_ms() >= deadline)
			break;
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		/* the kernel's client sends each request at once */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		return fd;
	}
	if (*addr && strcmp(addr, u->host) && strcmp(addr, "?"))
		snprintf(at, sizeof(at), "%s (%s)", where, addr);
	else
		snprintf(at, sizeof(at), "%s", where);
	if (!e)
		e = EHOSTUNREACH;
	if (e == ETIMEDOUT)
		bj_seterr(err, "cannot connect to %s: timed out after %u s (is the host up? a firewall dropping the port?)",
			  at, timeout_s);
	else
		bj_seterr(err, "cannot connect to %s: %s%s", at, strerror(e), connect_hint(e));
	return -e;
}

/* sysfs ------------------------------------------------------------------ */

int bj_nbd_read_sys(unsigned int index, const char *attr, char *buf, size_t len)
{
	char path[96];
	size_t n = 0;
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "/sys/block/nbd%u/%s", index, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (n < len) {
		k = read(fd, buf + n, len - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			k = -errno;
			close(fd);
			return (int)k;
		}
		if (!k)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (n && buf[n - 1] == '\n')
		n--;
	if (n >= len)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return (int)n;
}

static bool nbd_present(unsigned int index)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/block/nbd%u", index);
	return !stat(path, &st);
}

/* True when @st is the device node of nbd@index (its sysfs "dev"). */
static bool is_node_of(const struct stat *st, unsigned int index)
{
	unsigned int ma, mi;
	char buf[32];

	if (!S_ISBLK(st->st_mode) || bj_nbd_read_sys(index, "dev", buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%u:%u", &ma, &mi) != 2)
		return false;
	return st->st_rdev == makedev(ma, mi);
}

/* Generic netlink ---------------------------------------------------------- */

struct nbd_nl {
	struct nl_sock *sk;
	int family;
};

struct nl_answer {
	int family;
	int index;			/* NBD_ATTR_INDEX of the reply, -1 if none */
	int error;			/* the kernel's, <= 0 */
	bool done;
};

static const struct nla_policy nbd_policy[NBD_ATTR_MAX + 1] = {
	[NBD_ATTR_INDEX] = { .type = NLA_U32 },
};

static void nbd_nl_close(struct nbd_nl *c)
{
	if (c->sk)
		nl_socket_free(c->sk);
	c->sk = NULL;
}

static int nbd_nl_open(struct nbd_nl *c, char *err)
{
	int r;

	c->sk = nl_socket_alloc();
	if (!c->sk) {
		bj_seterr(err, "out of memory");
		return -ENOMEM;
	}
	r = genl_connect(c->sk);
	if (r < 0) {
		bj_seterr(err, "cannot open a generic netlink socket: %s", nl_geterror(r));
		nbd_nl_close(c);
		return -EIO;
	}
	c->family = genl_ctrl_resolve(c->sk, NBD_GENL_FAMILY_NAME);
	if (c->family < 0) {
		r = c->family;
		nbd_nl_close(c);
		if (r == -NLE_OBJ_NOTFOUND) {
			bj_seterr(err, "the kernel's NBD client is not loaded: no \"%s\" generic netlink family (modprobe nbd)",
				  NBD_GENL_FAMILY_NAME);
			return -ENOENT;
		}
		bj_seterr(err, "cannot look up the \"%s\" generic netlink family: %s",
			  NBD_GENL_FAMILY_NAME, nl_geterror(r));
		return -EIO;
	}
	return 0;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct nl_answer *a = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[NBD_ATTR_MAX + 1];

	if (nlh->nlmsg_type != a->family ||
	    genlmsg_parse(nlh, 0, tb, NBD_ATTR_MAX, nbd_policy) < 0)
		return NL_SKIP;
	if (tb[NBD_ATTR_INDEX] && nla_len(tb[NBD_ATTR_INDEX]) == 4)
		a->index = (int)nla_get_u32(tb[NBD_ATTR_INDEX]);
	return NL_OK;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nl_answer *a = arg;

	a->error = e->error < 0 ? e->error : -EIO;
	a->done = true;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct nl_answer *a = arg;

	a->done = true;
	return NL_STOP;
}

/*
 * Send @msg and read the answer up to the kernel's ACK or error: 0 with
 * a->error the kernel's answer (0 or -errno: the caller says what it
 * means) and a->index from its reply (-1 if none), or -errno with a line
 * when netlink itself failed.
 */
static int nbd_nl_call(struct nbd_nl *c, struct nl_msg *msg, struct nl_answer *a, const char *what,
		   char *err)
{
	struct nl_cb *cb;
	int r;

	a->family = c->family;
	a->index = -1;
	a->error = 0;
	a->done = false;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		bj_seterr(err, "out of memory");
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, a);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, a);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, a);
	r = nl_send_auto(c->sk, msg);
	if (r < 0) {
		bj_seterr(err, "cannot send %s: %s", what, nl_geterror(r));
		nl_cb_put(cb);
		return -EIO;
	}
	while (!a->done) {
		r = nl_recvmsgs(c->sk, cb);
		if (a->done)
			break;
		if (r < 0) {
			bj_seterr(err, "no answer to %s: %s", what, nl_geterror(r));
			nl_cb_put(cb);
			return -EIO;
		}
	}
	nl_cb_put(cb);
	return 0;
}

static struct nl_msg *nbd_msg(struct nbd_nl *c, uint8_t cmd, size_t size)
{
	struct nl_msg *msg = nlmsg_alloc_size(size);

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0, 0, cmd,
				NBD_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

/*
 * The socket and backend identifier of a connect or a reconfigure:
 * NBD_ATTR_SOCKETS { NBD_SOCK_ITEM { NBD_SOCK_FD @fd } } and
 * NBD_ATTR_BACKEND_IDENTIFIER @id. 0, or -1 when @msg is full.
 */
static int put_socket(struct nl_msg *msg, int fd, const char *id)
{
	struct nlattr *socks, *item;

	if (!(socks = nla_nest_start(msg, NBD_ATTR_SOCKETS)) ||
	    !(item = nla_nest_start(msg, NBD_SOCK_ITEM)) ||
	    nla_put_u32(msg, NBD_SOCK_FD, (uint32_t)fd) < 0 ||
	    nla_nest_end(msg, item) < 0 || nla_nest_end(msg, socks) < 0 ||
	    nla_put_string(msg, NBD_ATTR_BACKEND_IDENTIFIER, id) < 0)
		return -1;
	return 0;
}

/* NBD_CMD_DISCONNECT of nbd@index on @c (opened here if it is not yet). */
static int disconnect_index(struct nbd_nl *c, unsigned int index, char *err)
{
	struct nl_answer a;
	struct nl_msg *msg;
	int r;

	if (!c->sk) {
		r = nbd_nl_open(c, err);
		if (r)
			return r;
	}
	msg = nbd_msg(c, NBD_CMD_DISCONNECT, 4096);
	if (!msg || nla_put_u32(msg, NBD_ATTR_INDEX, index) < 0) {
		nlmsg_free(msg);
		bj_seterr(err, "out of memory");
		return -ENOMEM;
	}
	r = nbd_nl_call(c, msg, &a, "NBD_CMD_DISCONNECT", err);
	nlmsg_free(msg);
	if (r)
		return r;
	r = a.error;
	if (r == -EPERM)
		bj_seterr(err, "permission denied: disconnecting an NBD device needs CAP_SYS_ADMIN (run as root)");
	else if (r == -EINVAL && !nbd_present(index))
		bj_seterr(err, "/dev/nbd%u: no such NBD device", index);
	else if (r)
		bj_seterr(err, "the kernel refused to disconnect /dev/nbd%u: %s (the kernel log says more)",
			  index, strerror(-r));
	return r;
}

/*
 * The device the kernel connected for us when its reply did not say which:
 * backend identifier @id, connected by this thread or process (sysfs "pid").
 */
static int find_ours(const char *id, unsigned int *index)
{
	char got[BJ_NBD_ID_MAX + 2], pid[32];
	struct dirent *de;
	unsigned int i;
	long p;
	DIR *d;
	int r = -ENOENT;

	d = opendir("/sys/block");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (bj_nbd_dev_index(de->d_name, &i) ||
		    bj_nbd_read_sys(i, "backend", got, sizeof(got)) <= 0 || strcmp(got, id) ||
		    bj_nbd_read_sys(i, "pid", pid, sizeof(pid)) <= 0)
			continue;
		p = strtol(pid, NULL, 10);
		if (p == (long)getpid() || p == (long)gettid()) {
			*index = i;
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

/* NBD_CMD_CONNECT of socket @fd: 0 with *@index, or -errno with a line. */
static int kernel_connect(int fd, const char *id, uint64_t size, uint16_t tflags,
			  unsigned int timeout, unsigned int *index, char *err)
{
	struct nbd_nl c = { NULL, 0 };
	char derr[BJ_ERRLEN];
	struct nl_answer a;
	struct nl_msg *msg;
	int r;

	r = nbd_nl_open(&c, err);
	if (r)
		return r;
	msg = nbd_msg(&c, NBD_CMD_CONNECT, BJ_NBD_ID_MAX + 1024);
	if (!msg || nla_put_u64(msg, NBD_ATTR_SIZE_BYTES, size) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_BLOCK_SIZE_BYTES, BJ_NBD_BLOCK_SIZE) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_SERVER_FLAGS, tflags) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_TIMEOUT, timeout) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_DEAD_CONN_TIMEOUT, timeout) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_CLIENT_FLAGS, NBD_CFLAG_DESTROY_ON_DISCONNECT) < 0 ||
	    put_socket(msg, fd, id)) {
		nlmsg_free(msg);
		nbd_nl_close(&c);
		bj_seterr(err, "out of memory");
		return -ENOMEM;
	}
	r = nbd_nl_call(&c, msg, &a, "NBD_CMD_CONNECT", err);
	nlmsg_free(msg);
	if (r) {
		/* no answer: leave nothing connected that may have been */
		if (!find_ours(id, index))
			disconnect_index(&c, *index, derr);
	} else if (a.error == -EPERM) {
		bj_seterr(err, "permission denied: connecting an NBD device needs CAP_SYS_ADMIN (run as root)");
		r = a.error;
	} else if (a.error) {
		bj_seterr(err, "the kernel refused to connect an NBD device (NBD_CMD_CONNECT): %s (the kernel log says more)",
			  strerror(-a.error));
		r = a.error;
	} else if (a.index >= 0) {
		*index = (unsigned int)a.index;
	} else if (find_ours(id, index)) {
		bj_seterr(err, "the kernel connected an NBD device without saying which (no NBD_ATTR_INDEX), and none with backend %s is ours",
			  id);
		r = -EPROTO;
	}
	nbd_nl_close(&c);
	return r;
}

/* /dev/nbd@index is there and is that device: 0, or -ENODEV after NODE_WAIT_MS. */
static int wait_node(const char *dev, unsigned int index)
{
	struct timespec pause = { 0, 20 * 1000000 };
	int64_t end = bj_nbd_now_ms() + NODE_WAIT_MS;
	struct stat st;

	for (;;) {
		if (!stat(dev, &st) && is_node_of(&st, index))
			return 0;
		if (bj_nbd_now_ms() >= end)
			return -ENODEV;
		nanosleep(&pause, NULL);
	}
}

int bj_nbd_connect(const char *volume, const char *url, const struct bj_nbd_opts *o,
		   char *dev, size_t devlen, uint64_t *size, char *err)
{
	unsigned int timeout = o && o->timeout ? o->timeout : DEFAULT_TIMEOUT;
	unsigned int ctimeout = o && o->connect_timeout ? o->connect_timeout :
				DEFAULT_CONNECT_TIMEOUT;
	char id[BJ_NBD_ID_MAX + 1], where[300], herr[BJ_ERRLEN], node[DEV_LEN], derr[BJ_ERRLEN];
	struct bj_nbd_url u;
	unsigned int index = 0;
	uint16_t tflags;
	uint64_t sz;
	struct hs h;
	int fd, r;

	r = bj_nbd_backend_id(volume, url, id, sizeof(id), err);
	if (r)
		return r;
	r = bj_nbd_parse_url(url, &u, err);
	if (r)
		return r;
	if (devlen < DEV_LEN) {
		bj_seterr(err, "the device name buffer has %zu bytes, not %zu", devlen, DEV_LEN);
		return -EINVAL;
	}
	host_port(&u, where, sizeof(where));
	h.timeout_s = ctimeout;
	h.cancel_fd = -1;
	h.deadline = bj_nbd_now_ms() + (int64_t)ctimeout * 1000;
	fd = tcp_connect(&u, where, h.deadline, ctimeout, -1, err);
	if (fd < 0)
		return fd;
	h.fd = fd;
	r = handshake(&h, u.export_name, &sz, &tflags, herr);
	if (r) {
		bj_seterr(err, "%s: %s", where, herr);
		close(fd);
		return r;
	}
	/* the kernel's client reads and writes it blocking */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		r = -errno;
		bj_seterr(err, "fcntl: %s", strerror(errno));
		close(fd);
		return r;
	}
	r = kernel_connect(fd, id, sz, tflags, timeout, &index, err);
	/* the kernel holds the socket now, or refused it */
	close(fd);
	if (r)
		return r;
	snprintf(node, sizeof(node), "/dev/nbd%u", index);
	if (wait_node(node, index)) {
		struct nbd_nl c = { NULL, 0 };

		r = disconnect_index(&c, index, derr);
		nbd_nl_close(&c);
		bj_seterr(err, "the kernel connected nbd%u but %s is not its device node after %d s (no devtmpfs on /dev?); %s",
			  index, node, NODE_WAIT_MS / 1000, r ? derr : "disconnected it");
		return -ENODEV;
	}
	snprintf(dev, devlen, "%s", node);
	*size = sz;
	return 0;
}

/* Reconnecting ------------------------------------------------------------ */

/*
 * NBD_CMD_RECONFIGURE of nbd@index with socket @fd and backend identifier
 * @id: 0 (the kernel took the socket, or had no dead connection to put it
 * in: it answers both alike) or -errno with a line.
 */
static int kernel_reconfigure(unsigned int index, int fd, const char *id, char *err)
{
	struct nbd_nl c = { NULL, 0 };
	struct nl_answer a;
	struct nl_msg *msg;
	int r;

	r = nbd_nl_open(&c, err);
	if (r)
		return r;
	msg = nbd_msg(&c, NBD_CMD_RECONFIGURE, BJ_NBD_ID_MAX + 1024);
	if (!msg || nla_put_u32(msg, NBD_ATTR_INDEX, index) < 0 || put_socket(msg, fd, id)) {
		nlmsg_free(msg);
		nbd_nl_close(&c);
		bj_seterr(err, "out of memory");
		return -ENOMEM;
	}
	r = nbd_nl_call(&c, msg, &a, "NBD_CMD_RECONFIGURE", err);
	nlmsg_free(msg);
	nbd_nl_close(&c);
	if (r)
		return r;
	if (a.error == -EPERM)
		bj_seterr(err, "permission denied: reconnecting an NBD device needs CAP_SYS_ADMIN (run as root)");
	else if (a.error)
		bj_seterr(err, "the kernel refused to reconnect /dev/nbd%u (NBD_CMD_RECONFIGURE): %s (the kernel log says more)",
			  index, strerror(-a.error));
	return a.error;
}

/* True when the kernel holds socket @fd: it set the send timeout it gives its sockets. */
static bool kernel_took(int fd)
{
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len))
		return false;
	return tv.tv_sec || tv.tv_usec;
}

int bj_nbd_reconnect(const char *dev, unsigned int connect_timeout, int cancel_fd, char *err)
{
	unsigned int ctimeout = connect_timeout ? connect_timeout : DEFAULT_CONNECT_TIMEOUT;
	char id[BJ_NBD_ID_MAX + 2], where[300], herr[BJ_ERRLEN], buf[32], q[80];
	uint64_t size, sectors;
	struct bj_nbd_url u;
	unsigned int index;
	const char *url;
	uint8_t last[BJ_NBD_REQUEST_LEN];
	uint16_t tflags;
	struct hs h;
	int fd, r;

	r = bj_nbd_dev_arg(dev, &index, err);
	if (r)
		return r;
	r = bj_nbd_read_sys(index, "backend", id, sizeof(id));
	if (r <= 0 || bj_nbd_read_sys(index, "size", buf, sizeof(buf)) <= 0) {
		bj_seterr(err, "/dev/nbd%u is not connected (any more)", index);
		return -ENOENT;
	}
	url = bj_nbd_id_url(id, NULL);
	if (!url) {
		bj_seterr(err, "/dev/nbd%u was not connected by blockjob (backend '%s'); not reconnecting it",
			  index, bj_nbd_sanitize((const uint8_t *)id, strlen(id), q, sizeof(q)));
		return -EINVAL;
	}
	sectors = strtoull(buf, NULL, 10);
	r = bj_nbd_parse_url(url, &u, err);
	if (r)
		return r;
	host_port(&u, where, sizeof(where));
	h.timeout_s = ctimeout;
	h.cancel_fd = cancel_fd;
	h.deadline = bj_nbd_now_ms() + (int64_t)ctimeout * 1000;
	fd = tcp_connect(&u, where, h.deadline, ctimeout, cancel_fd, err);
	if (fd < 0)
		return fd;
	h.fd = fd;
	r = handshake(&h, u.export_name, &size, &tflags, herr);
	if (r) {
		bj_seterr(err, "%s: %s", where, herr);
		close(fd);
		return r;
	}
	if (size / BJ_NBD_BLOCK_SIZE != sectors) {
		bj_seterr(err, "%s: the export '%s' has %" PRIu64 " bytes now, /dev/nbd%u %" PRIu64 ": not the export it was connected to; not reconnecting",
			  where, bj_nbd_sanitize((const uint8_t *)u.export_name,
						 strlen(u.export_name), q, sizeof(q)),
			  size, index, sectors * BJ_NBD_BLOCK_SIZE);
		say(&h, last, bj_nbd_build_disc(last, sizeof(last)));
		close(fd);
		return -EMEDIUMTYPE;
	}
	/* the kernel's client reads and writes it blocking */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		r = -errno;
		bj_seterr(err, "fcntl: %s", strerror(errno));
		close(fd);
		return r;
	}
	r = kernel_reconfigure(index, fd, id, err);
	if (r == -EINVAL && (bj_nbd_read_sys(index, "backend", herr, sizeof(herr)) <= 0 ||
			     strcmp(herr, id))) {
		bj_seterr(err, "/dev/nbd%u was disconnected while it was being reconnected", index);
		r = -ENOENT;
	}
	if (!r && !kernel_took(fd)) {
		bj_seterr(err, "/dev/nbd%u has no dead connection to replace (reconnected already?); the new connection to %s is closed",
			  index, where);
		say(&h, last, bj_nbd_build_disc(last, sizeof(last)));
		r = -EALREADY;
	}
	/* the kernel holds the socket now, or refused it */
	close(fd);
	return r;
}

/* Disconnecting, finding ------------------------------------------------- */

int bj_nbd_dev_arg(const char *dev, unsigned int *index, char *err)
{
	char q[80];

	if (bj_nbd_dev_index(dev, index)) {
		bj_seterr(err, "'%s' is not an NBD device (/dev/nbdN)",
			  bj_nbd_sanitize((const uint8_t *)(dev ? dev : ""), dev ? strlen(dev) : 0,
					  q, sizeof(q)));
		return -EINVAL;
	}
	if (!nbd_present(*index)) {
		bj_seterr(err, "/dev/nbd%u: no such NBD device", *index);
		return -ENODEV;
	}
	return 0;
}

int bj_nbd_disconnect(const char *dev, char *err)
{
	struct nbd_nl c = { NULL, 0 };
	unsigned int index;
	int r;

	r = bj_nbd_dev_arg(dev, &index, err);
	if (r)
		return r;
	r = disconnect_index(&c, index, err);
	nbd_nl_close(&c);
	return r;
}

int bj_nbd_backend(const char *dev, char *id, size_t idlen, char *err)
{
	unsigned int index;
	int r;

	r = bj_nbd_dev_arg(dev, &index, err);
	if (r)
		return r;
	if (!idlen) {
		bj_seterr(err, "no room for the backend identifier");
		return -ENAMETOOLONG;
	}
	r = bj_nbd_read_sys(index, "backend", id, idlen);
	if (r > 0)
		return 0;
	id[0] = 0;
	if (!r || r == -ENOENT) {
		bj_seterr(err, "/dev/nbd%u is not connected%s", index,
			  r ? ", or not with a backend identifier" : " with a backend identifier");
		return -ENOENT;
	}
	if (r == -ENAMETOOLONG)
		bj_seterr(err, "the backend identifier of /dev/nbd%u has more than %zu bytes", index,
			  idlen - 1);
	else
		bj_seterr(err, "cannot read /sys/block/nbd%u/backend: %s", index, strerror(-r));
	return r;
}

/* 1 when nbd@index is held (holders, or open exclusively), 0 if not, or -errno with a line. */
static int in_use(unsigned int index, char *err)
{
	char path[64];
	struct dirent *de;
	struct stat st;
	int fd, r = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/block/nbd%u/holders", index);
	d = opendir(path);
	if (!d) {
		r = -errno;
		bj_seterr(err, "cannot list %s: %s", path, strerror(-r));
		return r;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			r = 1;
	closedir(d);
	if (r)
		return 1;
	snprintf(path, sizeof(path), "/dev/nbd%u", index);
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EBUSY)
			return 1;
		r = -errno;
		bj_seterr(err, "cannot tell whether %s is in use: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) || !is_node_of(&st, index)) {
		bj_seterr(err, "%s is not the device node of nbd%u", path, index);
		r = -ENODEV;
	}
	close(fd);
	return r;
}

int bj_nbd_release_unused(const char *volume, unsigned int *released, char *err)
{
	char id[BJ_NBD_ID_MAX + 2], e[BJ_ERRLEN], q[80];
	struct nbd_nl c = { NULL, 0 };
	struct dirent *de;
	unsigned int index;
	int r, first = 0;
	DIR *d;

	*released = 0;
	if (!bj_nbd_volume_ok(volume)) {
		bj_seterr(err, "'%s' cannot be a volume name",
			  bj_nbd_sanitize((const uint8_t *)(volume ? volume : ""),
					  volume ? strlen(volume) : 0, q, sizeof(q)));
		return -EINVAL;
	}
	d = opendir("/sys/block");
	if (!d) {
		r = -errno;
		bj_seterr(err, "cannot list /sys/block: %s", strerror(-r));
		return r;
	}
	while ((de = readdir(d))) {
		if (bj_nbd_dev_index(de->d_name, &index) ||
		    bj_nbd_read_sys(index, "backend", id, sizeof(id)) <= 0 || !bj_nbd_id_matches(id, volume))
			continue;
		r = in_use(index, e);
		if (!r)
			r = disconnect_index(&c, index, e);
		if (!r)
			(*released)++;
		if (r < 0 && !first) {
			first = r;
			bj_seterr(err, "%s", e);
		}
	}
	closedir(d);
	nbd_nl_close(&c);
	return first;
}
