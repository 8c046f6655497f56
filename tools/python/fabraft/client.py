"""fabraft.Client: leader discovery, retries and the typed commands.

Retry rules (docs/python.md has the full table):

* ``-MOVED 0 host:port``: the command was not executed; the client connects
  to that address and sends it again.
* ``-TRYAGAIN ...`` that says the command was not executed (no leader yet,
  leader unreachable, entry not committed, read not confirmed): sent again
  after an exponential backoff with jitter, after asking the node who leads.
* A broken connection, a timeout, or ``-TRYAGAIN ... outcome is unknown`` /
  ``... may or may not have been applied``: reads and writes whose repetition
  leaves the same state are sent again; the others (INCR, INCRBY, DECR,
  DECRBY, KVC.ALLOC, KVC.PIN, KVC.UNPIN, KVC.NODE.ADD, KVC.PUT ... RES,
  SET ... IFEQ) raise OutcomeUnknown.
* All of this until the call's deadline, then Unavailable.
"""

import random
import select
import threading
import time

from . import hashes as _h
from .errors import (AuthError, FabraftError, OutcomeUnknown, ProtocolError,
                     ReplyError, ResyncRequired, Unavailable)
from .resp import Connection, encode_command, parse_addr
from .types import (Block, Event, Node, Placement, Reservation, ReservedPut,
                    ScannedBlock)

__all__ = ["Client", "Pipeline"]

_UNKNOWN_MARKS = ("outcome is unknown", "may or may not")
_BACKOFF_BASE_S = 0.01
_BACKOFF_CAP_S = 0.5
_IDLE_CHECK_S = 1.0
_CHUNK = 512  # commands in flight at most, per connection


class _Round:
    """What one attempt left to do: commands to send again, whether a
    MOVED came, the last retryable error."""
    __slots__ = ("retry", "moved", "err")

    def __init__(self):
        self.retry = []
        self.moved = False
        self.err = None


class _Cmd:
    __slots__ = ("args", "parse", "idem", "wait_s")

    def __init__(self, args, parse, idem, wait_s=0.0):
        self.args = args
        self.parse = parse
        self.idem = idem
        self.wait_s = wait_s


def _name(args):
    return " ".join(str(a) for a in args[:2])[:60]


# ---- reply parsers --------------------------------------------------------

def _raw(r):
    return r


def _ok(r):
    if r != "OK":
        raise ProtocolError(f"expected OK, got {r!r}")
    return None


def _int(r):
    if not isinstance(r, int):
        raise ProtocolError(f"expected an integer, got {r!r}")
    return r


def _set_reply(r):
    return r == "OK"


def _stats(r):
    if not isinstance(r, list) or len(r) % 2:
        raise ProtocolError("KVC.STATS: expected name/value pairs")
    return {r[i].decode(): r[i + 1] for i in range(0, len(r), 2)}


def _digest(r):
    return r.decode() if isinstance(r, bytes) else r


def _nodes(r):
    return [Node.from_reply(x) for x in r]


def _blocks(r):
    return [Block.from_reply(x) for x in r]


def _alloc(r):
    return [x if isinstance(x, ReplyError) else Reservation.from_reply(x)
            for x in r]


def _events(r):
    if not isinstance(r, list) or len(r) != 2:
        raise ProtocolError("KVC.EVENTS: expected [next_seq, events]")
    return r[0], [Event.from_reply(e) for e in r[1]]


def _scan(r):
    if not isinstance(r, list) or len(r) != 3:
        raise ProtocolError("KVC.SCAN: expected [cursor, seq, blocks]")
    cur = int(r[0])
    return cur, r[1], [ScannedBlock.from_reply(b) for b in r[2]]


def _info(r):
    out = {}
    text = r.decode("utf-8", "replace") if isinstance(r, bytes) else r
    for line in text.splitlines():
        if line and not line.startswith("#") and ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


# ---- argument checks (bad input is refused before anything is sent) ------

def _uint(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"{what} must be a non-negative int, not {v!r}")
    return v


def _text(v, what):
    if isinstance(v, (bytes, str)) and len(v) > 0:
        return v
    raise ValueError(f"{what} must be a non-empty str or bytes")


def _key(v):
    if isinstance(v, (bytes, str)):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    raise TypeError(f"a key or value is str, bytes or int, not "
                    f"{type(v).__name__}")


def _list(items, what):
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{what}: pass a list, not a single str/bytes")
    return list(items)


