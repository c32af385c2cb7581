// SPDX-License-Identifier: GPL-2.0
/*
 * blockjob bitmap: a volume's named dirty bitmaps (add, remove, clear,
 * enable, disable, merge, list, dump).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blockjob/blockjob.h>

#include "commands.h"

void usage_bitmap(FILE *f)
{
	fprintf(f,
		"Usage: blockjob bitmap add NAME BM [--granularity SIZE] [--persistent]\n"
		"       blockjob bitmap remove|clear|enable|disable NAME BM\n"
		"       blockjob bitmap merge NAME DST SRC...\n"
		"       blockjob bitmap list NAME [--json]\n"
		"       blockjob bitmap dump NAME BM [--json]\n\n"
		"Named dirty bitmaps of volume NAME: each records which parts of the volume\n"
		"were written since it was added or last cleared, for incremental backups\n"
		"('blockjob backup NAME TARGET --bitmap BM'). They live in kernel memory\n"
		"(one bit per granule: 2 MiB for 1 TiB at 64K) and are lost at reboot,\n"
		"unless persistent: those are also kept on the volume's metadata device\n"
		"('blockjob create NAME DEVICE --metadata MDEV') and outlive a reboot.\n\n"
		"  add       new empty, enabled bitmap; --granularity: a power of two from\n"
		"            4K to 64M (default 64K); --persistent: on the metadata device\n"
		"  remove    delete it           clear    forget every recorded write\n"
		"  enable    record writes       disable  stop recording\n"
		"  merge     DST |= each SRC (same granularity)\n"
		"  list      name, granularity, dirty bytes, state (enabled or disabled,\n"
		"            busy, persistent) of every bitmap\n"
		"  dump      the dirty byte ranges of BM, one \"START LENGTH\" a line\n");
}

static int send(const char *name, const char *msg)
{
	char err[BJ_ERRLEN];

	if (bj_dm_message(name, msg, NULL, err)) {
		bj_err("%s", err);
		return 1;
	}
	return 0;
}

/* Refuse early, with a clear message, what the kernel would only log. */
static int need_bitmap(const char *name, const char *bm, bool want)
{
	struct bj_bitmap_info info;
	char err[BJ_ERRLEN];
	int r;

	r = bj_bitmap_find(name, bm, &info, err);
	if (want && r) {
		bj_err("%s", err);
		return 1;
	}
	if (!want && !r) {
		bj_err("%s already has a bitmap named %s", name, bm);
		return 1;
	}
	if (!want && r != -ENOENT) {
		bj_err("%s", err);
		return 1;
	}
	return 0;
}

/*
 * A persistent bitmap needs the volume's metadata device (the kernel would
 * only say EINVAL): 0 if its table names one, else 1 with one line.
 */
