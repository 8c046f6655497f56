/* etcd_json.c — the pieces of etcd JSON-gateway requests that the cluster
 * benchmark (http.c) and the trace replay (trace/trace_etcd.c) both build:
 * base64 keys and values, one txn operation, and the reply sink. */
#include <stdlib.h>
#include <string.h>

#include "bench_cluster.h"

size_t bc_b64(const char *in, size_t len, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
				"rstuvwxyz0123456789+/="; /* [64]: padding */
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		v |= i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0;
		v |= i + 2 < len ? p[i + 2] : 0;
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = t[i + 1 < len ? v >> 6 & 63 : 64];
		out[o++] = t[i + 2 < len ? v & 63 : 64];
	}
	out[o] = '\0';
	return o;
}

size_t bc_etcd_txn_op(char *o, bool first, const char *key, size_t klen,
		      const char *val, size_t vlen)
{
	size_t n = 0;

	if (!first) {
		o[n++] = ',';
	}
	n += (size_t)sprintf(o + n, "{\"request%s\":{\"key\":\"",
			     val != NULL ? "Put" : "Range");
	n += bc_b64(key, klen, o + n);
	if (val != NULL) {
		n += (size_t)sprintf(o + n, "\",\"value\":\"");
		n += bc_b64(val, vlen, o + n);
	}
	n += (size_t)sprintf(o + n, "\"}}");
	return n;
}

size_t bc_body_sink(char *p, size_t size, size_t nmemb, void *arg)
{
	struct bc_body *b = arg;
	size_t len = size * nmemb;

	if (b->cap - b->len < len + 1) {
		size_t cap = (b->len + len + 1) * 2;
		char *np = realloc(b->p, cap);

		if (np == NULL) {
			return 0; /* curl fails the transfer */
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}
