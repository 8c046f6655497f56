/* test_raft.c — one core driven directly: contract, bad input, OOM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "heap.h"
#include "raft.h"
#include "raft_test.h"

static struct raft_config config3(void)
{
	struct raft_config c;
	memset(&c, 0, sizeof(c));
	c.n = 3;
	for (uint32_t i = 0; i < 3; i++) {
		c.servers[i].id = i + 1;
		c.servers[i].role = RAFT_VOTER;
	}
	return c;
}

static struct raft *open_node_opt(raft_id id, const struct raft_config *c,
				  bool majority_rounds)
{
	struct raft_options o;
	raft_options_default(&o, id, 42);
	o.read_round_majority = majority_rounds;
	/* The base algorithm of the paper; test_features covers pre-vote,
	 * check-quorum and the rest. */
	o.pre_vote = false;
	o.check_quorum = false;
	struct raft_restore rs;
	memset(&rs, 0, sizeof(rs));
	rs.config = *c;
	struct raft *r;
	assert_int_equal(raft_open(&r, &o, &rs), 0);
	return r;
}

static struct raft *open_node(raft_id id, const struct raft_config *c)
{
	return open_node_opt(id, c, false);
}

static struct raft_update step(struct raft *r, struct raft_event ev)
{
	struct raft_update u;
	assert_int_equal(raft_step(r, &ev, &u), 0);
	return u;
}

static struct raft_update recv(struct raft *r, const struct raft_message *m)
{
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive.message = m;
	return step(r, ev);
}

/* A zeroed message of @type from @from to @to in @term. */
static struct raft_message message(int type, raft_id from, raft_id to,
				   raft_term term)
{
	struct raft_message m;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.from = from;
	m.to = to;
	m.term = term;
	return m;
}

static struct raft_message append(raft_id from, raft_id to, raft_term term,
				  raft_index prev, raft_term prev_term,
				  raft_index commit, const struct raft_entry *e,
				  uint32_t n)
{
	struct raft_message m = message(RAFT_MSG_APPEND, from, to, term);
	m.append.prev_index = prev;
	m.append.prev_term = prev_term;
	m.append.commit = commit;
	m.append.entries = e;
	m.append.n_entries = n;
	return m;
}

/* ------------------------------------------------------------------ */

static void open_rejects_bad_options_and_state(void **state)
{
	(void)state;
	struct raft_config c = config3();
	struct raft_options o;
	struct raft_restore rs;
	struct raft *r;
	memset(&rs, 0, sizeof(rs));
	rs.config = c;

	raft_options_default(&o, 0, 1);
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
	raft_options_default(&o, 256, 1);
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
	raft_options_default(&o, 1, 1);
	o.heartbeat_ticks = o.election_ticks;
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
	raft_options_default(&o, 1, 1);
	o.max_batch_entries = RAFT_MAX_BATCH_ENTRIES + 1;
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);

	raft_options_default(&o, 1, 1);
	rs.config.servers[2].id = 2; /* duplicate id */
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
	rs.config = c;
	rs.config.servers[1].role = 9; /* unknown role */
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
	rs.config = c;
	for (uint32_t i = 0; i < 3; i++) {
		rs.config.servers[i].role = RAFT_LEARNER; /* no voter */
	}
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
	rs.config = c;

	/* A restored log must be consecutive, with terms that never
	 * decrease and never pass the restored term. */
	struct raft_entry e[2] = {
	    {.term = 1, .index = 1, .type = RAFT_ENTRY_NORMAL},
	    {.term = 1, .index = 3, .type = RAFT_ENTRY_NORMAL},
	};
	rs.term = 1;
	rs.entries = e;
	rs.n_entries = 2;
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
	e[1].index = 2;
	e[1].term = 2;
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
	rs.term = RAFT_TERM_MAX + 1;
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
	rs.term = 2;
	assert_int_equal(raft_open(&r, &o, &rs), 0);
	assert_int_equal(raft_test_status(r).last_index, 2);
	assert_int_equal(raft_test_status(r).persisted, 2);
	raft_close(r);

	/* raft_config_decode refuses what raft_config_validate refuses. */
	unsigned char buf[8] = {1, 2, 5, RAFT_VOTER, 5, RAFT_VOTER};
	struct raft_config out;
	assert_int_equal(raft_config_decode(&out, buf, 6), FR_INVALID);
	buf[0] = 7;
	assert_int_equal(raft_config_decode(&out, buf, 6), FR_MALFORMED);
	assert_int_equal(raft_config_decode(&out, buf, 1), FR_MALFORMED);
	unsigned char enc[2 + 2 * RAFT_MAX_SERVERS];
	assert_int_equal(raft_config_encode(&c, enc, sizeof(enc)), 0);
	assert_int_equal(
	    raft_config_decode(&out, enc, raft_config_encoded_size(&c)), 0);
	assert_int_equal(out.n, 3);
}

