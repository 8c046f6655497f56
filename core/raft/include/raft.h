/* raft.h — the pure, deterministic Raft consensus core (public API). */
#ifndef FABRAFT_RAFT_H
#define FABRAFT_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * Design notes
 * ============
 * The core is a finite state machine in the style of etcd-io/raft and
 * canonical/raft: it makes no syscalls, reads no clock, owns no thread and no
 * global state.  A driver (the runtime in core/node, or the simulator in
 * tests/sim) feeds it events through raft_step() and carries out the
 * raft_update it fills in:
 *
 *   inputs:  TICK, RECEIVE(message), PROPOSE(data), PERSISTED(index, term),
 *            READ(contexts), TRANSFER(to), CHANGE(membership),
 *            SNAPSHOT(taken at index)
 *   outputs: hard state to persist, entries to persist, messages to send,
 *            entries to apply, reads that may be served, role changes,
 *            snapshot chunks to store and install, "take a snapshot".
 *
 * Invariants the driver must keep (docs/architecture.md explains why):
 *  1. If update.flags has RAFT_UPDATE_HARDSTATE, term and vote are durable
 *     before any message of the same (or a later) update is sent.
 *  2. update.entries are written in order: storing an entry of index i
 *     first deletes every stored entry with index >= i.  Writes may complete
 *     asynchronously; the driver reports the durable tail with a PERSISTED
 *     event naming the (index, term) of the last durable entry.  The core
 *     never acknowledges an entry to a leader, nor counts its own copy
 *     towards a commit quorum, before that event.  This is what lets the
 *     leader write its own log in parallel with replication (thesis 10.2.1).
 *  3. update.apply entries are applied in order before the next step; the
 *     core then treats them as applied.
 *  4. Every pointer in an update is borrowed and valid until the next call
 *     of raft_step() or raft_close(); copy what you keep.
 *  5. Order of handling one update, defined once by
 *     raft_update_carry_out() (raft_update.c), which the runtime and the
 *     simulator both call: hard state (and RECOVERED, note 7); snapshot
 *     chunk (stored at its offset) and, on SNAPSHOT_INSTALL, the install
 *     (finish or drop the pending entry writes, make the snapshot durable,
 *     restore the state machine from it, then drop the log as the update
 *     says); entries (submitted, not yet durable: note 2); commit; apply;
 *     reads (serve them: apply is done); role; snapshot wanted; messages
 *     last.  Notes 1 and 2 only require hard state and a SNAPSHOT_INSTALL
 *     before the messages; sending them last also means no message leaves
 *     a node that then fails to apply (a fatal state-machine error stops
 *     it before it speaks), and that what a node says matches what it has
 *     applied and served.
 *  6. SNAPSHOT messages leave the core with data == NULL: the driver fills
 *     bytes [offset, offset + len) of its snapshot taken at last_index (the
 *     one it reported with RAFT_EVENT_SNAPSHOT or installed).  A driver that
 *     no longer holds that snapshot drops the message; the core retries.
 *  7. Protocol-aware recovery (docs/storage.md "Damaged storage").  When
 *     storage finds that entries this server may have acknowledged are
 *     damaged or missing, the driver truncates the log before the damage
 *     and opens the core with raft_restore.recover_index = X, the highest
 *     index the server may have acknowledged (it persists X first), and
 *     recover_index_term, the term of X in the lost log when storage knows
 *     it (0 otherwise).  The server is then *recovering*: its
 *     AppendEntries successes are marked RAFT_ACK_UNCOUNTED (the leader
 *     uses them to stream the log but counts none toward a commit), it
 *     is never the target of a transfer (TimeoutNow is ignored), and it
 *     votes by two rules (docs/storage.md "Closing the gap", items 2-3):
 *     Rule 2.  A candidate (vote or pre-vote) that fails the usual
 *     up-to-date check against its own log is refused.  Otherwise, if
 *     the term of X is known and the candidate's (last term, last index)
 *     is at least (term of X, X) in the same order, the grant is plain:
 *     such a log holds everything the lost one held through X.  Otherwise
 *     the grant is RAFT_GRANT_CONDITIONAL.  A conditional vote is a real
 *     vote (persisted as the vote of the term; a pre-vote changes nothing).
 *     Rule 3.  A candidate counts conditional grants only once every voter
 *     of its configuration granted it, plainly or conditionally, itself
 *     included; one refusal, for any reason, leaves them uncounted.  Plain
 *     grants count toward a majority as always.  Its own vote is
 *     conditional when its own log fails rule 2.  With a single voter
 *     conditional votes never count (its copy was the majority): a
 *     recovering sole voter does not campaign (campaigns_blocked_single_
 *     voter) and waits for the operator (--accept-data-loss).
 *     A recovering server campaigns as any other (pre-vote first); if it
 *     wins it is no longer recovering: its log is the cluster's now.  The
 *     update that makes it leader carries RAFT_UPDATE_RECOVERED, which the
 *     driver carries out after the hard state and before the leader's
 *     first entry is written or sent (note 5).  A follower is repaired
 *     once its log durably matches a leader of a term >= its term at open
 *     through X, or through an entry of a term above that (every entry it
 *     could have acknowledged precedes it), or a snapshot >= X is
 *     installed (reported in a later step than the install, never in a
 *     SNAPSHOT step); the update then carries RAFT_UPDATE_RECOVERED and the
 *     driver persists "not recovering" (a crash before that only repeats
 *     the repair).  Why: a committed entry is on a majority; if a damaged
 *     member of that majority voted plainly, a candidate lacking the entry
 *     could win with it and overwrite the entry everywhere.  A member that
 *     kept the entry refuses such a candidate, so as long as fewer than a
 *     majority lost it, a candidate lacking it never hears all yes.  A
 *     candidate that no recovering voter can vouch for needs every voter:
 *     with a majority recovering and one voter gone, no such candidate is
 *     elected: unavailable, not wrong.
 *  8. Time.  Every event carries event.time_us, the driver's monotonic
 *     clock (CLOCK_BOOTTIME in the runtime, a per-node virtual clock in the
 *     simulator) in microseconds, read right before the step and *after*
 *     the input the event carries was received (a read taken off a socket
 *     is stamped later than its arrival, never earlier).  It must not go
 *     backward (a smaller value is taken as the previous one).  Elections
 *     stay in ticks; only the leader lease is measured in time: it holds
 *     while time_us < (send time of the latest heartbeat round a majority
 *     answered) + lease_ticks * tick_us, and a gap of more than
 *     RAFT_STALL_TICKS * tick_us between two events (a pause, swap, a long
 *     flush) voids it until a round sent after the gap is answered
 *     (raft_read.c explains the bound).
 *
 * Memory: every input pointer is borrowed for the call; the core copies what
 * it keeps (entry payloads are copied into the in-memory log).
 *
 * Bad input: the core never asserts on the content of a message.  Messages
 * from unknown servers, for another recipient, with term 0, with
 * inconsistent entry indices or terms, or with batches over the limit are
 * dropped and counted in struct raft_stats.
 */

