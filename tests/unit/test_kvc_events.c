/* test_kvc_events.c — the KV event feed: KVC.EVENTS, KVC.SCAN, the ring in
 * snapshots, and the resync protocol (scan, then follow from its seq). */
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
#include "le.h"
#include "test_kvc_util.h"

/* ---- a small RESP reader: a reply as a tree ---- */

#define RV_POOL 65536

struct rv {
	char type;	   /* '+', '-', ':', '$' (nil: n = -1), '*' */
	int64_t i;	   /* ':' value */
	const char *s;	   /* '+', '-', '$': text (in the reply) */
	int64_t n;	   /* text bytes or elements */
	struct rv **elems; /* '*' elements */
};

static struct rv pool[RV_POOL];
static struct rv *ptrs[RV_POOL];
static size_t npool;
static size_t nptrs;

/* One value's header at *@p; an array's elements are left to the caller. */
static struct rv *parse_one(const char **p)
{
	assert_true(npool < RV_POOL);
	struct rv *v = &pool[npool++];
	memset(v, 0, sizeof(*v));
	v->type = **p;
	char *end;
	int64_t x = strtoll(*p + 1, &end, 10);
	const char *eol = strstr(*p, "\r\n");
	assert_non_null(eol);
	if (v->type == '+' || v->type == '-') {
		v->s = *p + 1;
		v->n = eol - (*p + 1);
		*p = eol + 2;
		return v;
	}
	*p = eol + 2;
	if (v->type == ':') {
		v->i = x;
	} else if (v->type == '$') {
		v->n = x;
		v->s = *p;
		*p += x >= 0 ? x + 2 : 0;
	} else {
		assert_int_equal(v->type, '*');
		v->n = x;
		assert_true(nptrs + (size_t)x <= RV_POOL);
		v->elems = &ptrs[nptrs];
		nptrs += (size_t)x;
	}
	return v;
}

#define DEPTH_MAX 16

/* A whole reply, arrays filled through an explicit stack. */
static struct rv *parse_reply(const char *reply)
{
	struct rv *stack[DEPTH_MAX];
	int64_t filled[DEPTH_MAX];
	int depth = 0;
	struct rv *root = NULL;
	npool = 0;
	nptrs = 0;
	do {
		struct rv *v = parse_one(&reply);
		if (depth == 0) {
			root = v;
		} else {
			stack[depth - 1]->elems[filled[depth - 1]++] = v;
		}
		if (v->type == '*' && v->n > 0) {
			assert_true(depth < DEPTH_MAX);
			stack[depth] = v;
			filled[depth++] = 0;
		}
		while (depth > 0 && filled[depth - 1] == stack[depth - 1]->n) {
			depth--;
		}
	} while (depth > 0);
	return root;
}

/* A value as text: numbers, strings, arrays as [a b ...]. */
static size_t flat(const struct rv *v, char *out, size_t cap)
{
	const struct rv *stack[DEPTH_MAX];
	int64_t next[DEPTH_MAX];
	int depth = 0;
	size_t n = 0;
	for (;;) {
		if (v != NULL && v->type == '*') {
			n += (size_t)snprintf(out + n, cap - n, "[");
			assert_true(depth < DEPTH_MAX);
			stack[depth] = v;
			next[depth++] = 0;
		} else if (v != NULL && v->type == ':') {
			n += (size_t)snprintf(out + n, cap - n, "%lld",
					      (long long)v->i);
		} else if (v != NULL) {
			n += (size_t)snprintf(out + n, cap - n, "%.*s",
					      (int)v->n, v->s);
		}
		assert_true(n < cap);
		v = NULL;
		if (depth == 0) {
			return n;
		}
		const struct rv *top = stack[depth - 1];
		if (next[depth - 1] < top->n) {
			if (next[depth - 1] > 0) {
				out[n++] = ' ';
			}
			v = top->elems[next[depth - 1]++];
		} else {
			n += (size_t)snprintf(out + n, cap - n, "]");
			depth--;
		}
	}
}

static int64_t num(const struct rv *v)
{
	if (v->type == ':') {
		return v->i;
	}
	assert_int_equal(v->type, '$');
	return strtoll(v->s, NULL, 10);
}

/* Event @seq without its seq and index, as text ("stored m ... -"). */
static const char *ev(struct kvc *k, uint64_t seq)
{
	static char out[1024];
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "KVC.EVENTS %llu COUNT 1",
		 (unsigned long long)seq);
	struct rv *v = parse_reply(tk_run(k, 0, cmd));
	assert_int_equal(v->type, '*');
	assert_int_equal(num(v->elems[0]), (int64_t)seq + 1);
	assert_int_equal(v->elems[1]->n, 1);
	struct rv *e = v->elems[1]->elems[0];
	assert_int_equal(num(e->elems[0]), (int64_t)seq);
	size_t n = 0;
	for (int64_t j = 2; j < e->n; j++) {
		n += flat(e->elems[j], out + n, sizeof(out) - n);
		out[n++] = j + 1 < e->n ? ' ' : '\0';
	}
	return out;
}

