/* bench_floor.c — `fabraft-bench floor`: the physical floor of one
 * replicated durable write on this machine, with no consensus at all. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_floor.h"
#include "bench_floor_int.h"
#include "opt.h"

int bench_floor_main(int argc, char **argv);

/*
 * Design notes
 * ============
 * What is the least a 3-node cluster on this machine can take for one
 * acknowledged write, whatever its consensus code?  This suite builds the
 * minimum and times it: N node threads, one client; the client sends a
 * request of --bytes to node 0 over loopback TCP; node 0 forwards it to
 * every other node, then makes it durable itself; each other node makes
 * it durable and answers one byte; node 0 replies once it and a majority
 * of the nodes hold it.  No log index, no term, no state machine, no
 * batching decisions, no thread hand-off: each node does its write in the
 * thread that received the request, blocking, as a follower's loop does.
 *
 * "Durable" is the log's own I/O pattern on its zero-filled segments
 * (docs/storage.md): with O_DIRECT, the 4 KiB block holding the appended
 * bytes (rewritten while it fills, as the log rewrites its tail block)
 * and, with --slot on (the log's default and only mode), the segment
 * header block holding the tail slot, both in one Linux AIO submission,
 * then fdatasync; buffered (a file system without O_DIRECT), two pwrites
 * then fdatasync.  Each node writes its own file on the same disk, as the
 * nodes of a local cluster write their own data directories.
 *
 * So the figure bounds from below what fabraft (or any replicated log with
 * these durability rules) can reach here: the disk serves N flushes at
 * once, which a single redis-server never asks of it.  --nodes 1 is the
 * same minimum without replication.
 *
 * --procs runs every node but 0 in a process of its own (fork) instead of
 * a thread, as a cluster of daemons runs: waking a thread of another
 * process costs more than one of the same process (an address-space
 * switch; a lot more on some virtual machines), and a floor of threads
 * would then sit below what any cluster of separate processes can reach.
 * The nodes' files and I/O are in
 * bench_floor_disk.c; --serve, the floor for many RESP clients, in
 * bench_floor_serve.c.
 */

#define FL_WARMUP 200u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* A node's failure: say why once, and make the others stop (their reads
 * see the closed sockets). */
void *fl_fail(struct fl_node *n, const char *what, int e)
{
	snprintf(n->err, sizeof(n->err), "node %u: %s: %s", n->id, what,
		 strerror(e));
	atomic_store(&n->run->failed, true);
	for (uint32_t i = 0; i < n->run->o.nodes; i++) {
		struct fl_node *x = &n->run->node[i];
		int fd = atomic_load(&x->fd);
		if (fd >= 0) {
			shutdown(fd, SHUT_RDWR);
		}
		if (x->listen_fd >= 0) {
			shutdown(x->listen_fd, SHUT_RDWR); /* ends an accept */
		}
	}
	return NULL;
}

/* The one connection a node serves (node 0's client, or node 0 for the
 * others), kept in n->fd for fl_fail(); the fd or -errno. */
