/* test_recover.c — protocol-aware recovery (raft.h note 7): a server whose
 * storage lost entries it may have acknowledged neither votes nor counts
 * toward commits until a leader has repaired its log; and the simulated
 * storage fault it guards against. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"
#include "sim_test.h"

#define LEADER 1u
#define ME     2u

static struct raft_entry ents[200];
static uint8_t payload[200];

/* Follower 2 of {1, 2, 3} at term 3 holding entries 1..@n (term 3), and
 * recovering up to @recover. */
static struct raft *open_follower(uint32_t n, raft_index recover, bool pre_vote)
{
	struct raft_options o;
	raft_options_default(&o, ME, 7);
	o.pre_vote = pre_vote;
	o.check_quorum = false;
	struct raft_restore rs;
	memset(&rs, 0, sizeof(rs));
	rs.config.n = 3;
	for (uint32_t i = 0; i < 3; i++) {
		rs.config.servers[i] = (struct raft_server){i + 1, RAFT_VOTER};
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
	rs.n_entries = n;
	rs.recover_index = recover;
	struct raft *r;
	assert_int_equal(raft_open(&r, &o, &rs), 0);
	return r;
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

static bool vote_granted(struct raft *r, uint8_t flags, raft_term term)
{
	struct raft_message m = {
	    .type = RAFT_MSG_VOTE, .from = 3, .to = ME, .term = term};
	m.vote.last_index = 1000;
	m.vote.last_term = term;
	m.vote.flags = flags;
	struct raft_update u;
	step(r, &m, &u);
	assert_int_equal(u.n_messages, 1);
	assert_int_equal(u.messages[0].type, RAFT_MSG_VOTE_RESP);
	return u.messages[0].vote_resp.granted;
}

/* No vote, no pre-vote, no campaign; AppendEntries answered with
 * uncounted successes until the log matches the leader's through the
 * recover index, then a counted one and RAFT_UPDATE_RECOVERED. */
static void recovering_core(void **state)
{
	(void)state;
	struct raft *r = open_follower(10, 60, true);
	struct raft_update u;
	struct raft_status st;
	raft_status_get(r, &st);
	assert_true(st.recovering);
	assert_int_equal(st.recover_index, 60);
	assert_false(vote_granted(r, RAFT_VOTE_PREVOTE, 4));
	assert_false(vote_granted(r, 0, 4)); /* steps up to term 4 */
	struct raft_stats ss;
	raft_stats_get(r, &ss);
	assert_int_equal(ss.votes_refused_recovering, 2);
	/* Election timeouts pass: no campaign, no pre-vote. */
	for (int i = 0; i < 100; i++) {
		struct raft_event ev = {.type = RAFT_EVENT_TICK};
		assert_int_equal(raft_step(r, &ev, &u), 0);
		assert_int_equal(u.n_messages, 0);
	}
	struct raft_event cv = {.type = RAFT_EVENT_CAMPAIGN};
	assert_int_equal(raft_step(r, &cv, &u), 0);
	assert_int_equal(u.n_messages, 0);
	raft_status_get(r, &st);
	assert_int_equal(st.role, RAFT_FOLLOWER);
	assert_int_equal(st.term, 4);

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
	/* Votes again (in a later term, for an up-to-date candidate). */
	assert_true(vote_granted(r, 0, 5));
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
	sim_run_for(s, 1 * SIM_SEC);
	assert_int_equal(sim_leader(s), l); /* the same leader, same term */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(recovering_core),
	    cmocka_unit_test(recovering_repaired_by_newer_term),
	    cmocka_unit_test(leader_reprobes_regressed_follower),
	    cmocka_unit_test(damaged_member_waits_for_repair),
	    cmocka_unit_test(damaged_member_voting_loses_committed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
