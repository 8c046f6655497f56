/* test_resp_multi.c — MULTI / EXEC / DISCARD / WATCH in the RESP front, over
 * loopback sockets: queueing, validation, limits, and the one TXN request
 * that EXEC hands to the backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_resp_util.h"

/* The test backend: TXN answers its own words as an array of bulk
 * strings (so tests see exactly what EXEC sent); LATER completes on the
 * test's word; any other command answers +OK.  queue_check refuses BAD. */
struct tb {
	int commands;	       /* command() calls */
	int checks;	       /* queue_check() calls */
	struct resp_req later; /* a LATER request */
	bool have_later;       /* later is set */
};

static int tb_command(void *ctx, const struct resp_req *req, uint32_t argc,
		      const struct resp_arg *argv)
{
	struct tb *t = ctx;
	struct resp_buf b;
	t->commands++;
	if (resp_arg_is(&argv[0], "later")) {
		t->later = *req;
		t->have_later = true;
		return 0;
	}
	resp_buf_init(&b, 0);
	if (resp_arg_is(&argv[0], "txn")) {
		resp_buf_array(&b, argc);
		for (uint32_t i = 0; i < argc; i++) {
			resp_buf_bulk(&b, argv[i].ptr, argv[i].len);
		}
	} else {
		resp_buf_simple(&b, "OK");
	}
	assert_int_equal(resp_buf_err(&b), 0);
	(void)resp_req_complete(req, b.data, b.len);
	resp_buf_close(&b);
	return 0;
}

static int tb_queue_check(void *ctx, const struct resp_req *req, uint32_t argc,
			  const struct resp_arg *argv, struct resp_buf *err)
{
	struct tb *t = ctx;
	t->checks++;
	if (resp_arg_is(&argv[0], "bad")) {
		resp_buf_error(err, "ERR bad command");
		return FR_INVALID;
	}
	if (resp_arg_is(&argv[0], "busy")) {
		return FR_BUSY; /* the library words the error */
	}
	return 0;
}

static const struct resp_backend tb_ops = {
    .size = sizeof(struct resp_backend),
    .command = tb_command,
    .queue_check = tb_queue_check,
};

struct fix {
	struct tb tb;
	struct resp_server *srv;
	int fd;
};

static void small_queue(struct resp_config *cfg)
{
	cfg->multi_cmds_max = 3;
	cfg->multi_args_max = 9;
	cfg->multi_bytes_max = 40;
}

static void with_password(struct resp_config *cfg)
{
	cfg->requirepass = "pw";
}

static struct fix *fix_open(void (*tweak)(struct resp_config *))
{
	struct fix *f = calloc(1, sizeof(*f));
	struct resp_config cfg;
	char err[FR_ERRMSG_SIZE];
	resp_config_default(&cfg);
	cfg.listen = "127.0.0.1:0";
	if (tweak != NULL) {
		tweak(&cfg);
	}
	if (resp_server_open(&f->srv, &cfg, &tb_ops, &f->tb, err) != 0) {
		fail_msg("open: %s", err);
	}
	f->fd = tu_connect(resp_server_port(f->srv));
	assert_true(f->fd >= 0);
	return f;
}

static void fix_close(struct fix *f)
{
	close(f->fd);
	resp_server_close(f->srv);
	free(f);
}

/* Send @req (inline commands) and expect exactly @want back. */
static void rt(struct fix *f, const char *req, const char *want)
{
	size_t n = strlen(want);
	char *got = calloc(1, n + 64);
	bool eof;
	assert_true(tu_send(f->srv, f->fd, req, strlen(req)));
	size_t r = tu_read(f->srv, f->fd, got, n, 2000, &eof);
	if (r != n || memcmp(got, want, n) != 0) {
		fail_msg("request %s\nwant %s\ngot  %.*s", req, want, (int)r,
			 got);
	}
	/* and nothing more */
	r = tu_read(f->srv, f->fd, got, 1, 20, &eof);
	assert_int_equal(r, 0);
	free(got);
}

static void exec_sends_one_txn(void **state)
{
	struct fix *f = fix_open(NULL);
	rt(f, "MULTI\r\nSET a 1\r\nGET a\r\n", "+OK\r\n+QUEUED\r\n+QUEUED\r\n");
	assert_int_equal(f->tb.commands, 0); /* nothing ran yet */
	assert_int_equal(f->tb.checks, 2);
	rt(f, "EXEC\r\n",
	   "*8\r\n$3\r\nTXN\r\n$1\r\n3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
	   "$1\r\n2\r\n$3\r\nGET\r\n$1\r\na\r\n");
	assert_int_equal(f->tb.commands, 1);
	/* out of MULTI again: commands run at once */
	rt(f, "SET b 2\r\n", "+OK\r\n");
	/* binary-safe arguments survive the queue; empty ones too */
	const char req[] =
	    "MULTI\r\n*3\r\n$3\r\nset\r\n$3\r\nk\0k\r\n$0\r\n\r\n"
	    "exec\r\n";
	assert_true(tu_send(f->srv, f->fd, req, sizeof(req) - 1));
	const char want[] = "+OK\r\n+QUEUED\r\n*5\r\n$3\r\nTXN\r\n$1\r\n3\r\n$"
			    "3\r\nset\r\n$3\r\nk\0k\r\n$0\r\n\r\n";
	char got[sizeof(want)];
	bool eof;
	assert_int_equal(
	    tu_read(f->srv, f->fd, got, sizeof(want) - 1, 2000, &eof),
	    sizeof(want) - 1);
	assert_memory_equal(got, want, sizeof(want) - 1);
	fix_close(f);
}

