/* resp_conn.c — one client connection: read, parse, ordered replies, write. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "heap.h"
#include "resp_int.h"
#include "trace.h"

/* Bytes asked of one recv(); also the read buffer kept while idle. */
#define READ_CHUNK (16u * 1024u)
/* Output buffers above this are freed once fully written. */
#define OUT_KEEP (256u * 1024u)
/* First size of a connection's reply ring. */
#define RING_MIN 16u

void resp__log(struct resp_server *s, const char *fmt, ...)
{
	char msg[FR_ERRMSG_SIZE - sizeof("resp: ")];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->errmsg, sizeof(s->errmsg), "resp: %s", msg);
	fr_log(FR_LOG_WARN, "resp", "%s", msg);
}

int resp__conn_new(struct resp_server *s, int fd, const char *addr,
		   struct resp_conn **out)
{
	assert(s->nfree > 0);
	struct resp_conn *c = fr_calloc(1, sizeof(*c));
	if (c == NULL) {
		return FR_NOMEM;
	}
	c->srv = s;
	c->fd = fd;
	c->slot = s->free_slots[s->nfree - 1];
	c->id = s->next_id++;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->authed = s->requirepass == NULL;
	c->admin = c->authed && s->adminpass == NULL;
	c->last_in_ms = resp__now_ms();
	c->start_ms = c->last_in_ms;
	resp_parser_init(&c->parser, c->authed ? &s->lim : &s->lim_noauth);
	resp_buf_init(&c->out, 0);
	struct epoll_event ev = {
	    .events = EPOLLIN,
	    .data.u64 = ((uint64_t)s->gens[c->slot] << 32) | c->slot,
	};
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		resp__log(s, "epoll_ctl add client %s: %s", addr,
			  strerror(errno));
		fr_free(c);
		return FR_IO;
	}
	c->ev_mask = EPOLLIN;
	s->nfree--;
	s->table[c->slot] = c;
	s->st.clients++;
	s->st.connections_total++;
	*out = c;
	return 0;
}

static void dirty_unlink(struct resp_conn *c)
{
	struct resp_server *s = c->srv;
	if (!c->in_dirty) {
		return;
	}
	if (c->dirty_prev != NULL) {
		c->dirty_prev->dirty_next = c->dirty_next;
	} else {
		s->dirty = c->dirty_next;
	}
	if (c->dirty_next != NULL) {
		c->dirty_next->dirty_prev = c->dirty_prev;
	}
	c->dirty_prev = NULL;
	c->dirty_next = NULL;
	c->in_dirty = false;
}

void resp__conn_dirty(struct resp_conn *c)
{
	struct resp_server *s = c->srv;
	if (c->in_dirty) {
		return;
	}
	c->dirty_prev = NULL;
	c->dirty_next = s->dirty;
	if (s->dirty != NULL) {
		s->dirty->dirty_prev = c;
	}
	s->dirty = c;
	c->in_dirty = true;
}

static size_t queued_bytes(const struct resp_conn *c)
{
	return (c->out.len - c->opos) + c->ring_bytes;
}

/* Bring the server's output totals up to date with @c (invariant 5 of
 * resp_int.h).  Call after anything that changes @c's output. */
static void account(struct resp_conn *c)
{
	struct resp_server *s = c->srv;
	size_t q = c->close_now ? 0 : queued_bytes(c);
	size_t b = c->close_now ? 0 : c->out.cap + c->ring_bytes;
	s->st.output_bytes = s->st.output_bytes - c->counted_queued + q;
	s->st.output_buf_bytes = s->st.output_buf_bytes - c->counted_buf + b;
	c->counted_queued = q;
	c->counted_buf = b;
}

void resp__conn_free(struct resp_conn *c)
{
	struct resp_server *s = c->srv;
	c->close_now = true;
	account(c);
	dirty_unlink(c);
	/* close() drops the fd from the epoll set too. */
	close(c->fd);
	c->fd = -1;
	if (c->ring != NULL) {
		for (uint32_t i = 0; i < c->ring_cap; i++) {
			fr_free(c->ring[i].data);
		}
		fr_free(c->ring);
	}
	resp_parser_close(&c->parser);
	resp_buf_close(&c->out);
	fr_free(c->rbuf);
	fr_free(c->name);
	resp__multi_free(c);
	s->table[c->slot] = NULL;
	s->gens[c->slot]++;
	s->free_slots[s->nfree++] = c->slot;
	s->st.clients--;
	uint64_t id = c->id;
	fr_free(c);
	if (s->be.closed != NULL) {
		s->in_callback++;
		s->be.closed(s->be_ctx, id);
		s->in_callback--;
	}
}

