/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The NBD handshake as bytes (lib/bj-nbd-proto.c): the requests a client
 * sends and the server's answers it parses, without I/O; lib/bj-nbd.c
 * moves them over the socket. Everything parsed here comes from the
 * network: lengths are checked before use, and a server's text is
 * sanitised before it goes into a message.
 *
 * The protocol: https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md
 * (all numbers big-endian).
 */
#ifndef BJ_NBD_PROTO_H
#define BJ_NBD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bj-nbd.h"

#define BJ_NBD_MAGIC		0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define BJ_NBD_IHAVEOPT		0x49484156454f5054ULL	/* "IHAVEOPT" */
#define BJ_NBD_OLDSTYLE_MAGIC	0x0000420281861253ULL
#define BJ_NBD_REP_MAGIC	0x0003e889045565a9ULL
#define BJ_NBD_REQUEST_MAGIC	0x25609513u

/* handshake flags (server), client flags */
#define BJ_NBD_FLAG_FIXED_NEWSTYLE	(1u << 0)
#define BJ_NBD_FLAG_NO_ZEROES		(1u << 1)
#define BJ_NBD_FLAG_C_FIXED_NEWSTYLE	(1u << 0)
#define BJ_NBD_FLAG_C_NO_ZEROES		(1u << 1)

/* transmission flags (the kernel's <linux/nbd.h> has them too) */
#define BJ_NBD_TFLAG_HAS_FLAGS		(1u << 0)
#define BJ_NBD_TFLAG_READ_ONLY		(1u << 1)

#define BJ_NBD_OPT_EXPORT_NAME	1
#define BJ_NBD_OPT_ABORT	2
#define BJ_NBD_OPT_GO		7

#define BJ_NBD_REP_ACK		1
#define BJ_NBD_REP_INFO		3
#define BJ_NBD_REP_ERR(n)	(0x80000000u | (n))
#define BJ_NBD_REP_ERR_UNSUP	BJ_NBD_REP_ERR(1)
#define BJ_NBD_REP_ERR_POLICY	BJ_NBD_REP_ERR(2)
#define BJ_NBD_REP_ERR_INVALID	BJ_NBD_REP_ERR(3)
#define BJ_NBD_REP_ERR_PLATFORM	BJ_NBD_REP_ERR(4)
#define BJ_NBD_REP_ERR_TLS_REQD	BJ_NBD_REP_ERR(5)
#define BJ_NBD_REP_ERR_UNKNOWN	BJ_NBD_REP_ERR(6)
#define BJ_NBD_REP_ERR_SHUTDOWN	BJ_NBD_REP_ERR(7)
#define BJ_NBD_REP_ERR_BLOCK_SIZE_REQD	BJ_NBD_REP_ERR(8)
#define BJ_NBD_REP_ERR_TOO_BIG	BJ_NBD_REP_ERR(9)
#define BJ_NBD_REP_ERR_EXT_HEADER_REQD	BJ_NBD_REP_ERR(10)

#define BJ_NBD_INFO_EXPORT	0
#define BJ_NBD_INFO_BLOCK_SIZE	3

#define BJ_NBD_CMD_DISC		2

/* Sizes on the wire. */
#define BJ_NBD_GREETING_LEN	18	/* NBDMAGIC, IHAVEOPT, handshake flags */
#define BJ_NBD_CLIENT_FLAGS_LEN	4
#define BJ_NBD_OPT_HDR_LEN	16	/* IHAVEOPT, option, length */
#define BJ_NBD_REPLY_HDR_LEN	20	/* magic, option, type, length */
#define BJ_NBD_EXPORT_REPLY_LEN	10	/* NBD_OPT_EXPORT_NAME's: size, tflags */
#define BJ_NBD_ZEROES_LEN	124	/* after it, unless NO_ZEROES */
#define BJ_NBD_REQUEST_LEN	28	/* a transmission request (NBD_CMD_DISC) */
/* The longest option request sent: NBD_OPT_GO with the longest name, one info request. */
#define BJ_NBD_OPT_MAX		(BJ_NBD_OPT_HDR_LEN + 4 + BJ_NBD_NAME_MAX + 2 + 2)
/* A longer option reply is a protocol error (the longest sane one is a 4 KiB string). */
#define BJ_NBD_REPLY_MAX	65536
/* More replies than this to one NBD_OPT_GO is a protocol error. */
#define BJ_NBD_GO_REPLIES_MAX	64
/* The most of a server's text that goes into a message. */
#define BJ_NBD_MSG_MAX		200
/* The kernel's block size, what the client sends at the least. */
#define BJ_NBD_BLOCK_SIZE	512

/* The header of an option reply. */
struct bj_nbd_reply {
	uint32_t option, type, len;
};

/* What the replies to NBD_OPT_GO said so far (bj_nbd_go_reply()). */
struct bj_nbd_go {
	const char *name;		/* the export asked for, for messages */
	unsigned int replies;
	bool have_export;		/* NBD_INFO_EXPORT seen */
	uint64_t size;
	uint16_t tflags;
	uint32_t min_block;		/* NBD_INFO_BLOCK_SIZE's minimum, 0 if none */
	/* a refusal ended option haggling: send NBD_OPT_ABORT before closing */
	bool abort;
};

