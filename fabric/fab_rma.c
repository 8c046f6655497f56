/* fab_rma.c — AppendEntries by fi_writedata into the follower's ring. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <rdma/fi_domain.h>

#include "fab_peer.h"
#include "heap.h"

/*
 * Records are at most a quarter of the ring (larger APPENDs go as
 * messages) and the reader returns credit once a quarter of the ring has
 * been consumed.  Together these cannot deadlock: a writer that cannot
 * reserve r + skip <= ring/2 bytes has more than ring/2 bytes unconsumed or
 * uncredited, so once the reader has caught up it owes at least a quarter
 * and sends it.
 */

/* Stale writes are expected only around a handshake (writes in flight for
 * the generation it replaced); later ones mean the ends disagree. */
#define STALE_GRACE_MS 1000u

#define EPOCH_MASK ((1u << (32 - FAB__SLOT_BITS)) - 1)

/* The epoch after @epoch (never 0, which no ring uses after its first
 * handshake). */
static uint32_t epoch_next(uint32_t epoch)
{
	epoch = (epoch + 1) & EPOCH_MASK;
	return epoch == 0 ? 1 : epoch;
}

/* @p's ring generation with @epoch. */
static uint32_t generation_at(const struct fab__peer *p, uint32_t epoch)
{
	return (epoch << FAB__SLOT_BITS) | p->slot;
}

static uint32_t generation(const struct fab__peer *p)
{
	return generation_at(p, p->epoch);
}

static int ring_register(struct fab *f, struct fab__peer *p, char *errmsg)
{
	return fab__ep_mr_reg(&f->ep, p->ring, f->opt.ring_bytes,
			      FI_REMOTE_WRITE, &p->ring_mr, errmsg);
}

int fab__rma_open(struct fab *f, struct fab__peer *p, char *errmsg)
{
	uint64_t r64;
	int rv;

	p->ring = fab__mem_alloc(f, f->opt.ring_bytes);
	if (p->ring == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "ring of peer %u: %s", p->id,
			 fr_strerror(FR_NOMEM));
		return FR_NOMEM;
	}
	rv = ring_register(f, p, errmsg);
	if (rv != 0) {
		return rv;
	}
	/* A random first epoch: generations then differ between this
	 * process and its previous incarnation, so the leader files its
	 * failed writes to the old ring as stale instead of as a broken
	 * connection. */
	if (fab_hello_random(&r64) != 0) {
		r64 = 0;
	}
	p->epoch = (uint32_t)r64 & EPOCH_MASK;
	rv = fab_ring_reader_init(&p->reader, f->opt.ring_bytes, generation(p));
	assert(rv == 0);
	/* Every record must carry the MAC of this peer's session. */
	p->reader.verify = fab_auth_ring_verify;
	p->reader.verify_ctx = &p->sess;
	return 0;
}

void fab__rma_close(struct fab *f, struct fab__peer *p)
{
	if (p->ring_mr != NULL) {
		fi_close(&p->ring_mr->fid);
		p->ring_mr = NULL;
	}
	fab__mem_free(f, p->ring, f->opt.ring_bytes);
	p->ring = NULL;
}

int fab__rma_renew(struct fab *f, struct fab__peer *p, bool revoke)
{
	if (revoke) {
		/* Closing the region invalidates its key at once: writes by
		 * the old leader now fail at the target instead of landing. */
		fi_close(&p->ring_mr->fid);
		p->ring_mr = NULL;
		if (ring_register(f, p, f->errmsg) != 0) {
			fr_log(FR_LOG_ERROR, "fabric",
			       "re-register ring of %u: %s", p->id, f->errmsg);
			return FR_FABRIC;
		}
		f->stats.ring_revokes++;
	}
	p->epoch = epoch_next(p->epoch);
	fab_ring_reader_reset(&p->reader, generation(p));
	p->credited = 0;
	p->ring_written = false;
	p->ring_exposed = false;
	return 0;
}

void fab__rma_revoke(struct fab *f, struct fab__peer *p, const char *why)
{
	if (fab__rma_renew(f, p, true) == 0) {
		fab__peer_down(f, p, why);
		p->next_try_ms = 0; /* announce the new ring at once */
	}
}

void fab__rma_desc(const struct fab__peer *p, struct fab_ring_desc *d)
{
	d->addr = (uintptr_t)p->ring;
	d->key = fi_mr_key(p->ring_mr);
	d->size = p->reader.size;
	d->generation = p->reader.generation;
}

void fab__rma_desc_next(const struct fab__peer *p, struct fab_ring_desc *d)
{
	fab__rma_desc(p, d);
	d->generation = generation_at(p, epoch_next(p->epoch));
}

