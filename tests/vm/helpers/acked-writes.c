// SPDX-License-Identifier: GPL-2.0
/*
 * acked-writes: a stream of known writes whose acknowledgements are logged,
 * and the check, after a power cut, that every acknowledged write is on the
 * device. For power-cut tests (scripts/vm-run --boots, BJ-POWER-CUT).
 *
 *   acked-writes write [--ready K] [--max N] [--blocks B] DEV LOG
 *   acked-writes check [--list FILE] DEV LOG
 *
 * write: one write at a time, forever (or N writes): write number S puts
 * 4 KiB at a block of DEV's first B blocks (default: all of DEV), both
 * drawn from S and a run id, with O_DIRECT, then fdatasync(DEV); once that
 * returned the write is acknowledged, and the count of acknowledged writes
 * goes to LOG with O_DIRECT|O_DSYNC (in two slots used in turn, so that a
 * slot torn by the cut leaves the other). After K acknowledged writes it
 * prints "ready K" on stdout and closes it, so that a test can wait for it.
 * After N writes it logs "finished" and exits 0.
 *
 * check: reads LOG, replays the writes, and checks that every block written
 * holds its last acknowledged write; the one write that may have been in
 * flight at the cut (number = the count acknowledged) may have landed or
 * not. --list FILE: the blocks holding an acknowledged write, one
 * "<byte offset> 4096" line each (for a bitmap coverage check). Prints what
 * it found and, last, "acked A finished F"; exits 0 when
 * nothing was lost, 1 when a block lost its write, 2 when LOG holds no log
 * (a fresh disk).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define BS 4096
#define HDR_MAGIC 0x314752484b434142ULL	/* "BACKHRG1" */
#define SLOT_MAGIC 0x31544c534b434142ULL	/* "BACKSLT1" */
#define BLK_MAGIC 0x314b4c424b434142ULL	/* "BACKBLK1" */

struct hdr {		/* LOG block 0 */
	uint64_t magic, run, blocks, bs;
};

struct slot {		/* LOG blocks 1 and 2 */
	uint64_t magic, run, acked, finished, sum;
};

static uint64_t mix(uint64_t x)	/* splitmix64's finalizer */
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t block_of(uint64_t run, uint64_t seq, uint64_t blocks)
{
	return mix(run ^ mix(seq)) % blocks;
}

/* the 4 KiB of write number SEQ: a header, then a stream drawn from it */
static void fill(uint64_t *b, uint64_t run, uint64_t seq, uint64_t blk)
{
	uint64_t x = mix(run + seq);
	size_t i;

	b[0] = BLK_MAGIC;
	b[1] = run;
	b[2] = seq;
	b[3] = blk;
	for (i = 4; i < BS / 8; i++)
		b[i] = x = mix(x);
}

static uint64_t slot_sum(const struct slot *s)
{
	return mix(s->magic ^ mix(s->run ^ mix(s->acked ^ mix(s->finished))));
}

static void die(const char *what, const char *name)
{
	fprintf(stderr, "acked-writes: %s %s: %s\n", what, name, strerror(errno));
	exit(1);
}

static void *block(void)
{
	void *p;

	if (posix_memalign(&p, BS, BS)) {
		fprintf(stderr, "acked-writes: out of memory\n");
		exit(1);
	}
	memset(p, 0, BS);
	return p;
}

static uint64_t dev_blocks(int fd, const char *name)
{
	uint64_t bytes;
	struct stat st;

	/* (a regular file too: to try it on the host) */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		return st.st_size / BS;
	if (ioctl(fd, BLKGETSIZE64, &bytes))
		die("size of", name);
	return bytes / BS;
}

static void put(int fd, const void *b, uint64_t blk, const char *name)
{
	if (pwrite(fd, b, BS, blk * BS) != BS)
		die("write to", name);
}

static int do_write(const char *dev, const char *log, uint64_t ready, uint64_t max,
		    uint64_t blocks)
{
	struct hdr *h = block();
	struct slot *s = block();
	uint64_t *b = block();
	uint64_t run, seq;
	int dfd, lfd;

	dfd = open(dev, O_WRONLY | O_DIRECT);
	if (dfd < 0)
		die("cannot open", dev);
	lfd = open(log, O_WRONLY | O_DIRECT | O_DSYNC);
	if (lfd < 0)
		die("cannot open", log);
	if (!blocks || blocks > dev_blocks(dfd, dev))
		blocks = dev_blocks(dfd, dev);
	if (!blocks || dev_blocks(lfd, log) < 3) {
		fprintf(stderr, "acked-writes: %s or %s is too small\n", dev, log);
		return 1;
	}
	if (getrandom(&run, sizeof(run), 0) != sizeof(run))
		die("getrandom for", "the run id");

	/* a new log: the slots of an older run must not count for this one */
	put(lfd, s, 1, log);
	put(lfd, s, 2, log);
	*h = (struct hdr){ HDR_MAGIC, run, blocks, BS };
	put(lfd, h, 0, log);
	for (seq = 0; seq < max; seq++) {
		uint64_t blk = block_of(run, seq, blocks);

		fill(b, run, seq, blk);
		put(dfd, b, blk, dev);
		if (fdatasync(dfd))
			die("fdatasync", dev);
		/* acknowledged: writes 0..seq are on DEV */
		*s = (struct slot){ SLOT_MAGIC, run, seq + 1, seq + 1 == max, 0 };
		s->sum = slot_sum(s);
		put(lfd, s, 1 + seq % 2, log);
		if (seq + 1 == ready) {
			printf("ready %" PRIu64 "\n", ready);
			fclose(stdout);
		}
	}
	return 0;
}

