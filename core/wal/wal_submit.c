/* wal_submit.c — queueing records into batch buffers, Raft suffix
 * truncation and prefix compaction. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "heap.h"
#include "wal_io.h"
#include "wal_private.h"

/*
 * Design notes
 * ============
 * Submitters place records under w->mu, one submit at a time (the
 * `submitting` slot), so a submit's entries are contiguous in the log even
 * while it waits for a free buffer.  The queued view (w->segs, last_index)
 * runs ahead of the durable point; the file offset of every record is
 * decided here, so the writer only copies buffers to the disk.
 *
 * Truncation and compaction are rare: they wait until the writer is idle
 * and every queued batch is durable, then change the files themselves,
 * still holding mu and the submit slot, so neither the writer nor another
 * submitter can run in between.
 *
 * Crash order of a truncation at entry i in segment k: later segments are
 * unlinked newest first (the directory fsynced after each), then segment k
 * is replaced by a copy of its prefix before i (wal_truncate.c).  A crash
 * in between leaves a prefix of the old log, which is a valid log: nothing
 * of the new suffix was acknowledged yet.
 */

/* Room kept in every segment and buffer for a ROLL marker. */
#define MARK WAL_REC_HDR_BYTES

int wal__seg_push(struct wal_seg *s, uint64_t off, raft_term term)
{
	/* off and term share s->cap: off grows on a copy of it, and s->cap
	 * follows term, so it changes only once both have grown. */
	uint32_t off_cap = s->cap;
	uint64_t *o = wal__grow(s->off, s->n, &off_cap, 64, sizeof(*o));
	if (o == NULL) {
		return FR_NOMEM;
	}
	s->off = o;
	raft_term *t = wal__grow(s->term, s->n, &s->cap, 64, sizeof(*t));
	if (t == NULL) {
		return FR_NOMEM;
	}
	s->term = t;
	s->off[s->n] = off;
	s->term[s->n] = term;
	s->n++;
	return 0;
}

int wal__segs_add(struct wal *w, uint64_t seg_no, raft_index first,
		  uint64_t alloc, struct wal_seg **out)
{
	struct wal_seg *segs =
	    wal__grow(w->segs, w->n_segs, &w->cap_segs, 8, sizeof(*segs));
	if (segs == NULL) {
		return FR_NOMEM;
	}
	w->segs = segs;
	struct wal_seg *s = &w->segs[w->n_segs++];
	memset(s, 0, sizeof(*s));
	s->seg_no = seg_no;
	s->first_index = first;
	s->alloc = alloc;
	s->end = WAL_SEG_HDR_BYTES;
	*out = s;
	return 0;
}

static void seg_free(struct wal_seg *s)
{
	fr_free(s->off);
	fr_free(s->term);
	s->off = NULL;
	s->term = NULL;
}

void wal__segs_free(struct wal *w)
{
	for (uint32_t i = 0; i < w->n_segs; i++) {
		seg_free(&w->segs[i]);
	}
	fr_free(w->segs);
	w->segs = NULL;
	w->n_segs = 0;
	w->cap_segs = 0;
}

static struct wal_seg *active_seg(struct wal *w)
{
	return w->n_segs > 0 ? &w->segs[w->n_segs - 1] : NULL;
}

static uint64_t align_block(uint64_t v)
{
	return (v + WAL_BLOCK - 1) & ~(uint64_t)(WAL_BLOCK - 1);
}

/* The last queued buffer if submitters may still add to it. */
static struct wal_batch *filling(struct wal *w)
{
	if (w->q_count == 0) {
		return NULL;
	}
	struct wal_batch *b = &w->bufs[(w->q_head + w->q_count - 1) % WAL_NBUF];
	return b->state == WAL_BUF_FILLING ? b : NULL;
}

static void seal_filling(struct wal *w)
{
	struct wal_batch *b = filling(w);
	if (b != NULL) {
		b->state = WAL_BUF_SEALED;
		if (!w->no_kick) {
			pthread_cond_signal(&w->cv_work);
		}
	}
}

