"""Client tests that need no fabraftd: hash encoding, chain_hashes, RESP
decoding, argument checks, and the retry rules against a scripted fake
server (MOVED, TRYAGAIN, dropped connections, deadlines, AUTH)."""

import hashlib
import os
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "tools", "python"))

import fabraft  # noqa: E402
from fabraft.resp import Connection, encode_command  # noqa: E402


class FakeServer:
    """A RESP server on 127.0.0.1 whose answers come from ``handler(srv,
    args)`` -> reply bytes, or None to close the connection without an
    answer. AUTH and INFO are answered by ``role``/``leader``/``password``
    unless the handler returns something for them."""

    def __init__(self, handler, role="leader", leader="", password=None):
        self.handler = handler
        self.role = role
        self.leader = leader
        self.password = password
        self.seen = []
        self.accepted = 0
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.addr = "127.0.0.1:%d" % self.lsock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(s,),
                             daemon=True).start()

    def _default(self, args):
        name = args[0].upper()
        if name == b"AUTH":
            if self.password is None or args[-1].decode() != self.password:
                return b"-WRONGPASS invalid username-password pair\r\n"
            return b"+OK\r\n"
        if name == b"INFO":
            body = ("# Replication\r\nrole:%s\r\nleader_client:%s\r\n" %
                    (self.role, self.leader)).encode()
            return b"$%d\r\n%s\r\n" % (len(body), body)
        return b"-ERR unscripted\r\n"

    def _serve(self, s):
        c = object.__new__(Connection)
        c.sock, c.buf, c.pos, c.addr = s, bytearray(), 0, "client"
        try:
            while True:
                args = c.read_reply()
                self.seen.append(args)
                r = self.handler(self, args)
                if r == b"default":
                    r = self._default(args)
                if r is None:
                    s.close()
                    return
                s.sendall(r)
        except (OSError, fabraft.FabraftError):
            s.close()

    def stop(self):
        self.stopped = True
        self.lsock.close()


def default_only(srv, args):
    return b"default"


class HashTest(unittest.TestCase):
    def test_hash_arg(self):
        self.assertEqual(fabraft.hash_arg(b"\x01\xab"), "01ab")
        self.assertEqual(fabraft.hash_arg(bytes(range(32))),
                         bytes(range(32)).hex())
        self.assertEqual(fabraft.hash_arg(5), "i:5")
        self.assertEqual(fabraft.hash_arg(-1), "i:-1")
        self.assertEqual(fabraft.hash_arg((1 << 64) - 1),
                         "i:18446744073709551615")
        for bad in (b"", bytes(33), 1 << 64, -(1 << 63) - 1):
            with self.assertRaises(ValueError):
                fabraft.hash_arg(bad)
        for bad in ("00ff", 1.5, None, True):
            with self.assertRaises(TypeError):
                fabraft.hash_arg(bad)

    def test_hash_bytes(self):
        self.assertEqual(fabraft.hash_bytes(1), bytes(7) + b"\x01")
        self.assertEqual(fabraft.hash_bytes(-1), b"\xff" * 8)
        self.assertEqual(fabraft.hash_bytes(-(1 << 63)), b"\x80" + bytes(7))
        self.assertEqual(fabraft.hash_bytes(b"\x01"), b"\x01")

    def test_chain_hashes(self):
        toks = list(range(10))
        hs = fabraft.chain_hashes(toks, 4)
        self.assertEqual(len(hs), 2)  # the partial third block: no hash
        h0 = hashlib.sha256(struct.pack("<4i", 0, 1, 2, 3)).digest()
        h1 = hashlib.sha256(h0 + struct.pack("<4i", 4, 5, 6, 7)).digest()
        self.assertEqual(hs, [h0, h1])
        # parent and extra enter every hash; size truncates
        p = b"\x07" * 32
        hp = fabraft.chain_hashes(toks, 4, parent=p, extra=b"lora1",
                                  size=16)
        e0 = hashlib.sha256(p + struct.pack("<4i", 0, 1, 2, 3) +
                            b"lora1").digest()[:16]
        e1 = hashlib.sha256(e0 + struct.pack("<4i", 4, 5, 6, 7) +
                            b"lora1").digest()[:16]
        self.assertEqual(hp, [e0, e1])
        # an int parent is its 8 bytes big-endian
        self.assertEqual(
            fabraft.chain_hashes(toks, 4, parent=3)[0],
            hashlib.sha256(bytes(7) + b"\x03" +
                           struct.pack("<4i", 0, 1, 2, 3)).digest())
        # a shared prefix gives shared hashes
        self.assertEqual(fabraft.chain_hashes(list(range(8)) + [99] * 4,
                                              4)[:2], hs)
        with self.assertRaises(ValueError):
            fabraft.chain_hashes([1 << 31] * 4, 4)
        with self.assertRaises(ValueError):
            fabraft.chain_hashes(toks, 0)
        with self.assertRaises(ValueError):
            fabraft.chain_hashes(toks, 4, size=33)


