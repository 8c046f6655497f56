/* bench_fabric_raw.c — `fabraft-bench fabric` raw modes: the bare-libfabric
 * round trip that our transport is compared against. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include "bench_fabric.h"
#include "err.h"
#include "fab.h"

/*
 * libfabric's public API, and of fabric/ only fab_hints(): the baseline
 * must not share what it measures.  To keep the comparison fair it asks
 * for the same provider entry our transport opens (fab_hints() gives the
 * hints and the provider environment; the API version and FI_SOURCE
 * binding are those of fabric/fab_prov.c getinfo()) and builds the same
 * objects (fabric/fab_ep.c: FI_AV_MAP, one FI_CQ_FORMAT_DATA CQ with a
 * wait fd where the provider has one, bound for transmit and receive).
 * What it leaves out is what fabraft adds per operation: framing, the
 * send queue, handshake checks.
 *
 *   raw-msg  fi_send of SIZE bytes answered by a 64-byte fi_send (the
 *            shape of APPEND -> APPEND_RESP).
 *   raw-rma  fi_writedata of SIZE bytes with remote CQ data, answered by
 *            a 64-byte fi_send (the shape of our RMA path).
 */

/* Receive buffer, send buffer, then room for the address exchange. */
#define BUF_BYTES (2 * BENCH_FABRIC_SIZE_MAX + 64)

struct raw {
	struct fi_info *info;	   /* owned; the chosen provider entry */
	struct fid_fabric *fabric; /* owned */
	struct fid_domain *domain; /* owned */
	struct fid_av *av;	   /* owned; the one peer */
	struct fid_cq *cq;	   /* owned; tx, rx and remote writes */
	struct fid_ep *ep;	   /* owned */
	struct fid_mr *mr;	   /* owned; registers buf */
	uint8_t *buf;		   /* owned; BUF_BYTES */
	bool shm;		   /* FI_ADDR_STR naming */
	bool spin;		   /* never yield while polling */
	char shm_suffix[32];	   /* what shm appends to a name (":0:0") */
	fi_addr_t peer;		   /* the other child */
	uint64_t peer_addr;	   /* its buffer (0: offsets, no VIRT_ADDR) */
	uint64_t peer_key;	   /* its buffer's key */
	unsigned tx_done;	   /* our own send/write completions seen */
};

/* shm endpoint name of the child at @port.  Both children of one pair
 * share a parent, and its pid keeps names of earlier runs (ports are
 * reused) apart: 1.17's shm must not meet a name it knew. */
static void raw_shm_name(char *buf, size_t size, uint16_t port)
{
	snprintf(buf, size, "fabraft-bench.%ld.%u", (long)getppid(),
		 (unsigned)port);
}

/* The entry of provider @prov ("tcp" matches "tcp;ofi_rxm") bound to
 * @host:@port.  Returns 0 or FR_NOTFOUND. */
static int raw_getinfo(struct raw *r, const char *prov, bool rma,
		       const char *host, uint16_t port)
{
	struct fi_info *h = fab_hints(rma);
	struct fi_info *res = NULL;
	char node[128];
	char svc[8];
	size_t n = strlen(prov);

	if (h == NULL || (h->fabric_attr->prov_name = strdup(prov)) == NULL) {
		fi_freeinfo(h);
		return FR_NOTFOUND;
	}
	snprintf(node, sizeof(node), "%s", host);
	snprintf(svc, sizeof(svc), "%u", (unsigned)port);
	if (strcmp(prov, "shm") == 0) {
		raw_shm_name(node, sizeof(node), port);
	}
	if (fi_getinfo(FI_VERSION(1, 17), node,
		       strcmp(prov, "shm") == 0 ? NULL : svc, FI_SOURCE, h,
		       &res) != 0) {
		res = NULL;
	}
	fi_freeinfo(h);
	for (struct fi_info *i = res; i != NULL; i = i->next) {
		const char *name = i->fabric_attr->prov_name;

		if (strncmp(name, prov, n) == 0 &&
		    (name[n] == '\0' || name[n] == ';')) {
			r->info = fi_dupinfo(i);
			break;
		}
	}
	fi_freeinfo(res);
	return r->info != NULL ? 0 : FR_NOTFOUND;
}

static int raw_fail(const char *what, int fi_rv)
{
	fprintf(stderr, "bench raw: %s: %s\n", what, fi_strerror(-fi_rv));
	return FR_FABRIC;
}

