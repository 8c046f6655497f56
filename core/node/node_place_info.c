/* node_place_info.c — the placement report: INFO's # Placement section
 * (and through INFO, `fabraft status`). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "node_int.h"

/* Where the fabric's rings and buffers are, from its own account. */
static void rings(const struct node *n, const struct fab_info *fi,
		  struct node_place_report *r)
{
	if (fi == NULL) {
		snprintf(r->rings, sizeof(r->rings),
			 "no fabric (one-node cluster)");
	} else if (fi->numa_os < 0) {
		snprintf(r->rings, sizeof(r->rings),
			 "not bound: nothing placed");
	} else if (fi->mem_bound) {
		snprintf(r->rings, sizeof(r->rings), "bound to NUMA node %d",
			 fi->numa_os);
	} else {
		snprintf(r->rings, sizeof(r->rings), "not bound: %s",
			 fi->mem_errno == EXDEV && n->place.topo != NULL &&
				 !n->place.p.this_system
			     ? "the topology is not this machine's"
			     : strerror(fi->mem_errno));
	}
}

static void tiers(const struct fab_placement *p, struct node_place_report *r)
{
	size_t used = 0;

	snprintf(r->tiers, sizeof(r->tiers), "none");
	for (uint32_t i = 0; i < p->n_tiers; i++) {
		int k = snprintf(r->tiers + used, sizeof(r->tiers) - used,
				 "%snode %d %s %llu MiB", i ? ", " : "",
				 p->tiers[i].numa_os, p->tiers[i].kind,
				 (unsigned long long)(p->tiers[i].bytes >> 20));
		if (k < 0 || (size_t)k >= sizeof(r->tiers) - used) {
			break;
		}
		used += (size_t)k;
	}
}

void node__place_report(const struct node *n, const struct fab_info *fi,
			struct node_place_report *r)
{
	const struct node_place *pl = &n->place;

	memset(r, 0, sizeof(*r));
	if (pl->loop[0] == '\0') {
		/* node__place_open() never ran (the simulator's driven
		 * nodes): nothing is placed. */
		r->numa_os = -1;
		snprintf(r->note, sizeof(r->note), "placement not run");
		return;
	}
	snprintf(r->nic, sizeof(r->nic), "%s", pl->p.nic);
	snprintf(r->nic_how, sizeof(r->nic_how), "%s", pl->nic_how);
	r->numa_os = pl->p.numa_os;
	snprintf(r->cpuset, sizeof(r->cpuset), "%s", pl->p.cpuset);
	snprintf(r->note, sizeof(r->note), "%s", pl->p.note);
	snprintf(r->loop, sizeof(r->loop), "%s", pl->loop);
	if (atomic_load_explicit(&pl->wal_done, memory_order_acquire)) {
		snprintf(r->wal, sizeof(r->wal), "%s", pl->wal);
	} else {
		snprintf(r->wal, sizeof(r->wal), "starting");
	}
	rings(n, fi, r);
	tiers(&pl->p, r);
	snprintf(r->topology, sizeof(r->topology), "%.190s",
		 pl->topo == NULL		? "none (hwloc failed)"
		 : n->o.topology_xml[0] != '\0' ? n->o.topology_xml
						: "this machine");
}

void node__place_info(struct resp_info_writer *w,
		      const struct node_place_report *r)
{
	resp_info_section(w, "Placement");
	resp_info_add(w, "nic", "%s", r->nic[0] ? r->nic : "none");
	resp_info_add(w, "nic_how", "%s", r->nic_how);
	resp_info_add(w, "numa_node", "%d", r->numa_os);
	resp_info_add(w, "cpuset", "%s", r->cpuset[0] ? r->cpuset : "none");
	resp_info_add(w, "placement_note", "%s", r->note);
	resp_info_add(w, "loop_thread", "%s", r->loop);
	resp_info_add(w, "wal_thread", "%s", r->wal);
	resp_info_add(w, "rings", "%s", r->rings);
	resp_info_add(w, "memory_tiers", "%s", r->tiers);
	resp_info_add(w, "topology", "%s", r->topology);
}
