// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob qcow2 map IMAGE [--output=json|human]
 *
 * Prints the extent map of a qcow2 image and its backing chain. The JSON
 * output is byte for byte what "qemu-img map --output=json" (QEMU 7.2)
 * prints for the same image.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bj-util.h"
#include "commands.h"
#include "qcow2.h"

void usage_qcow2(FILE *f)
{
	fprintf(f, "Usage: blockjob qcow2 map IMAGE [--output=human|json]\n\n"
		   "Inspect qcow2 images (read only).\n\n"
		   "Subcommands:\n"
		   "  map IMAGE   print which file and offset holds each range of the guest\n"
		   "              disk, through the whole backing chain\n\n"
		   "Options:\n"
		   "  --output=json   the same JSON as 'qemu-img map --output=json'\n"
		   "  --output=human  a table (default)\n"
		   "  -h, --help      this text\n");
}

struct map_out {
	bool json;
	unsigned long n;
	const struct qcow2_chain *chain;
};

static void print_json(const struct qcow2_extent *e, bool first)
{
	printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %u,"
	       " \"present\": %s, \"zero\": %s, \"data\": %s",
	       first ? "[" : ",\n", e->start, e->length, e->depth,
	       e->present ? "true" : "false", e->zero ? "true" : "false",
	       e->data ? "true" : "false");
	if (e->has_offset)
		printf(", \"offset\": %" PRIu64, e->offset);
	putchar('}');
}

static const char *describe(const struct qcow2_extent *e)
{
	if (e->compressed)
		return "compressed";
	if (e->zero)
		return e->present ? "zero" : "unallocated";
	if (e->data)
		return "data";
	return "unallocated";
}

static int map_cb(const struct qcow2_extent *e, void *opaque)
{
	struct map_out *o = opaque;

	if (o->json) {
		print_json(e, o->n == 0);
	} else {
		if (o->n == 0)
			printf("%-18s %-18s %-5s %-11s %-18s %s\n", "Offset", "Length", "Depth",
			       "Status", "Mapped to", "File");
		printf("%#-18" PRIx64 " %#-18" PRIx64 " %-5u %-11s ", e->start, e->length,
		       e->depth, describe(e));
		if (e->has_offset && !e->zero)
			printf("%#-18" PRIx64 " %s\n", e->offset, e->file);
		else
			printf("%-18s %s\n", "-", "-");
	}
	o->n++;
	return 0;
}

static int do_map(const char *image, bool json)
{
	struct map_out o = { .json = json };
	struct qcow2_chain *c;
	char err[640];
	int r;

	c = qcow2_open_chain(image, err, sizeof(err));
	if (!c) {
		bj_err("%s: %s", image, err);
		return 1;
	}
	o.chain = c;
	r = qcow2_map(c, map_cb, &o, err, sizeof(err));
	if (r) {
		fflush(stdout);
		if (o.json && o.n)
			putchar('\n');
		bj_err("%s: %s", image, err);
		qcow2_close_chain(c);
		return 1;
	}
	if (json) {
		if (!o.n) {
			/* qemu-img prints one empty entry for an empty disk */
			struct qcow2_extent e = { 0 };

			print_json(&e, true);
		}
		printf("]\n");
	} else if (!o.n) {
		printf("(empty disk)\n");
	}
	qcow2_close_chain(c);
	if (fflush(stdout) || ferror(stdout)) {
		bj_err("cannot write the map to stdout");
		return 1;
	}
	return 0;
}

int cmd_qcow2(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub, *image;
	bool json = false;
	int c;

	if (argc < 2)
		return bj_usage_error("qcow2", "missing subcommand (map)");
	sub = argv[1];
	if (strcmp(sub, "map"))
		return bj_usage_error("qcow2", "unknown subcommand '%s' (expected map)", sub);
	argc--;
	argv++;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!strcmp(optarg, "json"))
				json = true;
			else if (!strcmp(optarg, "human"))
				json = false;
			else
				return bj_usage_error("qcow2", "unknown output format '%s' (json or human)",
						      optarg);
			break;
		case 'h':
			usage_qcow2(stdout);
			return 0;
		default:
			return bj_usage_error("qcow2", "bad option");
		}
	}
	if (optind >= argc)
		return bj_usage_error("qcow2", "map needs an IMAGE");
	image = argv[optind];
	if (optind + 1 < argc)
		return bj_usage_error("qcow2", "unexpected argument '%s'", argv[optind + 1]);
	return do_map(image, json);
}
