/* kvc.h — the replicated KV-cache placement state machine (public API). */
#ifndef FABRAFT_KVC_H
#define FABRAFT_KVC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * Design notes
 * ============
 * kvcache is a pure, deterministic state machine in the sense of
 * struct raft_fsm: every replica applies the same committed entries in the
 * same order and reaches the same state, byte for byte as far as
 * kvc_digest() can tell.  It makes no syscalls and reads no clock: the only
 * time it knows is the leader's proposal time stamped into each entry by
 * kvc_command_encode() (time never runs backwards: the state's clock is the
 * largest stamp applied so far).  Reads use the time of the last applied
 * entry.
 *
 * The state (docs/kvcache.md has the commands and replies):
 *  - storage nodes: id 1..65535, address, NUMA node, an optional heartbeat
 *    lease, and up to four tiers (hbm, dram, cxl, nvme) with capacity,
 *    used and reserved bytes;
 *  - blocks keyed by (namespace, hash of 1..32 bytes), each with its parent
 *    hash,
 *    token count, one or more locations (node, tier, offset, length), a pin
 *    count with a lease, and a last-access time kept in one LRU list per
 *    (node, tier);
 *  - reservations made by KVC.ALLOC (two-phase writes), each with a lease;
 *  - a generic key/value store (SET/GET/DEL/EXISTS/MSET/MGET, INCR/INCRBY/
 *    DECR/DECRBY, SCAN/DBSIZE/TYPE and SET ... IFEQ for compare-and-set);
 *  - the event log: a bounded ring of the most recent changes to the
 *    placement state (block stored or evicted, reservation revoked, node
 *    joined, expired or left, namespace cleared), numbered seq = 1, 2, ...
 *    in commit order, identically on every replica (KVC.EVENTS reads it,
 *    KVC.SCAN lists the state a follower of the feed starts from).
 *
 * TXN (what MULTI/EXEC becomes) runs several of these commands as one
 * entry, in order, validated as a whole first (kvc_txn.c).
 *
 * Invariants (kvc_check_invariants() verifies 1-4; 5 holds by construction
 * of KVC.LOOKUP and is checked by the property test):
 *  1. per tier: used + reserved <= capacity; used is the sum of the lengths
 *     of the locations on it, reserved the sum of its reservations;
 *  2. every location names a registered node and one of its tiers;
 *  3. every block has at least one location (a block whose last location
 *     goes is deleted);
 *  4. every LRU list is well linked and ordered by last-access time;
 *  5. a chain lookup never returns a block whose parent is not the block
 *     before it in the answer (the first one is a root).
 *
 * Bad input never changes state: a command is validated completely (first
 * without state by kvc_command_check(), again with state inside kvc_apply())
 * before anything is modified, so an error reply means "nothing happened".
 * The one documented exception is KVC.ALLOC with several sizes, whose items
 * are independent: the reply holds one result (or error) per item.
 *
 * Memory: the block, location, long-hash, namespace, node and reservation
 * tables are allocated by kvc_open() with the capacities in struct
 * kvc_options and never grow; running out of one is an error reply
 * ("-ERR ... full"), the same on every replica.  Only the generic KV store
 * allocates per key.
 *
 * Block hashes are opaque byte strings of 1..32 bytes, written as 2..64
 * hex digits or i:<64-bit integer> (8 bytes big-endian); equal only with
 * equal length and bytes.  A block holds 16 hash bytes itself; a block
 * whose hash or parent is longer also takes a long-hash table entry
 * (docs/kvcache.md "Block hashes").
 */

struct kvc;

/** Capacities and bounds, fixed at kvc_open().  0 selects the default. */
struct kvc_options {
	uint32_t blocks_max;	   /* blocks resident (default 1 << 20) */
	uint32_t locations_max;	   /* locations (default = blocks_max) */
	uint32_t nodes_max;	   /* storage nodes, <= 65535 (default 256) */
	uint32_t namespaces_max;   /* live namespaces (default 1024) */
	uint32_t reservations_max; /* live reservations (default 65536) */
	uint32_t kv_keys_max;	   /* generic KV keys (default 1 << 16) */
	uint32_t long_hashes_max;  /* blocks whose hash or parent is over 16
				      bytes (default 65536) */
	uint32_t events_max;	   /* events kept for KVC.EVENTS
				      (default 65536) */
};

/** Bounds of struct kvc_options (0 still selects the default). */
#define KVC_BLOCKS_MAX_MAX	 (1u << 28)
#define KVC_LOCATIONS_MAX_MAX	 (1u << 28)
#define KVC_NODES_MAX_MAX	 65535u
#define KVC_NAMESPACES_MAX_MAX	 (1u << 20)
#define KVC_RESERVATIONS_MAX_MAX (1u << 24)
#define KVC_KV_KEYS_MAX_MAX	 (1u << 28)
#define KVC_LONG_HASHES_MAX_MAX	 (1u << 28)
#define KVC_EVENTS_MAX_MAX	 (1u << 22) /* a 168-byte record each */

