/* node_fwd.c — a follower forwards client commands to the leader's RESP
 * port over one pipelined connection and relays the replies. */
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "node_driven.h"
#include "node_int.h"

/*
 * Design notes
 * ============
 * One connection at a time, to the leader the core last named.  Requests
 * are re-encoded as RESP arrays and pipelined; the leader answers in order,
 * so the i-th complete reply belongs to the i-th queued request (a FIFO of
 * resp_req handles).  The RESP front orders replies per client connection
 * itself, so requests of one client may be split between the local path
 * and the forwarding path safely.
 *
 * When the connection fails, or the leader changes, a request whose bytes
 * all reached the socket gets "-TRYAGAIN ... outcome unknown" (the leader
 * may have applied it before the connection broke); one whose bytes did not
 * all leave gets "-TRYAGAIN ... not executed", which is certain.  After a
 * failure the same leader is not tried again for 100 ms: commands get
 * "-TRYAGAIN leader N unreachable" at once instead of a connect each.
 *
 * The leader closes client connections idle past --client-idle-timeout,
 * this one included.  So that a request never races that close, the
 * follower closes the connection itself once idle for half the timeout
 * (the setting is the same on every node); an EOF with nothing in flight is
 * a quiet close, not a failure.
 *
 * The byte stream itself is the I/O table's (node_io.h: fwd_open,
 * fwd_write, fwd_kick, fwd_close): a socket in the daemon
 * (node_fwd_sock.c), the simulated network in fabraft-simrt.  The table
 * calls back node__fwd_writable(), node__fwd_input(), node__fwd_eof() and
 * node__fwd_broken(); everything this file decides (queue, outcome of
 * each request, back-off, timeouts) is the same for both.
 */

/* Test-only (node_driven.h): the wrong outcome rule, for the simulator's
 * mutation test. */
bool node__fwd_mutate_unsent;

#define FWD_OUT_MAX (64u << 20) /* queued request bytes */

static const char fwd_lost[] =
    "-TRYAGAIN lost the connection to the leader; the outcome is unknown\r\n";
static const char fwd_unsent[] = "-TRYAGAIN could not reach the leader; the "
				 "command was not executed\r\n";

static void fwd_shutdown(struct node *n, bool failed)
{
	struct node_fwd *f = &n->fwd;

	if (f->open) {
		n->io->fwd_close(n->io_ctx);
		f->open = false;
	}
	for (size_t i = f->q_head; i < f->q_n; i++) {
		bool sent = f->q[i].end_pos <= f->sent_total &&
			    !node__fwd_mutate_unsent;

		if (f->q[i].swallow) {
			continue;
		}
		if (sent) {
			(void)n->io->reply(n->io_ctx, &f->q[i].req, fwd_lost,
					   sizeof(fwd_lost) - 1);
		} else {
			(void)n->io->reply(n->io_ctx, &f->q[i].req, fwd_unsent,
					   sizeof(fwd_unsent) - 1);
		}
	}
	if (failed) {
		f->failed_leader = f->leader;
		f->fail_until_ns = node__mono_ns() + 100000000ull;
	}
	f->q_head = f->q_n = 0;
	f->out.len = 0;
	f->in.len = 0;
	respc_reader_close(&f->rd);
	f->queued_total = f->sent_total = 0;
	f->leader = 0;
}

/* The stream failed: every request in flight gets its outcome. */
static void fwd_fail(struct node *n)
{
	struct node_fwd *f = &n->fwd;

	fr_log(FR_LOG_WARN, NULL, "forwarding to leader %u (%s) failed",
	       f->leader, n->o.client_addrs[f->leader]);
	fwd_shutdown(n, true);
}

void node__fwd_close(struct node *n)
{
	fwd_shutdown(n, false);
}

