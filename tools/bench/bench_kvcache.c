/* bench_kvcache.c — `fabraft-bench kvcache`: apply rate, lookup latency,
 * memory per block and snapshot time of the kvcache state machine. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "kvc.h"
#include "opt.h"

/*
 * Layout of the synthetic state: blocks are numbered 0..n-1 and grouped in
 * chains of 64 (block i's parent is i-1 unless i % 64 == 0); chain c lives
 * on node c % 16, tier dram, 4 KiB per block.  Entries are encoded before
 * the clock starts, so the rates are those of kvc_apply()/kvc_read() alone
 * (decode, validation, the change, the RESP reply), single-threaded.
 */

#define CHAIN 64u
#define NODES 16u

int bench_kvcache_main(int argc, char **argv);

/* ---- a counting heap: bytes the state machine holds ----
 * Each block carries its size in a 16-byte header (keeps 16-byte
 * alignment); memcpy avoids casting char pointers to size_t pointers. */
static size_t heap_now;
static size_t heap_peak;

/* Header: size, then 1 if the block came from the huge-page path. */
static void *account_as(char *p, size_t n, size_t huge)
{
	if (p == NULL) {
		return NULL;
	}
	memcpy(p, &n, sizeof(n));
	memcpy(p + 8, &huge, sizeof(huge));
	heap_now += n;
	heap_peak = heap_now > heap_peak ? heap_now : heap_peak;
	return p + 16;
}

static void *account(char *p, size_t n)
{
	return account_as(p, n, 0);
}

static size_t huge_of(void *ptr)
{
	size_t h;
	memcpy(&h, (char *)ptr - 8, sizeof(h));
	return h;
}

static size_t size_of(void *ptr)
{
	size_t n;
	memcpy(&n, (char *)ptr - 16, sizeof(n));
	return n;
}

static void *c_malloc(void *d, size_t n)
{
	(void)d;
	return account(malloc(n + 16), n);
}

/* --hugepages: the big tables (>= 2 MiB) on 2 MiB-aligned memory marked
 * MADV_HUGEPAGE, as a daemon could do through fr_heap_set(); fewer TLB
 * misses on random table probes. */
static bool use_huge;
#define HUGE_BYTES (2u << 20)

static void *c_calloc(void *d, size_t n, size_t size)
{
	(void)d;
	if (size != 0 && n > (SIZE_MAX - HUGE_BYTES) / size) {
		return NULL;
	}
	size_t bytes = n * size;
	if (use_huge && bytes >= HUGE_BYTES) {
		/* The 16-byte header sits at the end of the first 2 MiB page
		 * before the table, which starts on the next 2 MiB boundary. */
		char *p = NULL;
		if (posix_memalign((void **)&p, HUGE_BYTES,
				   bytes + HUGE_BYTES) != 0) {
			return NULL;
		}
		(void)madvise(p, bytes + HUGE_BYTES, MADV_HUGEPAGE);
		memset(p, 0, bytes + HUGE_BYTES);
		return account_as(p + HUGE_BYTES - 16, bytes, 1);
	}
	return account(calloc(1, bytes + 16), bytes);
}

static void c_free(void *d, void *ptr)
{
	(void)d;
	if (ptr != NULL) {
		size_t n = size_of(ptr);
		heap_now -= n;
		if (huge_of(ptr)) {
			free((char *)ptr - HUGE_BYTES);
		} else {
			free((char *)ptr - 16);
		}
	}
}

static void *c_realloc(void *d, void *ptr, size_t n)
{
	if (ptr == NULL) {
		return c_malloc(d, n);
	}
	size_t old = size_of(ptr);
	if (huge_of(ptr)) {
		return NULL; /* tables never grow; not needed */
	}
	char *q = realloc((char *)ptr - 16, n + 16);
	if (q == NULL) {
		return NULL;
	}
	heap_now -= old;
	return account(q, n);
}

static const struct fr_heap counting = {NULL, c_malloc, c_calloc, c_realloc,
					c_free};

