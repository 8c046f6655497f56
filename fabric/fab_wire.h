/* fab_wire.h — versioned, checksummed binary frames for every Raft message. */
#ifndef FABRAFT_FAB_WIRE_H
#define FABRAFT_FAB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "raft.h"

/*
 * Design notes
 * ============
 * Every byte fabraft sends between nodes travels in a frame: a fixed 24-byte
 * header followed by a payload whose layout depends on the frame kind.  All
 * integers are little endian and encoded field by field (never a struct
 * memcpy), so the format does not depend on the compiler or the host.
 * docs/protocol.md has the byte-exact tables.
 *
 *   off size field
 *    0   4   magic        FAB_WIRE_MAGIC
 *    4   1   version      FAB_WIRE_VERSION
 *    5   1   kind         enum fab_wire_kind
 *    6   2   flags        FAB_WIRE_FLAG_AUTH or 0 (other bits refused)
 *    8   4   payload_len  bytes after the header, <= FAB_WIRE_MAX_PAYLOAD
 *   12   4   payload_crc  CRC32C of the payload
 *   16   4   sender       AUTH: sending node id (1..RAFT_ID_MAX); else 0
 *   20   4   header_crc   CRC32C of bytes 0..19
 *
 * An authenticated frame (flag AUTH; every Raft message and CREDIT once a
 * session exists, fab_auth.h) ends its payload with a 24-byte trailer
 * {seq u64, tag[16]}, which payload_len includes; its payload_crc is 0 and
 * not checked: the tag covers the payload (one pass over it per side, not
 * two), and it must be verified before any payload byte is used.  The CRCs
 * only catch accidents; the tag is what makes a frame believable.
 * Handshake frames never carry the flag (they have their own HMAC).
 *
 * The header has its own checksum so that a corrupted length is caught
 * before a stream reader waits for (or skips) bytes that will never come.
 *
 * Invariants of the decoder (fab_wire_parse, fab_wire_decode):
 *  1. No length, count or index read from the input is used before it is
 *     checked against the bytes that remain and against the protocol limits
 *     (RAFT_MAX_BATCH_ENTRIES, RAFT_MAX_ENTRY_BYTES, FAB_WIRE_MAX_PAYLOAD).
 *  2. Only known kinds, types, roles and flag bits are accepted; a payload
 *     must be consumed exactly (trailing bytes are malformed).
 *  3. APPEND entries carry explicit indices that must run consecutively from
 *     prev_index + 1; their terms must be non-zero, non-decreasing, at least
 *     prev_term and at most the message term.
 *  4. A SNAPSHOT chunk's configuration is validated (1..RAFT_MAX_SERVERS
 *     servers, ids 1..RAFT_ID_MAX and unique, roles voter/learner, at least
 *     one voter) and offset + len <= total, with offset + len == total
 *     when done.
 *  5. Decoding is zero-copy: decoded entry payloads and snapshot data point
 *     into the input buffer, which must outlive their use.
 *
 * Errors: FR_AGAIN (not a whole frame yet: read more and call again),
 * FR_CORRUPT (a checksum does not match), FR_MALFORMED (not a valid frame),
 * FR_TOOBIG (a declared size beyond a protocol limit or the caller's
 * entries array), FR_UNSUPPORTED (an unknown protocol version).  Only
 * FR_AGAIN leaves the stream usable; after any other error the connection
 * must be dropped, because frame boundaries can no longer be trusted.
 */

#define FAB_WIRE_MAGIC	  0x57524246u /* "FBRW" in memory order */
#define FAB_WIRE_VERSION  1u
#define FAB_WIRE_HDR_SIZE 24u
/* Header flag: the payload ends with a fab_auth.h trailer. */
#define FAB_WIRE_FLAG_AUTH 0x1u
/* Largest payload of one frame: one maximum entry plus its framing, so a
 * single RAFT_MAX_ENTRY_BYTES entry always fits in a frame of its own. */
#define FAB_WIRE_MAX_PAYLOAD (RAFT_MAX_ENTRY_BYTES + 4096u)
/* Bytes common to every Raft message payload: from u32, to u32, term u64. */
#define FAB_WIRE_MSG_HDR_SIZE 16u
/* Bytes of each entry's header inside an APPEND payload:
 * index u64, term u64, type u8, len u32. */
#define FAB_WIRE_ENTRY_HDR_SIZE 21u

/* Frame kinds.  1..7 are the Raft message types (same values as
 * enum raft_msg_type); the others belong to the transport. */
