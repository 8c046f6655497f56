/* node_status.c — take the status snapshot that INFO and /metrics render
 * (node_status.h). */
#include <assert.h>
#include <string.h>

#include "node_status.h"

void node__status_get(const struct node *n, bool digest, struct node_status *s)
{
	memset(s, 0, sizeof(*s));
	s->id = n->o.id;
	s->cluster_id = n->o.cluster_id;
	s->forward = n->o.forward;
	s->fsync = n->o.fsync;
	s->read_mode = n->o.read_mode;
	s->leader_writes = n->o.leader_writes;
	raft_status_get(n->raft, &s->raft);
	raft_stats_get(n->raft, &s->raft_stats);
	/* client_addrs has a slot for every id the core can name. */
	assert(s->raft.leader <= RAFT_ID_MAX);
	if (s->raft.leader != 0) {
		memcpy(s->leader_client, n->o.client_addrs[s->raft.leader],
		       sizeof(s->leader_client));
	}
	wal_stats_get(n->wal, &s->wal);
	s->have_fab = n->fab != NULL;
	if (s->have_fab) {
		fab_info_get(n->fab, &s->fab);
	}
	node__place_report(n, s->have_fab ? &s->fab : NULL, &s->place);
	s->c = n->c;
	s->reply_bytes_max = n->o.reply_bytes_max;
	s->reply_buffer_bytes = n->reply.cap;
	s->reads_held_bytes = n->rq_bytes;
	s->kvc_table_bytes = kvc_memory(n->kvc, s->kvc_tables);
	s->have_digest = digest;
	if (digest) {
		s->kvc_digest = kvc_digest(n->kvc);
	}
}
