// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the crash-replay checker tests/vm/helpers/log-replay-check.c
 * (built in here with LRC_NO_MAIN, so it runs under ASan/UBSan) on
 * synthetic dm-log-writes logs that a small writer below produces in the
 * kernel's format (drivers/md/dm-log-writes.c), with metadata blocks encoded
 * by lib/bj-md-format.c. The logged device: the metadata region (MD_SECT
 * sectors) first, the data region after it, as tests/vm/replay-lib.sh lays
 * them out.
 *
 * Covered: a data write after the FUA bitmap write that covers it (no
 * violation) and before it (a violation, at the right point and granule);
 * FUA data writes as points; writes spanning two granules; data discards;
 * a metadata discard that drops the bits; a torn newer bitmap copy (its
 * block taken as all dirty, both ways), a valid newer copy; a successor area; a
 * torn newer superblock; a bitmap that is absent or renamed; data writes
 * before --from-mark; logs with 512- and 4096-byte sectors and entries
 * larger than a sector; bad logs (magic, version, truncated, no end mark,
 * a write across the regions' boundary or outside both, a missing mark,
 * inline data) and bad arguments (exit 2); and a random workload of about
 * 5000 entries replayed as the kernel would write it (no violation) and
 * with one write's bitmap update moved after it (found), timed.
 * --sync-map: a copy flushed before the map clears (fine); a map cleared
 * before the copy landed, an unmarked source write, a destination write to
 * a clean region (violations, where and when); a log without a map; a
 * write outside the regions; the options' rules.
 */
#define LRC_NO_MAIN
#include "../vm/helpers/log-replay-check.c"

#include <sys/mman.h>
#include <time.h>

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

#define DIE(...) do { printf("Bail out! " __VA_ARGS__); putchar('\n'); exit(1); } while (0)

/*
 * The logged device: 1 MiB of metadata, then 64 MiB of data with a bitmap
 * of 64 KiB granules (one bitmap block) unless a test changes them.
 */
#define MD_SECT		2048ULL
#define MD_BLOCKS	(MD_SECT / BJ_MD_SECTORS_PER_BLOCK)
static uint64_t DATA_SECT = 131072, GRANULE = 128;	/* sectors */
#define GBYTES		(GRANULE * 512)

/* ---- a dm-log-writes log writer ---------------------------------------- */

struct lw {
	int fd;
	uint32_t ss;		/* the log's sector size */
	uint64_t off;		/* where the next entry goes */
	uint64_t n;		/* entries */
	char path[64];
};

