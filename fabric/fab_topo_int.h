/* fab_topo_int.h — what the fab_topo files share: the topology object and
 * the NUMA node questions. */
#ifndef FABRAFT_FAB_TOPO_INT_H
#define FABRAFT_FAB_TOPO_INT_H

#include <stdbool.h>

#include <hwloc.h>

#include "fab_topo.h"

struct fab_topo {
	hwloc_topology_t topo; /* owned */
	bool this_system;      /* loaded from this machine (binding works) */
};

/* True if NUMA node @node has CPUs of its own (not a memory tier). */
bool fab__topo_numa_has_cpus(const struct fab_topo *t, hwloc_obj_t node);

/* The allowed PUs of NUMA node @os, or NULL if it has none (or is
 * CPU-less).  The caller frees the bitmap. */
hwloc_bitmap_t fab__topo_node_cpus(const struct fab_topo *t, int os);

#endif /* FABRAFT_FAB_TOPO_INT_H */
