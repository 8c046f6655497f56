/* node_read.c — linearizable reads without log writes: ReadIndex (and the
 * optional leader lease) through the core's RAFT_EVENT_READ. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "heap.h"
#include "node_int.h"

/*
 * Design notes
 * ============
 * Reads that arrive at the leader wait in a FIFO (n->rq).  Each remembers
 * min_apply, the index the last write queued before it will have (the log
 * end plus the writes already in this iteration's batch), and its reply is
 * computed from the state machine exactly when min_apply has been applied
 * (at once if it already is): so a read sees the writes pipelined before it
 * on its connection and none after it, as Redis answers a pipeline.  After
 * the iteration's proposals are flushed, the new reads go to the core in
 * one READ event, which confirms leadership with a single heartbeat round
 * (or the lease) and releases them in order with their read index, the
 * commit index when they arrived.  The saved reply is sent then.  It is
 * linearizable: the read index is <= min_apply (a leader's commit index
 * cannot pass entries it has not yet proposed), so the reply includes every
 * write completed before the read arrived, and nothing proposed after it.
 * A read the core fails (leadership lost) is answered -TRYAGAIN; the
 * client retries at the new leader.  A read evaluated on arrival reads its
 * arguments in place (only a read that must wait for a write copies them)
 * and a short reply is kept in its queue entry: a GET allocates nothing.
 */

enum { RQ_NEW = 0, RQ_SENT, RQ_CONFIRMED, RQ_FAILED };

static const char lost[] =
    "-TRYAGAIN leadership changed before the read was confirmed; retry\r\n";
static const char timed_out[] = "-TRYAGAIN timed out; retry\r\n";

#define RQ_MAX (1u << 20)
/* Arguments a read evaluated on arrival uses in place (on the stack). */
#define RQ_ARGS_INPLACE 16u
/* n->reply is freed after a reply bigger than this. */
#define NODE_REPLY_KEEP (64u * 1024u)

int node__read_queue(struct node *n, const struct resp_req *req, uint32_t argc,
		     const struct resp_arg *argv)
{
	size_t head = n->rq_head;
	int rv = 0;
	struct node_read *q =
	    node__fifo_reserve(n->rq, sizeof(*q), &n->rq_head, &n->rq_n,
			       &n->rq_cap, 256, RQ_MAX, &rv);
	/* Indexes into the queue follow its front if it slid down. */
	n->rq_unsent -= head - n->rq_head;
	n->rq_eval -= head - n->rq_head;
	if (q == NULL) {
		return rv;
	}
	n->rq = q;
	struct node_read *r = &n->rq[n->rq_n];
	memset(r, 0, sizeof(*r));
	struct raft_status st;
	raft_status_get(n->raft, &st);
	raft_index min_apply = st.last_index + n->batch_n;
	/* Next to evaluate and evaluated at once: its arguments are read
	 * in place, no copy (the common case: no write queued before it). */
	bool now = min_apply <= st.applied && n->rq_eval == n->rq_n &&
		   argc <= RQ_ARGS_INPLACE;
	if (!now && (rv = node__copy_args(argc, argv, &r->argv)) != 0) {
		return rv;
	}
	r->argc = argc;
	r->req = *req;
	r->ctx = n->rq_ctx++;
	r->min_apply = min_apply;
	r->deadline_ms = node__now_ms() + n->o.request_timeout_ms;
	n->rq_n++;
	if (now) {
		struct kvc_arg in_place[RQ_ARGS_INPLACE];
		for (uint32_t i = 0; i < argc; i++) {
			in_place[i] =
			    (struct kvc_arg){argv[i].ptr, argv[i].len};
		}
		r->argv = in_place;
		node__reads_evaluate(n, st.applied);
		assert(n->rq_eval == n->rq_n);
		r->argv = NULL; /* borrowed: gone after this call */
		return 0;
	}
	node__reads_evaluate(n, st.applied);
	return 0;
}

