/* targets.c — issue #18's target ratios, computed from the
 * cells and redis-benchmark rows of one run (nothing here is measured twice or
 * assumed).  With
 * --rounds N each ratio is taken within each round (cells run close in
 * time, A B C A B C ...) and the median over the rounds is reported, with
 * the medians of both sides beside it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench_cluster.h"

#define ROUNDS_MAX 100

/* The cell of that shape that ran in round @round, or NULL. */
static const struct bc_result *find(const struct bc_run *run, int round,
				    enum bc_system sys, enum bc_path path,
				    enum bc_workload wl, int clients)
{
	for (int i = 0; i < run->n; i++) {
		const struct bc_result *r = &run->res[i];
		const struct bc_spec *s = &r->spec;

		if (r->ok && s->round == round && s->sys == sys &&
		    s->wl == wl && s->value_bytes == 64 &&
		    s->clients == clients && s->pipeline == 1 && s->fsync &&
		    (sys != BC_FABRAFT || (s->path == path && s->nodes == 3))) {
			return r;
		}
	}
	return NULL;
}

static double rate(const struct bc_result *r)
{
	return (double)r->ops[BC_WRITE] / r->seconds;
}

static double p50(const struct bc_result *r)
{
	return (double)bc_hist_quantile(&r->lat, 0.5) / 1e3;
}

static double p99(const struct bc_result *r)
{
	return (double)bc_hist_quantile(&r->lat, 0.99) / 1e3;
}

/* Medians over the rounds where both cells ran. */
struct pair_med {
	double a, b, ratio; /* of fn(fabraft cell), fn(other), their ratio */
	int rounds;	    /* rounds counted (0: none ran) */
};

/* fabraft on @pa against system @sb on @pb, shape @wl x @clients, by @fn
 * in each round. */
static struct pair_med pair(const struct bc_run *run, enum bc_path pa,
			    enum bc_system sb, enum bc_path pb,
			    enum bc_workload wl, int clients,
			    double (*fn)(const struct bc_result *))
{
	static double va[ROUNDS_MAX], vb[ROUNDS_MAX], vr[ROUNDS_MAX];
	struct pair_med m = {0};
	int rounds = run->o->rounds > 0 ? run->o->rounds : 1;

	for (int k = 0; k < rounds && k < ROUNDS_MAX; k++) {
		const struct bc_result *a =
		    find(run, k, BC_FABRAFT, pa, wl, clients);
		const struct bc_result *b = find(run, k, sb, pb, wl, clients);

		if (a != NULL && b != NULL && fn(b) > 0) {
			va[m.rounds] = fn(a);
			vb[m.rounds] = fn(b);
			vr[m.rounds] = fn(a) / fn(b);
			m.rounds++;
		}
	}
	m.a = bc_median(va, m.rounds);
	m.b = bc_median(vb, m.rounds);
	m.ratio = bc_median(vr, m.rounds);
	return m;
}

/* Said after each ratio. */
static const char *verdict(bool met)
{
	return met ? " (met)" : " (missed)";
}

static void rounds_note(FILE *f, int rounds)
{
	if (rounds > 1) {
		fprintf(f, " [median of %d rounds]", rounds);
	}
}

/* One of issue 18's targets on the cells: fabraft's @fn at @clients
 * against @sys's, met when the ratio is at most @max (or, when @max is 0,
 * at least @min). */
struct tgt {
	const char *what; /* the measure, for the line */
	enum bc_system sys;
	int clients;
	double (*fn)(const struct bc_result *);
	double max, min;
	const char *unit; /* of the two sides */
};

static const struct tgt tgts[] = {
    {"1-client SET p50 against redis-server's", BC_REDIS, 1, p50, 1.5, 0, "us"},
    {"16-client SET p99 against redis-server's", BC_REDIS, 16, p99, 2.0, 0,
     "us"},
    {"16-client SET p99 against etcd's", BC_ETCD, 16, p99, 1.0 / 3, 0, "us"},
    {"256-client writes/s against redis-server's", BC_REDIS, 256, rate, 0, 0.8,
     "writes/s"},
    {"256-client writes/s against etcd's", BC_ETCD, 256, rate, 0, 10,
     "writes/s"},
};

/* Issue 18's targets against redis-server (appendfsync always) and etcd:
 * SET 64 B, 3 fabraft nodes, fsync on, one line per fabraft path. */
static void cells_vs_others(const struct bc_run *run, FILE *f)
{
	for (size_t t = 0; t < sizeof(tgts) / sizeof(tgts[0]); t++) {
		const struct tgt *g = &tgts[t];

		fprintf(f, "- %s (target %s %.2fx):\n", g->what,
			g->max > 0 ? "<=" : ">=", g->max > 0 ? g->max : g->min);
		for (enum bc_path p = 0; p < BC_PATHS; p++) {
			struct pair_med m =
			    pair(run, p, g->sys, 0, BC_SET, g->clients, g->fn);

			if (m.rounds == 0) {
				continue;
			}
			fprintf(f, "  - %s: %.0f vs %.0f %s = %.2fx%s",
				bc_path_name(p), m.a, m.b, g->unit, m.ratio,
				verdict(g->max > 0 ? m.ratio <= g->max
						   : m.ratio >= g->min));
			rounds_note(f, m.rounds);
			fprintf(f, "\n");
		}
	}
}