/* Grow the ring so every pending request has an entry of its own. */
static int ring_fit(struct resp_conn *c)
{
	uint64_t pending = c->seq_next - c->seq_head;
	if (pending <= c->ring_cap) {
		return 0;
	}
	uint32_t cap = c->ring_cap < RING_MIN ? RING_MIN : c->ring_cap;
	while (cap < pending) {
		cap *= 2;
	}
	struct resp_slot *ring = fr_calloc(cap, sizeof(*ring));
	if (ring == NULL) {
		return FR_NOMEM;
	}
	/* Move each stored reply by the number it answers: several pending
	 * numbers share an old index, only one of them owns the entry. */
	for (uint32_t i = 0; i < c->ring_cap; i++) {
		if (c->ring[i].done) {
			ring[c->ring[i].seq & (cap - 1)] = c->ring[i];
		}
	}
	fr_free(c->ring);
	c->ring = ring;
	c->ring_cap = cap;
	return 0;
}

/* Move the reply of seq_head and every completed successor into out. */
static void pull_ready(struct resp_conn *c)
{
	while (c->seq_head < c->seq_next && c->ring != NULL) {
		struct resp_slot *sl =
		    &c->ring[c->seq_head & (c->ring_cap - 1)];
		if (!sl->done || sl->seq != c->seq_head) {
			break;
		}
		resp_buf_raw(&c->out, sl->data, sl->len);
		c->ring_bytes -= sl->len;
		fr_free(sl->data);
		sl->data = NULL;
		sl->len = 0;
		sl->done = false;
		c->seq_head++;
	}
}

/* Give up on a connection from inside a callback: freed at the next safe
 * point (invariant 3). */
static void doom(struct resp_conn *c, const char *why)
{
	resp__log(c->srv, "client %s id=%llu closed: %s", c->addr,
		  (unsigned long long)c->id, why);
	c->close_now = true;
	account(c); /* its bytes are as good as freed */
	resp__conn_dirty(c);
}

/* The open connection holding the most queued output (O(clients): only
 * run when the total limit is reached). */
static struct resp_conn *biggest(struct resp_server *s)
{
	struct resp_conn *big = NULL;
	for (uint32_t i = 0; i < s->cfg.clients_max; i++) {
		struct resp_conn *o = s->table[i];
		if (o != NULL && !o->close_now &&
		    (big == NULL || o->counted_queued > big->counted_queued)) {
			big = o;
		}
	}
	return big;
}

/* Whether @c's own limit (smaller before AUTH) lets it queue @len more
 * bytes; if not, @c is closed. */
static bool conn_room(struct resp_conn *c, size_t len)
{
	struct resp_server *s = c->srv;
	uint64_t lim = c->authed ? s->cfg.output_bytes_max
				 : s->cfg.output_noauth_bytes_max;
	size_t q = queued_bytes(c);
	if (q <= lim && len <= lim - q) {
		return true;
	}
	/* A client that does not read its replies may not make the server
	 * hold them without limit (invariant 2); checked before copying, so
	 * the limit is never passed. */
	s->st.output_limit_drops++;
	char why[128];
	snprintf(why, sizeof(why),
		 "replies queued (%zu + %zu) would pass the %llu byte limit%s",
		 q, len, (unsigned long long)lim,
		 c->authed ? "" : " before AUTH");
	doom(c, why);
	return false;
}

/* Whether all clients together may queue @len more bytes for @c.  If not,
 * close the connection holding the most until they may; when that is @c
 * (counting @len), close @c and return false. */
