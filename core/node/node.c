/* node.c — runtime lifecycle: open every part, run the loop, close. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "node_int.h"

/* epoll tags: what an event is for. */
enum {
	TAG_TICK = 1,
	TAG_FAB,
	TAG_WAL,
	TAG_RESP = NODE__TAG_RESP,
	TAG_SIG,
	TAG_METRICS,
	TAG_FWD = NODE__TAG_FWD,
};

void node_options_default(struct node_options *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->provider, sizeof(o->provider), "auto");
	o->rma = -1;
	o->fsync = true;
	o->cluster_id = 1;
	o->read_mode = NODE_READ_INDEX;
	o->forward = true;
	o->tick_ms = 10;
	o->election_ticks = 10;
	o->heartbeat_ticks = 1;
	o->snapshot_entries = 100000;
	o->snapshot_trailing = 1024;
	o->request_timeout_ms = 5000;
	o->intake_hold_us = 1000;
	o->leader_writes = NODE_LEADER_WRITES_THREAD;
	o->request_bytes_max = 64ull << 20;
	o->clients_max = 10000;
	o->client_idle_timeout_s = 300;
	o->reply_bytes_max = 16ull << 20;
	o->client_output_max = 128ull << 20;
	o->client_output_preauth_max = 64ull << 10;
	o->clients_output_total_max = 512ull << 20;
	snprintf(o->cpu_pin, sizeof(o->cpu_pin), "auto");
	snprintf(o->nic, sizeof(o->nic), "auto");
	o->snapshot_bytes_max = 4ull << 30;
	o->disk_reserve_bytes = 256ull << 20;
}

static int ep_add(struct node *n, int fd, uint32_t tag, char *errmsg)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	if (epoll_ctl(n->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "epoll_ctl: %s",
			 strerror(errno));
		return FR_IO;
	}
	return 0;
}

/* The voters a node starts with when neither its log nor a snapshot names
 * a configuration: --initial-voters, or else every --peer. */
static void bootstrap_config(const struct node_options *o,
			     struct raft_restore *rs)
{
	if (o->n_initial_voters > 0) {
		rs->config.n = o->n_initial_voters;
		for (uint32_t i = 0; i < o->n_initial_voters; i++) {
			rs->config.servers[i].id = o->initial_voters[i];
			rs->config.servers[i].role = RAFT_VOTER;
		}
		return;
	}
	rs->config.n = o->n_peers;
	for (uint32_t i = 0; i < o->n_peers; i++) {
		rs->config.servers[i].id = o->peers[i].id;
		rs->config.servers[i].role = RAFT_VOTER;
	}
}

/* The core's options from the node's (--election-ticks, --read-mode ...). */
static int raft_options_of(const struct node *n, struct raft_options *ro,
			   char *errmsg)
{
	raft_options_default(ro, n->o.id,
			     node__mono_ns() ^ ((uint64_t)n->o.id << 56));
	ro->election_ticks = n->o.election_ticks;
	ro->heartbeat_ticks = n->o.heartbeat_ticks;
	ro->tick_us = n->o.tick_ms * 1000u;
	ro->snapshot_threshold = n->o.snapshot_entries;
	ro->snapshot_trailing = n->o.snapshot_trailing;
	ro->read_round_majority = n->o.read_round_majority;
	if (n->o.read_mode == NODE_READ_LEASE) {
		/* Three ticks of margin: tick granularity and ~10% clock rate
		 * drift at 10 ticks (core/raft/raft_read.c).  The lease is
		 * measured on the clock events carry (node__step_update), so
		 * a pause of any length cannot stretch it. */
		if (ro->election_ticks < 5) {
			snprintf(errmsg, FR_ERRMSG_SIZE,
				 "--read-mode lease needs --election-ticks "
				 ">= 5 (got %u)",
				 ro->election_ticks);
			return FR_INVALID;
		}
		ro->lease_ticks = ro->election_ticks - 3;
	}
	return 0;
}

