"""fabcluster.py - start local fabraftd clusters on 127.0.0.1 for the Python
client tests (the same config keys `fabraft cluster start` writes; see
tests/e2e/lib.sh). Each cluster lives in a fresh /tmp directory, removed
with its processes by stop() (KEEP=1 keeps the directory)."""

import atexit
import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "tools", "python"))

from fabraft.resp import Connection, encode_command  # noqa: E402

FABRAFTD = os.environ.get("FABRAFTD", "")
_LIVE = set()  # clusters not stopped yet: stopped at exit whatever happens


def _die_with_parent():
    """In the child before exec: SIGKILL when the test process dies (a
    ctest timeout must not leave daemons behind). PR_SET_PDEATHSIG = 1.
    The signal follows the *thread* that started the daemon: call
    Cluster() and start() from the main thread only."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


@atexit.register
def _stop_all():
    for c in list(_LIVE):
        c.stop()


def need_daemon():
    """Skip (with the reason printed by unittest -v) without a daemon."""
    if not FABRAFTD:
        raise unittest.SkipTest("FABRAFTD is not set (ctest sets it to "
                                "build/bin/fabraftd)")
    if not os.access(FABRAFTD, os.X_OK):
        raise unittest.SkipTest(f"{FABRAFTD} is not built")


def _port_free(p):
    for kind in (socket.SOCK_STREAM,):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            return False
        finally:
            s.close()
    return True


def pick_ports(n):
    """2n consecutive free ports (clients, then raft) in 10000..19999,
    below the ranges tests/e2e/lib.sh (20000..31999) and the kernel's
    ephemeral ports use."""
    for _ in range(100):
        base = 10000 + random.randrange(0, 490) * 20
        if all(_port_free(p) for p in range(base, base + 2 * n)):
            return base, base + n
    raise RuntimeError("no free ports")


def info(addr, password=None, timeout=1.0, section="replication"):
    """INFO (one section) of one node as a dict, or None if unreachable."""
    try:
        c = Connection(addr, timeout)
    except OSError:
        return None
    try:
        if password:
            c.send(encode_command(("AUTH", password)))
            c.read_reply()
        c.send(encode_command(("INFO", section)))
        r = c.read_reply()
        if not isinstance(r, bytes):
            return None
        out = {}
        for line in r.decode().splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                out[k] = v
        return out
    except OSError:
        return None
    finally:
        c.close()


class Cluster:
    """n fabraftd processes; node ids 1..n; client addresses addr(i)."""

    def __init__(self, n=3, password=None, forward=True, extra=None):
        need_daemon()
        self.procs = {}
        self.n = n
        self.password = password
        self.dir = tempfile.mkdtemp(prefix="fabraft-py.")
        self.cbase, self.rbase = pick_ports(n)
        self.procs = {}
        peers = ",".join(f"{i}=127.0.0.1:{self.rbase + i - 1}"
                         for i in range(1, n + 1))
        cpeers = ",".join(f"{i}=127.0.0.1:{self.cbase + i - 1}"
                          for i in range(1, n + 1))
        with open(os.path.join(self.dir, "secret"), "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(os.path.join(self.dir, "secret"), 0o600)
        cid = random.randrange(1, 1 << 62) | 1
        for i in range(1, n + 1):
            lines = [f"id = {i}", f"peers = {peers}",
                     f"client = {self.addr(i)}", f"client-peers = {cpeers}",
                     f"data-dir = {self.dir}/data{i}", "provider = tcp",
                     "fsync = off", f"cluster-id = {cid}",
                     f"secret-file = {self.dir}/secret"]
            if password:
                lines.append(f"requirepass = {password}")
            if not forward:
                lines.append("forward = off")
            lines += list(extra or [])
            with open(self.conf(i), "w") as f:
                f.write("\n".join(lines) + "\n")
        _LIVE.add(self)
        try:
            for i in range(1, n + 1):
                self.start(i)
        except BaseException:
            self.stop()
            raise

    def conf(self, i):
        return os.path.join(self.dir, f"node{i}.conf")

    def addr(self, i):
        return f"127.0.0.1:{self.cbase + i - 1}"

    def endpoints(self):
        return [self.addr(i) for i in range(1, self.n + 1)]

    def start(self, i):
        log = open(os.path.join(self.dir, f"node{i}.log"), "ab")
        self.procs[i] = subprocess.Popen(
            [FABRAFTD, "--config", self.conf(i)], stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        log.close()

    def kill(self, i, sig=signal.SIGKILL):
        p = self.procs.pop(i, None)
        if p is not None:
            p.send_signal(sig)
            p.wait(10)

    def leader(self, timeout=10.0, skip=()):
        """The node id that says it leads, once the running nodes agree on
        it; raises after ``timeout``."""
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            views = {}
            for i in self.procs:
                if i in skip:
                    continue
                v = info(self.addr(i), self.password)
                if v is not None:
                    views[i] = (v.get("role"), v.get("leader_id"),
                                v.get("term"))
            leaders = [i for i, v in views.items() if v[0] == "leader"]
            if len(leaders) == 1 and views and all(
                    v[1] == str(leaders[0]) for v in views.values()):
                return leaders[0]
            time.sleep(0.05)
        raise RuntimeError(f"no leader within {timeout} s; logs in "
                           f"{self.dir}: {self.tail_logs()}")

    def tail_logs(self, lines=8):
        out = []
        for i in range(1, self.n + 1):
            try:
                with open(os.path.join(self.dir, f"node{i}.log")) as f:
                    out.append(f"--- node{i}\n" +
                               "".join(f.readlines()[-lines:]))
            except OSError:
                pass
        return "\n".join(out)

    def stop(self):
        _LIVE.discard(self)
        for i in list(self.procs):
            self.kill(i)
        if os.environ.get("KEEP") == "1":
            print(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
