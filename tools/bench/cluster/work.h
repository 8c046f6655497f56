/* work.h — the workload shape shared by the cluster
 * benchmark's drivers (work.c). */
#ifndef FABRAFT_TOOLS_BENCH_CLUSTER_WORK_H
#define FABRAFT_TOOLS_BENCH_CLUSTER_WORK_H

#include <stddef.h>
#include <stdint.h>

#include "bench_cluster.h"

#define BC_BLOCK_BYTES 2097152u /* length of every KV-cache block */
#define BC_NAMESPACE   "bench"	/* KVC namespace of the chains */

enum bc_op_kind {
	BC_OP_SET = 0, /* SET key value / etcd put */
	BC_OP_GET,     /* GET key / etcd range */
	BC_OP_PUT,     /* KVC.PUT chain / etcd txn of 16 puts */
	BC_OP_LOOKUP   /* KVC.LOOKUP chain / etcd txn of 16 ranges */
};

/* One operation of one client. */
struct bc_op {
	enum bc_op_kind kind; /* what */
	enum bc_class cls;    /* write or read */
	uint32_t idx;	      /* key or chain index in the client's space */
	uint32_t round;	      /* times this key/chain came round before */
};

/** Operation number @n of client @client under @ld's workload. */
void bc_next_op(const struct bc_load *ld, int client, uint64_t n,
		struct bc_op *op);
/** Key of @client's key @idx into @out; returns its length. */
int bc_key(int client, uint32_t idx, char *out, size_t cap);
/** Offset of block @i of @op's chain on the storage node's tier. */
uint64_t bc_block_offset(const struct bc_load *ld, int client,
			 const struct bc_op *op, int i);

#endif /* FABRAFT_TOOLS_BENCH_CLUSTER_WORK_H */