/* The next event seq (KVC.EVENTS 1 is RESYNC once 1 is gone: ask SCAN). */
static uint64_t next_seq(struct kvc *k)
{
	struct rv *v = parse_reply(tk_run(k, 0, "KVC.SCAN nosuchns 0"));
	return (uint64_t)num(v->elems[1]);
}

static struct kvc *open_k(uint32_t events_max)
{
	struct kvc *k;
	struct kvc_options o = {.blocks_max = 256,
				.nodes_max = 8,
				.namespaces_max = 8,
				.events_max = events_max};
	assert_int_equal(kvc_open(&k, &o), 0);
	return k;
}

static void blocks_and_nodes(void **state)
{
	(void)state;
	struct kvc *k = open_k(0);
	assert_string_equal(tk_run(k, 1,
				   "KVC.NODE.ADD 1 a1 0 hbm 1000 LEASE "
				   "100"),
			    "+OK\r\n");
	assert_string_equal(ev(k, 1), "node_joined 1 a1");
	tk_run(k, 2, "KVC.NODE.ADD 2 a2 0 hbm 1000 dram 1000");
	assert_string_equal(ev(k, 2), "node_joined 2 a2");
	tk_runf(k, 3, "KVC.PUT m %s - 16 1 hbm 0 10", tk_h(1));
	assert_string_equal(ev(k, 3),
			    "stored m 00000000000000000000000000000001"
			    " 1 hbm 0 10 16 -");
	tk_runf(k, 4, "KVC.PUT m %s %s 8 2 dram 5 7", tk_h(2), tk_h(1));
	assert_string_equal(ev(k, 4),
			    "stored m 00000000000000000000000000000002"
			    " 2 dram 5 7 8 "
			    "00000000000000000000000000000001");
	/* Re-putting the same location is no event; moving it is one. */
	tk_runf(k, 5, "KVC.PUT m %s - 16 1 hbm 0 10", tk_h(1));
	assert_int_equal(next_seq(k), 5);
	tk_runf(k, 6, "KVC.PUT m %s - 16 1 hbm 20 10", tk_h(1));
	assert_string_equal(ev(k, 5),
			    "stored m 00000000000000000000000000000001"
			    " 1 hbm 20 10 16 -");
	/* EVICT: one event per location removed. */
	tk_runf(k, 7, "KVC.PUT m %s %s 8 1 hbm 100 7", tk_h(2), tk_h(1));
	assert_int_equal(next_seq(k), 7);
	tk_runf(k, 8, "KVC.EVICT m %s AT 2 dram", tk_h(2));
	assert_string_equal(ev(k, 7),
			    "evicted m 00000000000000000000000000000002"
			    " 2 dram");
	tk_runf(k, 9, "KVC.PUT m %s %s 8 2 dram 5 7", tk_h(2), tk_h(1));
	tk_runf(k, 10, "KVC.EVICT m %s", tk_h(2));
	assert_string_equal(ev(k, 9),
			    "evicted m 00000000000000000000000000000002"
			    " 1 hbm");
	assert_string_equal(ev(k, 10),
			    "evicted m 00000000000000000000000000000002"
			    " 2 dram");
	/* Node 1's lease (until 101) runs out: found by the next entry, before
	 * its own events. */
	tk_run(k, 200, "KVC.NODE.HEARTBEAT 1000 2");
	assert_string_equal(ev(k, 11), "node_expired 1");
	assert_int_equal(next_seq(k), 12);
	tk_run(k, 201, "KVC.NODE.HEARTBEAT 1000 1");
	assert_string_equal(ev(k, 12), "node_joined 1 a1");
	tk_runf(k, 202, "KVC.PUT m %s - 16 2 hbm 0 10", tk_h(3));
	tk_run(k, 203, "KVC.DEL m");
	assert_string_equal(ev(k, 14), "ns_cleared m");
	tk_run(k, 204, "KVC.NODE.DEL 2");
	assert_string_equal(ev(k, 15), "node_left 2");
	assert_int_equal(next_seq(k), 16);
	tk_invariants(k);
	kvc_close(k);
}