/* The entry at recover_index cannot have a term above the current one
 * (raft.h note 7). */
static void open_checks_recover_index_term(void **state)
{
	(void)state;
	struct raft_options o;
	struct raft_restore rs;
	struct raft *r;
	memset(&rs, 0, sizeof(rs));
	rs.config = config3();
	raft_options_default(&o, 1, 1);
	rs.term = 2;
	rs.recover_index = 3;
	rs.recover_index_term = 3;
	assert_int_equal(raft_open(&r, &o, &rs), FR_INVALID);
	rs.recover_index_term = 2;
	assert_int_equal(raft_open(&r, &o, &rs), 0);
	assert_true(raft_test_status(r).recovering);
	raft_close(r);
}

static void open_survives_every_allocation_failure(void **state)
{
	(void)state;
	struct raft_config c = config3();
	for (int k = 0;; k++) {
		fr_heap_fault_config(k, 1);
		struct raft_options o;
		raft_options_default(&o, 1, 1);
		struct raft_restore rs;
		memset(&rs, 0, sizeof(rs));
		rs.config = c;
		struct raft *r = NULL;
		int rv = raft_open(&r, &o, &rs);
		fr_heap_fault_config(-1, 0);
		if (rv == 0) {
			raft_close(r);
			if (k > 3) {
				break; /* past every allocation site */
			}
			continue;
		}
		assert_int_equal(rv, FR_NOMEM);
	}
}

static void propose_contract(void **state)
{
	(void)state;
	struct raft_config c = config3();
	c.n = 1; /* single voter: leader at once */
	struct raft *r = open_node(1, &c);
	struct raft_buf b = {"x", 1};
	struct raft_event ev = {.type = RAFT_EVENT_PROPOSE};
	ev.propose.bufs = &b;
	ev.propose.n = 1;
	struct raft_update u;
	assert_int_equal(raft_step(r, &ev, &u), FR_NOTLEADER);

	struct raft_event camp = {.type = RAFT_EVENT_CAMPAIGN};
	u = step(r, camp);
	assert_true(u.flags & RAFT_UPDATE_HARDSTATE);
	assert_int_equal(u.role, RAFT_LEADER);
	assert_int_equal(u.n_entries, 1); /* the no-op */
	assert_int_equal(u.entries[0].type, RAFT_ENTRY_NOOP);
	assert_int_equal(u.commit, 0); /* not durable yet */

	ev.propose.n = 0;
	assert_int_equal(raft_step(r, &ev, &u), FR_INVALID);
	ev.propose.n = RAFT_MAX_BATCH_ENTRIES + 1;
	assert_int_equal(raft_step(r, &ev, &u), FR_INVALID);
	struct raft_buf huge = {"x", RAFT_MAX_ENTRY_BYTES + 1};
	ev.propose.bufs = &huge;
	ev.propose.n = 1;
	assert_int_equal(raft_step(r, &ev, &u), FR_INVALID);
	struct raft_buf null = {NULL, 3};
	ev.propose.bufs = &null;
	assert_int_equal(raft_step(r, &ev, &u), FR_INVALID);

	/* Out of memory: the whole batch or nothing. */
	struct raft_buf two[2] = {{"a", 1}, {"b", 1}};
	ev.propose.bufs = two;
	ev.propose.n = 2;
	fr_heap_fault_config(1, 1); /* second payload copy */
	assert_int_equal(raft_step(r, &ev, &u), FR_NOMEM);
	fr_heap_fault_config(-1, 0);
	assert_int_equal(raft_test_status(r).last_index, 1);

	u = step(r, ev);
	assert_int_equal(u.proposed_index, 2);
	assert_int_equal(u.n_entries, 2);
	/* Committed and applied only once durable (persist before ack). */
	assert_int_equal(raft_test_status(r).commit, 0);
	struct raft_event p = {.type = RAFT_EVENT_PERSISTED};
	p.persisted.index = 3;
	p.persisted.term = 1;
	u = step(r, p);
	assert_int_equal(u.commit, 3);
	assert_int_equal(u.n_apply, 3);
	/* A stale PERSISTED report (wrong term) is ignored. */
	p.persisted.term = 7;
	u = step(r, p);
	assert_int_equal(u.n_apply, 0);
	raft_close(r);
}

