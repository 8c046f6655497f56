/* node_snap.c — snapshots in the daemon: take one when the core asks,
 * serve its bytes to followers, receive and install one, restore at start.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "heap.h"
#include "node_int.h"

/*
 * Design notes
 * ============
 * The state machine (kvc) streams its snapshot into a wal snapshot file
 * (written to a temporary name, fsynced, renamed: core/wal/snap.c), whose
 * header carries the Raft metadata (index, term, configuration).  Only
 * then is the core told (RAFT_EVENT_SNAPSHOT) and the log compacted: a
 * crash in between leaves the old log, which is still valid.  Taking one
 * runs on the event loop: for 1M blocks it is a few hundred milliseconds
 * (docs/benchmarks.md) every --snapshot-entries entries.
 *
 * Followers behind the leader's compaction point get the snapshot in
 * chunks: each SNAPSHOT message leaves the core without bytes and is
 * filled here from the newest snapshot file, read sequentially (a resumed
 * or repeated chunk reopens it and skips forward).
 *
 * A follower refuses a snapshot whole, before it writes a byte, when the
 * first chunk announces more than --snapshot-bytes-max or than the data
 * dir's free space less --disk-reserve-bytes (node__snap_admit): it stays
 * a follower, counts and logs the refusal and tells the leader, which
 * offers the snapshot again after a long pause (raft.h,
 * raft_snapshot_resp), so a freed disk or a raised limit lets it catch up.
 *
 * A follower writes the chunks it is given (the core accepts them only in
 * order) into a new snapshot file; the last one commits the file, loads the
 * state machine from it, and compacts (or drops) the log, in that order,
 * so that a crash at any point restarts from a valid snapshot plus log
 * (raft_open drops a log that does not continue the snapshot).  A failure
 * to write or load it stops the node with the reason: carrying on would
 * acknowledge a state it does not hold.
 */

static void fatal(struct node *n, int rv, const char *what, const char *why)
{
	if (n->fatal == 0) {
		n->fatal = rv;
		snprintf(n->errmsg, sizeof(n->errmsg), "%s: %s", what, why);
	}
}

struct save_ctx {
	struct node *n;
	void *sw;
	uint64_t size;
	char *errmsg;
};

static int save_write(void *ctx, const void *buf, size_t len)
{
	struct save_ctx *c = ctx;
	int rv = c->n->io->snap_writer_write(c->n->io_ctx, c->sw, buf, len,
					     c->errmsg);

	c->size += len;
	return rv;
}

struct load_ctx {
	struct node *n;
	void *rd;
	char *errmsg;
};

static int load_read(void *ctx, void *buf, size_t len)
{
	struct load_ctx *c = ctx;
	size_t got = 0;

	while (got < len) {
		size_t n = 0;
		int rv = c->n->io->snap_reader_read(c->n->io_ctx, c->rd,
						    (char *)buf + got,
						    len - got, &n, c->errmsg);
		if (rv != 0) {
			return rv;
		}
		if (n == 0) {
			snprintf(c->errmsg, FR_ERRMSG_SIZE,
				 "snapshot shorter than its content");
			return FR_CORRUPT;
		}
		got += n;
	}
	return 0;
}

/* Load the state machine from the newest snapshot, which must be @index. */
static int load_newest(struct node *n, raft_index index, uint64_t *size,
		       struct raft_config *config, char *errmsg)
{
	void *rd = NULL;
	struct wal_snap_meta m;
	int rv = n->io->snap_reader_open(n->io_ctx, &rd, &m, errmsg);

	if (rv != 0) {
		return rv;
	}
	if (m.index != index) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "newest snapshot is at %" PRIu64 ", expected %" PRIu64,
			 m.index, index);
		n->io->snap_reader_close(n->io_ctx, rd);
		return FR_CORRUPT;
	}
	struct load_ctx c = {n, rd, errmsg};
	rv = kvc_snapshot_load(n->kvc, load_read, &c);
	if (rv != 0 && errmsg[0] == '\0') {
		snprintf(errmsg, FR_ERRMSG_SIZE, "state machine refused it: %s",
			 fr_strerror(rv));
	}
	if (size != NULL) {
		*size = n->io->snap_reader_size(n->io_ctx, rd);
	}
	if (config != NULL) {
		*config = m.config;
	}
	n->io->snap_reader_close(n->io_ctx, rd);
	return rv;
}

