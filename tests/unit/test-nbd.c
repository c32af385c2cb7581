// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of NBD destinations (lib/bj-nbd-proto.c, lib/bj-nbd.c):
 * NBD URLs (a table of good and bad ones), backend identifiers, device
 * names, the sanitising of a server's text; and bj_nbd_handshake() against
 * a scripted fake server in a forked child over socketpair(): NBD_OPT_GO
 * with NBD_INFO_EXPORT then NBD_REP_ACK, a server without fixed newstyle,
 * oldstyle, not NBD at all, NBD_REP_ERR_UNKNOWN with a message (sanitised;
 * the client aborts), NBD_REP_ERR_UNSUP then NBD_OPT_EXPORT_NAME with and
 * without NO_ZEROES (and the server closing there), a read-only export
 * (the client sends NBD_CMD_DISC), EOF in a reply's header and in its
 * data, an oversized reply, a reply to another option, and more. The
 * fake server checks the bytes the client sends (client flags, the
 * option requests) and exits non-zero when they are wrong; after each
 * handshake the test checks that the client read exactly what the server
 * sent. bj_nbd_connect() only as far as it goes without the kernel: bad
 * input, a closed port on 127.0.0.1.
 * Dropped connections: the URL in a backend identifier, NBD_CMD_LINK_DEAD
 * as the kernel multicasts it (and malformed ones), the retry bound;
 * bj_nbd_reconnect(), the watch and bj_nbd_keep() on bad input.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/nbd-netlink.h>
#include <linux/netlink.h>

#include "bj-nbd.h"
#include "bj-nbd-proto.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

/* URLs -------------------------------------------------------------------- */

static void good_url(const char *url, const char *host, unsigned int port, const char *name)
{
	char err[BJ_ERRLEN] = "";
	struct bj_nbd_url u;
	int r;

	r = bj_nbd_parse_url(url, &u, err);
	CHECK(!r && !strcmp(u.host, host) && u.port == port && !strcmp(u.export_name, name),
	      "URL %.60s: host '%s' port %u export '%.40s' (%s)", url, host, port, name,
	      r ? err : "parsed");
}

static void bad_url(const char *url, const char *why)
{
	char err[BJ_ERRLEN] = "", q[48];
	struct bj_nbd_url u;
	int r;

	r = bj_nbd_parse_url(url, &u, err);
	bj_nbd_sanitize((const uint8_t *)(url ? url : "(null)"), url ? strlen(url) : 6, q, sizeof(q));
	CHECK(r == -EINVAL && strstr(err, why) && strstr(err, "expected nbd://HOST[:PORT]/EXPORT") &&
	      !strchr(err, '\n'), "bad URL %s: %s", q, err);
}

static void test_urls(void)
{
	char big[BJ_NBD_NAME_MAX + 64], name[BJ_NBD_NAME_MAX + 2], host[300];

	CHECK(bj_nbd_is_url("nbd://h/x") && !bj_nbd_is_url("/dev/sdb") && !bj_nbd_is_url("nbd:/h") &&
	      !bj_nbd_is_url(NULL), "bj_nbd_is_url: nbd:// only");
	good_url("nbd://host/disk", "host", 10809, "disk");
	good_url("nbd://host", "host", 10809, "");
	good_url("nbd://host/", "host", 10809, "");
	good_url("nbd://192.0.2.2:10810/vdc", "192.0.2.2", 10810, "vdc");
	good_url("nbd://nbd-1.example.com:1/x", "nbd-1.example.com", 1, "x");
	good_url("nbd://h:65535/", "h", 65535, "");
	good_url("nbd://h:010809/x", "h", 10809, "x");
	good_url("nbd://[::1]:10811/x", "::1", 10811, "x");
	good_url("nbd://[2001:db8::2]/x", "2001:db8::2", 10809, "x");
	good_url("nbd://[fe80::1%25eth0]/x", "fe80::1%eth0", 10809, "x");
	good_url("nbd://h//disk", "h", 10809, "/disk");
	good_url("nbd://h/hello%20world%2Fa%2f", "h", 10809, "hello world/a/");
	good_url("nbd://h/%C3%A9t%C3%A9", "h", 10809, "\xc3\xa9t\xc3\xa9");
	good_url("nbd://h/\xc3\xa9t\xc3\xa9 x", "h", 10809, "\xc3\xa9t\xc3\xa9 x");
	good_url("nbd://h/a:b@c;d", "h", 10809, "a:b@c;d");
	memset(name, 'n', BJ_NBD_NAME_MAX);
	name[BJ_NBD_NAME_MAX] = 0;
	snprintf(big, sizeof(big), "nbd://h/%s", name);
	good_url(big, "h", 10809, name);

	bad_url(NULL, "does not start with nbd://");
	bad_url("http://h/x", "does not start with nbd://");
	bad_url("NBD://h/x", "does not start with nbd://");
	bad_url("nbd://", "no host");
	bad_url("nbd:///x", "no host");
	bad_url("nbd://:10809/x", "no host");
	bad_url("nbd://[]/x", "no host");
	bad_url("nbd://h:0/x", "out of range");
	bad_url("nbd://h:65536/x", "out of range");
	bad_url("nbd://h:99999999999999999999999/x", "out of range");
	bad_url("nbd://h:/x", "empty port");
	bad_url("nbd://h:10809x/x", "junk after the port");
	bad_url("nbd://h:10809:1/x", "brackets");
	bad_url("nbd://h:abc/x", "not a number");
	bad_url("nbd://h:-1/x", "not a number");
	bad_url("nbd://h/x\n", "control character");
	bad_url("nbd://h\t/x", "control character");
	bad_url("nbd://h/x\x7f", "control character");
	bad_url("nbd://h/a%0Ab", "control character (%0A)");
	bad_url("nbd://h/a%7f", "control character (%7F)");
	bad_url("nbd://h/a%00b", "NUL");
	bad_url("nbd://h/a%4", "bad percent escape");
	bad_url("nbd://h/a%zz", "bad percent escape");
	bad_url("nbd://h/a%", "bad percent escape");
	bad_url("nbd://h/x?tls-type=x509", "query");
	bad_url("nbd://h?x", "query");
	bad_url("nbd://h/x#frag", "fragment");
	bad_url("nbd://user@h/x", "user name");
	bad_url("nbd://::1/x", "brackets");
	bad_url("nbd://[::1/x", "no ']'");
	bad_url("nbd://[zz::1]/x", "not an IPv6 address");
	bad_url("nbd://[192.0.2.1]/x", "not an IPv6 address");
	bad_url("nbd://[fe80::1%eth0]/x", "not an IPv6 address");
	bad_url("nbd://[fe80::1%25]/x", "empty IPv6 zone");
	bad_url("nbd://[fe80::1%25e/]/x", "no ']'");
	bad_url("nbd://[::1]x/x", "junk after the host");
	bad_url("nbd://h o/x", "' ' in the host name");
	bad_url("nbd://h%41/x", "'%' in the host name");
	snprintf(big, sizeof(big), "nbd://h/%sx", name);
	bad_url(big, "longer than 4096 bytes");
	snprintf(big, sizeof(big), "nbd://h/%%41%s", name);
	bad_url(big, "longer than 4096 bytes");
	memset(host, 'h', 256);
	host[256] = 0;
	snprintf(big, sizeof(big), "nbd://%s/x", host);
	bad_url(big, "longer than 255 bytes");
	host[255] = 0;
	snprintf(big, sizeof(big), "nbd://%s/x", host);
	good_url(big, host, 10809, "x");
}

