/* trace_fab.c — a replay engine's operations on fabraft: the storage node
 * it registers, one KVC.LOOKUP per request, and the two-phase put
 * (KVC.ALLOC, then KVC.PUT ns RES).  The one file that knows the client
 * library: fabraft_client (core/client), one client per engine, through
 * its generic fabraft_command() (the arguments are built here once per
 * request; the library finds the leader, follows -MOVED and retries within
 * its deadline, never resending a write of unknown outcome). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_trace.h"
#include "fabraft_client.h"

#define ALLOC_CHUNK 256 /* KVC.ALLOC takes at most 256 sizes */
#define LEASE_MS    "60000"
#define TOKENS	    "512" /* TR_TOKENS_PER */
/* One reply's deadline: generous, since a write whose reply is late has an
 * unknown outcome (FR_UNKNOWN: counted as an error, not sent again). */
#define REPLY_MS 5000

/* An engine's client and argument scratch space. */
struct fab {
	struct fabraft_client *fc;	      /* the engine's client */
	char (*hash)[40];		      /* TR_IDS_MAX hash arguments */
	char (*num)[3][24];		      /* per block: rid, -, offset */
	const char *argv[8 + 5 * TR_IDS_MAX]; /* the command */
	char size[24];			      /* block bytes, decimal */
	char node[12];			      /* the engine's node id */
};

/* Send @argc arguments of f->argv; the reply (maybe an error reply) into
 * @r.  0, or -1 with the client's reason in e->stats.error. */
static int cmd(struct tr_engine *e, int argc, struct fabraft_reply *r)
{
	struct fab *f = e->conn;

	e->stats.round_trips++;
	if (fabraft_command(f->fc, argc, f->argv, NULL, r) != 0) {
		snprintf(e->stats.error, sizeof(e->stats.error), "%s: %s",
			 f->argv[0], fabraft_errmsg(f->fc));
		return -1;
	}
	return 0;
}

/* Record an error reply (or a reply of the wrong shape). */
static int refused(struct tr_engine *e, const char *what,
		   const struct fabraft_reply *r)
{
	snprintf(e->stats.error, sizeof(e->stats.error), "%s: %s", what,
		 r->type == '-' && r->str != NULL ? r->str : "bad reply");
	return -1;
}

/* The engine's client: every endpoint, the preferred one first. */
static int client_open(struct tr_engine *e, struct fab *f)
{
	const struct tr_cfg *cfg = &e->rp->cfg;
	struct fabraft_options o;
	char eps[TR_ADDRS_MAX * 81] = "";
	size_t l = 0;

	for (int k = 0; k < cfg->n_addrs; k++) {
		int i = (cfg->first_addr + k) % cfg->n_addrs;

		l += (size_t)snprintf(eps + l, sizeof(eps) - l, "%s%s",
				      k ? "," : "", cfg->addrs[i]);
	}
	fabraft_options_default(&o);
	o.endpoints = eps;
	o.password =
	    cfg->password != NULL && cfg->password[0] ? cfg->password : NULL;
	o.deadline_ms = cfg->retry_ms;
	o.io_timeout_ms = REPLY_MS;
	if (fabraft_open(&f->fc, &o, e->stats.error, sizeof(e->stats.error)) !=
	    0) {
		return -1;
	}
	return 0;
}

static int fab_open(struct tr_engine *e)
{
	struct fab *f = calloc(1, sizeof(*f));

	e->conn = f;
	if (f == NULL || (f->hash = calloc(TR_IDS_MAX, 40)) == NULL ||
	    (f->num = calloc(TR_IDS_MAX, sizeof(*f->num))) == NULL) {
		snprintf(e->stats.error, sizeof(e->stats.error),
			 "out of memory");
		return -1;
	}
	snprintf(f->size, sizeof(f->size), "%" PRIu64, e->rp->cfg.block_bytes);
	snprintf(f->node, sizeof(f->node), "%d", e->node_id);
	return client_open(e, f);
}

static int fab_join(struct tr_engine *e)
{
	const struct tr_cfg *cfg = &e->rp->cfg;
	struct fab *f = e->conn;
	struct fabraft_reply r;
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
	fabraft_reply_free(&r);
	return rv;
}

static int fab_lookup(struct tr_engine *e, const struct tr_req *r,
		      uint32_t *hits)
{
	const struct tr_cfg *cfg = &e->rp->cfg;
	const uint64_t *ids = cfg->trace->ids + r->first;
	struct fab *f = e->conn;
	struct fabraft_reply rep;
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
	fabraft_reply_free(&rep);
	return rv;
}

