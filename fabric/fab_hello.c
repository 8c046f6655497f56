/* fab_hello.c — HELLO / HELLO_ACK / HELLO_CONFIRM / REJECT with HMAC-SHA256. */
#include "fab_hello.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "fab_wire.h"
#include "le.h"
#include "raft.h"

/*
 * What the MAC covers: the frame kind byte, then every payload byte before
 * the MAC.  The frame header's checksums cannot be covered (they are
 * computed over the MAC itself), and need not be: the kind is bound
 * explicitly and the payload length is fixed per kind.
 */

/* HELLO / HELLO_ACK payload offsets. */
enum {
	H_CLUSTER = 0,
	H_FROM = 8,
	H_TO = 12,
	H_VERSION = 16,
	H_FLAGS = 18,
	H_NONCE = 20,
	H_INCARNATION = 28,
	H_ECHO = 36,
	H_RING_BOX = 44,
	H_MAC = H_RING_BOX + FAB_HELLO_BOX_SIZE,
	H_SIZE = H_MAC + FAB_HELLO_MAC_SIZE,
};

/* HELLO_CONFIRM payload offsets. */
enum {
	C_CLUSTER = 0,
	C_FROM = 8,
	C_TO = 12,
	C_NONCE = 16,
	C_ECHO = 24,
	C_FLAGS = 32,
	C_RING_BOX = 36,
	C_MAC = C_RING_BOX + FAB_HELLO_BOX_SIZE,
	C_SIZE = C_MAC + FAB_HELLO_MAC_SIZE,
};

/* REJECT payload: reason u32, reserved u32, echo u64. */
enum { R_SIZE = 16 };

#define H_FLAG_RING 0x1u

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

_Static_assert(FAB_WIRE_HDR_SIZE + H_SIZE <= FAB_HELLO_FRAME_MAX,
	       "HELLO fits the advertised maximum");

