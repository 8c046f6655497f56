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

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            if len(self.buf) - self.pos > 65536:
                self.close()
                raise ProtocolError("reply line longer than 64 KiB")
            self._fill()

    def _int(self, s):
        try:
            return int(s)
        except ValueError:
            self.close()
            raise ProtocolError(f"bad number in reply: {s[:40]!r}") from None

    def read_reply(self, depth=0):
        """Read one whole reply (blocking, the socket's timeout applies)."""
        line = self._line()
        if not line:
            self.close()
            raise ProtocolError("empty reply line")
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode("utf-8", "replace")
        if t == b"-":
            return ReplyError(rest.decode("utf-8", "replace"))
        if t == b":":
            return self._int(rest)
        if t == b"$":
            n = self._int(rest)
            if n == -1:
                return None
            if not 0 <= n <= _BULK_MAX:
                self.close()
                raise ProtocolError(f"bulk length {n} out of range")
            while len(self.buf) - self.pos < n + 2:
                self._fill()
            data = bytes(self.buf[self.pos:self.pos + n])
            if self.buf[self.pos + n:self.pos + n + 2] != b"\r\n":
                self.close()
                raise ProtocolError("bulk string not followed by CRLF")
            self.pos += n + 2
            return data
        if t == b"*":
            n = self._int(rest)
            if n == -1:
                return None
            if not 0 <= n <= _ARRAY_MAX or depth >= _DEPTH_MAX:
                self.close()
                raise ProtocolError(f"array length {n} out of range")
            return [self.read_reply(depth + 1) for _ in range(n)]
        self.close()
        raise ProtocolError(f"unknown reply type {t!r}")
