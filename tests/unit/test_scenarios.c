/* test_scenarios.c — Raft paper scenarios and election/partition cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"
#include "sim_test.h"

/* These scenarios are the paper's (Figures 7 and 8, §5): the base
 * algorithm, without pre-vote and check-quorum, which would change how
 * the drawn elections play out.  test_features covers those. */
static void paper_options(struct sim_options *o, uint32_t n, uint64_t seed)
{
	sim_options_default(o, n, seed);
	o->pre_vote = false;
	o->check_quorum = false;
}

static struct sim *open_sim(uint32_t n, uint64_t seed, bool auto_tick)
{
	struct sim_options o;
	paper_options(&o, n, seed);
	o.auto_tick = auto_tick;
	return sim_open_ok(&o);
}

static void assert_log_terms(struct sim *s, raft_id id, const raft_term *t,
			     uint32_t n)
{
	struct raft_status st = sim_status(s, id);
	assert_int_equal(st.last_index, n);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(raft_log_term(sim_raft(s, id), i + 1), t[i]);
	}
}

/* ------------------------------------------------------------------ */

static void election(uint32_t n)
{
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct sim *s = open_sim(n, seed, true);
		raft_id l = sim_wait_leader(s, 2 * SIM_SEC, false);
		assert_int_not_equal(l, 0);
		/* Let heartbeats spread the news; all agree on the leader. */
		sim_ok(s, sim_run_until(s, sim_now(s) + 100 * SIM_MS));
		raft_term term = sim_status(s, l).term;
		for (raft_id id = 1; id <= n; id++) {
			struct raft_status st = sim_status(s, id);
			assert_int_equal(st.term, term);
			assert_int_equal(st.leader, l);
			assert_int_equal(st.role,
					 id == l ? RAFT_LEADER : RAFT_FOLLOWER);
		}
		/* The leader's no-op commits everywhere. */
		assert_true(sim_status(s, l).commit >= 1);
		sim_close(s);
	}
}

static void election_3_nodes(void **state)
{
	(void)state;
	election(3);
}

static void election_5_nodes(void **state)
{
	(void)state;
	election(5);
}

static void reelection_after_leader_crash(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct sim *s = open_sim(5, seed, true);
		raft_id l1 = sim_wait_leader(s, 2 * SIM_SEC, false);
		assert_int_not_equal(l1, 0);
		raft_term t1 = sim_status(s, l1).term;
		raft_index idx;
		sim_ok(s, sim_propose(s, l1, "before", 6, &idx, NULL));
		sim_ok(s, sim_run_until(s, sim_now(s) + 50 * SIM_MS));
		sim_crash(s, l1);
		raft_id l2 = sim_wait_leader(s, 2 * SIM_SEC, false);
		assert_int_not_equal(l2, 0);
		assert_int_not_equal(l2, l1);
		assert_true(sim_status(s, l2).term > t1);
		/* The committed write survived into the new leader's log. */
		assert_int_equal(raft_log_term(sim_raft(s, l2), idx), t1);
		sim_ok(s, sim_converge(s, 10 * SIM_SEC));
		sim_close(s);
	}
}

/* Two candidates split a 4-node cluster's votes 2-2; randomized timeouts
 * then resolve it. */
static void split_vote_resolves(void **state)
{
	(void)state;
	struct sim *s = open_sim(4, 7, false);
	sim_link(s, 1, 2, false);
	sim_link(s, 2, 3, false);
	sim_link(s, 1, 4, false);
	sim_ok(s, sim_campaign(s, 1));
	sim_ok(s, sim_campaign(s, 2));
	sim_ok(s, sim_step_all(s, 100000));
	assert_int_equal(sim_status(s, 1).role, RAFT_CANDIDATE);
	assert_int_equal(sim_status(s, 2).role, RAFT_CANDIDATE);
	assert_int_equal(sim_status(s, 1).term, 1);
	assert_int_equal(sim_status(s, 2).term, 1);
	assert_int_equal(sim_leader(s), 0);
	sim_heal(s);
	raft_id leader = 0;
	for (int round = 0; round < 200 && leader == 0; round++) {
		for (raft_id id = 1; id <= 4; id++) {
			sim_ok(s, sim_tick(s, id));
		}
		sim_ok(s, sim_step_all(s, 100000));
		leader = sim_leader(s);
	}
	assert_int_not_equal(leader, 0);
	assert_true(sim_status(s, leader).term >= 2);
	sim_close(s);
}