static int need_metadata(const char *name)
{
	char err[BJ_ERRLEN];
	struct bj_vtable vt;

	if (bj_vtable_get(name, &vt, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (vt.metadata[0])
		return 0;
	bj_err("bitmap add --persistent: volume %s has no metadata device; create it with blockjob create %s DEVICE --metadata MDEV",
	       name, name);
	return 1;
}

/* QEMU's dirty-bitmap fields of each of the @n bitmaps @l; NULL if out of memory. */
static struct json_object *list_json(const struct bj_bitmap_info *l, int n)
{
	struct json_object *a = json_object_new_array(), *o;
	int i;

	for (i = 0; a && i < n; i++) {
		o = json_object_new_object();
		if (!o || !bj_json_add_str(o, "name", l[i].name) ||
		    !bj_json_add_u64(o, "granularity", l[i].granularity) ||
		    !bj_json_add_u64(o, "count", l[i].dirty) ||
		    !bj_json_add_bool(o, "recording", l[i].enabled) ||
		    !bj_json_add_bool(o, "busy", l[i].busy) ||
		    !bj_json_add_bool(o, "persistent", l[i].persistent) ||
		    json_object_array_add(a, o)) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

/* Bitmap @bm (@info) and its @n dirty ranges @r; NULL if out of memory. */
static struct json_object *dump_json(const char *bm, const struct bj_bitmap_info *info,
				     const struct bj_range *r, int n)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array(), *e;
	int i;

	if (!o || !a || !bj_json_add_str(o, "name", bm) ||
	    !bj_json_add_u64(o, "granularity", info->granularity))
		goto fail;
	for (i = 0; i < n; i++) {
		e = json_object_new_object();
		if (!e || !bj_json_add_u64(e, "start", r[i].start) ||
		    !bj_json_add_u64(e, "length", r[i].len) || json_object_array_add(a, e)) {
			json_object_put(e);
			goto fail;
		}
	}
	if (bj_json_add(o, "ranges", a))
		return o;
	a = NULL;
fail:
	json_object_put(a);
	json_object_put(o);
	return NULL;
}

static int do_list(const char *name, bool json)
{
	struct bj_bitmap_info *l;
	char err[BJ_ERRLEN], a[32], b[32];
	int n, i;

	if (bj_bitmap_list(name, &l, &n, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (json) {
		i = bj_print_json(list_json(l, n), BJ_JSON_QEMU);
		free(l);
		return i;
	}
	if (n)
		printf("%-24s %12s %12s %s\n", "NAME", "GRANULARITY", "DIRTY", "STATE");
	for (i = 0; i < n; i++)
		printf("%-24s %12s %12s %s%s%s\n", l[i].name,
		       bj_human_size(l[i].granularity, a, sizeof(a)),
		       bj_human_size(l[i].dirty, b, sizeof(b)),
		       l[i].enabled ? "enabled" : "disabled", l[i].busy ? ",busy" : "",
		       l[i].persistent ? ",persistent" : "");
	free(l);
	return 0;
}

static int do_dump(const char *name, const char *bm, bool json)
{
	struct bj_bitmap_info info;
	char err[BJ_ERRLEN];
	struct bj_range *r;
	int n, i;

	if (bj_bitmap_find(name, bm, &info, err) || bj_bitmap_dump(name, bm, &r, &n, err)) {
		bj_err("%s", err);
		return 1;
	}
	if (json) {
		i = bj_print_json(dump_json(bm, &info, r, n), BJ_JSON_QEMU);
		free(r);
		return i;
	}
	for (i = 0; i < n; i++)
		printf("%" PRIu64 " %" PRIu64 "\n", r[i].start, r[i].len);
	free(r);
	return 0;
}

int cmd_bitmap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "granularity", required_argument, NULL, 'g' },
		{ "json", no_argument, NULL, 'j' },
		{ "persistent", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t gran = 64 << 10;
	bool json = false, gran_set = false, persistent = false;
	const char *op, *name;
	char msg[256];
	int c, nargs, i, r;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			if (bj_parse_size(optarg, false, &gran) || gran < 4096 ||
			    gran > (64 << 20) || (gran & (gran - 1)))
				return bj_usage_error("bitmap", "--granularity %s: must be a power of two from 4K to 64M",
						      optarg);
			gran_set = true;
			break;
		case 'j':
			json = true;
			break;
		case 'p':
			persistent = true;
			break;
		default:
			return bj_option_error("bitmap", c, argv);
		}
	}
	nargs = argc - optind;
	if (nargs < 2)
		return bj_usage_error("bitmap", "expected an operation and NAME");
	op = argv[optind];
	if (strcmp(op, "add") && strcmp(op, "remove") && strcmp(op, "clear") &&
	    strcmp(op, "enable") && strcmp(op, "disable") && strcmp(op, "merge") &&
	    strcmp(op, "list") && strcmp(op, "dump"))
		return bj_usage_error("bitmap", "unknown operation '%s'", op);
	r = bj_volume_arg("bitmap", argv[optind + 1], &name);
	if (r)
		return r;
	if (!strcmp(op, "list") && nargs != 2)
		return bj_usage_error("bitmap", "expected: list NAME");
	if (!strcmp(op, "merge") && nargs < 4)
		return bj_usage_error("bitmap", "expected: merge NAME DST SRC...");
	if (strcmp(op, "list") && strcmp(op, "merge") && nargs != 3)
		return bj_usage_error("bitmap", "expected: %s NAME BM", op);
	/* every BM, DST, SRC after NAME */
	for (i = optind + 2; i < argc; i++)
		if (!bj_bitmap_name_valid(argv[i]))
			return bj_usage_error("bitmap", "invalid bitmap name '%s': %s", argv[i],
					      BJ_BITMAP_NAME_RULE);
	if (gran_set && strcmp(op, "add"))
		return bj_usage_error("bitmap", "--granularity goes only with add");
	if (persistent && strcmp(op, "add"))
		return bj_usage_error("bitmap", "--persistent goes only with add");
	if (json && strcmp(op, "list") && strcmp(op, "dump"))
		return bj_usage_error("bitmap", "--json goes only with list and dump");

	if (!strcmp(op, "list"))
		return do_list(name, json);
	if (!strcmp(op, "merge")) {
		if (need_bitmap(name, argv[optind + 2], true))
			return 1;
		for (i = optind + 3; i < argc; i++)
			if (need_bitmap(name, argv[i], true))
				return 1;
		for (i = optind + 3; i < argc; i++) {
			snprintf(msg, sizeof(msg), "bitmap merge %s %s", argv[optind + 2], argv[i]);
			if (send(name, msg))
				return 1;
		}
		return 0;
	}
	if (!strcmp(op, "dump"))
		return do_dump(name, argv[optind + 2], json);
	if (!strcmp(op, "add")) {
		if (need_bitmap(name, argv[optind + 2], false) ||
		    (persistent && need_metadata(name)))
			return 1;
		snprintf(msg, sizeof(msg), "bitmap add %s %" PRIu64 "%s", argv[optind + 2],
			 gran / 512, persistent ? " persistent" : "");
		return send(name, msg);
	}
	/* remove, clear, enable, disable */
	if (need_bitmap(name, argv[optind + 2], true))
		return 1;
	snprintf(msg, sizeof(msg), "bitmap %s %s", op, argv[optind + 2]);
	return send(name, msg);
}
