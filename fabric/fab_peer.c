/* fab_peer.c — per-peer bounded send queue and the handshake state machine. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include "fab_peer.h"
#include "heap.h"

/* How long an acceptor waits for the CONFIRM before starting over.  The
 * initiator is UP, writing with our descriptor, as soon as it has our ACK:
 * giving up on a CONFIRM that is merely late (a loaded host, a node busy
 * installing a snapshot) left the two ends on different ring generations.
 * Generous, then; the fab__rma_recv() stale check repairs what is left. */
#define ACCEPT_TIMEOUT_MS 2000u
/* A full send queue whose oldest operation has not completed for this
 * long is stuck, not busy: some operations never complete (libfabric 1.17,
 * e.g. a write into a ring whose key the peer revoked, over tcp;ofi_rxm). */
#define QUEUE_STUCK_MS 2000u
/* Least interval between two HELLOs to the same peer. */
#define HELLO_MIN_GAP_MS 2u

int fab__peer_open(struct fab *f, struct fab__peer *p, char *errmsg)
{
	int rv;

	rv = fab_auth_session_init(&p->sess);
	if (rv != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "session of peer %u: %s",
			 p->id, fr_strerror(rv));
		return rv;
	}
	p->arena = fab__mem_alloc(f, f->opt.queue_max_bytes);
	p->ops = fr_calloc(f->opt.queue_max_msgs, sizeof(*p->ops));
	if (p->arena == NULL || p->ops == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "send queue of peer %u: %s",
			 p->id, fr_strerror(FR_NOMEM));
		return FR_NOMEM;
	}
	rv = fab__ep_mr_reg(&f->ep, p->arena, f->opt.queue_max_bytes,
			    FI_SEND | FI_WRITE, &p->arena_mr, errmsg);
	if (rv != 0) {
		return rv;
	}
	p->arena_desc = fi_mr_desc(p->arena_mr);
	p->backoff_ms = FAB__BACKOFF_MIN_MS;
	if (f->ep.rma) {
		rv = fab__rma_open(f, p, errmsg);
	}
	return rv;
}

void fab__peer_close(struct fab *f, struct fab__peer *p)
{
	fab__rma_close(f, p);
	fab_auth_session_close(&p->sess);
	if (p->arena_mr != NULL) {
		fi_close(&p->arena_mr->fid);
		p->arena_mr = NULL;
	}
	fab__mem_free(f, p->arena, f->opt.queue_max_bytes);
	p->arena = NULL;
	fr_free(p->ops);
	p->ops = NULL;
}

/* ------------------------------------------------------------------ */
/* Queue                                                               */

struct fab__op *fab__queue_reserve(struct fab__peer *p, uint32_t len,
				   uint32_t msgs_max, uint32_t bytes_max)
{
	uint64_t off = p->head % bytes_max;
	uint64_t skip = off + len > bytes_max ? bytes_max - off : 0;
	struct fab__op *op;

	if (len > bytes_max) {
		return NULL;
	}
	if (p->op_head - p->op_tail >= msgs_max ||
	    (p->head - p->tail) + skip + len > bytes_max) {
		if (p->full_since_ms == 0) {
			p->full_since_ms = fab__now_ms(); /* fab__peer_tick() */
		}
		return NULL;
	}
	op = &p->ops[p->op_head % msgs_max];
	assert(op->state == FAB__OP_FREE);
	memset(op, 0, sizeof(*op));
	op->kind = FAB__OP_SEND;
	op->state = FAB__OP_QUEUED;
	op->peer = p;
	op->start = p->head;
	op->off = skip ? 0 : (uint32_t)off;
	op->len = len;
	p->head += skip + len;
	op->end = p->head;
	p->op_head++;
	return op;
}

void fab__queue_unreserve(struct fab__peer *p, struct fab__op *op)
{
	assert(op->state == FAB__OP_QUEUED && op->end == p->head);
	p->head = op->start;
	p->op_head--;
	op->state = FAB__OP_FREE;
}

