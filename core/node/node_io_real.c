/* node_io_real.c — the runtime's real I/O table: fabric, WAL, RESP server
 * and clock_gettime() behind struct node_io. */
#include <stddef.h>
#include <time.h>

#include "node_int.h"

static int real_send(void *ctx, const struct raft_message *m)
{
	struct node *n = ctx;

	/* A one-node cluster has no fabric and nobody to send to. */
	return n->fab != NULL ? fab_send(n->fab, m) : 0;
}

static void real_term_set(void *ctx, raft_term term)
{
	struct node *n = ctx;

	if (n->fab != NULL) {
		fab_term_set(n->fab, term);
	}
}

static int real_hardstate_save(void *ctx, raft_term term, raft_id vote)
{
	struct node *n = ctx;

	return wal_hardstate_save(n->wal, term, vote);
}

static int real_log_submit(void *ctx, const struct raft_entry *e, uint32_t k)
{
	struct node *n = ctx;

	return wal_submit(n->wal, e, k);
}

static void real_log_kick(void *ctx)
{
	struct node *n = ctx;

	if (n->role == RAFT_LEADER &&
	    n->o.leader_writes == NODE_LEADER_WRITES_THREAD) {
		wal_kick(n->wal);
	} else {
		n->flush_due = true; /* node_run() writes it: node__log_flush */
	}
}

static int real_log_durable(void *ctx, raft_index *index, raft_term *term)
{
	struct node *n = ctx;

	return wal_durable(n->wal, index, term);
}

static int real_log_compact(void *ctx, raft_index index)
{
	struct node *n = ctx;

	return wal_compact(n->wal, index);
}

static const char *real_errmsg(void *ctx)
{
	struct node *n = ctx;

	return wal_errmsg(n->wal);
}

static int real_sw_open(void *ctx, void **w, const struct wal_snap_meta *m,
			char *errmsg)
{
	struct node *n = ctx;
	struct wal_snap_writer *sw = NULL;
	int rv = wal_snap_writer_open(&sw, n->wal, m, errmsg);

	*w = sw;
	return rv;
}

static int real_sw_write(void *ctx, void *w, const void *buf, size_t len,
			 char *errmsg)
{
	(void)ctx;
	return wal_snap_writer_write(w, buf, len, errmsg);
}

static int real_sw_commit(void *ctx, void *w, char *errmsg)
{
	(void)ctx;
	return wal_snap_writer_commit(w, errmsg);
}

static void real_sw_abort(void *ctx, void *w)
{
	(void)ctx;
	wal_snap_writer_abort(w);
}

static void real_sw_limit(void *ctx, void *w, uint64_t bytes_max)
{
	(void)ctx;
	wal_snap_writer_limit(w, bytes_max);
}

static int real_space_check(void *ctx, uint64_t bytes, uint64_t bytes_max,
			    uint64_t reserve_bytes, char *errmsg)
{
	struct node *n = ctx;

	return wal_snap_space_check(n->wal, bytes, bytes_max, reserve_bytes,
				    errmsg);
}

static int real_sr_open(void *ctx, void **r, struct wal_snap_meta *m,
			char *errmsg)
{
	struct node *n = ctx;
	struct wal_snap_reader *rd = NULL;
	int rv = wal_snap_reader_open(&rd, n->wal, m, errmsg);

	*r = rd;
	return rv;
}

static int real_sr_read(void *ctx, void *r, void *buf, size_t cap, size_t *k,
			char *errmsg)
{
	(void)ctx;
	return wal_snap_reader_read(r, buf, cap, k, errmsg);
}

static uint64_t real_sr_size(void *ctx, const void *r)
{
	(void)ctx;
	return wal_snap_reader_size(r);
}

static void real_sr_close(void *ctx, void *r)
{
	(void)ctx;
	wal_snap_reader_close(r);
}

static uint64_t real_mono_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_wall_ms(void *ctx)
{
	(void)ctx;
	return node__wall_real_ms(); /* node_clock.c, with its test hook */
}

static int real_reply(void *ctx, const struct resp_req *req, const void *buf,
		      size_t len)
{
	(void)ctx;
	return resp_req_complete(req, buf, len);
}

static int real_recovering_clear(void *ctx)
{
	struct node *n = ctx;

	return wal_recovering_clear(n->wal);
}

const struct node_io node__io_real = {
    .size = sizeof(struct node_io),
    .send = real_send,
    .term_set = real_term_set,
    .hardstate_save = real_hardstate_save,
    .log_submit = real_log_submit,
    .log_durable = real_log_durable,
    .log_compact = real_log_compact,
    .errmsg = real_errmsg,
    .snap_writer_open = real_sw_open,
    .snap_writer_write = real_sw_write,
    .snap_writer_commit = real_sw_commit,
    .snap_writer_abort = real_sw_abort,
    .snap_writer_limit = real_sw_limit,
    .snap_space_check = real_space_check,
    .snap_reader_open = real_sr_open,
    .snap_reader_read = real_sr_read,
    .snap_reader_size = real_sr_size,
    .snap_reader_close = real_sr_close,
    .mono_ns = real_mono_ns,
    .wall_ms = real_wall_ms,
    .reply = real_reply,
    .recovering_clear = real_recovering_clear,
    .fwd_open = node__fwd_sock_open,
    .fwd_write = node__fwd_sock_write,
    .fwd_kick = node__fwd_sock_kick,
    .fwd_close = node__fwd_sock_close,
    .log_kick = real_log_kick,
};

bool node__io_check(const struct node_io *io)
{
	/* Every callback is required: the last one ends the table. */
	return io != NULL &&
	       io->size >=
		   offsetof(struct node_io, reply) + sizeof(io->reply) &&
	       io->send && io->term_set && io->hardstate_save &&
	       io->log_submit && io->log_durable && io->log_compact &&
	       io->errmsg && io->snap_writer_open && io->snap_writer_write &&
	       io->snap_writer_commit && io->snap_writer_abort &&
	       io->snap_writer_limit && io->snap_space_check &&
	       io->snap_reader_open && io->snap_reader_read &&
	       io->snap_reader_size && io->snap_reader_close && io->mono_ns &&
	       io->wall_ms && io->reply;
}

/* The node whose clocks this thread reads (node__io_clock_node()). */
static _Thread_local const struct node *clock_node;

void node__io_clock_node(const struct node *n)
{
	clock_node = n;
}

uint64_t node__mono_ns(void)
{
	if (clock_node != NULL) {
		return clock_node->io->mono_ns(clock_node->io_ctx);
	}
	return real_mono_ns(NULL);
}

const struct node *node__io_clock_owner(void)
{
	return clock_node;
}

uint64_t node__boot_us(void)
{
	struct timespec ts;

	if (clock_node != NULL) {
		/* A driven node's monotonic clock (it never suspends). */
		return clock_node->io->mono_ns(clock_node->io_ctx) / 1000u;
	}
	/* BOOTTIME: monotonic, and it also counts a suspend of the machine
	 * (MONOTONIC stops then while the other nodes' clocks run on). */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}
