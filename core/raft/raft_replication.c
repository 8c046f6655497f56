/* raft_replication.c — proposals, AppendEntries both ways, commit (§5.3). */
#include <assert.h>
#include <string.h>

#include "heap.h"
#include "raft_private.h"

int raft__propose(struct raft *r, const struct raft_buf *bufs, uint32_t n,
		  struct raft_update *u)
{
	if (r->role != RAFT_LEADER) {
		return FR_NOTLEADER;
	}
	if (bufs == NULL || n == 0 || n > RAFT_MAX_BATCH_ENTRIES) {
		return FR_INVALID;
	}
	if (r->transfer_to != 0) {
		return FR_BUSY; /* handing over: the next leader takes it */
	}
	for (uint32_t i = 0; i < n; i++) {
		if (bufs[i].len > RAFT_MAX_ENTRY_BYTES ||
		    (bufs[i].len > 0 && bufs[i].base == NULL)) {
			return FR_INVALID;
		}
	}
	/* Reserve first so that either the whole batch goes in or nothing. */
	int rv = raft_log_reserve(&r->log, n);
	if (rv != 0) {
		return rv;
	}
	raft_index first = raft_log_last_index(&r->log) + 1;
	for (uint32_t i = 0; i < n; i++) {
		rv = raft_log_append(&r->log, r->term, RAFT_ENTRY_NORMAL,
				     bufs[i].base, bufs[i].len);
		if (rv != 0) {
			if (i > 0) {
				raft_log_truncate(&r->log, first);
			}
			return rv;
		}
	}
	raft__note_write(r, first);
	u->proposed_index = first;
	u->proposed_term = r->term;
	raft__broadcast_append(r, false);
	return 0;
}

/* How many entries from @from fit one AppendEntries. */
static uint32_t batch_size(const struct raft *r, raft_index from)
{
	raft_index last = raft_log_last_index(&r->log);
	if (from > last) {
		return 0;
	}
	uint64_t avail = last - from + 1;
	uint32_t max = r->opt.max_batch_entries;
	uint32_t n = avail < max ? (uint32_t)avail : max;
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < n; i++) {
		bytes += raft_log_get(&r->log, from + i)->len;
		if (i > 0 && bytes > r->opt.max_batch_bytes) {
			return i;
		}
	}
	return n;
}

/*
 * Send one AppendEntries to the follower in @slot.  A heartbeat carries no
 * entries and names the follower's match point as prev (known to agree, so
 * a heartbeat never triggers a spurious reject while appends are in
 * flight); it carries the commit index and the heartbeat round.
 */
void raft__send_append(struct raft *r, int slot, bool heartbeat)
{
	struct raft_progress *pr = &r->progress[slot];
	raft_id to = r->config.servers[slot].id;
	raft_index prev;
	uint32_t n = 0;

	if (heartbeat && pr->state != RAFT_PR_PROBE) {
		/* Below the compaction point the follower's log matches
		 * only where ours starts. */
		prev = pr->match > r->log.offset ? pr->match : r->log.offset;
	} else {
		if (pr->state == RAFT_PR_SNAPSHOT ||
		    pr->next <= r->log.offset) {
			raft__send_snapshot(r, slot);
			return;
		}
		if (pr->state == RAFT_PR_PROBE && pr->paused) {
			return;
		}
		if (pr->state == RAFT_PR_REPLICATE &&
		    raft__inflight_full(&pr->inflight)) {
			return;
		}
		prev = pr->next - 1;
		n = batch_size(r, pr->next);
		if (n == 0 && !heartbeat && pr->state == RAFT_PR_REPLICATE) {
			return; /* nothing new to send */
		}
	}
	struct raft_message *m = raft__out(r, RAFT_MSG_APPEND, to);
	if (m == NULL) {
		return;
	}
	m->append.prev_index = prev;
	m->append.prev_term = raft_log_term_of(&r->log, prev);
	m->append.commit = r->commit;
	m->append.seq = r->hb_seq;
	m->append.n_entries = n;
	r->out[r->n_out - 1].first = prev + 1;

	if (pr->state == RAFT_PR_PROBE) {
		pr->paused = true;
	} else if (n > 0) {
		pr->next = prev + n + 1;
		raft__inflight_add(&pr->inflight, prev + n);
	}
}

