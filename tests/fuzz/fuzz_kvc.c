/* fuzz_kvc.c — libFuzzer: arbitrary bytes as a log entry, as a command
 * (split on spaces), as the numbers of KVC.EVENTS and KVC.SCAN, as a
 * snapshot stream and as a transaction; the state machine must never crash
 * and must keep its invariants. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "heap.h"
#include "kvc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kvc *k;

/* A small state with nodes and blocks (hashes of 1, 8, 16 and 32 bytes:
 * snapshot edits reach long-hash records), built once. */
static void setup(void)
{
	static const char *const init[] = {
	    "KVC.NODE.ADD 1 a:1 0 hbm 100000 dram 1000000",
	    "KVC.NODE.ADD 2 b:1 1 dram 1000000 LEASE 100",
	    "KVC.PUT m 00000000000000000000000000000001 - 16 1 hbm 0 10 "
	    "00000000000000000000000000000002 00000000000000000000000000000001 "
	    "16 2 dram 0 10",
	    "KVC.PUT n 01 - 1 1 hbm 10 10 i:-2 01 2 1 hbm 20 10 "
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
	    "i:-2 3 2 dram 10 10",
	    "KVC.ALLOC m 100 NEAR 1",
	    "SET a 1",
	};
	struct kvc_options o = {.blocks_max = 64,
				.locations_max = 64,
				.nodes_max = 4,
				.namespaces_max = 4,
				.reservations_max = 8,
				.kv_keys_max = 16,
				.long_hashes_max = 4,
				.events_max = 8};
	if (kvc_open(&k, &o) != 0) {
		abort();
	}
	for (size_t i = 0; i < sizeof(init) / sizeof(init[0]); i++) {
		char line[512];
		struct kvc_arg a[32];
		uint32_t n = 0;
		snprintf(line, sizeof(line), "%s", init[i]);
		for (char *w = strtok(line, " "); w; w = strtok(NULL, " ")) {
			a[n++] = (struct kvc_arg){w, strlen(w)};
		}
		struct kvc_reply e = {0};
		struct kvc_reply r = {0};
		if (kvc_command_encode(10, n, a, &e) != 0 ||
		    kvc_apply(k, e.buf, e.len, &r) != 0 || r.buf[0] == '-') {
			abort();
		}
		kvc_reply_free(&e);
		kvc_reply_free(&r);
	}
}

struct src {
	const uint8_t *p;
	size_t len;
};

static int src_read(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;
	if (s->len < len) {
		return 1;
	}
	memcpy(buf, s->p, len);
	s->p += len;
	s->len -= len;
	return 0;
}

static void check_one(struct kvc *x)
{
	char msg[256];
	if (kvc_check_invariants(x, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "invariant: %s\n", msg);
		abort();
	}
}

static void check(void)
{
	check_one(k);
}

struct sink {
	uint8_t *p;
	size_t len;
};

static int sink_write(void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;
	uint8_t *p = realloc(s->p, s->len + len);
	if (p == NULL) {
		return 1;
	}
	memcpy(p + s->len, buf, len);
	s->p = p;
	s->len += len;
	return 0;
}

/* Structure-aware: edit a real snapshot of k at the offsets the input
 * names (u16 offset, u8 value triples), fix the checksum, and load it into
 * a second instance: refused, or accepted and consistent. */
static void mutated_snapshot(const uint8_t *data, size_t size)
{
	static struct kvc *k2;
	struct sink s = {0};
	if (k2 == NULL &&
	    kvc_open(&k2, &(struct kvc_options){.blocks_max = 64,
						.locations_max = 64,
						.nodes_max = 4,
						.namespaces_max = 4,
						.reservations_max = 8,
						.kv_keys_max = 16,
						.long_hashes_max = 4}) != 0) {
		abort();
	}
	if (kvc_snapshot_save(k, sink_write, &s) != 0 || s.len < 16) {
		abort();
	}
	for (size_t i = 0; i + 3 <= size; i += 3) {
		size_t at =
		    ((size_t)data[i] | (size_t)data[i + 1] << 8) % (s.len - 4);
		s.p[at] = data[i + 2];
	}
	uint32_t crc = fr_crc32c(0, s.p, s.len - 4);
	for (unsigned j = 0; j < 4; j++) {
		s.p[s.len - 4 + j] = (uint8_t)(crc >> (8 * j));
	}
	struct src in = {s.p, s.len};
	uint64_t d = kvc_digest(k2);
	if (kvc_snapshot_load(k2, src_read, &in) != 0 && kvc_digest(k2) != d) {
		abort();
	}
	check_one(k2);
	free(s.p);
}

