/* raft_membership.c — one-server-at-a-time membership changes (thesis 4). */
#include <string.h>

#include "raft_private.h"

/*
 * Design notes
 * ============
 * A configuration takes effect on a server as soon as its entry is in the
 * server's log, committed or not (thesis 4.1); removing the entry again
 * (a truncated suffix) reverts to the previous one.  So the current
 * configuration is always "the last CONFIG entry in the log, else the base
 * configuration as of log.offset (snapshot or bootstrap)".
 *
 * Safety of single-server changes rests on consecutive configurations
 * sharing a majority.  The traps, and what handles them:
 *  - at most one change in flight: a leader refuses a change while the
 *    latest configuration entry is uncommitted (FR_BUSY);
 *  - the 2015 single-server bug (raft-dev, "bug in single-server membership
 *    changes"): a new leader must commit an entry of its own term (its
 *    no-op) before it proposes a change, or two leaders of different terms
 *    can each add a server and form disjoint majorities (FR_BUSY until
 *    then);
 *  - a removed leader keeps replicating without counting itself, and steps
 *    down once the entry that removes it commits;
 *  - a removed or new server cannot disrupt: messages from servers not in
 *    the configuration are dropped, learners never campaign, and with
 *    pre-vote and check-quorum a server that did not hear of its removal
 *    neither bumps terms nor is listened to while a leader is alive;
 *  - a learner is promoted only once it has caught up (FR_AGAIN before).
 */

bool raft__entries_valid_config(const struct raft_entry *e, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct raft_config c;
		if (e[i].type == RAFT_ENTRY_CONFIG &&
		    raft_config_decode(&c, e[i].buf, e[i].len) != 0) {
			return false;
		}
	}
	return true;
}

/* Latest CONFIG entry at or below @upto, decoded; 0 when none (then the
 * base configuration applies). */
static raft_index find_config(const struct raft *r, raft_index upto,
			      struct raft_config *out)
{
	for (raft_index i = upto; i > r->log.offset; i--) {
		const struct raft_entry *e = raft_log_get(&r->log, i);
		if (e->type == RAFT_ENTRY_CONFIG &&
		    raft_config_decode(out, e->buf, e->len) == 0) {
			return i;
		}
	}
	*out = r->base_config;
	return 0;
}

int raft__config_at(const struct raft *r, raft_index index,
		    struct raft_config *out)
{
	if (index < r->log.offset || index > raft_log_last_index(&r->log)) {
		return FR_INVALID;
	}
	(void)find_config(r, index, out);
	return 0;
}

void raft__config_refresh(struct raft *r)
{
	struct raft_config old = r->config;
	struct raft_config c;
	r->config_index = find_config(r, raft_log_last_index(&r->log), &c);
	r->config = c;
	raft__progress_remap(r, &old);
}

/* A leader whose removal has committed steps down (thesis 4.2.2). */
void raft__config_after_commit(struct raft *r)
{
	if (r->role == RAFT_LEADER && r->commit >= r->config_index &&
	    !raft__config_is_voter(&r->config, r->id)) {
		raft__become_follower(r, r->term, 0);
	}
}

static bool caught_up(const struct raft *r, raft_id id)
{
	int slot = raft__config_slot(&r->config, id);
	raft_index last = raft_log_last_index(&r->log);
	return r->progress[slot].match + r->opt.max_batch_entries >= last;
}

static int change_config(const struct raft *r, uint8_t op, raft_id id,
			 struct raft_config *c)
{
	*c = r->config;
	int slot = raft__config_slot(c, id);
	switch (op) {
	case RAFT_CHANGE_ADD_LEARNER:
		if (slot >= 0) {
			return FR_EXISTS;
		}
		if (c->n >= RAFT_MAX_SERVERS) {
			return FR_TOOBIG;
		}
		c->servers[c->n].id = id;
		c->servers[c->n].role = RAFT_LEARNER;
		c->n++;
		return 0;
	case RAFT_CHANGE_PROMOTE:
		if (slot < 0) {
			return FR_NOTFOUND;
		}
		if (c->servers[slot].role == RAFT_VOTER) {
			return FR_EXISTS;
		}
		if (!caught_up(r, id)) {
			return FR_AGAIN; /* let it catch up as a learner */
		}
		c->servers[slot].role = RAFT_VOTER;
		return 0;
	case RAFT_CHANGE_REMOVE:
		if (slot < 0) {
			return FR_NOTFOUND;
		}
		c->servers[slot] = c->servers[--c->n];
		/* The last voter cannot leave: nobody could commit again. */
		return raft_config_validate(c) == 0 ? 0 : FR_INVALID;
	}
	return FR_INVALID;
}

int raft__change(struct raft *r, uint8_t op, raft_id id, struct raft_update *u)
{
	if (r->role != RAFT_LEADER) {
		return FR_NOTLEADER;
	}
	if (id == 0 || id > RAFT_ID_MAX) {
		return FR_INVALID;
	}
	/* One change at a time, only after this term has committed an entry,
	 * and not while leadership is being handed over. */
	if (r->config_index > r->commit ||
	    raft_log_term_of(&r->log, r->commit) != r->term ||
	    r->transfer_to != 0) {
		return FR_BUSY;
	}
	struct raft_config c;
	int rv = change_config(r, op, id, &c);
	if (rv != 0) {
		return rv;
	}
	unsigned char buf[2 + 2 * RAFT_MAX_SERVERS];
	size_t len = raft_config_encoded_size(&c);
	rv = raft_config_encode(&c, buf, sizeof(buf));
	if (rv != 0) {
		return rv;
	}
	raft_index idx = raft_log_last_index(&r->log) + 1;
	rv = raft_log_append(&r->log, r->term, RAFT_ENTRY_CONFIG, buf,
			     (uint32_t)len);
	if (rv != 0) {
		return rv;
	}
	raft__note_write(r, idx);
	struct raft_config old = r->config;
	r->config = c;
	r->config_index = idx;
	raft__progress_remap(r, &old);
	r->stats.config_changes++;
	u->proposed_index = idx;
	u->proposed_term = r->term;
	raft__broadcast_append(r, false);
	return 0;
}