int node__snap_restore(struct node *n, const struct wal_recovered *rec,
		       struct raft_restore *rs, char *errmsg)
{
	if (rec->snapshot_index == 0) {
		return 0;
	}
	uint64_t size = 0;
	errmsg[0] = '\0';
	int rv =
	    load_newest(n, rec->snapshot_index, &size, &rs->config, errmsg);
	if (rv != 0) {
		char why[FR_ERRMSG_SIZE];
		snprintf(why, sizeof(why), "%s", errmsg);
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "loading snapshot %" PRIu64 ": %.200s",
			 rec->snapshot_index, why);
		return rv;
	}
	rs->snapshot_index = rec->snapshot_index;
	rs->snapshot_term = rec->snapshot_term;
	rs->snapshot_size = size;
	fr_log(FR_LOG_INFO, NULL,
	       "restored the state machine from snapshot %" PRIu64 " (%" PRIu64
	       " bytes)",
	       rec->snapshot_index, size);
	return 0;
}

static void reader_close(struct node *n)
{
	if (n->snap_rd != NULL) {
		n->io->snap_reader_close(n->io_ctx, n->snap_rd);
	}
	n->snap_rd = NULL;
	n->snap_rd_index = 0;
	n->snap_rd_pos = 0;
}

void node__snap_take(struct node *n, raft_index index)
{
	char err[FR_ERRMSG_SIZE] = "";
	struct wal_snap_meta m = {.index = index};
	void *sw = NULL;
	uint64_t t0 = node__mono_ns();

	m.term = raft_log_term(n->raft, index);
	if (m.term == 0 || raft_config_at(n->raft, index, &m.config) != 0) {
		return; /* no longer in the log: a newer snapshot covers it */
	}
	int rv = n->io->snap_writer_open(n->io_ctx, &sw, &m, err);
	struct save_ctx c = {n, sw, 0, err};
	if (rv == 0) {
		rv = kvc_snapshot_save(n->kvc, save_write, &c);
		if (rv != 0) {
			n->io->snap_writer_abort(n->io_ctx, sw);
		} else {
			rv = n->io->snap_writer_commit(n->io_ctx, sw, err);
		}
	}
	if (rv != 0) {
		/* Not fatal: the log still holds everything; retried after
		 * another --snapshot-entries entries. */
		fr_log(FR_LOG_WARN, NULL, "snapshot at %" PRIu64 " failed: %s",
		       index, err[0] ? err : fr_strerror(rv));
		return;
	}
	reader_close(n); /* serve the new one from now on */
	struct raft_event ev = {.type = RAFT_EVENT_SNAPSHOT};
	ev.snapshot.index = index;
	ev.snapshot.size = c.size;
	rv = node__step_rv(n, &ev);
	if (rv != 0) {
		fr_log(FR_LOG_WARN, NULL,
		       "core refused snapshot %" PRIu64 ": %s", index,
		       fr_strerror(rv));
		return;
	}
	struct raft_status st;
	raft_status_get(n->raft, &st);
	if (st.first_index > 1) {
		rv = n->io->log_compact(n->io_ctx, st.first_index - 1);
		if (rv != 0) {
			fatal(n, rv, "compacting the log",
			      n->io->errmsg(n->io_ctx));
			return;
		}
	}
	n->c.snapshots++;
	fr_log(FR_LOG_INFO, NULL,
	       "snapshot at %" PRIu64 " (%" PRIu64 " bytes) in %.1f ms; log "
	       "compacted through %" PRIu64,
	       index, c.size, (double)(node__mono_ns() - t0) / 1e6,
	       st.first_index - 1);
}

