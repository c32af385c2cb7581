// SPDX-License-Identifier: GPL-2.0
/*
 * log-replay-check: the crash-replay check of persistent dirty bitmaps
 * (issue 17), after the method of xfstests generic/482, in one pass.
 *
 *   log-replay-check --log LOG --md-start S --md-sectors N
 *                    --data-start S2 --data-sectors N2 --bitmap NAME
 *                    [--from-mark MARK] [--max-details N]
 *                    [--full-load | --cross-check] [--verbose]...
 *
 * LOG is a dm-log-writes log (its log device, or a copy in a file) of ONE
 * device that holds both the volume's metadata device (sectors S .. S+N-1)
 * and its data device (S2 .. S2+N2-1); all numbers are 512-byte sectors of
 * the logged device. One log orders the writes of both, as they completed.
 *
 * The rule checked: a guest write to a granule whose bit is clear in an
 * enabled persistent bitmap is not submitted to the data device until the
 * bit is durable on the metadata device. So at every point where the
 * device could lose power and replay would stop, every data write logged
 * so far (since MARK) must be covered by the bitmap NAME as the metadata
 * device holds it at that point.
 *
 * How: the log is read sequentially once. An image of the metadata region
 * in memory gets every logged write and discard (a discard zeroes) that
 * falls in it, from the start of the log. Data writes and discards are
 * recorded (byte ranges relative to the data start) once the mark MARK has
 * been seen (from the start without --from-mark). At every entry with
 * FLUSH or FUA after that, and at the end of the log, is a point: the
 * metadata as the image holds it then is decoded, and every recorded data
 * write must lie in granules whose bit is set in the bitmap NAME (or,
 * while the bitmap has a successor, in the successor). An absent bitmap
 * covers nothing.
 *
 * Decoding: bj_md_load() at the first point and whenever a superblock
 * block changed; otherwise only the logical bitmap blocks of NAME whose
 * copies changed are decoded again, by bj_md_load()'s own rule
 * (bj_md_block_content()); and only the bitmap's words where bits or
 * recorded writes changed are compared. --full-load calls bj_md_load() at
 * every point after a metadata change instead; --cross-check does both
 * and exits 2 if they ever differ (the unit test runs every log all three
 * ways).
 *
 * A bitmap that gets cleared after MARK (a backup completing) is not a
 * case this checker knows about: its earlier writes would count as
 * violations.
 *
 * --sync-map --dst-start S3 (instead of --bitmap): the rule of a mirror's
 * sync map (Documentation/dm-blockjob.rst, "The mirror's sync map"). The
 * data region is the mirror's source, S3 .. S3+N2-1 its destination, in
 * the same log. At every point after MARK where the metadata holds a sync
 * map, every region where the source and the destination differ (as the
 * log has them then) must have its bit set: a crash there would resume
 * the mirror from that map, and a region it does not hold would stay
 * different. The checker keeps images of both devices (every logged write
 * from the start of the log; a discard zeroes) and compares them by 4 KiB
 * block where writes landed since the previous point. Points without a
 * sync map (before the mirror's constructor, after the pivot's record) are
 * not checked.
 *
 * --sync-map --dst-start S3 --pit FILE: the rule of a backup's sync map
 * instead (Documentation/dm-blockjob.rst, "Crash safety" of the backup):
 * FILE is the image of the source at the backup's point in time (N2
 * sectors). At every point where the metadata holds a sync map, every
 * chunk (granule) must be recoverable as of the point in time: where its
 * bit is set the source must still hold FILE's data (a resumed backup
 * copies it from there), where it is clear the destination must (it is
 * saved). A violation is a (point, chunk) pair. The destination's chunks
 * outside the backup's set are FILE's too: an incremental backup's
 * destination must start as the previous backup, equal to the source
 * outside the bitmap.
 *
 * Log format (drivers/md/dm-log-writes.c): a super block at byte 0 (magic,
 * version 1, nr_entries, sectorsize), then from byte sectorsize
 * nr_entries entries, each one sectorsize block holding the entry header
 * (sector, nr_sectors, both in units of sectorsize, flags, data_len; a
 * mark's text follows the header in the same block) and, unless it is a
 * discard, nr_sectors * sectorsize bytes of data. dm-log-writes logs a
 * write when it is on stable storage: FUA writes when they complete,
 * other writes at the next flush, before that flush's entry; the last
 * entry of a cleanly removed device is the mark "dm-log-writes-end".
 *
 * Output: with --verbose, each point (and marks, metadata problems); with
 * -v -v, each entry. Then one line "points N writes N violations N"
 * (points: those checked after MARK, the end included; writes: data
 * writes and discards recorded (--sync-map: of both devices after MARK);
 * violations: uncovered (point, write) pairs (--sync-map: (point, region)
 * pairs), where a point at which the metadata does not load or has no
 * bitmap NAME leaves every recorded write uncovered); with --verbose a
 * line of the log's counts; the first --max-details (default 5)
 * violations, each with its point, entry, write range and granule; and a
 * FAIL line when the exit is 1.
 *
 * Exit: 0 when at least one point was checked with the bitmap present and
 * there was no violation; 1 on violations (or no such point); 2 on bad
 * arguments or a bad log (magic, version, sector size, malformed or
 * truncated entry, no end mark, a write outside or across the two regions,
 * MARK missing).
 *
 * Built static by `make -C userspace helpers` together with
 * userspace/lib/bj-md-format.c and bj-err.c; tests/unit/test-log-replay-check.c builds
 * this file with LRC_NO_MAIN to drive lrc_main() on synthetic logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "bj-md-format.h"

/* dm-log-writes' on-disk format (drivers/md/dm-log-writes.c) */
#define LW_MAGIC		0x6a736677736872ULL
#define LW_VERSION		1ULL
#define LW_FLUSH		(1U << 0)
#define LW_FUA			(1U << 1)
#define LW_DISCARD		(1U << 2)
#define LW_MARK			(1U << 3)
#define LW_METADATA		(1U << 4)
#define LW_KNOWN_FLAGS		(LW_FLUSH | LW_FUA | LW_DISCARD | LW_MARK | LW_METADATA)
#define LW_SUPER_BYTES		32	/* magic, version, nr_entries, sectorsize (+pad) */
#define LW_ENTRY_BYTES		32	/* sector, nr_sectors, flags, data_len */
#define LW_END_MARK		"dm-log-writes-end"