/* Backend identifiers, devices, text ------------------------------------- */

static void good_id(const char *volume, const char *url, const char *want)
{
	char id[BJ_NBD_ID_MAX + 1], err[BJ_ERRLEN] = "";
	int r;

	r = bj_nbd_backend_id(volume, url, id, sizeof(id), err);
	CHECK(!r && !strcmp(id, want), "backend id of %s %s: %s", volume, url, r ? err : id);
	CHECK(!r && bj_nbd_id_matches(id, volume), "...matches volume %s", volume);
}

static void bad_id(const char *volume, const char *url, size_t len, int want_r, const char *why)
{
	char id[BJ_NBD_ID_MAX + 1], err[BJ_ERRLEN] = "", q[24];
	int r;

	r = bj_nbd_backend_id(volume, url, id, len, err);
	bj_nbd_sanitize((const uint8_t *)(volume ? volume : "(null)"), volume ? strlen(volume) : 6,
			q, sizeof(q));
	CHECK(r == want_r && strstr(err, why), "backend id of %s %.40s refused: %s", q, url, err);
}

static void test_ids(void)
{
	char url[4 * BJ_NBD_NAME_MAX], *p, vol[130], want[200];
	unsigned int i, n;

	good_id("vol0", "nbd://Host.Example/disk", "blockjob:vol0:nbd://host.example:10809/disk");
	good_id("vol0", "nbd://host.example:10809/disk", "blockjob:vol0:nbd://host.example:10809/disk");
	good_id("v:1", "nbd://[FE80::A%25Eth0]:10810/a%20b/c%25%3f%C3%A9",
		"blockjob:v:1:nbd://[fe80::a%25Eth0]:10810/a%20b/c%25%3F%C3%A9");
	good_id("v", "nbd://192.0.2.2", "blockjob:v:nbd://192.0.2.2:10809/");
	good_id("v", "nbd://h/~a-b_c.d!$&'()*+,;=:@", "blockjob:v:nbd://h:10809/~a-b_c.d!$&'()*+,;=:@");
	bad_id("", "nbd://h/x", BJ_NBD_ID_MAX + 1, -EINVAL, "cannot be a volume name");
	bad_id("a/b", "nbd://h/x", BJ_NBD_ID_MAX + 1, -EINVAL, "cannot be a volume name");
	bad_id("a\nb", "nbd://h/x", BJ_NBD_ID_MAX + 1, -EINVAL, "cannot be a volume name");
	bad_id(NULL, "nbd://h/x", BJ_NBD_ID_MAX + 1, -EINVAL, "cannot be a volume name");
	bad_id("..", "nbd://h/x", BJ_NBD_ID_MAX + 1, -EINVAL, "cannot be a volume name");
	memset(vol, 'v', 128);
	vol[128] = 0;
	bad_id(vol, "nbd://h/x", BJ_NBD_ID_MAX + 1, -EINVAL, "cannot be a volume name");
	vol[127] = 0;
	snprintf(want, sizeof(want), "blockjob:%s:nbd://h:10809/x", vol);
	good_id(vol, "nbd://h/x", want);
	bad_id("v", "nbd://h:0/x", BJ_NBD_ID_MAX + 1, -EINVAL, "out of range");
	bad_id("v", "nbd://h/x", 10, -ENAMETOOLONG, "buffer");
	/* 1400 bytes that each take three in the identifier */
	p = url + sprintf(url, "nbd://h/");
	for (i = 0; i < 1400; i++)
		p += sprintf(p, "%%FF");
	bad_id("v", url, BJ_NBD_ID_MAX + 1, -ENAMETOOLONG, "longer than 4000 bytes");

	CHECK(bj_nbd_id_matches("blockjob:a:nbd://h:1/x", "a") &&
	      !bj_nbd_id_matches("blockjob:a:nbd://h:1/x", "a:nbd:") &&
	      !bj_nbd_id_matches("blockjob:a:b:nbd://h:1/x", "a") &&
	      bj_nbd_id_matches("blockjob:a:b:nbd://h:1/x", "a:b") &&
	      !bj_nbd_id_matches("blockjob:a:nbd::nbd://h:1/x", "a") &&
	      bj_nbd_id_matches("blockjob:a:nbd::nbd://h:1/x", "a:nbd:") &&
	      !bj_nbd_id_matches("blockjob:ab:nbd://h:1/x", "a") &&
	      !bj_nbd_id_matches("other:a:nbd://h:1/x", "a") &&
	      !bj_nbd_id_matches("blockjob:a:", "a") && !bj_nbd_id_matches("", "a") &&
	      !bj_nbd_id_matches("blockjob::nbd://h:1/x", ""),
	      "a backend identifier matches its own volume only, whatever ':' the names have");

	CHECK(!bj_nbd_dev_index("/dev/nbd0", &n) && n == 0 && !bj_nbd_dev_index("nbd15", &n) &&
	      n == 15 && !bj_nbd_dev_index("/dev/nbd1048575", &n) && n == 1048575,
	      "device names /dev/nbd0, nbd15, /dev/nbd1048575");
	CHECK(bj_nbd_dev_index("/dev/nbd", &n) && bj_nbd_dev_index("/dev/nbd01", &n) &&
	      bj_nbd_dev_index("/dev/nbd1x", &n) && bj_nbd_dev_index("/dev/sda", &n) &&
	      bj_nbd_dev_index("nbd1048576", &n) && bj_nbd_dev_index("/dev/nbd-1", &n) &&
	      bj_nbd_dev_index("/dev/nbd99999999999999999999", &n) && bj_nbd_dev_index(NULL, &n) &&
	      bj_nbd_dev_index("/dev/nbd1p1", &n), "not NBD devices: nbd, nbd01, nbd1x, sda, ...");
}

