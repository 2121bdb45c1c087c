"""The client's address, believing X-Forwarded-For only from configured proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_ip(request: Request, proxies: Sequence[Network]) -> str:
    """The peer address; behind trusted proxies, the nearest untrusted forwarded one.

    X-Forwarded-For is read right to left, skipping our own proxies, so a client
    cannot pick its rate-limit key by sending the header itself.
    """
    peer = request.client.host if request.client else "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    # Fix: a proxy may append its hop as a header line of its own rather than join it to
    # the client's; reading only the first line (``get``) then returned a hop the client
    # wrote. Every line, in order, is one list (RFC 9110 section 5.3).
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:64]
    return peer
