/* fab_mp.c — multi-process fabric tests: a driver that spawns node processes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fab.h"
#include "fab_test.h"

/*
 * Usage (ctest runs the first form):
 *   fab_mp <provider> <msg|rma> <scenario>
 *   fab_mp node <provider> <msg|rma> <scenario> <self> <phase> <port>...
 *
 * The driver picks free loopback ports, starts one process per node
 * (node 1 plays leader, the others followers), restarts a node where the
 * scenario asks, and fails when any node fails or the time limit passes.
 * Scenarios (each node checks its own side and exits non-zero on a
 * mismatch):
 *   deliver   3 nodes: APPENDs of varied sizes in order, one over a quarter
 *             ring (message fallback), a snapshot chunk, a vote; payloads
 *             checked byte for byte; with rma the ring path must be used.
 *   wrap      2 nodes, 4 KiB ring, many records: the ring wraps many times.
 *   credit    2 nodes, rma: the follower stops polling, the leader must see
 *             FR_AGAIN, then finish once credit comes back.
 *   reject    2 nodes, rma: a corrupted record is rejected without effect;
 *             a record of an older term is handed to the receiver (Raft
 *             must see it to answer the old leader with its newer term);
 *             a newer term revokes the ring key and the stream resumes on
 *             the new generation.
 *   reconnect 2 nodes: the follower exits mid-stream and is restarted; the
 *             leader reconnects and delivery resumes.
 *   crash     2 nodes, rma: the follower is SIGKILLed while the leader keeps
 *             a window of APPENDs in flight, and restarted 1.5 s later
 *             (the leader's HELLO retries meanwhile went nowhere); the
 *             restarted
 *             follower must resume from the leader's new ring position
 *             without a single out-of-step write (nothing aimed at the dead
 *             process's ring may land in the new one: regression for
 *             "ring write from peer 1 out of step; revoking" seen in
 *             e2e_snapshot), and without any corrupt or stale record.
 *   auth      2 nodes with different secrets: never connected, refused and
 *             counted on both sides.
 */

#define SECRET	 "fabraft-test-secret-0123456789"
#define CLUSTER	 0xfab0c1u
#define DONE_SEQ 0xd0d0d0d0u

static int fails;
#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "node %u: check failed %s:%d: %s\n",   \
				g.self, __FILE__, __LINE__, #c);               \
			fails++;                                               \
		}                                                              \
	} while (0)

struct node {
	struct fab *f;
	raft_id self;
	int n;	 /* nodes */
	int rma; /* 0/1 */
	const char *scenario;
	int phase; /* reconnect: 1 before restart, 2 after */
	/* follower state */
	uint64_t next_seq[4]; /* expected APPEND seq per sender */
	uint64_t got_appends;
	uint64_t got_old_term; /* reject: APPENDs below the term we hold */
	uint64_t got_other;
	bool done;
	/* leader state */
	uint64_t acks[4]; /* APPEND_RESP received per follower */
	uint64_t max_ack[4];
};

static struct node g;
static const char *prov_hint = ""; /* provider named on the command line */

/* Sleep @ms; 0 still gives the CPU away for 50 us (three spinning
 * processes share two cores with other tests). */
static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000,
			      ms ? (long)(ms % 1000) * 1000000L : 50000L};

	nanosleep(&ts, NULL);
}

/* Payload of entry @index: @len bytes derived from the index. */
static void fill(uint8_t *buf, uint32_t len, uint64_t index)
{
	for (uint32_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)(index * 31u + i * 7u + 1u);
	}
}

static bool check_fill(const uint8_t *buf, uint32_t len, uint64_t index)
{
	for (uint32_t i = 0; i < len; i++) {
		if (buf[i] != (uint8_t)(index * 31u + i * 7u + 1u)) {
			return false;
		}
	}
	return true;
}

/* Replies wait here until the main loop sends them (never from inside the
 * callback: fab_poll() is not re-entrant). */
