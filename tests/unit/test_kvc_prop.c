/* test_kvc_prop.c — replicas agree: random command sequences applied to two
 * instances and to a third restored from a snapshot taken midway; snapshot
 * corruption is always refused. */
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
#include "heap.h"
#include "test_kvc_util.h"

static const struct kvc_options small = {.blocks_max = 48,
					 .locations_max = 64,
					 .nodes_max = 4,
					 .namespaces_max = 3,
					 .reservations_max = 6,
					 .kv_keys_max = 12,
					 .long_hashes_max = 10,
					 /* Not the 11 MB default ring: a load
					  * allocates one, and the corruption
					  * test loads thousands of times
					  * (minutes under AddressSanitizer,
					  * whose calloc touches every page). */
					 .events_max = 64};

/* xorshift64*: the test's own seeded RNG. */
static uint64_t rng;
static unsigned rnd(unsigned n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (unsigned)((rng * 2685821657736338717ull) >> 33) % n;
}

/* Block b's parent in the generated chains: chains of 6 from 1, 7, ... */
static unsigned parent_of(unsigned b)
{
	return b % 6 == 1 ? 0 : b - 1;
}

/* Block b's hash: its length varies with b (1, 8, 16 or 32 bytes), and
 * an 8-byte one is written as i:<b> or as 16 hex digits at random (the
 * same block either way); so chains mix lengths, parents included, and
 * the long-hash pool (10 entries) fills up. */
static const char *bh(unsigned b)
{
	static char buf[8][72];
	static unsigned next;
	char *o = buf[next++ % 8];
	switch (b % 4) {
	case 0:
		snprintf(o, 72, "%02x", b & 255);
		break;
	case 1:
		snprintf(o, 72, "%s", tk_h(b));
		break;
	case 2:
		if (rnd(2)) {
			snprintf(o, 72, "i:%u", b);
		} else {
			snprintf(o, 72, "%016x", b);
		}
		break;
	default:
		snprintf(o, 72, "%s%s", tk_h(b), tk_h(b + 1000));
		break;
	}
	return o;
}

static const char *ph(unsigned b)
{
	return b == 0 ? "-" : bh(b);
}

static const char *const tiers[] = {"hbm", "dram", "cxl", "nvme", "ssd"};
static const char *const nss[] = {"llama", "qwen", "mixtral", "gemma"};

/* One PUT item for block @b (random when 0). */
static int put_item(char *p, size_t cap, unsigned b)
{
	b = b != 0 ? b : 1 + rnd(30);
	unsigned t = rnd(10);
	return snprintf(p, cap, " %s %s %u %u %s %u %u", bh(b),
			ph(parent_of(b)), 16 + (rnd(40) == 0),
			rnd(10) == 0 ? 1 + rnd(5) : 1 + rnd(2),
			tiers[t < 4   ? 0
			      : t < 9 ? 1
				      : rnd(5)],
			rnd(1000), 1 + rnd(rnd(8) == 0 ? 5000 : 300));
}

/* The INCR family, and transactions (TXN: what EXEC sends). */
static void gen_incr(char *line, size_t cap)
{
	unsigned key = rnd(15);
	unsigned v = rnd(9);
	switch (rnd(5)) {
	case 0:
		snprintf(line, cap, "INCR k%u", key);
		break;
	case 1:
		snprintf(line, cap, "INCRBY k%u -%u", key, v);
		break;
	case 2:
		snprintf(line, cap, "DECRBY k%u %u", key, v);
		break;
	case 3:
		snprintf(line, cap, "DECR k%u", key);
		break;
	default:
		snprintf(line, cap, "TXN 3 SET k%u %u 2 INCR k3 3 MGET k3 k4",
			 key, v);
	}
}

