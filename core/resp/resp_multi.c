/* resp_multi.c — MULTI / EXEC / DISCARD: queue a connection's commands and
 * hand them to the backend as one TXN request. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "heap.h"
#include "resp_int.h"

/*
 * Design notes
 * ============
 * After MULTI, each command of the connection is validated (the backend's
 * queue_check, when it has one) and copied into the connection's queue;
 * the reply is +QUEUED, or the error, which marks the transaction failed
 * (EXEC then answers -EXECABORT, as Redis does).  EXEC hands the whole
 * queue to the backend as ONE request, `TXN n1 cmd1... n2 cmd2...` (each
 * command preceded by its word count), which the runtime proposes as one
 * log entry (or forwards to the leader as one request): a transaction is
 * never split, whatever happens to leadership meanwhile.  Built-in
 * commands (PING, CLIENT, ...) cannot be queued; QUIT works as usual.
 * WATCH and UNWATCH are refused (SET ... IFEQ is the compare-and-set).
 *
 * Invariants:
 *  1. c->multi != NULL exactly between MULTI and EXEC/DISCARD (or close).
 *  2. The queue stays within multi_cmds_max commands, multi_args_max
 *     words of the TXN request (name and word counts included) and
 *     multi_bytes_max bytes of arguments and word counts; a command past a
 * limit is refused and fails the transaction.
 */

struct resp_multi {
	char *buf;	 /* queued words' bytes, back to back; owned */
	size_t len;	 /* bytes used */
	size_t cap;	 /* bytes allocated */
	size_t *wlen;	 /* length of each word, in order; owned */
	uint32_t nwords; /* words queued (word counts included) */
	uint32_t wcap;	 /* entries allocated in wlen */
	uint32_t ncmds;	 /* commands queued */
	bool failed;	 /* a command was refused: EXEC aborts */
};

#define MSG_EXECABORT                                                          \
	"EXECABORT Transaction discarded because of previous errors."

void resp__multi_free(struct resp_conn *c)
{
	if (c->multi == NULL) {
		return;
	}
	fr_free(c->multi->buf);
	fr_free(c->multi->wlen);
	fr_free(c->multi);
	c->multi = NULL;
}

int64_t resp__multi_count(const struct resp_conn *c, size_t *bytes)
{
	*bytes = c->multi != NULL ? c->multi->cap : 0;
	return c->multi != NULL ? (int64_t)c->multi->ncmds : -1;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap) {
		return 0;
	}
	size_t n = *cap < 64 ? 64 : *cap;
	while (n < need) {
		n *= 2;
	}
	void *q = fr_realloc(*p, n * size);
	if (q == NULL) {
		return FR_NOMEM;
	}
	*p = q;
	*cap = n;
	return 0;
}

static int push_word(struct resp_multi *m, const char *p, size_t len)
{
	size_t wcap = m->wcap;
	int rv = grow((void **)&m->buf, &m->cap, m->len + len, 1);
	if (rv == 0) {
		rv = grow((void **)&m->wlen, &wcap, (size_t)m->nwords + 1,
			  sizeof(*m->wlen));
		m->wcap = (uint32_t)wcap;
	}
	if (rv != 0) {
		return rv;
	}
	if (len > 0) {
		memcpy(m->buf + m->len, p, len);
	}
	m->len += len;
	m->wlen[m->nwords++] = len;
	return 0;
}

/* Queue a command, or say why not into @r (and fail the transaction). */
static void queue(struct resp_conn *c, uint32_t argc,
		  const struct resp_arg *argv, struct resp_buf *r)
{
	struct resp_server *s = c->srv;
	struct resp_multi *m = c->multi;
	char num[16];
	int n = snprintf(num, sizeof(num), "%u", argc);
	/* The bytes it adds (its word count included); m->len never passes
	 * multi_bytes_max, so the subtraction cannot wrap. */
	uint64_t bytes = (uint64_t)n;
	for (uint32_t i = 0; i < argc; i++) {
		bytes += argv[i].len;
	}
	assert(m->len <= s->cfg.multi_bytes_max);
	if (m->ncmds >= s->cfg.multi_cmds_max ||
	    (uint64_t)m->nwords + argc + 2 > s->cfg.multi_args_max ||
	    bytes > s->cfg.multi_bytes_max - m->len) {
		resp_buf_error(r,
			       "ERR transaction too large: at most %u "
			       "commands, %u words and %llu bytes between "
			       "MULTI and EXEC",
			       s->cfg.multi_cmds_max, s->cfg.multi_args_max,
			       (unsigned long long)s->cfg.multi_bytes_max);
		m->failed = true;
		return;
	}
	size_t len0 = m->len;
	uint32_t words0 = m->nwords;
	int rv = push_word(m, num, (size_t)n);
	for (uint32_t i = 0; rv == 0 && i < argc; i++) {
		rv = push_word(m, argv[i].ptr, argv[i].len);
	}
	if (rv != 0) {
		m->len = len0;
		m->nwords = words0;
		m->failed = true;
		resp_buf_error(r, "ERR out of memory");
		return;
	}
	m->ncmds++;
	resp_buf_simple(r, "QUEUED");
}

