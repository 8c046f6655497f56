/* test_resp_server.c — the RESP server over real loopback sockets:
 * built-ins, AUTH, ordered async replies, limits, bad input, 1,100 clients. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "heap.h"
#include "test_resp_util.h"
#include "trace.h"

#define LATER_MAX 4096

/* The loopback test backend. */
struct tb {
	struct resp_req later[LATER_MAX]; /* handles of LATER requests */
	char later_val[LATER_MAX][32];	  /* their values */
	int nlater;
	uint64_t closed[8192]; /* ids of closed connections */
	int nclosed;
	int calls; /* command() calls */
};

static void reply_simple(const struct resp_req *req, const char *s)
{
	struct resp_buf b;
	resp_buf_init(&b, 0);
	resp_buf_simple(&b, s);
	assert_int_equal(resp_buf_err(&b), 0);
	assert_int_equal(resp_req_complete(req, b.data, b.len), 0);
	resp_buf_close(&b);
}

/*
 *   NOW x      +x at once
 *   LATER x    +x when the test says (tb_complete)
 *   BIG n      a bulk of n bytes at once
 *   FAIL       returns FR_BUSY (the library answers)
 *   else       Redis' unknown-command error
 */
static int tb_command(void *ctx, const struct resp_req *req, uint32_t argc,
		      const struct resp_arg *argv)
{
	struct tb *t = ctx;
	t->calls++;
	char v[32] = "";
	if (argc >= 2) {
		size_t n = argv[1].len < 31 ? argv[1].len : 31;
		memcpy(v, argv[1].ptr, n);
		v[n] = '\0';
	}
	if (resp_arg_is(&argv[0], "now") && argc == 2) {
		reply_simple(req, v);
	} else if (resp_arg_is(&argv[0], "later") && argc == 2) {
		assert_true(t->nlater < LATER_MAX);
		t->later[t->nlater] = *req;
		strcpy(t->later_val[t->nlater], v);
		t->nlater++;
	} else if (resp_arg_is(&argv[0], "big") && argc == 2) {
		size_t n = (size_t)atol(v);
		char *p = malloc(n + 1);
		memset(p, 'x', n);
		struct resp_buf b;
		resp_buf_init(&b, 0);
		resp_buf_bulk(&b, p, n);
		(void)resp_req_complete(req, b.data, b.len);
		resp_buf_close(&b);
		free(p);
	} else if (resp_arg_is(&argv[0], "fail")) {
		return FR_BUSY;
	} else {
		struct resp_buf b;
		resp_buf_init(&b, 0);
		resp_buf_unknown_command(&b, argc, argv);
		assert_int_equal(resp_req_complete(req, b.data, b.len), 0);
		resp_buf_close(&b);
	}
	return 0;
}

static int tb_complete(struct tb *t, int i)
{
	struct resp_buf b;
	resp_buf_init(&b, 0);
	resp_buf_simple(&b, t->later_val[i]);
	int rv = resp_req_complete(&t->later[i], b.data, b.len);
	resp_buf_close(&b);
	return rv;
}

static void tb_info(void *ctx, struct resp_info_writer *w)
{
	resp_info_section(w, "Raft");
	resp_info_add(w, "role", "leader");
	resp_info_add(w, "term", "%d", 7);
}

static void tb_closed(void *ctx, uint64_t id)
{
	struct tb *t = ctx;
	if (t->nclosed < 8192) {
		t->closed[t->nclosed] = id;
	}
	t->nclosed++;
}

/* The process's log sink: counts the server's protocol-error lines. */
static int protocol_error_logs;

static void tb_log(void *ctx, int level, const char *tag, const char *line)
{
	(void)ctx;
	if (level == FR_LOG_WARN && tag != NULL && strcmp(tag, "resp") == 0 &&
	    strstr(line, "Protocol error") != NULL &&
	    strstr(line, "; closing") != NULL) {
		protocol_error_logs++;
	}
	if (getenv("RESP_TEST_VERBOSE") != NULL) {
		fprintf(stderr, "log: %s: %s\n", tag, line);
	}
}

static const struct resp_backend tb_ops = {
    .size = sizeof(struct resp_backend),
    .command = tb_command,
    .info = tb_info,
    .closed = tb_closed,
};

struct fix {
	struct tb tb;
	struct resp_server *srv;
};

static struct fix *fix_open(void (*tweak)(struct resp_config *))
{
	struct fix *f = calloc(1, sizeof(*f));
	struct resp_config cfg;
	resp_config_default(&cfg);
	cfg.listen = "127.0.0.1:0";
	if (tweak != NULL) {
		tweak(&cfg);
	}
	char err[FR_ERRMSG_SIZE];
	int rv = resp_server_open(&f->srv, &cfg, &tb_ops, &f->tb, err);
	if (rv != 0) {
		fail_msg("open: %s", err);
	}
	return f;
}

static void fix_close(struct fix *f)
{
	resp_server_close(f->srv);
	free(f);
}

/* Send @req and expect exactly @want back (then nothing more for now). */
static void roundtrip(struct fix *f, int fd, const char *req, const char *want)
{
	assert_true(tu_send(f->srv, fd, req, strlen(req)));
	size_t n = strlen(want);
	char *got = calloc(1, n + 1);
	bool eof;
	size_t r = tu_read(f->srv, fd, got, n, 2000, &eof);
	if (r != n || memcmp(got, want, n) != 0) {
		fail_msg("request %s\nwant %s\ngot  %.*s", req, want, (int)r,
			 got);
	}
	free(got);
}

