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
 * The consensus, fabric-progress and storage threads run best on cores of
 * the NUMA node the NIC hangs off, with the RMA rings in that node's memory
 * (no cross-socket hop on every RDMA write).  fab_topo wraps hwloc:
 *
 *  1. fab_topo_open() loads the topology with I/O devices (PCI and OS
 *     devices), restricted to what this process may use (cgroup cpuset).
 *  2. fab_topo_place() finds the NIC by name — an OS device name as hwloc
 *     and libfabric's fi_info->nic->device_attr->name report it ("eth0",
 *     "mlx5_0", "rxe0") or a PCI bus id ("0000:3b:00.0") — and takes its
 *     NUMA node; when there is no NIC name or hwloc cannot place it
 *     (virtual or loopback interfaces), it takes the NUMA node of the first
 *     allowed core and says why.  It then picks three cores of that node, on
 *     distinct cores while there are enough, sharing otherwise (and says so).
 *  3. NUMA nodes without CPUs (CXL-attached or other far memory) are not
 *     used for placement; they are reported as memory tiers.
 *  4. fab_topo_pin_thread() binds the calling thread; fab_topo_alloc()
 *     returns memory bound to a NUMA node (hwloc_alloc_membind, falling back
 *     to a plain allocation where binding is not supported, and saying so).
 */

#define FAB_TOPO_NAME_MAX  64u
#define FAB_TOPO_TIERS_MAX 8u
#define FAB_TOPO_NOTE_MAX  192u

struct fab_topo; /* opaque: owns an hwloc topology */

enum fab_thread_role {
	FAB_THREAD_CONSENSUS = 0, /* raft_step, apply */
	FAB_THREAD_FABRIC = 1,	  /* libfabric progress and completions */
	FAB_THREAD_STORAGE = 2,	  /* WAL writes and fsync */
	FAB_THREAD_NR
};

/* A CPU-less NUMA node, reported as a memory tier. */
struct fab_topo_tier {
	int numa_os;		      /* NUMA node OS index */
	uint64_t bytes;		      /* local memory */
	char kind[FAB_TOPO_NAME_MAX]; /* hwloc subtype or "CPU-less" */
};

struct fab_placement {
	bool nic_found;		     /* the NIC was located in the topology */
	char nic[FAB_TOPO_NAME_MAX]; /* the name asked for ("" if none) */
	int numa_os;		/* chosen NUMA node's OS index (0 if none) */
	int cpu[FAB_THREAD_NR]; /* OS index of the PU for each role */
	bool shared_cores;	/* fewer cores than roles: some share one */
	uint32_t n_numa;	/* NUMA nodes in the machine */
	uint32_t n_cores;	/* cores allowed to this process */
	uint32_t n_pus;		/* hardware threads allowed */
	uint32_t n_node_cores;	/* allowed cores on the chosen node */
	uint32_t n_tiers;	/* entries in tiers */
	struct fab_topo_tier tiers[FAB_TOPO_TIERS_MAX]; /* CPU-less nodes */
	char note[FAB_TOPO_NOTE_MAX]; /* why this node (e.g. NIC not found) */
};

/** Load the topology (with I/O devices).  Returns 0, FR_NOMEM or FR_IO
 * (hwloc failed).  Close with fab_topo_close(). */
int fab_topo_open(struct fab_topo **out) __attribute__((warn_unused_result));
/**
 * Load a topology that is not this machine's, for tests and what-if runs:
 * @desc (borrowed) is an hwloc synthetic description such as
 * "pack:2 [numa] [numa] core:4 pu:2" or, if it ends in ".xml", an XML file
 * exported by lstopo.  Placement and printing work; pinning and binding
 * return FR_UNSUPPORTED.  Returns 0, FR_NOMEM, FR_INVALID (bad description).
 */
int fab_topo_open_from(const char *desc, struct fab_topo **out)
    __attribute__((warn_unused_result));
/** Free the topology; @t may be NULL. */
void fab_topo_close(struct fab_topo *t);

/**
 * NUMA node (OS index) of the network device @nic (OS device name or PCI bus
 * id, borrowed).  Returns 0, FR_NOTFOUND (no such device, or one hwloc
 * cannot attach to a node, such as "lo" or a veth) or FR_INVALID.
 */
int fab_topo_nic_numa(const struct fab_topo *t, const char *nic, int *numa_os)
    __attribute__((warn_unused_result));

/**
 * Choose where the threads and rings live, for the NIC @nic (may be NULL or
 * "").  Fills @p (owned by the caller).  Returns 0 or FR_NOTFOUND (no
 * allowed core at all).
 */
int fab_topo_place(const struct fab_topo *t, const char *nic,
		   struct fab_placement *p) __attribute__((warn_unused_result));

/** Print the topology summary and @p for `fabraft topo` and the log.
 * Returns 0 or FR_IO (write failed). */
int fab_topo_print(const struct fab_topo *t, const struct fab_placement *p,
		   FILE *out) __attribute__((warn_unused_result));

/**
 * Bind the calling thread to PU @cpu_os (OS index).  Returns 0, FR_INVALID
 * (no such PU or not allowed) or FR_UNSUPPORTED (binding refused by the
 * system, e.g. in a restricted container; the errno text is in @errmsg,
 * which may be NULL, FR_ERRMSG_SIZE bytes).
 */
int fab_topo_pin_thread(const struct fab_topo *t, int cpu_os, char *errmsg)
    __attribute__((warn_unused_result));

/**
 * Allocate @len bytes (page aligned, zeroed) in NUMA node @numa_os.  Sets
 * *@bound to whether the memory is really bound (false where the system
 * cannot bind, then it is plain memory).  Returns NULL on failure.  Free
 * with fab_topo_free(t, ptr, len).
 */
void *fab_topo_alloc(const struct fab_topo *t, size_t len, int numa_os,
		     bool *bound);
/** Free memory from fab_topo_alloc(); @ptr may be NULL. */
void fab_topo_free(const struct fab_topo *t, void *ptr, size_t len);

#endif /* FABRAFT_FAB_TOPO_H */
