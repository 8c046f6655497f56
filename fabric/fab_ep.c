/* fab_ep.c — open/close the RDM endpoint, its AV, CQ and memory regions. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fi_cm.h>
#include <rdma/fi_errno.h>

#include "err.h"
#include "fab_ep.h"

int fab__err(int fi_rv)
{
	switch (fi_rv) {
	case 0:
		return 0;
	case -FI_EAGAIN:
		return FR_AGAIN;
	case -FI_ENOMEM:
		return FR_NOMEM;
	case -FI_EINVAL:
		return FR_INVALID;
	case -FI_ENOSYS:
	case -FI_EOPNOTSUPP:
	case -FI_ENODATA:
		return FR_UNSUPPORTED;
	case -FI_ECONNREFUSED:
	case -FI_ECONNRESET:
	case -FI_ENOTCONN:
	case -FI_EHOSTUNREACH:
	case -FI_ECONNABORTED:
		return FR_NOCONN;
	case -FI_EMSGSIZE:
	case -FI_ETOOSMALL:
		return FR_TOOBIG;
	case -FI_ETIMEDOUT:
		return FR_TIMEOUT;
	default:
		return FR_FABRIC;
	}
}

int fab__errmsg(char *errmsg, const char *what, int fi_rv)
{
	snprintf(errmsg, FR_ERRMSG_SIZE, "%s: %s", what, fi_strerror(-fi_rv));
	return fab__err(fi_rv);
}

static int cq_open(struct fab__ep *e, char *errmsg)
{
	struct fi_cq_attr attr = {
	    .size = 0,
	    .format = FI_CQ_FORMAT_DATA,
	    .wait_obj = FI_WAIT_FD,
	};
	const char *w = getenv("FAB_CQ_WAIT");
	int rv;

	/* FAB_CQ_WAIT=none: busy-polling deployments need no wait fd. */
	if (w != NULL && strcmp(w, "none") == 0) {
		attr.wait_obj = FI_WAIT_NONE;
	}

	rv = fi_cq_open(e->domain, &attr, &e->cq, NULL);
	if (rv == -FI_ENOSYS || rv == -FI_EINVAL || rv == -FI_EOPNOTSUPP) {
		/* No wait fd here: the caller polls on a timer. */
		attr.wait_obj = FI_WAIT_NONE;
		rv = fi_cq_open(e->domain, &attr, &e->cq, NULL);
	} else if (rv == 0) {
		if (fi_control(&e->cq->fid, FI_GETWAIT, &e->wait_fd) != 0) {
			e->wait_fd = -1;
		}
	}
	if (rv != 0) {
		return fab__errmsg(errmsg, "fi_cq_open", rv);
	}
	return 0;
}

/*
 * shm names its endpoint "<name>:<i>:<j>" (fi_getname shows it), so peers
 * must insert the name with the same suffix.  Learn it from our own name
 * rather than hard-coding what this libfabric version appends.
 */
static void shm_suffix(struct fab__ep *e)
{
	char name[256];
	size_t len = sizeof(name) - 1;
	const char *base = e->info->src_addr;

	e->shm_suffix[0] = '\0';
	if (base == NULL || fi_getname(&e->ep->fid, name, &len) != 0) {
		return;
	}
	name[len < sizeof(name) ? len : sizeof(name) - 1] = '\0';
	if (strncmp(name, base, strlen(base)) == 0) {
		snprintf(e->shm_suffix, sizeof(e->shm_suffix), "%s",
			 name + strlen(base));
	}
}

int fab__ep_open(struct fab__ep *e, struct fi_info *info, bool rma,
		 char *errmsg)
{
	struct fi_av_attr av_attr = {.type = FI_AV_MAP};
	int rv;

	memset(e, 0, sizeof(*e));
	e->info = info;
	e->wait_fd = -1;
	e->rma = rma;
	e->shm = info->addr_format == FI_ADDR_STR;
	e->need_desc = (info->domain_attr->mr_mode & FI_MR_LOCAL) != 0;
	e->rx_cq_data = (info->mode & FI_RX_CQ_DATA) != 0;
	e->key_next = 1;

	rv = fi_fabric(info->fabric_attr, &e->fabric, NULL);
	if (rv != 0) {
		rv = fab__errmsg(errmsg, "fi_fabric", rv);
		goto err;
	}
	rv = fi_domain(e->fabric, info, &e->domain, NULL);
	if (rv != 0) {
		rv = fab__errmsg(errmsg, "fi_domain", rv);
		goto err;
	}
	rv = fi_av_open(e->domain, &av_attr, &e->av, NULL);
	if (rv != 0) {
		rv = fab__errmsg(errmsg, "fi_av_open", rv);
		goto err;
	}
	rv = cq_open(e, errmsg);
	if (rv != 0) {
		goto err;
	}
	rv = fi_endpoint(e->domain, info, &e->ep, NULL);
	if (rv != 0) {
		rv = fab__errmsg(errmsg, "fi_endpoint", rv);
		goto err;
	}
	rv = fi_ep_bind(e->ep, &e->av->fid, 0);
	if (rv == 0) {
		rv = fi_ep_bind(e->ep, &e->cq->fid, FI_TRANSMIT | FI_RECV);
	}
	if (rv == 0) {
		rv = fi_enable(e->ep);
	}
	if (rv != 0) {
		rv = fab__errmsg(errmsg, "fi_ep_bind/fi_enable", rv);
		goto err;
	}
	if (e->shm) {
		shm_suffix(e);
	}
	return 0;
err:
	fab__ep_close(e);
	return rv;
}

