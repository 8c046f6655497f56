/* fab_topo_print.c — `fabraft topo`: the topology, its network devices and
 * the placement, as text. */
#include <stdio.h>
#include <string.h>

#include "fab_topo_int.h"

static int print_nodes(const struct fab_topo *t, FILE *out)
{
	hwloc_obj_t n = NULL;
	char cpus[128];

	while ((n = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE,
					       n)) != NULL) {
		bool has = fab__topo_numa_has_cpus(t, n);
		hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), n->cpuset);
		unsigned long long mib =
		    n->attr ? n->attr->numanode.local_memory >> 20 : 0;
		if (fprintf(out, "  NUMA node %u: %llu MiB, %s%s%s\n",
			    n->os_index, mib,
			    has ? "CPUs " : "no CPUs (memory tier",
			    has ? cpus : "", has ? "" : ")") < 0)
			return FR_IO;
	}
	return 0;
}

/* Network and OpenFabrics OS devices with their NUMA node: the names
 * --nic accepts. */
static int print_nics(const struct fab_topo *t, FILE *out)
{
	hwloc_obj_t d = NULL;
	unsigned found = 0;

	while ((d = hwloc_get_next_osdev(t->topo, d)) != NULL) {
		if (d->name == NULL ||
		    (d->attr->osdev.type != HWLOC_OBJ_OSDEV_NETWORK &&
		     d->attr->osdev.type != HWLOC_OBJ_OSDEV_OPENFABRICS))
			continue;
		int os = -1;
		char busid[32] = "";
		if (d->parent != NULL &&
		    d->parent->type == HWLOC_OBJ_PCI_DEVICE)
			snprintf(busid, sizeof(busid),
				 " (PCI %04x:%02x:%02x.%01x)",
				 d->parent->attr->pcidev.domain,
				 d->parent->attr->pcidev.bus,
				 d->parent->attr->pcidev.dev,
				 d->parent->attr->pcidev.func);
		if (fab_topo_nic_numa(t, d->name, &os) != 0)
			os = -1;
		if (fprintf(out, "  %s%s: NUMA node %d\n", d->name, busid, os) <
		    0)
			return FR_IO;
		found++;
	}
	if (found == 0 && fprintf(out, "  none hwloc can place\n") < 0)
		return FR_IO;
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
	e |= fprintf(out, "network devices:\n") < 0;
	if (e || print_nics(t, out) != 0)
		return FR_IO;
	return e ? FR_IO : 0;
}
