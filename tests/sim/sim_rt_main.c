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
		"[--budget CPU_S] [--pauses PPM] [--kvc PPM] [--txn PPM] "
		"[--no-faults] [--damage PPM] [--damage-unsafe] "
		"[--silent-damage PPM] [--slot-loss PPM] [--slot-ahead PPM] "
		"[--power-cut PPM] "
		"[--no-forward] [--snapshot-entries N] [--expect-snapshots] "
		"[--expect-forwarding] [--mutate-fwd-unsent] "
		"[--mutate-tick-lease] [--verbose] "
		"[--full-check-only] [--corrupt-apply NODE (test-only "
		"mutation)]\n");
	exit(2);
}

struct args {
	uint64_t seed;		/* first seed */
	uint64_t seeds;		/* how many */
	double budget;		/* CPU seconds, 0 = none */
	bool expect_snapshots;	/* fail unless snapshots were taken and
				   installed */
	bool expect_forwarding; /* fail unless both outcomes were seen */
};

/* Flags without a value; false when @k is none of them. */
static bool parse_flag(const char *k, struct sim_rt_options *o, struct args *a)
{
	if (strcmp(k, "--no-faults") == 0) {
		o->faults = false;
	} else if (strcmp(k, "--verbose") == 0) {
		o->verbose = true;
	} else if (strcmp(k, "--full-check-only") == 0) {
		o->full_only = true;
	} else if (strcmp(k, "--no-forward") == 0) {
		o->forward = false;
	} else if (strcmp(k, "--mutate-fwd-unsent") == 0) {
		o->mutate_fwd_unsent = true;
	} else if (strcmp(k, "--damage-unsafe") == 0) {
		o->damage_unsafe = true;
	} else if (strcmp(k, "--mutate-tick-lease") == 0) {
		o->mutate_tick_lease = true;
	} else if (strcmp(k, "--expect-snapshots") == 0) {
		a->expect_snapshots = true;
	} else if (strcmp(k, "--expect-forwarding") == 0) {
		a->expect_forwarding = true;
	} else {
		return false;
	}
	return true;
}

static void parse(int argc, char **argv, struct sim_rt_options *o,
		  struct args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (parse_flag(k, o, a)) {
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
		} else if (strcmp(k, "--txn") == 0) {
			o->txn_ppm = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--kvc") == 0) {
			o->kvc_ppm = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--corrupt-apply") == 0) {
			o->corrupt_node = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--snapshot-entries") == 0) {
			o->snapshot_entries = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--silent-damage") == 0) {
			o->silent_damage_ppm = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--slot-loss") == 0) {
			o->slot_loss_ppm = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--slot-ahead") == 0) {
			o->slot_ahead_ppm = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--power-cut") == 0) {
			o->power_cut_ppm = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--damage") == 0) {
			o->damage_ppm = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(k, "--pauses") == 0) {
			o->pause_ppm = (uint32_t)strtoul(v, NULL, 0);
		} else {
			usage();
		}
	}
	if (o->n_nodes < 3 || o->n_nodes > SIM_RT_NODES_MAX ||
	    o->corrupt_node > o->n_nodes || o->slot_loss_ppm > 1000000 ||
	    o->slot_ahead_ppm > 1000000 || o->power_cut_ppm > 1000000) {
		usage();
	}
}

static void print_failure(const struct sim_rt_options *o,
			  const struct sim_rt_result *r)
{
	printf(
	    "FAIL seed %" PRIu64 ": %s\n  replay: "
	    "fabraft-simrt --seed %" PRIu64 " --nodes %u --mode %s "
	    "--seconds %" PRIu64 " --pauses %u --kvc %u --txn %u "
	    "--snapshot-entries %u --damage %u --silent-damage %u%s%s%s%s%s%s",
	    o->seed, r->why, o->seed, o->n_nodes,
	    node_read_mode_name(o->read_mode), o->duration_us / 1000000u,
	    o->pause_ppm, o->kvc_ppm, o->txn_ppm,
	    o->snapshot_entries ? o->snapshot_entries : 300, o->damage_ppm,
	    o->silent_damage_ppm, o->faults ? "" : " --no-faults",
	    o->forward ? "" : " --no-forward",
	    o->mutate_fwd_unsent ? " --mutate-fwd-unsent" : "",
	    o->full_only ? " --full-check-only" : "",
	    o->mutate_tick_lease ? " --mutate-tick-lease" : "",
	    o->damage_unsafe ? " --damage-unsafe" : "");
	if (o->corrupt_node != 0) {
		printf(" --corrupt-apply %u", o->corrupt_node);
	}
	if (o->slot_loss_ppm || o->slot_ahead_ppm || o->power_cut_ppm) {
		printf(" --slot-loss %u --slot-ahead %u --power-cut %u",
		       o->slot_loss_ppm, o->slot_ahead_ppm, o->power_cut_ppm);
	}
	printf("\n");
}

/* The totals over every seed. */
struct totals {
	uint64_t dl, ops, sim_us;
	uint64_t streams, resets, eofs, forwarded, unknown, unexecuted;
	uint64_t snapshots, installed, loads, txns;
	uint64_t held, lin_ops, lin_unknown;
	uint32_t lin_max;
	double lin_cpu, lin_cpu_max;
	uint64_t damages, repairs, silent;
	uint64_t slot_claims, power_cuts, full_cuts;
};

