/* node_step.c — feed the core and carry out each raft_update (persist,
 * send, apply, answer clients). */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "heap.h"
#include "node_int.h"

static const char not_committed[] =
    "-TRYAGAIN the entry was not committed (leadership changed); retry\r\n";
static const char timed_out_write[] =
    "-TRYAGAIN timed out waiting for commit; the write may or may not "
    "have been applied\r\n";
static const char timed_out_read[] = "-TRYAGAIN timed out; retry\r\n";

static void fail(struct node *n, int rv, const char *what, const char *why)
{
	if (n->fatal == 0) {
		n->fatal = rv;
		snprintf(n->errmsg, sizeof(n->errmsg), "%s: %s", what, why);
	}
}

/* One message to its peer; a refused send is counted, Raft retransmits. */
static int send_message(void *arg, const struct raft_message *msg)
{
	struct node *n = arg;

	if (msg->type == RAFT_MSG_SNAPSHOT) {
		/* The core leaves the bytes to us (raft.h note 6). */
		struct raft_message m = *msg;
		if (!node__snap_fill(n, &m) ||
		    n->io->send(n->io_ctx, &m) != 0) {
			n->c.send_dropped++;
		}
		return 0;
	}
	if (n->io->send(n->io_ctx, msg) != 0) {
		/* FR_AGAIN / FR_NOCONN: Raft retransmits. */
		n->c.send_dropped++;
	}
	node__stage_sent(n, msg);
	return 0;
}

static void complete(struct node *n, struct node_pending *p, const void *buf,
		     size_t len)
{
	(void)n;
	if (!p->done) {
		(void)n->io->reply(n->io_ctx, &p->req, buf, len);
		p->done = true;
	}
}

static void pending_pop(struct node *n)
{
	struct node_pending *p = &n->pend[n->pend_head];

	fr_free(p->argv);
	p->argv = NULL;
	n->pend_head++;
	if (n->pend_head == n->pend_n) {
		n->pend_head = n->pend_n = 0;
	}
}

static void answer_read(struct node *n, struct node_pending *p)
{
	int rv = node__read_exec(n, p->argc, p->argv);

	if (rv == FR_NOMEM) {
		complete(n, p, "-ERR out of memory\r\n", 20);
	} else {
		complete(n, p, n->reply.buf, n->reply.len);
	}
}

/* The entry @e was applied with reply n->reply: answer whoever waits. */
static void answer_applied(struct node *n, const struct raft_entry *e)
{
	while (n->pend_head < n->pend_n) {
		struct node_pending *p = &n->pend[n->pend_head];

		if (p->index == 0 || p->index > e->index) {
			break;
		}
		if (p->index < e->index || p->term != e->term) {
			if (!p->done) {
				n->c.not_committed++;
			}
			complete(n, p, not_committed,
				 sizeof(not_committed) - 1);
		} else if (p->is_read) {
			answer_read(n, p);
		} else {
			if (!p->done) {
				node__hist_add(
				    &n->c.commit,
				    (double)(node__mono_ns() - p->start_ns) /
					1e9);
			}
			complete(n, p, n->reply.buf, n->reply.len);
			node__stage_replied(n, p->index);
		}
		pending_pop(n);
	}
}

/* One committed entry: apply it and answer whoever waits for it. */
static int apply_one(void *arg, const struct raft_entry *e)
{
	struct node *n = arg;

	n->reply.len = 0;
	if (e->type == RAFT_ENTRY_CONFIG) {
		/* The client of a membership change waits for it. */
		(void)node__reply_set(n, "+OK\r\n", 5);
	}
	if (e->type == RAFT_ENTRY_NORMAL && e->len > 0) {
		/* Bounds the reads inside a transaction only. */
		n->reply.max = (size_t)n->o.reply_bytes_max;
		int rv =
		    kvc_apply_at(n->kvc, e->index, e->buf, e->len, &n->reply);
		n->reply.max = 0;

		if (rv == FR_NOMEM) {
			/* This replica may now differ: stop it. */
			fail(n, rv, "state machine", "out of memory");
			return rv;
		}
	}
	n->c.applied++;
	node__stage_applied(n, e->index);
	if (n->io->size >=
		offsetof(struct node_io, applied) + sizeof(n->io->applied) &&
	    n->io->applied != NULL) {
		n->io->applied(n->io_ctx, e);
	}
	answer_applied(n, e);
	node__reads_evaluate(n, e->index);
	/* Cluster time follows the stamps as they are applied. */
	n->ctime.applied_term = e->term;
	node__ctime_observe(&n->ctime, kvc_now_ms(n->kvc), node__now_ms());
	return 0;
}

