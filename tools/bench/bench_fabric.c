/* bench_fabric.c — `fabraft-bench fabric`: transport round trips and
 * throughput. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_cluster.h"
#include "bench_fabric.h"
#include "fab.h"
#include "opt.h"
#include "trace.h"

/*
 * For each provider and size the parent starts two child processes on
 * loopback (exec of this binary, so no libfabric state crosses a fork) and
 * reads one result line from the measuring child:
 *
 *   fab-msg   fab_send() APPEND (one entry of SIZE bytes) as a message,
 *             answered by an APPEND_RESP: round trip through our framing,
 *             queue, handshake-checked delivery.
 *   fab-rma   the same with RMA on: the APPEND lands in the follower's ring
 *             by fi_writedata and is validated there.
 *   raw-msg   bare fi_send of SIZE bytes answered by a 64-byte fi_send
 *             (the shape of APPEND -> APPEND_RESP) on the same endpoint
 *             setup (no framing, no queue, no checks).
 *   raw-rma   bare fi_writedata of SIZE bytes with remote CQ data, answered
 *             by a 64-byte fi_send (the shape of our RMA path).
 *   fi_pingpong  libfabric's own tool (-e rdm, 100 iterations), reported
 *             as 2 x usec/xfer (its average; it waits by blocking, which
 *             dominates its numbers on this machine).
 *
 * Raw modes are bare libfabric (bench_fabric_raw.c) on the provider entry
 * and objects our transport opens.  Latencies are per round trip; throughput is
 * APPENDs with 32 in flight.  Every number printed is measured in this run.
 */

static void log_line(void *ctx, int level, const char *tag, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s: %s: %s\n", fr_log_level_name(level),
		tag != NULL ? tag : "-", line);
}

int bench_fabric_main(int argc, char **argv);

/* Environment knobs, read once per child (fabraft-bench fabric --help):
 * FAB_BENCH_SPIN=1 makes both ends of every mode busy-poll without ever
 * yielding, each child pinned to a CPU of its own (pin_role()): on a quiet
 * machine, the software path without the scheduler's share;
 * FAB_BENCH_PIN=1 pins the children the same way but keeps the yields
 * (where the scheduler puts two yielding pollers otherwise decides much
 * of a small round trip: shm p50s of 2, 3 or 6 us from run to run);
 * FAB_BENCH_NO_TPUT=1 skips the throughput phase (profiling the latency loop
 * alone). */
static bool spin_only;
static bool no_throughput;

#define WINDOW 32
#define SECRET "fabraft-bench-secret-0123456789"

uint64_t bench_fabric_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(uint64_t *s, unsigned n, double p)
{
	unsigned i = (unsigned)(p * (double)n);

	if (i >= n) {
		i = n - 1;
	}
	return (double)s[i] / 1000.0;
}