/* A leader cut off with a minority cannot commit; the majority elects a
 * new leader; after healing the old one steps down and its uncommitted
 * entry is replaced. */
static void minority_leader_cannot_commit(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct sim *s = open_sim(5, seed, true);
		raft_id old = sim_wait_leader(s, 2 * SIM_SEC, false);
		assert_int_not_equal(old, 0);
		sim_ok(s, sim_run_until(s, sim_now(s) + 50 * SIM_MS));
		raft_id buddy = old % 5 + 1;
		raft_id group[2] = {old, buddy};
		sim_partition(s, group, 2);
		raft_index lost;
		raft_term lost_term;
		sim_ok(s,
		       sim_propose(s, old, "minority", 8, &lost, &lost_term));
		raft_index commit_before = sim_status(s, old).commit;
		sim_ok(s, sim_run_until(s, sim_now(s) + 1 * SIM_SEC));
		assert_int_equal(sim_status(s, old).commit, commit_before);
		assert_true(commit_before < lost);
		/* The majority side has its own leader, in a higher term. */
		raft_id fresh = 0;
		for (raft_id id = 1; id <= 5; id++) {
			struct raft_status st = sim_status(s, id);
			if (id != old && id != buddy &&
			    st.role == RAFT_LEADER) {
				fresh = id;
			}
		}
		assert_int_not_equal(fresh, 0);
		assert_true(sim_status(s, fresh).term > lost_term);
		raft_index won;
		sim_ok(s, sim_propose(s, fresh, "majority", 8, &won, NULL));
		sim_ok(s, sim_run_until(s, sim_now(s) + 200 * SIM_MS));
		assert_true(sim_status(s, fresh).commit >= won);
		sim_heal(s);
		sim_ok(s, sim_run_until(s, sim_now(s) + 500 * SIM_MS));
		struct raft_status st = sim_status(s, old);
		assert_int_equal(st.role, RAFT_FOLLOWER);
		assert_int_equal(st.term, sim_status(s, fresh).term);
		assert_true(raft_log_term(sim_raft(s, old), lost) != lost_term);
		sim_ok(s, sim_converge(s, 10 * SIM_SEC));
		sim_close(s);
	}
}

/* A leader that sees a higher term in any message steps down. */
static void stale_leader_steps_down(void **state)
{
	(void)state;
	struct sim *s = open_sim(3, 3, false);
	sim_ok(s, sim_campaign(s, 1));
	sim_ok(s, sim_step_all(s, 100000));
	assert_int_equal(sim_status(s, 1).role, RAFT_LEADER);
	raft_term t = sim_status(s, 1).term;
	/* Node 3 is partitioned, times out twice, and comes back with a
	 * higher term in its vote request. */
	raft_id g[1] = {3};
	sim_partition(s, g, 1);
	sim_ok(s, sim_campaign(s, 3));
	sim_ok(s, sim_campaign(s, 3));
	sim_ok(s, sim_step_all(s, 100000));
	sim_heal(s);
	sim_ok(s, sim_campaign(s, 3));
	sim_ok(s, sim_step_all(s, 100000));
	struct raft_status st = sim_status(s, 1);
	assert_true(st.term > t);
	assert_int_not_equal(st.role, RAFT_LEADER);
	/* Node 3's log is as up to date as the others, so it may win. */
	sim_close(s);
}

