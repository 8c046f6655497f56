/* test_fab_trust.c — the trust boundary of a live link (issue 15): two
 * endpoints in one process, polled by hand, and a third endpoint on the
 * network that does not hold the cluster secret.
 *
 * Node 3 is configured with the addresses of nodes 1 and 2 but another
 * secret: it never completes a handshake, and sends with
 * fab_test_send_raw() whatever bytes a party on the path could -- frames
 * with correct CRCs, frames with a made-up MAC, and a HELLO recorded from
 * an earlier incarnation of node 2 (its HMAC valid, its nonce old). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crc32c.h"
#include "fab.h"
#include "fab_hello.h"
#include "fab_test.h"
#include "fab_wire.h"

#define SECRET	    "trust-test-secret-0123456789abcdef"
#define BAD_SECRET  "not-the-secret-at-all-0123456789ab"
#define CLUSTER	    11u
#define RESPS_MAGIC 0x5eed

struct trio {
	struct fab_peer_addr peers[3];
	struct fab *f[4];      /* by node id; [0] unused */
	uint64_t appends[4];   /* APPENDs delivered to node i */
	uint64_t resps[4];     /* APPEND_RESPs delivered to node i */
	uint64_t forged[4];    /* messages with the attacker's marker */
	raft_term max_term[4]; /* highest term delivered to node i */
};

static struct trio T;

static void on_msg(void *ctx, const struct raft_message *m)
{
	struct trio *t = ctx;

	if (m->to < 1 || m->to > 3) {
		return;
	}
	if (m->term > t->max_term[m->to]) {
		t->max_term[m->to] = m->term;
	}
	if (m->type == RAFT_MSG_APPEND) {
		t->appends[m->to]++;
	}
	if (m->type == RAFT_MSG_APPEND_RESP) {
		t->resps[m->to]++;
		t->forged[m->to] += m->append_resp.seq == RESPS_MAGIC;
	}
}

static void poll_all(void)
{
	for (raft_id id = 1; id <= 3; id++) {
		if (T.f[id] != NULL) {
			assert_true(fab_poll(T.f[id], on_msg, &T) >= 0);
		}
	}
}

#define POLL_UNTIL(cond, ms)                                                   \
	do {                                                                   \
		uint64_t t0_ = fab_test_now_ms();                              \
		while (!(cond) && fab_test_now_ms() - t0_ < (ms)) {            \
			poll_all();                                            \
			usleep(100);                                           \
		}                                                              \
	} while (0)

static int open_node(raft_id id, uint32_t n_peers, const char *secret, int rma)
{
	char err[FR_ERRMSG_SIZE];
	struct fab_options o = {
	    .provider = "tcp",
	    .rma = rma,
	    .self = id,
	    .peers = T.peers,
	    .n_peers = n_peers,
	    .cluster_id = CLUSTER,
	    .secret = secret,
	    .secret_len = strlen(secret),
	    .ring_bytes = 65536,
	    .frame_bytes_max = 65536,
	    .queue_max_bytes = 1 << 20,
	    .queue_max_msgs = 64,
	};

	if (fab_open(&T.f[id], &o, err) != 0) {
		print_message("fab_open %u: %s\n", id, err);
		return -1;
	}
	return 0;
}

static int open_trio(int rma)
{
	memset(&T, 0, sizeof(T));
	for (int i = 0; i < 3; i++) {
		T.peers[i].id = (raft_id)(i + 1);
		strcpy(T.peers[i].host, "127.0.0.1");
		T.peers[i].port = fab_test_free_port();
	}
	/* Nodes 1 and 2 know each other only; node 3 knows both. */
	if (open_node(1, 2, SECRET, rma) != 0 ||
	    open_node(2, 2, SECRET, rma) != 0 ||
	    open_node(3, 3, BAD_SECRET, 0) != 0) {
		return -1;
	}
	/* 20 s: once in CI under ThreadSanitizer, beside a multi-process
	 * fabric test on 2 cores, no frame at all moved in the first 5 s. */
	POLL_UNTIL(fab_peer_up(T.f[1], 2) && fab_peer_up(T.f[2], 1), 20000);
	if (!fab_peer_up(T.f[1], 2) || !fab_peer_up(T.f[2], 1)) {
		print_message("setup: nodes 1 and 2 not up after 20 s\n");
	}
	return fab_peer_up(T.f[1], 2) && fab_peer_up(T.f[2], 1) ? 0 : -1;
}

