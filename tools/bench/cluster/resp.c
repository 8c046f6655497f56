/* resp.c — the RESP load driver of the cluster benchmark:
 * client threads, each multiplexing its clients' connections with poll(),
 * one request (or a pipeline of them) in flight per client. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_cluster.h"
#include "work.h"

/* One client: a connection and the requests it has in flight. */
struct conn {
	int fd;			       /* -1 once broken */
	int client;		       /* global client number */
	uint64_t n;		       /* operations issued */
	char *out;		       /* requests not yet sent (malloc'd) */
	size_t out_len;		       /* bytes in out */
	size_t out_off;		       /* bytes of out already sent */
	size_t out_cap;		       /* allocated */
	char *in;		       /* reply bytes not yet parsed */
	size_t in_len;		       /* bytes in in */
	size_t in_cap;		       /* allocated */
	uint64_t sent_ns[BC_PIPE_MAX]; /* queue of in-flight requests */
	uint8_t kind[BC_PIPE_MAX];     /* their bc_op_kind */
	unsigned q_head;	       /* oldest in the queue */
	unsigned q_n;		       /* in flight */
};

/* One client thread and what it measured. */
struct thr {
	struct bc_thr b;    /* cell, clients, counts (bc_run_threads) */
	struct conn *c;	    /* b.n connections (malloc'd) */
	struct pollfd *pfd; /* b.n poll entries (malloc'd) */
	char *value;	    /* the SET value (malloc'd) */
};

static int out_reserve(struct conn *c, size_t more)
{
	if (c->out_off > 0 && c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
	}
	if (c->out_cap - c->out_len < more) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *b;

		while (cap - c->out_len < more) {
			cap *= 2;
		}
		b = realloc(c->out, cap);
		if (b == NULL) {
			return -1;
		}
		c->out = b;
		c->out_cap = cap;
	}
	return 0;
}

static void put_bulk(struct conn *c, const char *s, size_t len)
{
	c->out_len += (size_t)sprintf(c->out + c->out_len, "$%zu\r\n", len);
	memcpy(c->out + c->out_len, s, len);
	c->out_len += len;
	c->out[c->out_len++] = '\r';
	c->out[c->out_len++] = '\n';
}

static void put_str(struct conn *c, const char *s)
{
	put_bulk(c, s, strlen(s));
}

static int append_op(struct thr *t, struct conn *c, const struct bc_op *op)
{
	const struct bc_load *ld = t->b.ld;
	size_t v = ld->spec->value_bytes;
	char key[48];
	char h[33];
	char prev[33];
	char num[24];

	if (out_reserve(c, v + 8192) != 0) {
		return -1;
	}
	switch (op->kind) {
	case BC_OP_SET:
	case BC_OP_GET:
		c->out_len += (size_t)sprintf(c->out + c->out_len, "*%d\r\n",
					      op->kind == BC_OP_SET ? 3 : 2);
		put_str(c, op->kind == BC_OP_SET ? "SET" : "GET");
		put_bulk(c, key,
			 (size_t)bc_key(c->client, op->idx, key, sizeof(key)));
		if (op->kind == BC_OP_SET) {
			put_bulk(c, t->value, v);
		}
		break;
	case BC_OP_PUT:
		c->out_len += (size_t)sprintf(c->out + c->out_len, "*%d\r\n",
					      2 + 7 * BC_CHAIN_BLOCKS);
		put_str(c, "KVC.PUT");
		put_str(c, BC_NAMESPACE);
		for (int i = 0; i < BC_CHAIN_BLOCKS; i++) {
			bc_block_hash(c->client, op->idx, i, h);
			put_str(c, h);
			put_str(c, i == 0 ? "-" : prev);
			put_str(c, "16");
			put_str(c, "1");
			put_str(c, "dram");
			snprintf(num, sizeof(num), "%llu",
				 (unsigned long long)bc_block_offset(
				     ld, c->client, op, i));
			put_str(c, num);
			snprintf(num, sizeof(num), "%u", BC_BLOCK_BYTES);
			put_str(c, num);
			memcpy(prev, h, sizeof(prev));
		}
		break;
	case BC_OP_LOOKUP:
		c->out_len += (size_t)sprintf(c->out + c->out_len, "*%d\r\n",
					      2 + BC_CHAIN_BLOCKS);
		put_str(c, "KVC.LOOKUP");
		put_str(c, BC_NAMESPACE);
		for (int i = 0; i < BC_CHAIN_BLOCKS; i++) {
			bc_block_hash(c->client, op->idx, i, h);
			put_str(c, h);
		}
		break;
	}
	return 0;
}