#define RD_BUF_BYTES		(4U << 20)
#define MAX_MD_BYTES		(1ULL << 30)
#define MAX_SYNC_BYTES		(1ULL << 30)	/* --sync-map: each device's image */

struct lrc_opts {
	const char *log;
	uint64_t md_start, md_sectors, data_start, data_sectors;	/* 512-byte sectors */
	const char *bitmap;
	const char *from_mark;
	unsigned int max_details;
	int verbose;
	bool full_load;		/* bj_md_load at every point with a metadata change */
	bool cross_check;	/* and compare the incremental decoding with it */
	bool sync_map;		/* check the mirror's sync map (bitmap NULL) */
	uint64_t dst_start;	/* with sync_map: the destination (data_sectors long) */
	const char *pit;	/* with sync_map: a backup's point in time image */
};

struct lrc_write {
	uint64_t start, len;	/* bytes, relative to the data start */
	uint64_t entry;		/* log entry index */
	bool discard;
};

struct lrc_stats {
	uint64_t entries, md_writes, md_discards, data_writes, data_discards;
	uint64_t flushes, fuas, marks, other_marks;
	uint64_t points, points_with_bitmap, violations, bad_points, md_loads, md_updates;
	uint64_t first_violation_point;
	unsigned int sectorsize;
};

/* a sequential reader of the log with a large buffer; skips seek */
struct lrc_reader {
	int fd;
	uint64_t size;		/* of the log file or device */
	uint64_t off;		/* file offset of buf[pos] */
	uint8_t *buf;
	size_t pos, len;
};

struct lrc {
	const struct lrc_opts *o;
	struct lrc_stats st;
	FILE *out;
	struct lrc_reader rd;
	uint8_t *img;			/* the metadata region's image */
	uint64_t md_bytes, md_lo, md_hi, data_lo, data_hi;	/* byte ranges in the log's device */
	/* metadata blocks written or discarded since the last decoding */
	uint8_t *blk_dirty;
	uint64_t *dirty, ndirty;
	bool sb_dirty;			/* block 0 or 1 among them */
	bool md_loaded;			/* md below holds a decoded state */
	int md_rc;			/* the last bj_md_load's result */
	char md_err[BJ_MD_ERRLEN];
	struct bj_md md;
	struct bj_md_bitmap *bm;	/* NAME in md, or NULL */
	/* for updates of bm from its changed blocks alone (bm->bits readable) */
	bool incremental;
	struct bj_md_sb sb;		/* the superblock md was loaded from */
	const struct bj_md_entry *ent;	/* bm's entry in sb */
	unsigned int problems_shown;
	struct lrc_write *w;
	size_t nw, capw;
	/* granules the recorded writes touch, for bm's granule and nr_bits */
	uint64_t *need;
	uint64_t need_granule, need_bits;
	size_t need_upto;		/* writes in need */
	uint64_t need_oob;		/* of those, writes reaching past nr_bits */
	/* bitmap blocks (of BJ_MD_WORDS_PER_BLOCK words) to compare at the next point */
	uint8_t *touched;
	bool all_touched;
	unsigned int details;
	/*
	 * --sync-map: images of the source (data region) and destination, the
	 * 4 KiB blocks where they differ, and the blocks written since the
	 * previous point (to compare again).
	 */
	uint8_t *src, *dst;
	uint64_t dst_lo, dst_hi;
	uint8_t *differs, *written;
	uint64_t *wlist, nwritten;
	uint64_t sync_writes;	/* writes and discards of either after MARK */
	uint8_t *pit;		/* --pit: the image; differs[] bit 0: source != it, bit 1: destination */
	bool sync_changed;	/* differs[] or the metadata changed since the last check */
};

#define SYNC_BLOCK	4096ULL

static int bad(struct lrc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct lrc *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "log-replay-check: %s: ", c->o->log);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static int rd_open(struct lrc *c)
{
	struct lrc_reader *r = &c->rd;
	struct stat sb;

	r->fd = open(c->o->log, O_RDONLY);
	if (r->fd < 0)
		return bad(c, "cannot open: %s", strerror(errno));
	if (fstat(r->fd, &sb))
		return bad(c, "cannot stat: %s", strerror(errno));
	if (S_ISBLK(sb.st_mode)) {
		if (ioctl(r->fd, BLKGETSIZE64, &r->size))
			return bad(c, "cannot get the device size: %s", strerror(errno));
	} else if (S_ISREG(sb.st_mode)) {
		r->size = sb.st_size;
	} else {
		return bad(c, "neither a file nor a block device");
	}
	r->buf = malloc(RD_BUF_BYTES);
	if (!r->buf)
		return bad(c, "out of memory");
	return 0;
}