/* ---- helpers ---- */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: on a shared machine, wall time also counts the
 * time other processes held the CPU; both are reported. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double last_cpu; /* CPU seconds of the last apply_all() */

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0;
	long res = 0;
	if (f == NULL) {
		return -1;
	}
	if (fscanf(f, "%ld %ld", &pages, &res) != 2) {
		res = -1;
	}
	fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void die(const char *what, int rv)
{
	fprintf(stderr, "bench kvcache: %s: %s\n", what, fr_strerror(rv));
	exit(1);
}

/* --hash-bytes: block hashes of 8, 16 (default) or 32 bytes; HEXW hex
 * digits each on the wire. */
static int hash_bytes = 16; /* OPT_ENUM: an int */
#define HEXW ((unsigned)(2 * hash_bytes))

/* HEXW hex digits of block i (distinct for every i). */
static void hash_hex(uint64_t i, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t w[4] = {(i + 1) * 0x9e3779b97f4a7c15ull,
			 (i + 1) ^ 0xd6e8feb86659fd93ull,
			 (i + 1) * 0xc2b2ae3d27d4eb4full, i + 1};
	if (hash_bytes == 8) {
		w[0] = i + 1; /* bijective: 8-byte hashes stay distinct */
	}
	for (unsigned j = 0; j < HEXW; j++) {
		out[j] = hex[(w[j / 16] >> (60 - 4 * (j % 16))) & 15];
	}
}

struct words {
	char *hex;	 /* [n * HEXW] hashes */
	char num[4][24]; /* scratch numbers */
};

/* argv for "KVC.PUT bench <blocks first..first+count>" into @a. */
static uint32_t put_argv(const char *hex, uint64_t first, uint32_t count,
			 struct kvc_arg *a, char (*nums)[24])
{
	static const char *const root = "-";
	uint32_t n = 0;
	a[n++] = (struct kvc_arg){"KVC.PUT", 7};
	a[n++] = (struct kvc_arg){"bench", 5};
	for (uint32_t j = 0; j < count; j++) {
		uint64_t i = first + j;
		a[n++] = (struct kvc_arg){hex + HEXW * i, HEXW};
		if (i % CHAIN == 0) {
			a[n++] = (struct kvc_arg){root, 1};
		} else {
			a[n++] = (struct kvc_arg){hex + HEXW * (i - 1), HEXW};
		}
		a[n++] = (struct kvc_arg){"16", 2};
		char *node = nums[3 * j];
		char *off = nums[3 * j + 1];
		int nl = snprintf(node, 24, "%u",
				  (unsigned)((i / CHAIN) % NODES) + 1);
		int ol =
		    snprintf(off, 24, "%llu", (unsigned long long)i * 4096);
		a[n++] = (struct kvc_arg){node, (size_t)nl};
		a[n++] = (struct kvc_arg){"dram", 4};
		a[n++] = (struct kvc_arg){off, (size_t)ol};
		a[n++] = (struct kvc_arg){"4096", 4};
	}
	return n;
}

/* Encoded entries back to back. */
struct batch {
	struct kvc_reply buf; /* entries */
	size_t *off;	      /* [n + 1] */
	size_t n;
};

static struct kvc_arg argv_tmp[2 + 9 * CHAIN];
static char nums_tmp[3 * CHAIN][24];

static void batch_add(struct batch *b, uint32_t argc, const struct kvc_arg *a)
{
	int rv = kvc_command_encode(1000 + b->n, argc, a, &b->buf);
	if (rv != 0) {
		die("encode", rv);
	}
	b->off[++b->n] = b->buf.len;
}

/* PUT entries for blocks [first, first + n), @per blocks per entry. */
static void encode_puts(struct batch *b, const char *hex, uint64_t first,
			uint64_t n, uint32_t per)
{
	b->off = malloc((n / per + 2) * sizeof(*b->off));
	b->off[0] = 0;
	for (uint64_t i = first; i < first + n; i += per) {
		uint32_t c =
		    (uint32_t)(first + n - i < per ? first + n - i : per);
		uint32_t argc = put_argv(hex, i, c, argv_tmp, nums_tmp);
		batch_add(b, argc, argv_tmp);
	}
}