static void lw_open(struct lw *l, uint32_t ss)
{
	l->fd = memfd_create("log", 0);
	if (l->fd < 0)
		DIE("memfd_create: %s", strerror(errno));
	l->ss = ss;
	l->off = ss;
	l->n = 0;
	snprintf(l->path, sizeof(l->path), "/proc/self/fd/%d", l->fd);
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static void pw(int fd, const void *buf, size_t n, uint64_t off)
{
	if (pwrite(fd, buf, n, off) != (ssize_t)n)
		DIE("pwrite: %s", strerror(errno));
}

/*
 * One entry at byte @byte (of the logged device) of @len bytes. @data NULL:
 * the data is left a hole (zeroes; the checker skips data writes' data).
 */
static void lw_entry(struct lw *l, uint64_t byte, uint64_t len, uint64_t flags,
		     const void *data, const char *mark)
{
	uint8_t *h = calloc(1, l->ss);

	if (!h || byte % l->ss || len % l->ss)
		DIE("lw_entry: bad entry");
	put64(h, byte / l->ss);
	put64(h + 8, len / l->ss);
	put64(h + 16, flags);
	if (mark) {
		put64(h + 24, strlen(mark));
		memcpy(h + 32, mark, strlen(mark));
	}
	pw(l->fd, h, l->ss, l->off);
	l->off += l->ss;
	if (!(flags & LW_DISCARD)) {
		if (data)
			pw(l->fd, data, len, l->off);
		l->off += len;
	}
	l->n++;
	free(h);
}

static void lw_mark(struct lw *l, const char *name) { lw_entry(l, 0, 0, LW_MARK, NULL, name); }
static void lw_flush(struct lw *l) { lw_entry(l, 0, 0, LW_FLUSH, NULL, NULL); }

/* A data write (a hole's data) at data sector @sector, @sectors long. */
static void lw_data(struct lw *l, uint64_t sector, uint64_t sectors, uint64_t flags)
{
	lw_entry(l, (MD_SECT + sector) * 512, sectors * 512, flags, NULL, NULL);
}

/* The super block, with the end mark unless @no_end; @nr overrides the count if not 0. */
static void lw_finish(struct lw *l, bool no_end, uint64_t nr, uint64_t magic, uint64_t version)
{
	uint8_t s[32] = { 0 };

	if (!no_end)
		lw_mark(l, LW_END_MARK);
	put64(s, magic);
	put64(s + 8, version);
	put64(s + 16, nr ? nr : l->n);
	put64(s + 24, l->ss);	/* le32 sectorsize, then 4 bytes of padding */
	pw(l->fd, s, sizeof(s), 0);
	if (ftruncate(l->fd, l->off))
		DIE("ftruncate: %s", strerror(errno));
}

static void lw_end(struct lw *l) { lw_finish(l, false, 0, LW_MAGIC, LW_VERSION); }

/* ---- metadata ------------------------------------------------------------ */

static const uint8_t UUID[BJ_MD_UUID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* A superblock with one enabled bitmap @name (epoch 1) at block 2, generation @gen. */
static void sb_with_bitmap(struct bj_md_sb *sb, const char *name, uint64_t gen)
{
	char err[BJ_MD_ERRLEN];
	struct bj_md_entry *e = &sb->bitmaps[0];

	if (bj_md_sb_format(sb, UUID, "vol", DATA_SECT, MD_BLOCKS, err))
		DIE("bj_md_sb_format: %s", err);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->granule = GRANULE;
	e->nr_bits = bj_md_nr_bits(DATA_SECT, GRANULE);
	e->first_block = BJ_MD_FIRST_DATA_BLOCK;
	e->nr_blocks = bj_md_nr_blocks(e->nr_bits);
	e->flags = BJ_MD_BM_USED | BJ_MD_BM_ENABLED;
	e->epoch = 1;
	e->area = 0;
	sb->nr_bitmaps = 1;
	sb->next_epoch = 2;
	sb->generation = gen;
}

/* Log superblock copy @copy with FLUSH+FUA (a commit). @torn: a bad checksum. */
static void lw_sb(struct lw *l, const struct bj_md_sb *sb, unsigned int copy, bool torn)
{
	uint8_t blk[BJ_MD_BLOCK_SIZE];

	bj_md_sb_encode(sb, blk);
	if (torn)
		blk[2000] ^= 0x5a;
	lw_entry(l, copy * BJ_MD_BLOCK_SIZE, BJ_MD_BLOCK_SIZE, LW_FLUSH | LW_FUA, blk, NULL);
}

/*
 * Log logical block @lb of area @area (epoch @epoch) of entry 0 of @sb,
 * copy @copy, generation @gen, holding @words; FUA. @torn: a bad checksum.
 */
static void lw_block(struct lw *l, const struct bj_md_sb *sb, unsigned int area, uint64_t epoch,
		     unsigned int copy, uint64_t gen, uint32_t lb, const uint64_t *words, bool torn)
{
	struct bj_md_bhdr h = { .epoch = epoch, .generation = gen, .index = lb, .entry = 0 };
	uint8_t blk[BJ_MD_BLOCK_SIZE];

	memcpy(h.uuid, sb->uuid, BJ_MD_UUID_LEN);
	bj_md_bitmap_encode(&h, words, blk);
	if (torn)
		blk[BJ_MD_BITMAP_HEADER + 8] ^= 0xff;
	lw_entry(l, bj_md_block_of(&sb->bitmaps[0], area, copy, lb) * BJ_MD_BLOCK_SIZE,
		 BJ_MD_BLOCK_SIZE, LW_FUA, blk, NULL);
}

/* lw_block of logical block 0 with the granules in @set (ended by UINT64_MAX) set. */
static void lw_bits(struct lw *l, const struct bj_md_sb *sb, unsigned int area, uint64_t epoch,
		    unsigned int copy, uint64_t gen, const uint64_t *set, bool torn)
{
	uint64_t words[BJ_MD_WORDS_PER_BLOCK] = { 0 };

	for (; *set != UINT64_MAX; set++)
		words[*set / 64] |= 1ULL << (*set % 64);
	lw_block(l, sb, area, epoch, copy, gen, 0, words, torn);
}

/* ---- running the checker --------------------------------------------------- */

static char outbuf[1 << 16], outbuf2[1 << 16];
static unsigned int mode_mismatches;

/* lrc_check() with @o, its output in @buf. */
static int run_check(const struct lrc_opts *o, struct lrc_stats *st, char *buf, size_t size)
{
	FILE *out = fmemopen(buf, size, "w");
	int r;

	if (!out)
		DIE("fmemopen");
	memset(st, 0, sizeof(*st));
	r = lrc_check(o, out, st);
	fclose(out);
	return r;
}

static int check_mode(struct lw *l, const char *bitmap, const char *mark, struct lrc_stats *st,
		      bool full_load, bool cross, char *buf, size_t size)
{
	struct lrc_opts o = { .log = l->path, .md_start = 0, .md_sectors = MD_SECT,
			      .data_start = MD_SECT, .data_sectors = DATA_SECT,
			      .bitmap = bitmap, .from_mark = mark, .max_details = 5,
			      .full_load = full_load, .cross_check = cross };

	return run_check(&o, st, buf, size);
}

/*
 * Check the log as the helper does by default (bitmap blocks decoded
 * incrementally), and also with --full-load and with --cross-check: the
 * three must agree (exit, points, violations, output).
 */
static int check_log(struct lw *l, const char *bitmap, const char *mark, struct lrc_stats *st)
{
	struct lrc_stats st2;
	int r, r2;

	for (int m = 0; m < 2; m++) {
		r2 = check_mode(l, bitmap, mark, &st2, m == 0, m == 1, outbuf2, sizeof(outbuf2));
		r = check_mode(l, bitmap, mark, st, false, false, outbuf, sizeof(outbuf));
		if (r != r2 || st->violations != st2.violations || st->points != st2.points ||
		    strcmp(outbuf, outbuf2)) {
			mode_mismatches++;
			printf("# %s disagrees: exit %d/%d, %" PRIu64 "/%" PRIu64 " violations\n",
			       m ? "--cross-check" : "--full-load", r, r2, st->violations,
			       st2.violations);
		}
	}
	return r;
}

static void show_output(void)
{
	for (char *p = outbuf, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		printf("#   %.*s\n", (int)(nl - p), p);
	}
}

/* A log with the bitmap "b0" committed (superblock copies 0 and 1) and the mark "added". */
static void log_begin(struct lw *l, uint32_t ss, struct bj_md_sb *sb)
{
	struct bj_md_sb sb1;

	lw_open(l, ss);
	sb_with_bitmap(&sb1, "b0", 1);
	sb1.nr_bitmaps = 0;
	sb1.next_epoch = 1;
	memset(&sb1.bitmaps[0], 0, sizeof(sb1.bitmaps[0]));
	lw_sb(l, &sb1, 0, false);		/* the format: no bitmap */
	lw_data(l, 5 * GRANULE, 8, 0);		/* a write before the bitmap exists */
	lw_flush(l);
	sb_with_bitmap(sb, "b0", 2);
	lw_sb(l, sb, 1, false);			/* bitmap add: a commit */
	lw_mark(l, "added");
}

#define G(...) ((const uint64_t[]){ __VA_ARGS__, UINT64_MAX })
#define G_NONE ((const uint64_t[]){ UINT64_MAX })

static void test_order(uint32_t ss)
{
	struct bj_md_sb sb;
	struct lrc_stats st;
	struct lw l;
	int r;

	/* bit written (FUA) before the data write: covered */
	log_begin(&l, ss, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(3), false);
	lw_data(&l, 3 * GRANULE + 8, 16, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 0 && st.violations == 0 && st.points == 3 && st.points_with_bitmap == 3,
	      "ss %u: FUA bitmap write before the data write: no violation (exit %d, %" PRIu64
	      " points, %" PRIu64 " violations)", ss, r, st.points, st.violations);
	CHECK(strstr(outbuf, "points 3 writes 1 violations 0\n") == outbuf,
	      "ss %u: summary line \"points 3 writes 1 violations 0\"", ss);
	CHECK(st.entries == l.n && st.md_writes == 3 && st.data_writes == 2 && st.flushes == 4 &&
	      st.fuas == 3 && st.marks == 2 && st.sectorsize == ss,
	      "ss %u: entry counts (%" PRIu64 " entries, %" PRIu64 " md, %" PRIu64 " data)",
	      ss, st.entries, st.md_writes, st.data_writes);
	close(l.fd);

	/* the same writes, the bit written after the flush: a violation there */
	log_begin(&l, ss, &sb);
	lw_data(&l, 3 * GRANULE + 8, 16, 0);
	lw_flush(&l);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(3), false);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 1 && st.violations == 1 && st.first_violation_point == 1,
	      "ss %u: data write flushed before its bit: 1 violation at point 1 (exit %d, %" PRIu64
	      ")", ss, r, st.violations);
	CHECK(strstr(outbuf, "points 3 writes 1 violations 1\n") &&
	      strstr(outbuf, "violation: point 1 (entry 6): data write of entry 5 at sector 392 +16") &&
	      strstr(outbuf, "granule 3 bit clear"),
	      "ss %u: the violation's details name the point, the write and the granule", ss);
	if (failed)
		show_output();
	close(l.fd);

	/* a FUA data write is a point of its own */
	log_begin(&l, ss, &sb);
	lw_data(&l, 7 * GRANULE, 8, LW_FUA);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(7), false);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 1 && st.violations == 1 && st.points == 3,
	      "ss %u: FUA data write before its bit: a violation at its own point", ss);
	close(l.fd);
}