static int do_check(const char *dev, const char *log, const char *list)
{
	struct hdr *h = block();
	struct slot *s = block();
	uint64_t *b = block(), *want = block();
	uint64_t acked = 0, finished = 0, seq, blk, nlast = 0, lost = 0, landed = 0;
	int64_t *last;
	int dfd, lfd, i, have = 0;

	dfd = open(dev, O_RDONLY | O_DIRECT);
	if (dfd < 0)
		die("cannot open", dev);
	lfd = open(log, O_RDONLY | O_DIRECT);
	if (lfd < 0)
		die("cannot open", log);
	if (pread(lfd, h, BS, 0) != BS)
		die("read of", log);
	if (h->magic != HDR_MAGIC || h->bs != BS || !h->blocks ||
	    h->blocks > dev_blocks(dfd, dev)) {
		printf("%s holds no acked-writes log (a fresh disk?)\n", log);
		return 2;
	}
	for (i = 1; i <= 2; i++) {
		if (pread(lfd, s, BS, i * BS) != BS)
			die("read of", log);
		if (s->magic != SLOT_MAGIC || s->run != h->run || s->sum != slot_sum(s))
			continue;	/* empty, or torn by the cut */
		if (!have || s->acked > acked) {
			acked = s->acked;
			finished = s->finished;
		}
		have = 1;
	}
	printf("run %016" PRIx64 ": %" PRIu64 " writes acknowledged%s, over %" PRIu64
	       " blocks\n", h->run, acked, finished ? " (the writer finished)" : "", h->blocks);

	/* the last acknowledged write of each block */
	last = malloc(h->blocks * sizeof(*last));
	if (!last) {
		fprintf(stderr, "acked-writes: out of memory\n");
		return 1;
	}
	memset(last, 0xff, h->blocks * sizeof(*last));
	for (seq = 0; seq < acked; seq++)
		last[block_of(h->run, seq, h->blocks)] = seq;
	if (list) {
		FILE *f = fopen(list, "w");

		if (!f)
			die("cannot create", list);
		for (blk = 0; blk < h->blocks; blk++)
			if (last[blk] >= 0)
				fprintf(f, "%" PRIu64 " %d\n", blk * BS, BS);
		if (fclose(f))
			die("cannot write", list);
	}

	for (blk = 0; blk < h->blocks; blk++) {
		uint64_t inflight = block_of(h->run, acked, h->blocks);

		if (last[blk] < 0 && (finished || blk != inflight))
			continue;
		if (pread(dfd, b, BS, blk * BS) != BS)
			die("read of", dev);
		if (!finished && blk == inflight) {
			fill(want, h->run, acked, blk);
			if (!memcmp(b, want, BS)) {
				landed = 1;
				nlast += last[blk] >= 0;
				continue;
			}
			if (last[blk] < 0)
				continue;
		}
		nlast++;
		fill(want, h->run, last[blk], blk);
		if (!memcmp(b, want, BS))
			continue;
		if (++lost > 10)
			continue;
		printf("block %" PRIu64 " lost write %" PRId64 ": ", blk, last[blk]);
		if (b[0] != BLK_MAGIC || b[1] != h->run)
			printf("it holds no write of this run (word 0: %016" PRIx64 ")\n", b[0]);
		else if (b[2] != (uint64_t)last[blk])
			printf("it holds write %" PRIu64 "\n", b[2]);
		else
			printf("its header is right, its data is not\n");
	}
	printf("%" PRIu64 " blocks hold an acknowledged write, %" PRIu64 " lost it; "
	       "the write in flight (number %" PRIu64 ") %s\n", nlast - lost, lost, acked,
	       finished ? "does not exist" : landed ? "landed" : "did not land");
	printf("acked %" PRIu64 " finished %" PRIu64 "\n", acked, finished);
	return lost ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ready", required_argument, NULL, 'r' },
		{ "max", required_argument, NULL, 'm' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "list", required_argument, NULL, 'l' },
		{}
	};
	uint64_t ready = 0, max = UINT64_MAX, blocks = 0;
	const char *list = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			ready = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			max = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			blocks = strtoull(optarg, NULL, 0);
			break;
		case 'l':
			list = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind == 3 && !strcmp(argv[optind], "write"))
		return do_write(argv[optind + 1], argv[optind + 2], ready, max, blocks);
	if (argc - optind == 3 && !strcmp(argv[optind], "check"))
		return do_check(argv[optind + 1], argv[optind + 2], list);
usage:
	fprintf(stderr, "usage: acked-writes write [--ready K] [--max N] [--blocks B] DEV LOG\n"
		"       acked-writes check [--list FILE] DEV LOG\n");
	return 1;
}