static void reservations(void **state)
{
	(void)state;
	struct kvc *k = open_k(0);
	tk_run(k, 1, "KVC.NODE.ADD 3 a3 0 hbm 20");
	tk_runf(k, 2, "KVC.PUT m %s - 16 3 hbm 0 20", tk_h(1));
	/* ALLOC's victim is an eviction. */
	struct rv *v = parse_reply(tk_run(k, 3, "KVC.ALLOC m 10 LEASE 50"));
	assert_int_equal(v->type, '*');
	assert_string_equal(ev(k, 3),
			    "evicted m 00000000000000000000000000000001"
			    " 3 hbm");
	tk_run(k, 4, "KVC.REVOKE 1");
	assert_string_equal(ev(k, 4), "revoked 1 m 3 hbm 10");
	tk_run(k, 5, "KVC.ALLOC m 10 LEASE 50");
	tk_run(k, 100, "SET x y"); /* rid 2 expired at 55 */
	assert_string_equal(ev(k, 5), "revoked 2 m 3 hbm 10");
	/* A committed reservation is a stored block, not a revocation. */
	tk_run(k, 101, "KVC.ALLOC m 10 LEASE 50");
	tk_runf(k, 102, "KVC.PUT m RES 3 %s - 4 0", tk_h(2));
	assert_string_equal(ev(k, 6),
			    "stored m 00000000000000000000000000000002"
			    " 3 hbm 0 10 4 -");
	assert_int_equal(next_seq(k), 7);
	kvc_close(k);
}

/* Hashes of 1..32 bytes travel through events, SCAN and snapshots as
 * their own bytes: i:5 is 8 bytes, 05 one. */
static void short_and_long_hashes(void **state)
{
	(void)state;
	struct kvc *k = open_k(0);
	tk_run(k, 1, "KVC.NODE.ADD 1 a1 0 hbm 1000");
	tk_run(k, 2, "KVC.PUT m i:5 - 4 1 hbm 0 1 05 i:5 4 1 hbm 1 1");
	const char *want[] = {"stored m 0000000000000005 1 hbm 0 1 4 -",
			      "stored m 05 1 hbm 1 1 4 0000000000000005"};
	const char *a = ev(k, 2);
	char first[256];
	snprintf(first, sizeof(first), "%s", a);
	const char *b = ev(k, 3);
	assert_true((strcmp(first, want[0]) == 0 && strcmp(b, want[1]) == 0) ||
		    (strcmp(first, want[1]) == 0 && strcmp(b, want[0]) == 0));
	char h32[80];
	snprintf(h32, sizeof(h32), "%s%s", tk_h(7), tk_h(8));
	tk_runf(k, 3, "KVC.PUT m %s 05 4 1 hbm 2 1", h32);
	tk_runf(k, 4, "KVC.EVICT m %s", h32);
	char w[256];
	snprintf(w, sizeof(w), "evicted m %s 1 hbm", h32);
	assert_string_equal(ev(k, 5), w);
	size_t len;
	unsigned char *snap = tk_snapshot(k, &len);
	struct kvc *c = open_k(0);
	assert_int_equal(tk_restore(c, snap, len), 0);
	char all[4096];
	snprintf(all, sizeof(all), "%s", tk_run(k, 0, "KVC.EVENTS 1"));
	assert_string_equal(tk_run(c, 0, "KVC.EVENTS 1"), all);
	snprintf(all, sizeof(all), "%s", tk_run(k, 0, "KVC.SCAN m 0"));
	assert_string_equal(tk_run(c, 0, "KVC.SCAN m 0"), all);
	free(snap);
	kvc_close(c);
	kvc_close(k);
}

/* Run @line through kvc_apply_at() at log index @index. */
static void apply_at(struct kvc *k, uint64_t index, const char *line)
{
	struct kvc_arg argv[64];
	uint32_t argc = tk_split(line, argv, 64);
	struct kvc_reply e = {0};
	struct kvc_reply r = {0};
	assert_int_equal(kvc_command_encode(index, argc, argv, &e), 0);
	assert_int_equal(kvc_apply_at(k, index, e.buf, e.len, &r), 0);
	kvc_reply_free(&e);
	kvc_reply_free(&r);
}

static void seq_and_index(void **state)
{
	(void)state;
	struct kvc *k = open_k(0);
	apply_at(k, 10, "KVC.NODE.ADD 1 a1 0 hbm 1000");
	apply_at(k, 12, "SET a b");
	char line[256];
	snprintf(line, sizeof(line),
		 "KVC.PUT m %s - 1 1 hbm 0 1 %s - 1 1 hbm 1 1", tk_h(1),
		 tk_h(2));
	apply_at(k, 13, line);
	apply_at(k, 20, "KVC.NODE.DEL 1");
	struct rv *v = parse_reply(tk_run(k, 0, "KVC.EVENTS 1"));
	assert_int_equal(num(v->elems[0]), 5);
	assert_int_equal(v->elems[1]->n, 4);
	const int64_t idx[] = {10, 13, 13, 20};
	for (int j = 0; j < 4; j++) {
		struct rv *e = v->elems[1]->elems[j];
		assert_int_equal(num(e->elems[0]), j + 1); /* seq */
		assert_int_equal(num(e->elems[1]), idx[j]);
	}
	kvc_close(k);
}

