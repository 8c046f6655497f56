/* node_fwd.c — a follower forwards client commands to the leader's RESP
 * port over one pipelined connection and relays the replies. */
#include <errno.h>
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
 */

#define FWD_OUT_MAX   (64u << 20) /* queued request bytes */
#define FWD_DEPTH_MAX 32	  /* nesting of a reply */

static const char fwd_lost[] =
    "-TRYAGAIN lost the connection to the leader; the outcome is unknown\r\n";
static const char fwd_unsent[] = "-TRYAGAIN could not reach the leader; the "
				 "command was not executed\r\n";

static int buf_put(struct node_fwd_buf *b, const void *p, size_t len)
{
	if (b->cap - b->len < len) {
		size_t cap = b->cap ? b->cap : 16384;
		char *nb;

		while (cap - b->len < len) {
			cap *= 2;
		}
		nb = fr_realloc(b->data, cap);
		if (nb == NULL) {
			return FR_NOMEM;
		}
		b->data = nb;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

static void buf_consume(struct node_fwd_buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

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
			(void)resp_req_complete(&f->q[i].req, fwd_lost,
						sizeof(fwd_lost) - 1);
		} else {
			(void)resp_req_complete(&f->q[i].req, fwd_unsent,
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
	fr_free(n->fwd.out.data);
	fr_free(n->fwd.in.data);
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

static int encode(struct node_fwd_buf *b, uint32_t argc,
		  const struct resp_arg *argv)
{
	char head[32];
	int k = snprintf(head, sizeof(head), "*%u\r\n", argc);
	int rv = buf_put(b, head, (size_t)k);

	for (uint32_t i = 0; rv == 0 && i < argc; i++) {
		k = snprintf(head, sizeof(head), "$%zu\r\n", argv[i].len);
		rv = buf_put(b, head, (size_t)k);
		if (rv == 0) {
			rv = buf_put(b, argv[i].ptr, argv[i].len);
		}
		if (rv == 0) {
			rv = buf_put(b, "\r\n", 2);
		}
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
	if (n->o.requirepass[0] != '\0') {
		struct resp_arg a[2] = {
		    {"AUTH", 4}, {n->o.requirepass, strlen(n->o.requirepass)}};
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

/* Length of one complete RESP value at @p (@len bytes): > 0, 0 when
 * incomplete, -1 when malformed. */
static long value_len(const char *p, size_t len, int depth)
{
	const char *nl = memchr(p, '\n', len);
	long long v;
	long off;
	char *end;

	if (nl == NULL) {
		return len > 65536 ? -1 : 0;
	}
	off = nl - p + 1;
	if (depth > FWD_DEPTH_MAX || off < 3 || nl[-1] != '\r') {
		return -1;
	}
	switch (p[0]) {
	case '+':
	case '-':
	case ':':
		return off;
	case '$':
		v = strtoll(p + 1, &end, 10);
		if (end != nl - 1) {
			return -1;
		}
		if (v < 0) {
			return off;
		}
		if ((size_t)off + (size_t)v + 2 > len) {
			return 0;
		}
		return off + (long)v + 2;
	case '*':
		v = strtoll(p + 1, &end, 10);
		if (end != nl - 1) {
			return -1;
		}
		for (long long i = 0; i < v; i++) {
			long e =
			    value_len(p + off, len - (size_t)off, depth + 1);

			if (e <= 0) {
				return e;
			}
			off += e;
		}
		return off;
	default:
		return -1;
	}
}

static bool relay(struct node *n)
{
	struct node_fwd *f = &n->fwd;
	size_t off = 0;

	while (off < f->in.len) {
		long k = value_len(f->in.data + off, f->in.len - off, 0);

		if (k < 0 || (k > 0 && f->q_head == f->q_n)) {
			return false; /* garbage, or a reply nobody asked */
		}
		if (k == 0) {
			break;
		}
		if (!f->q[f->q_head].swallow) {
			(void)resp_req_complete(&f->q[f->q_head].req,
						f->in.data + off, (size_t)k);
		}
		f->q_head++;
		off += (size_t)k;
	}
	if (f->q_head == f->q_n) {
		f->q_head = f->q_n = 0;
	}
	buf_consume(&f->in, off);
	return true;
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
		buf_consume(&f->out, (size_t)k);
		f->sent_total += (uint64_t)k;
	}
	for (;;) {
		ssize_t k = recv(f->fd, tmp, sizeof(tmp), 0);

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			break;
		}
		if (k <= 0 || buf_put(&f->in, tmp, (size_t)k) != 0) {
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
