/* work.c — the workload shape shared by the RESP and the HTTP
 * drivers: which operation a client does next, on which key or chain. */
#include <stdio.h>

#include "bench_cluster.h"
#include "work.h"

void bc_next_op(const struct bc_load *ld, int client, uint64_t n,
		struct bc_op *op)
{
	uint64_t half = n / 2;

	(void)client;
	switch (ld->spec->wl) {
	case BC_SET:
		op->kind = BC_OP_SET;
		op->idx = (uint32_t)(n % ld->keys_per_client);
		op->round = (uint32_t)(n / ld->keys_per_client);
		break;
	case BC_SETGET:
		/* SET a key, then read it back on the same connection (the
		 * GET must see the value: a miss is counted). */
		op->kind = n % 2 == 0 ? BC_OP_SET : BC_OP_GET;
		op->idx = (uint32_t)(half % ld->keys_per_client);
		op->round = (uint32_t)(half / ld->keys_per_client);
		break;
	default:
		/* PUT a whole chain (moving its blocks to the other half of
		 * their slots each round, so every PUT changes state), then
		 * look the chain up. */
		op->kind = n % 2 == 0 ? BC_OP_PUT : BC_OP_LOOKUP;
		op->idx = (uint32_t)(half % ld->chains_per_client);
		op->round = (uint32_t)(half / ld->chains_per_client);
		break;
	}
	op->cls =
	    op->kind == BC_OP_SET || op->kind == BC_OP_PUT ? BC_WRITE : BC_READ;
}

void bc_block_hash(int client, uint32_t chain, int i, char out[33])
{
	/* Distinct per (client, chain, block), never all zero. */
	snprintf(out, 33, "%08x%08x%08x%08x", 0xb10c0000u | (unsigned)i,
		 (unsigned)client, (unsigned)chain,
		 0x9e3779b9u * (unsigned)(i + 1) ^ (unsigned)client);
}

int bc_key(int client, uint32_t idx, char *out, size_t cap)
{
	return snprintf(out, cap, "bench:%d:%u", client, idx);
}

uint64_t bc_block_offset(const struct bc_load *ld, int client,
			 const struct bc_op *op, int i)
{
	uint64_t slot = ((uint64_t)client * ld->chains_per_client + op->idx) *
			    BC_CHAIN_BLOCKS +
			(uint64_t)i;

	return (slot * 2 + (op->round & 1)) * BC_BLOCK_BYTES;
}
