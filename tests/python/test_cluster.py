"""The Python client against real 3-node fabraftd clusters on 127.0.0.1:
every call, leader discovery from a follower, MOVED, retries across a
leader kill -9, AUTH, and server errors as exceptions."""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))

import fabcluster  # noqa: E402
import fabraft  # noqa: E402
from fabraft import Placement, ReservedPut  # noqa: E402

NS = "llama3-8b:bf16:bs16"
H = [bytes([i]) * 16 for i in range(1, 9)]  # 16-byte hashes (any server)


def ints_supported(c):
    """Whether the server takes `i:N` hashes (spec S1, the hashfmt work)."""
    try:
        c.lookup(NS, [1])
        return True
    except fabraft.ReplyError:
        return False


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cl = fabcluster.Cluster(3)
        cls.leader = cls.cl.leader()

    @classmethod
    def tearDownClass(cls):
        cls.cl.stop()

    def client(self, *nodes, **kw):
        eps = [self.cl.addr(i) for i in nodes] or self.cl.endpoints()
        c = fabraft.Client(eps, **kw)
        self.addCleanup(c.close)
        return c

    def follower(self):
        return next(i for i in range(1, 4) if i != self.leader)

    def test_discovery_from_follower(self):
        c = self.client(self.follower())
        self.assertEqual(c.ping(), "PONG")
        self.assertEqual(c.connected_to, self.cl.addr(self.leader))
        self.assertEqual(c.leader_addr, self.cl.addr(self.leader))

    def test_generic_kv(self):
        c = self.client(self.follower())
        self.assertTrue(c.set("model:active", "llama-3-8b"))
        self.assertEqual(c.get("model:active"), b"llama-3-8b")
        self.assertFalse(c.set("model:active", "qwen", ifeq="mistral"))
        self.assertTrue(c.set("model:active", "qwen", ifeq="llama-3-8b"))
        self.assertEqual(c.get(b"model:active"), b"qwen")
        self.assertIsNone(c.get("missing"))
        self.assertIsNone(c.mset({"a": 1, "b": b"\x00\xff"}))
        self.assertEqual(c.mget(["a", "b", "c"]), [b"1", b"\x00\xff", None])
        self.assertEqual(c.incr("a"), 2)
        self.assertEqual(c.exists("a", "b", "c"), 2)
        self.assertEqual(c.delete("a", "b", "c"), 2)
        with self.assertRaises(fabraft.ReplyError) as cm:
            c.incr("model:active")
        self.assertIn("not an integer", cm.exception.message)
        try:
            self.assertEqual(c.incrby("cnt", 5), 5)
            self.assertEqual(c.decrby("cnt", 2), 3)
            self.assertEqual(c.decr("cnt"), 2)
        except fabraft.ReplyError as e:
            self.assertIn("unknown command", e.message)
            print("\nINCRBY/DECRBY/DECR: not on this server yet "
                  f"({e.message[:40]}...)", file=sys.stderr)

    def test_kvcache_calls(self):
        c = self.client()
        ns = NS + ":calls"
        self.assertIsNone(c.node_add(11, "10.0.0.1:7000", 0,
                                     {"hbm": 8 << 20, "dram": 64 << 20}))
        self.assertIsNone(c.node_add(12, "10.0.0.2:7000", 1,
                                     [("dram", 64 << 20)], lease_ms=60000))
        nodes = {n.id: n for n in c.nodes()}
        self.assertEqual(nodes[11].addr, "10.0.0.1:7000")
        self.assertEqual([t.name for t in nodes[11].tiers], ["hbm", "dram"])
        self.assertEqual(nodes[11].tiers[0].capacity, 8 << 20)
        self.assertTrue(nodes[12].alive)
        self.assertGreater(nodes[12].lease_expiry_ms, 0)
        self.assertEqual(c.heartbeat(60000, 12), 1)

        created = c.put(ns, [
            Placement(H[0], None, 16, 11, "hbm", 0, 1 << 20),
            (H[1], H[0], 16, 11, "hbm", 1 << 20, 1 << 20),
            (H[1], H[0], 16, 12, "dram", 0, 1 << 20),
        ])
        self.assertEqual(created, 2)
        blocks = c.lookup(ns, [H[0], H[1], H[2]])
        self.assertEqual([b.hash for b in blocks], [H[0], H[1]])
        self.assertEqual(blocks[0].tokens, 16)
        loc = blocks[1].locations
        self.assertEqual({(x.node, x.tier) for x in loc},
                         {(11, "hbm"), (12, "dram")})
        self.assertEqual(next(x for x in loc if x.node == 12).addr,
                         "10.0.0.2:7000")
        self.assertEqual(c.lookup(ns, [H[1]]), [])  # not a root
        self.assertEqual(len(c.lookup(ns, [H[0]], touch=True)), 1)

        self.assertEqual(c.pin(ns, 30000, [H[0], H[1]]), 2)
        self.assertEqual(c.unpin(ns, [H[1]]), 1)

        res = c.alloc(ns, [1 << 20, 1 << 20], near=12, lease_ms=5000)
        self.assertEqual(len(res), 2)
        self.assertIsInstance(res[0], fabraft.Reservation)
        self.assertEqual((res[0].node, res[0].tier), (12, "dram"))
        self.assertEqual(res[0].bytes, 1 << 20)
        self.assertEqual(c.put_reserved(ns, [
            ReservedPut(res[0].rid, H[2], H[1], 16, 4 << 20)]), 1)
        self.assertEqual(c.revoke(res[1].rid), 1)
        self.assertEqual(c.revoke(res[1].rid), 0)
        self.assertEqual(len(c.lookup(ns, H[:3])), 3)
        bad = c.alloc(ns, [(1 << 32) - 1])
        self.assertIsInstance(bad[0], fabraft.ReplyError)

        self.assertEqual(c.evict(ns, [H[2]], at=(12, "dram")), 1)
        self.assertEqual(len(c.lookup(ns, H[:3])), 2)
        st = c.stats()
        self.assertGreaterEqual(st["blocks"], 2)
        self.assertIn("bytes_used", st)
        d = c.digest()
        self.assertEqual(len(d), 16)
        int(d, 16)
        self.assertEqual(c.evict(ns, [H[1]]), 1)
        self.assertEqual(c.ns_delete(ns), 1)
        self.assertEqual(c.lookup(ns, [H[0]]), [])
        self.assertEqual(c.node_del(11, 12), 2)
        # every replica has the same state
        for i in range(1, 4):
            self.wait_digest(i, c.digest())

    def wait_digest(self, node, want):
        """Until node's INFO kvc_digest (its own replica) equals want."""
        t_end = time.monotonic() + 5
        got = None
        while time.monotonic() < t_end:
            got = (fabcluster.info(self.cl.addr(node), section="all") or
                   {}).get("kvc_digest")
            if got == want:
                return
            time.sleep(0.05)
        self.assertEqual(got, want)

    def test_server_errors(self):
        c = self.client()
        with self.assertRaises(fabraft.ReplyError) as cm:
            c.put(NS, [(H[0], None, 16, 99, "hbm", 0, 1)])
        self.assertIn("unknown node 99", cm.exception.message)
        with self.assertRaises(fabraft.ReplyError) as cm:
            c.node_add(13, "x", 0, {"ssd": 1})
        self.assertIn("unknown tier", cm.exception.message)
        with self.assertRaises(fabraft.ReplyError):
            c.execute_command("NOSUCHCOMMAND", "x")
        with self.assertRaises(ValueError):
            c.lookup(NS, [bytes(33)])

    def test_int_hashes(self):
        c = self.client()
        if not ints_supported(c):
            self.skipTest("server refuses i:N hashes (spec S1 not merged)")
        c.node_add(21, "h", 0, {"dram": 1 << 20})
        self.addCleanup(c.node_del, 21)
        ns = NS + ":ints"
        c.put(ns, [(7, None, 16, 21, "dram", 0, 10),
                   (-1, 7, 16, 21, "dram", 10, 10),
                   (b"\x01\x02", -1, 16, 21, "dram", 20, 10)])
        bl = c.lookup(ns, [fabraft.hash_bytes(7), -1, b"\x01\x02"])
        self.assertEqual([b.hash for b in bl],
                         [bytes(7) + b"\x07", b"\xff" * 8, b"\x01\x02"])
        self.assertEqual(c.lookup(ns, [b"\x07"]), [])  # not the same hash
        c.ns_delete(ns)

    def test_pipeline(self):
        c = self.client(self.follower())
        p = c.pipeline()
        for i in range(50):
            p.set(f"p{i}", i)
        p.get("p7").mget(["p1", "p2"]).exists("p1", "zz")
        res = p.execute()
        self.assertEqual(res[:50], [True] * 50)
        self.assertEqual(res[50:], [b"7", [b"1", b"2"], 1])


