/* trace_main.c — `fabraft-bench trace`: load the trace, then for each
 * system start a fresh store, replay, stop it; print and save the results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_cluster.h"
#include "trace_bench.h"

static void loadavg(double l[3])
{
	FILE *f = fopen("/proc/loadavg", "r");

	l[0] = l[1] = l[2] = -1;
	if (f != NULL) {
		if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3) {
			l[0] = -1;
		}
		(void)fclose(f);
	}
}

/* Start @sys fresh under @root; its endpoints into @cfg.  0 or -1. */
static int start(const struct tr_opts *o, enum tr_system sys, const char *root,
		 struct bc_server *sv, struct tr_cfg *cfg, char *err,
		 size_t cap)
{
	struct bc_opts bo;
	struct bc_spec sp;
	int rv;

	memset(&bo, 0, sizeof(bo));
	memset(&sp, 0, sizeof(sp));
	snprintf(bo.bin, sizeof(bo.bin), "%s", o->bin);
	sp.sys = sys == TR_FABRAFT ? BC_FABRAFT : BC_ETCD;
	sp.path = (enum bc_path)o->path;
	sp.nodes = sys == TR_FABRAFT ? (int)o->nodes : 3;
	sp.fsync = o->fsync;
	rv = sys == TR_FABRAFT ? bc_fab_start(&bo, &sp, root, sv, err, cap)
			       : bc_etcd_start(&sp, root, sv, err, cap);
	if (rv != 0) {
		return -1;
	}
	cfg->n_addrs = sv->n;
	cfg->first_addr = sv->leader;
	for (int i = 0; i < sv->n; i++) {
		snprintf(cfg->addrs[i], sizeof(cfg->addrs[i]), "127.0.0.1:%d",
			 sv->client_port[i]);
	}
	return 0;
}

/* Wait for the replay, with a progress line on stderr. */
static void progress(struct tr_replay *rp, const char *name, uint32_t n)
{
	bool tty = isatty(2);
	uint64_t printed = 0;

	while (!bc_stop) {
		uint32_t done = __atomic_load_n(&rp->done, __ATOMIC_RELAXED);
		uint64_t now = bc_now_ns();
		double el = (double)(now - rp->t0_ns) / 1e9;

		if (done >= n || tr_replay_wait_paused(rp, 0)) {
			break;
		}
		if (now - printed > (tty ? 250000000ull : 5000000000ull)) {
			fprintf(stderr, "%s  %-8s %6u/%u requests %6.1f s%s",
				tty ? "\r" : "", name, done, n, el,
				tty ? "\033[K" : "\n");
			printed = now;
		}
		bc_sleep_ms(50);
	}
	if (tty) {
		fprintf(stderr, "\r\033[K");
	}
}

static void replay(const struct tr_opts *o, struct tr_cfg *cfg,
		   const struct bc_server *sv, struct tr_result *r)
{
	struct tr_replay rp;
	double cpu0;

	cpu0 = bc_server_cpu_s(sv);
	r->client_cpu_s = bc_self_cpu_s();
	if (tr_replay_start(&rp, cfg, r->error, sizeof(r->error)) != 0) {
		return;
	}
	progress(&rp, r->system, cfg->trace->n);
	tr_replay_join(&rp, &r->st, &r->seconds);
	r->server_cpu_s = bc_server_cpu_s(sv) - cpu0;
	r->client_cpu_s = bc_self_cpu_s() - r->client_cpu_s;
	r->ran = !bc_stop;
	if (r->st.errors != 0 && r->error[0] == '\0') {
		memcpy(r->error, r->st.error, sizeof(r->error));
	}
	(void)o;
}

static void run_system(const struct tr_opts *o, enum tr_system sys,
		       const char *root, const struct tr_trace *t,
		       struct tr_result *r)
{
	struct bc_server sv;
	struct tr_cfg cfg;

