/* raft_private.h — struct raft and the core's internal functions. */
#ifndef FABRAFT_RAFT_PRIVATE_H
#define FABRAFT_RAFT_PRIVATE_H

#include "log.h"
#include "raft.h"

/*
 * Design notes
 * ============
 * State diagram (§5.2, Figure 4):
 *
 *              timeout               majority of votes
 *   FOLLOWER ----------> CANDIDATE ---------------------> LEADER
 *      ^  ^                 |  |timeout: new election        |
 *      |  +-----------------+  +------+                      |
 *      |   higher term or a leader     v                     |
 *      +-----------------------------------------------------+
 *                     higher term seen
 *
 * Invariants:
 *  1. term never decreases; vote is reset only when term increases.
 *  2. persisted <= last log index; commit never decreases; applied <=
 *     min(commit, persisted) (we only apply what we hold durably).
 *  3. A leader counts its own log for commit by `persisted`, and commits
 *     only an index whose entry has the current term (§5.4.2, Figure 8).
 *  4. A follower acknowledges index i to the leader of term t only if i is
 *     durable here and the entries through i are known to equal the
 *     leader's (match_hint): min(persisted, match_hint).
 *  5. Messages produced during a step reference log entries by index; the
 *     pointers are resolved when the step finishes (raft_step), after the
 *     last append that could move the array.
 */

/* Per-follower replication progress, kept by the leader (etcd's
 * Progress).  PROBE sends one AppendEntries at a time to find the point
 * where logs agree; REPLICATE streams optimistically within a window. */
enum raft_pr_state {
	RAFT_PR_PROBE = 1,
	RAFT_PR_REPLICATE,
};

struct raft_inflight {
	raft_index *last; /* ring of the last index each message carried */
	uint32_t start;	  /* oldest slot */
	uint32_t count;	  /* messages in flight */
	uint32_t cap;	  /* == options.max_inflight */
};

struct raft_progress {
	raft_index match;     /* highest index known replicated (durable) */
	raft_index next;      /* next index to send */
	uint8_t state;	      /* enum raft_pr_state */
	bool paused;	      /* PROBE: waiting for the answer to a probe */
	uint32_t stall_ticks; /* ticks with entries outstanding and no ack */
	struct raft_inflight inflight; /* REPLICATE window */
};

/* An outgoing message; APPEND entries are a range resolved at the end of
 * the step (invariant 5). */
struct raft_out {
	struct raft_message msg; /* entries pointer set at finish */
	raft_index first;	 /* first entry index of an APPEND */
};

struct raft {
	struct raft_options opt; /* copy of the options */
	raft_id id;		 /* == opt.id */

	/* Persistent state (§5, Figure 2). */
	raft_term term;		   /* current term */
	raft_id vote;		   /* voted for in term, 0 = none */
	struct raft_log log;	   /* the log */
	struct raft_config config; /* current configuration */

	/* Volatile state. */
	uint8_t role;	      /* enum raft_role */
	raft_id leader;	      /* known leader of term, 0 = none */
	raft_index commit;    /* highest index known committed */
	raft_index applied;   /* highest index handed out to apply */
	raft_index persisted; /* durable log tail (PERSISTED events) */

	/* Timers, in ticks. */
	uint32_t election_elapsed;  /* since last heard from leader/vote */
	uint32_t election_timeout;  /* randomized, [T, 2T) */
	uint32_t heartbeat_elapsed; /* leader: since last heartbeat */
	uint64_t rng;		    /* splitmix64 state */

	/* Follower: acknowledgement state for the current term's leader. */
	raft_index match_hint; /* entries verified equal to leader's */
	raft_index acked;      /* highest index acknowledged */

	/* Candidate: votes, by configuration slot. */
	uint8_t votes[RAFT_MAX_SERVERS]; /* 0 none, 1 granted, 2 denied */

	/* Leader: progress by configuration slot. */
	struct raft_progress progress[RAFT_MAX_SERVERS];
	uint64_t hb_seq; /* heartbeat round counter */

	/* Output of the current step. */
	struct raft_out *out;	       /* messages, fixed capacity */
	struct raft_message *out_msgs; /* resolved copy handed to the driver */
	uint32_t n_out;
	uint32_t out_cap;
	raft_index persist_from; /* lowest index written this step, 0 */

	struct raft_stats stats;
};

/* raft_config.c */
int raft__config_slot(const struct raft_config *c, raft_id id);
bool raft__config_is_voter(const struct raft_config *c, raft_id id);
uint32_t raft__config_voters(const struct raft_config *c);

/* raft_election.c */
void raft__become_follower(struct raft *r, raft_term term, raft_id leader);
void raft__campaign(struct raft *r);
void raft__tick(struct raft *r);
void raft__recv_vote(struct raft *r, const struct raft_message *m);
void raft__recv_vote_resp(struct raft *r, const struct raft_message *m);
void raft__reset_election_timer(struct raft *r);

/* raft_replication.c */
int raft__propose(struct raft *r, const struct raft_buf *bufs, uint32_t n,
		  struct raft_update *u);
void raft__recv_append(struct raft *r, const struct raft_message *m);
void raft__recv_append_resp(struct raft *r, const struct raft_message *m);
void raft__persisted(struct raft *r, raft_index index, raft_term term);
void raft__send_append(struct raft *r, int slot, bool heartbeat);
void raft__broadcast_append(struct raft *r, bool heartbeat);
void raft__maybe_commit(struct raft *r);
void raft__note_write(struct raft *r, raft_index from);
void raft__check_stalls(struct raft *r);

/* raft_progress.c */
int raft__progress_init(struct raft *r);
void raft__progress_close(struct raft *r);
void raft__progress_reset(struct raft *r);
bool raft__inflight_full(const struct raft_inflight *in);
void raft__inflight_add(struct raft_inflight *in, raft_index last);
void raft__inflight_free_to(struct raft_inflight *in, raft_index index);
void raft__inflight_reset(struct raft_inflight *in);

/* raft.c */
struct raft_message *raft__out(struct raft *r, uint8_t type, raft_id to);
uint64_t raft__rand(struct raft *r);

#endif /* FABRAFT_RAFT_PRIVATE_H */
