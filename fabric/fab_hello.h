/* fab_hello.h — the authenticated connection handshake (HMAC-SHA256). */
#ifndef FABRAFT_FAB_HELLO_H
#define FABRAFT_FAB_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fab.h"
#include "fab_ring.h"

/*
 * Design notes
 * ============
 * Three frames set up one logical connection between an initiator I and an
 * acceptor A (docs/protocol.md has the byte layout):
 *
 *   I -> A  HELLO          {cluster, I, A, version, nonce_I, incarnation_I,
 *                            rma flag}                          MAC
 *   A -> I  HELLO_ACK      {cluster, A, I, version, nonce_A, incarnation_A,
 *                            echo = nonce_I, [A's ring, sealed]}  MAC
 *   I -> A  HELLO_CONFIRM  {cluster, I, A, nonce_I, echo = nonce_A,
 *                            [I's ring, sealed]}                   MAC
 *   A -> I  REJECT         {reason, echo nonce}  (unauthenticated, advisory)
 *
 * Version 3: both nonces and incarnations feed the session keys
 * (fab_auth.h) that authenticate every later frame.  A ring descriptor
 * travels only once that key exists -- A's in the ACK, I's in the CONFIRM
 * -- sealed (AES-256-GCM) under the sender's desc key, so an observer
 * without the secret never learns a ring's address or key.
 *
 * MAC = HMAC-SHA256(cluster secret, every frame byte before the MAC), i.e.
 * the frame header (with its length and kind) and the whole body.  The
 * receiver compares MACs in constant time (CRYPTO_memcmp).
 *
 * Freshness: nonces are 64 random bits per connection attempt.  The ACK
 * binds nonce_I (so a recorded ACK cannot answer a new HELLO) and the
 * CONFIRM binds nonce_A (so a recorded HELLO replayed to A cannot complete a
 * connection).  A must not use the initiator's ring descriptor, nor consider
 * the peer connected, before a valid CONFIRM arrives.
 *
 * Checks on receipt, in this order, each with its own error:
 *   frame/size problems           FR_AGAIN / FR_CORRUPT / FR_MALFORMED
 *   MAC wrong (wrong secret)      FR_AUTH
 *   cluster id differs            FR_MISMATCH
 *   protocol version differs      FR_UNSUPPORTED
 *   sender not in the cluster     FR_NOTFOUND
 *   addressed to another node     FR_INVALID
 *   echoed nonce not ours         FR_STALE
 * An errmsg buffer (FR_ERRMSG_SIZE) receives a one-line reason for the log.
 * The MAC is checked before any identity field, so without the secret a
 * peer learns nothing from the error but "authentication failed".
 */

#define FAB_HELLO_VERSION    3u	 /* protocol version carried in HELLO */
#define FAB_HELLO_MAC_SIZE   32u /* HMAC-SHA256 */
#define FAB_HELLO_SECRET_MIN FAB_SECRET_BYTES_MIN /* fab.h */
#define FAB_HELLO_SECRET_MAX FAB_SECRET_BYTES_MAX
/* Largest frame of this module (a HELLO or ACK with a ring descriptor). */
#define FAB_HELLO_FRAME_MAX 160u
/* A sealed ring descriptor (fab_auth.h FAB_AUTH_BOX_SIZE). */
#define FAB_HELLO_BOX_SIZE 52u

/* Local identity and policy: what this node accepts. */
struct fab_hello_key {
	uint64_t cluster_id; /* must match the peer's */
	uint32_t self_id;    /* this node, 1..RAFT_ID_MAX */
	uint64_t members[4]; /* bitmap of accepted peer ids (bit id) */
	uint8_t secret[FAB_HELLO_SECRET_MAX]; /* shared cluster secret */
	uint32_t secret_len; /* FAB_HELLO_SECRET_MIN..MAX bytes */
};

/** Fill @k; @secret (borrowed) is copied.  Returns 0 or FR_INVALID (id out
 * of range, secret too short or too long). */
int fab_hello_key_init(struct fab_hello_key *k, uint64_t cluster_id,
		       uint32_t self_id, const void *secret, size_t secret_len)
    __attribute__((warn_unused_result));
/** Accept connections from peer @id (1..RAFT_ID_MAX).  Returns 0 or
 * FR_INVALID. */
int fab_hello_key_add_member(struct fab_hello_key *k, uint32_t id)
    __attribute__((warn_unused_result));
/** Wipe the secret (OPENSSL_cleanse) before @k is freed or reused. */
void fab_hello_key_wipe(struct fab_hello_key *k);

