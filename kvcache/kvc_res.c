/* kvc_res.c — the reservation table: dense array plus an id index. */
#include <string.h>

#include "kvc_int.h"

/*
 * Reservations sit densely in res[0..nres) (so the sweep and KVC.DEL scan
 * only live ones) and rtab maps a reservation id to its position with open
 * addressing.  Removal moves the last reservation into the hole and fixes
 * its index entry; positions are therefore not stable across removals, and
 * nothing outside this file keeps one across a removal.
 */

static uint32_t home(const struct kvc *k, uint64_t rid)
{
	return (uint32_t)kvc__mix64(rid) & k->rmask;
}

/* Table slot of @rid, or the empty slot where it would go. */
static uint32_t slot_of(const struct kvc *k, uint64_t rid)
{
	for (uint32_t i = home(k, rid);; i = (i + 1) & k->rmask) {
		uint32_t s = k->rtab[i];
		if (s == 0 || k->res[s - 1].rid == rid) {
			return i;
		}
	}
}

uint32_t kvc__res_find(const struct kvc *k, uint64_t rid)
{
	uint32_t s = k->rtab[slot_of(k, rid)];
	return s == 0 ? KVC__NONE : s - 1;
}

int kvc__res_insert(struct kvc *k, const struct kvc__res *r)
{
	if (k->nres == k->o.reservations_max) {
		return FR_NOSPACE;
	}
	uint32_t i = slot_of(k, r->rid);
	if (k->rtab[i] != 0) {
		return FR_EXISTS;
	}
	k->res[k->nres] = *r;
	k->rtab[i] = ++k->nres;
	struct kvc__tier *t = &k->nodes[r->node].tier[r->tier];
	t->reserved += r->bytes;
	kvc__ns_ref(k, r->ns);
	if (r->expiry_ms < k->sweep_ms) {
		k->sweep_ms = r->expiry_ms;
	}
	return 0;
}

static uint32_t rtab_home(const void *ctx, const void *slot)
{
	const struct kvc *k = ctx;
	return home(k, k->res[*(const uint32_t *)slot - 1].rid);
}

/* Release reservation at position @pos: its bytes go back to the tier. */
void kvc__res_remove(struct kvc *k, uint32_t pos)
{
	assert(pos < k->nres);
	struct kvc__res r = k->res[pos];
	struct kvc__tier *t = &k->nodes[r.node].tier[r.tier & 0x7f];
	t->reserved -= r.bytes;
	const struct kvc__probe p = {k->rtab, sizeof(k->rtab[0]), k->rmask, k,
				     rtab_home};
	kvc__probe_delete(&p, slot_of(k, r.rid));
	uint32_t last = k->nres - 1;
	if (pos != last) {
		k->res[pos] = k->res[last];
		k->rtab[slot_of(k, k->res[pos].rid)] = pos + 1;
	}
	k->nres--;
	kvc__ns_unref(k, r.ns);
}
