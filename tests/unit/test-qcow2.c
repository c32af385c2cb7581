// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the qcow2 reader on images built in memory (memfd): header
 * checks, L1/L2 decoding (data, zero, compressed, unallocated), merging,
 * backing files through the open_file hook, and refusals.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qcow2.h"
#include "qcow2-open.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

#define CS 512u
#define IMG_SIZE (64u * 1024)

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, (uint32_t)v);
}

/*
 * Layout (512-byte clusters): 0 header, 1 refcount table, 2 refcount block,
 * 3 L1, 4 L2 #0, 5..6 data. Guest clusters: 0,1 data (host 5,6: merged),
 * 2 zero, 3 compressed, the rest unallocated.
 */
static size_t build(uint8_t *img, const char *backing)
{
	size_t len = 7 * CS;
	unsigned int i;

	memset(img, 0, 8 * CS);
	put32(img, 0x514649fb);
	put32(img + 4, 3);
	put32(img + 20, 9);
	put64(img + 24, IMG_SIZE);
	put32(img + 36, 2);			/* l1 size: 64 KiB / (64 * 512) */
	put64(img + 40, 3 * CS);
	put64(img + 48, 1 * CS);
	put32(img + 56, 1);
	put32(img + 96, 4);
	put32(img + 100, 112);
	if (backing) {
		put64(img + 8, 400);
		put32(img + 16, (uint32_t)strlen(backing));
		memcpy(img + 400, backing, strlen(backing));
	}
	put64(img + CS, 2 * CS);		/* refcount table -> block */
	for (i = 0; i < 7; i++)
		img[2 * CS + 2 * i + 1] = 1;	/* refcount 1, 16-bit BE */
	put64(img + 3 * CS, (1ull << 63) | 4 * CS);
	put64(img + 4 * CS + 0, (1ull << 63) | 5 * CS);
	put64(img + 4 * CS + 8, (1ull << 63) | 6 * CS);
	put64(img + 4 * CS + 16, 1);		/* zero, unallocated */
	put64(img + 4 * CS + 24, (1ull << 62) | 5 * CS);	/* compressed */
	return len;
}

static int memfd_with(const uint8_t *buf, size_t len)
{
	int fd = memfd_create("test-qcow2", MFD_CLOEXEC);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
		perror("memfd");
		exit(1);
	}
	return fd;
}

struct rec {
	unsigned int n;
	struct bj_qcow2_extent e[16];
};

static int rec_cb(const struct bj_qcow2_extent *e, void *opaque)
{
	struct rec *r = opaque;

	if (r->n < 16)
		r->e[r->n] = *e;
	r->n++;
	return 0;
}

static uint8_t backing_img[8 * CS];
static size_t backing_len;
static unsigned int opened;

static int open_backing(void *opaque, const char *path)
{
	(void)opaque;
	opened++;
	if (strcmp(path, "/imgs/base.qcow2"))
		return -ENOENT;
	return memfd_with(backing_img, backing_len);
}

static void test_map(void)
{
	uint8_t img[8 * CS];
	size_t len = build(img, NULL);
	struct rec r = { 0 };
	struct bj_qcow2_chain *c;
	char err[BJ_ERRLEN] = "";

	bj_qcow2_open_chain_fd(memfd_with(img, len), "/imgs/top.qcow2", NULL, &c, err);
	CHECK(c != NULL, "open a built image (%s)", err);
	if (!c)
		return;
	CHECK(bj_qcow2_chain_size(c) == IMG_SIZE, "virtual size");
	CHECK(bj_qcow2_map(c, rec_cb, &r, err) == 0, "map (%s)", err);
	CHECK(r.n == 4, "4 extents (got %u)", r.n);
	CHECK(r.e[0].start == 0 && r.e[0].length == 2 * CS && r.e[0].data && !r.e[0].zero &&
	      r.e[0].present && r.e[0].has_offset && r.e[0].offset == 5 * CS,
	      "contiguous data clusters merge into one linear extent");
	CHECK(r.e[1].start == 2 * CS && r.e[1].length == CS && r.e[1].zero && !r.e[1].data &&
	      r.e[1].present && !r.e[1].has_offset, "zero cluster");
	CHECK(r.e[2].start == 3 * CS && r.e[2].compressed && r.e[2].data && !r.e[2].has_offset,
	      "compressed cluster has no linear mapping");
	CHECK(r.e[3].start == 4 * CS && r.e[3].length == IMG_SIZE - 4 * CS && r.e[3].zero &&
	      !r.e[3].present && r.e[3].depth == 0, "unallocated tail reads as zeroes");
	bj_qcow2_close_chain(c);
}

