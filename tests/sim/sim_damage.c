/* sim_damage.c — the storage-fault model both simulators share. */
#include "sim_damage.h"

raft_index sim_damage_from(sim_damage_rand_fn rnd, void *ctx, raft_index first,
			   raft_index last)
{
	raft_index lo = first;
	if ((rnd(ctx) & 1) == 0 && last > 4 && last - 4 > first) {
		lo = last - 4;
	}
	return last <= lo ? lo : lo + rnd(ctx) % (last - lo + 1);
}

raft_index sim_damage_recover(raft_index recover, raft_index last)
{
	return last > recover ? last : recover;
}

raft_index sim_damage_tail_from(sim_damage_rand_fn rnd, void *ctx,
				raft_index last)
{
	raft_index lo = last > 3 ? last - 3 : 1;
	return last <= lo ? lo : lo + rnd(ctx) % (last - lo + 1);
}

raft_index sim_damage_unseen_from(raft_index from, raft_index meta_index,
				  raft_index first, raft_index last)
{
	if (from <= meta_index) {
		from = meta_index + 1;
	}
	return from < first || from > last ? 0 : from;
}

void sim_damage_claim(raft_index *x, raft_term *xt, struct sim_claim c,
		      raft_index last)
{
	if (c.index > last && c.index > *x) {
		*x = c.index;
		*xt = c.term;
	}
}

bool sim_damage_allowed(uint32_t voters, uint32_t damaged)
{
	return 2 * damaged < voters;
}
