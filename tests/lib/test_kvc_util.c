/* test_kvc_util.c — helpers for the kvcache tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_kvc_util.h"

static char words[1 << 16];
static char out[1 << 20];

uint32_t tk_split(const char *line, struct kvc_arg *argv, uint32_t max)
{
	size_t n = strlen(line);
	assert_true(n < sizeof(words));
	memcpy(words, line, n + 1);
	uint32_t argc = 0;
	char *p = words;
	while (*p != '\0') {
		while (*p == ' ') {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		char *w = p;
		while (*p != ' ' && *p != '\0') {
			p++;
		}
		assert_true(argc < max);
		argv[argc].base = w;
		argv[argc].len = (size_t)(p - w);
		/* "''" stands for an empty argument. */
		if (argv[argc].len == 2 && w[0] == '\'' && w[1] == '\'') {
			argv[argc].len = 0;
		}
		argc++;
	}
	return argc;
}

static const char *finish(struct kvc_reply *r)
{
	assert_true(r->len < sizeof(out));
	memcpy(out, r->buf, r->len);
	out[r->len] = '\0';
	kvc_reply_free(r);
	return out;
}

static struct kvc_arg argv_buf[KVC_ARGC_MAX];

static const char *apply_argv(struct kvc *k, uint64_t now_ms, uint32_t argc)
{
	struct kvc_reply e = {0};
	struct kvc_reply r = {0};
	assert_int_equal(kvc_command_encode(now_ms, argc, argv_buf, &e), 0);
	int rv = kvc_apply(k, e.buf, e.len, &r);
	assert_int_equal(rv, 0);
	kvc_reply_free(&e);
	return finish(&r);
}

const char *tk_run(struct kvc *k, uint64_t now_ms, const char *line)
{
	uint32_t argc = tk_split(line, argv_buf, KVC_ARGC_MAX);
	enum kvc_kind kind = 0;
	struct kvc_reply r = {0};
	int rv = kvc_command_check(argc, argv_buf, &kind, &r);
	if (rv == FR_NOTFOUND) {
		return "NOTFOUND";
	}
	if (rv != 0) {
		assert_int_equal(rv, FR_INVALID);
		return finish(&r);
	}
	if (kind == KVC_READ) {
		rv = kvc_read(k, argc, argv_buf, &r);
		/* FR_INVALID: an error reply (KVC.EVENTS's RESYNC, ...). */
		assert_true(rv == 0 || rv == FR_INVALID);
		return finish(&r);
	}
	assert_int_equal(kind, KVC_WRITE);
	return apply_argv(k, now_ms, argc);
}

const char *tk_apply(struct kvc *k, uint64_t now_ms, const char *line)
{
	return apply_argv(k, now_ms, tk_split(line, argv_buf, KVC_ARGC_MAX));
}

struct membuf {
	unsigned char *buf;
	size_t len;
	size_t cap;
	size_t pos;
};

static int mem_write(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->buf = realloc(m->buf, m->cap);
		assert_non_null(m->buf);
	}
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return 0;
}

static int mem_read(void *ctx, void *buf, size_t len)
{
	struct membuf *m = ctx;
	if (m->len - m->pos < len) {
		return FR_IO;
	}
	memcpy(buf, m->buf + m->pos, len);
	m->pos += len;
	return 0;
}

unsigned char *tk_snapshot(struct kvc *k, size_t *len)
{
	struct membuf m = {0};
	assert_int_equal(kvc_snapshot_save(k, mem_write, &m), 0);
	*len = m.len;
	return m.buf;
}

int tk_restore(struct kvc *k, const unsigned char *buf, size_t len)
{
	struct membuf m = {(unsigned char *)buf, len, len, 0};
	return kvc_snapshot_load(k, mem_read, &m);
}

void tk_invariants(const struct kvc *k)
{
	char msg[256];
	int rv = kvc_check_invariants(k, msg, sizeof(msg));
	if (rv != 0) {
		fail_msg("invariant: %s", msg);
	}
}

const char *tk_runf(struct kvc *k, uint64_t now_ms, const char *fmt, ...)
{
	static char line[1 << 16];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	return tk_run(k, now_ms, line);
}

const char *tk_h(unsigned n)
{
	static char bufs[8][33];
	static unsigned next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof(bufs[0]), "%032x", n);
	return b;
}