/* --scatter: the fill puts one block per entry, in a shuffled order, so a
 * chain's blocks sit at unrelated indices (as after much churn) and
 * lookups cannot find a chain's next block beside the previous one. */
static bool use_scatter;

static void encode_puts_shuffled(struct batch *b, const char *hex, uint64_t n)
{
	uint32_t *perm = malloc(n * sizeof(*perm));
	if (perm == NULL) {
		die("shuffle", FR_NOMEM);
	}
	for (uint64_t i = 0; i < n; i++) {
		perm[i] = (uint32_t)i;
	}
	uint64_t x = 0x2545f4914f6cdd1dull;
	for (uint64_t i = n - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t j = x % (i + 1);
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	b->off = malloc((n + 1) * sizeof(*b->off));
	b->off[0] = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t argc = put_argv(hex, perm[i], 1, argv_tmp, nums_tmp);
		batch_add(b, argc, argv_tmp);
	}
	free(perm);
}

static void batch_free(struct batch *b)
{
	kvc_reply_free(&b->buf);
	free(b->off);
	memset(b, 0, sizeof(*b));
}

/* Apply every entry; fail on an error reply.  Returns seconds. */
static double apply_all(struct kvc *k, const struct batch *b)
{
	struct kvc_reply r = {0};
	double c0 = cpu_s();
	double t0 = now_s();
	for (size_t i = 0; i < b->n; i++) {
		r.len = 0;
		int rv = kvc_apply(k, b->buf.buf + b->off[i],
				   b->off[i + 1] - b->off[i], &r);
		if (rv != 0 || r.buf[0] == '-') {
			fprintf(stderr, "entry %zu: %.*s\n", i, (int)r.len,
				r.buf);
			die("apply", rv != 0 ? rv : FR_INVALID);
		}
	}
	double t = now_s() - t0;
	last_cpu = cpu_s() - c0;
	kvc_reply_free(&r);
	return t;
}

static void add_nodes(struct kvc *k)
{
	struct batch b = {0};
	b.off = malloc((NODES + 1) * sizeof(*b.off));
	b.off[0] = 0;
	for (unsigned i = 1; i <= NODES; i++) {
		char id[8];
		char addr[32];
		int il = snprintf(id, sizeof(id), "%u", i);
		int al = snprintf(addr, sizeof(addr), "10.0.0.%u:7000", i);
		struct kvc_arg a[] = {
		    {"KVC.NODE.ADD", 12}, {id, (size_t)il},
		    {addr, (size_t)al},	  {"0", 1},
		    {"dram", 4},	  {"17592186044416", 14}};
		batch_add(&b, 6, a);
	}
	(void)apply_all(k, &b);
	batch_free(&b);
}

/* Snapshots are saved to and loaded from memory streams (open_memstream,
 * fmemopen): the times are kvcache's, no disk's. */
static int mem_write(void *ctx, const void *buf, size_t len)
{
	return fwrite(buf, 1, len, ctx) == len ? 0 : FR_NOMEM;
}

