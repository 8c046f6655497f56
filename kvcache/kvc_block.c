/* kvc_block.c — KVC.EVICT, KVC.DEL (namespace), KVC.PIN and KVC.UNPIN. */
#include <string.h>

#include "kvc_int.h"

/* argv[from..to) are block hashes. */
static int check_hashes(const struct kvc_arg *argv, uint32_t from, uint32_t to,
			struct kvc_reply *err)
{
	struct kvc__hash h;
	for (uint32_t i = from; i < to; i++) {
		if (!kvc__parse_hash(&argv[i], &h)) {
			return kvc__err(err, KVC__BAD_HASH);
		}
	}
	return 0;
}

static bool evict_at(uint32_t argc, const struct kvc_arg *argv)
{
	return argc >= 6 && kvc__arg_eq(&argv[argc - 3], "AT");
}

/* KVC.EVICT ns h [h ...] [AT node tier] */
int kvc__check_evict(uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *err)
{
	uint32_t end = evict_at(argc, argv) ? argc - 3 : argc;
	int rv = kvc__check_ns_cmd(end >= 3, argv, err);
	if (rv != 0) {
		return rv;
	}
	if (end != argc) {
		uint16_t id;
		if (!kvc__parse_node_id(&argv[argc - 2], &id)) {
			return kvc__err(err, "node id must be 1..65535");
		}
		if (kvc__parse_tier(&argv[argc - 1]) < 0) {
			return kvc__err3(err, "unknown tier '", &argv[argc - 1],
					 "' (hbm, dram, cxl or nvme)");
		}
	}
	return check_hashes(argv, 2, end, err);
}

int kvc__exec_evict(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		    struct kvc_reply *r)
{
	bool at = evict_at(argc, argv);
	uint32_t end = at ? argc - 3 : argc;
	uint32_t slot = KVC__NONE;
	uint8_t tier = 0;
	if (at) {
		uint16_t id;
		(void)kvc__parse_node_id(&argv[argc - 2], &id);
		tier = (uint8_t)kvc__parse_tier(&argv[argc - 1]);
		slot = kvc__node_find(k, id);
		if (slot == KVC__NONE) {
			return kvc__err3(r, "unknown node ", &argv[argc - 2],
					 "");
		}
		if (!k->nodes[slot].tier[tier].present) {
			return kvc__err3(r, "node has no tier '",
					 &argv[argc - 1], "'");
		}
	}
	uint32_t ns = kvc__ns_find(k, argv[1].base, argv[1].len);
	int64_t n = 0;
	for (uint32_t i = 2; ns != KVC__NONE && i < end; i++) {
		struct kvc__hash h;
		(void)kvc__parse_hash(&argv[i], &h);
		/* The namespace goes with its last block: look it up again. */
		ns = kvc__ns_find(k, argv[1].base, argv[1].len);
		uint32_t b =
		    ns == KVC__NONE ? KVC__NONE : kvc__block_find(k, ns, &h);
		if (b == KVC__NONE) {
			continue;
		}
		if (!at) {
			for (uint32_t l = k->blocks[b].loc; l != KVC__NONE;
			     l = k->locs[l].next) {
				kvc__ev_evicted(k, l);
			}
			kvc__block_delete(k, b);
			n++;
			continue;
		}
		uint32_t l = kvc__loc_find(k, b, (uint16_t)slot, tier);
		if (l != KVC__NONE) {
			kvc__ev_evicted(k, l);
			kvc__loc_remove(k, l);
			n++;
		}
	}
	return kvc__reply_int(r, n);
}

/* KVC.DEL ns: every block and reservation of the namespace. */
int kvc__check_nsdel(uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *err)
{
	return kvc__check_ns_cmd(argc == 2, argv, err);
}

int kvc__exec_nsdel(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		    struct kvc_reply *r)
{
	uint32_t ns = kvc__ns_find(k, argv[1].base, argv[1].len);
	if (ns == KVC__NONE) {
		return kvc__reply_int(r, 0);
	}
	uint32_t n = k->ns[ns].blocks;
	/* One event says it all: the namespace's blocks and reservations. */
	kvc__ev_ns_cleared(k, ns);
	/* Hold a reference so the index stays ours while we empty it. */
	kvc__ns_ref(k, ns);
	for (uint32_t b = 0; b < k->blocks_hw && k->ns[ns].blocks > 0; b++) {
		if (k->blocks[b].loc != KVC__NONE &&
		    kvc__blk_ns(&k->blocks[b]) == ns) {
			kvc__block_delete(k, b);
		}
	}
	for (uint32_t i = k->nres; i-- > 0;) {
		if (k->res[i].ns == ns) {
			kvc__res_remove(k, i);
		}
	}
	kvc__ns_unref(k, ns);
	kvc__sweep_recompute(k);
	return kvc__reply_int(r, n);
}

/* KVC.PIN ns lease_ms h [h ...] */
int kvc__check_pin(uint32_t argc, const struct kvc_arg *argv,
		   struct kvc_reply *err)
{
	uint64_t lease;
	int rv = kvc__check_ns_cmd(argc >= 4, argv, err);
	if (rv != 0) {
		return rv;
	}
	if (!kvc__parse_lease(&argv[2], &lease)) {
		return kvc__err(err, "lease must be 1..604800000 ms");
	}
	return check_hashes(argv, 3, argc, err);
}

int kvc__exec_pin(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		  struct kvc_reply *r)
{
	uint64_t lease;
	(void)kvc__parse_lease(&argv[2], &lease);
	uint32_t ns = kvc__ns_find(k, argv[1].base, argv[1].len);
	int64_t n = 0;
	for (uint32_t i = 3; ns != KVC__NONE && i < argc; i++) {
		struct kvc__hash h;
		(void)kvc__parse_hash(&argv[i], &h);
		uint32_t b = kvc__block_find(k, ns, &h);
		if (b == KVC__NONE) {
			continue;
		}
		struct kvc__block *blk = &k->blocks[b];
		if (!kvc__block_pinned(k, blk)) {
			blk->pins = 0;
			blk->pin_expiry_ms = 0;
		}
		if (blk->pins < UINT32_MAX) {
			blk->pins++;
		}
		if (blk->pin_expiry_ms < kvc__deadline(k, lease)) {
			blk->pin_expiry_ms = kvc__deadline(k, lease);
		}
		n++;
	}
	return kvc__reply_int(r, n);
}

/* KVC.UNPIN ns h [h ...] */
int kvc__check_unpin(uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *err)
{
	int rv = kvc__check_ns_cmd(argc >= 3, argv, err);
	return rv != 0 ? rv : check_hashes(argv, 2, argc, err);
}

int kvc__exec_unpin(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		    struct kvc_reply *r)
{
	uint32_t ns = kvc__ns_find(k, argv[1].base, argv[1].len);
	int64_t n = 0;
	for (uint32_t i = 2; ns != KVC__NONE && i < argc; i++) {
		struct kvc__hash h;
		(void)kvc__parse_hash(&argv[i], &h);
		uint32_t b = kvc__block_find(k, ns, &h);
		if (b != KVC__NONE && kvc__block_pinned(k, &k->blocks[b])) {
			k->blocks[b].pins--;
			n++;
		}
	}
	return kvc__reply_int(r, n);
}
