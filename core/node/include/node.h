/* node.h — the runtime: binds raft, wal, fabric, kvcache and the RESP front
 * into one event loop (public API of core/node). */
#ifndef FABRAFT_NODE_H
#define FABRAFT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fab.h"
#include "kvc.h"
#include "raft.h"

/*
 * Design notes (docs/operations.md has the operator's view)
 * ============
 * One thread runs one epoll loop over: a timerfd (the Raft tick), the
 * fabric's wait fd (or a 1 ms poll when the provider has none or
 * fab_trywait() refuses), the wal's eventfd (durable tail advanced), the
 * RESP server's fd, a signalfd (SIGTERM/SIGINT) and the metrics listener
 * with its connections (non-blocking, bounded: node_http.c).
 *
 * Per raft_update, in this order (raft.h invariants 1-4):
 *   1. HARDSTATE: wal_hardstate_save() (synchronous, durable on return);
 *   2. ENTRIES: wal_submit() (asynchronous; the durable tail comes back
 *      through the eventfd and is fed to the core as PERSISTED), so the
 *      leader's own write runs in parallel with replication;
 *   3. MESSAGES: fab_send() (a full queue drops the message; Raft resends);
 *   4. APPLY: kvc_apply() each entry and complete the client waiting on it;
 *   5. ROLE: fab_term_set() and a log line.
 *
 * Logging: the runtime logs with fr_log() (trace.h) with a NULL tag (its
 * lines are the program's own), the libraries under it with theirs ("wal",
 * "fabric", "resp").  The program installs the one sink and level before
 * node_open() (the daemon: stderr, --log-level).
 *
 * Client futures: each proposal remembers the (index, term) the core gave
 * it.  When the entry at that index is applied, the client gets the state
 * machine's reply if the applied entry has the same term, and
 * "-TRYAGAIN ... not committed" otherwise: an entry is identified by
 * (index, term), so a different term proves ours was not committed and
 * never will be.  A client is never told OK for a write that is not
 * committed by a majority and applied.
 *
 * Reads (--read-mode): "index" (the default) answers a linearizable read
 * by ReadIndex: the leader confirms it still leads with one heartbeat
 * round shared by every read of a loop iteration, then answers once it has
 * applied the commit index of that moment (node_read.c); no log write.
 * "lease" skips the round while the leader lease holds (clock assumption in
 * docs/architecture.md).  "log" proposes an empty marker entry per
 * iteration and answers when it is applied (the slow, obviously correct
 * way, kept for comparison).  "stale" answers from local state on any
 * node.
 *
 * Followers forward (--forward on, the default) every command they would
 * not serve locally to the leader's client port over one pipelined
 * connection (node_fwd.c) and relay the reply; with --forward off, or when
 * the leader's address cannot be reached, they answer "-MOVED 0 HOST:PORT"
 * naming the leader's client address, or "-TRYAGAIN no leader" while none
 * is known.
 */

/* Where a leader writes its log (--leader-writes; node.c, log_flush):
 * THREAD (the default) in the wal's writer thread, so the loop goes on
 * (heartbeats, acknowledgements) while the disk works; INLINE in the
 * event loop after the round's AppendEntries are sent, as a follower
 * does. */
enum node_leader_writes {
	NODE_LEADER_WRITES_INLINE = 0,
	NODE_LEADER_WRITES_THREAD = 1,
};

enum node_read_mode {
	NODE_READ_INDEX = 0, /* linearizable: ReadIndex, no log write */
	NODE_READ_LEASE,     /* linearizable under a clock bound: lease */
	NODE_READ_LOG,	     /* linearizable: reads go through the log */
	NODE_READ_STALE,     /* local state, possibly stale */
};

/** "index", "lease", "log" or "stale". */
const char *node_read_mode_name(int mode);

#define NODE_ADDR_MAX 80u /* "HOST:PORT" with its NUL */

