/* kvc_cmd.c — the command table: classify, check, apply and read. */
#include <assert.h>
#include <string.h>

#include "kvc_int.h"

/*
 * Every command has a stateless check (used by kvc_command_check() on the
 * leader before proposing, and again by kvc_apply() on every replica, since
 * an entry is input too) and an exec that validates against the state
 * before it changes anything.
 */

struct kvc__cmd {
	const char *name;    /* upper case; matched case-insensitively */
	size_t len;	     /* strlen(name) */
	enum kvc_kind kind;  /* KVC.LOOKUP: READ unless TOUCH is given */
	kvc__check_fn check; /* stateless validation */
	kvc__exec_fn exec;   /* validate against the state, then act */
	bool self_checked;   /* exec validates everything check does */
};

#define C(name, kind, fn)                                                      \
	{                                                                      \
		name, sizeof(name) - 1, kind, kvc__check_##fn, kvc__exec_##fn, \
		    0                                                          \
	}
static const struct kvc__cmd cmds[] = {
    C("SET", KVC_WRITE, kv_set),
    C("GET", KVC_READ, kv_get),
    C("DEL", KVC_WRITE, kv_del),
    C("EXISTS", KVC_READ, kv_exists),
    C("MSET", KVC_WRITE, kv_mset),
    C("MGET", KVC_READ, kv_mget),
    C("INCR", KVC_WRITE, kv_incr),
    C("INCRBY", KVC_WRITE, kv_incrby),
    C("DECR", KVC_WRITE, kv_decr),
    C("DECRBY", KVC_WRITE, kv_decrby),
    C("SCAN", KVC_READ, kv_scan),
    C("DBSIZE", KVC_READ, kv_dbsize),
    C("TYPE", KVC_READ, kv_type),
    C("KVC.NODE.ADD", KVC_WRITE, node_add),
    C("KVC.NODE.DEL", KVC_WRITE, node_del),
    C("KVC.NODE.LIST", KVC_READ, node_list),
    C("KVC.NODE.HEARTBEAT", KVC_WRITE, node_heartbeat),
    {"KVC.PUT", 7, KVC_WRITE, kvc__check_put, kvc__exec_put, 1},
    C("KVC.EVICT", KVC_WRITE, evict),
    C("KVC.DEL", KVC_WRITE, nsdel),
    {"KVC.LOOKUP", 10, KVC_READ, kvc__check_lookup, kvc__exec_lookup, 1},
    C("KVC.ALLOC", KVC_WRITE, alloc),
    C("KVC.REVOKE", KVC_WRITE, revoke),
    C("KVC.PIN", KVC_WRITE, pin),
    C("KVC.UNPIN", KVC_WRITE, unpin),
    C("KVC.STATS", KVC_READ, stats),
    C("KVC.DIGEST", KVC_READ, digest),
    C("KVC.EVENTS", KVC_READ, events),
    C("KVC.SCAN", KVC_READ, scan),
};
#undef C

static const struct kvc__cmd *find(const struct kvc_arg *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (name->len == cmds[i].len &&
		    kvc__arg_eq(name, cmds[i].name)) {
			return &cmds[i];
		}
	}
	return NULL;
}

static enum kvc_kind kind_of(const struct kvc__cmd *c, uint32_t argc,
			     const struct kvc_arg *argv)
{
	if (c->exec == kvc__exec_lookup && kvc__lookup_is_write(argc, argv)) {
		return KVC_WRITE;
	}
	return c->kind;
}

/* Items a client command asks for: sizes of KVC.ALLOC, blocks of
 * KVC.PUT, key-value pairs of MSET, otherwise every argument after the
 * name and the namespace (options count too: a bound, not an exact
 * figure).  Checked after the command's own check passed.  *@work is what
 * the command weighs in a transaction (KVC_TXN_ITEMS_MAX): its items, at
 * least 1, a KVC.ALLOC size as much as KVC_ITEMS_MAX / KVC_ALLOC_SIZES_MAX
 * items (the two limits cost about the same time). */
