/* fabraftd.c — the daemon: parse flags and config, run the node. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fabraftd_log.h"
#include "node.h"
#include "trace.h"

/* Exit codes (docs/operations.md). */
enum {
	EXIT_CLEAN = 0,	  /* SIGTERM/SIGINT, clean shutdown */
	EXIT_RUNTIME = 1, /* fatal error while running (storage, fabric) */
	EXIT_USAGE = 2,	  /* bad flag or config */
	EXIT_STARTUP = 3, /* could not start: data dir, provider, address */
};

static const char usage[] =
    "usage: fabraftd --id N --peers ID=HOST:PORT,... [options]\n"
    "Raft over libfabric for KV-cache placement metadata; RESP clients.\n"
    "\n"
    "  --id N                 this node's id (1..255)\n"
    "  --peers LIST           1=HOST:PORT,2=HOST:PORT,... raft addresses,\n"
    "                         this node included\n"
    "  --initial-voters LIST  1,2,3: the first configuration's voters;\n"
    "                         the other peers join later with\n"
    "                         `fabraft member add ID` (default: all)\n"
    "  --client HOST:PORT     RESP listener (default 127.0.0.1:6378+id)\n"
    "  --client-peers LIST    1=HOST:PORT,... client addresses of the\n"
    "                         others, for -MOVED (default: peer host and\n"
    "                         port 6378+id)\n"
    "  --data-dir DIR         log and metadata (default ./fabraft-<id>)\n"
    "  --provider P           auto|verbs|tcp|net|shm|sockets (auto)\n"
    "  --rma on|off|auto      AppendEntries by RMA write (auto)\n"
    "  --fsync on|off         off is NOT durable; tests only (on)\n"
    "  --wal-segment-bytes N  log segment size (67108864)\n"
    "  --cluster-id N         64-bit id shared by the cluster (1)\n"
    "  --secret-file FILE     peer HMAC key, 1..64 bytes (a built-in\n"
    "                         default with a warning when absent)\n"
    "  --read-mode MODE       index: linearizable reads by ReadIndex,\n"
    "                         one heartbeat round, no log write;\n"
    "                         lease: no round while the leader lease\n"
    "                         holds (assumes bounded clock drift);\n"
    "                         log: through the log (a marker entry);\n"
    "                         stale: local reads on any node (index)\n"
    "  --forward on|off       followers forward commands to the leader;\n"
    "                         off: they answer -MOVED (on)\n"
    "  --requirepass PW       clients must AUTH\n"
    "  --max-request-bytes N  largest client request (67108864)\n"
    "  --max-clients N        concurrent client connections (10000)\n"
    "  --tick-ms N            Raft tick (10); election 10-20 ticks\n"
    "  --election-ticks N     base election timeout in ticks (10)\n"
    "  --snapshot-entries N   snapshot the state machine and compact the\n"
    "                         log every N applied entries, 0 = never\n"
    "                         (100000)\n"
    "  --snapshot-trailing N  entries kept behind a snapshot for slow\n"
    "                         followers (1024)\n"
    "  --request-timeout-ms N client waits at most this long (5000)\n"
    "  --metrics HOST:PORT    Prometheus text on http://HOST:PORT/metrics\n"
    "  --cpu-pin auto|off|LIST pin the loop thread (auto)\n"
    "  --log-level error|warn|info|debug (info)\n"
    "  --config FILE          'name = value' lines, same names as the\n"
    "                         flags; flags given later override\n"
    "  --help                 this text\n"
    "Exit: 0 clean shutdown on SIGTERM/SIGINT, 1 fatal runtime error,\n"
    "2 bad flags or config, 3 cannot start (data dir, provider, address).\n";

static const char default_secret[] = "fabraft-default-insecure-secret";

