/* wal_writer.c — the writer thread: one pwrite and one fdatasync per batch
 * (group commit), segment creation, and the durable point. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wal_io.h"
#include "wal_private.h"

/*
 * Design notes
 * ============
 * The writer takes the oldest queued buffer, writes it and waits for
 * fdatasync before it takes the next one (invariant 2 of wal.h): this is
 * what lets recovery tell a torn last batch from a damaged older one.
 *
 * With O_DIRECT every write must start and end on a WAL_BLOCK boundary.  A
 * batch rarely does, so the writer keeps a copy of the last partial block it
 * wrote (tail) and writes it again, identical, in front of the next batch;
 * the bytes after the batch up to the block end are zeros.  Rewriting a
 * block with the same acknowledged bytes is safe as long as the device
 * writes each sector atomically (the usual assumption; docs/storage.md).
 */

uint64_t wal__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void wal__seg_name(char *name, uint64_t seg_no)
{
	snprintf(name, 32, "wal-%016" PRIx64 ".seg", seg_no);
}

void wal__seg_fd_close(struct wal *w)
{
	if (w->seg_fd >= 0) {
		close(w->seg_fd);
		w->seg_fd = -1;
	}
}

/* Make @fd (segment @seg_no) the writer's segment.  With O_DIRECT keep a
 * copy of its header block (@hdr, or read back when NULL): each tail slot
 * rewrites the whole block.  Takes @fd.  0 or an errno. */
static int seg_fd_set(struct wal *w, int fd, uint64_t seg_no,
		      const uint8_t *hdr)
{
	wal__seg_fd_close(w);
	w->seg_fd = fd;
	w->seg_fd_no = seg_no;
	if (!w->direct) {
		return 0;
	}
	if (hdr != NULL) {
		memcpy(w->hdr_blk, hdr, WAL_BLOCK);
		return 0;
	}
	long long n = wal__pread_full(fd, w->hdr_blk, WAL_BLOCK, 0);
	if (n != WAL_BLOCK) {
		wal__seg_fd_close(w);
		return n < 0 ? (int)-n : EIO;
	}
	return 0;
}

int wal__seg_open_fd(struct wal *w, uint64_t seg_no)
{
	char name[32];
	wal__seg_fd_close(w);
	wal__seg_name(name, seg_no);
	int fd = openat(w->dir_fd, name,
			O_RDWR | O_CLOEXEC | (w->direct ? O_DIRECT : 0));
	if (fd < 0) {
		return errno;
	}
	return seg_fd_set(w, fd, seg_no, NULL);
}

int wal__tail_load(struct wal *w, int fd, uint64_t end)
{
	uint64_t start = end - end % WAL_BLOCK;
	memset(w->tail, 0, WAL_BLOCK);
	w->tail_off = start;
	if (end == start) {
		return 0;
	}
	long long n = wal__pread_full(fd, w->tail, WAL_BLOCK, start);
	if (n < 0) {
		return (int)-n;
	}
	/* Keep only the bytes before @end: the rest must be zero on disk. */
	memset(w->tail + (end - start), 0, WAL_BLOCK - (end - start));
	return 0;
}

/*
 * Segment creation.  A segment's name must exist only once its header is
 * durable (recovery treats a bad header as damage).  The file is prepared
 * under a tmp name: the zero-filled spare when one of the right size is
 * ready (wal_prep.c), else wal-<n>.tmp preallocated on the spot.  The
 * header is written into it, then the first batch right behind it, one
 * fdatasync covers both, and seg_publish() renames the file to wal-<n>.seg
 * and fsyncs the directory; only then is the first batch durable.  That is
 * one fsync less per roll than syncing the header on its own first, and a
 * crash before the rename leaves a tmp file that recovery removes (it held
 * nothing acknowledged).
 */
