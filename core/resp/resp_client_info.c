/* resp_client_info.c — what programs do with replies: print them the way
 * redis-cli does, fetch INFO and read its fields. */
#include <stdio.h>
#include <string.h>

#include "heap.h"
#include "resp_client.h"

void respc_reply_print(const struct respc_reply *r, int indent)
{
	switch (r->type) {
	case '+':
		printf("%s\n", r->str);
		break;
	case '-':
		printf("(error) %s\n", r->str);
		break;
	case ':':
		printf("(integer) %lld\n", (long long)r->integer);
		break;
	case '$':
		if (r->len == SIZE_MAX) {
			printf("(nil)\n");
		} else {
			printf("\"%.*s\"\n", (int)r->len, r->str);
		}
		break;
	case '*':
		if (r->n == SIZE_MAX) {
			printf("(nil)\n");
		} else if (r->n == 0) {
			printf("(empty array)\n");
		}
		for (size_t i = 0; r->n != SIZE_MAX && i < r->n; i++) {
			printf("%*s%zu) ", i ? indent : 0, "", i + 1);
			respc_reply_print(&r->elem[i], indent + 3);
		}
		break;
	default:
		break;
	}
}

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
