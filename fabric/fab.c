/* fab.c — the public transport API: open, send, poll, info. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rdma/fi_errno.h>

#include "fab_peer.h"
#include "fab_topo.h"
#include "heap.h"

#define RING_BYTES_DEFAULT  (1u << 20)
#define QUEUE_MSGS_DEFAULT  256u
#define QUEUE_BYTES_DEFAULT (4u << 20)
#define FRAME_BYTES_DEFAULT ((1u << 20) + (64u << 10))
/* Completions read per fab_poll(), so one call stays short. */
#define POLL_BUDGET 256

uint64_t fab__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct fab__peer *fab__peer_by_id(struct fab *f, raft_id id)
{
	for (uint32_t i = 0; i < f->n_peers; i++) {
		if (f->peers[i].id == id) {
			return &f->peers[i];
		}
	}
	return NULL;
}

void *fab__mem_alloc(struct fab *f, size_t len)
{
	bool bound = false;
	int err = 0;
	void *p;

	if (f->opt.topo == NULL) {
		return fr_calloc(1, len);
	}
	p = fab_topo_alloc(f->opt.topo, len, f->opt.numa_os, &bound, &err);
	if (p != NULL && !bound && f->stats.mem_errno == 0) {
		f->stats.mem_errno = err;
	}
	f->stats.mem_bound &= bound;
	return p;
}

void fab__mem_free(struct fab *f, void *ptr, size_t len)
{
	if (f->opt.topo == NULL) {
		fr_free(ptr);
	} else {
		fab_topo_free(f->opt.topo, ptr, len);
	}
}

static bool is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static int check_options(const struct fab_options *o, char *errmsg)
{
	bool self_found = false;

	if (o->n_peers < 2 || o->n_peers > RAFT_MAX_SERVERS ||
	    o->peers == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "need 2..%u peers, got %u",
			 RAFT_MAX_SERVERS, o->n_peers);
		return FR_INVALID;
	}
	for (uint32_t i = 0; i < o->n_peers; i++) {
		const struct fab_peer_addr *a = &o->peers[i];

		if (a->id == 0 || a->id > RAFT_ID_MAX ||
		    memchr(a->host, '\0', sizeof(a->host)) == NULL ||
		    a->host[0] == '\0') {
			snprintf(errmsg, FR_ERRMSG_SIZE,
				 "peer %u: bad id or host", i);
			return FR_INVALID;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (o->peers[j].id == a->id) {
				snprintf(errmsg, FR_ERRMSG_SIZE,
					 "peer id %u twice", a->id);
				return FR_INVALID;
			}
		}
		self_found |= a->id == o->self;
	}
	if (!self_found) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "self %u not among peers",
			 o->self);
		return FR_INVALID;
	}
	if (o->rma < -1 || o->rma > 1) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "rma must be -1, 0 or 1");
		return FR_INVALID;
	}
	return 0;
}

/* Copy @o with defaults filled in and checked. */
static int fill_options(struct fab_options *c, const struct fab_options *o,
			char *errmsg)
{
	*c = *o;
	c->peers = NULL;
	c->secret = NULL;
	c->provider = NULL;
	if (c->ring_bytes == 0) {
		c->ring_bytes = RING_BYTES_DEFAULT;
	}
	if (c->queue_max_msgs == 0) {
		c->queue_max_msgs = QUEUE_MSGS_DEFAULT;
	}
	if (c->queue_max_bytes == 0) {
		c->queue_max_bytes = QUEUE_BYTES_DEFAULT;
	}
	if (c->frame_bytes_max == 0) {
		c->frame_bytes_max = FRAME_BYTES_DEFAULT;
	}
	if (!is_pow2(c->ring_bytes) || c->ring_bytes < FAB_RING_MIN_SIZE ||
	    c->ring_bytes > FAB_RING_MAX_SIZE) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "ring_bytes must be a power of two in [%u, %u]",
			 FAB_RING_MIN_SIZE, FAB_RING_MAX_SIZE);
		return FR_INVALID;
	}
	if (c->frame_bytes_max > FAB_WIRE_HDR_SIZE + FAB_WIRE_MAX_PAYLOAD) {
		/* Nothing larger can be sent, and 16 receive buffers of it
		 * must stay addressable with 32-bit offsets. */
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "frame_bytes_max must be at most %u",
			 FAB_WIRE_HDR_SIZE + FAB_WIRE_MAX_PAYLOAD);
		return FR_INVALID;
	}
	if (c->queue_max_msgs < 4 || c->frame_bytes_max < 4096 ||
	    c->queue_max_bytes < c->frame_bytes_max) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "queue_max_msgs >= 4, frame_bytes_max >= 4096 and "
			 "queue_max_bytes >= frame_bytes_max");
		return FR_INVALID;
	}
	return 0;
}