static bool total_room(struct resp_conn *c, size_t len)
{
	struct resp_server *s = c->srv;
	while (len > s->cfg.output_total_bytes_max - s->st.output_bytes) {
		struct resp_conn *big = biggest(s);
		assert(big != NULL); /* @c at least is open */
		struct resp_conn *victim =
		    big->counted_queued > c->counted_queued + len ? big : c;
		s->st.output_limit_drops++;
		char why[128];
		snprintf(why, sizeof(why),
			 "replies queued by all clients would pass the %llu "
			 "byte limit and this one held the most",
			 (unsigned long long)s->cfg.output_total_bytes_max);
		doom(victim, why);
		if (victim == c) {
			return false;
		}
	}
	return true;
}

void resp__conn_deliver(struct resp_conn *c, uint64_t seq, const void *p,
			size_t len)
{
	assert(seq >= c->seq_head && seq < c->seq_next);
	if (c->close_now) {
		return; /* going away: nobody will read it */
	}
	if (!conn_room(c, len) || !total_room(c, len)) {
		return;
	}
	if (seq == c->seq_head) {
		resp_buf_raw(&c->out, p, len);
		c->seq_head++;
		pull_ready(c);
		if (resp_buf_err(&c->out) != 0) {
			doom(c, "out of memory");
			return;
		}
	} else {
		if (ring_fit(c) != 0) {
			doom(c, "out of memory");
			return;
		}
		struct resp_slot *sl = &c->ring[seq & (c->ring_cap - 1)];
		assert(!sl->done); /* each request completes once */
		if (len > 0) {
			sl->data = fr_malloc(len);
			if (sl->data == NULL) {
				doom(c, "out of memory");
				return;
			}
			memcpy(sl->data, p, len);
		}
		sl->seq = seq;
		sl->len = len;
		sl->done = true;
		c->ring_bytes += len;
	}
	account(c);
	resp__conn_dirty(c);
}

static void protocol_error(struct resp_conn *c)
{
	struct resp_server *s = c->srv;
	s->st.protocol_errors++;
	resp__log(s, "client %s id=%llu: %s; closing", c->addr,
		  (unsigned long long)c->id, c->parser.errmsg);
	struct resp_buf *r = &s->scratch;
	resp_buf_reset(r);
	resp_buf_error(r, "ERR %s", c->parser.errmsg);
	uint64_t seq = c->seq_next++;
	if (resp_buf_err(r) != 0) {
		c->close_now = true;
		resp_buf_reset(r);
	}
	resp__conn_deliver(c, seq, r->data, r->len);
	c->draining = true;
}

/* Parse and dispatch what the read buffer holds, in order. */
static void process(struct resp_conn *c)
{
	struct resp_server *s = c->srv;
	while (!c->close_now && !c->draining) {
		if (c->seq_next - c->seq_head >= s->cfg.pending_max) {
			c->paused = true;
			break;
		}
		size_t avail = c->rlen - c->rpos;
		if (avail == 0) {
			break;
		}
		struct resp_request req;
		int rv = resp_parse(&c->parser, c->rbuf + c->rpos, avail, &req);
		if (rv == FR_AGAIN) {
			break;
		}
		if (rv == FR_NOMEM) {
			resp__log(s, "client %s: out of memory", c->addr);
			c->close_now = true;
			break;
		}
		if (rv != 0) {
			protocol_error(c);
			break;
		}
		if (req.argc > 0 && resp__is_http(req.argc, req.argv)) {
			resp__http_close(c, &req.argv[0]);
			break;
		}
		c->rpos += req.bytes;
		if (req.argc > 0) {
			s->st.commands_total++;
			resp__dispatch(c, req.argc, req.argv);
		}
	}
	if (c->rpos == c->rlen) {
		c->rpos = 0;
		c->rlen = 0;
		if (c->rcap > READ_CHUNK) {
			/* Don't pin a big request's buffer while idle. */
			fr_free(c->rbuf);
			c->rbuf = NULL;
			c->rcap = 0;
		}
	}
}

/* Make room to read: compact, then grow by doubling, up to one maximal
 * request plus a chunk.  Memory follows the bytes received, never a length
 * the client merely declared. */
