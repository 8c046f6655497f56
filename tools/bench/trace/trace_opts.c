/* trace_opts.c — command line of `fabraft-bench trace` (the tools/lib
 * option table; --help is generated from it). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench_cluster.h"
#include "opt.h"
#include "trace_bench.h"

static const struct opt_choice systems[] = {
    {"fabraft", TR_FABRAFT}, {"etcd", TR_ETCD}, {NULL, 0}};

static const struct opt_choice paths[] = {{"tcp-msg", BC_TCP_MSG},
					  {"tcp-rma", BC_TCP_RMA},
					  {"shm-msg", BC_SHM_MSG},
					  {"shm-rma", BC_SHM_RMA},
					  {NULL, 0}};

static const struct opt_cmd trace_cmd = {
    .prog = "fabraft-bench trace",
    .usage = "fabraft-bench trace [options]",
    .about = "Replays a production KV-cache trace (Mooncake's JSON lines: "
	     "timestamp,\nhash_ids) with N inference engines against a "
	     "fresh local 3-node\nfabraft cluster (fsync on) and a fresh "
	     "3-member etcd.  Request i\ngoes to engine i mod N; per request "
	     "the engine looks the chain up\n(one KVC.LOOKUP), counts the "
	     "cached prefix, and stores the missing\nblocks on its own "
	     "storage node (KVC.ALLOC, then KVC.PUT ns RES).",
    .epilog = "Output: a table; with --json one object per system.  Exit: "
	      "0 every\nsystem ran without errors, 1 a system failed or "
	      "operations failed,\n2 bad flags or a bad trace (reported with "
	      "its line number), 130\ninterrupted.\n",
};

static void defaults(struct tr_opts *o)
{
	char self[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	memset(o, 0, sizeof(*o));
	snprintf(o->trace, sizeof(o->trace), "%s", tr_default_trace());
	o->engines = 4;
	o->block_bytes = 64ull << 20;
	o->systems = (1u << TR_SYSTEMS) - 1;
	o->path = BC_TCP_MSG;
	o->nodes = 3;
	o->fsync = true;
	snprintf(o->ns, sizeof(o->ns), "llama3-8b:bf16:bs512");
	self[k > 0 ? k : 0] = '\0';
	slash = strrchr(self, '/');
	if (slash != NULL) {
		*slash = '\0';
	}
	snprintf(o->bin, sizeof(o->bin), "%.500s", self);
}

static int parse(struct tr_opts *o, int argc, char **argv)
{
	const struct opt opts[] = {
	    {"trace", OPT_STRING, o->trace, .size = sizeof(o->trace),
	     .arg = "FILE", .def = "the shipped conversation trace",
	     .help = "JSON-lines trace, gzip or plain"},
	    {"engines", OPT_UINT, &o->engines, 1, TR_ENGINES_MAX, .def = "4",
	     .help = "inference engines (threads, one connection and one "
		     "storage node each)"},
	    {"requests", OPT_UINT, &o->requests, 0, UINT32_MAX, .def = "all",
	     .help = "replay the first N requests (0 = all)"},
	    {"speed", OPT_DOUBLE, &o->speed, .dmin = 0, .dmax = 1e9,
	     .min_open = true, .arg = "X",
	     .help = "replay arrival times X times faster"},
	    {"max-rate", OPT_FLAG, &o->max_rate,
	     .help = "issue requests back to back (the default)"},
	    {"capacity-blocks", OPT_U64, &o->capacity_blocks, 0, 1ull << 40,
	     .def = "0 = unlimited",
	     .help = "blocks each engine's tier holds; beyond it KVC.ALLOC "
		     "evicts LRU blocks (fabraft only)"},
	    {"block-bytes", OPT_U64, &o->block_bytes, 1, UINT32_MAX,
	     .def = "67108864",
	     .help = "bytes of one 512-token block (64 MiB: llama3-8b, "
		     "bf16)"},
	    {"systems", OPT_NAMES, &o->systems, .choices = systems,
	     .def = "fabraft,etcd", .help = "stores to replay against"},
	    {"json", OPT_STRING, o->json, .size = sizeof(o->json),
	     .arg = "FILE", .help = "also write the results as JSON"},
	    {"path", OPT_ENUM, &o->path, .choices = paths, .def = "tcp-msg",
	     .help = "fabraft transport: tcp-msg,tcp-rma,shm-msg,shm-rma"},
	    {"nodes", OPT_UINT, &o->nodes, 1, 9, .def = "3",
	     .help = "fabraft cluster size"},
	    {"fsync", OPT_BOOL, &o->fsync, .def = "on",
	     .help = "fabraft --fsync (etcd always syncs)"},
	    {"touch", OPT_FLAG, &o->touch,
	     .help = "KVC.LOOKUP ... TOUCH (lookups become writes that "
		     "refresh the LRU)"},
	    {"ns", OPT_STRING, o->ns, .size = sizeof(o->ns),
	     .def = "llama3-8b:bf16:bs512", .help = "KV-cache namespace"},
	    {"keep", OPT_FLAG, &o->keep,
	     .help = "keep the servers' temp dirs and logs"},
	};

	return opt_parse_main(&trace_cmd, opts, OPT_COUNT(opts), argc, argv);
}

int tr_opts_parse(int argc, char **argv, struct tr_opts *o)
{
	int done;

	defaults(o);
	done = parse(o, argc, argv);
	if (done >= 0) {
		return done == 0 ? 1 : -1;
	}
	if (o->max_rate && o->speed > 0) {
		fprintf(stderr, "fabraft-bench trace: --speed and --max-rate "
				"exclude each other\n");
		return -1;
	}
	if (o->systems == 0) {
		fprintf(stderr, "fabraft-bench trace: --systems names none\n");
		return -1;
	}
	if (o->nodes != 3 && (o->systems & (1u << TR_ETCD)) != 0) {
		fprintf(stderr, "fabraft-bench trace: note: etcd always runs "
				"3 members\n");
	}
	return 0;
}