void bench_fabric_print_lat(uint64_t *s, unsigned n, double mbs, double bps)
{
	qsort(s, n, sizeof(*s), cmp_u64);
	printf("RESULT %.2f %.2f %.2f %.1f %.0f\n", pct(s, n, 0.5),
	       pct(s, n, 0.99), pct(s, n, 0.999), mbs, bps);
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* fab modes                                                           */

struct fab_child {
	struct fab *f;
	raft_id self;
	uint64_t acks;
	bool done;
	struct raft_message replies[WINDOW * 4];
	unsigned n_replies;
};

static void fab_cb(void *ctx, const struct raft_message *m)
{
	struct fab_child *c = ctx;

	if (m->type == RAFT_MSG_TIMEOUT_NOW) {
		c->done = true;
	} else if (m->type == RAFT_MSG_APPEND_RESP) {
		c->acks++;
	} else if (m->type == RAFT_MSG_APPEND && c->n_replies < WINDOW * 4) {
		struct raft_message *r = &c->replies[c->n_replies++];

		*r = (struct raft_message){.type = RAFT_MSG_APPEND_RESP,
					   .from = c->self,
					   .to = m->from,
					   .term = m->term};
		r->append_resp.success = 1;
		r->append_resp.index =
		    m->append.prev_index + m->append.n_entries;
		r->append_resp.last_index = r->append_resp.index;
		r->append_resp.seq = m->append.seq;
	}
}

static void fab_flush(struct fab_child *c)
{
	unsigned i = 0;

	if (c->n_replies == 0) {
		return; /* the common case: no libc call per spin */
	}
	while (i < c->n_replies && fab_send(c->f, &c->replies[i]) != FR_AGAIN) {
		i++;
	}
	memmove(c->replies, c->replies + i,
		(c->n_replies - i) * sizeof(c->replies[0]));
	c->n_replies -= i;
}

/* Poll once; yield when idle.  Both ends spin, and on a busy 2-core box
 * two spinners sharing a core otherwise hand over only at the end of a
 * scheduler time slice (8-16 ms round trips seen here).  "Idle" is what
 * raw_wait() calls idle: a poll that found no completion at all.  (Until
 * 2026-11-28 this yielded whenever no message was delivered, so also
 * after reading a send's own completion, which raw_wait() does not: one
 * more yield per round trip on each side of ours than of raw.) */
static void fab_spin(struct fab_child *c)
{
	uint64_t seen = fab_completions(c->f);

	if (fab_poll(c->f, fab_cb, c) == 0 && fab_completions(c->f) == seen &&
	    !spin_only) {
		sched_yield();
	}
	fab_flush(c);
}

static int fab_append(struct fab_child *c, uint64_t seq, const void *buf,
		      uint32_t size)
{
	struct raft_entry e = {.term = 1,
			       .index = seq,
			       .type = RAFT_ENTRY_NORMAL,
			       .len = size,
			       .buf = buf};
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1};

	m.append.prev_index = seq - 1;
	m.append.prev_term = seq > 1;
	m.append.seq = seq;
	m.append.n_entries = 1;
	m.append.entries = &e;
	if (seq == 1) {
		m.append.prev_term = 0;
	}
	return fab_send(c->f, &m);
}

