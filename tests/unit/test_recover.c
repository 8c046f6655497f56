/* test_recover.c — protocol-aware recovery (raft.h note 7): a server whose
 * storage lost entries it may have acknowledged counts toward no commit
 * until a leader has repaired its log, and votes only by rules 2 and 3
 * (plainly for a candidate that reaches its claim, conditionally
 * otherwise; conditional votes elect only when every voter granted); and
 * the simulated storage fault it guards against. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "raft_test.h"
#include "sim.h"
#include "sim_test.h"

#define LEADER 1u
#define ME     2u

static struct raft_entry ents[200];
static uint8_t payload[200];

/* Server ME at term 3 holding entries 1..n (term 3), recovering up to
 * recover (0: not) with the term of that index rit (0: unknown), in a
 * configuration of ME and the lowest other ids: the first voters of them
 * (ME included) voters, the next learners learners. */
struct spec {
	uint32_t voters;
	uint32_t learners;
	uint32_t n;
	raft_index recover;
	raft_term rit;
	bool pre_vote;
};

static struct raft *open_spec(const struct spec *sp)
{
	struct raft_options o;
	raft_options_default(&o, ME, 7);
	o.pre_vote = sp->pre_vote;
	o.check_quorum = false;
	struct raft_restore rs;
	memset(&rs, 0, sizeof(rs));
	rs.config.n = sp->voters + sp->learners;
	for (uint32_t i = 0; i < rs.config.n; i++) {
		uint8_t role = i < sp->voters ? RAFT_VOTER : RAFT_LEARNER;
		raft_id id = i == 0 ? ME : i < ME ? i : i + 1;
		rs.config.servers[i] = (struct raft_server){id, role};
	}
	for (uint32_t i = 0; i < 200; i++) {
		ents[i] = (struct raft_entry){.term = 3,
					      .index = i + 1,
					      .type = RAFT_ENTRY_NORMAL,
					      .len = 1,
					      .buf = &payload[i]};
	}
	rs.term = 3;
	rs.entries = ents;
	rs.n_entries = sp->n;
	rs.recover_index = sp->recover;
	rs.recover_index_term = sp->rit;
	struct raft *r;
	assert_int_equal(raft_open(&r, &o, &rs), 0);
	return r;
}

/* Follower ME of {1, 2, 3} holding 1..@n, recovering up to @recover with
 * the term of that index unknown. */
static struct raft *open_follower(uint32_t n, raft_index recover, bool pre_vote)
{
	struct spec sp = {3, 0, n, recover, 0, pre_vote};
	return open_spec(&sp);
}

static void step(struct raft *r, const struct raft_message *m,
		 struct raft_update *u)
{
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive.message = m;
	assert_int_equal(raft_step(r, &ev, u), 0);
}

static void persisted(struct raft *r, raft_index i, raft_term t,
		      struct raft_update *u)
{
	struct raft_event ev = {.type = RAFT_EVENT_PERSISTED};
	ev.persisted.index = i;
	ev.persisted.term = t;
	assert_int_equal(raft_step(r, &ev, u), 0);
}

/* AppendEntries from the leader of term @term: entries (from..to]. */
static void append(struct raft *r, raft_term term, raft_index from,
		   raft_index to, struct raft_update *u)
{
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND, .from = LEADER, .to = ME, .term = term};
	m.append.prev_index = from;
	m.append.prev_term = from > 0 ? 3 : 0;
	m.append.commit = 0;
	m.append.n_entries = (uint32_t)(to - from);
	m.append.entries = &ents[from];
	step(r, &m, u);
}

/* The last APPEND_RESP of @u. */
static const struct raft_append_resp *resp_of(const struct raft_update *u)
{
	for (uint32_t i = u->n_messages; i > 0; i--) {
		if (u->messages[i - 1].type == RAFT_MSG_APPEND_RESP) {
			return &u->messages[i - 1].append_resp;
		}
	}
	fail_msg("no AppendEntries answer");
	return NULL;
}

