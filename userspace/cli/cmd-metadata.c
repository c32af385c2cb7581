// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob metadata: dump and check a volume's metadata device (as
 * era_dump and thin_check do for theirs).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blockjob/blockjob.h>

#include "commands.h"

void usage_metadata(FILE *f)
{
	fprintf(f,
		"Usage: blockjob metadata dump MDEV [--json]\n"
		"       blockjob metadata check MDEV\n\n"
		"Read the metadata device MDEV of a volume ('blockjob create --metadata'):\n"
		"a block device or an image file. Nothing is written. MDEV may belong to a\n"
		"running volume: what is read is then the last commit found on disk.\n\n"
		"  dump   the superblock in use, the volume record (where the volume lives,\n"
		"         which job it runs) and whether a mirror pivoted onto its\n"
		"         destination, then each persistent bitmap: granularity,\n"
		"         state, dirty bytes and its dirty ranges, one \"START LENGTH\" (bytes)\n"
		"         a line; a successor's too; torn copies (a write cut short, read\n"
		"         from the other copy) and the problems found. --json: one document\n"
		"  check  exit 0 if the metadata is consistent (one summary line), else print\n"
		"         each problem on a line and exit 1\n");
}

/*
 * The next run of dirty bits of @bits from bit *@e on, as bytes clamped to
 * @data_bytes: true with it in *@start and *@len (and *@e past it), false
 * at the end.
 */
static bool next_range(const uint64_t *bits, uint64_t nr_bits, uint64_t granule,
		       uint64_t data_bytes, uint64_t *e, uint64_t *start, uint64_t *len)
{
	uint64_t s, end;

	if (!bj_md_next_run(bits, nr_bits, *e, &s, e))
		return false;
	end = *e * granule;
	if (end > data_bytes || end / granule != *e)
		end = data_bytes;
	*start = s * granule;
	*len = end - *start;
	return true;
}

/* Print the dirty ranges of @bits, one "START LENGTH" (bytes) a line after @indent. */
static void ranges(const uint64_t *bits, uint64_t nr_bits, uint64_t granule,
		   uint64_t data_bytes, const char *indent)
{
	uint64_t e = 0, start, len;

	while (next_range(bits, nr_bits, granule, data_bytes, &e, &start, &len))
		printf("%s%" PRIu64 " %" PRIu64 "\n", indent, start, len);
}

static uint64_t dirty_bytes(const uint64_t *bits, uint64_t nr_bits, uint64_t granule,
			    uint64_t data_bytes)
{
	uint64_t e = 0, start, len, total = 0;

	while (next_range(bits, nr_bits, granule, data_bytes, &e, &start, &len))
		total += len;
	return total;
}

static bool array_add_u64(struct json_object *a, uint64_t v)
{
	struct json_object *o = json_object_new_uint64(v);

	if (o && !json_object_array_add(a, o))
		return true;
	json_object_put(o);
	return false;
}

/* {"count": DIRTY BYTES, "dirty": [[START, LENGTH], ...]} of @bits into @o. */
static bool bits_json(struct json_object *o, const uint64_t *bits, uint64_t nr_bits,
		      uint64_t granule, uint64_t data_bytes)
{
	uint64_t e = 0, start, len, total = 0;
	struct json_object *a = json_object_new_array(), *r;

	if (!a)
		return false;
	while (next_range(bits, nr_bits, granule, data_bytes, &e, &start, &len)) {
		r = json_object_new_array();
		if (!r || json_object_array_add(a, r) || !array_add_u64(r, start) ||
		    !array_add_u64(r, len)) {
			json_object_put(a);
			return false;
		}
		total += len;
	}
	return bj_json_add_u64(o, "count", total) && bj_json_add(o, "dirty", a);
}

static struct json_object *bitmap_json(const struct bj_md_bitmap *b, uint64_t data_bytes)
{
	struct json_object *o = json_object_new_object(), *succ = NULL;
	bool ok;

