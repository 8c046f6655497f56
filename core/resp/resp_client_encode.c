/* resp_client_encode.c — requests: hiredis's redisFormatCommandArgv into a
 * growable buffer. */
#include <assert.h>
#include <hiredis/hiredis.h>
#include <string.h>

#include "err.h"
#include "heap.h"
#include "resp_client.h"

int respc_buf_put(struct respc_buf *b, const void *p, size_t len)
{
	if (b->cap - b->len < len) {
		size_t cap = b->cap ? b->cap : 4096;
		char *nb;

		while (cap - b->len < len) {
			cap *= 2;
		}
		nb = fr_realloc(b->data, cap);
		if (nb == NULL) {
			return FR_NOMEM;
		}
		b->data = nb;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

void respc_buf_consume(struct respc_buf *b, size_t n)
{
	assert(n <= b->len);
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void respc_buf_free(struct respc_buf *b)
{
	fr_free(b->data);
	memset(b, 0, sizeof(*b));
}

int respc_encode(struct respc_buf *b, int argc, const char *const *argv,
		 const size_t *lens)
{
	char *cmd = NULL;
	int len;
	int rv;

	assert(argc >= 1);
	/* hiredis takes non-const pointers but only reads them. */
	len = redisFormatCommandArgv(&cmd, argc, (const char **)argv, lens);
	if (len < 0) {
		return FR_NOMEM;
	}
	rv = respc_buf_put(b, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return rv;
}