struct flags {
	struct node_options o;	 /* being filled */
	bool have_client;	 /* --client given */
	bool have_data_dir;	 /* --data-dir given */
	bool have_secret;	 /* --secret-file given */
	char peers_client[2048]; /* --client-peers, parsed at the end */
	int log_level;		 /* enum fr_log_level */
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

static int on_off(const char *v, bool *out)
{
	if (strcmp(v, "on") == 0) {
		*out = true;
	} else if (strcmp(v, "off") == 0) {
		*out = false;
	} else {
		return -1;
	}
	return 0;
}

static int read_secret(struct flags *f, const char *path)
{
	char buf[128];
	ssize_t k;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "fabraftd: --secret-file %s: %s\n", path,
			strerror(errno));
		return EXIT_USAGE;
	}
	k = read(fd, buf, sizeof(buf));
	close(fd);
	while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == '\r')) {
		k--;
	}
	if (k <= 0 || k > 64) {
		return fail("--secret-file %s: want 1..64 bytes%s", path, "");
	}
	memcpy(f->o.secret, buf, (size_t)k);
	f->o.secret_len = (size_t)k;
	f->have_secret = true;
	return 0;
}

static int set_u32(const char *name, const char *v, uint64_t lo, uint64_t hi,
		   uint32_t *out)
{
	uint64_t x;

	if (!parse_u64(v, lo, hi, &x)) {
		return fail("--%s: bad value '%s'", name, v);
	}
	*out = (uint32_t)x;
	return 0;
}

static int copy_str(const char *name, const char *v, char *dst, size_t cap)
{
	if (strlen(v) >= cap || v[0] == '\0') {
		return fail("--%s: empty or too long: '%s'", name, v);
	}
	snprintf(dst, cap, "%s", v);
	return 0;
}

static int config_file(struct flags *f, const char *path);