static struct raft_message replies[4096];
static unsigned n_replies;

static void reply(const struct raft_message *m)
{
	struct raft_message *r = &replies[n_replies];

	CHECK(n_replies < 4096);
	if (n_replies >= 4096) {
		return;
	}
	n_replies++;
	*r = (struct raft_message){
	    .type = RAFT_MSG_APPEND_RESP,
	    .from = g.self,
	    .to = m->from,
	    .term = m->term,
	};
	r->append_resp.success = 1;
	r->append_resp.index = m->append.prev_index + m->append.n_entries;
	r->append_resp.last_index = r->append_resp.index;
	r->append_resp.seq = m->append.seq;
}

/* Send queued replies in order; stop at the first FR_AGAIN. */
static void flush_replies(void)
{
	unsigned i = 0;

	for (; i < n_replies; i++) {
		int rv = fab_send(g.f, &replies[i]);

		if (rv == FR_AGAIN) {
			break;
		}
		if (rv != 0) {
			fprintf(stderr, "node %u: reply seq %llu: %s\n", g.self,
				(unsigned long long)replies[i].append_resp.seq,
				fr_strerror(rv));
		}
	}
	memmove(replies, replies + i, (n_replies - i) * sizeof(replies[0]));
	n_replies -= i;
}

static void on_msg(void *ctx, const struct raft_message *m)
{
	(void)ctx;
	CHECK(m->to == g.self);
	if (m->type == RAFT_MSG_TIMEOUT_NOW) {
		g.done = true;
		return;
	}
	if (m->type == RAFT_MSG_APPEND_RESP) {
		CHECK(m->append_resp.success == 1);
		g.acks[m->from]++;
		if (m->append_resp.seq > g.max_ack[m->from]) {
			g.max_ack[m->from] = m->append_resp.seq;
		}
		return;
	}
	if (m->type != RAFT_MSG_APPEND) {
		g.got_other++;
		if (m->type == RAFT_MSG_SNAPSHOT) {
			CHECK(m->snapshot.len == 100000);
			CHECK(
			    check_fill(m->snapshot.data, m->snapshot.len, 77));
		}
		return;
	}
	/* APPEND: in order (reconnect: increasing, gaps allowed). */
	if (strcmp(g.scenario, "reconnect") == 0 ||
	    strcmp(g.scenario, "crash") == 0 ||
	    strcmp(g.scenario, "reject") == 0) {
		if (m->append.seq <= g.next_seq[m->from]) {
			fprintf(stderr,
				"node %u: APPEND seq %llu term %llu "
				"after seq %llu\n",
				g.self, (unsigned long long)m->append.seq,
				(unsigned long long)m->term,
				(unsigned long long)g.next_seq[m->from]);
		}
		CHECK(m->append.seq > g.next_seq[m->from]);
		g.next_seq[m->from] = m->append.seq;
	} else {
		CHECK(m->append.seq == g.next_seq[m->from] + 1);
		g.next_seq[m->from] = m->append.seq;
	}
	for (uint32_t i = 0; i < m->append.n_entries; i++) {
		const struct raft_entry *e = &m->append.entries[i];

		CHECK(e->index == m->append.prev_index + 1 + i);
		CHECK(check_fill(e->buf, e->len, e->index));
	}
	if (strcmp(g.scenario, "reject") == 0 && m->term < 5) {
		g.got_old_term++; /* Raft would refuse it; no success reply */
		return;
	}
	g.got_appends++;
	reply(m);
}

/* Poll until @cond or @ms pass; returns whether @cond held. */
#define POLL_UNTIL(cond, ms)                                                   \
	do {                                                                   \
		uint64_t t0_ = fab_test_now_ms();                              \
		while (!(cond) && fab_test_now_ms() - t0_ < (ms)) {            \
			if (fab_poll(g.f, on_msg, NULL) == 0) {                \
				sleep_ms(0);                                   \
			}                                                      \
			flush_replies();                                       \
		}                                                              \
	} while (0)
