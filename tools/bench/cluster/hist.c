/* hist.c — log-linear latency histogram (HdrHistogram's
 * layout with 6 bits of precision) for the cluster benchmark. */
#include "bench_cluster.h"

static uint32_t index_of(uint64_t ns)
{
	uint32_t e;
	uint32_t i;

	if (ns < BC_HIST_SUB) {
		return (uint32_t)ns;
	}
	e = 63u - (uint32_t)__builtin_clzll(ns); /* >= 6 */
	i = BC_HIST_SUB + (e - 6) * BC_HIST_SUB +
	    (uint32_t)((ns >> (e - 6)) - BC_HIST_SUB);
	return i < BC_HIST_BUCKETS ? i : BC_HIST_BUCKETS - 1;
}

uint64_t bc_hist_bucket_low(uint32_t i)
{
	uint32_t e;

	if (i < BC_HIST_SUB) {
		return i;
	}
	e = (i - BC_HIST_SUB) / BC_HIST_SUB + 6;
	return (uint64_t)(BC_HIST_SUB + (i - BC_HIST_SUB) % BC_HIST_SUB)
	       << (e - 6);
}

void bc_hist_add(struct bc_hist *h, uint64_t ns)
{
	h->counts[index_of(ns)]++;
	h->n++;
	if (ns > h->max_ns) {
		h->max_ns = ns;
	}
}

void bc_hist_merge(struct bc_hist *dst, const struct bc_hist *src)
{
	for (uint32_t i = 0; i < BC_HIST_BUCKETS; i++) {
		dst->counts[i] += src->counts[i];
	}
	dst->n += src->n;
	if (src->max_ns > dst->max_ns) {
		dst->max_ns = src->max_ns;
	}
}

uint64_t bc_hist_quantile(const struct bc_hist *h, double q)
{
	uint64_t want;
	uint64_t cum = 0;

	if (h->n == 0) {
		return 0;
	}
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n) {
		want = h->n - 1;
	}
	for (uint32_t i = 0; i < BC_HIST_BUCKETS; i++) {
		cum += h->counts[i];
		if (cum > want) {
			uint64_t lo = bc_hist_bucket_low(i);
			uint64_t hi = i + 1 < BC_HIST_BUCKETS
					  ? bc_hist_bucket_low(i + 1)
					  : lo;
			uint64_t mid = lo + (hi - lo) / 2;

			return mid < h->max_ns ? mid : h->max_ns;
		}
	}
	return h->max_ns;
}
