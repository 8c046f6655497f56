/* test_kvc_hash.c — block hashes of 1..32 bytes: forms, equality, errors,
 * the long-hash pool, snapshots (version 2 and version 1) and digests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"
#include "data/kvc_snap_v1.h"
#include "data/kvc_snap_v1_cmds.h"
#include "kvc_int.h"
#include "le.h"
#include "test_kvc_util.h"

#define T0 1000u

static const struct kvc_options opts = {.blocks_max = 64,
					.locations_max = 96,
					.nodes_max = 8,
					.namespaces_max = 8,
					.reservations_max = 8,
					.kv_keys_max = 16,
					.long_hashes_max = 8};

static int setup(void **state)
{
	struct kvc *k;
	if (kvc_open(&k, &opts) != 0) {
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

#define EQ(line, want) assert_string_equal(tk_run(k, T0, line), want)
#define EQF(want, ...) assert_string_equal(tk_runf(k, T0, __VA_ARGS__), want)

/* Hashes of each length (lower case, as replies spell them). */
#define H1   "a7"
#define H8   "00000000deadbeef"
#define H16  "0123456789abcdef0123456789abcdef"
#define H32  "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210"
#define H32B "ff112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210"

static void add_node(struct kvc *k)
{
	EQ("KVC.NODE.ADD 1 10.0.0.1:7000 0 hbm 100000 dram 1000000", "+OK\r\n");
}

