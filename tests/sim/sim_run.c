/* sim_run.c — randomized runs: faults and proposals mixed into the steps. */
#include <string.h>

#include "sim_damage.h"
#include "sim_private.h"

void sim_fault_rates_default(struct sim_fault_rates *f)
{
	f->propose_ppm = 20000; /* ~1 proposal per 50 steps */
	f->partition_ppm = 300;
	f->heal_ppm = 1500;
	f->crash_ppm = 200;
	f->restart_ppm = 1500;
	f->crash_on_commit_ppm = 5000;
	f->read_ppm = 20000;
	f->change_ppm = 300;
	f->transfer_ppm = 150;
	f->pause_ppm = 500;
	f->damage_ppm = 0; /* storage faults: opt in (fabraft-sim --damage) */
	f->silent_damage_ppm = 0; /* fabraft-sim --silent-damage */
	f->slot_loss_ppm = 0;	  /* --slot-loss */
	f->slot_ahead_ppm = 0;	  /* --slot-ahead */
	f->power_cut_ppm = 0;	  /* --power-cut */
}

static bool chance(struct sim *s, uint32_t ppm)
{
	return ppm > 0 && sim__rand(s) % 1000000u < ppm;
}

/* No configuration beyond the last applied one exists in any log, memory
 * or disk (the minority below must be one of every configuration that may
 * take effect). */
static bool configs_settled(const struct sim *s)
{
	for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (n->up) {
			struct raft_status st;
			raft_status_get(n->raft, &st);
			if (st.config_index > s->canon_config_index) {
				return false;
			}
		}
		for (uint64_t k = 0; k < n->disk.n; k++) {
			if (n->disk.e[k].type == RAFT_ENTRY_CONFIG &&
			    n->disk.e[k].index > s->canon_config_index) {
				return false;
			}
		}
	}
	return true;
}

static uint64_t damage_rand(void *s)
{
	return sim__rand(s);
}

/* Whether node @id may lose data: only if, counting it, fewer than half
 * the voters of the latest configuration are damaged and unrepaired (or
 * recovering from a false positive: counted too, on the safe side). */
static bool damage_allowed(const struct sim *s, raft_id id)
{
	const struct raft_config *c = &s->canon_config;
	uint32_t voters = 0;
	uint32_t damaged = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		const struct raft_server *sv = &c->servers[i];
		if (sv->role == RAFT_VOTER) {
			voters++;
			damaged +=
			    s->nodes[sv->id].recover_index != 0 || sv->id == id;
		}
	}
	return sim_damage_allowed(voters, damaged);
}

/* Storage faults (sim_damage) on at most a minority at a time.  The
 * damage starts anywhere in the stored log, most often in its last few
 * entries (the last batch). */
static void maybe_damage(struct sim *s, raft_id id)
{
	struct sim_node *n = &s->nodes[id];
	if (!configs_settled(s) || n->disk.n == 0 || !damage_allowed(s, id)) {
		return;
	}
	raft_index from = sim_damage_from(damage_rand, s, n->disk.e[0].index,
					  n->disk.e[n->disk.n - 1].index);
	int rv = sim_damage(s, id, from);
	(void)rv; /* n->disk holds from: always 0 */
}

/* A lost write of node @id's last batches (sim_lose_tail): up to its last
 * four entries, never below its meta durable point.  With its tail slot
 * kept the node restarts recovering, and like any detected damage this
 * strikes at most a minority (docs/storage.md "Closing the gap" rule 3 is
 * safe while fewer than a majority lose a committed entry).  With the
 * slot lost too nothing tracks the loss, so nothing bounds it: that is
 * the residual blind spot (ctest sim_silent_damage_slot_lost_unsafe). */
