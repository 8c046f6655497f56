/* fab.c — a fresh local fabraftd cluster for one benchmark
 * cell: flags, ports, leader discovery, the KV-cache storage node. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_cluster.h"
#include "fabraft_client.h"
#include "fabraft_secret.h"

/* A client library handle for 127.0.0.1:@port alone, or NULL. */
static struct fabraft_client *client_of(int port, bool discover,
					int deadline_ms)
{
	struct fabraft_options o;
	struct fabraft_client *c;
	char addr[32];

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	fabraft_options_default(&o);
	o.endpoints = addr;
	o.discover_leader = discover;
	o.deadline_ms = deadline_ms;
	return fabraft_open(&c, &o, NULL, 0) == 0 ? c : NULL;
}

/* INFO of 127.0.0.1:@port into a string to fabraft_free, NULL if
 * unreachable within 300 ms. */
static char *info_of(int port)
{
	struct fabraft_client *c = client_of(port, false, 300);
	char *s = NULL;

	if (c == NULL) {
		return NULL;
	}
	if (fabraft_info(c, NULL, &s) != 0) {
		s = NULL;
	}
	fabraft_close(c);
	return s;
}

/* Every node up, one leader that every node names.  Index or -1. */
static int wait_leader(struct bc_server *sv, int timeout_ms)
{
	uint64_t t0 = bc_now_ns();

	while (!bc_stop &&
	       bc_now_ns() - t0 < (uint64_t)timeout_ms * 1000000ull) {
		int leader = -1;
		int agree = 0;
		char lid0[16] = "";

		for (int i = 0; i < sv->n; i++) {
			char *info = info_of(sv->client_port[i]);
			char role[32];
			char lid[16];

			if (info == NULL) {
				break;
			}
			fabraft_info_field(info, "role", role, sizeof(role));
			fabraft_info_field(info, "leader_id", lid, sizeof(lid));
			fabraft_free(info);
			if (strcmp(role, "leader") == 0) {
				leader = i;
			}
			if (i == 0) {
				snprintf(lid0, sizeof(lid0), "%s", lid);
			}
			agree += strcmp(lid, lid0) == 0 && strcmp(lid, "0");
		}
		if (leader >= 0 && agree == sv->n) {
			return leader;
		}
		if (!bc_server_all_running(sv)) {
			return -1;
		}
		bc_sleep_ms(20);
	}
	return -1;
}

static void node_argv(const struct bc_opts *o, const struct bc_spec *s,
		      const struct bc_server *sv, int i, int raft_base,
		      char (*a)[600], char *argv[])
{
	static const char *prov[BC_PATHS] = {"tcp", "tcp", "shm", "shm",
					     "verbs"};
	static const bool rma[BC_PATHS] = {false, true, false, true, true};
	char peers[256] = "";
	char cpeers[256] = "";
	int k = 0;

	for (int j = 0; j < sv->n; j++) {
		size_t l = strlen(peers);
		size_t m = strlen(cpeers);

		snprintf(peers + l, sizeof(peers) - l, "%s%d=127.0.0.1:%d",
			 j ? "," : "", j + 1, raft_base + j);
		snprintf(cpeers + m, sizeof(cpeers) - m, "%s%d=127.0.0.1:%d",
			 j ? "," : "", j + 1, sv->client_port[j]);
	}
#define ARG(...) snprintf(a[k], sizeof(a[k]), __VA_ARGS__), k++
	ARG("%s/fabraftd", o->bin);
	ARG("--id");
	ARG("%d", i + 1);
	ARG("--peers");
	ARG("%s", peers);
	ARG("--client");
	ARG("127.0.0.1:%d", sv->client_port[i]);
	ARG("--client-peers");
	ARG("%s", cpeers);
	ARG("--data-dir");
	ARG("%s/data%d", sv->dir, i + 1);
	ARG("--provider");
	ARG("%s", prov[s->path]);
	ARG("--rma");
	ARG("%s", rma[s->path] ? "on" : "off");
	ARG("--fsync");
	ARG("%s", s->fsync ? "on" : "off");
	ARG("--metrics");
	ARG("127.0.0.1:%d", sv->metrics_port[i]);
	ARG("--cluster-id");
	ARG("%d", raft_base);
	ARG("--secret-file");
	ARG("%s/secret", sv->dir);
	ARG("--log-level");
	ARG("warn");
#undef ARG
	for (int j = 0; j < k; j++) {
		argv[j] = a[j];
	}
	argv[k] = NULL;
}

int bc_fab_start(const struct bc_opts *o, const struct bc_spec *s,
		 const char *root, struct bc_server *sv, char *err, size_t cap)
{
	char args[28][600];
	char *argv[29];
	char path[600];
	int base;

	memset(sv, 0, sizeof(*sv));
	sv->sys = BC_FABRAFT;
	sv->n = s->nodes;
	snprintf(sv->dir, sizeof(sv->dir), "%s/fabraft.XXXXXX", root);
	if (mkdtemp(sv->dir) == NULL) {
		snprintf(err, cap, "mkdtemp %s failed", sv->dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/secret", sv->dir);
	base = bc_ports(3 * sv->n);
	if (base < 0 || cl_secret_write(path) != 0) {
		snprintf(err, cap, "no free ports or cannot write %s", path);
		return -1;
	}
	for (int i = 0; i < sv->n; i++) {
		sv->client_port[i] = base + sv->n + i;
		sv->metrics_port[i] = base + 2 * sv->n + i;
	}
	for (int i = 0; i < sv->n; i++) {
		node_argv(o, s, sv, i, base, args, argv);
		snprintf(path, sizeof(path), "%s/node%d.log", sv->dir, i + 1);
		sv->pid[i] = bc_spawn(argv, path);
		if (sv->pid[i] < 0) {
			snprintf(err, cap, "cannot start %s", argv[0]);
			return -1;
		}
	}
	sv->leader = wait_leader(sv, 15000);
	if (sv->leader < 0) {
		snprintf(err, cap,
			 "no stable leader after 15 s (logs in %s/node*.log)",
			 sv->dir);
		return -1;
	}
	return 0;
}

void bc_fab_info(const struct bc_server *sv, struct bc_result *r)
{
	char *info = info_of(sv->client_port[sv->leader]);

	if (info != NULL) {
		fabraft_info_field(info, "provider", r->provider_seen,
				   sizeof(r->provider_seen));
		fabraft_info_field(info, "rma", r->rma_seen,
				   sizeof(r->rma_seen));
		fabraft_free(info);
	}
}

int bc_fab_kvc_setup(const struct bc_server *sv, char *err, size_t cap)
{
	/* One storage node with room for every chain the clients put. */
	struct fabraft_tier_cap t = {"dram", 1000000000000000ull};
	struct fabraft_client *c =
	    client_of(sv->client_port[sv->leader], true, 5000);
	int rv;

	if (c == NULL) {
		snprintf(err, cap, "KVC.NODE.ADD: no client");
		return -1;
	}
	rv = fabraft_kvc_node_add(c, 1, "10.0.0.1:7000", 0, &t, 1, 0);
	snprintf(err, cap, "KVC.NODE.ADD: %s",
		 rv == 0 ? "OK" : fabraft_errmsg(c));
	fabraft_close(c);
	return rv == 0 ? 0 : -1;
}