static void test_ranges(void)
{
	struct bj_md_sb sb;
	struct lrc_stats st;
	struct lw l;
	int r;

	/* a write over granules 9 and 10 with only 9 set */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(9), false);
	lw_data(&l, 10 * GRANULE - 8, 16, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 1 && st.violations == 2 && strstr(outbuf, "granule 10 bit clear"),
	      "a write over two granules with one bit set: violation on granule 10 (exit %d)", r);
	close(l.fd);

	/* both set, and a 1 MiB write (larger than a sector, 16 granules) */
	log_begin(&l, 4096, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1,
		G(9, 10, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47), false);
	lw_data(&l, 10 * GRANULE - 8, 16, 0);
	lw_data(&l, 32 * GRANULE, 16 * GRANULE, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 0 && st.violations == 0 && st.data_writes == 3,
	      "4096-byte log sectors, writes over granules all set, one of 1 MiB: covered (exit %d)",
	      r);
	close(l.fd);

	/* the last granule of the bitmap */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(DATA_SECT / GRANULE - 1), false);
	lw_data(&l, DATA_SECT - 8, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 0, "a write to the last sector, its bit set: covered (exit %d)", r);
	close(l.fd);

	/* data discard: needs its bit too */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(1), false);
	lw_entry(&l, (MD_SECT + GRANULE) * 512, GBYTES, LW_DISCARD, NULL, NULL);
	lw_entry(&l, (MD_SECT + 2 * GRANULE) * 512, GBYTES, LW_DISCARD, NULL, NULL);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 1 && st.violations == 2 && st.data_discards == 2 &&
	      strstr(outbuf, "data discard of entry") && strstr(outbuf, "granule 2 bit clear"),
	      "data discards: the one without its bit is a violation (exit %d)", r);
	close(l.fd);

	/* a metadata discard zeroes the image: the bits are gone */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(1), false);
	lw_data(&l, GRANULE, 8, 0);
	lw_flush(&l);
	lw_entry(&l, bj_md_block_of(&sb.bitmaps[0], 0, 0, 0) * BJ_MD_BLOCK_SIZE, BJ_MD_BLOCK_SIZE,
		 LW_DISCARD, NULL, NULL);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 1 && st.violations == 2 && st.first_violation_point == 3 && st.md_discards == 1,
	      "a discard of the bitmap block: violations from the next point on (exit %d, first %"
	      PRIu64 ")", r, st.first_violation_point);
	close(l.fd);
}