int node__reply_set(struct node *n, const char *s, size_t len)
{
	if (n->reply.cap < len) {
		char *b = fr_realloc(n->reply.buf, len);

		if (b == NULL) {
			n->reply.len = 0; /* the client gets an empty answer */
			return FR_NOMEM;
		}
		n->reply.buf = b;
		n->reply.cap = len;
	}
	memcpy(n->reply.buf, s, len);
	n->reply.len = len;
	return 0;
}

int node__read_exec(struct node *n, uint32_t argc, const struct kvc_arg *argv)
{
	n->reply.len = 0;
	n->reply.max = (size_t)n->o.reply_bytes_max;
	int rv = kvc_read(n->kvc, argc, argv, &n->reply);
	n->reply.max = 0;
	if (rv != FR_TOOBIG) {
		return rv == FR_NOMEM ? rv : 0;
	}
	/* Stopped while building: nothing over the limit was allocated. */
	n->c.replies_too_big++;
	char msg[160];
	int len = snprintf(msg, sizeof(msg),
			   "-ERR reply larger than %" PRIu64
			   " bytes (reply-bytes-max): ask for fewer keys or "
			   "blocks per command\r\n",
			   n->o.reply_bytes_max);
	n->reply.len = 0;
	return node__reply_set(n, msg, (size_t)len);
}

void node__reply_trim(struct node *n)
{
	/* One big reply must not pin its buffer for the life of the
	 * process (issue 15: 1.2 GB stayed resident). */
	if (n->reply.cap > NODE_REPLY_KEEP) {
		kvc_reply_free(&n->reply);
	}
}

/* Evaluated replies wait for the ReadIndex round outside any client's
 * output queue: together with those queues they hold at most
 * clients_output_total_max; beyond that a read gets an error instead of
 * its (copied) reply. */
static void held_bound(struct node *n)
{
	struct resp_stats st = {0};
	if (n->srv != NULL) { /* none when driven (node_driven.h) */
		resp_server_stats(n->srv, &st);
	}
	uint64_t cap = n->o.clients_output_total_max;
	uint64_t used = n->rq_bytes + st.output_bytes;
	if (used <= cap && n->reply.len <= cap - used) {
		return;
	}
	static const char busy[] =
	    "-BUSY replies of reads waiting for their ReadIndex round "
	    "hold too much memory; retry\r\n";
	n->c.reads_held_full++;
	n->reply.len = 0;
	(void)node__reply_set(n, busy, sizeof(busy) - 1);
}

/* The state machine has applied through @applied: compute the reply of
 * every read whose point it is. */
void node__reads_evaluate(struct node *n, raft_index applied)
{
	while (n->rq_eval < n->rq_n && n->rq[n->rq_eval].min_apply <= applied) {
		struct node_read *r = &n->rq[n->rq_eval++];
		if (r->done) {
			continue;
		}
		/* node__read_exec() puts errors in the reply; only running
		 * out of memory leaves none. */
		if (node__read_exec(n, r->argc, r->argv) == FR_NOMEM) {
			continue; /* answered "out of memory" when released */
		}
		held_bound(n);
		if (n->reply.len > sizeof(r->small) &&
		    (r->reply = fr_malloc(n->reply.len)) == NULL) {
			continue;
		}
		if (n->reply.len > 0) {
			memcpy(r->reply != NULL ? r->reply : r->small,
			       n->reply.buf, n->reply.len);
		}
		r->reply_len = n->reply.len;
		n->rq_bytes += r->reply_len;
		r->evaluated = true;
	}
}

static void answer(struct node *n, struct node_read *r, const void *buf,
		   size_t len)
{
	if (!r->done) {
		(void)n->io->reply(n->io_ctx, &r->req, buf, len);
		r->done = true;
	}
}

static struct node_read *by_ctx(struct node *n, uint64_t ctx)
{
	if (n->rq_head == n->rq_n || ctx < n->rq[n->rq_head].ctx) {
		return NULL;
	}
	size_t k = n->rq_head + (size_t)(ctx - n->rq[n->rq_head].ctx);
	return k < n->rq_n ? &n->rq[k] : NULL;
}

