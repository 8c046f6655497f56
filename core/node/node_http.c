/* node_http.c — the metrics endpoint (--metrics): a small non-blocking
 * HTTP/1.0 server inside the node's event loop. */
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "heap.h"
#include "node_int.h"

/*
 * Design notes
 * ============
 * The endpoint used to accept and read with blocking calls inside the
 * loop: every silent connection stalled Raft and the clients for 50 ms.
 * Now:
 *  1. Nothing here blocks.  The listener and every connection are
 *     non-blocking and in the loop's epoll; a connection is read when
 *     epoll says it is readable and written when it is writable.
 *  2. At most NODE_HTTP_CONNS_MAX connections are open.  When all are
 *     taken a new one evicts the oldest that is not sending an answer (a
 *     scraper sends its request right after connecting, so the oldest
 *     silent connection is the least likely to be one); when every slot is
 *     sending, the new one is closed at once.
 *  3. A request head (request line and headers) longer than
 *     NODE_HTTP_REQUEST_BYTES_MAX is answered 431; a method other than
 *     GET or HEAD 405; a path other than / or /metrics 404.
 *  4. Every connection is closed NODE_HTTP_TIMEOUT_MS after it was
 *     accepted, whatever it is doing (checked every tick).
 *  5. After the answer the write side is shut and what the client still
 *     sends is read and dropped until it closes: closing with unread bytes
 *     would reset the connection and could lose the answer (a 431).
 *  6. The page is rendered on the loop thread from one status snapshot
 *     (node_status.h), like INFO: no second thread, no lock.
 *
 * States of a slot:  FREE -accept-> READ -head complete or too long->
 *   WRITE -all sent-> DRAIN -client closed-> FREE; any state -> FREE on
 *   an error, an eviction (READ, DRAIN) or the time limit.
 */

enum {
	HTTP_FREE = 0, /* fd -1 */
	HTTP_READ,     /* waiting for the request head */
	HTTP_WRITE,    /* sending the answer */
	HTTP_DRAIN,    /* answer sent, reading until the client closes */
};

int node__metrics_open(struct node *n, char *errmsg)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE};
	struct addrinfo *ai;
	char host[NODE_ADDR_MAX];
	char *colon;
	int one = 1;
	int fd;

	snprintf(host, sizeof(host), "%s", n->o.metrics);
	colon = strrchr(host, ':');
	if (colon == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "--metrics wants HOST:PORT, got '%s'", n->o.metrics);
		return FR_INVALID;
	}
	*colon = '\0';
	n->http = fr_calloc(NODE_HTTP_CONNS_MAX, sizeof(*n->http));
	if (n->http == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "out of memory");
		return FR_NOMEM;
	}
	for (uint32_t i = 0; i < NODE_HTTP_CONNS_MAX; i++) {
		n->http[i].fd = -1;
	}
	if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai) != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "--metrics %s: bad address",
			 n->o.metrics);
		return FR_INVALID;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, 64) != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "--metrics %s: %s",
			 n->o.metrics, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		freeaddrinfo(ai);
		return FR_IO;
	}
	freeaddrinfo(ai);
	n->mfd = fd;
	return 0;
}

static void conn_close(struct node_http_conn *c)
{
	if (c->fd >= 0) {
		/* Closing removes it from the epoll set too. */
		close(c->fd);
	}
	fr_free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->state = HTTP_FREE;
	c->in_len = 0;
	c->out_len = 0;
	c->out_pos = 0;
}

void node__metrics_close(struct node *n)
{
	if (n->http != NULL) {
		for (uint32_t i = 0; i < NODE_HTTP_CONNS_MAX; i++) {
			conn_close(&n->http[i]);
		}
	}
	fr_free(n->http);
	n->http = NULL;
	if (n->mfd >= 0) {
		close(n->mfd);
	}
	n->mfd = -1;
}

/* A slot for a new connection: a free one, else the oldest that is not
 * sending an answer (evicted), else NULL (note 2). */
static struct node_http_conn *slot_take(struct node *n)
{
	struct node_http_conn *old = NULL;

	for (uint32_t i = 0; i < NODE_HTTP_CONNS_MAX; i++) {
		struct node_http_conn *c = &n->http[i];

		if (c->state == HTTP_FREE) {
			return c;
		}
		if (c->state != HTTP_WRITE &&
		    (old == NULL || c->start_ns < old->start_ns)) {
			old = c;
		}
	}
	if (old != NULL) {
		n->c.http_evicted++;
		conn_close(old);
	}
	return old;
}

static int watch(struct node *n, struct node_http_conn *c, int op,
		 uint32_t events)
{
	struct epoll_event ev = {.events = events};

	ev.data.u32 = NODE__TAG_HTTP + (uint32_t)(c - n->http);
	return epoll_ctl(n->ep, op, c->fd, &ev);
}

