/* trace_etcd.c — a replay engine's operations on etcd, with the cluster
 * benchmark's KV-cache mapping: block key `kvc/<ns>/<hash hex>`, value
 * `<parent hex or -> <tokens> <node> dram <offset> <len>` (the placement
 * KVC.PUT carries), through etcd's JSON gateway on keep-alive HTTP/1.1.
 *
 * A lookup is one POST /v3/kv/txn whose success branch ranges every block
 * key of the chain; the hits are the leading ranges that found their key
 * (the client walks the chain, as fabraft's KVC.LOOKUP does on the
 * server).  A put is one txn of puts, one per missing block.  etcd's
 * default --max-txn-ops is 128, so a longer chain is split into txns of 128
 * (a lookup stops after the first txn that misses a block).  etcd has no
 * allocator: --capacity-blocks does not apply (nothing is evicted). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cluster.h"
#include "bench_trace.h"
#include "trace_bench.h"

#ifdef BC_HAVE_CURL
#include <curl/curl.h>

#define TXN_OPS	 128 /* etcd --max-txn-ops default */
#define BODY_MAX (TXN_OPS * 512 + 64)

/* An engine's HTTP connection and buffers. */
struct et {
	CURL *h; /* one easy handle: one kept-alive connection */
	struct curl_slist *hdrs; /* Content-Type, no Expect */
	char url[112];		 /* .../v3/kv/txn */
	char *body;		 /* request (BODY_MAX) */
	struct bc_body resp;	 /* reply so far */
	char (*hex)[40];	 /* TR_IDS_MAX hashes, hex */
};

/* POST t->body (@len bytes); 0 with t->resp holding a 200 reply, or -1. */
static int post(struct tr_engine *e, size_t len)
{
	struct et *t = e->conn;
	long code = 0;
	CURLcode cc;

	t->resp.len = 0;
	curl_easy_setopt(t->h, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(t->h, CURLOPT_POSTFIELDSIZE, (long)len);
	e->stats.round_trips++;
	cc = curl_easy_perform(t->h);
	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK || code != 200 || t->resp.p == NULL ||
	    strstr(t->resp.p, "\"header\"") == NULL) {
		snprintf(e->stats.error, sizeof(e->stats.error),
			 "etcd: %s, HTTP %ld: %.120s", curl_easy_strerror(cc),
			 code, t->resp.p != NULL ? t->resp.p : "");
		return -1;
	}
	return 0;
}

/* Leading ranges of the txn reply in t->resp that found their key. */
static uint32_t leading_hits(const char *s, uint32_t n)
{
	uint32_t hits = 0;
	const char *p = strstr(s, "\"response_range\"");

	while (p != NULL && hits < n) {
		const char *next = strstr(p + 1, "\"response_range\"");
		const char *kvs = strstr(p, "\"kvs\"");

		if (kvs == NULL || (next != NULL && kvs > next)) {
			break;
		}
		hits++;
		p = next;
	}
	return hits;
}

/* The etcd key of block @hex: `kvc/<ns>/<hex>`; its length. */
static size_t key_of(const struct tr_cfg *cfg, const char *hex, char *out,
		     size_t cap)
{
	int l = snprintf(out, cap, "kvc/%s/%s", cfg->ns, hex);

	return l < 0 ? 0 : (size_t)l < cap ? (size_t)l : cap - 1;
}

/* Txn of ranges of blocks @at..@at+@n-1; leading hits into *@hits. */
static int range_txn(struct tr_engine *e, uint32_t at, uint32_t n,
		     uint32_t *hits)
{
	struct et *t = e->conn;
	size_t o = (size_t)sprintf(t->body, "{\"success\":[");

	for (uint32_t i = 0; i < n; i++) {
		char key[160];
		size_t kl =
		    key_of(&e->rp->cfg, t->hex[at + i], key, sizeof(key));

		o += bc_etcd_txn_op(t->body + o, i == 0, key, kl, NULL, 0);
	}
	o += (size_t)sprintf(t->body + o, "]}");
	if (post(e, o) != 0) {
		return -1;
	}
	*hits = leading_hits(t->resp.p, n);
	return 0;
}

