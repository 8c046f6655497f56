/* node_int.h — private state of the runtime (core/node only). */
#ifndef FABRAFT_NODE_INT_H
#define FABRAFT_NODE_INT_H

#include <stdarg.h>

#include "fab_topo.h"
#include "kvc.h"
#include "node.h"
#include "node_io.h"
#include "node_place.h"
#include "node_stage.h"
#include "resp.h"
#include "resp_client.h"
#include "trace.h"
#include "wal.h"

/* A client waiting for an entry to be applied. */
struct node_pending {
	raft_index index;     /* entry that answers it; 0 = not proposed */
	raft_term term;	      /* term the core gave that entry */
	uint32_t slot;	      /* position in the batch until proposed */
	bool is_read;	      /* answered by kvc_read() of args */
	bool done;	      /* already answered (timed out) */
	struct resp_req req;  /* the client's request handle */
	uint64_t start_ns;    /* when it was proposed (latency) */
	uint64_t parsed_ns;   /* when the request was parsed (stages) */
	uint64_t deadline_ms; /* answer "timed out" after this */
	uint32_t argc;	      /* reads: number of arguments */
	struct kvc_arg *argv; /* reads: owned copy (one allocation) */
};

/* A ReadIndex read waiting at the leader (node_read.c). */
struct node_read {
	struct resp_req req;  /* the client's request handle */
	uint32_t argc;	      /* arguments */
	struct kvc_arg *argv; /* owned copy (one allocation) */
	uint64_t ctx;	      /* id given to the core */
	raft_index min_apply; /* last log index when it was sent */
	raft_index index;     /* read index the core confirmed */
	uint8_t state;	      /* new, sent, confirmed, failed */
	bool done;	      /* already answered (timed out) */
	bool evaluated;	      /* reply computed at state min_apply */
	char *reply;	      /* that reply, owned; NULL: it is in small */
	size_t reply_len;
	char small[32];	      /* a reply this short (a GET's), unallocated */
	uint64_t deadline_ms; /* answer "timed out" after this */
	uint64_t t_ns;	      /* when given to the core (stages) */
};

/* Latency histogram with fixed Prometheus buckets (seconds). */
#define NODE_HIST_BUCKETS 12u
struct node_hist {
	uint64_t counts[NODE_HIST_BUCKETS + 1]; /* last one is +Inf */
	uint64_t n;				/* observations */
	double sum_s;				/* sum of observations */
};

/* Counters for INFO and metrics. */
struct node_counters {
	uint64_t proposals;	      /* entries proposed */
	uint64_t propose_batches;     /* PROPOSE events */
	uint64_t read_markers;	      /* read marker entries */
	uint64_t reads_index;	      /* reads served by ReadIndex/lease */
	uint64_t snapshots;	      /* snapshots taken */
	uint64_t snapshots_installed; /* received from a leader */
	uint64_t applied;	      /* entries applied */
	uint64_t leader_changes;      /* known leader changed */
	uint64_t send_dropped;	      /* fab_send refused (queue, no conn) */
	uint64_t not_committed;	      /* clients told their entry lost */
	uint64_t timeouts;	      /* clients told "timed out" */
	uint64_t redirects;	      /* -MOVED / -TRYAGAIN answers */
	uint64_t forwarded;	      /* requests forwarded to the leader */
	uint64_t hardstate_saves;     /* synchronous term/vote writes */
	uint64_t wal_submits;	      /* wal_submit calls */
	uint64_t http_evicted;	      /* metrics conns closed for a new one */
	uint64_t http_timeouts;	      /* metrics conns over the time limit */
	uint64_t http_refused;	      /* metrics answers other than the page,
					 conns closed with every slot busy */
	uint64_t snapshots_refused;   /* incoming snapshots refused: over
					 --snapshot-bytes-max or free disk */
	uint64_t replies_too_big;     /* reads refused at reply_bytes_max */
	uint64_t reads_held_full;     /* reads refused: held replies full */
	uint64_t intake_holds;	      /* client front held (node_intake.c) */
	uint64_t intake_held_us;      /* time it was held, summed */
	struct node_hist commit;      /* propose -> apply, writes */
	struct node_hist hs_fsync;    /* wal_hardstate_save duration */
	struct node_hist persist;     /* wal_submit -> durable (fsync incl.) */
	struct node_stage_hists stages; /* node_stage.h */
};