typedef uint64_t raft_term;  /* election term; 0 = none */
typedef uint64_t raft_index; /* log index; the first entry is 1, 0 = none */
typedef uint32_t raft_id;    /* server id 1..RAFT_ID_MAX; 0 = none */

#define RAFT_ID_MAX 255u
/* Largest term the core accepts.  A message claiming more is malformed:
 * honest terms grow by one per election and never get near it, and
 * accepting it would let the next election wrap the term to 0. */
#define RAFT_TERM_MAX (UINT64_C(1) << 62)
/* Servers in one configuration (voters and learners). */
#define RAFT_MAX_SERVERS 32u
/* Most entries one AppendEntries may carry, on input and on output. */
#define RAFT_MAX_BATCH_ENTRIES 4096u
/* Largest entry payload the core accepts. */
#define RAFT_MAX_ENTRY_BYTES (64u * 1024u * 1024u)
/* Largest snapshot chunk the core accepts. */
#define RAFT_MAX_CHUNK_BYTES (64u * 1024u * 1024u)
/* Reads waiting for confirmation at one leader; more get FR_BUSY. */
#define RAFT_MAX_PENDING_READS 65536u

enum raft_role {
	RAFT_FOLLOWER = 1,
	RAFT_CANDIDATE,
	RAFT_LEADER,
};

const char *raft_role_name(enum raft_role role);

