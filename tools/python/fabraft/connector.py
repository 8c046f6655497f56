"""A scheduler-side adapter with the shape of a KV connector.

An inference scheduler asks two questions per request, "how many tokens of
this prompt are already cached, and where?" and, after the engine has run,
tells the index "these blocks were saved" or "these were freed".
KVCacheIndex answers and records both against one fabraft namespace
(name it after the model and cache configuration, e.g.
``llama3-8b:bf16:bs16``: blocks of different models or block sizes must
never match).

Hashes: by default a prompt's blocks are hashed with ``chain_hashes()``
(sha256 chained over full blocks, see fabraft.hashes). Engines that have
their own block hashes pass them instead (``*_hashes`` methods): bytes of
1..32 bytes or 64-bit ints.
"""

from .hashes import chain_hashes
from .types import Placement, ReservedPut

__all__ = ["KVCacheIndex"]


class KVCacheIndex:
    """Block index of one namespace on a fabraft cluster.

    ``client``: a fabraft.Client. ``ns``: the namespace. ``block_size``:
    tokens per block. ``hash_size``: bytes per hash (1..32) that
    ``chain_hashes`` keeps. ``extra``: bytes mixed into every block hash
    (e.g. a LoRA id or cache salt).
    """

    def __init__(self, client, ns, block_size, hash_size=32, extra=b""):
        if isinstance(block_size, bool) or not isinstance(block_size, int) \
                or block_size < 1:
            raise ValueError("block_size must be a positive int")
        self.client = client
        self.ns = ns
        self.block_size = block_size
        self.hash_size = hash_size
        self.extra = bytes(extra)

    def block_hashes(self, token_ids):
        """The chained hashes of the full blocks of ``token_ids``."""
        return chain_hashes(token_ids, self.block_size, extra=self.extra,
                            size=self.hash_size)

    # ---- the scheduler's question ---------------------------------------
    def num_cached_tokens(self, prompt_token_ids, touch=False):
        """``(tokens, blocks)``: how many leading tokens of the prompt are
        cached and the Block list (with locations) that holds them, by one
        KVC.LOOKUP of the prompt's full blocks. ``touch`` marks the found
        blocks used now (a replicated write)."""
        return self.num_cached_tokens_hashes(
            self.block_hashes(prompt_token_ids), touch)

    def num_cached_tokens_hashes(self, hashes, touch=False):
        """As num_cached_tokens, for a chain of hashes the caller computed
        (bytes or ints)."""
        hashes = list(hashes)
        if not hashes:
            return 0, []
        blocks = self.client.lookup(self.ns, hashes, touch=touch)
        return sum(b.tokens for b in blocks), blocks

    # ---- what the engine reports ------------------------------------------
    def record_saved(self, token_ids, node, tier, offsets, length,
                     first=0):
        """Record ``len(offsets)`` full blocks of ``token_ids``, from block
        ``first`` on, as saved on (node, tier) at ``offsets``, each
        ``length`` bytes (an int, or one per block). Returns the number of
        blocks created."""
        offsets = list(offsets)
        hashes = self.block_hashes(token_ids)
        if first < 0 or first + len(offsets) > len(hashes):
            raise ValueError(f"blocks {first}..{first + len(offsets) - 1} "
                             f"asked, the tokens have {len(hashes)} full "
                             "blocks")
        parent = hashes[first - 1] if first > 0 else None
        return self.record_saved_hashes(
            hashes[first:first + len(offsets)], node, tier, offsets, length,
            parent=parent)

    def record_saved_hashes(self, hashes, node, tier, offsets, length,
                            parent=None, tokens=None):
        """Record a chain of blocks (``hashes[0]``'s parent is ``parent``,
        None for the first block of a prompt) in one KVC.PUT. ``offsets``:
        one per block; ``length``: bytes per block (an int, or one per
        block); ``tokens``: tokens per block (default block_size; an int
        or one per block)."""
        hashes = list(hashes)
        offsets = list(offsets)
        if len(offsets) != len(hashes):
            raise ValueError("one offset per block")
        if not hashes:
            return 0
        lengths = length if isinstance(length, (list, tuple)) else \
            [length] * len(hashes)
        if tokens is None:
            tokens = self.block_size
        toks = tokens if isinstance(tokens, (list, tuple)) else \
            [tokens] * len(hashes)
        if len(lengths) != len(hashes) or len(toks) != len(hashes):
            raise ValueError("one length and token count per block")
        placements = []
        prev = parent
        for h, off, ln, tk in zip(hashes, offsets, lengths, toks):
            placements.append(Placement(h, prev, tk, node, tier, off, ln))
            prev = h
        return self.client.put(self.ns, placements)

    def reserve(self, nbytes, count, near=None, lease_ms=None):
        """Phase one of a two-phase save: ``count`` reservations of
        ``nbytes`` each (KVC.ALLOC). Returns the list of Reservation (or
        ReplyError for sizes that did not fit); victims in them must be
        dropped by their owners and reported with record_freed."""
        return self.client.alloc(self.ns, [nbytes] * count, near=near,
                                 lease_ms=lease_ms)

    def commit_reserved(self, reservations, hashes, offsets, parent=None,
                        tokens=None):
        """Phase two: the data is written; commit each reservation as the
        block at the same position of ``hashes`` (KVC.PUT ... RES)."""
        hashes = list(hashes)
        if not (len(reservations) == len(hashes) == len(offsets)):
            raise ValueError("one reservation, hash and offset per block")
        if tokens is None:
            tokens = self.block_size
        items = []
        prev = parent
        for r, h, off in zip(reservations, hashes, offsets):
            items.append(ReservedPut(r.rid, h, prev, tokens, off))
            prev = h
        return self.client.put_reserved(self.ns, items)

    def record_freed(self, hashes, node, tier):
        """The engine dropped these blocks from (node, tier): remove those
        locations (KVC.EVICT ... AT). Returns the number removed."""
        hashes = list(hashes)
        if not hashes:
            return 0
        return self.client.evict(self.ns, hashes, at=(node, tier))