/* Bytes [offset, offset + len) of the snapshot at @index into chunk_buf. */
static int read_range(struct node *n, raft_index index, uint64_t offset,
		      uint32_t len, char *err)
{
	if (n->snap_rd == NULL || n->snap_rd_index != index ||
	    n->snap_rd_pos > offset) {
		struct wal_snap_meta m;
		reader_close(n);
		int rv =
		    n->io->snap_reader_open(n->io_ctx, &n->snap_rd, &m, err);
		if (rv != 0) {
			n->snap_rd = NULL;
			return rv;
		}
		if (m.index != index) {
			reader_close(n);
			return FR_NOTFOUND; /* a newer one replaced it */
		}
		n->snap_rd_index = index;
	}
	if (len > n->chunk_cap) {
		char *b = fr_realloc(n->chunk_buf, len);
		if (b == NULL) {
			return FR_NOMEM;
		}
		n->chunk_buf = b;
		n->chunk_cap = len;
	}
	/* Skip forward (a resumed transfer), then read the chunk. */
	while (n->snap_rd_pos < offset + len) {
		uint64_t want = offset + len - n->snap_rd_pos;
		size_t got = 0;
		char *dst = n->snap_rd_pos >= offset
				? n->chunk_buf + (n->snap_rd_pos - offset)
				: n->chunk_buf;
		if (n->snap_rd_pos < offset) {
			want = offset - n->snap_rd_pos;
			if (want > len) {
				want = len;
			}
		}
		int rv = n->io->snap_reader_read(n->io_ctx, n->snap_rd, dst,
						 want, &got, err);
		if (rv != 0 || got == 0) {
			reader_close(n);
			return rv != 0 ? rv : FR_CORRUPT;
		}
		n->snap_rd_pos += got;
	}
	return 0;
}

bool node__snap_fill(struct node *n, struct raft_message *m)
{
	char err[FR_ERRMSG_SIZE] = "";
	struct raft_snapshot_chunk *c = &m->snapshot;
	int rv = read_range(n, c->last_index, c->offset, c->len, err);

	if (rv != 0) {
		if (rv != FR_NOTFOUND) {
			fr_log(FR_LOG_WARN, NULL,
			       "reading snapshot %" PRIu64 " for node %u: %s",
			       c->last_index, m->to,
			       err[0] ? err : fr_strerror(rv));
		}
		return false; /* dropped: the core sends it again */
	}
	c->data = n->chunk_buf;
	return true;
}

/* Say the refusal to the operator: at once for a new snapshot, then once a
 * minute while the leader keeps offering it. */
static void refusal_log(struct node *n, const struct raft_message *m,
			const char *why)
{
	uint64_t now = node__mono_ns();

	if (m->snapshot.last_index == n->snap_refused_index &&
	    now - n->snap_refused_log_ns < 60ull * 1000000000ull) {
		return;
	}
	n->snap_refused_index = m->snapshot.last_index;
	n->snap_refused_log_ns = now;
	fr_log(FR_LOG_WARN, NULL,
	       "refusing snapshot %" PRIu64
	       " from node %u: %s (refused %" PRIu64
	       " times so far; see --snapshot-bytes-max, --disk-reserve-bytes)",
	       m->snapshot.last_index, m->from, why, n->c.snapshots_refused);
}