static int rx_post(struct fab *f, struct fab__op *op)
{
	ssize_t rv;

	do {
		rv = fi_recv(f->ep.ep, f->rx_slab + op->off, op->len,
			     fi_mr_desc(f->rx_mr), FI_ADDR_UNSPEC, &op->ctx);
		if (rv == -FI_EAGAIN) {
			(void)fi_cq_read(f->ep.cq, NULL, 0);
		}
	} while (rv == -FI_EAGAIN);
	op->state = rv == 0 ? FAB__OP_POSTED : FAB__OP_FREE;
	return rv == 0 ? 0 : fab__errmsg(f->errmsg, "fi_recv", (int)rv);
}

/*
 * A receive buffer whose message has been handled is handed back to the
 * provider later, not at once: at the start of the next fab_poll() (or in
 * fab_trywait(), before the caller sleeps).  Re-posting at once put an
 * fi_recv() between the delivery of a message and the caller's answer to
 * it, on every round trip; now it runs while the answer travels.  At most
 * half of the buffers wait, so a burst never finds the endpoint without
 * posted receives (and the providers here buffer an unexpected message
 * anyway: nothing is lost either way).
 */
static void rx_repost(struct fab *f)
{
	for (uint32_t i = 0; i < FAB__RX_BUFS && f->rx_unposted > 0; i++) {
		struct fab__op *op = &f->rx_ops[i];

		if (op->state == FAB__OP_FREE) {
			/* On failure the buffer stays FREE: tried again at
			 * the next poll (logged once, not at every poll). */
			if (rx_post(f, op) == 0) {
				f->rx_unposted--;
				f->rx_post_failing = false;
			} else {
				if (!f->rx_post_failing) {
					fr_log(FR_LOG_WARN, "fabric", "%s",
					       f->errmsg);
				}
				f->rx_post_failing = true;
				return;
			}
		}
	}
}

static void rx_done(struct fab *f, struct fab__op *op)
{
	op->state = FAB__OP_FREE;
	f->rx_unposted++;
	if (f->rx_unposted > FAB__RX_BUFS / 2) {
		rx_repost(f);
	}
}

static int rx_open(struct fab *f, char *errmsg)
{
	size_t size = (size_t)FAB__RX_BUFS * f->opt.frame_bytes_max;
	int rv;

	f->rx_slab = fab__mem_alloc(f, size);
	if (f->rx_slab == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "receive buffers: %s",
			 fr_strerror(FR_NOMEM));
		return FR_NOMEM;
	}
	rv = fab__ep_mr_reg(&f->ep, f->rx_slab, size, FI_RECV, &f->rx_mr,
			    errmsg);
	if (rv != 0) {
		return rv;
	}
	for (uint32_t i = 0; i < FAB__RX_BUFS; i++) {
		struct fab__op *op = &f->rx_ops[i];

		op->kind = FAB__OP_RECV;
		op->off = i * f->opt.frame_bytes_max;
		op->len = f->opt.frame_bytes_max;
		rv = rx_post(f, op);
		if (rv != 0) {
			snprintf(errmsg, FR_ERRMSG_SIZE, "%s", f->errmsg);
			return rv;
		}
	}
	return 0;
}