/* The number of blocks a LOOKUP answers (its array length). */
static unsigned found(struct kvc *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static unsigned found(struct kvc *k, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	const char *r = tk_run(k, T0, line);
	if (r[0] != '*') {
		fail_msg("'%s' gave '%s'", line, r);
	}
	return (unsigned)strtoul(r + 1, NULL, 10);
}

/* A command that must fail and change nothing, on the client path and
 * (bypassing the check) on the apply path. */
static void bad(struct kvc *k, const char *line, const char *want)
{
	uint64_t d = kvc_digest(k);
	const char *got = tk_run(k, T0, line);
	if (strncmp(got, "-ERR ", 5) != 0 || strstr(got, want) == NULL) {
		fail_msg("'%s' gave '%s', want '%s'", line, got, want);
	}
	got = tk_apply(k, T0, line);
	if (strncmp(got, "-ERR ", 5) != 0 || strstr(got, want) == NULL) {
		fail_msg("apply '%s' gave '%s'", line, got);
	}
	assert_true(kvc_digest(k) == d);
}

/* Chains of 1-, 8-, 16- and 32-byte hashes, and one that mixes them:
 * PUT, LOOKUP (replies spell each hash in lower-case hex), EVICT, PIN. */
static void chains_of_each_length(void **state)
{
	struct kvc *k = *state;
	add_node(k);
	static const char *const h[4][3] = {
	    {"01", "02", "03"},
	    {"i:1", "i:2", "i:3"},
	    {H16, "1123456789abcdef0123456789abcdef",
	     "2123456789ABCDEF0123456789ABCDEF"},
	    {H32, H32B,
	     "ee112233445566778899aabbccddeeff0123456789abcdeffe"
	     "dcba9876543210"}};
	for (unsigned l = 0; l < 4; l++) {
		EQF(":3\r\n",
		    "KVC.PUT n%u %s - 16 1 dram 0 10 %s %s 16 1 dram 10 10 "
		    "%s %s 16 1 dram 20 10",
		    l, h[l][0], h[l][1], h[l][0], h[l][2], h[l][1]);
		assert_int_equal(found(k, "KVC.LOOKUP n%u %s %s %s", l, h[l][0],
				       h[l][1], h[l][2]),
				 3);
		/* Not a chain from a root: nothing. */
		assert_int_equal(
		    found(k, "KVC.LOOKUP n%u %s %s", l, h[l][1], h[l][2]), 0);
	}
	assert_non_null(strstr(tk_run(k, T0, "KVC.LOOKUP n1 i:1"),
			       "$16\r\n0000000000000001\r\n"));
	assert_non_null(
	    strstr(tk_run(k, T0, "KVC.LOOKUP n0 01 02"), "$2\r\n02\r\n"));
	assert_non_null(strstr(
	    tk_runf(k, T0, "KVC.LOOKUP n2 %s %s %s", H16, h[2][1], h[2][2]),
	    "$32\r\n2123456789abcdef0123456789abcdef\r\n"));
	assert_non_null(strstr(tk_runf(k, T0, "KVC.LOOKUP n3 %s", H32),
			       "$64\r\n" H32 "\r\n"));
	/* A chain whose parents change length at every step, one PUT per
	 * block, last first (so lookups go through the table). */
	static const char *const m[5] = {H1, "i:48879", H16, H32, "b0"};
	for (unsigned i = 5; i-- > 0;) {
		EQF(":1\r\n", "KVC.PUT mix %s %s 8 1 hbm %u 100", m[i],
		    i == 0 ? "-" : m[i - 1], i * 100);
	}
	assert_int_equal(found(k, "KVC.LOOKUP mix %s %s %s %s %s", m[0], m[1],
			       m[2], m[3], m[4]),
			 5);
	/* The same block named another way: i:48879 = 000000000000beef. */
	assert_int_equal(
	    found(k, "KVC.LOOKUP mix %s 000000000000BEEF %s", m[0], m[2]), 3);
	/* Re-putting with another parent length is a different parent. */
	EQF("-ERR block exists with a different parent or tokens\r\n",
	    "KVC.PUT mix b0 %s00 8 1 dram 0 100", H16);
	EQF(":2\r\n", "KVC.PIN mix 1000 %s %s", H32, H1);
	EQF(":1\r\n", "KVC.UNPIN mix %s", H32);
	EQF(":1\r\n", "KVC.EVICT mix %s", H16);
	assert_int_equal(found(k, "KVC.LOOKUP mix %s %s %s %s %s", m[0], m[1],
			       m[2], m[3], m[4]),
			 2);
	EQF(":1\r\n", "KVC.EVICT mix %s AT 1 hbm", H32);
	EQF(":0\r\n", "KVC.EVICT mix %s", H32);
	tk_invariants(k);
}

/* i:N is the 8 bytes of N big-endian; equal to its 16 hex digits, not to
 * a shorter spelling of the same number. */
static void int_and_hex_forms(void **state)
{
	struct kvc *k = *state;
	add_node(k);
	EQ("KVC.PUT f i:1 - 1 1 dram 0 1", ":1\r\n");
	EQ("KVC.PUT f 0000000000000001 - 1 1 dram 0 1", ":0\r\n");
	assert_int_equal(found(k, "KVC.LOOKUP f 0000000000000001"), 1);
	assert_int_equal(found(k, "KVC.LOOKUP f 01"), 0);
	assert_int_equal(found(k, "KVC.LOOKUP f 000000000000000001"), 0);
	EQ("KVC.PUT f 01 - 1 1 dram 0 1", ":1\r\n");
	assert_int_equal(found(k, "KVC.LOOKUP f i:1"), 1);
	static const char *const same[][2] = {
	    {"i:-1", "ffffffffffffffff"},
	    {"i:18446744073709551615", "FFFFFFFFFFFFFFFF"},
	    {"i:-9223372036854775808", "8000000000000000"},
	    {"i:9223372036854775807", "7fffffffffffffff"},
	    {"i:0", "0000000000000000"},
	    {"i:-0", "i:00"},
	    {"i:255", "00000000000000ff"},
	    /* Integers as long as the lengths with a SIMD hex path. */
	    {"i:12345678901234", "00000b3a73ce2ff2"},
	    {"i:000000000000000000000000000001", "0000000000000001"},
	    {"i:0000000000000000000000000000000000000000000000000000000000001"
	     "0",
	     "000000000000000a"}};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		EQF(":1\r\n", "KVC.PUT g%zu %s - 1 1 dram 0 1", i, same[i][0]);
		assert_int_equal(found(k, "KVC.LOOKUP g%zu %s", i, same[i][1]),
				 1);
		EQF(":1\r\n", "KVC.EVICT g%zu %s", i, same[i][1]);
	}
	/* i:-1 and i:18446744073709551615 are one block. */
	EQ("KVC.PUT h i:-1 - 1 1 dram 0 1", ":1\r\n");
	EQ("KVC.PUT h i:18446744073709551615 - 1 1 dram 0 1", ":0\r\n");
	/* All-zero hashes are hashes now; a root's parent is '-' only. */
	EQ("KVC.PUT z 00000000000000000000000000000000 - 1 1 dram 0 1",
	   ":1\r\n");
	EQ("KVC.PUT z 01 00000000000000000000000000000000 1 1 dram 0 1",
	   ":1\r\n");
	EQ("KVC.PUT z 02 i:0 1 1 dram 0 1", ":1\r\n");
	assert_int_equal(
	    found(k, "KVC.LOOKUP z 00000000000000000000000000000000 01"), 2);
	assert_int_equal(found(k, "KVC.LOOKUP z 02"), 0); /* i:0 is absent */
	tk_invariants(k);
}

