#!/usr/bin/python3
"""redis-py (Debian's python3-redis) against a real 3-node fabraft cluster.

Drives the ordinary redis-py API on 127.0.0.1, connected to the leader and
to a follower (which forwards to the leader): plain commands, INCRBY and
friends, pipelines with and without MULTI/EXEC, scan_iter and
execute_command('KVC.STATS').

Run by ctest (py_redis) as a script: FABRAFT_BIN names the directory of
fabraftd and fabraft.  Exits 77 (ctest: skipped) with the reason printed when
python3-redis or the binaries are missing.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import redis
except ImportError:  # pragma: no cover - reported as a skip
    redis = None

# The directory of fabraftd and fabraft: FABRAFT_BIN, or that of FABRAFTD.
BIN = os.environ.get("FABRAFT_BIN") or os.path.dirname(
    os.environ.get("FABRAFTD", ""))


def why_skip():
    """The reason this test cannot run here, or None."""
    if redis is None:
        return ("python3-redis is not installed "
                "(tools/scripts/setup.sh installs it)")
    for prog in ("fabraftd", "fabraft"):
        if not os.access(os.path.join(BIN, prog), os.X_OK):
            return "%s not found in FABRAFT_BIN=%r" % (prog, BIN)
    return None


def free_base():
    """A base port with 16 free ports above it (clients, then raft)."""
    for base in range(24000, 31000, 40):
        ok = True
        for p in range(base, base + 16):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


class Cluster:
    """fabraft cluster start/stop in a temporary directory."""

    def __init__(self, nodes=3):
        self.dir = tempfile.mkdtemp(prefix="fabraft-py.")
        self.nodes = nodes
        base = free_base()
        self.cport = base
        out = subprocess.run(
            [os.path.join(BIN, "fabraft"), "cluster", "start", "--nodes",
             str(nodes), "--dir", self.dir, "--client-port", str(base),
             "--raft-port", str(base + 8), "--provider", "tcp"],
            capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            self.stop()  # reports do not matter: it did not start
            raise RuntimeError("cluster start failed: " + out.stdout +
                               out.stderr)

    def port(self, i):
        return self.cport + i - 1

    def role(self, i):
        try:
            r = redis.Redis(port=self.port(i), socket_timeout=2)
            return r.info("replication").get("role")
        except redis.RedisError:
            return None

    def leader(self, timeout=10.0):
        t0 = time.time()
        while time.time() - t0 < timeout:
            for i in range(1, self.nodes + 1):
                if self.role(i) == "leader":
                    # and every node knows it
                    ids = set()
                    for j in range(1, self.nodes + 1):
                        r = redis.Redis(port=self.port(j), socket_timeout=2)
                        ids.add(r.info("replication").get("leader_id"))
                    if ids == {i}:
                        return i
            time.sleep(0.05)
        raise RuntimeError("no leader")

    def stop(self):
        """Stop the nodes; returns the sanitizer reports of their logs (a
        sanitizer build writes them at exit), as lib.sh checks them."""
        subprocess.run([os.path.join(BIN, "fabraft"), "cluster", "stop",
                        "--dir", self.dir], capture_output=True, timeout=60)
        reports = []
        for i in range(1, self.nodes + 1):
            try:
                with open(os.path.join(self.dir, "node%d.pid" % i)) as f:
                    os.kill(int(f.read().strip()), 9)
            except (OSError, ValueError):
                pass
            try:
                with open(os.path.join(self.dir, "node%d.log" % i),
                          errors="replace") as f:
                    reports += [line for line in f if any(
                        w in line for w in ("AddressSanitizer",
                                            "LeakSanitizer",
                                            "runtime error:"))]
            except OSError:
                pass
        if os.environ.get("KEEP") == "1":
            print("kept " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return reports


class RedisPy(unittest.TestCase):
    cluster = None

    @classmethod
    def setUpClass(cls):
        reason = why_skip()
        if reason is not None:  # run by unittest discovery, not main()
            raise unittest.SkipTest(reason)
        cls.cluster = Cluster(3)
        lead = cls.cluster.leader()
        follower = lead % 3 + 1
        # client_name and db make redis-py send CLIENT SETNAME and
        # SELECT 0 at connect, as applications do.
        cls.clients = {
            "leader": redis.Redis(port=cls.cluster.port(lead),
                                  client_name="py-leader", db=0,
                                  socket_timeout=10, decode_responses=True),
            "follower": redis.Redis(port=cls.cluster.port(follower),
                                    client_name="py-follower", db=0,
                                    socket_timeout=10,
                                    decode_responses=True),
        }

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            reports = cls.cluster.stop()
            if reports:
                raise AssertionError("sanitizer report in a node log:\n" +
                                     "".join(reports[:20]))

    def each(self):
        for name, r in self.clients.items():
            with self.subTest(node=name):
                yield name, r

    def test_plain_commands(self):
        for name, r in self.each():
            k = "plain:" + name
            self.assertTrue(r.set(k, "v"))
            self.assertEqual(r.get(k), "v")
            self.assertEqual(r.incr(k + ":n"), 1)
            self.assertEqual(r.incr(k + ":n", 5), 6)
            self.assertEqual(r.incrby(k + ":n", 10), 16)
            self.assertEqual(r.decr(k + ":n"), 15)
            self.assertEqual(r.decr(k + ":n", 3), 12)
            self.assertEqual(r.decrby(k + ":n", 2), 10)
            self.assertEqual(r.incrby(k + ":n", -20), -10)
            self.assertTrue(r.mset({k + ":a": "1", k + ":b": "2"}))
            self.assertEqual(r.mget([k + ":a", k + ":b", k + ":c"]),
                             ["1", "2", None])
            self.assertEqual(r.exists(k, k + ":a", k + ":zz"), 2)
            self.assertEqual(r.delete(k, k + ":a", k + ":zz"), 2)
            self.assertIsNone(r.get(k))
            self.assertEqual(r.type(k + ":b"), "string")
            self.assertEqual(r.type(k), "none")
            self.assertGreaterEqual(r.dbsize(), 2)
            self.assertEqual(r.client_getname(), "py-" + name)
            self.assertTrue(r.ping())
            self.assertEqual(r.echo("hi"), "hi")

    def test_connection_niceties(self):
        for name, r in self.each():
            self.assertIsInstance(r.client_id(), int)
            self.assertEqual(r.client_info()["name"], "py-" + name)
            hello = r.execute_command("HELLO", "2")
            self.assertEqual(dict(zip(hello[::2], hello[1::2]))["proto"], 2)
            with self.assertRaisesRegex(redis.ResponseError, "NOPROTO"):
                r.execute_command("HELLO", "3")
            self.assertEqual(r.command_count(), 0)
            self.assertEqual(r.config_get("databases"), {"databases": "1"})
            with self.assertRaisesRegex(redis.ResponseError,
                                        "not supported"):
                r.execute_command("WATCH", "a")

    def test_incr_errors(self):
        for name, r in self.each():
            k = "err:" + name
            r.set(k, "abc")
            with self.assertRaisesRegex(redis.ResponseError,
                                        "not an integer or out of range"):
                r.incr(k)
            r.set(k, str(2**63 - 1))
            with self.assertRaisesRegex(redis.ResponseError, "overflow"):
                r.incrby(k, 1)
            self.assertEqual(r.get(k), str(2**63 - 1))

    def test_pipeline_transaction(self):
        for name, r in self.each():
            k = "tx:" + name
            p = r.pipeline(transaction=True)
            p.set(k, "1").incr(k).incrby(k, 5).get(k).mget([k, k + ":x"])
            self.assertEqual(p.execute(), [True, 2, 7, "7", ["7", None]])
            # Only reads: served like a read, one state for all.
            p = r.pipeline(transaction=True)
            p.get(k).exists(k)
            self.assertEqual(p.execute(), ["7", 1])
            # A runtime error of one command does not undo the others.
            r.set(k + ":s", "abc")
            p = r.pipeline(transaction=True)
            p.incr(k).incr(k + ":s").incr(k)
            res = p.execute(raise_on_error=False)
            self.assertEqual(res[0], 8)
            self.assertIsInstance(res[1], redis.ResponseError)
            self.assertEqual(res[2], 9)
            # A command refused while queueing discards the transaction.
            p = r.pipeline(transaction=True)
            p.set(k, "100").execute_command("SET", k)
            with self.assertRaises(redis.ResponseError):
                p.execute()
            self.assertEqual(r.get(k), "9")

    def test_multi_across_leader_change(self):
        """A MULTI queue held on a follower while leadership moves to the
        third node: EXEC still applies it whole, at the new leader."""
        lead = self.cluster.leader()
        fol = lead % 3 + 1
        third = 6 - lead - fol
        c = redis.Connection(port=self.cluster.port(fol), socket_timeout=10)
        try:
            c.send_command("MULTI")
            self.assertEqual(c.read_response(), b"OK")
            for cmd in (("SET", "xl:a", "1"), ("INCRBY", "xl:a", "4"),
                        ("MSET", "xl:b", "2", "xl:c", "3")):
                c.send_command(*cmd)
                self.assertEqual(c.read_response(), b"QUEUED")
            admin = redis.Redis(port=self.cluster.port(lead),
                                socket_timeout=10)
            for _ in range(5):
                try:
                    admin.execute_command("RAFT.TRANSFER", str(third))
                except redis.ResponseError:
                    pass  # -BUSY while one is in progress: wait, retry
                try:
                    if self.cluster.leader(timeout=3.0) == third:
                        break
                except RuntimeError:
                    pass
            self.assertEqual(self.cluster.leader(), third)
            c.send_command("EXEC")
            self.assertEqual(c.read_response(), [b"OK", 5, b"OK"])
        finally:
            c.disconnect()
        r = self.clients["leader"]
        self.assertEqual(r.mget(["xl:a", "xl:b", "xl:c"]), ["5", "2", "3"])

    def test_pipeline_plain(self):
        for name, r in self.each():
            k = "pl:" + name
            p = r.pipeline(transaction=False)
            for i in range(200):
                p.set("%s:%d" % (k, i), str(i))
            p.incrby(k + ":n", 3)
            p.get(k + ":199")
            res = p.execute()
            self.assertEqual(res[:200], [True] * 200)
            self.assertEqual(res[200:], [3, "199"])

    def test_scan_iter(self):
        want = set()
        r = self.clients["leader"]
        for i in range(500):
            want.add("user:%d" % i)
        r.mset({k: "x" for k in want})
        r.mset({"other:%d" % i: "y" for i in range(50)})
        for name, c in self.each():
            got = list(c.scan_iter(match="user:*"))
            self.assertEqual(len(got), len(set(got)))
            self.assertEqual(set(got), want)
            got = set(c.scan_iter(match="user:1?", count=1000))
            self.assertEqual(got, {"user:1%d" % d for d in range(10)})
            self.assertEqual(set(c.scan_iter(match="user:*",
                                             _type="list")), set())

    def test_kvc_stats(self):
        for name, r in self.each():
            stats = r.execute_command("KVC.STATS")
            d = dict(zip(stats[::2], stats[1::2]))
            self.assertIn("blocks", d)
            self.assertGreaterEqual(int(d["kv_keys"]), 1)


def main():
    reason = why_skip()
    if reason is not None:
        print("SKIP: " + reason)
        return 77
    prog = unittest.main(exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
