/* trace_fab.c — a replay engine's operations on fabraft over RESP: the
 * storage node it registers, one KVC.LOOKUP per request, and the two-phase
 * put (KVC.ALLOC, then KVC.PUT ns RES).  The one file that knows the
 * client library (fabraft_respc today). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_trace.h"
#include "resp_client.h"

#define ALLOC_CHUNK 256 /* KVC.ALLOC takes at most 256 sizes */
#define LEASE_MS    "60000"
#define TOKENS	    "512" /* TR_TOKENS_PER */
/* Connect and reply deadline: generous, since a write that times out is
 * sent again (a slow reply must not turn into a duplicate ALLOC). */
#define REPLY_MS 5000

/* An engine's connection and argument scratch space. */
struct fab {
	struct respc_conn c; /* to cfg.addrs[e->addr]; fd -1 */
	char (*hash)[40];    /* TR_IDS_MAX hash arguments */
	char (*num)[3][24];  /* per block: rid, tokens, offset */
	const char *argv[8 + 5 * TR_IDS_MAX]; /* the command */
	char size[24];			      /* block bytes, decimal */
	char node[12];			      /* the engine's node id */
};

static void nap_ms(int ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};

	nanosleep(&ts, NULL);
}

static bool redirect(const struct respc_reply *r)
{
	return r->type == '-' && r->str != NULL &&
	       (strncmp(r->str, "MOVED", 5) == 0 ||
		strncmp(r->str, "TRYAGAIN", 8) == 0);
}

/* Send @argc arguments and read the reply into @r, reconnecting (to the
 * next endpoint) and retrying through leader changes for cfg.retry_ms.
 * 0 with @r filled (maybe an error reply), or -1. */
static int cmd(struct tr_engine *e, int argc, struct respc_reply *r)
{
	const struct tr_cfg *cfg = &e->rp->cfg;
	struct fab *f = e->conn;
	uint64_t t0 = tr_now_ns();
	int (*connect)(struct respc_conn *, const char *, int) =
	    cfg->connect != NULL ? cfg->connect : respc_connect;

	while (tr_now_ns() - t0 < (uint64_t)cfg->retry_ms * 1000000ull) {
		if (f->c.fd < 0 &&
		    connect(&f->c, cfg->addrs[e->addr], REPLY_MS) != 0) {
			snprintf(e->stats.error, sizeof(e->stats.error),
				 "%s: %s", cfg->addrs[e->addr], f->c.err);
			respc_close(&f->c);
		} else {
			e->stats.round_trips++;
			if (respc_command(&f->c, r, argc, f->argv) == 0 &&
			    !redirect(r)) {
				return 0;
			}
			respc_reply_free(r);
			respc_close(&f->c);
		}
		e->addr = (e->addr + 1) % cfg->n_addrs;
		e->stats.retries++;
		nap_ms(20);
	}
	return -1;
}

/* Record an error reply (or a reply of the wrong shape). */
static int refused(struct tr_engine *e, const char *what,
		   const struct respc_reply *r)
{
	snprintf(e->stats.error, sizeof(e->stats.error), "%s: %s", what,
		 r->type == '-' && r->str != NULL ? r->str : "bad reply");
	return -1;
}

static int fab_open(struct tr_engine *e)
{
	struct fab *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->hash = calloc(TR_IDS_MAX, 40)) == NULL ||
	    (f->num = calloc(TR_IDS_MAX, sizeof(*f->num))) == NULL) {
		if (f != NULL) {
			free(f->hash);
		}
		free(f);
		snprintf(e->stats.error, sizeof(e->stats.error),
			 "out of memory");
		return -1;
	}
	f->c.fd = -1;
	snprintf(f->size, sizeof(f->size), "%" PRIu64, e->rp->cfg.block_bytes);
	snprintf(f->node, sizeof(f->node), "%d", e->node_id);
	e->conn = f;
	return 0;
}