/* Candidate @from asks ME for a vote (@flags RAFT_VOTE_*) in @term with
 * a log ending at (@lt, @li); ME's answer (RAFT_GRANT_*). */
static uint8_t ask(struct raft *r, raft_id from, raft_term term, raft_term lt,
		   raft_index li, uint8_t flags, struct raft_update *u)
{
	struct raft_message m = {
	    .type = RAFT_MSG_VOTE, .from = from, .to = ME, .term = term};
	m.vote.last_index = li;
	m.vote.last_term = lt;
	m.vote.flags = flags;
	step(r, &m, u);
	assert_int_equal(u->n_messages, 1);
	assert_int_equal(u->messages[0].type, RAFT_MSG_VOTE_RESP);
	assert_int_equal(u->messages[0].vote_resp.prevote,
			 (flags & RAFT_VOTE_PREVOTE) != 0);
	return u->messages[0].vote_resp.granted;
}

/* AppendEntries answered with uncounted successes until the log matches
 * the leader's through the recover index, then a counted one and
 * RAFT_UPDATE_RECOVERED. */
static void recovering_core(void **state)
{
	(void)state;
	struct raft *r = open_follower(10, 60, true);
	struct raft_update u;
	struct raft_status st = raft_test_status(r);
	assert_true(st.recovering);
	assert_int_equal(st.recover_index, 60);

	/* The leader of term 4 repairs: entries 11..40 (term 3 copies). */
	append(r, 4, 10, 40, &u);
	assert_true(u.flags & RAFT_UPDATE_ENTRIES);
	persisted(r, 40, 3, &u);
	const struct raft_append_resp *a = resp_of(&u);
	assert_int_equal(a->success, 1);
	assert_int_equal(a->index, 40);
	assert_true(a->conflict_term == RAFT_ACK_UNCOUNTED);
	assert_false(u.flags & RAFT_UPDATE_RECOVERED);
	/* Through 60: repaired, counted, persisted by the driver. */
	append(r, 4, 40, 70, &u);
	persisted(r, 70, 3, &u);
	assert_true(u.flags & RAFT_UPDATE_RECOVERED);
	a = resp_of(&u);
	assert_int_equal(a->success, 1);
	assert_int_equal(a->index, 70);
	assert_true(a->conflict_term != RAFT_ACK_UNCOUNTED);
	raft_status_get(r, &st);
	assert_false(st.recovering);
	/* Votes plainly again (in a later term, for an up-to-date
	 * candidate). */
	assert_int_equal(ask(r, 3, 5, 5, 1000, 0, &u), RAFT_GRANT_YES);
	raft_close(r);
}

/* Matching an entry of a term newer than ours at open also repairs: the
 * leader's log holds every committed entry before it. */
static void recovering_repaired_by_newer_term(void **state)
{
	(void)state;
	struct raft *r = open_follower(10, 150, false);
	struct raft_update u;
	struct raft_entry e = {.term = 4,
			       .index = 11,
			       .type = RAFT_ENTRY_NOOP,
			       .len = 0,
			       .buf = NULL};
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND, .from = LEADER, .to = ME, .term = 4};
	m.append.prev_index = 10;
	m.append.prev_term = 3;
	m.append.n_entries = 1;
	m.append.entries = &e;
	step(r, &m, &u);
	persisted(r, 11, 4, &u);
	assert_true(u.flags & RAFT_UPDATE_RECOVERED);
	struct raft_status st;
	raft_status_get(r, &st);
	assert_false(st.recovering);
	raft_close(r);
}

/* Rule 2: a recovering voter whose claim (term of X, X) is known grants
 * plainly, and persists the vote, to a candidate whose log reaches it or
 * ends in a newer term. */