/* One random command line, mostly valid, some not. */
static void gen(char *line, size_t cap)
{
	size_t n = 0;
	const char *ns = nss[rnd(4)];
	unsigned c = rnd(20);
	switch (c) {
	case 0:
		snprintf(line, cap, "KVC.NODE.ADD %u n%u %u hbm %u dram %u%s",
			 1 + rnd(3), rnd(9), rnd(2), 500 + rnd(1000),
			 2000 + rnd(3000), rnd(3) ? "" : " LEASE 300");
		break;
	case 1:
		snprintf(line, cap, "KVC.NODE.%s %u",
			 rnd(8) ? "HEARTBEAT 1500" : "DEL",
			 rnd(5) ? 1 + rnd(2) : 1 + rnd(5));
		break;
	case 2:
	case 3:
	case 4:
	case 5:
		n = (size_t)snprintf(line, cap, "KVC.PUT %s", ns);
		if (rnd(2)) {
			/* A run of one chain in order: new blocks get
			 * adjacent indices, which lookups follow. */
			unsigned s0 = 1 + 6 * rnd(5);
			unsigned b = s0 + rnd(6);
			for (unsigned m = 1 + rnd(6); m > 0 && b < s0 + 6;
			     m--, b++) {
				n += (size_t)put_item(line + n, cap - n, b);
			}
			break;
		}
		for (unsigned i = 0, m = 1 + rnd(3); i < m; i++) {
			n += (size_t)put_item(line + n, cap - n, 0);
		}
		break;
	case 6:
		snprintf(line, cap, "KVC.PUT %s RES %u %s %s 16 %u", ns,
			 1 + rnd(30), bh(1 + rnd(30)), "-", rnd(100));
		break;
	case 7: {
		unsigned b = 1 + 6 * rnd(5);
		n = (size_t)snprintf(line, cap, "KVC.LOOKUP %s", ns);
		for (unsigned i = 0, m = 1 + rnd(7); i < m; i++) {
			n += (size_t)snprintf(line + n, cap - n, " %s",
					      bh(rnd(6) ? b + i : 1 + rnd(30)));
		}
		snprintf(line + n, cap - n, "%s", rnd(2) ? " TOUCH" : "");
		break;
	}
	case 8:
		snprintf(line, cap, "KVC.ALLOC %s %u %u%s", ns, 1 + rnd(3000),
			 1 + rnd(200), rnd(2) ? " NEAR 2 LEASE 200" : "");
		break;
	case 9:
		snprintf(line, cap, "KVC.REVOKE %u %u", 1 + rnd(30),
			 1 + rnd(30));
		break;
	case 10:
		snprintf(line, cap, "KVC.EVICT %s %s %s%s", ns, bh(1 + rnd(30)),
			 bh(1 + rnd(30)), rnd(2) ? " AT 1 dram" : "");
		break;
	case 11:
		snprintf(line, cap, "KVC.DEL %s", rnd(5) ? "none" : ns);
		break;
	case 12:
		snprintf(line, cap, "KVC.PIN %s %u %s %s", ns, 1 + rnd(300),
			 bh(1 + rnd(30)), bh(1 + rnd(30)));
		break;
	case 13:
		snprintf(line, cap, "KVC.UNPIN %s %s", ns, bh(1 + rnd(30)));
		break;
	case 14:
		snprintf(line, cap, "SET k%u %u%s", rnd(15), rnd(3),
			 rnd(3) ? "" : " IFEQ 1");
		break;
	case 15:
		snprintf(line, cap, "MSET k%u x k%u %u", rnd(15), rnd(15),
			 rnd(9));
		break;
	case 16:
		gen_incr(line, cap);
		break;
	case 17:
		snprintf(line, cap, "DEL k%u k%u", rnd(15), rnd(15));
		break;
	case 18:
		snprintf(line, cap, "%s", rnd(2) ? "KVC.STATS" : "MGET k1 k2");
		break;
	default:
		/* Invalid on purpose. */
		snprintf(line, cap, "%s",
			 (const char *[]){"KVC.PUT x 12 - 1 1 hbm 0 1",
					  "KVC.ALLOC x 0", "INCR",
					  "KVC.PIN x 0",
					  "KVC.NODE.ADD 1 a 0 hbm 0"}[rnd(5)]);
	}
}

/* Every block in a lookup answer has its parent right before it. */
static void check_lookup(const char *line, const char *reply)
{
	if (strncmp(line, "KVC.LOOKUP", 10) != 0 || reply[0] != '*') {
		return;
	}
	unsigned prev = 0;
	const char *p = reply;
	/* Each block of the answer starts "*3\r\n$<len>\r\n<hash>"; bh()
	 * put b in the first (at most) 32 hex digits of every length. */
	while ((p = strstr(p + 1, "*3\r\n$")) != NULL) {
		char *end;
		unsigned long len = strtoul(p + 5, &end, 10);
		char hex[33];
		size_t n = len < 32 ? len : 32;
		memcpy(hex, end + 2, n);
		hex[n] = '\0';
		unsigned b = (unsigned)strtoul(hex, NULL, 16);
		if (parent_of(b) != prev) {
			fail_msg("lookup '%s' returned %u after %u: %s", line,
				 b, prev, reply);
		}
		prev = b;
	}
}