/* ------------------------------------------------------------------ */
/* Entries and configurations                                          */

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 1, /* client command for the state machine */
	RAFT_ENTRY_NOOP,       /* leader's first entry of its term (§8) */
	RAFT_ENTRY_CONFIG,     /* encoded struct raft_config */
};

struct raft_entry {
	raft_term term;	  /* term in which a leader created it */
	raft_index index; /* position in the log */
	uint8_t type;	  /* enum raft_entry_type */
	uint32_t len;	  /* payload bytes */
	const void *buf;  /* payload; borrowed (see note 4) */
};

enum raft_server_role {
	RAFT_VOTER = 1,	  /* counts in quorums, may become leader */
	RAFT_LEARNER = 2, /* receives the log, never votes */
};

struct raft_server {
	raft_id id;   /* 1..RAFT_ID_MAX, unique in a configuration */
	uint8_t role; /* enum raft_server_role */
};

struct raft_config {
	uint32_t n;				      /* servers in use */
	struct raft_server servers[RAFT_MAX_SERVERS]; /* unordered */
};

/** Check a configuration: 1..RAFT_MAX_SERVERS servers, ids in range and
 * unique, known roles, at least one voter.  Returns 0 or FR_INVALID. */
int raft_config_validate(const struct raft_config *c)
    __attribute__((warn_unused_result));

/** Bytes raft_config_encode() writes for @c. */
size_t raft_config_encoded_size(const struct raft_config *c);
/** Encode into @buf of @size bytes (little endian, versioned).  Returns 0 or
 * FR_TOOBIG. */
int raft_config_encode(const struct raft_config *c, void *buf, size_t size)
    __attribute__((warn_unused_result));
/** Decode and validate.  Returns 0, FR_MALFORMED or FR_INVALID. */
int raft_config_decode(struct raft_config *c, const void *buf, size_t len)
    __attribute__((warn_unused_result));

/* ------------------------------------------------------------------ */
/* Messages                                                            */

enum raft_msg_type {
	RAFT_MSG_VOTE = 1,	/* RequestVote (or pre-vote), §5.2 */
	RAFT_MSG_VOTE_RESP,	/* its answer */
	RAFT_MSG_APPEND,	/* AppendEntries; a heartbeat when empty */
	RAFT_MSG_APPEND_RESP,	/* its answer */
	RAFT_MSG_SNAPSHOT,	/* InstallSnapshot chunk, §7 */
	RAFT_MSG_SNAPSHOT_RESP, /* its answer */
	RAFT_MSG_TIMEOUT_NOW,	/* leadership transfer, thesis 3.10 */
	RAFT_MSG_TYPE_NR	/* not a type: one past the last */
};

const char *raft_msg_type_name(int type);

#define RAFT_VOTE_PREVOTE  0x1u /* pre-vote: no state changes, thesis 9.6 */
#define RAFT_VOTE_TRANSFER 0x2u /* campaign of a leadership transfer */

struct raft_vote {
	raft_index last_index; /* candidate's last log index */
	raft_term last_term;   /* term of that entry */
	uint8_t flags;	       /* RAFT_VOTE_* */
};

/* raft_vote_resp.granted (note 7, rules 2 and 3). */
#define RAFT_GRANT_NO  0u /* refused */
#define RAFT_GRANT_YES 1u /* granted */
#define RAFT_GRANT_CONDITIONAL                                                 \
	2u /* granted by a recovering voter that                               \
	      cannot vouch for the candidate's log:                            \
	      counts only if every voter granted */

struct raft_vote_resp {
	uint8_t granted; /* RAFT_GRANT_*; anything else is dropped */
	uint8_t prevote; /* answers a pre-vote */
};

struct raft_append {
	raft_index prev_index;		  /* entry preceding the new ones */
	raft_term prev_term;		  /* its term */
	raft_index commit;		  /* leader's commit index */
	uint64_t seq;			  /* leader's heartbeat round, echoed */
	uint32_t n_entries;		  /* 0 for a heartbeat */
	const struct raft_entry *entries; /* consecutive, from prev_index+1 */
};