static void rule2_plain_grant_at_claim(void **state)
{
	(void)state;
	struct spec sp = {3, 0, 10, 60, 3, false};
	struct raft *r = open_spec(&sp);
	struct raft_update u;
	assert_int_equal(ask(r, 3, 4, 3, 60, RAFT_VOTE_PREVOTE, &u),
			 RAFT_GRANT_YES);
	assert_false(u.flags & RAFT_UPDATE_HARDSTATE); /* pre-vote */
	assert_int_equal(ask(r, 3, 4, 3, 60, 0, &u), RAFT_GRANT_YES);
	assert_true(u.flags & RAFT_UPDATE_HARDSTATE);
	assert_int_equal(u.term, 4);
	assert_int_equal(u.vote, 3);
	raft_close(r);

	r = open_spec(&sp); /* a newer last term, however short */
	assert_int_equal(ask(r, 3, 5, 4, 11, 0, &u), RAFT_GRANT_YES);
	assert_int_equal(u.vote, 3);
	assert_int_equal(raft_test_stats(r).votes_granted_conditional, 0);
	assert_int_equal(raft_test_stats(r).votes_refused_recovering, 0);
	assert_true(
	    raft_test_status(r).recovering); /* a vote repairs nothing */
	raft_close(r);
}

/* Rule 2, otherwise: below the claim, or with the term of X unknown, the
 * vote is conditional, and it is a real vote: persisted, no second one in
 * the term (a refusal), the same candidate asking again gets it again. */
static void rule2_conditional_below_claim(void **state)
{
	(void)state;
	struct spec sp = {3, 0, 10, 60, 3, false};
	struct raft *r = open_spec(&sp);
	struct raft_update u;
	assert_int_equal(ask(r, 3, 4, 3, 59, 0, &u), RAFT_GRANT_CONDITIONAL);
	assert_true(u.flags & RAFT_UPDATE_HARDSTATE);
	assert_int_equal(u.vote, 3);
	assert_int_equal(ask(r, 1, 4, 4, 100, 0, &u), RAFT_GRANT_NO);
	assert_false(u.flags & RAFT_UPDATE_HARDSTATE);
	assert_int_equal(raft_test_status(r).vote, 3);
	assert_int_equal(ask(r, 3, 4, 3, 59, 0, &u), RAFT_GRANT_CONDITIONAL);
	assert_int_equal(raft_test_stats(r).votes_granted_conditional, 2);
	assert_int_equal(raft_test_stats(r).votes_refused_recovering, 1);
	raft_close(r);

	sp.rit = 0; /* term of X unknown: never plain while recovering */
	r = open_spec(&sp);
	assert_int_equal(ask(r, 3, 4, 4, 1000, 0, &u), RAFT_GRANT_CONDITIONAL);
	assert_int_equal(u.vote, 3);
	raft_close(r);
}

/* Rule 2 first applies the usual check: a candidate behind the log the
 * recovering voter still has is refused, vote and pre-vote. */
static void rule2_refuses_behind_own_log(void **state)
{
	(void)state;
	struct spec sp = {3, 0, 10, 60, 3, false};
	struct raft *r = open_spec(&sp);
	struct raft_update u;
	assert_int_equal(ask(r, 3, 4, 3, 9, RAFT_VOTE_PREVOTE, &u),
			 RAFT_GRANT_NO);
	assert_int_equal(ask(r, 3, 4, 3, 9, 0, &u), RAFT_GRANT_NO);
	assert_int_equal(ask(r, 3, 4, 2, 500, 0, &u), RAFT_GRANT_NO);
	assert_int_equal(raft_test_status(r).vote, 0);
	assert_int_equal(raft_test_stats(r).votes_refused_recovering, 3);
	assert_int_equal(raft_test_stats(r).votes_granted_conditional, 0);
	raft_close(r);
}

