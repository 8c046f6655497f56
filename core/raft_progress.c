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

/* On becoming leader (§5.3): next = last + 1, match = 0, probing. */
void raft__progress_reset(struct raft *r)
{
	raft_index last = raft_log_last_index(&r->log);
	for (uint32_t i = 0; i < RAFT_MAX_SERVERS; i++) {
		struct raft_progress *pr = &r->progress[i];
		pr->match = 0;
		pr->next = last + 1;
		pr->state = RAFT_PR_PROBE;
		pr->paused = false;
		pr->stall_ticks = 0;
		raft__inflight_reset(&pr->inflight);
	}
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
