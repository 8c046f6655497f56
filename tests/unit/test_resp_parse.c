/* test_resp_parse.c — RESP2 parser: split points, pipelining, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heap.h"
#include "resp_parse.h"

static const struct resp_parse_limits big = {
    .args_max = 1024 * 1024,
    .bulk_bytes_max = 64u << 20,
    .request_bytes_max = 64u << 20,
};

/* A printable record of parsed requests: "argc|len:bytes|len:bytes;". */
struct rec {
	char *s;
	size_t len;
	size_t cap;
};

static void rec_add(struct rec *r, const char *p, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		r->s = realloc(r->s, r->cap);
		assert_non_null(r->s);
	}
	memcpy(r->s + r->len, p, n);
	r->len += n;
	r->s[r->len] = '\0';
}

static void rec_req(struct rec *r, const struct resp_request *req)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%u", req->argc);
	rec_add(r, tmp, strlen(tmp));
	for (uint32_t i = 0; i < req->argc; i++) {
		snprintf(tmp, sizeof(tmp), "|%zu:", req->argv[i].len);
		rec_add(r, tmp, strlen(tmp));
		rec_add(r, req->argv[i].ptr, req->argv[i].len);
	}
	rec_add(r, ";", 1);
}

/* Parse @in in one buffer; returns 0 or the error code; *@out records. */
static int parse_whole(const char *in, size_t n,
		       const struct resp_parse_limits *lim, struct rec *out,
		       char *errmsg)
{
	char *buf = malloc(n + 1);
	assert_non_null(buf);
	memcpy(buf, in, n);
	struct resp_parser p;
	resp_parser_init(&p, lim);
	size_t at = 0;
	int rv = 0;
	while (at < n) {
		struct resp_request req;
		rv = resp_parse(&p, buf + at, n - at, &req);
		if (rv != 0) {
			break;
		}
		rec_req(out, &req);
		at += req.bytes;
	}
	if (rv != 0 && errmsg != NULL) {
		strcpy(errmsg, p.errmsg);
	}
	resp_parser_close(&p);
	free(buf);
	return rv == FR_AGAIN && at == n ? 0 : rv;
}

/*
 * Feed @in one byte at a time, as a connection whose every read returns one
 * byte, moving the buffer to a fresh allocation before each call: the parser
 * must keep offsets, not pointers.  Returns the final code as parse_whole().
 */
static int parse_bytewise(const char *in, size_t n, struct rec *out)
{
	struct resp_parser p;
	resp_parser_init(&p, &big);
	char *buf = NULL;
	size_t start = 0;
	int rv = FR_AGAIN;
	for (size_t have = 1; have <= n; have++) {
		char *nb = malloc(have);
		assert_non_null(nb);
		if (buf != NULL) {
			memcpy(nb, buf, have - 1);
			free(buf);
		}
		nb[have - 1] = in[have - 1];
		buf = nb;
		for (;;) {
			struct resp_request req;
			rv = resp_parse(&p, buf + start, have - start, &req);
			if (rv != 0) {
				break;
			}
			rec_req(out, &req);
			start += req.bytes;
		}
		if (rv != FR_AGAIN) {
			break;
		}
	}
	free(buf);
	resp_parser_close(&p);
	return rv == FR_AGAIN && start == n ? 0 : rv;
}

