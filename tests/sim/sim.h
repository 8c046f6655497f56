/* sim.h — deterministic cluster simulator with fault injection and checks. */
#ifndef FABRAFT_SIM_H
#define FABRAFT_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "raft.h"

/*
 * Design notes
 * ============
 * N raft cores, an in-memory network and an in-memory disk per node, all
 * driven by one virtual clock (microseconds) and one seed: the same seed
 * replays the same run, event for event.
 *
 * Events sit in one priority queue ordered by (time, sequence):
 *   DELIVER  a message reaches a node (dropped if the link is cut or the
 *            node is down at that moment)
 *   TICK     a node's logical clock ticks (only with auto_tick)
 *   DISK     a node's oldest pending write becomes durable; the driver
 *            then reports PERSISTED to the core
 *   READ     a client read that reached a paused node runs when it resumes
 * sim_step() pops exactly one event.  Faults are injected between steps:
 * by the test (sim_partition, sim_crash, ...) or by sim_run_random().
 *
 * The simulator is the runtime's stand-in and obeys the same contract
 * (raft.h): term and vote are written synchronously before a step's
 * messages leave; entries go to a FIFO of pending writes that complete
 * later; a crash loses what was pending except a random prefix (torn,
 * unsynced writes reaching the platter in order), and a restart rebuilds
 * the core from the durable state alone.
 *
 * After every step the checker verifies (sim_check.c):
 *  1. Election Safety: at most one leader per term.
 *  2. Log Matching: entries with equal (index, term) have equal prefixes
 *     (an incremental prefix hash keyed by (index, term)).
 *  3. Leader Completeness: a new leader of a term above every earlier
 *     leader's holds every entry applied anywhere (a leader of an older
 *     term, elected late after a pause, commits nothing: see 4).
 *  4. State Machine Safety: every node applies the same entry at an index,
 *     in index order without gaps.
 *  5. Commit indices never decrease (per incarnation) and never pass the
 *     node's last index.
 *  6. Acknowledged writes: an entry acknowledged to its client (applied on
 *     the leader that proposed it, in the proposal's term) is the entry
 *     every node applies at that index; sim_converge() then checks every
 *     acknowledged write is applied on every member.
 *  7. Snapshots: the state a snapshot carries (taken, installed, or
 *     restored after a crash) is the state every node had at its index,
 *     and every later apply continues from it.
 *  8. Reads are linearizable: a read served at index p (the state machine
 *     as the serving node has applied it) must have p >= every write and
 *     every read completed before the read was invoked (the toy state
 *     machine is a function of the applied index, so this is the model
 *     check against the history).
 *  9. Membership: consecutive configurations in the applied log differ by
 *     at most one voter, and a configuration entry was proposed only after
 *     the previous one had committed at its leader.
 * 10. No committed entry is lost: the (index, term) of every entry a leader
 *     committed is recorded; a new leader must hold each (beyond its
 *     snapshot), and sim_converge() checks that every node applied it.
 *     Storage faults (sim_damage) make this the check that matters: a
 *     damaged node that votes can elect a leader without the entry.
 *
 * Snapshots in the simulator: the toy state machine (a hash chain over the
 * applied entries) is serialized with padding to several chunks; SNAPSHOT
 * messages get their bytes from the sender's durable snapshot as they
 * leave (raft.h note 6).  An install randomly completes or discards the
 * pending entry writes first (both are allowed by raft.h note 5).
 * Time (sim_time.c): each node has its own monotonic clock, virtual time
 * scaled by a rate drawn within +-clock_drift_ppm and offset at random;
 * every event a core sees carries it (raft.h note 8).  Ticks keep their
 * own +-5% jitter.  sim_pause() stops a node's process: nothing it is sent
 * (deliveries, completed writes, client reads) is handled until it
 * resumes, and then everything that queued is handled, ticks collapsed to
 * at most three as the runtime collapses them (core/node/node.c on_tick).
 *
 * The first violation stops the run; sim_violation() names it and
 * sim_trace_dump() prints the last events.
 */

#define SIM_MAX_NODES 9u

struct sim_options {
	uint32_t n_nodes;      /* 1..SIM_MAX_NODES, ids 1..n */
	uint64_t seed;	       /* everything random derives from it */
	bool auto_tick;	       /* schedule ticks automatically */
	uint32_t tick_us;      /* virtual microseconds per tick */
	uint32_t delay_min_us; /* network delay range (reordering) */
	uint32_t delay_max_us;
	uint32_t drop_ppm;    /* message loss, parts per million */
	uint32_t dup_ppm;     /* message duplication */
	uint32_t disk_min_us; /* write latency range */
	uint32_t disk_max_us;
	uint32_t election_ticks; /* raft_options */
	uint32_t heartbeat_ticks;
	uint32_t max_inflight;
	uint32_t max_batch_entries;
	bool pre_vote; /* raft_options */
	bool check_quorum;
	uint32_t lease_ticks;
	uint32_t snapshot_threshold; /* 0: no snapshots */
	uint32_t snapshot_trailing;
	uint32_t snapshot_chunk_bytes;
	uint32_t n_voters; /* initial voters 1..n_voters (0: all); the other
			      nodes start outside the configuration */
	uint32_t clock_drift_ppm; /* each node's monotonic clock runs at a
				     rate within +-this of virtual time */
	bool recover;		  /* protocol-aware recovery (raft.h note 7): a
				     node whose disk was damaged restarts
				     recovering; false restarts it as if the
				     shortened log were all it ever had (the unsafe
				     rule, kept to show the checker catches it) */
};