static void release(struct fab *f, struct fab__peer *p)
{
	uint32_t max = f->opt.queue_max_msgs;

	while (p->op_tail != p->op_post &&
	       p->ops[p->op_tail % max].state == FAB__OP_DONE) {
		struct fab__op *op = &p->ops[p->op_tail % max];

		p->tail = op->end;
		op->state = FAB__OP_FREE;
		p->op_tail++;
		p->full_since_ms = 0; /* the queue moves */
	}
	if (p->op_tail == p->op_head && p->head >= p->no_rewind_below) {
		/* Empty: start the next frame at the arena's first byte
		 * again.  A one-at-a-time exchange then keeps reusing the
		 * same, cache-hot bytes instead of touring the whole arena
		 * (a 64 KiB APPEND's copy cost 2-3x more from cold lines).
		 * No op refers to a position now, so moving both is safe --
		 * unless ops were abandoned (abandon_posted()): the provider
		 * may still read their bytes, so those wait a whole lap. */
		p->head = 0;
		p->tail = 0;
		p->no_rewind_below = 0;
	}
}

static ssize_t post(struct fab *f, struct fab__peer *p, struct fab__op *op)
{
	void *buf = fab__op_buf(p, op);

	if (op->kind == FAB__OP_WRITE) {
		return fi_writedata(f->ep.ep, buf, op->len, p->arena_desc,
				    op->cq_data, p->addr, op->remote_addr,
				    op->remote_key, &op->ctx);
	}
	return fi_send(f->ep.ep, buf, op->len, p->arena_desc, p->addr,
		       &op->ctx);
}

int fab__queue_flush(struct fab *f, struct fab__peer *p)
{
	uint32_t max = f->opt.queue_max_msgs;

	while (p->op_post != p->op_head) {
		struct fab__op *op = &p->ops[p->op_post % max];
		ssize_t rv;

		assert(op->state == FAB__OP_QUEUED);
		if (op->kind == FAB__OP_WRITE &&
		    (!p->writer_ok || op->generation != p->writer.generation)) {
			/* The ring it was meant for is gone: drop it, Raft
			 * retries the batch. */
			op->state = FAB__OP_DONE;
			p->op_post++;
			continue;
		}
		rv = post(f, p, op);
		if (rv == -FI_EAGAIN) {
			return FR_AGAIN;
		}
		p->op_post++;
		if (rv != 0) {
			f->stats.send_errors++;
			op->state = FAB__OP_DONE;
			fr_log(FR_LOG_WARN, "fabric", "post to peer %u: %s",
			       p->id, fi_strerror((int)-rv));
			continue;
		}
		op->state = FAB__OP_POSTED;
	}
	release(f, p);
	return 0;
}

void fab__queue_complete(struct fab *f, struct fab__op *op, int err)
{
	struct fab__peer *p = op->peer;

	assert(op->state == FAB__OP_POSTED);
	op->state = FAB__OP_DONE;
	if (err != 0) {
		f->stats.send_errors++;
		if (op->kind == FAB__OP_WRITE &&
		    (!p->writer_ok || op->generation != p->writer.generation)) {
			/* A write to a revoked ring: expected after a
			 * re-registration, not a broken connection. */
		} else if (p->state == FAB__UP ||
			   op->frame_kind == FAB_WIRE_HELLO) {
			fab__peer_down(f, p, fi_strerror(-err));
		}
	}
	release(f, p);
}

int fab__queue_frame(struct fab *f, struct fab__peer *p, const void *buf,
		     size_t len, unsigned kind)
{
	bool auth = kind == FAB_WIRE_CREDIT;
	size_t n = len + (auth ? FAB_AUTH_TRAILER_SIZE : 0);
	struct fab__op *op = fab__queue_reserve(
	    p, (uint32_t)n, f->opt.queue_max_msgs, f->opt.queue_max_bytes);
	int rv;

	if (op == NULL) {
		return FR_AGAIN;
	}
	memcpy(fab__op_buf(p, op), buf, len);
	if (auth) {
		rv = fab_auth_frame_seal(&p->sess, fab__op_buf(p, op), len);
		if (rv != 0) {
			fab__queue_unreserve(p, op);
			return rv;
		}
		len = n;
	}
	op->frame_kind = (uint8_t)kind;
	f->stats.msg_sent++;
	f->stats.msg_sent_bytes += len;
	(void)fab__queue_flush(f, p);
	return 0;
}

/*
 * The peer's address is being replaced: its old connection (tcp;ofi_rxm) or
 * region (shm) is gone, and libfabric 1.17 never completes some operations
 * posted to it -- neither success nor error.  Sends are released in FIFO
 * order, so one such operation held up every later one and the queue
 * filled for good: a leader never reached its restarted follower again
 * (e2e_snapshot with RMA, fab_ops_in_flight stuck at queue_max_msgs).
 * Count them as done.  A late completion for one finds it no longer posted
 * and is ignored; only if its slot had been reused (queue_max_msgs
 * operations later) could it be taken for the new one's, which at worst
 * lets that frame's bytes be reused early -- the receiver's CRC32C checks
 * refuse such a frame and Raft resends.  The abandoned bytes themselves
 * are not reused for a whole lap of the arena (no rewind to offset 0):
 * on a live connection (a re-handshake, not a restart) the provider may
 * still send them, and the sockets provider reads them late -- rewinding
 * at once overwrote a pending reply with the next HELLO.
 */
