/* raft_snapshot.c — snapshots, log compaction and InstallSnapshot (§7). */
#include <assert.h>
#include <string.h>

#include "heap.h"
#include "raft_private.h"

/*
 * Design notes
 * ============
 * Taking: once snapshot_threshold entries have been applied since the
 * last snapshot, the core asks the driver for one (SNAPSHOT_WANTED).  The
 * driver serializes the state machine as applied, makes it durable and
 * reports it (RAFT_EVENT_SNAPSHOT, index and size); the core records the
 * metadata (term and configuration as of that index) and compacts its log
 * up to index - snapshot_trailing, so followers slightly behind still get
 * entries.
 *
 * Sending: a follower whose next entry has been compacted is switched to
 * the SNAPSHOT state.  The leader sends one chunk at a time (the driver
 * fills the bytes, raft.h note 6) and moves on when the follower answers
 * with the next offset it expects; an unanswered chunk is sent again after
 * the stall timeout.  A follower that lost a chunk answers the next one
 * with its resume offset, so a transfer resumes instead of restarting.
 * When the follower reports the snapshot installed, replication resumes
 * by probing right after it.  A follower may refuse a snapshot whole (too
 * big for its limit or its disk: the driver decides, raft.h
 * raft_snapshot_resp); the leader then offers it again from the start only
 * after RAFT_SNAPSHOT_REFUSED_BACKOFF election timeouts.
 *
 * Receiving: chunks are accepted strictly in order, for one snapshot at a
 * time (index, term, size and configuration must stay the same); a chunk
 * for another snapshot restarts the transfer only at offset 0.  The last
 * chunk installs it: the log is kept after the snapshot's last entry if it
 * holds that entry with the same term (Log Matching: then what follows is
 * the leader's too), and dropped otherwise.
 */

int raft__snapshot_taken(struct raft *r, raft_index index, uint64_t size)
{
	if (index == 0 || index > r->applied || index <= r->snap.index ||
	    size == 0) {
		return FR_INVALID;
	}
	struct raft_snapshot_meta m = {.index = index, .size = size};
	m.term = raft_log_term_of(&r->log, index);
	if (m.term == 0 || raft__config_at(r, index, &m.config) != 0) {
		return FR_INVALID; /* below the compaction point */
	}
	r->snap = m;
	raft_index upto = index > r->opt.snapshot_trailing
			      ? index - r->opt.snapshot_trailing
			      : 0;
	if (upto > r->log.offset) {
		struct raft_config base;
		if (raft__config_at(r, upto, &base) == 0) {
			r->base_config = base;
			raft_log_compact(&r->log, upto);
			if (r->config_index <= upto) {
				r->config_index = 0; /* now the base */
			}
		}
	}
	return 0;
}

void raft__snapshot_maybe_ask(struct raft *r, struct raft_update *u)
{
	uint32_t t = r->opt.snapshot_threshold;
	if (t == 0 || r->applied < r->snap_asked + t ||
	    r->applied < r->snap.index + t) {
		return;
	}
	r->snap_asked = r->applied;
	u->flags |= RAFT_UPDATE_SNAPSHOT_WANTED;
	u->snapshot_index = r->applied;
}

void raft__send_snapshot(struct raft *r, int slot)
{
	struct raft_progress *pr = &r->progress[slot];
	if (pr->state != RAFT_PR_SNAPSHOT || pr->snap_index != r->snap.index) {
		/* Start (or restart with our newest snapshot). */
		pr->state = RAFT_PR_SNAPSHOT;
		pr->snap_index = r->snap.index;
		pr->snap_offset = 0;
		pr->paused = false;
		pr->snap_refused = false;
		pr->stall_ticks = 0;
		raft__inflight_reset(&pr->inflight);
	}
	if (pr->paused || r->snap.index == 0 ||
	    pr->snap_offset >= r->snap.size) {
		return;
	}
	struct raft_message *m =
	    raft__out(r, RAFT_MSG_SNAPSHOT, r->config.servers[slot].id);
	if (m == NULL) {
		return;
	}
	struct raft_snapshot_chunk *c = &m->snapshot;
	uint64_t left = r->snap.size - pr->snap_offset;
	c->last_index = r->snap.index;
	c->last_term = r->snap.term;
	c->config = r->snap.config;
	c->offset = pr->snap_offset;
	c->total = r->snap.size;
	c->len = left < r->opt.snapshot_chunk_bytes
		     ? (uint32_t)left
		     : r->opt.snapshot_chunk_bytes;
	c->done = c->offset + c->len == c->total;
	c->data = NULL; /* filled by the driver (raft.h, note 6) */
	pr->paused = true;
}

void raft__recv_snapshot_resp(struct raft *r, const struct raft_message *m)
{
	if (r->role != RAFT_LEADER) {
		return;
	}
	int slot = raft__config_slot(&r->config, m->from);
	struct raft_progress *pr = &r->progress[slot];
	const struct raft_snapshot_resp *a = &m->snapshot_resp;
	pr->recent_active = true;
	if (pr->state != RAFT_PR_SNAPSHOT || a->last_index != pr->snap_index ||
	    a->offset > r->snap.size) {
		return; /* answers an older transfer, or nonsense */
	}
	pr->stall_ticks = 0;
	if (a->rejected && a->done) {
		/* Refused whole (the follower's limit or disk): sending it
		 * again at once would only repeat the refusal; the stall
		 * check offers it from the start after a long pause. */
		r->stats.snapshots_refused_by_peers++;
		pr->snap_offset = 0;
		pr->paused = true;
		pr->snap_refused = true;
		return;
	}
	pr->paused = false;
	if (a->done) {
		r->stats.snapshots_sent++;
		pr->state = RAFT_PR_PROBE;
		pr->next = pr->snap_index + 1;
		raft__send_append(r, slot, false);
		return;
	}
	pr->snap_offset = a->offset; /* resume where the follower is */
	raft__send_snapshot(r, slot);
}

