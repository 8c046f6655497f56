/* wal.h — the durable NVMe-backed log: segments, group commit, term/vote,
 * snapshots and crash recovery (public API of core/wal). */
#ifndef FABRAFT_WAL_H
#define FABRAFT_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "raft.h"

/*
 * Design notes (docs/storage.md has the on-disk format and the durability
 * argument in full)
 * ============
 * A data directory holds:
 *   meta                      term, vote, cluster id, node id, recover
 *                             index and its term, durable point (atomic
 *                             replace)
 *   wal-<seg no, 16 hex>.seg  log segments, preallocated, rolled by size
 *   wal-spare.tmp             the next segment, being zero-filled or ready
 *   snap-<index, 16 hex>.snap snapshots (the two newest are kept)
 *   lock                      flock()ed while a process has the wal open
 *
 * Threads: the wal owns a writer thread and (with fsync and zero_fill) a
 * preparer thread that keeps one spare segment zero-filled ahead of use
 * (wal_prep.c; the spare is not part of the log).  wal_submit() encodes records
 * into an in-memory batch buffer; the writer thread (or, when the disk is
 * idle, a wal_append() caller acting as group-commit leader) writes a whole
 * buffer with one pwrite and makes it durable with one fdatasync, then
 * advances the durable point and signals the eventfd.  Every function of
 * this header may be called from any thread, except wal_close (no other
 * call may be running or follow); struct wal_recovered and the snapshot
 * reader/writer objects are not shared between threads.
 *
 * Invariants:
 *  1. An entry is reported durable (wal_durable, wal_append returning 0)
 *     only after the fdatasync of the batch holding it returned success.
 *  2. Batches reach the disk in submission order; a batch is written only
 *     after the previous one is durable, so after a crash at most the last
 *     batch is incomplete (a torn tail), and recovery can prove it.
 *  3. After any I/O error the wal is failed: every later call that writes
 *     returns the same error (sticky), so a node never goes on after an
 *     fsync it cannot trust.
 *  4. Damage to records that were flushed (may have been acknowledged) is
 *     never taken for a torn write: a later batch vouches for every batch
 *     but the last, the last is judged by its unwritten (zero) sectors,
 *     and the newest segment's tail slot (rewritten with every flush,
 *     after the batch's write, under the same fdatasync) and meta's
 *     durable point (saved with term and vote) expose a lost tail.  A
 *     process kill never leaves the slot claiming more than the log
 *     holds.  With o.recover_damage such damage is cut and its range
 *     persisted as the recover index before the cut; the node recovers it
 *     from its peers (raft.h note 7, docs/storage.md "Damaged storage").
 *
 * Detection results and recovery actions are logged with fr_log()
 * (trace.h, tag "wal") from any thread that uses the wal, sometimes with
 * the wal's lock held: the program's log sink must not call into the wal.
 */

struct wal; /* opaque */

enum wal_direct_io {
	WAL_DIRECT_AUTO = 0, /* O_DIRECT where the filesystem supports it */
	WAL_DIRECT_ON,	     /* O_DIRECT or fail */
	WAL_DIRECT_OFF,	     /* buffered writes + fdatasync */
};

/* Default zero_fill_batch_max.  Measured on the project's VM disk
 * (docs/benchmarks.md, 2026-11-28): zero-filled spares win with ~15 KiB
 * batches (64 B entries: 80-85x against 64-67x fallocated only) and lose
 * with ~130 KiB and ~1 MiB ones (1 KiB entries: 34-37x against 39-44x;
 * 16 KiB: 7.0-7.3x against 8.7-9.1x). */
#define WAL_ZERO_FILL_BATCH_MAX (64u * 1024u)