static int seg_create(struct wal *w, const struct wal_batch *b, char *msg)
{
	char name[32], tmp[32];
	struct wal_seg_hdr h = {
	    .cluster_id = w->o.cluster_id,
	    .node_id = w->o.node_id,
	    .seg_no = b->seg_no,
	    .first_index = b->new_first,
	    .alloc_bytes = b->new_alloc,
	    .base_batch = w->prev_batch,
	};
	const char *step = "create";
	int flags = O_RDWR | O_CLOEXEC | (w->direct ? O_DIRECT : 0);
	int fd, e;

	pthread_mutex_lock(&w->mu);
	bool spare = wal__spare_take_locked(w, b->new_alloc);
	pthread_mutex_unlock(&w->mu);
	wal__seg_name(name, b->seg_no);
	if (spare) {
		snprintf(tmp, sizeof(tmp), "%s", WAL_SPARE_NAME);
		if ((fd = openat(w->dir_fd, tmp, flags)) >= 0) {
			w->wstats.segs_prepared++;
		} else {
			/* Not the log's data: make the segment on the spot. */
			fr_log(FR_LOG_WARN, "wal",
			       "%s: open: %s; making %s on "
			       "the spot",
			       tmp, strerror(errno), name);
			pthread_mutex_lock(&w->mu);
			wal__spare_release_locked(w);
			pthread_mutex_unlock(&w->mu);
			spare = false;
		}
	}
	if (!spare) {
		snprintf(tmp, sizeof(tmp), "wal-%016" PRIx64 ".tmp", b->seg_no);
		fd = openat(w->dir_fd, tmp, flags | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			e = errno;
			goto err;
		}
		step = "preallocate";
		if (fallocate(fd, 0, 0, (off_t)b->new_alloc) != 0) {
			e = errno;
			if (e != EOPNOTSUPP ||
			    ftruncate(fd, (off_t)b->new_alloc) != 0) {
				goto err_close;
			}
		}
		w->wstats.segs_unprepared++;
	}
	wal__seg_hdr_encode(&h, w->tail); /* the tail block is free here */
	step = "write header";
	if ((e = wal__pwrite_all(fd, w->tail, WAL_SEG_HDR_BYTES, 0)) != 0) {
		goto err_close;
	}
	w->wstats.write_bytes += WAL_SEG_HDR_BYTES;
	(void)seg_fd_set(w, fd, b->seg_no, w->tail); /* cannot fail */
	memset(w->tail, 0, WAL_BLOCK);
	w->tail_off = 0;
	memcpy(w->pub_tmp, tmp, sizeof(tmp));
	return 0;

err_close:
	close(fd);
	unlinkat(w->dir_fd, tmp, 0);
err:
	if (spare) {
		pthread_mutex_lock(&w->mu);
		wal__spare_release_locked(w);
		pthread_mutex_unlock(&w->mu);
	}
	snprintf(msg, FR_ERRMSG_SIZE, "%s/%s: %s failed: %s", w->dir, name,
		 step, strerror(e));
	return wal__errno_code(e);
}

/* After the fdatasync that made the header (and the first batch) of the
 * new segment durable: give it its name, fsync the directory. */
static int seg_publish(struct wal *w, char *msg)
{
	char name[32];
	const char *step = "rename";
	bool spare = strcmp(w->pub_tmp, WAL_SPARE_NAME) == 0;
	int e = 0;

	wal__seg_name(name, w->seg_fd_no);
	if (renameat(w->dir_fd, w->pub_tmp, w->dir_fd, name) != 0) {
		e = errno;
		unlinkat(w->dir_fd, w->pub_tmp, 0);
	}
	if (spare) {
		pthread_mutex_lock(&w->mu);
		wal__spare_release_locked(w);
		pthread_mutex_unlock(&w->mu);
	}
	w->pub_tmp[0] = '\0';
	if (e == 0) {
		step = "fsync of the directory";
		if (fsync(w->dir_fd) != 0) {
			e = errno;
		} else {
			w->wstats.fsyncs++;
			return 0;
		}
	}
	snprintf(msg, FR_ERRMSG_SIZE, "%s/%s: %s failed: %s", w->dir, name,
		 step, strerror(e));
	return wal__errno_code(e);
}

/* Give every record of @b its batch number; flag the last one.  Records
 * were encoded with the numbers this batch gets unless a buffer before it
 * was skipped (empty): then all are restamped. */
