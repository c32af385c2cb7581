// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target over the qcow2 reader: the input is the top image, held
 * in a memfd; every backing or data file it names opens a fresh memfd copy
 * of the same input (so chains and loops are exercised without touching
 * the host's files). The whole map is walked, with a cap on extents.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qcow2.h"

struct input {
	const uint8_t *data;
	size_t size;
};

static int memfd_of(const struct input *in)
{
	int fd = memfd_create("qcow2-fuzz", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < in->size) {
		ssize_t r = write(fd, in->data + done, in->size - done);

		if (r <= 0) {
			close(fd);
			return -EIO;
		}
		done += (size_t)r;
	}
	return fd;
}

static int open_file(void *opaque, const char *path)
{
	(void)path;
	return memfd_of(opaque);
}

static int count_cb(const struct bj_qcow2_extent *e, void *opaque)
{
	unsigned long *n = opaque;

	if (!e->length || (e->has_offset && e->fd < 0))
		abort();
	return ++*n > 100000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct bj_qcow2_open_opts opts = { .max_depth = 4, .open_file = open_file, .opaque = &in };
	struct bj_qcow2_chain *c;
	struct bj_qcow2_image_info info;
	unsigned long n = 0;
	char err[BJ_ERRLEN];
	int fd;

	fd = memfd_of(&in);
	if (fd < 0)
		return 0;
	bj_qcow2_open_chain_fd(fd, "fuzz.qcow2", &opts, &c, err);
	if (!c)
		return 0;
	for (unsigned int i = 0; i < bj_qcow2_chain_length(c); i++)
		bj_qcow2_image_info(c, i, &info);
	bj_qcow2_map(c, count_cb, &n, err);
	bj_qcow2_close_chain(c);
	return 0;
}
