/* fuzz_resp_parse.c — libFuzzer target: the RESP2 request parser.
 *
 * Parses the input once whole and once in chunks (sizes taken from the
 * first byte), as a connection reading in pieces would.  Both must agree on
 * every request and on the final outcome, every argument must lie inside
 * the buffer, and no request may pass the limits.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct resp_parse_limits lim = {
    .args_max = 64,
    .bulk_bytes_max = 4096,
    .request_bytes_max = 16384,
};

/* Digest of parsed requests, so the two runs can be compared cheaply. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ c[i]) * 1099511628211ull;
	}
	return h;
}

static uint64_t record(uint64_t h, const char *buf, size_t len,
		       const struct resp_request *req)
{
	assert(req->bytes > 0 && req->bytes <= len);
	assert(req->bytes <= lim.request_bytes_max ||
	       req->bytes <= RESP_INLINE_MAX);
	assert(req->argc <= lim.args_max);
	h = mix(h, &req->argc, sizeof(req->argc));
	for (uint32_t i = 0; i < req->argc; i++) {
		const struct resp_arg *a = &req->argv[i];
		assert(a->ptr >= buf && a->ptr + a->len <= buf + req->bytes);
		assert(a->len <= lim.bulk_bytes_max);
		h = mix(h, &a->len, sizeof(a->len));
		h = mix(h, a->ptr, a->len);
	}
	return h;
}

/* Returns the final code; *digest covers every complete request. */
static int run(const uint8_t *data, size_t size, size_t step, uint64_t *digest,
	       size_t *used)
{
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	struct resp_parser p;
	resp_parser_init(&p, &lim);
	uint64_t h = 14695981039346656037ull;
	size_t start = 0;
	size_t have = step < size ? step : size;
	int rv = FR_AGAIN;
	for (;;) {
		struct resp_request req;
		rv = resp_parse(&p, buf + start, have - start, &req);
		if (rv == 0) {
			h = record(h, buf + start, have - start, &req);
			start += req.bytes;
			continue;
		}
		if (rv != FR_AGAIN || have == size) {
			break;
		}
		have = have + step < size ? have + step : size;
	}
	if (rv != FR_AGAIN) {
		assert(rv == FR_MALFORMED || rv == FR_TOOBIG);
		assert(strncmp(p.errmsg, "Protocol error: ", 16) == 0);
	}
	resp_parser_close(&p);
	free(buf);
	*digest = h;
	*used = start;
	return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	size_t step = (size_t)(data[0] % 17) + 1;
	data++;
	size--;
	uint64_t d1;
	uint64_t d2;
	size_t u1;
	size_t u2;
	int r1 = run(data, size, size > 0 ? size : 1, &d1, &u1);
	int r2 = run(data, size, step, &d2, &u2);
	assert(r1 == r2 && d1 == d2 && u1 == u2);
	return 0;
}