static const char mixed[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n"
			    "PING\r\n"
			    "*1\r\n$4\r\nPING\r\n"
			    "\r\n"
			    "*0\r\n"
			    "set \"a b\" 'c d' \"\\x41\\n\" e\n"
			    "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
			    "*-1\r\n"
			    "  GET   k  \r\n";

static const char mixed_expect[] = "3|3:SET|3:key|5:va\r\nl;"
				   "1|4:PING;"
				   "1|4:PING;"
				   "0;"
				   "0;"
				   "5|3:set|3:a b|3:c d|2:A\n|1:e;"
				   "2|4:ECHO|0:;"
				   "0;"
				   "2|3:GET|1:k;";

static void whole_buffer(void **state)
{
	(void)state;
	struct rec r = {0};
	assert_int_equal(parse_whole(mixed, sizeof(mixed) - 1, &big, &r, NULL),
			 0);
	assert_string_equal(r.s, mixed_expect);
	free(r.s);
}

static void every_split_point(void **state)
{
	(void)state;
	/* Byte at a time is every split point at once: each request is
	 * resumed after every one of its bytes. */
	struct rec r = {0};
	assert_int_equal(parse_bytewise(mixed, sizeof(mixed) - 1, &r), 0);
	assert_string_equal(r.s, mixed_expect);
	free(r.s);
	/* And each single split into two reads. */
	for (size_t cut = 0; cut <= sizeof(mixed) - 1; cut++) {
		struct resp_parser p;
		resp_parser_init(&p, &big);
		char buf[sizeof(mixed)];
		memcpy(buf, mixed, sizeof(mixed));
		struct rec q = {0};
		size_t start = 0;
		size_t have = cut;
		for (int round = 0; round < 2; round++) {
			struct resp_request req;
			while (resp_parse(&p, buf + start, have - start,
					  &req) == 0) {
				rec_req(&q, &req);
				start += req.bytes;
			}
			have = sizeof(mixed) - 1;
		}
		assert_int_equal(start, sizeof(mixed) - 1);
		assert_string_equal(q.s, mixed_expect);
		free(q.s);
		resp_parser_close(&p);
	}
}

static void pipeline_1000(void **state)
{
	(void)state;
	size_t cap = 1000 * 80;
	char *in = malloc(cap);
	struct rec want = {0};
	size_t n = 0;
	for (int i = 0; i < 1000; i++) {
		char k[32];
		char v[32];
		int kl = snprintf(k, sizeof(k), "key:%d", i);
		int vl = snprintf(v, sizeof(v), "value-%d", i * 7);
		n += (size_t)snprintf(in + n, cap - n,
				      "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n"
				      "%s\r\n",
				      kl, k, vl, v);
		char line[128];
		snprintf(line, sizeof(line), "3|3:SET|%d:%s|%d:%s;", kl, k, vl,
			 v);
		rec_add(&want, line, strlen(line));
	}
	struct rec got = {0};
	assert_int_equal(parse_whole(in, n, &big, &got, NULL), 0);
	assert_string_equal(got.s, want.s);
	free(got.s);
	got = (struct rec){0};
	assert_int_equal(parse_bytewise(in, n, &got), 0);
	assert_string_equal(got.s, want.s);
	free(got.s);
	free(want.s);
	free(in);
}

struct bad_case {
	const char *in;
	size_t len; /* 0: strlen */
	int rv;
	const char *msg;
};

static void malformed(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	    {"*2\r\n$3\r\nGET\r\n$-1\r\n", 0, FR_MALFORMED,
	     "Protocol error: invalid bulk length"},
	    /* 2^62, refused at its 19th digit, before any CRLF. */
	    {"*1\r\n$4611686018427387904", 0, FR_MALFORMED,
	     "Protocol error: invalid bulk length"},
	    {"*1\r\n$4611686018427387904\r\n", 0, FR_MALFORMED,
	     "Protocol error: invalid bulk length"},
	    {"*1\r\n$999999999999999999\r\n", 0, FR_TOOBIG,
	     "Protocol error: invalid bulk length"},
	    {"*-5\r\n", 0, FR_MALFORMED,
	     "Protocol error: invalid multibulk length"},
	    {"*4611686018427387904\r\n", 0, FR_MALFORMED,
	     "Protocol error: invalid multibulk length"},
	    {"*2000000\r\n", 0, FR_TOOBIG,
	     "Protocol error: invalid multibulk length"},
	    {"*abc", 0, FR_MALFORMED,
	     "Protocol error: invalid multibulk length"},
	    {"*1\r\r", 0, FR_MALFORMED,
	     "Protocol error: invalid multibulk length"},
	    {"*-0\r\n", 0, FR_MALFORMED,
	     "Protocol error: invalid multibulk length"},
	    {"*1\r\nX3\r\nGET\r\n", 0, FR_MALFORMED,
	     "Protocol error: expected '$', got 'X'"},
	    {"*1\r\n\x01", 5, FR_MALFORMED,
	     "Protocol error: expected '$', got '\\x01'"},
	    {"*1\r\n$3\r\nGETXX", 0, FR_MALFORMED,
	     "Protocol error: expected CRLF after bulk data"},
	    {"*1\r\n$3x", 0, FR_MALFORMED,
	     "Protocol error: invalid bulk length"},
	    {"*1\r\n$01\r\nA\r\n", 0, FR_MALFORMED,
	     "Protocol error: invalid bulk length"},
	    {"*1\r\n$\r\n", 0, FR_MALFORMED,
	     "Protocol error: invalid bulk length"},
	    {"*1\r\n$+1\r\n", 0, FR_MALFORMED,
	     "Protocol error: invalid bulk length"},
	    {"SET \"a b\n", 0, FR_MALFORMED,
	     "Protocol error: unbalanced quotes in request"},
	    {"SET \"a\"b\n", 0, FR_MALFORMED,
	     "Protocol error: unbalanced quotes in request"},
	    {"SET 'a\n", 0, FR_MALFORMED,
	     "Protocol error: unbalanced quotes in request"},
	    {"GET \x00k\n", 7, FR_MALFORMED,
	     "Protocol error: unexpected byte '\\x00' in inline request"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		size_t n = c->len != 0 ? c->len : strlen(c->in);
		struct rec r = {0};
		char msg[256] = "";
		int rv = parse_whole(c->in, n, &big, &r, msg);
		if (rv != c->rv || strcmp(msg, c->msg) != 0) {
			fail_msg("case %zu: rv %d msg '%s'", i, rv, msg);
		}
		free(r.s);
	}
}

static void inline_too_big(void **state)
{
	(void)state;
	size_t n = RESP_INLINE_MAX + 10;
	char *in = malloc(n);
	memset(in, 'A', n);
	struct rec r = {0};
	char msg[256];
	assert_int_equal(parse_whole(in, n, &big, &r, msg), FR_TOOBIG);
	assert_string_equal(msg, "Protocol error: too big inline request");
	/* Just under the limit it waits for more. */
	struct resp_parser p;
	resp_parser_init(&p, &big);
	struct resp_request req;
	assert_int_equal(resp_parse(&p, in, RESP_INLINE_MAX - 1, &req),
			 FR_AGAIN);
	resp_parser_close(&p);
	free(in);
	free(r.s);
}

static void limits(void **state)
{
	(void)state;
	struct resp_parse_limits lim = {
	    .args_max = 3,
	    .bulk_bytes_max = 10,
	    .request_bytes_max = 40,
	};
	struct rec r = {0};
	char msg[256];
	assert_int_equal(parse_whole("*4\r\n", 4, &lim, &r, msg), FR_TOOBIG);
	assert_string_equal(msg, "Protocol error: invalid multibulk length");
	assert_int_equal(parse_whole("*1\r\n$11\r\n", 9, &lim, &r, msg),
			 FR_TOOBIG);
	assert_string_equal(msg, "Protocol error: invalid bulk length");
	/* 4 + (4+10+2) + 16 = 36 fits; a third argument would not. */
	const char ok[] = "*2\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n";
	assert_int_equal(parse_whole(ok, sizeof(ok) - 1, &lim, &r, msg), 0);
	const char over[] = "*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n"
			    "$1\r\n";
	assert_int_equal(parse_whole(over, sizeof(over) - 1, &lim, &r, msg),
			 FR_TOOBIG);
	assert_string_equal(msg, "Protocol error: request larger than 40 "
				 "bytes");
	assert_int_equal(parse_whole("a b c d\n", 8, &lim, &r, msg), FR_TOOBIG);
	free(r.s);
}

/* A declared length is not trusted for anything but a comparison: asking
 * for 60 MiB makes the parser wait (need) but allocate nothing big. */
static void need_hint(void **state)
{
	(void)state;
	struct resp_parser p;
	resp_parser_init(&p, &big);
	char in[] = "*1\r\n$60000000\r\nabc";
	struct resp_request req;
	assert_int_equal(resp_parse(&p, in, sizeof(in) - 1, &req), FR_AGAIN);
	assert_int_equal(p.need, 4 + 11 + 60000000 + 2);
	assert_true(p.cap <= 16);
	resp_parser_close(&p);
}

static void out_of_memory(void **state)
{
	(void)state;
	struct resp_parser p;
	resp_parser_init(&p, &big);
	char in[] = "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n";
	struct resp_request req;
	fr_heap_fault_config(0, 1);
	assert_int_equal(resp_parse(&p, in, sizeof(in) - 1, &req), FR_NOMEM);
	fr_heap_fault_config(-1, 0);
	assert_int_equal(resp_parse(&p, in, sizeof(in) - 1, &req), 0);
	assert_int_equal(req.argc, 2);
	assert_memory_equal(req.argv[1].ptr, "hi", 2);
	resp_parser_close(&p);
}

/* Random bytes (and random bytes behind a '*'): every run ends in a
 * protocol error or an incomplete request, never a crash, and the argument
 * arrays stay small. */
static void garbage_flood(void **state)
{
	(void)state;
	size_t n = 1 << 20;
	char *buf = malloc(n);
	uint32_t x = 0x12345678;
	for (int seed = 0; seed < 64; seed++) {
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u + (uint32_t)seed;
			buf[i] = (char)(x >> 23);
		}
		if (seed % 2 == 1) {
			buf[0] = '*';
		}
		struct resp_parser p;
		resp_parser_init(&p, &big);
		size_t at = 0;
		int rv;
		struct resp_request req;
		while ((rv = resp_parse(&p, buf + at, n - at, &req)) == 0) {
			at += req.bytes;
		}
		assert_true(rv == FR_MALFORMED || rv == FR_TOOBIG ||
			    rv == FR_AGAIN);
		if (rv != FR_AGAIN) {
			assert_true(strncmp(p.errmsg, "Protocol error: ", 16) ==
				    0);
		}
		assert_true(p.cap <= 1024);
		resp_parser_close(&p);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(whole_buffer),
	    cmocka_unit_test(every_split_point),
	    cmocka_unit_test(pipeline_1000),
	    cmocka_unit_test(malformed),
	    cmocka_unit_test(inline_too_big),
	    cmocka_unit_test(limits),
	    cmocka_unit_test(need_hint),
	    cmocka_unit_test(out_of_memory),
	    cmocka_unit_test(garbage_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
