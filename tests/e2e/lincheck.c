/* lincheck.c — records a history of concurrent SET/GET/compare-and-set
 * clients against a fabraft cluster and checks it for linearizability with
 * the Wing & Gong / Lowe algorithm (as in Porcupine), key by key. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fabraft_client.h"

/*
 * Design notes
 * ============
 * Model: one register per key holding 0 (no key) or a unique positive
 * integer.  Operations: W(a) sets a; R returns the value; CAS(a, b) sets b
 * if the value is a (reply OK) and otherwise changes nothing (reply nil).
 * Linearizability is compositional, so each key is checked alone.
 *
 * Outcomes: a reply is OK/FAIL/a value; a write or CAS whose reply never
 * came (connection lost, "-TRYAGAIN ... outcome unknown") is UNKNOWN: it
 * may take effect at any point after its call, or never, which the checker
 * expresses by giving it a return time of +infinity (it can always be
 * linearized last).  A write refused with certainty ("not committed") and a
 * read without an answer are left out.
 *
 * Checker (Lowe, "Testing for linearizability", 2017): a doubly linked list
 * of call and return events in time order; walk it, tentatively linearizing
 * the call at hand if the model allows; on reaching a return whose call is
 * not linearized, backtrack.  A cache of (linearized set, state) prunes
 * states already explored.
 */

enum op_type { OP_R = 1, OP_W, OP_CAS };
enum op_status { ST_OK = 1, ST_FAIL, ST_UNKNOWN };

struct op {
	int key;	 /* register */
	int type;	 /* enum op_type */
	uint64_t a;	 /* W: value; CAS: expected */
	uint64_t b;	 /* CAS: new value */
	int status;	 /* enum op_status */
	uint64_t val;	 /* R: value read */
	uint64_t t_call; /* ns */
	uint64_t t_ret;	 /* ns; UINT64_MAX when unknown */
};

/* ------------------------------------------------------------------ */
/* Checker                                                             */

struct ev {
	struct op *op;	  /* the operation */
	int id;		  /* index of the op in this key's list */
	bool is_call;	  /* call or return event */
	uint64_t t;	  /* time */
	struct ev *match; /* call <-> return */
	struct ev *prev;  /* list links */
	struct ev *next;
};

static int ev_cmp(const void *x, const void *y)
{
	const struct ev *a = x;
	const struct ev *b = y;

	if (a->t != b->t) {
		return a->t < b->t ? -1 : 1;
	}
	/* Calls first on a tie: the two operations count as concurrent. */
	return (int)b->is_call - (int)a->is_call;
}

static bool step(const struct op *o, uint64_t s, uint64_t *out)
{
	switch (o->type) {
	case OP_W:
		*out = o->a;
		return true;
	case OP_R:
		*out = s;
		return o->val == s;
	default: /* OP_CAS */
		if (o->status == ST_OK) {
			*out = o->b;
			return s == o->a;
		}
		if (o->status == ST_FAIL) {
			*out = s;
			return s != o->a;
		}
		*out = s == o->a ? o->b : s;
		return true;
	}
}

/* Hash set of (bitset, state). */
struct cache {
	uint64_t *slots; /* n_slots x (words + 2): used flag, state, bits */
	size_t n_slots;
	size_t used;
	size_t words;
};

static uint64_t hash_bits(const uint64_t *bits, size_t words, uint64_t s)
{
	uint64_t h = s * 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < words; i++) {
		h ^= bits[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	}
	return h;
}

static int cache_grow(struct cache *c);

/* Insert; false if already present. */
static bool cache_add(struct cache *c, const uint64_t *bits, uint64_t s)
{
	size_t stride = c->words + 2;

	if ((c->used + 1) * 2 > c->n_slots && cache_grow(c) != 0) {
		fprintf(stderr, "lincheck: out of memory\n");
		exit(2);
	}
	for (size_t i = hash_bits(bits, c->words, s) % c->n_slots;;
	     i = (i + 1) % c->n_slots) {
		uint64_t *e = &c->slots[i * stride];

		if (e[0] == 0) {
			e[0] = 1;
			e[1] = s;
			memcpy(&e[2], bits, c->words * 8);
			c->used++;
			return true;
		}
		if (e[1] == s && memcmp(&e[2], bits, c->words * 8) == 0) {
			return false;
		}
	}
}

