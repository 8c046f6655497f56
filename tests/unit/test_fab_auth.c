/* test_fab_auth.c — session keys, frame and ring-record MACs (fab_auth.h),
 * and, white-box on a live pair, what the transport does with an
 * authenticated frame that is replayed or names another sender. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crc32c.h"
#include "fab_auth.h"
#include "fab_peer.h"
#include "fab_test.h"
#include "le.h"

#define SECRET	"auth-test-secret-0123456789abcdef"
#define CLUSTER 77u

/* Both ends of one session, and a second, unrelated session. */
struct fix {
	struct fab_hello_key k1, k2;
	struct fab_auth_params pp;
	struct fab_auth_session s1, s2; /* node 1 (initiator), node 2 */
	struct fab_auth_session o1;	/* node 1 in another handshake */
	uint8_t frame[1024];
	size_t len;
};

static void keys_for(struct fix *f, const struct fab_hello_key *k,
		     const struct fab_auth_params *pp,
		     struct fab_auth_keys *out)
{
	(void)f;
	assert_int_equal(fab_auth_derive(k, pp, out), 0);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct fab_auth_keys a, b;

	assert_non_null(f);
	assert_int_equal(
	    fab_hello_key_init(&f->k1, CLUSTER, 1, SECRET, strlen(SECRET)), 0);
	assert_int_equal(
	    fab_hello_key_init(&f->k2, CLUSTER, 2, SECRET, strlen(SECRET)), 0);
	f->pp = (struct fab_auth_params){.cluster_id = CLUSTER,
					 .initiator = 1,
					 .acceptor = 2,
					 .nonce_i = 0x1111,
					 .nonce_a = 0x2222,
					 .inc_i = 0x3333,
					 .inc_a = 0x4444};
	assert_int_equal(fab_auth_session_init(&f->s1), 0);
	assert_int_equal(fab_auth_session_init(&f->s2), 0);
	assert_int_equal(fab_auth_session_init(&f->o1), 0);
	keys_for(f, &f->k1, &f->pp, &a);
	keys_for(f, &f->k2, &f->pp, &b);
	/* Both ends derive the same six keys, all different. */
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_not_equal(a.msg_i2a, a.msg_a2i, FAB_AUTH_KEY_SIZE);
	assert_memory_not_equal(a.ring_i2a, a.msg_i2a, FAB_AUTH_KEY_SIZE);
	assert_int_equal(fab_auth_session_start(&f->s1, &a, true, 1, 2), 0);
	assert_int_equal(fab_auth_session_start(&f->s2, &b, false, 2, 1), 0);
	/* Another handshake between the same nodes: one nonce differs. */
	struct fab_auth_params other = f->pp;
	other.nonce_a++;
	keys_for(f, &f->k1, &other, &b);
	assert_memory_not_equal(&a, &b, sizeof(a));
	assert_int_equal(fab_auth_session_start(&f->o1, &b, true, 1, 2), 0);
	fab_auth_keys_wipe(&a);
	fab_auth_keys_wipe(&b);

	struct raft_message m = {
	    .type = RAFT_MSG_APPEND_RESP, .from = 1, .to = 2, .term = 5};
	m.append_resp.success = 1;
	m.append_resp.seq = 9;
	assert_int_equal(
	    fab_wire_encode(&m, f->frame, sizeof(f->frame), &f->len), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	fab_auth_session_close(&f->s1);
	fab_auth_session_close(&f->s2);
	fab_auth_session_close(&f->o1);
	free(f);
	return 0;
}

/* Seal f->frame with @s into @out; returns its length. */
static size_t seal(struct fix *f, struct fab_auth_session *s, uint8_t *out)
{
	memcpy(out, f->frame, f->len);
	assert_int_equal(fab_auth_frame_seal(s, out, f->len), 0);
	return f->len + FAB_AUTH_TRAILER_SIZE;
}

/* Parse and open @buf with @s. */
static int open_with(struct fab_auth_session *s, const uint8_t *buf, size_t len,
		     struct raft_message *m)
{
	struct fab_wire_frame fr, in;
	struct raft_entry e[4];
	int rv = fab_wire_parse(buf, len, &fr);