/* Two entries of term 1, indexes 1 and 2. */
static const struct raft_entry entries_ab[2] = {
    {.term = 1, .index = 1, .type = RAFT_ENTRY_NORMAL, .len = 1, .buf = "a"},
    {.term = 1, .index = 2, .type = RAFT_ENTRY_NORMAL, .len = 1, .buf = "b"},
};

/* A follower acknowledges only what is durable and matches the leader. */
static void follower_acks_after_persist(void **state)
{
	(void)state;
	struct raft_config c = config3();
	struct raft *r = open_node(2, &c);
	const struct raft_entry *e = entries_ab;
	struct raft_message m = append(1, 2, 1, 0, 0, 2, e, 2);
	m.append.seq = 3; /* a heartbeat round not answered yet */
	struct raft_update u = recv(r, &m);
	assert_int_equal(u.n_entries, 2);
	/* Answered at once: the round must not wait for the disk. */
	assert_int_equal(u.n_messages, 1);
	assert_int_equal(u.messages[0].type, RAFT_MSG_APPEND_RESP);
	assert_int_equal(u.messages[0].append_resp.success, 1);
	assert_int_equal(u.messages[0].append_resp.index, 0);
	assert_int_equal(u.messages[0].append_resp.seq, 3);
	assert_int_equal(u.n_apply, 0); /* committed, but not durable here */
	struct raft_event p = {.type = RAFT_EVENT_PERSISTED};
	p.persisted.index = 2;
	p.persisted.term = 1;
	u = step(r, p);
	assert_int_equal(u.n_messages, 1);
	assert_int_equal(u.messages[0].append_resp.index, 2);
	assert_int_equal(u.messages[0].append_resp.seq, 3);
	assert_int_equal(u.messages[0].to, 1);
	assert_int_equal(u.n_apply, 2);
	assert_int_equal(raft_test_stats(r).acks_deferred, 0);
	raft_close(r);
}

/* New entries of a round already answered get one ack, once durable (an
 * ack before the write told the leader nothing and delayed the write);
 * entries the follower holds already, and heartbeats, are answered at
 * once. */
