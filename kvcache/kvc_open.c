/* kvc_open.c — creating and freeing a state machine; its scratch memory. */
#include <string.h>

#include "heap.h"
#include "kvc_int.h"

#define SCRATCH_MIN 4096u

static uint32_t pow2_at_least(uint64_t n)
{
	uint64_t p = 16;
	while (p < n) {
		p *= 2;
	}
	assert(p <= (1ull << 31));
	return (uint32_t)p;
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v != 0 ? v : def;
}

/* Fill in defaults and check ranges (tables are at most 2^31 slots). */
/* Zeroed array of @n elements of @size bytes starting on a cache line;
 * *@mem gets the pointer to free.  malloc only promises 16-byte alignment
 * (glibc's big allocations start 16 bytes into a page), which would split
 * every 64-byte block over two lines: two cache misses per random probe
 * instead of one.  @n * @size is small enough (options() bounds both). */
static void *calloc_lines(size_t n, size_t size, void **mem)
{
	*mem = fr_calloc(1, n * size + KVC__LINE);
	if (*mem == NULL) {
		return NULL;
	}
	uintptr_t a = (uintptr_t)*mem;
	return (char *)*mem + ((KVC__LINE - a % KVC__LINE) % KVC__LINE);
}

static int options(struct kvc_options *o, const struct kvc_options *in)
{
	static const struct kvc_options zero = {0};
	if (in == NULL) {
		in = &zero;
	}
	o->blocks_max = or_default(in->blocks_max, KVC__DEF_BLOCKS);
	o->locations_max = or_default(in->locations_max, o->blocks_max);
	o->nodes_max = or_default(in->nodes_max, KVC__DEF_NODES);
	o->namespaces_max = or_default(in->namespaces_max, KVC__DEF_NS);
	o->reservations_max = or_default(in->reservations_max, KVC__DEF_RES);
	o->kv_keys_max = or_default(in->kv_keys_max, KVC__DEF_KV);
	o->long_hashes_max = or_default(in->long_hashes_max, KVC__DEF_LONG);
	o->events_max = or_default(in->events_max, KVC__DEF_EVENTS);
	static_assert(KVC_NAMESPACES_MAX_MAX <= KVC__NS_MASK + 1,
		      "namespace indices fit nsw");
	if (o->blocks_max > KVC_BLOCKS_MAX_MAX ||
	    o->locations_max > KVC_LOCATIONS_MAX_MAX ||
	    o->nodes_max > KVC_NODES_MAX_MAX ||
	    o->namespaces_max > KVC_NAMESPACES_MAX_MAX ||
	    o->reservations_max > KVC_RESERVATIONS_MAX_MAX ||
	    o->kv_keys_max > KVC_KV_KEYS_MAX_MAX ||
	    o->long_hashes_max > KVC_LONG_HASHES_MAX_MAX ||
	    o->events_max > KVC_EVENTS_MAX_MAX) {
		return FR_INVALID;
	}
	return 0;
}

int kvc_open(struct kvc **out, const struct kvc_options *o)
{
	struct kvc *k = fr_calloc(1, sizeof(*k));
	if (k == NULL) {
		return FR_NOMEM;
	}
	int rv = options(&k->o, o);
	if (rv != 0) {
		fr_free(k);
		return rv;
	}
	k->next_rid = 1;
	k->sweep_ms = UINT64_MAX;
	k->blocks_free = KVC__NONE;
	k->locs_free = KVC__NONE;
	k->ext_free = KVC__NONE;
	k->bmask = pow2_at_least(2ull * k->o.blocks_max) - 1;
	k->nsmask = pow2_at_least(2ull * k->o.namespaces_max) - 1;
	k->rmask = pow2_at_least(2ull * k->o.reservations_max) - 1;
	k->kvmask = pow2_at_least(2ull * k->o.kv_keys_max) - 1;
	/* calloc for the big tables: untouched pages cost no memory. */
	k->blocks =
	    calloc_lines(k->o.blocks_max, sizeof(*k->blocks), &k->blocks_mem);
	k->btab = fr_calloc((size_t)k->bmask + 1, sizeof(*k->btab));
	k->ext = fr_calloc(k->o.long_hashes_max, sizeof(*k->ext));
	k->locs =
	    calloc_lines(k->o.locations_max, sizeof(*k->locs), &k->locs_mem);
	k->nodes = fr_calloc(k->o.nodes_max, sizeof(*k->nodes));
	k->node_slot = fr_calloc(KVC__NODE_ID_MAX + 1, sizeof(*k->node_slot));
	k->ns = fr_calloc(k->o.namespaces_max, sizeof(*k->ns));
	k->nstab = fr_calloc((size_t)k->nsmask + 1, sizeof(*k->nstab));
	k->res = fr_calloc(k->o.reservations_max, sizeof(*k->res));
	k->rtab = fr_calloc((size_t)k->rmask + 1, sizeof(*k->rtab));
	k->kv = fr_calloc((size_t)k->kvmask + 1, sizeof(*k->kv));
	k->argv = fr_calloc(KVC_ARGC_MAX, sizeof(*k->argv));
	k->acc =
	    fr_calloc((size_t)k->o.nodes_max * KVC__TIERS, sizeof(*k->acc));
	k->ev = fr_calloc(k->o.events_max, sizeof(*k->ev));
	k->ev_next = 1;
	k->scratch = fr_malloc(SCRATCH_MIN);
	k->scratch_bytes = SCRATCH_MIN;
	if (k->blocks == NULL || k->btab == NULL || k->ext == NULL ||
	    k->locs == NULL || k->nodes == NULL || k->node_slot == NULL ||
	    k->ns == NULL || k->nstab == NULL || k->res == NULL ||
	    k->rtab == NULL || k->kv == NULL || k->argv == NULL ||
	    k->acc == NULL || k->ev == NULL || k->scratch == NULL) {
		kvc_close(k);
		return FR_NOMEM;
	}
	*out = k;
	return 0;
}

