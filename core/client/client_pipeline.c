/* client_pipeline.c — N commands in one write, N replies; commands that
 * were redirected or certainly not executed are sent again. */
#include <string.h>

#include "client_int.h"
#include "heap.h"

#define PENDING (-1)

/* Per command of a pipeline. */
struct pl_cmd {
	int st;			 /* PENDING, 0 (reply in hand) or FR_* */
	enum fabraft__class cls; /* retry class */
	bool maybe;		 /* an attempt may have executed it */
};

struct pl {
	struct fabraft_client *c;
	size_t n;			/* commands */
	const struct fabraft_cmd *cmds; /* borrowed */
	struct fabraft_reply *r;	/* replies, caller's */
	struct pl_cmd *s;		/* state, owned */
	int64_t deadline;		/* of the whole pipeline */
	bool moved_only; /* this round's retries were all MOVED */
	bool tx;	 /* holds MULTI: sent once, never re-sent */
};

/* A command whose attempt may have executed: again, or FR_UNKNOWN. */
static void pl_maybe(struct pl *p, size_t i)
{
	struct pl_cmd *s = &p->s[i];

	if (p->tx) {
		s->maybe = true;
		s->st = FR_UNKNOWN; /* the transaction may have run */
		return;
	}
	if (s->cls == FABRAFT__READ) {
		return;
	}
	s->maybe = true;
	if (s->cls == FABRAFT__UNSAFE || !p->c->o.retry_idempotent) {
		s->st = FR_UNKNOWN;
	}
}

/* Read the replies of the commands sent this round, in order. */
static int pl_read(struct pl *p, const size_t *sent, size_t k)
{
	struct fabraft_client *c = p->c;

	for (size_t j = 0; j < k; j++) {
		size_t i = sent[j];
		struct respc_reply rr;
		int rv = respc_read(&c->conn, &rr);
		enum fabraft__verdict v;

		if (rv != 0) {
			fabraft__fail(c, rv, "%.100s: %.120s", c->server,
				      c->conn.err);
			fabraft__drop(c);
			for (; j < k; j++) {
				pl_maybe(p, sent[j]);
			}
			return 0;
		}
		v = fabraft__judge(c, &rr, p->s[i].cls);
		if (p->tx && v != FABRAFT__FATAL) {
			v = FABRAFT__DONE; /* in a transaction: as answered */
		}
		p->moved_only = p->moved_only && v == FABRAFT__MOVED;
		if (v == FABRAFT__DONE) {
			p->s[i].st = fabraft__reply_move(&p->r[i], &rr);
			continue;
		}
		respc_reply_free(&rr);
		if (v == FABRAFT__FATAL) {
			return FR_AUTH;
		}
		if (v == FABRAFT__MAYBE) {
			pl_maybe(p, i);
		}
	}
	return 0;
}

/* One round: send every pending command, read their replies. */
static int pl_round(struct pl *p, size_t *sent)
{
	struct fabraft_client *c = p->c;
	size_t k = 0;
	int rv;

	if (c->conn.fd >= 0 && fabraft__stale(c)) {
		fabraft__drop(c); /* closed while idle: nothing sent yet */
	}
	rv = fabraft__ensure(c, p->deadline);
	int64_t left = p->deadline - fabraft__now_ms();

	p->moved_only = false;
	if (rv != 0) {
		return rv == FR_AUTH || rv == FR_NOMEM ? rv : 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->s[i].st != PENDING) {
			continue;
		}
		rv = respc_append(&c->conn, p->cmds[i].argc, p->cmds[i].argv,
				  p->cmds[i].lens);
		if (rv != 0) {
			return fabraft__fail(c, rv, "out of memory");
		}
		sent[k++] = i;
	}
	c->conn.timeout_ms = left < c->o.io_timeout_ms
				 ? (int)(left > 0 ? left : 1)
				 : c->o.io_timeout_ms;
	rv = respc_flush(&c->conn);
	if (rv != 0) {
		fabraft__fail(c, rv, "%.100s: %.120s", c->server, c->conn.err);
		fabraft__drop(c);
		for (size_t j = 0; j < k; j++) {
			pl_maybe(p, sent[j]);
		}
		return 0;
	}
	p->moved_only = true;
	rv = pl_read(p, sent, k);
	if (p->c->target[0] != '\0') {
		fabraft__drop(c); /* a -MOVED named the leader */
	}
	return rv;
}

static size_t pl_pending(const struct pl *p)
{
	size_t k = 0;

	for (size_t i = 0; i < p->n; i++) {
		k += p->s[i].st == PENDING;
	}
	return k;
}

/* The deadline passed or a final error: every pending command gets one. */
static void pl_finish(struct pl *p, int rv)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->s[i].st == PENDING) {
			p->s[i].st = p->s[i].maybe ? FR_UNKNOWN
				     : rv != 0	   ? rv
						   : FR_TIMEOUT;
		}
	}
}

static int pl_loop(struct pl *p, size_t *sent)
{
	for (int n = 0;; n++) {
		int rv;

		if (n > 0) {
			p->c->st.retries++;
		}
		rv = pl_round(p, sent);
		if (rv != 0) {
			pl_finish(p, rv);
			return rv;
		}
		if (pl_pending(p) == 0) {
			return 0;
		}
		if (fabraft__now_ms() >= p->deadline) {
			pl_finish(p, FR_TIMEOUT);
			return FR_TIMEOUT;
		}
		if (!(p->moved_only && n < 3)) {
			fabraft__backoff(p->c, n, p->deadline);
		}
	}
}

int fabraft_pipeline(struct fabraft_client *c, size_t n,
		     const struct fabraft_cmd *cmds, struct fabraft_reply *r,
		     int *rvs)
{
	struct pl p = {.c = c, .n = n, .cmds = cmds, .r = r};
	size_t *sent;
	int rv = 0;

	c->st.calls++;
	memset(r, 0, n * sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		if (cmds[i].argc < 1 || cmds[i].argv == NULL) {
			return fabraft__fail(
			    c, FR_INVALID, "pipeline command %zu is empty", i);
		}
	}
	p.s = fr_calloc(n ? n : 1, sizeof(*p.s));
	sent = fr_calloc(n ? n : 1, sizeof(*sent));
	if (p.s == NULL || sent == NULL) {
		fr_free(p.s);
		fr_free(sent);
		return fabraft__fail(c, FR_NOMEM, "out of memory");
	}
	p.deadline = fabraft__now_ms() + c->o.deadline_ms;
	for (size_t i = 0; i < n; i++) {
		p.s[i].st = PENDING;
		p.s[i].cls =
		    fabraft__classify(cmds[i].argc, cmds[i].argv, cmds[i].lens);
		p.tx = p.tx || fabraft__is_multi(cmds[i].argc, cmds[i].argv,
						 cmds[i].lens);
	}
	(void)pl_loop(&p, sent);
	for (size_t i = 0; i < n; i++) {
		if (rvs != NULL) {
			rvs[i] = p.s[i].st;
		}
		if (rv == 0 && p.s[i].st != 0) {
			rv = p.s[i].st;
		}
	}
	fr_free(p.s);
	fr_free(sent);
	return rv;
}
