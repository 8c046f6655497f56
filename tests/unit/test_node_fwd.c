/* test_node_fwd.c — forwarding's outcome rules (node_fwd.c) through the
 * I/O table's stream, on a driven follower with a fake table: replies
 * relayed in order, "outcome unknown" for requests whose bytes all left,
 * "not executed" for the others (a part sent counts as not sent), the
 * 100 ms back-off, the leader's EOF, and the test-only mutation that breaks the
 * rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node.h"
#include "node_driven.h"
#include "resp.h"

#define REQS 8

struct fake {
	uint64_t mono_ns;
	char reply[REQS][160]; /* by resp_req.seq */
	uint32_t opens;	       /* fwd_open calls */
	raft_id opened_to;
	bool open;
	size_t take; /* bytes fwd_write takes from now on */
	size_t written;
};

static int f_send(void *ctx, const struct raft_message *m)
{
	(void)ctx;
	(void)m;
	return 0;
}

static void f_term_set(void *ctx, raft_term term)
{
	(void)ctx;
	(void)term;
}

static int f_hardstate(void *ctx, raft_term term, raft_id vote)
{
	(void)ctx;
	(void)term;
	(void)vote;
	return 0;
}

static int f_submit(void *ctx, const struct raft_entry *e, uint32_t n)
{
	(void)ctx;
	(void)e;
	(void)n;
	return 0;
}

static int f_durable(void *ctx, raft_index *index, raft_term *term)
{
	(void)ctx;
	*index = 0;
	*term = 0;
	return 0;
}

static int f_compact(void *ctx, raft_index index)
{
	(void)ctx;
	(void)index;
	return 0;
}

static const char *f_errmsg(void *ctx)
{
	(void)ctx;
	return "";
}

static int f_sw_open(void *ctx, void **w, const struct wal_snap_meta *m,
		     char *errmsg)
{
	(void)ctx;
	(void)w;
	(void)m;
	(void)errmsg;
	return FR_IO;
}

static int f_sw_write(void *ctx, void *w, const void *buf, size_t len,
		      char *errmsg)
{
	(void)ctx;
	(void)w;
	(void)buf;
	(void)len;
	(void)errmsg;
	return FR_IO;
}

static int f_sw_commit(void *ctx, void *w, char *errmsg)
{
	(void)ctx;
	(void)w;
	(void)errmsg;
	return FR_IO;
}

static void f_sw_abort(void *ctx, void *w)
{
	(void)ctx;
	(void)w;
}

static void f_sw_limit(void *ctx, void *w, uint64_t bytes_max)
{
	(void)ctx;
	(void)w;
	(void)bytes_max;
}

static int f_space(void *ctx, uint64_t bytes, uint64_t bytes_max,
		   uint64_t reserve_bytes, char *errmsg)
{
	(void)ctx;
	(void)bytes;
	(void)bytes_max;
	(void)reserve_bytes;
	(void)errmsg;
	return 0;
}

static int f_sr_open(void *ctx, void **r, struct wal_snap_meta *m, char *errmsg)
{
	(void)ctx;
	(void)r;
	(void)m;
	snprintf(errmsg, FR_ERRMSG_SIZE, "no snapshot");
	return FR_NOTFOUND;
}

static int f_sr_read(void *ctx, void *r, void *buf, size_t cap, size_t *n,
		     char *errmsg)
{
	(void)ctx;
	(void)r;
	(void)buf;
	(void)cap;
	(void)errmsg;
	*n = 0;
	return 0;
}

static uint64_t f_sr_size(void *ctx, const void *r)
{
	(void)ctx;
	(void)r;
	return 0;
}

static void f_sr_close(void *ctx, void *r)
{
	(void)ctx;
	(void)r;
}

static uint64_t f_mono(void *ctx)
{
	return ((struct fake *)ctx)->mono_ns;
}

static uint64_t f_wall(void *ctx)
{
	return 1700000000000ull + f_mono(ctx) / 1000000u;
}

static int f_reply(void *ctx, const struct resp_req *req, const void *buf,
		   size_t len)
{
	struct fake *f = ctx;

	assert_true(req->seq < REQS);
	assert_string_equal(f->reply[req->seq], ""); /* answered once */
	snprintf(f->reply[req->seq], sizeof(f->reply[0]), "%.*s", (int)len,
		 (const char *)buf);
	return 0;
}

static int f_recovering_clear(void *ctx)
{
	(void)ctx;
	return 0;
}

static int f_fwd_open(void *ctx, raft_id leader)
{
	struct fake *f = ctx;

	f->opens++;
	f->opened_to = leader;
	f->open = true;
	return 0;
}

static ptrdiff_t f_fwd_write(void *ctx, const void *buf, size_t len)
{
	struct fake *f = ctx;
	size_t k = len < f->take ? len : f->take;

	(void)buf;
	assert_true(f->open);
	f->take -= k;
	f->written += k;
	return (ptrdiff_t)k;
}

static void f_fwd_kick(void *ctx)
{
	(void)ctx;
}

static void f_fwd_close(void *ctx)
{
	((struct fake *)ctx)->open = false;
}

static const struct node_io fake_io = {
    .size = sizeof(struct node_io),
    .send = f_send,
    .term_set = f_term_set,
    .hardstate_save = f_hardstate,
    .log_submit = f_submit,
    .log_durable = f_durable,
    .log_compact = f_compact,
    .errmsg = f_errmsg,
    .snap_writer_open = f_sw_open,
    .snap_writer_write = f_sw_write,
    .snap_writer_commit = f_sw_commit,
    .snap_writer_abort = f_sw_abort,
    .snap_writer_limit = f_sw_limit,
    .snap_space_check = f_space,
    .snap_reader_open = f_sr_open,
    .snap_reader_read = f_sr_read,
    .snap_reader_size = f_sr_size,
    .snap_reader_close = f_sr_close,
    .mono_ns = f_mono,
    .wall_ms = f_wall,
    .reply = f_reply,
    .recovering_clear = f_recovering_clear,
    .fwd_open = f_fwd_open,
    .fwd_write = f_fwd_write,
    .fwd_kick = f_fwd_kick,
    .fwd_close = f_fwd_close,
};

