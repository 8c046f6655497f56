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
	    {"cluster", "--rounds", "0"},
	    {"cluster", "--rounds", "101"},
	};
	const char *good[] = {"cluster",   "--paths", "shm-rma,tcp-msg",
			      "--clients", "4,32",    "--quick"};
	const char *dangling[] = {"cluster", "--out"};
	const char *json_alone[] = {"cluster", "--json"};
	struct bc_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(3, (const char **)bad[i], &o), -1);
	}
	assert_int_equal(parse(2, dangling, &o), -1);
	assert_int_equal(parse(2, json_alone, &o), -1);
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

/* --rounds: the plan repeated whole, A B C A B C, rounds numbered; only
 * whole rounds fit. */
static void plan_rounds_alternate(void **state)
{
	static struct bc_spec cells[16];
	static const enum bc_system sys[] = {BC_FABRAFT, BC_ETCD, BC_REDIS};
	int n;

	(void)state;
	memset(cells, 0, sizeof(cells));
	for (int i = 0; i < 3; i++) {
		cells[i].sys = sys[i];
		cells[i].clients = 16;
	}
	n = bc_plan_rounds(cells, 3, 3, 16);
	assert_int_equal(n, 9);
	for (int i = 0; i < n; i++) {
		assert_int_equal(cells[i].sys, sys[i % 3]);
		assert_int_equal(cells[i].round, i / 3);
		assert_int_equal(cells[i].clients, 16);
	}
	assert_int_equal(bc_plan_rounds(cells, 3, 3, 7), 6);
	assert_int_equal(bc_plan_rounds(cells, 3, 1, 16), 3);
}

static void median_odd_even(void **state)
{
	double odd[] = {30, 10, 20};
	double even[] = {4, 1, 3, 2};
	double one[] = {7};

	(void)state;
	assert_true(bc_median(odd, 3) == 20);
	assert_true(bc_median(even, 4) == 2.5);
	assert_true(bc_median(one, 1) == 7);
	assert_true(bc_median(NULL, 0) == 0);
}

/* A cell of @ops writes in 1 s. */
static void cell(struct bc_result *r, enum bc_system sys, int round,
		 uint64_t ops)
{
	memset(r, 0, sizeof(*r));
	r->ok = true;
	r->spec.sys = sys;
	r->spec.path = BC_SHM_RMA;
	r->spec.nodes = 3;
	r->spec.fsync = true;
	r->spec.wl = BC_SET;
	r->spec.value_bytes = 64;
	r->spec.clients = 256;
	r->spec.pipeline = 1;
	r->spec.round = round;
	r->seconds = 1;
	r->ops[BC_WRITE] = ops;
}

/* The target ratio is the median of the per-round ratios (10, 10, 90:
 * 10x), not the ratio of the medians (300 / 10 = 30x). */
static void targets_median_of_round_ratios(void **state)
{
	static struct bc_result res[6];
	static const uint64_t fab[] = {100, 300, 900}, etcd[] = {10, 30, 10};
	struct bc_opts o = {.rounds = 3};
	struct bc_run run = {.o = &o, .res = res, .n = 6};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		cell(&res[2 * k], BC_FABRAFT, (int)k, fab[k]);
		cell(&res[2 * k + 1], BC_ETCD, (int)k, etcd[k]);
	}
	assert_non_null(f);
	bc_write_targets(&run, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(
	    strstr(text, "shm-rma: 300 vs 10 writes/s = 10.00x (met)"));
	assert_non_null(strstr(text, "[median of 3 rounds]"));
	free(text);
}

/* --breakdown reads the daemon's stage buckets twice and takes each
 * stage's median over the window between. */
static void stages_parse_and_window_median(void **state)
{
	static struct bc_stages a, b;
	static struct bc_result r;
	static char page0[16384], page1[16384];
	size_t l0 = 0, l1 = 0;

	(void)state;
	/* wal: 0 then 100 in the bucket (1.78, 2.37] us at the window's
	 * end; repl peer 2: 5 before (all <= 1 us), 5 + 10 in (4.22, 5.62]
	 * after. */
	for (uint32_t i = 0; i < FR_LHIST_BUCKETS; i++) {
		char le[32];

		if (i + 1 == FR_LHIST_BUCKETS) {
			snprintf(le, sizeof(le), "+Inf");
		} else {
			snprintf(le, sizeof(le), "%g",
				 (double)fr_lhist_bound_ns(i) / 1e9);
		}
		l0 += (size_t)snprintf(
		    page0 + l0, sizeof(page0) - l0,
		    "fabraft_stage_seconds_bucket{stage=\"wal\",le=\"%s\"} 0\n"
		    "fabraft_stage_seconds_bucket{stage=\"repl\",peer=\"2\","
		    "le=\"%s\"} 5\n",
		    le, le);
		l1 += (size_t)snprintf(
		    page1 + l1, sizeof(page1) - l1,
		    "fabraft_stage_seconds_bucket{stage=\"wal\",le=\"%s\"} "
		    "%d\n"
		    "fabraft_stage_seconds_bucket{stage=\"repl\",peer=\"2\","
		    "le=\"%s\"} %d\n",
		    le, i >= 3 ? 100 : 0, le, i >= 6 ? 15 : 5);
	}
	assert_int_equal(bc_stages_parse(page0, &a), 2);
	assert_int_equal(bc_stages_parse(page1, &b), 2);
	bc_stages_medians(&a, &b, &r);
	assert_int_equal(r.n_stages, 2);
	assert_string_equal(r.stage[0], "wal");
	assert_string_equal(r.stage[1], "repl peer=2");
	assert_int_equal(r.stage_n[0], 100);
	assert_int_equal(r.stage_n[1], 10);
	/* Medians inside their buckets (linear): 1.78 + 0.5 * 0.59 us. */
	assert_true(r.stage_p50_us[0] > 1.78 && r.stage_p50_us[0] < 2.37);
	assert_true(r.stage_p50_us[1] > 4.22 && r.stage_p50_us[1] < 5.62);
}

