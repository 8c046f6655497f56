/* test_bench_cluster.c — the parts of `fabraft-bench cluster` whose bugs
 * would silently skew results: latency percentiles, Prometheus sums, flag
 * validation and the sweep plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench_cluster.h"
#include "opts.h"

/* The plan asks whether the etcd driver exists; this test links no curl. */
bool bc_http_available(void)
{
	return true;
}

static struct bc_hist h;

static void hist_exact_below_64(void **state)
{
	(void)state;
	memset(&h, 0, sizeof(h));
	for (uint64_t v = 0; v < 64; v++) {
		bc_hist_add(&h, v);
	}
	assert_int_equal(h.n, 64);
	assert_int_equal(bc_hist_quantile(&h, 0.0), 0);
	assert_int_equal(bc_hist_quantile(&h, 0.5), 32);
	assert_int_equal(bc_hist_quantile(&h, 1.0), 63);
	assert_int_equal(h.max_ns, 63);
}

static void hist_uniform_quantiles(void **state)
{
	/* 1..1,000,000 ns: each quantile within the 1/64 bucket width. */
	static const double q[] = {0.5, 0.9, 0.99, 0.999};

	(void)state;
	memset(&h, 0, sizeof(h));
	for (uint64_t v = 1; v <= 1000000; v++) {
		bc_hist_add(&h, v);
	}
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		double want = q[i] * 1e6;
		double got = (double)bc_hist_quantile(&h, q[i]);

		assert_true(got > want * (1 - 1.0 / 64) &&
			    got < want * (1 + 1.0 / 64));
	}
	assert_int_equal(bc_hist_quantile(&h, 1.0), 1000000);
}

static void hist_buckets_ordered_and_merge(void **state)
{
	struct bc_hist *a = calloc(1, sizeof(*a));
	struct bc_hist *b = calloc(1, sizeof(*b));

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	for (uint32_t i = 1; i < BC_HIST_BUCKETS; i++) {
		assert_true(bc_hist_bucket_low(i) > bc_hist_bucket_low(i - 1));
	}
	/* Far beyond the last bucket (hours): clamped, never out of range. */
	bc_hist_add(a, UINT64_MAX / 2);
	bc_hist_add(b, 1000);
	bc_hist_add(b, 3000);
	bc_hist_merge(a, b);
	assert_int_equal(a->n, 3);
	assert_int_equal(a->max_ns, UINT64_MAX / 2);
	assert_true(bc_hist_quantile(a, 0.0) >= 984 &&
		    bc_hist_quantile(a, 0.0) <= 1016);
	free(a);
	free(b);
}

static void prom_sum_labels(void **state)
{
	static const char page[] =
	    "# HELP fabraft_replicated_bytes_total Bytes sent to peers.\n"
	    "# TYPE fabraft_replicated_bytes_total counter\n"
	    "fabraft_replicated_bytes_total{provider=\"tcp\",path=\"msg\"} "
	    "1000\n"
	    "fabraft_replicated_bytes_total{provider=\"tcp\",path=\"rma\"} "
	    "234\n"
	    "fabraft_replicated_bytes_totalx 99\n"
	    "etcd_disk_wal_fsync_duration_seconds_sum 0.5\n"
	    "etcd_disk_wal_fsync_duration_seconds_count 7\n";

	(void)state;
	assert_true(bc_prom_sum(page, "fabraft_replicated_bytes_total") ==
		    1234);
	assert_true(
	    bc_prom_sum(page, "etcd_disk_wal_fsync_duration_seconds_count") ==
	    7);
	assert_true(bc_prom_sum(page, "absent_total") == 0);
}

static int parse(int argc, const char **argv, struct bc_opts *o)
{
	return bc_opts_parse(argc, (char **)argv, o);
}

static void opts_validated(void **state)
{
	static const char *const bad[][3] = {
	    {"cluster", "--clients", "0"},
	    {"cluster", "--clients", "1,x"},
	    {"cluster", "--paths", "tcp-msg,foo"},
	    {"cluster", "--duration", "0.1"},
	    {"cluster", "--values", "2000000"},
	    {"cluster", "--pipeline", "65"},
	    {"cluster", "--fsync", "maybe"},
	    {"cluster", "--bogus", "1"},
	    {"cluster", "--client-threads", "1.5"},
	};
	const char *good[] = {"cluster",   "--paths", "shm-rma,tcp-msg",
			      "--clients", "4,32",    "--quick"};
	const char *dangling[] = {"cluster", "--out"};
	struct bc_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(3, (const char **)bad[i], &o), -1);
	}
	assert_int_equal(parse(2, dangling, &o), -1);
	assert_int_equal(parse(6, good, &o), 0);
	assert_int_equal(o.paths, 1u << BC_SHM_RMA | 1u << BC_TCP_MSG);
	assert_int_equal(o.clients[0], 4);
	assert_int_equal(o.clients[1], 32);
	assert_int_equal(o.clients[2], 0);
	assert_true(o.quick && o.duration_s == 1 && o.warmup_s == 0.3);
}

static void plan_default_and_skips(void **state)
{
	static struct bc_spec cells[256];
	const char *argv[] = {"cluster"};
	char why[1024];
	struct bc_opts o;
	char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	int n;
	int per_path[BC_PATHS] = {0};

	(void)state;
	assert_int_equal(parse(1, argv, &o), 0);
	/* No etcd or redis-server on this PATH: both skipped, with why. */
	setenv("PATH", "/nonexistent", 1);
	n = bc_plan(&o, cells, 256, why, sizeof(why));
	assert_non_null(strstr(why, "etcd skipped"));
	assert_non_null(strstr(why, "redis skipped"));
	assert_non_null(strstr(why, "verbs-rma skipped"));
	/* 15 fabraft shapes per path (docs/benchmarks.md), 4 paths. */
	assert_int_equal(n, 60);
	for (int i = 0; i < n; i++) {
		assert_int_equal(cells[i].sys, BC_FABRAFT);
		assert_true(cells[i].path != BC_VERBS_RMA);
		per_path[cells[i].path]++;
	}
	for (int p = 0; p < BC_VERBS_RMA; p++) {
		assert_int_equal(per_path[p], 15);
	}
	/* Filters narrow it. */
	o.paths = 1u << BC_TCP_RMA;
	o.clients[0] = 256;
	o.clients[1] = 0;
	n = bc_plan(&o, cells, 256, why, sizeof(why));
	assert_int_equal(n, 4); /* set 3n, 3n nofsync, 5n, kvc */
	for (int i = 0; i < n; i++) {
		assert_int_equal(cells[i].clients, 256);
		assert_int_equal(cells[i].path, BC_TCP_RMA);
	}
	if (path != NULL) {
		setenv("PATH", path, 1);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hist_exact_below_64),
	    cmocka_unit_test(hist_uniform_quantiles),
	    cmocka_unit_test(hist_buckets_ordered_and_merge),
	    cmocka_unit_test(prom_sum_labels),
	    cmocka_unit_test(opts_validated),
	    cmocka_unit_test(plan_default_and_skips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
