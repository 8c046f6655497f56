"""Typed values of fabraft replies (dataclasses)."""

from dataclasses import dataclass, field
from typing import List, Optional, Union

from .hashes import from_hex

__all__ = ["Tier", "Node", "Location", "Block", "Placement", "ReservedPut",
           "Victim", "Reservation", "Event", "ScannedBlock", "EVENT_FIELDS"]


def _s(v):
    """A bulk string of a reply as str (bytes that are not UTF-8 survive
    as surrogate escapes: ``s.encode('utf-8', 'surrogateescape')``)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    return v


@dataclass
class Tier:
    """One tier of a storage node (``KVC.NODE.LIST``)."""
    name: str
    capacity: int
    used: int
    reserved: int
    locations: int


@dataclass
class Node:
    """A storage node (``KVC.NODE.LIST``). ``lease_expiry_ms`` is 0 when
    the node has no lease."""
    id: int
    addr: str
    numa: int
    alive: bool
    lease_expiry_ms: int
    tiers: List[Tier]

    @classmethod
    def from_reply(cls, r):
        return cls(r[0], _s(r[1]), r[2], bool(r[3]), r[4],
                   [Tier(_s(t[0]), t[1], t[2], t[3], t[4]) for t in r[5]])


@dataclass
class Location:
    """Where one copy of a block lives."""
    node: int
    addr: str
    tier: str
    offset: int
    length: int

    @classmethod
    def from_reply(cls, r):
        return cls(r[0], _s(r[1]), _s(r[2]), r[3], r[4])


@dataclass
class Block:
    """One block of a ``KVC.LOOKUP`` answer."""
    hash: bytes
    tokens: int
    locations: List[Location]

    @classmethod
    def from_reply(cls, r):
        return cls(from_hex(r[0]), r[1],
                   [Location.from_reply(x) for x in r[2]])


@dataclass
class Placement:
    """One block for ``Client.put``: ``hash`` (bytes or int), ``parent``
    (hash or None for a root), token count, and where it was written."""
    hash: Union[bytes, int]
    parent: Optional[Union[bytes, int]]
    tokens: int
    node: int
    tier: str
    offset: int
    length: int


@dataclass
class ReservedPut:
    """One block for ``Client.put_reserved``: commits reservation ``rid``
    (its node, tier and length) as this block at ``offset``."""
    rid: int
    hash: Union[bytes, int]
    parent: Optional[Union[bytes, int]]
    tokens: int
    offset: int


@dataclass
class Victim:
    """A location evicted by ``KVC.ALLOC`` to make room: drop its data."""
    ns: str
    hash: bytes
    node: int
    tier: str


@dataclass
class Reservation:
    """One size of a ``KVC.ALLOC`` answer."""
    rid: int
    node: int
    addr: str
    tier: str
    bytes: int
    expiry_ms: int
    victims: List[Victim]

    @classmethod
    def from_reply(cls, r):
        return cls(r[0], r[1], _s(r[2]), _s(r[3]), r[4], r[5],
                   [Victim(_s(v[0]), from_hex(v[1]), v[2], _s(v[3]))
                    for v in r[6]])


# Field names of the event types of spec S2 (docs/kvcache.md has the final
# list). Events are parsed generically: a type not listed here, or more
# fields than listed, still parse; only Event.get() uses these names.
EVENT_FIELDS = {
    "stored": ("ns", "hash", "node", "tier", "offset", "len", "tokens",
               "parent"),
    "evicted": ("ns", "hash", "node", "tier"),
    "revoked": ("rid", "ns", "node", "tier", "bytes"),
    "node_joined": ("node", "addr"),
    "node_expired": ("node",),
    "node_left": ("node",),
    "ns_cleared": ("ns",),
}


@dataclass
class Event:
    """One event of the feed: ``seq`` (1, 2, 3, ... the same on every
    replica), ``index`` (the Raft log index of the entry that produced
    it), ``type`` and its ``fields`` (ints stay ints, bulk strings become
    str)."""
    seq: int
    index: int
    type: str
    fields: List[Union[int, str]] = field(default_factory=list)

    @classmethod
    def from_reply(cls, r):
        if not isinstance(r, list) or len(r) < 3:
            raise ValueError(f"malformed event {r!r}")
        return cls(r[0], r[1], _s(r[2]), [_s(f) for f in r[3:]])

    def get(self, name, default=None):
        """A field by its name in EVENT_FIELDS (``"ns"``, ``"node"``,
        ...); ``default`` when this type has no such field."""
        names = EVENT_FIELDS.get(self.type, ())
        if name in names and names.index(name) < len(self.fields):
            return self.fields[names.index(name)]
        return default

    @property
    def hash(self):
        """The block hash (bytes) of a stored/evicted event, else None."""
        h = self.get("hash")
        return None if h is None else from_hex(h)

    @property
    def parent(self):
        """The parent hash (bytes) of a stored event; None for a root block
        or when the server does not send it."""
        p = self.get("parent")
        return None if p in (None, "", "-") else from_hex(p)


@dataclass
class ScannedBlock:
    """One block of a ``KVC.SCAN`` page."""
    ns: str
    hash: bytes
    parent: Optional[bytes]
    tokens: int
    locations: List[Location]

    @classmethod
    def from_reply(cls, r):
        p = r[2]
        parent = None if p in (None, b"", b"-", "-", "") else from_hex(p)
        return cls(_s(r[0]), from_hex(r[1]), parent, r[3],
                   [Location.from_reply(x) for x in r[4]])


