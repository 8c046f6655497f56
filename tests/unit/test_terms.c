/* test_terms.c — terms cannot be exhausted: a message with a term far
 * beyond the receiver's is refused, a lagging replica still catches up,
 * and a cluster at RAFT_TERM_MAX says so (issue 15, item 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "raft.h"
#include "raft_msgs.h"
#include "sim.h"
#include "sim_test.h"

/* Every kind of message a misbehaving member could send, with @term. */
/* Every kind of message a misbehaving member could send, with @term. */
static void inject_all_kinds(struct sim *s, raft_id from, raft_id to,
			     raft_term term)
{
	for (size_t i = 0; i < TEST_RAFT_MSG_KINDS; i++) {
		struct raft_message m;
		test_raft_msg(i, from, to, term, &m);
		sim_ok(s, sim_inject(s, &m));
	}
}

/* The attack that once ended a cluster: one APPEND_RESP with term 2^62 to
 * the leader made every node adopt RAFT_TERM_MAX.  Now every message far
 * beyond a node's term is dropped and counted, the cluster keeps its term
 * and leader, writes commit, and a restart recovers the old term. */
static void huge_terms_refused(void **state)
{
	(void)state;
	struct sim_options o;
	sim_options_default(&o, 3, 41);
	struct sim *s = sim_open_ok(&o);
	raft_id l = sim_wait_leader(s, 2 * SIM_SEC, true);
	assert_int_not_equal(l, 0);
	raft_term t = sim_status(s, l).term;
	static const raft_term bad[] = {RAFT_TERM_MAX, RAFT_TERM_MAX - 1,
					UINT64_C(1) << 40,
					RAFT_TERM_JUMP_DEFAULT * 2};
	uint64_t refused = 0;
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		for (raft_id to = 1; to <= 3; to++) {
			raft_id from = to == 1 ? 2 : 1;
			inject_all_kinds(s, from, to,
					 t + bad[b] > t ? bad[b] : t);
			refused += 6;
		}
		sim_run_for(s, 20 * SIM_MS);
	}
	uint64_t counted = 0;
	for (raft_id id = 1; id <= 3; id++) {
		assert_int_equal(sim_status(s, id).term, t);
		assert_false(sim_status(s, id).term_exhausted);
		counted += sim_stats(s, id).msgs_dropped_term_jump;
	}
	assert_int_equal(counted, refused);
	assert_int_equal(sim_leader(s), l);
	sim_write_n(s, l, 10);
	assert_int_equal(sim_status(s, l).term, t);
	sim_crash(s, l);
	sim_ok(s, sim_restart(s, l));
	assert_true(sim_status(s, l).term <= t + 2);
	sim_ok(s, sim_converge(s, 10 * SIM_SEC));
	sim_close(s);
}

/* The bound does not stop a replica that missed many elections: a node
 * thousands of terms behind adopts the leader's term and catches up. */
static void lagging_replica_catches_up(void **state)
{
	(void)state;
	struct sim_options o;
	sim_options_default(&o, 3, 42);
	struct sim *s = sim_open_ok(&o);
	static const raft_term log[] = {1, 2, 3};
	sim_ok(s, sim_setup_log(s, 1, 5000, log, 3));
	sim_ok(s, sim_setup_log(s, 2, 5000, log, 3));
	sim_ok(s, sim_setup_log(s, 3, 3, log, 3));
	raft_id l = sim_wait_leader(s, 3 * SIM_SEC, true);
	assert_int_not_equal(l, 0);
	assert_int_not_equal(l, 3);
	sim_write_n(s, l, 5);
	raft_term t = sim_status(s, l).term;
	assert_true(t > 5000);
	assert_int_equal(sim_status(s, 3).term, t);
	assert_int_equal(sim_status(s, 3).leader, l);
	assert_int_equal(sim_stats(s, 3).msgs_dropped_term_jump, 0);
	sim_ok(s, sim_converge(s, 10 * SIM_SEC));
	sim_close(s);
}

/* A cluster that reaches RAFT_TERM_MAX anyway (here: restored at
 * MAX - 1) elects its last leader, which serves; once it is gone no
 * election can start, and every node says why (term_exhausted) instead of
 * campaigning forever. */
static void exhausted_cluster_says_so(void **state)
{
	(void)state;
	struct sim_options o;
	sim_options_default(&o, 3, 43);
	struct sim *s = sim_open_ok(&o);
	static const raft_term log[] = {1};
	for (raft_id id = 1; id <= 3; id++) {
		sim_ok(s, sim_setup_log(s, id, RAFT_TERM_MAX - 1, log, 1));
	}
	raft_id l = sim_wait_leader(s, 3 * SIM_SEC, true);
	assert_int_not_equal(l, 0);
	assert_int_equal(sim_status(s, l).term, RAFT_TERM_MAX);
	sim_write_n(s, l, 5);
	for (raft_id id = 1; id <= 3; id++) {
		assert_true(sim_status(s, id).term_exhausted);
	}
	sim_crash(s, l);
	sim_run_for(s, 3 * SIM_SEC); /* ~30 election timeouts */
	assert_int_equal(sim_leader(s), 0);
	for (raft_id id = 1; id <= 3; id++) {
		if (id == l) {
			continue;
		}
		struct raft_status st = sim_status(s, id);
		assert_int_equal(st.term, RAFT_TERM_MAX);
		assert_true(st.term_exhausted);
		assert_int_equal(st.role, RAFT_FOLLOWER);
		assert_int_equal(st.leader, 0); /* not the dead one */
	}
	sim_close(s);
}

/* term_jump_max 0 would refuse every election. */
static void term_jump_option_checked(void **state)
{
	(void)state;
	struct raft_options o;
	struct raft_restore rs;
	memset(&rs, 0, sizeof(rs));
	rs.config.n = 1;
	rs.config.servers[0].id = 1;
	rs.config.servers[0].role = RAFT_VOTER;
	struct raft *r;
	raft_options_default(&o, 1, 1);
	assert_int_equal(o.term_jump_max, RAFT_TERM_JUMP_DEFAULT);
	o.term_jump_max = 0;
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(huge_terms_refused),
	    cmocka_unit_test(lagging_replica_catches_up),
	    cmocka_unit_test(exhausted_cluster_says_so),
	    cmocka_unit_test(term_jump_option_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
