// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of /etc/blockjob/volumes handling (lib/bj-volumes.c) on a
 * file in a temporary directory: creation with the header (directory 0755,
 * file 0644), add, replace in place, remove, comments kept, malformed lines
 * reported with their numbers, a missing file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bj-volumes.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

static char root[64], path[128];

static char *slurp(void)
{
	static char buf[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void spit(const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(s, f) < 0 || fclose(f))
		exit(1);
}

/* The non-comment lines of the file, joined with '|'. */
static const char *body(void)
{
	static char out[8192];
	char *s = slurp(), *line;

	out[0] = 0;
	for (line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
		if (line[0] != '#') {
			strcat(out, out[0] ? "|" : "");
			strcat(out, line);
		}
	return out;
}

int main(void)
{
	struct bj_volumes_line *v;
	char err[BJ_ERRLEN], cmd[256];
	struct stat st;
	size_t n;
	int r;

	snprintf(root, sizeof(root), "/tmp/test-volumes.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	snprintf(path, sizeof(path), "%s/etc/volumes", root);
	umask(022);

	r = bj_volumes_read(path, &v, &n, err);
	CHECK(r == -ENOENT && !v && !n, "a missing file: -ENOENT (%s)", err);
	CHECK(bj_volumes_remove(path, "vol0", err) == 0 && access(path, F_OK),
	      "remove from a missing file: 0, nothing created");

	r = bj_volumes_add(path, "vol0", "virtio-bj-vdc", err);
	CHECK(!r && !stat(path, &st) && (st.st_mode & 0777) == 0644, "add creates the file 0644 (%s)",
	      r ? err : "");
	snprintf(cmd, sizeof(cmd), "%s/etc", root);
	CHECK(!stat(cmd, &st) && (st.st_mode & 0777) == 0755, "and its directory 0755");
	CHECK(strstr(slurp(), "# dm-blockjob volumes") && strstr(slurp(), "blockjob activate --all"),
	      "with a header saying what it is and who reads it");
	CHECK(!strcmp(body(), "vol0 virtio-bj-vdc"), "the line: %s", body());
	snprintf(cmd, sizeof(cmd), "%s/etc/volumes.tmp", root);
	CHECK(access(cmd, F_OK), "no temporary file left");

	CHECK(!bj_volumes_add(path, "vol1", "/dev/vg/md1", err), "add a second (a path)");
	CHECK(!bj_volumes_add(path, "vol0", "dm-uuid-LVM-x", err) &&
	      !strcmp(body(), "vol0 dm-uuid-LVM-x|vol1 /dev/vg/md1"),
	      "add again replaces the line in place: %s", body());
	CHECK(bj_volumes_add(path, "a b", "virtio-x", err) == -EINVAL &&
	      bj_volumes_add(path, "v", "x y", err) == -EINVAL &&
	      bj_volumes_add(path, "v", "relative/path", err) == -EINVAL &&
	      bj_volumes_add(path, "#v", "virtio-x", err) == -EINVAL &&
	      !strcmp(body(), "vol0 dm-uuid-LVM-x|vol1 /dev/vg/md1"),
	      "lines that would not read back are refused, the file untouched (%s)", err);

	/* an admin's edits: comments, blanks, tabs, bad lines, all kept */
	spit("# mine\n\nvol0\tdm-uuid-LVM-x   \n  # indented comment\nbroken\n"
	     "vol1 /dev/vg/md1 extra\nvol/2 virtio-a\nvol3 vdb\nvol0 wwn-dup\nvol4 serial-S1");
	r = bj_volumes_read(path, &v, &n, err);
	CHECK(!r && n == 7, "read: 7 volume lines (%zu)", n);
	if (!r && n == 7) {
		CHECK(v[0].line == 3 && !strcmp(v[0].name, "vol0") &&
		      !strcmp(v[0].mdev, "dm-uuid-LVM-x") && !v[0].problem[0],
		      "line 3: vol0, tabs and trailing blanks allowed");
		CHECK(v[1].line == 5 && strstr(v[1].problem, "one field") && !v[1].name[0],
		      "line 5: %s", v[1].problem);
		CHECK(v[2].line == 6 && strstr(v[2].problem, "more than two fields"),
		      "line 6: %s", v[2].problem);
		CHECK(v[3].line == 7 && strstr(v[3].problem, "not a volume name"),
		      "line 7: %s", v[3].problem);
		CHECK(v[4].line == 8 && strstr(v[4].problem, "neither a device identity"),
		      "line 8: %s", v[4].problem);
		CHECK(v[5].line == 9 && strstr(v[5].problem, "on line 3 already"),
		      "line 9: %s", v[5].problem);
		CHECK(v[6].line == 10 && !strcmp(v[6].name, "vol4") && !v[6].problem[0],
		      "line 10 (no final newline): vol4");
	}
	free(v);

	CHECK(!bj_volumes_add(path, "vol5", "loop-/a@0", err) &&
	      strstr(slurp(), "# mine\n\nvol0\tdm-uuid-LVM-x   \n  # indented comment\nbroken\n") &&
	      strstr(slurp(), "vol4 serial-S1\nvol5 loop-/a@0\n") && !strstr(slurp(), "# dm-blockjob"),
	      "add to an edited file keeps every other line as it was, no second header");
	CHECK(!bj_volumes_remove(path, "vol0", err) && !strstr(slurp(), "vol0") &&
	      strstr(slurp(), "# mine\n\n  # indented comment\nbroken\n"),
	      "remove drops every line of the volume, keeps the rest");
	spit("# only a comment\n");
	stat(path, &st);
	CHECK(!bj_volumes_remove(path, "vol9", err) && !strcmp(slurp(), "# only a comment\n"),
	      "remove of a missing line: 0, file as it was");
	r = bj_volumes_read(path, &v, &n, err);
	CHECK(!r && !n && !v, "a file of comments: no line");
	free(v);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd))
		return 1;
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed != 0;
}