static int raw_cq_open(struct raw *r)
{
	struct fi_cq_attr attr = {.format = FI_CQ_FORMAT_DATA,
				  .wait_obj = FI_WAIT_FD};
	const char *w = getenv("FAB_CQ_WAIT");
	int rv;

	if (w != NULL && strcmp(w, "none") == 0) {
		attr.wait_obj = FI_WAIT_NONE; /* as fabric/fab_ep.c does */
	}
	rv = fi_cq_open(r->domain, &attr, &r->cq, NULL);
	if (rv == -FI_ENOSYS || rv == -FI_EINVAL || rv == -FI_EOPNOTSUPP) {
		attr.wait_obj = FI_WAIT_NONE;
		rv = fi_cq_open(r->domain, &attr, &r->cq, NULL);
	}
	return rv != 0 ? raw_fail("fi_cq_open", rv) : 0;
}

/* Open everything from r->info and register the buffer. */
static int raw_open(struct raw *r)
{
	struct fi_av_attr av_attr = {.type = FI_AV_MAP};
	uint64_t access = FI_SEND | FI_RECV | FI_WRITE | FI_REMOTE_WRITE;
	int rv;

	r->shm = r->info->addr_format == FI_ADDR_STR;
	if ((rv = fi_fabric(r->info->fabric_attr, &r->fabric, NULL)) != 0) {
		return raw_fail("fi_fabric", rv);
	}
	if ((rv = fi_domain(r->fabric, r->info, &r->domain, NULL)) != 0) {
		return raw_fail("fi_domain", rv);
	}
	if ((rv = fi_av_open(r->domain, &av_attr, &r->av, NULL)) != 0) {
		return raw_fail("fi_av_open", rv);
	}
	if (raw_cq_open(r) != 0) {
		return FR_FABRIC;
	}
	if ((rv = fi_endpoint(r->domain, r->info, &r->ep, NULL)) != 0) {
		return raw_fail("fi_endpoint", rv);
	}
	rv = fi_ep_bind(r->ep, &r->av->fid, 0);
	if (rv == 0) {
		rv = fi_ep_bind(r->ep, &r->cq->fid, FI_TRANSMIT | FI_RECV);
	}
	if (rv != 0 || (rv = fi_enable(r->ep)) != 0) {
		return raw_fail("fi_ep_bind/fi_enable", rv);
	}
	r->buf = calloc(1, BUF_BYTES);
	if (r->buf == NULL) {
		return FR_NOMEM;
	}
	/* FI_MR_PROV_KEY was asked for; key 1 serves a provider without. */
	rv = fi_mr_reg(r->domain, r->buf, BUF_BYTES, access, 0, 1, 0, &r->mr,
		       NULL);
	if (rv == 0 && (r->info->domain_attr->mr_mode & FI_MR_ENDPOINT)) {
		rv = fi_mr_bind(r->mr, &r->ep->fid, 0);
		rv = rv != 0 ? rv : fi_mr_enable(r->mr);
	}
	return rv != 0 ? raw_fail("fi_mr_reg", rv) : 0;
}

