/* fab_topo.c — hwloc topology: load it, find the NIC's NUMA node, decide
 * the placement. */
#include "fab_topo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hwloc.h>

#include "fab_topo_int.h"
#include "heap.h"

static int load(struct fab_topo **out, const char *desc)
{
	struct fab_topo *t = fr_calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return FR_NOMEM;
	if (hwloc_topology_init(&t->topo) != 0)
		goto err_free;
	/* PCI and OS devices are needed to find the NIC; bridges are kept
	 * only where they lead to something. */
	if (hwloc_topology_set_io_types_filter(
		t->topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) != 0)
		goto err_destroy;
	if (desc != NULL) {
		size_t n = strlen(desc);
		int rv = n > 4 && strcmp(desc + n - 4, ".xml") == 0
			     ? hwloc_topology_set_xml(t->topo, desc)
			     : hwloc_topology_set_synthetic(t->topo, desc);
		if (rv != 0)
			goto err_destroy;
	}
	if (hwloc_topology_load(t->topo) != 0)
		goto err_destroy;
	t->this_system = hwloc_topology_is_thissystem(t->topo) != 0;
	*out = t;
	return 0;

err_destroy:
	hwloc_topology_destroy(t->topo);
err_free:
	fr_free(t);
	return desc != NULL ? FR_INVALID : FR_IO;
}

int fab_topo_open(struct fab_topo **out)
{
	return load(out, NULL);
}

int fab_topo_open_from(const char *desc, struct fab_topo **out)
{
	if (desc == NULL || desc[0] == '\0')
		return FR_INVALID;
	return load(out, desc);
}

void fab_topo_close(struct fab_topo *t)
{
	if (t == NULL)
		return;
	hwloc_topology_destroy(t->topo);
	fr_free(t);
}

int fab_topo_nic_numa(const struct fab_topo *t, const char *nic, int *numa_os)
{
	hwloc_obj_t dev = NULL;

	if (nic == NULL || nic[0] == '\0')
		return FR_INVALID;
	while ((dev = hwloc_get_next_osdev(t->topo, dev)) != NULL)
		if (dev->name != NULL && strcmp(dev->name, nic) == 0)
			break;
	if (dev == NULL && strchr(nic, ':') != NULL)
		dev = hwloc_get_pcidev_by_busidstring(t->topo, nic);
	if (dev == NULL)
		return FR_NOTFOUND;
	hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(t->topo, dev);
	if (anc == NULL || anc->nodeset == NULL ||
	    hwloc_bitmap_iszero(anc->nodeset))
		return FR_NOTFOUND;
	/* A locality (Package, Group, Machine) may hold CPU-less memory
	 * nodes beside its DRAM node, with any OS index: prefer a node with
	 * CPUs. */
	hwloc_obj_t n = NULL;
	while ((n = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE,
					       n)) != NULL)
		if (hwloc_bitmap_isset(anc->nodeset, n->os_index) &&
		    fab__topo_numa_has_cpus(t, n)) {
			*numa_os = (int)n->os_index;
			return 0;
		}
	*numa_os = hwloc_bitmap_first(anc->nodeset);
	return 0;
}

/* Linux's own answer to "does NUMA node @os have CPUs": 1, 0, or -1 when it
 * cannot be read. */
static int sysfs_has_cpus(unsigned os)
{
	char path[96], line[64];

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpulist",
		 os);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	int has = fgets(line, sizeof(line), f) != NULL && line[0] >= '0' &&
		  line[0] <= '9';
	fclose(f);
	return has;
}

/* True if some PU has @node as its nearest memory: the first memory child
 * of the PU's closest ancestor that has memory.  hwloc attaches a CPU-less
 * node (CXL, NVDIMM, HBM-only) beside or above the DRAM node of the same
 * locality, so such nodes are nobody's nearest. */
static bool nearest_of_some_pu(const struct fab_topo *t, hwloc_obj_t node)
{
	hwloc_obj_t pu = NULL;

	while ((pu = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_PU, pu))) {
		hwloc_obj_t a = pu->parent;
		while (a != NULL && a->memory_arity == 0)
			a = a->parent;
		if (a != NULL && a->memory_first_child == node)
			return true;
	}
	return false;
}

bool fab__topo_numa_has_cpus(const struct fab_topo *t, hwloc_obj_t node)
{
	if (t->this_system) {
		int has = sysfs_has_cpus(node->os_index);
		if (has >= 0)
			return has == 1;
	}
	if (node->cpuset == NULL || hwloc_bitmap_iszero(node->cpuset))
		return false;
	return nearest_of_some_pu(t, node);
}

