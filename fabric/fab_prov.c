/* fab_prov.c — provider discovery and the `auto` rule. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rdma/fabric.h>

#include "err.h"
#include "fab.h"
#include "fab_ep.h"

/*
 * `auto` prefers verbs (real RDMA), then shm when every peer is on this
 * host (cross-process one-sided writes through CMA), then tcp (RDM through
 * ofi_rxm).  A named provider that is absent fails fab_open() with the list
 * of those that are present, so a typo is not silently "fixed".
 */

static const char *const known[] = {"verbs", "tcp", "net", "shm", "sockets"};

struct fi_info *fab__prov_hints(bool want_rma)
{
	struct fi_info *h = fi_allocinfo();

	if (h == NULL) {
		return NULL;
	}
	h->caps = FI_MSG;
	if (want_rma) {
		h->caps |= FI_RMA | FI_WRITE | FI_REMOTE_WRITE;
	}
	h->ep_attr->type = FI_EP_RDM;
	h->domain_attr->mr_mode =
	    FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	h->mode = FI_CONTEXT | FI_CONTEXT2 | FI_RX_CQ_DATA;
	h->domain_attr->cq_data_size = want_rma ? 8 : 0;
	h->domain_attr->threading = FI_THREAD_DOMAIN;
	/* Messages to one peer arrive in the order sent (send after send). */
	h->tx_attr->msg_order = FI_ORDER_SAS;
	h->rx_attr->msg_order = FI_ORDER_SAS;
	return h;
}

void fab__shm_name(char *buf, size_t size, const char *host, uint16_t port,
		   uint64_t epoch)
{
	snprintf(buf, size, "fabraft.%s.%u.%llu", host, (unsigned)port,
		 (unsigned long long)epoch);
}

/* First word of "tcp;ofi_rxm" is the core provider we name it by. */
static bool prov_is(const char *prov_name, const char *want)
{
	size_t n = strlen(want);

	return strncmp(prov_name, want, n) == 0 &&
	       (prov_name[n] == '\0' || prov_name[n] == ';');
}

/* Candidates for @name at @host:@port; NULL when none. */
static struct fi_info *getinfo(const char *name, bool want_rma,
			       const char *host, uint16_t port,
			       uint64_t shm_epoch)
{
	struct fi_info *h = fab__prov_hints(want_rma);
	struct fi_info *res = NULL;
	char svc[8];
	char shm[128];
	const char *node = host;
	const char *service = svc;
	int rv;

	if (h == NULL) {
		return NULL;
	}
	h->fabric_attr->prov_name = strdup(name);
	if (h->fabric_attr->prov_name == NULL) {
		fi_freeinfo(h);
		return NULL;
	}
	snprintf(svc, sizeof(svc), "%u", (unsigned)port);
	if (host == NULL) {
		node = NULL; /* any address: is the provider here at all? */
		service = NULL;
	} else if (strcmp(name, "shm") == 0) {
		fab__shm_name(shm, sizeof(shm), host, port, shm_epoch);
		node = shm;
		service = NULL;
	}
	rv = fi_getinfo(FI_VERSION(1, 17), node, service,
			node != NULL ? FI_SOURCE : 0, h, &res);
	fi_freeinfo(h);
	if (rv != 0) {
		return NULL;
	}
	/* prov_name matching is by substring in some versions: keep only
	 * entries whose core provider is the one asked for. */
	for (struct fi_info *i = res; i != NULL; i = i->next) {
		if (prov_is(i->fabric_attr->prov_name, name)) {
			struct fi_info *one = fi_dupinfo(i);

			fi_freeinfo(res);
			return one;
		}
	}
	fi_freeinfo(res);
	return NULL;
}

/*
 * The tcp provider leaves Nagle on by default: a 4 KiB write then waits
 * ~12 ms for the peer's delayed ACK (measured here).  Raft messages are
 * latency-bound, so turn it off unless the operator chose otherwise.
 * libfabric reads it when the provider loads, i.e. at the first getinfo.
 */
static void tune_env(void)
{
	(void)setenv("FI_TCP_NODELAY", "1", 0);
	/* tcp;ofi_rxm sends up to 16 KiB eagerly (one bounce buffer) and
	 * larger messages by segmentation or rendezvous.  A frame carrying a
	 * 16 KiB entry is 16 KiB plus ~100 bytes of framing, which crossed
	 * that line and took ~2.5x as long as a bare 16 KiB send here.  Give
	 * the eager protocol room for the framing of a 16 KiB batch (the
	 * bounce buffers grow by a quarter).  The user's settings win. */
	(void)setenv("FI_OFI_RXM_BUFFER_SIZE", "20480", 0);
	(void)setenv("FI_OFI_RXM_EAGER_LIMIT", "20480", 0);
}