static void test_sanitize(void)
{
	char out[BJ_NBD_MSG_MAX + 8], small[8];
	uint8_t long_msg[500];

	static const char text[] = "no \x1b[31mexport\x01 \xc3\xa9\r\n";

	bj_nbd_sanitize((const uint8_t *)text, sizeof(text) - 1, out, sizeof(out));
	CHECK(!strcmp(out, "no ?[31mexport? ??"), "a server's text: control bytes and non-ASCII as '?', trailing newline dropped: '%s'",
	      out);
	memset(long_msg, 'm', sizeof(long_msg));
	bj_nbd_sanitize(long_msg, sizeof(long_msg), out, sizeof(out));
	CHECK(strlen(out) == BJ_NBD_MSG_MAX && !strcmp(out + BJ_NBD_MSG_MAX - 3, "..."),
	      "a long text cut at %d bytes with '...'", BJ_NBD_MSG_MAX);
	bj_nbd_sanitize(long_msg, sizeof(long_msg), small, sizeof(small));
	CHECK(!strcmp(small, "mmmm..."), "...or at its buffer: '%s'", small);
	bj_nbd_sanitize((const uint8_t *)"abc", 3, small, sizeof(small));
	CHECK(!strcmp(small, "abc"), "a short text as it is");
}

static void test_build(void)
{
	uint8_t buf[BJ_NBD_OPT_MAX];
	char name[BJ_NBD_NAME_MAX + 2];

	memset(name, 'x', sizeof(name) - 1);
	name[BJ_NBD_NAME_MAX] = 0;
	CHECK(bj_nbd_build_go(name, buf, sizeof(buf)) == BJ_NBD_OPT_MAX,
	      "NBD_OPT_GO of the longest name fits BJ_NBD_OPT_MAX");
	CHECK(bj_nbd_build_export_name(name, buf, sizeof(buf)) ==
	      BJ_NBD_OPT_HDR_LEN + BJ_NBD_NAME_MAX,
	      "...so does NBD_OPT_EXPORT_NAME");
	name[BJ_NBD_NAME_MAX] = 'x';
	name[BJ_NBD_NAME_MAX + 1] = 0;
	CHECK(!bj_nbd_build_go(name, buf, sizeof(buf)) &&
	      !bj_nbd_build_export_name(name, buf, sizeof(buf)),
	      "a longer name: not built");
	CHECK(!bj_nbd_build_go("abc", buf, 20) && !bj_nbd_build_disc(buf, 27) && !bj_nbd_build_abort(buf, 15),
	      "requests that do not fit their buffer: not built");
}

/* The fake server ---------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, v & 0xffffffffu);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* In the child: any failure to talk as scripted ends it with status 2, a wrong request 3. */
static void wr(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	ssize_t k;

	while (n) {
		k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			_exit(2);
		p += k;
		n -= (size_t)k;
	}
}

static void rd(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	ssize_t k;

	while (n) {
		k = recv(fd, p, n, 0);
		if (k <= 0)
			_exit(2);
		p += k;
		n -= (size_t)k;
	}
}

static void want(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fake server: the client sent a wrong %s\n", what);
		_exit(3);
	}
}

/* Wait for the client to close (anything it sends is dropped). */
static void wait_eof(int fd)
{
	uint8_t b[256];

	while (recv(fd, b, sizeof(b), 0) > 0)
		;
}

static void greet(int fd, uint16_t hflags)
{
	uint8_t b[18];

	put64(b, BJ_NBD_MAGIC);
	put64(b + 8, BJ_NBD_IHAVEOPT);
	put16(b + 16, hflags);
	wr(fd, b, sizeof(b));
}

static void expect_cflags(int fd, uint32_t flags)
{
	uint8_t b[4];

	rd(fd, b, 4);
	want(get32(b) == flags, "client flags");
}

/* Read one option request: its option, @data (its length). */
static uint32_t read_opt(int fd, uint8_t *data, size_t max, uint32_t *len)
{
	uint8_t h[16];

	rd(fd, h, sizeof(h));
	want(get64(h) == BJ_NBD_IHAVEOPT, "option magic");
	*len = get32(h + 12);
	want(*len <= max, "option length");
	rd(fd, data, *len);
	return get32(h + 8);
}

/* NBD_OPT_GO for @name, with NBD_INFO_BLOCK_SIZE among its requests. */
static void expect_go(int fd, const char *name)
{
	uint8_t d[BJ_NBD_OPT_MAX];
	uint32_t len, n, k, i;
	bool block_size = false;

	want(read_opt(fd, d, sizeof(d), &len) == BJ_NBD_OPT_GO, "option (not NBD_OPT_GO)");
	want(len >= 6, "NBD_OPT_GO length");
	n = get32(d);
	want(n == strlen(name) && 4 + n + 2 <= len && !memcmp(d + 4, name, n), "export name in NBD_OPT_GO");
	k = (uint32_t)(d[4 + n] << 8 | d[5 + n]);
	want(len == 4 + n + 2 + 2 * k, "NBD_OPT_GO information requests");
	for (i = 0; i < k; i++)
		if ((d[6 + n + 2 * i] << 8 | d[7 + n + 2 * i]) == BJ_NBD_INFO_BLOCK_SIZE)
			block_size = true;
	want(block_size, "NBD_OPT_GO without NBD_INFO_BLOCK_SIZE");
}

static void expect_export_name(int fd, const char *name)
{
	uint8_t d[BJ_NBD_OPT_MAX];
	uint32_t len;

	want(read_opt(fd, d, sizeof(d), &len) == BJ_NBD_OPT_EXPORT_NAME, "option (not NBD_OPT_EXPORT_NAME)");
	want(len == strlen(name) && !memcmp(d, name, len), "export name in NBD_OPT_EXPORT_NAME");
}

static void expect_abort(int fd)
{
	uint8_t d[16];
	uint32_t len;

	want(read_opt(fd, d, sizeof(d), &len) == BJ_NBD_OPT_ABORT && !len, "NBD_OPT_ABORT");
}

