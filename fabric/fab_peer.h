/* fab_peer.h — private: struct fab, per-peer state, queues and rings. */
#ifndef FABRAFT_FAB_PEER_H
#define FABRAFT_FAB_PEER_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "fab.h"
#include "fab_auth.h"
#include "fab_ep.h"
#include "fab_hello.h"
#include "fab_ring.h"
#include "fab_wire.h"
#include "trace.h"

/*
 * Design notes (fab_peer.c, fab_rma.c, fab.c)
 * ===========================================
 * Send queue of a peer: one registered byte arena (queue_max_bytes) used
 * as a circle, and a FIFO of op descriptors (queue_max_msgs).  fab_send()
 * encodes straight into the arena (no copy later, no allocation) and the op
 * is posted in FIFO order; -FI_EAGAIN leaves it queued for fab_poll().
 * Space is released in FIFO order as completions arrive (out-of-order
 * completions wait for older ones).
 *
 * Receive ring of a peer (RMA on): ring_bytes registered with
 * FI_REMOTE_WRITE.  Its generation is (epoch << 5) | peer slot, so the low
 * bits of the remote CQ data's generation byte name the ring a write went
 * to (remote-write completions carry no context and, on some providers, no
 * source address).  The epoch grows on every handshake and revocation.
 *
 * Handshake (fab_hello.h): a DOWN peer is sent a HELLO (with backoff).  When
 * both sides send HELLO at once, the lower node id stays initiator and the
 * higher one answers.  UP on the initiator when a valid ACK arrives, on the
 * acceptor when the CONFIRM arrives; each end then installs the session
 * keys (fab_auth.h) that every later frame and ring record must carry.
 * A valid HELLO while UP -- a restarted peer (new incarnation), a
 * re-announcement (ring revoked, lost CONFIRM), a late copy, or a recorded
 * HELLO replayed by someone on the path: its MAC is as valid as ever -- is
 * answered, but the link stays UP on the old session until the CONFIRM
 * (which only the holder of the secret who saw our fresh ACK nonce can
 * send) proves it current.  A repeat of the HELLO last answered gets the
 * same ACK again, without a new address or nonce.
 */

#define FAB__RX_BUFS	    16u	  /* receive buffers posted */
#define FAB__SLOT_BITS	    5u	  /* peer slot in a ring generation */
#define FAB__BACKOFF_MIN_MS 5u	  /* first HELLO retry */
#define FAB__BACKOFF_MAX_MS 500u  /* retry ceiling */
#define FAB__KEYS_LOST_MS   1000u /* MAC failures only, this long: restart */
#define FAB__EARLY_MAX	    64u	  /* ring records held for a CONFIRM */

static_assert((1u << FAB__SLOT_BITS) >= RAFT_MAX_SERVERS,
	      "ring generation must name every peer slot");

enum fab__op_kind {
	FAB__OP_SEND = 1, /* fi_send of a frame from the arena */
	FAB__OP_WRITE,	  /* fi_writedata of a ring record */
	FAB__OP_RECV,	  /* posted receive buffer */
};

enum fab__op_state {
	FAB__OP_FREE = 0,
	FAB__OP_QUEUED, /* in the arena, not posted yet */
	FAB__OP_POSTED, /* handed to libfabric, completion pending */
	FAB__OP_DONE,	/* completed, waiting for older ops to release */
};

struct fab__peer;

/* One send (queued or in flight) or one posted receive buffer.  The
 * libfabric context must come first: completions hand it back. */
struct fab__op {
	struct fi_context2 ctx; /* libfabric's per-operation scratch */
	uint8_t kind;		/* enum fab__op_kind */
	uint8_t state;		/* enum fab__op_state */
	uint8_t frame_kind;	/* enum fab_wire_kind (sends) */
	struct fab__peer *peer; /* owner (sends); NULL for receives */
	uint64_t start;		/* arena position incl. wrap skip */
	uint64_t end;		/* arena position after the op */
	uint32_t off;		/* arena (or rx slab) byte offset */
	uint32_t len;		/* bytes to send / buffer size */
	uint64_t remote_addr;	/* WRITE: target address */
	uint64_t remote_key;	/* WRITE: target key */
	uint64_t cq_data;	/* WRITE: remote CQ data */
	uint32_t generation;	/* WRITE: ring generation written to */
};

enum fab__peer_state {
	FAB__DOWN = 0,	 /* nothing in progress; HELLO when backoff expires */
	FAB__HELLO_SENT, /* initiator: waiting for ACK */
	FAB__ACCEPTING,	 /* acceptor: ACK sent, waiting for CONFIRM */
	FAB__UP,	 /* handshaken */
};