struct wal_options {
	const char *dir;	    /* data directory (created if missing);
				       borrowed for wal_open */
	uint64_t cluster_id;	    /* != 0; a dir of another cluster is
				       refused */
	uint32_t node_id;	    /* 1..RAFT_ID_MAX; likewise checked */
	uint64_t segment_bytes;	    /* segment size, rounded up to 4 KiB;
				       >= 16 KiB */
	int direct_io;		    /* enum wal_direct_io */
	bool fsync;		    /* false: no fdatasync (tests, --fsync off;
				       NOT durable) */
	uint32_t batch_max_entries; /* most entries in one batch */
	uint32_t batch_max_bytes;   /* most bytes in one batch (soft: a single
				       bigger entry goes alone) */
	uint32_t batch_wait_us;	    /* how long the writer may wait for a
				       batch to fill before writing it; 0 =
				       write as soon as the disk is free */
	bool zero_fill;		    /* prepare the next segment ahead of use
				       in the background, its blocks written
				       with zeros, so that appends into it
				       make fdatasync flush data only (no
				       extent conversion); only with fsync */
	uint32_t zero_fill_batch_max; /* zero-fill a spare only while the
				       log's recent batches average fewer
				       bytes than this (bigger batches are
				       bound by the disk's bandwidth, and
				       zeros would double the bytes written:
				       the spare is then only fallocated);
				       0 = always zero-fill */
	bool recover_damage;	      /* damage in flushed records (and a log
					 ending before the durable point meta
					 recorded) is cut instead of refused,
					 and reported as recover_index (the
					 daemon; docs/storage.md "Damaged
					 storage").  false: FR_CORRUPT */
	bool caller_kicks;	      /* wal_submit() does not wake the writer
					 thread; the caller calls wal_kick()
					 when it is done with the CPU (an
					 event loop: after its sends) */
	/* Called first thing on each thread the wal starts, on that thread,
	 * with @thread_ctx and the thread's name ("wal-writer",
	 * "wal-prep"): where the daemon binds it to the NIC's NUMA node
	 * (core/node/node_place.c).  NULL: nothing. */
	void (*thread_start)(void *thread_ctx, const char *thread);
	void *thread_ctx; /* borrowed; must outlive the wal */
};

/** Defaults: 64 MiB segments, direct I/O auto, fsync on, 4096 entries and
 * 1 MiB per batch, no batch wait, spare segments zero-filled while batches
 * average under 64 KiB (WAL_ZERO_FILL_BATCH_MAX).  @dir is stored
 * as is (borrowed). */
void wal_options_default(struct wal_options *o, const char *dir,
			 uint64_t cluster_id, uint32_t node_id);

/* What wal_open() found on disk. */
struct wal_recovered {
	raft_term term;		    /* persisted current term */
	raft_id vote;		    /* persisted vote, 0 = none */
	struct raft_entry *entries; /* consecutive stored entries; the array
				       and payloads are owned by the wal, valid
				       until wal_recovered_release or
				       wal_close */
	uint32_t n_entries;
	raft_index snapshot_index; /* newest valid snapshot, 0 if none */
	raft_term snapshot_term;   /* its term */
	struct raft_config snapshot_config; /* its configuration */
	bool direct_io;			    /* O_DIRECT is in use */
	bool torn_tail; /* an unfinished last batch was dropped */
	bool corrupt;	/* this open cut damaged flushed records (or found
			   a lost write): see recover_index */
	raft_index recover_index;     /* 0, or the log may lack acknowledged
					 entries up to here: open Raft
					 recovering (raft_restore.recover_index)
					 and call wal_recovering_clear() once it
					 reports RAFT_UPDATE_RECOVERED.  Persisted:
					 set until cleared, across restarts */
	raft_term recover_index_term; /* the term of the entry at
					 recover_index, when known (it came
					 from the tail slot); 0 = unknown
					 (from the meta file's durable point
					 or from damaged records).  Persisted
					 with recover_index */
};

/**
 * Open (creating if needed) the data directory, recover and start the
 * writer thread.  @o is borrowed for the call; @rec is filled (see its
 * ownership).  On failure @errmsg (FR_ERRMSG_SIZE bytes) says why, naming
 * the file and offset of any corruption.  Returns 0, FR_INVALID (options),
 * FR_MISMATCH (dir of another cluster or node), FR_CORRUPT (a damaged
 * record that is not a torn tail without o.recover_damage, a damaged meta
 * file, a compacted log without a snapshot), FR_BUSY (another process has the
 * dir open), FR_IO, FR_NOSPACE, FR_NOMEM, FR_UNSUPPORTED (direct_io on, not
 * supported).
 */
int wal_open(struct wal **out, const struct wal_options *o,
	     struct wal_recovered *rec, char *errmsg)
    __attribute__((warn_unused_result));

/** Free the recovered entries early (after raft_open copied them). */
void wal_recovered_release(struct wal *w);

/**
 * Write what is queued, seal the log (a close marker lets the next start
 * tell a damaged last batch from a torn one), stop the writer and free
 * everything.  @w may be NULL.  Does not seal a failed wal.
 */
void wal_close(struct wal *w);

