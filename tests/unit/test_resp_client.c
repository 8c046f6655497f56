/* test_resp_client.c — the RESP client: encoder output, the reply parser on
 * every split, nesting, nil, errors, bounds, allocation failures, and the
 * blocking helpers over a socketpair. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "heap.h"
#include "resp_client.h"

/* cmocka's checked allocator behind heap.h: every test fails on a leak. */
static void *h_malloc(void *d, size_t s)
{
	return test_malloc(s);
}

static void *h_calloc(void *d, size_t n, size_t s)
{
	return test_calloc(n, s);
}

static void *h_realloc(void *d, void *p, size_t s)
{
	return test_realloc(p, s);
}

static void h_free(void *d, void *p)
{
	test_free(p);
}

static const struct fr_heap checked = {
    .malloc = h_malloc,
    .calloc = h_calloc,
    .realloc = h_realloc,
    .free = h_free,
};

static int setup(void **state)
{
	fr_heap_set(&checked);
	return 0;
}

static int teardown(void **state)
{
	fr_heap_fault_config(-1, 0);
	fr_heap_set(NULL);
	return 0;
}

static void encode_argv(void **state)
{
	static const char want[] =
	    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n"
	    "*1\r\n$0\r\n\r\n";
	const char *argv[] = {"SET", "k", "a\0b"};
	const size_t lens[] = {3, 1, 3};
	const char *empty[] = {""};
	struct respc_buf b = {0};

	assert_int_equal(respc_encode(&b, 3, argv, lens), 0);
	assert_int_equal(respc_encode(&b, 1, empty, NULL), 0);
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.data, want, b.len);
	respc_buf_consume(&b, 4);
	assert_memory_equal(b.data, "$3\r\nSET", 7);
	respc_buf_free(&b);
	assert_null(b.data);
}

/* Two pipelined replies covering every type, nil of both kinds, an error
 * and two levels of nesting. */
static const char stream[] = "*5\r\n+OK\r\n:-42\r\n$5\r\nhe\r\no\r\n"
			     "*3\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n"
			     "-ERR boom\r\n";
static const size_t first_len = sizeof(stream) - 1 - 11;

static void check_first(const struct respc_reply *r)
{
	assert_int_equal(r->type, '*');
	assert_int_equal(r->n, 5);
	assert_int_equal(r->integer, 5);
	assert_int_equal(r->elem[0].type, '+');
	assert_string_equal(r->elem[0].str, "OK");
	assert_int_equal(r->elem[1].type, ':');
	assert_int_equal(r->elem[1].integer, -42);
	assert_int_equal(r->elem[2].type, '$');
	assert_int_equal(r->elem[2].len, 5);
	assert_memory_equal(r->elem[2].str, "he\r\no", 6);
	assert_int_equal(r->elem[3].type, '*');
	assert_int_equal(r->elem[3].n, 3);
	assert_true(respc_reply_is_nil(&r->elem[3].elem[0]));
	assert_int_equal(r->elem[3].elem[0].type, '$');
	assert_true(respc_reply_is_nil(&r->elem[3].elem[1]));
	assert_int_equal(r->elem[3].elem[1].type, '*');
	assert_false(respc_reply_is_nil(&r->elem[3].elem[2]));
	assert_int_equal(r->elem[3].elem[2].n, 0);
	assert_int_equal(r->elem[4].type, '$');
	assert_int_equal(r->elem[4].len, 0);
	assert_string_equal(r->elem[4].str, "");
}

