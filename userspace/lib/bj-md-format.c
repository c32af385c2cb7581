// SPDX-License-Identifier: GPL-2.0
/*
 * The metadata device's on-disk format (include/uapi/linux/dm-blockjob-md.h)
 * as pure logic: see bj-md-format.h. No I/O: blocks come through the
 * caller's read callback.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE		/* htole32 & co., strnlen, when built as plain C11 */
#endif
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bj-md-format.h"

_Static_assert(sizeof(struct bj_md_superblock) == BJ_MD_BLOCK_SIZE, "superblock size");
_Static_assert(sizeof(struct bj_md_bitmap_entry) == 128, "bitmap entry size");
_Static_assert(sizeof(struct bj_md_bitmap_header) == BJ_MD_BITMAP_HEADER, "bitmap header size");
_Static_assert(BJ_MD_BITS_PER_BLOCK == 32256, "bits per block");

/* CRC-32C ---------------------------------------------------------------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t bj_crc32c(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = ~0U;

	if (!crc_table[1])	/* idempotent: racing initialisers write the same values */
		crc_init();
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t bj_md_block_csum(const void *block)
{
	return bj_crc32c((const uint8_t *)block + 4, BJ_MD_BLOCK_SIZE - 4);
}

bool bj_md_block_zero(const void *block)
{
	const uint8_t *p = block;
	size_t i;

	for (i = 0; i < BJ_MD_BLOCK_SIZE; i++)
		if (p[i])
			return false;
	return true;
}

/* Superblock ------------------------------------------------------------- */

void bj_md_sb_encode(const struct bj_md_sb *sb, void *block)
{
	struct bj_md_superblock d;
	unsigned int i;

	memset(&d, 0, sizeof(d));
	d.magic = htole32(sb->magic);
	d.version = htole32(sb->version);
	d.block_size = htole32(sb->block_size);
	d.generation = htole64(sb->generation);
	memcpy(d.uuid, sb->uuid, BJ_MD_UUID_LEN);
	d.data_sectors = htole64(sb->data_sectors);
	d.md_blocks = htole64(sb->md_blocks);
	d.next_epoch = htole64(sb->next_epoch);
	d.flags = htole32(sb->flags);
	d.nr_bitmaps = htole32(sb->nr_bitmaps);
	memcpy(d.volume_name, sb->volume_name, BJ_MD_VOLUME_NAME_LEN);
	memcpy(d.record, sb->record, BJ_MD_RECORD_LEN);
	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++) {
		const struct bj_md_entry *e = &sb->bitmaps[i];
		struct bj_md_bitmap_entry *o = &d.bitmaps[i];

		memcpy(o->name, e->name, BJ_MD_NAME_LEN);
		o->granule = htole64(e->granule);
		o->nr_bits = htole64(e->nr_bits);
		o->first_block = htole64(e->first_block);
		o->nr_blocks = htole32(e->nr_blocks);
		o->flags = htole32(e->flags);
		o->epoch = htole64(e->epoch);
		o->successor_epoch = htole64(e->successor_epoch);
		o->area = htole32(e->area);
	}
	memcpy(block, &d, sizeof(d));
	d.csum = htole32(bj_md_block_csum(block));
	memcpy(block, &d.csum, sizeof(d.csum));
}

