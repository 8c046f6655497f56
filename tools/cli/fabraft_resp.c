/* fabraft_resp.c — a tiny blocking RESP2 client for the fabraft CLI. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fabraft_resp.h"

#define RC_BULK_MAX  (512u << 20)
#define RC_DEPTH_MAX 16

int rc_connect(struct rc_conn *c, const char *addr, int timeout_ms)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	char host[128];
	const char *colon = strrchr(addr, ':');
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
		snprintf(c->err, sizeof(c->err), "bad address '%s'", addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
		snprintf(c->err, sizeof(c->err), "cannot resolve '%s'", addr);
		return -1;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		snprintf(c->err, sizeof(c->err), "connect %s: %s", addr,
			 strerror(errno));
		freeaddrinfo(ai);
		rc_close(c);
		return -1;
	}
	freeaddrinfo(ai);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

void rc_close(struct rc_conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
	}
	c->fd = -1;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->in_len = c->in_off = c->in_cap = 0;
	c->out_len = c->out_cap = 0;
}

static int out_put(struct rc_conn *c, const void *p, size_t len)
{
	if (c->out_cap - c->out_len < len) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *b;

		while (cap - c->out_len < len) {
			cap *= 2;
		}
		b = realloc(c->out, cap);
		if (b == NULL) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return -1;
		}
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
	return 0;
}

int rc_append(struct rc_conn *c, int argc, const char *const *argv,
	      const size_t *lens)
{
	char head[32];
	int k = snprintf(head, sizeof(head), "*%d\r\n", argc);

	if (out_put(c, head, (size_t)k) != 0) {
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		size_t len = lens ? lens[i] : strlen(argv[i]);

		k = snprintf(head, sizeof(head), "$%zu\r\n", len);
		if (out_put(c, head, (size_t)k) != 0 ||
		    out_put(c, argv[i], len) != 0 || out_put(c, "\r\n", 2)) {
			return -1;
		}
	}
	return 0;
}

static int wait_fd(struct rc_conn *c, short ev)
{
	struct pollfd p = {.fd = c->fd, .events = ev};
	int k = poll(&p, 1, c->timeout_ms);

	if (k == 1) {
		return 0;
	}
	snprintf(c->err, sizeof(c->err), "%s",
		 k == 0 ? "timed out" : strerror(errno));
	return -1;
}

int rc_flush(struct rc_conn *c)
{
	size_t off = 0;

	while (off < c->out_len) {
		ssize_t k;

		if (wait_fd(c, POLLOUT) != 0) {
			return -1;
		}
		k = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
		if (k < 0 && errno != EINTR && errno != EAGAIN) {
			snprintf(c->err, sizeof(c->err), "send: %s",
				 strerror(errno));
			return -1;
		}
		off += k > 0 ? (size_t)k : 0;
	}
	c->out_len = 0;
	return 0;
}

/* Make @need bytes available at in + in_off. */
static int fill(struct rc_conn *c, size_t need)
{
	while (c->in_len - c->in_off < need) {
		ssize_t k;

		if (c->in_off > 0) {
			memmove(c->in, c->in + c->in_off,
				c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->in_off = 0;
		}
		if (c->in_cap - c->in_len < 65536 || c->in_cap < need + 1) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
			char *b;

			while (cap < need + 65536) {
				cap *= 2;
			}
			b = realloc(c->in, cap);
			if (b == NULL) {
				snprintf(c->err, sizeof(c->err),
					 "out of memory");
				return -1;
			}
			c->in = b;
			c->in_cap = cap;
		}
		if (wait_fd(c, POLLIN) != 0) {
			return -1;
		}
		k = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (k == 0) {
			snprintf(c->err, sizeof(c->err),
				 "connection closed by server");
			return -1;
		}
		if (k < 0 && errno != EINTR && errno != EAGAIN) {
			snprintf(c->err, sizeof(c->err), "recv: %s",
				 strerror(errno));
			return -1;
		}
		c->in_len += k > 0 ? (size_t)k : 0;
	}
	return 0;
}

/* One CRLF-terminated line; returns its length (without CRLF) or -1. */
static long line(struct rc_conn *c, const char **start)
{
	size_t need = 1;

	for (;;) {
		char *p;

		if (fill(c, need) != 0) {
			return -1;
		}
		p = memchr(c->in + c->in_off, '\n', c->in_len - c->in_off);
		if (p != NULL) {
			long len = p - (c->in + c->in_off);

			*start = c->in + c->in_off;
			c->in_off += (size_t)len + 1;
			return len > 0 && (*start)[len - 1] == '\r' ? len - 1
								    : len;
		}
		need = c->in_len - c->in_off + 1;
		if (need > 65536) {
			snprintf(c->err, sizeof(c->err), "reply line too long");
			return -1;
		}
	}
}

