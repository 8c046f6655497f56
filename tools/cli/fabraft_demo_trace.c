/* fabraft_demo_trace.c — the production-trace part of `fabraft demo`:
 * engines replay a slice of Mooncake's conversation trace on the demo
 * cluster while the leader is killed, then report hits and latencies. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_trace.h"
#include "fabraft_cli.h"

struct cl_trace {
	struct tr_trace trace; /* the loaded slice */
	struct tr_replay rp;   /* the running replay */
	struct tr_stats st;    /* merged, after the join */
	double seconds;	       /* replay time */
	int engines;	       /* engines */
	bool joined;	       /* st is filled */
};

struct cl_trace *cl_trace_start(const struct cl *c, int leader,
				const char *path, int requests, int engines)
{
	struct cl_trace *t = calloc(1, sizeof(*t));
	struct tr_cfg cfg;
	char err[512];

	if (t == NULL) {
		return NULL;
	}
	if (path == NULL) {
		path = tr_default_trace();
	}
	if (tr_trace_load(path, (uint32_t)requests, &t->trace, err,
			  sizeof(err)) != 0) {
		printf("  trace replay skipped: %s\n", err);
		free(t);
		return NULL;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.trace = &t->trace;
	cfg.ops = &tr_fab_ops;
	cfg.n_addrs = c->n;
	for (int i = 0; i < c->n; i++) {
		snprintf(cfg.addrs[i], sizeof(cfg.addrs[i]), "%s",
			 c->client[i]);
	}
	cfg.first_addr = leader >= 0 ? leader : 0;
	cfg.password = cl_password;
	cfg.engines = engines;
	cfg.node_base = 101;
	cfg.block_bytes = 64ull << 20;
	cfg.pause_at = t->trace.n / 2;
	snprintf(cfg.ns, sizeof(cfg.ns), "llama3-8b:bf16:bs512");
	t->engines = engines;
	printf("  replaying %u requests (%zu blocks) of the Mooncake "
	       "conversation trace with %d\n  inference engines (storage "
	       "nodes 101..%d): KVC.LOOKUP, KVC.ALLOC, KVC.PUT RES\n",
	       t->trace.n, t->trace.n_ids, engines, 100 + engines);
	if (tr_replay_start(&t->rp, &cfg, err, sizeof(err)) != 0) {
		printf("  trace replay failed to start: %s\n", err);
		tr_trace_free(&t->trace);
		free(t);
		return NULL;
	}
	return t;
}

void cl_trace_pause(struct cl_trace *t)
{
	if (t != NULL && !tr_replay_wait_paused(&t->rp, 60000)) {
		printf("  (trace replay not at its half after 60 s)\n");
	}
}

void cl_trace_resume(struct cl_trace *t)
{
	if (t != NULL) {
		tr_replay_release(&t->rp);
	}
}

void cl_trace_finish(struct cl_trace *t)
{
	if (t != NULL && !t->joined) {
		tr_replay_release(&t->rp);
		tr_replay_join(&t->rp, &t->st, &t->seconds);
		t->joined = true;
	}
}

void cl_trace_print(const struct cl_trace *t)
{
	struct tr_stats s;

	if (t == NULL || !t->joined) {
		return;
	}
	s = t->st; /* tr_quantile sorts the latencies in place */
	printf("  %-38s %" PRIu64 " requests, %d engines, %.1f s\n",
	       "trace replay (Mooncake conversation)", s.requests, t->engines,
	       t->seconds);
	printf("  %-38s %.1f%% (%" PRIu64 " of %" PRIu64 " blocks)\n",
	       "trace prefix hit ratio",
	       s.blocks ? 100.0 * (double)s.hit_blocks / (double)s.blocks : 0,
	       s.hit_blocks, s.blocks);
	printf("  %-38s p50 %.0f us, p99 %.0f us (%" PRIu64 ")\n",
	       "trace KVC.LOOKUP latency",
	       tr_quantile(s.lookup_us, s.lookups, 0.5),
	       tr_quantile(s.lookup_us, s.lookups, 0.99), s.lookups);
	printf("  %-38s p50 %.0f us, p99 %.0f us (%" PRIu64 ")\n",
	       "trace put latency (ALLOC + PUT RES)",
	       tr_quantile(s.put_us, s.puts, 0.5),
	       tr_quantile(s.put_us, s.puts, 0.99), s.puts);
	printf("  %-38s %" PRIu64 " / %" PRIu64 "%s%s\n",
	       "trace failed / retried operations", s.errors, s.retries,
	       s.errors ? "  first: " : "", s.errors ? s.error : "");
}

void cl_trace_free(struct cl_trace *t)
{
	if (t != NULL) {
		cl_trace_finish(t);
		tr_stats_free(&t->st);
		tr_trace_free(&t->trace);
		free(t);
	}
}