/* Copy the next n bytes to dst (or drop them with dst NULL); 0 or 2 */
static int rd_get(struct lrc *c, void *dst, uint64_t n, const char *what, uint64_t entry)
{
	struct lrc_reader *r = &c->rd;
	uint8_t *d = dst;

	if (n > r->size || r->off > r->size - n)
		return bad(c, "truncated: %s of entry %" PRIu64 " (%" PRIu64
			   " bytes at byte %" PRIu64 ") is past the end of the log (%" PRIu64 " bytes)",
			   what, entry, n, r->off, r->size);
	if (!d) {		/* skip: whatever is buffered, then seek */
		uint64_t inbuf = r->len - r->pos;

		if (n < inbuf) {
			r->pos += n;
		} else {
			r->pos = r->len = 0;
		}
		r->off += n;
		return 0;
	}
	while (n) {
		size_t k;

		if (r->pos == r->len) {
			ssize_t got = pread(r->fd, r->buf, RD_BUF_BYTES, r->off);

			if (got <= 0)
				return bad(c, "read at byte %" PRIu64 ": %s", r->off,
					   got < 0 ? strerror(errno) : "end of file");
			r->pos = 0;
			r->len = got;
		}
		k = r->len - r->pos;
		if (k > n)
			k = n;
		memcpy(d, r->buf + r->pos, k);
		r->pos += k;
		r->off += k;
		d += k;
		n -= k;
	}
	return 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static int md_read(void *ctx, uint64_t block, void *buf)
{
	const struct lrc *c = ctx;

	if (block >= c->md_bytes / BJ_MD_BLOCK_SIZE)
		return -EIO;
	memcpy(buf, c->img + block * BJ_MD_BLOCK_SIZE, BJ_MD_BLOCK_SIZE);
	return 0;
}

static void flags_str(uint64_t f, char *s, size_t n)
{
	snprintf(s, n, "%s%s%s%s%s", f & LW_FLUSH ? "FLUSH " : "", f & LW_FUA ? "FUA " : "",
		 f & LW_DISCARD ? "DISCARD " : "", f & LW_MARK ? "MARK " : "",
		 f & LW_METADATA ? "META " : "");
	if (*s)
		s[strlen(s) - 1] = 0;
	else
		snprintf(s, n, "WRITE");
}

/* The bitmap NAME in c->md, the first of that name; and its superblock entry. */
static void find_bitmap(struct lrc *c)
{
	unsigned int k, used = 0;

	c->bm = NULL;
	c->ent = NULL;
	c->incremental = false;
	for (k = 0; k < c->md.nr_bitmaps; k++)
		if (c->o->sync_map ? c->md.bitmaps[k].sync :
		    !c->md.bitmaps[k].sync &&
		    !strncmp(c->md.bitmaps[k].name, c->o->bitmap, BJ_MD_NAME_LEN))
			break;
	if (k == c->md.nr_bitmaps)
		return;
	c->bm = &c->md.bitmaps[k];
	/* bj_md_load lists the used entries in order: the k-th is bm's */
	if (bj_md_sb_select(c->img, c->img + BJ_MD_BLOCK_SIZE, &c->sb, NULL, NULL) < 0)
		return;
	for (unsigned int i = 0; i < BJ_MD_MAX_BITMAPS; i++)
		if ((c->sb.bitmaps[i].flags & BJ_MD_BM_USED) && used++ == k)
			c->ent = &c->sb.bitmaps[i];
	c->incremental = c->ent && c->bm->bits && (!c->bm->has_successor || c->bm->successor_bits) &&
			 c->ent->nr_blocks == bj_md_nr_blocks(c->bm->nr_bits) &&
			 c->ent->first_block + 4 * (uint64_t)c->ent->nr_blocks <=
				c->md_bytes / BJ_MD_BLOCK_SIZE;
}

static void md_reload(struct lrc *c)
{
	if (c->md_loaded)
		bj_md_free(&c->md);
	c->md_err[0] = 0;
	c->md_rc = bj_md_load(md_read, c, c->md_bytes / BJ_MD_BLOCK_SIZE, &c->md, c->md_err);
	c->md_loaded = c->md_rc == 0;
	c->st.md_loads++;
	c->bm = NULL;
	c->incremental = false;
	c->all_touched = true;
	if (!c->md_loaded)
		return;
	find_bitmap(c);
	/* with --verbose, the metadata's inconsistencies (20 lines in all at most) */
	for (unsigned int i = 0; c->o->verbose && i < c->md.nr_problems && i < BJ_MD_MAX_PROBLEMS &&
				 c->problems_shown < 20; i++, c->problems_shown++)
		fprintf(c->out, "metadata load %" PRIu64 ": %s\n", c->st.md_loads, c->md.problems[i]);
}

/*
 * Metadata block b changed, not a superblock: if it is one of the copies
 * of bm's areas, decode that logical block again with the loader's own rule
 * (bj_md_block_content()).
 */
static void update_block(struct lrc *c, uint64_t b)
{
	const struct bj_md_entry *e = c->ent;
	uint64_t rel, l, a, epoch, nwords, n, b0, b1;
	uint64_t words[BJ_MD_WORDS_PER_BLOCK];
	uint64_t *bits;

	if (b < e->first_block || b - e->first_block >= 4 * (uint64_t)e->nr_blocks)
		return;
	rel = b - e->first_block;
	l = rel % e->nr_blocks;
	a = rel / e->nr_blocks / 2;
	if (a == e->area) {
		bits = c->bm->bits;
		epoch = e->epoch;
	} else if (c->bm->has_successor) {
		bits = c->bm->successor_bits;
		epoch = e->successor_epoch;
	} else {
		return;
	}
	b0 = bj_md_block_of(e, a, 0, l);
	b1 = bj_md_block_of(e, a, 1, l);
	bj_md_block_content(c->img + b0 * BJ_MD_BLOCK_SIZE, c->img + b1 * BJ_MD_BLOCK_SIZE,
			    c->sb.uuid, epoch, (uint32_t)l, words);
	nwords = (e->nr_bits + 63) / 64;
	n = nwords - l * BJ_MD_WORDS_PER_BLOCK;
	if (n > BJ_MD_WORDS_PER_BLOCK)
		n = BJ_MD_WORDS_PER_BLOCK;
	memcpy(bits + l * BJ_MD_WORDS_PER_BLOCK, words, n * 8);
	if (l == e->nr_blocks - 1 && e->nr_bits % 64)
		bits[nwords - 1] &= ~(~0ULL << (e->nr_bits % 64));
	if (c->touched)
		c->touched[l] = 1;
}

/* --cross-check: the incrementally updated bm against a full bj_md_load. */
static int cross_check(struct lrc *c, uint64_t point)
{
	struct bj_md full;
	char err[BJ_MD_ERRLEN] = "";
	int lr = bj_md_load(md_read, c, c->md_bytes / BJ_MD_BLOCK_SIZE, &full, err), r = 0;
	const struct bj_md_bitmap *f = NULL;
	size_t bytes = (c->bm->nr_bits + 63) / 64 * 8;

	for (unsigned int k = 0; !lr && k < full.nr_bitmaps; k++)
		if (!f && (c->o->sync_map ? full.bitmaps[k].sync :
			   !full.bitmaps[k].sync &&
			   !strncmp(full.bitmaps[k].name, c->o->bitmap, BJ_MD_NAME_LEN)))
			f = &full.bitmaps[k];
	if (!f || !f->bits || f->nr_bits != c->bm->nr_bits ||
	    memcmp(f->bits, c->bm->bits, bytes) || f->has_successor != c->bm->has_successor ||
	    (f->has_successor && (!f->successor_bits ||
				  memcmp(f->successor_bits, c->bm->successor_bits, bytes))))
		r = bad(c, "internal error at point %" PRIu64 ": the incremental decoding of bitmap "
			"\"%s\" differs from bj_md_load's%s%s", point,
			c->o->sync_map ? "(sync map)" : c->o->bitmap, *err ? ": " : "", err);
	if (!lr)
		bj_md_free(&full);
	return r;
}

/* Bring c->md up to date with the image. */
static int md_update(struct lrc *c, uint64_t point)
{
	bool first = !c->st.md_loads;

	if (!first && !c->ndirty)
		return 0;
	c->sync_changed = true;
	if (first || c->sb_dirty || !c->incremental || c->o->full_load) {
		md_reload(c);
	} else {
		for (uint64_t i = 0; i < c->ndirty; i++)
			update_block(c, c->dirty[i]);
		c->st.md_updates++;
		if (c->o->cross_check) {
			int r = cross_check(c, point);

			if (r)
				return r;
		}
	}
	for (uint64_t i = 0; i < c->ndirty; i++)
		c->blk_dirty[c->dirty[i]] = 0;
	c->ndirty = 0;
	c->sb_dirty = false;
	return 0;
}

/* The image's bytes [lo, hi) changed. */
static void md_changed(struct lrc *c, uint64_t lo, uint64_t hi)
{
	for (uint64_t b = lo / BJ_MD_BLOCK_SIZE; b <= (hi - 1) / BJ_MD_BLOCK_SIZE; b++) {
		if (b >= c->md_bytes / BJ_MD_BLOCK_SIZE)
			break;		/* a tail shorter than a block: never read */
		if (b < BJ_MD_SB_COPIES)
			c->sb_dirty = true;
		if (!c->blk_dirty[b]) {
			c->blk_dirty[b] = 1;
			c->dirty[c->ndirty++] = b;
		}
	}
}

static bool bm_bit(const struct bj_md_bitmap *bm, uint64_t g)
{
	if (g >= bm->nr_bits)
		return false;
	if (bm->bits && bm->bits[g / 64] >> (g % 64) & 1)
		return true;
	return bm->has_successor && bm->successor_bits &&
	       bm->successor_bits[g / 64] >> (g % 64) & 1;
}

/* Make need[] the granules of all recorded writes for bm's geometry. */
static int need_update(struct lrc *c)
{
	const struct bj_md_bitmap *bm = c->bm;

	if (c->need_granule != bm->granule || c->need_bits != bm->nr_bits) {
		size_t words = (bm->nr_bits + 63) / 64;

		free(c->need);
		free(c->touched);
		c->need = calloc(words ? words : 1, sizeof(uint64_t));
		c->touched = calloc(bj_md_nr_blocks(bm->nr_bits) + 1, 1);
		if (!c->need || !c->touched)
			return bad(c, "out of memory");
		c->all_touched = true;
		c->need_granule = bm->granule;
		c->need_bits = bm->nr_bits;
		c->need_upto = 0;
		c->need_oob = 0;
	}
	for (; c->need_upto < c->nw; c->need_upto++) {
		const struct lrc_write *w = &c->w[c->need_upto];
		uint64_t g = w->start / bm->granule, last = (w->start + w->len - 1) / bm->granule;

		if (last >= bm->nr_bits) {
			c->need_oob++;
			last = bm->nr_bits ? bm->nr_bits - 1 : 0;
			if (!bm->nr_bits)
				continue;
		}
		for (uint64_t l = g / BJ_MD_BITS_PER_BLOCK; l <= last / BJ_MD_BITS_PER_BLOCK; l++)
			c->touched[l] = 1;
		for (; g <= last; g++)
			c->need[g / 64] |= 1ULL << (g % 64);
	}
	return 0;
}

static void violation(struct lrc *c, uint64_t point, uint64_t entry, const struct lrc_write *w,
		      const char *why, uint64_t granule)
{
	c->st.violations++;
	if (!c->st.first_violation_point)
		c->st.first_violation_point = point;
	if (c->details >= c->o->max_details)
		return;
	c->details++;
	fprintf(c->out, "violation: point %" PRIu64 " (entry %" PRIu64 "): data %s of entry %" PRIu64
		" at sector %" PRIu64 " +%" PRIu64 " (bytes %" PRIu64 " +%" PRIu64 ")",
		point, entry, w->discard ? "discard" : "write", w->entry, w->start / 512, w->len / 512,
		w->start, w->len);
	if (granule != UINT64_MAX)
		fprintf(c->out, ": granule %" PRIu64 " %s\n", granule, why);
	else
		fprintf(c->out, ": %s\n", why);
}

/* The check at a point: entry is the index of the entry that made it. */
static int check_point(struct lrc *c, uint64_t entry, const char *kind)
{
	const struct bj_md_bitmap *bm;
	uint64_t point = ++c->st.points, uncovered_words = 0, before;
	size_t words;
	int r;

	r = md_update(c, point);
	if (r)
		return r;
	bm = c->bm;
	if (c->o->verbose)
		fprintf(c->out, "point %" PRIu64 " (entry %" PRIu64 ", %s): %zu writes, %s\n", point,
			entry, kind, c->nw,
			!c->md_loaded ? "metadata does not load" : bm ? "bitmap present" : "bitmap absent");
	if (!bm) {
		char why[BJ_MD_ERRLEN + 64];

		if (!c->md_loaded)
			snprintf(why, sizeof(why), "the metadata does not load (%s: %s)",
				 c->md_rc == -ENODATA ? "not formatted" : strerror(-c->md_rc), c->md_err);
		else
			snprintf(why, sizeof(why), "no bitmap \"%s\" in the metadata", c->o->bitmap);
		for (size_t i = 0; i < c->nw; i++)
			violation(c, point, entry, &c->w[i], why, UINT64_MAX);
		c->all_touched = true;
		if (c->nw)
			c->st.bad_points++;
		return 0;
	}
	c->st.points_with_bitmap++;
	if (!bm->granule || (bm->granule & (bm->granule - 1)) || bm->granule % 512)
		return bad(c, "bitmap \"%s\" has granule %" PRIu64 " bytes, not a power of two sectors",
			   c->o->bitmap, bm->granule);
	if (c->o->verbose && !bm->enabled)
		fprintf(c->out, "point %" PRIu64 ": bitmap \"%s\" is disabled\n", point, c->o->bitmap);
	r = need_update(c);
	if (r)
		return r;
	/*
	 * Compare the blocks of words where something changed since the last
	 * point: new writes' granules, decoded bitmap blocks; all of them after
	 * a full load or a point with violations (they are counted again).
	 */
	words = (bm->nr_bits + 63) / 64;
	for (uint64_t l = 0; l * BJ_MD_WORDS_PER_BLOCK < words; l++) {
		size_t end = (l + 1) * BJ_MD_WORDS_PER_BLOCK;

		if (!c->all_touched && !c->touched[l])
			continue;
		c->touched[l] = 0;
		for (size_t i = l * BJ_MD_WORDS_PER_BLOCK; i < end && i < words; i++) {
			uint64_t have = bm->bits ? bm->bits[i] : 0;

			if (bm->has_successor && bm->successor_bits)
				have |= bm->successor_bits[i];
			if (c->need[i] & ~have)
				uncovered_words++;
		}
	}
	c->all_touched = false;
	if (!uncovered_words && !c->need_oob)
		return 0;
	c->all_touched = true;
	/* rare: find the writes that are not covered */
	before = c->st.violations;
	for (size_t i = 0; i < c->nw; i++) {
		const struct lrc_write *w = &c->w[i];
		uint64_t g = w->start / bm->granule, last = (w->start + w->len - 1) / bm->granule;

		for (; g <= last; g++)
			if (!bm_bit(bm, g)) {
				violation(c, point, entry, w,
					  g >= bm->nr_bits ? "is past the bitmap's end" :
					  bm->bits ? "bit clear" :
					  "bit clear (the bitmap is unreadable, see -v)", g);
				break;
			}
	}
	if (c->st.violations == before)	/* need[] and the writes disagree: a bug here */
		return bad(c, "internal error at point %" PRIu64 ": uncovered granules but no write in them",
			   point);
	c->st.bad_points++;
	return 0;
}

/* --sync-map: data bytes [lo, hi) of the source or destination image changed. */
static void sync_written(struct lrc *c, uint64_t lo, uint64_t hi)
{
	for (uint64_t b = lo / SYNC_BLOCK; b <= (hi - 1) / SYNC_BLOCK; b++)
		if (!c->written[b]) {
			c->written[b] = 1;
			c->wlist[c->nwritten++] = b;
		}
}

/* --sync-map: count a (point, region) violation; true if it is to be shown. */
static bool count_violation(struct lrc *c, uint64_t point)
{
	c->st.violations++;
	if (!c->st.first_violation_point)
		c->st.first_violation_point = point;
	return c->details++ < c->o->max_details;
}

/*
 * --pit: every chunk as of the point in time: from the source where its
 * bit is set, from the destination where it is clear.
 */
static int check_backup_point(struct lrc *c, const struct bj_md_bitmap *bm, uint64_t point,
			      uint64_t entry, uint64_t before)
{
	uint64_t nblocks = c->o->data_sectors * 512 / SYNC_BLOCK, last = UINT64_MAX;

	if (bm->granule < SYNC_BLOCK)
		return bad(c, "the backup's sync map has chunks of %" PRIu64 " bytes, under 4 KiB",
			   bm->granule);
	for (uint64_t b = 0; b < nblocks; b++) {
		uint64_t g = b * SYNC_BLOCK / bm->granule;
		bool set = bm_bit(bm, g);

		if (!(c->differs[b] & (set ? 1 : 2)) || g == last)
			continue;
		last = g;
		if (count_violation(c, point))
			fprintf(c->out, "violation: point %" PRIu64 " (entry %" PRIu64
				"): chunk %" PRIu64 " (bytes %" PRIu64 " +%" PRIu64 "): %s at byte %"
				PRIu64 " is not the point in time's, %s\n", point, entry, g,
				g * bm->granule, bm->granule, set ? "the source" : "the destination",
				(uint64_t)(b * SYNC_BLOCK), set ? "bit set" : "bit clear");
	}
	if (c->st.violations != before) {
		c->st.bad_points++;
		c->sync_changed = true;	/* count them again at the next point */
	}
	return 0;
}

/*
 * --sync-map: the check at a point. Every granule (region) of the sync
 * map where the two images differ must have its bit set.
 */
static int check_sync_point(struct lrc *c, uint64_t entry, const char *kind)
{
	const struct bj_md_bitmap *bm;
	uint64_t point = ++c->st.points, nblocks = c->o->data_sectors * 512 / SYNC_BLOCK;
	uint64_t before = c->st.violations, last;
	int r;

	for (uint64_t i = 0; i < c->nwritten; i++) {
		uint64_t b = c->wlist[i], off = b * SYNC_BLOCK;
		uint64_t n = c->o->data_sectors * 512 - off < SYNC_BLOCK ?
			     c->o->data_sectors * 512 - off : SYNC_BLOCK;
		uint8_t d = c->pit ? (memcmp(c->src + off, c->pit + off, n) ? 1 : 0) |
				     (memcmp(c->dst + off, c->pit + off, n) ? 2 : 0) :
				     !!memcmp(c->src + off, c->dst + off, n);

		c->written[b] = 0;
		if (d != c->differs[b]) {
			c->differs[b] = d;
			c->sync_changed = true;
		}
	}
	c->nwritten = 0;
	r = md_update(c, point);
	if (r)
		return r;
	bm = c->bm;
	if (c->o->verbose)
		fprintf(c->out, "point %" PRIu64 " (entry %" PRIu64 ", %s): %s\n", point, entry, kind,
			!c->md_loaded ? "metadata does not load" :
			bm ? "sync map present" : "no sync map");
	if (!bm)
		return 0;
	c->st.points_with_bitmap++;
	if (!bm->granule || (bm->granule & (bm->granule - 1)) || bm->granule % 512)
		return bad(c, "the sync map has granule %" PRIu64 " bytes, not a power of two sectors",
			   bm->granule);
	if (!c->sync_changed)
		return 0;
	c->sync_changed = false;
	if (c->pit)
		return check_backup_point(c, bm, point, entry, before);
	/* a violation is a (point, region) pair: blocks come in order */
	last = UINT64_MAX;
	for (uint64_t b = 0; b < nblocks; b++) {
		uint64_t off = b * SYNC_BLOCK, step = bm->granule < SYNC_BLOCK ? bm->granule :
						      SYNC_BLOCK;

		if (!c->differs[b])
			continue;
		/* a region smaller than a block: each of its regions in it */
		for (uint64_t o = off; o < off + SYNC_BLOCK; o += step) {
			uint64_t g = o / bm->granule;

			if ((step < SYNC_BLOCK && !memcmp(c->src + o, c->dst + o, step)) ||
			    g == last || bm_bit(bm, g))
				continue;
			last = g;
			if (count_violation(c, point))
				fprintf(c->out, "violation: point %" PRIu64 " (entry %" PRIu64
					"): region %" PRIu64 " (bytes %" PRIu64 " +%" PRIu64
					"): source and destination differ at byte %" PRIu64
					", %s\n", point, entry, g, g * bm->granule, bm->granule, o,
					g >= bm->nr_bits ? "past the map's end" :
					bm->bits ? "bit clear" :
					"bit clear (the map is unreadable, see -v)");
		}
	}
	if (c->st.violations != before) {
		c->st.bad_points++;
		c->sync_changed = true;	/* count them again at the next point */
	}
	return 0;
}

static int record(struct lrc *c, uint64_t start, uint64_t len, uint64_t entry, bool discard)
{
	if (c->nw == c->capw) {
		size_t n = c->capw ? 2 * c->capw : 1024;
		struct lrc_write *w = realloc(c->w, n * sizeof(*w));

		if (!w)
			return bad(c, "out of memory");
		c->w = w;
		c->capw = n;
	}
	c->w[c->nw++] = (struct lrc_write){ .start = start, .len = len, .entry = entry,
					    .discard = discard };
	return 0;
}

/* Entry @entry of @len bytes onto an image at @img: its data, or zeroes for a discard. */
static int to_image(struct lrc *c, uint8_t *img, uint64_t len, uint64_t flags, uint64_t entry)
{
	if (flags & LW_DISCARD) {
		memset(img, 0, len);
		return 0;
	}
	return rd_get(c, img, len, "data", entry);
}

static int run(struct lrc *c)
{
	const struct lrc_opts *o = c->o;
	uint8_t super[LW_SUPER_BYTES], *blk;
	uint64_t nr_entries, ss, i;
	bool mark_seen = !o->from_mark, end_seen = false;
	int r;

	r = rd_open(c);
	if (r)
		return r;
	r = rd_get(c, super, sizeof(super), "super block", 0);
	if (r)
		return r;
	if (le64(super) != LW_MAGIC)
		return bad(c, "bad magic %#" PRIx64 ": not a dm-log-writes log", le64(super));
	if (le64(super + 8) != LW_VERSION)
		return bad(c, "log version %" PRIu64 ", expected %llu", le64(super + 8), LW_VERSION);
	nr_entries = le64(super + 16);
	ss = le32(super + 24);
	c->st.sectorsize = ss;
	if (ss < 512 || ss > 65536 || (ss & (ss - 1)))
		return bad(c, "sector size %" PRIu64 " is not a power of two in 512..65536", ss);
	r = rd_get(c, NULL, ss - sizeof(super), "super block", 0);
	if (r)
		return r;
	blk = malloc(ss + 1);
	if (!blk)
		return bad(c, "out of memory");
	if (o->verbose)
		fprintf(c->out, "log: %" PRIu64 " entries, sector size %" PRIu64 "\n", nr_entries, ss);

	for (i = 0; i < nr_entries; i++) {
		uint64_t sector, nr, flags, dlen, lo, len, hi;
		bool point;

		r = rd_get(c, blk, ss, "header", i);
		if (r)
			goto out;
		sector = le64(blk);
		nr = le64(blk + 8);
		flags = le64(blk + 16);
		dlen = le64(blk + 24);
		c->st.entries++;
		if (o->verbose > 1) {
			char fs[64];

			flags_str(flags, fs, sizeof(fs));
			fprintf(c->out, "entry %" PRIu64 ": sector %" PRIu64 " +%" PRIu64 " %s\n", i,
				sector, nr, fs);
		}
		if ((flags & ~(uint64_t)LW_KNOWN_FLAGS) || (!flags && !nr)) {
			r = bad(c, "malformed entry %" PRIu64 " (flags %#" PRIx64 ", %" PRIu64
				" sectors) at byte %" PRIu64, i, flags, nr, c->rd.off - ss);
			goto out;
		}
		if (flags & LW_MARK) {
			char *name = (char *)blk + LW_ENTRY_BYTES;

			if (dlen > ss - LW_ENTRY_BYTES || nr) {
				r = bad(c, "malformed mark entry %" PRIu64, i);
				goto out;
			}
			name[dlen] = 0;
			c->st.marks++;
			if (o->verbose)
				fprintf(c->out, "entry %" PRIu64 ": mark \"%s\"\n", i, name);
			if (!strcmp(name, LW_END_MARK) && i == nr_entries - 1)
				end_seen = true;
			else if (o->from_mark && !mark_seen && !strcmp(name, o->from_mark))
				mark_seen = true;
			else
				c->st.other_marks++;
			continue;
		}
		if (dlen) {
			r = bad(c, "entry %" PRIu64 " has %" PRIu64 " bytes of inline data (not supported)",
				i, dlen);
			goto out;
		}
		if (nr > (UINT64_MAX / ss) / 2) {
			r = bad(c, "malformed entry %" PRIu64 ": %" PRIu64 " sectors", i, nr);
			goto out;
		}
		if (flags & LW_FLUSH)
			c->st.flushes++;
		if (flags & LW_FUA)
			c->st.fuas++;
		lo = sector * ss;
		len = nr * ss;
		hi = lo + len;
		if (len && (sector > UINT64_MAX / ss || hi < lo)) {
			r = bad(c, "malformed entry %" PRIu64 ": sector %" PRIu64, i, sector);
			goto out;
		}
		if (!len) {
			/* an empty flush */
		} else if (lo >= c->md_lo && hi <= c->md_hi) {
			r = to_image(c, c->img + (lo - c->md_lo), len, flags, i);
			if (r)
				goto out;
			if (flags & LW_DISCARD)
				c->st.md_discards++;
			else
				c->st.md_writes++;
			md_changed(c, lo - c->md_lo, hi - c->md_lo);
		} else if (o->sync_map && ((lo >= c->data_lo && hi <= c->data_hi) ||
					   (lo >= c->dst_lo && hi <= c->dst_hi))) {
			bool src = lo >= c->data_lo && hi <= c->data_hi;
			uint64_t rel = lo - (src ? c->data_lo : c->dst_lo);

			r = to_image(c, (src ? c->src : c->dst) + rel, len, flags, i);
			if (r)
				goto out;
			if (flags & LW_DISCARD)
				c->st.data_discards++;
			else
				c->st.data_writes++;
			sync_written(c, rel, rel + len);
			c->sync_writes += mark_seen;
		} else if (lo >= c->data_lo && hi <= c->data_hi) {
			if (flags & LW_DISCARD) {
				c->st.data_discards++;
			} else {
				r = rd_get(c, NULL, len, "data", i);
				if (r)
					goto out;
				c->st.data_writes++;
			}
			if (mark_seen) {
				r = record(c, lo - c->data_lo, len, i, flags & LW_DISCARD);
				if (r)
					goto out;
			}
		} else {
			r = bad(c, "entry %" PRIu64 " (bytes %" PRIu64 " +%" PRIu64
				") is not inside the metadata region (%" PRIu64 " +%" PRIu64
				") nor the data region (%" PRIu64 " +%" PRIu64 ")%s", i, lo, len,
				c->md_lo, c->md_hi - c->md_lo, c->data_lo, c->data_hi - c->data_lo,
				o->sync_map ? " nor the destination" : "");
			goto out;
		}
		point = flags & (LW_FLUSH | LW_FUA);
		if (point && mark_seen) {
			const char *kind = flags & LW_FLUSH ? (flags & LW_FUA ? "FLUSH+FUA" : "FLUSH")
							    : "FUA";

			r = o->sync_map ? check_sync_point(c, i, kind) : check_point(c, i, kind);
			if (r)
				goto out;
		}
	}
	if (!end_seen) {
		r = bad(c, "the last entry is not the mark \"" LW_END_MARK "\": the log is incomplete "
			"(device not removed, or the log device ran out of space)");
		goto out;
	}
	if (!mark_seen) {
		r = bad(c, "no mark \"%s\" in the log", o->from_mark);
		goto out;
	}
	r = o->sync_map ? check_sync_point(c, nr_entries - 1, "end") :
			  check_point(c, nr_entries - 1, "end");
out:
	free(blk);
	return r;
}

static void lrc_free(struct lrc *c)
{
	if (c->md_loaded)
		bj_md_free(&c->md);
	if (c->rd.fd >= 0)
		close(c->rd.fd);
	free(c->rd.buf);
	free(c->img);
	free(c->blk_dirty);
	free(c->dirty);
	free(c->w);
	free(c->need);
	free(c->touched);
	free(c->src);
	free(c->dst);
	free(c->differs);
	free(c->pit);
	free(c->written);
	free(c->wlist);
}

/* Check a log with options o; prints to out; returns the exit status. */
/* --pit: read the image (exactly @bytes long); every block differs from the all-zero images. */
static int load_pit(struct lrc *c, uint64_t bytes, uint64_t nb)
{
	FILE *f = fopen(c->o->pit, "rb");
	int r = -1;

	c->pit = calloc(1, nb * SYNC_BLOCK);
	if (!c->pit || !f) {
		fprintf(stderr, "log-replay-check: %s: %s\n", c->o->pit,
			f ? "out of memory" : strerror(errno));
		goto out;
	}
	if (fread(c->pit, 1, bytes, f) != bytes || fgetc(f) != EOF) {
		fprintf(stderr, "log-replay-check: %s: not an image of %" PRIu64 " bytes\n",
			c->o->pit, bytes);
		goto out;
	}
	for (uint64_t b = 0; b < nb; b++)
		c->differs[b] = (memcmp(c->src + b * SYNC_BLOCK, c->pit + b * SYNC_BLOCK,
					SYNC_BLOCK) ? 1 : 0) |
				(memcmp(c->dst + b * SYNC_BLOCK, c->pit + b * SYNC_BLOCK,
					SYNC_BLOCK) ? 2 : 0);
	c->sync_changed = true;
	r = 0;
out:
	if (f)
		fclose(f);
	return r;
}

int lrc_check(const struct lrc_opts *o, FILE *out, struct lrc_stats *stats)
{
	struct lrc c = { .o = o, .out = out, .rd.fd = -1 };
	int r;

	if (o->md_sectors > MAX_MD_BYTES / 512 || o->md_sectors < BJ_MD_SECTORS_PER_BLOCK ||
	    o->md_start > UINT64_MAX / 1024 || o->data_start > UINT64_MAX / 1024 ||
	    o->data_sectors > UINT64_MAX / 1024 || !o->data_sectors) {
		fprintf(stderr, "log-replay-check: bad region sizes\n");
		return 2;
	}
	c.md_bytes = o->md_sectors * 512;
	c.md_lo = o->md_start * 512;
	c.md_hi = c.md_lo + c.md_bytes;
	c.data_lo = o->data_start * 512;
	c.data_hi = c.data_lo + o->data_sectors * 512;
	if (c.md_lo < c.data_hi && c.data_lo < c.md_hi) {
		fprintf(stderr, "log-replay-check: the metadata and data regions overlap\n");
		return 2;
	}
	if (o->sync_map) {
		uint64_t bytes = o->data_sectors * 512, nb = (bytes + SYNC_BLOCK - 1) / SYNC_BLOCK;

		if (o->dst_start > UINT64_MAX / 1024 || bytes > MAX_SYNC_BYTES) {
			fprintf(stderr, "log-replay-check: bad region sizes\n");
			return 2;
		}
		c.dst_lo = o->dst_start * 512;
		c.dst_hi = c.dst_lo + bytes;
		if ((c.dst_lo < c.data_hi && c.data_lo < c.dst_hi) ||
		    (c.dst_lo < c.md_hi && c.md_lo < c.dst_hi)) {
			fprintf(stderr, "log-replay-check: the destination overlaps another region\n");
			return 2;
		}
		/* the images end on a whole block, so that a compare never reads past them */
		c.src = calloc(1, nb * SYNC_BLOCK);
		c.dst = calloc(1, nb * SYNC_BLOCK);
		c.differs = calloc(nb, 1);
		c.written = calloc(nb, 1);
		c.wlist = calloc(nb, sizeof(*c.wlist));
		if (!c.src || !c.dst || !c.differs || !c.written || !c.wlist) {
			fprintf(stderr, "log-replay-check: out of memory\n");
			lrc_free(&c);
			return 2;
		}
		if (o->pit && load_pit(&c, bytes, nb)) {
			lrc_free(&c);
			return 2;
		}
	}
	c.img = calloc(1, c.md_bytes);
	c.blk_dirty = calloc(c.md_bytes / BJ_MD_BLOCK_SIZE + 1, 1);
	c.dirty = calloc(c.md_bytes / BJ_MD_BLOCK_SIZE + 1, sizeof(*c.dirty));
	if (!c.img || !c.blk_dirty || !c.dirty) {
		fprintf(stderr, "log-replay-check: out of memory\n");
		lrc_free(&c);
		return 2;
	}
	r = run(&c);
	if (!r) {
		fprintf(out, "points %" PRIu64 " writes %" PRIu64 " violations %" PRIu64 "\n",
			c.st.points, o->sync_map ? c.sync_writes : c.nw,
			c.st.violations);
		if (o->verbose)
			fprintf(out, "log: %" PRIu64 " entries: metadata %" PRIu64 " writes %" PRIu64
				" discards, data %" PRIu64 " writes %" PRIu64 " discards, %" PRIu64
				" flushes, %" PRIu64 " FUA, %" PRIu64 " marks; %" PRIu64
				" metadata loads, %" PRIu64 " incremental updates, %" PRIu64
				" points with the bitmap, %" PRIu64
				" points with violations\n", c.st.entries, c.st.md_writes,
				c.st.md_discards, c.st.data_writes, c.st.data_discards, c.st.flushes,
				c.st.fuas, c.st.marks, c.st.md_loads, c.st.md_updates, c.st.points_with_bitmap,
				c.st.bad_points);
		if (c.st.violations) {
			fprintf(out, "FAIL: %" PRIu64 " violations at %" PRIu64
				" points, the first at point %" PRIu64 "\n", c.st.violations,
				c.st.bad_points, c.st.first_violation_point);
			r = 1;
		} else if (!c.st.points_with_bitmap) {
			if (o->sync_map)
				fprintf(out, "FAIL: no point with a sync map present\n");
			else
				fprintf(out, "FAIL: no point with the bitmap \"%s\" present\n", o->bitmap);
			r = 1;
		}
	}
	if (stats)
		*stats = c.st;
	lrc_free(&c);
	return r;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: log-replay-check --log LOG --md-start S --md-sectors N --data-start S2\n"
		"         --data-sectors N2 {--bitmap NAME | --sync-map --dst-start S3 [--pit FILE]}\n"
		"         [--from-mark MARK] [--max-details N]\n"
		"         [--full-load | --cross-check] [--verbose]...\n"
		"  (sectors of 512 bytes of the logged device; see the source's header)\n");
	return 2;
}