struct raft_append_resp {
	uint8_t success;	   /* 1: log matches through .index */
	raft_index index;	   /* success: matched and durable index;
				      reject: the prev_index rejected */
	raft_index last_index;	   /* follower's last log index */
	raft_term conflict_term;   /* reject hint: term at prev_index, 0 if
				      the follower's log is too short */
	raft_index conflict_index; /* reject hint: first index of
				      conflict_term, or last_index+1 */
	uint64_t seq;		   /* echo of raft_append.seq */
};

/* In raft_append_resp.conflict_term of a success: the follower is
 * recovering (note 7).  Its index is matched and durable, for the
 * leader's flow control only: it does not count toward a commit (nor
 * a transfer's catch-up) until a plain success follows. */
#define RAFT_ACK_UNCOUNTED UINT64_MAX

struct raft_snapshot_chunk {
	raft_index last_index;	   /* last index the snapshot covers */
	raft_term last_term;	   /* its term */
	struct raft_config config; /* configuration as of last_index */
	uint64_t offset;	   /* byte offset of this chunk */
	uint64_t total;		   /* size of the whole snapshot */
	uint8_t done;		   /* last chunk */
	uint32_t len;		   /* bytes in this chunk */
	const void *data;	   /* chunk bytes; borrowed */
};

/* rejected and done both 1: the follower refused the whole snapshot (over
 * its size limit or its free disk; its driver answers so, the core never
 * does); the leader offers it again only after
 * RAFT_SNAPSHOT_REFUSED_BACKOFF election timeouts. */
struct raft_snapshot_resp {
	raft_index last_index; /* snapshot being answered */
	uint64_t offset;       /* next byte expected (resume point) */
	uint8_t rejected;      /* 1: start over from offset */
	uint8_t done;	       /* 1: installed (with rejected: refused) */
};

/* A gap between two events longer than this many ticks (of tick_us) is a
 * stall of the driver: it voids the leader lease (note 8). */
#define RAFT_STALL_TICKS 2u

/* Election timeouts a leader waits before it offers a refused snapshot
 * again (raft_snapshot_resp). */
#define RAFT_SNAPSHOT_REFUSED_BACKOFF 10u

struct raft_message {
	uint8_t type;	/* enum raft_msg_type */
	raft_id from;	/* sender */
	raft_id to;	/* recipient */
	raft_term term; /* sender's current term (candidate's for VOTE) */
	union {
		struct raft_vote vote;
		struct raft_vote_resp vote_resp;
		struct raft_append append;
		struct raft_append_resp append_resp;
		struct raft_snapshot_chunk snapshot;
		struct raft_snapshot_resp snapshot_resp;
	};
};

/* ------------------------------------------------------------------ */
/* Events (inputs) and updates (outputs)                               */

enum raft_event_type {
	RAFT_EVENT_TICK = 1,  /* one logical clock tick elapsed */
	RAFT_EVENT_RECEIVE,   /* a message arrived */
	RAFT_EVENT_PROPOSE,   /* leader: append client commands */
	RAFT_EVENT_PERSISTED, /* storage: entries through (index, term)
				 are durable */
	RAFT_EVENT_CAMPAIGN,  /* start an election now, skipping pre-vote */
	RAFT_EVENT_READ,      /* leader: linearizable reads (ReadIndex) */
	RAFT_EVENT_TRANSFER,  /* leader: hand leadership to a voter */
	RAFT_EVENT_CHANGE,    /* leader: one membership change */
	RAFT_EVENT_SNAPSHOT,  /* driver: a snapshot at index is durable */
};

enum raft_change_op {
	RAFT_CHANGE_ADD_LEARNER = 1, /* new non-voting member */
	RAFT_CHANGE_PROMOTE,	     /* caught-up learner becomes a voter */
	RAFT_CHANGE_REMOVE,	     /* voter or learner leaves */
};

struct raft_buf {
	const void *base; /* borrowed for the call */
	uint32_t len;	  /* 0..RAFT_MAX_ENTRY_BYTES */
};

