/* raft_transfer.c — leadership transfer (thesis 3.10). */
#include "raft_private.h"

/*
 * Design notes
 * ============
 * The leader stops accepting proposals (FR_BUSY), brings the target's log
 * up to date, and sends it TimeoutNow; the target campaigns at once with
 * the TRANSFER flag, which lets voters that still hear from the old leader
 * vote anyway (raft__in_lease).  If the target has not taken over within
 * an election timeout, the transfer is aborted and the leader carries on.
 */

static raft_id most_caught_up(const struct raft *r)
{
	raft_id best = 0;
	raft_index best_match = 0;
	for (uint32_t i = 0; i < r->config.n; i++) {
		const struct raft_server *s = &r->config.servers[i];
		if (s->id == r->id || s->role != RAFT_VOTER) {
			continue;
		}
		if (best == 0 || r->progress[i].match > best_match) {
			best = s->id;
			best_match = r->progress[i].match;
		}
	}
	return best;
}

static void send_timeout_now(struct raft *r, raft_id to)
{
	if (raft__out(r, RAFT_MSG_TIMEOUT_NOW, to) != NULL) {
		/* The target's election ignores the followers' vote lease,
		 * so ours is void for the rest of this term. */
		r->lease_off_term = r->term;
	}
}

int raft__transfer(struct raft *r, raft_id to, bool abort)
{
	if (r->role != RAFT_LEADER) {
		return FR_NOTLEADER;
	}
	if (abort) {
		if (r->transfer_to != 0) {
			r->transfer_to = 0;
			r->stats.transfers_aborted++;
		}
		return 0;
	}
	if (to == 0) {
		to = most_caught_up(r);
		if (to == 0) {
			return FR_NOTFOUND; /* no other voter */
		}
	}
	int slot = raft__config_slot(&r->config, to);
	if (slot < 0) {
		return FR_NOTFOUND; /* not a member */
	}
	if (to == r->id || r->config.servers[slot].role != RAFT_VOTER) {
		return FR_INVALID; /* self, or a learner */
	}
	if (r->transfer_to != 0) {
		return r->transfer_to == to ? 0 : FR_BUSY;
	}
	r->transfer_to = to;
	r->transfer_elapsed = 0;
	r->stats.transfers_started++;
	raft__transfer_progress(r, slot);
	if (r->transfer_to != 0) {
		raft__send_append(r, slot, false); /* catch it up */
	}
	return 0;
}

/* Called when the follower in @slot acknowledged entries. */
void raft__transfer_progress(struct raft *r, int slot)
{
	if (r->transfer_to == 0 ||
	    r->config.servers[slot].id != r->transfer_to) {
		return;
	}
	if (r->progress[slot].match == raft_log_last_index(&r->log)) {
		send_timeout_now(r, r->transfer_to);
	}
}

void raft__transfer_tick(struct raft *r)
{
	if (r->transfer_to == 0) {
		return;
	}
	int slot = raft__config_slot(&r->config, r->transfer_to);
	if (slot < 0 || ++r->transfer_elapsed >= r->opt.election_ticks) {
		r->transfer_to = 0; /* timed out, or the target left */
		r->stats.transfers_aborted++;
	}
}

void raft__recv_timeout_now(struct raft *r, const struct raft_message *m)
{
	if (r->role != RAFT_FOLLOWER || m->from != r->leader ||
	    !raft__config_is_voter(&r->config, r->id) ||
	    r->term >= RAFT_TERM_MAX || r->recover_index != 0) {
		return;
	}
	raft__campaign(r, true);
}