static void rma_vs_msg(const struct bc_run *run, FILE *f)
{
	static const int clients[] = {1, 16};
	static const enum bc_path pairs[][2] = {{BC_TCP_MSG, BC_TCP_RMA},
						{BC_SHM_MSG, BC_SHM_RMA}};

	fprintf(f, "- RMA against message path, p50 commit latency (SET "
		   "64 B, 3 nodes, fsync on; target: RMA lower):\n");
	for (int c = 0; c < 2; c++) {
		for (int k = 0; k < 2; k++) {
			struct pair_med m =
			    pair(run, pairs[k][1], BC_FABRAFT, pairs[k][0],
				 BC_SET, clients[c], p50);

			if (m.rounds == 0) {
				continue;
			}
			fprintf(f,
				"  - %s vs %s, %d client%s: %.1f us vs %.1f "
				"us (%+.1f%%)%s",
				bc_path_name(pairs[k][1]),
				bc_path_name(pairs[k][0]), clients[c],
				clients[c] > 1 ? "s" : "", m.a, m.b,
				100 * (m.ratio - 1), verdict(m.ratio < 1));
			rounds_note(f, m.rounds);
			fprintf(f, "\n");
		}
	}
}

/* The redis-server row of @round, or NULL. */
static const struct bc_rb *rb_redis(const struct bc_run *run, int round)
{
	for (int i = 0; i < run->n_rb; i++) {
		const struct bc_rb *rb = &run->rb[i];

		if (rb->ok && rb->round == round &&
		    rb->target[0] == 'r') { /* "redis ..." */
			return rb;
		}
	}
	return NULL;
}

/* Medians over the rounds of fabraft row @label's SET and GET rates in
 * @mode, redis-server's, and their ratios (taken within each round). */
static void rb_pair(const struct bc_run *run, const char *label,
		    enum bc_rb_mode mode, struct pair_med m[2])
{
	static double v[2][3][ROUNDS_MAX];
	int n = 0;

	for (int i = 0; i < run->n_rb && n < ROUNDS_MAX; i++) {
		const struct bc_rb *a = &run->rb[i];
		const struct bc_rb *b = rb_redis(run, a->round);

		if (!a->ok || b == NULL || strcmp(a->target, label) != 0) {
			continue;
		}
		v[0][0][n] = a->set_rps[mode];
		v[0][1][n] = b->set_rps[mode];
		v[0][2][n] = a->set_rps[mode] / b->set_rps[mode];
		v[1][0][n] = a->get_rps[mode];
		v[1][1][n] = b->get_rps[mode];
		v[1][2][n] = a->get_rps[mode] / b->get_rps[mode];
		n++;
	}
	for (int k = 0; k < 2; k++) {
		m[k].a = bc_median(v[k][0], n);
		m[k].b = bc_median(v[k][1], n);
		m[k].ratio = bc_median(v[k][2], n);
		m[k].rounds = n;
	}
}

/* One line per fabraft store: SET and GET against redis-server in @mode,
 * with targets @set_min and @get_min (0: none). */
static void rb_lines(const struct bc_run *run, FILE *f, enum bc_rb_mode mode,
		     double set_min, double get_min)
{
	for (int i = 0; i < run->n_rb; i++) {
		const struct bc_rb *rb = &run->rb[i];
		struct pair_med m[2];

		/* Each store once: at its first row. */
		if (rb->round != run->rb[0].round || rb->target[0] == 'r') {
			continue;
		}
		rb_pair(run, rb->target, mode, m);
		if (m[0].rounds == 0) {
			continue;
		}
		fprintf(f,
			"  - %s: SET %.0f vs %.0f/s = %.2fx%s; GET %.0f vs "
			"%.0f/s = %.2fx%s",
			rb->target, m[0].a, m[0].b, m[0].ratio,
			set_min > 0 ? verdict(m[0].ratio >= set_min) : "",
			m[1].a, m[1].b, m[1].ratio,
			get_min > 0 ? verdict(m[1].ratio >= get_min) : "");
		rounds_note(f, m[0].rounds);
		fprintf(f, "\n");
	}
}

static void vs_redis(const struct bc_run *run, FILE *f)
{
	const struct bc_rb *redis = NULL;

	for (int i = 0; i < run->n_rb && redis == NULL; i++) {
		redis = rb_redis(run, run->rb[i].round);
	}
	if (redis == NULL) {
		return;
	}
	fprintf(f,
		"- `%s` against redis-server appendfsync always (issue 18 "
		"target: SET >= 0.8x, GET >= 1.0x):\n",
		redis->command[BC_RB_P1]);
	rb_lines(run, f, BC_RB_P1, 0.8, 1.0);
	fprintf(f,
		"- `%s` against redis-server appendfsync always (target: "
		"SET >= 1x):\n",
		redis->command[BC_RB_P16]);
	rb_lines(run, f, BC_RB_P16, 1.0, 0);
}

void bc_write_targets(const struct bc_run *run, FILE *f)
{
	cells_vs_others(run, f);
	rma_vs_msg(run, f);
	vs_redis(run, f);
}
