"""The one exception of outbound calls, with a code saying what went wrong."""

from __future__ import annotations

from typing import Final, Literal

OutboundErrorCode = Literal[
    "invalid_url",
    "private_address",
    "dns_failed",
    "connect_failed",
    "timeout",
    "request_failed",
]

#: Every code :class:`OutboundError` may carry.
ERROR_CODES: Final[frozenset[str]] = frozenset(
    {"invalid_url", "private_address", "dns_failed", "connect_failed", "timeout", "request_failed"}
)


class OutboundError(Exception):
    """An outbound request that was refused or did not complete.

    ``code`` is one of:

    - ``invalid_url``: not an absolute http(s) URL with a host, or it carries credentials;
    - ``private_address``: the host is, or resolves to, an address that is not globally
      routable (loopback, private, link-local, ...) and the policy does not allow it;
    - ``dns_failed``: the host name does not resolve;
    - ``connect_failed``: no resolved address accepted a connection (or TLS failed);
    - ``timeout``: the request did not finish within the policy's time;
    - ``request_failed``: the connection broke or the peer did not speak HTTP.

    The message is for operators (logs, the CLI); it never holds request headers.
    """

    def __init__(self, code: OutboundErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: OutboundErrorCode = code
        self.message = message

    def __repr__(self) -> str:
        return f"OutboundError({self.code!r}, {self.message!r})"