int fab__rma_send(struct fab *f, struct fab__peer *p,
		  const struct raft_message *m, size_t frame_len)
{
	uint64_t rec = fab_ring_record_size((uint32_t)frame_len);
	struct fab_ring_slot slot;
	struct fab__op *op;
	uint8_t *buf;
	int rv;

	if (rec == 0 || rec > p->writer.size / 4) {
		return FR_TOOBIG;
	}
	op = fab__queue_reserve(p, (uint32_t)rec, f->opt.queue_max_msgs,
				f->opt.queue_max_bytes);
	if (op == NULL) {
		return FR_AGAIN;
	}
	rv = fab_ring_writer_reserve(&p->writer, (uint32_t)frame_len, &slot);
	if (rv != 0) {
		assert(rv == FR_AGAIN);
		fab__queue_unreserve(p, op);
		return FR_AGAIN;
	}
	buf = fab__op_buf(p, op);
	/* @frame_len is fab_wire_encoded_size(m): @m was checked there.  No
	 * payload CRC: the record's tag covers the payload. */
	fab_wire_encode_sized_mac(m, buf + FAB_RING_HDR_SIZE, frame_len);
	fab_ring_record_seal(buf, &slot, m->term, p->writer.generation);
	rv = fab_auth_ring_seal(&p->sess, buf, slot.rec_size,
				p->writer.generation, slot.pos);
	assert(rv == 0); /* UP (writer_ok) implies a session */
	if (p->corrupt_next) {
		p->corrupt_next = false;
		buf[FAB_RING_HDR_SIZE + frame_len / 2] ^= 0x5a;
	}
	op->kind = FAB__OP_WRITE;
	op->frame_kind = FAB_WIRE_APPEND;
	op->len = slot.rec_size;
	op->remote_addr = ((f->ep.info->domain_attr->mr_mode & FI_MR_VIRT_ADDR)
			       ? p->peer_ring.addr
			       : 0) +
			  slot.offset;
	op->remote_key = p->peer_ring.key;
	op->cq_data = slot.cq_data;
	op->generation = p->writer.generation;
	f->stats.rma_sent++;
	f->stats.rma_sent_bytes += slot.rec_size;
	(void)fab__queue_flush(f, p);
	return 0;
}

static struct fab__peer *peer_by_slot(struct fab *f, uint32_t slot)
{
	for (uint32_t i = 0; i < f->n_peers; i++) {
		if (f->peers[i].slot == slot) {
			return &f->peers[i];
		}
	}
	return NULL;
}

static void deliver(struct fab *f, struct fab__peer *p,
		    const struct fab_ring_rec *rec)
{
	struct fab_wire_frame fr;
	struct raft_message m;

	/* The record's tag verified every byte (fab_ring_reader_next()
	 * with the session's verify): only the framing is checked here. */
	if (fab_wire_parse_trusted(rec->payload, rec->len, &fr) != 0 ||
	    fr.frame_len != rec->len || fr.kind != FAB_WIRE_APPEND ||
	    fab_wire_decode_frame(&fr, &m, f->entries,
				  RAFT_MAX_BATCH_ENTRIES) != 0 ||
	    m.to != f->opt.self || m.term != rec->term) {
		f->stats.rejects_ring++;
		return;
	}
	if (m.from != p->id) {
		/* Authenticated by p's key, yet naming someone else. */
		f->stats.rejects_ring++;
		f->stats.rejects_frame++;
		f->stats.rejects_from++;
		return;
	}
	if (p->state != FAB__UP) {
		f->stats.rejects_ring++;
		return;
	}
	f->stats.rma_recv++;
	f->stats.rma_recv_bytes += rec->len;
	f->cb(f->cb_ctx, &m);
	f->delivered++;
}

/*
 * The initiator goes UP on our ACK and may write to the ring it announced
 * at once, but its CONFIRM is a message, and rxm does not order a send
 * before a later write: that write's completion can be read here first.
 * Seen in CI under ThreadSanitizer: the record failed its MAC (no session
 * keys before the CONFIRM) and was lost, 299 of 300 APPENDs delivered.
 * Records for the ring a pending ACK announced wait for its CONFIRM; the
 * writer cannot reuse their bytes meanwhile (no credit returned).
 */
static bool before_confirm(const struct fab__peer *p, uint8_t gen_low)
{
	if (p->state == FAB__ACCEPTING) {
		return gen_low == (uint8_t)generation(p);
	}
	if (p->state != FAB__UP || !p->accept_pending) {
		return false;
	}
	/* A live link re-handshaking: its ACK named the next generation
	 * (fab__rma_desc_next()); the current one is read as usual. */
	return gen_low == (uint8_t)generation_at(p, epoch_next(p->epoch));
}

/* Hold @cq_data for the CONFIRM if it comes before it; true when it did
 * (held, or dropped when too many are held: Raft sends it again). */
