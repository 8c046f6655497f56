/* node_clock.c — the runtime's clocks: monotonic time for deadlines and the
 * cluster time a leader stamps into state machine entries. */
#include <stdlib.h>
#include <time.h>

#include "node_int.h"

/*
 * Design notes
 * ============
 * 1. Deadlines (request timeouts, forwarding, reads) use node__now_ms(),
 *    CLOCK_BOOTTIME: a step of the wall clock neither fires nor stretches
 *    them.
 * 2. Entries for the KV-cache state machine carry a stamp, the state
 *    machine's "now" for every lease it keeps (storage-node heartbeats,
 *    pins, reservations).  The state machine takes the maximum of the
 *    stamps it applies (kvc_cmd.c), so its time never goes backward
 *    whatever the stamps.  The stamp is the cluster time of the node that
 *    proposes the entry (node__ctime_stamp):
 *
 *        ct = max(A, B + (m - M))
 *
 *    with A the state machine's time as this node has applied it, and
 *    (B, M) the anchor: B the cluster time at monotonic time M.  After
 *    every apply (node__ctime_observe), and when stamping, an A ahead of
 *    B + (m - M) moves the anchor to (A, m): every node, follower or
 *    leader, keeps the clock running from the stamps it applies, so a new
 *    leader continues from where its predecessor's stamps left off.
 *    A node that has applied no stamp yet does not know the cluster time:
 *    that is every node after a restart without a snapshot, since the
 *    commit index is not persisted and the log is applied again only as
 *    the new leader commits.  Such a leader stamps nothing
 *    (node__stamp_known; writes get "-TRYAGAIN ... not executed") until
 *    it has applied an entry of its own term, its no-op: by then it has
 *    applied every committed entry, and with it every committed stamp
 *    (snapshots carry the state machine's time).  Only when none of them
 *    carried a stamp, a new cluster, does it start from its wall clock,
 *    once: that keeps stamps near Unix milliseconds for people reading
 *    them, and it is the only place the wall clock enters.
 * 3. Never backward across leaders: a new leader has applied, or will
 *    apply before its entries, every stamp of the earlier leaders' entries
 *    it has; its ct starts at or above the largest it has applied and grows.
 *    Stamps in the log may dip below an earlier leader's latest by the new
 *    leader's apply lag; the state machine's maximum hides the dip (its
 *    time stands still for at most that lag).
 * 4. Never ahead of real time: every stamp was, when made, at most an
 *    earlier stamp plus the monotonic time elapsed since that earlier
 *    stamp was applied here, which is after it was made.  By induction a
 *    stamp exceeds the first one by at most the real time elapsed since
 *    then times (1 + d), d the clocks' rate error; a wall-clock step moves
 *    nothing.  While no leader stamps (a whole-cluster outage) cluster time
 *    stands still: leases are extended by the outage, never shortened.
 * 5. Tests may shift this process's wall clock with the environment
 *    variable FABRAFT_TEST_WALL_OFFSET_MS (signed ms, read at the first
 *    use; logged as a warning).  It exists for the e2e test of the rule
 *    above and changes only node__wall_ms().
 */

void node__ctime_observe(struct node_ctime *c, uint64_t applied_ms,
			 uint64_t mono_ms)
{
	if (applied_ms == 0) {
		return; /* nothing stamped yet */
	}
	if (!c->anchored || applied_ms > c->base_ms + (mono_ms - c->mono_ms)) {
		c->base_ms = applied_ms;
		c->mono_ms = mono_ms;
		c->anchored = true;
	}
}

uint64_t node__ctime_stamp(struct node_ctime *c, uint64_t applied_ms,
			   uint64_t mono_ms, uint64_t wall_ms)
{
	node__ctime_observe(c, applied_ms, mono_ms);
	if (!c->anchored) {
		c->base_ms = wall_ms; /* a new cluster: once (note 2) */
		c->mono_ms = mono_ms;
		c->anchored = true;
	}
	return c->base_ms + (mono_ms - c->mono_ms);
}

bool node__stamp_known(const struct node *n)
{
	struct raft_status st;

	if (n->ctime.anchored || kvc_now_ms(n->kvc) != 0) {
		return true;
	}
	raft_status_get(n->raft, &st);
	return st.term != 0 && n->ctime.applied_term == st.term;
}

uint64_t node__stamp_ms(struct node *n)
{
	return node__ctime_stamp(&n->ctime, kvc_now_ms(n->kvc), node__now_ms(),
				 node__wall_ms());
}

uint64_t node__now_ms(void)
{
	return node__boot_us() / 1000u;
}

static int64_t wall_offset_ms(void)
{
	static int64_t offset;
	static int read_env;

	if (!read_env) {
		const char *v = getenv("FABRAFT_TEST_WALL_OFFSET_MS");

		read_env = 1;
		if (v != NULL && *v != '\0') {
			offset = strtoll(v, NULL, 10);
			fr_log(FR_LOG_WARN, NULL,
			       "test hook: wall clock shifted by %lld ms "
			       "(FABRAFT_TEST_WALL_OFFSET_MS)",
			       (long long)offset);
		}
	}
	return offset;
}

uint64_t node__wall_ms(void)
{
	const struct node *cn = node__io_clock_owner();

	if (cn != NULL) {
		return cn->io->wall_ms(cn->io_ctx); /* a driven node's clock */
	}
	return node__wall_real_ms();
}

uint64_t node__wall_real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms =
	    (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000;
	return ms + (uint64_t)wall_offset_ms();
}
