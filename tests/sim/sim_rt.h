/* sim_rt.h — runtime mode of the deterministic simulator: N real struct
 * node runtimes (core/node) over simulated disk, network, clocks and
 * clients, one seed, virtual time (sim_rt.c, sim_rt_io.c, sim_rt_check.c).
 */
#ifndef FABRAFT_SIM_RT_H
#define FABRAFT_SIM_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node_driven.h"
#include "wal.h"

#define SIM_RT_NODES_MAX 7u
#define SIM_RT_CLIENTS	 8u
#define SIM_RT_KEYS	 3u

struct sim_rt_options {
	uint64_t seed;		   /* the one seed */
	uint32_t n_nodes;	   /* 3..SIM_RT_NODES_MAX */
	int read_mode;		   /* enum node_read_mode */
	uint64_t duration_us;	   /* simulated time to run */
	uint32_t drop_ppm;	   /* messages dropped */
	uint32_t dup_ppm;	   /* messages duplicated */
	uint32_t delay_max_us;	   /* network delay 50 us .. this (reorders) */
	uint32_t disk_max_us;	   /* write latency 20 us .. this */
	bool faults;		   /* crashes, partitions, pauses, clock faults,
				      stalled fsyncs */
	uint32_t pause_ppm;	   /* per tick: a node pauses */
	uint32_t kvc_ppm;	   /* client ops that are KVC.* commands */
	uint32_t txn_ppm;	   /* client ops that are a TXN of two SETs */
	bool verbose;		   /* print the fault schedule */
	bool forward;		   /* followers forward to the leader */
	uint32_t snapshot_entries; /* --snapshot-entries (0: 300) */
	bool mutate_fwd_unsent;	   /* node__fwd_mutate_unsent (must fail) */
	uint32_t damage_ppm;	   /* per restart: the durable log is damaged
				      (sim_rt_damage.c) */
	uint32_t silent_damage_ppm; /* per restart: the last batches are
				       lost, the tail slot kept (at most a
				       minority at once) */
	uint32_t slot_loss_ppm;	    /* per such loss: the slot is lost too,
				       undetected (must fail) */
	uint32_t slot_ahead_ppm;    /* per crash with a batch in flight: its
				       slot landed, the batch did not */
	uint32_t power_cut_ppm;	    /* per fault event: every node loses
				       power once all are flushing */
	bool damage_unsafe;	/* damaged nodes forget it (no recovering state:
				   must fail) */
	bool mutate_tick_lease; /* node__mutate_tick_lease (must fail) */
	/* Test-only mutation: after 1 s, the first SET entry of every
	 * AppendEntries delivered to this node (0 = none) has its value
	 * changed, so that node applies corrupted entries (the State Machine
	 * Safety check must catch it). */
	uint32_t corrupt_node;
	bool full_only; /* skip the necessary-condition pre-pass (to see
			   what the full check alone catches) */
};

void sim_rt_options_default(struct sim_rt_options *o, uint64_t seed);

/* What one run did. */
struct sim_rt_result {
	uint64_t deliveries;	 /* messages handed to a node */
	uint64_t events;	 /* events handled */
	uint64_t sim_us;	 /* simulated time */
	uint64_t ops_ok;	 /* client operations with a definite answer */
	uint64_t reads_ok;	 /* of which reads */
	uint64_t crashes;	 /* node crashes */
	uint64_t pauses;	 /* process pauses */
	uint64_t txns_ok;	 /* TXNs acknowledged */
	uint64_t fwd_streams;	 /* forwarding streams opened */
	uint64_t fwd_resets;	 /* reset while in use */
	uint64_t fwd_eofs;	 /* closed by the leader */
	uint64_t forwarded;	 /* requests forwarded by followers */
	uint64_t fwd_unknown;	 /* answered "outcome unknown" */
	uint64_t fwd_unexecuted; /* answered "not executed" */
	uint64_t snapshots;	 /* snapshots taken (all nodes) */
	uint64_t snapshots_installed; /* installed from a leader */
	uint64_t snapshot_loads;      /* restarts that loaded a snapshot */
	uint64_t damages;	      /* restarts with a damaged log */
	uint64_t repairs;	      /* recovering states cleared */
	uint64_t silent_damages;      /* tails lost (slot kept or not) */
	uint64_t slot_claims;	      /* restarts recovering from a slot
					 whose batch never landed */
	uint64_t power_cuts;	      /* whole-cluster power cuts */
	uint64_t full_cuts;	      /* ... that left every node
					 recovering */
	uint64_t held;	  /* client requests that reached a paused node and were
			     handled after it resumed (their history keeps the
			     time they were sent) */
	uint32_t lin_ops; /* register operations in the full check */
	uint32_t lin_unknown; /* of which with an unknown outcome */
	uint64_t lin_steps;   /* its search steps */
	double lin_cpu_s;     /* its CPU time */
	uint64_t violations;  /* 0 = passed */
	char why[512];	      /* the first violation */
};

