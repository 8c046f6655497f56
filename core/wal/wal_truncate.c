/* wal_truncate.c — cutting a segment for a Raft suffix truncation by
 * rewriting its kept prefix into a new file that replaces it atomically. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal_io.h"
#include "wal_private.h"

/*
 * Design notes
 * ============
 * Cutting a segment at offset X in place is not crash safe: the batch that
 * holds the record before X usually goes on after X, so once its tail is
 * zeroed it looks incomplete (no LAST record) and a crash before the next
 * batch is durable would make recovery drop it as a torn tail, although
 * its entries were acknowledged.  Rewriting its header in place to add the
 * LAST flag risks tearing an acknowledged record.
 *
 * So the kept prefix [0, X) is copied into wal-<n>.tmp (preallocated like a
 * new segment; or into the zero-filled spare, wal_prep.c), the last kept record
 * gets the LAST flag there, the copy is fsynced and renamed over the segment,
 * and the directory is fsynced.  A crash leaves either the old segment (a
 * longer, valid log) or the new one (the kept prefix, complete).  The
 * copy's tail slot is rewritten to claim the last kept entry, so the claim
 * never exceeds the kept prefix.  The cost, a
 * copy of up to one segment, is paid only when a leader overwrites a follower's
 * uncommitted suffix.
 */

/* Copy [0, len) of @in to @out. */
static int copy_prefix(int in, int out, uint64_t len)
{
	static __thread uint8_t buf[64 * 1024];
	for (uint64_t off = 0; off < len;) {
		size_t n = sizeof(buf);
		if (len - off < n) {
			n = (size_t)(len - off);
		}
		long long got = wal__pread_full(in, buf, n, off);
		if (got < 0) {
			return (int)-got;
		}
		if (got != (long long)n) {
			return EIO;
		}
		int e = wal__pwrite_all(out, buf, n, off);
		if (e != 0) {
			return e;
		}
		off += n;
	}
	return 0;
}

/* Find the last record before @x (an entry at s->off[keep - 1], perhaps
 * followed by a CLOSE marker), flag it LAST in @out and return its batch
 * number; without one, the segment header's base batch. */
static int close_last_batch(int in, int out, const struct wal_seg *s,
			    uint32_t keep, uint64_t x, uint64_t *batch)
{
	uint8_t h[WAL_SEG_HDR_BYTES];
	struct wal_rec_hdr r;
	const char *why;
	if (keep == 0) {
		struct wal_seg_hdr sh;
		if (wal__pread_full(in, h, sizeof(h), 0) != sizeof(h) ||
		    wal__seg_hdr_decode(&sh, h, &why) != 0) {
			return EIO;
		}
		*batch = sh.base_batch;
		return 0;
	}
	uint64_t off = s->off[keep - 1];
	for (;;) {
		if (wal__pread_full(in, h, WAL_REC_HDR_BYTES, off) !=
			WAL_REC_HDR_BYTES ||
		    !wal__rec_hdr_plausible(&r, h, WAL_REC_HDR_BYTES)) {
			return EIO;
		}
		uint64_t next = off + wal_rec_size(r.len);
		if (next >= x) {
			break;
		}
		off = next; /* a CLOSE marker follows the entry */
	}
	wal__rec_hdr_stamp(h, r.batch, r.prev_batch, true);
	*batch = r.batch;
	return wal__pwrite_all(out, h, WAL_REC_HDR_BYTES, off);
}

/* The copy's tail slot claims its last kept entry (none when it keeps
 * none): the claim follows the log down with the cut itself, before the
 * replacing batch is written. */
static int slot_lower(int out, const struct wal_seg *s, uint32_t keep,
		      uint64_t batch)
{
	uint8_t sec[WAL_SLOT_BYTES] = {0};
	if (keep > 0) {
		struct wal_slot sl = {
		    .index = s->first_index + keep - 1,
		    .term = s->term[keep - 1],
		    .batch = batch,
		};
		wal__slot_encode(&sl, sec);
	}
	return wal__pwrite_all(out, sec, sizeof(sec), WAL_SLOT_OFF);
}

int wal__seg_cut(struct wal *w, struct wal_seg *s, uint32_t keep, uint64_t x,
		 char *msg)
{
	char name[32], tmp[32];
	const char *step = "open";
	uint64_t batch = 0;
	struct stat st;
	bool spare = false;
	int out = -1, e;

	wal__seg_name(name, s->seg_no);
	snprintf(tmp, sizeof(tmp), "wal-%016" PRIx64 ".tmp", s->seg_no);
	int in = openat(w->dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) != 0) {
		e = errno;
		goto err;
	}
	step = "create the copy";
	/* Into the zero-filled spare if one of this size is ready: appends
	 * after the cut then go to written blocks, as in a new segment. */
	spare = wal__spare_take_locked(w, (uint64_t)st.st_size);
	if (spare) {
		snprintf(tmp, sizeof(tmp), "%s", WAL_SPARE_NAME);
		out = openat(w->dir_fd, tmp, O_RDWR | O_CLOEXEC);
		if (out < 0) {
			e = errno;
			goto err;
		}
		w->wstats.segs_prepared++;
	} else {
		out = openat(w->dir_fd, tmp,
			     O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0) {
			e = errno;
			goto err;
		}
		if (fallocate(out, 0, 0, st.st_size) != 0 &&
		    (errno != EOPNOTSUPP || ftruncate(out, st.st_size) != 0)) {
			e = errno;
			goto err;
		}
		w->wstats.segs_unprepared++;
	}
	step = "copy";
	if ((e = copy_prefix(in, out, x)) != 0 ||
	    (e = close_last_batch(in, out, s, keep, x, &batch)) != 0 ||
	    (e = slot_lower(out, s, keep, batch)) != 0) {
		goto err;
	}
	step = "fsync";
	if (fsync(out) != 0) {
		e = errno;
		goto err;
	}
	step = "rename";
	if (renameat(w->dir_fd, tmp, w->dir_fd, name) != 0) {
		e = errno;
		goto err;
	}
	if (spare) {
		wal__spare_release_locked(w);
		spare = false;
	}
	close(out);
	out = -1;
	step = "fsync of the directory";
	if (fsync(w->dir_fd) != 0) {
		e = errno;
		goto err;
	}
	close(in);
	in = -1;
	step = "reopen";
	if ((e = wal__seg_open_fd(w, s->seg_no)) != 0 ||
	    (e = wal__tail_load(w, w->seg_fd, x)) != 0) {
		goto err;
	}
	w->prev_batch = batch;
	return 0;
err:
	if (out >= 0) {
		close(out);
		unlinkat(w->dir_fd, tmp, 0);
	}
	if (spare) {
		wal__spare_release_locked(w);
	}
	if (in >= 0) {
		close(in);
	}
	snprintf(msg, FR_ERRMSG_SIZE,
		 "%s/%s: truncating at offset %" PRIu64 ": %s: %s", w->dir,
		 name, x, step, strerror(e));
	return wal__errno_code(e);
}
