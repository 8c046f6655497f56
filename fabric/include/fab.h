/* fab.h — the fabric transport: Raft messages over libfabric (public API). */
#ifndef FABRAFT_FAB_H
#define FABRAFT_FAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "raft.h"

/*
 * Design notes
 * ============
 * One RDM endpoint per node and one address-vector entry per peer: that is
 * "one endpoint per peer" logically (docs/transport.md).  Everything is
 * driven from the caller's thread by fab_poll(); there is no internal thread
 * and no call may be made concurrently on the same struct fab.
 * Peer state changes and refusals are logged with fr_log() (trace.h, tag
 * "fabric"); set FR_LOG_DEBUG for per-message detail.
 *
 * Per peer, a small state machine (fab_peer.c):
 *
 *     DOWN --send HELLO--> HELLO_SENT --valid HELLO that acks ours--> UP
 *       ^                      |                                      |
 *       +---- backoff expires -+      peer restarted (new incarnation)
 *       +------------------------------ or send error ----------------+
 *
 * Invariants:
 *  1. A frame is delivered to the callback only from a peer in state UP,
 *     whose HELLO carried this cluster id, its configured node id, our
 *     protocol version and a valid HMAC over the shared secret; and only
 *     if it carries a valid MAC under that connection's session key, a
 *     sequence number not seen before, and the peer's id as its sender
 *     (docs/protocol.md "Trust boundary").
 *  2. Each peer's outgoing queue holds at most queue_max_msgs frames and
 *     queue_max_bytes bytes; fab_send() returns FR_AGAIN beyond that and
 *     never allocates.
 *  3. With RMA on, a follower delivers a ring record only after checking
 *     its MAC (for the ring's generation and the expected position),
 *     header, checksum, ring generation and that the frame's term is
 *     the record's (an older term than ours is delivered: Raft refuses it
 *     and answers); the leader never writes over bytes the follower has
 *     not credited back.
 */

/* Length limits of the cluster secret (the peer handshake's HMAC key,
 * fab_options.secret): programs check them where the secret is read. */
#define FAB_SECRET_BYTES_MIN 16u
#define FAB_SECRET_BYTES_MAX 256u

/** Where a peer (or this node) listens.  For shm the pair names the
 * endpoint ("fi_shm://fabraft.HOST.PORT"). */
struct fab_peer_addr {
	raft_id id;    /* 1..RAFT_ID_MAX */
	char host[64]; /* NUL-terminated IPv4/IPv6 literal or host name */
	uint16_t port; /* fabric port */
};

struct fab_options {
	const char *provider; /* auto|verbs|tcp|net|shm|sockets; NULL=auto */
	int rma;	      /* -1 auto (on when the provider has FI_RMA),
				 0 off, 1 on (FR_UNSUPPORTED without RMA) */
	raft_id self;	      /* this node; must appear in peers */
	const struct fab_peer_addr *peers; /* borrowed for fab_open() */
	uint32_t n_peers;	  /* includes self; 2..RAFT_MAX_SERVERS */
	uint64_t cluster_id;	  /* both sides of a handshake must agree */
	const void *secret;	  /* HMAC key; borrowed for fab_open() */
	size_t secret_len;	  /* FAB_SECRET_BYTES_MIN..MAX */
	uint32_t ring_bytes;	  /* receive ring per peer; 0 = 1 MiB */
	uint32_t queue_max_msgs;  /* per-peer queue; 0 = 256 */
	uint32_t queue_max_bytes; /* per-peer queue; 0 = 4 MiB */
	uint32_t frame_bytes_max; /* largest frame; 0 = 1 MiB + 64 KiB */
	/* Optional hwloc placement (fab_topo.h): when @topo is set, rings,
	 * send arenas and receive buffers are allocated bound to NUMA node
	 * @numa_os (the NIC's, from fab_topo_place()).  Borrowed: @topo must
	 * outlive the struct fab.  NULL: plain fr_malloc memory. */
	const struct fab_topo *topo;
	int numa_os;
};

