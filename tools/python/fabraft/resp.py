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
        position only moves past complete items). Large arrays take a
        faster path first (_fast_array) when they are wholly buffered."""
        if self.pos == len(self.buf):
            self._fill()  # nothing buffered: at least one byte is needed
        if self.buf[self.pos] == 42:
            box = self._fast_array()
            if box is not None:
                return box[0]
        try:
            return self._read()
        except ValueError:
            self._fail("bad number in a reply")

    def _fast_array(self):
        """An array reply parsed from lines split in C (bytes.split), in
        a window that doubles until the reply fits. Returns ``[value]``,
        or None to leave the reply to the general parser: still not
        wholly buffered after three more receives, a bulk string
        containing CRLF, or anything malformed (which the general parser
        then reports)."""
        window = 4096
        fills = 0
        while True:
            buf = self.buf
            pos = self.pos
            end = min(len(buf), pos + window)
            lines = bytes(buf[pos:end]).split(b"\r\n")
            r = _parse_lines(lines)
            if r is None:
                return None
            if r is not _MORE:
                self.pos = pos + r[1]
                return [r[0]]
            if end < len(buf):
                window *= 2
            elif fills < 3:  # the reply is not all here: wait for more
                self._fill()
                fills += 1
            else:  # a long reply in many pieces: the resumable parser
                return None

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



_MORE = object()  # _parse_lines: the reply goes on past the lines given


def _parse_lines(lines):
    """Parse one reply from ``lines`` (the last one is a fragment that
    is not used). Returns (value, bytes used), _MORE, or None when the
    general parser must decide (a bulk string with CRLF inside, a bad
    number or type, a bound passed)."""
    k = 0
    off = 0
    full = len(lines) - 1
    stack = []
    try:
        while True:
            if k >= full:
                return _MORE
            line = lines[k]
            k += 1
            off += len(line) + 2
            if not line:
                return None
            t = line[0]
            if t == 36:
                n = int(line[1:])
                if n == -1:
                    v = None
                else:
                    if k >= full:
                        return _MORE
                    v = lines[k]
                    if len(v) != n:
                        return None
                    k += 1
                    off += n + 2
            elif t == 58:
                v = int(line[1:])
            elif t == 42:
                n = int(line[1:])
                if n > 0:
                    if n > _ARRAY_MAX or len(stack) >= _DEPTH_MAX:
                        return None
                    stack.append([[], n])
                    continue
                if n == 0:
                    v = []
                elif n == -1:
                    v = None
                else:
                    return None
            elif t == 43:
                v = line[1:].decode("utf-8", "replace")
            elif t == 45:
                v = ReplyError(line[1:].decode("utf-8", "replace"))
            else:
                return None
            while stack:
                top = stack[-1]
                top[0].append(v)
                top[1] -= 1
                if top[1]:
                    break
                v = stack.pop()[0]
            else:
                return v, off
    except ValueError:
        return None
