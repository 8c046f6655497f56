/* bench_trace.h — replay of a production KV-cache trace (Mooncake's JSON lines)
 * by N inference engines against a metadata store: the trace loader, the
 * engines and their per-store operations.  Used by `fabraft-bench trace`
 * and by `fabraft demo`. */
#ifndef FABRAFT_TOOLS_BENCH_TRACE_H
#define FABRAFT_TOOLS_BENCH_TRACE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Design notes.
 * 1. A trace is loaded whole before anything starts (12,031 requests and
 *    288,500 block ids are 2.5 MB): a bad line is reported with its line
 *    number before a cluster is started, and the replay does no I/O but
 *    its store operations.
 * 2. Request i goes to engine i mod N (round robin); each engine is one
 *    thread with one connection and handles its requests in trace order.
 *    With one engine the replay is the trace's own order, so its hits are
 *    exactly the trace's prefix reuse (the ctest checks this).
 * 3. Per request an engine does one lookup of the request's whole chain
 *    (the longest cached prefix = the hits), then, if blocks are missing,
 *    one put of the missing blocks on itself.  For fabraft a put is the
 *    two-phase write: KVC.ALLOC of one size per missing block NEAR the
 *    engine's node, then one KVC.PUT ns RES committing every reservation.
 *    What a lookup and a put are for etcd is in trace_etcd.c.
 * 4. Latencies are kept exactly (one value per operation, sorted at the
 *    end): a replay has at most a few tens of thousands of operations.
 */

#define TR_IDS_MAX     4096	  /* hash_ids of one request */
#define TR_LINE_MAX    (1u << 20) /* bytes of one trace line */
#define TR_ENGINES_MAX 64	  /* engines of one replay */
#define TR_ADDRS_MAX   9	  /* store endpoints */
/* Tokens recorded for every block: the trace's block size.  A request's
 * last block may be partial, but the same id can be a full block of a
 * longer request, and KVC.PUT refuses a block whose token count changes. */
/* Tokens recorded for every block: the trace's block size.  A request's
 * last block may be partial, but the same id can be a full block of a
 * longer request, and KVC.PUT refuses a block whose token count changes. */
#define TR_TOKENS_PER 512u
#define TR_UNLIMITED                                                           \
	((uint64_t)100000000000000000ull) /* tier bytes, "unlimited" */

/* One request of the trace. */
struct tr_req {
	uint64_t ts_ms;	     /* arrival, ms from the trace's start */
	uint32_t input_len;  /* prompt tokens */
	uint32_t output_len; /* generated tokens */
	uint32_t n;	     /* blocks (hash ids) */
	size_t first;	     /* index of its first id in tr_trace.ids */
};

/* A loaded trace. */
struct tr_trace {
	struct tr_req *req; /* n requests (malloc'd) */
	uint32_t n;	    /* requests */
	uint64_t *ids;	    /* every request's ids, back to back */
	size_t n_ids;	    /* ids */
	size_t cap_ids;	    /* allocated */
};

/**
 * Load at most @max_requests (0 = all) requests of the JSON-lines trace at
 * @path (gzip or plain; borrowed).  Each line is an object with an integer
 * `timestamp` and an array `hash_ids` of integers 0..2^64-1 (at most
 * TR_IDS_MAX, no repeats); `input_length`/`output_length` are optional
 * integers; other keys are skipped; blank lines are skipped.  0, or
 * FR_IO/FR_MALFORMED/FR_NOMEM with "@path:LINE: why" in @err.
 */
int tr_trace_load(const char *path, uint32_t max_requests, struct tr_trace *t,
		  char *err, size_t cap) __attribute__((warn_unused_result));
/** The path of the trace shipped in the source tree (Mooncake's
 * conversation trace, gzip). */
const char *tr_default_trace(void);
/** Free what @t owns (safe on a zeroed trace). */
void tr_trace_free(struct tr_trace *t);

/** A block id as a hash argument of the KVC commands, into @out. */
void tr_hash(uint64_t id, char out[40]);
/** The bytes that hash argument names, as lowercase hex (the way replies
 * spell it; the etcd keys use it). */
void tr_hash_hex(uint64_t id, char out[40]);

/* What one engine (or, merged, the whole replay) measured. */
struct tr_stats {
	uint64_t requests;    /* requests done */
	uint64_t blocks;      /* their blocks */
	uint64_t hit_blocks;  /* found by the lookups (cached prefixes) */
	uint64_t put_blocks;  /* stored by the puts */
	uint64_t lookups;     /* lookup operations */
	uint64_t puts;	      /* put operations (one per request with misses) */
	uint64_t round_trips; /* requests sent to the store */
	uint64_t victims;     /* locations evicted by KVC.ALLOC */
	uint64_t no_space;    /* puts given up: the blocks did not fit */
	uint64_t already_stored; /* blocks a put skipped: already there */
	uint64_t errors;	 /* error replies or failed operations */
	uint64_t retries;	 /* reconnects after a failure or redirect */
	uint32_t *lookup_us;	 /* one latency per lookup (malloc'd) */
	uint32_t *put_us;	 /* one latency per put (malloc'd) */
	char error[256];	 /* the first error */
};