struct fab__peer {
	raft_id id;			/* node id */
	uint32_t slot;			/* index in fab.peers */
	char host[64];			/* from the options */
	uint16_t port;			/* from the options */
	fi_addr_t addr;			/* AV entry */
	uint64_t shm_epoch;		/* shm: epoch of the region in addr */
	uint8_t state;			/* enum fab__peer_state */
	bool ever_up;			/* counts reconnects after the first */
	uint64_t incarnation;		/* peer's, from its last handshake */
	uint64_t nonce;			/* ours: HELLO (initiator) or ACK */
	uint64_t peer_nonce;		/* theirs, of the HELLO last answered */
	uint64_t peer_inc;		/* theirs, of the HELLO last answered */
	struct fab_auth_session sess;	/* keys of the current connection */
	bool accept_pending;		/* UP, but ACKed a new HELLO: switch
					   over when its CONFIRM arrives */
	struct fab_ring_desc peer_ring; /* theirs, pending or in use */
	bool peer_has_ring;		/* peer_ring valid */
	struct fab_ring_desc pending_ring; /* from the CONFIRM */
	bool pending_has_ring;		   /* the HELLO said: RMA */
	uint64_t pending_until_ms;	   /* accept_pending expires */
	uint64_t up_ms;			   /* when it last came UP */
	uint64_t next_try_ms;		   /* DOWN/HELLO_SENT: next HELLO */
	uint32_t backoff_ms;		   /* current retry interval */
	uint64_t last_hello_ms;		   /* last HELLO sent (rate limit) */
	uint32_t attempts;		   /* handshakes started */
	/* send queue */
	uint8_t *arena;		   /* owned, queue_max_bytes */
	struct fid_mr *arena_mr;   /* owned */
	void *arena_desc;	   /* fi_mr_desc of arena_mr */
	uint64_t head;		   /* arena position of the next op */
	uint64_t tail;		   /* arena position of the oldest op */
	uint64_t no_rewind_below;  /* keep going round until head gets here */
	uint64_t full_since_ms;	   /* queue full since (0: it is not) */
	uint64_t bad_mac_since_ms; /* frames or records naming this peer
				      fail their MAC since (0: the last
				      one verified) */
	bool keep_addr;		   /* next hello_start(): no readdr() */
	bool writer_paused;	   /* writer_ok cleared by accept_pending */
	struct fab__op *ops;	   /* owned, queue_max_msgs, FIFO circle */
	uint32_t op_head;	   /* next free op index (cumulative) */
	uint32_t op_post;	   /* next op to post (cumulative) */
	uint32_t op_tail;	   /* oldest op not released (cumulative) */
	/* RMA: writing into the peer's ring */
	bool writer_ok;		       /* writer holds a valid descriptor */
	struct fab_ring_writer writer; /* our position and credit there */
	bool corrupt_next;	       /* test hook */
	bool hold_confirm;	       /* test hook: keep our next CONFIRM */
	uint16_t held_len;	       /* bytes in held (0: none) */
	uint8_t held[FAB_HELLO_FRAME_MAX]; /* the CONFIRM kept back */
	/* RMA: the peer writes into our ring */
	uint8_t *ring;		       /* owned, ring_bytes */
	struct fid_mr *ring_mr;	       /* owned */
	uint32_t epoch;		       /* generation = epoch << 5 | slot */
	bool ring_written;	       /* a record arrived since registration */
	bool ring_exposed;	       /* the peer may write with our current
					  descriptor: sent in an ACK, or in a
					  HELLO that we then confirmed */
	struct fab_ring_reader reader; /* head, generation, term checks */
	uint64_t early[FAB__EARLY_MAX]; /* CQ data of records written to the
					   ring our pending ACK announced,
					   before its CONFIRM (fab_rma.c) */
	uint32_t n_early;		/* entries in early */
	uint64_t credited;		/* last consumed position sent back */
	bool credit_due;		/* send a credit at the next chance */
};

struct fab {
	struct fab__ep ep;	  /* endpoint, AV, CQ */
	struct fab_options opt;	  /* copy; pointers cleared */
	struct fab_hello_key key; /* identity and secret */
	uint64_t incarnation;	  /* ours, random per open */
	raft_term term;		  /* current term told by fab_term_set */
	struct fab__peer *peers;  /* owned, n_peers - 1 (self excluded) */
	uint32_t n_peers;	  /* remote peers */
	uint8_t *rx_slab;	  /* owned, FAB__RX_BUFS * frame max */
	struct fid_mr *rx_mr;	  /* owned */
	struct fab__op rx_ops[FAB__RX_BUFS]; /* posted receives */
	uint32_t rx_unposted; /* rx_ops handled, not re-posted yet (FREE) */
	bool rx_post_failing; /* the last re-post failed (logged once) */
	struct raft_entry *entries;  /* owned, RAFT_MAX_BATCH_ENTRIES */
	struct fab_info stats;	     /* counters and names */
	fab_recv_cb cb;		     /* during fab_poll() only */
	void *cb_ctx;		     /* during fab_poll() only */
	int delivered;		     /* during fab_poll() only */
	bool shm_ready;		     /* shm: every peer inserted */
	char errmsg[FR_ERRMSG_SIZE]; /* last error, for logs */
};

