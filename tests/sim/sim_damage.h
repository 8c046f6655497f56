/* sim_damage.h — the storage-fault model both simulators share (the
 * core-only one, sim_run.c, and runtime mode, sim_rt_damage.c): where
 * detected damage starts, what the wal persists, and how many nodes may be
 * damaged at once (docs/storage.md "Damaged storage"). */
#ifndef FABRAFT_SIM_DAMAGE_H
#define FABRAFT_SIM_DAMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "raft.h"

/* A random number source: the simulator's own, so seeds replay. */
typedef uint64_t (*sim_damage_rand_fn)(void *ctx);

/* The first damaged index of a stored log first..last: half the time
 * anywhere, else within its last five entries (the last batch).  Draws
 * one or two numbers from @rnd. */
raft_index sim_damage_from(sim_damage_rand_fn rnd, void *ctx, raft_index first,
			   raft_index last);

/* The recover index the wal persists before it cuts the damage: the last
 * index it had durably, or an earlier, larger one (a second crash keeps
 * it). */
raft_index sim_damage_recover(raft_index recover, raft_index last);

/* The wal's tail slot (docs/storage.md "Closing the gap"): every flush
 * also writes the (index, term) of its batch's last entry.  A claim with
 * index 0 is none; term 0 means the term is unknown. */
struct sim_claim {
	raft_index index;
	raft_term term;
};

/* The durable recover point (@x, term @xt) after the wal opens a log
 * ending at @last below the slot's claim @c: the larger index wins (an
 * earlier, larger one is kept with its term).  A log reaching the claim
 * is complete: nothing changes. */
void sim_damage_claim(raft_index *x, raft_term *xt, struct sim_claim c,
		      raft_index last);

/* Whether a node may be damaged when @damaged voters of @voters, counting
 * it, would be damaged and unrepaired: only while a majority is not. */
bool sim_damage_allowed(uint32_t voters, uint32_t damaged);

/* Undetected damage (the wal's blind spot, docs/storage.md): the first
 * lost index of a lost write of the last batches, one of the last four
 * entries of a log ending at @last.  Draws at most one number. */
raft_index sim_damage_tail_from(sim_damage_rand_fn rnd, void *ctx,
				raft_index last);

/* @from raised past @meta_index (the durable point the meta file saved
 * with term or vote, whose loss the wal detects); 0 when nothing of
 * first..last is left to lose unseen. */
raft_index sim_damage_unseen_from(raft_index from, raft_index meta_index,
				  raft_index first, raft_index last);

#endif