static int mem_read(void *ctx, void *buf, size_t len)
{
	return fread(buf, 1, len, ctx) == len ? 0 : FR_IO;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* @len-block chain lookups (kvc_read) on random chains: latency in us.
 * Each request's hashes are first copied into a request buffer, as the RESP
 * front would hold them after reading the socket (the copy is not timed:
 * it stands for the network receive).  Wall time per lookup is measured
 * around kvc_read() alone; the CPU figure covers the whole loop. */
static void bench_lookup(struct kvc *k, const char *hex, uint64_t blocks,
			 uint64_t ops, unsigned len)
{
	static struct kvc_arg a[2 + CHAIN];
	static char req[2 * KVC_HASH_BYTES_MAX * CHAIN];
	double *lat = malloc(ops * sizeof(*lat));
	struct kvc_reply r = {0};
	uint64_t x = 88172645463325252ull;
	uint64_t chains = blocks / CHAIN;
	double cpu_copy = 0;
	a[0] = (struct kvc_arg){"KVC.LOOKUP", 10};
	a[1] = (struct kvc_arg){"bench", 5};
	for (unsigned j = 0; j < len; j++) {
		a[2 + j] = (struct kvc_arg){req + HEXW * j, HEXW};
	}
	double c0 = cpu_s();
	double t0 = now_s();
	for (uint64_t i = 0; i < ops; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t first = (x % chains) * CHAIN;
		double cc = cpu_s();
		memcpy(req, hex + HEXW * first, HEXW * (size_t)len);
		cpu_copy += cpu_s() - cc;
		r.len = 0;
		double s = now_s();
		int rv = kvc_read(k, 2 + len, a, &r);
		lat[i] = (now_s() - s) * 1e6;
		char want[16];
		int wl = snprintf(want, sizeof(want), "*%u\r\n", len);
		if (rv != 0 || r.len < (size_t)wl ||
		    memcmp(r.buf, want, (size_t)wl) != 0) {
			die("lookup did not find the whole chain", FR_CORRUPT);
		}
	}
	double t = now_s() - t0;
	double cpu = cpu_s() - c0 - cpu_copy;
	qsort(lat, ops, sizeof(*lat), cmp_double);
	double sum = 0;
	for (uint64_t i = 0; i < ops; i++) {
		sum += lat[i];
	}
	printf(
	    "lookup_%u_blocks (kvc_read): %.0f lookups/s; wall mean %.2f us, "
	    "p50 %.2f us, p99 %.2f us; CPU mean %.2f us (reply %zu bytes)\n",
	    len, (double)ops / t, sum / (double)ops, lat[ops / 2],
	    lat[ops * 99 / 100], cpu * 1e6 / (double)ops, r.len);
	kvc_reply_free(&r);
	free(lat);
}

/* LOOKUP ... TOUCH entries through kvc_apply (the LRU-updating write). */
static void bench_lookup_touch(struct kvc *k, const char *hex, uint64_t blocks,
			       uint64_t ops, unsigned len)
{
	static struct kvc_arg a[3 + CHAIN];
	struct batch b = {0};
	b.off = malloc((ops + 1) * sizeof(*b.off));
	b.off[0] = 0;
	uint64_t chains = blocks / CHAIN;
	a[0] = (struct kvc_arg){"KVC.LOOKUP", 10};
	a[1] = (struct kvc_arg){"bench", 5};
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t first = ((i * 7919) % chains) * CHAIN;
		for (unsigned j = 0; j < len; j++) {
			a[2 + j] =
			    (struct kvc_arg){hex + HEXW * (first + j), HEXW};
		}
		a[2 + len] = (struct kvc_arg){"TOUCH", 5};
		batch_add(&b, 3 + len, a);
	}
	double t = apply_all(k, &b);
	printf(
	    "lookup_touch_%u_blocks_apply: %.0f entries/s (wall %.2f us, CPU "
	    "%.2f us each)\n",
	    len, (double)ops / t, t * 1e6 / (double)ops,
	    last_cpu * 1e6 / (double)ops);
	batch_free(&b);
}

/* An empty state machine with room for @cap blocks. */
static struct kvc *open_sized(uint64_t cap)
{
	struct kvc_options o = {.blocks_max = (uint32_t)cap,
				.locations_max = (uint32_t)cap,
				.nodes_max = NODES,
				.namespaces_max = 16,
				.reservations_max = 1024,
				.kv_keys_max = 1024,
				/* Over 16 bytes every block takes a pool
				 * entry; else the daemon's default pool. */
				.long_hashes_max =
				    hash_bytes > 16 ? (uint32_t)cap : 0};
	struct kvc *k;
	int rv = kvc_open(&k, &o);
	if (rv != 0) {
		die("open", rv);
	}
	return k;
}

