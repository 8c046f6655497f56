/* node_fwd_sock.c — the daemon's forwarding stream: a non-blocking TCP
 * socket to the leader's RESP port in node_run()'s epoll set (the real
 * table's fwd_* callbacks, node_io.h; the rules are node_fwd.c's). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node_int.h"

/* Read interest always; write interest while bytes wait or connect() is
 * in progress. */
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

int node__fwd_sock_open(void *ctx, raft_id leader)
{
	struct node *n = ctx;
	struct node_fwd *f = &n->fwd;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT,
				 .data.u32 = NODE__TAG_FWD};
	char host[NODE_ADDR_MAX];
	char *colon;
	int one = 1;
	int fd;

	snprintf(host, sizeof(host), "%s", n->o.client_addrs[leader]);
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
	return 0;
}

ptrdiff_t node__fwd_sock_write(void *ctx, const void *buf, size_t len)
{
	struct node *n = ctx;
	ssize_t k = send(n->fwd.fd, buf, len, MSG_NOSIGNAL);

	if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
		return 0;
	}
	return k <= 0 ? -1 : (ptrdiff_t)k;
}

void node__fwd_sock_kick(void *ctx)
{
	set_events(ctx); /* EPOLLOUT: node__fwd_handle() sends */
}

void node__fwd_sock_close(void *ctx)
{
	struct node *n = ctx;
	struct node_fwd *f = &n->fwd;

	if (f->fd >= 0) {
		epoll_ctl(n->ep, EPOLL_CTL_DEL, f->fd, NULL);
		close(f->fd);
		f->fd = -1;
	}
	f->connecting = false;
	f->events = 0;
}

void node__fwd_handle(struct node *n, uint32_t events)
{
	struct node_fwd *f = &n->fwd;
	char tmp[65536];

	if (f->fd < 0) {
		return;
	}
	if (events & (EPOLLERR | EPOLLHUP)) {
		node__fwd_broken(n);
		return;
	}
	f->connecting = false;
	node__fwd_writable(n);
	while (f->fd >= 0) {
		ssize_t k = recv(f->fd, tmp, sizeof(tmp), 0);

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			break;
		}
		if (k == 0) {
			node__fwd_eof(n);
		} else if (k < 0) {
			node__fwd_broken(n);
		} else {
			node__fwd_input(n, tmp, (size_t)k);
		}
	}
	if (f->fd >= 0) {
		set_events(n);
	}
}