static void add(struct totals *t, const struct sim_rt_result *r)
{
	t->dl += r->deliveries;
	t->ops += r->ops_ok;
	t->sim_us += r->sim_us;
	t->streams += r->fwd_streams;
	t->resets += r->fwd_resets;
	t->eofs += r->fwd_eofs;
	t->forwarded += r->forwarded;
	t->unknown += r->fwd_unknown;
	t->unexecuted += r->fwd_unexecuted;
	t->snapshots += r->snapshots;
	t->installed += r->snapshots_installed;
	t->txns += r->txns_ok;
	t->loads += r->snapshot_loads;
	t->damages += r->damages;
	t->repairs += r->repairs;
	t->silent += r->silent_damages;
	t->slot_claims += r->slot_claims;
	t->power_cuts += r->power_cuts;
	t->full_cuts += r->full_cuts;
	t->held += r->held;
	t->lin_ops += r->lin_ops;
	t->lin_unknown += r->lin_unknown;
	t->lin_max = r->lin_ops > t->lin_max ? r->lin_ops : t->lin_max;
	t->lin_cpu += r->lin_cpu_s;
	t->lin_cpu_max =
	    r->lin_cpu_s > t->lin_cpu_max ? r->lin_cpu_s : t->lin_cpu_max;
}

/* Pauses around client requests, storage faults and what the history
 * check cost. */
static void print_checks(const struct totals *t)
{
	printf("client requests held by a paused node and handled after it "
	       "resumed: %" PRIu64 "\n",
	       t->held);
	if (t->damages > 0 || t->silent > 0) {
		printf("damage: %" PRIu64 " logs damaged at a restart, %" PRIu64
		       " repaired from the leader, %" PRIu64 " tails lost\n",
		       t->damages, t->repairs, t->silent);
	}
	if (t->slot_claims > 0 || t->power_cuts > 0) {
		printf("tail slot: %" PRIu64 " restarts recovering from a slot "
		       "whose batch never landed, %" PRIu64
		       " power cuts (%" PRIu64 " left every node recovering)\n",
		       t->slot_claims, t->power_cuts, t->full_cuts);
	}
	printf("linearizability: %" PRIu64 " register operations checked "
	       "(%" PRIu64 " of unknown outcome; at most %u in one seed) in "
	       "%.2f CPU s (at most %.3f s for one seed)\n",
	       t->lin_ops, t->lin_unknown, t->lin_max, t->lin_cpu,
	       t->lin_cpu_max);
}

/* What the run was configured to show and did not: 0 or 1. */
static int expectations(const struct args *a, const struct totals *t,
			const struct sim_rt_options *o)
{
	int bad = 0;
	uint32_t damage_ppm = o->damage_ppm;

	/* --power-cut must reach the case conditional votes exist for. */
	if (o->power_cut_ppm > 0 && t->full_cuts == 0) {
		printf("FAIL --power-cut: %" PRIu64 " cuts, none left every "
		       "node recovering\n",
		       t->power_cuts);
		bad = 1;
	}
	/* --damage must reach the runtime's recovering path. */
	if (damage_ppm > 0 && (t->damages == 0 || t->repairs == 0)) {
		printf("FAIL --damage: %" PRIu64 " logs damaged, %" PRIu64
		       " repaired (each must be > 0)\n",
		       t->damages, t->repairs);
		bad = 1;
	}
	if (a->expect_snapshots &&
	    (t->snapshots == 0 || t->installed == 0 || t->loads == 0)) {
		printf("FAIL --expect-snapshots: %" PRIu64 " taken, %" PRIu64
		       " installed, %" PRIu64
		       " loaded at a restart (each must be > 0)\n",
		       t->snapshots, t->installed, t->loads);
		bad = 1;
	}
	if (a->expect_forwarding &&
	    (t->forwarded == 0 || t->unknown == 0 || t->unexecuted == 0)) {
		printf("FAIL --expect-forwarding: %" PRIu64
		       " forwarded, %" PRIu64 " outcome unknown, %" PRIu64
		       " not executed (each must be > 0)\n",
		       t->forwarded, t->unknown, t->unexecuted);
		bad = 1;
	}
	return bad;
}

int main(int argc, char **argv)
{
	struct sim_rt_options o;
	struct args a = {.seed = 1, .seeds = 1};
	struct totals t = {0};
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
		add(&t, &r);
	}
	double cpu = cpu_s() - t0;
	printf("fabraft-simrt: %u seeds, %s reads, %" PRIu64
	       " deliveries, %" PRIu64 " client ops answered, %.2f simulated "
	       "hours in %.1f CPU s: %.0f deliveries per CPU second\n",
	       ran, node_read_mode_name(o.read_mode), t.dl, t.ops,
	       (double)t.sim_us / 3.6e9, cpu,
	       cpu > 0 ? (double)t.dl / cpu : 0.0);
	printf("forwarding: %" PRIu64 " requests over %" PRIu64
	       " streams (%" PRIu64 " reset, %" PRIu64
	       " closed by the leader), %" PRIu64
	       " answered outcome unknown, %" PRIu64 " not executed; "
	       "%" PRIu64 " TXNs acknowledged; "
	       "snapshots: %" PRIu64 " taken, %" PRIu64 " installed, %" PRIu64
	       " loaded at a restart\n",
	       t.forwarded, t.streams, t.resets, t.eofs, t.unknown,
	       t.unexecuted, t.txns, t.snapshots, t.installed, t.loads);
	print_checks(&t);
	printf("%u passed, %u failed\n", ran - failed, failed);
	return failed != 0 || expectations(&a, &t, &o) != 0;
}