static int fab_join(struct tr_engine *e)
{
	const struct tr_cfg *cfg = &e->rp->cfg;
	struct fab *f = e->conn;
	struct respc_reply r;
	char addr[32];
	char numa[8];
	char bytes[24];
	int rv;

	snprintf(addr, sizeof(addr), "engine-%d:7000", e->index);
	snprintf(numa, sizeof(numa), "%d", e->index % 256);
	snprintf(bytes, sizeof(bytes), "%" PRIu64,
		 cfg->capacity_blocks ? cfg->capacity_blocks * cfg->block_bytes
				      : TR_UNLIMITED);
	f->argv[0] = "KVC.NODE.ADD";
	f->argv[1] = f->node;
	f->argv[2] = addr;
	f->argv[3] = numa;
	f->argv[4] = "dram";
	f->argv[5] = bytes;
	if (cmd(e, 6, &r) != 0) {
		return -1;
	}
	rv = r.type == '+' ? 0 : refused(e, "KVC.NODE.ADD", &r);
	respc_reply_free(&r);
	return rv;
}

static int fab_lookup(struct tr_engine *e, const struct tr_req *r,
		      uint32_t *hits)
{
	const struct tr_cfg *cfg = &e->rp->cfg;
	const uint64_t *ids = cfg->trace->ids + r->first;
	struct fab *f = e->conn;
	struct respc_reply rep;
	uint64_t t0;
	int argc = 0;
	int rv = -1;

	f->argv[argc++] = "KVC.LOOKUP";
	f->argv[argc++] = cfg->ns;
	for (uint32_t i = 0; i < r->n; i++) {
		tr_hash(ids[i], f->hash[i]);
		f->argv[argc++] = f->hash[i];
	}
	if (cfg->touch) {
		f->argv[argc++] = "TOUCH";
	}
	t0 = tr_now_ns();
	if (cmd(e, argc, &rep) != 0) {
		return -1;
	}
	if (rep.type == '*' && rep.n != SIZE_MAX && rep.n <= r->n &&
	    tr_record(&e->stats.lookup_us, e->stats.lookups,
		      tr_now_ns() - t0) == 0) {
		e->stats.lookups++;
		*hits = (uint32_t)rep.n;
		rv = 0;
	} else {
		refused(e, "KVC.LOOKUP", &rep);
	}
	respc_reply_free(&rep);
	return rv;
}

/* KVC.ALLOC of @n blocks (<= ALLOC_CHUNK) NEAR the engine's node: their
 * reservation ids into f->num[at..at+n-1][0] ("" for a size refused for
 * want of space; *@no_space is then set).  0 or -1. */
static int alloc_chunk(struct tr_engine *e, uint32_t at, uint32_t n,
		       bool *no_space)
{
	struct fab *f = e->conn;
	struct respc_reply r;
	int argc = 0;
	int rv = 0;

	f->argv[argc++] = "KVC.ALLOC";
	f->argv[argc++] = e->rp->cfg.ns;
	for (uint32_t i = 0; i < n; i++) {
		f->argv[argc++] = f->size;
	}
	f->argv[argc++] = "NEAR";
	f->argv[argc++] = f->node;
	f->argv[argc++] = "LEASE";
	f->argv[argc++] = LEASE_MS;
	if (cmd(e, argc, &r) != 0) {
		return -1;
	}
	if (r.type != '*' || r.n != n) {
		rv = refused(e, "KVC.ALLOC", &r);
	}
	for (uint32_t i = 0; rv == 0 && i < n; i++) {
		const struct respc_reply *x = &r.elem[i];

		f->num[at + i][0][0] = '\0';
		if (x->type == '-' && x->str != NULL &&
		    strstr(x->str, "no space") != NULL) {
			*no_space = true;
			continue;
		}
		if (x->type != '*' || x->n < 7 || x->elem[0].type != ':') {
			rv = refused(e, "KVC.ALLOC", x);
			break;
		}
		snprintf(f->num[at + i][0], sizeof(f->num[0][0]), "%" PRId64,
			 x->elem[0].integer);
		e->stats.victims +=
		    x->elem[6].type == '*' && x->elem[6].n != SIZE_MAX
			? x->elem[6].n
			: 0;
	}
	respc_reply_free(&r);
	return rv;
}

