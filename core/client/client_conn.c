/* client_conn.c — leader discovery, the retry loop with its deadline and
 * backoff, and which commands may be retried. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client_int.h"
#include "heap.h"

/*
 * Design notes
 * ============
 * 1. The client holds at most one connection.  ensure() makes it: to the
 *    address a -MOVED named (c->target) if any, else through the endpoint
 *    list, starting at c->next_ep: with discovery on, INFO of an endpoint
 *    says its role and leader_client; a leader is kept, a follower's
 *    leader is connected to instead (the follower itself if that fails:
 *    it forwards).  A node that knows no leader is skipped.
 * 2. Any failure drops the connection and forgets the target, so the next
 *    attempt discovers the leader again.
 * 3. An attempt's outcome is one of enum fabraft__verdict.  "May have
 *    executed" comes from a connection lost after sending and from
 *    -TRYAGAIN texts that say so (the daemon's "the outcome is unknown"
 *    and "may or may not have been applied", docs/operations.md); every
 *    other -TRYAGAIN is certain not to have executed.
 * 4. Once an attempt of a write may have executed, the call can only end
 *    in a reply or FR_UNKNOWN, never in a plain timeout: the caller must
 *    learn that the write may be in.
 */

static int64_t left_ms(int64_t deadline)
{
	int64_t l = deadline - fabraft__now_ms();

	return l > 0 ? l : 0;
}

static int min_ms(int64_t a, int64_t b)
{
	return (int)(a < b ? a : b);
}

void fabraft__drop(struct fabraft_client *c)
{
	respc_close(&c->conn);
	c->conn.fd = -1;
	c->server[0] = '\0';
}

/* Connect to @addr and AUTH, before @deadline, into @cn. */
static int connect_auth(struct fabraft_client *c, const char *addr,
			int64_t deadline, struct respc_conn *cn)
{
	int64_t left = left_ms(deadline);
	int rv;

	if (left == 0) {
		cn->fd = -1;
		return fabraft__fail(c, FR_TIMEOUT, "deadline passed");
	}
	rv = respc_connect(cn, addr, min_ms(c->o.connect_timeout_ms, left));
	c->st.connects++;
	if (rv != 0) {
		fabraft__fail(c, rv, "%s", cn->err);
		respc_close(cn);
		return rv;
	}
	cn->timeout_ms = min_ms(c->o.io_timeout_ms, left_ms(deadline) + 1);
	if (c->password[0] != '\0') {
		rv = respc_auth(cn, c->password);
		if (rv != 0) {
			fabraft__fail(c, rv, "%s: %s", addr, cn->err);
			respc_close(cn);
		}
	}
	return rv;
}

/* The connection now in c->conn is to @addr.  (A respc_conn must not be
 * copied: its reader points back into it.) */
static void adopt(struct fabraft_client *c, const char *addr)
{
	snprintf(c->server, sizeof(c->server), "%s", addr);
}

/* INFO of the node on @cn: its role and its leader's client address. */
static int ask_info(struct fabraft_client *c, struct respc_conn *cn,
		    const char *addr, bool *leads, char *leader, size_t cap)
{
	const char *argv[] = {"INFO", "replication"};
	struct respc_reply r;
	char role[32];
	char id[16];
	int rv = respc_command(cn, &r, 2, argv);

	if (rv != 0) {
		respc_reply_free(&r);
		return fabraft__fail(c, rv, "INFO of %s: %s", addr, cn->err);
	}
	if (r.type == '-' && (strncmp(r.str, "NOAUTH", 6) == 0 ||
			      strncmp(r.str, "WRONGPASS", 9) == 0)) {
		rv = fabraft__fail(c, FR_AUTH, "%s: %s", addr, r.str);
		respc_reply_free(&r);
		return rv;
	}
	if (r.type != '$' || r.len == SIZE_MAX) {
		rv = fabraft__fail(c, FR_MALFORMED, "INFO of %s: %s", addr,
				   r.type == '-' ? r.str : "not a bulk string");
		respc_reply_free(&r);
		return rv;
	}
	respc_info_field(r.str, "role", role, sizeof(role));
	respc_info_field(r.str, "leader_id", id, sizeof(id));
	respc_info_field(r.str, "leader_client", leader, cap);
	respc_reply_free(&r);
	*leads = strcmp(role, "leader") == 0;
	if (!*leads && (id[0] == '\0' || strcmp(id, "0") == 0)) {
		return fabraft__fail(c, FR_AGAIN, "%s knows no leader yet",
				     addr);
	}
	return 0;
}

