/* test_kvc_util.h — helpers for the kvcache tests: run a command line. */
#ifndef FABRAFT_TEST_KVC_UTIL_H
#define FABRAFT_TEST_KVC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kvc.h"

/*
 * Run @line (words split on spaces) on @k as a client would: check it,
 * then kvc_read() for a READ, or encode with @now_ms and kvc_apply() for a
 * WRITE.  Returns the RESP reply as a NUL-terminated string owned by the
 * helper (valid until the next call).  Fails the test on FR_NOMEM.
 */
const char *tk_run(struct kvc *k, uint64_t now_ms, const char *line);

/* Encode and apply @line without the leader-side check (a replica's view
 * of an entry that a faulty leader proposed). */
const char *tk_apply(struct kvc *k, uint64_t now_ms, const char *line);

/* Split @line into at most @max words kept in an internal buffer. */
uint32_t tk_split(const char *line, struct kvc_arg *argv, uint32_t max);

/* Snapshot @k into a malloc'd buffer; *@len its size. */
unsigned char *tk_snapshot(struct kvc *k, size_t *len);

/* Load @len bytes of @buf into @k; returns kvc_snapshot_load()'s result. */
int tk_restore(struct kvc *k, const unsigned char *buf, size_t len);

/* Fail the test unless the invariants hold. */
void tk_invariants(const struct kvc *k);

/* printf-style tk_run(). */
const char *tk_runf(struct kvc *k, uint64_t now_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The 32-hex-digit hash for small integer @n ("000...0n"); static buffer
 * rotated among 8 so several can be used in one call. */
const char *tk_h(unsigned n);
#endif
