/* sim_rt_fwd.c — forwarding streams over the simulated network: a
 * follower's stream to the leader's client port (node_io.h fwd_*), the
 * leader's RESP side of it, and the check of "not executed" answers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"
#include "sim_rt.h"

/*
 * Design notes
 * ============
 * A stream is two FIFO queues of chunks (follower -> leader: the
 * connection attempt and request bytes; leader -> follower: the accept,
 * reply bytes and a reset), each chunk ready at max(now + delay, the
 * previous chunk's time) so that bytes never overtake each other.  An
 * event per chunk delivers every ready chunk at the head of its queue;
 * a partition or a paused receiver holds the head (TCP retransmits), a
 * head older than 5 s resets the stream.  The leader closes a stream now
 * and then when it has answered everything it read (the follower sees
 * EOF; bytes arriving after that reset the stream unread).  Resets: a quarter
 * of the message drop rate per chunk (a TCP stream survives most losses), the
 * leader crashing or restarting, a connection attempt to a crashed node.
 * Closing (the follower gives up, the leader changed) does not recall bytes
 * already taken: they still reach the leader and run, and their replies are
 * dropped, which is what makes "outcome unknown" real.  The follower's writes
 * take everything, or now and then a part (a full socket buffer) with the rest
 * taken a moment later, so that "not executed" (bytes that never left) happens
 * too.
 *
 * The leader's side parses the RESP arrays the follower encodes, hands
 * each command to node__driven_command() and sends the replies back in
 * request order (the real RESP server orders replies per connection).
 */

#define FWD_SLOT    1000u    /* resp_req.slot of forwarded requests */
#define HOLD_MAX_US 5000000u /* a head held longer resets the stream */
#define RETRY_US    50000u   /* a held head is retried after this */

#define EOF_PPM 5000u /* the leader closes an idle stream */

enum { K_SYN, K_DATA, K_ACCEPT, K_REPLY, K_RESET, K_EOF };

struct chunk {
	uint64_t ready; /* when it may arrive */
	uint64_t born;	/* when it was sent */
	uint8_t kind;
	size_t len;
	unsigned char *data; /* owned */
};

struct dirq {
	struct chunk *v;
	uint32_t head, n, cap;
	uint64_t last; /* ready time of the newest */
};

struct pending {
	uint64_t seq;
	size_t len;
	unsigned char *buf; /* owned */
};

struct stream {
	raft_id from, to;
	uintptr_t from_gen, to_gen; /* incarnations (0: not accepted) */
	bool up;		    /* the follower saw the accept */
	bool reset;
	bool closed;	   /* by the follower */
	bool eof;	   /* the leader closed its side */
	struct dirq q[2];  /* 0: to the leader, 1: back */
	unsigned char *rx; /* leader side: unparsed request bytes */
	size_t rx_len, rx_cap;
	uint64_t req_seq;     /* requests handed to the leader */
	uint64_t reply_seq;   /* replies sent back */
	struct pending *pend; /* replies waiting for earlier ones */
	uint32_t pend_n, pend_cap;
};

struct srt_fwdnet {
	struct stream **v;
	uint32_t n, cap;
};

/* What an EV_FWD event carries (owned by the event). */
struct fwd_ev {
	uint32_t stream;
	uint8_t dir; /* 0, 1: deliver ready chunks; 2: writable kick */
};

struct srt_fwdnet *srt_fwd_new(void)
{
	struct srt_fwdnet *fn = calloc(1, sizeof(*fn));

	if (fn == NULL) {
		abort();
	}
	return fn;
}

static void dirq_free(struct dirq *q)
{
	for (uint32_t i = q->head; i < q->n; i++) {
		free(q->v[i].data);
	}
	free(q->v);
	memset(q, 0, sizeof(*q));
}

