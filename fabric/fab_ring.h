/* fab_ring.h — the RMA receive ring: layout, writer credit, reader checks. */
#ifndef FABRAFT_FAB_RING_H
#define FABRAFT_FAB_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "raft.h"

/*
 * Design notes
 * ============
 * A follower registers one receive ring per leader connection and sends its
 * descriptor (struct fab_ring_desc) in the handshake.  The leader writes
 * AppendEntries batches into it with fi_writedata(); the 8 bytes of remote
 * CQ data tell the follower where the record is.  This file is the pure
 * logic of both ends (no libfabric): the record layout, the writer's space
 * accounting and the reader's validation.  docs/protocol.md has the tables.
 *
 * Ring: @size bytes, a power of two in [FAB_RING_MIN_SIZE, FAB_RING_MAX_SIZE].
 * Positions are cumulative 64-bit byte counts (never wrap in practice); the
 * byte offset in the ring is pos & (size - 1).
 *
 * Record (8-byte aligned, never straddles the end of the ring):
 *
 *   off size field
 *    0   4   magic       FAB_RING_MAGIC
 *    4   4   len         payload bytes (unpadded)
 *    8   8   term        leader's term when it wrote the record
 *   16   8   pos         cumulative position of the record's first byte
 *   24   4   generation  ring generation (struct fab_ring_desc)
 *   28   4   crc         CRC32C of bytes 0..27 then of the first
 *                        min(len, FAB_RING_CRC_PREFIX) payload bytes
 *   32  16   tag         MAC of the record (fab_auth.h), set and checked
 *                        by the transport through reader->verify
 *   48   len payload     one encoded APPEND frame (fab_wire.h)
 *        pad             zeros up to the next multiple of 8
 *
 * The record CRC covers the payload's first FAB_RING_CRC_PREFIX bytes only:
 * the payload is a frame whose 24-byte header carries the CRC32C of the
 * rest (and its own header CRC), so the record CRC protects the whole
 * record transitively and each side checksums the payload once, not twice
 * (ring format 2; format 1 covered the whole payload).  A reader's caller
 * must therefore check the payload's own checksum (fab_wire_parse) before
 * using it; fab_ring_reader_next() alone does not vouch for bytes past the
 * prefix.  Format 3 adds the tag: anyone holding the ring's key can write
 * bytes into it, so only the MAC (keyed by the session, fab_auth.h) makes a
 * record believable; with a verify function set, the reader checks it
 * first, before it reads any field of the record, and the tag then vouches
 * for the whole record: the transport writes the payload frame without a
 * payload CRC (fab_wire_encode_sized_mac) and reads it with
 * fab_wire_parse_trusted.
 *
 * Wrap rule (both ends compute it, so no pad record is needed): if a record
 * of r bytes does not fit between the write position's offset o and the end
 * of the ring (r > size - o), the writer skips the size - o tail bytes and
 * writes the record at offset 0.  Skipped bytes count as used until the
 * reader's credit passes them.
 *
 * Remote CQ data (64 bits, fab_ring_cq_pack()):
 *   bits  0..27  record offset / 8
 *   bits 28..55  record size (header + payload + pad) / 8
 *   bits 56..63  ring generation mod 256
 *
 * Credit: the reader's cumulative consumed position (FAB_WIRE_CREDIT frame,
 * or piggybacked by the transport).  The writer has size - (tail -
 * consumed) bytes free; it never writes into unconsumed space.
 *
 * Invariants:
 *  1. writer: consumed <= tail <= consumed + size; credit never moves
 *     consumed backwards nor past tail.
 *  2. reader: a record is accepted only if its CQ data names the reader's
 *     head (or offset 0 by the wrap rule), it lies inside the ring, its MAC
 *     verifies for the ring's generation and the head (when a verify
 *     function is set), its header matches the CQ data (size, generation low
 * bits, pos == head), its CRC matches and its generation is the ring's.  The
 * record's term is *not* filtered here: an AppendEntries of an older term goes
 * to Raft, which refuses it and answers with its own term; that answer is how a
 * deposed leader learns of the newer term (dropping the record would leave it
 * leading, unanswered, for as long as it keeps a majority elsewhere).
 *  3. A record whose CQ data is consistent with the head but whose content
 *     is corrupt or stale (older generation or lap) is rejected *and
 *     skipped* (the writer counted its space); Raft never sees it, and the
 *     leader's next batch fails the log-matching check and is retried.  CQ data
 * that is inconsistent with the head is rejected without moving the head; the
 * stream is then out of step and the follower must revoke the key and start a
 * new generation (fab_ring_reader_reset()).
 *  4. Generations: the follower bumps the generation on every handshake
 *     and re-registration (new key: on a newer term, and on a handshake
 *     after the old descriptor was advertised).  Writes carrying another
 *     generation are stale.  The key changes too, so a write aimed at an
 *     abandoned descriptor fails at the target instead of landing: the
 *     generation check alone would come too late on real RDMA, where the
 *     bytes land whether or not the reader later accepts them.
 */

