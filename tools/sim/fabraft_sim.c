/* fabraft_sim.c — `fabraft-sim`: randomized safety runs, replay, benchmark. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opt.h"
#include "sim.h"

struct args {
	uint64_t seed;	   /* first seed */
	uint64_t seeds;	   /* how many consecutive seeds */
	uint64_t steps;	   /* steps per seed */
	uint32_t nodes;	   /* cluster size */
	uint32_t drop_ppm; /* message loss */
	uint32_t dup_ppm;  /* duplication */
	double long_hours; /* --long: run seeds until this many hours */
	bool bench;	   /* --bench */
	bool demo;	   /* --demo: narrate one run */
	bool quiet;
	bool all;	     /* --all-features: every feature on, every seed */
	bool base;	     /* --base: the paper's algorithm only */
	uint32_t damage_ppm; /* --damage: storage faults per restart */
	bool no_recover;     /* --no-recover: damaged nodes forget it */
	uint32_t silent_ppm; /* --silent-damage: lost tails, slot kept */
	uint32_t slot_loss_ppm;	 /* --slot-loss: ... and the slot lost too */
	uint32_t slot_ahead_ppm; /* --slot-ahead: false positives at crashes */
	uint32_t power_ppm;	 /* --power-cut: whole-cluster power loss */
};

static const struct opt_cmd sim_cmd = {
    .prog = "fabraft-sim",
    .usage = "fabraft-sim [options]",
    .about = "Deterministic Raft cluster simulator with fault "
	     "injection.\nEvery step is checked for Election Safety, "
	     "Log Matching,\nLeader Completeness, State Machine "
	     "Safety, monotonic commit\nand that acknowledged writes "
	     "are applied everywhere.",
    .epilog = "\nA failing seed prints the violated invariant and the "
	      "last\nevents; `fabraft-sim --seed N --steps M` replays "
	      "it alone.\n",
};