static void abandon_posted(struct fab *f, struct fab__peer *p)
{
	uint32_t max = f->opt.queue_max_msgs;

	if (p->op_tail != p->op_post) {
		p->no_rewind_below = p->head + f->opt.queue_max_bytes;
	}

	for (uint32_t i = p->op_tail; i != p->op_post; i++) {
		struct fab__op *op = &p->ops[i % max];

		if (op->state == FAB__OP_POSTED) {
			op->state = FAB__OP_DONE;
			f->stats.ops_abandoned++;
		}
	}
	release(f, p);
}

/* ------------------------------------------------------------------ */
/* Handshake                                                           */

/* The keys of @p's handshake: as initiator with the ACK's @nonce_a and
 * @inc_a, as acceptor with the HELLO we answered (peer_nonce, peer_inc) and
 * our ACK nonce. */
static int derive(struct fab *f, struct fab__peer *p, bool initiator,
		  uint64_t nonce_a, uint64_t inc_a, struct fab_auth_keys *keys)
{
	struct fab_auth_params pp = {
	    .cluster_id = f->opt.cluster_id,
	    .initiator = initiator ? f->opt.self : p->id,
	    .acceptor = initiator ? p->id : f->opt.self,
	    .nonce_i = initiator ? p->nonce : p->peer_nonce,
	    .nonce_a = initiator ? nonce_a : p->nonce,
	    .inc_i = initiator ? f->incarnation : p->peer_inc,
	    .inc_a = initiator ? inc_a : f->incarnation,
	};

	return fab_auth_derive(&f->key, &pp, keys);
}

/* Seal our ring descriptor @d for the ACK to @p's HELLO. */
static int seal_ack_ring(struct fab *f, struct fab__peer *p,
			 const struct fab_ring_desc *d, uint8_t *box)
{
	struct fab_auth_keys keys;
	int rv;

	rv = derive(f, p, false, 0, 0, &keys);
	if (rv == 0) {
		rv = fab_auth_desc_seal(keys.desc_a2i, d, box);
	}
	fab_auth_keys_wipe(&keys);
	return rv;
}

static void hello_send(struct fab *f, struct fab__peer *p, unsigned kind,
		       uint64_t echo)
{
	bool next = kind == FAB_WIRE_HELLO_ACK && p->accept_pending;
	struct fab_hello h = {
	    .cluster_id = f->opt.cluster_id,
	    .from = f->opt.self,
	    .to = p->id,
	    .version = FAB_HELLO_VERSION,
	    .nonce = p->nonce,
	    .incarnation = f->incarnation,
	    .echo = echo,
	    .has_ring = f->ep.rma,
	};
	uint8_t buf[FAB_HELLO_FRAME_MAX];
	size_t len;
	int rv;

	if (p->addr == FI_ADDR_NOTAVAIL) {
		return; /* shm peer not started: retried by backoff */
	}
	if (kind == FAB_WIRE_HELLO_ACK && f->ep.rma) {
		struct fab_ring_desc d;

		if (next) {
			fab__rma_desc_next(p, &d);
		} else {
			fab__rma_desc(p, &d);
		}
		/* Sealed under this handshake's key: readable only by the
		 * holder of the secret who sent the HELLO we answer. */
		if (seal_ack_ring(f, p, &d, h.ring_box) != 0) {
			fr_log(FR_LOG_ERROR, "fabric",
			       "peer %u: cannot seal our ring", p->id);
			return;
		}
		p->ring_exposed = true; /* usable once the ACK arrives */
	}
	rv = fab_hello_encode(&f->key, kind, &h, buf, sizeof(buf), &len);
	assert(rv == 0);
	fr_log(FR_LOG_DEBUG, "fabric",
	       "peer %u: send %s (state %u, pending %d)", p->id,
	       fab_wire_kind_name(kind), p->state, p->accept_pending);
	if (fab__queue_frame(f, p, buf, len, kind) != 0) {
		fr_log(FR_LOG_DEBUG, "fabric", "peer %u: queue full for %s",
		       p->id, fab_wire_kind_name(kind));
	}
	p->last_hello_ms = fab__now_ms();
}

