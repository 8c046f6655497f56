/* test_fab_topo.c — hwloc placement on this machine and on synthetic
 * multi-node topologies; printing, pinning, bound allocation. */
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

static void this_machine(void **state)
{
	struct fab_topo *t;
	struct fab_placement p;
	(void)state;

	assert_int_equal(fab_topo_open(&t), 0);
	assert_int_equal(fab_topo_place(t, NULL, &p), 0);
	assert_true(p.n_numa >= 1);
	assert_true(p.n_pus >= 1);
	assert_true(p.n_node_cores >= 1);
	for (int r = 0; r < FAB_THREAD_NR; r++)
		assert_true(p.cpu[r] >= 0);
	assert_false(p.nic_found);
	assert_non_null(strstr(p.note, "no NIC named"));
	/* Distinct cores whenever the node has enough of them. */
	if (p.n_node_cores >= FAB_THREAD_NR) {
		assert_false(p.shared_cores);
		assert_true(p.cpu[0] != p.cpu[1] && p.cpu[1] != p.cpu[2]);
	} else {
		assert_true(p.shared_cores);
	}
	char *text = print_to_string(t, &p);
	assert_non_null(strstr(text, "placement: NUMA node"));
	assert_non_null(strstr(text, "consensus"));
	if (p.n_numa == 1)
		assert_non_null(strstr(text, "single NUMA node"));
	printf("%s", text);
	free(text);
	fab_topo_close(t);
}

/* The first network OS device hwloc sees, with its PCI bus id. */
static const char *first_net_dev(hwloc_topology_t topo, char *busid, size_t n)
{
	hwloc_obj_t o = NULL;
	while ((o = hwloc_get_next_osdev(topo, o)) != NULL) {
		if (o->attr->osdev.type != HWLOC_OBJ_OSDEV_NETWORK &&
		    o->attr->osdev.type != HWLOC_OBJ_OSDEV_OPENFABRICS)
			continue;
		hwloc_obj_t pci = o->parent;
		busid[0] = '\0';
		if (pci && pci->type == HWLOC_OBJ_PCI_DEVICE)
			snprintf(busid, n, "%04x:%02x:%02x.%01x",
				 pci->attr->pcidev.domain,
				 pci->attr->pcidev.bus, pci->attr->pcidev.dev,
				 pci->attr->pcidev.func);
		return o->name;
	}
	return NULL;
}