/* opt_parse_main() into @a: an exit code, or -1 to run. */
static int parse_args(int argc, char **argv, struct args *a)
{
	const struct opt opts[] = {
	    {"seed", OPT_U64, &a->seed, 0, UINT64_MAX, .def = "1",
	     .help = "first seed"},
	    {"seeds", OPT_U64, &a->seeds, 1, UINT64_MAX, .arg = "K", .def = "1",
	     .help = "run K consecutive seeds"},
	    {"steps", OPT_U64, &a->steps, 0, UINT64_MAX, .arg = "M",
	     .def = "10000", .help = "steps per seed"},
	    {"nodes", OPT_UINT, &a->nodes, 1, SIM_MAX_NODES, .def = "5",
	     .help = "cluster size 1..9"},
	    {"drop", OPT_UINT, &a->drop_ppm, 0, 500000, .arg = "PPM",
	     .def = "20000", .help = "message loss per million"},
	    {"dup", OPT_UINT, &a->dup_ppm, 0, 500000, .arg = "PPM",
	     .def = "10000", .help = "message duplication per million"},
	    {"all-features", OPT_FLAG, &a->all,
	     .help = "every seed runs pre-vote, check-quorum, lease and "
		     "ReadIndex reads, snapshots with chunked InstallSnapshot, "
		     "membership changes and leadership transfers (default: "
		     "each seed draws its own mix)"},
	    {"base", OPT_FLAG, &a->base,
	     .help = "the paper's algorithm only: no pre-vote, check-quorum, "
		     "snapshots, reads, changes or transfers"},
	    {"damage", OPT_UINT, &a->damage_ppm, 0, 1000000, .arg = "PPM",
	     .def = "0",
	     .help = "storage faults: per million restarts, the node's "
		     "durable log is damaged from a random index (bit flip, "
		     "lost or misdirected write; at most a minority at once)"},
	    {"silent-damage", OPT_UINT, &a->silent_ppm, 0, 1000000,
	     .arg = "PPM", .def = "0",
	     .help = "per million restarts, the last entries flushed since "
		     "the last term/vote save are lost; the wal's tail slot "
		     "makes the node recover (a minority at once)"},
	    {"slot-loss", OPT_UINT, &a->slot_loss_ppm, 0, 1000000, .arg = "PPM",
	     .def = "0",
	     .help = "per million such losses, the slot is lost too: "
		     "undetected, unbounded (unsafe, shows the cost)"},
	    {"slot-ahead", OPT_UINT, &a->slot_ahead_ppm, 0, 1000000,
	     .arg = "PPM", .def = "0",
	     .help = "per million crashes mid-flush, the slot landed and "
		     "the batch not: recovering, nothing lost"},
	    {"power-cut", OPT_UINT, &a->power_ppm, 0, 1000000, .arg = "PPM",
	     .def = "0",
	     .help = "per million steps, every node loses power mid-flush "
		     "(fails unless a cut left every node recovering)"},
	    {"no-recover", OPT_FLAG, &a->no_recover,
	     .help = "a damaged node restarts as if its shortened log were "
		     "all it had (no recovering state: unsafe, for checking "
		     "the checker)"},
	    {"long", OPT_DOUBLE, &a->long_hours, .dmin = 0, .dmax = HUGE_VAL,
	     .min_open = true, .arg = "HOURS",
	     .help = "keep running new seeds for HOURS"},
	    {"bench", OPT_FLAG, &a->bench,
	     .help = "measure deliveries/s, 5 nodes under faults"},
	    {"demo", OPT_FLAG, &a->demo,
	     .help = "narrate one run: elections, faults, commits"},
	    {"quiet", OPT_FLAG, &a->quiet,
	     .help = "print only failures and the summary"},
	};

	*a = (struct args){.seed = 1,
			   .seeds = 1,
			   .steps = 10000,
			   .nodes = 5,
			   .drop_ppm = 20000,
			   .dup_ppm = 10000};
	return opt_parse_main(&sim_cmd, opts, OPT_COUNT(opts), argc, argv);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

struct result {
	uint64_t steps;
	uint64_t deliveries;
	uint64_t acked;
	uint64_t reads;
	uint64_t installs;
	uint64_t snapshots;
	uint64_t changes;
	uint64_t pauses;      /* process pauses injected */
	uint64_t slot_claims; /* restarts recovering from a false positive */
	uint64_t power_cuts;  /* whole-cluster power cuts */
	uint64_t full_cuts;   /* ... that left every node recovering */
	uint64_t sim_us;      /* virtual time the seeds covered */
};

/* The storage faults of the command line. */
static void storage_faults(const struct args *a, struct sim_fault_rates *f)
{
	f->damage_ppm = a->damage_ppm;
	f->silent_damage_ppm = a->silent_ppm;
	f->slot_loss_ppm = a->slot_loss_ppm;
	f->slot_ahead_ppm = a->slot_ahead_ppm;
	f->power_cut_ppm = a->power_ppm;
}

/* One seed: random faults for `steps`, then heal and converge. */
static int run_seed(const struct args *a, uint64_t seed, bool converge,
		    struct result *res)
{
	struct sim_options o;
	sim_options_default(&o, a->nodes, seed);
	o.drop_ppm = a->drop_ppm;
	o.dup_ppm = a->dup_ppm;
	/* Each seed also picks its own shape, so that rare interleavings
	 * (one entry per message, a window of one, slow disks, elections
	 * racing with replication) all get visited. */
	uint64_t shape = seed * 0x9E3779B97F4A7C15ull;
	static const uint32_t batch[] = {1, 2, 8, 32};
	static const uint32_t window[] = {1, 2, 16, 64};
	static const uint32_t disk_max[] = {500, 5000, 20000, 100};
	o.max_batch_entries = batch[(shape >> 8) & 3];
	o.max_inflight = window[(shape >> 16) & 3];
	o.disk_max_us = disk_max[(shape >> 24) & 3];
	o.election_ticks = 5 + (uint32_t)((shape >> 32) % 10);
	struct sim_fault_rates f;
	sim_fault_rates_default(&f);
	if ((shape >> 40) & 1) {
		f.crash_ppm *= 5; /* crash-heavy seeds */
		f.restart_ppm *= 2;
	}
	/* Features: each seed draws its own mix unless told otherwise. */
	uint64_t feat = a->all ? UINT64_MAX : a->base ? 0 : shape >> 44;
	static const uint32_t threshold[] = {16, 64, 256, 0};
	static const uint32_t trailing[] = {0, 4, 32, 8};
	static const uint32_t chunk[] = {16, 64, 1024, 40};
	o.pre_vote = feat & 1;
	o.check_quorum = (feat >> 1) & 1;
	o.lease_ticks = o.check_quorum && ((feat >> 2) & 1) && !a->base
			    ? o.election_ticks - 3
			    : 0;
	o.snapshot_threshold = a->base ? 0 : threshold[(shape >> 48) & 3];
	if (a->all && o.snapshot_threshold == 0) {
		o.snapshot_threshold = 32;
	}
	o.snapshot_trailing = trailing[(shape >> 50) & 3];
	o.snapshot_chunk_bytes = chunk[(shape >> 52) & 3];
	if (a->nodes > 2 && ((feat >> 3) & 1)) {
		o.n_voters = a->nodes - 1; /* one node starts outside */
	}
	if (a->base) {
		f.read_ppm = f.change_ppm = f.transfer_ppm = 0;
	}
	storage_faults(a, &f);
	o.recover = !a->no_recover;
	struct sim *s;
	int rv = sim_open(&s, &o);
	if (rv != 0) {
		fprintf(stderr, "fabraft-sim: cannot start: %s\n",
			fr_strerror(rv));
		return 2;
	}
	rv = sim_run_random(s, &f, a->steps);
	if (rv == 0 && converge) {
		rv = sim_converge(s, 120ull * 1000 * 1000);
	}
	res->steps += sim_steps(s);
	res->deliveries += sim_deliveries(s);
	res->sim_us += sim_now(s);
	res->acked += sim_acked(s);
	res->reads += sim_reads_done(s);
	res->installs += sim_installs(s);
	res->snapshots += sim_snapshots(s);
	res->changes += sim_changes(s);
	res->pauses += sim_pauses(s);
	uint64_t full = 0;
	res->power_cuts += sim_power_cuts(s, &full);
	res->full_cuts += full;
	res->slot_claims += sim_slot_claims(s);
	if (rv != 0) {
		printf("seed %" PRIu64 ": VIOLATION after %" PRIu64
		       " steps (t=%" PRIu64 "us): %s\n",
		       seed, sim_steps(s), sim_now(s),
		       sim_violation(s) ? sim_violation(s) : fr_strerror(rv));
		printf("nodes:\n");
		sim_status_dump(s, stdout);
		printf("last events:\n");
		sim_trace_dump(s, stdout, 40);
		printf("replay: fabraft-sim --seed %" PRIu64 " --steps %" PRIu64
		       " --nodes %u --drop %u --dup %u --damage %u"
		       " --silent-damage %u --slot-loss %u --slot-ahead %u"
		       " --power-cut %u%s%s\n",
		       seed, a->steps, a->nodes, a->drop_ppm, a->dup_ppm,
		       a->damage_ppm, a->silent_ppm, a->slot_loss_ppm,
		       a->slot_ahead_ppm, a->power_ppm,
		       a->no_recover ? " --no-recover" : "",
		       a->all	 ? " --all-features"
		       : a->base ? " --base"
				 : "");
		sim_close(s);
		return 1;
	}
	sim_close(s);
	return 0;
}

static int bench(struct args *a)
{
	a->nodes = 5;
	struct result r = {0};
	double t0 = now_s();
	double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	uint64_t seed = a->seed;
	while (now_s() - t0 < 5.0) {
		if (run_seed(a, seed++, false, &r) != 0) {
			return 1;
		}
	}
	double dt = now_s() - t0;
	double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("bench: 5 nodes, drop %u ppm, dup %u ppm, crashes and "
	       "partitions: %" PRIu64 " seeds, %" PRIu64 " steps, %" PRIu64
	       " deliveries in %.2f s\n",
	       a->drop_ppm, a->dup_ppm, seed - a->seed, r.steps, r.deliveries,
	       dt);
	printf("bench: %.0f deliveries/s, %.0f steps/s wall (all invariants "
	       "checked after every step)\n",
	       (double)r.deliveries / dt, (double)r.steps / dt);
	/* On a shared machine the wall rate depends on the neighbours; the
	 * rate per CPU-second is what one idle core would do. */
	printf("bench: %.0f deliveries per CPU-second (%.2f s CPU of %.2f s "
	       "wall)\n",
	       (double)r.deliveries / cpu, cpu, dt);
	return 0;
}

int sim_demo(uint64_t seed);

int main(int argc, char **argv)
{
	struct args a;
	int done = parse_args(argc, argv, &a);
	if (done >= 0) {
		return done;
	}
	if (a.bench) {
		return bench(&a);
	}
	if (a.demo) {
		return sim_demo(a.seed);
	}
	double t0 = now_s();
	double deadline = a.long_hours > 0 ? t0 + a.long_hours * 3600 : 0;
	struct result r = {0};
	uint64_t failed = 0, ran = 0;
	for (uint64_t seed = a.seed;; seed++) {
		if (deadline > 0 ? now_s() >= deadline
				 : seed - a.seed >= a.seeds) {
			break;
		}
		int rv = run_seed(&a, seed, true, &r);
		ran++;
		if (rv != 0) {
			failed++;
			if (rv == 2 || deadline == 0) {
				/* keep going through the sweep; report all */
			}
		} else if (!a.quiet && a.seeds <= 10 && deadline == 0) {
			printf("seed %" PRIu64 ": ok\n", seed);
		}
		if (deadline > 0 && ran % 100 == 0) {
			printf("long: %" PRIu64 " seeds, %" PRIu64
			       " steps, %" PRIu64 " failed, %.0f s\n",
			       ran, r.steps, failed, now_s() - t0);
			fflush(stdout);
		}
	}
	printf("fabraft-sim: %" PRIu64 " seeds x %" PRIu64
	       " random steps, each then healed to convergence (%" PRIu64
	       " steps in all, %" PRIu64 " deliveries, %" PRIu64
	       " acknowledged writes, %.2f simulated "
	       "hours) in %.1f s\n",
	       ran, a.steps, r.steps, r.deliveries, r.acked,
	       (double)r.sim_us / 3.6e9, now_s() - t0);
	printf("fabraft-sim: checked %" PRIu64 " linearizable reads, %" PRIu64
	       " snapshots taken, %" PRIu64 " installed, %" PRIu64
	       " membership changes applied, %" PRIu64 " process pauses\n",
	       r.reads, r.snapshots, r.installs, r.changes, r.pauses);
	if (a.slot_ahead_ppm > 0 || a.power_ppm > 0) {
		printf("fabraft-sim: %" PRIu64 " restarts recovering from a "
		       "tail slot whose batch never landed, %" PRIu64
		       " power cuts (%" PRIu64 " left every node recovering)\n",
		       r.slot_claims, r.power_cuts, r.full_cuts);
	}
	printf("%" PRIu64 " passed, %" PRIu64 " failed\n", ran - failed,
	       failed);
	if (a.power_ppm > 0 && r.full_cuts == 0) {
		/* The scenario the conditional votes exist for never ran. */
		printf("FAIL --power-cut: no cut left every node recovering\n");
		return 1;
	}
	return failed == 0 ? 0 : 1;
}