/* A pre-vote follows the same rule and changes nothing. */
static void rule2_prevote_same_rule(void **state)
{
	(void)state;
	struct spec sp = {3, 0, 10, 60, 3, false};
	struct raft *r = open_spec(&sp);
	struct raft_update u;
	const uint8_t pv = RAFT_VOTE_PREVOTE;
	assert_int_equal(ask(r, 3, 4, 3, 60, pv, &u), RAFT_GRANT_YES);
	assert_int_equal(u.messages[0].term, 4); /* the term asked about */
	assert_int_equal(ask(r, 3, 4, 3, 30, pv, &u), RAFT_GRANT_CONDITIONAL);
	assert_int_equal(u.messages[0].term, 4);
	assert_false(u.flags & RAFT_UPDATE_HARDSTATE);
	assert_int_equal(ask(r, 1, 4, 3, 30, pv, &u), RAFT_GRANT_CONDITIONAL);
	assert_int_equal(ask(r, 3, 4, 3, 5, pv, &u), RAFT_GRANT_NO);
	assert_int_equal(raft_test_status(r).term, 3);
	assert_int_equal(raft_test_status(r).vote, 0);
	assert_int_equal(raft_test_stats(r).votes_granted_conditional, 2);
	raft_close(r);
}

/* Voter @from answers ME's (pre-)vote with @granted. */
static void answer(struct raft *r, raft_id from, raft_term term,
		   uint8_t granted, bool prevote, struct raft_update *u)
{
	struct raft_message m = {
	    .type = RAFT_MSG_VOTE_RESP, .from = from, .to = ME, .term = term};
	m.vote_resp.granted = granted;
	m.vote_resp.prevote = prevote;
	step(r, &m, u);
}

/* CAMPAIGN: ME becomes candidate of term 4 and asks every other voter. */
static void campaign(struct raft *r, uint32_t askees)
{
	struct raft_event ev = {.type = RAFT_EVENT_CAMPAIGN};
	struct raft_update u;
	assert_int_equal(raft_step(r, &ev, &u), 0);
	assert_int_equal(raft_test_status(r).role, RAFT_CANDIDATE);
	assert_int_equal(raft_test_status(r).term, 4);
	assert_true(u.flags & RAFT_UPDATE_HARDSTATE);
	assert_int_equal(u.vote, ME);
	assert_int_equal(u.n_messages, askees);
}

/* The order raft_update_carry_out() calls back in, as letters. */
struct order {
	char s[64];
	size_t n;
};

static void order_add(void *arg, char c)
{
	struct order *o = arg;
	if (o->n + 1 < sizeof(o->s)) {
		o->s[o->n++] = c;
	}
}

static int on_hardstate(void *arg, raft_term t, raft_id v)
{
	(void)t;
	(void)v;
	order_add(arg, 'h');
	return 0;
}

static int on_entries(void *arg, const struct raft_entry *e, uint32_t n)
{
	(void)e;
	(void)n;
	order_add(arg, 'e');
	return 0;
}

static int on_message(void *arg, const struct raft_message *m)
{
	(void)m;
	order_add(arg, 'm');
	return 0;
}

static int on_recovered(void *arg)
{
	order_add(arg, 'R');
	return 0;
}

/* Rule 3 and 4: every voter granted, all conditionally (ME's own vote
 * too): ME wins, is no longer recovering, and the driver persists that
 * before it writes or sends the leader's first entry. */
static void rule3_all_conditional_wins(void **state)
{
	(void)state;
	struct raft *r = open_follower(10, 60, false);
	struct raft_update u;
	campaign(r, 2);
	answer(r, 1, 4, RAFT_GRANT_CONDITIONAL, false, &u);
	assert_int_equal(raft_test_status(r).role, RAFT_CANDIDATE);
	answer(r, 3, 4, RAFT_GRANT_CONDITIONAL, false, &u);
	assert_int_equal(raft_test_status(r).role, RAFT_LEADER);
	assert_false(raft_test_status(r).recovering);
	assert_int_equal(raft_test_stats(r).elections_won_conditional, 1);
	assert_true(u.flags & RAFT_UPDATE_RECOVERED);
	assert_true(u.flags & RAFT_UPDATE_ENTRIES);
	struct order o = {.n = 0};
	struct raft_update_ops ops = {.size = sizeof(ops),
				      .hardstate = on_hardstate,
				      .entries = on_entries,
				      .message = on_message,
				      .recovered = on_recovered};
	assert_int_equal(raft_update_carry_out(&u, &ops, &o), 0);
	assert_string_equal(o.s, "Remm");
	/* Reported once: the next step does not repeat it. */
	struct raft_event tick = {.type = RAFT_EVENT_TICK};
	assert_int_equal(raft_step(r, &tick, &u), 0);
	assert_false(u.flags & RAFT_UPDATE_RECOVERED);
	raft_close(r);
}