void srt_fwd_free(struct srt_fwdnet *fn)
{
	if (fn == NULL) {
		return;
	}
	for (uint32_t i = 0; i < fn->n; i++) {
		struct stream *st = fn->v[i];

		dirq_free(&st->q[0]);
		dirq_free(&st->q[1]);
		for (uint32_t k = 0; k < st->pend_n; k++) {
			free(st->pend[k].buf);
		}
		free(st->pend);
		free(st->rx);
		free(st);
	}
	free(fn->v);
	free(fn);
}

static void post(struct sim_rt *s, uint64_t t, raft_id node, uint32_t id,
		 uint8_t dir)
{
	struct fwd_ev *e = srt_xrealloc(NULL, sizeof(*e));

	e->stream = id;
	e->dir = dir;
	srt_fwd_push(s, t, (uint8_t)node, e);
}

/* Queue a chunk on direction @dir of stream @id and post its delivery. */
static void send_chunk(struct sim_rt *s, uint32_t id, uint8_t dir, uint8_t kind,
		       const void *buf, size_t len)
{
	struct stream *st = srt_fwdnet_of(s)->v[id];
	struct dirq *q = &st->q[dir];
	uint64_t now = srt_now(s);
	uint64_t t = now + srt_range(s, 50, srt_options(s)->delay_max_us);

	if (q->head == q->n) {
		q->head = q->n = 0;
	}
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 8;
		q->v = srt_xrealloc(q->v, q->cap * sizeof(*q->v));
	}
	if (t < q->last) {
		t = q->last;
	}
	q->last = t;
	struct chunk *c = &q->v[q->n++];
	c->ready = t;
	c->born = now;
	c->kind = kind;
	c->len = len;
	c->data = NULL;
	if (len > 0) {
		c->data = srt_xrealloc(NULL, len);
		memcpy(c->data, buf, len);
	}
	post(s, t, dir == 0 ? st->to : st->from, id, dir);
}

static void stream_reset(struct sim_rt *s, uint32_t id)
{
	struct stream *st = srt_fwdnet_of(s)->v[id];

	if (st->reset) {
		return;
	}
	st->reset = true;
	for (uint32_t i = st->q[0].head; i < st->q[0].n; i++) {
		free(st->q[0].v[i].data); /* lost with the connection */
	}
	st->q[0].head = st->q[0].n = 0;
	send_chunk(s, id, 1, K_RESET, NULL, 0);
	srt_result(s)->fwd_resets += !st->closed; /* one still in use */
}

/* The stream @id is the one node @sn has open now. */
static bool current(const struct srt_node *sn, uint32_t id,
		    const struct stream *st)
{
	return sn->n != NULL && sn->fwd_stream == id + 1 &&
	       sn->gen == st->from_gen && !st->closed;
}

/* ---- the follower's side (the node's io->fwd_* callbacks) ---- */

int srt_fwd_open(struct srt_node *sn, raft_id leader)
{
	struct sim_rt *s = sn->s;
	struct srt_fwdnet *fn = srt_fwdnet_of(s);
	struct stream *st = srt_xrealloc(NULL, sizeof(*st));

	if (leader == 0 || leader > srt_options(s)->n_nodes) {
		free(st);
		return FR_NOCONN;
	}
	memset(st, 0, sizeof(*st));
	st->from = sn->id;
	st->to = leader;
	st->from_gen = sn->gen;
	if (fn->n == fn->cap) {
		fn->cap = fn->cap ? fn->cap * 2 : 64;
		/* Pointers, not structs: a stream stays put while the
		 * leader's handling of it opens another. */
		fn->v = srt_xrealloc(fn->v, fn->cap * sizeof(struct stream *));
	}
	fn->v[fn->n] = st;
	sn->fwd_stream = ++fn->n;
	send_chunk(s, fn->n - 1, 0, K_SYN, NULL, 0);
	srt_result(s)->fwd_streams++;
	return 0;
}