static void follower_defers_ack_of_new_entries(void **state)
{
	(void)state;
	struct raft_config c = config3();
	struct raft *r = open_node(2, &c);
	const struct raft_entry *e = entries_ab;
	struct raft_message hb = append(1, 2, 1, 0, 0, 0, NULL, 0);
	hb.append.seq = 5;
	struct raft_update u = recv(r, &hb);
	assert_int_equal(u.n_messages, 1); /* a heartbeat: at once */
	assert_int_equal(u.messages[0].append_resp.seq, 5);

	struct raft_message m = append(1, 2, 1, 0, 0, 0, e, 1);
	m.append.seq = 5;
	u = recv(r, &m);
	assert_int_equal(u.n_entries, 1);
	assert_int_equal(u.n_messages, 0); /* deferred */
	assert_int_equal(raft_test_stats(r).acks_deferred, 1);
	m = append(1, 2, 1, 1, 1, 0, &e[1], 1);
	m.append.seq = 5;
	u = recv(r, &m);
	assert_int_equal(u.n_messages, 0);
	assert_int_equal(raft_test_stats(r).acks_deferred, 2);

	struct raft_event p = {.type = RAFT_EVENT_PERSISTED};
	p.persisted.index = 2;
	p.persisted.term = 1;
	u = step(r, p);
	assert_int_equal(u.n_messages, 1); /* one ack for both */
	assert_int_equal(u.messages[0].append_resp.success, 1);
	assert_int_equal(u.messages[0].append_resp.index, 2);
	assert_int_equal(u.messages[0].append_resp.seq, 5);

	/* A resend of what is held already: nothing will be written, so
	 * it is answered now. */
	m = append(1, 2, 1, 0, 0, 0, e, 2);
	m.append.seq = 5;
	u = recv(r, &m);
	assert_int_equal(u.n_messages, 1);
	assert_int_equal(u.messages[0].append_resp.index, 2);
	assert_int_equal(raft_test_stats(r).acks_deferred, 2);
	raft_close(r);
}

