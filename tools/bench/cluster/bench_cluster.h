/* bench_cluster.h — private interfaces of `fabraft-bench cluster`
 * (every .c file in tools/bench/cluster): one replicated-store benchmark
 * cell at a time. */
#ifndef FABRAFT_TOOLS_BENCH_CLUSTER_H
#define FABRAFT_TOOLS_BENCH_CLUSTER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "lhist.h"

/*
 * Design notes.
 * 1. A cell is one measurement: a system (fabraft, etcd or redis) in one
 *    configuration, started fresh in its own temp directory, driven by
 *    client threads for warm-up + duration seconds, then stopped.  Fresh
 *    servers per cell keep runs independent (fabraftd has no snapshots yet,
 *    so its in-memory log only grows).
 * 2. Every server process runs in its own process group, dies with its
 *    parent (PR_SET_PDEATHSIG) and is registered in bc_proc; the exit path
 *    and SIGINT/SIGTERM stop every registered group, so no daemon outlives
 *    the benchmark.
 * 3. Counters are differences over the measured window only: completed
 *    operations and their latencies, server CPU (utime+stime of each
 *    server process from /proc/<pid>/stat), peer bytes (the servers' own
 *    metrics) and client bytes (counted by the harness).
 */

/** `fabraft-bench cluster` (argv[0] is "cluster"); see --help. */
int bench_cluster_main(int argc, char **argv);

/* What is measured.  Names are the JSON/CLI spellings (bc_*_name). */
enum bc_system { BC_FABRAFT = 0, BC_ETCD, BC_REDIS, BC_SYSTEMS };

/* fabraft's provider and AppendEntries path. */
enum bc_path {
	BC_TCP_MSG = 0,
	BC_TCP_RMA,
	BC_SHM_MSG,
	BC_SHM_RMA,
	BC_VERBS_RMA,
	BC_PATHS
};

enum bc_workload {
	BC_SET = 0, /* 100% SET key value (etcd: put) */
	BC_SETGET,  /* SET key then GET the same key (etcd: put, range) */
	BC_KVC,	    /* KVC.PUT of a 16-block chain, then KVC.LOOKUP of it
		       (etcd: one txn of 16 puts, one txn of 16 ranges) */
	BC_WORKLOADS
};

/* Operation classes, counted apart. */
enum bc_class { BC_WRITE = 0, BC_READ, BC_CLASSES };

#define BC_CHAIN_BLOCKS 16 /* blocks per KV-cache chain */
#define BC_PIPE_MAX	64 /* deepest pipeline */
#define BC_CLIENTS_MAX	4096
#define BC_PROCS_MAX	16 /* server processes alive at once */

/* Log-linear latency histogram in nanoseconds: values below 64 exact,
 * then 64 sub-buckets per power of two (under 1.6% error). */
#define BC_HIST_SUB	64
#define BC_HIST_BUCKETS (BC_HIST_SUB + 34 * BC_HIST_SUB)

struct bc_hist {
	uint64_t counts[BC_HIST_BUCKETS]; /* per bucket */
	uint64_t n;			  /* values recorded */
	uint64_t max_ns;		  /* largest value */
};

void bc_hist_add(struct bc_hist *h, uint64_t ns);
/** Add every count of @src (borrowed) into @dst. */
void bc_hist_merge(struct bc_hist *dst, const struct bc_hist *src);
/** The value at quantile @q (0..1) in ns: the middle of its bucket. */
uint64_t bc_hist_quantile(const struct bc_hist *h, double q);
/** Lower bound (ns) of bucket @i. */
uint64_t bc_hist_bucket_low(uint32_t i);

/* One cell to run. */
struct bc_spec {
	enum bc_system sys;   /* which store */
	enum bc_path path;    /* fabraft only */
	int nodes;	      /* 3 or 5 (etcd 3, redis 1) */
	bool fsync;	      /* fabraft --fsync; etcd and redis always */
	enum bc_workload wl;  /* operation mix */
	uint32_t value_bytes; /* SET value size */
	int clients;	      /* connections, one client each */
	int pipeline;	      /* requests in flight per client (1 = none) */
	char label[96];	      /* "fabraft shm-rma n3 fsync" etc. */
	int round;	      /* --rounds: which round, from 0 */
};