static void batch_stamp(struct wal *w, struct wal_batch *b)
{
	uint8_t *p = b->data + b->head;
	uint64_t batch = w->next_batch++;
	if (b->batch == batch && b->prev_batch == w->prev_batch) {
		wal__rec_hdr_stamp(p + b->last_rec, batch, w->prev_batch, true);
		w->prev_batch = batch;
		return;
	}
	for (uint32_t i = 0; i < b->n_records; i++) {
		uint32_t len = wal__rec_hdr_len(p);
		wal__rec_hdr_stamp(p, batch, w->prev_batch,
				   i + 1 == b->n_records);
		p += wal_rec_size(len);
	}
	assert(p == b->data + b->head + b->len);
	w->prev_batch = batch;
}

/* The pwrite itself, timed into io_ns (the copies around it are not). */
static int timed_pwrite(struct wal *w, const void *buf, size_t len,
			uint64_t off)
{
	uint64_t t0 = wal__now_ns();
	int e = wal__pwrite_all(w->seg_fd, buf, len, off);
	w->wstats.io_ns += wal__now_ns() - t0;
	return e;
}

/*
 * The tail slot (docs/storage.md "Tail slot"): every batch holding an
 * entry also rewrites the sector at WAL_SLOT_OFF of its segment's header
 * block with its last (index, term, batch); the batch's fdatasync makes
 * both durable (no extra sync).  Never submitted before the batch's
 * write, so a killed process (no power cut) never leaves a slot claiming
 * more than the log holds.  Buffered: written after the batch's pwrite
 * returned (both go to the page cache; the fdatasync sends them
 * together).  O_DIRECT: the whole header block (its other bytes
 * unchanged: the atomic-sector assumption of the tail block above),
 * submitted with the batch, behind it (wal_aio.c).
 */
static int batch_pwrite_buffered(struct wal *w, const struct wal_batch *b,
				 const struct wal_slot *s)
{
	w->wstats.write_bytes += b->len;
	int e = timed_pwrite(w, b->data + b->head, b->len, b->file_off);
	if (e == 0 && s->index != 0) {
		uint8_t sec[WAL_SLOT_BYTES];
		wal__slot_encode(s, sec);
		e = timed_pwrite(w, sec, sizeof(sec), WAL_SLOT_OFF);
		w->wstats.write_bytes += WAL_SLOT_BYTES;
	}
	return e;
}

static int batch_pwrite(struct wal *w, struct wal_batch *b)
{
	struct wal_slot s = {
	    .index = b->last_index, /* 0: markers only, no new claim */
	    .term = b->last_term,
	    .batch = w->prev_batch, /* batch_stamp made it this batch's */
	};
	if (!w->direct) {
		return batch_pwrite_buffered(w, b, &s);
	}
	uint64_t start = b->file_off - b->head;
	size_t used = b->head + b->len;
	size_t total = (used + WAL_BLOCK - 1) & ~(size_t)(WAL_BLOCK - 1);
	if (b->head > 0) {
		assert(w->tail_off == start);
		memcpy(b->data, w->tail, b->head);
	}
	memset(b->data + used, 0, total - used);
	int e;
	if (s.index != 0) {
		wal__slot_encode(&s, w->hdr_blk + WAL_SLOT_OFF);
		uint64_t t0 = wal__now_ns();
		e = wal__write_with_slot(w, w->seg_fd, b->data, total, start);
		w->wstats.io_ns += wal__now_ns() - t0;
		w->wstats.write_bytes += WAL_BLOCK;
	} else {
		e = timed_pwrite(w, b->data, total, start);
	}
	if (e != 0) {
		return e;
	}
	w->wstats.write_bytes += total;
	size_t down = used & ~(size_t)(WAL_BLOCK - 1);
	if (down == used) {
		memset(w->tail, 0, WAL_BLOCK);
	} else {
		memcpy(w->tail, b->data + down, WAL_BLOCK);
	}
	w->tail_off = start + down;
	return 0;
}