ptrdiff_t srt_fwd_write(struct srt_node *sn, const void *buf, size_t len)
{
	struct sim_rt *s = sn->s;
	uint32_t id = sn->fwd_stream - 1;
	struct stream *st;

	if (sn->fwd_stream == 0) {
		return -1;
	}
	st = srt_fwdnet_of(s)->v[id];
	if (st->reset) {
		return -1;
	}
	if (!st->up || len == 0) {
		return 0;
	}
	if (len > 1 && srt_range(s, 0, 9) == 0) {
		/* A full socket buffer: part now, the rest in a moment. */
		len = (size_t)srt_range(s, 1, len - 1);
		post(s, srt_now(s) + srt_range(s, 10, 2000), sn->id, id, 2);
	}
	send_chunk(s, id, 0, K_DATA, buf, len);
	return (ptrdiff_t)len;
}

void srt_fwd_kick(struct srt_node *sn)
{
	if (sn->fwd_stream != 0) {
		post(sn->s, srt_now(sn->s), sn->id, sn->fwd_stream - 1, 2);
	}
}

void srt_fwd_close(struct srt_node *sn)
{
	if (sn->fwd_stream != 0) {
		srt_fwdnet_of(sn->s)->v[sn->fwd_stream - 1]->closed = true;
		sn->fwd_stream = 0;
	}
}

/* ---- the leader's side ---- */

/* Parse "$<len>\r\n<bytes>\r\n" at @p (of @left bytes): its length, or 0
 * when incomplete, or -1 when malformed. */
static long parse_bulk(const unsigned char *p, size_t left, size_t *off,
		       size_t *len)
{
	const unsigned char *nl = memchr(p, '\n', left);
	char *end;

	if (nl == NULL) {
		return 0;
	}
	if (p[0] != '$') {
		return -1;
	}
	unsigned long v = strtoul((const char *)p + 1, &end, 10);
	if ((const unsigned char *)end + 1 != nl || v > (1u << 20)) {
		return -1;
	}
	*off = (size_t)(nl + 1 - p);
	*len = v;
	if (left < *off + v + 2) {
		return 0;
	}
	return (long)(*off + v + 2);
}

/* One complete command at the start of @p into @argv: bytes used, 0 when
 * incomplete, -1 when malformed. */
static long parse_command(const unsigned char *p, size_t left,
			  struct resp_arg *argv, uint32_t cap, uint32_t *argc)
{
	const unsigned char *nl = memchr(p, '\n', left);
	char *end;
	size_t pos;

	if (nl == NULL) {
		return 0;
	}
	unsigned long n = strtoul((const char *)p + 1, &end, 10);
	if (p[0] != '*' || (const unsigned char *)end + 1 != nl || n == 0 ||
	    n > cap) {
		return -1;
	}
	pos = (size_t)(nl + 1 - p);
	for (uint32_t i = 0; i < n; i++) {
		size_t off, len;
		long k = parse_bulk(p + pos, left - pos, &off, &len);

		if (k <= 0) {
			return k;
		}
		argv[i].ptr = (const char *)p + pos + off;
		argv[i].len = len;
		pos += (size_t)k;
	}
	*argc = (uint32_t)n;
	return (long)pos;
}

/* Request bytes reach the leader: run every complete command. */
static void leader_input(struct sim_rt *s, uint32_t id, struct srt_node *ln,
			 const struct chunk *c)
{
	struct stream *st = srt_fwdnet_of(s)->v[id];
	size_t used = 0;

	if (st->rx_len + c->len > st->rx_cap) {
		st->rx_cap = (st->rx_len + c->len) * 2;
		st->rx = srt_xrealloc(st->rx, st->rx_cap);
	}
	memcpy(st->rx + st->rx_len, c->data, c->len);
	st->rx_len += c->len;
	while (used < st->rx_len && ln->n != NULL && !st->reset) {
		struct resp_arg argv[64];
		uint32_t argc = 0;
		long k = parse_command(st->rx + used, st->rx_len - used, argv,
				       64, &argc);
		struct resp_req req = {.slot = FWD_SLOT + id,
				       .seq = st->req_seq + 1,
				       .client_id = 100000u + id,
				       .admin = true};

		if (k < 0) {
			srt_violate(s, "forwarding: the leader got bytes "
				       "that are not a RESP command");
			return;
		}
		if (k == 0) {
			break;
		}
		st->req_seq++;
		node__driven_command(ln->n, &req, argc, argv);
		srt_check_node(s, ln);
		used += (size_t)k;
	}
	memmove(st->rx, st->rx + used, st->rx_len - used);
	st->rx_len -= used;
}

