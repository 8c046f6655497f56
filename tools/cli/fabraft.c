/* fabraft.c — the CLI: local clusters, status, KV and KVC commands, topo,
 * demo. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fabraft_cli.h"
#include "opt.h"

static const char usage[] =
    "usage: fabraft [-a HOST:PORT | --dir DIR] [-p PASSWORD]\n"
    "               [--admin-pass PASSWORD] COMMAND ...\n"
    "\n"
    "  cluster start --nodes N --dir DIR [--provider P] [--client-port B]\n"
    "                [--raft-port R] [--fsync on|off]\n"
    "                [--read-mode index|lease|log|stale] [--voters K]\n"
    "                          (--voters K: nodes K+1..N start outside\n"
    "                          the cluster, to be added with member add)\n"
    "                          start N local daemons in the background;\n"
    "                          on an existing DIR, start it again\n"
    "                          (clients on B.., default 6379; raft on R..,\n"
    "                          default 7001; provider tcp)\n"
    "  cluster stop --dir DIR  SIGTERM every node of DIR (SIGKILL after 5 s)\n"
    "  status                  table of every node (needs --dir or -a)\n"
    "  get KEY | set KEY VALUE | del KEY...\n"
    "  kvc SUBCOMMAND ARGS...  any KVC.* command, e.g. kvc lookup NS H1 H2\n"
    "  member list             members, their roles and addresses\n"
    "  member add ID           add node ID (in every node's --peers) as a\n"
    "                          learner, then promote it once caught up\n"
    "  member remove ID        remove node ID (the leader too: it steps\n"
    "                          down once its removal commits)\n"
    "  transfer [ID]           hand leadership to ID (default: the most\n"
    "                          caught-up voter)\n"
    "  cmd ARGS...             any command, sent as is\n"
    "  topo [--nic NAME|auto|none] [--address HOST] [--provider P]\n"
    "       [--topology-xml FILE]\n"
    "                          hwloc topology, network devices and the\n"
    "                          placement fabraftd picks\n"
    "  demo [--dir DIR] [--provider P] [--chains N]\n"
    "                          3-node cluster, KV-cache workload, leader\n"
    "                          killed midway, no acknowledged write lost\n"
    "\n"
    "Commands go to -a (default 127.0.0.1:6379) or to the nodes of --dir,\n"
    "through the client library: the leader is found with INFO, -MOVED\n"
    "is followed, -TRYAGAIN retried for up to 5 s (a write of unknown\n"
    "outcome only if idempotent: docs/client.md).  -p (or the\n"
    "requirepass of DIR's node configs) is sent with AUTH.  member add,\n"
    "member remove and transfer AUTH with --admin-pass instead (else\n"
    "$FABRAFT_ADMIN_PASS, else the admin-pass of DIR's node configs) when\n"
    "one is known: nodes started with fabraftd --admin-pass need it.\n";

struct target {
	char addrs[CL_NODES_MAX][80]; /* where to send */
	int n;			      /* how many */
	const char *dir;	      /* --dir, or NULL */
};

static int status(struct target *t)
{
	static const char *hdr[] = {"node",   "address", "role", "term",
				    "commit", "applied", "lag",	 "provider",
				    "rma",    "leader"};
	uint64_t max_commit = 0;
	char f[CL_NODES_MAX][8][48];
	bool up[CL_NODES_MAX];
	static const char *keys[] = {"node_id",	     "role",	     "term",
				     "commit_index", "last_applied", "provider",
				     "rma",	     "leader_id"};

	for (int i = 0; i < t->n; i++) {
		char *info = cl_info(t->addrs[i], 500);

		up[i] = info != NULL;
		for (int k = 0; k < 8; k++) {
			if (info != NULL) {
				fabraft_info_field(info, keys[k], f[i][k],
						   sizeof(f[i][k]));
			} else {
				snprintf(f[i][k], sizeof(f[i][k]), "-");
			}
		}
		if (info != NULL && strtoull(f[i][3], NULL, 10) > max_commit) {
			max_commit = strtoull(f[i][3], NULL, 10);
		}
		fr_free(info);
	}
	printf("%-5s %-16s %-9s %6s %9s %9s %6s %-12s %-4s %s\n", hdr[0],
	       hdr[1], hdr[2], hdr[3], hdr[4], hdr[5], hdr[6], hdr[7], hdr[8],
	       hdr[9]);
	for (int i = 0; i < t->n; i++) {
		char lag[24] = "-";

		if (up[i]) {
			snprintf(
			    lag, sizeof(lag), "%llu",
			    (unsigned long long)(max_commit -
						 strtoull(f[i][4], NULL, 10)));
		}
		printf("%-5s %-16s %-9s %6s %9s %9s %6s %-12s %-4s %s\n",
		       up[i] ? f[i][0] : "?", t->addrs[i],
		       up[i] ? f[i][1] : "DOWN", f[i][2], f[i][3], f[i][4], lag,
		       f[i][5], f[i][6], f[i][7]);
	}
	for (int i = 0; i < t->n; i++) {
		if (up[i]) {
			fabraft_status_placement(t->addrs[i], f[i][0]);
		}
	}
	return 0;
}