/* Any refusal leaves conditional grants uncounted, whether the voter's
 * log is ahead or it voted for someone else in the term; a later change
 * of mind is not taken; the election times out into a new one. */
static void rule3_one_refusal_blocks(void **state)
{
	(void)state;
	struct raft *r = open_follower(10, 60, false);
	struct raft_update u;
	campaign(r, 2);
	answer(r, 1, 4, RAFT_GRANT_CONDITIONAL, false, &u);
	answer(r, 3, 4, RAFT_GRANT_NO, false, &u);
	answer(r, 3, 4, RAFT_GRANT_CONDITIONAL, false, &u); /* ignored */
	assert_int_equal(raft_test_status(r).role, RAFT_CANDIDATE);
	for (int i = 0; i < 40 && raft_test_status(r).term == 4; i++) {
		struct raft_event tick = {.type = RAFT_EVENT_TICK};
		assert_int_equal(raft_step(r, &tick, &u), 0);
	}
	assert_int_equal(raft_test_status(r).term, 5); /* a new election */
	assert_true(raft_test_status(r).recovering);
	assert_int_equal(raft_test_stats(r).elections_won_conditional, 0);
	raft_close(r);

	/* A healthy candidate (plain own vote) with one conditional grant
	 * and one refusal has one plain vote of the two it needs. */
	r = open_follower(10, 0, false);
	campaign(r, 2);
	answer(r, 1, 4, RAFT_GRANT_CONDITIONAL, false, &u);
	answer(r, 3, 4, RAFT_GRANT_NO, false, &u);
	assert_int_equal(raft_test_status(r).role, RAFT_CANDIDATE);
	raft_close(r);
}

/* Plain grants count toward a majority as always: a recovering candidate
 * (its own vote conditional) elected by two plain votes, or by one plain
 * and one conditional (every voter granted), is leader and repaired. */
static void rule3_plain_majority_and_mixed(void **state)
{
	(void)state;
	struct raft *r = open_follower(10, 60, false);
	struct raft_update u;
	campaign(r, 2);
	answer(r, 1, 4, RAFT_GRANT_YES, false, &u);
	assert_int_equal(raft_test_status(r).role, RAFT_CANDIDATE); /* 1 of 2 */
	answer(r, 3, 4, RAFT_GRANT_YES, false, &u);
	assert_int_equal(raft_test_status(r).role, RAFT_LEADER);
	assert_true(u.flags & RAFT_UPDATE_RECOVERED);
	assert_int_equal(raft_test_stats(r).elections_won_conditional, 0);
	raft_close(r);

	r = open_follower(10, 60, false);
	campaign(r, 2);
	answer(r, 3, 4, RAFT_GRANT_CONDITIONAL, false, &u);
	answer(r, 1, 4, RAFT_GRANT_YES, false, &u);
	assert_int_equal(raft_test_status(r).role, RAFT_LEADER);
	assert_int_equal(raft_test_stats(r).elections_won_conditional, 1);
	raft_close(r);
}

/* Every voter means every voter: with five, four conditional grants do
 * not elect; the fifth does.  Learners are neither asked nor waited for. */
static void rule3_every_voter_of_the_configuration(void **state)
{
	(void)state;
	struct spec sp = {5, 2, 10, 60, 0, false};
	struct raft *r = open_spec(&sp);
	struct raft_update u;
	campaign(r, 4);
	answer(r, 1, 4, RAFT_GRANT_CONDITIONAL, false, &u);
	answer(r, 3, 4, RAFT_GRANT_CONDITIONAL, false, &u);
	answer(r, 4, 4, RAFT_GRANT_CONDITIONAL, false, &u);
	assert_int_equal(raft_test_status(r).role, RAFT_CANDIDATE);
	answer(r, 5, 4, RAFT_GRANT_CONDITIONAL, false, &u);
	assert_int_equal(raft_test_status(r).role, RAFT_LEADER);
	raft_close(r);
}