static int peers_open(struct fab *f, const struct fab_options *o, char *errmsg)
{
	uint32_t k = 0;
	int rv;

	f->peers = fr_calloc(o->n_peers - 1, sizeof(*f->peers));
	f->entries = fr_calloc(RAFT_MAX_BATCH_ENTRIES, sizeof(*f->entries));
	if (f->peers == NULL || f->entries == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "peers: %s",
			 fr_strerror(FR_NOMEM));
		return FR_NOMEM;
	}
	for (uint32_t i = 0; i < o->n_peers; i++) {
		struct fab__peer *p = &f->peers[k];

		if (o->peers[i].id == o->self) {
			continue;
		}
		p->id = o->peers[i].id;
		p->slot = i;
		memcpy(p->host, o->peers[i].host, sizeof(p->host));
		p->port = o->peers[i].port;
		f->n_peers = ++k;
		rv = fab_hello_key_add_member(&f->key, p->id);
		assert(rv == 0);
		if (f->ep.shm) {
			p->addr = FI_ADDR_NOTAVAIL; /* see shm_gate() */
			rv = 0;
		} else {
			rv = fab__ep_av_insert(&f->ep, p->host, p->port, 0,
					       &p->addr, errmsg);
		}
		if (rv == 0) {
			fr_log(FR_LOG_DEBUG, "fabric",
			       "peer %u at fi_addr %llu", p->id,
			       (unsigned long long)p->addr);
			rv = fab__peer_open(f, p, errmsg);
		}
		if (rv != 0) {
			return rv;
		}
	}
	return 0;
}

static void info_names(struct fab *f)
{
	const struct fi_info *i = f->ep.info;

	snprintf(f->stats.provider, sizeof(f->stats.provider), "%s",
		 i->fabric_attr->prov_name);
	snprintf(f->stats.fabric, sizeof(f->stats.fabric), "%s",
		 i->fabric_attr->name);
	snprintf(f->stats.domain, sizeof(f->stats.domain), "%s",
		 i->domain_attr->name);
	f->stats.caps = i->caps;
	f->stats.rma = f->ep.rma;
	f->stats.wait_fd = f->ep.wait_fd >= 0;
	f->stats.ring_bytes = f->ep.rma ? f->opt.ring_bytes : 0;
}

int fab_open(struct fab **out, const struct fab_options *o, char *errmsg)
{
	const struct fab_peer_addr *self = NULL;
	struct fi_info *info = NULL;
	bool all_local = true;
	bool rma_on = false;
	uint64_t shm_epoch;
	struct fab *f;
	int rv;

	rv = check_options(o, errmsg);
	if (rv != 0) {
		return rv;
	}
	f = fr_calloc(1, sizeof(*f));
	if (f == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "%s", fr_strerror(FR_NOMEM));
		return FR_NOMEM;
	}
	f->ep.wait_fd = -1;
	f->stats.mem_bound = o->topo != NULL;
	f->stats.numa_os = o->topo != NULL ? o->numa_os : -1;
	rv = fill_options(&f->opt, o, errmsg);
	if (rv != 0) {
		goto err;
	}
	rv = fab_hello_key_init(&f->key, o->cluster_id, o->self, o->secret,
				o->secret_len);
	if (rv != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "cluster secret must be %u..%u bytes",
			 FAB_HELLO_SECRET_MIN, FAB_HELLO_SECRET_MAX);
		goto err;
	}
	rv = fab_hello_random(&f->incarnation);
	if (rv != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "no entropy");
		goto err;
	}
	for (uint32_t i = 0; i < o->n_peers; i++) {
		if (o->peers[i].id == o->self) {
			self = &o->peers[i];
		}
		all_local &= fab__host_is_local(o->peers[i].host);
	}
	/* shm only: this incarnation's region name (fab_ep.h). */
	shm_epoch = fab__shm_epoch_next(self->host, self->port);
	rv = fab__prov_select(o->provider, all_local, o->rma, self->host,
			      self->port, shm_epoch, &info, &rma_on, errmsg);
	if (rv != 0) {
		goto err;
	}
	rv = fab__ep_open(&f->ep, info, rma_on, errmsg);
	if (rv != 0) {
		goto err;
	}
	if (f->ep.shm) {
		fab__shm_unlink_older(self->host, self->port, shm_epoch);
	}
	rv = rx_open(f, errmsg);
	if (rv == 0) {
		rv = peers_open(f, o, errmsg);
	}
	if (rv != 0) {
		goto err;
	}
	info_names(f);
	fr_log(FR_LOG_INFO, "fabric",
	       "provider %s fabric %s domain %s at %s:%u, rma %s, wait fd %s, "
	       "buffers %s%d%s%s",
	       f->stats.provider, f->stats.fabric, f->stats.domain, self->host,
	       (unsigned)self->port, f->ep.rma ? "on" : "off",
	       f->ep.wait_fd >= 0 ? "yes" : "no",
	       o->topo != NULL ? "on NUMA node " : "unplaced", f->stats.numa_os,
	       o->topo != NULL && !f->stats.mem_bound ? " NOT bound: " : "",
	       o->topo != NULL && !f->stats.mem_bound
		   ? strerror(f->stats.mem_errno)
		   : "");
	*out = f;
	return 0;