static void test_backing(void)
{
	uint8_t img[8 * CS];
	size_t len;
	struct bj_qcow2_open_opts opts = { .open_file = open_backing };
	struct bj_qcow2_image_info info;
	struct rec r = { 0 };
	struct bj_qcow2_chain *c;
	char err[BJ_ERRLEN] = "";

	backing_len = build(backing_img, NULL);
	len = build(img, "base.qcow2");
	/* top: only cluster 0 allocated */
	memset(img + 4 * CS + 8, 0, 24);
	bj_qcow2_open_chain_fd(memfd_with(img, len), "/imgs/top.qcow2", &opts, &c, err);
	CHECK(c != NULL, "relative backing name resolved beside the image (%s)", err);
	if (!c)
		return;
	CHECK(bj_qcow2_chain_length(c) == 2, "chain of 2");
	CHECK(bj_qcow2_image_info(c, 1, &info) == 0 && !strcmp(info.path, "/imgs/base.qcow2") &&
	      !strcmp(info.format, "qcow2"), "backing info");
	CHECK(bj_qcow2_map(c, rec_cb, &r, err) == 0, "map chain (%s)", err);
	CHECK(r.n == 5 && r.e[0].depth == 0 && r.e[0].length == CS &&
	      r.e[1].depth == 1 && r.e[1].start == CS && r.e[1].offset == 6 * CS &&
	      r.e[2].depth == 1 && r.e[2].zero && r.e[3].depth == 1 && r.e[3].compressed &&
	      r.e[4].depth == 1 && !r.e[4].present,
	      "backing extents carry their depth (%u extents)", r.n);
	bj_qcow2_close_chain(c);
}

/* The chain's tables are capped as a whole, not only per image. */
static void test_chain_cap(void)
{
	uint8_t img[8 * CS];
	size_t len;
	/* per image: L1 16 B + 2 cached L2 tables 1024 B + refcount table 512 B */
	struct bj_qcow2_open_opts opts = { .open_file = open_backing, .max_chain_bytes = 2000 };
	struct bj_qcow2_chain *c;
	char err[BJ_ERRLEN] = "";
	int r;

	backing_len = build(backing_img, NULL);
	len = build(img, "base.qcow2");
	r = bj_qcow2_open_chain_fd(memfd_with(img, len), "/imgs/top.qcow2", &opts, &c, err);
	CHECK(r < 0 && !c && strstr(err, "backing file /imgs/base.qcow2 (depth 1): the chain's tables would take more than 2000 bytes of memory") &&
	      strstr(err, "1552 bytes before this image, 1040 more"),
	      "chain-wide memory cap: %s", err);
	bj_qcow2_close_chain(c);
	opts.max_chain_bytes = 4000;
	r = bj_qcow2_open_chain_fd(memfd_with(img, len), "/imgs/top.qcow2", &opts, &c, err);
	CHECK(r == 0 && c != NULL, "the same chain under a larger cap (%s)", c ? "" : err);
	bj_qcow2_close_chain(c);
}