/* Take a free buffer for segment @s at its end, waiting for space. */
static int buffer_start(struct wal *w, struct wal_seg *s, uint64_t size,
			bool new_seg, struct wal_batch **out)
{
	seal_filling(w);
	while (w->q_count == WAL_NBUF && w->err == 0) {
		/* Whatever no_kick says: a submitter waiting here cannot lead
		 * (it holds the submit slot), so the writer thread must. */
		pthread_cond_signal(&w->cv_work);
		pthread_cond_wait(&w->cv_space, &w->mu);
	}
	if (w->err != 0) {
		return w->err;
	}
	struct wal_batch *b = &w->bufs[(w->q_head + w->q_count) % WAL_NBUF];
	assert(b->state == WAL_BUF_FREE);
	/* Batch numbers as the writer will assign them (it writes buffers
	 * in queue order), so records are encoded and checksummed once,
	 * here, in parallel, instead of by the writer on the critical path.
	 * With nothing queued the writer is idle and its counters stable. */
	if (w->q_count > 0) {
		const struct wal_batch *p =
		    &w->bufs[(w->q_head + w->q_count - 1) % WAL_NBUF];
		b->batch = p->batch + 1;
		b->prev_batch = p->batch;
	} else {
		b->batch = w->next_batch;
		b->prev_batch = w->prev_batch;
	}
	size_t head = (size_t)(s->end % WAL_BLOCK);
	size_t need = head + (size_t)size + MARK + WAL_BLOCK;
	if (need > b->cap) {
		void *raw;
		uint8_t *data = wal__aligned_alloc(need, &raw);
		if (data == NULL) {
			return FR_NOMEM;
		}
		fr_free(b->raw);
		b->raw = raw;
		b->data = data;
		b->cap = need;
	}
	b->head = head;
	b->len = 0;
	b->n_entries = 0;
	b->n_records = 0;
	b->seg_no = s->seg_no;
	b->file_off = s->end;
	b->new_seg = new_seg;
	b->new_first = s->first_index;
	b->new_alloc = s->alloc;
	b->last_index = 0;
	b->last_term = 0;
	b->ticket = 0;
	b->first_ns = wal__now_ns();
	b->state = WAL_BUF_FILLING;
	w->q_count++;
	if (!w->no_kick) {
		pthread_cond_signal(&w->cv_work);
	}
	*out = b;
	return 0;
}

static bool buffer_fits(const struct wal *w, const struct wal_batch *b,
			const struct wal_seg *s, uint64_t size, bool entry)
{
	if (b == NULL || b->seg_no != s->seg_no ||
	    b->file_off + b->len != s->end) {
		return false;
	}
	if (b->head + b->len + size + MARK + WAL_BLOCK > b->cap) {
		return false;
	}
	if (!entry) {
		return true;
	}
	return b->n_entries < w->o.batch_max_entries &&
	       b->len + size <= w->o.batch_max_bytes;
}

/* Encode one record at the end of segment @s, in the filling buffer or a
 * new one.  @payload may be NULL when h->len == 0. */
static int place_in(struct wal *w, struct wal_seg *s, struct wal_rec_hdr *h,
		    const void *payload, bool new_seg, bool own_batch,
		    bool crc_known)
{
	uint64_t size = wal_rec_size(h->len);
	bool entry = h->kind == WAL_REC_ENTRY;
	struct wal_batch *b = filling(w);
	int rv;

	if (own_batch || new_seg || !buffer_fits(w, b, s, size, entry)) {
		if ((rv = buffer_start(w, s, size, new_seg, &b)) != 0) {
			return rv;
		}
	}
	if (entry && (rv = wal__seg_push(s, s->end, h->term)) != 0) {
		return rv;
	}
	uint8_t *p = b->data + b->head + b->len;
	if (!crc_known) {
		h->pcrc = fr_crc32c(0, payload, h->len);
	}
	h->batch = b->batch;
	h->prev_batch = b->prev_batch;
	h->flags = 0;
	wal__rec_hdr_encode(h, p);
	b->last_rec = b->len;
	if (h->len > 0) {
		memcpy(p + WAL_REC_HDR_BYTES, payload, h->len);
	}
	memset(p + WAL_REC_HDR_BYTES + h->len, 0,
	       (size_t)(size - WAL_REC_HDR_BYTES - h->len));
	if (entry) {
		b->n_entries++;
		b->last_index = h->index;
		b->last_term = h->term;
		w->last_index = h->index;
		w->last_term = h->term;
	}
	b->len += size;
	b->n_records++;
	s->end += size;
	w->sealed = h->kind == WAL_REC_CLOSE;
	return 0;
}