	memset(r, 0, sizeof(*r));
	memset(&cfg, 0, sizeof(cfg));
	memset(&sv, 0, sizeof(sv));
	r->system = sys == TR_FABRAFT ? "fabraft" : "etcd";
	if (sys == TR_ETCD && tr_etcd_ops.name == NULL) {
		snprintf(r->error, sizeof(r->error),
			 "built without libcurl: no etcd driver");
		return;
	}
	cfg.trace = t;
	cfg.ops = sys == TR_FABRAFT ? &tr_fab_ops : &tr_etcd_ops;
	cfg.engines = (int)o->engines;
	cfg.node_base = 1;
	cfg.speed = o->speed;
	cfg.capacity_blocks = sys == TR_FABRAFT ? o->capacity_blocks : 0;
	cfg.block_bytes = o->block_bytes;
	cfg.touch = o->touch;
	cfg.stop = &bc_stop;
	snprintf(cfg.ns, sizeof(cfg.ns), "%s", o->ns);
	fprintf(stderr, "trace: starting %s ...\n", r->system);
	if (start(o, sys, root, &sv, &cfg, r->error, sizeof(r->error)) == 0) {
		replay(o, &cfg, &sv, r);
	}
	if (sv.n > 0) {
		bc_server_stop(&sv, o->keep);
	}
	tr_summarize(r);
}

/* Load the trace and say what will run.  0, or the exit code. */
static int prepare(const struct tr_opts *o, struct tr_trace *t, double l[3])
{
	char err[512];
	char path[600];

	if (tr_trace_load(o->trace, o->requests, t, err, sizeof(err)) != 0) {
		fprintf(stderr, "fabraft-bench trace: %s\n", err);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/fabraftd", o->bin);
	if ((o->systems & (1u << TR_FABRAFT)) && access(path, X_OK) != 0) {
		fprintf(stderr,
			"fabraft-bench trace: no fabraftd next to "
			"this program (%s)\n",
			path);
		tr_trace_free(t);
		return 2;
	}
	loadavg(l);
	fprintf(stderr,
		"trace: %u requests, %zu blocks from %s; %u engine(s), %s; "
		"load average %.2f %.2f %.2f\n",
		t->n, t->n_ids, o->trace, o->engines,
		o->speed > 0 ? "paced by arrival times" : "max rate", l[0],
		l[1], l[2]);
	if (l[0] > 1.0) {
		fprintf(stderr,
			"trace: WARNING: load average %.2f is above "
			"1.0: other work shares the CPUs, figures "
			"will be noisy\n",
			l[0]);
	}
	if (o->capacity_blocks && (o->systems & (1u << TR_ETCD))) {
		fprintf(stderr, "trace: note: etcd has no allocator; "
				"--capacity-blocks applies to fabraft only\n");
	}
	return 0;
}

int bench_trace_main(int argc, char **argv)
{
	struct tr_opts o;
	struct tr_trace t;
	struct tr_result res[TR_SYSTEMS];
	const char *tmp = getenv("TMPDIR");
	char root[512];
	double load[3];
	int n = 0;
	int rv = tr_opts_parse(argc, argv, &o);
	int failed = 0;

	if (rv != 0) {
		return rv > 0 ? 0 : 2;
	}
	rv = prepare(&o, &t, load);
	if (rv != 0) {
		return rv;
	}
	snprintf(root, sizeof(root), "%.400s/fabraft-trace.XXXXXX",
		 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(root) == NULL) {
		fprintf(stderr, "fabraft-bench trace: cannot make %s\n", root);
		tr_trace_free(&t);
		return 1;
	}
	bc_proc_init();
	bc_http_global(true);
	for (int s = 0; s < TR_SYSTEMS && !bc_stop; s++) {
		if (o.systems & (1u << s)) {
			run_system(&o, (enum tr_system)s, root, &t, &res[n]);
			failed += !res[n].ran || res[n].st.errors != 0;
			n++;
		}
	}
	tr_print_table(res, n, load);
	if (o.json[0] != '\0' && tr_write_json(&o, res, n, load, t.n) != 0) {
		failed++;
	}
	for (int i = 0; i < n; i++) {
		tr_stats_free(&res[i].st);
	}
	failed += bc_reap_all() > 0;
	if (!o.keep) {
		bc_rmtree(root);
	}
	bc_http_global(false);
	tr_trace_free(&t);
	return bc_stop ? 130 : failed ? 1 : 0;
}