static void builtins(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	int fd = tu_connect(resp_server_port(f->srv));
	assert_true(fd >= 0);
	roundtrip(f, fd, "PING\r\n", "+PONG\r\n");
	roundtrip(f, fd, "*2\r\n$4\r\nping\r\n$2\r\nhi\r\n", "$2\r\nhi\r\n");
	roundtrip(f, fd, "ping a b\r\n",
		  "-ERR wrong number of arguments for 'ping' command\r\n");
	roundtrip(f, fd, "ECHO \"a\\r\\nb\"\r\n", "$4\r\na\r\nb\r\n");
	roundtrip(f, fd, "ECHO\r\n",
		  "-ERR wrong number of arguments for 'echo' command\r\n");
	roundtrip(f, fd, "SELECT 0\r\n", "+OK\r\n");
	roundtrip(f, fd, "SELECT 1\r\n", "-ERR DB index is out of range\r\n");
	roundtrip(f, fd, "SELECT x\r\n",
		  "-ERR value is not an integer or out of range\r\n");
	roundtrip(f, fd, "CLIENT GETNAME\r\n", "$-1\r\n");
	roundtrip(f, fd, "CLIENT SETNAME app-1\r\n", "+OK\r\n");
	roundtrip(f, fd, "CLIENT GETNAME\r\n", "$5\r\napp-1\r\n");
	roundtrip(f, fd, "CLIENT SETNAME \"a b\"\r\n",
		  "-ERR Client names cannot contain spaces, newlines or "
		  "special characters.\r\n");
	roundtrip(f, fd, "CLIENT ID\r\n", ":1\r\n");
	roundtrip(f, fd, "CLIENT SETINFO LIB-NAME redis-py\r\n", "+OK\r\n");
	roundtrip(f, fd, "CLIENT KILL x\r\n",
		  "-ERR unknown subcommand 'KILL'. Try CLIENT HELP.\r\n");
	roundtrip(f, fd, "HELLO 3\r\n",
		  "-NOPROTO sorry, this protocol version is not "
		  "supported.\r\n");
	roundtrip(f, fd, "HELLO\r\n",
		  "*14\r\n$6\r\nserver\r\n$7\r\nfabraft\r\n$7\r\nversion\r\n"
		  "$5\r\n0.1.0\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:1\r\n"
		  "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n"
		  "$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n");
	roundtrip(f, fd, "COMMAND\r\n", "*0\r\n");
	roundtrip(f, fd, "COMMAND DOCS\r\n", "*0\r\n");
	roundtrip(f, fd, "COMMAND COUNT\r\n", ":0\r\n");
	roundtrip(f, fd, "CONFIG GET save\r\n",
		  "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
	roundtrip(f, fd, "CONFIG GET appendonly\r\n",
		  "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
	roundtrip(f, fd, "CONFIG GET nothing\r\n", "*0\r\n");
	roundtrip(f, fd, "CONFIG GET max*\r\n",
		  "*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n");
	roundtrip(f, fd, "CONFIG SET save x\r\n",
		  "-ERR CONFIG SET is not supported: fabraft is configured "
		  "by its flags and config file\r\n");
	roundtrip(f, fd, "FAIL\r\n", "-ERR busy\r\n");
	roundtrip(f, fd, "xyz a b\r\n",
		  "-ERR unknown command 'xyz', with args beginning with: "
		  "'a' 'b' \r\n");
	roundtrip(f, fd, "NOW hello\r\n", "+hello\r\n");
	close(fd);
	fix_close(f);
}

/* INFO: the library's sections plus the backend's, and section filters. */
static void info(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	int fd = tu_connect(resp_server_port(f->srv));
	char buf[4096] = "";
	bool eof;
	assert_true(tu_send(f->srv, fd, "INFO\r\n", 6));
	size_t n = tu_read(f->srv, fd, buf, sizeof(buf) - 1, 300, &eof);
	buf[n] = '\0';
	assert_true(buf[0] == '$');
	assert_non_null(strstr(buf, "# Server\r\nredis_version:7.0.0\r\n"));
	assert_non_null(strstr(buf, "connected_clients:1\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n# Raft\r\nrole:leader\r\nterm:7"));
	/* The bulk length is right: header + body + CRLF == all bytes. */
	long blen = atol(buf + 1);
	char *body = strstr(buf, "\r\n") + 2;
	assert_int_equal((size_t)(body - buf) + (size_t)blen + 2, n);
	roundtrip(f, fd, "INFO raft\r\n",
		  "$29\r\n# Raft\r\nrole:leader\r\nterm:7\r\n\r\n");
	close(fd);
	fix_close(f);
}

static void with_password(struct resp_config *cfg)
{
	cfg->requirepass = "s3cret";
}

static void auth(void **state)
{
	(void)state;
	struct fix *f = fix_open(with_password);
	uint16_t port = resp_server_port(f->srv);
	int fd = tu_connect(port);
	roundtrip(f, fd, "PING\r\n", "-NOAUTH Authentication required.\r\n");
	roundtrip(f, fd, "NOW x\r\n", "-NOAUTH Authentication required.\r\n");
	assert_int_equal(f->tb.calls, 0);
	roundtrip(f, fd, "AUTH wrong\r\n",
		  "-WRONGPASS invalid username-password pair or user is "
		  "disabled.\r\n");
	roundtrip(f, fd, "AUTH bob s3cret\r\n",
		  "-WRONGPASS invalid username-password pair or user is "
		  "disabled.\r\n");
	roundtrip(f, fd, "HELLO 2\r\n",
		  "-NOAUTH HELLO must be called with the client already "
		  "authenticated, otherwise the HELLO <proto> AUTH <user> "
		  "<pass> option can be used to authenticate the client and "
		  "select the RESP protocol version at the same time\r\n");
	roundtrip(f, fd, "AUTH s3cret\r\n", "+OK\r\n");
	roundtrip(f, fd, "PING\r\n", "+PONG\r\n");
	close(fd);
	/* HELLO with AUTH and SETNAME in one go. */
	fd = tu_connect(port);
	assert_true(tu_send(f->srv, fd,
			    "HELLO 2 AUTH default s3cret SETNAME me\r\n", 40));
	char buf[512];
	bool eof;
	size_t n = tu_read(f->srv, fd, buf, 20, 2000, &eof);
	assert_int_equal(n, 20);
	assert_memory_equal(buf, "*14\r\n$6\r\nserver\r\n", 17);
	tu_pump(f->srv, 10);
	n = tu_read(f->srv, fd, buf, sizeof(buf), 50, &eof); /* rest */
	roundtrip(f, fd, "CLIENT GETNAME\r\n", "$2\r\nme\r\n");
	close(fd);
	/* Before AUTH, requests are small (10 args, 16 KiB): no memory for
	 * strangers. */
	fd = tu_connect(port);
	roundtrip(f, fd, "*11\r\n",
		  "-ERR Protocol error: invalid multibulk length\r\n");
	assert_true(tu_closed(f->srv, fd, 2000));
	close(fd);
	fd = tu_connect(port);
	roundtrip(f, fd, "*1\r\n$16385\r\n",
		  "-ERR Protocol error: invalid bulk length\r\n");
	assert_true(tu_closed(f->srv, fd, 2000));
	close(fd);
	fix_close(f);
}

/* Replies leave in request order whatever order completions come in. */
static void async_order(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	int fd = tu_connect(resp_server_port(f->srv));
	const char *req = "LATER a\r\nNOW b\r\nPING\r\nLATER c\r\nNOW d\r\n";
	assert_true(tu_send(f->srv, fd, req, strlen(req)));
	char buf[256];
	bool eof;
	/* Nothing may overtake the pending "a". */
	assert_int_equal(tu_read(f->srv, fd, buf, 1, 100, &eof), 0);
	assert_int_equal(f->tb.nlater, 2);
	assert_int_equal(tb_complete(&f->tb, 1), 0); /* c */
	resp_server_flush(f->srv);
	assert_int_equal(tu_read(f->srv, fd, buf, 1, 100, &eof), 0);
	assert_int_equal(tb_complete(&f->tb, 0), 0); /* a */
	assert_true(resp_server_needs_flush(f->srv));
	resp_server_flush(f->srv);
	const char *want = "+a\r\n+b\r\n+PONG\r\n+c\r\n+d\r\n";
	size_t n = tu_read(f->srv, fd, buf, strlen(want), 2000, &eof);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
	close(fd);
	fix_close(f);
}

/* 1,000 pipelined requests, every third one async, completed in a
 * shuffled order: the reply stream is exactly the request order. */
static void async_shuffled(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	int fd = tu_connect(resp_server_port(f->srv));
	size_t cap = 1000 * 32;
	char *req = malloc(cap);
	char *want = malloc(cap);
	size_t rl = 0;
	size_t wl = 0;
	for (int i = 0; i < 1000; i++) {
		rl += (size_t)snprintf(req + rl, cap - rl, "%s v%d\r\n",
				       i % 3 == 0 ? "LATER" : "NOW", i);
		wl += (size_t)snprintf(want + wl, cap - wl, "+v%d\r\n", i);
	}
	assert_true(tu_send(f->srv, fd, req, rl));
	for (int k = 0; k < 50 && f->tb.nlater < 334; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nlater, 334);
	int order[334];
	for (int i = 0; i < 334; i++) {
		order[i] = i;
	}
	uint32_t x = 42;
	for (int i = 333; i > 0; i--) {
		x = x * 1103515245u + 12345u;
		int j = (int)((x >> 8) % (uint32_t)(i + 1));
		int t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < 334; i++) {
		assert_int_equal(tb_complete(&f->tb, order[i]), 0);
		if (i % 17 == 0) {
			resp_server_flush(f->srv);
		}
	}
	resp_server_flush(f->srv);
	char *got = malloc(wl);
	bool eof;
	size_t n = tu_read(f->srv, fd, got, wl, 5000, &eof);
	assert_int_equal(n, wl);
	assert_memory_equal(got, want, wl);
	free(got);
	free(req);
	free(want);
	close(fd);
	fix_close(f);
}

/* The reply ring grows while it holds replies, with pending requests
 * growing faster than stored replies (async ones interleaved, as in a
 * SET/GET pipeline against Raft): each reply keeps its own number. */
static void ring_growth(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	int fd = tu_connect(resp_server_port(f->srv));
	char req[8192] = "";
	char want[8192] = "";
	int nlater = 0;
	/* a b0 | 20 async | b1 | 40 async | b2 ... */
	for (int round = 0, runs = 20; round < 4; round++, runs *= 2) {
		snprintf(req + strlen(req), sizeof(req) - strlen(req),
			 "LATER a%d\r\nNOW b%d\r\n", round, round);
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
			 "+a%d\r\n+b%d\r\n", round, round);
		nlater++;
		for (int i = 0; i < runs && round < 3; i++) {
			snprintf(req + strlen(req), sizeof(req) - strlen(req),
				 "LATER c%d\r\n", i);
			snprintf(want + strlen(want),
				 sizeof(want) - strlen(want), "+c%d\r\n", i);
			nlater++;
		}
	}
	assert_true(tu_send(f->srv, fd, req, strlen(req)));
	for (int k = 0; k < 100 && f->tb.nlater < nlater; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nlater, nlater);
	for (int i = 0; i < nlater; i++) {
		assert_int_equal(tb_complete(&f->tb, i), 0);
	}
	resp_server_flush(f->srv);
	char got[8192];
	bool eof;
	assert_int_equal(tu_read(f->srv, fd, got, strlen(want), 2000, &eof),
			 strlen(want));
	assert_memory_equal(got, want, strlen(want));
	roundtrip(f, fd, "PING\r\n", "+PONG\r\n");
	close(fd);
	fix_close(f);
}

/* A completion after the connection closed is a no-op, even when a new
 * connection took over the same slot. */
static void complete_after_close(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	uint16_t port = resp_server_port(f->srv);
	int fd = tu_connect(port);
	assert_true(tu_send(f->srv, fd, "LATER x\r\n", 9));
	for (int k = 0; k < 100 && f->tb.nlater < 1; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nlater, 1);
	assert_true(resp_req_alive(&f->tb.later[0]));
	close(fd);
	for (int k = 0; k < 200 && f->tb.nclosed < 1; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nclosed, 1);
	assert_int_equal(f->tb.closed[0], f->tb.later[0].client_id);
	assert_false(resp_req_alive(&f->tb.later[0]));
	/* The new connection reuses slot 0 with a new generation. */
	int fd2 = tu_connect(port);
	roundtrip(f, fd2, "PING\r\n", "+PONG\r\n");
	assert_int_equal(tb_complete(&f->tb, 0), FR_STALE);
	resp_server_flush(f->srv);
	roundtrip(f, fd2, "NOW y\r\n", "+y\r\n"); /* and no stray "+x" */
	close(fd2);
	fix_close(f);
}

/* Each bad input: an error reply naming the problem, then EOF; replies
 * owed before the bad request still come first. */
static void protocol_errors(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	uint16_t port = resp_server_port(f->srv);
	protocol_error_logs = 0;
	static const char *cases[][2] = {
	    {"PING\r\n*1\r\n$4611686018427387904\r\n",
	     "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
	    {"*1\r\n$-3\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
	    {"*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
	    {"*1\r\n:12\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
	    {"*1\r\n$4\r\nPINGxx",
	     "-ERR Protocol error: expected CRLF after bulk data\r\n"},
	    {"SET \"k\n",
	     "-ERR Protocol error: unbalanced quotes in request\r\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = tu_connect(port);
		roundtrip(f, fd, cases[i][0], cases[i][1]);
		assert_true(tu_closed(f->srv, fd, 2000));
		close(fd);
	}
	/* An async reply owed before the error is sent, then the close. */
	int fd = tu_connect(port);
	int before = f->tb.nlater;
	assert_true(tu_send(f->srv, fd, "LATER z\r\n*-9\r\n", 14));
	for (int k = 0; k < 100 && f->tb.nlater == before; k++) {
		tu_pump(f->srv, 2);
	}
	char buf[128];
	bool eof;
	assert_int_equal(tu_read(f->srv, fd, buf, 1, 100, &eof), 0);
	assert_false(eof);
	assert_int_equal(tb_complete(&f->tb, before), 0);
	resp_server_flush(f->srv);
	const char *want =
	    "+z\r\n-ERR Protocol error: invalid multibulk length\r\n";
	assert_int_equal(tu_read(f->srv, fd, buf, strlen(want), 2000, &eof),
			 strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	assert_true(tu_closed(f->srv, fd, 2000));
	close(fd);
	struct resp_stats st;
	resp_server_stats(f->srv, &st);
	assert_int_equal(st.protocol_errors, 7);
	assert_int_equal(protocol_error_logs, 7); /* one warn line each */
	assert_int_equal(st.clients, 0);
	fix_close(f);
}

/* Megabytes of random bytes: an error, the close, and the server goes on
 * serving others. */
static void binary_flood(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	uint16_t port = resp_server_port(f->srv);
	int other = tu_connect(port);
	size_t n = 4u << 20;
	char *junk = malloc(n);
	uint32_t x = 7;
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			junk[i] = (char)(x >> 24);
		}
		if (round % 2 == 1) {
			junk[0] = '*';
		}
		int fd = tu_connect(port);
		(void)tu_send(f->srv, fd, junk, n); /* may stop at the close */
		char buf[256];
		bool eof = false;
		size_t got =
		    tu_read(f->srv, fd, buf, sizeof(buf) - 1, 3000, &eof);
		buf[got] = '\0';
		assert_true(eof);
		assert_true(strncmp(buf, "-ERR Protocol error: ", 21) == 0 ||
			    got == 0 /* reset before the reply was read */);
		close(fd);
	}
	roundtrip(f, other, "PING\r\n", "+PONG\r\n");
	close(other);
	free(junk);
	fix_close(f);
}

static void small_output(struct resp_config *cfg)
{
	cfg->output_bytes_max = 1u << 20;
}

/* A client that never reads is disconnected at output_bytes_max; one
 * that reads large replies is not. */
static void output_bound(void **state)
{
	(void)state;
	struct fix *f = fix_open(small_output);
	uint16_t port = resp_server_port(f->srv);
	int good = tu_connect(port);
	/* 3 x 700 KB through a reading client: fine (each < limit). */
	char *buf = malloc(800000);
	bool eof;
	for (int i = 0; i < 3; i++) {
		assert_true(tu_send(f->srv, good, "BIG 700000\r\n", 12));
		size_t want = 9 + 700000 + 2; /* "$700000\r\n" */
		assert_int_equal(tu_read(f->srv, good, buf, want, 5000, &eof),
				 want);
	}
	int fd = tu_connect(port);
	int small = 4096;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (int i = 0; i < 100 && f->tb.nclosed == 0; i++) {
		if (!tu_send(f->srv, fd, "BIG 100000\r\n", 12)) {
			break;
		}
		tu_pump(f->srv, 1);
	}
	for (int k = 0; k < 100 && f->tb.nclosed == 0; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nclosed, 1);
	struct resp_stats st;
	resp_server_stats(f->srv, &st);
	assert_int_equal(st.output_limit_drops, 1);
	close(fd);
	/* Out-of-order replies held for a pending one count too. */
	fd = tu_connect(port);
	int before = f->tb.nlater;
	assert_true(tu_send(f->srv, fd, "LATER a\r\n", 9));
	for (int k = 0; k < 100 && f->tb.nlater == before; k++) {
		tu_pump(f->srv, 2);
	}
	for (int i = 0; i < 20 && f->tb.nclosed == 1; i++) {
		assert_true(tu_send(f->srv, fd, "BIG 100000\r\n", 12));
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nclosed, 2);
	assert_int_equal(tb_complete(&f->tb, before), FR_STALE);
	close(fd);
	roundtrip(f, good, "PING\r\n", "+PONG\r\n");
	close(good);
	free(buf);
	fix_close(f);
}

static void small_noauth(struct resp_config *cfg)
{
	cfg->requirepass = "s3cret";
	cfg->output_noauth_bytes_max = 16u * 1024u;
}

/* Before AUTH a client that pipelines PINGs without reading is cut at the
 * small pre-AUTH output limit (the server never holds more than that for
 * it), long before the normal 128 MiB one. */
static void output_noauth(void **state)
{
	(void)state;
	struct fix *f = fix_open(small_noauth);
	uint16_t port = resp_server_port(f->srv);
	int fd = tu_connect(port);
	int small = 4096;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	enum { PINGS = 4096 };
	char *pings = malloc(PINGS * 6);
	for (int i = 0; i < PINGS; i++) {
		memcpy(pings + 6 * i, "PING\r\n", 6);
	}
	struct resp_stats st;
	uint64_t most = 0;
	/* Up to 1000 x 4096 PINGs, 34 bytes of -NOAUTH each: 139 MB of
	 * replies if nothing cut the client off. */
	for (int i = 0; i < 1000 && f->tb.nclosed == 0; i++) {
		if (!tu_send(f->srv, fd, pings, PINGS * 6)) {
			break;
		}
		tu_pump(f->srv, 0);
		resp_server_stats(f->srv, &st);
		most = st.output_bytes > most ? st.output_bytes : most;
	}
	for (int k = 0; k < 100 && f->tb.nclosed == 0; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nclosed, 1);
	resp_server_stats(f->srv, &st);
	assert_int_equal(st.output_limit_drops, 1);
	assert_true(most <= 16u * 1024u);
	assert_int_equal(st.output_bytes, 0);
	close(fd);
	/* An authenticated client has the normal limit. */
	fd = tu_connect(port);
	roundtrip(f, fd, "AUTH s3cret\r\n", "+OK\r\n");
	assert_true(tu_send(f->srv, fd, "BIG 100000\r\nPING\r\n", 18));
	char *buf = malloc(100020);
	bool eof;
	assert_int_equal(
	    tu_read(f->srv, fd, buf, 9 + 100000 + 2 + 7, 5000, &eof),
	    9 + 100000 + 2 + 7);
	assert_memory_equal(buf + 9 + 100000 + 2, "+PONG\r\n", 7);
	close(fd);
	free(buf);
	free(pings);
	fix_close(f);
}

static void small_total(struct resp_config *cfg)
{
	cfg->output_bytes_max = 2u << 20;
	cfg->output_total_bytes_max = 3u << 20;
}

/* Send BIGs to @fd (which does not read) until the server holds @upto
 * bytes over all clients, or a connection closes.  Returns how many. */
static int fill_until(struct fix *f, int fd, uint64_t upto)
{
	struct resp_stats st;
	int i;
	for (i = 0; i < 400; i++) {
		resp_server_stats(f->srv, &st);
		assert_true(st.output_bytes <= 3u << 20);
		if (st.output_bytes >= upto || f->tb.nclosed > 0) {
			return i;
		}
		uint64_t before = st.commands_total;
		if (!tu_send(f->srv, fd, "BIG 100000\r\n", 12)) {
			return i;
		}
		/* One request at a time (Nagle may hold the next ones). */
		for (int k = 0; k < 200 && st.commands_total == before; k++) {
			tu_pump(f->srv, 1);
			resp_server_stats(f->srv, &st);
		}
	}
	return i;
}

/* The total output limit holds across clients: when a reply would pass
 * it, the connection holding the most is closed, not the small one. */
static void output_total(void **state)
{
	(void)state;
	struct fix *f = fix_open(small_total);
	uint16_t port = resp_server_port(f->srv);
	int fd[3];
	int small = 4096;
	/* Small receive buffers make the first two slow; the third reads
	 * its replies at the end, at full speed. */
	for (int i = 0; i < 3; i++) {
		fd[i] = tu_connect(port);
		if (i < 2) {
			(void)setsockopt(fd[i], SOL_SOCKET, SO_RCVBUF, &small,
					 sizeof(small));
		}
	}
	/* Two slow readers hold 1.2 MiB each (below their own 2 MiB). */
	fill_until(f, fd[0], 1200u << 10);
	fill_until(f, fd[1], 2400u << 10);
	assert_int_equal(f->tb.nclosed, 0);
	/* The third pushes the total over 3 MiB: one of the two big ones
	 * goes, the third keeps its connection. */
	(void)fill_until(f, fd[2], 4u << 20);
	for (int k = 0; k < 50; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nclosed, 1);
	struct resp_stats st;
	resp_server_stats(f->srv, &st);
	assert_int_equal(st.output_limit_drops, 1);
	assert_true(st.output_bytes <= 3u << 20);
	/* The third gets all its replies, then a PONG. */
	assert_true(tu_send(f->srv, fd[2], "PING\r\n", 6));
	size_t cap = 16u << 20, got = 0;
	char *buf = malloc(cap);
	bool eof = false;
	int idle = 0;
	while (got < 7 || memcmp(buf + got - 7, "+PONG\r\n", 7) != 0) {
		size_t n =
		    tu_read(f->srv, fd[2], buf + got,
			    got + 65536 < cap ? 65536 : cap - got, 200, &eof);
		assert_false(eof);
		idle = n > 0 ? 0 : idle + 1;
		assert_true(idle < 50); /* 10 s without a byte */
		got += n;
		assert_true(got < cap);
	}
	assert_int_equal((got - 7) % (9 + 100000 + 2), 0);
	for (int i = 0; i < 3; i++) {
		close(fd[i]);
	}
	free(buf);
	fix_close(f);
}

/* After a large reply to a reading client the output buffers shrink back
 * (the per-connection buffer and the shared one of built-ins). */
static void output_shrinks(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	int fd = tu_connect(resp_server_port(f->srv));
	size_t n = 1u << 20;
	char *req = malloc(n + 64);
	int h = snprintf(req, 64, "*2\r\n$4\r\nECHO\r\n$%zu\r\n", n);
	memset(req + h, 'e', n);
	memcpy(req + h + n, "\r\n", 2);
	assert_true(tu_send(f->srv, fd, req, (size_t)h + n + 2));
	char *buf = malloc(n + 64);
	bool eof;
	size_t want = 10 + n + 2; /* "$1048576\r\n" */
	assert_int_equal(tu_read(f->srv, fd, buf, want, 5000, &eof), want);
	roundtrip(f, fd, "PING\r\n", "+PONG\r\n");
	struct resp_stats st;
	resp_server_stats(f->srv, &st);
	assert_true(st.output_buf_bytes <= 64u * 1024u);
	close(fd);
	free(buf);
	free(req);
	fix_close(f);
}

static void few_pending(struct resp_config *cfg)
{
	cfg->pending_max = 4;
}

/* At pending_max the connection stops parsing until completions make
 * room; nothing is lost or reordered. */
static void pending_pause(void **state)
{
	(void)state;
	struct fix *f = fix_open(few_pending);
	int fd = tu_connect(resp_server_port(f->srv));
	char req[256] = "";
	for (int i = 0; i < 10; i++) {
		snprintf(req + strlen(req), sizeof(req) - strlen(req),
			 "LATER %d\r\n", i);
	}
	assert_true(tu_send(f->srv, fd, req, strlen(req)));
	for (int k = 0; k < 20; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nlater, 4);
	for (int done = 0; done < 10; done++) {
		for (int k = 0; k < 100 && f->tb.nlater <= done; k++) {
			tu_pump(f->srv, 2);
		}
		assert_true(f->tb.nlater <= done + 4);
		assert_int_equal(tb_complete(&f->tb, done), 0);
		resp_server_flush(f->srv);
	}
	char buf[256];
	bool eof;
	const char *want =
	    "+0\r\n+1\r\n+2\r\n+3\r\n+4\r\n+5\r\n+6\r\n+7\r\n+8\r\n"
	    "+9\r\n";
	assert_int_equal(tu_read(f->srv, fd, buf, strlen(want), 2000, &eof),
			 strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	close(fd);
	fix_close(f);
}

/* Close with a reset (SO_LINGER 0): the server sees EPOLLHUP|EPOLLERR. */
static void reset_close(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* A client that vanishes while its connection is not reading (paused at
 * pending_max, or draining after QUIT) is closed at once, not left to
 * wake the loop with hang-ups until the backend answers. */
static void hangup_not_reading(void **state)
{
	(void)state;
	struct fix *f = fix_open(few_pending);
	uint16_t port = resp_server_port(f->srv);
	int fd = tu_connect(port);
	const char *req = "LATER 1\r\nLATER 2\r\nLATER 3\r\nLATER 4\r\n"
			  "LATER 5\r\n";
	assert_true(tu_send(f->srv, fd, req, strlen(req)));
	for (int k = 0; k < 20; k++) {
		tu_pump(f->srv, 1);
	}
	assert_int_equal(f->tb.nlater, 4); /* paused */
	reset_close(fd);
	for (int k = 0; k < 100 && f->tb.nclosed == 0; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nclosed, 1);
	fd = tu_connect(port);
	assert_true(tu_send(f->srv, fd, "LATER x\r\nQUIT\r\n", 15));
	for (int k = 0; k < 20; k++) {
		tu_pump(f->srv, 1);
	}
	assert_int_equal(f->tb.nlater, 5); /* draining, owes "x" */
	reset_close(fd);
	for (int k = 0; k < 100 && f->tb.nclosed == 1; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nclosed, 2);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(tb_complete(&f->tb, i), FR_STALE);
	}
	fix_close(f);
}

/* Graceful stop: idle clients are closed, owed replies still go out,
 * new connections are refused. */
static void shutdown_graceful(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	uint16_t port = resp_server_port(f->srv);
	int idle = tu_connect(port);
	int busy = tu_connect(port);
	roundtrip(f, idle, "PING\r\n", "+PONG\r\n");
	assert_true(tu_send(f->srv, busy, "LATER z\r\n", 9));
	for (int k = 0; k < 100 && f->tb.nlater == 0; k++) {
		tu_pump(f->srv, 2);
	}
	resp_server_shutdown(f->srv);
	resp_server_shutdown(f->srv);
	assert_true(tu_closed(f->srv, idle, 2000));
	assert_true(tu_connect(port) < 0);
	struct resp_stats st;
	resp_server_stats(f->srv, &st);
	assert_int_equal(st.clients, 1);
	assert_int_equal(tb_complete(&f->tb, 0), 0);
	resp_server_flush(f->srv);
	char buf[16];
	bool eof;
	assert_int_equal(tu_read(f->srv, busy, buf, 4, 2000, &eof), 4);
	assert_memory_equal(buf, "+z\r\n", 4);
	assert_true(tu_closed(f->srv, busy, 2000));
	resp_server_stats(f->srv, &st);
	assert_int_equal(st.clients, 0);
	close(idle);
	close(busy);
	fix_close(f);
}

static void three_clients(struct resp_config *cfg)
{
	cfg->clients_max = 3;
}

static void max_clients(void **state)
{
	(void)state;
	struct fix *f = fix_open(three_clients);
	uint16_t port = resp_server_port(f->srv);
	int fds[3];
	for (int i = 0; i < 3; i++) {
		fds[i] = tu_connect(port);
		roundtrip(f, fds[i], "PING\r\n", "+PONG\r\n");
	}
	int extra = tu_connect(port);
	char buf[64];
	bool eof;
	const char *want = "-ERR max number of clients reached\r\n";
	assert_int_equal(tu_read(f->srv, extra, buf, strlen(want), 2000, &eof),
			 strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	assert_true(tu_closed(f->srv, extra, 2000));
	close(extra);
	close(fds[0]);
	for (int k = 0; k < 50; k++) {
		tu_pump(f->srv, 2);
	}
	extra = tu_connect(port);
	roundtrip(f, extra, "PING\r\n", "+PONG\r\n");
	close(extra);
	close(fds[1]);
	close(fds[2]);
	fix_close(f);
}

static void quit(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	int fd = tu_connect(resp_server_port(f->srv));
	roundtrip(f, fd, "PING\r\nQUIT\r\nNOW never\r\n", "+PONG\r\n+OK\r\n");
	assert_true(tu_closed(f->srv, fd, 2000));
	assert_int_equal(f->tb.calls, 0);
	close(fd);
	fix_close(f);
}

/* A 3 MiB argument arrives in many reads and is echoed intact; one over
 * request_bytes_max is refused before it is buffered. */
static void large_request(void **state)
{
	(void)state;
	struct fix *f = fix_open(small_output);
	int fd = tu_connect(resp_server_port(f->srv));
	size_t n = 3u << 20;
	char *req = malloc(n + 64);
	int h = snprintf(req, 64, "*2\r\n$4\r\nECHO\r\n$%zu\r\n", n);
	for (size_t i = 0; i < n; i++) {
		req[(size_t)h + i] = (char)('a' + i % 26);
	}
	memcpy(req + h + n, "\r\n", 2);
	assert_true(tu_send(f->srv, fd, req, (size_t)h + n + 2));
	/* The 3 MiB reply is over the 1 MiB output limit of this fixture:
	 * the client is cut off (and that is the limit working). */
	assert_true(tu_closed(f->srv, fd, 5000) || f->tb.nclosed == 1);
	close(fd);
	fix_close(f);
	f = fix_open(NULL);
	fd = tu_connect(resp_server_port(f->srv));
	assert_true(tu_send(f->srv, fd, req, (size_t)h + n + 2));
	char *got = malloc(n + 64);
	bool eof;
	size_t hdr = (size_t)snprintf(got, 64, "$%zu\r\n", n);
	assert_int_equal(tu_read(f->srv, fd, got, hdr + n + 2, 5000, &eof),
			 hdr + n + 2);
	assert_memory_equal(got + hdr, req + h, n);
	roundtrip(f, fd, "*2\r\n$4\r\nECHO\r\n$67108865\r\n",
		  "-ERR Protocol error: invalid bulk length\r\n");
	close(fd);
	free(got);
	free(req);
	fix_close(f);
}

static void bad_config(void **state)
{
	(void)state;
	struct tb t = {0};
	struct resp_server *s = NULL;
	char err[FR_ERRMSG_SIZE];
	struct resp_config cfg;
	const char *addrs[] = {"nohostport", "::1:6379", "127.0.0.1:99999",
			       "127.0.0.1:x", "256.1.1.1:0"};
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		resp_config_default(&cfg);
		cfg.listen = addrs[i];
		int rv = resp_server_open(&s, &cfg, &tb_ops, &t, err);
		assert_true(rv == FR_INVALID || rv == FR_IO);
		assert_non_null(strstr(err, addrs[i]));
	}
	resp_config_default(&cfg);
	cfg.listen = "127.0.0.1:0";
	cfg.clients_max = 0;
	assert_int_equal(resp_server_open(&s, &cfg, &tb_ops, &t, err),
			 FR_INVALID);
	struct resp_backend none = {.size = sizeof(none)};
	resp_config_default(&cfg);
	cfg.listen = "127.0.0.1:0";
	assert_int_equal(resp_server_open(&s, &cfg, &none, &t, err),
			 FR_INVALID);
	/* Port in use. */
	struct resp_server *a;
	cfg.listen = "127.0.0.1:0";
	assert_int_equal(resp_server_open(&a, &cfg, &tb_ops, &t, err), 0);
	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", resp_server_port(a));
	cfg.listen = addr;
	assert_int_equal(resp_server_open(&s, &cfg, &tb_ops, &t, err), FR_IO);
	assert_non_null(strstr(err, "in use"));
	resp_server_close(a);
	/* Host names and IPv6 resolve through getaddrinfo. */
	cfg.listen = "localhost:0";
	assert_int_equal(resp_server_open(&a, &cfg, &tb_ops, &t, err), 0);
	resp_server_close(a);
	cfg.listen = "[::1]:0";
	if (resp_server_open(&a, &cfg, &tb_ops, &t, err) == 0) {
		resp_server_close(a);
	} else {
		printf("note: no IPv6 loopback here (%s)\n", err);
	}
}

/* 1,100 concurrent clients, each pipelining 10 requests. */
static void many_clients(void **state)
{
	(void)state;
	enum { N = 1100 };
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rlim_t need = 2 * N + 64;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need) {
		printf("skip: RLIMIT_NOFILE %llu < %llu needed for %d "
		       "clients\n",
		       (unsigned long long)rl.rlim_cur,
		       (unsigned long long)need, N);
		skip();
	}
	struct fix *f = fix_open(NULL);
	uint16_t port = resp_server_port(f->srv);
	int *fds = calloc(N, sizeof(int));
	for (int i = 0; i < N; i++) {
		fds[i] = tu_connect(port);
		assert_true(fds[i] >= 0);
		if (i % 64 == 0) {
			tu_pump(f->srv, 0);
		}
	}
	for (int k = 0; k < 500; k++) {
		struct resp_stats st;
		resp_server_stats(f->srv, &st);
		if (st.clients == N) {
			break;
		}
		tu_pump(f->srv, 2);
	}
	struct resp_stats st;
	resp_server_stats(f->srv, &st);
	assert_int_equal(st.clients, N);
	for (int i = 0; i < N; i++) {
		char req[256];
		int n = snprintf(req, sizeof(req),
				 "NOW a%d\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\n"
				 "hi\r\nNOW b\r\nNOW c\r\nPING\r\nPING\r\n"
				 "NOW d\r\nNOW e\r\nNOW f\r\n",
				 i);
		assert_true(tu_send(f->srv, fds[i], req, (size_t)n));
	}
	for (int i = 0; i < N; i++) {
		char want[128];
		int n = snprintf(want, sizeof(want),
				 "+a%d\r\n+PONG\r\n$2\r\nhi\r\n+b\r\n+c\r\n"
				 "+PONG\r\n+PONG\r\n+d\r\n+e\r\n+f\r\n",
				 i);
		char got[128];
		bool eof;
		assert_int_equal(
		    tu_read(f->srv, fds[i], got, (size_t)n, 5000, &eof), n);
		assert_memory_equal(got, want, (size_t)n);
	}
	for (int i = 0; i < N; i++) {
		close(fds[i]);
	}
	for (int k = 0; k < 500 && f->tb.nclosed < N; k++) {
		tu_pump(f->srv, 2);
	}
	assert_int_equal(f->tb.nclosed, N);
	resp_server_stats(f->srv, &st);
	assert_int_equal(st.clients, 0);
	assert_int_equal(st.commands_total, 10 * N);
	free(fds);
	fix_close(f);
}

/* Requests dribbling in one byte per read, over a real socket: the
 * connection's buffer keeps partial requests across reads and compactions. */
static void bytewise_socket(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL);
	int fd = tu_connect(resp_server_port(f->srv));
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	const char *req = "*2\r\n$4\r\nECHO\r\n$5\r\nab\r\nc\r\n"
			  "PING\r\nLATER x\r\n*2\r\n$3\r\nNOW\r\n$1\r\ny\r\n";
	for (size_t i = 0; req[i] != '\0'; i++) {
		assert_true(tu_send(f->srv, fd, req + i, 1));
		for (int k = 0; k < 3; k++) {
			tu_pump(f->srv, 1);
		}
	}
	assert_int_equal(f->tb.nlater, 1);
	assert_int_equal(tb_complete(&f->tb, 0), 0);
	resp_server_flush(f->srv);
	const char *want = "$5\r\nab\r\nc\r\n+PONG\r\n+x\r\n+y\r\n";
	char got[128];
	bool eof;
	assert_int_equal(tu_read(f->srv, fd, got, strlen(want), 2000, &eof),
			 strlen(want));
	assert_memory_equal(got, want, strlen(want));
	close(fd);
	fix_close(f);
}

/* A backend that allocates nothing, so heap faults hit only the library. */
static struct resp_req fault_later;
static bool fault_have;

static int fault_command(void *ctx, const struct resp_req *req, uint32_t argc,
			 const struct resp_arg *argv)
{
	(void)ctx;
	if (resp_arg_is(&argv[0], "later")) {
		fault_later = *req;
		fault_have = true;
		return 0;
	}
	(void)resp_req_complete(req, "+b\r\n", 4);
	return 0;
}

/*
 * Fail the n-th allocation of the library, for every n a short session
 * makes: opening may fail cleanly; afterwards a client gets its replies in
 * order (some may be "-ERR out of memory") or is disconnected.  Never a
 * crash or a leak (the sanitizer build checks that).
 */
static void heap_faults(void **state)
{
	(void)state;
	const struct resp_backend ops = {.size = sizeof(ops),
					 .command = fault_command};
	const char *req = "PING\r\nLATER a\r\nNOW b\r\nCLIENT SETNAME n\r\n"
			  "ECHO x\r\n";
	const char *want = "+PONG\r\n+a\r\n+b\r\n+OK\r\n$1\r\nx\r\n";
	int clean = 0;
	int oom = 0;
	int cut = 0;
	int nopen = 0;
	for (int delay = 0; delay < 60; delay++) {
		struct resp_config cfg;
		resp_config_default(&cfg);
		cfg.listen = "127.0.0.1:0";
		char err[FR_ERRMSG_SIZE];
		struct resp_server *s;
		fault_have = false;
		fr_heap_fault_config(delay, 1);
		int rv = resp_server_open(&s, &cfg, &ops, NULL, err);
		if (rv != 0) {
			assert_int_equal(rv, FR_NOMEM);
			nopen++;
			continue;
		}
		int fd = tu_connect(resp_server_port(s));
		(void)tu_send(s, fd, req, strlen(req));
		for (int k = 0; k < 10; k++) {
			tu_pump(s, 1);
		}
		if (fault_have) {
			(void)resp_req_complete(&fault_later, "+a\r\n", 4);
			resp_server_flush(s);
		}
		char got[256];
		bool eof;
		size_t n = tu_read(s, fd, got, strlen(want), 100, &eof);
		if (!eof && memcmp(got, want, n) != 0) {
			n += tu_read(s, fd, got + n, sizeof(got) - 1 - n, 50,
				     &eof);
		}
		fr_heap_fault_config(-1, 0);
		got[n] = '\0';
		if (n == strlen(want) && memcmp(got, want, n) == 0) {
			clean++;
		} else if (strstr(got, "out of memory") != NULL) {
			oom++;
		} else {
			/* Cut off: what came is a prefix, in order. */
			assert_memory_equal(got, want, n);
			cut++;
		}
		close(fd);
		resp_server_close(s);
	}
	fr_heap_fault_config(-1, 0);
	printf("heap faults: open failed %d, OOM reply %d, cut off %d, "
	       "clean %d\n",
	       nopen, oom, cut, clean);
	assert_true(oom > 0 && cut > 0);
	assert_true(clean > 0); /* past the last allocation all is well */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builtins),
	    cmocka_unit_test(info),
	    cmocka_unit_test(auth),
	    cmocka_unit_test(async_order),
	    cmocka_unit_test(async_shuffled),
	    cmocka_unit_test(ring_growth),
	    cmocka_unit_test(complete_after_close),
	    cmocka_unit_test(protocol_errors),
	    cmocka_unit_test(binary_flood),
	    cmocka_unit_test(output_bound),
	    cmocka_unit_test(output_noauth),
	    cmocka_unit_test(output_total),
	    cmocka_unit_test(output_shrinks),
	    cmocka_unit_test(pending_pause),
	    cmocka_unit_test(hangup_not_reading),
	    cmocka_unit_test(shutdown_graceful),
	    cmocka_unit_test(max_clients),
	    cmocka_unit_test(quit),
	    cmocka_unit_test(large_request),
	    cmocka_unit_test(bad_config),
	    cmocka_unit_test(bytewise_socket),
	    cmocka_unit_test(heap_faults),
	    cmocka_unit_test(many_clients),
	};
	fr_log_set(tb_log, NULL, FR_LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