struct fab__peer *fab__peer_addr_owner(struct fab *f, const struct fab__peer *p,
				       fi_addr_t addr)
{
	for (uint32_t i = 0; i < f->n_peers; i++) {
		if (&f->peers[i] != p && f->peers[i].addr == addr) {
			return &f->peers[i];
		}
	}
	return NULL;
}

/*
 * shm: a restarted peer has a region under a new epoch (fab_ep.h); insert
 * it when it is newer than the one in the AV.  @seen: the peer has just
 * sent us a frame, so its newest region is initialised (no minimum age).
 * The old entry stays: 1.17 misrouted after fi_av_remove here, and it
 * costs one of shm's 256 AV entries per restart of a peer.
 */
static void readdr_shm(struct fab *f, struct fab__peer *p, bool seen)
{
	struct fab__peer *other;
	uint64_t epoch;
	fi_addr_t addr;

	if (!f->shm_ready ||
	    !fab__ep_shm_find(&f->ep, p->host, p->port, seen ? 0 : 100,
			      &epoch) ||
	    epoch == p->shm_epoch) {
		return;
	}
	if (fab__ep_av_insert(&f->ep, p->host, p->port, epoch, &addr,
			      f->errmsg) != 0) {
		fr_log(FR_LOG_WARN, "fabric", "peer %u: %s", p->id, f->errmsg);
		return;
	}
	other = fab__peer_addr_owner(f, p, addr);
	if (other != NULL) {
		fr_log(FR_LOG_ERROR, "fabric",
		       "peer %u: provider gave the address of peer %u", p->id,
		       other->id);
		return;
	}
	fr_log(FR_LOG_INFO, "fabric",
	       "peer %u: shm region epoch %llu (was %llu)", p->id,
	       (unsigned long long)epoch, (unsigned long long)p->shm_epoch);
	abandon_posted(f, p);
	p->addr = addr;
	p->shm_epoch = epoch;
}

/*
 * Insert the peer's address again.  shm maps a peer's region when its
 * address is inserted, which fails while that process does not exist yet,
 * and tcp;ofi_rxm keeps a connection per AV entry: a fresh entry gives a
 * fresh mapping or connection, which is what a restarted peer needs.
 * @seen: called because the peer just sent us a frame.
 */
static void readdr(struct fab *f, struct fab__peer *p, bool seen)
{
	fi_addr_t old = p->addr;
	int rv;

	if (f->ep.shm) {
		readdr_shm(f, p, seen);
		return;
	}
	if (old != FI_ADDR_NOTAVAIL &&
	    fi_av_remove(f->ep.av, &old, 1, 0) != 0) {
		fr_log(FR_LOG_DEBUG, "fabric", "peer %u: fi_av_remove failed",
		       p->id);
	}
	abandon_posted(f, p);
	rv =
	    fab__ep_av_insert(&f->ep, p->host, p->port, 0, &p->addr, f->errmsg);
	if (rv == 0 && fab__peer_addr_owner(f, p, p->addr) != NULL) {
		/* Never send one peer's frames to another. */
		fr_log(FR_LOG_ERROR, "fabric",
		       "peer %u: provider gave the address of peer %u", p->id,
		       fab__peer_addr_owner(f, p, p->addr)->id);
		rv = FR_FABRIC;
	}
	if (rv != 0) {
		if (rv != FR_NOCONN) {
			fr_log(FR_LOG_WARN, "fabric", "peer %u: %s", p->id,
			       f->errmsg);
		}
		p->addr = FI_ADDR_NOTAVAIL;
	}
}

/* Stop writing into the peer's ring until a handshake gives a new one. */
static void writer_stop(struct fab__peer *p)
{
	p->writer_ok = false;
	p->writer_paused = false;
}

/*
 * Start (or restart) an attempt as initiator.  A ring whose descriptor the
 * peer may have used (ring_exposed) is re-registered (new key) before it is
 * announced again, so a
 * write still in flight from the previous connection cannot land in it --
 * whether or not one has arrived yet: tcp;ofi_rxm, for one, holds writes
 * posted while a connection is down and replays them on the next one.
 */