static struct kvc *open_filled(const char *hex, uint64_t blocks, uint64_t cap,
			       double *put_s)
{
	struct kvc *k = open_sized(cap);
	add_nodes(k);
	struct batch b = {0};
	if (use_scatter) {
		encode_puts_shuffled(&b, hex, blocks);
	} else {
		encode_puts(&b, hex, 0, blocks, CHAIN);
	}
	*put_s = apply_all(k, &b);
	batch_free(&b);
	return k;
}

static void bench_snapshot(struct kvc *k, uint64_t blocks)
{
	char *snap = NULL;
	size_t snap_len = 0;
	FILE *out = open_memstream(&snap, &snap_len);
	if (out == NULL) {
		die("snapshot buffer", FR_NOMEM);
	}
	double c0 = cpu_s();
	double t0 = now_s();
	int rv = kvc_snapshot_save(k, mem_write, out);
	if (fclose(out) != 0 && rv == 0) {
		rv = FR_NOMEM;
	}
	double save = now_s() - t0;
	double save_cpu = cpu_s() - c0;
	if (rv != 0) {
		die("snapshot save", rv);
	}
	struct kvc *r = open_sized(blocks);
	FILE *in = fmemopen(snap, snap_len, "r");
	if (in == NULL) {
		die("snapshot buffer", FR_NOMEM);
	}
	c0 = cpu_s();
	t0 = now_s();
	rv = kvc_snapshot_load(r, mem_read, in);
	double load = now_s() - t0;
	double load_cpu = cpu_s() - c0;
	if (rv != 0) {
		die("snapshot load", rv);
	}
	fclose(in);
	t0 = now_s();
	uint64_t d = kvc_digest(r);
	double dig = now_s() - t0;
	if (d != kvc_digest(k)) {
		die("restored digest differs", FR_CORRUPT);
	}
	printf("snapshot: %.1f MB; save %.3f s, restore %.3f s (checksum and "
	       "validation included), total %.3f s (CPU %.3f s); digest %.3f "
	       "s\n",
	       (double)snap_len / 1e6, save, load, save + load,
	       save_cpu + load_cpu, dig);
	kvc_close(r);
	free(snap);
}

static const struct opt_cmd kvcache_cmd = {
    .prog = "fabraft-bench kvcache",
    .usage = "fabraft-bench kvcache [--blocks N] [--ops N] [options]",
    .epilog = "Measures, single-threaded: KVC.PUT applies/s with N "
	      "blocks resident,\n64-block KVC.LOOKUP latency, heap "
	      "bytes per block with one location,\nsnapshot save + "
	      "restore time of the whole state.\n",
};

static const struct opt_choice hash_sizes[] = {
    {"8", 8}, {"16", 16}, {"32", 32}, {NULL, 0}};