void fab__ep_close(struct fab__ep *e)
{
	if (e->ep != NULL) {
		fi_close(&e->ep->fid);
	}
	if (e->cq != NULL) {
		fi_close(&e->cq->fid);
	}
	if (e->av != NULL) {
		fi_close(&e->av->fid);
	}
	if (e->domain != NULL) {
		fi_close(&e->domain->fid);
	}
	if (e->fabric != NULL) {
		fi_close(&e->fabric->fid);
	}
	if (e->info != NULL) {
		fi_freeinfo(e->info);
	}
	memset(e, 0, sizeof(*e));
	e->wait_fd = -1;
}

bool fab__ep_shm_exists(const struct fab__ep *e, const char *host,
			uint16_t port)
{
	char base[128];
	char path[224];

	struct stat st;
	struct timespec now;

	fab__shm_name(base, sizeof(base), host, port);
	snprintf(path, sizeof(path), "/dev/shm/%s%s", base, e->shm_suffix);
	if (stat(path, &st) != 0 || st.st_size == 0) {
		return false;
	}
	/* A region is mapped by its peers while its owner may still be
	 * initialising it; mapping it then left a NULL region that crashed
	 * 1.17's progress here.  Give the owner 100 ms. */
	clock_gettime(CLOCK_REALTIME, &now);
	return (now.tv_sec - st.st_mtim.tv_sec) * 1000 +
		   (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000 >=
	       100;
}

int fab__ep_av_insert(struct fab__ep *e, const char *host, uint16_t port,
		      fi_addr_t *out, char *errmsg)
{
	char name[224];
	int rv;

	if (e->shm) {
		/* shm names are strings: "fi_shm://<name>". */
		char base[128];

		fab__shm_name(base, sizeof(base), host, port);
		snprintf(name, sizeof(name), "fi_shm://%s%s", base,
			 e->shm_suffix);
		rv = fi_av_insert(e->av, name, 1, out, 0, NULL);
	} else {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
		struct addrinfo *res;
		char svc[8];

		hints.ai_family = e->info->addr_format == FI_SOCKADDR_IN6
				      ? AF_INET6
				      : AF_INET;
		snprintf(svc, sizeof(svc), "%u", (unsigned)port);
		if (getaddrinfo(host, svc, &hints, &res) != 0) {
			snprintf(errmsg, FR_ERRMSG_SIZE,
				 "peer %s:%u does not resolve", host,
				 (unsigned)port);
			return FR_NOTFOUND;
		}
		rv = fi_av_insert(e->av, res->ai_addr, 1, out, 0, NULL);
		freeaddrinfo(res);
	}
	if (rv != 1) {
		return fab__errmsg(errmsg, "fi_av_insert",
				   rv < 0 ? rv : -FI_EINVAL);
	}
	return 0;
}

int fab__ep_mr_reg(struct fab__ep *e, void *buf, size_t len, uint64_t access,
		   struct fid_mr **mr, char *errmsg)
{
	int rv;

	/* Requested keys matter only without FI_MR_PROV_KEY; keep them
	 * unique per domain anyway. */
	rv = fi_mr_reg(e->domain, buf, len, access, 0, e->key_next++, 0, mr,
		       NULL);
	if (rv != 0) {
		return fab__errmsg(errmsg, "fi_mr_reg", rv);
	}
	if ((access & FI_REMOTE_WRITE) &&
	    (e->info->domain_attr->mr_mode & FI_MR_ENDPOINT)) {
		rv = fi_mr_bind(*mr, &e->ep->fid, 0);
		if (rv == 0) {
			rv = fi_mr_enable(*mr);
		}
		if (rv != 0) {
			fi_close(&(*mr)->fid);
			*mr = NULL;
			return fab__errmsg(errmsg, "fi_mr_bind", rv);
		}
	}
	return 0;
}