static void expect_disc(int fd)
{
	uint8_t b[28], zero[24] = { 0 };

	rd(fd, b, sizeof(b));
	want(get32(b) == BJ_NBD_REQUEST_MAGIC && b[6] == 0 && b[7] == BJ_NBD_CMD_DISC &&
	     !memcmp(b + 4, zero, 2) && !memcmp(b + 8, zero, 20), "NBD_CMD_DISC");
}

static void reply(int fd, uint32_t opt, uint32_t type, const void *data, uint32_t len)
{
	uint8_t h[20];

	put64(h, BJ_NBD_REP_MAGIC);
	put32(h + 8, opt);
	put32(h + 12, type);
	put32(h + 16, len);
	wr(fd, h, sizeof(h));
	if (len)
		wr(fd, data, len);
}

static void info_export(int fd, uint64_t size, uint16_t tflags)
{
	uint8_t d[12];

	put16(d, BJ_NBD_INFO_EXPORT);
	put64(d + 2, size);
	put16(d + 10, tflags);
	reply(fd, BJ_NBD_OPT_GO, BJ_NBD_REP_INFO, d, sizeof(d));
}

static void info_block_size(int fd, uint32_t min, uint32_t pref, uint32_t max)
{
	uint8_t d[14];

	put16(d, BJ_NBD_INFO_BLOCK_SIZE);
	put32(d + 2, min);
	put32(d + 6, pref);
	put32(d + 10, max);
	reply(fd, BJ_NBD_OPT_GO, BJ_NBD_REP_INFO, d, sizeof(d));
}

static void ack(int fd)
{
	reply(fd, BJ_NBD_OPT_GO, BJ_NBD_REP_ACK, NULL, 0);
}

static void error_reply(int fd, uint32_t type, const char *msg)
{
	reply(fd, BJ_NBD_OPT_GO, type, msg, (uint32_t)strlen(msg));
}

#define F_HAS	BJ_NBD_TFLAG_HAS_FLAGS
#define F_RO	BJ_NBD_TFLAG_READ_ONLY
#define F_FLUSH	(1u << 2)
#define F_FUA	(1u << 3)
#define FIXED	BJ_NBD_FLAG_FIXED_NEWSTYLE
#define NOZ	BJ_NBD_FLAG_NO_ZEROES
#define SIZE	(5 * 1048576ULL + 512)

/* Each scenario is the server's side of one connection. */

static void srv_go(int fd)			/* GO, INFO (name, block size, export), ACK */
{
	uint8_t d[8 + 2];

	greet(fd, FIXED | NOZ);
	expect_cflags(fd, BJ_NBD_FLAG_C_FIXED_NEWSTYLE | BJ_NBD_FLAG_C_NO_ZEROES);
	expect_go(fd, "disk");
	put16(d, 1);				/* NBD_INFO_NAME: skipped */
	memcpy(d + 2, "disk\x01\x02\x03\x04", 8);
	reply(fd, BJ_NBD_OPT_GO, BJ_NBD_REP_INFO, d, sizeof(d));
	put16(d, 77);				/* an info type from the future */
	reply(fd, BJ_NBD_OPT_GO, BJ_NBD_REP_INFO, d, 2);
	info_block_size(fd, 1, 4096, 32 << 20);
	info_export(fd, SIZE, F_HAS | F_FLUSH | F_FUA);
	ack(fd);
}

static void srv_go_plain(int fd)		/* no NO_ZEROES offered: not asked for */
{
	greet(fd, FIXED);
	expect_cflags(fd, BJ_NBD_FLAG_C_FIXED_NEWSTYLE);
	expect_go(fd, "");
	info_block_size(fd, 512, 4096, 32 << 20);
	info_export(fd, 1 << 20, F_HAS);
	ack(fd);
}

static void srv_not_fixed(int fd)
{
	greet(fd, 0);
	wait_eof(fd);
}

static void srv_oldstyle(int fd)
{
	uint8_t b[8 + 8 + 8 + 4 + 124] = { 0 };

	put64(b, BJ_NBD_MAGIC);
	put64(b + 8, BJ_NBD_OLDSTYLE_MAGIC);
	put64(b + 16, 1 << 20);
	wr(fd, b, sizeof(b));
	wait_eof(fd);
}

static void srv_http(int fd)
{
	wr(fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
	wait_eof(fd);
}

static void srv_unknown(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "foo");
	error_reply(fd, BJ_NBD_REP_ERR_UNKNOWN, "export 'foo' not present\x1b[2J\n");
	expect_abort(fd);
}

static void srv_unknown_default(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "");
	error_reply(fd, BJ_NBD_REP_ERR_UNKNOWN, "");
	expect_abort(fd);
}

static void srv_policy(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "foo");
	error_reply(fd, BJ_NBD_REP_ERR_POLICY, "not from your address");
	expect_abort(fd);
}

static void srv_tls(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "foo");
	error_reply(fd, BJ_NBD_REP_ERR_TLS_REQD, "");
	expect_abort(fd);
}

static void srv_shutdown(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "foo");
	error_reply(fd, BJ_NBD_REP_ERR_SHUTDOWN, "bye");
	expect_abort(fd);
}

static void srv_future_error(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "foo");
	error_reply(fd, BJ_NBD_REP_ERR(99), "why not");
	expect_abort(fd);
}

static void srv_unsup_noz(int fd)		/* no NBD_OPT_GO, NO_ZEROES: 10 bytes */
{
	uint8_t b[10];

	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "old");
	error_reply(fd, BJ_NBD_REP_ERR_UNSUP, "what is NBD_OPT_GO?");
	expect_export_name(fd, "old");
	put64(b, SIZE);
	put16(b + 8, F_HAS | F_FLUSH);
	wr(fd, b, sizeof(b));
}

static void srv_unsup_zeroes(int fd)		/* no NBD_OPT_GO nor NO_ZEROES: 10 + 124 bytes */
{
	uint8_t b[10 + 124] = { 0 };

	greet(fd, FIXED);
	expect_cflags(fd, 1);
	expect_go(fd, "old");
	error_reply(fd, BJ_NBD_REP_ERR_UNSUP, "");
	expect_export_name(fd, "old");
	put64(b, SIZE);
	put16(b + 8, F_HAS | F_FUA);
	wr(fd, b, sizeof(b));
}

