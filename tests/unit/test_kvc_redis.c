/* test_kvc_redis.c — the Redis-compatibility commands of the state machine:
 * INCRBY/DECRBY/DECR, SCAN (with MATCH/COUNT/TYPE), DBSIZE, TYPE, and TXN
 * (what MULTI/EXEC becomes), with their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvc_int.h"
#include "test_kvc_util.h"

#define T0 1000u

static int setup_n(void **state, uint32_t keys)
{
	struct kvc_options o = {.blocks_max = 64,
				.nodes_max = 8,
				.namespaces_max = 4,
				.reservations_max = 8,
				.kv_keys_max = keys};
	struct kvc *k;
	if (kvc_open(&k, &o) != 0) {
		return -1;
	}
	*state = k;
	return 0;
}

static int setup(void **state)
{
	return setup_n(state, 16);
}

static int setup_big(void **state)
{
	return setup_n(state, 4096);
}

static int teardown(void **state)
{
	tk_invariants(*state);
	kvc_close(*state);
	return 0;
}

#define EQ(line, want) assert_string_equal(tk_run(k, T0, line), want)

/* An error reply starting with @want, and no change of state, on the
 * client path and (bypassing the check) when applied. */
static void bad(struct kvc *k, const char *line, const char *want)
{
	uint64_t d = kvc_digest(k);
	const char *got = tk_run(k, kvc_now_ms(k), line);
	if (strncmp(got, want, strlen(want)) != 0) {
		fail_msg("'%s' gave '%s', want '%s...'", line, got, want);
	}
	assert_true(kvc_digest(k) == d);
	got = tk_apply(k, kvc_now_ms(k), line);
	if (got[0] != '-') {
		fail_msg("apply '%s' gave '%s'", line, got);
	}
	assert_true(kvc_digest(k) == d);
}

static void incr_family(void **state)
{
	struct kvc *k = *state;
	EQ("INCRBY n 10", ":10\r\n");
	EQ("incrby n -15", ":-5\r\n");
	EQ("DECR n", ":-6\r\n");
	EQ("DECRBY n -6", ":0\r\n");
	EQ("DECRBY n 9223372036854775807", ":-9223372036854775807\r\n");
	EQ("DECR n", ":-9223372036854775808\r\n");
	bad(k, "DECR n", "-ERR increment or decrement would overflow");
	bad(k, "INCRBY n -1", "-ERR increment or decrement would overflow");
	EQ("GET n", "$20\r\n-9223372036854775808\r\n");
	EQ("SET m 9223372036854775806", "+OK\r\n");
	EQ("INCRBY m 1", ":9223372036854775807\r\n");
	bad(k, "INCR m", "-ERR increment or decrement would overflow");
	bad(k, "INCRBY m 1", "-ERR increment or decrement would overflow");
	EQ("INCRBY m -9223372036854775808", ":-1\r\n");
	/* bad increments, bad stored values, arity */
	bad(k, "DECRBY m -9223372036854775808",
	    "-ERR decrement would overflow");
	bad(k, "INCRBY m 1.5", "-ERR value is not an integer or out of range");
	bad(k, "INCRBY m +1", "-ERR value is not an integer or out of range");
	bad(k, "INCRBY m 01", "-ERR value is not an integer or out of range");
	bad(k, "INCRBY m 9223372036854775808",
	    "-ERR value is not an integer or out of range");
	bad(k, "DECRBY m x", "-ERR value is not an integer or out of range");
	EQ("SET s abc", "+OK\r\n");
	bad(k, "INCRBY s 1", "-ERR value is not an integer or out of range");
	bad(k, "DECR s", "-ERR value is not an integer or out of range");
	bad(k, "INCRBY m", "-ERR wrong number of arguments for 'incrby'");
	bad(k, "DECRBY m 1 2", "-ERR wrong number of arguments for 'decrby'");
	bad(k, "DECR", "-ERR wrong number of arguments for 'decr'");
	bad(k, "DECR a b", "-ERR wrong number of arguments for 'decr'");
	EQ("TYPE s", "+string\r\n");
	EQ("TYPE nope", "+none\r\n");
	bad(k, "TYPE", "-ERR wrong number of arguments for 'type'");
	EQ("DBSIZE", ":3\r\n");
	bad(k, "DBSIZE x", "-ERR wrong number of arguments for 'dbsize'");
}

static void kv_store_full(void **state)
{
	struct kvc *k = *state;
	char line[64];
	for (int i = 0; i < 16; i++) {
		snprintf(line, sizeof(line), "SET k%d 1", i);
		EQ(line, "+OK\r\n");
	}
	bad(k, "INCRBY new 1", "-ERR kv store full");
	bad(k, "DECR new", "-ERR kv store full");
	EQ("DECRBY k1 3", ":-2\r\n");
}