void raft__broadcast_append(struct raft *r, bool heartbeat)
{
	for (uint32_t i = 0; i < r->config.n; i++) {
		if (r->config.servers[i].id == r->id) {
			continue;
		}
		struct raft_progress *pr = &r->progress[i];
		if (heartbeat) {
			/* A probe unanswered for a heartbeat interval is
			 * presumed lost: send it again.  A full window whose
			 * answers are lost frees one slot, so a later send
			 * finds the gap and falls back to probing. */
			if (pr->state != RAFT_PR_SNAPSHOT) {
				pr->paused = false;
			}
			if (raft__inflight_full(&pr->inflight)) {
				raft__inflight_free_to(
				    &pr->inflight,
				    pr->inflight.last[pr->inflight.start]);
			}
		}
		raft__send_append(r, (int)i, heartbeat);
		/* Fill the window of a streaming follower. */
		while (!heartbeat && pr->state == RAFT_PR_REPLICATE &&
		       !raft__inflight_full(&pr->inflight) &&
		       pr->next <= raft_log_last_index(&r->log) &&
		       r->n_out < r->out_cap) {
			raft__send_append(r, (int)i, false);
		}
	}
}

/* Commit the highest index durable on a majority of voters whose entry is
 * of the current term (§5.4.2: never commit an older term by counting). */
void raft__maybe_commit(struct raft *r)
{
	uint64_t match[RAFT_MAX_SERVERS];
	for (uint32_t i = 0; i < r->config.n; i++) {
		match[i] = r->progress[i].match;
	}
	if (raft__config_voters(&r->config) == 0) {
		return;
	}
	raft_index q = raft__quorum_value(r, r->persisted, match);
	if (q > r->commit && raft_log_term_of(&r->log, q) == r->term) {
		r->commit = q;
		raft__config_after_commit(r);
	}
}

/* Reject hint (fast backtracking): where the leader should resume. */
static void reject(struct raft *r, const struct raft_message *m)
{
	r->stats.appends_rejected++;
	struct raft_message *o = raft__out(r, RAFT_MSG_APPEND_RESP, m->from);
	if (o == NULL) {
		return;
	}
	raft_index last = raft_log_last_index(&r->log);
	raft_index prev = m->append.prev_index;
	o->append_resp.success = 0;
	o->append_resp.index = prev;
	o->append_resp.last_index = last;
	o->append_resp.seq = m->append.seq;
	if (prev > last) {
		o->append_resp.conflict_term = 0;
		o->append_resp.conflict_index = last + 1;
	} else {
		o->append_resp.conflict_term = raft_log_term_of(&r->log, prev);
		o->append_resp.conflict_index =
		    raft_log_term_start(&r->log, prev);
	}
}

static void ack(struct raft *r, raft_id to, uint64_t seq)
{
	struct raft_message *o = raft__out(r, RAFT_MSG_APPEND_RESP, to);
	if (o == NULL) {
		return;
	}
	raft_index idx =
	    r->persisted < r->match_hint ? r->persisted : r->match_hint;
	o->append_resp.success = 1;
	if (r->recover_index != 0) {
		/* raft.h note 7: not counted, and not remembered as acked. */
		o->append_resp.conflict_term = RAFT_ACK_UNCOUNTED;
		o->append_resp.index = idx;
		o->append_resp.last_index = raft_log_last_index(&r->log);
		o->append_resp.seq = seq;
		return;
	}
	o->append_resp.index = idx;
	o->append_resp.last_index = raft_log_last_index(&r->log);
	o->append_resp.seq = seq;
	if (idx > r->acked) {
		r->acked = idx;
	}
	if (seq > r->seq_acked) {
		r->seq_acked = seq;
	}
}

/* Entries must be consecutive from prev_index + 1, with terms that never
 * decrease, start at >= prev_term and never exceed the message's term. */
