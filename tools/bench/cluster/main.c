/* main.c — `fabraft-bench cluster`: replicated fabraft clusters
 * against etcd and redis-server, cell by cell, with a progress line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_cluster.h"
#include "cell.h"
#include "opts.h"

#define CELLS_MAX 2048

void bc_cell_progress(struct bc_cell_ctx *ctx, const struct bc_load *ld,
		      uint64_t now)
{
	const struct bc_spec *s = ld->spec;
	uint64_t ops = ld->done_ops;
	double rate = 0;
	double el = (double)(now - ctx->run_t0) / 1e9;
	bool warm = now < ld->t_start_ns;
	double left = warm ? (double)(ld->t_start_ns - now) / 1e9
		      : now < ld->t_end_ns ? (double)(ld->t_end_ns - now) / 1e9
					   : 0;

	if (ctx->last_ns != 0 && now > ctx->last_ns && !warm) {
		rate = (double)(ops - ctx->last_ops) * 1e9 /
		       (double)(now - ctx->last_ns);
	}
	ctx->last_ns = now;
	ctx->last_ops = ops;
	if (!ctx->tty && now - ctx->printed_ns < 2000000000ull) {
		return; /* a log file gets a line every 2 s, not a flood */
	}
	ctx->printed_ns = now;
	fprintf(stderr,
		"%s[%3d/%d %02d:%02d] %-26s %-6s %5uB c%-3d p%-2d %s %4.1fs "
		"%9.0f ops/s%s",
		ctx->tty ? "\r" : "", ctx->index, ctx->total, (int)(el / 60),
		(int)el % 60, s->label, bc_workload_name(s->wl), s->value_bytes,
		s->clients, s->pipeline, warm ? "warm-up" : "measure", left,
		rate, ctx->tty ? "\033[K" : "\n");
}

static void result_line(const struct bc_result *r, bool tty)
{
	const struct bc_spec *s = &r->spec;
	uint64_t ops = r->ops[BC_WRITE] + r->ops[BC_READ];

	if (!r->ok) {
		fprintf(stderr, "%s  %-26s %-6s %5uB c%-3d p%-2d FAILED: %s\n",
			tty ? "\r\033[K" : "", s->label,
			bc_workload_name(s->wl), s->value_bytes, s->clients,
			s->pipeline, r->error);
		return;
	}
	fprintf(stderr,
		"%s  %-26s %-6s %5uB c%-3d p%-2d %9.0f ops/s  p50 %7.1f us  "
		"p99 %8.1f us  cpu %.3f s/kop%s%s\n",
		tty ? "\r\033[K" : "", s->label, bc_workload_name(s->wl),
		s->value_bytes, s->clients, s->pipeline,
		(double)ops / r->seconds,
		(double)bc_hist_quantile(&r->lat, 0.5) / 1e3,
		(double)bc_hist_quantile(&r->lat, 0.99) / 1e3,
		r->server_cpu_s * 1000 / (double)ops,
		r->errors || r->retries ? "  " : "",
		r->errors || r->retries ? r->error : "");
}

static void iso_now(char *out, size_t cap)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void bc_loadavg(double l[3])
{
	FILE *f = fopen("/proc/loadavg", "r");

	l[0] = l[1] = l[2] = -1;
	if (f != NULL) {
		if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3) {
			l[0] = -1;
		}
		fclose(f);
	}
}

/* First line of `@cmd` into @out. */
static void first_line(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	if (p != NULL) {
		if (fgets(out, (int)cap, p) != NULL) {
			out[strcspn(out, "\n")] = '\0';
		}
		pclose(p);
	}
}

static int mkdirs(const char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
				return -1;
			}
			*p = '/';
		}
	}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static void describe(struct bc_run *run, int argc, char **argv)
{
	char etcd_v[128];
	char redis_v[128];
	size_t l = 0;

	iso_now(run->started, sizeof(run->started));
	bc_loadavg(run->load_start);
	first_line("etcd --version 2>/dev/null", etcd_v, sizeof(etcd_v));
	first_line("redis-server --version 2>/dev/null", redis_v,
		   sizeof(redis_v));
	snprintf(run->versions, sizeof(run->versions), "%s; %s", etcd_v,
		 redis_v);
	for (int i = 0; i < argc && l < sizeof(run->cmdline) - 1; i++) {
		l += (size_t)snprintf(run->cmdline + l,
				      sizeof(run->cmdline) - l, "%s%s",
				      i ? " " : "fabraft-bench ", argv[i]);
	}
}

/* Run every cell; returns how many failed. */
static int run_cells(const struct bc_opts *o, const char *root,
		     struct bc_spec *cells, struct bc_run *run)
{
	struct bc_cell_ctx ctx = {
	    .total = run->n, .run_t0 = bc_now_ns(), .tty = isatty(2)};
	int failed = 0;
	int done = 0;