enum fab_wire_kind {
	FAB_WIRE_VOTE = RAFT_MSG_VOTE,
	FAB_WIRE_VOTE_RESP = RAFT_MSG_VOTE_RESP,
	FAB_WIRE_APPEND = RAFT_MSG_APPEND,
	FAB_WIRE_APPEND_RESP = RAFT_MSG_APPEND_RESP,
	FAB_WIRE_SNAPSHOT = RAFT_MSG_SNAPSHOT,
	FAB_WIRE_SNAPSHOT_RESP = RAFT_MSG_SNAPSHOT_RESP,
	FAB_WIRE_TIMEOUT_NOW = RAFT_MSG_TIMEOUT_NOW,
	FAB_WIRE_HELLO = 16,	     /* handshake request (fab_hello.h) */
	FAB_WIRE_HELLO_ACK = 17,     /* handshake answer (fab_hello.h) */
	FAB_WIRE_HELLO_CONFIRM = 18, /* initiator's proof of the ACK */
	FAB_WIRE_REJECT = 19,	     /* handshake refused (unauthenticated) */
	FAB_WIRE_CREDIT = 20, /* RMA ring credit (struct fab_wire_credit) */
};

/** True if @kind is a frame kind this version knows. */
bool fab_wire_kind_known(unsigned kind);
/** Name of a frame kind for logs ("APPEND", "HELLO", ...); never NULL. */
const char *fab_wire_kind_name(unsigned kind);

/* A parsed frame: the header fields and where the payload lies. */
struct fab_wire_frame {
	uint8_t kind;		/* enum fab_wire_kind */
	uint8_t version;	/* FAB_WIRE_VERSION */
	uint16_t flags;		/* 0 or FAB_WIRE_FLAG_AUTH */
	uint32_t sender;	/* AUTH: claimed sender id (unverified) */
	uint32_t payload_len;	/* bytes at payload */
	const uint8_t *payload; /* borrowed: points into the parsed buffer */
	size_t frame_len;	/* FAB_WIRE_HDR_SIZE + payload_len */
};

/**
 * Check the frame at the start of @buf (@len bytes available): header
 * checksum, magic, version, known kind, flags (AUTH only on message and
 * CREDIT kinds, with a sender id and room for the trailer; the sender field
 * 0 otherwise), payload size limit, and — once the whole frame is present — the
 * payload checksum.
 * @buf is borrowed; @f->payload points into it.  Returns 0, FR_AGAIN (fewer
 * than f->frame_len bytes yet; f->frame_len is set once the header is
 * complete and valid, 0 otherwise), FR_CORRUPT, FR_MALFORMED, FR_TOOBIG or
 * FR_UNSUPPORTED.  The payload is not interpreted.
 */
int fab_wire_parse(const void *buf, size_t len, struct fab_wire_frame *f)
    __attribute__((warn_unused_result));

/**
 * Write a frame header for @kind in front of a payload of @payload_len bytes
 * that the caller has already placed at @frame + FAB_WIRE_HDR_SIZE; computes
 * both checksums.  @frame is borrowed and must hold FAB_WIRE_HDR_SIZE +
 * @payload_len bytes.  Returns 0, FR_TOOBIG (payload over the limit) or
 * FR_INVALID (unknown kind).
 */
int fab_wire_seal(void *frame, unsigned kind, uint32_t payload_len)
    __attribute__((warn_unused_result));

/** Turn the sealed frame at @frame into an authenticated one (fab_auth.c):
 * set the AUTH flag and @sender, and grow payload_len by @trailer bytes
 * (the caller writes them after the payload).  The header CRC is left for
 * fab_wire_auth_finish(). */
void fab_wire_auth_begin(uint8_t *frame, uint32_t sender, uint32_t trailer);
/** Finish an authenticated frame: payload_crc 0, header CRC resealed. */
void fab_wire_auth_finish(uint8_t *frame);

/** fab_wire_seal() that writes payload_crc 0 unless @payload_crc: for a
 * payload a MAC will cover (fab_wire_encode_sized_mac()). */
int fab__wire_seal(void *frame, unsigned kind, uint32_t payload_len,
		   bool payload_crc) __attribute__((warn_unused_result));

/** fab_wire_parse() without the payload CRC check, for bytes a MAC has
 * verified (a ring record's payload after its tag, fab_auth.h); every
 * header check stays. */
int fab_wire_parse_trusted(const void *buf, size_t len,
			   struct fab_wire_frame *f)
    __attribute__((warn_unused_result));