void node__metrics_accept(struct node *n)
{
	/* Bounded: a flood of connections cannot keep the loop here. */
	for (uint32_t k = 0; k < 2 * NODE_HTTP_CONNS_MAX; k++) {
		int fd =
		    accept4(n->mfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct node_http_conn *c;

		if (fd < 0) {
			return; /* EAGAIN, or an error the next accept sees */
		}
		c = slot_take(n);
		if (c == NULL) {
			n->c.http_refused++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = HTTP_READ;
		c->start_ns = node__mono_ns();
		if (watch(n, c, EPOLL_CTL_ADD, EPOLLIN) != 0) {
			conn_close(c);
		}
	}
}

/* Length of the request head in c->in (through its blank line), 0 while
 * it is incomplete. */
static size_t head_len(const struct node_http_conn *c)
{
	for (size_t i = 0; i < c->in_len; i++) {
		if (c->in[i] != '\n') {
			continue;
		}
		if (i >= 1 && c->in[i - 1] == '\n') {
			return i + 1;
		}
		if (i >= 2 && c->in[i - 1] == '\r' && c->in[i - 2] == '\n') {
			return i + 1;
		}
	}
	return 0;
}

/* The status of the answer to the head in c->in (note 3); *@page and
 * *@body say whether it carries the metrics page and a body at all. */
static int answer_status(const struct node_http_conn *c, bool complete,
			 bool *page, bool *body)
{
	const char *sp;
	const char *end;
	size_t plen;

	*page = false;
	*body = true;
	if (!complete) {
		return 431;
	}
	sp = memchr(c->in, ' ', c->in_len);
	if (sp == NULL) {
		return 400;
	}
	if ((size_t)(sp - c->in) == 4 && memcmp(c->in, "HEAD", 4) == 0) {
		*body = false;
	} else if ((size_t)(sp - c->in) != 3 || memcmp(c->in, "GET", 3) != 0) {
		return 405;
	}
	sp++;
	end = sp;
	while (end < c->in + c->in_len && *end != ' ' && *end != '?' &&
	       *end != '\r' && *end != '\n') {
		end++;
	}
	plen = (size_t)(end - sp);
	if (!((plen == 1 && sp[0] == '/') ||
	      (plen == 8 && memcmp(sp, "/metrics", 8) == 0))) {
		return 404;
	}
	*page = true;
	return 200;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	}
	return "Service Unavailable";
}

/* Build the answer into c->out (head, then the page or a one-line text). */
static int answer_build(struct node *n, struct node_http_conn *c, bool complete)
{
	bool page;
	bool body;
	int status = answer_status(c, complete, &page, &body);
	char *text = NULL;
	size_t text_len = 0;
	char head[192];
	int hl;

	if (page) {
		node__metrics_render(n, &text, &text_len);
	} else {
		n->c.http_refused++;
		text_len = strlen(reason(status)) + 1;
		text = fr_malloc(text_len + 1);
		if (text != NULL) {
			snprintf(text, text_len + 1, "%s\n", reason(status));
		}
	}
	if (text == NULL) {
		return FR_NOMEM;
	}
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.0 %d %s\r\nContent-Type: text/plain; "
		      "version=0.0.4\r\nContent-Length: %zu\r\n"
		      "Connection: close\r\n\r\n",
		      status, reason(status), text_len);
	assert(hl > 0 && (size_t)hl < sizeof(head));
	c->out_len = (size_t)hl + (body ? text_len : 0);
	c->out = fr_malloc(c->out_len);
	if (c->out == NULL) {
		fr_free(text);
		return FR_NOMEM;
	}
	memcpy(c->out, head, (size_t)hl);
	if (body) {
		memcpy(c->out + hl, text, text_len);
	}
	fr_free(text);
	c->out_pos = 0;
	c->state = HTTP_WRITE;
	return 0;
}

/* Send what is left of the answer; then shut the write side (note 5). */
static void conn_write(struct node *n, struct node_http_conn *c)
{
	while (c->out_pos < c->out_len) {
		ssize_t k = send(c->fd, c->out + c->out_pos,
				 c->out_len - c->out_pos, MSG_NOSIGNAL);

		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (watch(n, c, EPOLL_CTL_MOD, EPOLLOUT) != 0) {
				conn_close(c);
			}
			return;
		}
		if (k <= 0) {
			conn_close(c);
			return;
		}
		c->out_pos += (size_t)k;
	}
	fr_free(c->out);
	c->out = NULL;
	c->state = HTTP_DRAIN;
	if (shutdown(c->fd, SHUT_WR) != 0 ||
	    watch(n, c, EPOLL_CTL_MOD, EPOLLIN) != 0) {
		conn_close(c);
	}
}

/* Read what is there; answer once the head is complete or too long. */
static void conn_read(struct node *n, struct node_http_conn *c)
{
	for (;;) {
		char sink[512];
		bool drain =
		    c->state == HTTP_DRAIN || c->in_len == sizeof(c->in);
		char *dst = drain ? sink : c->in + c->in_len;
		size_t cap = drain ? sizeof(sink) : sizeof(c->in) - c->in_len;
		ssize_t k = read(c->fd, dst, cap);

		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		}
		if (k <= 0) {
			conn_close(c); /* closed by the client, or failed */
			return;
		}
		if (drain) {
			continue;
		}
		c->in_len += (size_t)k;
		bool complete = head_len(c) > 0;
		if (complete || c->in_len == sizeof(c->in)) {
			if (answer_build(n, c, complete) != 0) {
				conn_close(c);
				return;
			}
			conn_write(n, c);
			return;
		}
	}
}

void node__metrics_conn(struct node *n, uint32_t slot, uint32_t events)
{
	struct node_http_conn *c;

	assert(slot < NODE_HTTP_CONNS_MAX && n->http != NULL);
	c = &n->http[slot];
	if (c->state == HTTP_FREE) {
		return; /* closed earlier in this batch of events */
	}
	if (c->state == HTTP_WRITE) {
		conn_write(n, c);
	} else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		conn_read(n, c);
	}
}

void node__metrics_timeouts(struct node *n)
{
	uint64_t now;

	if (n->http == NULL) {
		return;
	}
	now = node__mono_ns();
	for (uint32_t i = 0; i < NODE_HTTP_CONNS_MAX; i++) {
		struct node_http_conn *c = &n->http[i];

		if (c->state != HTTP_FREE &&
		    now - c->start_ns >= NODE_HTTP_TIMEOUT_MS * 1000000ull) {
			/* A drained answer went out: not a timeout. */
			if (c->state != HTTP_DRAIN) {
				n->c.http_timeouts++;
			}
			conn_close(c);
		}
	}
}
