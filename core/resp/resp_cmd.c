/* resp_cmd.c — built-in commands and dispatch to the backend, in order. */
#include <assert.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "resp_int.h"

/* Redis' replies, kept word for word: clients match on them. */
#define MSG_NOAUTH "NOAUTH Authentication required."
#define MSG_WRONGPASS                                                          \
	"WRONGPASS invalid username-password pair or user is disabled."
#define MSG_NOPROTO "NOPROTO sorry, this protocol version is not supported."
#define MSG_NOTINT  "ERR value is not an integer or out of range"

typedef void (*builtin_fn)(struct resp_conn *c, uint32_t argc,
			   const struct resp_arg *argv, struct resp_buf *r);

struct builtin {
	const char *name; /* lowercase */
	int arity;	  /* exact argc if > 0, at least -arity if < 0 */
	bool noauth;	  /* allowed before AUTH */
	builtin_fn fn;	  /* writes exactly one reply into r */
};

/* Parse a whole argument as a signed decimal (no sign-only, no spaces). */
static bool arg_int(const struct resp_arg *a, long long *v)
{
	char tmp[24];
	if (a->len == 0 || a->len >= sizeof(tmp)) {
		return false;
	}
	memcpy(tmp, a->ptr, a->len);
	tmp[a->len] = '\0';
	size_t i = tmp[0] == '-' ? 1 : 0;
	if (tmp[i] == '\0') {
		return false;
	}
	long long x = 0;
	for (; tmp[i] != '\0'; i++) {
		if (tmp[i] < '0' || tmp[i] > '9' || x > (INT64_MAX - 9) / 10) {
			return false;
		}
		x = x * 10 + (tmp[i] - '0');
	}
	*v = tmp[0] == '-' ? -x : x;
	return true;
}

/* Constant-time comparison, so timing does not reveal the password. */
static bool secret_eq(const struct resp_arg *a, const char *secret)
{
	size_t n = strlen(secret);
	unsigned char diff = a->len != n;
	for (size_t i = 0; i < a->len; i++) {
		diff |= (unsigned char)a->ptr[i] ^
			(unsigned char)secret[n == 0 ? 0 : i % n];
	}
	return diff == 0;
}

/* What a user/password pair grants. */
enum creds {
	CREDS_BAD,   /* nothing: WRONGPASS */
	CREDS_USER,  /* authenticated */
	CREDS_ADMIN, /* authenticated and admin (the admin password) */
};

/* Check a user/password pair; only the user "default" exists.  Both
 * secrets are always compared, so timing tells nothing either. */
static enum creds creds_check(struct resp_server *s,
			      const struct resp_arg *user,
			      const struct resp_arg *pass)
{
	bool user_ok = user == NULL ||
		       (user->len == 7 && memcmp(user->ptr, "default", 7) == 0);
	bool admin = s->adminpass != NULL && secret_eq(pass, s->adminpass);
	/* Without requirepass "default" has no password and any will do
	 * (Redis' nopass), unless an admin password makes guessing it
	 * worthwhile: then a password must be the admin one. */
	bool plain = s->requirepass != NULL ? secret_eq(pass, s->requirepass)
					    : s->adminpass == NULL;
	if (!user_ok) {
		return CREDS_BAD;
	}
	return admin ? CREDS_ADMIN : plain ? CREDS_USER : CREDS_BAD;
}

static void set_authed(struct resp_conn *c, enum creds level)
{
	c->authed = true;
	c->admin = level == CREDS_ADMIN || c->srv->adminpass == NULL;
	c->parser.lim = c->srv->lim;
}

static void cmd_ping(struct resp_conn *c, uint32_t argc,
		     const struct resp_arg *argv, struct resp_buf *r)
{
	if (argc > 2) {
		resp_buf_wrong_arity(r, &argv[0]);
	} else if (argc == 2) {
		resp_buf_bulk(r, argv[1].ptr, argv[1].len);
	} else {
		resp_buf_simple(r, "PONG");
	}
}

static void cmd_echo(struct resp_conn *c, uint32_t argc,
		     const struct resp_arg *argv, struct resp_buf *r)
{
	resp_buf_bulk(r, argv[1].ptr, argv[1].len);
}

static void cmd_quit(struct resp_conn *c, uint32_t argc,
		     const struct resp_arg *argv, struct resp_buf *r)
{
	resp_buf_simple(r, "OK");
	c->draining = true;
}