static void test_copies(void)
{
	struct bj_md_sb sb;
	struct lrc_stats st;
	struct lw l;
	int r;

	/* older copy 0 has the bit, newer copy 1 (without it) is torn: the block is all dirty */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(4), false);
	lw_bits(&l, &sb, 0, 1, 1, 2, G(5), true);
	lw_data(&l, 4 * GRANULE, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 0 && st.violations == 0,
	      "a torn newer copy without the bit: covered (exit %d)", r);
	close(l.fd);

	/*
	 * The other way round: only the torn newer copy has the bit. A torn
	 * copy may have held bits the other lacks: the loader takes its whole
	 * block as dirty (the kernel's rule), so the write is covered.
	 */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(5), false);
	lw_bits(&l, &sb, 0, 1, 1, 2, G(4, 5), true);
	lw_data(&l, 4 * GRANULE, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 0 && st.violations == 0,
	      "the bit only in a torn newer copy: its block taken as all dirty, covered (exit %d)", r);
	close(l.fd);

	/* a valid newer copy with more bits counts */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(5), false);
	lw_bits(&l, &sb, 0, 1, 1, 2, G(4, 5), false);
	lw_data(&l, 4 * GRANULE, 8, 0);
	lw_data(&l, 5 * GRANULE, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 0, "a valid newer copy with the bit: covered (exit %d)", r);
	close(l.fd);

	/* two valid copies of one generation: copy 0 counts (the format's tie rule) */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 1, 1, G(5), false);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(4), false);
	lw_data(&l, 4 * GRANULE, 8, 0);
	lw_data(&l, 5 * GRANULE, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 1 && st.violations == 2 && strstr(outbuf, "granule 5 bit clear"),
	      "two valid copies of one generation: copy 0's bits count (exit %d)", r);
	close(l.fd);

	/* a new epoch (the bitmap cleared): the old epoch's copies no longer count */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(4), false);
	lw_bits(&l, &sb, 0, 1, 1, 2, G(4), false);
	sb.bitmaps[0].epoch = 3;
	sb.next_epoch = 4;
	sb.generation = 3;
	lw_sb(&l, &sb, 0, false);
	lw_bits(&l, &sb, 0, 3, 0, 1, G(5), false);
	lw_data(&l, 5 * GRANULE, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 0, "after a new epoch, its block counts, not the old epoch's newer copy (exit %d)",
	      r);
	close(l.fd);

	/* a copy of another epoch (stale) does not count */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 7, 0, 1, G(4), false);
	lw_data(&l, 4 * GRANULE, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 1 && st.violations == 2, "a copy of another epoch: a violation (exit %d)", r);
	close(l.fd);

	/* the successor area: writes recorded there are covered */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(1), false);
	lw_data(&l, GRANULE, 8, 0);
	sb.bitmaps[0].flags |= BJ_MD_BM_SUCCESSOR;
	sb.bitmaps[0].successor_epoch = 2;
	sb.next_epoch = 3;
	sb.generation = 3;
	lw_sb(&l, &sb, 0, false);
	lw_bits(&l, &sb, 1, 2, 0, 1, G(6), false);
	lw_data(&l, 6 * GRANULE, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 0, "with a successor: a write in its bits is covered (exit %d)", r);
	close(l.fd);

	/* ... and a write in neither is not */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(1), false);
	lw_data(&l, GRANULE, 8, 0);
	sb.bitmaps[0].flags |= BJ_MD_BM_SUCCESSOR;
	sb.bitmaps[0].successor_epoch = 2;
	sb.next_epoch = 3;
	sb.generation = 3;
	lw_sb(&l, &sb, 0, false);
	lw_bits(&l, &sb, 1, 2, 0, 1, G(6), false);
	lw_data(&l, 6 * GRANULE, 8, 0);
	lw_flush(&l);
	lw_data(&l, 7 * GRANULE, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 1 && st.violations == 2 && strstr(outbuf, "granule 7 bit clear"),
	      "with a successor: its bits cover, a write outside both is a violation (exit %d)", r);
	close(l.fd);

	/* a torn newer superblock (one without the bitmap): the older copy counts */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(1), false);
	lw_data(&l, GRANULE, 8, 0);
	{
		struct bj_md_sb sb3 = sb;

		sb3.generation = 3;
		sb3.bitmaps[0].flags = 0;
		sb3.nr_bitmaps = 0;
		lw_sb(&l, &sb3, 0, true);
	}
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 0 && st.points_with_bitmap == 4,
	      "a torn newer superblock: the bitmap of the older one still counts (exit %d)", r);
	close(l.fd);
}

static void test_presence(void)
{
	struct bj_md_sb sb;
	struct lrc_stats st;
	struct lw l;
	int r;

	/* asking for another bitmap: absent, the writes are not covered */
	log_begin(&l, 512, &sb);
	lw_bits(&l, &sb, 0, 1, 0, 1, G(3), false);
	lw_data(&l, 3 * GRANULE, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "other", "added", &st);
	CHECK(r == 1 && st.violations == 2 && st.points_with_bitmap == 0 &&
	      strstr(outbuf, "no bitmap \"other\""),
	      "an absent bitmap covers nothing (exit %d, %" PRIu64 " violations)", r, st.violations);

	/* without --from-mark, the write made before the bitmap existed counts */
	r = check_log(&l, "b0", NULL, &st);
	CHECK(r == 1 && st.violations > 0 && strstr(outbuf, "data write of entry 1 ") &&
	      strstr(outbuf, "the metadata does not load") == NULL,
	      "without --from-mark the earlier write is checked too (exit %d)", r);
	CHECK(strstr(outbuf, "no bitmap \"b0\""),
	      "... and the point before the bitmap's commit has no bitmap");
	close(l.fd);

	/* no writes and no bitmap: nothing was shown, exit 1 */
	lw_open(&l, 512);
	lw_mark(&l, "added");
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 1 && st.violations == 0 && strstr(outbuf, "FAIL: no point with the bitmap"),
	      "no point with the bitmap present: exit 1 (exit %d)", r);
	close(l.fd);

	/* unformatted metadata with a data write: a violation that says so */
	lw_open(&l, 512);
	lw_mark(&l, "added");
	lw_data(&l, 0, 8, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 1 && strstr(outbuf, "not formatted"),
	      "unformatted metadata: the violation says it does not load (exit %d)", r);
	close(l.fd);
}

