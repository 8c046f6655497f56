/* test_resp_kvserver.c — a TEST server, not the product: the RESP library
 * over a tiny in-memory SET/GET map, for redis-cli, redis-benchmark and
 * redis-py runs (test_resp_tools).  With --async, writes are completed one
 * loop iteration later, as a Raft commit would, so pipelined reads that are
 * ready earlier must wait for them (the library keeps replies in order).
 *
 * usage: resp_kvserver [--listen HOST:PORT] [--requirepass PW] [--async]
 * Prints "port N" on stdout once listening; exits 0 on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "resp.h"
#include "trace.h"

#define BUCKETS 65536u

struct entry {
	struct entry *next;
	size_t klen;
	size_t vlen;
	char *key; /* klen bytes, then vlen bytes of value, one allocation */
};

/* A write waiting for its "commit" (the next loop iteration). */
struct deferred {
	struct deferred *next;
	struct resp_req req;
	size_t len;
	char reply[]; /* len bytes of RESP */
};

struct kv {
	struct entry *b[BUCKETS];
	bool async;
	struct deferred *pending;
	struct deferred **tail;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint32_t hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	}
	return h;
}

static struct entry **find(struct kv *kv, const struct resp_arg *k)
{
	struct entry **e = &kv->b[hash(k->ptr, k->len) % BUCKETS];
	while (*e != NULL && ((*e)->klen != k->len ||
			      memcmp((*e)->key, k->ptr, k->len) != 0)) {
		e = &(*e)->next;
	}
	return e;
}

static int set(struct kv *kv, const struct resp_arg *k,
	       const struct resp_arg *v)
{
	struct entry **e = find(kv, k);
	struct entry *n = malloc(sizeof(*n));
	char *mem = malloc(k->len + v->len + 1);
	if (n == NULL || mem == NULL) {
		free(n);
		free(mem);
		return FR_NOMEM;
	}
	memcpy(mem, k->ptr, k->len);
	memcpy(mem + k->len, v->ptr, v->len);
	n->key = mem;
	n->klen = k->len;
	n->vlen = v->len;
	n->next = NULL;
	if (*e != NULL) {
		n->next = (*e)->next;
		free((*e)->key);
		free(*e);
	}
	*e = n;
	return 0;
}

static bool del(struct kv *kv, const struct resp_arg *k)
{
	struct entry **e = find(kv, k);
	if (*e == NULL) {
		return false;
	}
	struct entry *d = *e;
	*e = d->next;
	free(d->key);
	free(d);
	return true;
}

/* Reply now, or (writes in --async mode) at the next iteration. */
static int reply(struct kv *kv, const struct resp_req *req, struct resp_buf *b,
		 bool write)
{
	int rv = resp_buf_err(b);
	if (rv != 0) {
		return rv;
	}
	if (!write || !kv->async) {
		(void)resp_req_complete(req, b->data, b->len);
		return 0;
	}
	struct deferred *d = malloc(sizeof(*d) + b->len);
	if (d == NULL) {
		return FR_NOMEM;
	}
	d->next = NULL;
	d->req = *req;
	d->len = b->len;
	memcpy(d->reply, b->data, b->len);
	*kv->tail = d;
	kv->tail = &d->next;
	return 0;
}

static int command(void *ctx, const struct resp_req *req, uint32_t argc,
		   const struct resp_arg *argv)
{
	struct kv *kv = ctx;
	struct resp_buf b;
	resp_buf_init(&b, 0);
	bool write = false;
	const struct resp_arg *name = &argv[0];
	if (resp_arg_is(name, "set") && argc == 3) {
		int rv = set(kv, &argv[1], &argv[2]);
		if (rv != 0) {
			resp_buf_close(&b);
			return rv;
		}
		resp_buf_simple(&b, "OK");
		write = true;
	} else if (resp_arg_is(name, "get") && argc == 2) {
		struct entry *e = *find(kv, &argv[1]);
		if (e != NULL) {
			resp_buf_bulk(&b, e->key + e->klen, e->vlen);
		} else {
			resp_buf_null(&b);
		}
	} else if (resp_arg_is(name, "del") && argc >= 2) {
		int64_t n = 0;
		for (uint32_t i = 1; i < argc; i++) {
			n += del(kv, &argv[i]);
		}
		resp_buf_int(&b, n);
		write = true;
	} else if (resp_arg_is(name, "exists") && argc >= 2) {
		int64_t n = 0;
		for (uint32_t i = 1; i < argc; i++) {
			n += *find(kv, &argv[i]) != NULL;
		}
		resp_buf_int(&b, n);
	} else if (resp_arg_is(name, "set") || resp_arg_is(name, "get") ||
		   resp_arg_is(name, "del") || resp_arg_is(name, "exists")) {
		resp_buf_wrong_arity(&b, name);
	} else {
		resp_buf_unknown_command(&b, argc, argv);
	}
	int rv = reply(kv, req, &b, write);
	resp_buf_close(&b);
	return rv;
}

