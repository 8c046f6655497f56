/* le.h — little-endian field encoding: the one byte-order helper. */
#ifndef FABRAFT_LE_H
#define FABRAFT_LE_H

/*
 * Every multi-byte field the project puts on disk (wal segments, meta and
 * snapshot files, kvcache snapshots and entry payloads) or on the wire
 * (fabric frames, HELLO, ring records) is little-endian and goes through
 * these, so the encoding is the same on every host and no unaligned access
 * or struct layout is involved.
 *
 * A field is one memcpy, which the compiler turns into a single
 * (unaligned-safe) load or store; a big-endian host adds one byte swap.
 * GCC 12 at -O2 kept the byte-by-byte loops these replaced as loops, and
 * they showed up in the fabric and wal profiles.
 *
 * Pure: libc headers only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LE__SWAP16(v) __builtin_bswap16(v)
#define LE__SWAP32(v) __builtin_bswap32(v)
#define LE__SWAP64(v) __builtin_bswap64(v)
#else
#define LE__SWAP16(v) (v)
#define LE__SWAP32(v) (v)
#define LE__SWAP64(v) (v)
#endif

/** Store @v at @p (2 bytes, any alignment). */
static inline void le_put_u16(uint8_t *p, uint16_t v)
{
	v = LE__SWAP16(v);
	memcpy(p, &v, sizeof(v));
}

/** Store @v at @p (4 bytes, any alignment). */
static inline void le_put_u32(uint8_t *p, uint32_t v)
{
	v = LE__SWAP32(v);
	memcpy(p, &v, sizeof(v));
}

/** Store @v at @p (8 bytes, any alignment). */
static inline void le_put_u64(uint8_t *p, uint64_t v)
{
	v = LE__SWAP64(v);
	memcpy(p, &v, sizeof(v));
}

static inline uint16_t le_get_u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return LE__SWAP16(v);
}

static inline uint32_t le_get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return LE__SWAP32(v);
}

static inline uint64_t le_get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return LE__SWAP64(v);
}

/** Store the low @bytes bytes of @v at @p (@bytes 0..8), for formats with
 * fields of several widths; returns the end. */
static inline uint8_t *le_put_uint(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
	return p + bytes;
}

/** Load a @bytes-byte field at @p (@bytes 0..8), zero-extended. */
static inline uint64_t le_get_uint(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v |= (uint64_t)p[i] << (8 * i);
	}
	return v;
}

/* A bounded reader: every read checks the bytes left first; after the first
 * shortfall it returns zeros and keeps .short_read set, so a decoder can
 * read a group of fields and check once. */
struct le_cursor {
	const uint8_t *p; /* next byte; borrowed */
	size_t left;	  /* bytes left */
	bool short_read;  /* a read ran past the end */
};

/** The next @n bytes, or NULL (and short_read set) when fewer are left. */
static inline const uint8_t *le_take(struct le_cursor *c, size_t n)
{
	if (c->short_read || c->left < n) {
		c->short_read = true;
		return NULL;
	}
	const uint8_t *p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

static inline uint8_t le_read_u8(struct le_cursor *c)
{
	const uint8_t *p = le_take(c, 1);
	return p ? p[0] : 0;
}

static inline uint16_t le_read_u16(struct le_cursor *c)
{
	const uint8_t *p = le_take(c, 2);
	return p ? le_get_u16(p) : 0;
}

static inline uint32_t le_read_u32(struct le_cursor *c)
{
	const uint8_t *p = le_take(c, 4);
	return p ? le_get_u32(p) : 0;
}

static inline uint64_t le_read_u64(struct le_cursor *c)
{
	const uint8_t *p = le_take(c, 8);
	return p ? le_get_u64(p) : 0;
}

#endif /* FABRAFT_LE_H */
