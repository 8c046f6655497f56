/* fab_nic.c — which network device the fabric would use (--nic auto). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rdma/fabric.h>

#include "fab.h"
#include "fab_ep.h"

/* Same address?  Ports are ignored: the interface is what matters. */
static bool same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)(const void *)a)
				   ->sin_addr,
			      &((const struct sockaddr_in *)(const void *)b)
				   ->sin_addr,
			      sizeof(struct in_addr)) == 0;
	return memcmp(
		   &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
		   &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
		   sizeof(struct in6_addr)) == 0;
}

/* The interface that owns address @sa: its name into out->name. */
static void netdev_of(const struct sockaddr *sa, struct fab_nic *out)
{
	struct ifaddrs *ifs;
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET)
		inet_ntop(
		    AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    ip, sizeof(ip));
	else
		inet_ntop(
		    AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    ip, sizeof(ip));
	if (getifaddrs(&ifs) != 0) {
		snprintf(out->how, sizeof(out->how),
			 "provider %.31s at %.45s: cannot list interfaces",
			 out->provider, ip);
		return;
	}
	for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || !same_ip(i->ifa_addr, sa))
			continue;
		snprintf(out->name, sizeof(out->name), "%s", i->ifa_name);
		out->loopback = (i->ifa_flags & IFF_LOOPBACK) != 0;
		break;
	}
	freeifaddrs(ifs);
	if (out->name[0] == '\0')
		snprintf(
		    out->how, sizeof(out->how),
		    "provider %.31s at %.45s: no interface has that address",
		    out->provider, ip);
	else
		snprintf(out->how, sizeof(out->how),
			 "provider %.31s at %.45s: interface %.40s%s",
			 out->provider, ip, out->name,
			 out->loopback ? " (loopback)" : "");
}

/* What the provider entry @i says about its device. */
static void nic_of_info(const struct fi_info *i, struct fab_nic *out)
{
	const struct fid_nic *nic = i->nic;

	snprintf(out->provider, sizeof(out->provider), "%s",
		 i->fabric_attr->prov_name);
	if (nic != NULL && nic->device_attr != NULL &&
	    nic->device_attr->name != NULL) {
		snprintf(out->name, sizeof(out->name), "%s",
			 nic->device_attr->name);
		snprintf(out->how, sizeof(out->how),
			 "provider %.31s reports device %.63s", out->provider,
			 out->name);
	} else if (nic != NULL && nic->bus_attr != NULL &&
		   nic->bus_attr->bus_type == FI_BUS_PCI) {
		const struct fi_pci_attr *p = &nic->bus_attr->attr.pci;
		snprintf(out->name, sizeof(out->name), "%04x:%02x:%02x.%x",
			 p->domain_id, p->bus_id, p->device_id, p->function_id);
		snprintf(out->how, sizeof(out->how),
			 "provider %.31s reports PCI device %.63s",
			 out->provider, out->name);
	} else if (strncmp(out->provider, "shm", 3) == 0) {
		snprintf(out->how, sizeof(out->how),
			 "provider %s: shared memory between processes of "
			 "this host, no NIC",
			 out->provider);
	} else if (i->src_addr != NULL && (i->addr_format == FI_SOCKADDR_IN ||
					   i->addr_format == FI_SOCKADDR_IN6)) {
		netdev_of(i->src_addr, out);
	} else {
		snprintf(out->how, sizeof(out->how),
			 "provider %s names no device and no IP address",
			 out->provider);
	}
}

int fab_nic_find(const struct fab_options *o, struct fab_nic *out, char *errmsg)
{
	const struct fab_peer_addr *self = NULL;
	struct fi_info *info = NULL;
	bool all_local = true;
	bool rma_on = false;

	memset(out, 0, sizeof(*out));
	if (o->peers == NULL || o->n_peers == 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "no peers");
		return FR_INVALID;
	}
	for (uint32_t k = 0; k < o->n_peers; k++) {
		if (o->peers[k].id == o->self)
			self = &o->peers[k];
		all_local &= fab__host_is_local(o->peers[k].host);
	}
	if (self == NULL ||
	    memchr(self->host, '\0', sizeof(self->host)) == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "self %u not among peers",
			 o->self);
		return FR_INVALID;
	}
	/* The rule fab_open() applies (shm's region epoch does not change
	 * the device: 0 will do). */
	int rv = fab__prov_select(o->provider, all_local, o->rma, self->host,
				  self->port, 0, &info, &rma_on, errmsg);
	if (rv != 0)
		return rv;
	nic_of_info(info, out);
	fi_freeinfo(info);
	return 0;
}
