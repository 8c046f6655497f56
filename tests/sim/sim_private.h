/* sim_private.h — the simulator's internal state. */
#ifndef FABRAFT_SIM_PRIVATE_H
#define FABRAFT_SIM_PRIVATE_H

#include "sim.h"
#include "sim_damage.h"

enum sim_event_type {
	SIM_DELIVER = 1,
	SIM_TICK,
	SIM_DISK,
	SIM_READ,
};

struct sim_event {
	uint64_t time;	      /* virtual µs */
	uint64_t seq;	      /* tie-break: insertion order */
	uint8_t type;	      /* enum sim_event_type */
	raft_id node;	      /* target node */
	uint32_t incarnation; /* TICK/DISK: stale after a crash */
	void *ptr;	      /* DELIVER: struct sim_msg, owned */
	uint64_t arg;	      /* READ: ctx << 1 | lease */
};

/* A message in flight: one allocation holding the header, the entries and
 * their payloads. */
struct sim_msg {
	struct raft_message m;
	struct raft_entry entries[]; /* then payload bytes */
};

/* A log owned by the simulator (durable disk, pending write). */
struct sim_log {
	struct raft_entry *e; /* payloads owned */
	uint64_t n;
	uint64_t cap;
};

struct sim_write {
	struct sim_write *next;
	struct sim_log entries; /* replaces stored >= entries.e[0].index */
};

/* A durable snapshot of the toy state machine. */
struct sim_snap {
	struct raft_snapshot_meta meta; /* index 0: none */
	unsigned char *data;		/* meta.size bytes, owned */
};

struct sim_node {
	raft_id id;
	bool up;
	uint32_t incarnation; /* bumped on crash */
	struct raft *raft;    /* NULL while down */
	/* Durable state. */
	raft_term term;
	raft_id vote;
	struct sim_log disk;
	struct sim_write *pending; /* FIFO of writes not yet durable */
	struct sim_write *pending_tail;
	uint64_t disk_busy_until; /* writes complete in order */
	struct sim_snap snap;	  /* durable snapshot */
	unsigned char *in_data;	  /* snapshot being received */
	uint64_t in_cap;
	raft_index want_snap; /* SNAPSHOT_WANTED at this index, 0 = none */
	/* Time (sim_time.c). */
	int64_t clock_rate_ppm;	  /* clock rate error against virtual time */
	uint64_t clock_base_us;	  /* clock value at virtual time 0 */
	uint64_t paused_until;	  /* process stopped before this time */
	uint64_t tick_backlog;	  /* ticks missed while paused */
	raft_index recover_index; /* durable "recovering up to" (the wal's
				     meta file), 0 = none */
	raft_term recover_term;	  /* term of recover_index, 0 = unknown
				     (raft_restore.recover_index_term) */
	raft_index meta_index;	  /* last durable index when term or vote
				     was last saved (the wal's meta durable
				     point; sim_lose_tail) */
	/* Checker mirrors. */
	uint64_t *mirror_hash; /* prefix hash of the core's log */
	raft_term *mirror_term;
	uint64_t mirror_n;
	uint64_t mirror_cap;
	raft_index applied;
	raft_index commit;
	uint64_t sm_hash; /* the toy state machine */
};

struct sim_trace {
	uint64_t time;
	uint8_t kind; /* event type, or 10+ for faults */
	uint8_t msg_type;
	raft_id node;
	raft_id from;
	raft_term term;
	uint64_t a;
	uint64_t b;
};

#define SIM_TRACE_LEN 256u

struct sim_ack {
	raft_index index;
	raft_term term;
	uint64_t hash;
};

struct sim_proposal {
	raft_index index;
	raft_term term;
	raft_id leader;
	uint64_t hash;
};

struct sim_read_inv {
	uint64_t ctx;
	raft_id node;
	raft_index min_point; /* completed operations at invocation */
};

struct sim_config_prop {
	raft_index index;
	raft_term term;
	raft_index commit_at; /* the leader's commit index then */
};

/* One slot of sim.leader_of_term (term 0: empty). */
struct sim_term_leader {
	raft_term term;
	raft_id leader;
};

