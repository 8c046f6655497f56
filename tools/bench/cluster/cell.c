/* cell.c — one cell of the cluster benchmark: start the
 * store, drive it for warm-up + duration, snapshot the server counters at
 * the window's edges, stop the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_cluster.h"
#include "cell.h"

/* Counter snapshots of one cell. */
struct snap {
	const struct bc_server *sv; /* the store (borrowed) */
	struct bc_cell_ctx *ctx;    /* progress line state (borrowed) */
	bool have0;		    /* window start taken */
	bool have1;		    /* window end taken */
	double cpu0;		    /* server CPU at start */
	double cpu1;		    /* and at end */
	double self0;		    /* client CPU at start */
	double self1;		    /* and at end */
	uint64_t peer0;		    /* peer bytes at start */
	uint64_t peer1;		    /* and at end */
	bool peer_ok;		    /* both peer readings worked */
	uint64_t fsync0;	    /* log fsyncs at start */
	uint64_t fsync1;	    /* and at end */
	bool fsync_ok;		    /* both fsync readings worked */
	uint64_t t0;		    /* when the start snapshot was taken */
	uint64_t t1;		    /* and the end one */
	bool stages;		    /* --breakdown: read the stages */
	struct bc_stages st[2];	    /* leader's, at start and end */
	double wal_bytes[2];	    /* leader's log bytes then */
	double wal_batches[2];	    /* and its log batches */
};

/* --breakdown: the leader's stage histograms and log counters now. */
static void stage_snap(struct snap *s, int k)
{
	const struct bc_server *sv = s->sv;
	char *page;

	if (!s->stages) {
		return;
	}
	page = bc_http_get(sv->metrics_port[sv->leader], "/metrics", 2000);
	if (page == NULL) {
		return; /* no stages: the medians say so */
	}
	bc_stages_parse(page, &s->st[k]);
	s->wal_bytes[k] = bc_prom_sum(page, "fabraft_wal_bytes_total");
	s->wal_batches[k] = bc_prom_sum(page, "fabraft_wal_batches_total");
	free(page);
}

/* --breakdown: the window's medians and the floor of its write size. */
static void stage_result(const struct snap *s, const char *root,
			 struct bc_result *r)
{
	double batches = s->wal_batches[1] - s->wal_batches[0];

	if (!s->stages || !r->ok) {
		return;
	}
	bc_stages_medians(&s->st[0], &s->st[1], r);
	if (batches > 0) {
		r->wal_write_bytes =
		    (uint32_t)((s->wal_bytes[1] - s->wal_bytes[0]) / batches +
			       0.5);
	}
	bc_breakdown_floor(root, r);
}

static void sleep_until(uint64_t t_ns)
{
	uint64_t now = bc_now_ns();

	if (t_ns > now) {
		struct timespec ts = {(time_t)((t_ns - now) / 1000000000ull),
				      (long)((t_ns - now) % 1000000000ull)};

		nanosleep(&ts, NULL);
	}
}

void bc_load_wait(struct bc_load *ld)
{
	uint64_t now;

	while (!bc_stop && (now = bc_now_ns()) < ld->t_end_ns) {
		uint64_t next = now + 250000000ull;

		ld->tick(ld, now);
		if (now < ld->t_start_ns && next > ld->t_start_ns) {
			next = ld->t_start_ns;
		}
		if (next > ld->t_end_ns) {
			next = ld->t_end_ns;
		}
		sleep_until(next);
	}
	ld->tick(ld, bc_now_ns());
}

static void tick(struct bc_load *ld, uint64_t now)
{
	struct snap *s = ld->tick_ctx;

	if (!s->have0 && now >= ld->t_start_ns) {
		s->have0 = true;
		s->t0 = now;
		s->cpu0 = bc_server_cpu_s(s->sv);
		s->self0 = bc_self_cpu_s();
		s->peer_ok = bc_server_peer_bytes(s->sv, &s->peer0);
		s->fsync_ok = bc_server_fsyncs(s->sv, &s->fsync0);
		stage_snap(s, 0);
	}
	if (!s->have1 && now >= ld->t_end_ns) {
		s->have1 = true;
		s->t1 = now;
		s->cpu1 = bc_server_cpu_s(s->sv);
		s->self1 = bc_self_cpu_s();
		s->peer_ok =
		    s->peer_ok && bc_server_peer_bytes(s->sv, &s->peer1);
		s->fsync_ok =
		    s->fsync_ok && bc_server_fsyncs(s->sv, &s->fsync1);
		stage_snap(s, 1);
	}
	bc_cell_progress(s->ctx, ld, now);
}