bool srt_fwd_reply(struct srt_node *sn, const struct resp_req *req,
		   const void *buf, size_t len)
{
	struct sim_rt *s = sn->s;
	struct srt_fwdnet *fn = srt_fwdnet_of(s);
	uint32_t id = req->slot - FWD_SLOT;
	struct stream *st;

	if (req->slot < FWD_SLOT) {
		return false; /* a simulated client's */
	}
	if (id >= fn->n) {
		srt_violate(s, "forwarding: a reply to a stream never opened");
		return true;
	}
	st = fn->v[id];
	if (st->reset || st->eof || sn->id != st->to || sn->gen != st->to_gen) {
		return true; /* the connection is gone */
	}
	if (st->pend_n == st->pend_cap) {
		st->pend_cap = st->pend_cap ? st->pend_cap * 2 : 8;
		st->pend =
		    srt_xrealloc(st->pend, st->pend_cap * sizeof(*st->pend));
	}
	st->pend[st->pend_n].seq = req->seq;
	st->pend[st->pend_n].len = len;
	st->pend[st->pend_n].buf = srt_xrealloc(NULL, len);
	memcpy(st->pend[st->pend_n].buf, buf, len);
	st->pend_n++;
	/* Send back every reply whose predecessors went. */
	for (uint32_t i = 0; i < st->pend_n;) {
		if (st->pend[i].seq != st->reply_seq + 1) {
			i++;
			continue;
		}
		send_chunk(s, id, 1, K_REPLY, st->pend[i].buf, st->pend[i].len);
		free(st->pend[i].buf);
		st->pend[i] = st->pend[--st->pend_n];
		st->reply_seq++;
		i = 0;
	}
	if (st->reply_seq == st->req_seq && st->rx_len == 0 &&
	    srt_chance(s, EOF_PPM)) {
		/* Idle at the leader: it closes (its idle timeout, a
		 * restart of its RESP side) while a request may be on the
		 * way; the follower sees EOF (node__fwd_eof()). */
		st->eof = true;
		send_chunk(s, id, 1, K_EOF, NULL, 0);
		srt_result(s)->fwd_eofs++;
	}
	return true;
}

/* ---- delivery ---- */

/* Chunk @c reached its receiver @rn (running, not paused). */
static void arrive(struct sim_rt *s, uint32_t id, struct srt_node *rn,
		   const struct chunk *c)
{
	struct stream *st = srt_fwdnet_of(s)->v[id];

	switch (c->kind) {
	case K_SYN:
		st->to_gen = rn->gen;
		send_chunk(s, id, 1, K_ACCEPT, NULL, 0);
		break;
	case K_DATA:
		if (rn->gen != st->to_gen || st->eof) {
			stream_reset(s, id); /* restarted, or closed: unread */
		} else {
			leader_input(s, id, rn, c);
		}
		break;
	case K_ACCEPT:
		if (current(rn, id, st)) {
			st->up = true;
			node__driven_fwd_writable(rn->n);
			srt_check_node(s, rn);
		}
		break;
	case K_REPLY:
		if (current(rn, id, st)) {
			node__driven_fwd_input(rn->n, c->data, c->len);
			srt_check_node(s, rn);
		}
		break;
	case K_EOF:
		if (current(rn, id, st)) {
			node__driven_fwd_eof(rn->n);
			srt_check_node(s, rn);
		}
		break;
	default: /* K_RESET */
		if (current(rn, id, st)) {
			node__driven_fwd_broken(rn->n);
			srt_check_node(s, rn);
		}
		break;
	}
}