static int accept_one(struct fl_node *n)
{
	int one = 1;
	int fd = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		return -errno;
	}
	atomic_store(&n->fd, fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* The next request from node 0 into @buf: --bytes of them, or with
 * --serve a batch framed by its 4-byte length.  Its length, 0 at end of
 * stream, or -errno. */
static ssize_t next_request(struct fl_node *n, int fd, uint8_t *buf)
{
	uint32_t len = n->run->o.bytes;
	int e;

	if (n->run->o.serve) {
		e = fl_read_all(fd, &len, sizeof(len));
		if (e != 0) {
			return e < 0 ? 0 : -e;
		}
		if (len == 0 || len > FL_BATCH_MAX) {
			return -EPROTO;
		}
	}
	e = fl_read_all(fd, buf, len);
	return e < 0 ? 0 : e > 0 ? -e : (ssize_t)len;
}

/* Any node but 0: take node 0's connection; for each request, write it
 * and answer one byte. */
static void *node_main(void *arg)
{
	struct fl_node *n = arg;
	const struct fl_opts *o = &n->run->o;
	uint8_t *buf = malloc(o->serve ? FL_BATCH_MAX : FL_BLOCK), ack = 1;
	void *rv = NULL;
	int e;

	int fd = accept_one(n);
	if (buf == NULL || fd < 0) {
		free(buf);
		return fl_fail(n, "accept", buf == NULL ? ENOMEM : -fd);
	}
	for (;;) {
		ssize_t len = next_request(n, fd, buf);
		if (len <= 0) { /* 0: node 0 is done */
			rv = len < 0 ? fl_fail(n, "read", (int)-len) : NULL;
			break;
		}
		e = o->serve
			? fl_disk_append_batch(&n->disk, buf, (size_t)len, o)
			: fl_disk_append(&n->disk, buf, (uint32_t)len, o);
		if (e != 0) {
			rv = fl_fail(n, "durable write", e);
			break;
		}
		if ((e = fl_write_all(fd, &ack, 1)) != 0) {
			rv = fl_fail(n, "ack", e);
			break;
		}
	}
	free(buf);
	return rv;
}

static int listen_any(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int fl_wait_majority(struct fl_run *r, uint64_t *acked, uint64_t seq)
{
	uint32_t need = r->o.nodes / 2; /* other nodes, besides node 0 */

	for (;;) {
		struct pollfd p[FL_MAX_NODES];
		uint32_t have = 0;
		for (uint32_t i = 1; i < r->o.nodes; i++) {
			have += acked[i] >= seq;
			p[i - 1].fd = r->node[i].to;
			p[i - 1].events = POLLIN;
		}
		if (have >= need) {
			return 0;
		}
		if (poll(p, r->o.nodes - 1, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			return errno;
		}
		for (uint32_t i = 1; i < r->o.nodes; i++) {
			uint8_t acks[64];
			if (p[i - 1].revents == 0) {
				continue;
			}
			ssize_t k = read(p[i - 1].fd, acks, sizeof(acks));
			if (k <= 0) {
				return k < 0 ? errno : EPIPE;
			}
			acked[i] += (uint64_t)k;
		}
	}
}

/* Node 0: forward each request to the others, write it, reply once a
 * majority (itself included) holds it.  Acks of earlier requests that
 * arrive late are counted per node. */
static void *leader_main(void *arg)
{
	struct fl_node *n = arg;
	struct fl_run *r = n->run;
	uint64_t acked[FL_MAX_NODES] = {0}, seq = 0;
	uint8_t buf[FL_BLOCK], reply = 1;
	int e;

	int fd = accept_one(n);
	if (fd < 0) {
		return fl_fail(n, "accept", -fd);
	}
	for (;;) {
		e = fl_read_all(fd, buf, r->o.bytes);
		if (e < 0) {
			return NULL; /* the client is done */
		}
		if (e != 0) {
			return fl_fail(n, "read", e);
		}
		seq++;
		for (uint32_t i = 1; i < r->o.nodes; i++) {
			if ((e = fl_write_all(r->node[i].to, buf,
					      r->o.bytes)) != 0) {
				return fl_fail(n, "forward", e);
			}
		}
		if ((e = fl_disk_append(&n->disk, buf, r->o.bytes, &r->o)) !=
		    0) {
			return fl_fail(n, "durable write", e);
		}
		if ((e = fl_wait_majority(r, acked, seq)) != 0) {
			return fl_fail(n, "ack", e);
		}
		if ((e = fl_write_all(fd, &reply, 1)) != 0) {
			return fl_fail(n, "reply", e);
		}
	}
}

/* --procs: node @n's process.  It drops node 0's connections to the
 * nodes started before it (else their end of stream would wait for this
 * one to exit too), dies with its parent, and says why it failed itself:
 * its exit status tells fl_stop(). */
static _Noreturn void node_proc(struct fl_run *r, struct fl_node *n)
{
	int e;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (uint32_t i = 1; i < n->id; i++) {
		if (r->node[i].to >= 0) {
			close(r->node[i].to);
			r->node[i].to = -1;
		}
	}
	e = fl_disk_forked(&n->disk);
	if (e != 0) {
		fl_fail(n, "io_setup", e);
	} else {
		node_main(n);
	}
	if (n->err[0] != '\0') {
		fprintf(stderr, "fabraft-bench floor: %s\n", n->err);
	}
	(void)fflush(NULL);
	_exit(n->err[0] != '\0');
}

/* Node @n (not node 0) in a thread, or with --procs in a process.  0, or
 * 1 with a message. */
static int start_node(struct fl_run *r, struct fl_node *n)
{
	if (!r->o.procs) {
		if (pthread_create(&n->thread, NULL, node_main, n) != 0) {
			fprintf(stderr, "fabraft-bench floor: no thread\n");
			return 1;
		}
		return 0;
	}
	(void)fflush(NULL); /* nothing buffered written twice */
	n->pid = fork();
	if (n->pid < 0) {
		fprintf(stderr, "fabraft-bench floor: fork: %s\n",
			strerror(errno));
		return 1;
	}
	if (n->pid == 0) {
		node_proc(r, n);
	}
	return 0;
}

/* Wait for node @n (not node 0) to end; 1 if it failed (its process said
 * why), else 0. */
static int join_node(struct fl_run *r, struct fl_node *n)
{
	int status = 0;

	if (!r->o.procs) {
		pthread_join(n->thread, NULL);
		return 0;
	}
	while (waitpid(n->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "fabraft-bench floor: waitpid: %s\n",
				strerror(errno));
			return 1;
		}
	}
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Node 0's port for the client (not with --serve) in *@client_port. */
int fl_start(struct fl_run *r, uint16_t *client_port)
{
	for (uint32_t i = 0; i < r->o.nodes; i++) {
		struct fl_node *n = &r->node[i];
		n->run = r;
		n->id = i;
		n->listen_fd = -1;
		atomic_init(&n->fd, -1);
		n->to = -1;
		n->disk.fd = -1;
	}
	for (uint32_t i = 0; i < r->o.nodes; i++) {
		struct fl_node *n = &r->node[i];
		uint16_t port = 0;
		int e = fl_disk_open(&n->disk, r->o.dir, i, r->o.buffered,
				     r->o.serve ? FL_BATCH_MAX : FL_BLOCK);
		if (e != 0) {
			fprintf(stderr, "fabraft-bench floor: %s: %s\n",
				r->o.dir, strerror(e));
			return 1;
		}
		if (i == 0 && r->o.serve) {
			continue; /* its RESP server listens (fl_serve) */
		}
		n->listen_fd = listen_any(i == 0 ? client_port : &port);
		if (n->listen_fd < 0) {
			fprintf(stderr, "fabraft-bench floor: listen: %s\n",
				strerror(-n->listen_fd));
			return 1;
		}
		if (i == 0) {
			continue; /* started last, when the others are up */
		}
		if (start_node(r, n) != 0) {
			return 1;
		}
		n->started = true;
		n->to = connect_to(port);
		if (n->to < 0) {
			fprintf(stderr, "fabraft-bench floor: connect: %s\n",
				strerror(-n->to));
			return 1;
		}
	}
	if (r->o.serve) {
		return 0; /* node 0 runs in the caller (fl_serve) */
	}
	if (pthread_create(&r->node[0].thread, NULL, leader_main,
			   &r->node[0]) != 0) {
		fprintf(stderr, "fabraft-bench floor: no thread\n");
		return 1;
	}
	r->node[0].started = true;
	return 0;
}

/* Stop the threads (a closed client connection ends node 0, whose closed
 * connections end the others), report a node's failure, remove the
 * files.  0, or 1 if a node failed. */
int fl_stop(struct fl_run *r, int client_fd)
{
	int rv = 0;

	if (client_fd >= 0) {
		close(client_fd);
	}
	if (!r->node[0].started) { /* set-up failed: unblock the accepts */
		for (uint32_t i = 1; i < r->o.nodes; i++) {
			if (r->node[i].listen_fd >= 0) {
				shutdown(r->node[i].listen_fd, SHUT_RDWR);
			}
		}
	} else {
		pthread_join(r->node[0].thread, NULL);
	}
	/* End of stream for the others; closed only once they stopped (a
	 * close with late acks unread would reset their connections). */
	for (uint32_t i = 1; i < r->o.nodes; i++) {
		if (r->node[i].to >= 0) {
			shutdown(r->node[i].to, SHUT_WR);
		}
	}
	for (uint32_t i = 0; i < r->o.nodes; i++) {
		struct fl_node *n = &r->node[i];
		if (i > 0 && n->started && join_node(r, n) != 0) {
			rv = 1;
		}
		if (n->to >= 0) {
			close(n->to);
		}
		if (n->err[0] != '\0') {
			fprintf(stderr, "fabraft-bench floor: %s\n", n->err);
			rv = 1;
		}
		int fd = atomic_load(&n->fd);
		if (fd >= 0) {
			close(fd);
		}
		if (n->listen_fd >= 0) {
			close(n->listen_fd);
		}
		fl_disk_close(&n->disk);
	}
	return rv;
}

/* The client: warm-up requests, then @ops timed ones, one at a time. */
static int fl_client(struct fl_run *r, int fd, uint64_t *lat)
{
	uint8_t buf[FL_BLOCK], reply;

	memset(buf, 0x5a, sizeof(buf));
	for (uint32_t i = 0; i < FL_WARMUP + r->o.ops; i++) {
		uint64_t t0 = now_ns();
		int e = fl_write_all(fd, buf, r->o.bytes);
		if (e == 0) {
			e = fl_read_all(fd, &reply, 1);
		}
		if (e != 0) {
			if (!atomic_load(&r->failed)) {
				fprintf(stderr,
					"fabraft-bench floor: request: %s\n",
					e < 0 ? "connection closed"
					      : strerror(e));
			}
			return 1;
		}
		if (i >= FL_WARMUP) {
			lat[i - FL_WARMUP] = now_ns() - t0;
		}
	}
	return 0;
}

/* The @per_mille-th per mille of the sorted @lat (n values), in us. */
static double pct_us(const uint64_t *lat, uint32_t n, uint32_t per_mille)
{
	uint64_t i = (uint64_t)n * per_mille / 1000;
	return (double)lat[i < n ? i : n - 1] / 1e3;
}

static void fl_report(const struct fl_run *r, uint64_t *lat)
{
	const struct fl_disk *d = &r->node[0].disk;
	uint32_t n = r->o.ops;

	qsort(lat, n, sizeof(*lat), cmp_u64);
	double p50 = pct_us(lat, n, 500);
	double p99 = pct_us(lat, n, 990);
	double p999 = pct_us(lat, n, 999);
	const char *io = !d->direct    ? "buffered"
			 : !r->o.slot  ? "O_DIRECT"
			 : d->aio != 0 ? "O_DIRECT, slot in the same AIO"
					 " submission"
				       : "O_DIRECT, slot written after";
	if (r->o.json) {
		printf("{\"nodes\": %u, \"majority\": %u, \"bytes\": %u, "
		       "\"slot\": %s, \"o_direct\": %s, \"aio\": %s, "
		       "\"procs\": %s, \"ops\": %u, \"p50_us\": %.1f, "
		       "\"p99_us\": %.1f, \"p999_us\": %.1f}\n",
		       r->o.nodes, r->o.nodes / 2 + 1, r->o.bytes,
		       r->o.slot ? "true" : "false",
		       d->direct ? "true" : "false",
		       d->aio != 0 ? "true" : "false",
		       r->o.procs ? "true" : "false", n, p50, p99, p999);
		return;
	}
	printf("floor: %u node(s) (%s), reply after %u durable, %u B over "
	       "loopback TCP, %s, fdatasync; %u requests\n"
	       "  p50 %.1f us  p99 %.1f us  p99.9 %.1f us\n",
	       r->o.nodes, r->o.procs ? "processes" : "threads",
	       r->o.nodes / 2 + 1, r->o.bytes, io, n, p50, p99, p999);
}

/* One run of @r->o: nodes up, the client's requests, nodes down; the
 * latencies into @lat (r->o.ops of them, unsorted).  0 or 1 (said why). */
static int fl_measure(struct fl_run *r, uint64_t *lat)
{
	uint16_t port = 0;
	int fd = -1;
	int rv = fl_start(r, &port);

	if (rv == 0) {
		fd = connect_to(port);
		if (fd < 0) {
			fprintf(stderr, "fabraft-bench floor: connect: %s\n",
				strerror(-fd));
			rv = 1;
		}
	}
	if (rv == 0) {
		rv = fl_client(r, fd, lat);
	}
	rv |= fl_stop(r, fd);
	return rv;
}

static const struct opt_cmd floor_cmd = {
    .prog = "fabraft-bench floor",
    .usage = "fabraft-bench floor [--nodes N] [--ops N] [options]\n"
	     "       fabraft-bench floor --serve [--port P] [options]",
    .epilog =
	"Times the least one acknowledged write can cost on this machine: "
	"N node\nthreads on loopback TCP, node 0 forwards each request, "
	"every node makes it\ndurable with the log's I/O pattern (4 KiB "
	"block + tail-slot block, one AIO\nsubmission, fdatasync) in its own "
	"file in --dir, node 0 replies after a\nmajority.  No consensus, no "
	"batching: a lower bound for the cluster's\n1-client latency "
	"(docs/benchmarks.md).  --serve: the same for many RESP\nclients, "
	"batched as redis-server batches its fsyncs (driven by "
	"redis-benchmark\n-t set; tools/bench/rb_compare.sh).\n",
};

static const struct opt_choice ios[] = {
    {"direct", 0}, {"buffered", 1}, {NULL, 0}};
static const struct opt_choice block_modes[] = {
    {"tail", 0}, {"fresh", 1}, {NULL, 0}};

/* The flags into @o, checked.  -1 to run, else the exit status (said
 * why). */
static int floor_parse(struct fl_opts *o, int argc, char **argv)
{
	int io = 0, blocks = 0;

	o->nodes = 3;
	o->ops = 2000;
	o->bytes = 165;
	o->slot = true;
	snprintf(o->dir, sizeof(o->dir), ".");
	const struct opt opts[] = {
	    {"nodes", OPT_UINT, &o->nodes, 1, FL_MAX_NODES, .def = "3",
	     .help = "node threads (1: one durable write, no replication)"},
	    {"procs", OPT_FLAG, &o->procs,
	     .help = "run each node but node 0 in a process of its own "
		     "instead of a thread, as a cluster of daemons runs"},
	    {"ops", OPT_UINT, &o->ops, 10, 1000000, .def = "2000",
	     .help = "timed requests (after 200 untimed ones)"},
	    {"bytes", OPT_UINT, &o->bytes, 1, BENCH_FLOOR_MAX_BYTES,
	     .def = "165",
	     .help = "bytes per request: a 64 B SET is a 165 B log record"},
	    {"slot", OPT_BOOL, &o->slot, .def = "on",
	     .help = "also write the tail-slot block, as the log does"},
	    {"dir", OPT_STRING, o->dir, .size = sizeof(o->dir), .def = ".",
	     .arg = "DIR", .help = "where the nodes' files go (removed after)"},
	    {"io", OPT_ENUM, &io, .choices = ios, .def = "direct",
	     .help = "direct: O_DIRECT where it works, as the log's --io "
		     "auto; buffered: page cache + fdatasync (redis's way)"},
	    {"blocks", OPT_ENUM, &blocks, .choices = block_modes, .def = "tail",
	     .help = "tail: a request's bytes go behind the previous ones, "
		     "the partial block rewritten (the log's way); fresh: "
		     "each request in a block of its own (padding)"},
	    {"json", OPT_FLAG, &o->json,
	     .help = "print one JSON object instead of the text"},
	    {"serve", OPT_FLAG, &o->serve,
	     .help = "serve RESP clients (redis-benchmark -t set) on "
		     "127.0.0.1:--port instead: each loop's SETs made durable "
		     "as one batch, as redis-server's event loop does; prints "
		     "what it served when stopped"},
	    {"port", OPT_UINT, &o->port, 0, 65535, .def = "any free port",
	     .help = "--serve: the port"},
	    {"seconds", OPT_UINT, &o->seconds, 0, 86400,
	     .def = "none: until SIGINT or SIGTERM",
	     .help = "--serve: stop after this long"},
	};
	int rv = opt_parse_main(&floor_cmd, opts, OPT_COUNT(opts), argc, argv);
	if (rv >= 0) {
		return rv;
	}
	o->buffered = io == 1;
	o->fresh = blocks == 1;
	if (!o->serve && (o->port != 0 || o->seconds != 0)) {
		fprintf(stderr, "fabraft-bench floor: --port and --seconds "
				"go with --serve\n");
		return 2;
	}
	if (o->serve && o->fresh) {
		fprintf(stderr, "fabraft-bench floor: --serve writes batches "
				"behind the tail (--blocks tail)\n");
		return 2;
	}
	return -1;
}

int bench_floor_main(int argc, char **argv)
{
	struct fl_run *r = calloc(1, sizeof(*r));
	uint64_t *lat = NULL;
	int rv;

	if (r == NULL) {
		fprintf(stderr, "fabraft-bench floor: out of memory\n");
		return 1;
	}
	rv = floor_parse(&r->o, argc, argv);
	if (rv >= 0) {
		free(r);
		return rv;
	}
	(void)signal(SIGPIPE, SIG_IGN); /* a closed connection is an error */
	if (r->o.serve) {
		rv = fl_serve(r);
		free(r);
		return rv;
	}
	lat = calloc(r->o.ops, sizeof(*lat));
	rv = lat == NULL ? 1 : fl_measure(r, lat);
	if (rv == 0) {
		fl_report(r, lat);
	}
	free(lat);
	free(r);
	return rv;
}

int bench_floor_p50(const char *dir, uint32_t nodes, uint32_t bytes,
		    uint32_t ops, double *p50_us)
{
	struct fl_run *r = calloc(1, sizeof(*r));
	uint64_t *lat = calloc(ops > 0 ? ops : 1, sizeof(*lat));
	int rv = 1;

	if (r != NULL && lat != NULL && nodes >= 1 && nodes <= FL_MAX_NODES &&
	    bytes >= 1 && bytes <= BENCH_FLOOR_MAX_BYTES && ops > 0 &&
	    strlen(dir) < sizeof(r->o.dir)) {
		r->o = (struct fl_opts){
		    .nodes = nodes, .ops = ops, .bytes = bytes, .slot = true};
		snprintf(r->o.dir, sizeof(r->o.dir), "%s", dir);
		(void)signal(SIGPIPE, SIG_IGN);
		rv = fl_measure(r, lat);
		if (rv == 0) {
			qsort(lat, ops, sizeof(*lat), cmp_u64);
			*p50_us = pct_us(lat, ops, 500);
		}
	}
	free(lat);
	free(r);
	return rv;
}
