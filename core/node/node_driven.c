/* node_driven.c — open and drive a runtime without node_run()'s loop, for
 * the deterministic simulator (node_driven.h). */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "heap.h"
#include "node_driven.h"
#include "node_int.h"

static int driven_raft(struct node *n, const struct node_durable *d,
		       char *errmsg)
{
	struct wal_recovered rec = {.term = d->term,
				    .vote = d->vote,
				    .snapshot_index = d->snapshot_index,
				    .snapshot_term = d->snapshot_term};
	struct raft_restore rs = {.term = d->term, .vote = d->vote};
	int rv;

	rs.entries = d->entries;
	rs.n_entries = d->n_entries;
	rs.recover_index = d->recover_index;
	rs.recover_index_term = d->recover_index_term;
	rv = node__raft_open(n, &rec, &rs, errmsg);
	if (rv != 0) {
		return rv;
	}
	n->reported_index =
	    d->n_entries ? d->entries[d->n_entries - 1].index : 0;
	n->reported_term = d->n_entries ? d->entries[d->n_entries - 1].term : 0;
	n->term = d->term;
	return 0;
}

int node__driven_open(struct node **out, const struct node_options *o,
		      const struct node_io *io, void *ctx,
		      const struct node_durable *d, char *errmsg)
{
	struct node *n = fr_calloc(1, sizeof(*n));
	int rv;

	*out = NULL;
	if (n == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "out of memory");
		return FR_NOMEM;
	}
	assert(node__io_check(io));
	n->o = *o;
	/* Forwarding needs a stream to the leader from the table. */
	n->o.forward = n->o.forward && node__fwd_possible(io);
	n->ep = n->tfd = n->sfd = n->mfd = -1;
	n->fwd.fd = -1;
	n->marker_slot = -1;
	n->role = RAFT_FOLLOWER;
	n->io = io;
	n->io_ctx = ctx;
	node__io_clock_node(n);
	rv = kvc_open(&n->kvc, &n->o.kvc);
	if (rv != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "kvc_open: %s",
			 fr_strerror(rv));
	} else {
		rv = driven_raft(n, d, errmsg);
	}
	node__io_clock_node(NULL);
	if (rv != 0) {
		node__driven_close(n);
		return rv;
	}
	*out = n;
	return 0;
}

void node__driven_close(struct node *n)
{
	node_close(n); /* every handle it does not hold is NULL or -1 */
}

/* What node_run() does after the events of one turn. */
static void turn_end(struct node *n)
{
	node__persisted_check(n);
	node__propose_flush(n);
	node__read_flush(n);
	if (n->snap_wanted != 0 && n->fatal == 0) {
		raft_index idx = n->snap_wanted;

		n->snap_wanted = 0;
		node__snap_take(n, idx);
	}
	node__stage_flushed(n); /* replies went out through io->reply */
	node__reply_trim(n);
	node__io_clock_node(NULL);
}

void node__driven_tick(struct node *n)
{
	struct raft_event ev = {.type = RAFT_EVENT_TICK};

	node__io_clock_node(n);
	if (n->fatal == 0) {
		node__step(n, &ev);
		n->ticks++;
		if (n->ticks % 10 == 0) {
			node__pending_timeouts(n);
			node__reads_timeouts(n);
			node__fwd_timeouts(n);
		}
	}
	turn_end(n);
}

void node__driven_receive(struct node *n, const struct raft_message *m)
{
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};

	node__io_clock_node(n);
	if (n->fatal == 0 &&
	    (m->type != RAFT_MSG_SNAPSHOT || node__snap_admit(n, m))) {
		node__stage_acked(n, m);
		ev.receive.message = m;
		node__step(n, &ev);
	}
	turn_end(n);
}

void node__driven_persisted(struct node *n)
{
	node__io_clock_node(n);
	turn_end(n);
}

void node__driven_command(struct node *n, const struct resp_req *req,
			  uint32_t argc, const struct resp_arg *argv)
{
	node__io_clock_node(n);
	if (n->fatal == 0) {
		int rv = node__backend.command(n, req, argc, argv);

		if (rv != 0) {
			/* What the RESP server answers for the backend. */
			char e[160];
			int k = snprintf(e, sizeof(e), "-ERR %s\r\n",
					 fr_strerror(rv));

			(void)n->io->reply(n->io_ctx, req, e, (size_t)k);
		}
	} else {
		(void)n->io->reply(n->io_ctx, req, "-ERR stopped\r\n", 14);
	}
	turn_end(n);
}

void node__driven_fwd_writable(struct node *n)
{
	node__io_clock_node(n);
	node__fwd_writable(n);
	turn_end(n);
}

void node__driven_fwd_input(struct node *n, const void *buf, size_t len)
{
	node__io_clock_node(n);
	node__fwd_input(n, buf, len);
	turn_end(n);
}

void node__driven_fwd_eof(struct node *n)
{
	node__io_clock_node(n);
	node__fwd_eof(n);
	turn_end(n);
}

void node__driven_fwd_broken(struct node *n)
{
	node__io_clock_node(n);
	node__fwd_broken(n);
	turn_end(n);
}

void node__driven_counts(const struct node *n, uint64_t *snapshots,
			 uint64_t *installed, uint64_t *forwarded)
{
	*snapshots = n->c.snapshots;
	*installed = n->c.snapshots_installed;
	*forwarded = n->c.forwarded;
}

int node__driven_fatal(const struct node *n, const char **why)
{
	*why = n->errmsg;
	return n->fatal;
}

void node__driven_status(const struct node *n, struct raft_status *st)
{
	raft_status_get(n->raft, st);
}

uint64_t node__driven_cluster_ms(const struct node *n)
{
	return kvc_now_ms(n->kvc);
}

uint64_t node__driven_digest(const struct node *n, raft_index *applied)
{
	struct raft_status st;

	raft_status_get(n->raft, &st);
	*applied = st.applied;
	return kvc_digest(n->kvc);
}