/* Poll until @cond, then check it. */
#define WAIT_CHECK(cond, ms)                                                   \
	do {                                                                   \
		POLL_UNTIL(cond, ms);                                          \
		CHECK(cond);                                                   \
	} while (0)

static uint8_t big[200000];

/* Send one APPEND of @n entries of @len bytes with @seq to @to. */
static int send_append(raft_id to, raft_term term, uint64_t seq, uint32_t n,
		       uint32_t len)
{
	struct raft_entry e[8];
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND,
	    .from = g.self,
	    .to = to,
	    .term = term,
	};
	static uint8_t bufs[8][70000];
	uint64_t first = seq * 8;

	for (uint32_t i = 0; i < n; i++) {
		e[i] = (struct raft_entry){.term = term,
					   .index = first + i,
					   .type = RAFT_ENTRY_NORMAL,
					   .len = len,
					   .buf = bufs[i]};
		fill(bufs[i], len, first + i);
	}
	m.append.prev_index = first - 1;
	m.append.prev_term = term;
	m.append.commit = 0;
	m.append.seq = seq;
	m.append.n_entries = n;
	m.append.entries = e;
	return fab_send(g.f, &m);
}

/* Send, retrying FR_AGAIN by polling; returns the final code. */
static int send_retry(raft_id to, raft_term term, uint64_t seq, uint32_t n,
		      uint32_t len, uint64_t *agains)
{
	uint64_t t0 = fab_test_now_ms();
	int rv;

	while ((rv = send_append(to, term, seq, n, len)) == FR_AGAIN &&
	       fab_test_now_ms() - t0 < 10000) {
		(*agains)++;
		if (fab_poll(g.f, on_msg, NULL) == 0) {
			sleep_ms(0);
		}
		flush_replies();
	}
	return rv;
}

static void send_done(raft_id to)
{
	struct raft_message m = {
	    .type = RAFT_MSG_TIMEOUT_NOW, .from = g.self, .to = to, .term = 1};
	uint64_t t0 = fab_test_now_ms();

	while (fab_send(g.f, &m) != 0 && fab_test_now_ms() - t0 < 5000) {
		(void)fab_poll(g.f, on_msg, NULL);
	}
}

static bool all_up(void)
{
	for (int i = 2; i <= g.n; i++) {
		if (!fab_peer_up(g.f, (raft_id)i)) {
			return false;
		}
	}
	return true;
}

/* fab_send(), retried while the peer's queue is full (FR_AGAIN), as Raft
 * would: with sanitizers on a loaded machine the 64-frame queue can still
 * hold the APPENDs just sent. */
static int send_msg_retry(const struct raft_message *m)
{
	uint64_t t0 = fab_test_now_ms();
	int rv;

	while ((rv = fab_send(g.f, m)) == FR_AGAIN &&
	       fab_test_now_ms() - t0 < 10000) {
		if (fab_poll(g.f, on_msg, NULL) == 0) {
			sleep_ms(0);
		}
		flush_replies();
	}
	return rv;
}

static void others(raft_id to)
{
	struct raft_message v = {
	    .type = RAFT_MSG_VOTE, .from = g.self, .to = to, .term = 2};
	struct raft_message s = {
	    .type = RAFT_MSG_SNAPSHOT, .from = g.self, .to = to, .term = 2};

	v.vote.last_index = 9;
	v.vote.last_term = 1;
	CHECK(send_msg_retry(&v) == 0);
	fill(big, 100000, 77);
	s.snapshot.last_index = 10;
	s.snapshot.last_term = 1;
	s.snapshot.config.n = 1;
	s.snapshot.config.servers[0].id = 1;
	s.snapshot.config.servers[0].role = RAFT_VOTER;
	s.snapshot.total = 100000;
	s.snapshot.len = 100000;
	s.snapshot.done = 1;
	s.snapshot.data = big;
	CHECK(send_msg_retry(&s) == 0);
}

