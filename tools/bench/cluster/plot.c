/* plot.c — gnuplot data and script for the cluster
 * benchmark: throughput against clients, latency CDF per transport. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cluster.h"

#define SERIES (BC_PATHS + 2)

/* Series k: fabraft paths, then etcd, then redis. */
static bool in_series(const struct bc_result *r, int k)
{
	const struct bc_spec *s = &r->spec;

	if (k < BC_PATHS) {
		return s->sys == BC_FABRAFT && s->path == (enum bc_path)k &&
		       s->nodes == 3;
	}
	return s->sys == (k == BC_PATHS ? BC_ETCD : BC_REDIS);
}

static const char *series_name(int k)
{
	static char buf[SERIES][32];

	if (k < BC_PATHS) {
		snprintf(buf[k], sizeof(buf[k]), "fabraft %s",
			 bc_path_name((enum bc_path)k));
		return buf[k];
	}
	return k == BC_PATHS ? "etcd" : "redis (1 node)";
}

/* The cell of series @k with this shape (64 B, fsync on, unpipelined). */
static int find(const struct bc_run *run, int k, enum bc_workload wl,
		int clients)
{
	for (int i = 0; i < run->n; i++) {
		const struct bc_result *r = &run->res[i];

		if (r->ok && in_series(r, k) && r->spec.wl == wl &&
		    r->spec.clients == clients && r->spec.value_bytes == 64 &&
		    r->spec.pipeline == 1 && r->spec.fsync) {
			return i;
		}
	}
	return -1;
}

/* tput_<wl>_<k>.dat: "clients ops/s"; the plot command for it appended
 * to @cmd.  Returns the number of points. */
static int tput_series(const struct bc_run *run, int k, enum bc_workload wl,
		       char *cmd, size_t cap)
{
	static const int clients[] = {1, 4, 16, 64, 256, 1024};
	char path[700];
	int points = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tput_%s_%d.dat", run->o->out,
		 bc_workload_name(wl), k);
	f = fopen(path, "w");
	if (f == NULL) {
		return 0;
	}
	for (int c = 0; c < 6; c++) {
		int i = find(run, k, wl, clients[c]);

		if (i >= 0) {
			const struct bc_result *r = &run->res[i];

			fprintf(f, "%d %.1f\n", clients[c],
				(double)(r->ops[0] + r->ops[1]) / r->seconds);
			points++;
		}
	}
	fclose(f);
	if (points > 0) {
		size_t l = strlen(cmd);

		snprintf(cmd + l, cap - l,
			 "%s'tput_%s_%d.dat' using 1:2 with linespoints "
			 "title '%s'",
			 l ? ", " : "", bc_workload_name(wl), k,
			 series_name(k));
	}
	return points;
}

static void cdf_plot(const struct bc_run *run, FILE *gp, int clients)
{
	char cmd[2048] = "";

	for (int k = 0; k < SERIES; k++) {
		int i = find(run, k, BC_SET, clients);
		size_t l = strlen(cmd);

		if (i >= 0) {
			snprintf(cmd + l, sizeof(cmd) - l,
				 "%s'cdf_%03d.dat' using 1:2 with lines lw 2 "
				 "title '%s'",
				 l ? ", " : "", i, series_name(k));
		}
	}
	if (cmd[0] == '\0') {
		return;
	}
	fprintf(gp,
		"set output 'cdf_set_c%d.png'\n"
		"set title 'SET 64 B latency CDF, %d client%s, 3 nodes, "
		"fsync on'\n"
		"set xlabel 'latency (us, log)'\nset ylabel 'fraction of "
		"ops'\nset logscale x\nunset logscale y\n"
		"set yrange [0:1]\nset key bottom right\nplot %s\n",
		clients, clients, clients > 1 ? "s" : "", cmd);
}

static void tput_plot(const struct bc_run *run, FILE *gp, enum bc_workload wl,
		      const char *what)
{
	char cmd[2048] = "";
	int points = 0;

	for (int k = 0; k < SERIES; k++) {
		points += tput_series(run, k, wl, cmd, sizeof(cmd));
	}
	if (points == 0) {
		return;
	}
	fprintf(gp,
		"set output 'tput_%s.png'\n"
		"set title '%s: ops/s against clients (3 nodes, fsync on)'\n"
		"set xlabel 'clients (log)'\nset ylabel 'ops/s (log)'\n"
		"set logscale xy\nset yrange [*:*]\nset key top left\n"
		"plot %s\n",
		bc_workload_name(wl), what, cmd);
}

int bc_write_plots(const struct bc_run *run)
{
	char path[700];
	char cmd[800];
	FILE *gp;

	snprintf(path, sizeof(path), "%s/plots.gp", run->o->out);
	gp = fopen(path, "w");
	if (gp == NULL) {
		return -1;
	}
	fprintf(gp, "# gnuplot script written by fabraft-bench cluster\n"
		    "set terminal pngcairo size 800,500 font ',10'\n"
		    "set grid\n");
	tput_plot(run, gp, BC_SET, "SET 64 B");
	tput_plot(run, gp, BC_KVC,
		  "KV-cache: KVC.PUT 16-block chain + KVC.LOOKUP");
	cdf_plot(run, gp, 1);
	cdf_plot(run, gp, 16);
	cdf_plot(run, gp, 256);
	if (fclose(gp) != 0) {
		return -1;
	}
	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		fprintf(stderr, "cluster: no gnuplot; plots.gp written, no "
				"PNGs (apt-get install gnuplot-nox)\n");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && gnuplot plots.gp", run->o->out);
	if (strchr(run->o->out, '\'') != NULL || system(cmd) != 0) {
		fprintf(stderr, "cluster: gnuplot failed on %s\n", path);
		return -1;
	}
	return 0;
}
