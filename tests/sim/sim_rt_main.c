/* sim_rt_main.c — fabraft-simrt: random runtime-mode runs over many seeds,
 * each printing its replay command when it fails. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node.h"
#include "sim_rt.h"

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int mode_of(const char *s)
{
	return strcmp(s, "stale") == 0	 ? NODE_READ_STALE
	       : strcmp(s, "lease") == 0 ? NODE_READ_LEASE
	       : strcmp(s, "log") == 0	 ? NODE_READ_LOG
					 : NODE_READ_INDEX;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fabraft-simrt [--seed N] [--seeds N] [--nodes N] "
		"[--mode index|lease|log|stale] [--seconds SIM_S] "
		"[--budget CPU_S] [--pauses PPM] [--kvc PPM] [--no-faults] "
		"[--verbose] [--full-check-only] [--corrupt-apply NODE "
		"(test-only mutation)]\n");
	exit(2);
}

struct args {
	uint64_t seed;	/* first seed */
	uint64_t seeds; /* how many */
	double budget;	/* CPU seconds, 0 = none */
};

static void parse(int argc, char **argv, struct sim_rt_options *o,
		  struct args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(k, "--no-faults") == 0) {
			o->faults = false;
			continue;
		}
		if (strcmp(k, "--full-check-only") == 0) {
			o->full_only = true;
			continue;
		}
		if (strcmp(k, "--verbose") == 0) {
			o->verbose = true;
			continue;
		}
		if (v == NULL) {
			usage();
		}
		i++;
		if (strcmp(k, "--seed") == 0) {
			a->seed = strtoull(v, NULL, 0);
		} else if (strcmp(k, "--seeds") == 0) {
			a->seeds = strtoull(v, NULL, 0);
		} else if (strcmp(k, "--nodes") == 0) {
			o->n_nodes = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--mode") == 0) {
			o->read_mode = mode_of(v);
		} else if (strcmp(k, "--seconds") == 0) {
			o->duration_us = strtoull(v, NULL, 0) * 1000000u;
		} else if (strcmp(k, "--budget") == 0) {
			a->budget = strtod(v, NULL);
		} else if (strcmp(k, "--kvc") == 0) {
			o->kvc_ppm = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--corrupt-apply") == 0) {
			o->corrupt_node = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--pauses") == 0) {
			o->pause_ppm = (uint32_t)strtoul(v, NULL, 0);
		} else {
			usage();
		}
	}
	if (o->n_nodes < 3 || o->n_nodes > SIM_RT_NODES_MAX ||
	    o->corrupt_node > o->n_nodes) {
		usage();
	}
}

static void print_failure(const struct sim_rt_options *o,
			  const struct sim_rt_result *r)
{
	printf("FAIL seed %" PRIu64 ": %s\n  replay: "
	       "fabraft-simrt --seed %" PRIu64 " --nodes %u --mode %s "
	       "--seconds %" PRIu64 " --pauses %u --kvc %u%s",
	       o->seed, r->why, o->seed, o->n_nodes,
	       node_read_mode_name(o->read_mode), o->duration_us / 1000000u,
	       o->pause_ppm, o->kvc_ppm, o->faults ? "" : " --no-faults");
	if (o->corrupt_node != 0) {
		printf(" --corrupt-apply %u", o->corrupt_node);
	}
	if (o->full_only) {
		printf(" --full-check-only");
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	struct sim_rt_options o;
	struct args a = {.seed = 1, .seeds = 1};
	uint64_t dl = 0, ops = 0, sim_us = 0, held = 0, lin_ops = 0,
		 lin_unknown = 0;
	uint32_t lin_max = 0;
	double lin_cpu = 0, lin_cpu_max = 0;
	double t0 = cpu_s();
	uint32_t failed = 0, ran = 0;

	sim_rt_options_default(&o, 1);
	parse(argc, argv, &o, &a);
	for (uint64_t k = 0; k < a.seeds; k++) {
		struct sim_rt_result r;
		if (a.budget > 0 && cpu_s() - t0 > a.budget) {
			break;
		}
		o.seed = a.seed + k;
		ran++;
		if (sim_rt_run(&o, &r) != 0) {
			failed++;
			print_failure(&o, &r);
		}
		dl += r.deliveries;
		ops += r.ops_ok;
		sim_us += r.sim_us;
		held += r.held;
		lin_ops += r.lin_ops;
		lin_unknown += r.lin_unknown;
		lin_max = r.lin_ops > lin_max ? r.lin_ops : lin_max;
		lin_cpu += r.lin_cpu_s;
		lin_cpu_max =
		    r.lin_cpu_s > lin_cpu_max ? r.lin_cpu_s : lin_cpu_max;
	}
	double cpu = cpu_s() - t0;
	printf("fabraft-simrt: %u seeds, %s reads, %" PRIu64
	       " deliveries, %" PRIu64 " client ops answered, %.2f simulated "
	       "hours in %.1f CPU s: %.0f deliveries per CPU second\n",
	       ran, node_read_mode_name(o.read_mode), dl, ops,
	       (double)sim_us / 3.6e9, cpu, cpu > 0 ? (double)dl / cpu : 0.0);
	printf("client requests held by a paused node and handled after it "
	       "resumed: %" PRIu64 "\n",
	       held);
	printf("linearizability: %" PRIu64 " register operations checked "
	       "(%" PRIu64 " of unknown outcome; at most %u in one seed) in "
	       "%.2f CPU s (at most %.3f s for one seed)\n",
	       lin_ops, lin_unknown, lin_max, lin_cpu, lin_cpu_max);
	printf("%u passed, %u failed\n", ran - failed, failed);
	return failed != 0;
}