static void ring_and_errors(void **state)
{
	(void)state;
	struct kvc *k = open_k(4);
	for (unsigned i = 1; i <= 10; i++) {
		tk_runf(k, i, "KVC.NODE.ADD %u a 0 hbm 1", i % 4 + 1);
		tk_runf(k, i, "KVC.NODE.DEL %u", i % 4 + 1);
	}
	/* 20 events, 4 kept: 17..20. */
	assert_string_equal(
	    tk_run(k, 0, "KVC.EVENTS 16"),
	    "-RESYNC oldest kept seq is 17; list the state with "
	    "KVC.SCAN and follow from the seq it returns\r\n");
	struct rv *v = parse_reply(tk_run(k, 0, "KVC.EVENTS 17"));
	assert_int_equal(num(v->elems[0]), 21);
	assert_int_equal(v->elems[1]->n, 4);
	v = parse_reply(tk_run(k, 0, "KVC.EVENTS 17 COUNT 2"));
	assert_int_equal(num(v->elems[0]), 19);
	assert_int_equal(v->elems[1]->n, 2);
	assert_string_equal(tk_run(k, 0, "KVC.EVENTS 21"),
			    "*2\r\n:21\r\n*0\r\n");
	assert_string_equal(tk_run(k, 0, "KVC.EVENTS 22"),
			    "-ERR from_seq is beyond the next seq 21\r\n");
	static const char *const bad[][2] = {
	    {"KVC.EVENTS", "-ERR wrong number"},
	    {"KVC.EVENTS 0", "-ERR from_seq must be"},
	    {"KVC.EVENTS -1", "-ERR from_seq must be"},
	    {"KVC.EVENTS x", "-ERR from_seq must be"},
	    {"KVC.EVENTS 17 COUNT", "-ERR wrong number"},
	    {"KVC.EVENTS 17 COUNT 0", "-ERR COUNT must be 1..4096"},
	    {"KVC.EVENTS 17 COUNT 4097", "-ERR COUNT must be 1..4096"},
	    {"KVC.EVENTS 17 LIMIT 3", "-ERR unknown option 'limit'"},
	    {"KVC.EVENTS 17 BLOCK 60001", "-ERR BLOCK must be 0..60000"},
	    {"KVC.EVENTS 17 BLOCK 100", "-ERR KVC.EVENTS BLOCK is not impl"},
	    {"KVC.SCAN * 0 COUNT 0", "-ERR COUNT must be 1..4096"},
	    {"KVC.SCAN * 0 COUNT 4097", "-ERR COUNT must be 1..4096"},
	    {"KVC.SCAN * 512", "-ERR invalid cursor"},
	    {"KVC.SCAN * x", "-ERR invalid cursor"},
	    {"KVC.SCAN * 0 MATCH 1", "-ERR unknown option 'match'"},
	    {"KVC.SCAN *", "-ERR wrong number"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *r = tk_run(k, 0, bad[i][0]);
		if (strncmp(r, bad[i][1], strlen(bad[i][1])) != 0) {
			fail_msg("%s: %s", bad[i][0], r);
		}
	}
	/* A reply bound smaller than COUNT events shortens the page. */
	struct kvc_arg argv[4];
	uint32_t argc = tk_split("KVC.EVENTS 17 COUNT 4", argv, 4);
	struct kvc_reply r = {.max = 700};
	assert_int_equal(kvc_read(k, argc, argv, &r), 0);
	assert_memory_equal(r.buf, "*2\r\n:18\r\n*1\r\n", 13);
	kvc_reply_free(&r);
	kvc_close(k);
}

static void make_events(struct kvc *k, unsigned n)
{
	tk_run(k, 1, "KVC.NODE.ADD 1 a1 0 hbm 100000");
	for (unsigned i = 1; i <= n; i++) {
		tk_runf(k, 1 + i, "KVC.PUT ns%u %s - %u 1 hbm %u 10", i % 3,
			tk_h(i), i, i * 10);
		if (i % 4 == 0) {
			tk_runf(k, 1 + i, "KVC.EVICT ns%u %s", (i - 1) % 3,
				tk_h(i - 1));
		}
	}
}

static void snapshot_keeps_feed(void **state)
{
	(void)state;
	struct kvc *a = open_k(64);
	make_events(a, 40);
	size_t len;
	unsigned char *snap = tk_snapshot(a, &len);
	struct kvc *b = open_k(64);
	assert_int_equal(tk_restore(b, snap, len), 0);
	char ra[65536];
	snprintf(ra, sizeof(ra), "%s", tk_run(a, 0, "KVC.EVENTS 1 COUNT 4096"));
	assert_string_equal(tk_run(b, 0, "KVC.EVENTS 1 COUNT 4096"), ra);
	assert_int_equal(kvc_digest(a), kvc_digest(b));
	/* Both go on numbering alike, at the same log indices. */
	tk_runf(a, 100, "KVC.EVICT ns1 %s", tk_h(1));
	tk_runf(b, 100, "KVC.EVICT ns1 %s", tk_h(1));
	snprintf(ra, sizeof(ra), "%s", tk_run(a, 0, "KVC.EVENTS 40"));
	assert_string_equal(tk_run(b, 0, "KVC.EVENTS 40"), ra);
	/* Fewer kept by the loader: the newest, the rest is RESYNC. */
	struct kvc *c = open_k(8);
	assert_int_equal(tk_restore(c, snap, len), 0);
	assert_int_equal(next_seq(c), 52); /* 1 + 40 stored + 10 evicted */
	assert_string_equal(
	    tk_run(c, 0, "KVC.EVENTS 43"),
	    "-RESYNC oldest kept seq is 44; list the state with "
	    "KVC.SCAN and follow from the seq it returns\r\n");
	snprintf(ra, sizeof(ra), "%s", tk_run(a, 0, "KVC.EVENTS 44 COUNT 8"));
	assert_string_equal(tk_run(c, 0, "KVC.EVENTS 44 COUNT 8"), ra);
	/* A damaged event behind a valid checksum is refused, the target
	 * unchanged: the last record (evicted, namespace "ns0") gets type 9,
	 * then tier 4. */
	uint64_t d = kvc_digest(c);
	/* END and crc; "ns0" and its length; no parent; a 16-byte hash;
	 * the 32 fixed bytes. */
	size_t rec = len - 12 - 4 - 1 - 17 - 32;
	assert_int_equal(snap[rec + 8], 2); /* evicted */
	assert_int_equal(snap[rec + 9], 0); /* hbm */
	assert_int_equal(snap[rec + 32], 16);
	assert_memory_equal(snap + len - 15, "ns0", 3);
	/* type 9, tier 4, a text longer than the record holds (200) */
	const uint8_t bad[][2] = {{8, 9}, {9, 4}, {32 + 17 + 1, 200}};
	assert_int_equal(snap[rec + 32 + 17 + 1], 3);
	for (size_t i = 0; i < 3; i++) {
		uint8_t keep = snap[rec + bad[i][0]];
		snap[rec + bad[i][0]] = bad[i][1];
		le_put_u32(snap + len - 4, fr_crc32c(0, snap, len - 4));
		assert_int_equal(tk_restore(c, snap, len), FR_CORRUPT);
		snap[rec + bad[i][0]] = keep;
	}
	le_put_u32(snap + len - 4, fr_crc32c(0, snap, len - 4));
	assert_int_equal(tk_restore(c, snap, len), 0);
	assert_true(kvc_digest(c) == d);
	free(snap);
	kvc_close(a);
	kvc_close(b);
	kvc_close(c);
}

static unsigned char *put_str(unsigned char *p, const char *s)
{
	while (*s != '\0') {
		*p++ = (unsigned char)*s++;
	}
	return p;
}

/* A version-1 snapshot (before the feed), built by hand: one node, one
 * namespace, one block on it, one KV pair. */
static size_t v1_snapshot(unsigned char *buf)
{
	unsigned char *p = buf;
	p = put_str(p, "KVCSNAP1");
	p = le_put_uint(p, 1, 4);
	p = le_put_uint(p, 0, 4);
	p = le_put_uint(p, 500, 8); /* now_ms */
	p = le_put_uint(p, 1, 8);   /* next_rid */
	p = le_put_uint(p, 7, 8);   /* applied */
	p = le_put_uint(p, 1, 4);   /* nodes */
	p = le_put_uint(p, 4, 2);
	p = le_put_uint(p, 0, 1);
	p = le_put_uint(p, 0, 1);
	p = le_put_uint(p, 0, 8);
	p = le_put_uint(p, 2, 1);
	p = put_str(p, "n4");
	for (unsigned t = 0; t < 4; t++) {
		p = le_put_uint(p, t == 0, 1);
		p = le_put_uint(p, t == 0 ? 1000 : 0, 8);
	}
	p = le_put_uint(p, 1, 4); /* namespaces */
	p = le_put_uint(p, 1, 1);
	*p++ = 'm';
	p = le_put_uint(p, 1, 4); /* blocks */
	p = le_put_uint(p, 0, 4); /* namespace ordinal: m */
	memset(p, 0, 32);
	p[15] = 9;
	p = le_put_uint(p + 32, 16, 4);
	p = le_put_uint(p, 400, 8);
	p = le_put_uint(p, 0, 4);
	p = le_put_uint(p, 0, 8);
	p = le_put_uint(p, 1, 4); /* node 4's hbm: one location */
	p = le_put_uint(p, 0, 4);
	p = le_put_uint(p, 64, 8);
	p = le_put_uint(p, 32, 4);
	p = le_put_uint(p, 0, 4); /* reservations */
	p = le_put_uint(p, 0, 4); /* kv */
	p = put_str(p, "KVCEND!!");
	p = le_put_uint(p, fr_crc32c(0, buf, (size_t)(p - buf)), 4);
	return (size_t)(p - buf);
}

static void old_snapshot(void **state)
{
	(void)state;
	unsigned char buf[512];
	size_t len = v1_snapshot(buf);
	struct kvc *k = open_k(0);
	tk_run(k, 1, "KVC.NODE.ADD 1 a 0 hbm 1"); /* replaced by the load */
	assert_int_equal(tk_restore(k, buf, len), 0);
	tk_invariants(k);
	assert_string_equal(tk_run(k, 0, "KVC.EVENTS 1"), "*2\r\n:1\r\n*0\r\n");
	struct rv *v = parse_reply(tk_run(k, 0, "KVC.SCAN * 0"));
	char out[512];
	flat(v, out, sizeof(out));
	assert_string_equal(out, "[0 1 [[m 00000000000000000000000000000009 - "
				 "16 [[4 n4 hbm 64 32]]]]]");
	tk_runf(k, 600, "KVC.EVICT m %s", tk_h(9));
	assert_string_equal(ev(k, 1),
			    "evicted m 00000000000000000000000000000009"
			    " 4 hbm");
	kvc_close(k);
}

/* ---- KVC.SCAN ---- */

/* Times each of @nblocks blocks was listed by one full scan of @ns, with
 * @between(k, page) run between pages. */
static void scan_all(struct kvc *k, const char *ns, unsigned count,
		     unsigned *seen, unsigned nblocks,
		     void (*between)(struct kvc *k, unsigned page))
{
	uint64_t cursor = 0;
	unsigned page = 0;
	do {
		char cmd[96];
		snprintf(cmd, sizeof(cmd), "KVC.SCAN %s %llu COUNT %u", ns,
			 (unsigned long long)cursor, count);
		struct rv *v = parse_reply(tk_run(k, 0, cmd));
		assert_int_equal(v->type, '*');
		cursor = (uint64_t)num(v->elems[0]);
		struct rv *blocks = v->elems[2];
		assert_true(blocks->n <= count + 8); /* a bucket's blocks */
		for (int64_t j = 0; j < blocks->n; j++) {
			struct rv *b = blocks->elems[j];
			unsigned id =
			    (unsigned)strtoul(b->elems[1]->s, NULL, 16);
			assert_true(id < nblocks);
			seen[id]++;
			if (strcmp(ns, "*") != 0) {
				assert_memory_equal(b->elems[0]->s, ns,
						    strlen(ns));
			}
		}
		if (between != NULL) {
			between(k, page);
		}
		page++;
	} while (cursor != 0);
}

/* Blocks 1..149 stay; 150..299 come and go between pages. */
static void churn(struct kvc *k, unsigned page)
{
	unsigned add = 150 + 2 * page;
	tk_runf(k, 10, "KVC.PUT a %s - 1 1 hbm 0 1", tk_h(add % 150 + 150));
	tk_runf(k, 10, "KVC.EVICT a %s", tk_h((add + 77) % 150 + 150));
}

static void scan_stable(void **state)
{
	(void)state;
	struct kvc *k = open_k(0);
	tk_run(k, 1, "KVC.NODE.ADD 1 a1 0 hbm 100000");
	for (unsigned i = 1; i < 300; i++) {
		tk_runf(k, 2, "KVC.PUT %s %s - 1 1 hbm 0 1",
			i % 5 != 0 || i >= 150 ? "a" : "b", tk_h(i));
	}
	unsigned seen[300] = {0};
	scan_all(k, "*", 7, seen, 300, churn);
	for (unsigned i = 1; i < 300; i++) {
		if (i < 150 && seen[i] != 1) {
			fail_msg("stable block %u listed %u times", i, seen[i]);
		}
		if (seen[i] > 1) {
			fail_msg("block %u listed %u times", i, seen[i]);
		}
	}
	memset(seen, 0, sizeof(seen));
	scan_all(k, "b", 3, seen, 300, NULL);
	for (unsigned i = 1; i < 150; i++) {
		assert_int_equal(seen[i], i % 5 == 0);
	}
	assert_memory_equal(tk_run(k, 0, "KVC.SCAN nosuch 0"),
			    "*3\r\n:0\r\n:", 9);
	kvc_close(k);
}

/* ---- the resync protocol: scan, then follow from the first page's seq ---- */

struct mloc {
	unsigned node;	/* node id */
	char tier[8];	/* tier name */
	char where[48]; /* "offset len" */
};

struct mblk {
	char key[96];	     /* "ns hash" */
	char ns[16];	     /* namespace */
	char attrs[64];	     /* "parent tokens" */
	struct mloc loc[16]; /* its locations */
	unsigned nloc;	     /* 0 = no block */
};

#define MODEL_MAX 512
static struct mblk model[MODEL_MAX];

static struct mblk *m_get(const struct rv *ns, const struct rv *hash)
{
	char key[96];
	snprintf(key, sizeof(key), "%.*s %.*s", (int)ns->n, ns->s, (int)hash->n,
		 hash->s);
	struct mblk *free_one = NULL;
	for (unsigned i = 0; i < MODEL_MAX; i++) {
		if (model[i].nloc > 0 && strcmp(model[i].key, key) == 0) {
			return &model[i];
		}
		if (model[i].nloc == 0 && free_one == NULL) {
			free_one = &model[i];
		}
	}
	assert_non_null(free_one);
	memset(free_one, 0, sizeof(*free_one));
	snprintf(free_one->key, sizeof(free_one->key), "%s", key);
	snprintf(free_one->ns, sizeof(free_one->ns), "%.*s", (int)ns->n, ns->s);
	return free_one;
}

/* Set (or, with @where NULL, remove) @b's location on (node, tier). */
static void m_loc(struct mblk *b, unsigned node, const struct rv *tier,
		  const char *where)
{
	for (unsigned i = 0; i < b->nloc; i++) {
		struct mloc *l = &b->loc[i];
		if (l->node == node && strlen(l->tier) == (size_t)tier->n &&
		    memcmp(l->tier, tier->s, (size_t)tier->n) == 0) {
			if (where != NULL) {
				snprintf(l->where, sizeof(l->where), "%s",
					 where);
			} else {
				b->loc[i] = b->loc[--b->nloc];
			}
			return;
		}
	}
	if (where != NULL) {
		assert_true(b->nloc < 16);
		struct mloc *l = &b->loc[b->nloc++];
		l->node = node;
		snprintf(l->tier, sizeof(l->tier), "%.*s", (int)tier->n,
			 tier->s);
		snprintf(l->where, sizeof(l->where), "%s", where);
	}
}

/* A KVC.SCAN block [ns, hash, parent, tokens, [[node, addr, tier, offset,
 * len], ...]] into the model. */
static void m_scan_block(const struct rv *b)
{
	struct mblk *m = m_get(b->elems[0], b->elems[1]);
	snprintf(m->attrs, sizeof(m->attrs), "%.*s %lld", (int)b->elems[2]->n,
		 b->elems[2]->s, (long long)num(b->elems[3]));
	const struct rv *locs = b->elems[4];
	for (int64_t j = 0; j < locs->n; j++) {
		const struct rv *l = locs->elems[j];
		char where[48];
		snprintf(where, sizeof(where), "%lld %lld",
			 (long long)num(l->elems[3]),
			 (long long)num(l->elems[4]));
		m_loc(m, (unsigned)num(l->elems[0]), l->elems[2], where);
	}
}

static void m_drop(bool (*gone)(const struct mblk *b, const struct mloc *l,
				const struct rv *arg),
		   const struct rv *arg)
{
	for (unsigned i = 0; i < MODEL_MAX; i++) {
		struct mblk *b = &model[i];
		for (unsigned j = b->nloc; j-- > 0;) {
			if (gone(b, &b->loc[j], arg)) {
				b->loc[j] = b->loc[--b->nloc];
			}
		}
	}
}

static bool on_node(const struct mblk *b, const struct mloc *l,
		    const struct rv *arg)
{
	(void)b;
	return l->node == (unsigned)num(arg);
}

static bool in_ns(const struct mblk *b, const struct mloc *l,
		  const struct rv *arg)
{
	(void)l;
	return strlen(b->ns) == (size_t)arg->n &&
	       memcmp(b->ns, arg->s, (size_t)arg->n) == 0;
}

/* One event [seq, index, type, fields...] into the model. */
static void m_event(const struct rv *e)
{
	const struct rv *t = e->elems[2];
	const struct rv *const *f = (const struct rv *const *)e->elems + 3;
	if (t->n == 6 && memcmp(t->s, "stored", 6) == 0) {
		struct mblk *m = m_get(f[0], f[1]);
		char where[48];
		snprintf(m->attrs, sizeof(m->attrs), "%.*s %lld", (int)f[7]->n,
			 f[7]->s, (long long)num(f[6]));
		snprintf(where, sizeof(where), "%lld %lld",
			 (long long)num(f[4]), (long long)num(f[5]));
		m_loc(m, (unsigned)num(f[2]), f[3], where);
	} else if (t->n == 7 && memcmp(t->s, "evicted", 7) == 0) {
		m_loc(m_get(f[0], f[1]), (unsigned)num(f[2]), f[3], NULL);
	} else if ((t->n == 9 && memcmp(t->s, "node_left", 9) == 0) ||
		   (t->n == 12 && memcmp(t->s, "node_expired", 12) == 0)) {
		m_drop(on_node, f[0]);
	} else if (t->n == 10 && memcmp(t->s, "ns_cleared", 10) == 0) {
		m_drop(in_ns, f[0]);
	}
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The model as sorted lines "ns hash parent tokens node tier off len". */
static char *m_dump(void)
{
	static char lines[MODEL_MAX * 16][240];
	static char *sorted[MODEL_MAX * 16];
	size_t n = 0;
	for (unsigned i = 0; i < MODEL_MAX; i++) {
		for (unsigned j = 0; j < model[i].nloc; j++) {
			const struct mloc *l = &model[i].loc[j];
			snprintf(lines[n], sizeof(lines[n]),
				 "%.95s %.63s %u %.7s %.47s", model[i].key,
				 model[i].attrs, l->node, l->tier, l->where);
			sorted[n] = lines[n];
			n++;
		}
	}
	qsort(sorted, n, sizeof(sorted[0]), str_cmp);
	size_t cap = n * 241 + 1;
	char *out = calloc(1, cap);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		len +=
		    (size_t)snprintf(out + len, cap - len, "%s\n", sorted[i]);
	}
	return out;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (unsigned)((rng * 2685821657736338717ull) >> 33) % n;
}

static uint64_t now = 10;

/* A few random writes: PUT, EVICT (whole or AT), node churn, KVC.DEL. */
static void random_writes(struct kvc *k, unsigned n)
{
	static const char *const tiers[] = {"hbm", "dram"};
	for (unsigned i = 0; i < n; i++) {
		unsigned c = rnd(40);
		unsigned b = 1 + rnd(60);
		unsigned ns = rnd(3);
		now += 1 + rnd(5);
		if (c < 24) {
			tk_runf(k, now, "KVC.PUT ns%u %s %s %u %u %s %u %u", ns,
				tk_h(b), b % 6 == 1 ? "-" : tk_h(b - 1), b,
				1 + rnd(3), tiers[rnd(2)], rnd(100),
				1 + rnd(50));
		} else if (c < 32) {
			tk_runf(k, now, "KVC.EVICT ns%u %s", ns, tk_h(b));
		} else if (c < 37) {
			tk_runf(k, now, "KVC.EVICT ns%u %s %s AT %u %s", ns,
				tk_h(b), tk_h(b + 1), 1 + rnd(3),
				tiers[rnd(2)]);
		} else if (c == 37) {
			unsigned id = 1 + rnd(3);
			tk_runf(k, now, "KVC.NODE.DEL %u", id);
			tk_runf(k, now,
				"KVC.NODE.ADD %u a%u 0 hbm 100000 dram "
				"100000%s",
				id, id, id == 3 ? " LEASE 200" : "");
		} else if (c == 38) {
			tk_runf(k, now, "KVC.NODE.HEARTBEAT 200 3");
		} else {
			tk_runf(k, now, "KVC.DEL ns%u", ns);
		}
	}
}

/* Scan every page of the state into the model (empty first), with
 * random writes between pages; returns the first page's seq. */
static uint64_t scan_into_model(struct kvc *k, unsigned churn_writes)
{
	memset(model, 0, sizeof(model));
	uint64_t cursor = 0;
	uint64_t seq0 = 0;
	do {
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "KVC.SCAN * %llu COUNT 5",
			 (unsigned long long)cursor);
		struct rv *v = parse_reply(tk_run(k, 0, cmd));
		cursor = (uint64_t)num(v->elems[0]);
		if (seq0 == 0) {
			seq0 = (uint64_t)num(v->elems[1]);
		}
		for (int64_t j = 0; j < v->elems[2]->n; j++) {
			m_scan_block(v->elems[2]->elems[j]);
		}
		random_writes(k, churn_writes);
	} while (cursor != 0);
	return seq0;
}

