/* test_client_cluster.c — the C client library against a real 3-node
 * fabraftd cluster on 127.0.0.1: discovery, -MOVED, AUTH, pipelines,
 * every typed call against the state, a leader killed with SIGKILL. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fabraft_client.h"

/*
 * The cluster: three fabraftd started here with --forward off (so that a
 * follower answers -MOVED instead of forwarding) and a requirepass.  One
 * cluster serves every test; the leader kill comes last.
 */

#define NODES	 3
#define PASSWORD "client-test-pw"

struct cluster {
	char dir[64];	      /* temp directory */
	int cport;	      /* first client port */
	int rport;	      /* first raft port */
	pid_t pid[NODES];     /* daemons */
	char addr[NODES][32]; /* client addresses */
	char all[128];	      /* "a,b,c" */
};

static struct cluster cl;
static const char *skip_why;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool port_free(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0) {
		close(fd);
	}
	return ok;
}

/* 2 x NODES free ports below the ephemeral range. */
static bool pick_ports(void)
{
	srand((unsigned)getpid() ^ (unsigned)now_ms());
	for (int t = 0; t < 50; t++) {
		int base = 20000 + (rand() % 600) * 20;
		bool ok = true;

		for (int p = base; p < base + 2 * NODES && ok; p++) {
			ok = port_free(p);
		}
		if (ok) {
			cl.cport = base;
			cl.rport = base + NODES;
			return true;
		}
	}
	return false;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void write_conf(int i)
{
	char peers[256] = "";
	char cpeers[256] = "";
	char text[2048];
	char path[128];

	for (int k = 0; k < NODES; k++) {
		snprintf(peers + strlen(peers), sizeof(peers) - strlen(peers),
			 "%s%d=127.0.0.1:%d", k ? "," : "", k + 1,
			 cl.rport + k);
		snprintf(cpeers + strlen(cpeers),
			 sizeof(cpeers) - strlen(cpeers), "%s%d=127.0.0.1:%d",
			 k ? "," : "", k + 1, cl.cport + k);
	}
	snprintf(text, sizeof(text),
		 "id = %d\npeers = %s\nclient = 127.0.0.1:%d\n"
		 "client-peers = %s\ndata-dir = %s/data%d\nprovider = tcp\n"
		 "fsync = off\ncluster-id = %d\nsecret-file = %s/secret\n"
		 "forward = off\nrequirepass = " PASSWORD "\n",
		 i + 1, peers, cl.cport + i, cpeers, cl.dir, i + 1,
		 (int)getpid() | 1, cl.dir);
	snprintf(path, sizeof(path), "%s/node%d.conf", cl.dir, i + 1);
	write_file(path, text);
}

static pid_t spawn(int i)
{
	char conf[128];
	char log[128];
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/node%d.conf", cl.dir, i + 1);
	snprintf(log, sizeof(log), "%s/node%d.log", cl.dir, i + 1);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(FABRAFTD_PATH, "fabraftd", "--config", conf,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

static struct fabraft_client *client_on(const char *endpoints, bool discover,
					const char *pw, int deadline_ms)
{
	struct fabraft_options o;
	struct fabraft_client *c;
	char err[256];

	fabraft_options_default(&o);
	o.endpoints = endpoints;
	o.password = pw;
	o.discover_leader = discover;
	o.deadline_ms = deadline_ms;
	if (fabraft_open(&c, &o, err, sizeof(err)) != 0) {
		fail_msg("fabraft_open: %s", err);
	}
	return c;
}

/* The node index that says it leads, or -1. */
static int leader_index(void)
{
	for (int i = 0; i < NODES; i++) {
		struct fabraft_client *c;
		const char *argv[] = {"INFO", "replication"};
		struct fabraft_reply r;
		bool leads = false;

		if (cl.pid[i] <= 0) {
			continue;
		}
		c = client_on(cl.addr[i], false, PASSWORD, 500);
		if (fabraft_command(c, 2, argv, NULL, &r) == 0 &&
		    r.type == '$') {
			leads = strstr(r.str, "role:leader") != NULL;
		}
		fabraft_reply_free(&r);
		fabraft_close(c);
		if (leads) {
			return i;
		}
	}
	return -1;
}

static int setup(void **state)
{
	char path[128];
	int64_t t0;

	(void)state;
	if (access(FABRAFTD_PATH, X_OK) != 0) {
		skip_why = "fabraftd is not built (" FABRAFTD_PATH ")";
		return 0;
	}
	snprintf(cl.dir, sizeof(cl.dir), "/tmp/fabraft-client.XXXXXX");
	if (mkdtemp(cl.dir) == NULL || !pick_ports()) {
		skip_why = "no temp directory or no free ports";
		return 0;
	}
	snprintf(path, sizeof(path), "%s/secret", cl.dir);
	write_file(path, "00112233445566778899aabbccddeeff"
			 "00112233445566778899aabbccddeeff\n");
	chmod(path, 0600);
	for (int i = 0; i < NODES; i++) {
		write_conf(i);
		snprintf(cl.addr[i], sizeof(cl.addr[i]), "127.0.0.1:%d",
			 cl.cport + i);
		snprintf(cl.all + strlen(cl.all),
			 sizeof(cl.all) - strlen(cl.all), "%s%s", i ? "," : "",
			 cl.addr[i]);
		cl.pid[i] = spawn(i);
	}
	t0 = now_ms();
	while (leader_index() < 0 && now_ms() - t0 < 15000) {
		usleep(100000);
	}
	return leader_index() >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	for (int i = 0; i < NODES; i++) {
		if (cl.pid[i] > 0) {
			kill(cl.pid[i], SIGKILL);
			waitpid(cl.pid[i], NULL, 0);
		}
	}
	if (cl.dir[0] != '\0' && getenv("KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cl.dir);
		if (system(cmd) != 0) {
			fprintf(stderr, "could not remove %s\n", cl.dir);
		}
	}
	return 0;
}

#define NEED_CLUSTER()                                                         \
	do {                                                                   \
		if (skip_why != NULL) {                                        \
			printf("SKIP: %s\n", skip_why);                        \
			skip();                                                \
		}                                                              \
	} while (0)

static void auth(void **state)
{
	struct fabraft_client *c;
	int64_t t0 = now_ms();

	(void)state;
	NEED_CLUSTER();
	c = client_on(cl.all, true, "wrong", 5000);
	assert_int_equal(fabraft_connect(c), FR_AUTH);
	assert_non_null(strstr(fabraft_errmsg(c), "WRONGPASS"));
	fabraft_close(c);
	c = client_on(cl.all, true, NULL, 5000);
	assert_int_equal(fabraft_set(c, "a", "1", 1), FR_AUTH);
	assert_non_null(strstr(fabraft_errmsg(c), "NOAUTH"));
	fabraft_close(c);
	assert_true(now_ms() - t0 < 2000); /* not retried */
	c = client_on(cl.all, true, PASSWORD, 5000);
	assert_int_equal(fabraft_set(c, "a", "1", 1), 0);
	fabraft_close(c);
}

/* Endpoints that are all followers: INFO leads to the leader. */
static void discovery(void **state)
{
	int l = leader_index();
	char eps[80];
	struct fabraft_client *c;
	struct fabraft_client_stats st;

	(void)state;
	NEED_CLUSTER();
	assert_true(l >= 0);
	snprintf(eps, sizeof(eps), "%s,%s", cl.addr[(l + 1) % NODES],
		 cl.addr[(l + 2) % NODES]);
	c = client_on(eps, true, PASSWORD, 5000);
	assert_int_equal(fabraft_set(c, "d", "1", 1), 0);
	assert_string_equal(fabraft_server(c), cl.addr[l]);
	fabraft_client_stats(c, &st);
	assert_int_equal(st.moved, 0);
	assert_true(st.discoveries >= 1);
	fabraft_close(c);
}

/* Without discovery, a follower's -MOVED leads to the leader. */
static void moved(void **state)
{
	int l = leader_index();
	struct fabraft_client *c;
	struct fabraft_client_stats st;

	(void)state;
	NEED_CLUSTER();
	c = client_on(cl.addr[(l + 1) % NODES], false, PASSWORD, 5000);
	assert_int_equal(fabraft_set(c, "m", "1", 1), 0);
	assert_string_equal(fabraft_server(c), cl.addr[l]);
	fabraft_client_stats(c, &st);
	assert_int_equal(st.moved, 1);
	fabraft_close(c);
}

static void pipeline(void **state)
{
	enum { N = 200 };
	static char keys[N][16];
	static char vals[N][16];
	static const char *argv[N][3];
	struct fabraft_cmd cmds[N];
	struct fabraft_reply r[N];
	int rvs[N];
	struct fabraft_client *c;

	(void)state;
	NEED_CLUSTER();
	c = client_on(cl.all, true, PASSWORD, 5000);
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "p%d", i / 2);
		snprintf(vals[i], sizeof(vals[i]), "v%d", i / 2);
		argv[i][0] = i % 2 ? "GET" : "SET";
		argv[i][1] = keys[i];
		argv[i][2] = vals[i];
		cmds[i] = (struct fabraft_cmd){i % 2 ? 2 : 3, argv[i], NULL};
	}
	assert_int_equal(fabraft_pipeline(c, N, cmds, r, rvs), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(rvs[i], 0);
		if (i % 2) {
			assert_int_equal(r[i].type, '$');
			assert_string_equal(r[i].str, vals[i]);
		} else {
			assert_string_equal(r[i].str, "OK");
		}
		fabraft_reply_free(&r[i]);
	}
	fabraft_close(c);
}

static void kv(void **state)
{
	struct fabraft_client *c;
	const char *keys[] = {"k1", "k2", "k3"};
	const void *vals[] = {"one", "two"};
	size_t vlens[] = {3, 3};
	struct fabraft_values mv;
	struct fabraft_reply r;
	const char *ping[] = {"PING"};
	char *v;
	size_t len;
	bool found;
	bool set;
	uint64_t n;
	int64_t x;
	int rv;

	(void)state;
	NEED_CLUSTER();
	c = client_on(cl.all, true, PASSWORD, 5000);
	assert_int_equal(fabraft_command(c, 1, ping, NULL, &r), 0);
	assert_string_equal(r.str, "PONG");
	fabraft_reply_free(&r);
	assert_int_equal(fabraft_set(c, "k1", "a\0b", 3), 0);
	assert_int_equal(fabraft_get(c, "k1", &v, &len, &found), 0);
	assert_true(found);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "a\0b", 3);
	fabraft_free(v);
	assert_int_equal(fabraft_get(c, "nope", &v, &len, &found), 0);
	assert_false(found);
	assert_null(v);
	assert_int_equal(fabraft_set_ifeq(c, "k1", "c", 1, "x", 1, &set), 0);
	assert_false(set);
	assert_int_equal(fabraft_set_ifeq(c, "k1", "c", 1, "a\0b", 3, &set), 0);
	assert_true(set);
	assert_int_equal(fabraft_mset(c, keys, vals, vlens, 2), 0);
	assert_int_equal(fabraft_mget(c, keys, 3, &mv), 0);
	assert_int_equal(mv.n, 3);
	assert_string_equal(mv.v[0].data, "one");
	assert_string_equal(mv.v[1].data, "two");
	assert_false(mv.v[2].found);
	fabraft_values_free(&mv);
	assert_int_equal(fabraft_exists(c, keys, 3, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(fabraft_del(c, keys, 3, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(fabraft_incr(c, "ctr", &x), 0);
	assert_int_equal(x, 1);
	rv = fabraft_incrby(c, "ctr", 41, &x);
	if (rv == FR_REFUSED && strstr(fabraft_errmsg(c), "unknown command")) {
		/* INCRBY comes with the Redis-compatibility work (spec S3). */
		printf("NOTE: INCRBY not checked: %s\n", fabraft_errmsg(c));
	} else {
		assert_int_equal(rv, 0);
		assert_int_equal(x, 42);
	}
	assert_int_equal(fabraft_set(c, "str", "abc", 3), 0);
	assert_int_equal(fabraft_incr(c, "str", &x), FR_REFUSED);
	assert_non_null(strstr(fabraft_errmsg(c), "not an integer"));
	fabraft_close(c);
}

static const char *const H1 = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
static const char *const H2 = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
static const char *const H3 = "1111222233334444555566667777aaaa";

static struct fabraft_hash hash(const char *hex)
{
	struct fabraft_hash h;

	assert_int_equal(fabraft_hash_parse(&h, hex, strlen(hex)), 0);
	return h;
}

static void kvc_nodes(struct fabraft_client *c)
{
	struct fabraft_tier_cap t1[] = {{"hbm", 4194304}, {"dram", 1 << 30}};
	struct fabraft_tier_cap t2[] = {{"dram", 1 << 30}};
	uint32_t two = 2;
	struct fabraft_node_list nl;
	uint64_t n;

	assert_int_equal(
	    fabraft_kvc_node_add(c, 1, "10.0.0.1:7000", 0, t1, 2, 0), 0);
	assert_int_equal(
	    fabraft_kvc_node_add(c, 2, "10.0.0.2:7000", 1, t2, 1, 60000), 0);
	assert_int_equal(
	    fabraft_kvc_node_add(c, 1, "10.0.0.1:7000", 0, t1, 2, 0),
	    FR_REFUSED);
	assert_non_null(strstr(fabraft_errmsg(c), "already exists"));
	assert_int_equal(fabraft_kvc_node_heartbeat(c, 60000, &two, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(fabraft_kvc_node_list(c, &nl), 0);
	assert_int_equal(nl.n, 2);
	assert_int_equal(nl.nodes[0].id, 1);
	assert_string_equal(nl.nodes[0].addr, "10.0.0.1:7000");
	assert_int_equal(nl.nodes[0].n_tiers, 2);
	assert_string_equal(nl.nodes[0].tiers[0].tier, "hbm");
	assert_int_equal(nl.nodes[0].tiers[0].capacity, 4194304);
	assert_int_equal(nl.nodes[0].lease_expiry_ms, 0);
	assert_int_equal(nl.nodes[1].numa, 1);
	assert_true(nl.nodes[1].alive);
	assert_true(nl.nodes[1].lease_expiry_ms > 0);
	fabraft_node_list_free(&nl);
}

static void kvc_blocks(struct fabraft_client *c)
{
	struct fabraft_hash chain[3] = {hash(H1), hash(H2), hash(H3)};
	struct fabraft_put p[3] = {
	    {.hash = chain[0],
	     .tokens = 16,
	     .node = 1,
	     .tier = "hbm",
	     .offset = 0,
	     .len = 2097152},
	    {.hash = chain[1],
	     .parent = chain[0],
	     .tokens = 16,
	     .node = 1,
	     .tier = "hbm",
	     .offset = 2097152,
	     .len = 2097152},
	    {.hash = chain[1],
	     .parent = chain[0],
	     .tokens = 16,
	     .node = 2,
	     .tier = "dram",
	     .offset = 0,
	     .len = 2097152},
	};
	struct fabraft_blocks b;
	uint64_t n;

	assert_int_equal(fabraft_kvc_put(c, "llama", p, 3, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(fabraft_kvc_put(c, "llama", p, 3, &n), 0);
	assert_int_equal(n, 0); /* idempotent */
	assert_int_equal(fabraft_kvc_lookup(c, "llama", chain, 3, false, &b),
			 0);
	assert_int_equal(b.n, 2);
	assert_true(fabraft_hash_equal(&b.blocks[0].hash, &chain[0]));
	assert_int_equal(b.blocks[0].tokens, 16);
	assert_int_equal(b.blocks[0].n_locations, 1);
	assert_int_equal(b.blocks[0].locations[0].node, 1);
	assert_string_equal(b.blocks[0].locations[0].addr, "10.0.0.1:7000");
	assert_string_equal(b.blocks[0].locations[0].tier, "hbm");
	assert_int_equal(b.blocks[0].locations[0].len, 2097152);
	assert_int_equal(b.blocks[1].n_locations, 2);
	assert_int_equal(b.blocks[1].locations[0].offset, 2097152);
	fabraft_blocks_free(&b);
	assert_int_equal(fabraft_kvc_lookup(c, "llama", chain, 2, true, &b), 0);
	assert_int_equal(b.n, 2);
	fabraft_blocks_free(&b);
	assert_int_equal(fabraft_kvc_pin(c, "llama", 30000, chain, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(fabraft_kvc_unpin(c, "llama", &chain[1], 1, &n), 0);
	assert_int_equal(n, 1);
}

static void kvc_alloc(struct fabraft_client *c)
{
	struct fabraft_hash h2 = hash(H2);
	struct fabraft_hash h3 = hash(H3);
	uint64_t size = 1048576;
	struct fabraft_allocs a;
	uint64_t rid;
	uint64_t n;

	assert_int_equal(fabraft_kvc_alloc(c, "llama", &size, 1, 2, 5000, &a),
			 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.allocs[0].rv, 0);
	assert_int_equal(a.allocs[0].node, 2);
	assert_string_equal(a.allocs[0].tier, "dram");
	assert_string_equal(a.allocs[0].addr, "10.0.0.2:7000");
	assert_int_equal(a.allocs[0].bytes, size);
	assert_int_equal(a.allocs[0].n_victims, 0);
	rid = a.allocs[0].rid;
	fabraft_allocs_free(&a);
	struct fabraft_put_res pr = {.rid = rid,
				     .hash = h3,
				     .parent = h2,
				     .tokens = 16,
				     .offset = 4194304};
	assert_int_equal(fabraft_kvc_put_res(c, "llama", &pr, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(fabraft_kvc_alloc(c, "llama", &size, 1, 0, 0, &a), 0);
	rid = a.allocs[0].rid;
	fabraft_allocs_free(&a);
	assert_int_equal(fabraft_kvc_revoke(c, &rid, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(fabraft_kvc_revoke(c, &rid, 1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(fabraft_kvc_evict(c, "llama", &h3, 1, 2, "dram", &n),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(fabraft_kvc_evict(c, "llama", &h3, 1, 0, NULL, &n), 0);
	assert_int_equal(n, 0);
}

/* Hashes of other lengths (spec S1), when the daemon takes them. */
static void kvc_short_hashes(struct fabraft_client *c)
{
	struct fabraft_hash h[2];
	struct fabraft_put p[2];
	struct fabraft_blocks b;
	uint64_t n;
	int rv;

	fabraft_hash_from_u64(&h[0], 1);
	fabraft_hash_from_i64(&h[1], -2);
	p[0] = (struct fabraft_put){.hash = h[0],
				    .tokens = 16,
				    .node = 1,
				    .tier = "dram",
				    .offset = 0,
				    .len = 4096};
	p[1] = (struct fabraft_put){.hash = h[1],
				    .parent = h[0],
				    .tokens = 16,
				    .node = 1,
				    .tier = "dram",
				    .offset = 4096,
				    .len = 4096};
	rv = fabraft_kvc_put(c, "short", p, 2, &n);
	if (rv == FR_REFUSED && strstr(fabraft_errmsg(c), "32 hex") != NULL) {
		printf("NOTE: 8-byte hashes not checked: %s\n",
		       fabraft_errmsg(c));
		return;
	}
	assert_int_equal(rv, 0);
	assert_int_equal(n, 2);
	assert_int_equal(fabraft_kvc_lookup(c, "short", h, 2, false, &b), 0);
	assert_int_equal(b.n, 2);
	assert_true(fabraft_hash_equal(&b.blocks[1].hash, &h[1]));
	assert_int_equal(b.blocks[1].hash.len, 8);
	fabraft_blocks_free(&b);
	assert_int_equal(fabraft_kvc_del(c, "short", &n), 0);
	assert_int_equal(n, 2);
}

static void kvc(void **state)
{
	struct fabraft_client *c;
	struct fabraft_stats st;
	char digest[17];
	int64_t v;
	uint64_t n;
	uint32_t ids[] = {1, 2};

	(void)state;
	NEED_CLUSTER();
	c = client_on(cl.all, true, PASSWORD, 5000);
	kvc_nodes(c);
	kvc_blocks(c);
	kvc_alloc(c);
	kvc_short_hashes(c);
	assert_int_equal(fabraft_kvc_stats(c, &st), 0);
	assert_int_equal(fabraft_stats_get(&st, "blocks", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(fabraft_stats_get(&st, "nodes", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(fabraft_stats_get(&st, "reservations", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(fabraft_stats_get(&st, "nope", &v), FR_NOTFOUND);
	fabraft_stats_free(&st);
	assert_int_equal(fabraft_kvc_digest(c, digest), 0);
	assert_int_equal(strlen(digest), 16);
	assert_int_equal(fabraft_kvc_del(c, "llama", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(fabraft_kvc_node_del(c, ids, 2, &n), 0);
	assert_int_equal(n, 2);
	fabraft_close(c);
}

/* KVC.EVENTS and KVC.SCAN, when the daemon has them (spec S2). */
static void events(void **state)
{
	struct fabraft_client *c;
	struct fabraft_tier_cap t[] = {{"dram", 1 << 30}};
	struct fabraft_hash h = hash(H1);
	struct fabraft_put p = {.hash = h,
				.tokens = 16,
				.node = 7,
				.tier = "dram",
				.offset = 0,
				.len = 4096};
	struct fabraft_events ev;
	struct fabraft_scan sc;
	uint64_t cursor = 0;
	int found = 0;
	int rv;
	bool stored = false;

	(void)state;
	NEED_CLUSTER();
	c = client_on(cl.all, true, PASSWORD, 5000);
	rv = fabraft_kvc_events(c, 1, 0, -1, &ev);
	if (rv == FR_REFUSED && strstr(fabraft_errmsg(c), "unknown") != NULL) {
		printf("SKIP: this fabraftd has no KVC.EVENTS (%s)\n",
		       fabraft_errmsg(c));
		fabraft_close(c);
		skip();
	}
	assert_int_equal(rv, 0);
	fabraft_events_free(&ev);
	assert_int_equal(fabraft_kvc_node_add(c, 7, "n7:1", 0, t, 1, 0), 0);
	assert_int_equal(fabraft_kvc_put(c, "evns", &p, 1, NULL), 0);
	assert_int_equal(fabraft_kvc_events(c, 1, 4096, -1, &ev), 0);
	for (size_t i = 0; i < ev.n; i++) {
		stored = stored || strcmp(ev.events[i].type, "stored") == 0;
	}
	assert_true(stored);
	assert_true(ev.next_seq > ev.events[ev.n - 1].seq);
	fabraft_events_free(&ev);
	/* Every page until the cursor comes back 0: the one block. */
	for (int page = 0; page == 0 || cursor != 0; page++) {
		assert_true(page < 100000);
		assert_int_equal(fabraft_kvc_scan(c, "evns", cursor, 0, &sc),
				 0);
		for (size_t i = 0; i < sc.b.n; i++) {
			struct fabraft_block *b = &sc.b.blocks[i];

			assert_string_equal(b->ns, "evns");
			assert_true(fabraft_hash_equal(&b->hash, &h));
			assert_int_equal(b->parent.len, 0);
			assert_int_equal(b->locations[0].node, 7);
			found++;
		}
		cursor = sc.next_cursor;
		fabraft_scan_free(&sc);
	}
	assert_int_equal(found, 1);
	fabraft_close(c);
}

/* SIGKILL the leader under a stream of writes: every call succeeds within
 * its deadline, on the new leader. */
static void failover(void **state)
{
	struct fabraft_client *c;
	int l = leader_index();
	int64_t worst = 0;
	char v[16];
	char *got;
	size_t len;
	bool found;
	int64_t x;

	(void)state;
	NEED_CLUSTER();
	c = client_on(cl.all, true, PASSWORD, 10000);
	for (int i = 0; i < 120; i++) {
		int64_t t0 = now_ms();

		if (i == 40) {
			kill(cl.pid[l], SIGKILL);
			waitpid(cl.pid[l], NULL, 0);
			cl.pid[l] = -1;
		}
		snprintf(v, sizeof(v), "%d", i);
		if (fabraft_set(c, "fo", v, strlen(v)) != 0) {
			fail_msg("SET %d: %s", i, fabraft_errmsg(c));
		}
		if (now_ms() - t0 > worst) {
			worst = now_ms() - t0;
		}
	}
	printf("failover: slowest SET %lld ms (deadline 10000)\n",
	       (long long)worst);
	assert_string_not_equal(fabraft_server(c), cl.addr[l]);
	assert_int_equal(fabraft_get(c, "fo", &got, &len, &found), 0);
	assert_string_equal(got, "119");
	fabraft_free(got);
	/* A non-idempotent write on the new leader. */
	assert_int_equal(fabraft_incr(c, "fo-ctr", &x), 0);
	assert_int_equal(x, 1);
	fabraft_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(auth),   cmocka_unit_test(discovery),
	    cmocka_unit_test(moved),  cmocka_unit_test(pipeline),
	    cmocka_unit_test(kv),     cmocka_unit_test(kvc),
	    cmocka_unit_test(events), cmocka_unit_test(failover),
	};

	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
