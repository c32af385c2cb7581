// SPDX-License-Identifier: GPL-2.0
/*
 * digest [FILE [OFFSET LENGTH]]: a 64-bit digest of standard input, or of
 * FILE (read with O_DIRECT when it is a block device, as the tests' dd
 * iflag=direct did), whole or LENGTH bytes from byte OFFSET. Prints 16 hex
 * digits and a newline.
 *
 * The VM tests compare device contents by digest hundreds of times. In the
 * guest under TCG a pipe moves about 25 MB/s (64 KiB at a time, a wakeup of
 * the other side each time) and sha256sum hashes about as fast: "dd | cat"
 * of 256 MiB took 10.5 s, "dd | sha256sum" 20 s, this program reading the
 * device itself 0.34 s. Read the device here; a pipe into it is widened to
 * 1 MiB. This is not a cryptographic hash: it only has to tell apart
 * data that differs by accident (a stale block, a torn write), for which 64
 * bits are plenty. Four lanes of multiply-rotate over 64-bit words (the
 * round of xxHash64) keep the work per byte small and free of tables; the
 * length and a final avalanche go into the result, so that two inputs that
 * differ only in trailing zero bytes differ.
 */
/* O_DIRECT and F_SETPIPE_SZ need _GNU_SOURCE, which userspace/Makefile defines. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define P1 0x9e3779b185ebca87ULL
#define P2 0xc2b2ae3d27d4eb4fULL
#define P3 0x165667b19e3779f9ULL
#define P4 0x85ebca77c2b2ae63ULL
#define P5 0x27d4eb2f165667c5ULL
#define BUF (1u << 20)

struct state {
	uint64_t lane[4];
	uint64_t len;
	unsigned char tail[32];
	unsigned int ntail;
};

static uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t round1(uint64_t acc, uint64_t w)
{
	return rotl(acc + w * P2, 31) * P1;
}

static uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;	/* host order: the tests compare digests made in one guest */
}

static void stripes(struct state *s, const unsigned char *p, size_t n)
{
	uint64_t a = s->lane[0], b = s->lane[1], c = s->lane[2], d = s->lane[3];

	for (; n >= 32; p += 32, n -= 32) {
		a = round1(a, load64(p));
		b = round1(b, load64(p + 8));
		c = round1(c, load64(p + 16));
		d = round1(d, load64(p + 24));
	}
	s->lane[0] = a, s->lane[1] = b, s->lane[2] = c, s->lane[3] = d;
}

static void update(struct state *s, const unsigned char *p, size_t n)
{
	s->len += n;
	if (s->ntail) {
		size_t take = 32 - s->ntail < n ? 32 - s->ntail : n;

		memcpy(s->tail + s->ntail, p, take);
		s->ntail += take, p += take, n -= take;
		if (s->ntail < 32)
			return;
		stripes(s, s->tail, 32);
		s->ntail = 0;
	}
	stripes(s, p, n & ~(size_t)31);
	memcpy(s->tail, p + (n & ~(size_t)31), n & 31);
	s->ntail = n & 31;
}

static uint64_t final(struct state *s)
{
	uint64_t h = rotl(s->lane[0], 1) + rotl(s->lane[1], 7) + rotl(s->lane[2], 12) +
		     rotl(s->lane[3], 18);
	unsigned int i = 0;

	for (int l = 0; l < 4; l++)
		h = (h ^ round1(0, s->lane[l])) * P1 + P4;
	h += s->len;
	for (; i + 8 <= s->ntail; i += 8)
		h = rotl(h ^ round1(0, load64(s->tail + i)), 27) * P1 + P4;
	for (; i < s->ntail; i++)
		h = rotl(h ^ (s->tail[i] * P5), 11) * P1;
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

static int fail(const char *what, const char *name)
{
	fprintf(stderr, "digest: %s %s: %s\n", what, name, strerror(errno));
	return 2;
}

int main(int argc, char **argv)
{
	struct state s = { .lane = { P1 + P2, P2, 0, -P1 } };
	unsigned long long off = 0, left = ~0ULL;
	const char *name = "standard input";
	unsigned char *buf;
	int fd = 0;

	if (argc != 1 && argc != 2 && argc != 4) {
		fprintf(stderr, "usage: digest [FILE [OFFSET LENGTH]]\n");
		return 2;
	}
	if (argc >= 2) {
		struct stat st;

		name = argv[1];
		if (stat(name, &st))
			return fail("cannot stat", name);
		fd = open(name, O_RDONLY | (S_ISBLK(st.st_mode) ? O_DIRECT : 0));
		if (fd < 0)
			return fail("cannot open", name);
	}
	else
		fcntl(0, F_SETPIPE_SZ, BUF);	/* fails harmlessly on a file */
	if (argc == 4) {
		off = strtoull(argv[2], NULL, 0);
		left = strtoull(argv[3], NULL, 0);
	}
	if (posix_memalign((void **)&buf, 4096, BUF))
		return fail("cannot allocate for", name);
	while (left) {
		size_t want = left < BUF ? left : BUF;
		ssize_t n;

		/* O_DIRECT wants whole blocks: read them, count what was asked */
		n = argc == 4 ? pread(fd, buf, (want + 511) & ~(size_t)511, off) :
				read(fd, buf, want);
		if (n < 0)
			return fail("cannot read", name);
		if (n == 0)
			break;
		if ((size_t)n > want)
			n = want;
		update(&s, buf, n);
		off += n;
		left -= argc == 4 ? (unsigned long long)n : 0;
	}
	if (argc == 4 && left) {
		fprintf(stderr, "digest: %s ends %llu bytes before OFFSET + LENGTH\n", name, left);
		return 2;
	}
	printf("%016" PRIx64 "\n", final(&s));
	return 0;
}
