/* trace_load.c — the trace loader: JSON lines (gzip or plain, through
 * zlib) into requests and block ids, every line checked. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bench_trace.h"
#include "err.h"

/* A line being parsed. */
struct lp {
	const char *p;	  /* next byte */
	char why[160];	  /* what is wrong, when a step failed */
	uint64_t ts;	  /* timestamp */
	uint64_t in_len;  /* input_length */
	uint64_t out_len; /* output_length */
	bool has_ts;	  /* timestamp seen */
	bool has_ids;	  /* hash_ids seen */
	bool has_in;	  /* input_length seen */
	uint64_t *ids;	  /* where hash_ids go (TR_IDS_MAX) */
	uint32_t n;	  /* ids parsed */
};

static void ws(struct lp *l)
{
	while (*l->p == ' ' || *l->p == '\t' || *l->p == '\r' ||
	       *l->p == '\n') {
		l->p++;
	}
}

static int bad(struct lp *l, const char *what)
{
	snprintf(l->why, sizeof(l->why), "%s", what);
	return -1;
}

/* A non-negative integer no larger than @max into *@v; @what names it. */
static int uint_of(struct lp *l, uint64_t max, const char *what, uint64_t *v)
{
	uint64_t x = 0;
	const char *s = l->p;

	if (*s < '0' || *s > '9') {
		snprintf(l->why, sizeof(l->why),
			 "%s is not a non-negative integer", what);
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (x > (max - d) / 10) {
			snprintf(l->why, sizeof(l->why),
				 "%s is out of range (0..%" PRIu64 ")", what,
				 max);
			return -1;
		}
		x = x * 10 + d;
	}
	if (*s == '.' || *s == 'e' || *s == 'E') {
		snprintf(l->why, sizeof(l->why), "%s is not an integer", what);
		return -1;
	}
	l->p = s;
	*v = x;
	return 0;
}

/* A JSON string (escapes skipped over, not decoded) into @out. */
static int str_of(struct lp *l, char *out, size_t cap)
{
	size_t n = 0;

	if (*l->p != '"') {
		return bad(l, "expected a string");
	}
	l->p++;
	while (*l->p != '"') {
		if (*l->p == '\0') {
			return bad(l, "unterminated string");
		}
		if (*l->p == '\\' && l->p[1] != '\0') {
			l->p++;
		}
		if (n + 1 < cap) {
			out[n++] = *l->p;
		}
		l->p++;
	}
	l->p++;
	out[n] = '\0';
	return 0;
}

/* A key and its ':' inside an object being skipped. */
static int skip_key(struct lp *l)
{
	char tmp[8];

	if (str_of(l, tmp, sizeof(tmp)) != 0) {
		return -1;
	}
	ws(l);
	if (*l->p != ':') {
		return bad(l, "expected ':' after a key");
	}
	l->p++;
	return 0;
}

/* After a value inside the containers of @stack (@depth of them): close
 * what ends here.  1 when the outermost value is complete, 0 when another
 * value follows, -1 on bad input. */
static int after_value(struct lp *l, const char *stack, int *depth)
{
	while (*depth > 0) {
		ws(l);
		if (*l->p == stack[*depth - 1]) {
			l->p++;
			(*depth)--;
			continue;
		}
		if (*l->p != ',') {
			return bad(l, "expected ',' or the end of a list");
		}
		l->p++;
		ws(l);
		return stack[*depth - 1] == '}' && skip_key(l) != 0 ? -1 : 0;
	}
	return 1;
}

/* Skip any JSON value (containers nested at most 16 deep), without
 * recursion. */
static int skip_value(struct lp *l)
{
	char stack[16];
	int depth = 0;
	int rv;
	char tmp[8];

	do {
		ws(l);
		if (*l->p == '[' || *l->p == '{') {
			if (depth == (int)sizeof(stack)) {
				return bad(l, "nested too deeply");
			}
			stack[depth++] = *l->p == '[' ? ']' : '}';
			l->p++;
			ws(l);
			if (*l->p != stack[depth - 1]) {
				if (stack[depth - 1] == '}' &&
				    skip_key(l) != 0) {
					return -1;
				}
				rv = 0;
				continue;
			}
		} else if (*l->p == '"') {
			if (str_of(l, tmp, sizeof(tmp)) != 0) {
				return -1;
			}
		} else if (*l->p == '\0' ||
			   strchr("-0123456789tfn", *l->p) == NULL) {
			return bad(l, "expected a JSON value");
		}
		while (*l->p != '\0' && strchr(",]} \t\r\n", *l->p) == NULL) {
			l->p++; /* a scalar, or the close of an empty one */
		}
		rv = after_value(l, stack, &depth);
	} while (rv == 0);
	return rv < 0 ? -1 : 0;
}