class RespTest(unittest.TestCase):
    def test_encode(self):
        self.assertEqual(encode_command(("SET", b"k\r\n", 12)),
                         b"*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$2\r\n12\r\n")
        with self.assertRaises(TypeError):
            encode_command(("SET", 1.5))

    def test_decode_and_bad_stream(self):
        replies = [b"+OK\r\n:-5\r\n$-1\r\n*2\r\n$1\r\na\r\n*-1\r\n"
                   b"-ERR x y\r\n", b"?what\r\n"]

        def h(srv, args):
            return replies.pop(0)
        srv = FakeServer(h)
        try:
            c = Connection(srv.addr, 2)
            c.send(encode_command(("X",)))
            self.assertEqual(c.read_reply(), "OK")
            self.assertEqual(c.read_reply(), -5)
            self.assertIsNone(c.read_reply())
            self.assertEqual(c.read_reply(), [b"a", None])
            e = c.read_reply()
            self.assertIsInstance(e, fabraft.ReplyError)
            self.assertEqual((e.code, e.message), ("ERR", "ERR x y"))
            c.send(encode_command(("X",)))
            with self.assertRaises(fabraft.ProtocolError):
                c.read_reply()
        finally:
            srv.stop()


class ChunkedConnection(Connection):
    """A Connection fed ``data`` ``step`` bytes per receive."""

    def __init__(self, data, step):
        self.sock, self.buf, self.pos, self.addr = None, bytearray(), 0, "x"
        self.data, self.step = data, step

    def _fill(self):
        if not self.data:
            raise ConnectionError("closed")
        self.buf += self.data[:self.step]
        self.data = self.data[self.step:]


class ChunkTest(unittest.TestCase):
    def test_any_split(self):
        wire = (b"*3\r\n*2\r\n$3\r\nabc\r\n:42\r\n*0\r\n"
                b"*2\r\n$0\r\n\r\n-TRYAGAIN x\r\n+OK\r\n")
        for step in (1, 2, 3, 7, len(wire)):
            c = ChunkedConnection(wire, step)
            r = c.read_reply()
            self.assertEqual(r[0], [b"abc", 42])
            self.assertEqual(r[1], [])
            self.assertEqual(r[2][0], b"")
            self.assertEqual(r[2][1].message, "TRYAGAIN x")
            self.assertEqual(c.read_reply(), "OK")
            with self.assertRaises(ConnectionError):
                c.read_reply()

    def test_fast_path_cases(self):
        """Arrays: CRLF inside a bulk string, a reply larger than the
        first window, one arriving in many pieces, replies back to back."""
        crlf = b"*2\r\n$4\r\na\r\nb\r\n:1\r\n"
        big = [b"x" * (i % 50) for i in range(3000)]
        wire_big = b"*3000\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(x), x)
                                            for x in big)
        for step in (5, 1000, 1 << 20):
            c = ChunkedConnection(crlf + wire_big + crlf + b"+OK\r\n", step)
            self.assertEqual(c.read_reply(), [b"a\r\nb", 1])
            self.assertEqual(c.read_reply(), big)
            self.assertEqual(c.read_reply(), [b"a\r\nb", 1])
            self.assertEqual(c.read_reply(), "OK")

    def test_bad_streams(self):
        for wire in (b"$5\r\nab\r\nxyz", b"*-2\r\n", b":1x\r\n",
                     b"$99999999999\r\n", b"!x\r\n",
                     b"*1\r\n" * 20 + b":1\r\n"):
            c = ChunkedConnection(wire, 3)
            with self.assertRaises(fabraft.ProtocolError, msg=wire):
                c.read_reply()


