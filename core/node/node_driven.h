/* node_driven.h — a runtime driven by its caller instead of node_run()'s
 * epoll loop: the deterministic simulator's entry points into the daemon's
 * own event handling (private to core/node and tests/sim). */
#ifndef FABRAFT_NODE_DRIVEN_H
#define FABRAFT_NODE_DRIVEN_H

#include "node_io.h"
#include "raft.h"

struct node;
struct node_options;
struct resp_req;
struct resp_arg;
struct wal_snap_meta;

/* What survived on the simulated disk (borrowed for node__driven_open()). */
struct node_durable {
	raft_term term;			  /* persisted term */
	raft_id vote;			  /* persisted vote */
	const struct raft_entry *entries; /* stored log, consecutive */
	uint32_t n_entries;
	raft_index snapshot_index; /* newest snapshot, 0 = none (then read
				      through io->snap_reader_open) */
	raft_term snapshot_term;
	raft_index recover_index;     /* raft.h note 7; 0 = not recovering */
	raft_term recover_index_term; /* its term, 0 = unknown */
};

/**
 * Open a node with no epoll, timerfd, signals, fabric, WAL or RESP server:
 * every I/O goes through @io (borrowed for the node's life) with @ctx, the
 * state is rebuilt from @d as node_open() rebuilds it from the WAL.
 * Followers forward (if @o says so) when @io has the fwd_* callbacks, and
 * answer -MOVED / -TRYAGAIN otherwise.  @o is copied.
 * Returns 0 or an FR_* code with @errmsg set.
 */
int node__driven_open(struct node **out, const struct node_options *o,
		      const struct node_io *io, void *ctx,
		      const struct node_durable *d, char *errmsg)
    __attribute__((warn_unused_result));
void node__driven_close(struct node *n);

/* One event each, then the end of a loop turn (proposals, reads and a
 * wanted snapshot flushed) exactly as node_run() does after its events. */
void node__driven_tick(struct node *n);
void node__driven_receive(struct node *n, const struct raft_message *m);
/* Storage completions: io->log_durable() may answer something new. */
void node__driven_persisted(struct node *n);
/* A client request, through the RESP backend (the same entry point the
 * RESP server calls); @req is copied, the answer comes via io->reply. */
void node__driven_command(struct node *n, const struct resp_req *req,
			  uint32_t argc, const struct resp_arg *argv);
/* The forwarding stream (io->fwd_*): it may take bytes now; reply bytes
 * from the leader (@buf borrowed); the leader closed it; it failed
 * (reset, refused). */
void node__driven_fwd_writable(struct node *n);
void node__driven_fwd_input(struct node *n, const void *buf, size_t len);
void node__driven_fwd_eof(struct node *n);
void node__driven_fwd_broken(struct node *n);
/* Counters since the node opened: snapshots taken and installed,
 * requests forwarded. */
void node__driven_counts(const struct node *n, uint64_t *snapshots,
			 uint64_t *installed, uint64_t *forwarded);
/* Test-only mutation: answer "not executed" also for forwarded requests
 * whose bytes reached the stream (a wrong rule the simulator's checks
 * must catch).  Never set outside tests. */
extern bool node__fwd_mutate_unsent;
/* Test-only mutation: raft events are timed by counting ticks, as the
 * daemon once did, so a pause of the process looks like one tick and
 * does not void the leader's lease (the simulator must catch the stale
 * reads that follow).  Never set outside tests. */
extern bool node__mutate_tick_lease;

/* Non-zero once the node stopped on a fatal error (then its errmsg). */
int node__driven_fatal(const struct node *n, const char **why);
/* Role, leader and term for the checks. */
void node__driven_status(const struct node *n, struct raft_status *st);
/* The state machine's time as applied here (0 = no stamp applied). */
uint64_t node__driven_cluster_ms(const struct node *n);
/* The state machine's digest (kvc_digest()) and the index it reflects. */
uint64_t node__driven_digest(const struct node *n, raft_index *applied);

#endif /* FABRAFT_NODE_DRIVEN_H */
