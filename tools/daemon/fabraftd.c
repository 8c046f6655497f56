/* fabraftd.c — the daemon: parse flags and config, run the node. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fabraftd_log.h"
#include "node.h"
#include "opt.h"
#include "trace.h"

/* Exit codes (docs/operations.md). */
enum {
	EXIT_CLEAN = 0,	  /* SIGTERM/SIGINT, clean shutdown */
	EXIT_RUNTIME = 1, /* fatal error while running (storage, fabric) */
	EXIT_USAGE = 2,	  /* bad flag or config */
	EXIT_STARTUP = 3, /* could not start: data dir, provider, address */
};

static const char default_secret[] = "fabraft-default-insecure-secret";

struct flags {
	struct node_options o;	 /* being filled */
	bool have_client;	 /* --client given */
	bool have_data_dir;	 /* --data-dir given */
	bool have_secret;	 /* --secret-file given */
	int log_level;		 /* enum fr_log_level */
	char peers_client[2048]; /* --client-peers, parsed at the end */
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fabraftd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '\0' || *s == '-') {
		return false;
	}
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < lo || v > hi) {
		return false;
	}
	*out = v;
	return true;
}

/* "HOST:PORT" with a port 1..65535 (0 allowed when @zero). */
static bool split_hostport(const char *s, char *host, size_t hcap,
			   uint16_t *port, bool zero)
{
	const char *colon = strrchr(s, ':');
	uint64_t p;

	if (colon == NULL || (size_t)(colon - s) >= hcap ||
	    !parse_u64(colon + 1, zero ? 0 : 1, 65535, &p)) {
		return false;
	}
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)p;
	return true;
}

/* Walk "ID=HOST:PORT,..." calling @each.  Returns false on bad syntax. */
static bool parse_list(const char *s, struct flags *f,
		       bool (*each)(struct flags *, uint64_t, const char *))
{
	char buf[2048];
	char *save = NULL;

	if (strlen(s) >= sizeof(buf) || *s == '\0') {
		return false;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		uint64_t id;

		if (eq == NULL) {
			return false;
		}
		*eq = '\0';
		if (!parse_u64(t, 1, RAFT_ID_MAX, &id) ||
		    !each(f, id, eq + 1)) {
			return false;
		}
	}
	return true;
}

static bool add_peer(struct flags *f, uint64_t id, const char *addr)
{
	struct fab_peer_addr *p;

	for (uint32_t i = 0; i < f->o.n_peers; i++) {
		if (f->o.peers[i].id == id) {
			return false; /* duplicate id */
		}
	}
	if (f->o.n_peers == RAFT_MAX_SERVERS) {
		return false;
	}
	p = &f->o.peers[f->o.n_peers];
	if (!split_hostport(addr, p->host, sizeof(p->host), &p->port, false) ||
	    p->host[0] == '\0') {
		return false;
	}
	p->id = (raft_id)id;
	f->o.n_peers++;
	return true;
}

static bool parse_voters(struct flags *f, const char *v)
{
	char buf[1024];
	char *save = NULL;

	if (strlen(v) >= sizeof(buf)) {
		return false;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	f->o.n_initial_voters = 0;
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long id = strtoul(t, &end, 10);

		if (*end != '\0' || t[0] == '-' || id == 0 ||
		    id > RAFT_ID_MAX ||
		    f->o.n_initial_voters == RAFT_MAX_SERVERS) {
			return false;
		}
		for (uint32_t i = 0; i < f->o.n_initial_voters; i++) {
			if (f->o.initial_voters[i] == id) {
				return false;
			}
		}
		f->o.initial_voters[f->o.n_initial_voters++] = (raft_id)id;
	}
	return f->o.n_initial_voters > 0;
}

static bool add_client_peer(struct flags *f, uint64_t id, const char *addr)
{
	char host[64];
	uint16_t port;

	if (!split_hostport(addr, host, sizeof(host), &port, false)) {
		return false;
	}
	snprintf(f->o.client_addrs[id], NODE_ADDR_MAX, "%s", addr);
	return true;
}

/* ---- Cluster secret (issue 15, item 7) ---------------------------------
 * The secret is checked where it is read, against the handshake's limits
 * (fab.h), so a bad file is a usage error (exit 2), not a failed start.
 * Without --secret-file the built-in secret, which is public (it is in
 * this source), is used only when every peer address is loopback: then
 * only this machine's processes can reach the raft ports. */