class MutationTest(unittest.TestCase):
    def test_mutated_replies(self):
        """Random edits of valid replies: a value, ProtocolError or the
        end of the stream, never another exception."""
        import random
        rng = random.Random(1)
        base = (b"*3\r\n*2\r\n$3\r\nabc\r\n:42\r\n*0\r\n"
                b"*2\r\n$0\r\n\r\n-TRYAGAIN x\r\n+OK\r\n")
        alphabet = b"*$:+-\r\n0123456789-ax"
        for _ in range(3000):
            w = bytearray(base)
            for _ in range(rng.randrange(1, 4)):
                i = rng.randrange(len(w))
                op = rng.randrange(3)
                if op == 0:
                    w[i] = alphabet[rng.randrange(len(alphabet))]
                elif op == 1:
                    del w[i]
                else:
                    w.insert(i, alphabet[rng.randrange(len(alphabet))])
            c = ChunkedConnection(bytes(w), rng.randrange(1, 9))
            try:
                while True:
                    c.read_reply()
            except (fabraft.ProtocolError, ConnectionError):
                pass


class ArgumentTest(unittest.TestCase):
    """Bad input raises before anything reaches the server."""

    def setUp(self):
        self.srv = FakeServer(default_only)
        self.c = fabraft.Client([self.srv.addr], deadline=1)

    def tearDown(self):
        self.c.close()
        self.srv.stop()

    def test_refused_before_sending(self):
        c = self.c
        bad = [
            (ValueError, lambda: c.lookup("ns", [bytes(33)])),
            (ValueError, lambda: c.put("ns", [(bytes(33), None, 16, 1,
                                               "hbm", 0, 1)])),
            (ValueError, lambda: c.put("ns", [(b"\x01", None, -1, 1, "hbm",
                                               0, 1)])),
            (ValueError, lambda: c.put("", [(b"\x01", None, 1, 1, "hbm", 0,
                                             1)])),
            (TypeError, lambda: c.lookup("ns", ["abcd"])),
            (TypeError, lambda: c.lookup("ns", b"\x01\x02")),
            (ValueError, lambda: c.evict("ns", [])),
            (ValueError, lambda: c.alloc("ns", [-1])),
            (ValueError, lambda: c.node_add(1, "a", 0, {})),
            (ValueError, lambda: c.events(1, count=0)),
            (ValueError, lambda: c.events(1, count=4097)),
            (ValueError, lambda: c.events(1, block_ms=60001)),
            (ValueError, lambda: c.delete()),
            (TypeError, lambda: c.get(1.5)),
        ]
        for exc, f in bad:
            with self.assertRaises(exc):
                f()
        self.assertEqual(self.srv.seen, [])
        self.assertEqual(c.lookup("ns", []), [])
        self.assertEqual(self.srv.seen, [])

    def test_endpoints(self):
        for bad in ("", "nohost", "h:0", "h:70000", ":1"):
            with self.assertRaises(ValueError):
                fabraft.Client(bad)
        c = fabraft.Client("127.0.0.1:1, 127.0.0.1:2")
        self.assertEqual(c.endpoints, ["127.0.0.1:1", "127.0.0.1:2"])


