/*
 * node_intake.c — hold the client front while a replication round is out.
 *
 * A leader that reads every client the moment its bytes arrive proposes a
 * handful of requests per loop iteration: at 50 clients about 6, each
 * batch its own AppendEntries to every follower, its own log write on each
 * of them, its own loop iterations and wake-ups.  On a machine with fewer
 * cores than processes that per-batch CPU is what limits throughput.
 * redis-server batches by accident of design: its fsync blocks the event
 * loop, so every client that sent meanwhile is read in the next iteration
 * and made durable in one write.
 *
 * The same here, on purpose and bounded: when client bytes arrive while
 * requests of this node are waiting for their round (writes for commit,
 * reads for their ReadIndex round), the node stops watching the client
 * front instead of reading them.  The requests wait in the kernel's socket
 * buffers; when this node's requests are all answered, or --intake-hold-us
 * has passed (a slow or stalled round must not stop INFO, PING or new
 * connections for long), the front is watched again and everything that
 * came meanwhile is read in one iteration: one proposal batch, one
 * AppendEntries per follower, one log write on each node.
 *
 * After a release the front is read once before it can be held again: a
 * round that outlasts the hold must not keep every client waiting for it.
 * A lone client never waits: its next request comes after its answer, when
 * nothing is in flight.  The hold starts only on bytes that arrive during
 * a round, so it costs two epoll_ctl calls per round, not per request.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "node_int.h"

bool node__requests_waiting(const struct node *n)
{
	return n->pend_n > n->pend_head || n->rq_n > n->rq_head;
}

/* When the current hold times out. */
static uint64_t hold_end_ns(const struct node *n)
{
	return n->intake_since_ns + (uint64_t)n->o.intake_hold_us * 1000u;
}

static int watch(struct node *n, bool on)
{
	struct epoll_event ev = {.events = on ? EPOLLIN : 0,
				 .data.u32 = NODE__TAG_RESP};

	return epoll_ctl(n->ep, EPOLL_CTL_MOD, resp_server_fd(n->srv), &ev);
}

bool node__intake_hold(struct node *n)
{
	if (n->intake_owed) {
		/* Released: what waited is read now, even if the round that
		 * timed the hold out is still out (else it never would be). */
		n->intake_owed = false;
		return false;
	}
	if (n->o.intake_hold_us == 0 || n->intake_held || n->stopping ||
	    !node__requests_waiting(n)) {
		return false;
	}
	if (watch(n, false) != 0) {
		/* Not fatal: the bytes are read now, unbatched. */
		fr_log(FR_LOG_WARN, NULL, "intake hold: epoll_ctl: %s",
		       strerror(errno));
		return false;
	}
	n->intake_held = true;
	n->intake_since_ns = node__mono_ns();
	n->c.intake_holds++;
	return true;
}

void node__intake_check(struct node *n)
{
	if (!n->intake_held) {
		return;
	}
	uint64_t now = node__mono_ns();

	if (node__requests_waiting(n) && !n->stopping && now < hold_end_ns(n)) {
		return;
	}
	if (watch(n, true) != 0) {
		/* The front would never be read again: stop loudly. */
		snprintf(n->errmsg, sizeof(n->errmsg),
			 "intake release: epoll_ctl: %s", strerror(errno));
		n->fatal = FR_IO;
		return;
	}
	n->intake_held = false;
	n->intake_owed = true;
	n->c.intake_held_us += (now - n->intake_since_ns) / 1000u;
}

uint64_t node__intake_wait_ns(const struct node *n)
{
	if (!n->intake_held) {
		return UINT64_MAX;
	}
	uint64_t end = hold_end_ns(n);
	uint64_t now = node__mono_ns();

	return now >= end ? 0 : end - now;
}
