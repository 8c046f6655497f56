/* raft.c — lifecycle, the step entry point, outputs and inspection. */
#include <assert.h>
#include <string.h>

#include "heap.h"
#include "raft_private.h"

const char *raft_role_name(enum raft_role role)
{
	switch (role) {
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	}
	return "unknown";
}

const char *raft_msg_type_name(int type)
{
	static const char *names[RAFT_MSG_TYPE_NR] = {
	    [RAFT_MSG_VOTE] = "vote",
	    [RAFT_MSG_VOTE_RESP] = "vote_resp",
	    [RAFT_MSG_APPEND] = "append",
	    [RAFT_MSG_APPEND_RESP] = "append_resp",
	    [RAFT_MSG_SNAPSHOT] = "snapshot",
	    [RAFT_MSG_SNAPSHOT_RESP] = "snapshot_resp",
	    [RAFT_MSG_TIMEOUT_NOW] = "timeout_now",
	};
	if (type <= 0 || type >= RAFT_MSG_TYPE_NR) {
		return "unknown";
	}
	return names[type];
}

void raft_options_default(struct raft_options *o, raft_id id, uint64_t seed)
{
	memset(o, 0, sizeof(*o));
	o->id = id;
	o->seed = seed;
	o->election_ticks = 10;
	o->heartbeat_ticks = 1;
	o->max_inflight = 64;
	o->max_batch_entries = 256;
	o->max_batch_bytes = 1u << 20;
	o->pre_vote = true;
	o->check_quorum = true;
	o->lease_ticks = 0;
	o->tick_us = 10000;
	o->snapshot_threshold = 65536;
	o->snapshot_trailing = 1024;
	o->snapshot_chunk_bytes = 1u << 20;
	o->term_jump_max = RAFT_TERM_JUMP_DEFAULT;
}

/* splitmix64: tiny, seedable, good enough for election jitter. */
uint64_t raft_rand_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

uint64_t raft__rand(struct raft *r)
{
	return raft_rand_next(&r->rng);
}

static int options_check(const struct raft_options *o)
{
	if (o->id == 0 || o->id > RAFT_ID_MAX) {
		return FR_INVALID;
	}
	if (o->election_ticks < 2 || o->heartbeat_ticks == 0 ||
	    o->heartbeat_ticks >= o->election_ticks) {
		return FR_INVALID;
	}
	if (o->max_inflight == 0 || o->max_inflight > 4096 ||
	    o->max_batch_entries == 0 ||
	    o->max_batch_entries > RAFT_MAX_BATCH_ENTRIES ||
	    o->max_batch_bytes == 0) {
		return FR_INVALID;
	}
	/* The lease needs the vote lease of check-quorum and a margin of at
	 * least one tick for tick granularity (docs/architecture.md). */
	if (o->lease_ticks > 0 &&
	    (!o->check_quorum || o->lease_ticks + 1 >= o->election_ticks ||
	     o->tick_us == 0)) {
		return FR_INVALID;
	}
	if (o->snapshot_chunk_bytes == 0 ||
	    o->snapshot_chunk_bytes > RAFT_MAX_CHUNK_BYTES) {
		return FR_INVALID;
	}
	if (o->term_jump_max == 0) {
		return FR_INVALID;
	}
	return 0;
}

/* Where the restored log starts: entries at or below the snapshot are
 * covered by it, and a log that holds the snapshot's index with another
 * term predates an install that crashed before dropping it. */
static uint32_t restore_skip(const struct raft_restore *rs)
{
	const struct raft_entry *e = rs->entries;
	raft_index s = rs->snapshot_index;
	if (s == 0 || rs->n_entries == 0) {
		return 0;
	}
	raft_index first = e[0].index;
	raft_index last = first + rs->n_entries - 1;
	if (first > s) {
		return 0;
	}
	if (last < s || e[s - first].term != rs->snapshot_term) {
		return rs->n_entries; /* nothing after the snapshot is ours */
	}
	return (uint32_t)(s - first + 1);
}