/* Endpoint @addr: keep it if it leads, else move to its leader (or, if
 * that cannot be reached, come back to it: a follower forwards). */
static int discover(struct fabraft_client *c, const char *addr,
		    int64_t deadline)
{
	char leader[FABRAFT__ADDR_SIZE] = "";
	bool leads = false;
	int rv = connect_auth(c, addr, deadline, &c->conn);

	if (rv != 0) {
		return rv;
	}
	c->st.discoveries++;
	rv = ask_info(c, &c->conn, addr, &leads, leader, sizeof(leader));
	if (rv != 0) {
		fabraft__drop(c);
		return rv;
	}
	if (!leads && leader[0] != '\0' && strcmp(leader, addr) != 0) {
		fabraft__drop(c);
		if (connect_auth(c, leader, deadline, &c->conn) == 0) {
			adopt(c, leader);
			return 0;
		}
		rv = connect_auth(c, addr, deadline, &c->conn);
		if (rv != 0) {
			return rv;
		}
	}
	adopt(c, addr);
	return 0;
}

int fabraft__ensure(struct fabraft_client *c, int64_t deadline)
{
	int rv = FR_TIMEOUT;

	if (c->conn.fd >= 0) {
		return 0;
	}
	if (c->target[0] != '\0') {
		char t[FABRAFT__ADDR_SIZE];

		memcpy(t, c->target, sizeof(t));
		c->target[0] = '\0';
		rv = connect_auth(c, t, deadline, &c->conn);
		if (rv == 0) {
			adopt(c, t);
			return 0;
		}
		if (rv == FR_AUTH || rv == FR_NOMEM) {
			return rv;
		}
	}
	for (int i = 0; i < c->n_ep && left_ms(deadline) > 0; i++) {
		int k = (c->next_ep + i) % c->n_ep;

		if (c->o.discover_leader) {
			rv = discover(c, c->ep[k], deadline);
		} else if ((rv = connect_auth(c, c->ep[k], deadline,
					      &c->conn)) == 0) {
			adopt(c, c->ep[k]);
		}
		if (rv == 0) {
			c->next_ep = k;
			return 0;
		}
		if (rv == FR_AUTH || rv == FR_NOMEM) {
			return rv;
		}
	}
	/* Start the next round at another endpoint. */
	c->next_ep = (c->next_ep + 1) % c->n_ep;
	return rv;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void fabraft__backoff(struct fabraft_client *c, int attempt, int64_t deadline)
{
	int64_t ceil = c->o.backoff_min_ms;
	int64_t ms;
	struct timespec ts;

	for (int i = 0; i < attempt && ceil < c->o.backoff_max_ms; i++) {
		ceil *= 2;
	}
	if (ceil > c->o.backoff_max_ms) {
		ceil = c->o.backoff_max_ms;
	}
	/* "Equal jitter": half fixed, half random, so that clients that
	 * failed together do not retry together. */
	ms = ceil / 2 +
	     (int64_t)(splitmix64(&c->rng) % (uint64_t)(ceil / 2 + 1));
	if (ms > left_ms(deadline)) {
		ms = left_ms(deadline);
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0) {
	}
}

enum fabraft__verdict fabraft__judge(struct fabraft_client *c,
				     const struct respc_reply *r,
				     enum fabraft__class cls)
{
	if (r->type != '-') {
		return FABRAFT__DONE;
	}
	if (strncmp(r->str, "MOVED ", 6) == 0) {
		const char *a = strrchr(r->str, ' ');

		snprintf(c->target, sizeof(c->target), "%s", a + 1);
		fabraft__fail(c, FR_AGAIN, "%s", r->str);
		return FABRAFT__MOVED;
	}
	if (strncmp(r->str, "TRYAGAIN", 8) == 0) {
		fabraft__fail(c, FR_AGAIN, "%s", r->str);
		if (cls != FABRAFT__READ &&
		    (strstr(r->str, "outcome is unknown") != NULL ||
		     strstr(r->str, "may or may not") != NULL)) {
			return FABRAFT__MAYBE;
		}
		return FABRAFT__RETRY;
	}
	if (strncmp(r->str, "NOAUTH", 6) == 0 ||
	    strncmp(r->str, "WRONGPASS", 9) == 0) {
		fabraft__fail(c, FR_AUTH, "%s", r->str);
		return FABRAFT__FATAL;
	}
	return FABRAFT__DONE;
}

bool fabraft__stale(const struct fabraft_client *c)
{
	struct pollfd p = {.fd = c->conn.fd, .events = POLLIN};

	return poll(&p, 1, 0) != 0;
}

/* One attempt: send, read.  Returns the verdict; *@rv an FR_* code for
 * FABRAFT__FATAL and transport failures. */
static enum fabraft__verdict attempt(struct fabraft_client *c, int argc,
				     const char *const *argv,
				     const size_t *lens,
				     enum fabraft__class cls, int64_t deadline,
				     struct respc_reply *r, int *rv)
{
	enum fabraft__verdict v;

	memset(r, 0, sizeof(*r));
	*rv = respc_append(&c->conn, argc, argv, lens);
	if (*rv != 0) {
		fabraft__fail(c, *rv, "out of memory");
		return FABRAFT__FATAL;
	}
	c->conn.timeout_ms = min_ms(c->o.io_timeout_ms, left_ms(deadline) + 1);
	*rv = respc_flush(&c->conn);
	if (*rv == 0) {
		*rv = respc_read(&c->conn, r);
	}
	if (*rv != 0) {
		fabraft__fail(c, *rv, "%.100s: %.120s", c->server, c->conn.err);
		fabraft__drop(c);
		return cls == FABRAFT__READ ? FABRAFT__RETRY : FABRAFT__MAYBE;
	}
	v = fabraft__judge(c, r, cls);
	if (v == FABRAFT__FATAL) {
		*rv = FR_AUTH;
	}
	if (v != FABRAFT__DONE) {
		respc_reply_free(r);
		fabraft__drop(c);
	}
	return v;
}

/* The end of a call that failed: FR_UNKNOWN if a write may be in. */
static int give_up(struct fabraft_client *c, int rv, bool maybe)
{
	char why[FR_ERRMSG_SIZE];

	memcpy(why, c->errmsg, sizeof(why));
	if (maybe) {
		return fabraft__fail(c, FR_UNKNOWN,
				     "outcome unknown (the write may have "
				     "been applied): %.200s",
				     why);
	}
	if (rv == FR_NOCONN || rv == FR_AUTH || rv == FR_NOMEM) {
		return fabraft__fail(c, rv, "%.240s", why);
	}
	return fabraft__fail(c, FR_TIMEOUT, "no answer within %d ms: %.200s",
			     c->o.deadline_ms, why);
}

int fabraft__run(struct fabraft_client *c, int argc, const char *const *argv,
		 const size_t *lens, enum fabraft__class cls,
		 struct respc_reply *r)
{
	int64_t deadline = fabraft__now_ms() + c->o.deadline_ms;
	bool retry_maybe = cls == FABRAFT__IDEM && c->o.retry_idempotent;
	bool maybe = false;
	int rv = 0;

	c->st.calls++;
	memset(r, 0, sizeof(*r));
	for (int n = 0;; n++) {
		enum fabraft__verdict v = FABRAFT__RETRY;

		if (n > 0) {
			c->st.retries++;
		}
		if (cls != FABRAFT__READ && !retry_maybe && c->conn.fd >= 0 &&
		    fabraft__stale(c)) {
			fabraft__drop(c); /* closed while idle: not sent */
		}
		rv = fabraft__ensure(c, deadline);
		if (rv == FR_AUTH || rv == FR_NOMEM) {
			return give_up(c, rv, maybe);
		}
		if (rv == 0) {
			v = attempt(c, argc, argv, lens, cls, deadline, r, &rv);
		}
		if (v == FABRAFT__DONE) {
			return 0;
		}
		if (v == FABRAFT__FATAL) {
			return give_up(c, rv, maybe);
		}
		if (v == FABRAFT__MAYBE) {
			maybe = true;
			if (!retry_maybe) {
				return give_up(c, rv, true);
			}
		}
		if (fabraft__now_ms() >= deadline) {
			return give_up(c, rv, maybe);
		}
		if (v == FABRAFT__MOVED) {
			c->st.moved++;
			if (n < 3) {
				continue; /* straight to the named leader */
			}
		}
		fabraft__backoff(c, n, deadline);
		if (fabraft__now_ms() >= deadline) {
			return give_up(c, rv, maybe);
		}
	}
}

/* Command names and their retry class; the ones not here are UNSAFE. */
static const struct {
	const char *name;
	enum fabraft__class cls;
} classes[] = {
    {"GET", FABRAFT__READ},	   {"MGET", FABRAFT__READ},
    {"EXISTS", FABRAFT__READ},	   {"PING", FABRAFT__READ},
    {"ECHO", FABRAFT__READ},	   {"INFO", FABRAFT__READ},
    {"SCAN", FABRAFT__READ},	   {"KVC.NODE.LIST", FABRAFT__READ},
    {"KVC.STATS", FABRAFT__READ},  {"KVC.DIGEST", FABRAFT__READ},
    {"KVC.EVENTS", FABRAFT__READ}, {"KVC.SCAN", FABRAFT__READ},
    {"MSET", FABRAFT__IDEM},	   {"DEL", FABRAFT__IDEM},
    {"KVC.EVICT", FABRAFT__IDEM},  {"KVC.DEL", FABRAFT__IDEM},
    {"KVC.REVOKE", FABRAFT__IDEM}, {"KVC.NODE.HEARTBEAT", FABRAFT__IDEM},
};

static bool arg_is(const char *a, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(a, word, len) == 0;
}

enum fabraft__class fabraft__classify(int argc, const char *const *argv,
				      const size_t *lens)
{
	size_t l0 = lens ? lens[0] : strlen(argv[0]);
	size_t ll = lens ? lens[argc - 1] : strlen(argv[argc - 1]);

	/* Commands whose arguments decide. */
	if (arg_is(argv[0], l0, "SET")) {
		return argc == 3 ? FABRAFT__IDEM : FABRAFT__UNSAFE;
	}
	if (arg_is(argv[0], l0, "KVC.LOOKUP")) {
		return argc > 2 && arg_is(argv[argc - 1], ll, "TOUCH")
			   ? FABRAFT__IDEM
			   : FABRAFT__READ;
	}
	if (arg_is(argv[0], l0, "KVC.PUT")) {
		size_t l2 = argc > 2 ? (lens ? lens[2] : strlen(argv[2])) : 0;

		return argc > 2 && arg_is(argv[2], l2, "RES") ? FABRAFT__UNSAFE
							      : FABRAFT__IDEM;
	}
	if (arg_is(argv[0], l0, "RAFT.MEMBER")) {
		size_t l1 = argc > 1 ? (lens ? lens[1] : strlen(argv[1])) : 0;

		return argc == 2 && arg_is(argv[1], l1, "LIST")
			   ? FABRAFT__READ
			   : FABRAFT__UNSAFE;
	}
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (arg_is(argv[0], l0, classes[i].name)) {
			return classes[i].cls;
		}
	}
	return FABRAFT__UNSAFE;
}

bool fabraft__is_multi(int argc, const char *const *argv, const size_t *lens)
{
	return argc >= 1 &&
	       arg_is(argv[0], lens ? lens[0] : strlen(argv[0]), "MULTI");
}
