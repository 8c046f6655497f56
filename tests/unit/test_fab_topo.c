/* test_fab_topo.c — hwloc placement: decisions on hand-written XML
 * topologies (tests/data/topo: two NUMA nodes with the NIC on the second,
 * a CPU-less CXL-like node, a single node) and on this machine, where
 * binding a thread and memory is done for real. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hwloc.h>
#include <sched.h>

#include "fab_topo.h"
#include "heap.h"

#ifndef TOPO_DIR
#error "TOPO_DIR (tests/data/topo) must be defined by the build"
#endif

static char *print_to_string(const struct fab_topo *t,
			     const struct fab_placement *p)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	assert_non_null(f);
	assert_int_equal(fab_topo_print(t, p, f), 0);
	assert_int_equal(fclose(f), 0);
	return text;
}

static struct fab_topo *open_xml(const char *name)
{
	struct fab_topo *t = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", TOPO_DIR, name);
	assert_int_equal(fab_topo_open_from(path, &t), 0);
	return t;
}

/* Two packages, a DRAM node each; eth1 and mlx5_0 on node 1, eth0 on 0. */
static void two_numa_nic_on_second(void **state)
{
	struct fab_topo *t = open_xml("two-numa-nic.xml");
	struct fab_placement p;
	char err[FR_ERRMSG_SIZE];
	bool bound;
	int e;
	(void)state;

	fab_topo_place(t, "eth1", &p);
	assert_true(p.nic_found);
	assert_false(p.this_system);
	assert_int_equal(p.n_numa, 2);
	assert_int_equal(p.numa_os, 1);
	assert_string_equal(p.cpuset, "2-3");
	assert_int_equal(p.n_node_cores, 2);
	assert_int_equal(p.n_tiers, 0);
	assert_string_equal(p.note, "eth1 is local to NUMA node 1");
	fab_topo_place(t, "mlx5_0", &p);
	assert_int_equal(p.numa_os, 1);
	fab_topo_place(t, "0000:81:00.0", &p); /* by PCI bus id */
	assert_int_equal(p.numa_os, 1);
	fab_topo_place(t, "eth0", &p);
	assert_int_equal(p.numa_os, 0);
	assert_string_equal(p.cpuset, "0-1");

	/* Nothing hwloc can attach to a node: nothing placed, said why. */
	fab_topo_place(t, "lo", &p);
	assert_false(p.nic_found);
	assert_int_equal(p.numa_os, -1);
	assert_string_equal(p.cpuset, "");
	assert_non_null(strstr(p.note, "lo: no NUMA locality"));
	fab_topo_place_found(t, "lo", true, &p);
	assert_string_equal(p.note,
			    "lo: no NUMA locality (loopback), not placed");
	fab_topo_place(t, NULL, &p);
	assert_int_equal(p.numa_os, -1);
	assert_string_equal(p.note, "no NIC: not placed");
	assert_int_equal(fab_topo_bind_thread(t, &p, err), FR_INVALID);

	/* Decided, never bound: the file's CPUs need not exist here. */
	fab_topo_place(t, "eth1", &p);
	assert_int_equal(fab_topo_bind_thread(t, &p, err), FR_UNSUPPORTED);
	assert_string_equal(err, "the topology is not this machine's");
	void *mem = fab_topo_alloc(t, 4096, 1, &bound, &e);
	assert_non_null(mem);
	assert_false(bound);
	assert_int_equal(e, EXDEV);
	fab_topo_free(t, mem, 4096);
	mem = fab_topo_alloc(t, 4096, 7, &bound, &e);
	assert_non_null(mem);
	assert_int_equal(e, ENOENT);
	fab_topo_free(t, mem, 4096);

	char *text = print_to_string(t, &p);
	assert_non_null(strstr(text, "2 NUMA nodes, 4 cores"));
	assert_non_null(strstr(text, "(not this machine)"));
	assert_non_null(strstr(text, "  NUMA node 1: 8192 MiB, CPUs 2-3\n"));
	assert_non_null(
	    strstr(text, "  mlx5_0 (PCI 0000:81:00.0): NUMA node 1\n"));
	assert_non_null(
	    strstr(text, "  eth0 (PCI 0000:01:00.0): NUMA node 0\n"));
	free(text);
	fab_topo_close(t);
}

/* A CPU-less 64 GiB node with OS index 0 and a DRAM node 1 share the NIC's
 * locality: the DRAM node is chosen, the CXL node is a memory tier. */
static void cpuless_node_never_chosen(void **state)
{
	struct fab_topo *t = open_xml("cxl-tier.xml");
	struct fab_placement p;
	int os = -1;
	(void)state;

	assert_int_equal(fab_topo_nic_numa(t, "eth0", &os), 0);
	assert_int_equal(os, 1);
	fab_topo_place(t, "eth0", &p);
	assert_int_equal(p.numa_os, 1);
	assert_string_equal(p.cpuset, "0-3");
	assert_int_equal(p.n_numa, 2);
	assert_int_equal(p.n_tiers, 1);
	assert_int_equal(p.tiers[0].numa_os, 0);
	assert_string_equal(p.tiers[0].kind, "CXL");
	assert_int_equal(p.tiers[0].bytes, 64ull << 30);
	char *text = print_to_string(t, &p);
	assert_non_null(
	    strstr(text, "memory tier: NUMA node 0, 65536 MiB, CXL"));
	assert_non_null(strstr(text, "NUMA node 0: 65536 MiB, no CPUs"));
	free(text);
	fab_topo_close(t);

	/* Synthetic: each package a DRAM node then a CPU-less one. */
	assert_int_equal(fab_topo_open_from("pack:2 [numa(memory=1GB)] "
					    "[numa(memory=4GB)] core:4 pu:2",
					    &t),
			 0);
	fab_topo_place(t, "eth0", &p);
	assert_int_equal(p.n_numa, 4);
	assert_int_equal(p.n_tiers, 2);
	assert_int_equal(p.numa_os, -1); /* synthetic: no I/O devices */
	fab_topo_close(t);
}

