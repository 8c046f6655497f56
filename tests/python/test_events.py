"""The event feed (spec S2) through the Python client: KVC.EVENTS parsing,
KVC.SCAN paging, follow() across a leader kill -9 (no gap, no duplicate)
and the RESYNC protocol. Skips, saying why, on a server without
KVC.EVENTS."""

import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))

import fabcluster  # noqa: E402
import fabraft  # noqa: E402

NS = "ev-model:bf16:bs16"


def h(i):
    return (i + 1).to_bytes(16, "big")


def feed_missing(c):
    """None when the server has KVC.EVENTS, else the reason to skip."""
    try:
        c.events(1, count=1)
        return None
    except fabraft.ResyncRequired:
        return None
    except fabraft.ReplyError as e:
        if "unknown command" in e.message:
            return f"server has no KVC.EVENTS yet ({e.message[:50]}...)"
        return None


def next_seq(c):
    return c.scan_blocks("*", 0, 1)[1]


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cl = fabcluster.Cluster(3)
        cls.cl.leader()
        cls.c = fabraft.Client(cls.cl.endpoints(), deadline=20)
        why = feed_missing(cls.c)
        if why:
            cls.c.close()
            cls.cl.stop()
            raise unittest.SkipTest(why)
        cls.c.node_add(1, "10.0.0.1:7000", 0, {"dram": 1 << 30})

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.cl.stop()

    def test_event_types(self):
        c = self.c
        start = next_seq(c)
        c.node_add(2, "10.0.0.2:7000", 0, {"hbm": 1 << 20})
        c.put(NS, [(h(0), None, 16, 1, "dram", 0, 100),
                   (h(1), h(0), 16, 1, "dram", 100, 100)])
        c.evict(NS, [h(1)], at=(1, "dram"))
        r = c.alloc(NS, [1000], near=2)[0]
        c.revoke(r.rid)
        c.ns_delete(NS)
        c.node_del(2)
        nxt, evs = c.events(start, count=100)
        self.assertEqual([e.seq for e in evs],
                         list(range(start, start + len(evs))))
        self.assertEqual(nxt, start + len(evs))
        types = [e.type for e in evs]
        self.assertEqual(types[:4], ["node_joined", "stored", "stored",
                                     "evicted"])
        self.assertIn("revoked", types)
        self.assertIn("ns_cleared", types)
        self.assertEqual(types[-1], "node_left")
        self.assertEqual(evs[0].get("node"), 2)
        st = evs[1]
        self.assertEqual((st.get("ns"), st.hash, st.get("node"),
                          st.get("tier"), st.get("offset"), st.get("len"),
                          st.get("tokens")),
                         (NS, h(0), 1, "dram", 0, 100, 16))
        self.assertEqual(evs[3].hash, h(1))
        if len(evs[2].fields) >= 8:  # the parent, where the server sends it
            self.assertIsNone(evs[1].parent)
            self.assertEqual(evs[2].parent, h(0))
        idx = [e.index for e in evs]
        self.assertEqual(idx, sorted(idx))
        # beyond the next seq: an error, not an empty answer
        with self.assertRaises(fabraft.ReplyError):
            c.events(nxt + 10)

    def test_scan_pages(self):
        c = self.c
        ns = NS + ":scan"
        c.put(ns, [(h(i), h(i - 1) if i else None, 16, 1, "dram", i * 10,
                    10) for i in range(10)])
        seq, blocks = c.scan_all(ns, count=3)
        self.assertEqual(sorted(b.hash for b in blocks),
                         sorted(h(i) for i in range(10)))
        root = next(b for b in blocks if b.hash == h(0))
        self.assertIsNone(root.parent)
        b5 = next(b for b in blocks if b.hash == h(5))
        self.assertEqual(b5.parent, h(4))
        self.assertEqual(b5.locations[0].offset, 50)
        self.assertGreater(seq, 0)
        c.ns_delete(ns)

    def test_follow_across_leader_kill(self):
        ns = NS + ":follow"
        wc = fabraft.Client(self.cl.endpoints(), timeout=2, deadline=30)
        fc = fabraft.Client(self.cl.endpoints(), timeout=2, deadline=30)
        self.addCleanup(wc.close)
        self.addCleanup(fc.close)
        start = next_seq(wc)
        got, done = [], threading.Event()
        end_hash = h(100000)

        def follower():
            for ev in fc.follow(start, max_outage_s=30, block_ms=200):
                got.append(ev)
                if ev.type == "stored" and ev.hash == end_hash:
                    done.set()
                    return
        t = threading.Thread(target=follower, daemon=True)
        t.start()
        acked = []
        old = self.cl.leader()
        for i in range(300):
            if i == 100:
                self.cl.kill(old)
            wc.put(ns, [(h(i), None, 16, 1, "dram", i, 1)])
            acked.append(h(i))
        self.cl.start(old)  # back as a follower for the other tests
        wc.put(ns, [(end_hash, None, 16, 1, "dram", 0, 1)])
        self.assertTrue(done.wait(30), "follow() did not reach the end")
        seqs = [e.seq for e in got]
        self.assertEqual(seqs, list(range(start, start + len(seqs))),
                         "gap or duplicate in the followed seqs")
        stored = {e.hash for e in got if e.type == "stored"}
        self.assertTrue(set(acked) <= stored)
        self.cl.leader()
        wc.ns_delete(ns)


