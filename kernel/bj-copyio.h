/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copy I/O: copies a range of sectors from one block device to another by
 * reading it into a buffer and writing the buffer out, one bio each way.
 *
 * Why not dm-kcopyd: kcopyd builds every I/O from a list of single pages
 * and cuts jobs into 512 KiB sub-jobs; for a bulk copy that per-page work
 * is most of the CPU time: in the test VM a mirror copied at about half
 * the rate of an O_DIRECT dd on the same disks. Here a copy's buffer is
 * a few high-order blocks when memory allows (a 1 MiB copy is then one bio
 * segment), allocated without retrying hard; when that fails the copy takes
 * a buffer from a small reserve of full-size ones, and waits for one if all
 * are in use, so copies always make progress (a copy holds one buffer at
 * most, so waiting cannot deadlock).
 *
 * Buffers are kept for reuse: up to @keep full-size ones (set at init: the
 * copies a caller has in flight at once) stay allocated until exit. A fresh
 * buffer costs more than its allocation: kernels built with init_on_alloc
 * (Debian's are) zero every page handed out, and that zeroing was about two
 * thirds of a bulk copy's CPU time in the test VM. Copies that may not grow
 * the kept set (a backup's copy-before-write, one chunk each) get buffers
 * of their own size, and up to @keep of those are spared for the next such
 * copy of the same size instead of being freed.
 *
 * A copy's read is built and submitted in the caller's context (which may
 * sleep: never a target's map function); one work item on the engine's
 * workqueue then submits each write once its read is done and runs the
 * completion callbacks, in process context, in batches.
 */
#ifndef DM_BLOCKJOB_COPYIO_H
#define DM_BLOCKJOB_COPYIO_H

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/mempool.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

/* Largest I/O, in bytes: longer copies go in pieces of this size. */
#define BJ_COPYIO_MAX_BYTES	SZ_1M

/*
 * Called once per copy, in process context: @read_err is non-zero if the
 * source could not be read (that piece was not written), @write_err has
 * bit 0 set if the destination did not take a write (dm-kcopyd's
 * convention).
 */
typedef void (*bj_copyio_fn)(int read_err, unsigned long write_err, void *context);

struct bj_copyio {
	struct bio_set bs;
	mempool_t reserve;		/* full-size copies for tight memory */
	struct workqueue_struct *wq;	/* runs @work */
	struct work_struct work;	/* submission and completion */
	unsigned int keep;		/* kept buffers at most */
	atomic_long_t mem_bytes;	/* held by requests: kept, spare, reserve, busy */

	spinlock_t queue_lock;		/* protects the queues; taken in bio completion */
	struct list_head to_write;	/* copies read, to write out */
	struct list_head done;		/* copies to report */

	spinlock_t lock;		/* protects the fields below */
	struct list_head kept_free;	/* kept buffers not in use */
	unsigned int nr_kept;		/* kept buffers, in use or not */
	struct list_head spare_free;	/* spared buffers, all of spare_bytes */
	unsigned int nr_spare;		/* entries of spare_free */
	unsigned int spare_bytes;	/* their size; set by the first one spared */
};

/* Module load and unload: the requests' slab cache ("bj_copy_req"). */
int bj_copyio_module_init(void);
void bj_copyio_module_exit(void);

/* @keep: full-size buffers to keep for reuse (0: none). */
int bj_copyio_init(struct bj_copyio *io, const char *name, unsigned int keep);
/* Every copy must have completed (its callback returned). */
void bj_copyio_exit(struct bj_copyio *io);
/* Bytes of memory the requests and their buffers hold now. */
size_t bj_copyio_mem_bytes(struct bj_copyio *io);

/*
 * Optional: every piece of a copy has been read without error, its buffers
 * hold the source's data and the writes are about to go out. May run in
 * interrupt context; always before the copy's bj_copyio_fn.
 */
typedef void (*bj_copyio_read_fn)(void *context);

/*
 * Copy @count sectors from @src at @src_sector to @dst at @dst_sector, then
 * call @fn(..., @context) once (and first @read_fn, if not NULL, once the
 * source is read). Copies longer than BJ_COPYIO_MAX_BYTES go in
 * pieces, in parallel; the errors reported are those of all pieces. @fn
 * runs on the engine's work item: it must not wait for copies (its own or
 * others), which only that item can complete. A copy
 * uses a kept buffer when one is free; with @grow it may also add one to the
 * kept set (callers pass it for the copies they bound to @keep in flight, so
 * one-off copies do not pin full-size buffers). May sleep (GFP_NOIO
 * allocations).
 */
void bj_copyio_copy(struct bj_copyio *io, struct block_device *src, sector_t src_sector,
		    struct block_device *dst, sector_t dst_sector, sector_t count,
		    bool grow, bj_copyio_fn fn, bj_copyio_read_fn read_fn, void *context);

#endif