class RetryTest(unittest.TestCase):
    def tearDown(self):
        for s in getattr(self, "servers", []):
            s.stop()

    def serve(self, handler, **kw):
        s = FakeServer(handler, **kw)
        self.servers = getattr(self, "servers", []) + [s]
        return s

    def test_discovery_and_moved(self):
        leader = self.serve(lambda srv, a: b"$1\r\nv\r\n"
                            if a[0] == b"GET" else b"default")
        follower = self.serve(default_only, role="follower",
                              leader=leader.addr)
        c = fabraft.Client([follower.addr])
        self.assertEqual(c.get("k"), b"v")
        self.assertEqual(c.connected_to, leader.addr)
        self.assertEqual(c.leader_addr, leader.addr)
        # a node that answers MOVED: followed without a backoff
        mover = self.serve(
            lambda srv, a: (b"-MOVED 0 %s\r\n" % leader.addr.encode())
            if a[0] == b"GET" else b"default")
        c2 = fabraft.Client([mover.addr])
        t0 = time.monotonic()
        self.assertEqual(c2.get("k"), b"v")
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(c2.connected_to, leader.addr)

    def test_tryagain_retried_with_backoff(self):
        n = {"get": 0}

        def h(srv, a):
            if a[0] == b"GET":
                n["get"] += 1
                if n["get"] < 4:
                    return b"-TRYAGAIN no leader elected yet; retry\r\n"
                return b"$2\r\nok\r\n"
            return b"default"
        s = self.serve(h)
        c = fabraft.Client([s.addr])
        self.assertEqual(c.get("k"), b"ok")
        self.assertEqual(n["get"], 4)

    def test_stale_leader_left(self):
        """A node that says it leads but answers TRYAGAIN (a deposed leader
        behind a partition) is left for another endpoint."""
        good = self.serve(lambda srv, a: b"+PONG\r\n" if a[0] == b"PING"
                          else b"default")
        stale = self.serve(lambda srv, a: b"-TRYAGAIN timed out; retry\r\n"
                           if a[0] == b"PING" else b"default")
        c = fabraft.Client([stale.addr, good.addr], deadline=3)
        self.assertEqual(c.ping(), "PONG")
        self.assertEqual(c.connected_to, good.addr)

    def test_deadline_unavailable(self):
        s = self.serve(lambda srv, a: b"-TRYAGAIN no leader elected yet;"
                       b" retry\r\n" if a[0] == b"GET" else b"default")
        c = fabraft.Client([s.addr], deadline=0.3)
        t0 = time.monotonic()
        with self.assertRaises(fabraft.Unavailable) as cm:
            c.get("k")
        self.assertLess(time.monotonic() - t0, 1.5)
        self.assertIn("TRYAGAIN", str(cm.exception))
        # nobody listening at all
        c = fabraft.Client(["127.0.0.1:1"], deadline=0.3)
        with self.assertRaises(fabraft.Unavailable):
            c.ping()

    def test_unknown_outcome_not_repeated(self):
        counts = {}

        def h(srv, a):
            name = a[0].upper()
            if name in (b"INCR", b"GET", b"KVC.ALLOC", b"SET"):
                counts[name] = counts.get(name, 0) + 1
                if counts[name] == 1:
                    return None  # close after reading: outcome unknown
                return b":7\r\n" if name == b"INCR" else b"+OK\r\n"
            return b"default"
        s = self.serve(h)
        c = fabraft.Client([s.addr])
        with self.assertRaises(fabraft.OutcomeUnknown):
            c.incr("n")
        self.assertEqual(counts[b"INCR"], 1)
        with self.assertRaises(fabraft.OutcomeUnknown):
            c.alloc("ns", [10])
        self.assertEqual(counts[b"KVC.ALLOC"], 1)
        # a repeatable command is sent again
        self.assertEqual(c.get("k"), "OK")
        self.assertEqual(counts[b"GET"], 2)
        self.assertTrue(c.set("k", "v"))
        self.assertEqual(counts[b"SET"], 2)
        # the server saying so is the same as a broken connection
        s2 = self.serve(lambda srv, a: b"-TRYAGAIN timed out waiting for "
                        b"commit; the write may or may not have been "
                        b"applied\r\n" if a[0] == b"INCR" else b"default")
        with self.assertRaises(fabraft.OutcomeUnknown):
            fabraft.Client([s2.addr]).incr("n")

    def test_pipeline_partial_retry(self):
        n = {"x": 0}

        def h(srv, a):
            if a[0] == b"GET" and a[1] == b"x":
                n["x"] += 1
                if n["x"] == 1:
                    return b"-TRYAGAIN leader 2 unreachable; retry\r\n"
                return b"$1\r\nX\r\n"
            if a[0] == b"GET":
                return b"$1\r\n%s\r\n" % a[1]
            if a[0] == b"INCR":
                return b"-ERR value is not an integer or out of range\r\n"
            return b"default"
        s = self.serve(h)
        c = fabraft.Client([s.addr])
        p = c.pipeline()
        p.get("a").get("x").incr("bad").get("b")
        res = p.execute(raise_on_error=False)
        self.assertEqual(res[0], b"a")
        self.assertEqual(res[1], b"X")
        self.assertIsInstance(res[2], fabraft.ReplyError)
        self.assertEqual(res[3], b"b")
        p.get("a").incr("bad")
        with self.assertRaises(fabraft.ReplyError):
            p.execute()

    def test_long_pipeline(self):
        n = {"x": 0}

        def h(srv, a):
            if a[0] == b"GET":
                if a[1] == b"700":
                    n["x"] += 1
                    if n["x"] == 1:
                        return b"-TRYAGAIN no leader elected yet; retry\r\n"
                return b"$%d\r\n%s\r\n" % (len(a[1]), a[1])
            return b"default"
        s = self.serve(h)
        c = fabraft.Client([s.addr])
        p = c.pipeline()
        for i in range(2000):
            p.get(str(i))
        self.assertEqual(p.execute(), [str(i).encode() for i in range(2000)])
        self.assertEqual(n["x"], 2)

    def test_auth(self):
        s = self.serve(lambda srv, a: b"+PONG\r\n" if a[0] == b"PING"
                       else b"default", password="pw")
        self.assertEqual(fabraft.Client([s.addr], password="pw").ping(),
                         "PONG")
        with self.assertRaises(fabraft.AuthError):
            fabraft.Client([s.addr], password="no").ping()
        s2 = self.serve(lambda srv, a: b"-NOAUTH Authentication required."
                        b"\r\n")
        with self.assertRaises(fabraft.AuthError):
            fabraft.Client([s2.addr]).ping()

    def test_resync_error(self):
        s = self.serve(lambda srv, a: b"-RESYNC oldest kept seq is 42; list"
                       b" the state with KVC.SCAN and follow from the seq "
                       b"it returns\r\n" if a[0] == b"KVC.EVENTS"
                       else b"default")
        c = fabraft.Client([s.addr])
        with self.assertRaises(fabraft.ResyncRequired) as cm:
            c.events(1)
        self.assertEqual(cm.exception.oldest_seq, 42)

    def test_idle_closed_connection_not_used(self):
        """A connection the server closed while idle is noticed before a
        non-repeatable command is sent into it."""
        conns = []

        def h(srv, a):
            if a[0] == b"INCR":
                return b":1\r\n"
            return b"default"
        s = self.serve(h)
        c = fabraft.Client([s.addr])
        self.assertEqual(c.incr("n"), 1)
        c._conn.sock.shutdown(socket.SHUT_WR)  # the server sees EOF
        time.sleep(0.05)
        c._last_use -= 2  # as if idle past the check interval
        conns.append(s.accepted)
        self.assertEqual(c.incr("n"), 1)
        self.assertEqual(s.accepted, conns[0] + 1)