static int read_room(struct resp_conn *c)
{
	if (c->rcap - c->rlen >= READ_CHUNK / 2) {
		return 0;
	}
	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
		if (c->rcap - c->rlen >= READ_CHUNK / 2) {
			return 0;
		}
	}
	/* The parser refuses a request over its limit, so the buffer holds
	 * at most one partial request of that size: before AUTH a small
	 * one, and while paused nothing more is read. */
	uint64_t max = c->parser.lim.request_bytes_max + READ_CHUNK;
	uint64_t cap =
	    c->rcap < READ_CHUNK ? READ_CHUNK : (uint64_t)c->rcap * 2;
	if (cap > max) {
		cap = max;
	}
	if (cap <= c->rlen) {
		/* Cannot happen: the parser refuses a request before it
		 * outgrows max.  Treat it as a protocol violation anyway. */
		return FR_TOOBIG;
	}
	char *b = fr_realloc(c->rbuf, (size_t)cap);
	if (b == NULL) {
		return FR_NOMEM;
	}
	c->rbuf = b;
	c->rcap = (size_t)cap;
	return 0;
}

static void conn_read(struct resp_conn *c)
{
	struct resp_server *s = c->srv;
	if (read_room(c) != 0) {
		resp__log(s, "client %s: cannot grow read buffer", c->addr);
		c->close_now = true;
		return;
	}
	ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
	if (n > 0) {
		c->rlen += (size_t)n;
		c->last_in_ms = resp__now_ms();
		s->st.bytes_in += (uint64_t)n;
		process(c);
		return;
	}
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		return;
	}
	/* EOF or a socket error: replies still owed cannot be delivered. */
	c->close_now = true;
}

void resp__conn_on_event(struct resp_conn *c, uint32_t events)
{
	if ((events & EPOLLIN) && !c->paused && !c->draining) {
		conn_read(c); /* sees EOF or the error itself */
		return;
	}
	/* Not reading (paused, draining) yet hung up or failed: the peer is
	 * gone.  Closing now also stops the level-triggered HUP from
	 * waking the loop again and again. */
	if (events & (EPOLLERR | EPOLLHUP)) {
		c->close_now = true;
	}
}

static void conn_write(struct resp_conn *c)
{
	struct resp_server *s = c->srv;
	while (c->opos < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->opos,
				 c->out.len - c->opos, MSG_NOSIGNAL);
		if (n > 0) {
			c->opos += (size_t)n;
			s->st.bytes_out += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		}
		c->close_now = true; /* peer gone */
		return;
	}
	if (c->opos == c->out.len) {
		c->opos = 0;
		if (c->out.cap > OUT_KEEP) {
			resp_buf_close(&c->out);
		}
		resp_buf_reset(&c->out);
	} else if (c->opos >= c->out.len / 2) {
		/* Slow reader: keep the buffer no larger than what is owed. */
		memmove(c->out.data, c->out.data + c->opos,
			c->out.len - c->opos);
		c->out.len -= c->opos;
		c->opos = 0;
	}
	account(c);
}

static void update_events(struct resp_conn *c)
{
	uint32_t want = 0;
	if (!c->paused && !c->draining) {
		want |= EPOLLIN;
	}
	if (c->opos < c->out.len) {
		want |= EPOLLOUT;
	}
	if (want == c->ev_mask) {
		return;
	}
	struct epoll_event ev = {
	    .events = want,
	    .data.u64 = ((uint64_t)c->srv->gens[c->slot] << 32) | c->slot,
	};
	if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
		resp__log(c->srv, "epoll_ctl mod client %s: %s", c->addr,
			  strerror(errno));
		c->close_now = true;
		return;
	}
	c->ev_mask = want;
}

void resp__conn_service(struct resp_conn *c)
{
	struct resp_server *s = c->srv;
	dirty_unlink(c);
	if (!c->close_now && c->paused &&
	    c->seq_next - c->seq_head < s->cfg.pending_max) {
		c->paused = false;
		process(c);
	}
	if (!c->close_now) {
		conn_write(c);
	}
	if (!c->close_now && c->draining && c->seq_head == c->seq_next &&
	    c->opos == c->out.len) {
		c->close_now = true; /* QUIT or protocol error: all sent */
	}
	if (!c->close_now) {
		update_events(c);
	}
	if (c->close_now) {
		resp__conn_free(c);
		return;
	}
	/* Everything owed has been attempted; EPOLLOUT covers the rest. */
	dirty_unlink(c);
}