	for (int i = 0; i < run->n && !bc_stop; i++) {
		struct bc_result *r = &run->res[i];

		memset(r, 0, sizeof(*r));
		r->spec = cells[i];
		bc_loadavg(r->load);
		if (r->load[0] > 1.0) {
			/* Other work on the machine skews this cell. */
			fprintf(stderr,
				"%scluster: warning: load average %.2f > 1.0 "
				"before cell %d (%s)\n",
				ctx.tty ? "\r\033[K" : "", r->load[0], i + 1,
				cells[i].label);
		}
		ctx.index = i + 1;
		ctx.last_ns = 0;
		ctx.printed_ns = 0;
		failed += bc_cell_run(o, root, r, &ctx) != 0;
		result_line(r, ctx.tty);
		done++;
	}
	run->n = done;
	return failed;
}

/* The fabraft path the redis-benchmark comparison uses: shm-rma (the
 * fastest here) when the plan has it, else the first path asked for. */
static enum bc_path rb_path(const struct bc_opts *o)
{
	if (o->quick) {
		return BC_TCP_MSG;
	}
	if (o->paths & (1u << BC_SHM_RMA)) {
		return BC_SHM_RMA;
	}
	for (enum bc_path p = 0; p < BC_PATHS; p++) {
		if (o->paths & (1u << p)) {
			return p;
		}
	}
	return BC_TCP_MSG;
}

int bench_cluster_main(int argc, char **argv)
{
	static struct bc_spec cells[CELLS_MAX];
	struct bc_opts o;
	struct bc_run run;
	const char *tmp = getenv("TMPDIR");
	char root[512];
	char path[600];
	int failed;
	int rv = bc_opts_parse(argc, argv, &o);

	if (rv != 0) {
		return rv > 0 ? 0 : 2;
	}
	memset(&run, 0, sizeof(run));
	run.o = &o;
	/* Servers' data dirs: under $TMPDIR (the test points it at a dir
	 * of its own to check that nothing is left running there). */
	snprintf(root, sizeof(root), "%.400s/fabraft-bench.XXXXXX",
		 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	snprintf(path, sizeof(path), "%s/fabraftd", o.bin);
	if (access(path, X_OK) != 0) {
		fprintf(stderr,
			"cluster: no fabraftd next to this program "
			"(%s)\n",
			path);
		return 2;
	}
	run.n = bc_plan(&o, cells, CELLS_MAX, run.skipped, sizeof(run.skipped));
	run.n = bc_plan_rounds(cells, run.n, o.rounds, CELLS_MAX);
	fputs(run.skipped, stderr);
	if (o.quick && (strstr(run.skipped, "etcd skipped") != NULL ||
			strstr(run.skipped, "redis skipped") != NULL)) {
		fprintf(stderr, "cluster --quick: SKIP (needs etcd and "
				"redis-server to check every driver)\n");
		return 77;
	}
	if (run.n == 0) {
		fprintf(stderr, "cluster: no cell left to run\n");
		return 2;
	}
	run.res = calloc((size_t)run.n, sizeof(*run.res));
	if (run.res == NULL || mkdirs(o.out) != 0 || mkdtemp(root) == NULL) {
		fprintf(stderr, "cluster: cannot create %s or a temp dir\n",
			o.out);
		free(run.res);
		return 1;
	}
	bc_proc_init();
	bc_http_global(true);
	describe(&run, argc, argv);
	fprintf(stderr,
		"cluster: %d cells, %.1f + %.1f s each; results in "
		"%s\n",
		run.n, o.warmup_s, o.duration_s, o.out);
	failed = run_cells(&o, root, cells, &run);
	if (o.redis_benchmark && !bc_stop) {
		bc_rb_run(&o, root, &run, rb_path(&o));
	}
	if (o.breakdown) {
		bc_breakdown_write(&run, stdout, o.json);
	}
	iso_now(run.finished, sizeof(run.finished));
	bc_loadavg(run.load_end);
	failed += bc_reap_all() > 0;
	if (bc_write_results(&run) != 0) {
		failed++;
	}
	if (o.plots && run.n > 0 && bc_write_plots(&run) < 0) {
		failed++;
	}
	if (!o.keep) {
		bc_rmtree(root);
	}
	bc_http_global(false);
	if (bc_alive_count() != 0) {
		fprintf(stderr,
			"cluster: %d server process(es) still "
			"alive\n",
			bc_alive_count());
		failed++;
	} else {
		fprintf(stderr,
			"cluster: all servers stopped; results in "
			"%s\n",
			o.out);
	}
	free(run.res);
	return bc_stop ? 130 : failed ? 1 : 0;
}
