/* fab_auth.h — per-connection session keys and the MAC on every peer frame. */
#ifndef FABRAFT_FAB_AUTH_H
#define FABRAFT_FAB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fab_hello.h"
#include "fab_ring.h"
#include "fab_wire.h"

/*
 * Design notes
 * ============
 * The handshake (fab_hello.h) proves that both ends hold the cluster
 * secret; this module makes every later frame prove it too, and ties it to
 * the one connection it belongs to.  docs/protocol.md ("Trust boundary")
 * has the threat model and the byte layouts.
 *
 * Key schedule.  Once an initiator I and an acceptor A know both nonces:
 *
 *   PRK   = HMAC-SHA256(key = nonce_I || nonce_A, secret)        (HKDF-Extract)
 *   info  = "fabraft session v3" || cluster || I || A || inc_I || inc_A
 *   K_x   = HMAC-SHA256(PRK, info || label_x || 0x01)            (HKDF-Expand)
 *
 * for six labels: msg/ring/desc in each direction (I->A, A->I).  Each side
 * sends with the keys of its own direction and receives with the other's,
 * so a frame cannot be reflected back to its sender, and a new handshake
 * (fresh nonces) gives new keys: nothing of an earlier connection verifies
 * in a later one.
 *
 * Frame MAC (messages: Raft kinds 1..7 and CREDIT).  The sender appends a
 * trailer {seq u64, tag[16]} to the payload, sets FAB_WIRE_FLAG_AUTH and
 * names itself in the header's sender field:
 *
 *   tag = AES-256-GMAC(K_msg, iv = 0^4 || le64(seq),
 *                      header[0..12) || header[16..20) || payload[..-16))
 *
 * i.e. magic, version, kind, flags, length, sender, the Raft payload and
 * the sequence number.  (The CRC fields are left out: they are computed
 * over the tag.)  seq starts at 1 for each session and grows by one per
 * frame; the receiver accepts a seq once, inside a 64-frame window below
 * the highest seen (FI_ORDER_SAS keeps them in order here; the window only
 * tolerates what a provider might reorder).
 *
 * Ring record MAC: the 16 bytes at offset 32 of the record header
 * (fab_ring.h) hold
 *
 *   tag = AES-256-GMAC(K_ring, iv = le32(generation) || le64(pos),
 *                      record[0..32) || record[48..rec_size))
 *
 * where the reader supplies generation and pos from its own state (the
 * ring's generation, the head), never from the record.  The MAC is checked
 * before any record field is read, and a record replayed to another
 * position or generation does not verify.
 *
 * Ring descriptors travel sealed: AES-256-GCM under K_desc of the sender's
 * direction with a random 96-bit IV, FAB_AUTH_BOX_SIZE bytes.
 *
 * GMAC needs a unique IV per key: keys live for one session and one
 * direction, seq only grows, and within a session a ring's (generation,
 * pos) only grows (a new descriptor comes only with a new handshake).
 */

#define FAB_AUTH_KEY_SIZE     32u		       /* AES-256 */
#define FAB_AUTH_TAG_SIZE     16u		       /* GMAC tag */
#define FAB_AUTH_TRAILER_SIZE (8u + FAB_AUTH_TAG_SIZE) /* seq + tag */
#define FAB_AUTH_IV_SIZE      12u
/* A sealed ring descriptor: iv, 24 bytes of ciphertext, tag. */
#define FAB_AUTH_BOX_SIZE (FAB_AUTH_IV_SIZE + 24u + FAB_AUTH_TAG_SIZE)
/* Width of the receive window for sequence numbers. */
#define FAB_AUTH_WINDOW 64u

/* What a session key is derived from (every field is public or random,
 * the secret comes from the struct fab_hello_key). */
struct fab_auth_params {
	uint64_t cluster_id; /* both ends' */
	uint32_t initiator;  /* node id that sent the HELLO */
	uint32_t acceptor;   /* node id that sent the ACK */
	uint64_t nonce_i;    /* the HELLO's nonce */
	uint64_t nonce_a;    /* the ACK's nonce */
	uint64_t inc_i;	     /* initiator's incarnation */
	uint64_t inc_a;	     /* acceptor's incarnation */
};

/* The six keys of one session.  Wipe with fab_auth_keys_wipe(). */
struct fab_auth_keys {
	uint8_t msg_i2a[FAB_AUTH_KEY_SIZE];  /* frames I -> A */
	uint8_t msg_a2i[FAB_AUTH_KEY_SIZE];  /* frames A -> I */
	uint8_t ring_i2a[FAB_AUTH_KEY_SIZE]; /* records I writes into A */
	uint8_t ring_a2i[FAB_AUTH_KEY_SIZE]; /* records A writes into I */
	uint8_t desc_i2a[FAB_AUTH_KEY_SIZE]; /* I's ring descriptor */
	uint8_t desc_a2i[FAB_AUTH_KEY_SIZE]; /* A's ring descriptor */
};

/** Derive the keys of the session @pp describes with @k's secret (HKDF,
 * design notes).  Returns 0 or FR_IO (OpenSSL failed). */
