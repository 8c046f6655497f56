/* sim_private.h — the simulator's internal state. */
#ifndef FABRAFT_SIM_PRIVATE_H
#define FABRAFT_SIM_PRIVATE_H

#include "sim.h"

enum sim_event_type {
	SIM_DELIVER = 1,
	SIM_TICK,
	SIM_DISK,
};

struct sim_event {
	uint64_t time;	      /* virtual µs */
	uint64_t seq;	      /* tie-break: insertion order */
	uint8_t type;	      /* enum sim_event_type */
	raft_id node;	      /* target node */
	uint32_t incarnation; /* TICK/DISK: stale after a crash */
	void *ptr;	      /* DELIVER: struct sim_msg, owned */
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
	raft_id *leader_of_term; /* indexed by term */
	uint64_t leader_of_term_cap;
	raft_term *canon_term; /* entry applied at each index */
	uint64_t *canon_hash;
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
void sim__trace(struct sim *s, uint8_t kind, raft_id node, raft_id from,
		uint8_t msg_type, raft_term term, uint64_t a, uint64_t b);
uint64_t sim__hash_bytes(const void *buf, uint32_t len);
void *sim__grow(void *ptr, uint64_t *cap, uint64_t need, size_t size);

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

/* sim_check.c */
void sim__check_append(struct sim *s, struct sim_node *n,
		       const struct raft_entry *e, uint32_t count);
void sim__check_restart(struct sim *s, struct sim_node *n);
void sim__check_leader(struct sim *s, struct sim_node *n);
void sim__check_commit(struct sim *s, struct sim_node *n, raft_index commit);
void sim__check_apply(struct sim *s, struct sim_node *n,
		      const struct raft_entry *e);
void sim__check_propose(struct sim *s, raft_id leader, raft_index index,
			raft_term term, uint64_t hash);
void sim__check_close(struct sim *s);
uint64_t sim__entry_hash(raft_term term, uint8_t type, const void *buf,
			 uint32_t len);

#endif /* FABRAFT_SIM_PRIVATE_H */