static void cmd_auth(struct resp_conn *c, uint32_t argc,
		     const struct resp_arg *argv, struct resp_buf *r)
{
	struct resp_server *s = c->srv;
	if (argc > 3) {
		resp_buf_error(r, "ERR syntax error");
		return;
	}
	if (argc == 2 && s->requirepass == NULL && s->adminpass == NULL) {
		resp_buf_error(r, "ERR AUTH <password> called without any "
				  "password configured for the default user. "
				  "Are you sure your client configuration is "
				  "correct?");
		return;
	}
	enum creds level =
	    creds_check(s, argc == 3 ? &argv[1] : NULL, &argv[argc - 1]);
	if (level == CREDS_BAD) {
		resp_buf_error(r, MSG_WRONGPASS);
		resp__auth_failed(c);
		return;
	}
	set_authed(c, level);
	resp_buf_simple(r, "OK");
}

/* Client names are printable ASCII without spaces, as in Redis. */
static bool set_name(struct resp_conn *c, const struct resp_arg *a,
		     struct resp_buf *r)
{
	for (size_t i = 0; i < a->len; i++) {
		if (a->ptr[i] < '!' || a->ptr[i] > '~') {
			resp_buf_error(r, "ERR Client names cannot contain "
					  "spaces, newlines or special "
					  "characters.");
			return false;
		}
	}
	char *name = NULL;
	if (a->len > 0) {
		name = fr_malloc(a->len + 1);
		if (name == NULL) {
			resp_buf_error(r, "ERR out of memory");
			return false;
		}
		memcpy(name, a->ptr, a->len);
		name[a->len] = '\0';
	}
	fr_free(c->name);
	c->name = name;
	return true;
}

static void hello_reply(struct resp_conn *c, struct resp_buf *r)
{
	struct resp_server *s = c->srv;
	/* RESP2 has no map type: a flat array of key, value pairs. */
	resp_buf_array(r, 14);
	resp_buf_bulk_str(r, "server");
	resp_buf_bulk_str(r, "fabraft");
	resp_buf_bulk_str(r, "version");
	resp_buf_bulk_str(r, s->version);
	resp_buf_bulk_str(r, "proto");
	resp_buf_int(r, 2);
	resp_buf_bulk_str(r, "id");
	resp_buf_int(r, (int64_t)c->id);
	resp_buf_bulk_str(r, "mode");
	resp_buf_bulk_str(r, "standalone");
	resp_buf_bulk_str(r, "role");
	resp_buf_bulk_str(r, "master");
	resp_buf_bulk_str(r, "modules");
	resp_buf_array(r, 0);
}

static void cmd_hello(struct resp_conn *c, uint32_t argc,
		      const struct resp_arg *argv, struct resp_buf *r)
{
	struct resp_server *s = c->srv;
	if (argc >= 2) {
		long long ver;
		if (!arg_int(&argv[1], &ver)) {
			resp_buf_error(r, "ERR Protocol version is not an "
					  "integer or out of range");
			return;
		}
		if (ver != 2) {
			resp_buf_error(r, MSG_NOPROTO);
			return;
		}
	}
	const struct resp_arg *user = NULL;
	const struct resp_arg *pass = NULL;
	const struct resp_arg *name = NULL;
	for (uint32_t i = 2; i < argc; i++) {
		if (resp_arg_is(&argv[i], "auth") && i + 2 < argc) {
			user = &argv[i + 1];
			pass = &argv[i + 2];
			i += 2;
		} else if (resp_arg_is(&argv[i], "setname") && i + 1 < argc) {
			name = &argv[i + 1];
			i += 1;
		} else {
			resp_buf_error(
			    r,
			    "ERR Syntax error in HELLO option "
			    "'%.*s'",
			    (int)(argv[i].len < 128 ? argv[i].len : 128),
			    argv[i].ptr);
			return;
		}
	}
	if (pass != NULL) {
		enum creds level = creds_check(s, user, pass);
		if (level == CREDS_BAD) {
			resp_buf_error(r, MSG_WRONGPASS);
			resp__auth_failed(c);
			return;
		}
		set_authed(c, level);
	}
	if (!c->authed) {
		resp_buf_error(r, "NOAUTH HELLO must be called with the client "
				  "already authenticated, otherwise the HELLO "
				  "<proto> AUTH <user> <pass> option can be "
				  "used to authenticate the client and select "
				  "the RESP protocol version at the same time");
		return;
	}
	if (name != NULL && !set_name(c, name, r)) {
		return;
	}
	hello_reply(c, r);
}