static void hello_start(struct fab *f, struct fab__peer *p, uint64_t now)
{
	if (fab_hello_random(&p->nonce) != 0) {
		fr_log(FR_LOG_ERROR, "fabric", "no entropy for a nonce");
		p->next_try_ms = now + FAB__BACKOFF_MAX_MS;
		return;
	}
	if (f->ep.rma && fab__rma_renew(f, p, p->ring_exposed) != 0) {
		p->next_try_ms = now + FAB__BACKOFF_MAX_MS;
		return;
	}
	if ((p->attempts++ > 0 && !p->keep_addr) ||
	    p->addr == FI_ADDR_NOTAVAIL) {
		readdr(f, p, false);
	}
	p->keep_addr = false;
	p->peer_nonce = 0; /* p->nonce no longer answers that HELLO */
	p->state = FAB__HELLO_SENT;
	writer_stop(p);
	hello_send(f, p, FAB_WIRE_HELLO, 0);
}

bool fab__peer_needs_clock(const struct fab__peer *p)
{
	return p->state != FAB__UP || p->accept_pending || p->full_since_ms ||
	       p->bad_mac_since_ms;
}

/*
 * The two ends can disagree on the session: a CONFIRM refused as stale
 * because a replayed HELLO overwrote the pending handshake in between, for
 * one.  Nothing then tells either end -- each drops the other's frames as
 * forged.  A link on which frames naming the peer fail their MAC for a
 * second while not one verifies is restarted.  (A forger can trigger this
 * on an idle link, which costs a handshake, not a message: a live link's
 * own valid frames keep resetting the clock.)
 */
void fab__peer_mac(struct fab__peer *p, bool ok)
{
	if (ok) {
		p->bad_mac_since_ms = 0;
	} else if (p->bad_mac_since_ms == 0) {
		p->bad_mac_since_ms = fab__now_ms();
	}
}

void fab__peer_tick(struct fab *f, struct fab__peer *p, uint64_t now)
{
	if (p->full_since_ms != 0 && now >= p->full_since_ms + QUEUE_STUCK_MS) {
		fr_log(FR_LOG_WARN, "fabric",
		       "peer %u: send queue full for %u ms with %u "
		       "operations not completed; abandoning them and "
		       "reconnecting",
		       p->id, QUEUE_STUCK_MS, p->op_post - p->op_tail);
		f->stats.queue_stalls++;
		abandon_posted(f, p);
		p->full_since_ms = 0;
		/* Keep the address (and connection) for the next HELLO: the
		 * operations are still inside the provider, and removing
		 * their address under them crashed tcp;ofi_rxm later, in
		 * fi_close() of the endpoint. */
		p->keep_addr = true;
		if (p->state == FAB__UP || p->state == FAB__ACCEPTING) {
			fab__peer_down(f, p, "send queue stuck");
			p->next_try_ms = 0;
		}
	}
	if (p->bad_mac_since_ms != 0 &&
	    now >= p->bad_mac_since_ms + FAB__KEYS_LOST_MS) {
		p->bad_mac_since_ms = 0;
		if (p->state == FAB__UP && !p->accept_pending) {
			fr_log(FR_LOG_WARN, "fabric",
			       "peer %u: its frames fail their MAC for %u ms; "
			       "restarting the connection",
			       p->id, FAB__KEYS_LOST_MS);
			fab__peer_down(f, p, "session keys out of step");
			p->next_try_ms = 0;
		}
	}
	switch (p->state) {
	case FAB__DOWN:
		if (now >= p->next_try_ms) {
			hello_start(f, p, now);
			p->next_try_ms = now + p->backoff_ms;
		}
		break;
	case FAB__HELLO_SENT:
		if (now >= p->next_try_ms) {
			/* Same nonce: an ACK to any copy still counts. */
			if (p->addr == FI_ADDR_NOTAVAIL || f->ep.shm) {
				/* shm: the peer may have restarted under a
				 * new region (one readdir per retry). */
				readdr(f, p, false);
			}
			hello_send(f, p, FAB_WIRE_HELLO, 0);
			p->backoff_ms = p->backoff_ms * 2 > FAB__BACKOFF_MAX_MS
					    ? FAB__BACKOFF_MAX_MS
					    : p->backoff_ms * 2;
			p->next_try_ms = now + p->backoff_ms;
		}
		break;
	case FAB__ACCEPTING:
		if (now >= p->next_try_ms) {
			fab__peer_down(f, p, "no CONFIRM");
		}
		break;
	default:
		break;
	}
	if (p->accept_pending && now >= p->pending_until_ms) {
		p->accept_pending = false; /* it was a late copy */
		fab__rma_early_drop(f, p);
		p->writer_ok = p->writer_paused; /* the ring is still good */
		p->writer_paused = false;
	}
	if (p->state == FAB__UP && f->ep.rma) {
		fab__rma_credit_flush(f, p);
	}
	/* Only what fab_send() could not post yet: completions release
	 * their own ops, so an idle poll stays a few loads. */
	if (p->op_post != p->op_head) {
		(void)fab__queue_flush(f, p);
	}
}