int bench_kvcache_main(int argc, char **argv)
{
	uint64_t blocks = 1u << 20;
	uint64_t ops = 1000000;
	const struct opt opts[] = {
	    {"blocks", OPT_U64, &blocks, 1, 1u << 27, .def = "1048576",
	     .help = "blocks resident, rounded up to a multiple of 64"},
	    {"ops", OPT_U64, &ops, 1, 1u << 27, .def = "1000000",
	     .help = "operations per measurement: N PUTs, N/5 lookups"},
	    {"hugepages", OPT_FLAG, &use_huge,
	     .help = "put tables of 2 MiB or more on transparent huge pages"},
	    {"hash-bytes", OPT_ENUM, &hash_bytes, .choices = hash_sizes,
	     .def = "16",
	     .help = "block hash length (16 bytes inline in a block; longer "
		     "ones take a long-hash pool entry too)"},
	    {"scatter", OPT_FLAG, &use_scatter,
	     .help =
		 "fill with one block per PUT in a shuffled order (a chain's "
		 "blocks not adjacent: lookups use the table for each)"},
	};
	int done =
	    opt_parse_main(&kvcache_cmd, opts, OPT_COUNT(opts), argc, argv);
	if (done >= 0) {
		return done;
	}
	blocks = (blocks + CHAIN - 1) / CHAIN * CHAIN;
	if (blocks + ops > (1u << 27)) {
		fprintf(stderr, "bench kvcache: too many blocks\n");
		return 2;
	}
	char *hex = malloc((blocks + ops) * HEXW);
	if (hex == NULL) {
		die("hashes", FR_NOMEM);
	}
	for (uint64_t i = 0; i < blocks + ops; i++) {
		hash_hex(i, hex + HEXW * i);
	}
	fr_heap_set(&counting);
	printf("kvcache bench: %llu blocks resident (chains of %u, %u nodes, "
	       "%d-byte hashes, %s), %llu ops, %s pages\n",
	       (unsigned long long)blocks, CHAIN, NODES, hash_bytes,
	       use_scatter ? "scattered" : "each chain put by one PUT",
	       (unsigned long long)ops, use_huge ? "huge" : "4 KiB");

	/* 1. Memory per block, snapshot, lookups: capacity == blocks. */
	long rss0 = rss_kib();
	double put_s;
	struct kvc *k = open_filled(hex, blocks, blocks, &put_s);
	long rss1 = rss_kib();
	printf("fill: %.0f blocks/s in %u-block PUT entries%s\n",
	       (double)blocks / put_s, use_scatter ? 1 : CHAIN,
	       use_scatter ? ", shuffled" : "");
	printf("memory: %.1f heap bytes/block with %d-byte hashes (%zu "
	       "bytes for %llu blocks with one location each, tables sized "
	       "for exactly that); RSS grew %.1f bytes/block\n",
	       (double)heap_now / (double)blocks, hash_bytes, heap_now,
	       (unsigned long long)blocks,
	       (double)(rss1 - rss0) * 1024.0 / (double)blocks);
	bench_snapshot(k, blocks);
	uint64_t lops = ops / 5 > 0 ? ops / 5 : 1;
	bench_lookup(k, hex, blocks, lops, CHAIN);
	bench_lookup(k, hex, blocks, lops, 1);
	bench_lookup_touch(k, hex, blocks, lops, CHAIN);
	char msg[256];
	int rv = kvc_check_invariants(k, msg, sizeof(msg));
	if (rv != 0) {
		fprintf(stderr, "invariants: %s\n", msg);
		free(hex);
		return 1;
	}
	kvc_close(k);

	/* 2. PUT apply rate, one block per entry, with @blocks resident. */
	k = open_filled(hex, blocks, blocks + ops, &put_s);
	struct batch b = {0};
	encode_puts(&b, hex, blocks, ops, 1);
	double t = apply_all(k, &b);
	printf(
	    "put_new_1_block_apply: %.0f entries/s (wall %.0f ns, CPU %.0f ns "
	    "each; %.0f/s by CPU time), %llu -> %llu blocks\n",
	    (double)ops / t, t * 1e9 / (double)ops,
	    last_cpu * 1e9 / (double)ops, (double)ops / last_cpu,
	    (unsigned long long)blocks, (unsigned long long)(blocks + ops));
	batch_free(&b);
	/* Re-PUT existing blocks (refresh: lookup, compare, LRU touch). */
	b.off = malloc((ops + 1) * sizeof(*b.off));
	b.off[0] = 0;
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t blk = (i * 2654435761u) % blocks;
		uint32_t argc2 = put_argv(hex, blk, 1, argv_tmp, nums_tmp);
		batch_add(&b, argc2, argv_tmp);
	}
	t = apply_all(k, &b);
	printf("put_existing_1_block_apply: %.0f entries/s (wall %.0f ns, CPU "
	       "%.0f ns each)\n",
	       (double)ops / t, t * 1e9 / (double)ops,
	       last_cpu * 1e9 / (double)ops);
	batch_free(&b);
	rv = kvc_check_invariants(k, msg, sizeof(msg));
	if (rv != 0) {
		fprintf(stderr, "invariants: %s\n", msg);
		free(hex);
		return 1;
	}
	kvc_close(k);
	fr_heap_set(NULL);
	free(hex);
	return 0;
}
