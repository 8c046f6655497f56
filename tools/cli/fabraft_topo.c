/* fabraft_topo.c — `fabraft topo`: the hwloc topology and the placement
 * fabraftd would choose; the placement lines of `fabraft status`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fab.h"
#include "fab_topo.h"
#include "fabraft_cli.h"
#include "heap.h"
#include "opt.h"

static const struct opt_cmd topo_cmd = {
    .prog = "fabraft topo",
    .usage = "fabraft topo [--nic NAME|auto|none] [--address HOST] "
	     "[--provider P] [--topology-xml FILE]",
    .about = "The hwloc topology, its network devices and the placement "
	     "fabraftd\nwould choose (docs/operations.md \"Placement\").",
};

/* --nic auto: the device under @provider at @host, as fabraftd resolves
 * it for a cluster whose other nodes are on other hosts (a peer on this
 * host would let auto pick shm, which has no NIC). */
static int nic_auto(const char *provider, const char *host, char *nic,
		    size_t size, char *how, size_t how_size, bool *loopback)
{
	struct fab_peer_addr peers[2];
	struct fab_options fo;
	struct fab_nic out;
	char err[FR_ERRMSG_SIZE];

	memset(peers, 0, sizeof(peers));
	memset(&fo, 0, sizeof(fo));
	peers[0].id = 1;
	snprintf(peers[0].host, sizeof(peers[0].host), "%s", host);
	peers[0].port = 7001;
	peers[1].id = 2; /* TEST-NET-3: never contacted, only "not local" */
	snprintf(peers[1].host, sizeof(peers[1].host), "203.0.113.1");
	peers[1].port = 7002;
	fo.provider = provider;
	fo.rma = -1;
	fo.self = 1;
	fo.peers = peers;
	fo.n_peers = 2;
	if (fab_nic_find(&fo, &out, err) != 0) {
		fprintf(stderr, "fabraft topo: --nic auto at %s: %s\n", host,
			err);
		return 1;
	}
	snprintf(nic, size, "%s", out.name);
	*loopback = out.loopback;
	snprintf(how, how_size, "auto: %.150s", out.how);
	return 0;
}

/* What the daemon would bind, in INFO's key names. */
static void print_placement(const struct fab_placement *p, const char *how,
			    const char *topology)
{
	char would[320];

	if (p->numa_os >= 0)
		snprintf(would, sizeof(would),
			 "would bind to CPUs %s (NUMA node %d)%s", p->cpuset,
			 p->numa_os,
			 p->this_system ? ""
					: " (on that machine; nothing is bound "
					  "from a file)");
	else
		snprintf(would, sizeof(would), "not bound: nothing placed");
	printf("placement (what fabraftd --cpu-pin auto would do):\n");
	printf("  nic: %s\n", p->nic[0] ? p->nic : "none");
	printf("  nic_how: %s\n", how);
	printf("  numa_node: %d\n", p->numa_os);
	printf("  cpuset: %s\n", p->cpuset[0] ? p->cpuset : "none");
	printf("  placement_note: %s\n", p->note);
	printf("  loop_thread: %s\n", would);
	printf("  wal_thread: %s\n", would);
	if (p->numa_os >= 0)
		printf("  rings: would bind to NUMA node %d\n", p->numa_os);
	else
		printf("  rings: not bound: nothing placed\n");
	printf("  topology: %s\n", topology);
}

int fabraft_topo_main(int argc, char **argv)
{
	const char *nic = "auto", *host = NULL, *provider = "auto";
	const char *xml = NULL;
	const struct opt opts[] = {
	    {"nic", OPT_STRING, &nic, .arg = "NAME|auto|none", .def = "auto",
	     .help = "the NIC to place by (auto needs --address)"},
	    {"address", OPT_STRING, &host, .arg = "HOST",
	     .help = "this node's fabric address (its --peers entry), for "
		     "--nic auto"},
	    {"provider", OPT_STRING, &provider, .arg = "P", .def = "auto",
	     .help = "fabraftd --provider, for --nic auto"},
	    {"topology-xml", OPT_STRING, &xml, .arg = "FILE",
	     .help = "decide on this hwloc XML topology instead of this "
		     "machine's (tests, what-if)"},
	};
	int done = opt_parse_main(&topo_cmd, opts, OPT_COUNT(opts), argc, argv);
	if (done >= 0)
		return done;

	char name[64] = "", how[192];
	bool loopback = false;
	snprintf(how, sizeof(how), "--nic %.60s", nic);
	if (strcmp(nic, "none") == 0) {
		name[0] = '\0';
	} else if (strcmp(nic, "auto") != 0) {
		snprintf(name, sizeof(name), "%s", nic);
	} else if (host == NULL) {
		snprintf(how, sizeof(how),
			 "auto: give --address HOST (or --nic NAME) to see "
			 "which device");
	} else if (nic_auto(provider, host, name, sizeof(name), how,
			    sizeof(how), &loopback) != 0) {
		return 1;
	}
	struct fab_topo *t;
	int rv = xml != NULL ? fab_topo_open_from(xml, &t) : fab_topo_open(&t);
	if (rv != 0) {
		fprintf(stderr,
			"fabraft topo: hwloc cannot load %s (an XML file named "
			"*.xml): %s\n",
			xml != NULL ? xml : "this machine's topology",
			fr_strerror(rv));
		return 1;
	}
	struct fab_placement p;
	fab_topo_place_found(t, name, loopback, &p);
	if (strcmp(nic, "none") == 0)
		snprintf(p.note, sizeof(p.note), "--nic none: not placed");
	rv = fab_topo_print(t, &p, stdout);
	print_placement(&p, how, xml != NULL ? xml : "this machine");
	fab_topo_close(t);
	return rv == 0 ? 0 : 1;
}

void fabraft_status_placement(const char *addr, const char *node)
{
	static const char *keys[] = {"nic",	      "numa_node",  "cpuset",
				     "loop_thread",   "wal_thread", "rings",
				     "placement_note"};
	char v[7][200];
	char *info = cl_info(addr, 500);

	if (info == NULL)
		return;
	for (int k = 0; k < 7; k++)
		fabraft_info_field(info, keys[k], v[k], sizeof(v[k]));
	fr_free(info);
	printf("node %s placement: nic %s, NUMA node %s, CPUs %s: %s\n", node,
	       v[0], v[1], v[2], v[6]);
	printf("node %s loop thread: %s; wal thread: %s; rings: %s\n", node,
	       v[3], v[4], v[5]);
}