/* Run one seed; 0 when every check passed. */
int sim_rt_run(const struct sim_rt_options *o, struct sim_rt_result *res);

/* ---- private to the sim_rt*.c files ---- */

/* A stored or pending entry with its own copy of the payload. */
struct srt_entry {
	struct raft_entry e; /* e.buf points into data */
	unsigned char *data; /* owned */
};

struct srt_log {
	struct srt_entry *v; /* owned array */
	uint32_t n;
	uint32_t cap;
};

/* A queued write: entries and when the disk says they are durable. */
struct srt_write {
	struct srt_log entries;
	uint64_t done_us;
};

struct srt_snap {
	struct wal_snap_meta m;
	unsigned char *data; /* owned */
	uint64_t len;
	uint64_t cap;
	uint64_t limit; /* writer: bytes_max, 0 = none */
	uint64_t pos;	/* reader: bytes read */
};

struct sim_rt;

struct srt_node {
	struct sim_rt *s; /* the simulation */
	raft_id id;
	struct node *n;	       /* NULL while crashed */
	uint64_t paused_until; /* handles nothing before this */
	uint64_t next_tick;    /* its next timer expiry */
	uintptr_t gen;	       /* incarnation: stale ticks are dropped */
	/* Clocks: mono = boot_mono + (now - boot_us) * rate. */
	uint64_t mono_base_ns;
	uint64_t mono_at_us;
	double rate;		/* 1 +- a few per mille */
	int64_t wall_offset_ms; /* wall = 1.7e12 ms + sim time + offset */
	uint64_t ct_seen_ms;	/* cluster time last seen applied here */
	/* Durable state. */
	raft_term term;
	raft_id vote;
	struct srt_log log;
	struct srt_snap *snap; /* newest committed snapshot, owned */
	/* Writes submitted, in order, not yet durable. */
	struct srt_write *wq;
	uint32_t wq_n;
	uint32_t wq_cap;
	uint64_t disk_stall_until; /* writes complete no earlier */
	uint32_t fwd_stream;	   /* its forwarding stream + 1, 0 = none */
	bool closing;		   /* crashing: its last replies are lost */
	raft_index recover_index;  /* durable "recovering up to", 0 = none */
	raft_term recover_term;	   /* its term, 0 = unknown */
	raft_index meta_index;	   /* last durable index at the last term or
				      vote save (sim_damage_unseen_from) */
	char errmsg[128];
};

/* realloc() that aborts when out of memory (sim_rt_io.c). */
void *srt_xrealloc(void *p, size_t bytes);
uint64_t srt_rand(struct sim_rt *s);
uint64_t srt_range(struct sim_rt *s, uint64_t lo, uint64_t hi);
uint64_t srt_now(const struct sim_rt *s);
void srt_send(struct sim_rt *s, const struct raft_message *m);
void srt_reply(struct srt_node *sn, const struct resp_req *req, const void *buf,
	       size_t len);
bool srt_chance(struct sim_rt *s, uint32_t ppm);
void srt_violate(struct sim_rt *s, const char *why);
void srt_check_node(struct sim_rt *s, struct srt_node *sn);
struct sim_rt_result *srt_result(struct sim_rt *s);
const struct sim_rt_options *srt_options(const struct sim_rt *s);
struct srt_node *srt_node_of(struct sim_rt *s, raft_id id);
bool srt_is_cut(const struct sim_rt *s, raft_id id);

/* sim_rt_fwd.c: forwarding streams over the simulated network. */
struct srt_fwdnet;
struct srt_hist;
struct srt_fwdnet *srt_fwdnet_of(struct sim_rt *s);
/* Post an EV_FWD event (@ev owned by the queue) for node @node. */
void srt_fwd_push(struct sim_rt *s, uint64_t t, uint8_t node, void *ev);
struct srt_fwdnet *srt_fwd_new(void);
void srt_fwd_free(struct srt_fwdnet *fn);
/* The io->fwd_* callbacks of node @sn. */
int srt_fwd_open(struct srt_node *sn, raft_id leader);
ptrdiff_t srt_fwd_write(struct srt_node *sn, const void *buf, size_t len);
void srt_fwd_kick(struct srt_node *sn);
void srt_fwd_close(struct srt_node *sn);
/* A reply of node @sn to a forwarded request: true when it was one. */
bool srt_fwd_reply(struct srt_node *sn, const struct resp_req *req,
		   const void *buf, size_t len);
/* An EV_FWD event for node @node (frees @ev). */
void srt_fwd_event(struct sim_rt *s, raft_id node, void *ev);
/* Node @id crashed: streams to it are reset. */
void srt_fwd_node_down(struct sim_rt *s, raft_id id);
/* 0, or 1 with @why: a read returned the value of a write answered
 * "not executed" (values are 1..@values). */