static bool append_well_formed(const struct raft_message *m)
{
	const struct raft_append *a = &m->append;
	if (a->n_entries > RAFT_MAX_BATCH_ENTRIES ||
	    (a->n_entries > 0 && a->entries == NULL) ||
	    a->prev_term > m->term ||
	    (a->prev_index == 0) != (a->prev_term == 0)) {
		return false;
	}
	raft_term t = a->prev_term;
	for (uint32_t i = 0; i < a->n_entries; i++) {
		const struct raft_entry *e = &a->entries[i];
		if (e->index != a->prev_index + 1 + i || e->term < t ||
		    e->term > m->term || e->len > RAFT_MAX_ENTRY_BYTES ||
		    (e->len > 0 && e->buf == NULL) || e->type == 0 ||
		    e->type > RAFT_ENTRY_CONFIG) {
			return false;
		}
		t = e->term;
	}
	/* Configuration entries must decode (checked once the payloads are
	 * known to be there). */
	if (!raft__entries_valid_config(a->entries, a->n_entries)) {
		return false;
	}
	return a->prev_index + a->n_entries >= a->prev_index; /* overflow */
}

static bool has_config(const struct raft *r, raft_index from)
{
	for (raft_index i = from; i <= raft_log_last_index(&r->log); i++) {
		if (raft_log_get(&r->log, i)->type == RAFT_ENTRY_CONFIG) {
			return true;
		}
	}
	return false;
}

/*
 * New entries whose heartbeat round was answered already: the ack
 * raft__persisted() sends once they are durable answers this message (it
 * carries the highest round received).  An ack now would tell the leader
 * nothing (its index is the old durable point, its round answered) and
 * cost both sides a message; sent before the write, it also delayed the
 * write.  A recovering node's acks are uncounted and kept as they were.
 * Returns whether the ack waits.
 */
static bool ack_deferred(struct raft *r, const struct raft_append *a,
			 raft_index appended, raft_index last_new)
{
	if (a->seq > r->seq_in) {
		r->seq_in = a->seq;
	}
	if (appended != 0 && a->seq <= r->seq_acked && r->recover_index == 0 &&
	    r->persisted < last_new) {
		r->stats.acks_deferred++;
		return true;
	}
	return false;
}

/* Precondition: m->term == r->term (receive_term() stepped up to it). */
void raft__recv_append(struct raft *r, const struct raft_message *m)
{
	assert(m->term == r->term);
	if (r->role == RAFT_LEADER) {
		/* Two leaders in one term cannot happen (§5.2); a peer that
		 * claims it is misbehaving.  Count and ignore. */
		r->stats.msgs_dropped_bad++;
		return;
	}
	if (!append_well_formed(m)) {
		r->stats.appends_malformed++;
		return;
	}
	if (r->role == RAFT_CANDIDATE || r->leader != m->from) {
		raft__become_follower(r, r->term, m->from);
	}
	r->election_elapsed = 0;

	const struct raft_append *a = &m->append;
	if (!raft_log_matches(&r->log, a->prev_index, a->prev_term)) {
		reject(r, m);
		return;
	}
	raft_index last_new = a->prev_index + a->n_entries;
	/* Never let a message rewrite what we know is committed. */
	for (uint32_t i = 0; i < a->n_entries; i++) {
		raft_index idx = a->entries[i].index;
		if (idx <= r->commit && idx > r->log.offset &&
		    raft_log_term_of(&r->log, idx) != a->entries[i].term) {
			r->stats.appends_malformed++;
			return;
		}
	}
	raft_index truncated, appended;
	int rv = raft_log_merge(&r->log, a->prev_index, a->entries,
				a->n_entries, &truncated, &appended);
	if (truncated != 0) {
		raft__note_write(r, truncated);
	}
	if (appended != 0) {
		raft__note_write(r, appended);
	}
	if ((truncated != 0 && truncated <= r->config_index) ||
	    (appended != 0 && has_config(r, appended))) {
		raft__config_refresh(r);
	}
	if (rv != 0) {
		/* Out of memory part way: what was merged is consistent;
		 * acknowledge only that. */
		last_new = raft_log_last_index(&r->log) < last_new
			       ? raft_log_last_index(&r->log)
			       : last_new;
	}
	if (last_new > r->match_hint) {
		r->match_hint = last_new;
	}
	raft_index c = a->commit < last_new ? a->commit : last_new;
	if (c > r->commit) {
		r->commit = c;
	}
	if (!ack_deferred(r, a, appended, last_new)) {
		ack(r, m->from, a->seq);
	}
}