/* Apply one option (flag or config line).  Returns 0 or an exit code. */
static int apply(struct flags *f, const char *name, const char *v)
{
	struct node_options *o = &f->o;
	uint64_t x;
	bool b;

	if (strcmp(name, "id") == 0) {
		if (!parse_u64(v, 1, RAFT_ID_MAX, &x)) {
			return fail("--id: want 1..255, got '%s'%s", v, "");
		}
		o->id = (raft_id)x;
	} else if (strcmp(name, "peers") == 0) {
		o->n_peers = 0;
		if (!parse_list(v, f, add_peer)) {
			return fail("--peers: want ID=HOST:PORT,... with "
				    "unique ids 1..255, got '%s'%s",
				    v, "");
		}
	} else if (strcmp(name, "initial-voters") == 0) {
		if (!parse_voters(f, v)) {
			return fail("--initial-voters: want ID,ID,... (unique "
				    "ids 1..255), got '%s'%s",
				    v, "");
		}
	} else if (strcmp(name, "client-peers") == 0) {
		if (strlen(v) >= sizeof(f->peers_client)) {
			return fail("--client-peers: too long%s%s", "", "");
		}
		snprintf(f->peers_client, sizeof(f->peers_client), "%s", v);
	} else if (strcmp(name, "client") == 0) {
		char host[64];
		uint16_t port;

		if (!split_hostport(v, host, sizeof(host), &port, true)) {
			return fail("--client: want HOST:PORT, got '%s'%s", v,
				    "");
		}
		f->have_client = true;
		return copy_str(name, v, o->client, sizeof(o->client));
	} else if (strcmp(name, "data-dir") == 0) {
		f->have_data_dir = true;
		return copy_str(name, v, o->data_dir, sizeof(o->data_dir));
	} else if (strcmp(name, "provider") == 0) {
		static const char *ok[] = {"auto", "verbs", "tcp",
					   "net",  "shm",   "sockets"};
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			if (strcmp(v, ok[i]) == 0) {
				return copy_str(name, v, o->provider,
						sizeof(o->provider));
			}
		}
		return fail("--provider: want auto|verbs|tcp|net|shm|sockets, "
			    "got '%s'%s",
			    v, "");
	} else if (strcmp(name, "rma") == 0) {
		if (strcmp(v, "auto") == 0) {
			o->rma = -1;
		} else if (on_off(v, &b) == 0) {
			o->rma = b ? 1 : 0;
		} else {
			return fail("--rma: want on|off|auto, got '%s'%s", v,
				    "");
		}
	} else if (strcmp(name, "fsync") == 0) {
		if (on_off(v, &o->fsync) != 0) {
			return fail("--fsync: want on|off, got '%s'%s", v, "");
		}
	} else if (strcmp(name, "wal-segment-bytes") == 0) {
		if (!parse_u64(v, 1u << 20, 1ull << 40, &o->segment_bytes)) {
			return fail("--wal-segment-bytes: want 1 MiB..1 TiB, "
				    "got '%s'",
				    v);
		}
	} else if (strcmp(name, "cluster-id") == 0) {
		if (!parse_u64(v, 1, UINT64_MAX, &o->cluster_id)) {
			return fail("--cluster-id: want 1..2^64-1, got '%s'%s",
				    v, "");
		}
	} else if (strcmp(name, "secret-file") == 0) {
		return read_secret(f, v);
	} else if (strcmp(name, "read-mode") == 0) {
		if (strcmp(v, "index") == 0 || strcmp(v, "linearizable") == 0) {
			o->read_mode = NODE_READ_INDEX;
		} else if (strcmp(v, "lease") == 0) {
			o->read_mode = NODE_READ_LEASE;
		} else if (strcmp(v, "log") == 0) {
			o->read_mode = NODE_READ_LOG;
		} else if (strcmp(v, "stale") == 0) {
			o->read_mode = NODE_READ_STALE;
		} else {
			return fail("--read-mode: want index|lease|log|stale, "
				    "got '%s'%s",
				    v, "");
		}
	} else if (strcmp(name, "forward") == 0) {
		if (on_off(v, &o->forward) != 0) {
			return fail("--forward: want on|off, got '%s'", v);
		}
	} else if (strcmp(name, "requirepass") == 0) {
		return copy_str(name, v, o->requirepass,
				sizeof(o->requirepass));
	} else if (strcmp(name, "max-request-bytes") == 0) {
		if (!parse_u64(v, 1024, 1ull << 30, &o->request_bytes_max)) {
			return fail("--max-request-bytes: want 1024..2^30, got "
				    "'%s'%s",
				    v, "");
		}
	} else if (strcmp(name, "max-clients") == 0) {
		return set_u32(name, v, 1, 1000000, &o->clients_max);
	} else if (strcmp(name, "tick-ms") == 0) {
		return set_u32(name, v, 1, 1000, &o->tick_ms);
	} else if (strcmp(name, "election-ticks") == 0) {
		return set_u32(name, v, 3, 10000, &o->election_ticks);
	} else if (strcmp(name, "snapshot-entries") == 0) {
		return set_u32(name, v, 0, 1u << 30, &o->snapshot_entries);
	} else if (strcmp(name, "snapshot-trailing") == 0) {
		return set_u32(name, v, 0, 1u << 30, &o->snapshot_trailing);
	} else if (strcmp(name, "request-timeout-ms") == 0) {
		return set_u32(name, v, 10, 3600000, &o->request_timeout_ms);
	} else if (strcmp(name, "metrics") == 0) {
		char host[64];
		uint16_t port;

		if (!split_hostport(v, host, sizeof(host), &port, true)) {
			return fail("--metrics: want HOST:PORT, got '%s'%s", v,
				    "");
		}
		return copy_str(name, v, o->metrics, sizeof(o->metrics));
	} else if (strcmp(name, "cpu-pin") == 0) {
		return copy_str(name, v, o->cpu_pin, sizeof(o->cpu_pin));
	} else if (strcmp(name, "log-level") == 0) {
		for (int l = FR_LOG_ERROR; l <= FR_LOG_DEBUG; l++) {
			if (strcmp(v, fr_log_level_name(l)) == 0) {
				f->log_level = l;
				return 0;
			}
		}
		return fail("--log-level: want error|warn|info|debug, got "
			    "'%s'%s",
			    v, "");
	} else if (strcmp(name, "config") == 0) {
		return config_file(f, v);
	} else {
		return fail("unknown option '%s'%s (see --help)", name, "");
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t') {
		s++;
	}
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r')) {
		*--e = '\0';
	}
	return s;
}