/* --breakdown: the leader's stage histograms (fabraft_stage_seconds), one
 * series per stage and per repl peer. */
#define BC_STAGES_MAX 12
#define BC_STAGE_NAME 24
struct bc_stages {
	int n;					       /* series */
	char name[BC_STAGES_MAX][BC_STAGE_NAME];       /* "repl peer=2" */
	uint64_t cum[BC_STAGES_MAX][FR_LHIST_BUCKETS]; /* cumulative */
};

/* What one cell measured (window = measured seconds after warm-up). */
struct bc_result {
	struct bc_spec spec;	  /* the cell */
	bool ok;		  /* ran to the end */
	char error[256];	  /* why not, or first op error */
	double seconds;		  /* measured window */
	uint64_t ops[BC_CLASSES]; /* completed in the window */
	uint64_t errors;	  /* error replies, broken conns */
	uint64_t retries;	  /* -TRYAGAIN/-MOVED: the leader moved
				     (not a harness error) */
	uint64_t misses;	  /* reads that found no value */
	struct bc_hist lat;	  /* every op in the window */
	struct bc_hist lat_cls[BC_CLASSES]; /* per class */
	double server_cpu_s;		    /* all server processes */
	double client_cpu_s;		    /* this process */
	uint64_t peer_bytes;		    /* replication traffic */
	bool peer_bytes_known;		    /* the servers report it */
	uint64_t fsyncs;		    /* log fsyncs, all members */
	bool fsyncs_known;		    /* the servers report it */
	uint64_t client_bytes;		    /* requests + replies */
	uint64_t new_connections;	    /* HTTP: connects in window */
	char provider_seen[16];		    /* fabraft INFO provider */
	char rma_seen[8];		    /* fabraft INFO rma */
	double load[3];			    /* load average before it */
	/* --breakdown (fabraft): each stage's median in the window, and
	 * the floor measured after the cell. */
	int n_stages;
	char stage[BC_STAGES_MAX][BC_STAGE_NAME];
	uint64_t stage_n[BC_STAGES_MAX];
	double stage_p50_us[BC_STAGES_MAX];
	uint32_t wal_write_bytes; /* leader's log bytes per fdatasync */
	double floor_disk_us;	  /* raw pwrite+fdatasync of that, p50 */
	bool floor_direct;	  /* that used O_DIRECT */
	double floor_fabric_us;	  /* bare provider round trip, p50 */
	double floor_repl_us;	  /* fabraft-bench floor, same nodes, p50 */
	char floor_note[128];	  /* what failed, "" */
};

/* Options of the whole run. */
struct bc_opts {
	bool quick;	      /* --quick */
	bool grid;	      /* --grid: cartesian product of the lists */
	bool keep;	      /* keep temp dirs */
	bool plots;	      /* run gnuplot */
	bool redis_benchmark; /* the redis-benchmark comparison */
	bool breakdown;	      /* --breakdown: 1-client SET stages, floor */
	bool json;	      /* --json: the breakdown as JSON on stdout */
	int rounds;	      /* --rounds: the plan run this many times */
	double duration_s;    /* measured seconds per cell */
	double warmup_s;      /* unmeasured seconds first */
	int client_threads;   /* 0 = auto */
	long rb_requests;     /* redis-benchmark -n */
	char out[512];	      /* results folder */
	char bin[512];	      /* folder holding fabraftd */
	/* Filters (default plan) or axes (--grid); bit masks / lists. */
	unsigned systems;   /* 1 << bc_system */
	unsigned paths;	    /* 1 << bc_path */
	unsigned workloads; /* 1 << bc_workload */
	unsigned fsyncs;    /* bit 0 off, bit 1 on */
	int nodes[4];	    /* list, 0-terminated */
	int clients[8];	    /* list, 0-terminated */
	uint32_t values[8]; /* list, 0-terminated */
	int pipelines[4];   /* list, 0-terminated */
};

const char *bc_system_name(enum bc_system s);
const char *bc_path_name(enum bc_path p);
const char *bc_workload_name(enum bc_workload w);

/* ---- plan (plan.c) ---- */

/** Fill @cells (capacity @cap) with the cells to run under @o (borrowed);
 * returns the count.  @skip_why gets one line per skipped part. */
