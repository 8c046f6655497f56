/* sim_time.c — the simulator's clocks: per-node monotonic clocks with rate
 * drift, and process pauses (sim.h notes). */
#include <stdlib.h>

#include "sim_private.h"

void sim__clock_init(struct sim *s, struct sim_node *n)
{
	uint64_t d = s->opt.clock_drift_ppm;
	n->clock_rate_ppm = (int64_t)sim__range(s, 0, 2 * d) - (int64_t)d;
	n->clock_base_us = sim__range(s, 1, 1000000000ull);
}

uint64_t sim__clock(const struct sim *s, const struct sim_node *n)
{
	/* rate > -1e6 ppm and now only grows: the clock never goes back. */
	int64_t skew = (int64_t)s->now * n->clock_rate_ppm / 1000000;
	return n->clock_base_us + (uint64_t)((int64_t)s->now + skew);
}

uint64_t sim_node_clock(const struct sim *s, raft_id id)
{
	if (id == 0 || id > s->opt.n_nodes) {
		return 0;
	}
	return sim__clock(s, &s->nodes[id]);
}

void sim_pause(struct sim *s, raft_id id, uint64_t us)
{
	if (id == 0 || id > s->opt.n_nodes || !s->nodes[id].up || us == 0) {
		return;
	}
	struct sim_node *n = &s->nodes[id];
	if (n->paused_until < s->now + us) {
		n->paused_until = s->now + us;
	}
	s->pauses++;
	sim__trace(s, 16 /* TR_PAUSE */, id, 0, 0, 0, us, 0);
}

bool sim_is_paused(const struct sim *s, raft_id id)
{
	return id >= 1 && id <= s->opt.n_nodes && s->nodes[id].up &&
	       s->nodes[id].paused_until > s->now;
}

uint64_t sim_pauses(const struct sim *s)
{
	return s->pauses;
}

/* An event for a paused node waits until it resumes (re-queued behind what
 * is already waiting, so order is kept).  A tick also counts what the
 * process missed.  Returns true when @ev was held. */
bool sim__hold(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = &s->nodes[ev->node];
	if (!n->up || n->paused_until <= ev->time) {
		return false;
	}
	struct sim_event e = *ev;
	if (e.type == SIM_TICK) {
		if (e.incarnation != n->incarnation) {
			return true; /* a dead incarnation's: drop it */
		}
		n->tick_backlog += (n->paused_until - e.time) / s->opt.tick_us;
		n->tick_backlog += 1;
	}
	/* The runtime's loop handles its ready fds (tick timer, client
	 * sockets) before it polls the fabric: after a pause, ticks and
	 * queued reads come first, peer messages and completions 1 us
	 * later. */
	bool io = e.type == SIM_DELIVER || e.type == SIM_DISK;
	e.time = n->paused_until + (io ? 1 : 0);
	sim__push(s, e);
	return true;
}

/* Ticks to step now: one, or after a pause what the runtime's timerfd
 * reports, collapsed to three (core/node/node.c on_tick). */
uint32_t sim__ticks_due(struct sim_node *n)
{
	uint64_t k = n->tick_backlog;
	n->tick_backlog = 0;
	if (k == 0) {
		return 1;
	}
	return k > 3 ? 3 : (uint32_t)k;
}

/* A client read that queued while its node was paused. */
void sim__read_event(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = &s->nodes[ev->node];
	if (!n->up || ev->incarnation != n->incarnation) {
		return; /* the crash dropped its invocation (sim_crash) */
	}
	(void)sim__read_step(s, n, ev->arg >> 1, ev->arg & 1);
}