/* Close: shm removes its /dev/shm region only then. */
static void raw_close(struct raw *r)
{
	struct fid *fids[] = {r->mr ? &r->mr->fid : NULL,
			      r->ep ? &r->ep->fid : NULL,
			      r->cq ? &r->cq->fid : NULL,
			      r->av ? &r->av->fid : NULL,
			      r->domain ? &r->domain->fid : NULL,
			      r->fabric ? &r->fabric->fid : NULL};

	for (size_t i = 0; i < sizeof(fids) / sizeof(fids[0]); i++) {
		if (fids[i] != NULL) {
			(void)fi_close(fids[i]);
		}
	}
	fi_freeinfo(r->info);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* shm names an endpoint "<name><suffix>" (fi_getname shows it) and so
 * does its /dev/shm region; the peer's has the same suffix. */
static void raw_shm_suffix(struct raw *r)
{
	char name[256];
	size_t len = sizeof(name) - 1;
	const char *base = r->info->src_addr;

	if (base != NULL && fi_getname(&r->ep->fid, name, &len) == 0 &&
	    len < sizeof(name)) {
		name[len] = '\0';
		if (strncmp(name, base, strlen(base)) == 0) {
			snprintf(r->shm_suffix, sizeof(r->shm_suffix), "%s",
				 name + strlen(base));
		}
	}
}

/* shm: true once the peer's region exists and is 100 ms old.  Mapping a
 * region its owner is still initialising crashed 1.17's progress (the
 * same gate as fabric/fab.c shm_gate()). */
static bool raw_shm_settled(const struct raw *r, const char *peer_name)
{
	char path[320];
	struct stat st;
	struct timespec now;
	int64_t age_ms;

	snprintf(path, sizeof(path), "/dev/shm/%s%s", peer_name, r->shm_suffix);
	if (stat(path, &st) != 0 || st.st_size == 0) {
		return false;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	age_ms = (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
		 (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
	return age_ms >= 100;
}

/* Insert the peer at @host:@port.  Returns 0, or FR_AGAIN (not there yet:
 * retry) or FR_FABRIC. */
static int raw_av_insert(struct raw *r, const char *host, uint16_t port)
{
	int rv;

	if (r->shm) {
		char base[128];
		char name[224];

		raw_shm_name(base, sizeof(base), port);
		if (!raw_shm_settled(r, base)) {
			return FR_AGAIN;
		}
		snprintf(name, sizeof(name), "fi_shm://%s%s", base,
			 r->shm_suffix);
		rv = fi_av_insert(r->av, name, 1, &r->peer, 0, NULL);
	} else {
		char svc[8];

		/* libfabric resolves the name for the provider's format. */
		snprintf(svc, sizeof(svc), "%u", (unsigned)port);
		rv = fi_av_insertsvc(r->av, host, svc, &r->peer, 0, NULL);
	}
	return rv == 1 ? 0 : FR_FABRIC;
}

/* Wait for one completion that is not our own send/write (ctx NULL or rx
 * context); returns its flags.  @rx_ctx NULL: wait for nothing but count
 * our own completions once. */
static uint64_t raw_wait(struct raw *r, void *rx_ctx)
{
	struct fi_cq_data_entry c;

	for (;;) {
		ssize_t n = fi_cq_read(r->cq, &c, 1);

		if (n == 1 && rx_ctx != NULL &&
		    (c.op_context == NULL || c.op_context == rx_ctx)) {
			return c.flags;
		}
		if (n == 1) {
			r->tx_done++;
		}
		if (rx_ctx == NULL && n != 1) {
			return 0;
		}
		if (n == -FI_EAGAIN && !r->spin) {
			sched_yield(); /* as bench_fabric.c fab_spin() does */
		}
		if (n == -FI_EAVAIL) {
			struct fi_cq_err_entry ee = {0};

			(void)fi_cq_readerr(r->cq, &ee, 0);
			fprintf(stderr, "bench raw: cq error %s\n",
				fi_strerror(ee.err));
			exit(1);
		}
	}
}

/* Exchange buffer address and key: each side posts a receive and sends
 * its own, retrying until the peer listens.  Ends with both sides knowing
 * the other is up. */
static void raw_exchange(struct raw *r)
{
	uint8_t *in = r->buf + 2 * BENCH_FABRIC_SIZE_MAX;
	uint8_t *out = r->buf + BENCH_FABRIC_SIZE_MAX;
	void *desc = fi_mr_desc(r->mr);
	struct fi_context2 rx_ctx;
	struct fi_context2 tx_ctx;
	uint64_t msg[2] = {(uintptr_t)r->buf, fi_mr_key(r->mr)};
	bool sent = false;
	bool got = false;

	(void)fi_recv(r->ep, in, sizeof(msg), desc, FI_ADDR_UNSPEC, &rx_ctx);
	memcpy(out, msg, sizeof(msg));
	while (!sent || !got) {
		struct fi_cq_data_entry c;
		ssize_t rv;

		sent = false;
		do {
			rv = fi_send(r->ep, out, sizeof(msg), desc, r->peer,
				     &tx_ctx);
			if (rv == -FI_EAGAIN) {
				(void)fi_cq_read(r->cq, &c, 0);
			}
		} while (rv == -FI_EAGAIN);
		while (!sent || !got) {
			ssize_t n = fi_cq_read(r->cq, &c, 1);

			if (n == 1 && c.op_context == &tx_ctx) {
				sent = true;
			} else if (n == 1 && c.op_context == &rx_ctx) {
				got = true;
			} else if (n == -FI_EAVAIL) {
				struct fi_cq_err_entry ee = {0};

				(void)fi_cq_readerr(r->cq, &ee, 0);
				if (ee.op_context == &tx_ctx) {
					break; /* peer not there yet */
				}
			}
		}
		if (!sent || !got) {
			usleep(10000);
		}
	}
	memcpy(msg, in, sizeof(msg));
	r->peer_addr =
	    (r->info->domain_attr->mr_mode & FI_MR_VIRT_ADDR) ? msg[0] : 0;
	r->peer_key = msg[1];
}

/* The measured loop: @total round trips, the first tenth of @iters warm
 * up; role 1 records each into @lat. */
static void raw_pingpong(struct raw *r, const struct bench_fabric_child *a,
			 uint64_t *lat)
{
	unsigned total = a->iters + a->iters / 10;
	uint8_t *src = r->buf + BENCH_FABRIC_SIZE_MAX;
	void *desc = fi_mr_desc(r->mr);
	struct fi_context2 rx_ctx;
	struct fi_context2 tx_ctx;
	ssize_t rv;

	for (unsigned i = 0; i < total; i++) {
		uint64_t t;

		/* Same shape as fabraft's paths: SIZE bytes out (a send, or
		 * a write with CQ data), a 64-byte message back (what an
		 * APPEND_RESP is).  The receive for the answer is posted
		 * before the clock starts, as fabraft's are (it keeps 16
		 * posted): the raw reference pays no fi_recv() in its
		 * measured time. */
		if (a->role == 1 || !a->rma) {
			(void)fi_recv(r->ep, r->buf, BENCH_FABRIC_SIZE_MAX,
				      desc, FI_ADDR_UNSPEC, &rx_ctx);
		}
		t = bench_fabric_now_ns();
		if (a->role == 2) {
			raw_wait(r, &rx_ctx);
		}
		do {
			rv = a->rma && a->role == 1
				 ? fi_writedata(r->ep, src, a->size, desc, i,
						r->peer, r->peer_addr,
						r->peer_key, &tx_ctx)
				 : fi_send(r->ep, src,
					   a->role == 2 ? 64 : a->size, desc,
					   r->peer, &tx_ctx);
			if (rv == -FI_EAGAIN) {
				struct fi_cq_data_entry c;

				(void)fi_cq_read(r->cq, &c, 0);
			}
		} while (rv == -FI_EAGAIN);
		if (a->role == 1) {
			raw_wait(r, &rx_ctx);
			if (i >= a->iters / 10) {
				lat[i - a->iters / 10] =
				    bench_fabric_now_ns() - t;
			}
		}
	}
	/* Progress until our last send completed: rendezvous transfers
	 * (tcp;ofi_rxm, large sizes) need the sender's progress. */
	for (uint64_t t0 = bench_fabric_now_ns();
	     r->tx_done < total && bench_fabric_now_ns() - t0 < 2000000000u;) {
		raw_wait(r, NULL);
	}
}

int bench_fabric_raw_child(const struct bench_fabric_child *a)
{
	static struct raw r;
	uint16_t me = a->port[a->role == 1 ? 0 : 1];
	uint16_t other = a->port[a->role == 1 ? 1 : 0];
	uint64_t *lat = calloc(a->iters, sizeof(*lat));
	int rv;

	r.spin = a->spin;
	rv = lat != NULL ? raw_getinfo(&r, a->prov, a->rma, a->host, me)
			 : FR_NOMEM;
	if (rv != 0) {
		fprintf(stderr, "bench raw: provider %s%s not usable here\n",
			a->prov, a->rma ? " with RMA" : "");
		goto err;
	}
	rv = raw_open(&r);
	if (rv != 0) {
		goto err;
	}
	if (r.shm) {
		raw_shm_suffix(&r);
	}
	/* The peer may not exist yet (shm needs it to): retry. */
	for (uint64_t t0 = bench_fabric_now_ns();
	     (rv = raw_av_insert(&r, a->host, other)) == FR_AGAIN;) {
		if (bench_fabric_now_ns() - t0 > 10000000000u) {
			break;
		}
		usleep(1000);
	}
	if (rv != 0) {
		fprintf(stderr, "bench raw: peer %s:%u not insertable (%d)\n",
			a->host, (unsigned)other, rv);
		goto err;
	}
	raw_exchange(&r);
	raw_pingpong(&r, a, lat);
	usleep(20000);
	if (a->role == 1) {
		bench_fabric_print_lat(lat, a->iters, 0, 0);
	}
	free(lat);
	raw_close(&r);
	return 0;
err:
	free(lat);
	raw_close(&r);
	return 1;
}