/* crash: keep up to 48 APPENDs in flight whatever happens to the follower,
 * until it has acknowledged 300 sent after it came back (after the
 * reconnect; acknowledgements lost with the dead process never come). */
static void crash_leader(void)
{
	uint64_t s = 1, back_from = 0;
	uint64_t t0 = fab_test_now_ms();
	struct fab_info i0;

	while (fab_test_now_ms() - t0 < 30000) {
		uint64_t base = g.max_ack[2];

		fab_info_get(g.f, &i0);
		if (back_from == 0 && i0.reconnects >= 1) {
			back_from = s;
		}
		if (back_from != 0 && g.max_ack[2] >= back_from + 300) {
			break;
		}
		if (back_from != 0 && base < back_from - 1) {
			base = back_from - 1;
		}
		if (s - 1 - base < 48 && send_append(2, 1, s, 1, 200) == 0) {
			s++;
			continue;
		}
		if (fab_poll(g.f, on_msg, NULL) == 0) {
			sleep_ms(0);
		}
	}
	CHECK(back_from != 0 && g.max_ack[2] >= back_from + 300);
	fab_info_get(g.f, &i0);
	CHECK(i0.rma_sent > 300);
}

static void leader(void)
{
	bool sockets = strcmp(prov_hint, "sockets") == 0;
	bool wrap = strcmp(g.scenario, "wrap") == 0;
	uint64_t n = sockets ? (wrap ? 60 : 30) : 300;
	uint64_t agains = 0;
	struct fab_info info;

	WAIT_CHECK(all_up(), 10000);
	if (strcmp(g.scenario, "deliver") == 0 ||
	    strcmp(g.scenario, "wrap") == 0) {
		for (uint64_t s = 1; s <= n; s++) {
			for (int to = 2; to <= g.n; to++) {
				uint32_t len = (uint32_t)((s * 37) % 600) + 1;
				/* wrap: one entry of <= 300 bytes, so every
				 * record fits a quarter of the 4 KiB ring and
				 * goes by RMA at shifting offsets. */
				uint32_t k = wrap ? 1 : (uint32_t)(s % 3) + 1;

				if (wrap) {
					len = (uint32_t)((s * 37) % 300) + 1;
				}
				CHECK(send_retry((raft_id)to, 1, s, k, len,
						 &agains) == 0);
			}
		}
		if (strcmp(g.scenario, "deliver") == 0) {
			/* Over a quarter of the ring: message fallback. */
			for (int to = 2; to <= g.n; to++) {
				CHECK(send_retry((raft_id)to, 1, n + 1, 1,
						 60000, &agains) == 0);
				others((raft_id)to);
			}
			n++;
		}
		for (int to = 2; to <= g.n; to++) {
			WAIT_CHECK(g.acks[to] == n, 10000);
		}
	} else if (strcmp(g.scenario, "credit") == 0) {
		for (uint64_t s = 1; s <= n; s++) {
			CHECK(send_retry(2, 1, s, 1, 500, &agains) == 0);
		}
		WAIT_CHECK(g.acks[2] == n, 10000);
		CHECK(agains > 0);
	} else if (strcmp(g.scenario, "reject") == 0) {
		CHECK(send_retry(2, 5, 1, 1, 100, &agains) == 0);
		WAIT_CHECK(g.acks[2] == 1, 5000);
		CHECK(send_retry(2, 3, 2, 1, 100, &agains) == 0); /* old */
		fab_test_corrupt_next(g.f, 2);
		CHECK(send_retry(2, 5, 3, 1, 100, &agains) == 0); /* corrupt */
		CHECK(send_retry(2, 5, 4, 1, 100, &agains) == 0);
		WAIT_CHECK(g.acks[2] == 2, 5000);
		CHECK(g.max_ack[2] == 4);
		/* The follower moves to term 6 and revokes our key; after
		 * the re-handshake the stream continues. */
		POLL_UNTIL(!fab_peer_up(g.f, 2), 5000);
		WAIT_CHECK(fab_peer_up(g.f, 2), 5000);
		uint64_t t0 = fab_test_now_ms();

		while (g.acks[2] < 3 && fab_test_now_ms() - t0 < 5000) {
			int rv = send_append(2, 6, 5, 1, 100);

			if (rv == 0) {
				POLL_UNTIL(g.acks[2] == 3, 300);
			} else {
				(void)fab_poll(g.f, on_msg, NULL);
			}
		}
		CHECK(g.acks[2] == 3 && g.max_ack[2] == 5);
	} else if (strcmp(g.scenario, "reconnect") == 0) {
		uint64_t s = 1;
		uint64_t t0 = fab_test_now_ms();
		struct fab_info i0;

		/* Stream until the restarted follower acknowledges 20
		 * appends after its restart (it exits after seq 20 the
		 * first time). */
		while (g.acks[2] < 40 && fab_test_now_ms() - t0 < 20000) {
			int rv = send_append(2, 1, s, 1, 64);

			if (rv == 0) {
				s++;
			}
			POLL_UNTIL(
			    g.acks[2] + 2 >= s - 1 || !fab_peer_up(g.f, 2), 50);
			if (rv != 0) {
				(void)fab_poll(g.f, on_msg, NULL);
				sleep_ms(1);
			}
		}
		CHECK(g.acks[2] >= 40);
		fab_info_get(g.f, &i0);
		CHECK(i0.reconnects >= 1);
	} else if (strcmp(g.scenario, "crash") == 0) {
		crash_leader();
	}
	if (g.rma) {
		fab_info_get(g.f, &info);
		CHECK(info.rma);
		CHECK(info.rma_sent > 0);
		if (strcmp(g.scenario, "wrap") == 0) {
			/* Every record by RMA; the 4 KiB ring went
			 * round at least four times. */
			CHECK(info.rma_sent == n);
			CHECK(info.rma_sent_bytes > 4 * 4096);
		}
	}
	for (int to = 2; to <= g.n; to++) {
		send_done((raft_id)to);
	}
	POLL_UNTIL(false, 200); /* let the done frames leave */
}