/* A sole voter that is recovering: its one copy was the majority, nobody
 * can vouch for it.  It neither campaigns nor raises its term, counts the
 * attempts, and stays recovering (--accept-data-loss is the way out). */
static void rule3_single_voter_never_wins(void **state)
{
	(void)state;
	for (int pv = 0; pv < 2; pv++) {
		struct spec sp = {1, 1, 10, 60, 0, pv == 1};
		struct raft *r = open_spec(&sp);
		struct raft_update u;
		struct raft_event cv = {.type = RAFT_EVENT_CAMPAIGN};
		assert_int_equal(raft_step(r, &cv, &u), 0);
		for (int i = 0; i < 100; i++) {
			struct raft_event t = {.type = RAFT_EVENT_TICK};
			assert_int_equal(raft_step(r, &t, &u), 0);
			assert_int_equal(u.n_messages, 0);
		}
		struct raft_status st = raft_test_status(r);
		assert_int_equal(st.role, RAFT_FOLLOWER);
		assert_int_equal(st.term, 3);
		assert_true(st.recovering);
		assert_true(raft_test_stats(r).campaigns_blocked_single_voter >
			    1);
		raft_close(r);
	}
	/* Its claim known and reached by its own log (a newer last term
	 * than the term of X): its own vote is plain, it leads. */
	struct spec sp = {1, 0, 10, 60, 2, false};
	struct raft *r = open_spec(&sp);
	struct raft_update u;
	struct raft_event cv = {.type = RAFT_EVENT_CAMPAIGN};
	assert_int_equal(raft_step(r, &cv, &u), 0);
	assert_int_equal(raft_test_status(r).role, RAFT_LEADER);
	assert_true(u.flags & RAFT_UPDATE_RECOVERED);
	raft_close(r);
}

/* A recovering server campaigns after its election timeout, pre-vote
 * first, and the pre-vote counts conditional grants by rule 3 too. */
static void rule3_prevote_then_vote(void **state)
{
	(void)state;
	for (int refuse = 0; refuse < 2; refuse++) {
		struct raft *r = open_follower(10, 60, true);
		struct raft_update u;
		memset(&u, 0, sizeof(u));
		for (int i = 0; i < 40 && !raft_test_status(r).prevoting; i++) {
			struct raft_event t = {.type = RAFT_EVENT_TICK};
			assert_int_equal(raft_step(r, &t, &u), 0);
		}
		assert_true(raft_test_status(r).prevoting);
		assert_int_equal(u.n_messages, 2);
		for (uint32_t i = 0; i < u.n_messages; i++) {
			assert_true(u.messages[i].vote.flags &
				    RAFT_VOTE_PREVOTE);
		}
		answer(r, 1, 4, RAFT_GRANT_CONDITIONAL, true, &u);
		if (refuse) {
			answer(r, 3, 3, RAFT_GRANT_NO, true, &u);
			assert_int_equal(raft_test_status(r).term, 3);
			assert_int_equal(raft_test_status(r).role,
					 RAFT_FOLLOWER);
			raft_close(r);
			continue;
		}
		answer(r, 3, 4, RAFT_GRANT_CONDITIONAL, true, &u);
		assert_int_equal(raft_test_status(r).role, RAFT_CANDIDATE);
		assert_int_equal(raft_test_status(r).term, 4);
		answer(r, 1, 4, RAFT_GRANT_CONDITIONAL, false, &u);
		answer(r, 3, 4, RAFT_GRANT_CONDITIONAL, false, &u);
		assert_int_equal(raft_test_status(r).role, RAFT_LEADER);
		raft_close(r);
	}
}

