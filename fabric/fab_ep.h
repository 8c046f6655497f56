/* fab_ep.h — private: provider choice, endpoint, AV, CQ and MR plumbing. */
#ifndef FABRAFT_FAB_EP_H
#define FABRAFT_FAB_EP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>

/*
 * The one RDM endpoint of a node and what hangs off it.  fab.c owns one;
 * tools/bench/bench_fabric_raw.c does not use it (its raw mode is bare
 * libfabric so that the comparison is honest).
 */
struct fab__ep {
	struct fi_info *info;	   /* owned; the chosen provider entry */
	struct fid_fabric *fabric; /* owned */
	struct fid_domain *domain; /* owned */
	struct fid_av *av;	   /* owned; one entry per peer */
	struct fid_cq *cq;	   /* owned; tx, rx and remote writes */
	struct fid_ep *ep;	   /* owned */
	int wait_fd;		   /* CQ wait fd, -1 when none */
	bool rma;		   /* FI_RMA granted and wanted */
	bool shm;		   /* FI_ADDR_STR naming (shm) */
	bool need_desc;		   /* FI_MR_LOCAL: pass local descriptors */
	bool rx_cq_data;	   /* FI_RX_CQ_DATA: remote data eats a rx */
	uint64_t key_next;	   /* next requested key (non-PROV_KEY) */
	char shm_suffix[32];	   /* what shm appends to a name (":0:0") */
};

/** Hints for the hint set known to work here (docs/transport.md).  Caller
 * owns the result (fi_freeinfo). */
struct fi_info *fab__prov_hints(bool want_rma);

/**
 * Pick a provider entry for @name ("auto", "verbs", "tcp", "net", "shm",
 * "sockets") bound to @host:@port (shm: a name derived from both and
 * @shm_epoch, see fab__shm_name()).
 * @all_local says every peer lives on this host (auto may pick shm).
 * @rma: -1 auto, 0 off, 1 on.  On success *@out is owned by the caller.
 * Returns 0, FR_UNSUPPORTED (with the list of present providers in @errmsg)
 * or FR_INVALID.
 */
int fab__prov_select(const char *name, bool all_local, int rma,
		     const char *host, uint16_t port, uint64_t shm_epoch,
		     struct fi_info **out, bool *rma_on, char *errmsg);

/** True when @host names this machine (loopback or a local address). */
bool fab__host_is_local(const char *host);

/*
 * shm endpoint names: "fabraft.HOST.PORT.EPOCH".  Each start of a node takes
 * the next epoch (fab__shm_epoch_next()), so a restarted node never reuses
 * the name of its previous incarnation: libfabric 1.17's shm remaps a
 * known name in place when a new process connects under it and then
 * crashed in fi_cq_read (operations still pointing at the old mapping).
 * Peers find the newest epoch of a node in /dev/shm (fab__ep_shm_find()).
 */
void fab__shm_name(char *buf, size_t size, const char *host, uint16_t port,
		   uint64_t epoch);

/** Epoch for a new endpoint at @host:@port: the wall clock in
 * microseconds, or one more than the newest region of that address in
 * /dev/shm if that is larger.  (A cleanly closed endpoint removes its
 * region, so the directory alone does not say which epochs were used.) */
uint64_t fab__shm_epoch_next(const char *host, uint16_t port);

/** Remove the /dev/shm regions of @host:@port older than @epoch: earlier
 * incarnations of this node, dead since an address has one process.  Their
 * peers keep whatever they mapped; the files stop accumulating. */
void fab__shm_unlink_older(const char *host, uint16_t port, uint64_t epoch);

/** Open fabric, domain, AV, CQ (FI_WAIT_FD when possible) and the enabled
 * endpoint from @info (ownership moves to @e, also on failure). */
int fab__ep_open(struct fab__ep *e, struct fi_info *info, bool rma,
		 char *errmsg);
void fab__ep_close(struct fab__ep *e);

/** shm: false while the region file at @path is still being initialised by
 * its owner (libfabric 1.17's layout: its pid not yet written, see
 * fab_ep.c); true once it is, or when its layout is not 1.17's. */
bool fab__shm_region_ready(const char *path);

/** Resolve @host:@port and insert it into the AV (shm: the region of
 * @shm_epoch; ignored by other providers).  Returns 0, FR_NOTFOUND (name
 * does not resolve) or FR_FABRIC. */
int fab__ep_av_insert(struct fab__ep *e, const char *host, uint16_t port,
		      uint64_t shm_epoch, fi_addr_t *out, char *errmsg);

/** shm: true when the peer at @host:@port has a region that has existed
 * for at least @settled_ms and that its owner has finished initialising
 * (fab__shm_region_ready()); *@epoch is then the newest such region's
 * epoch. */
bool fab__ep_shm_find(const struct fab__ep *e, const char *host, uint16_t port,
		      uint32_t settled_ms, uint64_t *epoch);

/** Register @buf of @len bytes for @access (FI_SEND|FI_RECV|FI_WRITE|
 * FI_REMOTE_WRITE).  @buf is borrowed for the lifetime of *@mr. */
int fab__ep_mr_reg(struct fab__ep *e, void *buf, size_t len, uint64_t access,
		   struct fid_mr **mr, char *errmsg);

/** libfabric's negative -FI_E* to an FR_* code (STYLE §3). */
int fab__err(int fi_rv);

/** Write "what: fi_strerror" into @errmsg and return fab__err(@fi_rv). */
int fab__errmsg(char *errmsg, const char *what, int fi_rv);

#endif /* FABRAFT_FAB_EP_H */