static void glob(void **state)
{
	static const struct {
		const char *pat;
		const char *s;
		bool want;
	} cases[] = {
	    {"*", "", true},
	    {"*", "abc", true},
	    {"", "", true},
	    {"", "a", false},
	    {"a*", "", false},
	    {"h?llo", "hello", true},
	    {"h?llo", "hllo", false},
	    {"h*llo", "hllo", true},
	    {"h*llo", "heeeello", true},
	    {"h[ae]llo", "hallo", true},
	    {"h[ae]llo", "hillo", false},
	    {"h[^e]llo", "hallo", true},
	    {"h[^e]llo", "hello", false},
	    {"h[a-b]llo", "hbllo", true},
	    {"h[b-a]llo", "hbllo", true},
	    {"h[a-b]llo", "hcllo", false},
	    {"\\*", "*", true},
	    {"\\*", "a", false},
	    {"a\\", "a\\", true},
	    {"[\\]]", "]", true},
	    {"[]", "a", false},
	    {"[ab", "b", true},
	    {"[ab", "c", false},
	    {"*a*b*c", "xaybzc", true},
	    {"*a*b*c", "xaybz", false},
	    {"user:*", "user:1", true},
	    {"user:*", "use", false},
	    {"*.[ch]", "x.c", true},
	    {"A*", "a", false},
	    {"**b", "aab", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t steps = 0;
		bool got =
		    kvc__glob_match(cases[i].pat, strlen(cases[i].pat),
				    cases[i].s, strlen(cases[i].s), &steps);
		if (got != cases[i].want) {
			fail_msg("'%s' vs '%s': %d", cases[i].pat, cases[i].s,
				 got);
		}
	}
	/* Keys are binary: a NUL byte is a byte like any other. */
	uint64_t steps = 0;
	assert_true(kvc__glob_match("a?b", 3, "a\0b", 3, &steps));
	/* The pathological pattern stays within (p + 1) x (s + 1) steps. */
	char s[1000];
	memset(s, 'a', sizeof(s));
	const char *pat = "*a*a*a*a*a*a*a*a*b";
	steps = 0;
	assert_false(kvc__glob_match(pat, strlen(pat), s, sizeof(s), &steps));
	assert_true(steps <= (strlen(pat) + 1) * (sizeof(s) + 1));
}

/* SCAN from @cursor; the keys go to @seen[i] (key "k<i>") and the next
 * cursor is returned. */
static uint64_t scan_once(struct kvc *k, uint64_t cursor, const char *opts,
			  unsigned *seen, unsigned n)
{
	const char *r =
	    tk_runf(k, T0, "SCAN %llu %s", (unsigned long long)cursor, opts);
	unsigned len;
	unsigned long long next;
	int used;
	assert_int_equal(
	    sscanf(r, "*2\r\n$%u\r\n%llu\r\n%n", &len, &next, &used), 2);
	r += used;
	unsigned cnt;
	assert_int_equal(sscanf(r, "*%u\r\n%n", &cnt, &used), 1);
	r += used;
	for (unsigned i = 0; i < cnt; i++) {
		unsigned kl;
		assert_int_equal(sscanf(r, "$%u\r\n%n", &kl, &used), 1);
		r += used;
		if (r[0] == 'k') { /* other keys are not counted */
			unsigned idx = (unsigned)strtoul(r + 1, NULL, 10);
			assert_true(idx < n);
			seen[idx]++;
		}
		r += kl + 2;
	}
	assert_int_equal(*r, '\0');
	return next;
}

static void scan_all_once(void **state)
{
	struct kvc *k = *state;
	enum { N = 3000 };
	static unsigned seen[N];
	for (unsigned i = 0; i < N; i += 100) {
		char line[4096];
		int off = snprintf(line, sizeof(line), "MSET");
		for (unsigned j = i; j < i + 100; j++) {
			off += snprintf(line + off, sizeof(line) - (size_t)off,
					" k%u v", j);
		}
		EQ(line, "+OK\r\n");
	}
	memset(seen, 0, sizeof(seen));
	uint64_t c = 0;
	unsigned calls = 0;
	/* Between calls: delete even keys >= 2000, insert k3000.., i.e.
	 * backward shifts and new keys; the odd and the low ones stay. */
	do {
		c = scan_once(k, c, "COUNT 7", seen, N);
		if (calls < 200) {
			(void)tk_runf(k, T0, "DEL k%u", 2000 + 2 * calls);
			(void)tk_runf(k, T0, "SET x%u v", calls);
		}
		calls++;
		assert_true(calls < 100000);
	} while (c != 0);
	for (unsigned i = 0; i < N; i++) {
		bool stayed = i < 2000 || i % 2 == 1 || i >= 2400;
		if (stayed && seen[i] != 1) {
			fail_msg("k%u seen %u times", i, seen[i]);
		}
		assert_true(seen[i] <= 1);
	}
	/* MATCH and TYPE filter; COUNT is capped, not refused. */
	memset(seen, 0, sizeof(seen));
	c = 0;
	do {
		c = scan_once(k, c, "MATCH k1?? COUNT 100000 TYPE string", seen,
			      N);
	} while (c != 0);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(seen[i], i >= 100 && i < 200);
	}
	assert_string_equal(tk_run(k, T0, "SCAN 0 TYPE list COUNT 100000"),
			    "*2\r\n$1\r\n0\r\n*0\r\n");
	/* A cursor past the table ends the scan. */
	assert_string_equal(tk_run(k, T0, "SCAN 99999999999"),
			    "*2\r\n$1\r\n0\r\n*0\r\n");
}

