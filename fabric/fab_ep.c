/* fab_ep.c — open/close the RDM endpoint, its AV, CQ and memory regions. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
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
#include "fab_hello.h"

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
	/* Requested keys start at a random point: a restarted process must
	 * not hand out the keys of its previous incarnation, or a write the
	 * leader's provider still holds for the old process (rxm replays
	 * deferred operations on the reconnected connection) would land in
	 * the new process's ring instead of failing at the target. */
	if (fab_hello_random(&e->key_next) != 0) {
		e->key_next = (uint64_t)time(NULL) << 20;
	}

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

/*
 * Scan /dev/shm for the regions of @host:@port ("fabraft.HOST.PORT.<epoch>"
 * followed by @suffix, or anything when @suffix is NULL).  Calls @fn for
 * each with its epoch and path.
 */
static void shm_scan(const char *host, uint16_t port, const char *suffix,
		     void (*fn)(void *ctx, uint64_t epoch, const char *path),
		     void *ctx)
{
	char prefix[128];
	char path[512];
	size_t n;
	struct dirent *d;
	DIR *dir = opendir("/dev/shm");

	if (dir == NULL) {
		return;
	}
	snprintf(prefix, sizeof(prefix), "fabraft.%s.%u.", host,
		 (unsigned)port);
	n = strlen(prefix);
	while ((d = readdir(dir)) != NULL) {
		char *end;
		unsigned long long ep;

		if (strncmp(d->d_name, prefix, n) != 0 || d->d_name[n] < '0' ||
		    d->d_name[n] > '9') {
			continue;
		}
		errno = 0;
		ep = strtoull(d->d_name + n, &end, 10);
		if (errno != 0 || ep == 0 ||
		    (suffix != NULL && strcmp(end, suffix) != 0)) {
			continue;
		}
		snprintf(path, sizeof(path), "/dev/shm/%s", d->d_name);
		fn(ctx, (uint64_t)ep, path);
	}
	closedir(dir);
}

static void max_epoch(void *ctx, uint64_t epoch, const char *path)
{
	uint64_t *max = ctx;

	(void)path;
	if (epoch > *max) {
		*max = epoch;
	}
}

uint64_t fab__shm_epoch_next(const char *host, uint16_t port)
{
	uint64_t max = 0;
	uint64_t us;
	struct timespec now;

	shm_scan(host, port, NULL, max_epoch, &max);
	clock_gettime(CLOCK_REALTIME, &now);
	us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
	return us > max ? us : max + 1;
}

struct older {
	uint64_t epoch; /* keep this one and newer */
};

static void unlink_older(void *ctx, uint64_t epoch, const char *path)
{
	const struct older *o = ctx;

	if (epoch < o->epoch) {
		(void)unlink(path);
	}
}

void fab__shm_unlink_older(const char *host, uint16_t port, uint64_t epoch)
{
	struct older o = {.epoch = epoch};

	shm_scan(host, port, NULL, unlink_older, &o);
}

struct settled {
	uint32_t settled_ms; /* minimum age */
	uint64_t epoch;	     /* newest settled epoch found, 0 none */
	uint64_t newest;     /* newest epoch seen at all */
};

/*
 * libfabric 1.17's shm region starts {u8 version (4); u8; u16 flags; int pid}
 * and its creator writes pid last "to signal full initialization to peers".
 * Inserting a region whose pid is still 0 is harmful there, not just early:
 * smr_map_add() leaves that map slot unclaimed yet returns success, so the
 * next insertion takes the same slot and overwrites its name -- both peers
 * then share one fi_addr and one peer's frames reach the other (seen under
 * ThreadSanitizer, where a region took over 100 ms to initialise: node 1's
 * HELLOs for node 2 reached node 3).  Other layouts (another libfabric) are
 * not read: only the minimum age applies to them.
 */
#define SHM_117_VERSION 4

bool fab__shm_region_ready(const char *path)
{
	uint8_t head[8];
	int32_t pid;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		return false;
	}
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n != (ssize_t)sizeof(head) || head[0] == 0) {
		return false; /* not even the version written yet */
	}
	if (head[0] != SHM_117_VERSION) {
		return true;
	}
	memcpy(&pid, head + 4, sizeof(pid));
	return pid != 0;
}

static void settled_epoch(void *ctx, uint64_t epoch, const char *path)
{
	struct settled *s = ctx;
	struct stat st;
	struct timespec now;
	int64_t age_ms;

	if (epoch > s->newest) {
		s->newest = epoch;
	}
	if (epoch <= s->epoch || stat(path, &st) != 0 || st.st_size == 0) {
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	age_ms = (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
		 (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
	if (age_ms >= (int64_t)s->settled_ms && fab__shm_region_ready(path)) {
		s->epoch = epoch;
	}
}

bool fab__ep_shm_find(const struct fab__ep *e, const char *host, uint16_t port,
		      uint32_t settled_ms, uint64_t *epoch)
{
	struct settled s = {.settled_ms = settled_ms};

	/* A region is mapped by its peers while its owner may still be
	 * initialising it; mapping it then left a NULL region that crashed
	 * 1.17's progress here, hence the minimum age.  Only the newest
	 * region counts: an older one belongs to a dead incarnation. */
	shm_scan(host, port, e->shm_suffix, settled_epoch, &s);
	if (s.epoch == 0 || s.epoch != s.newest) {
		return false;
	}
	*epoch = s.epoch;
	return true;
}

int fab__ep_av_insert(struct fab__ep *e, const char *host, uint16_t port,
		      uint64_t shm_epoch, fi_addr_t *out, char *errmsg)
{
	char name[224];
	int rv;

	if (e->shm) {
		/* shm names are strings: "fi_shm://<name>". */
		char base[128];

		fab__shm_name(base, sizeof(base), host, port, shm_epoch);
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
	size_t key_size = e->info->domain_attr->mr_key_size;
	uint64_t key = e->key_next++;
	int rv;

	/* Requested keys matter only without FI_MR_PROV_KEY; keep them
	 * unique per domain anyway (and within the provider's key size). */
	if (key_size > 0 && key_size < sizeof(key)) {
		key &= (1ull << (8 * key_size)) - 1;
	}
	rv = fi_mr_reg(e->domain, buf, len, access, 0, key, 0, mr, NULL);
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
