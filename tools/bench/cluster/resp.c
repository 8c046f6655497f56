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
#include "err.h"
#include "resp_client.h"
#include "work.h"

/* One client: a connection and the requests it has in flight. */
struct conn {
	int fd;			       /* -1 once broken */
	int client;		       /* global client number */
	uint64_t n;		       /* operations issued */
	struct respc_buf out;	       /* requests not yet all sent */
	size_t out_off;		       /* bytes of out already sent */
	struct respc_reader rd;	       /* replies */
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

/* The arguments of one request; the strings it builds live here too. */
struct req {
	int argc;				   /* arguments */
	const char *argv[2 + 7 * BC_CHAIN_BLOCKS]; /* borrowed */
	size_t lens[2 + 7 * BC_CHAIN_BLOCKS];	   /* their lengths */
	char key[48];				   /* SET, GET */
	char hash[BC_CHAIN_BLOCKS][33];		   /* PUT, LOOKUP */
	char off[BC_CHAIN_BLOCKS][24];		   /* PUT */
	char bytes[24];				   /* PUT */
};

static void arg(struct req *q, const char *s, size_t len)
{
	q->argv[q->argc] = s;
	q->lens[q->argc++] = len;
}

static void arg_str(struct req *q, const char *s)
{
	arg(q, s, strlen(s));
}

static void build(struct thr *t, struct conn *c, const struct bc_op *op,
		  struct req *q)
{
	const struct bc_load *ld = t->b.ld;

	q->argc = 0;
	switch (op->kind) {
	case BC_OP_SET:
	case BC_OP_GET:
		arg_str(q, op->kind == BC_OP_SET ? "SET" : "GET");
		arg(q, q->key,
		    (size_t)bc_key(c->client, op->idx, q->key, sizeof(q->key)));
		if (op->kind == BC_OP_SET) {
			arg(q, t->value, ld->spec->value_bytes);
		}
		break;
	case BC_OP_PUT:
		arg_str(q, "KVC.PUT");
		arg_str(q, BC_NAMESPACE);
		snprintf(q->bytes, sizeof(q->bytes), "%u", BC_BLOCK_BYTES);
		for (int i = 0; i < BC_CHAIN_BLOCKS; i++) {
			bc_block_hash(c->client, op->idx, i, q->hash[i]);
			snprintf(q->off[i], sizeof(q->off[i]), "%llu",
				 (unsigned long long)bc_block_offset(
				     ld, c->client, op, i));
			arg_str(q, q->hash[i]);
			arg_str(q, i == 0 ? "-" : q->hash[i - 1]);
			arg_str(q, "16");
			arg_str(q, "1");
			arg_str(q, "dram");
			arg_str(q, q->off[i]);
			arg_str(q, q->bytes);
		}
		break;
	case BC_OP_LOOKUP:
		arg_str(q, "KVC.LOOKUP");
		arg_str(q, BC_NAMESPACE);
		for (int i = 0; i < BC_CHAIN_BLOCKS; i++) {
			bc_block_hash(c->client, op->idx, i, q->hash[i]);
			arg_str(q, q->hash[i]);
		}
		break;
	}
}

static int append_op(struct thr *t, struct conn *c, const struct bc_op *op)
{
	struct req q;

	if (c->out_off > 0 && c->out_off == c->out.len) {
		c->out_off = c->out.len = 0;
	}
	build(t, c, op, &q);
	return respc_encode(&c->out, q.argc, q.argv, q.lens);
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

/* The number a reply carries: an integer, a bulk length or an array count
 * (-1 for nil). */
static long long reply_num(const struct respc_reply *r)
{
	if (respc_reply_is_nil(r)) {
		return -1;
	}
	return r->type == '$'	? (long long)r->len
	       : r->type == '*' ? (long long)r->n
				: r->integer;
}

/* Check one reply against what its request expects. */
static void on_reply(struct thr *t, struct conn *c, const struct respc_reply *r,
		     uint64_t now)
{
	const struct bc_load *ld = t->b.ld;
	uint8_t kind = c->kind[c->q_head];
	uint64_t sent = c->sent_ns[c->q_head];
	enum bc_class cls =
	    kind == BC_OP_SET || kind == BC_OP_PUT ? BC_WRITE : BC_READ;
	bool in_window = now >= ld->t_start_ns && now < ld->t_end_ns;
	long long num = reply_num(r);
	bool good;

	c->q_head = (c->q_head + 1) % BC_PIPE_MAX;
	c->q_n--;
	switch (kind) {
	case BC_OP_SET:
		good = r->type == '+';
		break;
	case BC_OP_GET:
		good = r->type == '$';
		t->b.r.misses += in_window && good &&
				 num != (long long)ld->spec->value_bytes;
		break;
	case BC_OP_PUT:
		good = r->type == ':' && num >= 0 && num <= BC_CHAIN_BLOCKS;
		break;
	default:
		good = r->type == '*';
		t->b.r.misses += in_window && good && num != BC_CHAIN_BLOCKS;
		break;
	}
	if (!good) {
		if (t->b.r.error[0] == '\0' &&
		    (r->type == '+' || r->type == '-')) {
			snprintf(t->b.r.error, sizeof(t->b.r.error),
				 "op %u: unexpected reply %c%.100s", kind,
				 r->type, r->str);
		} else if (t->b.r.error[0] == '\0') {
			snprintf(t->b.r.error, sizeof(t->b.r.error),
				 "op %u: unexpected reply %c%lld", kind,
				 r->type, num);
		}
		/* A leader change answers -TRYAGAIN (or -MOVED): the
		 * server's documented "retry", counted apart from errors
		 * that would mean a malformed request. */
		if (r->type == '-' && (strncmp(r->str, "TRYAGAIN", 8) == 0 ||
				       strncmp(r->str, "MOVED", 5) == 0)) {
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
	uint64_t before = t->b.r.ops[0] + t->b.r.ops[1];
	struct respc_reply r;
	char tmp[65536];
	uint64_t now;
	int rv;

	for (;;) {
		ssize_t k = recv(c->fd, tmp, sizeof(tmp), 0);

		if (k > 0) {
			t->b.r.client_bytes += (uint64_t)k;
			if (respc_reader_feed(&c->rd, tmp, (size_t)k) != 0) {
				conn_fail(t, c, c->rd.err);
				return;
			}
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
	while ((rv = respc_reader_next(&c->rd, &r, NULL)) == 0) {
		if (c->q_n == 0) {
			respc_reply_free(&r);
			conn_fail(t, c, "a reply nobody asked for");
			return;
		}
		on_reply(t, c, &r, now);
		respc_reply_free(&r);
	}
	if (rv != FR_AGAIN) {
		conn_fail(t, c, c->rd.err);
		return;
	}
	__atomic_fetch_add(&t->b.ld->done_ops,
			   t->b.r.ops[0] + t->b.r.ops[1] - before,
			   __ATOMIC_RELAXED);
}

static void conn_write(struct thr *t, struct conn *c)
{
	while (c->fd >= 0 && c->out_off < c->out.len) {
		ssize_t k = send(c->fd, c->out.data + c->out_off,
				 c->out.len - c->out_off, MSG_NOSIGNAL);

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
	if (respc_reader_init(&c->rd, 0) != 0) {
		return -1;
	}
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
				    (c->out_off < c->out.len ? POLLOUT : 0));
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
		respc_buf_free(&t->c[i].out);
		respc_reader_close(&t->c[i].rd);
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