/* KVC.REVOKE the reservations of the first @m blocks that got one (the
 * request's blocks do not all fit: it is not cached, as an engine out of
 * memory would do). */
static int revoke_rids(struct tr_engine *e, uint32_t m)
{
	struct fab *f = e->conn;
	struct respc_reply r;
	int argc = 0;
	int rv;

	f->argv[argc++] = "KVC.REVOKE";
	for (uint32_t i = 0; i < m; i++) {
		if (f->num[i][0][0] != '\0') {
			f->argv[argc++] = f->num[i][0];
		}
	}
	if (argc == 1) {
		return 0;
	}
	if (cmd(e, argc, &r) != 0) {
		return -1;
	}
	rv = r.type == ':' ? 0 : refused(e, "KVC.REVOKE", &r);
	respc_reply_free(&r);
	return rv;
}

/* KVC.PUT ns RES rid h parent tokens offset ... for blocks @from.. */
static int put_res(struct tr_engine *e, const struct tr_req *r, uint32_t from)
{
	const struct tr_cfg *cfg = &e->rp->cfg;
	struct fab *f = e->conn;
	struct respc_reply rep;
	int argc = 0;
	int rv;

	f->argv[argc++] = "KVC.PUT";
	f->argv[argc++] = cfg->ns;
	f->argv[argc++] = "RES";
	for (uint32_t i = from; i < r->n; i++) {
		uint64_t slot = e->next_offset++;

		if (cfg->capacity_blocks != 0) {
			slot %= cfg->capacity_blocks;
		}
		snprintf(f->num[i][2], sizeof(f->num[i][2]), "%" PRIu64,
			 slot * cfg->block_bytes);
		f->argv[argc++] = f->num[i - from][0];
		f->argv[argc++] = f->hash[i];
		f->argv[argc++] = i == 0 ? "-" : f->hash[i - 1];
		f->argv[argc++] = TOKENS;
		f->argv[argc++] = f->num[i][2];
	}
	if (cmd(e, argc, &rep) != 0) {
		return -1;
	}
	rv = rep.type == ':' ? 0 : refused(e, "KVC.PUT RES", &rep);
	respc_reply_free(&rep);
	return rv;
}

static int fab_put(struct tr_engine *e, const struct tr_req *r, uint32_t from)
{
	uint32_t m = r->n - from;
	uint64_t t0 = tr_now_ns();
	bool no_space = false;

	/* The hashes are still in f->hash from this request's lookup. */
	for (uint32_t at = 0; at < m; at += ALLOC_CHUNK) {
		uint32_t k = m - at < ALLOC_CHUNK ? m - at : ALLOC_CHUNK;

		if (alloc_chunk(e, at, k, &no_space) != 0) {
			return -1;
		}
	}
	if (no_space) {
		e->stats.no_space++;
		return revoke_rids(e, m) == 0 ? 1 : -1;
	}
	if (put_res(e, r, from) != 0 ||
	    tr_record(&e->stats.put_us, e->stats.puts, tr_now_ns() - t0) != 0) {
		return -1;
	}
	e->stats.puts++;
	return 0;
}

static void fab_close(struct tr_engine *e)
{
	struct fab *f = e->conn;

	if (f != NULL) {
		respc_close(&f->c);
		free(f->hash);
		free(f->num);
		free(f);
		e->conn = NULL;
	}
}

const struct tr_ops tr_fab_ops = {
    .name = "fabraft",
    .open = fab_open,
    .join = fab_join,
    .lookup = fab_lookup,
    .put = fab_put,
    .close = fab_close,
};