/* A request forwarded to the leader, waiting for its reply. */
struct node_fwd_req {
	struct resp_req req; /* the client's handle */
	bool swallow;	     /* our own AUTH: drop the reply */
	uint64_t end_pos;    /* stream offset just past its bytes */
	uint64_t t_ns;	     /* when it was queued */
};

/* The follower's connection to the leader's RESP port (node_fwd.c). */
struct node_fwd {
	bool open;		/* a stream is open (io->fwd_open) */
	int fd;			/* the real table's socket, -1 = none */
	raft_id leader;		/* leader it goes to */
	bool connecting;	/* connect() in progress */
	uint32_t events;	/* epoll events registered */
	struct respc_buf out;	/* encoded requests not yet sent */
	struct respc_buf in;	/* replies not yet relayed */
	struct respc_reader rd; /* finds where each reply in `in` ends */
	struct node_fwd_req *q; /* requests in flight, in order */
	size_t q_head;		/* first waiting */
	size_t q_n;		/* one past the last */
	size_t q_cap;		/* allocated */
	uint64_t queued_total;	/* bytes ever queued on this connection */
	uint64_t sent_total;	/* bytes ever written to the socket */
	uint64_t last_ns;	/* last request queued (idle close) */
	raft_id failed_leader;	/* leader we last failed to reach */
	uint64_t fail_until_ns; /* do not retry it before this */
};

/* epoll tags of the client front and the forwarding socket (node.c has
 * the others). */
#define NODE__TAG_RESP 4u
#define NODE__TAG_FWD  7u

/* The metrics endpoint (node_http.c): limits and one connection. */
#define NODE_HTTP_CONNS_MAX	    16u	  /* open connections */
#define NODE_HTTP_REQUEST_BYTES_MAX 8192u /* request line + headers */
#define NODE_HTTP_TIMEOUT_MS	    2000u /* accept to close, at most */
/* epoll tags NODE__TAG_HTTP + slot are the metrics connections. */
#define NODE__TAG_HTTP 16u

struct node_http_conn {
	int fd;		   /* socket, -1 = free slot */
	uint8_t state;	   /* node_http.c: FREE READ WRITE DRAIN */
	uint64_t start_ns; /* when it was accepted */
	size_t in_len;	   /* request bytes in in[] */
	char *out;	   /* the answer, owned while WRITE */
	size_t out_len;	   /* its bytes */
	size_t out_pos;	   /* bytes sent */
	char in[NODE_HTTP_REQUEST_BYTES_MAX]; /* request head */
};

/* Cluster time anchor (node_clock.c note 2). */
struct node_ctime {
	uint64_t base_ms;      /* cluster time at mono_ms */
	uint64_t mono_ms;      /* node__now_ms() when anchored */
	bool anchored;	       /* base_ms/mono_ms set */
	uint64_t applied_term; /* term of the last entry applied here */
};

