// SPDX-License-Identifier: GPL-2.0
/*
 * Copy I/O (see bj-copyio.h).
 */
#include <linux/blkdev.h>
#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "bj-copyio.h"

/* Full-size copies kept back for when memory is tight. */
#define BJ_COPYIO_RESERVE	2
/* The largest block a buffer is made of (a whole copy: one bio segment). */
#define BJ_COPYIO_MAX_ORDER	(ilog2(BJ_COPYIO_MAX_BYTES) - PAGE_SHIFT)
/* A buffer of single pages: as many blocks as a bio can hold. */
#define BJ_COPYIO_MAX_BLOCKS	(BJ_COPYIO_MAX_BYTES >> PAGE_SHIFT)

/* One bj_copyio_copy() call: pieces of up to BJ_COPYIO_MAX_BYTES each. */
struct copy_job {
	atomic_t pending;		/* pieces not done, +1 while submitting */
	atomic_t reading;		/* pieces not read yet, +1 while submitting */
	unsigned long errors;		/* COPY_READ_ERR, COPY_WRITE_ERR bits */
	bj_copyio_fn fn;
	bj_copyio_read_fn read_fn;	/* or NULL */
	void *context;
};

#define COPY_READ_ERR	0
#define COPY_WRITE_ERR	1

/* Where a request (and its buffer) comes from, and so where it goes back. */
enum req_origin {
	REQ_OWN,			/* sized for its piece; spare or freed after */
	REQ_KEPT,			/* full size, counted in io->nr_kept */
	REQ_RESERVE,			/* full size, from io->reserve */
};

/* One piece of a copy: a buffer, read then written with one bio. */
struct copy_req {
	struct bj_copyio *io;
	struct copy_job *job;
	struct bio *bio;
	struct block_device *dst;
	sector_t dst_sector;
	unsigned int bytes;		/* this piece's length */
	unsigned int size;		/* the buffer's length */
	enum req_origin origin;
	struct list_head list;		/* in a free list or a queue */
	unsigned int nr_blocks;
	u8 order[BJ_COPYIO_MAX_BLOCKS];
	struct page *block[BJ_COPYIO_MAX_BLOCKS];
};

static void free_blocks(struct copy_req *req)
{
	unsigned int i;

	for (i = 0; i < req->nr_blocks; i++)
		__free_pages(req->block[i], req->order[i]);
	req->nr_blocks = 0;
}

/*
 * Give @req blocks for @bytes, largest first. With @gfp lacking
 * __GFP_DIRECT_RECLAIM or with __GFP_NORETRY this may fail (blocks freed).
 */
static int alloc_blocks(struct copy_req *req, unsigned int bytes, gfp_t gfp)
{
	unsigned int left = bytes, order;
	struct page *page;

	while (left) {
		order = left >= PAGE_SIZE ? ilog2(left >> PAGE_SHIFT) : 0;
		order = min_t(unsigned int, order, BJ_COPYIO_MAX_ORDER);
		for (;;) {
			page = alloc_pages(gfp | (order ? __GFP_NORETRY | __GFP_COMP : 0), order);
			if (page || !order)
				break;
			order--;
		}
		if (!page) {
			free_blocks(req);
			return -ENOMEM;
		}
		req->block[req->nr_blocks] = page;
		req->order[req->nr_blocks] = order;
		req->nr_blocks++;
		left -= min_t(unsigned int, left, PAGE_SIZE << order);
	}
	return 0;
}

/*
 * Requests come from their own cache: about 2.4 KiB each, which kmalloc
 * would round up to 4 KiB, and a named cache lets failslab's cache filter
 * fail exactly these allocations (tests/vm/48-copy-nomem.sh).
 */
static struct kmem_cache *req_cache;

/* What @req holds: itself and its buffer's blocks. */
static long req_mem_bytes(struct copy_req *req)
{
	long bytes = sizeof(*req);
	unsigned int i;

	for (i = 0; i < req->nr_blocks; i++)
		bytes += PAGE_SIZE << req->order[i];
	return bytes;
}

