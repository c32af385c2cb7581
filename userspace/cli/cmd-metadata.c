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

/* Dirty ranges in bytes of @bits, clamped to @data_bytes: prints them, returns the dirty bytes. */
static uint64_t ranges(const uint64_t *bits, uint64_t nr_bits, uint64_t granule,
		       uint64_t data_bytes, bool json, const char *indent)
{
	uint64_t s, e = 0, start, end, total = 0;
	bool first = true;

	if (json)
		printf("[");
	while (bj_md_next_run(bits, nr_bits, e, &s, &e)) {
		start = s * granule;
		end = e * granule;
		if (end > data_bytes || end / granule != e)
			end = data_bytes;
		if (json)
			printf("%s[%" PRIu64 ", %" PRIu64 "]", first ? "" : ", ", start, end - start);
		else
			printf("%s%" PRIu64 " %" PRIu64 "\n", indent, start, end - start);
		total += end - start;
		first = false;
	}
	if (json)
		printf("]");
	return total;
}

static uint64_t dirty_bytes(const uint64_t *bits, uint64_t nr_bits, uint64_t granule,
			    uint64_t data_bytes)
{
	uint64_t s, e = 0, end, total = 0;

	while (bj_md_next_run(bits, nr_bits, e, &s, &e)) {
		end = e * granule;
		if (end > data_bytes || end / granule != e)
			end = data_bytes;
		total += end - s * granule;
	}
	return total;
}

static void uuid_str(const uint8_t *u, char *buf)
{
	int i, n = 0;

	for (i = 0; i < BJ_MD_UUID_LEN; i++)
		n += sprintf(buf + n, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "",
			     u[i]);
}

static void dump_json(const struct bj_md *md)
{
	uint64_t data_bytes = md->data_sectors * 512;
	char uuid[40];
	unsigned int i;

	uuid_str(md->uuid, uuid);
	printf("{\"uuid\": \"%s\", \"generation\": %" PRIu64 ", \"volume_name\": ", uuid,
	       md->generation);
	bj_json_str(stdout, md->volume_name);
	printf(", \"data_bytes\": %" PRIu64 ", \"metadata_bytes\": %" PRIu64
	       ", \"superblock_copy\": %d, \"other_superblock_valid\": %s, \"next_epoch\": %" PRIu64
	       ", \"record\": ", data_bytes, md->md_blocks * BJ_MD_BLOCK_SIZE, md->sb_copy,
	       md->other_sb_valid ? "true" : "false", md->next_epoch);
	bj_json_str(stdout, md->record);
	printf(", \"pivoted\": %s, \"bitmaps\": [",
	       md->flags & BJ_MD_SB_PIVOTED ? "true" : "false");
	for (i = 0; i < md->nr_bitmaps; i++) {
		const struct bj_md_bitmap *b = &md->bitmaps[i];

		printf("%s{\"name\": ", i ? ", " : "");
		bj_json_str(stdout, b->name);
		printf(", \"granularity\": %" PRIu64 ", \"enabled\": %s, \"sync\": %s", b->granule,
		       b->enabled ? "true" : "false", b->sync ? "true" : "false");
		if (b->bits) {
			printf(", \"count\": %" PRIu64 ", \"dirty\": ",
			       dirty_bytes(b->bits, b->nr_bits, b->granule, data_bytes));
			ranges(b->bits, b->nr_bits, b->granule, data_bytes, true, "");
		} else {
			printf(", \"count\": null, \"dirty\": null");
		}
		if (b->successor_bits) {
			printf(", \"successor\": {\"count\": %" PRIu64 ", \"dirty\": ",
			       dirty_bytes(b->successor_bits, b->nr_bits, b->granule, data_bytes));
			ranges(b->successor_bits, b->nr_bits, b->granule, data_bytes, true, "");
			printf("}");
		} else {
			printf(", \"successor\": %s", b->has_successor ? "{}" : "null");
		}
		printf(", \"torn_copies\": %u}", b->torn_copies);
	}
	printf("], \"problem_count\": %u, \"problems\": [", md->nr_problems);
	for (i = 0; i < md->nr_problems && i < BJ_MD_MAX_PROBLEMS; i++) {
		printf("%s", i ? ", " : "");
		bj_json_str(stdout, md->problems[i]);
	}
	printf("]}\n");
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
	char uuid[40], a[32], b2[32];
	unsigned int i;

	uuid_str(md->uuid, uuid);
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
			ranges(b->bits, b->nr_bits, b->granule, data_bytes, false, "  ");
		if (b->successor_bits) {
			printf("  successor: %" PRIu64 " bytes dirty\n",
			       dirty_bytes(b->successor_bits, b->nr_bits, b->granule, data_bytes));
			ranges(b->successor_bits, b->nr_bits, b->granule, data_bytes, false, "    ");
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
	int c;

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
			dump_json(&md);
		else
			dump_human(path, &md);
		bj_md_free(&md);
		return 0;
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
