/* resp_parse.h — incremental, zero-copy RESP2 request parser (private). */
#ifndef FABRAFT_RESP_PARSE_H
#define FABRAFT_RESP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "resp.h"

/*
 * Design notes
 * ============
 * The parser does no I/O.  The caller keeps the bytes of the current request
 * contiguous in its read buffer and calls resp_parse() with a pointer to the
 * request's first byte and everything read so far.  The buffer may move
 * (realloc, compaction) between calls: the parser keeps offsets, never
 * pointers, so parsing resumes where it stopped and a large request is
 * scanned once, however many reads it takes.
 *
 * Two forms, as Redis accepts them:
 *   multibulk  "*<n>\r\n" then n times "$<len>\r\n<len bytes>\r\n"
 *   inline     one line of words ending in "\n" (or "\r\n"), as telnet and
 *              redis-cli --no-raw send; '...' and "..." quote, with the
 *              escapes of redis' sdssplitargs() inside double quotes.
 *
 * Invariants:
 *  1. Every length is checked against the limits before it is trusted; a
 *     number line is rejected at its first bad byte, not at its CRLF.
 *  2. Argument arrays grow as arguments arrive (never from a declared count),
 *     so memory follows bytes actually received.
 *  3. Inline words are unescaped in place (the result is never longer).
 */

/** Limits one request must respect. */
struct resp_parse_limits {
	uint32_t args_max;	    /* arguments of one request */
	uint64_t bulk_bytes_max;    /* bytes of one argument */
	uint64_t request_bytes_max; /* encoded bytes of one request */
};

/** The longest inline request line, as in Redis (PROTO_INLINE_MAX_SIZE). */
#define RESP_INLINE_MAX 65536u

/** A parsed request; valid until the next resp_parse() call. */
struct resp_request {
	uint32_t argc;		     /* 0 for an empty line or "*0" */
	const struct resp_arg *argv; /* argc entries into the buffer */
	size_t bytes;		     /* encoded length: consume this much */
};

/** Parser state for one connection. */
struct resp_parser {
	struct resp_parse_limits lim; /* applied to the next byte */
	int kind;	       /* 0 = between requests, '*' = multibulk */
	uint32_t argc;	       /* arguments declared by "*<n>" */
	uint32_t nargs;	       /* arguments complete so far */
	size_t pos;	       /* offset of the next unparsed byte */
	struct resp_arg *argv; /* nargs entries; ptr set on completion */
	size_t *offs;	       /* offset of each argument's first byte */
	uint32_t cap;	       /* entries allocated in argv and offs */
	size_t need;	       /* after FR_AGAIN: bytes needed at least */
	char errmsg[160]; /* after a protocol error: "Protocol error: ..." */
};

/** Start with an empty state. @lim is copied. */
void resp_parser_init(struct resp_parser *p,
		      const struct resp_parse_limits *lim);
/** Free the argument arrays. */
void resp_parser_close(struct resp_parser *p);

/**
 * Parse the request that starts at @buf, of which @len bytes are available
 * (@buf is borrowed and may be modified: inline unescaping).  Returns
 *   0            a request is complete: *@req says how long it is and where
 *                its arguments are (pointers into @buf);
 *   FR_AGAIN     incomplete: call again with the same request start and
 *                more bytes; p->need is the total length needed at least;
 *   FR_MALFORMED or FR_TOOBIG: a protocol error, p->errmsg tells the client;
 *                the connection must close;
 *   FR_NOMEM     out of memory (the state is unchanged; may retry).
 */
__attribute__((warn_unused_result)) int resp_parse(struct resp_parser *p,
						   char *buf, size_t len,
						   struct resp_request *req);

#endif /* FABRAFT_RESP_PARSE_H */