int node__raft_open(struct node *n, const struct wal_recovered *rec,
		    struct raft_restore *rs, char *errmsg)
{
	struct raft_options ro;
	int rv;

	bootstrap_config(&n->o, rs);
	/* A snapshot overrides the bootstrap configuration. */
	rv = node__snap_restore(n, rec, rs, errmsg);
	if (rv == 0) {
		rv = raft_options_of(n, &ro, errmsg);
	}
	if (rv != 0) {
		return rv;
	}
	rv = raft_open(&n->raft, &ro, rs);
	if (rv != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "raft_open: %s",
			 fr_strerror(rv));
	}
	return rv;
}

/* What a recovering node will and will not do (raft.h note 7).  A sole
 * voter has no peer to repair its log or vouch for it: it stays
 * recovering until the operator accepts the loss. */
static void log_recovering(struct node *n, raft_index x)
{
	const struct raft_config *c = raft_config_get(n->raft);
	uint32_t voters = 0;
	bool voter = false;
	for (uint32_t i = 0; i < c->n; i++) {
		if (c->servers[i].role == RAFT_VOTER) {
			voters++;
			voter = voter || c->servers[i].id == n->o.id;
		}
	}
	if (voters == 1 && voter) {
		fr_log(
		    FR_LOG_ERROR, NULL,
		    "recovering as the only voter: no peer can repair or "
		    "vouch for this log, so this node will not elect itself; "
		    "entries up to index %" PRIu64 " may be lost: restart "
		    "with --accept-data-loss to accept that "
		    "(INFO recovering:1)",
		    x);
		return;
	}
	fr_log(FR_LOG_WARN, NULL,
	       "recovering: this node counts toward no commit, and votes "
	       "plainly only for a log that reaches what it may have "
	       "acknowledged (conditionally otherwise), until a leader has "
	       "repaired its log through index %" PRIu64 " (INFO recovering:1)",
	       x);
}

static int open_raft(struct node *n, char *errmsg)
{
	struct wal_options wo;
	struct wal_recovered rec;
	struct raft_restore rs;
	int rv;

	wal_options_default(&wo, n->o.data_dir, n->o.cluster_id, n->o.id);
	wo.fsync = n->o.fsync;
	wo.recover_damage = true; /* cut damage, recover from the peers */
	wo.caller_kicks = true;	  /* node_io log_kick, after the sends */
	wo.thread_start = node__place_thread_start;
	wo.thread_ctx = n;
	if (n->o.segment_bytes != 0) {
		wo.segment_bytes = n->o.segment_bytes;
	}
	rv = wal_open(&n->wal, &wo, &rec, errmsg);
	if (rv != 0) {
		return rv;
	}
	memset(&rs, 0, sizeof(rs));
	rs.term = rec.term;
	rs.vote = rec.vote;
	rs.entries = rec.entries;
	rs.n_entries = rec.n_entries;
	rs.recover_index = rec.recover_index;
	rs.recover_index_term = rec.recover_index_term;
	if (rec.recover_index != 0 && n->o.accept_data_loss) {
		fr_log(
		    FR_LOG_ERROR, NULL,
		    "--accept-data-loss: not recovering although the log may "
		    "lack acknowledged entries up to index %" PRIu64
		    "; this node votes again at once",
		    rec.recover_index);
		rv = wal_recovering_clear(n->wal);
		if (rv != 0) {
			snprintf(errmsg, FR_ERRMSG_SIZE, "%s",
				 wal_errmsg(n->wal));
			return rv;
		}
		rs.recover_index = 0;
		rs.recover_index_term = 0;
	}
	rv = node__raft_open(n, &rec, &rs, errmsg);
	if (rv != 0) {
		return rv;
	}
	fr_log(FR_LOG_INFO, NULL,
	       "recovered term %" PRIu64 " vote %u, %u entries%s%s%s", rec.term,
	       rec.vote, rec.n_entries,
	       rec.torn_tail ? ", torn tail dropped" : "",
	       rec.corrupt ? ", DAMAGED records cut" : "",
	       rec.direct_io ? ", O_DIRECT" : "");
	if (rs.recover_index != 0) {
		log_recovering(n, rs.recover_index);
	}
	n->reported_index =
	    rec.n_entries ? rec.entries[rec.n_entries - 1].index : 0;
	n->reported_term =
	    rec.n_entries ? rec.entries[rec.n_entries - 1].term : 0;
	n->term = rec.term;
	uint32_t recovered = rec.n_entries;
	wal_recovered_release(n->wal);
	if (rs.snapshot_index > 0 && recovered > 0) {
		struct raft_status st;

		raft_status_get(n->raft, &st);
		if (st.last_index == rs.snapshot_index) {
			/* The stored log does not continue the snapshot (a
			 * crash during an install): the core dropped it, so
			 * must the disk, or later entries would follow it. */
			rv = wal_compact(n->wal, UINT64_MAX);
			if (rv != 0) {
				snprintf(errmsg, FR_ERRMSG_SIZE, "%s",
					 wal_errmsg(n->wal));
				return rv;
			}
		}
	}
	return 0;
}

