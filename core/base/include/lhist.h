/* lhist.h — a latency histogram with log-spaced buckets from 1 us to 1 s
 * (eight per decade), cheap enough to update once per request and shared
 * by the runtime (per-stage latencies, /metrics and INFO) and the
 * benchmarks that read those pages back.
 *
 * Design notes
 * ============
 *  1. Bucket i (0 <= i < FR_LHIST_BOUNDS) counts observations <= bound i
 *     and above bound i-1; bucket FR_LHIST_BOUNDS counts the rest (+Inf).
 *     These are the Prometheus `le` buckets, not cumulated.
 *  2. Eight buckets per decade keep a quantile read from the buckets within
 *     about 15% of the true value (linear inside the bucket); fixed bounds
 *     let two snapshots of one histogram be subtracted bucket by bucket.
 *  3. Observations are integer nanoseconds: no floating point on the hot
 *     path; the sum is kept in nanoseconds too. */
#ifndef FABRAFT_LHIST_H
#define FABRAFT_LHIST_H

#include <stdint.h>

#define FR_LHIST_PER_DECADE 8u
/* 1 us .. 1 s: six decades plus the closing bound. */
#define FR_LHIST_BOUNDS	 (6u * FR_LHIST_PER_DECADE + 1u)
#define FR_LHIST_BUCKETS (FR_LHIST_BOUNDS + 1u)

struct fr_lhist {
	uint64_t counts[FR_LHIST_BUCKETS]; /* note 1 */
	uint64_t n;			   /* observations */
	uint64_t sum_ns;		   /* their sum */
};

/* Upper bound of bucket @i < FR_LHIST_BOUNDS, in nanoseconds. */
uint64_t fr_lhist_bound_ns(uint32_t i);
/* Count one observation of @ns nanoseconds. */
void fr_lhist_add(struct fr_lhist *h, uint64_t ns);
/* Count @k observations of @ns nanoseconds each. */
void fr_lhist_add_n(struct fr_lhist *h, uint64_t ns, uint64_t k);
/* The @q quantile (0..1) in nanoseconds of the @n observations in
 * @counts (FR_LHIST_BUCKETS buckets, note 1), interpolated linearly
 * inside its bucket; 0 when @n is 0; the last bound when it falls in
 * +Inf. */
double fr_lhist_quantile_ns(const uint64_t *counts, uint64_t n, double q);

#endif /* FABRAFT_LHIST_H */
