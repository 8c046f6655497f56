/* test_resp_guard.c — the RESP server against hostile or abandoned clients:
 * HTTP requests (cross-protocol), AUTH guessing, the admin password, idle
 * connections, running out of file descriptors (issue 15). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "resp_int.h"
#include "test_resp_util.h"
#include "trace.h"

/* The backend: counts commands; "ADMIN?" answers whether the request may
 * run admin commands; "LATER" never answers; anything else gets +OK. */
struct tb {
	int calls;	       /* command() calls */
	char last[32];	       /* name of the last command */
	struct resp_req later; /* the LATER request */
};

static int tb_command(void *ctx, const struct resp_req *req, uint32_t argc,
		      const struct resp_arg *argv)
{
	struct tb *t = ctx;
	size_t n = argv[0].len < 31 ? argv[0].len : 31;
	t->calls++;
	memcpy(t->last, argv[0].ptr, n);
	t->last[n] = '\0';
	if (resp_arg_is(&argv[0], "admin?")) {
		const char *r = req->admin ? "+yes\r\n" : "+no\r\n";
		assert_int_equal(resp_req_complete(req, r, strlen(r)), 0);
	} else if (resp_arg_is(&argv[0], "later")) {
		t->later = *req;
	} else {
		assert_int_equal(resp_req_complete(req, "+OK\r\n", 5), 0);
	}
	return 0;
}

static const struct resp_backend tb_ops = {
    .size = sizeof(struct resp_backend),
    .command = tb_command,
};

/* Lines the server logs, by what they are about. */
static int auth_logs;
static int http_logs;
static int fds_logs;

static void tb_log(void *ctx, int level, const char *tag, const char *line)
{
	(void)ctx;
	(void)level;
	if (tag == NULL || strcmp(tag, "resp") != 0) {
		return;
	}
	auth_logs += strstr(line, "AUTH") != NULL;
	http_logs += strstr(line, "HTTP") != NULL;
	fds_logs += strstr(line, "file descriptors") != NULL;
	if (getenv("RESP_TEST_VERBOSE") != NULL) {
		fprintf(stderr, "log: %s: %s\n", tag, line);
	}
}

struct fix {
	struct tb tb;
	struct resp_server *srv;
	uint16_t port;
};

static struct fix *fix_open(const char *pass, const char *admin,
			    uint32_t idle_ms)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct resp_config cfg;
	char err[FR_ERRMSG_SIZE];
	resp_config_default(&cfg);
	cfg.listen = "127.0.0.1:0";
	cfg.requirepass = pass;
	cfg.adminpass = admin;
	cfg.idle_timeout_ms = idle_ms;
	if (resp_server_open(&f->srv, &cfg, &tb_ops, &f->tb, err) != 0) {
		fail_msg("open: %s", err);
	}
	f->port = resp_server_port(f->srv);
	auth_logs = http_logs = fds_logs = 0;
	fr_log_set(tb_log, NULL, FR_LOG_WARN);
	return f;
}

static void fix_close(struct fix *f)
{
	fr_log_set(NULL, NULL, 0);
	resp_server_close(f->srv);
	free(f);
}

static void roundtrip(struct fix *f, int fd, const char *req, const char *want)
{
	size_t n = strlen(want);
	char got[512] = "";
	bool eof;
	assert_true(tu_send(f->srv, fd, req, strlen(req)));
	size_t r = tu_read(f->srv, fd, got, n, 2000, &eof);
	if (r != n || memcmp(got, want, n) != 0) {
		fail_msg("request %s\nwant %s\ngot  %.*s", req, want, (int)r,
			 got);
	}
}

static struct resp_stats stats(struct fix *f)
{
	struct resp_stats st;
	resp_server_stats(f->srv, &st);
	return st;
}

/* A browser's POST (what a web page can make it send) whose body holds a
 * command: the connection closes at the request line, silently, and the
 * backend never sees the SET. */