static int ids_of(struct lp *l)
{
	char what[48];

	if (*l->p != '[') {
		return bad(l, "hash_ids is not a list");
	}
	l->p++;
	ws(l);
	l->n = 0;
	while (*l->p != ']') {
		uint64_t v;

		if (l->n == TR_IDS_MAX) {
			return bad(l, "hash_ids has more than 4096 ids");
		}
		snprintf(what, sizeof(what), "hash_ids[%u]", l->n);
		if (uint_of(l, UINT64_MAX, what, &v) != 0) {
			return -1;
		}
		for (uint32_t j = 0; j < l->n; j++) {
			if (l->ids[j] == v) {
				snprintf(l->why, sizeof(l->why),
					 "hash_ids[%u] repeats id %" PRIu64
					 " (a chain cannot hold a block twice)",
					 l->n, v);
				return -1;
			}
		}
		l->ids[l->n++] = v;
		ws(l);
		if (*l->p == ',') {
			l->p++;
			ws(l);
		} else if (*l->p != ']') {
			return bad(l, "hash_ids: expected ',' or ']'");
		}
	}
	l->p++;
	return 0;
}

/* The value of key @k. */
static int member(struct lp *l, const char *k)
{
	if (strcmp(k, "hash_ids") == 0) {
		l->has_ids = true;
		return ids_of(l);
	}
	if (strcmp(k, "timestamp") == 0) {
		l->has_ts = true;
		return uint_of(l, 1ull << 53, "timestamp", &l->ts);
	}
	if (strcmp(k, "input_length") == 0) {
		l->has_in = true;
		return uint_of(l, UINT32_MAX, "input_length", &l->in_len);
	}
	if (strcmp(k, "output_length") == 0) {
		return uint_of(l, UINT32_MAX, "output_length", &l->out_len);
	}
	return skip_value(l);
}

/* One line (NUL-terminated) into @l. */
static int parse_line(struct lp *l)
{
	char key[64];

	ws(l);
	if (*l->p != '{') {
		return bad(l, "not a JSON object");
	}
	l->p++;
	ws(l);
	while (*l->p != '}') {
		if (str_of(l, key, sizeof(key)) != 0) {
			return -1;
		}
		ws(l);
		if (*l->p++ != ':') {
			return bad(l, "expected ':' after a key");
		}
		ws(l);
		if (member(l, key) != 0) {
			return -1;
		}
		ws(l);
		if (*l->p == ',') {
			l->p++;
			ws(l);
		} else if (*l->p != '}') {
			return bad(l, "expected ',' or '}'");
		}
	}
	l->p++;
	ws(l);
	if (*l->p != '\0') {
		return bad(l, "text after the object");
	}
	if (!l->has_ts || !l->has_ids) {
		return bad(l, "needs both \"timestamp\" and \"hash_ids\"");
	}
	return 0;
}

/* Append the parsed request of @l to @t.  0 or FR_NOMEM. */
static int add(struct tr_trace *t, const struct lp *l, uint32_t *req_cap)
{
	struct tr_req *r;

	if (t->n == *req_cap) {
		uint32_t c = *req_cap ? *req_cap * 2 : 1024;
		void *p = realloc(t->req, c * sizeof(*t->req));

		if (p == NULL) {
			return FR_NOMEM;
		}
		t->req = p;
		*req_cap = c;
	}
	if (t->cap_ids - t->n_ids < l->n) {
		size_t c = (t->cap_ids + l->n) * 2;
		void *p = realloc(t->ids, c * sizeof(*t->ids));

		if (p == NULL) {
			return FR_NOMEM;
		}
		t->ids = p;
		t->cap_ids = c;
	}
	r = &t->req[t->n++];
	r->ts_ms = l->ts;
	r->input_len =
	    (uint32_t)(l->has_in ? l->in_len : (uint64_t)l->n * TR_TOKENS_PER);
	r->output_len = (uint32_t)l->out_len;
	r->n = l->n;
	r->first = t->n_ids;
	memcpy(t->ids + t->n_ids, l->ids, l->n * sizeof(*l->ids));
	t->n_ids += l->n;
	return 0;
}

