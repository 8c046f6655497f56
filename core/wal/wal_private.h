/* wal_private.h — the wal object shared by wal*.c and snap.c (private). */
#ifndef FABRAFT_WAL_PRIVATE_H
#define FABRAFT_WAL_PRIVATE_H

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "trace.h"
#include "wal.h"
#include "wal_format.h"

/* The zero-filled spare segment (wal_prep.c): not part of the log, removed
 * by recovery like any other leftover tmp file. */
#define WAL_SPARE_NAME "wal-spare.tmp"

enum wal_spare_state {
	WAL_SPARE_NONE = 0,  /* no spare file */
	WAL_SPARE_PREPARING, /* the preparer is zero-filling it */
	WAL_SPARE_READY,     /* complete and synced: may become a segment */
	WAL_SPARE_TAKEN,     /* being turned into a segment (not yet renamed) */
};

/* Batch buffers in the ring: one being written, the others filling. */
#define WAL_NBUF 4u

enum wal_buf_state {
	WAL_BUF_FREE = 0, /* not queued */
	WAL_BUF_FILLING,  /* queued, submitters may still add records */
	WAL_BUF_SEALED,	  /* queued, full or followed by another batch */
	WAL_BUF_WRITING,  /* owned by the writer thread */
};

/* One batch: records bound for one contiguous range of one segment, written
 * with one pwrite and made durable with one fdatasync. */
struct wal_batch {
	void *raw;	    /* allocation to free */
	uint8_t *data;	    /* raw aligned to WAL_BLOCK */
	size_t cap;	    /* bytes usable at data */
	size_t head;	    /* file_off % WAL_BLOCK: room for the tail block */
	size_t len;	    /* record bytes after head */
	uint32_t n_entries; /* entry records */
	uint32_t n_records; /* all records (entries and markers) */
	int state;	    /* enum wal_buf_state */
	uint64_t seg_no;    /* target segment */
	uint64_t file_off;  /* file offset of the first record */
	bool new_seg;	    /* create the segment before writing */
	raft_index new_first;  /* its first index */
	uint64_t new_alloc;    /* its size */
	raft_index last_index; /* last entry in the batch, 0 if none */
	raft_term last_term;   /* its term */
	uint64_t ticket;       /* highest submit ticket in the batch */
	uint64_t batch;	       /* batch numbers the records were encoded
				  with (the writer restamps them all if
				  they turn out wrong) */
	uint64_t prev_batch;
	size_t last_rec;	    /* offset of the last record after head */
	uint64_t first_ns;	    /* monotonic time of the first record */
	struct wal_waiter *waiters; /* wal_append callers waiting for it */
	atomic_uint wake_seq; /* futex word of the waiters: bumped (and the
				 sleepers woken with one FUTEX_WAKE) after
				 they were all marked done */
};

/* A wal_append caller waiting for its batch; lives on the caller's stack
 * and is released exactly once, when its batch is durable or dropped: rv is
 * set, then done (under mu; the caller may return as soon as it sees done,
 * so nobody touches the waiter after that), then the batch's wake_seq is
 * bumped and its sleepers woken. */
struct wal_waiter {
	int rv;			 /* 0, or the error that dropped the batch */
	atomic_bool done;	 /* set last, under mu */
	struct wal_waiter *next; /* next waiter of the same batch */
};

/* Queued view of one segment (entries submitted, durable or not). */
struct wal_seg {
	uint64_t seg_no;	/* number in the file name */
	raft_index first_index; /* index of its first entry */
	uint64_t alloc;		/* preallocated bytes */
	uint64_t end;		/* end offset of the records queued so far */
	uint32_t n;		/* entries */
	uint32_t cap;		/* capacity of off and term */
	uint64_t *off;		/* record offset of each entry (owned) */
	raft_term *term;	/* term of each entry (owned) */
	bool rolled;		/* ends with a ROLL marker */
};

struct wal {
	struct wal_options o; /* copy; o.dir points at dir */
	char *dir;	      /* owned copy of the directory path */
	int dir_fd;	      /* O_DIRECTORY fd for *at() and fsync */
	int lock_fd;	      /* flock()ed lock file */
	int event_fd;	      /* durable-point notifications */
	bool direct;	      /* segments are opened with O_DIRECT */

	bool sync_inited;	  /* mutexes and condvars exist */
	pthread_mutex_t mu;	  /* guards everything below but meta */
	pthread_cond_t cv_work;	  /* writer: a batch is queued / stop */
	pthread_cond_t cv_space;  /* submitters: a buffer became free */
	pthread_cond_t cv_done;	  /* waiters: durable point moved / idle */
	pthread_cond_t cv_submit; /* submitters: the submit slot is free */
	pthread_t thread;	  /* the writer */
	bool thread_started;
	bool stop;	 /* writer: exit when the queue is empty */
	bool submitting; /* a submit is placing records */
	bool no_kick;	 /* the submitter will write its batch
			    itself: do not wake the writer */
	bool flushing;	 /* wal_flush() writes in its caller: no event fd */