static int child_fab(const char *prov, int rma, uint32_t size, unsigned iters,
		     int role, uint16_t p1, uint16_t p2)
{
	static struct fab_child c;
	static uint8_t payload[BENCH_FABRIC_SIZE_MAX];
	struct fab_peer_addr peers[2] = {{.id = 1, .host = "127.0.0.1"},
					 {.id = 2, .host = "127.0.0.1"}};
	struct fab_options o = {0};
	char err[FR_ERRMSG_SIZE];
	uint64_t *lat;
	uint64_t seq = 1;
	uint64_t t0;

	peers[0].port = p1;
	peers[1].port = p2;
	if (getenv("FAB_BENCH_HOST") != NULL) { /* tools/scripts/rxe-test.sh */
		snprintf(peers[0].host, sizeof(peers[0].host), "%s",
			 getenv("FAB_BENCH_HOST"));
		snprintf(peers[1].host, sizeof(peers[1].host), "%s",
			 getenv("FAB_BENCH_HOST"));
	}
	o.provider = prov;
	o.rma = rma;
	o.self = (raft_id)role;
	o.peers = peers;
	o.n_peers = 2;
	o.cluster_id = 42;
	o.secret = SECRET;
	o.secret_len = strlen(SECRET);
	/* The daemon's defaults (ring 1 MiB, queue 4 MiB / 256 frames,
	 * frames up to 1 MiB + 64 KiB): what a cluster runs with.  Ring size
	 * matters here: a 64 KiB record is read cold from a ring larger than
	 * the caches (8 MiB: ~26 us round trip vs ~17 us at 1 MiB). */
	o.ring_bytes = 0;
	o.frame_bytes_max = 0;
	o.queue_max_bytes = 0;
	o.queue_max_msgs = 0;
	/* The transport's info lines to stderr, as before. */
	fr_log_set(log_line, NULL, FR_LOG_INFO);
	c.self = (raft_id)role;
	if (fab_open(&c.f, &o, err) != 0) {
		fprintf(stderr, "bench: fab_open: %s\n", err);
		return 1;
	}
	if (role == 2) {
		while (!c.done) {
			fab_spin(&c);
		}
		for (t0 = bench_fabric_now_ns();
		     bench_fabric_now_ns() - t0 < 100000000u;) {
			fab_spin(&c);
		}
		fab_close(c.f);
		return 0;
	}
	for (t0 = bench_fabric_now_ns(); !fab_peer_up(c.f, 2); fab_spin(&c)) {
		if (bench_fabric_now_ns() - t0 > 10000000000u) {
			fprintf(stderr, "bench: peer never came up\n");
			return 1;
		}
	}
	lat = calloc(iters, sizeof(*lat));
	/* Warm up, then one APPEND in flight at a time. */
	for (unsigned i = 0; i < iters + iters / 10; i++) {
		uint64_t want = c.acks + 1;
		uint64_t t = bench_fabric_now_ns();

		while (fab_append(&c, seq, payload, size) != 0) {
			fab_spin(&c);
		}
		seq++;
		while (c.acks < want) {
			fab_spin(&c);
		}
		if (i >= iters / 10) {
			lat[i - iters / 10] = bench_fabric_now_ns() - t;
		}
	}
	/* Throughput: WINDOW APPENDs in flight. */
	uint64_t n = no_throughput ? 0 : iters * 4;
	uint64_t base = c.acks;
	uint64_t sent = 0;

	t0 = bench_fabric_now_ns();
	while (c.acks - base < n) {
		if (sent < n && sent - (c.acks - base) < WINDOW &&
		    fab_append(&c, seq, payload, size) == 0) {
			seq++;
			sent++;
			continue;
		}
		fab_spin(&c);
	}
	double secs = (double)(bench_fabric_now_ns() - t0) / 1e9;

	struct raft_message done = {
	    .type = RAFT_MSG_TIMEOUT_NOW, .from = 1, .to = 2, .term = 1};
	while (fab_send(c.f, &done) != 0) {
		fab_spin(&c);
	}
	for (t0 = bench_fabric_now_ns();
	     bench_fabric_now_ns() - t0 < 50000000u;) {
		fab_spin(&c);
	}
	struct fab_info info;

	fab_info_get(c.f, &info);
	if (rma && info.rma_sent == 0) {
		fprintf(stderr, "bench: rma path not used\n");
		return 1;
	}
	bench_fabric_print_lat(lat, iters, (double)n * size / secs / 1e6,
			       (double)n / secs);
	free(lat);
	fab_close(c.f);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parent                                                              */

/* Run two children of @mode; parse the measuring child's RESULT line. */
int bench_fabric_pair(const char *mode, const char *prov, uint32_t size,
		      unsigned iters, double out[5])
{
	char sz[16], it[16], a[16], b[16];
	char line[256];
	int fd[2];
	pid_t pid[2];
	int ok = 0;
	int port = bc_ports(2); /* ours and the peer's, port + 1 */
	FILE *in;

	snprintf(sz, sizeof(sz), "%u", size);
	snprintf(it, sizeof(it), "%u", iters);
	snprintf(a, sizeof(a), "%d", port);
	snprintf(b, sizeof(b), "%d", port + 1);
	if (port < 0 || pipe(fd) != 0) {
		return 1;
	}
	for (int role = 2; role >= 1; role--) {
		pid[role - 1] = fork();
		if (pid[role - 1] == 0) {
			char *args[] = {"fabraft-bench",
					"fabric",
					"--child",
					(char *)mode,
					(char *)prov,
					sz,
					it,
					role == 1 ? "1" : "2",
					a,
					b,
					NULL};

			dup2(fd[1], 1);
			close(fd[0]);
			execv("/proc/self/exe", args);
			_exit(127);
		}
		usleep(role == 2 ? 200000 : 0);
	}
	close(fd[1]);
	in = fdopen(fd[0], "r");
	while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
		if (sscanf(line, "RESULT %lf %lf %lf %lf %lf", &out[0], &out[1],
			   &out[2], &out[3], &out[4]) == 5) {
			ok = 1;
		}
	}
	if (in != NULL) {
		fclose(in);
	}
	for (int i = 0; i < 2; i++) {
		int st;

		waitpid(pid[i], &st, 0);
	}
	return ok ? 0 : 1;
}

