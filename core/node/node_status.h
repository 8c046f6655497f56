/* node_status.h — one snapshot of the runtime's status, rendered both by
 * INFO (node_client.c) and by /metrics (node_metrics.c).
 *
 * Design notes
 * ============
 * Each figure is read from its source once, into one field, so the two
 * pages cannot disagree about it:
 *  1. A figure shown by both pages is rendered from the same field of the
 *     same snapshot (e.g. INFO term and fabraft_term are s.raft.term; INFO
 *     wal_io_us and fabraft_wal_io_seconds_total are s.wal.io_ns).
 *  2. The snapshot is a copy: it stays valid after the node moves on, and
 *     renderers never look at struct node.
 *  3. Figures that cost more than a copy (the state machine's digest walks
 *     the whole state) are taken only when the caller asks for them. */
#ifndef FABRAFT_NODE_STATUS_H
#define FABRAFT_NODE_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "node_int.h"

/* The runtime's status at one moment. */
struct node_status {
	raft_id id;			   /* this node (--id) */
	uint64_t cluster_id;		   /* --cluster-id */
	bool forward;			   /* followers forward commands */
	bool fsync;			   /* the log syncs its writes */
	int read_mode;			   /* enum node_read_mode */
	int leader_writes;		   /* enum node_leader_writes */
	char leader_client[NODE_ADDR_MAX]; /* leader's RESP address, "" */
	struct raft_status raft;	   /* consensus core */
	struct raft_stats raft_stats;	   /* its counters */
	struct wal_stats wal;		   /* durable log */
	bool have_fab;			   /* false in a one-node cluster */
	struct fab_info fab;		   /* transport; all zero without one */
	struct node_place_report place;	   /* NIC, NUMA node, what is bound */
	struct node_counters c;		   /* runtime counters, histograms */
	bool have_digest;		   /* kvc_digest was taken */
	uint64_t kvc_digest;		   /* state machine digest, 0 if not */
	struct kvc_table_info kvc_tables[KVC_TABLES]; /* table sizes */
	uint64_t kvc_table_bytes;    /* all of the state machine's tables */
	uint64_t reply_bytes_max;    /* --reply-bytes-max */
	uint64_t reply_buffer_bytes; /* shared reply buffer allocated */
	uint64_t reads_held_bytes;   /* read replies awaiting ReadIndex */
};

/* Fill @s (caller's, overwritten) from @n (borrowed for the call): the
 * node's options and counters, the raft core, the wal, the fabric and the
 * kvcache.  With @digest false the kvcache digest, which walks the whole
 * state, is skipped.  Must be called on the node's event-loop thread. */
void node__status_get(const struct node *n, bool digest, struct node_status *s);

#endif /* FABRAFT_NODE_STATUS_H */
