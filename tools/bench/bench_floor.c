/* bench_floor.c — `fabraft-bench floor`: the physical floor of one
 * replicated durable write on this machine, with no consensus at all. */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_floor.h"
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
 */

#define FL_BLOCK      4096u
#define FL_FILE_BYTES (16u << 20) /* appends wrap around inside it */
#define FL_MAX_NODES  7u
#define FL_WARMUP     200u

struct fl_opts {
	uint32_t nodes;
	uint32_t ops;
	uint32_t bytes;
	bool slot;
	bool buffered; /* --io buffered: no O_DIRECT */
	bool fresh;    /* --blocks fresh: each request in a block of its own */
	bool json;
	char dir[512];
};

struct fl_disk {
	char path[600];
	int fd;
	bool direct;
	aio_context_t aio;
	uint8_t *blk; /* the block being filled (FL_BLOCK, aligned) */
	uint8_t *hdr; /* the header block holding the slot */
	uint64_t off; /* append offset; data starts after the header */
	uint64_t seq;
};

struct fl_node {
	struct fl_run *run;
	uint32_t id;
	int listen_fd; /* node 0: the client's port; others: node 0's */
	atomic_int fd; /* the accepted connection (client or node 0) */
	int to;	       /* node 0's connection to this node (not node 0) */
	struct fl_disk disk;
	pthread_t thread;
	bool started;
	char err[256];
};

struct fl_run {
	struct fl_opts o;
	struct fl_node node[FL_MAX_NODES];
	atomic_bool failed;
};

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
static void *fl_fail(struct fl_node *n, const char *what, int e)
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

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k <= 0) {
			return k < 0 ? errno : EIO;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* 0, or -1 at end of stream, or an errno. */
static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t k = read(fd, p, len);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k == 0) {
			return -1;
		}
		if (k < 0) {
			return errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t k = pwrite(fd, p, len, (off_t)off);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k <= 0) {
			return k < 0 ? errno : EIO;
		}
		p += k;
		len -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* The file, zero-filled and synced before the run (the log's spares are
 * too: appends then flush data only).  0 or an errno. */
static int disk_open(struct fl_disk *d, const char *dir, uint32_t id,
		     bool buffered)
{
	snprintf(d->path, sizeof(d->path), "%s/fabraft-floor-%ld-%u.tmp", dir,
		 (long)getpid(), id);
	d->fd = -1;
	if (!buffered) {
		d->fd = open(d->path,
			     O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT,
			     0600);
	}
	d->direct = d->fd >= 0;
	if (d->fd < 0 && (buffered || errno == EINVAL)) {
		d->fd =
		    open(d->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (d->fd < 0) {
		d->path[0] = '\0'; /* not ours to remove */
		return errno;
	}
	if (posix_memalign((void **)&d->blk, FL_BLOCK, 2 * (size_t)FL_BLOCK) !=
	    0) {
		return ENOMEM;
	}
	d->hdr = d->blk + FL_BLOCK;
	memset(d->blk, 0, 2 * (size_t)FL_BLOCK);
	for (uint64_t off = 0; off < FL_FILE_BYTES; off += FL_BLOCK) {
		int e = pwrite_all(d->fd, d->blk, FL_BLOCK, off);
		if (e != 0) {
			return e;
		}
	}
	if (fdatasync(d->fd) != 0) {
		return errno;
	}
	d->off = FL_BLOCK;
	if (d->direct && syscall(SYS_io_setup, 2, &d->aio) != 0) {
		d->aio = 0; /* written one after the other, as the log does */
	}
	return 0;
}

static void disk_close(struct fl_disk *d)
{
	if (d->aio != 0) {
		syscall(SYS_io_destroy, d->aio);
	}
	if (d->fd >= 0) {
		close(d->fd);
	}
	if (d->path[0] != '\0') {
		unlink(d->path);
	}
	free(d->blk);
}

static void iocb_set(struct iocb *cb, int fd, const void *buf, uint64_t off)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_lio_opcode = IOCB_CMD_PWRITE;
	cb->aio_fildes = (uint32_t)fd;
	cb->aio_buf = (uint64_t)(uintptr_t)buf;
	cb->aio_nbytes = FL_BLOCK;
	cb->aio_offset = (int64_t)off;
}

/* Both blocks in one submission, the data first, as wal_aio.c does. */
static int disk_write2(struct fl_disk *d, uint64_t start)
{
	struct iocb cbs[2], *p[2] = {&cbs[0], &cbs[1]};
	struct io_event ev[2];
	long got = 0;

	iocb_set(&cbs[0], d->fd, d->blk, start);
	iocb_set(&cbs[1], d->fd, d->hdr, 0);
	if (syscall(SYS_io_submit, d->aio, 2, p) != 2) {
		return errno != 0 ? errno : EIO;
	}
	while (got < 2) {
		long r = syscall(SYS_io_getevents, d->aio, 2 - got, 2 - got,
				 ev + got, NULL);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return r < 0 ? errno : EIO;
		}
		got += r;
	}
	for (int i = 0; i < 2; i++) {
		if (ev[i].res != FL_BLOCK) {
			return ev[i].res < 0 ? (int)-ev[i].res : EIO;
		}
	}
	return 0;
}