/* ------------------------------------------------------------------ */
/* Figure 7: the leader of term 8 and followers (a)-(f).               */

static const raft_term fig7_leader[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
static const raft_term fig7_a[] = {1, 1, 1, 4, 4, 5, 5, 6, 6};
static const raft_term fig7_b[] = {1, 1, 1, 4};
static const raft_term fig7_c[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6};
static const raft_term fig7_d[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7};
static const raft_term fig7_e[] = {1, 1, 1, 4, 4, 4, 4};
static const raft_term fig7_f[] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3};

#define LEN(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static void figure7(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct sim *s = open_sim(7, seed, false);
		/* Node 1 is the leader-to-be; 2..7 are (a)..(f). */
		sim_ok(s,
		       sim_setup_log(s, 1, 7, fig7_leader, LEN(fig7_leader)));
		sim_ok(s, sim_setup_log(s, 2, 6, fig7_a, LEN(fig7_a)));
		sim_ok(s, sim_setup_log(s, 3, 4, fig7_b, LEN(fig7_b)));
		sim_ok(s, sim_setup_log(s, 4, 6, fig7_c, LEN(fig7_c)));
		sim_ok(s, sim_setup_log(s, 5, 7, fig7_d, LEN(fig7_d)));
		sim_ok(s, sim_setup_log(s, 6, 4, fig7_e, LEN(fig7_e)));
		sim_ok(s, sim_setup_log(s, 7, 3, fig7_f, LEN(fig7_f)));
		/* Term 8: (a), (b), (e), (f) grant; (c) is longer, (d) has a
		 * later last term, so both refuse. */
		sim_ok(s, sim_campaign(s, 1));
		sim_ok(s, sim_step_all(s, 1000000));
		struct raft_status st = sim_status(s, 1);
		assert_int_equal(st.role, RAFT_LEADER);
		assert_int_equal(st.term, 8);
		/* Let a heartbeat carry the final commit index. */
		sim_ok(s, sim_tick(s, 1));
		sim_ok(s, sim_step_all(s, 1000000));
		/* Everyone ends with the leader's log plus its term-8 no-op. */
		raft_term want[11];
		memcpy(want, fig7_leader, sizeof(fig7_leader));
		want[10] = 8;
		for (raft_id id = 1; id <= 7; id++) {
			assert_log_terms(s, id, want, 11);
			assert_int_equal(sim_status(s, id).commit, 11);
		}
		sim_close(s);
	}
}

/* ------------------------------------------------------------------ */
/* Figure 8: an old-term entry on a majority is not committed by        */
/* counting; it is committed only with an entry of the current term.    */

/* Step one event at a time until @id's last index reaches @index. */
static void step_until_has(struct sim *s, raft_id id, raft_index index)
{
	for (int k = 0; k < 100000; k++) {
		if (sim_status(s, id).last_index >= index) {
			return;
		}
		sim_ok(s, sim_step(s));
	}
	fail_msg("node %u never reached index %llu", id,
		 (unsigned long long)index);
}

/* Make @id campaign until it stands in exactly @term (earlier campaigns
 * fail: their votes were already given in those terms). */
static void campaign_in_term(struct sim *s, raft_id id, raft_term term)
{
	while (sim_status(s, id).term + 1 < term) {
		sim_ok(s, sim_campaign(s, id));
		sim_ok(s, sim_step_all(s, 100000));
		assert_int_not_equal(sim_status(s, id).role, RAFT_LEADER);
	}
	sim_ok(s, sim_campaign(s, id));
	assert_int_equal(sim_status(s, id).term, term);
}

static void step_until_leader(struct sim *s, raft_id id)
{
	for (int k = 0; k < 100000; k++) {
		if (sim_status(s, id).role == RAFT_LEADER) {
			return;
		}
		sim_ok(s, sim_step(s));
	}
	fail_msg("node %u never became leader", id);
}