err:
	fab_close(f);
	return rv;
}

void fab_close(struct fab *f)
{
	if (f == NULL) {
		return;
	}
	/* Closing the endpoint first cancels every posted operation, so no
	 * buffer is freed under the provider. */
	if (f->ep.ep != NULL) {
		fi_close(&f->ep.ep->fid);
		f->ep.ep = NULL;
	}
	for (uint32_t i = 0; i < f->n_peers; i++) {
		fab__peer_close(f, &f->peers[i]);
	}
	if (f->rx_mr != NULL) {
		fi_close(&f->rx_mr->fid);
	}
	fab__ep_close(&f->ep);
	fab_hello_key_wipe(&f->key);
	fab__mem_free(f, f->rx_slab,
		      (size_t)FAB__RX_BUFS * f->opt.frame_bytes_max);
	fr_free(f->peers);
	fr_free(f->entries);
	fr_free(f);
}

int fab_send(struct fab *f, const struct raft_message *m)
{
	struct fab__peer *p = fab__peer_by_id(f, m->to);
	struct fab__op *op;
	size_t size;
	int rv;

	if (p == NULL || m->from != f->opt.self) {
		return FR_INVALID;
	}
	if (p->state != FAB__UP) {
		f->stats.send_noconn++;
		return FR_NOCONN;
	}
	size = fab_wire_encoded_size(m);
	if (size == 0) {
		return FR_INVALID;
	}
	if (size + FAB_AUTH_TRAILER_SIZE > f->opt.frame_bytes_max) {
		return FR_TOOBIG;
	}
	if (m->type == RAFT_MSG_APPEND && p->writer_ok) {
		rv = fab__rma_send(f, p, m, size);
		if (rv != FR_TOOBIG) {
			f->stats.send_again += rv == FR_AGAIN;
			return rv;
		}
	}
	op = fab__queue_reserve(p, (uint32_t)(size + FAB_AUTH_TRAILER_SIZE),
				f->opt.queue_max_msgs, f->opt.queue_max_bytes);
	if (op == NULL) {
		f->stats.send_again++;
		return FR_AGAIN;
	}
	/* Checked once, by fab_wire_encoded_size() above; the MAC, not a
	 * CRC, covers the payload. */
	fab_wire_encode_sized_mac(m, fab__op_buf(p, op), size);
	rv = fab_auth_frame_seal(&p->sess, fab__op_buf(p, op), size);
	if (rv != 0) {
		fab__queue_unreserve(p, op);
		return rv == FR_NOCONN ? FR_NOCONN : FR_TOOBIG;
	}
	op->frame_kind = m->type;
	f->stats.msg_sent++;
	f->stats.msg_sent_bytes += size + FAB_AUTH_TRAILER_SIZE;
	(void)fab__queue_flush(f, p);
	return 0;
}

/*
 * A frame counts as a peer's only when it carries a valid MAC under the
 * session key of that peer's connection (fab_auth.h).  The header's sender
 * field only says which session to check it against; the Raft message's
 * own `from` must then name the same peer.  (Source addresses are not used:
 * shm's FI_SOURCE answers proved unreliable across peer restarts here, and
 * the key binds a frame to its connection better than an address.)
 */
static void refuse_frame(struct fab *f, uint64_t *counter)
{
	f->stats.rejects_frame++;
	(*counter)++;
}

