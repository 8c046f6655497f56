/* node_admin.c — cluster administration over RESP: membership changes,
 * leadership transfer, member list (RAFT.* commands). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "heap.h"
#include "node_int.h"

/*
 * Design notes
 * ============
 *   RAFT.MEMBER LIST                 any node: one line per member
 *   RAFT.MEMBER ADDLEARNER ID        leader: answered when committed
 *   RAFT.MEMBER PROMOTE ID           leader: -TRYAGAIN until caught up
 *   RAFT.MEMBER REMOVE ID            leader: answered when committed
 *   RAFT.TRANSFER [ID]               leader: starts a transfer (+OK); the
 *                                    new leader shows in INFO
 * Followers forward these to the leader like any write.  With an admin
 * password (--admin-pass) every one but LIST needs a connection that sent
 * it (resp_req.admin), checked on the node the client talks to: a
 * follower refuses before forwarding, and its forwarding connection
 * authenticates with the admin password so the leader accepts what it
 * relays.  Without one, every client that passed requirepass may.
 * Membership is
 * separate from addresses: a node can be added only if it is in --peers
 * (the transport's address book), e.g. started with --initial-voters
 * naming the first members only.
 */

static bool name_is(const struct resp_arg *a, const char *s)
{
	return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

static bool parse_id(const struct resp_arg *a, raft_id *id)
{
	char s[8];
	char *end;

	if (a->len == 0 || a->len >= sizeof(s)) {
		return false;
	}
	memcpy(s, a->ptr, a->len);
	s[a->len] = '\0';
	unsigned long v = strtoul(s, &end, 10);
	if (*end != '\0' || s[0] == '-' || v == 0 || v > RAFT_ID_MAX) {
		return false;
	}
	*id = (raft_id)v;
	return true;
}

static bool in_peers(const struct node *n, raft_id id)
{
	for (uint32_t i = 0; i < n->o.n_peers; i++) {
		if (n->o.peers[i].id == id) {
			return true;
		}
	}
	return false;
}

static void list(struct node *n, struct resp_buf *b)
{
	const struct raft_config *c = raft_config_get(n->raft);
	resp_buf_array(b, c->n);
	for (uint32_t i = 0; i < c->n; i++) {
		char line[160];
		raft_id id = c->servers[i].id;
		const char *host = "?";
		unsigned port = 0;
		for (uint32_t k = 0; k < n->o.n_peers; k++) {
			if (n->o.peers[k].id == id) {
				host = n->o.peers[k].host;
				port = n->o.peers[k].port;
			}
		}
		snprintf(line, sizeof(line), "%u %s %s:%u%s", id,
			 c->servers[i].role == RAFT_VOTER ? "voter" : "learner",
			 host, port, id == n->leader ? " leader" : "");
		resp_buf_bulk_str(b, line);
	}
}

static void change_error(struct resp_buf *b, int rv, raft_id id)
{
	switch (rv) {
	case FR_BUSY:
		resp_buf_error(b, "BUSY a membership change or transfer is "
				  "in progress (or this leader's term has not "
				  "committed yet); retry");
		break;
	case FR_AGAIN:
		resp_buf_error(b,
			       "TRYAGAIN node %u is still catching up; "
			       "retry",
			       id);
		break;
	case FR_NOTFOUND:
		resp_buf_error(b, "ERR node %u is not a member", id);
		break;
	case FR_EXISTS:
		resp_buf_error(b, "ERR node %u is already a member (or voter)",
			       id);
		break;
	case FR_INVALID:
		resp_buf_error(b, "ERR that change would leave no voter");
		break;
	default:
		resp_buf_error(b, "ERR %s", fr_strerror(rv));
	}
}

/* Propose the change; the client is answered when its entry is applied
 * (node_step.c answers configuration entries with +OK). */
static int change(struct node *n, const struct resp_req *req, uint8_t op,
		  raft_id id)
{
	struct resp_buf b;
	struct raft_event ev = {.type = RAFT_EVENT_CHANGE};
	struct raft_update u;
	struct node_pending *p;

	resp_buf_init(&b, 0);
	if (op == RAFT_CHANGE_ADD_LEARNER && !in_peers(n, id)) {
		resp_buf_error(&b,
			       "ERR node %u has no address: every node must "
			       "be in --peers (see --initial-voters)",
			       id);
		return node__reply_now(n, req, &b);
	}
	/* Waiting clients are kept in index order: propose the batch first. */
	node__propose_flush(n);
	ev.change.op = op;
	ev.change.id = id;
	int rv = node__step_update(n, &ev, &u);
	if (rv == FR_NOTLEADER) {
		resp_buf_close(&b);
		return FR_NOTLEADER;
	}
	if (rv != 0) {
		change_error(&b, rv, id);
		return node__reply_now(n, req, &b);
	}
	resp_buf_close(&b);
	p = node__pending_push(n);
	if (p == NULL) {
		return FR_BUSY; /* the change goes on; the client is told busy
				 */
	}
	p->req = *req;
	p->index = u.proposed_index;
	p->term = u.proposed_term;
	p->start_ns = node__mono_ns();
	p->deadline_ms = node__now_ms() + n->o.request_timeout_ms;
	fr_log(FR_LOG_INFO, NULL, "membership: %s %u proposed at %" PRIu64,
	       op == RAFT_CHANGE_ADD_LEARNER ? "add learner"
	       : op == RAFT_CHANGE_PROMOTE   ? "promote"
					     : "remove",
	       id, u.proposed_index);
	return 0;
}

static int transfer(struct node *n, const struct resp_req *req, raft_id to)
{
	struct resp_buf b;
	struct raft_event ev = {.type = RAFT_EVENT_TRANSFER};

	ev.transfer.to = to;
	int rv = node__step_rv(n, &ev);
	if (rv == FR_NOTLEADER) {
		return FR_NOTLEADER;
	}
	resp_buf_init(&b, 0);
	if (rv == FR_NOTFOUND) {
		resp_buf_error(&b,
			       "ERR node %u is not a member (or there is "
			       "no other voter)",
			       to);
	} else if (rv == FR_INVALID) {
		resp_buf_error(&b, "ERR node %u is this leader or a learner",
			       to);
	} else if (rv == FR_BUSY) {
		resp_buf_error(&b, "BUSY another transfer is in progress");
	} else if (rv != 0) {
		resp_buf_error(&b, "ERR %s", fr_strerror(rv));
	} else {
		struct raft_status st;
		raft_status_get(n->raft, &st);
		fr_log(FR_LOG_INFO, NULL, "transferring leadership to %u",
		       st.transfer_to);
		resp_buf_simple(&b, "OK");
	}
	return node__reply_now(n, req, &b);
}

/* Refuse an admin command to a connection without the admin password. */
static int refuse(struct node *n, const struct resp_req *req,
		  const struct resp_arg *name)
{
	struct resp_buf b;

	resp_buf_init(&b, 0);
	resp_buf_error(&b,
		       "NOPERM '%.*s' needs the admin password: AUTH with "
		       "--admin-pass first",
		       (int)(name->len < 32 ? name->len : 32), name->ptr);
	return node__reply_now(n, req, &b);
}

int node__admin(struct node *n, const struct resp_req *req, uint32_t argc,
		const struct resp_arg *argv)
{
	struct resp_buf b;
	raft_id id = 0;
	bool is_transfer = name_is(&argv[0], "RAFT.TRANSFER");
	bool is_member = name_is(&argv[0], "RAFT.MEMBER");

	if ((is_transfer || is_member) && !req->admin &&
	    !(is_member && argc == 2 && name_is(&argv[1], "LIST"))) {
		return refuse(n, req, &argv[0]);
	}
	if (is_transfer) {
		if (argc > 2 || (argc == 2 && !parse_id(&argv[1], &id))) {
			resp_buf_init(&b, 0);
			resp_buf_error(&b,
				       "ERR usage: RAFT.TRANSFER [ID 1..255]");
			return node__reply_now(n, req, &b);
		}
		return transfer(n, req, id);
	}
	if (!is_member) {
		return FR_NOTFOUND;
	}
	resp_buf_init(&b, 0);
	if (argc == 2 && name_is(&argv[1], "LIST")) {
		list(n, &b);
		return node__reply_now(n, req, &b);
	}
	uint8_t op = 0;
	if (argc == 3 && name_is(&argv[1], "ADDLEARNER")) {
		op = RAFT_CHANGE_ADD_LEARNER;
	} else if (argc == 3 && name_is(&argv[1], "PROMOTE")) {
		op = RAFT_CHANGE_PROMOTE;
	} else if (argc == 3 && name_is(&argv[1], "REMOVE")) {
		op = RAFT_CHANGE_REMOVE;
	}
	if (op == 0 || !parse_id(&argv[2], &id)) {
		resp_buf_error(&b, "ERR usage: RAFT.MEMBER LIST | "
				   "ADDLEARNER|PROMOTE|REMOVE ID (1..255)");
		return node__reply_now(n, req, &b);
	}
	resp_buf_close(&b);
	return change(n, req, op, id);
}
