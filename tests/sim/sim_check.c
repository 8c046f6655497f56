/* sim_check.c — the Raft safety invariants, checked incrementally. */
#include <stdlib.h>
#include <string.h>

#include "sim_private.h"

/* Log Matching table: (index, term) -> hash of the log prefix ending at
 * that entry.  Two logs holding (index, term) must agree on the prefix. */
struct sim_lm_slot {
	raft_index index; /* 0 = empty */
	raft_term term;
	uint64_t prefix;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 31);
}

static uint64_t lm_bucket(raft_index i, raft_term t, uint64_t cap)
{
	return mix(mix(0, i), t) & (cap - 1);
}

static void lm_insert_slot(struct sim_lm_slot *tab, uint64_t cap,
			   struct sim_lm_slot v)
{
	uint64_t b = lm_bucket(v.index, v.term, cap);
	while (tab[b].index != 0) {
		b = (b + 1) & (cap - 1);
	}
	tab[b] = v;
}

/* Returns the stored prefix hash, or inserts @prefix and returns it. */
static uint64_t lm_lookup_or_insert(struct sim *s, raft_index i, raft_term t,
				    uint64_t prefix)
{
	if (s->lm_n * 2 >= s->lm_cap) {
		uint64_t cap = s->lm_cap ? s->lm_cap * 2 : 1024;
		struct sim_lm_slot *tab = calloc(cap, sizeof(*tab));
		if (tab == NULL) {
			abort();
		}
		for (uint64_t k = 0; k < s->lm_cap; k++) {
			if (s->lm[k].index != 0) {
				lm_insert_slot(tab, cap, s->lm[k]);
			}
		}
		free(s->lm);
		s->lm = tab;
		s->lm_cap = cap;
	}
	uint64_t b = lm_bucket(i, t, s->lm_cap);
	while (s->lm[b].index != 0) {
		if (s->lm[b].index == i && s->lm[b].term == t) {
			return s->lm[b].prefix;
		}
		b = (b + 1) & (s->lm_cap - 1);
	}
	s->lm[b] = (struct sim_lm_slot){i, t, prefix};
	s->lm_n++;
	return prefix;
}

uint64_t sim__entry_hash(raft_term term, uint8_t type, const void *buf,
			 uint32_t len)
{
	return mix(mix(term, type), sim__hash_bytes(buf, len));
}

static uint64_t entry_hash(const struct raft_entry *e)
{
	return sim__entry_hash(e->term, e->type, e->buf, e->len);
}

/* Mirror the core's log: truncate to e[0].index - 1, append, and check
 * each new (index, term) against every other log that ever held it. */
void sim__check_append(struct sim *s, struct sim_node *n,
		       const struct raft_entry *e, uint32_t count)
{
	if (count == 0) {
		return;
	}
	raft_index first = e[0].index;
	if (first == 0 || first - 1 > n->mirror_n) {
		sim__violate(s,
			     "node %u persists index %llu past its log end "
			     "%llu",
			     n->id, (unsigned long long)first,
			     (unsigned long long)n->mirror_n);
		return;
	}
	n->mirror_n = first - 1;
	for (uint32_t k = 0; k < count; k++) {
		raft_index idx = first + k;
		if (e[k].index != idx) {
			sim__violate(s,
				     "node %u persists a non-consecutive "
				     "batch",
				     n->id);
			return;
		}
		uint64_t prev = idx > 1 ? n->mirror_hash[idx - 2] : 0;
		uint64_t h = mix(prev, entry_hash(&e[k]));
		if (idx >= n->mirror_cap) {
			uint64_t cap = n->mirror_cap;
			n->mirror_hash = sim__grow(n->mirror_hash, &cap,
						   idx + 1, sizeof(uint64_t));
			cap = n->mirror_cap;
			n->mirror_term = sim__grow(n->mirror_term, &cap,
						   idx + 1, sizeof(raft_term));
			n->mirror_cap = cap;
		}
		n->mirror_hash[idx - 1] = h;
		n->mirror_term[idx - 1] = e[k].term;
		n->mirror_n = idx;
		if (lm_lookup_or_insert(s, idx, e[k].term, h) != h) {
			sim__violate(s,
				     "Log Matching: node %u holds (index "
				     "%llu, term %llu) with a prefix that "
				     "differs from another log's",
				     n->id, (unsigned long long)idx,
				     (unsigned long long)e[k].term);
			return;
		}
	}
}