/* A request with a buffer for @bytes; NULL if @gfp could not get one. */
static struct copy_req *new_req(struct bj_copyio *io, unsigned int bytes, gfp_t gfp,
				enum req_origin origin)
{
	struct copy_req *req = kmem_cache_alloc(req_cache, gfp);

	if (!req)
		return NULL;
	req->nr_blocks = 0;
	if (alloc_blocks(req, bytes, gfp)) {
		kmem_cache_free(req_cache, req);
		return NULL;
	}
	req->io = io;
	req->size = bytes;
	req->origin = origin;
	atomic_long_add(req_mem_bytes(req), &io->mem_bytes);
	return req;
}

static void free_req(struct copy_req *req)
{
	atomic_long_sub(req_mem_bytes(req), &req->io->mem_bytes);
	free_blocks(req);
	kmem_cache_free(req_cache, req);
}

/* The reserve's elements: requests with a full-size buffer. */
static void *reserve_alloc(gfp_t gfp, void *pool_data)
{
	return new_req(pool_data, BJ_COPYIO_MAX_BYTES, gfp, REQ_RESERVE);
}

static void reserve_free(void *element, void *pool_data)
{
	free_req(element);
}

/*
 * A request for @bytes: a free kept one, else a spare one of that size,
 * else a new one (kept if @grow and there is room), else one from the
 * reserve (waiting for it if need be).
 */
static struct copy_req *get_req(struct bj_copyio *io, unsigned int bytes, bool grow)
{
	const gfp_t light = GFP_NOIO | __GFP_NORETRY | __GFP_NOWARN | __GFP_NOMEMALLOC;
	enum req_origin origin = REQ_OWN;
	struct copy_req *req;

	spin_lock(&io->lock);
	req = list_first_entry_or_null(&io->kept_free, struct copy_req, list);
	if (!req && io->spare_bytes == bytes) {
		req = list_first_entry_or_null(&io->spare_free, struct copy_req, list);
		if (req)
			io->nr_spare--;
	}
	if (req) {
		list_del(&req->list);
	} else if (grow && io->nr_kept < io->keep) {
		io->nr_kept++;
		origin = REQ_KEPT;
	}
	spin_unlock(&io->lock);
	if (req)
		return req;

	req = new_req(io, origin == REQ_KEPT ? BJ_COPYIO_MAX_BYTES : bytes, light, origin);
	if (req)
		return req;
	if (origin == REQ_KEPT) {
		spin_lock(&io->lock);
		io->nr_kept--;
		spin_unlock(&io->lock);
	}
	return mempool_alloc(&io->reserve, GFP_NOIO);
}

/*
 * A request of one's own goes to the spare list if there is room and it has
 * the spare size (the first one to go there sets the size; the list holds
 * one size only, so a lookup is one comparison).
 */
static bool put_spare(struct bj_copyio *io, struct copy_req *req)
{
	bool kept = false;

	spin_lock(&io->lock);
	if (!io->nr_spare)
		io->spare_bytes = req->size;
	if (io->nr_spare < io->keep && io->spare_bytes == req->size) {
		list_add(&req->list, &io->spare_free);
		io->nr_spare++;
		kept = true;
	}
	spin_unlock(&io->lock);
	return kept;
}

static void put_req(struct bj_copyio *io, struct copy_req *req)
{
	switch (req->origin) {
	case REQ_KEPT:
		spin_lock(&io->lock);
		list_add(&req->list, &io->kept_free);
		spin_unlock(&io->lock);
		break;
	case REQ_RESERVE:
		mempool_free(req, &io->reserve);
		break;
	default:
		if (!put_spare(io, req))
			free_req(req);
	}
}

/* Point @bio at @req's buffer, for this copy's length. */
static void add_buffer(struct copy_req *req, struct bio *bio)
{
	unsigned int left = req->bytes, len, i;

	for (i = 0; left; i++) {
		len = min_t(unsigned int, left, PAGE_SIZE << req->order[i]);
		/* cannot fail: the bio has a vector per block and no size limit here */
		if (WARN_ON_ONCE(bio_add_page(bio, req->block[i], len, 0) != len))
			break;
		left -= len;
	}
}