static int role_change(void *arg, const struct raft_update *u)
{
	struct node *n = arg;
	struct raft_status st;

	raft_status_get(n->raft, &st);
	if (u->leader != n->leader) {
		n->c.leader_changes++;
	}
	if (u->role != n->role || u->leader != n->leader) {
		fr_log(FR_LOG_INFO, NULL, "%s in term %" PRIu64 ", leader %u",
		       raft_role_name(u->role), st.term, u->leader);
	}
	if (st.term_exhausted && !n->term_exhausted) {
		/* Said once, loudly: nothing the node does can fix it. */
		fr_log(FR_LOG_ERROR, NULL,
		       "term space exhausted (term %" PRIu64
		       " = RAFT_TERM_MAX): once the leader is gone no "
		       "election can start; copy the data into a new cluster",
		       st.term);
	}
	n->term_exhausted = st.term_exhausted;
	if (u->role == RAFT_LEADER && n->role != RAFT_LEADER) {
		node__stage_reset(n);
	}
	n->role = u->role;
	n->leader = u->leader;
	if (n->fwd.open && n->fwd.leader != n->leader) {
		/* Requests in flight to the old leader: outcome unknown. */
		node__fwd_close(n);
	}
	return 0;
}

/* Remember when entries up to @last were submitted, for the persist
 * latency histogram.  A truncation (@first not after the newest tracked
 * index) forgets everything tracked. */
static void sub_push(struct node *n, raft_index first, raft_index last)
{
	uint32_t cap = sizeof(n->sub) / sizeof(n->sub[0]);

	if (n->sub_n > 0 &&
	    first <= n->sub[(n->sub_head + n->sub_n - 1) % cap].index) {
		n->sub_n = 0;
	}
	if (n->sub_n == cap) {
		return; /* not tracked; the histogram samples */
	}
	n->sub[(n->sub_head + n->sub_n) % cap].index = last;
	n->sub[(n->sub_head + n->sub_n) % cap].t_ns = node__mono_ns();
	n->sub_n++;
}

static void sub_durable(struct node *n, raft_index durable)
{
	uint32_t cap = sizeof(n->sub) / sizeof(n->sub[0]);
	uint64_t now = n->sub_n ? node__mono_ns() : 0;

	while (n->sub_n > 0 && n->sub[n->sub_head].index <= durable) {
		node__hist_add(&n->c.persist,
			       (double)(now - n->sub[n->sub_head].t_ns) / 1e9);
		if (n->role == RAFT_LEADER) {
			node__stage_span(n, NODE_STAGE_WAL,
					 n->sub[n->sub_head].t_ns, now);
		}
		n->sub_head = (n->sub_head + 1) % cap;
		n->sub_n--;
	}
}

static int save_hardstate(void *arg, raft_term term, raft_id vote)
{
	struct node *n = arg;
	uint64_t t0 = node__mono_ns();
	int rv = n->io->hardstate_save(n->io_ctx, term, vote);

	if (rv != 0) {
		fail(n, rv, "saving term/vote", n->io->errmsg(n->io_ctx));
		return rv;
	}
	n->c.hardstate_saves++;
	node__hist_add(&n->c.hs_fsync, (double)(node__mono_ns() - t0) / 1e9);
	if (term > n->term) {
		n->io->term_set(n->io_ctx, term);
	}
	n->term = term;
	return 0;
}

/* raft.h note 7: the core's log matches a leader's through what this
 * node may have acknowledged, or this node won an election and its log is
 * the cluster's now; persist that it is no longer recovering. */