	/* Queued view. */
	struct wal_seg *segs; /* oldest first (owned) */
	uint32_t n_segs;
	uint32_t cap_segs;
	raft_index base_index; /* entry just before the first stored one */
	raft_term base_term;   /* its term (0 if unknown) */
	raft_index last_index; /* last queued entry */
	raft_term last_term;
	uint64_t next_seg_no; /* number of the next segment to create */
	uint64_t ticket;      /* last submit ticket handed out */
	bool sealed;	      /* the last queued record is a CLOSE */
	struct wal_batch bufs[WAL_NBUF]; /* the ring */
	uint32_t q_head;		 /* oldest queued buffer */
	uint32_t q_count;		 /* queued buffers */

	/* Writer state: touched by the writer thread, or by another thread
	 * holding mu while the writer is idle (q_count == 0, !busy). */
	bool busy;		 /* writer is doing I/O */
	int seg_fd;		 /* open segment, -1 if none */
	uint64_t seg_fd_no;	 /* its number */
	void *hdr_raw;		 /* allocation of hdr_blk */
	uint8_t *hdr_blk;	 /* O_DIRECT: copy of the open segment's
				    header block, rewritten whole with each
				    tail slot */
	unsigned long aio_ctx;	 /* O_DIRECT: Linux AIO context for the
				    batch + slot submission, 0 = none */
	void *tail_raw;		 /* allocation of tail */
	uint8_t *tail;		 /* copy of the last partial block written */
	uint64_t tail_off;	 /* its (aligned) file offset */
	uint64_t next_batch;	 /* sequence number of the next batch */
	uint64_t prev_batch;	 /* last batch known complete */
	struct wal_stats wstats; /* counters, copied to stats under mu */
	uint64_t idle_ns;	 /* writer thread waiting for work (under mu) */
	uint64_t idle_since;	 /* when the current wait began, 0 if none */
	char pub_tmp[32];	 /* tmp name of the open segment until it is
				    published (renamed), "" once it is */

	/* Durable point. */
	raft_index durable_index;
	raft_term durable_term;
	uint64_t durable_ticket; /* every ticket <= this is durable */
	int err;		 /* sticky error, 0 if healthy */
	/* The same three, published for wal_durable() without mu (a
	 * seqlock; wal__durable_publish_locked): the event loop reads them
	 * every iteration and must not queue behind the writer thread for
	 * the lock right after the writer woke it. */
	atomic_uint pub_seq;
	_Atomic uint64_t pub_index;
	_Atomic uint64_t pub_term;
	atomic_int pub_err;
	char errmsg[FR_ERRMSG_SIZE];
	struct wal_stats stats;

	pthread_mutex_t meta_mu;  /* serialises hard state saves */
	raft_term term;		  /* persisted term */
	raft_id vote;		  /* persisted vote */
	raft_index recover_index; /* persisted "recovering up to", 0 = no */
	raft_term recover_term;	  /* persisted term of recover_index, 0 =
				     unknown */
	raft_index meta_durable_index; /* durable entry as of the last
					  meta save (from the file at open) */
	raft_term meta_durable_term;   /* its term */

	/* Spare segment preparer (wal_prep.c); under mu. */
	pthread_t prep_thread;
	bool prep_started;
	bool prep_want;		 /* make a spare when there is none */
	atomic_bool prep_stop;	 /* abandon the spare and exit */
	pthread_cond_t cv_prep;	 /* preparer: prep_want or prep_stop set */
	int spare;		 /* enum wal_spare_state */
	uint64_t spare_bytes;	 /* size of the spare */
	uint64_t batch_avg;	 /* moving mean of record bytes per batch
				    (writer, under mu): zero-fill or not */
	struct wal_stats pstats; /* the preparer's counters (spares...) */
	void *zeros_raw;	 /* allocation of zeros */
	uint8_t *zeros;		 /* WAL_ZERO_CHUNK aligned zero bytes */

	struct raft_entry *rec_entries; /* wal_recovered.entries (owned) */
	uint8_t *rec_payload;		/* their payloads (owned) */
};

/** Make @w failed with @rv and a message (first error wins).  Holds mu. */
/* Publish durable_index, durable_term and err for wal_durable(); call
 * under mu after changing any of them. */
void wal__durable_publish_locked(struct wal *w);

