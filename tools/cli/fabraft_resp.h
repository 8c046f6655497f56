/* fabraft_resp.h — a tiny blocking RESP2 client for the fabraft CLI. */
#ifndef FABRAFT_TOOLS_RESP_H
#define FABRAFT_TOOLS_RESP_H

#include <stddef.h>
#include <stdint.h>

/* One reply; arrays own their elements. */
struct rc_reply {
	char type;	       /* '+', '-', ':', '$', '*'; '$' with
				  len == SIZE_MAX is nil */
	int64_t integer;       /* ':' */
	char *str;	       /* '+', '-', '$': malloc'd, NUL-terminated */
	size_t len;	       /* bytes in str */
	size_t n;	       /* '*': elements (SIZE_MAX: nil array) */
	struct rc_reply *elem; /* '*': malloc'd array of n */
};

struct rc_conn {
	int fd;		/* connected socket, -1 when closed */
	char *in;	/* read buffer (malloc'd) */
	size_t in_len;	/* bytes buffered */
	size_t in_off;	/* bytes consumed */
	size_t in_cap;	/* allocated */
	char *out;	/* queued commands (malloc'd) */
	size_t out_len; /* bytes queued */
	size_t out_cap; /* allocated */
	int timeout_ms; /* per read/write wait */
	char err[128];	/* last error */
};

/** Connect to "HOST:PORT" (@addr borrowed).  Returns 0 or -1 (c->err). */
int rc_connect(struct rc_conn *c, const char *addr, int timeout_ms);
void rc_close(struct rc_conn *c);
/** Queue a command (args borrowed; @lens NULL = strlen). */
int rc_append(struct rc_conn *c, int argc, const char *const *argv,
	      const size_t *lens);
/** Send everything queued.  0 or -1. */
int rc_flush(struct rc_conn *c);
/** Read one reply into @r (free with rc_reply_free).  0 or -1. */
int rc_read(struct rc_conn *c, struct rc_reply *r);
/** rc_append + rc_flush + rc_read. */
int rc_command(struct rc_conn *c, struct rc_reply *r, int argc,
	       const char *const *argv);
void rc_reply_free(struct rc_reply *r);
/** Print a reply the way redis-cli does (for get/set/kvc). */
void rc_reply_print(const struct rc_reply *r, int indent);
/** Value of "key:" in an INFO reply text, copied into @out ("" if none). */
void rc_info_field(const char *info, const char *key, char *out, size_t cap);
/** INFO of the node at "HOST:PORT" @addr (borrowed), reached through
 * @connect (rc_connect itself, or a wrapper with its contract: the CLI's
 * cl_connect also sends AUTH): the reply text, malloc'd (the caller frees it),
 * or NULL when the node cannot be reached or does not answer with a bulk
 * string. */
char *rc_info(const char *addr, int timeout_ms,
	      int (*connect)(struct rc_conn *c, const char *addr,
			     int timeout_ms));

#endif /* FABRAFT_TOOLS_RESP_H */
