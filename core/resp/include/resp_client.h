/* resp_client.h — the one RESP2 client: request encoder, incremental reply
 * parser and the blocking helpers programs use to talk to a server. */
#ifndef FABRAFT_RESP_CLIENT_H
#define FABRAFT_RESP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Design notes
 * ============
 * 1. The encoder (argv -> "*N\r\n$len\r\n...") and the parser (bytes in any
 *    split -> reply tree) are hiredis's redisFormatCommandArgv and
 *    redisReader; this library adds the reply tree (allocated through
 *    heap.h), the bounds, and the socket helpers.
 * 2. The parser never trusts a length: an array's slots grow as elements
 *    arrive, and a reply (its tree plus its still unparsed bytes) larger than
 *    the reader's bytes_max is rejected with FR_TOOBIG.  Arrays nested deeper
 *    than hiredis's 8 levels are FR_MALFORMED.
 * 3. The parser also reports each reply's size on the wire, so a relay (the
 *    daemon's forwarding) can pass the exact bytes on without re-encoding.
 *    A reader keeps its buffer between replies (as large as the largest
 *    reply so far) rather than growing it again for each one.
 * 4. Nothing here blocks except respc_conn's helpers; the encoder and the
 *    reader are what an event loop uses.
 * 5. Programs that only talk to a server link this library (fabraft_respc),
 *    not the server (fabraft_resp).
 */

struct redisReader;

/** Default bound on one reply (tree plus unparsed bytes). */
#define RESPC_BYTES_MAX (600u << 20)

/* One reply.  Arrays own their elements; strings are NUL-terminated. */
struct respc_reply {
	char type;		  /* '+', '-', ':', '$', '*'; 0 when empty */
	int64_t integer;	  /* ':' the value; '*' the declared count */
	char *str;		  /* '+', '-', '$': owned, NUL-terminated */
	size_t len;		  /* bytes in str; '$' nil: SIZE_MAX */
	size_t n;		  /* '*': elements; nil array: SIZE_MAX */
	struct respc_reply *elem; /* '*': owned array of n (or more) */
};

/* A growable byte buffer (encoded requests, received bytes). */
struct respc_buf {
	char *data; /* owned (heap.h) */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
};

/* The incremental reply parser. */
struct respc_reader {
	struct redisReader *r;	 /* hiredis parser, owned; NULL when closed */
	uint64_t fed;		 /* bytes ever fed */
	uint64_t taken;		 /* bytes of the replies returned so far */
	size_t bytes_max;	 /* bound on one reply */
	struct respc_reply *top; /* reply being parsed, owned; or NULL */
	size_t tree_bytes;	 /* bytes the reply being parsed holds */
	int rv;			 /* sticky error, 0 while healthy */
	char err[128];		 /* why, when rv != 0 */
};

/* A blocking connection (CLI, tests, benchmark control paths). */
struct respc_conn {
	int fd;			/* connected socket, -1 when closed */
	int timeout_ms;		/* connect, and each reply's deadline */
	struct respc_reader rd; /* replies */
	struct respc_buf out;	/* queued commands */
	char err[128];		/* last error */
};

/** Append @len bytes at @p (borrowed) to @b.  0 or FR_NOMEM. */
__attribute__((warn_unused_result)) int
respc_buf_put(struct respc_buf *b, const void *p, size_t len);
/** Drop the first @n (<= b->len) bytes of @b. */
void respc_buf_consume(struct respc_buf *b, size_t n);
/** Free @b's memory; @b is empty afterwards. */
void respc_buf_free(struct respc_buf *b);

/**
 * Append the RESP request for @argc (>= 1) arguments to @b.
 * @argv: borrowed; @lens: their lengths, NULL = strlen each.
 * Returns 0 or FR_NOMEM (@b unchanged then).
 */
__attribute__((warn_unused_result)) int respc_encode(struct respc_buf *b,
						     int argc,
						     const char *const *argv,
						     const size_t *lens);