struct raft_event {
	uint8_t type;	  /* enum raft_event_type */
	uint64_t time_us; /* driver's monotonic clock (note 8) */
	union {
		struct {
			const struct raft_message *message; /* borrowed */
		} receive;
		struct {
			const struct raft_buf *bufs; /* one entry each */
			uint32_t n; /* 1..RAFT_MAX_BATCH_ENTRIES */
		} propose;
		struct {
			raft_index index; /* last durable entry */
			raft_term term;	  /* its term */
		} persisted;
		struct {
			const uint64_t *ctx; /* caller's ids, echoed back */
			uint32_t n;	     /* 1..RAFT_MAX_BATCH_ENTRIES */
			uint8_t lease; /* 1: serve from the leader lease when
					  valid (raft_options.lease_ticks) */
		} read;
		struct {
			raft_id to;    /* 0: the most caught-up voter */
			uint8_t abort; /* 1: cancel a transfer in progress */
		} transfer;
		struct {
			uint8_t op; /* enum raft_change_op */
			raft_id id;
		} change;
		struct {
			raft_index
			    index;     /* applied index the snapshot covers */
			uint64_t size; /* its bytes, > 0 */
		} snapshot;
	};
};

/* A read that may now be served: the state machine has applied through
 * index, which was the commit index when leadership was confirmed. */
struct raft_read {
	uint64_t ctx;	  /* from the READ event */
	raft_index index; /* read index; applied >= index now */
	int status;	  /* 0, or FR_NOTLEADER: leadership was lost */
};

/* What a snapshot covers. */
struct raft_snapshot_meta {
	raft_index index;	   /* last entry it covers */
	raft_term term;		   /* that entry's term */
	struct raft_config config; /* configuration as of index */
	uint64_t size;		   /* bytes */
};

#define RAFT_UPDATE_HARDSTATE	     0x01u /* term/vote: persist before sending */
#define RAFT_UPDATE_ENTRIES	     0x02u  /* entries to persist */
#define RAFT_UPDATE_MESSAGES	     0x04u  /* messages to send */
#define RAFT_UPDATE_APPLY	     0x08u  /* committed entries to apply */
#define RAFT_UPDATE_ROLE	     0x10u  /* role or known leader changed */
#define RAFT_UPDATE_COMMIT	     0x20u  /* commit index advanced */
#define RAFT_UPDATE_READS	     0x40u  /* reads to serve (after apply) */
#define RAFT_UPDATE_SNAPSHOT_CHUNK   0x80u  /* store a received chunk */
#define RAFT_UPDATE_SNAPSHOT_INSTALL 0x100u /* install it (note 5) */
#define RAFT_UPDATE_SNAPSHOT_WANTED  0x200u /* take a snapshot now */
#define RAFT_UPDATE_RECOVERED                                                  \
	0x400u /* repaired: persist "not                                       \
		  recovering" (note 7) */

struct raft_update {
	unsigned flags; /* RAFT_UPDATE_* */
	/* HARDSTATE */
	raft_term term; /* current term */
	raft_id vote;	/* vote in that term, 0 = none */
	/* ENTRIES: store these, replacing stored entries >= entries[0].index */
	const struct raft_entry *entries;
	uint32_t n_entries;
	/* MESSAGES */
	const struct raft_message *messages;
	uint32_t n_messages;
	/* APPLY: committed, locally durable entries, in order */
	const struct raft_entry *apply;
	uint32_t n_apply;
	/* COMMIT */
	raft_index commit;
	/* ROLE */
	uint8_t role;	/* enum raft_role */
	raft_id leader; /* known leader, 0 = none */
	/* PROPOSE and CHANGE: where the proposed entries went */
	raft_index proposed_index; /* index of the first proposed entry */
	raft_term proposed_term;   /* their term */
	/* READS */
	const struct raft_read *reads;
	uint32_t n_reads;
	/* SNAPSHOT_CHUNK: write chunk->data at chunk->offset of the incoming
	 * snapshot named by chunk->last_index/last_term (start a new one at
	 * offset 0). */
	const struct raft_snapshot_chunk *chunk;
	/* SNAPSHOT_INSTALL: the incoming snapshot is complete.  keep_log: the
	 * log held the snapshot's last entry; drop stored entries <= index
	 * and keep the rest.  Otherwise drop the whole stored log. */
	struct raft_snapshot_meta install;
	bool keep_log;
	/* SNAPSHOT_WANTED: take a snapshot of the state machine as applied
	 * (through this index) and report it with RAFT_EVENT_SNAPSHOT. */
	raft_index snapshot_index;
};

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */

struct raft_options {
	raft_id id;    /* this server */
	uint64_t seed; /* seeds the election-timeout RNG */
	uint32_t
	    election_ticks;	     /* base election timeout; the actual one is
					uniform in [election_ticks, 2*election_ticks) */
	uint32_t heartbeat_ticks;    /* leader heartbeat interval, < election */
	uint32_t max_inflight;	     /* AppendEntries in flight per follower */
	uint32_t max_batch_entries;  /* entries per AppendEntries */
	uint32_t max_batch_bytes;    /* payload bytes per AppendEntries (soft:
					at least one entry is always sent) */
	bool pre_vote;		     /* thesis 9.6: no term bump unless a
					majority would vote */
	bool check_quorum;	     /* leader steps down without a majority for
					an election timeout; voters ignore
					candidates while they hear a leader */
	uint32_t lease_ticks;	     /* leader-lease reads: 0 = off; needs
					check_quorum and < election_ticks - 1
					(docs/architecture.md: clock bound);
					measured in time: lease_ticks *
					tick_us of event.time_us (note 8) */
	bool read_round_majority;    /* a ReadIndex round goes only to the
					fewest voters that make a majority
					(raft_read.c); false: to everyone */
	uint32_t tick_us;	     /* the driver's nominal tick, in
					event.time_us units; > 0 with a lease */
	uint32_t snapshot_threshold; /* applied entries between snapshots;
					0 = never ask */
	uint32_t snapshot_trailing;  /* entries kept after a snapshot, for
					followers slightly behind */
	uint32_t snapshot_chunk_bytes; /* InstallSnapshot chunk size */
	raft_term term_jump_max;       /* a message whose term is more than this
					  above ours is dropped (see below) */
};

/*
 * Terms cannot be exhausted.  Terms only grow, and at RAFT_TERM_MAX no
 * election can start, so one message with a huge term (from a member that
 * misbehaves, or forged) would otherwise end the cluster's life: everyone
 * adopts the term and persists it.  A message whose term exceeds ours by
 * more than term_jump_max is dropped and counted (msgs_dropped_term_jump).
 * Legitimate jumps are small: with pre-vote a term grows only when a
 * majority granted a pre-vote or a leader handed over, so a replica that
 * was away sees at most one step per leader change it missed.  With the
 * default 2^20, pushing a cluster from term 1 to RAFT_TERM_MAX takes 2^42
 * adopted messages; a replica more than 2^20 terms behind must be
 * re-seeded (its drops show in the counter).
 */
#define RAFT_TERM_JUMP_DEFAULT (UINT64_C(1) << 20)

/** The core's seeded generator (splitmix64): advance @state, return the
 * next value.  Deterministic and pure; the simulator draws its randomness
 * from it too, so one seed drives a whole simulated run. */
uint64_t raft_rand_next(uint64_t *state);

/** Fill @o with defaults: election 10 ticks, heartbeat 1 tick, 64 in flight,
 * 256 entries and 1 MiB per batch, pre-vote and check-quorum on, no lease
 * reads (tick_us 10000), a snapshot every 65536 entries keeping 1024, 1 MiB
 * chunks, term jumps of at most RAFT_TERM_JUMP_DEFAULT. */
void raft_options_default(struct raft_options *o, raft_id id, uint64_t seed);

/* What a server recovered from its storage (all zero for a new server). */
struct raft_restore {
	raft_term term;			  /* persisted current term */
	raft_id vote;			  /* persisted vote */
	const struct raft_entry *entries; /* persisted log, consecutive */
	uint32_t n_entries;
	struct raft_config config; /* configuration as of the snapshot, or
				      the bootstrap one without a snapshot;
				      config entries in the log override it */
	/* Latest durable snapshot (index 0: none).  The log may start at or
	 * before index + 1; entries <= index are ignored, and the log is
	 * dropped whole if it holds index with another term (a crash in the
	 * middle of an install). */
	raft_index snapshot_index;
	raft_term snapshot_term;
	uint64_t snapshot_size;
	/* Note 7: 0, or the highest index this server may have acknowledged
	 * before its storage lost or damaged entries (> the restored log's
	 * last index): the server starts recovering. */
	raft_index recover_index;
	/* Note 7: the term of the entry at recover_index in the log this
	 * server had before the damage (the WAL's tail slot), 0 = unknown.
	 * Lets it grant ordinary votes to candidates at least that up to
	 * date (docs/storage.md "Closing the gap", item 2). */
	raft_term recover_index_term;
};