static void control_errors(void **state)
{
	struct fix *f = fix_open(NULL);
	rt(f, "EXEC\r\n", "-ERR EXEC without MULTI\r\n");
	rt(f, "DISCARD\r\n", "-ERR DISCARD without MULTI\r\n");
	rt(f, "MULTI x\r\n",
	   "-ERR wrong number of arguments for 'multi' "
	   "command\r\n");
	rt(f, "WATCH a\r\n",
	   "-ERR WATCH is not supported by fabraft: use SET "
	   "key value IFEQ old for compare-and-set\r\n");
	rt(f, "UNWATCH\r\n",
	   "-ERR UNWATCH is not supported by fabraft: use "
	   "SET key value IFEQ old for compare-and-set\r\n");
	/* empty transaction */
	rt(f, "MULTI\r\nEXEC\r\n", "+OK\r\n*0\r\n");
	/* nested MULTI is refused but does not fail the transaction */
	rt(f, "MULTI\r\nMULTI\r\nSET a 1\r\nWATCH a\r\n",
	   "+OK\r\n-ERR MULTI calls can not be nested\r\n+QUEUED\r\n"
	   "-ERR WATCH inside MULTI is not allowed\r\n");
	rt(f, "EXEC\r\n",
	   "*5\r\n$3\r\nTXN\r\n$1\r\n3\r\n$3\r\nSET\r\n$1\r\na"
	   "\r\n$1\r\n1\r\n");
	/* DISCARD drops the queue */
	rt(f, "MULTI\r\nSET a 1\r\nDISCARD\r\nEXEC\r\n",
	   "+OK\r\n+QUEUED\r\n+OK\r\n-ERR EXEC without MULTI\r\n");
	rt(f, "MULTI\r\nEXEC x\r\nDISCARD\r\n",
	   "+OK\r\n-ERR wrong number of arguments for 'exec' command\r\n"
	   "+OK\r\n");
	/* a wrong arity inside MULTI fails the transaction, as in Redis */
	rt(f, "MULTI\r\nDISCARD x\r\nSET a 1\r\nEXEC\r\n",
	   "+OK\r\n-ERR wrong number of arguments for 'discard' command\r\n"
	   "+QUEUED\r\n-EXECABORT Transaction discarded because of previous "
	   "errors.\r\n");
	assert_int_equal(f->tb.commands, 1);
	fix_close(f);
}

static void refused_commands_abort(void **state)
{
	struct fix *f = fix_open(NULL);
	const char *abort = "-EXECABORT Transaction discarded because of "
			    "previous errors.\r\n";
	char want[512];
	/* refused by the backend's check */
	snprintf(want, sizeof(want),
		 "+OK\r\n+QUEUED\r\n-ERR bad command\r\n+QUEUED\r\n%s", abort);
	rt(f, "MULTI\r\nSET a 1\r\nBAD x\r\nSET b 2\r\nEXEC\r\n", want);
	snprintf(want, sizeof(want), "+OK\r\n-ERR %s\r\n%s",
		 fr_strerror(FR_BUSY), abort);
	rt(f, "MULTI\r\nBUSY\r\nEXEC\r\n", want);
	/* built-in commands cannot be queued */
	snprintf(want, sizeof(want),
		 "+OK\r\n-ERR 'PING' cannot be queued: a fabraft transaction "
		 "holds data commands only (the generic KV and KVC.* "
		 "commands)\r\n%s",
		 abort);
	rt(f, "MULTI\r\nPING\r\nEXEC\r\n", want);
	assert_int_equal(f->tb.commands, 0);
	/* the failed transaction is over */
	rt(f, "EXEC\r\n", "-ERR EXEC without MULTI\r\n");
	/* QUIT inside MULTI quits */
	rt(f, "MULTI\r\nSET a 1\r\nQUIT\r\n", "+OK\r\n+QUEUED\r\n+OK\r\n");
	assert_true(tu_closed(f->srv, f->fd, 500));
	assert_int_equal(f->tb.commands, 0);
	fix_close(f);
}