static int open_fabric(struct node *n, char *errmsg)
{
	struct fab_options fo;
	struct fab_info fi;
	int rv;

	if (n->o.n_peers < 2) {
		return 0; /* one-node cluster: nobody to talk to */
	}
	node__fab_options(n, &fo);
	rv = fab_open(&n->fab, &fo, errmsg);
	if (rv != 0) {
		return rv;
	}
	fab_term_set(n->fab, n->term);
	fab_info_get(n->fab, &fi);
	fr_log(FR_LOG_INFO, NULL, "fabric: provider %s, rma %s, wait fd %s",
	       fi.provider, fi.rma ? "on" : "off",
	       fi.wait_fd ? "yes" : "no (polling)");
	return 0;
}

static int open_client(struct node *n, char *errmsg)
{
	struct resp_config rc;

	resp_config_default(&rc);
	rc.listen = n->o.client;
	rc.requirepass = n->o.requirepass;
	rc.version = "0.1.0";
	rc.adminpass = n->o.adminpass;
	rc.idle_timeout_ms = n->o.client_idle_timeout_s * 1000u;
	int rv = node__fd_budget(&n->o, &rc.clients_max, errmsg);
	if (rv != 0) {
		return rv;
	}
	rc.request_bytes_max = n->o.request_bytes_max;
	if (rc.bulk_bytes_max > rc.request_bytes_max) {
		rc.bulk_bytes_max = rc.request_bytes_max;
	}
	rc.output_bytes_max = n->o.client_output_max;
	rc.output_noauth_bytes_max = n->o.client_output_preauth_max;
	rc.output_total_bytes_max = n->o.clients_output_total_max;
	/* A MULTI queue becomes one TXN: one entry of at most KVC_ARGC_MAX
	 * words, and one request that a follower forwards to the leader,
	 * whose front takes at most request_bytes_max (the setting is the
	 * same on every node): arguments up to half of it, and words of at
	 * most 16 bytes of RESP framing each up to a quarter. */
	rc.multi_cmds_max = KVC_TXN_CMDS_MAX;
	rc.multi_args_max = KVC_ARGC_MAX;
	if (rc.multi_args_max > rc.request_bytes_max / 64) {
		rc.multi_args_max = (uint32_t)(rc.request_bytes_max / 64);
	}
	if (rc.multi_bytes_max > rc.request_bytes_max / 2) {
		rc.multi_bytes_max = rc.request_bytes_max / 2;
	}
	return resp_server_open(&n->srv, &rc, &node__backend, n, errmsg);
}

