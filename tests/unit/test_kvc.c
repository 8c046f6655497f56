/* test_kvc.c — every kvcache command with good and bad arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heap.h"
#include "kvc_int.h"
#include "test_kvc_util.h"

#define T0 1000u /* entry time used unless a test moves the clock */

static int setup(void **state)
{
	struct kvc_options o = {.blocks_max = 64,
				.locations_max = 96,
				.nodes_max = 8,
				.namespaces_max = 4,
				.reservations_max = 8,
				.kv_keys_max = 16};
	struct kvc *k;
	if (kvc_open(&k, &o) != 0) {
		return -1;
	}
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	tk_invariants(*state);
	kvc_close(*state);
	return 0;
}

#define RUN(line)      tk_run(k, T0, line)
#define EQ(line, want) assert_string_equal(tk_run(k, T0, line), want)
#define EQF(want, ...) assert_string_equal(tk_runf(k, T0, __VA_ARGS__), want)
/* The reply starts with @want (e.g. the array length). */
#define PREFIX(want, ...)                                                      \
	assert_memory_equal(tk_runf(k, T0, __VA_ARGS__), want, strlen(want))

/* Two nodes: 1 (numa 0: hbm 1000, dram 10000), 2 (numa 1: dram 5000). */
static void add_nodes(struct kvc *k)
{
	EQ("KVC.NODE.ADD 1 10.0.0.1:7000 0 hbm 1000 dram 10000", "+OK\r\n");
	EQ("KVC.NODE.ADD 2 10.0.0.2:7000 1 dram 5000", "+OK\r\n");
}

/* A command that must fail with an error and change nothing: checked on
 * the client path and, bypassing the check, on the apply path.  (Entries
 * carry the current time: a later stamp would move the clock, which is a
 * change of state even for a rejected command.) */
static void bad(struct kvc *k, const char *line, const char *want)
{
	uint64_t d = kvc_digest(k);
	uint64_t now = kvc_now_ms(k);
	const char *got = tk_run(k, now, line);
	if (strncmp(got, "-ERR ", 5) != 0 ||
	    (want != NULL && strstr(got, want) == NULL)) {
		fail_msg("'%s' gave '%s', want error with '%s'", line, got,
			 want ? want : "");
	}
	assert_true(kvc_digest(k) == d);
	got = tk_apply(k, now, line);
	if (strncmp(got, "-ERR ", 5) != 0) {
		fail_msg("apply '%s' gave '%s'", line, got);
	}
	assert_true(kvc_digest(k) == d);
	tk_invariants(k);
}

static void kv_commands(void **state)
{
	struct kvc *k = *state;
	EQ("SET a 1", "+OK\r\n");
	EQ("GET a", "$1\r\n1\r\n");
	EQ("get missing", "$-1\r\n");
	EQ("SET e ''", "+OK\r\n");
	EQ("GET e", "$0\r\n\r\n");
	EQ("INCR a", ":2\r\n");
	EQ("INCR n", ":1\r\n");
	EQ("MSET x 10 y 20 x 11", "+OK\r\n");
	EQ("MGET x y nope", "*3\r\n$2\r\n11\r\n$2\r\n20\r\n$-1\r\n");
	EQ("EXISTS x y nope x", ":3\r\n");
	EQ("DEL x nope", ":1\r\n");
	EQ("EXISTS x", ":0\r\n");
	/* compare-and-set */
	EQ("SET y 21 IFEQ 19", "$-1\r\n");
	EQ("GET y", "$2\r\n20\r\n");
	EQ("SET y 21 ifeq 20", "+OK\r\n");
	EQ("GET y", "$2\r\n21\r\n");
	EQ("SET nokey v IFEQ x", "$-1\r\n");
	EQ("EXISTS nokey", ":0\r\n");
	EQ("SET big 9223372036854775807", "+OK\r\n");
	EQ("SET neg -9223372036854775808", "+OK\r\n");
	EQ("INCR neg", ":-9223372036854775807\r\n");
	EQ("SET s abc", "+OK\r\n");
	EQ("SET lz 01", "+OK\r\n");
	EQ("PING", "NOTFOUND");
	/* Integer replies at every digit count (the formatter has fast
	 * paths below 10, 100 and 10000). */
	const long long edges[] = {0,
				   8,
				   9,
				   98,
				   99,
				   998,
				   999,
				   9998,
				   9999,
				   99998,
				   99999,
				   123456788,
				   999999999,
				   9999999999999,
				   9223372036854775806};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		char want[40];
		snprintf(want, sizeof(want), ":%lld\r\n", edges[i] + 1);
		EQF("+OK\r\n", "SET num %lld", edges[i]);
		EQF(want, "INCR num");
		snprintf(want, sizeof(want), ":%lld\r\n", -edges[i] - 1 + 1);
		EQF("+OK\r\n", "SET num %lld", -edges[i] - 1);
		EQF(want, "INCR num");
	}

	bad(k, "SET", "wrong number of arguments for 'set'");
	bad(k, "SET a", "wrong number");
	bad(k, "SET a b c", "wrong number");
	bad(k, "SET a b IFNE c", "syntax");
	bad(k, "GET", "wrong number");
	bad(k, "GET a b", "wrong number");
	bad(k, "DEL", "wrong number");
	bad(k, "EXISTS", "wrong number");
	bad(k, "MGET", "wrong number");
	bad(k, "MSET a", "wrong number");
	bad(k, "MSET a 1 b", "wrong number");
	bad(k, "INCR", "wrong number");
	bad(k, "INCR big", "overflow");
	bad(k, "INCR s", "not an integer");
	bad(k, "INCR lz", "not an integer");
	bad(k, "INCR e", "not an integer");
	/* Key and value limits. */
	static char line[KVC_VALUE_BYTES_MAX + 64];
	memset(line, 'k', sizeof(line));
	memcpy(line, "SET ", 4);
	line[4 + KVC_KEY_BYTES_MAX + 1] = ' ';
	line[4 + KVC_KEY_BYTES_MAX + 3] = '\0';
	bad(k, line, "key longer");
}

static void kv_full(void **state)
{
	struct kvc *k = *state;
	char line[64];
	for (int i = 0; i < 16; i++) {
		snprintf(line, sizeof(line), "SET k%d v", i);
		EQ(line, "+OK\r\n");
	}
	bad(k, "SET k16 v", "kv store full");
	bad(k, "MSET k1 v k17 v", "kv store full");
	bad(k, "INCR k18", "kv store full");
	EQ("SET k1 w", "+OK\r\n"); /* replacing needs no room */
	EQ("MSET k1 a k2 b", "+OK\r\n");
	EQ("DEL k0", ":1\r\n");
	EQ("SET k16 v", "+OK\r\n");
}

