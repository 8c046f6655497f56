/* bench_floor.h — what other suites take from the floor suite
 * (bench_floor.c): the least one replicated durable write costs here. */
#ifndef FABRAFT_BENCH_FLOOR_H
#define FABRAFT_BENCH_FLOOR_H

#include <stdint.h>

/* The largest request: it must fit one 4 KiB block. */
#define BENCH_FLOOR_MAX_BYTES 4000u

/** @ops requests of @bytes (1..BENCH_FLOOR_MAX_BYTES), one at a time, through
 * @nodes node threads on loopback TCP, each made durable with the log's I/O
 * pattern (tail slot on) in a file in @dir (removed after), the reply after a
 * majority: their median in microseconds into *@p50_us.  0, or 1 with
 * the reason on stderr. */
int bench_floor_p50(const char *dir, uint32_t nodes, uint32_t bytes,
		    uint32_t ops, double *p50_us);

#endif /* FABRAFT_BENCH_FLOOR_H */
