/* wal.c — opening, closing and inspecting the durable log. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heap.h"
#include "wal_io.h"
#include "wal_private.h"

void wal_options_default(struct wal_options *o, const char *dir,
			 uint64_t cluster_id, uint32_t node_id)
{
	memset(o, 0, sizeof(*o));
	o->dir = dir;
	o->cluster_id = cluster_id;
	o->node_id = node_id;
	o->segment_bytes = 64u << 20;
	o->direct_io = WAL_DIRECT_AUTO;
	o->fsync = true;
	o->batch_max_entries = 4096;
	o->batch_max_bytes = 1u << 20;
	o->batch_wait_us = 0;
	o->zero_fill = true;
	o->zero_fill_batch_max = WAL_ZERO_FILL_BATCH_MAX;
	o->recover_damage = false;
}

static int options_check(const struct wal_options *o, char *errmsg)
{
	const char *why = NULL;
	if (o->dir == NULL || o->dir[0] == '\0') {
		why = "no data directory";
	} else if (o->cluster_id == 0) {
		why = "cluster id 0";
	} else if (o->node_id == 0 || o->node_id > RAFT_ID_MAX) {
		why = "node id out of 1..255";
	} else if (o->segment_bytes < 4 * WAL_BLOCK ||
		   o->segment_bytes > (1ull << 40)) {
		why = "segment size out of 16 KiB..1 TiB";
	} else if (o->direct_io < WAL_DIRECT_AUTO ||
		   o->direct_io > WAL_DIRECT_OFF) {
		why = "bad direct_io mode";
	} else if (o->batch_max_entries == 0 || o->batch_max_bytes < 4096) {
		why = "batch bounds too small";
	} else if (o->batch_wait_us > 1000000) {
		why = "batch wait over 1 s";
	}
	if (why != NULL) {
		wal__errf(errmsg, "wal options: %s", why);
		return FR_INVALID;
	}
	return 0;
}

/* Does O_DIRECT work in the directory?  Probe with an aligned write. */
static int direct_probe(struct wal *w, char *errmsg)
{
	const char *probe = "direct.probe";
	bool ok = false;
	if (w->o.direct_io == WAL_DIRECT_OFF) {
		w->direct = false;
		fr_log(FR_LOG_INFO, "wal",
		       "buffered I/O + fdatasync (O_DIRECT "
		       "off by option)");
		return 0;
	}
	int fd =
	    openat(w->dir_fd, probe,
		   O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
	int e = fd < 0 ? errno : 0;
	if (fd >= 0) {
		void *raw;
		void *blk = wal__aligned_alloc(WAL_BLOCK, &raw);
		if (blk == NULL) {
			close(fd);
			unlinkat(w->dir_fd, probe, 0);
			return FR_NOMEM;
		}
		memset(blk, 0, WAL_BLOCK);
		e = wal__pwrite_all(fd, blk, WAL_BLOCK, 0);
		ok = e == 0;
		fr_free(raw);
		close(fd);
	}
	unlinkat(w->dir_fd, probe, 0);
	if (!ok && w->o.direct_io == WAL_DIRECT_ON) {
		wal__errf(errmsg, "%s: O_DIRECT not supported: %s", w->dir,
			  strerror(e));
		return FR_UNSUPPORTED;
	}
	w->direct = ok;
	if (ok) {
		fr_log(FR_LOG_INFO, "wal",
		       "O_DIRECT with %u-byte aligned "
		       "writes + fdatasync",
		       WAL_BLOCK);
	} else {
		fr_log(FR_LOG_INFO, "wal",
		       "O_DIRECT unsupported here (%s): "
		       "buffered I/O + fdatasync",
		       strerror(e));
	}
	return 0;
}

int wal__dir_list(struct wal *w, DIR **out, char *errmsg)
{
	/* A fresh descriptor: fdopendir() takes it over, and the directory's
	 * own dir_fd stays open for openat(). */
	int fd = openat(w->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*out = fd >= 0 ? fdopendir(fd) : NULL;
	if (*out == NULL) {
		wal__errf(errmsg, "%s: %s", w->dir, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return FR_IO;
	}
	return 0;
}

/* Any log or snapshot file in the directory? */
static int dir_has_files(struct wal *w, bool *has, char *errmsg)
{
	DIR *d;
	int rv = wal__dir_list(w, &d, errmsg);
	if (rv != 0) {
		return rv;
	}
	*has = false;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if ((strncmp(de->d_name, "wal-", 4) == 0 && n > 4 &&
		     strcmp(de->d_name + n - 4, ".seg") == 0) ||
		    (strncmp(de->d_name, "snap-", 5) == 0 && n > 5 &&
		     strcmp(de->d_name + n - 5, ".snap") == 0)) {
			*has = true;
		}
	}
	closedir(d);
	return 0;
}

static int dir_open(struct wal *w, char *errmsg)
{
	if (mkdir(w->dir, 0755) != 0 && errno != EEXIST) {
		wal__errf(errmsg, "%s: mkdir: %s", w->dir, strerror(errno));
		return wal__errno_code(errno);
	}
	w->dir_fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dir_fd < 0) {
		wal__errf(errmsg, "%s: %s", w->dir, strerror(errno));
		return FR_IO;
	}
	w->lock_fd =
	    openat(w->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (w->lock_fd < 0) {
		wal__errf(errmsg, "%s/lock: %s", w->dir, strerror(errno));
		return wal__errno_code(errno);
	}
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		wal__errf(errmsg, "%s is in use by another process", w->dir);
		return FR_BUSY;
	}
	return 0;
}

static int sync_init(struct wal *w)
{
	pthread_condattr_t ca;
	w->sync_inited = true;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->mu, NULL);
	pthread_mutex_init(&w->meta_mu, NULL);
	pthread_cond_init(&w->cv_work, &ca);
	pthread_cond_init(&w->cv_space, NULL);
	pthread_cond_init(&w->cv_done, NULL);
	pthread_cond_init(&w->cv_submit, NULL);
	pthread_condattr_destroy(&ca);
	w->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->event_fd < 0) {
		return FR_IO;
	}
	size_t cap = w->o.batch_max_bytes + 2 * WAL_BLOCK + WAL_REC_HDR_BYTES;
	for (uint32_t i = 0; i < WAL_NBUF; i++) {
		w->bufs[i].data = wal__aligned_alloc(cap, &w->bufs[i].raw);
		if (w->bufs[i].data == NULL) {
			return FR_NOMEM;
		}
		w->bufs[i].cap = cap;
	}
	w->tail = wal__aligned_alloc(WAL_BLOCK, &w->tail_raw);
	w->hdr_blk = wal__aligned_alloc(WAL_BLOCK, &w->hdr_raw);
	if (w->tail == NULL || w->hdr_blk == NULL) {
		return FR_NOMEM;
	}
	memset(w->tail, 0, WAL_BLOCK);
	return 0;
}