void sim__initial_config(const struct sim *s, struct raft_config *c)
{
	uint32_t voters = s->opt.n_voters ? s->opt.n_voters : s->opt.n_nodes;
	memset(c, 0, sizeof(*c));
	c->n = voters;
	for (uint32_t i = 0; i < voters; i++) {
		c->servers[i].id = i + 1;
		c->servers[i].role = RAFT_VOTER;
	}
}

static bool lm_lookup(const struct sim *s, raft_index i, raft_term t,
		      uint64_t *prefix)
{
	if (s->lm_cap == 0) {
		return false;
	}
	uint64_t b = lm_bucket(i, t, s->lm_cap);
	while (s->lm[b].index != 0) {
		if (s->lm[b].index == i && s->lm[b].term == t) {
			*prefix = s->lm[b].prefix;
			return true;
		}
		b = (b + 1) & (s->lm_cap - 1);
	}
	return false;
}

static void mirror_grow(struct sim_node *n, raft_index idx)
{
	if (idx < n->mirror_cap) {
		return;
	}
	uint64_t cap = n->mirror_cap;
	n->mirror_hash =
	    sim__grow(n->mirror_hash, &cap, idx + 1, sizeof(uint64_t));
	cap = n->mirror_cap;
	n->mirror_term =
	    sim__grow(n->mirror_term, &cap, idx + 1, sizeof(raft_term));
	n->mirror_cap = cap;
}

/* The node's log now starts after a snapshot of (index, term): its mirror
 * continues from the prefix hash that entry has in every log. */
static void mirror_reset_at(struct sim *s, struct sim_node *n, raft_index index,
			    raft_term term)
{
	uint64_t prefix;
	if (!lm_lookup(s, index, term, &prefix)) {
		sim__violate(s,
			     "node %u holds a snapshot of (index %llu, term "
			     "%llu), an entry no log ever held",
			     n->id, (unsigned long long)index,
			     (unsigned long long)term);
		return;
	}
	mirror_grow(n, index);
	n->mirror_hash[index - 1] = prefix;
	n->mirror_term[index - 1] = term;
	n->mirror_n = index;
}

/* The state a snapshot carries must be the state every node had at its
 * index (invariant 7). */
void sim__check_snapshot_state(struct sim *s, struct sim_node *n,
			       raft_index index, uint64_t sm)
{
	if (index > s->canon_n || s->canon_sm[index - 1] != sm) {
		sim__violate(s,
			     "snapshot at index %llu on node %u does not "
			     "hold the state machine as applied there",
			     (unsigned long long)index, n->id);
	}
}

/* After a restart the core's log (and snapshot) is the durable one. */
void sim__check_restart(struct sim *s, struct sim_node *n)
{
	struct raft_status st;
	raft_status_get(n->raft, &st);
	raft_index base = st.first_index - 1;
	n->mirror_n = 0;
	n->applied = base;
	n->commit = base;
	n->sm_hash = 0;
	if (base > 0) {
		uint64_t sm = 0;
		if (!sim__snap_parse(n->snap.data, n->snap.meta.size, base,
				     &sm)) {
			sim__violate(s, "node %u restarted from a bad snapshot",
				     n->id);
			return;
		}
		sim__check_snapshot_state(s, n, base, sm);
		n->sm_hash = sm;
		mirror_reset_at(s, n, base, raft_log_term(n->raft, base));
	}
	for (raft_index i = base + 1; i <= st.last_index && !s->violated; i++) {
		sim__check_append(s, n, raft_log_entry(n->raft, i), 1);
	}
}

void sim__check_install(struct sim *s, struct sim_node *n,
			const struct raft_snapshot_meta *m, uint64_t sm,
			bool keep)
{
	sim__check_snapshot_state(s, n, m->index, sm);
	if (!keep) {
		mirror_reset_at(s, n, m->index, m->term);
	} else if (m->index > n->mirror_n ||
		   n->mirror_term[m->index - 1] != m->term) {
		sim__violate(s,
			     "node %u keeps its log after snapshot %llu it "
			     "does not hold",
			     n->id, (unsigned long long)m->index);
	}
	n->applied = m->index;
	n->sm_hash = sm;
	if (n->commit < m->index) {
		n->commit = m->index;
	}
}

/* Invariant 8: every read sees every operation completed before it was
 * invoked. */