static raft_index hint_next(const struct raft *r,
			    const struct raft_progress *pr,
			    const struct raft_append_resp *a)
{
	raft_index next = a->conflict_index;
	if (a->conflict_term != 0) {
		raft_index j =
		    raft_log_last_of_term(&r->log, a->conflict_term, a->index);
		if (j != 0) {
			next = j + 1;
		}
	}
	if (next > a->index) {
		next = a->index; /* always move back past the rejected prev */
	}
	if (next <= pr->match) {
		next = pr->match + 1;
	}
	if (next == 0) {
		next = 1;
	}
	return next;
}

/* A recovering follower's success (raft.h note 7): stream on from its
 * index, but leave match (what commits count) alone. */
static void recovering_ack(struct raft_progress *pr,
			   const struct raft_append_resp *a, raft_index last)
{
	if (a->index > last) {
		return;
	}
	raft__inflight_free_to(&pr->inflight, a->index);
	pr->stall_ticks = 0;
	if (pr->state == RAFT_PR_PROBE) {
		pr->state = RAFT_PR_REPLICATE;
		pr->paused = false;
		pr->next = a->index + 1;
		raft__inflight_reset(&pr->inflight);
	} else if (pr->next <= a->index) {
		pr->next = a->index + 1;
	}
}

/* A rejection: probe from where the follower's hint says.  False for an
 * answer to an older message (ignored). */
static bool rejected(struct raft *r, struct raft_progress *pr,
		     const struct raft_append_resp *a, raft_index last)
{
	if (a->last_index < pr->match && a->index <= last) {
		/* The follower holds less than it acknowledged: its storage
		 * lost entries (raft.h note 7).  Probe again from its end;
		 * a lower match only makes commits need more acks. */
		r->stats.followers_regressed++;
		pr->match = a->last_index;
		pr->next = a->last_index + 1;
	} else {
		bool stale = pr->state == RAFT_PR_REPLICATE
				 ? a->index <= pr->match
				 : a->index + 1 != pr->next;
		if (stale || a->index == 0 || a->index > last) {
			return false;
		}
		pr->next = hint_next(r, pr, a);
	}
	pr->state = RAFT_PR_PROBE;
	pr->paused = false;
	raft__inflight_reset(&pr->inflight);
	return true;
}

/* Precondition: m->term == r->term (receive_term() stepped up to it). */
void raft__recv_append_resp(struct raft *r, const struct raft_message *m)
{
	assert(m->term == r->term);
	if (r->role != RAFT_LEADER) {
		return;
	}
	int slot = raft__config_slot(&r->config, m->from);
	struct raft_progress *pr = &r->progress[slot];
	const struct raft_append_resp *a = &m->append_resp;
	raft_index last = raft_log_last_index(&r->log);

	pr->recent_active = true;
	raft__note_seq_acked(r, slot, a->seq);
	bool uncounted = a->success && a->conflict_term == RAFT_ACK_UNCOUNTED;
	if (pr->state == RAFT_PR_SNAPSHOT) {
		/* Heartbeat answers while a snapshot is on its way. */
		if (a->success && !uncounted && a->index <= last &&
		    a->index > pr->match) {
			pr->match = a->index;
			raft__maybe_commit(r);
		}
		return;
	}
	if (uncounted) {
		recovering_ack(pr, a, last);
	} else if (a->success) {
		if (a->index > last) {
			r->stats
			    .msgs_dropped_bad++; /* acks what we never sent */
			return;
		}
		raft__inflight_free_to(&pr->inflight, a->index);
		if (a->index > pr->match) {
			pr->match = a->index;
			pr->stall_ticks = 0;
			raft__maybe_commit(r);
			if (r->role != RAFT_LEADER) {
				return; /* its own removal committed */
			}
			raft__transfer_progress(r, slot);
		}
		if (pr->next <= pr->match) {
			pr->next = pr->match + 1;
		}
		if (pr->state == RAFT_PR_PROBE) {
			pr->state = RAFT_PR_REPLICATE;
			pr->paused = false;
			pr->next = pr->match + 1;
			raft__inflight_reset(&pr->inflight);
		}
	} else if (!rejected(r, pr, a, last)) {
		return; /* answer to an older message */
	}
	raft__send_append(r, slot, false);
	while (pr->state == RAFT_PR_REPLICATE &&
	       !raft__inflight_full(&pr->inflight) && pr->next <= last &&
	       r->n_out < r->out_cap) {
		raft__send_append(r, slot, false);
	}
}