struct node {
	struct node_options o;	     /* copy of the caller's options */
	const struct node_io *io;    /* its I/O (node_io.h), not owned */
	void *io_ctx;		     /* passed to every io call */
	struct raft *raft;	     /* consensus core */
	struct wal *wal;	     /* durable log */
	struct fab *fab;	     /* transport; NULL in a one-node cluster */
	struct kvc *kvc;	     /* state machine */
	struct node_ctime ctime;     /* cluster time (node_clock.c) */
	struct resp_server *srv;     /* client front */
	struct node_place place;     /* hwloc placement (node_place.c) */
	int ep;			     /* epoll fd */
	int tfd;		     /* timerfd (tick) */
	int sfd;		     /* signalfd */
	int mfd;		     /* metrics listener, -1 = none */
	struct node_http_conn *http; /* NODE_HTTP_CONNS_MAX slots, owned */
	uint64_t ticks;		     /* ticks so far */
	uint8_t role;		     /* last known role */
	raft_id leader;		     /* last known leader */
	bool term_exhausted; /* the core is at RAFT_TERM_MAX (said once) */
	bool kick_due;	     /* entries queued: log_kick after the sends */
	bool flush_due;	     /* not leading: the loop writes queued entries */
	raft_term term;	     /* last term told to the fabric */
	raft_index reported_index; /* last PERSISTED told to the core */
	raft_term reported_term;   /* its term */
	/* The batch of proposals collected during one loop iteration. */
	struct raft_buf *bufs;	/* bufs[i] points into data[i] */
	struct kvc_reply *data; /* encoded entries, owned */
	uint32_t batch_n;	/* entries in the batch */
	uint32_t batch_cap;	/* allocated slots */
	int32_t marker_slot;	/* slot of this batch's read marker, -1 */
	/* Waiting clients, in index order: a queue in pend[head, n). */
	struct node_pending *pend; /* owned array */
	size_t pend_head;	   /* first live record */
	size_t pend_n;		   /* one past the last */
	size_t pend_cap;	   /* allocated records */
	struct kvc_reply reply;	   /* scratch reply */
	/* ReadIndex reads: a queue in rq[rq_head, rq_n); [rq_unsent, rq_n)
	 * not yet given to the core. */
	struct node_read *rq;
	size_t rq_head;
	size_t rq_n;
	size_t rq_unsent;
	size_t rq_cap;
	size_t rq_eval;	   /* first read not yet evaluated */
	uint64_t rq_bytes; /* bytes of evaluated replies held in rq */
	uint64_t rq_ctx;   /* next ctx */
	/* Snapshots (node_snap.c). */
	void *snap_in; /* one being received (io snapshot writer) */
	raft_index snap_in_index;
	void *snap_rd; /* the newest, read for followers (io reader) */
	raft_index snap_rd_index;
	uint64_t snap_rd_pos; /* bytes read from it */
	char *chunk_buf;      /* one chunk's bytes */
	size_t chunk_cap;
	raft_index snap_wanted;	       /* the core asked, at this index */
	raft_index snap_refused_index; /* last incoming one refused */
	uint64_t snap_refused_log_ns;  /* when that was last logged */
	/* Event-loop pacing (node.c, wait_time()). */
	uint64_t fab_active_ns;	  /* last time messages moved */
	uint32_t busy_polls;	  /* zero-timeout polls in a row */
	bool intake_held;	  /* client front unwatched (node_intake.c) */
	uint64_t intake_since_ns; /* since when */
	bool intake_owed;	  /* released: read it before holding */
	bool stopping;		  /* a signal asked us to stop */
	int fatal;		  /* FR_* that stops the node, 0 = none */
	struct node_counters c;	  /* counters */
	struct node_stage_track stg; /* in-flight stage times */
	struct node_fwd fwd;	     /* follower -> leader forwarding */
	/* Submitted batches waiting to be durable: (last index, time). */
	struct {
		raft_index index; /* last entry of the submit */
		uint64_t t_ns;	  /* when it was submitted */
	} sub[256];
	uint32_t sub_head;	     /* oldest */
	uint32_t sub_n;		     /* how many */
	char errmsg[FR_ERRMSG_SIZE]; /* reason of a fatal error */
};

uint64_t node__mono_ns(void);
/* The wall clock in ms (shown to people, seeds cluster time once; test
 * hook in node_clock.c note 5). */
uint64_t node__wall_ms(void);
/* CLOCK_BOOTTIME in ms: every deadline (node_clock.c note 1). */
uint64_t node__now_ms(void);

/** The stamp for an entry proposed now: cluster time given the state
 * machine's applied time @applied_ms, node__now_ms() @mono_ms and the wall
 * clock @wall_ms (used once, for a cluster that never stamped).  Pure. */
uint64_t node__ctime_stamp(struct node_ctime *c, uint64_t applied_ms,
			   uint64_t mono_ms, uint64_t wall_ms);
/** After applying: move the anchor up to @applied_ms, the state machine's
 * time, when it is ahead of cluster time at @mono_ms.  Pure. */
void node__ctime_observe(struct node_ctime *c, uint64_t applied_ms,
			 uint64_t mono_ms);
/* This node's stamp for an entry it proposes now. */
uint64_t node__stamp_ms(struct node *n);
/* True when this node knows the cluster time and may stamp: it anchored on
 * an applied stamp, or, as leader, has applied an entry of its own term
 * (its no-op), so every committed stamp is applied (node_clock.c note 2). */
bool node__stamp_known(const struct node *n);
/* CLOCK_BOOTTIME in microseconds: the time every raft event carries
 * (raft.h note 8). */
uint64_t node__boot_us(void);

/* node_step.c: feed the core and carry out its updates. */
void node__step(struct node *n, const struct raft_event *ev);
/* The same, returning raft_step()'s answer (the update is carried out in
 * every case). */
int node__step_rv(struct node *n, const struct raft_event *ev);
/* The same, handing back the update (valid until the next step). */
int node__step_update(struct node *n, const struct raft_event *ev,
		      struct raft_update *u);
