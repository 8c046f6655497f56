/* resp_client_conn.c — the blocking helpers: connect with a timeout, AUTH,
 * send commands, read a reply before a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "resp_client.h"

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @ev on c->fd until @deadline_ms (mono_ms()).  0 or FR_TIMEOUT /
 * FR_IO with c->err. */
static int wait_fd(struct respc_conn *c, short ev, int64_t deadline_ms)
{
	for (;;) {
		struct pollfd p = {.fd = c->fd, .events = ev};
		int64_t left = deadline_ms - mono_ms();
		int k = poll(&p, 1, left > 0 ? (int)left : 0);

		if (k == 1) {
			return 0;
		}
		if (k == 0) {
			snprintf(c->err, sizeof(c->err), "timed out");
			return FR_TIMEOUT;
		}
		if (errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "poll: %s",
				 strerror(errno));
			return FR_IO;
		}
	}
}

/* Non-blocking connect to @ai, finished within @timeout_ms. */
static int connect_one(struct respc_conn *c, const struct addrinfo *ai,
		       const char *addr, int timeout_ms)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	int one = 1;
	int rv;

	c->fd = socket(ai->ai_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(c->err, sizeof(c->err), "socket: %s", strerror(errno));
		return FR_NOCONN;
	}
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			soerr = errno;
		} else if ((rv = wait_fd(c, POLLOUT, mono_ms() + timeout_ms)) !=
			   0) {
			snprintf(c->err, sizeof(c->err),
				 "connect %s: timed out", addr);
			return rv;
		} else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr,
				      &sl) != 0) {
			soerr = errno;
		}
	}
	if (soerr != 0) {
		snprintf(c->err, sizeof(c->err), "connect %s: %s", addr,
			 strerror(soerr));
		return FR_NOCONN;
	}
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

int respc_connect(struct respc_conn *c, const char *addr, int timeout_ms)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	char host[128];
	const char *colon = strrchr(addr, ':');
	int rv;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
		snprintf(c->err, sizeof(c->err), "bad address '%s'", addr);
		return FR_INVALID;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
		snprintf(c->err, sizeof(c->err), "cannot resolve '%s'", addr);
		return FR_NOCONN;
	}
	rv = connect_one(c, ai, addr, timeout_ms);
	freeaddrinfo(ai);
	if (rv == 0 && respc_reader_init(&c->rd, 0) != 0) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		rv = FR_NOMEM;
	}
	if (rv != 0) {
		char err[sizeof(c->err)];

		memcpy(err, c->err, sizeof(err));
		respc_close(c);
		memcpy(c->err, err, sizeof(err));
	}
	return rv;
}

void respc_close(struct respc_conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
	}
	c->fd = -1;
	respc_reader_close(&c->rd);
	respc_buf_free(&c->out);
}

int respc_append(struct respc_conn *c, int argc, const char *const *argv,
		 const size_t *lens)
{
	int rv = respc_encode(&c->out, argc, argv, lens);

	if (rv != 0) {
		snprintf(c->err, sizeof(c->err), "out of memory");
	}
	return rv;
}

int respc_flush(struct respc_conn *c)
{
	int64_t deadline = mono_ms() + c->timeout_ms;
	size_t off = 0;

	while (off < c->out.len) {
		ssize_t k;
		int rv = wait_fd(c, POLLOUT, deadline);

		if (rv != 0) {
			return rv;
		}
		k = send(c->fd, c->out.data + off, c->out.len - off,
			 MSG_NOSIGNAL);
		if (k < 0 && errno != EINTR && errno != EAGAIN) {
			snprintf(c->err, sizeof(c->err), "send: %s",
				 strerror(errno));
			return FR_IO;
		}
		off += k > 0 ? (size_t)k : 0;
	}
	c->out.len = 0;
	return 0;
}

/* Receive what the socket has into the reader, waiting until @deadline. */
static int fill(struct respc_conn *c, int64_t deadline)
{
	char tmp[65536];
	ssize_t k;
	int rv = wait_fd(c, POLLIN, deadline);

	if (rv != 0) {
		return rv;
	}
	k = recv(c->fd, tmp, sizeof(tmp), 0);
	if (k == 0 || (k < 0 && errno == ECONNRESET)) {
		snprintf(c->err, sizeof(c->err), "connection closed by server");
		return FR_NOCONN;
	}
	if (k < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			return 0;
		}
		snprintf(c->err, sizeof(c->err), "recv: %s", strerror(errno));
		return FR_IO;
	}
	return respc_reader_feed(&c->rd, tmp, (size_t)k);
}

int respc_read(struct respc_conn *c, struct respc_reply *r)
{
	int64_t deadline = mono_ms() + c->timeout_ms;
	int rv;

	if (c->fd < 0) {
		memset(r, 0, sizeof(*r));
		snprintf(c->err, sizeof(c->err), "not connected");
		return FR_NOCONN;
	}
	while ((rv = respc_reader_next(&c->rd, r, NULL)) == FR_AGAIN) {
		rv = fill(c, deadline);
		if (rv != 0) {
			return rv;
		}
	}
	if (rv != 0) {
		snprintf(c->err, sizeof(c->err), "bad reply: %.100s",
			 c->rd.err);
	}
	return rv;
}

int respc_command(struct respc_conn *c, struct respc_reply *r, int argc,
		  const char *const *argv)
{
	int rv = respc_append(c, argc, argv, NULL);

	if (rv == 0) {
		rv = respc_flush(c);
	}
	if (rv != 0) {
		memset(r, 0, sizeof(*r));
		return rv;
	}
	return respc_read(c, r);
}

int respc_auth(struct respc_conn *c, const char *password)
{
	const char *argv[] = {"AUTH", password};
	struct respc_reply r;
	int rv = respc_command(c, &r, 2, argv);

	if (rv == 0 && r.type != '+') {
		snprintf(c->err, sizeof(c->err), "AUTH: %s",
			 r.type == '-' ? r.str : "unexpected reply");
		rv = FR_AUTH;
	}
	respc_reply_free(&r);
	return rv;
}