/* Node 1 of three, a follower that heard from leader 2 in term 1. */
static struct node *follower(struct fake *f)
{
	struct node_options o;
	struct node_durable d = {0};
	struct raft_message hb = {
	    .type = RAFT_MSG_APPEND, .from = 2, .to = 1, .term = 1};
	struct node *n = NULL;
	char err[FR_ERRMSG_SIZE];

	memset(f, 0, sizeof(*f));
	f->mono_ns = 1000000000ull;
	node_options_default(&o);
	o.id = 1;
	o.n_peers = 3;
	for (uint32_t i = 0; i < 3; i++) {
		o.peers[i].id = i + 1;
		snprintf(o.peers[i].host, sizeof(o.peers[i].host), "127.0.0.1");
		o.peers[i].port = (uint16_t)(7000 + i);
		snprintf(o.client_addrs[i + 1], NODE_ADDR_MAX, "127.0.0.1:%u",
			 6379 + i);
	}
	o.forward = true;
	assert_int_equal(node__driven_open(&n, &o, &fake_io, f, &d, err), 0);
	node__driven_receive(n, &hb);
	return n;
}

static void set(struct node *n, uint64_t seq, const char *v)
{
	struct resp_req req = {.slot = 0, .seq = seq, .admin = true};
	struct resp_arg argv[3] = {{"SET", 3}, {"k", 1}, {v, strlen(v)}};

	node__driven_command(n, &req, 3, argv);
}

/* Replies come back in request order, each to its request. */
static void relays_in_order(void **state)
{
	struct fake f;
	struct node *n = follower(&f);

	(void)state;
	f.take = SIZE_MAX;
	set(n, 1, "a");
	set(n, 2, "b");
	assert_int_equal(f.opens, 1);
	assert_int_equal(f.opened_to, 2);
	node__driven_fwd_writable(n);
	node__driven_fwd_input(n, "+OK\r\n-ERR x\r", 12);
	assert_string_equal(f.reply[1], "+OK\r\n");
	assert_string_equal(f.reply[2], "");
	node__driven_fwd_input(n, "\n", 1);
	assert_string_equal(f.reply[2], "-ERR x\r\n");
	node__driven_close(n);
}

/* The stream breaks: a request whose bytes all left may have run; one
 * with only a part (or nothing) sent cannot have. */
static void outcomes_on_failure(void **state)
{
	struct fake f;
	struct node *n = follower(&f);
	size_t one;

	(void)state;
	f.take = SIZE_MAX;
	set(n, 1, "a");
	node__driven_fwd_writable(n);
	one = f.written;
	f.take = one / 2; /* half of the second request */
	set(n, 2, "b");
	set(n, 3, "c");
	node__driven_fwd_writable(n);
	node__driven_fwd_broken(n);
	assert_non_null(strstr(f.reply[1], "outcome is unknown"));
	assert_non_null(strstr(f.reply[2], "not executed"));
	assert_non_null(strstr(f.reply[3], "not executed"));
	assert_false(f.open);
	node__driven_close(n);
}

/* After a failure the leader is not tried again for 100 ms. */
static void backoff(void **state)
{
	struct fake f;
	struct node *n = follower(&f);

	(void)state;
	set(n, 1, "a");
	node__driven_fwd_broken(n);
	assert_non_null(strstr(f.reply[1], "not executed"));
	set(n, 2, "b");
	assert_int_equal(f.opens, 1);
	assert_non_null(strstr(f.reply[2], "TRYAGAIN leader 2 unreachable"));
	f.mono_ns += 101000000ull;
	set(n, 3, "c");
	assert_int_equal(f.opens, 2);
	assert_string_equal(f.reply[3], ""); /* in flight */
	node__driven_close(n);
}

/* The leader closes the stream: quiet when nothing is in flight (no
 * back-off), a failure for what was sent otherwise. */
static void eof(void **state)
{
	struct fake f;
	struct node *n = follower(&f);

	(void)state;
	f.take = SIZE_MAX;
	set(n, 1, "a");
	node__driven_fwd_writable(n);
	node__driven_fwd_input(n, "+OK\r\n", 5);
	node__driven_fwd_eof(n);
	assert_false(f.open);
	set(n, 2, "b"); /* a new stream at once */
	assert_int_equal(f.opens, 2);
	node__driven_fwd_writable(n);
	node__driven_fwd_eof(n);
	assert_non_null(strstr(f.reply[2], "outcome is unknown"));
	node__driven_close(n);
}

/* The simulator's mutation: sent requests answered "not executed". */
static void mutation_lies(void **state)
{
	struct fake f;
	struct node *n = follower(&f);

	(void)state;
	f.take = SIZE_MAX;
	node__fwd_mutate_unsent = true;
	set(n, 1, "a");
	node__driven_fwd_writable(n);
	node__driven_fwd_broken(n);
	node__fwd_mutate_unsent = false;
	assert_non_null(strstr(f.reply[1], "not executed"));
	node__driven_close(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(relays_in_order),
	    cmocka_unit_test(outcomes_on_failure),
	    cmocka_unit_test(backoff),
	    cmocka_unit_test(eof),
	    cmocka_unit_test(mutation_lies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
