/* sim_demo.c — `fabraft-sim --demo`: a narrated run of a simulated cluster. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

int sim_demo(uint64_t seed);

static void show(struct sim *s, const char *what)
{
	printf("\n== %s (t=%.1f ms)\n", what, (double)sim_now(s) / 1000.0);
	printf("   node  role       term  commit  applied  last\n");
	for (raft_id id = 1; id <= 3; id++) {
		struct raft *r = sim_raft(s, id);
		if (r == NULL) {
			printf("   %4u  (down)\n", id);
			continue;
		}
		struct raft_status st;
		raft_status_get(r, &st);
		printf("   %4u  %-9s %5" PRIu64 " %7" PRIu64 " %8" PRIu64
		       " %5" PRIu64 "\n",
		       id, raft_role_name(st.role), st.term, st.commit,
		       st.applied, st.last_index);
	}
}

static raft_id wait_leader(struct sim *s)
{
	for (int i = 0; i < 400 && sim_leader(s) == 0; i++) {
		if (sim_run_until(s, sim_now(s) + 5000) != 0) {
			return 0;
		}
	}
	return sim_leader(s);
}

static int write_n(struct sim *s, int n, const char *tag)
{
	int ok = 0;
	for (int i = 0; i < n; i++) {
		char cmd[64];
		int len = snprintf(cmd, sizeof(cmd), "KVC.PUT %s-%d", tag, i);
		raft_id l = sim_leader(s);
		if (l != 0 &&
		    sim_propose(s, l, cmd, (uint32_t)len, NULL, NULL) == 0) {
			ok++;
		}
		if (sim_run_until(s, sim_now(s) + 2000) != 0) {
			return -1;
		}
	}
	return ok;
}

int sim_demo(uint64_t seed)
{
	struct sim_options o;
	sim_options_default(&o, 3, seed);
	o.drop_ppm = 10000;
	struct sim *s;
	if (sim_open(&s, &o) != 0) {
		return 2;
	}
	printf("fabraft-sim demo: 3 simulated nodes, seed %" PRIu64
	       ", 1%% message loss,\nrandom delays (reordering); every step "
	       "is checked for the Raft safety properties.\n",
	       seed);
	raft_id l = wait_leader(s);
	show(s, "first election");
	printf("   leader: node %u\n", l);
	int w = write_n(s, 50, "a");
	show(s, "50 writes proposed at the leader");
	printf("   accepted %d proposals\n", w);

	printf(
	    "\n-- crash the leader (node %u); its unsynced writes are torn\n",
	    l);
	sim_crash(s, l);
	raft_id l2 = wait_leader(s);
	show(s, "re-election");
	printf("   new leader: node %u\n", l2);
	w = write_n(s, 30, "b");

	printf("\n-- restart node %u: it recovers its durable log and catches "
	       "up\n",
	       l);
	if (sim_restart(s, l) != 0 ||
	    sim_run_until(s, sim_now(s) + 300000) != 0) {
		goto fail;
	}
	show(s, "node back");

	printf("\n-- isolate node %u (the leader) and keep writing to it\n",
	       l2);
	raft_id grp[1] = {l2};
	sim_partition(s, grp, 1);
	for (int i = 0; i < 10; i++) {
		if (sim_propose(s, l2, "lost?", 5, NULL, NULL) != 0 ||
		    sim_run_until(s, sim_now(s) + 2000) != 0) {
			break;
		}
	}
	if (sim_run_until(s, sim_now(s) + 800000) != 0) {
		goto fail;
	}
	show(s, "the majority elects a new leader; the isolated one cannot "
		"commit");

	printf("\n-- heal the partition and converge\n");
	if (sim_converge(s, 60ull * 1000 * 1000) != 0) {
		goto fail;
	}
	show(s, "converged");
	printf("\n   acknowledged writes: %" PRIu64
	       ", all applied on every node at the same index\n"
	       "   invariants held for %" PRIu64 " steps (%" PRIu64
	       " message deliveries)\n",
	       sim_acked(s), sim_steps(s), sim_deliveries(s));
	sim_close(s);
	return 0;
fail:
	printf("VIOLATION: %s\n", sim_violation(s));
	sim_trace_dump(s, stdout, 40);
	sim_close(s);
	return 1;
}