bool node__snap_admit(struct node *n, const struct raft_message *m)
{
	const struct raft_snapshot_chunk *c = &m->snapshot;
	char err[FR_ERRMSG_SIZE] = "";
	struct raft_status st;
	int rv;

	assert(m->type == RAFT_MSG_SNAPSHOT);
	/* Only the first chunk starts a file; the core refuses later chunks
	 * of a snapshot it did not start, and the writer holds the others to
	 * the size the first one announced (node__snap_chunk). */
	if (c->offset != 0) {
		return true;
	}
	raft_status_get(n->raft, &st);
	if (c->last_index <= st.commit) {
		return true; /* already held: the core answers "installed" */
	}
	rv = n->io->snap_space_check(n->io_ctx, c->total,
				     n->o.snapshot_bytes_max,
				     n->o.disk_reserve_bytes, err);
	if (rv == 0) {
		return true;
	}
	n->c.snapshots_refused++;
	refusal_log(n, m, err[0] ? err : fr_strerror(rv));
	/* Tell the leader (raft.h, raft_snapshot_resp): it backs off instead
	 * of resending at once.  A lost answer costs one stall timeout. */
	struct raft_message r = {.type = RAFT_MSG_SNAPSHOT_RESP,
				 .from = n->o.id,
				 .to = m->from,
				 .term = st.term};
	r.snapshot_resp.last_index = c->last_index;
	r.snapshot_resp.rejected = 1;
	r.snapshot_resp.done = 1;
	if (n->fab == NULL || fab_send(n->fab, &r) != 0) {
		n->c.send_dropped++;
	}
	return false;
}

void node__snap_chunk(struct node *n, const struct raft_snapshot_chunk *c)
{
	char err[FR_ERRMSG_SIZE] = "";
	int rv;

	if (c->offset == 0) {
		struct wal_snap_meta m = {c->last_index, c->last_term,
					  c->config};
		n->io->snap_writer_abort(n->io_ctx, n->snap_in);
		n->snap_in = NULL;
		rv = n->io->snap_writer_open(n->io_ctx, &n->snap_in, &m, err);
		if (rv != 0) {
			n->snap_in = NULL;
			fatal(n, rv, "receiving a snapshot", err);
			return;
		}
		n->snap_in_index = c->last_index;
		/* Never more than the first chunk announced (and was
		 * admitted with): the core holds the transfer to it too. */
		n->io->snap_writer_limit(n->io_ctx, n->snap_in, c->total);
		fr_log(FR_LOG_INFO, NULL,
		       "receiving snapshot %" PRIu64 " (%" PRIu64
		       " bytes) from the leader",
		       c->last_index, c->total);
	}
	if (n->snap_in == NULL || n->snap_in_index != c->last_index) {
		fatal(n, FR_INVALID, "receiving a snapshot",
		      "a chunk of a snapshot that was not started");
		return;
	}
	rv = n->io->snap_writer_write(n->io_ctx, n->snap_in, c->data, c->len,
				      err);
	if (rv != 0) {
		n->io->snap_writer_abort(n->io_ctx, n->snap_in);
		n->snap_in = NULL;
		fatal(n, rv, "receiving a snapshot", err);
	}
}

void node__snap_install(struct node *n, const struct raft_update *u)
{
	char err[FR_ERRMSG_SIZE] = "";
	const struct raft_snapshot_meta *m = &u->install;
	int rv;

	if (n->snap_in == NULL || n->snap_in_index != m->index) {
		fatal(n, FR_INVALID, "installing a snapshot",
		      "its chunks were not all stored");
		return;
	}
	rv = n->io->snap_writer_commit(n->io_ctx, n->snap_in, err);
	n->snap_in = NULL;
	if (rv == 0) {
		rv = load_newest(n, m->index, NULL, NULL, err);
	}
	if (rv == 0) {
		rv = n->io->log_compact(n->io_ctx,
					u->keep_log ? m->index : UINT64_MAX);
		if (rv != 0) {
			snprintf(err, sizeof(err), "%s",
				 n->io->errmsg(n->io_ctx));
		}
	}
	if (rv != 0) {
		fatal(n, rv, "installing a snapshot", err);
		return;
	}
	reader_close(n);
	n->c.snapshots_installed++;
	fr_log(FR_LOG_INFO, NULL,
	       "installed snapshot %" PRIu64 " (term %" PRIu64 ", %" PRIu64
	       " bytes)%s",
	       m->index, m->term, m->size,
	       u->keep_log ? ", log after it kept" : ", log dropped");
}

void node__snap_close(struct node *n)
{
	n->io->snap_writer_abort(n->io_ctx, n->snap_in);
	n->snap_in = NULL;
	reader_close(n);
	fr_free(n->chunk_buf);
	n->chunk_buf = NULL;
	n->chunk_cap = 0;
}
