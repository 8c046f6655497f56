/* raft_msgs.h — every kind of Raft message a member can send, for the tests
 * that play a misbehaving member: test_terms (through the simulator) and
 * term_tool (over the transport). */
#ifndef FABRAFT_TEST_RAFT_MSGS_H
#define FABRAFT_TEST_RAFT_MSGS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "raft.h"

/* How many kinds test_raft_msg() builds. */
#define TEST_RAFT_MSG_KINDS 6u

/* Fill @m (caller's) with kind @i (< TEST_RAFT_MSG_KINDS) from @from to @to
 * in @term; a VOTE claims a log far ahead, so only the term can refuse it. */
static inline void test_raft_msg(size_t i, raft_id from, raft_id to,
				 raft_term term, struct raft_message *m)
{
	static const uint8_t types[TEST_RAFT_MSG_KINDS] = {
	    RAFT_MSG_VOTE,	  RAFT_MSG_VOTE_RESP,	  RAFT_MSG_APPEND,
	    RAFT_MSG_APPEND_RESP, RAFT_MSG_SNAPSHOT_RESP, RAFT_MSG_TIMEOUT_NOW,
	};
	memset(m, 0, sizeof(*m));
	m->type = types[i];
	m->from = from;
	m->to = to;
	m->term = term;
	if (m->type == RAFT_MSG_VOTE) {
		m->vote.last_index = UINT64_C(1) << 40;
		m->vote.last_term = term;
	}
	if (m->type == RAFT_MSG_APPEND_RESP) {
		m->append_resp.index = 1;
	}
}

#endif /* FABRAFT_TEST_RAFT_MSGS_H */