static void test_bad_logs(void)
{
	struct bj_md_sb sb;
	struct lrc_stats st;
	struct lw l;
	int r;

	log_begin(&l, 512, &sb);
	lw_finish(&l, false, 0, LW_MAGIC ^ 1, LW_VERSION);
	CHECK(check_log(&l, "b0", "added", &st) == 2, "bad magic: exit 2");
	lw_finish(&l, true, 0, LW_MAGIC, 2);
	CHECK(check_log(&l, "b0", "added", &st) == 2, "another version: exit 2");
	close(l.fd);

	log_begin(&l, 512, &sb);
	lw_finish(&l, false, l.n + 2, LW_MAGIC, LW_VERSION);
	CHECK(check_log(&l, "b0", "added", &st) == 2, "more entries than the log holds: exit 2");
	close(l.fd);

	log_begin(&l, 512, &sb);
	lw_data(&l, 0, 64, 0);
	lw_end(&l);
	if (ftruncate(l.fd, l.off - 2 * 512 - 10 * 512))	/* cut into the data write */
		DIE("ftruncate");
	r = check_log(&l, "b0", "added", &st);
	CHECK(r == 2, "truncated in an entry's data: exit 2 (exit %d)", r);
	close(l.fd);

	log_begin(&l, 512, &sb);
	lw_finish(&l, true, 0, LW_MAGIC, LW_VERSION);
	CHECK(check_log(&l, "b0", "added", &st) == 2, "no end mark: exit 2");
	close(l.fd);

	log_begin(&l, 512, &sb);
	lw_entry(&l, (MD_SECT - 8) * 512, 16 * 512, 0, NULL, NULL);
	lw_end(&l);
	CHECK(check_log(&l, "b0", "added", &st) == 2, "a write across the md/data boundary: exit 2");
	close(l.fd);

	log_begin(&l, 512, &sb);
	lw_entry(&l, (MD_SECT + DATA_SECT) * 512, 512, 0, NULL, NULL);
	lw_end(&l);
	CHECK(check_log(&l, "b0", "added", &st) == 2, "a write past the data region: exit 2");
	close(l.fd);

	log_begin(&l, 512, &sb);
	lw_end(&l);
	CHECK(check_log(&l, "b0", "nosuchmark", &st) == 2, "the --from-mark mark missing: exit 2");
	close(l.fd);

	log_begin(&l, 512, &sb);
	lw_entry(&l, 0, 0, 0, NULL, NULL);	/* all-zero entry */
	lw_end(&l);
	CHECK(check_log(&l, "b0", "added", &st) == 2, "an all-zero entry: exit 2");
	close(l.fd);

	log_begin(&l, 512, &sb);
	lw_entry(&l, 0, 0, LW_FLUSH, NULL, "inline");	/* data_len on a non-mark */
	lw_end(&l);
	CHECK(check_log(&l, "b0", "added", &st) == 2, "inline data on a non-mark entry: exit 2");
	close(l.fd);

	/* the command line */
	log_begin(&l, 512, &sb);
	lw_end(&l);
	{
		char *ok_args[] = { "lrc", "--log", l.path, "--md-start", "0", "--md-sectors", "2048",
				    "--data-start", "2048", "--data-sectors", "131072",
				    "--bitmap", "b0", "--from-mark", "added", NULL };
		char *bad_num[] = { "lrc", "--log", l.path, "--md-start", "x", "--md-sectors", "2048",
				    "--data-start", "2048", "--data-sectors", "131072",
				    "--bitmap", "b0", NULL };
		char *missing[] = { "lrc", "--log", l.path, "--md-start", "0", "--bitmap", "b0", NULL };
		char *overlap[] = { "lrc", "--log", l.path, "--md-start", "0", "--md-sectors", "2048",
				    "--data-start", "1024", "--data-sectors", "131072",
				    "--bitmap", "b0", NULL };
		char *nofile[] = { "lrc", "--log", "/nonexistent/log", "--md-start", "0",
				   "--md-sectors", "2048", "--data-start", "2048",
				   "--data-sectors", "131072", "--bitmap", "b0", NULL };

		fflush(stdout);
		printf("# lrc_main output follows\n");
		fflush(stdout);
		/* no data write at all after the mark: exit 0 (the bitmap is present) */
		CHECK(lrc_main(15, ok_args) == 0, "lrc_main with good arguments: exit 0");
		CHECK(lrc_main(13, bad_num) == 2, "lrc_main with a bad number: exit 2");
		CHECK(lrc_main(7, missing) == 2, "lrc_main without the region options: exit 2");
		CHECK(lrc_main(13, overlap) == 2, "lrc_main with overlapping regions: exit 2");
		CHECK(lrc_main(13, nofile) == 2, "lrc_main with no such log: exit 2");
	}
	close(l.fd);
}

/* ---- a random workload as the kernel would write it ------------------------- */

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/*
 * About @n data writes of 1..64 sectors over the data (and one discard in
 * 50), logged as the kernel should make them: the bitmap blocks holding
 * granules a write touches whose bit is not set yet are written (FUA,
 * alternating copies, generation + 1) with those bits set before the data
 * write. Except the first write from number @late on (if >= 0) that needs
 * a new bit: it is logged, then a flush, and only then its bitmap blocks.
 * A flush every 64 writes or so, a FUA data write every 100. The last
 * bitmap block has a bit set past the bitmap's end (ignored on loading).
 */
