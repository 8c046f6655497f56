/* test_fab_hello.c — handshake: round trips, each refusal reason, tampering
 * and replays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fab_hello.h"
#include "fab_wire.h"

#define CLUSTER 0x0123456789abcdefull
static const char secret[] = "correct horse battery staple";
static const char other_secret[] = "correct horse battery stable";

/* Node 1 (initiator) and node 2 (acceptor) of a three-node cluster. */
struct fix {
	struct fab_hello_key k1;
	struct fab_hello_key k2;
	struct fab_hello hello;
	uint8_t buf[FAB_HELLO_FRAME_MAX];
	size_t len;
	char err[FR_ERRMSG_SIZE];
};

static void key(struct fab_hello_key *k, uint64_t cluster, uint32_t self,
		const char *s)
{
	assert_int_equal(fab_hello_key_init(k, cluster, self, s, strlen(s)), 0);
	for (uint32_t id = 1; id <= 3; id++)
		assert_int_equal(fab_hello_key_add_member(k, id), 0);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	key(&f->k1, CLUSTER, 1, secret);
	key(&f->k2, CLUSTER, 2, secret);
	f->hello = (struct fab_hello){.cluster_id = CLUSTER,
				      .from = 1,
				      .to = 2,
				      .version = FAB_HELLO_VERSION};
	assert_int_equal(fab_hello_random(&f->hello.nonce), 0);
	assert_int_equal(fab_hello_random(&f->hello.incarnation), 0);
	f->hello.has_ring = true; /* v3: a flag only, the ring comes later */
	assert_int_equal(fab_hello_encode(&f->k1, FAB_WIRE_HELLO, &f->hello,
					  f->buf, sizeof(f->buf), &f->len),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	fab_hello_key_wipe(&f->k1);
	fab_hello_key_wipe(&f->k2);
	free(f);
	return 0;
}

static int accept_hello(struct fix *f, const struct fab_hello_key *k,
			struct fab_hello *out)
{
	size_t consumed;
	f->err[0] = 0;
	return fab_hello_decode(k, FAB_WIRE_HELLO, 0, f->buf, f->len, out,
				&consumed, f->err);
}

static void full_handshake(void **state)
{
	struct fix *f = *state;
	struct fab_hello got, ack, got_ack;
	uint8_t abuf[FAB_HELLO_FRAME_MAX], cbuf[FAB_HELLO_FRAME_MAX];
	size_t alen, clen, consumed;

	assert_int_equal(f->len, FAB_WIRE_HDR_SIZE + 128);
	assert_int_equal(accept_hello(f, &f->k2, &got), 0);
	assert_int_equal(got.cluster_id, CLUSTER);
	assert_int_equal(got.from, 1);
	assert_int_equal(got.to, 2);
	assert_int_equal(got.nonce, f->hello.nonce);
	assert_int_equal(got.incarnation, f->hello.incarnation);
	assert_true(got.has_ring);

	ack = (struct fab_hello){.cluster_id = CLUSTER,
				 .from = 2,
				 .to = 1,
				 .version = FAB_HELLO_VERSION,
				 .echo = got.nonce};
	assert_int_equal(fab_hello_random(&ack.nonce), 0);
	assert_int_equal(fab_hello_random(&ack.incarnation), 0);
	/* An ACK must echo, a HELLO must not. */
	assert_int_equal(fab_hello_encode(&f->k2, FAB_WIRE_HELLO, &ack, abuf,
					  sizeof(abuf), &alen),
			 FR_INVALID);
	assert_int_equal(fab_hello_encode(&f->k2, FAB_WIRE_HELLO_ACK, &ack,
					  abuf, sizeof(abuf), &alen),
			 0);
	assert_int_equal(fab_hello_decode(&f->k1, FAB_WIRE_HELLO_ACK,
					  f->hello.nonce, abuf, alen, &got_ack,
					  &consumed, f->err),
			 0);
	assert_int_equal(consumed, alen);
	assert_int_equal(got_ack.from, 2);
	assert_false(got_ack.has_ring);
	assert_int_equal(got_ack.echo, f->hello.nonce);

	struct fab_hello_confirm c = {.cluster_id = CLUSTER,
				      .from = 1,
				      .to = 2,
				      .nonce = f->hello.nonce,
				      .echo = got_ack.nonce};
	assert_int_equal(
	    fab_hello_confirm_encode(&f->k1, &c, cbuf, sizeof(cbuf), &clen), 0);
	assert_int_equal(fab_hello_confirm_decode(&f->k2, 1, got.nonce,
						  ack.nonce, cbuf, clen, NULL,
						  &consumed, f->err),
			 0);
	assert_int_equal(consumed, clen);
	/* A CONFIRM recorded earlier does not complete a new handshake. */
	assert_int_equal(fab_hello_confirm_decode(&f->k2, 1, got.nonce,
						  ack.nonce + 1, cbuf, clen,
						  NULL, &consumed, f->err),
			 FR_STALE);
	assert_int_equal(fab_hello_confirm_decode(&f->k2, 3, got.nonce,
						  ack.nonce, cbuf, clen, NULL,
						  &consumed, f->err),
			 FR_NOTFOUND);
	struct fab_hello_key k2b;
	key(&k2b, CLUSTER, 2, other_secret);
	assert_int_equal(fab_hello_confirm_decode(&k2b, 1, got.nonce, ack.nonce,
						  cbuf, clen, NULL, &consumed,
						  f->err),
			 FR_AUTH);
}

static void wrong_secret(void **state)
{
	struct fix *f = *state;
	struct fab_hello_key k;
	struct fab_hello got;

	key(&k, CLUSTER, 2, other_secret);
	assert_int_equal(accept_hello(f, &k, &got), FR_AUTH);
	assert_non_null(strstr(f->err, "MAC"));
	/* A different cluster with a different secret is also just AUTH:
	 * nothing unauthenticated is interpreted. */
	key(&k, CLUSTER + 1, 2, other_secret);
	assert_int_equal(accept_hello(f, &k, &got), FR_AUTH);
}

static void wrong_cluster(void **state)
{
	struct fix *f = *state;
	struct fab_hello_key k;
	struct fab_hello got;

	key(&k, CLUSTER + 1, 2, secret);
	assert_int_equal(accept_hello(f, &k, &got), FR_MISMATCH);
	assert_non_null(strstr(f->err, "cluster id"));
}

static void wrong_version(void **state)
{
	struct fix *f = *state;
	struct fab_hello got;

	f->hello.version = FAB_HELLO_VERSION + 1;
	assert_int_equal(fab_hello_encode(&f->k1, FAB_WIRE_HELLO, &f->hello,
					  f->buf, sizeof(f->buf), &f->len),
			 0);
	assert_int_equal(accept_hello(f, &f->k2, &got), FR_UNSUPPORTED);
	assert_non_null(strstr(f->err, "version"));
}

static void unknown_node_and_wrong_recipient(void **state)
{
	struct fix *f = *state;
	struct fab_hello_key k4, k3;
	struct fab_hello got;

	/* Node 4 knows the secret but is not a member for node 2. */
	key(&k4, CLUSTER, 4, secret);
	f->hello.from = 4;
	assert_int_equal(fab_hello_encode(&k4, FAB_WIRE_HELLO, &f->hello,
					  f->buf, sizeof(f->buf), &f->len),
			 0);
	assert_int_equal(accept_hello(f, &f->k2, &got), FR_NOTFOUND);
	assert_non_null(strstr(f->err, "unknown node 4"));

	/* A HELLO for node 2 presented to node 3. */
	f->hello.from = 1;
	assert_int_equal(fab_hello_encode(&f->k1, FAB_WIRE_HELLO, &f->hello,
					  f->buf, sizeof(f->buf), &f->len),
			 0);
	key(&k3, CLUSTER, 3, secret);
	assert_int_equal(accept_hello(f, &k3, &got), FR_INVALID);
	/* Encoding as somebody else is refused locally. */
	assert_int_equal(fab_hello_encode(&k3, FAB_WIRE_HELLO, &f->hello,
					  f->buf, sizeof(f->buf), &f->len),
			 FR_INVALID);
}

static void replayed_ack(void **state)
{
	struct fix *f = *state;
	struct fab_hello ack = {.cluster_id = CLUSTER,
				.from = 2,
				.to = 1,
				.version = FAB_HELLO_VERSION,
				.nonce = 77,
				.echo = f->hello.nonce};
	struct fab_hello got;
	uint8_t buf[FAB_HELLO_FRAME_MAX];
	size_t len, consumed;

	assert_int_equal(fab_hello_encode(&f->k2, FAB_WIRE_HELLO_ACK, &ack, buf,
					  sizeof(buf), &len),
			 0);
	/* Our next attempt has a new nonce: the old ACK is refused. */
	assert_int_equal(fab_hello_decode(&f->k1, FAB_WIRE_HELLO_ACK,
					  f->hello.nonce + 1, buf, len, &got,
					  &consumed, f->err),
			 FR_STALE);
	assert_int_equal(consumed, 0);
	/* A HELLO is not an ACK, even with a valid checksum. */
	assert_int_equal(fab_hello_decode(&f->k1, FAB_WIRE_HELLO_ACK,
					  f->hello.nonce, f->buf, f->len, &got,
					  &consumed, f->err),
			 FR_MALFORMED);
	/* Relabelling a HELLO as an ACK breaks the MAC (the kind is bound). */
	memcpy(buf, f->buf, f->len);
	assert_int_equal(fab_wire_seal(buf, FAB_WIRE_HELLO_ACK, 128), 0);
	assert_int_equal(fab_hello_decode(&f->k2, FAB_WIRE_HELLO_ACK, 0, buf,
					  f->len, &got, &consumed, f->err),
			 FR_AUTH);
}

/* Flip every bit of the body and reseal the frame so its CRCs pass: the
 * MAC must catch each one. */
static void every_tampered_bit_fails_auth(void **state)
{
	struct fix *f = *state;
	struct fab_hello got;

	for (size_t bit = FAB_WIRE_HDR_SIZE * 8; bit < f->len * 8; bit++) {
		f->buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(fab_wire_seal(f->buf, FAB_WIRE_HELLO, 128), 0);
		assert_int_equal(accept_hello(f, &f->k2, &got), FR_AUTH);
		f->buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(fab_wire_seal(f->buf, FAB_WIRE_HELLO, 128), 0);
	assert_int_equal(accept_hello(f, &f->k2, &got), 0);
	/* Without resealing, a flip is a transport error, not AUTH. */
	f->buf[FAB_WIRE_HDR_SIZE + 3] ^= 1;
	assert_int_equal(accept_hello(f, &f->k2, &got), FR_CORRUPT);
}

static void truncations_and_limits(void **state)
{
	struct fix *f = *state;
	struct fab_hello got;
	struct fab_hello_key k;
	size_t consumed;
	uint64_t a, b;

	for (size_t cut = 0; cut < f->len; cut++)
		assert_int_equal(fab_hello_decode(&f->k2, FAB_WIRE_HELLO, 0,
						  f->buf, cut, &got, &consumed,
						  NULL),
				 FR_AGAIN);
	assert_int_equal(fab_hello_key_init(&k, 1, 1, "short", 5), FR_INVALID);
	assert_int_equal(fab_hello_key_init(&k, 1, 0, secret, strlen(secret)),
			 FR_INVALID);
	assert_int_equal(fab_hello_key_init(&k, 1, 256, secret, strlen(secret)),
			 FR_INVALID);
	assert_int_equal(fab_hello_key_add_member(&f->k1, 0), FR_INVALID);
	assert_int_equal(fab_hello_key_add_member(&f->k1, 256), FR_INVALID);
	/* A HELLO never carries ring bytes (v3: they come sealed, later). */
	f->hello.ring_box[3] = 1;
	assert_int_equal(fab_hello_encode(&f->k1, FAB_WIRE_HELLO, &f->hello,
					  f->buf, sizeof(f->buf), &f->len),
			 FR_INVALID);
	f->hello.ring_box[3] = 0;
	assert_int_equal(fab_hello_encode(&f->k1, FAB_WIRE_HELLO, &f->hello,
					  f->buf, 50, &f->len),
			 FR_NOSPACE);
	assert_int_equal(fab_hello_random(&a), 0);
	assert_int_equal(fab_hello_random(&b), 0);
	assert_true(a != 0 && b != 0 && a != b);
}

static void reject_frames(void **state)
{
	uint8_t buf[64];
	size_t len, consumed;
	int reason;
	uint64_t echo;
	(void)state;

	assert_int_equal(
	    fab_hello_reject_encode(FR_AUTH, 99, buf, sizeof(buf), &len), 0);
	assert_int_equal(
	    fab_hello_reject_decode(buf, len, &reason, &echo, &consumed), 0);
	assert_int_equal(reason, FR_AUTH);
	assert_int_equal(echo, 99);
	assert_int_equal(consumed, len);
	assert_int_equal(fab_hello_reject_encode(0, 1, buf, sizeof(buf), &len),
			 FR_INVALID);
	/* An unknown reason from a newer peer reads as FR_NOCONN. */
	buf[FAB_WIRE_HDR_SIZE] = 250;
	assert_int_equal(fab_wire_seal(buf, FAB_WIRE_REJECT, 16), 0);
	assert_int_equal(
	    fab_hello_reject_decode(buf, len, &reason, &echo, &consumed), 0);
	assert_int_equal(reason, FR_NOCONN);
	assert_int_equal(
	    fab_hello_reject_decode(buf, len - 1, &reason, &echo, &consumed),
	    FR_AGAIN);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(full_handshake),
	    T(wrong_secret),
	    T(wrong_cluster),
	    T(wrong_version),
	    T(unknown_node_and_wrong_recipient),
	    T(replayed_ack),
	    T(every_tampered_bit_fails_auth),
	    T(truncations_and_limits),
	    cmocka_unit_test(reject_frames),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