void node__fwd_free(struct node *n)
{
	node__fwd_close(n);
	fr_free(n->fwd.q);
	respc_buf_free(&n->fwd.out);
	respc_buf_free(&n->fwd.in);
	memset(&n->fwd, 0, sizeof(n->fwd));
	n->fwd.fd = -1;
}

bool node__fwd_possible(const struct node_io *io)
{
	return io->size >= offsetof(struct node_io, fwd_close) +
			       sizeof(io->fwd_close) &&
	       io->fwd_open != NULL && io->fwd_write != NULL &&
	       io->fwd_kick != NULL && io->fwd_close != NULL;
}

/* Queue a handle for a request of @bytes just appended to f->out. */
static int q_push(struct node_fwd *f, const struct resp_req *req, bool swallow,
		  size_t bytes)
{
	int rv;
	struct node_fwd_req *q =
	    node__fifo_reserve(f->q, sizeof(*q), &f->q_head, &f->q_n, &f->q_cap,
			       256, SIZE_MAX, &rv);

	if (q == NULL) {
		return rv;
	}
	f->q = q;
	memset(&f->q[f->q_n], 0, sizeof(f->q[0]));
	if (req != NULL) {
		f->q[f->q_n].req = *req;
	}
	f->q[f->q_n].swallow = swallow;
	f->queued_total += bytes;
	f->q[f->q_n].end_pos = f->queued_total;
	f->q[f->q_n].t_ns = node__mono_ns();
	f->q_n++;
	return 0;
}

/* Append the request @argv (borrowed) to @b. */
static int encode(struct respc_buf *b, uint32_t argc,
		  const struct resp_arg *argv)
{
	const char *ptrs[64];
	size_t lens[64];
	const char **p = ptrs;
	size_t *l = lens;
	int rv;

	assert(argc >= 1 && argc <= INT_MAX);
	if (argc > 64) {
		p = fr_malloc(argc * sizeof(*p));
		l = fr_malloc(argc * sizeof(*l));
	}
	if (p == NULL || l == NULL) {
		rv = FR_NOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < argc; i++) {
		p[i] = argv[i].ptr;
		l[i] = argv[i].len;
	}
	rv = respc_encode(b, (int)argc, p, l);
out:
	if (p != ptrs) {
		fr_free(p);
		fr_free(l);
	}
	return rv;
}

static int fwd_connect(struct node *n)
{
	struct node_fwd *f = &n->fwd;
	int rv = n->io->fwd_open(n->io_ctx, n->leader);

	if (rv != 0) {
		return rv;
	}
	f->open = true;
	f->leader = n->leader;
	if (respc_reader_init(&f->rd, 0) != 0) {
		fwd_shutdown(n, true);
		return FR_NOMEM;
	}
	/* The admin password also passes requirepass; followers check
	 * admin commands themselves before they forward (node_admin.c). */
	const char *pw =
	    n->o.adminpass[0] != '\0' ? n->o.adminpass : n->o.requirepass;
	if (pw[0] != '\0') {
		struct resp_arg a[2] = {{"AUTH", 4}, {pw, strlen(pw)}};
		size_t len0 = f->out.len;

		rv = encode(&f->out, 2, a);
		if (rv == 0) {
			rv = q_push(f, NULL, true, f->out.len - len0);
		}
		if (rv != 0) {
			fwd_shutdown(n, true);
			return rv;
		}
	}
	return 0;
}