static void marker_hdr(const struct wal_seg *s, uint8_t kind,
		       struct wal_rec_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->index = s->first_index + s->n - 1;
	h->term = s->term[s->n - 1];
}

/* Place entry @e (index already decided), rolling the segment if needed.
 * @pcrc: its payload checksum, or NULL to compute it here. */
static int place_entry(struct wal *w, const struct raft_entry *e,
		       raft_index index, const uint32_t *pcrc)
{
	struct wal_rec_hdr h = {
	    .index = index,
	    .term = e->term,
	    .len = e->len,
	    .pcrc = pcrc != NULL ? *pcrc : 0,
	    .kind = WAL_REC_ENTRY,
	    .type = e->type,
	};
	uint64_t size = wal_rec_size(e->len);
	struct wal_seg *s = active_seg(w);
	bool new_seg = false;
	int rv;

	if (s != NULL && s->n == 0 && !s->rolled &&
	    s->end + size + MARK > s->alloc) {
		/* An empty segment takes any entry: it grows. */
		s->alloc = align_block(s->end + size + MARK);
	}
	if (s == NULL || s->rolled || s->end + size + MARK > s->alloc) {
		if (s != NULL && !s->rolled) {
			struct wal_rec_hdr m;
			marker_hdr(s, WAL_REC_ROLL, &m);
			if ((rv = place_in(w, s, &m, NULL, false, false,
					   false)) != 0) {
				return rv;
			}
			s->rolled = true;
		}
		uint64_t alloc = align_block(WAL_SEG_HDR_BYTES + size + MARK);
		if (alloc < w->o.segment_bytes) {
			alloc = w->o.segment_bytes;
		}
		if ((rv = wal__segs_add(w, w->next_seg_no, index, alloc, &s))) {
			return rv;
		}
		w->next_seg_no++;
		new_seg = true;
	}
	return place_in(w, s, &h, e->buf, new_seg, false, pcrc != NULL);
}

/* Wait until every queued batch is durable and the writer is idle. */
static int wait_idle_locked(struct wal *w)
{
	seal_filling(w);
	pthread_cond_signal(&w->cv_work);
	while ((w->q_count > 0 || w->busy) && w->err == 0) {
		pthread_cond_wait(&w->cv_done, &w->mu);
	}
	return w->err;
}

static int unlink_seg_locked(struct wal *w, const struct wal_seg *s)
{
	char name[32];
	wal__seg_name(name, s->seg_no);
	if (w->seg_fd >= 0 && w->seg_fd_no == s->seg_no) {
		wal__seg_fd_close(w);
	}
	if (unlinkat(w->dir_fd, name, 0) != 0 && errno != ENOENT) {
		int e = errno;
		wal__fail_locked(w, wal__errno_code(e), "%s/%s: unlink: %s",
				 w->dir, name, strerror(e));
		return w->err;
	}
	return 0;
}

