/* resp_client_info.c — fetch INFO and read its fields. */
#include <stdio.h>
#include <string.h>

#include "heap.h"
#include "resp_client.h"

void respc_info_field(const char *info, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	const char *p = info;

	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
			const char *e = strpbrk(p + kl + 1, "\r\n");
			size_t len =
			    e ? (size_t)(e - p - kl - 1) : strlen(p + kl + 1);

			if (len >= cap) {
				len = cap - 1;
			}
			memcpy(out, p + kl + 1, len);
			out[len] = '\0';
			return;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
}

char *respc_info(const char *addr, int timeout_ms,
		 int (*connect)(struct respc_conn *c, const char *addr,
				int timeout_ms))
{
	const char *argv[] = {"INFO"};
	struct respc_conn c;
	struct respc_reply r;
	char *s = NULL;

	if (connect(&c, addr, timeout_ms) != 0) {
		respc_close(&c);
		return NULL;
	}
	if (respc_command(&c, &r, 1, argv) == 0 && r.type == '$' &&
	    r.len != SIZE_MAX) {
		s = r.str;
		r.str = NULL;
	}
	respc_reply_free(&r);
	respc_close(&c);
	return s;
}