/** What fab_info_get() reports (INFO, logs, benchmarks). */
struct fab_info {
	char provider[32];   /* e.g. "tcp;ofi_rxm" */
	char fabric[64];     /* fabric name */
	char domain[64];     /* domain name */
	uint64_t caps;	     /* FI_* capabilities granted */
	bool rma;	     /* RMA path in use */
	bool wait_fd;	     /* fab_wait_fd() returns an fd */
	uint32_t ring_bytes; /* per-peer receive ring */
	int numa_os;	     /* buffers' NUMA node, -1 without topo */
	bool mem_bound;	     /* every buffer really bound to numa_os */
	int mem_errno;	     /* why not (first refusal's errno), 0 */
	uint32_t peers_up;   /* peers currently handshaken */
	uint64_t msg_sent;   /* frames sent as messages */
	uint64_t msg_sent_bytes;
	uint64_t msg_recv; /* frames received as messages */
	uint64_t msg_recv_bytes;
	uint64_t rma_sent; /* batches written into a peer's ring */
	uint64_t rma_sent_bytes;
	uint64_t rma_recv; /* ring records delivered */
	uint64_t rma_recv_bytes;
	uint64_t credits_sent;	 /* credit frames sent back */
	uint64_t rejects_auth;	 /* HELLOs refused: cluster, node, HMAC */
	uint64_t rejects_frame;	 /* bad frames (length, CRC, version, and
				    every frame counted in the next three) */
	uint64_t rejects_mac;	 /* frames or ring records without a valid
				    session MAC (forged, other connection) */
	uint64_t rejects_replay; /* frames whose sequence number was seen */
	uint64_t rejects_from;	 /* authenticated, but naming another
				    sender than the connection's peer */
	uint64_t rejects_ring;	 /* bad ring records (header, CRC, gen) */
	uint64_t rejects_stale;	 /* ring records of an old generation/lap */
	uint64_t ring_early;	 /* ring records read before the CONFIRM
				    that lets us verify them: held for it */
	uint64_t send_again;	 /* fab_send() answered FR_AGAIN */
	uint64_t send_noconn;	 /* fab_send() answered FR_NOCONN */
	uint64_t send_errors;	 /* failed completions */
	uint64_t dropped_noconn; /* frames from a peer not handshaken */
	uint64_t reconnects;	 /* peers that came back up */
	uint64_t ring_revokes;	 /* ring keys revoked (newer term, resync) */
	uint64_t ops_abandoned;	 /* posted to a replaced address, never
				    completed: counted as done */
	uint64_t queue_stalls;	 /* full queues that did not move for 2 s */
	uint64_t ops_in_flight;	 /* now: sends/writes posted, not completed */
	uint64_t ops_queued;	 /* now: sends/writes waiting to be posted */
	uint64_t completions;	 /* completion queue entries handled (sends,
				    receives, remote writes, errors): a
				    busy-polling caller that saw it move
				    knows a poll found work */
};

/** The network device under a fabric (fab_nic_find(), `--nic auto`). */
struct fab_nic {
	char name[64];	   /* device as hwloc names it ("eth0", "mlx5_0",
			      "lo") or a PCI bus id; "" = none */
	char provider[32]; /* the provider entry chosen ("tcp;ofi_rxm") */
	bool loopback;	   /* name is a loopback interface */
	char how[160];	   /* how it was found, or why there is none */
};

/**
 * Which device fab_open() with @o (borrowed for the call) would use: the
 * provider is chosen by the same rule, then its fi_info names the device
 * (fi_info->nic: verbs and other NIC providers), or its source address
 * does (tcp, net, sockets: the interface holding that address); shm has
 * none.  Opens no endpoint.  Returns 0 (out->name may be "", out->how
 * says why), FR_INVALID or FR_UNSUPPORTED (no usable provider; @errmsg,
 * FR_ERRMSG_SIZE bytes, says why).
 */
int fab_nic_find(const struct fab_options *o, struct fab_nic *out, char *errmsg)
    __attribute__((warn_unused_result));

struct fab;	 /* opaque */
struct fab_topo; /* fab_topo.h */

/**
 * Choose the provider, open the endpoint, register the rings and start the
 * handshakes.  @o and everything it points to are borrowed for the call.
 * On failure @errmsg (FR_ERRMSG_SIZE bytes, owned by the caller) says why;
 * an unknown or absent provider yields FR_UNSUPPORTED and a message listing
 * the providers present.  Returns 0, FR_INVALID, FR_UNSUPPORTED, FR_NOMEM or
 * FR_FABRIC.
 */
int fab_open(struct fab **out, const struct fab_options *o, char *errmsg)
    __attribute__((warn_unused_result));