static void maybe_lose_tail(struct sim *s, raft_id id,
			    const struct sim_fault_rates *f)
{
	struct sim_node *n = &s->nodes[id];
	if (!configs_settled(s) || n->disk.n == 0) {
		return;
	}
	bool slot_lost = chance(s, f->slot_loss_ppm);
	if (!slot_lost && !damage_allowed(s, id)) {
		return;
	}
	raft_index last = n->disk.e[n->disk.n - 1].index;
	raft_index from = sim_damage_tail_from(damage_rand, s, last);
	int rv = sim_lose_tail(s, id, from, slot_lost);
	(void)rv; /* FR_INVALID: all of it is below the meta durable point */
}

static void random_partition(struct sim *s)
{
	raft_id group[SIM_MAX_NODES];
	uint32_t n = 0;
	for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
		if (sim__rand(s) & 1) {
			group[n++] = id;
		}
	}
	sim_partition(s, group, n);
}

/* Whether node @id is up and believes it leads (a deposed leader in a
 * minority still does). */
static bool believes_leader(struct sim *s, raft_id id)
{
	struct raft_status st;
	if (!s->nodes[id].up) {
		return false;
	}
	raft_status_get(s->nodes[id].raft, &st);
	return st.role == RAFT_LEADER;
}

/* A random node that believes it leads, or 0 if none does. */
static raft_id any_leader(struct sim *s)
{
	raft_id leaders[SIM_MAX_NODES];
	uint32_t n = 0;
	for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
		if (believes_leader(s, id)) {
			leaders[n++] = id;
		}
	}
	return n > 0 ? leaders[sim__range(s, 0, n - 1)] : 0;
}

/* Propose at a random node that believes it leads: deposed leaders in a
 * minority keep accepting proposals, which builds the divergent logs that
 * the subtle cases (Figure 8) need.  Sometimes propose at any node:
 * followers must refuse. */
static void random_propose(struct sim *s)
{
	raft_id leader = any_leader(s);
	if (leader == 0 || (sim__rand(s) % 8) == 0) {
		leader = (raft_id)sim__range(s, 1, s->opt.n_nodes);
	}
	unsigned char payload[16];
	uint64_t id = ++s->proposal_id;
	uint64_t r = sim__rand(s);
	memcpy(payload, &id, 8);
	memcpy(payload + 8, &r, 8);
	(void)sim_propose(s, leader, payload, sizeof(payload), NULL, NULL);
}

/* Reads at every node that believes it leads: when a deposed leader and
 * its successor coexist, the deposed one must neither confirm a ReadIndex
 * nor trust an expired lease.  Half of them ask for the lease. */
static void random_read(struct sim *s)
{
	for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
		if (believes_leader(s, id)) {
			(void)sim_read(s, id, sim__rand(s) & 1, NULL);
		}
	}
}

/* Add a learner, promote one, or remove a member; sometimes nonsense
 * (an existing id, a non-member), which must be refused. */
static void random_change(struct sim *s)
{
	raft_id leader = any_leader(s);
	if (leader == 0) {
		return;
	}
	const struct raft_config *c = raft_config_get(s->nodes[leader].raft);
	raft_id target = (raft_id)sim__range(s, 1, s->opt.n_nodes);
	uint8_t op =
	    (uint8_t)sim__range(s, RAFT_CHANGE_ADD_LEARNER, RAFT_CHANGE_REMOVE);
	uint32_t voters = 0;
	bool voter = false;
	for (uint32_t i = 0; i < c->n; i++) {
		voters += c->servers[i].role == RAFT_VOTER;
		voter |= c->servers[i].id == target &&
			 c->servers[i].role == RAFT_VOTER;
	}
	/* Keep enough voters that the cluster stays interesting. */
	if (op == RAFT_CHANGE_REMOVE && voter && voters <= 2) {
		return;
	}
	(void)sim_change(s, leader, op, target, NULL);
}