int node__fwd_command(struct node *n, const struct resp_req *req, uint32_t argc,
		      const struct resp_arg *argv)
{
	struct node_fwd *f = &n->fwd;
	size_t len0;
	int rv;

	if (f->open && f->leader != n->leader) {
		node__fwd_close(n); /* the leader changed */
	}
	if (f->out.len > FWD_OUT_MAX) {
		return FR_BUSY;
	}
	if (!f->open && f->failed_leader == n->leader &&
	    node__mono_ns() < f->fail_until_ns) {
		return FR_NOCONN; /* tried a moment ago */
	}
	if (!f->open && fwd_connect(n) != 0) {
		f->failed_leader = n->leader;
		f->fail_until_ns = node__mono_ns() + 100000000ull;
		return FR_NOCONN;
	}
	len0 = f->out.len;
	f->last_ns = node__mono_ns();
	rv = encode(&f->out, argc, argv);
	if (rv == 0) {
		rv = q_push(f, req, false, f->out.len - len0);
	}
	if (rv != 0) {
		f->out.len = len0;
		return rv;
	}
	n->c.forwarded++;
	n->io->fwd_kick(n->io_ctx);
	return 0;
}

/* Relay every complete reply in f->in to its request, in order; false
 * when the leader sent garbage or a reply nobody asked for. */
static bool relay(struct node *n)
{
	struct node_fwd *f = &n->fwd;
	size_t off = 0;
	bool ok = true;

	for (;;) {
		struct respc_reply r;
		size_t k;
		int rv = respc_reader_next(&f->rd, &r, &k);

		if (rv == FR_AGAIN) {
			break;
		}
		respc_reply_free(&r); /* only its length matters */
		if (rv != 0 || f->q_head == f->q_n) {
			ok = false;
			break;
		}
		assert(k <= f->in.len - off);
		if (!f->q[f->q_head].swallow) {
			(void)n->io->reply(n->io_ctx, &f->q[f->q_head].req,
					   f->in.data + off, k);
		}
		f->q_head++;
		off += k;
	}
	if (f->q_head == f->q_n) {
		f->q_head = f->q_n = 0;
	}
	respc_buf_consume(&f->in, off);
	return ok;
}

void node__fwd_writable(struct node *n)
{
	struct node_fwd *f = &n->fwd;

	while (f->open && f->out.len > 0) {
		ptrdiff_t k =
		    n->io->fwd_write(n->io_ctx, f->out.data, f->out.len);

		if (k == 0) {
			break;
		}
		if (k < 0) {
			fwd_fail(n);
			return;
		}
		respc_buf_consume(&f->out, (size_t)k);
		f->sent_total += (uint64_t)k;
	}
}

void node__fwd_input(struct node *n, const void *buf, size_t len)
{
	struct node_fwd *f = &n->fwd;

	if (!f->open) {
		return;
	}
	if (respc_buf_put(&f->in, buf, len) != 0 ||
	    respc_reader_feed(&f->rd, buf, len) != 0 || !relay(n)) {
		fwd_fail(n);
	}
}

void node__fwd_eof(struct node *n)
{
	struct node_fwd *f = &n->fwd;

	if (f->open && f->q_head == f->q_n && f->out.len == 0) {
		/* The leader closed an idle connection: nothing lost. */
		fwd_shutdown(n, false);
	} else if (f->open) {
		fwd_fail(n);
	}
}

void node__fwd_broken(struct node *n)
{
	if (n->fwd.open) {
		fwd_fail(n);
	}
}

void node__fwd_timeouts(struct node *n)
{
	struct node_fwd *f = &n->fwd;
	uint64_t idle_ns = (uint64_t)n->o.client_idle_timeout_s * 500000000ull;

	if (f->open && f->q_head == f->q_n && f->out.len == 0 && idle_ns > 0 &&
	    node__mono_ns() - f->last_ns > idle_ns) {
		fwd_shutdown(n, false); /* before the leader's idle timeout */
		return;
	}
	if (f->open && f->q_head < f->q_n &&
	    node__mono_ns() - f->q[f->q_head].t_ns >
		(uint64_t)n->o.request_timeout_ms * 1000000ull) {
		fr_log(FR_LOG_WARN, NULL,
		       "leader %u (%s) did not answer in %u ms; giving up "
		       "on its forwarding connection",
		       f->leader, n->o.client_addrs[f->leader],
		       n->o.request_timeout_ms);
		fwd_shutdown(n, true);
	}
}