/* Delete stored entries >= @index (base_index < @index <= last_index). */
static int truncate_locked(struct wal *w, raft_index index)
{
	int rv = wait_idle_locked(w);
	if (rv != 0) {
		return rv;
	}
	uint32_t k = w->n_segs;
	while (k > 0 && w->segs[k - 1].first_index > index) {
		k--;
	}
	assert(k > 0);
	struct wal_seg *s = &w->segs[k - 1];
	while (w->n_segs > k) {
		struct wal_seg *last = &w->segs[w->n_segs - 1];
		if ((rv = unlink_seg_locked(w, last)) != 0) {
			return rv;
		}
		if (fsync(w->dir_fd) != 0) {
			wal__fail_locked(w, FR_IO, "%s: fsync: %s", w->dir,
					 strerror(errno));
			return w->err;
		}
		seg_free(last);
		w->n_segs--;
	}
	uint32_t keep = (uint32_t)(index - s->first_index);
	uint64_t off = keep < s->n ? s->off[keep] : s->end;
	char msg[FR_ERRMSG_SIZE];
	if ((rv = wal__seg_cut(w, s, keep, off, msg)) != 0) {
		wal__fail_locked(w, rv, "%s", msg);
		return rv;
	}
	s->n = keep;
	s->end = off;
	s->rolled = false;
	w->next_seg_no = s->seg_no + 1;
	w->last_index = index - 1;
	if (keep > 0) {
		w->last_term = s->term[keep - 1];
	} else if (k >= 2) {
		struct wal_seg *p = &w->segs[k - 2];
		w->last_term = p->term[p->n - 1];
	} else {
		w->last_term = w->base_term;
	}
	w->durable_index = w->last_index;
	w->durable_term = w->last_term;
	wal__durable_publish_locked(w);
	fr_log(FR_LOG_INFO, "wal", "truncated the log from index %" PRIu64,
	       index);
	return 0;
}

/* The log is empty; the next entry is @index.  An empty segment expecting
 * another first index is removed. */
static int empty_log_locked(struct wal *w, raft_index index)
{
	struct wal_seg *s = active_seg(w);
	if (s == NULL || s->first_index == index) {
		return 0;
	}
	int rv = wait_idle_locked(w);
	if (rv != 0) {
		return rv;
	}
	while (w->n_segs > 0) {
		s = active_seg(w);
		if ((rv = unlink_seg_locked(w, s)) != 0) {
			return rv;
		}
		seg_free(s);
		w->n_segs--;
	}
	if (fsync(w->dir_fd) != 0) {
		wal__fail_locked(w, FR_IO, "%s: fsync: %s", w->dir,
				 strerror(errno));
		return w->err;
	}
	return 0;
}

static int entries_check(const struct raft_entry *e, uint32_t n)
{
	if (n == 0 || e == NULL) {
		return FR_INVALID;
	}
	bool auto_index = e[0].index == 0;
	for (uint32_t i = 0; i < n; i++) {
		if (e[i].type < RAFT_ENTRY_NORMAL ||
		    e[i].type > RAFT_ENTRY_CONFIG || e[i].term == 0 ||
		    e[i].len > RAFT_MAX_ENTRY_BYTES ||
		    (e[i].len > 0 && e[i].buf == NULL)) {
			return FR_INVALID;
		}
		if (i == 0) {
			continue;
		}
		if (e[i].term < e[i - 1].term ||
		    (auto_index ? e[i].index != 0
				: e[i].index != e[i - 1].index + 1)) {
			return FR_INVALID;
		}
	}
	return 0;
}

/* Decide where the submit starts, truncating if needed. */
static int submit_start_locked(struct wal *w, const struct raft_entry *e,
			       raft_index *first)
{
	bool empty = w->last_index == w->base_index;
	raft_index i = e[0].index;
	int rv;

	if (i == 0) {
		i = w->last_index + 1;
	} else if (empty) {
		if ((rv = empty_log_locked(w, i)) != 0) {
			return rv;
		}
		w->base_index = i - 1;
		w->last_index = i - 1;
		w->last_term = 0;
	} else if (i <= w->last_index) {
		if (i <= w->base_index) {
			return FR_INVALID; /* compacted away */
		}
		if ((rv = truncate_locked(w, i)) != 0) {
			return rv;
		}
	} else if (i != w->last_index + 1) {
		return FR_INVALID; /* a gap */
	}
	if (e[0].term < w->last_term && i == w->last_index + 1) {
		return FR_INVALID; /* terms never decrease along the log */
	}
	*first = i;
	return 0;
}