static void random_transfer(struct sim *s)
{
	raft_id leader = any_leader(s);
	if (leader == 0) {
		return;
	}
	uint64_t r = sim__rand(s) % 8;
	if (r == 0) {
		(void)sim_transfer(s, leader, 0, true); /* abort */
	} else {
		raft_id to =
		    r < 3 ? 0 : (raft_id)sim__range(s, 1, s->opt.n_nodes);
		(void)sim_transfer(s, leader, to, false);
	}
}

/* Stop a process (the leader half the time: that is where a pause can
 * make a stale lease read) for up to four election timeouts. */
static void random_pause(struct sim *s)
{
	raft_id id = any_leader(s);
	if (id == 0 || (sim__rand(s) & 1)) {
		id = (raft_id)sim__range(s, 1, s->opt.n_nodes);
	}
	uint64_t max = 4ull * s->opt.election_ticks * s->opt.tick_us;
	sim_pause(s, id, sim__range(s, s->opt.tick_us, max));
}

/* Every node is up with a write in flight: the moment a power cut hurts
 * most (every voter restarts claiming a batch none holds). */
static bool all_flushing(const struct sim *s)
{
	for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
		if (!s->nodes[id].up || s->nodes[id].pending == NULL) {
			return false;
		}
	}
	return true;
}

static void inject_faults(struct sim *s, const struct sim_fault_rates *f)
{
	if (chance(s, f->pause_ppm)) {
		random_pause(s);
	}
	if (chance(s, f->read_ppm)) {
		random_read(s);
	}
	if (chance(s, f->change_ppm) && sim_damaged(s) == 0) {
		/* No change while a damaged node is unrepaired: removing an
		 * undamaged voter could leave the damaged ones a majority,
		 * outside the fault model (unavailable, not wrong). */
		random_change(s);
	}
	if (chance(s, f->transfer_ppm)) {
		random_transfer(s);
	}
	if (chance(s, f->propose_ppm)) {
		random_propose(s);
	}
	if (chance(s, f->partition_ppm)) {
		random_partition(s);
	}
	if (chance(s, f->heal_ppm)) {
		sim_heal(s);
	}
	if (chance(s, f->crash_ppm)) {
		sim_crash(s, (raft_id)sim__range(s, 1, s->opt.n_nodes));
	}
	if (chance(s, f->power_cut_ppm)) {
		s->power_cut_armed = true;
	}
	if (s->power_cut_armed && all_flushing(s)) {
		s->power_cut_armed = false;
		sim_power_cut_all(s);
	}
	if (chance(s, f->restart_ppm)) {
		raft_id id = (raft_id)sim__range(s, 1, s->opt.n_nodes);
		if (!s->nodes[id].up && chance(s, f->damage_ppm)) {
			maybe_damage(s, id);
		}
		if (!s->nodes[id].up && chance(s, f->silent_damage_ppm)) {
			maybe_lose_tail(s, id, f);
		}
		if (!s->nodes[id].up && sim_restart(s, id) != 0) {
			return; /* the violation is recorded; sim_step stops */
		}
	}
}

int sim_run_random(struct sim *s, const struct sim_fault_rates *f,
		   uint64_t steps)
{
	s->crash_on_commit_ppm = f->crash_on_commit_ppm;
	s->slot_ahead_ppm = f->slot_ahead_ppm;
	for (uint64_t k = 0; k < steps; k++) {
		inject_faults(s, f);
		int rv = sim_step(s);
		if (rv != 0) {
			return rv;
		}
	}
	return s->violated ? FR_CORRUPT : 0;
}

/* Every member of the leader's configuration has applied @need (servers
 * removed from the cluster are not expected to). */
static bool converged(const struct sim *s, raft_id leader, raft_index need)
{
	const struct raft_config *c = raft_config_get(s->nodes[leader].raft);
	for (uint32_t i = 0; i < c->n; i++) {
		if (s->nodes[c->servers[i].id].applied < need) {
			return false;
		}
	}
	return true;
}

