/* kvc_hash.c — the 64-bit hash behind the tables and the state digest. */
#include <string.h>

#include "kvc_int.h"
#include "le.h"

/*
 * Not cryptographic: a multiply-xorshift hash over 8-byte words with the
 * finaliser of MurmurHash3 (fmix64).  Used for table placement (keys are
 * client-chosen, so tables are sized at least twice their capacity and
 * probe linearly; a flood of collisions costs time, never correctness) and
 * for the state digest, where it only has to make accidental equality of
 * different states unlikely.  It is part of the digest, so it must never
 * change between versions that run in one cluster.  Words are read
 * little-endian, so hosts of either byte order agree.
 */
uint64_t kvc__hash64(uint64_t seed, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = seed ^ (0x9e3779b97f4a7c15ull * (len + 1));
	while (len >= 8) {
		uint64_t w = le_get_u64(p);
		h = (h ^ kvc__mix64(w)) * 0x100000001b3ull;
		h ^= h >> 29;
		p += 8;
		len -= 8;
	}
	uint64_t w = le_get_uint(p, (unsigned)len);
	h = (h ^ kvc__mix64(w ^ 0x5bd1e995ull)) * 0x100000001b3ull;
	return kvc__mix64(h);
}
