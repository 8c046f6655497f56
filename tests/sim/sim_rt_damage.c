/* sim_rt_damage.c — storage faults in runtime mode: at a restart, a
 * node's simulated durable log is damaged from some index on, as the wal
 * detects and cuts it, and the node opens recovering (raft.h note 7), so
 * the runtime's recovering path (io->recovering_clear) runs; lost tails
 * and crashes leave the wal's tail slot claiming more than the log holds
 * (docs/storage.md "Closing the gap").  The model is the core-only
 * simulator's (sim_damage.h, sim_slot.c). */
#include <stdio.h>
#include <stdlib.h>

#include "sim_damage.h"
#include "sim_rt.h"

static uint64_t damage_rand(void *s)
{
	return srt_rand(s);
}

static uint32_t damaged_count(struct sim_rt *s, raft_id id)
{
	uint32_t k = 0;

	for (raft_id i = 1; i <= srt_options(s)->n_nodes; i++) {
		k += srt_node_of(s, i)->recover_index != 0 || i == id;
	}
	return k;
}

/* Drop node @sn's durable entries from index @from on. */
static void log_cut_at(struct srt_log *l, raft_index from)
{
	uint32_t keep = (uint32_t)(from - l->v[0].e.index);

	for (uint32_t i = keep; i < l->n; i++) {
		free(l->v[i].data);
	}
	l->n = keep;
}

/* The slot of the last batch that landed: the durable log's last entry. */
static struct sim_claim slot_durable(const struct srt_log *l)
{
	struct sim_claim c = {0, 0};

	if (l->n > 0) {
		c.index = l->v[l->n - 1].e.index;
		c.term = l->v[l->n - 1].e.term;
	}
	return c;
}

/* A lost write of the last batches since the meta save (sim_lose_tail in
 * the core-only simulator).  The tail slot still claims the lost last
 * entry, so the node restarts recovering, at most a minority at once
 * (rule 3 is safe while fewer than a majority lose an entry); with
 * --slot-loss the slot is lost too and nothing records or bounds it. */
static void maybe_lose_tail(struct sim_rt *s, struct srt_node *sn)
{
	struct srt_log *l = &sn->log;
	const struct sim_rt_options *o = srt_options(s);

	if (l->n == 0 || !srt_chance(s, o->silent_damage_ppm)) {
		return;
	}
	bool slot_lost = srt_chance(s, o->slot_loss_ppm);
	if (!slot_lost &&
	    !sim_damage_allowed(o->n_nodes, damaged_count(s, sn->id))) {
		return;
	}
	struct sim_claim c = slot_durable(l); /* its last flush's slot */
	raft_index from = sim_damage_unseen_from(
	    sim_damage_tail_from(damage_rand, s, c.index), sn->meta_index,
	    l->v[0].e.index, c.index);
	if (from != 0) {
		log_cut_at(l, from);
		srt_result(s)->silent_damages++;
		if (!slot_lost) {
			sim_damage_claim(&sn->recover_index, &sn->recover_term,
					 c, slot_durable(l).index);
		}
	}
}

/* Writes in flight at a crash (sim__slot_crash in the core-only
 * simulator): in a power cut mid-flush none lands but the last slot does;
 * else a random prefix lands and, with --slot-ahead, either the last
 * slot landed or none did and the slot still claims the last durable
 * entry (a torn batch that replaced entries then ends the log below it). */
void srt_crash_disk(struct sim_rt *s, struct srt_node *sn, bool power_cut)
{
	struct sim_claim c = {0, 0};
	struct sim_claim old = slot_durable(&sn->log);
	uint32_t ahead = srt_options(s)->slot_ahead_ppm;

	if (sn->wq_n > 0) {
		c = slot_durable(&sn->wq[sn->wq_n - 1].entries);
	}
	/* Unsynced writes: a random prefix reached the platter (none in a
	 * power cut mid-flush). */
	srt_disk_crash(sn, power_cut ? 0 : (uint32_t)srt_range(s, 0, sn->wq_n));
	if (c.index == 0 || (!power_cut && ahead == 0)) {
		return;
	}
	if (!power_cut && !srt_chance(s, ahead)) {
		c = old; /* no slot in flight landed */
	}
	raft_index before = sn->recover_index;
	sim_damage_claim(&sn->recover_index, &sn->recover_term, c,
			 slot_durable(&sn->log).index);
	if (sn->recover_index != before) {
		srt_result(s)->slot_claims++;
		if (srt_options(s)->verbose) {
			printf(
			    "node %u: the tail slot claims %llu/%llu, its "
			    "log ends at %llu: recovering\n",
			    sn->id, (unsigned long long)c.index,
			    (unsigned long long)c.term,
			    (unsigned long long)slot_durable(&sn->log).index);
		}
	}
}

void srt_maybe_damage(struct sim_rt *s, struct srt_node *sn)
{
	struct srt_log *l = &sn->log;
	uint32_t voters = srt_options(s)->n_nodes; /* no membership changes */

	maybe_lose_tail(s, sn);
	if (l->n == 0 || !srt_chance(s, srt_options(s)->damage_ppm) ||
	    !sim_damage_allowed(voters, damaged_count(s, sn->id))) {
		return;
	}
	raft_index first = l->v[0].e.index;
	raft_index last = l->v[l->n - 1].e.index;
	raft_index from = sim_damage_from(damage_rand, s, first, last);
	/* The wal persists X before it cuts (docs/storage.md). */
	if (!srt_options(s)->damage_unsafe) {
		if (last >= sn->recover_index) {
			sn->recover_term = 0; /* a checksum names no term */
		}
		sn->recover_index = sim_damage_recover(sn->recover_index, last);
	}
	log_cut_at(l, from);
	srt_result(s)->damages++;
	if (srt_options(s)->verbose) {
		printf("node %u log damaged from %llu (had %llu): recovering\n",
		       sn->id, (unsigned long long)from,
		       (unsigned long long)last);
	}
}