static int cache_grow(struct cache *c)
{
	struct cache n = {.words = c->words,
			  .n_slots = c->n_slots ? c->n_slots * 2 : 1024};
	size_t stride = c->words + 2;

	n.slots = calloc(n.n_slots, stride * 8);
	if (n.slots == NULL) {
		return -1;
	}
	for (size_t i = 0; i < c->n_slots; i++) {
		uint64_t *e = &c->slots[i * stride];

		if (e[0] != 0) {
			(void)cache_add(&n, &e[2], e[1]);
		}
	}
	free(c->slots);
	*c = n;
	return 0;
}

static void lift(struct ev *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->match->prev->next = e->match->next;
	if (e->match->next != NULL) {
		e->match->next->prev = e->match->prev;
	}
}

static void unlift(struct ev *e)
{
	e->match->prev->next = e->match;
	if (e->match->next != NULL) {
		e->match->next->prev = e->match;
	}
	e->prev->next = e;
	e->next->prev = e;
}

/* Is the history @ops (n of them, one key) linearizable? */
static bool check_key(struct op **ops, int n)
{
	struct ev *evs = calloc((size_t)(2 * n + 1), sizeof(*evs));
	struct ev *head = &evs[2 * n];
	size_t words = ((size_t)n + 63) / 64;
	uint64_t *bits = calloc(words ? words : 1, 8);
	struct {
		struct ev *e;
		uint64_t state;
	} *stack = calloc((size_t)n + 1, sizeof(*stack));
	struct cache cache = {.words = words};
	uint64_t state = 0;
	int top = 0;
	bool ok = true;
	struct ev *e;

	if (evs == NULL || bits == NULL || stack == NULL) {
		fprintf(stderr, "lincheck: out of memory\n");
		exit(2);
	}
	for (int i = 0; i < n; i++) {
		evs[2 * i] = (struct ev){.op = ops[i],
					 .id = i,
					 .is_call = true,
					 .t = ops[i]->t_call};
		evs[2 * i + 1] = (struct ev){.op = ops[i],
					     .id = i,
					     .is_call = false,
					     .t = ops[i]->t_ret};
	}
	qsort(evs, (size_t)(2 * n), sizeof(*evs), ev_cmp);
	/* Pair calls with returns after sorting. */
	{
		struct ev **call_of = calloc((size_t)n + 1, sizeof(*call_of));

		for (int i = 0; i < 2 * n; i++) {
			if (evs[i].is_call) {
				call_of[evs[i].id] = &evs[i];
			}
		}
		for (int i = 0; i < 2 * n; i++) {
			if (!evs[i].is_call) {
				evs[i].match = call_of[evs[i].id];
				call_of[evs[i].id]->match = &evs[i];
			}
		}
		free(call_of);
	}
	head->prev = NULL;
	head->next = n ? &evs[0] : NULL;
	for (int i = 0; i < 2 * n; i++) {
		evs[i].prev = i ? &evs[i - 1] : head;
		evs[i].next = i + 1 < 2 * n ? &evs[i + 1] : NULL;
	}
	e = head->next;
	while (head->next != NULL) {
		if (e->is_call) {
			uint64_t ns;

			bits[e->id / 64] |= 1ull << (e->id % 64);
			if (step(e->op, state, &ns) &&
			    cache_add(&cache, bits, ns)) {
				stack[top].e = e;
				stack[top].state = state;
				top++;
				state = ns;
				lift(e);
				e = head->next;
			} else {
				bits[e->id / 64] &= ~(1ull << (e->id % 64));
				e = e->next;
			}
		} else {
			if (top == 0) {
				ok = false;
				break;
			}
			top--;
			e = stack[top].e;
			state = stack[top].state;
			bits[e->id / 64] &= ~(1ull << (e->id % 64));
			unlift(e);
			e = e->next;
		}
	}
	free(cache.slots);
	free(stack);
	free(bits);
	free(evs);
	return ok;
}

