/* http.c — the etcd load driver of the cluster benchmark:
 * etcd's JSON gateway (POST /v3/kv/put, /v3/kv/range, /v3/kv/txn; base64
 * keys and values) over keep-alive HTTP/1.1, with one libcurl multi handle
 * per client thread and one easy handle (one connection) per client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cluster.h"
#include "work.h"

#ifdef BC_HAVE_CURL
#include <curl/curl.h>

/* One client: an easy handle and its current request. */
struct hc {
	CURL *e;	     /* the handle (its connection stays in the pool) */
	int client;	     /* global client number */
	uint64_t n;	     /* operations issued */
	char *body;	     /* JSON request (malloc'd) */
	size_t body_len;     /* bytes */
	struct bc_body resp; /* reply body so far */
	uint64_t sent;	     /* when the request was added */
	uint8_t kind;	     /* bc_op_kind */
	bool failed;	     /* could not build; never re-added */
};

struct thr {
	struct bc_thr b;	 /* cell, clients, counts (bc_run_threads) */
	struct hc *h;		 /* b.n clients (malloc'd) */
	CURLM *m;		 /* the multi handle */
	struct curl_slist *hdrs; /* Content-Type, no Expect */
	char *value64;		 /* base64 of the SET value (malloc'd) */
	char url[3][80];	 /* put, range, txn */
};

bool bc_http_available(void)
{
	return true;
}

void bc_http_global(bool init)
{
	if (init) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
	} else {
		curl_global_cleanup();
	}
}

/* The JSON of a KV-cache chain op: a txn of 16 puts or 16 ranges. */
static size_t chain_body(struct thr *t, struct hc *h, const struct bc_op *op,
			 char *o)
{
	size_t n = (size_t)sprintf(o, "{\"success\":[");
	char key[64];
	char rec[160];
	char prev[33] = "-";
	char hash[33];

	for (int i = 0; i < BC_CHAIN_BLOCKS; i++) {
		int kl, l = 0;

		bc_block_hash(h->client, op->idx, i, hash);
		kl =
		    snprintf(key, sizeof(key), "kvc/%s/%s", BC_NAMESPACE, hash);
		if (op->kind == BC_OP_PUT) {
			/* The placement KVC.PUT carries for this block. */
			l = snprintf(rec, sizeof(rec), "%s 16 1 dram %llu %u",
				     prev,
				     (unsigned long long)bc_block_offset(
					 t->b.ld, h->client, op, i),
				     BC_BLOCK_BYTES);
		}
		n += bc_etcd_txn_op(o + n, i == 0, key, (size_t)kl,
				    op->kind == BC_OP_PUT ? rec : NULL,
				    (size_t)l);
		memcpy(prev, hash, sizeof(prev));
	}
	n += (size_t)sprintf(o + n, "]}");
	return n;
}

/* Build @h's next request and add it to the multi handle. */
static int issue(struct thr *t, struct hc *h, uint64_t now)
{
	struct bc_op op;
	size_t v64 = strlen(t->value64);
	char key[48];
	const char *url;
	int url_i;

	bc_next_op(t->b.ld, h->client, h->n, &op);
	if (h->body == NULL) {
		h->body = malloc(v64 + 8192);
		if (h->body == NULL) {
			return -1;
		}
	}
	if (op.kind == BC_OP_SET || op.kind == BC_OP_GET) {
		int kl = bc_key(h->client, op.idx, key, sizeof(key));

		h->body_len = (size_t)sprintf(h->body, "{\"key\":\"");
		h->body_len += bc_b64(key, (size_t)kl, h->body + h->body_len);
		if (op.kind == BC_OP_SET) {
			h->body_len +=
			    (size_t)sprintf(h->body + h->body_len,
					    "\",\"value\":\"%s", t->value64);
		}
		h->body_len += (size_t)sprintf(h->body + h->body_len, "\"}");
		url_i = op.kind == BC_OP_SET ? 0 : 1;
	} else {
		h->body_len = chain_body(t, h, &op, h->body);
		url_i = 2;
	}
	url = t->url[url_i];
	h->kind = (uint8_t)op.kind;
	h->n++;
	h->resp.len = 0;
	h->sent = now;
	curl_easy_setopt(h->e, CURLOPT_URL, url);
	curl_easy_setopt(h->e, CURLOPT_POSTFIELDS, h->body);
	curl_easy_setopt(h->e, CURLOPT_POSTFIELDSIZE, (long)h->body_len);
	return curl_multi_add_handle(t->m, h->e) == CURLM_OK ? 0 : -1;
}

