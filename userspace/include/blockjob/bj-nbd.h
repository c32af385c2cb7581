/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NBD destinations: the Linux kernel's NBD client (module nbd), driven
 * through its generic netlink family "nbd", so that a job can mirror into
 * /dev/nbdN, an export of an NBD server on another host (live storage
 * migration: 'blockjob mirror NAME nbd://HOST[:PORT]/EXPORT').
 *
 * The library speaks the NBD handshake itself (fixed newstyle,
 * NBD_OPT_GO, NBD_OPT_EXPORT_NAME for servers without it) and hands the
 * connected socket to the kernel; it runs no nbd-client and loads no
 * module. Every NBD device it connects carries a backend identifier
 * (sysfs /sys/block/nbdN/backend) "blockjob:VOLUME:URL" with the URL in
 * the canonical form of bj_nbd_backend_id(), so that the devices of a
 * volume can be found again and the kernel refuses to reconfigure one to
 * another export.
 *
 * Functions return 0 or a negative errno and leave one line in @err
 * (BJ_ERRLEN) saying what failed and why; nothing here prints.
 * Documentation/libblockjob.rst, "NBD destinations".
 */
#ifndef BJ_NBD_H
#define BJ_NBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bj-err.h"

#define BJ_NBD_PORT 10809		/* IANA port of NBD */
#define BJ_NBD_NAME_MAX 4096		/* NBD's limit on an export name, in bytes */
/*
 * The longest backend identifier, in bytes without the NUL: the kernel
 * shows it in sysfs (one page with its newline), so a longer one (an
 * export name of thousands of bytes) is refused. A buffer of
 * BJ_NBD_ID_MAX + 1 bytes holds any.
 */
#define BJ_NBD_ID_MAX 4000

struct bj_nbd_url {
	char host[256];			/* name, IPv4, or IPv6 without the brackets */
	unsigned int port;		/* BJ_NBD_PORT when the URL has none */
	char export_name[BJ_NBD_NAME_MAX + 1];	/* may be "" (the default export) */
};

/* True when @s starts with "nbd://". */
bool bj_nbd_is_url(const char *s);

/*
 * Parse nbd://HOST[:PORT]/EXPORT into @u. HOST is a name, an IPv4 address
 * or an IPv6 address in brackets ([fe80::1%25eth0]: a zone as RFC 6874
 * writes it); PORT 1 to 65535 (default BJ_NBD_PORT); EXPORT is
 * percent-decoded (%2F is '/', %20 a space) as the NBD URI format says:
 * "nbd://host" and "nbd://host/" name the default export "". 0, or -EINVAL
 * with a line saying what is wrong and the expected form: no host, a port
 * of 0, above 65535 or not a number, anything after the port, a user name,
 * query parameters or a fragment, a control character (raw or
 * percent-encoded), a bad percent escape, an export name longer than
 * BJ_NBD_NAME_MAX bytes.
 */
int bj_nbd_parse_url(const char *url, struct bj_nbd_url *u, char *err);

/*
 * The backend identifier blockjob gives the device it connects for volume
 * @volume to @url: "blockjob:VOLUME:nbd://HOST:PORT/EXPORT", the port
 * always written, HOST in lower case (an IPv6 address in brackets), the
 * export percent-encoded but for letters, digits and -._~!$&'()*+,;=:@/.
 * Two spellings of one URL give one identifier. Into @id (@len bytes):
 * 0, -EINVAL (a bad URL, a volume name that is empty, has a '/' or a
 * control character, or is longer than device-mapper's 127 bytes) or
 * -ENAMETOOLONG (longer than BJ_NBD_ID_MAX, or than @len), with a line.
 */
int bj_nbd_backend_id(const char *volume, const char *url, char *id, size_t len, char *err);

struct bj_nbd_opts {
	/*
	 * Seconds: the kernel's per-request timeout and its dead-connection
	 * timeout (NBD_ATTR_TIMEOUT, NBD_ATTR_DEAD_CONN_TIMEOUT); 0: 60.
	 */
	unsigned int timeout;
	unsigned int connect_timeout;	/* seconds for TCP connect + handshake; 0: 10 */
};

/*
 * Connect the kernel NBD client to @url on behalf of volume @volume: parse
 * the URL, resolve HOST (getaddrinfo; each address in turn), TCP connect
 * within @o->connect_timeout (TCP_NODELAY), the handshake
 * (bj_nbd_handshake(), in the same time), then NBD_CMD_CONNECT on generic
 * netlink with the export's size, block size 512, the server's
 * transmission flags, the timeouts, NBD_CFLAG_DESTROY_ON_DISCONNECT and
 * the backend identifier of bj_nbd_backend_id(). @o may be NULL (the
 * defaults). On success @dev gets "/dev/nbdN" (@devlen bytes; its node
 * is there), *@size the export's size in bytes (the device has that many
 * rounded down to 512-byte sectors). On any failure nothing is left
 * connected or open, and @err says which step failed and why, e.g.
 * "cannot connect to 192.0.2.2:10809: Connection refused (is the NBD
 * server running? blockjob export on that host)", "192.0.2.2:10809: the
 * server has no export 'foo' (NBD_REP_ERR_UNKNOWN: ...)", "the kernel's
 * NBD client is not loaded (modprobe nbd)". Errors: -EINVAL (the URL or
 * the volume name), the handshake's (below), a TCP connect's errno
 * (-ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH, -ETIMEDOUT, ...), -ENOENT
 * (no such host; no "nbd" netlink family), -EPERM (not CAP_SYS_ADMIN), or
 * the kernel's errno for NBD_CMD_CONNECT.
 */
