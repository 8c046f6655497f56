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

/* A candidate's record of one voter's answer (struct raft.votes). */
enum raft_ballot {
	RAFT_BALLOT_NONE = 0, /* no answer yet */
	RAFT_BALLOT_YES,      /* granted */
	RAFT_BALLOT_NO,	      /* refused */
	RAFT_BALLOT_COND,     /* granted conditionally (raft.h note 7) */
};

/* Per-follower replication progress, kept by the leader (etcd's
 * Progress).  PROBE sends one AppendEntries at a time to find the point
 * where logs agree; REPLICATE streams optimistically within a window. */
enum raft_pr_state {
	RAFT_PR_PROBE = 1,
	RAFT_PR_REPLICATE,
	RAFT_PR_SNAPSHOT, /* needs compacted entries: InstallSnapshot */
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
	bool recent_active;	       /* heard from since the last quorum
					  check (check_quorum) */
	uint64_t acked_seq;	       /* highest heartbeat round echoed */
	uint64_t acked_at;	       /* that round's send time_us + 1
					  (0: unknown) */
	raft_index snap_index;	       /* SNAPSHOT: snapshot being sent */
	uint64_t snap_offset;	       /* SNAPSHOT: next byte to send */
	bool snap_refused;	       /* SNAPSHOT: refused, offered again after
					  RAFT_SNAPSHOT_REFUSED_BACKOFF timeouts */
};

/* A ReadIndex request waiting at the leader. */
struct raft_read_req {
	uint64_t ctx;
	raft_index index; /* commit index at request; 0 until the leader has
			     committed an entry of its term */
	uint64_t seq;	  /* heartbeat round that confirms it; 0 = done */
};

/* The snapshot being received from a leader. */
struct raft_snap_in {
	bool active;
	struct raft_snapshot_meta meta; /* meta.size == chunk total */
	uint64_t next;			/* next byte expected */
};

/* Send time of heartbeat rounds, for the lease: (seq, time_us) of the
 * first round of each quarter tick, the last RAFT_SEQ_RING of them. */
#define RAFT_SEQ_RING 64u
struct raft_seq_time {
	uint64_t seq;	  /* heartbeat round */
	uint64_t time_us; /* event time of the step that sent it */
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
	raft_term term;			/* current term */
	raft_id vote;			/* voted for in term, 0 = none */
	struct raft_log log;		/* the log */
	struct raft_config config;	/* current configuration (the latest in
					   the log, committed or not) */
	raft_index config_index;	/* entry that holds it, 0 = base */
	struct raft_config base_config; /* configuration as of log.offset */
	struct raft_snapshot_meta snap; /* latest snapshot, index 0 = none */

	/* Volatile state. */
	uint8_t role;	      /* enum raft_role */
	raft_id leader;	      /* known leader of term, 0 = none */
	raft_index commit;    /* highest index known committed */
	raft_index applied;   /* highest index handed out to apply */
	raft_index persisted; /* durable log tail (PERSISTED events) */

	/* Timers, in ticks. */
	uint32_t election_elapsed;  /* since last heard from leader/vote */
	uint32_t election_timeout;  /* randomized, [T, 2T) */
	uint32_t heartbeat_elapsed; /* leader: since last heartbeat;
				       candidate: since asking for votes */
	uint8_t vote_flags;	    /* RAFT_VOTE_* of the current campaign */
	uint64_t rng;		    /* splitmix64 state */
	uint64_t now_us;	    /* latest event.time_us (note 8) */
	uint64_t lease_floor_us;    /* rounds sent before this time extend
				       no lease: a stall happened then */
	bool prevoting;		    /* follower: pre-vote in progress */

	/* Follower: acknowledgement state for the current term's leader. */
	raft_index match_hint; /* entries verified equal to leader's */
	raft_index acked;      /* highest index acknowledged */
	uint64_t seq_in;       /* highest heartbeat round received */
	uint64_t seq_acked;    /* highest heartbeat round answered */

	/* Candidate: votes, by configuration slot. */
	uint8_t votes[RAFT_MAX_SERVERS]; /* RAFT_BALLOT_* */

	/* Leader: progress by configuration slot. */
	struct raft_progress progress[RAFT_MAX_SERVERS];
	uint64_t hb_seq; /* heartbeat round counter */
	struct raft_seq_time seq_ring[RAFT_SEQ_RING];
	uint32_t seq_ring_n;	     /* entries written, ever */
	raft_id transfer_to;	     /* leadership transfer target, 0 = none */
	uint32_t transfer_elapsed;   /* ticks since it started */
	raft_term lease_off_term;    /* no lease reads in this term (a
					TimeoutNow was sent) */
	struct raft_read_req *reads; /* FIFO of pending reads */
	uint32_t reads_start;
	uint32_t reads_n;
	uint32_t reads_cap;
	bool read_round;	 /* a read needs a heartbeat round */
	uint64_t read_round_seq; /* seq of the last read round sent */
	raft_index snap_asked;	 /* applied index of the last request */

