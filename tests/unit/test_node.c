/* test_node.c — the runtime in-process: a one-node cluster serves RESP and
 * recovers its state, node_open() refuses bad options and a foreign data
 * dir, and an allocation failure anywhere in node_open() is reported. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "heap.h"
#include "node.h"
#include "resp_client.h"
#include "trace.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_node.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void options(struct node_options *o, uint64_t cluster)
{
	node_options_default(o);
	o->id = 1;
	o->n_peers = 1;
	o->peers[0].id = 1;
	snprintf(o->peers[0].host, sizeof(o->peers[0].host), "127.0.0.1");
	o->peers[0].port = 7999; /* unused in a one-node cluster */
	snprintf(o->client, sizeof(o->client), "127.0.0.1:0");
	snprintf(o->data_dir, sizeof(o->data_dir), "%s/data", tmpdir);
	snprintf(o->cpu_pin, sizeof(o->cpu_pin), "off");
	o->cluster_id = cluster;
	o->fsync = false; /* speed; durability is the e2e tests' job */
}

struct runner {
	struct node *n;		     /* node being run */
	int rv;			     /* node_run's result */
	char errmsg[FR_ERRMSG_SIZE]; /* its message */
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->rv = node_run(r->n, r->errmsg);
	return NULL;
}

/* Send a command until it is not -TRYAGAIN (the election takes 100-200 ms);
 * returns the reply (caller frees). */
static struct respc_reply cmd(struct respc_conn *c, int argc,
			      const char *const *argv)
{
	struct respc_reply r;

	for (int i = 0; i < 300; i++) {
		struct timespec ts = {0, 10000000};

		assert_int_equal(respc_command(c, &r, argc, argv), 0);
		if (!(r.type == '-' && strncmp(r.str, "TRYAGAIN", 8) == 0)) {
			return r;
		}
		respc_reply_free(&r);
		nanosleep(&ts, NULL);
	}
	fail_msg("no leader after 3 s");
	return r;
}

/* Open, run in a thread, do @fn against it, SIGTERM, join, close. */
static void with_node(void (*fn)(struct respc_conn *c))
{
	struct node_options o;
	struct runner r = {0};
	char errmsg[FR_ERRMSG_SIZE];
	char addr[32];
	struct respc_conn c;
	pthread_t th;

	options(&o, 1);
	assert_int_equal(node_open(&r.n, &o, errmsg), 0);
	/* node_open blocked SIGTERM in this thread; the runner inherits the
	 * mask, so the signal reaches only the node's signalfd. */
	assert_int_equal(pthread_create(&th, NULL, run_thread, &r), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", node_client_port(r.n));
	assert_int_equal(respc_connect(&c, addr, 3000), 0);
	fn(&c);
	respc_close(&c);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.rv, 0);
	node_close(r.n);
}

static void serve(struct respc_conn *c)
{
	const char *set[] = {"SET", "k", "v"};
	const char *get[] = {"GET", "k"};
	const char *bad[] = {"NOSUCH"};
	const char *info[] = {"INFO", "replication"};
	struct respc_reply r;

	r = cmd(c, 3, set);
	assert_int_equal(r.type, '+');
	respc_reply_free(&r);
	r = cmd(c, 2, get);
	assert_int_equal(r.type, '$');
	assert_string_equal(r.str, "v");
	respc_reply_free(&r);
	r = cmd(c, 1, bad);
	assert_int_equal(r.type, '-');
	assert_non_null(strstr(r.str, "unknown command"));
	respc_reply_free(&r);
	r = cmd(c, 2, info);
	assert_int_equal(r.type, '$');
	assert_non_null(strstr(r.str, "role:leader"));
	assert_non_null(strstr(r.str, "node_id:1"));
	respc_reply_free(&r);
}

static void recovered(struct respc_conn *c)
{
	const char *get[] = {"GET", "k"};
	struct respc_reply r = cmd(c, 2, get);

	assert_int_equal(r.type, '$');
	assert_string_equal(r.str, "v");
	respc_reply_free(&r);
}

