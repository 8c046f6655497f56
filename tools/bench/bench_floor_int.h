/* bench_floor_int.h — what the files of `fabraft-bench floor` share: the
 * run and its nodes (bench_floor.c), their files (bench_floor_disk.c) and
 * the RESP mode (bench_floor_serve.c). */
#ifndef FABRAFT_BENCH_FLOOR_INT_H
#define FABRAFT_BENCH_FLOOR_INT_H

#include <linux/aio_abi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FL_BLOCK      4096u
#define FL_FILE_BYTES (16u << 20) /* appends wrap around inside it */
#define FL_MAX_NODES  7u
/* The most one --serve batch holds: bounds a node's buffer and keeps a
 * batch well inside the file it wraps around in. */
#define FL_BATCH_MAX (4u << 20)

struct fl_opts {
	uint32_t nodes;
	uint32_t ops;
	uint32_t bytes;
	bool slot;
	bool buffered; /* --io buffered: no O_DIRECT */
	bool fresh;    /* --blocks fresh: each request in a block of its own */
	bool json;
	bool serve; /* --serve: RESP clients, batches (bench_floor_serve.c) */
	bool procs; /* --procs: nodes other than 0 in processes of their own */
	uint32_t port;	  /* --serve's port (0: any) */
	uint32_t seconds; /* --serve stops after this long (0: on a signal) */
	char dir[512];
};

struct fl_disk {
	char path[600];
	int fd;
	bool direct;
	aio_context_t aio;
	uint8_t *blk; /* the block being filled, then room for a batch */
	uint8_t *hdr; /* the header block holding the slot */
	size_t cap;   /* bytes at blk (a multiple of FL_BLOCK) */
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
	pid_t pid; /* --procs: the node's process (not node 0) */
	bool started;
	char err[256];
};

struct fl_run {
	struct fl_opts o;
	struct fl_node node[FL_MAX_NODES];
	atomic_bool failed;
};

/* bench_floor_disk.c: I/O helpers, 0 or an errno (read_all: -1 at end of
 * stream). */
int fl_write_all(int fd, const void *buf, size_t len);
int fl_read_all(int fd, void *buf, size_t len);
/* The file of node @id in @dir, zero-filled and synced; room for appends of
 * up to @max_append bytes at once. */
int fl_disk_open(struct fl_disk *d, const char *dir, uint32_t id, bool buffered,
		 size_t max_append);
void fl_disk_close(struct fl_disk *d);
/* In a process forked after fl_disk_open: its own AIO context (a context
 * belongs to the process that made it).  0 or an errno. */
int fl_disk_forked(struct fl_disk *d);
/* One request, durably, in the block holding the tail (--blocks). */
int fl_disk_append(struct fl_disk *d, const uint8_t *buf, uint32_t len,
		   const struct fl_opts *o);
/* A batch of @len bytes (at most the @max_append of fl_disk_open) behind
 * the previous ones, spanning blocks: one write of the blocks it touches
 * (and the slot block), then fdatasync. */
int fl_disk_append_batch(struct fl_disk *d, const uint8_t *buf, size_t len,
			 const struct fl_opts *o);

/* bench_floor.c */
void *fl_fail(struct fl_node *n, const char *what, int e);
/* Node 0 waits until it and @need other nodes hold request @seq; @acked
 * counts each node's acks.  0 or an errno. */
int fl_wait_majority(struct fl_run *r, uint64_t *acked, uint64_t seq);
/* Files, sockets and the other nodes' threads; node 0's thread too unless
 * --serve (which runs node 0 in the caller).  0 or 1 with a message. */
int fl_start(struct fl_run *r, uint16_t *client_port);
/* 0, or 1 if a node failed (said why); files removed. */
int fl_stop(struct fl_run *r, int client_fd);

/* bench_floor_serve.c: node 0 serves RESP SETs until a signal or
 * --seconds; prints what it did.  0 or 1. */
int fl_serve(struct fl_run *r);

#endif /* FABRAFT_BENCH_FLOOR_INT_H */