/* "FBR3" in memory order: ring format 3, with a MAC (format 2, "FBR2",
 * had none; format 1, "FBRR", checksummed the whole payload). */
#define FAB_RING_MAGIC 0x33524246u
/* Payload bytes covered by the record CRC: a frame header. */
#define FAB_RING_CRC_PREFIX 24u
#define FAB_RING_TAG_OFF    32u /* the MAC's 16 bytes */
#define FAB_RING_TAG_SIZE   16u
#define FAB_RING_HDR_SIZE   48u
#define FAB_RING_ALIGN	    8u
#define FAB_RING_MIN_SIZE   4096u
#define FAB_RING_MAX_SIZE   (1u << 30)

/* What a follower advertises for one leader connection (in HELLO/ACK). */
struct fab_ring_desc {
	uint64_t addr;	     /* remote address (FI_MR_VIRT_ADDR) or offset */
	uint64_t key;	     /* memory-region key for fi_writedata */
	uint32_t size;	     /* ring bytes, power of two */
	uint32_t generation; /* bumped on every re-registration */
};

/** Check a descriptor's size (power of two within the limits).  Returns 0
 * or FR_INVALID. */
int fab_ring_desc_validate(const struct fab_ring_desc *d)
    __attribute__((warn_unused_result));

/** Bytes a record with @payload_len payload bytes occupies (header, payload,
 * padding to 8), or 0 if it exceeds FAB_RING_MAX_SIZE. */
uint64_t fab_ring_record_size(uint32_t payload_len);

/** Pack the remote CQ data for a record at @offset of @rec_size bytes. */
uint64_t fab_ring_cq_pack(uint32_t offset, uint32_t rec_size,
			  uint32_t generation);
/** Unpack CQ data (no validation: the reader checks the values). */
void fab_ring_cq_unpack(uint64_t cq_data, uint32_t *offset, uint32_t *rec_size,
			uint8_t *gen_low);

/* ------------------------------------------------------------------ */
/* Writer (leader) side                                                */

struct fab_ring_writer {
	uint32_t size;	     /* ring bytes */
	uint32_t generation; /* generation of the descriptor written to */
	uint64_t tail;	     /* cumulative position of the next write */
	uint64_t consumed;   /* latest credit: reader's consumed position */
};

/* Where one reserved record goes. */
struct fab_ring_slot {
	uint32_t offset;      /* byte offset of the record in the ring */
	uint32_t rec_size;    /* record bytes to write (multiple of 8) */
	uint32_t payload_len; /* payload bytes */
	uint64_t pos;	      /* cumulative position of the record */
	uint64_t cq_data;     /* remote CQ data to send with the write */
};

/** Start writing to the ring described by @d (borrowed) at position 0.
 * Returns 0 or FR_INVALID (bad descriptor). */
int fab_ring_writer_init(struct fab_ring_writer *w,
			 const struct fab_ring_desc *d)
    __attribute__((warn_unused_result));

/** Bytes the writer may still use (credit not yet spent). */
uint64_t fab_ring_writer_free(const struct fab_ring_writer *w);

/**
 * Reserve a record for @payload_len payload bytes, applying the wrap rule.
 * On success the space is counted as used and @slot says where to write.
 * Returns 0, FR_AGAIN (not enough credit: wait for a CREDIT; nothing
 * changed) or FR_TOOBIG (the record can never fit in this ring).
 */
int fab_ring_writer_reserve(struct fab_ring_writer *w, uint32_t payload_len,
			    struct fab_ring_slot *slot)
    __attribute__((warn_unused_result));

/**
 * Apply credit: the reader has consumed everything before @consumed.
 * Returns 0, FR_STALE (older than the credit already applied: ignored) or
 * FR_INVALID (beyond what was written: a broken or hostile peer; ignored).
 */
