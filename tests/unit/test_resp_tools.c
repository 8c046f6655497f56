/* test_resp_tools.c — real clients against the test KV server: redis-cli
 * (commands, --pipe, AUTH), redis-py and redis-benchmark; sync and async. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef RESP_KVSERVER
#error "RESP_KVSERVER (path of the test server) must be defined"
#endif

#define REDIS_CLI	"/usr/bin/redis-cli"
#define REDIS_BENCHMARK "/usr/bin/redis-benchmark"
#define PYTHON		"/usr/bin/python3"

struct server {
	pid_t pid;
	unsigned port;
};

/* The running server, killed by the teardown if a test fails midway. */
static pid_t running;

static int reap(void **state)
{
	(void)state;
	if (running > 0) {
		kill(running, SIGKILL);
		waitpid(running, NULL, 0);
		running = 0;
	}
	return 0;
}

static void start(struct server *s, const char *arg1, const char *arg2)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(RESP_KVSERVER, RESP_KVSERVER, "--listen", "127.0.0.1:0",
		      arg1, arg2, (char *)NULL);
		_exit(127);
	}
	running = s->pid;
	close(pfd[1]);
	FILE *f = fdopen(pfd[0], "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "port %u", &s->port), 1);
	fclose(f);
}

static void stop(struct server *s)
{
	kill(s->pid, SIGTERM);
	int st;
	assert_int_equal(waitpid(s->pid, &st, 0), s->pid);
	running = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Run a shell command; return its stdout (malloc'd, NUL-terminated). */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 16;
	size_t len = 0;
	char *out = malloc(cap);
	size_t n;
	while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 1024) {
			cap *= 2;
			out = realloc(out, cap);
		}
	}
	out[len] = '\0';
	pclose(p);
	return out;
}

static void expect(const char *got, const char *want, const char *what)
{
	if (strcmp(got, want) != 0) {
		fail_msg("%s: want '%s', got '%s'", what, want, got);
	}
}

static bool tools_present(void)
{
	if (access(REDIS_CLI, X_OK) != 0 ||
	    access(REDIS_BENCHMARK, X_OK) != 0) {
		printf("skip: %s or %s missing (Debian package redis-tools)\n",
		       REDIS_CLI, REDIS_BENCHMARK);
		return false;
	}
	return true;
}

static void cli_session(unsigned port)
{
	char *o;
	o = run(REDIS_CLI " -p %u PING", port);
	expect(o, "PONG\n", "PING");
	free(o);
	o = run(REDIS_CLI " -p %u SET greeting 'hello world'", port);
	expect(o, "OK\n", "SET");
	free(o);
	o = run(REDIS_CLI " -p %u GET greeting", port);
	expect(o, "hello world\n", "GET");
	free(o);
	o = run(REDIS_CLI " -p %u EXISTS greeting nothing", port);
	expect(o, "1\n", "EXISTS");
	free(o);
	o = run(REDIS_CLI " -p %u DEL greeting", port);
	expect(o, "1\n", "DEL");
	free(o);
	o = run(REDIS_CLI " -p %u GET greeting", port);
	expect(o, "\n", "GET missing"); /* nil prints as an empty line */
	free(o);
	o = run(REDIS_CLI " -p %u FROB a b 2>&1", port);
	expect(o,
	       "ERR unknown command 'FROB', with args beginning with: 'a' "
	       "'b' \n\n", /* redis-cli adds a blank line after errors */
	       "unknown");
	free(o);
	o = run(REDIS_CLI " -p %u INFO server", port);
	assert_non_null(strstr(o, "redis_version:7.0.0"));
	free(o);
	o = run(REDIS_CLI " -p %u HELLO 3 2>&1", port);
	expect(o, "NOPROTO sorry, this protocol version is not supported.\n\n",
	       "HELLO 3");
	free(o);
	/* Mass insertion: --pipe ends with an ECHO of random bytes and
	 * waits for it, so every reply must come back, in order. */
	o = run("awk 'BEGIN{for(i=0;i<5000;i++){k=\"k\" i; printf "
		"\"*3\\r\\n$3\\r\\nSET\\r\\n$%%d\\r\\n%%s\\r\\n"
		"$1\\r\\nv\\r\\n\", length(k), k}}' | " REDIS_CLI
		" -p %u --pipe 2>&1",
		port);
	assert_non_null(strstr(o, "errors: 0, replies: 5000"));
	free(o);
	o = run(REDIS_CLI " -p %u GET k4999", port);
	expect(o, "v\n", "GET after --pipe");
	free(o);
	o = run(REDIS_CLI " -p %u INFO keyspace", port);
	assert_non_null(strstr(o, "db0:keys=5000,"));
	free(o);
}