static struct wal *wal_alloc(const struct wal_options *o)
{
	struct wal *w = fr_calloc(1, sizeof(*w));
	if (w == NULL) {
		return NULL;
	}
	w->o = *o;
	w->o.segment_bytes =
	    (o->segment_bytes + WAL_BLOCK - 1) & ~(uint64_t)(WAL_BLOCK - 1);
	w->dir_fd = -1;
	w->lock_fd = -1;
	w->event_fd = -1;
	w->seg_fd = -1;
	w->next_seg_no = 1;
	w->next_batch = 1;
	size_t n = strlen(o->dir) + 1;
	w->dir = fr_malloc(n);
	if (w->dir == NULL) {
		fr_free(w);
		return NULL;
	}
	memcpy(w->dir, o->dir, n);
	w->o.dir = w->dir;
	return w;
}

static void wal_free(struct wal *w)
{
	if (w->sync_inited) {
		wal__prep_stop(w); /* before the lock goes */
	}
	/* io_destroy waits for AIO still in flight (only after a failed
	 * reap): before the buffers it may write from go. */
	wal__aio_close(w);
	for (uint32_t i = 0; i < WAL_NBUF; i++) {
		fr_free(w->bufs[i].raw);
	}
	fr_free(w->tail_raw);
	fr_free(w->hdr_raw);
	wal__segs_free(w);
	wal_recovered_release(w);
	wal__seg_fd_close(w);
	if (w->event_fd >= 0) {
		close(w->event_fd);
	}
	if (w->lock_fd >= 0) {
		close(w->lock_fd); /* drops the flock */
	}
	if (w->dir_fd >= 0) {
		close(w->dir_fd);
	}
	if (w->sync_inited) {
		pthread_mutex_destroy(&w->mu);
		pthread_mutex_destroy(&w->meta_mu);
		pthread_cond_destroy(&w->cv_work);
		pthread_cond_destroy(&w->cv_space);
		pthread_cond_destroy(&w->cv_done);
		pthread_cond_destroy(&w->cv_submit);
	}
	fr_free(w->dir);
	fr_free(w);
}