/* Deliver the ready head chunks of direction @dir (a held head posts its
 * own retry). */
static void deliver(struct sim_rt *s, uint32_t id, uint8_t dir)
{
	struct stream *st = srt_fwdnet_of(s)->v[id];
	struct dirq *q = &st->q[dir];
	struct srt_node *rn = srt_node_of(s, dir == 0 ? st->to : st->from);
	uint64_t now = srt_now(s);

	while (q->head < q->n && q->v[q->head].ready <= now) {
		struct chunk c = q->v[q->head];
		bool cut = srt_is_cut(s, st->from) || srt_is_cut(s, st->to);

		if (rn->n != NULL && now < rn->paused_until) {
			post(s, rn->paused_until, rn->id, id, dir);
			return; /* read when the process runs again */
		}
		if (cut && now - c.born < HOLD_MAX_US) {
			post(s, now + RETRY_US, rn->id, id, dir);
			return; /* retransmitted until the cut heals */
		}
		q->head++;
		if (dir == 0 && (rn->n == NULL || cut ||
				 srt_chance(s, srt_options(s)->drop_ppm / 4))) {
			free(c.data);
			stream_reset(s, id); /* refused, timed out, reset */
			return;
		}
		if (dir == 1 && c.kind != K_RESET &&
		    (st->reset || cut ||
		     srt_chance(s, srt_options(s)->drop_ppm / 4))) {
			/* A reset discards what was still in flight. */
			free(c.data);
			stream_reset(s, id);
			continue; /* the reset follows in this queue */
		}
		if (rn->n != NULL) {
			arrive(s, id, rn, &c);
		}
		free(c.data);
	}
}

void srt_fwd_event(struct sim_rt *s, raft_id node, void *ptr)
{
	struct fwd_ev *e = ptr;
	struct stream *st = srt_fwdnet_of(s)->v[e->stream];
	struct srt_node *sn = srt_node_of(s, node);

	if (e->dir < 2) {
		deliver(s, e->stream, e->dir);
	} else if (sn->n != NULL && srt_now(s) < sn->paused_until) {
		post(s, sn->paused_until, sn->id, e->stream, 2);
	} else if (current(sn, e->stream, st) && st->up && !st->reset) {
		node__driven_fwd_writable(sn->n);
		srt_check_node(s, sn);
	}
	free(e);
}

void srt_fwd_node_down(struct sim_rt *s, raft_id id)
{
	struct srt_fwdnet *fn = srt_fwdnet_of(s);

	/* Its kernel answers the streams to it with a reset. */
	for (uint32_t i = 0; i < fn->n; i++) {
		if (fn->v[i]->to == id && !fn->v[i]->reset) {
			stream_reset(s, i);
		}
	}
}

/* ---- the check ---- */

int srt_fwd_check(const struct srt_hist *h, uint32_t values, char *why,
		  size_t why_len)
{
	uint32_t *by_value = calloc((size_t)values + 1, sizeof(*by_value));
	int bad = 0;

	if (by_value == NULL) {
		abort();
	}
	for (uint32_t i = 0; i < h->n; i++) {
		if (h->v[i].write && h->v[i].value <= values) {
			by_value[h->v[i].value] = i + 1;
		}
	}
	for (uint32_t i = 0; i < h->n && !bad; i++) {
		const struct srt_op *r = &h->v[i];
		uint32_t w = r->value <= values ? by_value[r->value] : 0;

		if (r->write || !r->acked || r->value == 0 || w == 0 ||
		    !h->v[w - 1].unexecuted) {
			continue;
		}
		snprintf(why, why_len,
			 "forwarding: key %u: read at %" PRIu64 "..%" PRIu64
			 " us returned %u, written by a command answered "
			 "\"not executed\"",
			 r->key, r->invoke_us, r->complete_us, r->value);
		bad = 1;
	}
	free(by_value);
	return bad;
}
