#!/usr/bin/env python3
"""mem_attack.py — the memory attacks of issue 15 against a fabraft node.

usage: mem_attack.py PORT PID ATTACK [PASSWORD]
  mget     one client sends `MGET big x1000` (a 9 KB request for a 1 GB
           reply; `big` must hold 1 MiB) and reads what comes back
  pings    four clients pipeline PINGs without reading (no AUTH)
  gets     four authenticated clients pipeline `GET big` without reading
Prints the daemon's peak and current RSS (/proc/PID/status VmHWM, VmRSS,
in MB) before, after the attack and after the clients left, as key=value
words.
"""
import socket
import sys
import time


def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0]) // 1024
    return out


def conn(port, pw=None):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    if pw:
        s.sendall(b"AUTH %s\r\n" % pw.encode())
        assert s.recv(64).startswith(b"+OK"), "AUTH failed"
    return s


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def flood(s, data, seconds):
    """Send @data again and again for @seconds; stop when the server
    closes.  Returns whether it closed the connection."""
    s.setblocking(False)
    end = time.time() + seconds
    while time.time() < end:
        try:
            s.send(data)
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            return True
    return False


def main():
    port, pid, attack = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    pw = sys.argv[4] if len(sys.argv) > 4 else None
    r = rss(pid)
    print(f"before_peak_rss_mb={r['VmHWM']} before_rss_mb={r['VmRSS']}")
    closed = 0
    if attack == "mget":
        s = conn(port, pw)
        s.sendall(cmd(b"MGET", *([b"big"] * 1000)))
        s.settimeout(30)
        head = s.recv(200)
        got = len(head)
        print("reply_head=%r" % head[:80].decode(errors="replace"))
        try:
            while got < 2 << 30:
                b = s.recv(1 << 20)
                if not b:
                    closed = 1
                    break
                got += len(b)
                if head.startswith(b"-"):
                    break
        except socket.timeout:
            pass
        print(f"reply_bytes={got}")
        socks = [s]
    else:
        socks = [conn(port, pw if attack == "gets" else None)
                 for _ in range(4)]
        one = b"PING\r\n" * 10000 if attack == "pings" else \
            cmd(b"GET", b"big") * 100
        end = time.time() + 8
        for s in socks:
            s.setblocking(False)
        alive = list(socks)
        while alive and time.time() < end:
            for s in list(alive):
                try:
                    s.send(one)
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    alive.remove(s)
                    closed += 1
            time.sleep(0.005)
    time.sleep(0.5)
    r = rss(pid)
    print(f"attack_peak_rss_mb={r['VmHWM']} attack_rss_mb={r['VmRSS']}")
    print(f"clients_closed={closed}")
    for s in socks:
        s.close()
    time.sleep(1.5)
    print(f"after_rss_mb={rss(pid)['VmRSS']}")


main()