static void resync_protocol(void **state)
{
	(void)state;
	for (unsigned round = 0; round < 20; round++) {
		struct kvc *k = open_k(0);
		for (unsigned id = 1; id <= 3; id++) {
			tk_runf(k, now,
				"KVC.NODE.ADD %u a%u 0 hbm 100000 dram "
				"100000%s",
				id, id, id == 3 ? " LEASE 200" : "");
		}
		random_writes(k, 100 + rnd(200));
		uint64_t from = scan_into_model(k, rnd(4));
		/* Follow the feed, with writes in between, to its end. */
		for (unsigned steps = 0;; steps++) {
			char cmd[64];
			snprintf(cmd, sizeof(cmd), "KVC.EVENTS %llu COUNT %u",
				 (unsigned long long)from, 1 + rnd(40));
			struct rv *v = parse_reply(tk_run(k, 0, cmd));
			assert_int_equal(v->type, '*');
			for (int64_t j = 0; j < v->elems[1]->n; j++) {
				struct rv *e = v->elems[1]->elems[j];
				assert_int_equal(num(e->elems[0]), from + j);
				m_event(e);
			}
			from = (uint64_t)num(v->elems[0]);
			if (steps < 30) {
				random_writes(k, rnd(5));
			} else if (v->elems[1]->n == 0) {
				break;
			}
		}
		char *followed = m_dump();
		(void)scan_into_model(k, 0);
		char *listed = m_dump();
		assert_string_equal(followed, listed);
		free(followed);
		free(listed);
		tk_invariants(k);
		kvc_close(k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(blocks_and_nodes),
	    cmocka_unit_test(reservations),
	    cmocka_unit_test(short_and_long_hashes),
	    cmocka_unit_test(seq_and_index),
	    cmocka_unit_test(ring_and_errors),
	    cmocka_unit_test(snapshot_keeps_feed),
	    cmocka_unit_test(old_snapshot),
	    cmocka_unit_test(scan_stable),
	    cmocka_unit_test(resync_protocol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
