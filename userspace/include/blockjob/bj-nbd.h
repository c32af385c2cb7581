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

#endif
