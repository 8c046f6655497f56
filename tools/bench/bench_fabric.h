/* bench_fabric.h — what the fabric suite's files (bench_fabric.c, the
 * bare-libfabric baseline bench_fabric_raw.c) share. */
#ifndef FABRAFT_BENCH_FABRIC_H
#define FABRAFT_BENCH_FABRIC_H

#include <stdbool.h>
#include <stdint.h>

/* Largest payload a mode sends (buffers are sized for it). */
#define BENCH_FABRIC_SIZE_MAX (64u * 1024u)

/* One child's arguments: `fabraft-bench fabric --child MODE PROV SIZE ITERS
 * ROLE PORT1 PORT2` plus the environment knobs. */
struct bench_fabric_child {
	const char *prov; /* provider name ("tcp", "shm", ...), borrowed */
	bool rma;	  /* the rma path (else msg) */
	uint32_t size;	  /* payload bytes, 1..BENCH_FABRIC_SIZE_MAX */
	unsigned iters;	  /* measured round trips (a tenth more warm up) */
	int role;	  /* 1 measures and prints RESULT, 2 answers */
	uint16_t port[2]; /* loopback ports of role 1 and role 2 */
	const char *host; /* address of both ends, borrowed */
	bool spin;	  /* busy-poll, never yield (FAB_BENCH_SPIN) */
};

/** Monotonic clock in nanoseconds. */
uint64_t bench_fabric_now_ns(void);

/** Sort @s (@n round trips in ns) and print the RESULT line the parent
 * reads: p50 p99 p99.9 (us), @mbs MB/s, @bps APPENDs/s. */
void bench_fabric_print_lat(uint64_t *s, unsigned n, double mbs, double bps);

/** Run the measuring and the answering child of @mode ("fab-msg",
 * "fab-rma", "raw-msg", "raw-rma") on provider @prov over loopback: @iters
 * round trips of @size bytes.  @out: p50 p99 p99.9 (us), MB/s, APPENDs/s.
 * 0, or 1 when a child failed. */
int bench_fabric_pair(const char *mode, const char *prov, uint32_t size,
		      unsigned iters, double out[5]);

/** Raw modes (bench_fabric_raw.c): bare libfabric, public API only.
 * Returns the child's exit status (0 ok, 1 failed, reason on stderr). */
int bench_fabric_raw_child(const struct bench_fabric_child *c);

#endif /* FABRAFT_BENCH_FABRIC_H */
