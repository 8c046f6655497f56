/* raft_progress.c — the leader's per-follower progress and in-flight window. */
#include <string.h>

#include "heap.h"
#include "raft_private.h"

int raft__progress_init(struct raft *r)
{
	for (uint32_t i = 0; i < RAFT_MAX_SERVERS; i++) {
		struct raft_inflight *in = &r->progress[i].inflight;
		in->cap = r->opt.max_inflight;
		in->last = fr_calloc(in->cap, sizeof(*in->last));
		if (in->last == NULL) {
			raft__progress_close(r);
			return FR_NOMEM;
		}
	}
	return 0;
}

void raft__progress_close(struct raft *r)
{
	for (uint32_t i = 0; i < RAFT_MAX_SERVERS; i++) {
		fr_free(r->progress[i].inflight.last);
		r->progress[i].inflight.last = NULL;
	}
}

/* A follower the leader knows nothing about (§5.3): next = last + 1,
 * match = 0, probing. */
void raft__progress_fresh(struct raft *r, struct raft_progress *pr)
{
	pr->match = 0;
	pr->next = raft_log_last_index(&r->log) + 1;
	pr->state = RAFT_PR_PROBE;
	pr->paused = false;
	pr->stall_ticks = 0;
	pr->recent_active = false;
	pr->acked_seq = 0;
	pr->acked_at = 0;
	pr->snap_index = 0;
	pr->snap_offset = 0;
	pr->snap_refused = false;
	raft__inflight_reset(&pr->inflight);
}

void raft__progress_reset(struct raft *r)
{
	for (uint32_t i = 0; i < RAFT_MAX_SERVERS; i++) {
		raft__progress_fresh(r, &r->progress[i]);
	}
}

/*
 * The configuration changed from @old to r->config: progress and votes are
 * kept by slot, so move each server's state to its new slot.  The slots
 * (and their in-flight buffers) are permuted, never allocated: a server new
 * to the configuration takes a freed slot, reset.
 */
void raft__progress_remap(struct raft *r, const struct raft_config *old)
{
	struct raft_progress tmp[RAFT_MAX_SERVERS];
	uint8_t votes[RAFT_MAX_SERVERS] = {0};
	bool used[RAFT_MAX_SERVERS] = {false};
	bool filled[RAFT_MAX_SERVERS] = {false};
	const struct raft_config *c = &r->config;
	for (uint32_t j = 0; j < c->n; j++) {
		int i = raft__config_slot(old, c->servers[j].id);
		if (i >= 0) {
			tmp[j] = r->progress[i];
			votes[j] = r->votes[i];
			used[i] = true;
			filled[j] = true;
		}
	}
	uint32_t k = 0;
	for (uint32_t j = 0; j < RAFT_MAX_SERVERS; j++) {
		if (filled[j]) {
			continue;
		}
		while (used[k]) {
			k++;
		}
		tmp[j] = r->progress[k];
		used[k] = true;
		if (j < c->n) {
			raft__progress_fresh(r, &tmp[j]);
		}
	}
	memcpy(r->progress, tmp, sizeof(tmp));
	memcpy(r->votes, votes, sizeof(votes));
}

bool raft__inflight_full(const struct raft_inflight *in)
{
	return in->count >= in->cap;
}

void raft__inflight_add(struct raft_inflight *in, raft_index last)
{
	if (raft__inflight_full(in)) {
		return; /* callers check; never overwrite */
	}
	in->last[(in->start + in->count) % in->cap] = last;
	in->count++;
}

/* Free every message whose entries end at or before @index. */
void raft__inflight_free_to(struct raft_inflight *in, raft_index index)
{
	while (in->count > 0 && in->last[in->start] <= index) {
		in->start = (in->start + 1) % in->cap;
		in->count--;
	}
}

void raft__inflight_reset(struct raft_inflight *in)
{
	in->start = 0;
	in->count = 0;
}

/* The value a majority of voters has reached: the (n/2+1)-th largest of
 * @by_slot over the voters, with @self standing for this server's own.
 * 0 when there are no voters. */
uint64_t raft__quorum_value(const struct raft *r, uint64_t self,
			    const uint64_t *by_slot)
{
	uint64_t v[RAFT_MAX_SERVERS];
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->config.n; i++) {
		if (r->config.servers[i].role != RAFT_VOTER) {
			continue;
		}
		uint64_t x =
		    r->config.servers[i].id == r->id ? self : by_slot[i];
		uint32_t j = n++; /* insertion sort, descending */
		while (j > 0 && v[j - 1] < x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
	return n > 0 ? v[n / 2] : 0;
}
