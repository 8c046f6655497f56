/* wal_claim.c — recovery's side of the tail slot: read the newest
 * segment's claim, merge it into the recovering bound, and rewrite a slot
 * that claims more than the log holds once recovery has recorded that. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "wal_io.h"
#include "wal_private.h"

/*
 * Design notes
 * ============
 * The writer rewrites the slot after every batch's write and before its
 * fdatasync (wal_writer.c), so after a flush the slot of the newest
 * segment names the last entry flushed.  At open, a log that ends before
 * that entry lost its last batches after their sync, or was torn by a
 * power cut during it (slot and batch are in flight together; either may
 * land first): both are treated as possibly acknowledged (docs/storage.md
 * "What is detected and what is not").  A process kill never gets there:
 * the slot is written only after the batch's write returned.
 */

void wal__claim_read(const char *name, const uint8_t *blk,
		     const struct wal_seg_hdr *h, struct wal_slot *c)
{
	const char *why = "";
	if (wal__slot_decode(c, blk, h, &why) == WAL_SLOT_BAD) {
		fr_log(FR_LOG_WARN, "wal",
		       "%s: %s: no claim; a lost write of the last batch is "
		       "detected only against the meta file's durable point "
		       "this time",
		       name, why);
		memset(c, 0, sizeof(*c));
	}
}

void wal__claim_merge(raft_index *x, raft_term *xt, raft_index index,
		      raft_term term)
{
	if (index > *x || (index == *x && *xt == 0)) {
		*x = index;
		*xt = term;
	}
}

void wal__claim_lost_log(const char *dir, const char *name, raft_index end,
			 const struct wal_slot *c, raft_index x)
{
	fr_log(FR_LOG_ERROR, "wal",
	       "%s/%s: the log ends at index %" PRIu64
	       " but the tail slot says index %" PRIu64 " (term %" PRIu64
	       ") was flushed: LOST WRITE (or a batch torn by a power cut, "
	       "which looks the same); this node is recovering (counts "
	       "toward no commit, votes by the recovering rules) until a "
	       "leader has repaired its log through index %" PRIu64,
	       dir, name, end, c->index, c->term, x);
}

int wal__slot_rewrite(struct wal *w, const char *name, const struct wal_slot *t,
		      char *errmsg)
{
	uint8_t sec[WAL_SLOT_BYTES] = {0};
	if (t->index != 0) {
		wal__slot_encode(t, sec);
	}
	int e = 0;
	int fd = openat(w->dir_fd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
	} else {
		e = wal__pwrite_all(fd, sec, sizeof(sec), WAL_SLOT_OFF);
		if (e == 0 && fdatasync(fd) != 0) {
			e = errno;
		}
		close(fd);
	}
	if (e != 0) {
		wal__errf(errmsg, "%s/%s: rewriting the tail slot: %s", w->dir,
			  name, strerror(e));
		return wal__errno_code(e);
	}
	fr_log(FR_LOG_INFO, "wal",
	       "%s: tail slot rewritten to claim index %" PRIu64
	       " (the end of the recovered log)",
	       name, t->index);
	return 0;
}