/* The --help texts spell the limits out. */
_Static_assert(FAB_SECRET_BYTES_MIN == 16 && FAB_SECRET_BYTES_MAX == 256,
	       "update the secret-file help and docs/operations.md");

/* --secret-file: the key is the file's bytes, trailing newlines cut. */
static int read_secret(const struct opt *opt, const char *path, char *why,
		       size_t why_cap)
{
	struct flags *f = opt->dst;
	char buf[FAB_SECRET_BYTES_MAX + 64]; /* room for newlines, and to see
						that a file is too long */
	ssize_t k;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, why_cap, "%s: %s", path, strerror(errno));
		return -1;
	}
	k = read(fd, buf, sizeof(buf));
	close(fd);
	if (k < 0) {
		snprintf(why, why_cap, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((size_t)k == sizeof(buf)) {
		snprintf(why, why_cap,
			 "%s: more than %zu bytes; the secret must be %u..%u "
			 "bytes",
			 path, sizeof(buf) - 1, FAB_SECRET_BYTES_MIN,
			 FAB_SECRET_BYTES_MAX);
		return -1;
	}
	while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == '\r')) {
		k--;
	}
	if ((size_t)k < FAB_SECRET_BYTES_MIN ||
	    (size_t)k > FAB_SECRET_BYTES_MAX) {
		snprintf(why, why_cap,
			 "%s: %zd bytes; the secret must be %u..%u bytes "
			 "(trailing newlines not counted)",
			 path, k, FAB_SECRET_BYTES_MIN, FAB_SECRET_BYTES_MAX);
		return -1;
	}
	memcpy(f->o.secret, buf, (size_t)k);
	f->o.secret_len = (size_t)k;
	return 0;
}

/* 127.0.0.0/8, ::1, ::ffff:127.x.y.z or "localhost" (never resolved:
 * this runs before any network use). */
static bool host_is_loopback(const char *h)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(h, "localhost") == 0) {
		return true;
	}
	if (inet_pton(AF_INET, h, &a4) == 1) {
		return (ntohl(a4.s_addr) >> 24) == 127;
	}
	if (inet_pton(AF_INET6, h, &a6) == 1) {
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	}
	return false;
}

/* No --secret-file: the built-in secret, only with loopback peers. */
static int default_secret_use(struct flags *f)
{
	struct node_options *o = &f->o;

	for (uint32_t i = 0; i < o->n_peers; i++) {
		if (!host_is_loopback(o->peers[i].host)) {
			return fail("no --secret-file, and peer %u's address "
				    "%s is not loopback: the built-in secret "
				    "is public, so it is used only when every "
				    "peer is on this machine; give every node "
				    "the same --secret-file of %u..%u bytes "
				    "(`fabraft cluster start` writes one)",
				    o->peers[i].id, o->peers[i].host,
				    FAB_SECRET_BYTES_MIN, FAB_SECRET_BYTES_MAX);
		}
	}
	fprintf(stderr, "fabraftd: no --secret-file: using the built-in "
			"secret because every peer address is loopback\n");
	memcpy(o->secret, default_secret, sizeof(default_secret) - 1);
	o->secret_len = sizeof(default_secret) - 1;
	return 0;
}
/* ---- end of the cluster secret block ---------------------------------- */

/* --peers: "ID=HOST:PORT,..." replaces the list. */
static int set_peers(const struct opt *opt, const char *v, char *why,
		     size_t why_cap)
{
	struct flags *f = opt->dst;

	f->o.n_peers = 0;
	return parse_list(v, f, add_peer) ? 0 : -1;
}

static int set_voters(const struct opt *opt, const char *v, char *why,
		      size_t why_cap)
{
	return parse_voters(opt->dst, v) ? 0 : -1;
}

/* --client, --metrics: "HOST:PORT" (port 0: any) into char[opt->size]. */
static int set_hostport(const struct opt *opt, const char *v, char *why,
			size_t why_cap)
{
	char host[64];
	uint16_t port;

	if (!split_hostport(v, host, sizeof(host), &port, true) ||
	    strlen(v) >= opt->size) {
		return -1;
	}
	memcpy(opt->dst, v, strlen(v) + 1);
	return 0;
}

static const struct opt_choice providers[] = {
    {"auto", 0}, {"verbs", 0},	 {"tcp", 0}, {"net", 0},
    {"shm", 0},	 {"sockets", 0}, {NULL, 0},
};
static const struct opt_choice rma_modes[] = {
    {"on", 1}, {"off", 0}, {"auto", -1}, {NULL, 0}};
