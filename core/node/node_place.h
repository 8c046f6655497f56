/* node_place.h — private: where the daemon's threads and rings run
 * (--nic, --cpu-pin, hwloc), and the report INFO renders.
 *
 * Design notes
 * ============
 *  1. The NUMA node is the NIC's and nothing else: --nic NAME, or with
 *     auto the device under the provider and address the fabric will use
 *     (fab_nic_find()).  No NIC, a loopback or virtual one (no PCI
 *     locality), --nic none: nothing is placed, and the report says why.
 *  2. With a node K chosen: the loop thread (bound in node_open, before any
 *     other thread starts) and the wal's threads (bound by themselves as
 *     they start, through wal_options.thread_start) run on K's allowed
 *     CPUs, and the fabric's rings and buffers are allocated bound to K.
 *     --cpu-pin off binds no thread; --cpu-pin LIST binds both threads to
 *     LIST instead (memory still follows the NIC).
 *  3. A topology from --topology-xml (tests) is decided on but never bound
 *     to: its CPUs may not exist here.
 *  4. The wal writer reports from its own thread: its text is written
 *     before the release store of wal_done, and read only after an acquire
 *     load sees it set. */
#ifndef FABRAFT_NODE_PLACE_H
#define FABRAFT_NODE_PLACE_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "fab.h"
#include "fab_topo.h"

#define NODE_PLACE_TEXT_MAX 192u

enum node_pin_mode {
	NODE_PIN_AUTO = 0, /* follow the NIC's NUMA node */
	NODE_PIN_OFF = 1,  /* bind no thread */
	NODE_PIN_LIST = 2, /* bind the threads to --cpu-pin's list */
};

/* The runtime's placement state (struct node.place). */
struct node_place {
	struct fab_topo *topo;	/* hwloc; NULL if it could not load */
	struct fab_placement p; /* the decision (numa_os -1: none) */
	char nic_how[NODE_PLACE_TEXT_MAX]; /* how the NIC was chosen */
	int mode;			   /* enum node_pin_mode */
	cpu_set_t list;			   /* NODE_PIN_LIST: the CPUs */
	char list_text[128];		   /* ... as given (--cpu-pin) */
	char loop[NODE_PLACE_TEXT_MAX];	   /* loop thread: where, or why not */
	char wal[NODE_PLACE_TEXT_MAX];	   /* wal writer: the same */
	atomic_bool wal_done;		   /* wal is written (note 4) */
};

/* What INFO, `fabraft status` and the log say (copied strings). */
struct node_place_report {
	char nic[FAB_TOPO_NAME_MAX];	    /* "" = none */
	char nic_how[NODE_PLACE_TEXT_MAX];  /* how it was chosen */
	int numa_os;			    /* -1 = nothing placed */
	char cpuset[FAB_TOPO_CPUSET_MAX];   /* the node's CPUs, "" */
	char note[FAB_TOPO_NOTE_MAX];	    /* why this node, or why none */
	char loop[NODE_PLACE_TEXT_MAX];	    /* loop thread */
	char wal[NODE_PLACE_TEXT_MAX];	    /* wal writer thread */
	char rings[NODE_PLACE_TEXT_MAX];    /* fabric rings and buffers */
	char tiers[NODE_PLACE_TEXT_MAX];    /* CPU-less NUMA nodes */
	char topology[NODE_PLACE_TEXT_MAX]; /* this machine, or the file */
};

#endif /* FABRAFT_NODE_PLACE_H */
