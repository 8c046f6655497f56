/* opts.c — command line of `fabraft-bench cluster`: its option table
 * (tools/lib opt.h), defaults that depend on other flags. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_cluster.h"
#include "opt.h"
#include "opts.h"

static void defaults(struct bc_opts *o)
{
	static const int nodes[] = {3, 5, 0};
	static const int clients[] = {1, 16, 256, 0};
	static const uint32_t values[] = {64, 1024, 16384, 0};
	static const int pipelines[] = {1, 16, 0};
	time_t now = time(NULL);
	struct tm tm;
	char self[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	memset(o, 0, sizeof(*o));
	o->plots = true;
	o->redis_benchmark = true;
	o->duration_s = -1;
	o->warmup_s = -1;
	o->systems = (1u << BC_SYSTEMS) - 1;
	o->paths = (1u << BC_PATHS) - 1;
	o->workloads = (1u << BC_WORKLOADS) - 1;
	o->fsyncs = 3;
	memcpy(o->nodes, nodes, sizeof(nodes));
	memcpy(o->clients, clients, sizeof(clients));
	memcpy(o->values, values, sizeof(values));
	memcpy(o->pipelines, pipelines, sizeof(pipelines));
	gmtime_r(&now, &tm);
	strftime(o->out, sizeof(o->out), "bench-results/%Y%m%d-%H%M%S", &tm);
	self[k > 0 ? k : 0] = '\0';
	slash = strrchr(self, '/');
	if (slash != NULL) {
		*slash = '\0';
	}
	snprintf(o->bin, sizeof(o->bin), "%.500s", self);
}

/* A parsed list (@n values; 0: not given) into a 0-terminated int list. */
static void copy_ints(const uint32_t *l, uint32_t n, int *out)
{
	if (n == 0) {
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		out[i] = (int)l[i];
	}
	out[n] = 0;
}

/* The names of enum values 0..@n-1 as choices (one more: the NULL end). */
static void names(struct opt_choice *c, int n, const char *(*name)(int))
{
	for (int i = 0; i < n; i++) {
		c[i] = (struct opt_choice){name(i), i};
	}
	c[n] = (struct opt_choice){NULL, 0};
}

static const char *sys_name(int i)
{
	return bc_system_name((enum bc_system)i);
}

static const char *path_name(int i)
{
	return bc_path_name((enum bc_path)i);
}

static const char *wl_name(int i)
{
	return bc_workload_name((enum bc_workload)i);
}

/* Lists parsed apart from @o: bc_opts keeps int lists. */
struct int_lists {
	uint32_t nodes[3];
	uint32_t n_nodes;
	uint32_t clients[7];
	uint32_t n_clients;
	uint32_t pipelines[3];
	uint32_t n_pipelines;
	int rb_requests;
};

static const struct opt_choice fsyncs[] = {{"off", 0}, {"on", 1}, {NULL, 0}};

static const struct opt_cmd cluster_cmd = {
    .prog = "fabraft-bench cluster",
    .usage = "fabraft-bench cluster [options]",
    .about = "Local fabraftd clusters (3 and 5 nodes) against a "
	     "3-member etcd\nand a redis-server (appendfsync always), "
	     "driven by the same C\nclient threads; committed ops/s, "
	     "latency p50/p99/p99.9, server\nCPU s per 1,000 ops, "
	     "peer and client bytes per op.",
    .epilog = "Writes results.json, results.md, *.dat and *.png under "
	      "--out.\nExit: 0 all cells ran, 1 a cell failed, 2 bad "
	      "flags, 77 quick\nmode skipped, 130 interrupted.  "
	      "Servers never outlive it.\n",
};

/* The option table, flags into @o and int lists into @l: opt_parse_main(),
 * an exit code or -1 to run. */
