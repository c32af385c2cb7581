/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device-mapper tables from qcow2 extents (qcow2-table.c: pure logic),
 * attach/detach of qcow2 chains (qcow2-attach.c, qcow2-loop.c; device-mapper
 * through bj-dm.c), and the qcow2 parts of jobs (qcow2-job.c).
 *
 * A qcow2 chain is attached as a stack of two dm devices:
 *
 *   /dev/mapper/NAME         blockjob passthrough over NAME-qcow2 (a volume:
 *                            jobs, bitmaps, pivots work on it)
 *   /dev/mapper/NAME-qcow2   linear and zero segments onto loop devices, one
 *                            loop device per file of the chain (autoclear)
 *
 * The lower device's dm UUID is BLOCKJOB-QCOW2-<its name>; the image it was
 * made from is recorded in BJ_QCOW2_RUN_DIR/<its name> (sync top reopens
 * the chain from there). Job destinations that are qcow2 images are
 * attached the same way (lower device only) as NAME-qcow2-1, -2, ...
 */
#ifndef BJ_QCOW2_TABLE_H
#define BJ_QCOW2_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qcow2.h"

#define BJ_QCOW2_UUID_PREFIX	"BLOCKJOB-QCOW2-"
/* Where attachments are recorded; $BLOCKJOB_RUN_DIR/qcow2 overrides. */
#define BJ_QCOW2_RUN_DIR	"/run/blockjob/qcow2"
/*
 * Most segments a table may have. libdevmapper refuses ioctl buffers over
 * 50,000,000 bytes (about 890000 targets of ~56 bytes), before the
 * kernel's DM_MAX_TARGETS (1048576); 500000 targets load, at ~80 MiB of
 * kernel memory (measured, Documentation/qcow2.rst).
 */
#define BJ_QCOW2_MAX_SEGMENTS	500000u

/* One target of the table, in 512-byte sectors. */
struct bj_qseg {
	uint64_t start, len;
	int file;			/* index in bj_qplan.files; -1: zero segment */
	uint64_t offset;		/* sectors into the file */
};

/* A file the table maps into. */
struct bj_qfile {
	int fd;				/* the reader's descriptor (not owned) */
	const char *path;		/* as the reader names it */
	unsigned int depth;		/* chain depth of the extents using it */
	uint64_t size;			/* bytes */
};

#define BJ_QPLAN_MAX_FILES	(2 * BJ_QCOW2_MAX_DEPTH)

struct bj_qplan {
	uint64_t sectors;		/* guest size */
	struct bj_qseg *segs;
	size_t nsegs, cap;
	struct bj_qfile files[BJ_QPLAN_MAX_FILES];
	unsigned int nfiles;
	/* Why writes could not land in place (counted in merged extents). */
	unsigned long unallocated;	/* not allocated in the top image */
	unsigned long zero_clusters;	/* zero clusters of the top image */
	unsigned long beyond_eof;	/* zero ranges past the end of their file */
	unsigned int snapshots;		/* internal snapshots of the top image */
	unsigned long compressed;	/* compressed ranges (refused) */
	uint64_t first_compressed;	/* guest byte offset of the first one */
	/*
	 * The top image's external data file (NULL: none). Writes would land
	 * in a file the (untrusted) image names: writable only when the
	 * caller sets @allow_data_file after bj_qplan_build().
	 */
	const char *data_file;
	bool allow_data_file;
};

/* Start an empty plan for a disk of @bytes (a multiple of 512). */
void bj_qplan_init(struct bj_qplan *p, uint64_t bytes);
void bj_qplan_free(struct bj_qplan *p);
/*
 * Add the next extent (in order, as bj_qcow2_map() gives them): merges it into
 * the last segment when contiguous. 0, or -errno with a message in @err
 * (unaligned extent, file too short, too many segments).
 */
int bj_qplan_add(struct bj_qplan *p, const struct bj_qcow2_extent *e, char *err);
/* Build the whole plan of an open chain. Refuses compressed ranges. */
int bj_qplan_build(struct bj_qcow2_chain *c, struct bj_qplan *p, char *err);
/* True when every write would land in place (see why_ro). */
bool bj_qplan_writable(const struct bj_qplan *p);
/* One line saying why @p is read-only ("" when writable); @image names it. */
void bj_qplan_why_ro(const struct bj_qplan *p, const char *image, char *buf, size_t len);