void node__reads_released(struct node *n, const struct raft_update *u)
{
	for (uint32_t i = 0; i < u->n_reads; i++) {
		struct node_read *r = by_ctx(n, u->reads[i].ctx);
		if (r == NULL) {
			continue;
		}
		if (u->reads[i].status == 0) {
			node__stage_add(n, NODE_STAGE_READ_INDEX, r->t_ns);
			r->state = RQ_CONFIRMED;
			r->index = u->reads[i].index;
		} else {
			r->state = RQ_FAILED;
		}
	}
}

void node__reads_drain(struct node *n)
{
	struct raft_status st;
	raft_status_get(n->raft, &st);
	while (n->rq_head < n->rq_unsent) {
		struct node_read *r = &n->rq[n->rq_head];
		if (r->state == RQ_FAILED) {
			answer(n, r, lost, sizeof(lost) - 1);
		} else if (r->state == RQ_CONFIRMED &&
			   st.applied >= r->min_apply) {
			n->c.reads_index++;
			if (r->evaluated && r->index <= r->min_apply) {
				answer(n, r,
				       r->reply != NULL ? r->reply : r->small,
				       r->reply_len);
			} else {
				answer(n, r, "-ERR out of memory\r\n", 20);
			}
		} else if (!r->done) {
			break; /* in order: the rest wait too */
		}
		fr_free(r->argv);
		fr_free(r->reply);
		if (r->evaluated) {
			n->rq_bytes -= r->reply_len;
		}
		r->argv = NULL;
		r->reply = NULL;
		n->rq_head++;
	}
	if (n->rq_eval < n->rq_head) {
		n->rq_eval = n->rq_head;
	}
	if (n->rq_head == n->rq_n) {
		n->rq_head = n->rq_n = n->rq_unsent = n->rq_eval = 0;
	}
}

/* Hand this iteration's reads to the core in one event. */
void node__read_flush(struct node *n)
{
	uint64_t ctx[RAFT_MAX_BATCH_ENTRIES];
	struct raft_status st;

	while (n->rq_unsent < n->rq_n) {
		uint32_t k = 0;
		raft_status_get(n->raft, &st);
		size_t first = n->rq_unsent;
		uint64_t now = node__mono_ns();
		while (n->rq_unsent < n->rq_n && k < RAFT_MAX_BATCH_ENTRIES) {
			struct node_read *r = &n->rq[n->rq_unsent++];
			r->state = RQ_SENT;
			r->t_ns = now;
			ctx[k++] = r->ctx;
		}
		struct raft_event ev = {.type = RAFT_EVENT_READ};
		ev.read.ctx = ctx;
		ev.read.n = k;
		ev.read.lease = n->o.read_mode == NODE_READ_LEASE;
		int rv = node__step_rv(n, &ev);
		if (rv != 0) {
			for (size_t i = first; i < first + k; i++) {
				n->rq[i].state = RQ_FAILED;
			}
		}
	}
	node__reads_drain(n);
}

void node__reads_timeouts(struct node *n)
{
	uint64_t now = node__now_ms();
	for (size_t i = n->rq_head; i < n->rq_n; i++) {
		struct node_read *r = &n->rq[i];
		if (!r->done && now > r->deadline_ms) {
			n->c.timeouts++;
			answer(n, r, timed_out, sizeof(timed_out) - 1);
		}
	}
}

void node__reads_free(struct node *n)
{
	for (size_t i = n->rq_head; i < n->rq_n; i++) {
		fr_free(n->rq[i].argv);
		fr_free(n->rq[i].reply);
	}
	fr_free(n->rq);
	n->rq_bytes = 0;
	n->rq = NULL;
	n->rq_head = n->rq_n = n->rq_cap = n->rq_unsent = n->rq_eval = 0;
}
