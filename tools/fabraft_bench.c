/* fabraft_bench.c — `fabraft-bench <suite>`: dispatches to each benchmark. */
#include <stdio.h>
#include <string.h>

/*
 * Each suite lives in tools/bench_<suite>.c and defines
 *   int bench_<suite>_main(int argc, char **argv);
 * CMake defines FABRAFT_BENCH_<SUITE> when that file exists, so suites are
 * added without editing this dispatcher's callers.
 */
struct suite {
	const char *name;		    /* subcommand */
	const char *help;		    /* one line */
	int (*main)(int argc, char **argv); /* NULL when not built */
};

#define DECLARE(s) int bench_##s##_main(int argc, char **argv);
#ifdef FABRAFT_BENCH_WAL
DECLARE(wal)
#endif
#ifdef FABRAFT_BENCH_KVCACHE
DECLARE(kvcache)
#endif
#ifdef FABRAFT_BENCH_FABRIC
DECLARE(fabric)
#endif
#ifdef FABRAFT_BENCH_CLUSTER
DECLARE(cluster)
#endif

static const struct suite suites[] = {
    {"wal", "durable log: entries/s and MB/s against raw pwrite+fdatasync",
#ifdef FABRAFT_BENCH_WAL
     bench_wal_main
#else
     NULL
#endif
    },
    {"kvcache", "state machine: apply rate, lookup latency, snapshot",
#ifdef FABRAFT_BENCH_KVCACHE
     bench_kvcache_main
#else
     NULL
#endif
    },
    {"fabric", "transport: round trips and throughput per provider/path",
#ifdef FABRAFT_BENCH_FABRIC
     bench_fabric_main
#else
     NULL
#endif
    },
    {"cluster", "replicated cluster against etcd and redis-server",
#ifdef FABRAFT_BENCH_CLUSTER
     bench_cluster_main
#else
     NULL
#endif
    },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fabraft-bench <suite> [options]   (<suite> --help "
		   "for its options)\n\nsuites:\n");
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		fprintf(f, "  %-8s %s%s\n", suites[i].name, suites[i].help,
			suites[i].main ? "" : " (not built)");
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
		if (strcmp(argv[1], suites[i].name) != 0) {
			continue;
		}
		if (suites[i].main == NULL) {
			fprintf(stderr,
				"fabraft-bench: suite '%s' is not built "
				"in this version\n",
				argv[1]);
			return 2;
		}
		return suites[i].main(argc - 1, argv + 1);
	}
	fprintf(stderr, "fabraft-bench: unknown suite '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