static void scan_errors(void **state)
{
	struct kvc *k = *state;
	bad(k, "SCAN", "-ERR wrong number of arguments for 'scan'");
	bad(k, "SCAN x", "-ERR invalid cursor");
	bad(k, "SCAN -1", "-ERR invalid cursor");
	bad(k, "SCAN 0 COUNT 0", "-ERR syntax error");
	bad(k, "SCAN 0 COUNT -5", "-ERR syntax error");
	bad(k, "SCAN 0 COUNT x", "-ERR value is not an integer");
	bad(k, "SCAN 0 MATCH", "-ERR syntax error");
	bad(k, "SCAN 0 FOO bar", "-ERR syntax error");
	char line[400];
	snprintf(line, sizeof(line), "SCAN 0 MATCH %0257d", 0);
	bad(k, line, "-ERR MATCH pattern longer than 256 bytes");
	EQ("SCAN 0 match * count 5 type STRING", "*2\r\n$1\r\n0\r\n*0\r\n");
}

static void txn_applies_in_order(void **state)
{
	struct kvc *k = *state;
	/* Reads see the transaction's earlier writes; an error reply of one
	 * command stops nothing. */
	EQ("TXN 3 SET a 1 2 INCR a 3 INCRBY a 5 2 GET a 2 INCR b 3 MGET a b",
	   "*6\r\n+OK\r\n:2\r\n:7\r\n$1\r\n7\r\n:1\r\n*2\r\n$1\r\n7\r\n$1\r\n1"
	   "\r\n");
	EQ("SET s abc", "+OK\r\n");
	EQ("TXN 2 INCR a 2 INCR s 2 DECR a",
	   "*3\r\n:8\r\n-ERR value is not an integer or out of "
	   "range\r\n:7\r\n");
	/* only reads: served by kvc_read() */
	EQ("txn 2 GET a 1 DBSIZE 2 TYPE s",
	   "*3\r\n$1\r\n7\r\n:3\r\n+string\r\n");
	struct kvc_arg argv[8];
	struct kvc_reply r = {0};
	uint32_t argc = tk_split("TXN 2 GET a 3 SET a 1", argv, 8);
	assert_int_equal(kvc_read(k, argc, argv, &r), FR_INVALID);
	assert_non_null(strstr(r.buf, "changes state"));
	kvc_reply_free(&r);
	enum kvc_kind kind;
	argc = tk_split("TXN 2 GET a 2 GET b", argv, 8);
	assert_int_equal(kvc_command_check(argc, argv, &kind, &r), 0);
	assert_int_equal(kind, KVC_READ);
	argc = tk_split("TXN 2 GET a 3 SET a 1", argv, 8);
	assert_int_equal(kvc_command_check(argc, argv, &kind, &r), 0);
	assert_int_equal(kind, KVC_WRITE);
	kvc_reply_free(&r);
}