int fab_auth_derive(const struct fab_hello_key *k,
		    const struct fab_auth_params *pp, struct fab_auth_keys *out)
    __attribute__((warn_unused_result));
/** OPENSSL_cleanse @keys. */
void fab_auth_keys_wipe(struct fab_auth_keys *keys);

/** Seal @d (borrowed) into @box with @key (one of the desc keys) and a
 * random IV.  Returns 0 or FR_IO. */
int fab_auth_desc_seal(const uint8_t key[FAB_AUTH_KEY_SIZE],
		       const struct fab_ring_desc *d,
		       uint8_t box[FAB_AUTH_BOX_SIZE])
    __attribute__((warn_unused_result));
/** Open @box into @d.  Returns 0, FR_AUTH (tag wrong: other key, altered)
 * or FR_MALFORMED (opens but the descriptor is invalid). */
int fab_auth_desc_open(const uint8_t key[FAB_AUTH_KEY_SIZE],
		       const uint8_t box[FAB_AUTH_BOX_SIZE],
		       struct fab_ring_desc *d)
    __attribute__((warn_unused_result));

/* Rejection counters of one session's receive side. */
struct fab_auth_stats {
	uint64_t bad_mac; /* tag did not verify */
	uint64_t replay;  /* seq seen already or below the window */
};

/*
 * One connection's session: keyed cipher contexts (allocated once by
 * fab_auth_session_init(), re-keyed by each handshake) and the sequence
 * state of both directions.
 */
struct fab_auth_session {
	bool valid;	    /* keys installed */
	uint32_t self;	    /* our node id (sender field we write) */
	uint32_t peer;	    /* the node at the other end */
	void *tx_msg;	    /* owned EVP_CIPHER_CTX, our frames */
	void *rx_msg;	    /* owned EVP_CIPHER_CTX, the peer's frames */
	void *tx_ring;	    /* owned EVP_CIPHER_CTX, records we write */
	void *rx_ring;	    /* owned EVP_CIPHER_CTX, records we read */
	uint64_t tx_seq;    /* seq of the last frame sealed */
	uint64_t rx_max;    /* highest seq accepted (0: none yet) */
	uint64_t rx_window; /* bit i: seq rx_max - i accepted */
	struct fab_auth_stats stats; /* receive-side rejections */
};

/** Allocate the contexts of @s (no keys yet: valid false).  Returns 0 or
 * FR_NOMEM.  Free with fab_auth_session_close(). */
int fab_auth_session_init(struct fab_auth_session *s)
    __attribute__((warn_unused_result));
void fab_auth_session_close(struct fab_auth_session *s);
/**
 * Install the keys of a handshake just completed: this node @self is the
 * initiator when @initiator is true, the other end is @peer.  Sequence
 * numbers start over; stats are kept.  @keys borrowed (wipe it after).
 * Returns 0 or FR_IO.
 */
int fab_auth_session_start(struct fab_auth_session *s,
			   const struct fab_auth_keys *keys, bool initiator,
			   uint32_t self, uint32_t peer)
    __attribute__((warn_unused_result));

/**
 * Authenticate the frame at @frame (@len bytes, as fab_wire_encode*()
 * wrote it, kind Raft message or CREDIT) in place: append the trailer, set
 * the flag and sender, update both CRCs.  @frame must hold @len +
 * FAB_AUTH_TRAILER_SIZE bytes.  Returns 0, FR_NOCONN (no session) or
 * FR_TOOBIG (over the payload limit with the trailer).
 */
int fab_auth_frame_seal(struct fab_auth_session *s, uint8_t *frame, size_t len)
    __attribute__((warn_unused_result));

/**
 * Verify the parsed frame @f (fab_wire_parse() succeeded; FAB_WIRE_FLAG_AUTH
 * set, sent by @s's peer according to its sender field) before anything in
 * it is used: tag, then sequence number.  On success fills @inner with the
 * frame as fab_wire_decode_frame() expects it (trailer removed) and marks
 * the seq as seen.  Returns 0, FR_NOCONN (no session), FR_MALFORMED (no
 * flag, other sender, no room for a trailer), FR_AUTH (tag wrong) or
 * FR_STALE (replayed).
 */
int fab_auth_frame_open(struct fab_auth_session *s,
			const struct fab_wire_frame *f,
			struct fab_wire_frame *inner)
    __attribute__((warn_unused_result));

/** Compute the tag of the ring record at @rec (@rec_size bytes, header
 * sealed by fab_ring_record_seal()) for @generation and @pos, and store it
 * in the header.  Returns 0 or FR_NOCONN. */
int fab_auth_ring_seal(struct fab_auth_session *s, uint8_t *rec,
		       uint32_t rec_size, uint32_t generation, uint64_t pos)
    __attribute__((warn_unused_result));

/** True when the ring record at @rec (@rec_size bytes as the CQ data says)
 * carries the tag for @generation and @pos under @s's receive key.  Shaped
 * as a fab_ring_verify_fn (@ctx is the session). */
bool fab_auth_ring_verify(void *ctx, uint32_t generation, uint64_t pos,
			  const uint8_t *rec, uint32_t rec_size);

#endif /* FABRAFT_FAB_AUTH_H */
