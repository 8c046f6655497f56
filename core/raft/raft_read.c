/* raft_read.c — linearizable reads without log writes: ReadIndex and the
 * leader lease (thesis 6.4). */
#include <string.h>

#include "heap.h"
#include "raft_private.h"

/*
 * Design notes
 * ============
 * ReadIndex (thesis 6.4): a read that arrives at the leader records the
 * commit index (once the leader has committed an entry of its own term;
 * before that the commit index may lag what an earlier leader committed)
 * and a heartbeat round number `seq` greater than any round sent so far.
 * Followers echo the round of the AppendEntries they answer; once a
 * majority of voters has answered round >= seq, no other leader could have
 * existed when the read arrived, and the read may be served as soon as
 * the state machine has applied the read index.  Reads of one step share
 * one round, and a round releases every read registered before it (FIFO).
 *
 * Lease (thesis 6.4.1), measured in time (raft.h note 8).  A follower
 * that answered a heartbeat ignores candidates for election_ticks of its
 * own ticks after it (raft__in_lease, with check_quorum), and does not
 * time out itself before that, so no other leader can be elected within
 * that time after the heartbeat was *sent*.  The leader records the event
 * time of the step that sent each round (seq_ring; the message leaves
 * later, which only makes the record conservative) and may serve reads
 * locally while
 *
 *     now < S + L,  S = send time of the latest round a majority answered
 *                   (the leader's own "answer" is now),  L = lease_ticks *
 *                   tick_us,
 *
 * where now is the time of the step that registers the read, read by the
 * driver after the read arrived.  Safety: let d bound the rate error of
 * every node's clock (monotonic time and tick rate) against real time.
 * The follower's ticks come no faster than real time allows (a driver
 * collapses missed ticks, never adds), so its vote lease lasts at least
 * (election_ticks - 1) * tick / (1 + d) real time after the receipt (-1:
 * the first tick may come at once), and the receipt is after S.  The
 * leader's L of its own clock is at most L / (1 - d) real time.  So
 *
 *     lease_ticks <= (election_ticks - 1) * (1 - d) / (1 + d)
 *
 * keeps every lease read inside the window where no other leader exists;
 * the runtime uses lease_ticks = election_ticks - 3 (d up to ~10% at 10
 * ticks).  Pauses need no bound: a pause of any length shows in now (the
 * step after it reads the clock after the pause), and L is counted in time,
 * not in ticks, which a driver collapses after a stall.
 *
 * Stall rule: a gap of more than RAFT_STALL_TICKS * tick_us between two
 * events sets lease_floor_us: only rounds sent at or after it count for
 * the lease again.  The time rule alone is already safe; the floor makes a
 * stall cost the lease at once and visibly (defence in depth against a
 * driver that stamps an event too early).
 *
 * Sending TimeoutNow voids the lease for the rest of the term: the
 * target's election bypasses the followers' vote lease.
 */

static struct raft_read_req *req_at(struct raft *r, uint32_t k)
{
	return &r->reads[(r->reads_start + k) % r->reads_cap];
}

static int reads_reserve(struct raft *r, uint32_t n)
{
	if (r->reads_n + n <= r->reads_cap) {
		return 0;
	}
	uint32_t cap = r->reads_cap ? r->reads_cap : 64;
	while (cap < r->reads_n + n) {
		cap *= 2;
	}
	struct raft_read_req *q = fr_calloc(cap, sizeof(*q));
	struct raft_read *o = fr_realloc(r->read_out, cap * sizeof(*o));
	if (q == NULL || o == NULL) {
		fr_free(q);
		if (o != NULL) {
			r->read_out = o; /* realloc succeeded: keep it */
		}
		return FR_NOMEM;
	}
	for (uint32_t k = 0; k < r->reads_n; k++) {
		q[k] = *req_at(r, k);
	}
	fr_free(r->reads);
	r->reads = q;
	r->reads_start = 0;
	r->reads_cap = cap;
	r->read_out = o;
	r->read_out_cap = cap;
	return 0;
}

void raft__reads_close(struct raft *r)
{
	fr_free(r->reads);
	fr_free(r->read_out);
	r->reads = NULL;
	r->read_out = NULL;
	r->reads_n = r->reads_cap = r->read_out_cap = 0;
}

