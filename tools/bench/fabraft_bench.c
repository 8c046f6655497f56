/* fabraft_bench.c — `fabraft-bench <suite>`: dispatches to each benchmark. */
#include <stdio.h>
#include <string.h>

/*
 * Each suite lives in its own file (tools/bench/bench_<suite>.c, the
 * cluster suite in tools/bench/cluster/) and defines
 *   int bench_<suite>_main(int argc, char **argv);
 */
int bench_wal_main(int argc, char **argv);
int bench_kvcache_main(int argc, char **argv);
int bench_fabric_main(int argc, char **argv);
int bench_floor_main(int argc, char **argv);
int bench_cluster_main(int argc, char **argv);
int bench_trace_main(int argc, char **argv);
int bench_client_main(int argc, char **argv);

struct suite {
	const char *name;		    /* subcommand */
	const char *help;		    /* one line */
	int (*main)(int argc, char **argv); /* the suite's entry point */
};

static const struct suite suites[] = {
    {"wal", "durable log: entries/s and MB/s against raw pwrite+fdatasync",
     bench_wal_main},
    {"kvcache", "state machine: apply rate, lookup latency, snapshot",
     bench_kvcache_main},
    {"fabric", "transport: round trips and throughput per provider/path",
     bench_fabric_main},
    {"floor", "least cost of one replicated durable write on this machine",
     bench_floor_main},
    {"cluster", "replicated cluster against etcd and redis-server",
     bench_cluster_main},
    {"trace", "production KV-cache trace replay: fabraft against etcd",
     bench_trace_main},
    {"client", "C client library per call against a raw RESP loop",
     bench_client_main},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fabraft-bench <suite> [options]   (<suite> --help "
		   "for its options)\n\nsuites:\n");
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		fprintf(f, "  %-8s %s\n", suites[i].name, suites[i].help);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (strcmp(argv[1], suites[i].name) == 0) {
			return suites[i].main(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "fabraft-bench: unknown suite '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