static void srv_unsup_closed(int fd)		/* the old way of saying "no such export" */
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "old");
	error_reply(fd, BJ_NBD_REP_ERR_UNSUP, "");
	expect_export_name(fd, "old");
}

static void srv_unsup_ro(int fd)
{
	uint8_t b[10];

	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "old");
	error_reply(fd, BJ_NBD_REP_ERR_UNSUP, "");
	expect_export_name(fd, "old");
	put64(b, SIZE);
	put16(b + 8, F_HAS | F_RO);
	wr(fd, b, sizeof(b));
	expect_disc(fd);
}

static void srv_read_only(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	info_export(fd, SIZE, F_HAS | F_RO | F_FLUSH);
	ack(fd);
	expect_disc(fd);
}

static void srv_no_has_flags(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	info_export(fd, SIZE, F_FLUSH);
	ack(fd);
	expect_disc(fd);
}

static void srv_empty(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	info_export(fd, 0, F_HAS);
	ack(fd);
	expect_disc(fd);
}

static void srv_huge(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	info_export(fd, 1ULL << 63, F_HAS);
	ack(fd);
	expect_disc(fd);
}

static void srv_big_block(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	info_block_size(fd, 4096, 4096, 32 << 20);
	info_export(fd, SIZE, F_HAS);
	ack(fd);
	expect_disc(fd);
}

static void srv_eof_header(int fd)
{
	uint8_t h[20];

	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	put64(h, BJ_NBD_REP_MAGIC);
	wr(fd, h, 10);
}

static void srv_eof_data(int fd)
{
	uint8_t h[20] = { 0 };

	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	put64(h, BJ_NBD_REP_MAGIC);
	put32(h + 8, BJ_NBD_OPT_GO);
	put32(h + 12, BJ_NBD_REP_INFO);
	put32(h + 16, 12);
	wr(fd, h, sizeof(h));
	wr(fd, "\0\0\0\0\x01", 5);
}

static void srv_eof_greeting(int fd)
{
	wr(fd, "NBDMAGIC", 8);
}

static void srv_empty_info(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	reply(fd, BJ_NBD_OPT_GO, BJ_NBD_REP_INFO, NULL, 0);
	wait_eof(fd);
}

static void srv_oversized(int fd)		/* the client must not try to read it */
{
	uint8_t h[20];

	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	put64(h, BJ_NBD_REP_MAGIC);
	put32(h + 8, BJ_NBD_OPT_GO);
	put32(h + 12, BJ_NBD_REP_ERR_UNKNOWN);
	put32(h + 16, BJ_NBD_REPLY_MAX + 1);
	wr(fd, h, sizeof(h));
	wait_eof(fd);
}

static void srv_other_option(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	reply(fd, BJ_NBD_OPT_EXPORT_NAME, BJ_NBD_REP_ACK, NULL, 0);
	wait_eof(fd);
}

static void srv_bad_magic(int fd)
{
	uint8_t h[20] = { 0 };

	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	put64(h, BJ_NBD_IHAVEOPT);
	put32(h + 8, BJ_NBD_OPT_GO);
	put32(h + 12, BJ_NBD_REP_ACK);
	wr(fd, h, sizeof(h));
	wait_eof(fd);
}

static void srv_ack_only(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	ack(fd);
	wait_eof(fd);
}

static void srv_ack_data(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	info_export(fd, SIZE, F_HAS);
	reply(fd, BJ_NBD_OPT_GO, BJ_NBD_REP_ACK, "x", 1);
	wait_eof(fd);
}

static void srv_short_export(int fd)
{
	uint8_t d[11] = { 0 };

	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	reply(fd, BJ_NBD_OPT_GO, BJ_NBD_REP_INFO, d, sizeof(d));
	wait_eof(fd);
}

static void srv_long_export(int fd)
{
	uint8_t d[13] = { 0 };

	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	d[9] = 1;
	d[11] = F_HAS;
	reply(fd, BJ_NBD_OPT_GO, BJ_NBD_REP_INFO, d, sizeof(d));
	wait_eof(fd);
}

static void srv_short_info(int fd)
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	reply(fd, BJ_NBD_OPT_GO, BJ_NBD_REP_INFO, "\0", 1);
	wait_eof(fd);
}

static void srv_server_type(int fd)		/* NBD_REP_SERVER is no answer to GO */
{
	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	reply(fd, BJ_NBD_OPT_GO, 2, "\0\0\0\0", 4);
	wait_eof(fd);
}

static void srv_many(int fd)			/* endless information */
{
	uint8_t h[22];
	int i;

	greet(fd, FIXED | NOZ);
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	put64(h, BJ_NBD_REP_MAGIC);
	put32(h + 8, BJ_NBD_OPT_GO);
	put32(h + 12, BJ_NBD_REP_INFO);
	put32(h + 16, 2);
	put16(h + 20, 2);
	/* until the client gives up and closes */
	for (i = 0; i < 100; i++)
		if (send(fd, h, sizeof(h), MSG_NOSIGNAL) != sizeof(h))
			return;
	wait_eof(fd);
}

static void srv_silent(int fd)
{
	wait_eof(fd);
}

static void srv_slow(int fd)			/* a greeting in pieces, with pauses */
{
	uint8_t b[18];
	int i;

	put64(b, BJ_NBD_MAGIC);
	put64(b + 8, BJ_NBD_IHAVEOPT);
	put16(b + 16, FIXED | NOZ);
	for (i = 0; i < 18; i += 6) {
		usleep(50000);
		wr(fd, b + i, 6);
	}
	expect_cflags(fd, 3);
	expect_go(fd, "disk");
	info_export(fd, SIZE, F_HAS);
	ack(fd);
}

struct scenario {
	const char *what;
	void (*server)(int fd);
	const char *name;		/* the export asked for */
	unsigned int timeout;
	int want_r;
	const char *want_err[3];	/* substrings of the line */
	uint64_t size;
	uint16_t tflags;
};