/* Send time + 1 of heartbeat round @seq (the time of the first round at
 * or before it; rounds only move forward in time).  0 when it is too old
 * to know: then it extends no lease. */
static uint64_t seq_time(const struct raft *r, uint64_t seq)
{
	uint32_t n =
	    r->seq_ring_n < RAFT_SEQ_RING ? r->seq_ring_n : RAFT_SEQ_RING;
	for (uint32_t k = 1; k <= n; k++) {
		const struct raft_seq_time *e =
		    &r->seq_ring[(r->seq_ring_n - k) % RAFT_SEQ_RING];
		if (e->seq <= seq) {
			return e->time_us + 1;
		}
	}
	return 0;
}

void raft__note_seq_sent(struct raft *r)
{
	if (r->seq_ring_n > 0) {
		const struct raft_seq_time *e =
		    &r->seq_ring[(r->seq_ring_n - 1) % RAFT_SEQ_RING];
		/* Record at most one round per quarter tick, so the ring
		 * spans 16 ticks whatever the read load; a later round of
		 * the same quarter maps to the earlier time (conservative). */
		if (e->time_us + r->opt.tick_us / 4 > r->now_us) {
			return;
		}
	}
	r->seq_ring[r->seq_ring_n % RAFT_SEQ_RING] =
	    (struct raft_seq_time){r->hb_seq, r->now_us};
	r->seq_ring_n++;
}

void raft__clock(struct raft *r, uint64_t time_us)
{
	if (time_us <= r->now_us) {
		return; /* not backward (raft.h note 8) */
	}
	uint64_t gap = time_us - r->now_us;
	if (r->now_us != 0 &&
	    gap > (uint64_t)RAFT_STALL_TICKS * r->opt.tick_us) {
		r->lease_floor_us = time_us; /* stalled: lease void */
		if (r->role == RAFT_LEADER) {
			r->stats.lease_stalls++;
		}
	}
	r->now_us = time_us;
}

void raft__note_seq_acked(struct raft *r, int slot, uint64_t seq)
{
	struct raft_progress *pr = &r->progress[slot];
	if (seq <= pr->acked_seq) {
		return;
	}
	pr->acked_seq = seq;
	uint64_t t = seq_time(r, seq);
	if (t > pr->acked_at) {
		pr->acked_at = t;
	}
}

/* The heartbeat round (or its send time + 1) a majority has answered. */
static uint64_t quorum_value(const struct raft *r, uint64_t self, bool time)
{
	uint64_t v[RAFT_MAX_SERVERS];
	for (uint32_t i = 0; i < r->config.n; i++) {
		v[i] =
		    time ? r->progress[i].acked_at : r->progress[i].acked_seq;
	}
	return raft__quorum_value(r, self, v);
}

static bool term_committed(const struct raft *r)
{
	return raft_log_term_of(&r->log, r->commit) == r->term;
}

bool raft__lease_valid(const struct raft *r)
{
	if (r->role != RAFT_LEADER || r->opt.lease_ticks == 0 ||
	    r->lease_off_term == r->term || !term_committed(r)) {
		return false;
	}
	uint64_t start = quorum_value(r, r->now_us + 1, true);
	if (start == 0 || start - 1 < r->lease_floor_us) {
		return false;
	}
	uint64_t len = (uint64_t)r->opt.lease_ticks * r->opt.tick_us;
	return r->now_us < start - 1 + len;
}

int raft__read(struct raft *r, const uint64_t *ctx, uint32_t n, bool lease)
{
	if (r->role != RAFT_LEADER) {
		return FR_NOTLEADER;
	}
	if (ctx == NULL || n == 0 || n > RAFT_MAX_BATCH_ENTRIES) {
		return FR_INVALID;
	}
	if (r->reads_n + n > RAFT_MAX_PENDING_READS) {
		return FR_BUSY;
	}
	int rv = reads_reserve(r, n);
	if (rv != 0) {
		return rv;
	}
	bool by_lease = lease && raft__lease_valid(r);
	raft_index index = term_committed(r) ? r->commit : 0;
	/* A lone voter is its own majority: confirmed at once. */
	bool alone = raft__config_voters(&r->config) == 1 &&
		     raft__config_is_voter(&r->config, r->id);
	uint64_t seq = by_lease || alone ? 0 : r->hb_seq + 1;
	for (uint32_t k = 0; k < n; k++) {
		*req_at(r, r->reads_n++) =
		    (struct raft_read_req){ctx[k], index, seq};
	}
	if (seq != 0) {
		r->read_round = true;
	}
	if (by_lease) {
		r->stats.reads_lease += n;
	}
	return 0;
}