static void py_session(unsigned port)
{
	if (access(PYTHON, X_OK) != 0 ||
	    system(PYTHON " -c 'import redis' 2>/dev/null") != 0) {
		printf("note: redis-py not available; skipped its part\n");
		return;
	}
	char *o = run(PYTHON " -c '\n"
			     "import redis\n"
			     "r = redis.Redis(port=%u, client_name=\"py\")\n"
			     "assert r.ping()\n"
			     "assert r.set(\"a\", b\"\\x00\\xff\")\n"
			     "assert r.get(\"a\") == b\"\\x00\\xff\"\n"
			     "assert r.client_getname() == \"py\"\n"
			     "p = r.pipeline(transaction=False)\n"
			     "for i in range(300): p.set(\"p%%d\" %% i, i); "
			     "p.get(\"p%%d\" %% i)\n"
			     "res = p.execute()\n"
			     "assert res[1::2] == [str(i).encode() for i in "
			     "range(300)], res[:6]\n"
			     "assert \"redis_version\" in r.info()\n"
			     "print(\"py ok\")\n"
			     "' 2>&1",
		      port);
	expect(o, "py ok\n", "redis-py");
	free(o);
}

static void bench(unsigned port, const char *label)
{
	char *o = run(REDIS_BENCHMARK " -p %u -t set,get -n 20000 -c 50 -P 16 "
				      "-q 2>&1 | tr '\\r' '\\n' | grep "
				      "'requests per second'",
		      port);
	printf("redis-benchmark (%s): %s", label, o);
	char *set = strstr(o, "SET: ");
	char *get = strstr(o, "GET: ");
	assert_non_null(set);
	assert_non_null(get);
	assert_true(atof(set + 5) > 0 && atof(get + 5) > 0);
	free(o);
}

static void tools_sync(void **state)
{
	(void)state;
	struct server s;
	start(&s, "--listen", "127.0.0.1:0");
	cli_session(s.port);
	py_session(s.port);
	bench(s.port, "sync backend");
	stop(&s);
}

static void tools_async(void **state)
{
	(void)state;
	struct server s;
	start(&s, "--async", NULL);
	cli_session(s.port);
	py_session(s.port);
	bench(s.port, "async writes");
	stop(&s);
}

static void tools_auth(void **state)
{
	(void)state;
	struct server s;
	start(&s, "--requirepass", "pw");
	char *o = run(REDIS_CLI " -p %u PING 2>&1", s.port);
	expect(o, "NOAUTH Authentication required.\n\n", "no AUTH");
	free(o);
	o = run(REDIS_CLI " -p %u -a nope --no-auth-warning PING 2>&1", s.port);
	assert_non_null(strstr(o, "WRONGPASS"));
	free(o);
	o = run(REDIS_CLI " -p %u -a pw --no-auth-warning PING 2>&1", s.port);
	expect(o, "PONG\n", "AUTH");
	free(o);
	o = run(REDIS_CLI " -p %u --user default --pass pw --no-auth-warning "
			  "SET k v 2>&1",
		s.port);
	expect(o, "OK\n", "AUTH user");
	free(o);
	stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(tools_sync, reap),
	    cmocka_unit_test_teardown(tools_async, reap),
	    cmocka_unit_test_teardown(tools_auth, reap),
	};
	if (!tools_present()) {
		return 77; /* ctest SKIP_RETURN_CODE */
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
