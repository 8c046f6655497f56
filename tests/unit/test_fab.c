/* test_fab.c — fab_open() validation, provider errors, single-process API. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fab.h"
#include "fab_topo.h"
#include "heap.h"

#define SECRET "unit-test-secret-0123456789abcdef"

static struct fab_peer_addr peers[2] = {
    {.id = 1, .host = "127.0.0.1", .port = 0},
    {.id = 2, .host = "127.0.0.1", .port = 1},
};

static void opts(struct fab_options *o, const char *prov)
{
	memset(o, 0, sizeof(*o));
	o->provider = prov;
	o->rma = -1;
	o->self = 1;
	o->peers = peers;
	o->n_peers = 2;
	o->cluster_id = 7;
	o->secret = SECRET;
	o->secret_len = strlen(SECRET);
	o->ring_bytes = 4096;
	o->frame_bytes_max = 8192;
	o->queue_max_bytes = 65536;
	o->queue_max_msgs = 8;
}

static void unknown_provider_lists_present(void **state)
{
	struct fab_options o;
	struct fab *f = NULL;
	char err[FR_ERRMSG_SIZE];
	char list[128];

	(void)state;
	opts(&o, "bogus");
	assert_int_equal(fab_open(&f, &o, err), FR_UNSUPPORTED);
	assert_null(f);
	fab_providers_list(list, sizeof(list));
	assert_non_null(strstr(list, "tcp"));
	assert_non_null(strstr(err, "unknown"));
	assert_non_null(strstr(err, list));
}

static void bad_options_refused(void **state)
{
	struct fab_options o;
	struct fab *f = NULL;
	char err[FR_ERRMSG_SIZE];

	(void)state;
	opts(&o, "tcp");
	o.self = 3;
	assert_int_equal(fab_open(&f, &o, err), FR_INVALID);
	opts(&o, "tcp");
	o.ring_bytes = 5000;
	assert_int_equal(fab_open(&f, &o, err), FR_INVALID);
	opts(&o, "tcp");
	o.secret_len = 3;
	assert_int_equal(fab_open(&f, &o, err), FR_INVALID);
	opts(&o, "tcp");
	o.n_peers = 1;
	assert_int_equal(fab_open(&f, &o, err), FR_INVALID);
	opts(&o, "tcp");
	o.rma = 2;
	assert_int_equal(fab_open(&f, &o, err), FR_INVALID);
	opts(&o, "tcp");
	o.frame_bytes_max = UINT32_MAX; /* 16 buffers would overflow */
	o.queue_max_bytes = UINT32_MAX;
	assert_int_equal(fab_open(&f, &o, err), FR_INVALID);
	assert_non_null(strstr(err, "frame_bytes_max"));
	assert_null(f);
}

static void ignore(void *ctx, const struct raft_message *m)
{
	(void)ctx;
	(void)m;
}

static void open_send_close(void **state)
{
	struct fab_options o;
	struct fab *f = NULL;
	struct fab_info info;
	char err[FR_ERRMSG_SIZE];
	struct raft_message m = {
	    .type = RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 1};
	int rv;

	(void)state;
	opts(&o, "tcp");
	assert_int_equal(fab_open(&f, &o, err), 0);
	fab_info_get(f, &info);
	assert_string_equal(info.provider, "tcp;ofi_rxm");
	assert_true(info.rma);
	assert_int_equal(info.peers_up, 0);
	/* Not handshaken: dropped with FR_NOCONN. */
	assert_int_equal(fab_send(f, &m), FR_NOCONN);
	m.to = 9;
	assert_int_equal(fab_send(f, &m), FR_INVALID);
	assert_true(fab_poll(f, ignore, NULL) >= 0);
	/* tcp has a wait fd; nothing is pending once polled, or the
	 * provider asks for one more poll. */
	assert_true(info.wait_fd);
	assert_true(fab_wait_fd(f) >= 0);
	rv = fab_trywait(f);
	assert_true(rv == 0 || rv == FR_AGAIN);
	fab_close(f);
}