int bc_plan(const struct bc_opts *o, struct bc_spec *cells, int cap,
	    char *skip_why, size_t skip_cap);
/** Repeat the @n cells of @cells @rounds times in place (A B C A B C
 * ...), numbering each copy's round; returns the new count (at most
 * @cap: whole rounds only). */
int bc_plan_rounds(struct bc_spec *cells, int n, int rounds, int cap);
/** The median of the @n values of @v (sorted in place); 0 when @n is 0. */
double bc_median(double *v, int n);
/** Why verbs cannot run here ("" when a device exists). */
void bc_verbs_why(char *out, size_t cap);

/* ---- processes (proc.c) ---- */

/** Set when SIGINT/SIGTERM arrived: stop at the next check. */
extern volatile sig_atomic_t bc_stop;
/** Install the signal handlers and the exit hook. */
void bc_proc_init(void);
/** Start @argv[0] (PATH searched) with @argv (borrowed) in a new process
 * group, stdout+stderr to @log_path.  Returns the pid or -1. */
pid_t bc_spawn(char *const argv[], const char *log_path);
/** SIGTERM the group of @pid, wait up to @grace_ms, then SIGKILL; reap.
 * Returns 0 when it exited by itself, 1 when it had to be killed. */
int bc_reap(pid_t pid, int grace_ms);
/** Stop every registered process.  Returns how many had to be killed. */
int bc_reap_all(void);
/** Registered processes still alive (0 after bc_reap_all). */
int bc_alive_count(void);
/** True while @pid runs (not a zombie). */
bool bc_running(pid_t pid);
struct bc_server;
/** True while every member process of @sv is alive. */
bool bc_server_all_running(const struct bc_server *sv);
/** utime+stime of @pid in seconds (all threads), or -1. */
double bc_proc_cpu_s(pid_t pid);
/** CPU seconds of this process (all threads). */
double bc_self_cpu_s(void);
/** @n consecutive free TCP ports on 127.0.0.1; the first, or -1. */
int bc_ports(int n);
/** Monotonic clock, ns. */
uint64_t bc_now_ns(void);
void bc_sleep_ms(int ms);
/** Remove the tree at @path (rm -rf). */
void bc_rmtree(const char *path);
/** "HTTP GET http://127.0.0.1:@port@path" body into a malloc'd string
 * (HTTP/1.0, connection closed by the server); NULL on failure. */
char *bc_http_get(int port, const char *path, int timeout_ms);
/** The same with a POST of the JSON @post (borrowed; NULL = GET). */
char *bc_http_req(int port, const char *path, const char *post, int timeout_ms);
/** Sum of every sample of @metric (lines "name{...} v" or "name v") in
 * Prometheus text @page. */
double bc_prom_sum(const char *page, const char *metric);

/* ---- etcd JSON gateway requests (etcd_json.c) ---- */

/** Base64 of @len bytes at @in into @out (room for 4*ceil(len/3)+1); the
 * length written, without the NUL. */
size_t bc_b64(const char *in, size_t len, char *out);
/** One operation of a txn's success list at @o: a put of @val (@vlen
 * bytes) at @key, or a range of @key when @val is NULL; preceded by a comma
 * unless @first.  The length written. */
size_t bc_etcd_txn_op(char *o, bool first, const char *key, size_t klen,
		      const char *val, size_t vlen);
/* A reply body growing as curl delivers it (NUL-terminated). */
struct bc_body {
	char *p;    /* malloc'd, or NULL */
	size_t len; /* bytes so far */
	size_t cap; /* allocated */
};
/** CURLOPT_WRITEFUNCTION appending to the struct bc_body @arg. */
size_t bc_body_sink(char *p, size_t size, size_t nmemb, void *arg);

/* ---- servers (fab.c, etcd.c, redis.c) ---- */

/* A running store: its processes and how clients reach it. */
struct bc_server {
	enum bc_system sys;  /* kind */
	int n;		     /* processes */
	pid_t pid[9];	     /* each server process */
	int client_port[9];  /* RESP or HTTP port of each */
	int metrics_port[9]; /* Prometheus port (0 = none) */
	int leader;	     /* index of the leader */
	char dir[512];	     /* temp dir of this cell */
};