static int open_rma(void **state)
{
	(void)state;
	return open_trio(1);
}

static int open_msg(void **state)
{
	(void)state;
	return open_trio(0);
}

static int close_trio(void **state)
{
	(void)state;
	for (int i = 1; i <= 3; i++) {
		fab_close(T.f[i]);
		T.f[i] = NULL;
	}
	return 0;
}

/* Send APPENDs @from -> @to until one more arrives (or @ms pass). */
static bool deliver_one(raft_id from, raft_id to, raft_term term, unsigned ms)
{
	uint64_t before = T.appends[to];
	uint64_t t0 = fab_test_now_ms();
	uint64_t seq = 1;
	struct raft_entry e = {
	    .term = term, .type = RAFT_ENTRY_NORMAL, .len = 3, .buf = "abc"};
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND, .from = from, .to = to, .term = term};

	m.append.n_entries = 1;
	m.append.entries = &e;
	m.append.prev_term = term;
	while (T.appends[to] == before && fab_test_now_ms() - t0 < ms) {
		if (fab_peer_up(T.f[from], to)) {
			e.index = seq;
			m.append.prev_index = seq - 1;
			m.append.seq = seq++;
			int rv = fab_send(T.f[from], &m);
			assert_true(rv == 0 || rv == FR_AGAIN ||
				    rv == FR_NOCONN);
		}
		POLL_UNTIL(T.appends[to] != before, 20);
	}
	return T.appends[to] != before;
}

/* An APPEND_RESP "from node 2" with a huge term, as node 3 can build it:
 * a well-formed frame, correct CRCs. */
static size_t forge_resp(uint8_t *buf, size_t cap, raft_term term)
{
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = term};
	size_t len = 0;

	m.append_resp.success = 1;
	m.append_resp.seq = RESPS_MAGIC;
	assert_int_equal(fab_wire_encode(&m, buf, cap, &len), 0);
	return len;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

/* @frame (@len bytes) with the AUTH flag, node 2 as sender and a trailer
 * {@seq, a made-up tag}, its header CRC correct: all but the key. */
static size_t forge_auth(uint8_t *out, const uint8_t *frame, size_t len,
			 uint64_t seq)
{
	uint32_t plen = (uint32_t)(len - FAB_WIRE_HDR_SIZE + 24);

	memcpy(out, frame, len);
	for (int i = 0; i < 8; i++) {
		out[len + i] = (uint8_t)(seq >> (8 * i));
	}
	memset(out + len + 8, 0xa5, 16);
	out[6] = 1; /* FAB_WIRE_FLAG_AUTH */
	out[7] = 0;
	put32(out + 8, plen);
	put32(out + 12, 0); /* authenticated frames carry no payload CRC */
	put32(out + 16, 2); /* sender */
	put32(out + 20, fr_crc32c(0, out, 20));
	return len + 24;
}

static void send_raw(const void *buf, size_t len)
{
	assert_int_equal(fab_test_send_raw(T.f[3], 1, buf, len), 0);
}

/*
 * Node 3, without the secret, sends node 1 frames that claim to be node
 * 2's: plain CRC-correct ones (what sufficed before issue 15), and ones
 * with the AUTH flag, node 2 as sender and a made-up sequence and tag.
 * None is delivered, each is counted, and traffic between 1 and 2 goes on.
 */