/* Every kind of bad message is dropped and counted; none asserts. */
static void bad_messages_are_counted(void **state)
{
	(void)state;
	struct raft_config c = config3();
	struct raft *r = open_node(2, &c);
	struct raft_entry e[3] = {
	    {.term = 1,
	     .index = 1,
	     .type = RAFT_ENTRY_NORMAL,
	     .len = 1,
	     .buf = "a"},
	    {.term = 1,
	     .index = 2,
	     .type = RAFT_ENTRY_NORMAL,
	     .len = 1,
	     .buf = "b"},
	    {.term = 1,
	     .index = 3,
	     .type = RAFT_ENTRY_NORMAL,
	     .len = 1,
	     .buf = "c"},
	};
	struct raft_message m;

	m = append(1, 3, 1, 0, 0, 0, e, 1); /* for someone else */
	recv(r, &m);
	m = append(1, 2, 0, 0, 0, 0, e, 1); /* term 0 */
	recv(r, &m);
	m = append(1, 2, 1, 0, 0, 0, e, 1);
	m.type = 99; /* unknown type */
	recv(r, &m);
	m = append(2, 2, 1, 0, 0, 0, e, 1); /* from itself */
	recv(r, &m);
	assert_int_equal(raft_test_stats(r).msgs_dropped_bad, 4);

	/* A term so large that an election would wrap it (found by
	 * fuzz_raft): dropped, and our term is unchanged. */
	m = append(1, 2, UINT64_MAX, 0, 0, 0, e, 1);
	recv(r, &m);
	m = append(1, 2, RAFT_TERM_MAX + 1, 0, 0, 0, e, 1);
	recv(r, &m);
	assert_int_equal(raft_test_stats(r).msgs_dropped_bad, 6);
	assert_int_equal(raft_test_status(r).term, 0);

	/* Answers from non-members have no progress to update: dropped.
	 * (Requests from them are processed: thesis 4.1, test_features.) */
	m = append(9, 2, 1, 0, 0, 0, NULL, 0);
	m.type = RAFT_MSG_APPEND_RESP;
	recv(r, &m);
	m.from = 200;
	m.type = RAFT_MSG_VOTE_RESP;
	recv(r, &m);
	assert_int_equal(raft_test_stats(r).msgs_dropped_unknown, 2);
	m.from = RAFT_ID_MAX + 1; /* not an id at all */
	recv(r, &m);
	assert_int_equal(raft_test_stats(r).msgs_dropped_bad, 7);
	assert_int_equal(raft_test_status(r).term, 0);

	/* Malformed batches: indices with a hole, decreasing or too new
	 * terms, NULL entries, over the batch limit, NULL payload, bad
	 * type, prev_term without prev_index. */
	struct raft_entry hole[2] = {e[0], e[2]};
	m = append(1, 2, 1, 0, 0, 0, hole, 2);
	recv(r, &m);
	struct raft_entry newer[1] = {e[0]};
	newer[0].term = 5;
	m = append(1, 2, 1, 0, 0, 0, newer, 1);
	recv(r, &m);
	m = append(1, 2, 1, 0, 0, 0, NULL, 2);
	recv(r, &m);
	m = append(1, 2, 1, 0, 0, 0, e, RAFT_MAX_BATCH_ENTRIES + 1);
	recv(r, &m);
	struct raft_entry nul[1] = {e[0]};
	nul[0].buf = NULL;
	m = append(1, 2, 1, 0, 0, 0, nul, 1);
	recv(r, &m);
	struct raft_entry badtype[1] = {e[0]};
	badtype[0].type = 0;
	m = append(1, 2, 1, 0, 0, 0, badtype, 1);
	recv(r, &m);
	m = append(1, 2, 1, 0, 3, 0, NULL, 0);
	recv(r, &m);
	assert_int_equal(raft_test_stats(r).appends_malformed, 7);
	assert_int_equal(raft_test_status(r).last_index, 0);

	/* prev_index past our log: a reject with a hint, not a crash. */
	m = append(1, 2, 1, 1000000, 1, 5, NULL, 0);
	struct raft_update u = recv(r, &m);
	assert_int_equal(u.n_messages, 1);
	assert_int_equal(u.messages[0].append_resp.success, 0);
	assert_int_equal(u.messages[0].append_resp.conflict_index, 1);
	assert_int_equal(raft_test_stats(r).appends_rejected, 1);

	/* A commit index past what we hold is capped. */
	m = append(1, 2, 1, 0, 0, UINT64_MAX, e, 2);
	recv(r, &m);
	assert_int_equal(raft_test_status(r).commit, 2);

	/* A past term: dropped, and the sender learns our term. */
	struct raft_message hb = append(3, 2, 7, 0, 0, 0, NULL, 0);
	recv(r, &hb); /* node 3 leads term 7 now */
	m = append(1, 2, 1, 2, 1, 2, NULL, 0);
	u = recv(r, &m);
	assert_int_equal(raft_test_stats(r).msgs_dropped_stale, 1);
	assert_int_equal(u.n_messages, 1);
	assert_int_equal(u.messages[0].term, 7);
	assert_int_equal(u.messages[0].append_resp.success, 0);

	/* A snapshot chunk without metadata or data: refused, counted. */
	uint64_t bad = raft_test_stats(r).snapshot_chunks_refused;
	m = message(RAFT_MSG_SNAPSHOT, 3, 2, 7);
	u = recv(r, &m);
	assert_int_equal(raft_test_stats(r).snapshot_chunks_refused, bad + 1);
	assert_int_equal(u.n_messages, 0);

	/* A node at the largest term never campaigns (it would wrap). */
	raft_close(r);
	struct raft_options o;
	raft_options_default(&o, 2, 1);
	struct raft_restore rs;
	memset(&rs, 0, sizeof(rs));
	rs.config = c;
	rs.term = RAFT_TERM_MAX;
	assert_int_equal(raft_open(&r, &o, &rs), 0);
	struct raft_event camp = {.type = RAFT_EVENT_CAMPAIGN};
	step(r, camp);
	struct raft_event tick = {.type = RAFT_EVENT_TICK};
	for (int i = 0; i < 100; i++) {
		step(r, tick);
	}
	assert_int_equal(raft_test_status(r).term, RAFT_TERM_MAX);
	assert_int_equal(raft_test_status(r).role, RAFT_FOLLOWER);
	raft_close(r);
}