struct raft; /* opaque */

/** Allocate and initialise a server.  @o and @restore are borrowed; entry
 * payloads are copied.  Returns 0, FR_NOMEM or FR_INVALID (bad options,
 * configuration, or a restored log that is not consecutive). */
int raft_open(struct raft **out, const struct raft_options *o,
	      const struct raft_restore *restore)
    __attribute__((warn_unused_result));

/** Free everything; @r may be NULL. */
void raft_close(struct raft *r);

/**
 * Feed one event and collect what the driver must do in @update (which the
 * call clears first).  Returns 0, or:
 *  FR_NOTLEADER  PROPOSE, READ, TRANSFER or CHANGE on a non-leader;
 *  FR_INVALID    a malformed event (propose of 0 or too many entries, a
 *                SNAPSHOT not newer than the last or beyond applied, a
 *                transfer to itself or a learner, an unknown change op);
 *  FR_BUSY       a proposal or change during a transfer, a change while the
 *                previous one is uncommitted or before this leader's term
 *                has committed an entry, too many pending reads;
 *  FR_AGAIN      promoting a learner that has not caught up;
 *  FR_NOTFOUND   transfer to, promotion or removal of a non-member;
 *  FR_EXISTS     adding a member, promoting a voter;
 *  FR_NOMEM      nothing changed; the event may be retried.
 * The update is valid (and must be carried out) whatever the return.
 */
int raft_step(struct raft *r, const struct raft_event *event,
	      struct raft_update *update) __attribute__((warn_unused_result));

/* How a driver carries out the parts of an update: one callback per part,
 * each returning 0 to go on or a positive FR_* code that stops the rest of
 * the update (the driver has failed and will stop).  A NULL callback skips
 * its part.  Like every ops table here it starts with its size so it can
 * grow: callbacks past ops->size are treated as NULL. */
struct raft_update_ops {
	size_t size; /* sizeof(struct raft_update_ops) the caller built */
	/* HARDSTATE: make term and vote durable now (note 1). */
	int (*hardstate)(void *arg, raft_term term, raft_id vote);
	/* SNAPSHOT_CHUNK: store @c (borrowed). */
	int (*snapshot_chunk)(void *arg, const struct raft_snapshot_chunk *c);
	/* SNAPSHOT_INSTALL: install update->install (note 5). */
	int (*snapshot_install)(void *arg, const struct raft_update *update);
	/* ENTRIES: submit @n entries (borrowed) for writing (note 2). */
	int (*entries)(void *arg, const struct raft_entry *e, uint32_t n);
	/* COMMIT: the commit index advanced to update->commit. */
	int (*commit)(void *arg, const struct raft_update *update);
	/* APPLY: apply one entry (borrowed), once per entry, in order. */
	int (*apply)(void *arg, const struct raft_entry *e);
	/* After the apply, when the update has APPLY or READS: serve the
	 * reads update->reads released and whatever waited on the apply. */
	int (*reads)(void *arg, const struct raft_update *update);
	/* ROLE: role or known leader changed. */
	int (*role)(void *arg, const struct raft_update *update);
	/* SNAPSHOT_WANTED: take a snapshot at @index (may be deferred). */
	int (*snapshot_wanted)(void *arg, raft_index index);
	/* MESSAGES: send one message (borrowed), once per message. */
	int (*message)(void *arg, const struct raft_message *m);
	/* RECOVERED (after hardstate): persist "not recovering" (note 7). */
	int (*recovered)(void *arg);
};

/**
 * Carry out @update (borrowed) through @ops (borrowed) in the one order
 * of note 5, passing @arg to every callback.  Returns 0, or the first
 * callback's non-zero answer (the later parts are then not carried out).
 */
int raft_update_carry_out(const struct raft_update *update,
			  const struct raft_update_ops *ops, void *arg)
    __attribute__((warn_unused_result));

/* ------------------------------------------------------------------ */
/* Inspection (for the runtime, INFO, the simulator and tests)          */