static bool num(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		return false;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

int lrc_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "md-start", required_argument, NULL, 'm' },
		{ "md-sectors", required_argument, NULL, 'M' },
		{ "data-start", required_argument, NULL, 'd' },
		{ "data-sectors", required_argument, NULL, 'D' },
		{ "bitmap", required_argument, NULL, 'b' },
		{ "from-mark", required_argument, NULL, 'f' },
		{ "max-details", required_argument, NULL, 'x' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "full-load", no_argument, NULL, 'F' },
		{ "cross-check", no_argument, NULL, 'C' },
		{ "sync-map", no_argument, NULL, 'S' },
		{ "dst-start", required_argument, NULL, 's' },
		{ "pit", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct lrc_opts o = { .max_details = 5 };
	bool have[5] = { false };
	uint64_t v;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': o.log = optarg; break;
		case 'b': o.bitmap = optarg; break;
		case 'f': o.from_mark = optarg; break;
		case 'v': o.verbose++; break;
		case 'F': o.full_load = true; break;
		case 'C': o.cross_check = true; break;
		case 'S': o.sync_map = true; break;
		case 'p': o.pit = optarg; break;
		case 'm': case 'M': case 'd': case 'D': case 'x': case 's':
			if (!num(optarg, &v)) {
				fprintf(stderr, "log-replay-check: bad number '%s'\n", optarg);
				return usage();
			}
			if (ch == 'm') { o.md_start = v; have[0] = true; }
			if (ch == 'M') { o.md_sectors = v; have[1] = true; }
			if (ch == 'd') { o.data_start = v; have[2] = true; }
			if (ch == 'D') { o.data_sectors = v; have[3] = true; }
			if (ch == 's') { o.dst_start = v; have[4] = true; }
			if (ch == 'x') o.max_details = v > 1000000 ? 1000000 : v;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || !o.log || !have[0] || !have[1] || !have[2] || !have[3] ||
	    (o.sync_map ? o.bitmap || !have[4] : !o.bitmap || have[4] || o.pit))
		return usage();
	return lrc_check(&o, stdout, NULL);
}

#ifndef LRC_NO_MAIN
int main(int argc, char **argv)
{
	return lrc_main(argc, argv);
}
#endif