/* Every malformed hash, in every command and position that takes one. */
static void bad_hashes(void **state)
{
	struct kvc *k = *state;
	add_node(k);
	EQ("KVC.PUT b " H16 " - 1 1 dram 0 1", ":1\r\n");
	char h66[67];
	memset(h66, 'a', 66);
	h66[66] = '\0';
	const char *const bads[] = {"0",
				    "abc",
				    "''",
				    h66,
				    "0g",
				    "zz",
				    "0x12",
				    "i:",
				    "i:-",
				    "i:18446744073709551616",
				    "i:99999999999999999999999",
				    "i:-9223372036854775809",
				    "i:12a",
				    "i:+1",
				    "i:--1",
				    "i:1.5",
				    "I:1",
				    "i:0x10"};
	const char *want = "block hash must be 2..64 hex digits (even) or "
			   "i:<64-bit integer>";
	char line[300];
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const char *b = bads[i];
		snprintf(line, sizeof(line), "KVC.PUT b %s - 1 1 dram 0 1", b);
		bad(k, line, want);
		snprintf(line, sizeof(line), "KVC.PUT b 07 %s 1 1 dram 0 1", b);
		bad(k, line, "parent must be '-' or a block hash");
		snprintf(line, sizeof(line), "KVC.LOOKUP b " H16 " %s", b);
		bad(k, line, want);
		snprintf(line, sizeof(line), "KVC.EVICT b %s", b);
		bad(k, line, want);
		snprintf(line, sizeof(line), "KVC.PIN b 100 " H16 " %s", b);
		bad(k, line, want);
		snprintf(line, sizeof(line), "KVC.UNPIN b %s", b);
		bad(k, line, want);
	}
	/* The longest and shortest accepted. */
	EQF(":1\r\n", "KVC.PUT b %.64s - 1 1 dram 0 1", h66);
	EQ("KVC.PUT b ab - 1 1 dram 0 1", ":1\r\n");
	bad(k, "KVC.PUT b i:5 i:5 1 1 dram 0 1", "its own parent");
	bad(k, "KVC.PUT b i:5 0000000000000005 1 1 dram 0 1", "its own parent");
}

/* The hex parsers agree on every length (the SIMD path takes 32 and 64
 * digits, the portable one the rest). */
static void parser_lengths(void **state)
{
	(void)state;
	char buf[80];
	for (unsigned len = 0; len <= 70; len++) {
		for (unsigned v = 0; v < 4; v++) {
			for (unsigned i = 0; i < len; i++) {
				buf[i] =
				    "0123456789abcdefABCDEF"[(i * 7 + v) % 22];
			}
			if (v == 3 && len > 0) {
				buf[len / 2] = 'x';
			}
			struct kvc_arg a = {buf, len};
			struct kvc__hash x;
			struct kvc__hash y;
			memset(&x, 0x55, sizeof(x));
			memset(&y, 0x55, sizeof(y));
			bool fx = kvc__parse_hash(&a, &x);
			bool fy = kvc__parse_hash_scalar(&a, &y);
			assert_true(fx == fy);
			assert_true(fx == (len >= 2 && len <= 64 &&
					   len % 2 == 0 && v != 3));
			if (fx) {
				assert_int_equal(x.len, len / 2);
				assert_memory_equal(&x, &y, sizeof(x));
			}
		}
	}
}

/* The pool for hashes over 16 bytes is a table like the others: full is
 * an error that changes nothing, eviction frees entries. */