/* Check every key of @ops; print the keys that fail.  Returns true if
 * all are linearizable. */
static bool check_all(struct op *ops, int n, int keys, bool verbose)
{
	struct op **sel = calloc((size_t)n + 1, sizeof(*sel));
	bool all = true;

	for (int k = 0; k < keys; k++) {
		int m = 0;

		for (int i = 0; i < n; i++) {
			if (ops[i].key == k) {
				sel[m++] = &ops[i];
			}
		}
		if (!check_key(sel, m)) {
			all = false;
			printf("key %d: NOT linearizable (%d operations)\n", k,
			       m);
		} else if (verbose) {
			printf("key %d: linearizable (%d operations)\n", k, m);
		}
	}
	free(sel);
	return all;
}

/* ------------------------------------------------------------------ */
/* Self test: histories that must pass and must fail                   */

#define OPW(t0, t1, v)                                                         \
	{                                                                      \
		0, OP_W, v, 0, ST_OK, 0, t0, t1                                \
	}
#define OPR(t0, t1, v)                                                         \
	{                                                                      \
		0, OP_R, 0, 0, ST_OK, v, t0, t1                                \
	}
#define OPC(t0, t1, a, b, st)                                                  \
	{                                                                      \
		0, OP_CAS, a, b, st, 0, t0, t1                                 \
	}
#define INF UINT64_MAX

static int selftest(void)
{
	struct {
		const char *name;
		bool want;
		int n;
		struct op ops[6];
	} cases[] = {
	    {"sequential write then read",
	     true,
	     2,
	     {OPW(0, 10, 1), OPR(20, 30, 1)}},
	    {"stale read after a completed write",
	     false,
	     3,
	     {OPW(0, 10, 1), OPW(20, 30, 2), OPR(40, 50, 1)}},
	    {"read of a value never written", false, 1, {OPR(0, 10, 7)}},
	    {"concurrent write may be seen or not",
	     true,
	     3,
	     {OPW(0, 10, 1), OPW(20, 60, 2), OPR(30, 40, 1)}},
	    {"reads go back in time",
	     false,
	     4,
	     {OPW(0, 10, 1), OPW(20, 100, 2), OPR(30, 40, 2), OPR(50, 60, 1)}},
	    {"CAS succeeds only on the expected value",
	     false,
	     2,
	     {OPW(0, 10, 1), OPC(20, 30, 5, 6, ST_OK)}},
	    {"CAS chain",
	     true,
	     4,
	     {OPW(0, 10, 1), OPC(20, 30, 1, 2, ST_OK),
	      OPC(40, 50, 1, 3, ST_FAIL), OPR(60, 70, 2)}},
	    {"failed CAS on the expected value",
	     false,
	     2,
	     {OPW(0, 10, 1), OPC(20, 30, 1, 2, ST_FAIL)}},
	    {"unknown write may take effect late",
	     true,
	     3,
	     {OPW(0, INF, 1), OPR(10, 20, 0), OPR(30, 40, 1)}},
	    {"unknown write may never take effect",
	     true,
	     2,
	     {OPW(0, INF, 1), OPR(10, 20, 0)}},
	    {"unknown write cannot be undone",
	     false,
	     3,
	     {OPW(0, INF, 1), OPR(10, 20, 1), OPR(30, 40, 0)}},
	    {"lost acknowledged write",
	     false,
	     3,
	     {OPW(0, 10, 1), OPR(20, 30, 1), OPR(40, 50, 0)}},
	};
	int bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct op *p[6];
		bool got;

		for (int j = 0; j < cases[i].n; j++) {
			p[j] = &cases[i].ops[j];
			if (p[j]->t_ret == INF) {
				p[j]->status = ST_UNKNOWN;
			}
		}
		got = check_key(p, cases[i].n);
		printf("%-45s %s%s\n", cases[i].name,
		       got ? "linearizable" : "NOT linearizable",
		       got == cases[i].want ? "" : "   <<< WRONG");
		bad += got != cases[i].want;
	}
	return bad ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Recording                                                           */

