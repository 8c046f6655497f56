/* node_place.c — --nic, --cpu-pin and hwloc: put the loop thread, the wal
 * writer and the fabric's rings on the NIC's NUMA node, and say so. */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

void node__fab_options(const struct node *n, struct fab_options *fo)
{
	memset(fo, 0, sizeof(*fo));
	fo->provider = n->o.provider;
	fo->rma = n->o.rma;
	fo->self = n->o.id;
	fo->peers = n->o.peers;
	fo->n_peers = n->o.n_peers;
	fo->cluster_id = n->o.cluster_id;
	fo->secret = n->o.secret;
	fo->secret_len = n->o.secret_len;
	fo->numa_os = -1;
	/* Rings and buffers go on the NIC's node when one was chosen. */
	if (n->place.topo != NULL && n->place.p.numa_os >= 0) {
		fo->topo = n->place.topo;
		fo->numa_os = n->place.p.numa_os;
	}
}

/* Parse "0-3,6" into @set.  Returns 0 or FR_INVALID. */
static int cpulist_parse(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	while (*s != '\0') {
		char *end;
		long a = strtol(s, &end, 10);
		long b = a;

		if (end == s || a < 0 || a >= CPU_SETSIZE) {
			return FR_INVALID;
		}
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b >= CPU_SETSIZE) {
				return FR_INVALID;
			}
			s = end;
		}
		for (long c = a; c <= b; c++) {
			CPU_SET((int)c, set);
		}
		if (*s == ',') {
			s++;
		} else if (*s != '\0') {
			return FR_INVALID;
		}
	}
	return 0;
}

/* The NIC --nic auto means: the device under the fabric's provider and
 * address.  Leaves @name "" when there is none, with the reason in
 * nic_how; *@loopback says the address is on a loopback interface. */
static void nic_auto(struct node *n, char *name, size_t size, bool *loopback)
{
	struct node_place *pl = &n->place;
	struct fab_options fo;
	struct fab_nic nic;
	char err[FR_ERRMSG_SIZE];

	name[0] = '\0';
	if (n->o.n_peers < 2) {
		snprintf(pl->nic_how, sizeof(pl->nic_how),
			 "auto: one-node cluster, no fabric to follow");
		return;
	}
	node__fab_options(n, &fo);
	if (fab_nic_find(&fo, &nic, err) != 0) {
		/* fab_open() fails on the same and says so: not here. */
		snprintf(pl->nic_how, sizeof(pl->nic_how), "auto: %.180s", err);
		return;
	}
	snprintf(pl->nic_how, sizeof(pl->nic_how), "auto: %s", nic.how);
	snprintf(name, size, "%s", nic.name);
	*loopback = nic.loopback;
}

/* Decide: which NIC, which NUMA node.  FR_INVALID for a --nic that names
 * no device at all (a typo must not pass as "no locality"). */
static int decide(struct node *n, char *errmsg)
{
	struct node_place *pl = &n->place;
	char nic[FAB_TOPO_NAME_MAX];
	bool loopback = false;

	if (strcmp(n->o.nic, "none") == 0) {
		snprintf(pl->nic_how, sizeof(pl->nic_how), "--nic none");
		nic[0] = '\0';
	} else if (strcmp(n->o.nic, "auto") == 0) {
		nic_auto(n, nic, sizeof(nic), &loopback);
	} else {
		snprintf(pl->nic_how, sizeof(pl->nic_how), "--nic %s",
			 n->o.nic);
		snprintf(nic, sizeof(nic), "%s", n->o.nic);
	}
	fab_topo_place_found(pl->topo, nic, loopback, &pl->p);
	if (strcmp(n->o.nic, "none") == 0) {
		snprintf(pl->p.note, sizeof(pl->p.note),
			 "--nic none: not placed");
	}
	bool named =
	    strcmp(n->o.nic, "auto") != 0 && strcmp(n->o.nic, "none") != 0;
	if (named && !pl->p.nic_found &&
	    (!pl->p.this_system || if_nametoindex(n->o.nic) == 0)) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "--nic %s: no such device in the topology (fabraft "
			 "topo lists the network devices)",
			 n->o.nic);
		return FR_INVALID;
	}
	return 0;
}

/* Bind the calling thread as --cpu-pin and the decision say; the outcome
 * into @out. */