static int parse(struct bc_opts *o, struct int_lists *l, int argc, char **argv)
{
	struct opt_choice sys[BC_SYSTEMS + 1];
	struct opt_choice paths[BC_PATHS + 1];
	struct opt_choice wls[BC_WORKLOADS + 1];
	const struct opt opts[] = {
	    {"quick", OPT_FLAG, &o->quick,
	     .help = "a small plan (about a minute) checking the harness "
		     "works; exits 77 without etcd or redis-server"},
	    {"grid", OPT_FLAG, &o->grid,
	     .help = "every combination of the lists below (default: the "
		     "one-factor-at-a-time sweep of docs/benchmarks.md, "
		     "filtered by them)"},
	    /* Room for the file names under it. */
	    {"out", OPT_STRING, o->out, .size = sizeof(o->out) - 64,
	     .arg = "DIR", .def = "./bench-results/<UTC time>",
	     .help = "results folder"},
	    {"duration", OPT_DOUBLE, &o->duration_s, .dmin = 0.2, .dmax = 3600,
	     .arg = "S", .def = "4; quick 1",
	     .help = "measured seconds per cell"},
	    {"warmup", OPT_DOUBLE, &o->warmup_s, .dmin = 0, .dmax = 600,
	     .arg = "S", .def = "1; quick 0.3",
	     .help = "unmeasured seconds first"},
	    {"systems", OPT_NAMES, &o->systems, .choices = sys, .def = "all",
	     .help = "fabraft,etcd,redis"},
	    {"paths", OPT_NAMES, &o->paths, .choices = paths, .def = "all",
	     .help = "tcp-msg,tcp-rma,shm-msg,shm-rma,verbs-rma"},
	    {"nodes", OPT_LIST, l->nodes, 1, 9, .size = OPT_COUNT(l->nodes),
	     .count = &l->n_nodes, .def = "3,5",
	     .help = "fabraft cluster sizes"},
	    {"clients", OPT_LIST, l->clients, 1, BC_CLIENTS_MAX,
	     .size = OPT_COUNT(l->clients), .count = &l->n_clients,
	     .def = "1,16,256", .help = "concurrent clients"},
	    /* fabraft's KV store takes values up to 1 MiB. */
	    {"values", OPT_LIST, o->values, 1, 1 << 20,
	     .size = OPT_COUNT(o->values), .def = "64,1024,16384",
	     .help = "SET value bytes"},
	    {"fsync", OPT_NAMES, &o->fsyncs, .choices = fsyncs, .def = "off,on",
	     .help = "on,off (fabraft; etcd and redis always sync)"},
	    {"workloads", OPT_NAMES, &o->workloads, .choices = wls,
	     .def = "all", .help = "set,setget,kvc"},
	    {"pipeline", OPT_LIST, l->pipelines, 1, BC_PIPE_MAX,
	     .size = OPT_COUNT(l->pipelines), .count = &l->n_pipelines,
	     .def = "1,16", .help = "requests in flight per client"},
	    {"client-threads", OPT_INT, &o->client_threads, 1, 64, .def = "2",
	     .help = "client threads"},
	    {"rb-requests", OPT_INT, &l->rb_requests, 1000, 100000000,
	     .def = "200000; quick 20000", .help = "redis-benchmark -n"},
	    {"no-redis-benchmark", OPT_NOFLAG, &o->redis_benchmark,
	     .help = "skip the redis-benchmark comparison"},
	    {"no-plots", OPT_NOFLAG, &o->plots, .help = "no gnuplot PNGs"},
	    {"rounds", OPT_INT, &o->rounds, 1, 100, .def = "1",
	     .help = "run the plan this many times, the systems alternating "
		     "(A B C A B C ...); targets are medians over rounds"},
	    {"breakdown", OPT_FLAG, &o->breakdown,
	     .help = "a 1-client SET per path: the leader's stage medians "
		     "(fabraft_stage_seconds) next to the floor measured in "
		     "the same run (raw pwrite+fdatasync, bare provider "
		     "round trip)"},
	    {"json", OPT_FLAG, &o->json,
	     .help = "with --breakdown: print it as JSON (default: a table)"},
	    {"keep", OPT_FLAG, &o->keep,
	     .help = "keep the servers' temp dirs and logs"},
	};

	names(sys, BC_SYSTEMS, sys_name);
	names(paths, BC_PATHS, path_name);
	names(wls, BC_WORKLOADS, wl_name);
	return opt_parse_main(&cluster_cmd, opts, OPT_COUNT(opts), argc, argv);
}

int bc_opts_parse(int argc, char **argv, struct bc_opts *o)
{
	struct int_lists l = {0};
	int done;

	defaults(o);
	done = parse(o, &l, argc, argv);
	if (done >= 0) {
		return done == 0 ? 1 : -1; /* --help printed, or a bad flag */
	}
	copy_ints(l.nodes, l.n_nodes, o->nodes);
	copy_ints(l.clients, l.n_clients, o->clients);
	copy_ints(l.pipelines, l.n_pipelines, o->pipelines);
	o->rb_requests = l.rb_requests;
	if (o->duration_s < 0) {
		o->duration_s = o->quick ? 1 : 4;
	}
	if (o->warmup_s < 0) {
		o->warmup_s = o->quick ? 0.3 : 1;
	}
	if (o->json && !o->breakdown) {
		fprintf(stderr, "fabraft-bench cluster: --json goes with "
				"--breakdown (results.json has every cell)\n");
		return -1;
	}
	if (o->rounds == 0) {
		o->rounds = 1;
	}
	if (o->breakdown) {
		o->redis_benchmark = false; /* a stage table, no comparison */
		o->plots = false;
	}
	if (o->rb_requests == 0) {
		o->rb_requests = o->quick ? 20000 : 200000;
	}
	return 0;
}
