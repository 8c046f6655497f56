/* lincheck.c — records a history of concurrent SET/GET/compare-and-set
 * clients against a fabraft cluster and checks it for linearizability with
 * the shared checker (tests/lib/lin_check.h: Wing & Gong / Lowe, key by
 * key). */
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
#include "lin_check.h"

/*
 * Design notes
 * ============
 * Model: one register per key holding 0 (no key) or a unique positive
 * integer.  Operations: W(a) sets a; R returns the value; CAS(a, b) sets b
 * if the value is a (reply OK) and otherwise changes nothing (reply nil).
 *
 * Outcomes: a reply is OK/CAS miss/a value; a write or CAS whose reply
 * never came (connection lost, "-TRYAGAIN ... outcome unknown") is
 * LIN_UNKNOWN: it may take effect at any point after its call, or never.
 * A write refused with certainty ("not committed") and a read without an
 * answer are left out.
 */

/* Check every key of @ops; print the verdict and what it cost.  True if
 * linearizable: undecided (search budget spent) fails as a violation
 * does. */
static bool check_all(const struct lin_op *ops, int n, uint64_t budget)
{
	struct lin_report r;
	clock_t t0 = clock();
	int verdict = lin_check(ops, (size_t)n, budget, &r);

	printf("checked %u operations on %u keys (%u unknown outcome, %u "
	       "left out) in %" PRIu64 " search steps, %.3f CPU s: %s\n",
	       r.ops, r.keys, r.unknown, r.dropped, r.steps,
	       (double)(clock() - t0) / CLOCKS_PER_SEC,
	       lin_verdict_name(verdict));
	if (verdict != LIN_LINEARIZABLE) {
		printf("%s\n", r.why);
	}
	printf("%s\n", verdict == LIN_LINEARIZABLE ? "LINEARIZABLE"
		       : verdict == LIN_VIOLATION  ? "NOT LINEARIZABLE"
						   : "UNDECIDED");
	return verdict == LIN_LINEARIZABLE;
}

/* ------------------------------------------------------------------ */
/* Recording                                                           */