/* Write and sync one batch.  Runs without the lock. */
static int batch_write(struct wal *w, struct wal_batch *b, char *msg)
{
	char name[32];
	int e;

	if (b->new_seg) {
		int rv = seg_create(w, b, msg);
		if (rv != 0) {
			return rv;
		}
	} else if (w->seg_fd < 0 || w->seg_fd_no != b->seg_no) {
		if ((e = wal__seg_open_fd(w, b->seg_no)) != 0) {
			goto err;
		}
	}
	bool publish = w->pub_tmp[0] != '\0';
	if (b->n_records == 0 && !publish) {
		return 0; /* a placement failed after the buffer was queued */
	}
	if (b->n_records > 0) {
		batch_stamp(w, b);
		if ((e = batch_pwrite(w, b)) != 0) {
			goto err;
		}
	}
	/* A new segment's header is synced even without o.fsync (as any
	 * file the wal creates): its name must not outlive its header. */
	if (w->o.fsync || publish) {
		uint64_t t0 = wal__now_ns();
		if (fdatasync(w->seg_fd) != 0) {
			e = errno;
			goto err;
		}
		w->wstats.io_ns += wal__now_ns() - t0;
		w->wstats.fsyncs++;
	}
	if (publish) {
		int rv = seg_publish(w, msg);
		if (rv != 0) {
			return rv;
		}
	}
	if (b->n_records == 0) {
		return 0;
	}
	w->wstats.batches++;
	w->wstats.entries += b->n_entries;
	w->wstats.bytes += b->len;
	return 0;
err:
	wal__seg_name(name, b->seg_no);
	snprintf(msg, FR_ERRMSG_SIZE,
		 "%s/%s: writing %zu bytes at %" PRIu64 ": %s", w->dir, name,
		 b->len, b->file_off, strerror(e));
	return wal__errno_code(e);
}