/**
 * Exact size of the frame fab_wire_encode() writes for @msg, or 0 if @msg
 * cannot be encoded (unknown type, too many or too large entries, invalid
 * snapshot configuration, frame over FAB_WIRE_MAX_PAYLOAD).  @msg borrowed.
 */
size_t fab_wire_encoded_size(const struct raft_message *msg);

/**
 * Encode @msg as one frame into @buf (@cap bytes) and set *@len to its
 * size.  @msg and the entries/data it points to are borrowed for the call.
 * APPEND entries are written with their own index and term; the encoder
 * refuses (FR_INVALID) what the decoder would refuse, so a frame that
 * encodes also decodes.  Returns 0, FR_INVALID (not encodable), FR_TOOBIG
 * (frame over the limit) or FR_NOSPACE (@cap too small; *@len is then the
 * size needed).
 */
int fab_wire_encode(const struct raft_message *msg, void *buf, size_t cap,
		    size_t *len) __attribute__((warn_unused_result));

/**
 * fab_wire_encode() of a message already validated: @len must be what
 * fab_wire_encoded_size(@msg) has just returned (nonzero) for the same,
 * unchanged @msg, and @buf (borrowed) must hold @len bytes.  Writes the same
 * frame without running the field checks a second time (fab_send() sizes
 * its queue slot with fab_wire_encoded_size() first, so every message sent
 * is still checked once).
 */
void fab_wire_encode_sized(const struct raft_message *msg, void *buf,
			   size_t len);
/** fab_wire_encode_sized() without the payload CRC (payload_crc 0): for a
 * frame that a MAC will cover (fab_auth_frame_seal(), a ring record), which
 * saves a pass over the payload on each side. */
void fab_wire_encode_sized_mac(const struct raft_message *msg, void *buf,
			       size_t len);

/**
 * Decode the Raft message in an already parsed frame @f (kind 1..7).  Fills
 * @out; an APPEND's entries go into @entries (@max_entries slots, owned by
 * the caller) and out->append.entries points to it; entry payloads and
 * snapshot data point into @f's buffer (zero-copy).  Returns 0,
 * FR_MALFORMED, FR_TOOBIG (more entries than @max_entries or a protocol
 * limit), or FR_INVALID if @f is not a Raft message kind.  On error @out and
 * @entries hold nothing usable.
 */
int fab_wire_decode_frame(const struct fab_wire_frame *f,
			  struct raft_message *out, struct raft_entry *entries,
			  uint32_t max_entries)
    __attribute__((warn_unused_result));

/**
 * Parse and decode the Raft message frame at the start of @buf (@len bytes
 * available); *@consumed is set to the frame's size on success (and on
 * FR_INVALID, below).  Same ownership as fab_wire_decode_frame().  Returns 0,
 * FR_AGAIN, FR_CORRUPT, FR_MALFORMED, FR_TOOBIG, FR_UNSUPPORTED (unknown
 * version), or FR_INVALID (a valid frame of a transport kind: parse it with
 * fab_wire_parse() instead; *@consumed is then set so the caller may skip it).
 */
int fab_wire_decode(const void *buf, size_t len, struct raft_message *out,
		    struct raft_entry *entries, uint32_t max_entries,
		    size_t *consumed) __attribute__((warn_unused_result));

/* CREDIT frame payload: the RMA ring reader returns space to the writer. */
struct fab_wire_credit {
	uint32_t from;	     /* reader's node id */
	uint32_t generation; /* ring generation the credit is for */
	uint64_t consumed;   /* reader's cumulative consumed byte position */
};
#define FAB_WIRE_CREDIT_SIZE (FAB_WIRE_HDR_SIZE + 16u)

/** Encode a CREDIT frame (FAB_WIRE_CREDIT_SIZE bytes) into @buf (@cap
 * bytes, borrowed).  Returns 0, FR_INVALID (from outside 1..RAFT_ID_MAX) or
 * FR_NOSPACE. */
int fab_wire_credit_encode(const struct fab_wire_credit *c, void *buf,
			   size_t cap, size_t *len)
    __attribute__((warn_unused_result));
/** Decode the payload of a parsed CREDIT frame.  Returns 0, FR_MALFORMED
 * or FR_INVALID (not a CREDIT frame). */
int fab_wire_credit_decode(const struct fab_wire_frame *f,
			   struct fab_wire_credit *c)
    __attribute__((warn_unused_result));

#endif /* FABRAFT_FAB_WIRE_H */