static int recovered(void *arg)
{
	struct node *n = arg;
	int rv = n->io->recovering_clear(n->io_ctx);
	struct raft_status st;

	if (rv != 0) {
		fail(n, rv, "clearing the recovering state",
		     n->io->errmsg(n->io_ctx));
		return rv;
	}
	raft_status_get(n->raft, &st);
	if (st.role == RAFT_LEADER) {
		fr_log(FR_LOG_WARN, NULL,
		       "recovered: elected leader, so this log is the "
		       "cluster's now (INFO recovering:0)");
		return 0;
	}
	fr_log(FR_LOG_WARN, NULL,
	       "recovered: the log was repaired from the leader; voting "
	       "again (INFO recovering:0)");
	return 0;
}

static int store_chunk(void *arg, const struct raft_snapshot_chunk *c)
{
	struct node *n = arg;

	node__snap_chunk(n, c);
	return n->fatal;
}

static int install(void *arg, const struct raft_update *u)
{
	struct node *n = arg;

	node__snap_install(n, u);
	return n->fatal;
}

static int submit(void *arg, const struct raft_entry *e, uint32_t count)
{
	struct node *n = arg;
	int rv = n->io->log_submit(n->io_ctx, e, count);

	if (rv != 0) {
		fail(n, rv, "writing the log", n->io->errmsg(n->io_ctx));
		return rv;
	}
	n->c.wal_submits++;
	n->kick_due = true;
	sub_push(n, e[0].index, e[count - 1].index);
	return 0;
}

static int serve_reads(void *arg, const struct raft_update *u)
{
	struct node *n = arg;

	if (u->flags & RAFT_UPDATE_READS) {
		node__reads_released(n, u);
	}
	node__reads_drain(n);
	return 0;
}

static int want_snapshot(void *arg, raft_index index)
{
	struct node *n = arg;

	n->snap_wanted = index; /* taken in the loop */
	return 0;
}

/* The runtime's parts of an update; raft_update_carry_out() orders them. */
static const struct raft_update_ops node_update_ops = {
    .size = sizeof(struct raft_update_ops),
    .hardstate = save_hardstate,
    .snapshot_chunk = store_chunk,
    .snapshot_install = install,
    .entries = submit,
    .apply = apply_one,
    .reads = serve_reads,
    .role = role_change,
    .snapshot_wanted = want_snapshot,
    .message = send_message,
    .recovered = recovered,
};

static void carry_out(struct node *n, const struct raft_update *u)
{
	int rv;

	if (u->flags & RAFT_UPDATE_COMMIT) {
		node__stage_committed(n, u->commit);
	}
	rv = raft_update_carry_out(u, &node_update_ops, n);

	if (n->kick_due) {
		/* Entries first queued, messages sent, now the disk. */
		n->kick_due = false;
		if (n->io->size >= offsetof(struct node_io, log_kick) +
				       sizeof(n->io->log_kick) &&
		    n->io->log_kick != NULL) {
			n->io->log_kick(n->io_ctx);
		}
	}
	/* A part failed: n->fatal is set and the loop stops. */
	assert(rv == 0 || n->fatal != 0);
	(void)rv;
}

bool node__mutate_tick_lease;

/* An event's time (raft.h note 8): the monotonic clock as it is read. */
static uint64_t event_us(const struct node *n)
{
	if (node__mutate_tick_lease) {
		/* Test-only: the old daemon's clock, one tick per timer
		 * expiry, so a stall counts as one tick. */
		return 1000000u + (uint64_t)n->ticks * n->o.tick_ms * 1000u;
	}
	return node__boot_us();
}

int node__step_update(struct node *n, const struct raft_event *ev,
		      struct raft_update *u)
{
	int rv;

	if (n->fatal != 0) {
		memset(u, 0, sizeof(*u));
		return FR_SHUTDOWN;
	}
	/* The clock is read now, after whatever input the event carries
	 * was received (raft.h note 8): a read taken off a socket before a
	 * pause is stamped after it. */
	struct raft_event e = *ev;
	e.time_us = event_us(n);
	rv = raft_step(n->raft, &e, u);
	if (rv == FR_NOMEM) {
		fr_log(FR_LOG_WARN, NULL, "raft_step: out of memory");
	}
	/* The update is valid whatever the answer (raft.h). */
	carry_out(n, u);
	return rv;
}