static int open_fds(struct node *n, char *errmsg)
{
	struct itimerspec its;
	sigset_t mask;
	int rv;

	n->ep = epoll_create1(EPOLL_CLOEXEC);
	n->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	n->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (n->ep < 0 || n->tfd < 0 || n->sfd < 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "epoll/timerfd/signalfd: %s",
			 strerror(errno));
		return FR_IO;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_sec = n->o.tick_ms / 1000;
	its.it_interval.tv_nsec = (long)(n->o.tick_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	timerfd_settime(n->tfd, 0, &its, NULL);
	if ((rv = ep_add(n, n->tfd, TAG_TICK, errmsg)) != 0 ||
	    (rv = ep_add(n, n->sfd, TAG_SIG, errmsg)) != 0 ||
	    (rv = ep_add(n, wal_event_fd(n->wal), TAG_WAL, errmsg)) != 0 ||
	    (rv = ep_add(n, resp_server_fd(n->srv), TAG_RESP, errmsg)) != 0) {
		return rv;
	}
	if (n->fab != NULL && fab_wait_fd(n->fab) >= 0 &&
	    (rv = ep_add(n, fab_wait_fd(n->fab), TAG_FAB, errmsg)) != 0) {
		return rv;
	}
	if (n->mfd >= 0 && (rv = ep_add(n, n->mfd, TAG_METRICS, errmsg)) != 0) {
		return rv;
	}
	return 0;
}

static int check_options(const struct node_options *o, char *errmsg)
{
	bool self = false;

	if (o->id == 0 || o->n_peers == 0 || o->n_peers > RAFT_MAX_SERVERS) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "need --id and --peers");
		return FR_INVALID;
	}
	for (uint32_t i = 0; i < o->n_peers; i++) {
		self = self || o->peers[i].id == o->id;
	}
	if (!self) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "--peers does not list id %u",
			 o->id);
		return FR_INVALID;
	}
	if (o->data_dir[0] == '\0' || o->client[0] == '\0' ||
	    o->cluster_id == 0 || o->tick_ms == 0 ||
	    (o->n_peers > 1 && o->secret_len == 0)) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "need a data dir, client address, cluster id, tick "
			 "and (with peers) a secret");
		return FR_INVALID;
	}
	if (o->n_peers > 1 && (o->secret_len < FAB_SECRET_BYTES_MIN ||
			       o->secret_len > FAB_SECRET_BYTES_MAX)) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "the cluster secret must be %u..%u bytes, got %zu",
			 FAB_SECRET_BYTES_MIN, FAB_SECRET_BYTES_MAX,
			 o->secret_len);
		return FR_INVALID;
	}
	return 0;
}

/* The state machine, with its tables allocated now: one log line per
 * table and the total, so the memory the sizes cost is visible. */
static int open_kvc(struct node *n, char *errmsg)
{
	struct kvc_table_info t[KVC_TABLES];
	int rv = kvc_open(&n->kvc, &n->o.kvc);

	if (rv != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "kvc_open: %s%s",
			 rv == FR_INVALID ? "a --kvc-* table size is out of "
					    "range: "
					  : "",
			 fr_strerror(rv));
		return rv;
	}
	uint64_t total = kvc_memory(n->kvc, t);
	for (unsigned i = 0; i < KVC_TABLES; i++) {
		fr_log(FR_LOG_INFO, NULL,
		       "kvcache table %s: %" PRIu64 " entries, %" PRIu64
		       " bytes (%.1f MiB)",
		       t[i].name, t[i].entries, t[i].bytes,
		       (double)t[i].bytes / (1024.0 * 1024.0));
	}
	fr_log(FR_LOG_INFO, NULL,
	       "kvcache tables: %" PRIu64 " bytes (%.1f MiB) in total, "
	       "allocated now; pages are touched as the tables fill",
	       total, (double)total / (1024.0 * 1024.0));
	return 0;
}