static void node_commands(void **state)
{
	struct kvc *k = *state;
	add_nodes(k);
	EQ("KVC.NODE.ADD 3 host3 0 nvme 1 LEASE 5000", "+OK\r\n");
	EQ("KVC.NODE.LIST",
	   "*3\r\n"
	   "*6\r\n:1\r\n$13\r\n10.0.0.1:7000\r\n:0\r\n:1\r\n:0\r\n*2\r\n"
	   "*5\r\n$3\r\nhbm\r\n:1000\r\n:0\r\n:0\r\n:0\r\n"
	   "*5\r\n$4\r\ndram\r\n:10000\r\n:0\r\n:0\r\n:0\r\n"
	   "*6\r\n:2\r\n$13\r\n10.0.0.2:7000\r\n:1\r\n:1\r\n:0\r\n*1\r\n"
	   "*5\r\n$4\r\ndram\r\n:5000\r\n:0\r\n:0\r\n:0\r\n"
	   "*6\r\n:3\r\n$5\r\nhost3\r\n:0\r\n:1\r\n:6000\r\n*1\r\n"
	   "*5\r\n$4\r\nnvme\r\n:1\r\n:0\r\n:0\r\n:0\r\n");
	EQ("KVC.NODE.HEARTBEAT 10000 3 1", ":2\r\n");
	EQ("KVC.NODE.DEL 3", ":1\r\n");

	bad(k, "KVC.NODE.ADD 1 h 0 hbm 10", "node 1 already exists");
	bad(k, "KVC.NODE.ADD 0 h 0 hbm 10", "node id");
	bad(k, "KVC.NODE.ADD 65536 h 0 hbm 10", "node id");
	bad(k, "KVC.NODE.ADD x h 0 hbm 10", "node id");
	bad(k, "KVC.NODE.ADD 4 h 256 hbm 10", "numa");
	bad(k, "KVC.NODE.ADD 4 h -1 hbm 10", "numa");
	bad(k, "KVC.NODE.ADD 4 h 0 ssd 10", "unknown tier");
	bad(k, "KVC.NODE.ADD 4 h 0 hbm 10 HBM 5", "duplicate tier");
	bad(k, "KVC.NODE.ADD 4 h 0 hbm 0", "capacity");
	bad(k, "KVC.NODE.ADD 4 h 0 hbm -5", "capacity");
	bad(k, "KVC.NODE.ADD 4 h 0 hbm 18446744073709551616", "capacity");
	bad(k, "KVC.NODE.ADD 4 h 0 hbm", "wrong number");
	bad(k, "KVC.NODE.ADD 4 h 0", "wrong number");
	bad(k, "KVC.NODE.ADD 4 h 0 hbm 10 LEASE 0", "lease");
	bad(k, "KVC.NODE.ADD 4 h 0 hbm 10 LEASE x", "lease");
	bad(k, "KVC.NODE.DEL", "wrong number");
	bad(k, "KVC.NODE.DEL 9", "unknown node 9");
	bad(k, "KVC.NODE.DEL 1 9", "unknown node 9");
	bad(k, "KVC.NODE.DEL 1 1", "duplicate node id");
	bad(k, "KVC.NODE.DEL 0", "node id");
	bad(k, "KVC.NODE.LIST x", "wrong number");
	bad(k, "KVC.NODE.HEARTBEAT 100", "wrong number");
	bad(k, "KVC.NODE.HEARTBEAT 0 1", "lease");
	bad(k, "KVC.NODE.HEARTBEAT 604800001 1", "lease");
	bad(k, "KVC.NODE.HEARTBEAT 100 7", "unknown node");
	bad(k, "KVC.NODE.HEARTBEAT 100 1 1", "duplicate");
	char addr[200];
	memset(addr, 'a', sizeof(addr));
	addr[129] = '\0';
	char line[300];
	snprintf(line, sizeof(line), "KVC.NODE.ADD 4 %s 0 hbm 1", addr);
	bad(k, line, "address");
	/* The table is full at 8 nodes. */
	for (int i = 10; i < 16; i++) {
		snprintf(line, sizeof(line), "KVC.NODE.ADD %d h 0 hbm 1", i);
		EQ(line, "+OK\r\n");
	}
	bad(k, "KVC.NODE.ADD 20 h 0 hbm 1", "node table full");
}

