/* bench_wal.h — what other suites take from the wal suite (bench_wal.c):
 * the raw pwrite+fdatasync floor. */
#ifndef FABRAFT_BENCH_WAL_H
#define FABRAFT_BENCH_WAL_H

#include <stdbool.h>
#include <stdint.h>

/** The raw floor of one log append: @ops appends of @len bytes, each one
 * pwrite + fdatasync, to a zero-filled file in @dir (removed after), as
 * the log writes its zero-filled segments, with O_DIRECT where it works
 * (*@direct says whether it did);
 * their median time in microseconds into *@p50_us.  0, or 1 with the
 * reason on stderr. */
int bench_wal_raw_p50(const char *dir, uint32_t len, uint32_t ops,
		      double *p50_us, bool *direct);

#endif /* FABRAFT_BENCH_WAL_H */
