/* opts.h — command line of `fabraft-bench cluster`
 * (opts.c). */
#ifndef FABRAFT_TOOLS_BENCH_CLUSTER_OPTS_H
#define FABRAFT_TOOLS_BENCH_CLUSTER_OPTS_H

#include "bench_cluster.h"

/** Parse @argc/@argv (borrowed; argv[0] is the suite name) into @o.
 * 0 to run, 1 when --help was printed, -1 on a bad flag (message
 * printed). */
int bc_opts_parse(int argc, char **argv, struct bc_opts *o);

#endif /* FABRAFT_TOOLS_BENCH_CLUSTER_OPTS_H */
