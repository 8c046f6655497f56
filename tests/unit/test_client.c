/* test_client.c — the C client library against scripted fake servers:
 * hashes, endpoint lists, retry rules (unknown outcomes), -MOVED,
 * discovery, deadlines, pipelines. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_int.h"
#include "fabraft_client.h"
#include "heap.h"
#include "resp_client.h"

/* A fake node: answers INFO with @info and every other command with the
 * next entry of @script (NULL: close without answering; a leading '!':
 * answer, then close), then "+OK" once the script is used up. */
struct fake {
	int lfd;		/* listener */
	int port;		/* its port */
	char addr[32];		/* "127.0.0.1:port" */
	pthread_t th;		/* serving thread */
	volatile int stop;	/* ask the thread to leave */
	char info[256];		/* INFO body */
	const char *script[16]; /* replies, in order */
	int n_script;		/* entries in script */
	int next;		/* next entry */
	int cmds;		/* non-INFO commands seen */
	int conns;		/* connections accepted */
	bool no_accept;		/* listen but never accept */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k <= 0) {
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

/* One request; false when the connection is to close. */
static bool answer(struct fake *f, int fd, const struct respc_reply *q)
{
	char buf[512];
	const char *s;

	if (q->type == '*' && q->n >= 1 &&
	    strcmp(q->elem[0].str, "INFO") == 0) {
		snprintf(buf, sizeof(buf), "$%zu\r\n%s\r\n", strlen(f->info),
			 f->info);
		send_all(fd, buf, strlen(buf));
		return true;
	}
	f->cmds++;
	s = f->next < f->n_script ? f->script[f->next++] : "+OK";
	if (s == NULL) {
		return false;
	}
	snprintf(buf, sizeof(buf), "%s\r\n", s[0] == '!' ? s + 1 : s);
	send_all(fd, buf, strlen(buf));
	return s[0] != '!';
}

static void serve_conn(struct fake *f, int fd)
{
	struct respc_reader rd;
	bool open = true;

	assert_int_equal(respc_reader_init(&rd, 0), 0);
	while (open && !f->stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char tmp[4096];
		struct respc_reply q;
		ssize_t k;

		if (poll(&p, 1, 50) <= 0) {
			continue;
		}
		k = recv(fd, tmp, sizeof(tmp), 0);
		if (k <= 0 || respc_reader_feed(&rd, tmp, (size_t)k) != 0) {
			break;
		}
		while (open && respc_reader_next(&rd, &q, NULL) == 0) {
			open = answer(f, fd, &q);
			respc_reply_free(&q);
		}
	}
	respc_reader_close(&rd);
	close(fd);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	while (!f->stop) {
		struct pollfd p = {.fd = f->lfd, .events = POLLIN};
		int fd;

		if (f->no_accept || poll(&p, 1, 50) <= 0) {
			usleep(20000);
			continue;
		}
		fd = accept(f->lfd, NULL, NULL);
		if (fd >= 0) {
			f->conns++;
			serve_conn(f, fd);
		}
	}
	return NULL;
}

static void fake_start(struct fake *f)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
	f->port = ntohs(a.sin_port);
	snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d", f->port);
	if (f->info[0] == '\0') {
		snprintf(f->info, sizeof(f->info),
			 "role:leader\r\nleader_id:1\r\nleader_client:%s",
			 f->addr);
	}
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	close(f->lfd);
}

static void script(struct fake *f, int n, ...)
{
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		f->script[i] = va_arg(ap, const char *);
	}
	va_end(ap);
	f->n_script = n;
}

static struct fabraft_client *open_on(const char *endpoints, int deadline_ms)
{
	struct fabraft_options o;
	struct fabraft_client *c;
	char err[256];

	fabraft_options_default(&o);
	o.endpoints = endpoints;
	o.deadline_ms = deadline_ms;
	o.backoff_min_ms = 5;
	o.backoff_max_ms = 50;
	o.seed = 42;
	assert_int_equal(fabraft_open(&c, &o, err, sizeof(err)), 0);
	return c;
}