def event_wire(seq):
    return (b"*10\r\n:%d\r\n:%d\r\n$6\r\nstored\r\n$2\r\nns\r\n"
            b"$32\r\n%032x\r\n:1\r\n$3\r\nhbm\r\n:0\r\n:1\r\n:16\r\n"
            % (seq, seq + 100, seq))


class FeedServer:
    """KVC.EVENTS over events 1..last, ``per`` at most per answer, and
    KVC.SCAN in two pages; ``oldest`` is the first kept seq."""

    def __init__(self, last, oldest=1, per=3, drop_at=()):
        self.last, self.oldest, self.per = last, oldest, per
        self.drop_at = set(drop_at)  # close instead of answering these
        self.asked = []

    def __call__(self, srv, a):
        if a[0] == b"KVC.EVENTS":
            if b"BLOCK" in a:
                return (b"-ERR KVC.EVENTS BLOCK is not implemented by this "
                        b"server: poll without BLOCK\r\n")
            frm = int(a[1])
            self.asked.append(frm)
            if frm in self.drop_at:
                self.drop_at.discard(frm)
                return None
            if frm < self.oldest:
                return (b"-RESYNC oldest kept seq is %d; list the state "
                        b"with KVC.SCAN and follow from the seq it "
                        b"returns\r\n" % self.oldest)
            evs = list(range(frm, min(self.last + 1, frm + self.per)))
            nxt = evs[-1] + 1 if evs else frm
            return (b"*2\r\n:%d\r\n*%d\r\n" % (nxt, len(evs)) +
                    b"".join(event_wire(e) for e in evs))
        if a[0] == b"KVC.SCAN":
            blk = (b"*5\r\n$2\r\nns\r\n$4\r\n%04x\r\n$1\r\n-\r\n:16\r\n"
                   b"*1\r\n*5\r\n:1\r\n$2\r\nn1\r\n$3\r\nhbm\r\n:0\r\n"
                   b":1\r\n")
            if a[2] == b"0":
                return b"*3\r\n$1\r\n7\r\n:12\r\n*1\r\n" + blk % 1
            return b"*3\r\n$1\r\n0\r\n:13\r\n*1\r\n" + blk % 2
        return b"default"


