/* raft_election.c — timers, role changes and RequestVote (§5.2, §5.4.1). */
#include <string.h>

#include "raft_private.h"

void raft__reset_election_timer(struct raft *r)
{
	uint32_t t = r->opt.election_ticks;
	r->election_elapsed = 0;
	r->election_timeout = t + (uint32_t)(raft__rand(r) % t);
}

/* Step down to follower of @term (possibly the same term, e.g. a candidate
 * that hears from the term's leader).  The vote is reset only when the
 * term changes (invariant 1). */
void raft__become_follower(struct raft *r, raft_term term, raft_id leader)
{
	if (term > r->term) {
		r->term = term;
		r->vote = 0;
		r->match_hint = 0;
		r->acked = 0;
	}
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	raft__reset_election_timer(r);
}

static void become_leader(struct raft *r)
{
	r->role = RAFT_LEADER;
	r->leader = r->id;
	r->heartbeat_elapsed = 0;
	raft__progress_reset(r);
	/* A no-op of the new term lets the leader commit entries of earlier
	 * terms (§5.4.2) and learn the commit index quickly (§8). */
	raft_index idx = raft_log_last_index(&r->log) + 1;
	if (raft_log_append(&r->log, r->term, RAFT_ENTRY_NOOP, NULL, 0) == 0) {
		raft__note_write(r, idx);
	}
	r->stats.leader_terms++;
	raft__broadcast_append(r, false);
}

static uint32_t count_votes(const struct raft *r, uint8_t which)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->config.n; i++) {
		if (r->config.servers[i].role == RAFT_VOTER &&
		    r->votes[i] == which) {
			n++;
		}
	}
	return n;
}

void raft__campaign(struct raft *r)
{
	r->stats.elections_started++;
	r->term++;
	r->vote = r->id;
	r->role = RAFT_CANDIDATE;
	r->leader = 0;
	r->match_hint = 0;
	r->acked = 0;
	raft__reset_election_timer(r);
	memset(r->votes, 0, sizeof(r->votes));
	r->votes[raft__config_slot(&r->config, r->id)] = 1;

	uint32_t quorum = raft__config_voters(&r->config) / 2 + 1;
	if (count_votes(r, 1) >= quorum) {
		become_leader(r); /* single voter */
		return;
	}
	/* The driver persists term and vote before these leave (raft.h,
	 * invariant 1), so we can never vote twice in a term. */
	for (uint32_t i = 0; i < r->config.n; i++) {
		const struct raft_server *s = &r->config.servers[i];
		if (s->id == r->id || s->role != RAFT_VOTER) {
			continue;
		}
		struct raft_message *m = raft__out(r, RAFT_MSG_VOTE, s->id);
		if (m == NULL) {
			continue;
		}
		m->vote.last_index = raft_log_last_index(&r->log);
		m->vote.last_term = raft_log_last_term(&r->log);
	}
}

void raft__tick(struct raft *r)
{
	if (r->role == RAFT_LEADER) {
		raft__check_stalls(r);
		if (++r->heartbeat_elapsed >= r->opt.heartbeat_ticks) {
			r->heartbeat_elapsed = 0;
			r->hb_seq++;
			raft__broadcast_append(r, true);
		}
		return;
	}
	if (++r->election_elapsed >= r->election_timeout &&
	    raft__config_is_voter(&r->config, r->id) &&
	    r->term < RAFT_TERM_MAX) {
		raft__campaign(r);
	}
}

/* §5.4.1: grant only to a candidate whose log is at least as up to date as
 * ours: a later last term, or the same last term and at least as long. */
static bool log_up_to_date(const struct raft *r, const struct raft_vote *v)
{
	raft_term my_term = raft_log_last_term(&r->log);
	if (v->last_term != my_term) {
		return v->last_term > my_term;
	}
	return v->last_index >= raft_log_last_index(&r->log);
}

/* Precondition: m->term == r->term (the caller stepped up to it). */
void raft__recv_vote(struct raft *r, const struct raft_message *m)
{
	/* One vote per term; and while we know a leader of this term we do
	 * not help anyone replace it. */
	bool can_vote = r->vote == m->from || (r->vote == 0 && r->leader == 0);
	bool granted = can_vote && r->role == RAFT_FOLLOWER &&
		       raft__config_is_voter(&r->config, m->from) &&
		       log_up_to_date(r, &m->vote);
	if (granted) {
		r->vote = m->from;
		raft__reset_election_timer(r);
	}
	struct raft_message *o = raft__out(r, RAFT_MSG_VOTE_RESP, m->from);
	if (o != NULL) {
		o->vote_resp.granted = granted;
	}
}

void raft__recv_vote_resp(struct raft *r, const struct raft_message *m)
{
	if (r->role != RAFT_CANDIDATE) {
		return; /* late answer to an election already decided */
	}
	int slot = raft__config_slot(&r->config, m->from);
	if (r->votes[slot] == 0) {
		r->votes[slot] = m->vote_resp.granted ? 1 : 2;
	}
	uint32_t quorum = raft__config_voters(&r->config) / 2 + 1;
	if (count_votes(r, 1) >= quorum) {
		become_leader(r);
	} else if (count_votes(r, 2) >= quorum) {
		raft__become_follower(r, r->term, 0);
	}
}