void kvc_close(struct kvc *k)
{
	if (k == NULL) {
		return;
	}
	kvc__kv_clear(k);
	fr_free(k->blocks_mem);
	fr_free(k->btab);
	fr_free(k->ext);
	fr_free(k->locs_mem);
	fr_free(k->nodes);
	fr_free(k->node_slot);
	fr_free(k->ns);
	fr_free(k->nstab);
	fr_free(k->res);
	fr_free(k->rtab);
	fr_free(k->kv);
	fr_free(k->argv);
	fr_free(k->acc);
	fr_free(k->ev);
	fr_free(k->scratch);
	fr_free(k);
}

uint64_t kvc_memory(const struct kvc *k, struct kvc_table_info *out)
{
	const struct kvc_options *o = &k->o;
	const struct kvc_table_info t[KVC_TABLES] = {
	    {"blocks", o->blocks_max,
	     (uint64_t)o->blocks_max * sizeof(*k->blocks) +
		 ((uint64_t)k->bmask + 1) * sizeof(*k->btab)},
	    {"locations", o->locations_max,
	     (uint64_t)o->locations_max * sizeof(*k->locs)},
	    {"long_hashes", o->long_hashes_max,
	     (uint64_t)o->long_hashes_max * sizeof(*k->ext)},
	    {"nodes", o->nodes_max,
	     (uint64_t)o->nodes_max *
		     (sizeof(*k->nodes) + KVC__TIERS * sizeof(*k->acc)) +
		 (KVC__NODE_ID_MAX + 1) * sizeof(*k->node_slot)},
	    {"namespaces", o->namespaces_max,
	     (uint64_t)o->namespaces_max * sizeof(*k->ns) +
		 ((uint64_t)k->nsmask + 1) * sizeof(*k->nstab)},
	    {"reservations", o->reservations_max,
	     (uint64_t)o->reservations_max * sizeof(*k->res) +
		 ((uint64_t)k->rmask + 1) * sizeof(*k->rtab)},
	    {"kv_keys", o->kv_keys_max,
	     ((uint64_t)k->kvmask + 1) * sizeof(void *)}, /* slots */
	    {"events", o->events_max, (uint64_t)o->events_max * sizeof(*k->ev)},
	    {"scratch", KVC_ARGC_MAX,
	     KVC_ARGC_MAX * sizeof(*k->argv) + SCRATCH_MIN},
	};
	uint64_t total = sizeof(*k);
	for (unsigned i = 0; i < KVC_TABLES; i++) {
		out[i] = t[i];
		total += t[i].bytes;
	}
	return total;
}

void *kvc__scratch(struct kvc *k, size_t bytes)
{
	if (bytes <= k->scratch_bytes) {
		return k->scratch;
	}
	size_t n = k->scratch_bytes * 2 > bytes ? k->scratch_bytes * 2 : bytes;
	void *p = fr_realloc(k->scratch, n);
	if (p == NULL) {
		return NULL;
	}
	k->scratch = p;
	k->scratch_bytes = n;
	return p;
}

uint64_t kvc_now_ms(const struct kvc *k)
{
	return k->now_ms;
}
