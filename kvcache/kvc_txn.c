/* kvc_txn.c — TXN: several commands applied as one entry (MULTI/EXEC). */
#include <string.h>

#include "kvc_int.h"

/*
 * Design notes
 * ============
 * `TXN n1 w1 ... wn1 n2 w1 ... wn2 ...` holds commands of the table, each
 * preceded by its word count (name included).  The RESP front turns a
 * MULTI ... EXEC block into one TXN request, so a transaction is one
 * client request, one forwarded request and one log entry in the ordinary
 * entry format (docs/kvcache.md "Entry format").
 *
 * Invariants:
 *  1. A TXN is validated as a whole before any of its commands runs: word
 *     counts that do not tile the arguments exactly, an unknown or nested
 *     command, more than KVC_TXN_CMDS_MAX commands, or any command failing
 *     its stateless check refuse the whole entry (one error reply, no
 *     change), on the client path and again when a replica applies it.
 *  2. Then the commands run in order against the state as the earlier
 *     ones left it, each appending its own reply (an error reply of one
 *     command does not undo or stop the others, as in Redis).  The whole
 *     entry is one apply step, so no other command interleaves.
 *  3. While applying, a read's reply that would take the TXN's reply past
 *     the caller's bound becomes an error element instead; a write's
 *     reply is never refused (the state must not depend on reply sizes).
 *  4. The client path (kvc_command_check(), kvc_read()) also bounds the
 *     total work: at most KVC_TXN_ITEMS_MAX items over all commands.
 */

static const char TXN_NAME[] = "TXN";

bool kvc__is_txn(const struct kvc_arg *name)
{
	return kvc__arg_eq(name, TXN_NAME);
}

struct txn_it {
	uint32_t argc;		    /* words of the TXN, name included */
	const struct kvc_arg *argv; /* borrowed */
	uint32_t pos;		    /* next word count */
};

/* The next command: 1 (*@sargc, *@sargv set), 0 at the end, -1 when a
 * word count is not a number or runs past the end. */
static int txn_next(struct txn_it *it, uint32_t *sargc,
		    const struct kvc_arg **sargv)
{
	uint64_t n;
	if (it->pos == it->argc) {
		return 0;
	}
	if (!kvc__parse_u64(&it->argv[it->pos], &n) || n == 0 ||
	    n > it->argc - it->pos - 1) {
		return -1;
	}
	*sargc = (uint32_t)n;
	*sargv = &it->argv[it->pos + 1];
	it->pos += 1 + (uint32_t)n;
	return 1;
}

/* "-EXECABORT Transaction discarded: command <i>: <text>\r\n", @text the
 * error reply @sub of that command without its "-ERR " prefix. */
static int txn_abort(struct kvc_reply *r, uint32_t i, const char *why,
		     const struct kvc_reply *sub)
{
	char num[24];
	num[kvc__fmt_u64(num, i)] = '\0';
	const char *t = sub != NULL ? sub->buf : why;
	size_t tl = sub != NULL ? sub->len : strlen(why);
	if (sub != NULL && tl >= 3) {
		t++;
		tl -= 3; /* '-' and CRLF */
		if (tl >= 4 && memcmp(t, "ERR ", 4) == 0) {
			t += 4;
			tl -= 4;
		}
	}
	int rv = kvc__reply_str(r, "-EXECABORT Transaction discarded: ");
	if (i > 0) {
		rv = rv != 0 ? rv : kvc__reply_str(r, "command ");
		rv = rv != 0 ? rv : kvc__reply_str(r, num);
		rv = rv != 0 ? rv : kvc__reply_str(r, ": ");
	}
	rv = rv != 0 ? rv : kvc__reply_raw(r, t, tl);
	rv = rv != 0 ? rv : kvc__reply_str(r, "\r\n");
	return rv != 0 ? rv : FR_INVALID;
}