/* fi_pingpong -e rdm: returns the round trip (2 x usec/xfer) or -1. */
static double run_pingpong(const char *prov, uint32_t size, unsigned iters)
{
	char cmd[512];
	char line[256];
	double rtt = -1;
	int port = bc_ports(1);
	FILE *p;

	if (port < 0) {
		return rtt;
	}
	snprintf(cmd, sizeof(cmd),
		 "(fi_pingpong -p %s -e rdm -B %d -I %u -S %u >/dev/null 2>&1 "
		 "&) ; sleep 0.3; timeout 60 fi_pingpong -p %s -e rdm -P %d "
		 "-I %u -S %u 127.0.0.1 2>/dev/null",
		 prov, port, iters, size, prov, port, iters, size);
	p = popen(cmd, "r");
	while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
		char b[32], c1[32], c2[32], c3[32], c4[32], c5[32];
		double usec;
		char *end;
		unsigned long bytes;

		if (sscanf(line, "%31s %31s %31s %31s %31s %31s %lf", b, c1, c2,
			   c3, c4, c5, &usec) != 7) {
			continue;
		}
		/* Sizes print as 64, 1k, 16k, 64k. */
		bytes = strtoul(b, &end, 10);
		if (*end == 'k') {
			bytes *= 1024;
		} else if (*end == 'm') {
			bytes *= 1024 * 1024;
		}
		if (bytes == size) {
			rtt = 2 * usec;
		}
	}
	if (p != NULL) {
		pclose(p);
	}
	return rtt;
}

#define REPEAT_MAX 15

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of @n values (sorted in place); 0 for none. */
static double median(double *v, unsigned n)
{
	if (n == 0) {
		return 0;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One size on one provider: @repeat rounds, each running fab-msg, raw-msg,
 * fab-rma and raw-rma back to back (order reversed every other round), so
 * that each ratio compares runs that saw the same machine load. */
static void bench_size(const char *prov, uint32_t size, unsigned it,
		       unsigned repeat, double pp)
{
	static const char *fm[2] = {"fab-msg", "fab-rma"};
	static const char *rm[2] = {"raw-msg", "raw-rma"};
	/* The bare ping-pong never finishes its address exchange on sockets
	 * (both ends spin in fi_cq_read; not investigated): fi_pingpong is
	 * the reference there. */
	bool no_raw = strcmp(prov, "sockets") == 0;
	double ours[2][5][REPEAT_MAX] = {{{0}}};
	double ratio[2][REPEAT_MAX] = {{0}};
	double rma_msg[REPEAT_MAX] = {0};
	double raw50[2][REPEAT_MAX] = {{0}};
	unsigned n_ok[2] = {0, 0};
	unsigned n_raw[2] = {0, 0};
	unsigned n_rm = 0;

	for (unsigned r = 0; r < repeat; r++) {
		double p50[2] = {0, 0};

		for (int k = 0; k < 2; k++) {
			int path = r % 2 ? 1 - k : k;
			double o[5] = {0}, w[5] = {0};
			bool raw_first = r % 2;
			int rw = no_raw || !raw_first
				     ? 1
				     : bench_fabric_pair(rm[path], prov, size,
							 it, w);
			int ro = bench_fabric_pair(fm[path], prov, size, it, o);

			if (!no_raw && !raw_first) {
				rw = bench_fabric_pair(rm[path], prov, size, it,
						       w);
			}
			if (ro != 0) {
				continue;
			}
			for (int c = 0; c < 5; c++) {
				ours[path][c][n_ok[path]] = o[c];
			}
			n_ok[path]++;
			p50[path] = o[0];
			if (rw == 0 && w[0] > 0) {
				raw50[path][n_raw[path]] = w[0];
				ratio[path][n_raw[path]++] = o[0] / w[0];
			}
		}
		if (p50[0] > 0 && p50[1] > 0) {
			rma_msg[n_rm++] = p50[1] / p50[0];
		}
	}
	for (int path = 0; path < 2; path++) {
		char rawc[64] = "n/a | n/a";
		char rmc[32] = "";
		unsigned n = n_ok[path];

		if (n == 0) {
			printf("| %s | %s | %u | failed |\n", prov,
			       path ? "rma" : "msg", size);
			continue;
		}
		if (n_raw[path] > 0) {
			double lo, hi, med;

			med = median(ratio[path], n_raw[path]);
			lo = ratio[path][0];
			hi = ratio[path][n_raw[path] - 1];
			snprintf(rawc, sizeof(rawc), "%.1f | %.2f (%.2f-%.2f)",
				 median(raw50[path], n_raw[path]), med, lo, hi);
		}
		if (path == 1 && n_rm > 0) {
			snprintf(rmc, sizeof(rmc), "%.2f",
				 median(rma_msg, n_rm));
		}
		printf("| %s | %s | %u | %.1f | %.1f | %.1f | %s | %s | %.1f | "
		       "%.0f | %.1f |\n",
		       prov, path ? "rma" : "msg", size,
		       median(ours[path][0], n), median(ours[path][1], n),
		       median(ours[path][2], n), rawc, rmc, pp,
		       median(ours[path][4], n), median(ours[path][3], n));
		fflush(stdout);
	}
}

/* FAB_BENCH_SPIN: two processes that never yield must not share a CPU;
 * put role r on the r-th CPU we may use (nothing done with fewer than 2). */
static void pin_role(int role)
{
	cpu_set_t allowed;
	cpu_set_t one;
	int seen = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 ||
	    CPU_COUNT(&allowed) < 2) {
		return;
	}
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &allowed) && ++seen == role) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			(void)sched_setaffinity(0, sizeof(one), &one);
			return;
		}
	}
}

