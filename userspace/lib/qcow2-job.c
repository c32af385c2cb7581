// SPDX-License-Identifier: GPL-2.0
/*
 * The qcow2 parts of jobs: qcow2 images as job destinations (created with
 * qemu-img, attached as NAME-qcow2-N) and the regions of a sync top job.
 * See qcow2-table.h and Documentation/qcow2.rst ("sync top", "qcow2
 * destinations").
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bj-dm.h"
#include "qcow2-attach.h"

extern char **environ;

/* --- qcow2 job destinations -------------------------------------------- */

bool bj_qcow2_is_target(const char *target)
{
	size_t n = strlen(target);
	unsigned char m[4];
	struct stat st;
	bool q = false;
	int fd;

	if (n > 6 && !strcmp(target + n - 6, ".qcow2"))
		return true;
	if (stat(target, &st) || !S_ISREG(st.st_mode))
		return false;
	fd = open(target, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	q = pread(fd, m, 4, 0) == 4 && !memcmp(m, "QFI\xfb", 4);
	close(fd);
	return q;
}

static int qemu_img_create(const char *image, uint64_t bytes, char *err)
{
	char size[32];
	char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-o", "preallocation=metadata",
			 (char *)image, size, NULL };
	posix_spawn_file_actions_t fa;
	int r, status;
	pid_t pid;

	snprintf(size, sizeof(size), "%" PRIu64, bytes);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, "qemu-img", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r == ENOENT) {
		bj_seterr(err, "qemu-img not found: create the image with 'qemu-img create -f qcow2 -o preallocation=metadata %s %" PRIu64 "' and pass --reuse",
		       image, bytes);
		return -ENOENT;
	}
	if (r) {
		bj_seterr(err, "cannot run qemu-img: %s", strerror(r));
		return -r;
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		bj_seterr(err, "qemu-img create %s failed", image);
		unlink(image);
		return -EIO;
	}
	return 0;
}

int bj_qcow2_target_attach(const char *name, const char *image, uint64_t bytes, bool reuse,
			   char *dev, size_t devlen, char *err)
{
	static const struct bj_qattach_opts dest;	/* writable, no data file */
	char lower[128], e2[BJ_ERRLEN];
	struct bj_qattach a;
	bool created = false;
	unsigned int i;
	int r;

	/* The first free NAME-qcow2[-N], never truncated: checked before anything is made. */
	for (i = 0;; i++) {
		if (i == BJ_QCOW2_MAX_TARGETS) {
			bj_seterr(err, "%s has %u qcow2 devices already; detach the unused ones with 'blockjob qcow2 detach %s --unused'",
			       name, i, name);
			return -EMFILE;
		}
		r = bj_qcow2_lower_name(name, i, lower, sizeof(lower), err);
		if (r)
			return r;
		if (!bj_dm_exists(lower))
			break;
	}
	if (!reuse) {
		if (!access(image, F_OK)) {
			bj_seterr(err, "%s exists; pass --reuse to write into it, or remove it",
			       image);
			return -EEXIST;
		}
		r = qemu_img_create(image, bytes, err);
		if (r)
			return r;
		created = true;
	}
	r = bj_qcow2_attach_common(name, lower, image, &dest, &a, err);
	if (r)
		goto fail;
	if (!a.writable) {
		bj_seterr(err, "%s cannot be a destination: %s; make it with 'qemu-img create -f qcow2 -o preallocation=metadata'",
		       image, a.why_ro);
		r = -EROFS;
		goto detach;
	}
	if (a.bytes < bytes) {
		bj_seterr(err, "%s (%" PRIu64 " bytes) is smaller than %s (%" PRIu64 " bytes)",
		       image, a.bytes, name, bytes);
		r = -ENOSPC;
		goto detach;
	}
	snprintf(dev, devlen, "%s/%s", bj_dm_dir(), lower);
	return 0;
detach:
	bj_qcow2_remove_lower(lower, e2);
fail:
	if (created)
		unlink(image);
	return r;
}

int bj_qcow2_target_detach(const char *dev, char *err)
{
	const char *lower = strrchr(dev, '/');
	struct bj_dm_info d;

	lower = lower ? lower + 1 : dev;
	if (bj_dm_info(lower, 0, 0, &d) || !bj_qcow2_is_ours(&d)) {
		bj_seterr(err, "%s is not an attached qcow2 image", dev);
		return -ENOENT;
	}
	return bj_qcow2_remove_lower(lower, err);
}

/* --- sync top ---------------------------------------------------------- */

void bj_qcow2_top_free(struct bj_qtop *t)
{
	free(t->first);
	free(t->count);
	memset(t, 0, sizeof(*t));
}

int bj_qcow2_top_prepare(const char *src, uint64_t granule, struct bj_qtop *t, char *err)
{
	char image[PATH_MAX], e2[BJ_ERRLEN], bfmt[8];
	struct bj_qcow2_open_opts oo = { 0 };
	struct bj_qcow2_chain *c;
	struct bj_qrange *rg = NULL;
	unsigned int ma, mi;
	struct bj_dm_info d;
	size_t n = 0, i;
	int r;

	memset(t, 0, sizeof(*t));
	t->granule = granule;
	if (sscanf(src, "%u:%u", &ma, &mi) != 2 || bj_dm_info(NULL, ma, mi, &d) || !bj_qcow2_is_ours(&d)) {
		bj_seterr(err, "--sync top needs a volume attached from a qcow2 image ('blockjob qcow2 attach'); its device %s is not one",
		       src);
		return -ENOENT;
	}
	r = bj_qcow2_record_read(d.name, image, sizeof(image), bfmt, err);
	if (r)
		return r;
	if (bfmt[0])
		oo.backing_format = bfmt;
	if (bj_qcow2_open_chain(image, &oo, &c, e2)) {
		bj_seterr(err, "%s: %s", image, e2);
		return -EINVAL;
	}
	r = bj_qcow2_top_ranges(c, &rg, &n, e2);
	bj_qcow2_close_chain(c);
	if (r) {
		bj_seterr(err, "%s: %s", image, e2);
		return r;
	}
	t->first = calloc(n ? n : 1, sizeof(*t->first));
	t->count = calloc(n ? n : 1, sizeof(*t->count));
	if (!t->first || !t->count) {
		free(rg);
		bj_qcow2_top_free(t);
		bj_seterr(err, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		uint64_t a = rg[i].start / granule;
		uint64_t b = (rg[i].start + rg[i].len + granule - 1) / granule;

		if (t->n && t->first[t->n - 1] + t->count[t->n - 1] >= a) {
			uint64_t end = t->first[t->n - 1] + t->count[t->n - 1];

			if (b > end) {
				t->count[t->n - 1] += b - end;
				t->regions += b - end;
			}
			continue;
		}
		t->first[t->n] = a;
		t->count[t->n] = b - a;
		t->regions += b - a;
		t->n++;
	}
	free(rg);
	return 0;
}

int bj_qcow2_top_start(const char *name, const struct bj_qtop *t, char *err)
{
	char msg[96];
	size_t i;
	int r;

	for (i = 0; i < t->n; i++) {
		snprintf(msg, sizeof(msg), "set-dirty %" PRIu64 " %" PRIu64, t->first[i], t->count[i]);
		r = bj_dm_message(name, msg, NULL, err);
		if (r)
			return r;
	}
	return bj_dm_message(name, "resume", NULL, err);
}