	if (rv != 0)
		return rv;
	rv = fab_auth_frame_open(s, &fr, &in);
	if (rv != 0)
		return rv;
	return fab_wire_decode_frame(&in, m, e, 4);
}

static void roundtrip_and_keys_differ_by_connection(void **state)
{
	struct fix *f = *state;
	uint8_t buf[1100];
	struct raft_message m;
	size_t n = seal(f, &f->s1, buf);

	assert_int_equal(n, f->len + 24);
	assert_int_equal(open_with(&f->s2, buf, n, &m), 0);
	assert_int_equal(m.type, RAFT_MSG_APPEND_RESP);
	assert_int_equal(m.append_resp.seq, 9);
	assert_int_equal(m.from, 1);
	/* The other direction's key does not verify it (no reflection). */
	n = seal(f, &f->s1, buf);
	struct fab_wire_frame fr, in;
	assert_int_equal(fab_wire_parse(buf, n, &fr), 0);
	f->s1.peer = 1; /* pretend it came back to its sender */
	assert_int_equal(fab_auth_frame_open(&f->s1, &fr, &in), FR_AUTH);
	f->s1.peer = 2;
	/* A frame from another connection (handshake) is refused, even
	 * with a sequence number the receiver has not seen yet. */
	for (int i = 0; i < 5; i++)
		n = seal(f, &f->o1, buf);
	assert_int_equal(open_with(&f->s2, buf, n, &m), FR_AUTH);
	assert_int_equal(f->s2.stats.bad_mac, 1);
}

/* Flip each byte of a sealed frame and fix the header CRC up as an
 * attacker would (an authenticated frame has no payload CRC): the MAC
 * refuses every one (or the frame no longer parses). */
static void every_tampered_byte_is_refused(void **state)
{
	struct fix *f = *state;
	uint8_t buf[1100];
	struct raft_message m;
	size_t n = seal(f, &f->s1, buf);

	for (size_t i = 0; i < n; i++) {
		if (i >= 12 && i < 16) /* payload CRC: recomputed below */
			continue;
		if (i >= 20 && i < 24) /* header CRC: recomputed below */
			continue;
		uint8_t tmp[1100];
		memcpy(tmp, buf, n);
		tmp[i] ^= 0x20;
		le_put_u32(tmp + 20, fr_crc32c(0, tmp, 20));
		int rv = open_with(&f->s2, tmp, n, &m);
		assert_int_not_equal(rv, 0);
	}
	/* Untouched, it still opens (the refusals moved no window). */
	assert_int_equal(open_with(&f->s2, buf, n, &m), 0);
}

static void replays_are_refused(void **state)
{
	struct fix *f = *state;
	uint8_t a[1100], b[1100], c[1100];
	struct raft_message m;
	size_t na = seal(f, &f->s1, a);
	size_t nb = seal(f, &f->s1, b);
	size_t nc;

	assert_int_equal(open_with(&f->s2, a, na, &m), 0);
	assert_int_equal(open_with(&f->s2, a, na, &m), FR_STALE);
	assert_int_equal(open_with(&f->s2, b, nb, &m), 0);
	assert_int_equal(open_with(&f->s2, b, nb, &m), FR_STALE);
	assert_int_equal(f->s2.stats.replay, 2);
	/* Within the window, a late one is taken once. */
	for (int i = 0; i < 10; i++)
		nc = seal(f, &f->s1, c);
	nb = seal(f, &f->s1, b);
	assert_int_equal(open_with(&f->s2, b, nb, &m), 0);
	assert_int_equal(open_with(&f->s2, c, nc, &m), 0);
	assert_int_equal(open_with(&f->s2, c, nc, &m), FR_STALE);
	/* Far below the window: refused even if never seen. */
	for (unsigned i = 0; i < FAB_AUTH_WINDOW + 2; i++)
		nb = seal(f, &f->s1, b);
	assert_int_equal(open_with(&f->s2, b, nb, &m), 0);
	assert_int_equal(open_with(&f->s2, a, na, &m), FR_STALE);
	/* A new session (new handshake) refuses everything older. */
	struct fab_auth_keys k;
	struct fab_auth_params pp = f->pp;
	pp.nonce_i++;
	assert_int_equal(fab_auth_derive(&f->k2, &pp, &k), 0);
	assert_int_equal(fab_auth_session_start(&f->s2, &k, false, 2, 1), 0);
	fab_auth_keys_wipe(&k);
	nb = seal(f, &f->s1, b);
	assert_int_equal(open_with(&f->s2, b, nb, &m), FR_AUTH);
}

static void sender_and_flag_are_checked(void **state)
{
	struct fix *f = *state;
	struct fab_wire_frame fr, in;
	uint8_t buf[1100];
	size_t n = seal(f, &f->s1, buf);

	/* The frame names node 1; a session with node 3 does not take it. */
	assert_int_equal(fab_wire_parse(buf, n, &fr), 0);
	assert_int_equal(fr.sender, 1);
	f->s2.peer = 3;
	assert_int_equal(fab_auth_frame_open(&f->s2, &fr, &in), FR_MALFORMED);
	f->s2.peer = 1;
	/* An unauthenticated frame is not opened. */
	assert_int_equal(fab_wire_parse(f->frame, f->len, &fr), 0);
	assert_int_equal(fr.flags, 0);
	assert_int_equal(fab_auth_frame_open(&f->s2, &fr, &in), FR_MALFORMED);
	/* The flag on a handshake kind, or a sender without it: malformed. */
	uint8_t h[256] = {0};
	assert_int_equal(fab_wire_seal(h, FAB_WIRE_HELLO, 16), 0);
	le_put_u16(h + 6, FAB_WIRE_FLAG_AUTH);
	le_put_u32(h + 16, 1);
	le_put_u32(h + 20, fr_crc32c(0, h, 20));
	assert_int_equal(fab_wire_parse(h, 40, &fr), FR_MALFORMED);
	memcpy(h, f->frame, f->len);
	le_put_u32(h + 16, 1);
	le_put_u32(h + 20, fr_crc32c(0, h, 20));
	assert_int_equal(fab_wire_parse(h, f->len, &fr), FR_MALFORMED);
	/* An authenticated frame carries no payload CRC: one that does is
	 * malformed (the field is not under the tag). */
	memcpy(h, buf, n);
	le_put_u32(h + 12, 1);
	le_put_u32(h + 20, fr_crc32c(0, h, 20));
	assert_int_equal(fab_wire_parse(h, n, &fr), FR_MALFORMED);
	assert_int_equal(le_get_u32(buf + 12), 0);
	/* No session: nothing opens, nothing seals. */
	struct fab_auth_session none;
	assert_int_equal(fab_auth_session_init(&none), 0);
	assert_int_equal(fab_wire_parse(buf, n, &fr), 0);
	assert_int_equal(fab_auth_frame_open(&none, &fr, &in), FR_NOCONN);
	memcpy(h, f->frame, f->len);
	assert_int_equal(fab_auth_frame_seal(&none, h, f->len), FR_NOCONN);
	fab_auth_session_close(&none);
}

static void ring_records_and_descriptors(void **state)
{
	struct fix *f = *state;
	static uint8_t ring[4096];
	struct fab_ring_desc d = {
	    .addr = 0x1000, .key = 0xfeed, .size = 4096, .generation = 65};
	struct fab_ring_writer w;
	struct fab_ring_reader r;
	struct fab_ring_slot slot;
	struct fab_ring_rec rec;

	assert_int_equal(fab_ring_writer_init(&w, &d), 0);
	assert_int_equal(fab_ring_reader_init(&r, 4096, 65), 0);
	r.verify = fab_auth_ring_verify;
	r.verify_ctx = &f->s2;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
		    fab_ring_writer_reserve(&w, (uint32_t)f->len, &slot), 0);
		uint8_t *b = ring + slot.offset;
		memcpy(b + FAB_RING_HDR_SIZE, f->frame, f->len);
		fab_ring_record_seal(b, &slot, 5, 65);
		/* Record 1 is written with another connection's key, record
		 * 2 with ours but one payload byte flipped afterwards. */
		struct fab_auth_session *s = i == 1 ? &f->o1 : &f->s1;
		assert_int_equal(
		    fab_auth_ring_seal(s, b, slot.rec_size, 65, slot.pos), 0);
		if (i == 2)
			b[FAB_RING_HDR_SIZE + 30] ^= 1;
		int want = i == 0 ? 0 : FR_AUTH;
		assert_int_equal(
		    fab_ring_reader_next(&r, ring, slot.cq_data, &rec), want);
	}
	assert_int_equal(r.stats.accepted, 1);
	assert_int_equal(r.stats.bad_mac, 2);
	/* A record replayed at another position does not verify. */
	uint8_t copy[512];
	memcpy(copy, ring, 200);
	assert_false(fab_auth_ring_verify(&f->s2, 65, 0, copy, 200) &&
		     fab_auth_ring_verify(&f->s2, 65, 8, copy, 200));
	assert_false(fab_auth_ring_verify(&f->s2, 66, 0, copy, 200));

	/* Descriptors: sealed, opened only with the right key. */
	uint8_t box[FAB_AUTH_BOX_SIZE], box2[FAB_AUTH_BOX_SIZE];
	struct fab_auth_keys k, o;
	struct fab_ring_desc got;
	struct fab_auth_params pp = f->pp;
	assert_int_equal(fab_auth_derive(&f->k1, &f->pp, &k), 0);
	pp.nonce_a ^= 1;
	assert_int_equal(fab_auth_derive(&f->k1, &pp, &o), 0);
	assert_int_equal(fab_auth_desc_seal(k.desc_a2i, &d, box), 0);
	assert_int_equal(fab_auth_desc_seal(k.desc_a2i, &d, box2), 0);
	/* Random IVs: the same descriptor never looks the same. */
	assert_memory_not_equal(box, box2, sizeof(box));
	/* Neither the address nor the key appear in clear. */
	for (size_t i = 0; i + 8 <= sizeof(box); i++)
		assert_true(le_get_u64(box + i) != d.key &&
			    le_get_u64(box + i) != d.addr);
	assert_int_equal(fab_auth_desc_open(k.desc_a2i, box, &got), 0);
	assert_memory_equal(&got, &d, sizeof(d));
	assert_int_equal(fab_auth_desc_open(k.desc_i2a, box, &got), FR_AUTH);
	assert_int_equal(fab_auth_desc_open(o.desc_a2i, box, &got), FR_AUTH);
	box[20] ^= 1;
	assert_int_equal(fab_auth_desc_open(k.desc_a2i, box, &got), FR_AUTH);
	fab_auth_keys_wipe(&k);
	fab_auth_keys_wipe(&o);
}