/*
 * Builds the figure's state (c): S1 leads term 4, index 2 holds S1's
 * term-2 entry on S1, S2 and S3 (a majority); S5 holds a term-3 entry at
 * index 2; index 3 (term 4, S1's no-op) is on S1 and S2 only.
 */
static struct sim *figure8_c(uint64_t seed)
{
	struct sim_options o;
	paper_options(&o, 5, seed);
	o.auto_tick = false;
	o.max_batch_entries = 1; /* one entry per AppendEntries, as drawn */
	struct sim *s;
	assert_int_equal(sim_open(&s, &o), 0);
	raft_term one[] = {1};
	for (raft_id id = 1; id <= 5; id++) {
		sim_ok(s, sim_setup_log(s, id, 1, one, 1));
	}
	/* (a) S1 leads term 2; its index 2 reaches S2 only. */
	sim_ok(s, sim_campaign(s, 1));
	step_until_leader(s, 1);
	assert_int_equal(sim_status(s, 1).term, 2);
	raft_id g12[2] = {1, 2};
	sim_partition(s, g12, 2);
	sim_ok(s, sim_step_all(s, 100000));
	sim_ok(s, sim_flush_disk(s, 2));
	assert_int_equal(raft_log_term(sim_raft(s, 2), 2), 2);
	/* (b) S1 crashes; S5 wins term 3 with S3, S4 and itself, writes a
	 * different index 2 that reaches no one, and crashes. */
	sim_crash(s, 1);
	sim_heal(s);
	sim_link(s, 5, 2, false);
	campaign_in_term(s, 5, 3);
	step_until_leader(s, 5);
	raft_id g5[1] = {5};
	sim_partition(s, g5, 1);
	sim_ok(s, sim_step_all(s, 100000));
	sim_ok(s, sim_flush_disk(s, 5));
	assert_int_equal(raft_log_term(sim_raft(s, 5), 2), 3);
	sim_crash(s, 5);
	/* (c) S1 restarts and wins term 4; it spreads index 2 (term 2) to
	 * S3, while its term-4 entry reaches only S2. */
	sim_heal(s);
	assert_int_equal(sim_restart(s, 1), 0);
	sim_link(s, 1, 5, false);
	campaign_in_term(s, 1, 4);
	step_until_leader(s, 1);
	sim_link(s, 1, 4, false);
	step_until_has(s, 3, 2);
	/* S3's answers still reach S1, so S1 learns that index 2 is on a
	 * majority; nothing more reaches S3. */
	sim_link_dir(s, 1, 3, false);
	step_until_has(s, 2, 3);
	for (int round = 0; round < 3; round++) {
		sim_ok(s, sim_step_all(s, 100000));
		for (raft_id id = 1; id <= 3; id++) {
			sim_ok(s, sim_flush_disk(s, id));
		}
	}
	sim_ok(s, sim_step_all(s, 100000));
	sim_link(s, 1, 3, false);
	assert_int_equal(raft_log_term(sim_raft(s, 3), 2), 2);
	assert_int_equal(sim_status(s, 3).last_index, 2);
	assert_int_equal(sim_status(s, 3).persisted, 2);
	return s;
}

static void figure8_old_term_not_committed_by_counting(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct sim *s = figure8_c(seed);
		/* Index 2 is on S1, S2, S3: a majority, but of term 2. */
		assert_true(sim_status(s, 1).commit < 2);
		/* (d) S1 crashes; S5 wins term 5 with S3, S4 and itself and
		 * overwrites index 2 everywhere it reaches. */
		sim_crash(s, 1);
		assert_int_equal(sim_restart(s, 5), 0);
		sim_link(s, 5, 2, false);
		campaign_in_term(s, 5, 5);
		step_until_leader(s, 5);
		sim_ok(s, sim_step_all(s, 100000));
		for (raft_id id = 3; id <= 5; id++) {
			sim_ok(s, sim_flush_disk(s, id));
		}
		sim_ok(s, sim_tick(s, 5));
		sim_ok(s, sim_step_all(s, 100000));
		assert_int_equal(raft_log_term(sim_raft(s, 3), 2), 3);
		assert_int_equal(raft_log_term(sim_raft(s, 4), 2), 3);
		assert_true(sim_status(s, 5).commit >= 2);
		sim_heal(s);
		sim_ok(s, sim_converge(s, 10 * SIM_SEC));
		sim_close(s);
	}
}

