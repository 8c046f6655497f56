/* sim_rt_damage.c — storage faults in runtime mode: at a restart, a
 * node's simulated durable log is damaged from some index on, as the wal
 * detects and cuts it, and the node opens recovering (raft.h note 7), so
 * the runtime's recovering path (io->recovering_clear) runs.  The model
 * is the core-only simulator's (sim_damage.h). */
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

/* The wal's blind spot (sim_lose_tail in the core-only simulator): the
 * last batches since the meta save are lost and nothing records it. */
static void maybe_lose_tail(struct sim_rt *s, struct srt_node *sn)
{
	struct srt_log *l = &sn->log;

	if (l->n == 0 || !srt_chance(s, srt_options(s)->silent_damage_ppm)) {
		return;
	}
	raft_index last = l->v[l->n - 1].e.index;
	raft_index from =
	    sim_damage_unseen_from(sim_damage_tail_from(damage_rand, s, last),
				   sn->meta_index, l->v[0].e.index, last);
	if (from != 0) {
		log_cut_at(l, from);
		srt_result(s)->silent_damages++;
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