static int client_limits(const struct kvc__cmd *c, uint32_t argc,
			 const struct kvc_arg *argv, uint32_t *work,
			 struct kvc_reply *err)
{
	if (c->exec == kvc__exec_alloc) {
		uint32_t n = 0;
		uint64_t v;
		while (2 + n < argc && kvc__parse_u64(&argv[2 + n], &v)) {
			n++;
		}
		if (n > KVC_ALLOC_SIZES_MAX) {
			return kvc__err_num(err,
					    "too many sizes for one "
					    "KVC.ALLOC (at most ",
					    KVC_ALLOC_SIZES_MAX,
					    "): split the request");
		}
		*work = (n + 1) * (KVC_ITEMS_MAX / KVC_ALLOC_SIZES_MAX);
		return 0;
	}
	bool has_ns = c->exec == kvc__exec_lookup ||
		      c->exec == kvc__exec_evict || c->exec == kvc__exec_pin ||
		      c->exec == kvc__exec_unpin;
	uint32_t items = argc - 1 - (has_ns && argc >= 2);
	if (c->exec == kvc__exec_put) {
		/* 5 words per reserved block (after RES), 7 otherwise */
		bool res = argc > 2 && kvc__arg_eq(&argv[2], "RES");
		items = argc < 3 ? 0 : (argc - 2 - res) / (res ? 5 : 7);
	} else if (c->exec == kvc__exec_kv_mset) {
		items = (argc - 1) / 2;
	}
	if (items > KVC_ITEMS_MAX) {
		return kvc__err_num(err,
				    "too many arguments for one command "
				    "(at most ",
				    KVC_ITEMS_MAX,
				    " keys, hashes, ids or blocks): split the "
				    "request");
	}
	*work = items > 0 ? items : 1;
	return 0;
}

const struct kvc__cmd *kvc__cmd_find(const struct kvc_arg *name)
{
	return find(name);
}

int kvc__cmd_check(const struct kvc__cmd *c, uint32_t argc,
		   const struct kvc_arg *argv, bool client, enum kvc_kind *kind,
		   uint32_t *work, struct kvc_reply *err)
{
	int rv = c->check(argc, argv, err);
	*work = 1;
	if (rv == 0 && client) {
		rv = client_limits(c, argc, argv, work, err);
	}
	if (rv == 0) {
		*kind = kind_of(c, argc, argv);
	}
	return rv;
}

enum kvc_kind kvc__cmd_kind(const struct kvc__cmd *c, uint32_t argc,
			    const struct kvc_arg *argv)
{
	return kind_of(c, argc, argv);
}

int kvc__cmd_exec(struct kvc *k, const struct kvc__cmd *c, uint32_t argc,
		  const struct kvc_arg *argv, struct kvc_reply *r)
{
	return c->exec(k, argc, argv, r);
}

/* The command of a request from a client (not yet in the log): *@c, or
 * FR_NOTFOUND (not a KVC command) or an error reply's code. */
static int find_checked(uint32_t argc, const struct kvc_arg *argv,
			const struct kvc__cmd **c, struct kvc_reply *err)
{
	if (argc == 0) {
		return kvc__err(err, "empty command");
	}
	*c = find(&argv[0]);
	if (*c == NULL && !kvc__is_txn(&argv[0])) {
		return FR_NOTFOUND;
	}
	if (argc > KVC_ARGC_MAX) {
		return kvc__err(err, "too many arguments");
	}
	return 0;
}

int kvc_command_check(uint32_t argc, const struct kvc_arg *argv,
		      enum kvc_kind *kind, struct kvc_reply *err)
{
	const struct kvc__cmd *c = NULL;
	int rv = find_checked(argc, argv, &c, err);
	if (rv != 0) {
		return rv;
	}
	if (c == NULL) {
		return kvc__txn_check(argc, argv, true, kind, err);
	}
	uint32_t work;
	return kvc__cmd_check(c, argc, argv, true, kind, &work, err);
}

