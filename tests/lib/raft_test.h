/* raft_test.h — one core's status and counters by value, for the tests
 * that drive a core directly (test_raft, test_recover). */
#ifndef FABRAFT_TEST_RAFT_TEST_H
#define FABRAFT_TEST_RAFT_TEST_H

#include "raft.h"

static inline struct raft_status raft_test_status(const struct raft *r)
{
	struct raft_status s;
	raft_status_get(r, &s);
	return s;
}

static inline struct raft_stats raft_test_stats(const struct raft *r)
{
	struct raft_stats s;
	raft_stats_get(r, &s);
	return s;
}

#endif /* FABRAFT_TEST_RAFT_TEST_H */