static const struct opt_choice leader_writes[] = {
    {"thread", NODE_LEADER_WRITES_THREAD},
    {"inline", NODE_LEADER_WRITES_INLINE},
    {NULL, 0},
};
static const struct opt_choice read_modes[] = {
    {"index", NODE_READ_INDEX}, {"linearizable", NODE_READ_INDEX},
    {"lease", NODE_READ_LEASE}, {"log", NODE_READ_LOG},
    {"stale", NODE_READ_STALE}, {NULL, 0},
};
static const struct opt_choice log_levels[] = {
    {"error", FR_LOG_ERROR},
    {"warn", FR_LOG_WARN},
    {"info", FR_LOG_INFO},
    {"debug", FR_LOG_DEBUG},
    {NULL, 0},
};

static int finish(struct flags *f);

static const struct opt_cmd fabraftd_cmd = {
    .prog = "fabraftd",
    .usage = "fabraftd --id N --peers ID=HOST:PORT,... [options]",
    .about = "Raft over libfabric for KV-cache placement metadata; "
	     "RESP clients.",
    .epilog = "Exit: 0 clean shutdown on SIGTERM/SIGINT, 1 fatal "
	      "runtime error,\n2 bad flags or config, 3 cannot start "
	      "(data dir, provider, address).\n",
};