/* Feed @stream cut at @a and @b; both replies must come out whole. */
static void parse_split(size_t a, size_t b)
{
	const size_t cuts[] = {0, a, b, sizeof(stream) - 1};
	struct respc_reader rd;
	struct respc_reply r[3];
	size_t wire[3];
	int got = 0;

	assert_int_equal(respc_reader_init(&rd, 0), 0);
	for (int i = 0; i < 3; i++) {
		int rv;

		assert_int_equal(respc_reader_feed(&rd, stream + cuts[i],
						   cuts[i + 1] - cuts[i]),
				 0);
		while ((rv = respc_reader_next(&rd, &r[got], &wire[got])) ==
		       0) {
			got++;
			assert_true(got <= 2);
		}
		/* Not yet complete: nothing, and the reply left empty. */
		assert_int_equal(rv, FR_AGAIN);
		assert_int_equal(r[got].type, 0);
	}
	assert_int_equal(got, 2);
	check_first(&r[0]);
	assert_int_equal(wire[0], first_len);
	assert_int_equal(r[1].type, '-');
	assert_string_equal(r[1].str, "ERR boom");
	assert_int_equal(wire[1], 11);
	respc_reply_free(&r[0]);
	respc_reply_free(&r[1]);
	respc_reply_free(&r[1]); /* empty now: a no-op */
	respc_reader_close(&rd);
}

static void parse_every_split(void **state)
{
	for (size_t a = 0; a < sizeof(stream); a++) {
		for (size_t b = a; b < sizeof(stream); b += 7) {
			parse_split(a, b);
		}
	}
}

static void parse_byte_by_byte(void **state)
{
	struct respc_reader rd;
	struct respc_reply r;
	size_t wire = 0;
	int got = 0;

	assert_int_equal(respc_reader_init(&rd, 0), 0);
	for (size_t i = 0; i < sizeof(stream) - 1; i++) {
		int rv;

		assert_int_equal(respc_reader_feed(&rd, stream + i, 1), 0);
		rv = respc_reader_next(&rd, &r, &wire);
		if (rv == 0) {
			assert_int_equal(wire, got == 0 ? first_len : 11);
			assert_int_equal(i + 1, got == 0 ? first_len
							 : sizeof(stream) - 1);
			if (got == 0) {
				check_first(&r);
			}
			respc_reply_free(&r);
			got++;
		} else {
			assert_int_equal(rv, FR_AGAIN);
		}
	}
	assert_int_equal(got, 2);
	respc_reader_close(&rd);
}

/* hiredis drops parsed bytes from its buffer once 1 KiB is consumed; the
 * wire length of each reply must not notice. */
static void wire_lengths_long_stream(void **state)
{
	static const char *const replies[] = {"+OK\r\n", ":12345\r\n",
					      "$10\r\n0123456789\r\n",
					      "*2\r\n$1\r\na\r\n:1\r\n"};
	struct respc_buf in = {0};
	struct respc_reader rd;
	size_t off = 0;
	int got = 0;

	for (int i = 0; i < 400; i++) {
		const char *r = replies[i % 4];

		assert_int_equal(respc_buf_put(&in, r, strlen(r)), 0);
	}
	assert_int_equal(respc_reader_init(&rd, 0), 0);
	while (off < in.len) {
		size_t k = in.len - off < 333 ? in.len - off : 333;
		struct respc_reply r;
		size_t wire;
		int rv;

		assert_int_equal(respc_reader_feed(&rd, in.data + off, k), 0);
		off += k;
		while ((rv = respc_reader_next(&rd, &r, &wire)) == 0) {
			assert_int_equal(wire, strlen(replies[got % 4]));
			respc_reply_free(&r);
			got++;
		}
		assert_int_equal(rv, FR_AGAIN);
	}
	assert_int_equal(got, 400);
	respc_reader_close(&rd);
	respc_buf_free(&in);
}

/* Parse @in whole with @bytes_max; the result code. */
static int parse_one(const char *in, size_t len, size_t bytes_max,
		     struct respc_reply *r)
{
	struct respc_reader rd;
	int rv;

