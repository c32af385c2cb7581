/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Read-only qcow2 reader: opens a qcow2 image and its backing chain (qcow2
 * or raw backing files, any depth up to BJ_QCOW2_MAX_DEPTH) and maps the
 * guest-visible disk to extents: for each range, which file and offset
 * holds the data, or that it reads as zeroes, or that it cannot be mapped
 * linearly (compressed), and at which depth of the chain it was decided.
 *
 * The semantics of an extent follow "qemu-img map" (QEMU 7.2): bj_qcow2_map()
 * reports the same ranges with the same merging rules, so that
 * "blockjob qcow2 map --output=json" prints what qemu-img prints.
 *
 * All I/O goes through pread(2) on file descriptors, so images can live in
 * memory (memfd) for fuzzing. Malformed images are refused with a one-line
 * message in the caller's @err buffer (BJ_ERRLEN bytes, bj-err.h);
 * allocations are capped.
 */
#ifndef BJ_QCOW2_H
#define BJ_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bj-err.h"

/* Deepest backing chain accepted (number of images, the top included). */
#define BJ_QCOW2_MAX_DEPTH		64
/* Largest active L1 table accepted (as qemu). */
#define BJ_QCOW2_MAX_L1_BYTES	(32u << 20)
/* Largest refcount table accepted (as qemu). */
#define BJ_QCOW2_MAX_REFTABLE_BYTES (8u << 20)
/*
 * Most memory the tables of a whole chain may take (L1 and refcount tables
 * and the cached L2 tables of every image): one image may take 44 MiB at
 * most, 64 of them would be 2.8 GiB.
 */
#define BJ_QCOW2_MAX_CHAIN_BYTES	(256ull << 20)

struct bj_qcow2_chain;

/* One range of the guest-visible disk. */
struct bj_qcow2_extent {
	uint64_t start;		/* guest offset, bytes */
	uint64_t length;	/* bytes */
	unsigned int depth;	/* chain depth that decided the range, 0 = top */
	bool present;		/* allocated in the image at @depth */
	bool zero;		/* reads as zeroes */
	bool data;		/* data comes from the image at @depth */
	bool compressed;	/* data is compressed: no linear mapping */
	bool has_offset;	/* @offset/@file/@fd are valid */
	uint64_t offset;	/* byte offset of @start in @file */
	const char *file;	/* file holding the bytes (as opened) */
	int fd;			/* its descriptor, valid until bj_qcow2_close_chain() */
};

/*
 * How to read an extent (what a dm table would do with it):
 *  - zero:                          zero segment
 *  - data && has_offset && !zero:   linear segment onto @file at @offset
 *  - compressed:                    not representable linearly
 *  - !data && !zero cannot happen.
 * "Allocated in the top image" (sync=top) is present && depth == 0.
 */

/* Called for each extent, in order; a non-zero return stops the walk. */
typedef int (*bj_qcow2_extent_cb)(const struct bj_qcow2_extent *e, void *opaque);

struct bj_qcow2_open_opts {
	unsigned int max_depth;	/* 0: BJ_QCOW2_MAX_DEPTH */
	uint64_t max_chain_bytes;	/* 0: BJ_QCOW2_MAX_CHAIN_BYTES */
	/*
	 * "raw" or "qcow2": the format of the top image's backing file when
	 * the top image has no backing format extension (else NULL: a backing
	 * file without one is opened only when it probes as qcow2, never
	 * probed as raw; the extension always wins).
	 */
	const char *backing_format;
	/*
	 * Open a backing or external data file read-only; returns a new fd
	 * or -errno. NULL: the reader's own (regular files outside /proc,
	 * /sys and /dev only). @path is resolved as qemu does (relative to
	 * the directory of the image naming it). The descriptor must be a
	 * regular file either way.
	 */
	int (*open_file)(void *opaque, const char *path);
	void *opaque;
};

/*
 * Open @path and its whole backing chain as @opts says (NULL: defaults)
 * into *@c. 0, or -errno with one line in @err (*@c is NULL then).
 */
int bj_qcow2_open_chain(const char *path, const struct bj_qcow2_open_opts *opts,
			struct bj_qcow2_chain **c, char *err);

/*
 * Same, on an already open descriptor (the chain takes ownership of @fd,
 * also on failure); @path names it in messages and anchors relative paths.
 */
int bj_qcow2_open_chain_fd(int fd, const char *path, const struct bj_qcow2_open_opts *opts,
			   struct bj_qcow2_chain **c, char *err);

void bj_qcow2_close_chain(struct bj_qcow2_chain *c);

/* Guest-visible size of the top image in bytes. */
uint64_t bj_qcow2_chain_size(const struct bj_qcow2_chain *c);

/* Number of images in the chain (1 = no backing file). */
unsigned int bj_qcow2_chain_length(const struct bj_qcow2_chain *c);

struct bj_qcow2_image_info {
	const char *path;	/* as opened */
	const char *format;	/* "qcow2" or "raw" */
	uint64_t size;		/* guest-visible size */
	/* qcow2 only: */
	unsigned int version;	/* 2 or 3 */
	uint32_t cluster_size;
	unsigned int refcount_bits;
	bool extended_l2;
	const char *backing_name;	/* as stored in the header, or NULL */
	const char *backing_format;	/* from the header extension, or NULL */
	const char *data_file;		/* external data file path, or NULL */
	bool data_file_raw;
	unsigned int nb_snapshots;
};

/* Describe the image at @depth (0 = top); -ERANGE if there is no such depth. */
int bj_qcow2_image_info(const struct bj_qcow2_chain *c, unsigned int depth,
		     struct bj_qcow2_image_info *info);

/*
 * Status of the range starting at @offset (at most @bytes long): fills @e
 * with the longest prefix that has one status (not merged with what
 * follows). Returns 0 or -errno with a message in @err.
 */
int bj_qcow2_block_status(struct bj_qcow2_chain *c, uint64_t offset, uint64_t bytes,
			  struct bj_qcow2_extent *e, char *err);

/*
 * Walk the whole disk and call @cb for each extent, merged as qemu-img map
 * merges them (same depth, present, zero, data, file and contiguous
 * offsets). Returns 0, -errno with a message in @err, or @cb's non-zero
 * return value.
 */
int bj_qcow2_map(struct bj_qcow2_chain *c, bj_qcow2_extent_cb cb, void *opaque, char *err);

#endif