static void on_message(struct fab *f, const uint8_t *buf, size_t len)
{
	struct fab__peer *src;
	struct fab_wire_frame fr;
	struct fab_wire_frame in;
	struct raft_message m;
	int rv;

	if (fab_wire_parse(buf, len, &fr) != 0 || fr.frame_len != len) {
		f->stats.rejects_frame++;
		return;
	}
	f->stats.msg_recv++;
	f->stats.msg_recv_bytes += len;
	switch (fr.kind) {
	case FAB_WIRE_HELLO:
	case FAB_WIRE_HELLO_ACK:
	case FAB_WIRE_HELLO_CONFIRM:
	case FAB_WIRE_REJECT:
		fab__peer_hello_recv(f, &fr, buf, len);
		return;
	default:
		break;
	}
	if (!(fr.flags & FAB_WIRE_FLAG_AUTH)) {
		refuse_frame(f, &f->stats.rejects_mac); /* no MAC at all */
		return;
	}
	src = fab__peer_by_id(f, fr.sender);
	if (src == NULL || src->state != FAB__UP) {
		/* Not handshaken (yet): Raft will resend. */
		f->stats.dropped_noconn++;
		return;
	}
	rv = fab_auth_frame_open(&src->sess, &fr, &in);
	if (rv != 0) {
		refuse_frame(f, rv == FR_STALE ? &f->stats.rejects_replay
					       : &f->stats.rejects_mac);
		if (rv == FR_AUTH) {
			fab__peer_mac(src, false);
		}
		return;
	}
	fab__peer_mac(src, true);
	/* Authenticated: from here on the bytes are src's words. */
	if (in.kind == FAB_WIRE_CREDIT) {
		fab__rma_credit_recv(f, src, &in);
		return;
	}
	if (fab_wire_decode_frame(&in, &m, f->entries,
				  RAFT_MAX_BATCH_ENTRIES) != 0 ||
	    m.to != f->opt.self) {
		f->stats.rejects_frame++;
		return;
	}
	if (m.from != src->id) {
		refuse_frame(f, &f->stats.rejects_from);
		return;
	}
	f->cb(f->cb_ctx, &m);
	f->delivered++;
}

/*
 * The operation a completion's context names, or NULL when it names none
 * of ours that is in flight.  Contexts are checked, not trusted: shm 1.17
 * reports remote writes with the writer's stale command field as context
 * (a pointer in another process) and may report a completion twice.
 */
static struct fab__op *op_lookup(struct fab *f, void *ctx)
{
	uintptr_t a = (uintptr_t)ctx;
	size_t sz = sizeof(struct fab__op);
	struct fab__op *op = NULL;

	if (ctx == NULL) {
		return NULL;
	}
	if (a >= (uintptr_t)f->rx_ops &&
	    a < (uintptr_t)(f->rx_ops + FAB__RX_BUFS) &&
	    (a - (uintptr_t)f->rx_ops) % sz == 0) {
		op = ctx;
	}
	for (uint32_t i = 0; op == NULL && i < f->n_peers; i++) {
		struct fab__peer *p = &f->peers[i];
		uintptr_t base = (uintptr_t)p->ops;

		if (p->ops != NULL && a >= base &&
		    a < (uintptr_t)(p->ops + f->opt.queue_max_msgs) &&
		    (a - base) % sz == 0) {
			op = ctx;
		}
	}
	return op != NULL && op->state == FAB__OP_POSTED ? op : NULL;
}

static void on_error(struct fab *f)
{
	struct fi_cq_err_entry e = {0};
	struct fab__op *op;

	if (fi_cq_readerr(f->ep.cq, &e, 0) != 1) {
		return;
	}
	if (e.flags & FI_REMOTE_WRITE) {
		/* A remote write that failed here (e.g. into a revoked
		 * ring): its context is not ours. */
		f->stats.rejects_ring++;
		return;
	}
	op = op_lookup(f, e.op_context);
	if (op == NULL) {
		fr_log(FR_LOG_DEBUG, "fabric", "error for no op: %s flags %llx",
		       fi_strerror((int)e.err), (unsigned long long)e.flags);
		f->stats.rejects_ring++;
		return;
	}
	if (op->kind == FAB__OP_RECV) {
		f->stats.rejects_frame++; /* e.g. truncated: too large */
		fr_log(FR_LOG_DEBUG, "fabric", "receive failed: %s",
		       fi_strerror((int)e.err));
		if (e.err != FI_ECANCELED) {
			rx_done(f, op);
		}
		return;
	}
	fab__queue_complete(f, op, -(int)e.err);
}