/** Set up @rd; @bytes_max bounds one reply (0 = RESPC_BYTES_MAX).
 * 0 or FR_NOMEM.  Close with respc_reader_close(). */
__attribute__((warn_unused_result)) int
respc_reader_init(struct respc_reader *rd, size_t bytes_max);
/** Free @rd (safe on a zeroed or closed reader). */
void respc_reader_close(struct respc_reader *rd);
/** Hand @len received bytes (@p borrowed, copied) to the parser.
 * 0, or the sticky error of a failed reader. */
__attribute__((warn_unused_result)) int
respc_reader_feed(struct respc_reader *rd, const char *p, size_t len);
/**
 * Take the next complete reply into @r (free with respc_reply_free); its size
 * on the wire goes to @wire_len (may be NULL).
 * Returns 0; FR_AGAIN when more bytes are needed; FR_MALFORMED (bad protocol,
 * nesting too deep), FR_TOOBIG (over bytes_max) or FR_NOMEM, with rd->err,
 * after which the reader stays failed.
 */
__attribute__((warn_unused_result)) int
respc_reader_next(struct respc_reader *rd, struct respc_reply *r,
		  size_t *wire_len);

/** Free what @r owns; @r is empty afterwards (safe on an empty reply). */
void respc_reply_free(struct respc_reply *r);
/** True when @r is a nil bulk string or nil array. */
bool respc_reply_is_nil(const struct respc_reply *r);

/**
 * Connect to "HOST:PORT" (@addr borrowed) within @timeout_ms, which also
 * becomes each reply's deadline.  @c needs no set-up; on failure it is
 * closed and c->err says why.  0, FR_INVALID, FR_NOCONN, FR_TIMEOUT or
 * FR_NOMEM.  Close with respc_close() either way.
 */
__attribute__((warn_unused_result)) int
respc_connect(struct respc_conn *c, const char *addr, int timeout_ms);
/** Close @c (safe on a closed one, or one set to {.fd = -1}). */
void respc_close(struct respc_conn *c);
/** AUTH with @password (borrowed).  0, FR_AUTH (refused; c->err has the
 * server's reason) or an I/O error as respc_command. */
__attribute__((warn_unused_result)) int respc_auth(struct respc_conn *c,
						   const char *password);
/** Queue a command (as respc_encode).  0 or FR_NOMEM. */
__attribute__((warn_unused_result)) int respc_append(struct respc_conn *c,
						     int argc,
						     const char *const *argv,
						     const size_t *lens);
/** Send everything queued.  0, FR_TIMEOUT or FR_IO (c->err). */
__attribute__((warn_unused_result)) int respc_flush(struct respc_conn *c);
/** Read one reply into @r (free with respc_reply_free; empty on error)
 * before the deadline.  0, FR_TIMEOUT, FR_IO, FR_NOCONN (closed by the
 * server), or the reader's errors; c->err says why. */
__attribute__((warn_unused_result)) int respc_read(struct respc_conn *c,
						   struct respc_reply *r);
/** respc_append (strlen lengths) + respc_flush + respc_read. */
__attribute__((warn_unused_result)) int respc_command(struct respc_conn *c,
						      struct respc_reply *r,
						      int argc,
						      const char *const *argv);

/** Value of "key:" in an INFO reply text, copied into @out ("" if none). */
void respc_info_field(const char *info, const char *key, char *out, size_t cap);
/**
 * INFO of the node at "HOST:PORT" @addr (borrowed), reached through
 * @connect (respc_connect itself, or a wrapper with its contract such as one
 * that also sends AUTH): the reply text, allocated with fr_malloc (the caller
 * fr_frees it), or NULL when the node cannot be reached or does not answer
 * with a bulk string.
 */
char *respc_info(const char *addr, int timeout_ms,
		 int (*connect)(struct respc_conn *c, const char *addr,
				int timeout_ms));

#endif /* FABRAFT_RESP_CLIENT_H */
