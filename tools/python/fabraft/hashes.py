"""Block hashes (spec S1) and the chained-sha256 helper.

A block hash is an opaque byte string of 1..32 bytes. This package accepts
``bytes`` (sent as lower-case hex) or ``int`` (sent as ``i:<decimal>``,
which the server stores as the 8 bytes big-endian, negatives in two's
complement). Replies give hashes as hex; the client turns them back into
``bytes``. ``hash_bytes(1) == bytes(7) + b"\\x01"``: that is the byte
string the server keeps for ``i:1``, and what comes back in replies.
"""

import hashlib
import struct

__all__ = ["hash_arg", "hash_bytes", "parent_arg", "chain_hashes",
           "HASH_BYTES_MAX", "INT_HASH_MIN", "INT_HASH_MAX"]

HASH_BYTES_MAX = 32
INT_HASH_MIN = -(1 << 63)
INT_HASH_MAX = (1 << 64) - 1


def _check_int(h):
    if not INT_HASH_MIN <= h <= INT_HASH_MAX:
        raise ValueError(f"integer hash {h} is outside -2^63..2^64-1")


def hash_arg(h):
    """The command argument for hash ``h`` (bytes 1..32 or int).

    Raises ValueError (wrong length, int out of range) or TypeError (any
    other type) before anything is sent.
    """
    if isinstance(h, (bytes, bytearray, memoryview)):
        b = bytes(h)
        if not 1 <= len(b) <= HASH_BYTES_MAX:
            raise ValueError(f"a block hash is 1..32 bytes, not {len(b)}")
        return b.hex()
    if isinstance(h, int) and not isinstance(h, bool):
        _check_int(h)
        return f"i:{h}"
    raise TypeError(f"a block hash is bytes or int, not {type(h).__name__}"
                    " (for a hex string use bytes.fromhex(s))")


def parent_arg(p):
    """``None`` -> ``"-"`` (a root block), else ``hash_arg(p)``."""
    return "-" if p is None else hash_arg(p)


def hash_bytes(h):
    """The bytes the server keeps for ``h``: bytes unchanged (1..32), an
    int as its 8 bytes big-endian (two's complement when negative)."""
    if isinstance(h, int) and not isinstance(h, bool):
        _check_int(h)
        return (h & ((1 << 64) - 1)).to_bytes(8, "big")
    if isinstance(h, (bytes, bytearray, memoryview)):
        b = bytes(h)
        if not 1 <= len(b) <= HASH_BYTES_MAX:
            raise ValueError(f"a block hash is 1..32 bytes, not {len(b)}")
        return b
    raise TypeError(f"a block hash is bytes or int, not {type(h).__name__}")


def from_hex(s):
    """A reply's hex hash (bytes or str) -> bytes."""
    if isinstance(s, (bytes, bytearray)):
        s = s.decode("ascii")
    return bytes.fromhex(s)


def chain_hashes(token_ids, block_size, parent=None, extra=b"", size=32):
    """Hashes of the full blocks of ``token_ids``, each chained to the one
    before it.

    For block ``i`` (tokens ``[i*block_size, (i+1)*block_size)``)::

        h[i] = sha256(p || tokens as little-endian int32 || extra)[:size]

    where ``p`` is ``h[i-1]``, and for the first block the bytes of
    ``parent`` (``hash_bytes(parent)``; empty when ``parent`` is None).
    A trailing partial block gets no hash. Returns a list of ``bytes`` of
    length ``size`` (1..32; 32 = the whole sha256 digest). Token ids must
    fit a signed 32-bit integer. This is this package's own scheme: it is
    not claimed to equal any inference engine's block hashes.
    """
    if isinstance(block_size, bool) or not isinstance(block_size, int) \
            or block_size < 1:
        raise ValueError("block_size must be a positive int")
    if not 1 <= size <= 32:
        raise ValueError("size must be 1..32")
    extra = bytes(extra)
    prev = b"" if parent is None else hash_bytes(parent)
    tokens = list(token_ids)
    fmt = struct.Struct(f"<{block_size}i")
    out = []
    for start in range(0, len(tokens) - block_size + 1, block_size):
        try:
            packed = fmt.pack(*tokens[start:start + block_size])
        except struct.error as e:
            raise ValueError(f"token ids must be int32: {e}") from None
        prev = hashlib.sha256(prev + packed + extra).digest()[:size]
        out.append(prev)
    return out