	ok = o && bj_json_add_str(o, "name", b->name) &&
	     bj_json_add_u64(o, "granularity", b->granule) &&
	     bj_json_add_bool(o, "enabled", b->enabled) && bj_json_add_bool(o, "sync", b->sync);
	if (ok && b->bits)
		ok = bits_json(o, b->bits, b->nr_bits, b->granule, data_bytes);
	else if (ok)
		ok = bj_json_add(o, "count", NULL) && bj_json_add(o, "dirty", NULL);
	if (ok && (b->successor_bits || b->has_successor)) {
		succ = json_object_new_object();
		ok = succ && (!b->successor_bits ||
			      bits_json(succ, b->successor_bits, b->nr_bits, b->granule, data_bytes));
		ok = ok && bj_json_add(o, "successor", succ);
		if (!ok)
			json_object_put(succ);
	} else if (ok) {
		ok = bj_json_add(o, "successor", NULL);
	}
	if (ok && bj_json_add_u64(o, "torn_copies", b->torn_copies))
		return o;
	json_object_put(o);
	return NULL;
}

/* The --json document of @md; NULL if out of memory. */
static struct json_object *dump_json(const struct bj_md *md)
{
	uint64_t data_bytes = md->data_sectors * 512;
	struct json_object *o = json_object_new_object(), *a = NULL, *p = NULL, *b;
	char uuid[BJ_UUID_STR_LEN];
	unsigned int i;

	if (!o || !bj_json_add_str(o, "uuid", bj_uuid_str(md->uuid, uuid)) ||
	    !bj_json_add_u64(o, "generation", md->generation) ||
	    !bj_json_add_str(o, "volume_name", md->volume_name) ||
	    !bj_json_add_u64(o, "data_bytes", data_bytes) ||
	    !bj_json_add_u64(o, "metadata_bytes", md->md_blocks * BJ_MD_BLOCK_SIZE) ||
	    !bj_json_add(o, "superblock_copy", json_object_new_int(md->sb_copy)) ||
	    !bj_json_add_bool(o, "other_superblock_valid", md->other_sb_valid) ||
	    !bj_json_add_u64(o, "next_epoch", md->next_epoch) ||
	    !bj_json_add_str(o, "record", md->record) ||
	    !bj_json_add_bool(o, "pivoted", md->flags & BJ_MD_SB_PIVOTED))
		goto fail;
	a = json_object_new_array();
	for (i = 0; a && i < md->nr_bitmaps; i++) {
		b = bitmap_json(&md->bitmaps[i], data_bytes);
		if (!b || json_object_array_add(a, b)) {
			json_object_put(b);
			goto fail;
		}
	}
	if (!bj_json_add(o, "bitmaps", a)) {
		a = NULL;
		goto fail;
	}
	a = NULL;
	if (!bj_json_add_u64(o, "problem_count", md->nr_problems))
		goto fail;
	p = json_object_new_array();
	for (i = 0; p && i < md->nr_problems && i < BJ_MD_MAX_PROBLEMS; i++) {
		b = bj_json_string(md->problems[i]);
		if (!b || json_object_array_add(p, b)) {
			json_object_put(b);
			goto fail;
		}
	}
	if (bj_json_add(o, "problems", p))
		return o;
	p = NULL;
fail:
	json_object_put(p);
	json_object_put(a);
	json_object_put(o);
	return NULL;
}

static void print_problems(const struct bj_md *md, const char *indent)
{
	unsigned int i;

	for (i = 0; i < md->nr_problems && i < BJ_MD_MAX_PROBLEMS; i++)
		printf("%s%s\n", indent, md->problems[i]);
	if (md->nr_problems > BJ_MD_MAX_PROBLEMS)
		printf("%s... and %u more\n", indent, md->nr_problems - BJ_MD_MAX_PROBLEMS);
}

