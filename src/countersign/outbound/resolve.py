"""Name resolution done by Countersign itself, so the address checked is the one used.

Letting the HTTP library resolve the name again after the check would open a DNS
rebinding hole: a name answering a public address to the check and 127.0.0.1 to the
connection. The client resolves once, checks every answer, and connects to one of them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from ..vocabulary.outbound_errors import OutboundError

#: ``(host, port) -> addresses as text``. Tests may pass their own to the client.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the order the system prefers them."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise OutboundError("dns_failed", f"{host} does not resolve: {error}") from None
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses
