// SPDX-License-Identifier: GPL-2.0
/*
 * Loop devices for the files of a qcow2 chain (autoclear): bind one, wait
 * until they are unbound. See qcow2-loop.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "qcow2-loop.h"

static bool loop_bound(dev_t d)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/backing_file", major(d), minor(d));
	return access(path, F_OK) == 0;
}

int bj_qloop_attach(int fd, const char *path, bool rw, dev_t *dev, char *err)
{
	struct loop_config cfg;
	char proc[64], lpath[32];
	int ctl, lfd = -1, ffd, n, tries, r;
	struct stat st;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ffd = open(proc, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (ffd < 0) {
		r = -errno;
		bj_seterr(err, "cannot open %s%s: %s", path, rw ? " for writing" : "",
		       strerror(errno));
		return r;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		r = -errno;
		bj_seterr(err, "cannot open /dev/loop-control: %s (is the loop module loaded? 'modprobe loop')",
		       strerror(errno));
		close(ffd);
		return r;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = ffd;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (rw ? 0 : LO_FLAGS_READ_ONLY);
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", path);
	r = -EBUSY;
	for (tries = 0; tries < 16; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			r = -errno;
			break;
		}
		snprintf(lpath, sizeof(lpath), "/dev/loop%d", n);
		lfd = open(lpath, O_RDWR | O_CLOEXEC);
		if (lfd < 0 && errno == ENOENT) {
			/* no devtmpfs node yet: wait for it briefly */
			usleep(50 * 1000);
			lfd = open(lpath, O_RDWR | O_CLOEXEC);
		}
		if (lfd < 0) {
			r = -errno;
			break;
		}
		if (!ioctl(lfd, LOOP_CONFIGURE, &cfg)) {
			r = 0;
			break;
		}
		r = -errno;
		if (errno == EINVAL || errno == ENOTTY) {
			/* before 5.8: LOOP_SET_FD then LOOP_SET_STATUS64 */
			if (!ioctl(lfd, LOOP_SET_FD, ffd)) {
				if (!ioctl(lfd, LOOP_SET_STATUS64, &cfg.info)) {
					r = 0;
					break;
				}
				r = -errno;
				ioctl(lfd, LOOP_CLR_FD, 0);
				break;
			}
			r = -errno;
		}
		close(lfd);
		lfd = -1;
		if (r != -EBUSY)
			break;
	}
	close(ffd);
	close(ctl);
	if (r) {
		if (lfd >= 0)
			close(lfd);
		bj_seterr(err, "cannot set up a loop device for %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(lfd, &st)) {
		r = -errno;
		close(lfd);
		return r;
	}
	*dev = st.st_rdev;
	return lfd;
}

void bj_qloop_wait(const dev_t *devs, size_t n)
{
	size_t i;
	int t;

	for (t = 0; t < 200; t++) {
		for (i = 0; i < n; i++)
			if (major(devs[i]) == 7 && loop_bound(devs[i]))
				break;
		if (i == n)
			return;
		usleep(10 * 1000);
	}
}
