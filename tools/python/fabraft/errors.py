"""Exceptions raised by the fabraft client."""

__all__ = [
    "FabraftError",
    "ReplyError",
    "Unavailable",
    "AuthError",
    "ResyncRequired",
    "OutcomeUnknown",
    "ProtocolError",
]


class FabraftError(Exception):
    """Base class of every exception this package raises on purpose."""


class ReplyError(FabraftError):
    """The server answered the command with an error reply.

    ``message`` is the server's text without the leading ``-`` (for example
    ``"ERR unknown node 9"``); ``code`` is its first word (``"ERR"``).
    The command changed nothing (fabraft refuses a bad command whole).
    """

    def __init__(self, message):
        super().__init__(message)
        self.message = message
        self.code = message.split(" ", 1)[0] if message else ""


class Unavailable(FabraftError):
    """No answer before the call's deadline: no leader reachable, or every
    attempt failed in a way that may be retried. ``last_error`` is what the
    last attempt saw."""

    def __init__(self, message, last_error=None):
        super().__init__(message)
        self.last_error = last_error


class AuthError(FabraftError):
    """The server refused the password (``-WRONGPASS``) or wants one
    (``-NOAUTH``)."""


class ResyncRequired(FabraftError):
    """``KVC.EVENTS`` was asked for events older than the oldest kept one.

    ``oldest_seq`` is the oldest sequence number the server still keeps
    (``None`` if the server's text did not say). Recover by listing the
    state (``Client.scan_all``) and following from the seq it returns.
    """

    def __init__(self, message, oldest_seq=None):
        super().__init__(message)
        self.oldest_seq = oldest_seq


class OutcomeUnknown(FabraftError):
    """A write that is not safe to repeat (INCR, INCRBY, DECR, DECRBY,
    KVC.ALLOC, KVC.PIN, KVC.UNPIN, KVC.NODE.ADD, KVC.PUT ... RES,
    SET ... IFEQ) was sent, and the connection broke or the server said the
    outcome is unknown before its reply arrived: it may or may not have
    been applied. The client does not retry it; read the state to find
    out."""

    def __init__(self, message, command=None, last_error=None):
        super().__init__(message)
        self.command = command
        self.last_error = last_error


class ProtocolError(FabraftError):
    """The server sent bytes that are not valid RESP2 (the connection is
    closed)."""
