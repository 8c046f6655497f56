/* bench_client.c — `fabraft-bench client`: time per call of the C client
 * library against a raw fabraft_respc loop issuing the same commands over
 * one connection to the same node, without pipelining. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fabraft_client.h"
#include "heap.h"
#include "opt.h"
#include "resp_client.h"

int bench_client_main(int argc, char **argv);

/*
 * Design notes
 * ============
 * 1. Both sides talk to the node the library found as leader: the raw loop
 *    connects to fabraft_server() after the library's first call.
 * 2. Rounds alternate raw and client (raw, client, raw, client, ...) so
 *    that drift in the machine's load hits both alike; each reports the
 *    mean and the median over all its calls.
 * 3. The raw loop encodes, sends, reads and frees a reply tree: the least
 *    any RESP client does.  The library adds its argument building, retry
 *    bookkeeping and the typed result (parsed, then freed).
 */

#define CHAIN 64

enum op { OP_GET, OP_SET, OP_LOOKUP, OP_N };
static const char *const op_name[OP_N] = {"GET", "SET", "KVC.LOOKUP-64"};

struct side {
	double *lat_us; /* per call */
	size_t n;	/* calls measured */
	double cpu_us;	/* this thread's CPU time over all calls */
};

struct bench {
	struct fabraft_client *c;	  /* library side */
	struct respc_conn raw;		  /* raw side */
	char hex[CHAIN][33];		  /* the chain, hex */
	struct fabraft_hash chain[CHAIN]; /* the chain */
	const char *argv[CHAIN + 2];	  /* raw argv of the op */
	int argc;			  /* its count */
	char val[64];			  /* SET value */
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int die(const char *what, const char *why)
{
	fprintf(stderr, "bench client: %s: %s\n", what, why);
	return 1;
}

static void raw_argv(struct bench *b, enum op op)
{
	b->argc = 0;
	if (op == OP_GET) {
		b->argv[b->argc++] = "GET";
		b->argv[b->argc++] = "bench:k";
	} else if (op == OP_SET) {
		b->argv[b->argc++] = "SET";
		b->argv[b->argc++] = "bench:k";
		b->argv[b->argc++] = b->val;
	} else {
		b->argv[b->argc++] = "KVC.LOOKUP";
		b->argv[b->argc++] = "bench";
		for (int i = 0; i < CHAIN; i++) {
			b->argv[b->argc++] = b->hex[i];
		}
	}
}

static int raw_call(struct bench *b)
{
	struct respc_reply r;
	int rv = respc_append(&b->raw, b->argc, b->argv, NULL);

	if (rv == 0) {
		rv = respc_flush(&b->raw);
	}
	if (rv == 0) {
		rv = respc_read(&b->raw, &r);
	}
	if (rv == 0 && r.type == '-') {
		snprintf(b->raw.err, sizeof(b->raw.err), "%s", r.str);
		rv = FR_REFUSED;
	}
	respc_reply_free(&r);
	return rv;
}

static int client_call(struct bench *b, enum op op)
{
	char *v;
	size_t len;
	bool found;
	struct fabraft_blocks bl;
	int rv;

	switch (op) {
	case OP_GET:
		rv = fabraft_get(b->c, "bench:k", &v, &len, &found);
		fabraft_free(v);
		return rv;
	case OP_SET:
		return fabraft_set(b->c, "bench:k", b->val, strlen(b->val));
	default:
		rv = fabraft_kvc_lookup(b->c, "bench", b->chain, CHAIN, false,
					&bl);
		fabraft_blocks_free(&bl);
		return rv;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

static void stats(struct side *s, double *mean, double *p50)
{
	double sum = 0;

	for (size_t i = 0; i < s->n; i++) {
		sum += s->lat_us[i];
	}
	*mean = s->n ? sum / (double)s->n : 0;
	qsort(s->lat_us, s->n, sizeof(double), cmp_double);
	*p50 = s->n ? s->lat_us[s->n / 2] : 0;
}

/* @rounds x (@ops raw calls, @ops client calls) of @op. */
static int measure(struct bench *b, enum op op, uint64_t ops, uint64_t rounds,
		   struct side *raw, struct side *cli)
{
	raw_argv(b, op);
	raw->n = cli->n = 0;
	raw->cpu_us = cli->cpu_us = 0;
	for (uint64_t r = 0; r < rounds; r++) {
		double c0 = cpu_us();

		for (uint64_t i = 0; i < ops; i++) {
			double t0 = now_us();

			if (raw_call(b) != 0) {
				return die("raw call", b->raw.err);
			}
			raw->lat_us[raw->n++] = now_us() - t0;
		}
		raw->cpu_us += cpu_us() - c0;
		c0 = cpu_us();
		for (uint64_t i = 0; i < ops; i++) {
			double t0 = now_us();

			if (client_call(b, op) != 0) {
				return die("client call", fabraft_errmsg(b->c));
			}
			cli->lat_us[cli->n++] = now_us() - t0;
		}
		cli->cpu_us += cpu_us() - c0;
	}
	return 0;
}

/* Storage node 1 and the 64-block chain the lookups find. */
static int prepare(struct bench *b)
{
	struct fabraft_tier_cap t = {"dram", 1ull << 40};
	struct fabraft_put p[CHAIN];
	uint32_t one = 1;
	uint64_t n;

	for (int i = 0; i < CHAIN; i++) {
		snprintf(b->hex[i], sizeof(b->hex[i]), "%016x%016x", 0xbe,
			 i + 1);
		if (fabraft_hash_parse(&b->chain[i], b->hex[i], 32) != 0) {
			return die("hash", b->hex[i]);
		}
		p[i] = (struct fabraft_put){.hash = b->chain[i],
					    .tokens = 16,
					    .node = 1,
					    .tier = "dram",
					    .offset = (uint64_t)i << 21,
					    .len = 1u << 21};
		if (i > 0) {
			p[i].parent = b->chain[i - 1];
		}
	}
	snprintf(b->val, sizeof(b->val), "%s", "0123456789abcdef0123456789ab");
	if (fabraft_kvc_node_del(b->c, &one, 1, &n) != 0) {
		n = 0; /* no node 1 from a previous run: fine */
	}
	if (fabraft_kvc_node_add(b->c, 1, "bench:1", 0, &t, 1, 0) != 0 ||
	    fabraft_kvc_put(b->c, "bench", p, CHAIN, &n) != 0 ||
	    fabraft_set(b->c, "bench:k", b->val, strlen(b->val)) != 0) {
		return die("prepare", fabraft_errmsg(b->c));
	}
	return 0;
}

static const struct opt_cmd client_cmd = {
    .prog = "fabraft-bench client",
    .usage = "fabraft-bench client --endpoints HOST:PORT,... [options]",
    .epilog = "Per-call time of the C client library (typed calls) against "
	      "a raw\nfabraft_respc loop of the same commands, one "
	      "connection each to the\nleader, no pipelining; rounds "
	      "alternate.  Columns: wall time per call\n(mean, median), "
	      "the library's difference, and this thread's CPU time\nper "
	      "call (what the library adds, free of the server's noise).  "
	      "Writes a storage node 1 and\nnamespace 'bench' "
	      "into the cluster.\n",
};

static int run(struct bench *b, uint64_t ops, uint64_t rounds)
{
	struct side raw = {.lat_us = calloc(ops * rounds, sizeof(double))};
	struct side cli = {.lat_us = calloc(ops * rounds, sizeof(double))};
	int rv = raw.lat_us && cli.lat_us ? 0 : die("memory", "none left");

	printf("%-14s %9s %9s %9s %9s %7s %7s %8s %8s\n", "op", "raw mean",
	       "lib mean", "raw p50", "lib p50", "mean", "p50", "raw cpu",
	       "lib cpu");
	for (int op = 0; rv == 0 && op < OP_N; op++) {
		double rm;
		double rp;
		double cm;
		double cp;

		rv = measure(b, (enum op)op, ops, rounds, &raw, &cli);
		if (rv != 0) {
			break;
		}
		stats(&raw, &rm, &rp);
		stats(&cli, &cm, &cp);
		printf("%-14s %7.1fus %7.1fus %7.1fus %7.1fus %+6.1f%% "
		       "%+6.1f%% %6.2fus %6.2fus\n",
		       op_name[op], rm, cm, rp, cp, (cm / rm - 1) * 100,
		       (cp / rp - 1) * 100, raw.cpu_us / (double)raw.n,
		       cli.cpu_us / (double)cli.n);
	}
	free(raw.lat_us);
	free(cli.lat_us);
	return rv;
}

int bench_client_main(int argc, char **argv)
{
	const char *endpoints = NULL;
	const char *password = NULL;
	uint64_t ops = 2000;
	uint64_t rounds = 5;
	const struct opt opts[] = {
	    {"endpoints", OPT_STRING, &endpoints, .arg = "LIST",
	     .help = "the cluster's client addresses (required)"},
	    {"password", OPT_STRING, &password, .arg = "PW",
	     .help = "AUTH password"},
	    {"ops", OPT_U64, &ops, 1, 1000000, .def = "2000",
	     .help = "calls per side per round"},
	    {"rounds", OPT_U64, &rounds, 1, 1000, .def = "5",
	     .help = "alternating rounds"},
	};
	struct fabraft_options o;
	struct bench b;
	char err[256];
	int rv = opt_parse_main(&client_cmd, opts, OPT_COUNT(opts), argc, argv);

	if (rv >= 0) {
		return rv;
	}
	if (endpoints == NULL) {
		return die("--endpoints", "required") + 1;
	}
	memset(&b, 0, sizeof(b));
	fabraft_options_default(&o);
	o.endpoints = endpoints;
	o.password = password;
	if (fabraft_open(&b.c, &o, err, sizeof(err)) != 0) {
		return die("endpoints", err) + 1;
	}
	rv = prepare(&b);
	if (rv == 0 &&
	    (respc_connect(&b.raw, fabraft_server(b.c), 5000) != 0 ||
	     (password != NULL && respc_auth(&b.raw, password) != 0))) {
		rv = die(fabraft_server(b.c), b.raw.err);
	}
	if (rv == 0) {
		printf("leader %s, %" PRIu64 " rounds x %" PRIu64
		       " calls per side\n",
		       fabraft_server(b.c), rounds, ops);
		rv = run(&b, ops, rounds);
	}
	respc_close(&b.raw);
	fabraft_close(b.c);
	return rv;
}