/**
 * Persist term and vote, synchronously: durable on return 0.  @term must not
 * be lower than the stored one.  Returns 0, FR_INVALID, FR_IO, FR_NOSPACE
 * (the wal is then failed), or the sticky error.
 */
int wal_hardstate_save(struct wal *w, raft_term term, raft_id vote)
    __attribute__((warn_unused_result));

/**
 * The log was repaired from the leader (RAFT_UPDATE_RECOVERED): persist
 * recover_index = 0 (synchronous, like wal_hardstate_save).  Returns 0,
 * FR_IO, FR_NOSPACE (the wal is then failed) or the sticky error.
 */
int wal_recovering_clear(struct wal *w) __attribute__((warn_unused_result));

/**
 * Queue @n entries for writing; returns once they are copied (it blocks
 * only while all batch buffers are full, or while a truncation waits for
 * queued batches).  @entries and their payloads are borrowed for the call.
 * Entries must have consecutive indices and non-decreasing terms, known
 * types and len <= RAFT_MAX_ENTRY_BYTES.  If entries[0].index <= the last
 * stored index, the stored suffix from that index is truncated first (Raft
 * overwrite, §5.3).  If the log is empty any first index is accepted.
 * entries[0].index == 0 means "append after the last index" (every index
 * must then be 0; used by benchmarks and tests).  Returns 0, FR_INVALID,
 * FR_NOMEM or the sticky error.
 */
int wal_submit(struct wal *w, const struct raft_entry *entries, uint32_t n)
    __attribute__((warn_unused_result));

/**
 * Submit and wait until the entries are durable.  Same rules as
 * wal_submit.  Safe to call from many threads at once: their batches share
 * fdatasyncs.
 */
int wal_append(struct wal *w, const struct raft_entry *entries, uint32_t n)
    __attribute__((warn_unused_result));

/** Wake the writer thread if batches are queued and it is idle (with
 * o.caller_kicks, after wal_submit()). */
void wal_kick(struct wal *w);

/**
 * Write and sync the queued batches in the calling thread, unless another
 * thread is writing one (then that thread goes on with the rest and
 * signals wal_event_fd() as usual).  Batches written here do not signal
 * wal_event_fd(): the caller reads wal_durable() next.  Returns 0 or the
 * sticky error.
 */
int wal_flush(struct wal *w) __attribute__((warn_unused_result));

/** An eventfd (owned by the wal) that becomes readable when the durable
 * point advances or the wal fails; read it to re-arm, then call
 * wal_durable(). */
int wal_event_fd(struct wal *w);

/** Last durable entry (0, 0 when none).  After a truncation it moves back
 * to the last kept entry.  Returns 0 or the sticky error (then
 * @index/@term still give the last durable entry).  Takes no lock (an
 * event loop calls it every iteration; docs/storage.md). */
int wal_durable(struct wal *w, raft_index *index, raft_term *term)
    __attribute__((warn_unused_result));

/**
 * Drop every whole segment whose entries are all <= @upto (after a
 * snapshot covering @upto is committed).  If @upto >= the last index, the
 * whole log is dropped and the next submit may start at any index.  Waits
 * for queued batches first.  Returns 0, FR_IO or the sticky error.
 */
int wal_compact(struct wal *w, raft_index upto)
    __attribute__((warn_unused_result));

/** Counters since wal_open (for benchmarks and INFO). */
struct wal_stats {
	uint64_t batches;	 /* batches written */
	uint64_t batches_inline; /* of them, written by wal_flush() callers
				    instead of the writer thread */
	uint64_t entries;	 /* entries written */
	uint64_t bytes;	 /* record bytes written (excluding block rewrites) */
	uint64_t fsyncs; /* fdatasync/fsync calls on segments */
	uint64_t write_bytes;	  /* bytes passed to pwrite (incl. alignment) */
	uint64_t io_ns;		  /* time the writer spent inside the pwrite
				     and fdatasync calls of batches (the
				     rest of its time is the log's own) */
	uint64_t idle_ns;	  /* time the writer thread waited for a
				     batch to be queued (nothing to do) */
	uint64_t segs_prepared;	  /* segments made from a spare (zero-filled,
				     or only fallocated: spares_unzeroed) */
	uint64_t segs_unprepared; /* made on the spot with fallocate: no spare
				     was ready (or a size other than
				     segment_bytes was needed) */
	uint64_t spares;	  /* spares made (background) */
	uint64_t spare_failures;  /* preparations that failed (logged) */
	uint64_t zero_bytes;	  /* zeros written into spares */
	uint64_t spares_unzeroed; /* spares only fallocated: batches were
				     too big for zero-filling to pay */
	uint64_t batch_avg;	  /* recent mean record bytes per batch */
	bool zero_filling;	  /* the next spare will be zero-filled */
	bool spare_ready;	  /* a spare is ready now */
};

