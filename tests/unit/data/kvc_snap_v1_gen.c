/* kvc_snap_v1_gen.c — writes kvc_snap_v1.h: a version-1 snapshot made by
 * the kvcache of commit 31539ef (before variable-length hashes).  Not
 * built by CMake; how it was run:
 *   git archive 31539ef kvcache core/base core/raft | tar -x -C /tmp/old
 *   cd /tmp/old && gcc -std=c11 -Ikvcache/include -Ikvcache \
 *     -Icore/base/include -Icore/raft/include -I<this dir> kvcache/*.c \
 *     core/base/crc32c.c core/base/err.c core/base/heap.c <this file> -o gen
 *   ./gen > kvc_snap_v1.h */
#include "kvc.h"
#include "kvc_snap_v1_cmds.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char snap[1 << 20];
static size_t snap_len;
static int wr(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	memcpy(snap + snap_len, buf, len);
	snap_len += len;
	return 0;
}

static void run(struct kvc *k, uint64_t now, const char *line,
		struct kvc_reply *r)
{
	char buf[1024];
	struct kvc_arg a[64];
	uint32_t n = 0;
	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
		a[n++] = (struct kvc_arg){t, strlen(t)};
	enum kvc_kind kind;
	struct kvc_reply err = {0};
	if (kvc_command_check(n, a, &kind, &err) != 0) {
		fprintf(stderr, "bad %s\n", line);
		exit(1);
	}
	if (kind == KVC_READ) {
		if (kvc_read(k, n, a, r))
			exit(1);
		return;
	}
	struct kvc_reply e = {0};
	if (kvc_command_encode(now, n, a, &e) || kvc_apply(k, e.buf, e.len, r))
		exit(1);
	kvc_reply_free(&e);
}

int main(void)
{
	struct kvc *k;
	if (kvc_open(&k, NULL))
		return 1;
	for (size_t i = 0; i < sizeof(v1_cmds) / sizeof(v1_cmds[0]); i++) {
		struct kvc_reply r = {0};
		run(k, 1000 + 10 * i, v1_cmds[i], &r);
		fprintf(stderr, "%s -> %.*s\n", v1_cmds[i], (int)r.len, r.buf);
		kvc_reply_free(&r);
	}
	if (kvc_snapshot_save(k, wr, NULL))
		return 1;
	printf("/* kvc_snap_v1.h: see kvc_snap_v1_gen.c */\n");
	printf("#define V1_DIGEST 0x%016llxull\n",
	       (unsigned long long)kvc_digest(k));
	printf("static const unsigned char v1_snap[%zu] = {", snap_len);
	for (size_t i = 0; i < snap_len; i++)
		printf("%s0x%02x,", i % 12 ? " " : "\n\t", snap[i]);
	printf("\n};\n");
	return 0;
}