struct sim {
	struct sim_options opt;
	uint64_t rng;
	uint64_t now;
	uint64_t seq;
	uint64_t steps;
	uint64_t deliveries;
	struct sim_node nodes[SIM_MAX_NODES + 1]; /* by id, [0] unused */
	bool link_down[SIM_MAX_NODES + 1][SIM_MAX_NODES + 1];
	/* Event queue: binary heap. */
	struct sim_event *q;
	uint64_t q_n;
	uint64_t q_cap;
	uint64_t q_pending_io; /* DELIVER + DISK events queued */
	/* Checker state. */
	/* Election Safety: the leader seen for each term, an open-addressing
	 * map (terms may be anywhere up to RAFT_TERM_MAX, so not an array
	 * indexed by term). */
	struct sim_term_leader *leader_of_term; /* [leader_of_term_cap] */
	uint64_t leader_of_term_cap;		/* 0 or a power of two */
	uint64_t leader_of_term_n;		/* terms recorded */
	raft_term max_leader_term; /* highest term a leader was seen in */
	raft_term *canon_term;	   /* entry applied at each index */
	raft_term *commit_term;	   /* term of the entry committed at each index
				      (invariant 10) */
	uint64_t commit_n;
	uint64_t commit_cap;
	uint64_t damages;	 /* sim_damage calls */
	uint64_t silent_damages; /* sim_lose_tail calls that lost entries */
	uint64_t slot_claims;	 /* restarts recovering from a tail slot
				    claiming a batch that never landed */
	uint64_t power_cuts;	 /* sim_power_cut_all calls */
	uint64_t full_cuts;	 /* ... that left every node claiming */
	uint32_t slot_ahead_ppm; /* from the running fault rates */
	bool power_cut_armed;	 /* a power cut strikes once every node is
				    flushing */
	uint64_t *canon_hash;
	uint64_t *canon_sm; /* state machine after applying the index */
	uint64_t canon_n;
	uint64_t canon_cap;
	struct sim_lm_slot *lm; /* Log Matching table */
	uint64_t lm_n;
	uint64_t lm_cap;
	struct sim_proposal *props; /* proposals awaiting apply */
	uint64_t props_n;
	uint64_t props_cap;
	struct sim_ack *acks;
	uint64_t acks_n;
	uint64_t acks_cap;
	uint64_t proposal_id;
	struct sim_read_inv *reads; /* reads awaiting release */
	uint64_t reads_n;
	uint64_t reads_cap;
	uint64_t read_ctx;
	raft_index max_done_point; /* highest completed write or read */
	uint64_t reads_done;
	struct sim_config_prop *cprops;
	uint64_t cprops_n;
	uint64_t cprops_cap;
	struct raft_config canon_config; /* last applied configuration */
	raft_index canon_config_index;
	uint64_t changes_applied;
	uint64_t installs;
	uint64_t snapshots;
	uint64_t pauses;
	uint32_t crash_on_commit_ppm; /* from the running fault rates */
	raft_id crash_next;	      /* crash before the next step */
	raft_id crash_also;	      /* correlated crash: a second node too */
	char violation[512];
	bool violated;
	struct sim_trace trace[SIM_TRACE_LEN];
	uint64_t trace_n;
};