void raft__persisted(struct raft *r, raft_index index, raft_term term)
{
	/* Ignore reports about entries since rewritten: by Log Matching the
	 * same (index, term) means the same entry and prefix. */
	if (index <= r->persisted || index > raft_log_last_index(&r->log) ||
	    raft_log_term_of(&r->log, index) != term) {
		return;
	}
	r->persisted = index;
	raft__recover_check(r); /* its ack counts: no uncounted one first */
	if (r->role == RAFT_LEADER) {
		raft__maybe_commit(r);
	} else if (r->leader != 0) {
		raft_index idx =
		    r->persisted < r->match_hint ? r->persisted : r->match_hint;
		if (idx > r->acked) {
			ack(r, r->leader, r->seq_in);
		}
	}
}

/*
 * Retransmission timeout for the streaming state.  Appends lost in
 * REPLICATE leave a gap that only a later append would reveal (the follower
 * rejects it); with no new proposals nothing would.  A follower with entries
 * outstanding and no acknowledgement for half an election timeout goes back
 * to probing from its match point.
 */
void raft__check_stalls(struct raft *r)
{
	uint32_t limit = r->opt.election_ticks / 2;
	if (limit < 2) {
		limit = 2;
	}
	for (uint32_t i = 0; i < r->config.n; i++) {
		struct raft_progress *pr = &r->progress[i];
		if (r->config.servers[i].id == r->id) {
			continue;
		}
		if (pr->state == RAFT_PR_SNAPSHOT) {
			/* An unanswered chunk is sent again; a refused
			 * snapshot much later. */
			uint32_t wait = pr->snap_refused
					    ? r->opt.election_ticks *
						  RAFT_SNAPSHOT_REFUSED_BACKOFF
					    : limit;
			if (pr->paused && ++pr->stall_ticks >= wait) {
				pr->stall_ticks = 0;
				pr->paused = false;
				pr->snap_refused = false;
				raft__send_snapshot(r, (int)i);
			}
			continue;
		}
		if (pr->state != RAFT_PR_REPLICATE ||
		    pr->next <= pr->match + 1) {
			pr->stall_ticks = 0;
			continue;
		}
		if (++pr->stall_ticks >= limit) {
			pr->stall_ticks = 0;
			pr->state = RAFT_PR_PROBE;
			pr->paused = false;
			pr->next = pr->match + 1;
			raft__inflight_reset(&pr->inflight);
		}
	}
}

/*
 * raft.h note 7: a recovering follower is repaired once its log durably
 * matches the current leader's (whose term is >= ours at open, since terms
 * never decrease) through recover_index, or through an entry of a later
 * term than ours at open (every entry we could have acknowledged was of
 * our term or older, and a leader's log holds every committed one before
 * its first entry of a newer term), or once a snapshot covering
 * recover_index is installed.  Then it acknowledges for real.
 */
void raft__recover_check(struct raft *r)
{
	if (r->recover_index == 0) {
		return;
	}
	bool repaired = r->snap.index >= r->recover_index;
	if (!repaired && r->role == RAFT_FOLLOWER && r->leader != 0) {
		raft_index idx =
		    r->persisted < r->match_hint ? r->persisted : r->match_hint;
		repaired = idx > r->log.offset &&
			   (idx >= r->recover_index ||
			    raft_log_term_of(&r->log, idx) > r->recover_term);
	}
	if (!repaired) {
		return;
	}
	r->recover_index = 0;
	r->recovered = true;
	if (r->role == RAFT_FOLLOWER && r->leader != 0) {
		ack(r, r->leader, 0);
	}
}