static void info(void *ctx, struct resp_info_writer *w)
{
	struct kv *kv = ctx;
	resp_info_section(w, "Keyspace");
	size_t n = 0;
	for (uint32_t i = 0; i < BUCKETS; i++) {
		for (struct entry *e = kv->b[i]; e != NULL; e = e->next) {
			n++;
		}
	}
	resp_info_add(w, "db0", "keys=%zu,expires=0,avg_ttl=0", n);
	resp_info_section(w, "Test");
	resp_info_add(w, "async_writes", "%d", kv->async);
}

static void log_line(void *ctx, int level, const char *tag, const char *line)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "kvserver: %s: %s\n", tag != NULL ? tag : "-", line);
}

/* Take the writes deferred so far; later ones wait for the next round. */
static struct deferred *take(struct kv *kv)
{
	struct deferred *d = kv->pending;
	kv->pending = NULL;
	kv->tail = &kv->pending;
	return d;
}

/* The "commit": complete the writes of an earlier iteration. */
static void commit(struct deferred *d)
{
	while (d != NULL) {
		struct deferred *next = d->next;
		(void)resp_req_complete(&d->req, d->reply, d->len);
		free(d);
		d = next;
	}
}

int main(int argc, char **argv)
{
	static struct kv kv;
	kv.tail = &kv.pending;
	struct resp_config cfg;
	resp_config_default(&cfg);
	cfg.listen = "127.0.0.1:0";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			cfg.listen = argv[++i];
		} else if (strcmp(argv[i], "--requirepass") == 0 &&
			   i + 1 < argc) {
			cfg.requirepass = argv[++i];
		} else if (strcmp(argv[i], "--async") == 0) {
			kv.async = true;
		} else {
			fprintf(stderr,
				"usage: %s [--listen HOST:PORT] "
				"[--requirepass PW] [--async]\n",
				argv[0]);
			return 2;
		}
	}
	fr_log_set(log_line, NULL, FR_LOG_INFO);
	const struct resp_backend be = {
	    .size = sizeof(be),
	    .command = command,
	    .info = info,
	};
	struct resp_server *srv;
	char err[FR_ERRMSG_SIZE];
	if (resp_server_open(&srv, &cfg, &be, &kv, err) != 0) {
		fprintf(stderr, "kvserver: %s\n", err);
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* The runtime's loop in miniature: one epoll holding the server's. */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	if (ep < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, resp_server_fd(srv), &ev) != 0) {
		perror("kvserver: epoll");
		return 1;
	}
	printf("port %u\n", resp_server_port(srv));
	fflush(stdout);
	int rc = 0;
	while (!stop) {
		struct deferred *batch = take(&kv);
		int n = epoll_wait(ep, &ev, 1, batch != NULL ? 0 : 1000);
		if (n < 0 && errno != EINTR) {
			perror("kvserver: epoll_wait");
			commit(batch);
			rc = 1;
			break;
		}
		if (n > 0 && resp_server_handle(srv) != 0) {
			fprintf(stderr, "kvserver: %s\n",
				resp_server_errmsg(srv));
			commit(batch);
			rc = 1;
			break;
		}
		commit(batch);
		resp_server_flush(srv);
	}
	commit(take(&kv));
	resp_server_close(srv);
	close(ep);
	for (uint32_t i = 0; i < BUCKETS; i++) {
		while (kv.b[i] != NULL) {
			struct entry *e = kv.b[i];
			kv.b[i] = e->next;
			free(e->key);
			free(e);
		}
	}
	return rc;
}
