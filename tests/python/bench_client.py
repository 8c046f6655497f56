"""bench_client.py - what one call of the Python client costs (not a ctest
test): against a one-node fabraftd on 127.0.0.1, sequential GET and
16- and 64-block KVC.LOOKUP through fabraft.Client, the same requests pre-encoded
on a raw socket (the floor: server + loopback round trip), and GET in
pipelines of 100.

    FABRAFTD=build/bin/fabraftd python3 tests/python/bench_client.py [N]
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import fabcluster  # noqa: E402
import fabraft  # noqa: E402
from fabraft.resp import encode_command  # noqa: E402


def per_call(f, n):
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _ in range(n):
        f()
    wall = (time.perf_counter() - t0) / n * 1e6
    cpu = (time.process_time() - c0) / n * 1e6
    return wall, cpu


def raw(addr, req, n):
    host, port = addr.split(":")
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(req)
    first = s.recv(1 << 20)  # one reply, to learn its length
    size = len(first)

    def once():
        s.sendall(req)
        got = 0
        while got < size:
            got += len(s.recv(1 << 20))
    r = per_call(once, n)
    s.close()
    return r


def main():
    fabcluster.need_daemon()
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    cl = fabcluster.Cluster(1)
    try:
        cl.leader()
        addr = cl.addr(1)
        c = fabraft.Client([addr])
        c.set("k", "v" * 16)
        c.node_add(1, "10.0.0.1:7000", 0, {"dram": 1 << 30})
        h64 = [(i + 1).to_bytes(16, "big") for i in range(64)]
        c.put("bench", [(h, h64[i - 1] if i else None, 16, 1, "dram",
                         i * 4096, 4096) for i, h in enumerate(h64)])
        hs = h64[:16]
        assert len(c.lookup("bench", h64)) == 64
        rows = [
            ("GET, fabraft.Client", per_call(lambda: c.get("k"), n)),
            ("GET, raw socket", raw(addr, encode_command(("GET", "k")), n)),
            ("LOOKUP 16, fabraft.Client",
             per_call(lambda: c.lookup("bench", hs), n)),
            ("LOOKUP 16, raw socket",
             raw(addr, encode_command(["KVC.LOOKUP", "bench"] +
                                      [h.hex() for h in hs]), n)),
            ("LOOKUP 64, fabraft.Client",
             per_call(lambda: c.lookup("bench", h64), n // 4)),
            ("LOOKUP 64, raw socket",
             raw(addr, encode_command(["KVC.LOOKUP", "bench"] +
                                      [h.hex() for h in h64]), n // 4)),
        ]

        def pipe100():
            p = c.pipeline()
            for _ in range(100):
                p.get("k")
            p.execute()
        w, cpu = per_call(pipe100, max(1, n // 100))
        rows.append(("GET in pipelines of 100, per GET",
                     (w / 100, cpu / 100)))
        print(f"{'call':40} {'wall us':>9} {'client CPU us':>14}")
        for name, (w, cpu) in rows:
            print(f"{name:40} {w:9.1f} {cpu:14.1f}")
        c.close()
    finally:
        cl.stop()


if __name__ == "__main__":
    main()