/* ------------------------------------------------------------------ */
/* White-box, on a live pair                                          */

static struct fab_peer_addr peers[2];
static struct fab *F[3];
static uint64_t got_resps[3];

static void on_msg(void *ctx, const struct raft_message *m)
{
	(void)ctx;
	if (m->type == RAFT_MSG_APPEND_RESP && m->to <= 2)
		got_resps[m->to]++;
}

static void poll_both(unsigned ms)
{
	uint64_t t0 = fab_test_now_ms();

	do {
		assert_true(fab_poll(F[1], on_msg, NULL) >= 0);
		assert_true(fab_poll(F[2], on_msg, NULL) >= 0);
		usleep(100);
	} while (fab_test_now_ms() - t0 < ms);
}

static int open_pair(void **state)
{
	char err[FR_ERRMSG_SIZE];

	(void)state;
	memset(got_resps, 0, sizeof(got_resps));
	for (int i = 0; i < 2; i++) {
		peers[i].id = (raft_id)(i + 1);
		strcpy(peers[i].host, "127.0.0.1");
		peers[i].port = fab_test_free_port();
	}
	for (raft_id id = 1; id <= 2; id++) {
		struct fab_options o = {.provider = "tcp",
					.rma = 0,
					.self = id,
					.peers = peers,
					.n_peers = 2,
					.cluster_id = CLUSTER,
					.secret = SECRET,
					.secret_len = strlen(SECRET)};
		if (fab_open(&F[id], &o, err) != 0)
			return -1;
	}
	for (int i = 0;
	     i < 500 && !(fab_peer_up(F[1], 2) && fab_peer_up(F[2], 1)); i++)
		poll_both(10);
	return fab_peer_up(F[1], 2) && fab_peer_up(F[2], 1) ? 0 : -1;
}