static void dump_human(const char *path, const struct bj_md *md)
{
	uint64_t data_bytes = md->data_sectors * 512;
	char uuid[BJ_UUID_STR_LEN], a[32], b2[32];
	unsigned int i;

	bj_uuid_str(md->uuid, uuid);
	printf("%s: metadata of volume %s (uuid %s)\n", path, md->volume_name, uuid);
	printf("superblock: copy %d, generation %" PRIu64 " (copy %d %s)\n", md->sb_copy,
	       md->generation, 1 - md->sb_copy,
	       md->other_sb_valid ? "valid, older" : "not valid: zeroes or a torn commit");
	printf("volume size: %s (%" PRIu64 " sectors); metadata: %s (%" PRIu64 " blocks); next epoch %" PRIu64 "\n",
	       bj_human_size(data_bytes, a, sizeof(a)), md->data_sectors,
	       bj_human_size(md->md_blocks * BJ_MD_BLOCK_SIZE, b2, sizeof(b2)), md->md_blocks,
	       md->next_epoch);
	printf("record: %s\n", md->record[0] ? md->record : "(none)");
	printf("pivoted: %s\n", md->flags & BJ_MD_SB_PIVOTED ? "yes" : "no");
	printf("bitmaps: %u\n", md->nr_bitmaps);
	for (i = 0; i < md->nr_bitmaps; i++) {
		const struct bj_md_bitmap *b = &md->bitmaps[i];

		printf("%s %s: granularity %s, %s", b->sync ? "mirror sync map" : "bitmap", b->name,
		       bj_human_size(b->granule, a, sizeof(a)),
		       b->sync ? "regions out of sync" : b->enabled ? "enabled" : "disabled");
		if (b->bits)
			printf(", %s dirty (%" PRIu64 " bytes)",
			       bj_human_size(dirty_bytes(b->bits, b->nr_bits, b->granule, data_bytes),
					     b2, sizeof(b2)),
			       dirty_bytes(b->bits, b->nr_bits, b->granule, data_bytes));
		else
			printf(", not read (its entry is broken)");
		if (b->torn_copies)
			printf(", %u torn cop%s (their blocks taken as all dirty)", b->torn_copies,
			       b->torn_copies > 1 ? "ies" : "y");
		printf("\n");
		if (b->bits)
			ranges(b->bits, b->nr_bits, b->granule, data_bytes, "  ");
		if (b->successor_bits) {
			printf("  successor: %" PRIu64 " bytes dirty\n",
			       dirty_bytes(b->successor_bits, b->nr_bits, b->granule, data_bytes));
			ranges(b->successor_bits, b->nr_bits, b->granule, data_bytes, "    ");
		}
	}
	if (md->nr_problems) {
		printf("problems: %u\n", md->nr_problems);
		print_problems(md, "  ");
	}
}

static int load(const char *path, struct bj_md *md)
{
	char err[BJ_ERRLEN];

	if (bj_md_read(path, md, err)) {
		bj_err("%s", err);
		return 1;
	}
	return 0;
}

int cmd_metadata(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *op, *path;
	struct bj_md md;
	unsigned int i, torn = 0;
	bool json = false;
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else
			return bj_option_error("metadata", c, argv);
	}
	if (argc - optind < 1)
		return bj_usage_error("metadata", "expected dump or check, and MDEV");
	op = argv[optind];
	if (strcmp(op, "dump") && strcmp(op, "check"))
		return bj_usage_error("metadata", "unknown operation '%s'", op);
	if (argc - optind != 2)
		return bj_usage_error("metadata", "expected: %s MDEV", op);
	if (json && strcmp(op, "dump"))
		return bj_usage_error("metadata", "--json goes only with dump");
	path = argv[optind + 1];
	if (load(path, &md))
		return 1;
	if (!strcmp(op, "dump")) {
		if (json)
			ret = bj_print_json(dump_json(&md), BJ_JSON_QEMU);
		else
			dump_human(path, &md);
		bj_md_free(&md);
		return ret;
	}
	if (md.nr_problems) {
		print_problems(&md, "");
		bj_err("%s: %u problem%s in the metadata of volume %s", path, md.nr_problems,
		       md.nr_problems > 1 ? "s" : "", md.volume_name);
		bj_md_free(&md);
		return 1;
	}
	for (i = 0; i < md.nr_bitmaps; i++)
		torn += md.bitmaps[i].torn_copies;
	printf("%s: consistent: volume %s, generation %" PRIu64 ", %u bitmap%s", path,
	       md.volume_name, md.generation, md.nr_bitmaps, md.nr_bitmaps == 1 ? "" : "s");
	if (!md.other_sb_valid)
		printf(", superblock copy %d not valid", 1 - md.sb_copy);
	if (torn)
		printf(", %u torn bitmap cop%s (their blocks taken as all dirty)", torn, torn > 1 ? "ies" : "y");
	printf("\n");
	bj_md_free(&md);
	return 0;
}
