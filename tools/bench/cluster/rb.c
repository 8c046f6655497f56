/* rb.c — the same `redis-benchmark` commands against a
 * 3-node fabraft (fsync on) and a redis-server with appendfsync always:
 * the "as fast as one durable Redis" comparison.  Issue 18 names the
 * unpipelined `-c 50` rates, issue 8 the `-c 50 -P 16` ones; both run
 * against each started store.  With --rounds N the stores alternate
 * (A B A B ...) and the targets take the median of each round's ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cluster.h"

/* Run @rb's @mode command on @port; parse its CSV output.  0 or -1. */
static int bench(const struct bc_opts *o, int port, struct bc_rb *rb,
		 enum bc_rb_mode mode)
{
	char cmd[512];
	char line[512];
	FILE *p;

	snprintf(rb->command[mode], sizeof(rb->command[mode]),
		 "redis-benchmark -t set,get -n %ld -c 50%s", o->rb_requests,
		 mode == BC_RB_P16 ? " -P 16" : "");
	snprintf(cmd, sizeof(cmd),
		 "timeout 600 %s -h 127.0.0.1 -p %d --csv 2>&1",
		 rb->command[mode], port);
	p = popen(cmd, "r");
	if (p == NULL) {
		snprintf(rb->error, sizeof(rb->error),
			 "cannot run redis-benchmark");
		return -1;
	}
	while (fgets(line, sizeof(line), p) != NULL) {
		(void)bc_rb_parse_line(line, rb, mode);
	}
	if (pclose(p) != 0 || rb->set_rps[mode] <= 0 ||
	    rb->get_rps[mode] <= 0) {
		if (rb->error[0] == '\0') {
			snprintf(rb->error, sizeof(rb->error),
				 "`%.80s` failed or printed no rates",
				 rb->command[mode]);
		}
		return -1;
	}
	return 0;
}

static void one(const struct bc_opts *o, const char *root, struct bc_run *run,
		const struct bc_spec *s, int round)
{
	struct bc_rb *rb = &run->rb[run->n_rb++];
	struct bc_server sv;
	char err[256] = "";
	int rv;

	memset(rb, 0, sizeof(*rb));
	snprintf(rb->target, sizeof(rb->target), "%s", s->label);
	rb->round = round;
	bc_loadavg(rb->load);
	fprintf(stderr, "redis-benchmark against %s (round %d) ...\n", s->label,
		round + 1);
	rv = s->sys == BC_FABRAFT
		 ? bc_fab_start(o, s, root, &sv, err, sizeof(err))
		 : bc_redis_start(s, root, &sv, err, sizeof(err));
	if (rv == 0) {
		int port = sv.client_port[sv.leader];

		rb->ok = bench(o, port, rb, BC_RB_P1) == 0 && !bc_stop &&
			 bench(o, port, rb, BC_RB_P16) == 0;
	} else {
		snprintf(rb->error, sizeof(rb->error), "%.120s", err);
	}
	bc_server_stop(&sv, o->keep);
	fprintf(stderr,
		"  -c 50: SET %.0f/s GET %.0f/s; -P 16: SET %.0f/s GET "
		"%.0f/s%s%s\n",
		rb->set_rps[BC_RB_P1], rb->get_rps[BC_RB_P1],
		rb->set_rps[BC_RB_P16], rb->get_rps[BC_RB_P16],
		rb->ok ? "" : "  FAILED: ", rb->error);
}

/* The stores of one round, in the order they run. */
static int stores(const struct bc_opts *o, const struct bc_run *run,
		  enum bc_path path, struct bc_spec s[3])
{
	enum bc_path paths[2] = {BC_TCP_MSG, path};
	int n = 0;

	for (int i = 0; i < (path == BC_TCP_MSG ? 1 : 2); i++) {
		if (!(o->systems & 1u << BC_FABRAFT) ||
		    !(o->paths & 1u << paths[i])) {
			continue;
		}
		memset(&s[n], 0, sizeof(s[n]));
		s[n].sys = BC_FABRAFT;
		s[n].path = paths[i];
		s[n].nodes = 3;
		s[n].fsync = true;
		snprintf(s[n].label, sizeof(s[n].label), "fabraft %s n3",
			 bc_path_name(paths[i]));
		n++;
	}
	if ((o->systems & 1u << BC_REDIS) &&
	    strstr(run->skipped, "redis skipped") == NULL) {
		memset(&s[n], 0, sizeof(s[n]));
		s[n].sys = BC_REDIS;
		s[n].nodes = 1;
		snprintf(s[n].label, sizeof(s[n].label), "redis aof-always");
		n++;
	}
	return n;
}

void bc_rb_run(const struct bc_opts *o, const char *root, struct bc_run *run,
	       enum bc_path path)
{
	struct bc_spec s[3];
	int n = stores(o, run, path, s);
	int rounds = o->rounds > 0 ? o->rounds : 1;

	if (system("command -v redis-benchmark >/dev/null 2>&1") != 0) {
		snprintf(run->skipped + strlen(run->skipped),
			 sizeof(run->skipped) - strlen(run->skipped),
			 "redis-benchmark comparison skipped: no "
			 "redis-benchmark on PATH\n");
		return;
	}
	if (n > 0 && rounds * n > BC_RB_MAX) {
		rounds = BC_RB_MAX / n;
		snprintf(run->skipped + strlen(run->skipped),
			 sizeof(run->skipped) - strlen(run->skipped),
			 "redis-benchmark comparison: %d rounds only (room "
			 "for %d rows)\n",
			 rounds, BC_RB_MAX);
	}
	for (int k = 0; k < rounds && !bc_stop; k++) {
		for (int i = 0; i < n && !bc_stop; i++) {
			one(o, root, run, &s[i], k);
		}
	}
}