/* Length of the complete reply at @p (@n bytes): > 0, 0 when more bytes
 * are needed, -1 when malformed.  The top level's type and number (the
 * integer, bulk length or array count) go to @type and @num. */
static long scan(const char *p, size_t n, int depth, char *type, long long *num)
{
	const char *nl = memchr(p, '\n', n);
	long long v;
	long len;

	if (nl == NULL) {
		return 0;
	}
	if (depth > 8 || nl == p) {
		return -1;
	}
	len = nl - p + 1;
	*type = p[0];
	v = strtoll(p + 1, NULL, 10);
	*num = v;
	switch (p[0]) {
	case '+':
	case '-':
	case ':':
		return len;
	case '$':
		if (v < 0) {
			return len;
		}
		return (size_t)len + (size_t)v + 2 <= n ? len + (long)v + 2 : 0;
	case '*':
		for (long long i = 0; i < v; i++) {
			char t;
			long long x;
			long k =
			    scan(p + len, n - (size_t)len, depth + 1, &t, &x);

			if (k <= 0) {
				return k;
			}
			len += k;
		}
		return len;
	default:
		return -1;
	}
}

static void conn_fail(struct thr *t, struct conn *c, const char *why)
{
	if (t->b.r.error[0] == '\0') {
		snprintf(t->b.r.error, sizeof(t->b.r.error), "client %d: %s",
			 c->client, why);
	}
	t->b.r.errors++;
	if (c->fd >= 0) {
		close(c->fd);
	}
	c->fd = -1;
}

/* Check one reply against what its request expects. */
static void on_reply(struct thr *t, struct conn *c, const char *p, long len,
		     char type, long long num, uint64_t now)
{
	const struct bc_load *ld = t->b.ld;
	uint8_t kind = c->kind[c->q_head];
	uint64_t sent = c->sent_ns[c->q_head];
	enum bc_class cls =
	    kind == BC_OP_SET || kind == BC_OP_PUT ? BC_WRITE : BC_READ;
	bool in_window = now >= ld->t_start_ns && now < ld->t_end_ns;
	bool good;

	c->q_head = (c->q_head + 1) % BC_PIPE_MAX;
	c->q_n--;
	switch (kind) {
	case BC_OP_SET:
		good = type == '+';
		break;
	case BC_OP_GET:
		good = type == '$';
		t->b.r.misses += in_window && good &&
				 num != (long long)ld->spec->value_bytes;
		break;
	case BC_OP_PUT:
		good = type == ':' && num >= 0 && num <= BC_CHAIN_BLOCKS;
		break;
	default:
		good = type == '*';
		t->b.r.misses += in_window && good && num != BC_CHAIN_BLOCKS;
		break;
	}
	if (!good) {
		if (t->b.r.error[0] == '\0') {
			const char *e = memchr(p, '\r', (size_t)len);
			int l = e != NULL ? (int)(e - p) : 0;

			snprintf(t->b.r.error, sizeof(t->b.r.error),
				 "op %u: unexpected reply %.*s", kind, l, p);
		}
		/* A leader change answers -TRYAGAIN (or -MOVED): the
		 * server's documented "retry", counted apart from errors
		 * that would mean a malformed request. */
		if (type == '-' && (strncmp(p, "-TRYAGAIN", 9) == 0 ||
				    strncmp(p, "-MOVED", 6) == 0)) {
			t->b.r.retries += in_window;
		} else {
			t->b.r.errors += in_window;
		}
		return;
	}
	if (in_window) {
		t->b.r.ops[cls]++;
		bc_hist_add(&t->b.r.lat, now - sent);
		bc_hist_add(&t->b.r.lat_cls[cls], now - sent);
	}
}