static void put_and_lookup(void **state)
{
	struct kvc *k = *state;
	add_nodes(k);
	/* A chain 1 <- 2 <- 3 in "m", block 2 also on node 2. */
	EQF(":3\r\n",
	    "KVC.PUT m %s - 16 1 hbm 0 100 %s %s 16 1 hbm 100 100 "
	    "%s %s 16 1 dram 0 100 %s %s 16 2 dram 0 100",
	    tk_h(1), tk_h(2), tk_h(1), tk_h(3), tk_h(2), tk_h(2), tk_h(1));
	char want[2048];
	snprintf(want, sizeof(want),
		 "*2\r\n"
		 "*3\r\n$32\r\n%s\r\n:16\r\n*1\r\n"
		 "*5\r\n:1\r\n$13\r\n10.0.0.1:7000\r\n$3\r\nhbm\r\n:0\r\n"
		 ":100\r\n"
		 "*3\r\n$32\r\n%s\r\n:16\r\n*2\r\n"
		 "*5\r\n:1\r\n$13\r\n10.0.0.1:7000\r\n$3\r\nhbm\r\n:100\r\n"
		 ":100\r\n"
		 "*5\r\n:2\r\n$13\r\n10.0.0.2:7000\r\n$4\r\ndram\r\n:0\r\n"
		 ":100\r\n",
		 tk_h(1), tk_h(2));
	EQF(want, "KVC.LOOKUP m %s %s", tk_h(1), tk_h(2));
	/* Prefix stops at a missing block, a wrong parent, a non-root. */
	EQF("*0\r\n", "KVC.LOOKUP m %s %s", tk_h(2), tk_h(3));
	EQF("*0\r\n", "KVC.LOOKUP other %s", tk_h(1));
	assert_true(strncmp(tk_runf(k, T0, "KVC.LOOKUP m %s %s %s %s", tk_h(1),
				    tk_h(2), tk_h(3), tk_h(9)),
			    "*3\r\n", 4) == 0);
	assert_true(strncmp(tk_runf(k, T0, "KVC.LOOKUP m %s %s %s", tk_h(1),
				    tk_h(3), tk_h(2)),
			    "*1\r\n", 4) == 0);
	/* Re-putting the same location is idempotent; a new offset moves it,
	 * a different length changes the used bytes. */
	EQF(":0\r\n", "KVC.PUT m %s - 16 1 hbm 0 100", tk_h(1));
	EQF(":0\r\n", "KVC.PUT m %s - 16 1 hbm 500 300", tk_h(1));
	assert_non_null(strstr(RUN("KVC.NODE.LIST"),
			       "$3\r\nhbm\r\n:1000\r\n:400\r\n:0\r\n:2\r\n"));
	/* TOUCH is a write and accepted; without it a read. */
	enum kvc_kind kind;
	struct kvc_arg argv[4];
	struct kvc_reply err = {0};
	char line[200];
	snprintf(line, sizeof(line), "KVC.LOOKUP m %s TOUCH", tk_h(1));
	uint32_t argc = tk_split(line, argv, 4);
	assert_int_equal(kvc_command_check(argc, argv, &kind, &err), 0);
	assert_int_equal(kind, KVC_WRITE);
	assert_int_equal(kvc_command_check(argc - 1, argv, &kind, &err), 0);
	assert_int_equal(kind, KVC_READ);
	assert_int_equal(kvc_read(k, argc, argv, &err), FR_INVALID);
	kvc_reply_free(&err);
	/* kvc_read() validates by itself too. */
	struct kvc_arg badl[3] = {{"KVC.LOOKUP", 10}, {"m", 1}, {"xyz", 3}};
	assert_int_equal(kvc_read(k, 3, badl, &err), FR_INVALID);
	assert_non_null(strstr(err.buf, "-ERR block hash must be"));
	kvc_reply_free(&err);
	struct kvc_arg badg[3] = {{"GET", 3}, {"a", 1}, {"b", 1}};
	assert_int_equal(kvc_read(k, 3, badg, &err), FR_INVALID);
	kvc_reply_free(&err);
	assert_true(strncmp(tk_run(k, T0 + 5, line), "*1\r\n", 4) == 0);

	char hx[40];
	snprintf(hx, sizeof(hx), "%s", tk_h(1));
	hx[31] = 'g';
	bad(k, "KVC.PUT m", "wrong number");
	bad(k, "KVC.PUT m 1 - 16 1 hbm 0", "wrong number");
	bad(k, "KVC.PUT m 012 - 16 1 hbm 0 100", "2..64 hex");
	bad(k, "KVC.PUT m i: - 16 1 hbm 0 100", "2..64 hex");
	EQF("-ERR block hash must be 2..64 hex digits (even) or i:<64-bit "
	    "integer>\r\n",
	    "KVC.PUT m %s - 16 1 hbm 0 100", hx);
	EQF("-ERR block hash must be 2..64 hex digits (even) or i:<64-bit "
	    "integer>\r\n",
	    "KVC.PUT m %s0 - 16 1 hbm 0 100", tk_h(5));
	EQF("-ERR parent must be '-' or a block hash (2..64 hex digits or "
	    "i:<integer>)\r\n",
	    "KVC.PUT m %s 123 16 1 hbm 0 100", tk_h(5));
	EQF("-ERR a block cannot be its own parent\r\n",
	    "KVC.PUT m %s %s 16 1 hbm 0 100", tk_h(5), tk_h(5));
	char l2[400];
#define BADPUT(want, fmt, ...)                                                 \
	do {                                                                   \
		snprintf(l2, sizeof(l2), fmt, __VA_ARGS__);                    \
		bad(k, l2, want);                                              \
	} while (0)
	BADPUT("tokens", "KVC.PUT m %s - -1 1 hbm 0 100", tk_h(5));
	BADPUT("tokens", "KVC.PUT m %s - 4294967296 1 hbm 0 100", tk_h(5));
	BADPUT("node id", "KVC.PUT m %s - 1 0 hbm 0 100", tk_h(5));
	BADPUT("unknown tier", "KVC.PUT m %s - 1 1 disk 0 100", tk_h(5));
	BADPUT("offset", "KVC.PUT m %s - 1 1 hbm -1 100", tk_h(5));
	BADPUT("length", "KVC.PUT m %s - 1 1 hbm 0 0", tk_h(5));
	BADPUT("length", "KVC.PUT m %s - 1 1 hbm 0 4294967296", tk_h(5));
	BADPUT("unknown node 7", "KVC.PUT m %s - 1 7 hbm 0 10", tk_h(5));
	BADPUT("node 2 has no tier hbm", "KVC.PUT m %s - 1 2 hbm 0 10",
	       tk_h(5));
	BADPUT("no space", "KVC.PUT m %s - 1 1 hbm 0 601", tk_h(5));
	BADPUT("no space", "KVC.PUT m %s - 1 1 hbm 0 300 %s - 1 1 hbm 0 301",
	       tk_h(5), tk_h(6));
	BADPUT("duplicate block location",
	       "KVC.PUT m %s - 1 1 dram 0 1 %s - 1 1 dram 5 1", tk_h(5),
	       tk_h(5));
	BADPUT("conflicting", "KVC.PUT m %s - 1 1 dram 0 1 %s - 2 2 dram 5 1",
	       tk_h(5), tk_h(5));
	BADPUT("different parent", "KVC.PUT m %s %s 16 1 dram 0 1", tk_h(2),
	       tk_h(9));
	BADPUT("different parent", "KVC.PUT m %s %s 17 1 dram 0 1", tk_h(2),
	       tk_h(1));
	BADPUT("namespace", "KVC.PUT %s %s - 1 1 dram 0 1",
	       "n234567890123456789012345678901234567890123456789012345678901"
	       "2345",
	       tk_h(5));
	bad(k, "KVC.LOOKUP m", "wrong number");
	bad(k, "KVC.LOOKUP m TOUCH", "wrong number");
	bad(k, "KVC.LOOKUP m 123", "2..64 hex");
	BADPUT("2..64 hex", "KVC.LOOKUP m %s x", tk_h(1));
	/* Full tables: 4 namespaces, 64 blocks. */
	EQF(":1\r\n", "KVC.PUT n2 %s - 1 1 dram 0 1", tk_h(1));
	EQF(":1\r\n", "KVC.PUT n3 %s - 1 1 dram 0 1", tk_h(1));
	EQF(":1\r\n", "KVC.PUT n4 %s - 1 1 dram 0 1", tk_h(1));
	BADPUT("namespace table full", "KVC.PUT n5 %s - 1 1 dram 0 1", tk_h(1));
}

