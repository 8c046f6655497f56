/* fab_topo.h — hwloc topology: NIC locality, thread placement, bound memory. */
#ifndef FABRAFT_FAB_TOPO_H
#define FABRAFT_FAB_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

/*
 * Design notes
 * ============
 * The loop thread, the WAL writer and the RMA rings belong on the NUMA node
 * the NIC hangs off (no cross-socket hop on every RDMA write or completion).
 * fab_topo wraps hwloc; it decides, and binds only when asked:
 *
 *  1. fab_topo_open() loads this machine's topology with I/O devices (PCI
 *     and OS devices), restricted to what this process may use (cgroup
 *     cpuset).  fab_topo_open_from() loads an XML file or a synthetic
 *     description instead: tests and what-if runs decide on it, and
 *     nothing is ever bound from it (its CPUs may not exist here).
 *  2. fab_topo_place() finds the NIC by name -- an OS device name as hwloc
 *     and libfabric's fi_info->nic->device_attr->name report it ("eth0",
 *     "mlx5_0", "rxe0") or a PCI bus id ("0000:3b:00.0") -- and takes the
 *     first NUMA node with CPUs in its locality.  No NIC, a NIC hwloc does
 *     not know (loopback, veth, bridges: no PCI locality) or a NIC whose
 *     locality holds no node with CPUs: nothing is placed (numa_os -1), and
 *     the note says why.  There is no fallback node: a guess would be
 *     reported as if it were locality.
 *  3. NUMA nodes without CPUs (CXL-attached or other far memory) are never
 *     chosen; they are reported as memory tiers.
 *  4. fab_topo_bind_thread() binds the calling thread to the chosen node's
 *     allowed CPUs (all of them, not one PU: several daemons on a small
 *     box then still spread); fab_topo_alloc() returns memory bound to a
 *     node (hwloc_alloc_membind, strict), or plain memory and the errno of
 *     the refusal.
 */

#define FAB_TOPO_NAME_MAX   64u
#define FAB_TOPO_TIERS_MAX  8u
#define FAB_TOPO_NOTE_MAX   192u
#define FAB_TOPO_CPUSET_MAX 128u

struct fab_topo; /* opaque: owns an hwloc topology */

/* A CPU-less NUMA node, reported as a memory tier. */
struct fab_topo_tier {
	int numa_os;		      /* NUMA node OS index */
	uint64_t bytes;		      /* local memory */
	char kind[FAB_TOPO_NAME_MAX]; /* hwloc subtype or "CPU-less" */
};

/* What fab_topo_place() decided. */
struct fab_placement {
	bool nic_found;		     /* the NIC is a device hwloc knows */
	char nic[FAB_TOPO_NAME_MAX]; /* the name asked for ("" if none) */
	int numa_os;		     /* chosen NUMA node, -1: nothing placed */
	char cpuset[FAB_TOPO_CPUSET_MAX]; /* its allowed PUs ("2-3"), or "" */
	bool this_system; /* the topology is this machine's: binding works */
	uint32_t n_numa;  /* NUMA nodes in the machine */
	uint32_t n_cores; /* cores allowed to this process */
	uint32_t n_pus;	  /* hardware threads allowed */
	uint32_t n_node_cores; /* allowed cores on the chosen node */
	uint32_t n_tiers;      /* entries in tiers */
	struct fab_topo_tier tiers[FAB_TOPO_TIERS_MAX]; /* CPU-less nodes */
	char note[FAB_TOPO_NOTE_MAX]; /* why this node, or why none */
};

/** Load this machine's topology (with I/O devices).  Returns 0, FR_NOMEM or
 * FR_IO (hwloc failed).  Close with fab_topo_close(). */
int fab_topo_open(struct fab_topo **out) __attribute__((warn_unused_result));
/**
 * Load a topology that is not this machine's, for tests and what-if runs:
 * @desc (borrowed) is an hwloc synthetic description such as
 * "pack:2 [numa] [numa] core:4 pu:2" or, if it ends in ".xml", an XML file
 * (lstopo --of xml, or written by hand).  Placement and printing work;
 * binding returns FR_UNSUPPORTED and allocation gives plain memory.
 * Returns 0, FR_NOMEM, FR_INVALID (bad description, unreadable file).
 */
int fab_topo_open_from(const char *desc, struct fab_topo **out)
    __attribute__((warn_unused_result));
/** Free the topology; @t may be NULL. */
void fab_topo_close(struct fab_topo *t);

/**
 * NUMA node (OS index) local to the network device @nic (OS device name or
 * PCI bus id, borrowed): the first node with CPUs in the device's locality,
 * else its first node (then CPU-less).  Returns 0, FR_NOTFOUND (no such
 * device, or one hwloc cannot attach to a node, such as "lo" or a veth) or
 * FR_INVALID.
 */
int fab_topo_nic_numa(const struct fab_topo *t, const char *nic, int *numa_os)
    __attribute__((warn_unused_result));

/**
 * Decide where the threads and rings go for the NIC @nic (may be NULL or
 * "": nothing placed).  Fills @p (owned by the caller); p->numa_os is -1
 * when nothing is placed, and p->note says why either way.
 */
void fab_topo_place(const struct fab_topo *t, const char *nic,
		    struct fab_placement *p);

/** fab_topo_place() for a device fab_nic_find() found (@nic, borrowed):
 * a loopback interface has no NUMA locality, and the note says so. */
void fab_topo_place_found(const struct fab_topo *t, const char *nic,
			  bool loopback, struct fab_placement *p);

/** Print the topology summary, the network devices and @p for
 * `fabraft topo`.  Returns 0 or FR_IO (write failed). */
int fab_topo_print(const struct fab_topo *t, const struct fab_placement *p,
		   FILE *out) __attribute__((warn_unused_result));

/**
 * Bind the calling thread to the allowed CPUs of p->numa_os (hwloc
 * HWLOC_CPUBIND_THREAD).  Returns 0, FR_INVALID (nothing placed, or no
 * allowed CPU there) or FR_UNSUPPORTED (the topology is not this machine's,
 * or the system refused; why in @errmsg, FR_ERRMSG_SIZE bytes, may be
 * NULL).
 */
int fab_topo_bind_thread(const struct fab_topo *t,
			 const struct fab_placement *p, char *errmsg)
    __attribute__((warn_unused_result));

/**
 * Allocate @len bytes (page aligned, zeroed) bound to NUMA node @numa_os.
 * Sets *@bound to whether the memory is really bound; when it is not,
 * *@err is the errno of the refusal (EXDEV: not this machine's topology,
 * ENOENT: no such node), and the memory is plain.  Returns NULL when out of
 * memory.  Free with fab_topo_free(t, ptr, len).
 */
void *fab_topo_alloc(const struct fab_topo *t, size_t len, int numa_os,
		     bool *bound, int *err);
/** Free memory from fab_topo_alloc(); @ptr may be NULL. */
void fab_topo_free(const struct fab_topo *t, void *ptr, size_t len);

#endif /* FABRAFT_FAB_TOPO_H */