/* FR_INVALID from a handler is an error reply, a normal outcome. */
static int outcome(int rv)
{
	assert(rv == 0 || rv == FR_INVALID || rv == FR_NOMEM);
	return rv == FR_INVALID ? 0 : rv;
}

static int apply_entry(struct kvc *k, const void *entry, size_t len,
		       size_t read_max, struct kvc_reply *reply)
{
	uint64_t t;
	uint32_t argc;
	if (kvc__decode(entry, len, &t, &argc, k->argv) != 0) {
		int rv = kvc__err(reply, "malformed log entry");
		return rv == FR_NOMEM ? rv : FR_MALFORMED;
	}
	const struct kvc__cmd *c = find(&k->argv[0]);
	bool txn = c == NULL && kvc__is_txn(&k->argv[0]);
	if (c == NULL && !txn) {
		int rv = kvc__err3(reply, "unknown command '", &k->argv[0],
				   "' in log entry");
		return rv == FR_NOMEM ? rv : FR_MALFORMED;
	}
	/* The entry's time moves the clock (never backwards) and may expire
	 * leases, whatever the command's outcome. */
	if (t > k->now_ms) {
		k->now_ms = t;
	}
	k->applied++;
	kvc__sweep(k);
	if (txn) {
		return outcome(
		    kvc__txn_exec(k, argc, k->argv, true, read_max, reply));
	}
	int rv = c->self_checked ? 0 : c->check(argc, k->argv, reply);
	if (rv != 0) {
		return outcome(rv);
	}
	return outcome(c->exec(k, argc, k->argv, reply));
}

int kvc_apply(struct kvc *k, const void *entry, size_t len,
	      struct kvc_reply *reply)
{
	return kvc_apply_at(k, k->ev_index + 1, entry, len, reply);
}

int kvc_apply_at(struct kvc *k, uint64_t index, const void *entry, size_t len,
		 struct kvc_reply *reply)
{
	/* The runtime applies in log order, so indices grow; a snapshot is
	 * outside input, though, and may remember a larger index than the
	 * entries that follow it: never let the events' indices go back. */
	if (index > k->ev_index) {
		k->ev_index = index;
	}
	/* Only the reads inside a transaction are bounded (kvc.h). */
	size_t read_max = reply->max;
	reply->max = 0;
	int rv = apply_entry(k, entry, len, read_max, reply);
	reply->max = read_max;
	return rv;
}

int kvc_read(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
	     struct kvc_reply *reply)
{
	const struct kvc__cmd *c = NULL;
	int rv = find_checked(argc, argv, &c, reply);
	if (rv != 0) {
		return rv;
	}
	enum kvc_kind kind = KVC_READ;
	uint32_t work;
	if (c == NULL) {
		rv = kvc__txn_check(argc, argv, true, &kind, reply);
	} else if (c->self_checked) {
		rv = client_limits(c, argc, argv, &work, reply);
		kind = kind_of(c, argc, argv);
	} else {
		rv = kvc__cmd_check(c, argc, argv, true, &kind, &work, reply);
	}
	if (rv != 0) {
		return rv;
	}
	if (kind != KVC_READ) {
		return kvc__err3(reply, "'", &argv[0],
				 "' changes state: propose it through the log");
	}
	/* FR_INVALID here is an error reply: bad arguments found by a
	 * self-checking handler, or a state-dependent refusal (KVC.EVENTS
	 * RESYNC or a seq beyond the log, a KVC.SCAN cursor too big). */
	rv = c == NULL ? kvc__txn_exec(k, argc, argv, false, 0, reply)
		       : c->exec(k, argc, argv, reply);
	assert(rv == 0 || rv == FR_INVALID || rv == FR_NOMEM ||
	       (rv == FR_TOOBIG && reply->max != 0));
	return rv;
}