void sim__check_reads(struct sim *s, struct sim_node *n,
		      const struct raft_read *r, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		uint64_t k = 0;
		while (k < s->reads_n && s->reads[k].ctx != r[i].ctx) {
			k++;
		}
		if (k == s->reads_n) {
			sim__violate(s, "node %u released unknown read %llu",
				     n->id, (unsigned long long)r[i].ctx);
			return;
		}
		struct sim_read_inv inv = s->reads[k];
		s->reads[k] = s->reads[--s->reads_n];
		if (r[i].status != 0) {
			continue; /* refused: the client retries elsewhere */
		}
		raft_index point = n->applied;
		if (point < r[i].index || point < inv.min_point) {
			sim__violate(s,
				     "linearizability: read %llu on node %u "
				     "sees index %llu (read index %llu) but "
				     "index %llu had completed before it "
				     "was invoked",
				     (unsigned long long)r[i].ctx, n->id,
				     (unsigned long long)point,
				     (unsigned long long)r[i].index,
				     (unsigned long long)inv.min_point);
			return;
		}
		if (point > s->max_done_point) {
			s->max_done_point = point;
		}
		s->reads_done++;
	}
}

/* Invariant 9, checked as the applied log grows. */
static void check_config_entry(struct sim *s, const struct raft_entry *e)
{
	struct raft_config c;
	if (raft_config_decode(&c, e->buf, e->len) != 0) {
		sim__violate(s, "an undecodable configuration at %llu applied",
			     (unsigned long long)e->index);
		return;
	}
	uint32_t diff = 0;
	for (uint32_t i = 0; i < c.n; i++) {
		bool was = false;
		for (uint32_t j = 0; j < s->canon_config.n; j++) {
			was |=
			    s->canon_config.servers[j].id == c.servers[i].id &&
			    s->canon_config.servers[j].role == RAFT_VOTER;
		}
		diff += (c.servers[i].role == RAFT_VOTER) != was;
	}
	for (uint32_t j = 0; j < s->canon_config.n; j++) {
		bool is = false;
		for (uint32_t i = 0; i < c.n; i++) {
			is |= c.servers[i].id == s->canon_config.servers[j].id;
		}
		diff += !is && s->canon_config.servers[j].role == RAFT_VOTER;
	}
	if (diff > 1) {
		sim__violate(s,
			     "configuration at %llu changes %u voters at "
			     "once",
			     (unsigned long long)e->index, diff);
		return;
	}
	uint64_t k = 0;
	while (k < s->cprops_n && (s->cprops[k].index != e->index ||
				   s->cprops[k].term != e->term)) {
		k++;
	}
	if (k == s->cprops_n) {
		sim__violate(s, "configuration at %llu was never proposed",
			     (unsigned long long)e->index);
		return;
	}
	if (s->cprops[k].commit_at < s->canon_config_index) {
		sim__violate(s,
			     "configuration at %llu was proposed before the "
			     "previous one (at %llu) committed",
			     (unsigned long long)e->index,
			     (unsigned long long)s->canon_config_index);
		return;
	}
	s->canon_config = c;
	s->canon_config_index = e->index;
	s->changes_applied++;
}

/* The slot of @term in the map of @cap (a power of two) slots: its own, or
 * the empty one where it would go. */
static struct sim_term_leader *term_find(struct sim_term_leader *map,
					 uint64_t cap, raft_term term)
{
	uint64_t mask = cap - 1;
	uint64_t i = (term * UINT64_C(0x9E3779B97F4A7C15)) >> 32 & mask;
	while (map[i].term != 0 && map[i].term != term) {
		i = (i + 1) & mask;
	}
	return &map[i];
}

/* The slot of @term in the term -> leader map; grows the map first so it
 * stays under half full. */
static struct sim_term_leader *term_slot(struct sim *s, raft_term term)
{
	if (2 * (s->leader_of_term_n + 1) > s->leader_of_term_cap) {
		uint64_t cap =
		    s->leader_of_term_cap ? 2 * s->leader_of_term_cap : 64;
		struct sim_term_leader *map = calloc(cap, sizeof(*map));
		if (map == NULL) {
			abort();
		}
		for (uint64_t i = 0; i < s->leader_of_term_cap; i++) {
			const struct sim_term_leader *e = &s->leader_of_term[i];
			if (e->term != 0) {
				*term_find(map, cap, e->term) = *e;
			}
		}
		free(s->leader_of_term);
		s->leader_of_term = map;
		s->leader_of_term_cap = cap;
	}
	return term_find(s->leader_of_term, s->leader_of_term_cap, term);
}