void fab__peer_down(struct fab *f, struct fab__peer *p, const char *why)
{
	if (p->state == FAB__UP) {
		fr_log(FR_LOG_INFO, "fabric", "peer %u down: %s", p->id, why);
	}
	p->state = FAB__DOWN;
	writer_stop(p);
	p->accept_pending = false;
	fab__rma_early_drop(f, p);
	p->next_try_ms = fab__now_ms() + p->backoff_ms;
}

static void peer_up(struct fab *f, struct fab__peer *p, uint64_t inc,
		    const char *role)
{
	p->writer_paused = false;
	if (f->ep.rma && p->peer_has_ring) {
		p->writer_ok =
		    fab_ring_writer_init(&p->writer, &p->peer_ring) == 0;
	}
	if (p->ever_up) {
		f->stats.reconnects++;
	}
	fr_log(FR_LOG_INFO, "fabric",
	       "peer %u up (%s, incarnation %016llx%s, rma %s)", p->id, role,
	       (unsigned long long)inc,
	       p->ever_up && inc != p->incarnation ? ", restarted" : "",
	       p->writer_ok ? "on" : "off");
	p->incarnation = inc;
	p->ever_up = true;
	p->state = FAB__UP;
	p->up_ms = fab__now_ms();
	p->bad_mac_since_ms = 0;
	p->backoff_ms = FAB__BACKOFF_MIN_MS;
}

static void refused(struct fab *f, const char *what, int rv, const char *why)
{
	f->stats.rejects_auth++;
	/* Log the first refusals and then every 64th: a peer with the wrong
	 * secret retries forever. */
	if (f->stats.rejects_auth <= 4 || f->stats.rejects_auth % 64 == 0) {
		fr_log(FR_LOG_WARN, "fabric",
		       "refused %s: %s (%s), %llu so far", what,
		       fr_strerror(rv), why,
		       (unsigned long long)f->stats.rejects_auth);
	}
}

/*
 * UP, with a new HELLO answered: wait for its CONFIRM on the old session.
 * Stop writing into the peer's ring meanwhile: a current HELLO means the
 * peer renewed it, probably under a new key, and over tcp;ofi_rxm a write
 * with a revoked key costs the whole connection -- our ACKs with it, again
 * and again (APPENDs go as messages until the CONFIRM, or until the wait
 * expires for a HELLO that was a copy).
 */
static void pend(struct fab__peer *p, uint64_t now)
{
	p->accept_pending = true;
	p->pending_until_ms = now + ACCEPT_TIMEOUT_MS;
	p->writer_paused = p->writer_paused || p->writer_ok;
	p->writer_ok = false;
}