static void http_post(void **state)
{
	(void)state;
	static const char *const reqs[] = {
	    "POST / HTTP/1.1\r\nHost: 127.0.0.1:6379\r\nContent-Type: "
	    "text/plain\r\nContent-Length: 18\r\n\r\nSET xproto pwned\r\n",
	    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	    "put /x HTTP/1.0\r\nSET a b\r\n",
	    "OPTIONS * HTTP/1.1\r\nSET a b\r\n",
	    "Host: evil\r\nSET a b\r\n",
	    "User-Agent: x\r\nSET a b\r\n",
	    "*1\r\n$5\r\nHOST:\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n",
	    "*3\r\n$4\r\npost\r\n$1\r\n/\r\n$8\r\nHTTP/1.1\r\n",
	};
	size_t n = sizeof(reqs) / sizeof(reqs[0]);
	struct fix *f = fix_open(NULL, NULL, 0);
	for (size_t i = 0; i < n; i++) {
		int fd = tu_connect(f->port);
		assert_true(fd >= 0);
		assert_true(tu_send(f->srv, fd, reqs[i], strlen(reqs[i])));
		if (!tu_closed(f->srv, fd, 2000)) {
			fail_msg("not closed at once: %s", reqs[i]);
		}
		close(fd);
	}
	assert_int_equal(f->tb.calls, 0);
	assert_int_equal(stats(f).http_closes, n);
	/* Logged, but not once per attempt. */
	assert_true(http_logs >= 1 && http_logs <= 4);
	/* Look-alikes that are ordinary commands still run. */
	int fd = tu_connect(f->port);
	roundtrip(f, fd, "GET /\r\n", "+OK\r\n");
	roundtrip(f, fd, "GET HTTP/1.1\r\n", "+OK\r\n");
	roundtrip(f, fd, "GET a HTTP/1.1 b\r\n", "+OK\r\n");
	roundtrip(f, fd, "SET post HTTP/1.1\r\n", "+OK\r\n");
	assert_int_equal(f->tb.calls, 4);
	close(fd);
	fix_close(f);
}

/* Wrong passwords: the connection closes after 3 (the default), later
 * pipelined attempts are not even parsed, and the log stays short. */
static void auth_guessing(void **state)
{
	(void)state;
	struct fix *f = fix_open("s3cret", NULL, 0);
	static const char wrong[] =
	    "-WRONGPASS invalid username-password pair or user is "
	    "disabled.\r\n";
	/* Ten attempts in one write: three replies, then EOF. */
	int fd = tu_connect(f->port);
	char req[256] = "";
	for (int i = 0; i < 10; i++) {
		strcat(req, "AUTH guess\r\n");
	}
	assert_true(tu_send(f->srv, fd, req, strlen(req)));
	char buf[1024];
	bool eof;
	size_t got = tu_read(f->srv, fd, buf, sizeof(buf), 2000, &eof);
	assert_true(eof);
	assert_int_equal(got, 3 * (sizeof(wrong) - 1));
	for (int i = 0; i < 3; i++) {
		assert_memory_equal(buf + i * (sizeof(wrong) - 1), wrong,
				    sizeof(wrong) - 1);
	}
	close(fd);
	assert_int_equal(stats(f).auth_failures, 3);
	assert_int_equal(stats(f).auth_closes, 1);
	/* 50,000 attempts on one connection (the flood). */
	size_t one = strlen("AUTH guess\r\n");
	size_t len = 50000 * one;
	char *flood = malloc(len);
	for (size_t i = 0; i < 50000; i++) {
		memcpy(flood + i * one, "AUTH guess\r\n", one);
	}
	fd = tu_connect(f->port);
	(void)tu_send(f->srv, fd, flood, len); /* fails once closed */
	free(flood);
	for (long end = tu_now_ms() + 2000;
	     stats(f).auth_closes < 2 && tu_now_ms() < end;) {
		tu_pump(f->srv, 5);
	}
	assert_int_equal(stats(f).auth_failures, 6);
	assert_int_equal(stats(f).auth_closes, 2);
	close(fd);
	/* HELLO AUTH counts too; the right password then still works on a
	 * fresh connection. */
	fd = tu_connect(f->port);
	roundtrip(f, fd, "HELLO 2 AUTH default nope\r\n", wrong);
	roundtrip(f, fd, "AUTH s3cret\r\n", "+OK\r\n");
	roundtrip(f, fd, "PING\r\n", "+PONG\r\n");
	close(fd);
	/* Many connections guessing: the log is rate limited overall. */
	for (int c = 0; c < 20; c++) {
		fd = tu_connect(f->port);
		assert_true(tu_send(f->srv, fd, req, strlen(req)));
		got = tu_read(f->srv, fd, buf, sizeof(buf), 2000, &eof);
		assert_true(eof);
		assert_int_equal(got, 3 * (sizeof(wrong) - 1));
		close(fd);
	}
	assert_int_equal(stats(f).auth_failures, 6 + 1 + 60);
	assert_int_equal(stats(f).auth_closes, 22);
	assert_true(auth_logs <= 4);
	assert_int_equal(f->tb.calls, 0);
	fix_close(f);
}