/* Acks of indices the leader never sent, from unknown or stale peers. */
static void leader_ignores_bogus_answers(void **state)
{
	(void)state;
	struct raft_config c = config3();
	struct raft *r = open_node(1, &c);
	struct raft_event camp = {.type = RAFT_EVENT_CAMPAIGN};
	step(r, camp);
	struct raft_message v = message(RAFT_MSG_VOTE_RESP, 2, 1, 1);
	v.vote_resp.granted = 1;
	struct raft_update u = recv(r, &v);
	assert_int_equal(u.role, RAFT_LEADER);
	/* A duplicate vote changes nothing. */
	recv(r, &v);
	assert_int_equal(raft_test_status(r).role, RAFT_LEADER);

	struct raft_message a = message(RAFT_MSG_APPEND_RESP, 2, 1, 1);
	a.append_resp.success = 1;
	a.append_resp.index = 1000; /* never sent */
	uint64_t bad = raft_test_stats(r).msgs_dropped_bad;
	recv(r, &a);
	assert_int_equal(raft_test_stats(r).msgs_dropped_bad, bad + 1);
	assert_int_equal(raft_test_status(r).commit, 0);
	/* A reject for index 0 or beyond our log is ignored. */
	a.append_resp.success = 0;
	a.append_resp.index = 0;
	recv(r, &a);
	a.append_resp.index = UINT64_MAX;
	recv(r, &a);
	assert_int_equal(raft_test_status(r).role, RAFT_LEADER);

	/* An AppendEntries for our own term from another "leader". */
	struct raft_message m = append(3, 1, 1, 0, 0, 0, NULL, 0);
	bad = raft_test_stats(r).msgs_dropped_bad;
	recv(r, &m);
	assert_int_equal(raft_test_stats(r).msgs_dropped_bad, bad + 1);
	assert_int_equal(raft_test_status(r).role, RAFT_LEADER);

	/* A higher term in any message: step down. */
	a.term = 5;
	recv(r, &a);
	assert_int_equal(raft_test_status(r).role, RAFT_FOLLOWER);
	assert_int_equal(raft_test_status(r).term, 5);
	raft_close(r);
}

/* One vote per term, and only for an up-to-date log (§5.4.1). */
static void votes(void **state)
{
	(void)state;
	struct raft_config c = config3();
	struct raft *r = open_node(3, &c);
	struct raft_entry e[1] = {{.term = 2,
				   .index = 1,
				   .type = RAFT_ENTRY_NORMAL,
				   .len = 1,
				   .buf = "a"}};
	struct raft_message m = append(1, 3, 2, 0, 0, 0, e, 1);
	recv(r, &m);
	struct raft_message v = message(RAFT_MSG_VOTE, 2, 3, 3);
	v.vote.last_index = 5;
	v.vote.last_term = 1; /* older last term: refuse */
	struct raft_update u = recv(r, &v);
	assert_int_equal(u.messages[0].vote_resp.granted, 0);
	assert_int_equal(raft_test_status(r).term, 3);
	v.vote.last_index = 1;
	v.vote.last_term = 2;
	u = recv(r, &v);
	assert_int_equal(u.messages[0].vote_resp.granted, 1);
	assert_true(u.flags & RAFT_UPDATE_HARDSTATE);
	assert_int_equal(u.vote, 2);
	/* Another candidate, same term: refused. */
	v.from = 1;
	u = recv(r, &v);
	assert_int_equal(u.messages[0].vote_resp.granted, 0);
	/* The same candidate asking again (lost answer): granted again. */
	v.from = 2;
	u = recv(r, &v);
	assert_int_equal(u.messages[0].vote_resp.granted, 1);
	raft_close(r);
}

/* Two chunks of one snapshot whose configurations differ only past n, bytes
 * that are not part of the configuration: the second continues the
 * transfer (it was refused when the configurations were memcmp'ed). */
