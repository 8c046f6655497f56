"""fabraft: Python client of the fabraft KV-cache placement service.

Standard library only. See docs/python.md (API) and docs/integration.md
(wiring an inference stack) in the fabraft repository.
"""

from .client import Client, Pipeline
from .errors import (AuthError, FabraftError, OutcomeUnknown, ProtocolError,
                     ReplyError, ResyncRequired, Unavailable)
from .hashes import chain_hashes, hash_arg, hash_bytes
from .types import (EVENT_FIELDS, Block, Event, Location, Node, Placement,
                    Reservation, ReservedPut, ScannedBlock, Tier, Victim)

__version__ = "0.1.0"

__all__ = [
    "Client", "Pipeline",
    "FabraftError", "ReplyError", "Unavailable", "AuthError",
    "ResyncRequired", "OutcomeUnknown", "ProtocolError",
    "chain_hashes", "hash_arg", "hash_bytes",
    "Block", "Event", "EVENT_FIELDS", "Location", "Node", "Placement",
    "Reservation", "ReservedPut", "ScannedBlock", "Tier", "Victim",
]