static void long_pool_full(void **state)
{
	(void)state;
	struct kvc_options o = opts;
	o.long_hashes_max = 2;
	struct kvc *k;
	assert_int_equal(kvc_open(&k, &o), 0);
	add_node(k);
	EQ("KVC.PUT p " H32 " - 1 1 dram 0 1", ":1\r\n");
	/* A 16-byte block with a 32-byte parent is long too. */
	EQ("KVC.PUT p " H16 " " H32 " 1 1 dram 0 1", ":1\r\n");
	EQ("KVC.PUT p 01 " H16 " 1 1 dram 0 1", ":1\r\n"); /* short */
	bad(k, "KVC.PUT p " H32B " - 1 1 dram 0 1", "long-hash table full");
	bad(k, "KVC.PUT p 02 " H32B " 1 1 dram 0 1", "long-hash table full");
	EQ("KVC.PUT p " H32 " - 1 1 hbm 0 1", ":0\r\n"); /* exists */
	assert_non_null(strstr(tk_run(k, T0, "KVC.STATS"),
			       "long_hashes\r\n:2\r\n$15\r\nlong_hashes_max"
			       "\r\n:2\r\n"));
	unsigned char *snap;
	size_t len;
	snap = tk_snapshot(k, &len);
	struct kvc *r;
	o.long_hashes_max = 1;
	assert_int_equal(kvc_open(&r, &o), 0);
	assert_int_equal(tk_restore(r, snap, len), FR_NOSPACE);
	kvc_close(r);
	free(snap);
	EQ("KVC.EVICT p " H16, ":1\r\n");
	EQ("KVC.PUT p " H32B " - 1 1 dram 0 1", ":1\r\n");
	assert_int_equal(found(k, "KVC.LOOKUP p " H32B), 1);
	assert_int_equal(found(k, "KVC.LOOKUP p " H32), 1);
	tk_invariants(k);
	kvc_close(k);
	o.long_hashes_max = KVC_LONG_HASHES_MAX_MAX + 1;
	assert_int_equal(kvc_open(&k, &o), FR_INVALID);
}

/* ALLOC's victims spell long hashes in full. */
static void alloc_victims(void **state)
{
	struct kvc *k = *state;
	EQ("KVC.NODE.ADD 1 a 0 hbm 4096", "+OK\r\n");
	EQ("KVC.PUT v " H32 " - 1 1 hbm 0 4096", ":1\r\n");
	const char *r = tk_run(k, T0, "KVC.ALLOC v 4096");
	assert_non_null(strstr(r, "$1\r\nv\r\n$64\r\n" H32 "\r\n"));
}

/* A mixed state: the same on a replica whose free list hands out other
 * block slots, on one restored from its snapshot, and after a re-save. */
static void build_mixed(struct kvc *k)
{
	static const char *const put[] = {
	    "KVC.PUT a 01 - 1 1 dram 0 10 " H32 " 01 2 1 dram 10 10",
	    "KVC.PUT a i:7 " H32 " 3 1 hbm 0 10 " H16 " i:7 4 1 hbm 10 10",
	    "KVC.PUT b " H16 " - 1 1 dram 20 10 " H32B " " H16
	    " 1 1 dram 30 10",
	    "KVC.PUT c 0000000000000000000000000000000000 - 5 1 hbm 40 10",
	    "KVC.PIN a 5000 " H32 " 01"};
	size_t n = sizeof(put) / sizeof(put[0]);
	for (size_t i = 0; i < n; i++) {
		const char *r = tk_run(k, T0 + i, put[i]);
		assert_true(r[0] == ':' && r[1] != '0');
	}
	assert_int_equal(found(k, "KVC.LOOKUP a 01 TOUCH"), 1);
}

/* Fill 40 block slots and free them first to last (KVC.DEL): the next
 * blocks take slots in another order than in a fresh instance. */
static void scramble(struct kvc *k)
{
	char line[4096];
	size_t n = (size_t)snprintf(line, sizeof(line), "KVC.PUT s");
	for (unsigned i = 0; i < 40; i++) {
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      " i:%u - 1 1 dram 0 1", 40 - i);
	}
	assert_string_equal(tk_run(k, 0, line), ":40\r\n");
	assert_string_equal(tk_run(k, 0, "KVC.DEL s"), ":40\r\n");
}

static void snapshot_mixed_roundtrip(void **state)
{
	struct kvc *k = *state;
	add_node(k);
	build_mixed(k);
	struct kvc *b;
	assert_int_equal(kvc_open(&b, &opts), 0);
	add_node(b);
	scramble(b);
	build_mixed(b);
	assert_true(kvc_digest(k) == kvc_digest(b));
	size_t len;
	unsigned char *s = tk_snapshot(k, &len);
	assert_int_equal(le_get_u32(s + 8), 3); /* version */
	struct kvc *r;
	assert_int_equal(kvc_open(&r, &opts), 0);
	assert_int_equal(tk_restore(r, s, len), 0);
	tk_invariants(r);
	assert_true(kvc_digest(r) == kvc_digest(k));
	static const char *const q[] = {
	    "KVC.LOOKUP a 01 " H32 " i:7 " H16, "KVC.LOOKUP b " H16 " " H32B,
	    "KVC.LOOKUP c 0000000000000000000000000000000000", "KVC.NODE.LIST"};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		char want[4096];
		snprintf(want, sizeof(want), "%s", tk_run(k, T0 + 10, q[i]));
		assert_string_equal(tk_run(r, T0 + 10, q[i]), want);
		assert_string_equal(tk_run(b, T0 + 10, q[i]), want);
	}
	assert_int_equal(found(r, "KVC.LOOKUP a 01 %s i:7 %s", H32, H16), 4);
	size_t len2;
	unsigned char *s2 = tk_snapshot(r, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(s2, s, len);
	free(s2);
	free(s);
	kvc_close(r);
	kvc_close(b);
}