static int restore_log(struct raft *r, const struct raft_restore *rs)
{
	const struct raft_entry *e = rs->entries;
	if (rs->n_entries > 0 && e == NULL) {
		return FR_INVALID;
	}
	if (rs->snapshot_index > 0) {
		if (rs->snapshot_term == 0 || rs->snapshot_term > rs->term ||
		    rs->snapshot_size == 0) {
			return FR_INVALID;
		}
		raft_log_reset(&r->log, rs->snapshot_index, rs->snapshot_term);
		r->snap.index = rs->snapshot_index;
		r->snap.term = rs->snapshot_term;
		r->snap.size = rs->snapshot_size;
		r->snap.config = rs->config;
	}
	uint32_t skip = restore_skip(rs);
	if (skip < rs->n_entries && e[skip].index != r->log.offset + 1) {
		return FR_INVALID; /* a gap after the snapshot: lost entries */
	}
	int rv = raft_log_reserve(&r->log, rs->n_entries - skip);
	if (rv != 0) {
		return rv;
	}
	for (uint32_t i = skip; i < rs->n_entries; i++) {
		if (e[i].index != raft_log_last_index(&r->log) + 1 ||
		    e[i].term < raft_log_last_term(&r->log) ||
		    e[i].term > rs->term || e[i].len > RAFT_MAX_ENTRY_BYTES ||
		    (e[i].len > 0 && e[i].buf == NULL) || e[i].type == 0 ||
		    e[i].type > RAFT_ENTRY_CONFIG ||
		    !raft__entries_valid_config(&e[i], 1)) {
			return FR_INVALID;
		}
		rv = raft_log_append(&r->log, e[i].term, e[i].type, e[i].buf,
				     e[i].len);
		if (rv != 0) {
			return rv;
		}
	}
	/* What was recovered from storage is durable by definition, and the
	 * snapshot is committed and applied (the driver restored it). */
	r->persisted = raft_log_last_index(&r->log);
	r->commit = r->log.offset;
	r->applied = r->log.offset;
	r->snap_asked = r->log.offset;
	r->base_config = rs->config;
	raft__config_refresh(r);
	return 0;
}

int raft_open(struct raft **out, const struct raft_options *o,
	      const struct raft_restore *rs)
{
	int rv = options_check(o);
	if (rv != 0) {
		return rv;
	}
	rv = raft_config_validate(&rs->config);
	if (rv != 0) {
		return rv;
	}
	/* No entry is stored with a term above the current one (the term
	 * is persisted first), so neither is the one at recover_index. */
	if (rs->vote > RAFT_ID_MAX || (rs->vote != 0 && rs->term == 0) ||
	    rs->term > RAFT_TERM_MAX || rs->recover_index_term > rs->term) {
		return FR_INVALID;
	}
	struct raft *r = fr_calloc(1, sizeof(*r));
	if (r == NULL) {
		return FR_NOMEM;
	}
	r->opt = *o;
	r->id = o->id;
	r->rng = o->seed ^ ((uint64_t)o->id << 56);
	r->term = rs->term;
	r->vote = rs->vote;
	r->config = rs->config;
	r->role = RAFT_FOLLOWER;
	raft_log_init(&r->log);

	/* Enough output slots for the busiest step: a full window to one
	 * follower plus one message to every server. */
	r->out_cap = o->max_inflight + 2 * RAFT_MAX_SERVERS + 4;
	r->out = fr_calloc(r->out_cap, sizeof(*r->out));
	r->out_msgs = fr_calloc(r->out_cap, sizeof(*r->out_msgs));
	if (r->out == NULL || r->out_msgs == NULL) {
		rv = FR_NOMEM;
		goto err_free;
	}
	rv = raft__progress_init(r);
	if (rv != 0) {
		goto err_free;
	}
	r->config = rs->config;
	rv = restore_log(r, rs);
	if (rv != 0) {
		goto err_progress;
	}
	if (rs->recover_index != 0) {
		/* raft.h note 7: repaired only by a leader's copy. */
		r->recover_index = rs->recover_index;
		r->recover_term = rs->term;
		r->recover_index_term = rs->recover_index_term;
	}
	raft__reset_election_timer(r);
	*out = r;
	return 0;

err_progress:
	raft__progress_close(r);
	raft__reads_close(r);
err_free:
	raft_log_close(&r->log);
	fr_free(r->out_msgs);
	fr_free(r->out);
	fr_free(r);
	return rv;
}