/* KVC.PUT of blocks @first..@first+@n-1 in @ns, each the child of the one
 * before (@first a root), node 1 dram at offset 100 * number, 100 bytes:
 * in one entry, or one entry per block from the last to the first. */
static void put_range(struct kvc *k, const char *ns, unsigned first, unsigned n,
		      bool one_entry)
{
	char line[4096];
	size_t len = 0;
	for (unsigned j = 0; j < n; j++) {
		unsigned i = one_entry ? first + j : first + n - 1 - j;
		if (len == 0) {
			len = (size_t)snprintf(line, sizeof(line), "KVC.PUT %s",
					       ns);
		}
		len += (size_t)snprintf(
		    line + len, sizeof(line) - len, " %s %s 16 1 dram %u 100",
		    tk_h(i), i == first ? "-" : tk_h(i - 1), 100 * i);
		if (!one_entry || j == n - 1) {
			const char *got = RUN(line);
			if (got[0] != ':') {
				fail_msg("'%s' gave '%s'", line, got);
			}
			len = 0;
		}
	}
}

/* The reply of a lookup that finds blocks @first..@first+@n-1 of
 * put_range(). */
static const char *chain_reply(unsigned first, unsigned n)
{
	static char buf[1 << 14];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "*%u\r\n", n);
	for (unsigned i = first; i < first + n; i++) {
		len += (size_t)snprintf(
		    buf + len, sizeof(buf) - len,
		    "*3\r\n$32\r\n%s\r\n:16\r\n*1\r\n*5\r\n:1\r\n$13\r\n"
		    "10.0.0.1:7000\r\n$4\r\ndram\r\n:%u\r\n:100\r\n",
		    tk_h(i), 100 * i);
	}
	return buf;
}

/* "KVC.LOOKUP @ns" of hashes @first..@first+@n-1. */
static const char *lookup_range(struct kvc *k, const char *ns, unsigned first,
				unsigned n)
{
	char line[4096];
	size_t len = (size_t)snprintf(line, sizeof(line), "KVC.LOOKUP %s", ns);
	for (unsigned i = first; i < first + n; i++) {
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s",
					tk_h(i));
	}
	return RUN(line);
}

/* Lookups find a chain's next block at the index after the previous one
 * when one PUT stored the chain, and through the table otherwise; a
 * neighbour with the same hash in another namespace, or freed, is no
 * match.  The answers are the same either way. */
static void lookup_neighbours(void **state)
{
	struct kvc *k = *state;
	add_nodes(k);
	put_range(k, "m", 1, 12, true); /* indices in chain order */
	assert_string_equal(lookup_range(k, "m", 1, 12), chain_reply(1, 12));
	assert_string_equal(lookup_range(k, "m", 1, 5), chain_reply(1, 5));
	assert_string_equal(lookup_range(k, "m", 2, 3), "*0\r\n");
	/* One entry per block, last first: indices run backwards; the
	 * chain's head is the highest index (its neighbour is past the
	 * end of the used blocks). */
	put_range(k, "m", 21, 11, false);
	assert_string_equal(lookup_range(k, "m", 21, 11), chain_reply(21, 11));
	/* Half by one PUT; then the next index holds the same hash as the
	 * chain's next block, but in namespace "o"; then the rest. */
	put_range(k, "m", 41, 4, true);
	put_range(k, "o", 45, 1, true);
	put_range(k, "m", 41, 8, true);
	assert_string_equal(lookup_range(k, "m", 41, 8), chain_reply(41, 8));
	assert_string_equal(lookup_range(k, "o", 45, 1), chain_reply(45, 1));
	/* A run of two, then blocks put one by one, last first: one probe
	 * after the run, then no run follows it, so the rest go through
	 * the table together. */
	put_range(k, "m", 61, 2, true);
	for (unsigned i = 66; i >= 63; i--) {
		EQF(":1\r\n", "KVC.PUT m %s %s 16 1 dram %u 100", tk_h(i),
		    tk_h(i - 1), 100 * i);
	}
	assert_string_equal(lookup_range(k, "m", 61, 6), chain_reply(61, 6));
	/* A missing block in the middle ends the answer (the array header
	 * of 12 asked, 3 found). */
	char line[64];
	snprintf(line, sizeof(line), "KVC.EVICT m %s", tk_h(4));
	EQ(line, ":1\r\n");
	assert_string_equal(lookup_range(k, "m", 1, 12), chain_reply(1, 3));
	/* A freed neighbour keeps its hash, and its namespace field links
	 * the free list: freeing block 1 (index 0, the index of namespace
	 * "m") and then block 52 leaves block 52's old slot looking like
	 * ("m", 52) but for its missing location; it is not answered.  Then
	 * block 12 is freed too and block 52 put again: it lands at block
	 * 12's old index, and the stale slot after block 51 must not hide
	 * it.  (Block 70 first takes the one free index, block 4's, so
	 * that 51 and 52 are adjacent.) */
	put_range(k, "m", 70, 1, true);
	put_range(k, "m", 51, 2, true);
	snprintf(line, sizeof(line), "KVC.EVICT m %s", tk_h(1));
	EQ(line, ":1\r\n");
	snprintf(line, sizeof(line), "KVC.EVICT m %s", tk_h(52));
	EQ(line, ":1\r\n");
	assert_string_equal(lookup_range(k, "m", 51, 2), chain_reply(51, 1));
	snprintf(line, sizeof(line), "KVC.EVICT m %s", tk_h(12));
	EQ(line, ":1\r\n");
	EQF(":1\r\n", "KVC.PUT m %s %s 16 1 dram 5200 100", tk_h(52), tk_h(51));
	assert_string_equal(lookup_range(k, "m", 51, 2), chain_reply(51, 2));
	/* A snapshot restored elsewhere lays the blocks out anew: same
	 * answers. */
	size_t len;
	unsigned char *snap = tk_snapshot(k, &len);
	struct kvc_options o = {.blocks_max = 64,
				.locations_max = 96,
				.nodes_max = 8,
				.namespaces_max = 4,
				.reservations_max = 8,
				.kv_keys_max = 16};
	struct kvc *r;
	assert_int_equal(kvc_open(&r, &o), 0);
	assert_int_equal(tk_restore(r, snap, len), 0);
	assert_string_equal(lookup_range(r, "m", 21, 11), chain_reply(21, 11));
	assert_string_equal(lookup_range(r, "m", 41, 8), chain_reply(41, 8));
	assert_true(kvc_digest(r) == kvc_digest(k));
	kvc_close(r);
	free(snap);
}