static void set_err(char *errmsg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_err(char *errmsg, const char *fmt, ...)
{
	va_list ap;

	if (errmsg == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(errmsg, FR_ERRMSG_SIZE, fmt, ap);
	va_end(ap);
}

static int id_ok(uint32_t id)
{
	return id >= 1 && id <= RAFT_ID_MAX;
}

static int is_member(const struct fab_hello_key *k, uint32_t id)
{
	return id_ok(id) && (k->members[id / 64] >> (id % 64)) & 1u;
}

int fab_hello_key_init(struct fab_hello_key *k, uint64_t cluster_id,
		       uint32_t self_id, const void *secret, size_t secret_len)
{
	if (!id_ok(self_id) || secret_len < FAB_HELLO_SECRET_MIN ||
	    secret_len > FAB_HELLO_SECRET_MAX)
		return FR_INVALID;
	memset(k, 0, sizeof(*k));
	k->cluster_id = cluster_id;
	k->self_id = self_id;
	memcpy(k->secret, secret, secret_len);
	k->secret_len = (uint32_t)secret_len;
	return 0;
}

int fab_hello_key_add_member(struct fab_hello_key *k, uint32_t id)
{
	if (!id_ok(id))
		return FR_INVALID;
	k->members[id / 64] |= 1ull << (id % 64);
	return 0;
}

void fab_hello_key_wipe(struct fab_hello_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

int fab_hello_random(uint64_t *out)
{
	unsigned char b[8];

	do {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return FR_IO;
		*out = le_get_u64(b);
	} while (*out == 0);
	return 0;
}

/* HMAC-SHA256(secret, kind || body[0..n)). */
static int compute_mac(const struct fab_hello_key *k, unsigned kind,
		       const uint8_t *body, size_t n,
		       uint8_t mac[FAB_HELLO_MAC_SIZE])
{
	uint8_t in[1 + H_MAC];
	unsigned int mac_len = 0;

	assert(n <= H_MAC);
	in[0] = (uint8_t)kind;
	memcpy(in + 1, body, n);
	if (HMAC(EVP_sha256(), k->secret, (int)k->secret_len, in, 1 + n, mac,
		 &mac_len) == NULL ||
	    mac_len != FAB_HELLO_MAC_SIZE)
		return FR_IO;
	return 0;
}

static int mac_ok(const struct fab_hello_key *k, unsigned kind,
		  const uint8_t *body, size_t n)
{
	uint8_t want[FAB_HELLO_MAC_SIZE];

	if (compute_mac(k, kind, body, n, want) != 0)
		return 0;
	int same = CRYPTO_memcmp(want, body + n, FAB_HELLO_MAC_SIZE) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return same;
}

int fab_hello_encode(const struct fab_hello_key *k, unsigned kind,
		     const struct fab_hello *h, void *buf, size_t cap,
		     size_t *len)
{
	uint8_t *b = buf;
	uint8_t *p = b + FAB_WIRE_HDR_SIZE;

	*len = FAB_WIRE_HDR_SIZE + H_SIZE;
	if (kind != FAB_WIRE_HELLO && kind != FAB_WIRE_HELLO_ACK)
		return FR_INVALID;
	if (h->from != k->self_id || !id_ok(h->to) || h->nonce == 0)
		return FR_INVALID;
	if ((kind == FAB_WIRE_HELLO_ACK) != (h->echo != 0))
		return FR_INVALID;
	if ((kind == FAB_WIRE_HELLO || !h->has_ring) &&
	    !all_zero(h->ring_box, sizeof(h->ring_box)))
		return FR_INVALID;
	if (cap < *len)
		return FR_NOSPACE;
	memset(p, 0, H_SIZE);
	le_put_u64(p + H_CLUSTER, h->cluster_id);
	le_put_u32(p + H_FROM, h->from);
	le_put_u32(p + H_TO, h->to);
	le_put_u16(p + H_VERSION, h->version);
	le_put_u16(p + H_FLAGS, h->has_ring ? H_FLAG_RING : 0);
	le_put_u64(p + H_NONCE, h->nonce);
	le_put_u64(p + H_INCARNATION, h->incarnation);
	le_put_u64(p + H_ECHO, h->echo);
	memcpy(p + H_RING_BOX, h->ring_box, FAB_HELLO_BOX_SIZE);
	if (compute_mac(k, kind, p, H_MAC, p + H_MAC) != 0)
		return FR_IO;
	int rv = fab_wire_seal(b, kind, H_SIZE);
	assert(rv == 0);
	return rv;
}

/* Parse the frame and check kind and exact size; set *@body. */
static int open_frame(unsigned kind, size_t size, const void *buf, size_t len,
		      const uint8_t **body, size_t *consumed, char *errmsg)
{
	struct fab_wire_frame f;
	int rv = fab_wire_parse(buf, len, &f);

	if (rv != 0) {
		if (rv != FR_AGAIN)
			set_err(errmsg, "handshake frame: %s", fr_strerror(rv));
		return rv;
	}
	if (f.kind != kind || f.payload_len != size) {
		set_err(errmsg, "expected %s of %zu bytes, got %s of %u",
			fab_wire_kind_name(kind), size,
			fab_wire_kind_name(f.kind), f.payload_len);
		return FR_MALFORMED;
	}
	*body = f.payload;
	*consumed = f.frame_len;
	return 0;
}

/* The checks common to every authenticated handshake frame, in the order
 * the header documents. */
static int check_identity(const struct fab_hello_key *k, unsigned kind,
			  const uint8_t *p, size_t mac_off, uint64_t cluster,
			  uint32_t from, char *errmsg)
{
	if (!mac_ok(k, kind, p, mac_off)) {
		set_err(errmsg, "%s: bad MAC (wrong cluster secret?)",
			fab_wire_kind_name(kind));
		return FR_AUTH;
	}
	if (cluster != k->cluster_id) {
		set_err(
		    errmsg, "%s from node %u: cluster id %016llx, ours %016llx",
		    fab_wire_kind_name(kind), from, (unsigned long long)cluster,
		    (unsigned long long)k->cluster_id);
		return FR_MISMATCH;
	}
	return 0;
}

static int check_members(const struct fab_hello_key *k, unsigned kind,
			 uint32_t from, uint32_t to, char *errmsg)
{
	if (!is_member(k, from)) {
		set_err(errmsg, "%s from unknown node %u",
			fab_wire_kind_name(kind), from);
		return FR_NOTFOUND;
	}
	if (to != k->self_id) {
		set_err(errmsg,
			"%s from node %u is addressed to node %u, we are %u",
			fab_wire_kind_name(kind), from, to, k->self_id);
		return FR_INVALID;
	}
	return 0;
}

static int read_hello(unsigned kind, const uint8_t *p, struct fab_hello *out,
		      char *errmsg)
{
	uint16_t flags = le_get_u16(p + H_FLAGS);

	memset(out, 0, sizeof(*out));
	out->cluster_id = le_get_u64(p + H_CLUSTER);
	out->from = le_get_u32(p + H_FROM);
	out->to = le_get_u32(p + H_TO);
	out->version = le_get_u16(p + H_VERSION);
	out->nonce = le_get_u64(p + H_NONCE);
	out->incarnation = le_get_u64(p + H_INCARNATION);
	out->echo = le_get_u64(p + H_ECHO);
	out->has_ring = (flags & H_FLAG_RING) != 0;
	memcpy(out->ring_box, p + H_RING_BOX, FAB_HELLO_BOX_SIZE);
	if (flags & ~H_FLAG_RING) {
		set_err(errmsg, "HELLO: unknown flags %#x", flags);
		return FR_MALFORMED;
	}
	if ((kind == FAB_WIRE_HELLO || !out->has_ring) &&
	    !all_zero(out->ring_box, FAB_HELLO_BOX_SIZE)) {
		set_err(errmsg, "%s: ring bytes where none belong",
			fab_wire_kind_name(kind));
		return FR_MALFORMED;
	}
	if (out->nonce == 0) {
		set_err(errmsg, "HELLO: zero nonce");
		return FR_MALFORMED;
	}
	return 0;
}

int fab_hello_decode(const struct fab_hello_key *k, unsigned kind,
		     uint64_t expect_echo, const void *buf, size_t len,
		     struct fab_hello *out, size_t *consumed, char *errmsg)
{
	const uint8_t *p;
	size_t n;
	int rv;

	*consumed = 0;
	memset(out, 0, sizeof(*out));
	if (kind != FAB_WIRE_HELLO && kind != FAB_WIRE_HELLO_ACK)
		return FR_INVALID;
	rv = open_frame(kind, H_SIZE, buf, len, &p, &n, errmsg);
	if (rv != 0)
		return rv;
	rv = check_identity(k, kind, p, H_MAC, le_get_u64(p + H_CLUSTER),
			    le_get_u32(p + H_FROM), errmsg);
	if (rv != 0)
		return rv;
	/* Authenticated from here on: the fields are the peer's words. */
	rv = read_hello(kind, p, out, errmsg);
	if (rv != 0)
		return rv;
	if (out->version != FAB_HELLO_VERSION) {
		set_err(errmsg, "%s from node %u: protocol version %u, ours %u",
			fab_wire_kind_name(kind), out->from, out->version,
			FAB_HELLO_VERSION);
		return FR_UNSUPPORTED;
	}
	rv = check_members(k, kind, out->from, out->to, errmsg);
	if (rv != 0)
		return rv;
	if (kind == FAB_WIRE_HELLO && out->echo != 0) {
		set_err(errmsg, "HELLO from node %u echoes a nonce", out->from);
		return FR_MALFORMED;
	}
	if (kind == FAB_WIRE_HELLO_ACK && out->echo != expect_echo) {
		set_err(errmsg,
			"HELLO_ACK from node %u answers another HELLO "
			"(replayed or late)",
			out->from);
		return FR_STALE;
	}
	*consumed = n;
	return 0;
}

int fab_hello_confirm_encode(const struct fab_hello_key *k,
			     const struct fab_hello_confirm *c, void *buf,
			     size_t cap, size_t *len)
{
	uint8_t *b = buf;
	uint8_t *p = b + FAB_WIRE_HDR_SIZE;

	*len = FAB_WIRE_HDR_SIZE + C_SIZE;
	if (c->from != k->self_id || !id_ok(c->to) || c->nonce == 0 ||
	    c->echo == 0)
		return FR_INVALID;
	if (!c->has_ring && !all_zero(c->ring_box, sizeof(c->ring_box)))
		return FR_INVALID;
	if (cap < *len)
		return FR_NOSPACE;
	le_put_u64(p + C_CLUSTER, c->cluster_id);
	le_put_u32(p + C_FROM, c->from);
	le_put_u32(p + C_TO, c->to);
	le_put_u64(p + C_NONCE, c->nonce);
	le_put_u64(p + C_ECHO, c->echo);
	le_put_u32(p + C_FLAGS, c->has_ring ? H_FLAG_RING : 0);
	memcpy(p + C_RING_BOX, c->ring_box, FAB_HELLO_BOX_SIZE);
	if (compute_mac(k, FAB_WIRE_HELLO_CONFIRM, p, C_MAC, p + C_MAC) != 0)
		return FR_IO;
	int rv = fab_wire_seal(b, FAB_WIRE_HELLO_CONFIRM, C_SIZE);
	assert(rv == 0);
	return rv;
}

int fab_hello_confirm_decode(const struct fab_hello_key *k, uint32_t peer,
			     uint64_t hello_nonce, uint64_t ack_nonce,
			     const void *buf, size_t len,
			     struct fab_hello_confirm *out, size_t *consumed,
			     char *errmsg)
{
	const unsigned kind = FAB_WIRE_HELLO_CONFIRM;
	const uint8_t *p;
	size_t n;

	*consumed = 0;
	int rv = open_frame(kind, C_SIZE, buf, len, &p, &n, errmsg);
	if (rv != 0)
		return rv;
	uint32_t from = le_get_u32(p + C_FROM);
	uint32_t to = le_get_u32(p + C_TO);
	rv = check_identity(k, kind, p, C_MAC, le_get_u64(p + C_CLUSTER), from,
			    errmsg);
	if (rv != 0)
		return rv;
	if (from != peer) {
		set_err(errmsg, "HELLO_CONFIRM from node %u, expected %u", from,
			peer);
		return FR_NOTFOUND;
	}
	rv = check_members(k, kind, from, to, errmsg);
	if (rv != 0)
		return rv;
	if (le_get_u64(p + C_NONCE) != hello_nonce ||
	    le_get_u64(p + C_ECHO) != ack_nonce) {
		set_err(errmsg,
			"HELLO_CONFIRM from node %u for another "
			"handshake (replayed or late)",
			from);
		return FR_STALE;
	}
	uint32_t flags = le_get_u32(p + C_FLAGS);
	if ((flags & ~H_FLAG_RING) != 0 ||
	    (!(flags & H_FLAG_RING) &&
	     !all_zero(p + C_RING_BOX, FAB_HELLO_BOX_SIZE))) {
		set_err(errmsg, "HELLO_CONFIRM from node %u: bad flags %#x",
			from, flags);
		return FR_MALFORMED;
	}
	if (out != NULL) {
		out->cluster_id = le_get_u64(p + C_CLUSTER);
		out->from = from;
		out->to = to;
		out->nonce = hello_nonce;
		out->echo = ack_nonce;
		out->has_ring = (flags & H_FLAG_RING) != 0;
		memcpy(out->ring_box, p + C_RING_BOX, FAB_HELLO_BOX_SIZE);
	}
	*consumed = n;
	return 0;
}

int fab_hello_reject_encode(int reason, uint64_t echo, void *buf, size_t cap,
			    size_t *len)
{
	uint8_t *b = buf;
	uint8_t *p = b + FAB_WIRE_HDR_SIZE;

	*len = FAB_WIRE_HDR_SIZE + R_SIZE;
	if (reason <= 0 || reason >= FR_ERR_NR)
		return FR_INVALID;
	if (cap < *len)
		return FR_NOSPACE;
	le_put_u32(p, (uint32_t)reason);
	le_put_u32(p + 4, 0);
	le_put_u64(p + 8, echo);
	int rv = fab_wire_seal(b, FAB_WIRE_REJECT, R_SIZE);
	assert(rv == 0);
	return rv;
}

int fab_hello_reject_decode(const void *buf, size_t len, int *reason,
			    uint64_t *echo, size_t *consumed)
{
	const uint8_t *p;
	size_t n;

	*consumed = 0;
	int rv = open_frame(FAB_WIRE_REJECT, R_SIZE, buf, len, &p, &n, NULL);
	if (rv != 0)
		return rv;
	if (le_get_u32(p + 4) != 0)
		return FR_MALFORMED;
	uint32_t r = le_get_u32(p);
	*reason = (r == 0 || r >= FR_ERR_NR) ? FR_NOCONN : (int)r;
	*echo = le_get_u64(p + 8);
	*consumed = n;
	return 0;
}