#define STR_(x) #x
#define STR(x)	STR_(x)

static const struct opt_cmd fabric_cmd = {
    .prog = "fabraft-bench fabric",
    .usage = "fabraft-bench fabric [--providers tcp,shm,sockets] "
	     "[--iters N] [--repeat R] [--sizes 64,1024,16384,65536]",
    .about =
	"Round-trip percentiles (us) of one APPEND of SIZE bytes and "
	"throughput with " STR(
	    WINDOW) " in flight,\nthrough fabraft (msg "
		    "and rma paths) and bare libfabric (raw-msg, raw-rma, "
		    "fi_pingpong),\ntwo processes on 127.0.0.1.  sockets runs "
		    "iters/10.  Each row is R rounds (default 3)\nof fab and "
		    "raw runs "
		    "back to back; medians are printed.",
    .epilog = "Environment: FAB_BENCH_SPIN=1 both ends busy-poll, "
	      "never yield (one CPU per child);\nFAB_BENCH_PIN=1 one "
	      "CPU per child, yields kept;\nFAB_BENCH_NO_TPUT=1 skip "
	      "the throughput phase.\n",
};

/* The suite's flags (the --child form is internal: see below):
 * opt_parse_main(), an exit code or -1 to run. */
static int parse_flags(int argc, char **argv, const char **provs,
		       const char **sizes, unsigned *iters, unsigned *repeat)
{
	const struct opt opts[] = {
	    {"providers", OPT_STRING, provs, .arg = "LIST",
	     .def = "tcp,shm,sockets",
	     .help = "libfabric providers to measure"},
	    {"iters", OPT_UINT, iters, 0, UINT32_MAX, .def = "2000",
	     .help = "round trips per run, at least 10 (sockets: N/10)"},
	    {"repeat", OPT_UINT, repeat, 0, UINT32_MAX, .arg = "R", .def = "3",
	     .help = "rounds per row, clamped to 1..15"},
	    {"sizes", OPT_STRING, sizes, .arg = "LIST",
	     .def = "64,1024,16384,65536", .help = "APPEND payload bytes"},
	};
	return opt_parse_main(&fabric_cmd, opts, OPT_COUNT(opts), argc, argv);
}