/* As a transaction (what MULTI/EXEC becomes): lines are commands, words
 * are split on spaces, and the TXN's word counts are made right, so the
 * commands themselves are fuzzed.  Applied without the client-side check
 * (a faulty leader's entry), and read when the check calls it a read. */
static void as_txn(const uint8_t *data, size_t size)
{
	static struct kvc_arg a[512];
	static char counts[512][12];
	uint32_t n = 1;
	uint32_t at = 1; /* the word count of the current command */
	size_t start = 0;
	a[0] = (struct kvc_arg){"TXN", 3};
	for (size_t i = 0; i <= size && n + 2 < 512; i++) {
		bool eol = i == size || data[i] == '\n';
		if (!eol && data[i] != ' ') {
			continue;
		}
		if (at == n) {
			n++; /* room for the count */
		}
		a[n++] =
		    (struct kvc_arg){(const char *)data + start, i - start};
		start = i + 1;
		if (eol) {
			snprintf(counts[at], sizeof(counts[at]), "%u",
				 n - at - 1);
			a[at] =
			    (struct kvc_arg){counts[at], strlen(counts[at])};
			at = n;
		}
	}
	if (at != n) { /* cut short: close the last command */
		snprintf(counts[at], sizeof(counts[at]), "%u", n - at - 1);
		a[at] = (struct kvc_arg){counts[at], strlen(counts[at])};
		if (n == at + 1) {
			n--;
		}
	}
	struct kvc_reply e = {0};
	struct kvc_reply r = {.max = 4096};
	if (kvc_command_encode(30, n, a, &e) == 0) {
		(void)kvc_apply(k, e.buf, e.len, &r);
	}
	check();
	enum kvc_kind kind;
	r.len = 0;
	if (kvc_command_check(n, a, &kind, &r) == 0 && kind == KVC_READ) {
		(void)kvc_read(k, n, a, &r);
	}
	kvc_reply_free(&e);
	kvc_reply_free(&r);
}

/* KVC.EVENTS and KVC.SCAN with numbers taken from the input (the ring is 8
 * events, so from_seq wraps into RESYNC and past the log alike). */
static void feed_reads(const uint8_t *data, size_t size)
{
	if (size < 6) {
		return;
	}
	char line[128];
	static const char *const ns[] = {"*", "m", "nosuch", "x"};
	struct kvc_reply r = {.max = 64u + data[5] * 16u};
	for (int i = 0; i < 2; i++) {
		if (i == 0) {
			snprintf(line, sizeof(line), "KVC.EVENTS %u COUNT %u",
				 (unsigned)(data[0] | data[1] << 8),
				 1u + data[2] % 16);
		} else {
			snprintf(line, sizeof(line), "KVC.SCAN %s %u COUNT %u",
				 ns[data[3] % 4], (unsigned)data[4] * 2,
				 1u + data[2] % 8);
		}
		struct kvc_arg a[8];
		uint32_t n = 0;
		for (char *w = strtok(line, " "); w && n < 8;
		     w = strtok(NULL, " ")) {
			a[n++] = (struct kvc_arg){w, strlen(w)};
		}
		r.len = 0;
		int rv = kvc_read(k, n, a, &r);
		if (rv != 0 && rv != FR_INVALID && rv != FR_TOOBIG) {
			abort();
		}
	}
	kvc_reply_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (k == NULL) {
		setup();
	}
	struct kvc_reply r = {0};
	uint64_t d = kvc_digest(k);
	/* 1. As a log entry. */
	(void)kvc_apply(k, data, size, &r);
	check();
	/* 2. As a command line, checked then applied or read. */
	struct kvc_arg a[64];
	uint32_t n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= size && n < 64; i++) {
		if (i == size || data[i] == ' ') {
			a[n++] = (struct kvc_arg){(const char *)data + start,
						  i - start};
			start = i + 1;
		}
	}
	enum kvc_kind kind;
	r.len = 0;
	if (kvc_command_check(n, a, &kind, &r) == 0) {
		if (kind == KVC_READ) {
			(void)kvc_read(k, n, a, &r);
		} else {
			struct kvc_reply e = {0};
			if (kvc_command_encode(20, n, a, &e) == 0) {
				(void)kvc_apply(k, e.buf, e.len, &r);
			}
			kvc_reply_free(&e);
		}
	}
	check();
	/* 3. As a snapshot: refused (state unchanged) or consistent. */
	d = kvc_digest(k);
	struct src s = {data, size};
	if (kvc_snapshot_load(k, src_read, &s) != 0 && kvc_digest(k) != d) {
		abort();
	}
	check();
	feed_reads(data, size);
	mutated_snapshot(data, size);
	as_txn(data, size);
	kvc_reply_free(&r);
	return 0;
}