static int close_pair(void **state)
{
	(void)state;
	fab_close(F[1]);
	fab_close(F[2]);
	F[1] = F[2] = NULL;
	return 0;
}

/* Node 2 seals a frame with its real session key, but the Raft message in
 * it says it comes from node 3 (@from), or it is sent twice. */
static size_t sealed_from(raft_id from, uint8_t *buf, size_t cap)
{
	struct fab__peer *p = fab__peer_by_id(F[2], 1);
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND_RESP, .from = from, .to = 1, .term = 1};
	size_t len;

	m.append_resp.success = 1;
	assert_int_equal(fab_wire_encode(&m, buf, cap, &len), 0);
	assert_int_equal(fab_auth_frame_seal(&p->sess, buf, len), 0);
	return len + FAB_AUTH_TRAILER_SIZE;
}

static void transport_counts_from_mismatch_and_replay(void **state)
{
	uint8_t buf[256];
	struct fab_info i1;
	size_t n;

	(void)state;
	/* Another member's name inside node 2's authenticated frame. */
	n = sealed_from(3, buf, sizeof(buf) - FAB_AUTH_TRAILER_SIZE);
	assert_int_equal(fab_test_send_raw(F[2], 1, buf, n), 0);
	poll_both(100);
	fab_info_get(F[1], &i1);
	assert_int_equal(i1.rejects_from, 1);
	assert_int_equal(got_resps[1], 0);
	/* A genuine frame is delivered once; its replay is refused. */
	n = sealed_from(2, buf, sizeof(buf) - FAB_AUTH_TRAILER_SIZE);
	assert_int_equal(fab_test_send_raw(F[2], 1, buf, n), 0);
	poll_both(100);
	assert_int_equal(got_resps[1], 1);
	assert_int_equal(fab_test_send_raw(F[2], 1, buf, n), 0);
	poll_both(100);
	assert_int_equal(got_resps[1], 1);
	fab_info_get(F[1], &i1);
	assert_int_equal(i1.rejects_replay, 1);
	assert_int_equal(i1.rejects_mac, 0);
	assert_true(fab_peer_up(F[1], 2));
	/* Traffic goes on. */
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 1};
	assert_int_equal(fab_send(F[2], &m), 0);
	poll_both(100);
	assert_int_equal(got_resps[1], 2);
}