static void snapshot_chunks_compare_config_members(void **state)
{
	(void)state;
	struct raft_config c = config3();
	struct raft *r = open_node(2, &c);
	struct raft_message m = message(RAFT_MSG_SNAPSHOT, 1, 2, 1);
	m.snapshot.last_index = 10;
	m.snapshot.last_term = 1;
	m.snapshot.config = c;
	m.snapshot.config.servers[3].id = 7; /* past n: not a member */
	m.snapshot.offset = 0;
	m.snapshot.total = 2;
	m.snapshot.len = 1;
	m.snapshot.data = "a";
	struct raft_update u = recv(r, &m);
	assert_int_equal(raft_test_stats(r).snapshot_chunks_refused, 0);
	assert_int_equal(u.n_messages, 1);
	assert_int_equal(u.messages[0].snapshot_resp.offset, 1);

	m.snapshot.config.servers[3].id = 9;
	m.snapshot.config.servers[4].role = RAFT_VOTER;
	m.snapshot.offset = 1;
	m.snapshot.done = 1;
	m.snapshot.data = "b";
	u = recv(r, &m);
	assert_int_equal(raft_test_stats(r).snapshot_chunks_refused, 0);
	assert_int_equal(raft_test_stats(r).snapshots_installed, 1);
	assert_int_equal(u.n_messages, 1);
	assert_int_equal(u.messages[0].snapshot_resp.rejected, 0);
	assert_int_equal(u.messages[0].snapshot_resp.done, 1);
	assert_int_equal(raft_test_status(r).commit, 10);
	raft_close(r);
}

/* The seq of the heartbeat round in @u's AppendEntries to node @to (0:
 * none sent). */
static uint64_t round_to(const struct raft_update *u, raft_id to)
{
	for (uint32_t i = 0; i < u->n_messages; i++) {
		if (u->messages[i].type == RAFT_MSG_APPEND &&
		    u->messages[i].to == to) {
			return u->messages[i].append.seq;
		}
	}
	return 0;
}

static uint64_t round_to_2(const struct raft_update *u)
{
	return round_to(u, 2);
}

static struct raft_update read_one(struct raft *r, uint64_t ctx)
{
	struct raft_event ev = {.type = RAFT_EVENT_READ};
	ev.read.ctx = &ctx;
	ev.read.n = 1;
	return step(r, ev);
}

/* Node @from answers heartbeat round @seq (its log matches through 1). */
static struct raft_update ack_from(struct raft *r, raft_id from, uint64_t seq)
{
	struct raft_message a = message(RAFT_MSG_APPEND_RESP, from, 1, 1);
	a.append_resp.success = 1;
	a.append_resp.index = 1;
	a.append_resp.last_index = 1;
	a.append_resp.seq = seq;
	return recv(r, &a);
}

static struct raft_update ack_round(struct raft *r, uint64_t seq)
{
	return ack_from(r, 2, seq);
}

/* Node 1 of three, leader of term 1 with its no-op committed and applied
 * (node 2 acknowledged it; node 3 too when @both); read rounds to a
 * majority only when @majority_rounds. */
static struct raft *committed_leader(bool majority_rounds, bool both)
{
	struct raft_config c = config3();
	struct raft *r = open_node_opt(1, &c, majority_rounds);
	struct raft_event camp = {.type = RAFT_EVENT_CAMPAIGN};
	struct raft_message vote = message(RAFT_MSG_VOTE_RESP, 2, 1, 1);
	struct raft_event durable = {.type = RAFT_EVENT_PERSISTED};

	step(r, camp);
	vote.vote_resp.granted = 1;
	assert_int_equal(recv(r, &vote).role, RAFT_LEADER);
	durable.persisted.index = 1; /* the leader's no-op */
	durable.persisted.term = 1;
	step(r, durable);
	ack_from(r, 2, 0);
	if (both) {
		ack_from(r, 3, 0); /* both stream now */
	}
	assert_int_equal(raft_test_status(r).applied, 1); /* term committed */
	return r;
}

/* ReadIndex batching (thesis 6.4): one round in flight at a time, and a
 * read is never released by a round that was sent before it arrived, only
 * by the next one, which then covers every read queued meanwhile. */