static int count_of(const char *s, const char *pat)
{
	int n = 0;

	while (s != NULL && (s = strstr(s, pat)) != NULL) {
		n++;
		s += strlen(pat);
	}
	return n;
}

static void done(struct thr *t, struct hc *h, CURLcode cc, uint64_t now)
{
	const struct bc_load *ld = t->b.ld;
	bool in_window = now >= ld->t_start_ns && now < ld->t_end_ns;
	enum bc_class cls =
	    h->kind == BC_OP_SET || h->kind == BC_OP_PUT ? BC_WRITE : BC_READ;
	long code = 0;
	long req_bytes = 0;
	long hdr_bytes = 0;
	long conns = 0;
	bool good;

	curl_easy_getinfo(h->e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(h->e, CURLINFO_REQUEST_SIZE, &req_bytes);
	curl_easy_getinfo(h->e, CURLINFO_HEADER_SIZE, &hdr_bytes);
	curl_easy_getinfo(h->e, CURLINFO_NUM_CONNECTS, &conns);
	good = cc == CURLE_OK && code == 200 && h->resp.p != NULL &&
	       strstr(h->resp.p, "\"header\"") != NULL;
	if (good && h->kind == BC_OP_PUT) {
		good = strstr(h->resp.p, "\"succeeded\":true") != NULL;
	}
	if (!good) {
		if (t->b.r.error[0] == '\0') {
			snprintf(t->b.r.error, sizeof(t->b.r.error),
				 "etcd: %s, HTTP %ld: %.120s",
				 curl_easy_strerror(cc), code,
				 h->resp.p != NULL ? h->resp.p : "");
		}
		t->b.r.errors += in_window;
		return;
	}
	if (!in_window) {
		return;
	}
	if (h->kind == BC_OP_GET) {
		t->b.r.misses += strstr(h->resp.p, "\"kvs\"") == NULL;
	} else if (h->kind == BC_OP_LOOKUP) {
		t->b.r.misses +=
		    count_of(h->resp.p, "\"kvs\"") != BC_CHAIN_BLOCKS;
	}
	t->b.r.ops[cls]++;
	bc_hist_add(&t->b.r.lat, now - h->sent);
	bc_hist_add(&t->b.r.lat_cls[cls], now - h->sent);
	t->b.r.client_bytes += (uint64_t)req_bytes + h->body_len +
			       (uint64_t)hdr_bytes + h->resp.len;
	/* Connections opened for requests sent inside the window: 0 when
	 * keep-alive works (the first request of each client made one). */
	t->b.r.new_connections +=
	    h->sent >= ld->t_start_ns ? (uint64_t)conns : 0;
	__atomic_fetch_add(&t->b.ld->done_ops, 1, __ATOMIC_RELAXED);
}

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	struct bc_load *ld = t->b.ld;
	uint64_t now = bc_now_ns();

	for (int i = 0; i < t->b.n; i++) {
		if (!t->h[i].failed && issue(t, &t->h[i], now) != 0) {
			t->h[i].failed = true;
			t->b.r.errors++;
		}
	}
	while (!bc_stop && (now = bc_now_ns()) < ld->t_end_ns) {
		CURLMsg *msg;
		int running;
		int left;

		curl_multi_perform(t->m, &running);
		while ((msg = curl_multi_info_read(t->m, &left)) != NULL) {
			struct hc *h;

			if (msg->msg != CURLMSG_DONE) {
				continue;
			}
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&h);
			now = bc_now_ns();
			done(t, h, msg->data.result, now);
			curl_multi_remove_handle(t->m, h->e);
			if (now < ld->t_end_ns && issue(t, h, now) != 0) {
				t->b.r.errors++;
			}
		}
		curl_multi_poll(t->m, NULL, 0, 20, NULL);
	}
	return NULL;
}

