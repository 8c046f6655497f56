/* le.h — little-endian field encoding (the one byte-order helper). */
#ifndef FABRAFT_FAB_LE_H
#define FABRAFT_FAB_LE_H

/*
 * Used by the fabric codecs.  Every multi-byte wire field goes through these,
 * so the encoding is the same on every host and no unaligned access or struct
 * layout is involved.  On a little-endian host a field is one memcpy, which
 * the compiler turns into a single (unaligned-safe) load or store; GCC 12
 * at -O2 kept the byte-by-byte loops as loops, and they showed up in the
 * fabric profiles.  Big-endian hosts use the byte loops.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FAB__LE_HOST 1
#else
#define FAB__LE_HOST 0
#endif

static inline void fab__put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void fab__put_u32(uint8_t *p, uint32_t v)
{
	if (FAB__LE_HOST) {
		memcpy(p, &v, sizeof(v));
		return;
	}
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void fab__put_u64(uint8_t *p, uint64_t v)
{
	if (FAB__LE_HOST) {
		memcpy(p, &v, sizeof(v));
		return;
	}
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t fab__get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t fab__get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	if (FAB__LE_HOST) {
		memcpy(&v, p, sizeof(v));
		return v;
	}
	for (unsigned i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static inline uint64_t fab__get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	if (FAB__LE_HOST) {
		memcpy(&v, p, sizeof(v));
		return v;
	}
	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A bounded reader: every get checks the bytes left first; after the first
 * shortfall it returns zeros and keeps .short_read set, so a decoder can
 * read a group of fields and check once. */
struct fab__cursor {
	const uint8_t *p; /* next byte; borrowed */
	size_t left;	  /* bytes left */
	int short_read;	  /* a read ran past the end */
};

static inline const uint8_t *fab__take(struct fab__cursor *c, size_t n)
{
	if (c->short_read || c->left < n) {
		c->short_read = 1;
		return NULL;
	}
	const uint8_t *p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

static inline uint8_t fab__read_u8(struct fab__cursor *c)
{
	const uint8_t *p = fab__take(c, 1);
	return p ? p[0] : 0;
}

static inline uint16_t fab__read_u16(struct fab__cursor *c)
{
	const uint8_t *p = fab__take(c, 2);
	return p ? fab__get_u16(p) : 0;
}

static inline uint32_t fab__read_u32(struct fab__cursor *c)
{
	const uint8_t *p = fab__take(c, 4);
	return p ? fab__get_u32(p) : 0;
}

static inline uint64_t fab__read_u64(struct fab__cursor *c)
{
	const uint8_t *p = fab__take(c, 8);
	return p ? fab__get_u64(p) : 0;
}

#endif /* FABRAFT_FAB_LE_H */