def _classify(msg):
    """'moved', 'retry', 'unknown', 'auth', 'resync' or 'final'."""
    code = msg.split(" ", 1)[0]
    if code == "MOVED":
        return "moved"
    if code == "TRYAGAIN":
        if any(m in msg for m in _UNKNOWN_MARKS):
            return "unknown"
        return "retry"
    if code == "BUSY":
        return "retry"
    if code in ("NOAUTH", "WRONGPASS"):
        return "auth"
    if code == "RESYNC":
        return "resync"
    return "final"


def _resync_error(msg):
    oldest = None
    marker = "oldest kept seq is "
    i = msg.find(marker)
    if i >= 0:
        digits = ""
        for ch in msg[i + len(marker):]:
            if not ch.isdigit():
                break
            digits += ch
        oldest = int(digits) if digits else None
    return ResyncRequired(msg, oldest)


class _Commands:
    """The typed commands. Client runs each at once; Pipeline queues it."""

    def _call(self, cmd):
        raise NotImplementedError

    def _c(self, args, parse=_raw, idem=True, wait_s=0.0):
        return self._call(_Cmd(tuple(args), parse, idem, wait_s))

    # -- generic ----------------------------------------------------------
    def execute_command(self, *args, idempotent=False):
        """Send any command; the reply as decoded by fabraft.resp. Treated
        as not safe to repeat unless ``idempotent=True``."""
        if not args:
            raise ValueError("no command")
        return self._c(args, _raw, idempotent)

    def ping(self):
        return self._c(("PING",), _raw)

    def info(self, section=None):
        """INFO as a dict of its ``key:value`` lines (values are str)."""
        return self._c(("INFO",) + ((section,) if section else ()), _info)

    # -- generic key/value ---------------------------------------------------
    def get(self, key):
        return self._c(("GET", _key(key)))

    def set(self, key, value, ifeq=None):
        """True when set. With ``ifeq``: only if the key holds exactly that
        value (compare-and-set); not repeated when its outcome is unknown."""
        if ifeq is None:
            return self._c(("SET", _key(key), _key(value)), _set_reply)
        return self._c(("SET", _key(key), _key(value), "IFEQ", _key(ifeq)),
                       _set_reply, False)

    def delete(self, *keys):
        if not keys:
            raise ValueError("delete: no keys")
        return self._c(("DEL",) + tuple(_key(k) for k in keys), _int)

    def exists(self, *keys):
        if not keys:
            raise ValueError("exists: no keys")
        return self._c(("EXISTS",) + tuple(_key(k) for k in keys), _int)

    def mset(self, mapping):
        args = ["MSET"]
        for k, v in dict(mapping).items():
            args += [_key(k), _key(v)]
        if len(args) == 1:
            raise ValueError("mset: empty mapping")
        return self._c(args, _ok)

    def mget(self, keys):
        keys = _list(keys, "mget")
        if not keys:
            raise ValueError("mget: no keys")
        return self._c(["MGET"] + [_key(k) for k in keys])

    def incr(self, key):
        return self._c(("INCR", _key(key)), _int, False)

    def incrby(self, key, n):
        return self._c(("INCRBY", _key(key), int(n)), _int, False)

    def decr(self, key):
        return self._c(("DECR", _key(key)), _int, False)

    def decrby(self, key, n):
        return self._c(("DECRBY", _key(key), int(n)), _int, False)

    # -- storage nodes -------------------------------------------------------
    def node_add(self, node_id, addr, numa, tiers, lease_ms=None):
        """Register a storage node. ``tiers``: {"hbm": bytes, ...} or a
        list of (tier, bytes). Not repeated on an unknown outcome (a repeat
        would answer 'already exists')."""
        args = ["KVC.NODE.ADD", _uint(node_id, "node id"),
                _text(addr, "addr"), _uint(numa, "numa")]
        pairs = tiers.items() if isinstance(tiers, dict) else tiers
        n = 0
        for t, b in pairs:
            args += [_text(t, "tier"), _uint(b, "tier bytes")]
            n += 1
        if n == 0:
            raise ValueError("node_add: at least one tier")
        if lease_ms is not None:
            args += ["LEASE", _uint(lease_ms, "lease_ms")]
        return self._c(args, _ok, False)

    def node_del(self, *node_ids):
        if not node_ids:
            raise ValueError("node_del: no ids")
        return self._c(["KVC.NODE.DEL"] +
                       [_uint(i, "node id") for i in node_ids], _int)

    def nodes(self):
        """KVC.NODE.LIST as a list of Node."""
        return self._c(("KVC.NODE.LIST",), _nodes)

    def heartbeat(self, lease_ms, *node_ids):
        if not node_ids:
            raise ValueError("heartbeat: no ids")
        return self._c(["KVC.NODE.HEARTBEAT", _uint(lease_ms, "lease_ms")] +
                       [_uint(i, "node id") for i in node_ids], _int)

    # -- blocks ---------------------------------------------------------------
    def put(self, ns, placements):
        """KVC.PUT: record blocks (Placement or 7-tuples hash, parent,
        tokens, node, tier, offset, length); the number created."""
        args = ["KVC.PUT", _text(ns, "namespace")]
        for p in _list(placements, "put"):
            p = p if isinstance(p, Placement) else Placement(*p)
            args += [_h.hash_arg(p.hash), _h.parent_arg(p.parent),
                     _uint(p.tokens, "tokens"), _uint(p.node, "node"),
                     _text(p.tier, "tier"), _uint(p.offset, "offset"),
                     _uint(p.length, "length")]
        if len(args) == 2:
            raise ValueError("put: no placements")
        return self._c(args, _int)

    def put_reserved(self, ns, items):
        """KVC.PUT ns RES: commit reservations (ReservedPut or 5-tuples
        rid, hash, parent, tokens, offset). Not repeated on an unknown
        outcome."""
        args = ["KVC.PUT", _text(ns, "namespace"), "RES"]
        for p in _list(items, "put_reserved"):
            p = p if isinstance(p, ReservedPut) else ReservedPut(*p)
            args += [_uint(p.rid, "rid"), _h.hash_arg(p.hash),
                     _h.parent_arg(p.parent), _uint(p.tokens, "tokens"),
                     _uint(p.offset, "offset")]
        if len(args) == 3:
            raise ValueError("put_reserved: no items")
        return self._c(args, _int, False)

    def lookup(self, ns, hashes, touch=False):
        """The longest cached prefix of the chain ``hashes`` as a list of
        Block (one KVC.LOOKUP). An empty list sends nothing."""
        hs = [_h.hash_arg(x) for x in _list(hashes, "lookup")]
        if not hs:
            return self._empty()
        args = ["KVC.LOOKUP", _text(ns, "namespace")] + hs
        if touch:
            args.append("TOUCH")
        return self._c(args, _blocks)

    def evict(self, ns, hashes, at=None):
        """Remove blocks (or with ``at=(node, tier)`` only those
        locations); the number removed."""
        hs = [_h.hash_arg(x) for x in _list(hashes, "evict")]
        if not hs:
            raise ValueError("evict: no hashes")
        args = ["KVC.EVICT", _text(ns, "namespace")] + hs
        if at is not None:
            node, tier = at
            args += ["AT", _uint(node, "node"), _text(tier, "tier")]
        return self._c(args, _int)

    def ns_delete(self, ns):
        """KVC.DEL: remove a namespace's blocks and reservations."""
        return self._c(("KVC.DEL", _text(ns, "namespace")), _int)

    def alloc(self, ns, sizes, near=None, lease_ms=None):
        """KVC.ALLOC: one Reservation per size, or a ReplyError element
        for a size that could not be placed. Not repeated on an unknown
        outcome."""
        sz = [_uint(s, "size") for s in _list(sizes, "alloc")]
        if not sz:
            raise ValueError("alloc: no sizes")
        args = ["KVC.ALLOC", _text(ns, "namespace")] + sz
        if near is not None:
            args += ["NEAR", _uint(near, "near")]
        if lease_ms is not None:
            args += ["LEASE", _uint(lease_ms, "lease_ms")]
        return self._c(args, _alloc, False)

    def revoke(self, *rids):
        if not rids:
            raise ValueError("revoke: no reservation ids")
        return self._c(["KVC.REVOKE"] + [_uint(r, "rid") for r in rids],
                       _int)

    def pin(self, ns, lease_ms, hashes):
        hs = [_h.hash_arg(x) for x in _list(hashes, "pin")]
        if not hs:
            raise ValueError("pin: no hashes")
        return self._c(["KVC.PIN", _text(ns, "namespace"),
                        _uint(lease_ms, "lease_ms")] + hs, _int, False)

    def unpin(self, ns, hashes):
        hs = [_h.hash_arg(x) for x in _list(hashes, "unpin")]
        if not hs:
            raise ValueError("unpin: no hashes")
        return self._c(["KVC.UNPIN", _text(ns, "namespace")] + hs, _int,
                       False)

    def stats(self):
        """KVC.STATS as a dict name -> int."""
        return self._c(("KVC.STATS",), _stats)

    def digest(self):
        """KVC.DIGEST: 16 hex digits, equal on every replica."""
        return self._c(("KVC.DIGEST",), _digest)

    # -- event feed (spec S2) -------------------------------------------------
    def events(self, from_seq, count=256, block_ms=None):
        """KVC.EVENTS: ``(next_seq, [Event, ...])``."""
        if not 1 <= _uint(count, "count") <= 4096:
            raise ValueError("count must be 1..4096")
        args = ["KVC.EVENTS", _uint(from_seq, "from_seq"), "COUNT", count]
        wait = 0.0
        if block_ms is not None:
            if not 0 <= _uint(block_ms, "block_ms") <= 60000:
                raise ValueError("block_ms must be 0..60000")
            args += ["BLOCK", block_ms]
            wait = block_ms / 1000.0
        return self._c(args, _events, True, wait)

    def scan_blocks(self, ns="*", cursor=0, count=None):
        """One KVC.SCAN page: ``(next_cursor, seq, [ScannedBlock])``; a
        next_cursor of 0 ends the listing."""
        args = ["KVC.SCAN", _text(ns, "namespace"), _uint(cursor, "cursor")]
        if count is not None:
            args += ["COUNT", _uint(count, "count")]
        return self._c(args, _scan)