int srt_fwd_check(const struct srt_hist *h, uint32_t values, char *why,
		  size_t why_len);
/* sim_rt_damage.c: before node @sn restarts, maybe damage its log. */
void srt_maybe_damage(struct sim_rt *s, struct srt_node *sn);
/* Node @sn crashes (its writes in flight not yet dropped): with
 * @power_cut none of them lands but the tail slot of the last one does,
 * else a random prefix lands and, with --slot-ahead, maybe that slot. */
void srt_crash_disk(struct sim_rt *s, struct srt_node *sn, bool power_cut);
void srt_disk_event(struct sim_rt *s, struct srt_node *sn, uint64_t at);

extern const struct node_io srt_io;
/* Make the writes due by now durable; true if any were. */
bool srt_disk_complete(struct srt_node *sn, uint64_t now);
/* Crash: queued writes are lost except a random prefix. */
void srt_disk_crash(struct srt_node *sn, uint32_t keep);
void srt_log_free(struct srt_log *l);
void srt_node_free(struct srt_node *sn);

/* sim_rt_check.c: the client history and its check. */
struct srt_op {
	uint8_t key;
	bool write;
	bool acked; /* definite answer */
	/* Indeterminate ("-TRYAGAIN ... outcome unknown": a forwarded
	 * command whose connection broke after it was sent): it may take
	 * effect at any time after invoke_us, or never; complete_us stays
	 * UINT64_MAX.  Any other error leaves an op open the same way. */
	bool unknown;
	/* "-TRYAGAIN ... not executed": it must never take effect (a read
	 * of its value is a violation, sim_rt_fwd.c). */
	bool unexecuted;
	uint32_t value; /* written, or read (0 = nil) */
	uint64_t invoke_us;
	uint64_t complete_us; /* UINT64_MAX: no definite answer */
};
struct srt_hist {
	struct srt_op *v;
	uint32_t n;
	uint32_t cap;
};
uint32_t srt_hist_add(struct srt_hist *h, const struct srt_op *op);
/* Log Matching over the durable logs of nodes[1..n]: 0, or 1 with @why. */
int srt_check_logs(const struct srt_node *nodes, uint32_t n, char *why,
		   size_t why_len);
/* The necessary conditions alone (a fast pre-pass): 0, or 1 with @why. */
int srt_hist_necessary(const struct srt_hist *h, char *why, size_t why_len);
/* What the full check cost. */
struct srt_lin_stats {
	uint32_t ops;	  /* register operations checked */
	uint32_t unknown; /* of which with an unknown outcome */
	uint64_t steps;	  /* search steps */
	double cpu_s;	  /* CPU time of the check */
};
/* Search steps allowed per key; more makes the verdict "undecided",
 * which fails the run like a violation. */
#define SRT_LIN_BUDGET 20000000u
/* The full linearizability check alone: 0, or 1 with @why (a violation,
 * or "undecided"); @st may be NULL. */
int srt_hist_full(const struct srt_hist *h, struct srt_lin_stats *st, char *why,
		  size_t why_len);
/* Both: 0, or 1 with @why describing the first anomaly. */
int srt_hist_check(const struct srt_hist *h, char *why, size_t why_len);

/* sim_rt_sms.c: State Machine Safety across the nodes. */
struct srt_applied;
struct srt_sms {
	uint64_t seed;	       /* for the messages */
	struct srt_applied *v; /* by index: the first node's entry */
	uint64_t cap;
	raft_index last[SIM_RT_NODES_MAX + 1]; /* last applied, by node */
	raft_index *value_index; /* by SET value: where it was applied */
	uint32_t value_cap;
};
/* The state digest is compared after every SRT_DIGEST_EVERY-th index. */
#define SRT_DIGEST_EVERY 16u
/* Node @sn applied @e, the state digest after it in @digest (NULL: not
 * sampled): 0, or 1 with @why naming the seed, nodes and index. */
int srt_sms_applied(struct srt_sms *m, const struct srt_node *sn,
		    const struct raft_entry *e, const uint64_t *digest,
		    char *why, size_t why_len);
/* @node restarts: it applies again from its snapshot. */
void srt_sms_restart(struct srt_sms *m, raft_id node);
/* At the end: acknowledged writes applied, equal digests at equal
 * applied indices among the running nodes[1..n]. */
int srt_sms_final(const struct srt_sms *m, const struct srt_hist *h,
		  const struct srt_node *nodes, uint32_t n, char *why,
		  size_t why_len);
void srt_sms_free(struct srt_sms *m);
/* The mutation of corrupt_node on @m (an owned copy): true if done. */
bool srt_corrupt(struct raft_message *m);
/* sim_rt.c: the io table's applied callback lands here. */
void srt_applied(struct sim_rt *s, struct srt_node *sn,
		 const struct raft_entry *e);

#endif /* FABRAFT_SIM_RT_H */