static void reply(struct raft *r, raft_id to, raft_index index, uint64_t offset,
		  bool rejected, bool done)
{
	struct raft_message *o = raft__out(r, RAFT_MSG_SNAPSHOT_RESP, to);
	if (o != NULL) {
		o->snapshot_resp.last_index = index;
		o->snapshot_resp.offset = offset;
		o->snapshot_resp.rejected = rejected;
		o->snapshot_resp.done = done;
	}
}

static bool chunk_well_formed(const struct raft_message *m)
{
	const struct raft_snapshot_chunk *c = &m->snapshot;
	return c->last_index > 0 && c->last_term > 0 &&
	       c->last_term <= m->term && c->total > 0 && c->len > 0 &&
	       c->len <= RAFT_MAX_CHUNK_BYTES && c->data != NULL &&
	       c->offset < c->total && c->len <= c->total - c->offset &&
	       (c->done != 0) == (c->offset + c->len == c->total) &&
	       raft_config_validate(&c->config) == 0;
}

/* Member by member: the bytes of servers[] past n and the padding of each
 * server are not part of the configuration, and a sender need not clear
 * them (a memcmp restarted the transfer on every chunk when they differed:
 * clang-tidy bugprone-suspicious-memory-comparison). */
static bool same_config(const struct raft_config *a,
			const struct raft_config *b)
{
	if (a->n != b->n) {
		return false;
	}
	for (uint32_t i = 0; i < a->n; i++) {
		if (a->servers[i].id != b->servers[i].id ||
		    a->servers[i].role != b->servers[i].role) {
			return false;
		}
	}
	return true;
}

static bool same_snapshot(const struct raft_snap_in *in,
			  const struct raft_snapshot_chunk *c)
{
	return in->active && in->meta.index == c->last_index &&
	       in->meta.term == c->last_term && in->meta.size == c->total &&
	       same_config(&in->meta.config, &c->config);
}

static int stage_chunk(struct raft *r, const struct raft_snapshot_chunk *c)
{
	if (c->len > r->chunk_buf_cap) {
		void *b = fr_realloc(r->chunk_buf, c->len);
		if (b == NULL) {
			return FR_NOMEM;
		}
		r->chunk_buf = b;
		r->chunk_buf_cap = c->len;
	}
	memcpy(r->chunk_buf, c->data, c->len);
	r->chunk = *c;
	r->chunk.data = r->chunk_buf;
	r->out_chunk = true;
	return 0;
}

static void install(struct raft *r)
{
	const struct raft_snapshot_meta *m = &r->snap_in.meta;
	bool keep = m->index <= raft_log_last_index(&r->log) &&
		    m->index > r->log.offset &&
		    raft_log_term_of(&r->log, m->index) == m->term;
	if (keep) {
		raft_log_compact(&r->log, m->index);
		/* The driver may discard pending entry writes before it
		 * installs (raft.h note 5): write again what follows the
		 * snapshot and is not known durable. */
		if (r->persisted < m->index) {
			r->persisted = m->index;
		}
		if (r->persisted < raft_log_last_index(&r->log)) {
			raft__note_write(r, r->persisted + 1);
		}
	} else {
		raft_log_reset(&r->log, m->index, m->term);
		r->persisted = m->index;
	}
	r->base_config = m->config;
	raft__config_refresh(r);
	r->snap = *m;
	if (r->commit < m->index) {
		r->commit = m->index;
	}
	r->applied = m->index;
	r->snap_asked = m->index;
	if (r->match_hint < m->index) {
		r->match_hint = m->index;
	}
	r->out_install = true;
	r->install = *m;
	r->install_keep = keep;
	r->snap_in.active = false;
	r->stats.snapshots_installed++;
}

/* Precondition: m->term == r->term (receive_term() stepped up to it). */
void raft__recv_snapshot(struct raft *r, const struct raft_message *m)
{
	assert(m->term == r->term);
	const struct raft_snapshot_chunk *c = &m->snapshot;
	if (r->role == RAFT_LEADER || !chunk_well_formed(m)) {
		r->stats.snapshot_chunks_refused++;
		return;
	}
	if (r->role == RAFT_CANDIDATE || r->leader != m->from) {
		raft__become_follower(r, r->term, m->from);
	}
	r->election_elapsed = 0;
	if (c->last_index <= r->commit) {
		/* We already hold all of it: nothing to install. */
		reply(r, m->from, c->last_index, c->total, false, true);
		return;
	}
	struct raft_snap_in *in = &r->snap_in;
	if (!same_snapshot(in, c)) {
		if (c->offset != 0) {
			r->stats.snapshot_chunks_refused++;
			reply(r, m->from, c->last_index, 0, true, false);
			return;
		}
		in->active = true;
		in->meta.index = c->last_index;
		in->meta.term = c->last_term;
		in->meta.size = c->total;
		in->meta.config = c->config;
		in->next = 0;
	}
	if (c->offset != in->next) {
		/* A duplicate (behind) or a gap (ahead): say where we are. */
		r->stats.snapshot_chunks_refused++;
		reply(r, m->from, c->last_index, in->next, c->offset > in->next,
		      false);
		return;
	}
	if (stage_chunk(r, c) != 0) {
		return; /* out of memory: the leader sends it again */
	}
	in->next += c->len;
	if (!c->done) {
		reply(r, m->from, c->last_index, in->next, false, false);
		return;
	}
	install(r);
	reply(r, m->from, c->last_index, c->total, false, true);
}
