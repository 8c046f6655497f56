/* lhist.c — log-spaced latency histogram (lhist.h). */
#include "lhist.h"

/* 10^(k/8) in thousandths, k = 0..7: bounds in ns within the first
 * decade (1 us .. 7.5 us). */
static const uint32_t mult_ns[FR_LHIST_PER_DECADE] = {1000, 1330, 1780, 2370,
						      3160, 4220, 5620, 7500};

uint64_t fr_lhist_bound_ns(uint32_t i)
{
	uint64_t b = mult_ns[i % FR_LHIST_PER_DECADE];

	for (uint32_t d = i / FR_LHIST_PER_DECADE; d > 0; d--) {
		b *= 10u;
	}
	return b;
}

void fr_lhist_add(struct fr_lhist *h, uint64_t ns)
{
	fr_lhist_add_n(h, ns, 1);
}

void fr_lhist_add_n(struct fr_lhist *h, uint64_t ns, uint64_t k)
{
	uint32_t lo = 0, hi = FR_LHIST_BOUNDS;

	/* First bound >= ns; FR_LHIST_BOUNDS (+Inf) when none. */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (fr_lhist_bound_ns(mid) < ns) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	h->counts[lo] += k;
	h->n += k;
	h->sum_ns += ns * k;
}

double fr_lhist_quantile_ns(const uint64_t *counts, uint64_t n, double q)
{
	double rank;
	uint64_t cum = 0;

	if (n == 0) {
		return 0;
	}
	if (q < 0) {
		q = 0;
	}
	if (q > 1) {
		q = 1;
	}
	rank = q * (double)n;
	for (uint32_t i = 0; i < FR_LHIST_BOUNDS; i++) {
		if (counts[i] > 0 && (double)(cum + counts[i]) >= rank) {
			double lo = i ? (double)fr_lhist_bound_ns(i - 1) : 0;
			double hi = (double)fr_lhist_bound_ns(i);
			double f = (rank - (double)cum) / (double)counts[i];

			return lo + (hi - lo) * (f < 0 ? 0 : f);
		}
		cum += counts[i];
	}
	return (double)fr_lhist_bound_ns(FR_LHIST_BOUNDS - 1);
}