static void on_completion(struct fab *f, const struct fi_cq_data_entry *c)
{
	struct fab__op *op;

	if (c->flags & FI_REMOTE_WRITE) {
		/* A remote write into one of our rings.  Its context is
		 * only ours when it consumed a receive (FI_RX_CQ_DATA):
		 * shm 1.17 hands back the writer's stale command field. */
		if (c->flags & FI_REMOTE_CQ_DATA) {
			fab__rma_recv(f, c->data);
		}
		op = op_lookup(f, c->op_context);
		if (op != NULL && op->kind == FAB__OP_RECV) {
			rx_done(f, op);
		}
		return;
	}
	op = op_lookup(f, c->op_context);
	if (op == NULL) {
		return; /* not an operation of ours in flight */
	}
	if (op->kind != FAB__OP_RECV) {
		/* Our own send or write (sockets marks its initiator's
		 * write completion with FI_REMOTE_CQ_DATA too: the context
		 * tells them apart). */
		fab__queue_complete(f, op, 0);
		return;
	}
	on_message(f, f->rx_slab + op->off, c->len);
	rx_done(f, op);
}

/*
 * shm (libfabric 1.17) crashed here in fi_cq_read when a peer not yet in
 * our AV sent to us, and returned one fi_addr for two peers whose regions
 * did not exist or were not initialised at insertion.  So with shm nothing
 * is read or sent until every configured peer's region exists and is
 * initialised; then all are inserted at once.
 * Returns true when the endpoint may be used.
 */
static bool shm_gate(struct fab *f)
{
	char err[FR_ERRMSG_SIZE];

	if (!f->ep.shm || f->shm_ready) {
		return true;
	}
	for (uint32_t i = 0; i < f->n_peers; i++) {
		if (!fab__ep_shm_find(&f->ep, f->peers[i].host,
				      f->peers[i].port, 100,
				      &f->peers[i].shm_epoch)) {
			return false;
		}
	}
	for (uint32_t i = 0; i < f->n_peers; i++) {
		struct fab__peer *p = &f->peers[i];
		struct fab__peer *other;

		if (fab__ep_av_insert(&f->ep, p->host, p->port, p->shm_epoch,
				      &p->addr, err) != 0) {
			fr_log(FR_LOG_ERROR, "fabric", "peer %u: %s", p->id,
			       err);
			p->addr = FI_ADDR_NOTAVAIL;
		}
		/* Never send one peer's frames to another (see
		 * fab__shm_region_ready()): such a peer stays unreachable,
		 * logged, until its region has a new epoch (readdr_shm()). */
		other = p->addr != FI_ADDR_NOTAVAIL
			    ? fab__peer_addr_owner(f, p, p->addr)
			    : NULL;
		if (other != NULL) {
			fr_log(FR_LOG_ERROR, "fabric",
			       "peer %u: provider gave the address of peer %u",
			       p->id, other->id);
			p->addr = FI_ADDR_NOTAVAIL;
		}
	}
	f->shm_ready = true;
	fr_log(FR_LOG_INFO, "fabric", "shm: all %u peers present", f->n_peers);
	return true;
}

int fab_poll(struct fab *f, fab_recv_cb cb, void *ctx)
{
	struct fi_cq_data_entry comp[16];
	uint64_t now;
	int budget = POLL_BUDGET;

	assert(cb != NULL && f->cb == NULL); /* not re-entrant */
	if (!shm_gate(f)) {
		return 0;
	}
	f->cb = cb;
	f->cb_ctx = ctx;
	f->delivered = 0;
	if (f->rx_unposted > 0) {
		rx_repost(f);
	}
	while (budget > 0) {
		ssize_t n = fi_cq_read(f->ep.cq, comp, 16);

		if (n == -FI_EAGAIN) {
			break;
		}
		if (n == -FI_EAVAIL) {
			on_error(f);
			f->stats.completions++;
			budget--;
			continue;
		}
		if (n < 0) {
			fab__errmsg(f->errmsg, "fi_cq_read", (int)n);
			fr_log(FR_LOG_ERROR, "fabric", "%s", f->errmsg);
			return -FR_FABRIC;
		}
		for (ssize_t i = 0; i < n; i++) {
			on_completion(f, &comp[i]);
		}
		f->stats.completions += (uint64_t)n;
		budget -= (int)n;
		if (n < 16) {
			/* Drained when read: another read would only run
			 * the provider's progress again (on tcp a syscall)
			 * to find nothing; the next fab_poll() does that. */
			break;
		}
	}
	/* The clock is read only when a peer has a timer running (handshake,
	 * backoff, pending accept): a steady UP link ticks without it, and
	 * clock_gettime was a visible share of a busy-polled round trip. */
	now = 0;
	for (uint32_t i = 0; i < f->n_peers && now == 0; i++) {
		if (fab__peer_needs_clock(&f->peers[i])) {
			now = fab__now_ms();
		}
	}
	for (uint32_t i = 0; i < f->n_peers; i++) {
		fab__peer_tick(f, &f->peers[i], now);
	}
	f->cb = NULL;
	f->cb_ctx = NULL;
	return f->delivered;
}