class FollowTest(unittest.TestCase):
    def test_no_gap_no_duplicate_across_drops_and_leaders(self):
        feed = FeedServer(20, drop_at=(7, 13))
        a = FakeServer(feed)
        b = FakeServer(feed)
        c = fabraft.Client([a.addr, b.addr], deadline=5)
        got = []
        for ev in c.follow(1, poll_s=0.01, block_ms=100):
            got.append(ev.seq)
            if ev.seq == 10:
                a.stop()  # the "leader" goes away: B answers from now on
                c._conn.sock.shutdown(socket.SHUT_RDWR)
            if ev.seq == 20:
                break
        self.assertEqual(got, list(range(1, 21)))
        self.assertIn(7, feed.asked[feed.asked.index(7) + 1:])
        self.assertEqual(c.connected_to, b.addr)
        self.assertEqual(got[0], 1)
        b.stop()

    def test_resync_protocol(self):
        feed = FeedServer(15, oldest=10)
        s = FakeServer(feed)
        c = fabraft.Client([s.addr])
        with self.assertRaises(fabraft.ResyncRequired):
            next(c.follow(3))
        calls = []
        got = []
        for ev in c.follow(3, on_resync=lambda q, bl: calls.append((q, bl)),
                           poll_s=0.01):
            got.append(ev.seq)
            if ev.seq == 15:
                break
        self.assertEqual(len(calls), 1)
        seq, blocks = calls[0]
        self.assertEqual(seq, 12)  # the first page's seq
        self.assertEqual([b.hash for b in blocks], [b"\x00\x01",
                                                    b"\x00\x02"])
        self.assertIsNone(blocks[0].parent)
        self.assertEqual(blocks[0].locations[0].addr, "n1")
        self.assertEqual(got, [12, 13, 14, 15])
        s.stop()


class EventParseTest(unittest.TestCase):
    def test_event(self):
        e = fabraft.Event.from_reply([3, 17, b"stored", b"ns", b"0a0b", 1,
                                      b"hbm", 0, 4096, 16])
        self.assertEqual((e.seq, e.index, e.type), (3, 17, "stored"))
        self.assertEqual(e.get("node"), 1)
        self.assertEqual(e.hash, b"\x0a\x0b")
        self.assertEqual(e.get("nope", 5), 5)
        self.assertIsNone(e.parent)
        e2 = fabraft.Event.from_reply([3, 17, b"stored", b"ns", b"0a0b", 1,
                                       b"hbm", 0, 4096, 16, b"0102"])
        self.assertEqual(e2.parent, b"\x01\x02")
        e3 = fabraft.Event.from_reply([3, 17, b"stored", b"ns", b"0a0b", 1,
                                       b"hbm", 0, 4096, 16, b"-"])
        self.assertIsNone(e3.parent)
        u = fabraft.Event.from_reply([4, 18, b"future_type", b"x", 9])
        self.assertEqual(u.fields, ["x", 9])
        self.assertIsNone(u.hash)
        with self.assertRaises(ValueError):
            fabraft.Event.from_reply([1, 2])


if __name__ == "__main__":
    unittest.main()