int node_open(struct node **out, const struct node_options *o, char *errmsg)
{
	sigset_t mask;
	struct node *n;
	int rv;

	*out = NULL;
	rv = check_options(o, errmsg);
	if (rv != 0) {
		return rv;
	}
	/* Block the stop signals before any thread starts (the wal writer,
	 * libfabric's progress threads inherit the mask), so that only the
	 * signalfd ever sees them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	n = fr_calloc(1, sizeof(*n));
	if (n == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "out of memory");
		return FR_NOMEM;
	}
	n->o = *o;
	n->ep = n->tfd = n->sfd = n->mfd = -1;
	n->fwd.fd = -1;
	n->marker_slot = -1;
	n->role = RAFT_FOLLOWER;
	n->io = &node__io_real;
	n->io_ctx = n;
	assert(node__io_check(n->io));
	rv = node__place_open(n, errmsg);
	if (rv == 0) {
		rv = open_kvc(n, errmsg);
	}
	if (rv == 0) {
		rv = open_raft(n, errmsg);
	}
	if (rv == 0) {
		rv = open_fabric(n, errmsg);
	}
	if (rv == 0) {
		rv = open_client(n, errmsg);
	}
	if (rv == 0 && n->o.metrics[0] != '\0') {
		rv = node__metrics_open(n, errmsg);
	}
	if (rv == 0) {
		rv = open_fds(n, errmsg);
	}
	if (rv != 0) {
		node_close(n);
		return rv;
	}
	(void)node__wall_ms(); /* a test clock hook says so now */
	fr_log(FR_LOG_INFO, NULL, "node %u up: clients on %s, data in %s",
	       n->o.id, n->o.client, n->o.data_dir);
	*out = n;
	return 0;
}

uint16_t node_client_port(const struct node *n)
{
	return resp_server_port(n->srv);
}

void node_close(struct node *n)
{
	if (n == NULL) {
		return;
	}
	node__pending_free(n);
	node__fwd_free(n);
	if (n->srv != NULL) {
		resp_server_close(n->srv);
	}
	fab_close(n->fab);
	wal_close(n->wal);
	raft_close(n->raft);
	kvc_close(n->kvc);
	node__place_close(n);
	for (uint32_t i = 0; i < n->batch_cap; i++) {
		kvc_reply_free(&n->data[i]);
	}
	fr_free(n->data);
	fr_free(n->bufs);
	node__reads_free(n);
	node__snap_close(n);
	kvc_reply_free(&n->reply);
	node__metrics_close(n);
	if (n->ep >= 0) {
		close(n->ep);
	}
	if (n->tfd >= 0) {
		close(n->tfd);
	}
	if (n->sfd >= 0) {
		close(n->sfd);
	}
	fr_free(n);
}

const char *node_read_mode_name(int mode)
{
	switch (mode) {
	case NODE_READ_INDEX:
		return "index";
	case NODE_READ_LEASE:
		return "lease";
	case NODE_READ_LOG:
		return "log";
	case NODE_READ_STALE:
		return "stale";
	}
	return "unknown";
}

static void on_tick(struct node *n)
{
	struct raft_event ev = {.type = RAFT_EVENT_TICK};
	uint64_t count = 0;

	if (read(n->tfd, &count, sizeof(count)) != sizeof(count)) {
		return;
	}
	/* After a long stall (SIGSTOP, swap) catch up a little, not fully:
	 * firing a whole election timeout at once helps nobody. */
	if (count > 3) {
		count = 3;
	}
	for (uint64_t i = 0; i < count && n->fatal == 0; i++) {
		node__step(n, &ev);
		n->ticks++;
	}
	resp_server_cron(n->srv);
	node__metrics_timeouts(n);
	if (n->ticks % 10 == 0) {
		node__pending_timeouts(n);
		node__reads_timeouts(n);
		node__fwd_timeouts(n);
	}
}