/* sim.c */
uint64_t sim__rand(struct sim *s);
uint64_t sim__range(struct sim *s, uint64_t lo, uint64_t hi);
void sim__violate(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Trace kinds besides the event types. */
enum {
	TR_CRASH = 10,
	TR_RESTART,
	TR_PARTITION,
	TR_HEAL,
	TR_PROPOSE,
	TR_ROLE,
	TR_PAUSE,
	TR_DAMAGE,
	TR_SLOT
};

void sim__trace(struct sim *s, uint8_t kind, raft_id node, raft_id from,
		uint8_t msg_type, raft_term term, uint64_t a, uint64_t b);
uint64_t sim__hash_bytes(const void *buf, uint32_t len);
void *sim__grow(void *ptr, uint64_t *cap, uint64_t need, size_t size);

/* sim_time.c */
void sim__clock_init(struct sim *s, struct sim_node *n);
uint64_t sim__clock(const struct sim *s, const struct sim_node *n);
bool sim__hold(struct sim *s, const struct sim_event *ev);
uint32_t sim__ticks_due(struct sim_node *n);
void sim__read_event(struct sim *s, const struct sim_event *ev);

/* sim.c */
int sim__read_step(struct sim *s, struct sim_node *n, uint64_t ctx, bool lease);

/* sim_queue.c */
void sim__push(struct sim *s, struct sim_event ev);
bool sim__pop(struct sim *s, struct sim_event *ev);
void sim__queue_close(struct sim *s);

/* sim_disk.c */
void sim__log_free(struct sim_log *l);
void sim__log_copy_in(struct sim_log *l, const struct raft_entry *e,
		      uint64_t n);
void sim__log_apply_write(struct sim_log *disk, const struct sim_log *w);
void sim__disk_write(struct sim *s, struct sim_node *n,
		     const struct raft_entry *e, uint32_t count);
void sim__disk_complete(struct sim *s, struct sim_node *n);
void sim__disk_crash(struct sim *s, struct sim_node *n);
void sim__disk_free(struct sim_node *n);
void sim__disk_free_pending(struct sim_node *n);

/* sim_slot.c: the wal's tail slot. */
/* The slot of @n's last batch in flight (none when nothing is pending). */
struct sim_claim sim__slot_in_flight(const struct sim_node *n);
/* The slot @c landed although its batch may not have: @n restarts
 * recovering when its durable log ends before the claim. */
void sim__slot_landed(struct sim *s, struct sim_node *n, struct sim_claim c);
/* sim__disk_crash() and, with slot_ahead_ppm, what the slot then claims. */
void sim__slot_crash(struct sim *s, struct sim_node *n);
void sim__disk_truncate(struct sim_node *n, raft_index from);

/* sim_check.c */
void sim__check_append(struct sim *s, struct sim_node *n,
		       const struct raft_entry *e, uint32_t count);
void sim__check_restart(struct sim *s, struct sim_node *n);
void sim__check_leader(struct sim *s, struct sim_node *n);
void sim__check_commit(struct sim *s, struct sim_node *n, raft_index commit);
void sim__check_committed_applied(struct sim *s);
void sim__check_apply(struct sim *s, struct sim_node *n,
		      const struct raft_entry *e);
void sim__check_propose(struct sim *s, raft_id leader, raft_index index,
			raft_term term, uint64_t hash);
void sim__check_close(struct sim *s);
void sim__check_restart_snap(struct sim *s, struct sim_node *n);
void sim__check_install(struct sim *s, struct sim_node *n,
			const struct raft_snapshot_meta *m, uint64_t sm,
			bool keep);
void sim__check_snapshot_state(struct sim *s, struct sim_node *n,
			       raft_index index, uint64_t sm);
void sim__check_reads(struct sim *s, struct sim_node *n,
		      const struct raft_read *r, uint32_t count);
void sim__initial_config(const struct sim *s, struct raft_config *c);

/* sim_snap.c */
void sim__snap_take(struct sim *s, struct sim_node *n, raft_index index);
void sim__snap_chunk(struct sim *s, struct sim_node *n,
		     const struct raft_snapshot_chunk *c);
void sim__snap_install(struct sim *s, struct sim_node *n,
		       const struct raft_update *u);
bool sim__snap_fill(struct sim *s, raft_id from, struct raft_snapshot_chunk *c,
		    unsigned char *dst);
bool sim__snap_parse(const unsigned char *data, uint64_t size, raft_index index,
		     uint64_t *sm);
void sim__snap_free(struct sim_node *n);
void sim__disk_compact(struct sim_node *n, raft_index upto);
void sim__disk_settle(struct sim *s, struct sim_node *n);
uint64_t sim__entry_hash(raft_term term, uint8_t type, const void *buf,
			 uint32_t len);

#endif /* FABRAFT_SIM_PRIVATE_H */