/*
 * Fill every block slot of @k with a namespace of its own and empty it again:
 * four entries that leave the logical state as it was, but the block free
 * list ascending (@ascending: freed last to first, so blocks are reused in
 * index order, as in a fresh instance) or descending (KVC.DEL frees first
 * to last).  Two replicas prepared the two ways store the same chains at
 * different indices, so lookups take different paths (the next index, or
 * the table) and must still answer alike.
 */
static void shuffle_free_list(struct kvc *k, bool ascending)
{
	static char line[8192];
	size_t n = (size_t)snprintf(line, sizeof(line), "KVC.PUT scramble");
	for (unsigned i = 0; i < small.blocks_max; i++) {
		n +=
		    (size_t)snprintf(line + n, sizeof(line) - n,
				     " %s - 16 9 dram %u 1", tk_h(1000 + i), i);
	}
	assert_string_equal(tk_run(k, 0, "KVC.NODE.ADD 9 s 0 dram 100000"),
			    "+OK\r\n");
	assert_string_equal(tk_run(k, 0, line), ":48\r\n");
	if (ascending) {
		n = (size_t)snprintf(line, sizeof(line), "KVC.EVICT scramble");
		for (unsigned i = small.blocks_max; i-- > 0;) {
			n += (size_t)snprintf(line + n, sizeof(line) - n, " %s",
					      tk_h(1000 + i));
		}
	} else {
		snprintf(line, sizeof(line), "KVC.DEL scramble");
	}
	assert_string_equal(tk_run(k, 0, line), ":48\r\n");
	assert_string_equal(tk_run(k, 0, "KVC.NODE.DEL 9"), ":1\r\n");
}

static void replicas_agree(void **state)
{
	(void)state;
	static char line[8192];
	static char ra[1 << 16];
	for (uint64_t seed = 1; seed <= 40; seed++) {
		rng = seed * 0x9e3779b97f4a7c15ull;
		struct kvc *a, *b, *c = NULL;
		assert_int_equal(kvc_open(&a, &small), 0);
		assert_int_equal(kvc_open(&b, &small), 0);
		uint64_t now = 0;
		const unsigned steps = 400;
		shuffle_free_list(a, true);
		shuffle_free_list(b, false);
		const char *pre[] = {"KVC.NODE.ADD 1 n1 0 hbm 2000 dram 4000",
				     "KVC.NODE.ADD 2 n2 1 dram 3000 LEASE 500"};
		for (unsigned i = 0; i < 2; i++) {
			assert_string_equal(tk_run(a, 0, pre[i]), "+OK\r\n");
			assert_string_equal(tk_run(b, 0, pre[i]), "+OK\r\n");
		}
		for (unsigned i = 0; i < steps; i++) {
			now += rnd(40);
			gen(line, sizeof(line));
			snprintf(ra, sizeof(ra), "%s", tk_run(a, now, line));
			check_lookup(line, ra);
			if (strcmp(ra, tk_run(b, now, line)) != 0) {
				fail_msg("seed %llu step %u: replies differ "
					 "for '%s'",
					 (unsigned long long)seed, i, line);
			}
			if (c != NULL &&
			    strcmp(ra, tk_run(c, now, line)) != 0) {
				fail_msg("seed %llu step %u: restored replica "
					 "answers '%s' differently",
					 (unsigned long long)seed, i, line);
			}
			if (i == steps / 2) {
				size_t len;
				unsigned char *s = tk_snapshot(a, &len);
				assert_int_equal(kvc_open(&c, &small), 0);
				assert_int_equal(tk_restore(c, s, len), 0);
				free(s);
				assert_true(kvc_digest(c) == kvc_digest(a));
			}
			tk_invariants(a);
			assert_true(kvc_digest(a) == kvc_digest(b));
		}
		if (kvc_digest(a) != kvc_digest(c)) {
			fail_msg("seed %llu: restored digest differs",
				 (unsigned long long)seed);
		}
		tk_invariants(c);
		kvc_close(a);
		kvc_close(b);
		kvc_close(c);
	}
}

/* A populated instance for the snapshot tests. */
static struct kvc *populated(uint64_t seed)
{
	static char line[8192];
	struct kvc *k;
	assert_int_equal(kvc_open(&k, &small), 0);
	tk_run(k, 1, "KVC.NODE.ADD 1 n1 0 hbm 5000 dram 9000");
	tk_run(k, 1, "KVC.NODE.ADD 2 n2 1 dram 9000 nvme 100000 LEASE 100000");
	rng = seed;
	for (unsigned i = 0; i < 200; i++) {
		gen(line, sizeof(line));
		tk_run(k, 10 + i, line);
	}
	return k;
}