/* Ranges allocated in the top image (sync top), merged, in bytes. */
struct bj_qrange {
	uint64_t start, len;
};
int bj_qcow2_top_ranges(struct bj_qcow2_chain *c, struct bj_qrange **r, size_t *n, char *err);

/* --- attach / detach (loop devices and dm devices) --- */

/* How to attach (the image may be untrusted: Documentation/qcow2.rst). */
struct bj_qattach_opts {
	bool force_ro;			/* read-only whatever the image allows */
	bool allow_data_file;		/* may write the top image's external data file */
	const char *backing_format;	/* "raw", "qcow2" or NULL (bj_qcow2_open_opts) */
};

struct bj_qattach {
	bool writable;
	char why_ro[512];		/* set when read-only though not forced */
	uint64_t bytes;			/* device size */
	size_t nsegs;
	char lower[128];		/* dm name of the lower device */
};

/* Job destinations a volume may have attached at once (NAME-qcow2, -1, ... -999). */
#define BJ_QCOW2_MAX_TARGETS	1000

/*
 * The dm name of qcow2 device @n of volume @name into @buf: "NAME-qcow2"
 * (n = 0), "NAME-qcow2-N". -ENAMETOOLONG with one line in @err (BJ_ERRLEN)
 * when it does not fit in @len, in a dm name, or in its dm UUID
 * (BJ_QCOW2_UUID_PREFIX + the name): never truncated.
 */
int bj_qcow2_lower_name(const char *name, unsigned int n, char *buf, size_t len, char *err);

/*
 * Attach @image as the volume @name (lower device @name-qcow2 plus a
 * blockjob passthrough volume on top), as @o says (NULL: defaults).
 * Returns 0, or -errno with one line in @err (BJ_ERRLEN).
 */
int bj_qcow2_attach(const char *name, const char *image, const struct bj_qattach_opts *o,
		    struct bj_qattach *a, char *err);
/*
 * Remove volume @name (when it lives on one of its qcow2 attachments and
 * runs no job) and every attachment of @name nothing holds; @unused_only
 * keeps the volume. *@removed counts removed devices. @note gets one line
 * about what was kept ("" if nothing).
 */
int bj_qcow2_detach(const char *name, bool unused_only, unsigned int *removed, char *note,
		    size_t notelen, char *err);

/* --- jobs --- */

/* True when @target is a qcow2 job destination: ends in ".qcow2" or is a qcow2 file. */
bool bj_qcow2_is_target(const char *target);
/*
 * Make @image a writable job destination for volume @name of @bytes:
 * create it (qemu-img create -f qcow2 -o preallocation=metadata) unless
 * @reuse, then attach it (lower device only); @dev gets /dev/mapper/<lower>.
 */
int bj_qcow2_target_attach(const char *name, const char *image, uint64_t bytes, bool reuse,
			   char *dev, size_t devlen, char *err);
/* Remove a lower device made by bj_qcow2_target_attach (/dev/mapper/... or name). */
int bj_qcow2_target_detach(const char *dev, char *err);

/* Regions of a sync top job. */
struct bj_qtop {
	uint64_t granule;		/* bytes */
	uint64_t *first, *count;	/* runs of regions */
	size_t n;
	uint64_t regions;		/* total */
};
/*
 * The regions (of @granule bytes) covering what the top image allocates, for
 * a volume whose passthrough device is @src ("major:minor"); -ENOENT with a
 * message when @src is not a qcow2 attachment.
 */
int bj_qcow2_top_prepare(const char *src, uint64_t granule, struct bj_qtop *t, char *err);
/* Send set-dirty for @t to the paused job on @name, then the resume message. */
int bj_qcow2_top_start(const char *name, const struct bj_qtop *t, char *err);
/* Free what @t holds and zero it (again harmless; so is a zeroed @t). */
void bj_qcow2_top_free(struct bj_qtop *t);

#endif