int node__step_rv(struct node *n, const struct raft_event *ev)
{
	struct raft_update u;

	return node__step_update(n, ev, &u);
}

void node__step(struct node *n, const struct raft_event *ev)
{
	(void)node__step_rv(n, ev);
}

void node__persisted_check(struct node *n)
{
	raft_index index;
	raft_term term;
	int rv = n->io->log_durable(n->io_ctx, &index, &term);

	if (rv != 0) {
		fail(n, rv, "log storage failed", n->io->errmsg(n->io_ctx));
		return;
	}
	if (index != n->reported_index || term != n->reported_term) {
		struct raft_event ev = {.type = RAFT_EVENT_PERSISTED};

		sub_durable(n, index);
		n->reported_index = index;
		n->reported_term = term;
		ev.persisted.index = index;
		ev.persisted.term = term;
		node__step(n, &ev);
	}
}

/* Proposals collected in this iteration go to the core in one event. */
void node__propose_flush(struct node *n)
{
	struct raft_event ev = {.type = RAFT_EVENT_PROPOSE};
	struct raft_update u;
	uint64_t now = node__mono_ns();
	size_t first;
	int rv;

	if (n->batch_n == 0) {
		return;
	}
	for (uint32_t i = 0; i < n->batch_n; i++) {
		n->bufs[i].base = n->data[i].buf;
		n->bufs[i].len = (uint32_t)n->data[i].len;
	}
	ev.propose.bufs = n->bufs;
	ev.propose.n = n->batch_n;
	ev.time_us = event_us(n);
	rv = n->fatal == 0 ? raft_step(n->raft, &ev, &u) : FR_SHUTDOWN;
	uint64_t took = node__mono_ns(); /* the propose stage ends */
	/* The batch's clients are the records not yet given an index. */
	first = n->pend_n;
	while (first > n->pend_head && n->pend[first - 1].index == 0) {
		first--;
	}
	for (size_t i = first; i < n->pend_n; i++) {
		struct node_pending *p = &n->pend[i];

		if (rv == 0) {
			p->index = u.proposed_index + p->slot;
			p->term = u.proposed_term;
			p->start_ns = now;
			node__stage_span(n, NODE_STAGE_PROPOSE, p->parsed_ns,
					 took);
		} else {
			complete(n, p, not_committed,
				 sizeof(not_committed) - 1);
		}
	}
	if (rv != 0) {
		while (n->pend_n > first) {
			n->pend_n--;
			fr_free(n->pend[n->pend_n].argv);
			n->pend[n->pend_n].argv = NULL;
		}
		if (n->pend_n == n->pend_head) {
			n->pend_n = n->pend_head = 0;
		}
	} else {
		node__stage_proposed(n, u.proposed_index, n->batch_n, now);
		n->c.proposals += n->batch_n;
		n->c.propose_batches++;
	}
	n->batch_n = 0;
	n->marker_slot = -1;
	if (rv == 0) {
		carry_out(n, &u);
	}
}

void node__pending_timeouts(struct node *n)
{
	uint64_t now = node__now_ms();

	for (size_t i = n->pend_head; i < n->pend_n; i++) {
		struct node_pending *p = &n->pend[i];

		if (!p->done && p->index != 0 && now > p->deadline_ms) {
			n->c.timeouts++;
			if (p->is_read) {
				complete(n, p, timed_out_read,
					 sizeof(timed_out_read) - 1);
			} else {
				complete(n, p, timed_out_write,
					 sizeof(timed_out_write) - 1);
			}
		}
	}
}

void node__pending_free(struct node *n)
{
	for (size_t i = n->pend_head; i < n->pend_n; i++) {
		fr_free(n->pend[i].argv);
	}
	fr_free(n->pend);
	n->pend = NULL;
	n->pend_head = n->pend_n = n->pend_cap = 0;
}
