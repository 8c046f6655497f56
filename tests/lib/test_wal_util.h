/* test_wal_util.h — helpers shared by the wal tests: temp dirs, payload
 * generator, quiet logging. */
#ifndef FABRAFT_TEST_WAL_UTIL_H
#define FABRAFT_TEST_WAL_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"
#include "wal.h"

#define TW_CLUSTER 0xfab0c0ffeeull
#define TW_NODE	   3u

static char tw_last_log[512];
static unsigned tw_torn_logs; /* log lines that reported a torn tail */
static unsigned tw_slot_logs; /* log lines that ignored a damaged slot */

/* The log sink of the wal tests (fr_log_set() by tw_options()). */
static inline void tw_log(void *ctx, int level, const char *tag,
			  const char *msg)
{
	(void)ctx;
	(void)tag;
	snprintf(tw_last_log, sizeof(tw_last_log), "%s", msg);
	tw_torn_logs += strstr(msg, "torn tail (") != NULL;
	tw_slot_logs +=
	    strstr(msg, "tail slot") != NULL && strstr(msg, "no claim") != NULL;
	if (getenv("WAL_TEST_VERBOSE") != NULL) {
		fprintf(stderr, "[wal %d] %s\n", level, msg);
	}
}

static inline int tw_rm_one(const char *p, const struct stat *st, int flag,
			    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void tw_rmrf(const char *dir)
{
	nftw(dir, tw_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory under the current one; @buf gets its path. */
static inline void tw_mkdtemp(char *buf, size_t size, const char *tag)
{
	snprintf(buf, size, "./%s-XXXXXX", tag);
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static inline void tw_options(struct wal_options *o, const char *dir)
{
	wal_options_default(o, dir, TW_CLUSTER, TW_NODE);
	o->segment_bytes = 64 * 1024;
	fr_log_set(tw_log, NULL, FR_LOG_DEBUG);
}

static inline uint64_t tw_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Deterministic payload of entry @index for @seed: length and bytes. */
static inline uint32_t tw_len(uint64_t seed, uint64_t index, uint32_t max)
{
	return (uint32_t)(tw_mix(seed * 1000003u + index) % (max + 1));
}

static inline void tw_fill(uint64_t seed, uint64_t index, uint8_t *buf,
			   uint32_t len)
{
	uint64_t x = tw_mix(seed ^ (index << 20));
	for (uint32_t i = 0; i < len; i++) {
		if (i % 8 == 0) {
			x = tw_mix(x + i);
		}
		buf[i] = (uint8_t)(x >> (8 * (i % 8)));
	}
}

/* Is @e exactly the entry generated for its index? */
static inline int tw_check(uint64_t seed, const struct raft_entry *e,
			   uint32_t max)
{
	static uint8_t buf[1 << 20];
	uint32_t len = tw_len(seed, e->index, max);
	if (e->len != len) {
		return 0;
	}
	tw_fill(seed, e->index, buf, len);
	return memcmp(buf, e->buf, len) == 0;
}

#endif /* FABRAFT_TEST_WAL_UTIL_H */