static void hashes(void **state)
{
	struct fabraft_hash a;
	struct fabraft_hash b;
	char hex[FABRAFT_HASH_HEX_SIZE];
	char big[70];

	(void)state;
	assert_int_equal(fabraft_hash_parse(&a, "i:1", 3), 0);
	assert_int_equal(fabraft_hash_parse(&b, "0000000000000001", 16), 0);
	assert_true(fabraft_hash_equal(&a, &b));
	assert_int_equal(fabraft_hash_parse(&b, "01", 2), 0);
	assert_false(fabraft_hash_equal(&a, &b));
	assert_int_equal(fabraft_hash_parse(&a, "i:-1", 4), 0);
	fabraft_hash_to_hex(&a, hex);
	assert_string_equal(hex, "ffffffffffffffff");
	assert_int_equal(fabraft_hash_parse(&a, "i:18446744073709551615", 22),
			 0);
	fabraft_hash_to_hex(&a, hex);
	assert_string_equal(hex, "ffffffffffffffff");
	assert_int_equal(fabraft_hash_parse(&a, "i:18446744073709551616", 22),
			 FR_INVALID);
	assert_int_equal(fabraft_hash_parse(&a, "i:-9223372036854775809", 22),
			 FR_INVALID);
	assert_int_equal(fabraft_hash_parse(&a, "i:", 2), FR_INVALID);
	assert_int_equal(fabraft_hash_parse(&a, "i:1x", 4), FR_INVALID);
	assert_int_equal(fabraft_hash_parse(&a, "abc", 3), FR_INVALID);
	assert_int_equal(fabraft_hash_parse(&a, "zz", 2), FR_INVALID);
	assert_int_equal(fabraft_hash_parse(&a, "", 0), FR_INVALID);
	memset(big, 'a', sizeof(big));
	assert_int_equal(fabraft_hash_parse(&a, big, 66), FR_INVALID);
	assert_int_equal(fabraft_hash_parse(&a, big, 64), 0);
	assert_int_equal(a.len, 32);
	assert_int_equal(fabraft_hash_parse(&a, "ABCDEF", 6), 0);
	fabraft_hash_to_hex(&a, hex);
	assert_string_equal(hex, "abcdef");
	fabraft_hash_from_u64(&a, 0x0102030405060708ull);
	fabraft_hash_to_hex(&a, hex);
	assert_string_equal(hex, "0102030405060708");
	assert_int_equal(fabraft_hash_from_bytes(&a, hex, 0), FR_INVALID);
	assert_int_equal(fabraft_hash_from_bytes(&a, hex, 33), FR_INVALID);
}

/* fabraft_open on @list fails with FR_INVALID and a message. */
static void bad_list(const char *list, const char *why)
{
	struct fabraft_options o;
	struct fabraft_client *c = (void *)1;
	char err[256];

	fabraft_options_default(&o);
	o.endpoints = list;
	assert_int_equal(fabraft_open(&c, &o, err, sizeof(err)), FR_INVALID);
	assert_null(c);
	if (strstr(err, why) == NULL) {
		fail_msg("'%s': error '%s' lacks '%s'", list, err, why);
	}
}