/* Place the entries (mu held, submit slot taken by the caller); a @waiter
 * is registered with the batch holding the last entry, returned in *@wb. */
static int submit_locked(struct wal *w, const struct raft_entry *e, uint32_t n,
			 const uint32_t *pcrc, struct wal_waiter *waiter,
			 struct wal_batch **wb)
{
	raft_index first;
	int rv = submit_start_locked(w, e, &first);
	if (rv != 0) {
		return rv;
	}
	for (uint32_t i = 0; i < n; i++) {
		if ((rv = place_entry(w, &e[i], first + i,
				      pcrc != NULL ? &pcrc[i] : NULL)) != 0) {
			/* Entries already placed stay queued; the caller
			 * sees the error and must not assume any of them. */
			return rv;
		}
	}
	struct wal_batch *b = &w->bufs[(w->q_head + w->q_count - 1) % WAL_NBUF];
	b->ticket = ++w->ticket;
	if (waiter != NULL) {
		waiter->next = b->waiters;
		b->waiters = waiter;
		*wb = b;
	}
	return 0;
}

/* Checksums computed before taking the lock, for submits this small. */
#define PRE_CRC 32u

/* Validate, take the submit slot, place.  Returns with mu held. */
static int submit(struct wal *w, const struct raft_entry *e, uint32_t n,
		  struct wal_waiter *waiter, struct wal_batch **wb)
{
	uint32_t pcrc[PRE_CRC];
	int rv = entries_check(e, n);
	if (rv == 0 && n <= PRE_CRC) {
		/* Checksumming outside the lock lets appenders overlap. */
		for (uint32_t i = 0; i < n; i++) {
			pcrc[i] = fr_crc32c(0, e[i].buf, e[i].len);
		}
	}
	pthread_mutex_lock(&w->mu);
	if (rv != 0) {
		return rv;
	}
	while (w->submitting && w->err == 0) {
		pthread_cond_wait(&w->cv_submit, &w->mu);
	}
	if ((rv = w->err) != 0) {
		return rv;
	}
	w->submitting = true;
	w->no_kick = waiter != NULL || w->o.caller_kicks;
	rv = submit_locked(w, e, n, n <= PRE_CRC ? pcrc : NULL, waiter, wb);
	w->no_kick = false;
	w->submitting = false;
	pthread_cond_signal(&w->cv_submit);
	return rv;
}

void wal_kick(struct wal *w)
{
	pthread_mutex_lock(&w->mu);
	bool idle_with_work = w->q_count > 0 && !w->busy;
	pthread_mutex_unlock(&w->mu);
	/* Signalled after the unlock, the writer does not wake only to
	 * sleep on mu.  No wake-up is lost: it checks q_count under mu
	 * before it waits, and the batches were queued under mu before. */
	if (idle_with_work) {
		pthread_cond_signal(&w->cv_work);
	}
}

int wal_flush(struct wal *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->err == 0 && !w->busy && w->q_count > 0) {
		uint64_t before = w->wstats.batches;

		w->flushing = true;
		wal__write_head_locked(w);
		w->flushing = false;
		w->wstats.batches_inline += w->wstats.batches - before;
	}
	int rv = w->err;
	pthread_mutex_unlock(&w->mu);
	return rv;
}