void wal__fail_locked(struct wal *w, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Segment file name of @seg_no into @name (32 bytes). */
void wal__seg_name(char *name, uint64_t seg_no);

/** Append an entry slot to @s (grows the arrays).  0 or FR_NOMEM. */
int wal__seg_push(struct wal_seg *s, uint64_t off, raft_term term);

/** Add an empty queued segment at the end of w->segs.  0 or FR_NOMEM. */
int wal__segs_add(struct wal *w, uint64_t seg_no, raft_index first,
		  uint64_t alloc, struct wal_seg **out);
void wal__segs_free(struct wal *w);

/**
 * Recovery (wal_recover.c): read every segment, fill the queued view and
 * writer state of @w, truncate a torn tail, and the entries of @rec.
 * Called by wal_open before the writer starts.
 */
int wal__recover_log(struct wal *w, struct wal_recovered *rec, char *errmsg);

/** Tail slot claims at recovery (wal_claim.c).  The claim of the mapped
 * header block @blk of segment @name (header @h): index 0 when it has none
 * or it is damaged (warned). */
void wal__claim_read(const char *name, const uint8_t *blk,
		     const struct wal_seg_hdr *h, struct wal_slot *c);
/** Raise the recovering bound *@x (term *@xt, 0 = unknown) to @index with
 * @term if it is higher, or equal with a term where *@xt is unknown. */
void wal__claim_merge(raft_index *x, raft_term *xt, raft_index index,
		      raft_term term);
/** Log, at error level, a log ending at @end before the claim @c of
 * @dir/@name; @x is the recovering bound. */
void wal__claim_lost_log(const char *dir, const char *name, raft_index end,
			 const struct wal_slot *c, raft_index x);
/** Rewrite and sync the slot of segment @name to claim @t (index 0:
 * nothing).  0 or an FR_* code with @errmsg set. */
int wal__slot_rewrite(struct wal *w, const char *name, const struct wal_slot *t,
		      char *errmsg);

/** Snapshot recovery (snap.c): the newest valid snapshot, for wal_open. */
int wal__snap_recover(struct wal *w, struct wal_recovered *rec, char *errmsg);

/** Load or create the meta file (wal_meta.c). */
int wal__meta_open(struct wal *w, bool fresh, char *errmsg);
/** Persist recover_index = @index and its term @term (0 = unknown), with
 * term, vote and the durable point unchanged, before recovery cuts damaged
 * records (wal_meta.c). */
int wal__meta_save_recover(struct wal *w, raft_index index, raft_term term,
			   char *errmsg);

/** Cut segment @s after its first @keep entries, at offset @x: the kept
 * prefix replaces the file atomically (wal_truncate.c).  Writer idle, mu
 * held.  Sets prev_batch, reopens the writer's fd.  0 or an FR_* code with
 * @msg set. */
int wal__seg_cut(struct wal *w, struct wal_seg *s, uint32_t keep, uint64_t x,
		 char *msg);

/** wal_close: queue a CLOSE (or ROLL) marker in its own batch. */
void wal__seal_locked(struct wal *w);

/** Write the oldest queued batch in the calling thread (group-commit
 * leader).  Holds mu, releases it during the I/O.  Requires !busy and
 * q_count > 0. */
void wal__write_head_locked(struct wal *w);

/** Mark every waiter of @b done with @rv and detach them (mu held). */
void wal__waiters_release_locked(struct wal_batch *b, int rv);
/** Wake the sleepers of @b after a release (one system call for all of
 * them; mu need not be held: a spurious wake of a reused buffer's waiters
 * is harmless, they check done again). */
void wal__waiters_wake(struct wal_batch *b);
/** Sleep until @me (a waiter of @b) is done; mu not held. */
void wal__waiter_sleep(struct wal_batch *b, struct wal_waiter *me);

/** Writer-side helpers (wal_writer.c). */
void *wal__writer_main(void *arg);
/** Reload the tail block for a segment ending at @end (writer idle). */
int wal__tail_load(struct wal *w, int fd, uint64_t end);
/** Open segment @seg_no for writing as the writer's fd (writer idle). */
int wal__seg_open_fd(struct wal *w, uint64_t seg_no);
/** Close the writer's segment fds (writer idle). */
void wal__seg_fd_close(struct wal *w);
/** O_DIRECT batch writes with the tail slot (wal_aio.c): set up the AIO
 * context (without one, a warning: written one after the other). */
void wal__aio_init(struct wal *w);
void wal__aio_close(struct wal *w);
/** Write @len bytes of @buf at @off of @fd, and hdr_blk (with its new
 * slot) at 0, never the slot before the batch; not synced.  0 or errno. */
int wal__write_with_slot(struct wal *w, int fd, const void *buf, size_t len,
			 uint64_t off);

/** Spare segments (wal_prep.c).  Bytes per zero-filling write. */
#define WAL_ZERO_CHUNK (512u * 1024u)
/** Start the preparer thread (after recovery; only with o.zero_fill and
 * o.fsync).  0 or FR_NOMEM. */
int wal__prep_start(struct wal *w);
/** Stop it and remove the spare file (wal_close). */
void wal__prep_stop(struct wal *w);
/** Whether the next spare is to be zero-filled (o.zero_fill_batch_max
 * against the recent mean batch size).  Holds mu. */
bool wal__zero_fill_wanted_locked(const struct wal *w);
/** Take the spare if one of @bytes is ready: returns true with the state
 * TAKEN (the caller renames WAL_SPARE_NAME, then calls
 * wal__spare_release_locked).  Also asks for the next spare.  mu held. */
bool wal__spare_take_locked(struct wal *w, uint64_t bytes);
/** The taken spare was renamed (or removed): ask for the next one. */
void wal__spare_release_locked(struct wal *w);

/** Monotonic clock in nanoseconds. */
uint64_t wal__now_ns(void);

/* Open the wal directory for listing (closedir() it): 0 or FR_IO with
 * @errmsg set. */
int wal__dir_list(struct wal *w, DIR **out, char *errmsg);

#endif /* FABRAFT_WAL_PRIVATE_H */