static int start(const struct bc_opts *o, const char *root, struct bc_result *r,
		 struct bc_server *sv)
{
	const struct bc_spec *s = &r->spec;
	char *e = r->error;
	size_t cap = sizeof(r->error);

	switch (s->sys) {
	case BC_FABRAFT:
		if (bc_fab_start(o, s, root, sv, e, cap) != 0) {
			return -1;
		}
		bc_fab_info(sv, r);
		/* The cell is only what it says if the daemons run the
		 * asked-for path. */
		if (strcmp(r->rma_seen,
			   s->path == BC_TCP_MSG || s->path == BC_SHM_MSG
			       ? "off"
			       : "on") != 0) {
			snprintf(e, cap, "asked for %s, daemon says rma:%s",
				 bc_path_name(s->path), r->rma_seen);
			return -1;
		}
		if (s->wl == BC_KVC && bc_fab_kvc_setup(sv, e, cap) != 0) {
			return -1;
		}
		e[0] = '\0';
		return 0;
	case BC_ETCD:
		return bc_etcd_start(s, root, sv, e, cap);
	default:
		return bc_redis_start(s, root, sv, e, cap);
	}
}

int bc_cell_run(const struct bc_opts *o, const char *root, struct bc_result *r,
		struct bc_cell_ctx *ctx)
{
	const struct bc_spec *s = &r->spec;
	struct bc_server sv;
	struct snap sn;
	struct bc_load ld;
	uint64_t keys_total;
	int killed;
	int rv;

	memset(&sv, 0, sizeof(sv));
	memset(&sn, 0, sizeof(sn));
	memset(&ld, 0, sizeof(ld));
	if (start(o, root, r, &sv) != 0) {
		bc_server_stop(&sv, o->keep);
		return -1;
	}
	/* Bounded key space: at most 50,000 keys (fabraft's KV table holds
	 * 65,536) and 64 MiB of values, whatever the value size. */
	keys_total = (64ull << 20) / s->value_bytes;
	keys_total = keys_total > 50000 ? 50000 : keys_total;
	ld.spec = s;
	ld.port = sv.client_port[sv.leader];
	ld.threads = o->client_threads > 0 ? o->client_threads : 2;
	ld.threads = ld.threads > s->clients ? s->clients : ld.threads;
	ld.keys_per_client = (uint32_t)(keys_total / (uint64_t)s->clients);
	ld.keys_per_client += ld.keys_per_client == 0;
	ld.chains_per_client = (uint32_t)(4096 / s->clients);
	ld.chains_per_client += ld.chains_per_client == 0;
	ld.res = r;
	ld.tick = tick;
	ld.tick_ctx = &sn;
	sn.sv = &sv;
	sn.ctx = ctx;
	sn.stages = o->breakdown && s->sys == BC_FABRAFT;
	ld.t_start_ns = bc_now_ns() + (uint64_t)(o->warmup_s * 1e9);
	ld.t_end_ns = ld.t_start_ns + (uint64_t)(o->duration_s * 1e9);
	rv = s->sys == BC_ETCD ? bc_http_run(&ld) : bc_resp_run(&ld);
	if (rv == 0 && !(sn.have0 && sn.have1)) {
		snprintf(r->error, sizeof(r->error), "interrupted");
		rv = -1;
	}
	if (rv == 0) {
		r->seconds = (double)(ld.t_end_ns - ld.t_start_ns) / 1e9;
		r->server_cpu_s = sn.cpu1 - sn.cpu0;
		r->client_cpu_s = sn.self1 - sn.self0;
		r->peer_bytes_known = sn.peer_ok;
		r->peer_bytes = sn.peer_ok ? sn.peer1 - sn.peer0 : 0;
		r->fsyncs_known = sn.fsync_ok;
		r->fsyncs = sn.fsync_ok ? sn.fsync1 - sn.fsync0 : 0;
		r->ok = r->ops[BC_WRITE] + r->ops[BC_READ] > 0;
		if (!r->ok && r->error[0] == '\0') {
			snprintf(r->error, sizeof(r->error),
				 "no operation completed");
		}
	}
	killed = bc_server_stop(&sv, o->keep);
	if (killed > 0 && s->sys != BC_ETCD && r->error[0] == '\0') {
		snprintf(r->error, sizeof(r->error),
			 "%d server process(es) ignored SIGTERM for 5 s",
			 killed);
	}
	/* After the stop: the floor is measured on a quiet disk. */
	stage_result(&sn, root, r);
	return r->ok ? 0 : -1;
}
