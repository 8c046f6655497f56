/* client_int.h — private parts of the C client library (core/client). */
#ifndef FABRAFT_CLIENT_INT_H
#define FABRAFT_CLIENT_INT_H

#include <stdio.h>

#include "err.h"
#include "fabraft_client.h"
#include "resp_client.h"

#define FABRAFT__ADDR_SIZE 256

/* How a command may be retried (docs/client.md "Which calls are retried"). */
enum fabraft__class {
	FABRAFT__READ = 0,   /* changes nothing: always retried */
	FABRAFT__IDEM = 1,   /* a write that may run twice: retried on an
			      * unknown outcome when retry_idempotent */
	FABRAFT__UNSAFE = 2, /* a write that must not run twice: an unknown
			      * outcome is FR_UNKNOWN */
};

struct fabraft_client {
	struct fabraft_options o; /* copy */
	char password[256];	  /* AUTH, "" = none */
	char ep[FABRAFT_ENDPOINTS_MAX][FABRAFT__ADDR_SIZE]; /* endpoints */
	int n_ep;					    /* how many */
	int next_ep;			 /* endpoint to try next */
	char target[FABRAFT__ADDR_SIZE]; /* leader to try first, "" = none */
	struct respc_conn conn;		 /* fd -1 when not connected */
	char server[FABRAFT__ADDR_SIZE]; /* conn's address */
	uint64_t rng;			 /* splitmix64 state (jitter) */
	struct fabraft_client_stats st;	 /* counters */
	char errmsg[FR_ERRMSG_SIZE];	 /* why the last call failed */
};

/* An argument list being built: strings borrowed or copied in. */
struct fabraft__args {
	int argc;	/* arguments */
	int cap;	/* slots */
	const char **v; /* argv (owned array) */
	size_t *lens;	/* lengths (owned array) */
	size_t *off;	/* SIZE_MAX: v[i] borrowed; else offset in text */
	char *text;	/* copied arguments (owned) */
	size_t tlen;	/* bytes used in text */
	size_t tcap;	/* bytes allocated */
	int rv;		/* sticky FR_NOMEM */
};

/* One attempt's outcome, per command, for the retry loop. */
enum fabraft__verdict {
	FABRAFT__DONE = 0,  /* a final reply */
	FABRAFT__RETRY = 1, /* certainly not executed: send again */
	FABRAFT__MAYBE = 2, /* may have been executed */
	FABRAFT__MOVED = 3, /* -MOVED: try the named address */
	FABRAFT__FATAL = 4, /* stop: AUTH, CLUSTERDOWN */
};

int64_t fabraft__now_ms(void);
/* Printf into c->errmsg; evaluates to @rv.  (A macro over snprintf rather
 * than a va_list function: clang-analyzer misreads the va_list there.) */
#define fabraft__fail(c, rv, ...)                                              \
	fabraft__rv(snprintf((c)->errmsg, sizeof((c)->errmsg), __VA_ARGS__),   \
		    (rv))
static inline int fabraft__rv(int printed, int rv)
{
	(void)printed;
	return rv;
}
/* The retry class of a command by its name and arguments. */
enum fabraft__class fabraft__classify(int argc, const char *const *argv,
				      const size_t *lens);
/* True for MULTI: a transaction's state lives on its connection, so
 * MULTI ... EXEC goes out as one pipeline that is never re-sent. */
bool fabraft__is_multi(int argc, const char *const *argv, const size_t *lens);
/* Connect to the leader (or, without discovery, an endpoint) unless
 * connected, before @deadline.  0 or an FR_* code; FR_AUTH is final. */
int fabraft__ensure(struct fabraft_client *c, int64_t deadline);
/* Close the connection (the next call connects again). */
void fabraft__drop(struct fabraft_client *c);
/* True when the idle connection was closed by the server (EOF pending) or
 * holds bytes nobody asked for: either way, do not send on it. */
bool fabraft__stale(const struct fabraft_client *c);
/* Sleep a jittered backoff for attempt @attempt, not past @deadline. */
void fabraft__backoff(struct fabraft_client *c, int attempt, int64_t deadline);
/* Classify reply @r of a command of class @cls; -MOVED's address goes to
 * c->target. */
enum fabraft__verdict fabraft__judge(struct fabraft_client *c,
				     const struct respc_reply *r,
				     enum fabraft__class cls);
/* Run one command with retries into @r (respc tree).  0 when a final reply
 * arrived (it may be an error reply). */
int fabraft__run(struct fabraft_client *c, int argc, const char *const *argv,
		 const size_t *lens, enum fabraft__class cls,
		 struct respc_reply *r);
/* Move the respc tree @src into @dst (fabraft_reply); @src is empty
 * afterwards.  0 or FR_NOMEM. */
int fabraft__reply_move(struct fabraft_reply *dst, struct respc_reply *src);

/* Argument builder. */
void fabraft__args_init(struct fabraft__args *a);
void fabraft__args_free(struct fabraft__args *a);
/* Room for @argc arguments and @text_bytes of copied ones at once (a
 * 64-hash lookup would otherwise grow its arrays a dozen times). */
void fabraft__args_reserve(struct fabraft__args *a, size_t argc,
			   size_t text_bytes);
void fabraft__args_str(struct fabraft__args *a, const char *s);
void fabraft__args_mem(struct fabraft__args *a, const void *p, size_t len);
void fabraft__args_u64(struct fabraft__args *a, uint64_t v);
void fabraft__args_i64(struct fabraft__args *a, int64_t v);
void fabraft__args_hash(struct fabraft__args *a, const struct fabraft_hash *h);
/* Resolve copied arguments; 0 or FR_NOMEM. */
int fabraft__args_done(struct fabraft__args *a);
/* Build-and-run helper for typed calls: runs @a's command with class
 * @cls, maps an error reply to FR_REFUSED (FR_STALE for -RESYNC) with the
 * text in errmsg, and frees @a.  @r is left for the caller to free. */
int fabraft__call(struct fabraft_client *c, struct fabraft__args *a,
		  enum fabraft__class cls, struct respc_reply *r);
/* An integer reply of @name's call into *@out (may be NULL). */
int fabraft__want_int(struct fabraft_client *c, const struct respc_reply *r,
		      const char *name, uint64_t *out);
/* Run @a (freed) and expect +OK / a non-negative integer (*@out, may be
 * NULL). */
int fabraft__ok(struct fabraft_client *c, struct fabraft__args *a,
		enum fabraft__class cls, const char *name);
int fabraft__count(struct fabraft_client *c, struct fabraft__args *a,
		   enum fabraft__class cls, const char *name, uint64_t *out);
/* FR_MALFORMED with "unexpected reply to @name". */
#define fabraft__bad_reply(c, name)                                            \
	fabraft__fail((c), FR_MALFORMED, "unexpected reply to %s", (name))
/* Copy a bulk/simple string reply into a new NUL-terminated string. */
char *fabraft__strdup(const struct respc_reply *r);
/* Parse a hash from a reply string. 0 or FR_MALFORMED. */
int fabraft__reply_hash(const struct respc_reply *r, struct fabraft_hash *h);
/* An array of lookup blocks (or, @scan, scan blocks) into @out. */
int fabraft__parse_blocks(const struct respc_reply *r, bool scan,
			  struct fabraft_blocks *out);
/* True when @r is an integer reply (or a string holding one) -> *@v. */
bool fabraft__reply_u64(const struct respc_reply *r, uint64_t *v);

#endif /* FABRAFT_CLIENT_INT_H */