static void test_serves_and_recovers(void **state)
{
	(void)state;
	with_node(serve);
	with_node(recovered);
}

static void test_bad_options(void **state)
{
	struct node_options o;
	struct node *n;
	char errmsg[FR_ERRMSG_SIZE];

	(void)state;
	options(&o, 1);
	o.id = 0;
	assert_int_equal(node_open(&n, &o, errmsg), FR_INVALID);
	assert_null(n);
	options(&o, 1);
	o.id = 2; /* not in peers */
	assert_int_equal(node_open(&n, &o, errmsg), FR_INVALID);
	assert_non_null(strstr(errmsg, "does not list"));
	options(&o, 0);
	assert_int_equal(node_open(&n, &o, errmsg), FR_INVALID);
	options(&o, 1);
	snprintf(o.client, sizeof(o.client), "nowhere");
	assert_int_not_equal(node_open(&n, &o, errmsg), 0);
	/* Placement: a --nic that names no device, a bad --cpu-pin list,
	 * an unloadable --topology-xml stop the node with a reason. */
	options(&o, 1);
	snprintf(o.nic, sizeof(o.nic), "nosuch0");
	assert_int_equal(node_open(&n, &o, errmsg), FR_INVALID);
	assert_non_null(strstr(errmsg, "--nic nosuch0: no such device"));
	options(&o, 1);
	snprintf(o.cpu_pin, sizeof(o.cpu_pin), "1-x");
	assert_int_equal(node_open(&n, &o, errmsg), FR_INVALID);
	assert_non_null(strstr(errmsg, "bad --cpu-pin list"));
	options(&o, 1);
	snprintf(o.topology_xml, sizeof(o.topology_xml), "%s/none.xml", tmpdir);
	assert_int_equal(node_open(&n, &o, errmsg), FR_INVALID);
	assert_non_null(strstr(errmsg, "hwloc cannot load it"));
}

static void test_foreign_dir(void **state)
{
	struct node_options o;
	struct node *n;
	char errmsg[FR_ERRMSG_SIZE];

	(void)state;
	options(&o, 1);
	assert_int_equal(node_open(&n, &o, errmsg), 0);
	node_close(n);
	options(&o, 2);
	assert_int_equal(node_open(&n, &o, errmsg), FR_MISMATCH);
	assert_non_null(strstr(errmsg, "cluster"));
}

/* Fail the i-th allocation of node_open() for every i: it must fail
 * cleanly (no crash, no leak under ASan) or succeed. */
static void test_alloc_failures(void **state)
{
	struct node_options o;
	int failed = 0;
	int ok_run = 0;
	int i;

	(void)state;
	options(&o, 1);
	for (i = 0; i < 2000; i++) {
		char errmsg[FR_ERRMSG_SIZE] = "";
		struct node *n = NULL;
		int rv;

		fr_heap_fault_config(i, 1);
		rv = node_open(&n, &o, errmsg);
		fr_heap_fault_config(-1, 0);
		if (rv == 0) {
			/* Some failures are tolerated (hwloc placement is
			 * optional); 50 successes in a row mean the countdown
			 * now ends past node_open's last allocation. */
			node_close(n);
			if (++ok_run == 50) {
				break;
			}
			continue;
		}
		ok_run = 0;
		assert_null(n);
		assert_true(errmsg[0] != '\0' || rv == FR_NOMEM);
		failed++;
	}
	printf("node_open: %d allocation failures reported cleanly (%d "
	       "tried)\n",
	       failed, i);
	assert_true(failed >= 5);
}

/* Errors only on stderr (the node's own lines have no tag). */
static void log_line(void *ctx, int level, const char *tag, const char *line)
{
	(void)ctx;
	fprintf(stderr, "node %s: %s%s%s\n", fr_log_level_name(level),
		tag != NULL ? tag : "", tag != NULL ? ": " : "", line);
}

int main(void)
{
	fr_log_set(log_line, NULL, FR_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_serves_and_recovers, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alloc_failures, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