struct node_options {
	raft_id id;				      /* this node */
	struct fab_peer_addr peers[RAFT_MAX_SERVERS]; /* raft addrs, self too */
	uint32_t n_peers;			      /* 1..RAFT_MAX_SERVERS */
	/* The first configuration: these peers are voters, the others
	 * start outside it and join with RAFT.MEMBER (0 = every peer).
	 * Configuration entries in the log override it. */
	raft_id initial_voters[RAFT_MAX_SERVERS];
	uint32_t n_initial_voters;
	char client[NODE_ADDR_MAX]; /* RESP listener of this node */
	/* Client address of every server, by id, for -MOVED ("" = derived:
	 * the peer's host and port 6378 + id). */
	char client_addrs[RAFT_ID_MAX + 1][NODE_ADDR_MAX];
	char data_dir[256];	/* data directory */
	char provider[32];	/* auto|verbs|tcp|net|shm|sockets */
	int rma;		/* -1 auto, 0 off, 1 on */
	bool fsync;		/* false: NOT durable (tests only) */
	uint64_t segment_bytes; /* wal segment size, 0 = wal default */
	int leader_writes;	/* enum node_leader_writes */
	uint64_t cluster_id;	/* != 0 */
	uint8_t secret[FAB_SECRET_BYTES_MAX]; /* peer HMAC key */
	size_t secret_len;	     /* FAB_SECRET_BYTES_MIN..MAX with peers */
	int read_mode;		     /* enum node_read_mode */
	bool read_round_majority;    /* --read-round-majority */
	bool forward;		     /* followers forward to the leader */
	uint32_t tick_ms;	     /* Raft tick */
	uint32_t election_ticks;     /* base election timeout in ticks */
	uint32_t heartbeat_ticks;    /* heartbeat interval in ticks */
	uint32_t snapshot_entries;   /* applied entries between snapshots,
					0 = never */
	uint32_t snapshot_trailing;  /* entries kept behind a snapshot */
	bool accept_data_loss;	     /* a recovering node (damaged log) is
					let vote again at once: acknowledged
					writes may be lost (operations.md) */
	uint32_t request_timeout_ms; /* client waits at most this long */
	uint32_t intake_hold_us;     /* client bytes that arrive while this
					node's requests wait for a round are
					read when it ends, or after this
					long; 0 = read at once
					(node_intake.c) */
	char requirepass[128];	     /* "" = no AUTH */
	uint64_t request_bytes_max;  /* largest client request */
	uint32_t clients_max;	     /* concurrent client connections */
	/* Memory bounds of client replies (docs/resp.md "Limits"). */
	uint64_t reply_bytes_max;	    /* one read's reply */
	uint64_t client_output_max;	    /* queued replies per client */
	uint64_t client_output_preauth_max; /* the same before AUTH */
	uint64_t clients_output_total_max;  /* over all clients */
	char metrics[NODE_ADDR_MAX];	    /* Prometheus listener, "" = none */
	char cpu_pin[128];		    /* "auto", "off" or a CPU list */
	char nic[64];			    /* "auto", "none" or a device name
					       or PCI bus id (node_place.h) */
	char topology_xml[256]; /* tests only: decide on this hwloc XML
				   file instead of this machine, bind
				   nothing; "" = this machine */

	/* Client admission and AUTH (issue 15; docs/operations.md). */
	char adminpass[128]; /* "" = none; else RAFT.MEMBER changes and
				RAFT.TRANSFER need AUTH with it; the same
				on every node (forwarding sends it) */
	uint32_t client_idle_timeout_s; /* close idle clients after this
					   long; 0 = never */

	/* Incoming snapshots (issue 15, item 8): one larger than this, or
	 * than the data dir's free space less disk_reserve_bytes, is refused
	 * before anything is written; the leader is told and offers it again
	 * later. */
	uint64_t snapshot_bytes_max; /* 0 = no limit */
	uint64_t disk_reserve_bytes; /* free space a snapshot leaves alone */

	/* The state machine's table sizes (--kvc-blocks-max ...; 0 = the
	 * kvcache default).  Every replica must use the same: a table that
	 * is full on one and not on another makes their states differ. */
	struct kvc_options kvc; /* .events_max: KV events kept for
				   KVC.EVENTS (docs/kvcache.md "Event
				   feed") */
};

/** Defaults: tick 10 ms, election 10 ticks, heartbeat 1, provider auto, rma
 * auto, fsync on, cluster id 1, linearizable reads, forwarding on, request
 * timeout 5 s, 10000 clients (capped by the open-file limit, see
 * node_open()), 64 MiB requests, 16 MiB replies, client output 128 MiB
 * (64 KiB before AUTH, 512 MiB in total), nic auto, cpu-pin auto, no admin
 * password, idle clients closed after 300 s, incoming snapshots up to
 * 4 GiB leaving 256 MiB of the disk free, 65536 events kept.
 * Leaves id, peers, client, data_dir and the secret empty. */
void node_options_default(struct node_options *o);

struct node; /* opaque */

/**
 * Open the data directory (recovering the log), the fabric, the state
 * machine and the RESP listener; block SIGTERM/SIGINT for the signalfd.
 * Clients are capped so that the log, snapshots, peers and forwarding
 * always find a file descriptor: clients_max is lowered to the open-file
 * limit (raised to its hard limit if that helps) minus the descriptors open
 * at that point minus a reserve (node_fds.c); the value is logged.
 * @o is borrowed for the call.  On failure @errmsg (FR_ERRMSG_SIZE, owned by
 * the caller) has a one-line reason.  Returns 0, FR_INVALID, FR_MISMATCH
 * (data dir of another cluster or node), FR_CORRUPT, FR_BUSY,
 * FR_UNSUPPORTED (provider), FR_FABRIC, FR_IO, FR_NOMEM.
 */
int node_open(struct node **out, const struct node_options *o, char *errmsg)
    __attribute__((warn_unused_result));

/**
 * Run the event loop until SIGTERM/SIGINT (then: stop accepting clients,
 * send owed replies for up to 2 s, return 0) or a fatal error (storage
 * failed, state machine out of memory: returns its FR_* code, reason in
 * @errmsg).
 */
int node_run(struct node *n, char *errmsg) __attribute__((warn_unused_result));

/** The bound client (RESP) port, useful with port 0 in --client. */
uint16_t node_client_port(const struct node *n);

/** Close everything (the wal is sealed); @n may be NULL. */
void node_close(struct node *n);

#endif /* FABRAFT_NODE_H */
