// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob qcow2 map IMAGE [--output=json|human] [--backing-format raw|qcow2]
 * blockjob qcow2 table IMAGE [--read-only] [--allow-data-file] [--backing-format raw|qcow2]
 * blockjob qcow2 top IMAGE [--backing-format raw|qcow2]
 * blockjob qcow2 attach NAME IMAGE [--read-only] [--allow-data-file] [--backing-format raw|qcow2]
 * blockjob qcow2 detach NAME [--unused]
 *
 * map prints the extent map of a qcow2 image and its backing chain; the
 * JSON output is byte for byte what "qemu-img map --output=json" (QEMU 7.2)
 * prints for the same image. table prints the dm table attach would load,
 * top the ranges a sync top job copies; attach/detach set up and remove a
 * qcow2 chain as a blockjob volume (lib/qcow2-table.c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blockjob/blockjob.h>

#include "commands.h"

void usage_qcow2(FILE *f)
{
	fprintf(f, "Usage: blockjob qcow2 map IMAGE [--output=human|json] [--backing-format FMT]\n"
		   "       blockjob qcow2 table IMAGE [--read-only] [--allow-data-file]\n"
		   "                                  [--backing-format FMT]\n"
		   "       blockjob qcow2 top IMAGE [--backing-format FMT]\n"
		   "       blockjob qcow2 attach NAME IMAGE [--read-only] [--allow-data-file]\n"
		   "                                        [--backing-format FMT]\n"
		   "       blockjob qcow2 detach NAME [--unused]\n\n"
		   "qcow2 images and their backing chains.\n\n"
		   "Subcommands:\n"
		   "  map IMAGE     print which file and offset holds each range of the guest\n"
		   "                disk, through the whole backing chain (read only)\n"
		   "  table IMAGE   print the device-mapper table 'attach' would load (sectors;\n"
		   "                files instead of loop devices) and whether it is writable\n"
		   "  top IMAGE     print the byte ranges allocated in IMAGE itself (what a\n"
		   "                mirror --sync top copies)\n"
		   "  attach NAME IMAGE\n"
		   "                make /dev/mapper/NAME, a blockjob volume reading what the\n"
		   "                guest of IMAGE sees (loop devices and linear/zero segments\n"
		   "                in /dev/mapper/NAME-qcow2 below it). Writable only when\n"
		   "                every write lands in place (IMAGE fully allocated, e.g.\n"
		   "                preallocation=metadata, no snapshots); else read-only, and\n"
		   "                it says why\n"
		   "  detach NAME   remove volume NAME and its qcow2 devices and loop devices\n\n"
		   "Options:\n"
		   "  --output=json   (map) the same JSON as 'qemu-img map --output=json'\n"
		   "  --output=human  (map) a table (default)\n"
		   "  --read-only     (attach, table) read-only whatever IMAGE allows\n"
		   "  --allow-data-file\n"
		   "                  (attach, table) IMAGE may be writable though it names an\n"
		   "                  external data file (writes go to that file); without it\n"
		   "                  such an image attaches read-only\n"
		   "  --backing-format raw|qcow2\n"
		   "                  (map, table, top, attach) the format of IMAGE's backing\n"
		   "                  file when IMAGE does not record one (no backing format\n"
		   "                  extension); without it such a backing file is opened only\n"
		   "                  if it is qcow2, never probed as raw. Backing files and\n"
		   "                  data files must be regular files outside /proc, /sys, /dev\n"
		   "  --unused        (detach) keep volume NAME; remove only the qcow2 devices of\n"
		   "                  NAME nothing uses (job destinations after a backup or a\n"
		   "                  cancelled mirror, the source after a pivot)\n"
		   "  -h, --help      this text\n");
}

struct map_out {
	bool json, oom;
	unsigned long n;
	const struct bj_qcow2_chain *chain;
};

/*
 * One extent as qemu-img map --output=json prints it (an array streamed
 * an entry at a time: a large image has millions): 0, or -ENOMEM.
 */
static int print_json(const struct bj_qcow2_extent *e, bool first)
{
	struct json_object *o = json_object_new_object();
	char *text = NULL;

	if (o && bj_json_add_u64(o, "start", e->start) &&
	    bj_json_add_u64(o, "length", e->length) && bj_json_add_u64(o, "depth", e->depth) &&
	    bj_json_add_bool(o, "present", e->present) && bj_json_add_bool(o, "zero", e->zero) &&
	    bj_json_add_bool(o, "data", e->data) &&
	    (!e->has_offset || bj_json_add_u64(o, "offset", e->offset)))
		text = bj_json_text(o, BJ_JSON_QEMU_IMG);
	json_object_put(o);
	if (!text)
		return -ENOMEM;
	printf("%s%s", first ? "[" : ",\n", text);
	free(text);
	return 0;
}

static const char *describe(const struct bj_qcow2_extent *e)
{
	if (e->compressed)
		return "compressed";
	if (e->zero)
		return e->present ? "zero" : "unallocated";
	if (e->data)
		return "data";
	return "unallocated";
}

static int map_cb(const struct bj_qcow2_extent *e, void *opaque)
{
	struct map_out *o = opaque;

	if (o->json) {
		if (print_json(e, o->n == 0)) {
			o->oom = true;
			return -ENOMEM;
		}
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

static int do_map(const char *image, bool json, const struct bj_qcow2_open_opts *oo)
{
	struct map_out o = { .json = json };
	struct bj_qcow2_chain *c;
	char err[BJ_ERRLEN];
	int r;

	if (bj_qcow2_open_chain(image, oo, &c, err)) {
		bj_err("%s: %s", image, err);
		return 1;
	}
	o.chain = c;
	r = bj_qcow2_map(c, map_cb, &o, err);
	if (r) {
		fflush(stdout);
		if (o.json && o.n)
			putchar('\n');
		bj_err("%s: %s", image, o.oom ? "out of memory building the JSON output" : err);
		bj_qcow2_close_chain(c);
		return 1;
	}
	if (json) {
		if (!o.n) {
			/* qemu-img prints one empty entry for an empty disk */
			struct bj_qcow2_extent e = { 0 };

			if (print_json(&e, true)) {
				bj_err("out of memory");
				bj_qcow2_close_chain(c);
				return 1;
			}
		}
		printf("]\n");
	} else if (!o.n) {
		printf("(empty disk)\n");
	}
	bj_qcow2_close_chain(c);
	if (fflush(stdout) || ferror(stdout)) {
		bj_err("cannot write the map to stdout");
		return 1;
	}
	return 0;
}

static int do_table(const char *image, const struct bj_qattach_opts *ao,
		    const struct bj_qcow2_open_opts *oo)
{
	char err[BJ_ERRLEN], why[512];
	struct bj_qcow2_chain *c;
	struct bj_qplan p;
	bool ro = ao->force_ro;
	size_t i;

	if (bj_qcow2_open_chain(image, oo, &c, err)) {
		bj_err("%s: %s", image, err);
		return 1;
	}
	if (bj_qplan_build(c, &p, err)) {
		bj_err("%s: %s", image, err);
		bj_qcow2_close_chain(c);
		return 1;
	}
	p.allow_data_file = ao->allow_data_file;
	bj_qplan_why_ro(&p, image, why, sizeof(why));
	printf("# %s: %zu segment%s, %s%s%s\n", image, p.nsegs, p.nsegs == 1 ? "" : "s",
	       ro || why[0] ? "read-only" : "writable", why[0] ? ": " : "", why);
	for (i = 0; i < p.nsegs; i++) {
		const struct bj_qseg *s = &p.segs[i];

		if (s->file < 0)
			printf("%" PRIu64 " %" PRIu64 " zero\n", s->start, s->len);
		else
			printf("%" PRIu64 " %" PRIu64 " linear %s %" PRIu64 "\n", s->start, s->len,
			       p.files[s->file].path, s->offset);
	}
	bj_qplan_free(&p);
	bj_qcow2_close_chain(c);
	if (fflush(stdout) || ferror(stdout)) {
		bj_err("cannot write the table to stdout");
		return 1;
	}
	return 0;
}

static int do_top(const char *image, const struct bj_qcow2_open_opts *oo)
{
	struct bj_qcow2_chain *c;
	struct bj_qrange *r;
	char err[BJ_ERRLEN];
	size_t n, i;

	if (bj_qcow2_open_chain(image, oo, &c, err)) {
		bj_err("%s: %s", image, err);
		return 1;
	}
	if (bj_qcow2_top_ranges(c, &r, &n, err)) {
		bj_err("%s: %s", image, err);
		bj_qcow2_close_chain(c);
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%" PRIu64 " %" PRIu64 "\n", r[i].start, r[i].len);
	free(r);
	bj_qcow2_close_chain(c);
	return fflush(stdout) ? 1 : 0;
}

static int do_attach(const char *name, const char *image, const struct bj_qattach_opts *ao)
{
	char err[BJ_ERRLEN];
	struct bj_qattach a;

	if (bj_qcow2_attach(name, image, ao, &a, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (a.why_ro[0])
		fprintf(stderr, "%s: attached read-only: %s\n", bj_progname, a.why_ro);
	return 0;
}

static int do_detach(const char *name, bool unused)
{
	char err[BJ_ERRLEN], note[512];
	unsigned int n;

	if (bj_qcow2_detach(name, unused, &n, note, sizeof(note), err)) {
		bj_err("%s", err);
		return 1;
	}
	if (note[0])
		fprintf(stderr, "%s: %s\n", bj_progname, note);
	return 0;
}

int cmd_qcow2(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "unused", no_argument, NULL, 'u' },
		{ "allow-data-file", no_argument, NULL, 'a' },
		{ "backing-format", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const subs[] = { "map", "table", "top", "attach", "detach" };
	static const int nargs[] = { 1, 1, 1, 2, 1 };
	struct bj_qattach_opts ao = { 0 };
	struct bj_qcow2_open_opts oo = { 0 };
	bool json = false, unused = false;
	char lower[BJ_DM_NAME_MAX + 1], err[BJ_ERRLEN];
	const char *sub, *name = NULL;
	unsigned int s;
	int c, r;

	if (argc < 2)
		return bj_usage_error("qcow2", "missing subcommand (map, table, top, attach, detach)");
	sub = argv[1];
	for (s = 0; s < sizeof(subs) / sizeof(subs[0]); s++)
		if (!strcmp(sub, subs[s]))
			break;
	if (s == sizeof(subs) / sizeof(subs[0]))
		return bj_usage_error("qcow2",
				      "unknown subcommand '%s' (expected map, table, top, attach or detach)",
				      sub);
	argc--;
	argv++;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (s != 0)
				return bj_usage_error("qcow2", "--output goes with map only");
			if (!strcmp(optarg, "json"))
				json = true;
			else if (!strcmp(optarg, "human"))
				json = false;
			else
				return bj_usage_error("qcow2", "unknown output format '%s' (json or human)",
						      optarg);
			break;
		case 'r':
			if (s != 1 && s != 3)
				return bj_usage_error("qcow2", "--read-only goes with attach and table");
			ao.force_ro = true;
			break;
		case 'a':
			if (s != 1 && s != 3)
				return bj_usage_error("qcow2", "--allow-data-file goes with attach and table");
			ao.allow_data_file = true;
			break;
		case 'b':
			if (s == 4)
				return bj_usage_error("qcow2", "--backing-format goes with map, table, top and attach");
			if (strcmp(optarg, "raw") && strcmp(optarg, "qcow2"))
				return bj_usage_error("qcow2", "unknown backing format '%s' (raw or qcow2)",
						      optarg);
			ao.backing_format = oo.backing_format = optarg;
			break;
		case 'u':
			if (s != 4)
				return bj_usage_error("qcow2", "--unused goes with detach only");
			unused = true;
			break;
		case 'h':
			usage_qcow2(stdout);
			return 0;
		default:
			return bj_option_error("qcow2", c, argv);
		}
	}
	if (argc - optind < nargs[s])
		return bj_usage_error("qcow2", "%s needs %s", sub,
				      s == 3 ? "NAME IMAGE" : s == 4 ? "NAME" : "an IMAGE");
	if (argc - optind > nargs[s])
		return bj_usage_error("qcow2", "unexpected argument '%s'", argv[optind + nargs[s]]);
	if (s >= 3) {	/* attach, detach: a volume NAME */
		r = bj_volume_arg("qcow2", argv[optind], &name);
		if (r)
			return r;
	}
	switch (s) {
	case 0:
		return do_map(argv[optind], json, &oo);
	case 1:
		return do_table(argv[optind], &ao, &oo);
	case 2:
		return do_top(argv[optind], &oo);
	case 3:
		/* a NAME whose NAME-qcow2 device name cannot be made */
		if (bj_qcow2_lower_name(name, 0, lower, sizeof(lower), err))
			return bj_usage_error("qcow2", "%s", err);
		return do_attach(name, argv[optind + 1], &ao);
	default:
		return do_detach(name, unused);
	}
}
