"""Parsing and checking a customer-supplied URL, before any network traffic.

:func:`check_url` is what a definition (``countersign webhooks add``, ``actions add``)
runs, so a mistake is reported when the URL is typed rather than at the first call.
It cannot be the whole guard: a host name may resolve to anything later, which the
client checks again on every request (:mod:`.client`).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Final

import httpx2

from .addresses import IPAddress, is_public_address, parse_address
from .outbound_errors import OutboundError

MAX_URL_CHARS: Final = 2048
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Host names that inet_aton() reads as IPv4 ("2130706433", "0x7f.1", "127.1"): the
# URL parser passes them through as names, and getaddrinfo() turns them into addresses.
_INET_ATON_LIKE: Final = re.compile(r"[0-9][0-9a-fx.]*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect, and what to tell the server it is."""

    url: httpx2.URL
    host: str  # ASCII (IDNA) host, no brackets; what is resolved and what TLS verifies
    port: int
    literal: IPAddress | None  # set when the host is an IP address, in any spelling
    host_header: str  # the original authority, sent as Host whatever address is used

    @property
    def is_https(self) -> bool:
        return self.url.scheme == "https"


def _literal(host: str) -> IPAddress | None:
    address = parse_address(host)
    if address is not None:
        return address
    if _INET_ATON_LIKE.fullmatch(host):
        try:
            return IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    return None


def _is_localhost_name(host: str) -> bool:
    # RFC 6761: localhost and every name under it resolve to loopback by definition.
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def refuse_private(address: IPAddress, host: str) -> None:
    if not is_public_address(address):
        shown = host if host == str(address) else f"{host} ({address})"
        raise OutboundError(
            "private_address",
            f"{shown} is not a public address; allow_private_network permits it deliberately",
        )


def parse_target(url: str, *, allow_private_network: bool = False) -> Target:
    """``url`` checked and parsed, or :class:`OutboundError` (``invalid_url`` or
    ``private_address``) when it can be refused without resolving a name."""
    if not isinstance(url, str) or not url:
        raise OutboundError("invalid_url", "the URL must be a non-empty string")
    if len(url) > MAX_URL_CHARS:
        raise OutboundError("invalid_url", f"the URL is longer than {MAX_URL_CHARS} characters")
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise OutboundError("invalid_url", "the URL holds whitespace or control characters")
    try:
        parsed = httpx2.URL(url)
    except (httpx2.InvalidURL, TypeError, ValueError) as error:
        raise OutboundError("invalid_url", f"the URL does not parse: {error}") from None
    if parsed.scheme not in _DEFAULT_PORTS:
        raise OutboundError("invalid_url", "the URL must start with http:// or https://")
    if parsed.userinfo:
        raise OutboundError(
            "invalid_url", "the URL must not carry credentials (user:password@); use a header"
        )
    try:
        host = parsed.raw_host.decode("ascii")
    except UnicodeDecodeError:
        raise OutboundError("invalid_url", "the URL's host is not a valid name") from None
    if not host:
        raise OutboundError("invalid_url", "the URL has no host")
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS[parsed.scheme]
    if not 0 < port < 65536:
        raise OutboundError("invalid_url", f"port {port} is out of range")
    literal = _literal(host)
    if not allow_private_network:
        if literal is not None:
            refuse_private(literal, host)
        elif _is_localhost_name(host):
            raise OutboundError(
                "private_address",
                f"{host} is loopback; allow_private_network permits it deliberately",
            )
    return Target(
        url=parsed,
        host=host,
        port=port,
        literal=literal,
        host_header=parsed.netloc.decode("ascii"),
    )


def check_url(url: str, allow_private_network: bool = False) -> None:
    """Refuse ``url`` (:class:`OutboundError`) unless it is an absolute http(s) URL with
    a host, no credentials and a valid port, whose host -- when it is an IP address,
    however spelled, or ``localhost`` -- is public or ``allow_private_network`` is set.

    A host name passes here; what it resolves to is checked at each request.
    """
    parse_target(url, allow_private_network=allow_private_network)
