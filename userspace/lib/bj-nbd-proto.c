// SPDX-License-Identifier: GPL-2.0
/*
 * The pure half of NBD destinations (bj-nbd.h, bj-nbd-proto.h): NBD URLs,
 * backend identifiers, the handshake's requests and replies as bytes, and
 * the kernel client's NBD_CMD_LINK_DEAD notification. No I/O: lib/bj-nbd.c
 * and lib/bj-nbd-keep.c do that.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/nbd-netlink.h>
#include <linux/netlink.h>

#include "bj-nbd-proto.h"

#define URL_FORM "nbd://HOST[:PORT]/EXPORT, HOST a name, an IPv4 address or an [IPv6] address"
#define VOLUME_MAX 127			/* device-mapper's, BJ_DM_NAME_MAX */
#define NBD_MINORS_MAX (1u << 20)	/* the kernel's MINORBITS */

/* Big-endian fields ------------------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	return put16(p + 2, v & 0xffff);
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	return put32(p + 4, v & 0xffffffffu);
}

static bool ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Text for messages ------------------------------------------------------ */

char *bj_nbd_sanitize(const uint8_t *s, size_t n, char *out, size_t outlen)
{
	size_t max, i, o = 0;

	if (!outlen)
		return out;
	max = outlen - 1 < BJ_NBD_MSG_MAX ? outlen - 1 : BJ_NBD_MSG_MAX;
	/* a trailing newline or blank is no part of the message */
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (i = 0; i < n && o < max; i++)
		out[o++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	if (i < n && max >= 3) {
		o = max - 3;
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
	return out;
}

/* A name for a message: sanitised, short. */
static const char *quote(const char *s, char *buf, size_t len)
{
	return bj_nbd_sanitize((const uint8_t *)s, strlen(s), buf, len);
}

const char *bj_nbd_rep_name(uint32_t type)
{
	switch (type) {
	case BJ_NBD_REP_ERR_UNSUP:
		return "NBD_REP_ERR_UNSUP";
	case BJ_NBD_REP_ERR_POLICY:
		return "NBD_REP_ERR_POLICY";
	case BJ_NBD_REP_ERR_INVALID:
		return "NBD_REP_ERR_INVALID";
	case BJ_NBD_REP_ERR_PLATFORM:
		return "NBD_REP_ERR_PLATFORM";
	case BJ_NBD_REP_ERR_TLS_REQD:
		return "NBD_REP_ERR_TLS_REQD";
	case BJ_NBD_REP_ERR_UNKNOWN:
		return "NBD_REP_ERR_UNKNOWN";
	case BJ_NBD_REP_ERR_SHUTDOWN:
		return "NBD_REP_ERR_SHUTDOWN";
	case BJ_NBD_REP_ERR_BLOCK_SIZE_REQD:
		return "NBD_REP_ERR_BLOCK_SIZE_REQD";
	case BJ_NBD_REP_ERR_TOO_BIG:
		return "NBD_REP_ERR_TOO_BIG";
	case BJ_NBD_REP_ERR_EXT_HEADER_REQD:
		return "NBD_REP_ERR_EXT_HEADER_REQD";
	default:
		return NULL;
	}
}

/* URLs ------------------------------------------------------------------- */

bool bj_nbd_is_url(const char *s)
{
	return s && !strncmp(s, "nbd://", 6);
}

static int bad_url(char *err, const char *url, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad_url(char *err, const char *url, const char *fmt, ...)
{
	char why[256], q[BJ_NBD_MSG_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	bj_seterr(err, "bad NBD URL '%s': %s (expected %s)", quote(url, q, 120), why, URL_FORM);
	return -EINVAL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* RFC 3986's unreserved characters, what an IPv6 zone may have */
static bool unreserved(char c)
{
	return host_char(c) || c == '~';
}

/* [IPv6] without its brackets (@s, @n bytes) into @host: "addr" or "addr%zone". */
static int parse_v6(const char *url, const char *s, size_t n, char *host, char *err)
{
	char addr[64];
	struct in6_addr a;
	const char *zone = NULL;
	size_t alen = n, i;

	for (i = 0; i + 2 < n; i++) {
		if (s[i] == '%') {
			if (s[i + 1] != '2' || s[i + 2] != '5')
				break;
			alen = i;
			zone = s + i + 3;
			break;
		}
	}
	if (alen >= sizeof(addr))
		return bad_url(err, url, "'[%.*s]' is not an IPv6 address", (int)(n > 64 ? 64 : n), s);
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (inet_pton(AF_INET6, addr, &a) != 1)
		return bad_url(err, url, "'[%s]' is not an IPv6 address", addr);
	if (zone) {
		if (zone == s + n)
			return bad_url(err, url, "an empty IPv6 zone after %%25");
		for (i = 0; zone + i < s + n; i++)
			if (!unreserved(zone[i]))
				return bad_url(err, url, "'%c' in the IPv6 zone", zone[i]);
		snprintf(host, 256, "%s%%%.*s", addr, (int)(s + n - zone), zone);
	} else {
		snprintf(host, 256, "%s", addr);
	}
	return 0;
}

/* The port, @s to @end (after the ':'): 1..65535. */
static int parse_port(const char *url, const char *s, const char *end, unsigned int *port,
		      char *err)
{
	unsigned long v = 0;
	const char *p;

	if (s == end)
		return bad_url(err, url, "an empty port after ':' (leave out the ':' for port %d)",
			       BJ_NBD_PORT);
	if (*s < '0' || *s > '9')
		return bad_url(err, url, "the port '%.*s' is not a number", (int)(end - s > 16 ? 16 : end - s), s);
	for (p = s; p < end && *p >= '0' && *p <= '9'; p++)
		if (v <= 65535)
			v = v * 10 + (unsigned long)(*p - '0');
	if (p < end)
		return bad_url(err, url, "junk after the port: '%.*s'", (int)(end - p > 16 ? 16 : end - p), p);
	if (v == 0 || v > 65535)
		return bad_url(err, url, "the port %.*s is out of range (1 to 65535)",
			       (int)(end - s > 16 ? 16 : end - s), s);
	*port = (unsigned int)v;
	return 0;
}

/* The path after the authority's '/' (@s): the percent-decoded export name. */
static int parse_export(const char *url, const char *s, char *name, char *err)
{
	size_t n = 0;
	int hi, lo;
	unsigned char c;

	for (; *s; s++) {
		if (*s == '?')
			return bad_url(err, url, "query parameters ('?...') are not supported (an export name writes '?' as %%3F)");
		if (*s == '#')
			return bad_url(err, url, "a fragment ('#...') is not supported (an export name writes '#' as %%23)");
		c = (unsigned char)*s;
		if (c == '%') {
			hi = hexval(s[1]);
			lo = hi < 0 ? -1 : hexval(s[2]);
			if (lo < 0)
				return bad_url(err, url, "a bad percent escape '%.3s' (%%XX, two hex digits)", s);
			c = (unsigned char)(hi << 4 | lo);
			s += 2;
			if (!c)
				return bad_url(err, url, "the export name has a NUL byte (%%00)");
			if (ctl(c))
				return bad_url(err, url, "the export name has a control character (%%%02X)", c);
		}
		if (n >= BJ_NBD_NAME_MAX)
			return bad_url(err, url, "the export name is longer than %d bytes", BJ_NBD_NAME_MAX);
		name[n++] = (char)c;
	}
	name[n] = 0;
	return 0;
}

int bj_nbd_parse_url(const char *url, struct bj_nbd_url *u, char *err)
{
	const char *auth, *end, *host, *host_end, *p, *colon;
	size_t i, hlen;
	int r;

	memset(u, 0, sizeof(*u));
	if (!bj_nbd_is_url(url))
		return bad_url(err, url ? url : "", "it does not start with nbd://");
	for (i = 0; url[i]; i++)
		if (ctl((unsigned char)url[i]))
			return bad_url(err, url, "a control character at byte %zu", i);
	auth = url + 6;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)))
		return bad_url(err, url, "a user name ('USER@') is not supported");
	if (*auth == '[') {
		host = auth + 1;
		host_end = memchr(host, ']', (size_t)(end - host));
		if (!host_end)
			return bad_url(err, url, "no ']' after the IPv6 address");
		p = host_end + 1;
	} else {
		host = auth;
		colon = memchr(auth, ':', (size_t)(end - auth));
		host_end = colon ? colon : end;
		if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return bad_url(err, url, "an IPv6 address goes in brackets: nbd://[ADDRESS]:PORT/EXPORT");
		p = host_end;
	}
	hlen = (size_t)(host_end - host);
	if (!hlen)
		return bad_url(err, url, "no host");
	if (hlen >= sizeof(u->host))
		return bad_url(err, url, "the host is longer than %zu bytes", sizeof(u->host) - 1);
	if (*auth == '[') {
		r = parse_v6(url, host, hlen, u->host, err);
		if (r)
			return r;
	} else {
		for (i = 0; i < hlen; i++)
			if (!host_char(host[i]))
				return bad_url(err, url, "'%c' in the host name", host[i]);
		memcpy(u->host, host, hlen);
		u->host[hlen] = 0;
	}
	u->port = BJ_NBD_PORT;
	if (p < end) {
		if (*p != ':')
			return bad_url(err, url, "junk after the host: '%.*s'",
				       (int)(end - p > 16 ? 16 : end - p), p);
		r = parse_port(url, p + 1, end, &u->port, err);
		if (r)
			return r;
	}
	if (*end == '?' || *end == '#')
		return parse_export(url, end, u->export_name, err);
	if (*end == '/')
		return parse_export(url, end + 1, u->export_name, err);
	return 0;
}

/* Backend identifiers ---------------------------------------------------- */

bool bj_nbd_volume_ok(const char *volume)
{
	size_t i, n;

	if (!volume)
		return false;
	n = strlen(volume);
	if (!n || n > VOLUME_MAX || !strcmp(volume, ".") || !strcmp(volume, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (volume[i] == '/' || ctl((unsigned char)volume[i]))
			return false;
	return true;
}

/*
 * "blockjob:VOLUME:nbd://": a volume name has no '/', so this prefix
 * belongs to one volume only, whatever ':' the names have.
 */
bool bj_nbd_id_matches(const char *id, const char *volume)
{
	size_t n;

	if (!bj_nbd_volume_ok(volume) || strncmp(id, "blockjob:", 9))
		return false;
	n = strlen(volume);
	return !strncmp(id + 9, volume, n) && !strncmp(id + 9 + n, ":nbd://", 7);
}

const char *bj_nbd_id_url(const char *id, size_t *vlen)
{
	const char *url;
	char volume[VOLUME_MAX + 1];
	size_t n;

	if (!id || strncmp(id, "blockjob:", 9))
		return NULL;
	/* a volume name has no '/': the first ":nbd://" ends it */
	url = strstr(id + 9, ":nbd://");
	if (!url)
		return NULL;
	n = (size_t)(url - (id + 9));
	if (n > VOLUME_MAX)
		return NULL;
	memcpy(volume, id + 9, n);
	volume[n] = 0;
	if (!bj_nbd_volume_ok(volume))
		return NULL;
	if (vlen)
		*vlen = n;
	return url + 1;
}

int bj_nbd_parse_link_dead(const void *msg, size_t len, int family, unsigned int *index)
{
	const struct nlmsghdr *nlh = msg;
	const struct genlmsghdr *gh;
	const struct nlattr *a;
	const uint8_t *p, *end;
	uint32_t v;
	bool found = false;

	if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len)
		return -EBADMSG;
	if (nlh->nlmsg_type != family)
		return 0;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -EBADMSG;
	gh = (const struct genlmsghdr *)((const uint8_t *)msg + NLMSG_HDRLEN);
	if (gh->cmd != NBD_CMD_LINK_DEAD)
		return 0;
	p = (const uint8_t *)gh + GENL_HDRLEN;
	end = (const uint8_t *)msg + nlh->nlmsg_len;
	while (p < end) {
		a = (const struct nlattr *)p;
		if ((size_t)(end - p) < NLA_HDRLEN || a->nla_len < NLA_HDRLEN ||
		    a->nla_len > (size_t)(end - p))
			return -EBADMSG;
		if ((a->nla_type & NLA_TYPE_MASK) == NBD_ATTR_INDEX) {
			if (a->nla_len != NLA_HDRLEN + 4 || found)
				return -EBADMSG;
			memcpy(&v, p + NLA_HDRLEN, 4);
			found = true;
		}
		/* the last attribute may lack its padding */
		if ((size_t)(end - p) <= (size_t)NLA_ALIGN(a->nla_len))
			break;
		p += NLA_ALIGN(a->nla_len);
	}
	if (!found)
		return -EBADMSG;
	*index = v;
	return 1;
}

unsigned int bj_nbd_retry_bound(unsigned int timeout)
{
	if (timeout > UINT_MAX / 2)
		return UINT_MAX;
	return 2 * timeout > BJ_NBD_KEEP_MIN_RETRY ? 2 * timeout : BJ_NBD_KEEP_MIN_RETRY;
}

struct sbuf {
	char *s;
	size_t len, n;
	bool over;
};

static void sb_putc(struct sbuf *b, char c)
{
	if (b->n + 1 >= b->len) {
		b->over = true;
		return;
	}
	b->s[b->n++] = c;
	b->s[b->n] = 0;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	for (; *s; s++)
		sb_putc(b, *s);
}

/* what stays as it is in a canonical export name (RFC 3986's pchar and '/') */
static bool keep_in_path(unsigned char c)
{
	return unreserved((char)c) || (c && strchr("!$&'()*+,;=:@/", c));
}

int bj_nbd_backend_id(const char *volume, const char *url, char *id, size_t len, char *err)
{
	char buf[BJ_NBD_ID_MAX + 1], num[16], q[64];
	static const char hex[] = "0123456789ABCDEF";
	struct sbuf b = { buf, sizeof(buf), 0, false };
	struct bj_nbd_url u;
	const unsigned char *s;
	char *zone;
	size_t i;
	int r;

	if (!bj_nbd_volume_ok(volume)) {
		bj_seterr(err, "'%s' cannot be a volume name (1 to %d bytes, no '/', no control characters)",
			  quote(volume ? volume : "", q, sizeof(q)), VOLUME_MAX);
		return -EINVAL;
	}
	r = bj_nbd_parse_url(url, &u, err);
	if (r)
		return r;
	buf[0] = 0;
	sb_puts(&b, "blockjob:");
	sb_puts(&b, volume);
	sb_puts(&b, ":nbd://");
	zone = strchr(u.host, '%');
	for (i = 0; u.host[i] && u.host + i != zone; i++)
		if (u.host[i] >= 'A' && u.host[i] <= 'Z')
			u.host[i] = (char)(u.host[i] - 'A' + 'a');
	if (strchr(u.host, ':')) {
		sb_putc(&b, '[');
		if (zone)
			*zone = 0;
		sb_puts(&b, u.host);
		if (zone) {
			sb_puts(&b, "%25");
			sb_puts(&b, zone + 1);
		}
		sb_putc(&b, ']');
	} else {
		sb_puts(&b, u.host);
	}
	snprintf(num, sizeof(num), ":%u/", u.port);
	sb_puts(&b, num);
	for (s = (const unsigned char *)u.export_name; *s && !b.over; s++) {
		if (keep_in_path(*s)) {
			sb_putc(&b, (char)*s);
		} else {
			sb_putc(&b, '%');
			sb_putc(&b, hex[*s >> 4]);
			sb_putc(&b, hex[*s & 15]);
		}
	}
	if (b.over) {
		bj_seterr(err, "the NBD device's backend identifier for this URL would be longer than %d bytes: give the export a shorter name",
			  BJ_NBD_ID_MAX);
		return -ENAMETOOLONG;
	}
	if (b.n >= len) {
		bj_seterr(err, "the backend identifier has %zu bytes, the buffer %zu", b.n, len);
		return -ENAMETOOLONG;
	}
	memcpy(id, buf, b.n + 1);
	return 0;
}

int bj_nbd_dev_index(const char *dev, unsigned int *index)
{
	const char *p = dev;
	unsigned long v = 0;

	if (!p)
		return -EINVAL;
	if (!strncmp(p, "/dev/", 5))
		p += 5;
	if (strncmp(p, "nbd", 3))
		return -EINVAL;
	p += 3;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1]))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v >= NBD_MINORS_MAX)
			return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*index = (unsigned int)v;
	return 0;
}