void raft_close(struct raft *r)
{
	if (r == NULL) {
		return;
	}
	raft__progress_close(r);
	raft__reads_close(r);
	raft_log_close(&r->log);
	fr_free(r->chunk_buf);
	fr_free(r->out_msgs);
	fr_free(r->out);
	fr_free(r);
}

struct raft_message *raft__out(struct raft *r, uint8_t type, raft_id to)
{
	if (r->n_out >= r->out_cap) {
		return NULL; /* dropped: Raft retransmits on the next tick */
	}
	struct raft_out *o = &r->out[r->n_out++];
	memset(o, 0, sizeof(*o));
	o->msg.type = type;
	o->msg.from = r->id;
	o->msg.to = to;
	o->msg.term = r->term;
	return &o->msg;
}

/* Remember the lowest log index written during this step. */
void raft__note_write(struct raft *r, raft_index from)
{
	if (r->persist_from == 0 || from < r->persist_from) {
		r->persist_from = from;
	}
	/* Anything at or past a rewritten index is no longer durable. */
	if (r->persisted >= from) {
		r->persisted = from - 1;
	}
	if (r->match_hint >= from) {
		r->match_hint = from - 1;
	}
}

static const struct raft_message *resolve_messages(struct raft *r)
{
	for (uint32_t i = 0; i < r->n_out; i++) {
		struct raft_message *m = &r->out_msgs[i];
		*m = r->out[i].msg;
		if (m->type == RAFT_MSG_APPEND && m->append.n_entries > 0) {
			m->append.entries =
			    raft_log_get(&r->log, r->out[i].first);
			assert(m->append.entries != NULL);
		}
	}
	return r->out_msgs;
}

struct before {
	raft_term term;
	raft_id vote;
	uint8_t role;
	raft_id leader;
	raft_index commit;
};

static void finish(struct raft *r, const struct before *b,
		   struct raft_update *u)
{
	if (r->recovered) {
		u->flags |= RAFT_UPDATE_RECOVERED;
	}
	if (r->term != b->term || r->vote != b->vote) {
		u->flags |= RAFT_UPDATE_HARDSTATE;
	}
	u->term = r->term;
	u->vote = r->vote;

	raft_index last = raft_log_last_index(&r->log);
	if (r->persist_from != 0 && r->persist_from <= last) {
		u->flags |= RAFT_UPDATE_ENTRIES;
		u->entries = raft_log_get(&r->log, r->persist_from);
		u->n_entries = (uint32_t)(last - r->persist_from + 1);
	}
	if (r->n_out > 0) {
		u->flags |= RAFT_UPDATE_MESSAGES;
		u->messages = resolve_messages(r);
		u->n_messages = r->n_out;
	}
	if (r->out_chunk) {
		u->flags |= RAFT_UPDATE_SNAPSHOT_CHUNK;
		u->chunk = &r->chunk;
	}
	if (r->out_install) {
		u->flags |= RAFT_UPDATE_SNAPSHOT_INSTALL;
		u->install = r->install;
		u->keep_log = r->install_keep;
	}
	raft_index applicable =
	    r->commit < r->persisted ? r->commit : r->persisted;
	if (applicable > r->applied) {
		u->flags |= RAFT_UPDATE_APPLY;
		u->apply = raft_log_get(&r->log, r->applied + 1);
		u->n_apply = (uint32_t)(applicable - r->applied);
		r->applied = applicable;
	}
	raft__reads_release(r);
	if (r->n_read_out > 0) {
		u->flags |= RAFT_UPDATE_READS;
		u->reads = r->read_out;
		u->n_reads = r->n_read_out;
	}
	raft__snapshot_maybe_ask(r, u);
	if (r->commit != b->commit) {
		u->flags |= RAFT_UPDATE_COMMIT;
	}
	u->commit = r->commit;
	if (r->role != b->role || r->leader != b->leader) {
		u->flags |= RAFT_UPDATE_ROLE;
	}
	u->role = r->role;
	u->leader = r->leader;
}

/* Drop messages the core must not act on, counting why (bad input is
 * never an assertion). */