void sim__check_leader(struct sim *s, struct sim_node *n)
{
	struct raft_status st;
	raft_status_get(n->raft, &st);
	struct sim_term_leader *slot = term_slot(s, st.term);
	raft_id prev = slot->term == st.term ? slot->leader : 0;
	if (prev != 0 && prev != n->id) {
		sim__violate(s,
			     "Election Safety: nodes %u and %u are both "
			     "leaders of term %llu",
			     prev, n->id, (unsigned long long)st.term);
		return;
	}
	if (slot->term == 0) {
		slot->term = st.term;
		s->leader_of_term_n++;
	}
	slot->leader = n->id;
	/* Leader Completeness (Raft's form: leaders of every *later* term
	 * hold each committed entry).  Every commit so far happened under a
	 * leader of a term at most max_leader_term, so a leader of a higher
	 * term must hold every entry applied anywhere.  A leader of an older
	 * term can still win late (its vote answers waited while it was
	 * paused); it can commit nothing, which invariant 4 checks. */
	if (st.term < s->max_leader_term) {
		return;
	}
	s->max_leader_term = st.term;
	raft_index from = st.first_index > 1 ? st.first_index : 1;
	for (raft_index i = from; i <= s->canon_n; i++) {
		if (raft_log_term(n->raft, i) != s->canon_term[i - 1]) {
			sim__violate(s,
				     "Leader Completeness: leader %u of "
				     "term %llu lacks committed index %llu",
				     n->id, (unsigned long long)st.term,
				     (unsigned long long)i);
			return;
		}
	}
	/* Invariant 10: also every entry committed, applied anywhere yet
	 * or not. */
	for (raft_index i = from; i <= s->commit_n; i++) {
		raft_term t = s->commit_term[i - 1];
		if (t != 0 && raft_log_term(n->raft, i) != t) {
			sim__violate(s,
				     "committed entry lost: leader %u of term "
				     "%llu lacks index %llu (term %llu), "
				     "committed earlier",
				     n->id, (unsigned long long)st.term,
				     (unsigned long long)i,
				     (unsigned long long)t);
			return;
		}
	}
}

/* Invariant 10: record what a leader commits (its log is the truth for
 * the entries it commits). */
static void record_committed(struct sim *s, struct sim_node *n,
			     raft_index commit)
{
	if (commit > s->commit_n) {
		s->commit_term = sim__grow(s->commit_term, &s->commit_cap,
					   commit, sizeof(*s->commit_term));
		for (raft_index i = s->commit_n + 1; i <= commit; i++) {
			s->commit_term[i - 1] = 0;
		}
		s->commit_n = commit;
	}
	for (raft_index i = commit; i >= 1; i--) {
		raft_term t = raft_log_term(n->raft, i);
		raft_term *slot = &s->commit_term[i - 1];
		if (t == 0 || *slot == t) {
			break; /* compacted, or recorded before */
		}
		if (*slot != 0) {
			sim__violate(s,
				     "committed entry lost: index %llu was "
				     "committed with term %llu, leader %u "
				     "commits term %llu there",
				     (unsigned long long)i,
				     (unsigned long long)*slot, n->id,
				     (unsigned long long)t);
			return;
		}
		*slot = t;
	}
}

/* After sim_converge: every committed entry is the one applied. */
void sim__check_committed_applied(struct sim *s)
{
	for (raft_index i = 1; i <= s->commit_n && !s->violated; i++) {
		raft_term t = s->commit_term[i - 1];
		if (t != 0 && (i > s->canon_n || s->canon_term[i - 1] != t)) {
			sim__violate(s,
				     "committed entry lost: index %llu "
				     "(term %llu) is not what was applied",
				     (unsigned long long)i,
				     (unsigned long long)t);
		}
	}
}

void sim__check_commit(struct sim *s, struct sim_node *n, raft_index commit)
{
	if (commit < n->commit) {
		sim__violate(s,
			     "commit index of node %u went back from %llu "
			     "to %llu",
			     n->id, (unsigned long long)n->commit,
			     (unsigned long long)commit);
	}
	if (commit > n->mirror_n) {
		sim__violate(s,
			     "node %u commits %llu past its last index "
			     "%llu",
			     n->id, (unsigned long long)commit,
			     (unsigned long long)n->mirror_n);
	}
	n->commit = commit;
	struct raft_status st;
	raft_status_get(n->raft, &st);
	if (st.role == RAFT_LEADER) {
		record_committed(s, n, commit);
	}
}