/* Drop a reference on @job; the last one reports the copy. */
static void put_job(struct copy_job *job)
{
	if (!atomic_dec_and_test(&job->pending))
		return;
	job->fn(test_bit(COPY_READ_ERR, &job->errors),
		test_bit(COPY_WRITE_ERR, &job->errors) ? 1 : 0, job->context);
	kfree(job);
}

/* Hand @req to the work item, on @list (one of io's queues). */
static void queue_req(struct copy_req *req, struct list_head *list)
{
	struct bj_copyio *io = req->io;
	unsigned long flags;

	spin_lock_irqsave(&io->queue_lock, flags);
	list_add_tail(&req->list, list);
	spin_unlock_irqrestore(&io->queue_lock, flags);
	queue_work(io->wq, &io->work);
}

static void write_endio(struct bio *bio)
{
	struct copy_req *req = bio->bi_private;

	if (bio->bi_status)
		set_bit(COPY_WRITE_ERR, &req->job->errors);
	bio_put(bio);
	req->bio = NULL;
	queue_req(req, &req->io->done);
}

/*
 * One piece of @job read (or failed to): the last one tells read_fn if all
 * went well. Called before the piece is queued for writing, so the piece's
 * reference keeps @job and its context alive across read_fn.
 */
static void read_one(struct copy_job *job)
{
	/* atomic_dec_and_test() orders the error bits set before it. */
	if (job->read_fn && atomic_dec_and_test(&job->reading) &&
	    !test_bit(COPY_READ_ERR, &job->errors))
		job->read_fn(job->context);
}

static void read_endio(struct bio *bio)
{
	struct copy_req *req = bio->bi_private;
	struct copy_job *job = req->job;

	if (bio->bi_status) {
		set_bit(COPY_READ_ERR, &job->errors);
		read_one(job);
		bio_put(bio);
		req->bio = NULL;
		queue_req(req, &req->io->done);
		return;
	}
	read_one(job);
	queue_req(req, &req->io->to_write);
}

static void submit_write(struct copy_req *req)
{
	struct bio *bio = req->bio;

	bio_reset(bio, req->dst, REQ_OP_WRITE);
	bio->bi_iter.bi_sector = req->dst_sector;
	bio->bi_end_io = write_endio;
	bio->bi_private = req;
	add_buffer(req, bio);
	submit_bio(bio);
}

/*
 * The one work item: finishes the copies done, then submits the writes of
 * the copies read, under one plug. One item rather than one per request: a
 * worker's wake-up costs more than the I/O it submits, and a busy item takes
 * the completions that come in meanwhile in the same run.
 */
static void copyio_work(struct work_struct *ws)
{
	struct bj_copyio *io = container_of(ws, struct bj_copyio, work);
	LIST_HEAD(done);
	LIST_HEAD(writes);
	struct copy_req *req, *tmp;
	struct blk_plug plug;
	struct copy_job *job;

	for (;;) {
		spin_lock_irq(&io->queue_lock);
		list_splice_tail_init(&io->done, &done);
		list_splice_tail_init(&io->to_write, &writes);
		spin_unlock_irq(&io->queue_lock);
		if (list_empty(&done) && list_empty(&writes))
			return;

		list_for_each_entry_safe(req, tmp, &done, list) {
			list_del(&req->list);
			job = req->job;
			put_req(io, req);
			put_job(job);
		}
		blk_start_plug(&plug);
		list_for_each_entry_safe(req, tmp, &writes, list) {
			list_del(&req->list);
			submit_write(req);
		}
		blk_finish_plug(&plug);
		cond_resched();
	}
}