/* redis-benchmark --csv lines: the SET and GET rates of either version's
 * format, nothing from the header or other tests, the first error kept. */
static void rb_csv_lines_parsed(void **state)
{
	struct bc_rb rb;

	(void)state;
	memset(&rb, 0, sizeof(rb));
	assert_false(bc_rb_parse_line("\"test\",\"rps\",\"avg_latency_ms\"\n",
				      &rb, BC_RB_P1));
	assert_true(bc_rb_parse_line(
	    "\"SET\",\"17557.72\",\"2.293\",\"0.088\",\"0.879\"\n", &rb,
	    BC_RB_P1));
	assert_true(bc_rb_parse_line("\"GET\",\"32000.50\"\n", &rb, BC_RB_P1));
	assert_true(bc_rb_parse_line("\"SET\",\"199000.00\",\"3.1\"\n", &rb,
				     BC_RB_P16));
	assert_false(bc_rb_parse_line("\"INCR\",\"5.0\"\n", &rb, BC_RB_P16));
	assert_false(bc_rb_parse_line("\"GET\",\"0.00\"\n", &rb, BC_RB_P16));
	assert_true(rb.set_rps[BC_RB_P1] > 17557.7 &&
		    rb.set_rps[BC_RB_P1] < 17557.8);
	assert_true(rb.get_rps[BC_RB_P1] > 32000.4 &&
		    rb.get_rps[BC_RB_P1] < 32000.6);
	assert_true(rb.set_rps[BC_RB_P16] > 198999);
	assert_true(rb.get_rps[BC_RB_P16] == 0);
	assert_string_equal(rb.error, "");
	assert_false(
	    bc_rb_parse_line("Error: Connection refused\n", &rb, BC_RB_P1));
	assert_false(bc_rb_parse_line("Error: later\n", &rb, BC_RB_P1));
	assert_string_equal(rb.error, "Error: Connection refused");
}

static void rb_row(struct bc_rb *rb, const char *target, int round, double set1,
		   double get1, double set16)
{
	memset(rb, 0, sizeof(*rb));
	snprintf(rb->target, sizeof(rb->target), "%s", target);
	snprintf(rb->command[BC_RB_P1], sizeof(rb->command[BC_RB_P1]),
		 "redis-benchmark -t set,get -n 1000 -c 50");
	snprintf(rb->command[BC_RB_P16], sizeof(rb->command[BC_RB_P16]),
		 "redis-benchmark -t set,get -n 1000 -c 50 -P 16");
	rb->round = round;
	rb->set_rps[BC_RB_P1] = set1;
	rb->get_rps[BC_RB_P1] = get1;
	rb->set_rps[BC_RB_P16] = set16;
	rb->get_rps[BC_RB_P16] = set16;
	rb->ok = true;
}

/* The redis-benchmark target lines: each round's fabraft/redis ratio,
 * unpipelined against issue 18's 0.8x (SET) and 1.0x (GET), -P 16 against
 * 1x, median over the rounds; a failed row is left out. */
static void rb_target_lines_median_of_rounds(void **state)
{
	struct bc_opts o = {.rounds = 3};
	struct bc_run *run = calloc(1, sizeof(*run));
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(run);
	run->o = &o;
	/* SET ratios 0.5, 0.9, 0.2 (median 0.5); GET 1.0, 1.5, 1.2 (1.2);
	 * -P 16 SET 0.5 in every round. */
	rb_row(&run->rb[0], "fabraft tcp-msg n3", 0, 10, 40, 100);
	rb_row(&run->rb[1], "redis aof-always", 0, 20, 40, 200);
	rb_row(&run->rb[2], "fabraft tcp-msg n3", 1, 18, 60, 100);
	rb_row(&run->rb[3], "redis aof-always", 1, 20, 40, 200);
	rb_row(&run->rb[4], "fabraft tcp-msg n3", 2, 4, 48, 100);
	rb_row(&run->rb[5], "redis aof-always", 2, 20, 40, 200);
	rb_row(&run->rb[6], "fabraft tcp-msg n3", 3, 99, 99, 99);
	run->rb[6].ok = false; /* failed: not counted */
	rb_row(&run->rb[7], "redis aof-always", 3, 20, 40, 200);
	run->n_rb = 8;
	assert_non_null(f);
	bc_write_targets(run, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(text, "- `redis-benchmark -t set,get -n 1000 "
				     "-c 50` against redis-server"));
	assert_non_null(strstr(text, "  - fabraft tcp-msg n3: SET 10 vs 20/s "
				     "= 0.50x (missed); GET 48 vs 40/s = "
				     "1.20x (met) [median of 3 rounds]\n"));
	assert_non_null(strstr(text, "-c 50 -P 16` against redis-server"));
	assert_non_null(strstr(text, "SET 100 vs 200/s = 0.50x (missed); "
				     "GET 100 vs 200/s = 0.50x [median"));
	free(text);
	free(run);
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
	    cmocka_unit_test(plan_rounds_alternate),
	    cmocka_unit_test(median_odd_even),
	    cmocka_unit_test(targets_median_of_round_ratios),
	    cmocka_unit_test(stages_parse_and_window_median),
	    cmocka_unit_test(rb_csv_lines_parsed),
	    cmocka_unit_test(rb_target_lines_median_of_rounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