/* Check command @i (1-based) of a TXN; adds its work to *@work. */
static int check_one(uint32_t i, uint32_t sargc, const struct kvc_arg *sargv,
		     bool client, enum kvc_kind *kind, uint32_t *work,
		     struct kvc_reply *err)
{
	const struct kvc__cmd *c = kvc__cmd_find(&sargv[0]);
	if (c == NULL) {
		return txn_abort(err, i,
				 kvc__is_txn(&sargv[0])
				     ? "TXN cannot be nested"
				     : "unknown command (only the generic "
				       "KV and KVC.* commands may be in a "
				       "transaction)",
				 NULL);
	}
	struct kvc_reply sub = {0};
	enum kvc_kind k = KVC_READ;
	uint32_t w = 0;
	int rv = kvc__cmd_check(c, sargc, sargv, client, &k, &w, &sub);
	if (rv == FR_INVALID) {
		rv = txn_abort(err, i, NULL, &sub);
	}
	kvc_reply_free(&sub);
	if (rv == 0) {
		*work += w;
		*kind = k == KVC_WRITE ? KVC_WRITE : *kind;
	}
	return rv;
}

int kvc__txn_check(uint32_t argc, const struct kvc_arg *argv, bool client,
		   enum kvc_kind *kind, struct kvc_reply *err)
{
	if (argc < 3) {
		return kvc__err_arity(err, &argv[0]);
	}
	struct txn_it it = {.argc = argc, .argv = argv, .pos = 1};
	const struct kvc_arg *sargv;
	uint32_t sargc;
	uint32_t n = 0;
	uint32_t work = 0;
	enum kvc_kind k = KVC_READ;
	int more;
	/* The shape first, then each command. */
	while ((more = txn_next(&it, &sargc, &sargv)) > 0) {
		n++;
	}
	if (more < 0) {
		return kvc__err(err, "TXN syntax: every command must follow "
				     "its word count (TXN n1 cmd1... n2 "
				     "cmd2...)");
	}
	if (n > KVC_TXN_CMDS_MAX) {
		return txn_abort(
		    err, 0, "more than 1024 commands in one transaction", NULL);
	}
	it.pos = 1;
	for (uint32_t i = 1; txn_next(&it, &sargc, &sargv) > 0; i++) {
		int rv = check_one(i, sargc, sargv, client, &k, &work, err);
		if (rv != 0) {
			return rv;
		}
	}
	if (client && work > KVC_TXN_ITEMS_MAX) {
		return txn_abort(err, 0,
				 "too much work for one transaction (at most "
				 "8192 keys, hashes, ids or blocks in all; a "
				 "KVC.ALLOC size counts 16): split it",
				 NULL);
	}
	*kind = k;
	return 0;
}

/* Run one command of a checked TXN; see invariant 3 for @read_max. */
static int exec_one(struct kvc *k, uint32_t sargc, const struct kvc_arg *sargv,
		    bool apply, size_t read_max, size_t base,
		    struct kvc_reply *r)
{
	const struct kvc__cmd *c = kvc__cmd_find(&sargv[0]);
	assert(c != NULL);
	size_t start = r->len;
	if (apply) {
		bool bounded =
		    read_max != 0 && kvc__cmd_kind(c, sargc, sargv) == KVC_READ;
		r->max = bounded ? base + read_max : 0;
	}
	int rv = kvc__cmd_exec(k, c, sargc, sargv, r);
	if (apply) {
		r->max = 0;
	}
	if (rv == FR_TOOBIG && apply) {
		r->len = start;
		rv = kvc__err_num(r, "reply larger than ", read_max,
				  " bytes (reply-bytes-max): ask for fewer "
				  "keys or blocks per command");
	}
	return rv;
}

int kvc__txn_exec(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		  bool apply, size_t read_max, struct kvc_reply *r)
{
	enum kvc_kind kind;
	if (apply) {
		int rv = kvc__txn_check(argc, argv, false, &kind, r);
		if (rv != 0) {
			return rv;
		}
	}
	struct txn_it it = {.argc = argc, .argv = argv, .pos = 1};
	const struct kvc_arg *sargv;
	uint32_t sargc;
	uint32_t n = 0;
	while (txn_next(&it, &sargc, &sargv) > 0) {
		n++;
	}
	size_t base = r->len;
	int rv = kvc__reply_array(r, n);
	it.pos = 1;
	while (rv == 0 && txn_next(&it, &sargc, &sargv) > 0) {
		rv = exec_one(k, sargc, sargv, apply, read_max, base, r);
		rv = rv == FR_INVALID ? 0 : rv;
	}
	assert(rv == 0 || rv == FR_NOMEM || (rv == FR_TOOBIG && !apply));
	return rv;
}