static void figure8_committed_with_current_term_entry(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct sim *s = figure8_c(seed);
		/* (e) S1 replicates its term-4 entry to a majority: now both
		 * index 2 and index 3 are committed ... */
		sim_heal(s);
		sim_ok(s, sim_tick(s, 1));
		sim_ok(s, sim_step_all(s, 100000));
		for (raft_id id = 1; id <= 4; id++) {
			sim_ok(s, sim_flush_disk(s, id));
		}
		sim_ok(s, sim_step_all(s, 100000));
		assert_true(sim_status(s, 1).commit >= 3);
		/* ... and S5 can no longer win an election. */
		sim_crash(s, 1);
		assert_int_equal(sim_restart(s, 5), 0);
		sim_ok(s, sim_campaign(s, 5));
		sim_ok(s, sim_step_all(s, 100000));
		assert_int_not_equal(sim_status(s, 5).role, RAFT_LEADER);
		sim_ok(s, sim_converge(s, 10 * SIM_SEC));
		raft_id l = sim_leader(s);
		assert_int_equal(raft_log_term(sim_raft(s, l), 2), 2);
		assert_int_equal(raft_log_term(sim_raft(s, l), 3), 4);
		sim_close(s);
	}
}

/*
 * Persist before acknowledge: with slow disks, a follower's answer reaches
 * the leader before its write is durable.  If that answer counted, the
 * leader would commit and acknowledge an entry that a power loss of the
 * leader and that follower erases, and the survivors elect a leader
 * without it.  Regression scenario for the rule in raft.h (note 2).
 */
static void ack_waits_for_durability(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct sim_options o;
		paper_options(&o, 3, seed);
		o.auto_tick = false;
		o.disk_min_us = o.disk_max_us = 10 * SIM_SEC; /* slow disks */
		struct sim *s;
		assert_int_equal(sim_open(&s, &o), 0);
		sim_ok(s, sim_campaign(s, 1));
		sim_ok(s, sim_step_all(s, 100000));
		assert_int_equal(sim_status(s, 1).role, RAFT_LEADER);
		raft_index idx;
		sim_link(s, 1, 3, false);
		sim_ok(s, sim_propose(s, 1, "precious", 8, &idx, NULL));
		sim_ok(s, sim_flush_disk(s, 1));
		/* Deliver every message; node 2's write stays pending. */
		sim_ok(s, sim_run_until(s, sim_now(s) + 100 * SIM_MS));
		assert_true(sim_status(s, 2).last_index >= idx);
		assert_true(sim_status(s, 2).persisted < idx);
		assert_true(sim_status(s, 1).commit < idx);
		sim_power_loss(s, 1);
		sim_power_loss(s, 2);
		assert_int_equal(sim_restart(s, 2), 0);
		sim_heal(s);
		sim_ok(s,
		       sim_converge(s, 600 * SIM_SEC)); /* writes take 10 s */
		sim_close(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(election_3_nodes),
	    cmocka_unit_test(election_5_nodes),
	    cmocka_unit_test(reelection_after_leader_crash),
	    cmocka_unit_test(split_vote_resolves),
	    cmocka_unit_test(minority_leader_cannot_commit),
	    cmocka_unit_test(stale_leader_steps_down),
	    cmocka_unit_test(figure7),
	    cmocka_unit_test(figure8_old_term_not_committed_by_counting),
	    cmocka_unit_test(figure8_committed_with_current_term_entry),
	    cmocka_unit_test(ack_waits_for_durability),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