struct fi_info *fab_hints(bool rma)
{
	tune_env();
	return fab__prov_hints(rma);
}

void fab_providers_list(char *buf, size_t size)
{
	size_t used = 0;

	tune_env();

	buf[0] = '\0';
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		struct fi_info *i = getinfo(known[k], false, NULL, 0, 0);

		if (i == NULL) {
			continue;
		}
		fi_freeinfo(i);
		int n = snprintf(buf + used, size - used, "%s%s",
				 used ? "," : "", known[k]);
		if (n < 0 || (size_t)n >= size - used) {
			break;
		}
		used += (size_t)n;
	}
}

bool fab__host_is_local(const char *host)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC};
	struct addrinfo *res;
	struct ifaddrs *ifs;
	bool local = false;

	if (getaddrinfo(host, NULL, &hints, &res) != 0) {
		return false;
	}
	if (getifaddrs(&ifs) != 0) {
		freeaddrinfo(res);
		return false;
	}
	for (struct addrinfo *a = res; a != NULL && !local; a = a->ai_next) {
		if (a->ai_family == AF_INET) {
			const struct sockaddr_in *s = (const void *)a->ai_addr;

			if ((ntohl(s->sin_addr.s_addr) >> 24) == 127) {
				local = true;
			}
		}
		if (a->ai_family == AF_INET6) {
			const struct sockaddr_in6 *s = (const void *)a->ai_addr;

			if (IN6_IS_ADDR_LOOPBACK(&s->sin6_addr)) {
				local = true;
			}
		}
		for (struct ifaddrs *i = ifs; i != NULL && !local;
		     i = i->ifa_next) {
			if (i->ifa_addr == NULL ||
			    i->ifa_addr->sa_family != a->ai_family) {
				continue;
			}
			if (a->ai_family == AF_INET &&
			    memcmp(&((const struct sockaddr_in *)(const void *)
					 i->ifa_addr)
					->sin_addr,
				   &((const struct sockaddr_in *)(const void *)
					 a->ai_addr)
					->sin_addr,
				   sizeof(struct in_addr)) == 0) {
				local = true;
			}
		}
	}
	freeifaddrs(ifs);
	freeaddrinfo(res);
	return local;
}

static int select_named(const char *name, int rma, const char *host,
			uint16_t port, uint64_t shm_epoch, struct fi_info **out,
			bool *rma_on)
{
	struct fi_info *i = NULL;

	if (rma != 0) {
		i = getinfo(name, true, host, port, shm_epoch);
	}
	if (i != NULL) {
		*rma_on = true;
	} else if (rma == 1) {
		return FR_UNSUPPORTED;
	} else {
		i = getinfo(name, false, host, port, shm_epoch);
		*rma_on = false;
	}
	if (i == NULL) {
		return FR_NOTFOUND;
	}
	*out = i;
	return 0;
}

int fab__prov_select(const char *name, bool all_local, int rma,
		     const char *host, uint16_t port, uint64_t shm_epoch,
		     struct fi_info **out, bool *rma_on, char *errmsg)
{
	char present[128];
	bool known_name = false;
	int rv;

	tune_env();

	if (name == NULL) {
		name = "auto";
	}
	if (strcmp(name, "auto") == 0) {
		const char *order[3] = {"verbs", "shm", "tcp"};

		for (int k = 0; k < 3; k++) {
			if (strcmp(order[k], "shm") == 0 && !all_local) {
				continue;
			}
			rv = select_named(order[k], rma, host, port, shm_epoch,
					  out, rma_on);
			if (rv == 0) {
				return 0;
			}
		}
		fab_providers_list(present, sizeof(present));
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "provider auto: none of verbs, shm, tcp usable at "
			 "%s:%u%s (present: %s)",
			 host, (unsigned)port, rma == 1 ? " with RMA" : "",
			 present[0] ? present : "none");
		return FR_UNSUPPORTED;
	}
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		known_name |= strcmp(known[k], name) == 0;
	}
	rv = known_name
		 ? select_named(name, rma, host, port, shm_epoch, out, rma_on)
		 : FR_NOTFOUND;
	if (rv == 0) {
		return 0;
	}
	fab_providers_list(present, sizeof(present));
	if (rv == FR_UNSUPPORTED) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "provider %s has no FI_RMA with remote CQ data here "
			 "(use --rma off or auto)",
			 name);
	} else {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "provider '%s' is %s at %s:%u; present: %s", name,
			 known_name ? "not usable" : "unknown", host,
			 (unsigned)port, present[0] ? present : "none");
	}
	return FR_UNSUPPORTED;
}
