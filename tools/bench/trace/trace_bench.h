/* trace_bench.h — private interfaces of `fabraft-bench trace` (the files
 * of tools/bench/trace that only the benchmark links). */
#ifndef FABRAFT_TOOLS_BENCH_TRACE_BENCH_H
#define FABRAFT_TOOLS_BENCH_TRACE_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_trace.h"

/** `fabraft-bench trace` (argv[0] is "trace"); see --help. */
int bench_trace_main(int argc, char **argv);

/* The etcd operations (trace_etcd.c); name NULL without libcurl. */
extern const struct tr_ops tr_etcd_ops;

/* Systems a run can replay against (bits of tr_opts.systems). */
enum tr_system { TR_FABRAFT = 0, TR_ETCD, TR_SYSTEMS };

/* Options of one run. */
struct tr_opts {
	char trace[512];	  /* --trace */
	uint32_t engines;	  /* --engines */
	uint32_t requests;	  /* --requests (0 = all) */
	double speed;		  /* --speed (0 = max rate) */
	bool max_rate;		  /* --max-rate */
	uint64_t capacity_blocks; /* --capacity-blocks (0 = unlimited) */
	uint64_t block_bytes;	  /* --block-bytes */
	unsigned systems;	  /* 1 << tr_system */
	char json[512];		  /* --json FILE, "" = none */
	int path;		  /* fabraft path (enum bc_path) */
	uint32_t nodes;		  /* fabraft cluster size */
	bool fsync;		  /* fabraft --fsync */
	bool touch;		  /* KVC.LOOKUP ... TOUCH */
	bool keep;		  /* keep the servers' dirs */
	char ns[65];		  /* namespace */
	char bin[512];		  /* folder of fabraftd */
};

/* What one system's replay gave. */
struct tr_result {
	const char *system;   /* "fabraft", "etcd" */
	bool ran;	      /* the store started and the replay ran */
	char error[256];      /* why not */
	struct tr_stats st;   /* merged counts and latencies */
	double seconds;	      /* first request to last reply */
	double server_cpu_s;  /* all server processes, over the replay */
	double client_cpu_s;  /* this process (the engines), same window */
	double lookup_p50_us; /* quantiles (filled by tr_summarize) */
	double lookup_p99_us; /* */
	double put_p50_us;    /* */
	double put_p99_us;    /* */
};

/** Parse argv into @o.  0 = run, 1 = --help printed, -1 = bad flags
 * (reported). */
int tr_opts_parse(int argc, char **argv, struct tr_opts *o);
/** Fill the quantiles of @r from its latencies. */
void tr_summarize(struct tr_result *r);
/** The table of @n results to stdout, after the load average at start. */
void tr_print_table(const struct tr_result *r, int n, const double load[3]);
/** The JSON of the run into o->json.  0 or -1 (reported). */
int tr_write_json(const struct tr_opts *o, const struct tr_result *r, int n,
		  const double load[3], uint32_t requests);

#endif /* FABRAFT_TOOLS_BENCH_TRACE_BENCH_H */