static void find_tiers(const struct fab_topo *t, struct fab_placement *p)
{
	hwloc_obj_t n = NULL;

	while ((n = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE,
					       n)) != NULL) {
		if (fab__topo_numa_has_cpus(t, n) ||
		    p->n_tiers == FAB_TOPO_TIERS_MAX)
			continue;
		struct fab_topo_tier *tier = &p->tiers[p->n_tiers++];
		tier->numa_os = (int)n->os_index;
		tier->bytes = n->attr ? n->attr->numanode.local_memory : 0;
		snprintf(tier->kind, sizeof(tier->kind), "%s",
			 n->subtype ? n->subtype : "CPU-less");
	}
}

hwloc_bitmap_t fab__topo_node_cpus(const struct fab_topo *t, int os)
{
	hwloc_obj_t n =
	    hwloc_get_numanode_obj_by_os_index(t->topo, (unsigned)os);
	if (n == NULL || n->cpuset == NULL || !fab__topo_numa_has_cpus(t, n))
		return NULL;
	hwloc_bitmap_t set = hwloc_bitmap_dup(n->cpuset);
	if (set == NULL)
		return NULL;
	hwloc_bitmap_and(set, set, hwloc_topology_get_allowed_cpuset(t->topo));
	if (hwloc_bitmap_iszero(set)) {
		hwloc_bitmap_free(set);
		return NULL;
	}
	return set;
}

static void count(const struct fab_topo *t, struct fab_placement *p)
{
	hwloc_const_bitmap_t allowed =
	    hwloc_topology_get_allowed_cpuset(t->topo);

	p->n_numa =
	    (uint32_t)hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE);
	p->n_cores = (uint32_t)hwloc_get_nbobjs_inside_cpuset_by_type(
	    t->topo, allowed, HWLOC_OBJ_CORE);
	p->n_pus = (uint32_t)hwloc_get_nbobjs_inside_cpuset_by_type(
	    t->topo, allowed, HWLOC_OBJ_PU);
}

/* Node @os is the NIC's: take it if it has allowed CPUs, else say why. */
static void take_node(const struct fab_topo *t, int os, struct fab_placement *p)
{
	hwloc_obj_t n =
	    hwloc_get_numanode_obj_by_os_index(t->topo, (unsigned)os);

	if (n == NULL || !fab__topo_numa_has_cpus(t, n)) {
		snprintf(p->note, sizeof(p->note),
			 "%s is local only to CPU-less NUMA node %d (a "
			 "memory tier): not placed",
			 p->nic, os);
		return;
	}
	hwloc_bitmap_t set = fab__topo_node_cpus(t, os);
	if (set == NULL) {
		snprintf(p->note, sizeof(p->note),
			 "%s is local to NUMA node %d, none of whose CPUs "
			 "this process may use: not placed",
			 p->nic, os);
		return;
	}
	p->numa_os = os;
	hwloc_bitmap_list_snprintf(p->cpuset, sizeof(p->cpuset), set);
	p->n_node_cores = (uint32_t)hwloc_get_nbobjs_inside_cpuset_by_type(
	    t->topo, set, HWLOC_OBJ_CORE);
	hwloc_bitmap_free(set);
	snprintf(p->note, sizeof(p->note), "%s is local to NUMA node %d%s",
		 p->nic, os,
		 p->n_numa <= 1 ? " (the only one: binding has no locality "
				  "effect)"
				: "");
}

void fab_topo_place(const struct fab_topo *t, const char *nic,
		    struct fab_placement *p)
{
	int os = -1;

	memset(p, 0, sizeof(*p));
	p->numa_os = -1;
	p->this_system = t->this_system;
	snprintf(p->nic, sizeof(p->nic), "%s", nic ? nic : "");
	count(t, p);
	find_tiers(t, p);
	if (nic == NULL || nic[0] == '\0') {
		snprintf(p->note, sizeof(p->note), "no NIC: not placed");
		return;
	}
	if (fab_topo_nic_numa(t, nic, &os) != 0) {
		snprintf(p->note, sizeof(p->note),
			 "%s: no NUMA locality (not a device hwloc attaches "
			 "to a node: loopback, virtual or unknown): not "
			 "placed",
			 nic);
		return;
	}
	p->nic_found = true;
	take_node(t, os, p);
}

void fab_topo_place_found(const struct fab_topo *t, const char *nic,
			  bool loopback, struct fab_placement *p)
{
	fab_topo_place(t, nic, p);
	if (loopback && p->numa_os < 0)
		snprintf(p->note, sizeof(p->note),
			 "%s: no NUMA locality (loopback), not placed", nic);
}
