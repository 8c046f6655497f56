/* fab_topo_bind.c — bind the calling thread and allocate memory on the
 * NUMA node fab_topo_place() chose. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fab_topo_int.h"

int fab_topo_bind_thread(const struct fab_topo *t,
			 const struct fab_placement *p, char *errmsg)
{
	if (errmsg != NULL)
		errmsg[0] = '\0';
	if (p->numa_os < 0)
		return FR_INVALID;
	if (!t->this_system) {
		if (errmsg != NULL)
			snprintf(errmsg, FR_ERRMSG_SIZE,
				 "the topology is not this machine's");
		return FR_UNSUPPORTED;
	}
	hwloc_bitmap_t set = fab__topo_node_cpus(t, p->numa_os);
	if (set == NULL)
		return FR_INVALID;
	int rv = hwloc_set_cpubind(t->topo, set, HWLOC_CPUBIND_THREAD);
	int err = errno;
	if (rv != 0 && errmsg != NULL) {
		char list[FAB_TOPO_CPUSET_MAX];
		hwloc_bitmap_list_snprintf(list, sizeof(list), set);
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "binding to CPUs %s refused: %s", list, strerror(err));
	}
	hwloc_bitmap_free(set);
	return rv != 0 ? FR_UNSUPPORTED : 0;
}

void *fab_topo_alloc(const struct fab_topo *t, size_t len, int numa_os,
		     bool *bound, int *err)
{
	void *p = NULL;

	*bound = false;
	*err = EXDEV;
	if (len == 0)
		return NULL;
	hwloc_obj_t n = numa_os < 0 ? NULL
				    : hwloc_get_numanode_obj_by_os_index(
					  t->topo, (unsigned)numa_os);
	if (n == NULL)
		*err = ENOENT;
	if (t->this_system && n != NULL) {
		p = hwloc_alloc_membind(
		    t->topo, len, n->nodeset, HWLOC_MEMBIND_BIND,
		    HWLOC_MEMBIND_BYNODESET | HWLOC_MEMBIND_STRICT);
		*err = p != NULL ? 0 : errno;
		*bound = p != NULL;
	}
	/* Binding refused (container without mbind, no such node): plain
	 * page-aligned memory; the caller reports *err. */
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