void node__propose_flush(struct node *n);
void node__persisted_check(struct node *n);
void node__pending_timeouts(struct node *n);
void node__pending_free(struct node *n);

/* node_vec.c: room for one more element at the end of the FIFO array @arr
 * (borrowed; elements of @size bytes, live ones in [*head, *n), *cap
 * allocated).  If it is full, the live elements first slide down over the
 * popped front (*head becomes 0, *n shrinks by the old *head); if it has no
 * popped front, it is reallocated to twice *cap (@cap_first when empty).
 * Returns the array to use from now on (arr itself unless it moved), or
 * NULL with *@err = FR_BUSY (more than @cap_max elements, or the byte size
 * would overflow) or FR_NOMEM; @arr then stays valid and owned by the
 * caller. */
void *node__fifo_reserve(void *arr, size_t size, size_t *head, size_t *n,
			 size_t *cap, size_t cap_first, size_t cap_max,
			 int *err);

/* node_read.c: ReadIndex / lease reads. */
int node__read_queue(struct node *n, const struct resp_req *req, uint32_t argc,
		     const struct resp_arg *argv);
void node__read_flush(struct node *n);
void node__reads_released(struct node *n, const struct raft_update *u);
void node__reads_drain(struct node *n);
void node__reads_evaluate(struct node *n, raft_index applied);
void node__reads_timeouts(struct node *n);
void node__reads_free(struct node *n);

/* Open the core from @rs (term, vote, entries and recover_index filled) with
 * the daemon's options: the bootstrap configuration, the newest snapshot
 * (which overrides it; @rec names what the log holds), tick and lease
 * settings.  node_open() and the simulator's node__driven_open() share it,
 * so both run the same core. */
int node__raft_open(struct node *n, const struct wal_recovered *rec,
		    struct raft_restore *rs, char *errmsg);

/* node_snap.c: snapshots. */
int node__snap_restore(struct node *n, const struct wal_recovered *rec,
		       struct raft_restore *rs, char *errmsg);
void node__snap_take(struct node *n, raft_index index);
bool node__snap_fill(struct node *n, struct raft_message *m);
void node__snap_chunk(struct node *n, const struct raft_snapshot_chunk *c);
/* Whether an incoming SNAPSHOT message @m (borrowed) may go to the core:
 * false when it starts a snapshot over --snapshot-bytes-max or the free
 * disk less the reserve; then it is counted, logged and refused to the
 * leader. */
bool node__snap_admit(struct node *n, const struct raft_message *m);
void node__snap_install(struct node *n, const struct raft_update *u);
void node__snap_close(struct node *n);

/* node_admin.c: RAFT.MEMBER and RAFT.TRANSFER.  Returns 0 (answered),
 * FR_NOTFOUND (not an admin command), FR_NOTLEADER (forward it), or an
 * FR_* code for the library to answer. */
int node__admin(struct node *n, const struct resp_req *req, uint32_t argc,
		const struct resp_arg *argv);

/* node_client.c: the RESP backend. */
struct node_pending *node__pending_push(struct node *n);
/* Run a READ command on the local state into n->reply, bounded by
 * reply_bytes_max: a reply over it becomes an error reply, never built in
 * full (node_read.c).  Returns 0 or FR_NOMEM. */
int node__read_exec(struct node *n, uint32_t argc, const struct kvc_arg *argv);
/* Replace n->reply with @len bytes of @s; 0 or FR_NOMEM (then empty). */
int node__reply_set(struct node *n, const char *s, size_t len);
/* Free n->reply if a large reply grew it (called once per loop turn). */
void node__reply_trim(struct node *n);

/* Requests of this node waiting for a round: writes for their entry's
 * commit, ReadIndex reads for their round (node_intake.c). */
bool node__requests_waiting(const struct node *n);

/* node_intake.c: hold the client front while a round is out.  hold():
 * on client bytes, true when they are left unread for now; check(): once
 * per loop iteration, watches the front again when the round is over or
 * the hold timed out; wait_ns(): how long the loop may sleep for it
 * (UINT64_MAX: not held). */
bool node__intake_hold(struct node *n);
void node__intake_check(struct node *n);
uint64_t node__intake_wait_ns(const struct node *n);

/* Send @b (an encoded reply) to @req through n->io and close it; 0 or
 * FR_NOMEM. */
int node__reply_now(struct node *n, const struct resp_req *req,
		    struct resp_buf *b);