/*
 * The ends disagree on the session (node 1 holds keys node 2 never had:
 * what a CONFIRM refused as stale leaves behind).  Each drops the other's
 * frames as forged; after a second of nothing but MAC failures node 1
 * restarts the connection, and traffic flows again under new keys.
 */
static void keys_out_of_step_restart_the_link(void **state)
{
	struct fab__peer *p = fab__peer_by_id(F[1], 2);
	struct fab_auth_keys k;
	struct fab_auth_params pp = {.cluster_id = CLUSTER,
				     .initiator = 1,
				     .acceptor = 2,
				     .nonce_i = 5,
				     .nonce_a = 6};
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 1};
	struct fab_info i1;
	uint64_t t0 = fab_test_now_ms();

	(void)state;
	assert_int_equal(fab_auth_derive(&F[1]->key, &pp, &k), 0);
	assert_int_equal(fab_auth_session_start(&p->sess, &k, true, 1, 2), 0);
	fab_auth_keys_wipe(&k);
	while (got_resps[1] == 0 && fab_test_now_ms() - t0 < 5000) {
		int rv = fab_send(F[2], &m);
		assert_true(rv == 0 || rv == FR_NOCONN || rv == FR_AGAIN);
		poll_both(20);
	}
	fab_info_get(F[1], &i1);
	print_message("delivered after %llu ms; %llu frames failed the MAC\n",
		      (unsigned long long)(fab_test_now_ms() - t0),
		      (unsigned long long)i1.rejects_mac);
	assert_true(got_resps[1] > 0);
	assert_true(i1.rejects_mac > 0);
	assert_true(fab_peer_up(F[1], 2) && fab_peer_up(F[2], 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		roundtrip_and_keys_differ_by_connection, setup, teardown),
	    cmocka_unit_test_setup_teardown(every_tampered_byte_is_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(replays_are_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(sender_and_flag_are_checked, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(ring_records_and_descriptors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		transport_counts_from_mismatch_and_replay, open_pair,
		close_pair),
	    cmocka_unit_test_setup_teardown(keys_out_of_step_restart_the_link,
					    open_pair, close_pair),
	};
	fab_test_log_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