/* Body of HELLO and HELLO_ACK. */
struct fab_hello {
	uint64_t cluster_id;  /* sender's cluster */
	uint32_t from;	      /* sender's node id */
	uint32_t to;	      /* intended recipient's node id */
	uint16_t version;     /* FAB_HELLO_VERSION */
	uint64_t nonce;	      /* sender's random nonce for this attempt */
	uint64_t incarnation; /* sender's random per-process value: changes
				 when the peer restarted */
	uint64_t echo;	      /* ACK: the HELLO's nonce; HELLO: 0 */
	bool has_ring;	      /* sender uses RMA; ACK: ring_box holds its
				 receive ring for the peer */
	uint8_t ring_box[FAB_HELLO_BOX_SIZE]; /* ACK: fab_auth_desc_seal()
						 output; HELLO: zeros */
};

/** A fresh 64-bit random value (OpenSSL RAND_bytes) for nonces and
 * incarnations; never 0.  Returns 0 or FR_IO (no entropy). */
int fab_hello_random(uint64_t *out) __attribute__((warn_unused_result));

/**
 * Encode @h as a HELLO (@kind FAB_WIRE_HELLO) or HELLO_ACK
 * (FAB_WIRE_HELLO_ACK) frame authenticated with @k's secret into @buf (@cap
 * bytes; FAB_HELLO_FRAME_MAX always suffices).  @k, @h borrowed.  Returns 0,
 * FR_INVALID (bad kind, from != k->self_id, a HELLO with a ring box, or
 * ACK with echo 0) or FR_NOSPACE.
 */
int fab_hello_encode(const struct fab_hello_key *k, unsigned kind,
		     const struct fab_hello *h, void *buf, size_t cap,
		     size_t *len) __attribute__((warn_unused_result));

/**
 * Parse and verify a HELLO (@kind FAB_WIRE_HELLO; @expect_echo ignored) or a
 * HELLO_ACK (@kind FAB_WIRE_HELLO_ACK; its echo must equal @expect_echo, the
 * nonce of the HELLO we sent) at the start of @buf.  On success fills @out
 * and *@consumed.  @errmsg (FR_ERRMSG_SIZE bytes, may be NULL) receives the
 * reason of a failure.  Returns 0 or an error listed in the design notes;
 * FR_MALFORMED also when the frame is of another kind.
 */
int fab_hello_decode(const struct fab_hello_key *k, unsigned kind,
		     uint64_t expect_echo, const void *buf, size_t len,
		     struct fab_hello *out, size_t *consumed, char *errmsg)
    __attribute__((warn_unused_result));

/* Body of HELLO_CONFIRM: the initiator proves it saw the acceptor's ACK. */
struct fab_hello_confirm {
	uint64_t cluster_id; /* cluster */
	uint32_t from;	     /* initiator */
	uint32_t to;	     /* acceptor */
	uint64_t nonce;	     /* initiator's HELLO nonce */
	uint64_t echo;	     /* acceptor's ACK nonce */
	bool has_ring;	     /* ring_box holds the initiator's ring */
	uint8_t ring_box[FAB_HELLO_BOX_SIZE]; /* fab_auth_desc_seal() */
};

/** Encode a HELLO_CONFIRM.  Returns 0, FR_INVALID (from != self) or
 * FR_NOSPACE. */
int fab_hello_confirm_encode(const struct fab_hello_key *k,
			     const struct fab_hello_confirm *c, void *buf,
			     size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/** Verify a HELLO_CONFIRM sent by @peer in answer to our ACK with nonce
 * @ack_nonce to its HELLO with nonce @hello_nonce; @out (may be NULL)
 * receives its fields.  Errors as for fab_hello_decode (FR_STALE if either
 * nonce differs, FR_NOTFOUND if it comes from another peer than @peer). */
int fab_hello_confirm_decode(const struct fab_hello_key *k, uint32_t peer,
			     uint64_t hello_nonce, uint64_t ack_nonce,
			     const void *buf, size_t len,
			     struct fab_hello_confirm *out, size_t *consumed,
			     char *errmsg) __attribute__((warn_unused_result));

/** Encode a REJECT carrying @reason (an FR_* code) and @echo (the nonce of
 * the refused HELLO).  Unauthenticated: the peer may lack the secret. */
int fab_hello_reject_encode(int reason, uint64_t echo, void *buf, size_t cap,
			    size_t *len) __attribute__((warn_unused_result));
/** Decode a REJECT.  @reason gets a known FR_* code (unknown ones become
 * FR_NOCONN).  Advisory only: never act on it beyond closing and backing
 * off.  Returns 0, frame errors, or FR_MALFORMED. */
int fab_hello_reject_decode(const void *buf, size_t len, int *reason,
			    uint64_t *echo, size_t *consumed)
    __attribute__((warn_unused_result));

#endif /* FABRAFT_FAB_HELLO_H */