struct run {
	char (*addrs)[80];    /* cluster client addresses */
	int n_addrs;	      /* how many */
	int keys;	      /* registers */
	uint64_t until_ns;    /* stop issuing at */
	pthread_mutex_t lock; /* protects ops */
	struct op *ops;	      /* history */
	int n_ops;	      /* recorded */
	int cap_ops;	      /* allocated */
	uint64_t n_unknown;   /* unknown outcomes */
	uint64_t n_dropped;   /* refused with certainty / reads lost */
};

struct client {
	struct run *run; /* shared */
	int id;		 /* 1.. */
	uint64_t rng;	 /* xorshift state */
	uint64_t seq;	 /* values written so far */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(struct client *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

static void record(struct run *r, const struct op *o)
{
	pthread_mutex_lock(&r->lock);
	if (r->n_ops == r->cap_ops) {
		int cap = r->cap_ops ? r->cap_ops * 2 : 4096;
		struct op *n = realloc(r->ops, (size_t)cap * sizeof(*n));

		if (n == NULL) {
			fprintf(stderr, "lincheck: out of memory\n");
			exit(2);
		}
		r->ops = n;
		r->cap_ops = cap;
	}
	r->ops[r->n_ops++] = *o;
	if (o->status == ST_UNKNOWN) {
		r->n_unknown++;
	}
	pthread_mutex_unlock(&r->lock);
}

/* A client library handle for the endpoints @eps, in that order, that
 * stays on the first while it answers (followers forward).  Writes whose
 * outcome is unknown come back as FR_UNKNOWN, never retried (a retried SET
 * could apply twice around another client's write). */
static struct fabraft_client *open_eps(const char *eps, int deadline_ms)
{
	struct fabraft_options o;
	struct fabraft_client *fc;
	char err[256];

	fabraft_options_default(&o);
	o.endpoints = eps;
	o.discover_leader = false;
	o.retry_idempotent = false;
	o.deadline_ms = deadline_ms;
	if (fabraft_open(&fc, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "lincheck: %s\n", err);
		exit(2);
	}
	return fc;
}

/* A client that starts at node @first: every node's path is exercised. */
static struct fabraft_client *open_client(const struct run *r, int first)
{
	char eps[16 * 81] = "";

	for (int i = 0; i < r->n_addrs; i++) {
		size_t l = strlen(eps);

		snprintf(eps + l, sizeof(eps) - l, "%s%s", i ? "," : "",
			 r->addrs[(first + i) % r->n_addrs]);
	}
	/* Longer than the 2 s SIGSTOP of e2e_lincheck: a read queued on a
	 * stopped leader is answered (and checked), not dropped. */
	return open_eps(eps, 5000);
}

/* The command of @o (drawn from @c's generator) into @argv. */
static int make_op(struct client *c, struct op *o, const uint64_t *last_seen,
		   char *key, char *v1, char *v2, const char **argv)
{
	uint64_t dice = rnd(c) % 10;

	snprintf(key, 16, "lin%d", o->key);
	argv[1] = key;
	if (dice < 4) {
		o->type = OP_R;
		argv[0] = "GET";
		return 2;
	}
	argv[0] = "SET";
	argv[2] = v1;
	if (dice < 8 || last_seen[o->key] == 0) {
		o->type = OP_W;
		o->a = ((uint64_t)c->id << 32) | ++c->seq;
		snprintf(v1, 24, "%" PRIu64, o->a);
		return 3;
	}
	o->type = OP_CAS;
	o->a = last_seen[o->key];
	o->b = ((uint64_t)c->id << 32) | ++c->seq;
	snprintf(v1, 24, "%" PRIu64, o->b);
	snprintf(v2, 24, "%" PRIu64, o->a);
	argv[3] = "IFEQ";
	argv[4] = v2;
	return 5;
}

/* Record @o after the call returned @rv with @rep. */
static void settle(struct run *r, struct op *o, int rv,
		   const struct fabraft_reply *rep, uint64_t *last_seen)
{
	bool unknown = rv == FR_UNKNOWN || (rv == 0 && rep->type == '-');

	o->t_ret = now_ns();
	if (o->type != OP_R && unknown) {
		/* May or may not have run. */
		o->status = ST_UNKNOWN;
		o->t_ret = UINT64_MAX;
		record(r, o);
	} else if (rv != 0 || rep->type == '-') {
		/* Certainly not run (the library retried what it could). */
		__atomic_fetch_add(&r->n_dropped, 1, __ATOMIC_RELAXED);
	} else if (o->type == OP_R) {
		o->status = ST_OK;
		o->val = rep->type == '$' && rep->len != SIZE_MAX
			     ? strtoull(rep->str, NULL, 10)
			     : 0;
		last_seen[o->key] = o->val;
		record(r, o);
	} else {
		o->status = rep->type == '+' ? ST_OK : ST_FAIL;
		if (o->status == ST_OK) {
			last_seen[o->key] = o->type == OP_W ? o->a : o->b;
		}
		record(r, o);
	}
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct run *r = c->run;
	struct fabraft_client *fc = open_client(r, c->id % r->n_addrs);
	uint64_t last_seen[64] = {0};

	while (now_ns() < r->until_ns) {
		struct op o = {.key = (int)(rnd(c) % (uint64_t)r->keys)};
		char key[16];
		char v1[24];
		char v2[24];
		const char *argv[5] = {NULL};
		struct fabraft_reply rep;
		int argc = make_op(c, &o, last_seen, key, v1, v2, argv);
		int rv;

		o.t_call = now_ns();
		rv = fabraft_command(fc, argc, argv, NULL, &rep);
		settle(r, &o, rv, &rep, last_seen);
		fabraft_reply_free(&rep);
	}
	fabraft_close(fc);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Probes: reads queued on a stopped leader (e2e_lincheck_pause)       */

/*
 * The test stops the leader, cuts it off from its peers, waits for a new
 * leader and writes "ROUND HOST:PORT" (the stopped node) to the probe file.
 * The prober then writes a fresh value to every key through the other
 * nodes and, once those are acknowledged, sends a GET of each key to the
 * stopped node, each on a connection of its own: the GETs queue in the
 * stopped process's sockets, and their call time is the time they were
 * sent, after the writes returned.  It then writes ROUND to FILE.sent and
 * the test continues the old leader.  An answer with a value from before
 * the writes is a stale read the checker must reject.
 */

#define PROBE_READS_MAX 64

struct probe_read {
	struct run *run; /* shared */
	char addr[80];	 /* the stopped node */
	int key;	 /* register read */
	uint64_t want;	 /* value acknowledged before the GET, 0 if none */
	pthread_t th;	 /* its thread */
};

struct prober {
	struct run *run;  /* shared */
	const char *path; /* probe file */
	uint64_t seq;	  /* values written so far */
	struct probe_read reads[PROBE_READS_MAX];
	int n_reads;  /* started */
	pthread_t th; /* prober thread */
};

static void *probe_read_main(void *arg)
{
	struct probe_read *p = arg;
	/* Long enough for the stop and the cut after it. */
	struct fabraft_client *fc = open_eps(p->addr, 20000);
	struct op o = {.key = p->key, .type = OP_R};
	uint64_t last_seen[64] = {0};
	struct fabraft_reply rep;
	char key[16];
	const char *argv[2] = {"GET", key};
	int rv;

	snprintf(key, sizeof(key), "lin%d", p->key);
	o.t_call = now_ns();
	rv = fabraft_command(fc, 2, argv, NULL, &rep);
	settle(p->run, &o, rv, &rep, last_seen);
	printf("probe: GET %s queued at %s: %s%" PRIu64 " (acknowledged "
	       "before: %" PRIu64 ")\n",
	       key, p->addr, rv == 0 && rep.type != '-' ? "" : "no answer, ",
	       last_seen[p->key], p->want);
	(void)fflush(stdout);
	fabraft_reply_free(&rep);
	fabraft_close(fc);
	return NULL;
}

/* Reads "ROUND HOST:PORT" from @path; false when absent or malformed. */
static bool probe_poll(const char *path, int *round, char *addr)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (f == NULL) {
		return false;
	}
	ok = fscanf(f, "%d %79s", round, addr) == 2 && *round > 0 &&
	     strchr(addr, ':') != NULL;
	(void)fclose(f); /* read only */
	return ok;
}

/* One write per key through the nodes other than @addr; the values
 * acknowledged into @want (0 where the outcome is unknown). */
static void probe_write(struct prober *pr, const char *addr, uint64_t *want)
{
	struct run *r = pr->run;
	char eps[16 * 81] = "";
	struct fabraft_client *fc;

	for (int i = 0; i < r->n_addrs; i++) {
		size_t l = strlen(eps);

		if (strcmp(r->addrs[i], addr) != 0) {
			snprintf(eps + l, sizeof(eps) - l, "%s%s", l ? "," : "",
				 r->addrs[i]);
		}
	}
	fc = open_eps(eps, 5000);
	for (int k = 0; k < r->keys; k++) {
		uint64_t last_seen[64] = {0};
		struct op o = {.key = k, .type = OP_W};
		struct fabraft_reply rep;
		char key[16];
		char v[24];
		const char *argv[3] = {"SET", key, v};
		int rv;

		o.a = (100ull << 32) | ++pr->seq;
		snprintf(key, sizeof(key), "lin%d", k);
		snprintf(v, sizeof(v), "%" PRIu64, o.a);
		o.t_call = now_ns();
		rv = fabraft_command(fc, 3, argv, NULL, &rep);
		settle(r, &o, rv, &rep, last_seen);
		want[k] = last_seen[k];
		fabraft_reply_free(&rep);
	}
	fabraft_close(fc);
}

static void probe_round(struct prober *pr, int round, const char *addr)
{
	struct run *r = pr->run;
	uint64_t want[64] = {0};
	char sent[4096];
	FILE *f;
	int w;

	probe_write(pr, addr, want);
	for (int k = 0; k < r->keys && pr->n_reads < PROBE_READS_MAX; k++) {
		struct probe_read *p = &pr->reads[pr->n_reads++];

		*p = (struct probe_read){.run = r, .key = k, .want = want[k]};
		snprintf(p->addr, sizeof(p->addr), "%s", addr);
		pthread_create(&p->th, NULL, probe_read_main, p);
	}
	/* Time for the GETs to reach the stopped node's sockets. */
	nanosleep(&(struct timespec){.tv_nsec = 200000000}, NULL);
	snprintf(sent, sizeof(sent), "%s.sent", pr->path);
	f = fopen(sent, "w");
	if (f == NULL) {
		perror(sent);
		return;
	}
	w = fprintf(f, "%d\n", round);
	if (fclose(f) != 0 || w < 0) {
		perror(sent);
	}
}

static void *prober_main(void *arg)
{
	struct prober *pr = arg;
	int done = 0;

	while (now_ns() < pr->run->until_ns) {
		int round;
		char addr[80];

		if (probe_poll(pr->path, &round, addr) && round > done) {
			probe_round(pr, round, addr);
			done = round;
		}
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	}
	return NULL;
}

/* The whole history, one operation a line, for a failure to be studied:
 * key type a b status val t_call t_ret (ns; t_ret -1 when unknown). */
static void dump_history(const char *path, const struct op *ops, int n)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		return;
	}
	static const char *types = "?RWC";
	for (int i = 0; i < n; i++) {
		const struct op *o = &ops[i];
		fprintf(f,
			"%d %c %" PRIu64 " %" PRIu64 " %d %" PRIu64 " %" PRIu64
			" %lld\n",
			o->key, types[o->type & 3], o->a, o->b, o->status,
			o->val, o->t_call,
			o->t_ret == UINT64_MAX ? -1LL : (long long)o->t_ret);
	}
	fclose(f);
	printf("history written to %s\n", path);
}