int fab_wait_fd(struct fab *f)
{
	return f->ep.wait_fd;
}

int fab_trywait(struct fab *f)
{
	struct fid *fids[1] = {&f->ep.cq->fid};

	if (f->ep.wait_fd < 0) {
		return FR_AGAIN;
	}
	if (f->rx_unposted > 0) {
		rx_repost(f); /* not asleep with buffers held back */
		if (f->rx_unposted > 0) {
			return FR_AGAIN;
		}
	}
	return fi_trywait(f->ep.fabric, fids, 1) == 0 ? 0 : FR_AGAIN;
}

void fab_term_set(struct fab *f, raft_term term)
{
	if (term <= f->term) {
		return;
	}
	f->term = term;
	for (uint32_t i = 0; i < f->n_peers; i++) {
		struct fab__peer *p = &f->peers[i];

		if (!f->ep.rma) {
			continue;
		}
		if (p->ring_written && p->state == FAB__UP) {
			fab__rma_revoke(f, p, "ring revoked for a new term");
		}
	}
}

bool fab_peer_up(const struct fab *f, raft_id peer)
{
	for (uint32_t i = 0; i < f->n_peers; i++) {
		if (f->peers[i].id == peer) {
			return f->peers[i].state == FAB__UP;
		}
	}
	return false;
}

uint64_t fab_completions(const struct fab *f)
{
	return f->stats.completions;
}

void fab_info_get(const struct fab *f, struct fab_info *out)
{
	*out = f->stats;
	out->peers_up = 0;
	out->ops_in_flight = 0;
	out->ops_queued = 0;
	for (uint32_t i = 0; i < f->n_peers; i++) {
		const struct fab__peer *p = &f->peers[i];

		out->peers_up += p->state == FAB__UP;
		out->ops_in_flight += p->op_post - p->op_tail;
		out->ops_queued += p->op_head - p->op_post;
	}
}

int fab_test_send_raw(struct fab *f, raft_id peer, const void *buf, size_t len)
{
	struct fab__peer *p = fab__peer_by_id(f, peer);
	struct fab__op *op;

	if (p == NULL || len == 0 || len > f->opt.frame_bytes_max) {
		return FR_INVALID;
	}
	if (p->addr == FI_ADDR_NOTAVAIL) {
		return FR_NOCONN;
	}
	op = fab__queue_reserve(p, (uint32_t)len, f->opt.queue_max_msgs,
				f->opt.queue_max_bytes);
	if (op == NULL) {
		return FR_AGAIN;
	}
	memcpy(fab__op_buf(p, op), buf, len);
	/* Not a HELLO: a failed send is not taken for a failed handshake. */
	op->frame_kind = FAB_WIRE_REJECT;
	(void)fab__queue_flush(f, p);
	return 0;
}

void fab_test_hold_confirm(struct fab *f, raft_id peer, bool hold)
{
	struct fab__peer *p = fab__peer_by_id(f, peer);

	if (p == NULL) {
		return;
	}
	p->hold_confirm = hold;
	if (!hold && p->held_len > 0) {
		(void)fab__queue_frame(f, p, p->held, p->held_len,
				       FAB_WIRE_HELLO_CONFIRM);
		p->held_len = 0;
	}
}

void fab_test_corrupt_next(struct fab *f, raft_id peer)
{
	struct fab__peer *p = fab__peer_by_id(f, peer);

	if (p != NULL) {
		p->corrupt_next = true;
	}
}