int bj_nbd_connect(const char *volume, const char *url, const struct bj_nbd_opts *o,
		   char *dev, size_t devlen, uint64_t *size, char *err);

/*
 * The NBD handshake on @fd, a connected stream socket (blocking or not),
 * for export @export_name, within @timeout_s seconds (0: 10): the server's
 * greeting (fixed newstyle required; NO_ZEROES used when offered),
 * NBD_OPT_GO asking for the block sizes (NBD_OPT_EXPORT_NAME when the
 * server answers NBD_REP_ERR_UNSUP). On success the connection is in the
 * transmission phase: *@size is the export's size in bytes, *@tflags its
 * transmission flags (NBD_FLAG_*). Refused, with a line: a server that
 * is not one (-EPROTO) or speaks no fixed newstyle (-EPROTONOSUPPORT),
 * no such export (-ENOENT), the server's policy or TLS required (-EACCES),
 * the server shutting down (-ESHUTDOWN), any other error reply (-EIO), a
 * read-only export (-EROFS), an empty one or one that needs requests
 * larger than 512 bytes (-EINVAL), a reply that breaks the protocol
 * (another option's, over 64 KiB, malformed: -EPROTO), the connection
 * closed mid-way (-ECONNRESET), or no answer in time (-ETIMEDOUT). The
 * server's messages are in @err, cut short, bytes outside printable ASCII
 * as '?'. Refusing an export it was given, the client tells the server
 * (NBD_OPT_ABORT, NBD_CMD_DISC); @fd stays open, the caller's.
 */
int bj_nbd_handshake(int fd, const char *export_name, unsigned int timeout_s, uint64_t *size,
		     uint16_t *tflags, char *err);

/* NBD_CMD_DISCONNECT of /dev/nbdN (@dev, or "nbdN"): 0, or a negative errno with a line. */
int bj_nbd_disconnect(const char *dev, char *err);

/*
 * The backend identifier of /dev/nbdN (@dev, or "nbdN"; sysfs
 * /sys/block/nbdN/backend) into @id (@idlen bytes): 0 when connected with
 * one; -ENOENT when not connected or connected without one; -ENODEV (no
 * such NBD device), -EINVAL (@dev names none), -ENAMETOOLONG (@idlen too
 * small), with a line in each case.
 */
int bj_nbd_backend(const char *dev, char *id, size_t idlen, char *err);

/*
 * Disconnect every NBD device that blockjob connected for volume @volume
 * (backend identifier "blockjob:VOLUME:nbd://...") and that nothing holds
 * any more: no holders in sysfs (/sys/block/nbdN/holders empty: no dm table
 * maps it) and not opened exclusively (an open(O_EXCL) succeeds: not
 * mounted, not held by a job). *@released gets the count disconnected.
 * Devices of other volumes and devices in use stay. 0, or the first error
 * (after trying every device).
 */
int bj_nbd_release_unused(const char *volume, unsigned int *released, char *err);

/* Dropped connections ------------------------------------------------------ */

/*
 * When the kernel's client finds its connection to the server dead (a
 * request timed out, the socket failed or was closed), it holds the
 * device's requests for the dead-connection timeout, waiting for a new
 * connection, and multicasts NBD_CMD_LINK_DEAD with the device's index to
 * the "nbd_mc_group" group of the "nbd" family. After that timeout it
 * fails them, and every later one at once, until a new connection comes.
 * bj_nbd_reconnect() gives it one; bj_nbd_keep() waits for the
 * notification and retries, within a bound.
 */

/*
 * Reconnect /dev/nbdN (@dev, or "nbdN"), a device bj_nbd_connect()
 * connected: a new TCP connection and handshake to the URL of its backend
 * identifier, within @connect_timeout seconds (0: 10), then
 * NBD_CMD_RECONFIGURE with the new socket and the same identifier, which
 * the kernel puts in the place of the dead one. The export must have the
 * device's size, else it is another one and is refused. The request and
 * dead-connection timeouts stay those of the connect. @cancel_fd (-1:
 * none) ends the attempt with -ECANCELED once it is readable (a signalfd,
 * a pipe), whichever step it is in but the name lookup.
 *
 * 0: the kernel took the connection (requests held for it go on).
 * -EALREADY: it did not take it, having no dead connection on the device
 * (someone reconnected it already, or it never was dead); the new
 * connection is closed (NBD_CMD_DISC first). The kernel answers both
 * alike; the library tells them apart by the socket's send timeout, which
 * the kernel sets to the device's request timeout when it takes a socket.
 * Errors, with a line: those of bj_nbd_connect()'s TCP connect and
 * handshake; -EMEDIUMTYPE (the export's size is not the device's);
 * -ENOENT (not connected, or no longer: disconnected meanwhile); -EINVAL
 * (@dev names no NBD device, or one blockjob did not connect: no backend
 * identifier "blockjob:VOLUME:nbd://..."); -ENODEV (no such device);
 * -EPERM; the kernel's errno for NBD_CMD_RECONFIGURE.
 */
