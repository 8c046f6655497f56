/* fabraft_cli.h — shared parts of the fabraft CLI (tools/cli). */
#ifndef FABRAFT_TOOLS_CLI_H
#define FABRAFT_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fabraft_client.h"
#include "heap.h"

#define CL_NODES_MAX 9

/* A local cluster made by `fabraft cluster start` (DIR/cluster.conf). */
struct cl {
	char dir[256];		       /* cluster directory */
	int n;			       /* nodes */
	int id[CL_NODES_MAX];	       /* node ids (1..n) */
	char client[CL_NODES_MAX][80]; /* RESP address of each */
};

struct cl_start_opts {
	const char *dir;       /* cluster directory (created) */
	int nodes;	       /* 1..CL_NODES_MAX */
	const char *provider;  /* fabraftd --provider */
	int client_base;       /* first client port */
	int raft_base;	       /* first raft port */
	bool fsync;	       /* --fsync */
	const char *read_mode; /* fabraftd --read-mode, NULL = default */
	int voters;	       /* nodes 1..voters start as voters; 0 = all */
	bool quiet;	       /* no "how to reach" text */
};

/** Load DIR/cluster.conf.  0 or -1 (message printed). */
int cl_load(const char *dir, struct cl *c);
/** Create the configs and start every node in the background. */
int cl_start(const struct cl_start_opts *o, struct cl *c);
/** Start node @i (index into c) again from its config.  0 or -1. */
int cl_start_node(const struct cl *c, int i);
/** PID of node @i from its pid file, or -1. */
pid_t cl_pid(const struct cl *c, int i);
/** SIGTERM every node, wait up to 5 s each, then SIGKILL.  0 or -1. */
int cl_stop(const struct cl *c);
/** Wait until some node says it leads; its index, or -1 on timeout.  Skips
 * node @skip (-1: none). */
int cl_leader(const struct cl *c, int timeout_ms, int skip);
/** INFO of @addr into a string to fr_free (NULL on failure). */
char *cl_info(const char *addr, int timeout_ms);
/** Run a command against the cluster addresses @addrs (n of them) with
 * the client library (leader discovery, -MOVED, retries; deadline
 * @timeout_ms).  The reply is in @r (free with fabraft_reply_free).  0 or
 * -1 (no reply; the reason printed). */
int cl_route(char (*addrs)[80], int n, int argc, const char *const *argv,
	     struct fabraft_reply *r, int timeout_ms);
/** Password sent with AUTH on every connection ("" = none): from -p or
 * the requirepass line of a cluster's node configs. */
extern char cl_password[128];
/** Admin password ("" = none): from --admin-pass, $FABRAFT_ADMIN_PASS or
 * the admin-pass line of a cluster's node configs; sent instead of
 * cl_password while cl_use_admin is set (member changes, transfer). */
extern char cl_admin_password[128];
extern bool cl_use_admin;
/** A client library handle for @addrs (n of them) with the password (the
 * admin one under cl_use_admin), @discover the leader or not, calls bounded
 * by @deadline_ms.  NULL after printing why. */
struct fabraft_client *cl_client(char (*addrs)[80], int n, bool discover,
				 int deadline_ms);
/** Milliseconds of CLOCK_MONOTONIC. */
uint64_t cl_now_ms(void);

int fabraft_demo_main(int argc, char **argv);

/* `fabraft topo [--nic X] [--address H] [--provider P] [--topology-xml F]`
 * (fabraft_topo.c): exit code. */
int fabraft_topo_main(int argc, char **argv);
/* Print node @node's placement lines from the INFO of @addr (nothing when
 * it does not answer). */
void fabraft_status_placement(const char *addr, const char *node);

/* The demo's production-trace replay (fabraft_demo_trace.c). */
struct cl_trace;
/** Load the first @requests of the trace at @path (NULL: the shipped one)
 * and start @engines engines on @c's nodes (@leader first), pausing at the
 * trace's half.  NULL when skipped (the reason printed). */
struct cl_trace *cl_trace_start(const struct cl *c, int leader,
				const char *path, int requests, int engines);
/** Wait until the engines stand at the trace's half (NULL: no-op). */
void cl_trace_pause(struct cl_trace *t);
/** Let them go on. */
void cl_trace_resume(struct cl_trace *t);
/** Wait for the replay's end. */
void cl_trace_finish(struct cl_trace *t);
/** Print the replay's summary lines (hits, latencies, errors). */
void cl_trace_print(const struct cl_trace *t);
/** Finish and free @t (NULL: no-op). */
void cl_trace_free(struct cl_trace *t);

#endif /* FABRAFT_TOOLS_CLI_H */