/* @clients clients (and a prober when @probe names a file) until
 * r->until_ns, and every probe read answered or timed out. */
static void run_clients(struct run *r, int clients, const char *probe)
{
	static struct prober pr;
	pthread_t th[32];
	struct client cl[32];

	for (int i = 0; i < clients; i++) {
		cl[i] = (struct client){.run = r,
					.id = i + 1,
					.rng = 0x9e3779b97f4a7c15ull *
						   (uint64_t)(i + 1) ^
					       now_ns()};
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	if (probe != NULL) {
		pr = (struct prober){.run = r, .path = probe};
		pthread_create(&pr.th, NULL, prober_main, &pr);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
	}
	if (probe != NULL) {
		pthread_join(pr.th, NULL);
		for (int i = 0; i < pr.n_reads; i++) {
			pthread_join(pr.reads[i].th, NULL);
		}
		printf("probes: %d reads queued at stopped leaders\n",
		       pr.n_reads);
	}
}

static int run_main(int argc, char **argv)
{
	static char addrs[16][80];
	struct run r = {.addrs = addrs, .keys = 3};
	int clients = 4;
	double seconds = 10;
	const char *dump = NULL;
	const char *probe = NULL;
	int ok_ops = 0;
	bool lin;

	for (int i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--addrs") == 0) {
			char *save = NULL;
			char *buf = strdup(argv[i + 1]);

			for (char *t = strtok_r(buf, ",", &save);
			     t != NULL && r.n_addrs < 16;
			     t = strtok_r(NULL, ",", &save)) {
				snprintf(addrs[r.n_addrs++], 80, "%s", t);
			}
			free(buf);
		} else if (strcmp(argv[i], "--clients") == 0) {
			clients = atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--keys") == 0) {
			r.keys = atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--seconds") == 0) {
			seconds = atof(argv[i + 1]);
		} else if (strcmp(argv[i], "--dump") == 0) {
			dump = argv[i + 1];
		} else if (strcmp(argv[i], "--probe") == 0) {
			probe = argv[i + 1];
		}
	}
	if (r.n_addrs == 0 || clients < 1 || clients > 32 || r.keys < 1 ||
	    r.keys > 64 || seconds <= 0) {
		fprintf(stderr,
			"usage: lincheck run --addrs H:P,... [--clients "
			"1..32] [--keys 1..64] [--seconds S] [--dump FILE] "
			"[--probe FILE]\n");
		return 2;
	}
	pthread_mutex_init(&r.lock, NULL);
	r.until_ns = now_ns() + (uint64_t)(seconds * 1e9);
	run_clients(&r, clients, probe);
	for (int i = 0; i < r.n_ops; i++) {
		ok_ops += r.ops[i].status != ST_UNKNOWN;
	}
	printf("history: %d operations (%d answered, %" PRIu64
	       " unknown outcome), %" PRIu64 " refused or unanswered reads "
	       "left out\n",
	       r.n_ops, ok_ops, r.n_unknown, r.n_dropped);
	lin = check_all(r.ops, r.n_ops, r.keys, true);
	printf("%s\n", lin ? "LINEARIZABLE" : "NOT LINEARIZABLE");
	if (!lin && dump != NULL) {
		dump_history(dump, r.ops, r.n_ops);
	}
	free(r.ops);
	if (ok_ops < 50) {
		printf("too few operations answered to mean anything\n");
		return 1;
	}
	return lin ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "selftest") == 0) {
		return selftest();
	}
	if (argc >= 2 && strcmp(argv[1], "run") == 0) {
		return run_main(argc - 2, argv + 2);
	}
	fprintf(stderr,
		"usage: lincheck selftest | lincheck run --addrs "
		"H:P,... [--clients N] [--keys K] [--seconds S] [--dump FILE] "
		"[--probe FILE]\n");
	return 2;
}