int fab_ring_writer_credit(struct fab_ring_writer *w, uint64_t consumed)
    __attribute__((warn_unused_result));

/**
 * Fill the record header in @rec (slot->rec_size bytes, owned by the caller,
 * typically a registered send buffer whose payload the caller already
 * encoded at @rec + FAB_RING_HDR_SIZE), compute the CRC and zero the pad.
 */
void fab_ring_record_seal(void *rec, const struct fab_ring_slot *slot,
			  raft_term term, uint32_t generation);

/* ------------------------------------------------------------------ */
/* Reader (follower) side                                              */

/* Checks the MAC of the record at @rec (@rec_size bytes, as the CQ data
 * says) for the reader's @generation and expected position @pos; @ctx is
 * the reader's verify_ctx.  True when it verifies. */
typedef bool (*fab_ring_verify_fn)(void *ctx, uint32_t generation, uint64_t pos,
				   const uint8_t *rec, uint32_t rec_size);

struct fab_ring_stats {
	uint64_t accepted;	/* records returned to the caller */
	uint64_t bad_cq;	/* CQ data inconsistent with the head */
	uint64_t bad_mac;	/* MAC did not verify (skipped) */
	uint64_t corrupt;	/* header or CRC mismatch (skipped) */
	uint64_t stale;		/* old term or generation (skipped) */
	uint64_t skipped_bytes; /* bytes of rejected records skipped */
};

struct fab_ring_reader {
	uint32_t size;	     /* ring bytes */
	uint32_t generation; /* current generation */
	uint64_t head;	     /* cumulative position of the next record */
	struct fab_ring_stats stats; /* rejection counters */
	fab_ring_verify_fn verify;   /* MAC check, or NULL (tests: none) */
	void *verify_ctx;	     /* borrowed, for verify */
};

/* A validated record, as fab_ring_reader_next() returns it. */
struct fab_ring_rec {
	const uint8_t *payload; /* borrowed: points into the ring memory */
	uint32_t len;		/* payload bytes */
	raft_term term;		/* record's term */
	uint64_t pos;		/* cumulative position of the record */
	uint32_t offset;	/* byte offset in the ring */
};

/** Start reading a ring of @size bytes (power of two) at position 0 with
 * @generation, without a verify function (set verify/verify_ctx after).
 * Returns 0 or FR_INVALID. */
int fab_ring_reader_init(struct fab_ring_reader *r, uint32_t size,
			 uint32_t generation)
    __attribute__((warn_unused_result));

/** Start over after re-registering the ring: head 0, new @generation
 * (must differ from the current one), counters kept. */
void fab_ring_reader_reset(struct fab_ring_reader *r, uint32_t generation);

/**
 * Validate the record that a completion with @cq_data announces in @mem (the
 * ring's @r->size bytes, borrowed).  On success @out points into @mem and
 * the head moves past the record; with a verify function the tag covered
 * the whole record, without one the payload's bytes past
 * FAB_RING_CRC_PREFIX are not checksummed here (the payload carries its own
 * CRC: check it before use).  The caller must finish with the payload
 * (e.g. decode it and step Raft, which copies entries) before it returns
 * credit covering it.  The payload is an APPEND frame: decode it with
 * fab_wire_decode() and drop it unless the message's term equals
 * @out->term (the term is not compared with the follower's: Raft answers
 * an old leader with its newer term).  Returns:
 *  0             accepted (stats.accepted)
 *  FR_MALFORMED  CQ data inconsistent with the head or out of bounds; head
 *                unchanged (stats.bad_cq)
 *  FR_STALE      generation in CQ data differs (head unchanged), or the
 *                record's generation or lap position is old (skipped)
 *                (stats.stale)
 *  FR_AUTH       the MAC did not verify: forged, or from an older lap or
 *                generation (skipped) (stats.bad_mac)
 *  FR_CORRUPT    bad magic, header/CQ mismatch or CRC (skipped)
 *                (stats.corrupt)
 */
int fab_ring_reader_next(struct fab_ring_reader *r, const void *mem,
			 uint64_t cq_data, struct fab_ring_rec *out)
    __attribute__((warn_unused_result));

/** The credit to return to the writer: the cumulative consumed position. */
uint64_t fab_ring_reader_credit(const struct fab_ring_reader *r);

#endif /* FABRAFT_FAB_RING_H */