/* fab.c */
/** Zeroed buffer of @len bytes, NUMA-bound when options name a topology;
 * NULL when out of memory.  Free with fab__mem_free(). */
void *fab__mem_alloc(struct fab *f, size_t len);
void fab__mem_free(struct fab *f, void *ptr, size_t len);
uint64_t fab__now_ms(void);
struct fab__peer *fab__peer_by_id(struct fab *f, raft_id id);

/* fab_peer.c: queue */
int fab__peer_open(struct fab *f, struct fab__peer *p, char *errmsg);
void fab__peer_close(struct fab *f, struct fab__peer *p);
/** Reserve @len arena bytes for a new op; NULL when the queue is full. */
struct fab__op *fab__queue_reserve(struct fab__peer *p, uint32_t len,
				   uint32_t msgs_max, uint32_t bytes_max);
/** Undo the latest fab__queue_reserve() (nothing posted yet). */
void fab__queue_unreserve(struct fab__peer *p, struct fab__op *op);
static inline uint8_t *fab__op_buf(struct fab__peer *p, struct fab__op *op)
{
	return p->arena + op->off;
}
/** Post queued ops in FIFO order until the provider says EAGAIN. */
int fab__queue_flush(struct fab *f, struct fab__peer *p);
/** A send/write completed (@err: 0 or a -FI_E* code). */
void fab__queue_complete(struct fab *f, struct fab__op *op, int err);
/** Queue one control frame already encoded in @buf; a CREDIT is
 * authenticated with @p's session on the way (the others are handshake
 * frames, authenticated by themselves). */
int fab__queue_frame(struct fab *f, struct fab__peer *p, const void *buf,
		     size_t len, unsigned kind);

/* fab_peer.c: handshake */
/* True when fab__peer_tick() needs the time for @p (a timer runs). */
bool fab__peer_needs_clock(const struct fab__peer *p);
/* @now_ms may be 0 when fab__peer_needs_clock() said false. */
void fab__peer_tick(struct fab *f, struct fab__peer *p, uint64_t now_ms);
void fab__peer_down(struct fab *f, struct fab__peer *p, const char *why);
/** A frame or ring record naming @p failed its MAC (@ok false) or one
 * verified (@ok true): an UP link whose frames fail for FAB__KEYS_LOST_MS
 * while none verifies has lost its keys and is restarted. */
void fab__peer_mac(struct fab__peer *p, bool ok);
/** The other peer (if any) already using AV entry @addr. */
struct fab__peer *fab__peer_addr_owner(struct fab *f, const struct fab__peer *p,
				       fi_addr_t addr);
/** Handle a handshake frame (HELLO, ACK, CONFIRM, REJECT). */
void fab__peer_hello_recv(struct fab *f, const struct fab_wire_frame *fr,
			  const void *buf, size_t len);

/* fab_rma.c */
int fab__rma_open(struct fab *f, struct fab__peer *p, char *errmsg);
void fab__rma_close(struct fab *f, struct fab__peer *p);
/** New epoch for @p's receive ring; @revoke also re-registers the MR. */
int fab__rma_renew(struct fab *f, struct fab__peer *p, bool revoke);
/** Revoke @p's receive ring (new key and generation) and take the peer
 * down so that a new handshake announces it at once; @why is logged. */
void fab__rma_revoke(struct fab *f, struct fab__peer *p, const char *why);
void fab__rma_desc(const struct fab__peer *p, struct fab_ring_desc *d);
/** The descriptor the next fab__rma_renew(.., false) will produce. */
void fab__rma_desc_next(const struct fab__peer *p, struct fab_ring_desc *d);
/** Queue @m (an APPEND) as a ring record.  FR_TOOBIG: use messages. */
int fab__rma_send(struct fab *f, struct fab__peer *p,
		  const struct raft_message *m, size_t frame_len);
/** A remote write with @cq_data landed. */
void fab__rma_recv(struct fab *f, uint64_t cq_data);
/** @p's CONFIRM was accepted: read the records held back for it. */
void fab__rma_early_replay(struct fab *f, struct fab__peer *p);
/** Forget the records held back for a CONFIRM that will not come (a new
 * handshake, or the peer is down). */
void fab__rma_early_drop(struct fab *f, struct fab__peer *p);
/** A CREDIT frame @fr, authenticated as coming from @p. */
void fab__rma_credit_recv(struct fab *f, struct fab__peer *p,
			  const struct fab_wire_frame *fr);
/** Send credit where it is due. */
void fab__rma_credit_flush(struct fab *f, struct fab__peer *p);

#endif /* FABRAFT_FAB_PEER_H */
