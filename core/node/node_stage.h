/* node_stage.h — where a commit's time goes: per-stage latency
 * histograms (issue 18), rendered by /metrics (fabraft_stage_seconds) and
 * INFO (# Latency).
 *
 * Design notes
 * ============
 *  1. Stages: propose (client request parsed -> the core took it), wal
 *     (leader's log_submit -> durable), repl (AppendEntries sent -> that
 *     peer acknowledged it, its flush included; per peer and per entry:
 *     an AppendEntries of k new entries counts k times), commit
 *     (proposed -> committed), apply (committed -> applied), reply (applied
 *     -> reply written to the socket by the end-of-turn flush), read_index
 *     (ReadIndex handed to the core -> read allowed).
 *  2. Cheap: one CLOCK_MONOTONIC read (vDSO, ns resolution) per boundary,
 *     fixed arrays inside struct node, no allocation.  In-flight entries
 *     live in a ring keyed by log index; an entry pushed out of the ring
 *     (more than NODE_STAGE_RING in flight) is simply not measured.  A
 *     peer with NODE_STAGE_PEER_RING sends unacknowledged has the newer
 *     entries added to its newest send (counted, timed from that send).
 *  3. Up to NODE_STAGE_PEERS peers get a repl histogram; more are not
 *     measured (clusters here have 3 to 5 voters). */
#ifndef FABRAFT_NODE_STAGE_H
#define FABRAFT_NODE_STAGE_H

#include <stdint.h>

#include "lhist.h"
#include "raft.h"

enum node_stage {
	NODE_STAGE_PROPOSE,
	NODE_STAGE_WAL,
	NODE_STAGE_COMMIT,
	NODE_STAGE_APPLY,
	NODE_STAGE_REPLY,
	NODE_STAGE_READ_INDEX,
	NODE_STAGES
};

#define NODE_STAGE_PEERS     8u
#define NODE_STAGE_RING	     1024u /* entries in flight, a power of 2 */
#define NODE_STAGE_PEER_RING 64u   /* sends in flight per peer */
#define NODE_STAGE_UNFLUSHED 256u  /* replies awaiting the flush */

/* The histograms (copied into the status snapshot). */
struct node_stage_hists {
	struct fr_lhist h[NODE_STAGES];
	raft_id peer[NODE_STAGE_PEERS]; /* 0 = slot free */
	struct fr_lhist repl[NODE_STAGE_PEERS];
};

/* One entry in flight (times in ns, 0 = not seen). */
struct node_stage_ent {
	raft_index index;
	uint64_t proposed, committed, applied;
};

/* One send to a peer not yet acknowledged. */
struct node_stage_send {
	raft_index first; /* first entry it sent for the first time */
	raft_index index; /* last entry of the AppendEntries */
	uint64_t t_ns;	  /* when it was sent */
};

/* Sends to one peer not yet acknowledged, oldest at head. */
struct node_stage_peer {
	struct node_stage_send s[NODE_STAGE_PEER_RING];
	uint32_t head, n;
};

/* Tracking state (lives in struct node, zeroed with it). */
struct node_stage_track {
	struct node_stage_ent ring[NODE_STAGE_RING];
	raft_index commit_seen; /* commit index handled so far */
	struct node_stage_peer peer[NODE_STAGE_PEERS];
	uint64_t unflushed[NODE_STAGE_UNFLUSHED]; /* applied times */
	uint32_t n_unflushed;
};

/* Stage name as in /metrics and INFO. */
const char *node__stage_name(enum node_stage s);

#endif /* FABRAFT_NODE_STAGE_H */