static void txn_malformed(void **state)
{
	struct kvc *k = *state;
	EQ("SET a 1", "+OK\r\n");
	bad(k, "TXN", "-ERR wrong number of arguments for 'txn'");
	bad(k, "TXN 2", "-ERR wrong number of arguments for 'txn'");
	bad(k, "TXN 3 SET a", "-ERR TXN syntax");
	bad(k, "TXN 2 SET a 1", "-ERR TXN syntax");
	bad(k, "TXN 0 SET a 1", "-ERR TXN syntax");
	bad(k, "TXN x SET a", "-ERR TXN syntax");
	bad(k, "TXN 3 SET a 2 4", "-ERR TXN syntax");
	bad(k, "TXN 3 SET a 2 1", "-ERR TXN syntax");
	/* every command is checked before any runs */
	bad(k, "TXN 3 SET a 2 2 SET a",
	    "-EXECABORT Transaction discarded: command 2: wrong number of "
	    "arguments for 'set' command");
	bad(k, "TXN 3 SET a 2 3 INCRBY a x",
	    "-EXECABORT Transaction discarded: command 2: value is not an "
	    "integer");
	bad(k, "TXN 3 SET a 2 2 PING x",
	    "-EXECABORT Transaction discarded: command 2: unknown command");
	bad(k, "TXN 3 SET a 2 4 TXN 2 GET a",
	    "-EXECABORT Transaction discarded: command 2: TXN cannot be "
	    "nested");
	bad(k, "TXN 2 KVC.PUT ns",
	    "-EXECABORT Transaction discarded: "
	    "command 1: wrong number");
	EQ("GET a", "$1\r\n1\r\n");
}

static void txn_limits(void **state)
{
	struct kvc *k = *state;
	/* 1025 commands: refused on both paths */
	size_t cap = 1100 * 8 + 16;
	char *line = malloc(cap);
	assert_non_null(line);
	size_t off = (size_t)snprintf(line, cap, "TXN");
	for (int i = 0; i < 1025; i++) {
		off += (size_t)snprintf(line + off, cap - off, " 2 GET a");
	}
	bad(k, line, "-EXECABORT Transaction discarded: more than 1024");
	off -= 8;
	line[off] = '\0';
	assert_memory_equal(tk_run(k, T0, line), "*1024\r\n", 7);
	free(line);
	/* work over KVC_TXN_ITEMS_MAX: refused on the client path only */
	cap = 3 * 4096 * 3 + 64;
	line = malloc(cap);
	assert_non_null(line);
	off = (size_t)snprintf(line, cap, "TXN");
	for (int c = 0; c < 3; c++) {
		off += (size_t)snprintf(line + off, cap - off, " 4001 MGET");
		for (int i = 0; i < 4000; i++) {
			off += (size_t)snprintf(line + off, cap - off, " a");
		}
	}
	const char *got = tk_run(k, T0, line);
	assert_memory_equal(got, "-EXECABORT Transaction discarded: too much",
			    42);
	got = tk_apply(k, T0, line);
	assert_memory_equal(got, "*3\r\n", 4);
	free(line);
}

/* While applying, reads in a TXN are bounded by reply->max; writes never. */
static void txn_read_bound(void **state)
{
	struct kvc *k = *state;
	char *line = malloc(3000);
	assert_non_null(line);
	snprintf(line, 3000, "SET big %02000d", 0);
	assert_string_equal(tk_run(k, T0, line), "+OK\r\n");
	free(line);
	struct kvc_arg argv[32];
	uint32_t argc = tk_split("TXN 3 MGET big big 3 SET a 1 2 GET a 2 GET "
				 "big",
				 argv, 32);
	struct kvc_reply e = {0};
	struct kvc_reply r = {.max = 1000};
	assert_int_equal(kvc_command_encode(T0, argc, argv, &e), 0);
	assert_int_equal(kvc_apply(k, e.buf, e.len, &r), 0);
	assert_int_equal(r.max, 1000); /* restored */
	const char *want = "*4\r\n-ERR reply larger than 1000 bytes "
			   "(reply-bytes-max): ask for fewer keys or blocks "
			   "per command\r\n+OK\r\n$1\r\n1\r\n-ERR reply larger";
	assert_memory_equal(r.buf, want, strlen(want));
	kvc_reply_free(&r);
	kvc_reply_free(&e);
	assert_string_equal(tk_run(k, T0, "GET a"), "$1\r\n1\r\n");
	/* and kvc_read() of a read-only TXN stops at the bound */
	argc = tk_split("TXN 2 GET big 2 GET big", argv, 32);
	r = (struct kvc_reply){.max = 3000};
	assert_int_equal(kvc_read(k, argc, argv, &r), FR_TOOBIG);
	kvc_reply_free(&r);
}

int main(void)
{
#define T(f)  cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TB(f) cmocka_unit_test_setup_teardown(f, setup_big, teardown)
	const struct CMUnitTest tests[] = {
	    T(incr_family),    T(kv_store_full), cmocka_unit_test(glob),
	    TB(scan_all_once), T(scan_errors),	 T(txn_applies_in_order),
	    T(txn_malformed),  TB(txn_limits),	 T(txn_read_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