	assert_int_equal(respc_reader_init(&rd, bytes_max), 0);
	assert_int_equal(respc_reader_feed(&rd, in, len), 0);
	rv = respc_reader_next(&rd, r, NULL);
	if (rv != 0 && rv != FR_AGAIN) {
		/* The reader stays failed, and says why. */
		assert_true(rd.err[0] != '\0');
		assert_int_equal(respc_reader_next(&rd, r, NULL), rv);
		assert_int_equal(respc_reader_feed(&rd, "+OK\r\n", 5), rv);
		assert_int_equal(r->type, 0);
	}
	respc_reader_close(&rd);
	return rv;
}

static void nesting(void **state)
{
	char in[256] = "";
	struct respc_reply r;
	const struct respc_reply *p = &r;
	int depth = 0;

	/* Eight arrays deep holds (hiredis's limit) ... */
	for (int i = 0; i < 8; i++) {
		strcat(in, "*1\r\n");
	}
	strcat(in, ":7\r\n");
	assert_int_equal(parse_one(in, strlen(in), 0, &r), 0);
	while (p->type == '*') {
		assert_int_equal(p->n, 1);
		p = &p->elem[0];
		depth++;
	}
	assert_int_equal(depth, 8);
	assert_int_equal(p->integer, 7);
	respc_reply_free(&r);
	/* ... one more is refused, not a stack overflow. */
	memmove(in + 4, in, strlen(in) + 1);
	assert_int_equal(parse_one(in, strlen(in), 0, &r), FR_MALFORMED);
}

static void malformed(void **state)
{
	static const char *const bad[] = {
	    "?what\r\n",
	    "$abc\r\n",
	    "*x\r\n",
	    "*1\r\n!\r\n",
	};
	struct respc_reply r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_one(bad[i], strlen(bad[i]), 0, &r),
				 FR_MALFORMED);
	}
}

static void oversize(void **state)
{
	char in[400];
	struct respc_reply r;

	/* A bulk string larger than the bound, before all of it arrives. */
	memset(in, 'x', sizeof(in));
	memcpy(in, "$1000\r\n", 7);
	assert_int_equal(parse_one(in, sizeof(in), 256, &r), FR_TOOBIG);
	/* A line that never ends. */
	memset(in, 'y', sizeof(in));
	in[0] = '+';
	assert_int_equal(parse_one(in, sizeof(in), 256, &r), FR_TOOBIG);
	/* Many small elements add up. */
	strcpy(in, "*100\r\n");
	for (int i = 0; i < 40; i++) {
		strcat(in, ":1\r\n");
	}
	assert_int_equal(parse_one(in, strlen(in), 256, &r), FR_TOOBIG);
	/* Just within the bound. */
	assert_int_equal(parse_one("$3\r\nabc\r\n", 9, 256, &r), 0);
	respc_reply_free(&r);
}

/* A declared count is not trusted: nothing is allocated for it up front
 * (the checked heap would refuse gigabytes) and the reply just waits. */
static void huge_count(void **state)
{
	static const char in[] = "*2000000000\r\n:1\r\n$2\r\nab\r\n";
	struct respc_reply r;

	assert_int_equal(parse_one(in, sizeof(in) - 1, 0, &r), FR_AGAIN);
	assert_int_equal(parse_one("$99999999999\r\nab", 16, 0, &r), FR_AGAIN);
}

/* Every allocation of the tree may fail; nothing leaks either way. */
static void alloc_failures(void **state)
{
	int fails = 0;

	for (int i = 0; i < 64; i++) {
		struct respc_reader rd;
		struct respc_reply r;
		int rv;

		assert_int_equal(respc_reader_init(&rd, 0), 0);
		fr_heap_fault_config(i, 1);
		assert_int_equal(
		    respc_reader_feed(&rd, stream, sizeof(stream) - 1), 0);
		rv = respc_reader_next(&rd, &r, NULL);
		fr_heap_fault_config(-1, 0);
		if (rv == 0) {
			check_first(&r);
			respc_reply_free(&r);
		} else {
			assert_int_equal(rv, FR_NOMEM);
			fails++;
		}
		respc_reader_close(&rd);
	}
	assert_true(fails > 5);
}