/* Copy @argv into one owned allocation (*@out, fr_free it). */
int node__copy_args(uint32_t argc, const struct resp_arg *argv,
		    struct kvc_arg **out);
extern const struct resp_backend node__backend;
/* "-MOVED ..." / "-TRYAGAIN ..." for a non-leader into @b. */
void node__redirect(struct node *n, struct resp_buf *b);

/* node_fwd.c: forwarding from a follower to the leader. */
int node__fwd_command(struct node *n, const struct resp_req *req, uint32_t argc,
		      const struct resp_arg *argv);
/* Whether @io carries a forwarding stream (node_io.h fwd_*). */
bool node__fwd_possible(const struct node_io *io);
/* From the stream (the I/O table): it may take bytes now; reply bytes
 * arrived; the leader closed it; it failed. */
void node__fwd_writable(struct node *n);
void node__fwd_input(struct node *n, const void *buf, size_t len);
void node__fwd_eof(struct node *n);
void node__fwd_broken(struct node *n);
/* node_fwd_sock.c: the real table's stream, a socket in node_run()'s
 * epoll set, and its epoll handler. */
int node__fwd_sock_open(void *ctx, raft_id leader);
ptrdiff_t node__fwd_sock_write(void *ctx, const void *buf, size_t len);
void node__fwd_sock_kick(void *ctx);
void node__fwd_sock_close(void *ctx);
void node__fwd_handle(struct node *n, uint32_t events);
void node__fwd_close(struct node *n);
void node__fwd_free(struct node *n);
/* Give up on a leader that has not answered within the request timeout. */
void node__fwd_timeouts(struct node *n);

/* node_fds.c: how many clients the open-file limit leaves room for. */
int node__fd_budget(const struct node_options *o, uint32_t *clients_max,
		    char *errmsg);

/* node_stage.c: stage boundaries (node_stage.h note 1). */
/* Forget the in-flight times (a new term as leader: the ring may hold
 * another term's entries at the same indexes). */
void node__stage_reset(struct node *n);
/* Count @t0_ns..now (or @t0_ns..@t1_ns) in stage @s. */
void node__stage_add(struct node *n, enum node_stage s, uint64_t t0_ns);
void node__stage_span(struct node *n, enum node_stage s, uint64_t t0_ns,
		      uint64_t t1_ns);
void node__stage_proposed(struct node *n, raft_index first, uint32_t count,
			  uint64_t now);
void node__stage_committed(struct node *n, raft_index commit);
void node__stage_applied(struct node *n, raft_index index);
void node__stage_replied(struct node *n, raft_index index);
void node__stage_flushed(struct node *n);
void node__stage_sent(struct node *n, const struct raft_message *m);
void node__stage_acked(struct node *n, const struct raft_message *m);

/* node_metrics.c: the Prometheus text page. */
void node__hist_add(struct node_hist *h, double seconds);
/* Render the page into *@buf (the caller's to fr_free; NULL when out of
 * memory) of *@len bytes.  On the loop thread. */
void node__metrics_render(struct node *n, char **buf, size_t *len);

/* node_http.c: the non-blocking HTTP endpoint that serves it. */
int node__metrics_open(struct node *n, char *errmsg);
void node__metrics_accept(struct node *n);
void node__metrics_conn(struct node *n, uint32_t slot, uint32_t events);
/* Close connections older than NODE_HTTP_TIMEOUT_MS; every tick. */
void node__metrics_timeouts(struct node *n);
/* Close the listener and every connection (idempotent). */
void node__metrics_close(struct node *n);

/* Placement (node_place.c; node_place.h has the rules).  Open decides and
 * binds the calling (loop) thread: 0 or FR_INVALID (bad --nic, --cpu-pin
 * or --topology-xml; @errmsg says why). */
int node__place_open(struct node *n, char *errmsg);
void node__place_close(struct node *n);
/* The fabric's options from the node's, rings placed on the NIC's node. */
void node__fab_options(const struct node *n, struct fab_options *fo);
/* wal_options.thread_start: binds a wal thread as the loop thread is. */
void node__place_thread_start(void *ctx, const char *thread);
/* Fill @r from @n and the fabric's @fi (NULL without a fabric). */
void node__place_report(const struct node *n, const struct fab_info *fi,
			struct node_place_report *r);
/* INFO's # Placement section. */
void node__place_info(struct resp_info_writer *w,
		      const struct node_place_report *r);

#endif /* FABRAFT_NODE_INT_H */