/* The handshake ---------------------------------------------------------- */

int bj_nbd_parse_greeting(const uint8_t *buf, uint16_t *hflags, char *err)
{
	uint64_t magic2 = get64(buf + 8);

	if (get64(buf) != BJ_NBD_MAGIC) {
		bj_seterr(err, "the server is not an NBD server (it does not greet with NBDMAGIC)");
		return -EPROTO;
	}
	if (magic2 == BJ_NBD_OLDSTYLE_MAGIC) {
		bj_seterr(err, "the server speaks the oldstyle NBD handshake, which has no export names; blockjob needs fixed newstyle (a current nbd-server or qemu-nbd)");
		return -EPROTONOSUPPORT;
	}
	if (magic2 != BJ_NBD_IHAVEOPT) {
		bj_seterr(err, "the server is not an NBD server (bad magic 0x%016llx after NBDMAGIC)",
			  (unsigned long long)magic2);
		return -EPROTO;
	}
	*hflags = get16(buf + 16);
	if (!(*hflags & BJ_NBD_FLAG_FIXED_NEWSTYLE)) {
		bj_seterr(err, "the NBD server does not speak fixed newstyle (handshake flags 0x%04x); blockjob needs it (a current nbd-server or qemu-nbd)",
			  *hflags);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

uint32_t bj_nbd_build_client_flags(uint16_t hflags, uint8_t *buf)
{
	uint32_t f = BJ_NBD_FLAG_C_FIXED_NEWSTYLE;

	if (hflags & BJ_NBD_FLAG_NO_ZEROES)
		f |= BJ_NBD_FLAG_C_NO_ZEROES;
	put32(buf, f);
	return f;
}

static uint8_t *opt_hdr(uint8_t *p, uint32_t option, uint32_t len)
{
	p = put64(p, BJ_NBD_IHAVEOPT);
	p = put32(p, option);
	return put32(p, len);
}

size_t bj_nbd_build_go(const char *name, uint8_t *buf, size_t len)
{
	size_t n = strlen(name), data = 4 + n + 2 + 2;
	uint8_t *p;

	if (n > BJ_NBD_NAME_MAX || len < BJ_NBD_OPT_HDR_LEN + data)
		return 0;
	p = opt_hdr(buf, BJ_NBD_OPT_GO, (uint32_t)data);
	p = put32(p, (uint32_t)n);
	memcpy(p, name, n);
	p += n;
	p = put16(p, 1);			/* one information request: */
	put16(p, BJ_NBD_INFO_BLOCK_SIZE);	/* (NBD_INFO_EXPORT comes anyway) */
	return BJ_NBD_OPT_HDR_LEN + data;
}

size_t bj_nbd_build_export_name(const char *name, uint8_t *buf, size_t len)
{
	size_t n = strlen(name);

	if (n > BJ_NBD_NAME_MAX || len < BJ_NBD_OPT_HDR_LEN + n)
		return 0;
	memcpy(opt_hdr(buf, BJ_NBD_OPT_EXPORT_NAME, (uint32_t)n), name, n);
	return BJ_NBD_OPT_HDR_LEN + n;
}

size_t bj_nbd_build_abort(uint8_t *buf, size_t len)
{
	if (len < BJ_NBD_OPT_HDR_LEN)
		return 0;
	opt_hdr(buf, BJ_NBD_OPT_ABORT, 0);
	return BJ_NBD_OPT_HDR_LEN;
}

size_t bj_nbd_build_disc(uint8_t *buf, size_t len)
{
	uint8_t *p;

	if (len < BJ_NBD_REQUEST_LEN)
		return 0;
	p = put32(buf, BJ_NBD_REQUEST_MAGIC);
	p = put16(p, 0);			/* command flags */
	p = put16(p, BJ_NBD_CMD_DISC);
	p = put64(p, 0);			/* handle */
	p = put64(p, 0);			/* offset */
	put32(p, 0);				/* length */
	return BJ_NBD_REQUEST_LEN;
}

int bj_nbd_parse_reply_hdr(const uint8_t *buf, uint32_t option, struct bj_nbd_reply *r,
			   char *err)
{
	uint64_t magic = get64(buf);

	r->option = get32(buf + 8);
	r->type = get32(buf + 12);
	r->len = get32(buf + 16);
	if (magic != BJ_NBD_REP_MAGIC) {
		bj_seterr(err, "protocol error: an option reply with bad magic 0x%016llx",
			  (unsigned long long)magic);
		return -EPROTO;
	}
	if (r->option != option) {
		bj_seterr(err, "protocol error: the server answered option %u, not the option sent (%u)",
			  r->option, option);
		return -EPROTO;
	}
	if (r->len > BJ_NBD_REPLY_MAX) {
		bj_seterr(err, "protocol error: an option reply of %u bytes (more than %d)", r->len,
			  BJ_NBD_REPLY_MAX);
		return -EPROTO;
	}
	return 0;
}

/* An error reply to NBD_OPT_GO: its errno and line. */
static int go_error(struct bj_nbd_go *go, const struct bj_nbd_reply *r, const uint8_t *data,
		    char *err)
{
	char msg[BJ_NBD_MSG_MAX + 1], q[BJ_NBD_MSG_MAX + 1], code[32], why[BJ_NBD_MSG_MAX + 64];
	const char *name = bj_nbd_rep_name(r->type);

	if (r->type == BJ_NBD_REP_ERR_UNSUP)
		return BJ_NBD_GO_UNSUP;
	go->abort = true;
	if (!name) {
		snprintf(code, sizeof(code), "error 0x%08x", r->type);
		name = code;
	}
	bj_nbd_sanitize(data, r->len, msg, sizeof(msg));
	snprintf(why, sizeof(why), "%s%s%s", name, *msg ? ": " : "", msg);
	quote(go->name, q, sizeof(q));
	switch (r->type) {
	case BJ_NBD_REP_ERR_UNKNOWN:
		if (!*go->name)
			bj_seterr(err, "the server has no default export (%s); name one: nbd://HOST/EXPORT",
				  why);
		else
			bj_seterr(err, "the server has no export '%s' (%s)", q, why);
		return -ENOENT;
	case BJ_NBD_REP_ERR_POLICY:
		bj_seterr(err, "the server refuses export '%s' by its policy (%s)", q, why);
		return -EACCES;
	case BJ_NBD_REP_ERR_TLS_REQD:
		bj_seterr(err, "the server requires TLS for export '%s', which blockjob does not speak (%s)",
			  q, why);
		return -EACCES;
	case BJ_NBD_REP_ERR_SHUTDOWN:
		bj_seterr(err, "the server is shutting down (%s)", why);
		return -ESHUTDOWN;
	default:
		bj_seterr(err, "the server refused export '%s' (%s)", q, why);
		return -EIO;
	}
}

int bj_nbd_go_reply(struct bj_nbd_go *go, const struct bj_nbd_reply *r, const uint8_t *data,
		    char *err)
{
	uint16_t info;

	if (++go->replies > BJ_NBD_GO_REPLIES_MAX) {
		bj_seterr(err, "protocol error: more than %d replies to NBD_OPT_GO",
			  BJ_NBD_GO_REPLIES_MAX);
		return -EPROTO;
	}
	if (r->type & BJ_NBD_REP_ERR(0))
		return go_error(go, r, data, err);
	switch (r->type) {
	case BJ_NBD_REP_ACK:
		if (r->len) {
			bj_seterr(err, "protocol error: NBD_REP_ACK with %u bytes of data", r->len);
			return -EPROTO;
		}
		if (!go->have_export) {
			bj_seterr(err, "protocol error: the server accepted NBD_OPT_GO without the export's size (no NBD_INFO_EXPORT)");
			return -EPROTO;
		}
		return BJ_NBD_GO_DONE;
	case BJ_NBD_REP_INFO:
		if (r->len < 2) {
			bj_seterr(err, "protocol error: an NBD_REP_INFO of %u bytes", r->len);
			return -EPROTO;
		}
		info = get16(data);
		if (info == BJ_NBD_INFO_EXPORT) {
			if (r->len != 12) {
				bj_seterr(err, "protocol error: an NBD_INFO_EXPORT of %u bytes, not 12",
					  r->len);
				return -EPROTO;
			}
			go->size = get64(data + 2);
			go->tflags = get16(data + 10);
			go->have_export = true;
		} else if (info == BJ_NBD_INFO_BLOCK_SIZE) {
			if (r->len != 14) {
				bj_seterr(err, "protocol error: an NBD_INFO_BLOCK_SIZE of %u bytes, not 14",
					  r->len);
				return -EPROTO;
			}
			go->min_block = get32(data + 2);
		}
		/* other information (name, description, ...): not needed */
		return BJ_NBD_GO_MORE;
	default:
		bj_seterr(err, "protocol error: a reply of type %u to NBD_OPT_GO", r->type);
		return -EPROTO;
	}
}

void bj_nbd_parse_export_reply(const uint8_t *buf, uint64_t *size, uint16_t *tflags)
{
	*size = get64(buf);
	*tflags = get16(buf + 8);
}

int bj_nbd_check_export(const char *name, uint64_t size, uint16_t tflags, uint32_t min_block,
			char *err)
{
	char q[BJ_NBD_MSG_MAX + 1];

	quote(name, q, sizeof(q));
	if (!(tflags & BJ_NBD_TFLAG_HAS_FLAGS)) {
		bj_seterr(err, "protocol error: transmission flags 0x%04x without NBD_FLAG_HAS_FLAGS",
			  tflags);
		return -EPROTO;
	}
	if (tflags & BJ_NBD_TFLAG_READ_ONLY) {
		bj_seterr(err, "the export '%s' is read-only; a mirror writes to it (export it writable)",
			  q);
		return -EROFS;
	}
	if (!size) {
		bj_seterr(err, "the export '%s' is empty (0 bytes)", q);
		return -EINVAL;
	}
	if (size > INT64_MAX) {
		bj_seterr(err, "the export '%s' has %llu bytes, more than the kernel's NBD client takes",
			  q, (unsigned long long)size);
		return -EINVAL;
	}
	if (min_block > BJ_NBD_BLOCK_SIZE) {
		bj_seterr(err, "the export '%s' takes requests of %u bytes at the least; the kernel's NBD client sends %d",
			  q, min_block, BJ_NBD_BLOCK_SIZE);
		return -EINVAL;
	}
	return 0;
}