static void endpoints(void **state)
{
	struct fabraft_options o;
	struct fabraft_client *c;
	char many[1024] = "";
	char err[256];

	(void)state;
	bad_list("", "no endpoints");
	bad_list(NULL, "no endpoints");
	bad_list("localhost", "not HOST:PORT");
	bad_list(":6379", "not HOST:PORT");
	bad_list("h:0", "1..65535");
	bad_list("h:65536", "1..65535");
	bad_list("h:x", "not a number");
	bad_list("h:1x", "1..65535");
	bad_list("a:1,,b:2", "endpoint 2");
	bad_list("a:1,", "endpoint 2");
	bad_list("a b:1", "bad character");
	for (int i = 0; i < 17; i++) {
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%sh%d:1", i ? "," : "", i);
	}
	bad_list(many, "more than 16");
	fabraft_options_default(&o);
	o.endpoints = " 127.0.0.1:1 , localhost:2";
	assert_int_equal(fabraft_open(&c, &o, err, sizeof(err)), 0);
	fabraft_close(c);
	o.size = 8;
	assert_int_equal(fabraft_open(&c, &o, err, sizeof(err)), FR_INVALID);
	assert_non_null(strstr(err, "options.size"));
	fabraft_options_default(&o);
	o.endpoints = "h:1";
	o.deadline_ms = 0;
	assert_int_equal(fabraft_open(&c, &o, err, sizeof(err)), FR_INVALID);
}

static void classify(void **state)
{
	const char *get[] = {"get", "k"};
	const char *set[] = {"SET", "k", "v"};
	const char *cas[] = {"SET", "k", "v", "IFEQ", "o"};
	const char *incr[] = {"INCR", "k"};
	const char *look[] = {"KVC.LOOKUP", "ns", "aa"};
	const char *touch[] = {"KVC.LOOKUP", "ns", "aa", "touch"};
	const char *put[] = {"KVC.PUT", "ns",  "aa", "-", "1",
			     "1",	"hbm", "0",  "1"};
	const char *res[] = {"KVC.PUT", "ns", "RES", "1", "aa", "-", "1", "0"};
	const char *alloc[] = {"KVC.ALLOC", "ns", "1"};
	const char *ev[] = {"KVC.EVENTS", "1"};
	const char *odd[] = {"FLUSHALL"};

	(void)state;
	assert_int_equal(fabraft__classify(2, get, NULL), FABRAFT__READ);
	assert_int_equal(fabraft__classify(3, set, NULL), FABRAFT__IDEM);
	assert_int_equal(fabraft__classify(5, cas, NULL), FABRAFT__UNSAFE);
	assert_int_equal(fabraft__classify(2, incr, NULL), FABRAFT__UNSAFE);
	assert_int_equal(fabraft__classify(3, look, NULL), FABRAFT__READ);
	assert_int_equal(fabraft__classify(4, touch, NULL), FABRAFT__IDEM);
	assert_int_equal(fabraft__classify(9, put, NULL), FABRAFT__IDEM);
	assert_int_equal(fabraft__classify(8, res, NULL), FABRAFT__UNSAFE);
	assert_int_equal(fabraft__classify(3, alloc, NULL), FABRAFT__UNSAFE);
	assert_int_equal(fabraft__classify(2, ev, NULL), FABRAFT__READ);
	assert_int_equal(fabraft__classify(1, odd, NULL), FABRAFT__UNSAFE);
}

/* A connection lost after an INCR was sent: FR_UNKNOWN, sent once. */
static void unknown_on_close(void **state)
{
	struct fake f = {0};
	struct fabraft_client *c;
	int64_t v = 0;

	(void)state;
	script(&f, 1, (const char *)NULL);
	fake_start(&f);
	c = open_on(f.addr, 2000);
	assert_int_equal(fabraft_incr(c, "k", &v), FR_UNKNOWN);
	assert_non_null(strstr(fabraft_errmsg(c), "outcome unknown"));
	assert_int_equal(f.cmds, 1);
	/* A read is simply sent again. */
	f.next = 0;
	f.cmds = 0;
	script(&f, 2, (const char *)NULL, "$1\r\nx");
	{
		char *val;
		size_t len;
		bool found;

		assert_int_equal(fabraft_get(c, "k", &val, &len, &found), 0);
		assert_true(found);
		assert_string_equal(val, "x");
		fabraft_free(val);
	}
	assert_int_equal(f.cmds, 2);
	fabraft_close(c);
	fake_stop(&f);
}

static const char maybe[] = "-TRYAGAIN timed out waiting for commit; the "
			    "write may or may not have been applied";