/* A command while in MULTI: validate and queue it. */
static void in_multi(struct resp_conn *c, const struct resp_req *req,
		     bool builtin, uint32_t argc, const struct resp_arg *argv,
		     struct resp_buf *r)
{
	struct resp_server *s = c->srv;
	if (builtin) {
		resp_buf_error(r,
			       "ERR '%.*s' cannot be queued: a fabraft "
			       "transaction holds data commands only (the "
			       "generic KV and KVC.* commands)",
			       (int)(argv[0].len < 64 ? argv[0].len : 64),
			       argv[0].ptr);
		c->multi->failed = true;
		return;
	}
	if (s->be.queue_check != NULL) {
		s->in_callback++;
		int rv = s->be.queue_check(s->be_ctx, req, argc, argv, r);
		s->in_callback--;
		if (rv != 0) {
			if (r->len == 0) {
				resp_buf_error(r, "ERR %s", fr_strerror(rv));
			}
			c->multi->failed = true;
			return;
		}
	}
	queue(c, argc, argv, r);
}

/* EXEC: hand the queue to the backend as one TXN request.  Returns true
 * when the backend took it (it completes the request); false with the
 * reply in @r. */
static bool exec_txn(struct resp_conn *c, const struct resp_req *req,
		     struct resp_buf *r)
{
	struct resp_server *s = c->srv;
	struct resp_multi *m = c->multi;
	struct resp_arg *argv =
	    fr_malloc(((size_t)m->nwords + 1) * sizeof(*argv));
	if (argv == NULL) {
		resp_buf_error(r, "ERR out of memory");
		return false;
	}
	argv[0] = (struct resp_arg){"TXN", 3};
	size_t off = 0;
	for (uint32_t i = 0; i < m->nwords; i++) {
		argv[i + 1] = (struct resp_arg){m->buf + off, m->wlen[i]};
		off += m->wlen[i];
	}
	s->in_callback++;
	int rv = s->be.command(s->be_ctx, req, m->nwords + 1, argv);
	s->in_callback--;
	fr_free(argv);
	if (rv != 0) {
		resp_buf_error(r, "ERR %s", fr_strerror(rv));
		return false;
	}
	return true;
}

static bool is_any(const struct resp_arg *a, const char *x, const char *y)
{
	return resp_arg_is(a, x) || resp_arg_is(a, y);
}

int resp__multi_intercept(struct resp_conn *c, const struct resp_req *req,
			  bool builtin, uint32_t argc,
			  const struct resp_arg *argv, struct resp_buf *r)
{
	const struct resp_arg *name = &argv[0];
	bool control = resp_arg_is(name, "multi") ||
		       is_any(name, "exec", "discard") ||
		       is_any(name, "watch", "unwatch");
	if (!control) {
		if (c->multi == NULL || resp_arg_is(name, "quit")) {
			return RESP__MULTI_PASS;
		}
		in_multi(c, req, builtin, argc, argv, r);
		return RESP__MULTI_REPLY;
	}
	if (resp_arg_is(name, "watch") && c->multi != NULL) {
		resp_buf_error(r, "ERR WATCH inside MULTI is not allowed");
	} else if (is_any(name, "watch", "unwatch")) {
		resp_buf_error(r,
			       "ERR %s is not supported by fabraft: use SET "
			       "key value IFEQ old for compare-and-set",
			       resp_arg_is(name, "watch") ? "WATCH"
							  : "UNWATCH");
	} else if (argc != 1) {
		resp_buf_wrong_arity(r, name);
		if (c->multi != NULL) {
			c->multi->failed = true; /* as Redis: refused */
		}
	} else if (resp_arg_is(name, "multi")) {
		if (c->multi != NULL) {
			resp_buf_error(r, "ERR MULTI calls can not be nested");
		} else if ((c->multi = fr_calloc(1, sizeof(*c->multi))) ==
			   NULL) {
			resp_buf_error(r, "ERR out of memory");
		} else {
			resp_buf_simple(r, "OK");
		}
	} else if (c->multi == NULL) {
		resp_buf_error(r, "ERR %s without MULTI",
			       resp_arg_is(name, "exec") ? "EXEC" : "DISCARD");
	} else if (resp_arg_is(name, "discard")) {
		resp_buf_simple(r, "OK");
		resp__multi_free(c);
	} else {
		if (c->multi->failed) {
			resp_buf_error(r, MSG_EXECABORT);
		} else if (c->multi->ncmds == 0) {
			resp_buf_array(r, 0);
		} else if (exec_txn(c, req, r)) {
			resp__multi_free(c);
			return RESP__MULTI_TAKEN; /* the backend completes it */
		}
		resp__multi_free(c);
	}
	return RESP__MULTI_REPLY;
}