static int et_lookup(struct tr_engine *e, const struct tr_req *r,
		     uint32_t *hits)
{
	const uint64_t *ids = e->rp->cfg.trace->ids + r->first;
	struct et *t = e->conn;
	uint64_t t0 = tr_now_ns();

	*hits = 0;
	for (uint32_t i = 0; i < r->n; i++) {
		tr_hash_hex(ids[i], t->hex[i]);
	}
	for (uint32_t at = 0; at < r->n; at += TXN_OPS) {
		uint32_t n = r->n - at < TXN_OPS ? r->n - at : TXN_OPS;
		uint32_t h = 0;

		if (range_txn(e, at, n, &h) != 0) {
			return -1;
		}
		*hits += h;
		if (h < n) {
			break;
		}
	}
	if (tr_record(&e->stats.lookup_us, e->stats.lookups,
		      tr_now_ns() - t0) != 0) {
		return -1;
	}
	e->stats.lookups++;
	return 0;
}

/* Txn of puts of blocks @at..@at+@n-1 of @r. */
static int put_txn(struct tr_engine *e, const struct tr_req *r, uint32_t at,
		   uint32_t n)
{
	const struct tr_cfg *cfg = &e->rp->cfg;
	struct et *t = e->conn;
	size_t o = (size_t)sprintf(t->body, "{\"success\":[");

	for (uint32_t i = at; i < at + n; i++) {
		char rec[160];
		int l = snprintf(
		    rec, sizeof(rec), "%s %u %d dram %" PRIu64 " %" PRIu64,
		    i ? t->hex[i - 1] : "-", TR_TOKENS_PER, e->node_id,
		    e->next_offset++ * cfg->block_bytes, cfg->block_bytes);

		char key[160];
		size_t kl = key_of(cfg, t->hex[i], key, sizeof(key));

		o += bc_etcd_txn_op(t->body + o, i == at, key, kl, rec,
				    (size_t)l);
	}
	o += (size_t)sprintf(t->body + o, "]}");
	if (post(e, o) != 0) {
		return -1;
	}
	if (strstr(t->resp.p, "\"succeeded\":true") == NULL) {
		snprintf(e->stats.error, sizeof(e->stats.error),
			 "etcd txn not applied: %.120s", t->resp.p);
		return -1;
	}
	return 0;
}

static int et_put(struct tr_engine *e, const struct tr_req *r, uint32_t from)
{
	uint64_t t0 = tr_now_ns();

	for (uint32_t at = from; at < r->n; at += TXN_OPS) {
		uint32_t n = r->n - at < TXN_OPS ? r->n - at : TXN_OPS;

		if (put_txn(e, r, at, n) != 0) {
			return -1;
		}
	}
	if (tr_record(&e->stats.put_us, e->stats.puts, tr_now_ns() - t0) != 0) {
		return -1;
	}
	e->stats.puts++;
	return 0;
}

static int et_open(struct tr_engine *e)
{
	struct et *t = calloc(1, sizeof(*t));

	e->conn = t;
	if (t == NULL || (t->body = malloc(BODY_MAX)) == NULL ||
	    (t->hex = calloc(TR_IDS_MAX, 40)) == NULL ||
	    (t->h = curl_easy_init()) == NULL) {
		snprintf(e->stats.error, sizeof(e->stats.error),
			 "cannot set up an etcd client");
		return -1;
	}
	snprintf(t->url, sizeof(t->url), "http://%s/v3/kv/txn",
		 e->rp->cfg.addrs[e->addr]);
	t->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	t->hdrs = curl_slist_append(t->hdrs, "Expect:");
	curl_easy_setopt(t->h, CURLOPT_URL, t->url);
	curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, bc_body_sink);
	curl_easy_setopt(t->h, CURLOPT_WRITEDATA, &t->resp);
	curl_easy_setopt(t->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(t->h, CURLOPT_HTTP_VERSION,
			 (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(t->h, CURLOPT_TIMEOUT_MS, 30000L);
	return 0;
}

static int et_join(struct tr_engine *e)
{
	(void)e; /* etcd has no storage nodes: the keys are the state */
	return 0;
}

static void et_close(struct tr_engine *e)
{
	struct et *t = e->conn;

	if (t != NULL) {
		if (t->h != NULL) {
			curl_easy_cleanup(t->h);
		}
		curl_slist_free_all(t->hdrs);
		free(t->body);
		free(t->resp.p);
		free(t->hex);
		free(t);
		e->conn = NULL;
	}
}

const struct tr_ops tr_etcd_ops = {
    .name = "etcd",
    .open = et_open,
    .join = et_join,
    .lookup = et_lookup,
    .put = et_put,
    .close = et_close,
};

#else

const struct tr_ops tr_etcd_ops = {.name = NULL};

#endif