/* Flags and config lines, both through this table (opt.h). */
static int parse_args(struct flags *f, int argc, char **argv, bool *help)
{
	struct node_options *o = &f->o;
	const struct opt opts[] = {
	    {"id", OPT_UINT, &o->id, 1, RAFT_ID_MAX,
	     .help = "this node's id, 1..255"},
	    {"peers", OPT_CALL, f, .fn = set_peers,
	     .want = "ID=HOST:PORT,... with unique ids 1..255", .arg = "LIST",
	     .help = "1=HOST:PORT,2=HOST:PORT,... raft addresses, this node "
		     "included"},
	    {"initial-voters", OPT_CALL, f, .fn = set_voters,
	     .want = "ID,ID,... (unique ids 1..255)", .arg = "LIST",
	     .def = "all",
	     .help = "1,2,3: the first configuration's voters; the other "
		     "peers join later with `fabraft member add ID`"},
	    {"client", OPT_CALL, o->client, .size = sizeof(o->client),
	     .fn = set_hostport, .want = "HOST:PORT", .seen = &f->have_client,
	     .arg = "HOST:PORT", .def = "127.0.0.1:6378+id",
	     .help = "RESP listener"},
	    {"client-peers", OPT_STRING, f->peers_client,
	     .size = sizeof(f->peers_client), .arg = "LIST",
	     .def = "peer host and port 6378+id",
	     .help = "1=HOST:PORT,... client addresses of the others, for "
		     "-MOVED"},
	    {"data-dir", OPT_STRING, o->data_dir, .size = sizeof(o->data_dir),
	     .seen = &f->have_data_dir, .arg = "DIR", .def = "./fabraft-<id>",
	     .help = "log and metadata"},
	    {"provider", OPT_ENUM, o->provider, .size = sizeof(o->provider),
	     .choices = providers, .arg = "P", .def = "auto",
	     .help = "auto|verbs|tcp|net|shm|sockets"},
	    {"rma", OPT_ENUM, &o->rma, .choices = rma_modes,
	     .arg = "on|off|auto", .def = "auto",
	     .help = "AppendEntries by RMA write"},
	    {"fsync", OPT_BOOL, &o->fsync, .def = "on",
	     .help = "off is NOT durable; tests only"},
	    {"wal-segment-bytes", OPT_U64, &o->segment_bytes, 1u << 20,
	     1ull << 40, .def = "67108864",
	     .help = "log segment size, 1 MiB..1 TiB"},
	    {"leader-writes", OPT_ENUM, &o->leader_writes,
	     .choices = leader_writes, .arg = "thread|inline", .def = "thread",
	     .help = "where a leader writes its log: thread: in the log's "
		     "writer thread, the loop running on meanwhile; inline: "
		     "in its event loop once the round's AppendEntries are "
		     "sent (no thread hand-offs; the loop waits for each "
		     "flush)"},
	    {"cluster-id", OPT_U64, &o->cluster_id, 1, UINT64_MAX, .def = "1",
	     .help = "64-bit id shared by the cluster"},
	    {"secret-file", OPT_CALL, f, .fn = read_secret,
	     .want = "a readable file of 16..256 bytes",
	     .seen = &f->have_secret, .arg = "FILE",
	     .help = "peer HMAC key: the file's bytes, 16..256 after "
		     "trailing newlines are cut; without it a built-in, "
		     "public secret is used, and only when every peer "
		     "address is loopback"},
	    {"read-round-majority", OPT_BOOL, &o->read_round_majority,
	     .def = "off",
	     .help = "a ReadIndex round goes only to the fewest followers "
		     "that make a majority (the latest to answer), not to "
		     "every follower: less CPU per read, but a read waits "
		     "for that follower (or the next heartbeat)"},
	    {"read-mode", OPT_ENUM, &o->read_mode, .choices = read_modes,
	     .arg = "MODE", .def = "index",
	     .help = "index: linearizable reads by ReadIndex, one heartbeat "
		     "round, no log write;\nlease: no round while the leader "
		     "lease holds (assumes bounded clock drift);\nlog: "
		     "through the log (a marker entry);\nstale: local reads "
		     "on any node"},
	    {"forward", OPT_BOOL, &o->forward, .def = "on",
	     .help = "followers forward commands to the leader; off: they "
		     "answer -MOVED"},
	    {"requirepass", OPT_STRING, o->requirepass,
	     .size = sizeof(o->requirepass), .arg = "PW",
	     .help = "clients must AUTH"},
	    /* Client admission and AUTH (issue 15, resconn). */
	    {"admin-pass", OPT_STRING, o->adminpass,
	     .size = sizeof(o->adminpass), .arg = "PW", .def = "none",
	     .help = "RAFT.MEMBER changes and RAFT.TRANSFER need AUTH with "
		     "PW (which also passes --requirepass); the same on "
		     "every node"},
	    {"client-idle-timeout", OPT_UINT, &o->client_idle_timeout_s, 0,
	     604800, .def = "300",
	     .help = "seconds: close a client connection idle this long "
		     "(nothing owed either way), 0 = never"},
	    {"max-request-bytes", OPT_U64, &o->request_bytes_max, 1024,
	     1u << 30, .def = "67108864", .help = "largest client request"},
	    {"max-clients", OPT_UINT, &o->clients_max, 1, 1000000,
	     .def = "10000",
	     .help = "concurrent client connections; capped at start by the "
		     "open-file limit minus a reserve for the log, snapshots "
		     "and peers (the value used is logged)"},
	    /* Reply memory bounds (issue 15 item 3; docs/resp.md). */
	    {"reply-bytes-max", OPT_U64, &o->reply_bytes_max, 1024, 1ull << 40,
	     .def = "16777216",
	     .help = "largest reply of one read (MGET, KVC.LOOKUP, ...); "
		     "over it the read fails with an error, the reply is "
		     "never built in full"},
	    {"client-output-max", OPT_U64, &o->client_output_max, 1024,
	     1ull << 40, .def = "134217728",
	     .help = "replies queued for one client; a client over it is "
		     "disconnected"},
	    {"client-output-preauth-max", OPT_U64,
	     &o->client_output_preauth_max, 1024, 1ull << 40, .def = "65536",
	     .help = "the same before AUTH (with --requirepass); at most "
		     "--client-output-max"},
	    {"clients-output-total-max", OPT_U64, &o->clients_output_total_max,
	     1024, 1ull << 40, .def = "536870912",
	     .help = "replies queued over all clients (and read replies "
		     "waiting for ReadIndex); over it the client holding the "
		     "most is disconnected; at least --client-output-max"},
	    {"tick-ms", OPT_UINT, &o->tick_ms, 1, 1000, .def = "10",
	     .help = "Raft tick; election 10-20 ticks"},
	    {"election-ticks", OPT_UINT, &o->election_ticks, 3, 10000,
	     .def = "10", .help = "base election timeout in ticks"},
	    {"snapshot-entries", OPT_UINT, &o->snapshot_entries, 0, 1u << 30,
	     .def = "100000",
	     .help = "snapshot the state machine and compact the log every "
		     "N applied entries, 0 = never"},
	    {"snapshot-trailing", OPT_UINT, &o->snapshot_trailing, 0, 1u << 30,
	     .def = "1024",
	     .help = "entries kept behind a snapshot for slow followers"},
	    {"accept-data-loss", OPT_FLAG, &o->accept_data_loss,
	     .help = "a node whose log was found damaged starts recovering "
		     "(no counted ack, conditional votes only, until a leader "
		     "repaired it); this clears that "
		     "state at start: only when no undamaged majority is left, "
		     "acknowledged writes may be lost (docs/operations.md)"},
	    /* ---- Incoming snapshots bounded (issue 15, item 8) ---- */
	    {"snapshot-bytes-max", OPT_U64, &o->snapshot_bytes_max, 0,
	     1ull << 50, .def = "4294967296",
	     .help = "largest snapshot this node accepts from a leader, 0 = "
		     "no limit; a larger one is refused before it is "
		     "written"},
	    {"disk-reserve-bytes", OPT_U64, &o->disk_reserve_bytes, 0,
	     1ull << 50, .def = "268435456",
	     .help = "free space an incoming snapshot must leave in the data "
		     "dir's file system"},
	    /* ---- end of the snapshot block ---- */
	    /* ---- The state machine's tables (kvc_open); the same on every
	     * node.  Not given: the kvcache default (docs/operations.md). */
	    {"kvc-blocks-max", OPT_UINT, &o->kvc.blocks_max, 1,
	     KVC_BLOCKS_MAX_MAX, .def = "1048576",
	     .help = "KV-cache blocks resident (64 bytes + 16 of table each)"},
	    {"kvc-locations-max", OPT_UINT, &o->kvc.locations_max, 1,
	     KVC_LOCATIONS_MAX_MAX, .def = "kvc-blocks-max",
	     .help = "block locations (32 bytes each)"},
	    {"kvc-long-hashes-max", OPT_UINT, &o->kvc.long_hashes_max, 1,
	     KVC_LONG_HASHES_MAX_MAX, .def = "65536",
	     .help = "blocks whose hash or parent is over 16 bytes (36 bytes "
		     "each)"},
	    {"kvc-nodes-max", OPT_UINT, &o->kvc.nodes_max, 1, KVC_NODES_MAX_MAX,
	     .def = "256", .help = "storage nodes"},
	    {"kvc-namespaces-max", OPT_UINT, &o->kvc.namespaces_max, 1,
	     KVC_NAMESPACES_MAX_MAX, .def = "1024",
	     .help = "live KV-cache namespaces"},
	    {"kvc-reservations-max", OPT_UINT, &o->kvc.reservations_max, 1,
	     KVC_RESERVATIONS_MAX_MAX, .def = "65536",
	     .help = "live KVC.ALLOC reservations"},
	    {"kv-keys-max", OPT_UINT, &o->kvc.kv_keys_max, 1,
	     KVC_KV_KEYS_MAX_MAX, .def = "65536",
	     .help = "generic KV keys (SET, MSET, INCR)"},
	    {"kvc-events-max", OPT_UINT, &o->kvc.events_max, 1,
	     KVC_EVENTS_MAX_MAX, .def = "65536",
	     .help = "KV events kept for KVC.EVENTS (168 bytes each, "
		     "allocated at start); an older from_seq gets RESYNC"},
	    {"request-timeout-ms", OPT_UINT, &o->request_timeout_ms, 10,
	     3600000, .def = "5000", .help = "client waits at most this long"},
	    {"intake-hold-us", OPT_UINT, &o->intake_hold_us, 0, 1000000,
	     .def = "1000",
	     .help = "client requests that arrive while this node's requests "
		     "wait for a replication round are read when it ends "
		     "(one batch, one AppendEntries, one log write), or "
		     "after this many microseconds; 0 = read at once"},
	    {"metrics", OPT_CALL, o->metrics, .size = sizeof(o->metrics),
	     .fn = set_hostport, .want = "HOST:PORT", .arg = "HOST:PORT",
	     .help = "Prometheus text on http://HOST:PORT/metrics; at most "
		     "16 connections (the oldest idle one gives way), 8 KiB "
		     "requests, 2 s per connection"},
	    {"nic", OPT_STRING, o->nic, .size = sizeof(o->nic),
	     .arg = "NAME|auto|none", .def = "auto",
	     .help = "the NIC whose NUMA node gets the loop and wal threads "
		     "and the fabric's rings (auto: the device under the "
		     "provider and address used; none: place nothing)"},
	    {"cpu-pin", OPT_STRING, o->cpu_pin, .size = sizeof(o->cpu_pin),
	     .arg = "auto|off|LIST", .def = "auto",
	     .help = "auto: bind the loop and wal threads to the NIC's NUMA "
		     "node; off: bind no thread; LIST (e.g. 2-3): bind them "
		     "to those CPUs"},
	    {"topology-xml", OPT_STRING, o->topology_xml,
	     .size = sizeof(o->topology_xml), .arg = "FILE",
	     .help = "tests only: decide the placement on this hwloc XML "
		     "topology instead of this machine's; nothing is bound"},
	    {"log-level", OPT_ENUM, &f->log_level, .choices = log_levels,
	     .def = "info", .help = "log verbosity"},
	    {"config", OPT_CONFIG,
	     .help = "'name = value' lines, same names as the flags; flags "
		     "given later override"},
	};
	int done =
	    opt_parse_main(&fabraftd_cmd, opts, OPT_COUNT(opts), argc, argv);

	*help = done == 0;
	return done >= 0 ? done : finish(f);
}