class RouterView:
    """The router of docs/integration.md: (ns, hash) -> {(node, tier)}
    from a listing, then kept current by the feed."""

    def __init__(self):
        self.view = {}

    def load(self, seq, blocks):
        self.view = {(b.ns, b.hash): {(x.node, x.tier) for x in b.locations}
                     for b in blocks}

    def apply(self, ev):
        key = (ev.get("ns"), ev.hash)
        if ev.type == "stored":
            self.view.setdefault(key, set()).add((ev.get("node"),
                                                  ev.get("tier")))
        elif ev.type == "evicted":
            locs = self.view.get(key, set())
            locs.discard((ev.get("node"), ev.get("tier")))
            if not locs:
                self.view.pop(key, None)
        elif ev.type in ("node_left", "node_expired"):
            for k in list(self.view):
                self.view[k] = {x for x in self.view[k]
                                if x[0] != ev.get("node")}
                if not self.view[k]:
                    del self.view[k]
        elif ev.type == "ns_cleared":
            for k in [k for k in self.view if k[0] == ev.get("ns")]:
                del self.view[k]


class RouterTest(unittest.TestCase):
    def test_view_equals_listing(self):
        cl = fabcluster.Cluster(1)
        self.addCleanup(cl.stop)
        cl.leader()
        c = fabraft.Client(cl.endpoints())
        self.addCleanup(c.close)
        why = feed_missing(c)
        if why:
            self.skipTest(why)
        c.node_add(1, "n1", 0, {"dram": 1 << 20, "hbm": 1 << 20})
        c.node_add(2, "n2", 0, {"dram": 1 << 20})
        c.put("a", [(h(i), h(i - 1) if i else None, 16, 1, "dram", i, 1)
                    for i in range(5)])
        r = RouterView()
        seq, blocks = c.scan_all(count=2)
        r.load(seq, blocks)
        c.put("a", [(h(i), h(i - 1) if i else None, 16, 2, "dram", i, 1)
                    for i in range(3)])
        c.put("b", [(h(i), None, 16, 1, "hbm", i, 1) for i in range(4)])
        c.evict("a", [h(4)], at=(1, "dram"))
        c.evict("a", [h(0)])
        c.node_del(2)
        c.ns_delete("b")
        c.put("c", [(h(9), None, 16, 1, "hbm", 9, 1)])
        end = next_seq(c)
        for ev in c.follow(seq, on_resync=r.load):
            r.apply(ev)
            if ev.seq == end - 1:
                break
        _, now = c.scan_all()
        want = {(b.ns, b.hash): {(x.node, x.tier) for x in b.locations}
                for b in now}
        self.assertEqual(r.view, want)
        self.assertIn(("c", h(9)), want)


class ResyncTest(unittest.TestCase):
    def test_resync_runs_scan(self):
        cl = fabcluster.Cluster(1, extra=["kvc-events-max = 8"])
        self.addCleanup(cl.stop)
        try:
            cl.leader(timeout=5)
        except RuntimeError:
            if "kvc-events-max" in cl.tail_logs():
                self.skipTest("fabraftd does not know kvc-events-max yet")
            raise
        c = fabraft.Client(cl.endpoints())
        self.addCleanup(c.close)
        why = feed_missing(c)
        if why:
            self.skipTest(why)
        c.node_add(1, "n1", 0, {"dram": 1 << 20})
        for i in range(20):
            c.put(NS, [(h(i), None, 16, 1, "dram", i, 1)])
        with self.assertRaises(fabraft.ResyncRequired) as cm:
            c.events(1)
        self.assertIsNotNone(cm.exception.oldest_seq)
        self.assertGreater(cm.exception.oldest_seq, 1)
        listed = []

        def on_resync(seq, blocks):
            listed.append((seq, blocks))
            c.put(NS, [(h(50), None, 16, 1, "dram", 50, 1)])
        gen = c.follow(1, on_resync=on_resync)
        ev = next(gen)
        self.assertEqual(len(listed), 1)
        seq, blocks = listed[0]
        self.assertEqual({b.hash for b in blocks},
                         {h(i) for i in range(20)})
        self.assertEqual((ev.seq, ev.type, ev.hash), (seq, "stored", h(50)))
        with self.assertRaises(fabraft.ResyncRequired):
            next(c.follow(1))


if __name__ == "__main__":
    unittest.main()
