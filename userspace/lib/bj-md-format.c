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

/* Reflected CRC-32C, polynomial 0x82f63b78: entry i is the CRC of byte i. */
static const uint32_t crc_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
	0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
	0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
	0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
	0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
	0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
	0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
	0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
	0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
	0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
	0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
	0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
	0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
	0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
	0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
	0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
	0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
	0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
	0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
	0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
	0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
	0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t bj_crc32c(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = ~0U;

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
