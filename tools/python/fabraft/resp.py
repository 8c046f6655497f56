"""A minimal RESP2 connection over a TCP socket (no third-party code).

Replies decode to Python values: simple string -> ``str``, error ->
``ReplyError`` (returned, not raised, so a pipeline keeps its other
replies), integer -> ``int``, bulk string -> ``bytes`` (``None`` for a nil
bulk), array -> ``list`` (``None`` for a nil array).
"""

import socket

from .errors import ProtocolError, ReplyError

__all__ = ["Connection", "encode_command", "parse_addr"]

# Bounds on what one reply may declare: the server's own limits are far
# below these (reply-bytes-max is 16 MiB by default); they only stop a
# corrupt stream from making the client allocate without end.
_BULK_MAX = 1 << 30
_ARRAY_MAX = 1 << 24
_DEPTH_MAX = 16


def _arg_bytes(a):
    if isinstance(a, bytes):
        return a
    if isinstance(a, str):
        return a.encode("utf-8")
    if isinstance(a, bool):
        raise TypeError("bool is not a valid command argument")
    if isinstance(a, int):
        return str(a).encode("ascii")
    if isinstance(a, (bytearray, memoryview)):
        return bytes(a)
    raise TypeError(f"command argument of type {type(a).__name__}: "
                    "use bytes, str or int")


def encode_command(args):
    """The RESP2 multibulk encoding of one command (a sequence of
    bytes/str/int arguments)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = _arg_bytes(a)
        out.append(b"$%d\r\n" % len(b))
        out.append(b)
        out.append(b"\r\n")
    return b"".join(out)


def parse_addr(addr):
    """``"host:port"`` -> ``(host, port)``; ValueError when malformed."""
    if not isinstance(addr, str):
        raise TypeError("an endpoint is a 'host:port' string")
    host, sep, port = addr.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"endpoint {addr!r} is not host:port")
    p = int(port)
    if not 0 < p < 65536:
        raise ValueError(f"endpoint {addr!r}: port must be 1..65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, p


class Connection:
    """One socket to one fabraft node. Not thread-safe."""

    def __init__(self, addr, timeout):
        self.addr = addr
        host, port = parse_addr(addr)
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    def __del__(self):
        self.close()

    def close(self):
        if getattr(self, "sock", None) is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        if self.pos > 0 and self.pos == len(self.buf):
            self.buf.clear()
            self.pos = 0
        elif self.pos > 65536:
            del self.buf[:self.pos]
            self.pos = 0
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError(f"{self.addr} closed the connection")
        self.buf += chunk

    def _fail(self, why):
        self.close()
        raise ProtocolError(why)

    def read_reply(self):
        """Read one whole reply (blocking, the socket's timeout applies).

        Iterative: arrays are filled through an explicit stack, and a
        reply that arrives in pieces is resumed where it stopped (the
        position only moves past complete items)."""
        try:
            return self._read()
        except ValueError:
            self._fail("bad number in a reply")

    def _read(self):
        """read_reply() without the number check (int() raises)."""
        stack = []  # [list being filled, items still missing]
        while True:
            buf = self.buf
            pos = self.pos
            i = buf.find(b"\r\n", pos)
            if i < 0:
                if len(buf) - pos > 65536:
                    self._fail("reply line longer than 64 KiB")
                self._fill()
                continue
            t = buf[pos]
            if t == 36:  # $ bulk string
                n = int(buf[pos + 1:i])
                if n == -1:
                    v = None
                    self.pos = i + 2
                else:
                    if not 0 <= n <= _BULK_MAX:
                        self._fail(f"bulk length {n} out of range")
                    end = i + 2 + n
                    if len(buf) < end + 2:
                        self._fill()
                        continue
                    if buf[end:end + 2] != b"\r\n":
                        self._fail("bulk string not followed by CRLF")
                    v = bytes(buf[i + 2:end])
                    self.pos = end + 2
            elif t == 42:  # * array
                n = int(buf[pos + 1:i])
                self.pos = i + 2
                if n > 0:
                    if n > _ARRAY_MAX or len(stack) >= _DEPTH_MAX:
                        self._fail(f"array length {n} or depth out of "
                                   "range")
                    stack.append([[], n])
                    continue
                if n < -1:
                    self._fail(f"array length {n} out of range")
                v = None if n == -1 else []
            elif t == 58:  # : integer
                v = int(buf[pos + 1:i])
                self.pos = i + 2
            elif t == 43:  # + simple string
                v = buf[pos + 1:i].decode("utf-8", "replace")
                self.pos = i + 2
            elif t == 45:  # - error
                v = ReplyError(buf[pos + 1:i].decode("utf-8", "replace"))
                self.pos = i + 2
            else:
                self._fail(f"unknown reply type {bytes(buf[pos:pos + 1])!r}")
            while stack:
                top = stack[-1]
                top[0].append(v)
                top[1] -= 1
                if top[1]:
                    break
                v = stack.pop()[0]
            else:
                return v

