/* fab_topo.c — hwloc topology: NIC locality, thread placement, bound memory. */
#include "fab_topo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hwloc.h>

#include "heap.h"

struct fab_topo {
	hwloc_topology_t topo; /* owned */
	bool this_system;      /* loaded from this machine (pinning works) */
};

static const char *const role_names[FAB_THREAD_NR] = {
    [FAB_THREAD_CONSENSUS] = "consensus",
    [FAB_THREAD_FABRIC] = "fabric-progress",
    [FAB_THREAD_STORAGE] = "storage",
};

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

static bool numa_has_cpus(const struct fab_topo *t, hwloc_obj_t node)
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
		if (numa_has_cpus(t, n) || p->n_tiers == FAB_TOPO_TIERS_MAX)
			continue;
		struct fab_topo_tier *tier = &p->tiers[p->n_tiers++];
		tier->numa_os = (int)n->os_index;
		tier->bytes = n->attr ? n->attr->numanode.local_memory : 0;
		snprintf(tier->kind, sizeof(tier->kind), "%s",
			 n->subtype ? n->subtype : "CPU-less");
	}
}

/* The allowed PUs of NUMA node @os that are also nearest to it, or NULL if
 * none.  The caller frees the bitmap. */
static hwloc_bitmap_t node_cpus(const struct fab_topo *t, int os)
{
	hwloc_obj_t n =
	    hwloc_get_numanode_obj_by_os_index(t->topo, (unsigned)os);
	if (n == NULL || n->cpuset == NULL || !numa_has_cpus(t, n))
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

/* NUMA node of the first allowed PU, or -1. */
static int first_core_node(const struct fab_topo *t)
{
	hwloc_const_bitmap_t allowed =
	    hwloc_topology_get_allowed_cpuset(t->topo);
	hwloc_obj_t pu = hwloc_get_next_obj_inside_cpuset_by_type(
	    t->topo, allowed, HWLOC_OBJ_PU, NULL);
	if (pu == NULL || pu->nodeset == NULL)
		return -1;
	hwloc_obj_t n = NULL;
	while ((n = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE,
					       n)) != NULL)
		if (hwloc_bitmap_isset(pu->nodeset, n->os_index) &&
		    numa_has_cpus(t, n))
			return (int)n->os_index;
	return hwloc_bitmap_first(pu->nodeset);
}

/* One PU per core of @set, up to FAB_THREAD_NR; roles then share them
 * round robin when there are fewer cores than roles. */
static void pick_cpus(const struct fab_topo *t, hwloc_const_bitmap_t set,
		      struct fab_placement *p)
{
	int pus[FAB_THREAD_NR];
	unsigned n = 0;
	hwloc_obj_t core = NULL;

	while ((core = hwloc_get_next_obj_inside_cpuset_by_type(
		    t->topo, set, HWLOC_OBJ_CORE, core)) != NULL) {
		p->n_node_cores++;
		if (n < FAB_THREAD_NR) {
			hwloc_bitmap_t c = hwloc_bitmap_dup(core->cpuset);
			if (c == NULL)
				continue;
			hwloc_bitmap_and(c, c, set);
			pus[n++] = hwloc_bitmap_first(c);
			hwloc_bitmap_free(c);
		}
	}
	/* Some topologies have PUs without Core objects. */
	if (n == 0) {
		int id;
		hwloc_bitmap_foreach_begin(id, set)
		{
			p->n_node_cores++;
			if (n < FAB_THREAD_NR)
				pus[n++] = id;
		}
		hwloc_bitmap_foreach_end();
	}
	for (unsigned r = 0; r < FAB_THREAD_NR; r++)
		p->cpu[r] = n > 0 ? pus[r % n] : -1;
	p->shared_cores = n < FAB_THREAD_NR;
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

int fab_topo_place(const struct fab_topo *t, const char *nic,
		   struct fab_placement *p)
{
	hwloc_bitmap_t set = NULL;
	int os = -1;

	memset(p, 0, sizeof(*p));
	snprintf(p->nic, sizeof(p->nic), "%s", nic ? nic : "");
	count(t, p);
	find_tiers(t, p);
	if (nic != NULL && nic[0] != '\0') {
		if (fab_topo_nic_numa(t, nic, &os) == 0) {
			p->nic_found = true;
			set = node_cpus(t, os);
			snprintf(p->note, sizeof(p->note),
				 "NIC %s is local to NUMA node %d", nic, os);
			if (set == NULL)
				snprintf(p->note, sizeof(p->note),
					 "NIC %s is local to NUMA node %d, "
					 "which has no allowed CPU; using the "
					 "first core's node",
					 nic, os);
		} else {
			snprintf(p->note, sizeof(p->note),
				 "NIC %s not found in the topology (virtual, "
				 "loopback or unknown device); using the "
				 "first core's node",
				 nic);
		}
	} else {
		snprintf(p->note, sizeof(p->note),
			 "no NIC named; using the first core's node");
	}
	if (set == NULL) {
		os = first_core_node(t);
		if (os < 0 || (set = node_cpus(t, os)) == NULL) {
			/* Memory locality unknown: use every allowed PU. */
			set = hwloc_bitmap_dup(
			    hwloc_topology_get_allowed_cpuset(t->topo));
			if (set == NULL)
				return FR_NOMEM;
			os = os < 0 ? 0 : os;
		}
	}
	p->numa_os = os;
	pick_cpus(t, set, p);
	hwloc_bitmap_free(set);
	return p->cpu[0] < 0 ? FR_NOTFOUND : 0;
}

static int print_nodes(const struct fab_topo *t, FILE *out)
{
	hwloc_obj_t n = NULL;
	char cpus[128];

	while ((n = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE,
					       n)) != NULL) {
		bool has = numa_has_cpus(t, n);
		hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), n->cpuset);
		unsigned long long mib =
		    n->attr ? n->attr->numanode.local_memory >> 20 : 0;
		if (fprintf(out, "  NUMA node %u: %llu MiB, %s%s%s\n",
			    n->os_index, mib,
			    has ? "PUs " : "no CPUs (memory tier",
			    has ? cpus : "", has ? "" : ")") < 0)
			return FR_IO;
	}
	return 0;
}

