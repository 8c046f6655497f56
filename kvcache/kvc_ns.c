/* kvc_ns.c — namespaces (model ids): names interned to small indices. */
#include <string.h>

#include "kvc_int.h"

/*
 * A namespace exists while blocks or reservations refer to it (refs > 0)
 * and is freed with the last one, so the table of namespaces_max slots only
 * has to hold the live ones.  Which slot a name gets is invisible outside:
 * the digest uses names, never indices (the snapshot keeps the slots,
 * see kvc__ns_put()).
 */

static uint64_t name_hash(const char *name, size_t len)
{
	return kvc__hash64(0x6e73u, name, len);
}

uint32_t kvc__ns_find(const struct kvc *k, const char *name, size_t len)
{
	uint64_t h = name_hash(name, len);
	for (uint32_t i = (uint32_t)h & k->nsmask;; i = (i + 1) & k->nsmask) {
		uint32_t s = k->nstab[i];
		if (s == 0) {
			return KVC__NONE;
		}
		const struct kvc__ns *ns = &k->ns[s - 1];
		if (ns->hash == h && ns->len == len &&
		    memcmp(ns->name, name, len) == 0) {
			return s - 1;
		}
	}
}

uint32_t kvc__ns_get(struct kvc *k, const char *name, size_t len)
{
	assert(len > 0 && len <= KVC_NS_BYTES_MAX);
	uint32_t idx = kvc__ns_find(k, name, len);
	if (idx != KVC__NONE || k->nns == k->o.namespaces_max) {
		return idx;
	}
	for (idx = 0; k->ns[idx].refs != 0; idx++) {
		assert(idx + 1 < k->o.namespaces_max);
	}
	kvc__ns_put(k, idx, name, len);
	/* refs is 0 here: the caller must take a reference right away (it
	 * calls this only after validating the whole command), or the slot
	 * would look free while the name is still in the table. */
	return idx;
}

/* The slot a name gets is the first free one, so it depends only on the
 * commands applied; a snapshot keeps the slots (kvc__ns_put()), so every
 * replica numbers namespaces alike and a KVC.SCAN cursor (a block table
 * bucket, which depends on the slot) means the same on every replica. */
void kvc__ns_put(struct kvc *k, uint32_t idx, const char *name, size_t len)
{
	assert(idx < k->o.namespaces_max && k->ns[idx].refs == 0);
	assert(k->nns < k->o.namespaces_max);
	struct kvc__ns *ns = &k->ns[idx];
	memset(ns, 0, sizeof(*ns));
	ns->hash = name_hash(name, len);
	ns->len = (uint8_t)len;
	memcpy(ns->name, name, len);
	uint32_t i = (uint32_t)ns->hash & k->nsmask;
	while (k->nstab[i] != 0) {
		i = (i + 1) & k->nsmask;
	}
	k->nstab[i] = idx + 1;
	k->nns++;
}

void kvc__ns_ref(struct kvc *k, uint32_t ns)
{
	k->ns[ns].refs++;
}

static uint32_t nstab_home(const void *ctx, const void *slot)
{
	const struct kvc *k = ctx;
	return (uint32_t)k->ns[*(const uint32_t *)slot - 1].hash;
}

static void table_remove(struct kvc *k, uint32_t idx)
{
	uint32_t i = (uint32_t)k->ns[idx].hash & k->nsmask;
	while (k->nstab[i] != idx + 1) {
		i = (i + 1) & k->nsmask;
	}
	const struct kvc__probe p = {k->nstab, sizeof(k->nstab[0]), k->nsmask,
				     k, nstab_home};
	kvc__probe_delete(&p, i);
}

void kvc__ns_unref(struct kvc *k, uint32_t ns)
{
	assert(k->ns[ns].refs > 0);
	if (--k->ns[ns].refs == 0) {
		table_remove(k, ns);
		k->nns--;
	}
}