int bench_fabric_main(int argc, char **argv)
{
	const char *provs = "tcp,shm,sockets";
	const char *sizes = "64,1024,16384,65536";
	unsigned iters = 2000;
	unsigned repeat = 3;
	char list[128];
	char pbuf[128];
	int done;

	if (argc >= 9 && strcmp(argv[1], "--child") == 0) {
		const char *mode = argv[2];
		uint32_t size = (uint32_t)atoi(argv[4]);
		unsigned it = (unsigned)atoi(argv[5]);
		int role = atoi(argv[6]);
		uint16_t p1 = (uint16_t)atoi(argv[7]);
		uint16_t p2 = (uint16_t)atoi(argv[8]);

		alarm(120); /* a wedged peer must not hang the run */
		spin_only = getenv("FAB_BENCH_SPIN") != NULL;
		no_throughput = getenv("FAB_BENCH_NO_TPUT") != NULL;
		if (spin_only || getenv("FAB_BENCH_PIN") != NULL) {
			pin_role(role);
		}
		if (strncmp(mode, "fab-", 4) == 0) {
			return child_fab(argv[3], strcmp(mode, "fab-rma") == 0,
					 size, it, role, p1, p2);
		}
		struct bench_fabric_child raw = {
		    .prov = argv[3],
		    .rma = strcmp(mode, "raw-rma") == 0,
		    .size = size,
		    .iters = it,
		    .role = role,
		    .port = {p1, p2},
		    .host = getenv("FAB_BENCH_HOST") != NULL
				? getenv("FAB_BENCH_HOST")
				: "127.0.0.1",
		    .spin = spin_only};

		return bench_fabric_raw_child(&raw);
	}
	done = parse_flags(argc, argv, &provs, &sizes, &iters, &repeat);
	if (done >= 0) {
		return done;
	}
	if (iters < 10) {
		iters = 10;
	}
	if (repeat < 1 || repeat > REPEAT_MAX) {
		repeat = repeat < 1 ? 1 : REPEAT_MAX;
	}
	fab_providers_list(list, sizeof(list));
	printf(
	    "%u rounds per row; medians; ours/raw and rma/msg are medians of "
	    "ratios of p50s measured in the same round (range in brackets)\n\n"
	    "| provider | path | size B | p50 us | p99 us | p99.9 us | "
	    "raw p50 us | ours/raw | rma/msg | fi_pingpong us | APPEND/s (%d "
	    "in flight) | MB/s |\n"
	    "|---|---|---|---|---|---|---|---|---|---|---|---|\n",
	    repeat, WINDOW);
	snprintf(pbuf, sizeof(pbuf), "%s", provs);
	for (char *sv1, *prov = strtok_r(pbuf, ",", &sv1); prov != NULL;
	     prov = strtok_r(NULL, ",", &sv1)) {
		char sbuf[128];
		unsigned it = strcmp(prov, "sockets") == 0 ? iters / 10 : iters;

		if (strstr(list, prov) == NULL) {
			printf("| %s | - | - | not present (present: %s) |\n",
			       prov, list);
			continue;
		}
		snprintf(sbuf, sizeof(sbuf), "%s", sizes);
		for (char *sv2, *s = strtok_r(sbuf, ",", &sv2); s != NULL;
		     s = strtok_r(NULL, ",", &sv2)) {
			uint32_t size = (uint32_t)atoi(s);
			/* fi_pingpong waits by blocking (~5 ms a transfer
			 * here): 100 iterations bound its run time. */
			double pp =
			    run_pingpong(prov, size, it < 100 ? it : 100);

			if (size == 0 || size > BENCH_FABRIC_SIZE_MAX) {
				continue;
			}
			bench_size(prov, size, it, repeat, pp);
		}
	}
	return 0;
}