/* Read the lines of @f into @t. */
static int read_lines(gzFile f, const char *path, uint32_t max,
		      struct tr_trace *t, char *buf, uint64_t *ids, char *err,
		      size_t cap)
{
	uint32_t req_cap = 0;
	uint64_t line = 0;
	int rv;

	while ((max == 0 || t->n < max) && gzgets(f, buf, TR_LINE_MAX + 2)) {
		struct lp l = {.p = buf, .ids = ids};
		size_t len = strlen(buf);

		line++;
		if (len > TR_LINE_MAX ||
		    (len > 0 && buf[len - 1] != '\n' && !gzeof(f))) {
			snprintf(err, cap,
				 "%s:%" PRIu64 ": line longer than "
				 "%u bytes",
				 path, line, TR_LINE_MAX);
			return FR_MALFORMED;
		}
		if (strspn(buf, " \t\r\n") == len) {
			continue;
		}
		if (parse_line(&l) != 0) {
			int z = Z_OK;
			const char *zmsg = gzerror(f, &z);

			/* A last line cut short by a damaged gzip stream:
			 * say so rather than blame the JSON. */
			if (z != Z_OK && z != Z_STREAM_END) {
				snprintf(err, cap,
					 "%s:%" PRIu64 ": cannot read "
					 "(damaged or truncated gzip?): %s",
					 path, line, zmsg);
				return FR_IO;
			}
			snprintf(err, cap, "%s:%" PRIu64 ": %s", path, line,
				 l.why);
			return FR_MALFORMED;
		}
		rv = add(t, &l, &req_cap);
		if (rv != 0) {
			snprintf(err, cap, "%s: out of memory", path);
			return rv;
		}
	}
	return 0;
}

int tr_trace_load(const char *path, uint32_t max_requests, struct tr_trace *t,
		  char *err, size_t cap)
{
	char *buf = malloc(TR_LINE_MAX + 2);
	uint64_t *ids = malloc(TR_IDS_MAX * sizeof(*ids));
	gzFile f = NULL;
	int zerr = Z_OK;
	int rv = FR_NOMEM;

	memset(t, 0, sizeof(*t));
	snprintf(err, cap, "out of memory");
	if (buf == NULL || ids == NULL) {
		goto out;
	}
	errno = 0;
	f = gzopen(path, "rb");
	if (f == NULL) {
		snprintf(err, cap, "%s: cannot open: %s", path,
			 errno ? strerror(errno) : "out of memory");
		rv = FR_IO;
		goto out;
	}
	rv = read_lines(f, path, max_requests, t, buf, ids, err, cap);
	if (rv == 0 && gzerror(f, &zerr) != NULL && zerr != Z_OK &&
	    zerr != Z_STREAM_END) {
		snprintf(err, cap, "%s: cannot read: %s", path,
			 gzerror(f, &zerr));
		rv = FR_IO;
	}
	if (rv == 0 && t->n == 0) {
		snprintf(err, cap, "%s: no requests", path);
		rv = FR_MALFORMED;
	}
	gzclose(f);
out:
	free(buf);
	free(ids);
	if (rv != 0) {
		tr_trace_free(t);
	}
	return rv;
}

#ifndef TR_DEFAULT_TRACE
#define TR_DEFAULT_TRACE "tools/bench/traces/conversation_trace.jsonl.gz"
#endif

const char *tr_default_trace(void)
{
	return TR_DEFAULT_TRACE;
}

void tr_trace_free(struct tr_trace *t)
{
	free(t->req);
	free(t->ids);
	memset(t, 0, sizeof(*t));
}

void tr_hash(uint64_t id, char out[40])
{
	/* Spec S1: "i:<id>" is the id as 8 bytes, big-endian. */
	snprintf(out, 40, "i:%" PRIu64, id);
}

void tr_hash_hex(uint64_t id, char out[40])
{
	/* The same 8 bytes as replies spell them. */
	snprintf(out, 40, "%016" PRIx64, id);
}