int wal_submit(struct wal *w, const struct raft_entry *entries, uint32_t n)
{
	int rv = submit(w, entries, n, NULL, NULL);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

/*
 * Group commit: the caller is registered as a waiter of the batch that
 * holds its last entry and sleeps on that batch's futex word, without the
 * lock (no lock convoy when hundreds wake at once; one system call wakes
 * them all).  If the disk is idle it first writes the oldest
 * queued batch itself instead of handing it to the writer thread (a
 * leader, as in classic group commit): one thread switch less per fsync.
 */
int wal_append(struct wal *w, const struct raft_entry *entries, uint32_t n)
{
	struct wal_waiter me = {.rv = 0, .next = NULL};
	struct wal_batch *b = NULL;
	bool lead = w->o.batch_wait_us == 0;
	atomic_init(&me.done, false);
	int rv = submit(w, entries, n, &me, &b);
	if (rv != 0) {
		/* Not registered: waiters are added only on success. */
		pthread_mutex_unlock(&w->mu);
		return rv;
	}
	if (!lead) {
		pthread_cond_signal(&w->cv_work);
	}
	while (lead && !me.done && !w->busy && w->q_count > 0) {
		wal__write_head_locked(w);
	}
	if (!me.done && !w->busy && w->q_count > 0) {
		pthread_cond_signal(&w->cv_work);
	}
	pthread_mutex_unlock(&w->mu);
	wal__waiter_sleep(b, &me);
	return me.rv;
}

static int compact_locked(struct wal *w, raft_index upto)
{
	int rv = wait_idle_locked(w);
	if (rv != 0) {
		return rv;
	}
	bool all = upto >= w->last_index;
	uint32_t drop = 0;
	while (drop < w->n_segs) {
		struct wal_seg *s = &w->segs[drop];
		bool last = drop + 1 == w->n_segs;
		if (!all &&
		    (last || s->n == 0 || s->first_index + s->n - 1 > upto)) {
			break;
		}
		if ((rv = unlink_seg_locked(w, s)) != 0) {
			return rv;
		}
		if (s->n > 0) {
			w->base_index = s->first_index + s->n - 1;
			w->base_term = s->term[s->n - 1];
		}
		seg_free(s);
		drop++;
	}
	if (drop == 0) {
		return 0;
	}
	memmove(w->segs, w->segs + drop, (w->n_segs - drop) * sizeof(*w->segs));
	w->n_segs -= drop;
	if (all) {
		w->base_index = upto > w->last_index ? upto : w->last_index;
		w->base_term = upto > w->last_index ? 0 : w->last_term;
		w->last_index = w->base_index;
		w->last_term = w->base_term;
	}
	if (fsync(w->dir_fd) != 0) {
		wal__fail_locked(w, FR_IO, "%s: fsync: %s", w->dir,
				 strerror(errno));
		return w->err;
	}
	fr_log(FR_LOG_INFO, "wal",
	       "compacted %u segment(s) up to index %" PRIu64, drop,
	       w->base_index);
	return 0;
}

int wal_compact(struct wal *w, raft_index upto)
{
	pthread_mutex_lock(&w->mu);
	while (w->submitting && w->err == 0) {
		pthread_cond_wait(&w->cv_submit, &w->mu);
	}
	int rv = w->err;
	if (rv == 0) {
		w->submitting = true;
		rv = compact_locked(w, upto);
		w->submitting = false;
		pthread_cond_signal(&w->cv_submit);
	}
	pthread_mutex_unlock(&w->mu);
	return rv;
}

/* wal_close: queue a marker in its own batch proving the last batch
 * complete (CLOSE, or ROLL when the segment has no room for both).  Only
 * after writes: a start-and-stop leaves the files as they were. */
void wal__seal_locked(struct wal *w)
{
	struct wal_seg *s = active_seg(w);
	if (w->err != 0 || s == NULL || s->n == 0 || s->rolled || w->sealed ||
	    w->ticket == 0) {
		return;
	}
	struct wal_rec_hdr m;
	bool roll = s->end + 2 * MARK > s->alloc;
	marker_hdr(s, roll ? WAL_REC_ROLL : WAL_REC_CLOSE, &m);
	if (place_in(w, s, &m, NULL, false, true, false) == 0 && roll) {
		s->rolled = true;
	}
}