/** Defaults: 3 nodes, auto ticks of 10 ms, 0.1–2 ms delays, no loss, disk
 * 50–500 µs, election 10 ticks, heartbeat 1 tick, pre-vote and
 * check-quorum on, no lease, no snapshots, every node a voter, clocks
 * within +-2% of virtual time. */
void sim_options_default(struct sim_options *o, uint32_t n_nodes,
			 uint64_t seed);

struct sim;

int sim_open(struct sim **out, const struct sim_options *o)
    __attribute__((warn_unused_result));
void sim_close(struct sim *s);

/** Process one event.  Returns 0, or FR_CORRUPT once an invariant is
 * violated (then every later call returns it too). */
int sim_step(struct sim *s);
/** Step until no message or write is pending (ticks still queued do not
 * count), at most @max_steps.  Returns like sim_step. */
int sim_step_all(struct sim *s, uint64_t max_steps);
/** Step until virtual time passes @until_us. */
int sim_run_until(struct sim *s, uint64_t until_us);

/* Control. */
/** Cut every link between the @n ids in @group and the other nodes. */
void sim_partition(struct sim *s, const raft_id *group, uint32_t n);
/** Cut (or restore) the link between @a and @b, both directions. */
void sim_link(struct sim *s, raft_id a, raft_id b, bool up);
/** Cut (or restore) only the direction @from -> @to. */
void sim_link_dir(struct sim *s, raft_id from, raft_id to, bool up);
void sim_heal(struct sim *s);
void sim_crash(struct sim *s, raft_id id);
/** Crash @id losing every write not yet durable (no torn prefix). */
void sim_power_loss(struct sim *s, raft_id id);
int sim_restart(struct sim *s, raft_id id) __attribute__((warn_unused_result));
/** Replace node @id's durable state with @term and a log whose entry terms
 * are @terms[0..n) (payloads derived from index and term), then restart
 * it.  For scenario set-up (Figure 7, Figure 8). */
int sim_setup_log(struct sim *s, raft_id id, raft_term term,
		  const raft_term *terms, uint32_t n)
    __attribute__((warn_unused_result));
/** Storage fault on the durable log of node @id, which must be down:
 * every entry from index @from on is damaged (a bit flip in a flushed
 * record, a flushed write lost, or one written at the wrong place), which
 * the storage layer detects and truncates (docs/storage.md); the node's
 * metadata keeps the last index it had durably, so it restarts recovering
 * (with opt.recover).  @from below the log's first stored entry is raised
 * to it.  Returns 0, FR_INVALID (node up, or nothing stored from @from). */
int sim_damage(struct sim *s, raft_id id, raft_index from)
    __attribute__((warn_unused_result));
/** A lost write of node @id's last batches (which must be down): every
 * entry from @from on that it made durable after it last saved its term or
 * vote reads back as zeros, a clean end of the log (docs/storage.md "What
 * is detected and what is not").  The wal's tail slot still claims the lost
 * last entry, so the node restarts recovering with that index and term
 * (docs/storage.md "Closing the gap"), unless @slot_lost: the slot was lost
 * too (a second, independent lost write) and nothing records the loss.
 * Returns 0, FR_INVALID (node up, or nothing durable past the meta durable
 * point from @from). */
int sim_lose_tail(struct sim *s, raft_id id, raft_index from, bool slot_lost)
    __attribute__((warn_unused_result));
/** Power loss at node @id during a flush: every write not yet durable is
 * lost, but the tail slot of its last batch landed, so the node restarts
 * recovering with a claim its log never held (a false positive). */
void sim_power_cut(struct sim *s, raft_id id);
/** sim_power_cut on every live node at once (a whole-cluster power loss). */
void sim_power_cut_all(struct sim *s);
/** Restarts recovering from a slot whose batch never landed. */
uint64_t sim_slot_claims(const struct sim *s);
/** sim_power_cut_all calls; @full (may be NULL) receives how many left
 * every node recovering. */
uint64_t sim_power_cuts(const struct sim *s, uint64_t *full);
/** Nodes whose damaged log is not repaired yet (down or recovering). */
uint32_t sim_damaged(const struct sim *s);
/** Tick one node now (manual-tick tests). */
int sim_tick(struct sim *s, raft_id id);
/** Make @id start an election now. */
int sim_campaign(struct sim *s, raft_id id);
/** Propose @len bytes at node @id; the entry's index and term are returned
 * when @id is the leader.  Returns 0, FR_NOTLEADER or FR_NOMEM. */