/* With a topology, buffers come from fab_topo_alloc() on the chosen node
 * and fab_info says where, and whether the kernel bound them. */
static void open_with_topology(void **state)
{
	struct fab_options o;
	struct fab_topo *t = NULL;
	struct fab *f = NULL;
	struct fab_info info;
	char err[FR_ERRMSG_SIZE];

	(void)state;
	assert_int_equal(fab_topo_open(&t), 0);
	opts(&o, "tcp");
	o.topo = t;
	o.numa_os = 0; /* every machine hwloc loads has a node 0 here */
	assert_int_equal(fab_open(&f, &o, err), 0);
	fab_info_get(f, &info);
	assert_int_equal(info.numa_os, 0);
	/* Bound, or not bound with the refusal's errno. */
	assert_true(info.mem_bound != (info.mem_errno != 0));
	printf("rings on NUMA node 0: %s\n",
	       info.mem_bound ? "bound" : strerror(info.mem_errno));
	fab_close(f);
	fab_topo_close(t);

	/* A topology that is not this machine's binds nothing, and says
	 * why (EXDEV), but the fabric works. */
	assert_int_equal(fab_topo_open_from("pack:2 [numa] core:2 pu:1", &t),
			 0);
	o.topo = t;
	o.numa_os = 1;
	assert_int_equal(fab_open(&f, &o, err), 0);
	fab_info_get(f, &info);
	assert_int_equal(info.numa_os, 1);
	assert_false(info.mem_bound);
	assert_int_equal(info.mem_errno, EXDEV);
	fab_close(f);
	fab_topo_close(t);
}

/* --nic auto: the device under the provider and address fab_open() would
 * use, without opening anything. */
static void nic_find(void **state)
{
	struct fab_options o;
	struct fab_nic nic;
	char err[FR_ERRMSG_SIZE];

	(void)state;
	opts(&o, "tcp");
	assert_int_equal(fab_nic_find(&o, &nic, err), 0);
	assert_string_equal(nic.name, "lo");
	assert_true(nic.loopback);
	assert_non_null(strstr(nic.provider, "tcp"));
	assert_non_null(strstr(nic.how, "127.0.0.1: interface lo (loopback)"));

	opts(&o, "shm");
	if (fab_nic_find(&o, &nic, err) == 0) {
		assert_string_equal(nic.name, "");
		assert_false(nic.loopback);
		assert_non_null(strstr(nic.how, "no NIC"));
	} else {
		printf("shm absent here: %s\n", err);
	}

	opts(&o, "bogus");
	assert_int_equal(fab_nic_find(&o, &nic, err), FR_UNSUPPORTED);
	opts(&o, "tcp");
	o.self = 9;
	assert_int_equal(fab_nic_find(&o, &nic, err), FR_INVALID);
	o.n_peers = 0;
	assert_int_equal(fab_nic_find(&o, &nic, err), FR_INVALID);
}

static void open_fails_cleanly_without_memory(void **state)
{
	struct fab_options o;
	char err[FR_ERRMSG_SIZE];
	int ok = 0;

	(void)state;
	opts(&o, "tcp");
	for (int delay = 0; delay < 16; delay++) {
		struct fab *f = NULL;
		int rv;

		fr_heap_fault_config(delay, 1);
		rv = fab_open(&f, &o, err);
		fr_heap_fault_config(-1, 0);
		assert_true(rv == 0 || rv == FR_NOMEM);
		if (rv == 0) {
			ok++;
			fab_close(f);
		}
	}
	assert_true(ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unknown_provider_lists_present),
	    cmocka_unit_test(bad_options_refused),
	    cmocka_unit_test(open_send_close),
	    cmocka_unit_test(open_with_topology),
	    cmocka_unit_test(nic_find),
	    cmocka_unit_test(open_fails_cleanly_without_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