static void random_log(struct lw *l, unsigned int n, long late, uint64_t seed)
{
	uint64_t nr_bits = bj_md_nr_bits(DATA_SECT, GRANULE), nb = bj_md_nr_blocks(nr_bits);
	uint64_t *set = calloc(nb * BJ_MD_WORDS_PER_BLOCK, 8), *gen = calloc(nb, 8);
	bool *dirty = calloc(nb, 1);
	struct bj_md_sb sb;

	if (!set || !gen || !dirty)
		DIE("out of memory");
	if (nr_bits % 64)
		set[nr_bits / 64] |= 1ULL << 63;
	rnd_state = seed;
	log_begin(l, 512, &sb);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t len = 1 + rnd() % 64, start = rnd() % (DATA_SECT - len);
		bool any = false, now_late;

		for (uint64_t g = start / GRANULE; g <= (start + len - 1) / GRANULE; g++)
			if (!(set[g / 64] >> (g % 64) & 1)) {
				set[g / 64] |= 1ULL << (g % 64);
				dirty[g / BJ_MD_BITS_PER_BLOCK] = any = true;
			}
		now_late = any && late >= 0 && i >= late;
		if (now_late) {
			lw_data(l, start, len, 0);
			lw_flush(l);
			late = -1;
		}
		for (uint64_t b = 0; b < nb; b++)
			if (dirty[b]) {
				gen[b]++;
				lw_block(l, &sb, 0, 1, gen[b] % 2, gen[b], b,
					 set + b * BJ_MD_WORDS_PER_BLOCK, false);
				dirty[b] = false;
			}
		if (now_late)
			;
		else if (rnd() % 50 == 0)
			lw_entry(l, (MD_SECT + start) * 512, len * 512, LW_DISCARD, NULL, NULL);
		else
			lw_data(l, start, len, rnd() % 100 == 0 ? LW_FUA : 0);
		if (rnd() % 64 == 0)
			lw_flush(l);
	}
	lw_flush(l);
	lw_end(l);
	free(set);
	free(gen);
	free(dirty);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_random(void)
{
	struct lrc_stats st;
	struct lw l;
	double t;
	int r;

	for (int geo = 0; geo < 2; geo++) {
		if (geo) {	/* 3 bitmap blocks, the last one partly used */
			DATA_SECT = (256 << 11) - 800;
			GRANULE = 8;
		}
		random_log(&l, 4000, -1, 0x1234567 + geo);
		t = now();
		r = check_mode(&l, "b0", "added", &st, false, false, outbuf, sizeof(outbuf));
		t = now() - t;
		CHECK(r == 0 && st.violations == 0 && st.entries > 4000,
		      "random workload over %" PRIu64 " bits, bits before writes: no violation (exit %d, %"
		      PRIu64 " entries, %" PRIu64 " points, %" PRIu64 " metadata loads, %" PRIu64
		      " incremental updates)", bj_md_nr_bits(DATA_SECT, GRANULE), r, st.entries,
		      st.points, st.md_loads, st.md_updates);
		printf("# checked %" PRIu64 " entries, %" PRIu64 " points in %.3f s (sanitized build)\n",
		       st.entries, st.points, t);
		if (r)
			show_output();
		check_log(&l, "b0", "added", &st);
		close(l.fd);

		for (uint64_t seed = 1; seed <= 3; seed++) {
			long late = 200 + seed * 997;

			random_log(&l, 4000, late, seed * 0x9e3779b97f4a7c15ULL + geo);
			r = check_log(&l, "b0", "added", &st);
			CHECK(r == 1 && st.violations == 1,
			      "random workload seed %" PRIu64 ", write %ld's bit late: found (%" PRIu64
			      " violations)", seed, late, st.violations);
			close(l.fd);
		}
	}
	DATA_SECT = 131072;
	GRANULE = 128;
}

/* ---- --sync-map: the mirror's sync map ---------------------------------- */

/* @sectors of byte @v at sector @sector of the source (0) or destination (1). */
static void lw_dev(struct lw *l, int dev, uint64_t sector, uint64_t sectors, int v, uint64_t flags)
{
	uint8_t *buf = malloc(sectors * 512);

	if (!buf)
		DIE("out of memory");
	memset(buf, v, sectors * 512);
	lw_entry(l, (MD_SECT + dev * DATA_SECT + sector) * 512, sectors * 512, flags, buf, NULL);
	free(buf);
}

/* --sync-map over @l from @mark; with @pit (a file) the backup's rule. */
static int check_map(struct lw *l, const char *mark, const char *pit, struct lrc_stats *st,
		     bool cross)
{
	struct lrc_opts o = { .log = l->path, .md_start = 0, .md_sectors = MD_SECT,
			      .data_start = MD_SECT, .data_sectors = DATA_SECT,
			      .dst_start = MD_SECT + DATA_SECT, .sync_map = true, .pit = pit,
			      .from_mark = mark, .max_details = 5, .cross_check = cross };

	return run_check(&o, st, outbuf, sizeof(outbuf));
}

static int check_sync(struct lw *l, const char *mark, struct lrc_stats *st, bool cross)
{
	return check_map(l, mark, NULL, st, cross);
}

/*
 * The source written with 0xaa in regions 0..3 before the mark "start",
 * then the mirror's map committed with regions 0..3 set (a new map: its
 * block, then the superblock that names it).
 */
static void sync_begin(struct lw *l, struct bj_md_sb *sb)
{
	struct bj_md_sb sb0;

	lw_open(l, 512);
	sb_with_bitmap(&sb0, BJ_MD_SYNC_NAME, 1);
	sb0.nr_bitmaps = 0;
	sb0.next_epoch = 1;
	memset(&sb0.bitmaps[0], 0, sizeof(sb0.bitmaps[0]));
	lw_sb(l, &sb0, 0, false);
	lw_dev(l, 0, 0, 4 * GRANULE, 0xaa, 0);
	lw_flush(l);
	lw_mark(l, "start");
	lw_flush(l);				/* a point without a map: not checked */
	sb_with_bitmap(sb, BJ_MD_SYNC_NAME, 2);
	sb->bitmaps[0].flags |= BJ_MD_BM_SYNC;
	lw_bits(l, sb, 0, 1, 0, 1, G(0, 1, 2, 3), false);
	lw_sb(l, sb, 1, false);
}