static int send_cmd(struct target *t, int argc, const char *const *argv)
{
	struct fabraft_reply r;

	if (cl_route(t->addrs, t->n, argc, argv, &r, 5000) != 0) {
		fprintf(stderr, "fabraft: no answer from %s%s\n", t->addrs[0],
			t->n > 1 ? " or the other nodes" : "");
		return 1;
	}
	fabraft_reply_print(&r, 0);
	int rv = r.type == '-' ? 1 : 0;

	fabraft_reply_free(&r);
	return rv;
}

/* member list | add ID | remove ID.  Adding is two changes: a learner
 * first (it catches up without counting in any majority), then the
 * promotion, retried while the leader says it is still catching up. */
static int member(struct target *t, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		const char *a[] = {"RAFT.MEMBER", "LIST"};
		return send_cmd(t, 2, a);
	}
	if (argc == 2 && strcmp(argv[0], "remove") == 0) {
		const char *a[] = {"RAFT.MEMBER", "REMOVE", argv[1]};
		return send_cmd(t, 3, a);
	}
	if (argc == 2 && strcmp(argv[0], "add") == 0) {
		const char *a[] = {"RAFT.MEMBER", "ADDLEARNER", argv[1]};
		const char *b[] = {"RAFT.MEMBER", "PROMOTE", argv[1]};
		int rv = send_cmd(t, 3, a);
		if (rv != 0) {
			return rv;
		}
		/* -TRYAGAIN while it catches up: retried for up to 60 s. */
		struct fabraft_reply r;
		if (cl_route(t->addrs, t->n, 3, b, &r, 60000) != 0) {
			fprintf(stderr, "fabraft: no answer to PROMOTE\n");
			return 1;
		}
		fabraft_reply_print(&r, 0);
		rv = r.type == '-' ? 1 : 0;
		fabraft_reply_free(&r);
		return rv;
	}
	fprintf(stderr, "fabraft: member list | add ID | remove ID\n");
	return 2;
}

static const struct opt_cmd cluster_cmd = {
    .prog = "fabraft cluster",
    .usage = "fabraft cluster start|stop --dir DIR [options]",
    .about = "start: N local daemons in the background (on an "
	     "existing DIR, start\nit again); stop: SIGTERM every "
	     "node of DIR (SIGKILL after 5 s).",
};