/* Fill what was not given: client address, data dir, secret, -MOVED
 * addresses. */
static int finish(struct flags *f)
{
	struct node_options *o = &f->o;

	if (o->id == 0 || o->n_peers == 0) {
		return fail("need --id and --peers (see --help)");
	}
	for (uint32_t i = 0; i < o->n_initial_voters; i++) {
		bool known = false;

		for (uint32_t k = 0; k < o->n_peers; k++) {
			known |= o->peers[k].id == o->initial_voters[i];
		}
		if (!known) {
			return fail("--initial-voters: %u is not in --peers",
				    o->initial_voters[i]);
		}
	}
	if (!f->have_client) {
		snprintf(o->client, sizeof(o->client), "127.0.0.1:%u",
			 6378u + o->id);
	}
	if (!f->have_data_dir) {
		snprintf(o->data_dir, sizeof(o->data_dir), "fabraft-%u", o->id);
	}
	for (uint32_t i = 0; i < o->n_peers; i++) {
		const struct fab_peer_addr *p = &o->peers[i];

		snprintf(o->client_addrs[p->id], NODE_ADDR_MAX, "%s:%u",
			 p->host, 6378u + p->id);
	}
	snprintf(o->client_addrs[o->id], NODE_ADDR_MAX, "%s", o->client);
	if (f->peers_client[0] != '\0' &&
	    !parse_list(f->peers_client, f, add_client_peer)) {
		return fail("--client-peers: want ID=HOST:PORT,... with ids "
			    "1..255, got '%s'",
			    f->peers_client);
	}
	if (!f->have_secret && o->n_peers > 1) {
		return default_secret_use(f);
	}
	return 0;
}