static void bind_self(struct node_place *pl, char *out, size_t size)
{
	char err[FR_ERRMSG_SIZE];

	if (pl->mode == NODE_PIN_OFF) {
		snprintf(out, size, "not bound: --cpu-pin off");
		return;
	}
	if (pl->mode == NODE_PIN_LIST) {
		if (sched_setaffinity(0, sizeof(pl->list), &pl->list) != 0) {
			snprintf(out, size, "not bound: --cpu-pin: %s",
				 strerror(errno));
		} else {
			snprintf(out, size, "bound to CPUs %s (--cpu-pin)",
				 pl->list_text);
		}
		return;
	}
	if (pl->topo == NULL || pl->p.numa_os < 0) {
		snprintf(out, size, "not bound: nothing placed");
		return;
	}
	int rv = fab_topo_bind_thread(pl->topo, &pl->p, err);
	if (rv == 0) {
		snprintf(out, size, "bound to CPUs %s (NUMA node %d)",
			 pl->p.cpuset, pl->p.numa_os);
	} else {
		snprintf(out, size, "not bound: %.170s",
			 err[0] ? err : fr_strerror(rv));
	}
}

void node__place_thread_start(void *ctx, const char *thread)
{
	struct node *n = ctx;
	char out[NODE_PLACE_TEXT_MAX];

	/* Named, so top -H and /proc/PID/task show which thread is which
	 * (the e2e test checks the writer's CPUs by this name). */
	(void)pthread_setname_np(pthread_self(), thread);
	bind_self(&n->place, out, sizeof(out));
	if (strcmp(thread, "wal-writer") == 0) {
		memcpy(n->place.wal, out, sizeof(out));
		atomic_store_explicit(&n->place.wal_done, true,
				      memory_order_release);
	}
	fr_log(FR_LOG_DEBUG, NULL, "placement: %s thread %s", thread, out);
}

static int load(struct node *n, char *errmsg)
{
	struct node_place *pl = &n->place;
	int rv;

	if (n->o.topology_xml[0] != '\0') {
		rv = fab_topo_open_from(n->o.topology_xml, &pl->topo);
		if (rv != 0) {
			snprintf(
			    errmsg, FR_ERRMSG_SIZE,
			    "--topology-xml %.180s: hwloc cannot load it (an "
			    "XML file named *.xml)",
			    n->o.topology_xml);
			return FR_INVALID;
		}
		return 0;
	}
	rv = fab_topo_open(&pl->topo);
	if (rv != 0) {
		/* Not fatal: the daemon runs unplaced and says so. */
		fr_log(FR_LOG_WARN, NULL, "placement: hwloc: %s",
		       fr_strerror(rv));
		pl->topo = NULL;
	}
	return 0;
}

int node__place_open(struct node *n, char *errmsg)
{
	struct node_place *pl = &n->place;
	int rv;

	atomic_init(&pl->wal_done, false);
	pl->p.numa_os = -1;
	pl->mode = strcmp(n->o.cpu_pin, "off") == 0    ? NODE_PIN_OFF
		   : strcmp(n->o.cpu_pin, "auto") == 0 ? NODE_PIN_AUTO
						       : NODE_PIN_LIST;
	if (pl->mode == NODE_PIN_LIST &&
	    cpulist_parse(n->o.cpu_pin, &pl->list) != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "bad --cpu-pin list '%s'",
			 n->o.cpu_pin);
		return FR_INVALID;
	}
	snprintf(pl->list_text, sizeof(pl->list_text), "%s", n->o.cpu_pin);
	if ((rv = load(n, errmsg)) != 0) {
		return rv;
	}
	if (pl->topo != NULL && (rv = decide(n, errmsg)) != 0) {
		return rv;
	}
	if (pl->topo == NULL) {
		snprintf(pl->p.note, sizeof(pl->p.note),
			 "hwloc could not load the topology: not placed");
	}
	bind_self(pl, pl->loop, sizeof(pl->loop));
	if (pl->mode == NODE_PIN_LIST && strncmp(pl->loop, "bound", 5) != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "--cpu-pin %.60s: %.180s",
			 n->o.cpu_pin, pl->loop);
		return FR_INVALID;
	}
	fr_log(FR_LOG_INFO, NULL, "placement: nic %s (%s); %s; loop thread %s",
	       pl->p.nic[0] ? pl->p.nic : "none", pl->nic_how, pl->p.note,
	       pl->loop);
	return 0;
}

void node__place_close(struct node *n)
{
	fab_topo_close(n->place.topo);
	n->place.topo = NULL;
}
