/* sim_slot.c — the wal's tail slot in the core-only simulator
 * (docs/storage.md "Closing the gap"): every flush also writes the
 * (index, term) of its batch's last entry into the segment header, so a
 * log that reads back shorter than that claim makes the node recovering.
 * The slot and its batch are separate writes: either may land without
 * the other (a lost tail with its slot kept; a false positive when a
 * batch in flight never lands, or when a torn batch that replaced
 * entries leaves the log below the old claim; both lost: the residual
 * blind spot). */
#include "sim_private.h"

struct sim_claim sim__slot_in_flight(const struct sim_node *n)
{
	const struct sim_write *w = n->pending_tail;
	struct sim_claim c = {0, 0};
	if (w != NULL && w->entries.n > 0) {
		const struct raft_entry *e = &w->entries.e[w->entries.n - 1];
		c.index = e->index;
		c.term = e->term;
	}
	return c;
}

/* The slot of the last batch that landed: the durable log's last entry. */
static struct sim_claim slot_durable(const struct sim_node *n)
{
	struct sim_claim c = {0, 0};
	if (n->disk.n > 0) {
		c.index = n->disk.e[n->disk.n - 1].index;
		c.term = n->disk.e[n->disk.n - 1].term;
	}
	return c;
}

void sim__slot_landed(struct sim *s, struct sim_node *n, struct sim_claim c)
{
	raft_index last = slot_durable(n).index;
	raft_index before = n->recover_index;
	sim_damage_claim(&n->recover_index, &n->recover_term, c, last);
	if (n->recover_index != before) {
		s->slot_claims++;
		sim__trace(s, TR_SLOT, n->id, 0, 0, c.term, c.index, last);
	}
}

/* A crash with writes in flight (--slot-ahead models the slot; without it
 * the simulator is the wal without one).  Either the slot of the last
 * batch in flight landed (slot_ahead_ppm), or none of theirs did and the
 * slot still claims the last durable entry: then a torn batch that
 * replaced entries (a new leader's) leaves the log ending below that old
 * claim.  Both make the node recovering without a loss: the accepted
 * false positives. */
void sim__slot_crash(struct sim *s, struct sim_node *n)
{
	struct sim_claim c = sim__slot_in_flight(n);
	struct sim_claim old = slot_durable(n);
	sim__disk_crash(s, n);
	if (c.index == 0 || s->slot_ahead_ppm == 0) {
		return;
	}
	bool landed = sim__rand(s) % 1000000u < s->slot_ahead_ppm;
	sim__slot_landed(s, n, landed ? c : old);
}

int sim_lose_tail(struct sim *s, raft_id id, raft_index from, bool slot_lost)
{
	struct sim_node *n = &s->nodes[id];
	if (id == 0 || id > s->opt.n_nodes || n->up || n->disk.n == 0) {
		return FR_INVALID;
	}
	struct sim_claim c = slot_durable(n); /* its last flush's slot */
	from = sim_damage_unseen_from(from, n->meta_index, n->disk.e[0].index,
				      c.index);
	if (from == 0) {
		return FR_INVALID;
	}
	sim__trace(s, TR_DAMAGE, id, 0, slot_lost ? 1 : 2, n->term, from,
		   c.index);
	s->silent_damages++;
	sim__disk_truncate(n, from);
	if (!slot_lost) {
		sim_damage_claim(&n->recover_index, &n->recover_term, c,
				 slot_durable(n).index);
	}
	return 0;
}

void sim_power_cut(struct sim *s, raft_id id)
{
	struct sim_node *n = &s->nodes[id];
	if (id == 0 || id > s->opt.n_nodes || !n->up) {
		return;
	}
	struct sim_claim c = sim__slot_in_flight(n);
	sim__disk_free_pending(n); /* no batch landed ... */
	sim_crash(s, id);
	if (c.index != 0) {
		sim__slot_landed(s, n, c); /* ... but every slot did */
	}
}

void sim_power_cut_all(struct sim *s)
{
	uint32_t claiming = 0;
	for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
		sim_power_cut(s, id);
		claiming += s->nodes[id].recover_index != 0;
	}
	s->power_cuts++;
	s->full_cuts += claiming == s->opt.n_nodes;
}

uint64_t sim_slot_claims(const struct sim *s)
{
	return s->slot_claims;
}

uint64_t sim_power_cuts(const struct sim *s, uint64_t *full)
{
	if (full != NULL) {
		*full = s->full_cuts;
	}
	return s->power_cuts;
}
