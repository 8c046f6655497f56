/* wal_prep.c — spare segments: the next segment file is created and (for
 * small batches) zero-filled ahead of use by a background thread owned by
 * the wal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "wal_io.h"
#include "wal_private.h"

/*
 * Design notes
 * ============
 * fallocate() reserves blocks as *unwritten* extents.  Appending into them
 * makes every fdatasync also commit an extent conversion (unwritten ->
 * written) through the file system's journal: on the project's ext4 VM
 * disk a 4 KiB append + fdatasync costs ~230 us instead of ~160 us.  A
 * segment whose blocks were written (with zeros) before it is used makes
 * the log's fdatasync flush data only.
 *
 * So one spare segment is kept ready: WAL_SPARE_NAME, preallocated,
 * overwritten with zeros in WAL_ZERO_CHUNK writes, fdatasynced.  It has no
 * header: the first index and base batch of a segment are known only when
 * the writer rolls into it.  The writer then takes the spare, writes the
 * header and the first batch into it, fdatasyncs once and renames it to
 * wal-<n>.seg, then fsyncs the directory (wal_writer.c): the segment's name
 * exists only once its header is durable, as with the on-the-spot path.
 * A truncation copies the kept prefix into the spare likewise
 * (wal_truncate.c).
 *
 * The spare is not part of the log: its name is not a segment name, and
 * recovery removes it (with a log line) like any other leftover tmp file,
 * complete or not; a crash while it is being zero-filled, or after it was
 * taken but before the rename, therefore loses nothing acknowledged (the
 * first batch of a segment is acknowledged only after the rename and the
 * directory fsync).
 *
 * Pacing: zero-filling competes with the appends for the disk (measured:
 * zero-filling without pause makes a concurrent 4 KiB append + fdatasync
 * take milliseconds, since every flush then waits for megabytes of zeros),
 * so after each chunk the preparer rests as long as the chunk took: at most
 * half of the disk's time goes to zeros.  If the log fills segments faster
 * than that, the writer finds no spare ready and makes the segment on the
 * spot with fallocate, as before (counted in segs_unprepared), and the
 * preparer finishes the spare for a later roll.
 *
 * Big batches: zeros cost bytes, conversions cost fsyncs.  When the log's
 * batches are large (1 KiB entries x 256 appenders: ~130 KiB per fsync) the
 * disk's bandwidth bounds it, and zero-filling doubles the bytes it must
 * write; conversions are then a small part of each fsync.  So a spare is
 * zero-filled only while the writer's moving mean of record bytes per batch
 * is under o.zero_fill_batch_max (64 KiB by default, where the measured
 * cross-over lies on the project's disk); otherwise it is only fallocated
 * (still off the write path) and counted in spares_unzeroed.  Either kind
 * reads as zeros past the log's end, which is all recovery relies on.
 *
 * A failure to prepare (ENOSPC, EIO...) is logged and counted; it does not
 * fail the wal: the log itself fails only if its own writes fail.  The next
 * roll asks for a spare again.
 */