/** Start the store of @s in a fresh dir under @root (borrowed); the
 * leader known, every node serving.  0, or -1 with @err set. */
int bc_fab_start(const struct bc_opts *o, const struct bc_spec *s,
		 const char *root, struct bc_server *sv, char *err, size_t cap);
int bc_etcd_start(const struct bc_spec *s, const char *root,
		  struct bc_server *sv, char *err, size_t cap);
int bc_redis_start(const struct bc_spec *s, const char *root,
		   struct bc_server *sv, char *err, size_t cap);
/** Stop every process of @sv (SIGTERM to all, SIGKILL after 5 s, etcd
 * after 2 s); remove its dir unless @keep.  Returns how many had to be
 * SIGKILLed. */
int bc_server_stop(struct bc_server *sv, bool keep);
/** Sum of the CPU seconds of @sv's processes. */
double bc_server_cpu_s(const struct bc_server *sv);
/** Peer bytes sent so far by all of @sv's processes; false if unknown. */
bool bc_server_peer_bytes(const struct bc_server *sv, uint64_t *bytes);
/** Log fsyncs so far by all of @sv's processes; false if unknown. */
bool bc_server_fsyncs(const struct bc_server *sv, uint64_t *fsyncs);
/** fabraft: INFO provider/rma of the leader, into @r. */
void bc_fab_info(const struct bc_server *sv, struct bc_result *r);
/** fabraft: register the storage node that KVC.PUT names.  0 or -1. */
int bc_fab_kvc_setup(const struct bc_server *sv, char *err, size_t cap);

/* ---- load (resp.c, http.c) ---- */

/* Shared by the load threads of one cell. */
struct bc_load {
	const struct bc_spec *spec; /* the cell (borrowed) */
	int port;		    /* server client port (leader) */
	int threads;		    /* client threads */
	uint64_t t_start_ns;	    /* measurement starts */
	uint64_t t_end_ns;	    /* and ends; then the threads stop */
	uint32_t keys_per_client;   /* key space of each client */
	uint32_t chains_per_client; /* KV-cache chains of each client */
	struct bc_result *res;	    /* merged results (after the join) */
	volatile uint64_t done_ops; /* progress, all threads */
	/* Called by bc_load_wait(): at the window's start and end exactly
	 * (counter snapshots) and every 250 ms (the progress line). */
	void (*tick)(struct bc_load *ld, uint64_t now_ns);
	void *tick_ctx; /* for tick */
};

/** The calling thread of a driver, while its client threads run: calls
 * ld->tick until t_end_ns (or SIGINT), and once more after it. */
void bc_load_wait(struct bc_load *ld);

/* The part of a load driver's client thread that bc_run_threads() fills
 * in and reads; each driver's thread struct begins with one. */
struct bc_thr {
	struct bc_load *ld; /* the cell (shared) */
	int index;	    /* this thread, from 0 */
	int first;	    /* first client number */
	int n;		    /* clients */
	struct bc_result r; /* this thread's counts (merged at the end) */
};

/* How bc_run_threads() sets up, runs and frees one driver's threads. */
struct bc_thr_ops {
	size_t size; /* bytes of the driver's thread struct */
	/* Set up t's clients; 0 or -1.  Runs for thread 0, 1, ... until one
	 * fails. */
	int (*init)(struct bc_thr *t);
	/* The thread (its argument is the struct bc_thr *): drive until
	 * t_end_ns or bc_stop; count into t->r. */
	void *(*main)(void *t);
	/* Free what init made; runs for every thread, also one whose init
	 * failed or never ran (then all but the bc_thr part is zero). */
	void (*fini)(struct bc_thr *t);
	const char *setup_error; /* res->error when a thread cannot start */
};

/** Split ld->spec->clients over ld->threads threads of @ops (borrowed),
 * start them, call bc_load_wait(), join them and merge their counts into
 * ld->res.  0, or -1 with res->error set. */
int bc_run_threads(struct bc_load *ld, const struct bc_thr_ops *ops);

/** Drive a RESP server (fabraft or redis) as @ld describes; blocks until
 * t_end_ns.  0, or -1 with res->error set. */
