/* test_node_clock.c — node__ctime_stamp(), the cluster time a leader
 * stamps into KV-cache entries: steps of a node's wall clock forward or
 * backward move no stamp, stamps advance with monotonic time only, never
 * go backward across leaders, and storage-node leases in the state machine
 * therefore neither expire early nor last too long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node_int.h"

#define HOUR_MS 3600000ull

/* A new cluster starts from the first stamping node's wall clock; after
 * that the wall clock is never read again. */
static void wall_steps_move_nothing(void **state)
{
	(void)state;
	struct node_ctime c;
	memset(&c, 0, sizeof(c));
	uint64_t wall = 1700000000000ull;
	uint64_t t0 = node__ctime_stamp(&c, 0, 5000, wall);
	assert_int_equal(t0, wall);
	/* 10 s of monotonic time; the wall clock jumps an hour ahead. */
	uint64_t t1 = node__ctime_stamp(&c, t0, 15000, wall + HOUR_MS);
	assert_int_equal(t1, t0 + 10000);
	/* And an hour behind. */
	uint64_t t2 = node__ctime_stamp(&c, t1, 16000, wall - HOUR_MS);
	assert_int_equal(t2, t0 + 11000);
}

/* A new leader (a follower that applied the old leader's stamps) whose
 * wall clock is an hour ahead or behind continues from the highest stamp
 * it applied, advancing by its own monotonic time. */
static void new_leader_continues(void **state)
{
	(void)state;
	uint64_t old_stamp = 1700000000000ull + 123456;
	for (int sign = -1; sign <= 1; sign += 2) {
		struct node_ctime c;
		memset(&c, 0, sizeof(c));
		uint64_t wall = old_stamp + (uint64_t)((int64_t)sign * 3600000);
		uint64_t t = node__ctime_stamp(&c, old_stamp, 777, wall);
		assert_int_equal(t, old_stamp);
		t = node__ctime_stamp(&c, old_stamp, 777 + 2500, wall + 2500);
		assert_int_equal(t, old_stamp + 2500);
	}
}

/* Never backward, never ahead: stamps applied later (entries of an earlier
 * leader the node had not applied yet) pull the anchor up; monotonic time
 * is the only thing that moves it on. */
static void anchor_follows_applied(void **state)
{
	(void)state;
	struct node_ctime c;
	memset(&c, 0, sizeof(c));
	uint64_t t = node__ctime_stamp(&c, 1000, 100, 0);
	assert_int_equal(t, 1000);
	t = node__ctime_stamp(&c, 1000, 150, 0);
	assert_int_equal(t, 1050);
	t = node__ctime_stamp(&c, 5000, 160, 0); /* applied jumped ahead */
	assert_int_equal(t, 5000);
	t = node__ctime_stamp(&c, 2000, 170, 0); /* older applied: ignored */
	assert_int_equal(t, 5010);
}

/* The bug: the leader used to stamp with CLOCK_REALTIME.  A storage node
 * with a 30 s lease, renewed at cluster time T, must stay alive while a new
 * leader with a clock an hour ahead stamps entries a second later, and
 * must expire 30 s after its last renewal when the new leader's clock is an
 * hour behind (the state machine's time would otherwise stand still). */
static void storage_lease_under_wall_steps(void **state)
{
	(void)state;
	uint64_t renewed = 1700000000000ull;
	uint64_t expiry = renewed + 30000;
	struct node_ctime ahead;
	struct node_ctime behind;
	memset(&ahead, 0, sizeof(ahead));
	memset(&behind, 0, sizeof(behind));
	assert_int_equal(
	    node__ctime_stamp(&ahead, renewed, 50, renewed + HOUR_MS), renewed);
	uint64_t t =
	    node__ctime_stamp(&ahead, renewed, 1050, renewed + HOUR_MS + 1000);
	assert_true(t < expiry); /* alive */
	/* The slow leader applied the renewal (as a follower) and stamps
	 * its first entry only 30 s later: the time in between counts. */
	node__ctime_observe(&behind, renewed, 50);
	t = node__ctime_stamp(&behind, renewed, 30050, renewed - HOUR_MS);
	assert_true(t >= expiry); /* expired on time */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(wall_steps_move_nothing),
	    cmocka_unit_test(new_leader_continues),
	    cmocka_unit_test(anchor_follows_applied),
	    cmocka_unit_test(storage_lease_under_wall_steps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