static bool message_acceptable(struct raft *r, const struct raft_message *m)
{
	if (m->to != r->id || m->from == r->id || m->term == 0 ||
	    m->term > RAFT_TERM_MAX || m->type == 0 ||
	    m->type >= RAFT_MSG_TYPE_NR) {
		r->stats.msgs_dropped_bad++;
		return false;
	}
	if (m->from == 0 || m->from > RAFT_ID_MAX ||
	    (m->type == RAFT_MSG_VOTE_RESP &&
	     m->vote_resp.granted > RAFT_GRANT_CONDITIONAL)) {
		r->stats.msgs_dropped_bad++;
		return false;
	}
	/* Requests are processed whatever our configuration says (thesis
	 * 4.1): ours may be stale, or hold an uncommitted entry that the
	 * sender's log overwrites; dropping them could deadlock the
	 * cluster.  Answers update per-server state, so they need a slot. */
	bool answer = m->type == RAFT_MSG_VOTE_RESP ||
		      m->type == RAFT_MSG_APPEND_RESP ||
		      m->type == RAFT_MSG_SNAPSHOT_RESP;
	if (answer && raft__config_slot(&r->config, m->from) < 0) {
		r->stats.msgs_dropped_unknown++;
		return false;
	}
	return true;
}

/* Terms in messages (§5.1), with the two exceptions of pre-vote: a
 * pre-vote request and a granted answer carry the term the candidate
 * would have, and must not move anyone's term. */
static bool receive_term(struct raft *r, const struct raft_message *m)
{
	if (m->term > r->term && m->term - r->term > r->opt.term_jump_max) {
		/* Far beyond anything an election could have reached: never
		 * adopted, never answered (raft.h, "Terms cannot be
		 * exhausted"). */
		r->stats.msgs_dropped_term_jump++;
		return false;
	}
	if (m->term > r->term) {
		if (m->type == RAFT_MSG_VOTE) {
			if (!(m->vote.flags & RAFT_VOTE_TRANSFER) &&
			    raft__in_lease(r)) {
				r->stats.votes_ignored_lease++;
				return false;
			}
			if (m->vote.flags & RAFT_VOTE_PREVOTE) {
				return true; /* answered without a step up */
			}
		}
		if (m->type == RAFT_MSG_VOTE_RESP && m->vote_resp.prevote &&
		    m->vote_resp.granted) {
			return true;
		}
		bool from_leader =
		    m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_SNAPSHOT;
		raft__become_follower(r, m->term, from_leader ? m->from : 0);
		return true;
	}
	if (m->term == r->term) {
		return true;
	}
	r->stats.msgs_dropped_stale++;
	/* Tell a stale leader or candidate about the newer term so it steps
	 * down (§5.1). */
	if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_SNAPSHOT) {
		struct raft_message *o =
		    raft__out(r, RAFT_MSG_APPEND_RESP, m->from);
		if (o != NULL && m->type == RAFT_MSG_APPEND) {
			o->append_resp.index = m->append.prev_index;
			o->append_resp.last_index =
			    raft_log_last_index(&r->log);
			o->append_resp.seq = m->append.seq;
		}
	} else if (m->type == RAFT_MSG_VOTE) {
		struct raft_message *o =
		    raft__out(r, RAFT_MSG_VOTE_RESP, m->from);
		if (o != NULL) {
			o->vote_resp.prevote =
			    (m->vote.flags & RAFT_VOTE_PREVOTE) != 0;
		}
	}
	return false;
}

static void receive(struct raft *r, const struct raft_message *m)
{
	r->stats.msgs_received++;
	if (!message_acceptable(r, m) || !receive_term(r, m)) {
		return;
	}
	switch (m->type) {
	case RAFT_MSG_VOTE:
		raft__recv_vote(r, m);
		break;
	case RAFT_MSG_VOTE_RESP:
		raft__recv_vote_resp(r, m);
		break;
	case RAFT_MSG_APPEND:
		raft__recv_append(r, m);
		break;
	case RAFT_MSG_APPEND_RESP:
		raft__recv_append_resp(r, m);
		break;
	case RAFT_MSG_SNAPSHOT:
		raft__recv_snapshot(r, m);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		raft__recv_snapshot_resp(r, m);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		raft__recv_timeout_now(r, m);
		break;
	}
}