static void rest(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
			      .tv_nsec = (long)(ns % 1000000000u)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* Create WAL_SPARE_NAME of @bytes, preallocated, its blocks written with
 * zeros if @zero, and synced.  Returns 0, ECANCELED (stopping) or an errno;
 * removes the file on failure.  Without the lock. */
static int spare_make(struct wal *w, uint64_t bytes, bool zero,
		      uint64_t *zeroed)
{
	int fd = openat(w->dir_fd, WAL_SPARE_NAME,
			O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC |
			    (w->direct ? O_DIRECT : 0),
			0644);
	if (fd < 0) {
		return errno;
	}
	int e = 0;
	/* Reserve every block first: a full disk fails here, at once. */
	if (fallocate(fd, 0, 0, (off_t)bytes) != 0 && errno != EOPNOTSUPP) {
		e = errno;
		goto out;
	}
	for (uint64_t off = 0; zero && off < bytes;) {
		if (atomic_load(&w->prep_stop)) {
			e = ECANCELED;
			goto out;
		}
		size_t n = WAL_ZERO_CHUNK;
		if (bytes - off < n) {
			n = (size_t)(bytes - off); /* a multiple of WAL_BLOCK */
		}
		uint64_t t0 = wal__now_ns();
		if ((e = wal__pwrite_all(fd, w->zeros, n, off)) != 0) {
			goto out;
		}
		off += n;
		*zeroed += n;
		rest(wal__now_ns() - t0);
	}
	if (fdatasync(fd) != 0) {
		e = errno;
	}
out:
	close(fd);
	if (e != 0) {
		unlinkat(w->dir_fd, WAL_SPARE_NAME, 0);
	}
	return e;
}

static bool prep_idle_locked(const struct wal *w)
{
	return !atomic_load(&w->prep_stop) &&
	       (!w->prep_want || w->spare != WAL_SPARE_NONE || w->err != 0);
}

static void *prep_main(void *arg)
{
	struct wal *w = arg;
	if (w->o.thread_start != NULL) {
		w->o.thread_start(w->o.thread_ctx, "wal-prep");
	}
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (prep_idle_locked(w)) {
			pthread_cond_wait(&w->cv_prep, &w->mu);
		}
		if (atomic_load(&w->prep_stop)) {
			break;
		}
		uint64_t bytes = w->o.segment_bytes, zeroed = 0;
		bool zero = wal__zero_fill_wanted_locked(w);
		w->prep_want = false;
		w->spare = WAL_SPARE_PREPARING;
		pthread_mutex_unlock(&w->mu);
		int e = spare_make(w, bytes, zero, &zeroed);
		pthread_mutex_lock(&w->mu);
		w->pstats.zero_bytes += zeroed;
		if (e == 0) {
			w->spare = WAL_SPARE_READY;
			w->spare_bytes = bytes;
			w->pstats.spares++;
			w->pstats.spares_unzeroed += !zero;
			continue;
		}
		w->spare = WAL_SPARE_NONE;
		if (e != ECANCELED) {
			w->pstats.spare_failures++;
			fr_log(FR_LOG_WARN, "wal",
			       "%s: preparing a spare segment failed: %s; "
			       "segments are made on the spot (fallocate) "
			       "until a later attempt succeeds",
			       WAL_SPARE_NAME, strerror(e));
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int wal__prep_start(struct wal *w)
{
	if (!w->o.zero_fill || !w->o.fsync) {
		return 0; /* without fsync there is nothing to save */
	}
	w->zeros = wal__aligned_alloc(WAL_ZERO_CHUNK, &w->zeros_raw);
	if (w->zeros == NULL) {
		return FR_NOMEM;
	}
	memset(w->zeros, 0, WAL_ZERO_CHUNK);
	pthread_cond_init(&w->cv_prep, NULL);
	atomic_init(&w->prep_stop, false);
	w->prep_want = true; /* the first segment */
	if (pthread_create(&w->prep_thread, NULL, prep_main, w) != 0) {
		pthread_cond_destroy(&w->cv_prep);
		return FR_NOMEM;
	}
	w->prep_started = true;
	return 0;
}

void wal__prep_stop(struct wal *w)
{
	if (w->prep_started) {
		pthread_mutex_lock(&w->mu);
		atomic_store(&w->prep_stop, true);
		pthread_cond_signal(&w->cv_prep);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->prep_thread, NULL);
		pthread_cond_destroy(&w->cv_prep);
		w->prep_started = false;
		/* A ready spare is not kept across runs: recovery could not
		 * tell a complete one from a half-zeroed one. */
		if (w->spare != WAL_SPARE_NONE) {
			unlinkat(w->dir_fd, WAL_SPARE_NAME, 0);
			w->spare = WAL_SPARE_NONE;
		}
	}
	fr_free(w->zeros_raw);
	w->zeros_raw = NULL;
	w->zeros = NULL;
}

bool wal__zero_fill_wanted_locked(const struct wal *w)
{
	return w->o.zero_fill_batch_max == 0 ||
	       w->batch_avg < w->o.zero_fill_batch_max;
}

bool wal__spare_take_locked(struct wal *w, uint64_t bytes)
{
	if (!w->prep_started) {
		return false;
	}
	w->prep_want = true;
	if (w->spare != WAL_SPARE_READY || w->spare_bytes != bytes) {
		pthread_cond_signal(&w->cv_prep);
		return false;
	}
	w->spare = WAL_SPARE_TAKEN;
	return true;
}

void wal__spare_release_locked(struct wal *w)
{
	w->spare = WAL_SPARE_NONE;
	pthread_cond_signal(&w->cv_prep);
}