static void conn_read(struct thr *t, struct conn *c)
{
	uint64_t now;
	size_t off = 0;
	uint64_t before = t->b.r.ops[0] + t->b.r.ops[1];

	for (;;) {
		ssize_t k;

		if (c->in_cap - c->in_len < 65536) {
			char *b = realloc(c->in, c->in_cap + 131072);

			if (b == NULL) {
				conn_fail(t, c, "out of memory");
				return;
			}
			c->in = b;
			c->in_cap += 131072;
		}
		k = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (k > 0) {
			c->in_len += (size_t)k;
			t->b.r.client_bytes += (uint64_t)k;
			continue;
		}
		if (k == 0) {
			conn_fail(t, c, "connection closed by server");
			return;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		}
		conn_fail(t, c, strerror(errno));
		return;
	}
	now = bc_now_ns();
	while (off < c->in_len) {
		char type;
		long long num;
		long k = scan(c->in + off, c->in_len - off, 0, &type, &num);

		if (k < 0 || (k > 0 && c->q_n == 0)) {
			conn_fail(t, c, "malformed or unasked-for reply");
			return;
		}
		if (k == 0) {
			break;
		}
		on_reply(t, c, c->in + off, k, type, num, now);
		off += (size_t)k;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	__atomic_fetch_add(&t->b.ld->done_ops,
			   t->b.r.ops[0] + t->b.r.ops[1] - before,
			   __ATOMIC_RELAXED);
}

static void conn_write(struct thr *t, struct conn *c)
{
	while (c->fd >= 0 && c->out_off < c->out_len) {
		ssize_t k = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (k > 0) {
			c->out_off += (size_t)k;
			t->b.r.client_bytes += (uint64_t)k;
		} else if (k < 0 && errno == EINTR) {
			continue;
		} else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else {
			conn_fail(t, c, strerror(errno));
		}
	}
}

static int conn_open(struct conn *c, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fcntl(c->fd, F_SETFL, O_NONBLOCK);
}

/* Issue requests until each client has its pipeline full. */
static void refill(struct thr *t, struct conn *c, uint64_t now)
{
	int depth = t->b.ld->spec->pipeline;

	while (c->fd >= 0 && c->q_n < (unsigned)depth) {
		struct bc_op op;
		unsigned slot = (c->q_head + c->q_n) % BC_PIPE_MAX;

		bc_next_op(t->b.ld, c->client, c->n, &op);
		if (append_op(t, c, &op) != 0) {
			conn_fail(t, c, "out of memory");
			return;
		}
		c->n++;
		c->sent_ns[slot] = now;
		c->kind[slot] = (uint8_t)op.kind;
		c->q_n++;
	}
}

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	struct bc_load *ld = t->b.ld;

	for (int i = 0; i < t->b.n; i++) {
		t->c[i].client = t->b.first + i;
		if (conn_open(&t->c[i], ld->port) != 0) {
			conn_fail(t, &t->c[i], "cannot connect");
		}
	}
	while (!bc_stop) {
		uint64_t now = bc_now_ns();
		int live = 0;

		if (now >= ld->t_end_ns) {
			break;
		}
		for (int i = 0; i < t->b.n; i++) {
			struct conn *c = &t->c[i];

			refill(t, c, now);
			conn_write(t, c);
			t->pfd[i].fd = c->fd;
			t->pfd[i].events =
			    (short)(POLLIN |
				    (c->out_off < c->out_len ? POLLOUT : 0));
			live += c->fd >= 0;
		}
		if (live == 0) {
			break;
		}
		if (poll(t->pfd, (nfds_t)t->b.n, 20) < 0 && errno != EINTR) {
			break;
		}
		for (int i = 0; i < t->b.n; i++) {
			if (t->c[i].fd >= 0 && (t->pfd[i].revents &
						(POLLIN | POLLERR | POLLHUP))) {
				conn_read(t, &t->c[i]);
			}
		}
	}
	return NULL;
}

static int thr_init(struct bc_thr *bt)
{
	struct thr *t = (struct thr *)bt;
	uint32_t v = bt->ld->spec->value_bytes;

	t->c = calloc((size_t)bt->n, sizeof(*t->c));
	t->pfd = calloc((size_t)bt->n, sizeof(*t->pfd));
	t->value = malloc(v + 1);
	for (int j = 0; t->c != NULL && j < bt->n; j++) {
		t->c[j].fd = -1;
	}
	if (t->c == NULL || t->pfd == NULL || t->value == NULL) {
		return -1;
	}
	for (uint32_t b = 0; b < v; b++) {
		t->value[b] = (char)('a' + (b * 7 + (unsigned)bt->index) % 26);
	}
	return 0;
}

static void thr_free(struct bc_thr *bt)
{
	struct thr *t = (struct thr *)bt;

	for (int i = 0; t->c != NULL && i < bt->n; i++) {
		if (t->c[i].fd >= 0) {
			close(t->c[i].fd);
		}
		free(t->c[i].out);
		free(t->c[i].in);
	}
	free(t->c);
	free(t->pfd);
	free(t->value);
}

int bc_resp_run(struct bc_load *ld)
{
	static const struct bc_thr_ops ops = {
	    .size = sizeof(struct thr),
	    .init = thr_init,
	    .main = thread_main,
	    .fini = thr_free,
	    .setup_error = "cannot start the client threads",
	};

	return bc_run_threads(ld, &ops);
}