static void follower(void)
{
	struct fab_info info;

	if (strcmp(g.scenario, "credit") == 0) {
		WAIT_CHECK(g.got_appends > 0, 10000);
		sleep_ms(400); /* stop polling: the ring fills up */
	}
	if (strcmp(g.scenario, "reject") == 0) {
		fab_term_set(g.f, 5);
		WAIT_CHECK(g.got_appends == 2, 10000);
		fab_info_get(g.f, &info);
		CHECK(g.got_old_term == 1);
		CHECK(info.rejects_ring >= 1);
		CHECK(g.next_seq[1] == 4);
		fab_term_set(g.f, 6);
		fab_info_get(g.f, &info);
		CHECK(info.ring_revokes == 1);
	}
	if (strcmp(g.scenario, "reconnect") == 0 && g.phase == 1) {
		WAIT_CHECK(g.next_seq[1] >= 20, 10000);
		fab_close(g.f);
		g.f = NULL;
		return; /* "crash" mid-stream */
	}
	if (strcmp(g.scenario, "crash") == 0 && g.phase == 1) {
		/* Answer 100, then die with the leader's window in flight:
		 * no fab_close, no goodbye. */
		WAIT_CHECK(g.next_seq[1] >= 100, 10000);
		flush_replies();
		raise(SIGKILL);
	}
	if (strcmp(g.scenario, "crash") == 0) {
		WAIT_CHECK(g.done, 30000);
		fab_info_get(g.f, &info);
		CHECK(g.got_appends >= 300);
		CHECK(info.ring_revokes == 0); /* no out-of-step write */
		CHECK(info.rejects_ring == 0); /* nothing corrupt */
		CHECK(info.rma_recv >= 300);
		POLL_UNTIL(false, 100);
		return;
	}
	WAIT_CHECK(g.done, 30000);
	fab_info_get(g.f, &info);
	if (g.rma && strcmp(g.scenario, "deliver") == 0) {
		CHECK(info.rma_recv > 0);
		CHECK(g.got_other == 2);
	}
	POLL_UNTIL(false, 100);
}