/** One table kvc_open() allocates, for start-up logs and INFO. */
struct kvc_table_info {
	const char *name; /* "blocks", "locations", ... (static string) */
	uint64_t entries; /* capacity in entries */
	uint64_t bytes;	  /* bytes allocated for it (with its hash index) */
};

#define KVC_TABLES 9u /* entries kvc_memory() fills */

/* Limits on arguments; kvc_command_check() enforces them. */
#define KVC_ARGC_MAX	    65536u     /* arguments of one command, with name */
#define KVC_NS_BYTES_MAX    64u	       /* namespace (model id) name */
#define KVC_ADDR_BYTES_MAX  128u       /* storage node address */
#define KVC_KEY_BYTES_MAX   1024u      /* generic KV key */
#define KVC_VALUE_BYTES_MAX (1u << 20) /* generic KV value */
#define KVC_HASH_BYTES_MAX  32u /* block hash: 1..32 bytes (docs/kvcache.md) */
#define KVC_LEASE_MS_MAX    (7ull * 24 * 3600 * 1000) /* any lease: 7 days */
/* Work limits of one client command, so none holds the event loop for more
 * than a few ms (docs/resp.md "Limits").  kvc_command_check() and
 * kvc_read() enforce them, on the leader before a command is proposed;
 * kvc_apply() does not: an entry already in the log applies the same way
 * on every replica whatever limits this build has. */
#define KVC_ITEMS_MAX	    4096u /* keys, hashes, ids, blocks per command */
#define KVC_ALLOC_SIZES_MAX 256u  /* sizes of one KVC.ALLOC */
/* A transaction (TXN, what MULTI/EXEC sends): at most this many commands,
 * and (client path only) this much work over all of them: the items of
 * KVC_ITEMS_MAX, a KVC.ALLOC size counting KVC_ITEMS_MAX /
 * KVC_ALLOC_SIZES_MAX. */
#define KVC_TXN_CMDS_MAX  1024u
#define KVC_TXN_ITEMS_MAX 8192u

/** One RESP bulk string of a client command; borrowed, not NUL-terminated. */
struct kvc_arg {
	const char *base; /* bytes, borrowed for the call */
	size_t len;	  /* number of bytes */
};

/**
 * A growable byte buffer (RESP2 replies, encoded entries).  Zero-initialise
 * it before first use; kvc functions append to it with fr_realloc(), and the
 * caller frees @buf with fr_free() (or kvc_reply_free()).  The caller may
 * reset @len to 0 to reuse the buffer.  A non-zero @max bounds a reply while
 * it is built: kvc_read() stops with FR_TOOBIG as soon as the reply would
 * pass it, so a huge reply is never built in full (docs/resp.md).
 */
struct kvc_reply {
	char *buf;  /* owned by the caller, fr_realloc'd; NULL when empty */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
	size_t max; /* growth limit in bytes for kvc_read(); 0 = none; for
		       kvc_apply() it bounds only the reads inside a
		       transaction (a replica never refuses a write for
		       the size of its reply) */
};

/** Is a command a read (served by kvc_read()) or a write (replicated)? */
enum kvc_kind {
	KVC_READ = 1,
	KVC_WRITE = 2,
};

/** Free @r's buffer and zero it. */
void kvc_reply_free(struct kvc_reply *r);

/**
 * Create an empty state machine.  @o is borrowed (NULL = all defaults).
 * On success *@out is owned by the caller until kvc_close().  Returns 0,
 * FR_INVALID (a capacity out of range) or FR_NOMEM.
 */
int kvc_open(struct kvc **out, const struct kvc_options *o)
    __attribute__((warn_unused_result));

/**
 * The tables @k allocated at kvc_open(): KVC_TABLES entries into @out
 * (borrowed, at least KVC_TABLES long).  Returns the total bytes.
 * Allocated means reserved: the big tables come from calloc, and pages
 * never written cost no resident memory.
 */
uint64_t kvc_memory(const struct kvc *k, struct kvc_table_info *out);

/** Free everything @k owns; NULL is a no-op. */
void kvc_close(struct kvc *k);

/**
 * Classify and validate a client command without touching any state.
 * @argv (argc entries, argv[0] the command name) is borrowed.
 * Returns 0 and sets *@kind; FR_NOTFOUND when kvc does not know the command
 * name (the RESP front serves PING, INFO, ...), *@err untouched;
 * FR_INVALID with a RESP error ("-ERR ...\r\n") appended to *@err;
 * FR_NOMEM when *@err could not grow.
 */