static void unknown_sub(struct resp_buf *r, const struct resp_arg *cmd,
			const struct resp_arg *sub)
{
	char up[16];
	size_t n = cmd->len < sizeof(up) - 1 ? cmd->len : sizeof(up) - 1;
	for (size_t i = 0; i < n; i++) {
		char ch = cmd->ptr[i];
		up[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
	}
	up[n] = '\0';
	resp_buf_error(r, "ERR unknown subcommand '%.*s'. Try %s HELP.",
		       (int)(sub->len < 128 ? sub->len : 128), sub->ptr, up);
}

/* Arity of a subcommand, worded as Redis 7 does ("client|setname"). */
static bool sub_arity(uint32_t argc, uint32_t want, const char *full,
		      struct resp_buf *r)
{
	if (argc == want) {
		return true;
	}
	resp_buf_error(r, "ERR wrong number of arguments for '%s' command",
		       full);
	return false;
}

/* One CLIENT LIST / CLIENT INFO line, with the fields of Redis 7.0 that
 * clients parse as numbers (redis-py's client_info() needs every one):
 * values this server does not have (subscriptions, argv memory) are 0. */
static void client_line(const struct resp_conn *c, struct resp_buf *b)
{
	char line[768];
	size_t mm;
	long long multi = (long long)resp__multi_count(c, &mm);
	uint64_t now = resp__now_ms();
	int n = snprintf(
	    line, sizeof(line),
	    "id=%llu addr=%s fd=%d name=%.256s age=%llu idle=%llu flags=N "
	    "db=0 sub=0 psub=0 multi=%lld qbuf=%zu qbuf-free=%zu argv-mem=0 "
	    "multi-mem=%zu obl=%zu oll=%llu omem=%zu tot-mem=%zu events=r "
	    "user=default redir=-1 resp=2\n",
	    (unsigned long long)c->id, c->addr, c->fd,
	    c->name != NULL ? c->name : "",
	    (unsigned long long)(now - c->start_ms) / 1000,
	    (unsigned long long)(now - c->last_in_ms) / 1000, multi,
	    c->rlen - c->rpos, c->rcap - c->rlen, mm, c->out.len - c->opos,
	    (unsigned long long)(c->seq_next - c->seq_head), c->counted_queued,
	    c->rcap + c->out.cap + c->ring_bytes + mm);
	if (n > 0) {
		resp_buf_raw(b, line,
			     (size_t)n < sizeof(line) ? (size_t)n
						      : sizeof(line) - 1);
	}
}

static void client_list(struct resp_conn *c, struct resp_buf *r)
{
	struct resp_server *s = c->srv;
	struct resp_buf body;
	resp_buf_init(&body, 0);
	for (uint32_t i = 0; i < s->cfg.clients_max; i++) {
		if (s->table[i] != NULL) {
			client_line(s->table[i], &body);
		}
	}
	if (resp_buf_err(&body) != 0) {
		resp_buf_error(r, "ERR out of memory");
	} else {
		resp_buf_bulk(r, body.data, body.len);
	}
	resp_buf_close(&body);
}

static void cmd_client(struct resp_conn *c, uint32_t argc,
		       const struct resp_arg *argv, struct resp_buf *r)
{
	const struct resp_arg *sub = &argv[1];
	if (resp_arg_is(sub, "setname")) {
		if (sub_arity(argc, 3, "client|setname", r) &&
		    set_name(c, &argv[2], r)) {
			resp_buf_simple(r, "OK");
		}
	} else if (resp_arg_is(sub, "getname")) {
		if (!sub_arity(argc, 2, "client|getname", r)) {
			return;
		}
		if (c->name != NULL) {
			resp_buf_bulk_str(r, c->name);
		} else {
			resp_buf_null(r);
		}
	} else if (resp_arg_is(sub, "id")) {
		if (sub_arity(argc, 2, "client|id", r)) {
			resp_buf_int(r, (int64_t)c->id);
		}
	} else if (resp_arg_is(sub, "setinfo")) {
		if (!sub_arity(argc, 4, "client|setinfo", r)) {
			return;
		}
		if (resp_arg_is(&argv[2], "lib-name") ||
		    resp_arg_is(&argv[2], "lib-ver")) {
			resp_buf_simple(r, "OK");
		} else {
			resp_buf_error(
			    r, "ERR Unrecognized option '%.*s'",
			    (int)(argv[2].len < 128 ? argv[2].len : 128),
			    argv[2].ptr);
		}
	} else if (resp_arg_is(sub, "info")) {
		struct resp_buf line;
		resp_buf_init(&line, 0);
		client_line(c, &line);
		if (resp_buf_err(&line) == 0) {
			resp_buf_bulk(r, line.data, line.len);
		} else {
			resp_buf_error(r, "ERR out of memory");
		}
		resp_buf_close(&line);
	} else if (resp_arg_is(sub, "list")) {
		client_list(c, r);
	} else {
		unknown_sub(r, &argv[0], sub);
	}
}

static void cmd_select(struct resp_conn *c, uint32_t argc,
		       const struct resp_arg *argv, struct resp_buf *r)
{
	long long db;
	if (!arg_int(&argv[1], &db)) {
		resp_buf_error(r, MSG_NOTINT);
	} else if (db != 0) {
		resp_buf_error(r, "ERR DB index is out of range");
	} else {
		resp_buf_simple(r, "OK");
	}
}

/* The server does not describe its commands (the backend's set is not
 * known here); these replies are well-formed and empty, which redis-cli,
 * redis-benchmark and redis-py accept. */
static void cmd_command(struct resp_conn *c, uint32_t argc,
			const struct resp_arg *argv, struct resp_buf *r)
{
	if (argc == 1 || resp_arg_is(&argv[1], "docs") ||
	    resp_arg_is(&argv[1], "list")) {
		resp_buf_array(r, 0);
	} else if (resp_arg_is(&argv[1], "count")) {
		resp_buf_int(r, 0);
	} else if (resp_arg_is(&argv[1], "info")) {
		resp_buf_array(r, argc - 2);
		for (uint32_t i = 2; i < argc; i++) {
			resp_buf_null_array(r);
		}
	} else {
		unknown_sub(r, &argv[0], &argv[1]);
	}
}

static void cmd_config(struct resp_conn *c, uint32_t argc,
		       const struct resp_arg *argv, struct resp_buf *r)
{
	struct resp_server *s = c->srv;
	if (resp_arg_is(&argv[1], "set") || resp_arg_is(&argv[1], "rewrite") ||
	    resp_arg_is(&argv[1], "resetstat")) {
		resp_buf_error(r,
			       "ERR CONFIG %.*s is not supported: fabraft "
			       "is configured by its flags and config file",
			       (int)argv[1].len, argv[1].ptr);
		return;
	}
	if (!resp_arg_is(&argv[1], "get")) {
		unknown_sub(r, &argv[0], &argv[1]);
		return;
	}
	if (argc < 3) {
		resp_buf_error(r, "ERR wrong number of arguments for "
				  "'config|get' command");
		return;
	}
	char num[4][24];
	snprintf(num[3], sizeof(num[3]), "%u", s->cfg.idle_timeout_ms / 1000u);
	snprintf(num[0], sizeof(num[0]), "%u", s->cfg.clients_max);
	snprintf(num[1], sizeof(num[1]), "%llu",
		 (unsigned long long)s->cfg.bulk_bytes_max);
	snprintf(num[2], sizeof(num[2]), "%u", s->port);
	const char *params[][2] = {
	    {"appendonly", "no"}, /* durability is Raft's log, not AOF */
	    {"databases", "1"},	  {"maxclients", num[0]},
	    {"port", num[2]},	  {"proto-max-bulk-len", num[1]},
	    {"save", ""},	  {"timeout", num[3]},
	};
	size_t n = sizeof(params) / sizeof(params[0]);
	bool hit[sizeof(params) / sizeof(params[0])] = {false};
	size_t nhit = 0;
	for (uint32_t i = 2; i < argc; i++) {
		char pat[129];
		size_t pl = argv[i].len < 128 ? argv[i].len : 128;
		memcpy(pat, argv[i].ptr, pl);
		pat[pl] = '\0';
		for (size_t j = 0; j < n; j++) {
			if (!hit[j] &&
			    fnmatch(pat, params[j][0], FNM_CASEFOLD) == 0) {
				hit[j] = true;
				nhit++;
			}
		}
	}
	resp_buf_array(r, 2 * nhit);
	for (size_t j = 0; j < n; j++) {
		if (hit[j]) {
			resp_buf_bulk_str(r, params[j][0]);
			resp_buf_bulk_str(r, params[j][1]);
		}
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t resp__now_ms(void)
{
	return now_ms();
}

struct resp_info_writer {
	struct resp_buf body;	    /* the text being built */
	uint32_t nsel;		    /* sections asked for (0 = all) */
	const struct resp_arg *sel; /* their names; borrowed */
	bool on;		    /* the current section is wanted */
};

void resp_info_section(struct resp_info_writer *w, const char *name)
{
	w->on = w->nsel == 0;
	for (uint32_t i = 0; i < w->nsel && !w->on; i++) {
		struct resp_arg want = w->sel[i];
		w->on = resp_arg_is(&want, name);
	}
	if (!w->on) {
		return;
	}
	if (w->body.len > 0) {
		resp_buf_raw(&w->body, "\r\n", 2);
	}
	resp_buf_raw(&w->body, "# ", 2);
	resp_buf_raw(&w->body, name, strlen(name));
	resp_buf_raw(&w->body, "\r\n", 2);
}

void resp_info_add(struct resp_info_writer *w, const char *key, const char *fmt,
		   ...)
{
	if (!w->on) {
		return;
	}
	char val[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	size_t vl = (size_t)n < sizeof(val) ? (size_t)n : sizeof(val) - 1;
	for (size_t i = 0; i < vl; i++) {
		if (val[i] == '\r' || val[i] == '\n') {
			val[i] = ' ';
		}
	}
	resp_buf_raw(&w->body, key, strlen(key));
	resp_buf_raw(&w->body, ":", 1);
	resp_buf_raw(&w->body, val, vl);
	resp_buf_raw(&w->body, "\r\n", 2);
}

static void info_own(struct resp_conn *c, struct resp_info_writer *w)
{
	struct resp_server *s = c->srv;
	resp_info_section(w, "Server");
	/* Clients read redis_version for feature checks: we speak the
	 * protocol of Redis 7.0 (RESP2 part). */
	resp_info_add(w, "redis_version", "7.0.0");
	resp_info_add(w, "fabraft_version", "%s", s->version);
	resp_info_add(w, "redis_mode", "standalone");
	resp_info_add(w, "multiplexing_api", "epoll");
	resp_info_add(w, "process_id", "%ld", (long)getpid());
	resp_info_add(w, "tcp_port", "%u", s->port);
	resp_info_add(w, "uptime_in_seconds", "%llu",
		      (unsigned long long)((now_ms() - s->start_ms) / 1000));
	resp_info_section(w, "Clients");
	resp_info_add(w, "connected_clients", "%llu",
		      (unsigned long long)s->st.clients);
	resp_info_add(w, "maxclients", "%u", s->cfg.clients_max);
	/* Output memory (docs/resp.md "Limits"): replies queued and the
	 * buffers holding them, over all clients, and the total limit. */
	resp_info_add(w, "clients_output_bytes", "%llu",
		      (unsigned long long)s->st.output_bytes);
	struct resp_stats st;
	resp_server_stats(s, &st);
	resp_info_add(w, "clients_output_buffer_bytes", "%llu",
		      (unsigned long long)st.output_buf_bytes);
	resp_info_add(w, "clients_output_total_max", "%llu",
		      (unsigned long long)s->cfg.output_total_bytes_max);
	resp_info_section(w, "Stats");
	const struct {
		const char *key;
		uint64_t v;
	} rows[] = {
	    {"total_connections_received", s->st.connections_total},
	    {"total_commands_processed", s->st.commands_total},
	    {"rejected_connections", s->st.rejected_total},
	    {"protocol_errors", s->st.protocol_errors},
	    {"output_limit_disconnections", s->st.output_limit_drops},
	    {"total_net_input_bytes", s->st.bytes_in},
	    {"total_net_output_bytes", s->st.bytes_out},
	    /* the guards' (resp_guard.c) */
	    {"idle_disconnections", s->st.idle_closes},
	    {"auth_failures", s->st.auth_failures},
	    {"auth_disconnections", s->st.auth_closes},
	    {"http_disconnections", s->st.http_closes},
	    {"accept_pauses", s->st.accept_pauses},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		resp_info_add(w, rows[i].key, "%llu",
			      (unsigned long long)rows[i].v);
	}
}

static void cmd_info(struct resp_conn *c, uint32_t argc,
		     const struct resp_arg *argv, struct resp_buf *r)
{
	struct resp_server *s = c->srv;
	struct resp_info_writer w = {.nsel = argc - 1, .sel = argv + 1};
	for (uint32_t i = 1; i < argc; i++) {
		if (resp_arg_is(&argv[i], "all") ||
		    resp_arg_is(&argv[i], "everything") ||
		    resp_arg_is(&argv[i], "default")) {
			w.nsel = 0;
		}
	}
	resp_buf_init(&w.body, 0);
	info_own(c, &w);
	if (s->be.info != NULL) {
		s->in_callback++;
		s->be.info(s->be_ctx, &w);
		s->in_callback--;
	}
	if (resp_buf_err(&w.body) != 0) {
		resp_buf_error(r, "ERR out of memory");
	} else {
		resp_buf_bulk(r, w.body.data, w.body.len);
	}
	resp_buf_close(&w.body);
}

static const struct builtin builtins[] = {
    {"auth", -2, true, cmd_auth},	 {"client", -2, false, cmd_client},
    {"command", -1, false, cmd_command}, {"config", -2, false, cmd_config},
    {"echo", 2, false, cmd_echo},	 {"hello", -1, true, cmd_hello},
    {"info", -1, false, cmd_info},	 {"ping", -1, false, cmd_ping},
    {"quit", -1, true, cmd_quit},	 {"select", 2, false, cmd_select},
};

static const struct builtin *find_builtin(const struct resp_arg *name)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		if (resp_arg_is(name, builtins[i].name)) {
			return &builtins[i];
		}
	}
	return NULL;
}

/* The shared reply buffer of built-in commands is freed after a reply
 * bigger than this. */
#define SCRATCH_KEEP (64u * 1024u)

static void reply_scratch(struct resp_conn *c, uint64_t seq)
{
	struct resp_buf *r = &c->srv->scratch;
	if (resp_buf_err(r) != 0) {
		resp_buf_reset(r);
		resp_buf_error(r, "ERR out of memory");
	}
	if (resp_buf_err(r) != 0) {
		resp_buf_reset(r);
		c->close_now = true;
	}
	resp__conn_deliver(c, seq, r->data, r->len);
	if (r->cap > SCRATCH_KEEP) {
		/* One big ECHO or INFO must not pin its buffer for good. */
		resp_buf_close(r);
	}
}

void resp__dispatch(struct resp_conn *c, uint32_t argc,
		    const struct resp_arg *argv)
{
	struct resp_server *s = c->srv;
	const struct builtin *b = find_builtin(&argv[0]);
	uint64_t seq = c->seq_next++;
	assert(argc >= 1);
	struct resp_req req = {
	    .srv = s,
	    .slot = c->slot,
	    .gen = s->gens[c->slot],
	    .seq = seq,
	    .client_id = c->id,
	    .admin = c->admin,
	};
	struct resp_buf *r = &s->scratch;
	resp_buf_reset(r);
	if (c->authed) {
		int m =
		    resp__multi_intercept(c, &req, b != NULL, argc, argv, r);
		if (m != RESP__MULTI_PASS) {
			if (m == RESP__MULTI_REPLY) {
				reply_scratch(c, seq);
			}
			return;
		}
	}
	if (b == NULL && c->authed) {
		s->in_callback++;
		int rv = s->be.command(s->be_ctx, &req, argc, argv);
		s->in_callback--;
		if (rv == 0) {
			return;
		}
		resp_buf_reset(r);
		resp_buf_error(r, "ERR %s", fr_strerror(rv));
		reply_scratch(c, seq);
		return;
	}
	if (!c->authed && (b == NULL || !b->noauth)) {
		resp_buf_error(r, MSG_NOAUTH);
	} else if ((b->arity > 0 && argc != (uint32_t)b->arity) ||
		   (b->arity < 0 && argc < (uint32_t)-b->arity)) {
		resp_buf_wrong_arity(r, &argv[0]);
	} else {
		b->fn(c, argc, argv, r);
	}
	reply_scratch(c, seq);
}