static void on_hello(struct fab *f, const void *buf, size_t len)
{
	bool restarted;
	char why[FR_ERRMSG_SIZE] = "";
	struct fab_hello h;
	struct fab__peer *p;
	size_t used;
	uint64_t now = fab__now_ms();
	int rv;

	rv = fab_hello_decode(&f->key, FAB_WIRE_HELLO, 0, buf, len, &h, &used,
			      why);
	if (rv != 0) {
		/* No REJECT: without a valid MAC we cannot tell who sent it,
		 * and answering an unauthenticated claim helps nobody. */
		refused(f, "HELLO", rv, why);
		return;
	}
	p = fab__peer_by_id(f, h.from);
	if (p != NULL) {
		fr_log(FR_LOG_DEBUG, "fabric", "peer %u: got HELLO (state %u)",
		       p->id, p->state);
	}
	if (p == NULL || (f->ep.rma && !h.has_ring)) {
		refused(f, "HELLO", FR_MISMATCH, "unknown sender or no ring");
		return;
	}
	if ((p->state == FAB__ACCEPTING || p->state == FAB__UP) &&
	    p->peer_nonce == h.nonce && p->peer_inc == h.incarnation) {
		/* The HELLO we answered last, again: a retransmission, or a
		 * recorded copy.  Repeat the same ACK (the CONFIRM for either
		 * copy then matches) and touch nothing else: no new address,
		 * no new nonce.  A live link stays UP meanwhile. */
		if (p->state == FAB__UP && !p->accept_pending) {
			pend(p, now);
		}
		hello_send(f, p, FAB_WIRE_HELLO_ACK, h.nonce);
		return;
	}
	restarted = p->ever_up && h.incarnation != p->incarnation;
	if (p->addr == FI_ADDR_NOTAVAIL || restarted) {
		/* shm: it exists now; restarted: the old connection or
		 * mapping is dead, answer over a fresh one. */
		readdr(f, p, true);
	}
	if (p->state == FAB__HELLO_SENT && f->opt.self < p->id && !restarted) {
		/* Both started: ours wins.  Make sure it has been seen. */
		if (now - p->last_hello_ms >= HELLO_MIN_GAP_MS) {
			hello_send(f, p, FAB_WIRE_HELLO, 0);
		}
		return;
	}
	if (fab_hello_random(&p->nonce) != 0) {
		return;
	}
	/* A new ACK: records held for the CONFIRM of an older one were
	 * written under other keys. */
	fab__rma_early_drop(f, p);
	p->peer_nonce = h.nonce;
	p->peer_inc = h.incarnation;
	p->pending_has_ring = h.has_ring;
	if (p->state == FAB__UP) {
		/* Keep the live connection until the CONFIRM shows this
		 * HELLO is current -- not a late copy, and not a recording
		 * replayed by someone without the secret (even one from an
		 * earlier incarnation of the peer: its MAC is still valid).
		 * A restarted peer proves itself the same way. */
		pend(p, now);
		hello_send(f, p, FAB_WIRE_HELLO_ACK, h.nonce);
		return;
	}
	if (f->ep.rma && fab__rma_renew(f, p, p->ring_exposed) != 0) {
		return;
	}
	p->accept_pending = false;
	p->state = FAB__ACCEPTING;
	writer_stop(p);
	p->next_try_ms = now + ACCEPT_TIMEOUT_MS;
	hello_send(f, p, FAB_WIRE_HELLO_ACK, h.nonce);
}

/* Install the session keys of @p's handshake; the link may go UP. */
static int session_start(struct fab *f, struct fab__peer *p, bool initiator,
			 const struct fab_auth_keys *keys)
{
	int rv = fab_auth_session_start(&p->sess, keys, initiator, f->opt.self,
					p->id);

	if (rv != 0) {
		fr_log(FR_LOG_ERROR, "fabric", "peer %u: session keys: %s",
		       p->id, fr_strerror(rv));
	}
	return rv;
}

/* True when the ACK was meant for @p (accepted or refused). */
static bool on_ack(struct fab *f, struct fab__peer *p, const void *buf,
		   size_t len)
{
	char why[FR_ERRMSG_SIZE] = "";
	struct fab_auth_keys keys;
	struct fab_ring_desc ours;
	struct fab_hello a;
	struct fab_hello_confirm c;
	uint8_t out[FAB_HELLO_FRAME_MAX];
	size_t used;
	size_t n;
	int rv;

	rv = fab_hello_decode(&f->key, FAB_WIRE_HELLO_ACK, p->nonce, buf, len,
			      &a, &used, why);
	if (rv == FR_STALE) {
		return false; /* another peer's, or a HELLO of ours retired */
	}
	if (rv != 0 || a.from != p->id || (f->ep.rma && !a.has_ring)) {
		refused(f, "HELLO_ACK", rv ? rv : FR_MISMATCH, why);
		return true;
	}
	c = (struct fab_hello_confirm){
	    .cluster_id = f->opt.cluster_id,
	    .from = f->opt.self,
	    .to = p->id,
	    .nonce = p->nonce,
	    .echo = a.nonce,
	    .has_ring = f->ep.rma,
	};
	rv = derive(f, p, true, a.nonce, a.incarnation, &keys);
	if (rv == 0 && f->ep.rma) {
		rv = fab_auth_desc_open(keys.desc_a2i, a.ring_box,
					&p->peer_ring);
		fab__rma_desc(p, &ours);
		if (rv == 0) {
			rv = fab_auth_desc_seal(keys.desc_i2a, &ours,
						c.ring_box);
		}
	}
	if (rv == 0) {
		rv = session_start(f, p, true, &keys);
	}
	fab_auth_keys_wipe(&keys);
	if (rv != 0) {
		refused(f, "HELLO_ACK", rv, "ring descriptor or keys");
		return true;
	}
	rv = fab_hello_confirm_encode(&f->key, &c, out, sizeof(out), &n);
	assert(rv == 0);
	p->peer_has_ring = a.has_ring;
	p->accept_pending = false;
	p->ring_exposed = f->ep.rma; /* the CONFIRM lets it use our ring */
	peer_up(f, p, a.incarnation, "initiator");
	if (p->hold_confirm && n <= sizeof(p->held)) {
		memcpy(p->held, out, n); /* fab_test_hold_confirm() */
		p->held_len = (uint16_t)n;
		return true;
	}
	(void)fab__queue_frame(f, p, out, n, FAB_WIRE_HELLO_CONFIRM);
	return true;
}