class MovedTest(unittest.TestCase):
    """forward = off: followers answer -MOVED, which the client follows."""

    @classmethod
    def setUpClass(cls):
        cls.cl = fabcluster.Cluster(3, forward=False)
        cls.leader = cls.cl.leader()

    @classmethod
    def tearDownClass(cls):
        cls.cl.stop()

    def test_moved_after_transfer(self):
        c = fabraft.Client(self.cl.endpoints())
        self.addCleanup(c.close)
        self.assertTrue(c.set("k", "1"))
        old = self.leader
        self.assertEqual(c.connected_to, self.cl.addr(old))
        target = old % 3 + 1
        self.assertEqual(c.execute_command("RAFT.TRANSFER", str(target)),
                         "OK")
        new = self.cl.leader(skip=())
        self.assertEqual(new, target)
        # the old connection is to a follower now: MOVED, then the leader
        before = fabcluster.info(self.cl.addr(old))
        self.assertTrue(c.set("k", "2"))
        self.assertEqual(c.connected_to, self.cl.addr(new))
        self.assertEqual(c.get("k"), b"2")
        self.assertEqual(before["role"], "follower")

    def test_moved_raw(self):
        """What the server sends, so the test above exercises MOVED."""
        lead = self.cl.leader()
        f = lead % 3 + 1
        conn = fabraft.resp.Connection(self.cl.addr(f), 2)
        conn.send(fabraft.resp.encode_command(("SET", "x", "1")))
        r = conn.read_reply()
        conn.close()
        self.assertIsInstance(r, fabraft.ReplyError)
        self.assertEqual(r.message, f"MOVED 0 {self.cl.addr(lead)}")