/* A connection over a socketpair: @peer plays the server. */
static void pair(struct respc_conn *c, int *peer, int timeout_ms)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(c, 0, sizeof(*c));
	c->fd = sv[0];
	c->timeout_ms = timeout_ms;
	assert_int_equal(respc_reader_init(&c->rd, 0), 0);
	*peer = sv[1];
}

static void conn_round_trip(void **state)
{
	static const char req[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
	const char *argv[] = {"GET", "k"};
	struct respc_conn c;
	struct respc_reply r;
	char buf[64];
	int peer;

	pair(&c, &peer, 2000);
	assert_int_equal(write(peer, "$3\r\nv", 5), 5);
	assert_int_equal(write(peer, "al\r\n", 4), 4);
	assert_int_equal(respc_command(&c, &r, 2, argv), 0);
	assert_int_equal(read(peer, buf, sizeof(buf)), sizeof(req) - 1);
	assert_memory_equal(buf, req, sizeof(req) - 1);
	assert_int_equal(r.type, '$');
	assert_string_equal(r.str, "val");
	respc_reply_free(&r);
	/* AUTH refused: FR_AUTH with the server's words. */
	assert_int_equal(write(peer, "-WRONGPASS no\r\n", 15), 15);
	assert_int_equal(respc_auth(&c, "pw"), FR_AUTH);
	assert_non_null(strstr(c.err, "WRONGPASS"));
	/* No answer: the deadline. */
	assert_int_equal(respc_command(&c, &r, 2, argv), FR_TIMEOUT);
	assert_int_equal(r.type, 0);
	/* The server goes away. */
	close(peer);
	assert_int_equal(respc_read(&c, &r), FR_NOCONN);
	respc_close(&c);
	respc_close(&c);
}

static void conn_bad_reply(void **state)
{
	struct respc_conn c;
	struct respc_reply r;
	int peer;

	pair(&c, &peer, 2000);
	assert_int_equal(write(peer, "&oops\r\n", 7), 7);
	assert_int_equal(respc_read(&c, &r), FR_MALFORMED);
	assert_non_null(strstr(c.err, "bad reply"));
	close(peer);
	respc_close(&c);
}

static void conn_connect_errors(void **state)
{
	struct respc_conn c;
	struct respc_conn never = {.fd = -1};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[64];

	respc_close(&never);
	assert_int_equal(respc_connect(&c, "no-port", 100), FR_INVALID);
	assert_non_null(strstr(c.err, "bad address"));
	respc_close(&c);
	/* A port nobody listens on: bind one, then close it. */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd,
			      (struct sockaddr *)&(struct sockaddr_in){
				  .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(0x7f000001)},
			      sizeof(struct sockaddr_in)),
			 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u",
		 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	close(fd);
	assert_int_equal(respc_connect(&c, addr, 1000), FR_NOCONN);
	assert_int_equal(c.fd, -1);
	assert_non_null(strstr(c.err, "connect"));
	respc_close(&c);
}

static void info_field(void **state)
{
	static const char info[] = "# Server\r\nrole:leader\r\nterm:7\r\n"
				   "leader_id:2";
	char out[8];

	respc_info_field(info, "role", out, sizeof(out));
	assert_string_equal(out, "leader");
	respc_info_field(info, "leader_id", out, sizeof(out));
	assert_string_equal(out, "2");
	respc_info_field(info, "ter", out, sizeof(out));
	assert_string_equal(out, "");
	respc_info_field("role:follower-of-many", "role", out, sizeof(out));
	assert_string_equal(out, "followe");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(encode_argv),
	    T(parse_every_split),
	    T(parse_byte_by_byte),
	    T(wire_lengths_long_stream),
	    T(nesting),
	    T(malformed),
	    T(oversize),
	    T(huge_count),
	    T(alloc_failures),
	    T(conn_round_trip),
	    T(conn_bad_reply),
	    T(conn_connect_errors),
	    T(info_field),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