int kvc_command_check(uint32_t argc, const struct kvc_arg *argv,
		      enum kvc_kind *kind, struct kvc_reply *err)
    __attribute__((warn_unused_result));

/**
 * Encode a command (normally a checked WRITE) into a Raft entry payload,
 * appended to *@out_entry, stamped with the leader's clock @now_ms.
 * Layout: u8 version (1), u64 now_ms, u32 argc, argc x (u32 len, bytes),
 * little-endian.  Returns 0, FR_INVALID (argc 0 or > KVC_ARGC_MAX, or too
 * big for one entry) or FR_NOMEM.
 */
int kvc_command_encode(uint64_t now_ms, uint32_t argc,
		       const struct kvc_arg *argv, struct kvc_reply *out_entry)
    __attribute__((warn_unused_result));

/**
 * Apply one committed entry (@entry, @len borrowed).  Deterministic: decodes
 * and re-validates everything.  The RESP2 answer for the client is appended
 * to *@reply (an error reply means the state did not change).  A non-zero
 * @reply->max bounds only the replies of reads inside a transaction (TXN):
 * a read whose reply would take the entry's reply past it answers an error
 * element instead; no other reply is ever refused for its size.
 * Returns 0 when the entry was applied (whatever its reply), FR_MALFORMED
 * when the entry does not decode (error reply, nothing changed), FR_NOMEM
 * when the reply or a generic KV value could not be allocated: the replica
 * may then differ from the others and the runtime must stop it.
 */
int kvc_apply(struct kvc *k, const void *entry, size_t len,
	      struct kvc_reply *reply) __attribute__((warn_unused_result));

/**
 * kvc_apply() of the Raft log entry at @index: the events the entry
 * produces carry @index (KVC.EVENTS).  The runtime applies in log order,
 * so indices grow; a smaller one than before (only after loading a
 * snapshot that claims a later index) is raised to the last one, so event
 * indices never decrease.  kvc_apply() is this with the index after the
 * last one applied (tests, benchmarks).
 */
int kvc_apply_at(struct kvc *k, uint64_t index, const void *entry, size_t len,
		 struct kvc_reply *reply) __attribute__((warn_unused_result));

/**
 * Execute a READ command on local state at the time of the last applied
 * entry.  Validates the arguments itself (kvc_command_check() first is only
 * needed to classify).  Never changes the state.  @argv is borrowed.  Returns
 * 0, FR_NOTFOUND (unknown command, no reply), FR_INVALID (a WRITE command or
 * bad arguments: a RESP error reply), FR_TOOBIG (the reply would pass
 * @reply->max; @reply holds a partial reply the caller discards) or
 * FR_NOMEM.
 */
int kvc_read(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
	     struct kvc_reply *reply) __attribute__((warn_unused_result));

/**
 * Stream the whole state through @write (called many times with chunks of
 * at most 64 KiB; a non-zero return aborts and is returned).  Format:
 * versioned header, sections, CRC32C trailer (docs/kvcache.md).
 * @ctx is passed through.  Returns 0, FR_NOMEM or @write's error.
 */
int kvc_snapshot_save(struct kvc *k,
		      int (*write)(void *ctx, const void *buf, size_t len),
		      void *ctx) __attribute__((warn_unused_result));

/**
 * Replace @k's state with a snapshot read through @read (must fill exactly
 * @len bytes or return non-zero).  The new state is built beside the old
 * one: every count is bounded by @k's capacities, every ordinal, id, length,
 * duplicate, capacity and the LRU order is checked as it loads (so
 * invariants 1-4 hold by construction), then the trailer and checksum; only
 * then is it swapped in, otherwise @k is unchanged.  Returns 0, FR_CORRUPT
 * (bad checksum or content), FR_UNSUPPORTED (unknown version), FR_NOSPACE
 * (exceeds @k's capacities), FR_NOMEM, or @read's error.
 */
int kvc_snapshot_load(struct kvc *k,
		      int (*read)(void *ctx, void *buf, size_t len), void *ctx)
    __attribute__((warn_unused_result));

/** A 64-bit hash of the whole logical state; equal on every replica that
 * applied the same entries (and on one restored from their snapshot). */
uint64_t kvc_digest(const struct kvc *k);

/** Time of the last applied entry (ms, leader's clock). */
uint64_t kvc_now_ms(const struct kvc *k);

/**
 * Verify invariants 1-4 of the design notes (O(state): a test and debug
 * tool, not for the hot path).  Returns 0, or FR_CORRUPT with
 * a NUL-terminated description of the first violation in @msg (@cap bytes,
 * borrowed).
 */
int kvc_check_invariants(const struct kvc *k, char *msg, size_t cap)
    __attribute__((warn_unused_result));

#endif /* FABRAFT_KVC_H */