static void forged_frames_are_refused(void **state)
{
	uint8_t buf[256];
	struct fab_info i1;
	size_t len = forge_resp(buf, sizeof(buf), UINT64_C(1) << 62);

	(void)state;
	assert_true(deliver_one(2, 1, 1, 3000));
	for (int i = 0; i < 20; i++) {
		send_raw(buf, len);
		POLL_UNTIL(false, 5);
	}
	/* The same with a MAC trailer that is not one. */
	for (int i = 0; i < 20; i++) {
		uint8_t f2[256];
		size_t n = forge_auth(f2, buf, len, (uint64_t)i + 1);

		send_raw(f2, n);
		POLL_UNTIL(false, 5);
	}
	POLL_UNTIL(false, 200);
	fab_info_get(T.f[1], &i1);
	print_message("node 1: rejects frame %llu auth %llu; "
		      "forged delivered %llu\n",
		      (unsigned long long)i1.rejects_frame,
		      (unsigned long long)i1.rejects_auth,
		      (unsigned long long)T.forged[1]);
	assert_int_equal(T.forged[1], 0);
	assert_true(T.max_term[1] < 1000);
	assert_true(i1.rejects_frame >= 40);
	assert_true(fab_peer_up(T.f[1], 2) && fab_peer_up(T.f[2], 1));
	assert_true(deliver_one(2, 1, 1, 3000));
	assert_true(deliver_one(1, 2, 1, 3000));
}

/*
 * A HELLO that node 2 sent in an earlier incarnation, replayed to node 1
 * while the link is UP: its HMAC is valid (it was made with the secret),
 * but nobody can answer node 1's fresh ACK nonce with a CONFIRM.  The link
 * must stay UP throughout -- before issue 15 it fell back to ACCEPTING --
 * and keep carrying APPENDs both ways, with no reconnect.
 */
static void replayed_hello_keeps_link_up(void **state)
{
	struct fab_hello_key k;
	struct fab_hello h = {.cluster_id = CLUSTER,
			      .from = 2,
			      .to = 1,
			      .version = FAB_HELLO_VERSION,
			      .has_ring = true};
	uint8_t buf[FAB_HELLO_FRAME_MAX];
	struct fab_info before, after;
	size_t len;

	(void)state;
	assert_true(deliver_one(2, 1, 1, 3000));
	assert_true(deliver_one(1, 2, 1, 3000));
	fab_info_get(T.f[1], &before);
	/* The recording: node 2's HELLO of an earlier incarnation. */
	assert_int_equal(
	    fab_hello_key_init(&k, CLUSTER, 2, SECRET, strlen(SECRET)), 0);
	assert_int_equal(fab_hello_random(&h.nonce), 0);
	assert_int_equal(fab_hello_random(&h.incarnation), 0);
	assert_int_equal(
	    fab_hello_encode(&k, FAB_WIRE_HELLO, &h, buf, sizeof(buf), &len),
	    0);
	fab_hello_key_wipe(&k);
	for (int round = 0; round < 5; round++) {
		send_raw(buf, len);
		for (int i = 0; i < 40; i++) {
			poll_all();
			assert_true(fab_peer_up(T.f[1], 2));
			usleep(500);
		}
		assert_true(deliver_one(2, 1, 1, 3000));
		assert_true(deliver_one(1, 2, 1, 3000));
		assert_true(fab_peer_up(T.f[1], 2));
	}
	/* Past the wait for a CONFIRM that never comes: still UP. */
	for (uint64_t t0 = fab_test_now_ms(); fab_test_now_ms() - t0 < 2500;) {
		poll_all();
		assert_true(fab_peer_up(T.f[1], 2));
		usleep(500);
	}
	assert_true(deliver_one(2, 1, 1, 3000));
	assert_true(deliver_one(1, 2, 1, 3000));
	fab_info_get(T.f[1], &after);
	assert_int_equal(after.reconnects, before.reconnects);
	assert_true(fab_peer_up(T.f[2], 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(forged_frames_are_refused, open_rma,
					    close_trio),
	    cmocka_unit_test_setup_teardown(forged_frames_are_refused, open_msg,
					    close_trio),
	    cmocka_unit_test_setup_teardown(replayed_hello_keeps_link_up,
					    open_rma, close_trio),
	    cmocka_unit_test_setup_teardown(replayed_hello_keeps_link_up,
					    open_msg, close_trio),
	};
	fab_test_log_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