int bj_nbd_reconnect(const char *dev, unsigned int connect_timeout, int cancel_fd, char *err);

/*
 * A subscription to the kernel NBD client's notifications (its multicast
 * group): opened before the connect whose drops it should see, so that
 * none is missed (reconnecting needs CAP_SYS_ADMIN).
 */
struct bj_nbd_watch;

/* 0 with *@w, or -ENOENT (module nbd not loaded: no "nbd" family), -errno with a line. */
int bj_nbd_watch_open(struct bj_nbd_watch **w, char *err);
/*
 * Adopt @fd, the socket of a watch another process opened
 * (bj_nbd_watch_fd(), inherited across fork and exec without
 * FD_CLOEXEC): what it received since it was opened is still there. The
 * watch owns @fd from then on (close-on-exec again, non-blocking), also
 * on failure (-EBADF: not a generic netlink socket; -ENOENT, -errno).
 */
int bj_nbd_watch_adopt(int fd, struct bj_nbd_watch **w, char *err);
/* The watch's socket, readable when a notification is pending. */
int bj_nbd_watch_fd(const struct bj_nbd_watch *w);
void bj_nbd_watch_close(struct bj_nbd_watch *w);

/* Without a connection for this long after a dead link, bj_nbd_keep() gives up (at the least). */
#define BJ_NBD_KEEP_MIN_RETRY 30	/* seconds */

/* What bj_nbd_keep() tells its callback. */
enum bj_nbd_keep_event {
	BJ_NBD_KEEP_DEAD,		/* the connection is dead: @msg says how long it retries */
	BJ_NBD_KEEP_FAILED,		/* attempt @attempt failed: @msg says why */
	BJ_NBD_KEEP_RECONNECTED,	/* attempt @attempt reconnected the device */
	BJ_NBD_KEEP_ALIVE,		/* the device had no dead connection (any more): @msg */
	BJ_NBD_KEEP_LOST,		/* notifications were lost (the watch overran): @msg */
};

/*
 * Called by bj_nbd_keep() with @opaque: return 0 to go on, or a negative
 * errno to end it (it returns that). @msg is one line or NULL.
 */
typedef int (*bj_nbd_keep_fn)(void *opaque, enum bj_nbd_keep_event what, unsigned int attempt,
			      const char *msg);

struct bj_nbd_keep_opts {
	/*
	 * Seconds to retry after a connection died before giving up; 0:
	 * bj_nbd_retry_bound() of the device's request timeout (sysfs
	 * queue/io_timeout), i.e. max(2 x timeout, BJ_NBD_KEEP_MIN_RETRY).
	 */
	unsigned int retry_for;
	unsigned int connect_timeout;	/* seconds per attempt; 0: 10 (cut to what is left) */
};

/*
 * Keep /dev/nbdN (@dev), a device bj_nbd_connect() connected, connected
 * until it is disconnected: blocks. @w is a watch opened before that
 * connect (bj_nbd_watch_open(), or adopted). Each NBD_CMD_LINK_DEAD for
 * the device starts a retry loop: bj_nbd_reconnect() at once, then one
 * attempt a second (each within @o->connect_timeout, cut to what is
 * left), until one reconnects or @o->retry_for seconds have passed since
 * the notification. Every second, and at each attempt, it checks that the
 * device is still the one it keeps (sysfs: the same backend identifier
 * and connecting pid), and ends when it is not. @o may be NULL (the
 * defaults). @fn (may be NULL) hears of each step.
 *
 * If the watch overran (notifications lost), one attempt tells whether
 * the device needed one (-EALREADY: it did not); a server that serves one
 * client at a time leaves that attempt in its handshake, and the loop
 * goes on as if the connection were alive.
 *
 * Returns 0 when the device was disconnected (the normal end: its job
 * ended, the volume was removed); -ECANCELED when @cancel_fd (-1: none)
 * became readable; -ETIMEDOUT when it gave up ("gave up reconnecting
 * /dev/nbd0 to nbd://...: N attempts in S s; the last: ..."), leaving the
 * device connected with its dead connection; -EMEDIUMTYPE at once when
 * the server exports something else there now; -ENOENT if the device was
 * not connected at the start; -EINVAL (not blockjob's device); a negative
 * errno from @fn, or of the watch. Each with a line in @err.
 */
int bj_nbd_keep(struct bj_nbd_watch *w, const char *dev, const struct bj_nbd_keep_opts *o,
		int cancel_fd, bj_nbd_keep_fn fn, void *opaque, char *err);

#endif
