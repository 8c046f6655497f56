/* plan.c — which cells the cluster benchmark runs: the
 * default one-factor-at-a-time sweep, --grid, or --quick; minus what this
 * machine cannot run (each skip says why). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_cluster.h"

static const char *const sys_names[BC_SYSTEMS] = {"fabraft", "etcd", "redis"};
static const char *const path_names[BC_PATHS] = {
    "tcp-msg", "tcp-rma", "shm-msg", "shm-rma", "verbs-rma"};
static const char *const wl_names[BC_WORKLOADS] = {"set", "setget", "kvc"};

const char *bc_system_name(enum bc_system s)
{
	return sys_names[s];
}

const char *bc_path_name(enum bc_path p)
{
	return path_names[p];
}

const char *bc_workload_name(enum bc_workload w)
{
	return wl_names[w];
}

void bc_verbs_why(char *out, size_t cap)
{
	DIR *d = opendir("/sys/class/infiniband");
	struct dirent *e;
	int devices = 0;

	while (d != NULL && (e = readdir(d)) != NULL) {
		devices += e->d_name[0] != '.';
	}
	if (d != NULL) {
		closedir(d);
	}
	if (devices == 0) {
		snprintf(out, cap,
			 "verbs-rma skipped: no RDMA device "
			 "(/sys/class/infiniband is %s; no rxe link either)",
			 d == NULL ? "missing" : "empty");
		return;
	}
	/* A device exists, but the cells listen on 127.0.0.1, which a
	 * verbs (or rxe) device does not serve. */
	snprintf(out, cap,
		 "verbs-rma skipped: an RDMA device exists but this harness "
		 "binds 127.0.0.1 only, which verbs cannot use");
}

/* Is @name an executable on PATH? */
static bool on_path(const char *name)
{
	const char *p = getenv("PATH");
	char buf[1024];

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ':');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)l, p, name);
		if (access(buf, X_OK) == 0) {
			return true;
		}
		p = e != NULL ? e + 1 : NULL;
	}
	return false;
}

static bool has_int(const int *l, int v)
{
	for (; *l != 0; l++) {
		if (*l == v) {
			return true;
		}
	}
	return false;
}

static bool has_u32(const uint32_t *l, uint32_t v)
{
	for (; *l != 0; l++) {
		if (*l == v) {
			return true;
		}
	}
	return false;
}

struct plan {
	const struct bc_opts *o; /* filters */
	struct bc_spec *cells;	 /* output */
	int n;			 /* cells so far */
	int cap;		 /* room */
	unsigned runnable;	 /* systems this machine can run */
	unsigned paths;		 /* paths this machine can run */
};

static void add(struct plan *p, enum bc_system sys, enum bc_path path,
		int nodes, bool fsync, enum bc_workload wl, uint32_t value,
		int clients, int pipeline)
{
	const struct bc_opts *o = p->o;
	struct bc_spec *s;

	if (!(o->systems & p->runnable & 1u << sys) ||
	    !(o->workloads & 1u << wl) || !has_int(o->clients, clients) ||
	    !has_u32(o->values, value) || !has_int(o->pipelines, pipeline)) {
		return;
	}
	if (sys == BC_FABRAFT &&
	    (!(o->paths & p->paths & 1u << path) || !has_int(o->nodes, nodes) ||
	     !(o->fsyncs & 1u << fsync))) {
		return;
	}
	if ((sys == BC_REDIS && wl == BC_KVC) ||
	    (sys == BC_ETCD && pipeline > 1) || p->n == p->cap) {
		return; /* not expressible (see docs/benchmarks.md) */
	}
	s = &p->cells[p->n++];
	memset(s, 0, sizeof(*s));
	s->sys = sys;
	s->path = sys == BC_FABRAFT ? path : BC_TCP_MSG;
	s->nodes = sys == BC_FABRAFT ? nodes : sys == BC_ETCD ? 3 : 1;
	s->fsync = sys == BC_FABRAFT ? fsync : true;
	s->wl = wl;
	s->value_bytes = wl == BC_KVC ? 64 : value;
	s->clients = clients;
	s->pipeline = pipeline;
	if (sys == BC_FABRAFT) {
		snprintf(s->label, sizeof(s->label), "fabraft %s n%d%s",
			 path_names[path], nodes, fsync ? "" : " nofsync");
	} else {
		snprintf(s->label, sizeof(s->label), "%s",
			 sys == BC_ETCD ? "etcd n3" : "redis aof-always");
	}
}

/* Every available fabraft path, then etcd and redis, for one shape. */
static void all(struct plan *p, int nodes, bool fsync, enum bc_workload wl,
		uint32_t value, int clients, int pipeline, bool others)
{
	for (int pa = 0; pa < BC_PATHS; pa++) {
		add(p, BC_FABRAFT, (enum bc_path)pa, nodes, fsync, wl, value,
		    clients, pipeline);
	}
	if (others) {
		add(p, BC_ETCD, 0, 3, true, wl, value, clients, pipeline);
		add(p, BC_REDIS, 0, 1, true, wl, value, clients, pipeline);
	}
}