struct raft_status {
	raft_id id;
	uint8_t role; /* enum raft_role */
	raft_term term;
	raft_id vote;
	raft_id leader; /* 0 when unknown */
	raft_index commit;
	raft_index applied;	/* handed out for apply */
	raft_index persisted;	/* durable log tail */
	raft_index first_index; /* first entry in memory */
	raft_index last_index;
	raft_term last_term;
	uint32_t n_voters;
	raft_index snapshot_index; /* latest snapshot, 0 = none */
	raft_index config_index;   /* entry of the current config, 0 = base */
	raft_id transfer_to;	   /* leader: transfer in progress, 0 = none */
	bool prevoting;		   /* follower running a pre-vote */
	bool lease_valid;	   /* leader: lease reads possible, as of the
				      last event's time_us */
	uint32_t pending_reads;	   /* leader: reads awaiting confirmation */
	bool term_exhausted;	   /* term is RAFT_TERM_MAX: no election can
				      ever start again (restore the data into
				      a new cluster) */
	bool recovering;	   /* note 7: repairing a damaged log */
	raft_index recover_index;  /* while recovering: must match a leader
				      through this index */
};

struct raft_stats {
	uint64_t msgs_received;
	uint64_t msgs_dropped_unknown;	 /* from a server not in the config */
	uint64_t msgs_dropped_bad;	 /* wrong recipient, term 0, bad type */
	uint64_t msgs_dropped_stale;	 /* old term */
	uint64_t msgs_dropped_term_jump; /* term too far ahead of ours */
	uint64_t appends_malformed;	 /* inconsistent indices/terms, size */
	uint64_t appends_rejected; /* log mismatch (normal backtracking) */
	uint64_t acks_deferred;	   /* follower: new entries answered only by
				      the ack sent once they are durable */
	uint64_t elections_started;
	uint64_t leader_terms; /* times this server became leader */
	uint64_t prevotes_started;
	uint64_t votes_ignored_lease; /* candidates ignored: leader heard */
	uint64_t check_quorum_stepdowns;
	uint64_t transfers_started;
	uint64_t transfers_aborted; /* timed out or cancelled */
	uint64_t snapshots_sent;    /* complete transfers to followers */
	uint64_t snapshots_installed;
	uint64_t snapshot_chunks_refused; /* malformed, out of order, stale */
	uint64_t snapshots_refused_by_peers; /* a follower would not store */
	uint64_t config_changes;	     /* proposed by this leader */
	uint64_t reads_served;
	uint64_t reads_lease;			 /* served from the lease */
	uint64_t votes_refused_recovering;	 /* note 7: votes and pre-votes
						    refused while recovering */
	uint64_t votes_granted_conditional;	 /* note 7: votes and pre-votes
						    granted conditionally */
	uint64_t elections_won_conditional;	 /* became leader by counting
						    conditional votes */
	uint64_t campaigns_blocked_single_voter; /* note 7: recovering sole
						    voter: no election can
						    vouch for it */
	uint64_t followers_regressed; /* leader: a follower answered with a
					 log shorter than it had acknowledged
					 (lost entries): probed again */
	uint64_t lease_stalls;	      /* leader: stalls that voided the lease
					 (RAFT_STALL_TICKS, note 8) */
};

void raft_status_get(const struct raft *r, struct raft_status *s);
void raft_stats_get(const struct raft *r, struct raft_stats *s);
const struct raft_config *raft_config_get(const struct raft *r);
/** The configuration in effect at @index (the last configuration entry at
 * or below it, else the one as of the log's start), for snapshot metadata.
 * @index must be in [first index - 1, last index].  Returns 0 or
 * FR_INVALID. */
int raft_config_at(const struct raft *r, raft_index index,
		   struct raft_config *out) __attribute__((warn_unused_result));
/** The latest snapshot's metadata (index 0: none), e.g. for the driver to
 * store next to the snapshot's bytes. */
void raft_snapshot_get(const struct raft *r, struct raft_snapshot_meta *m);

/** Term of the entry at @index, or 0 if not in the in-memory log. */
raft_term raft_log_term(const struct raft *r, raft_index index);
/** The entry at @index or NULL; valid until the next step. */
const struct raft_entry *raft_log_entry(const struct raft *r, raft_index index);

#endif /* FABRAFT_RAFT_H */