static int read_depth(struct rc_conn *c, struct rc_reply *r, int depth)
{
	const char *s;
	long len;
	long long v;

	memset(r, 0, sizeof(*r));
	len = line(c, &s);
	if (len < 1 || depth > RC_DEPTH_MAX) {
		if (len >= 0) {
			snprintf(c->err, sizeof(c->err), "bad reply");
		}
		return -1;
	}
	r->type = s[0];
	switch (r->type) {
	case '+':
	case '-':
		r->str = strndup(s + 1, (size_t)len - 1);
		r->len = (size_t)len - 1;
		return r->str ? 0 : -1;
	case ':':
		r->integer = strtoll(s + 1, NULL, 10);
		return 0;
	case '$':
		v = strtoll(s + 1, NULL, 10);
		if (v < 0) {
			r->len = SIZE_MAX;
			return 0;
		}
		if (v > RC_BULK_MAX || fill(c, (size_t)v + 2) != 0) {
			return -1;
		}
		r->str = malloc((size_t)v + 1);
		if (r->str == NULL) {
			return -1;
		}
		memcpy(r->str, c->in + c->in_off, (size_t)v);
		r->str[v] = '\0';
		r->len = (size_t)v;
		c->in_off += (size_t)v + 2;
		return 0;
	case '*':
		v = strtoll(s + 1, NULL, 10);
		if (v < 0) {
			r->n = SIZE_MAX;
			return 0;
		}
		if (v > 1000000) {
			return -1;
		}
		r->elem = calloc((size_t)v + 1, sizeof(*r->elem));
		if (r->elem == NULL) {
			return -1;
		}
		for (long long i = 0; i < v; i++) {
			r->n = (size_t)i + 1;
			if (read_depth(c, &r->elem[i], depth + 1) != 0) {
				return -1;
			}
		}
		return 0;
	default:
		snprintf(c->err, sizeof(c->err), "bad reply type '%c'", s[0]);
		return -1;
	}
}

int rc_read(struct rc_conn *c, struct rc_reply *r)
{
	int rv = read_depth(c, r, 0);

	if (rv != 0) {
		rc_reply_free(r);
	}
	return rv;
}

int rc_command(struct rc_conn *c, struct rc_reply *r, int argc,
	       const char *const *argv)
{
	if (rc_append(c, argc, argv, NULL) != 0 || rc_flush(c) != 0) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	return rc_read(c, r);
}

void rc_reply_free(struct rc_reply *r)
{
	if (r->type == '*' && r->n != SIZE_MAX) {
		for (size_t i = 0; i < r->n; i++) {
			rc_reply_free(&r->elem[i]);
		}
	}
	free(r->elem);
	free(r->str);
	memset(r, 0, sizeof(*r));
}

void rc_reply_print(const struct rc_reply *r, int indent)
{
	switch (r->type) {
	case '+':
		printf("%s\n", r->str);
		break;
	case '-':
		printf("(error) %s\n", r->str);
		break;
	case ':':
		printf("(integer) %lld\n", (long long)r->integer);
		break;
	case '$':
		if (r->len == SIZE_MAX) {
			printf("(nil)\n");
		} else {
			printf("\"%.*s\"\n", (int)r->len, r->str);
		}
		break;
	case '*':
		if (r->n == SIZE_MAX) {
			printf("(nil)\n");
		} else if (r->n == 0) {
			printf("(empty array)\n");
		}
		for (size_t i = 0; r->n != SIZE_MAX && i < r->n; i++) {
			printf("%*s%zu) ", i ? indent : 0, "", i + 1);
			rc_reply_print(&r->elem[i], indent + 3);
		}
		break;
	default:
		break;
	}
}

void rc_info_field(const char *info, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	const char *p = info;

	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
			const char *e = strpbrk(p + kl + 1, "\r\n");
			size_t len =
			    e ? (size_t)(e - p - kl - 1) : strlen(p + kl + 1);

			if (len >= cap) {
				len = cap - 1;
			}
			memcpy(out, p + kl + 1, len);
			out[len] = '\0';
			return;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
}

char *rc_info(const char *addr, int timeout_ms,
	      int (*connect)(struct rc_conn *c, const char *addr,
			     int timeout_ms))
{
	const char *argv[] = {"INFO"};
	struct rc_conn c;
	struct rc_reply r;
	char *s = NULL;

	if (connect(&c, addr, timeout_ms) != 0) {
		rc_close(&c);
		return NULL;
	}
	if (rc_command(&c, &r, 1, argv) == 0 && r.type == '$' &&
	    r.len != SIZE_MAX) {
		s = r.str;
		r.str = NULL;
	}
	rc_reply_free(&r);
	rc_close(&c);
	return s;
}
