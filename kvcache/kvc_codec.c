/* kvc_codec.c — the Raft entry payload of a write command. */
#include <string.h>

#include "kvc_int.h"
#include "le.h"
#include "raft.h"

/*
 * u8 version (1) | u64 now_ms | u32 argc | argc x (u32 len | bytes),
 * little-endian.  Decoding trusts no length: every argument must fit in
 * what is left, and the arguments must end exactly at the entry's end.
 */
#define KVC__ENTRY_VERSION 1u
#define KVC__ENTRY_HEADER  13u

int kvc_command_encode(uint64_t now_ms, uint32_t argc,
		       const struct kvc_arg *argv, struct kvc_reply *out)
{
	if (argc == 0 || argc > KVC_ARGC_MAX) {
		return FR_INVALID;
	}
	size_t total = KVC__ENTRY_HEADER;
	for (uint32_t i = 0; i < argc; i++) {
		if (argv[i].len > RAFT_MAX_ENTRY_BYTES) {
			return FR_INVALID;
		}
		total += 4 + argv[i].len;
		if (total > RAFT_MAX_ENTRY_BYTES) {
			return FR_INVALID;
		}
	}
	size_t start = out->len;
	unsigned char hdr[KVC__ENTRY_HEADER];
	hdr[0] = KVC__ENTRY_VERSION;
	le_put_u64(hdr + 1, now_ms);
	le_put_u32(hdr + 9, argc);
	int rv = kvc__reply_raw(out, hdr, sizeof(hdr));
	for (uint32_t i = 0; rv == 0 && i < argc; i++) {
		unsigned char l[4];
		le_put_u32(l, (uint32_t)argv[i].len);
		rv = kvc__reply_raw(out, l, 4);
		if (rv == 0) {
			rv = kvc__reply_raw(out, argv[i].base, argv[i].len);
		}
	}
	if (rv != 0) {
		out->len = start;
	}
	return rv;
}

/* @argv has room for KVC_ARGC_MAX entries; they point into @entry. */
int kvc__decode(const void *entry, size_t len, uint64_t *now_ms, uint32_t *argc,
		struct kvc_arg *argv)
{
	const unsigned char *p = entry;
	if (entry == NULL || len < KVC__ENTRY_HEADER ||
	    p[0] != KVC__ENTRY_VERSION) {
		return FR_MALFORMED;
	}
	*now_ms = le_get_u64(p + 1);
	uint32_t n = le_get_u32(p + 9);
	if (n == 0 || n > KVC_ARGC_MAX) {
		return FR_MALFORMED;
	}
	size_t off = KVC__ENTRY_HEADER;
	for (uint32_t i = 0; i < n; i++) {
		if (len - off < 4) {
			return FR_MALFORMED;
		}
		uint32_t l = le_get_u32(p + off);
		off += 4;
		if (len - off < l) {
			return FR_MALFORMED;
		}
		argv[i].base = (const char *)p + off;
		argv[i].len = l;
		off += l;
	}
	if (off != len) {
		return FR_MALFORMED;
	}
	*argc = n;
	return 0;
}