static void queue_limits(void **state)
{
	struct fix *f = fix_open(small_queue);
	const char *full = "-ERR transaction too large: at most 3 commands, 9 "
			   "words and 40 bytes between MULTI and EXEC\r\n";
	const char *abort = "-EXECABORT Transaction discarded because of "
			    "previous errors.\r\n";
	char want[512];
	/* 3 commands fit (TXN + 3 x (count + 2 words) = 10 words > 9: the
	 * third GET does not) */
	snprintf(want, sizeof(want), "+OK\r\n+QUEUED\r\n+QUEUED\r\n%s%s", full,
		 abort);
	rt(f, "MULTI\r\nGET a\r\nGET b\r\nGET c\r\nEXEC\r\n", want);
	rt(f, "MULTI\r\nA\r\nB\r\nC\r\nEXEC\r\n",
	   "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*7\r\n$3\r\nTXN\r\n$1\r\n1"
	   "\r\n$1\r\nA\r\n$1\r\n1\r\n$1\r\nB\r\n$1\r\n1\r\n$1\r\nC\r\n");
	snprintf(want, sizeof(want),
		 "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
		 "%s%s",
		 full, abort);
	rt(f, "MULTI\r\nA\r\nB\r\nC\r\nD\r\nEXEC\r\n", want);
	/* argument bytes with the word counts: 44 > 40 is refused, 39 fits;
	 * at exactly 40 the next byte is refused */
	snprintf(want, sizeof(want), "+OK\r\n+QUEUED\r\n%s%s", full, abort);
	rt(f,
	   "MULTI\r\nSET k 01234567890123456789012345678901234\r\nA\r\n"
	   "EXEC\r\n",
	   want);
	/* 40 bytes of arguments + 1 of word count: refused (the count is
	 * counted, so the queue never passes the limit) */
	snprintf(want, sizeof(want), "+OK\r\n%s+QUEUED\r\n%s", full, abort);
	rt(f,
	   "MULTI\r\nSET k 012345678901234567890123456789012345\r\nA\r\n"
	   "EXEC\r\n",
	   want);
	snprintf(want, sizeof(want), "+OK\r\n%s%s", full, abort);
	rt(f,
	   "MULTI\r\nSET k 012345678901234567890123456789012345678\r\n"
	   "EXEC\r\n",
	   want);
	rt(f, "MULTI\r\nSET k 0123456789012345678901234567890123\r\nEXEC\r\n",
	   "+OK\r\n+QUEUED\r\n*5\r\n$3\r\nTXN\r\n$1\r\n3\r\n$3\r\nSET\r\n$1\r\n"
	   "k\r\n$34\r\n0123456789012345678901234567890123\r\n");
	fix_close(f);
}

static void needs_auth(void **state)
{
	struct fix *f = fix_open(with_password);
	rt(f, "MULTI\r\n", "-NOAUTH Authentication required.\r\n");
	rt(f, "EXEC\r\n", "-NOAUTH Authentication required.\r\n");
	rt(f, "AUTH pw\r\nMULTI\r\nAUTH pw\r\nDISCARD\r\n",
	   "+OK\r\n+OK\r\n-ERR 'AUTH' cannot be queued: a fabraft transaction "
	   "holds data commands only (the generic KV and KVC.* commands)\r\n"
	   "+OK\r\n");
	fix_close(f);
}

/* EXEC's reply keeps its place behind an earlier reply still pending. */
static void exec_reply_in_order(void **state)
{
	struct fix *f = fix_open(NULL);
	const char *req = "LATER\r\nMULTI\r\nSET a 1\r\nEXEC\r\n";
	char got[256];
	bool eof;
	assert_true(tu_send(f->srv, f->fd, req, strlen(req)));
	assert_int_equal(tu_read(f->srv, f->fd, got, 1, 100, &eof), 0);
	assert_true(f->tb.have_later);
	assert_int_equal(resp_req_complete(&f->tb.later, "+L\r\n", 4), 0);
	resp_server_flush(f->srv);
	const char *want = "+L\r\n+OK\r\n+QUEUED\r\n*5\r\n$3\r\nTXN\r\n$1\r\n3"
			   "\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
	size_t n = tu_read(f->srv, f->fd, got, strlen(want), 2000, &eof);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(got, want, n);
	fix_close(f);
}

/* A connection closing in the middle of MULTI frees its queue (run
 * under ASan/LeakSanitizer in CI). */
static void close_mid_multi(void **state)
{
	struct fix *f = fix_open(NULL);
	rt(f, "MULTI\r\nSET a 1\r\nSET b 2\r\n",
	   "+OK\r\n+QUEUED\r\n+QUEUED\r\n");
	close(f->fd);
	for (int i = 0; i < 20; i++) {
		tu_pump(f->srv, 5);
	}
	struct resp_stats st;
	resp_server_stats(f->srv, &st);
	assert_int_equal(st.clients, 0);
	f->fd = tu_connect(resp_server_port(f->srv));
	rt(f, "EXEC\r\n", "-ERR EXEC without MULTI\r\n");
	fix_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(exec_sends_one_txn),
	    cmocka_unit_test(control_errors),
	    cmocka_unit_test(refused_commands_abort),
	    cmocka_unit_test(queue_limits),
	    cmocka_unit_test(needs_auth),
	    cmocka_unit_test(exec_reply_in_order),
	    cmocka_unit_test(close_mid_multi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