static int open_devnull(void *opaque, const char *path)
{
	(void)opaque;
	(void)path;
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* A descriptor from the open hook must be a regular file too. */
static void test_hook_regular(void)
{
	uint8_t img[8 * CS];
	size_t len = build(img, "base.qcow2");
	struct bj_qcow2_open_opts opts = { .open_file = open_devnull };
	struct bj_qcow2_chain *c;
	char err[BJ_ERRLEN] = "";

	bj_qcow2_open_chain_fd(memfd_with(img, len), "/imgs/top.qcow2", &opts, &c, err);
	CHECK(!c && strstr(err, "backing file /imgs/base.qcow2 refused: it is a character device"),
	      "open hook handing over a device: %s", err);
	bj_qcow2_close_chain(c);
}

/* bj_qcow2_open_named(): what an untrusted image may name. */
static void test_open_named(void)
{
	char dir[] = "/tmp/test-qcow2.XXXXXX", p[128], l[128], why[512];
	int fd;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(p, sizeof(p), "%s/fifo", dir);
	CHECK(!mkfifo(p, 0600), "mkfifo");
	fd = bj_qcow2_open_named(p, why, sizeof(why));
	CHECK(fd == -EINVAL && strstr(why, "it is a FIFO"), "a FIFO is refused, not opened: %s", why);
	unlink(p);
	snprintf(p, sizeof(p), "%s/file", dir);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	snprintf(l, sizeof(l), "%s/link", dir);
	CHECK(!symlink(p, l), "symlink");
	fd = bj_qcow2_open_named(l, why, sizeof(why));
	CHECK(fd >= 0 && !why[0], "a symlink to a regular file opens (%s)", why);
	if (fd >= 0)
		close(fd);
	unlink(l);
	CHECK(!symlink("/sys/kernel/uevent_seqnum", l), "symlink into /sys");
	fd = bj_qcow2_open_named(l, why, sizeof(why));
	/* a regular sysfs file where the kernel has it */
	CHECK(fd < 0 && (strstr(why, "resolves to /sys/kernel/uevent_seqnum, under /sys") ||
			 (fd == -ENOENT && access("/sys/kernel/uevent_seqnum", F_OK))),
	      "a symlink to a regular file in /sys is refused: %s", why);
	unlink(l);
	fd = bj_qcow2_open_named(dir, why, sizeof(why));
	CHECK(fd == -EINVAL && strstr(why, "it is a directory"), "a directory: %s", why);
	fd = bj_qcow2_open_named("/nonexistent/x", why, sizeof(why));
	CHECK(fd == -ENOENT && !why[0], "a missing file: -ENOENT, no reason (strerror says it)");
	unlink(p);
	rmdir(dir);
}

static void refuse(const char *what, void (*patch)(uint8_t *img), const char *frag)
{
	uint8_t img[8 * CS];
	size_t len = build(img, NULL);
	struct bj_qcow2_chain *c;
	struct rec r = { 0 };
	char err[BJ_ERRLEN] = "";

	patch(img);
	bj_qcow2_open_chain_fd(memfd_with(img, len), "/imgs/bad.qcow2", NULL, &c, err);
	if (c) {
		if (bj_qcow2_map(c, rec_cb, &r, err) == 0)
			err[0] = 0;
		bj_qcow2_close_chain(c);
	}
	CHECK(err[0] && strstr(err, frag), "refuse %s: %s", what, err);
}

static void p_magic(uint8_t *i) { i[0] = 0; }
static void p_dirty(uint8_t *i) { i[79] = 1; }
static void p_corrupt(uint8_t *i) { i[79] = 2; }
static void p_unknown(uint8_t *i) { i[78] = 1; }
static void p_crypt(uint8_t *i) { put32(i + 32, 2); }
static void p_l1big(uint8_t *i) { put32(i + 36, 0x1000000); }
static void p_l2beyond(uint8_t *i) { put64(i + 3 * CS, 100 * CS); }
static void p_databeyond(uint8_t *i) { put64(i + 4 * CS, (1ull << 63) | (1000 * CS)); }
static void p_v2zero(uint8_t *i) { put32(i + 4, 2); }
static void p_order(uint8_t *i) { put32(i + 96, 9); }
static void p_selfback(uint8_t *i) { put64(i + 8, 400); put32(i + 16, 9); memcpy(i + 400, "x.qcow2\0\0", 9); }

int main(void)
{
	test_map();
	test_backing();
	test_chain_cap();
	test_hook_regular();
	test_open_named();
	refuse("bad magic", p_magic, "not a qcow2 image");
	refuse("dirty", p_dirty, "qemu-img check -r all");
	refuse("corrupt", p_corrupt, "corrupt");
	refuse("unknown feature", p_unknown, "bit 8");
	refuse("encryption", p_crypt, "encrypted");
	refuse("huge L1", p_l1big, "L1 table too large");
	refuse("L2 beyond EOF", p_l2beyond, "beyond the end");
	refuse("data beyond EOF", p_databeyond, "beyond the end of");
	refuse("zero cluster in v2", p_v2zero, "zero cluster in a qcow2 v2 image");
	refuse("refcount order", p_order, "refcount order");
	refuse("NUL in backing name", p_selfback, "NUL");
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed ? 1 : 0;
}