/* sync_begin(), then the map cleared when only region 0 is on the destination. */
static void cleared_early(struct lw *l, struct bj_md_sb *sb)
{
	sync_begin(l, sb);
	lw_dev(l, 1, 0, GRANULE, 0xaa, 0);
	lw_flush(l);
	lw_bits(l, sb, 0, 1, 1, 2, G_NONE, false);
	lw_dev(l, 1, GRANULE, 3 * GRANULE, 0xaa, 0);
	lw_flush(l);
	lw_end(l);
}

static void test_sync_map(void)
{
	struct bj_md_sb sb;
	struct lrc_stats st;
	struct lw l;
	int r;

	DATA_SECT = 16 * GRANULE;

	/* the copy lands, the destination is flushed, then the bits clear: fine */
	sync_begin(&l, &sb);
	lw_dev(&l, 1, 0, 4 * GRANULE, 0xaa, 0);
	lw_flush(&l);
	lw_bits(&l, &sb, 0, 1, 1, 2, G_NONE, false);
	lw_bits(&l, &sb, 0, 1, 0, 3, G(5), false);	/* a write: its bit first */
	lw_dev(&l, 0, 5 * GRANULE, 8, 0xbb, 0);
	lw_flush(&l);
	lw_dev(&l, 1, 5 * GRANULE, 8, 0xbb, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_sync(&l, "start", &st, false);
	CHECK(r == 0 && st.violations == 0 && st.points == 9 && st.points_with_bitmap == 7,
	      "sync map: copy, flush, clear: no violation (exit %d, %" PRIu64 " points, %" PRIu64
	      " with the map, %" PRIu64 " violations)", r, st.points, st.points_with_bitmap,
	      st.violations);
	CHECK(r == 1 ? false : strstr(outbuf, "points 9 writes 3 violations 0\n") == outbuf,
	      "sync map: summary counts the source's and destination's writes after the mark");
	if (failed)
		show_output();
	r = check_sync(&l, "start", &st, true);
	CHECK(r == 0, "sync map: --cross-check agrees (exit %d)", r);
	close(l.fd);

	/* the bits cleared before the destination has region 1 */
	cleared_early(&l, &sb);
	r = check_sync(&l, "start", &st, false);
	CHECK(r == 1 && st.violations == 3 && st.first_violation_point == 5 && st.bad_points == 1,
	      "sync map: cleared before the copy landed: regions 1..3 at point 5 (exit %d, %"
	      PRIu64 " violations, first at %" PRIu64 ")", r, st.violations,
	      st.first_violation_point);
	CHECK(strstr(outbuf, "violation: point 5 (entry 9): region 1 (bytes 65536 +65536): source "
			     "and destination differ at byte 65536, bit clear\n") != NULL,
	      "sync map: the violation names the point, the region and where they differ");
	if (failed)
		show_output();
	close(l.fd);

	/* a write to the source of a clean region without its bit */
	sync_begin(&l, &sb);
	lw_dev(&l, 1, 0, 4 * GRANULE, 0xaa, 0);
	lw_flush(&l);
	lw_bits(&l, &sb, 0, 1, 1, 2, G_NONE, false);
	lw_dev(&l, 0, 2 * GRANULE + 8, 8, 0xbb, 0);
	lw_flush(&l);
	lw_dev(&l, 1, 2 * GRANULE + 8, 8, 0xbb, 0);	/* the duplicate, later */
	lw_flush(&l);
	lw_end(&l);
	r = check_sync(&l, "start", &st, false);
	CHECK(r == 1 && st.violations == 1 && st.first_violation_point == 6,
	      "sync map: an unmarked source write: region 2 at point 6, gone once the "
	      "destination has it (exit %d, %" PRIu64 " violations)", r, st.violations);
	close(l.fd);

	/* a destination write (a copy) to a region the map no longer holds */
	sync_begin(&l, &sb);
	lw_dev(&l, 1, 0, 4 * GRANULE, 0xaa, 0);
	lw_flush(&l);
	lw_bits(&l, &sb, 0, 1, 1, 2, G_NONE, false);
	lw_dev(&l, 1, 3 * GRANULE, 8, 0x11, LW_FUA);
	lw_end(&l);
	r = check_sync(&l, "start", &st, false);
	CHECK(r == 1 && st.violations == 2 && st.first_violation_point == 6,
	      "sync map: a FUA destination write that makes a clean region differ: at its point "
	      "and the end (exit %d, %" PRIu64 " violations)", r, st.violations);
	close(l.fd);

	/* never a map: exit 1, said */
	lw_open(&l, 512);
	lw_mark(&l, "start");
	lw_dev(&l, 0, 0, 8, 0xaa, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_sync(&l, "start", &st, false);
	CHECK(r == 1 && st.violations == 0 && strstr(outbuf, "FAIL: no point with a sync map present"),
	      "sync map: a log without one fails (exit %d)", r);
	close(l.fd);

	/* a write outside the three regions: a bad log */
	lw_open(&l, 512);
	lw_mark(&l, "start");
	lw_entry(&l, (MD_SECT + 2 * DATA_SECT) * 512, 4096, 0, NULL, NULL);
	lw_end(&l);
	r = check_sync(&l, "start", &st, false);
	CHECK(r == 2, "sync map: a write past the destination: a bad log (exit %d)", r);
	close(l.fd);

	{
		char dst[32], data[32];
		char *both[] = { "lrc", "--log", "/dev/null", "--md-start", "0", "--md-sectors", "2048",
				 "--data-start", "2048", "--data-sectors", data, "--sync-map",
				 "--dst-start", dst, "--bitmap", "b0", NULL };
		char *nodst[] = { "lrc", "--log", "/dev/null", "--md-start", "0", "--md-sectors", "2048",
				  "--data-start", "2048", "--data-sectors", data, "--sync-map", NULL };
		char *over[] = { "lrc", "--log", "/dev/null", "--md-start", "0", "--md-sectors", "2048",
				 "--data-start", "2048", "--data-sectors", data, "--sync-map",
				 "--dst-start", "4096", NULL };
		FILE *save = stderr;

		snprintf(data, sizeof(data), "%" PRIu64, DATA_SECT);
		snprintf(dst, sizeof(dst), "%" PRIu64, 2048 + DATA_SECT);
		stderr = fopen("/dev/null", "w");
		CHECK(lrc_main(16, both) == 2, "--sync-map with --bitmap: usage (exit 2)");
		CHECK(lrc_main(12, nodst) == 2, "--sync-map without --dst-start: usage (exit 2)");
		CHECK(lrc_main(14, over) == 2, "--dst-start overlapping the source: exit 2");
		fclose(stderr);
		stderr = save;
	}
	DATA_SECT = 131072;
}

/* ---- --sync-map --pit: a backup's sync map ------------------------------ */

/* The point in time's image as sync_begin() leaves the source: regions 0..3 0xaa. */
static int pit_file(char *path, size_t len, uint64_t bytes)
{
	uint8_t *buf = calloc(1, bytes);
	int fd = memfd_create("pit", 0);

	if (!buf || fd < 0)
		DIE("pit image: %s", strerror(errno));
	memset(buf, 0xaa, 4 * GRANULE * 512);
	pw(fd, buf, bytes, 0);
	free(buf);
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

static int check_backup(struct lw *l, const char *pit, struct lrc_stats *st)
{
	return check_map(l, "start", pit, st, false);
}

static void test_backup_map(void)
{
	char pit[64], shortpit[64];
	struct bj_md_sb sb;
	struct lrc_stats st;
	struct lw l;
	int r, fd, fd2;

	DATA_SECT = 16 * GRANULE;
	fd = pit_file(pit, sizeof(pit), DATA_SECT * 512);
	fd2 = pit_file(shortpit, sizeof(shortpit), DATA_SECT * 512 - 512);

	/* saved, destination flushed, bits cleared, then the guest's write: fine */
	sync_begin(&l, &sb);
	lw_dev(&l, 1, 0, 4 * GRANULE, 0xaa, 0);
	lw_flush(&l);
	lw_bits(&l, &sb, 0, 1, 1, 2, G_NONE, false);
	lw_dev(&l, 0, 2 * GRANULE, 8, 0xbb, 0);
	lw_flush(&l);
	lw_end(&l);
	r = check_backup(&l, pit, &st);
	CHECK(r == 0 && st.violations == 0 && st.points_with_bitmap == 5,
	      "backup map: save, flush, clear, write: no violation (exit %d, %" PRIu64
	      " points with the map, %" PRIu64 " violations)", r, st.points_with_bitmap,
	      st.violations);
	if (failed)
		show_output();
	close(l.fd);

	/* a guest write to a chunk whose bit is still set */
	sync_begin(&l, &sb);
	lw_dev(&l, 1, 0, GRANULE, 0xaa, 0);
	lw_dev(&l, 0, GRANULE, 8, 0xbb, 0);
	lw_flush(&l);
	lw_bits(&l, &sb, 0, 1, 1, 2, G(1, 2, 3), false);
	lw_end(&l);
	r = check_backup(&l, pit, &st);
	CHECK(r == 1 && st.violations == 3 && st.first_violation_point == 4,
	      "backup map: a source write under a set bit: chunk 1 at each point after it (exit %d, %"
	      PRIu64 " violations, first at %" PRIu64 ")", r, st.violations,
	      st.first_violation_point);
	CHECK(strstr(outbuf, "violation: point 4 (entry 9): chunk 1 (bytes 65536 +65536): the "
			     "source at byte 65536 is not the point in time's, bit set\n") != NULL,
	      "backup map: the violation names the point, the chunk and the device");
	if (failed)
		show_output();
	close(l.fd);

	/* the bits cleared before the destination has chunks 1..3 */
	cleared_early(&l, &sb);
	r = check_backup(&l, pit, &st);
	CHECK(r == 1 && st.violations == 3 && st.first_violation_point == 5 && st.bad_points == 1,
	      "backup map: cleared before the copies landed: chunks 1..3 at point 5 (exit %d, %"
	      PRIu64 " violations)", r, st.violations);
	CHECK(strstr(outbuf, "chunk 2 (bytes 131072 +65536): the destination at byte 131072 is "
			     "not the point in time's, bit clear\n") != NULL,
	      "backup map: a clear bit names the destination");
	close(l.fd);

	/* an image of the wrong size: exit 2 */
	sync_begin(&l, &sb);
	lw_end(&l);
	{
		FILE *save = stderr;

		stderr = fopen("/dev/null", "w");
		r = check_backup(&l, shortpit, &st);
		fclose(stderr);
		stderr = save;
	}
	CHECK(r == 2, "backup map: a point-in-time image of the wrong size (exit %d)", r);
	close(l.fd);
	close(fd);
	close(fd2);
	DATA_SECT = 131072;
}

int main(void)
{
	test_order(512);
	test_order(4096);
	test_ranges();
	test_copies();
	test_presence();
	test_bad_logs();
	test_random();
	test_sync_map();
	test_backup_map();
	CHECK(!mode_mismatches, "default, --full-load and --cross-check agree on every log");
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed ? 1 : 0;
}