void wal_stats_get(struct wal *w, struct wal_stats *s);

/** Latest error message of a failed wal ("" if none); valid until
 * wal_close. */
const char *wal_errmsg(struct wal *w);

/* ------------------------------------------------------------------ */
/* Snapshots: written atomically (tmp file, fsync, rename, fsync dir),     */
/* read back with a checksum over the whole content.                      */

struct wal_snap_meta {
	raft_index index;	   /* last index the snapshot covers */
	raft_term term;		   /* its term */
	struct raft_config config; /* configuration as of index */
};

struct wal_snap_writer; /* opaque */
struct wal_snap_reader; /* opaque */

/**
 * Start writing a snapshot of @m (borrowed) in @w's directory.  The
 * writer may be used from another thread than the wal's users.  Returns 0,
 * FR_INVALID, FR_IO, FR_NOSPACE, FR_NOMEM; @errmsg as for wal_open.
 */
int wal_snap_writer_open(struct wal_snap_writer **out, struct wal *w,
			 const struct wal_snap_meta *m, char *errmsg)
    __attribute__((warn_unused_result));
/** Append @len bytes of @buf (borrowed). On error call _abort. */
int wal_snap_writer_write(struct wal_snap_writer *sw, const void *buf,
			  size_t len, char *errmsg)
    __attribute__((warn_unused_result));
/** Make the snapshot durable and visible, delete all but the two newest;
 * frees @sw whatever the result. */
int wal_snap_writer_commit(struct wal_snap_writer *sw, char *errmsg)
    __attribute__((warn_unused_result));
/** Discard an unfinished snapshot and free @sw (may be NULL). */
void wal_snap_writer_abort(struct wal_snap_writer *sw);
/** From now on a write that would take @sw past @bytes_max content bytes
 * fails with FR_TOOBIG and writes nothing (an incoming snapshot is bounded
 * by the size its sender announced and the check below). */
void wal_snap_writer_limit(struct wal_snap_writer *sw, uint64_t bytes_max);

/**
 * May a snapshot of @bytes content bytes be written?  Pure arithmetic, for
 * wal_snap_space_check() and its tests: FR_TOOBIG when @bytes exceeds
 * @bytes_max (0 = no limit), FR_NOSPACE when the file (content, header and
 * trailer) would leave less than @reserve_bytes of @free_bytes; else 0.
 */
int wal_snap_fits(uint64_t bytes, uint64_t bytes_max, uint64_t free_bytes,
		  uint64_t reserve_bytes) __attribute__((warn_unused_result));
/**
 * wal_snap_fits() with the free space of @w's file system (statvfs: the
 * blocks an unprivileged writer may use).  Returns 0, FR_TOOBIG,
 * FR_NOSPACE or FR_IO (statvfs failed); @errmsg says which figures.
 */
int wal_snap_space_check(struct wal *w, uint64_t bytes, uint64_t bytes_max,
			 uint64_t reserve_bytes, char *errmsg)
    __attribute__((warn_unused_result));

/**
 * Open the newest snapshot whose header and trailer are valid; @m receives
 * its metadata.  wal_snap_reader_read() verifies the content checksum when
 * it reaches the end.  Returns 0, FR_NOTFOUND, FR_IO, FR_NOMEM.
 */
int wal_snap_reader_open(struct wal_snap_reader **out, struct wal *w,
			 struct wal_snap_meta *m, char *errmsg)
    __attribute__((warn_unused_result));
/** Read up to @cap bytes into @buf; *@n = 0 at the end.  Returns 0,
 * FR_IO, or FR_CORRUPT (at the end, when the checksum does not match). */
int wal_snap_reader_read(struct wal_snap_reader *r, void *buf, size_t cap,
			 size_t *n, char *errmsg)
    __attribute__((warn_unused_result));
/** Total content bytes of the open snapshot. */
uint64_t wal_snap_reader_size(const struct wal_snap_reader *r);
void wal_snap_reader_close(struct wal_snap_reader *r);

#endif /* FABRAFT_WAL_H */