/* A vote answer whose granted is none of RAFT_GRANT_* is dropped. */
static void bad_grant_dropped(void **state)
{
	(void)state;
	struct raft *r = open_follower(10, 60, false);
	struct raft_update u;
	campaign(r, 2);
	answer(r, 1, 4, RAFT_GRANT_CONDITIONAL, false, &u);
	answer(r, 3, 4, 3, false, &u);
	assert_int_equal(raft_test_stats(r).msgs_dropped_bad, 1);
	assert_int_equal(raft_test_status(r).role, RAFT_CANDIDATE);
	answer(r, 3, 4, RAFT_GRANT_CONDITIONAL, false, &u); /* still open */
	assert_int_equal(raft_test_status(r).role, RAFT_LEADER);
	raft_close(r);
}

/* A leader whose follower answers with a log shorter than it acknowledged
 * (lost entries) probes it again from its end instead of waiting forever
 * above it. */
static void leader_reprobes_regressed_follower(void **state)
{
	(void)state;
	struct sim_options o;
	sim_options_default(&o, 3, 5);
	struct sim *s = sim_open_ok(&o);
	raft_id l = sim_wait_leader(s, 2 * SIM_SEC, false);
	sim_write_n(s, l, 30);
	sim_run_for(s, 200 * SIM_MS);
	raft_id f = l % 3 + 1;
	sim_crash(s, f);
	sim_ok(s, sim_damage(s, f, 12));
	sim_ok(s, sim_restart(s, f));
	assert_true(sim_status(s, f).recovering);
	raft_term t = sim_status(s, l).term;
	sim_run_for(s, 1 * SIM_SEC);
	/* The same leader, same term: the recovering follower, which may
	 * campaign now, did not disrupt it. */
	assert_int_equal(sim_leader(s), l);
	assert_int_equal(sim_status(s, l).term, t);
	assert_false(sim_status(s, f).recovering);
	assert_true(sim_stats(s, l).followers_regressed > 0);
	sim_ok(s, sim_converge(s, 30 * SIM_SEC));
	sim_close(s);
}

/*
 * The case the rule exists for.  3 nodes; the third is cut off while the
 * leader commits entries with the follower F alone; leader and F crash and
 * F's disk loses the tail it had acknowledged.  With F and the third node
 * up, recovery keeps F from voting: no leader (unavailable, not wrong)
 * until the old leader returns and repairs F.  Without the rule F votes,
 * the third node wins without the committed entries, and the checker
 * reports the loss (this scenario fails on the code before the rule).
 */
static void damaged_majority_member(bool recover)
{
	struct sim_options o;
	sim_options_default(&o, 3, 11);
	o.recover = recover;
	struct sim *s = sim_open_ok(&o);
	raft_id l = sim_wait_leader(s, 2 * SIM_SEC, false);
	raft_id f = l % 3 + 1, a = f % 3 + 1;
	sim_write_n(s, l, 10);
	sim_run_for(s, 200 * SIM_MS);
	sim_partition(s, &a, 1);
	sim_write_n(s, l, 10);
	sim_run_for(s, 200 * SIM_MS);
	raft_index c = sim_status(s, l).commit;
	assert_true(c > sim_status(s, a).last_index);
	sim_crash(s, l);
	sim_crash(s, f);
	sim_ok(s, sim_damage(s, f, c - 5));
	sim_heal(s);
	sim_ok(s, sim_restart(s, f));
	if (!recover) {
		assert_int_equal(sim_run_until(s, sim_now(s) + 5 * SIM_SEC),
				 FR_CORRUPT);
		assert_non_null(sim_violation(s));
		print_message("without recovery: %s\n", sim_violation(s));
		sim_close(s);
		return;
	}
	sim_run_for(s, 5 * SIM_SEC);
	assert_null(sim_violation(s));
	assert_int_equal(sim_leader(s), 0);
	assert_true(sim_status(s, f).recovering);
	assert_true(sim_stats(s, f).votes_refused_recovering > 0);
	sim_ok(s, sim_restart(s, l));
	sim_ok(s, sim_converge(s, 30 * SIM_SEC));
	assert_false(sim_status(s, f).recovering);
	assert_int_equal(sim_damaged(s), 0);
	sim_close(s);
}

static void damaged_member_waits_for_repair(void **state)
{
	(void)state;
	damaged_majority_member(true);
}