int sim_propose(struct sim *s, raft_id id, const void *buf, uint32_t len,
		raft_index *index, raft_term *term);
/** ReadIndex (or lease, @lease) read at @id; @ctx receives its id.
 * Returns 0, FR_NOTLEADER, FR_BUSY or FR_INVALID; the outcome is checked
 * (invariant 8) when the core releases it. */
int sim_read(struct sim *s, raft_id id, bool lease, uint64_t *ctx);
/** Membership change at @id (enum raft_change_op on @target).  Returns the
 * core's answer (0, FR_NOTLEADER, FR_BUSY, FR_AGAIN, FR_EXISTS, ...). */
int sim_change(struct sim *s, raft_id id, uint8_t op, raft_id target,
	       raft_index *index);
/** Leadership transfer at @id to @to (0: most caught up), or abort. */
int sim_transfer(struct sim *s, raft_id id, raft_id to, bool abort);
/** Stop the process of @id for @us of virtual time (SIGSTOP, swap, a VM
 * pause): what reaches it waits until it resumes (sim.h notes). */
void sim_pause(struct sim *s, raft_id id, uint64_t us);
/** Whether @id is up and paused now. */
bool sim_is_paused(const struct sim *s, raft_id id);
/** Node @id's monotonic clock now (what its events carry). */
uint64_t sim_node_clock(const struct sim *s, raft_id id);
/** Feed @id a message as if from the network (bad-input tests). */
int sim_inject(struct sim *s, const struct raft_message *m);
/** Make every pending write of @id durable now (tests). */
int sim_flush_disk(struct sim *s, raft_id id);

/* Inspection. */
struct raft *sim_raft(struct sim *s, raft_id id); /* NULL when down */
bool sim_is_up(const struct sim *s, raft_id id);
/** The leader with the highest term among live nodes, 0 if none. */
raft_id sim_leader(const struct sim *s);
uint64_t sim_now(const struct sim *s);
uint64_t sim_deliveries(const struct sim *s);
uint64_t sim_steps(const struct sim *s);
uint64_t sim_acked(const struct sim *s);      /* acknowledged writes */
uint64_t sim_reads_done(const struct sim *s); /* reads served, checked */
uint64_t sim_installs(const struct sim *s);   /* snapshots installed */
uint64_t sim_snapshots(const struct sim *s);  /* snapshots taken */
uint64_t sim_changes(const struct sim *s);    /* config changes applied */
uint64_t sim_pauses(const struct sim *s);     /* process pauses */
raft_index sim_applied(const struct sim *s, raft_id id);
const char *sim_violation(const struct sim *s); /* NULL when none */
void sim_trace_dump(const struct sim *s, FILE *f, unsigned last);
/** One line per node: role, term, commit, applied, persisted, last. */
void sim_status_dump(const struct sim *s, FILE *f);

/* Randomized runs. */
struct sim_fault_rates {
	uint32_t propose_ppm;	      /* per step: propose at the leader */
	uint32_t partition_ppm;	      /* per step: random partition */
	uint32_t heal_ppm;	      /* per step: heal */
	uint32_t crash_ppm;	      /* per step: crash a random live node */
	uint32_t restart_ppm;	      /* per step: restart a random dead node */
	uint32_t crash_on_commit_ppm; /* a leader crashes right after its
					 commit index advances (the
					 Figure 8 window) */
	uint32_t read_ppm;	      /* per step: a read at a leader */
	uint32_t change_ppm;	      /* per step: a membership change */
	uint32_t transfer_ppm;	      /* per step: a leadership transfer */
	uint32_t pause_ppm;	      /* per step: pause a node (the leader
					 half the time) for up to four
					 election timeouts */
	uint32_t damage_ppm;	      /* per restart: the node's durable log
					 is damaged first (sim_damage), when
					 that leaves a majority undamaged */
	uint32_t silent_damage_ppm;   /* per restart: the node's last
					 batches are lost (sim_lose_tail),
					 its tail slot kept */
	uint32_t slot_loss_ppm;	      /* per such loss: the slot is lost
					 too (undetected, no minority
					 bound) */
	uint32_t slot_ahead_ppm;      /* per crash with a batch in flight:
					 its slot landed, the batch did
					 not (a false positive) */
	uint32_t power_cut_ppm;	      /* per step: every node loses power
					 mid-flush (sim_power_cut_all) */
};

void sim_fault_rates_default(struct sim_fault_rates *f);

/** Run @steps steps with random faults and proposals.  Returns 0 or
 * FR_CORRUPT. */
int sim_run_random(struct sim *s, const struct sim_fault_rates *f,
		   uint64_t steps);
/** Heal, restart every node, stop faults and run (at most @max_us of
 * virtual time) until every node has applied every acknowledged write.
 * Returns 0, or FR_CORRUPT with the violation set (also when the cluster
 * fails to converge). */
int sim_converge(struct sim *s, uint64_t max_us);

#endif /* FABRAFT_SIM_H */