static bool refused_some(void)
{
	struct fab_info info;

	fab_info_get(g.f, &info);
	return info.rejects_auth > 0;
}

/* Each side waits to refuse a HELLO of the other (a fixed 1.5 s was too
 * short for node 2's first HELLO under ThreadSanitizer beside another
 * test), then stays a while so that the other refuses one of its own. */
static void auth(void)
{
	struct fab_info info;

	POLL_UNTIL(refused_some(), 15000);
	CHECK(refused_some());
	POLL_UNTIL(false, 1500);
	fab_info_get(g.f, &info);
	CHECK(info.peers_up == 0);
}

static int node_main(int argc, char **argv)
{
	struct fab_peer_addr peers[3];
	struct fab_options o = {0};
	char err[FR_ERRMSG_SIZE];
	const char *secret = SECRET;
	int rv;

	prov_hint = argv[2];
	g.rma = strcmp(argv[3], "rma") == 0;
	g.scenario = argv[4];
	g.self = (raft_id)atoi(argv[5]);
	g.phase = atoi(argv[6]);
	g.n = argc - 7;
	for (int i = 0; i < g.n; i++) {
		peers[i].id = (raft_id)(i + 1);
		/* FAB_TEST_HOST: an address of an RDMA-capable interface
		 * (tools/scripts/rxe-test.sh); loopback otherwise. */
		snprintf(peers[i].host, sizeof(peers[i].host), "%s",
			 getenv("FAB_TEST_HOST") ? getenv("FAB_TEST_HOST")
						 : "127.0.0.1");
		peers[i].port = (uint16_t)atoi(argv[7 + i]);
	}
	if (strcmp(g.scenario, "auth") == 0 && g.self == 2) {
		secret = "a-different-secret-of-node-two!";
	}
	o.provider = argv[2];
	o.rma = g.rma;
	o.self = g.self;
	o.peers = peers;
	o.n_peers = (uint32_t)g.n;
	o.cluster_id = CLUSTER;
	o.secret = secret;
	o.secret_len = strlen(secret);
	o.ring_bytes = strcmp(g.scenario, "deliver") == 0 ? 65536 : 4096;
	o.frame_bytes_max = 256 * 1024;
	o.queue_max_bytes = 1024 * 1024;
	o.queue_max_msgs = 64;
	rv = fab_open(&g.f, &o, err);
	if (rv != 0) {
		fprintf(stderr, "node %u: fab_open: %s: %s\n", g.self,
			fr_strerror(rv), err);
		return 1;
	}
	if (strcmp(g.scenario, "auth") == 0) {
		auth();
	} else if (g.self == 1) {
		leader();
	} else {
		follower();
	}
	if (g.f != NULL) {
		struct fab_info i;

		fab_info_get(g.f, &i);
		fprintf(stderr,
			"node %u: %s rma=%d sent msg %llu rma %llu, recv msg "
			"%llu rma %llu, again %llu, rejects auth %llu frame "
			"%llu ring %llu stale %llu, reconnects %llu, revokes "
			"%llu, noconn drops %llu, send errors %llu\n",
			g.self, i.provider, i.rma,
			(unsigned long long)i.msg_sent,
			(unsigned long long)i.rma_sent,
			(unsigned long long)i.msg_recv,
			(unsigned long long)i.rma_recv,
			(unsigned long long)i.send_again,
			(unsigned long long)i.rejects_auth,
			(unsigned long long)i.rejects_frame,
			(unsigned long long)i.rejects_ring,
			(unsigned long long)i.rejects_stale,
			(unsigned long long)i.reconnects,
			(unsigned long long)i.ring_revokes,
			(unsigned long long)i.dropped_noconn,
			(unsigned long long)i.send_errors);
		fab_close(g.f);
	}
	return fails ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */

static pid_t pids[3];
static int n_pids;

/* Time limit: take the node processes down with the driver. */
static void on_alarm(int sig)
{
	(void)sig;
	for (int i = 0; i < n_pids; i++) {
		kill(pids[i], SIGKILL);
	}
	_exit(1);
}

static pid_t spawn(char *self_path, char **args)
{
	pid_t pid = fork();

	if (pid == 0) {
		execv(self_path, args);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	char ports[3][8];
	char ids[3][12];
	char *args[3][16];
	int n;
	int failed = 0;
	bool rma;
	const char *scenario;

	fab_test_log_init();
	if (argc >= 8 && strcmp(argv[1], "node") == 0) {
		return node_main(argc, argv);
	}
	if (argc != 4) {
		fprintf(stderr, "usage: %s <provider> <msg|rma> <scenario>\n",
			argv[0]);
		return 2;
	}
	rma = strcmp(argv[2], "rma") == 0;
	scenario = argv[3];
	n = strcmp(scenario, "deliver") == 0 ? 3 : 2;
	{
		/* Skip what this machine cannot run, saying why. */
		char list[128];

		fab_providers_list(list, sizeof(list));
		if (strstr(list, argv[1]) == NULL) {
			printf("SKIP: provider %s not present (present: %s)\n",
			       argv[1], list);
			return 77;
		}
	}
	for (int i = 0; i < n; i++) {
		snprintf(ports[i], sizeof(ports[i]), "%u",
			 fab_test_free_port());
		snprintf(ids[i], sizeof(ids[i]), "%d", i + 1);
	}
	for (int i = 0; i < n; i++) {
		int k = 0;

		args[i][k++] = argv[0];
		args[i][k++] = "node";
		args[i][k++] = argv[1];
		args[i][k++] = argv[2];
		args[i][k++] = (char *)scenario;
		args[i][k++] = ids[i];
		args[i][k++] = "1";
		for (int j = 0; j < n; j++) {
			args[i][k++] = ports[j];
		}
		args[i][k] = NULL;
		pids[i] = spawn(argv[0], args[i]);
	}
	(void)rma;
	n_pids = n;
	signal(SIGALRM, on_alarm);
	alarm(50);
	for (int done = 0; done < n;) {
		int st;
		pid_t p = wait(&st);

		if (p < 0) {
			if (errno == EINTR) {
				continue;
			}
			break;
		}
		for (int i = 0; i < n; i++) {
			if (pids[i] != p) {
				continue;
			}
			bool restart = (strcmp(scenario, "reconnect") == 0 ||
					strcmp(scenario, "crash") == 0) &&
				       i == 1 && strcmp(args[1][6], "1") == 0;
			bool killed = strcmp(scenario, "crash") == 0 &&
				      restart && WIFSIGNALED(st) &&
				      WTERMSIG(st) == SIGKILL;

			if (!killed &&
			    (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
				fprintf(stderr, "node %d failed (status %d)\n",
					i + 1, st);
				failed = 1;
			}
			if (restart) {
				if (killed) {
					/* Stay dead a while: the leader
					 * retries its HELLO to a missing
					 * peer, posting into the void. */
					usleep(1500 * 1000);
				}
				args[1][6] = "2";
				pids[1] = spawn(argv[0], args[1]);
				continue;
			}
			done++;
		}
		if (failed) {
			for (int i = 0; i < n; i++) {
				kill(pids[i], SIGKILL);
			}
		}
	}
	printf("%s %s %s: %s\n", argv[1], argv[2], scenario,
	       failed ? "FAIL" : "ok");
	return failed;
}