static bool held_early(struct fab *f, struct fab__peer *p, uint64_t cq_data,
		       uint8_t gen_low)
{
	if (!before_confirm(p, gen_low)) {
		return false;
	}
	if (p->n_early == FAB__EARLY_MAX) {
		f->stats.rejects_ring++;
		return true;
	}
	p->early[p->n_early++] = cq_data;
	f->stats.ring_early++;
	return true;
}

void fab__rma_early_replay(struct fab *f, struct fab__peer *p)
{
	uint32_t n = p->n_early;

	p->n_early = 0;
	for (uint32_t i = 0; i < n; i++) {
		fab__rma_recv(f, p->early[i]);
	}
}

void fab__rma_early_drop(struct fab *f, struct fab__peer *p)
{
	f->stats.rejects_ring += p->n_early;
	p->n_early = 0;
}

void fab__rma_recv(struct fab *f, uint64_t cq_data)
{
	struct fab_ring_rec rec;
	struct fab__peer *p;
	uint32_t off;
	uint32_t size;
	uint8_t gen_low;
	int rv;

	fab_ring_cq_unpack(cq_data, &off, &size, &gen_low);
	p = peer_by_slot(f, gen_low & ((1u << FAB__SLOT_BITS) - 1));
	if (p == NULL || p->ring == NULL) {
		f->stats.rejects_ring++;
		return;
	}
	if (held_early(f, p, cq_data, gen_low)) {
		return;
	}
	p->ring_written = true;
	rv = fab_ring_reader_next(&p->reader, p->ring, cq_data, &rec);
	switch (rv) {
	case 0:
		fab__peer_mac(p, true);
		deliver(f, p, &rec);
		break;
	case FR_STALE:
		f->stats.rejects_stale++;
		if (p->state == FAB__UP && !p->accept_pending &&
		    fab__now_ms() - p->up_ms > STALE_GRACE_MS) {
			/* Writes for an old generation this long after the
			 * handshake: the peer writes with a descriptor we no
			 * longer read (a handshake one side gave up on).
			 * Nothing of ours would tell it; start over. */
			fr_log(FR_LOG_WARN, "fabric",
			       "peer %u writes to an old ring generation; "
			       "revoking and reconnecting",
			       p->id);
			fab__rma_revoke(f, p, "stale ring writes");
			return;
		}
		break;
	case FR_AUTH:
		/* Forged, or written with another session's key. */
		f->stats.rejects_ring++;
		f->stats.rejects_mac++;
		fab__peer_mac(p, false);
		fr_log(FR_LOG_WARN, "fabric",
		       "ring record from peer %u fails its MAC", p->id);
		break;
	case FR_CORRUPT:
		f->stats.rejects_ring++;
		fr_log(FR_LOG_WARN, "fabric",
		       "corrupt ring record from peer %u", p->id);
		break;
	default:
		/* Out of step with the writer: revoke, start a new
		 * generation and tell the peer through a new handshake. */
		assert(rv == FR_MALFORMED);
		f->stats.rejects_ring++;
		fr_log(FR_LOG_WARN, "fabric",
		       "ring write from peer %u out of step; revoking", p->id);
		fab__rma_revoke(f, p, "ring out of step");
		return;
	}
	if (p->reader.head - p->credited >= p->reader.size / 4) {
		p->credit_due = true;
	}
}

void fab__rma_credit_flush(struct fab *f, struct fab__peer *p)
{
	struct fab_wire_credit c;
	uint8_t buf[FAB_WIRE_CREDIT_SIZE];
	size_t len;
	int rv;

	if (!p->credit_due) {
		return;
	}
	c = (struct fab_wire_credit){
	    .from = f->opt.self,
	    .generation = p->reader.generation,
	    .consumed = fab_ring_reader_credit(&p->reader),
	};
	rv = fab_wire_credit_encode(&c, buf, sizeof(buf), &len);
	assert(rv == 0);
	if (fab__queue_frame(f, p, buf, len, FAB_WIRE_CREDIT) == 0) {
		p->credited = c.consumed;
		p->credit_due = false;
		f->stats.credits_sent++;
	}
}

void fab__rma_credit_recv(struct fab *f, struct fab__peer *p,
			  const struct fab_wire_frame *fr)
{
	struct fab_wire_credit c;

	if (fab_wire_credit_decode(fr, &c) != 0) {
		f->stats.rejects_frame++;
		return;
	}
	if (c.from != p->id) {
		f->stats.rejects_frame++;
		f->stats.rejects_from++;
		return;
	}
	if (!(p->writer_ok || p->writer_paused) ||
	    c.generation != p->writer.generation) {
		return; /* for a ring we no longer write to */
	}
	/* (A paused writer still takes credit: if the pause ends without a
	 * new ring, the credit sent meanwhile would otherwise be lost and
	 * the writer stuck waiting for it.) */
	if (fab_ring_writer_credit(&p->writer, c.consumed) == FR_INVALID) {
		f->stats.rejects_frame++;
	}
}