/* Append @len bytes of @buf durably.  0 or an errno. */
static int disk_append(struct fl_disk *d, const uint8_t *buf, uint32_t len,
		       const struct fl_opts *o)
{
	if (d->off + len > FL_FILE_BYTES) {
		d->off = FL_BLOCK;
	}
	uint64_t start = d->off - d->off % FL_BLOCK;
	uint32_t in = (uint32_t)(d->off - start);
	int e;

	if (in + len > FL_BLOCK) { /* the block is full: start the next */
		start += FL_BLOCK;
		d->off = start;
		in = 0;
		memset(d->blk, 0, FL_BLOCK);
	}
	memcpy(d->blk + in, buf, len);
	d->off += len;
	if (o->fresh) { /* the rest of the block stays zeros: padding */
		d->off = start + FL_BLOCK;
	}
	d->seq++;
	memcpy(d->hdr + 512, &d->seq, sizeof(d->seq)); /* the claim */
	uint8_t *data = d->blk;
	size_t n = FL_BLOCK;
	if (!d->direct) { /* buffered: just the bytes, as the log writes */
		data += in;
		n = len;
		start += in;
	}
	if (o->slot && d->aio != 0) {
		e = disk_write2(d, start);
	} else {
		e = pwrite_all(d->fd, data, n, start);
		if (e == 0 && o->slot) {
			e = d->direct
				? pwrite_all(d->fd, d->hdr, FL_BLOCK, 0)
				: pwrite_all(d->fd, d->hdr + 512, 512, 512);
		}
	}
	if (e == 0 && fdatasync(d->fd) != 0) {
		e = errno;
	}
	return e;
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

/* Any node but 0: take node 0's connection; for each request, write it
 * and answer one byte. */
static void *node_main(void *arg)
{
	struct fl_node *n = arg;
	uint8_t buf[FL_BLOCK], ack = 1;
	int e;

	int fd = accept_one(n);
	if (fd < 0) {
		return fl_fail(n, "accept", -fd);
	}
	for (;;) {
		e = read_all(fd, buf, n->run->o.bytes);
		if (e < 0) {
			return NULL; /* node 0 is done */
		}
		if (e != 0) {
			return fl_fail(n, "read", e);
		}
		if ((e = disk_append(&n->disk, buf, n->run->o.bytes,
				     &n->run->o)) != 0) {
			return fl_fail(n, "durable write", e);
		}
		if ((e = write_all(fd, &ack, 1)) != 0) {
			return fl_fail(n, "ack", e);
		}
	}
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

/* Node 0: forward each request to the others, write it, reply once a
 * majority (itself included) holds it.  Acks of earlier requests that
 * arrive late are counted per node. */
static void *leader_main(void *arg)
{
	struct fl_node *n = arg;
	struct fl_run *r = n->run;
	uint64_t acked[FL_MAX_NODES] = {0}, seq = 0;
	uint8_t buf[FL_BLOCK], reply = 1;
	uint32_t need = r->o.nodes / 2; /* other nodes, besides node 0 */
	int e;

	int fd = accept_one(n);
	if (fd < 0) {
		return fl_fail(n, "accept", -fd);
	}
	for (;;) {
		e = read_all(fd, buf, r->o.bytes);
		if (e < 0) {
			return NULL; /* the client is done */
		}
		if (e != 0) {
			return fl_fail(n, "read", e);
		}
		seq++;
		for (uint32_t i = 1; i < r->o.nodes; i++) {
			if ((e = write_all(r->node[i].to, buf, r->o.bytes)) !=
			    0) {
				return fl_fail(n, "forward", e);
			}
		}
		if ((e = disk_append(&n->disk, buf, r->o.bytes, &r->o)) != 0) {
			return fl_fail(n, "durable write", e);
		}
		for (;;) {
			struct pollfd p[FL_MAX_NODES];
			uint32_t have = 0;
			for (uint32_t i = 1; i < r->o.nodes; i++) {
				have += acked[i] >= seq;
				p[i - 1].fd = r->node[i].to;
				p[i - 1].events = POLLIN;
			}
			if (have >= need) {
				break;
			}
			if (poll(p, r->o.nodes - 1, -1) < 0) {
				if (errno == EINTR) {
					continue;
				}
				return fl_fail(n, "poll", errno);
			}
			for (uint32_t i = 1; i < r->o.nodes; i++) {
				uint8_t acks[64];
				if (p[i - 1].revents == 0) {
					continue;
				}
				ssize_t k =
				    read(p[i - 1].fd, acks, sizeof(acks));
				if (k <= 0) {
					return fl_fail(n, "ack",
						       k < 0 ? errno : EPIPE);
				}
				acked[i] += (uint64_t)k;
			}
		}
		if ((e = write_all(fd, &reply, 1)) != 0) {
			return fl_fail(n, "reply", e);
		}
	}
}

/* Set up the nodes (files, sockets, threads); 0 or 1 with a message.
 * Node 0's port for the client in *@client_port. */
static int fl_start(struct fl_run *r, uint16_t *client_port)
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
		int e = disk_open(&n->disk, r->o.dir, i, r->o.buffered);
		if (e != 0) {
			fprintf(stderr, "fabraft-bench floor: %s: %s\n",
				r->o.dir, strerror(e));
			return 1;
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
		if (pthread_create(&n->thread, NULL, node_main, n) != 0) {
			fprintf(stderr, "fabraft-bench floor: no thread\n");
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
static int fl_stop(struct fl_run *r, int client_fd)
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
		if (i > 0 && n->started) {
			pthread_join(n->thread, NULL);
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
		disk_close(&n->disk);
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
		int e = write_all(fd, buf, r->o.bytes);
		if (e == 0) {
			e = read_all(fd, &reply, 1);
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
		       "\"ops\": %u, \"p50_us\": %.1f, \"p99_us\": %.1f, "
		       "\"p999_us\": %.1f}\n",
		       r->o.nodes, r->o.nodes / 2 + 1, r->o.bytes,
		       r->o.slot ? "true" : "false",
		       d->direct ? "true" : "false",
		       d->aio != 0 ? "true" : "false", n, p50, p99, p999);
		return;
	}
	printf("floor: %u node(s), reply after %u durable, %u B over "
	       "loopback TCP, %s, fdatasync; %u requests\n"
	       "  p50 %.1f us  p99 %.1f us  p99.9 %.1f us\n",
	       r->o.nodes, r->o.nodes / 2 + 1, r->o.bytes, io, n, p50, p99,
	       p999);
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
    .usage = "fabraft-bench floor [--nodes N] [--ops N] [options]",
    .epilog =
	"Times the least one acknowledged write can cost on this machine: "
	"N node\nthreads on loopback TCP, node 0 forwards each request, "
	"every node makes it\ndurable with the log's I/O pattern (4 KiB "
	"block + tail-slot block, one AIO\nsubmission, fdatasync) in its own "
	"file in --dir, node 0 replies after a\nmajority.  No consensus, no "
	"batching: a lower bound for the cluster's\n1-client latency "
	"(docs/benchmarks.md).\n",
};

static const struct opt_choice ios[] = {
    {"direct", 0}, {"buffered", 1}, {NULL, 0}};
static const struct opt_choice block_modes[] = {
    {"tail", 0}, {"fresh", 1}, {NULL, 0}};

int bench_floor_main(int argc, char **argv)
{
	int io = 0, blocks = 0;
	struct fl_run *r = calloc(1, sizeof(*r));
	uint64_t *lat = NULL;
	int rv;

	if (r == NULL) {
		fprintf(stderr, "fabraft-bench floor: out of memory\n");
		return 1;
	}
	r->o.nodes = 3;
	r->o.ops = 2000;
	r->o.bytes = 165;
	r->o.slot = true;
	snprintf(r->o.dir, sizeof(r->o.dir), ".");
	const struct opt opts[] = {
	    {"nodes", OPT_UINT, &r->o.nodes, 1, FL_MAX_NODES, .def = "3",
	     .help = "node threads (1: one durable write, no replication)"},
	    {"ops", OPT_UINT, &r->o.ops, 10, 1000000, .def = "2000",
	     .help = "timed requests (after 200 untimed ones)"},
	    {"bytes", OPT_UINT, &r->o.bytes, 1, BENCH_FLOOR_MAX_BYTES,
	     .def = "165",
	     .help = "bytes per request: a 64 B SET is a 165 B log record"},
	    {"slot", OPT_BOOL, &r->o.slot, .def = "on",
	     .help = "also write the tail-slot block, as the log does"},
	    {"dir", OPT_STRING, r->o.dir, .size = sizeof(r->o.dir), .def = ".",
	     .arg = "DIR", .help = "where the nodes' files go (removed after)"},
	    {"io", OPT_ENUM, &io, .choices = ios, .def = "direct",
	     .help = "direct: O_DIRECT where it works, as the log's --io "
		     "auto; buffered: page cache + fdatasync (redis's way)"},
	    {"blocks", OPT_ENUM, &blocks, .choices = block_modes, .def = "tail",
	     .help = "tail: a request's bytes go behind the previous ones, "
		     "the partial block rewritten (the log's way); fresh: "
		     "each request in a block of its own (padding)"},
	    {"json", OPT_FLAG, &r->o.json,
	     .help = "print one JSON object instead of the text"},
	};
	rv = opt_parse_main(&floor_cmd, opts, OPT_COUNT(opts), argc, argv);
	if (rv >= 0) {
		free(r);
		return rv;
	}
	(void)signal(SIGPIPE, SIG_IGN); /* a closed connection is an error */
	r->o.buffered = io == 1;
	r->o.fresh = blocks == 1;
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