static void snapshot_roundtrip_and_bounds(void **state)
{
	(void)state;
	struct kvc *a = populated(7);
	assert_non_null(strstr(tk_run(a, 300, "KVC.STATS"), "blocks\r\n:"));
	size_t len;
	unsigned char *s = tk_snapshot(a, &len);
	struct kvc *b;
	assert_int_equal(kvc_open(&b, &small), 0);
	tk_run(b, 5, "SET other state");
	assert_int_equal(tk_restore(b, s, len), 0);
	assert_true(kvc_digest(a) == kvc_digest(b));
	/* Saving the restored copy gives the same bytes. */
	size_t len2;
	unsigned char *s2 = tk_snapshot(b, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(s, s2, len);
	free(s2);
	/* Too small for it: refused, state unchanged. */
	struct kvc_options tiny = small;
	tiny.blocks_max = 2;
	struct kvc *t;
	assert_int_equal(kvc_open(&t, &tiny), 0);
	uint64_t d = kvc_digest(t);
	assert_int_equal(tk_restore(t, s, len), FR_NOSPACE);
	assert_true(kvc_digest(t) == d);
	kvc_close(t);
	/* Allocation failures while loading leave the state alone. */
	d = kvc_digest(b);
	for (int i = 0; i < 20; i++) {
		fr_heap_fault_config(i, 1);
		int rv = tk_restore(b, s, len);
		fr_heap_fault_config(-1, 0);
		assert_true(rv == FR_NOMEM || rv == 0);
		assert_true(kvc_digest(b) == d);
	}
	/* A failing writer stops the save with its error. */
	free(s);
	kvc_close(a);
	kvc_close(b);
}

static int fail_write(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return FR_IO;
}

static void snapshot_corruption_refused(void **state)
{
	(void)state;
	struct kvc *a = populated(11);
	assert_int_equal(kvc_snapshot_save(a, fail_write, NULL), FR_IO);
	size_t len;
	unsigned char *s = tk_snapshot(a, &len);
	struct kvc *b;
	assert_int_equal(kvc_open(&b, &small), 0);
	tk_run(b, 5, "SET mine 1");
	uint64_t d = kvc_digest(b);
	/* Every truncation and every single-byte flip is refused. */
	for (size_t cut = 0; cut < len; cut++) {
		assert_int_not_equal(tk_restore(b, s, cut), 0);
	}
	for (size_t i = 0; i < len; i++) {
		s[i] ^= 0x20;
		int rv = tk_restore(b, s, len);
		s[i] ^= 0x20;
		if (rv == 0) {
			fail_msg("flip at %zu accepted", i);
		}
	}
	assert_true(kvc_digest(b) == d);
	/* A future version is reported as such. */
	s[8] = 4;
	assert_int_equal(tk_restore(b, s, len), FR_UNSUPPORTED);
	s[8] = 3;
	/* Content changes behind a valid checksum: refused, or accepted only
	 * when the result is a consistent state. */
	unsigned char *m = malloc(len);
	assert_non_null(m);
	rng = 99;
	unsigned accepted = 0;
	for (unsigned i = 0; i < 3000; i++) {
		memcpy(m, s, len);
		size_t at = 16 + rnd((unsigned)(len - 16 - 12));
		m[at] = (unsigned char)(rnd(3) == 0 ? 0xff : rnd(256));
		uint32_t crc = fr_crc32c(0, m, len - 4);
		for (unsigned j = 0; j < 4; j++) {
			m[len - 4 + j] = (unsigned char)(crc >> (8 * j));
		}
		int rv = tk_restore(b, m, len);
		if (rv == 0) {
			accepted++;
			tk_invariants(b);
			tk_restore(b, s, len); /* back to a known state */
		} else {
			assert_true(rv == FR_CORRUPT || rv == FR_NOSPACE ||
				    rv == FR_IO);
		}
	}
	print_message("content mutations accepted as consistent: %u/3000\n",
		      accepted);
	free(m);
	free(s);
	kvc_close(a);
	kvc_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(replicas_agree),
	    cmocka_unit_test(snapshot_roundtrip_and_bounds),
	    cmocka_unit_test(snapshot_corruption_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