/* The admin password: AUTH with it grants admin (and passes
 * requirepass); the plain password does not; without an admin password
 * every authenticated connection is admin. */
static void admin_password(void **state)
{
	(void)state;
	static const char wrong[] =
	    "-WRONGPASS invalid username-password pair or user is "
	    "disabled.\r\n";
	struct fix *f = fix_open("pw", "adm", 0);
	int fd = tu_connect(f->port);
	roundtrip(f, fd, "ADMIN?\r\n", "-NOAUTH Authentication required.\r\n");
	roundtrip(f, fd, "AUTH pw\r\n", "+OK\r\n");
	roundtrip(f, fd, "ADMIN?\r\n", "+no\r\n");
	roundtrip(f, fd, "AUTH adm\r\n", "+OK\r\n");
	roundtrip(f, fd, "ADMIN?\r\n", "+yes\r\n");
	roundtrip(f, fd, "AUTH default pw\r\n", "+OK\r\n");
	roundtrip(f, fd, "ADMIN?\r\n", "+no\r\n"); /* back to plain */
	close(fd);
	fd = tu_connect(f->port);
	roundtrip(f, fd, "AUTH default adm\r\n", "+OK\r\n");
	roundtrip(f, fd, "ADMIN?\r\n", "+yes\r\n");
	close(fd);
	fix_close(f);

	/* No requirepass: everyone is in, nobody is admin until AUTH with
	 * the admin password; a wrong one is a counted failure. */
	f = fix_open(NULL, "adm", 0);
	fd = tu_connect(f->port);
	roundtrip(f, fd, "ADMIN?\r\n", "+no\r\n");
	roundtrip(f, fd, "AUTH x\r\n", wrong);
	roundtrip(f, fd, "AUTH default x\r\n", wrong);
	roundtrip(f, fd, "ADMIN?\r\n", "+no\r\n");
	roundtrip(f, fd, "AUTH adm\r\n", "+OK\r\n");
	roundtrip(f, fd, "ADMIN?\r\n", "+yes\r\n");
	close(fd);
	assert_int_equal(stats(f).auth_failures, 2);
	fix_close(f);

	/* No admin password: every authenticated connection is admin. */
	f = fix_open("pw", NULL, 0);
	fd = tu_connect(f->port);
	roundtrip(f, fd, "AUTH pw\r\n", "+OK\r\n");
	roundtrip(f, fd, "ADMIN?\r\n", "+yes\r\n");
	close(fd);
	fix_close(f);
	f = fix_open(NULL, NULL, 0);
	fd = tu_connect(f->port);
	roundtrip(f, fd, "ADMIN?\r\n", "+yes\r\n");
	close(fd);
	fix_close(f);
}