static const struct scenario scenarios[] = {
	{ "NBD_OPT_GO: information (unknown types skipped), NBD_INFO_EXPORT, NBD_REP_ACK", srv_go,
	  "disk", 5, 0, { NULL }, SIZE, F_HAS | F_FLUSH | F_FUA },
	{ "NBD_OPT_GO for the default export, no NO_ZEROES offered", srv_go_plain, "", 5, 0,
	  { NULL }, 1 << 20, F_HAS },
	{ "a greeting in pieces", srv_slow, "disk", 5, 0, { NULL }, SIZE, F_HAS },
	{ "a server without fixed newstyle", srv_not_fixed, "disk", 5, -EPROTONOSUPPORT,
	  { "does not speak fixed newstyle" }, 0, 0 },
	{ "an oldstyle server", srv_oldstyle, "disk", 5, -EPROTONOSUPPORT, { "oldstyle" }, 0, 0 },
	{ "not an NBD server", srv_http, "disk", 5, -EPROTO, { "not an NBD server" }, 0, 0 },
	{ "NBD_REP_ERR_UNKNOWN with a message (sanitised), then NBD_OPT_ABORT", srv_unknown, "foo",
	  5, -ENOENT,
	  { "the server has no export 'foo' (NBD_REP_ERR_UNKNOWN: export 'foo' not present?[2J)" }, 0, 0 },
	{ "NBD_REP_ERR_UNKNOWN for the default export", srv_unknown_default, "", 5, -ENOENT,
	  { "no default export (NBD_REP_ERR_UNKNOWN)", "nbd://HOST/EXPORT" }, 0, 0 },
	{ "NBD_REP_ERR_POLICY", srv_policy, "foo", 5, -EACCES,
	  { "refuses export 'foo' by its policy (NBD_REP_ERR_POLICY: not from your address)" }, 0, 0 },
	{ "NBD_REP_ERR_TLS_REQD", srv_tls, "foo", 5, -EACCES, { "requires TLS" }, 0, 0 },
	{ "NBD_REP_ERR_SHUTDOWN", srv_shutdown, "foo", 5, -ESHUTDOWN,
	  { "shutting down (NBD_REP_ERR_SHUTDOWN: bye)" }, 0, 0 },
	{ "an error reply from the future", srv_future_error, "foo", 5, -EIO,
	  { "refused export 'foo' (error 0x80000063: why not)" }, 0, 0 },
	{ "NBD_REP_ERR_UNSUP: NBD_OPT_EXPORT_NAME, NO_ZEROES", srv_unsup_noz, "old", 5, 0, { NULL },
	  SIZE, F_HAS | F_FLUSH },
	{ "NBD_REP_ERR_UNSUP: NBD_OPT_EXPORT_NAME and its 124 zeroes", srv_unsup_zeroes, "old", 5,
	  0, { NULL }, SIZE, F_HAS | F_FUA },
	{ "NBD_OPT_EXPORT_NAME: the server closes (no such export)", srv_unsup_closed, "old", 5,
	  -ECONNRESET, { "closed the connection when asked for export 'old'" }, 0, 0 },
	{ "NBD_OPT_EXPORT_NAME: a read-only export", srv_unsup_ro, "old", 5, -EROFS,
	  { "the export 'old' is read-only" }, 0, 0 },
	{ "a read-only export: refused, NBD_CMD_DISC", srv_read_only, "disk", 5, -EROFS,
	  { "the export 'disk' is read-only" }, 0, 0 },
	{ "transmission flags without NBD_FLAG_HAS_FLAGS", srv_no_has_flags, "disk", 5, -EPROTO,
	  { "NBD_FLAG_HAS_FLAGS" }, 0, 0 },
	{ "an empty export", srv_empty, "disk", 5, -EINVAL, { "is empty" }, 0, 0 },
	{ "an export of 2^63 bytes", srv_huge, "disk", 5, -EINVAL, { "9223372036854775808 bytes" }, 0, 0 },
	{ "a minimum block size of 4096", srv_big_block, "disk", 5, -EINVAL,
	  { "requests of 4096 bytes at the least" }, 0, 0 },
	{ "EOF in the greeting", srv_eof_greeting, "disk", 5, -ECONNRESET,
	  { "closed the connection during the handshake (waiting for the server's greeting)" }, 0, 0 },
	{ "EOF in a reply's header", srv_eof_header, "disk", 5, -ECONNRESET,
	  { "closed the connection during the handshake (reading a reply to NBD_OPT_GO)" }, 0, 0 },
	{ "EOF in a reply's data", srv_eof_data, "disk", 5, -ECONNRESET,
	  { "closed the connection during the handshake" }, 0, 0 },
	{ "an NBD_REP_INFO without its type", srv_empty_info, "disk", 5, -EPROTO,
	  { "an NBD_REP_INFO of 0 bytes" }, 0, 0 },
	{ "a reply over 64 KiB: refused before reading it", srv_oversized, "disk", 3, -EPROTO,
	  { "an option reply of 65537 bytes (more than 65536)" }, 0, 0 },
	{ "a reply to another option", srv_other_option, "disk", 5, -EPROTO,
	  { "answered option 1, not the option sent (7)" }, 0, 0 },
	{ "a reply with bad magic", srv_bad_magic, "disk", 5, -EPROTO, { "bad magic" }, 0, 0 },
	{ "NBD_REP_ACK without NBD_INFO_EXPORT", srv_ack_only, "disk", 5, -EPROTO,
	  { "no NBD_INFO_EXPORT" }, 0, 0 },
	{ "NBD_REP_ACK with data", srv_ack_data, "disk", 5, -EPROTO, { "ACK with 1 bytes" }, 0, 0 },
	{ "an NBD_INFO_EXPORT of 11 bytes", srv_short_export, "disk", 5, -EPROTO,
	  { "NBD_INFO_EXPORT of 11 bytes" }, 0, 0 },
	{ "an NBD_INFO_EXPORT of 13 bytes", srv_long_export, "disk", 5, -EPROTO,
	  { "NBD_INFO_EXPORT of 13 bytes" }, 0, 0 },
	{ "an NBD_REP_INFO of 1 byte", srv_short_info, "disk", 5, -EPROTO,
	  { "NBD_REP_INFO of 1 bytes" }, 0, 0 },
	{ "NBD_REP_SERVER as an answer to NBD_OPT_GO", srv_server_type, "disk", 5, -EPROTO,
	  { "a reply of type 2 to NBD_OPT_GO" }, 0, 0 },
	{ "endless NBD_REP_INFO", srv_many, "disk", 5, -EPROTO, { "more than 64 replies" }, 0, 0 },
	{ "a server that says nothing", srv_silent, "disk", 1, -ETIMEDOUT,
	  { "timed out after 1 s", "waiting for the server's greeting" }, 0, 0 },
};