/* A member of @leader's configuration is recovering from damage. */
static bool damaged_members(const struct sim *s, raft_id leader)
{
	const struct raft_config *c = raft_config_get(s->nodes[leader].raft);
	for (uint32_t i = 0; i < c->n; i++) {
		if (s->nodes[c->servers[i].id].recover_index != 0) {
			return true;
		}
	}
	return false;
}

int sim_converge(struct sim *s, uint64_t max_us)
{
	/* A crash-on-commit drawn in the last fault step would otherwise
	 * strike after the restarts below, leaving a node down for good. */
	s->crash_next = 0;
	s->crash_also = 0;
	sim_heal(s);
	if (!s->opt.auto_tick) {
		/* Manual-tick scenarios hand over to the clock here. */
		s->opt.auto_tick = true;
		for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
			if (s->nodes[id].up) {
				sim__push(s, (struct sim_event){
						 .time = s->now + id,
						 .type = SIM_TICK,
						 .node = id,
						 .incarnation =
						     s->nodes[id].incarnation});
			}
		}
	}
	for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
		if (!s->nodes[id].up) {
			int rv = sim_restart(s, id);
			if (rv != 0) {
				return rv;
			}
		}
	}
	/* No more loss or crashes: a fair network must bring everyone
	 * along. */
	s->crash_on_commit_ppm = 0;
	s->opt.drop_ppm = 0;
	s->opt.dup_ppm = 0;
	raft_index need = 0;
	for (uint64_t k = 0; k < s->acks_n; k++) {
		if (s->acks[k].index > need) {
			need = s->acks[k].index;
		}
	}
	/* Committing an entry of the final leader's term makes every
	 * earlier entry applicable everywhere.  A proposal made at a leader
	 * that is then deposed may be lost, so propose again whenever the
	 * leader or its term changes. */
	uint64_t deadline = s->now + max_us;
	raft_index target = need;
	raft_id prop_leader = 0;
	raft_term prop_term = 0;
	bool proposed = false;
	bool done = false;
	while (s->now < deadline && !s->violated) {
		raft_id leader = sim_leader(s);
		if (leader != 0) {
			struct raft_status st;
			raft_status_get(s->nodes[leader].raft, &st);
			/* A node recovering from damage under a leader of
			 * its own term needs that leader's log to reach what
			 * it had: clients keep writing. */
			bool more =
			    damaged_members(s, leader) && st.commit >= target;
			if (leader != prop_leader || st.term != prop_term ||
			    more) {
				unsigned char p[8] = {'c', 'o', 'n', 'v',
						      'e', 'r', 'g', 'e'};
				raft_index idx;
				if (sim_propose(s, leader, p, sizeof(p), &idx,
						NULL) == 0) {
					target = idx > need ? idx : need;
					prop_leader = leader;
					prop_term = st.term;
					proposed = true;
				}
			}
		}
		if (proposed && leader != 0 && converged(s, leader, target)) {
			done = true;
			break;
		}
		if (s->q_n == 0 || sim_step(s) != 0) {
			break; /* nothing left to happen, or a violation */
		}
	}
	if (s->violated) {
		return FR_CORRUPT;
	}
	if (!done) {
		sim__violate(s,
			     "liveness: after healing, not every node "
			     "applied through index %llu within %llu us",
			     (unsigned long long)target,
			     (unsigned long long)max_us);
		return FR_CORRUPT;
	}
	sim__check_committed_applied(s);
	if (s->violated) {
		return FR_CORRUPT;
	}
	/* Every acknowledged write is the entry applied at its index. */
	for (uint64_t k = 0; k < s->acks_n; k++) {
		const struct sim_ack *a = &s->acks[k];
		if (a->index > s->canon_n ||
		    s->canon_term[a->index - 1] != a->term ||
		    s->canon_hash[a->index - 1] != a->hash) {
			sim__violate(s,
				     "acknowledged write at index %llu "
				     "(term %llu) was lost",
				     (unsigned long long)a->index,
				     (unsigned long long)a->term);
			return FR_CORRUPT;
		}
	}
	return 0;
}