static int thr_init(struct bc_thr *bt)
{
	struct thr *t = (struct thr *)bt;
	const struct bc_load *ld = bt->ld;
	int ti = bt->index;
	size_t v = ld->spec->value_bytes;
	char *raw = malloc(v + 1);

	t->m = curl_multi_init();
	t->h = calloc((size_t)t->b.n, sizeof(*t->h));
	t->value64 = malloc(v / 3 * 4 + 8);
	if (raw == NULL || t->m == NULL || t->h == NULL || t->value64 == NULL) {
		free(raw);
		return -1;
	}
	for (size_t b = 0; b < v; b++) {
		raw[b] = (char)('a' + (b * 7 + (unsigned)ti) % 26);
	}
	bc_b64(raw, v, t->value64);
	free(raw);
	snprintf(t->url[0], sizeof(t->url[0]), "http://127.0.0.1:%d/v3/kv/put",
		 ld->port);
	snprintf(t->url[1], sizeof(t->url[1]),
		 "http://127.0.0.1:%d/v3/kv/range", ld->port);
	snprintf(t->url[2], sizeof(t->url[2]), "http://127.0.0.1:%d/v3/kv/txn",
		 ld->port);
	t->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	t->hdrs = curl_slist_append(t->hdrs, "Expect:");
	/* A connection per client, kept alive between its requests. */
	curl_multi_setopt(t->m, CURLMOPT_MAXCONNECTS, (long)t->b.n + 4);
	curl_multi_setopt(t->m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	for (int i = 0; i < t->b.n; i++) {
		struct hc *h = &t->h[i];

		h->client = t->b.first + i;
		h->e = curl_easy_init();
		if (h->e == NULL) {
			return -1;
		}
		curl_easy_setopt(h->e, CURLOPT_PRIVATE, (char *)h);
		curl_easy_setopt(h->e, CURLOPT_HTTPHEADER, t->hdrs);
		curl_easy_setopt(h->e, CURLOPT_WRITEFUNCTION, bc_body_sink);
		curl_easy_setopt(h->e, CURLOPT_WRITEDATA, &h->resp);
		curl_easy_setopt(h->e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h->e, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(h->e, CURLOPT_HTTP_VERSION,
				 (long)CURL_HTTP_VERSION_1_1);
		curl_easy_setopt(h->e, CURLOPT_TIMEOUT_MS, 30000L);
	}
	return 0;
}

static void thr_free(struct bc_thr *bt)
{
	struct thr *t = (struct thr *)bt;

	for (int i = 0; t->h != NULL && i < t->b.n; i++) {
		if (t->h[i].e != NULL) {
			curl_multi_remove_handle(t->m, t->h[i].e);
			curl_easy_cleanup(t->h[i].e);
		}
		free(t->h[i].body);
		free(t->h[i].resp.p);
	}
	if (t->m != NULL) {
		curl_multi_cleanup(t->m);
	}
	curl_slist_free_all(t->hdrs);
	free(t->h);
	free(t->value64);
}

int bc_http_run(struct bc_load *ld)
{
	static const struct bc_thr_ops ops = {
	    .size = sizeof(struct thr),
	    .init = thr_init,
	    .main = thread_main,
	    .fini = thr_free,
	    .setup_error = "cannot set up the etcd clients",
	};

	return bc_run_threads(ld, &ops);
}

#else /* !BC_HAVE_CURL */

bool bc_http_available(void)
{
	return false;
}

void bc_http_global(bool init)
{
	(void)init;
}

int bc_http_run(struct bc_load *ld)
{
	snprintf(ld->res->error, sizeof(ld->res->error),
		 "built without libcurl: no etcd driver");
	return -1;
}

#endif