static void run(const struct scenario *s)
{
	char err[BJ_ERRLEN] = "", left[8];
	struct pollfd pfd;
	uint64_t size = 0;
	uint16_t tflags = 0;
	int sv[2], r, st, i;
	bool ok = true, drained;
	pid_t pid;
	ssize_t k;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		CHECK(0, "%s: socketpair: %s", s->what, strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		CHECK(0, "%s: fork: %s", s->what, strerror(errno));
		return;
	}
	if (!pid) {
		close(sv[0]);
		s->server(sv[1]);
		close(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	r = bj_nbd_handshake(sv[0], s->name, s->timeout, &size, &tflags, err);
	/* the client read all the server sent, no more: EOF next */
	drained = true;
	if (!r) {
		pfd.fd = sv[0];
		pfd.events = POLLIN;
		k = poll(&pfd, 1, 10000) == 1 ? recv(sv[0], left, sizeof(left), MSG_DONTWAIT) : -1;
		drained = k == 0;
	}
	close(sv[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		ok = false;
		printf("# the fake server ended with status 0x%x\n", st);
	}
	if (r != s->want_r)
		ok = false;
	if (!r && (size != s->size || tflags != s->tflags))
		ok = false;
	for (i = 0; i < 3 && s->want_err[i]; i++)
		if (!strstr(err, s->want_err[i]))
			ok = false;
	if (r && (strchr(err, '\n') || strchr(err, '\x1b')))
		ok = false;
	CHECK(ok && drained, "handshake: %s: %d (%s)%s", s->what, r,
	      r ? err : "size and flags as sent", drained ? "" : " (bytes left unread)");
}

/* bj_nbd_connect() and friends without the kernel --------------------------- */

static void test_connect(void)
{
	struct bj_nbd_opts o = { .connect_timeout = 2 };
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sa);
	char dev[32], err[BJ_ERRLEN] = "", url[64], id[64];
	unsigned int n = 7;
	uint64_t size;
	int fd, r;

	r = bj_nbd_connect("vol", "nbd://:1/x", &o, dev, sizeof(dev), &size, err);
	CHECK(r == -EINVAL && strstr(err, "no host"), "connect: a bad URL: %s", err);
	r = bj_nbd_connect("a/b", "nbd://h/x", &o, dev, sizeof(dev), &size, err);
	CHECK(r == -EINVAL && strstr(err, "volume name"), "connect: a bad volume name: %s", err);
	r = bj_nbd_connect("vol", "nbd://h/x", &o, dev, 4, &size, err);
	CHECK(r == -EINVAL, "connect: a device buffer too small: %s", err);
	/* a port nothing listens on: bound, not listening */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		printf("ok - # SKIP connect to a closed port: no loopback (%s)\n", strerror(errno));
	} else {
		snprintf(url, sizeof(url), "nbd://127.0.0.1:%u/x", ntohs(sa.sin_port));
		r = bj_nbd_connect("vol", url, &o, dev, sizeof(dev), &size, err);
		CHECK(r == -ECONNREFUSED && strstr(err, "cannot connect to 127.0.0.1:") &&
		      strstr(err, "Connection refused (is the NBD server running?"),
		      "connect: a closed port: %s", err);
	}
	if (fd >= 0)
		close(fd);
	r = bj_nbd_disconnect("/dev/sda", err);
	CHECK(r == -EINVAL && strstr(err, "not an NBD device"), "disconnect /dev/sda: %s", err);
	r = bj_nbd_disconnect("/dev/nbd1048575", err);
	CHECK(r == -ENODEV && strstr(err, "no such NBD device"), "disconnect an absent device: %s",
	      err);
	r = bj_nbd_backend("/dev/nbd1048575", id, sizeof(id), err);
	CHECK(r == -ENODEV, "backend of an absent device: %s", err);
	r = bj_nbd_backend("nbd", id, sizeof(id), err);
	CHECK(r == -EINVAL, "backend of 'nbd': %s", err);
	r = bj_nbd_release_unused("a/b", &n, err);
	CHECK(r == -EINVAL && !n, "release_unused: a bad volume name: %s", err);
	n = 7;
	r = bj_nbd_release_unused("bj-unit-test-no-such-volume", &n, err);
	CHECK(!r && !n, "release_unused: nothing of a volume that has no device");
}

/* Dropped connections ----------------------------------------------------- */

/* A generic netlink message of @family: command @cmd, then @alen bytes of attributes. */
static size_t genl_msg(uint8_t *buf, int family, uint8_t cmd, const void *attrs, size_t alen)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct genlmsghdr *gh = (struct genlmsghdr *)(buf + NLMSG_HDRLEN);

	memset(buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nlh->nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + alen;
	nlh->nlmsg_type = family;
	gh->cmd = cmd;
	gh->version = NBD_GENL_VERSION;
	memcpy(buf + NLMSG_HDRLEN + GENL_HDRLEN, attrs, alen);
	return nlh->nlmsg_len;
}

/* An attribute @type with @len bytes of @v at @p: its aligned length. */
static size_t attr(uint8_t *p, uint16_t type, const void *v, uint16_t len)
{
	struct nlattr a = { .nla_len = NLA_HDRLEN + len, .nla_type = type };

	memcpy(p, &a, sizeof(a));
	memcpy(p + NLA_HDRLEN, v, len);
	memset(p + NLA_HDRLEN + len, 0, NLA_ALIGN(a.nla_len) - a.nla_len);
	return NLA_ALIGN(a.nla_len);
}

static void test_link_dead(void)
{
	uint8_t buf[256], at[64];
	uint32_t idx = 7, other = 9;
	uint64_t big = 7;
	unsigned int index = 0;
	size_t n, a;

	a = attr(at, NBD_ATTR_INDEX, &idx, 4);
	n = genl_msg(buf, 31, NBD_CMD_LINK_DEAD, at, a);
	CHECK(bj_nbd_parse_link_dead(buf, n, 31, &index) == 1 && index == 7,
	      "NBD_CMD_LINK_DEAD with NBD_ATTR_INDEX 7: device 7");
	CHECK(bj_nbd_parse_link_dead(buf, n, 32, &index) == 0,
	      "...of another family: not ours to judge");
	n = genl_msg(buf, 31, NBD_CMD_STATUS, at, a);
	CHECK(bj_nbd_parse_link_dead(buf, n, 31, &index) == 0, "another command of the family: skipped");
	/* an unknown attribute first, the index last without its padding */
	a = attr(at, NBD_ATTR_SIZE_BYTES, &big, 8);
	a += attr(at + a, NBD_ATTR_INDEX, &other, 4);
	n = genl_msg(buf, 31, NBD_CMD_LINK_DEAD, at, a);
	CHECK(bj_nbd_parse_link_dead(buf, n, 31, &index) == 1 && index == 9,
	      "another attribute before the index: device 9");
	n = genl_msg(buf, 31, NBD_CMD_LINK_DEAD, at, 0);
	CHECK(bj_nbd_parse_link_dead(buf, n, 31, &index) == -EBADMSG, "LINK_DEAD without an index: malformed");
	a = attr(at, NBD_ATTR_INDEX, &big, 8);
	n = genl_msg(buf, 31, NBD_CMD_LINK_DEAD, at, a);
	CHECK(bj_nbd_parse_link_dead(buf, n, 31, &index) == -EBADMSG, "an 8-byte index: malformed");
	a = attr(at, NBD_ATTR_INDEX, &idx, 4);
	a += attr(at + a, NBD_ATTR_INDEX, &other, 4);
	n = genl_msg(buf, 31, NBD_CMD_LINK_DEAD, at, a);
	CHECK(bj_nbd_parse_link_dead(buf, n, 31, &index) == -EBADMSG, "two indexes: malformed");
	a = attr(at, NBD_ATTR_INDEX, &idx, 4);
	((struct nlattr *)at)->nla_len = 40;	/* beyond the message */
	n = genl_msg(buf, 31, NBD_CMD_LINK_DEAD, at, a);
	CHECK(bj_nbd_parse_link_dead(buf, n, 31, &index) == -EBADMSG, "an attribute longer than the message: malformed");
	a = attr(at, NBD_ATTR_INDEX, &idx, 4);
	n = genl_msg(buf, 31, NBD_CMD_LINK_DEAD, at, a);
	CHECK(bj_nbd_parse_link_dead(buf, n - 1, 31, &index) == -EBADMSG &&
	      bj_nbd_parse_link_dead(buf, NLMSG_HDRLEN - 1, 31, &index) == -EBADMSG,
	      "a message longer than what was received, a header cut short: malformed");
	n = genl_msg(buf, 31, NBD_CMD_LINK_DEAD, at, 0);
	((struct nlmsghdr *)buf)->nlmsg_len = NLMSG_HDRLEN + 2;
	CHECK(bj_nbd_parse_link_dead(buf, n, 31, &index) == -EBADMSG, "no room for the genetlink header: malformed");

	CHECK(bj_nbd_retry_bound(60) == 120 && bj_nbd_retry_bound(2) == BJ_NBD_KEEP_MIN_RETRY &&
	      bj_nbd_retry_bound(15) == 30 && bj_nbd_retry_bound(16) == 32 &&
	      bj_nbd_retry_bound(0) == 30 && bj_nbd_retry_bound(UINT32_MAX) == UINT32_MAX,
	      "retry bound max(2 x timeout, 30 s): 60 -> 120, 2 -> 30, 16 -> 32, no overflow");
}

static void test_id_url(void)
{
	size_t n = 0;
	const char *u;

	u = bj_nbd_id_url("blockjob:vol0:nbd://h:10809/x", &n);
	CHECK(u && !strcmp(u, "nbd://h:10809/x") && n == 4, "the URL in blockjob:vol0:nbd://...");
	u = bj_nbd_id_url("blockjob:a:b:nbd://[fe80::1]:1/y", &n);
	CHECK(u && !strcmp(u, "nbd://[fe80::1]:1/y") && n == 3, "...of a volume a:b");
	u = bj_nbd_id_url("blockjob:a:nbd://h:1/nbd://x", &n);
	CHECK(u && !strcmp(u, "nbd://h:1/nbd://x") && n == 1, "...the first nbd:// ends the volume");
	CHECK(!bj_nbd_id_url("other:a:nbd://h:1/x", NULL) && !bj_nbd_id_url("blockjob:a", NULL) &&
	      !bj_nbd_id_url("blockjob::nbd://h:1/x", NULL) &&
	      !bj_nbd_id_url("blockjob:a\tb:nbd://h:1/x", NULL) &&
	      !bj_nbd_id_url("blockjob:a/b:nbd://h:1/x", NULL) && !bj_nbd_id_url(NULL, NULL),
	      "not blockjob's: another prefix, no URL, no volume, a volume name no volume has");
}

static void test_keep_input(void)
{
	struct bj_nbd_watch *w = NULL;
	char err[BJ_ERRLEN] = "";
	int fds[2], r;

	r = bj_nbd_reconnect("/dev/sda", 1, -1, err);
	CHECK(r == -EINVAL && strstr(err, "not an NBD device"), "reconnect /dev/sda: %s", err);
	r = bj_nbd_reconnect("/dev/nbd1048575", 1, -1, err);
	CHECK(r == -ENODEV && strstr(err, "no such NBD device"), "reconnect an absent device: %s",
	      err);
	r = bj_nbd_keep(NULL, "/dev/nbd0", NULL, -1, NULL, NULL, err);
	CHECK(r == -EINVAL && strstr(err, "no watch"), "keep without a watch: %s", err);
	if (pipe(fds)) {
		CHECK(0, "pipe: %s", strerror(errno));
		return;
	}
	close(fds[1]);
	r = bj_nbd_watch_adopt(fds[0], &w, err);
	CHECK(r == -EBADF && !w && strstr(err, "not a generic netlink socket") &&
	      fcntl(fds[0], F_GETFD) < 0 && errno == EBADF,
	      "adopt a pipe: refused, and closed: %s", err);
	r = bj_nbd_watch_open(&w, err);
	if (r) {
		/* the host's kernel need not have the NBD client (the VM tests do) */
		CHECK(r == -ENOENT && !w && strstr(err, "modprobe nbd"),
		      "watch without the nbd module: %s", err);
		return;
	}
	CHECK(w && bj_nbd_watch_fd(w) >= 0, "watch: opened");
	r = bj_nbd_keep(w, "/dev/nbd1048575", NULL, -1, NULL, NULL, err);
	CHECK(r == -ENODEV, "keep an absent device: %s", err);
	bj_nbd_watch_close(w);
}

int main(void)
{
	size_t i;

	test_urls();
	test_ids();
	test_sanitize();
	test_build();
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run(&scenarios[i]);
	test_connect();
	test_link_dead();
	test_id_url();
	test_keep_input();
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed != 0;
}