int fab_topo_print(const struct fab_topo *t, const struct fab_placement *p,
		   FILE *out)
{
	int e = 0;

	e |= fprintf(out,
		     "topology: %u NUMA node%s, %u core%s, %u hardware "
		     "thread%s allowed to this process%s\n",
		     p->n_numa, p->n_numa == 1 ? "" : "s", p->n_cores,
		     p->n_cores == 1 ? "" : "s", p->n_pus,
		     p->n_pus == 1 ? "" : "s",
		     t->this_system ? "" : " (not this machine)") < 0;
	if (e || print_nodes(t, out) != 0)
		return FR_IO;
	if (p->n_tiers == 0)
		e |= fprintf(out,
			     "memory tiers (CPU-less NUMA nodes): none\n") < 0;
	for (uint32_t i = 0; i < p->n_tiers; i++)
		e |= fprintf(out, "memory tier: NUMA node %d, %llu MiB, %s\n",
			     p->tiers[i].numa_os,
			     (unsigned long long)(p->tiers[i].bytes >> 20),
			     p->tiers[i].kind) < 0;
	e |= fprintf(out, "placement: NUMA node %d (%s)\n", p->numa_os,
		     p->note) < 0;
	for (unsigned r = 0; r < FAB_THREAD_NR; r++)
		e |= fprintf(out, "  %-15s thread -> PU %d\n", role_names[r],
			     p->cpu[r]) < 0;
	if (p->shared_cores)
		e |= fprintf(out,
			     "  note: %u core%s on this node for %u threads: "
			     "some threads share a core\n",
			     p->n_node_cores, p->n_node_cores == 1 ? "" : "s",
			     (unsigned)FAB_THREAD_NR) < 0;
	if (p->n_numa <= 1)
		e |= fprintf(out,
			     "single NUMA node: pinning and memory "
			     "binding work but have no locality effect\n") < 0;
	return e ? FR_IO : 0;
}

int fab_topo_pin_thread(const struct fab_topo *t, int cpu_os, char *errmsg)
{
	if (errmsg != NULL)
		errmsg[0] = '\0';
	if (cpu_os < 0 ||
	    !hwloc_bitmap_isset(hwloc_topology_get_allowed_cpuset(t->topo),
				(unsigned)cpu_os))
		return FR_INVALID;
	if (!t->this_system) {
		if (errmsg != NULL)
			snprintf(errmsg, FR_ERRMSG_SIZE,
				 "topology is not this machine's");
		return FR_UNSUPPORTED;
	}
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	if (set == NULL)
		return FR_NOMEM;
	hwloc_bitmap_only(set, (unsigned)cpu_os);
	int rv = hwloc_set_cpubind(t->topo, set, HWLOC_CPUBIND_THREAD);
	int err = errno;
	hwloc_bitmap_free(set);
	if (rv != 0) {
		if (errmsg != NULL)
			snprintf(errmsg, FR_ERRMSG_SIZE,
				 "binding to PU %d refused: %s", cpu_os,
				 strerror(err));
		return FR_UNSUPPORTED;
	}
	return 0;
}

void *fab_topo_alloc(const struct fab_topo *t, size_t len, int numa_os,
		     bool *bound)
{
	void *p = NULL;

	*bound = false;
	if (len == 0)
		return NULL;
	hwloc_obj_t n =
	    hwloc_get_numanode_obj_by_os_index(t->topo, (unsigned)numa_os);
	if (t->this_system && n != NULL) {
		p = hwloc_alloc_membind(
		    t->topo, len, n->nodeset, HWLOC_MEMBIND_BIND,
		    HWLOC_MEMBIND_BYNODESET | HWLOC_MEMBIND_STRICT);
		*bound = p != NULL;
	}
	/* Binding unsupported (container, no mbind): plain page-aligned
	 * memory; the caller logs that it is not bound. */
	if (p == NULL)
		p = hwloc_alloc(t->topo, len);
	if (p != NULL)
		memset(p, 0, len); /* first touch, on the bound node */
	return p;
}

void fab_topo_free(const struct fab_topo *t, void *ptr, size_t len)
{
	if (ptr != NULL)
		hwloc_free(t->topo, ptr, len);
}