/* The log must start right after the snapshot (or at 1 without one). */
static int continuity_check(struct wal *w, const struct wal_recovered *rec,
			    char *errmsg)
{
	if (w->n_segs == 0 || w->segs[0].n == 0) {
		if (rec->snapshot_index > w->last_index) {
			w->base_index = w->last_index = rec->snapshot_index;
			w->base_term = w->last_term = rec->snapshot_term;
		}
		return 0;
	}
	raft_index first = w->segs[0].first_index;
	if (first > 1 && rec->snapshot_index + 1 < first) {
		wal__errf(errmsg,
			  "%s: the log starts at index %" PRIu64
			  " but the newest valid snapshot ends at %" PRIu64
			  "; entries are missing, refusing to start",
			  w->dir, first, rec->snapshot_index);
		return FR_CORRUPT;
	}
	if (rec->snapshot_index + 1 == first) {
		w->base_term = rec->snapshot_term;
	}
	return 0;
}

/*
 * A lost write of the last batches: the log ends before the durable point
 * the meta file recorded at its last save, and nothing newer replaced that
 * entry (a leader's overwrite leaves a later last term).  Cannot tell it
 * from a truncation that crashed before its new entries landed; both are
 * treated as loss (the safe side).  Then report the recovery bound.
 */
static int lost_check(struct wal *w, struct wal_recovered *rec, char *errmsg)
{
	if (w->o.recover_damage && w->meta_durable_index > w->last_index &&
	    w->last_term <= w->meta_durable_term &&
	    w->meta_durable_index > w->recover_index) {
		fr_log(FR_LOG_ERROR, "wal",
		       "%s: the log ends at index %" PRIu64
		       " but index %" PRIu64 " (term %" PRIu64
		       ") was durable when meta was last saved: LOST WRITE; "
		       "this node is recovering (counts toward no commit, "
		       "votes by "
		       "the recovering rules) until a leader has repaired its "
		       "log through index %" PRIu64,
		       w->dir, w->last_index, w->meta_durable_index,
		       w->meta_durable_term, w->meta_durable_index);
		/* The term of that index is not used: the runtime's vote
		 * rule with a known term rests on the slot's claim. */
		int rv =
		    wal__meta_save_recover(w, w->meta_durable_index, 0, errmsg);
		if (rv != 0) {
			return rv;
		}
		rec->corrupt = true;
	}
	rec->recover_index = w->recover_index;
	rec->recover_index_term = w->recover_term;
	if (w->recover_index != 0) {
		fr_log(FR_LOG_WARN, "wal",
		       "recovering: the log may lack acknowledged entries up "
		       "to index %" PRIu64 " (term %" PRIu64
		       ", 0 = unknown; the log ends at %" PRIu64 ")",
		       w->recover_index, w->recover_term, w->last_index);
	}
	return 0;
}

static int wal_start(struct wal *w, struct wal_recovered *rec, char *errmsg)
{
	bool has_files = false;
	int rv;
	if ((rv = dir_open(w, errmsg)) != 0 ||
	    (rv = dir_has_files(w, &has_files, errmsg)) != 0 ||
	    (rv = wal__meta_open(w, has_files, errmsg)) != 0 ||
	    (rv = direct_probe(w, errmsg)) != 0 || (rv = sync_init(w)) != 0) {
		return rv;
	}
	wal__aio_init(w);
	if (!w->o.fsync) {
		fr_log(FR_LOG_WARN, "wal",
		       "fsync off: nothing written is "
		       "durable (tests only)");
	}
	rec->term = w->term;
	rec->vote = w->vote;
	rec->direct_io = w->direct;
	if ((rv = wal__snap_recover(w, rec, errmsg)) != 0 ||
	    (rv = wal__recover_log(w, rec, errmsg)) != 0 ||
	    (rv = continuity_check(w, rec, errmsg)) != 0 ||
	    (rv = lost_check(w, rec, errmsg)) != 0 ||
	    (rv = wal__prep_start(w)) != 0) {
		return rv;
	}
	if (pthread_create(&w->thread, NULL, wal__writer_main, w) != 0) {
		wal__errf(errmsg, "wal: cannot start the writer thread");
		return FR_NOMEM;
	}
	w->thread_started = true;
	return 0;
}

