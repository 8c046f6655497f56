/* kvc_probe.c — deletion from the linear-probing tables (one algorithm for
 * the block, namespace, reservation and generic-key indexes). */
#include <stdbool.h>
#include <string.h>

#include "kvc_int.h"

static bool slot_empty(const unsigned char *slot, size_t size)
{
	for (size_t b = 0; b < size; b++) {
		if (slot[b] != 0) {
			return false;
		}
	}
	return true;
}

/*
 * Backward-shift deletion (Knuth 6.4, algorithm R): empty slot @i, then walk
 * the probe run after it and move back every entry whose home does not lie
 * cyclically in (i, j], so that no lookup meets a hole before its key.  No
 * tombstones: a table never degrades however many removals it sees.
 */
void kvc__probe_delete(const struct kvc__probe *p, uint32_t i)
{
	unsigned char *tab = p->slots;
	uint32_t j = i;
	for (;;) {
		memset(tab + (size_t)i * p->size, 0, p->size);
		uint32_t home;
		bool stays;
		do {
			j = (j + 1) & p->mask;
			const unsigned char *slot = tab + (size_t)j * p->size;
			if (slot_empty(slot, p->size)) {
				return;
			}
			home = p->home(p->ctx, slot) & p->mask;
			stays = i <= j ? (i < home && home <= j)
				       : (i < home || home <= j);
		} while (stays);
		memcpy(tab + (size_t)i * p->size, tab + (size_t)j * p->size,
		       p->size);
		i = j;
	}
}