class Pipeline(_Commands):
    """Commands queued and sent together by ``execute()`` (one round trip
    when nothing needs retrying). Not atomic: each command is its own log
    entry. Retries follow the same rules as single calls, per command."""

    def __init__(self, client):
        self._client = client
        self._cmds = []

    def _call(self, cmd):
        self._cmds.append(cmd)
        return self

    def _empty(self):
        self._cmds.append(_Cmd(("PING",), lambda r: [], True))
        return self

    def __len__(self):
        return len(self._cmds)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._cmds = []
        return False

    def execute(self, raise_on_error=True):
        """The replies in order. A failed command's slot holds its
        exception; with ``raise_on_error`` the first one is raised after
        every command has its result."""
        cmds, self._cmds = self._cmds, []
        if not cmds:
            return []
        res = self._client._run(cmds)
        if raise_on_error:
            for r in res:
                if isinstance(r, FabraftError):
                    raise r
        return res


class Client(_Commands):
    """A connection to a fabraft cluster.

    ``endpoints``: ``["127.0.0.1:6379", ...]`` or ``"h:p,h:p"``: any
    nodes of the cluster (the client finds the leader through INFO).
    ``password``: sent with AUTH on every new connection. ``timeout``:
    seconds for one connect or one reply. ``deadline``: seconds a call may
    spend in total, retries included, before Unavailable.

    Thread safety: calls are serialised by an internal lock, so a Client
    may be shared, but threads then wait for each other; for parallel
    calls give each thread its own Client.
    """

    def __init__(self, endpoints, password=None, timeout=5.0, deadline=10.0):
        if isinstance(endpoints, str):
            endpoints = [e for e in endpoints.split(",") if e.strip()]
        eps = [e.strip() for e in endpoints]
        if not eps:
            raise ValueError("no endpoints")
        for e in eps:
            parse_addr(e)
        if timeout <= 0 or deadline <= 0:
            raise ValueError("timeout and deadline must be positive")
        self.endpoints = eps
        self.password = password
        self.timeout = float(timeout)
        self.deadline = float(deadline)
        self._conn = None
        self._last_use = 0.0
        self._leader_hint = None
        self._rediscover = False
        self._next_ep = 0
        self._lock = threading.RLock()
        self._rng = random.Random()
        self.leader_addr = None  # the address last seen leading (or None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        with self._lock:
            self._drop()

    def pipeline(self):
        return Pipeline(self)

    @property
    def connected_to(self):
        """The address of the node the client talks to now (or None)."""
        return self._conn.addr if self._conn else None

    def _call(self, cmd):
        r = self._run([cmd])[0]
        if isinstance(r, BaseException):
            raise r
        return r

    def _empty(self):
        return []

    # ---- connection management -----------------------------------------
    def _drop(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _stale(self):
        """True when the server has closed an idle connection (EOF
        pending), so that a command is never sent into a dead socket."""
        try:
            r, _, _ = select.select([self._conn.sock], [], [], 0)
            if not r:
                return False
            return True  # EOF, RST, or bytes nobody asked for
        except (OSError, ValueError):
            return True

    def _handshake(self, conn):
        """AUTH, then INFO: returns (role, leader_client)."""
        if self.password is not None:
            conn.send(encode_command(("AUTH", self.password)))
            r = conn.read_reply()
            if isinstance(r, ReplyError):
                raise AuthError(r.message)
        conn.send(encode_command(("INFO", "replication")))
        r = conn.read_reply()
        if isinstance(r, ReplyError):
            if _classify(r.message) == "auth":
                raise AuthError(r.message)
            raise r
        info = _info(r)
        return info.get("role", ""), info.get("leader_client", "")

    def _open(self, addr, t_end):
        t = max(0.001, min(self.timeout, t_end - time.monotonic()))
        conn = Connection(addr, t)
        try:
            role, leader = self._handshake(conn)
        except BaseException:
            conn.close()
            raise
        return conn, role, leader

    def _candidates(self):
        out = []
        if self._leader_hint:
            out.append(self._leader_hint)
        n = len(self.endpoints)
        for k in range(n):
            e = self.endpoints[(self._next_ep + k) % n]
            if e not in out:
                out.append(e)
        return out

    def _connect(self, t_end):
        last = None
        for addr in self._candidates():
            if time.monotonic() >= t_end:
                break
            try:
                conn, role, leader = self._open(addr, t_end)
            except (OSError, ProtocolError, ReplyError) as e:
                last = e
                if addr in self.endpoints:
                    self._next_ep = (self.endpoints.index(addr) + 1) % len(
                        self.endpoints)
                if addr == self._leader_hint:
                    self._leader_hint = None
                continue
            if role != "leader" and leader and leader != addr:
                try:
                    c2, role2, _ = self._open(leader, t_end)
                    conn.close()
                    conn, role = c2, role2
                except (OSError, ProtocolError, ReplyError) as e:
                    last = e  # keep the follower: it forwards
            self.leader_addr = conn.addr if role == "leader" else (
                leader or None)
            self._leader_hint = None
            return conn
        raise ConnectionError(f"no endpoint answered: {last}")

    def _ensure(self, t_end):
        if self._rediscover:
            # Ask another node next: the one in use may be a deposed
            # leader that still believes it leads (a partition).
            self._drop()
            self._next_ep = (self._next_ep + 1) % len(self.endpoints)
        self._rediscover = False
        if self._conn is not None and (
                time.monotonic() - self._last_use > _IDLE_CHECK_S) and \
                self._stale():
            self._drop()
        if self._conn is None:
            self._conn = self._connect(t_end)
        return self._conn

    def _backoff(self, attempt):
        b = min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * (2 ** min(attempt, 16)))
        return b / 2 + self._rng.uniform(0, b / 2)

    # ---- the retry loop -------------------------------------------------
    def _run(self, cmds):
        with self._lock:
            return self._run_locked(cmds)

    def _run_locked(self, cmds):
        results = [None] * len(cmds)
        todo = list(range(len(cmds)))
        t_end = time.monotonic() + self.deadline
        attempt = 0
        last = None
        redirects = 0
        while todo:
            now = time.monotonic()
            if now >= t_end:
                break
            try:
                conn = self._ensure(t_end)
            except AuthError as e:
                for i in todo:
                    results[i] = e
                return results
            except (OSError, ProtocolError, ReplyError) as e:
                last = e
                attempt += 1
                self._sleep(attempt, t_end)
                continue
            todo, moved, err = self._attempt(conn, cmds, todo, results,
                                             t_end)
            last = err or last
            if not todo:
                break
            if moved and redirects < 3:
                redirects += 1
                continue
            attempt += 1
            self._sleep(attempt, t_end)
        for i in todo:
            results[i] = Unavailable(
                f"{_name(cmds[i].args)}: no answer within "
                f"{self.deadline:g} s (last: {last})", last)
        return results

    def _sleep(self, attempt, t_end):
        d = self._backoff(attempt)
        left = t_end - time.monotonic()
        if left > 0:
            time.sleep(min(d, left))

    def _unknown(self, cmd, i, err, retry, results):
        if cmd.idem:
            retry.append(i)
        else:
            results[i] = OutcomeUnknown(
                f"{_name(cmd.args)}: the outcome is unknown ({err}); "
                "not repeated", cmd.args, err)

    def _attempt(self, conn, cmds, todo, results, t_end):
        """Send ``todo`` on ``conn`` and read their replies, at most
        _CHUNK commands in flight (so a long pipeline never has both sides
        blocked on full socket buffers). Returns the indices to send again,
        whether a MOVED came, and the last error."""
        st = _Round()
        left = t_end - time.monotonic()
        wait = max(cmds[i].wait_s for i in todo)
        conn.settimeout(max(0.001, min(self.timeout, left) + wait))
        for c0 in range(0, len(todo), _CHUNK):
            chunk = todo[c0:c0 + _CHUNK]
            try:
                conn.send(b"".join(encode_command(cmds[i].args)
                                   for i in chunk))
            except OSError as e:
                self._lost(cmds, chunk, todo[c0 + _CHUNK:], e, st, results)
                return st.retry, st.moved, e
            for k, i in enumerate(chunk):
                try:
                    r = conn.read_reply()
                except (OSError, ProtocolError) as e:
                    self._lost(cmds, chunk[k:], todo[c0 + _CHUNK:], e, st,
                               results)
                    return st.retry, st.moved, e
                self._last_use = time.monotonic()
                self._take(cmds[i], i, r, st, results)
        if st.moved:
            self._drop()
        return st.retry, st.moved, st.err

    def _lost(self, cmds, sent, unsent, err, st, results):
        """The connection broke: ``sent`` may have run, ``unsent`` not."""
        self._drop()
        for j in sent:
            self._unknown(cmds[j], j, err, st.retry, results)
        st.retry.extend(unsent)

    def _take(self, cmd, i, r, st, results):
        """File reply ``r`` of command ``i``: a result, or a retry."""
        if not isinstance(r, ReplyError):
            try:
                results[i] = cmd.parse(r)
            except (ValueError, TypeError, IndexError, KeyError,
                    AttributeError, ProtocolError) as e:
                results[i] = ProtocolError(
                    f"{_name(cmd.args)}: unexpected reply {r!r:.200}: {e}")
            return
        kind = _classify(r.message)
        if kind == "moved":
            parts = r.message.split()
            self._leader_hint = parts[2] if len(parts) >= 3 else None
            st.moved = True
            st.retry.append(i)
            st.err = r
        elif kind == "retry":
            self._rediscover = True
            st.retry.append(i)
            st.err = r
        elif kind == "unknown":
            self._rediscover = True
            self._unknown(cmd, i, r, st.retry, results)
            st.err = r
        elif kind == "auth":
            results[i] = AuthError(r.message)
        elif kind == "resync":
            results[i] = _resync_error(r.message)
        else:
            results[i] = r

    # ---- event feed helpers ---------------------------------------------
    def scan_all(self, ns="*", count=None):
        """Every block (of ``ns``, or all namespaces with ``"*"``):
        ``(seq, [ScannedBlock])`` where ``seq`` is the first page's: follow
        the events from it to stay current (spec S2 resync)."""
        cursor, seq0, out = 0, None, []
        while True:
            cursor, seq, blocks = self.scan_blocks(ns, cursor, count)
            if seq0 is None:
                seq0 = seq
            out.extend(blocks)
            if cursor == 0:
                return seq0, out

    def follow(self, from_seq, on_resync=None, count=256, block_ms=None,
               poll_s=0.05, max_outage_s=None):
        """Yield every Event from ``from_seq`` on, forever.

        Survives reconnects and leader changes: it always asks for the seq
        after the last one it yielded (no gap, no duplicate). When the
        server no longer keeps that seq (ResyncRequired), it lists the state
        with ``scan_all()``, calls ``on_resync(seq, blocks)`` and goes on
        from that ``seq``; without ``on_resync`` it raises. An outage longer
        than ``max_outage_s`` (None: never give up) raises Unavailable.
        Between empty answers it waits ``poll_s``, or long-polls with
        ``block_ms`` (falling back to polling on a server that answers that
        BLOCK is not implemented).
        """
        seq = from_seq
        down_since = None
        while True:
            try:
                nxt, evs = self.events(seq, count, block_ms)
                down_since = None
            except ResyncRequired:
                if on_resync is None:
                    raise
                seq, blocks = self.scan_all()
                on_resync(seq, blocks)
                continue
            except ReplyError as e:
                if block_ms is None or "not implemented" not in e.message:
                    raise
                block_ms = None  # this server has no BLOCK: poll
                continue
            except Unavailable:
                now = time.monotonic()
                down_since = down_since or now
                if max_outage_s is not None and \
                        now - down_since > max_outage_s:
                    raise
                continue
            for ev in evs:
                seq = ev.seq + 1
                yield ev
            if not evs:
                seq = max(seq, nxt) if nxt is not None else seq
                if block_ms is None:
                    time.sleep(poll_s)