class FailoverTest(unittest.TestCase):
    def test_writes_across_leader_kill(self):
        cl = fabcluster.Cluster(3)
        self.addCleanup(cl.stop)
        old = cl.leader()
        c = fabraft.Client(cl.endpoints(), timeout=2, deadline=20)
        self.addCleanup(c.close)
        stop = threading.Event()
        acked, unknown, errors = [], [], []

        def writer():
            i = 0
            while not stop.is_set():
                try:
                    self.assertTrue(c.set(f"w{i}", str(i)))
                    acked.append(i)
                    c.incr("counter")
                    acked.append(-1)
                except fabraft.OutcomeUnknown:
                    unknown.append(i)
                except Exception as e:  # noqa: BLE001 - recorded, checked
                    errors.append(e)
                i += 1
        t = threading.Thread(target=writer)
        t.start()
        time.sleep(0.5)
        cl.kill(old)
        t0 = time.monotonic()
        new = cl.leader(skip=(old,))
        n_at_kill = len(acked)
        time.sleep(1.0)
        stop.set()
        t.join(30)
        self.assertEqual(errors, [])
        self.assertNotEqual(new, old)
        self.assertGreater(len(acked), n_at_kill)  # writes went on
        print(f"\nfailover: new leader {new} after "
              f"{time.monotonic() - t0:.2f} s, {len(acked)} acked, "
              f"{len(unknown)} OutcomeUnknown", file=sys.stderr)
        c2 = fabraft.Client([cl.addr(new)])
        self.addCleanup(c2.close)
        for i in [a for a in acked if a >= 0]:
            self.assertEqual(c2.get(f"w{i}"), str(i).encode())
        incrs = acked.count(-1)
        got = int(c2.get("counter") or 0)
        self.assertGreaterEqual(got, incrs)
        self.assertLessEqual(got, incrs + len(unknown))


class AuthTest(unittest.TestCase):
    def test_password(self):
        cl = fabcluster.Cluster(1, password="s3cret")
        self.addCleanup(cl.stop)
        cl.leader()
        ok = fabraft.Client(cl.endpoints(), password="s3cret")
        self.addCleanup(ok.close)
        self.assertTrue(ok.set("a", "b"))
        for pw in (None, "wrong"):
            c = fabraft.Client(cl.endpoints(), password=pw, deadline=2)
            self.addCleanup(c.close)
            with self.assertRaises(fabraft.AuthError):
                c.get("a")


if __name__ == "__main__":
    unittest.main()