void bj_copyio_copy(struct bj_copyio *io, struct block_device *src, sector_t src_sector,
		    struct block_device *dst, sector_t dst_sector, sector_t count,
		    bool grow, bj_copyio_fn fn, bj_copyio_read_fn read_fn, void *context)
{
	const sector_t piece = BJ_COPYIO_MAX_BYTES >> SECTOR_SHIFT;
	struct copy_job *job;
	struct copy_req *req;
	struct blk_plug plug;
	struct bio *bio;
	sector_t n;

	job = kmalloc(sizeof(*job), GFP_NOIO | __GFP_NOFAIL);
	atomic_set(&job->pending, 1);
	atomic_set(&job->reading, 1);
	job->errors = 0;
	job->fn = fn;
	job->read_fn = read_fn;
	job->context = context;
	/*
	 * Regions may be larger than a buffer: copy them piece by piece. A
	 * piece owns its buffer and bio until it completes, and completions
	 * never wait for an allocation, so waiting here for the reserve or
	 * the bio pool cannot deadlock on the pieces already submitted (the
	 * plug holds them back only until the next sleep).
	 */
	blk_start_plug(&plug);
	while (count) {
		n = min(count, piece);
		req = get_req(io, n << SECTOR_SHIFT, grow);
		req->job = job;
		req->dst = dst;
		req->dst_sector = dst_sector;
		req->bytes = n << SECTOR_SHIFT;
		bio = bio_alloc_bioset(src, req->nr_blocks, REQ_OP_READ, GFP_NOIO, &io->bs);
		bio->bi_iter.bi_sector = src_sector;
		bio->bi_end_io = read_endio;
		bio->bi_private = req;
		add_buffer(req, bio);
		req->bio = bio;
		atomic_inc(&job->pending);
		atomic_inc(&job->reading);
		submit_bio(bio);
		src_sector += n;
		dst_sector += n;
		count -= n;
	}
	blk_finish_plug(&plug);
	read_one(job);
	put_job(job);
}

int bj_copyio_init(struct bj_copyio *io, const char *name, unsigned int keep)
{
	int r;

	io->keep = keep;
	io->nr_kept = 0;
	io->nr_spare = 0;
	io->spare_bytes = 0;
	atomic_long_set(&io->mem_bytes, 0);
	spin_lock_init(&io->lock);
	INIT_LIST_HEAD(&io->kept_free);
	INIT_LIST_HEAD(&io->spare_free);
	spin_lock_init(&io->queue_lock);
	INIT_LIST_HEAD(&io->to_write);
	INIT_LIST_HEAD(&io->done);
	INIT_WORK(&io->work, copyio_work);

	BUILD_BUG_ON(BJ_COPYIO_MAX_BLOCKS > BIO_MAX_VECS);
	BUILD_BUG_ON(BJ_COPYIO_MAX_ORDER >= MAX_ORDER);
	r = bioset_init(&io->bs, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS);
	if (r)
		return r;
	r = mempool_init(&io->reserve, BJ_COPYIO_RESERVE, reserve_alloc, reserve_free, io);
	if (r)
		goto bad_bs;
	io->wq = alloc_workqueue("bj-copyio-%s", WQ_MEM_RECLAIM, 0, name);
	if (!io->wq) {
		r = -ENOMEM;
		goto bad_reserve;
	}
	return 0;

bad_reserve:
	mempool_exit(&io->reserve);
bad_bs:
	bioset_exit(&io->bs);
	return r;
}

void bj_copyio_exit(struct bj_copyio *io)
{
	struct copy_req *req, *tmp;

	destroy_workqueue(io->wq);
	list_for_each_entry_safe(req, tmp, &io->kept_free, list) {
		list_del(&req->list);
		io->nr_kept--;
		free_req(req);
	}
	list_for_each_entry_safe(req, tmp, &io->spare_free, list) {
		list_del(&req->list);
		io->nr_spare--;
		free_req(req);
	}
	WARN_ON(io->nr_kept || io->nr_spare);
	mempool_exit(&io->reserve);
	WARN_ON(atomic_long_read(&io->mem_bytes));
	bioset_exit(&io->bs);
}

size_t bj_copyio_mem_bytes(struct bj_copyio *io)
{
	return atomic_long_read(&io->mem_bytes);
}

int bj_copyio_module_init(void)
{
	req_cache = kmem_cache_create("bj_copy_req", sizeof(struct copy_req), 0, 0, NULL);
	return req_cache ? 0 : -ENOMEM;
}

void bj_copyio_module_exit(void)
{
	kmem_cache_destroy(req_cache);
}