static void reads_wait_for_a_round_sent_after_them(void **state)
{
	(void)state;
	struct raft *r = committed_leader(false, false);

	struct raft_update u = read_one(r, 10);
	uint64_t first = round_to_2(&u);
	assert_true(first > 0);
	assert_int_equal(u.n_reads, 0);
	/* Arrives while the first round is out: no second round yet. */
	u = read_one(r, 11);
	assert_int_equal(round_to_2(&u), 0);
	u = read_one(r, 12);
	assert_int_equal(round_to_2(&u), 0);

	/* The first round's answer releases the read it covers, not the
	 * two that came after it was sent; their round leaves now. */
	u = ack_round(r, first);
	assert_int_equal(u.n_reads, 1);
	assert_int_equal(u.reads[0].ctx, 10);
	assert_int_equal(u.reads[0].status, 0);
	uint64_t second = round_to_2(&u);
	assert_true(second > first);
	/* A late or repeated answer to the old round releases nothing. */
	u = ack_round(r, first);
	assert_int_equal(u.n_reads, 0);

	u = ack_round(r, second);
	assert_int_equal(u.n_reads, 2);
	assert_int_equal(u.reads[0].ctx, 11);
	assert_int_equal(u.reads[1].ctx, 12);
	assert_int_equal(u.reads[1].index, 1);
	/* Nothing queued: no further round. */
	assert_int_equal(round_to_2(&u), 0);
	raft_close(r);
}

/* With read_round_majority, a read round goes to as few followers as make
 * a majority with the leader (one of two here), the one that answered last; if
 * it falls silent, the next periodic heartbeat (to everyone) releases the reads
 * and later rounds go to the follower that answered it. */
static void read_round_goes_to_a_majority_only(void **state)
{
	(void)state;
	struct raft *r = committed_leader(true, true);

	struct raft_update u = read_one(r, 20);
	uint64_t s2 = round_to(&u, 2), s3 = round_to(&u, 3);
	assert_true((s2 == 0) != (s3 == 0)); /* exactly one of them */
	raft_id chosen = s2 != 0 ? 2 : 3, other = s2 != 0 ? 3 : 2;

	/* The chosen follower stays silent; the other answers the next
	 * heartbeat, which every follower gets, and that releases the read. */
	struct raft_event tick = {.type = RAFT_EVENT_TICK};
	uint64_t hb = 0;
	for (int i = 0; i < 10 && hb == 0; i++) {
		u = step(r, tick);
		hb = round_to(&u, other);
	}
	assert_true(hb > s2 + s3);
	assert_int_equal(round_to(&u, chosen), hb);
	u = ack_from(r, other, hb);
	assert_int_equal(u.n_reads, 1);
	assert_int_equal(u.reads[0].ctx, 20);

	/* The next round goes to the one that answered. */
	u = read_one(r, 21);
	assert_true(round_to(&u, other) > hb);
	assert_int_equal(round_to(&u, chosen), 0);
	u = ack_from(r, other, round_to(&u, other));
	assert_int_equal(u.n_reads, 1);
	assert_int_equal(u.reads[0].ctx, 21);
	raft_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(open_rejects_bad_options_and_state),
	    cmocka_unit_test(open_checks_recover_index_term),
	    cmocka_unit_test(open_survives_every_allocation_failure),
	    cmocka_unit_test(propose_contract),
	    cmocka_unit_test(follower_acks_after_persist),
	    cmocka_unit_test(follower_defers_ack_of_new_entries),
	    cmocka_unit_test(bad_messages_are_counted),
	    cmocka_unit_test(leader_ignores_bogus_answers),
	    cmocka_unit_test(votes),
	    cmocka_unit_test(snapshot_chunks_compare_config_members),
	    cmocka_unit_test(reads_wait_for_a_round_sent_after_them),
	    cmocka_unit_test(read_round_goes_to_a_majority_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