static void single_node(void **state)
{
	struct fab_topo *t = open_xml("single-node.xml");
	struct fab_placement p;
	(void)state;

	fab_topo_place(t, "eth0", &p);
	assert_int_equal(p.numa_os, 0);
	assert_string_equal(p.cpuset, "0-3");
	assert_int_equal(p.n_node_cores, 4);
	assert_non_null(strstr(p.note, "the only one: binding has no "
				       "locality effect"));
	fab_topo_close(t);
}

static void bad_input(void **state)
{
	struct fab_topo *t = NULL;
	int os;
	(void)state;

	assert_int_equal(fab_topo_open_from("not a topology", &t), FR_INVALID);
	assert_null(t);
	assert_int_equal(fab_topo_open_from("", &t), FR_INVALID);
	assert_int_equal(fab_topo_open_from("/nonexistent/t.xml", &t),
			 FR_INVALID);
	assert_int_equal(fab_topo_open_from(TOPO_DIR "/README.md", &t),
			 FR_INVALID);
	fr_heap_fault_config(0, 1);
	assert_int_equal(fab_topo_open(&t), FR_NOMEM);
	fr_heap_fault_config(-1, 0);
	assert_null(t);
	assert_int_equal(fab_topo_open(&t), 0);
	assert_int_equal(fab_topo_nic_numa(t, "", &os), FR_INVALID);
	assert_int_equal(fab_topo_nic_numa(t, "no-such-nic0", &os),
			 FR_NOTFOUND);
	assert_int_equal(fab_topo_nic_numa(t, "lo", &os), FR_NOTFOUND);
	fab_topo_close(t);
}

/* The first network device of this machine that hwloc attaches to a NUMA
 * node, or NULL. */
static const char *real_nic(const struct fab_topo *t, char *name, size_t n)
{
	hwloc_topology_t hw;
	hwloc_obj_t o = NULL;
	int os;

	assert_int_equal(hwloc_topology_init(&hw), 0);
	hwloc_topology_set_io_types_filter(hw,
					   HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	assert_int_equal(hwloc_topology_load(hw), 0);
	name[0] = '\0';
	while ((o = hwloc_get_next_osdev(hw, o)) != NULL)
		if (o->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK &&
		    fab_topo_nic_numa(t, o->name, &os) == 0) {
			snprintf(name, n, "%s", o->name);
			break;
		}
	hwloc_topology_destroy(hw);
	return name[0] ? name : NULL;
}

/* This machine: whatever it has must place, bind and allocate. */
static void this_machine_binds(void **state)
{
	struct fab_topo *t;
	struct fab_placement p;
	char err[FR_ERRMSG_SIZE], name[64];
	cpu_set_t before, set;
	bool bound;
	int e;
	(void)state;

	assert_int_equal(fab_topo_open(&t), 0);
	fab_topo_place(t, NULL, &p);
	assert_true(p.this_system);
	assert_true(p.n_numa >= 1 && p.n_pus >= 1);
	char *text = print_to_string(t, &p);
	printf("%s", text);
	free(text);
	if (real_nic(t, name, sizeof(name)) == NULL) {
		printf("skip binding: no network device with NUMA locality "
		       "here\n");
		fab_topo_close(t);
		skip();
	}
	fab_topo_place(t, name, &p);
	printf("NIC %s: %s, CPUs %s\n", name, p.note, p.cpuset);
	assert_true(p.numa_os >= 0);
	assert_true(p.cpuset[0] != '\0');

	/* Start on one CPU, so that binding to the node shows. */
	assert_int_equal(sched_getaffinity(0, sizeof(before), &before), 0);
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	assert_int_equal(sched_setaffinity(0, sizeof(set), &set), 0);
	int rv = fab_topo_bind_thread(t, &p, err);
	if (rv == FR_UNSUPPORTED) {
		printf("skip: %s\n", err);
		fab_topo_close(t);
		skip();
	}
	assert_int_equal(rv, 0);
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	hwloc_bitmap_t want = hwloc_bitmap_alloc();
	assert_int_equal(hwloc_bitmap_list_sscanf(want, p.cpuset), 0);
	assert_int_equal(CPU_COUNT(&set), hwloc_bitmap_weight(want));
	for (int c = 0; c < CPU_SETSIZE; c++)
		assert_int_equal(CPU_ISSET(c, &set) != 0,
				 hwloc_bitmap_isset(want, (unsigned)c));
	hwloc_bitmap_free(want);
	assert_int_equal(sched_setaffinity(0, sizeof(before), &before), 0);

	size_t len = 1u << 20;
	unsigned char *mem = fab_topo_alloc(t, len, p.numa_os, &bound, &e);
	assert_non_null(mem);
	for (size_t i = 0; i < len; i += 4096)
		assert_int_equal(mem[i], 0);
	memset(mem, 0x5a, len);
	printf("1 MiB on NUMA node %d: %s\n", p.numa_os,
	       bound ? "bound" : strerror(e));
	assert_true(bound || e != 0);
	fab_topo_free(t, mem, len);
	assert_null(fab_topo_alloc(t, 0, p.numa_os, &bound, &e));
	fab_topo_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(two_numa_nic_on_second),
	    cmocka_unit_test(cpuless_node_never_chosen),
	    cmocka_unit_test(single_node),
	    cmocka_unit_test(bad_input),
	    cmocka_unit_test(this_machine_binds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