	/* Recovery from damaged storage (raft.h note 7). */
	raft_index recover_index; /* 0, or repaired once matched through it */
	raft_term recover_term;	  /* term at open */
	raft_term recover_index_term; /* term of recover_index before the
					 damage, 0 = unknown */
	bool recovered;		      /* repaired during this step */

	/* Follower: the snapshot being received. */
	struct raft_snap_in snap_in;

	/* Output of the current step. */
	struct raft_out *out;	       /* messages, fixed capacity */
	struct raft_message *out_msgs; /* resolved copy handed to the driver */
	uint32_t n_out;
	uint32_t out_cap;
	raft_index persist_from;    /* lowest index written this step, 0 */
	struct raft_read *read_out; /* reads released this step */
	uint32_t n_read_out;
	uint32_t read_out_cap;
	bool out_chunk;			  /* chunk below to store */
	struct raft_snapshot_chunk chunk; /* data in chunk_buf */
	void *chunk_buf;		  /* owned copy of chunk data */
	uint32_t chunk_buf_cap;
	bool out_install; /* install below */
	struct raft_snapshot_meta install;
	bool install_keep;

	struct raft_stats stats;
};

/* raft_config.c */
int raft__config_slot(const struct raft_config *c, raft_id id);
bool raft__config_is_voter(const struct raft_config *c, raft_id id);
uint32_t raft__config_voters(const struct raft_config *c);

/* raft_membership.c */
int raft__change(struct raft *r, uint8_t op, raft_id id, struct raft_update *u);
void raft__config_refresh(struct raft *r);
int raft__config_at(const struct raft *r, raft_index index,
		    struct raft_config *out);
void raft__config_after_commit(struct raft *r);
bool raft__entries_valid_config(const struct raft_entry *e, uint32_t n);

/* raft_read.c */
int raft__read(struct raft *r, const uint64_t *ctx, uint32_t n, bool lease);
void raft__read_round(struct raft *r);
void raft__reads_release(struct raft *r);
void raft__reads_fail(struct raft *r);
void raft__reads_term_committed(struct raft *r);
bool raft__lease_valid(const struct raft *r);
void raft__clock(struct raft *r, uint64_t time_us);
void raft__note_seq_sent(struct raft *r);
void raft__note_seq_acked(struct raft *r, int slot, uint64_t seq);
void raft__reads_close(struct raft *r);

/* raft_transfer.c */
int raft__transfer(struct raft *r, raft_id to, bool abort);
void raft__transfer_tick(struct raft *r);
void raft__transfer_progress(struct raft *r, int slot);
void raft__recv_timeout_now(struct raft *r, const struct raft_message *m);

/* raft_snapshot.c */
int raft__snapshot_taken(struct raft *r, raft_index index, uint64_t size);
void raft__send_snapshot(struct raft *r, int slot);
void raft__recv_snapshot(struct raft *r, const struct raft_message *m);
void raft__recv_snapshot_resp(struct raft *r, const struct raft_message *m);
void raft__snapshot_maybe_ask(struct raft *r, struct raft_update *u);

/* raft_election.c */
void raft__become_follower(struct raft *r, raft_term term, raft_id leader);
void raft__campaign(struct raft *r, bool transfer);
void raft__prevote(struct raft *r);
bool raft__in_lease(const struct raft *r);
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
void raft__recover_check(struct raft *r);

/* raft_progress.c */
int raft__progress_init(struct raft *r);
void raft__progress_close(struct raft *r);
void raft__progress_reset(struct raft *r);
void raft__progress_remap(struct raft *r, const struct raft_config *old);
void raft__progress_fresh(struct raft *r, struct raft_progress *pr);
uint64_t raft__quorum_value(const struct raft *r, uint64_t self,
			    const uint64_t *by_slot);
bool raft__inflight_full(const struct raft_inflight *in);
void raft__inflight_add(struct raft_inflight *in, raft_index last);
void raft__inflight_free_to(struct raft_inflight *in, raft_index index);
void raft__inflight_reset(struct raft_inflight *in);

/* raft.c */
struct raft_message *raft__out(struct raft *r, uint8_t type, raft_id to);
uint64_t raft__rand(struct raft *r);

#endif /* FABRAFT_RAFT_PRIVATE_H */