static void nic_lookup(void **state)
{
	struct fab_topo *t;
	struct fab_placement p;
	hwloc_topology_t hw;
	char busid[32];
	int os = -1, os2 = -1;
	(void)state;

	assert_int_equal(fab_topo_open(&t), 0);
	/* Loopback is not a device hwloc can place. */
	assert_int_equal(fab_topo_nic_numa(t, "lo", &os), FR_NOTFOUND);
	assert_int_equal(fab_topo_nic_numa(t, "no-such-nic0", &os),
			 FR_NOTFOUND);
	assert_int_equal(fab_topo_nic_numa(t, "", &os), FR_INVALID);
	assert_int_equal(fab_topo_place(t, "lo", &p), 0);
	assert_false(p.nic_found);
	assert_non_null(strstr(p.note, "not found"));
	assert_true(p.cpu[0] >= 0);

	/* A real NIC, found independently through hwloc. */
	assert_int_equal(hwloc_topology_init(&hw), 0);
	hwloc_topology_set_io_types_filter(hw,
					   HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	assert_int_equal(hwloc_topology_load(hw), 0);
	const char *name = first_net_dev(hw, busid, sizeof(busid));
	if (name == NULL) {
		printf("skip NIC lookup: hwloc sees no network device here\n");
	} else {
		assert_int_equal(fab_topo_nic_numa(t, name, &os), 0);
		assert_true(os >= 0);
		assert_int_equal(fab_topo_place(t, name, &p), 0);
		assert_true(p.nic_found);
		assert_int_equal(p.numa_os, os);
		assert_non_null(strstr(p.note, name));
		if (busid[0]) {
			assert_int_equal(fab_topo_nic_numa(t, busid, &os2), 0);
			assert_int_equal(os2, os);
		}
		printf("NIC %s (%s) on NUMA node %d\n", name, busid, os);
	}
	hwloc_topology_destroy(hw);
	fab_topo_close(t);
}

static void pin_and_bind(void **state)
{
	struct fab_topo *t;
	struct fab_placement p;
	char err[FR_ERRMSG_SIZE];
	bool bound;
	(void)state;

	assert_int_equal(fab_topo_open(&t), 0);
	assert_int_equal(fab_topo_place(t, NULL, &p), 0);
	assert_int_equal(fab_topo_pin_thread(t, -1, err), FR_INVALID);
	assert_int_equal(fab_topo_pin_thread(t, 1 << 20, err), FR_INVALID);

	size_t len = 1u << 20;
	unsigned char *mem = fab_topo_alloc(t, len, p.numa_os, &bound);
	assert_non_null(mem);
	for (size_t i = 0; i < len; i += 4096)
		assert_int_equal(mem[i], 0);
	memset(mem, 0x5a, len);
	printf("ring memory on NUMA node %d: %s\n", p.numa_os,
	       bound ? "bound" : "NOT bound (binding unsupported here)");
	fab_topo_free(t, mem, len);
	assert_null(fab_topo_alloc(t, 0, p.numa_os, &bound));

	int rv = fab_topo_pin_thread(t, p.cpu[FAB_THREAD_CONSENSUS], err);
	if (rv == FR_UNSUPPORTED) {
		printf("skip pin check: %s\n", err);
		fab_topo_close(t);
		skip();
	}
	assert_int_equal(rv, 0);
	cpu_set_t set;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	assert_int_equal(CPU_COUNT(&set), 1);
	assert_true(CPU_ISSET(p.cpu[FAB_THREAD_CONSENSUS], &set));
	assert_int_equal(sched_getcpu(), p.cpu[FAB_THREAD_CONSENSUS]);
	fab_topo_close(t);
}

static void synthetic_two_sockets_with_memory_tiers(void **state)
{
	struct fab_topo *t;
	struct fab_placement p;
	char err[FR_ERRMSG_SIZE];
	bool bound;
	(void)state;

	/* Each package: a DRAM node, then a CPU-less node (CXL-like). */
	assert_int_equal(fab_topo_open_from("pack:2 [numa(memory=1GB)] "
					    "[numa(memory=4GB)] core:4 pu:2",
					    &t),
			 0);
	assert_int_equal(fab_topo_place(t, "eth0", &p), 0);
	assert_int_equal(p.n_numa, 4);
	assert_int_equal(p.n_cores, 8);
	assert_int_equal(p.n_pus, 16);
	assert_false(p.nic_found); /* synthetic: no I/O devices */
	assert_int_equal(p.n_tiers, 2);
	assert_int_equal(p.tiers[0].bytes, 4000000000ull);
	assert_int_not_equal(p.tiers[0].numa_os, p.numa_os);
	assert_int_not_equal(p.tiers[1].numa_os, p.numa_os);
	assert_false(p.shared_cores);
	assert_int_equal(p.n_node_cores, 4);
	/* Three distinct cores (first PU of each) on the first node. */
	assert_int_equal(p.cpu[0], 0);
	assert_int_equal(p.cpu[1], 2);
	assert_int_equal(p.cpu[2], 4);
	char *text = print_to_string(t, &p);
	assert_non_null(strstr(text, "memory tier: NUMA node"));
	assert_null(strstr(text, "single NUMA node"));
	free(text);
	assert_int_equal(fab_topo_pin_thread(t, 0, err), FR_UNSUPPORTED);
	void *mem = fab_topo_alloc(t, 4096, 0, &bound);
	assert_non_null(mem);
	assert_false(bound);
	fab_topo_free(t, mem, 4096);
	fab_topo_close(t);

	/* A one-core node: all three roles share it, and the printout says
	 * so. */
	assert_int_equal(fab_topo_open_from("pack:1 [numa] core:1 pu:1", &t),
			 0);
	assert_int_equal(fab_topo_place(t, NULL, &p), 0);
	assert_true(p.shared_cores);
	assert_int_equal(p.cpu[0], p.cpu[2]);
	text = print_to_string(t, &p);
	assert_non_null(strstr(text, "share a core"));
	free(text);
	fab_topo_close(t);

	/* Allocation failure is reported, not crashed on. */
	fr_heap_fault_config(0, 1);
	assert_int_equal(fab_topo_open(&t), FR_NOMEM);
	fr_heap_fault_config(-1, 0);
	assert_null(t);

	assert_int_equal(fab_topo_open_from("not a topology", &t), FR_INVALID);
	assert_null(t);
	assert_int_equal(fab_topo_open_from("", &t), FR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(this_machine),
	    cmocka_unit_test(nic_lookup),
	    cmocka_unit_test(synthetic_two_sockets_with_memory_tiers),
	    cmocka_unit_test(pin_and_bind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