/* kvc__parse_hash() (SIMD where the target has it) agrees with the
 * portable parser on every byte value at every position, on all-zero
 * hashes and on wrong lengths. */
static void hash_parser_paths(void **state)
{
	(void)state;
	static const char *const base[] = {"0123456789abcdefABCDEF0123456789",
					   "ffffffffffffffffffffffffffffffff",
					   "00000000000000000000000000000000",
					   "00000000000000000000000000000001",
					   "10000000000000000000000000000000"};
	for (size_t s = 0; s < sizeof(base) / sizeof(base[0]); s++) {
		for (unsigned pos = 0; pos < 32; pos++) {
			for (unsigned c = 0; c < 256; c++) {
				char buf[33];
				memcpy(buf, base[s], 33);
				buf[pos] = (char)c;
				struct kvc_arg a = {buf, 32};
				struct kvc__hash x;
				struct kvc__hash y;
				bool fx = kvc__parse_hash(&a, &x);
				bool fy = kvc__parse_hash_scalar(&a, &y);
				if (fx != fy ||
				    (fx && memcmp(&x, &y, sizeof(x)) != 0)) {
					fail_msg("parsers differ on '%s' "
						 "(byte %u at %u)",
						 base[s], c, pos);
				}
			}
		}
	}
	struct kvc__hash x;
	struct kvc_arg zero = {base[2], 32};
	assert_true(kvc__parse_hash(&zero, &x)); /* opaque: zero is a hash */
	assert_int_equal(x.len, 16);
	struct kvc_arg one = {base[3], 32};
	assert_true(kvc__parse_hash(&one, &x));
	assert_int_equal(x.b[15], 1);
	struct kvc_arg mixed = {base[0], 32};
	assert_true(kvc__parse_hash(&mixed, &x));
	assert_int_equal(x.b[0], 0x01);
	assert_int_equal(x.b[5], 0xab);
	assert_int_equal(x.b[9], 0xcd); /* upper case */
	struct kvc_arg short_ = {base[0], 31};
	assert_false(kvc__parse_hash(&short_, &x));
}

static void block_table_full(void **state)
{
	struct kvc *k = *state;
	add_nodes(k);
	char line[8192];
	size_t n = (size_t)snprintf(line, sizeof(line), "KVC.PUT m");
	for (unsigned i = 1; i <= 64; i++) {
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      " %s - 1 1 dram %u 1", tk_h(i), i);
	}
	EQ(line, ":64\r\n");
	char l2[400];
	BADPUT("block table full", "KVC.PUT m %s - 1 1 dram 0 1", tk_h(100));
	/* Locations: 96; 64 used, 32 more on node 2 fit, the 33rd not. */
	n = (size_t)snprintf(line, sizeof(line), "KVC.PUT m");
	for (unsigned i = 1; i <= 32; i++) {
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      " %s - 1 2 dram %u 1", tk_h(i), i);
	}
	EQ(line, ":0\r\n");
	BADPUT("location table full", "KVC.PUT m %s - 1 2 dram 0 1", tk_h(40));
	EQ("KVC.DEL m", ":64\r\n");
	EQ("KVC.STATS",
	   "*32\r\n$6\r\nblocks\r\n:0\r\n$10\r\nblocks_max\r\n:64\r\n"
	   "$9\r\nlocations\r\n:0\r\n$13\r\nlocations_max\r\n:96\r\n"
	   "$11\r\nlong_hashes\r\n:0\r\n$15\r\nlong_hashes_max\r\n"
	   ":65536\r\n"
	   "$10\r\nnamespaces\r\n:0\r\n$5\r\nnodes\r\n:2\r\n"
	   "$11\r\nnodes_alive\r\n:2\r\n$12\r\nreservations\r\n:0\r\n"
	   "$7\r\nkv_keys\r\n:0\r\n$14\r\nbytes_capacity\r\n:16000\r\n"
	   "$10\r\nbytes_used\r\n:0\r\n$14\r\nbytes_reserved\r\n:0\r\n"
	   "$6\r\nnow_ms\r\n:1000\r\n$7\r\napplied\r\n:9\r\n");
}

static void evict_and_del(void **state)
{
	struct kvc *k = *state;
	add_nodes(k);
	EQF(":2\r\n",
	    "KVC.PUT m %s - 1 1 hbm 0 10 %s - 1 2 dram 0 10 %s - 1 1 "
	    "dram 0 10",
	    tk_h(1), tk_h(2), tk_h(1));
	EQF(":1\r\n", "KVC.PUT z %s - 1 1 hbm 0 10", tk_h(1));
	EQF(":1\r\n", "KVC.EVICT m %s AT 1 hbm", tk_h(1));
	EQF(":0\r\n", "KVC.EVICT m %s AT 1 hbm", tk_h(1));
	PREFIX("*1\r\n", "KVC.LOOKUP m %s", tk_h(1)); /* still in dram */
	EQF(":1\r\n", "KVC.EVICT m %s %s %s", tk_h(1), tk_h(1), tk_h(7));
	EQF("*0\r\n", "KVC.LOOKUP m %s", tk_h(1));
	EQ("KVC.DEL m", ":1\r\n");
	EQ("KVC.DEL m", ":0\r\n");
	PREFIX("*1\r\n", "KVC.LOOKUP z %s", tk_h(1));
	char l2[400];
	bad(k, "KVC.EVICT m", "wrong number");
	bad(k, "KVC.EVICT m 123", "2..64 hex");
	BADPUT("unknown node", "KVC.EVICT z %s AT 9 hbm", tk_h(1));
	BADPUT("node has no tier 'hbm'", "KVC.EVICT z %s AT 2 hbm", tk_h(1));
	BADPUT("unknown tier", "KVC.EVICT z %s AT 2 flash", tk_h(1));
	BADPUT("node id", "KVC.EVICT z %s AT x hbm", tk_h(1));
	bad(k, "KVC.DEL", "wrong number");
	bad(k, "KVC.DEL a b", "wrong number");
	bad(k, "KVC.DEL ''", "namespace");
	assert_non_null(strstr(RUN("KVC.NODE.LIST"),
			       "$3\r\nhbm\r\n:1000\r\n:10\r\n:0\r\n:1\r\n"));
}