/** Free the latency arrays of @s. */
void tr_stats_free(struct tr_stats *s);
/** The @q (0..1) quantile of @n latencies @v (sorted in place), in us. */
double tr_quantile(uint32_t *v, uint64_t n, double q);

struct tr_engine;

/* How an engine talks to one kind of store. */
struct tr_ops {
	const char *name; /* "fabraft", "etcd" */
	/* Set up engine @e's connection state in e->conn; 0 or -1 with
	 * e->stats.error. */
	int (*open)(struct tr_engine *e);
	/* Register engine @e as a storage node (fabraft) or nothing. */
	int (*join)(struct tr_engine *e);
	/* Longest cached prefix of @r: 0 with *hits set, or -1. */
	int (*lookup)(struct tr_engine *e, const struct tr_req *r,
		      uint32_t *hits);
	/* Store blocks @from..r->n-1 of @r on the engine's node; 0, 1 when
	 * they do not fit (nothing stored, counted in no_space), or -1. */
	int (*put)(struct tr_engine *e, const struct tr_req *r, uint32_t from);
	void (*close)(struct tr_engine *e);
};

/* The fabraft (RESP) operations; the etcd ones live in the benchmark. */
extern const struct tr_ops tr_fab_ops;

/* The store and how the replay uses it. */
struct tr_cfg {
	const struct tr_trace *trace; /* borrowed for the replay */
	const struct tr_ops *ops;     /* the store's operations */
	char addrs[TR_ADDRS_MAX][80]; /* endpoints "host:port" */
	int n_addrs;		      /* how many */
	int first_addr;		      /* the one tried first (the leader) */
	const char *password;	  /* AUTH password (borrowed), NULL = none */
	int engines;		  /* 1..TR_ENGINES_MAX */
	int node_base;		  /* engine i is storage node node_base + i */
	double speed;		  /* arrival times / speed; 0 = max rate */
	uint64_t capacity_blocks; /* per engine node; 0 = unlimited */
	uint64_t block_bytes;	  /* bytes of one block */
	bool touch;		  /* KVC.LOOKUP ... TOUCH (a write) */
	char ns[65];		  /* KVC namespace */
	uint32_t pause_at;	  /* engines stop before this request until
				     tr_replay_release() (0 = never) */
	int retry_ms; /* give an operation up after this (0: 15 s) */
	volatile sig_atomic_t *stop; /* engines stop when *stop != 0, or NULL */
};

/* One engine (thread). */
struct tr_engine {
	struct tr_replay *rp;  /* the replay */
	int index;	       /* 0..engines-1 */
	int node_id;	       /* its storage node id */
	int addr;	       /* endpoint in use */
	void *conn;	       /* the ops' connection state */
	uint64_t next_offset;  /* next block offset on its node */
	struct tr_stats stats; /* its counts */
	uint32_t req_done;     /* requests done (progress) */
	pthread_t thread;      /* the thread */
	bool started;	       /* thread created */
};

/* A running replay. */
struct tr_replay {
	struct tr_cfg cfg;	/* copy */
	struct tr_engine *eng;	/* cfg.engines (malloc'd) */
	uint64_t t0_ns;		/* replay start (monotonic) */
	uint64_t t_end_ns;	/* when the last engine finished */
	pthread_mutex_t mu;	/* guards the fields below */
	pthread_cond_t cv;	/* signals them */
	int paused;		/* engines waiting at pause_at */
	int finished;		/* engines done */
	bool released;		/* pause lifted */
	volatile uint32_t done; /* requests done, all engines */
};

/**
 * Start the engines of @cfg (copied; the trace stays borrowed): each opens
 * its connection and joins as a storage node, then replays its requests.
 * 0, or -1 with @err (engines already started are stopped).
 */
int tr_replay_start(struct tr_replay *rp, const struct tr_cfg *cfg, char *err,
		    size_t cap);
/** Wait up to @timeout_ms until every engine is paused or finished;
 * true when they are. */
bool tr_replay_wait_paused(struct tr_replay *rp, int timeout_ms);
/** Let paused engines go on. */
void tr_replay_release(struct tr_replay *rp);
/** Join the engines and merge their stats into @out (free with
 * tr_stats_free); @seconds = replay time.  Frees the replay. */
void tr_replay_join(struct tr_replay *rp, struct tr_stats *out,
		    double *seconds);

/* For the ops (trace_fab.c, trace_etcd.c): monotonic ns; record one
 * latency of @e into @v (lookups or puts). */
uint64_t tr_now_ns(void);
int tr_record(uint32_t **v, uint64_t n, uint64_t ns);

#endif /* FABRAFT_TOOLS_BENCH_TRACE_H */