int bj_md_sb_decode(const void *block, struct bj_md_sb *sb, char *err)
{
	struct bj_md_superblock d;
	unsigned int i;

	memset(sb, 0, sizeof(*sb));
	if (bj_md_block_zero(block)) {
		bj_seterr(err, "all zeroes");
		return -ENODATA;
	}
	memcpy(&d, block, sizeof(d));
	sb->magic = le32toh(d.magic);
	sb->version = le32toh(d.version);
	sb->block_size = le32toh(d.block_size);
	sb->generation = le64toh(d.generation);
	memcpy(sb->uuid, d.uuid, BJ_MD_UUID_LEN);
	sb->data_sectors = le64toh(d.data_sectors);
	sb->md_blocks = le64toh(d.md_blocks);
	sb->next_epoch = le64toh(d.next_epoch);
	sb->flags = le32toh(d.flags);
	sb->nr_bitmaps = le32toh(d.nr_bitmaps);
	memcpy(sb->volume_name, d.volume_name, BJ_MD_VOLUME_NAME_LEN);
	memcpy(sb->record, d.record, BJ_MD_RECORD_LEN);
	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++) {
		const struct bj_md_bitmap_entry *o = &d.bitmaps[i];
		struct bj_md_entry *e = &sb->bitmaps[i];

		memcpy(e->name, o->name, BJ_MD_NAME_LEN);
		e->granule = le64toh(o->granule);
		e->nr_bits = le64toh(o->nr_bits);
		e->first_block = le64toh(o->first_block);
		e->nr_blocks = le32toh(o->nr_blocks);
		e->flags = le32toh(o->flags);
		e->epoch = le64toh(o->epoch);
		e->successor_epoch = le64toh(o->successor_epoch);
		e->area = le32toh(o->area);
	}
	if (sb->magic != BJ_MD_SB_MAGIC) {
		bj_seterr(err, "unknown magic 0x%08" PRIx32, sb->magic);
		return -EINVAL;
	}
	if (le32toh(d.csum) != bj_md_block_csum(block)) {
		bj_seterr(err, "checksum mismatch");
		return -EBADMSG;
	}
	if (sb->version != BJ_MD_VERSION || sb->block_size != BJ_MD_BLOCK_SIZE) {
		bj_seterr(err, "version %" PRIu32 " with %" PRIu32 "-byte blocks (this blockjob knows version %d with %d-byte blocks)",
		       sb->version, sb->block_size, BJ_MD_VERSION, BJ_MD_BLOCK_SIZE);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

int bj_md_sb_select(const void *b0, const void *b1, struct bj_md_sb *sb, bool *other_valid,
		    char *err)
{
	char e0[BJ_MD_ERRLEN], e1[BJ_MD_ERRLEN];
	struct bj_md_sb s0, s1;
	int r0, r1, copy;

	r0 = bj_md_sb_decode(b0, &s0, e0);
	r1 = bj_md_sb_decode(b1, &s1, e1);
	if (other_valid)
		*other_valid = !r0 && !r1;
	if (!r0 || !r1) {
		copy = r0 ? 1 : r1 ? 0 : s1.generation > s0.generation;
		*sb = copy ? s1 : s0;
		return copy;
	}
	memset(sb, 0, sizeof(*sb));
	if (r0 == -ENODATA && r1 == -ENODATA) {
		bj_seterr(err, "not formatted (blocks 0 and 1 are all zeroes)");
		return -ENODATA;
	}
	if (r0 == -EBADMSG && r1 == -EBADMSG)
		bj_seterr(err, "superblock checksum mismatch in both copies");
	else if ((r0 == -EINVAL || r0 == -ENODATA) && (r1 == -EINVAL || r1 == -ENODATA))
		bj_seterr(err, "not dm-blockjob metadata (unknown magic 0x%08" PRIx32 ")",
		       r0 == -EINVAL ? s0.magic : s1.magic);
	else if (r0 == -EPROTONOSUPPORT || r1 == -EPROTONOSUPPORT)
		bj_seterr(err, "unsupported metadata: %s", r0 == -EPROTONOSUPPORT ? e0 : e1);
	else
		bj_seterr(err, "no valid superblock: copy 0: %s; copy 1: %s", e0, e1);
	return -EINVAL;
}

int bj_md_sb_format(struct bj_md_sb *sb, const uint8_t uuid[BJ_MD_UUID_LEN],
		    const char *volume_name, uint64_t data_sectors, uint64_t md_blocks, char *err)
{
	size_t len = strlen(volume_name);

	memset(sb, 0, sizeof(*sb));
	if (!len || len >= BJ_MD_VOLUME_NAME_LEN) {
		bj_seterr(err, "volume name of %zu bytes: must be 1 to %d", len,
		       BJ_MD_VOLUME_NAME_LEN - 1);
		return -EINVAL;
	}
	if (!data_sectors) {
		bj_seterr(err, "a volume of 0 sectors");
		return -EINVAL;
	}
	if (md_blocks < bj_md_min_blocks(data_sectors)) {
		bj_seterr(err, "%" PRIu64 " metadata blocks; the volume needs at least %" PRIu64,
		       md_blocks, bj_md_min_blocks(data_sectors));
		return -ENOSPC;
	}
	sb->magic = BJ_MD_SB_MAGIC;
	sb->version = BJ_MD_VERSION;
	sb->block_size = BJ_MD_BLOCK_SIZE;
	sb->generation = 1;
	memcpy(sb->uuid, uuid, BJ_MD_UUID_LEN);
	sb->data_sectors = data_sectors;
	sb->md_blocks = md_blocks;
	sb->next_epoch = 1;
	memcpy(sb->volume_name, volume_name, len);
	return 0;
}

/* Bitmap blocks ---------------------------------------------------------- */

void bj_md_bitmap_encode(const struct bj_md_bhdr *h, const uint64_t *words, void *block)
{
	struct bj_md_bitmap_header d;
	uint8_t *p = block;
	uint64_t w;
	unsigned int i;

	memset(&d, 0, sizeof(d));
	d.magic = htole32(BJ_MD_BITMAP_MAGIC);
	memcpy(d.uuid, h->uuid, BJ_MD_UUID_LEN);
	d.epoch = htole64(h->epoch);
	d.generation = htole64(h->generation);
	d.index = htole32(h->index);
	d.entry = htole32(h->entry);
	memcpy(p, &d, sizeof(d));
	for (i = 0; i < BJ_MD_WORDS_PER_BLOCK; i++) {
		w = htole64(words[i]);
		memcpy(p + BJ_MD_BITMAP_HEADER + 8 * i, &w, 8);
	}
	d.csum = htole32(bj_md_block_csum(block));
	memcpy(p, &d.csum, sizeof(d.csum));
}

int bj_md_bitmap_decode(const void *block, struct bj_md_bhdr *h, uint64_t *words)
{
	const uint8_t *p = block;
	struct bj_md_bitmap_header d;
	uint64_t w;
	unsigned int i;

	memcpy(&d, p, sizeof(d));
	h->magic = le32toh(d.magic);
	memcpy(h->uuid, d.uuid, BJ_MD_UUID_LEN);
	h->epoch = le64toh(d.epoch);
	h->generation = le64toh(d.generation);
	h->index = le32toh(d.index);
	h->entry = le32toh(d.entry);
	if (words)
		for (i = 0; i < BJ_MD_WORDS_PER_BLOCK; i++) {
			memcpy(&w, p + BJ_MD_BITMAP_HEADER + 8 * i, 8);
			words[i] = le64toh(w);
		}
	if (bj_md_block_zero(block))
		return -ENODATA;
	if (le32toh(d.csum) != bj_md_block_csum(block))
		return -EBADMSG;
	if (h->magic != BJ_MD_BITMAP_MAGIC)
		return -EINVAL;
	return 0;
}

int bj_md_bitmap_copy_valid(const void *block, const uint8_t uuid[BJ_MD_UUID_LEN],
			    uint64_t epoch, uint32_t index, struct bj_md_bhdr *h, bool *torn)
{
	int r = bj_md_bitmap_decode(block, h, NULL);

	if (torn)
		*torn = r == -EBADMSG && h->epoch == epoch &&
			(h->magic == BJ_MD_BITMAP_MAGIC || !memcmp(h->uuid, uuid, BJ_MD_UUID_LEN));
	if (r)
		return r;
	if (memcmp(h->uuid, uuid, BJ_MD_UUID_LEN) || h->index != index || h->epoch != epoch)
		return -ESTALE;
	return 0;
}

int bj_md_bitmap_select(const void *c0, const void *c1, const uint8_t uuid[BJ_MD_UUID_LEN],
			uint64_t epoch, uint32_t index, unsigned int *torn)
{
	struct bj_md_bhdr h0, h1;
	bool t0, t1;
	int r0, r1;

	r0 = bj_md_bitmap_copy_valid(c0, uuid, epoch, index, &h0, &t0);
	r1 = bj_md_bitmap_copy_valid(c1, uuid, epoch, index, &h1, &t1);
	if (torn)
		*torn = t0 + t1;
	if (r0 && r1)
		return -1;
	if (r0)
		return 1;
	if (r1)
		return 0;
	return h1.generation > h0.generation;
}

/* Sizes and layout ------------------------------------------------------- */

uint64_t bj_md_nr_bits(uint64_t data_sectors, uint64_t granule)
{
	if (!granule)
		return 0;
	return data_sectors / granule + !!(data_sectors % granule);
}

uint64_t bj_md_nr_blocks(uint64_t nr_bits)
{
	return nr_bits / BJ_MD_BITS_PER_BLOCK + !!(nr_bits % BJ_MD_BITS_PER_BLOCK);
}

uint64_t bj_md_bitmap_blocks(uint64_t data_sectors, uint64_t granule)
{
	return 4 * bj_md_nr_blocks(bj_md_nr_bits(data_sectors, granule));
}

uint64_t bj_md_block_of(const struct bj_md_entry *e, unsigned int area, unsigned int copy,
			uint64_t l)
{
	return e->first_block + (uint64_t)(2 * area + copy) * e->nr_blocks + l;
}

uint64_t bj_md_min_blocks(uint64_t data_sectors)
{
	return BJ_MD_FIRST_DATA_BLOCK + bj_md_bitmap_blocks(data_sectors, BJ_MD_DEFAULT_GRANULE);
}

uint64_t bj_md_min_bytes(uint64_t data_sectors)
{
	return bj_md_min_blocks(data_sectors) * BJ_MD_BLOCK_SIZE;
}

bool bj_md_record_valid(const char record[BJ_MD_RECORD_LEN], size_t *bad)
{
	size_t i = 0;

	while (i < BJ_MD_RECORD_LEN - 1 && record[i] >= 0x21 && record[i] <= 0x7e)
		i++;
	for (; i < BJ_MD_RECORD_LEN; i++)
		if (record[i]) {
			if (bad)
				*bad = i;
			return false;
		}
	return true;
}

bool bj_md_name_valid(const char *name, size_t maxlen)
{
	size_t len = strnlen(name, maxlen), i;

	if (!len || len > 63 || len == maxlen)
		return false;
	for (i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-",
			    name[i]))
			return false;
	return true;
}

