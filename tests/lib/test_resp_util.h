/* test_resp_util.h — socket helpers for the RESP server tests (one thread
 * drives both the server and its clients, so every wait pumps the server). */
#ifndef FABRAFT_TEST_RESP_UTIL_H
#define FABRAFT_TEST_RESP_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "resp.h"

static inline long tu_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait up to @ms for the server's fd, then handle and flush. */
static inline void tu_pump(struct resp_server *s, int ms)
{
	struct pollfd pfd = {.fd = resp_server_fd(s), .events = POLLIN};
	(void)poll(&pfd, 1, ms);
	if (resp_server_handle(s) != 0) {
		abort();
	}
}

/* Connect to 127.0.0.1:@port; the socket is non-blocking afterwards. */
static inline int tu_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return fd;
}

/* Send all of @p, pumping the server while the socket is full.  Returns
 * false if the server closed the connection first. */
static inline bool tu_send(struct resp_server *s, int fd, const void *p,
			   size_t n)
{
	const char *c = p;
	long deadline = tu_now_ms() + 20000;
	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			return false;
		}
		if (tu_now_ms() > deadline) {
			return false;
		}
		tu_pump(s, 1);
	}
	return true;
}

/*
 * Read until @buf holds @want bytes, EOF, or @timeout_ms pass; pumps the
 * server meanwhile.  Returns the bytes read; *@eof tells whether the peer
 * closed (EOF or reset).
 */
static inline size_t tu_read(struct resp_server *s, int fd, char *buf,
			     size_t want, int timeout_ms, bool *eof)
{
	size_t got = 0;
	long deadline = tu_now_ms() + timeout_ms;
	*eof = false;
	while (got < want) {
		ssize_t r = recv(fd, buf + got, want - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
			       errno != EINTR)) {
			*eof = true;
			break;
		}
		if (tu_now_ms() > deadline) {
			break;
		}
		tu_pump(s, 1);
	}
	return got;
}

/* Pump for @ms, then tell whether the connection reached EOF with no more
 * bytes (true) — a way to check "closed, and said nothing more". */
static inline bool tu_closed(struct resp_server *s, int fd, int ms)
{
	char b[64];
	bool eof;
	size_t n = tu_read(s, fd, b, sizeof(b), ms, &eof);
	return n == 0 && eof;
}

#endif /* FABRAFT_TEST_RESP_UTIL_H */