/** Close everything; queued frames are dropped.  @f may be NULL. */
void fab_close(struct fab *f);

/**
 * Encode @m now and queue it for m->to (@m and its entries are borrowed for
 * the call).  APPEND goes through the peer's ring when RMA is on; anything
 * else as a message.  Returns 0, FR_NOCONN (peer not handshaken: dropped,
 * Raft retries), FR_AGAIN (that peer's queue or ring credit is full),
 * FR_TOOBIG (frame larger than frame_bytes_max; an APPEND over a
 * quarter of the ring goes as a message instead), FR_INVALID (unknown
 * peer, m->from not this node, or a message that cannot be encoded).
 */
int fab_send(struct fab *f, const struct raft_message *m)
    __attribute__((warn_unused_result));

/** Message callback: @m and everything it points to are borrowed for the
 * call only (entries may point into a receive ring). */
typedef void (*fab_recv_cb)(void *ctx, const struct raft_message *m);

/**
 * Drive progress: completions, handshakes, reconnect backoff, queued sends,
 * credit returns; deliver each received, validated message to @cb.  Never
 * blocks.  Returns the number of messages delivered (>= 0) or a negated
 * FR_* code on a fatal endpoint error.
 */
int fab_poll(struct fab *f, fab_recv_cb cb, void *ctx);

/**
 * File descriptor that becomes readable when completions arrive, or -1 when
 * the provider has none (then poll on a short timer).  Before sleeping on
 * it call fab_trywait(); handshake retries still need a timer (10 ms).
 */
int fab_wait_fd(struct fab *f);

/** 0 when it is safe to sleep on fab_wait_fd(), FR_AGAIN when fab_poll()
 * must be called first. */
int fab_trywait(struct fab *f) __attribute__((warn_unused_result));

/**
 * Tell the transport the node's current term.  A higher term revokes the
 * keys of every ring written to since it was registered (re-register, new
 * generation, re-announce), so the old leader's writes in flight fail at
 * the target.  Records of a lower term that arrive later (on the new ring)
 * are still delivered, for Raft to refuse and answer.
 */
void fab_term_set(struct fab *f, raft_term term);

/** True when @peer has completed the handshake. */
bool fab_peer_up(const struct fab *f, raft_id peer);

/** Completion queue entries handled so far (fab_info.completions), for a
 * busy-polling caller: unchanged across a fab_poll() that returned 0 means
 * that poll found nothing at all to do (the time to yield the CPU), moved
 * means it handled e.g. a send's completion. */
uint64_t fab_completions(const struct fab *f);

/** Fill @out (owned by the caller). */
void fab_info_get(const struct fab *f, struct fab_info *out);

/** Names of the providers that fab_open() can use here, comma-separated,
 * into @buf of @size bytes (owned by the caller). */
void fab_providers_list(char *buf, size_t size);

struct fi_info;

/**
 * The fi_getinfo() hints fab_open() picks its provider entry with (@rma:
 * those of the RMA path), after setting the provider environment it runs
 * with (FI_TCP_NODELAY, ofi_rxm's eager limit; the user's settings win).
 * For tools that measure bare libfabric against this transport: one
 * definition keeps both on the same provider entry.  The caller owns the
 * result (fi_freeinfo()); NULL when out of memory.
 */
struct fi_info *fab_hints(bool rma);

/** Tests only: with @hold, the CONFIRM of our next handshake with @peer (as
 * initiator) is kept back -- we go UP and write, the peer waits -- until
 * this is called again without @hold, which sends it. */
void fab_test_hold_confirm(struct fab *f, raft_id peer, bool hold);

/** Tests only: corrupt one byte of the next ring record written to @peer
 * after its checksum is computed. */
void fab_test_corrupt_next(struct fab *f, raft_id peer);

/** Tests only: send @len bytes of @buf (borrowed for the call) to @peer's
 * address exactly as they are -- no session, no MAC -- as a party on the
 * network without the keys could.  Returns 0, FR_INVALID (unknown peer, too
 * large), FR_NOCONN (no address yet) or FR_AGAIN (queue full). */
int fab_test_send_raw(struct fab *f, raft_id peer, const void *buf, size_t len)
    __attribute__((warn_unused_result));

#endif /* FABRAFT_FAB_H */