static bool test_bit(const uint64_t *bits, uint64_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

bool bj_md_next_run(const uint64_t *bits, uint64_t nr_bits, uint64_t from, uint64_t *start,
		    uint64_t *end)
{
	uint64_t i = from;

	while (i < nr_bits) {
		if (!(i % 64) && !bits[i / 64]) {
			i += 64;
			continue;
		}
		if (test_bit(bits, i))
			break;
		i++;
	}
	if (i >= nr_bits)
		return false;
	*start = i;
	while (i < nr_bits) {
		if (!(i % 64) && bits[i / 64] == ~0ULL) {
			i += 64;
			continue;
		}
		if (!test_bit(bits, i))
			break;
		i++;
	}
	*end = i < nr_bits ? i : nr_bits;
	return true;
}

/* Loading ---------------------------------------------------------------- */

static void problem(struct bj_md *md, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct bj_md *md, const char *fmt, ...)
{
	va_list ap;

	if (md->nr_problems < BJ_MD_MAX_PROBLEMS) {
		va_start(ap, fmt);
		vsnprintf(md->problems[md->nr_problems], BJ_MD_PROBLEM_LEN, fmt, ap);
		va_end(ap);
	}
	md->nr_problems++;
}

void bj_md_free(struct bj_md *md)
{
	unsigned int i;

	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++) {
		free(md->bitmaps[i].bits);
		free(md->bitmaps[i].successor_bits);
		md->bitmaps[i].bits = md->bitmaps[i].successor_bits = NULL;
	}
	md->nr_bitmaps = 0;
}

