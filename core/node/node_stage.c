/* node_stage.c — per-stage commit latency (node_stage.h). */
#include <string.h>

#include "node_int.h"

static const char *const names[NODE_STAGES] = {
    [NODE_STAGE_PROPOSE] = "propose", [NODE_STAGE_WAL] = "wal",
    [NODE_STAGE_COMMIT] = "commit",   [NODE_STAGE_APPLY] = "apply",
    [NODE_STAGE_REPLY] = "reply",     [NODE_STAGE_READ_INDEX] = "read_index",
};

const char *node__stage_name(enum node_stage s)
{
	return s < NODE_STAGES ? names[s] : "?";
}

static void add(struct fr_lhist *h, uint64_t t0, uint64_t now)
{
	fr_lhist_add(h, now > t0 ? now - t0 : 0);
}

void node__stage_reset(struct node *n)
{
	raft_index seen = n->stg.commit_seen;

	memset(&n->stg, 0, sizeof(n->stg));
	n->stg.commit_seen = seen;
}

void node__stage_add(struct node *n, enum node_stage s, uint64_t t0_ns)
{
	add(&n->c.stages.h[s], t0_ns, node__mono_ns());
}

void node__stage_span(struct node *n, enum node_stage s, uint64_t t0_ns,
		      uint64_t t1_ns)
{
	add(&n->c.stages.h[s], t0_ns, t1_ns);
}

static struct node_stage_ent *ent(struct node *n, raft_index index)
{
	struct node_stage_ent *e = &n->stg.ring[index & (NODE_STAGE_RING - 1)];

	return e->index == index ? e : NULL;
}

void node__stage_proposed(struct node *n, raft_index first, uint32_t count,
			  uint64_t now)
{
	for (uint32_t i = 0; i < count; i++) {
		struct node_stage_ent *e =
		    &n->stg.ring[(first + i) & (NODE_STAGE_RING - 1)];

		e->index = first + i;
		e->proposed = now;
		e->committed = e->applied = 0;
	}
}

void node__stage_committed(struct node *n, raft_index commit)
{
	raft_index i = n->stg.commit_seen;
	uint64_t now;

	if (commit <= i) {
		n->stg.commit_seen = commit; /* a new leader's lower start */
		return;
	}
	if (commit - i > NODE_STAGE_RING) {
		i = commit - NODE_STAGE_RING; /* older ones left the ring */
	}
	now = node__mono_ns();
	for (i++; i <= commit; i++) {
		struct node_stage_ent *e = ent(n, i);

		if (e != NULL && e->proposed != 0 && e->committed == 0) {
			e->committed = now;
			add(&n->c.stages.h[NODE_STAGE_COMMIT], e->proposed,
			    now);
		}
	}
	n->stg.commit_seen = commit;
}

void node__stage_applied(struct node *n, raft_index index)
{
	struct node_stage_ent *e = ent(n, index);

	if (e != NULL && e->committed != 0 && e->applied == 0) {
		e->applied = node__mono_ns();
		add(&n->c.stages.h[NODE_STAGE_APPLY], e->committed, e->applied);
	}
}

void node__stage_replied(struct node *n, raft_index index)
{
	struct node_stage_ent *e = ent(n, index);

	if (e == NULL || e->applied == 0) {
		return;
	}
	if (n->stg.n_unflushed == NODE_STAGE_UNFLUSHED) {
		/* Full: count it now rather than grow. */
		node__stage_add(n, NODE_STAGE_REPLY, e->applied);
		return;
	}
	n->stg.unflushed[n->stg.n_unflushed++] = e->applied;
}

void node__stage_flushed(struct node *n)
{
	uint64_t now;

	if (n->stg.n_unflushed == 0) {
		return;
	}
	now = node__mono_ns();
	for (uint32_t i = 0; i < n->stg.n_unflushed; i++) {
		add(&n->c.stages.h[NODE_STAGE_REPLY], n->stg.unflushed[i], now);
	}
	n->stg.n_unflushed = 0;
}

/* The slot of peer @id, claimed if new; -1 when all are taken. */
static int peer_slot(struct node *n, raft_id id)
{
	struct node_stage_hists *h = &n->c.stages;

	for (uint32_t i = 0; i < NODE_STAGE_PEERS; i++) {
		if (h->peer[i] == id) {
			return (int)i;
		}
		if (h->peer[i] == 0) {
			h->peer[i] = id;
			return (int)i;
		}
	}
	return -1;
}

void node__stage_sent(struct node *n, const struct raft_message *m)
{
	int k;

	if (m->type != RAFT_MSG_APPEND || m->append.n_entries == 0 ||
	    n->role != RAFT_LEADER || (k = peer_slot(n, m->to)) < 0) {
		return;
	}
	struct node_stage_peer *q = &n->stg.peer[k];
	raft_index last = m->append.prev_index + m->append.n_entries;
	raft_index first = m->append.prev_index + 1;
	uint32_t tail = (q->head + q->n - 1) % NODE_STAGE_PEER_RING;

	/* A resend of what is in flight keeps its first send time. */
	if (q->n > 0 && last <= q->s[tail].index) {
		return;
	}
	if (q->n == NODE_STAGE_PEER_RING) {
		/* Full (a follower far behind): the newest record takes these
		 * entries too, timed from its own, earlier send. */
		q->s[tail].index = last;
		return;
	}
	if (q->n > 0 && first <= q->s[tail].index) {
		first = q->s[tail].index + 1;
	}
	tail = (q->head + q->n) % NODE_STAGE_PEER_RING;
	q->s[tail].first = first;
	q->s[tail].index = last;
	q->s[tail].t_ns = node__mono_ns();
	q->n++;
}

void node__stage_acked(struct node *n, const struct raft_message *m)
{
	int k;
	uint64_t now;

	if (m->type != RAFT_MSG_APPEND_RESP || !m->append_resp.success ||
	    (k = peer_slot(n, m->from)) < 0 || n->stg.peer[k].n == 0) {
		return;
	}
	struct node_stage_peer *q = &n->stg.peer[k];
	now = node__mono_ns();
	while (q->n > 0 && q->s[q->head].index <= m->append_resp.index) {
		const struct node_stage_send *s = &q->s[q->head];

		fr_lhist_add_n(&n->c.stages.repl[k],
			       now > s->t_ns ? now - s->t_ns : 0,
			       s->index - s->first + 1);
		q->head = (q->head + 1) % NODE_STAGE_PEER_RING;
		q->n--;
	}
}