/* A version-1 snapshot written by the code before this format loads; its
 * state has the digest that code gave it, which is also what this code
 * gives the same commands: replicas of both versions agree on it. */
static void v1_snapshot_restores(void **state)
{
	struct kvc *k = *state;
	assert_int_equal(tk_restore(k, v1_snap, sizeof(v1_snap)), 0);
	tk_invariants(k);
	assert_true(kvc_digest(k) == V1_DIGEST);
	struct kvc *f;
	assert_int_equal(kvc_open(&f, NULL), 0);
	for (size_t i = 0; i < sizeof(v1_cmds) / sizeof(v1_cmds[0]); i++) {
		(void)tk_run(f, 1000 + 10 * i, v1_cmds[i]);
	}
	assert_true(kvc_digest(f) == V1_DIGEST);
	const char *q =
	    "KVC.LOOKUP llama-3-8b a1b2c3d4e5f60718293a4b5c6d7e8f90 "
	    "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
	char want[2048];
	snprintf(want, sizeof(want), "%s", tk_run(f, 0, q));
	assert_string_equal(tk_run(k, 0, q), want);
	assert_int_equal(found(k, "%s", q), 2);
	assert_int_equal(
	    found(k, "KVC.LOOKUP qwen2-7b 1111222233334444555566667777aaaa"),
	    1);
	/* Saved again it is version 3, and loads to the same state. */
	size_t len;
	unsigned char *s = tk_snapshot(k, &len);
	assert_int_equal(le_get_u32(s + 8), 3);
	assert_int_equal(tk_restore(f, s, len), 0);
	assert_true(kvc_digest(f) == V1_DIGEST);
	free(s);
	kvc_close(f);
	/* Version 1 had no all-zero hash: one (checksum fixed) is corrupt.
	 * The first block record follows header, nodes and namespaces. */
	unsigned char *c = malloc(sizeof(v1_snap));
	assert_non_null(c);
	memcpy(c, v1_snap, sizeof(v1_snap));
	const unsigned char a1[] = {0xa1, 0xb2, 0xc3, 0xd4};
	unsigned char *at = NULL;
	for (size_t i = 0; at == NULL && i + 4 <= sizeof(v1_snap); i++) {
		at = memcmp(c + i, a1, 4) == 0 ? c + i : NULL;
	}
	assert_non_null(at);
	memset(at, 0, 16);
	le_put_u32(c + sizeof(v1_snap) - 4,
		   fr_crc32c(0, c, sizeof(v1_snap) - 4));
	assert_int_equal(tk_restore(k, c, sizeof(v1_snap)), FR_CORRUPT);
	free(c);
	assert_true(kvc_digest(k) == V1_DIGEST);
}

/* kvc_memory() names every table and adds them up. */
static void memory_report(void **state)
{
	struct kvc *k = *state;
	struct kvc_table_info t[KVC_TABLES];
	uint64_t total = kvc_memory(k, t);
	uint64_t sum = 0;
	for (unsigned i = 0; i < KVC_TABLES; i++) {
		assert_non_null(t[i].name);
		assert_true(t[i].bytes > 0);
		sum += t[i].bytes;
	}
	assert_true(total > sum);
	assert_string_equal(t[0].name, "blocks");
	assert_int_equal(t[0].entries, opts.blocks_max);
	/* 64-byte blocks and a table of at least two 8-byte slots each. */
	assert_true(t[0].bytes >= (uint64_t)80 * opts.blocks_max);
	assert_string_equal(t[2].name, "long_hashes");
	assert_int_equal(t[2].bytes, (uint64_t)36 * opts.long_hashes_max);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(chains_of_each_length),
	    T(int_and_hex_forms),
	    T(bad_hashes),
	    cmocka_unit_test(parser_lengths),
	    cmocka_unit_test(long_pool_full),
	    T(alloc_victims),
	    T(snapshot_mixed_roundtrip),
	    T(v1_snapshot_restores),
	    T(memory_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