static void on_fab_msg(void *ctx, const struct raft_message *m)
{
	struct node *n = ctx;
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};

	if (n->fatal != 0) {
		return;
	}
	if ((m->type == RAFT_MSG_APPEND && m->append.n_entries > 0) ||
	    m->type == RAFT_MSG_SNAPSHOT) {
		n->fab_active_ns = node__mono_ns(); /* more will follow */
	}
	if (m->type == RAFT_MSG_SNAPSHOT && !node__snap_admit(n, m)) {
		return; /* refused whole, the leader told (node_snap.c) */
	}
	node__stage_acked(n, m);
	ev.receive.message = m;
	node__step(n, &ev);
}

static void on_signal(struct node *n)
{
	struct signalfd_siginfo si;

	while (read(n->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (!n->stopping) {
			fr_log(FR_LOG_INFO, NULL, "signal %u: shutting down",
			       si.ssi_signo);
		}
		n->stopping = true;
	}
}

static void dispatch(struct node *n, uint32_t tag, uint32_t events)
{
	uint64_t v;

	switch (tag) {
	case TAG_FWD:
		node__fwd_handle(n, events);
		break;
	case TAG_TICK:
		on_tick(n);
		break;
	case TAG_WAL:
		if (read(wal_event_fd(n->wal), &v, sizeof(v)) < 0) {
			/* EAGAIN: already drained; the check below runs. */
		}
		node__persisted_check(n);
		break;
	case TAG_RESP:
		if (node__intake_hold(n)) {
			break; /* read when this node's round is over */
		}
		if (resp_server_handle(n->srv) != 0) {
			fr_log(FR_LOG_ERROR, NULL, "client front: %s",
			       resp_server_errmsg(n->srv));
		}
		break;
	case TAG_SIG:
		on_signal(n);
		break;
	case TAG_METRICS:
		node__metrics_accept(n);
		break;
	default: /* TAG_FAB: fab_poll() runs every iteration */
		if (tag >= NODE__TAG_HTTP &&
		    tag < NODE__TAG_HTTP + NODE_HTTP_CONNS_MAX) {
			node__metrics_conn(n, tag - NODE__TAG_HTTP, events);
		}
		break;
	}
}

/*
 * How long epoll may sleep (NULL: until an fd event; the tick timerfd fires
 * every tick anyway).  With a fabric wait fd, sleep on it once fab_trywait()
 * says so; while completions are pending poll again at once (16 times,
 * then 1 ms naps, so a provider that never settles cannot spin a core). Without
 * one (shm), poll on a timer: 20 us while messages flowed in the last 5 ms, 1
 * ms when idle, so an idle node costs little and a busy one does not add a
 * millisecond to every round trip.
 */
static const struct timespec *fab_wait_time(struct node *n, struct timespec *ts)
{
	if (n->fab == NULL) {
		return NULL;
	}
	ts->tv_sec = 0;
	if (fab_wait_fd(n->fab) >= 0) {
		if (fab_trywait(n->fab) == 0) {
			n->busy_polls = 0;
			return NULL;
		}
		/* A provider that keeps saying "poll first" gets the old
		 * 1 ms nap after 16 immediate polls: never a busy loop. */
		ts->tv_nsec = n->busy_polls++ < 16 ? 0 : 1000000;
		return ts;
	}
	/* Busy: clients wait on this node, or entries moved recently
	 * (heartbeats alone do not count: an idle cluster stays cheap). */
	bool active = node__requests_waiting(n) ||
		      node__mono_ns() - n->fab_active_ns < 5000000ull;
	ts->tv_nsec = active ? 20000 : 1000000;
	return ts;
}

/* The fabric's wait, cut short to the end of a client-front hold. */
static const struct timespec *wait_time(struct node *n, struct timespec *ts)
{
	const struct timespec *t = fab_wait_time(n, ts);
	uint64_t hold = node__intake_wait_ns(n);

	if (hold == UINT64_MAX ||
	    (t != NULL &&
	     (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec <=
		 hold)) {
		return t;
	}
	ts->tv_sec = (time_t)(hold / 1000000000ull);
	ts->tv_nsec = (long)(hold % 1000000000ull);
	return ts;
}

/*
 * A follower writes and syncs the entries it received in the loop thread,
 * once per iteration after the fabric's messages were taken (one batch for
 * all of them), and acknowledges in the same iteration.  Handing them to
 * the wal's writer thread and back through its event fd cost two more
 * thread switches per batch on the acknowledgement's path (measured: ~20%
 * fewer switches per write at 1 and 16 clients).
 *
 * A leader can do the same (--leader-writes inline): the round's
 * AppendEntries are sent first (carry_out() kicks the log after the
 * messages), so the followers write while the leader does, and the two
 * hand-offs are saved.  Before the client-front hold an inline leader
 * halved the 16-client throughput (it could not read clients or send the
 * next AppendEntries during its flush); with the hold it has little else
 * to do during a round, and a quiet alternated run measured 1-client p50
 * -6%, 16 clients +7% SETs/s and -11% p99, but 50 clients -6% SETs/s
 * (docs/benchmarks.md History).  What inline gives up: during a flush the
 * loop sends no heartbeat and takes no acknowledgement, so a leader whose
 * disk stalls holds every commit for as long (with the thread, two
 * followers commit without it) and a stall beyond the election timeout
 * costs an election.  So the default stays the writer thread.
 */
static void log_flush(struct node *n)
{
	if (!n->flush_due || n->fatal != 0) {
		return;
	}
	n->flush_due = false;
	int rv = wal_flush(n->wal);

	(void)rv; /* sticky: node__persisted_check() reports and stops */
	node__persisted_check(n);
}

int node_run(struct node *n, char *errmsg)
{
	struct epoll_event evs[32];
	uint64_t stop_deadline = 0;

	while (n->fatal == 0) {
		struct timespec ts;
		int k = epoll_pwait2(n->ep, evs, 32, wait_time(n, &ts), NULL);

		if (k < 0 && errno != EINTR) {
			snprintf(n->errmsg, sizeof(n->errmsg),
				 "epoll_pwait2: %s", strerror(errno));
			n->fatal = FR_IO;
			break;
		}
		for (int i = 0; i < k && n->fatal == 0; i++) {
			dispatch(n, evs[i].data.u32, evs[i].events);
		}
		if (n->fab != NULL && n->fatal == 0) {
			int rv = fab_poll(n->fab, on_fab_msg, n);

			if (rv < 0) {
				snprintf(n->errmsg, sizeof(n->errmsg),
					 "fabric failed: %s", fr_strerror(-rv));
				n->fatal = -rv;
			}
		}
		log_flush(n);
		node__persisted_check(n);
		node__propose_flush(n);
		node__read_flush(n);
		if (n->snap_wanted != 0 && n->fatal == 0) {
			raft_index idx = n->snap_wanted;

			n->snap_wanted = 0;
			node__snap_take(n, idx);
		}
		log_flush(n); /* not left queued while the loop sleeps */
		resp_server_flush(n->srv);
		node__stage_flushed(n);
		node__reply_trim(n);
		node__intake_check(n);
		if (n->stopping) {
			struct resp_stats st;

			if (stop_deadline == 0) {
				resp_server_shutdown(n->srv);
				stop_deadline = node__mono_ns() + 2000000000ull;
			}
			resp_server_stats(n->srv, &st);
			if (st.clients == 0 ||
			    node__mono_ns() > stop_deadline) {
				break;
			}
		}
	}
	if (n->fatal != 0) {
		fr_log(FR_LOG_ERROR, NULL, "stopping: %s", n->errmsg);
		snprintf(errmsg, FR_ERRMSG_SIZE, "%s", n->errmsg);
		return n->fatal;
	}
	fr_log(FR_LOG_INFO, NULL, "clean shutdown");
	return 0;
}