/* bj_nbd_go_reply() results besides a negative errno */
enum {
	BJ_NBD_GO_MORE,			/* read the next reply */
	BJ_NBD_GO_DONE,			/* NBD_REP_ACK: transmission phase */
	BJ_NBD_GO_UNSUP,		/* no NBD_OPT_GO: NBD_OPT_EXPORT_NAME instead */
};

/*
 * The server's greeting (BJ_NBD_GREETING_LEN bytes): 0 with its handshake
 * flags; -EPROTO (not an NBD server) or -EPROTONOSUPPORT (oldstyle, or no
 * fixed newstyle) with a line.
 */
int bj_nbd_parse_greeting(const uint8_t *buf, uint16_t *hflags, char *err);

/* The client flags answering @hflags into @buf (BJ_NBD_CLIENT_FLAGS_LEN bytes); their value. */
uint32_t bj_nbd_build_client_flags(uint16_t hflags, uint8_t *buf);

/*
 * NBD_OPT_GO for export @name asking for NBD_INFO_BLOCK_SIZE, and
 * NBD_OPT_EXPORT_NAME, NBD_OPT_ABORT, NBD_CMD_DISC: each into @buf (@len
 * bytes); its length, 0 when it does not fit or @name is longer than
 * BJ_NBD_NAME_MAX.
 */
size_t bj_nbd_build_go(const char *name, uint8_t *buf, size_t len);
size_t bj_nbd_build_export_name(const char *name, uint8_t *buf, size_t len);
size_t bj_nbd_build_abort(uint8_t *buf, size_t len);
size_t bj_nbd_build_disc(uint8_t *buf, size_t len);

/*
 * An option reply's header (BJ_NBD_REPLY_HDR_LEN bytes) to option
 * @option: 0, or -EPROTO with a line (bad magic, another option's reply,
 * longer than BJ_NBD_REPLY_MAX).
 */
int bj_nbd_parse_reply_hdr(const uint8_t *buf, uint32_t option, struct bj_nbd_reply *r,
			   char *err);

/*
 * One reply to NBD_OPT_GO (@r, its @r->len bytes of @data) into @go (set
 * up with its name and the rest zero): BJ_NBD_GO_MORE, BJ_NBD_GO_DONE (an
 * ACK after NBD_INFO_EXPORT), BJ_NBD_GO_UNSUP, or a negative errno with a
 * line: the server's error replies (its message, sanitised), a malformed
 * or unexpected reply (-EPROTO).
 */
int bj_nbd_go_reply(struct bj_nbd_go *go, const struct bj_nbd_reply *r, const uint8_t *data,
		    char *err);

/* NBD_OPT_EXPORT_NAME's reply (BJ_NBD_EXPORT_REPLY_LEN bytes). */
void bj_nbd_parse_export_reply(const uint8_t *buf, uint64_t *size, uint16_t *tflags);

/*
 * Whether export @name (@size bytes, transmission flags @tflags, minimum
 * block size @min_block or 0) will do for the kernel's client and a
 * mirror: 0, or with a line -EPROTO (no NBD_FLAG_HAS_FLAGS), -EROFS
 * (read-only), -EINVAL (empty, larger than the kernel takes, or a minimum
 * block size above 512 bytes).
 */
int bj_nbd_check_export(const char *name, uint64_t size, uint16_t tflags, uint32_t min_block,
			char *err);

/*
 * @n bytes of a server's text into @out (@outlen bytes, NUL-terminated):
 * printable ASCII kept, any other byte as '?', cut at BJ_NBD_MSG_MAX bytes
 * or @outlen (with "..."). Returns @out.
 */
char *bj_nbd_sanitize(const uint8_t *s, size_t n, char *out, size_t outlen);

/* "NBD_REP_ERR_UNKNOWN", ... for an error reply type; NULL if unknown. */
const char *bj_nbd_rep_name(uint32_t type);

/* The N of "/dev/nbdN" or "nbdN" (decimal, no leading zero): 0 or -EINVAL. */
int bj_nbd_dev_index(const char *dev, unsigned int *index);

/* True when @volume is a volume name a backend identifier can carry. */
bool bj_nbd_volume_ok(const char *volume);

/* True when backend identifier @id is one blockjob gave a device for @volume. */
bool bj_nbd_id_matches(const char *id, const char *volume);

/*
 * The URL in backend identifier @id when blockjob gave it
 * ("blockjob:VOLUME:nbd://..."): a pointer into @id, and the length of
 * VOLUME in *@vlen (may be NULL); NULL when @id is not one (no volume
 * name a volume can have, no URL).
 */
const char *bj_nbd_id_url(const char *id, size_t *vlen);

/*
 * One message received on the kernel NBD client's multicast group
 * (@len bytes at @msg, from its struct nlmsghdr; @family the "nbd"
 * family's id): 1 with the device's index in *@index when it is
 * NBD_CMD_LINK_DEAD, 0 when it is something else (another family or
 * command: not ours to judge), -EBADMSG when it is malformed (a header
 * or attribute that does not fit, a LINK_DEAD without a 4-byte
 * NBD_ATTR_INDEX).
 */
int bj_nbd_parse_link_dead(const void *msg, size_t len, int family, unsigned int *index);

/*
 * How long bj_nbd_keep() retries after a dropped connection, by default,
 * for a device whose request timeout is @timeout seconds:
 * max(2 x @timeout, BJ_NBD_KEEP_MIN_RETRY) seconds.
 */
unsigned int bj_nbd_retry_bound(unsigned int timeout);

#endif
