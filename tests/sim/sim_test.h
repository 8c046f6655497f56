/* sim_test.h — cmocka helpers shared by the simulator's scenario tests
 * (tests/unit/test_scenarios.c, test_features.c).  Include after
 * <cmocka.h>; every helper fails the running test through cmocka. */
#ifndef FABRAFT_SIM_TEST_H
#define FABRAFT_SIM_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "raft.h"
#include "sim.h"

#define SIM_MS	1000ull		   /* virtual microseconds in a millisecond */
#define SIM_SEC (1000ull * SIM_MS) /* and in a second */

/** A simulator opened with @o (borrowed); fails the test if it cannot be.
 * The caller closes it with sim_close(). */
static inline struct sim *sim_open_ok(const struct sim_options *o)
{
	struct sim *s;
	assert_int_equal(sim_open(&s, o), 0);
	return s;
}

/** Assert that a simulator call returned 0; print the violated invariant
 * and the last 40 trace events first if it did not.  @s borrowed. */
static inline void sim_ok(struct sim *s, int rv)
{
	if (rv != 0) {
		fprintf(stderr, "violation: %s\n", sim_violation(s));
		sim_trace_dump(s, stderr, 40);
	}
	assert_int_equal(rv, 0);
}

/** Status of node @id, which must be up.  @s borrowed. */
static inline struct raft_status sim_status(struct sim *s, raft_id id)
{
	struct raft_status st;
	assert_non_null(sim_raft(s, id));
	raft_status_get(sim_raft(s, id), &st);
	return st;
}

/** Run in 5 ms slices until a leader exists (and every live node knows
 * it) or @max_us pass; with @served, also until the leader's no-op is
 * committed, so it can serve reads.  The leader, or 0.  @s borrowed. */
static inline raft_id sim_wait_leader(struct sim *s, uint64_t max_us,
				      bool served)
{
	uint64_t end = sim_now(s) + max_us;
	while (sim_now(s) < end) {
		sim_ok(s, sim_run_until(s, sim_now(s) + 5 * SIM_MS));
		raft_id l = sim_leader(s);
		if (l != 0 && (!served || sim_status(s, l).commit >=
					      sim_status(s, l).last_index)) {
			return l;
		}
	}
	return 0;
}

/** Counters of node @id, which must be up.  @s borrowed. */
static inline struct raft_stats sim_stats(struct sim *s, raft_id id)
{
	struct raft_stats st;
	assert_non_null(sim_raft(s, id));
	raft_stats_get(sim_raft(s, id), &st);
	return st;
}

/** Run @us of virtual time, asserting no invariant breaks.  @s borrowed. */
static inline void sim_run_for(struct sim *s, uint64_t us)
{
	sim_ok(s, sim_run_until(s, sim_now(s) + us));
}

/** Propose @n small writes at leader @l, 1 ms apart, then let them settle
 * for 50 ms.  @s borrowed. */
static inline void sim_write_n(struct sim *s, raft_id l, int n)
{
	for (int i = 0; i < n; i++) {
		char buf[16];
		int len = snprintf(buf, sizeof(buf), "w%d", i);
		sim_ok(s, sim_propose(s, l, buf, (uint32_t)len, NULL, NULL));
		sim_run_for(s, 1 * SIM_MS);
	}
	sim_run_for(s, 50 * SIM_MS);
}

#endif /* FABRAFT_SIM_TEST_H */