static int config_file(struct flags *f, const char *path)
{
	static int depth;
	char line[4096];
	FILE *fp;
	int lineno = 0;
	int rv = 0;

	if (depth > 0) {
		return fail("--config: %s includes a config%s", path, "");
	}
	fp = fopen(path, "r");
	if (fp == NULL) {
		return fail("--config %s: %s", path, strerror(errno));
	}
	depth++;
	while (rv == 0 && fgets(line, sizeof(line), fp) != NULL) {
		char *s = trim(line);
		char *eq;

		lineno++;
		if (*s == '#' || *s == '\0') {
			continue;
		}
		eq = strchr(s, '=');
		if (eq == NULL) {
			fprintf(stderr,
				"fabraftd: %s:%d: want 'name = value'\n", path,
				lineno);
			rv = EXIT_USAGE;
			break;
		}
		*eq = '\0';
		rv = apply(f, trim(s), trim(eq + 1));
		if (rv != 0) {
			fprintf(stderr, "fabraftd: (in %s line %d)\n", path,
				lineno);
		}
	}
	depth--;
	fclose(fp);
	return rv;
}

/* Fill what was not given: client address, data dir, secret, -MOVED
 * addresses. */
static int finish(struct flags *f)
{
	struct node_options *o = &f->o;

	if (o->id == 0 || o->n_peers == 0) {
		return fail("need --id and --peers (see --help)%s%s", "", "");
	}
	for (uint32_t i = 0; i < o->n_initial_voters; i++) {
		bool known = false;

		for (uint32_t k = 0; k < o->n_peers; k++) {
			known |= o->peers[k].id == o->initial_voters[i];
		}
		if (!known) {
			return fail("--initial-voters: %u is not in --peers%s",
				    o->initial_voters[i], "");
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
		return fail("--client-peers: want ID=HOST:PORT,..., got "
			    "'%s'%s",
			    f->peers_client, "");
	}
	if (!f->have_secret && o->n_peers > 1) {
		fprintf(stderr,
			"fabraftd: warning: no --secret-file; using the "
			"built-in default secret (anyone who knows it "
			"can join)\n");
		memcpy(o->secret, default_secret, sizeof(default_secret) - 1);
		o->secret_len = sizeof(default_secret) - 1;
	}
	return 0;
}

static int parse_args(struct flags *f, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char name[64];
		const char *v;
		const char *eq;
		int rv;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			exit(EXIT_CLEAN);
		}
		if (strncmp(a, "--", 2) != 0) {
			return fail("unexpected argument '%s'%s", a, "");
		}
		eq = strchr(a, '=');
		if (eq != NULL) { /* --name=value */
			if ((size_t)(eq - a - 2) >= sizeof(name)) {
				return fail("bad option '%s'%s", a, "");
			}
			memcpy(name, a + 2, (size_t)(eq - a - 2));
			name[eq - a - 2] = '\0';
			v = eq + 1;
		} else {
			if (strlen(a + 2) >= sizeof(name)) {
				return fail("bad option '%s'%s", a, "");
			}
			snprintf(name, sizeof(name), "%s", a + 2);
			if (i + 1 >= argc) {
				return fail("--%s needs a value%s", name, "");
			}
			v = argv[++i];
		}
		rv = apply(f, name, v);
		if (rv != 0) {
			return rv;
		}
	}
	return finish(f);
}

int main(int argc, char **argv)
{
	static struct flags f;
	char errmsg[FR_ERRMSG_SIZE] = "";
	struct node *n;
	int rv;

	node_options_default(&f.o);
	f.log_level = FR_LOG_INFO;
	rv = parse_args(&f, argc, argv);
	if (rv != 0) {
		return rv;
	}
	fabraftd_log_start(f.o.id, f.log_level);
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