/* Pump the server and its cron for @ms. */
static void pump_cron(struct fix *f, int ms)
{
	long end = tu_now_ms() + ms;
	while (tu_now_ms() < end) {
		tu_pump(f->srv, 5);
		resp_server_cron(f->srv);
	}
}

/* An idle connection closes after the timeout; one waiting for a reply, or
 * one that keeps talking, stays. */
static void idle_timeout(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL, NULL, 400);
	int idle = tu_connect(f->port);
	int waiting = tu_connect(f->port);
	int talking = tu_connect(f->port);
	roundtrip(f, idle, "PING\r\n", "+PONG\r\n");
	assert_true(tu_send(f->srv, waiting, "LATER\r\n", 7));
	roundtrip(f, talking, "PING\r\n", "+PONG\r\n");
	for (int i = 0; i < 5; i++) {
		pump_cron(f, 200);
		roundtrip(f, talking, "PING\r\n", "+PONG\r\n");
	}
	assert_true(tu_closed(f->srv, idle, 100));
	assert_false(tu_closed(f->srv, waiting, 100));
	assert_int_equal(stats(f).idle_closes, 1);
	assert_int_equal(stats(f).clients, 2);
	/* Once answered, the waiting one is idle too. */
	assert_int_equal(resp_req_complete(&f->tb.later, "+OK\r\n", 5), 0);
	char buf[8];
	bool eof;
	assert_int_equal(tu_read(f->srv, waiting, buf, 5, 1000, &eof), 5);
	pump_cron(f, 700);
	assert_true(tu_closed(f->srv, waiting, 100));
	close(idle);
	close(waiting);
	close(talking);
	fix_close(f);
	/* The default is on: 300 s, shown as Redis' "timeout". */
	f = fix_open(NULL, NULL, 300000);
	talking = tu_connect(f->port);
	roundtrip(f, talking, "CONFIG GET timeout\r\n",
		  "*2\r\n$7\r\ntimeout\r\n$3\r\n300\r\n");
	close(talking);
	fix_close(f);
	struct resp_config cfg;
	resp_config_default(&cfg);
	assert_int_equal(cfg.idle_timeout_ms, 300000);
}

/* No descriptor left, not even the spare: the listener pauses (the loop
 * does not spin on a listener that stays readable) and resumes later. */
static void out_of_fds(void **state)
{
	(void)state;
	struct fix *f = fix_open(NULL, NULL, 0);
	struct resp_server *s = f->srv;
	int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(client >= 0);
	/* Someone else took the spare and every other descriptor. */
	close(s->spare_fd);
	s->spare_fd = -1;
	struct rlimit old;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	struct rlimit low = old;
	low.rlim_cur = 256;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int held[256];
	int nheld = 0;
	for (int fd; nheld < 256 && (fd = dup(0)) >= 0;) {
		held[nheld++] = fd;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(f->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(client, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	tu_pump(s, 100); /* accept4: EMFILE */
	assert_int_equal(stats(f).accept_pauses, 1);
	/* Paused: the server's fd is quiet although a connection waits. */
	struct pollfd pfd = {.fd = resp_server_fd(s), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 50), 0);
	assert_true(fds_logs >= 1);
	/* Descriptors come back: accepting resumes after the pause. */
	for (int i = 0; i < nheld; i++) {
		close(held[i]);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	pump_cron(f, 300);
	assert_int_equal(stats(f).clients, 1);
	assert_true(s->spare_fd >= 0);
	roundtrip(f, client, "PING\r\n", "+PONG\r\n");
	close(client);
	fix_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(http_post),      cmocka_unit_test(auth_guessing),
	    cmocka_unit_test(admin_password), cmocka_unit_test(idle_timeout),
	    cmocka_unit_test(out_of_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