static void damaged_member_voting_loses_committed(void **state)
{
	(void)state;
	damaged_majority_member(false);
}

/*
 * Rule 3's reason to exist: power lost everywhere during a flush.  The
 * followers received entries after index c but their answers were lost,
 * so nothing after c was committed; every node crashes and loses
 * everything after c, and restarts recovering with a claim beyond c that
 * none holds (the term of it unknown).  With every voter back they elect
 * a leader by conditional votes, which repairs the others; with one
 * missing nobody is elected (unavailable, not wrong).  Before rule 3 no
 * leader was ever elected.
 */
static void whole_cluster_loss(bool all_back)
{
	struct sim_options o;
	sim_options_default(&o, 3, 21);
	o.recover = true;
	struct sim *s = sim_open_ok(&o);
	raft_id l = sim_wait_leader(s, 2 * SIM_SEC, true);
	sim_write_n(s, l, 10);
	raft_index c = sim_status(s, l).commit;
	for (raft_id id = 1; id <= 3; id++) {
		if (id != l) {
			sim_link_dir(s, id, l, false);
		}
	}
	sim_write_n(s, l, 3);
	for (raft_id id = 1; id <= 3; id++) {
		assert_int_equal(sim_status(s, id).commit, c);
		assert_true(sim_status(s, id).last_index > c);
	}
	/* Every link cut until the restarts settled: what the old leader
	 * had in flight (which would repair them) is lost. */
	raft_id one = 1;
	sim_partition(s, &one, 1);
	sim_link(s, 2, 3, false);
	for (raft_id id = 1; id <= 3; id++) {
		sim_crash(s, id);
		sim_ok(s, sim_damage(s, id, c + 1));
	}
	raft_id last = all_back ? 3 : 2;
	for (raft_id id = 1; id <= last; id++) {
		sim_ok(s, sim_restart(s, id));
	}
	sim_run_for(s, 20 * SIM_MS);
	sim_heal(s);
	if (!all_back) {
		sim_run_for(s, 5 * SIM_SEC);
		assert_int_equal(sim_leader(s), 0);
		assert_true(sim_stats(s, 1).votes_granted_conditional > 0);
		sim_ok(s, sim_restart(s, 3));
	}
	l = sim_wait_leader(s, 5 * SIM_SEC, true);
	assert_int_not_equal(l, 0);
	assert_int_equal(sim_stats(s, l).elections_won_conditional, 1);
	sim_write_n(s, l, 5);
	sim_ok(s, sim_converge(s, 30 * SIM_SEC));
	assert_int_equal(sim_damaged(s), 0);
	assert_null(sim_violation(s));
	sim_close(s);
}

static void whole_cluster_loss_elects(void **state)
{
	(void)state;
	whole_cluster_loss(true);
}

static void whole_cluster_loss_waits_for_all(void **state)
{
	(void)state;
	whole_cluster_loss(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(recovering_core),
	    cmocka_unit_test(recovering_repaired_by_newer_term),
	    cmocka_unit_test(rule2_plain_grant_at_claim),
	    cmocka_unit_test(rule2_conditional_below_claim),
	    cmocka_unit_test(rule2_refuses_behind_own_log),
	    cmocka_unit_test(rule2_prevote_same_rule),
	    cmocka_unit_test(rule3_all_conditional_wins),
	    cmocka_unit_test(rule3_one_refusal_blocks),
	    cmocka_unit_test(rule3_plain_majority_and_mixed),
	    cmocka_unit_test(rule3_every_voter_of_the_configuration),
	    cmocka_unit_test(rule3_single_voter_never_wins),
	    cmocka_unit_test(rule3_prevote_then_vote),
	    cmocka_unit_test(bad_grant_dropped),
	    cmocka_unit_test(leader_reprobes_regressed_follower),
	    cmocka_unit_test(damaged_member_waits_for_repair),
	    cmocka_unit_test(damaged_member_voting_loses_committed),
	    cmocka_unit_test(whole_cluster_loss_elects),
	    cmocka_unit_test(whole_cluster_loss_waits_for_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