static void default_plan(struct plan *p)
{
	static const int cl[] = {1, 16, 256};

	/* Transports and the peers against clients: the headline. */
	for (int i = 0; i < 3; i++) {
		all(p, 3, true, BC_SET, 64, cl[i], 1, true);
	}
	/* Value size. */
	all(p, 3, true, BC_SET, 1024, 16, 1, true);
	all(p, 3, true, BC_SET, 16384, 16, 1, true);
	/* fsync off, 5 nodes. */
	for (int i = 1; i < 3; i++) {
		all(p, 3, false, BC_SET, 64, cl[i], 1, false);
		all(p, 5, true, BC_SET, 64, cl[i], 1, false);
	}
	/* The KV-cache mix and SET+GET. */
	for (int i = 0; i < 3; i++) {
		all(p, 3, true, BC_KVC, 64, cl[i], 1, true);
	}
	all(p, 3, true, BC_SETGET, 64, 16, 1, true);
	/* Pipelined clients. */
	all(p, 3, true, BC_SET, 64, 16, 16, true);
	all(p, 3, true, BC_KVC, 64, 16, 16, true);
}

static void grid_plan(struct plan *p)
{
	const struct bc_opts *o = p->o;

	for (int w = 0; w < BC_WORKLOADS; w++) {
		for (const uint32_t *v = o->values; *v != 0; v++) {
			for (const int *c = o->clients; *c != 0; c++) {
				for (const int *pl = o->pipelines; *pl != 0;
				     pl++) {
					for (const int *n = o->nodes; *n != 0;
					     n++) {
						all(p, *n, true, w, *v, *c, *pl,
						    n == o->nodes);
						all(p, *n, false, w, *v, *c,
						    *pl, false);
					}
				}
			}
		}
	}
}

static void quick_plan(struct plan *p)
{
	add(p, BC_FABRAFT, BC_TCP_MSG, 3, true, BC_SET, 64, 1, 1);
	add(p, BC_FABRAFT, BC_TCP_MSG, 3, true, BC_SET, 64, 16, 1);
	add(p, BC_FABRAFT, BC_SHM_RMA, 3, true, BC_SET, 64, 16, 1);
	add(p, BC_FABRAFT, BC_TCP_RMA, 3, true, BC_KVC, 64, 16, 1);
	add(p, BC_FABRAFT, BC_TCP_MSG, 3, true, BC_SETGET, 1024, 16, 16);
	add(p, BC_ETCD, 0, 3, true, BC_SET, 64, 16, 1);
	add(p, BC_ETCD, 0, 3, true, BC_KVC, 64, 16, 1);
	add(p, BC_REDIS, 0, 1, true, BC_SET, 64, 16, 1);
}

/* --breakdown: a 1-client SET on each asked-for path, fsync on. */
static void breakdown_plan(struct plan *p)
{
	const struct bc_opts *o = p->o;

	for (int pa = 0; pa < BC_PATHS; pa++) {
		add(p, BC_FABRAFT, (enum bc_path)pa, o->nodes[0], true, BC_SET,
		    o->values[0], 1, 1);
	}
}

static void why(char *out, size_t cap, const char *line)
{
	size_t l = strlen(out);

	snprintf(out + l, cap - l, "%s\n", line);
}

int bc_plan(const struct bc_opts *o, struct bc_spec *cells, int cap,
	    char *skip_why, size_t skip_cap)
{
	struct plan p = {.o = o, .cells = cells, .cap = cap};
	char line[256];

	skip_why[0] = '\0';
	p.runnable = 1u << BC_FABRAFT;
	p.paths = (1u << BC_PATHS) - 1;
	bc_verbs_why(line, sizeof(line));
	p.paths &= ~(1u << BC_VERBS_RMA);
	if (o->paths & 1u << BC_VERBS_RMA) {
		why(skip_why, skip_cap, line);
	}
	if (!on_path("etcd")) {
		why(skip_why, skip_cap,
		    "etcd skipped: no `etcd` on PATH (Debian etcd-server)");
	} else if (!bc_http_available()) {
		why(skip_why, skip_cap,
		    "etcd skipped: fabraft-bench was built without libcurl");
	} else {
		p.runnable |= 1u << BC_ETCD;
	}
	if (!on_path("redis-server")) {
		why(skip_why, skip_cap,
		    "redis skipped: no `redis-server` on PATH");
	} else {
		p.runnable |= 1u << BC_REDIS;
	}
	if (o->breakdown) {
		breakdown_plan(&p);
	} else if (o->quick) {
		quick_plan(&p);
	} else if (o->grid) {
		grid_plan(&p);
	} else {
		default_plan(&p);
	}
	return p.n;
}

int bc_plan_rounds(struct bc_spec *cells, int n, int rounds, int cap)
{
	int total = n;

	for (int r = 1; r < rounds && total + n <= cap; r++) {
		for (int i = 0; i < n; i++) {
			cells[total] = cells[i];
			cells[total].round = r;
			total++;
		}
	}
	return total;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bc_median(double *v, int n)
{
	if (n <= 0) {
		return 0;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
