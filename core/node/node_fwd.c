/* node_fwd.c — a follower forwards client commands to the leader's RESP
 * port over one pipelined connection and relays the replies. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "heap.h"
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
 */

#define FWD_OUT_MAX (64u << 20) /* queued request bytes */

static const char fwd_lost[] =
    "-TRYAGAIN lost the connection to the leader; the outcome is unknown\r\n";
static const char fwd_unsent[] = "-TRYAGAIN could not reach the leader; the "
				 "command was not executed\r\n";

static void set_events(struct node *n)
{
	struct node_fwd *f = &n->fwd;
	struct epoll_event ev = {.data.u32 = NODE__TAG_FWD};

	ev.events = EPOLLIN | (f->out.len > 0 || f->connecting ? EPOLLOUT : 0);
	if (ev.events != f->events) {
		epoll_ctl(n->ep, EPOLL_CTL_MOD, f->fd, &ev);
		f->events = ev.events;
	}
}

static void fwd_shutdown(struct node *n, bool failed)
{
	struct node_fwd *f = &n->fwd;

	if (f->fd >= 0) {
		epoll_ctl(n->ep, EPOLL_CTL_DEL, f->fd, NULL);
		close(f->fd);
		f->fd = -1;
	}
	for (size_t i = f->q_head; i < f->q_n; i++) {
		bool sent = f->q[i].end_pos <= f->sent_total;

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
	f->connecting = false;
	f->events = 0;
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
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT,
				 .data.u32 = NODE__TAG_FWD};
	char host[NODE_ADDR_MAX];
	const char *addr = n->o.client_addrs[n->leader];
	char *colon;
	int one = 1;
	int fd;

	snprintf(host, sizeof(host), "%s", addr);
	colon = strrchr(host, ':');
	if (colon == NULL) {
		return FR_INVALID;
	}
	*colon = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
		return FR_NOCONN;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
		       errno != EINPROGRESS)) {
		if (fd >= 0) {
			close(fd);
		}
		freeaddrinfo(ai);
		return FR_NOCONN;
	}
	freeaddrinfo(ai);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (epoll_ctl(n->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		return FR_IO;
	}
	f->fd = fd;
	f->events = ev.events;
	f->connecting = true;
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
		int rv = encode(&f->out, 2, a);

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

	if (f->fd >= 0 && f->leader != n->leader) {
		node__fwd_close(n); /* the leader changed */
	}
	if (f->out.len > FWD_OUT_MAX) {
		return FR_BUSY;
	}
	if (f->fd < 0 && f->failed_leader == n->leader &&
	    node__mono_ns() < f->fail_until_ns) {
		return FR_NOCONN; /* tried a moment ago */
	}
	if (f->fd < 0 && (rv = fwd_connect(n)) != 0) {
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
	set_events(n);
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

void node__fwd_handle(struct node *n, uint32_t events)
{
	struct node_fwd *f = &n->fwd;
	char tmp[65536];

	if (f->fd < 0) {
		return;
	}
	if (events & (EPOLLERR | EPOLLHUP)) {
		goto fail;
	}
	f->connecting = false;
	while (f->out.len > 0) {
		ssize_t k = send(f->fd, f->out.data, f->out.len, MSG_NOSIGNAL);

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			break;
		}
		if (k <= 0) {
			goto fail;
		}
		respc_buf_consume(&f->out, (size_t)k);
		f->sent_total += (uint64_t)k;
	}
	for (;;) {
		ssize_t k = recv(f->fd, tmp, sizeof(tmp), 0);

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			break;
		}
		if (k == 0 && f->q_head == f->q_n && f->out.len == 0) {
			/* The leader closed an idle connection: nothing lost.
			 */
			fwd_shutdown(n, false);
			return;
		}
		if (k <= 0 || respc_buf_put(&f->in, tmp, (size_t)k) != 0 ||
		    respc_reader_feed(&f->rd, tmp, (size_t)k) != 0) {
			goto fail;
		}
		if (!relay(n)) {
			goto fail;
		}
	}
	set_events(n);
	return;
fail:
	fr_log(FR_LOG_WARN, NULL, "forwarding to leader %u (%s) failed",
	       f->leader, n->o.client_addrs[f->leader]);
	fwd_shutdown(n, true);
}

void node__fwd_timeouts(struct node *n)
{
	struct node_fwd *f = &n->fwd;
	uint64_t idle_ns = (uint64_t)n->o.client_idle_timeout_s * 500000000ull;

	if (f->fd >= 0 && f->q_head == f->q_n && f->out.len == 0 &&
	    idle_ns > 0 && node__mono_ns() - f->last_ns > idle_ns) {
		fwd_shutdown(n, false); /* before the leader's idle timeout */
		return;
	}
	if (f->fd >= 0 && f->q_head < f->q_n &&
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
