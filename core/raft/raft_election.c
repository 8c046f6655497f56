/* raft_election.c — timers, role changes, RequestVote (§5.2, §5.4.1),
 * pre-vote (thesis 9.6) and check-quorum (thesis 6.2). */
#include <assert.h>
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
	if (r->role == RAFT_LEADER) {
		raft__reads_fail(r); /* they can no longer be confirmed */
		r->transfer_to = 0;
	}
	r->prevoting = false;
	if (term > r->term) {
		r->term = term;
		r->vote = 0;
		r->match_hint = 0;
		r->acked = 0;
		r->seq_in = 0;
		r->seq_acked = 0;
	}
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	raft__reset_election_timer(r);
}

static void become_leader(struct raft *r, bool conditional)
{
	if (conditional) {
		r->stats.elections_won_conditional++;
	}
	if (r->recover_index != 0) {
		/* raft.h note 7: the winner's log is the cluster's now (every
		 * voter that could hold a committed entry it lacks refused),
		 * so nothing is left to repair.  RECOVERED is carried out
		 * before this step's entries and messages (note 5): "not
		 * recovering" is durable before the no-op is written or sent,
		 * and a restart cannot resume recovering under a log whose
		 * entries it may since have acknowledged as leader. */
		r->recover_index = 0;
		r->recovered = true;
	}
	r->role = RAFT_LEADER;
	r->leader = r->id;
	r->heartbeat_elapsed = 0;
	r->election_elapsed = 0;
	r->prevoting = false;
	r->transfer_to = 0;
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

enum tally { TALLY_OPEN, TALLY_WON, TALLY_WON_COND, TALLY_LOST };

/* Rule 3 (raft.h note 7): plain grants count toward a majority as
 * always; conditional ones only once every voter granted, plainly or
 * conditionally.  A voter that kept a committed entry the candidate
 * lacks refuses it (its log is more up to date), so a candidate lacking
 * an entry that fewer than a majority lost never hears all yes.  Never
 * with a single voter: its one copy is the majority, and if it is lost
 * nobody is left to refuse. */
static enum tally tally(const struct raft *r)
{
	uint32_t voters = raft__config_voters(&r->config);
	uint32_t quorum = voters / 2 + 1;
	uint32_t yes = count_votes(r, RAFT_BALLOT_YES);
	if (yes >= quorum) {
		return TALLY_WON;
	}
	if (voters > 1 && yes + count_votes(r, RAFT_BALLOT_COND) == voters) {
		return TALLY_WON_COND;
	}
	return count_votes(r, RAFT_BALLOT_NO) >= quorum ? TALLY_LOST
							: TALLY_OPEN;
}

/* While a server hears from a leader (less than an election timeout ago),
 * it ignores candidates: a server that was partitioned, removed, or is new
 * cannot depose a healthy leader, and the leader lease (raft_read.c) rests
 * on it.  Only with check_quorum, which bounds how long a leader that lost
 * its majority keeps it. */
bool raft__in_lease(const struct raft *r)
{
	return r->opt.check_quorum && r->leader != 0 &&
	       r->election_elapsed < r->opt.election_ticks;
}

/* §5.4.1's order on logs: (term, index) is at least as up to date as
 * (t, i): a later last term, or the same last term and at least as long. */
static bool log_at_least(raft_term term, raft_index index, raft_term t,
			 raft_index i)
{
	return term != t ? term > t : index >= i;
}

/* §5.4.1: grant only to a candidate whose log is at least as up to date as
 * ours. */
static bool log_up_to_date(const struct raft *r, const struct raft_vote *v)
{
	return log_at_least(v->last_term, v->last_index,
			    raft_log_last_term(&r->log),
			    raft_log_last_index(&r->log));
}

/* Rule 2 (raft.h note 7): the grant this server gives a log (term, index)
 * that passed the up-to-date check.  A recovering server vouches only for
 * a log at least as up to date as the one it had before the damage
 * through recover_index: a newer last term holds everything its leaders
 * committed; the same term and an index >= X got X from that term's
 * leader.  Otherwise (below, or the term of X unknown) it cannot tell:
 * conditional. */
static uint8_t grant_kind(const struct raft *r, raft_term term,
			  raft_index index)
{
	if (r->recover_index == 0 ||
	    (r->recover_index_term != 0 &&
	     log_at_least(term, index, r->recover_index_term,
			  r->recover_index))) {
		return RAFT_GRANT_YES;
	}
	return RAFT_GRANT_CONDITIONAL;
}

/* This server's own ballot as a candidate (rule 2 applied to itself). */
static uint8_t own_ballot(const struct raft *r)
{
	return grant_kind(r, raft_log_last_term(&r->log),
			  raft_log_last_index(&r->log)) == RAFT_GRANT_YES
		   ? RAFT_BALLOT_YES
		   : RAFT_BALLOT_COND;
}

/* A recovering sole voter whose own vote is conditional can never win
 * (rule 3 needs a second voter to vouch): it does not start elections
 * that would only raise the term; --accept-data-loss is the way out. */
static bool blocked_single_voter(struct raft *r)
{
	if (raft__config_voters(&r->config) > 1 ||
	    own_ballot(r) == RAFT_BALLOT_YES) {
		return false;
	}
	r->stats.campaigns_blocked_single_voter++;
	raft__reset_election_timer(r);
	return true;
}

/* Ask the voters for their vote in @term (all of them, or with @unanswered
 * only those whose answer has not arrived: a request lost on the way, e.g.
 * while a transport reconnects, is asked again every heartbeat interval;
 * asking twice in one term is harmless, a voter answers the same). */
static void send_votes(struct raft *r, raft_term term, uint8_t flags,
		       bool unanswered)
{
	r->vote_flags = flags;
	r->heartbeat_elapsed = 0;
	/* The driver persists term and vote before these leave (raft.h,
	 * invariant 1), so we can never vote twice in a term. */
	for (uint32_t i = 0; i < r->config.n; i++) {
		const struct raft_server *s = &r->config.servers[i];
		if (s->id == r->id || s->role != RAFT_VOTER ||
		    (unanswered && r->votes[i] != 0)) {
			continue;
		}
		struct raft_message *m = raft__out(r, RAFT_MSG_VOTE, s->id);
		if (m == NULL) {
			continue;
		}
		m->term = term;
		m->vote.last_index = raft_log_last_index(&r->log);
		m->vote.last_term = raft_log_last_term(&r->log);
		m->vote.flags = flags;
	}
}

/* Pre-vote: ask whether a majority would vote for us in term + 1, without
 * changing term or vote.  A server cut off from the cluster keeps failing
 * here and so never inflates its term (thesis 9.6). */
void raft__prevote(struct raft *r)
{
	if (blocked_single_voter(r)) {
		return;
	}
	r->stats.prevotes_started++;
	r->role = RAFT_FOLLOWER; /* a candidate that timed out, too */
	r->prevoting = true;
	r->leader = 0;
	raft__reset_election_timer(r);
	memset(r->votes, 0, sizeof(r->votes));
	r->votes[raft__config_slot(&r->config, r->id)] = own_ballot(r);
	if (tally(r) == TALLY_WON) {
		raft__campaign(r, false);
		return;
	}
	send_votes(r, r->term + 1, RAFT_VOTE_PREVOTE, false);
}

void raft__campaign(struct raft *r, bool transfer)
{
	if (blocked_single_voter(r)) {
		return;
	}
	r->stats.elections_started++;
	r->prevoting = false;
	r->term++;
	r->vote = r->id;
	r->role = RAFT_CANDIDATE;
	r->leader = 0;
	r->match_hint = 0;
	r->acked = 0;
	r->seq_in = 0;
	r->seq_acked = 0;
	raft__reset_election_timer(r);
	memset(r->votes, 0, sizeof(r->votes));
	r->votes[raft__config_slot(&r->config, r->id)] = own_ballot(r);
	if (tally(r) == TALLY_WON) {
		become_leader(r, false); /* single voter */
		return;
	}
	send_votes(r, r->term, transfer ? RAFT_VOTE_TRANSFER : 0, false);
}

/* Check-quorum: a leader that has not heard from a majority of voters for
 * an election timeout steps down, so a leader cut off in a minority stops
 * accepting writes and reads (and its lease ends before anyone else's
 * election can succeed). */
static void check_quorum(struct raft *r)
{
	uint32_t active = 0;
	for (uint32_t i = 0; i < r->config.n; i++) {
		const struct raft_server *s = &r->config.servers[i];
		if (s->role == RAFT_VOTER &&
		    (s->id == r->id || r->progress[i].recent_active)) {
			active++;
		}
		r->progress[i].recent_active = false;
	}
	if (active < raft__config_voters(&r->config) / 2 + 1) {
		r->stats.check_quorum_stepdowns++;
		raft__become_follower(r, r->term, 0);
	}
}

void raft__tick(struct raft *r)
{
	if (r->role == RAFT_LEADER) {
		if (r->opt.check_quorum &&
		    ++r->election_elapsed >= r->opt.election_ticks) {
			r->election_elapsed = 0;
			check_quorum(r);
			if (r->role != RAFT_LEADER) {
				return;
			}
		}
		raft__transfer_tick(r);
		raft__check_stalls(r);
		if (++r->heartbeat_elapsed >= r->opt.heartbeat_ticks) {
			r->heartbeat_elapsed = 0;
			r->hb_seq++;
			raft__note_seq_sent(r);
			raft__broadcast_append(r, true);
		}
		return;
	}
	if ((r->role == RAFT_CANDIDATE || r->prevoting) &&
	    ++r->heartbeat_elapsed >= r->opt.heartbeat_ticks) {
		send_votes(r, r->prevoting ? r->term + 1 : r->term,
			   r->vote_flags, true);
	}
	if (r->term >= RAFT_TERM_MAX) {
		/* No election can start (raft.h, "Terms cannot be
		 * exhausted"); a leader not heard from for an election
		 * timeout is gone for good: say so rather than keep
		 * pointing clients at it. */
		if (++r->election_elapsed >= r->election_timeout) {
			r->leader = 0;
		}
		return;
	}
	if (++r->election_elapsed >= r->election_timeout &&
	    raft__config_is_voter(&r->config, r->id)) {
		if (r->opt.pre_vote) {
			raft__prevote(r);
		} else {
			raft__campaign(r, false);
		}
	}
}

/* Counts an answer given while recovering (raft.h note 7). */
static void note_answer(struct raft *r, uint8_t granted)
{
	if (granted == RAFT_GRANT_CONDITIONAL) {
		r->stats.votes_granted_conditional++;
	} else if (granted == RAFT_GRANT_NO && r->recover_index != 0) {
		r->stats.votes_refused_recovering++;
	}
}

/* Precondition: m->term == r->term (the caller stepped up to it), or, for
 * a pre-vote, m->term > r->term (no step up). */
void raft__recv_vote(struct raft *r, const struct raft_message *m)
{
	assert(m->term == r->term ||
	       ((m->vote.flags & RAFT_VOTE_PREVOTE) && m->term > r->term));
	bool prevote = (m->vote.flags & RAFT_VOTE_PREVOTE) != 0;
	bool ok;
	if (prevote) {
		/* Would we vote in m->term?  Nothing changes here. */
		ok = m->term > r->term && !raft__in_lease(r) &&
		     log_up_to_date(r, &m->vote);
	} else {
		/* One vote per term (a conditional one included); and
		 * while we know a leader of this term we do not help anyone
		 * replace it. */
		bool can_vote =
		    r->vote == m->from || (r->vote == 0 && r->leader == 0);
		/* The candidate need not be in our configuration (thesis
		 * 4.1: it may hold a newer one); the log check is what
		 * keeps us safe. */
		ok = can_vote && r->role == RAFT_FOLLOWER &&
		     log_up_to_date(r, &m->vote);
	}
	uint8_t granted =
	    ok ? grant_kind(r, m->vote.last_term, m->vote.last_index)
	       : RAFT_GRANT_NO;
	note_answer(r, granted);
	if (ok && !prevote) {
		r->vote = m->from; /* persisted before the answer leaves */
		raft__reset_election_timer(r);
	}
	struct raft_message *o = raft__out(r, RAFT_MSG_VOTE_RESP, m->from);
	if (o != NULL) {
		o->vote_resp.granted = granted;
		o->vote_resp.prevote = prevote;
		if (ok && prevote) {
			o->term = m->term; /* the term asked about */
		}
	}
}

static uint8_t ballot_of(uint8_t granted)
{
	switch (granted) {
	case RAFT_GRANT_YES:
		return RAFT_BALLOT_YES;
	case RAFT_GRANT_CONDITIONAL:
		return RAFT_BALLOT_COND;
	default:
		return RAFT_BALLOT_NO;
	}
}

void raft__recv_vote_resp(struct raft *r, const struct raft_message *m)
{
	int slot = raft__config_slot(&r->config, m->from);
	if (m->vote_resp.prevote) {
		/* Granted answers carry the term asked about, term + 1;
		 * refusals the voter's own term (a higher one has already
		 * made us step up, in raft.c). */
		raft_term want = m->vote_resp.granted ? r->term + 1 : r->term;
		if (!r->prevoting || r->role != RAFT_FOLLOWER ||
		    m->term != want) {
			return;
		}
		if (r->votes[slot] == RAFT_BALLOT_NONE) {
			r->votes[slot] = ballot_of(m->vote_resp.granted);
		}
		enum tally t = tally(r);
		if (t == TALLY_WON || t == TALLY_WON_COND) {
			raft__campaign(r, false);
		} else if (t == TALLY_LOST) {
			r->prevoting = false;
		}
		return;
	}
	if (r->role != RAFT_CANDIDATE) {
		return; /* late answer to an election already decided */
	}
	if (r->votes[slot] == RAFT_BALLOT_NONE) {
		r->votes[slot] = ballot_of(m->vote_resp.granted);
	}
	enum tally t = tally(r);
	if (t == TALLY_WON || t == TALLY_WON_COND) {
		become_leader(r, t == TALLY_WON_COND);
	} else if (t == TALLY_LOST) {
		raft__become_follower(r, r->term, 0);
	}
}