/* With read_round_majority, send a read round only to the fewest voters
 * that make a majority with
 * the leader, those that answered the latest rounds (ties: configuration
 * order): each round wakes as few followers as it needs, which on a
 * loaded machine is CPU the others keep.  Only streaming (REPLICATE)
 * followers qualify: a heartbeat to them always leaves.  Safety does not
 * depend on the choice (a read is released only by a majority's answers);
 * liveness does not either: if the chosen one stops answering, the next
 * periodic heartbeat goes to every follower with a newer round, whose
 * answers release the reads and make the others the latest to answer.
 * Without enough streaming voters, the round goes to everyone. */
static void send_round(struct raft *r)
{
	uint32_t voters = raft__config_voters(&r->config);
	bool self = raft__config_is_voter(&r->config, r->id);
	uint32_t need = voters / 2 + 1 - (self ? 1 : 0);
	int pick[RAFT_MAX_SERVERS];
	uint32_t n = 0;

	for (uint32_t i = 0; i < r->config.n; i++) {
		const struct raft_progress *pr = &r->progress[i];
		if (r->config.servers[i].id == r->id ||
		    r->config.servers[i].role != RAFT_VOTER ||
		    pr->state != RAFT_PR_REPLICATE) {
			continue;
		}
		uint32_t j = n++; /* insertion sort, latest answer first */
		while (j > 0 &&
		       r->progress[pick[j - 1]].acked_seq < pr->acked_seq) {
			pick[j] = pick[j - 1];
			j--;
		}
		pick[j] = (int)i;
	}
	if (!r->opt.read_round_majority || !self || n < need) {
		raft__broadcast_append(r, true);
		return;
	}
	for (uint32_t k = 0; k < need; k++) {
		raft__send_append(r, pick[k], true);
	}
}

/* One heartbeat round for the reads registered since the last one.  While
 * a read round is still unanswered by a majority, new reads wait for the
 * next (their seq is already the next round's): at most one read round per
 * round trip, however many reads arrive, instead of one per step. */
void raft__read_round(struct raft *r)
{
	if (r->role != RAFT_LEADER) {
		r->read_round = false;
		return;
	}
	if (quorum_value(r, UINT64_MAX, false) < r->read_round_seq) {
		return; /* pending: sent when the current round is answered */
	}
	r->read_round = false;
	r->hb_seq++;
	r->read_round_seq = r->hb_seq;
	raft__note_seq_sent(r);
	send_round(r);
}

/* The leader's first commit of its term fixes the index of reads that came
 * in before it. */
void raft__reads_term_committed(struct raft *r)
{
	for (uint32_t k = 0; k < r->reads_n; k++) {
		struct raft_read_req *q = req_at(r, k);
		if (q->index == 0) {
			q->index = r->commit;
		}
	}
}

void raft__reads_release(struct raft *r)
{
	if (r->reads_n == 0 || r->role != RAFT_LEADER) {
		return;
	}
	if (term_committed(r)) {
		raft__reads_term_committed(r);
	}
	uint64_t confirmed = quorum_value(r, UINT64_MAX, false);
	while (r->reads_n > 0) {
		struct raft_read_req *q = req_at(r, 0);
		if (q->seq > confirmed || q->index == 0 ||
		    q->index > r->applied) {
			break;
		}
		r->read_out[r->n_read_out++] =
		    (struct raft_read){q->ctx, q->index, 0};
		r->reads_start = (r->reads_start + 1) % r->reads_cap;
		r->reads_n--;
		r->stats.reads_served++;
	}
}

/* Leadership lost: every pending read fails; the client retries at the new
 * leader. */
void raft__reads_fail(struct raft *r)
{
	while (r->reads_n > 0) {
		struct raft_read_req *q = req_at(r, 0);
		r->read_out[r->n_read_out++] =
		    (struct raft_read){q->ctx, 0, FR_NOTLEADER};
		r->reads_start = (r->reads_start + 1) % r->reads_cap;
		r->reads_n--;
	}
}