int bc_resp_run(struct bc_load *ld);
/** Drive etcd's JSON gateway the same way (libcurl). */
int bc_http_run(struct bc_load *ld);
/** Whether this build has the etcd driver (libcurl). */
bool bc_http_available(void);
/** libcurl global init/cleanup (no-ops without libcurl). */
void bc_http_global(bool init);

/** The 32-hex-digit hash of block @i of chain @chain of client @client. */
void bc_block_hash(int client, uint32_t chain, int i, char out[33]);

/* ---- output (out.c, plot.c) ---- */

/* The redis-benchmark comparison (the same commands on both stores): issue
 * 18's unpipelined `-c 50` and issue 8's `-c 50 -P 16`. */
enum bc_rb_mode {
	BC_RB_P1,  /* -c 50, unpipelined */
	BC_RB_P16, /* -c 50 -P 16 */
	BC_RB_MODES
};

/* Rows a run keeps: 3 stores a round (--rounds beyond that are cut). */
#define BC_RB_MAX 48

/* One store in one round: both commands against one started server. */
struct bc_rb {
	char target[96];		/* the store's cell label */
	int round;			/* --rounds: which round, from 0 */
	char command[BC_RB_MODES][160]; /* redis-benchmark command lines */
	double set_rps[BC_RB_MODES];	/* requests/s reported */
	double get_rps[BC_RB_MODES];	/* requests/s reported */
	double load[3];			/* load average before */
	bool ok;			/* both ran and parsed */
	char error[128];		/* why not */
};

struct bc_run {
	const struct bc_opts *o;    /* options (borrowed) */
	struct bc_result *res;	    /* cells (owned by caller) */
	int n;			    /* cells run */
	struct bc_rb rb[BC_RB_MAX]; /* redis-benchmark rows */
	int n_rb;		    /* rows */
	char started[32];	    /* UTC ISO time */
	char finished[32];	    /* UTC ISO time */
	double load_start[3];	    /* load average before */
	double load_end[3];	    /* and after */
	char skipped[2048];	    /* skip reasons, one per line */
	char versions[512];	    /* etcd / redis versions */
	char cmdline[1024];	    /* how this run was started */
};

/** @before as it is, then @s as a JSON string, into @f. */
void bc_json_str(FILE *f, const char *before, const char *s);
/** results.json, results.md and the CDF data under o->out.  0 or -1. */
int bc_write_results(const struct bc_run *run);
/** Gnuplot scripts and PNGs (when gnuplot exists).  0, 1 skipped, -1. */
int bc_write_plots(const struct bc_run *run);
/** The target ratios, as Markdown lines, into @f. */
void bc_write_targets(const struct bc_run *run, FILE *f);

/* ---- --breakdown (stg.c, brk.c) ---- */

/** Parse the fabraft_stage_seconds buckets of Prometheus text @page into
 * @st.  Returns the series found. */
int bc_stages_parse(const char *page, struct bc_stages *st);
/** Each stage's median over the window between @a and @b into @r. */
void bc_stages_medians(const struct bc_stages *a, const struct bc_stages *b,
		       struct bc_result *r);
/** The floor of cell @r (its log write size known): raw pwrite+fdatasync
 * in @dir and the bare round trip of its provider. */
void bc_breakdown_floor(const char *dir, struct bc_result *r);
/** The breakdown table (Markdown) or JSON of every cell with stages. */
void bc_breakdown_write(const struct bc_run *run, FILE *f, bool json);

/* ---- redis-benchmark comparison (rb.c) ---- */

/** Run `redis-benchmark -t set,get -n N -c 50`, unpipelined and with
 * -P 16, against fabraft (path @path, 3 nodes, fsync on) and a
 * redis-server, the stores alternating in each of --rounds rounds.
 * Appends rows. */
void bc_rb_run(const struct bc_opts *o, const char *root, struct bc_run *run,
	       enum bc_path path);
/** The load average (1, 5, 15 min) into @l; -1 when unreadable. */
void bc_loadavg(double l[3]);
/** Take the SET or GET rate from one line of `redis-benchmark --csv`
 * output into @rb's @mode.  Returns true when the line was one. */
bool bc_rb_parse_line(const char *line, struct bc_rb *rb, enum bc_rb_mode mode);

#endif /* FABRAFT_TOOLS_BENCH_CLUSTER_H */