static void notify(struct wal *w)
{
	uint64_t one = 1;
	ssize_t n = write(w->event_fd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is already non-zero */
}

/* Drop every queued buffer of a failed wal and wake everybody. */
static void queue_discard_locked(struct wal *w)
{
	while (w->q_count > 0) {
		struct wal_batch *b = &w->bufs[w->q_head];
		b->state = WAL_BUF_FREE;
		if (b->waiters != NULL) {
			wal__waiters_release_locked(b, w->err);
			wal__waiters_wake(b);
		}
		w->q_head = (w->q_head + 1) % WAL_NBUF;
		w->q_count--;
	}
}

/* Batch wait: give a filling batch up to batch_wait_us to fill up. */
static void batch_wait_locked(struct wal *w, struct wal_batch *b)
{
	uint64_t deadline = b->first_ns + (uint64_t)w->o.batch_wait_us * 1000u;
	while (b->state == WAL_BUF_FILLING && !w->stop) {
		uint64_t now = wal__now_ns();
		if (now >= deadline) {
			break;
		}
		struct timespec ts = {
		    .tv_sec = (time_t)(deadline / 1000000000u),
		    .tv_nsec = (long)(deadline % 1000000000u),
		};
		pthread_cond_timedwait(&w->cv_work, &w->mu, &ts);
	}
}

/*
 * Waking: every waiter of a batch sleeps on the batch's wake_seq with
 * FUTEX_WAIT, so releasing a batch of hundreds of appenders is one
 * FUTEX_WAKE system call instead of one semaphore post (system call and
 * wake-up path) per appender issued one after another by the thread that
 * finished the batch.
 */
static_assert(sizeof(atomic_uint) == sizeof(uint32_t), "futex word size");

void wal__waiters_release_locked(struct wal_batch *b, int rv)
{
	struct wal_waiter *x = b->waiters;
	b->waiters = NULL;
	while (x != NULL) {
		struct wal_waiter *next = x->next; /* x may die once done */
		x->rv = rv;
		atomic_store(&x->done, true);
		x = next;
	}
}

void wal__waiters_wake(struct wal_batch *b)
{
	atomic_fetch_add(&b->wake_seq, 1);
	syscall(SYS_futex, &b->wake_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
		NULL, 0);
}

void wal__waiter_sleep(struct wal_batch *b, struct wal_waiter *me)
{
	for (;;) {
		/* Read the word before checking done: a release after this
		 * point changes the word, so FUTEX_WAIT returns at once. */
		unsigned seq = atomic_load(&b->wake_seq);
		if (atomic_load(&me->done)) {
			return;
		}
		syscall(SYS_futex, &b->wake_seq, FUTEX_WAIT_PRIVATE, seq, NULL,
			NULL, 0);
	}
}

/* Account for a written batch and release its waiters; returns whether
 * there are sleepers to wake once mu is released (so the lock is not held
 * across the wake-ups). */
static bool batch_done_locked(struct wal *w, struct wal_batch *b, int rv,
			      const char *msg)
{
	w->busy = false;
	if (rv != 0) {
		wal__fail_locked(w, rv, "%s", msg);
	} else {
		if (b->last_index != 0) {
			w->durable_index = b->last_index;
			w->durable_term = b->last_term;
			wal__durable_publish_locked(w);
		}
		if (b->ticket > w->durable_ticket) {
			w->durable_ticket = b->ticket;
		}
		if (b->n_records > 0) {
			/* Moving mean over the last ~8 batches. */
			w->batch_avg =
			    w->batch_avg - w->batch_avg / 8 + b->len / 8;
		}
	}
	w->stats = w->wstats;
	bool wake = b->waiters != NULL;
	wal__waiters_release_locked(b, rv != 0 ? w->err : 0);
	b->state = WAL_BUF_FREE;
	w->q_head = (w->q_head + 1) % WAL_NBUF;
	w->q_count--;
	if (w->err != 0) {
		queue_discard_locked(w);
	}
	if (w->q_count > 0 && !w->flushing) {
		pthread_cond_signal(&w->cv_work);
	}
	pthread_cond_signal(&w->cv_space);
	pthread_cond_broadcast(&w->cv_done);
	return wake;
}

void wal__write_head_locked(struct wal *w)
{
	char msg[FR_ERRMSG_SIZE];
	struct wal_batch *b = &w->bufs[w->q_head];
	assert(!w->busy && w->q_count > 0);
	b->state = WAL_BUF_WRITING;
	w->busy = true;
	pthread_mutex_unlock(&w->mu);
	msg[0] = '\0';
	int rv = batch_write(w, b, msg);
	pthread_mutex_lock(&w->mu);
	bool wake = batch_done_locked(w, b, rv, msg);
	bool event = !w->flushing; /* wal_flush()'s caller checks itself */
	if (!wake && w->q_count > 0) {
		/* More to write at once (a busy log): keep mu, the loop is
		 * awake anyway; dropping it here let submits in between. */
		if (event) {
			notify(w);
		}
		return;
	}
	/* Going idle: the event fd wakes the loop, whose first act is
	 * wal_durable(); signalled while mu was held it found the lock
	 * taken. */
	pthread_mutex_unlock(&w->mu);
	if (event) {
		notify(w);
	}
	if (wake) {
		wal__waiters_wake(b);
	}
	pthread_mutex_lock(&w->mu);
}

void *wal__writer_main(void *arg)
{
	struct wal *w = arg;

	if (w->o.thread_start != NULL) {
		w->o.thread_start(w->o.thread_ctx, "wal-writer");
	}
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->q_count == 0 || w->busy) {
			if (w->stop && w->q_count == 0 && !w->busy) {
				goto out;
			}
			w->idle_since = wal__now_ns();
			pthread_cond_wait(&w->cv_work, &w->mu);
			w->idle_ns += wal__now_ns() - w->idle_since;
			w->idle_since = 0;
		}
		struct wal_batch *b = &w->bufs[w->q_head];
		if (b->state == WAL_BUF_FILLING && w->o.batch_wait_us > 0) {
			batch_wait_locked(w, b);
		}
		if (w->err != 0) {
			queue_discard_locked(w);
			pthread_cond_broadcast(&w->cv_space);
			pthread_cond_broadcast(&w->cv_done);
			continue;
		}
		if (!w->busy && w->q_count > 0) {
			wal__write_head_locked(w);
		}
	}
out:
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

void wal__fail_locked(struct wal *w, int rv, const char *fmt, ...)
{
	if (w->err != 0) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->errmsg, sizeof(w->errmsg), fmt, ap);
	va_end(ap);
	w->err = rv;
	wal__durable_publish_locked(w);
	fr_log(FR_LOG_ERROR, "wal", "wal failed, refusing further writes: %s",
	       w->errmsg);
	pthread_cond_broadcast(&w->cv_space);
	pthread_cond_broadcast(&w->cv_done);
	pthread_cond_broadcast(&w->cv_submit);
	pthread_cond_signal(&w->cv_work); /* the writer drops the queue */
	notify(w);
}