static void pin_and_alloc(void **state)
{
	struct kvc *k = *state;
	assert_string_equal(tk_run(k, 100,
				   "KVC.NODE.ADD 1 10.0.0.1:7000 0 hbm "
				   "1000 dram 100"),
			    "+OK\r\n");
	/* Fill node 1's hbm (1000) with 1, 2 (pinned) and 3, LRU in order. */
	tk_runf(k, 100, "KVC.PUT m %s - 1 1 hbm 0 400", tk_h(1));
	tk_runf(k, 200, "KVC.PUT m %s - 1 1 hbm 0 400", tk_h(2));
	tk_runf(k, 300, "KVC.PUT m %s - 1 1 hbm 0 200", tk_h(3));
	assert_string_equal(
	    tk_runf(k, 300, "KVC.PIN m 1000 %s %s", tk_h(2), tk_h(9)),
	    ":1\r\n");
	/* No tier has room: evict from hbm's LRU head, skipping pinned 2. */
	char want[1024];
	snprintf(want, sizeof(want),
		 "*1\r\n*7\r\n:1\r\n:1\r\n$13\r\n10.0.0.1:7000\r\n$3\r\nhbm\r\n"
		 ":300\r\n:30400\r\n*1\r\n*4\r\n$1\r\nm\r\n$32\r\n%s\r\n:1\r\n"
		 "$3\r\nhbm\r\n",
		 tk_h(1));
	assert_string_equal(tk_run(k, 400, "KVC.ALLOC m 300 NEAR 1"), want);
	/* Reserved bytes count against the tier; now 3 must go. */
	snprintf(want, sizeof(want),
		 ":2\r\n:1\r\n$13\r\n10.0.0.1:7000\r\n$3\r\nhbm\r\n:300\r\n"
		 ":450\r\n*1\r\n*4\r\n$1\r\nm\r\n$32\r\n%s\r\n",
		 tk_h(3));
	assert_non_null(
	    strstr(tk_run(k, 400, "KVC.ALLOC m 300 NEAR 1 LEASE 50"), want));
	/* hbm holds only pinned 2 and reservations: dram has room. */
	assert_non_null(
	    strstr(tk_run(k, 400, "KVC.ALLOC m 100 NEAR 1"),
		   ":3\r\n:1\r\n$13\r\n10.0.0.1:7000\r\n$4\r\ndram"));
	/* NEAR 2: node 2's dram; then nothing is left for 10 bytes. */
	tk_run(k, 400, "KVC.NODE.ADD 2 10.0.0.2:7000 1 dram 5000");
	const char *r = tk_run(k, 400, "KVC.ALLOC m 5000 10 NEAR 2");
	assert_non_null(strstr(r, "*2\r\n*7\r\n:4\r\n:2\r\n"));
	assert_non_null(strstr(r, "*0\r\n-ERR no space"));
	assert_non_null(
	    strstr(tk_run(k, 400, "KVC.ALLOC m 99999"), "*1\r\n-ERR no space"));
	/* Commit reservation 1 with PUT RES; 2 expires (lease 50). */
	assert_string_equal(
	    tk_runf(k, 410, "KVC.PUT m RES 1 %s %s 1 77", tk_h(4), tk_h(2)),
	    ":1\r\n");
	assert_string_equal(
	    tk_runf(k, 410, "KVC.PUT m RES 1 %s %s 1 77", tk_h(4), tk_h(2)),
	    "-ERR unknown or expired reservation in this "
	    "namespace\r\n");
	snprintf(want, sizeof(want),
		 "*1\r\n*3\r\n$32\r\n%s\r\n:1\r\n*1\r\n*5\r\n:1\r\n$13\r\n"
		 "10.0.0.1:7000\r\n$3\r\nhbm\r\n:0\r\n:400\r\n",
		 tk_h(2));
	assert_string_equal(tk_runf(k, 0, "KVC.LOOKUP m %s", tk_h(2)), want);
	assert_string_equal(tk_run(k, 460, "KVC.REVOKE 2 3"), ":1\r\n");
	assert_string_equal(tk_run(k, 460, "KVC.REVOKE 3 99"), ":0\r\n");
	assert_non_null(strstr(tk_run(k, 460, "KVC.NODE.LIST"),
			       "$3\r\nhbm\r\n:1000\r\n:700\r\n:0\r\n:2\r\n"));
	/* Pins expire with their lease; then 2 can be evicted. */
	assert_string_equal(
	    tk_runf(k, 460, "KVC.UNPIN m %s %s", tk_h(2), tk_h(2)), ":1\r\n");
	tk_runf(k, 460, "KVC.PIN m 100 %s", tk_h(2));
	snprintf(want, sizeof(want), "*1\r\n*4\r\n$1\r\nm\r\n$32\r\n%s\r\n",
		 tk_h(2));
	assert_non_null(strstr(tk_run(k, 600, "KVC.ALLOC m 700 NEAR 1"), want));

	bad(k, "KVC.ALLOC m", "wrong number");
	bad(k, "KVC.ALLOC m NEAR 1", "wrong number");
	bad(k, "KVC.ALLOC m 0", "bytes");
	bad(k, "KVC.ALLOC m 4294967296", "bytes");
	bad(k, "KVC.ALLOC m 10 NEAR", "syntax");
	bad(k, "KVC.ALLOC m 10 NEAR 0", "node id");
	bad(k, "KVC.ALLOC m 10 NEAR 1 NEAR 1", "syntax");
	bad(k, "KVC.ALLOC m 10 LEASE 0", "lease");
	bad(k, "KVC.ALLOC m 10 FAST 1", "syntax");
	bad(k, "KVC.ALLOC m 10 -5", "syntax");
	bad(k, "KVC.ALLOC m 10 NEAR 9", "unknown NEAR node");
	bad(k, "KVC.REVOKE", "wrong number");
	bad(k, "KVC.REVOKE 0", "reservation id");
	bad(k, "KVC.REVOKE x", "reservation id");
	char l2[400];
	BADPUT("lease", "KVC.PIN m 0 %s", tk_h(2));
	BADPUT("2..64 hex", "KVC.PIN m 10 %s x", tk_h(2));
	bad(k, "KVC.PIN m 10", "wrong number");
	bad(k, "KVC.UNPIN m", "wrong number");
	bad(k, "KVC.UNPIN m 1", "2..64 hex");
	BADPUT("wrong number", "KVC.PUT m RES 1 %s - 1", tk_h(2));
	BADPUT("reservation id", "KVC.PUT m RES 0 %s - 1 0", tk_h(8));
	BADPUT("unknown or expired", "KVC.PUT m RES 77 %s - 1 0", tk_h(8));
}