int raft_step(struct raft *r, const struct raft_event *ev,
	      struct raft_update *u)
{
	memset(u, 0, sizeof(*u));
	r->n_out = 0;
	r->persist_from = 0;
	r->n_read_out = 0;
	r->out_chunk = false;
	r->out_install = false;
	r->recovered = false;
	struct before b = {r->term, r->vote, r->role, r->leader, r->commit};
	int rv = 0;

	raft__clock(r, ev->time_us);

	switch (ev->type) {
	case RAFT_EVENT_TICK:
		raft__tick(r);
		break;
	case RAFT_EVENT_RECEIVE:
		if (ev->receive.message == NULL) {
			return FR_INVALID;
		}
		receive(r, ev->receive.message);
		break;
	case RAFT_EVENT_PROPOSE:
		rv = raft__propose(r, ev->propose.bufs, ev->propose.n, u);
		break;
	case RAFT_EVENT_PERSISTED:
		raft__persisted(r, ev->persisted.index, ev->persisted.term);
		break;
	case RAFT_EVENT_CAMPAIGN:
		if (r->role != RAFT_LEADER && r->term < RAFT_TERM_MAX &&
		    raft__config_is_voter(&r->config, r->id)) {
			raft__campaign(r, false);
		}
		break;
	case RAFT_EVENT_READ:
		rv = raft__read(r, ev->read.ctx, ev->read.n, ev->read.lease);
		break;
	case RAFT_EVENT_TRANSFER:
		rv = raft__transfer(r, ev->transfer.to, ev->transfer.abort);
		break;
	case RAFT_EVENT_CHANGE:
		rv = raft__change(r, ev->change.op, ev->change.id, u);
		break;
	case RAFT_EVENT_SNAPSHOT:
		rv = raft__snapshot_taken(r, ev->snapshot.index,
					  ev->snapshot.size);
		break;
	default:
		return FR_INVALID;
	}
	if (r->read_round) {
		raft__read_round(r); /* now, or once the last round is in */
	}
	/* Not in a SNAPSHOT step, whose update drivers need not carry out,
	 * nor with an install in flight: RECOVERED must follow it durably
	 * (raft.h note 7).  May acknowledge: before the messages resolve. */
	if (ev->type != RAFT_EVENT_SNAPSHOT && !r->out_install) {
		raft__recover_check(r);
	}
	finish(r, &b, u);
	return rv;
}

void raft_status_get(const struct raft *r, struct raft_status *s)
{
	memset(s, 0, sizeof(*s));
	s->id = r->id;
	s->role = r->role;
	s->term = r->term;
	s->vote = r->vote;
	s->leader = r->leader;
	s->commit = r->commit;
	s->applied = r->applied;
	s->persisted = r->persisted;
	s->first_index = r->log.offset + 1;
	s->last_index = raft_log_last_index(&r->log);
	s->last_term = raft_log_last_term(&r->log);
	s->n_voters = raft__config_voters(&r->config);
	s->snapshot_index = r->snap.index;
	s->config_index = r->config_index;
	s->transfer_to = r->transfer_to;
	s->prevoting = r->prevoting;
	s->lease_valid = raft__lease_valid(r);
	s->pending_reads = r->reads_n;
	s->term_exhausted = r->term >= RAFT_TERM_MAX;
	s->recovering = r->recover_index != 0;
	s->recover_index = r->recover_index;
}

void raft_stats_get(const struct raft *r, struct raft_stats *s)
{
	*s = r->stats;
}

const struct raft_config *raft_config_get(const struct raft *r)
{
	return &r->config;
}

int raft_config_at(const struct raft *r, raft_index index,
		   struct raft_config *out)
{
	return raft__config_at(r, index, out);
}

void raft_snapshot_get(const struct raft *r, struct raft_snapshot_meta *m)
{
	*m = r->snap;
}

raft_term raft_log_term(const struct raft *r, raft_index index)
{
	return raft_log_term_of(&r->log, index);
}

const struct raft_entry *raft_log_entry(const struct raft *r, raft_index index)
{
	return raft_log_get(&r->log, index);
}