/* True when the CONFIRM was meant for @p (accepted or refused). */
static bool on_confirm(struct fab *f, struct fab__peer *p, const void *buf,
		       size_t len)
{
	char why[FR_ERRMSG_SIZE] = "";
	struct fab_auth_keys keys;
	struct fab_hello_confirm c;
	size_t used;
	int rv;

	rv = fab_hello_confirm_decode(&f->key, p->id, p->peer_nonce, p->nonce,
				      buf, len, &c, &used, why);
	if (rv == FR_STALE || rv == FR_NOTFOUND) {
		return false;
	}
	if (rv != 0 || (f->ep.rma && !c.has_ring)) {
		refused(f, "HELLO_CONFIRM", rv ? rv : FR_MISMATCH, why);
		return true;
	}
	rv = derive(f, p, false, 0, 0, &keys);
	if (rv == 0 && f->ep.rma) {
		rv = fab_auth_desc_open(keys.desc_i2a, c.ring_box,
					&p->pending_ring);
	}
	if (rv == 0 && p->accept_pending && f->ep.rma) {
		/* The ACK announced the next generation under the same key
		 * (fab__rma_desc_next()): the peer's writes to the current
		 * one came over this live connection before its CONFIRM, so
		 * none can land later. */
		if (fab__rma_renew(f, p, false) != 0) {
			fab_auth_keys_wipe(&keys);
			return true;
		}
		p->ring_exposed = true;
	}
	if (rv == 0) {
		rv = session_start(f, p, false, &keys);
	}
	fab_auth_keys_wipe(&keys);
	if (rv != 0) {
		refused(f, "HELLO_CONFIRM", rv, "ring descriptor or keys");
		return true;
	}
	p->accept_pending = false;
	p->peer_ring = p->pending_ring;
	p->peer_has_ring = c.has_ring;
	peer_up(f, p, p->peer_inc, "acceptor");
	fab__rma_early_replay(f, p);
	return true;
}

/* ACK and CONFIRM name the nonce we sent: that finds the peer. */
void fab__peer_hello_recv(struct fab *f, const struct fab_wire_frame *fr,
			  const void *buf, size_t len)
{
	int reason;
	uint64_t echo;
	size_t used;

	if (fr->kind == FAB_WIRE_HELLO) {
		on_hello(f, buf, len);
		return;
	}
	for (uint32_t i = 0; i < f->n_peers; i++) {
		struct fab__peer *p = &f->peers[i];

		if (fr->kind == FAB_WIRE_HELLO_ACK &&
		    p->state == FAB__HELLO_SENT) {
			if (on_ack(f, p, buf, len)) {
				return;
			}
		} else if (fr->kind == FAB_WIRE_HELLO_CONFIRM &&
			   (p->state == FAB__ACCEPTING || p->accept_pending)) {
			if (on_confirm(f, p, buf, len)) {
				return;
			}
		}
	}
	if (fr->kind != FAB_WIRE_REJECT ||
	    fab_hello_reject_decode(buf, len, &reason, &echo, &used) != 0) {
		return;
	}
	for (uint32_t i = 0; i < f->n_peers; i++) {
		struct fab__peer *p = &f->peers[i];

		if (p->state != FAB__HELLO_SENT || p->nonce != echo) {
			continue;
		}
		fr_log(FR_LOG_WARN, "fabric", "peer %u refused our HELLO: %s",
		       p->id, fr_strerror(reason));
		p->state = FAB__DOWN;
		p->backoff_ms = p->backoff_ms * 2 > FAB__BACKOFF_MAX_MS
				    ? FAB__BACKOFF_MAX_MS
				    : p->backoff_ms * 2;
		p->next_try_ms = fab__now_ms() + p->backoff_ms;
	}
}