static int cluster(int argc, char **argv)
{
	struct cl_start_opts o = {.nodes = 3,
				  .provider = "tcp",
				  .client_base = 6379,
				  .raft_base = 7001,
				  .fsync = true};
	const struct opt opts[] = {
	    {"nodes", OPT_INT, &o.nodes, 1, CL_NODES_MAX, .def = "3",
	     .help = "local daemons"},
	    {"dir", OPT_STRING, &o.dir, .arg = "DIR",
	     .help = "the cluster's directory (required)"},
	    {"provider", OPT_STRING, &o.provider, .arg = "P", .def = "tcp",
	     .help = "fabraftd --provider"},
	    {"client-port", OPT_INT, &o.client_base, 1, 65535, .arg = "B",
	     .def = "6379", .help = "client ports B, B+1, ..."},
	    {"raft-port", OPT_INT, &o.raft_base, 1, 65535, .arg = "R",
	     .def = "7001", .help = "raft ports R, R+1, ..."},
	    {"fsync", OPT_BOOL, &o.fsync, .def = "on",
	     .help = "fabraftd --fsync"},
	    /* fabraftd checks it. */
	    {"read-mode", OPT_STRING, &o.read_mode,
	     .arg = "index|lease|log|stale", .help = "fabraftd --read-mode"},
	    {"voters", OPT_INT, &o.voters, 0, CL_NODES_MAX, .arg = "K",
	     .def = "all",
	     .help = "nodes K+1..N start outside the cluster, to be added with "
		     "member add"},
	};
	bool start;
	int done;
	struct cl c;

	if (argc < 1 ||
	    (strcmp(argv[0], "start") != 0 && strcmp(argv[0], "stop") != 0)) {
		fprintf(stderr, "fabraft: cluster start|stop ...\n");
		return 2;
	}
	start = strcmp(argv[0], "start") == 0;
	done = opt_parse_main(&cluster_cmd, opts, OPT_COUNT(opts), argc, argv);
	if (done >= 0) {
		return done;
	}
	if (o.dir == NULL || o.nodes < 1 || o.nodes > CL_NODES_MAX ||
	    o.client_base < 1 || o.client_base + o.nodes > 65535 ||
	    o.raft_base < 1 || o.raft_base + o.nodes > 65535) {
		fprintf(stderr,
			"fabraft: cluster %s needs --dir DIR (and "
			"--nodes 1..%d, valid ports)\n",
			argv[0], CL_NODES_MAX);
		return 2;
	}
	if (start) {
		return cl_start(&o, &c) == 0 ? 0 : 1;
	}
	if (cl_load(o.dir, &c) != 0) {
		return 1;
	}
	return cl_stop(&c) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct target t = {.n = 1};
	int i = 1;

	snprintf(t.addrs[0], sizeof(t.addrs[0]), "127.0.0.1:6379");
	for (; i < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "fabraft: %s needs a value\n", argv[i]);
			return 2;
		}
		if (strcmp(argv[i], "-a") == 0) {
			snprintf(t.addrs[0], sizeof(t.addrs[0]), "%s",
				 argv[i + 1]);
		} else if (strcmp(argv[i], "--dir") == 0) {
			t.dir = argv[i + 1];
		} else if (strcmp(argv[i], "-p") == 0) {
			snprintf(cl_password, sizeof(cl_password), "%s",
				 argv[i + 1]);
		} else if (strcmp(argv[i], "--admin-pass") == 0) {
			snprintf(cl_admin_password, sizeof(cl_admin_password),
				 "%s", argv[i + 1]);
		} else {
			fprintf(stderr, "fabraft: unknown option %s\n",
				argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[i++];
	const char *env_admin = getenv("FABRAFT_ADMIN_PASS");

	if (cl_admin_password[0] == '\0' && env_admin != NULL) {
		snprintf(cl_admin_password, sizeof(cl_admin_password), "%s",
			 env_admin);
	}
	/* Member changes and transfers are admin commands (fabraftd
	 * --admin-pass); "member list" is not. */
	cl_use_admin = strcmp(cmd, "transfer") == 0 ||
		       (strcmp(cmd, "member") == 0 && i < argc &&
			strcmp(argv[i], "list") != 0);

	if (strcmp(cmd, "cluster") == 0) {
		return cluster(argc - i, argv + i);
	}
	if (strcmp(cmd, "topo") == 0) {
		return fabraft_topo_main(argc - i + 1, argv + i - 1);
	}
	if (strcmp(cmd, "demo") == 0) {
		return fabraft_demo_main(argc - i, argv + i);
	}
	if (strcmp(cmd, "status") == 0) {
		/* `fabraft status --dir DIR` reads naturally: accept the
		 * target options after the command too. */
		for (; i + 1 < argc; i += 2) {
			if (strcmp(argv[i], "--dir") == 0) {
				t.dir = argv[i + 1];
			} else if (strcmp(argv[i], "-a") == 0) {
				snprintf(t.addrs[0], sizeof(t.addrs[0]), "%s",
					 argv[i + 1]);
			} else {
				break;
			}
		}
		if (i < argc) {
			fprintf(stderr, "fabraft: status [--dir DIR | -a "
					"HOST:PORT]\n");
			return 2;
		}
	}
	if (t.dir != NULL) {
		struct cl c;

		if (cl_load(t.dir, &c) != 0) {
			return 1;
		}
		t.n = c.n;
		memcpy(t.addrs, c.client, sizeof(t.addrs));
	}
	if (strcmp(cmd, "status") == 0) {
		return status(&t);
	}
	const char *args[64];
	int n = 0;
	char kname[64];

	if (argc - i > 60) {
		fprintf(stderr, "fabraft: too many arguments\n");
		return 2;
	}
	if (strcmp(cmd, "get") == 0 || strcmp(cmd, "set") == 0 ||
	    strcmp(cmd, "del") == 0) {
		args[n++] = cmd;
	} else if (strcmp(cmd, "kvc") == 0) {
		if (i >= argc) {
			fprintf(stderr, "fabraft: kvc SUBCOMMAND ...\n");
			return 2;
		}
		snprintf(kname, sizeof(kname), "KVC.%s", argv[i++]);
		args[n++] = kname;
	} else if (strcmp(cmd, "member") == 0) {
		return member(&t, argc - i, argv + i);
	} else if (strcmp(cmd, "transfer") == 0) {
		args[n++] = "RAFT.TRANSFER";
	} else if (strcmp(cmd, "cmd") != 0) {
		fprintf(stderr, "fabraft: unknown command '%s' (see --help)\n",
			cmd);
		return 2;
	}
	while (i < argc) {
		args[n++] = argv[i++];
	}
	if (n == 0) {
		fprintf(stderr, "fabraft: nothing to send\n");
		return 2;
	}
	return send_cmd(&t, n, args);
}
