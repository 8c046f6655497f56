/* test_fab_shm.c — which shm regions a node may insert into its AV: only the
 * newest epoch of a peer, and only once its owner has finished initialising
 * it (libfabric 1.17 shares one fi_addr between two peers otherwise). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fab_ep.h"

/* A host nothing else uses, and a port from our pid: test runs in parallel
 * never look at each other's files. */
#define HOST "127.0.0.251"

struct fx {
	uint16_t port;
	char dir_file[4][160];
	int n;
};

/* Write a region file with libfabric 1.17's header: version, pid. */
static void write_region(const char *path, uint8_t version, int32_t pid,
			 size_t size)
{
	uint8_t head[8] = {0};
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	head[0] = version;
	memcpy(head + 4, &pid, sizeof(pid));
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (size >= sizeof(head)) {
		assert_int_equal(pwrite(fd, head, sizeof(head), 0),
				 (ssize_t)sizeof(head));
	}
	close(fd);
}

static void need_dev_shm(void)
{
	if (access("/dev/shm", W_OK) != 0) {
		print_message("skipped: /dev/shm is not writable here\n");
		skip();
	}
}

static const char *region(struct fx *x, uint64_t epoch)
{
	char base[128];

	assert_true(x->n < 4);
	fab__shm_name(base, sizeof(base), HOST, x->port, epoch);
	snprintf(x->dir_file[x->n], sizeof(x->dir_file[0]), "/dev/shm/%s:0:0",
		 base);
	return x->dir_file[x->n++];
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->port = (uint16_t)(10000 + getpid() % 50000);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	for (int i = 0; i < x->n; i++) {
		(void)unlink(x->dir_file[i]);
	}
	free(x);
	return 0;
}

static void ready_needs_the_pid_in_117_layout(void **state)
{
	struct fx *x = *state;
	const char *p;

	need_dev_shm();
	p = region(x, 7);

	assert_false(fab__shm_region_ready("/dev/shm/fabraft.no.such.file"));
	write_region(p, 0, 0, 0); /* shm_open'ed, not yet truncated */
	assert_false(fab__shm_region_ready(p));
	write_region(p, 0, 0, 1 << 20); /* truncated, header not written */
	assert_false(fab__shm_region_ready(p));
	write_region(p, 4, 0, 1 << 20); /* 1.17: version, no pid yet */
	assert_false(fab__shm_region_ready(p));
	write_region(p, 4, 4242, 1 << 20); /* pid written last: done */
	assert_true(fab__shm_region_ready(p));
	/* Another libfabric's layout: not read beyond its version. */
	write_region(p, 9, 0, 1 << 20);
	assert_true(fab__shm_region_ready(p));
}

static void find_waits_for_the_newest_to_be_initialised(void **state)
{
	struct fx *x = *state;
	struct fab__ep e;
	uint64_t epoch = 0;

	need_dev_shm();
	memset(&e, 0, sizeof(e));
	snprintf(e.shm_suffix, sizeof(e.shm_suffix), ":0:0");
	assert_false(fab__ep_shm_find(&e, HOST, x->port, 0, &epoch));

	write_region(region(x, 100), 4, 1111, 1 << 16);
	assert_true(fab__ep_shm_find(&e, HOST, x->port, 0, &epoch));
	assert_int_equal(epoch, 100);

	/* A restart: the new region exists but its owner is still in
	 * smr_create().  Neither it nor the dead incarnation may be used. */
	write_region(region(x, 200), 4, 0, 1 << 16);
	epoch = 0;
	assert_false(fab__ep_shm_find(&e, HOST, x->port, 0, &epoch));
	assert_int_equal(epoch, 0);

	write_region(x->dir_file[1], 4, 2222, 1 << 16);
	assert_true(fab__ep_shm_find(&e, HOST, x->port, 0, &epoch));
	assert_int_equal(epoch, 200);

	/* Young regions wait for the minimum age as before. */
	assert_false(fab__ep_shm_find(&e, HOST, x->port, 60000, &epoch));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(ready_needs_the_pid_in_117_layout),
	    T(find_waits_for_the_newest_to_be_initialised),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