/* In one PUT (and one LOOKUP TOUCH) the chain's head ends up more recent
 * than its tail, whatever the hashes' order: eviction takes the tail. */
static void batch_lru_order(void **state)
{
	struct kvc *k = *state;
	EQ("KVC.NODE.ADD 1 n1 0 hbm 200", "+OK\r\n");
	EQF(":2\r\n", "KVC.PUT m %s - 1 1 hbm 0 100 %s %s 1 1 hbm 100 100",
	    tk_h(9), tk_h(3), tk_h(9));
	char want[256];
	snprintf(want, sizeof(want), "$1\r\nm\r\n$32\r\n%s\r\n", tk_h(3));
	assert_non_null(strstr(RUN("KVC.ALLOC m 100"), want));
	EQ("KVC.REVOKE 1", ":1\r\n");
	/* Now 3 (tail) first, then 9 (head), touched by one lookup. */
	EQF(":1\r\n", "KVC.PUT m %s %s 1 1 hbm 100 100", tk_h(3), tk_h(9));
	PREFIX("*2\r\n", "KVC.LOOKUP m %s %s TOUCH", tk_h(9), tk_h(3));
	assert_non_null(strstr(RUN("KVC.ALLOC m 100"), want));
}

static void reservations_full_and_dup(void **state)
{
	struct kvc *k = *state;
	add_nodes(k);
	const char *r = tk_run(k, T0, "KVC.ALLOC m 1 1 1 1 1 1 1 1 1");
	assert_non_null(strstr(r, "-ERR reservation table full"));
	char l2[400];
	BADPUT("duplicate reservation", "KVC.PUT m RES 1 %s - 1 0 1 %s - 1 0",
	       tk_h(1), tk_h(2));
	BADPUT("unknown or expired", "KVC.PUT other RES 1 %s - 1 0", tk_h(1));
	EQF(":2\r\n", "KVC.PUT m RES 1 %s - 1 0 2 %s - 1 0", tk_h(1), tk_h(2));
	EQ("KVC.DEL m", ":2\r\n");
	EQ("KVC.STATS", RUN("KVC.STATS")); /* stable */
	assert_non_null(strstr(RUN("KVC.STATS"), "reservations\r\n:0\r\n"));
}

static void node_lease_expiry(void **state)
{
	struct kvc *k = *state;
	add_nodes(k);
	tk_run(k, 1100, "KVC.NODE.ADD 3 h3 0 dram 100 LEASE 1000");
	assert_string_equal(
	    tk_runf(k, 1100,
		    "KVC.PUT m %s - 1 3 dram 0 10 %s %s 1 1 dram 0 10 "
		    "%s %s 1 3 dram 10 10",
		    tk_h(1), tk_h(2), tk_h(1), tk_h(2), tk_h(1)),
	    ":2\r\n");
	tk_run(k, 1100, "KVC.ALLOC m 50 NEAR 3");
	/* Read at the last entry time (1100): the node is alive. */
	assert_true(
	    strncmp(tk_runf(k, 1100, "KVC.LOOKUP m %s %s", tk_h(1), tk_h(2)),
		    "*2", 2) == 0);
	/* A heartbeat at 1900 extends to 2900. */
	assert_string_equal(tk_run(k, 1900, "KVC.NODE.HEARTBEAT 1000 3"),
			    ":1\r\n");
	assert_string_equal(tk_run(k, 2899, "SET t 1"), "+OK\r\n");
	assert_true(
	    strncmp(tk_runf(k, 0, "KVC.LOOKUP m %s", tk_h(1)), "*1", 2) == 0);
	/* The first entry at 2900 reclaims node 3: block 1 is gone, block 2
	 * keeps its node 1 location; the reservation is released. */
	assert_string_equal(tk_run(k, 2900, "SET t 2"), "+OK\r\n");
	tk_invariants(k);
	assert_string_equal(tk_runf(k, 0, "KVC.LOOKUP m %s", tk_h(1)),
			    "*0\r\n");
	assert_non_null(strstr(RUN("KVC.STATS"), "blocks\r\n:1\r\n"));
	assert_non_null(strstr(RUN("KVC.STATS"), "reservations\r\n:0\r\n"));
	assert_non_null(strstr(RUN("KVC.STATS"), "nodes_alive\r\n:2\r\n"));
	char l2[400];
	BADPUT("node 3 is down", "KVC.PUT m %s - 1 3 dram 0 10", tk_h(5));
	/* A heartbeat revives it (empty). */
	assert_string_equal(tk_run(k, 3000, "KVC.NODE.HEARTBEAT 1000 3"),
			    ":1\r\n");
	assert_string_equal(
	    tk_runf(k, 3000, "KVC.PUT m %s - 1 3 dram 0 10", tk_h(1)),
	    ":1\r\n");
	/* Time never runs backwards: an older stamp keeps the clock. */
	tk_run(k, 10, "SET t 3");
	assert_int_equal(kvc_now_ms(k), 3000);
	/* A clock near 2^64 saturates leases instead of wrapping them. */
	assert_string_equal(
	    tk_run(k, UINT64_MAX - 5, "KVC.NODE.HEARTBEAT 1000 3"), ":1\r\n");
	assert_non_null(strstr(RUN("KVC.NODE.LIST"),
			       "$2\r\nh3\r\n:0\r\n:1\r\n"
			       "$20\r\n18446744073709551615\r\n"));
}