/* KVC.ALLOC of @n blocks (<= ALLOC_CHUNK) NEAR the engine's node: their
 * reservation ids into f->num[at..at+n-1][0] ("" for a size refused for
 * want of space; *@no_space is then set).  0 or -1. */
static int alloc_chunk(struct tr_engine *e, uint32_t at, uint32_t n,
		       bool *no_space)
{
	struct fab *f = e->conn;
	struct fabraft_reply r;
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
		const struct fabraft_reply *x = &r.elem[i];

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
	fabraft_reply_free(&r);
	return rv;
}

/* KVC.REVOKE the reservations of the first @m blocks that got one (the
 * request's blocks do not all fit: it is not cached, as an engine out of
 * memory would do). */
static int revoke_rids(struct tr_engine *e, uint32_t m)
{
	struct fab *f = e->conn;
	struct fabraft_reply r;
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
	fabraft_reply_free(&r);
	return rv;
}

/* Give blocks @from.. of @r their offsets on the engine's node. */
static void offsets(struct tr_engine *e, const struct tr_req *r, uint32_t from)
{
	const struct tr_cfg *cfg = &e->rp->cfg;
	struct fab *f = e->conn;

	for (uint32_t i = from; i < r->n; i++) {
		uint64_t slot = e->next_offset++;

		if (cfg->capacity_blocks != 0) {
			slot %= cfg->capacity_blocks;
		}
		snprintf(f->num[i][2], sizeof(f->num[i][2]), "%" PRIu64,
			 slot * cfg->block_bytes);
	}
}

/* Append "rid h parent tokens offset" of block @i (its reservation id at
 * f->num[i - from][0]) to f->argv at @argc; the new argc. */
static int block_args(struct fab *f, uint32_t i, uint32_t from, int argc)
{
	f->argv[argc++] = f->num[i - from][0];
	f->argv[argc++] = f->hash[i];
	f->argv[argc++] = i == 0 ? "-" : f->hash[i - 1];
	f->argv[argc++] = TOKENS;
	f->argv[argc++] = f->num[i][2];
	return argc;
}

static bool already_stored(const struct fabraft_reply *r)
{
	return r->type == '-' && r->str != NULL &&
	       strstr(r->str, "already stored") != NULL;
}

/* The slow path of put_res(): one KVC.PUT ns RES per block.  A block
 * already stored on that node and tier (a later block of a chain whose
 * earlier block was evicted, which the lookup could not see, or one
 * another engine stored there meanwhile) is skipped and its reservation
 * revoked. */
static int put_each(struct tr_engine *e, const struct tr_req *r, uint32_t from)
{
	struct fab *f = e->conn;
	struct fabraft_reply rep;
	int rv = 0;

	f->argv[0] = "KVC.PUT";
	f->argv[1] = e->rp->cfg.ns;
	f->argv[2] = "RES";
	for (uint32_t i = from; rv == 0 && i < r->n; i++) {
		if (cmd(e, block_args(f, i, from, 3), &rep) != 0) {
			return -1;
		}
		if (rep.type == ':') {
			f->num[i - from][0][0] = '\0'; /* consumed */
		} else if (already_stored(&rep)) {
			e->stats.already_stored++;
		} else {
			rv = refused(e, "KVC.PUT RES", &rep);
		}
		fabraft_reply_free(&rep);
	}
	return revoke_rids(e, r->n - from) == 0 ? rv : -1;
}

/* KVC.PUT ns RES rid h parent tokens offset ... for blocks @from.. */
static int put_res(struct tr_engine *e, const struct tr_req *r, uint32_t from)
{
	struct fab *f = e->conn;
	struct fabraft_reply rep;
	int argc = 3;
	int rv;

	offsets(e, r, from);
	f->argv[0] = "KVC.PUT";
	f->argv[1] = e->rp->cfg.ns;
	f->argv[2] = "RES";
	for (uint32_t i = from; i < r->n; i++) {
		argc = block_args(f, i, from, argc);
	}
	if (cmd(e, argc, &rep) != 0) {
		return -1;
	}
	if (rep.type == ':') {
		rv = 0;
	} else if (already_stored(&rep)) {
		rv = put_each(e, r, from); /* the batch changed nothing */
	} else {
		rv = refused(e, "KVC.PUT RES", &rep);
	}
	fabraft_reply_free(&rep);
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
	struct fabraft_client_stats st;

	if (f != NULL) {
		if (f->fc != NULL) {
			fabraft_client_stats(f->fc, &st);
			e->stats.retries += st.retries;
			fabraft_close(f->fc);
		}
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
