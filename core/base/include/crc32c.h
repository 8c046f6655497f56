/* crc32c.h — CRC32C (Castagnoli), the checksum of every frame and record. */
#ifndef FABRAFT_CRC32C_H
#define FABRAFT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/**
 * Extend @crc (0 for a fresh checksum) over @len bytes of @buf.  Standard
 * CRC32C: reflected polynomial 0x82F63B78, initial ~0 and final xor ~0
 * applied inside, so fr_crc32c(fr_crc32c(0, a), b) == fr_crc32c(0, a||b).
 * Check value: fr_crc32c(0, "123456789", 9) == 0xE3069283.
 * Pure (no I/O, no global mutable state): usable from the pure libraries.
 */
uint32_t fr_crc32c(uint32_t crc, const void *buf, size_t len);

#endif /* FABRAFT_CRC32C_H */