static void digest_and_malformed(void **state)
{
	struct kvc *k = *state;
	add_nodes(k);
	const char *d = RUN("KVC.DIGEST");
	assert_int_equal(strlen(d), 5 + 16 + 2);
	char hex[17];
	snprintf(hex, sizeof(hex), "%016llx",
		 (unsigned long long)kvc_digest(k));
	assert_memory_equal(d + 5, hex, 16);
	bad(k, "KVC.DIGEST x", "wrong number");
	bad(k, "KVC.STATS x", "wrong number");
	/* Malformed entries: error reply, nothing changes. */
	uint64_t before = kvc_digest(k);
	struct kvc_reply r = {0};
	unsigned char e[64] = {1};
	assert_int_equal(kvc_apply(k, e, 0, &r), FR_MALFORMED);
	assert_int_equal(kvc_apply(k, NULL, 5, &r), FR_MALFORMED);
	assert_int_equal(kvc_apply(k, e, 13, &r), FR_MALFORMED); /* argc 0 */
	struct kvc_arg a[2] = {{"GET", 3}, {"x", 1}};
	struct kvc_reply ent = {0};
	assert_int_equal(kvc_command_encode(5, 2, a, &ent), 0);
	for (size_t cut = 0; cut < ent.len; cut++) {
		assert_int_equal(kvc_apply(k, ent.buf, cut, &r), FR_MALFORMED);
	}
	ent.buf[0] = 2; /* version */
	assert_int_equal(kvc_apply(k, ent.buf, ent.len, &r), FR_MALFORMED);
	ent.buf[0] = 1;
	ent.buf[13] = (char)-1; /* first length too big */
	assert_int_equal(kvc_apply(k, ent.buf, ent.len, &r), FR_MALFORMED);
	kvc_reply_free(&ent);
	a[0].base = "NOPE";
	a[0].len = 4;
	assert_int_equal(kvc_command_encode(5, 2, a, &ent), 0);
	assert_int_equal(kvc_apply(k, ent.buf, ent.len, &r), FR_MALFORMED);
	kvc_reply_free(&ent);
	assert_int_equal(kvc_command_encode(5, 0, a, &ent), FR_INVALID);
	assert_true(kvc_digest(k) == before);
	assert_int_equal(kvc_now_ms(k), T0);
	assert_non_null(strstr(r.buf, "-ERR malformed log entry\r\n"));
	kvc_reply_free(&r);
	/* Unknown commands are left to the RESP front. */
	assert_string_equal(RUN("INFO"), "NOTFOUND");
	enum kvc_kind kind;
	assert_int_equal(kvc_command_check(0, a, &kind, &r), FR_INVALID);
	kvc_reply_free(&r);
}

static void open_options_and_faults(void **state)
{
	(void)state;
	struct kvc *k;
	struct kvc_options o = {.nodes_max = 65536};
	assert_int_equal(kvc_open(&k, &o), FR_INVALID);
	o = (struct kvc_options){.blocks_max = 1u << 29};
	assert_int_equal(kvc_open(&k, &o), FR_INVALID);
	o = (struct kvc_options){.blocks_max = 16, .kv_keys_max = 16};
	for (int i = 0; i < 13; i++) {
		fr_heap_fault_config(i, 1);
		assert_int_equal(kvc_open(&k, &o), FR_NOMEM);
	}
	fr_heap_fault_config(-1, 0);
	assert_int_equal(kvc_open(&k, &o), 0);
	/* Reply allocation failure is reported as FR_NOMEM. */
	struct kvc_arg a[2] = {{"GET", 3}, {"x", 1}};
	struct kvc_reply r = {0};
	fr_heap_fault_config(0, 1);
	assert_int_equal(kvc_read(k, 2, a, &r), FR_NOMEM);
	fr_heap_fault_config(-1, 0);
	kvc_reply_free(&r);
	kvc_close(k);
	kvc_close(NULL);
}

/* Count allocation failures down across apply: every outcome is either
 * "nothing changed" or "fully applied" (only the reply was lost), and the
 * invariants hold either way. */
static void apply_alloc_failures(void **state)
{
	(void)state;
	static char line[8192];
	size_t n = (size_t)snprintf(line, sizeof(line), "KVC.PUT m");
	for (unsigned i = 1; i <= 64; i++) {
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      " %s %s 1 1 dram %u 1", tk_h(i),
				      i == 1 ? "-" : tk_h(i - 1), i);
	}
	const char *const cmds[] = {line, "MSET a 1 b 2 c 3", "SET a x",
				    "KVC.ALLOC m 5 5 5"};
	struct kvc_options o = {.blocks_max = 128, .kv_keys_max = 16};
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		/* Reference: the digest after a fault-free apply. */
		struct kvc *ref;
		assert_int_equal(kvc_open(&ref, &o), 0);
		tk_run(ref, 1, "KVC.NODE.ADD 1 n1 0 dram 100000");
		uint64_t before = kvc_digest(ref);
		tk_run(ref, 1, cmds[c]);
		uint64_t after = kvc_digest(ref);
		kvc_close(ref);
		int nomem = 0;
		int ok = 0;
		for (int i = 0; i < 8; i++) {
			struct kvc *k;
			assert_int_equal(kvc_open(&k, &o), 0);
			tk_run(k, 1, "KVC.NODE.ADD 1 n1 0 dram 100000");
			struct kvc_arg a[512];
			uint32_t argc = tk_split(cmds[c], a, 512);
			struct kvc_reply e = {0};
			struct kvc_reply r = {0};
			assert_int_equal(kvc_command_encode(1, argc, a, &e), 0);
			fr_heap_fault_config(i, 1);
			int rv = kvc_apply(k, e.buf, e.len, &r);
			fr_heap_fault_config(-1, 0);
			assert_true(rv == 0 || rv == FR_NOMEM);
			nomem += rv == FR_NOMEM;
			ok += rv == 0;
			uint64_t d = kvc_digest(k);
			assert_true(d == after ||
				    (rv == FR_NOMEM && d == before));
			tk_invariants(k);
			kvc_reply_free(&e);
			kvc_reply_free(&r);
			kvc_close(k);
		}
		assert_true(nomem > 0 && ok > 0); /* the faults did hit */
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(kv_commands),
	    T(kv_full),
	    T(node_commands),
	    T(put_and_lookup),
	    T(lookup_neighbours),
	    cmocka_unit_test(hash_parser_paths),
	    T(block_table_full),
	    T(evict_and_del),
	    T(pin_and_alloc),
	    T(batch_lru_order),
	    T(reservations_full_and_dup),
	    T(node_lease_expiry),
	    T(digest_and_malformed),
	    cmocka_unit_test(open_options_and_faults),
	    cmocka_unit_test(apply_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