/* A printable copy of an on-disk name for messages. */
static const char *shown(const char *name, size_t maxlen, char *buf, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < maxlen && name[i] && n + 5 < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
	}
	buf[n] = 0;
	return buf;
}

struct reader {
	bj_md_read_fn read;
	void *ctx;
	uint8_t *c0, *c1;
	char *err;
};

unsigned int bj_md_block_content(const void *c0, const void *c1,
				 const uint8_t uuid[BJ_MD_UUID_LEN], uint64_t epoch,
				 uint32_t index, uint64_t words[BJ_MD_WORDS_PER_BLOCK])
{
	struct bj_md_bhdr h;
	unsigned int torn;
	int c;

	c = bj_md_bitmap_select(c0, c1, uuid, epoch, index, &torn);
	if (torn)
		memset(words, 0xff, BJ_MD_WORDS_PER_BLOCK * 8);
	else if (c < 0)
		memset(words, 0, BJ_MD_WORDS_PER_BLOCK * 8);	/* never written in this epoch */
	else
		bj_md_bitmap_decode(c ? c1 : c0, &h, words);
	return torn;
}

/* Read area @area (epoch @epoch) of entry @e (index @idx) into @bits. */
static int load_area(struct reader *rd, struct bj_md *md, const struct bj_md_sb *sb,
		     unsigned int idx, unsigned int area, uint64_t epoch, uint64_t *bits,
		     unsigned int *torn)
{
	const struct bj_md_entry *e = &sb->bitmaps[idx];
	uint64_t nwords = e->nr_bits / 64 + !!(e->nr_bits % 64);
	uint64_t words[BJ_MD_WORDS_PER_BLOCK], l, b, w, n;
	unsigned int t;
	bool past = false;
	int r, c;

	for (l = 0; l < e->nr_blocks; l++) {
		for (c = 0; c < 2; c++) {
			b = bj_md_block_of(e, area, (unsigned int)c, l);
			r = rd->read(rd->ctx, b, c ? rd->c1 : rd->c0);
			if (r) {
				bj_seterr(rd->err, "reading metadata block %" PRIu64 ": %s", b,
				       strerror(-r));
				return r;
			}
		}
		t = bj_md_block_content(rd->c0, rd->c1, sb->uuid, epoch, (uint32_t)l, words);
		*torn += t;
		n = nwords - l * BJ_MD_WORDS_PER_BLOCK;
		if (n > BJ_MD_WORDS_PER_BLOCK)
			n = BJ_MD_WORDS_PER_BLOCK;
		memcpy(bits + l * BJ_MD_WORDS_PER_BLOCK, words, n * 8);
		for (w = n; w < BJ_MD_WORDS_PER_BLOCK && !t; w++)
			past |= words[w] != 0;
		if (l == e->nr_blocks - 1 && e->nr_bits % 64) {
			uint64_t mask = ~0ULL << (e->nr_bits % 64);

			past |= !t && (bits[nwords - 1] & mask) != 0;
			bits[nwords - 1] &= ~mask;
		}
	}
	if (past) {
		char nb[BJ_MD_NAME_LEN * 4 + 8];

		problem(md, "bitmap %s: bits set past its end (bit %" PRIu64 ") in area %u",
			shown(e->name, BJ_MD_NAME_LEN, nb, sizeof(nb)), e->nr_bits, area);
	}
	return 0;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Check entry @i of @sb; true if its areas can be read. */
static bool check_entry(struct bj_md *md, const struct bj_md_sb *sb, unsigned int i,
			uint64_t dev_blocks)
{
	const struct bj_md_entry *e = &sb->bitmaps[i];
	uint64_t want_bits = 0, span, j;
	char nb[BJ_MD_NAME_LEN * 4 + 8], nb2[BJ_MD_NAME_LEN * 4 + 8];
	bool readable = true, granule_ok;
	const char *n = shown(e->name, BJ_MD_NAME_LEN, nb, sizeof(nb));

	if (!bj_md_name_valid(e->name, BJ_MD_NAME_LEN))
		problem(md, "entry %u: invalid bitmap name '%s' (1 to 63 characters of A-Z a-z 0-9 _ . : -)",
			i, n);
	/* The mirror's sync map is no named bitmap: its name is free. */
	for (j = 0; j < i; j++)
		if ((sb->bitmaps[j].flags & BJ_MD_BM_USED) &&
		    !((sb->bitmaps[j].flags | e->flags) & BJ_MD_BM_SYNC) &&
		    !memcmp(sb->bitmaps[j].name, e->name, BJ_MD_NAME_LEN))
			problem(md, "entries %" PRIu64 " and %u: both named '%s'", j, i, n);
	if ((e->flags & BJ_MD_BM_SYNC) &&
	    (strcmp(e->name, BJ_MD_SYNC_NAME) || (e->flags & BJ_MD_BM_SUCCESSOR)))
		problem(md, "entry %u: a mirror sync map must be named '%s' and have no successor",
			i, BJ_MD_SYNC_NAME);
	for (j = 0; j < i && (e->flags & BJ_MD_BM_SYNC); j++)
		if ((sb->bitmaps[j].flags & (BJ_MD_BM_USED | BJ_MD_BM_SYNC)) ==
		    (BJ_MD_BM_USED | BJ_MD_BM_SYNC))
			problem(md, "entries %" PRIu64 " and %u: two mirror sync maps", j, i);
	granule_ok = is_pow2(e->granule) && e->granule >= BJ_MD_MIN_GRANULE &&
		     e->granule <= BJ_MD_MAX_GRANULE;
	if (!granule_ok) {
		problem(md, "bitmap %s: granularity of %" PRIu64 " sectors: not a power of two from %d to %d",
			n, e->granule, BJ_MD_MIN_GRANULE, BJ_MD_MAX_GRANULE);
		readable = false;
	} else {
		want_bits = bj_md_nr_bits(sb->data_sectors, e->granule);
		if (e->nr_bits != want_bits) {
			problem(md, "bitmap %s: %" PRIu64 " bits; a volume of %" PRIu64 " sectors at %" PRIu64 " sectors a bit has %" PRIu64,
				n, e->nr_bits, sb->data_sectors, e->granule, want_bits);
			readable = false;
		}
	}
	if (e->nr_blocks != bj_md_nr_blocks(e->nr_bits)) {
		problem(md, "bitmap %s: %" PRIu32 " blocks an area; %" PRIu64 " bits need %" PRIu64,
			n, e->nr_blocks, e->nr_bits, bj_md_nr_blocks(e->nr_bits));
		readable = false;
	}
	if (e->flags & ~(uint32_t)(BJ_MD_BM_USED | BJ_MD_BM_ENABLED | BJ_MD_BM_SUCCESSOR |
				   BJ_MD_BM_SYNC))
		problem(md, "bitmap %s: unknown flags 0x%" PRIx32, n, e->flags);
	if (e->area > 1) {
		problem(md, "bitmap %s: area %" PRIu32 " (must be 0 or 1)", n, e->area);
		readable = false;
	}
	if (!e->epoch || e->epoch >= sb->next_epoch)
		problem(md, "bitmap %s: epoch %" PRIu64 " (must be 1 to next_epoch %" PRIu64 " - 1)",
			n, e->epoch, sb->next_epoch);
	if (e->flags & BJ_MD_BM_SUCCESSOR) {
		if (!e->successor_epoch || e->successor_epoch >= sb->next_epoch)
			problem(md, "bitmap %s: successor epoch %" PRIu64 " (must be 1 to next_epoch %" PRIu64 " - 1)",
				n, e->successor_epoch, sb->next_epoch);
		else if (e->successor_epoch == e->epoch)
			problem(md, "bitmap %s: its successor has its epoch %" PRIu64, n, e->epoch);
	}
	for (j = 0; j < i; j++) {
		const struct bj_md_entry *o = &sb->bitmaps[j];
		uint64_t mine[2] = { e->epoch, e->flags & BJ_MD_BM_SUCCESSOR ? e->successor_epoch : 0 };
		uint64_t its[2] = { o->epoch, o->flags & BJ_MD_BM_SUCCESSOR ? o->successor_epoch : 0 };
		unsigned int a, b;

		if (!(o->flags & BJ_MD_BM_USED))
			continue;
		for (a = 0; a < 2; a++)
			for (b = 0; b < 2; b++)
				if (mine[a] && mine[a] == its[b])
					problem(md, "bitmaps %s and %s: both use epoch %" PRIu64,
						shown(o->name, BJ_MD_NAME_LEN, nb2, sizeof(nb2)), n,
						mine[a]);
	}
	/* 4 * nr_blocks blocks from first_block, in the device, past the superblocks */
	span = 4 * (uint64_t)e->nr_blocks;
	if (e->first_block < BJ_MD_FIRST_DATA_BLOCK) {
		problem(md, "bitmap %s: starts at block %" PRIu64 ", over the superblocks", n,
			e->first_block);
		readable = false;
	}
	if (e->first_block > sb->md_blocks || span > sb->md_blocks - e->first_block) {
		problem(md, "bitmap %s: blocks %" PRIu64 "+%" PRIu64 " past the metadata's %" PRIu64 " blocks",
			n, e->first_block, span, sb->md_blocks);
		readable = false;
	} else if (e->first_block + span > dev_blocks) {
		readable = false;	/* md_blocks > dev_blocks: a problem already */
	}
	for (j = 0; j < i; j++) {
		const struct bj_md_entry *o = &sb->bitmaps[j];
		uint64_t ospan = 4 * (uint64_t)o->nr_blocks;

		if (!(o->flags & BJ_MD_BM_USED) || !span || !ospan)
			continue;
		/* overlap of [f, f + span) and [of, of + ospan), without overflow */
		if (e->first_block < o->first_block ? o->first_block - e->first_block < span
						    : e->first_block - o->first_block < ospan)
			problem(md, "bitmaps %s and %s: their blocks overlap",
				shown(o->name, BJ_MD_NAME_LEN, nb2, sizeof(nb2)), n);
	}
	return readable && e->nr_blocks;
}

int bj_md_load(bj_md_read_fn read, void *ctx, uint64_t dev_blocks, struct bj_md *md, char *err)
{
	struct reader rd = { .read = read, .ctx = ctx, .err = err };
	struct bj_md_sb sb;
	unsigned int i, used = 0;
	size_t bad = 0;
	int r, copy;

	memset(md, 0, sizeof(*md));
	if (dev_blocks < BJ_MD_FIRST_DATA_BLOCK) {
		bj_seterr(err, "%" PRIu64 " blocks of %d bytes: too small for the two superblocks",
		       dev_blocks, BJ_MD_BLOCK_SIZE);
		return -EINVAL;
	}
	rd.c0 = malloc(BJ_MD_BLOCK_SIZE);
	rd.c1 = malloc(BJ_MD_BLOCK_SIZE);
	if (!rd.c0 || !rd.c1) {
		r = -ENOMEM;
		bj_seterr(err, "out of memory");
		goto out;
	}
	for (i = 0; i < BJ_MD_SB_COPIES; i++) {
		r = read(ctx, i, i ? rd.c1 : rd.c0);
		if (r) {
			bj_seterr(err, "reading metadata block %u: %s", i, strerror(-r));
			goto out;
		}
	}
	copy = bj_md_sb_select(rd.c0, rd.c1, &sb, &md->other_sb_valid, err);
	if (copy < 0) {
		r = copy;
		goto out;
	}
	if (!sb.data_sectors || sb.md_blocks < BJ_MD_FIRST_DATA_BLOCK || !sb.next_epoch) {
		bj_seterr(err, "impossible superblock (copy %d, generation %" PRIu64 "): data_sectors %" PRIu64 ", md_blocks %" PRIu64 ", next_epoch %" PRIu64,
		       copy, sb.generation, sb.data_sectors, sb.md_blocks, sb.next_epoch);
		r = -EINVAL;
		goto out;
	}
	md->sb_copy = copy;
	memcpy(md->uuid, sb.uuid, BJ_MD_UUID_LEN);
	md->generation = sb.generation;
	md->data_sectors = sb.data_sectors;
	md->md_blocks = sb.md_blocks;
	md->next_epoch = sb.next_epoch;
	memcpy(md->volume_name, sb.volume_name, BJ_MD_VOLUME_NAME_LEN);
	md->volume_name[BJ_MD_VOLUME_NAME_LEN - 1] = 0;

	if (!sb.volume_name[0] || strnlen(sb.volume_name, BJ_MD_VOLUME_NAME_LEN) == BJ_MD_VOLUME_NAME_LEN)
		problem(md, "volume name: %s", sb.volume_name[0] ? "not NUL-terminated" : "empty");
	md->flags = sb.flags;
	if (sb.flags & ~(uint32_t)BJ_MD_SB_PIVOTED)
		problem(md, "superblock flags 0x%" PRIx32 " unknown (must be 0)",
			sb.flags & ~(uint32_t)BJ_MD_SB_PIVOTED);
	if (bj_md_record_valid(sb.record, &bad))
		memcpy(md->record, sb.record, BJ_MD_RECORD_LEN);
	else
		problem(md, "volume record: byte %zu is 0x%02x (the record is 0x21..0x7e, then NULs to byte %d)",
			bad, (unsigned char)sb.record[bad], BJ_MD_RECORD_LEN - 1);
	if (sb.md_blocks > dev_blocks)
		problem(md, "the superblock says %" PRIu64 " metadata blocks; the device has %" PRIu64,
			sb.md_blocks, dev_blocks);
	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++)
		used += !!(sb.bitmaps[i].flags & BJ_MD_BM_USED);
	if (sb.nr_bitmaps != used)
		problem(md, "superblock: nr_bitmaps %" PRIu32 ", but %u entries are in use",
			sb.nr_bitmaps, used);

	for (i = 0; i < BJ_MD_MAX_BITMAPS; i++) {
		const struct bj_md_entry *e = &sb.bitmaps[i];
		struct bj_md_bitmap *b;
		uint64_t nwords;

		if (!(e->flags & BJ_MD_BM_USED))
			continue;
		b = &md->bitmaps[md->nr_bitmaps++];
		memcpy(b->name, e->name, BJ_MD_NAME_LEN);
		b->name[BJ_MD_NAME_LEN - 1] = 0;
		b->granule = e->granule > UINT64_MAX / 512 ? 0 : e->granule * 512;
		b->nr_bits = e->nr_bits;
		b->enabled = e->flags & BJ_MD_BM_ENABLED;
		b->has_successor = e->flags & BJ_MD_BM_SUCCESSOR;
		b->sync = e->flags & BJ_MD_BM_SYNC;
		if (!check_entry(md, &sb, i, dev_blocks))
			continue;
		/* whole blocks' worth of words: a block is copied in at once */
		nwords = (uint64_t)e->nr_blocks * BJ_MD_WORDS_PER_BLOCK;
		b->bits = calloc(nwords, 8);
		if (b->has_successor)
			b->successor_bits = calloc(nwords, 8);
		if (!b->bits || (b->has_successor && !b->successor_bits)) {
			r = -ENOMEM;
			bj_seterr(err, "out of memory for bitmap %s (%" PRIu64 " bits)", b->name,
			       e->nr_bits);
			goto fail;
		}
		r = load_area(&rd, md, &sb, i, e->area, e->epoch, b->bits, &b->torn_copies);
		if (!r && b->has_successor)
			r = load_area(&rd, md, &sb, i, 1 - e->area, e->successor_epoch,
				      b->successor_bits, &b->torn_copies);
		if (r)
			goto fail;
	}
	r = 0;
	goto out;
fail:
	bj_md_free(md);
out:
	free(rd.c0);
	free(rd.c1);
	return r;
}
