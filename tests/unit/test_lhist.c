/* test_lhist.c — lhist.h: bucket bounds, where an observation lands
 * (edges included), and quantiles read back from the buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lhist.h"

/* Bounds rise from 1 us to 1 s, eight per decade, each step under 1.4x. */
static void bounds_log_spaced(void **state)
{
	(void)state;
	assert_int_equal(fr_lhist_bound_ns(0), 1000);
	assert_int_equal(fr_lhist_bound_ns(8), 10000);
	assert_int_equal(fr_lhist_bound_ns(FR_LHIST_BOUNDS - 1), 1000000000);
	for (uint32_t i = 1; i < FR_LHIST_BOUNDS; i++) {
		uint64_t a = fr_lhist_bound_ns(i - 1), b = fr_lhist_bound_ns(i);

		assert_true(b > a);
		assert_true(b * 10 < a * 14);
	}
}

/* A value equal to a bound counts in that bound's bucket (Prometheus
 * `le`); one above it in the next; beyond the last bound in +Inf. */
static void add_edges(void **state)
{
	struct fr_lhist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	fr_lhist_add(&h, 0);
	fr_lhist_add(&h, 1000);
	fr_lhist_add(&h, 1001);
	fr_lhist_add(&h, 1330);
	fr_lhist_add(&h, 1000000000);
	fr_lhist_add(&h, 1000000001);
	assert_int_equal(h.counts[0], 2);
	assert_int_equal(h.counts[1], 2);
	assert_int_equal(h.counts[FR_LHIST_BOUNDS - 1], 1);
	assert_int_equal(h.counts[FR_LHIST_BOUNDS], 1);
	assert_int_equal(h.n, 6);
	assert_true(h.sum_ns ==
		    0 + 1000 + 1001 + 1330 + 1000000000ull + 1000000001ull);
}

/* k observations at once count as k of that value. */
static void add_n_weighs(void **state)
{
	struct fr_lhist a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fr_lhist_add_n(&a, 5000, 3);
	for (int i = 0; i < 3; i++) {
		fr_lhist_add(&b, 5000);
	}
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(a.n, 3);
	assert_true(a.sum_ns == 15000);
}

/* 1..100,000 ns uniformly: each quantile within its bucket's width. */
static void quantiles_within_a_bucket(void **state)
{
	static struct fr_lhist h;
	static const double q[] = {0.1, 0.5, 0.9, 0.99};

	(void)state;
	memset(&h, 0, sizeof(h));
	for (uint64_t v = 1; v <= 100000; v++) {
		fr_lhist_add(&h, v);
	}
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		double want = q[i] * 100000;
		double got = fr_lhist_quantile_ns(h.counts, h.n, q[i]);

		assert_true(got > want / 1.34 && got < want * 1.34);
	}
	assert_true(fr_lhist_quantile_ns(h.counts, 0, 0.5) == 0);
	/* All in +Inf: the last bound, not beyond. */
	memset(&h, 0, sizeof(h));
	fr_lhist_add(&h, 5000000000ull);
	assert_true(fr_lhist_quantile_ns(h.counts, h.n, 0.5) == 1e9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bounds_log_spaced),
	    cmocka_unit_test(add_edges),
	    cmocka_unit_test(add_n_weighs),
	    cmocka_unit_test(quantiles_within_a_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