int wal_open(struct wal **out, const struct wal_options *o,
	     struct wal_recovered *rec, char *errmsg)
{
	memset(rec, 0, sizeof(*rec));
	int rv = options_check(o, errmsg);
	if (rv != 0) {
		return rv;
	}
	struct wal *w = wal_alloc(o);
	if (w == NULL) {
		wal__errf(errmsg, "wal: out of memory");
		return FR_NOMEM;
	}
	if ((rv = wal_start(w, rec, errmsg)) != 0) {
		if (rv == FR_NOMEM) {
			wal__errf(errmsg, "wal %s: out of memory", w->dir);
		}
		memset(rec, 0, sizeof(*rec));
		wal_free(w);
		return rv;
	}
	*out = w;
	return 0;
}

void wal_recovered_release(struct wal *w)
{
	fr_free(w->rec_entries);
	fr_free(w->rec_payload);
	w->rec_entries = NULL;
	w->rec_payload = NULL;
}

void wal_close(struct wal *w)
{
	if (w == NULL) {
		return;
	}
	if (w->thread_started) {
		pthread_mutex_lock(&w->mu);
		while (w->submitting && w->err == 0) {
			pthread_cond_wait(&w->cv_submit, &w->mu);
		}
		wal__seal_locked(w);
		w->stop = true;
		pthread_cond_signal(&w->cv_work);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	wal_free(w);
}

int wal_event_fd(struct wal *w)
{
	return w->event_fd;
}

void wal__durable_publish_locked(struct wal *w)
{
	unsigned s = atomic_load_explicit(&w->pub_seq, memory_order_relaxed);

	/* Writers are serialised by mu; odd while the pair changes. */
	atomic_store_explicit(&w->pub_seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&w->pub_index, w->durable_index,
			      memory_order_relaxed);
	atomic_store_explicit(&w->pub_term, w->durable_term,
			      memory_order_relaxed);
	atomic_store_explicit(&w->pub_err, w->err, memory_order_relaxed);
	atomic_store_explicit(&w->pub_seq, s + 2, memory_order_release);
}

int wal_durable(struct wal *w, raft_index *index, raft_term *term)
{
	unsigned s0;
	unsigned s1;
	int rv;

	do {
		s0 = atomic_load_explicit(&w->pub_seq, memory_order_acquire);
		*index =
		    atomic_load_explicit(&w->pub_index, memory_order_relaxed);
		*term =
		    atomic_load_explicit(&w->pub_term, memory_order_relaxed);
		rv = atomic_load_explicit(&w->pub_err, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s1 = atomic_load_explicit(&w->pub_seq, memory_order_relaxed);
	} while ((s0 & 1u) != 0 || s0 != s1);
	return rv;
}

void wal_stats_get(struct wal *w, struct wal_stats *s)
{
	pthread_mutex_lock(&w->mu);
	*s = w->stats;
	s->spares = w->pstats.spares;
	s->spare_failures = w->pstats.spare_failures;
	s->zero_bytes = w->pstats.zero_bytes;
	s->spares_unzeroed = w->pstats.spares_unzeroed;
	s->batch_avg = w->batch_avg;
	s->zero_filling = wal__zero_fill_wanted_locked(w);
	s->spare_ready = w->spare == WAL_SPARE_READY;
	s->idle_ns = w->idle_ns;
	if (w->idle_since != 0) {
		s->idle_ns += wal__now_ns() - w->idle_since;
	}
	pthread_mutex_unlock(&w->mu);
}

const char *wal_errmsg(struct wal *w)
{
	pthread_mutex_lock(&w->mu);
	const char *m = w->errmsg;
	pthread_mutex_unlock(&w->mu);
	return m;
}
