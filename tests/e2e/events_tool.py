#!/usr/bin/python3
"""events_tool.py — KV event feed helpers for e2e_events.sh (stdlib only).

  write PORTS STOPFILE SEED [PAUSE_MS]
                                 store and evict blocks through every node
                                 until STOPFILE exists
  follow PORTS STOPFILE OUTFILE [FROM_SEQ]
                                 list the state with KVC.SCAN (or start at
                                 FROM_SEQ with nothing; RESYNC lists), follow
                                 KVC.EVENTS from the first page's seq through
                                 whatever node answers, and once STOPFILE
                                 exists and the feed is drained, check: no
                                 gap or duplicate seq, log indices
                                 non-decreasing, the state rebuilt from the
                                 listing and the events equals a final
                                 KVC.SCAN listing.  Writes a summary line.

PORTS is a comma-separated list of client ports on 127.0.0.1.
"""
import os
import random
import socket
import sys
import time


class Err(Exception):
    """A RESP error reply."""


def conn(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s, s.makefile("rb")


def call(c, *args):
    s, f = c
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    s.sendall(b"".join(out))
    return read(f)


def read(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        raise Err(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode()
    if t == b"*":
        return [read(f) for _ in range(int(rest))]
    raise ConnectionError("bad reply %r" % line)


class Any:
    """Calls through any node that answers, moving on after errors."""

    def __init__(self, ports):
        self.ports = ports
        self.i = 0
        self.c = None

    def call(self, *args, retry_errors=True):
        for _ in range(600):
            try:
                if self.c is None:
                    self.c = conn(self.ports[self.i])
                return call(self.c, *args)
            except Err as e:
                if not retry_errors or str(e).startswith("RESYNC"):
                    raise
                self.next()
            except (OSError, ConnectionError):
                self.next()
        raise RuntimeError("no node answered %r" % (args,))

    def next(self):
        if self.c is not None:
            self.c[0].close()
        self.c = None
        self.i = (self.i + 1) % len(self.ports)
        time.sleep(0.02)


def h(n):
    return "%032x" % n


def write(ports, stop, seed, pause_ms=0):
    rnd = random.Random(seed)
    a = Any(ports)
    n = 0
    while not os.path.exists(stop):
        b = rnd.randrange(1, 400)
        ns = "m%d" % rnd.randrange(2)
        c = rnd.randrange(10)
        if c < 6:
            args = ["KVC.PUT", ns]
            for k in range(rnd.randrange(1, 4)):
                bb = b + k
                args += [h(bb), "-" if bb % 8 == 1 else h(bb - 1), bb,
                         rnd.randrange(1, 3), rnd.choice(["hbm", "dram"]),
                         rnd.randrange(1000), rnd.randrange(1, 100)]
        elif c < 9:
            args = ["KVC.EVICT", ns, h(b), h(b + 1)]
        else:
            args = ["KVC.EVICT", ns, h(b), "AT", rnd.randrange(1, 3),
                    rnd.choice(["hbm", "dram"])]
        try:
            a.call(*args, retry_errors=False)
            n += 1
        except Err:
            a.next()  # not committed here (TRYAGAIN, no leader): elsewhere
        time.sleep(pause_ms / 1000.0)
    print("writer %d: %d writes acknowledged" % (seed, n))


class Model:
    """Blocks as (ns, hash) -> [attrs, {(node, tier): (offset, len)}]."""

    def __init__(self):
        self.b = {}

    def scan_block(self, blk):
        ns, hs, parent, tokens, locs = blk
        m = self.b.setdefault((ns, hs), [None, {}])
        m[0] = (parent, tokens)
        for node, _addr, tier, off, ln in locs:
            m[1][(node, tier)] = (off, ln)

    def event(self, e):
        t, f = e[2], e[3:]
        if t == "stored":
            m = self.b.setdefault((f[0], f[1]), [None, {}])
            m[0] = (f[7], f[6])
            m[1][(f[2], f[3])] = (f[4], f[5])
        elif t == "evicted":
            m = self.b.get((f[0], f[1]))
            if m is not None:
                m[1].pop((f[2], f[3]), None)
        elif t in ("node_left", "node_expired"):
            for m in self.b.values():
                for k in [k for k in m[1] if k[0] == f[0]]:
                    del m[1][k]
        elif t == "ns_cleared":
            for k in [k for k in self.b if k[0] == f[0]]:
                del self.b[k]

    def lines(self):
        out = []
        for (ns, hs), (attrs, locs) in self.b.items():
            for (node, tier), (off, ln) in locs.items():
                out.append("%s %s %s %s %d %s %d %d" %
                           (ns, hs, attrs[0], attrs[1], node, tier, off, ln))
        return sorted(out)


def scan(a, model):
    """Every page of KVC.SCAN * into model; the first page's seq."""
    cursor, seq0 = 0, None
    while True:
        nxt, seq, blocks = a.call("KVC.SCAN", "*", cursor, "COUNT", 100)
        seq0 = seq if seq0 is None else seq0
        for b in blocks:
            model.scan_block(b)
        cursor = int(nxt)
        if cursor == 0:
            return seq0


def follow(ports, stop, outfile, start=None):
    """start: follow from this seq with an empty state (from seq 1 on a
    fresh cluster); None: list the state first.  A RESYNC error lists the
    state again and follows from there."""
    a = Any(ports)
    model = Model()
    frm = start if start is not None else scan(a, model)
    first, events, last_index, drained, resyncs = frm, 0, 0, 0, 0
    while drained < 3:
        try:
            nxt, evs = a.call("KVC.EVENTS", frm, "COUNT", 500)
        except Err as e:
            if not str(e).startswith("RESYNC oldest kept seq is ") or \
                    resyncs >= 1000:
                raise
            resyncs += 1
            model = Model()
            frm = scan(a, model)
            last_index = 0
            continue
        for j, e in enumerate(evs):
            if e[0] != frm + j:
                sys.exit("FAIL: event seq %d where %d was due" %
                         (e[0], frm + j))
            if e[1] < last_index:
                sys.exit("FAIL: seq %d has index %d after index %d" %
                         (e[0], e[1], last_index))
            last_index = e[1]
            model.event(e)
        events += len(evs)
        if nxt != frm + len(evs):
            sys.exit("FAIL: next_seq %d after %d events from %d" %
                     (nxt, len(evs), frm))
        frm = nxt
        if os.path.exists(stop) and not evs:
            drained += 1
            time.sleep(0.3)
        elif not evs:
            time.sleep(0.01)
    final = Model()
    if scan(a, final) != frm:
        sys.exit("FAIL: the state changed after the writers stopped")
    got, want = model.lines(), final.lines()
    if got != want:
        sys.exit("FAIL: rebuilt state differs from KVC.SCAN: %d vs %d "
                 "locations; first differences %s" %
                 (len(got), len(want),
                  sorted(set(got) ^ set(want))[:4]))
    msg = ("followed %d events (seq %d..%d), %d resyncs, %d locations "
           "rebuilt equal to KVC.SCAN" %
           (events, first, frm - 1, resyncs, len(want)))
    with open(outfile, "w") as f:
        f.write(msg + "\n")
    print(msg)


def main():
    mode, ports = sys.argv[1], [int(p) for p in sys.argv[2].split(",")]
    if mode == "write":
        write(ports, sys.argv[3], int(sys.argv[4]),
              int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    elif mode == "follow":
        follow(ports, sys.argv[3], sys.argv[4],
               int(sys.argv[5]) if len(sys.argv) > 5 else None)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