struct run {
	char (*addrs)[80];    /* cluster client addresses */
	int n_addrs;	      /* how many */
	int keys;	      /* registers */
	uint64_t until_ns;    /* stop issuing at */
	pthread_mutex_t lock; /* protects ops */
	struct lin_op *ops;   /* history */
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

static void record(struct run *r, const struct lin_op *o)
{
	pthread_mutex_lock(&r->lock);
	if (r->n_ops == r->cap_ops) {
		int cap = r->cap_ops ? r->cap_ops * 2 : 4096;
		struct lin_op *n = realloc(r->ops, (size_t)cap * sizeof(*n));

		if (n == NULL) {
			fprintf(stderr, "lincheck: out of memory\n");
			exit(2);
		}
		r->ops = n;
		r->cap_ops = cap;
	}
	r->ops[r->n_ops++] = *o;
	if (o->outcome == LIN_UNKNOWN) {
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
static int make_op(struct client *c, struct lin_op *o,
		   const uint64_t *last_seen, char *key, char *v1, char *v2,
		   const char **argv)
{
	uint64_t dice = rnd(c) % 10;

	snprintf(key, 16, "lin%u", (unsigned)(o->key % 64));
	argv[1] = key;
	if (dice < 4) {
		o->kind = LIN_READ;
		argv[0] = "GET";
		return 2;
	}
	argv[0] = "SET";
	argv[2] = v1;
	if (dice < 8 || last_seen[o->key] == 0) {
		o->kind = LIN_WRITE;
		o->a = ((uint64_t)c->id << 32) | ++c->seq;
		snprintf(v1, 24, "%" PRIu64, o->a);
		return 3;
	}
	o->kind = LIN_CAS;
	o->a = last_seen[o->key];
	o->b = ((uint64_t)c->id << 32) | ++c->seq;
	snprintf(v1, 24, "%" PRIu64, o->b);
	snprintf(v2, 24, "%" PRIu64, o->a);
	argv[3] = "IFEQ";
	argv[4] = v2;
	return 5;
}

/* Record @o after the call returned @rv with @rep. */
static void settle(struct run *r, struct lin_op *o, int rv,
		   const struct fabraft_reply *rep, uint64_t *last_seen)
{
	bool unknown = rv == FR_UNKNOWN || (rv == 0 && rep->type == '-');

	o->t_ret = now_ns();
	if (o->kind != LIN_READ && unknown) {
		/* May or may not have run. */
		o->outcome = LIN_UNKNOWN;
		o->t_ret = UINT64_MAX;
		record(r, o);
	} else if (rv != 0 || rep->type == '-') {
		/* Certainly not run (the library retried what it could). */
		__atomic_fetch_add(&r->n_dropped, 1, __ATOMIC_RELAXED);
	} else if (o->kind == LIN_READ) {
		o->outcome = LIN_OK;
		o->a = rep->type == '$' && rep->len != SIZE_MAX
			   ? strtoull(rep->str, NULL, 10)
			   : 0;
		last_seen[o->key] = o->a;
		record(r, o);
	} else {
		o->outcome = rep->type == '+' ? LIN_OK : LIN_CAS_MISS;
		if (o->outcome == LIN_OK) {
			last_seen[o->key] = o->kind == LIN_WRITE ? o->a : o->b;
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
		struct lin_op o = {.key = rnd(c) % (uint64_t)r->keys};
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
	struct lin_op o = {.key = (uint64_t)p->key, .kind = LIN_READ};
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
		struct lin_op o = {.key = (uint64_t)k, .kind = LIN_WRITE};
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
 * key type a b outcome val t_call t_ret (ns; t_ret -1 when unknown;
 * outcome 1 ok, 2 CAS miss, 3 unknown: enum lin_outcome). */
static void dump_history(const char *path, const struct lin_op *ops, int n)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		return;
	}
	static const char *types = "?RWC";
	for (int i = 0; i < n; i++) {
		const struct lin_op *o = &ops[i];
		bool rd = o->kind == LIN_READ;

		fprintf(f,
			"%" PRIu64 " %c %" PRIu64 " %" PRIu64 " %d %" PRIu64
			" %" PRIu64 " %lld\n",
			o->key, types[o->kind & 3], rd ? 0 : o->a, o->b,
			o->outcome, rd ? o->a : 0, o->t_call,
			o->outcome == LIN_UNKNOWN ? -1LL : (long long)o->t_ret);
	}
	(void)fclose(f);
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
		ok_ops += r.ops[i].outcome != LIN_UNKNOWN;
	}
	printf("history: %d operations (%d answered, %" PRIu64
	       " unknown outcome), %" PRIu64 " refused or unanswered reads "
	       "left out\n",
	       r.n_ops, ok_ops, r.n_unknown, r.n_dropped);
	lin = check_all(r.ops, r.n_ops, 0);
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

/* One line of dump_history() into @o; false if it is not one. */
static bool parse_line(const char *line, struct lin_op *o)
{
	char type;
	int outcome;
	uint64_t val;
	long long ret;

	if (sscanf(line,
		   "%" SCNu64 " %c %" SCNu64 " %" SCNu64 " %d %" SCNu64
		   " %" SCNu64 " %lld",
		   &o->key, &type, &o->a, &o->b, &outcome, &val, &o->t_call,
		   &ret) != 8 ||
	    outcome < LIN_OK || outcome > LIN_UNKNOWN ||
	    (ret < 0) != (outcome == LIN_UNKNOWN)) {
		return false;
	}
	o->outcome = (uint8_t)outcome;
	o->t_ret = ret < 0 ? UINT64_MAX : (uint64_t)ret;
	o->kind = type == 'R' ? LIN_READ : type == 'W' ? LIN_WRITE : LIN_CAS;
	if (o->kind == LIN_READ) {
		o->a = val;
	}
	return type == 'R' || type == 'W' || type == 'C';
}

/* Check a history written by --dump again (a failure to study, or a
 * larger search budget). */
static int check_file(const char *path, uint64_t budget)
{
	FILE *f = fopen(path, "r");
	struct lin_op *ops = NULL;
	int n = 0, cap = 0;
	char line[256];
	bool lin;

	if (f == NULL) {
		perror(path);
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			ops = realloc(ops, (size_t)cap * sizeof(*ops));
			if (ops == NULL) {
				fprintf(stderr, "lincheck: out of memory\n");
				exit(2);
			}
		}
		if (!parse_line(line, &ops[n])) {
			fprintf(stderr, "lincheck: %s:%d: not a history line\n",
				path, n + 1);
			(void)fclose(f);
			free(ops);
			return 2;
		}
		n++;
	}
	(void)fclose(f);
	lin = check_all(ops, n, budget);
	free(ops);
	return lin ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 || (argc == 5 && strcmp(argv[3], "--budget") == 0)) {
		if (strcmp(argv[1], "check") == 0) {
			return check_file(
			    argv[2],
			    argc == 5 ? strtoull(argv[4], NULL, 10) : 0);
		}
	}
	if (argc >= 2 && strcmp(argv[1], "run") == 0) {
		return run_main(argc - 2, argv + 2);
	}
	fprintf(stderr,
		"usage: lincheck run --addrs H:P,... [--clients N] "
		"[--keys K] [--seconds S] [--dump FILE] [--probe FILE]\n"
		"       lincheck check FILE [--budget STEPS_PER_KEY]\n");
	return 2;
}
