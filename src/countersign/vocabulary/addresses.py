"""Which IP addresses a request from Countersign may reach without an explicit opt-in.

A customer names the URL of a webhook or an action, so a URL is attacker-chosen input:
without this check, ``http://169.254.169.254/`` (cloud metadata), ``http://127.0.0.1``
(the server's own admin ports) or ``http://10.0.0.5`` (the operator's network) would
be reachable through Countersign. Only globally routable unicast addresses pass.

Python's ``is_global`` alone is not enough: on 3.11 it is true for multicast, and an
IPv6 address can embed an IPv4 one (IPv4-mapped ``::ffff:127.0.0.1``, 6to4, NAT64)
that the network then reaches. Embedded addresses are judged as the IPv4 they carry.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Final

IPAddress = IPv4Address | IPv6Address

# Ranges that are not globally routable, spelled out so the rule does not depend on
# the Python version's idea of is_global (it changed in 3.11.10, 3.12.4 and 3.13).
_NOT_PUBLIC_V4: Final = tuple(
    IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network", including the unspecified 0.0.0.0
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, where cloud metadata (169.254.169.254) lives
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_NOT_PUBLIC_V6: Final = tuple(
    IPv6Network(net)
    for net in (
        "::/128",
        "::1/128",
        "::/96",  # deprecated IPv4-compatible addresses
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, including Teredo 2001::/32
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique-local
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
_NAT64: Final = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR: Final = IPv6Network("2002::/16")


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address a packet to ``address`` ends up at, when it embeds one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def is_public_address(address: IPAddress) -> bool:
    """Whether ``address`` is a globally routable unicast address."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
        if address.scope_id is not None:
            return False  # a zone index only means something on a local link
        return address.is_global and not any(address in net for net in _NOT_PUBLIC_V6)
    return address.is_global and not any(address in net for net in _NOT_PUBLIC_V4)


def parse_address(text: str) -> IPAddress | None:
    """``text`` as an IP address (IPv6 with or without brackets), else ``None``."""
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return ip_address(candidate)
    except ValueError:
        return None