/* Reply and output buffers of a megabyte or more come and go with client
 * load.  glibc raises its mmap threshold each time such a buffer is freed,
 * after which they come from the heap and stay resident once the clients
 * leave (issue 15: 1.2 GB after an MGET flood).  A fixed threshold keeps
 * every buffer over 256 KiB in its own mapping, returned on free. */
static void malloc_tune(void)
{
#ifdef __GLIBC__
	if (mallopt(M_MMAP_THRESHOLD, 256 * 1024) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, 1024 * 1024) != 1) {
		fr_log(FR_LOG_WARN, NULL,
		       "mallopt refused: memory freed "
		       "after large replies may stay "
		       "resident");
	}
#endif
}

int main(int argc, char **argv)
{
	static struct flags f;
	char errmsg[FR_ERRMSG_SIZE] = "";
	struct node *n;
	int rv;

	bool help;

	node_options_default(&f.o);
	f.log_level = FR_LOG_INFO;
	rv = parse_args(&f, argc, argv, &help);
	if (rv != 0 || help) {
		return rv;
	}
	fabraftd_log_start(f.o.id, f.log_level);
	malloc_tune();
	rv = node_open(&n, &f.o, errmsg);
	if (rv != 0) {
		fprintf(stderr, "fabraftd: cannot start: %s (%s)\n", errmsg,
			fr_strerror(rv));
		return rv == FR_INVALID ? EXIT_USAGE : EXIT_STARTUP;
	}
	rv = node_run(n, errmsg);
	node_close(n);
	if (rv != 0) {
		fprintf(stderr, "fabraftd: stopped: %s (%s)\n", errmsg,
			fr_strerror(rv));
		return EXIT_RUNTIME;
	}
	return EXIT_CLEAN;
}
