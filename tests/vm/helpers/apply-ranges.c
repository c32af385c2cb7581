// SPDX-License-Identifier: GPL-2.0
/*
 * apply-ranges: copy byte ranges from one device to the same offsets of
 * another, with O_DIRECT, then fsync. The ranges come on stdin as
 * "<start> <length>" lines, as `blockjob bitmap dump` prints them; both
 * must be multiples of 512. Used to apply an incremental backup onto a
 * restored full one in one process (a dd per range costs the VM tests
 * minutes under TCG).
 *
 *   apply-ranges FROM TO < ranges
 *
 * Exits 0 when every range was copied, 1 with a message otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_BYTES (1 << 20)

static int copy_range(int in, int out, char *buf, uint64_t start, uint64_t len)
{
	while (len) {
		size_t n = len < BUF_BYTES ? len : BUF_BYTES;
		ssize_t r = pread(in, buf, n, start);

		if (r != (ssize_t)n) {
			fprintf(stderr, "apply-ranges: read of %zu bytes at %" PRIu64 ": %s\n",
				n, start, r < 0 ? strerror(errno) : "short read");
			return -1;
		}
		r = pwrite(out, buf, n, start);
		if (r != (ssize_t)n) {
			fprintf(stderr, "apply-ranges: write of %zu bytes at %" PRIu64 ": %s\n",
				n, start, r < 0 ? strerror(errno) : "short write");
			return -1;
		}
		start += n;
		len -= n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t start, len, nr = 0;
	int in, out, rc = 0;
	void *buf;

	if (argc != 3) {
		fprintf(stderr, "usage: apply-ranges FROM TO < ranges\n");
		return 1;
	}
	in = open(argv[1], O_RDONLY | O_DIRECT);
	out = open(argv[2], O_WRONLY | O_DIRECT);
	if (in < 0 || out < 0) {
		fprintf(stderr, "apply-ranges: cannot open %s: %s\n",
			in < 0 ? argv[1] : argv[2], strerror(errno));
		return 1;
	}
	if (posix_memalign(&buf, 4096, BUF_BYTES)) {
		fprintf(stderr, "apply-ranges: out of memory\n");
		return 1;
	}
	while (scanf("%" SCNu64 " %" SCNu64, &start, &len) == 2) {
		if (start % 512 || len % 512) {
			fprintf(stderr, "apply-ranges: range %" PRIu64 " %" PRIu64
				" is not in whole sectors\n", start, len);
			return 1;
		}
		if (copy_range(in, out, buf, start, len))
			return 1;
		nr++;
	}
	if (!feof(stdin)) {
		fprintf(stderr, "apply-ranges: line %" PRIu64 " of the ranges is not \"<start> <length>\"\n",
			nr + 1);
		rc = 1;
	}
	if (fsync(out)) {
		fprintf(stderr, "apply-ranges: fsync %s: %s\n", argv[2], strerror(errno));
		rc = 1;
	}
	free(buf);
	close(in);
	close(out);
	return rc;
}