static const char lost[] = "-TRYAGAIN lost the connection to the leader; "
			   "the outcome is unknown";

/* -TRYAGAIN texts that leave the outcome open: INCR stops, SET retries
 * (unless retry_idempotent is off). */
static void unknown_on_tryagain(void **state)
{
	struct fake f = {0};
	struct fabraft_client *c;
	int64_t v;

	(void)state;
	script(&f, 4, maybe, lost, "+OK", lost);
	fake_start(&f);
	c = open_on(f.addr, 2000);
	assert_int_equal(fabraft_incr(c, "k", &v), FR_UNKNOWN);
	assert_int_equal(f.cmds, 1);
	assert_int_equal(fabraft_set(c, "k", "v", 1), 0);
	assert_int_equal(f.cmds, 3);
	c->o.retry_idempotent = false;
	assert_int_equal(fabraft_set(c, "k", "v", 1), FR_UNKNOWN);
	assert_int_equal(f.cmds, 4);
	fabraft_close(c);
	fake_stop(&f);
}

/* -TRYAGAIN that is certain (not executed) is retried even for INCR. */
static void certain_tryagain(void **state)
{
	struct fake f = {0};
	struct fabraft_client *c;
	int64_t v = 0;
	struct fabraft_client_stats st;

	(void)state;
	script(&f, 4, "-TRYAGAIN no leader elected yet; retry",
	       "-TRYAGAIN the entry was not committed (leadership changed); "
	       "retry",
	       "-TRYAGAIN could not reach the leader; the command was not "
	       "executed",
	       ":5");
	fake_start(&f);
	c = open_on(f.addr, 2000);
	assert_int_equal(fabraft_incr(c, "k", &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(f.cmds, 4);
	fabraft_client_stats(c, &st);
	assert_int_equal(st.retries, 3);
	fabraft_close(c);
	fake_stop(&f);
}

/* A connection the server closed while idle is noticed before an unsafe
 * write is sent: no spurious FR_UNKNOWN. */
static void idle_close(void **state)
{
	struct fake f = {0};
	struct fabraft_client *c;
	int64_t v = 0;

	(void)state;
	script(&f, 3, "!:1", "!:2", "+OK");
	fake_start(&f);
	c = open_on(f.addr, 2000);
	assert_int_equal(fabraft_incr(c, "k", &v), 0);
	assert_int_equal(v, 1);
	usleep(100000);
	assert_int_equal(fabraft_incr(c, "k", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(f.conns, 2);
	/* A SET that may not be retried gets the same care. */
	c->o.retry_idempotent = false;
	usleep(100000);
	assert_int_equal(fabraft_set(c, "k", "v", 1), 0);
	assert_int_equal(f.conns, 3);
	assert_int_equal(f.cmds, 3);
	fabraft_close(c);
	fake_stop(&f);
}

/* -MOVED is followed; INFO discovery goes to the leader directly. */
static void moved_and_discovery(void **state)
{
	struct fake a = {0};
	struct fake b = {0};
	struct fabraft_client *c;
	struct fabraft_client_stats st;
	char moved[64];

	(void)state;
	fake_start(&b);
	snprintf(moved, sizeof(moved), "-MOVED 0 %s", b.addr);
	script(&a, 1, moved);
	snprintf(a.info, sizeof(a.info),
		 "role:follower\r\nleader_id:2\r\nleader_client:%s", b.addr);
	fake_start(&a);
	/* Without discovery: the follower's -MOVED is followed. */
	c = open_on(a.addr, 2000);
	c->o.discover_leader = false;
	assert_int_equal(fabraft_set(c, "k", "v", 1), 0);
	fabraft_client_stats(c, &st);
	assert_int_equal(st.moved, 1);
	assert_string_equal(fabraft_server(c), b.addr);
	assert_int_equal(a.cmds, 1);
	assert_int_equal(b.cmds, 1);
	fabraft_close(c);
	/* With discovery: straight to the leader. */
	c = open_on(a.addr, 2000);
	assert_int_equal(fabraft_set(c, "k", "v", 1), 0);
	fabraft_client_stats(c, &st);
	assert_int_equal(st.moved, 0);
	assert_int_equal(st.discoveries, 1);
	assert_string_equal(fabraft_server(c), b.addr);
	assert_int_equal(a.cmds, 1);
	assert_int_equal(b.cmds, 2);
	fabraft_close(c);
	fake_stop(&a);
	fake_stop(&b);
}

/* No leader ever, a refused port, a node that never answers: each call
 * ends within its deadline with a clear error. */
static void deadlines(void **state)
{
	struct fake f = {0};
	struct fake mute = {.no_accept = true};
	struct fabraft_client *c;
	char *val;
	size_t len;
	bool found;
	int64_t t0;
	const char *no[16];

	(void)state;
	for (int i = 0; i < 16; i++) {
		no[i] = "-TRYAGAIN no leader elected yet; retry";
	}
	memcpy(f.script, no, sizeof(no));
	f.n_script = 16;
	fake_start(&f);
	c = open_on(f.addr, 300);
	t0 = now_ms();
	assert_int_equal(fabraft_get(c, "k", &val, &len, &found), FR_TIMEOUT);
	assert_in_range(now_ms() - t0, 250, 900);
	assert_non_null(strstr(fabraft_errmsg(c), "no leader"));
	fabraft_close(c);
	fake_stop(&f);

	c = open_on("127.0.0.1:1", 300);
	t0 = now_ms();
	assert_int_equal(fabraft_get(c, "k", &val, &len, &found), FR_NOCONN);
	assert_in_range(now_ms() - t0, 250, 900);
	assert_non_null(strstr(fabraft_errmsg(c), "127.0.0.1:1"));
	fabraft_close(c);

	fake_start(&mute);
	c = open_on(mute.addr, 300);
	t0 = now_ms();
	assert_int_equal(fabraft_get(c, "k", &val, &len, &found), FR_TIMEOUT);
	assert_in_range(now_ms() - t0, 250, 900);
	fabraft_close(c);
	fake_stop(&mute);
}

/* A pipeline: a certain -TRYAGAIN is sent again after the others; a lost
 * connection makes the unanswered write FR_UNKNOWN and the read retried. */
static void pipeline(void **state)
{
	struct fake f = {0};
	struct fabraft_client *c;
	const char *incr[] = {"INCR", "k"};
	const char *get[] = {"GET", "k"};
	struct fabraft_cmd cmds[3] = {
	    {2, incr, NULL}, {2, incr, NULL}, {2, incr, NULL}};
	struct fabraft_reply r[3];
	int rvs[3];

	(void)state;
	script(&f, 4, ":1", "-TRYAGAIN no leader elected yet; retry", ":3",
	       ":2");
	fake_start(&f);
	c = open_on(f.addr, 2000);
	assert_int_equal(fabraft_pipeline(c, 3, cmds, r, rvs), 0);
	assert_int_equal(r[0].integer, 1);
	assert_int_equal(r[1].integer, 2);
	assert_int_equal(r[2].integer, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rvs[i], 0);
		fabraft_reply_free(&r[i]);
	}
	f.next = 0;
	script(&f, 3, ":7", (const char *)NULL, "$1\r\nz");
	cmds[1].argv = get;
	assert_int_equal(fabraft_pipeline(c, 3, cmds, r, rvs), FR_UNKNOWN);
	assert_int_equal(rvs[0], 0);
	assert_int_equal(r[0].integer, 7);
	assert_int_equal(rvs[1], 0);
	assert_string_equal(r[1].str, "z");
	assert_int_equal(rvs[2], FR_UNKNOWN);
	for (int i = 0; i < 3; i++) {
		fabraft_reply_free(&r[i]);
	}
	fabraft_close(c);
	fake_stop(&f);
}

/* Typed replies that do not have the expected shape are FR_MALFORMED;
 * error replies FR_REFUSED with the server's text. */
static void typed_errors(void **state)
{
	struct fake f = {0};
	struct fabraft_client *c;
	struct fabraft_hash h;
	struct fabraft_blocks b;
	struct fabraft_events e;
	uint64_t n;

	(void)state;
	script(&f, 4, "-ERR unknown node 9", ":1", "*1\r\n:5",
	       "-RESYNC oldest kept seq is 9; list the state with KVC.SCAN");
	fake_start(&f);
	c = open_on(f.addr, 2000);
	fabraft_hash_from_u64(&h, 1);
	assert_int_equal(fabraft_kvc_evict(c, "ns", &h, 1, 9, "hbm", &n),
			 FR_REFUSED);
	assert_string_equal(fabraft_errmsg(c), "ERR unknown node 9");
	assert_int_equal(fabraft_kvc_lookup(c, "ns", &h, 1, false, &b),
			 FR_MALFORMED);
	assert_int_equal(b.n, 0);
	assert_int_equal(fabraft_kvc_lookup(c, "ns", &h, 1, false, &b),
			 FR_MALFORMED);
	assert_int_equal(fabraft_kvc_events(c, 1, 0, -1, &e), FR_STALE);
	assert_non_null(strstr(fabraft_errmsg(c), "oldest kept seq is 9"));
	h.len = 0;
	assert_int_equal(fabraft_kvc_lookup(c, "ns", &h, 1, false, &b),
			 FR_INVALID);
	fabraft_close(c);
	fake_stop(&f);
}

/* Replies of the shapes docs/kvcache.md and spec S2 give, parsed. */
static void typed_parse(void **state)
{
	struct fake f = {0};
	struct fabraft_client *c;
	struct fabraft_allocs a;
	struct fabraft_events e;
	struct fabraft_scan sc;
	uint64_t size = 100;
	char hex[FABRAFT_HASH_HEX_SIZE];

	(void)state;
	script(&f, 3,
	       "*2\r\n*7\r\n:1\r\n:1\r\n$4\r\nn1:1\r\n$3\r\nhbm\r\n:100\r\n"
	       ":5000\r\n*1\r\n*4\r\n$2\r\nns\r\n$4\r\naabb\r\n:1\r\n$3\r\nhbm"
	       "\r\n-ERR no space on any node",
	       "*2\r\n:3\r\n*2\r\n*10\r\n:1\r\n:5\r\n$6\r\nstored\r\n$2\r\nns"
	       "\r\n$4\r\naabb\r\n:1\r\n$3\r\nhbm\r\n:0\r\n:10\r\n:16\r\n*4\r\n"
	       ":2\r\n:6\r\n$12\r\nnode_expired\r\n:3",
	       "*3\r\n$1\r\n0\r\n:3\r\n*1\r\n*5\r\n$2\r\nns\r\n$4\r\naabb\r\n$1"
	       "\r\n-\r\n:16\r\n*1\r\n*5\r\n:1\r\n$4\r\nn1:1\r\n$3\r\nhbm\r\n:0"
	       "\r\n:10");
	fake_start(&f);
	c = open_on(f.addr, 2000);
	uint64_t two[2] = {size, 200};
	assert_int_equal(fabraft_kvc_alloc(c, "ns", two, 2, 0, 0, &a), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.allocs[0].rv, 0);
	assert_string_equal(a.allocs[0].addr, "n1:1");
	assert_int_equal(a.allocs[0].expiry_ms, 5000);
	assert_int_equal(a.allocs[0].n_victims, 1);
	assert_string_equal(a.allocs[0].victims[0].ns, "ns");
	fabraft_hash_to_hex(&a.allocs[0].victims[0].hash, hex);
	assert_string_equal(hex, "aabb");
	assert_int_equal(a.allocs[1].rv, FR_REFUSED);
	assert_string_equal(a.allocs[1].err, "ERR no space on any node");
	fabraft_allocs_free(&a);
	assert_int_equal(fabraft_kvc_events(c, 1, 10, 100, &e), 0);
	assert_int_equal(e.next_seq, 3);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.events[0].type, "stored");
	assert_int_equal(e.events[0].index, 5);
	assert_int_equal(e.events[0].n_fields, 7);
	assert_string_equal(e.events[0].fields[1].str, "aabb");
	assert_true(e.events[0].fields[2].is_int);
	assert_string_equal(e.events[1].type, "node_expired");
	assert_int_equal(e.events[1].fields[0].integer, 3);
	fabraft_events_free(&e);
	assert_int_equal(fabraft_kvc_scan(c, NULL, 0, 0, &sc), 0);
	assert_int_equal(sc.next_cursor, 0);
	assert_int_equal(sc.seq, 3);
	assert_int_equal(sc.b.n, 1);
	assert_int_equal(sc.b.blocks[0].parent.len, 0);
	assert_int_equal(sc.b.blocks[0].tokens, 16);
	assert_int_equal(sc.b.blocks[0].locations[0].len, 10);
	fabraft_scan_free(&sc);
	fabraft_close(c);
	fake_stop(&f);
}

/* MULTI ... EXEC: one pipeline, never re-sent; MULTI alone refused. */
static void transaction(void **state)
{
	struct fake f = {0};
	struct fabraft_client *c;
	const char *multi[] = {"MULTI"};
	const char *set[] = {"SET", "k", "v"};
	const char *exec[] = {"EXEC"};
	struct fabraft_cmd cmds[4] = {
	    {1, multi, NULL}, {3, set, NULL}, {3, set, NULL}, {1, exec, NULL}};
	struct fabraft_reply r[4];
	int rvs[4];

	(void)state;
	script(&f, 7, "+OK", "-TRYAGAIN no leader elected yet; retry",
	       "+QUEUED", "*1\r\n+OK", "+OK", "+QUEUED", (const char *)NULL);
	fake_start(&f);
	c = open_on(f.addr, 2000);
	assert_int_equal(fabraft_command(c, 1, multi, NULL, &r[0]), FR_INVALID);
	/* A -TRYAGAIN inside is the answer, not a reason to re-send. */
	assert_int_equal(fabraft_pipeline(c, 4, cmds, r, rvs), 0);
	assert_string_equal(r[1].str, "TRYAGAIN no leader elected yet; retry");
	assert_int_equal(r[3].type, '*');
	assert_int_equal(f.cmds, 4);
	for (int i = 0; i < 4; i++) {
		fabraft_reply_free(&r[i]);
	}
	/* The connection breaks inside: the rest is unknown, not re-sent. */
	assert_int_equal(fabraft_pipeline(c, 4, cmds, r, rvs), FR_UNKNOWN);
	assert_int_equal(rvs[0], 0);
	assert_int_equal(rvs[1], 0);
	assert_int_equal(rvs[2], FR_UNKNOWN);
	assert_int_equal(rvs[3], FR_UNKNOWN);
	assert_int_equal(f.cmds, 7);
	assert_int_equal(f.conns, 1);
	for (int i = 0; i < 4; i++) {
		fabraft_reply_free(&r[i]);
	}
	fabraft_close(c);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hashes),
	    cmocka_unit_test(endpoints),
	    cmocka_unit_test(classify),
	    cmocka_unit_test(unknown_on_close),
	    cmocka_unit_test(unknown_on_tryagain),
	    cmocka_unit_test(certain_tryagain),
	    cmocka_unit_test(idle_close),
	    cmocka_unit_test(moved_and_discovery),
	    cmocka_unit_test(deadlines),
	    cmocka_unit_test(pipeline),
	    cmocka_unit_test(typed_errors),
	    cmocka_unit_test(typed_parse),
	    cmocka_unit_test(transaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
