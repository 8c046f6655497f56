/* node_io.h — the runtime's I/O behind one ops table (disk, network,
 * clocks, client replies), so the simulator can run the runtime. */
#ifndef FABRAFT_NODE_IO_H
#define FABRAFT_NODE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

struct resp_req;
struct wal_snap_meta;

/*
 * Design notes
 * ============
 *  1. Every call passes back the table's ctx (borrowed by the table for
 *     the node's life).  The real table (node_io_real.c) wraps fab_*,
 *     wal_*, resp_req_complete() and clock_gettime(); a simulator supplies
 *     its own over in-memory disk, network and per-node clocks.
 *  2. Timers are not here: the caller drives the node (a timerfd in
 *     node.c, virtual time in the simulator).
 *  3. Errors are positive FR_* codes.  log_submit() only queues: the
 *     entries become durable later and log_durable() says how far.
 *  4. Snapshot handles are opaque to the runtime (void *): one writer
 *     and one reader at a time per purpose, each closed exactly once.
 *  5. The table starts with its size (STYLE.md 5): callbacks past ->size
 *     are missing, and node__io_check() refuses a table without the ones
 *     the runtime calls.
 */
struct node_io {
	size_t size; /* sizeof(struct node_io) the implementer built */
	/* Network: send @m (borrowed) to m->to; FR_AGAIN / FR_NOCONN when
	 * refused (Raft retransmits). */
	int (*send)(void *ctx, const struct raft_message *m);
	/* Network: the node's term rose to @term (peers' frames of older
	 * terms may be refused from now on). */
	void (*term_set)(void *ctx, raft_term term);
	/* Disk: make term and vote durable before returning. */
	int (*hardstate_save)(void *ctx, raft_term term, raft_id vote);
	/* Disk: queue @n entries (borrowed) for the log, replacing stored
	 * entries >= e[0].index (raft.h note 2). */
	int (*log_submit)(void *ctx, const struct raft_entry *e, uint32_t n);
	/* Disk: the (index, term) of the last durable entry. */
	int (*log_durable)(void *ctx, raft_index *index, raft_term *term);
	/* Disk: drop stored entries <= @index (UINT64_MAX: all of them). */
	int (*log_compact)(void *ctx, raft_index index);
	/* Disk: why the last disk call failed (owned by the table). */
	const char *(*errmsg)(void *ctx);
	/* Snapshot save: open a writer for @m (borrowed) into *@w. */
	int (*snap_writer_open)(void *ctx, void **w,
				const struct wal_snap_meta *m, char *errmsg);
	int (*snap_writer_write)(void *ctx, void *w, const void *buf,
				 size_t len, char *errmsg);
	/* Durable and visible; frees @w whatever the answer. */
	int (*snap_writer_commit)(void *ctx, void *w, char *errmsg);
	/* Discard and free @w (may be NULL). */
	void (*snap_writer_abort)(void *ctx, void *w);
	/* Writes taking @w past @bytes_max content bytes fail. */
	void (*snap_writer_limit)(void *ctx, void *w, uint64_t bytes_max);
	/* May a snapshot of @bytes be written (size limit, free space)? */
	int (*snap_space_check)(void *ctx, uint64_t bytes, uint64_t bytes_max,
				uint64_t reserve_bytes, char *errmsg);
	/* Snapshot load: open the newest one into *@r, its metadata in *@m;
	 * FR_NOTFOUND when there is none. */
	int (*snap_reader_open)(void *ctx, void **r, struct wal_snap_meta *m,
				char *errmsg);
	/* Up to @cap bytes into @buf; *@n = 0 at the end. */
	int (*snap_reader_read)(void *ctx, void *r, void *buf, size_t cap,
				size_t *n, char *errmsg);
	uint64_t (*snap_reader_size)(void *ctx, const void *r);
	void (*snap_reader_close)(void *ctx, void *r);
	/* Clocks: monotonic nanoseconds and wall-clock milliseconds.  A
	 * driven node's node__boot_us() (the time raft events carry) is its
	 * mono_ns; the real one reads CLOCK_BOOTTIME. */
	uint64_t (*mono_ns)(void *ctx);
	uint64_t (*wall_ms)(void *ctx);
	/* Clients: send @len bytes of @buf (borrowed) as the answer to @req
	 * and release it. */
	int (*reply)(void *ctx, const struct resp_req *req, const void *buf,
		     size_t len);
	/* Disk: persist "not recovering" (raft.h note 7). */
	int (*recovering_clear)(void *ctx);
	/* Forwarding (node_fwd.c): one byte stream at a time from this
	 * follower to a leader's client port.  Optional: a table without
	 * all four runs with forwarding off.  The table reports back with
	 * node__fwd_writable() (bytes may be written now),
	 * node__fwd_input() (reply bytes), node__fwd_eof() and
	 * node__fwd_broken(), each from the node's own thread. */
	/* Start a stream to @leader: 0 (writes may take nothing until it
	 * is up) or FR_* when it cannot even be tried. */
	int (*fwd_open)(void *ctx, raft_id leader);
	/* Take up to @len bytes of @buf: how many (0: none now, the table
	 * calls node__fwd_writable() later), or -1 when the stream broke. */
	ptrdiff_t (*fwd_write)(void *ctx, const void *buf, size_t len);
	/* Bytes wait: call node__fwd_writable() when they may be written. */
	void (*fwd_kick)(void *ctx);
	/* Close the stream; bytes already taken may still reach the leader
	 * (their outcome is unknown). */
	void (*fwd_close)(void *ctx);
	/* Disk, optional (NULL or past ->size: log_submit starts the
	 * writing itself): start writing what log_submit queued.  Called
	 * once an update's messages are sent, so that a leader's
	 * AppendEntries leave before the log's writer thread is woken and
	 * can take the loop's CPU. */
	void (*log_kick)(void *ctx);
	/* Optional (NULL or past ->size: none), for a checker: committed
	 * entry @e (borrowed) was just applied to the state machine. */
	void (*applied)(void *ctx, const struct raft_entry *e);
};

/* Whether @io (borrowed) has every callback the runtime calls. */
bool node__io_check(const struct node_io *io);

/* The real table: ctx is the struct node (fab, wal, the RESP server and
 * clock_gettime()). */
extern const struct node_io node__io_real;

/* From now on node__mono_ns() and node__wall_ms() on this thread read the
 * clocks of @n's table (NULL: the real clocks).  A simulator running many
 * nodes on one thread names the node whose handler it is about to call. */
struct node;
void node__io_clock_node(const struct node *n);
/* That node, or NULL. */
const struct node *node__io_clock_owner(void);
/* The real wall clock (node_clock.c, with its test hook). */
uint64_t node__wall_real_ms(void);

#endif /* FABRAFT_NODE_IO_H */
