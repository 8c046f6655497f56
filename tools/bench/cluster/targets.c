/* targets.c — issue #8's target ratios, computed from the
 * cells of one run (nothing here is measured twice or assumed). */
#include <stdbool.h>
#include <stdio.h>

#include "bench_cluster.h"

/* The cell of that shape that ran, or NULL. */
static const struct bc_result *find(const struct bc_run *run,
				    enum bc_system sys, enum bc_path path,
				    enum bc_workload wl, int clients)
{
	for (int i = 0; i < run->n; i++) {
		const struct bc_result *r = &run->res[i];
		const struct bc_spec *s = &r->spec;

		if (r->ok && s->sys == sys && s->wl == wl &&
		    s->value_bytes == 64 && s->clients == clients &&
		    s->pipeline == 1 && s->fsync &&
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

static double p_us(const struct bc_result *r, double q)
{
	return (double)bc_hist_quantile(&r->lat, q) / 1e3;
}

/* Said after each ratio. */
static const char *verdict(bool met)
{
	return met ? " (met)" : " (missed)";
}

static void writes_vs_etcd(const struct bc_run *run, FILE *f)
{
	const struct bc_result *e = find(run, BC_ETCD, 0, BC_SET, 256);
	const struct bc_result *e16 = find(run, BC_ETCD, 0, BC_SET, 16);

	fprintf(f, "- fabraft 3 nodes, fsync on, 256 clients, SET 64 B, "
		   "against etcd (target >= 20x writes/s):\n");
	for (enum bc_path p = 0; p < BC_PATHS && e != NULL; p++) {
		const struct bc_result *r =
		    find(run, BC_FABRAFT, p, BC_SET, 256);

		if (r != NULL) {
			fprintf(f, "  - %s: %.0f vs %.0f writes/s = %.1fx%s\n",
				bc_path_name(p), rate(r), rate(e),
				rate(r) / rate(e),
				verdict(rate(r) >= 20 * rate(e)));
		}
	}
	fprintf(f, "- p99 at 16 clients, SET 64 B, against etcd's (target "
		   "<= 1/3 of it):\n");
	for (enum bc_path p = 0; p < BC_PATHS && e16 != NULL; p++) {
		const struct bc_result *r =
		    find(run, BC_FABRAFT, p, BC_SET, 16);

		if (r != NULL) {
			double us = p_us(r, 0.99);
			double etcd_us = p_us(e16, 0.99);

			fprintf(
			    f,
			    "  - %s: %.0f us vs %.0f us = %.2f of etcd's%s\n",
			    bc_path_name(p), us, etcd_us, us / etcd_us,
			    verdict(us * 3 <= etcd_us));
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
			const struct bc_result *m = find(
			    run, BC_FABRAFT, pairs[k][0], BC_SET, clients[c]);
			const struct bc_result *r = find(
			    run, BC_FABRAFT, pairs[k][1], BC_SET, clients[c]);

			if (m == NULL || r == NULL) {
				continue;
			}
			fprintf(f,
				"  - %s vs %s, %d client%s: %.1f us vs %.1f "
				"us (%+.1f%%)%s\n",
				bc_path_name(pairs[k][1]),
				bc_path_name(pairs[k][0]), clients[c],
				clients[c] > 1 ? "s" : "", p_us(r, 0.5),
				p_us(m, 0.5),
				100 * (p_us(r, 0.5) / p_us(m, 0.5) - 1),
				verdict(p_us(r, 0.5) < p_us(m, 0.5)));
		}
	}
}

static void vs_redis(const struct bc_run *run, FILE *f)
{
	const struct bc_rb *redis = NULL;

	for (int i = 0; i < run->n_rb; i++) {
		if (run->rb[i].ok &&
		    run->rb[i].target[0] == 'r') { /* "redis ..." */
			redis = &run->rb[i];
		}
	}
	if (redis == NULL) {
		return;
	}
	fprintf(f,
		"- `%s`, SET rate against redis-server appendfsync "
		"always (target >= 1x):\n",
		redis->command);
	for (int i = 0; i < run->n_rb; i++) {
		const struct bc_rb *rb = &run->rb[i];

		if (rb->ok && rb != redis) {
			fprintf(f, "  - %s: %.0f vs %.0f SET/s = %.2fx%s\n",
				rb->target, rb->set_rps, redis->set_rps,
				rb->set_rps / redis->set_rps,
				verdict(rb->set_rps >= redis->set_rps));
		}
	}
}

void bc_write_targets(const struct bc_run *run, FILE *f)
{
	writes_vs_etcd(run, f);
	rma_vs_msg(run, f);
	vs_redis(run, f);
}