static void record_ack(struct sim *s, raft_id node, const struct raft_entry *e,
		       uint64_t h)
{
	/* A proposal is acknowledged when the leader that accepted it
	 * applies it at the index and term it was given. */
	for (uint64_t k = 0; k < s->props_n; k++) {
		struct sim_proposal *p = &s->props[k];
		if (p->index != e->index || p->leader != node) {
			continue;
		}
		if (p->term == e->term && p->hash == h) {
			s->acks = sim__grow(s->acks, &s->acks_cap,
					    s->acks_n + 1, sizeof(*s->acks));
			s->acks[s->acks_n++] =
			    (struct sim_ack){e->index, e->term, h};
			if (e->index > s->max_done_point) {
				s->max_done_point = e->index;
			}
		}
		s->props[k] = s->props[--s->props_n];
		return;
	}
}

void sim__check_apply(struct sim *s, struct sim_node *n,
		      const struct raft_entry *e)
{
	if (e->index != n->applied + 1) {
		sim__violate(s, "node %u applies index %llu after %llu", n->id,
			     (unsigned long long)e->index,
			     (unsigned long long)n->applied);
		return;
	}
	uint64_t h = entry_hash(e);
	uint64_t sm = mix(n->sm_hash, h);
	if (e->index <= s->canon_n) {
		if (s->canon_sm[e->index - 1] != sm &&
		    s->canon_term[e->index - 1] == e->term &&
		    s->canon_hash[e->index - 1] == h) {
			sim__violate(s,
				     "State Machine Safety: node %u reaches "
				     "another state at index %llu (it "
				     "restored a wrong snapshot?)",
				     n->id, (unsigned long long)e->index);
			return;
		}
		if (s->canon_term[e->index - 1] != e->term ||
		    s->canon_hash[e->index - 1] != h) {
			sim__violate(
			    s,
			    "State Machine Safety: node %u applies "
			    "(index %llu, term %llu) but another "
			    "node applied term %llu there",
			    n->id, (unsigned long long)e->index,
			    (unsigned long long)e->term,
			    (unsigned long long)s->canon_term[e->index - 1]);
			return;
		}
	} else {
		uint64_t cap = s->canon_cap;
		s->canon_term =
		    sim__grow(s->canon_term, &cap, e->index, sizeof(raft_term));
		cap = s->canon_cap;
		s->canon_hash =
		    sim__grow(s->canon_hash, &cap, e->index, sizeof(uint64_t));
		cap = s->canon_cap;
		s->canon_sm =
		    sim__grow(s->canon_sm, &cap, e->index, sizeof(uint64_t));
		s->canon_cap = cap;
		s->canon_term[e->index - 1] = e->term;
		s->canon_hash[e->index - 1] = h;
		s->canon_sm[e->index - 1] = sm;
		s->canon_n = e->index;
		if (e->type == RAFT_ENTRY_CONFIG) {
			check_config_entry(s, e);
		}
	}
	n->applied = e->index;
	n->sm_hash = sm;
	if (e->type == RAFT_ENTRY_NORMAL) {
		record_ack(s, n->id, e, h);
	}
}

void sim__check_propose(struct sim *s, raft_id leader, raft_index index,
			raft_term term, uint64_t hash)
{
	/* An index re-proposed by a later leader replaces an older
	 * proposal that can no longer be acknowledged. */
	for (uint64_t k = 0; k < s->props_n; k++) {
		if (s->props[k].index == index) {
			s->props[k] = s->props[--s->props_n];
			break;
		}
	}
	s->props = sim__grow(s->props, &s->props_cap, s->props_n + 1,
			     sizeof(*s->props));
	s->props[s->props_n++] =
	    (struct sim_proposal){index, term, leader, hash};
}

void sim__check_close(struct sim *s)
{
	free(s->lm);
	free(s->canon_term);
	free(s->commit_term);
	free(s->canon_hash);
	free(s->leader_of_term);
	free(s->canon_sm);
	free(s->props);
	free(s->acks);
	free(s->reads);
	free(s->cprops);
}
